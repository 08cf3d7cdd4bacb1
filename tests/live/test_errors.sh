#!/bin/sh
# Errors: bad input gets one clear message, the right exit status, and
# leaves nothing registered. For script and probe errors (exit 1) the first
# stderr line must carry the whole story: "kpscript: SCRIPT:LINE: what";
# declarations that fail because of bad input must not dump a Lua
# traceback through kpscript's own lua/kp.lua. Usage errors exit 2.
#
# A fetch arg the kernel refuses must show the kernel's own reason (from
# tracefs error_log, e.g. "Invalid register name") and the definition.
#
# Every failing declaration sits on line 3 of its script (after two lines
# that work or declare a probe) so "SCRIPT:3:" can only be the right line.
. tests/live/lib.sh
need_live errors

T=$PROGS/uprobe_target
need_prog errors "$T"
ABS=$(readlink -f "$T")

# err NAME STATUS LINE3 [WANT...]: a script whose line 3 is LINE3 (lines 1-2
# declare a good uprobe and a tracepoint) must exit STATUS; the first stderr
# line must start with "kpscript: SCRIPT:3: " and hold every WANT; no Lua
# traceback into lua/kp.lua; nothing registered afterwards.
err() {
	ename=$1 want_rc=$2 line3=$3
	shift 3
	f="$TMP/$ename.lua"
	{
		printf 'kp.uprobe("%s:kp_target_int", { a = "%%di:s32" }, function() end)\n' "$T"
		printf 'kp.tracepoint("sched:sched_process_exec", function() end)\n'
		printf '%s\n' "$line3"
	} >"$f"
	kp_run -c "$T 1" "$f"
	first=$(head -n 1 "$TMP/err")
	exits "errors/$ename: exit $want_rc" "$want_rc"
	check "errors/$ename: first stderr line starts 'kpscript: $f:3: ' (got: $first)" \
		has "$first" "kpscript: $f:3: "
	for w in "$@"; do
		check "errors/$ename: first stderr line says '$w'" has "$first" "$w"
	done
	check "errors/$ename: no traceback through lua/kp.lua" not grep -q 'lua/kp.lua' "$TMP/err"
	none_left "errors/$ename"
}

# Lua syntax error: the file does not even load
printf 'local a = 1\nlocal b = 2\nlocal c = = 3\n' >"$TMP/syntax.lua"
kp "$TMP/syntax.lua"
first=$(head -n 1 "$TMP/err")
exits "errors/syntax: exit 1" 1
check "errors/syntax: one line naming $TMP/syntax.lua:3 (got: $first)" has "$first" "$TMP/syntax.lua:3:"
one_err_line "errors/syntax: stderr is that one line"

err runtime 1 'local t = nil; local x = t.field' "attempt to index"
err error_call 1 'error("my own message")' "my own message"
err unknown_tracepoint 1 'kp.tracepoint("sched:no_such_event_kp", function() end)' \
	"sched:no_such_event_kp"
err bad_tracepoint_name 1 'kp.tracepoint("no colon here", function() end)' "no colon here"
err missing_binary 1 'kp.uprobe("/nonexistent/kp_no_such_bin:main", {}, function() end)' \
	"/nonexistent/kp_no_such_bin" "not found"
err unknown_symbol 1 'kp.uprobe("'"$T"':kp_target_in", {}, function() end)' \
	"kp_target_in" "kp_target_int"
err bad_register 1 'kp.uprobe("'"$T"':kp_target_str", { x = "%zz:s32" }, function() end)' \
	"Invalid register name" "x=%zz:s32"
err bad_type 1 'kp.uprobe("'"$T"':kp_target_str", { x = "%di:nosuchtype" }, function() end)' \
	"Unknown type is specified" "x=%di:nosuchtype"
err tracepoint_number 1 'kp.tracepoint(42, function() end)' "kp.tracepoint" "number"
err tracepoint_no_fn 1 'kp.tracepoint("sched:sched_switch")' "kp.tracepoint" "function"
err tracepoint_opts 1 'kp.tracepoint("sched:sched_switch", 5, function() end)' "kp.tracepoint" "opts"
err unknown_option 1 'kp.tracepoint("sched:sched_switch", { nosuchopt = 1 }, function() end)' \
	"nosuchopt"
err pages_not_pow2 1 'kp.uprobe("'"$T"':kp_target_str", {}, { pages = 3 }, function() end)' "pages"
err uprobe_number 1 'kp.uprobe(42, {}, function() end)' "kp.uprobe"
err uprobe_no_path 1 'kp.uprobe("kp_target_int", {}, function() end)' "kp.uprobe" "kp_target_int"
err uprobe_arg_type 1 'kp.uprobe("'"$T"':kp_target_str", { a = 5 }, function() end)' "kp.uprobe" "args.a"
err uprobe_arg_name 1 'kp.uprobe("'"$T"':kp_target_str", { pid = "%di" }, function() end)' "pid"
err uretprobe_no_fn 1 'kp.uretprobe("'"$T"':kp_target_str", {}, {})' "kp.uretprobe"
err every_string 1 'kp.every("x", function() end)' "kp.every"
err every_no_fn 1 'kp.every(10)' "kp.every"

# an error in a callback names the callback's line; it may carry a traceback
printf 'kp.uprobe("%s:kp_target_int", { a = "%%di:s32" }, function(e)\n  local n = 1\n  if e.a == 0 then error("callback says no") end\nend)\n' "$T" >"$TMP/cb.lua"
kp_run -c "$T 2" "$TMP/cb.lua"
first=$(head -n 1 "$TMP/err")
exits "errors/callback: exit 1" 1
check "errors/callback: first stderr line names $TMP/cb.lua:3 and the message (got: $first)" \
	has "$first" "kpscript: $TMP/cb.lua:3: callback says no"
none_left "errors/callback"

# a script that does not exist
kp "$TMP/no_such_script.lua"
exits "errors/no such script: exit 1" 1
check "errors/no such script: the message names it" grep -qF "$TMP/no_such_script.lua" "$TMP/err"

# usage errors: exit 2, a message naming the option, nothing run
usage() { # usage NAME WANT ARGS...
	uname=$1 want=$2
	shift 2
	kp "$@"
	first=$(head -n 1 "$TMP/err")
	exits "errors/usage $uname: exit 2" 2
	check "errors/usage $uname: says '$want' (got: $first)" has "$first" "$want"
	check "errors/usage $uname: nothing on stdout, no code run" [ ! -s "$TMP/out" ]
}
usage "-p abc" "-p" -p abc -e 'print("ran")'
usage "-p 0" "-p" -p 0 -e 'print("ran")'
usage "-p -5" "-p" -p -5 -e 'print("ran")'
usage "-p gone" "-p" -p 2147483647 -e 'print("ran")'
usage "-d x" "-d" -d x -e 'print("ran")'
usage "-d 0" "-d" -d 0 -e 'print("ran")'
usage "-d -1" "-d" -d -1 -e 'print("ran")'
usage "-d 1s" "-d" -d 1s -e 'print("ran")'
usage "-d missing" "-d" -e 'print("ran")' -d
usage "no script" "no script" 
usage "unknown option" "-Z" -Z -e 'print("ran")'
usage "unknown long option" "--no-such-option" --no-such-option -e 'print("ran")'
