# --replay FILE drives a script's handlers from a recording: the same
# output as the live run, without root and without touching tracefs.
. tests/live/lib.sh
need_live replay
need_prog replay "$PROGS/uprobe_target"
abs=$(readlink -f "$PROGS/uprobe_target")
cp "$abs" "$TMP/target" && abs=$TMP/target   # a private copy: no one else's events
before=$(leftovers | wc -l)
cat >"$TMP/s.lua" <<'LUA'
local abs = ...
kp.uprobe(abs .. ":kp_target_int", { a = "%di:s32", b = "%si:s64", c = "%dx:u64", s = "+0(%cx):ustring" },
  function(e)
    print(string.format("int %s %d %d %s %s %s", e.comm, e.a, e.b, tostring(e.c), e.s, e.probe))
  end)
local exec = kp.tracepoint("sched:sched_process_exec")
kp.rule{ name = "target_exec", on = exec, when = function(e) return e.filename:match("/target$") end,
  message = "{comm} ran {filename}", fields = { "filename" } }
kp.run()
local st = kp.counters()
print("events " .. st["uprobe:" .. abs .. ":kp_target_int"].events)
print("alerts " .. st["rule:target_exec"].alerts)
LUA
kp --record "$TMP/run.kpr" -c "$abs 4 'replay me'" "$TMP/s.lua" "$abs"
exits "replay: the live run exits 0 ($(oneline "$TMP/err"))" 0
grep -v '^kind=\|^time=' "$TMP/out" >"$TMP/live"
# the alert lines differ only by their time
sed -n 's/^time=[^ ]* //p' "$TMP/out" >"$TMP/live.alerts"
check "replay: the live run printed 4 calls and its alert ($(oneline "$TMP/live"))" \
	cond '[ "$(grep -c "^int " "$TMP/live")" -eq 4 ] && grep -q "^alerts 1$" "$TMP/live"'

# replayed as user nobody: no root, no tracefs (as root where nobody cannot
# reach the binary, e.g. a checkout under /root)
chmod 0644 "$TMP/run.kpr"
chmod 0755 "$TMP"
as=""
if setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$KPSCRIPT" 2>/dev/null; then
	as="setpriv --reuid=65534 --regid=65534 --clear-groups"
else
	skip "replay: as user nobody: nobody cannot run $KPSCRIPT here; replaying as root"
fi
$as "$KPSCRIPT" --replay "$TMP/run.kpr" "$TMP/s.lua" "$abs" >"$TMP/out2" 2>"$TMP/err2"
rc=$?
check "replay: ${as:+as user nobody }it exits 0 ($(oneline "$TMP/err2"))" [ $rc -eq 0 ]
grep -v '^kind=\|^time=' "$TMP/out2" >"$TMP/replayed"
sed -n 's/^time=[^ ]* //p' "$TMP/out2" >"$TMP/replayed.alerts"
check "replay: the same lines as the live run, in the same order ($(diff "$TMP/live" "$TMP/replayed" | head -3 | tr '\n' ' '))" \
	cmp -s "$TMP/live" "$TMP/replayed"
check "replay: the same alert, apart from its wall time" cmp -s "$TMP/live.alerts" "$TMP/replayed.alerts"
check "replay: the alert's time is the recorded one, to the second" \
	cond '[ "$(sed -n "s/^time=\([^.]*\).*/\1/p" "$TMP/out" | head -1)" = "$(sed -n "s/^time=\([^.]*\).*/\1/p" "$TMP/out2" | head -1)" ]'

# a probe the recording lacks: said once, the rest goes on
kp --replay "$TMP/run.kpr" -e "
kp.tracepoint('sched:sched_switch', function() print('switch') end)
kp.uprobe('$abs:kp_target_int', { a = '%di:s32' }, function(e) print('a', e.a) end)"
exits "replay: a script with a probe the recording lacks exits 0" 0
check "replay: it says which probe is missing ($(oneline "$TMP/err"))" \
	grep -q "tracepoint:sched:sched_switch is not in the recording" "$TMP/err"
check "replay: the recorded probe still gets its 4 events" [ "$(awk '$1 == "a"' "$TMP/out" | wc -l)" -eq 4 ]

# damaged recordings: a clear error with the byte offset, exit 1
size=$(wc -c <"$TMP/run.kpr")
head -c $((size - 20)) "$TMP/run.kpr" >"$TMP/cut.kpr"
kp --replay "$TMP/cut.kpr" "$TMP/s.lua" "$abs"
exits "replay: a truncated recording fails" 1
check "replay: naming the byte offset ($(oneline "$TMP/err"))" grep -q "cut.kpr: byte [0-9]*: " "$TMP/err"
printf 'garbage' >"$TMP/bad.kpr"
kp --replay "$TMP/bad.kpr" "$TMP/s.lua" "$abs"
exits "replay: a file that is no recording fails" 1
check "replay: at byte 0 ($(oneline "$TMP/err"))" grep -q "bad.kpr: byte 0: not a kpscript recording" "$TMP/err"
none_new "replay: nothing left registered" "$before"

# ev.proc in a replay: what the live process table read from /proc (exe,
# argv, uid) was recorded with the events, so the replay shows the same
need_prog replay "$PROGS/gen_steady"
cat >"$TMP/p.lua" <<'LUA'
kp.tracepoint("sched:sched_process_exec", function(e)
  if e.filename:match("gen_steady$") then
    local p = e.proc
    print("proc", p and p.exe, p and p.argv and table.concat(p.argv, " "), p and p.uid,
      p and p.parent and p.parent.comm)
  end
end)
LUA
kp --record "$TMP/p.kpr" -c "$PROGS/gen_steady 300 1000 $TMP/g.pid 'arg two'" "$TMP/p.lua"
exits "replay/proc: the live run exits 0" 0
cp "$TMP/out" "$TMP/p.live"
kp --replay "$TMP/p.kpr" "$TMP/p.lua"
exits "replay/proc: the replay exits 0 ($(oneline "$TMP/err"))" 0
check "replay/proc: the live run saw the process's exe and argv ($(oneline "$TMP/p.live"))" \
	grep -q "/gen_steady	.*gen_steady 300 1000 $TMP/g.pid arg two	0	" "$TMP/p.live"
check "replay/proc: the replay's ev.proc says the same ($(oneline "$TMP/out"))" cmp -s "$TMP/p.live" "$TMP/out"

# two probes of one name (two uprobes on one function, different fields):
# the replay gives each its own recorded probe, in the declared order
cat >"$TMP/two.lua" <<'LUA'
local abs = ...
kp.uprobe(abs .. ":kp_target_int", { a = "%di:s32" }, function(e) print("first", e.a) end)
kp.uprobe(abs .. ":kp_target_int", { s = "+0(%cx):ustring" }, function(e) print("second", e.s) end)
LUA
kp --record "$TMP/two.kpr" -c "$abs 2 'two of one'" "$TMP/two.lua" "$abs"
exits "replay/two: the live run exits 0" 0
cp "$TMP/out" "$TMP/two.live"
kp --replay "$TMP/two.kpr" "$TMP/two.lua" "$abs"
exits "replay/two: the replay exits 0 ($(oneline "$TMP/err"))" 0
check "replay/two: the live run printed both probes' fields ($(oneline "$TMP/two.live"))" \
	cond '[ "$(grep -c "^first	" "$TMP/two.live")" -eq 2 ] && [ "$(grep -c "^second	two of one$" "$TMP/two.live")" -eq 2 ]'
check "replay/two: the replay prints the same ($(oneline "$TMP/out"))" cmp -s "$TMP/two.live" "$TMP/out"
