#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Guest side of the bridge-topology VM test (vmrun --bridge [--caching-mode]). TAP on stdout.
# usage: bridge.sh VM_PORT_BINARY EXPECT
#   Both NICs sit behind one pcie-pci-bridge: one IOMMU group, DMA under the alias requester ID 01:00.0. Two
#   upci runs one after the other (the second opens after the first one's DMA domain) send frames both ways.
#   EXPECT pass: every frame arrives and nothing is reported. EXPECT pass-or-stall: that, or the frames are lost
#   and the dead-DMA watchdog says so (one line per stalled queue, dma_stalls > 0): never a silent loss.
bin=$1 expect=$2
. "$(dirname "$0")/tap.sh"
echo "# kernel $UPCI_VM_KERNEL ($(uname -r)), caching-mode $UPCI_VM_CACHING_MODE, expect $expect"
nics=
for dev in /sys/bus/pci/devices/*; do
	[ "$(cat "$dev/vendor")" = 0x8086 ] && [ "$(cat "$dev/device")" = 0x10d3 ] && nics="$nics ${dev##*/}"
done
set -- $nics
a=$1 b=$2
group() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }
members=$(ls "/sys/bus/pci/devices/$a/iommu_group/devices" | tr '\n' ' ')
echo "# NICs $a $b; IOMMU group $(group "$a"): $members"
[ "$#" = 2 ] && [ "$(group "$a")" = "$(group "$b")" ] && case "$a" in 0000:01:*) true ;; *) false ;; esac
tap_ok $? "both NICs behind the bridge (bus 1), in one IOMMU group"
for run in 1 2; do
	echo "# upci run $run"
	tap_run "$bin" pair "$a" "$b" 64 "$expect"
done
tap_end
