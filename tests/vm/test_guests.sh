#!/bin/sh
# VM tier: every guest test (tests/vm/guest/) on each of Debian's kernels
# pinned in tests/vm/kernels (5.10, 6.1, 6.12), each booted once under
# QEMU/TCG; every check is one line naming its kernel ("ok - vm 6.1: ...").
# KP_VM_KERNELS="6.12" picks kernels; KP_VM=0 skips the tier. See
# tests/vm/README.md.
exec sh "$(dirname "$0")/vm.sh" "$@"
