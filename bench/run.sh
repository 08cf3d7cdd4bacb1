#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/run.sh: the pipeline benchmark. A benchmark, not a test: it asserts
# nothing about timing, it prints figures.
#
#   bench/run.sh [-r RUNS] [-d SECS] [-s REPS] [-T N] [-k "KINDS"] [-w SECS] [-o DIR] [-B]
#
#   -r RUNS   throughput runs per reader kind (default 5)
#   -d SECS   generator duration per run (default 5)
#   -s REPS   repetitions of each start-time measurement (default 10; 0: skip)
#   -T N      also time the first event with N idle threads parked on the
#             machine (build/bench/threads; default 4000, 0: skip)
#   -k KINDS  reader kinds, of: plain kpscript bt_printf bt_count plain_burn,
#             and for the open benchmark gen_open tp_open bpf_open bt_open
#             (default: the first five)
#   -o DIR    raw logs and summary.md (default build/bench/run-DATE)
#   -w SECS   before each run, wait up to SECS for the machine to be idle
#             (under 10% of one CPU busy over 1 s; default 0: do not wait)
#   -B        do not (re)build anything, use the binaries as they are
#
# Throughput: each run runs, in a rotating order, the generator alone
# (untraced) and then each reader kind; every reader is pinned to CPU 1
# (taskset -c 1) and starts the generator itself, pinned to CPU 0, once its
# probes are live (-c), and stops when the generator exits after SECS:
#   plain      taskset -c 1 build/bench/reader -c "exec build/bench/gen -c 0 SECS"
#   kpscript   taskset -c 1 build/kpscript -c "exec build/bench/gen -c 0 SECS" bench/getppid.lua
#   bt_printf  taskset -c 1 bpftrace -o LOG -c "build/bench/gen -c 0 SECS" -e BT_PRINTF
#   bt_count   taskset -c 1 bpftrace -c "build/bench/gen -c 0 SECS" -e BT_COUNT
#   plain_burn as plain, with -b 300: the reader burns 300 ns of CPU per
#              sample (about kpscript's per-event cost), a control that tells
#              the effect of the reader's CPU use on the generator apart from
#              kpscript's own behaviour
# The open benchmark (issue 16): the generator calls openat() of a path
# that does not exist (gen -o OPEN_PATH) instead of getppid():
#   gen_open   the generator alone
#   tp_open    kpscript, sys_enter_openat without arguments (bench/open.lua plain)
#   bpf_open   kpscript, sys_enter_openat with path = "+0($filename):ustring"
#              read by the BPF backend (bench/open.lua bpf)
#   bt_open    bpftrace printf of pid and str(args->filename)
# under /usr/bin/time -v (peak RSS, CPU time). Medians over the runs.
#
# Start time: REPS times each of the commands in the "start" section below,
# wall time from exec to exit and, where the reader reports it, from exec to
# the delivery of the first event.
set -u

RUNS=5 DUR=5 REPS=10 BUILD=1 THREADS=4000 WAIT=0
KINDS="plain kpscript bt_printf bt_count plain_burn"
OUT=""
while getopts "r:d:s:k:o:T:w:Bh" opt; do
	case $opt in
	r) RUNS=$OPTARG ;;
	d) DUR=$OPTARG ;;
	s) REPS=$OPTARG ;;
	k) KINDS=$OPTARG ;;
	o) OUT=$OPTARG ;;
	T) THREADS=$OPTARG ;;
	w) WAIT=$OPTARG ;;
	B) BUILD=0 ;;
	*) sed -n '4,/^set -u/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
OUT=${OUT:-build/bench/run-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
TP=syscalls:sys_enter_getppid
BT_PRINTF='tracepoint:syscalls:sys_enter_getppid /comm == "gen"/ { printf("%d %d\n", pid, args->__syscall_nr); }'
BT_COUNT='tracepoint:syscalls:sys_enter_getppid /comm == "gen"/ { @ = count(); }'
OPEN_PATH=/nonexistent/kpbench/a/path/of/some/length
BT_OPEN='tracepoint:syscalls:sys_enter_openat /comm == "gen"/ { printf("%d %s\n", pid, str(args->filename)); }'

say() { printf '%s\n' "$*" >&2; }

PARKED=""
stop_parked() {
	if [ -n "$PARKED" ]; then
		kill "$PARKED" 2>/dev/null
		wait "$PARKED" 2>/dev/null
		PARKED=""
	fi
}
trap 'stop_parked' EXIT
trap 'stop_parked; exit 130' INT TERM

if [ "$(id -u)" != 0 ]; then
	say "run.sh: needs root (perf_event_open on tracepoints, bpftrace)"
	exit 1
fi
if [ ! -x /usr/bin/time ]; then
	say "run.sh: installing GNU time (/usr/bin/time -v)"
	apt-get install -y time >/dev/null 2>&1 || { say "run.sh: no /usr/bin/time"; exit 1; }
fi
if ! command -v bpftrace >/dev/null; then
	say "run.sh: bpftrace missing, installing it"
	apt-get install -y bpftrace >/dev/null 2>&1 ||
		{ say "run.sh: no bpftrace: skipping bt_* kinds"; KINDS=${KINDS//bt_printf/}; KINDS=${KINDS//bt_count/}; KINDS=${KINDS//bt_open/}; }
fi
if [ "$BUILD" = 1 ]; then
	make -s build/bench/gen build/bench/reader build/bench/threads || exit 1
	# others may be mid-edit: retry, then fall back to the binary there is
	for i in 1 2 3; do
		make -s build/kpscript && break
		say "run.sh: make build/kpscript failed (attempt $i), retrying in 60 s"
		sleep 60
	done
fi
for b in build/bench/gen build/bench/reader build/bench/threads build/kpscript; do
	[ -x "$b" ] || { say "run.sh: $b is missing (make $b)"; exit 1; }
done

# ---- helpers -------------------------------------------------------------

# median of the numbers on stdin ("-" when none)
median() {
	sort -g | awk '{ a[NR] = $1 } END {
		if (!NR) { print "-"; exit }
		if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
minmax() {
	sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%s-%s", lo, hi; else print "-" }'
}
# field N (1-based) of the lines of a TSV whose first column is $2
col() { awk -F'\t' -v k="$2" -v c="$3" '$1 == k && $c != "-" { print $c }' "$1"; }

# ms between an EPOCHREALTIME value and a CLOCK_REALTIME ns value
ms_since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b / 1e6) - a * 1000 }'; }
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) * 1000 }'; }

kv() { # kv FILE FIRST-WORD KEY: the word after KEY on the first line starting with FIRST-WORD
	awk -v w="$2" -v k="$3" '$1 == w { for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' "$1"
}

# CPU seconds spent by the whole machine (all CPUs, not idle) so far
busy_s() {
	awk -v hz="$(getconf CLK_TCK)" '/^cpu / { print ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat
}
# wait up to $WAIT s for a second in which the machine is under 10% busy
wait_idle() {
	local t=0 a b
	while [ "$t" -lt "$WAIT" ]; do
		a=$(busy_s)
		sleep 1
		b=$(busy_s)
		awk -v a="$a" -v b="$b" 'BEGIN { exit !(b - a < 0.10) }' && return
		t=$((t + 1))
	done
}

# Every process run.sh starts is waited for; this only reports what is
# left on the machine (possibly someone else's) so that it can be checked.
leftovers() {
	local dyn
	dyn=$(grep -c . /sys/kernel/tracing/dynamic_events 2>/dev/null || true)
	if pgrep -x kpscript >/dev/null || pgrep -x bpftrace >/dev/null; then
		say "run.sh: note: kpscript or bpftrace processes are running (run.sh's own have exited):"
		pgrep -a -x kpscript >&2
		pgrep -a -x bpftrace >&2
	fi
	if [ "${dyn:-0}" != 0 ]; then
		say "run.sh: note: /sys/kernel/tracing/dynamic_events is not empty:"
		cat /sys/kernel/tracing/dynamic_events >&2
	fi
}

# ---- throughput ----------------------------------------------------------

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
RES=$OUT/runs.tsv
printf 'kind\trun\tevents_s\tlost\tgen_calls_s\trss_kb\treader_cpu_pct\tfirst_ms\tdelivered\tcalls\tsecs\treader_ns_per_event\tother_cpu_pct\n' >"$RES"

run_one() { # run_one KIND RUN
	local k=$1 r=$2 log=$OUT/$1.$2 gcmd="exec build/bench/gen -c 0 $DUR" t0
	local ocmd="exec build/bench/gen -c 0 -o $OPEN_PATH $DUR"
	local calls secs rate gu gs tu ts rss delivered lost cpu first fms evs nspe=- b0 b1 other

	[ "$WAIT" -gt 0 ] && wait_idle
	b0=$(busy_s)
	t0=$EPOCHREALTIME
	case $k in
	gen)
		/usr/bin/time -v -o "$log.time" taskset -c 0 build/bench/gen -c 0 "$DUR" \
			>"$log.out" 2>"$log.err" ;;
	plain)
		/usr/bin/time -v -o "$log.time" taskset -c 1 build/bench/reader -c "$gcmd" \
			>"$log.out" 2>"$log.err" ;;
	plain_burn)
		/usr/bin/time -v -o "$log.time" taskset -c 1 build/bench/reader -b 300 -c "$gcmd" \
			>"$log.out" 2>"$log.err" ;;
	kpscript)
		/usr/bin/time -v -o "$log.time" taskset -c 1 build/kpscript -c "$gcmd" \
			bench/getppid.lua >"$log.out" 2>"$log.err" ;;
	bt_printf)
		/usr/bin/time -v -o "$log.time" taskset -c 1 bpftrace -o "$log.bt" \
			-c "build/bench/gen -c 0 $DUR" -e "$BT_PRINTF" >"$log.out" 2>"$log.err" ;;
	bt_count)
		/usr/bin/time -v -o "$log.time" taskset -c 1 bpftrace \
			-c "build/bench/gen -c 0 $DUR" -e "$BT_COUNT" >"$log.out" 2>"$log.err" ;;
	gen_open)
		/usr/bin/time -v -o "$log.time" taskset -c 0 build/bench/gen -c 0 -o "$OPEN_PATH" \
			"$DUR" >"$log.out" 2>"$log.err" ;;
	tp_open | bpf_open)
		/usr/bin/time -v -o "$log.time" taskset -c 1 build/kpscript -c "$ocmd" \
			bench/open.lua "${k%_open}" >"$log.out" 2>"$log.err" ;;
	bt_open)
		/usr/bin/time -v -o "$log.time" taskset -c 1 bpftrace -o "$log.bt" \
			-c "build/bench/gen -c 0 -o $OPEN_PATH $DUR" -e "$BT_OPEN" >"$log.out" 2>"$log.err" ;;
	esac
	b1=$(busy_s)
	calls=$(kv "$log.out" calls calls) secs=$(kv "$log.out" calls secs) rate=$(kv "$log.out" calls rate)
	gu=$(kv "$log.out" gen_rusage user) gs=$(kv "$log.out" gen_rusage sys)
	tu=$(sed -n 's/.*User time (seconds): //p' "$log.time")
	ts=$(sed -n 's/.*System time (seconds): //p' "$log.time")
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log.time")
	first=$(kv "$log.out" first_delivery_realtime_ns first_delivery_realtime_ns)
	delivered=- lost=- cpu=- fms=-
	case $k in
	plain | kpscript | plain_burn | tp_open | bpf_open)
		delivered=$(kv "$log.out" delivered delivered)
		lost=$(kv "$log.out" delivered lost) ;;
	bt_printf | bt_open)
		delivered=$(grep -cE '^[0-9]+ [0-9/a-z]+$' "$log.bt")
		lost=$(cat "$log.bt" "$log.out" "$log.err" |
			sed -n 's/.*Lost \([0-9]*\) events.*/\1/p' | awk '{ s += $1 } END { print s + 0 }') ;;
	bt_count)
		delivered=$(sed -n 's/^@: \([0-9]*\)$/\1/p' "$log.out")
		lost=0 ;;
	gen | gen_open)
		rss=- ;;
	esac
	if [ -z "$calls" ] || [ -z "$delivered" ]; then
		say "run.sh: $k run $r: no result, see $log.*"
		tail -5 "$log.err" >&2
		return
	fi
	# the reader's CPU time: /usr/bin/time's (reader + the generator it
	# waited for) minus what the generator reports for itself
	if [ "$k" != gen ] && [ "$k" != gen_open ]; then
		cpu=$(awk -v a="$tu" -v b="$ts" -v c="$gu" -v d="$gs" -v s="$secs" \
			'BEGIN { v = (a + b - c - d) / s * 100; printf "%.1f", v < 0 ? 0 : v }')
		nspe=$(awk -v a="$tu" -v b="$ts" -v c="$gu" -v d="$gs" -v n="$delivered" \
			'BEGIN { v = (n > 0) ? (a + b - c - d) / n * 1e9 : 0; printf "%.0f", v < 0 ? 0 : v }')
	fi
	[ -n "$first" ] && fms=$(ms_since "$t0" "$first")
	# what the rest of the machine used meanwhile (noise), % of one CPU
	other=$(awk -v a="$b0" -v b="$b1" -v u="$tu" -v s="$ts" -v d="$secs" \
		'BEGIN { o = (b - a - u - s) / d * 100; printf "%.1f", o < 0 ? 0 : o }')
	evs=-
	[ "$delivered" != - ] && evs=$(awk -v n="$delivered" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$k" "$r" "$evs" "$lost" \
		"$rate" "$rss" "$cpu" "$fms" "$delivered" "$calls" "$secs" "$nspe" "$other" >>"$RES"
	say "  run $r $k: events/s $evs lost $lost gen calls/s $rate rss ${rss}kB" \
		"reader cpu $cpu% ($nspe ns/event) first ${fms}ms; other load $other%"
}

read -r -a kinds <<<"gen $KINDS"
n=${#kinds[@]}
if [ "$RUNS" -gt 0 ]; then
	say "throughput: $RUNS runs of ${DUR}s: ${kinds[*]} (logs in $OUT)"
fi
for ((r = 1; r <= RUNS; r++)); do
	for ((i = 0; i < n; i++)); do
		run_one "${kinds[(i + r - 1) % n]}" "$r"
	done
done

# ---- start time ----------------------------------------------------------

START=$OUT/start.tsv
printf 'what\trep\twall_ms\tfirst_ms\n' >"$START"

start_one() { # start_one NAME REP FIRST-MODE COMMAND...
	local name=$1 rep=$2 mode=$3 log=$OUT/start.$1.$2 t0 t1 first fms=-
	shift 3
	t0=$EPOCHREALTIME
	if [ "$mode" = pipe ]; then
		# bpftrace flushes each printf: stamp its lines as they arrive
		"$@" 2>"$log.err" | while IFS= read -r line; do
			printf '%s %s\n' "$EPOCHREALTIME" "$line"
		done >"$log.out"
	else
		"$@" >"$log.out" 2>"$log.err"
	fi
	t1=$EPOCHREALTIME
	case $mode in
	ns)
		first=$(kv "$log.out" first_event_realtime_ns first_event_realtime_ns)
		[ -n "$first" ] && fms=$(ms_since "$t0" "$first") ;;
	pipe)
		first=$(awk '$2 == "ev" { print $1; exit }' "$log.out")
		[ -n "$first" ] && fms=$(ms_between "$t0" "$first") ;;
	esac
	printf '%s\t%s\t%s\t%s\n' "$name" "$rep" "$(ms_between "$t0" "$t1")" "$fms" >>"$START"
}

BT_FIRST='tracepoint:syscalls:sys_enter_getppid /comm == "gen"/ { printf("ev %d %d\n", pid, args->__syscall_nr); exit(); }'
KP_TP='kp.tracepoint("syscalls:sys_enter_getppid", function(e) end)'
if [ "$REPS" -gt 0 ]; then
	say "start time: $REPS repetitions each"
	for ((i = 1; i <= REPS; i++)); do
		start_one kp_empty "$i" - build/kpscript -e ''
		start_one kp_tp_d "$i" - build/kpscript -d 0.001 -e "$KP_TP"
		start_one kp_first "$i" ns build/kpscript -c 'exec build/bench/gen -n 1' bench/first_event.lua
		start_one plain_tp_d "$i" - build/bench/reader -C -1 -d 0.001
		start_one plain_first "$i" ns build/bench/reader -C -1 -1 -c 'exec build/bench/gen -n 1'
		case " $KINDS " in
		*" bt_"*)
			start_one bt_empty "$i" - bpftrace -e 'BEGIN { exit(); }'
			start_one bt_tp_d "$i" - bpftrace -e "tracepoint:$TP { } interval:ms:1 { exit(); }"
			start_one bt_first "$i" pipe bpftrace -c 'build/bench/gen -n 1' -e "$BT_FIRST" ;;
		esac
	done
	if [ "$THREADS" -gt 0 ]; then
		say "start time with $THREADS idle threads parked"
		coproc PARK { exec build/bench/threads "$THREADS" 600; }
		PARKED=$PARK_PID
		read -r _ parked <&"${PARK[0]}"
		say "  $parked threads up"
		for ((i = 1; i <= REPS; i++)); do
			start_one kp_first_threads "$i" ns build/kpscript -c 'exec build/bench/gen -n 1' \
				bench/first_event.lua
			start_one plain_first_threads "$i" ns build/bench/reader -C -1 -1 \
				-c 'exec build/bench/gen -n 1'
		done
		stop_parked
	fi
fi

# ---- summary -------------------------------------------------------------

SUM=$OUT/summary.md
{
	echo "# pipeline benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs"
	echo
	echo "load average (1/5/15 min) at start $LOAD0, at end $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "(other work on the machine shows as noise: the figures assume it is idle)"
	echo
	echo "runs $RUNS x ${DUR}s; generator on CPU 0, reader on CPU 1; medians (min-max)"
	echo
	echo "| reader | events/s delivered | lost | generator calls/s | peak RSS | reader CPU (ns/event) | exec to 1st delivery | other load |"
	echo "|---|---|---|---|---|---|---|---|"
	for k in gen $KINDS; do
		[ -n "$(col "$RES" "$k" 3)" ] || [ -n "$(col "$RES" "$k" 5)" ] || continue
		ev=$(col "$RES" "$k" 3 | median) evr=$(col "$RES" "$k" 3 | minmax)
		lo=$(col "$RES" "$k" 4 | median) lor=$(col "$RES" "$k" 4 | minmax)
		gr=$(col "$RES" "$k" 5 | median) grr=$(col "$RES" "$k" 5 | minmax)
		rs=$(col "$RES" "$k" 6 | median)
		cp=$(col "$RES" "$k" 7 | median)
		ns=$(col "$RES" "$k" 12 | median)
		ot=$(col "$RES" "$k" 13 | minmax)
		fm=$(col "$RES" "$k" 8 | median)
		label=$k
		[ "$k" = gen ] && label="(none: generator alone)"
		[ "$k" = plain_burn ] && label="plain_burn (control: plain -b 300)"
		printf '| %s | %s (%s) | %s (%s) | %s (%s) | %s | %s | %s | %s%% |\n' "$label" \
			"$ev" "$evr" "$lo" "$lor" "$gr" "$grr" \
			"$([ "$rs" = - ] && echo - || echo "$((${rs%.*} / 1024)) MiB ($rs kB)")" \
			"$([ "$cp" = - ] && echo - || echo "$cp% ($ns)")" \
			"$([ "$fm" = - ] && echo - || echo "$fm ms")" "$ot"
	done
	if grep -q $'^plain\t' "$RES" && grep -q $'^kpscript\t' "$RES"; then
		pe=$(col "$RES" plain 3 | median) ke=$(col "$RES" kpscript 3 | median)
		echo
		awk -v k="$ke" -v p="$pe" 'BEGIN { printf "kpscript / plain events/s (medians): %.1f%%\n", 100 * k / p }'
		echo
		echo "per run (same run index = back to back):"
		echo
		echo "| run | plain events/s | kpscript events/s | ratio | plain_burn events/s | ratio to plain |"
		echo "|---|---|---|---|---|---|"
		for ((r = 1; r <= RUNS; r++)); do
			awk -F'\t' -v r="$r" '$2 == r && $1 == "plain" { p = $3 } $2 == r && $1 == "kpscript" { k = $3 }
				$2 == r && $1 == "plain_burn" { b = $3 }
				END { if (p && k) printf "| %d | %s | %s | %.1f%% | %s | %s |\n", r, p, k, 100 * k / p,
					b ? b : "-", b ? sprintf("%.1f%%", 100 * b / p) : "-" }' "$RES"
		done
		if grep -q $'^plain_burn\t' "$RES"; then
			be=$(col "$RES" plain_burn 3 | median)
			echo
			awk -v b="$be" -v p="$pe" 'BEGIN { printf "plain_burn / plain events/s (medians): %.1f%%\n", 100 * b / p }'
		fi
	fi
	if [ "$REPS" -gt 0 ]; then
		echo
		echo "start time, $REPS repetitions: median (min-max) ms"
		echo
		echo "| command | wall, exec to exit | exec to first event delivered |"
		echo "|---|---|---|"
		for w in kp_empty kp_tp_d kp_first plain_tp_d plain_first bt_empty bt_tp_d bt_first \
			kp_first_threads plain_first_threads; do
			[ -n "$(col "$START" "$w" 3)" ] || continue
			fw=$(col "$START" "$w" 4 | median)
			label=$w
			[ "${w%_threads}" != "$w" ] && label="$w ($THREADS idle threads parked)"
			printf '| %s | %s (%s) | %s |\n' "$label" "$(col "$START" "$w" 3 | median)" \
				"$(col "$START" "$w" 3 | minmax)" \
				"$([ "$fw" = - ] && echo - || echo "$fw ($(col "$START" "$w" 4 | minmax))")"
		done
	fi
} >"$SUM"
cat "$SUM"
leftovers
