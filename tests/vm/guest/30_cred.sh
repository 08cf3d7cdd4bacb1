#!/bin/sh
# commit_creds(struct cred *new): the layout of struct cred on the guest's
# kernel (from its BTF, and from a raw dump of the words during known
# setresuid/setresgid calls), the seed's probe line as written, offsets
# taken from BTF giving the exact ids, and cred_watch.lua's ROOT flag.
#
# The test program setids does, as root, in this order (one commit_creds
# each): setresgid(2000,2001,2002), setresuid(1000,1001,0),
# setresuid(-1,0,-1), setresuid(0,0,0), setresgid(0,0,0).
. /kp/guest/lib.sh
IDS="uid gid suid sgid euid egid fsuid fsgid"
# expected "uid gid suid sgid euid egid fsuid fsgid" after each step
EXPECT="0 2000 0 2002 0 2001 0 2001
1000 2000 0 2002 1001 2001 1001 2001
1000 2000 0 2002 0 2001 0 2001
0 2000 0 2002 0 2001 0 2001
0 0 0 0 0 0 0 0"

# --- struct cred from BTF ----------------------------------------------------
"$PROGS/btfstruct" cred >"$TMP/btf" 2>"$TMP/btf.err"
check "cred: struct cred read from /sys/kernel/btf/vmlinux" [ -s "$TMP/btf" ]
diag "$TMP/btf.err"
sed -n '1,12p' "$TMP/btf" | sed 's/^/# guest BTF: /'
off() { awk -v m="$1" '$1 == m { print $2; exit }' "$TMP/btf"; }
layout=
for m in usage $IDS; do
	layout="$layout $m@$(off $m)"
done
usize=$(awk '$1 == "usage" { print $3; exit }' "$TMP/btf")
echo "# struct cred on $(uname -r):$layout (usage is $usize bytes)"
missing=
for m in $IDS; do [ -n "$(off $m)" ] || missing="$missing $m"; done
check "cred: BTF gives the offset of every id ($layout)" [ -z "$missing" ]

# kp.offsetof reads the same BTF
lua offsetof <<'L'
for _, m in ipairs { "usage", "uid", "gid", "suid", "sgid", "euid", "egid", "fsuid", "fsgid", "uid.val" } do
  local off, size = kp.offsetof("cred", m)
  print(m, tostring(off), tostring(size))
end
print("nope", tostring((kp.offsetof("cred", "no_such_member"))))
L
kp offsetof 0 "$TMP/offsetof.lua"
bad=
for m in usage $IDS; do
	want="$m	$(off $m)	$(awk -v m="$m" '$1 == m { print $3; exit }' "$TMP/btf")"
	grep -qx "$want" "$TMP/offsetof.out" || bad="$bad $m"
done
check "cred: kp.offsetof(\"cred\", ID) gives BTF's offset and size of every id${bad:+ (wrong:$bad)}" [ -z "$bad" ]
[ -z "$bad" ] || diag "$TMP/offsetof.out" 12
check "cred: kp.offsetof(\"cred\", \"uid.val\") is uid's offset, 4 bytes" grep -qx "uid.val	$(off uid)	4" "$TMP/offsetof.out"
check "cred: kp.offsetof of an unknown member is nil" grep -qx 'nope	nil' "$TMP/offsetof.out"

# --- one run, three probes on commit_creds ---------------------------------
# D: the words +0..+40 as u32 (the layout seen directly)
# S: the seed's line as written
# C: offsets from BTF
cargs=
for m in $IDS; do cargs="$cargs $m = \"+$(off $m)(%di):u32\","; done
cat >"$TMP/cred.lua" <<L
local function s(v)
  if type(v) == "number" then return string.format("%d", v) end
  return (tostring(v):gsub("U?LL\$", ""))
end
local function try(tag, f, ...)
  local ok, e = pcall(f, ...)
  if not ok then print("ERR " .. tag .. " " .. tostring(e)) end
end
local words = {}
for i = 0, 10 do words[string.format("w%02d", i)] = string.format("+%d(%%di):u32", i * 4) end
try("D", kp.kprobe, "commit_creds", words, function(ev)
  local t = { "D", ev.pid }
  for i = 0, 10 do t[#t + 1] = s(ev[string.format("w%02d", i)]) end
  print(table.concat(t, " "))
end)
try("S", kp.probe, "p:commit_creds usage=+0(%di):u64 uid=+8(%di):u32 gid=+12(%di):u32 suid=+16(%di):u32 sgid=+20(%di):u32 euid=+24(%di):u32 egid=+28(%di):u32 fsuid=+32(%di):u32 fsgid=+36(%di):u32", function(ev)
  print(table.concat({ "S", ev.pid, s(ev.usage), s(ev.uid), s(ev.gid), s(ev.suid), s(ev.sgid),
    s(ev.euid), s(ev.egid), s(ev.fsuid), s(ev.fsgid) }, " "))
end)
try("C", kp.kprobe, "commit_creds", {$cargs }, function(ev)
  print(table.concat({ "C", ev.pid, s(ev.uid), s(ev.gid), s(ev.suid), s(ev.sgid),
    s(ev.euid), s(ev.egid), s(ev.fsuid), s(ev.fsgid) }, " "))
end)
L
kp cred 0 -c "$PROGS/setids >$TMP/ids.out" "$TMP/cred.lua"
grep '^ERR' "$TMP/cred.out" | sed 's/^/# /'
pid=$(progpid "$TMP/ids.out")
check "cred: setids ran every step as root ($(tail -1 "$TMP/ids.out"))" grep -qx 'ids 0 0 0 0 0 0' "$TMP/ids.out"
# last5 TAG: the last 5 events of TAG for the program (its exec's own
# commit_creds comes first), without tag and pid
last5() { awk -v t="$1" -v p="$pid" '$1 == t && $2 == p { $1 = ""; $2 = ""; sub(/^  /, ""); print }' "$TMP/cred.out" | tail -n 5; }
last5 D >"$TMP/D"
last5 S >"$TMP/S"
last5 C >"$TMP/C"
sed 's/^/# commit_creds words +0..+40 after each step: /' "$TMP/D"

# the words at BTF's offsets hold the ids each step set
got=$(awk -v offs="$(for m in $IDS; do printf '%s ' "$(off $m)"; done)" '
	{ n = split(offs, o, " "); line = ""; for (i = 1; i <= n; i++) line = line (i > 1 ? " " : "") $(o[i] / 4 + 1); print line }' "$TMP/D")
check "cred: the raw words at BTF's offsets are the ids of each step" [ "$got" = "$EXPECT" ]
[ "$got" = "$EXPECT" ] || { echo "# got:"; echo "$got" | sed 's/^/#   /'; }

# the corrected (BTF) offsets through kp.kprobe give the exact ids
got=$(cat "$TMP/C")
check "cred: kp.kprobe on commit_creds with BTF's offsets gives the exact ids of every step" [ "$got" = "$EXPECT" ]
[ "$got" = "$EXPECT" ] || { echo "# got:"; echo "$got" | sed 's/^/#   /'; }

# the seed's line is accepted and decodes the words at its offsets
n=$(grep -c . "$TMP/S")
check "cred: the seed's commit_creds line is accepted and fires for each step ($n of 5)" [ "$n" -eq 5 ]
if [ "$n" -eq 5 ] && [ "$(grep -c . "$TMP/D")" -eq 5 ]; then
	# seed field i (usage, uid, ..., fsgid) vs. words: usage = w0 + w1 * 2^32,
	# uid=+8 -> w2, gid=+12 -> w3, ..., fsgid=+36 -> w9
	bad=$(paste -d' ' "$TMP/S" "$TMP/D" | awk '{
		if ($1 != $10 + $11 * 4294967296) print "usage " $1;
		for (i = 2; i <= 9; i++) if ($i != $(i + 10)) print "field " i " " $i " word " $(i + 10) }')
	check "cred: the seed's fields are the u32 words at +8..+36 and the u64 at +0" [ -z "$bad" ]
	[ -z "$bad" ] || echo "$bad" | head -5 | sed 's/^/#   /'
	seedgot=$(awk '{ $1 = ""; sub(/^ /, ""); print }' "$TMP/S")
	# the seed assumes an 8-byte usage (uid at +8): where BTF agrees, its
	# fields must be the exact ids of every step
	if [ "$(off uid)" = 8 ]; then
		check "cred: BTF places uid at +8 on $(uname -r), and the seed's line gives the exact ids of every step" \
			[ "$seedgot" = "$EXPECT" ]
	else
		skip "cred: the seed's line assumes uid at +8; BTF places it at +$(off uid) on $(uname -r)"
	fi
	if [ "$seedgot" != "$EXPECT" ]; then
		echo "# the seed's uid gid suid sgid euid egid fsuid fsgid after step 2 read: $(sed -n 2p "$TMP/S" | cut -d' ' -f2-)"
		echo "# (the true ids after step 2: $(echo "$EXPECT" | sed -n 2p))"
	fi
else
	notok "cred: BTF places uid at +8, and the seed's line gives the exact ids of every step (no seed or word lines)"
fi

# --- cred_watch.lua ----------------------------------------------------------
if [ ! -f /kp/scripts/cred_watch.lua ]; then
	skip "cred_watch: scripts/cred_watch.lua does not exist yet"
	exit 0
fi
kp cred_watch 0 -c "$PROGS/setids >$TMP/cw-ids.out" cred_watch.lua
cpid=$(progpid "$TMP/cw-ids.out")
awk -v p="$cpid" '{ for (i = 1; i <= NF; i++) if ($i == p) { print; next } }' "$TMP/cred_watch.out" >"$TMP/cw"
sed 's/^/# cred_watch: /' "$TMP/cw" | head -12
n=$(grep -c . "$TMP/cw")
check "cred_watch: a line per credential change of pid $cpid (5 steps, got $n lines)" [ "$n" -ge 5 ]
# exactly: a line per step, the columns after TIME PID PPID
awk -v p="$cpid" '$2 == p { $1 = $2 = $3 = ""; sub(/^ +/, ""); print }' "$TMP/cred_watch.out" >"$TMP/cw.got"
cat >"$TMP/cw.want" <<'EOF'
setids gid 0->2000 egid 0->2001 sgid 0->2002 fsgid 0->2001
setids uid 0->1000 euid 0->1001 fsuid 0->1001
setids euid 1001->0 fsuid 1001->0 ROOT
setids uid 1000->0 ROOT
setids gid 2000->0 egid 2001->0 sgid 2002->0 fsgid 2001->0 ROOT
EOF
if cmp -s "$TMP/cw.want" "$TMP/cw.got"; then
	ok "cred_watch: exactly the 5 changes of setids (pid $cpid), ROOT on the 3 gains"
else
	notok "cred_watch: exactly the 5 changes of setids (pid $cpid), ROOT on the 3 gains"
	diff "$TMP/cw.want" "$TMP/cw.got" | sed 's/^/#   /'
fi
check "cred_watch: lines name the comm setids" grep -q 'setids' "$TMP/cw"
check "cred_watch: step 2 (uid 0->1000, euid 0->1001) shown, without ROOT" \
	[ -n "$(grep '0->1000' "$TMP/cw" | grep '0->1001' | grep -v ROOT)" ]
check "cred_watch: step 3 (euid 1001->0) flagged ROOT" [ -n "$(grep '1001->0' "$TMP/cw" | grep ROOT)" ]
check "cred_watch: step 4 (uid 1000->0) flagged ROOT" [ -n "$(grep '1000->0' "$TMP/cw" | grep ROOT)" ]
check "cred_watch: step 5 (gid 2000->0, egid 2001->0) flagged ROOT" \
	[ -n "$(grep '2000->0' "$TMP/cw" | grep '2001->0' | grep ROOT)" ]
check "cred_watch: step 1 (gid 0->2000) not flagged ROOT" [ -z "$(grep '0->2000' "$TMP/cw" | grep ROOT)" ]
