#!/bin/sh
# The kernel cache of the VM tier (tests/vm/kernel.sh): a clean cache
# fetches a pinned kernel through the private apt state; a warm cache
# works with no network at all (a new network namespace has none); a
# pin Debian no longer has, or no network and nothing cached, is a
# failure that says why. /etc/apt and the system's package lists are
# never touched. KP_VM=0 skips it.
cd "$(dirname "$0")/../.." || exit 2
if [ "${KP_VM:-1}" = 0 ]; then
	echo "skip - vm cache: disabled by KP_VM=0"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "skip - vm cache: needs root (the cache and a network namespace)"
	exit 0
fi
T=$(mktemp -d /tmp/kpvmcache.XXXXXX) || exit 2
trap 'rm -rf "$T"' EXIT
ok() { echo "ok - vm cache: $*"; }
notok() { echo "not ok - vm cache: $*"; }
LABEL=5.10 # the smallest package
line=$(awk -v l=$LABEL '$1 == l' tests/vm/kernels)
set -- $line
pkg=$3 ver=$4
sys_before=$(ls -l --time-style=+%s /etc/apt /var/lib/apt/lists 2>/dev/null | md5sum)

# a clean cache: fetched, and only the kernel's files kept
dir=$(KP_VM_CACHE=$T/clean sh tests/vm/kernel.sh $LABEL 2>"$T/err")
rc=$?
if [ $rc -eq 0 ] && [ "$dir" = "$T/clean/${pkg}_$ver" ] &&
	[ "$(ls "$dir" | tr '\n' ' ')" = "config dummy.ko package vmlinuz " ]; then
	ok "a clean cache fetches $pkg $ver: vmlinuz, config, dummy.ko, package ($(grep -o 'in [0-9]* s' "$T/err"))"
else
	notok "a clean cache fetches $pkg $ver (exit $rc, '$dir': $(tr '\n' ' ' <"$T/err"))"
fi
if file -b "$dir/vmlinuz" 2>/dev/null | grep -q 'Linux kernel'; then
	ok "the cached vmlinuz is a Linux kernel ($(file -b "$dir/vmlinuz" | cut -c1-60))"
elif command -v file >/dev/null 2>&1; then
	notok "the cached vmlinuz is a Linux kernel ($(file -b "$dir/vmlinuz" 2>&1 | cut -c1-80))"
fi

# a warm cache with no network: the same directory, no apt
dir2=$(KP_VM_CACHE=$T/clean unshare -n sh tests/vm/kernel.sh $LABEL 2>"$T/err")
rc=$?
if [ $rc -eq 0 ] && [ "$dir2" = "$dir" ]; then
	ok "a warm cache works offline (unshare -n): $dir2"
else
	notok "a warm cache works offline (exit $rc, '$dir2': $(tr '\n' ' ' <"$T/err"))"
fi

# no network and nothing cached: a failure naming apt's error
out=$(KP_VM_CACHE=$T/empty unshare -n sh tests/vm/kernel.sh $LABEL 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q 'apt-get .* failed'; then
	ok "offline with an empty cache: exit $rc and why ($(echo "$out" | cut -c1-120))"
else
	notok "offline with an empty cache: exit non-zero and why (exit $rc: $out)"
fi

# a pin the archive does not have: a failure naming what the suite has now
awk -v l=$LABEL '$1 == l { $4 = "0.0.1-1"; print }' tests/vm/kernels | tr ' ' '\t' >"$T/pins"
out=$(KP_VM_CACHE=$T/clean KP_VM_PINS=$T/pins sh tests/vm/kernel.sh $LABEL 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "0.0.1-1.*now has linux-image-"; then
	ok "a version the archive lacks: exit $rc, naming what it has ($(echo "$out" | sed 's/.*; //' | cut -c1-120))"
else
	notok "a version the archive lacks: exit non-zero, naming what it has (exit $rc: $out)"
fi

# an unknown label
out=$(KP_VM_CACHE=$T/clean sh tests/vm/kernel.sh 9.99 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "no kernel labelled '9.99'.*known: 5.10 6.1 6.12"; then
	ok "an unknown label: exit $rc ($out)"
else
	notok "an unknown label: exit non-zero, naming the known ones (exit $rc: $out)"
fi

sys_after=$(ls -l --time-style=+%s /etc/apt /var/lib/apt/lists 2>/dev/null | md5sum)
if [ "$sys_before" = "$sys_after" ]; then
	ok "/etc/apt and /var/lib/apt/lists untouched"
else
	notok "/etc/apt and /var/lib/apt/lists untouched (their listing changed)"
fi
