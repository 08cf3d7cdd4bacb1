#!/bin/sh
# Aggregates, stacks and latency on real events: counts and histogram
# buckets exact for a known workload, the printed text, JSON that parses,
# user stacks that name the callers of a function built with frame
# pointers, stacks through --record/--replay, and kp.latency pairing.
. tests/live/lib.sh
need_live agg
need_prog agg "$PROGS/uprobe_target"
# a private copy: uprobes fire in every process running the binary, and
# other tests may run the shared one at the same time
T=$TMP/uprobe_target
cp "$PROGS/uprobe_target" "$T"
need_prog agg "$PROGS/gen_getppid"
cp tests/live/lib.py "$TMP/lib.py"

# 1. a tracepoint count keyed by pid: exactly the generator's N calls, and
#    the aggregate printed at exit as @calls[PID]: N
N=5000
cat >"$TMP/count.lua" <<'EOF'
local calls = kp.count()
kp.tracepoint("syscalls:sys_enter_getppid", { pages = 1024 }, function(e) calls:add(e.pid) end)
kp.run()
local f = assert(io.open(arg[1]))
local pid = f:read("*n")
f:close()
print("gen " .. calls[pid] .. " pid " .. pid)
EOF
kp_run -c "$PROGS/gen_getppid $N $TMP/pid; true" "$TMP/count.lua" "$TMP/pid"
exits "count: run exits 0" 0
pid=$(cat "$TMP/pid")
check "count: calls[pid] is exactly $N (got $(val gen | oneline /dev/stdin))" [ "$(val gen)" = "$N pid $pid" ]
check "count: printed at exit as @calls[$pid]: $N" grep -qx "@calls\[$pid\]: $N" "$TMP/out"
check "count: nothing lost" not grep -q lost "$TMP/err"
none_left count

# 2. a uprobe argument into every kind: kp_target_int(i, ...) for i = 0..99
cat >"$TMP/hist.lua" <<'EOF'
local h, lh, st, sm = kp.hist("a"), kp.lhist(0, 100, 25, "la"), kp.stats("sa"), kp.sum("neg")
kp.uprobe(arg[1] .. ":kp_target_int", { a = "%di:s32", b = "%si:s64" }, function(e)
  h:add(e.a)
  lh:add(e.a)
  st:add(e.comm, e.a)
  sm:add(e.b)
end)
EOF
kp_run -c "$T 100" "$TMP/hist.lua" "$T"
exits "hist: run exits 0" 0
cat >"$TMP/want" <<'EOF'

@a:
[0]                    1 |@                                                   |
[1]                    1 |@                                                   |
[2, 4)                 2 |@@                                                  |
[4, 8)                 4 |@@@@@                                               |
[8, 16)                8 |@@@@@@@@@@@                                         |
[16, 32)              16 |@@@@@@@@@@@@@@@@@@@@@@@                             |
[32, 64)              32 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@      |
[64, 128)             36 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

@la:
[0, 25)               25 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[25, 50)              25 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[50, 75)              25 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[75, 100)             25 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

@sa[uprobe_target]: count 100, average 49, total 4950, min 0, max 99
@neg: -4950
EOF
check "hist: exit output is exactly the expected buckets, sum and stats" cmp -s "$TMP/want" "$TMP/out"
cmp -s "$TMP/want" "$TMP/out" || diff "$TMP/want" "$TMP/out" | head -20 | sed 's/^/#   /'
none_left hist

# 3. -o json: one object per aggregate, buckets and keys as data
kp_run -o json -c "$T 100" "$TMP/hist.lua" "$T"
exits "json: run exits 0" 0
python3 - "$TMP/out" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0])
from lib import res, records
recs, other = records(sys.argv[1])
res("json: every line parses (%d records)" % len(recs), len(recs) == 4 and not other,
    repr(other[:2]))
by = {r.get("name"): r for r in recs}
a = by.get("@a", {})
b = [(x.get("min"), x.get("max"), x["count"]) for x in a.get("entries", [{}])[0].get("value", {}).get("buckets", [])]
res("json: @a buckets exact", b == [(0, 0, 1), (1, 1, 1), (2, 3, 2), (4, 7, 4), (8, 15, 8),
    (16, 31, 16), (32, 63, 32), (64, 127, 36)], repr(b))
s = by.get("@sa", {}).get("entries", [{}])[0]
res("json: @sa keyed by comm with count/min/max/avg",
    s.get("key") == "uprobe_target" and s.get("value") == {"count": 100, "sum": 4950, "min": 0,
    "max": 99, "avg": 49}, repr(s))
res("json: kind, type and dropped", all(r.get("kind") == "aggregate" and r.get("dropped") == 0
    for r in recs) and by.get("@la", {}).get("type") == "lhist", repr(recs[:1]))
EOF

# 4. user stacks: kp_target_leaf is called as main -> outer -> middle ->
#    leaf; the process lingers so its maps can be read when frames are named
cat >"$TMP/stack.lua" <<'EOF'
local by = kp.count { name = "stacks", print = false }
kp.uprobe(arg[1] .. ":kp_target_leaf", {}, { stack = true }, function(e)
  print("frames " .. table.concat(kp.usym(e.stack), " "))
  print("counts " .. #e.stack .. " " .. e.stack.nkernel .. " " .. e.stack.nuser)
  by:add({ e.comm, e.stack })
end)
kp.run()
kp.print(by, { folded = true })
EOF
kp_run -c "KP_TARGET_LINGER_MS=300 $T 1" "$TMP/stack.lua" "$T"
exits "stack: run exits 0" 0
fr=$(val frames)
check "stack: leaf <- middle <- outer <- main ($fr)" \
	cond 'printf "%s\n" "$fr" | grep -Eq "^kp_target_leaf kp_target_middle\+0x[0-9a-f]+ kp_target_outer\+0x[0-9a-f]+ main\+0x[0-9a-f]+( |$)"'
check "stack: no kernel frames at a uprobe ($(val counts))" cond '[ "$(val counts | cut -d" " -f2)" = 0 ]'
check "stack: folded line, root first, counted once" \
	grep -Eq "^uprobe_target;.*main\+0x[0-9a-f]+;kp_target_outer\+0x[0-9a-f]+;kp_target_middle\+0x[0-9a-f]+;kp_target_leaf 1$" "$TMP/out"
none_left stack

# 5. a stack goes through --record and --replay: the same addresses
cat >"$TMP/raw.lua" <<'EOF'
kp.uprobe(arg[1] .. ":kp_target_leaf", {}, { stack = true }, function(e)
  local a = {}
  for i = 1, #e.stack do a[i] = string.format("%x", tonumber(e.stack[i])) end
  print("raw " .. e.stack.pid .. " " .. table.concat(a, " "))
end)
EOF
kp_run --record "$TMP/st.kpr" -c "$T 1" "$TMP/raw.lua" "$T"
live=$(val raw)
kp_run --replay "$TMP/st.kpr" "$TMP/raw.lua" "$T"
exits "replay: exits 0" 0
check "replay: recorded stack replays with the same pid and addresses ($live)" \
	cond '[ -n "$live" ] && [ "$(val raw)" = "$live" ]'

# 6. kp.latency pairs each return with its entry: ret = a + 1 for all N
cat >"$TMP/lat.lua" <<'EOF'
local n, bad = 0, 0
local lat = kp.hist { name = "ns", print = false }
kp.latency(arg[1] .. ":kp_target_int", { args = { a = "%di:s32" } }, function(ev, ns, entry)
  n = n + 1
  if ev.ret ~= entry.a + 1 or ns <= 0 then bad = bad + 1 end
  lat:add(ns)
end)
kp.run()
local c = kp.counters()["latency:" .. arg[1] .. ":kp_target_int"]
local total = 0
for _, v in lat:sorted() do total = total + v.count end
print(string.format("lat %d bad %d unmatched %d pending %d hist %d", n, bad, c.unmatched,
  c.pending, total))
EOF
kp_run -c "$T 500" "$TMP/lat.lua" "$T"
exits "latency: run exits 0" 0
check "latency: 500 calls paired, return value matches entry argument ($(val lat))" \
	[ "$(val lat)" = "500 bad 0 unmatched 0 pending 0 hist 500" ]
none_left latency

# 7. scripts/funclatency.lua: the shipped script counts every call
kp_run -c "$T 300" scripts/funclatency.lua "$T:kp_target_int" us
exits "funclatency: exits 0" 0
total=$(awk '/^[[(]/ { n += substr($0, 17, 8) } END { print n + 0 }' "$TMP/out")
check "funclatency: histogram holds exactly 300 calls (got $total)" [ "$total" -eq 300 ]
check "funclatency: named @kp_target_int_us" grep -q '^@kp_target_int_us:$' "$TMP/out"
none_left funclatency
