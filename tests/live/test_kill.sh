#!/bin/sh
# Kill tests: kpscript killed at random moments while it attaches its
# probes, while it runs and while it detaches them.
#
#   - SIGKILL, 50 runs: a killed run cannot clean up, so whatever it had
#     registered stays in tracefs as group kpscript_PID; the next kpscript
#     start must sweep it: after that start nothing of the run remains in
#     dynamic_events, uprobe_events or events/, and the start said
#     "removed N probes left by killed kpscript runs" with N at least what
#     was left.
#   - SIGTERM and SIGINT at random moments (before any probe exists, half-way
#     through attaching, while running, and a second signal while the first
#     one's detach is under way): the run itself removes everything, so
#     nothing at all is left the moment it has exited, with no sweep.
#
# The script declares 6 uprobes (entry and return of 3 uprobe_target
# functions) and 2 tracepoints, and a loop keeps running uprobe_target
# so the uprobes fire (and kpscript must patch live processes) meanwhile.
# After every declaration the script appends "STATE WALLNS PID N PEND" to
# a progress file: N = dynamic events of group kpscript_PID at that moment,
# PEND the signals (INT, TERM) waiting for kpscript, or "-" (STATE: start,
# attach, attached, then running from the first timer tick inside
# kp.run()). That proves, for every run, what it had registered
# before the kill, so no "nothing left" can pass vacuously: a kill during
# attach must leave at least the N of its last progress line, a kill while
# running all 6, and the summary checks that kills did land half-way
# through attaching and half-way through detaching (a SIGTERM or SIGINT
# during attach is seen pending in a progress line written after a
# declaration, and not in the start line).
#
# Where the kills land: two calibration runs measure, on this machine, the
# time from the launch to the script's start line, from there to the last
# declaration, and from a SIGTERM to the exit (closing the perf events of
# one uprobe takes the kernel ~90 ms, one uprobe after the other even
# across processes, so detaching 6 takes about half a second, killed or
# not; that cost, paid by every run, is why there are not more uprobes).
# Each kill is aimed at one phase: attach (a delay from the start line,
# which the test spins on), run (from the first tick), detach (from a
# SIGTERM), and for signals also early (from the launch, before the script
# runs); the delays are drawn from /dev/urandom, uniformly inside those
# windows, and the progress lines and what is left say where each kill
# really landed.
# Only the exit of a hung run is bounded (30 s): nothing here asserts on
# timing.
#
# The killed runs are counted while they are zombies: their parent (a
# holder subshell) reaps them only after the count, and no kpscript sweeps
# the group of a pid that still exists. Once reaped, any kpscript start
# may sweep it, so another test suite's kpscript starting in the few ms
# before this test's next start can take the sweep (and its message) away;
# that shows as a run whose next start reported less than was left, and up
# to a tenth of the runs may show it. What is left after the next start
# must be nothing, always.
#
# kpscript is started through `env --default-signal=INT,QUIT` where env
# has it: sh starts background commands with SIGINT ignored, and an ignored
# SIGINT that arrives before kpscript blocks it would just vanish.
#
# VERBOSE=1 prints one line per run.
. tests/live/lib.sh
need_live kill

T=$PROGS/uprobe_target
need_prog kill "$T"
NKILL=${NKILL:-50}
FULL=6 # dynamic events the script registers

LAUNCH=
env --default-signal=INT,QUIT true 2>/dev/null && LAUNCH="env --default-signal=INT,QUIT"

loadpid=
kpid=
holder=
# on the way out, a run still going gets the chance to clean up
cleanup() {
	[ -n "$loadpid" ] && kill "$loadpid" 2>/dev/null
	if [ -n "$kpid" ] && kill -TERM "$kpid" 2>/dev/null; then
		sleep 1
		kill -KILL "$kpid" 2>/dev/null
	fi
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# rnd MAX: a uniform random integer in 0..MAX-1 (MAX >= 1)
rnd() { echo $(($(od -An -N4 -tu4 /dev/urandom | tr -d ' \n') % $1)); }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
sleep_ms() { [ "$1" -gt 0 ] && sleep "$(($1 / 1000)).$(printf %03d $(($1 % 1000)))"; }
# residue PID: what of group kpscript_PID is in tracefs (empty: nothing)
residue() {
	grep -H "kpscript_$1/" "$TRACEFS/dynamic_events" "$TRACEFS/uprobe_events" 2>/dev/null
	if [ -f "$TRACEFS/kprobe_events" ]; then
		grep -H "kpscript_$1/" "$TRACEFS/kprobe_events"
	fi
	if [ -e "$TRACEFS/events/kpscript_$1" ]; then
		echo "$TRACEFS/events/kpscript_$1"
	fi
	return 0
}
# sanitizer FILE: a sanitizer's report in FILE
sanitizer() { grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$1"; }

{
	lua_registered
	cat <<'EOF'
local progress_path, T = arg[1], arg[2]
-- the signals waiting for kpscript (blocked until kp.run() reads them)
local function pending()
  local f = assert(io.open("/proc/self/status"))
  local st = f:read("*a")
  f:close()
  local m = tonumber(st:match("ShdPnd:%s*%x*(%x%x%x%x)\n"), 16)
  local p = {}
  if bit.band(m, 2) ~= 0 then p[#p + 1] = "INT" end
  if bit.band(m, 0x4000) ~= 0 then p[#p + 1] = "TERM" end
  return #p > 0 and table.concat(p, "+") or "-"
end
local function progress(state)
  local pid, n = registered()
  local s, ns = kp.walltime()
  local f = assert(io.open(progress_path, "a"))
  f:write(string.format("%s %d%09d %d %d %s\n", state, s, ns, pid, n, pending()))
  f:close()
end
progress("start")
local hits = 0
local function count() hits = hits + 1 end
-- the first declaration also sets kpscript's run up (perf side-band
-- events, the comm table from /proc): 20 to 60 ms; the others take a few
local decl = {
  { "u", "kp_target_int" }, { "r", "kp_target_int" }, { "u", "kp_target_str" },
  { "t", "sched:sched_process_exec" },
  { "r", "kp_target_str" }, { "u", "kp_target_leaf" }, { "r", "kp_target_leaf" },
}
for _, d in ipairs(decl) do
  if d[1] == "u" then
    kp.uprobe(T .. ":" .. d[2], { a = "%di:s32" }, count)
  elseif d[1] == "r" then
    kp.uretprobe(T .. ":" .. d[2], { r = "$retval:s64" }, count)
  else
    kp.tracepoint(d[2], count)
  end
  progress("attach")
  -- 15 ms between declarations: a window wide enough that kills aimed
  -- at the attach phase land in it (one declaration takes a few ms, less
  -- than the shell needs to launch the kill)
  local t = kp.clock() + 15e6
  while kp.clock() < t do end
end
kp.tracepoint("syscalls:sys_enter_getppid", count)
progress("attached")
local first = true
kp.every(5, function()
  if first then first = false progress("running") end
end)
kp.run()
EOF
} >"$TMP/kill.lua"

# start TAG: launch kpscript on the script in the background; sets kpid,
# t0 (launch time, ms) and the run's files $TMP/TAG.{prog,out,err}.
# A holder subshell is kpscript's parent and does not reap it until
# release: a dead kpscript stays a zombie meanwhile, and the sweep of any
# kpscript start (another test's too) leaves a zombie's group alone, so
# what a run left can be counted without a race.
start() {
	tag=$1
	rm -f "$TMP/$tag.prog" "$TMP/$tag.pid" "$TMP/$tag.rc"
	mkfifo "$TMP/$tag.hold"
	t0=$(now_ms)
	(
		$LAUNCH "$KPSCRIPT" "$TMP/kill.lua" "$TMP/$tag.prog" "$T" >"$TMP/$tag.out" 2>"$TMP/$tag.err" &
		echo $! >"$TMP/$tag.pid"
		# only builtins from here to the wait: dash reaps children
		# whenever it runs a command
		read -r _ <"$TMP/$tag.hold"
		wait $!
		echo $? >"$TMP/$tag.rc"
	) &
	holder=$!
	while [ ! -s "$TMP/$tag.pid" ]; do :; done
	read -r kpid <"$TMP/$tag.pid"
}
# wait_start FILE: spin (no command, so no time lost to a fork) until the
# script wrote its start line to progress FILE, or about 10 s passed
wait_start() {
	_st=0
	while [ ! -s "$1" ] && [ $_st -lt 10000000 ]; do
		_st=$((_st + 1))
	done
}
# wait_state STATE FILE: wait (at most 30 s) for a line STATE in FILE
wait_state() {
	_ws_i=0
	while ! grep -q "^$1 " "$2" 2>/dev/null; do
		[ $_ws_i -ge 3000 ] && return 1
		# the run may have died: then it never comes
		alive || return 1
		sleep 0.01
		_ws_i=$((_ws_i + 1))
	done
}
# reap: wait until $kpid has exited (at most 30 s, then SIGKILL it), count
# what its group has in tracefs while it is a zombie, then release it.
# Sets rc, hung, left (dynamic events of the group), res (residue).
reap() {
	_rp_i=0
	hung=no
	while alive; do
		if [ $_rp_i -eq 3000 ]; then
			hung=yes
			kill -KILL "$kpid"
		fi
		sleep 0.01
		_rp_i=$((_rp_i + 1))
	done
	left=$(grep -c "kpscript_$kpid/" "$TRACEFS/dynamic_events")
	res=$(residue "$kpid")
	echo go >"$TMP/$tag.hold"
	wait "$holder"
	rm -f "$TMP/$tag.hold"
	read -r rc <"$TMP/$tag.rc"
	kpid='' holder=''
}
# last FIELD FILE: field FIELD (1 state, 2 wall ns, 3 pid, 4 n) of progress FILE's last line
last() { tail -n 1 "$2" 2>/dev/null | cut -d' ' -f"$1"; }
# alive: $kpid is running (not gone, not a zombie)
alive() { [ -d "/proc/$kpid" ] && ! grep -q '^State:.*Z' "/proc/$kpid/status" 2>/dev/null; }
# int_ignored: $kpid ignores SIGINT (bit 1 of SigIgn)
int_ignored() {
	_ii=$(sed -n 's/^SigIgn:[[:space:]]*//p' "/proc/$kpid/status" 2>/dev/null)
	[ -n "$_ii" ] && [ $((0x$_ii & 2)) -ne 0 ]
}
# when STATE FILE: ms from the launch ($t0) to FILE's first STATE line
when() {
	w=$(grep "^$1 " "$2" | head -n 1 | cut -d' ' -f2)
	[ -n "$w" ] && echo $((w / 1000000 - t0))
}

# something for the probes to see: uprobe_target runs over and over (each
# one also an exec), so handlers run while kpscript is killed
(
	while :; do
		"$T" 50 >/dev/null
		sleep 0.02
	done
) &
loadpid=$!

# ---- calibration: two runs stopped by SIGTERM while running -----------------
t_first=0 t_att=0 t_stop=0
for c in 1 2; do
	start cal$c
	if ! wait_state running "$TMP/cal$c.prog"; then
		kill -KILL "$kpid" 2>/dev/null
		reap
		notok "kill/calibration $c: the run never got to run (status $rc): $(oneline "$TMP/cal$c.err")"
		exit 1
	fi
	ts=$(now_ms)
	kill -TERM "$kpid"
	pid=$kpid
	reap
	ts=$(($(now_ms) - ts))
	[ $ts -gt $t_stop ] && t_stop=$ts
	tf=$(when start "$TMP/cal$c.prog")
	ta=$(($(when attached "$TMP/cal$c.prog") - tf))
	# the earliest start line, the mean attach time of the two
	[ $c = 1 ] || [ "$tf" -lt "$t_first" ] && t_first=$tf
	t_att=$((t_att + ta / 2))
	n=$(grep '^attached ' "$TMP/cal$c.prog" | cut -d' ' -f4)
	check "kill/calibration $c: all $FULL dynamic events registered (got $n)" [ "$n" = $FULL ]
	check "kill/calibration $c: SIGTERM while running: exit 0 (got $rc)" [ "$rc" -eq 0 ]
	check "kill/calibration $c: nothing left after SIGTERM: $(printf '%s\n' "$res" | head -n 3 | tr '\n' ' ')" \
		[ -z "$res" ]
done
echo "# calibration (2 runs): the script starts $t_first ms after the launch or later, attaches in $t_att ms (mean); SIGTERM to exit: up to $t_stop ms"
# windows: early [0, t_first] from the launch, attach [0, t_att] from the
# start line, run [0, 100 or 200] from the first tick, detach [0, t_stop]
# from the SIGTERM

# ---- SIGKILL ---------------------------------------------------------------
killed=0 runs=0 graceful=0 fails=0 foreign=0 unreported=
mid_attach=0 all_running=0 mid_detach=0 early=0 swept_runs=0
i=0
while [ $killed -lt "$NKILL" ] && [ $runs -lt $((NKILL + 20)) ]; do
	i=$((i + 1))
	runs=$((runs + 1))
	phase=$(((i - 1) % 3))
	# the delay is drawn before the launch, so drawing it costs no time
	case $phase in
	0) d=$(rnd $((t_att + 1))) ;;
	1) d=$(rnd 100) ;;
	2) d=$(rnd $((t_stop + 1))) ;;
	esac
	start k$i
	termed=no
	case $phase in
	0) # attaching: the delay runs from the script's start line
		wait_start "$TMP/k$i.prog"
		sleep_ms "$d"
		phase=attach
		;;
	1) # running
		wait_state running "$TMP/k$i.prog"
		sleep_ms "$d"
		phase=run
		;;
	2) # detaching: SIGTERM starts the detach, SIGKILL lands inside it
		wait_state running "$TMP/k$i.prog"
		kill -TERM "$kpid"
		termed=yes
		sleep_ms "$d"
		phase=detach
		;;
	esac
	kill -KILL "$kpid" 2>/dev/null
	pid=$kpid
	reap
	krc=$rc
	state=$(last 1 "$TMP/k$i.prog")
	nprog=$(last 4 "$TMP/k$i.prog")
	ppid=$(last 3 "$TMP/k$i.prog")
	bad=
	if sanitizer "$TMP/k$i.err"; then
		bad="$bad; sanitizer report: $(oneline "$TMP/k$i.err")"
	fi
	if [ -n "$ppid" ] && [ "$ppid" != "$pid" ]; then
		bad="$bad; progress names pid $ppid, not $pid"
	fi
	if [ "$rc" -ne 137 ]; then
		# only a run already detaching may end before the SIGKILL
		if [ $termed = yes ] && [ "$rc" -eq 0 ]; then
			graceful=$((graceful + 1))
			[ -n "$res" ] && bad="$bad; exited (SIGTERM) before the SIGKILL but left: $(printf '%s\n' "$res" | head -n 2 | tr '\n' ' ')"
		else
			bad="$bad; exit status $rc, not 137 (SIGKILL)$([ $hung = yes ] && echo ', hung')"
		fi
	else
		killed=$((killed + 1))
		[ "$left" -gt $FULL ] && bad="$bad; $left events left, more than the $FULL declared"
		if [ $termed = no ]; then
			# nothing is removed before the detach: what the progress
			# proved registered must still be there, and 1 more at most
			if [ -n "$nprog" ] && { [ "$left" -lt "$nprog" ] || [ "$left" -gt $((nprog + 1)) ]; }; then
				bad="$bad; progress said $nprog registered ($state), $left left"
			fi
			if [ "$state" = running ] && [ "$left" -ne $FULL ]; then
				bad="$bad; killed while running but $left events left, not $FULL"
			fi
			case $state in
			running) all_running=$((all_running + 1)) ;;
			'' | start) early=$((early + 1)) ;;
			*) [ "$left" -gt 0 ] && [ "$left" -lt $FULL ] && mid_attach=$((mid_attach + 1)) ;;
			esac
		elif [ "$left" -lt $FULL ]; then
			mid_detach=$((mid_detach + 1))
		fi
		# the next start sweeps what is left. Once the run is reaped,
		# any kpscript start may sweep it: one of another test running at
		# the same time too, so the count is taken again just before.
		before=$(grep -c "kpscript_$pid/" "$TRACEFS/dynamic_events")
		kp -e 'local x = 1'
		msg=$(grep 'left by killed kpscript runs' "$TMP/err")
		n=$(printf '%s\n' "$msg" | sed -n 's/.*removed \([0-9][0-9]*\) probes\{0,1\} left by killed.*/\1/p')
		[ "$rc" -ne 0 ] && bad="$bad; the next start exited $rc: $(oneline "$TMP/err")"
		res=$(residue "$pid")
		[ -n "$res" ] && bad="$bad; after the next start still there: $(printf '%s\n' "$res" | head -n 3 | tr '\n' ' ')"
		if [ "$left" -gt 0 ]; then
			swept_runs=$((swept_runs + 1))
			if [ "$before" -lt "$left" ] || [ "${n:-0}" -lt "$left" ]; then
				foreign=$((foreign + 1))
				unreported="$unreported run $i ($left left, $before just before the next start, which said: ${msg:-nothing});"
			fi
		fi
	fi
	[ -n "${VERBOSE:-}" ] && echo "# run $i: $phase at ${d} ms, status $krc, last progress '${state:-none} ${nprog:-}', $left left, next start removed ${n:-0}"
	if [ -n "$bad" ]; then
		fails=$((fails + 1))
		notok "kill/SIGKILL run $i (pid $pid, $phase, ${d} ms):${bad#;}"
	fi
done
echo "# SIGKILL: $runs runs, $killed killed ($mid_attach half-way through attaching, $all_running while running, $mid_detach half-way through detaching, $early before the first probe), $graceful exited before the SIGKILL"
check "kill/SIGKILL: $NKILL runs killed ($killed in $runs)" [ $killed -ge "$NKILL" ]
check "kill/SIGKILL: every killed run's leftovers ($swept_runs runs left some) are gone after the next start ($fails runs failed)" \
	[ $fails -eq 0 ]
check "kill/SIGKILL: the next start said 'removed N probes left by killed kpscript runs', N >= what was left, after $((swept_runs - foreign)) of $swept_runs runs (others: a concurrent sweep?${unreported:- none})" \
	[ $((foreign * 10)) -le $swept_runs ]
check "kill/SIGKILL: some runs were killed half-way through attaching ($mid_attach)" [ $mid_attach -gt 0 ]
check "kill/SIGKILL: some runs were killed while running, with all $FULL events registered ($all_running)" [ $all_running -gt 0 ]
check "kill/SIGKILL: some runs were killed half-way through detaching ($mid_detach)" [ $mid_detach -gt 0 ]

# ---- SIGTERM and SIGINT ----------------------------------------------------
# plan: "SIG WINDOW" per run; WINDOW early = [0, t_first] from the launch,
# attach = [0, t_att] from the start line, run = [0, 200 ms] from the first
# tick, detach = a first signal (the other one) at the first tick, then SIG
# [0, t_stop] later
plan="TERM early
INT early
TERM attach
INT attach
TERM attach
INT attach
TERM attach
INT attach
TERM run
INT run
TERM run
INT run
TERM detach
INT detach
INT detach
TERM detach"
j=0
sfails=0 sreg=0 smid=0 sdet=0
printf '%s\n' "$plan" >"$TMP/plan"
while read -r sig win; do
	j=$((j + 1))
	# without env --default-signal an early SIGINT would be ignored
	[ -z "$LAUNCH" ] && [ "$win" = early ] && sig=TERM
	case $win in
	early) d=$(rnd $((t_first + 1))) ;;
	attach) d=$(rnd $((t_att + 1))) ;;
	run) d=$(rnd 200) ;;
	detach) d=$(rnd $((t_stop + 1))) ;;
	esac
	start s$j
	first=
	case $win in
	early)
		sleep_ms "$d"
		;;
	attach)
		wait_start "$TMP/s$j.prog"
		sleep_ms "$d"
		;;
	run)
		wait_state running "$TMP/s$j.prog"
		sleep_ms "$d"
		;;
	detach)
		wait_state running "$TMP/s$j.prog"
		first=INT
		[ "$sig" = INT ] && first=TERM
		kill -$first "$kpid"
		sleep_ms "$d"
		;;
	esac
	# until env has reset it, SIGINT is still ignored (a background job's):
	# one sent then would vanish, which no terminal's Ctrl-C does
	[ "$sig" = INT ] && while int_ignored; do :; done
	was_alive=no
	alive && was_alive=yes
	kill -"$sig" "$kpid" 2>/dev/null
	pid=$kpid
	reap
	state=$(last 1 "$TMP/s$j.prog")
	nprog=$(last 4 "$TMP/s$j.prog")
	bad=
	[ -n "$res" ] && bad="$bad; left behind: $(printf '%s\n' "$res" | head -n 3 | tr '\n' ' ')"
	[ $hung = yes ] && bad="$bad; did not exit within 30 s"
	sanitizer "$TMP/s$j.err" && bad="$bad; sanitizer report: $(oneline "$TMP/s$j.err")"
	case $rc in
	0 | 1) ;; # a clean stop; 1: the signal interrupted the main chunk (an error)
	130 | 143)
		# killed by the signal itself: only before kpscript blocked it,
		# so before the script wrote any progress
		[ -n "$state" ] && bad="$bad; died of SIG$sig (status $rc) after the script had started ($state)"
		;;
	*) bad="$bad; exit status $rc" ;;
	esac
	[ "$rc" -eq 1 ] && ! grep -q "interrupted by SIG\|SIG$sig" "$TMP/s$j.err" &&
		bad="$bad; status 1 without a word about the signal: $(oneline "$TMP/s$j.err")"
	[ "${nprog:-0}" -gt 0 ] && sreg=$((sreg + 1))
	# the first progress line that sees the signal pending is one written
	# after a declaration, and the start line did not see it: the signal
	# came while the probes were being attached
	awk -v s="$sig" '$5 ~ s { if ($1 ~ /^attach/ && NR > 1) m = 1; exit } END { exit !m }' \
		"$TMP/s$j.prog" 2>/dev/null && smid=$((smid + 1))
	[ "$win" = detach ] && [ $was_alive = yes ] && sdet=$((sdet + 1))
	[ -n "${VERBOSE:-}" ] && echo "# signal run $j: SIG$sig $win${first:+ (after SIG$first)} at $d ms, status $rc, last progress '${state:-none} ${nprog:-}'"
	if [ -n "$bad" ]; then
		sfails=$((sfails + 1))
		notok "kill/SIG$sig $win run $j (pid $pid, ${d} ms${first:+ after SIG$first}, last progress '${state:-none} ${nprog:-}'):${bad#;}"
	fi
done <"$TMP/plan"
echo "# SIGTERM/SIGINT: $j runs, $sreg had registered probes ($smid signalled while attaching, $sdet signalled again while detaching)"
check "kill/SIGTERM+SIGINT: none of $j runs signalled at random moments left anything, each exited cleanly ($sfails failed)" \
	[ $sfails -eq 0 ]
check "kill/SIGTERM+SIGINT: signals landed while the probes were being attached ($smid runs)" [ $smid -gt 0 ]
check "kill/SIGTERM+SIGINT: second signals landed while detaching ($sdet runs)" [ $sdet -gt 0 ]
