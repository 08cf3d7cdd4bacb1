-- exec_watch.lua: one line per exec on the machine.
--
--   sudo kpscript exec_watch.lua [-q]
--
-- Columns: wall time, pid, parent pid, uid, comm (the new program's name),
-- the executed file, and the command line (at most 8 arguments from the
-- kernel, "..." when more were cut).
--
-- How each column is found on a kernel without kprobes:
--   * sched:sched_process_exec gives the pid and the executed file;
--   * sched:sched_process_fork keeps child -> parent, so ppid needs no /proc
--     read for processes started while we watch (older ones: /proc/PID/stat);
--   * argv comes from a uprobe on glibc's __libc_start_main, which every
--     dynamically linked glibc program calls with argc in %si and argv in %dx
--     before main; the strings are read from the process's own memory by the
--     kernel at that moment. Static binaries and programs that do not use
--     glibc never call it: their line is printed from /proc/PID/cmdline when
--     it is still readable (marked "(proc)"), else with argv "?";
--   * uid (the real uid) is read from /proc/PID/status when the line is
--     printed. A short-lived process is often gone by then: its uid is then
--     the one its parent had at fork, marked "*" (real uids survive fork and
--     exec; a setuid() between the two, as su or sudo do, would not show);
--     "?" when neither is known.
-- Where kprobes exist, the kprobe issue gives this script argv straight from
-- the kernel's exec path.
local quiet = arg[1] == "-q"
local MAXARGS = 8
local HOLD_NS = 300e6 -- how long an exec waits for its argv before printing

local function libc_path()
  local f = io.open("/proc/self/maps")
  if not f then return nil end
  for line in f:lines() do
    local path = line:match("%s(/%S*/libc%.so%.6)$") or line:match("%s(/%S*/libc%-[%d.]+%.so)$")
    if path then f:close(); return path end
  end
  f:close()
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function proc_uid(pid)
  local s = read_file("/proc/" .. pid .. "/status")
  return s and s:match("\nUid:%s+(%d+)") or "?"
end

local function proc_ppid(pid)
  local s = read_file("/proc/" .. pid .. "/stat")
  -- comm may hold spaces and parens: the fields after the last ')' are fixed
  return s and s:match("%)%s+%S+%s+(%d+)") or "?"
end

local function quote(s)
  if s == "" or s:find("[%s'\"\\]") then
    return "'" .. s:gsub("'", "'\\''") .. "'"
  end
  return s
end

local parent = {}  -- pid -> ppid, from fork events
local inherited = {} -- pid -> parent's uid at fork
local pending = {} -- pid -> exec waiting for its argv
local order = {}   -- pids of pending execs, oldest first

local function emit(e, argv)
  local ppid = parent[e.pid] or proc_ppid(e.pid)
  local uid = proc_uid(e.pid)
  if uid == "?" and inherited[e.pid] then uid = inherited[e.pid] .. "*" end
  io.write(string.format("%s %-7d %-7s %-5s %-16s %s %s\n",
    kp.strftime("%H:%M:%S.%N", e.time), e.pid, ppid, uid, e.comm, e.filename, argv))
  io.flush()
end

local function flush(now)
  while #order > 0 do
    local pid = order[1]
    local e = pending[pid]
    if e then
      if now and now - e.time < HOLD_NS then break end
      local cmd = read_file("/proc/" .. pid .. "/cmdline")
      local argv = "?"
      if cmd and cmd ~= "" then
        local words = {}
        for w in cmd:gmatch("([^%z]*)%z") do words[#words + 1] = quote(w) end
        argv = table.concat(words, " ") .. " (proc)"
      end
      emit(e, argv)
      pending[pid] = nil
    end
    table.remove(order, 1)
  end
end

kp.tracepoint("sched:sched_process_fork", { wakeup = 1 }, function(e)
  parent[e.child_pid] = e.pid
  local uid = proc_uid(e.pid)
  if uid == "?" then uid = inherited[e.pid] end
  inherited[e.child_pid] = uid
end)

kp.tracepoint("sched:sched_process_exit", { wakeup = 1 }, function(e)
  if e.pid == e.tid then
    if pending[e.pid] then flush() end
    parent[e.pid] = nil
    inherited[e.pid] = nil
  end
end)

kp.tracepoint("sched:sched_process_exec", { wakeup = 1 }, function(e)
  if pending[e.pid] then flush() end
  pending[e.pid] = { time = e.time, pid = e.pid, comm = e.comm, filename = e.filename }
  order[#order + 1] = e.pid
end)

local libc = libc_path()
local path
if libc then
  local args = { argc = "%si:s32" }
  for i = 0, MAXARGS - 1 do
    args["a" .. i] = string.format("+0(+%d(%%dx)):ustring", i * 8)
  end
  local ok = pcall(kp.uprobe, libc .. ":__libc_start_main", args, { wakeup = 1 }, function(e)
    local p = pending[e.pid]
    if not p then return end
    local words = {}
    for i = 0, math.min(e.argc, MAXARGS) - 1 do words[#words + 1] = quote(e["a" .. i]) end
    local argv = table.concat(words, " ")
    if e.argc > MAXARGS then argv = argv .. " ..." end
    -- ev.comm is the name after exec, the pending entry's the same task's
    emit(p, argv)
    pending[p.pid] = nil
  end)
  path = ok and ("sched_process_exec + uprobe " .. libc .. ":__libc_start_main") or nil
end
path = path or "sched_process_exec + /proc"

kp.every(100, function() flush(kp.clock()) end)

if not quiet then
  io.stderr:write("exec_watch: tracing execs via " .. path .. "; Ctrl-C to stop\n")
  io.write(string.format("%-12s %-7s %-7s %-5s %-16s %s %s\n",
    "TIME", "PID", "PPID", "UID", "COMM", "FILE", "ARGV"))
end
kp.run()
flush()
