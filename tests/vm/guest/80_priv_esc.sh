#!/bin/sh
# scripts/priv_esc.lua on a kernel with kprobes: a rule (priv_esc, critical)
# when uid, euid, fsuid, gid or egid becomes 0 from non-zero through
# commit_creds, except for the exec of a setuid-root program (S_ISUID,
# owner 0, real uid unchanged). One run with -o json over every case below
# (each a process of its own, told apart by pid), one run as text:
#   setids          root -> 1000 and back (progs/setids): an alert per
#                   gaining step (3, 4, 5), none for the drop (step 2)
#   suid            runas user (all ids 1000) execs a setuid-root copy of
#                   progs/showids: euid 0, no alert
#   sudo            the same, then the program's own setresuid(0, 0, 0), as
#                   su and sudo do: the exec quiet, the setresuid alerted
#   fs-suid         runas fs (uid 1000, euid 0, fsuid 1000) execs the
#                   setuid-root copy: the exec makes fsuid 0, no alert
#   plain           runas user execs the copy without the setuid bit: nothing
#                   gained, no alert
#   fs-plain        runas fs execs the copy without the setuid bit: the exec
#                   gains fsuid 0 with no setuid bit: alerted, "exec of ..."
#                   (the control: same process state as fs-suid, same file,
#                   only the mode differs)
#   sgid            runas user execs the copy as setgid root (mode 2755):
#                   egid 0 through exec without S_ISUID: alerted
#   owner           runas user execs the copy setuid uid 1000 and setgid
#                   root (mode 6755, owner 1000): S_ISUID but not owned by
#                   root, egid 0 gained: alerted
#   thread-suid     as suid, but execv from a second thread, after a
#                   prepare_creds of the main thread (access()): no alert
#   thread-fs-plain as fs-plain, but execv from a second thread: alerted
# (an exec from a second thread: the kernel's de_thread gives that thread
# the main thread's pid before commit_creds)
. /kp/guest/lib.sh
if [ ! -f /kp/scripts/priv_esc.lua ]; then
	skip "priv_esc: scripts/priv_esc.lua does not exist"
	exit 0
fi
P=$PROGS
PROG=/tmp/suidprog

# --- the setuid-root copy -------------------------------------------------
rm -f $PROG
cp "$P/showids" $PROG && chown 0:0 $PROG && chmod 4755 $PROG
mode=$(stat -c '%a %u %g' $PROG 2>&1)
check "priv_esc: $PROG is a setuid-root copy of showids (mode owner group: $mode)" [ "$mode" = "4755 0 0" ]

# --- one run over every case, -o json ---------------------------------------
cmd="$P/setids >$TMP/setids.out
$P/runas user $PROG >$TMP/suid.out
$P/runas user $PROG root >$TMP/sudo.out
$P/runas fs $PROG >$TMP/fs-suid.out
$P/runas -t -a user $PROG >$TMP/thread-suid.out
chmod 0755 $PROG
$P/runas user $PROG >$TMP/plain.out
$P/runas fs $PROG >$TMP/fs-plain.out
$P/runas -t fs $PROG >$TMP/thread-fs-plain.out
chmod 2755 $PROG
$P/runas user $PROG >$TMP/sgid.out
chown 1000:0 $PROG
chmod 6755 $PROG
$P/runas user $PROG >$TMP/owner.out
:"
kp json 0 -o json -c "$cmd" priv_esc.lua
J=$TMP/json.out
check "priv_esc: says it is watching commit_creds" grep -q '^priv_esc: watching commit_creds' "$TMP/json.err"
check "priv_esc: no error in the rule (stderr: $(grep -c 'rule priv_esc' "$TMP/json.err") lines)" \
	not grep -q 'rule priv_esc' "$TMP/json.err"
diag "$TMP/json.err"
n=$(grep -c . "$J")
echo "# json: $n lines"

# alerts PID: the priv_esc alerts naming PID (JSON lines)
alerts() {
	grep '"kind":"alert"' "$J" | grep '"rule":"priv_esc"' | grep -E "\"pid\":$1[,}]"
}
# every priv_esc alert as "PID<TAB>GAINED|VIA|UID EUID FSUID GID EGID", the
# fields taken from the "fields" object (strings unquoted, "\/" as "/"; no
# value here holds a comma or a brace)
awk '
function fv(o, k,   r) {
	if (!match(o, "\"" k "\":(\"[^\"]*\"|[^,}]*)")) return ""
	r = substr(o, RSTART + length(k) + 3, RLENGTH - length(k) - 3)
	gsub(/^"|"$/, "", r)
	gsub(/\\\//, "/", r)
	return r
}
/"kind":"alert"/ && /"rule":"priv_esc"/ {
	pid = fv($0, "pid")
	if (!match($0, /"fields":\{[^}]*\}/)) { print pid "\t(no fields)"; next }
	f = substr($0, RSTART, RLENGTH)
	print pid "\t" fv(f, "gained") "|" fv(f, "via") "|" fv(f, "uid") " " fv(f, "euid") " " fv(f, "fsuid") " " fv(f, "gid") " " fv(f, "egid")
}' "$J" >"$TMP/alerts"
# summary PID: the alerts of PID, summarized, in order
summary() { awk -F'\t' -v p="$1" '$1 == p { print $2 }' "$TMP/alerts"; }
# expect NAME PID WANT: the alerts of PID summarized are exactly WANT
# (lines "GAINED|VIA|UID EUID FSUID GID EGID"; WANT empty: no alert)
expect() {
	_got=$(summary "$2")
	_n=$(alerts "$2" | grep -c .)
	if [ -z "$3" ]; then
		check "$1: no alert naming pid $2 (got $_n)" [ -z "$_got" ]
	else
		check "$1: exactly $(echo "$3" | grep -c .) alert(s) naming pid $2, gained|via|uid euid fsuid gid egid as expected (got $_n)" \
			[ "$_got" = "$3" ]
	fi
	if [ "$_got" != "$3" ]; then
		[ -n "$3" ] && echo "$3" | sed 's/^/#   want: /'
		[ -n "$_got" ] && echo "$_got" | sed 's/^/#   got:  /'
		alerts "$2" | cut -c1-400 | sed 's/^/#   line: /'
	fi
}
# ran NAME IDS: $TMP/NAME.out (a program's output) has the line "ids IDS"
ran() { grep -qx "ids $2" "$TMP/$1.out"; }
showout() { sed "s/^/#   $1.out: /" "$TMP/$1.out"; }

# --- 1: setresuid back to root (setids) ---------------------------------------
spid=$(progpid "$TMP/setids.out")
check "setids: every step ran as root ($(tail -1 "$TMP/setids.out"))" grep -qx 'ids 0 0 0 0 0 0' "$TMP/setids.out"
expect "setids" "$spid" "euid 1001->0 fsuid 1001->0|commit_creds outside exec|1000 0 0 2000 2001
uid 1000->0|commit_creds outside exec|0 0 0 2000 2001
gid 2000->0 egid 2001->0|commit_creds outside exec|0 0 0 0 0"
check "setids: no alert for the drop to 1000 (step 2: uid 0->1000, euid 0->1001)" \
	[ -z "$(summary "$spid" | grep '|1000 1001 1001 2000 2001$')" ]
bad=$(alerts "$spid" | grep -v '"severity":"critical"')
bad=$bad$(alerts "$spid" | grep -v '"comm":"setids"')
bad=$bad$(alerts "$spid" | grep -v "\"message\":\"setids ($spid) gained root: ")
check "setids: the alerts are critical, name comm setids and say 'setids ($spid) gained root: ...'" \
	cond '[ -z "$bad" ] && [ -n "$(alerts "$spid")" ]'

# --- 2: the setuid-root exec path ---------------------------------------------
upid=$(progpid "$TMP/suid.out")
check "suid: runas gave up root entirely before the exec" grep -qx 'runas user 1000 1000 1000 1000 1000 1000 1000' "$TMP/suid.out"
check "suid: the setuid-root copy ran as the same pid ($upid) with euid 0 (uid 1000, suid and fsuid 0)" \
	cond 'ran suid "1000 0 0 0 1000 1000 1000 1000" && [ "$(grep -c "^pid $upid\$" "$TMP/suid.out")" = 2 ]'
ran suid "1000 0 0 0 1000 1000 1000 1000" || showout suid
expect "suid" "$upid" ""

dpid=$(progpid "$TMP/sudo.out")
check "sudo: the setuid-root copy ran with euid 0, then made itself uid 0 (setresuid(0, 0, 0))" \
	cond 'ran sudo "1000 0 0 0 1000 1000 1000 1000" && grep -qx "root 0" "$TMP/sudo.out" && ran sudo "0 0 0 0 1000 1000 1000 1000"'
expect "sudo: exec quiet, setresuid(0, 0, 0) after it alerted" "$dpid" "uid 1000->0|commit_creds outside exec|0 0 0 1000 1000"

fpid=$(progpid "$TMP/fs-suid.out")
check "fs-suid: runas kept euid 0 and set uid and fsuid 1000" grep -qx 'runas fs 1000 0 0 1000 1000 1000 1000' "$TMP/fs-suid.out"
check "fs-suid: the setuid-root copy ran with fsuid 0" ran fs-suid "1000 0 0 0 1000 1000 1000 1000"
expect "fs-suid: exec gains fsuid 0 with the setuid bit" "$fpid" ""

# --- 3: the exec path is not ignored: the same copy without the setuid bit ----
ppid=$(progpid "$TMP/plain.out")
check "plain: the copy without the setuid bit ran with euid 1000" ran plain "1000 1000 1000 1000 1000 1000 1000 1000"
expect "plain: nothing gained" "$ppid" ""

qpid=$(progpid "$TMP/fs-plain.out")
check "fs-plain: the copy without the setuid bit ran with fsuid 0 (from 1000)" \
	cond 'grep -qx "runas fs 1000 0 0 1000 1000 1000 1000" "$TMP/fs-plain.out" && ran fs-plain "1000 0 0 0 1000 1000 1000 1000"'
expect "fs-plain: exec gains fsuid 0 without the setuid bit" "$qpid" "fsuid 1000->0|exec of $PROG|1000 0 0 1000 1000"

gpid=$(progpid "$TMP/sgid.out")
check "sgid: the setgid-root copy ran with egid 0 (euid 1000)" ran sgid "1000 1000 1000 1000 1000 0 0 0"
expect "sgid: exec of a setgid-root program (no S_ISUID) gains egid 0" "$gpid" "egid 1000->0|exec of $PROG|1000 1000 1000 1000 0"

opid=$(progpid "$TMP/owner.out")
check "owner: the copy, setuid uid 1000 and setgid root (mode 6755, owner 1000), ran with egid 0" \
	ran owner "1000 1000 1000 1000 1000 0 0 0"
expect "owner: exec of a setuid program not owned by root gains egid 0" "$opid" "egid 1000->0|exec of $PROG|1000 1000 1000 1000 0"

# --- an exec from a second thread ----------------------------------------------
tpid=$(progpid "$TMP/thread-suid.out")
ttid=$(sed -n 's/^exec \([0-9]*\) .*/\1/p' "$TMP/thread-suid.out")
check "thread-suid: execv from thread $ttid (not pid $tpid); the setuid-root copy ran as pid $tpid with euid 0" \
	cond '[ -n "$ttid" ] && [ "$ttid" != "$tpid" ] && ran thread-suid "1000 0 0 0 1000 1000 1000 1000" && [ "$(grep -c "^pid $tpid\$" "$TMP/thread-suid.out")" = 2 ]'
ran thread-suid "1000 0 0 0 1000 1000 1000 1000" || showout thread-suid
expect "thread-suid: setuid-root exec from a second thread" "$tpid" ""

hpid=$(progpid "$TMP/thread-fs-plain.out")
htid=$(sed -n 's/^exec \([0-9]*\) .*/\1/p' "$TMP/thread-fs-plain.out")
check "thread-fs-plain: execv from thread $htid (not pid $hpid); the copy ran as pid $hpid with fsuid 0" \
	cond '[ -n "$htid" ] && [ "$htid" != "$hpid" ] && ran thread-fs-plain "1000 0 0 0 1000 1000 1000 1000"'
expect "thread-fs-plain: exec from a second thread gains fsuid 0 without the setuid bit" "$hpid" \
	"fsuid 1000->0|exec of $PROG|1000 0 0 1000 1000"

# no alert for anything else (the shell, kpscript, runas before its exec)
others=$(grep '"kind":"alert"' "$J" | grep -vE "\"pid\":($spid|$dpid|$qpid|$gpid|$opid|$hpid|$upid|$fpid|$ppid|$tpid)[,}]")
check "priv_esc: no alert for any other process" [ -z "$others" ]
[ -z "$others" ] || echo "$others" | head -3 | cut -c1-300 | sed 's/^/#   other: /'
echo "# priv_esc json: $(grep -c '"kind":"alert"' "$J") alerts in all"

# --- the text form ----------------------------------------------------------------
kp text 0 -c "$P/setids >$TMP/setids2.out" priv_esc.lua
T=$TMP/text.out
xpid=$(progpid "$TMP/setids2.out")
# the priv_esc alert lines of setids, summarized as above: the fields come
# after the quoted message, sorted by name, strings quoted
got=$(awk -v p="$xpid" '
function fv(o, k,   r) {
	if (!match(o, " " k "=(\"[^\"]*\"|[^ ]*)")) return ""
	r = substr(o, RSTART + length(k) + 2, RLENGTH - length(k) - 2)
	gsub(/^"|"$/, "", r)
	return r
}
/^time=/ && / kind=alert / && / rule=priv_esc / && index($0, " pid=" p " ") {
	f = $0
	sub(/.* message="[^"]*"/, "", f)
	print fv(f, "gained") "|" fv(f, "via") "|" fv(f, "uid") " " fv(f, "euid") " " fv(f, "fsuid") " " fv(f, "gid") " " fv(f, "egid")
}' "$T")
want="euid 1001->0 fsuid 1001->0|commit_creds outside exec|1000 0 0 2000 2001
uid 1000->0|commit_creds outside exec|0 0 0 2000 2001
gid 2000->0 egid 2001->0|commit_creds outside exec|0 0 0 0 0"
check "text: a key=value line per gaining step of setids (pid $xpid), with gained, via and the ids" [ "$got" = "$want" ]
[ "$got" = "$want" ] || { echo "$got" | sed 's/^/#   got: /'; head -4 "$T" | cut -c1-400 | sed 's/^/#   line: /'; }
check "text: the lines say severity=critical comm=setids" \
	[ "$(grep "pid=$xpid " "$T" | grep ' severity=critical ' | grep -c ' comm=setids ')" = 3 ]
check "text: nothing else is printed ($(grep -c . "$T") lines)" [ "$(grep -c . "$T")" = 3 ]
rm -f $PROG
