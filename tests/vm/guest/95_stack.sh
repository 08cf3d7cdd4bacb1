#!/bin/sh
. /kp/guest/lib.sh
O=$PROGS/openat
D=$TMP/d
mkdir -p "$D"
echo a >"$D/kpvm-stack-a"
mkfifo "$D/kpvm-stack-fifo"
lua ex <<'L'
local ck, cb = kp.count(), kp.count()
kp.kprobe("do_sys_openat2", { fname = "+0(%si):string" }, { stack = "kernel" }, function(ev)
  if ev.comm ~= "openat" or not ev.fname:find("kpvm-stack", 1, true) then return end
  print("K", ev.pid, ev.fname, #ev.stack, ev.stack.nkernel, ev.stack.nuser)
  ck:add(ev.stack)
end)
kp.kprobe("do_sys_openat2", { fname = "+0(%si):string" }, { stack = "both" }, function(ev)
  if ev.comm ~= "openat" or not ev.fname:find("kpvm-stack", 1, true) then return end
  print("B", ev.pid, ev.fname, #ev.stack, ev.stack.nkernel, ev.stack.nuser, table.concat(kp.frames(ev.stack), " | "))
  cb:add(ev.stack)
end)
kp.kprobe("do_sys_openat2", { fname = "+0(%si):string" }, { stack = "user" }, function(ev)
  if ev.comm ~= "openat" or not ev.fname:find("kpvm-stack", 1, true) then return end
  print("U", ev.pid, ev.fname, #ev.stack, ev.stack.nkernel, ev.stack.nuser, table.concat(kp.frames(ev.stack), " | "))
end)
kp.uprobe("/lib/x86_64-linux-gnu/libc.so.6:openat", nil, { stack = true }, function(ev)
  if ev.comm ~= "openat" then return end
  print("LU", ev.pid, #ev.stack, ev.stack.nkernel, ev.stack.nuser, table.concat(kp.frames(ev.stack), " | "))
end)
kp.run()
print("FOLDED-K")
kp.print(ck, { folded = true })
print("FOLDED-B")
kp.print(cb, { folded = true })
L
kp ex 0 -c "$O cwd $D/kpvm-stack-a $D/kpvm-stack-a $D/kpvm-stack-missing $D/kpvm-stack-fifo >$TMP/prog.out & sleep 2; : >$D/kpvm-stack-fifo; wait" "$TMP/ex.lua"
sed 's/^/# OUT: /' "$TMP/ex.out"
sed 's/^/# ERR: /' "$TMP/ex.err"
sed 's/^/# PROG: /' "$TMP/prog.out"
lua up <<'L'
kp.uprobe("/kp/progs/setids:do_setresuid", nil, { stack = true }, function(ev)
  print("U", ev.pid, #ev.stack, ev.stack.nkernel, ev.stack.nuser)
  print("UF", table.concat(kp.frames(ev.stack), " | "))
end)
print("ELF", kp.elfsym("/kp/progs/setids", "do_setresuid"), kp.elfsym("/kp/progs/setids", "step"), kp.elfsym("/kp/progs/setids", "main"))
L
kp up 0 -c "/kp/progs/setids >$TMP/ids.out" "$TMP/up.lua"
sed 's/^/# OUT: /' "$TMP/up.out"
sed 's/^/# ERR: /' "$TMP/up.err"
