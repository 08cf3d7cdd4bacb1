#!/bin/sh
# kp.has() on this machine against the host column of the kernel table in
# tests/vm/KERNELS.md (the guests' columns are checked in tests/vm). The
# column is the CI machine's kernel (6.18, no kprobes); on another kernel
# the table has no column to compare with and the check says so.
. tests/live/lib.sh
need_live features
case "$(uname -r)" in
6.18.*) col="host 6.18 (CI)" ;;
*)
	skip "features: tests/vm/KERNELS.md has no column for this kernel ($(uname -r)); its host column is the CI machine's 6.18"
	exit 0
	;;
esac
sh tests/vm/features.sh "$KPSCRIPT" tests/vm/KERNELS.md "$col"
