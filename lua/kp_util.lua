-- kp.util: small helpers shared by the shipped scripts (require "kp.util").
-- Reads of /proc here are for printing a line, never per event on a hot path.
local kp = require "kp"

local util = {}

--- util.read_file(path): the whole file, or nil
function util.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

--- util.proc_uid(pid): the real uid from /proc/PID/status, or nil
function util.proc_uid(pid)
  local s = util.read_file("/proc/" .. pid .. "/status")
  return s and tonumber(s:match("\nUid:%s+(%d+)")) or nil
end

--- util.proc_ppid(pid): the parent pid from /proc/PID/stat, or nil
function util.proc_ppid(pid)
  local s = util.read_file("/proc/" .. pid .. "/stat")
  -- comm may hold spaces and parens: the fields after the last ')' are fixed
  return s and tonumber(s:match("%)%s+%S+%s+(%d+)")) or nil
end

-- Is s well-formed UTF-8 (ASCII included)?
local function utf8_ok(s)
  local i, n = 1, #s
  while i <= n do
    local c = s:byte(i)
    local len = c < 0x80 and 1 or (c >= 0xc2 and c <= 0xdf) and 2
      or (c >= 0xe0 and c <= 0xef) and 3 or (c >= 0xf0 and c <= 0xf4) and 4
    if not len then return false end
    for j = i + 1, i + len - 1 do
      local b = s:byte(j)
      if not b or b < 0x80 or b > 0xbf then return false end
    end
    i = i + len
  end
  return true
end

--- util.quote(s): s quoted for a shell when it needs it ('a b', 'it'\''s');
--- control bytes or bytes that are not UTF-8 as bash's $'\xff' escapes, so
--- that what a process passed cannot drive the terminal
function util.quote(s)
  if s:find("[%z\1-\31\127]") or not utf8_ok(s) then
    return "$'" .. s:gsub("[%z\1-\31\127-\255'\\]", function(c)
      if c == "'" or c == "\\" then return "\\" .. c end
      return string.format("\\x%02x", c:byte())
    end) .. "'"
  end
  if s == "" or s:find("[%s'\"\\$`|&;<>()*?#~!{}%[%]]") then
    return "'" .. s:gsub("'", "'\\''") .. "'"
  end
  return s
end

local ffi = require "ffi"
ffi.cdef [[ long readlink(const char *path, char *buf, unsigned long size); ]]
local linkbuf = ffi.new("char[4096]")

--- util.readlink(path): the target of a symbolic link (/proc/PID/cwd), or nil
function util.readlink(path)
  local n = tonumber(ffi.C.readlink(path, linkbuf, 4096))
  if n <= 0 then return nil end
  return ffi.string(linkbuf, n)
end

--- util.libc(): the path of the C library this process maps (glibc), or nil
function util.libc()
  local maps = util.read_file("/proc/self/maps") or ""
  return maps:match("%s(/%S*/libc%.so%.6)\n") or maps:match("%s(/%S*/libc%-[%d.]+%.so)\n")
end

--- util.parents(): a table pid -> {ppid, uid} kept from sched_process_fork
--- and sched_process_exit (declare before kp.run()). t:ppid(pid) and
--- t:uid(pid) answer from /proc while the process lives, else from what its
--- fork recorded (the uid it inherited, second result true).
function util.parents()
  local fork = {}
  local t = {}
  kp.tracepoint("sched:sched_process_fork", { wakeup = 1 }, function(e)
    local uid = util.proc_uid(e.pid)
    if uid == nil and fork[e.pid] then uid = fork[e.pid].uid end
    fork[e.child_pid] = { ppid = e.pid, uid = uid }
  end)
  kp.tracepoint("sched:sched_process_exit", function(e)
    -- exit of a process's last thread: forget it a little later, so lines
    -- for its last events still find it
    if e.pid == e.tid and fork[e.pid] then fork[e.pid].gone = kp.clock() end
  end)
  kp.every(5000, function()
    local old = kp.clock() - 5e9
    for pid, f in pairs(fork) do
      if f.gone and f.gone < old then fork[pid] = nil end
    end
  end)
  function t.ppid(_, pid)
    local f = fork[pid]
    return f and f.ppid or util.proc_ppid(pid)
  end
  function t.uid(_, pid)
    local uid = util.proc_uid(pid)
    if uid then return uid, false end
    local f = fork[pid]
    if f and f.uid then return f.uid, true end
    return nil
  end
  return t
end

return util
