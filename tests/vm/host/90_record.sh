#!/bin/sh
# Host side of guest/90_record.sh: the recording made on the guest's kernel
# (with kprobes) replays on this host (no kprobes, another kernel) into the
# same script, and prints the same lines.
OUT=${KP_VM_OUT:-build/vm-out}
LABEL=${KP_VM_LABEL:?the label of the guest kernel (5.10, 6.1, 6.12)}
re=$(echo "$LABEL" | sed 's/\./\\./g')
K=${KP_VM_KPSCRIPT:-build/kpscript}
if [ ! -s "$OUT/vm.kpr" ] || [ ! -s "$OUT/vm.out" ]; then
	echo "not ok - record: the guest sent no recording back"
	exit 0
fi
"$K" --dump "$OUT/vm.kpr" >"$OUT/dump" 2>&1
if grep -q "^recording: host .*, kernel $re\." "$OUT/dump" && grep -q "complete$" "$OUT/dump"; then
	echo "ok - record: the guest's recording reads here ($(head -1 "$OUT/dump"))"
else
	echo "not ok - record: the guest's recording reads here ($(tr '\n' ' ' <"$OUT/dump" | cut -c1-300))"
fi
ns=$(grep -c '^STACK ' "$OUT/vm.out")
if [ "$ns" -ge 2 ]; then
	echo "ok - record: the guest's run printed kernel stacks' first frames ($ns STACK lines)"
else
	echo "not ok - record: the guest's run printed kernel stacks' first frames ($ns STACK lines)"
fi
"$K" --replay "$OUT/vm.kpr" tests/vm/guest/rec.lua >"$OUT/replayed" 2>"$OUT/replay.err"
rc=$?
if [ $rc -eq 0 ]; then
	echo "ok - record: replayed on this host without kprobes (exit 0)"
else
	echo "not ok - record: replayed on this host without kprobes (exit $rc: $(head -3 "$OUT/replay.err" | tr '\n' ' '))"
fi
if [ -s "$OUT/replayed" ] && cmp -s "$OUT/vm.out" "$OUT/replayed"; then
	echo "ok - record: the replay prints what the guest printed ($(grep -c . "$OUT/replayed") lines: OPEN, RET, EXEC, STACK)"
else
	echo "not ok - record: the replay prints what the guest printed ($(diff "$OUT/vm.out" "$OUT/replayed" | head -4 | tr '\n' ' '))"
fi
