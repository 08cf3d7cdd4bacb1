# The process table (kp.proc, ev.proc, p.parent) against /proc for a small
# tree of test processes, a container id read from a cgroup the test
# creates, and an exited process kept as exited.
. tests/live/lib.sh
need_live proc
before=$(leftovers | wc -l)
HEX=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

# the tree: this shell -> sh (pid in sh.pid) -> setpriv -> awk as uid 65534
# (awk stays alive in system("sleep 3") with an argument holding a space)
cat >"$TMP/tree.lua" <<'LUA'
local dir = ...
local function num(f)
  local h = io.open(dir .. "/" .. f)
  if not h then return nil end
  local v = tonumber(h:read("*l"))
  h:close()
  return v
end
local done = false
kp.every(100, function()
  local pid = num("sleep.pid")
  if not pid or done then return end
  local p = kp.proc(pid)
  if not p or not p.argv then return end
  done = true
  print("PID " .. p.pid)
  print("PPID " .. tostring(p.ppid))
  print("UID " .. tostring(p.uid))
  print("COMM " .. tostring(p.comm))
  print("EXE " .. tostring(p.exe))
  print("ARGV " .. table.concat(p.argv, "|"))
  print("PARENT " .. tostring(p.parent and p.parent.pid) .. " " .. tostring(p.parent and p.parent.comm))
  print("GRANDPARENT " .. tostring(p.parent and p.parent.parent and p.parent.parent.pid))
  print("CONTAINER " .. tostring(p.container_id))
  print("CGROUP " .. tostring(p.cgroup))
  local s = kp.counters().proc
  print("STATS " .. s.size .. " " .. s.cap .. " " .. s.evictions)
end)
local exited
kp.tracepoint("sched:sched_process_exit", function(e)
  if e.pid == num("short.pid") and e.pid == e.tid then exited = e.pid end
end)
kp.every(100, function()
  if exited then
    local p = kp.proc(exited)
    print("EXITED " .. tostring(p and p.exited) .. " " .. tostring(p and p.comm))
    exited = nil
  end
end)
kp.run()
LUA

# cgroup v2 (or the v1 name=systemd hierarchy) for a docker-style scope
CG=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CG" ] || CG=$(awk '$3 == "cgroup" && $4 ~ /name=systemd/ { print $2; exit }' /proc/mounts)
SCOPE=""
if [ -n "$CG" ]; then
	SCOPE="$CG/kpscript-test.slice/docker-$HEX.scope"
	mkdir -p "$SCOPE" 2>/dev/null || SCOPE=""
fi
cleanup_cg() {
	[ -n "$SCOPE" ] || return 0
	rmdir "$SCOPE" "${SCOPE%/*}" 2>/dev/null
}

cat >"$TMP/cmd.sh" <<'SH'
echo $$ > "$KPT_DIR/sh.pid"
sleep 0.2 & echo $! > "$KPT_DIR/short.pid"
setpriv --reuid=65534 --regid=65534 --clear-groups awk 'BEGIN { system("sleep 3") }' "marker $KPT_MARK" &
child=$!
[ -n "$KPT_SCOPE" ] && echo $child > "$KPT_SCOPE/cgroup.procs"
echo $child > "$KPT_DIR/sleep.pid"
wait
SH
export KPT_DIR="$TMP" KPT_SCOPE="$SCOPE" KPT_MARK=$$
kp -d 5 -c "sh $TMP/cmd.sh" "$TMP/tree.lua" "$TMP"
exits "proc: the run ends cleanly ($(oneline "$TMP/err"))" 0
shpid=$(cat "$TMP/sh.pid" 2>/dev/null)
spid=$(cat "$TMP/sleep.pid" 2>/dev/null)
check "proc: kp.proc found the waiting child ($(oneline "$TMP/out"))" [ "$(val PID)" = "$spid" ]
check "proc: its ppid is the sh that started it ($(val PPID) = $shpid)" [ "$(val PPID)" = "$shpid" ]
check "proc: its uid after setpriv is 65534 ($(val UID))" [ "$(val UID)" = 65534 ]
check "proc: its comm is awk ($(val COMM))" [ "$(val COMM)" = awk ]
check "proc: its exe is awk's binary ($(val EXE))" [ "$(val EXE)" = "$(readlink -f "$(command -v awk)")" ]
check "proc: its argv, with the space inside an argument ($(val ARGV))" \
	[ "$(val ARGV)" = 'awk|BEGIN { system("sleep 3") }|'"marker $$" ]
check "proc: p.parent is the sh ($(val PARENT))" [ "$(val PARENT)" = "$shpid sh" ]
gp=$(val GRANDPARENT)
check "proc: p.parent.parent is the -c shell's parent ($gp)" cond '[ -n "$gp" ] && [ "$gp" != nil ]'
if [ -n "$SCOPE" ]; then
	check "proc: the container id from a docker-style cgroup the test made ($(val CONTAINER))" \
		[ "$(val CONTAINER)" = "$HEX" ]
	check "proc: the cgroup path ends in the scope ($(val CGROUP))" has "$(val CGROUP)" "docker-$HEX.scope"
else
	skip "proc: no writable cgroup hierarchy to make a container cgroup in"
fi
check "proc: kp.counters().proc has size, cap 32768, evictions ($(val STATS))" \
	cond 'set -- $(val STATS); [ "${1:-0}" -gt 0 ] && [ "$2" = 32768 ]'
check "proc: an exited process is still known, marked exited ($(val EXITED))" [ "$(val EXITED)" = "true sleep" ]
none_new "proc: nothing left registered" "$before"
cleanup_cg

# Short-lived processes: argv, exe and ids from the kernel at the exec
# (kp_exec.h), where /proc is gone before the handler asks. 40 runs of
# /bin/true, each with its own argument, as uid 65534, none of which can be
# read from /proc by then.
cat >"$TMP/short.lua" <<'LUA'
local seen, exact, ids, exes = 0, 0, 0, 0
kp.tracepoint("sched:sched_process_exec", function(e)
  if e.comm ~= "true" then return end
  local p = kp.proc(e.pid)
  seen = seen + 1
  if p and p.argv and p.argv[1] == "/bin/true" and p.argv[2] == "kpshort" and p.argv[3] == "n" .. p.argv[3]:sub(2)
      and #p.argv == 3 then exact = exact + 1 end
  if p and p.uid == 65534 and p.euid == 65534 and p.gid == 65534 then ids = ids + 1 end
  if p and p.exe ~= nil and p.exe:match("true$") then exes = exes + 1 end
end)
kp.run()
print("SEEN " .. seen)
print("EXACT " .. exact)
print("IDS " .. ids)
print("EXE " .. exes)
LUA
kp -c 'i=0; while [ $i -lt 40 ]; do setpriv --reuid=65534 --regid=65534 --clear-groups /bin/true kpshort n$i; i=$((i+1)); done' "$TMP/short.lua"
exits "proc: short-lived processes: exit status 0" 0
check "proc: 40 short-lived execs seen ($(val SEEN))" [ "$(val SEEN)" = 40 ]
check "proc: each one's argv exact, from the kernel at its exec ($(val EXACT) of 40)" [ "$(val EXACT)" = 40 ]
check "proc: each one's exe ($(val EXE) of 40)" [ "$(val EXE)" = 40 ]
if "$KPSCRIPT" -e 'kp.tracepoint("sched:sched_process_exec", { "p->cred->uid.val" }, print)' --dry-run >/dev/null 2>&1; then
	check "proc: each one's uid, euid and gid, 65534 ($(val IDS) of 40)" [ "$(val IDS)" = 40 ]
else
	skip "proc: this kernel's BTF gives no names on sched_process_exec: ids from /proc"
fi
check "proc: the process table's own probes are not among the script's counters" \
	not grep -q "sys_enter_execve" "$TMP/err"
