#!/bin/sh
# VM tier driver: boots Debian's own kernel (linux-image-amd64) under QEMU
# (TCG) with a busybox initramfs holding build/kpscript, scripts/*.lua, the
# guest tests (tests/vm/guest/[0-9]*.sh) and the test programs
# (tests/vm/progs/*.c), runs every guest test in ONE boot and prints their
# "ok/not ok/skip - NAME" lines as "ok/not ok/skip - vm: NAME".
#
#   sh tests/vm/vm.sh [GUEST_TEST_PATTERN]
#
# GUEST_TEST_PATTERN (a shell glob over guest test file names, default
# "[0-9]*.sh") picks the guest tests to run, e.g. '20_*'.
#
# Environment:
#   KP_VM=0           print "skip - vm: disabled by KP_VM=0" and do nothing
#   KP_VM_CACHE       kernel cache directory (default /var/cache/kpscript-vm)
#   KP_VM_TIMEOUT     seconds the whole boot may take (default 300)
#   KP_VM_KPSCRIPT    the binary to test (default build/kpscript)
#   KP_VM_SCRIPTS     the directory of shipped scripts to test (default scripts)
#   KP_VM_LOG         also copy the guest's whole console output there
#   KP_VM_KEEP=1      keep the work directory (initramfs tree) and say where
#
# Missing tools are installed from Debian (apt-get update at most once);
# the kernel package is downloaded on first use and its vmlinuz kept in the
# cache, keyed by package name and version. Any failure to get there is a
# "not ok" line (CI must notice), never a skip.
cd "$(dirname "$0")/../.." || exit 2

if [ "${KP_VM:-1}" = 0 ]; then
	echo "skip - vm: disabled by KP_VM=0"
	exit 0
fi

CACHE=${KP_VM_CACHE:-/var/cache/kpscript-vm}
TIMEOUT=${KP_VM_TIMEOUT:-300}
KPBIN=${KP_VM_KPSCRIPT:-build/kpscript}
SCRIPTS=${KP_VM_SCRIPTS:-scripts}
PATTERN=${1:-[0-9]*.sh}
W=$(mktemp -d /tmp/kpvm.XXXXXX) || exit 2
if [ "${KP_VM_KEEP:-0}" = 1 ]; then
	trap 'echo "# vm: work directory kept: $W"' EXIT
else
	trap 'rm -rf "$W"' EXIT
fi
trap 'exit 130' INT TERM

fail() { # fail MSG: one "not ok" line, exit 1
	echo "not ok - vm: $*"
	exit 1
}
note() { echo "# vm: $*"; }
now() { date +%s; }

# --- tools -----------------------------------------------------------------
updated=0
apt_install() { # apt_install PKG...: install from Debian (update once)
	if [ "$(id -u)" != 0 ]; then
		fail "setup: $* missing and not root to install them"
	fi
	if [ $updated = 0 ]; then
		apt-get update -qq >"$W/apt.log" 2>&1 || fail "setup: apt-get update failed: $(tail -3 "$W/apt.log" | tr '\n' ' ')"
		updated=1
	fi
	note "installing $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
		>>"$W/apt.log" 2>&1 || fail "setup: apt-get install $* failed: $(tail -3 "$W/apt.log" | tr '\n' ' ')"
}

need=
command -v qemu-system-x86_64 >/dev/null 2>&1 || need="$need qemu-system-x86"
[ -x /bin/busybox ] || need="$need busybox-static"
command -v cpio >/dev/null 2>&1 || need="$need cpio"
command -v cc >/dev/null 2>&1 || need="$need gcc libc6-dev"
[ -z "$need" ] || apt_install $need
for t in qemu-system-x86_64 cpio cc dpkg-deb apt-get apt-cache gzip timeout; do
	command -v $t >/dev/null 2>&1 || fail "setup: $t is not available"
done
[ -x /bin/busybox ] || fail "setup: /bin/busybox is not available"
[ -x "$KPBIN" ] || fail "setup: $KPBIN is not built (make build/kpscript)"

# --- kernel ----------------------------------------------------------------
# The package linux-image-amd64 depends on (e.g. linux-image-6.1.0-56-amd64)
# and its candidate version name the cache entry $CACHE/PKG_VERSION/vmlinuz.
kpkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'; }
pkg=$(kpkg)
if [ -z "$pkg" ] && [ $updated = 0 ] && [ "$(id -u)" = 0 ]; then
	apt-get update -qq >"$W/apt.log" 2>&1
	updated=1
	pkg=$(kpkg)
fi
ver=
[ -n "$pkg" ] && ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '$1 == "Version:" { print $2; exit }')
if [ -z "$pkg" ] || [ -z "$ver" ]; then
	# offline: a cached kernel still does, but say so
	kdir=$(ls -d "$CACHE"/linux-image-*_* 2>/dev/null | tail -1)
	[ -n "$kdir" ] && [ -f "$kdir/vmlinuz" ] ||
		fail "kernel: apt-cache cannot name Debian's kernel package (linux-image-amd64) and nothing is cached in $CACHE"
	note "apt-cache cannot name the kernel package; using the cached ${kdir##*/}"
else
	kdir=$CACHE/${pkg}_$ver
fi
if [ ! -s "$kdir/vmlinuz" ] || [ ! -s "$kdir/dummy.ko" ]; then
	t0=$(now)
	mkdir -p "$CACHE" || fail "kernel: cannot create the cache $CACHE"
	dl=$(mktemp -d "$CACHE/.dl.XXXXXX") || fail "kernel: cannot write to the cache $CACHE"
	(cd "$dl" && apt-get download -o APT::Sandbox::User=root "$pkg=$ver") >"$W/dl.log" 2>&1 ||
		{ rm -rf "$dl"; fail "kernel: apt-get download $pkg=$ver failed: $(tail -3 "$W/dl.log" | tr '\n' ' ')"; }
	deb=$(ls "$dl"/*.deb 2>/dev/null | head -1)
	mkdir "$dl/x"
	# the kernel, and one small module (dummy, no dependencies) for the
	# module-BTF test
	if [ -z "$deb" ] || ! dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dl/x" --wildcards ./boot \
		'./lib/modules/*/kernel/drivers/net/dummy.ko' 2>>"$W/dl.log"; then
		rm -rf "$dl"
		fail "kernel: cannot extract ./boot from $pkg's package: $(tail -3 "$W/dl.log" | tr '\n' ' ')"
	fi
	mkdir -p "$dl/k"
	mv "$dl"/x/boot/vmlinuz-* "$dl/k/vmlinuz" 2>/dev/null || { rm -rf "$dl"; fail "kernel: no ./boot/vmlinuz-* in $deb"; }
	mv "$dl"/x/boot/config-* "$dl/k/config" 2>/dev/null
	mv "$dl"/x/lib/modules/*/kernel/drivers/net/dummy.ko "$dl/k/dummy.ko" 2>/dev/null
	rm -rf "$kdir"
	mv "$dl/k" "$kdir" || { rm -rf "$dl"; fail "kernel: cannot move the kernel into $kdir"; }
	rm -rf "$dl"
	# older kernels are of no further use
	for old in "$CACHE"/linux-image-*_*; do
		[ "$old" = "$kdir" ] || rm -rf "$old"
	done
	note "downloaded $pkg $ver into $kdir in $(($(now) - t0)) s"
fi
KERNEL=$kdir/vmlinuz

# --- initramfs -------------------------------------------------------------
R=$W/root
mkdir -p "$R/bin" "$R/sbin" "$R/usr/bin" "$R/usr/sbin" "$R/proc" "$R/sys" "$R/dev" \
	"$R/tmp" "$R/root" "$R/etc" "$R/kp/build" "$R/kp/scripts" "$R/kp/guest" "$R/kp/progs" "$R/kp/tests/vm"

# put SRC DEST: copy a program to DEST in the tree with every library ldd
# names at the same absolute path (the dynamic loader too)
put() {
	mkdir -p "$R${2%/*}"
	cp -L "$1" "$R$2" || fail "initramfs: cannot copy $1"
	ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
		while read -r lib; do
			[ -e "$R$lib" ] && continue
			mkdir -p "$R${lib%/*}"
			cp -L "$lib" "$R$lib" || exit 1
		done || fail "initramfs: cannot copy the libraries of $1"
}

[ "$(id -u)" = 0 ] && mknod "$R/dev/console" c 5 1
put /bin/busybox /bin/busybox
/bin/busybox --list-full | while read -r a; do
	[ -e "$R/$a" ] || [ -L "$R/$a" ] || ln -s /bin/busybox "$R/$a"
done
put "$KPBIN" /kp/build/kpscript
cp "$SCRIPTS"/*.lua "$R/kp/scripts/" || fail "initramfs: cannot copy $SCRIPTS/*.lua"
cp tests/vm/guest/*.sh tests/vm/guest/*.lua "$R/kp/guest/" || fail "initramfs: cannot copy tests/vm/guest/*.sh, *.lua"
for c in tests/vm/progs/*.c; do
	[ -f "$c" ] || continue
	p=${c##*/}
	p=${p%.c}
	cc -std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror \
		-o "$W/$p" "$c" 2>"$W/cc.log" || fail "initramfs: $c does not compile: $(head -5 "$W/cc.log" | tr '\n' ' ')"
	put "$W/$p" "/kp/progs/$p"
done
mkdir -p "$R/kp/mod" && cp "$kdir/dummy.ko" "$R/kp/mod/" || fail "initramfs: cannot copy $kdir/dummy.ko"
cp tests/vm/init.sh "$R/init" && chmod 0755 "$R/init" || fail "initramfs: cannot copy tests/vm/init.sh"
{
	echo "KPVM_PATTERN='$PATTERN'"
	echo "KPVM_HOST_KERNEL='$(uname -r)'"
} >"$R/kp/env"
(cd "$R" && find . | cpio -o -H newc -R +0:+0 --quiet | gzip -1) >"$W/initrd.gz" ||
	fail "initramfs: cpio failed"

# --- boot ------------------------------------------------------------------
t0=$(now)
note "booting ${kdir##*/} (TCG), timeout ${TIMEOUT} s"
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -m 512M -smp 2 \
	-kernel "$KERNEL" -initrd "$W/initrd.gz" \
	-append 'console=ttyS0 quiet loglevel=1 panic=-1' \
	-nographic -no-reboot -nodefaults -serial stdio -monitor none \
	</dev/null >"$W/console.raw" 2>"$W/qemu.err"
qrc=$?
secs=$(($(now) - t0))
tr -d '\r' <"$W/console.raw" >"$W/console"
[ -n "${KP_VM_LOG:-}" ] && cp "$W/console" "$KP_VM_LOG"

# the guest's lines, with "vm: " in front of each test name
# (bytes that are not printable ASCII become '?': run.sh greps this)
sed -n -e 's/^\(ok\|not ok\|skip\) - /\1 - vm: /p' -e '/^# /p' "$W/console" | LC_ALL=C tr -c '[:print:]\t\n' '?'
if ! grep -q '^KPVM-END$' "$W/console"; then
	why="exit status $qrc"
	[ $qrc = 124 ] && why="timed out after $TIMEOUT s"
	echo "not ok - vm: the guest never finished its tests ($why); last console lines:"
	# printable text only: the firmware's terminal escapes would garble it
	{
		tail -25 "$W/console" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | tr -cd '[:print:]\t\n'
		echo
	} | sed '/^$/d; s/^/#   /'
	[ -s "$W/qemu.err" ] && tail -5 "$W/qemu.err" | sed 's/^/#   qemu: /' 
	exit 1
fi
note "boot, tests and poweroff took $secs s ($(grep -c '^KPVM-TEST ' "$W/console") guest test files)"

# files a guest test sent back on the console, base64 between
# "KPVM-FILE-BEGIN NAME" and "KPVM-FILE-END", land in $KP_VM_OUT (the host
# side of a test reads them after the boot)
OUT=${KP_VM_OUT:-build/vm-out}
rm -rf "$OUT" && mkdir -p "$OUT"
awk -v dir="$OUT" '
	/^KPVM-FILE-BEGIN / { name = $2; file = dir "/" name ".b64"; next }
	/^KPVM-FILE-END$/ { close(file); name = ""; next }
	name != "" { print > file }' "$W/console"
for b in "$OUT"/*.b64; do
	[ -f "$b" ] || continue
	base64 -d <"$b" >"${b%.b64}" 2>/dev/null || echo "not ok - vm: ${b##*/} from the guest does not decode"
	rm -f "$b"
done
for h in tests/vm/host/[0-9]*.sh; do
	[ -f "$h" ] || continue
	case "${h##*/}" in $PATTERN) ;; *) continue ;; esac
	KP_VM_OUT=$OUT sh "$h" | sed -e 's/^\(ok\|not ok\|skip\) - /\1 - vm: /'
done
! grep -q '^not ok - ' "$W/console"
