#!/bin/sh
# The shipped scripts not tested elsewhere in the guest, each with an exact
# check of what it prints: sensitive_write.lua (through kprobes here, so
# busybox, a static program, is seen), shell_spawn.lua and funclatency.lua
# on a kernel function (kprobe + kretprobe).
. /kp/guest/lib.sh

# --- sensitive_write: writes, renames and deletions under /etc and ~/.ssh --
mkdir -p /etc /root/.ssh
echo keep >/etc/kpvm-sw.read
cat >"$TMP/writes.sh" <<EOF
echo x >/etc/kpvm-sw.w
mv /etc/kpvm-sw.w /etc/kpvm-sw.r
rm /etc/kpvm-sw.r
# a relative path is made absolute with the writer's working directory,
# read from /proc while the writer still runs (an rm of a relative path
# exits at once: see the blind spot in sensitive_write.lua)
cd /etc && echo y >kpvm-sw.rel
sleep 1
rm /etc/kpvm-sw.rel
echo k >/root/.ssh/kpvm-sw
rm /root/.ssh/kpvm-sw
cat /etc/kpvm-sw.read >/dev/null
echo z >$TMP/kpvm-sw.elsewhere
EOF
kp sw 0 -c "sh $TMP/writes.sh" /kp/scripts/sensitive_write.lua
grep '^sensitive_write: ' "$TMP/sw.err" | sed 's/^/# /'
check "sensitive_write: watches through kprobes ($(grep '^sensitive_write: ' "$TMP/sw.err"))" \
	grep -q '^sensitive_write: watching via kprobes do_sys_openat2, do_unlinkat, do_renameat2$' "$TMP/sw.err"
# rule, severity, comm and message of each alert, pids left out, in order
# (the key=value pairs come in a fixed order, some only when known)
# f LINE KEY: the value of KEY=VALUE or KEY="VALUE WITH BLANKS"
f() { echo "$1" | sed -n -e "s/.* $2=\"\\([^\"]*\\)\".*/\\1/p; t" -e "s/.* $2=\\([^ ]*\\).*/\\1/p"; }
msg() { f "$1" message; }
grep ' kind=alert ' "$TMP/sw.out" | while read -r l; do
	echo "$(f "$l" rule) $(f "$l" severity) $(f "$l" comm) $(msg "$l")"
done | sed 's/ ([0-9]*) / (PID) /' >"$TMP/sw.got"
cat >"$TMP/sw.want" <<'EOF'
sensitive_write_medium medium sh sh (PID) opens /etc/kpvm-sw.w for writing
sensitive_rename_medium medium mv mv (PID) renames /etc/kpvm-sw.w to /etc/kpvm-sw.r
sensitive_unlink_medium medium rm rm (PID) deletes /etc/kpvm-sw.r
sensitive_write_medium medium sh sh (PID) opens /etc/kpvm-sw.rel for writing
sensitive_unlink_medium medium rm rm (PID) deletes /etc/kpvm-sw.rel
sensitive_write_high high sh sh (PID) opens /root/.ssh/kpvm-sw for writing
sensitive_unlink_high high rm rm (PID) deletes /root/.ssh/kpvm-sw
EOF
if cmp -s "$TMP/sw.want" "$TMP/sw.got"; then
	ok "sensitive_write: exactly the 7 alerts of the busybox (static) writes, renames and deletions, in order; quiet on a read and a write elsewhere"
else
	notok "sensitive_write: exactly the 7 alerts of the busybox (static) writes, renames and deletions, in order; quiet on a read and a write elsewhere"
	diff "$TMP/sw.want" "$TMP/sw.got" | head -12 | sed 's/^/#   /'
	diag "$TMP/sw.out" 12
	diag "$TMP/sw.err"
fi
rm -f /etc/kpvm-sw.read

# --- shell_spawn: a shell started by a service ------------------------------
# a script named nginx is a process whose comm is nginx; it starts a shell
# by its path (an exec of /bin/sh) and by its name (busybox's shell runs
# its applets as /proc/self/exe, argv[0] sh), then sleep (the same way,
# argv[0] sleep: not a shell; the second shell sleeps first, so it is still
# sh when its argv is read), then "/bin/busybox sh" (a shell: argv[1]) and
# "/bin/busybox sleep" (not one), so the shells are children, not an exec of
# the script's process. The service and the second shell live on a second,
# as services do, so their exe and argv can be read; the shells sh starts
# are quiet
mkdir -p "$TMP/svc"
printf '#!/bin/sh\necho $$ >%s/nginx.pid\n/bin/sh -c true\nsh -c "sleep 1; true"\n/bin/busybox sh -c "sleep 1; true"\n/bin/busybox sleep 1\n' "$TMP" >"$TMP/svc/nginx"
chmod 0755 "$TMP/svc/nginx"
kp spawn 0 -c "$TMP/svc/nginx; sh -c 'sh -c true; /bin/sh -c true; true'" /kp/scripts/shell_spawn.lua
np=$(cat "$TMP/nginx.pid" 2>/dev/null)
# each alert as "rule severity message|filename shell parent_comm parent_pid"
grep ' kind=alert ' "$TMP/spawn.out" | while read -r l; do
	echo "$(f "$l" rule) $(f "$l" severity) $(msg "$l")|$(f "$l" filename) $(f "$l" shell) $(f "$l" parent_comm) $(f "$l" parent_pid)"
done | sed "s/ $np\$/ NGINX/; s/(pid $np)/(pid NGINX)/" >"$TMP/spawn.got"
cat >"$TMP/spawn.want" <<'EOF'
shell_spawn high shell /bin/sh started by service nginx (pid NGINX)|/bin/sh /bin/sh nginx NGINX
shell_spawn high shell /bin/busybox (sh) started by service nginx (pid NGINX)|/proc/self/exe /bin/busybox (sh) nginx NGINX
shell_spawn high shell /bin/busybox (sh) started by service nginx (pid NGINX)|/bin/busybox /bin/busybox (sh) nginx NGINX
EOF
if [ -n "$np" ] && [ "$(grep -c ' kind=alert ' "$TMP/spawn.out")" -eq 3 ] && cmp -s "$TMP/spawn.want" "$TMP/spawn.got"; then
	ok "shell_spawn: exactly three alerts, severity high, for the shells nginx (pid $np) started as /bin/sh, as sh (/proc/self/exe: busybox, argv[0] sh) and as busybox sh; none for its sleeps or sh's shells"
else
	notok "shell_spawn: exactly three alerts, severity high, for the shells nginx (pid $np) started as /bin/sh, as sh (/proc/self/exe: busybox, argv[0] sh) and as busybox sh; none for its sleeps or sh's shells"
	diff "$TMP/spawn.want" "$TMP/spawn.got" | sed 's/^/#   /'
	diag "$TMP/spawn.out"
fi

# --- funclatency: a kernel function's latency, kprobe + kretprobe -----------
# sync(2) is called by nothing else in the guest: busybox sync, three times
kp lat 0 -c "sync; sync; sync" /kp/scripts/funclatency.lua __x64_sys_sync us
total=$(awk '/^[[(]/ { n += substr($0, 17, 8) } END { print n + 0 }' "$TMP/lat.out")
check "funclatency __x64_sys_sync us: one histogram, @__x64_sys_sync_us, holding exactly the 3 calls (got $total)" \
	cond '[ "$total" -eq 3 ] && grep -qx "@__x64_sys_sync_us:" "$TMP/lat.out"'
check "funclatency: says what it traces" grep -q '^Tracing __x64_sys_sync (us)' "$TMP/lat.err"
[ "$total" -eq 3 ] || { diag "$TMP/lat.out"; diag "$TMP/lat.err"; }
