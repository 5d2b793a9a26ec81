#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run-bench.sh — the whole benchmark: boots the test VM once (NICs first on the kernel's e1000e driver for
# its baseline, then on vfio-pci for DPDK and upci), counts the driver's instructions per packet on the
# host with callgrind, and writes RESULTS/bench.json, the table, and the CDF plots.
#
# usage: app/bench/run-bench.sh [--quick] [--kernel stable|iommufd] [--results DIR]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tree=$(cd "$here/../.." && pwd)
build=$tree/build
results=$build/results quick= kernel=stable
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=--quick; shift ;;
	--kernel) kernel=${2:?}; shift 2 ;;
	--results) results=${2:?}; shift 2 ;;
	*) echo "usage: run-bench.sh [--quick] [--kernel stable|iommufd] [--results DIR]" >&2; exit 2 ;;
	esac
done
mkdir -p "$results"
export UPCI_VM_QEMU
UPCI_VM_QEMU=$(qemu-system-x86_64 --version | head -n1)
echo "run-bench: booting the test VM ($kernel kernel) for the measurements${quick:+ (quick)}" >&2
"$tree/test/vm/vmrun" --kernel "$kernel" --keep-kernel-driver --memory 1536 --hugepages 300 --timeout 1500 \
	-- sh "$here/guest-bench.sh" "$build" "$results" $quick
if [ -x "$build/app/bench/cpu_cost" ]; then
	echo "run-bench: counting the driver's instructions per packet with callgrind" >&2
	rounds=10000
	[ -n "$quick" ] && rounds=1000
	"$here/cpu_cost.sh" --json "$results/cpu.json" "$build/app/bench/cpu_cost" "$rounds" >&2 ||
		echo "run-bench: cpu_cost failed" >&2
fi
python3 "$here/report.py" "$results"
