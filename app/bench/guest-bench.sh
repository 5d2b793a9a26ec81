#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The benchmark's guest side, in one VM boot (started with vmrun --keep-kernel-driver): the kernel-driver
# baseline first, then both NICs move to vfio-pci for DPDK's baseline, the interop path (upci ports as DPDK
# mbufs, libupci_dpdk: the baseline's own methods) and upci.
# usage: guest-bench.sh BUILD_DIR RESULTS_DIR [--quick]
build=$1 out=$2 quick=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
a=0000:00:02.0 b=0000:00:03.0
trials=2000 frames=200000 idle_ms=2000
[ "$quick" = --quick ] && trials=200 frames=20000 idle_ms=500
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.dat "$out"/*.png
step() { echo "guest-bench: $*" >&2; }

cat > "$out/env.json" <<EOF2
{"env": {"arch": "$(uname -m)", "kernel": "$(uname -r)", "vm_kernel": "$UPCI_VM_KERNEL", "qemu": "$UPCI_VM_QEMU",
 "cpu": "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)", "vcpus": $(nproc),
 "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "quick": $([ "$quick" = --quick ] && echo true || echo false)}}
EOF2

if [ -x "$build/app/bench/kernel_rtt" ]; then
	step "kernel e1000e driver: AF_PACKET ping-pong, $trials trials"
	"$build/app/bench/kernel_rtt" --a "$a" --b "$b" --trials "$trials" --json "$out/kernel.json" ||
		step "kernel_rtt failed (exit $?)"
fi

# rdma-core verbs over soft-RoCE on the same kernel-driven netdevs, while they are still the kernel's.
if [ -x "$build/app/bench/verbs_rtt" ]; then
	step "rdma-core verbs over soft-RoCE (rdma_rxe): RC ping-pong on a completion channel, $trials trials"
	t0=$(cut -d' ' -f1 /proc/uptime)
	if sh "$here/rxe-setup.sh" up "$a" "$b"; then
		"$build/app/bench/verbs_rtt" --dev-a rxe_a --dev-b rxe_b --a "$a" --b "$b" --trials "$trials" \
			--idle-ms "$idle_ms" --json "$out/verbs.json" || step "verbs_rtt failed (exit $?)"
	else
		step "no soft-RoCE in this guest: no verbs figures"
	fi
	sh "$here/rxe-setup.sh" down "$a" "$b" || step "soft-RoCE tear-down failed"
	step "verbs: $(awk -v t0="$t0" '{ printf "%.1f", $1 - t0 }' /proc/uptime) s (set-up, measurement, tear-down)"
fi

step "moving both NICs to vfio-pci"
for d in "$a" "$b"; do
	[ -e "/sys/bus/pci/devices/$d/driver" ] && echo "$d" > "/sys/bus/pci/devices/$d/driver/unbind"
	echo vfio-pci > "/sys/bus/pci/devices/$d/driver_override"
	echo "$d" > /sys/bus/pci/drivers_probe
done

if [ -x "$build/app/bench/dpdk_baseline" ]; then
	# --in-memory: the guest has no /var/run for DPDK's runtime directory.
	eal="-l 0-1 -n 1 --in-memory --iova-mode=va -m 64 -a $a -a $b --log-level=lib.eal:error"
	for mode in rtt pps fwd intr; do
		n=$frames
		[ "$mode" = intr ] && n=50 # one frame at a time, each waited for until its interrupt or timeout
		step "DPDK em PMD: $mode"
		# shellcheck disable=SC2086
		"$build/app/bench/dpdk_baseline" $eal -- "$mode" --trials "$trials" --frames "$n" \
			--json "$out/dpdk_$mode.json" || step "dpdk_baseline $mode failed (exit $?)"
	done
	# The interop path: the very same methods over upci ports through libupci_dpdk (mbufs, zero copy). The
	# NICs stay on vfio-pci; the EAL must not probe them (--no-pci): upci opens them through VFIO itself.
	ueal="-l 0-1 -n 1 --in-memory --iova-mode=va -m 64 --no-pci --log-level=lib.eal:error"
	for mode in rtt pps fwd; do
		step "upci through libupci_dpdk (interop): $mode"
		# shellcheck disable=SC2086
		"$build/app/bench/dpdk_baseline" $ueal -- "$mode" --upci "$a,$b" --trials "$trials" --frames "$frames" \
			--json "$out/upci_dpdk_$mode.json" || step "dpdk_baseline --upci $mode failed (exit $?)"
	done
fi

step "upci"
"$build/app/bench/upci-bench" $quick --json "$out/upci.json"
