#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# VM test of lib/msix on one kernel: vector routing, loopback, growth, idle CPU, latency. TAP on stdout.
# usage: test_msix.sh VMRUN ARCH KERNEL VM_MSIX_BINARY
set -u
vmrun=$1 arch=$2 kernel=$3 bin=$4
exec "$vmrun" --arch "$arch" --kernel "$kernel" --timeout 300 -- "$bin" 0000:00:02.0
