#!/bin/sh
# Exactness: a process that makes exactly N getppid() calls gives exactly N
# syscalls:sys_enter_getppid events of its pid, none lost, every one
# delivered before kpscript -c returns.
#
# Counting is per pid, and the pid comes from the generator itself (it
# writes it to a file before its first call), not from kp.cpid(): sh -c may
# fork the command or exec it, and dash calls getppid() once at start-up
# (for $PPID), so "events of the -c pid" is not the generator's N.
# The rings get 4 MiB per CPU (pages = 1024): all N events fit even if
# kpscript is not scheduled during the whole burst, so any loss is a bug
# (test_lost.sh covers a ring too small on purpose).
. tests/live/lib.sh
need_live exact

N=20000
cat >"$TMP/exact.lua" <<'EOF'
local pidfile = arg[1]
local counts = {}
kp.tracepoint("syscalls:sys_enter_getppid", { pages = 1024 }, function(e)
  counts[e.pid] = (counts[e.pid] or 0) + 1
end)
kp.run()
local f = assert(io.open(pidfile))
local pid = f:read("*n")
f:close()
local total = 0
for _, n in pairs(counts) do total = total + n end
local s = kp.counters()["tracepoint:syscalls:sys_enter_getppid"]
print(string.format("pid %d count %d total %d events %d lost %d", pid, counts[pid] or 0,
  total, s.events, s.lost))
EOF

# 1. the generator is a child of sh -c (the trailing "; true" keeps dash from
#    exec'ing it): its pid holds exactly its N calls
kp_run -c "$PROGS/gen_getppid $N $TMP/pid; true" "$TMP/exact.lua" "$TMP/pid"
exits "exact: run exits 0" 0
line=$(grep '^pid ' "$TMP/out")
set -- $line
# pid P count C total T events E lost L
if [ $# -eq 10 ]; then
	check "exact: $N getppid events of the generator (got $4)" [ "$4" -eq "$N" ]
	check "exact: no event lost (stats lost ${10})" [ "${10}" -eq 0 ]
	check "exact: stats events = events delivered ($8 = $6)" [ "$8" -eq "$6" ]
	check "exact: generator pid $2 is the pid it wrote" [ "$2" = "$(cat "$TMP/pid")" ]
else
	notok "exact: no summary line from the script: $(head -c 300 "$TMP/out" "$TMP/err" | tr '\n' ' ')"
fi
check "exact: no loss report on stderr" not grep -q 'lost' "$TMP/err"
none_left exact

# 2. sh exec's the generator: the same pid makes one getppid() as "sh" (dash
#    start-up) and N as "gen_getppid". ev.comm must follow the exec exactly,
#    and kp.cpid() (the -c pid, here the generator's own) must name the
#    command's pid for every one of its events, including those delivered
#    after the command has exited (-c delivers every event it caused).
cat >"$TMP/comm.lua" <<'EOF'
local pidfile = arg[1]
local by_comm, cpid_ok, cpid_bad = {}, 0, {}
kp.tracepoint("syscalls:sys_enter_getppid", { pages = 1024 }, function(e)
  local k = e.pid .. " " .. e.comm
  by_comm[k] = (by_comm[k] or 0) + 1
  local c = kp.cpid()
  if c == e.pid then
    cpid_ok = cpid_ok + 1
  else
    cpid_bad[e.pid] = (cpid_bad[e.pid] or 0) + 1
  end
end)
kp.run()
local f = assert(io.open(pidfile))
local pid = f:read("*n")
f:close()
print(string.format("gen %d", by_comm[pid .. " gen_getppid"] or 0))
local other = 0
for k, n in pairs(by_comm) do
  if k:match("^(%d+) ") == tostring(pid) and k ~= pid .. " gen_getppid" then other = other + n end
end
print(string.format("other %d", other))
print(string.format("cpid %d %d", cpid_ok, cpid_bad[pid] or 0))
EOF
kp -c "exec $PROGS/gen_getppid $N $TMP/pid2" "$TMP/comm.lua" "$TMP/pid2"
exits "exact/exec: run exits 0" 0
gen=$(val gen)
other=$(val other)
cpid=$(val cpid)
check "exact/exec: $N events with ev.comm gen_getppid (got ${gen:-none})" [ "${gen:-0}" -eq "$N" ]
c=no
[ -n "$other" ] && [ "$other" -le 1 ] && c=yes
check "exact/exec: at most one event of that pid before the exec (sh start-up; got ${other:-none})" \
	[ $c = yes ]
set -- $cpid
if [ $# -eq 2 ]; then
	c=no
	[ "$2" -eq 0 ] && [ "$1" -eq $((N + ${other:-0})) ] && c=yes
	check "exact/exec: kp.cpid() = ev.pid for all $((N + ${other:-0})) events of the command (ok $1, nil or other $2)" \
		[ $c = yes ]
else
	notok "exact/exec: no cpid line: $(oneline "$TMP/err")"
fi

# two declarations on one tracepoint: each counted on its own
cat >"$TMP/two.lua" <<'EOF2'
local n = { 0, 0 }
local a = kp.tracepoint("syscalls:sys_enter_getppid", function() n[1] = n[1] + 1 end)
local b = kp.tracepoint("syscalls:sys_enter_getppid", { filter = "common_pid < 0" }, function() n[2] = n[2] + 1 end)
kp.run()
local c = kp.counters()
local k = "tracepoint:syscalls:sys_enter_getppid"
print(string.format("TWO %d %d %d %d %d %d", n[1], n[2], c[k].events, c[k .. "#2"].events,
  a:counters().events, b:counters().events))
EOF2
kp_run -c "$PROGS/gen_getppid 50" "$TMP/two.lua"
two=$(val TWO)
check "exact: two probes of one name: NAME and NAME#2 in kp.counters(), each its own, and p:counters() ($two)" \
	cond 'set -- $two; [ "$1" -ge 50 ] && [ "$2" -eq 0 ] && [ "$3" -eq "$1" ] && [ "$4" -eq 0 ] && [ "$5" -eq "$1" ] && [ "$6" -eq 0 ]'
