-- cred_watch.lua: one line per credential change of a process.
--
--   sudo kpscript cred_watch.lua [-q]
--
-- Needs kprobes (CONFIG_KPROBES): every change of credentials goes through
-- the kernel's commit_creds(new). Each line shows the time, pid, parent pid
-- and comm, then every id that changed as "name old->new" (uid, euid, suid,
-- fsuid, gid, egid, sgid, fsgid), and ROOT when any of uid, euid, fsuid,
-- gid or egid became 0 from non-zero: a gain of root. Changes that touch no
-- id (capabilities, keyrings) print nothing.
--
-- The old ids come from a kretprobe on prepare_creds(): every new set of
-- credentials starts as a copy of the task's current one, so the copy's ids
-- (read as prepare_creds returns) are the ids before the change; the last
-- copy a thread made before its commit_creds is the one compared. "?"
-- marks an old id that was not seen (a copy made before we started).
--
-- struct cred's layout differs between kernels and configurations (usage
-- was an atomic_t of 4 bytes in older kernels and is an atomic_long_t of 8
-- now: Debian's 6.1 and this machine's 6.18 both have the ids at 8..36;
-- CONFIG_DEBUG_CREDENTIALS adds fields): where the kernel has BTF the ids
-- are named ("new->euid") and kpscript finds them; elsewhere the 8-byte
-- layout is assumed (and said at start).
local util = require "kp.util"

local quiet = arg[1] == "-q"
local IDS = { "uid", "gid", "suid", "sgid", "euid", "egid", "fsuid", "fsgid" }
local ROOT_IDS = { uid = true, euid = true, fsuid = true, gid = true, egid = true }
local SHOWN = { "uid", "euid", "suid", "fsuid", "gid", "egid", "sgid", "fsgid" }

if not kp.has("kprobe") and not kp.config().dry_run then
  io.stderr:write("cred_watch: this kernel has no kprobes (CONFIG_KPROBES): commit_creds "
    .. "cannot be watched here\n")
  os.exit(1)
end

-- The ids as arguments: by name from the kernel's BTF where it has one
-- ("new->uid" reads kuid_t's val at the right offset for this kernel), else
-- raw fetch args with the 8-byte-usage layout.
local source
local function fetch(base)
  local args = {}
  for i, id in ipairs(IDS) do
    if kp.has("btf") then
      args[id] = base .. "->" .. id
    else
      args[id] = string.format("+%d(%s):u32", 4 + 4 * i, base)
    end
  end
  return args
end
source = kp.has("btf") and "BTF" or "assumed (usage 8 bytes, ids at 8..36; no BTF)"

local procs = util.parents()
local before = {} -- tid -> ids of the last copy prepared

kp.kretprobe("prepare_creds", fetch("$retval"), { maxactive = 64 }, function(e)
  local ids = {}
  for _, id in ipairs(IDS) do ids[id] = e[id] end
  before[e.tid] = ids
end)

kp.kprobe("commit_creds", fetch(kp.has("btf") and "new" or "%di"), function(e)
  local old = before[e.tid]
  before[e.tid] = nil
  local parts, root = {}, false
  for _, id in ipairs(SHOWN) do
    local o, n = old and old[id], e[id]
    if o ~= n then
      parts[#parts + 1] = string.format("%s %s->%d", id, o and tostring(o) or "?", n)
      if ROOT_IDS[id] and n == 0 and o and o ~= 0 then root = true end
    end
  end
  if #parts == 0 then return end
  io.write(string.format("%s %-7d %-7s %-16s %s%s\n", kp.strftime("%H:%M:%S.%N", e.time),
    e.pid, tostring(procs:ppid(e.pid) or "?"), e.comm, table.concat(parts, " "),
    root and " ROOT" or ""))
  io.flush()
end)

if not quiet then
  io.stderr:write("cred_watch: watching commit_creds; struct cred offsets from " .. source
    .. "; Ctrl-C to stop\n")
  io.write(string.format("%-12s %-7s %-7s %-16s %s\n", "TIME", "PID", "PPID", "COMM", "CHANGES"))
end
