-- opensnoop.lua: every open(), openat() and openat2() on the machine, with
-- its result.
--
--   sudo kpscript opensnoop.lua [-x] [-n COMM]
--   sudo kpscript -o json opensnoop.lua
--
-- Columns, as bpftrace's opensnoop.bt with FLAGS added: PID, COMM, FD (the
-- new descriptor, or -1), ERR (the errno, or 0), FLAGS (the open flags, in
-- hex), PATH (quoted as a shell would need it). -x shows failed opens only; -n COMM the opens of processes
-- named COMM only. With -o json each open is one record with the fields
-- fd, err, flags and path.
--
-- How: the path and flags are read as the syscall starts
-- (syscalls:sys_enter_open/openat/openat2 with fetch arguments, read by a
-- BPF program kpscript generates), the result as it returns (sys_exit_*);
-- the two are paired by thread in the kernel's order. Static and Go
-- programs are seen like any other (libc uprobes would miss them).
-- Needs: BPF tracepoint programs (kp.has("bpf")); says so and exits 1
-- without. Blind spots: a path on a page the caller has not touched yet
-- cannot be read there and shows as "" (kp.counters() counts it under
-- faults); creat(), open_by_handle_at() and io_uring opens are not traced.
local util = require "kp.util"

local failed_only, only_comm = false, nil
local i = 1
while arg[i] do
  if arg[i] == "-x" then
    failed_only = true
  elseif arg[i] == "-n" and arg[i + 1] then
    only_comm = arg[i + 1]
    i = i + 1
  else
    io.stderr:write("usage: kpscript opensnoop.lua [-x] [-n COMM]\n")
    os.exit(2)
  end
  i = i + 1
end
if not kp.has("bpf") then
  io.stderr:write("opensnoop: this kernel does not load BPF tracepoint programs, which read "
    .. "the paths (kp.has(\"bpf\") is false)\n")
  os.exit(1)
end

local json = kp.is_json()
local pending = {} -- tid -> { path, flags } of an open that has not returned

local function entered(e)
  if only_comm and e.comm ~= only_comm then return end
  pending[e.tid] = { e.path, e.flags }
end

local function returned(e)
  local p = pending[e.tid]
  if not p then return end
  pending[e.tid] = nil
  local ret = e.ret
  local fd, err = ret >= 0 and ret or -1, ret >= 0 and 0 or -ret
  if failed_only and err == 0 then return end
  if json then
    kp.emit(e, { fd = fd, err = err, flags = p[2], path = p[1] })
  else
    io.write(string.format("%-6d %-16s %4d %3d %-8x %s\n", e.pid, e.comm, fd, err, p[2],
      util.quote(p[1])))
  end
end

local ARGS = {
  open = { path = "+0($filename):ustring", flags = "$flags:s32" },
  openat = { path = "+0($filename):ustring", flags = "$flags:s32" },
  -- openat2's flags are the first member of its struct open_how
  openat2 = { path = "+0($filename):ustring", flags = "+u0($how):s32" },
}
local traced = {}
for _, sc in ipairs { "open", "openat", "openat2" } do
  -- open() is not on every architecture, openat2() not before 5.6
  local ok = pcall(kp.tracepoint, "syscalls:sys_enter_" .. sc, ARGS[sc], { wakeup = 1 }, entered)
  if ok then
    kp.tracepoint("syscalls:sys_exit_" .. sc, { wakeup = 1 }, returned)
    traced[#traced + 1] = sc
  end
end
if #traced == 0 then
  io.stderr:write("opensnoop: none of the open syscalls' tracepoints could be traced\n")
  os.exit(1)
end
if not json then
  io.stderr:write("Tracing " .. table.concat(traced, ", ") .. "... Hit Ctrl-C to end.\n")
  io.write(string.format("%-6s %-16s %4s %3s %-8s %s\n", "PID", "COMM", "FD", "ERR", "FLAGS", "PATH"))
end
kp.run()
