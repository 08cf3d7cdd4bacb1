-- exec_watch.lua: one line per exec on the machine.
--
--   sudo kpscript exec_watch.lua [-q] [--via=bpf|kprobe|uprobe|proc]
--
-- Columns: wall time, pid, parent pid, uid, comm (the new program's name),
-- the executed file, and the command line: at most 8 arguments, quoted as a
-- shell would need them, and "..." when more were cut. -q leaves out the
-- header and the start message; --via takes the command line only from
-- the path named (an error when this kernel has not that one).
--
-- The pid and the file come from sched:sched_process_exec. The command line
-- comes from the first of these paths this kernel allows (the start message
-- names it):
--   bpf      the syscalls:sys_enter_execve and sys_enter_execveat
--            tracepoints with argv as a fetch argument, read by a BPF
--            program kpscript generates (kp.has("bpf")) as the syscall
--            starts: every exec, whatever the program (static, busybox,
--            Go, a script), with no /proc read. A string on a page the
--            caller never touched cannot be read there and ends the list
--            early (kp.counters() counts it as a fault); when not even
--            argv[0] could be read the line takes /proc/PID/cmdline,
--            marked "(proc)";
--   kprobe   kprobes on __x64_sys_execve and __x64_sys_execveat read argv
--            from the caller's memory as the syscall starts: every exec,
--            whatever the program (static, not glibc, a script). A string
--            on a page the caller never touched reads as "" (a kprobe
--            cannot fault pages in): that line takes /proc/PID/cmdline,
--            marked "(proc)". The kernel reads at most 4095 bytes of one
--            string;
--   uprobe   without kprobes (CONFIG_KPROBES off), a uprobe on glibc's
--            __libc_start_main, which every dynamically linked glibc
--            program calls with argc in %si and argv in %dx before main.
--            Programs that never call it get /proc/PID/cmdline when it is
--            still readable (marked "(proc)"), else "?";
--   proc     /proc/PID/cmdline alone, read when the line is printed.
-- The parent and the real uid come from the task at the exec where the
-- kernel's BTF describes sched_process_exec's prototype (6.1 and later,
-- with the bpf path). Elsewhere the parent comes from sched_process_fork
-- (no /proc read for processes started while we watch) and the uid is
-- the real uid from /proc/PID/status; for a process already gone, the uid
-- its parent had at fork, marked "*" (real uids survive fork and exec; a
-- setuid() between the two would not show); "?" when neither is known.
local util = require "kp.util"

local quiet, via = false, nil
for _, a in ipairs(arg) do
  if a == "-q" then
    quiet = true
  elseif a:match("^%-%-via=") and ({ bpf = 1, kprobe = 1, uprobe = 1, proc = 1 })[a:sub(7)] then
    via = a:sub(7)
  else
    io.stderr:write("usage: exec_watch.lua [-q] [--via=bpf|kprobe|uprobe|proc] (got '" .. a .. "')\n")
    os.exit(2)
  end
end
-- may the path NAME be tried?
local function may(name) return via == nil or via == name end
local MAXARGS = 8
local HOLD_NS = 300e6 -- how long an exec waits for its argv before printing

local procs = util.parents()
local pending = {} -- pid -> exec waiting for its argv (uprobe path)
local order = {}   -- pids of pending execs, oldest first
local argvs = {}   -- tid -> argv read at execve entry (kprobe path)

local function emit(e, argv)
  local uid, inherited = procs:uid(e.pid)
  if e.ruid then uid, inherited = e.ruid, false end
  io.write(string.format("%s %-7d %-7s %-5s %-16s %s %s\n",
    kp.strftime("%H:%M:%S.%N", e.time), e.pid, tostring(e.ppid or procs:ppid(e.pid) or "?"),
    uid and (uid .. (inherited and "*" or "")) or "?", e.comm, e.filename, argv))
  io.flush()
end

local function argv_of(e, n, more)
  local words = {}
  for i = 0, math.min(n, MAXARGS) - 1 do words[#words + 1] = util.quote(e["a" .. i]) end
  local s = table.concat(words, " ")
  if more then s = s .. " ..." end
  return s
end

local function proc_argv(pid)
  local cmd = util.read_file("/proc/" .. pid .. "/cmdline")
  if not cmd or cmd == "" then return "?" end
  local words = {}
  for w in cmd:gmatch("([^%z]*)%z") do words[#words + 1] = util.quote(w) end
  return table.concat(words, " ") .. " (proc)"
end

local function flush(now)
  while #order > 0 do
    local pid = order[1]
    local e = pending[pid]
    if e then
      if now and now - e.time < HOLD_NS then break end
      emit(e, proc_argv(pid))
      pending[pid] = nil
    end
    table.remove(order, 1)
  end
end

-- argv[i] is read from user memory: +u8i(ARGV) is the pointer at argv + 8*i
-- (+uOFF reads user memory), and for a string type the outer +u0(...) is
-- the string's address, so +u0(+u8i(ARGV)):ustring is the argument itself.
-- The pointers (p0..p7) tell where argv ends, since an argument may be "";
-- argv[8] tells whether there were more.
local function argv_fetch(argv_reg)
  local args = { more = "+u64(" .. argv_reg .. "):u64" }
  for i = 0, MAXARGS - 1 do
    args["a" .. i] = string.format("+u0(+u%d(%s)):ustring", i * 8, argv_reg)
    args["p" .. i] = string.format("+u%d(%s):u64", i * 8, argv_reg)
  end
  return args
end

local path, at_entry

if may("bpf") and kp.has("bpf") then
  -- MAXARGS + 1 entries: the one past the last shown says whether more were cut
  local args = { argv = "+u0($argv):ustring[" .. (MAXARGS + 1) .. "]" }
  local function on_entry(e)
    -- no argv[0] at all: its page was not faulted in yet; /proc then
    if #e.argv == 0 then argvs[e.tid] = false return end
    local words = {}
    for i = 1, math.min(#e.argv, MAXARGS) do words[i] = util.quote(e.argv[i]) end
    argvs[e.tid] = table.concat(words, " ") .. (#e.argv > MAXARGS and " ..." or "")
  end
  -- an exec that fails leaves no argv behind for the thread's next one
  local function on_exit(e) if e.ret < 0 then argvs[e.tid] = nil end end
  local ok, err = pcall(function()
    kp.tracepoint("syscalls:sys_enter_execve", args, { wakeup = 1 }, on_entry)
    kp.tracepoint("syscalls:sys_enter_execveat", args, { wakeup = 1 }, on_entry)
    kp.tracepoint("syscalls:sys_exit_execve", { wakeup = 1 }, on_exit)
    kp.tracepoint("syscalls:sys_exit_execveat", { wakeup = 1 }, on_exit)
  end)
  if ok then
    path = "tracepoints sys_enter_execve/sys_enter_execveat (BPF) + sched_process_exec"
    at_entry = true
  elseif not quiet then
    io.stderr:write("exec_watch: BPF path unavailable (" .. tostring(err) .. ")\n")
  end
end

if not path and may("kprobe") and kp.has("kprobe") then
  -- x86-64 syscall wrappers take struct pt_regs *: execve's argv is its
  -- 2nd argument (regs->si), execveat's its 3rd (regs->dx); their offsets
  -- come from BTF where the kernel has it (104 and 96 on x86-64)
  local si = kp.has("btf") and kp.offsetof("pt_regs", "si") or 104
  local dx = kp.has("btf") and kp.offsetof("pt_regs", "dx") or 96
  local function on_entry(e)
    local n, unread = 0, false
    while n < MAXARGS and e["p" .. n] ~= 0 do
      -- a string on a page not faulted in yet reads as "" (a kprobe cannot
      -- fault): the line then takes /proc/PID/cmdline instead
      if e["a" .. n] == "" then unread = true end
      n = n + 1
    end
    argvs[e.tid] = not unread and argv_of(e, n, n == MAXARGS and e.more ~= 0) or false
  end
  local ok, err = pcall(function()
    kp.kprobe("__x64_sys_execve", argv_fetch("+" .. si .. "(%di)"), { wakeup = 1 }, on_entry)
    kp.kprobe("__x64_sys_execveat", argv_fetch("+" .. dx .. "(%di)"), { wakeup = 1 }, on_entry)
  end)
  if ok then
    path = "kprobe __x64_sys_execve/__x64_sys_execveat + sched_process_exec"
    at_entry = true
  elseif not quiet then
    io.stderr:write("exec_watch: kprobe path unavailable (" .. tostring(err) .. ")\n")
  end
end

local function on_exec(e)
  if at_entry then
    -- the exec'ing thread's tid before exec is old_pid
    local argv = argvs[e.old_pid] or proc_argv(e.pid)
    argvs[e.old_pid] = nil
    emit(e, argv)
    return
  end
  if pending[e.pid] then flush() end
  pending[e.pid] = { time = e.time, pid = e.pid, comm = e.comm, filename = e.filename }
  order[#order + 1] = e.pid
end

-- Where the kernel's BTF names the exec tracepoint's prototype (6.1 and
-- later), the parent and the real uid come from the task at the exec, by
-- a BPF program on the raw tracepoint, not from /proc when the line is
-- printed: exact for a process that is gone by then
local exact = at_entry and kp.has("btf") and pcall(kp.tracepoint, "sched:sched_process_exec",
  { filename = "bprm->filename", old_pid = "old_pid", ppid = "p->real_parent->tgid",
    ruid = "p->real_cred->uid.val" }, { wakeup = 1 }, on_exec)
if not exact then kp.tracepoint("sched:sched_process_exec", { wakeup = 1 }, on_exec) end
if exact and path then path = path .. " (parent and uid read at the exec)" end

if not path and via and via ~= "uprobe" and via ~= "proc" then
  io.stderr:write("exec_watch: the " .. via .. " path is not available on this kernel\n")
  os.exit(1)
end
if not path then
  local libc = may("uprobe") and util.libc()
  if libc then
    local args = { argc = "%si:s32" }
    for i = 0, MAXARGS - 1 do
      args["a" .. i] = string.format("+0(+%d(%%dx)):ustring", i * 8)
    end
    local ok = pcall(kp.uprobe, libc .. ":__libc_start_main", args, { wakeup = 1 }, function(e)
      local p = pending[e.pid]
      if not p then return end
      emit(p, argv_of(e, e.argc, e.argc > MAXARGS))
      pending[p.pid] = nil
    end)
    if ok then path = "uprobe " .. libc .. ":__libc_start_main + sched_process_exec" end
  end
  if not path and via == "uprobe" then
    io.stderr:write("exec_watch: the uprobe path is not available on this system\n")
    os.exit(1)
  end
  path = path or "sched_process_exec + /proc"
  kp.every(100, function() flush(kp.clock()) end)
end

if not quiet then
  io.stderr:write("exec_watch: tracing execs via " .. path .. "; Ctrl-C to stop\n")
  io.write(string.format("%-12s %-7s %-7s %-5s %-16s %s %s\n",
    "TIME", "PID", "PPID", "UID", "COMM", "FILE", "ARGV"))
end
kp.run()
flush()
