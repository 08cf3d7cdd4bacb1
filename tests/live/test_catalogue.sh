#!/bin/sh
# The catalogue of bad input (issue 8): each case gets a clear message naming
# the culprit, a defined exit status, and leaves no kernel state behind.
#
# Script cases are three lines: line 1 declares a good uprobe (so there is
# kernel state to leak) and defines registered(); line 2 writes how many
# dynamic events this run has registered to a file, so "nothing left" can
# only pass after something was there; line 3 is the bad input. The first
# stderr line must name SCRIPT:3 and say what was wrong. Command-line cases
# exit 2 and name the option.
. tests/live/lib.sh
need_live catalogue
T=$PWD/$PROGS/uprobe_target
need_prog catalogue "$T"
need_prog catalogue "$PROGS/gen_getppid"

REG="local function registered() local f = assert(io.open('/proc/self/stat')) local pid = f:read('*n') f:close() local n = 0 for l in io.lines('$TRACEFS/dynamic_events') do if l:find('kpscript_' .. pid .. '/', 1, true) then n = n + 1 end end return n end"
cases=0

# bad NAME STATUS LINE3 WANT: the script case described above
bad() {
	bname=$1 want_rc=$2 line3=$3 want=$4
	f="$TMP/c_$bname.lua"
	rm -f "$TMP/reg"
	{
		printf '%s kp.uprobe("%s:kp_target_leaf", {}, function() end)\n' "$REG" "$T"
		printf 'local kp_reg = io.open("%s", "w") kp_reg:write(registered()) kp_reg:close()\n' "$TMP/reg"
		printf '%s\n' "$line3"
	} >"$f"
	kp_run -c "$PROGS/gen_getppid 3 /dev/null; $T 2; sleep 0.1" "$f"
	cases=$((cases + 1))
	# (a sweep of a killed run's probes may be reported first)
	first=$(grep -v '^kpscript: removed [0-9]* probes* left by' "$TMP/err" | head -n 1)
	exits "catalogue/$bname: exit $want_rc" "$want_rc"
	check "catalogue/$bname: names $f:3 and says '$want' (got: $first)" \
		cond 'has "$first" "$f:3:" && has "$first" "$want"'
	[ "$bname" = syntax ] || # a file that does not load runs nothing
		check "catalogue/$bname: the run had registered its uprobe ($(cat "$TMP/reg" 2>/dev/null))" \
			cond '[ "$(cat "$TMP/reg" 2>/dev/null || echo 0)" -ge 1 ]'
	none_left "catalogue/$bname"
}

# cli NAME WANT ARGS...: a command-line mistake: exit 2, the option named
cli() {
	cname=$1 want=$2
	shift 2
	kp_run "$@"
	cases=$((cases + 1))
	exits "catalogue/$cname: exit 2" 2
	check "catalogue/$cname: says '$want' ($(oneline "$TMP/err"))" grep -qF -- "$want" "$TMP/err"
	none_left "catalogue/$cname"
}

# malformed Lua and errors at load
bad syntax 1 'local x = = 1' "unexpected symbol"
bad load_error 1 'error("broken at load")' "broken at load"
bad index_nil 1 'local t; print(t.x)' "attempt to index"
# wrong argument types to kp functions
bad tp_type 1 'kp.tracepoint(42, function() end)' "kp.tracepoint: argument 1 must be a string"
bad tp_fn 1 'kp.tracepoint("sched:sched_switch", {}, 42)' "must be a function"
bad uprobe_type 1 'kp.uprobe(nil, {}, function() end)' "kp.uprobe: argument 1 must be a string"
bad uprobe_args 1 'kp.uprobe("'"$T"':main", "x", function() end)' "args must be a table"
bad kprobe_type 1 'kp.kprobe(7, {}, function() end)' "kp.kprobe"
bad every_type 1 'kp.every("soon", function() end)' "kp.every"
bad emit_type 1 'kp.emit(5)' "kp.emit: argument 1 must be a table"
bad rule_spec 1 'kp.rule { on = 5 }' "kp.rule"
bad count_opts 1 'kp.count(5)' "kp.count: opts must be a name or a table"
bad agg_key 1 'kp.count():add(print)' "function cannot be a key"
bad agg_value 1 'kp.hist():add("k", "v")' "the value must be a number"
bad lhist_step 1 'kp.lhist(0, 10, 3)' "step 3 does not divide"
bad latency_fn 1 'kp.latency("x:y")' "kp.latency: the last argument must be a function"
bad ksym_arg 1 'kp.ksym()' "kp.ksym: argument 1"
# probe specs the kernel or the files refuse
bad fetch_reg 1 'kp.uprobe("'"$T"':kp_target_int", { a = "%zz" }, function() end)' "Invalid register"
bad fetch_type 1 'kp.uprobe("'"$T"':kp_target_int", { a = "%di:u99" }, function() end)' "Unknown type"
bad unknown_tp 1 'kp.tracepoint("sched:kp_no_such_event", function() end)' "sched:kp_no_such_event"
bad unknown_group 1 'kp.tracepoint("kp_nogroup:ev", function() end)' "kp_nogroup"
bad unknown_sym 1 'kp.uprobe("'"$T"':kp_target_lef", {}, function() end)' "kp_target_leaf"
bad missing_bin 1 'kp.uprobe("/nonexistent/kp_bin:main", {}, function() end)' "/nonexistent/kp_bin"
strip -o "$TMP/stripped" "$T" 2>/dev/null
bad stripped_bin 1 'kp.uprobe("'"$TMP/stripped"':kp_target_int", {}, function() end)' "kp_target_int"
bad not_elf 1 'kp.uprobe("/etc/passwd:main", {}, function() end)' "/etc/passwd"
bad filter_field 1 'kp.tracepoint("syscalls:sys_enter_getppid", { filter = "kp_nofield == 1" }, function() end)' "kp_nofield"
bad filter_syntax 1 'kp.tracepoint("syscalls:sys_enter_getppid", { filter = "common_pid ==" }, function() end)' "filter"
bad pages_zero 1 'kp.tracepoint("syscalls:sys_enter_getppid", { pages = 0 }, function() end)' "opts.pages must be a power of two"
bad pages_negative 1 'kp.tracepoint("syscalls:sys_enter_getppid", { pages = -4 }, function() end)' "opts.pages must be a power of two"
bad pages_huge 1 'kp.tracepoint("syscalls:sys_enter_getppid", { pages = 1048576 }, function() end)' "opts.pages must be a power of two"
bad pages_odd 1 'kp.tracepoint("syscalls:sys_enter_getppid", { pages = 3 }, function() end)' "opts.pages must be a power of two"
bad stack_opt 1 'kp.tracepoint("syscalls:sys_enter_getppid", { stack = "all" }, function() end)' "opts.stack"
# errors at run time: a callback, a timer, a callback that never returns
bad in_callback 1 'kp.tracepoint("syscalls:sys_enter_getppid", function() error("callback broke") end)' "callback broke"
bad in_timer 1 'kp.tracepoint("syscalls:sys_enter_getppid", function() end) kp.every(5, function() error("timer broke") end)' "timer broke"
bad endless 1 'kp.tracepoint("syscalls:sys_enter_getppid", function() while true do end end)' "ran for more than 1000 ms"

# os.exit(N) in a callback: exit status N, every probe removed
printf 'kp.uprobe("%s:kp_target_leaf", {}, function() end)\nkp.tracepoint("syscalls:sys_enter_getppid", function() os.exit(7) end)\n' "$T" >"$TMP/c_exit.lua"
kp_run -c "$PROGS/gen_getppid 3 /dev/null" "$TMP/c_exit.lua"
cases=$((cases + 1))
exits "catalogue/os_exit: exit status 7" 7
none_left catalogue/os_exit

# an error in a rule's condition: the rule is named, the other rules and
# the run go on (exit 0), and the rule's errors are counted
f="$TMP/c_rule.lua"
cat >"$f" <<EOF
local p = kp.tracepoint("syscalls:sys_enter_getppid", function() end)
kp.rule { name = "kp_bad_rule", on = p, when = function(ev) error("rule broke") end }
kp.run()
io.stdout:write("errors ", kp.counters()["rule:kp_bad_rule"].errors, "\n")
EOF
kp_run -c "$PROGS/gen_getppid 3 /dev/null" "$f"
cases=$((cases + 1))
exits "catalogue/rule_error: the run goes on and ends 0" 0
check "catalogue/rule_error: stderr names the rule and the error ($(oneline "$TMP/err"))" \
	cond 'grep -q "kp_bad_rule" "$TMP/err" && grep -q "rule broke" "$TMP/err"'
check "catalogue/rule_error: its errors are counted ($(val errors))" cond '[ "$(val errors)" -ge 1 ]'
none_left catalogue/rule_error

# files: a missing script, a script others can write, a recording that is not one
kp_run "$TMP/kp_no_such_script.lua"
cases=$((cases + 1))
exits "catalogue/no_script: exit 1" 1
check "catalogue/no_script: names the file ($(oneline "$TMP/err"))" grep -q "kp_no_such_script.lua" "$TMP/err"
printf 'print("should not run")\n' >"$TMP/unsafe.lua"
chmod 666 "$TMP/unsafe.lua"
kp_run "$TMP/unsafe.lua"
cases=$((cases + 1))
exits "catalogue/unsafe_script: exit 1" 1
check "catalogue/unsafe_script: refused, saying why ($(oneline "$TMP/err"))" \
	cond 'grep -q "refusing to run" "$TMP/err" && grep -q "writable by every user" "$TMP/err" && ! grep -q "should not run" "$TMP/out"'
head -c 4000 /dev/urandom >"$TMP/garbage.kpr"
kp_run --replay "$TMP/garbage.kpr" -e 'kp.tracepoint("sched:sched_switch", function() end)'
cases=$((cases + 1))
exits "catalogue/garbage_recording: exit 1" 1
check "catalogue/garbage_recording: names the byte ($(oneline "$TMP/err"))" grep -q "byte 0" "$TMP/err"

# command-line mistakes
cli bad_option "--no-such-option" --no-such-option x.lua
cli bad_duration "-d" -d -1 -e '1'
cli bad_format "-o" -o xml -e '1'
cli bad_pid "-p" -p 999999999 -e '1'
cli bad_limit "--callback-limit" --callback-limit forever -e '1'
cli bad_speed "--replay-speed" --replay-speed warp -e '1'

check "catalogue: at least 30 bad inputs tried ($cases)" [ "$cases" -ge 30 ]

# an endless loop inside a module the script requires: stopped as well, at
# the module's line (required code stays out of the JIT like the script)
mkdir -p "$TMP/mods"
printf 'local M = {}\nfunction M.spin() local i = 0 while true do i = i + 1 end end\nreturn M\n' >"$TMP/mods/kpspin.lua"
printf 'package.path = "%s/mods/?.lua;" .. package.path\nlocal spin = require "kpspin"\nkp.tracepoint("syscalls:sys_enter_getppid", function() spin.spin() end)\n' "$TMP" >"$TMP/c_module.lua"
kp_run -c "$PROGS/gen_getppid 3 /dev/null" "$TMP/c_module.lua"
exits "catalogue/endless_in_module: exit 1" 1
check "catalogue/endless_in_module: names the module's line ($(oneline "$TMP/err"))" \
	grep -q "kpspin.lua:2: a callback ran for more than" "$TMP/err"
none_left catalogue/endless_in_module
