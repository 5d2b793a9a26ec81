#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# VM test of the DPDK interop (libupci_dpdk) on one kernel, one boot: examples/dpdk_fwd_power forwards
# between two upci ports through mbufs on EAL lcores, sleeping on the rx vectors when idle.
# usage: test_dpdk.sh VMRUN ARCH KERNEL VM_PORT_BINARY DPDK_FWD_POWER [FRAMES [L2FWD]]      (TAP on stdout)
set -u
vmrun=$1 arch=$2 kernel=$3 bin=$4 fwd=$5 frames=${6:-100000} l2fwd=${7:-}
here=$(cd "$(dirname "$0")" && pwd)
exec "$vmrun" --arch "$arch" --kernel "$kernel" --nics 4 --hugepages 128 --timeout 600 -- sh "$here/guest/dpdk.sh" "$bin" "$fwd" "$frames" "$l2fwd"
