# Arguments by name from this kernel's BTF, through the command line:
# --dry-run shows the compiled definitions (offsets checked against
# bpftool's dump of the same BTF), -l -v shows prototypes, and the errors
# name what exists. Nothing here needs kprobes: --dry-run creates nothing.
. tests/live/lib.sh
need_live btf_args
if [ ! -r /sys/kernel/btf/vmlinux ]; then
	skip "btf_args: this kernel has no BTF"
	exit 0
fi
if ! command -v bpftool >/dev/null; then
	notok "btf_args: bpftool is needed to cross-check offsets (apt-get install bpftool)"
	exit 1
fi
# byte offset of MEMBER in struct STRUCT per bpftool
off() {
	bpftool btf dump file /sys/kernel/btf/vmlinux format raw |
		awk -v s="STRUCT '$1'" -v m="'$2'" '
			/^\[/ { inside = index($0, s) > 0; next }
			inside && $1 == m { sub("bits_offset=", "", $3); print $3 / 8; exit }'
}
uid=$(off cred uid)
euid=$(off cred euid)
user=$(off cred user)
uuid=$(off user_struct uid)
flags=$(off open_how flags)

cat >"$TMP/b.lua" <<'LUA'
kp.kprobe("commit_creds", { "new->uid.val", euid = "new->euid", uuid = "new->user->uid" }, function() end)
kp.kprobe("do_sys_openat2", { "dfd", "filename", "how->flags", raw = "%dx:x64" }, function() end)
kp.kretprobe("do_sys_openat2", { "$retval" }, function() end)
LUA
kp --dry-run "$TMP/b.lua"
exits "btf_args: --dry-run exits 0 ($(oneline "$TMP/err"))" 0
line=$(grep ' commit_creds ' "$TMP/out")
check "btf_args: commit_creds: uid=+$uid(%di):u32 (bpftool), euid by its key, the chain new->user->uid ($line)" \
	has "$line" "euid=+$euid(%di):u32 uid=+$uid(%di):u32 uuid=+$uuid(+$user(%di)):u32"
line=$(grep 'k_do_sys_openat2' "$TMP/out")
check "btf_args: do_sys_openat2: raw first, then dfd, filename as a string, how->flags ($line)" \
	has "$line" "raw=%dx:x64 dfd=%di:s32 filename=+0(%si):string flags=+$flags(%dx):u64"
check "btf_args: a kretprobe's \$retval typed from the return type" \
	grep -Eq '^r:kpscript_[0-9]+/kr_do_sys_openat2_[0-9]+ do_sys_openat2 retval=\$retval:s32$' "$TMP/out"

kp -l 'commit_creds' -v
check "btf_args: -l -v prints commit_creds's prototype ($(oneline "$TMP/out"))" \
	grep -qx '    int commit_creds(struct cred \*new)' "$TMP/out"

kp --dry-run -e 'kp.kprobe("commit_creds", { "new->uidd" }, function() end)'
exits "btf_args: an unknown member fails" 1
one_err_line "btf_args: an unknown member: one line"
check "btf_args: it lists struct cred's members ($(oneline "$TMP/err"))" \
	grep -q "struct cred has no member 'uidd' (its members: usage, uid, gid, .*euid" "$TMP/err"
names_line "btf_args: it names the script line" "-e:1"

kp --dry-run -e 'kp.kprobe("do_sys_openat2", { "fd" }, function() end)'
check "btf_args: an unknown parameter lists the real ones ($(oneline "$TMP/err"))" \
	grep -q "do_sys_openat2 has no parameter 'fd' (its parameters: dfd, filename, how)" "$TMP/err"
kp --dry-run -e 'kp.kretprobe("do_sys_openat2", { "dfd" }, function() end)'
check "btf_args: a parameter in a return probe is refused ($(oneline "$TMP/err"))" \
	grep -q "not available in a return probe" "$TMP/err"
kp --dry-run -e 'kp.kprobe("commit_creds", { "new->user" , "new->user" }, function() end)'
check "btf_args: two arguments with one name are refused ($(oneline "$TMP/err"))" \
	grep -q "would be named 'user', which another argument has" "$TMP/err"
kp --dry-run -e 'kp.kprobe("commit_creds", { "new->cap_permitted", c = "new" }, function() end)'
exits "btf_args: a struct pointer alone and a one-member struct are fetched ($(oneline "$TMP/err"))" 0
kp --dry-run -e 'kp.uprobe("/bin/sh:0x1000", { "argv" }, function() end)'
check "btf_args: a uprobe refuses names ($(oneline "$TMP/err"))" \
	grep -q "looks like a parameter name: user probes take fetch arguments" "$TMP/err"
