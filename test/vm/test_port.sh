#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# VM test of the port API on one kernel: zero-copy forwarding through l2fwd, and unbind while programs run.
# usage: test_port.sh VMRUN ARCH KERNEL VM_PORT_BINARY EXAMPLES_DIR UPCI_BENCH [FRAMES]      (TAP on stdout)
set -u
vmrun=$1 arch=$2 kernel=$3 bin=$4 examples=$5 bench=$6 frames=${7:-100000}
here=$(cd "$(dirname "$0")" && pwd)
exec "$vmrun" --arch "$arch" --kernel "$kernel" --nics 4 --hugepages 64 --timeout 800 -- sh "$here/guest/port.sh" "$bin" "$examples" "$frames" "$bench"
