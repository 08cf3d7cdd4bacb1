#!/bin/sh
# /init of the VM tier's initramfs (busybox sh, pid 1): mount the kernel's
# file systems, run every guest test, print the end marker, power off.
# Its output goes to the serial console, which tests/vm/vm.sh reads.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# without /dev/console in the archive the kernel gave us no stdio
[ -t 1 ] || exec </dev/console >/dev/console 2>&1
mount -t tmpfs tmpfs /tmp
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
. /kp/env
export KPSCRIPT=/kp/build/kpscript PROGS=/kp/progs TRACEFS=/sys/kernel/tracing KPVM_LABEL
cd /
echo "KPVM-BEGIN $(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo) uptime=$(cut -d' ' -f1 /proc/uptime)"
for t in /kp/guest/$KPVM_PATTERN; do
	[ -f "$t" ] || continue
	name=${t##*/}
	echo "KPVM-TEST $name"
	t0=$(cut -d' ' -f1 /proc/uptime)
	# a test that dies without saying why still counts as a failure
	{
		sh "$t"
		echo $? >/tmp/test.rc
	} 2>&1 | tee /tmp/test.out
	rc=$(cat /tmp/test.rc)
	echo "# guest: $name took $(awk -v a="$t0" '{ printf "%.1f", $1 - a }' /proc/uptime) s"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' /tmp/test.out; then
		echo "not ok - $name exited with status $rc"
	fi
done
echo "# guest: all tests done at uptime $(cut -d' ' -f1 /proc/uptime) s"
echo "KPVM-END"
poweroff -f
# not reached; pid 1 must not exit
sleep 100000
