#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Guest side of the upci-probe VM test (busybox sh, runs inside test/vm/vmrun): runs the probe the ways the
# test needs and saves what it printed, with the kernel's own view to compare against, into OUTDIR (on the
# shared tree). The host checks it all (test/vm/check_probe.py): the aarch64 guest has no python.
# usage: probe.sh PROBE OUTDIR
probe=$1 out=$2
mkdir -p "$out" || exit 1
# capture NAME ARGS... : the probe's stdout, stderr and exit status as NAME.out, NAME.err, NAME.rc
capture() {
	name=$1; shift
	"$probe" "$@" > "$out/$name.out" 2> "$out/$name.err"
	echo $? > "$out/$name.rc"
}
capture all --json
capture one --json 00:02.0
capture text 0000:00:03.0
capture noprog --json --no-msix-program 00:02.0
capture bad-bdf 00:02.x
capture absent 0000:00:1e.0
{
	echo "arch=$UPCI_VM_ARCH"
	echo "kernel=$UPCI_VM_KERNEL"
	echo "intremap=$UPCI_VM_INTREMAP"
} > "$out/env"
for dev in /sys/bus/pci/devices/0000:00:02.0 /sys/bus/pci/devices/0000:00:03.0; do
	cat "$dev/iommu_group/reserved_regions" > "$out/resv-${dev##*/}" 2>/dev/null
done
echo done > "$out/complete"
