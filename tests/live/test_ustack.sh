#!/bin/sh
# User stacks of processes that are gone before their samples are read:
# their maps come from the side band's exec, fork and MMAP2 records (as
# perf follows them), not from /proc at delivery, so the frames of a
# command that exits at once are named: kp_target_leaf is called as main
# -> outer -> middle -> leaf, and the frame below main is in libc (named
# "0x... (libc.so.6+0x...)": Debian's libc has no .symtab).
. tests/live/lib.sh
need_live ustack
need_prog ustack "$PROGS/uprobe_target"
need_prog ustack "$PROGS/forkexec"
# a copy of our own: runs probing the shared binary at the same time add
# no samples here
T=$TMP/ust_target
cp "$PROGS/uprobe_target" "$T"
FE=$PWD/$PROGS/forkexec

# frames joined by ';' (a libc frame holds a space), once in the handler
# and once more after the run, when every process is surely gone
cat >"$TMP/stack.lua" <<'EOF'
local kept = {}
kp.uprobe(arg[1] .. ":kp_target_leaf", {}, { stack = true }, function(e)
  print("frames " .. table.concat(kp.usym(e.stack), ";"))
  kept[#kept + 1] = e.stack
end)
kp.run()
for _, st in ipairs(kept) do
  local f = io.open("/proc/" .. st.pid .. "/maps")
  if f then f:close() end
  print("late " .. (f and "alive" or "gone") .. " " .. table.concat(kp.usym(st), ";"))
end
EOF

WANT='^kp_target_leaf;kp_target_middle\+0x[0-9a-f]+;kp_target_outer\+0x[0-9a-f]+;main\+0x[0-9a-f]+;'
LIBC='^0x[0-9a-f]+ \(libc\.so\.6\+0x[0-9a-f]+\)$'

# named NAME: the run's one sample named leaf <- middle <- outer <- main,
# in the handler and after the run (the process gone by then)
named() {
	fr=$(val frames)
	late=$(val late)
	check "$1: one sample ($(val frames | wc -l))" [ "$(val frames | wc -l)" -eq 1 ]
	check "$1: leaf <- middle <- outer <- main in the handler ($fr)" \
		cond 'printf "%s\n" "$fr" | grep -Eq "$WANT"'
	check "$1: the same after the run, the process gone ($late)" \
		cond '[ "$late" = "gone $fr" ]'
}

# 1. a command that exits at once, no lingering
kp_run -c "$T 1" "$TMP/stack.lua" "$T"
exits "exit: run exits 0" 0
named exit
last=${fr##*;}
check "exit: the frame below main is in libc, as file+offset ($last)" \
	cond 'printf "%s\n" "$last" | grep -Eq "$LIBC"'
check "exit: nothing on stderr ($(oneline "$TMP/err"))" [ ! -s "$TMP/err" ]
none_left exit

# 2. a shell that execs the program: the shell's maps give way to the
#    program's at the exec, in the same pid
kp_run -c "sh -c 'exec $T 1'" "$TMP/stack.lua" "$T"
exits "exec: run exits 0" 0
named exec
none_left exec

# 3. a fork-and-exec chain: the program as the grandchild of a subshell
kp_run -c "( sh -c '$T 1; true' ); true" "$TMP/stack.lua" "$T"
exits "chain: run exits 0" 0
named chain

# 4. during an exec storm: the side band carries four MMAP2 records per
#    exec on top of FORK, COMM and EXIT, and loses none of them
kp_run -c "$FE 2000 >/dev/null & $T 1; wait" "$TMP/stack.lua" "$T"
exits "storm: run exits 0" 0
named storm
check "storm: no process records lost ($(oneline "$TMP/err"))" \
	not grep -q "process records" "$TMP/err"
none_left storm
