#!/bin/sh
# Golden output: each tests/golden/NAME.lua is run with `kpscript --dry-run`
# (no kernel is touched) and its stdout must equal NAME.out byte for byte.
# KPSCRIPT picks the binary (default build/kpscript).
KP=${KPSCRIPT:-build/kpscript}
for lua in tests/golden/*.lua; do
	name=${lua%.lua}
	out=$(mktemp)
	if ! "$KP" --dry-run "$lua" >"$out" 2>"$out.err"; then
		echo "not ok - golden: ${name##*/}: exit status $? ($(head -c 300 "$out.err"))"
	elif cmp -s "$out" "$name.out"; then
		echo "ok - golden: ${name##*/}: output equals ${name##*/}.out"
	else
		echo "not ok - golden: ${name##*/}: output differs from ${name##*/}.out:"
		diff "$name.out" "$out" | head -40 | sed 's/^/#   /'
	fi
	rm -f "$out" "$out.err"
done
