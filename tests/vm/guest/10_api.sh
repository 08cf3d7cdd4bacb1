#!/bin/sh
# kp.has against tests/vm/KERNELS.md, unknown symbols, kretprobe maxactive,
# --dry-run of kprobes.
. /kp/guest/lib.sh

# kp.has: every feature against this kernel's column of the table in
# tests/vm/KERNELS.md (vm.sh names the column: KPVM_LABEL)
sh /kp/tests/vm/features.sh "$KPSCRIPT" /kp/tests/vm/KERNELS.md "$KPVM_LABEL"
line=$("$KPSCRIPT" -e 'print(pcall(kp.has, "nonsense"))' 2>&1)
check "has: kp.has(\"nonsense\") is an error listing the known features ($line)" \
	cond 'echo "$line" | grep -q "^false	.*unknown feature .nonsense. (known: .*kretprobe_stack"'

# an unknown kernel function: one-line error naming the script line and
# suggesting the close name
lua unknown <<'L'
kp.kprobe("do_sys_opnat2", { dfd = "%di:s32" }, function() end)
L
kp unknown 1 "$TMP/unknown.lua"
err=$(head -c 400 "$TMP/unknown.err" | tr '\n' ' ')
check "unknown symbol: the error names the script line ($err)" grep -q 'unknown.lua:1:' "$TMP/unknown.err"
check "unknown symbol: the error names the symbol" grep -q 'do_sys_opnat2' "$TMP/unknown.err"
check "unknown symbol: the error suggests do_sys_openat2" grep -q 'do_sys_openat2' "$TMP/unknown.err"
check "unknown symbol: no traceback for a declaration error" not grep -q 'stack traceback' "$TMP/unknown.err"

# an unknown kretprobe symbol as well, caught with pcall: the error is a
# value whose tostring() is the line
lua unknownret <<'L'
local ok, e = pcall(kp.kretprobe, "no_such_function_xyz", { ret = "$retval:s32" }, function() end)
print(ok, tostring(e))
L
kp unknownret 0 "$TMP/unknownret.lua"
check "unknown symbol: pcall(kp.kretprobe, 'no_such_function_xyz') fails with a message naming it ($(head -c 200 "$TMP/unknownret.out"))" \
	grep -q '^false	.*no_such_function_xyz' "$TMP/unknownret.out"

# kretprobe maxactive lands in the definition (r16:...)
lua maxactive <<'L'
local p = kp.kretprobe("do_sys_openat2", { ret = "$retval:s32" }, { maxactive = 16 }, function() end)
print("NAME", p.name)
print("DEF", p.definition)
L
kp maxactive 0 -c true "$TMP/maxactive.lua"
def=$(sed -n 's/^DEF	//p' "$TMP/maxactive.out")
check "maxactive: p.definition starts with r16: ($def)" [ "${def#r16:}" != "$def" ]
check "maxactive: p.name is kretprobe:do_sys_openat2" grep -q '^NAME	kretprobe:do_sys_openat2$' "$TMP/maxactive.out"

# --dry-run prints kprobe lines and creates nothing
lua dry <<'L'
kp.kprobe("do_sys_openat2", { dfd = "%di:s32", fname = "+0(%si):string" }, function() end)
kp.kretprobe("do_sys_openat2", { ret = "$retval:s32" }, function() end)
kp.probe("p:commit_creds uid=+4(%di):u32", function() end)
L
kp dry 0 --dry-run "$TMP/dry.lua"
check "dry-run: the kprobe's definition (p:kpscript_PID/... do_sys_openat2 dfd=%di:s32 fname=+0(%si):string)" \
	grep -q '^p:kpscript_[0-9]*/[^ ]* do_sys_openat2 dfd=%di:s32 fname=+0(%si):string$' "$TMP/dry.out"
check "dry-run: the kretprobe's definition (r...:kpscript_PID/... do_sys_openat2 ret=\$retval:s32)" \
	grep -q '^r[0-9]*:kpscript_[0-9]*/[^ ]* do_sys_openat2 ret=\$retval:s32$' "$TMP/dry.out"
check "dry-run: the raw kp.probe's definition (p:kpscript_PID/... commit_creds uid=+4(%di):u32)" \
	grep -q '^p:kpscript_[0-9]*/[^ ]* commit_creds uid=+4(%di):u32$' "$TMP/dry.out"
[ "$(grep -c . "$TMP/dry.out")" -ge 3 ] || diag "$TMP/dry.out"
