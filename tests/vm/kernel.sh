#!/bin/sh
# Make sure one pinned kernel of tests/vm/kernels is in the cache and print
# its directory, which holds:
#   vmlinuz    the kernel QEMU boots
#   config     its build configuration (to read, not used by the tests)
#   dummy.ko   drivers/net/dummy, uncompressed (for the module-BTF test)
#   package    "PACKAGE VERSION SUITE"
#
#   sh tests/vm/kernel.sh LABEL
#
# A cached kernel is used as it is: no network, no apt. Otherwise the
# package is fetched from deb.debian.org with apt-get through a private
# sources list and private state under $KP_VM_CACHE/apt (never /etc/apt,
# never the system's package lists), and only the files above are kept.
# On failure: one line on stderr saying why, exit status 1.
cd "$(dirname "$0")/../.." || exit 2
CACHE=${KP_VM_CACHE:-/var/cache/kpscript-vm}
PINS=${KP_VM_PINS:-tests/vm/kernels}
label=$1

die() {
	echo "$*" >&2
	exit 1
}

line=$(awk -v l="$label" '$1 !~ /^#/ && $1 == l' "$PINS")
[ -n "$line" ] || die "no kernel labelled '$label' in $PINS (known: $(awk '$1 !~ /^#/ && NF == 4 { printf "%s ", $1 }' "$PINS"))"
set -- $line
suite=$2 pkg=$3 ver=$4
kdir=$CACHE/${pkg}_$ver
if [ -s "$kdir/vmlinuz" ] && [ -s "$kdir/dummy.ko" ]; then
	echo "$kdir"
	exit 0
fi

# --- the private apt: every suite of the pins, Debian's keyring -------------
# apt reads the file APT_CONFIG names first, then the parts directory and
# main file that one names: so nothing of /etc/apt is read, and none of the
# system's hooks (APT::Update::Post-Invoke...) runs. Of the system's
# configuration only the network settings (proxies, timeouts, date checks)
# are carried over.
A=$CACHE/apt
mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/etc/apt.conf.d" \
	"$A/etc/sources.list.d" "$A/etc/preferences.d" "$A/log" ||
	die "cannot create the private apt state in $A"
: >"$A/status"
awk '$1 !~ /^#/ && NF == 4 {
	printf "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian %s main\n", $2
}' "$PINS" | sort -u >"$A/etc/sources.list"
{
	apt-config dump Acquire 2>/dev/null |
		grep -E '^Acquire::(https?|ftp|Retries|Check-Valid-Until|Check-Date|ForceIPv4|ForceIPv6)([: ]|$)'
	cat <<EOF
Dir::Etc::Parts "$A/etc/apt.conf.d";
Dir::Etc::Main "/dev/null";
Dir::Etc::sourcelist "$A/etc/sources.list";
Dir::Etc::sourceparts "$A/etc/sources.list.d";
Dir::Etc::preferences "$A/etc/preferences";
Dir::Etc::preferencesparts "$A/etc/preferences.d";
Dir::State "$A";
Dir::State::Lists "$A/lists";
Dir::State::status "$A/status";
Dir::Cache "$A/cache";
Dir::Log "$A/log";
APT::Sandbox::User "root";
EOF
} >"$A/etc/apt.conf"
apt() { APT_CONFIG="$A/etc/apt.conf" "$@"; } # apt-get/apt-cache, private
log=$(mktemp) || die "mktemp failed"
dl=
trap 'rm -rf "$log" ${dl:+"$dl"}' EXIT
trap 'exit 130' INT TERM HUP
update() {
	apt apt-get update -qq --error-on=any >"$log" 2>&1 ||
		die "apt-get update of the private sources ($A/etc/sources.list) failed: $(tail -3 "$log" | tr '\n' ' ')"
	touch "$A/updated"
	updated=1
}
download() { (cd "$dl" && apt apt-get download -q "$pkg=$ver") >"$log" 2>&1; }
# lists not refreshed for a day (or never) are refreshed first; a download
# that fails on older lists is tried once more on fresh ones
updated=0
[ -n "$(find "$A/updated" -mmin -1440 2>/dev/null)" ] || update

mkdir -p "$CACHE" || die "cannot create the cache $CACHE"
# what an interrupted fetch left (a kill -9 runs no trap)
find "$CACHE" -maxdepth 1 -name '.dl.*' -mmin +60 -exec rm -rf {} + 2>/dev/null
dl=$(mktemp -d "$CACHE/.dl.XXXXXX") || die "cannot write to the cache $CACHE"
t0=$(date +%s)
if ! download && { [ $updated = 1 ] || ! { update && download; }; }; then
	have=$(apt apt-cache show --no-all-versions linux-image-amd64/"$suite" 2>/dev/null |
		awk '$1 == "Depends:" { print $2 } $1 == "Version:" { v = $2 } END { print v }' | tr '\n' ' ')
	die "apt-get download $pkg=$ver ($suite) failed: $(grep -v '^$' "$log" | tail -2 | tr '\n' ' ')${have:+; $suite now has $have(update $PINS)}"
fi
deb=$(ls "$dl"/*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || die "apt-get download $pkg=$ver left no .deb"
# the kernel and one small module with no dependencies; bullseye and
# bookworm keep modules in ./lib/modules as .ko, trixie in ./usr/lib/modules
# as .ko.xz
mkdir "$dl/x" "$dl/k"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dl/x" --wildcards './boot/vmlinuz-*' './boot/config-*' \
	'*/modules/*/kernel/drivers/net/dummy.ko*' 2>"$log" ||
	die "cannot extract ./boot and dummy.ko from $deb: $(tail -3 "$log" | tr '\n' ' ')"
mv "$dl"/x/boot/vmlinuz-* "$dl/k/vmlinuz" || die "no ./boot/vmlinuz-* in $deb"
mv "$dl"/x/boot/config-* "$dl/k/config" || die "no ./boot/config-* in $deb"
mod=$(find "$dl/x" -name 'dummy.ko*' | head -1)
case "$mod" in
*.ko) mv "$mod" "$dl/k/dummy.ko" ;;
*.ko.xz) xz -dc "$mod" >"$dl/k/dummy.ko" || die "cannot uncompress $mod (xz)" ;;
*.ko.zst) zstd -dqc "$mod" >"$dl/k/dummy.ko" || die "cannot uncompress $mod (zstd)" ;;
*) die "no drivers/net/dummy.ko in $deb" ;;
esac
echo "$pkg $ver $suite" >"$dl/k/package"
rm -rf "$kdir"
mv "$dl/k" "$kdir" || die "cannot move the kernel into $kdir"
# cached kernels no longer pinned are of no further use
for old in "$CACHE"/linux-image-*_*; do
	[ -d "$old" ] || continue
	n=${old##*/}
	awk -v n="$n" '$1 !~ /^#/ && NF == 4 && $3 "_" $4 == n { f = 1 } END { exit !f }' "$PINS" || rm -rf "$old"
done
echo "# vm $label: fetched $pkg $ver ($suite) into $kdir in $(($(date +%s) - t0)) s" >&2
echo "$kdir"
