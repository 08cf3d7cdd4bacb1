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
touch "$T/stamp"
# the network checks need deb.debian.org; without it they cannot be made,
# and say so (the warm-cache check below needs no network)
if getent hosts deb.debian.org >/dev/null 2>&1; then net=1; else net=0; fi

# a clean cache: fetched, and only the kernel's files kept
if [ $net = 1 ]; then
	dir=$(KP_VM_CACHE=$T/clean sh tests/vm/kernel.sh $LABEL 2>"$T/err")
	rc=$?
	if [ $rc -eq 0 ] && [ "$dir" = "$T/clean/${pkg}_$ver" ] &&
		[ "$(ls "$dir" | tr '\n' ' ')" = "config dummy.ko package vmlinuz " ]; then
		ok "a clean cache fetches $pkg $ver: vmlinuz, config, dummy.ko, package ($(grep -o 'in [0-9]* s' "$T/err"))"
	else
		notok "a clean cache fetches $pkg $ver (exit $rc, '$dir': $(tr '\n' ' ' <"$T/err"))"
	fi
	warm=$T/clean
else
	echo "skip - vm cache: a clean cache fetches $pkg $ver: no network (deb.debian.org does not resolve)"
	warm=${KP_VM_CACHE:-/var/cache/kpscript-vm}
	dir=$warm/${pkg}_$ver
fi
if ! command -v file >/dev/null 2>&1; then
	echo "skip - vm cache: the cached vmlinuz is a Linux kernel: no file(1) to tell"
elif file -b "$dir/vmlinuz" 2>/dev/null | grep -q 'Linux kernel'; then
	ok "the cached vmlinuz is a Linux kernel ($(file -b "$dir/vmlinuz" | cut -c1-60))"
else
	notok "the cached vmlinuz is a Linux kernel ($(file -b "$dir/vmlinuz" 2>&1 | cut -c1-80))"
fi

# a warm cache with no network: the same directory, no apt
dir2=$(KP_VM_CACHE=$warm unshare -n sh tests/vm/kernel.sh $LABEL 2>"$T/err")
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
if [ $net = 0 ]; then
	echo "skip - vm cache: a version the archive lacks: no network (deb.debian.org does not resolve)"
else
awk -v l=$LABEL '$1 == l { $4 = "0.0.1-1"; print }' tests/vm/kernels | tr ' ' '\t' >"$T/pins"
out=$(KP_VM_CACHE=$T/clean KP_VM_PINS=$T/pins sh tests/vm/kernel.sh $LABEL 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "0.0.1-1.*now has linux-image-"; then
	ok "a version the archive lacks: exit $rc, naming what it has ($(echo "$out" | sed 's/.*; //' | cut -c1-120))"
else
	notok "a version the archive lacks: exit non-zero, naming what it has (exit $rc: $out)"
fi
fi

# an unknown label
out=$(KP_VM_CACHE=$T/clean sh tests/vm/kernel.sh 9.99 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "no kernel labelled '9.99'.*known: 5.10 6.1 6.12"; then
	ok "an unknown label: exit $rc ($out)"
else
	notok "an unknown label: exit non-zero, naming the known ones (exit $rc: $out)"
fi

# apt's and dpkg's own state and configuration: nothing written since the
# start (the private apt runs none of the system's hooks either)
changed=$(find /etc/apt /var/lib/apt /var/cache/apt /var/lib/dpkg /var/log/apt -newer "$T/stamp" 2>/dev/null | head -5)
if [ -z "$changed" ]; then
	ok "nothing in /etc/apt, /var/lib/apt, /var/cache/apt, /var/lib/dpkg or /var/log/apt changed"
else
	notok "nothing in /etc/apt, /var/lib/apt, /var/cache/apt, /var/lib/dpkg or /var/log/apt changed: $(echo $changed)"
fi
