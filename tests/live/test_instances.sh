#!/bin/sh
# Several kpscript instances running the same script at once: they do not
# collide, and each removes only its own events.
#
#   1. A and B start together: each registers the script's 3 dynamic
#      events in its own group (kpscript_A, kpscript_B, the same event names
#      in both), and each sees every call of one uprobe_target run.
#   2. A stops (SIGINT): its group is gone, B's is whole, and B still sees
#      every call of a second target run.
#   3. D is SIGKILLed (its group stays), then C starts while B runs: C's
#      sweep removes D's group and nothing of B's; C and B both see a third
#      target run.
#   4. B and C stop at the same moment: nothing of A, B, C or D remains.
#   5. Three rounds of three instances started and stopped together.
#   6. Two instances in separate pid namespaces (unshare --pid --fork, as two
#      containers sharing the host's tracefs): both are pid 1 in their
#      namespace. They too must both run, each see every call, and each
#      remove only its own events; nothing of theirs may remain.
#
# The probes are on a private copy of uprobe_target (in $TMP), so events of
# other runs cannot be counted, and section 6 finds every event it created,
# whatever the group names, as the lines of dynamic_events that name that
# copy. Each instance writes "PID N INT RET STR WANT" to a status file
# every 20 ms from kp.every (so once its probes are enabled): its pid
# (getpid() through the FFI, so in its own pid namespace), the dynamic
# events of group kpscript_PID, and the entry, return and kp_target_str
# events it saw of target runs that passed the string WANT, which the test
# sets through a file. The checks that say "nothing left" need the counts
# that proved the events were there first.
#
# shellcheck disable=SC2154,SC2034,SC2016
# (NAME_pid and NAME_rc are set through eval; cond evaluates its argument)
. tests/live/lib.sh
need_live instances

need_prog instances "$PROGS/uprobe_target"
T=$TMP/target
cp "$PROGS/uprobe_target" "$T"
FULL=3

pids=
# mine PID: PID is still a process of this test (a child, or a child of
# its unshare), not some later process that reuses the number
mine() {
	_pp=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
	[ -n "$_pp" ] || return 1
	[ "$_pp" = $$ ] || [ "$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$_pp/status" 2>/dev/null)" = $$ ]
}
# on the way out, an instance still running gets the chance to clean up
cleanup() {
	for p in $pids; do
		mine "$p" || continue
		kill -TERM "$p" 2>/dev/null && sleep 1
		mine "$p" && kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

{
	cat <<'EOF'
local ffi = require "ffi"
ffi.cdef "int getpid(void);"
local status, T, want = arg[1], arg[2], arg[3]
local pid = ffi.C.getpid()
local function registered_ns()
  local n = 0
  for l in io.lines(kp_tracefs .. "/dynamic_events") do
    if l:find("kpscript_" .. pid .. "/", 1, true) then n = n + 1 end
  end
  return n
end
-- the run's string, then the pids that passed it (returns carry no string)
local mine, nint, nret, nstr = {}, 0, 0, 0
kp.uprobe(T .. ":kp_target_int", { s = "+0(%cx):ustring" }, function(e)
  if e.s == want then mine[e.pid] = true nint = nint + 1 end
end)
kp.uretprobe(T .. ":kp_target_int", { r = "$retval:s32" }, function(e)
  if mine[e.pid] then nret = nret + 1 end
end)
kp.uprobe(T .. ":kp_target_str", { s = "+0(%di):ustring" }, function(e)
  if e.s == want then nstr = nstr + 1 end
end)
kp.tracepoint("sched:sched_process_exec", function() end)
-- the string to wait for comes from a file, so it can change during the run
local function report()
  local f = io.open(status .. ".want")
  if f then
    local w = f:read("*l")
    f:close()
    if w and w ~= want then want, mine, nint, nret, nstr = w, {}, 0, 0, 0 end
  end
  f = assert(io.open(status .. ".tmp", "w"))
  f:write(string.format("%d %d %d %d %d %s\n", pid, registered_ns(), nint, nret, nstr, want))
  f:close()
  os.rename(status .. ".tmp", status)
end
-- from inside the run only: a status means the probes are enabled
kp.every(20, report)
kp.run()
EOF
} | sed "s|kp_tracefs|\"$TRACEFS\"|" >"$TMP/inst.lua"

# inst NAME [WRAPPER...]: start an instance; its pid in $NAME_pid
inst() {
	_in=$1
	shift
	rm -f "$TMP/$_in.st" "$TMP/$_in.st.want"
	"$@" "$KPSCRIPT" "$TMP/inst.lua" "$TMP/$_in.st" "$T" none >"$TMP/$_in.out" 2>"$TMP/$_in.err" &
	eval "${_in}_pid=\$!"
	pids="$pids $!"
}
# field NAME K: field K (1 pid, 2 registered, 3 int, 4 ret, 5 str, 6 want) of NAME's status
field() { cut -d' ' -f"$2" "$TMP/$1.st" 2>/dev/null; }
# want NAME STR: NAME counts the calls of target runs given STR from now on
want() { echo "$2" >"$TMP/$1.st.want"; }
# wait_status NAME K VALUE: wait (at most 10 s, and while NAME runs) until
# field K of NAME's status is VALUE
wait_status() {
	_wt=0
	eval "_wp=\$${1}_pid"
	[ -n "$_wp" ] || return 1
	while [ "$(field "$1" "$2")" != "$3" ]; do
		[ $_wt -ge 1000 ] && return 1
		# gone, or a zombie: it will not say more
		{ [ -d "/proc/$_wp" ] && ! grep -q '^State:.*Z' "/proc/$_wp/status" 2>/dev/null; } || return 1
		sleep 0.01
		_wt=$((_wt + 1))
	done
}
# group_n PID: dynamic events of group kpscript_PID
group_n() { grep -c "kpscript_$1/" "$TRACEFS/dynamic_events"; }
# names PID: the event names of group kpscript_PID, sorted, on one line
names() { sed -n "s|^[^:]*:kpscript_$1/\([^ ]*\) .*|\1|p" "$TRACEFS/dynamic_events" | sort | tr '\n' ' '; }
# ours: dynamic events on our private target copy, of any group
ours() { grep -c " $T:" "$TRACEFS/dynamic_events"; }
# gone PID: PID has exited (a zombie, or reaped)
gone() { [ ! -d "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
# stop NAME...: SIGINT the instances at once, wait for them (at most 30 s,
# then SIGKILL); NAME_rc
stop() {
	_sp=
	for _s; do
		eval "_sp=\"\$_sp \$${_s}_pid\""
	done
	# shellcheck disable=SC2086 # one kill for them all
	kill -INT $_sp
	for _p in $_sp; do
		_w=0
		while ! gone "$_p" && [ $_w -lt 3000 ]; do
			sleep 0.01
			_w=$((_w + 1))
		done
		gone "$_p" || kill -KILL "$_p"
	done
	for _s; do
		eval "wait \$${_s}_pid"
		eval "${_s}_rc=$?"
	done
}
# run_target N STR NAME...: one target run of N calls with STR; each NAME
# must count exactly N entries, N returns and 1 kp_target_str
run_target() {
	_n=$1 _str=$2
	shift 2
	for _s; do
		want "$_s" "$_str"
	done
	# each NAME has read its new string (its counts restart at 0) first
	for _s; do
		wait_status "$_s" 6 "$_str"
	done
	"$T" "$_n" "$_str"
	for _s; do
		wait_status "$_s" 5 1
		wait_status "$_s" 3 "$_n"
		wait_status "$_s" 4 "$_n"
		got="$(field "$_s" 3) $(field "$_s" 4) $(field "$_s" 5)"
		check "instances/$_s: all $_n calls of the '$_str' run seen: entries, returns, kp_target_str (got $got)" \
			[ "$got" = "$_n $_n 1" ]
	done
}

# ---- 1. A and B together ---------------------------------------------------
inst A
inst B
wait_status A 2 $FULL
wait_status B 2 $FULL
check "instances/A and B: two different pids ($A_pid, $B_pid)" [ "$A_pid" != "$B_pid" ]
check "instances/A: its status names its pid ($(field A 1))" [ "$(field A 1)" = "$A_pid" ]
check "instances/B: its status names its pid ($(field B 1))" [ "$(field B 1)" = "$B_pid" ]
na=$(group_n "$A_pid")
nb=$(group_n "$B_pid")
check "instances/A: its $FULL events in group kpscript_$A_pid (got $na)" [ "$na" -eq $FULL ]
check "instances/B: its $FULL events in group kpscript_$B_pid (got $nb)" [ "$nb" -eq $FULL ]
check "instances/A and B: the same event names in both groups ($(names "$A_pid")/ $(names "$B_pid"))" \
	[ "$(names "$A_pid")" = "$(names "$B_pid")" ]
check "instances/A and B: neither start complained: $(cat "$TMP/A.err" "$TMP/B.err" | head -n 2 | tr '\n' ' ')" \
	[ ! -s "$TMP/A.err" ] && [ ! -s "$TMP/B.err" ]
run_target 100 "one$$" A B

# ---- 2. A stops, B goes on -------------------------------------------------
stop A
check "instances/A: SIGINT: exit 0 (got $A_rc)" [ "$A_rc" -eq 0 ]
check "instances/A: its group is gone ($(group_n "$A_pid") left)" not leftovers "$A_pid"
nb=$(group_n "$B_pid")
check "instances/B: A's exit left B's $FULL events alone (got $nb)" [ "$nb" -eq $FULL ]
check "instances/B: still running" kill -0 "$B_pid"
run_target 50 "two$$" B

# ---- 3. a killed D, then C starts while B runs -----------------------------
inst D
wait_status D 2 $FULL
kill -KILL "$D_pid"
wait "$D_pid" 2>/dev/null
nd=$(group_n "$D_pid")
check "instances/D: SIGKILLed, its $FULL events stay (got $nd)" [ "$nd" -eq $FULL ]
inst C
wait_status C 2 $FULL
nc=$(group_n "$C_pid")
check "instances/C: its $FULL events in group kpscript_$C_pid (got $nc)" [ "$nc" -eq $FULL ]
check "instances/C: its start swept the killed D ($(group_n "$D_pid") left)" not leftovers "$D_pid"
check "instances/C: and said so: $(head -n 1 "$TMP/C.err")" grep -q 'removed [0-9]* probes* left by killed' "$TMP/C.err"
nb=$(group_n "$B_pid")
check "instances/B: C's sweep left B's $FULL events alone (got $nb)" [ "$nb" -eq $FULL ]
run_target 30 "three$$" B C

# ---- 4. B and C stop together ----------------------------------------------
stop B C
check "instances/B: SIGINT: exit 0 (got $B_rc)" [ "$B_rc" -eq 0 ]
check "instances/C: SIGINT: exit 0 (got $C_rc)" [ "$C_rc" -eq 0 ]
for p in "$A_pid" "$B_pid" "$C_pid" "$D_pid"; do
	check "instances: nothing left of kpscript_$p" not leftovers "$p"
done
check "instances: no event on the target copy is left ($(ours))" [ "$(ours)" -eq 0 ]

# ---- 5. three at once, three times -----------------------------------------
for r in 1 2 3; do
	inst E
	inst F
	inst G
	allup=yes
	for s in E F G; do
		wait_status $s 2 $FULL || allup=no
	done
	n=$(ours)
	check "instances/round $r: three instances started at once each registered its $FULL events ($n on the target)" \
		cond '[ $allup = yes ] && [ "$n" -eq $((3 * FULL)) ]'
	stop E F G
	check "instances/round $r: each exited 0 ($E_rc $F_rc $G_rc)" \
		cond '[ "$E_rc" -eq 0 ] && [ "$F_rc" -eq 0 ] && [ "$G_rc" -eq 0 ]'
	check "instances/round $r: stopped at once, nothing of them is left ($(ours) on the target)" \
		[ "$(ours)" -eq 0 ]
done

# ---- 6. pid namespaces -----------------------------------------------------
if ! unshare --pid --fork true 2>/dev/null; then
	skip "instances/pid namespaces: unshare --pid --fork does not work here"
	exit 0
fi
# nsinst NAME: an instance that is pid 1 of a new pid namespace
nsinst() {
	inst "$1" unshare --pid --fork --kill-child
	# $NAME_pid is unshare's; kpscript is its only child
	eval "_u=\$${1}_pid"
	_k=
	_w=0
	while [ -z "$_k" ] && [ $_w -lt 500 ] && ! gone "$_u"; do
		_k=$(tr -d ' ' <"/proc/$_u/task/$_u/children" 2>/dev/null)
		[ -z "$_k" ] && sleep 0.01
		_w=$((_w + 1))
	done
	eval "${1}_upid=\$_u ${1}_pid=\$_k"
	pids="$pids $_k"
}
nsinst P
wait_status P 2 $FULL
nsinst Q
wait_status Q 2 $FULL
p=$(field P 1)
q=$(field Q 1)
check "instances/pidns: P runs, as pid 1 of its namespace (its status says pid ${p:-none})" [ "$p" = 1 ]
check "instances/pidns: Q runs, as pid 1 of its namespace (its status says pid ${q:-none})" [ "$q" = 1 ]
n=$(ours)
check "instances/pidns: both registered their $FULL events, $((2 * FULL)) on the target (got $n; Q: $(oneline "$TMP/Q.err"))" \
	[ "$n" -eq $((2 * FULL)) ]
if kill -0 "$Q_pid" 2>/dev/null && kill -0 "$P_pid" 2>/dev/null; then
	run_target 20 "ns$$" P Q
	kill -INT "$P_pid"
	wait "$P_upid"
	n=$(ours)
	check "instances/pidns: P stopped, Q's $FULL events are all still there (got $n)" [ "$n" -eq $FULL ]
	run_target 10 "ns2$$" Q
	kill -INT "$Q_pid"
	wait "$Q_upid"
else
	notok "instances/pidns: both instances run at once (P: $(oneline "$TMP/P.err"); Q: $(oneline "$TMP/Q.err"))"
	kill -INT "$P_pid" "$Q_pid" 2>/dev/null
	wait "$P_upid" "$Q_upid" 2>/dev/null
fi
check "instances/pidns: both stopped, nothing of either is left ($(ours) on the target)" [ "$(ours)" -eq 0 ]
