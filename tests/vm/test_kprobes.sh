#!/bin/sh
# VM tier: kprobes, kretprobes, kp.probe, kp.has, cleanup, exec_watch.lua
# and cred_watch.lua on Debian's own kernel (linux-image-amd64) booted once
# under QEMU/TCG; every guest check is one line. See tests/vm/README.md.
# KP_VM=0 skips it.
exec sh "$(dirname "$0")/vm.sh" "$@"
