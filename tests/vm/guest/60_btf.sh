#!/bin/sh
# Arguments by name from the kernel's BTF: kp.kprobe/kp.kretprobe args such
# as "new->uid", "how->flags", "p->real_parent->tgid" and "$retval",
# compiled into fetch arguments, against hand-written probes with the raw
# offsets the guest's BTF gives (progs/btfstruct, progs/btffunc), in the
# same run on the same events:
#   1 commit_creds with progs/setids (the ids each step sets), keyed and
#     ".val" entries mixed with a raw one; wake_up_new_task (two
#     dereferences) for the fork of setids
#   2 do_sys_openat2 { "dfd", "filename", "how->flags", "how->mode",
#     "how->resolve" } with progs/openhow (openat and openat2 with known
#     flags, AT_FDCWD and dirfd 7)
#   3 kretprobe { "$retval" } vs { r = "$retval:s32" } and the fds the
#     program got
#   4 --dry-run: the generated lines equal the hand-written ones
#   5 errors: an unknown member lists the members, a parameter in a
#     kretprobe is refused, and more; nothing left registered after a run
. /kp/guest/lib.sh

# --- the guest's BTF, read without kpscript ---------------------------------
"$PROGS/btfstruct" cred >"$TMP/cred.btf" 2>"$TMP/btf.err"
"$PROGS/btfstruct" open_how >"$TMP/how.btf" 2>>"$TMP/btf.err"
"$PROGS/btfstruct" task_struct >"$TMP/task.btf" 2>>"$TMP/btf.err"
"$PROGS/btffunc" do_sys_openat2 >"$TMP/openat2.fn" 2>>"$TMP/btf.err"
"$PROGS/btffunc" commit_creds >"$TMP/commit_creds.fn" 2>>"$TMP/btf.err"
"$PROGS/btffunc" wake_up_new_task >"$TMP/wake.fn" 2>>"$TMP/btf.err"
off() { awk -v m="$2" '$1 == m { print $2; exit }' "$TMP/$1.btf"; }   # off FILE MEMBER
size() { awk -v m="$2" '$1 == m { print $3; exit }' "$TMP/$1.btf"; } # size FILE MEMBER
fntype() { awk -v w="$2" '($1 == "func" && w == "ret") { print $4 } ($1 == "param" && $3 == w) { print $4 }' "$TMP/$1.fn"; }
# fetch FILE MEMBER TYPE REG: "+OFF(REG):TYPE", empty if BTF lacks MEMBER
fetch() { _o=$(off "$1" "$2"); [ -n "$_o" ] && echo "+$_o($4):$3"; }
CU=$(fetch cred uid u32 %di)
CE=$(fetch cred euid u32 %di)
CG=$(fetch cred gid u32 %di)
CEG=$(fetch cred egid u32 %di)
CS=$(fetch cred suid u32 %di)
CF=$(fetch cred fsuid u32 %di)
HF=$(fetch how flags u64 %dx)
HM=$(fetch how mode u64 %dx)
HR=$(fetch how resolve u64 %dx)
TP=$(fetch task pid s32 %di)
TT=$(fetch task tgid s32 %di)
RP=$(off task real_parent)
TPT="+$(off task tgid)(+$RP(%di)):s32"
RT=$(fntype openat2 ret)
DT=$(fntype openat2 dfd)
echo "# guest BTF: cred uid=$CU euid=$CE gid=$CG egid=$CEG suid=$CS fsuid=$CF"
echo "# guest BTF: open_how flags=$HF mode=$HM resolve=$HR; task_struct pid=$TP tgid=$TT real_parent@$RP"
echo "# guest BTF: $(tr '\n' ' ' <"$TMP/openat2.fn")"
bad=
for v in "$CU" "$CE" "$CG" "$CEG" "$CS" "$CF" "$HF" "$HM" "$HR" "$TP" "$TT" "$RP" "$RT" "$DT"; do
	[ -n "$v" ] || bad=1
done
for m in uid euid gid egid suid fsuid; do [ "$(size cred $m)" = 4 ] || bad=1; done
for m in flags mode resolve; do [ "$(size how $m)" = 8 ] || bad=1; done
for m in pid tgid; do [ "$(size task $m)" = 4 ] || bad=1; done
check "btf: struct cred, open_how, task_struct and do_sys_openat2's prototype from the guest's BTF (4-byte ids, 8-byte open_how fields, 4-byte pids)" [ -z "$bad" ]
[ -z "$bad" ] || diag "$TMP/btf.err"
check "btf: do_sys_openat2's parameters are dfd ($DT), filename, how" \
	[ "$(awk '$1 == "param" { printf "%s ", $3 }' "$TMP/openat2.fn")" = "dfd filename how " ]


# pairs FILE A B: FILE holds "TIME TAG PID VALUE..." lines of one pid; sorted
# by time, they must come as pairs of one A and one B event with the same
# PID and values. Prints "NPAIRS NBAD"; the bad pairs go to $TMP/pairs.bad.
pairs() {
	sort -s -n -k1,1 "$1" | awk -v a="$2" -v b="$3" -v bad="$TMP/pairs.bad" '
		$2 != a && $2 != b { next }
		{ tag = $2; $1 = ""; $2 = ""; rest = $0; n++ }
		n % 2 == 1 { pt = tag; pr = rest; next }
		{ np++; if (tag == pt || rest != pr) { nb++; print pt pr " <> " tag rest >bad } }
		END { if (n % 2) { nb++; print "odd number of events: " n >bad }; printf "%d %d\n", np, nb }'
}
# tagged FILE TAG PID: the values of TAG's events of PID, in time order
tagged() { sort -s -n -k1,1 "$1" | awk -v t="$2" -v p="$3" '$2 == t && $3 == p { $1 = ""; $2 = ""; $3 = ""; sub(/^ +/, ""); print }'; }

# common Lua: s() prints numbers and 64-bit cdata alike; line() one event as
# "TIME TAG PID VALUES..."; try() declares a probe, printing an error
# instead of dying, and the probe's definition
cat >"$TMP/common.lua" <<'L'
local function s(v)
  if type(v) == "number" then return string.format("%d", v) end
  return (tostring(v):gsub("U?LL$", ""))
end
function line(tag, ev, names)
  local t = { s(ev.time), tag, s(ev.pid) }
  for _, n in ipairs(names) do t[#t + 1] = s(ev[n]) end
  print(table.concat(t, " "))
end
function try(tag, f, ...)
  local ok, p = pcall(f, ...)
  if not ok then print("ERR " .. tag .. " " .. tostring(p)) return end
  print("DEF " .. tag .. " " .. tostring(p.definition))
  return p
end
L

# --- 1: commit_creds and wake_up_new_task -----------------------------------
# setids' steps: setresgid(2000,2001,2002), setresuid(1000,1001,0),
# setresuid(-1,0,-1), setresuid(0,0,0), setresgid(0,0,0); the ids
# "uid euid gid egid suid fsuid" after each
EXPECT="0 0 2000 2001 0 0
1000 1001 2000 2001 0 1001
1000 0 2000 2001 0 0
0 0 2000 2001 0 0
0 0 0 0 0 0"
{
	cat "$TMP/common.lua"
	cat <<L
local IDS = { "uid", "euid", "gid", "egid", "suid", "fsuid" }
try("CB", kp.kprobe, "commit_creds", { "new->uid", "new->euid", "new->gid", "new->egid", "new->suid", "new->fsuid" },
  function(ev) line("CB", ev, IDS) end)
try("CH", kp.kprobe, "commit_creds", { uid = "$CU", euid = "$CE", gid = "$CG", egid = "$CEG", suid = "$CS", fsuid = "$CF" },
  function(ev) line("CH", ev, IDS) end)
try("CK", kp.kprobe, "commit_creds", { u = "new->uid.val", "new->gid.val", e = "new->euid", w = "$CU" },
  function(ev) line("CK", ev, { "u", "gid", "e", "w" }) end)
try("TB", kp.kprobe, "wake_up_new_task", { cpid = "p->pid", ctgid = "p->tgid", "p->real_parent->tgid" },
  function(ev) line("TB", ev, { "cpid", "ctgid", "tgid" }) end)
try("TH", kp.kprobe, "wake_up_new_task", { cpid = "$TP", ctgid = "$TT", tgid = "$TPT" },
  function(ev) line("TH", ev, { "cpid", "ctgid", "tgid" }) end)
L
} >"$TMP/cred.lua"
# "; true" keeps sh from exec'ing setids: sh forks it, so its parent is sh
kp cred 0 -c "echo sh \$\$ >$TMP/sh.out; $PROGS/setids >$TMP/ids.out; true" "$TMP/cred.lua"
grep '^ERR' "$TMP/cred.out" | cut -c1-400 | sed 's/^/# /'
check "cred: every probe declared (BTF, hand-written, keyed, wake_up_new_task x2)" not grep -q '^ERR' "$TMP/cred.out"
pid=$(progpid "$TMP/ids.out")
shpid=$(sed -n 's/^sh \([0-9]*\)$/\1/p' "$TMP/sh.out" 2>/dev/null)
check "cred: setids ran every step as root ($(tail -1 "$TMP/ids.out" 2>/dev/null))" grep -qx 'ids 0 0 0 0 0 0' "$TMP/ids.out"
if [ -z "$pid" ]; then
	notok "cred: setids printed its pid"
	diag "$TMP/cred.err"
else
	grep -E "^[0-9]+ (CB|CH) $pid " "$TMP/cred.out" >"$TMP/c.ev"
	pairs "$TMP/c.ev" CB CH >"$TMP/np"; read -r np nb <"$TMP/np"
	check "cred: BTF { \"new->uid\", ... } and hand-written { uid = \"$CU\", ... } give the same values on the same commit_creds calls of pid $pid (${np:-0} pairs, ${nb:-?} differ)" \
		cond '[ "${np:-0}" -ge 5 ] && [ "${nb:-1}" -eq 0 ]'
	[ "${nb:-1}" -eq 0 ] || { diag "$TMP/pairs.bad"; diag "$TMP/c.ev" 14; }
	got=$(tagged "$TMP/cred.out" CB "$pid" | tail -n 5)
	check "cred: the BTF probe's uid euid gid egid suid fsuid are the ids setids set at each step" [ "$got" = "$EXPECT" ]
	[ "$got" = "$EXPECT" ] || { echo "# got:"; echo "$got" | sed 's/^/#   /'; }
	got=$(tagged "$TMP/cred.out" CH "$pid" | tail -n 5)
	check "cred: the hand-written probe's values are the ids setids set at each step" [ "$got" = "$EXPECT" ]
	# keyed { u = "new->uid.val" }, positional "new->gid.val" (named gid),
	# { e = "new->euid" } and a raw { w = "+UID(%di):u32" }
	want=$(echo "$EXPECT" | awk '{ print $1, $3, $2, $1 }')
	got=$(tagged "$TMP/cred.out" CK "$pid" | tail -n 5)
	check "cred: keyed and .val entries mixed with a raw one (u = \"new->uid.val\", \"new->gid.val\" -> ev.gid, e = \"new->euid\", w = \"$CU\") decode the same ids" \
		[ "$got" = "$want" ]
	[ "$got" = "$want" ] || { echo "# got:"; echo "$got" | sed 's/^/#   /'; }
	# the fork of setids by sh: ev.pid is sh, p->pid and p->tgid are setids,
	# p->real_parent->tgid is sh
	grep -E "^[0-9]+ (TB|TH) [0-9]+ $pid " "$TMP/cred.out" >"$TMP/t.ev"
	pairs "$TMP/t.ev" TB TH >"$TMP/np"; read -r np nb <"$TMP/np"
	check "fork: BTF { cpid = \"p->pid\", ctgid = \"p->tgid\", \"p->real_parent->tgid\" } and hand-written { ..., tgid = \"$TPT\" } agree on wake_up_new_task of setids (${np:-0} pairs, ${nb:-?} differ)" \
		cond '[ "${np:-0}" -eq 1 ] && [ "${nb:-1}" -eq 0 ]'
	[ "${nb:-1}" -eq 0 ] && [ "${np:-0}" -eq 1 ] || { diag "$TMP/pairs.bad"; diag "$TMP/t.ev"; }
	got=$(tagged "$TMP/cred.out" TB "$shpid" | awk -v p="$pid" '$1 == p')
	check "fork: the new task is setids (pid = tgid = $pid) and p->real_parent->tgid is the sh that forked it ($shpid): '$got'" \
		cond '[ -n "$shpid" ] && [ "$got" = "$pid $pid $shpid" ]'
fi

# --- 2 + 3: do_sys_openat2 entry and return -------------------------------
OH=$PROGS/openhow
D=$TMP/d60
mkdir -p "$D"
{
	cat "$TMP/common.lua"
	cat <<L
local V = { "dfd", "filename", "flags", "mode", "resolve" }
local fname = {} -- tid -> the marked path of the open in flight
local function entry(tag)
  return function(ev)
    local f = ev.filename
    if type(f) == "string" and f:find("kpvm-btf", 1, true) then
      fname[ev.tid] = f
      line(tag, ev, V)
    else
      fname[ev.tid] = nil
    end
  end
end
local function ret(tag, field)
  return function(ev)
    local f = fname[ev.tid]
    if f then print(table.concat({ s(ev.time), tag, s(ev.pid), f, s(ev[field]) }, " ")) end
  end
end
try("EB", kp.kprobe, "do_sys_openat2", { "dfd", "filename", "how->flags", "how->mode", "how->resolve" }, entry("EB"))
try("EH", kp.kprobe, "do_sys_openat2", { dfd = "%di:s32", filename = "+0(%si):string", flags = "$HF", mode = "$HM", resolve = "$HR" }, entry("EH"))
try("RB", kp.kretprobe, "do_sys_openat2", { "\$retval" }, ret("RB", "retval"))
try("RH", kp.kretprobe, "do_sys_openat2", { r = "\$retval:s32" }, ret("RH", "r"))
L
} >"$TMP/open.lua"
kp open 0 -c "$OH cwd $D/kpvm-btf-a $D/kpvm-btf-nodir/f >$TMP/oh1.out; $OH 7:$D kpvm-btf-b >$TMP/oh2.out" "$TMP/open.lua"
grep '^ERR' "$TMP/open.out" | cut -c1-400 | sed 's/^/# /'
check "openat: every probe declared (BTF and hand-written kprobe and kretprobe)" not grep -q '^ERR' "$TMP/open.out"
for o in oh1 oh2; do
	p=$(progpid "$TMP/$o.out")
	if [ -z "$p" ]; then
		notok "openat: openhow ($o) printed its pid"
		diag "$TMP/open.err"
		continue
	fi
	n=$(grep -c '^open ' "$TMP/$o.out")
	# open CALL DIRFD PATH FLAGS MODE RESOLVE RET
	want=$(awk '$1 == "open" { print $3, $4, $5, $6, $7 }' "$TMP/$o.out")
	wantret=$(awk '$1 == "open" { print $4, $8 }' "$TMP/$o.out")
	awk '$1 == "open"' "$TMP/$o.out" | sed "s/^/# openhow pid $p: /"
	grep -E "^[0-9]+ (EB|EH) $p " "$TMP/open.out" >"$TMP/e.ev"
	pairs "$TMP/e.ev" EB EH >"$TMP/np"; read -r np nb <"$TMP/np"
	check "openat: BTF { \"dfd\", \"filename\", \"how->flags\", \"how->mode\", \"how->resolve\" } and hand-written { dfd = \"%di:s32\", filename = \"+0(%si):string\", flags = \"$HF\", ... } agree on every open of pid $p (${np:-0} pairs, ${nb:-?} differ)" \
		cond '[ "${np:-0}" -eq "$n" ] && [ "${nb:-1}" -eq 0 ]'
	[ "${nb:-1}" -eq 0 ] && [ "${np:-0}" -eq "$n" ] || { diag "$TMP/pairs.bad"; diag "$TMP/e.ev"; }
	got=$(tagged "$TMP/open.out" EB "$p")
	check "openat: the BTF probe's dfd filename flags mode resolve are what openhow passed (pid $p, $n calls)" [ "$got" = "$want" ]
	[ "$got" = "$want" ] || { echo "# got:"; echo "$got" | sed 's/^/#   /'; }
	got=$(tagged "$TMP/open.out" EH "$p")
	check "openat: the hand-written probe's values are what openhow passed (pid $p)" [ "$got" = "$want" ]
	grep -E "^[0-9]+ (RB|RH) $p " "$TMP/open.out" >"$TMP/r.ev"
	pairs "$TMP/r.ev" RB RH >"$TMP/np"; read -r np nb <"$TMP/np"
	check "openat: kretprobe { \"\$retval\" } and { r = \"\$retval:s32\" } agree on every return of pid $p (${np:-0} pairs, ${nb:-?} differ)" \
		cond '[ "${np:-0}" -eq "$n" ] && [ "${nb:-1}" -eq 0 ]'
	[ "${nb:-1}" -eq 0 ] && [ "${np:-0}" -eq "$n" ] || { diag "$TMP/pairs.bad"; diag "$TMP/r.ev"; }
	got=$(tagged "$TMP/open.out" RB "$p")
	check "openat: kretprobe { \"\$retval\" } gives the fds and errors openhow got (pid $p: $(echo "$wantret" | awk '{ printf "%s ", $2 }'))" \
		[ "$got" = "$wantret" ]
	[ "$got" = "$wantret" ] || { echo "# got:"; echo "$got" | sed 's/^/#   /'; }
done
# the exact values, beyond BTF = hand-written = program
AT=$(tagged "$TMP/open.out" EB "$(progpid "$TMP/oh1.out")" | head -1)
check "openat: AT_FDCWD (-100), the path, O_CREAT|O_WRONLY|O_TRUNC|O_LARGEFILE (33345), mode 0640 (416), resolve 0 ($AT)" \
	[ "$AT" = "-100 $D/kpvm-btf-a 33345 416 0" ]
AT=$(tagged "$TMP/open.out" EB "$(progpid "$TMP/oh2.out")" | sed -n 2p)
check "openat: openat2 with dirfd 7, O_WRONLY|O_APPEND|O_CLOEXEC|O_LARGEFILE (558081), RESOLVE_NO_SYMLINKS (4) ($AT)" \
	[ "$AT" = "7 kpvm-btf-b 558081 0 4" ]
RV=$(tagged "$TMP/open.out" RB "$(progpid "$TMP/oh1.out")" | awk '{ printf "%s ", $2 }')
set -- $RV
rv1=${1:--1} rv2=${2:--1} rv3=$3 rv4=$4
check "openat: \$retval is a valid fd for the created file and -2 (ENOENT) for the missing directory ($RV)" \
	cond '[ "$rv1" -ge 0 ] && [ "$rv2" -ge 0 ] && [ "$rv3" = -2 ] && [ "$rv4" = -2 ]'

# --- 4: --dry-run prints the hand-written lines -----------------------------
# norm: "SYMBOL name=fetch..." with the arguments sorted by name
norm() { awk '{ $1 = ""; print }' | tr ' ' '\n' | sed '/^$/d' | { read -r sym; echo "$sym $(sort | tr '\n' ' ')"; }; }
defs() { grep -E '^[pr][0-9]*:kpscript_[0-9]+/' "$1"; }
kp drycred 0 --dry-run "$TMP/cred.lua"
kp dryopen 0 --dry-run "$TMP/open.lua"
defs "$TMP/drycred.out" >"$TMP/dc"
defs "$TMP/dryopen.out" >"$TMP/do"
sed 's/^/# dry-run: /' "$TMP/dc" "$TMP/do"
L1=$(sed -n 1p "$TMP/dc" | norm)
L2=$(sed -n 2p "$TMP/dc" | norm)
check "dry-run: commit_creds { \"new->uid\", ... } is the hand-written line ($L1)" cond '[ -n "$L1" ] && [ "$L1" = "$L2" ]'
[ "$L1" = "$L2" ] || echo "# hand-written: $L2"
L3=$(sed -n 3p "$TMP/dc" | norm)
want=$(printf 'commit_creds\ne=%s\ngid=%s\nu=%s\nw=%s\n' "$CE" "$CG" "$CU" "$CU" | { read -r s; echo "$s $(sort | tr '\n' ' ')"; })
check "dry-run: keyed and .val entries ($L3)" [ "$L3" = "$want" ]
[ "$L3" = "$want" ] || echo "# want: $want"
L4=$(sed -n 4p "$TMP/dc" | norm)
L5=$(sed -n 5p "$TMP/dc" | norm)
check "dry-run: wake_up_new_task { \"p->real_parent->tgid\", ... } is the hand-written line ($L4)" cond '[ -n "$L4" ] && [ "$L4" = "$L5" ]'
[ "$L4" = "$L5" ] || echo "# hand-written: $L5"
L1=$(sed -n 1p "$TMP/do" | norm)
L2=$(sed -n 2p "$TMP/do" | norm)
check "dry-run: do_sys_openat2 { \"dfd\", \"filename\", \"how->flags\", ... } is the hand-written line ($L1)" cond '[ -n "$L1" ] && [ "$L1" = "$L2" ]'
[ "$L1" = "$L2" ] || echo "# hand-written: $L2"
L3=$(sed -n 3p "$TMP/do" | norm)
L4=$(sed -n 4p "$TMP/do" | sed 's/ r=/ retval=/' | norm)
check "dry-run: kretprobe { \"\$retval\" } is \$retval with the type of do_sys_openat2's return in BTF ($RT): $L3" \
	[ "$L3" = "do_sys_openat2 retval=\$retval:$RT " ]
if [ "$L3" = "$L4" ]; then
	echo "# dry-run: { \"\$retval\" } is the hand-written r=\$retval:s32 exactly"
else
	echo "# dry-run: { \"\$retval\" } differs from the hand-written r=\$retval:s32 in its type only: do_sys_openat2 returns $RT on $(uname -r)"
fi
# the dry-run lines are the definitions the real runs registered
# (the group kpscript_PID and the event's number aside)
strip() { sed -E 's/^(DEF [A-Z]+ )?([pr][0-9]*):kpscript_[0-9]+\/[a-z]+_[A-Za-z0-9_]+_[0-9]+ /\2 /'; }
real=$(grep '^DEF' "$TMP/cred.out" "$TMP/open.out" | sed 's/^[^:]*://' | strip)
dry=$(cat "$TMP/dc" "$TMP/do" | strip)
check "dry-run: the lines are the definitions the real runs registered" cond '[ -n "$dry" ] && [ "$real" = "$dry" ]'
[ "$real" = "$dry" ] || { echo "# registered:"; echo "$real" | sed 's/^/#   /'; }

# --- 5: errors ---------------------------------------------------------------
# an unknown member, after a probe was registered: the run fails, names the
# line, lists struct cred's members as BTF has them, and leaves nothing
lua errmember <<'L'
kp.kprobe("do_sys_openat2", { "dfd" }, function() end)
kp.kprobe("commit_creds", { "new->uid", "new->no_such_member" }, function() end)
L
kp errmember 1 "$TMP/errmember.lua"
err=$(head -c 600 "$TMP/errmember.err" | tr '\n' ' ')
echo "# errmember: $err"
members=$(awk 'NR > 1 && $1 != "(anon)" { printf "%s%s", (n++ ? ", " : ""), $1 } $1 == "(anon)" { exit }' "$TMP/cred.btf")
check "errors: an unknown member names the script line and the member" \
	grep -q "errmember.lua:2:.*no member 'no_such_member'" "$TMP/errmember.err"
check "errors: an unknown member lists struct cred's members in BTF order ($(echo "$members" | cut -c1-60)...)" \
	grep -qF "(its members: $members" "$TMP/errmember.err"
check "errors: one line, no traceback" [ "$(grep -c . "$TMP/errmember.err")" -eq 1 ]

lua errret <<'L'
kp.kretprobe("do_sys_openat2", { "dfd" }, function() end)
L
kp errret 1 "$TMP/errret.lua"
err=$(head -c 400 "$TMP/errret.err" | tr '\n' ' ')
echo "# errret: $err"
check "errors: a parameter in a kretprobe is refused, naming it and \$retval" \
	[ -n "$(grep "errret.lua:1:.*parameter 'dfd'.*return probe" "$TMP/errret.err" | grep -F '$retval')" ]

# more refusals, caught with pcall in one run that then attaches and ends
# normally
lua errs <<'L'
local cases = {
  { "param", kp.kprobe, "do_sys_openat2", { "no_such_param" } },
  { "retval", kp.kprobe, "do_sys_openat2", { "$retval" } },
  { "retparam", kp.kretprobe, "do_sys_openat2", { "filename" } },
  { "reserved", kp.kprobe, "wake_up_new_task", { "p->pid" } },
  { "dup", kp.kprobe, "commit_creds", { "new->uid", "new->uid.val" } },
  { "notptr", kp.kprobe, "commit_creds", { "new->uid->val" } },
  { "dot", kp.kprobe, "commit_creds", { "new.uid" } },
}
for _, c in ipairs(cases) do
  local ok, e = pcall(c[2], c[3], c[4], function() end)
  print(c[1], tostring(ok), (tostring(e):gsub("\n", " ")))
end
local p = kp.kprobe("do_sys_openat2", { "dfd" }, function() end)
print("after", p.definition)
L
kp errs 0 -c true "$TMP/errs.lua"
sed 's/^/# errs: /' "$TMP/errs.out" | cut -c1-300
e() { awk -v c="$1" -F '\t' '$1 == c && $2 == "false" { print $3 }' "$TMP/errs.out"; }
params=$(awk '$1 == "param" { printf "%s%s", (n++ ? ", " : ""), $3 }' "$TMP/openat2.fn")
check "errors: an unknown parameter lists do_sys_openat2's parameters ($params)" \
	[ -n "$(e param | grep -F "no parameter 'no_such_param' (its parameters: $params)")" ]
check "errors: \$retval in a kprobe is refused" [ -n "$(e retval | grep -F 'return probes')" ]
check "errors: a parameter ('filename') in a kretprobe is refused" [ -n "$(e retparam | grep -F "'filename'")" ]
check "errors: \"p->pid\" would be ev.pid (reserved): refused, asking for a name" [ -n "$(e reserved | grep -F 'reserved' | grep -F '{ myname')" ]
check "errors: \"new->uid\" and \"new->uid.val\" both named uid: refused" [ -n "$(e dup | grep -F "another argument has")" ]
check "errors: \"new->uid->val\" (uid is not a pointer) refused" [ -n "$(e notptr | grep -F "not a pointer")" ]
check "errors: \"new.uid\" (new is a pointer) refused, asking for ->" [ -n "$(e dot | grep -F "'->'")" ]
check "errors: after the refusals a BTF probe still attaches ($(grep '^after' "$TMP/errs.out" | cut -c1-120))" \
	grep -q '^after	p:kpscript_[0-9]*/[^ ]* do_sys_openat2 dfd=%di:s32$' "$TMP/errs.out"
