#!/bin/sh
# VM tier driver: boots each of Debian's kernels pinned in tests/vm/kernels
# (5.10, 6.1, 6.12) under QEMU (TCG), once each, with a busybox initramfs
# holding build/kpscript, scripts/*.lua, the guest tests
# (tests/vm/guest/[0-9]*.sh) and the test programs (tests/vm/progs/*.c);
# runs every guest test in that one boot and prints their
# "ok/not ok/skip - NAME" lines as "ok/not ok/skip - vm LABEL: NAME".
#
#   sh tests/vm/vm.sh [GUEST_TEST_PATTERN]
#
# GUEST_TEST_PATTERN (a shell glob over guest test file names, default
# "[0-9]*.sh") picks the guest tests to run, e.g. '20_*'.
#
# Environment:
#   KP_VM=0           print "skip - vm: disabled by KP_VM=0" and do nothing
#   KP_VM_KERNELS     labels of the kernels to boot, e.g. "6.12" or
#                     "5.10 6.1" (default: every kernel in tests/vm/kernels)
#   KP_VM_CACHE       kernel cache directory (default /var/cache/kpscript-vm)
#   KP_VM_TIMEOUT     seconds one boot may take (default 300)
#   KP_VM_KPSCRIPT    the binary to test (default build/kpscript)
#   KP_VM_SCRIPTS     the directory of shipped scripts to test (default scripts)
#   KP_VM_LOG         also copy each guest's whole console output to
#                     KP_VM_LOG.LABEL
#   KP_VM_KEEP=1      keep the work directory (initramfs tree) and say where
#
# Missing tools are installed from Debian (apt-get update at most once);
# each kernel is fetched on first use by tests/vm/kernel.sh and kept in the
# cache. Any failure to get there is a "not ok" line (CI must notice), never
# a skip; a kernel that cannot be had does not stop the others.
cd "$(dirname "$0")/../.." || exit 2

if [ "${KP_VM:-1}" = 0 ]; then
	echo "skip - vm: disabled by KP_VM=0"
	exit 0
fi

TIMEOUT=${KP_VM_TIMEOUT:-300}
KPBIN=${KP_VM_KPSCRIPT:-build/kpscript}
SCRIPTS=${KP_VM_SCRIPTS:-scripts}
PATTERN=${1:-[0-9]*.sh}
KERNELS=${KP_VM_KERNELS:-$(awk '$1 !~ /^#/ && NF == 4 { print $1 }' "${KP_VM_PINS:-tests/vm/kernels}")}
W=$(mktemp -d /tmp/kpvm.XXXXXX) || exit 2
if [ "${KP_VM_KEEP:-0}" = 1 ]; then
	trap 'echo "# vm: work directory kept: $W"' EXIT
else
	trap 'rm -rf "$W"' EXIT
fi
trap 'exit 130' INT TERM

# the prefix of every line: "vm: " before a kernel is chosen, "vm LABEL: "
# after
P=vm
fail() { # fail MSG: one "not ok" line, exit 1 (the subshell of one kernel)
	echo "not ok - $P: $*"
	exit 1
}
note() { echo "# $P: $*"; }
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
command -v xz >/dev/null 2>&1 || need="$need xz-utils"
[ -z "$need" ] || apt_install $need
for t in qemu-system-x86_64 cpio cc dpkg-deb apt-get apt-cache gzip xz timeout; do
	command -v $t >/dev/null 2>&1 || fail "setup: $t is not available"
done
[ -x /bin/busybox ] || fail "setup: /bin/busybox is not available"
[ -x "$KPBIN" ] || fail "setup: $KPBIN is not built (make build/kpscript)"

# --- initramfs, common to every kernel -------------------------------------
R=$W/root
mkdir -p "$R/bin" "$R/sbin" "$R/usr/bin" "$R/usr/sbin" "$R/proc" "$R/sys" "$R/dev" \
	"$R/tmp" "$R/root" "$R/etc" "$R/kp/build" "$R/kp/scripts" "$R/kp/guest" "$R/kp/progs" \
	"$R/kp/tests/vm" "$R/kp/mod"

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
# static programs (no libc for a uprobe): built here like the host's
for c in tests/progs/static_*.c tests/progs/gen_getppid.c; do
	[ -f "$c" ] || continue
	p=${c##*/}
	p=${p%.c}
	cc -std=c11 -D_GNU_SOURCE -O1 -g -static -Wall -Wextra -Werror -o "$W/$p" "$c" 2>"$W/cc.log" ||
		fail "initramfs: $c does not compile: $(head -5 "$W/cc.log" | tr '\n' ' ')"
	put "$W/$p" "/kp/progs/$p"
done
cp tests/fixtures/bpfgen/corpus.txt "$R/kp/guest/" || fail "initramfs: cannot copy the BPF corpus"
cp tests/vm/KERNELS.md tests/vm/features.sh "$R/kp/tests/vm/" || fail "initramfs: cannot copy tests/vm/KERNELS.md, features.sh"
cp tests/vm/init.sh "$R/init" && chmod 0755 "$R/init" || fail "initramfs: cannot copy tests/vm/init.sh"

# --- one kernel ------------------------------------------------------------
# boot LABEL: fetch the kernel, finish the initramfs with its module, boot,
# pass the guest's lines through, run the host side of the tests. Runs in a
# subshell: fail ends this kernel only.
boot() {
	label=$1
	P="vm $label"
	kdir=$(sh tests/vm/kernel.sh "$label" 2>"$W/kernel.err")
	grep '^# ' "$W/kernel.err"
	[ -n "$kdir" ] || fail "kernel: $(grep -v '^# ' "$W/kernel.err" | tr '\n' ' ')"
	rm -f "$R/kp/mod/"*
	cp "$kdir/dummy.ko" "$R/kp/mod/" || fail "initramfs: cannot copy $kdir/dummy.ko"
	{
		echo "KPVM_PATTERN='$PATTERN'"
		echo "KPVM_LABEL='$label'"
		echo "KPVM_HOST_KERNEL='$(uname -r)'"
	} >"$R/kp/env"
	(cd "$R" && find . | cpio -o -H newc -R +0:+0 --quiet | gzip -1) >"$W/initrd.gz" ||
		fail "initramfs: cpio failed"

	t0=$(now)
	note "booting $(cat "$kdir/package") (TCG), timeout ${TIMEOUT} s"
	timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -m 512M -smp 2 \
		-kernel "$kdir/vmlinuz" -initrd "$W/initrd.gz" \
		-append 'console=ttyS0 quiet loglevel=1 panic=-1' \
		-nographic -no-reboot -nodefaults -serial stdio -monitor none \
		</dev/null >"$W/console.raw" 2>"$W/qemu.err"
	qrc=$?
	secs=$(($(now) - t0))
	tr -d '\r' <"$W/console.raw" >"$W/console"
	[ -n "${KP_VM_LOG:-}" ] && cp "$W/console" "$KP_VM_LOG.$label"

	# the guest's lines, with "vm LABEL: " in front of each test name
	# (bytes that are not printable ASCII become '?': run.sh greps this)
	sed -n -e "s/^\(ok\|not ok\|skip\) - /\1 - $P: /p" -e '/^# /p' "$W/console" |
		LC_ALL=C tr -c '[:print:]\t\n' '?'
	if ! grep -q '^KPVM-END$' "$W/console"; then
		why="exit status $qrc"
		[ $qrc = 124 ] && why="timed out after $TIMEOUT s"
		echo "not ok - $P: the guest never finished its tests ($why); last console lines:"
		# printable text only: the firmware's terminal escapes would garble it
		{
			tail -25 "$W/console" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | tr -cd '[:print:]\t\n'
			echo
		} | sed '/^$/d; s/^/#   /'
		[ -s "$W/qemu.err" ] && tail -5 "$W/qemu.err" | sed 's/^/#   qemu: /'
		exit 1
	fi
	note "$(sed -n 's/.*KPVM-BEGIN //p' "$W/console"): boot, $(grep -c '^ok - \|^not ok - ' "$W/console") checks and poweroff took $secs s"

	# files a guest test sent back on the console, base64 between
	# "KPVM-FILE-BEGIN NAME" and "KPVM-FILE-END", land in
	# $KP_VM_OUT/LABEL (the host side of a test reads them after the boot)
	OUT=${KP_VM_OUT:-build/vm-out}/$label
	rm -rf "$OUT" && mkdir -p "$OUT"
	awk -v dir="$OUT" '
		/^KPVM-FILE-BEGIN / { name = $2; file = dir "/" name ".b64"; next }
		/^KPVM-FILE-END$/ { close(file); name = ""; next }
		name != "" { print > file }' "$W/console"
	for b in "$OUT"/*.b64; do
		[ -f "$b" ] || continue
		base64 -d <"$b" >"${b%.b64}" 2>/dev/null || echo "not ok - $P: ${b##*/} from the guest does not decode"
		rm -f "$b"
	done
	for h in tests/vm/host/[0-9]*.sh; do
		[ -f "$h" ] || continue
		case "${h##*/}" in $PATTERN) ;; *) continue ;; esac
		KP_VM_OUT=$OUT KP_VM_LABEL=$label sh "$h" | sed -e "s/^\(ok\|not ok\|skip\) - /\1 - $P: /"
	done
	! grep -q '^not ok - ' "$W/console"
}

rc=0
for k in $KERNELS; do
	(boot "$k") || rc=1
done
exit $rc
