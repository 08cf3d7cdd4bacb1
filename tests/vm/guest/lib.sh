# Helpers for guest tests (busybox sh, sourced). KPSCRIPT, PROGS and
# TRACEFS come from /init; each test prints "ok - NAME", "not ok - NAME: why"
# or "skip - NAME: why" lines, and "# ..." lines to explain a failure.
KPSCRIPT=${KPSCRIPT:-/kp/build/kpscript}
PROGS=${PROGS:-/kp/progs}
TRACEFS=${TRACEFS:-/sys/kernel/tracing}
TMP=$(mktemp -d /tmp/kpvm.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; }
skip() { echo "skip - $*"; }
check() { # check NAME CMD...: ok when CMD succeeds
	_ck_name=$1
	shift
	if "$@"; then ok "$_ck_name"; else notok "$_ck_name"; fi
}
not() { ! "$@" >/dev/null 2>&1; }
# cond 'TEST && TEST': one condition made of several, for check (whose
# arguments end at the first && or ||); positional parameters do not reach
# TEST: use named variables
cond() { eval "$1"; }
diag() { # diag FILE: its first lines as "# " lines
	[ -s "$1" ] && head -n "${2:-8}" "$1" | cut -c1-300 | sed "s|^|#   ${1##*/}: |"
}

# leftovers [PID]: our dynamic events still registered (of run PID, or any)
leftovers() {
	if [ -n "$1" ]; then
		grep "kpscript_$1/" "$TRACEFS/dynamic_events"
	else
		grep "kpscript_" "$TRACEFS/dynamic_events"
	fi
}

# kp NAME WANT_RC ARGS...: run kpscript ARGS (killed after 60 s), stdout in
# $TMP/NAME.out, stderr in $TMP/NAME.err; checks its exit status and that
# nothing of any kpscript run is left in kprobe_events/dynamic_events after.
# Sets rc.
kp() {
	_kp_name=$1 _kp_want=$2
	shift 2
	_kp_t0=$(cut -d' ' -f1 /proc/uptime)
	timeout 60 "$KPSCRIPT" "$@" >"$TMP/$_kp_name.out" 2>"$TMP/$_kp_name.err"
	rc=$?
	echo "# $_kp_name: kpscript ran $(awk -v a="$_kp_t0" '{ printf "%.1f", $1 - a }' /proc/uptime) s"
	if [ "$rc" -eq "$_kp_want" ]; then
		ok "$_kp_name: kpscript exits $_kp_want"
	else
		notok "$_kp_name: kpscript exits $_kp_want (got $rc)"
		diag "$TMP/$_kp_name.err"
	fi
	if leftovers >/dev/null; then
		notok "$_kp_name: nothing of ours left in dynamic_events after the run"
		leftovers | head -5 | sed 's/^/#   left: /'
	else
		ok "$_kp_name: nothing of ours left in dynamic_events after the run"
	fi
}

# lua NAME: write stdin to $TMP/NAME.lua
lua() { cat >"$TMP/$1.lua"; }

# progpid FILE: the pid a test program printed ("pid N" line)
progpid() { sed -n 's/^pid \([0-9]*\)$/\1/p' "$1" | head -1; }
