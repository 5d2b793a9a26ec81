#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# VM test of the faults a port survives, on one kernel, in one boot (vmrun --nics 4): reset mid-traffic,
# kill -9 of a forwarder and its restart, a link flap storm, open/close cycles, absent device, non-viable group.
# usage: test_faults.sh VMRUN ARCH KERNEL VM_FAULTS VM_PORT EXAMPLES_DIR      (TAP on stdout)
set -u
vmrun=$1 arch=$2 kernel=$3 faults=$4 port=$5 examples=$6
here=$(cd "$(dirname "$0")" && pwd)
exec "$vmrun" --arch "$arch" --kernel "$kernel" --nics 4 --group-pair --hugepages 64 --timeout 640 -- sh "$here/guest/faults.sh" "$faults" "$port" "$examples"
