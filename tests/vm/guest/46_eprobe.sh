#!/bin/sh
# Fetch arguments on tracepoints through event probes (backend = "eprobe"),
# read from a tracefs instance's ftrace ring: the same script prints the
# same lines through both backends; filters run in the kernel; losses and
# faults are counted; nothing is left after a run, and a SIGKILLed run's
# instance and event are swept by the next. 5.10 has no event probes: one
# clear line.
. /kp/guest/lib.sh
set -f

if [ "$("$KPSCRIPT" -e 'print(kp.has("eprobe"))' 2>&1)" != true ]; then
	"$KPSCRIPT" -e 'kp.tracepoint("syscalls:sys_enter_openat", { d = "$dfd:s32" }, { backend = "eprobe" }, print)' \
		>"$TMP/no.out" 2>"$TMP/no.err"
	rc=$?
	check "eprobe: $(uname -r) has none: one line says so, exit 1 ($rc: $(head -c 200 "$TMP/no.err"))" \
		cond '[ "$rc" -eq 1 ] && [ "$(wc -l <"$TMP/no.err")" -eq 1 ] && grep -q "this kernel has no event probes" "$TMP/no.err"'
	exit 0
fi

# The lines a script prints for what `-c` runs, through backend arg[1].
# Strings through a syscall's user pointers only where the kernel's event
# probes read them (6.12: on 6.1 they read one byte of the pointer,
# docs/FETCH.md); everything else on both.
cat >"$TMP/same.lua" <<'L'
local b, strings = arg[1], arg[2] == "strings"
local function tp(name, args, opts, fn)
  opts.backend = b
  kp.tracepoint(name, args, opts, fn)
end
tp("syscalls:sys_enter_openat", { fl = "$flags:x32", dfd = "$dfd:s32", c = "$comm" },
  { filter = "dfd == -100" }, function(e)
  if e.comm == "cat" then print("OPEN", e.pid == e.tid, e.fl, e.dfd, e.c) end
end)
tp("sched:sched_process_exec", { fn = "$filename:string", old = "$old_pid:s32" }, {},
  function(e) print("EXEC", e.comm, e.fn, e.old == e.pid) end)
tp("sched:sched_process_fork", { child = "$child_comm:string", cpid = "$child_pid:s32" }, {},
  function(e) if e.comm == "sh" then print("FORK", e.child, e.cpid > 0) end end)
if strings then
  tp("syscalls:sys_enter_openat", { path = "+0($filename):ustring", f2 = "$filename:ustring" }, {},
    function(e) if e.comm == "cat" then print("PATH", e.path, e.f2) end end)
  tp("syscalls:sys_enter_execve", { argv = "+u0($argv):ustring[6]" }, {},
    function(e) print("ARGV", #e.argv, table.concat(e.argv, "|")) end)
end
kp.run()
for name, c in pairs(kp.counters()) do
  io.stderr:write(string.format("%s events %d lost %d faults %s\n", name, c.events, c.lost,
    tostring(c.faults)))
end
L
want_strings=
case "$(uname -r)" in 6.1.*) ;; *) want_strings=strings ;; esac
cmd='cat /kp/guest/lib.sh >/dev/null; /bin/echo kpvm-e q >/dev/null; /bin/echo kpvm-f "" q >/dev/null; sleep 0.05'
for b in bpf eprobe; do
	timeout 60 "$KPSCRIPT" -c "$cmd" "$TMP/same.lua" "$b" $want_strings >"$TMP/$b.out" 2>"$TMP/$b.err"
	echo "$?" >"$TMP/$b.rc"
done
check "eprobe: the script runs on both backends (exit $(cat "$TMP/bpf.rc"), $(cat "$TMP/eprobe.rc"))" \
	cond '[ "$(cat "$TMP/bpf.rc")" -eq 0 ] && [ "$(cat "$TMP/eprobe.rc")" -eq 0 ]'
[ "$(cat "$TMP/eprobe.rc")" -eq 0 ] || diag "$TMP/eprobe.err" 6
# an empty user string reads as a failed one through 6.12's event probes
# (the kernel's strncpy_from_user_nofault() returns 0 for it): the list
# with "" is compared apart
grep -v kpvm-f "$TMP/bpf.out" | sort >"$TMP/bpf.s"
grep -v kpvm-f "$TMP/eprobe.out" | sort >"$TMP/eprobe.s"
check "eprobe: the same lines from both backends ($(wc -l <"$TMP/bpf.s") lines${want_strings:+, user strings too})" \
	cond '[ -s "$TMP/bpf.s" ] && cmp -s "$TMP/bpf.s" "$TMP/eprobe.s"'
if ! cmp -s "$TMP/bpf.s" "$TMP/eprobe.s"; then
	diff "$TMP/bpf.s" "$TMP/eprobe.s" >"$TMP/diff"
	diag "$TMP/diff" 12
fi
check "eprobe: the filter ran in the kernel (cat's openat of its file, and only AT_FDCWD)" \
	cond 'grep -q "^OPEN	true	0	-100	cat$" "$TMP/eprobe.out" && ! grep -v "	-100	" "$TMP/eprobe.out" | grep -q "^OPEN"'
check "eprobe: a static exec's path and the fork's child" \
	cond 'grep -q "^EXEC	echo	/bin/echo	true$" "$TMP/eprobe.out" && grep -q "^FORK	sh	true$" "$TMP/eprobe.out"'
check "eprobe: nothing lost, counted per probe" \
	cond 'grep -q "^tracepoint:" "$TMP/eprobe.err" && ! grep "^tracepoint:" "$TMP/eprobe.err" | grep -v " lost 0 " | grep -q .'
if [ -n "$want_strings" ]; then
	check "eprobe: argv through the user pointers, up to its NULL" \
		grep -q "^ARGV	3	/bin/echo|kpvm-e|q$" "$TMP/eprobe.out"
	check "eprobe: a list ends at an empty string, which the kernel reads as a failure (BPF: all 4)" \
		cond 'grep -q "^ARGV	2	/bin/echo|kpvm-f$" "$TMP/eprobe.out" && grep -q "^ARGV	4	/bin/echo|kpvm-f||q$" "$TMP/bpf.out"'
fi
check "eprobe: no tracefs instance of ours left" cond '! ls "$TRACEFS/instances" | grep -q kpscript_'

# a storm into a small ring: every call delivered or counted lost
cat >"$TMP/storm.lua" <<'L'
local n = 0
local p = kp.tracepoint("syscalls:sys_enter_getppid", { c = "$comm" }, { backend = "eprobe", pages = 2, filter = 'c == "gen_getppid"' },
  function(e) if e.c == "gen_getppid" then n = n + 1 end end)
kp.run()
print("SEEN", n, "LOST", kp.counters()[p.name].lost)
L
N=100000
timeout 120 "$KPSCRIPT" -c "$PROGS/gen_getppid $N" "$TMP/storm.lua" >"$TMP/st.out" 2>"$TMP/st.err"
seen=$(awk '{ print $2 }' "$TMP/st.out")
lost=$(awk '{ print $4 }' "$TMP/st.out")
check "eprobe: a storm of $N calls into 8 KiB rings, filtered in the kernel: delivered + lost = $N (seen ${seen:-?}, lost ${lost:-?})" \
	cond '[ -n "$seen" ] && [ "$lost" -gt 0 ] && [ $((seen + lost)) -eq $N ]'
diag "$TMP/st.err" 4

# --dry-run prints the event probe's line
"$KPSCRIPT" --dry-run -e 'kp.tracepoint("syscalls:sys_enter_openat", { d = "$dfd:s32" }, { backend = "eprobe" }, print)' \
	>"$TMP/dry.out" 2>&1
check "eprobe: --dry-run prints the line for dynamic_events ($(head -c 200 "$TMP/dry.out"))" \
	grep -q "^e:kpscript_[0-9]*/tp_sys_enter_openat_[0-9]* syscalls/sys_enter_openat d=\$dfd:s32$" "$TMP/dry.out"

# the kernel's refusal: a type it does not know, with its error_log
"$KPSCRIPT" -e 'kp.tracepoint("syscalls:sys_enter_openat", { d = "$dfd:s32", n = "$nosuch" }, { backend = "eprobe" }, print)' \
	>"$TMP/bad.out" 2>"$TMP/bad.err"
rc=$?
check "eprobe: an unknown field: exit 1, the fields listed ($(head -c 300 "$TMP/bad.err"))" \
	cond '[ "$rc" -eq 1 ] && grep -q "nosuch" "$TMP/bad.err" && grep -q "filename" "$TMP/bad.err"'
check "eprobe: nothing left after a refusal" cond '! leftovers >/dev/null'

# a filter the kernel refuses: the event probe and its instance were made
# before the filter was written; both go
"$KPSCRIPT" -e 'kp.tracepoint("syscalls:sys_enter_openat", { d = "$dfd:s32" }, { backend = "eprobe", filter = "nosuch == 1" }, print)' \
	>"$TMP/bf.out" 2>"$TMP/bf.err"
rc=$?
check "eprobe: a filter the kernel refuses: exit 1, the fields named ($(head -c 300 "$TMP/bf.err"))" \
	cond '[ "$rc" -eq 1 ] && grep -q "rejected filter \"nosuch == 1\"" "$TMP/bf.err" && grep -q "fields are: .*d" "$TMP/bf.err"'
check "eprobe: nothing left after it, event or instance" \
	cond '! leftovers >/dev/null && ! ls "$TRACEFS/instances" | grep -q kpscript_'

# SIGKILL: the instance and the event stay until the next run sweeps them
"$KPSCRIPT" -e 'kp.tracepoint("syscalls:sys_enter_openat", { d = "$dfd:s32" }, { backend = "eprobe" }, function() end) kp.run()' \
	>"$TMP/k.out" 2>"$TMP/k.err" &
kpid=$!
i=0
while ! ls "$TRACEFS/instances" 2>/dev/null | grep -q "kpscript_$kpid\." && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
sleep 0.5
kill -9 "$kpid"
wait "$kpid" 2>/dev/null
check "eprobe: a SIGKILLed run leaves its instance and event" \
	cond 'ls "$TRACEFS/instances" | grep -q "kpscript_$kpid\." && leftovers "$kpid" >/dev/null'
"$KPSCRIPT" -e 'print("next")' >"$TMP/n.out" 2>"$TMP/n.err"
check "eprobe: the next run sweeps both ($(head -c 200 "$TMP/n.err"))" \
	cond '! ls "$TRACEFS/instances" | grep -q "kpscript_$kpid\." && ! leftovers "$kpid" >/dev/null && grep -q "removed 2 probes" "$TMP/n.err"'
