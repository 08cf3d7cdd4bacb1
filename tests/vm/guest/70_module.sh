#!/bin/sh
# Arguments by name for a function that lives in a module: kpscript reads
# the module's split BTF (/sys/kernel/btf/dummy) on top of vmlinux's.
# dummy.ko comes from the same kernel package; dummy_dev_init(struct
# net_device *dev) runs when a dummy link is added. A kernel without module
# BTF (5.10: CONFIG_DEBUG_INFO_BTF_MODULES came in 5.11) refuses names in
# a module's function with one line saying so, and kp.has("module_btf") is
# false; fetch arguments still work there.
. /kp/guest/lib.sh
if ! insmod /kp/mod/dummy.ko numdummies=0 2>"$TMP/insmod.err"; then
	notok "module: insmod dummy.ko ($(cat "$TMP/insmod.err"))"
	exit 0
fi
MB=$("$KPSCRIPT" -e 'print(kp.has("module_btf"))' 2>&1)
if [ -e /sys/kernel/btf/dummy ]; then have=yes; else have=no; fi
check "module: kp.has(\"module_btf\") is $MB, and /sys/kernel/btf/dummy after insmod: $have" \
	cond '{ [ "$MB" = true ] && [ $have = yes ]; } || { [ "$MB" = false ] && [ $have = no ]; }'
check "module: dummy_dev_init is a dummy function in kallsyms" \
	grep -q ' dummy_dev_init	\[dummy\]' /proc/kallsyms
"$PROGS/btfstruct" net_device >"$TMP/nd" 2>&1
name_off=$(awk '$1 == "name" { print $2 }' "$TMP/nd")
mtu_off=$(awk '$1 == "mtu" { print $2 }' "$TMP/nd")
echo "# net_device: name at $name_off, mtu at $mtu_off (guest BTF)"

if [ "$MB" != true ]; then
	kp nomod 1 -e 'kp.kprobe("dummy_dev_init", { "dev->name" }, function() end)'
	err=$(cat "$TMP/nomod.err")
	check "module: without module BTF, names in a module's function are one line naming the script line, the function and what is missing ($err)" \
		cond '[ "$(grep -c . "$TMP/nomod.err")" -eq 1 ] && grep -q "^kpscript: -e:1: kprobe:dummy_dev_init: dummy_dev_init is in module dummy, and this kernel has no module BTF (CONFIG_DEBUG_INFO_BTF_MODULES" "$TMP/nomod.err"'
	lua fetch <<L
kp.kprobe("dummy_dev_init", { name = "+$name_off(%di):string" }, function(e) print("DEV " .. e.probe .. " " .. e.name) end)
L
	kp fetch 0 -c "ip link add kpvmd0 type dummy" "$TMP/fetch.lua"
	check "module: without module BTF, fetch arguments on a module's function work: the new link's name ($(head -3 "$TMP/fetch.out" | tr '\n' ' '))" \
		grep -qx 'DEV kprobe:dummy_dev_init kpvmd0' "$TMP/fetch.out"
	ip link del kpvmd0 2>/dev/null
	rmmod dummy 2>/dev/null
	exit 0
fi

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
