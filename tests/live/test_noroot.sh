# Without root: one clear line that says what is missing, exit 1, nothing
# registered. Runs kpscript as user nobody through setpriv.
. tests/live/lib.sh
need_live noroot
if ! command -v setpriv >/dev/null; then
	skip "noroot: setpriv (util-linux) is missing"
	exit 0
fi
asnobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"
}
if ! asnobody test -x "$KPSCRIPT"; then
	skip "noroot: user nobody cannot run $KPSCRIPT (its directory is not world-readable)"
	exit 0
fi
before=$(leftovers | wc -l)
for kind in tracepoint uprobe; do
	if [ $kind = tracepoint ]; then
		code='kp.tracepoint("sched:sched_switch", function() end)'
	else
		code='kp.uprobe("/bin/sh:0x1000", {}, function() end)'
	fi
	asnobody "$KPSCRIPT" -e "$code" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	exits "noroot/$kind: exit status 1" 1
	one_err_line "noroot/$kind: one line on stderr (got $(wc -l <"$TMP/err"))"
	check "noroot/$kind: the line names root and CAP_PERFMON ($(head -c 200 "$TMP/err"))" \
		grep -q 'needs root, or CAP_PERFMON' "$TMP/err"
	names_line "noroot/$kind: the line names the script line" -e:1
done
none_new "noroot: nothing new registered" "$before"

# fetch arguments on a tracepoint: BPF is what is missing, said so; the
# same tracepoint without arguments is refused for tracefs instead
asnobody "$KPSCRIPT" -e 'kp.tracepoint("syscalls:sys_enter_openat", { p = "+0($filename):ustring" }, function() end)' >"$TMP/out" 2>"$TMP/err"
rc=$?
exits "noroot/tracepoint args: exit status 1" 1
one_err_line "noroot/tracepoint args: one line on stderr (got $(wc -l <"$TMP/err"))"
check "noroot/tracepoint args: says BPF is not allowed and what it needs ($(head -c 240 "$TMP/err"))" \
	grep -q 'fetch arguments on a tracepoint need BPF or event probes: BPF is not allowed here: .*CAP_BPF and CAP_PERFMON' "$TMP/err"
