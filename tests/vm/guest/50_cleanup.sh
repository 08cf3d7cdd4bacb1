#!/bin/sh
# Every exit path removes kpscript's kprobes (group kpscript_PID); after a
# SIGKILL the next start sweeps them. ready() proves they were registered.
. /kp/guest/lib.sh

PRE='local function ready(path)
  local f = assert(io.open("/proc/self/stat"))
  local pid = f:read("*n")
  f:close()
  local n = 0
  for l in io.lines("'$TRACEFS'/dynamic_events") do
    if l:find("kpscript_" .. pid .. "/", 1, true) then n = n + 1 end
  end
  f = assert(io.open(path, "w"))
  f:write(pid, " ", n, "\n")
  f:close()
end
kp.kprobe("do_sys_openat2", { dfd = "%di:s32", fname = "+0(%si):string" }, function() end)
kp.kretprobe("do_sys_openat2", { ret = "$retval:s32" }, function() end)
kp.probe("p:commit_creds uid=+4(%di):u32", function() end)
'
script() { printf '%s\n%s\n' "$PRE" "$2" >"$TMP/$1.lua"; }
wait_ready() { # at most 30 s (TCG)
	i=0
	while [ ! -s "$1" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$1" ]
}
start() { # start NAME ARGS...: kpscript in the background; sets kpid
	shift
	rm -f "$TMP/ready"
	"$KPSCRIPT" "$@" >"$TMP/out" 2>"$TMP/err" &
	kpid=$!
}
verdict() { # verdict NAME RC WANT_RC [N_EVENTS]: N_EVENTS registered (3)
	vname=$1 vrc=$2 want=$3 nev=${4:-3}
	set -- $(cat "$TMP/ready" 2>/dev/null)
	check "$vname: exit status $want (got $vrc)" [ "$vrc" -eq "$want" ]
	if [ $# -ne 2 ]; then
		notok "$vname: the script never registered its probes"
		diag "$TMP/err"
		return
	fi
	check "$vname: its $nev kprobes were registered during the run ($2 events of kpscript_$1)" [ "$2" -eq "$nev" ]
	check "$vname: nothing left of kpscript_$1 in dynamic_events" not leftovers "$1"
	check "$vname: nothing left of kpscript_$1 in kprobe_events" not grep -q "kpscript_$1/" "$TRACEFS/kprobe_events"
}

# normal end
script normal "ready(\"$TMP/ready\")"
start normal -c "sleep 0.2" "$TMP/normal.lua"
wait $kpid
verdict "cleanup/normal end" $? 0

# signals during kp.run()
for sig in TERM INT; do
	script sig "kp.every(50, function() ready(\"$TMP/ready\") end)
kp.run()"
	start sig "$TMP/sig.lua"
	wait_ready "$TMP/ready" && kill -$sig $kpid
	wait $kpid
	verdict "cleanup/SIG$sig" $? 0
done

# error in a handler
script cberr "ready(\"$TMP/ready\")
kp.kprobe(\"do_sys_openat2\", { fname = \"+0(%si):string\" }, function(e)
  if e.fname:find(\"kpvm-boom\", 1, true) then error(\"deliberate handler error\") end
end)
ready(\"$TMP/ready\")"
rm -f "$TMP/ready"
timeout 120 "$KPSCRIPT" -c "cat /tmp/kpvm-boom 2>/dev/null; sleep 0.5" "$TMP/cberr.lua" >"$TMP/out" 2>"$TMP/err"
rc=$?
kpid=$(cut -d' ' -f1 "$TMP/ready" 2>/dev/null)
# ready() ran twice, the second time after the 4th probe
verdict "cleanup/error in a handler" $rc 1 4
check "cleanup/error in a handler: the error is reported" grep -q 'deliberate handler error' "$TMP/err"

# failure half-way: an unknown symbol after good probes
script half "ready(\"$TMP/ready\")
kp.kprobe(\"no_such_function_xyz\", {}, function() end)"
rm -f "$TMP/ready"
timeout 120 "$KPSCRIPT" "$TMP/half.lua" >"$TMP/out" 2>"$TMP/err"
rc=$?
kpid=$(cut -d' ' -f1 "$TMP/ready" 2>/dev/null)
verdict "cleanup/half-way (unknown symbol)" $rc 1

# a fetch argument the kernel refuses, after good probes
script halfarg "ready(\"$TMP/ready\")
kp.kprobe(\"do_sys_openat2\", { x = \"%nosuchreg\" }, function() end)"
rm -f "$TMP/ready"
timeout 120 "$KPSCRIPT" "$TMP/halfarg.lua" >"$TMP/out" 2>"$TMP/err"
rc=$?
kpid=$(cut -d' ' -f1 "$TMP/ready" 2>/dev/null)
verdict "cleanup/half-way (kernel refuses the fetch arg)" $rc 1
check "cleanup/half-way: the kernel's error_log text is shown ($(head -c 200 "$TMP/err" | tr '\n' ' '))" grep -q 'nosuchreg' "$TMP/err"

# SIGKILL: the group stays; the next start sweeps it
script kill "kp.every(50, function() ready(\"$TMP/ready\") end)
kp.run()"
start kill "$TMP/kill.lua"
if wait_ready "$TMP/ready"; then
	kill -KILL $kpid
	wait $kpid 2>/dev/null
	nleft=$(leftovers "$kpid" | wc -l)
	check "cleanup/SIGKILL: the killed run's kprobes are still registered ($nleft events)" [ "$nleft" -eq 3 ]
	timeout 120 "$KPSCRIPT" -e 'local x = 1' >"$TMP/out" 2>"$TMP/err"
	rc=$?
	check "cleanup/sweep: the next run exits 0 (got $rc)" [ "$rc" -eq 0 ]
	msg=$(grep 'left by killed kpscript runs' "$TMP/err")
	n=$(printf '%s\n' "$msg" | sed -n 's/.*removed \([0-9][0-9]*\) probes\{0,1\}\((s)\)\{0,1\} left by killed kpscript runs.*/\1/p')
	check "cleanup/sweep: stderr says 'removed $nleft probe(s) left by killed kpscript runs' (got: ${msg:-nothing})" \
		[ "${n:-0}" -eq "$nleft" ]
	check "cleanup/sweep: the killed run's group is gone from kprobe_events" not grep -q "kpscript_$kpid/" "$TRACEFS/kprobe_events"
	timeout 120 "$KPSCRIPT" -e 'local x = 1' >"$TMP/out" 2>"$TMP/err"
	check "cleanup/sweep: a second run finds nothing to sweep" not grep -q 'left by killed' "$TMP/err"
else
	notok "cleanup/SIGKILL: the script never got ready"
	diag "$TMP/err"
	kill -KILL $kpid 2>/dev/null
	wait $kpid 2>/dev/null
fi
check "cleanup: kprobe_events holds nothing of kpscript at the end" not grep -q kpscript_ "$TRACEFS/kprobe_events"
