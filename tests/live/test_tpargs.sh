# Fetch arguments on tracepoints through the BPF backend (this kernel has no
# kprobes and no event probes): a static program's paths and argv read
# exactly, a page not yet faulted in, a storm counted, errors, and nothing
# left in the kernel after a normal exit, SIGTERM and SIGKILL.
. tests/live/lib.sh
need_live tpargs
S=$PROGS/static_exec
need_prog tpargs $S
M="kpm$$"
hex() { python3 -c 'import sys; sys.stdout.write(sys.argv[1].encode("utf-8", "surrogateescape").hex())' "$1"; }
# our programs in the kernel (bpftool names them by the name we gave)
progs_left() { bpftool prog show 2>/dev/null | grep -c ' name kpscript ' ; }
before=$(progs_left)

cat >"$TMP/s.lua" <<'EOF'
local M = os.getenv("KPM")
local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
kp.tracepoint("syscalls:sys_enter_openat", { path = "+0($filename):ustring", fl = "$flags" }, function(e)
  if e.comm == "static_exec" then print("OPEN " .. hex(e.path)) end
end)
kp.tracepoint("syscalls:sys_enter_execve", { argv = "+u0($argv):ustring[16]", file = "$filename:ustring" }, function(e)
  if e.argv[1] ~= "true" or e.argv[3] ~= M then return end
  print("FILE " .. e.file)
  print("ARGC " .. #e.argv)
  for i, a in ipairs(e.argv) do print("ARG " .. i .. " " .. #a .. " " .. hex(a)) end
end)
EOF
KPM=$M kp -c "$S open $M; $S exec $M" "$TMP/s.lua"
exits "static: exit status 0" 0
check "static: nothing lost, nothing on stderr ($(oneline "$TMP/err"))" [ ! -s "$TMP/err" ]
check "static: one exec seen ($(grep -c '^ARGC' "$TMP/out"))" [ "$(grep -c '^ARGC' "$TMP/out")" -eq 1 ]
want=$(hex "/nonexistent/$M/$(printf '\377\376')'\"q")
check "static: openat's path read exactly, non-UTF-8 bytes and quotes included" \
	grep -qx "OPEN $want" "$TMP/out"
check "static: execve's file" grep -qx "FILE /bin/true" "$TMP/out"
check "static: argv cut at the 16 entries asked for" grep -qx "ARGC 16" "$TMP/out"
check "static: argv[1]" grep -qx "ARG 1 4 $(hex true)" "$TMP/out"
check "static: an empty argument is an empty string, not the list's end" grep -qx "ARG 2 0 " "$TMP/out"
check "static: argv[3] is the marker" grep -qx "ARG 3 ${#M} $(hex $M)" "$TMP/out"
A=$(python3 -c 'print("A" * 4096)')
check "static: a 5000-byte argument is cut at 4096 bytes, as the kernel's fetch cuts strings" \
	grep -qx "ARG 4 4096 $(hex $A)" "$TMP/out"
check "static: non-UTF-8 bytes" grep -qx "ARG 5 2 fffe" "$TMP/out"
check "static: quotes" grep -qx "ARG 6 4 $(hex "q'\"q")" "$TMP/out"
check "static: argv[16] is a15" grep -qx "ARG 16 3 $(hex a15)" "$TMP/out"

# a NULL-terminated list shorter than asked for ends at its NULL
cat >"$TMP/n.lua" <<'EOF'
kp.tracepoint("syscalls:sys_enter_execve", { argv = "+u0($argv):ustring[8]" }, function(e)
  if e.argv[1] == "/bin/echo" then print("N " .. #e.argv .. " " .. table.concat(e.argv, "|")) end
end)
EOF
kp -c "/bin/echo x '' y >/dev/null" "$TMP/n.lua"
check "argv of 4 asked as 8: 4 entries, the empty one kept ($(oneline "$TMP/out"))" \
	grep -qx 'N 4 /bin/echo|x||y' "$TMP/out"

# a path on a page the process has not touched: empty, and counted
printf '/etc/hostname\0' >"$TMP/pathfile"
cat >"$TMP/f.lua" <<'EOF'
local n = 0
local p = kp.tracepoint("syscalls:sys_enter_openat", { path = "+0($filename):ustring" }, function(e)
  if e.comm == "static_exec" then n = n + 1; print("PATH [" .. e.path .. "]") end
end)
kp.run()
print("FAULTS " .. kp.counters()[p.name].faults)
EOF
kp -c "$S fault $TMP/pathfile" "$TMP/f.lua"
exits "fault: exit status 0" 0
check "fault: the open of a path not yet faulted in is seen with an empty path ($(oneline "$TMP/out"))" \
	grep -qx 'PATH \[\]' "$TMP/out"
f=$(val FAULTS)
check "fault: kp.counters() counts it (faults = $f)" [ "${f:-0}" -ge 1 ]
# the same, every record dropped by the filter: their faults do not count
cat >"$TMP/f2.lua" <<'EOF2'
local p = kp.tracepoint("syscalls:sys_enter_openat", { path = "+0($filename):ustring", c = "$comm" },
  { filter = 'c == "no-such-comm"' }, function() end)
kp.run()
print("FAULTS " .. kp.counters()[p.name].faults .. " EVENTS " .. kp.counters()[p.name].events)
EOF2
kp -c "$S fault $TMP/pathfile" "$TMP/f2.lua"
check "fault: not counted in records the filter dropped ($(oneline "$TMP/out"))" grep -qx "FAULTS 0 EVENTS 0" "$TMP/out"

# --dry-run: the records' format and the program, nothing loaded
kp --dry-run -e 'kp.tracepoint("syscalls:sys_enter_openat", { path = "+0($filename):ustring" }, print)'
exits "dry-run: exit status 0" 0
check "dry-run: names the program" grep -q '^# tracepoint:syscalls:sys_enter_openat: a BPF program reads its arguments' "$TMP/out"
check "dry-run: the path is a string field" grep -q 'field:__data_loc char\[\] path;' "$TMP/out"
check "dry-run: the listing reads a user string" grep -q 'call probe_read_user_str' "$TMP/out"

# a storm: every call delivered or counted lost
cat >"$TMP/storm.lua" <<'EOF'
local n, pid = 0, nil
local p = kp.tracepoint("syscalls:sys_enter_getppid", { nr = "$__syscall_nr", c = "$comm" }, function(e)
  if e.c == "gen_getppid" then n = n + 1 end
end)
kp.run()
local c = kp.counters()[p.name]
print("SEEN " .. n)
print("LOST " .. c.lost)
EOF
N=300000
kp -c "$PROGS/gen_getppid $N" "$TMP/storm.lua"
seen=$(val SEEN)
lost=$(val LOST)
check "storm: delivered + lost = $N (seen $seen, lost $lost)" [ $((seen + lost)) -eq $N ]

# errors: one line naming what was wrong, status 1, nothing loaded
kp -e 'kp.tracepoint("syscalls:sys_enter_openat", { p = "+0($filenam):ustring" }, print)'
exits "unknown field: exit status 1" 1
check "unknown field: lists the fields" grep -q "the tracepoint has no field 'filenam' (its fields: __syscall_nr, dfd, filename, flags, mode)" "$TMP/err"
one_err_line "unknown field: one line"
kp -e 'kp.tracepoint("syscalls:sys_enter_openat", { p = "+0($flags:ustring" }, print)'
check "syntax: the column is named" grep -q "argument p = '+0(\$flags:ustring': at column" "$TMP/err"
kp -e 'kp.tracepoint("sched:sched_process_exec", { p = "+0($pid):u32" }, print)'
check "not a pointer: said" grep -q 'pid is not a pointer' "$TMP/err"
kp -e 'kp.tracepoint("syscalls:sys_enter_openat", { p = "+0($filename):ustring" }, { filter = "p ~ \"*etc*\"" }, print)'
exits "filter: what BPF cannot apply is refused, exit status 1" 1
check "filter: says which part, at which column" grep -q "filter 'p ~ \"\*etc\*\"': at column 5: a '\*text\*' glob is not compiled into BPF" "$TMP/err"

# a filter applied by the program: exactly the events the same test in Lua passes
cat >"$TMP/filter.lua" <<'EOF'
local args = { p = "+0($filename):ustring", c = "$comm", f = "$flags:s32" }
local F = [[c == "cat" && (p == "/etc/hostname" || p ~ "/usr/lib/locale/*" || p ~ "*.so.6") && !(p ~ "*LC_CTYPE") && f >= 0]]
local function passes(e)
  local p = e.p
  return e.c == "cat" and (p == "/etc/hostname" or p:find("^/usr/lib/locale/") ~= nil
    or p:find("%.so%.6$") ~= nil) and not p:find("LC_CTYPE$") and e.f >= 0
end
kp.tracepoint("syscalls:sys_enter_openat", args, { filter = F }, function(e) print("F " .. e.p) end)
kp.tracepoint("syscalls:sys_enter_openat", args, function(e)
  if e.c == "cat" then print(passes(e) and "W " .. e.p or "X " .. e.p) end
end)
EOF
kp -c "cat /etc/hostname /etc/os-release >/dev/null; ls / >/dev/null" "$TMP/filter.lua"
exits "filter: exit status 0" 0
sed -n 's/^F //p' "$TMP/out" | sort >"$TMP/f"
sed -n 's/^W //p' "$TMP/out" | sort >"$TMP/w"
check "filter: the program passed exactly the events the filter names ($(wc -l <"$TMP/f") of $(grep -c '^[WX] ' "$TMP/out"))" \
	cond 'cmp -s "$TMP/f" "$TMP/w" && [ -s "$TMP/f" ] && grep -q "^X " "$TMP/out"'
check "filter: /etc/hostname passed, /etc/os-release did not" \
	cond 'grep -qx "F /etc/hostname" "$TMP/out" && ! grep -q "^F /etc/os-release" "$TMP/out"'
check "errors: no program left" [ "$(progs_left)" -eq "$before" ]

# nothing left: normal exit, SIGTERM, SIGKILL
cat >"$TMP/idle.lua" <<'EOF'
kp.tracepoint("syscalls:sys_enter_openat", { path = "+0($filename):ustring" }, function() end)
EOF
kp_start "$TMP/idle.lua"
i=0
while [ "$(progs_left)" -eq "$before" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
# (with the process table's own, kp_exec_probe.c: up to 3 more)
check "running: the program is loaded ($(progs_left) against $before before)" \
	cond '[ "$(progs_left)" -ge $((before + 1)) ] && [ "$(progs_left)" -le $((before + 4)) ]'
kill -TERM "$kpid"
wait "$kpid"
check "SIGTERM: no program left" [ "$(progs_left)" -eq "$before" ]
kp_start "$TMP/idle.lua"
i=0
while [ "$(progs_left)" -eq "$before" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
kill -KILL "$kpid"
wait "$kpid" 2>/dev/null
i=0
while [ "$(progs_left)" -ne "$before" ] && [ $i -lt 200 ]; do sleep 0.01; i=$((i + 1)); done
check "SIGKILL: no program left" [ "$(progs_left)" -eq "$before" ]
# the kernel frees a map some time after its last reference goes
maps_left() { bpftool map show 2>/dev/null | grep -c -E ' name (kp_scratch|kp_events) '; }
i=0
while [ "$(maps_left)" -ne 0 ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
check "SIGKILL: no map left ($(maps_left))" [ "$(maps_left)" -eq 0 ]

# --record and --replay: the same lines; a kernel stack from the program's
# records (the tracepoint's registers)
cat >"$TMP/rec.lua" <<'EOF2'
kp.tracepoint("syscalls:sys_enter_openat", { path = "+0($filename):ustring" }, { stack = "kernel" }, function(e)
  if e.comm == "cat" then print("P", e.path, #(e.stack or {}) > 0 and kp.ksym(e.stack[1]) or "-") end
end)
EOF2
kp --record "$TMP/r.rec" -c "cat /etc/hostname >/dev/null" "$TMP/rec.lua"
cp "$TMP/out" "$TMP/live.out"
kp --replay "$TMP/r.rec" "$TMP/rec.lua"
check "record: the open of /etc/hostname seen live" grep -q "^P	/etc/hostname	" "$TMP/live.out"
check "replay: the same lines as live ($(grep -c . "$TMP/out") lines)" cmp -s "$TMP/live.out" "$TMP/out"
check "stack: a kernel frame named for each event ($(head -1 "$TMP/live.out"))" \
	not grep -q '	-$' "$TMP/live.out"

# -p PID with a compiled filter: the process's calls only
N=7
launch a "$PROGS/gen_getppid" wait $N "$TMP/pa"
launch b "$PROGS/gen_getppid" wait 11 "$TMP/pb"
wait_file "$TMP/pid_a" "$TMP/pid_b"
pa=$(cat "$TMP/pid_a")
cat >"$TMP/p.lua" <<'EOF2'
local n = 0
local p = kp.tracepoint("syscalls:sys_enter_getppid", { nr = "$__syscall_nr", c = "$comm" },
  { filter = 'c == "gen_getppid"' }, function(e) n = n + 1 end)
kp.run()
print("mine " .. n .. " events " .. kp.counters()[p.name].events)
EOF2
kp_run -p "$pa" -c "$(release_cmd b 1000); $(release_cmd a 1000)" "$TMP/p.lua"
release a b
wait
check "-p: the process's $N calls, none of the other's ($(oneline "$TMP/out"))" grep -qx "mine $N events $N" "$TMP/out"

# names from the tracepoint's prototype (BTF): the raw tracepoint's program
cat >"$TMP/b.lua" <<'EOF2'
kp.tracepoint("sched:sched_process_exec", { "p->real_parent->tgid", "bprm->filename", op = "old_pid" },
  function(e) print("X", e.comm, e.pid, e.tgid, e.op, e.filename) end)
EOF2
kp -c "/bin/true; /bin/true" "$TMP/b.lua"
sh_pid=$(awk '$2 == "sh" { print $3; exit }' "$TMP/out")
line=$(awk -v s="$sh_pid" '$2 == "true" && $4 == s { print; exit }' "$TMP/out")
file=$(echo "$line" | awk '{ print $6 }')
check "btf names: /bin/true's parent is the sh ($sh_pid) and its file /bin/true ($line)" \
	cond '[ -n "$line" ] && [ "$file" = /bin/true ]'
kp -e 'kp.tracepoint("syscalls:sys_enter_openat", { "filename" }, print)'
exits "btf names on a syscall tracepoint: exit status 1" 1
check "btf names on a syscall tracepoint: says why and what instead" \
	grep -q "syscall tracepoints have none: read their fields as \$NAME" "$TMP/err"
kp -e 'kp.tracepoint("sched:sched_process_exec", { "p->pid", f = "$filename" }, print)'
check "btf names and fields together: refused" grep -q 'cannot be read by one declaration' "$TMP/err"
kp -e 'kp.tracepoint("sched:sched_process_exec", { "p->comm" }, print)'
check "btf names: a reserved name is refused" grep -q "would be named 'comm', which is reserved" "$TMP/err"
