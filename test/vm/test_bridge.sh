#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# VM test of the PCIe-to-PCI bridge topology (x86_64): both NICs behind one pcie-pci-bridge, two upci runs.
# usage: test_bridge.sh VMRUN KERNEL VM_PORT_BINARY [caching-mode]      (TAP on stdout)
#   stable (6.1) and any kernel with caching-mode=on: traffic must pass. iommufd (6.12) without caching mode:
#   its intel-iommu never invalidates the alias 01:00.0's context-cache entry (doc/testbed.md), so a run after an
#   earlier DMA domain gets no DMA: it must pass or be reported by the dead-DMA watchdog, never fail silently.
set -u
vmrun=$1 kernel=$2 bin=$3 cm=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
opts=(--kernel "$kernel" --bridge --timeout 240)
expect=pass
if [ "$cm" = caching-mode ]; then
	opts+=(--caching-mode)
elif [ "$kernel" != stable ]; then
	expect=pass-or-stall
fi
exec "$vmrun" "${opts[@]}" -- sh "$here/guest/bridge.sh" "$bin" "$expect"
