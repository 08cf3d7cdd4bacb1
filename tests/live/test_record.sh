# --record FILE keeps the raw events, formats and process records of a run;
# --dump reads it back as untrusted input. (Replay is not there yet.)
. tests/live/lib.sh
need_live record
need_prog record "$PROGS/uprobe_target"
need_prog record "$PROGS/gen_getppid"
abs=$(readlink -f "$PROGS/uprobe_target")
before=$(leftovers | wc -l)

kp --record "$TMP/run.kpr" -c "$PROGS/uprobe_target 5 rec; $PROGS/gen_getppid 1000 $TMP/gen.pid" -e "
local n = 0
kp.uprobe('$abs:kp_target_int', { a = '%di:s32', s = '+0(%cx):ustring' }, function() n = n + 1 end)
kp.tracepoint('syscalls:sys_enter_getppid', function() n = n + 1 end)
kp.run()
print('handled ' .. n)"
exits "record: the recording run exits 0 ($(oneline "$TMP/err"))" 0
handled=$(val handled)
kp --dump "$TMP/run.kpr"
exits "record: --dump reads the file ($(oneline "$TMP/err"))" 0
check "record: the header names this host and kernel ($(head -1 "$TMP/out"))" \
	grep -qx "recording: host $(uname -n), kernel $(uname -r), version 1.1" "$TMP/out"
check "record: the uprobe is there with its definition" \
	grep -q "^probe 0: uprobe:$abs:kp_target_int = p:kpscript_[0-9]*/u_kp_target_int_0 $abs:0x[0-9a-f]* a=%di:s32 s=+0(%cx):ustring\$" "$TMP/out"
check "record: the tracepoint is there" grep -qx 'probe 1: tracepoint:syscalls:sys_enter_getppid' "$TMP/out"
line=$(tail -1 "$TMP/out")
samples=$(echo "$line" | sed -n 's/^samples \([0-9]*\),.*/\1/p')
check "record: every event handled is in the file ($samples samples, $handled handled)" \
	cond '[ -n "$samples" ] && [ "$samples" -ge "$handled" ] && [ "$handled" -ge 1005 ]'
check "record: process records are kept too ($line)" cond 'echo "$line" | grep -q "process records [1-9]"'
check "record: the file ends cleanly ($line)" has "$line" ", complete"

# a file cut short: --dump names the byte offset, exits 1
size=$(wc -c <"$TMP/run.kpr")
head -c $((size / 2 + 3)) "$TMP/run.kpr" >"$TMP/cut.kpr"
kp --dump "$TMP/cut.kpr"
exits "record: a truncated file is refused" 1
check "record: the error names the byte offset ($(oneline "$TMP/err"))" \
	grep -q "cut.kpr: byte [0-9]*: .*runs past the end of the file" "$TMP/err"
printf 'not a recording at all' >"$TMP/bad.kpr"
kp --dump "$TMP/bad.kpr"
exits "record: a file that is no recording is refused" 1
check "record: it says so at byte 0 ($(oneline "$TMP/err"))" grep -q "bad.kpr: byte 0: " "$TMP/err"

# a recorder killed with SIGKILL: what was flushed (every 100 ms) is readable
kp_start --record "$TMP/killed.kpr" -e "kp.tracepoint('sched:sched_switch', function() end)"
sleep 1
kill -KILL "$kpid"
wait "$kpid" 2>/dev/null
kp --dump "$TMP/killed.kpr"
exits "record: a killed recorder's file is readable ($(oneline "$TMP/err"))" 0
check "record: and marked cut short ($(tail -1 "$TMP/out"))" grep -q 'cut short' "$TMP/out"
"$KPSCRIPT" -e '' 2>/dev/null # sweeps the killed run's probes (none: a tracepoint)
none_new "record: nothing left registered" "$before"

# a forged probe name with an escape byte: --dump shows it as \x1b, never
# the raw byte (a recording must not drive the terminal)
python3 - "$TMP/run.kpr" "$TMP/esc.kpr" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
i = d.find(b"uprobe:")
d[i] = 0x1b
open(sys.argv[2], "wb").write(d)
PY
kp --dump "$TMP/esc.kpr"
exits "record: --dump of a forged probe name exits 0" 0
check "record: the escape byte is shown as \\x1b" grep -q '\\x1bprobe:' "$TMP/out"
check "record: no raw escape byte reaches the terminal" not grep -q "$(printf '\033')" "$TMP/out"
