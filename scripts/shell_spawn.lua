-- shell_spawn.lua: a shell started by a service process.
--
--   sudo kpscript shell_spawn.lua            # alone
--   sudo kpscript -o json detections/        # with other detections (a directory)
--
-- A web server, database or other network service that starts a shell is
-- the classic sign of command injection or a web shell. This detection
-- alerts (severity high) on every exec of a shell (sh, bash, dash, zsh,
-- ksh, ash, fish, csh, tcsh, mksh; busybox or toybox run as one of them)
-- whose parent process is a known
-- service: nginx, apache2/httpd, php-fpm, lighttpd, caddy, uwsgi/gunicorn,
-- node, java, tomcat, mysqld/mariadbd, postgres, redis-server, mongod,
-- memcached, named, vsftpd, proftpd. Add names with arguments:
--   kpscript shell_spawn.lua service=myapp service=other
--
-- Works on any kernel with tracepoints: sched:sched_process_exec, and the
-- parent from the process table (kp.proc). Quiet on shells started by
-- shells, terminals, cron, sshd and everything else not listed. A program
-- that execs /proc/self/exe (busybox's shell runs its applets so) is judged
-- by the binary behind it, and busybox by its argv[0] (sh, ls, sleep...),
-- or argv[1] when run as busybox (busybox sh -c ...), read from /proc. Blind spot: a busybox program that exits before its
-- argv is read is alerted as "busybox (applet unknown)", shell or not.
local SHELLS = { sh = true, bash = true, dash = true, zsh = true, ksh = true, ash = true,
  fish = true, csh = true, tcsh = true, mksh = true }
-- programs that are many programs, chosen by argv[0]
local MULTICALL = { busybox = true, toybox = true }
local SERVICES = { "nginx", "apache2", "httpd", "php%-fpm[%d.]*", "php[%d.]*%-fpm", "lighttpd",
  "caddy", "uwsgi", "gunicorn", "node", "java", "tomcat[%d]*", "mysqld", "mariadbd",
  "postgres", "postmaster", "redis%-server", "mongod", "memcached", "named", "vsftpd",
  "proftpd" }
for _, a in ipairs(arg or {}) do
  local name = a:match("^service=(.+)$")
  if name then SERVICES[#SERVICES + 1] = name:gsub("%p", "%%%0") end
end

local function service(comm)
  for _, pat in ipairs(SERVICES) do
    if comm:match("^" .. pat .. "$") then return true end
  end
  return false
end

local exec = kp.tracepoint("sched:sched_process_exec", { wakeup = 1 })

kp.rule{
  name = "shell_spawn",
  on = exec,
  severity = "high",
  when = function(ev)
    local p = kp.proc(ev.pid)
    local parent = p and p.parent
    local file = ev.filename
    if file:match("^/proc/[%w]+/exe$") then
      -- a program that runs itself again (busybox's shell runs `sh -c`
      -- so, as /proc/self/exe): the binary it was, which it shares with
      -- the parent that forked it
      local exe = (p and p.exe) or (parent and parent.exe)
      if not exe then return false end
      file = exe
    end
    local base = file:match("[^/]*$")
    if MULTICALL[base] then
      -- busybox as sh, ls or sleep: its first argument says which; when
      -- the process is gone before that is read, it may be a shell
      local argv = p and p.argv
      local applet = argv and argv[1] and argv[1]:match("[^/]*$")
      -- "busybox sh -c ...": the applet is the next argument
      if applet and MULTICALL[applet] then applet = argv[2] and argv[2]:match("[^/]*$") or "" end
      if applet and not SHELLS[applet] then return false end
      file = file .. " (" .. (applet or "applet unknown") .. ")"
    elseif not SHELLS[base] then
      return false
    end
    ev.shell = file
    ev.parent_comm = parent and parent.comm or nil
    ev.parent_pid = parent and parent.pid or nil
    ev.parent_exe = parent and parent.exe or nil
    return parent ~= nil and service(parent.comm)
  end,
  message = "shell {shell} started by service {parent_comm} (pid {parent_pid})",
  fields = { "filename", "shell", "parent_comm", "parent_pid", "parent_exe" },
}
