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

# need_live NAME: skip the whole file (exit 0) when not root or no tracefs
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

# not CMD...: succeeds when CMD fails (its output dropped)
not() { ! "$@" >/dev/null 2>&1; }
# cond 'TEST && TEST': several tests as one condition for check, whose
# arguments end at the first && or ||; use named variables inside
cond() { eval "$1"; }
# has TEXT STRING: TEXT contains STRING
has() { printf '%s\n' "$1" | grep -qF -- "$2"; }
# oneline FILE: FILE's text on one line, at most 300 bytes (for messages)
oneline() { tr "\n" " " <"$1" | cut -c1-300; }
# val KEY [FILE]: what follows "KEY " on the lines of FILE ($TMP/out) that start so
val() { sed -n "s/^$1 //p" "${2:-$TMP/out}"; }

# need_prog NAME PATH: when test program PATH is not built, say so (not ok) and end the file
need_prog() {
	if [ ! -x "$2" ]; then
		notok "$1: $2 is not built (make build/progs/${2##*/})"
		exit 0
	fi
}

# kp ARGS...: run kpscript ARGS, stdout to $TMP/out, stderr to $TMP/err; sets rc
kp() {
	"$KPSCRIPT" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
# kp_start ARGS...: the same in the background; sets kpid (the group is kpscript_$kpid)
kp_start() { "$KPSCRIPT" "$@" >"$TMP/out" 2>"$TMP/err" & kpid=$!; }
# kp_run ARGS...: kp_start, then wait for the run to end; sets kpid and rc
kp_run() {
	kp_start "$@"
	wait "$kpid"
	rc=$?
}

# exits NAME WANT: check "NAME (got $rc)" that the last run exited with status WANT
exits() { check "$1 (got $rc)" [ "$rc" -eq "$2" ]; }
# one_err_line NAME: check NAME that stderr ($TMP/err) is one line
one_err_line() { check "$1" [ "$(wc -l <"$TMP/err")" -eq 1 ]; }
# names_line NAME WHERE: check NAME that stderr has a line starting "kpscript: WHERE: "
names_line() { check "$1" grep -q "^kpscript: $2: " "$TMP/err"; }
# none_left PREFIX: check "PREFIX: nothing left registered" of run $kpid
none_left() { check "$1: nothing left registered" not leftovers "$kpid"; }
# none_new NAME BEFORE: check NAME that our dynamic events are still BEFORE in number
none_new() { check "$1" [ "$(leftovers | wc -l)" -eq "$2" ]; }

# lua_registered: Lua code defining registered(): this kpscript's pid, and its group's dynamic events
lua_registered() {
	cat <<EOF
local function registered()
  local f = assert(io.open("/proc/self/stat"))
  local pid = f:read("*n")
  f:close()
  local n = 0
  for l in io.lines("$TRACEFS/dynamic_events") do
    if l:find("kpscript_" .. pid .. "/", 1, true) then n = n + 1 end
  end
  return pid, n
end
EOF
}

# wait_file FILE...: wait (at most 5 s) until every FILE is non-empty; false if one is not
wait_file() {
	_wf_i=0
	for _wf_f; do
		while [ ! -s "$_wf_f" ] && [ $_wf_i -lt 500 ]; do
			sleep 0.01
			_wf_i=$((_wf_i + 1))
		done
		[ -s "$_wf_f" ] || return 1
	done
}

# launch NAME CMD...: start CMD blocked on fifo $TMP/go_NAME until released; its pid in $TMP/pid_NAME, exit status in $TMP/rc_NAME
launch() {
	_ln_name=$1
	shift
	mkfifo "$TMP/go_$_ln_name" || return
	(
		# <> opens the fifo without waiting for a writer; CMD reads it
		"$@" <>"$TMP/go_$_ln_name" >/dev/null &
		echo $! >"$TMP/pid_$_ln_name"
		wait $!
		echo $? >"$TMP/rc_$_ln_name"
	) &
}
# release NAME...: unblock the launched commands
release() {
	for _rl_name; do
		echo go 1<>"$TMP/go_$_rl_name"
	done
}
# release_cmd NAME TICKS: sh code (for -c) that releases NAME, then waits for its end (at most TICKS x 10 ms)
release_cmd() {
	echo "echo go 1<>$TMP/go_$1; i=0; while [ ! -s $TMP/rc_$1 ] && [ \$i -lt $2 ]; do sleep 0.01; i=\$((i+1)); done"
}
