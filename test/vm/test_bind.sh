#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# VM test of upci-bind on one kernel, one boot: the NICs start on e1000e in one IOMMU group (behind a bridge);
# refusal without --group, --dry-run, --group --uid, --status (text and JSON), non-root access, the memlock
# figure, --restore from the state file and without it. The --status table is kept in build/results/.
# usage: test_bind.sh VMRUN ARCH KERNEL UPCI_BIND UPCI_PROBE VM_BIND      (TAP on stdout)
set -u
vmrun=$1 arch=$2 kernel=$3 bind=$4 probe=$5 helper=$6
here=$(cd "$(dirname "$0")" && pwd)
out=$(dirname "$(dirname "$bind")")/results/bind-$kernel
mkdir -p "$out" || exit 1
exec "$vmrun" --arch "$arch" --kernel "$kernel" --keep-kernel-driver --one-group --timeout 300 -- \
	sh "$here/guest/bind.sh" "$bind" "$probe" "$helper" "$out"
