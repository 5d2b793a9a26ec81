#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# VM test of the 82574L driver on one kernel: traffic in every mode and direction, RSS, link toggles.
# usage: test_e1000e.sh VMRUN ARCH KERNEL VM_E1000E_BINARY EXAMPLES_DIR [FRAMES]      (TAP on stdout)
set -u
vmrun=$1 arch=$2 kernel=$3 bin=$4 examples=$5 frames=${6:-100000}
here=$(cd "$(dirname "$0")" && pwd)
exec "$vmrun" --arch "$arch" --kernel "$kernel" --hugepages 64 --timeout 600 -- sh "$here/guest/e1000e.sh" "$bin" "$frames" "$examples"
