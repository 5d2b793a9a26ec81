#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run-bench.sh — the whole benchmark: boots the test VM once (NICs first on the kernel's e1000e driver for
# its baseline, then on vfio-pci for DPDK and upci), counts the driver's instructions per packet on the
# host with callgrind, and writes RESULTS/bench.json, the table, and the CDF plots.
# --arch aarch64 runs the same measurements in the arm64 guest (SMMUv3 + GICv3 ITS) from the cross build
# (build-aarch64/; DPDK's and rdma-core's programs run against the arm64 root of Debian packages the guest
# gets as its /usr, test/vm/cross/sysroot-aarch64), with no callgrind count (that runs the x86 binary on the
# host, which says nothing about arm64 code).
#
# usage: app/bench/run-bench.sh [--quick] [--arch x86_64|aarch64] [--kernel stable|iommufd] [--results DIR]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tree=$(cd "$here/../.." && pwd)
quick= kernel=stable arch=x86_64 results=
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=--quick; shift ;;
	--arch) arch=${2:?}; shift 2 ;;
	--kernel) kernel=${2:?}; shift 2 ;;
	--results) results=${2:?}; shift 2 ;;
	*) echo "usage: run-bench.sh [--quick] [--arch x86_64|aarch64] [--kernel stable|iommufd] [--results DIR]" >&2
	   exit 2 ;;
	esac
done
case $arch in
x86_64) build=$tree/build ;;
aarch64) build=$tree/build-aarch64 ;;
*) echo "run-bench: --arch takes x86_64 or aarch64" >&2; exit 2 ;;
esac
results=${results:-$build/results}
mkdir -p "$results"
export UPCI_VM_QEMU
UPCI_VM_QEMU=$("qemu-system-$arch" --version | head -n1)
echo "run-bench: booting the $arch test VM ($kernel kernel) for the measurements${quick:+ (quick)}" >&2
"$tree/test/vm/vmrun" --arch "$arch" --kernel "$kernel" --keep-kernel-driver --memory 1536 --hugepages 300 --timeout 1500 \
	-- sh "$here/guest-bench.sh" "$build" "$results" $quick
if [ "$arch" = "$(uname -m)" ] && [ -x "$build/app/bench/cpu_cost" ]; then
	echo "run-bench: counting the driver's instructions per packet with callgrind" >&2
	rounds=10000
	[ -n "$quick" ] && rounds=1000
	"$here/cpu_cost.sh" --json "$results/cpu.json" "$build/app/bench/cpu_cost" "$rounds" >&2 ||
		echo "run-bench: cpu_cost failed" >&2
	if [ -x "$build/app/bench/dpdk_cost" ]; then
		echo "run-bench: counting what the DPDK interop adds per packet with callgrind" >&2
		"$here/dpdk_cost.sh" --json "$results/cpu_dpdk.json" "$build/app/bench/dpdk_cost" "$rounds" >&2 ||
			echo "run-bench: dpdk_cost failed" >&2
	fi
fi
python3 "$here/report.py" "$results"
