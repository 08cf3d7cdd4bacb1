# scripts/exec_watch.lua: one line per exec with pid, ppid, uid, comm, file
# and the command line, on a kernel without kprobes.
. tests/live/lib.sh
need_live exec_watch
T=$PROGS/uprobe_target
S=$PROGS/static_exec
cmd="$T 1 'marker $$'; /bin/echo a1 a2 a3 a4 a5 a6 a7 a8 a9 >/dev/null; \
busybox echo static-busybox arg2 >/dev/null; $S exec sm$$; \
setpriv --reuid=65534 --regid=65534 --clear-groups sleep 0.3"
kp -c "$cmd" exec_watch.lua
exits "exec_watch: exit status 0" 0
check "exec_watch: says which path it uses" grep -q '^exec_watch: tracing execs via ' "$TMP/err"
check "exec_watch: header line" grep -q '^TIME *PID *PPID *UID *COMM *FILE ARGV' "$TMP/out"
line=$(grep " uprobe_target .* 1 'marker $$'\$" "$TMP/out")
check "exec_watch: the target's line with its argv, quoted ($line)" [ -n "$line" ]
shpid=$(awk '$5 == "sh" && /marker/ { print $2; exit }' "$TMP/out")
tppid=$(echo "$line" | awk '{ print $3 }')
check "exec_watch: ppid of the target is the sh that ran it ($tppid = $shpid)" \
	cond '[ -n "$shpid" ] && [ "$tppid" = "$shpid" ]'
tuid=$(echo "$line" | awk '{ print $4 }')
check "exec_watch: uid of the target is 0 (got $tuid)" [ "${tuid%\*}" = 0 ]
if grep -q '(parent and uid read at the exec)' "$TMP/err"; then
	check "exec_watch: uid read at the exec, not inherited from the parent (got $tuid)" [ "$tuid" = 0 ]
fi
echoline=$(grep ' echo .*/bin/echo a1 a2 a3 a4 a5 a6 a7 \.\.\.$' "$TMP/out")
check "exec_watch: argv cut after 8 arguments, marked ... ($echoline)" [ -n "$echoline" ]
bbline=$(grep ' busybox .* busybox echo static-busybox arg2$' "$TMP/out")
check "exec_watch: busybox's argv, static binary, no libc ($bbline)" [ -n "$bbline" ]
# static_exec execs /bin/true with "true" "" MARKER 5000*A ...: 8 shown, quoted
want1="/bin/true true '' sm$$ AAAA"
want2="A \$'\\xff\\xfe' 'q'\\''\"q' a6 a7 ..."
stline=$(grep -F -- "$want1" "$TMP/out" | grep -F -- "$want2")
check "exec_watch: a static program's exec, its argv exact, bytes not UTF-8 escaped ($(echo "$stline" | cut -c1-100))" [ -n "$stline" ]
sleepline=$(grep ' sleep .* sleep 0\.3$' "$TMP/out")
suid=$(echo "$sleepline" | awk '{ print $4 }')
check "exec_watch: uid after setpriv is 65534 (got '$suid')" [ "$suid" = 65534 ]
check "exec_watch: nothing left registered" [ -z "$(leftovers)" ]
