#!/bin/sh
# scripts/exec_watch.lua on a kernel with kprobes and BPF, through each:
# argv from the kernel's exec path (for a static binary, busybox, too), quoted shell-style, cut
# after 8 arguments with "..." only when there were more.
. /kp/guest/lib.sh
LONG=$(head -c 1000 /dev/zero | tr '\0' x)
HUGE=$(head -c 5000 /dev/zero | tr '\0' y)
cmd="/bin/true 'kpvm a b' $LONG end; /bin/echo a1 a2 a3 a4 a5 a6 a7 a8 a9 >/dev/null; \
/bin/echo b1 b2 b3 b4 b5 b6 b7 >/dev/null; /bin/true kpvm-huge $HUGE"
# ends WANT: the first line that ends with " WANT" (columns: TIME PID PPID
# UID COMM FILE ARGV...)
ends() { awk -v w=" $1" 'substr($0, length($0) - length(w) + 1) == w { print; exit }' "$OUT"; }
# show PATTERN COMM: lines matching PATTERN (none: the lines of COMM), long
# ones shortened, as "# " lines (vm.sh turns non-ASCII bytes into ?)
show() {
	{ grep -e "$1" "$OUT" || awk -v c="$2" '$5 == c' "$OUT"; } | head -3 |
		awk '{ if (length($0) > 200) $0 = length($0) " chars: " substr($0, 1, 120) " ... " substr($0, length($0) - 50); print }' |
		sed 's/^/#   got: /'
}

# both paths on a kernel that has them: BPF on the execve tracepoints
# (the default where BPF loads) and kprobes on the syscall functions
for VIA in bpf kprobe; do
	kp exec_watch_$VIA 0 -c "$cmd" exec_watch.lua --via=$VIA
	OUT=$TMP/exec_watch_$VIA.out
	via=$(grep '^exec_watch: tracing execs via ' "$TMP/exec_watch_$VIA.err")
	check "exec_watch --via=$VIA: says which path it uses ($via)" [ -n "$via" ]
	check "exec_watch --via=$VIA: the path uses $VIA" [ -n "$(echo "$via" | grep -i "$VIA")" ]
	check "exec_watch --via=$VIA: header line" grep -q '^TIME *PID *PPID *UID *COMM *FILE ARGV' "$OUT"

	line=$(ends "/bin/true /bin/true 'kpvm a b' $LONG end")
	check "exec_watch --via=$VIA: exact argv of /bin/true: 'kpvm a b' quoted, a 1000-character argument whole, no ..." [ -n "$line" ]
	[ -n "$line" ] || show 'kpvm a b' true
	if [ -n "$line" ]; then
		set -- $line
		comm=$5 uid=${4%\*} ppid=$3 pid=$2
		check "exec_watch --via=$VIA: its comm is true and uid 0 ($5, $4)" cond '[ "$comm" = true ] && [ "$uid" = 0 ]'
		shpid=$(grep -F "kpvm a b" "$OUT" | awk '$5 == "sh" { print $2; exit }')
		# busybox sh -c may also exec the last command itself: then pid = sh's
		check "exec_watch --via=$VIA: its ppid ($3) is the sh that ran it ($shpid)" \
			cond '[ -n "$shpid" ] && { [ "$ppid" = "$shpid" ] || [ "$pid" = "$shpid" ]; }'
	fi
	line=$(ends "/bin/echo /bin/echo a1 a2 a3 a4 a5 a6 a7 ...")
	check "exec_watch --via=$VIA: 10 arguments: cut after 8, marked ..." [ -n "$line" ]
	[ -n "$line" ] || show ' a1 a2 ' echo
	line=$(ends "/bin/echo /bin/echo b1 b2 b3 b4 b5 b6 b7")
	check "exec_watch --via=$VIA: exactly 8 arguments: all of them, no ..." [ -n "$line" ]
	[ -n "$line" ] || show ' b1 b2 ' echo
	# kpscript runs -c CMD as execl("/bin/sh", "sh", "-c", CMD) with those
	# strings copied to the child's stack: in read-only data they would lie
	# on a page the fresh fork has not mapped when execve starts, and a
	# probe's read (which cannot fault) would get ""
	line=$(awk '$5 == "sh" && /kpvm a b/ { print; exit }' "$OUT")
	check "exec_watch --via=$VIA: argv of kpscript's own -c shell is sh -c '...' (strings in pages not faulted in yet)" \
		[ -n "$(echo "$line" | grep -F " /bin/sh sh -c '/bin/true '\\''kpvm a b'\\'' ")" ]
	[ -n "$(echo "$line" | grep -F ' /bin/sh sh -c ')" ] || show '/bin/sh .*kpvm a b' sh

	# a 5000-character argument: longer than the kernel's MAX_STRING_SIZE (4096)
	hline=$(awk '$5 == "true" && / kpvm-huge / { print; exit }' "$OUT")
	check "exec_watch --via=$VIA: a line for the exec with a 5000-character argument" [ -n "$hline" ]
	harg=$(echo "$hline" | awk '$NF == "..." { NF-- } { print $NF }')
	echo "# finding: exec_watch --via=$VIA shows a 5000-character argument as ${#harg} characters"
done

# The kernel side of the same thing, with a kprobe written here: argv[i] of
# __x64_sys_execve(struct pt_regs *regs) is the string at the user pointer
# argv[i], argv being regs->si (+104): +u0(+u{8i}(+104(%di))):ustring.
# Also shows the kernel's limits: one string fetch stops at MAX_STRING_SIZE
# (4096) bytes, and (6.1) a longer one takes the room of the string fields
# stored after it in the same event.
lua argv <<'L'
kp.kprobe("__x64_sys_execve", {
  a1 = "+u0(+u8(+104(%di))):ustring",
  a2 = "+u0(+u16(+104(%di))):ustring",
  a3 = "+u0(+u24(+104(%di))):ustring",
}, { wakeup = 1 }, function(e)
  if e.a1 == "kpvm-argv" then
    print("A", #e.a2, #e.a3, e.a2:sub(1, 12), e.a3:sub(1, 12))
    -- each string exactly: the whole argument, or a cut run of one letter
    local function what(v)
      if v == os.getenv("KPVM_LONG") then return "LONG" end
      local c = v:sub(1, 1)
      if #v > 0 and v == string.rep(c, #v) then return c .. "*" .. #v end
      return v
    end
    print("X", what(e.a2), what(e.a3))
  end
end)
L
L3000=$(head -c 3000 /dev/zero | tr '\0' z)
export KPVM_LONG="$LONG"
kp argv 0 -c "/bin/true kpvm-argv $LONG $HUGE; /bin/true kpvm-argv 'kpvm a b' $L3000$L3000; /bin/true kpvm-argv $HUGE third" "$TMP/argv.lua"
grep '^A' "$TMP/argv.out" | sed 's/^/# argv probe: /'
grep '^X' "$TMP/argv.out" | sed 's/^/# argv probe, exactly: /'
# argv[1] and argv[2] whole; a string longer than the kernel's limit
# (MAX_STRING_SIZE) as its first 4096 bytes; and, the same on all three
# kernels, a long string followed by another takes that one's room: 4102
# bytes, then nothing
x=$(grep '^X' "$TMP/argv.out" | head -3 | tr '\n' '|')
check "argv kprobe: the seed's argv fetches decode exactly: the 1000 x's whole, 'kpvm a b' whole, a longer argument as its first 4096 bytes, or 4102 and an empty next one ($x)" \
	[ "$x" = "X	LONG	y*4096|X	kpvm a b	z*4096|X	y*4102	|" ]
check "argv kprobe: a 1000-character argument is read whole by +u0(+u8(+104(%di))):ustring" \
	grep -q '^A	1000	' "$TMP/argv.out"
check "argv kprobe: an argument with spaces, then a 6000-character one, in the same event" \
	grep -q '^A	8	[0-9]*	kpvm a b	zzzz' "$TMP/argv.out"
a3=$(awk -F'	' '$2 == 1000 { print $3 }' "$TMP/argv.out")
echo "# finding: a 5000-byte argument, the event's last string, comes back as ${a3:-nothing} bytes"
set -- $(awk -F'	' '$5 == "third" || ($2 > 4000 && $3 < 10) { print $2, $3; exit }' "$TMP/argv.out")
echo "# finding: a 5000-byte argument followed by 'third': ${1:-?} bytes, then ${2:-?} bytes for 'third'"
