#!/bin/sh
# Output: kp.emit records of hostile strings, read back by a real JSON
# parser (python3's json, line by line, from the file's bytes).
#
# Strings reach a uprobe on kp_target_str (its argument, fetched with
# +0(%di):ustring) as the target's STR argument: a newline, a double quote,
# backslashes, invalid UTF-8 (\377\376), control bytes (\001 \033, tab, CR,
# DEL), valid multi-byte UTF-8 (e-acute, a CJK character, the C1 control
# U+009B), 4000 bytes of multi-byte UTF-8, and a 4 KiB argument.
#
# -o json: one JSON object per record and per line; valid UTF-8 strings are
# JSON strings of exactly those bytes, invalid ones {"base64": ...} of
# exactly those bytes; a u64 above 2^53 is a decimal string of the exact
# value, a 15-digit address (below 2^53) stays an exact JSON number; the
# envelope (time, host, kind, probe, pid, tid, comm) is right.
# Text (no -o): one line per record, no raw control byte.
# --output FILE: the records go to FILE (appended), none to the terminal.
#
# The 4 KiB argument: the kernel reads a ustring of at most MAX_STRING_SIZE
# (4096 bytes with its NUL): a longer one is not read at all and arrives as
# "" (strnlen_user beyond the limit); lengths 4092-4095 overflow the uprobe
# buffer and trip a WARN_ON_ONCE in prepare_uprobe_buffer, so this test
# never passes those. The check: the decoded value is a prefix of the input
# (the kernel's truncation, possibly empty), in the right JSON form.
#
# The target is a private copy of uprobe_target (a uprobe is on an inode),
# so no other run of uprobe_target on the machine adds records.
. tests/live/lib.sh
need_live output

need_prog output "$PROGS/uprobe_target"
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import json' 2>/dev/null; then
	skip "output: needs python3 for its JSON parser"
	exit 0
fi
T="$TMP/kp_out_target"
cp "$PROGS/uprobe_target" "$T" || exit 1
C="$TMP/cases"
mkdir "$C"

# the command: one target run per case; its argument's exact bytes in
# $C/NAME.exp, its pid in $C/NAME.pid
cat >"$TMP/cmd.sh" <<EOF
T=$T
C=$C
EOF
cat >>"$TMP/cmd.sh" <<'EOF'
run() {
	printf '%s' "$2" >"$C/$1.exp"
	"$T" 0 "$2" &
	echo $! >"$C/$1.pid"
	wait $!
}
run newline "$(printf 'line1\nline2')"
run quote 'say "hi" ""'
run backslash 'a\b\\c\n\'
run invalid "$(printf 'x\377\376y')"
run invalid_only "$(printf '\377\376')"
run control "$(printf 'a\001b\033[31mred\033[0m')"
run tab_cr_del "$(printf 'a\tb\rc\177d')"
run utf8 "$(printf 'caf\303\251 \346\274\242')"
run c1 "$(printf 'a\302\233b')"
run json_like '{"kind":"alert"}'
run long "$(awk 'BEGIN { for (i = 0; i < 800; i++) printf "\303\251\346\274\242" }')"
run kib4 "$(awk 'BEGIN { for (i = 0; i < 4096; i++) printf "%c", 97 + i % 26 }')"
"$T" 3 ints &
echo $! >"$C/ints.pid"
wait $!
EOF

cat >"$TMP/emit.lua" <<'EOF'
local T = arg[1]
-- p: the string's address, a 15-digit number below 2^53 (0x7ff...);
-- p_dec: the same in decimal digits, made here, not by the JSON encoder
kp.uprobe(T .. ":kp_target_str", { s = "+0(%di):ustring", p = "%di:u64" }, function(ev)
  kp.emit(ev, { p_dec = string.format("%d", ev.p) })
end)
kp.uprobe(T .. ":kp_target_int", { a = "%di:s32", b = "%si:s64", c = "%dx:u64", cs = "%dx:s64" },
  function(ev) kp.emit(ev) end)
EOF

cat >"$TMP/check.py" <<'EOF'
import base64, datetime, json, os, re, socket, sys

mode, path, cdir, target = sys.argv[1:5]
names = ["newline", "quote", "backslash", "invalid", "invalid_only", "control", "tab_cr_del",
         "utf8", "c1", "json_like", "long", "kib4"]
exp = {n: open(os.path.join(cdir, n + ".exp"), "rb").read() for n in names}
pid = {n: int(open(os.path.join(cdir, n + ".pid")).read()) for n in names + ["ints"]}
STR = "uprobe:" + target + ":kp_target_str"
INT = "uprobe:" + target + ":kp_target_int"
NREC = len(names) + 4  # the ints run calls kp_target_str once too

def res(name, good, why=""):
    print(("ok - " if good else "not ok - ") + "output/" + mode + ": " + name + ("" if good else ": " + why))

def utf8(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False

data = open(path, "rb").read()
lines = data.split(b"\n")
res("the output ends with a newline", data.endswith(b"\n"), "last bytes %r" % data[-20:])
if lines and lines[-1] == b"":
    lines.pop()
res("one line per record: %d lines" % NREC, len(lines) == NREC, "got %d lines" % len(lines))

if mode == "text":
    bad = [(i, l) for i, l in enumerate(lines) if re.search(rb"[\x00-\x1f\x7f]", l)]
    res("no raw control byte in any line", not bad,
        "; ".join("line %d: %r" % (i + 1, l[:160]) for i, l in bad[:3]))
    pbad = []
    for n in names:
        mine = [l for l in lines if re.search(rb"(^| )pid=%d( |$)" % pid[n], l)]
        res("%s: exactly one line of pid %d" % (n, pid[n]), len(mine) == 1, "got %d" % len(mine))
        if len(mine) == 1:
            m = re.search(rb" p_dec=\"?(\d+)\"?( |$)", mine[0])
            if not (m and re.search(rb"(^| )p=%s( |$)" % m.group(1), mine[0])):
                pbad.append(mine[0][:300])
    res("every string's address p (15 digits, below 2^53) is exact, as p_dec says", not pbad,
        "%d of %d wrong, e.g. %r" % (len(pbad), len(names), pbad[:1]))
    ints = [l for l in lines if re.search(rb"(^| )pid=%d( |$)" % pid["ints"], l)
            and re.search(rb" probe=uprobe:\S*:kp_target_int ", l)]
    res("u64 above 2^53 exact in text", len(ints) == 3 and all(
        re.search(rb"(^| )c=\"?%d\"?( |$)" % (18446744073709551600 + i), l) for i, l in enumerate(ints)),
        "lines: %r" % ints)
    sys.exit(0)

recs = []
for i, l in enumerate(lines):
    try:
        r = json.loads(l)
    except Exception as e:
        res("line %d is one JSON value" % (i + 1), False, "%s: %r" % (e, l[:200]))
        continue
    if not isinstance(r, dict):
        res("line %d is a JSON object" % (i + 1), False, repr(r)[:200])
        continue
    recs.append(r)
res("every line is a JSON object (%d of %d)" % (len(recs), len(lines)), len(recs) == len(lines) == NREC,
    "%d objects of %d lines" % (len(recs), len(lines)))

def fields(r):
    f = r.get("fields")
    return f if isinstance(f, dict) else {}

def decode(v):
    """the bytes a JSON value stands for, and its form"""
    if isinstance(v, str):
        return v.encode("utf-8"), "string"
    if isinstance(v, dict) and set(v) == {"base64"} and isinstance(v["base64"], str):
        return base64.b64decode(v["base64"], validate=True), "base64"
    return None, "neither a string nor {base64}: %r" % (v,)

host = socket.gethostname()
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
now = datetime.datetime.now(datetime.timezone.utc)
pbad = []
for n in names:
    mine = [r for r in recs if r.get("pid") == pid[n]]
    res("%s: exactly one record of pid %d" % (n, pid[n]), len(mine) == 1, "got %d" % len(mine))
    if len(mine) != 1:
        continue
    r = mine[0]
    f = fields(r)
    got, form = decode(f.get("s"))
    want = exp[n]
    if got is None:
        res("%s: fields.s decodes" % n, False, form)
        continue
    if n == "kib4":
        res("kib4: the 4096-byte argument is %d bytes of it (a prefix: the kernel's truncation)"
            % len(got), want.startswith(got), "got %r..." % got[:40])
    else:
        res("%s: fields.s is exactly the argument's %d bytes" % (n, len(want)), got == want,
            "want %r got %r" % (want[:60], got[:60]))
    # the form follows the bytes delivered: the argument's, or the kernel's prefix of kib4
    want_form = "string" if utf8(got if n == "kib4" else want) else "base64"
    res("%s: %s bytes are a JSON %s" % (n, "valid UTF-8" if want_form == "string" else "invalid UTF-8",
        want_form), form == want_form, "got a %s" % form)
    p, p_dec = f.get("p"), f.get("p_dec")
    if not (type(p) is int and isinstance(p_dec, str) and p == int(p_dec)):
        pbad.append("p %r, p_dec %r" % (p, p_dec))
res("every string's address p (15 digits, below 2^53) is an exact JSON integer, as p_dec says",
    not pbad, "%d of %d wrong, e.g. %s" % (len(pbad), len(names), pbad[:2]))

# the envelope, on the quote case
q = [r for r in recs if r.get("pid") == pid["quote"]]
if q:
    r = q[0]
    t = r.get("time")
    res("envelope: time is RFC 3339 UTC with 9-digit ns (%s)" % t, isinstance(t, str) and TIME.match(t), repr(t))
    if isinstance(t, str) and TIME.match(t):
        dt = datetime.datetime.strptime(t[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
        res("envelope: time is now (within 5 minutes of %s)" % now.isoformat(),
            abs((now - dt).total_seconds()) < 300, t)
    res("envelope: host is %s" % host, r.get("host") == host, repr(r.get("host")))
    res("envelope: kind is event", r.get("kind") == "event", repr(r.get("kind")))
    res("envelope: probe is %s" % STR, r.get("probe") == STR, repr(r.get("probe")))
    res("envelope: tid is the pid", r.get("tid") == pid["quote"], repr(r.get("tid")))
    res("envelope: comm is the target's", r.get("comm") == os.path.basename(target)[:15], repr(r.get("comm")))
    res("envelope: no rule or severity on an event", "rule" not in r and "severity" not in r, repr(r)[:200])
    res("envelope: pid, tid, cpu, time, comm, probe not repeated under fields",
        not set(fields(r)) & {"pid", "tid", "cpu", "time", "comm", "probe"}, repr(sorted(fields(r))))

ints = [r for r in recs if r.get("pid") == pid["ints"] and r.get("probe") == INT]
res("ints: three kp_target_int records", len(ints) == 3,
    repr(ints)[:300])
for i, r in enumerate(ints):
    f = fields(r)
    res("ints %d: u64 c above 2^53 is the decimal string %d" % (i, 18446744073709551600 + i),
        f.get("c") == str(18446744073709551600 + i), repr(f.get("c")))
    res("ints %d: s64 cs = %d, s64 b = %d, s32 a = %d are JSON numbers" % (i, i - 16, -i, i),
        [f.get("cs"), f.get("b"), f.get("a")] == [i - 16, -i, i]
        and all(type(f.get(k)) is int for k in ("cs", "b", "a")),
        repr([f.get("cs"), f.get("b"), f.get("a")]))
EOF

abs=$(readlink -f "$T")

# -o json
kp_run -o json -c "sh $TMP/cmd.sh" "$TMP/emit.lua" "$abs"
exits "output/json: exit status 0 ($(oneline "$TMP/err"))" 0
none_left "output/json"
python3 "$TMP/check.py" json "$TMP/out" "$C" "$abs"

# text: the same cases, one line per record, no raw control byte
rm -f "$C"/*
kp_run -c "sh $TMP/cmd.sh" "$TMP/emit.lua" "$abs"
exits "output/text: exit status 0 ($(oneline "$TMP/err"))" 0
none_left "output/text"
python3 "$TMP/check.py" text "$TMP/out" "$C" "$abs"

# plain tables: numbers below 2^53 keep their exact value
kp -o json -e 'kp.emit({ n15 = 123456789012345, n16 = 9007199254740991, neg = -9007199254740991, small = 42, f = 0.5, t = true, s = "x" })'
exits "output/json table: exit status 0" 0
python3 - "$TMP/out" <<'EOF'
import json, sys
lines = open(sys.argv[1], "rb").read().splitlines()
ok = len(lines) == 1
f = {}
if ok:
    try:
        f = json.loads(lines[0]).get("fields", {})
    except Exception as e:
        ok = False
want = {"n15": 123456789012345, "n16": 9007199254740991, "neg": -9007199254740991, "small": 42,
        "f": 0.5, "t": True, "s": "x"}
print(("ok - " if ok else "not ok - ") + "output/json table: one JSON line" + ("" if ok else ": %r" % lines))
for k, v in want.items():
    good = k in f and f[k] == v and type(f[k]) is type(v)
    print(("ok - " if good else "not ok - ") + "output/json table: %s = %r, exact and of its JSON type" % (k, v)
          + ("" if good else ": got %r" % (f.get(k),)))
EOF
kp -o json -e 'kp.emit({ nul = "a\0b" })'
check "output/json table: a NUL byte in a Lua string is escaped (got: $(cat "$TMP/out"))" \
	python3 -c 'import json, sys; r = json.loads(open(sys.argv[1], "rb").read()); sys.exit(r["fields"]["nul"] != "a\0b")' "$TMP/out"
kp -e 'kp.emit({ n15 = 123456789012345, n16 = 9007199254740991 })'
line=$(cat "$TMP/out")
check "output/text table: n15=123456789012345 exact (got: $line)" has "$line" " n15=123456789012345"
check "output/text table: n16=9007199254740991 exact" has "$line" " n16=9007199254740991"

# the event table is reused: a key the handler set on one event must not
# reach the record of the next one
kp_run -o json -c "$T 3 stale" -e "
kp.uprobe('$abs:kp_target_int', { a = '%di:s32' }, function(ev)
  if ev.a == 0 then ev.mark = 'first only' end
  kp.emit(ev)
end)"
exits "output/stale: exit status 0" 0
python3 - "$TMP/out" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], "rb").read().splitlines()]
f = [r.get("fields", {}) for r in recs]
good = [x.get("a") for x in f] == [0, 1, 2] and f[0].get("mark") == "first only" and not any("mark" in x for x in f[1:])
print(("ok - " if good else "not ok - ") + "output/stale: ev.mark set on the first event only is in its record only"
      + ("" if good else ": %r" % f))
EOF

# --output FILE: appended to, the lines go there and none to the terminal
printf 'before\n' >"$TMP/log"
kp_run -o json --output "$TMP/log" -c "$T 2 logged" -e "
kp.uprobe('$abs:kp_target_int', { a = '%di:s32' }, function(ev) kp.emit(ev) end)
print('plain print')"
exits "output/--output: exit status 0 ($(oneline "$TMP/err"))" 0
check "output/--output: nothing on the terminal (got: $(oneline "$TMP/out"))" [ ! -s "$TMP/out" ]
check "output/--output: the file keeps what it held (appended)" [ "$(head -n 1 "$TMP/log")" = before ]
check "output/--output: the script's print goes to the file" grep -qx 'plain print' "$TMP/log"
python3 - "$TMP/log" <<'EOF'
import json, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
recs = []
for l in lines:
    if l.startswith(b"{"):
        try:
            recs.append(json.loads(l))
        except Exception:
            pass
good = [r.get("fields", {}).get("a") for r in recs] == [0, 1]
print(("ok - " if good else "not ok - ") + "output/--output: the file holds the 2 records as JSON lines"
      + ("" if good else ": %r" % lines))
EOF
none_left "output/--output"
