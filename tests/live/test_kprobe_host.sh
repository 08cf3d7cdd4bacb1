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

"$KPSCRIPT" -e 'kp.kprobe("do_sys_openat2", { dfd = "%di:s32" }, function() end)' >"$TMP/out" 2>"$TMP/err"
rc=$?
check "kprobe_host: kp.kprobe fails with status 1 (got $rc)" [ $rc -eq 1 ]
check "kprobe_host: one line on stderr" [ "$(wc -l <"$TMP/err")" -eq 1 ]
check "kprobe_host: it names CONFIG_KPROBES ($(cat "$TMP/err"))" grep -q 'CONFIG_KPROBES' "$TMP/err"
check "kprobe_host: it suggests tracepoints and uprobes" grep -q 'kp.tracepoint.*kp.uprobe' "$TMP/err"
check "kprobe_host: it names the script line" grep -q '^kpscript: -e:1: ' "$TMP/err"

out=$("$KPSCRIPT" -e 'print(kp.has("kprobe"), kp.has("kretprobe"), kp.has("uprobe"), kp.has("tracepoint"))')
check "kprobe_host: kp.has: kprobe false, kretprobe false, uprobe true, tracepoint true ($out)" \
	[ "$out" = "$(printf 'false\tfalse\ttrue\ttrue')" ]

cat >"$TMP/k.lua" <<'LUA'
kp.kprobe("do_sys_openat2", { dfd = "%di:s32", fname = "+0(%si):string" }, function() end)
kp.kretprobe({ "kp_no_such_fn", "do_sys_openat2" }, { ret = "$retval:s32" }, { maxactive = 32 }, function() end)
kp.probe("p:commit_creds uid=+8(%di):u32", function() end)
LUA
"$KPSCRIPT" --dry-run "$TMP/k.lua" >"$TMP/out" 2>"$TMP/err"
rc=$?
check "kprobe_host: --dry-run exits 0 (got $rc: $(head -c 300 "$TMP/err"))" [ $rc -eq 0 ]
check "kprobe_host: --dry-run prints the kprobe line" \
	grep -Eq '^p:kpscript_[0-9]+/k_do_sys_openat2_[0-9]+ do_sys_openat2 dfd=%di:s32 fname=\+0\(%si\):string$' "$TMP/out"
check "kprobe_host: --dry-run prints the kretprobe of the existing candidate with maxactive" \
	grep -Eq '^r32:kpscript_[0-9]+/kr_do_sys_openat2_[0-9]+ do_sys_openat2 ret=\$retval:s32$' "$TMP/out"
check "kprobe_host: --dry-run prints the raw definition under our group" \
	grep -Eq '^p:kpscript_[0-9]+/k_commit_creds_[0-9]+ commit_creds uid=\+8\(%di\):u32$' "$TMP/out"
check "kprobe_host: --dry-run printed exactly 3 lines" [ "$(wc -l <"$TMP/out")" -eq 3 ]

"$KPSCRIPT" --dry-run -e 'kp.kprobe("do_sys_opnat2", {}, function() end)' >"$TMP/out" 2>"$TMP/err"
rc=$?
check "kprobe_host: an unknown symbol fails even in --dry-run (got $rc)" [ $rc -eq 1 ]
check "kprobe_host: and suggests close names from kallsyms ($(cat "$TMP/err"))" \
	grep -q "unknown kernel function 'do_sys_opnat2'.*close names: do_sys_openat2" "$TMP/err"

"$KPSCRIPT" cred_watch.lua >"$TMP/out" 2>"$TMP/err"
rc=$?
check "kprobe_host: cred_watch.lua refuses with status 1 (got $rc)" [ $rc -eq 1 ]
check "kprobe_host: cred_watch.lua says why ($(cat "$TMP/err"))" grep -q 'no kprobes' "$TMP/err"

"$KPSCRIPT" -d 0.2 exec_watch.lua >"$TMP/out" 2>"$TMP/err"
check "kprobe_host: exec_watch.lua falls back to a path without kprobes ($(head -1 "$TMP/err"))" \
	grep -q '^exec_watch: tracing execs via \(uprobe\|sched_process_exec\)' "$TMP/err"
check "kprobe_host: nothing left registered" [ "$(leftovers | wc -l)" -eq "$before" ]
