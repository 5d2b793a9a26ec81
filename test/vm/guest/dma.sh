#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Guest side of the DMA / IOVA VM test (runs inside test/vm/vmrun). TAP on stdout.
# usage: dma.sh VM_DMA_BINARY
bin=$1
. "$(dirname "$0")/tap.sh"
echo "# kernel $UPCI_VM_KERNEL ($(uname -r)), $(grep HugePages_Free /proc/meminfo)"
tap_run "$bin" check 0000:00:02.0 0000:00:03.0

# A non-root user with a 1 MiB memlock limit: the device files are opened up to it, the limit is not.
group=$(basename "$(readlink /sys/bus/pci/devices/0000:00:02.0/iommu_group)")
chmod 666 "/dev/vfio/$group"
[ -e /dev/iommu ] && chmod 666 /dev/iommu /dev/vfio/devices/*
tap_run "$bin" memlock 0000:00:02.0
tap_end
