#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# upci-probe against saved sysfs trees (--root): bad input and a machine without IOMMU groups give one
# clear line and exit status 2; a good tree gives the report. TAP on stdout.
# usage: test_upci_probe.sh PROBE [WRAPPER...]   (WRAPPER: how to run a cross-built PROBE, e.g. qemu-aarch64-static)
set -u
probe=$1
shift
wrapper=("$@")
root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
n=0 failed=0
tap() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else failed=$((failed + 1));
	echo "not ok $n - $2"; printf '%s\n' "$3" | sed 's/^/# /'; fi; }
# run WANT-STATUS DESCRIPTION ARGS... ; stdout in $out, stderr in $err
run() {
	local want=$1 what=$2; shift 2
	out=$("${wrapper[@]}" "$probe" --root "$root" "$@" 2>"$root.err"); got=$?; err=$(cat "$root.err"); rm -f "$root.err"
	[ "$got" = "$want" ]; tap $? "$what (exit $want)" "got $got; stdout: $out; stderr: $err"
}
one_line() { [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [ -n "$err" ] && [ -z "$out" ]; tap $? "$1" "stderr: $err"; }
add_dev() { # add_dev BDF VENDOR DEVICE [GROUP [DRIVER]]
	local d=$root/sys/devices/pci0000:00/$1
	mkdir -p "$d" "$root/sys/bus/pci/devices"
	echo "$2" > "$d/vendor"; echo "$3" > "$d/device"; echo 0x020000 > "$d/class"; echo -1 > "$d/numa_node"
	ln -s "../../../devices/pci0000:00/$1" "$root/sys/bus/pci/devices/$1"
	if [ -n "${4:-}" ]; then
		mkdir -p "$root/sys/kernel/iommu_groups/$4/devices"
		ln -s "../../../../devices/pci0000:00/$1" "$root/sys/kernel/iommu_groups/$4/devices/$1"
		ln -s "../../../kernel/iommu_groups/$4" "$d/iommu_group"
		echo "0x00000000fee00000 0x00000000feefffff msi" > "$root/sys/kernel/iommu_groups/$4/reserved_regions"
	fi
	if [ -n "${5:-}" ]; then
		mkdir -p "$root/sys/bus/pci/drivers/$5"; ln -s "../../../bus/pci/drivers/$5" "$d/driver"
	fi
}

run 2 "no PCI devices at all" ; one_line "one line says there are no PCI devices"
add_dev 0000:00:02.0 0x8086 0x10d3
run 2 "a machine without IOMMU groups"; one_line "one line says the IOMMU is off"
printf '%s\n' "$err" | grep -q 'intel_iommu=on'; tap $? "the line says how to turn the IOMMU on" "$err"
run 2 "a malformed BDF" 00:02; one_line "one line names the malformed BDF"
printf '%s\n' "$err" | grep -q "'00:02'"; tap $? "the malformed text is quoted" "$err"
run 2 "an absent device" 0000:00:09.0; one_line "one line names the absent device"
run 2 "an unknown option" --frobnicate

rm -rf "$root/sys"; add_dev 0000:00:02.0 0x8086 0x10d3 3 vfio-pci; add_dev 0000:00:03.0 0x8086 0x10d3 4
run 0 "a tree with groups" --json
python3 -c '
import json, sys
d = json.loads(sys.argv[1])["devices"]
assert [x["bdf"] for x in d] == ["0000:00:02.0", "0000:00:03.0"], d
assert d[0]["driver"] == "vfio-pci" and d[1]["driver"] is None, d
assert d[0]["iommu_group"] == 3 and d[0]["group_devices"] == [{"name": "0000:00:02.0", "driver": "vfio-pci"}], d
assert d[1]["reserved_regions"] == [{"type": "msi", "start": "0x00000000fee00000", "end": "0x00000000feefffff"}], d
' "$out"; tap $? "the JSON report has the devices, drivers, groups and reserved regions" "$out"
run 0 "text report of one device" 00:03.0
printf '%s\n' "$out" | grep -q 'driver none'; tap $? "an unbound device shows driver none" "$out"
echo 0x8086 > "$root/sys/devices/pci0000:00/0000:00:02.0/vendor.tmp"
printf 'garbage' > "$root/sys/devices/pci0000:00/0000:00:02.0/vendor"
run 1 "a malformed sysfs attribute is a system error, not a crash" 00:02.0
printf '0x00000000fee00000 0x0000' > "$root/sys/kernel/iommu_groups/4/reserved_regions"
run 1 "a truncated reserved_regions file is reported" 00:03.0
printf '%s\n' "$err" | grep -q 'reserved_regions'; tap $? "the message names the file" "$err"

echo "1..$n"
[ "$failed" = 0 ]
