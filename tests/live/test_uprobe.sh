#!/bin/sh
# Uprobe decode: every fetch arg of known calls of build/progs/uprobe_target
# decodes to its exact value (s32, negative s64, u64 above 2^53 as uint64_t
# cdata, ustring), uretprobes see the return values, and the PATH:0xOFFSET
# and SYMBOL+OFF forms hit the same code.
#
# uprobe_target N STR calls, in order (see tests/progs/uprobe_target.c):
#   kp_target_int(i, -i, 0xfffffffffffffff0 + i % 16, STR) = i + 1, i = 0..N-1
#   kp_target_str(STR) = STR; kp_target_outer(3) -> middle(3) = 5 -> leaf(3) = 4
# A uprobe hits every process that runs the binary, so the events of our
# run are told apart by the target's pid, learnt from its kp_target_int
# calls with our unique STR.
. tests/live/lib.sh
need_live uprobe

T=$PROGS/uprobe_target
need_prog uprobe "$T"
ABS=$(readlink -f "$T")
N=40
STR="kp str $$ w\303\266rld" # a space and UTF-8 bytes (\303\266 is o-umlaut)
STR=$(printf "$STR")

cat >"$TMP/decode.lua" <<'EOF'
local ffi = require "ffi"
local T, N, STR = arg[1], tonumber(arg[2]), arg[3]
local evs = {}
local function keep(e) evs[#evs + 1] = e:copy() end
kp.uprobe(T .. ":kp_target_int", { a = "%di:s32", b = "%si:s64", c = "%dx:u64", s = "+0(%cx):ustring" }, keep)
kp.uretprobe(T .. ":kp_target_int", { ret = "$retval:s32" }, keep)
kp.uretprobe(T .. ":kp_target_str", { r = "+0($retval):ustring" }, keep)
kp.uprobe(T .. ":kp_target_leaf", { n = "%di:s32" }, keep)
kp.uretprobe(T .. ":kp_target_leaf", { ret = "$retval:s32" }, keep)
kp.uretprobe(T .. ":kp_target_middle", { ret = "$retval:s32" }, keep)
kp.run()

-- our target: the pid whose kp_target_int calls carry STR
local pid
for _, e in ipairs(evs) do
  if e.s == STR then pid = e.pid break end
end
print("pid " .. tostring(pid))
local bad = {}
local function fail(fmt, ...) bad[#bad + 1] = string.format(fmt, ...) end
local mine = {}
for _, e in ipairs(evs) do if e.pid == pid then mine[#mine + 1] = e end end

local P = "uprobe:" .. arg[4] .. ":"
local R = "uretprobe:" .. arg[4] .. ":"
-- expected delivery order: entry i, return i for every i, then str's return,
-- leaf entry, leaf return, middle return
local k = 1
local function nxt() local e = mine[k]; k = k + 1; return e end
-- the next event if it is PROBE's, else nil after saying so
local function take(probe, what, i)
  local e = nxt()
  if not e or e.probe ~= probe then
    fail("event %d: want %s of call %d, got %s", k - 1, what, i, e and e.probe or "nothing")
    return nil
  end
  return e
end
local entries, rets = 0, 0
for i = 0, N - 1 do
  local e = take(P .. "kp_target_int", "entry", i)
  if not e then break end
  entries = entries + 1
  local c = 0xfffffffffffffff0ULL + i % 16
  if e.a ~= i or type(e.a) ~= "number" then fail("call %d: a = %s", i, tostring(e.a)) end
  if e.b ~= -i or type(e.b) ~= "number" then fail("call %d: b = %s", i, tostring(e.b)) end
  if type(e.c) ~= "cdata" or not ffi.istype("uint64_t", e.c) or e.c ~= c then
    fail("call %d: c = %s (%s), want %s", i, tostring(e.c), type(e.c), tostring(c))
  end
  if e.s ~= STR then fail("call %d: s = %q", i, tostring(e.s)) end
  if e.comm ~= "uprobe_target" then fail("call %d: comm = %q", i, tostring(e.comm)) end
  if e.tid ~= e.pid then fail("call %d: tid %s ~= pid %s", i, tostring(e.tid), tostring(e.pid)) end
  if type(e.cpu) ~= "number" or type(e.time) ~= "number" or e.time <= 0 then
    fail("call %d: cpu %s time %s", i, tostring(e.cpu), tostring(e.time))
  end
  local r = take(R .. "kp_target_int", "return", i)
  if not r then break end
  rets = rets + 1
  if r.ret ~= i + 1 then fail("call %d: ret = %s, want %d", i, tostring(r.ret), i + 1) end
  if r.time < e.time then fail("call %d: return before entry", i) end
end
print("entries " .. entries)
print("returns " .. rets)
local function expect(probe, field, want)
  local e = nxt()
  if not e or e.probe ~= probe then
    fail("want %s, got %s", probe, e and e.probe or "nothing")
  elseif e[field] ~= want then
    fail("%s: %s = %s, want %s", probe, field, tostring(e[field]), tostring(want))
  end
end
expect(R .. "kp_target_str", "r", STR)
expect(P .. "kp_target_leaf", "n", 3)
expect(R .. "kp_target_leaf", "ret", 4)
expect(R .. "kp_target_middle", "ret", 5)
if mine[k] then fail("%d extra events of pid %s, first %s", #mine - k + 1, tostring(pid), mine[k].probe) end
print("bad " .. #bad)
for i = 1, math.min(#bad, 5) do print("  " .. bad[i]) end
local st = kp.counters()
local lost = 0
for _, s in pairs(st) do lost = lost + s.lost + s.bad_fields end
print("lost " .. lost)
EOF
kp_run -c "$T $N '$STR'" "$TMP/decode.lua" "$T" "$N" "$STR" "$ABS"
exits "uprobe: run exits 0" 0
check "uprobe: the target's pid is found by its string argument" not grep -qx 'pid nil' "$TMP/out"
check "uprobe: $N kp_target_int entries in call order (got $(val entries))" [ "$(val entries)" = "$N" ]
check "uprobe: $N kp_target_int returns, each right after its entry (got $(val returns))" [ "$(val returns)" = "$N" ]
if [ "$(val bad)" = 0 ]; then
	ok "uprobe: a (s32), b (negative s64), c (u64 > 2^53 as uint64_t cdata), s (ustring), \$retval, +0(\$retval):ustring, leaf/middle decode exactly"
else
	notok "uprobe: decode mismatches ($(val bad)):$(sed -n 's/^  / |/p' "$TMP/out" | tr -d '\n') $(oneline "$TMP/err")"
fi
check "uprobe: no event lost and no bad field (got $(val lost))" [ "$(val lost)" = 0 ]
none_left uprobe

# PATH:0xOFFSET: the file offset of kp_target_int, computed here from the
# ELF headers (symbol value - section address + section file offset)
off=
set -- $(readelf -sSW "$T" 2>/dev/null | awk '
	/^ *\[ *[0-9]+\]/ { sub(/^ *\[ */, ""); sub(/\]/, ""); addr[$1] = $4; off[$1] = $5 }
	$8 == "kp_target_int" && $4 == "FUNC" { v = $2; ndx = $7 }
	END { if (v != "" && (ndx in addr)) print v, addr[ndx], off[ndx] }')
[ $# -eq 3 ] && off=$(printf '0x%x' $((0x$1 - 0x$2 + 0x$3)))
# dry_def SPEC: where --dry-run of off.lua puts the uprobe SPEC (PATH:0xOFFSET)
dry_def() {
	"$KPSCRIPT" --dry-run "$TMP/off.lua" "$1" x >"$TMP/dry" 2>&1
	grep '^p:' "$TMP/dry" | awk '{ print $2 }'
}
if [ -z "$off" ]; then
	skip "uprobe: PATH:0xOFFSET: readelf could not give kp_target_int's offset"
else
	cat >"$TMP/off.lua" <<'EOF'
local spec, STR = arg[1], arg[2]
local n, probe, bad = 0, nil, 0
kp.uprobe(spec, { a = "%di:s32", s = "+0(%cx):ustring" }, function(e)
  if e.s ~= STR then return end
  if e.a ~= n then bad = bad + 1 end
  n = n + 1
  probe = e.probe
end)
kp.run()
print("count " .. n)
print("bad " .. bad)
print("probe " .. tostring(probe))
EOF
	drydef=$(dry_def "$T:kp_target_int")
	check "uprobe: --dry-run puts kp_target_int at $ABS:$off (got $drydef)" [ "$drydef" = "$ABS:$off" ]
	kp -c "$T 7 '$STR'" "$TMP/off.lua" "$T:$off" "$STR"
	check "uprobe: $T:$off runs (exit $rc)" [ "$rc" -eq 0 ]
	check "uprobe: $T:$off fires for each of 7 calls (got $(val count))" [ "$(val count)" = 7 ]
	check "uprobe: $T:$off decodes a = 0..6 in order" [ "$(val bad)" = 0 ]
	check "uprobe: ev.probe names the offset (got $(val probe))" [ "$(val probe)" = "uprobe:$ABS:$off" ]
fi

# SYMBOL+OFF: the second instruction of kp_target_int (from objdump), where
# the probe must land at symbol offset + OFF
second=$(objdump -d --no-show-raw-insn "$T" 2>/dev/null | awk '
	/^[0-9a-f]+ <kp_target_int>:/ { on = 1; next }
	on && /^ *[0-9a-f]+:/ { sub(/:.*/, ""); gsub(/ /, ""); n++; if (n == 1) first = $0; if (n == 2) { print first, $0; exit } }
	on && /^$/ { exit }')
set -- $second
if [ $# -ne 2 ] || [ -z "$off" ]; then
	skip "uprobe: SYMBOL+OFF: objdump could not disassemble kp_target_int"
else
	plus=$((0x$2 - 0x$1))
	drydef=$(dry_def "$T:kp_target_int+$plus")
	want=$(printf '%s:0x%x' "$ABS" $((off + plus)))
	check "uprobe: --dry-run puts kp_target_int+$plus at $want (got $drydef)" [ "$drydef" = "$want" ]
	# only the count is checked: what the registers hold after the first
	# instruction depends on the compiler
	cat >"$TMP/plus.lua" <<'EOF'
local n, probe, pid = 0, nil, nil
kp.uprobe(arg[1], {}, function(e)
  if not pid then
    local f = assert(io.open(arg[2]))
    pid = f:read("*n")
    f:close()
  end
  if e.pid ~= pid then return end
  n = n + 1
  probe = e.probe
end)
kp.run()
print("count " .. n)
print("probe " .. tostring(probe))
EOF
	kp -c "echo \$\$ >$TMP/tpid; exec $T 5" "$TMP/plus.lua" "$T:kp_target_int+$plus" "$TMP/tpid"
	check "uprobe: kp_target_int+$plus runs (exit $rc)" [ "$rc" -eq 0 ]
	check "uprobe: kp_target_int+$plus fires for each of 5 calls (got $(val count))" [ "$(val count)" = 5 ]
	check "uprobe: ev.probe names SYMBOL+OFF (got $(val probe))" [ "$(val probe)" = "uprobe:$ABS:kp_target_int+$plus" ]
fi
