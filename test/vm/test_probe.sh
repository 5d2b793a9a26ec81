#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# VM test: upci-probe in the guest sees both NICs on vfio-pci, each in its own group, with the msi window.
# usage: test_probe.sh VMRUN KERNEL INTREMAP(on|off) PROBE      (TAP on stdout)
set -u
vmrun=$1 kernel=$2 intremap=$3 probe=$4
here=$(cd "$(dirname "$0")" && pwd)
flags=(--kernel "$kernel" --timeout 240)
[ "$intremap" = off ] && flags+=(--no-intremap)
exec "$vmrun" "${flags[@]}" -- python3 "$here/guest/check_probe.py" "$probe"
