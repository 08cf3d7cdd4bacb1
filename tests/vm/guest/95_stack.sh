#!/bin/sh
# Stacks (opts.stack, ev.stack, kp.ksym/kp.usym/kp.frames, counts keyed by
# stack, folded output) on the guest's kernel: kprobes and a kretprobe on
# do_sys_openat2 while progs/openat and busybox cat open known files, a
# uprobe on libc's openat() and one on setids's do_setresuid(); kprobes on
# do_sys_openat2 and commit_creds with no kretprobe beside them.
#
# The chain of an openat(2) is, as kpscript names it:
#   do_sys_openat2 <- __x64_sys_openat+OFF <- do_syscall_64+OFF
#   <- entry_SYSCALL_64_after_hwframe+OFF
# The kernel reports the first frame as the probed instruction + 1 (an
# ftrace-based kprobe sets regs->ip as if an int3 had been hit:
# do_sys_openat2+0x1), and with IBT (6.12) a function that starts with
# endbr64 is probed at +4 (commit_creds+0x5); kpscript makes an entry
# kprobe's first frame the function's own address on every kernel.
# do_sys_open() is not a frame: __x64_sys_openat calls do_sys_openat2
# directly (do_sys_open is inlined into it).
#
# While a kretprobe holds a function's return address, a kernel whose
# unwinder cannot find the real one behind the trampoline (5.10: no
# kretprobe_find_ret_addr/rethook_find_ret_addr, kp.has("kretprobe_stack")
# false) ends every kernel chain through that function at the trampoline:
# kpscript names that frame "[callers lost: kretprobe_trampoline]", and a
# kretprobe's own stack starts at its __probe_ret_ip, the caller's frame,
# before it. The callers above are lost; the tests say which kernel is which.
. /kp/guest/lib.sh
O=$PROGS/openat
D=$TMP/d
mkdir -p "$D"
echo a >"$D/kpvm-stack-a"
mkfifo "$D/kpvm-stack-fifo"
# the libc the test programs run with, for a uprobe on its openat()
LIBC=
for f in /lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libc.so.6 /lib64/libc.so.6; do
	[ -f "$f" ] && { LIBC=$f; break; }
done
export KPVM_LIBC=$LIBC

# frame names of the guest's chain, offsets left open where they depend on
# the kernel build
X='\+0x[0-9a-f]+'
FULL="do_sys_openat2;__x64_sys_openat$X;do_syscall_64$X;entry_SYSCALL_64_after_hwframe$X"
LOST='\[callers lost: [a-z_]*trampoline\]'
KRS=$("$KPSCRIPT" -e 'print(kp.has("kretprobe_stack"))' 2>&1)
echo "# kp.has(\"kretprobe_stack\") is $KRS on $(uname -r)"
# the chain of do_sys_openat2 beside a kretprobe on the same function
if [ "$KRS" = true ]; then
	KCHAIN=$FULL
	KFOLD="entry_SYSCALL_64_after_hwframe$X;do_syscall_64$X;__x64_sys_openat$X;do_sys_openat2"
	WHY="the kernel unwinds through the kretprobe's trampoline"
else
	KCHAIN="do_sys_openat2;$LOST"
	KFOLD="\[callers_lost:_[a-z_]*trampoline\];do_sys_openat2"
	WHY="kp.has(\"kretprobe_stack\") is false: the callers behind the kretprobe's trampoline are lost"
fi
readable() { echo "$1" | sed 's/\\+0x\[0-9a-f\]+/+OFF/g; s/\[a-z_\]\*/kretprobe_/g; s/\\//g'; }

# --- one run: kprobes with each stack option, a kretprobe, a libc uprobe ---
lua stack <<'L'
-- counts keyed by stack: openat's opens with user frames, cat's without
local both = kp.count()
local kern = kp.count()
-- do_sys_openat2's address in /proc/kallsyms, as a 64-bit integer
local fstart
for l in io.lines("/proc/kallsyms") do
  local a, n = l:match("^(%x+) %a (%S+)$")
  if n == "do_sys_openat2" then
    fstart = 0ULL
    for c in a:gmatch(".") do fstart = fstart * 16 + tonumber(c, 16) end
    break
  end
end
print("FSTART", fstart and kp.ksym(fstart), fstart and kp.ksym("0x" .. bit.tohex(fstart, 16)))
local function mine(ev) return ev.fname:find("kpvm-stack", 1, true) ~= nil end
local entered = {} -- tid -> true while one of openat's opens is in flight
kp.kprobe("do_sys_openat2", { fname = "+0(%si):string" }, { stack = true }, function(ev)
  if not mine(ev) or ev.comm ~= "openat" then return end
  local st = ev.stack
  entered[ev.tid] = true
  both:add(st)
  print("E", ev.pid, type(st), st.pid, #st, st.nkernel, st.nuser)
  print("EK", ev.pid, table.concat(kp.ksym(st), ";"))
  print("EU", ev.pid, table.concat(kp.usym(st), ";"))
  print("EF", ev.pid, table.concat(kp.frames(st), ";"))
  print("EA", ev.pid, kp.ksym(st[1]), tostring(fstart ~= nil and st[1] == fstart),
    tostring(st[#st + 1]))
  print("ET", ev.pid, (tostring(st):gsub("\n", "|")))
end)
kp.kprobe("do_sys_openat2", { fname = "+0(%si):string" }, { stack = "kernel" }, function(ev)
  if not mine(ev) then return end
  local st = ev.stack
  if ev.comm == "cat" then kern:add(st) end
  print("K", ev.comm, ev.pid, #st, st.nkernel, st.nuser, table.concat(kp.ksym(st), ";"))
end)
kp.kprobe("do_sys_openat2", { fname = "+0(%si):string" }, { stack = "user" }, function(ev)
  if not mine(ev) or ev.comm ~= "openat" then return end
  local st = ev.stack
  print("U", ev.pid, #st, st.nkernel, st.nuser, table.concat(kp.frames(st), ";"))
end)
kp.kprobe("do_sys_openat2", { fname = "+0(%si):string" }, function(ev)
  if mine(ev) and ev.comm == "openat" then print("N", ev.pid, tostring(ev.stack)) end
end)
kp.kretprobe("do_sys_openat2", { ret = "$retval:s32" }, { stack = true }, function(ev)
  if not entered[ev.tid] then return end
  entered[ev.tid] = nil
  local st = ev.stack
  print("R", ev.pid, ev.ret, type(st), st and st.nkernel, st and st.nuser)
  if st then print("RF", ev.pid, table.concat(kp.frames(st), ";")) end
end)
local libc = os.getenv("KPVM_LIBC")
if libc and libc ~= "" then
  kp.uprobe(libc .. ":openat", nil, { stack = true }, function(ev)
    if ev.comm ~= "openat" then return end
    local st = ev.stack
    print("L", ev.pid, #st, st.nkernel, st.nuser, table.concat(kp.frames(st), ";"))
  end)
end
kp.run()
print("FOLDED both")
kp.print(both, { folded = true })
print("FOLDED kern")
kp.print(kern, { folded = true })
print("FOLDED end")
L
# openat waits in its last open (a FIFO) until the command opens the FIFO
# for writing, 2 s after the program printed its pid, so it is still
# running when kpscript names its user frames; then cat opens a file twice
cat >"$TMP/run.sh" <<EOF
$O cwd $D/kpvm-stack-a $D/kpvm-stack-a $D/kpvm-stack-missing $D/kpvm-stack-fifo >$TMP/prog.out &
i=0
while [ \$i -lt 200 ] && ! grep -q '^pid' $TMP/prog.out; do sleep 0.1; i=\$((i + 1)); done
sleep 2
: >$D/kpvm-stack-fifo
wait
cat $D/kpvm-stack-a $D/kpvm-stack-a >/dev/null
EOF
kp stack 0 -c "sh $TMP/run.sh" "$TMP/stack.lua"
S=$TMP/stack.out
# the script declares its kprobes with stacks before the kretprobe on the
# same function: where that cuts their stacks, kpscript says so, once
nw=$(grep -c '^kpscript: warning: .*kp.kretprobe on do_sys_openat2 after a kprobe with stacks on it: .*declare the kretprobe first$' "$TMP/stack.err")
if [ "$KRS" = true ]; then
	check "a kretprobe declared after kprobes with stacks: no warning where the kernel unwinds through it ($nw)" [ "$nw" -eq 0 ]
else
	check "a kretprobe declared after kprobes with stacks: one warning naming the script line and the fix ($nw)" \
		cond '[ "$nw" -eq 1 ] && grep -q "warning: $TMP/stack.lua:[0-9]*: kp.kretprobe" "$TMP/stack.err"'
fi
pid=$(progpid "$TMP/prog.out")
nopen=$(grep -c '^open ' "$TMP/prog.out")
check "openat ran and made its 4 opens (pid $pid, $nopen opens)" cond '[ -n "$pid" ] && [ "$nopen" -eq 4 ]'
[ "$nopen" -eq 4 ] || { diag "$TMP/prog.out"; diag "$TMP/stack.err"; }
sed -n '1,/^FOLDED both$/p' "$S" | grep -m1 '^EF' | sed 's/^/# first stack of openat: /'
grep -m1 '^ET' "$S" | sed 's/^/# tostring(ev.stack): /'

# kprobe, stack = true
n=$(awk -v p="$pid" '$1 == "E" && $2 == p' "$S" | wc -l)
check "kprobe stack=true: an event per open of pid $pid ($n of $nopen)" [ "$n" -eq "$nopen" ]
bad=$(awk -F'\t' -v p="$pid" '$1 == "E" && !($2 == p && $3 == "userdata" && $4 == p && $5 == $6 + $7 && $6 > 0 && $7 > 0)' "$S")
check "kprobe stack=true: ev.stack is a userdata with kernel and user frames, #st = nkernel + nuser, st.pid = ev.pid" \
	cond '[ "$n" -gt 0 ] && [ -z "$bad" ]'
[ -z "$bad" ] || echo "$bad" | head -3 | sed 's/^/#   /'
bad=$(awk -F'\t' '$1 == "EK"' "$S" | grep -Ev "	$KCHAIN\$")
check "kprobe stack=true beside a kretprobe: the kernel frames are exactly $(readable "$KCHAIN") ($WHY)" \
	cond '[ "$n" -gt 0 ] && [ -z "$bad" ]'
[ -z "$bad" ] || echo "$bad" | head -3 | sed 's/^/#   /'
check "kprobe stack=true: every open of the program has the same kernel frames" \
	[ "$(awk -F'\t' '$1 == "EK" { print $3 }' "$S" | sort -u | wc -l)" -eq 1 ]
fstart=$(awk -F'\t' '$1 == "FSTART"' "$S")
check "kp.ksym(kallsyms address of do_sys_openat2), number and \"0x...\" string, is \"do_sys_openat2\" (no +0x0) ($fstart)" \
	[ "$fstart" = "FSTART	do_sys_openat2	do_sys_openat2" ]
bad=$(awk -F'\t' '$1 == "EA" && !($3 == "do_sys_openat2" && $4 == "true" && $5 == "nil")' "$S")
check "kp.ksym(ev.stack[1]) is do_sys_openat2 (not +0x1), ev.stack[1] is kallsyms' address, ev.stack[#st + 1] is nil" \
	cond '[ "$n" -gt 0 ] && [ -z "$bad" ] && grep -q "^EA" "$S"'
[ -z "$bad" ] || echo "$bad" | head -3 | sed 's/^/#   /'
# user frames: libc's openat() wrapper keeps no frame pointer, so the walk
# goes from it to the return address in main's frame (main itself is not a
# frame; the uprobe below restores the caller at a function's entry)
bad=$(awk -F'\t' '$1 == "EU"' "$S" | grep -Ev '	openat(64)?\+0x[0-9a-f]+(;|$)')
check "kprobe stack=true: the innermost user frame is libc's openat+OFF (named while the program runs)" \
	cond '[ "$n" -gt 0 ] && [ -z "$bad" ]'
[ -z "$bad" ] || echo "$bad" | head -3 | sed 's/^/#   /'
bad=$(awk -F'\t' '$1 == "EF" { k = $3 } $1 == "EK" { ek = $3 } $1 == "EU" { eu = $3 }
	$1 == "ET" { if (k != ek ";" eu) print "frames " k " kernel;user " ek ";" eu
		t = $3; gsub(/\|        /, ";", t); sub(/^;/, "", t); sub(/\|$/, "", t)
		if (t != k) print "tostring " $3 }' "$S")
check "kp.frames(st) is kp.ksym(st) then kp.usym(st); tostring(st) is a line per frame, 8 spaces in" \
	cond '[ "$n" -gt 0 ] && [ -z "$bad" ]'
[ -z "$bad" ] || echo "$bad" | head -3 | sed 's/^/#   /'

# stack = "kernel", stack = "user", no stack
bad=$(awk -F'\t' '$1 == "K" && !($4 == $5 && $6 == 0)' "$S")
nk=$(awk -F'\t' -v p="$pid" '$1 == "K" && $2 == "openat" && $3 == p' "$S" | wc -l)
check "kprobe stack=\"kernel\": kernel frames only ($nk events of pid $pid)" cond '[ "$nk" -eq "$nopen" ] && [ -z "$bad" ]'
kfr=$(awk -F'\t' '$1 == "EK" { print $3; exit }' "$S")
bad=$(awk -F'\t' -v k="$kfr" '$1 == "K" && $7 != k' "$S")
check "kprobe stack=\"kernel\": the same kernel frames as stack=true, for openat and cat" cond '[ -n "$kfr" ] && [ -z "$bad" ]'
[ -z "$bad" ] || echo "$bad" | head -3 | sed 's/^/#   /'
ufr=$(awk -F'\t' '$1 == "EU" { print $3; exit }' "$S")
nu=$(awk -F'\t' -v p="$pid" '$1 == "U" && $2 == p' "$S" | wc -l)
bad=$(awk -F'\t' -v u="$ufr" '$1 == "U" && !($4 == 0 && $3 == $5 && $6 == u)' "$S")
check "kprobe stack=\"user\": user frames only, the same as stack=true's ($nu events)" \
	cond '[ "$nu" -eq "$nopen" ] && [ -n "$ufr" ] && [ -z "$bad" ]'
[ -z "$bad" ] || echo "$bad" | head -3 | sed 's/^/#   /'
nn=$(awk -F'\t' '$1 == "N"' "$S" | wc -l)
bad=$(awk -F'\t' '$1 == "N" && $3 != "nil"' "$S")
check "kprobe without opts.stack: ev.stack is nil ($nn events)" cond '[ "$nn" -eq "$nopen" ] && [ -z "$bad" ]'

# kretprobe: the callchain starts at the return address in the caller; it
# is the entry's without its first frame, or, where the kernel stops at the
# trampoline, the caller (__probe_ret_ip) and then the same lost frame
nr=$(awk -F'\t' -v p="$pid" '$1 == "R" && $2 == p && $4 == "userdata"' "$S" | wc -l)
check "kretprobe stack=true: ev.stack on each return of pid $pid ($nr of $nopen)" [ "$nr" -eq "$nopen" ]
want=$(awk -F'\t' '$1 == "EF" { sub(/^[^;]*;/, "", $3); print $3; exit }' "$S")
if [ "$KRS" = true ]; then
	bad=$(awk -F'\t' -v w="$want" '$1 == "RF" && $3 != w' "$S")
	check "kretprobe stack=true: the entry's frames without do_sys_openat2 (innermost: __x64_sys_openat+OFF)" \
		cond '[ "$nr" -gt 0 ] && [ -n "$want" ] && [ -z "$bad" ] && echo "$want" | grep -Eq "^__x64_sys_openat$X;"'
else
	bad=$(awk -F'\t' -v w="$want" '$1 == "RF" { f = $3; sub(/^[^;]*;/, "", f); if (f != w) print }' "$S")
	check "kretprobe stack=true: the caller __x64_sys_openat+OFF from __probe_ret_ip, then the entry's frames without do_sys_openat2 (from [callers lost: ...]; $WHY)" \
		cond '[ "$nr" -gt 0 ] && [ -n "$want" ] && [ -z "$bad" ] && echo "$want" | grep -Eq "^$LOST;" &&
			! awk -F"\t" "\$1 == \"RF\"" "$S" | grep -Evq "	__x64_sys_openat$X;"'
fi
[ -z "$bad" ] || echo "$bad" | head -3 | sed 's/^/#   /'
grep -m1 '^RF' "$S" | sed 's/^/# kretprobe stack: /'

# counts keyed by stack, folded: user frames outermost first, then kernel
# frames outermost first, then the count; blanks inside a frame's text
# ("0x7f.. (libc.so.6+0x2724a)") become "_"
sed -n '/^FOLDED both$/,/^FOLDED kern$/p' "$S" | sed '1d;$d' >"$TMP/fold-both"
sed -n '/^FOLDED kern$/,/^FOLDED end$/p' "$S" | sed '1d;$d' >"$TMP/fold-kern"
sed 's/^/# folded both: /' "$TMP/fold-both"
sed 's/^/# folded kern: /' "$TMP/fold-kern"
want=$(awk -F'\t' -v c="$nopen" '$1 == "EK" { nk = split($3, kf, ";") } $1 == "EU" { nu = split($3, uf, ";") }
	$1 == "ET" { s = ""; for (i = nu; i >= 1; i--) { f = uf[i]; gsub(/[ \t]/, "_", f); s = s f ";" }
		for (i = nk; i >= 1; i--) { f = kf[i]; gsub(/[ \t]/, "_", f); s = s f (i > 1 ? ";" : "") }
		print s " " c; exit }' "$S")
check "count keyed by stack=true stacks, folded: one line, user root first, kernel leaf last, count $nopen" \
	cond '[ -n "$want" ] && [ "$(cat "$TMP/fold-both")" = "$want" ]'
[ "$(cat "$TMP/fold-both")" = "$want" ] || echo "# want: $want"
check "folded: the line ends with the kernel part $(readable "$KFOLD") and the count" \
	grep -Eq ";$KFOLD $nopen\$" "$TMP/fold-both"
ncat=$(awk -F'\t' '$1 == "K" && $2 == "cat"' "$S" | wc -l)
check "count of cat's kernel stacks, folded: exactly '$(readable "$KFOLD") 2' ($ncat opens by cat)" \
	cond '[ "$ncat" -eq 2 ] && [ "$(wc -l <"$TMP/fold-kern")" -eq 1 ] && grep -Eqx "$KFOLD 2" "$TMP/fold-kern"'
# at exit: every non-empty count as bpftrace prints it
block() { awk -v h="$1[" '$0 == h { on = 1 } on { print } on && /^\]: / { exit }' "$S"; }
want=$(printf '@kern[\n'; echo "$kfr" | tr ';' '\n' | sed 's/^/        /'; printf ']: 2')
check "at exit: @kern printed as bpftrace does (@kern[, a frame per line, ]: 2)" [ "$(block @kern)" = "$want" ]
[ "$(block @kern)" = "$want" ] || block @kern | sed 's/^/#   got: /'
want=$(printf '@both[\n'; awk -F'\t' '$1 == "EF" { print $3; exit }' "$S" | tr ';' '\n' | sed 's/^/        /'; printf ']: %s' "$nopen")
check "at exit: @both printed with its kernel then user frames and ]: $nopen" [ "$(block @both)" = "$want" ]
[ "$(block @both)" = "$want" ] || block @both | sed 's/^/#   got: /'

# uprobe on libc's openat(): at a function's first instruction the caller
# (main) comes from the return address kpscript fetches at the stack pointer
if [ -z "$LIBC" ]; then
	skip "uprobe on libc's openat: no libc.so.6 in the guest"
else
	nl=$(awk -F'\t' -v p="$pid" '$1 == "L" && $2 == p' "$S" | wc -l)
	check "uprobe $LIBC:openat stack=true: an event per open of pid $pid ($nl of $nopen)" [ "$nl" -eq "$nopen" ]
	bad=$(awk -F'\t' '$1 == "L" && !($4 == 0 && $3 == $5 && $5 >= 2)' "$S")
	check "uprobe stack=true: user frames only (a uprobe has no kernel part), at least 2" \
		cond '[ "$nl" -gt 0 ] && [ -z "$bad" ]'
	bad=$(awk -F'\t' '$1 == "L"' "$S" | grep -Ev '	openat(64)?;main\+0x[0-9a-f]+(;|$)')
	check "uprobe stack=true: frames openat (no +0x0: the uprobe's address is the function's) then main+OFF" \
		cond '[ "$nl" -gt 0 ] && [ -z "$bad" ]'
	[ -z "$bad" ] || echo "$bad" | head -3 | sed 's/^/#   /'
	grep -m1 '^L' "$S" | sed 's/^/# libc uprobe stack: /'
fi

# --- uprobe on setids's do_setresuid(), called through step() from main() ---
lua setids <<'L'
local P = "/kp/progs/setids"
local off = {}
for _, s in ipairs { "do_setresuid", "step", "main" } do off[s] = kp.elfsym(P, s) end
print("ELF", off.do_setresuid, off.step, off.main)
kp.uprobe(P .. ":do_setresuid", nil, { stack = true }, function(ev)
  local st = ev.stack
  local base = st[1] - off.do_setresuid
  local t = { "S", ev.pid, #st, st.nkernel, st.nuser, base % 4096 }
  for i = 1, math.min(st.nuser, 3) do t[#t + 1] = string.format("%d", st[i] - base) end
  print(table.concat(t, "\t"))
  print("SF", ev.pid, table.concat(kp.frames(st), ";"))
end)
L
kp setids 0 -c "$PROGS/setids >$TMP/ids.out" "$TMP/setids.lua"
S=$TMP/setids.out
spid=$(progpid "$TMP/ids.out")
set -- $(awk -F'\t' '$1 == "ELF" { print $2, $3, $4 }' "$S")
e_do=${1:-x} e_step=${2:-x} e_main=${3:-x}
ns=$(awk -F'\t' -v p="$spid" '$1 == "S" && $2 == p' "$S" | wc -l)
check "uprobe setids:do_setresuid stack=true: 3 events of pid $spid ($ns)" [ "$ns" -eq 3 ]
bad=$(awk -F'\t' -v d="$e_do" -v s="$e_step" -v m="$e_main" '$1 == "S" && !($4 == 0 && $3 == $5 && $5 >= 3 &&
	$6 == 0 && $7 == d && $8 > s && $8 < s + 512 && $9 > m && $9 < m + 1024)' "$S")
check "uprobe stack=true: frames do_setresuid, its caller step (restored), then main (offsets in the file: $e_do $e_step $e_main)" \
	cond '[ "$ns" -gt 0 ] && [ -z "$bad" ]'
[ -z "$bad" ] || echo "$bad" | head -3 | sed 's/^/#   /'
n2=$(awk -F'\t' '$1 == "S" { print $8 }' "$S" | sort -u | wc -l)
n3=$(awk -F'\t' '$1 == "S" { print $9 }' "$S" | sort -u | wc -l)
check "uprobe stack=true: one return address in step for the three calls ($n2), three in main ($n3)" \
	cond '[ "$n2" -eq 1 ] && [ "$n3" -eq 3 ]'
awk -F'\t' '$1 == "S"' "$S" | head -3 | sed 's/^/# setids frames (file offsets): /'
grep -m1 '^SF' "$S" | sed 's/^/# setids frames as kp.frames names them: /'
# setids has exited when kpscript gets to its samples: its maps are gone, so
# its frames may stay bare addresses (not checked; openat's above are named
# because it waits in the FIFO's open)
grep -q '^SF.*do_setresuid' "$S" || echo "# note: setids's user frames were not named (the process had exited)"

# --- kprobes with no kretprobe beside them: the whole chain on every kernel;
# commit_creds starts with endbr64 where the kernel has IBT (6.12), so the
# kernel probes it at +4 and reports +0x5: kpscript's first frame is still
# the function's address
lua alone <<'L'
local addr = {}
for l in io.lines("/proc/kallsyms") do
  local a, n = l:match("^(%x+) %a (%S+)$")
  if n == "do_sys_openat2" or n == "commit_creds" then
    addr[n] = 0ULL
    for c in a:gmatch(".") do addr[n] = addr[n] * 16 + tonumber(c, 16) end
  end
end
kp.kprobe("do_sys_openat2", { fname = "+0(%si):string" }, { stack = "kernel" }, function(ev)
  if not ev.fname:find("kpvm-alone", 1, true) then return end
  local st = ev.stack
  print("A", ev.comm, tostring(st[1] == addr.do_sys_openat2), table.concat(kp.ksym(st), ";"))
end)
kp.kprobe("commit_creds", {}, { stack = "kernel" }, function(ev)
  if ev.comm ~= "setids" then return end
  local st = ev.stack
  print("C", ev.comm, tostring(st[1] == addr.commit_creds), kp.ksym(ev.__probe_ip),
    table.concat(kp.ksym(st), ";"))
end)
L
kp alone 0 -c "cat $D/kpvm-alone-x 2>/dev/null; $PROGS/setids >/dev/null" "$TMP/alone.lua"
S=$TMP/alone.out
grep -m1 '^A' "$S" | sed 's/^/# do_sys_openat2 alone: /'
grep -m1 '^C' "$S" | sed 's/^/# commit_creds alone: /'
na=$(awk -F'\t' '$1 == "A"' "$S" | wc -l)
bad=$(awk -F'\t' '$1 == "A" && $3 != "true"' "$S"; awk -F'\t' '$1 == "A" { print $4 }' "$S" | grep -Evx "$FULL")
check "kprobe stack=\"kernel\" with no kretprobe on the function: exactly $(readable "$FULL") on every kernel, the first frame kallsyms' address ($na opens)" \
	cond '[ "$na" -ge 1 ] && [ -z "$bad" ]'
[ -z "$bad" ] || echo "$bad" | head -3 | sed 's/^/#   /'
nc=$(awk -F'\t' '$1 == "C"' "$S" | wc -l)
ns=$(awk -F'\t' '$1 == "C" && $5 ~ /^commit_creds;__sys_setres[ug]id\+0x[0-9a-f]+;/' "$S" | wc -l)
bad=$(awk -F'\t' '$1 == "C" && !($3 == "true" && $5 ~ /^commit_creds;/)' "$S"
	awk -F'\t' '$1 == "C" { print $5 }' "$S" | grep -Ev ";do_syscall_64$X;entry_SYSCALL_64_after_hwframe$X\$")
check "kprobe on commit_creds, stack=\"kernel\": the first frame is commit_creds, its kallsyms address, whatever the kernel's probe offset; the chain ends do_syscall_64+OFF;entry_SYSCALL_64_after_hwframe+OFF ($nc calls)" \
	cond '[ "$nc" -ge 6 ] && [ -z "$bad" ]'
[ -z "$bad" ] || echo "$bad" | head -3 | sed 's/^/#   /'
check "kprobe on commit_creds: setids's five set*id calls come from __sys_setres[ug]id+OFF ($ns)" [ "$ns" -eq 5 ]
# where the kernel has IBT the probe itself sits at +4 (ev.__probe_ip)
IBT=$("$KPSCRIPT" -e 'print(kp.has("ibt"))' 2>&1)
if [ "$IBT" = true ]; then want=commit_creds+0x4; else want=commit_creds; fi
bad=$(awk -F'\t' -v w="$want" '$1 == "C" && $4 != w' "$S")
check "kprobe on commit_creds: ev.__probe_ip is $want (kp.has(\"ibt\") is $IBT), while the stack's first frame is commit_creds" \
	cond '[ "$nc" -ge 1 ] && [ -z "$bad" ]'
[ -z "$bad" ] || echo "$bad" | head -2 | sed 's/^/#   /'

# --- the kretprobe declared first: the kernel runs the newest handler of an
# address first, so the kprobe sees the stack before the kretprobe takes
# the return address, and gets the whole chain on every kernel, 5.10 too
lua first <<'L'
kp.kretprobe("do_sys_openat2", { ret = "$retval:s32" }, function() end)
kp.kprobe("do_sys_openat2", { fname = "+0(%si):string" }, { stack = "kernel" }, function(ev)
  if ev.fname:find("kpvm-first", 1, true) then print("F", ev.comm, table.concat(kp.ksym(ev.stack), ";")) end
end)
L
kp first 0 -c "cat $D/kpvm-first-x 2>/dev/null" "$TMP/first.lua"
nf=$(awk -F'\t' '$1 == "F"' "$TMP/first.out" | wc -l)
bad=$(awk -F'\t' '$1 == "F" { print $3 }' "$TMP/first.out" | grep -Evx "$FULL")
check "a kretprobe declared before a kprobe with stacks on the same function: the kprobe gets exactly $(readable "$FULL"), on every kernel ($nf opens)" \
	cond '[ "$nf" -ge 1 ] && [ -z "$bad" ] && ! grep -q warning "$TMP/first.err"'
[ -z "$bad" ] || echo "$bad" | head -2 | sed 's/^/#   /'
