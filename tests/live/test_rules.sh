#!/bin/sh
# Rules: kp.rule alerts, their record (kind, rule, severity, message from a
# template or a function, fields from a list or from functions), their
# counters in kp.counters(), a rule error that stops neither the other rules
# nor the run, probes without a handler, --output rotation with SIGHUP,
# SIGHUP without --output, a directory of scripts.
#
# The probes are on a private copy of uprobe_target (a uprobe is on an
# inode), so no other run of uprobe_target on the machine adds events.
# uprobe_target N STR calls kp_target_int(i, -i, 0xfffffffffffffff0 + i % 16,
# STR) for i = 0..N-1, then kp_target_str(STR) once.
. tests/live/lib.sh
need_live rules

need_prog rules "$PROGS/uprobe_target"
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import json' 2>/dev/null; then
	skip "rules: needs python3 for its JSON parser"
	exit 0
fi
T="$TMP/kp_rule_target"
cp "$PROGS/uprobe_target" "$T" || exit 1
T=$(readlink -f "$T")
N=7

# pyres: python code printing ok/not ok lines (res(NAME, GOOD, WHY)) and
# reading JSON Lines (records(PATH): the JSON objects, non-JSON lines apart)
cp tests/live/lib.py "$TMP/lib.py"

# ---- rules on one probe; one of them raises in when -------------------------
cat >"$TMP/rules.lua" <<'EOF'
local T = arg[1]
local handled = 0
local pint = kp.uprobe(T .. ":kp_target_int", { a = "%di:s32", c = "%dx:u64" },
  function(ev) handled = handled + 1 end)
-- no handler: only rules use it
local pstr = kp.uprobe(T .. ":kp_target_str", { s = "+0(%di):ustring" })
kp.rule{ name = "broken", on = pint, when = function(ev) error("boom at a=" .. ev.a) end }
kp.rule{ name = "every", on = pint, when = function(ev) return true end, severity = "critical",
  message = "call {a} by {comm} pid {pid}", fields = { "a", "c" } }
kp.rule{ name = "thirds", on = pint, when = function(ev) return ev.a % 3 == 0 end,
  message = function(ev) return "fn says " .. ev.a * 10 end,
  fields = { double = function(ev) return ev.a * 2 end, label = function(ev) return "L" .. ev.a end } }
kp.rule{ name = "str_only", on = pstr, when = function(ev) return ev.s == "marker" end,
  severity = "low", message = "saw {s}" }
kp.rule{ name = "both", on = { pint, pstr }, severity = "info" }
-- errors outside when count too: in a message function, in a field function
kp.rule{ name = "badmsg", on = pint, message = function(ev) error("msgfail") end }
kp.rule{ name = "badfield", on = pint, when = function(ev) return ev.a == 1 end,
  fields = { x = function(ev) error("fieldfail") end } }
-- a key a rule's when sets on some events only must not stick to later ones
-- (the event table is reused): "plain" has no fields list, so an alert
-- carries the event's fields
kp.rule{ name = "tagger", on = pint, when = function(ev) if ev.a == 0 then ev.tag = "zero" end return false end }
kp.rule{ name = "plain", on = pint, severity = "low" }
kp.run()
local s = kp.counters()
for _, n in ipairs({ "broken", "every", "thirds", "str_only", "both", "badmsg", "badfield", "plain" }) do
  local r = s["rule:" .. n] or {}
  print(string.format("stats %s %s %s %s", n, tostring(r.evaluated), tostring(r.alerts), tostring(r.errors)))
end
print("handled " .. handled)
EOF
kp_run -o json -c "$T $N marker" "$TMP/rules.lua" "$T"
exits "rules: a rule raising in when leaves the run's exit status 0" 0
none_left "rules"
broken_lines=$(grep -c '^kpscript: rule broken: ' "$TMP/err")
check "rules: the broken rule's errors are shown 5 times, named (got $broken_lines: $(oneline "$TMP/err"))" \
	[ "$broken_lines" -eq 5 ]
check "rules: the error line carries the error's message" grep -q '^kpscript: rule broken: .*boom at a=0' "$TMP/err"
check "rules: the 5th error line says further errors are counted" \
	cond '[ "$(grep "^kpscript: rule broken: " "$TMP/err" | sed -n 5p | grep -c "(further errors of this rule are counted, not shown)")" = 1 ]'
check "rules: only the 5th says so" \
	[ "$(grep '^kpscript: rule broken: ' "$TMP/err" | grep -c 'further errors of this rule are counted')" -eq 1 ]
check "rules: badmsg's errors are shown 5 times too (limits are per rule)" \
	[ "$(grep -c '^kpscript: rule badmsg: ' "$TMP/err")" -eq 5 ]
check "rules: a message function's error is reported, named" grep -q '^kpscript: rule badmsg: .*msgfail' "$TMP/err"
check "rules: a field function's error is reported with its message (got: $(grep '^kpscript: rule badfield' "$TMP/err"))" grep -q '^kpscript: rule badfield: .*fieldfail' "$TMP/err"
check "rules: no other rule reports an error" \
	not grep -v '^kpscript: rule broken: \|^kpscript: rule badmsg: \|^kpscript: rule badfield: ' "$TMP/err"
check "rules: stats badmsg: evaluated $N, alerts 0, errors $N (got: $(val stats | grep badmsg))" \
	[ "$(val stats | grep '^badmsg ')" = "badmsg $N 0 $N" ]
check "rules: stats badfield: evaluated $N, alerts 0, errors 1 (got: $(val stats | grep badfield))" \
	[ "$(val stats | grep '^badfield ')" = "badfield $N 0 1" ]
check "rules: stats plain: evaluated $N, alerts $N, errors 0 (got: $(val stats | grep plain))" \
	[ "$(val stats | grep '^plain ')" = "plain $N $N 0" ]
check "rules: stats broken: evaluated $N, alerts 0, errors $N (got: $(val stats | grep broken))" \
	[ "$(val stats | grep '^broken ')" = "broken $N 0 $N" ]
check "rules: stats every: evaluated $N, alerts $N, errors 0 (got: $(val stats | grep every))" \
	[ "$(val stats | grep '^every ')" = "every $N $N 0" ]
check "rules: stats thirds: evaluated $N, alerts 3, errors 0 (got: $(val stats | grep thirds))" \
	[ "$(val stats | grep '^thirds ')" = "thirds $N 3 0" ]
check "rules: stats str_only: evaluated 1, alerts 1, errors 0 (got: $(val stats | grep str_only))" \
	[ "$(val stats | grep '^str_only ')" = "str_only 1 1 0" ]
check "rules: stats both (on two probes): evaluated $((N + 1)), alerts $((N + 1)) (got: $(val stats | grep both))" \
	[ "$(val stats | grep '^both ')" = "both $((N + 1)) $((N + 1)) 0" ]
check "rules: the probe's own handler ran for every event (got: $(val handled))" [ "$(val handled)" = "$N" ]
python3 - "$TMP/out" "$T" "$N" <<'EOF'
import os, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
from lib import res, records
path, T, N = sys.argv[1], sys.argv[2], int(sys.argv[3])
recs, other = records(path)
INT, STR = "uprobe:%s:kp_target_int" % T, "uprobe:%s:kp_target_str" % T
res("rules: every JSON record is an alert", recs and all(r.get("kind") == "alert" for r in recs),
    repr([r.get("kind") for r in recs]))
by = {}
for r in recs:
    by.setdefault(r.get("rule"), []).append(r)
res("rules: alerts only of the rules that matched", set(by) <= {"every", "thirds", "str_only", "both", "plain"},
    repr(sorted(map(str, by))))
res("rules: no alert of the broken rule", "broken" not in by, "")
ev = by.get("every", [])
res("rules: every: one alert per event, %d" % N, len(ev) == N, "got %d" % len(ev))
pid = ev[0].get("pid") if ev else None
comm = os.path.basename(T)[:15]
res("rules: every: severity critical", all(r.get("severity") == "critical" for r in ev),
    repr([r.get("severity") for r in ev]))
res("rules: every: the probe, pid and comm of the event", all(
    r.get("probe") == INT and r.get("pid") == pid and r.get("tid") == pid and r.get("comm") == comm for r in ev),
    repr([(r.get("probe"), r.get("pid"), r.get("comm")) for r in ev][:2]))
msgs = [r.get("message") for r in ev]
res("rules: every: message from the template 'call {a} by {comm} pid {pid}'",
    msgs == ["call %d by %s pid %s" % (i, comm, pid) for i in range(N)], repr(msgs[:3]))
fl = [r.get("fields") for r in ev]
res("rules: every: fields are exactly the listed a and c (u64 above 2^53 as a decimal string)",
    fl == [{"a": i, "c": str(18446744073709551600 + i)} for i in range(N)], repr(fl[:2]))
th = by.get("thirds", [])
res("rules: thirds: alerts for a = 0, 3, 6 only", [r.get("fields", {}).get("double") for r in th] == [0, 6, 12],
    repr([r.get("fields") for r in th]))
res("rules: thirds: message from a function", [r.get("message") for r in th] == ["fn says 0", "fn says 30", "fn says 60"],
    repr([r.get("message") for r in th]))
res("rules: thirds: fields from functions, exactly them", [r.get("fields") for r in th] ==
    [{"double": 2 * a, "label": "L%d" % a} for a in (0, 3, 6)], repr([r.get("fields") for r in th]))
res("rules: thirds: default severity medium", th and all(r.get("severity") == "medium" for r in th),
    repr([r.get("severity") for r in th]))
so = by.get("str_only", [])
res("rules: str_only (probe without handler): one alert, severity low, message 'saw marker'",
    len(so) == 1 and so[0].get("severity") == "low" and so[0].get("message") == "saw marker"
    and so[0].get("probe") == STR, repr(so))
res("rules: str_only: without a fields list, the event's fields", len(so) == 1 and
    so[0].get("fields", {}).get("s") == "marker", repr(so[0].get("fields") if so else None))
pl = by.get("plain", [])
res("rules: plain: %d alerts, a = 0..%d" % (N, N - 1), [r.get("fields", {}).get("a") for r in pl] == list(range(N)),
    repr([r.get("fields") for r in pl]))
stale = [r.get("fields") for r in pl if r.get("fields", {}).get("a") != 0 and "tag" in r.get("fields", {})]
res("rules: plain: a key set by another rule's when on event a=0 is not in the alerts of later events",
    not stale, "%d of %d later alerts carry it: %r" % (len(stale), N - 1, stale[:2]))
bo = by.get("both", [])
res("rules: both (on two probes): %d alerts, %d of each probe" % (N + 1, N),
    [r.get("probe") for r in bo] == [INT] * N + [STR], repr([r.get("probe") for r in bo]))
res("rules: both: no message given: the message is a string", bo and all(isinstance(r.get("message"), str) for r in bo),
    repr([r.get("message") for r in bo][:2]))
EOF

# ---- a probe with neither handler nor rule: kp.run() names its line ---------
for how in explicit implicit; do
	{
		printf 'kp.uprobe("%s:kp_target_int", { a = "%%di:s32" }, function() end)\n' "$T"
		printf 'kp.uprobe("%s:kp_target_str", { s = "+0(%%di):ustring" })\n' "$T"
		printf 'local x = 1\n'
		[ $how = explicit ] && printf 'kp.run()\n'
		printf 'print("after run")\n'
	} >"$TMP/orphan_$how.lua"
	kp_run -c "$T 1 x" "$TMP/orphan_$how.lua"
	first=$(head -n 1 "$TMP/err")
	exits "rules/orphan ($how kp.run): exit 1" 1
	check "rules/orphan ($how kp.run): first stderr line names $TMP/orphan_$how.lua:2 (got: $first)" \
		has "$first" "$TMP/orphan_$how.lua:2:"
	check "rules/orphan ($how kp.run): and the probe" has "$first" "kp_target_str"
	[ $how = explicit ] && check "rules/orphan ($how kp.run): no code after the failed kp.run ran" \
		not grep -q 'after run' "$TMP/out"
	none_left "rules/orphan ($how kp.run)"
done

# ---- --output and SIGHUP: log rotation ---------------------------------------
# a record every 50 ms, numbered; mv FILE FILE.1 then SIGHUP; the numbers
# before the HUP are in FILE.1, after it in FILE, none lost or repeated
cat >"$TMP/tick.lua" <<EOF
kp.uprobe("$T:kp_target_str", {}, function() end) -- never called: makes a run
local n = 0
kp.every(50, function() n = n + 1; kp.emit({ n = n }) end)
kp.run()
kp.emit({ last = n })
EOF
LOG="$TMP/rot.log"
# wait_lines FILE N: wait (at most 5 s) until FILE has N lines
wait_lines() {
	_wl_i=0
	while [ "$(cat "$1" 2>/dev/null | wc -l)" -lt "$2" ] && [ $_wl_i -lt 500 ]; do
		sleep 0.01
		_wl_i=$((_wl_i + 1))
	done
	[ "$(cat "$1" 2>/dev/null | wc -l)" -ge "$2" ]
}
kp_start -o json --output "$LOG" "$TMP/tick.lua"
check "rules/rotate: records reach FILE" wait_lines "$LOG" 5
mv "$LOG" "$LOG.1"
sleep 0.12 # records written now go on to the renamed file: still the same open file
kill -HUP "$kpid"
check "rules/rotate: after SIGHUP, a new FILE gets records" wait_lines "$LOG" 5
n1=$(wc -l <"$LOG.1")
sleep 0.2
check "rules/rotate: after SIGHUP, FILE.1 gets nothing more (was $n1, now $(wc -l <"$LOG.1"))" \
	[ "$(wc -l <"$LOG.1")" -eq "$n1" ]
check "rules/rotate: the run is still going" kill -0 "$kpid"
kill -TERM "$kpid"
wait "$kpid"
rc=$?
exits "rules/rotate: SIGTERM ends it with status 0 ($(oneline "$TMP/err"))" 0
none_left "rules/rotate"
check "rules/rotate: nothing on the terminal" [ ! -s "$TMP/out" ]
python3 - "$LOG.1" "$LOG" <<'EOF'
import os, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
from lib import res, records
old, oo = records(sys.argv[1])
new, no = records(sys.argv[2])
res("rules/rotate: every line of both files is a JSON object", not oo and not no, repr((oo + no)[:3]))
a = [r.get("fields", {}).get("n") for r in old]
b = [r.get("fields", {}).get("n") for r in new if "n" in r.get("fields", {})]
last = [r.get("fields", {}).get("last") for r in new if "last" in r.get("fields", {})]
res("rules/rotate: FILE.1 holds records 1..%d in order" % len(a), a == list(range(1, len(a) + 1)), repr(a))
res("rules/rotate: FILE holds the next ones, %s.., in order" % (len(a) + 1),
    b == list(range(len(a) + 1, len(a) + 1 + len(b))) and len(b) >= 5, repr(b))
res("rules/rotate: the record after the run counts them all (none lost): last = %s" % last,
    last == [len(a) + len(b)], "FILE.1 %d + FILE %d records" % (len(a), len(b)))
EOF

# ---- SIGHUP without --output: stops like SIGTERM -----------------------------
cat >"$TMP/hup.lua" <<EOF
$(lua_registered)
kp.uprobe("$T:kp_target_str", {}, function() end)
local said = false
kp.every(20, function()
  if not said then
    local pid, n = registered()
    print("registered " .. n)
    io.stdout:flush()
    said = true
  end
end)
kp.run()
print("after run")
EOF
kp_start "$TMP/hup.lua"
check "rules/hup: the run has its probe registered" wait_file "$TMP/out"
check "rules/hup: (registered 1: $(oneline "$TMP/out"))" [ "$(val registered)" = 1 ]
kill -HUP "$kpid"
i=0
while kill -0 "$kpid" 2>/dev/null && [ $i -lt 300 ]; do
	sleep 0.01
	i=$((i + 1))
done
check "rules/hup: SIGHUP without --output ends the run (within 3 s)" not kill -0 "$kpid"
kill -KILL "$kpid" 2>/dev/null
wait "$kpid"
rc=$?
exits "rules/hup: exit status 0 ($(oneline "$TMP/err"))" 0
check "rules/hup: kp.run() returned: the code after it ran" grep -qx 'after run' "$TMP/out"
check "rules/hup: nothing on stderr" [ ! -s "$TMP/err" ]
none_left "rules/hup"

# ---- a directory of detection scripts: all run, in name order, together ------
D="$TMP/detections"
mkdir "$D"
cat >"$D/b_str.lua" <<EOF
print("load b_str")
local p = kp.uprobe("$T:kp_target_str", { s = "+0(%di):ustring" })
kp.rule{ name = "dir_str", on = p, severity = "high", message = "str {s}" }
EOF
cat >"$D/a_int.lua" <<EOF
print("load a_int")
local p = kp.uprobe("$T:kp_target_int", { a = "%di:s32" })
kp.rule{ name = "dir_int", on = p, when = function(ev) return ev.a >= 1 end, message = "int {a}" }
EOF
printf 'this is not Lua ((\n' >"$D/notes.txt"
kp_run -o json -c "$T 3 dirmark" "$D"
exits "rules/dir: exit status 0 ($(oneline "$TMP/err"))" 0
none_left "rules/dir"
check "rules/dir: the scripts load in name order, each once (got: $(grep '^load' "$TMP/out" | tr '\n' ' '))" \
	[ "$(grep '^load' "$TMP/out" | tr '\n' ' ')" = "load a_int load b_str " ]
python3 - "$TMP/out" <<'EOF'
import os, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
from lib import res, records
recs, other = records(sys.argv[1])
got = [(r.get("rule"), r.get("message"), r.get("severity")) for r in recs]
res("rules/dir: the alerts of both scripts' rules, in event order",
    got == [("dir_int", "int 1", "medium"), ("dir_int", "int 2", "medium"), ("dir_str", "str dirmark", "high")],
    repr(got))
EOF
