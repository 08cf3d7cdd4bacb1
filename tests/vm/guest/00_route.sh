#!/bin/sh
# The route itself: a hand-written kprobe in kprobe_events, and kpscript
# (LuaJIT and its libraries) runs in the guest.
. /kp/guest/lib.sh

check "route: kernel $(uname -r) has kprobe_events" [ -f "$TRACEFS/kprobe_events" ]
echo 'p:kpvm/open do_sys_openat2 dfd=%di:s32' >>"$TRACEFS/kprobe_events"
check "route: hand-written kprobe kpvm/open registered" grep -q '^p:kpvm/open do_sys_openat2' "$TRACEFS/kprobe_events"
echo 1 >"$TRACEFS/events/kpvm/open/enable"
cat /etc/env >/dev/null 2>&1
echo 0 >"$TRACEFS/events/kpvm/open/enable"
check "route: the hand-written kprobe fired (trace holds open: dfd=)" grep -q 'open: (do_sys_openat2+0x0/[0-9a-fx]*) dfd=' "$TRACEFS/trace"
echo >"$TRACEFS/trace"
echo '-:kpvm/open' >>"$TRACEFS/kprobe_events"
check "route: kpvm/open removed" not grep -q kpvm "$TRACEFS/kprobe_events"
out=$("$KPSCRIPT" -e 'print("hello from " .. jit.version)' 2>&1)
check "route: kpscript -e runs in the guest ($out)" [ "${out#hello from LuaJIT}" != "$out" ]
