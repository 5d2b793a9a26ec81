#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# VM test: upci-probe in the guest sees both NICs on vfio-pci, each in its own group, with the msi window,
# and every MSI-X vector's doorbell address inside it. The guest runs the probe and saves its output on the
# shared tree; this side checks it (python on the host: the aarch64 guest has only busybox).
# usage: test_probe.sh VMRUN ARCH KERNEL INTREMAP(on|off) PROBE      (TAP on stdout)
set -u
vmrun=$1 arch=$2 kernel=$3 intremap=$4 probe=$5
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d "$(dirname "$probe")/probe-vm.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT
flags=(--arch "$arch" --kernel "$kernel" --timeout 240)
[ "$intremap" = off ] && flags+=(--no-intremap)
"$vmrun" "${flags[@]}" -- sh "$here/guest/probe.sh" "$probe" "$out" >&2
rc=$?
[ "$rc" = 0 ] || { echo "1..1"; echo "not ok 1 - the guest ran the probe (vmrun exit $rc)"; exit 1; }
python3 "$here/check_probe.py" "$out"
