#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# VM test of lib/vfio_bus on one kernel / interrupt-remapping setting. TAP on stdout.
# usage: test_vfio_bus.sh VMRUN ARCH KERNEL INTREMAP(on|off) VM_VFIO_BUS_BINARY
set -u
vmrun=$1 arch=$2 kernel=$3 intremap=$4 bin=$5
here=$(cd "$(dirname "$0")" && pwd)
flags=(--arch "$arch" --kernel "$kernel" --timeout 300)
[ "$intremap" = off ] && flags+=(--no-intremap)
exec "$vmrun" "${flags[@]}" -- sh "$here/guest/vfio_bus.sh" "$bin"
