#!/bin/sh
# Command line: --version, -h, -l, --dry-run, script arguments, -d, -p, and
# scripts found by name next to the binary.
. tests/live/lib.sh
need_live cli

T=$PROGS/uprobe_target
need_prog cli "$T"
ABS=$(readlink -f "$T")
KPABS=$(readlink -f "$KPSCRIPT")

# --version: "kpscript X.Y.Z", the Makefile's VERSION
out=$("$KPSCRIPT" --version 2>&1)
rc=$?
want=$(sed -n 's/^VERSION *:= *//p' Makefile)
exits "cli/--version: exit 0" 0
check "cli/--version: prints 'kpscript $want' (got: $out)" [ "$out" = "kpscript $want" ]

# -h / --help: exit 0 and every option appears
"$KPSCRIPT" -h >"$TMP/help" 2>&1
rc=$?
exits "cli/-h: exit 0" 0
for o in "-e CODE" "-c CMD" "-p PID" "-d SECS" "--dry-run" "-l" "-h" "--help" "--version"; do
	check "cli/-h: mentions $o" grep -qF -- "$o" "$TMP/help"
done
"$KPSCRIPT" --help >"$TMP/help2" 2>&1
check "cli/--help: same text as -h" cmp -s "$TMP/help" "$TMP/help2"

# -l 'sched:*': exactly the sched tracepoints of available_events
"$KPSCRIPT" -l 'sched:*' >"$TMP/list" 2>"$TMP/err"
rc=$?
exits "cli/-l sched:*: exit 0" 0
grep '^sched:' "$TRACEFS/available_events" | sed 's/^/tracepoint:/' | sort >"$TMP/want"
sort "$TMP/list" >"$TMP/got"
check "cli/-l sched:*: lists exactly the $(wc -l <"$TMP/want") sched tracepoints as tracepoint:sched:NAME ($(wc -l <"$TMP/got") lines)" \
	cmp -s "$TMP/want" "$TMP/got"
check "cli/-l sched:*: includes tracepoint:sched:sched_process_exec" grep -qx 'tracepoint:sched:sched_process_exec' "$TMP/list"
"$KPSCRIPT" -l 'kp_nothing_matches_*' >"$TMP/list" 2>"$TMP/err"
rc=$?
exits "cli/-l with no match: exit 1" 1
check "cli/-l with no match: nothing listed" [ ! -s "$TMP/list" ]
check "cli/-l with no match: says so on stderr" grep -q 'kp_nothing_matches_' "$TMP/err"

# --dry-run: prints the definitions, creates nothing, runs no handler
{
	lua_registered
	cat <<EOF
local p = kp.uprobe("$T:kp_target_int", { a = "%di:s32", s = "+0(%cx):ustring" }, function() print("HANDLER RAN") end)
kp.uretprobe("$T:kp_target_int", { r = "\$retval:s32" }, function() print("HANDLER RAN") end)
kp.tracepoint("sched:sched_process_exec", function() print("HANDLER RAN") end)
local _, n = registered()
print("registered " .. n)
EOF
} >"$TMP/dry.lua"
kp_run --dry-run -c "$T 3" "$TMP/dry.lua"
exits "cli/--dry-run: exit 0" 0
check "cli/--dry-run: prints 'p:kpscript_$kpid/EVENT $ABS:0x... a=%di:s32 s=+0(%cx):ustring'" \
	grep -qE "^p:kpscript_$kpid/[A-Za-z0-9_]+ $ABS:0x[0-9a-f]+ a=%di:s32 s=\+0\(%cx\):ustring\$" "$TMP/out"
check "cli/--dry-run: prints 'r:kpscript_$kpid/EVENT $ABS:0x... r=\$retval:s32'" \
	grep -qE "^r:kpscript_$kpid/[A-Za-z0-9_]+ $ABS:0x[0-9a-f]+ r=\\\$retval:s32\$" "$TMP/out"
check "cli/--dry-run: nothing registered while the script ran" grep -qx 'registered 0' "$TMP/out"
check "cli/--dry-run: no handler ran" not grep -q 'HANDLER RAN' "$TMP/out"
none_left "cli/--dry-run"

# ARGS reach the script as arg[1..] and ...; arg[0] is the script
printf 'print("n", select("#", ...), ...)\nprint("arg", arg[0], #arg, arg[1], arg[2], arg[3])\n' >"$TMP/args.lua"
kp "$TMP/args.lua" one "two words" -d
tab=$(printf '\t')
exits "cli/args: exit 0" 0
check "cli/args: ... holds the 3 arguments, options after SCRIPT included" \
	grep -qx "n${tab}3${tab}one${tab}two words${tab}-d" "$TMP/out"
check "cli/args: arg[0] is the script, arg[1..3] the arguments" \
	grep -qx "arg${tab}$TMP/args.lua${tab}3${tab}one${tab}two words${tab}-d" "$TMP/out"
kp -e 'print("e", arg[0], ...)' x y
check "cli/args with -e: ... and arg[0] = '-e' (got: $(oneline "$TMP/out"))" grep -qx "e${tab}-e${tab}x${tab}y" "$TMP/out"

# -d 0.5: the run stops by itself, cleanly (timing is not asserted)
cat >"$TMP/dur.lua" <<'EOF'
kp.tracepoint("sched:sched_switch", function() end)
kp.run()
print("after run")
EOF
kp_run -d 0.5 "$TMP/dur.lua"
exits "cli/-d 0.5: exit 0" 0
check "cli/-d 0.5: code after kp.run() ran" grep -qx 'after run' "$TMP/out"
none_left "cli/-d 0.5"

# -p PID: only that process's events. Two uprobe_target processes, started
# first and blocked on fifos, make 3 (a) and 5 (b) calls with our unique
# string; the kernel filter on it keeps other runs of uprobe_target out, so
# with -p a, a's 3 calls are delivered and b's 5 are counted as filtered.
STR="kpcli$$"
launch a "$T" wait 3 "$STR"
launch b "$T" wait 5 "$STR"
wait_file "$TMP/pid_a" "$TMP/pid_b"
pa=$(cat "$TMP/pid_a" 2>/dev/null)
pb=$(cat "$TMP/pid_b" 2>/dev/null)
cat >"$TMP/pid.lua" <<'EOF'
local n, others = 0, 0
kp.uprobe(arg[1] .. ":kp_target_int", { s = "+0(%cx):ustring" }, { filter = 's == "' .. arg[2] .. '"' },
  function(e)
    if e.pid == tonumber(arg[3]) then n = n + 1 else others = others + 1 end
  end)
kp.run()
for _, s in pairs(kp.counters()) do
  print(string.format("mine %d others %d events %d filtered %d", n, others, s.events, s.filtered))
end
EOF
# b runs first, then a: -p also ends the run when its process exits
wait_cmd="$(release_cmd b 1000); $(release_cmd a 1000)"
kp_run -p "$pa" -c "$wait_cmd" "$TMP/pid.lua" "$T" "$STR" "$pa"
# never leave a target blocked
release a b
wait
exits "cli/-p: exit 0" 0
check "cli/-p: both targets ran (status $(cat "$TMP/rc_a" "$TMP/rc_b" 2>/dev/null | tr '\n' ' '))" \
	[ "$(cat "$TMP/rc_a" "$TMP/rc_b" 2>/dev/null | tr -d '\n')" = 00 ]
check "cli/-p $pa: its 3 calls delivered, none of $pb's 5 (got: $(oneline "$TMP/out"))" \
	grep -qx 'mine 3 others 0 events 3 filtered 5' "$TMP/out"
none_left "cli/-p"

# a script found by name next to the binary: scripts/ in the source tree
if [ ! -f scripts/exec_watch.lua ]; then
	skip "cli/script by name: scripts/exec_watch.lua does not exist yet"
else
	(cd "$TMP" && "$KPABS" -d 0.3 exec_watch.lua) >"$TMP/out" 2>"$TMP/err" &
	kpid=$!
	wait $kpid
	rc=$?
	check "cli/script by name: 'kpscript -d 0.3 exec_watch.lua' from another directory exits 0 (got $rc: $(head -n 1 "$TMP/err"))" \
		[ "$rc" -eq 0 ]
	check "cli/script by name: it ran (printed its header)" grep -q 'PID' "$TMP/out"
	check "cli/script by name: no 'cannot open'" not grep -q 'cannot open' "$TMP/err"
fi
kp kp_no_such_script_by_name.lua
exits "cli/script by name: an unknown name fails with exit 1" 1
check "cli/script by name: the error names it" grep -q 'kp_no_such_script_by_name.lua' "$TMP/err"

# kp.every alone (no probe) runs until -d ends it
kp -d 0.5 -e 'local n = 0 kp.every(50, function() n = n + 1 end) kp.run() print("ticks " .. n)'
ticks=$(val ticks)
check "cli/timers only: kp.every runs without any probe ($ticks ticks in 0.5 s)" cond '[ "${ticks:-0}" -ge 3 ]'
