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

T=$PROGS/uprobe_target
need_prog cleanup "$T"

# Lua prelude: ready(file) as described above
{
	lua_registered
	cat <<'EOF'
function ready(path)
  local pid, n = registered()
  local f = assert(io.open(path, "w"))
  f:write(pid, " ", n, "\n")
  f:close()
end
EOF
} >"$TMP/prelude.lua"
# script NAME BODY: $TMP/NAME.lua = prelude + BODY
script() {
	{ cat "$TMP/prelude.lua"; printf '%s\n' "$2"; } >"$TMP/$1.lua"
}
UP="kp.uprobe(\"$T:kp_target_int\", { a = \"%di:s32\" }, function() end)
kp.uretprobe(\"$T:kp_target_int\", { r = \"\$retval:s32\" }, function() end)
kp.tracepoint(\"sched:sched_process_exec\", function() end)"
# UP, then the ready line
UPR="$UP
ready(\"$TMP/ready\")"

# verdict NAME RC WANT_RC: the ready line of $TMP/ready, then nothing left
verdict() {
	vname=$1 vrc=$2 want=$3
	set -- $(cat "$TMP/ready" 2>/dev/null)
	check "$vname: exit status $want (got $vrc)" [ "$vrc" -eq "$want" ]
	if [ $# -ne 2 ]; then
		notok "$vname: the script never got to register its probes: $(oneline "$TMP/err")"
		return
	fi
	check "$vname: pid $1 ran as kpscript (its ready line names pid $kpid)" [ "$1" = "$kpid" ]
	check "$vname: its probes were registered during the run ($2 dynamic events)" [ "$2" -ge 2 ]
	check "$vname: nothing left of kpscript_$1 in dynamic_events" not leftovers "$1"
}

start() { # start ARGS...: kpscript ARGS in the background (kp_start), no ready line yet
	rm -f "$TMP/ready"
	kp_start "$@"
}

# ends NAME WANT SCRIPT ARGS...: run $TMP/SCRIPT.lua with ARGS before it to
# its end, then its verdict NAME (exit status WANT)
ends() {
	ename=$1 ewant=$2 escript=$3
	shift 3
	start "$@" "$TMP/$escript.lua"
	wait $kpid
	verdict "$ename" $? "$ewant"
}

# 1. normal end: -c runs the target, the run ends when it exits
script normal "$UPR"
ends "cleanup/normal end" 0 normal -c "$T 3"

# 2-4. signals during the run
for sig in TERM INT HUP; do
	script sig "$UPR
kp.run()"
	start "$TMP/sig.lua"
	if wait_file "$TMP/ready"; then
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
script loaderr "$UPR
error(\"deliberate load error\")"
ends "cleanup/error at load" 1 loaderr
check "cleanup/error at load: the error is reported" grep -q 'deliberate load error' "$TMP/err"

# 7. Lua error in a callback
script cberr "kp.uprobe(\"$T:kp_target_int\", { a = \"%di:s32\" }, function(e)
  if e.a == 2 then error(\"deliberate callback error\") end
end)
kp.uretprobe(\"$T:kp_target_int\", { r = \"\$retval:s32\" }, function() end)
kp.tracepoint(\"sched:sched_process_exec\", function() end)
ready(\"$TMP/ready\")"
ends "cleanup/error in a callback" 1 cberr -c "$T 5"
check "cleanup/error in a callback: the error is reported" grep -q 'deliberate callback error' "$TMP/err"

# 8-9. failure half-way: good probes, then one that cannot be created
script halfsym "$UPR
kp.uprobe(\"$T:no_such_function_kp\", {}, function() end)"
ends "cleanup/half-way (unknown symbol)" 1 halfsym
script halfarg "$UPR
kp.uprobe(\"$T:kp_target_str\", { x = \"%nosuchreg\" }, function() end)"
ends "cleanup/half-way (kernel refuses the fetch arg)" 1 halfarg
script halftp "$UPR
kp.tracepoint(\"sched:no_such_tracepoint_kp\", function() end)"
ends "cleanup/half-way (unknown tracepoint)" 1 halftp

# 10. SIGKILL: the group stays; the next start sweeps it
script kill "$UPR
kp.run()"
start "$TMP/kill.lua"
if wait_file "$TMP/ready"; then
	kill -KILL $kpid
	wait $kpid 2>/dev/null
	nleft=$(leftovers "$kpid" | wc -l)
	check "cleanup/SIGKILL: the killed run's group is still registered ($nleft events)" [ "$nleft" -ge 2 ]
	kp -e 'local x = 1'
	exits "cleanup/sweep: the next run exits 0" 0
	msg=$(grep 'left by killed kpscript runs' "$TMP/err")
	n=$(printf '%s\n' "$msg" | sed -n 's/.*removed \([0-9][0-9]*\) probes\{0,1\} left by killed kpscript runs.*/\1/p')
	check "cleanup/sweep: stderr says 'removed N probe(s) left by killed kpscript runs' with N >= $nleft (got: ${msg:-nothing})" \
		[ "${n:-0}" -ge "$nleft" ]
	check "cleanup/sweep: the killed run's group is gone" not leftovers "$kpid"
	kp -e 'local x = 1'
	check "cleanup/sweep: a second run finds nothing to sweep" not grep -q 'left by killed' "$TMP/err"
else
	notok "cleanup/SIGKILL: the script never got ready: $(oneline "$TMP/err")"
	kill -KILL $kpid 2>/dev/null
	wait $kpid 2>/dev/null
fi

# a --dry-run creates nothing, so it has nothing to leave either
script dry "$UPR"
start --dry-run "$TMP/dry.lua"
wait $kpid
rc=$?
exits "cleanup/dry-run: exit 0" 0
check "cleanup/dry-run: nothing registered during the run (ready line: $(cat "$TMP/ready" 2>/dev/null))" \
	[ "$(cat "$TMP/ready" 2>/dev/null)" = "$kpid 0" ]
