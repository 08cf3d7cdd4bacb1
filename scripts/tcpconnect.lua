-- tcpconnect.lua: every TCP connect() on the machine: who, from where, to
-- where, and how it ended.
--
--   sudo kpscript tcpconnect.lua [-x]
--   sudo kpscript -o json tcpconnect.lua
--
-- Columns, as bpftrace's tcpconnect.bt with RESULT added: TIME, PID, COMM,
-- SADDR, SPORT, DADDR, DPORT (IPv4 and IPv6), RESULT (0, or the errno's
-- name: ECONNREFUSED, ETIMEDOUT; a non-blocking connect (EINPROGRESS) is
-- followed to its end: 0, or "failed" when the handshake did not complete,
-- refused and timed out alike; "EINPROGRESS" when the run ended first). -x
-- shows failed connects only. With -o json each connect is one record with
-- the fields saddr, sport, daddr, dport and result.
--
-- How, with no kprobe (bpftrace's tool needs one on tcp_connect): the
-- destination is read from connect()'s sockaddr as the syscall starts
-- (syscalls:sys_enter_connect with fetch arguments, read by a BPF program
-- kpscript generates); sock:inet_sock_set_state tells that the socket is
-- TCP (CLOSE -> SYN_SENT on the same thread, inside the call) and gives the
-- source address, then the source port (SYN_SENT -> ESTABLISHED); the
-- result is sys_exit_connect's, or for a non-blocking connect the state the
-- socket reaches next. Needs: BPF tracepoint programs (kp.has("bpf")).
-- Blind spots: connects made without connect() (sendto with MSG_FASTOPEN,
-- io_uring) are not seen; a connect that fails before the SYN is sent (no
-- route: ENETUNREACH) is not told from a UDP one and is not shown; a
-- sockaddr on a page the caller has not touched cannot be read.
local failed_only = false
for _, a in ipairs(arg) do
  if a == "-x" then
    failed_only = true
  else
    io.stderr:write("usage: kpscript tcpconnect.lua [-x]\n")
    os.exit(2)
  end
end
if not kp.has("bpf") then
  io.stderr:write("tcpconnect: this kernel does not load BPF tracepoint programs, which read "
    .. "connect()'s address (kp.has(\"bpf\") is false)\n")
  os.exit(1)
end

local AF_INET, AF_INET6 = 2, 10
local TCP_ESTABLISHED, TCP_SYN_SENT, TCP_CLOSE = 1, 2, 7
local ERRNO = { [0] = "0", [111] = "ECONNREFUSED", [110] = "ETIMEDOUT", [113] = "EHOSTUNREACH",
  [101] = "ENETUNREACH", [115] = "EINPROGRESS", [4] = "EINTR", [13] = "EACCES", [1] = "EPERM",
  [99] = "EADDRNOTAVAIL", [106] = "EISCONN", [114] = "EALREADY", [104] = "ECONNRESET" }
local json = kp.is_json()

local function ipv4(b) return string.format("%d.%d.%d.%d", b[1], b[2], b[3], b[4]) end
-- RFC 5952: lower-case hex groups, the longest run of two or more zero
-- groups as "::", IPv4-mapped addresses as ::ffff:a.b.c.d
local function ipv6(b)
  local g = {}
  for i = 1, 8 do g[i] = b[2 * i - 1] * 256 + b[2 * i] end
  if g[1] == 0 and g[2] == 0 and g[3] == 0 and g[4] == 0 and g[5] == 0 and g[6] == 0xffff then
    return "::ffff:" .. ipv4 { b[13], b[14], b[15], b[16] }
  end
  local best, bestlen, i = nil, 1, 1
  while i <= 8 do
    if g[i] == 0 then
      local j = i
      while j <= 8 and g[j] == 0 do j = j + 1 end
      if j - i > bestlen then best, bestlen = i, j - i end
      i = j
    else
      i = i + 1
    end
  end
  local parts = {}
  for k = 1, 8 do parts[k] = string.format("%x", g[k]) end
  if not best then return table.concat(parts, ":") end
  local head = table.concat(parts, ":", 1, best - 1)
  local tail = best + bestlen <= 8 and table.concat(parts, ":", best + bestlen, 8) or ""
  return head .. "::" .. tail
end

local pending = {} -- tid -> connect in progress
local by_sock = {} -- skaddr -> connect whose socket has not reached its end

local function show(c)
  if c.shown then return end
  c.shown = true
  if c.sk then by_sock[c.sk] = nil end
  if failed_only and c.result == 0 then return end
  local result = c.result == nil and "EINPROGRESS" or ERRNO[c.result] or tostring(c.result)
  if json then
    kp.emit({ pid = c.pid, tid = c.tid, comm = c.comm, saddr = c.saddr, sport = c.sport,
      daddr = c.daddr, dport = c.dport, result = result })
  else
    io.write(string.format("%-8s %-7d %-16s %-39s %-6s %-39s %-6d %s\n",
      kp.strftime("%H:%M:%S", c.time), c.pid, c.comm, c.saddr or "?",
      tostring(c.sport or "?"), c.daddr, c.dport, result))
  end
end

kp.tracepoint("syscalls:sys_enter_connect", {
  family = "+u0($uservaddr):u16", port = "+u2($uservaddr):u16",
  a4 = "+u4($uservaddr):u8[4]", a6 = "+u8($uservaddr):u8[16]",
}, { wakeup = 1 }, function(e)
  local f = e.family
  if f ~= AF_INET and f ~= AF_INET6 then
    pending[e.tid] = nil
    return
  end
  pending[e.tid] = { pid = e.pid, tid = e.tid, comm = e.comm, time = e.time,
    daddr = f == AF_INET and ipv4(e.a4) or ipv6(e.a6),
    dport = bit.bor(bit.rshift(e.port, 8), bit.lshift(bit.band(e.port, 0xff), 8)) }
end)

kp.tracepoint("sock:inet_sock_set_state", { wakeup = 1 }, function(e)
  if e.protocol ~= 6 then return end -- IPPROTO_TCP
  local c = pending[e.tid]
  if c and e.oldstate == TCP_CLOSE and e.newstate == TCP_SYN_SENT then
    -- (a 64-bit address may come as a boxed number: keyed by its text)
    c.tcp, c.sk = true, tostring(e.skaddr)
    c.saddr = e.family == AF_INET and ipv4(e.saddr) or ipv6(e.saddr_v6)
    by_sock[c.sk] = c
    return
  end
  c = by_sock[tostring(e.skaddr)]
  if not c or e.oldstate ~= TCP_SYN_SENT then return end
  if e.sport ~= 0 then c.sport = e.sport end
  -- how the handshake ended: established, or not (refused, timed out,
  -- closed: the state does not say which)
  c.ended = e.newstate == TCP_ESTABLISHED and 0 or "failed"
  if c.result == 115 then
    c.result = c.ended
    show(c)
  end
end)

kp.tracepoint("syscalls:sys_exit_connect", { wakeup = 1 }, function(e)
  local c = pending[e.tid]
  if not c then return end
  pending[e.tid] = nil
  if not c.tcp then return end
  c.result = e.ret < 0 and -e.ret or 0
  -- EINPROGRESS: the socket's next state tells (it may have come already)
  if c.result == 115 and c.ended then c.result = c.ended end
  if c.result ~= 115 then show(c) end
end)

if not json then
  io.stderr:write("Tracing tcp connections. Hit Ctrl-C to end.\n")
  io.write(string.format("%-8s %-7s %-16s %-39s %-6s %-39s %-6s %s\n", "TIME", "PID", "COMM",
    "SADDR", "SPORT", "DADDR", "DPORT", "RESULT"))
end
kp.run()
for _, c in pairs(by_sock) do show(c) end
