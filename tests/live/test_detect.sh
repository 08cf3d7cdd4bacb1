#!/bin/sh
# Detections: scripts/sensitive_write.lua and scripts/shell_spawn.lua fire
# on what they are for and stay quiet on the benign neighbours; their alerts
# (-o json) parse and name their rule; nothing stays registered.
#
# sensitive_write (on this kernel: the syscalls' tracepoints with the paths
# read by BPF; uprobes on glibc where BPF is not allowed): a write to a unique file
# under /etc (medium), its rename (medium) and its deletion (medium), an
# open of /etc/passwd for appending that writes nothing (high), a write and
# a deletion of a unique file in /root/.ssh (high; the directory is made
# when missing and removed again then), a relative path in /etc (made
# absolute from the process's cwd), and where the paths come from the
# kernel a static busybox's write and deletion under /etc; quiet: reading /etc/hostname, reading
# the ~/.ssh file, writing under /tmp, writing /dev/null.
#
# shell_spawn: a shell exec'd by a process whose comm is a service's name
# (a copy of /bin/dash named nginx runs `sh -c true`) is one alert, severity
# high, naming the parent; quiet when bash or sh start a shell.
. tests/live/lib.sh
need_live detect

if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import json' 2>/dev/null; then
	skip "detect: needs python3 for its JSON parser"
	exit 0
fi
U="kp_detect_$$"
SSH_MADE=
cleanup() {
	rm -f "/etc/$U.w" "/etc/$U.r" "/etc/$U.rel" "/root/.ssh/$U"
	[ -n "$SSH_MADE" ] && rmdir /root/.ssh 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
if [ ! -d /root/.ssh ]; then
	mkdir -m 700 /root/.ssh && SSH_MADE=1
fi

cp tests/live/lib.py "$TMP/lib.py"

# ---- sensitive_write ---------------------------------------------------------
cat >"$TMP/writes.sh" <<EOF
echo \$\$ >$TMP/sh.pid
echo x >/etc/$U.w
mv /etc/$U.w /etc/$U.r
rm /etc/$U.r
: >>/etc/passwd
echo x >/root/.ssh/$U
cat /root/.ssh/$U >/dev/null
rm /root/.ssh/$U
cat /etc/hostname >/dev/null
echo y >$TMP/$U.tmp
cd /etc && exec 3>$U.rel && sleep 0.5
rm /etc/$U.rel
busybox sh -c 'echo z >/etc/$U.bb; rm /etc/$U.bb'
EOF
kp_run -o json -c "sh $TMP/writes.sh" scripts/sensitive_write.lua
exits "detect/sensitive_write: exit status 0 ($(oneline "$TMP/err"))" 0
check "detect/sensitive_write: says which path it watches" grep -q '^sensitive_write: watching via ' "$TMP/err"
none_left "detect/sensitive_write"
check "detect/sensitive_write: the test's files are gone" \
	cond '[ ! -e "/etc/$U.w" ] && [ ! -e "/etc/$U.r" ] && [ ! -e "/etc/$U.rel" ] && [ ! -e "/etc/$U.bb" ] && [ ! -e "/root/.ssh/$U" ]'
# a static program (busybox) is seen where the paths come from the kernel
# (kprobes or BPF), not through glibc uprobes
static=1
grep -q '^sensitive_write: watching via uprobes' "$TMP/err" && static=0
python3 - "$TMP/out" "$U" "$(cat "$TMP/sh.pid")" "$TMP" "$static" <<'EOF'
import os, sys
sys.path.insert(0, sys.argv[4])
from lib import res, records
path, U, shpid, tmp = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
static = sys.argv[5] == "1"
recs, other = records(path)
res("detect/sensitive_write: every stdout line is a JSON object", not other, repr(other[:3]))
res("detect/sensitive_write: every record is an alert with a rule", recs and all(
    r.get("kind") == "alert" and isinstance(r.get("rule"), str) for r in recs), repr(recs[:1]))
def f(r):
    return r.get("fields") if isinstance(r.get("fields"), dict) else {}
def alerts(rule, p):
    return [r for r in recs if r.get("rule") == rule and f(r).get("path") == p]
def one(name, rule, p, sev, msg_has, more=None):
    a = alerts(rule, p)
    res("detect/sensitive_write: %s: one %s alert for %s" % (name, rule, p), len(a) == 1,
        "got %d; alerts: %r" % (len(a), [(r.get("rule"), f(r).get("path")) for r in recs]))
    if len(a) == 1:
        r = a[0]
        res("detect/sensitive_write: %s: severity %s" % (name, sev), r.get("severity") == sev, repr(r.get("severity")))
        res("detect/sensitive_write: %s: the message says %r" % (name, msg_has),
            isinstance(r.get("message"), str) and msg_has in r["message"], repr(r.get("message")))
        if more:
            for k, v in more.items():
                res("detect/sensitive_write: %s: fields.%s = %s" % (name, k, v), f(r).get(k) == v, repr(f(r).get(k)))
E = "/etc/" + U
one("write under /etc", "sensitive_write_medium", E + ".w", "medium", "opens %s.w for writing" % E,
    {"op": "open-write"})
one("rename under /etc", "sensitive_rename_medium", E + ".w", "medium", "renames %s.w to %s.r" % (E, E),
    {"from": E + ".w", "to": E + ".r"})
one("unlink under /etc", "sensitive_unlink_medium", E + ".r", "medium", "deletes %s.r" % E, {"op": "unlink"})
one("relative path under /etc (cwd /etc)", "sensitive_write_medium", E + ".rel", "medium", "opens %s.rel" % E)
one("unlink of the relative one", "sensitive_unlink_medium", E + ".rel", "medium", "deletes %s.rel" % E)
S = "/root/.ssh/" + U
one("write in /root/.ssh", "sensitive_write_high", S, "high", "opens %s for writing" % S)
one("unlink in /root/.ssh", "sensitive_unlink_high", S, "high", "deletes %s" % S)
pw = [r for r in alerts("sensitive_write_high", "/etc/passwd") if r.get("pid") == shpid]
res("detect/sensitive_write: /etc/passwd opened to append: one high alert of our shell",
    len(pw) == 1 and pw[0].get("severity") == "high", repr(pw))
if static:
    one("busybox (static) writes under /etc", "sensitive_write_medium", E + ".bb", "medium",
        "busybox", {"op": "open-write"})
    one("busybox (static) deletes under /etc", "sensitive_unlink_medium", E + ".bb", "medium",
        "deletes %s.bb" % E)
want = [("sensitive_write_medium", E + ".w"), ("sensitive_rename_medium", E + ".w"),
        ("sensitive_unlink_medium", E + ".r"), ("sensitive_write_medium", E + ".rel"),
        ("sensitive_unlink_medium", E + ".rel"), ("sensitive_write_high", S), ("sensitive_unlink_high", S)]
if static:
    want += [("sensitive_write_medium", E + ".bb"), ("sensitive_unlink_medium", E + ".bb")]
res("detect/sensitive_write: each of our paths alerts exactly as listed (no duplicate rule per path)",
    sorted((r.get("rule"), f(r).get("path")) for r in recs if U in str(f(r).get("path"))) == sorted(want),
    repr(sorted((r.get("rule"), f(r).get("path")) for r in recs if U in str(f(r).get("path")))))
# quiet
quiet = [r for r in recs if f(r).get("path") in ("/etc/hostname", "/dev/null")
         or str(f(r).get("path")).startswith(tmp)]
res("detect/sensitive_write: quiet on reading /etc/hostname, writing /dev/null and under /tmp", not quiet,
    repr(quiet))
reads = [r for r in recs if r.get("comm") == "cat" and U in str(f(r).get("path"))]
res("detect/sensitive_write: quiet on reading the file in /root/.ssh", not reads, repr(reads))
EOF

# ---- shell_spawn -------------------------------------------------------------
cp /bin/dash "$TMP/nginx" || exit 1
cat >"$TMP/spawns.sh" <<EOF
$TMP/nginx -c 'echo \$\$ >$TMP/nginx.pid; sh -c true'
bash -c 'echo \$\$ >$TMP/bash.pid; sh -c true; dash -c true; true'
sh -c 'echo \$\$ >$TMP/sh.pid; bash -c true; sh -c true; true'
EOF
kp_run -o json -c "sh $TMP/spawns.sh" scripts/shell_spawn.lua
exits "detect/shell_spawn: exit status 0 ($(oneline "$TMP/err"))" 0
none_left "detect/shell_spawn"
python3 - "$TMP/out" "$TMP" "$(cat "$TMP/nginx.pid")" "$(cat "$TMP/bash.pid")" "$(cat "$TMP/sh.pid")" <<'EOF'
import sys
sys.path.insert(0, sys.argv[2])
from lib import res, records
recs, other = records(sys.argv[1])
nginx, bash, sh = (int(x) for x in sys.argv[3:6])
res("detect/shell_spawn: every stdout line is a JSON object", not other, repr(other[:3]))
res("detect/shell_spawn: every record is an alert of rule shell_spawn", recs and all(
    r.get("kind") == "alert" and r.get("rule") == "shell_spawn" for r in recs),
    repr([(r.get("kind"), r.get("rule")) for r in recs]))
def f(r):
    return r.get("fields") if isinstance(r.get("fields"), dict) else {}
mine = [r for r in recs if f(r).get("parent_pid") == nginx]
res("detect/shell_spawn: one alert for the shell nginx (pid %d) started" % nginx, len(mine) == 1,
    "got %d of %d alerts: %r" % (len(mine), len(recs), recs))
if len(mine) == 1:
    r = mine[0]
    res("detect/shell_spawn: severity high", r.get("severity") == "high", repr(r.get("severity")))
    res("detect/shell_spawn: parent_comm nginx", f(r).get("parent_comm") == "nginx", repr(f(r)))
    res("detect/shell_spawn: the shell's file is sh", str(f(r).get("filename")).endswith("/sh"), repr(f(r)))
    res("detect/shell_spawn: the message names the service and its pid",
        "nginx" in str(r.get("message")) and str(nginx) in str(r.get("message")), repr(r.get("message")))
    res("detect/shell_spawn: the record's ppid is the service's pid (when present)",
        r.get("ppid", nginx) == nginx, repr(r.get("ppid")))
loud = [r for r in recs if f(r).get("parent_pid") in (bash, sh) or f(r).get("parent_comm") in ("bash", "sh", "dash")]
res("detect/shell_spawn: quiet on shells started by bash (%d) and sh (%d)" % (bash, sh), not loud, repr(loud))
EOF
check "detect/shell_spawn: no rule error on stderr" not grep -q '^kpscript: rule ' "$TMP/err"

# ---- both as a directory, text output ----------------------------------------
mkdir "$TMP/dets"
cp scripts/shell_spawn.lua scripts/sensitive_write.lua "$TMP/dets/"
kp_run -c "$TMP/nginx -c 'sh -c true'; echo x >/etc/$U.w; rm /etc/$U.w" "$TMP/dets"
exits "detect/dir: both detections in one run: exit status 0 ($(oneline "$TMP/err"))" 0
none_left "detect/dir"
check "detect/dir: shell_spawn alerted (text)" grep -q 'kind=alert .*rule=shell_spawn .*parent_comm=nginx' "$TMP/out"
check "detect/dir: sensitive_write alerted (text)" \
	grep -q "kind=alert .*rule=sensitive_write_medium .*path=/etc/$U.w" "$TMP/out"
