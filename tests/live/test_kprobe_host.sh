# kprobes on a kernel without them (CONFIG_KPROBES off, as here): one clear
# line, kp.has() says so, --dry-run still prints the definitions. Where the
# kernel has kprobes these checks do not apply (tests/vm covers them).
. tests/live/lib.sh
need_live kprobe_host
if [ -e "$TRACEFS/kprobe_events" ]; then
	skip "kprobe_host: this kernel has kprobes (tests/vm runs the kprobe tests)"
	exit 0
fi
before=$(leftovers | wc -l)

kp -e 'kp.kprobe("do_sys_openat2", { dfd = "%di:s32" }, function() end)'
exits "kprobe_host: kp.kprobe fails with status 1" 1
one_err_line "kprobe_host: one line on stderr"
check "kprobe_host: it names CONFIG_KPROBES ($(cat "$TMP/err"))" grep -q 'CONFIG_KPROBES' "$TMP/err"
check "kprobe_host: it suggests tracepoints and uprobes" grep -q 'kp.tracepoint.*kp.uprobe' "$TMP/err"
names_line "kprobe_host: it names the script line" -e:1

out=$("$KPSCRIPT" -e 'print(kp.has("kprobe"), kp.has("kretprobe"), kp.has("uprobe"), kp.has("tracepoint"))')
check "kprobe_host: kp.has: kprobe false, kretprobe false, uprobe true, tracepoint true ($out)" \
	[ "$out" = "$(printf 'false\tfalse\ttrue\ttrue')" ]

cat >"$TMP/k.lua" <<'LUA'
kp.kprobe("do_sys_openat2", { dfd = "%di:s32", fname = "+0(%si):string" }, function() end)
kp.kretprobe({ "kp_no_such_fn", "do_sys_openat2" }, { ret = "$retval:s32" }, { maxactive = 32 }, function() end)
kp.probe("p:commit_creds uid=+8(%di):u32", function() end)
LUA
kp --dry-run "$TMP/k.lua"
check "kprobe_host: --dry-run exits 0 (got $rc: $(head -c 300 "$TMP/err"))" [ $rc -eq 0 ]
check "kprobe_host: --dry-run prints the kprobe line" \
	grep -Eq '^p:kpscript_[0-9]+/k_do_sys_openat2_[0-9]+ do_sys_openat2 dfd=%di:s32 fname=\+0\(%si\):string$' "$TMP/out"
check "kprobe_host: --dry-run prints the kretprobe of the existing candidate with maxactive" \
	grep -Eq '^r32:kpscript_[0-9]+/kr_do_sys_openat2_[0-9]+ do_sys_openat2 ret=\$retval:s32$' "$TMP/out"
check "kprobe_host: --dry-run prints the raw definition under our group" \
	grep -Eq '^p:kpscript_[0-9]+/k_commit_creds_[0-9]+ commit_creds uid=\+8\(%di\):u32$' "$TMP/out"
check "kprobe_host: --dry-run printed exactly 3 lines" [ "$(wc -l <"$TMP/out")" -eq 3 ]

kp --dry-run -e 'kp.kprobe("do_sys_opnat2", {}, function() end)'
exits "kprobe_host: an unknown symbol fails even in --dry-run" 1
check "kprobe_host: and suggests close names from kallsyms ($(cat "$TMP/err"))" \
	grep -q "unknown kernel function 'do_sys_opnat2'.*close names: do_sys_openat2" "$TMP/err"

kp cred_watch.lua
exits "kprobe_host: cred_watch.lua refuses with status 1" 1
check "kprobe_host: cred_watch.lua says why ($(cat "$TMP/err"))" grep -q 'no kprobes' "$TMP/err"

kp -d 0.2 exec_watch.lua
check "kprobe_host: exec_watch.lua falls back to a path without kprobes ($(head -1 "$TMP/err"))" \
	grep -q '^exec_watch: tracing execs via \(tracepoints\|uprobe\|sched_process_exec\)' "$TMP/err"
none_new "kprobe_host: nothing left registered" "$before"
