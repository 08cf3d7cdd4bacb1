#!/bin/sh
# kprobe / kretprobe on do_sys_openat2(int dfd, const char __user *filename,
# struct open_how *how): decoded arguments and return values against what
# the test program openat saw; a kernel-side filter; a candidate list; a raw
# kp.probe definition.
. /kp/guest/lib.sh
O=$PROGS/openat
D=$TMP/kpvm-dir
mkdir -p "$D"
echo present >"$D/kpvm-present"
echo rel >"$D/kpvm-rel"

# --- 1 + 2: entry arguments and return values ------------------------------
lua openat <<'L'
local fname = {} -- tid -> fname of the open in flight
kp.kprobe("do_sys_openat2", { dfd = "%di:s32", fname = "+0(%si):string" }, function(ev)
  fname[ev.tid] = ev.fname
  if ev.fname:find("kpvm-", 1, true) then
    print(string.format("E %s %d %d %s", ev.probe, ev.pid, ev.dfd, ev.fname))
  end
end)
kp.kretprobe("do_sys_openat2", { ret = "$retval:s32" }, function(ev)
  local f = fname[ev.tid]
  fname[ev.tid] = nil
  print(string.format("R %s %d %d %s", ev.probe, ev.pid, ev.ret, f or "?"))
end)
L
kp openat 0 -c "$O cwd $D/kpvm-present $D/kpvm-missing >$TMP/prog.out" "$TMP/openat.lua"
pid=$(progpid "$TMP/prog.out")
if [ -z "$pid" ]; then
	notok "kprobe: the program ran and printed its pid"
	diag "$TMP/prog.out"
	diag "$TMP/openat.err"
else
	# open -100 PATH RET lines of the program
	while read -r w dfd path ret; do
		[ "$w" = open ] || continue
		check "kprobe: entry event of pid $pid with dfd=$dfd fname=$path" \
			grep -qx "E kprobe:do_sys_openat2 $pid $dfd $path" "$TMP/openat.out"
		check "kretprobe: return event of pid $pid for $path with ret=$ret" \
			grep -qx "R kretprobe:do_sys_openat2 $pid $ret $path" "$TMP/openat.out"
	done <"$TMP/prog.out"
	want=$(awk '$1 == "open" { printf "%s ", $4 }' "$TMP/prog.out")
	n=$(awk '$1 == "open"' "$TMP/prog.out" | wc -l)
	got=$(awk -v p="$pid" '$1 == "R" && $3 == p { print $4 }' "$TMP/openat.out" | tail -n "$n" | tr '\n' ' ')
	check "kretprobe: the last $n returns of pid $pid are what the program got ($got= $want)" [ "$got" = "$want" ]
	set -- $want
	fd=${1:--1} missing=${2:-}
	check "kretprobe: a valid fd for the present file ($fd) and -2 (-ENOENT) for the missing one ($missing)" \
		cond '[ "$fd" -ge 0 ] && [ "$missing" = -2 ]'
	check "kprobe: dfd is AT_FDCWD (-100)" grep -q "^E kprobe:do_sys_openat2 $pid -100 " "$TMP/openat.out"
fi

# --- 5: kernel-side filters on a kprobe argument ---------------------------
lua filter <<'L'
kp.kprobe("do_sys_openat2", { dfd = "%di:s32", fname = "+0(%si):string" },
  { filter = "dfd == 7" }, function(ev)
  print(string.format("F7 %d %d %s", ev.pid, ev.dfd, ev.fname))
end)
kp.kprobe("do_sys_openat2", { dfd = "%di:s32", fname = "+0(%si):string" },
  { filter = 'fname ~ "*kpvm-glob*"' }, function(ev)
  print(string.format("FS %d %d %s", ev.pid, ev.dfd, ev.fname))
end)
L
kp filter 0 -c "$O 7:$D kpvm-rel kpvm-glob-a >$TMP/f7.out; $O cwd $D/kpvm-present $D/kpvm-glob-b >$TMP/fc.out; cat /proc/version >/dev/null" "$TMP/filter.lua"
p7=$(progpid "$TMP/f7.out")
pc=$(progpid "$TMP/fc.out")
n7=$(grep -c '^F7 ' "$TMP/filter.out")
check "filter dfd == 7: events came ($n7)" [ "$n7" -ge 2 ]
check "filter dfd == 7: every event has dfd 7" [ -z "$(awk '$1 == "F7" && $3 != 7' "$TMP/filter.out")" ]
check "filter dfd == 7: the program's kpvm-rel open (pid $p7)" grep -qx "F7 $p7 7 kpvm-rel" "$TMP/filter.out"
check "filter dfd == 7: nothing of the AT_FDCWD program (pid $pc)" not grep -q "^F7 $pc " "$TMP/filter.out"
ns=$(grep -c '^FS ' "$TMP/filter.out")
check "filter fname ~ \"*kpvm-glob*\": exactly the two matching opens ($ns)" [ "$ns" -eq 2 ]
check "filter fname ~ \"*kpvm-glob*\": kpvm-glob-a with dfd 7 (pid $p7)" grep -qx "FS $p7 7 kpvm-glob-a" "$TMP/filter.out"
check "filter fname ~ \"*kpvm-glob*\": $D/kpvm-glob-b with dfd -100 (pid $pc)" grep -qx "FS $pc -100 $D/kpvm-glob-b" "$TMP/filter.out"
[ "$n7" -ge 2 ] && [ "$ns" -eq 2 ] || diag "$TMP/filter.out" 20

# --- 6: a candidate list attaches to the first function that exists -------
lua cand <<'L'
local p = kp.kprobe({ "no_such_function_xyz", "do_sys_openat2" }, { dfd = "%di:s32", fname = "+0(%si):string" },
  function(ev)
    if ev.fname:find("kpvm-", 1, true) then print("EV", ev.probe, ev.dfd, ev.fname) end
  end)
print("NAME", p.name)
L
kp cand 0 -c "$O cwd $D/kpvm-cand >/dev/null" "$TMP/cand.lua"
check "candidates: p.name is kprobe:do_sys_openat2 ($(grep '^NAME' "$TMP/cand.out"))" \
	grep -qx 'NAME	kprobe:do_sys_openat2' "$TMP/cand.out"
check "candidates: ev.probe names do_sys_openat2 and the event decodes" \
	grep -qx "EV	kprobe:do_sys_openat2	-100	$D/kpvm-cand" "$TMP/cand.out"

# --- raw kp.probe definitions ----------------------------------------------
lua raw <<'L'
local p = kp.probe("p:do_sys_openat2 dfd=%di:s32 fname=+0(%si):string", function(ev)
  if ev.fname:find("kpvm-", 1, true) then print("P", ev.probe, ev.pid, ev.dfd, ev.fname) end
end)
local r = kp.probe("r:do_sys_openat2 ret=$retval:s32", function(ev)
  print("R", ev.probe, ev.pid, ev.ret)
end)
print("PNAME", p.name)
print("RNAME", r.name)
print("PDEF", p.definition)
L
kp raw 0 -c "$O cwd $D/kpvm-raw >$TMP/raw-prog.out" "$TMP/raw.lua"
pr=$(progpid "$TMP/raw-prog.out")
check "raw kp.probe(\"p:do_sys_openat2 dfd=%di:s32 ...\"): the program's open decodes (pid $pr)" \
	grep -q "^P	[^	]*	$pr	-100	$D/kpvm-raw\$" "$TMP/raw.out"
check "raw kp.probe(\"r:do_sys_openat2 ret=\$retval:s32\"): ENOENT comes back as -2" \
	grep -q "^R	[^	]*	$pr	-2\$" "$TMP/raw.out"
check "raw kp.probe: the host named the event in group kpscript_PID ($(grep '^PDEF' "$TMP/raw.out"))" \
	grep -q '^PDEF	p:kpscript_[0-9]*/[^ ]* do_sys_openat2 ' "$TMP/raw.out"
echo "# raw kp.probe names: $(grep -e '^PNAME' -e '^RNAME' "$TMP/raw.out" | tr '\n\t' '  ')"
