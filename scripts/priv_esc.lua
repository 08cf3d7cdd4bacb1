-- priv_esc.lua: a process gains root other than by executing a setuid-root
-- program.
--
--   sudo kpscript priv_esc.lua
--
-- Needs kprobes (CONFIG_KPROBES) and the kernel's BTF. Every change of
-- credentials goes through commit_creds(new); the ids before it come from
-- the thread's last prepare_creds() copy (see cred_watch.lua). An alert
-- (severity critical) when uid, euid, fsuid, gid or egid becomes 0 from
-- non-zero, unless the change is the exec of a program
-- that is setuid root:
--   the setuid-root exec path, which stays quiet: begin_new_exec(bprm) runs
--   for the exec (kprobe, file mode and owner read from bprm->file's inode),
--   the file has S_ISUID and is owned by uid 0, and only the effective and
--   saved/fs ids become 0 (the real uid stays what it was: su, sudo, passwd
--   and ping start this way). Everything else that reaches root is alerted:
--   setuid(0)/setresuid by a process that kept a saved uid of 0, a kernel
--   exploit overwriting credentials through commit_creds, an exec that
--   gains root without the setuid bit (file capabilities, a bug).
-- A credential overwrite that bypasses commit_creds is not seen by this
-- detection. When no prepare_creds copy preceded the commit (an exploit's
-- commit_creds(prepare_kernel_cred(0)) makes none), the ids come from the
-- process table instead, which read them at the process's last fork or
-- exec. An su or sudo that makes itself uid 0 after its setuid exec is
-- alerted: it is a gain of the real uid outside an exec.
if not kp.has("kprobe") and not kp.config().dry_run then
  io.stderr:write("priv_esc: this kernel has no kprobes (CONFIG_KPROBES): commit_creds cannot "
    .. "be watched here\n")
  os.exit(1)
end

local S_ISUID = 2048 -- 04000
local IDS = { "uid", "euid", "suid", "fsuid", "gid", "egid" }
local CRITICAL = { uid = true, euid = true, fsuid = true }
local HIGH = { gid = true, egid = true }

local function ids(base)
  local a = {}
  for _, id in ipairs(IDS) do a[id] = base .. "->" .. id end
  return a
end

local before = {}  -- tid -> ids of its last prepare_creds copy
local execing = {} -- pid -> the exec in progress: { file, mode, owner, old }

kp.kretprobe("prepare_creds", ids("$retval"), { maxactive = 64 }, function(e)
  local t = {}
  for _, id in ipairs(IDS) do t[id] = e[id] end
  before[e.tid] = t
end)

-- An exec from a thread other than the leader takes the leader's id
-- (de_thread) before commit_creds: the exec is kept by pid, and the ids
-- before it are taken here, while the thread still has its own tid.
kp.kprobe("begin_new_exec", { file = "bprm->filename", mode = "bprm->file->f_inode->i_mode",
  owner = "bprm->file->f_inode->i_uid" }, function(e)
  execing[e.pid] = { file = e.file, mode = e.mode, owner = e.owner, old = before[e.tid] }
  before[e.tid] = nil
end)

kp.tracepoint("syscalls:sys_exit_execve", function(e) execing[e.pid] = nil end)
kp.tracepoint("syscalls:sys_exit_execveat", function(e) execing[e.pid] = nil end)

local commit = kp.kprobe("commit_creds", ids("new"))

kp.rule{
  name = "priv_esc",
  on = commit,
  severity = "critical",
  when = function(e)
    local exec = e.tid == e.pid and execing[e.pid] or nil
    local old = exec and exec.old or before[e.tid]
    before[e.tid] = nil
    if not old then
      -- no copy seen (commit_creds(prepare_kernel_cred(0)) makes none): the
      -- ids the process table last read for the process, when it has them
      local p = kp.proc(e.pid)
      if not (p and p.uid) then return false end
      old = { uid = p.uid, euid = p.euid, suid = p.euid, fsuid = p.euid, gid = p.gid, egid = p.egid }
    end
    local gained = {}
    for _, id in ipairs(IDS) do
      if e[id] == 0 and old[id] ~= 0 and (CRITICAL[id] or HIGH[id]) then
        gained[#gained + 1] = string.format("%s %d->0", id, old[id])
      end
    end
    if #gained == 0 then return false end
    if exec and bit.band(exec.mode, S_ISUID) ~= 0 and exec.owner == 0 and e.uid == old.uid then
      return false -- the setuid-root exec path
    end
    e.gained = table.concat(gained, " ")
    e.via = exec and ("exec of " .. exec.file) or "commit_creds outside exec"
    local p = kp.proc and kp.proc(e.pid)
    e.exe = p and p.exe or nil
    e.ppid = p and p.ppid or nil
    return true
  end,
  message = "{comm} ({pid}) gained root: {gained} ({via})",
  fields = { "gained", "via", "uid", "euid", "fsuid", "gid", "egid" },
}

if not kp.config().dry_run then
  io.stderr:write("priv_esc: watching commit_creds for gains of root\n")
end
