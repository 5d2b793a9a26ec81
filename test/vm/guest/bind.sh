#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Guest side of the upci-bind VM test (test/vm/vmrun --keep-kernel-driver --one-group: both NICs start on
# e1000e, 01:01.0 and 01:02.0 behind a PCIe-to-PCI bridge, one IOMMU group). TAP on stdout; --status saved in OUT.
# usage: bind.sh UPCI_BIND UPCI_PROBE VM_BIND OUT
bind=$1 probe=$2 helper=$3 out=$4
. "$(dirname "$0")/tap.sh"
a=0000:01:01.0 b=0000:01:02.0 user=1000 other=2000
state=/run/upci/bind.json
echo "# kernel $UPCI_VM_KERNEL ($(uname -r))"
drv() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null; }
netdev() { ls "/sys/bus/pci/devices/$1/net" 2>/dev/null; }
group=$(basename "$(readlink /sys/bus/pci/devices/$a/iommu_group)")
# show CMD...: run it, output in $o (stdout) and $e (stderr), status in $rc, all echoed as comments
show() { o=$("$@" 2>/tmp/bind.err); rc=$?; e=$(cat /tmp/bind.err); printf '%s\n%s\n' "$o" "$e" | sed '/^$/d; s/^/# /'; }

[ "$(drv $a)" = e1000e ] && [ "$(drv $b)" = e1000e ] && [ -n "$(netdev $a)" ] &&
	[ "$(basename "$(readlink /sys/bus/pci/devices/$b/iommu_group)")" = "$group" ]
tap_ok $? "both NICs start on e1000e with a netdev, in one IOMMU group ($group)"

show "$bind" "$a"
[ "$rc" = 2 ] && [ "$(echo "$e" | wc -l)" = 1 ] && echo "$e" | grep -q "$b (driver e1000e)" &&
	echo "$e" | grep -q -- --group && [ "$(drv $a)" = e1000e ] && [ ! -e $state ]
tap_ok $? "binding $a alone is refused (exit 2, one line naming $b on e1000e), nothing changed"

show "$bind" --dry-run --group "$a"
[ "$rc" = 0 ] && [ "$(echo "$o" | grep -c 'would move e1000e -> vfio-pci')" = 2 ] && [ "$(drv $a)" = e1000e ] &&
	[ "$(drv $b)" = e1000e ]
tap_ok $? "--dry-run --group says both would move and moves nothing"

show "$bind" --group --uid $user --gid $user "$a"
[ "$rc" = 0 ] && [ "$(drv $a)" = vfio-pci ] && [ "$(drv $b)" = vfio-pci ] && [ -c /dev/vfio/$group ] &&
	[ "$(stat -c %u:%g:%a /dev/vfio/$group)" = "$user:$user:660" ]
tap_ok $? "--group --uid $user binds both to vfio-pci and gives /dev/vfio/$group to $user:$user 0660"
echo "$o" | grep -q "uid $user needs RLIMIT_MEMLOCK >= [0-9]* KiB for the 2 port(s)"
tap_ok $? "it says how much RLIMIT_MEMLOCK uid $user needs"

show "$bind" --status
echo "$o" > "$out/status.txt"
row=$(echo "$o" | grep "^$a ")
echo "$row" | grep -q " vfio-pci *e1000e *$group " && echo "$row" | grep -q "/dev/vfio/$group ($user:$user 0660)" &&
	echo "$o" | grep -q "^$b .* vfio-pci *e1000e *$group "
tap_ok $? "--status: vfio-pci, was e1000e, group $group, /dev/vfio/$group owned by $user"
if [ "$UPCI_VM_KERNEL" = iommufd ]; then
	cdev=$(ls /sys/bus/pci/devices/$a/vfio-dev)
	echo "$row" | grep -q "/dev/vfio/devices/$cdev ($user:$user 0660)" &&
		[ "$(stat -c %u:%a /dev/vfio/devices/$cdev)" = "$user:660" ]
	tap_ok $? "--status shows the cdev /dev/vfio/devices/$cdev, owned by $user"
fi
show "$bind" --status --json $a $b
echo "$o" > "$out/status.json"
python3 - "$out/status.json" "$group" "$user" "$UPCI_VM_KERNEL" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["devices"]
g, u, k = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
assert [x["bdf"] for x in d] == ["0000:01:01.0", "0000:01:02.0"], d
for x in d:
    assert x["driver"] == "vfio-pci" and x["original_driver"] == "e1000e" and x["iommu_group"] == g, x
    assert x["group_node"]["path"] == "/dev/vfio/%d" % g and x["group_node"]["uid"] == u, x
    assert len(x["group_members"]) == 3, x  # the bridge and the two NICs
    assert (x["cdev_node"] is not None) == (k == "iommufd"), x
PY
tap_ok $? "--status --json: the same, parsed"

show "$helper" as $user $user 0 -- "$probe" --no-msix-program "$a"
[ "$rc" = 0 ] && echo "$o" | grep -q "VFIO backend"
tap_ok $? "upci-probe opens $a through VFIO as uid $user"
show "$helper" as $other $other 0 -- "$probe" --no-msix-program "$a"
[ "$rc" != 0 ] && echo "$o$e" | grep -q "Permission denied"
tap_ok $? "... and not as uid $other (the node is not its)"

show "$bind" --json --dry-run "$a"
kib=$(echo "$o" | python3 -c 'import json,sys; print(json.load(sys.stdin)["memlock"][0]["kib_base_pages"])')
show "$helper" as $user $user "$kib" -- "$helper" port "$a"
[ "$rc" = 0 ]
tap_ok $? "a default port opens as uid $user with RLIMIT_MEMLOCK of the stated $kib KiB (no hugepages here)"
show "$helper" as $user $user "$((kib - 4))" -- "$helper" port "$a"
[ "$rc" != 0 ] && echo "$e" | grep -q "RLIMIT_MEMLOCK of $((kib - 4)) KiB"
tap_ok $? "... and not with 4 KiB less (the library's RLIMIT_MEMLOCK line)"

if [ "$UPCI_VM_KERNEL" = iommufd ]; then
	# What the note and doc/bind.md say to do for iommufd: give the user /dev/iommu too.
	mode=$(stat -c %g:%a /dev/iommu)
	chgrp $user /dev/iommu && chmod 0660 /dev/iommu
	show "$helper" as $user $user 0 -- "$probe" --backend iommufd --no-msix-program "$a"
	[ "$rc" = 0 ] && echo "$o" | grep -q "VFIO backend iommufd"
	tap_ok $? "with /dev/iommu given to $user too, upci-probe opens $a through its cdev (iommufd) as uid $user"
	chgrp "${mode%%:*}" /dev/iommu && chmod "${mode#*:}" /dev/iommu
fi

show "$bind" --restore
sleep 1 # the netdev is registered by e1000e's probe
[ "$rc" = 0 ] && [ "$(drv $a)" = e1000e ] && [ "$(drv $b)" = e1000e ] && [ -n "$(netdev $a)" ] &&
	[ -n "$(netdev $b)" ] && [ ! -e /dev/vfio/$group ] && echo "$o" | grep -q "vfio-pci -> e1000e (state file)"
tap_ok $? "--restore (the state file's devices) puts both back on e1000e, the netdevs reappear ($(netdev $a) $(netdev $b))"
grep -q '"devices":\[ *\]' "$state" 2>/dev/null || python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["devices"] == []' "$state"
tap_ok $? "the state file holds no device any more"

show "$bind" --group "$b"
rm -f "$state"
show "$bind" --restore --group "$a"
sleep 1
[ "$rc" = 0 ] && [ "$(drv $a)" = e1000e ] && [ "$(drv $b)" = e1000e ] && [ -n "$(netdev $b)" ]
tap_ok $? "without the state file, --restore --group re-derives e1000e for both"

show "$bind" 00:02
[ "$rc" = 2 ] && [ "$(echo "$e" | wc -l)" = 1 ]
tap_ok $? "a malformed BDF: exit 2, one line"
show "$bind" 0000:00:1e.7
[ "$rc" = 2 ] && [ "$(echo "$e" | wc -l)" = 1 ] && echo "$e" | grep -q "no such PCI device"
tap_ok $? "an absent device: exit 2, one line"
tap_end
