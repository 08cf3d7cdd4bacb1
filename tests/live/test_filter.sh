#!/bin/sh
# Kernel filters (opts.filter): on a uprobe argument, on a uprobe string
# argument and on a tracepoint field, only matching events reach the
# handler, in exact numbers; a filter the kernel rejects fails the
# declaration with exit 1, names the filter, and leaves nothing registered.
#
# A uprobe fires for every process running the binary, so our calls carry a
# string no other run uses (STR) and only events with it count as ours;
# the "nothing else passed" checks look at every delivered event.
. tests/live/lib.sh
need_live filter

T=$PROGS/uprobe_target
need_prog filter "$T"
STR="kpfilter$$"

cat >"$TMP/filter.lua" <<'EOF'
local T, filter, STR = arg[1], arg[2], arg[3]
local mine, seen, outside = {}, 0, 0
local lo, hi = tonumber(arg[4]), tonumber(arg[5])
kp.uprobe(T .. ":kp_target_int", { a = "%di:s32", s = "+0(%cx):ustring" }, { filter = filter },
  function(e)
    seen = seen + 1
    if e.a < lo or e.a > hi then outside = outside + 1 end
    if e.s == STR then mine[#mine + 1] = e.a end
  end)
kp.run()
print("mine " .. table.concat(mine, ","))
print("outside " .. outside)
local s = kp.counters()
for _, v in pairs(s) do print("events " .. v.events .. " lost " .. v.lost) end
EOF

# filter EXPR LO HI WANT: run 10 calls (a = 0..9) under EXPR; only a in
# LO..HI may pass, and our calls that pass must be exactly WANT (a list)
filter() {
	expr=$1 lo=$2 hi=$3 want=$4
	kp_run -c "$T 10 $STR" "$TMP/filter.lua" "$T" "$expr" "$STR" "$lo" "$hi"
	exits "filter '$expr': exits 0" 0
	got=$(val mine)
	check "filter '$expr': our calls passed are exactly [$want] (got [$got])" [ "$got" = "$want" ]
	outside=$(val outside)
	check "filter '$expr': no event outside the filter reached the handler (got ${outside:-none})" \
		[ "$outside" = 0 ]
	none_left "filter '$expr'"
}

filter "a == 3" 3 3 "3"
filter "a >= 5 && a < 8" 5 7 "5,6,7"
filter "s == \"$STR\"" 0 9 "0,1,2,3,4,5,6,7,8,9"
filter "s == \"$STR\" && a != 4 && a > 1" 2 9 "2,3,5,6,7,8,9"
# nothing of ours matches: the handler must never run for us
filter "a == 1000" 1000 1000 ""

# a tracepoint field: sched_process_exec's filename. The file is a symlink
# to /bin/true with a name no other process execs: exactly one event.
ln -s /bin/true "$TMP/kpexec$$" || exit 1
cat >"$TMP/exec.lua" <<'EOF'
local n, other = 0, 0
kp.tracepoint("sched:sched_process_exec", { filter = 'filename == "' .. arg[1] .. '"' }, function(e)
  if e.filename == arg[1] then n = n + 1 else other = other + 1 end
end)
kp.run()
print("match " .. n)
print("other " .. other)
EOF
kp -c "/bin/true; $TMP/kpexec$$; /bin/true" "$TMP/exec.lua" "$TMP/kpexec$$"
exits "filter on sched_process_exec filename: exits 0" 0
check "filter on sched_process_exec filename: exactly 1 exec passes (got $(val match))" \
	grep -qx 'match 1' "$TMP/out"
check "filter on sched_process_exec filename: no other exec passes" grep -qx 'other 0' "$TMP/out"

# bad filters: exit 1, one message naming the filter, nothing registered
bad() {
	expr=$1 why=$2
	cat >"$TMP/bad.lua" <<EOF
kp.uprobe("$T:kp_target_int", { a = "%di:s32" }, function() end)
kp.uprobe("$T:kp_target_int", { a = "%di:s32" }, { filter = '$expr' }, function() end)
EOF
	kp_run -c "$T 1" "$TMP/bad.lua"
	exits "bad filter '$expr' ($why): exit 1" 1
	first=$(head -n 1 "$TMP/err")
	check "bad filter '$expr': the first stderr line names the filter (got: $first)" \
		has "$first" "\"$expr\""
	check "bad filter '$expr': the first stderr line names the script line ($TMP/bad.lua:2:)" \
		has "$first" "bad.lua:2:"
	check "bad filter '$expr': nothing left registered (the good probe before it too)" \
		not leftovers "$kpid"
	check "bad filter '$expr': the handler never ran (no output)" [ ! -s "$TMP/out" ]
}
bad "a ==== 3" "syntax"
bad "nosuchfield == 3" "unknown field"
