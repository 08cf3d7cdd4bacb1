#!/bin/sh
# Cleanup: every way a run ends removes the dynamic events it created
# (group kpscript_PID): a normal end, SIGTERM, SIGINT, SIGHUP, stdout
# closed (SIGPIPE), an error at load, an error in a callback, a failure
# half-way through the declarations. A SIGKILLed run leaves its group, and
# the next kpscript start sweeps it and says so.
#
# Each script first proves its probes were registered: ready() writes
# "PID N" (N = dynamic events of group kpscript_PID) to a file, and every
# "nothing left" check requires N > 0 first, else it would prove nothing.
# tracefs files are only ever read here, never written.
. tests/live/lib.sh
need_live cleanup

not() { ! "$@" >/dev/null 2>&1; }

T=$PROGS/uprobe_target
if [ ! -x "$T" ]; then
	notok "cleanup: $T is not built (make build/progs/uprobe_target)"
	exit 0
fi

# Lua prelude: ready(file) as described above
cat >"$TMP/prelude.lua" <<EOF
local TRACEFS = "$TRACEFS"
function ready(path)
  local f = assert(io.open("/proc/self/stat"))
  local pid = f:read("*n")
  f:close()
  local n = 0
  for l in io.lines(TRACEFS .. "/dynamic_events") do
    if l:find("kpscript_" .. pid .. "/", 1, true) then n = n + 1 end
  end
  f = assert(io.open(path, "w"))
  f:write(pid, " ", n, "\n")
  f:close()
end
EOF
# script NAME BODY: $TMP/NAME.lua = prelude + BODY
script() {
	{ cat "$TMP/prelude.lua"; printf '%s\n' "$2"; } >"$TMP/$1.lua"
}
UP="kp.uprobe(\"$T:kp_target_int\", { a = \"%di:s32\" }, function() end)
kp.uretprobe(\"$T:kp_target_int\", { r = \"\$retval:s32\" }, function() end)
kp.tracepoint(\"sched:sched_process_exec\", function() end)"

# wait_ready FILE: until the script wrote its ready line (at most 5 s)
wait_ready() {
	i=0
	while [ ! -s "$1" ] && [ $i -lt 500 ]; do
		sleep 0.01
		i=$((i + 1))
	done
	[ -s "$1" ]
}

# verdict NAME RC WANT_RC: the ready line of $TMP/ready, then nothing left
verdict() {
	vname=$1 vrc=$2 want=$3
	set -- $(cat "$TMP/ready" 2>/dev/null)
	check "$vname: exit status $want (got $vrc)" [ "$vrc" -eq "$want" ]
	if [ $# -ne 2 ]; then
		notok "$vname: the script never got to register its probes: $(head -c 300 "$TMP/err" | tr '\n' ' ')"
		return
	fi
	check "$vname: pid $1 ran as kpscript (its ready line names pid $kpid)" [ "$1" = "$kpid" ]
	check "$vname: its probes were registered during the run ($2 dynamic events)" [ "$2" -ge 2 ]
	check "$vname: nothing left of kpscript_$1 in dynamic_events" not leftovers "$1"
}

start() { # start NAME ARGS...: run kpscript in the background; sets kpid
	shift
	rm -f "$TMP/ready"
	"$KPSCRIPT" "$@" >"$TMP/out" 2>"$TMP/err" &
	kpid=$!
}

# 1. normal end: -c runs the target, the run ends when it exits
script normal "$UP
ready(\"$TMP/ready\")"
start normal -c "$T 3" "$TMP/normal.lua"
wait $kpid
verdict "cleanup/normal end" $? 0

# 2-4. signals during the run
for sig in TERM INT HUP; do
	script sig "$UP
ready(\"$TMP/ready\")
kp.run()"
	start sig "$TMP/sig.lua"
	if wait_ready "$TMP/ready"; then
		kill -$sig $kpid
	fi
	wait $kpid
	verdict "cleanup/SIG$sig" $? 0
done

# 5. stdout closed under a busy printer: SIGPIPE / EPIPE must stop the run
#    cleanly, not kill it. The pid comes from the ready file.
script pipe "$UP
kp.tracepoint(\"sched:sched_switch\", function(e) print(e.prev_comm, e.next_comm) end)
ready(\"$TMP/ready\")
kp.every(10, function() print(string.rep('x', 4000)) end)
kp.run()"
rm -f "$TMP/ready"
# the left side's status: the one this test cares about
{ "$KPSCRIPT" "$TMP/pipe.lua" 2>"$TMP/err"; echo $? >"$TMP/piperc"; } | head -n 1 >/dev/null
kpid=$(cut -d' ' -f1 "$TMP/ready" 2>/dev/null)
# the stdout closed under it; a run stopped by a signal it handles exits 0,
# 141 (128 + SIGPIPE) would mean it died without cleaning up
verdict "cleanup/stdout closed" "$(cat "$TMP/piperc")" 0

# 6. Lua error at load, after the probes were declared
script loaderr "$UP
ready(\"$TMP/ready\")
error(\"deliberate load error\")"
start loaderr "$TMP/loaderr.lua"
wait $kpid
verdict "cleanup/error at load" $? 1
check "cleanup/error at load: the error is reported" grep -q 'deliberate load error' "$TMP/err"

# 7. Lua error in a callback
script cberr "kp.uprobe(\"$T:kp_target_int\", { a = \"%di:s32\" }, function(e)
  if e.a == 2 then error(\"deliberate callback error\") end
end)
kp.uretprobe(\"$T:kp_target_int\", { r = \"\$retval:s32\" }, function() end)
kp.tracepoint(\"sched:sched_process_exec\", function() end)
ready(\"$TMP/ready\")"
start cberr -c "$T 5" "$TMP/cberr.lua"
wait $kpid
verdict "cleanup/error in a callback" $? 1
check "cleanup/error in a callback: the error is reported" grep -q 'deliberate callback error' "$TMP/err"

# 8-9. failure half-way: good probes, then one that cannot be created
script halfsym "$UP
ready(\"$TMP/ready\")
kp.uprobe(\"$T:no_such_function_kp\", {}, function() end)"
start halfsym "$TMP/halfsym.lua"
wait $kpid
verdict "cleanup/half-way (unknown symbol)" $? 1
script halfarg "$UP
ready(\"$TMP/ready\")
kp.uprobe(\"$T:kp_target_str\", { x = \"%nosuchreg\" }, function() end)"
start halfarg "$TMP/halfarg.lua"
wait $kpid
verdict "cleanup/half-way (kernel refuses the fetch arg)" $? 1
script halftp "$UP
ready(\"$TMP/ready\")
kp.tracepoint(\"sched:no_such_tracepoint_kp\", function() end)"
start halftp "$TMP/halftp.lua"
wait $kpid
verdict "cleanup/half-way (unknown tracepoint)" $? 1

# 10. SIGKILL: the group stays; the next start sweeps it
script kill "$UP
ready(\"$TMP/ready\")
kp.run()"
start kill "$TMP/kill.lua"
if wait_ready "$TMP/ready"; then
	kill -KILL $kpid
	wait $kpid 2>/dev/null
	nleft=$(leftovers "$kpid" | wc -l)
	check "cleanup/SIGKILL: the killed run's group is still registered ($nleft events)" [ "$nleft" -ge 2 ]
	"$KPSCRIPT" -e 'local x = 1' >"$TMP/out" 2>"$TMP/err"
	rc=$?
	check "cleanup/sweep: the next run exits 0 (got $rc)" [ "$rc" -eq 0 ]
	msg=$(grep 'left by killed kpscript runs' "$TMP/err")
	n=$(printf '%s\n' "$msg" | sed -n 's/.*removed \([0-9][0-9]*\) probes\{0,1\} left by killed kpscript runs.*/\1/p')
	check "cleanup/sweep: stderr says 'removed N probe(s) left by killed kpscript runs' with N >= $nleft (got: ${msg:-nothing})" \
		[ "${n:-0}" -ge "$nleft" ]
	check "cleanup/sweep: the killed run's group is gone" not leftovers "$kpid"
	"$KPSCRIPT" -e 'local x = 1' >"$TMP/out" 2>"$TMP/err"
	check "cleanup/sweep: a second run finds nothing to sweep" not grep -q 'left by killed' "$TMP/err"
else
	notok "cleanup/SIGKILL: the script never got ready: $(head -c 300 "$TMP/err" | tr '\n' ' ')"
	kill -KILL $kpid 2>/dev/null
	wait $kpid 2>/dev/null
fi

# a --dry-run creates nothing, so it has nothing to leave either
script dry "$UP
ready(\"$TMP/ready\")"
start dry --dry-run "$TMP/dry.lua"
wait $kpid
rc=$?
check "cleanup/dry-run: exit 0 (got $rc)" [ "$rc" -eq 0 ]
check "cleanup/dry-run: nothing registered during the run (ready line: $(cat "$TMP/ready" 2>/dev/null))" \
	[ "$(cat "$TMP/ready" 2>/dev/null)" = "$kpid 0" ]
