#!/bin/sh
# Arguments by name for a function that lives in a module: kpscript reads
# the module's split BTF (/sys/kernel/btf/dummy) on top of vmlinux's.
# dummy.ko comes from the same kernel package; dummy_dev_init(struct
# net_device *dev) runs when a dummy link is added.
. /kp/guest/lib.sh
if ! insmod /kp/mod/dummy.ko numdummies=0 2>"$TMP/insmod.err"; then
	notok "module: insmod dummy.ko ($(cat "$TMP/insmod.err"))"
	exit 0
fi
check "module: dummy's BTF is at /sys/kernel/btf/dummy" [ -e /sys/kernel/btf/dummy ]
check "module: dummy_dev_init is a dummy function in kallsyms" \
	grep -q ' dummy_dev_init	\[dummy\]' /proc/kallsyms
"$PROGS/btfstruct" net_device >"$TMP/nd" 2>&1
name_off=$(awk '$1 == "name" { print $2 }' "$TMP/nd")
mtu_off=$(awk '$1 == "mtu" { print $2 }' "$TMP/nd")
echo "# net_device: name at $name_off, mtu at $mtu_off (guest BTF)"

kp dry 0 --dry-run -e 'kp.kprobe("dummy_dev_init", { "dev->name", "dev->mtu" }, function() end)
kp.kprobe("dummy:dummy_dev_init", { n = "dev->name" }, function() end)'
line=$(grep ' dummy_dev_init ' "$TMP/dry.out" | head -1)
want="mtu=+$mtu_off(%di):u32 name=+$name_off(%di):string"
check "module: dummy_dev_init's 'dev->name', 'dev->mtu' compile from the module's BTF ($line)" \
	cond '[ -n "$name_off" ] && [ "${line#* dummy_dev_init }" = "$want" ]'
check "module: MOD:SYM form too" grep -q " dummy:dummy_dev_init n=+$name_off(%di):string\$" "$TMP/dry.out"

lua mod <<'L'
kp.kprobe("dummy_dev_init", { "dev->name" }, function(e) print("DEV " .. e.probe .. " " .. e.name) end)
L
kp mod 0 -c "ip link add kpvmd0 type dummy" "$TMP/mod.lua"
check "module: the probe sees the new link's name ($(head -3 "$TMP/mod.out" | tr '\n' ' '))" \
	grep -qx 'DEV kprobe:dummy_dev_init kpvmd0' "$TMP/mod.out"
ip link del kpvmd0 2>/dev/null
rmmod dummy 2>/dev/null
