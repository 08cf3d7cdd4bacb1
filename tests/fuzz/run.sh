#!/bin/sh
# Run one fuzzer: sh tests/fuzz/run.sh NAME SECONDS [libFuzzer options...]
# Prints "ok - fuzz: NAME: N runs, no crash", or "not ok - fuzz: NAME: why"
# with the input that failed and the command that replays it.
#
# The seeds in tests/fuzz/corpus/NAME are only read; inputs that reach new
# code go to build/fuzz/corpus/NAME and are kept for the next run. A
# failing input is written to build/fuzz/crashes/.
cd "$(dirname "$0")/../.." || exit 2
name=$1
secs=${2:-5}
if [ $# -ge 2 ]; then shift 2; else shift $#; fi
bin=build/fuzz/fuzz_$name

if [ -f build/fuzz/BUILD_FAILED ]; then
	echo "not ok - fuzz: $name: the fuzz build failed: $(head -n 1 build/fuzz/BUILD_FAILED)"
	exit 1
fi
if [ ! -x "$bin" ]; then
	echo "not ok - fuzz: $name: $bin is not built (make fuzz-bin; it needs clang and" \
		"libclang-rt-14-dev, which tests/deps.sh installs)"
	exit 1
fi

work=build/fuzz/corpus/$name
seeds=tests/fuzz/corpus/$name
log=build/fuzz/$name.log
mkdir -p "$work" build/fuzz/crashes
set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix="build/fuzz/crashes/$name-" -print_final_stats=1 "$@"
[ -f "tests/fuzz/$name.dict" ] && set -- -dict="tests/fuzz/$name.dict" "$@"
# shellcheck disable=SC2046
[ -f "tests/fuzz/$name.options" ] && set -- $(grep -v '^#' "tests/fuzz/$name.options") "$@"
[ -d "$seeds" ] || seeds=

# the first directory receives new inputs; the seeds stay as committed
# shellcheck disable=SC2086
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=print_stacktrace=1 \
	LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp:print_suppressions=0 \
	"$bin" "$@" "$work" $seeds >"$log" 2>&1
rc=$?
runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
	echo "ok - fuzz: $name: $runs runs, no crash"
	exit 0
fi
why=$(grep -m 1 -E 'ERROR: |runtime error|check failed|deadly signal|out-of-memory|timeout' "$log")
input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
hint=${input:+ (input $input; replay: $bin $input)}
if [ -n "$input" ] && [ ! -s "$input" ] && grep -q LeakSanitizer "$log"; then
	# a leak seen by the check at exit (NAME.options: -detect_leaks=0):
	# libFuzzer names an empty input, which is not the one
	hint=" (seen at exit; to find the input: sh tests/fuzz/run.sh $name $secs -detect_leaks=1)"
fi
echo "not ok - fuzz: $name: ${why:-exit status $rc}$hint"
tail -n 40 "$log" | sed 's/^/# /'
exit 1
