#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/agg.sh: kpscript's aggregates (kp.count, kp.hist) against bpftrace's
# count() and hist() on the getppid generator. A benchmark, not a test: it
# asserts nothing about timing, it prints figures (and flags wrong counts).
#
#   bench/agg.sh [-r RUNS] [-d SECS] [-k "KINDS"] [-n OPS] [-m ROUNDS]
#                [-w SECS] [-K KPSCRIPT] [-G GEN] [-o DIR] [-H]
#
#   -r RUNS    throughput runs per kind (default 5; 0: skip)
#   -d SECS    generator duration per run (default 5)
#   -k KINDS   of: kp_none kp_count bt_count kp_hist bt_hist kp_count_big
#              (default: all but kp_count_big; "gen", the generator alone,
#              always runs)
#   -n OPS     iterations per operation in bench/agg_ops.lua (default 10000000)
#   -m ROUNDS  rounds of bench/agg_ops.lua (default 5; 0: skip)
#   -w SECS    before each run, wait up to SECS for the machine to be idle
#              (under 10% of one CPU busy over 1 s; default 0: do not wait)
#   -K PATH    the kpscript binary (default build/kpscript)
#   -G PATH    the generator (default build/bench/gen)
#   -o DIR     raw logs, runs.tsv, ops.tsv and summary.md
#              (default build/bench/agg-DATE)
#   -H         contention: keep a CPU-bound shell loop pinned to CPU 1 (the
#              tracer's CPU) for the whole throughput phase
#
# Throughput: each run runs, in an order rotated by one per run, the
# generator alone and each kind; every tracer is pinned to CPU 1 and starts
# the generator (pinned to CPU 0 by itself) once its probe is live, and
# stops when it exits:
#   gen        taskset -c 0 GEN -c 0 SECS
#   kp_none    taskset -c 1 KPSCRIPT -c "exec GEN -c 0 SECS" -e KP_NONE
#              (an empty handler: the cost of delivery alone)
#   kp_count   taskset -c 1 KPSCRIPT -c "exec GEN -c 0 SECS" bench/agg_count.lua
#   bt_count   taskset -c 1 bpftrace -c "GEN -c 0 SECS" -e BT_COUNT
#   kp_count_big  kp_count with a 16 MiB ring per CPU (bench/agg_count.lua 4096)
#   kp_hist    taskset -c 1 KPSCRIPT -c "exec GEN -c 0 SECS" bench/agg_hist.lua
#   bt_hist    taskset -c 1 bpftrace -c "GEN -c 0 SECS" -e BT_HIST
# under /usr/bin/time -v (peak RSS, CPU time). The tracer's CPU time is
# time's user+sys minus the generator's own (it prints its getrusage). The
# generator's CPU per call (user+sys / calls) includes what a tracer does
# inside the kernel in the generator's syscall (all of bpftrace's work).
#
# Counts: for the count kinds, @[gen] must equal the generator's calls
# exactly (the generator is the only process named gen); for the hist kinds
# the histogram's total is every getppid on the machine (the generator's
# plus anyone else's), so total - calls >= 0 is small. kpscript must also
# have counted every event it delivered, and lost none.
#
# Ops: bench/agg_ops.lua, pinned to CPU 1: the cost of each aggregate
# operation in a plain loop, no probe, against a plain Lua table.
set -u

RUNS=5 DUR=5 WAIT=0 OPS_N=10000000 OPS_ROUNDS=5 HOG=0
KINDS="kp_none kp_count bt_count kp_hist bt_hist"
KP=build/kpscript GEN=build/bench/gen OUT=""
while getopts "r:d:k:n:m:w:K:G:o:Hh" opt; do
	case $opt in
	r) RUNS=$OPTARG ;;
	d) DUR=$OPTARG ;;
	k) KINDS=$OPTARG ;;
	n) OPS_N=$OPTARG ;;
	m) OPS_ROUNDS=$OPTARG ;;
	w) WAIT=$OPTARG ;;
	K) KP=$OPTARG ;;
	G) GEN=$OPTARG ;;
	o) OUT=$OPTARG ;;
	H) HOG=1 ;;
	*) sed -n '4,51p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
OUT=${OUT:-build/bench/agg-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
KP_NONE='kp.tracepoint("syscalls:sys_enter_getppid", function(e) end) kp.run()
local st = kp.counters()["tracepoint:syscalls:sys_enter_getppid"]
print(string.format("delivered %d lost %d", st.events, st.lost))'
BT_COUNT='tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }'
BT_HIST='tracepoint:syscalls:sys_enter_getppid { @ = hist(nsecs % 1000000); }'

say() { printf '%s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
	say "agg.sh: needs root (perf_event_open on tracepoints, bpftrace)"
	exit 1
fi
for b in "$KP" "$GEN" /usr/bin/time; do
	[ -x "$b" ] || { say "agg.sh: $b is missing"; exit 1; }
done
case " $KINDS " in
*" bt_"*) command -v bpftrace >/dev/null || { say "agg.sh: no bpftrace"; exit 1; } ;;
esac

# ---- helpers (as bench/run.sh) --------------------------------------------

median() {
	sort -g | awk '{ a[NR] = $1 } END {
		if (!NR) { print "-"; exit }
		if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
minmax() {
	sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%s to %s", lo, hi; else print "-" }'
}
# field N (1-based) of the lines of a TSV whose column 1 is $2 (or column $4 is $2)
col() { awk -F'\t' -v k="$2" -v c="$3" -v kc="${4:-1}" '$kc == k && $c != "-" { print $c }' "$1"; }
kv() { # kv FILE FIRST-WORD KEY: the word after KEY on the first line starting with FIRST-WORD
	awk -v w="$2" -v k="$3" '$1 == w { for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' "$1"
}
busy_s() {
	awk -v hz="$(getconf CLK_TCK)" '/^cpu / { print ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat
}
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
# the value of "@[KEY]: N" or "@: N"-style count lines (both tools print so)
map_val() { sed -n "s/^@\[$2\]: \([0-9]*\)$/\1/p" "$1" | head -1; }
# the sum of every map line's count in a count() print
map_total() { awk '/^@\[.*\]: [0-9]+$/ { s += $NF } END { print s + 0 }' "$1"; }
# the total of a printed histogram: the number before the first |bar| field
hist_total() {
	awk '/^[[(]/ { for (i = 2; i <= NF; i++) if ($i ~ /^\|/) { s += $(i - 1); break } }
		END { print s + 0 }' "$1"
}
# the share of the samples in the top bucket [512K, 1M), in %
hist_top() {
	awk '/^[[(]/ { for (i = 2; i <= NF; i++) if ($i ~ /^\|/) { s += $(i - 1); if ($1 == "[512K,") t = $(i - 1); break } }
		END { if (s) printf "%.2f", 100 * t / s; else print "-" }' "$1"
}

# ---- throughput ------------------------------------------------------------

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
RES=$OUT/runs.tsv
printf 'kind\trun\tgen_calls_s\tcalls\tsecs\tcounted\tcount_err\tdelivered\tlost\tother_events\trss_kb\ttracer_cpu_pct\ttracer_ns_per_event\tgen_ns_per_call\ttop_bucket_pct\tother_cpu_pct\n' >"$RES"
BAD=0

run_one() { # run_one KIND RUN
	local k=$1 r=$2 log=$OUT/$1.$2 g="exec $GEN -c 0 $DUR"
	local calls secs rate gu gs tu ts rss counted=- err=- delivered=- lost=- others=- top=-
	local cpu nspe gnspc b0 b1 other n

	[ "$WAIT" -gt 0 ] && wait_idle
	b0=$(busy_s)
	case $k in
	gen) /usr/bin/time -v -o "$log.time" taskset -c 0 "$GEN" -c 0 "$DUR" >"$log.out" 2>"$log.err" ;;
	kp_none) /usr/bin/time -v -o "$log.time" taskset -c 1 "$KP" -c "$g" -e "$KP_NONE" \
		>"$log.out" 2>"$log.err" ;;
	kp_count) /usr/bin/time -v -o "$log.time" taskset -c 1 "$KP" -c "$g" bench/agg_count.lua \
		>"$log.out" 2>"$log.err" ;;
	kp_count_big) /usr/bin/time -v -o "$log.time" taskset -c 1 "$KP" -c "$g" bench/agg_count.lua \
		4096 >"$log.out" 2>"$log.err" ;;
	kp_hist) /usr/bin/time -v -o "$log.time" taskset -c 1 "$KP" -c "$g" bench/agg_hist.lua \
		>"$log.out" 2>"$log.err" ;;
	bt_count) /usr/bin/time -v -o "$log.time" taskset -c 1 bpftrace -c "$GEN -c 0 $DUR" \
		-e "$BT_COUNT" >"$log.out" 2>"$log.err" ;;
	bt_hist) /usr/bin/time -v -o "$log.time" taskset -c 1 bpftrace -c "$GEN -c 0 $DUR" \
		-e "$BT_HIST" >"$log.out" 2>"$log.err" ;;
	esac
	b1=$(busy_s)
	calls=$(kv "$log.out" calls calls) secs=$(kv "$log.out" calls secs) rate=$(kv "$log.out" calls rate)
	gu=$(kv "$log.out" gen_rusage user) gs=$(kv "$log.out" gen_rusage sys)
	tu=$(sed -n 's/.*User time (seconds): //p' "$log.time")
	ts=$(sed -n 's/.*System time (seconds): //p' "$log.time")
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log.time")
	if [ -z "$calls" ]; then
		say "agg.sh: $k run $r: no result, see $log.*"
		tail -5 "$log.err" >&2
		BAD=$((BAD + 1))
		return
	fi
	case $k in
	kp_*)
		delivered=$(kv "$log.out" delivered delivered)
		lost=$(kv "$log.out" delivered lost) ;;
	esac
	case $k in
	kp_none) counted=$delivered n=$delivered ;;
	kp_count | kp_count_big | bt_count)
		counted=$(map_val "$log.out" gen)
		n=$(map_total "$log.out")
		others=$((n - ${counted:-0})) ;;
	kp_hist | bt_hist)
		counted=$(hist_total "$log.out")
		n=$counted
		top=$(hist_top "$log.out") ;;
	gen) n=0 rss=- ;;
	esac
	[ "$k" = bt_count ] || [ "$k" = bt_hist ] && lost=$(sed -n 's/.*Lost \([0-9]*\) events.*/\1/p' \
		"$log.out" "$log.err" | awk '{ s += $1 } END { print s + 0 }')
	# correctness: count kinds count exactly the generator's calls; hist
	# totals are the generator's calls plus the rest of the machine's
	case $k in
	kp_count | kp_count_big | bt_count)
		err=$(( ${counted:-0} - calls ))
		[ "$err" != 0 ] && { say "agg.sh: $k run $r: @[gen] ${counted:-none} != calls $calls"; BAD=$((BAD + 1)); } ;;
	kp_hist | bt_hist)
		others=$(( ${counted:-0} - calls )) err=-
		[ "$others" -lt 0 ] && { say "agg.sh: $k run $r: hist total $counted < calls $calls"; BAD=$((BAD + 1)); } ;;
	kp_none) err=$(( ${counted:-0} - calls )) ;;
	esac
	case $k in
	kp_count | kp_count_big | kp_hist)
		if [ "$n" != "$delivered" ]; then
			say "agg.sh: $k run $r: the aggregate holds $n events, $delivered delivered"
			BAD=$((BAD + 1))
		fi ;;
	esac
	case $k in kp_*) [ "${lost:-0}" != 0 ] && { say "agg.sh: $k run $r: lost $lost"; BAD=$((BAD + 1)); } ;; esac
	if [ "$k" != gen ]; then
		cpu=$(awk -v a="$tu" -v b="$ts" -v c="$gu" -v d="$gs" -v s="$secs" \
			'BEGIN { v = (a + b - c - d) / s * 100; printf "%.1f", v < 0 ? 0 : v }')
		nspe=$(awk -v a="$tu" -v b="$ts" -v c="$gu" -v d="$gs" -v n="$n" \
			'BEGIN { v = (n > 0) ? (a + b - c - d) / n * 1e9 : 0; printf "%.0f", v < 0 ? 0 : v }')
	else
		cpu=- nspe=-
	fi
	gnspc=$(awk -v c="$gu" -v d="$gs" -v n="$calls" 'BEGIN { printf "%.0f", (c + d) / n * 1e9 }')
	other=$(awk -v a="$b0" -v b="$b1" -v u="$tu" -v s="$ts" -v d="$secs" \
		'BEGIN { o = (b - a - u - s) / d * 100; printf "%.1f", o < 0 ? 0 : o }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$k" "$r" "$rate" \
		"$calls" "$secs" "${counted:--}" "$err" "${delivered:--}" "${lost:--}" "$others" "$rss" \
		"$cpu" "$nspe" "$gnspc" "$top" "$other" >>"$RES"
	say "  run $r $k: gen calls/s $rate counted ${counted:--} (err $err, others $others)" \
		"lost ${lost:--} rss ${rss}kB tracer cpu $cpu% ($nspe ns/event) gen $gnspc ns/call;" \
		"other load $other%"
}

read -r -a kinds <<<"gen $KINDS"
nk=${#kinds[@]}
HOG_PID=""
stop_hog() { [ -n "$HOG_PID" ] && kill "$HOG_PID" 2>/dev/null && wait "$HOG_PID" 2>/dev/null; HOG_PID=""; }
trap 'stop_hog' EXIT
trap 'stop_hog; exit 130' INT TERM
if [ "$HOG" = 1 ] && [ "$RUNS" -gt 0 ]; then
	taskset -c 1 /bin/sh -c 'while :; do :; done' &
	HOG_PID=$!
	say "contention: CPU-bound loop pid $HOG_PID on CPU 1"
fi
T0=$SECONDS
[ "$RUNS" -gt 0 ] && say "throughput: $RUNS runs of ${DUR}s: ${kinds[*]} (logs in $OUT)"
for ((r = 1; r <= RUNS; r++)); do
	for ((i = 0; i < nk; i++)); do
		run_one "${kinds[(i + r - 1) % nk]}" "$r"
	done
done
T1=$SECONDS
stop_hog

# ---- aggregate operations ---------------------------------------------------

OPS=$OUT/ops.tsv
printf 'tag\tround\tname\tns_per_op\tcheck\n' >"$OPS"
if [ "$OPS_ROUNDS" -gt 0 ]; then
	say "ops: $OPS_ROUNDS rounds of $OPS_N iterations per operation"
	taskset -c 1 "$KP" bench/agg_ops.lua "$OPS_N" "$OPS_ROUNDS" >>"$OPS" 2>"$OUT/ops.err" ||
		{ say "agg.sh: bench/agg_ops.lua failed:"; cat "$OUT/ops.err" >&2; BAD=$((BAD + 1)); }
	awk -F'\t' -v n="$OPS_N" '$1 == "op" && $5 != n { print "agg.sh: op " $3 " round " $2 ": counted " $5 ", not " n; bad = 1 }
		END { exit bad }' "$OPS" >&2 || BAD=$((BAD + 1))
fi
T2=$SECONDS

# ---- summary ------------------------------------------------------------------

SUM=$OUT/summary.md
{
	echo "# aggregations against bpftrace, $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs"
	echo
	[ "$HOG" = 1 ] && echo "contention (-H): a CPU-bound loop on CPU 1 during the throughput runs" && echo
	echo "load average at start $LOAD0, at end $(cut -d' ' -f1-3 /proc/loadavg);" \
		"throughput $((T1 - T0)) s, ops $((T2 - T1)) s"
	echo
	if [ "$RUNS" -gt 0 ]; then
		echo "runs $RUNS x ${DUR}s; generator on CPU 0, tracer on CPU 1; medians (min-max)"
		echo
		echo "| kind | generator calls/s | vs alone | counted - calls | lost | peak RSS | tracer CPU (ns/event) | generator ns/call | [512K,1M) share | other load |"
		echo "|---|---|---|---|---|---|---|---|---|---|"
		g0=$(col "$RES" gen 3 | median)
		for k in gen $KINDS; do
			[ -n "$(col "$RES" "$k" 3)" ] || continue
			gr=$(col "$RES" "$k" 3 | median) grr=$(col "$RES" "$k" 3 | minmax)
			if [ "${k#*_}" = hist ]; then
				er="others +$(col "$RES" "$k" 10 | minmax)"
			else
				er=$(col "$RES" "$k" 7 | minmax)
			fi
			printf '| %s | %s (%s) | %s | %s | %s | %s | %s | %s (%s) | %s | %s%% |\n' "$k" "$gr" "$grr" \
				"$(awk -v a="$gr" -v b="$g0" 'BEGIN { printf "%.1f%%", 100 * a / b }')" \
				"$er" "$(col "$RES" "$k" 9 | minmax)" \
				"$([ "$k" = gen ] && echo - || echo "$(col "$RES" "$k" 11 | median) kB")" \
				"$([ "$k" = gen ] && echo - || echo "$(col "$RES" "$k" 12 | median)% ($(col "$RES" "$k" 13 | median))")" \
				"$(col "$RES" "$k" 14 | median)" "$(col "$RES" "$k" 14 | minmax)" \
				"$(col "$RES" "$k" 15 | median)" "$(col "$RES" "$k" 16 | minmax)"
		done
		echo
		echo "per run, generator calls/s (same run = back to back):"
		echo
		echo "| run | $(printf '%s | ' gen $KINDS)"
		echo "|---|$(printf -- '---|%.0s' gen $KINDS)"
		for ((r = 1; r <= RUNS; r++)); do
			printf '| %d |' "$r"
			for k in gen $KINDS; do
				printf ' %s |' "$(awk -F'\t' -v k="$k" -v r="$r" '$1 == k && $2 == r { print $3 }' "$RES")"
			done
			echo
		done
	fi
	if [ "$OPS_ROUNDS" -gt 0 ]; then
		echo
		echo "aggregate operations, $OPS_ROUNDS rounds x $OPS_N: ns per operation, median (min-max)"
		echo
		echo "| operation | ns/op |"
		echo "|---|---|"
		awk -F'\t' '$1 == "op" && !seen[$3]++ { print $3 }' "$OPS" | while read -r o; do
			printf '| %s | %s (%s) |\n' "$o" "$(col "$OPS" "$o" 4 3 | median)" "$(col "$OPS" "$o" 4 3 | minmax)"
		done
	fi
	echo
	echo "problems flagged: $BAD"
} >"$SUM"
cat "$SUM"
exit $((BAD > 0))
