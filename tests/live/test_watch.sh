# --watch: saves during a steady event stream. Probes a new version declares
# the same way keep their kernel probe and ring, so the counts go on with no
# loss; a probe a version adds is created, one it drops is removed; a
# version that does not load leaves the running one going.
. tests/live/lib.sh
need_live watch
need_prog watch "$PROGS/gen_steady"
need_prog watch "$PROGS/uprobe_target"
N=4000
W=$TMP/w.lua
version() { # version TAG [UPROBE]: write the script, as an editor saves it
	{
		echo "local p = kp.tracepoint('syscalls:sys_enter_getppid', function(e)"
		printf '%s\n' "  if e.comm == 'gen_steady' then io.write('$1', string.char(10)) end"
		echo "end)"
		[ -n "$2" ] && echo "kp.uprobe('$(readlink -f "$PROGS/uprobe_target"):kp_target_int', {}, function() end)"
		echo "kp.run()"
		echo "local s = kp.counters()[p.name]"
		echo "print('events ' .. s.events .. ' lost ' .. s.lost)"
	} >"$W.tmp" && mv "$W.tmp" "$W"
}
version v1
kp_start --watch -c "$PROGS/gen_steady $N 900" "$W"
sleep 0.8
version v2 uprobe
sleep 0.8
ups_v2=$(grep -c "kpscript_$kpid/u_" "$TRACEFS/dynamic_events")
version v3
sleep 0.8
ups_v3=$(grep -c "kpscript_$kpid/u_" "$TRACEFS/dynamic_events")
printf 'this is not lua (\n' >>"$W"
wait "$kpid"
rc=$?
check "watch: the run exits 0 ($(oneline "$TMP/err"))" [ $rc -eq 0 ]
n1=$(grep -cx v1 "$TMP/out") n2=$(grep -cx v2 "$TMP/out") n3=$(grep -cx v3 "$TMP/out")
check "watch: each version handled events in turn (v1 $n1, v2 $n2, v3 $n3)" \
	cond '[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] && [ "$n3" -gt 0 ]'
check "watch: together exactly the $N calls made: none lost or doubled across 3 saves ($((n1 + n2 + n3)))" \
	[ $((n1 + n2 + n3)) -eq $N ]
check "watch: the kept probe's counters went on, 0 lost ($(grep '^events' "$TMP/out"))" \
	grep -q '^events [0-9]* lost 0$' "$TMP/out"
check "watch: the summary after kp.run() ran once, from the first version" [ "$(grep -c '^events' "$TMP/out")" -eq 1 ]
check "watch: the v2 save added the uprobe ($(grep 'reloaded' "$TMP/err" | head -1))" \
	grep -q 'reloaded .*: kept 1, added 1, removed 0 probes (0 events lost so far)' "$TMP/err"
check "watch: its dynamic event existed while v2 ran ($ups_v2)" [ "$ups_v2" -eq 1 ]
check "watch: the v3 save removed it ($(grep 'reloaded' "$TMP/err" | sed -n 2p))" \
	grep -q 'reloaded .*: kept 1, added 0, removed 1 probes (0 events lost so far)' "$TMP/err"
check "watch: and its dynamic event is gone ($ups_v3)" [ "$ups_v3" -eq 0 ]
check "watch: the broken save is refused, naming the line ($(grep 'not reloaded' "$TMP/err"))" \
	grep -q "not reloaded, the running version goes on: .*w.lua:7: " "$TMP/err"
check "watch: v3 kept running after the broken save (the last line is v3)" \
	[ "$(grep -x 'v[0-9]' "$TMP/out" | tail -1)" = v3 ]
none_left "watch"
