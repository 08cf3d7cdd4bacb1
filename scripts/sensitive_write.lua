-- sensitive_write.lua: writes, renames and deletions of sensitive files.
--
--   sudo kpscript sensitive_write.lua
--
-- Alerts (severity medium; high for the credential files passwd, shadow,
-- group, gshadow, sudoers and anything in ~/.ssh) when a process opens a
-- file for writing (O_WRONLY, O_RDWR, O_CREAT or O_TRUNC), renames a file
-- from or to, or unlinks a file under /etc or under ~/.ssh (/root/.ssh,
-- /home/*/.ssh).
--
-- Where the kernel has kprobes, the paths come from the kernel's own
-- calls: do_sys_openat2, do_unlinkat and do_renameat2 (struct filename's
-- name, compiled from BTF). Without kprobes but with BPF (kp.has("bpf")),
-- from the syscalls' tracepoints (sys_enter_open, openat, openat2, creat,
-- unlink, unlinkat, rename, renameat, renameat2) with the paths as fetch
-- arguments read by a BPF program kpscript generates: every program,
-- static and Go ones included; a path on a page the caller has not touched
-- yet cannot be read there (counted as a fault, not alerted). Elsewhere,
-- uprobes on glibc's open, openat,
-- creat, unlink, unlinkat, rename, renameat and renameat2 read the path
-- from the caller's memory: statically linked programs and programs that
-- do not use glibc (Go binaries) are not seen on that path. The start
-- message says which path is used. A relative path is made absolute with
-- the process's working directory (/proc/PID/cwd) or the directory fd
-- (/proc/PID/fd/N) when the process still exists; else it is shown as given.
local util = require "kp.util"

local O_WRONLY, O_RDWR, O_CREAT, O_TRUNC = 1, 2, 64, 512
local AT_FDCWD = -100
local HIGH = { ["/etc/passwd"] = true, ["/etc/shadow"] = true, ["/etc/group"] = true,
  ["/etc/gshadow"] = true, ["/etc/sudoers"] = true }

local function absolute(pid, dfd, path)
  if path:sub(1, 1) == "/" then return path end
  local link = (dfd == AT_FDCWD or dfd == nil) and ("/proc/" .. pid .. "/cwd")
    or ("/proc/" .. pid .. "/fd/" .. dfd)
  local dir = util.readlink(link) -- nil when the process is gone
  if dir then return (dir:gsub("/$", "")) .. "/" .. path end
  return path
end

local function sensitive(path)
  if path:match("^/etc/") then return HIGH[path] and "high" or "medium" end
  if path:match("^/root/%.ssh/") or path:match("^/home/[^/]+/%.ssh/") then return "high" end
end

local function check(ev, op, path, dfd)
  if not path or path == "" then return false end
  local abs = absolute(ev.pid, dfd, path)
  local sev = sensitive(abs)
  if not sev then return false end
  ev.op, ev.path = op, abs
  ev.severity_hint = sev
  return true
end

local probes, path = {}, nil
if kp.has("kprobe") and kp.has("btf") then
  local ok, err = pcall(function()
    probes.open = kp.kprobe("do_sys_openat2", { "dfd", file = "filename", "how->flags" })
    probes.unlink = kp.kprobe("do_unlinkat", { "dfd", file = "name->name" })
    probes.rename = kp.kprobe("do_renameat2", { olddfd = "olddfd", old = "from->name",
      newdfd = "newdfd", new = "to->name" })
  end)
  if ok then path = "kprobes do_sys_openat2, do_unlinkat, do_renameat2" else probes = {} end
end
if not path and kp.has("bpf") then
  local S = "+0($%s):ustring"
  local TP = {
    open = { file = S:format("filename"), flags = "$flags:s32" },
    openat = { dfd = "$dfd:s32", file = S:format("filename"), flags = "$flags:s32" },
    openat2 = { dfd = "$dfd:s32", file = S:format("filename"), flags = "+u0($how):s32" },
    creat = { file = S:format("pathname") },
    unlink = { file = S:format("pathname") },
    unlinkat = { dfd = "$dfd:s32", file = S:format("pathname") },
    rename = { old = S:format("oldname"), new = S:format("newname") },
    renameat = { olddfd = "$olddfd:s32", old = S:format("oldname"), newdfd = "$newdfd:s32",
      new = S:format("newname") },
  }
  TP.renameat2 = TP.renameat
  local ok, err = pcall(function()
    for name, args in pairs(TP) do
      -- open, creat, unlink and rename are not on every architecture
      local tok, p = pcall(kp.tracepoint, "syscalls:sys_enter_" .. name, args)
      if tok then
        probes[name] = p
      elseif not tostring(p):find("unknown tracepoint", 1, true) then
        error(p, 0)
      end
    end
  end)
  if ok then
    path = "tracepoints sys_enter_open/openat/openat2/creat/unlink/unlinkat/rename/renameat/"
      .. "renameat2 (BPF)"
  else
    probes = {}
    io.stderr:write("sensitive_write: BPF path unavailable (" .. tostring(err) .. ")\n")
  end
end
if not path then
  local libc = util.libc()
  if libc then
    local seen = {} -- glibc aliases (open, open64) share an address: probe it once
    local function up(sym, args)
      local at = kp.elfsym(libc, sym)
      if not at or seen[at] then return nil end
      seen[at] = true
      local ok, p = pcall(kp.uprobe, libc .. ":" .. sym, args)
      return ok and p or nil
    end
    probes.open = up("open", { file = "+0(%di):ustring", flags = "%si:s32" })
    probes.open64 = up("open64", { file = "+0(%di):ustring", flags = "%si:s32" })
    probes.openat = up("openat", { dfd = "%di:s32", file = "+0(%si):ustring", flags = "%dx:s32" })
    probes.openat64 = up("openat64", { dfd = "%di:s32", file = "+0(%si):ustring", flags = "%dx:s32" })
    probes.creat = up("creat", { file = "+0(%di):ustring" })
    probes.unlink = up("unlink", { file = "+0(%di):ustring" })
    probes.unlinkat = up("unlinkat", { dfd = "%di:s32", file = "+0(%si):ustring" })
    probes.rename = up("rename", { old = "+0(%di):ustring", new = "+0(%si):ustring" })
    probes.renameat = up("renameat", { olddfd = "%di:s32", old = "+0(%si):ustring",
      newdfd = "%dx:s32", new = "+0(%cx):ustring" })
    probes.renameat2 = up("renameat2", { olddfd = "%di:s32", old = "+0(%si):ustring",
      newdfd = "%dx:s32", new = "+0(%cx):ustring" })
    path = "uprobes on " .. libc .. " (open, openat, creat, unlink, unlinkat, rename, renameat, renameat2)"
  end
end
if not path then
  io.stderr:write("sensitive_write: neither kprobes nor a glibc to put uprobes on: nothing to watch\n")
  os.exit(1)
end

local opens, unlinks, renames = {}, {}, {}
for name, p in pairs(probes) do
  if name:match("^open") or name == "creat" then opens[#opens + 1] = p
  elseif name:match("^unlink") then unlinks[#unlinks + 1] = p
  else renames[#renames + 1] = p end
end

-- the severity is per path: two rules, by how sensitive the file is
for _, level in ipairs({ "medium", "high" }) do
  local function only(f)
    return function(ev) return f(ev) and ev.severity_hint == level end
  end
  local suffix = "_" .. level
  if #opens > 0 then
    kp.rule{ name = "sensitive_write" .. suffix, on = opens, severity = level,
      when = only(function(ev)
        local fl = ev.flags or O_CREAT -- creat() has no flags: it creates
        if bit.band(fl, O_WRONLY + O_RDWR + O_CREAT + O_TRUNC) == 0 then return false end
        return check(ev, "open-write", ev.file, ev.dfd)
      end),
      message = "{comm} ({pid}) opens {path} for writing", fields = { "op", "path", "flags" } }
  end
  if #unlinks > 0 then
    kp.rule{ name = "sensitive_unlink" .. suffix, on = unlinks, severity = level,
      when = only(function(ev) return check(ev, "unlink", ev.file, ev.dfd) end),
      message = "{comm} ({pid}) deletes {path}", fields = { "op", "path" } }
  end
  if #renames > 0 then
    kp.rule{ name = "sensitive_rename" .. suffix, on = renames, severity = level,
      when = only(function(ev)
        local from = check(ev, "rename-from", ev.old, ev.olddfd) and ev.path
        local to = check(ev, "rename-to", ev.new, ev.newdfd) and ev.path
        if from or to then
          ev.op, ev.path = "rename", from or to
          ev.from, ev.to = absolute(ev.pid, ev.olddfd, ev.old), absolute(ev.pid, ev.newdfd, ev.new)
          return true
        end
        return false
      end),
      message = "{comm} ({pid}) renames {from} to {to}", fields = { "op", "path", "from", "to" } }
  end
end

if not kp.config().dry_run then
  io.stderr:write("sensitive_write: watching via " .. path .. "\n")
end
