#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# VM test of lib/msix on one kernel: vector routing, loopback, growth, idle CPU, latency. TAP on stdout.
# INTREMAP off: no MSI isolation (x86: intel-iommu without interrupt remapping; aarch64: GICv2m instead of the
# GICv3 ITS), where the vectors must work just the same.
# usage: test_msix.sh VMRUN ARCH KERNEL VM_MSIX_BINARY [INTREMAP(on|off)]
set -u
vmrun=$1 arch=$2 kernel=$3 bin=$4 intremap=${5:-on}
flags=(--arch "$arch" --kernel "$kernel" --timeout 300)
[ "$intremap" = off ] && flags+=(--no-intremap)
exec "$vmrun" "${flags[@]}" -- "$bin" 0000:00:02.0
