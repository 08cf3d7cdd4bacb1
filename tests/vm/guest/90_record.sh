#!/bin/sh
# A recording made on this (the guest's) kernel with kprobes, sent back to
# the host on the console: tests/vm/host/90_record.sh replays it there.
. /kp/guest/lib.sh
mkdir -p "$TMP/d"
echo x >"$TMP/d/kpvm-rec-present"
kp rec 0 --record "$TMP/vm.kpr" -c "$PROGS/openat cwd $TMP/d/kpvm-rec-present $TMP/d/kpvm-rec-missing >/dev/null" \
	/kp/guest/rec.lua
check "record: the guest run printed its opens ($(grep -c '^OPEN' "$TMP/rec.out") lines) and their stacks ($(grep -c '^STACK' "$TMP/rec.out"))" \
	cond '[ "$(grep -c "^OPEN" "$TMP/rec.out")" -ge 2 ] && [ "$(grep -c "^STACK" "$TMP/rec.out")" -ge 2 ]'
echo "KPVM-FILE-BEGIN vm.kpr"
base64 "$TMP/vm.kpr"
echo "KPVM-FILE-END"
echo "KPVM-FILE-BEGIN vm.out"
base64 "$TMP/rec.out"
echo "KPVM-FILE-END"
