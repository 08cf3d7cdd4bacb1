#!/bin/sh
# Install what kpscript needs to build and test, from Debian's packages.
# Runs apt-get update once, and only when something is missing.
set -e
# clang (Debian 12: clang 14) builds the fuzzers; libclang-rt-14-dev holds its
# libFuzzer, ASan and UBSan runtimes; llvm gives llvm-symbolizer, for stack
# traces with names in a fuzzer's crash report.
PKGS="make gcc pkg-config luajit libluajit-5.1-dev libbpf-dev libelf-dev \
libtraceevent-dev libtracefs-dev python3 procps bpftool \
lua-cjson lua-cjson-dev clang libclang-rt-14-dev llvm"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "tests/deps.sh: installing:$missing"
	if [ "$(id -u)" != 0 ]; then
		echo "tests/deps.sh: run as root to install packages" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq $missing >/dev/null
fi
