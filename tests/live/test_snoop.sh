# scripts/opensnoop.lua and scripts/tcpconnect.lua on this kernel (no
# kprobes): their lines for a known workload, exactly; -o json.
. tests/live/lib.sh
need_live snoop
S=$PROGS/static_exec
need_prog snoop $S
M="kpo$$"

kp -c "$S open $M; cat /etc/hostname >/dev/null; cat /nonexistent-$M 2>/dev/null" opensnoop.lua
exits "opensnoop: exit status 0" 0
check "opensnoop: header" grep -q '^PID *COMM *FD ERR FLAGS *PATH$' "$TMP/out"
want="-1   2 0        \$'/nonexistent/$M/\\xff\\xfe\\'\"q'"
check "opensnoop: a static program's failed open, its path quoted" grep -qF -- "static_exec        $want" "$TMP/out"
line=$(grep ' cat .* /etc/hostname$' "$TMP/out")
fd=$(echo "$line" | awk '{ print $3 }') err=$(echo "$line" | awk '{ print $4 }')
check "opensnoop: cat's open of /etc/hostname: an fd, no error ($line)" \
	cond '[ -n "$line" ] && [ "$fd" -ge 0 ] && [ "$err" = 0 ]'
check "opensnoop: cat's failed open: -1 and ENOENT (2)" grep -q " cat  *-1   2 [0-9a-f]*  *'*/nonexistent-$M'*\$" "$TMP/out"
kp -o json -c "cat /etc/hostname >/dev/null" opensnoop.lua -n cat -x
exits "opensnoop -o json -n cat -x: exit status 0" 0
check "opensnoop -x: no successful open" not grep -q '"err":0' "$TMP/out"
check "opensnoop -o json: records only, no header" not grep -qv '^{' "$TMP/out"
kp -o json -c "cat /etc/hostname >/dev/null" opensnoop.lua -n cat
check "opensnoop -o json: cat's open of /etc/hostname as a record" \
	python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if any(r["fields"]["path"] == "/etc/hostname" and r["fields"]["err"] == 0 and r["fields"]["fd"] >= 0 for r in recs) else 1)' "$TMP/out"

# tcpconnect: a listener on 127.0.0.1 and on ::1, a refused port, a UDP
# connect (not TCP: not shown), a non-blocking connect
cat >"$TMP/srv.py" <<'PY'
import socket, sys, time
a = socket.socket(); a.bind(("127.0.0.1", 0)); a.listen()
b = socket.socket(socket.AF_INET6); b.bind(("::1", 0)); b.listen()
print(a.getsockname()[1], b.getsockname()[1], flush=True)
time.sleep(30)
PY
cat >"$TMP/cli.py" <<'PY'
import socket, sys, time
p4, p6 = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", p4)); print("L4", s.getsockname()[1]); s.close()
s = socket.create_connection(("::1", p6)); print("L6", s.getsockname()[1]); s.close()
try: socket.create_connection(("127.0.0.1", 1))
except OSError: pass
n = socket.socket(); n.setblocking(False)
try: n.connect(("127.0.0.1", p4))
except BlockingIOError: pass
time.sleep(0.2); print("LN", n.getsockname()[1])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.connect(("127.0.0.1", 53))
PY
python3 "$TMP/srv.py" >"$TMP/ports" &
srv=$!
wait_file "$TMP/ports"
set -- $(cat "$TMP/ports")
P4=$1 P6=$2
kp -c "python3 $TMP/cli.py $P4 $P6 >$TMP/cli.out" tcpconnect.lua
kill $srv 2>/dev/null
exits "tcpconnect: exit status 0" 0
L4=$(val L4 "$TMP/cli.out") L6=$(val L6 "$TMP/cli.out") LN=$(val LN "$TMP/cli.out")
check "tcpconnect: header" grep -q '^TIME *PID *COMM *SADDR *SPORT *DADDR *DPORT *RESULT$' "$TMP/out"
row() { grep -qE " python3 +$1 +$2 +$3 +$4 +$5\$" "$TMP/out"; }
check "tcpconnect: IPv4 connect, source port as the client saw it ($L4)" row 127.0.0.1 "$L4" 127.0.0.1 "$P4" 0
check "tcpconnect: IPv6 connect to ::1 ($L6)" row ::1 "$L6" ::1 "$P6" 0
check "tcpconnect: a refused connect" row 127.0.0.1 '[0-9?]+' 127.0.0.1 1 ECONNREFUSED
check "tcpconnect: a non-blocking connect followed to its end ($LN)" row 127.0.0.1 "$LN" 127.0.0.1 "$P4" 0
check "tcpconnect: the UDP connect is not shown" not grep -q ' 53 ' "$TMP/out"
check "tcpconnect: 4 connects, no other line ($(grep -c python3 "$TMP/out"))" [ "$(grep -c python3 "$TMP/out")" -eq 4 ]
