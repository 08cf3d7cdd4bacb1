#!/bin/sh
# Fetch arguments on tracepoints through the BPF backend, on every kernel
# of the VM tier: the verifier accepts each program of the corpus
# (tests/fixtures/bpfgen/corpus.txt) and it runs; a static program's path
# and argv are read exactly; nothing is left loaded afterwards.
. /kp/guest/lib.sh
set -f
if [ "$("$KPSCRIPT" -e 'print(kp.has("bpf"))' 2>&1)" != true ]; then
	notok "tpargs: kp.has(\"bpf\") is not true on this kernel"
	exit 0
fi
n=0
while read -r name event args; do
	case "$name" in '' | '#'*) continue ;; esac
	case "$event" in raw:*) continue ;; esac
	opts="{}"
	case "$args" in
	*" | "*)
		opts="{ filter = [==[${args#* | }]==] }"
		args=${args%% | *}
		;;
	esac
	tbl=""
	for a in $args; do tbl="$tbl ${a%%=*} = [==[${a#*=}]==],"; done
	"$KPSCRIPT" -e "local n = 0
kp.tracepoint('$event', {$tbl}, $opts, function() n = n + 1 end)
kp.run()
print('RUNS', kp.counters()['tracepoint:$event'].events)" -c 'cat /etc/hostname >/dev/null; ls / >/dev/null; sleep 0.1' >"$TMP/c.out" 2>"$TMP/c.err"
	rc=$?
	check "tpargs: the verifier accepts the corpus's $name ($event) and it runs (exit $rc)" [ "$rc" -eq 0 ]
	[ "$rc" -eq 0 ] || diag "$TMP/c.err" 6
	n=$((n + 1))
done </kp/guest/corpus.txt
check "tpargs: the corpus was read ($n specs)" [ "$n" -ge 8 ]

S=$PROGS/static_exec
cat >"$TMP/s.lua" <<'L'
local want = { "true", "", "kpvm-st", string.rep("A", 4096), "\255\254", "q'\"q", "a6", "a7",
  "a8", "a9", "a10", "a11", "a12", "a13", "a14", "a15" }
kp.tracepoint("syscalls:sys_enter_openat", { path = "+0($filename):ustring" }, function(e)
  if e.comm == "static_exec" then
    print("OPEN", e.path == "/nonexistent/kpvm-st/\255\254'\"q" and "exact" or #e.path)
  end
end)
kp.tracepoint("syscalls:sys_enter_execve", { argv = "+u0($argv):ustring[16]" }, function(e)
  if e.comm ~= "static_exec" then return end
  local bad = {}
  for i = 1, 16 do
    if e.argv[i] ~= want[i] then bad[#bad + 1] = i .. ":" .. #(e.argv[i] or "") end
  end
  print("ARGV", #e.argv, #bad == 0 and "exact" or table.concat(bad, ","))
end)
L
"$KPSCRIPT" -c "$S open kpvm-st; $S exec kpvm-st" "$TMP/s.lua" >"$TMP/s.out" 2>"$TMP/s.err"
check "tpargs: nothing lost, nothing said on stderr" [ ! -s "$TMP/s.err" ]
check "tpargs: a static program's openat path, exactly" grep -q "^OPEN	exact" "$TMP/s.out"
check "tpargs: a static program's execve argv: 16 entries, each exact (a 5000-byte one cut at 4096)" \
	grep -q "^ARGV	16	exact" "$TMP/s.out"
grep -v exact "$TMP/s.out" >"$TMP/s.bad"
diag "$TMP/s.bad" 4
diag "$TMP/s.err" 4

# names from the tracepoint's prototype: the raw tracepoint's program
cat >"$TMP/b.lua" <<'L'
kp.tracepoint("sched:sched_process_exec", { "p->real_parent->tgid", "bprm->filename", op = "old_pid" },
  function(e) print("X", e.comm, e.pid, e.tgid, e.op, e.filename) end)
L
"$KPSCRIPT" -c "/bin/true; /bin/true" "$TMP/b.lua" >"$TMP/b.out" 2>"$TMP/b.err"
sh_pid=$(awk '$2 == "sh" { print $3; exit }' "$TMP/b.out")
line=$(awk -v s="$sh_pid" '$2 == "true" && $4 == s { print; exit }' "$TMP/b.out")
file=$(echo "$line" | awk '{ print $6 }')
case "$(uname -r)" in
5.10.*)
	# 5.10's BTF has no __bpf_trace_* functions (tests/vm/KERNELS.md)
	check "tpargs: BTF names on sched_process_exec on 5.10: one clear line, no prototype in BTF ($(head -c 300 "$TMP/b.err"))" \
		cond 'grep -q "this tracepoint has no prototype in BTF (no __bpf_trace_.*in the kernel.s BTF" "$TMP/b.err" && [ "$(wc -l <"$TMP/b.err")" -eq 1 ]'
	;;
*)
	check "tpargs: BTF names on sched_process_exec: /bin/true's parent is the sh ($sh_pid), its file /bin/true ($line)" \
		cond '[ -n "$line" ] && [ "$file" = /bin/true ]'
	diag "$TMP/b.err" 4
	;;
esac
exit 0
