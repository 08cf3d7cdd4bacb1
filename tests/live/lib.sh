# Shared helpers for live tests (sourced). Live tests need root and a real
# kernel with tracefs; without them they say "skip", never "ok".
KPSCRIPT=${KPSCRIPT:-build/kpscript}
PROGS=${PROGS:-build/progs}
TMP=$(mktemp -d /tmp/kplive.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; }
skip() { echo "skip - $*"; }
check() { # check NAME COND...: ok when the command succeeds
	_ck_name=$1
	shift
	if "$@"; then ok "$_ck_name"; else notok "$_ck_name"; fi
}

tracefs() {
	d=$(awk '$3 == "tracefs" { print $2; exit }' /proc/mounts)
	[ -n "$d" ] || { [ -d /sys/kernel/tracing ] && mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null && d=/sys/kernel/tracing; }
	echo "$d"
}

# need_root NAME: skip the whole file (exit 0) when not root or no tracefs
need_live() {
	if [ "$(id -u)" != 0 ]; then
		skip "$1: needs root"
		exit 0
	fi
	TRACEFS=$(tracefs)
	if [ -z "$TRACEFS" ]; then
		skip "$1: no tracefs"
		exit 0
	fi
	if [ ! -x "$KPSCRIPT" ]; then
		notok "$1: $KPSCRIPT is not built"
		exit 1
	fi
}

# leftovers [PID]: our dynamic events still registered (of PID, or any run)
leftovers() {
	if [ -n "$1" ]; then
		grep "kpscript_$1/" "$TRACEFS/dynamic_events" 2>/dev/null
	else
		grep "kpscript_" "$TRACEFS/dynamic_events" 2>/dev/null
	fi
}
