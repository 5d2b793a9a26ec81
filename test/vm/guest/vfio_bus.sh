#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Guest side of the lib/vfio_bus VM test (runs inside test/vm/vmrun). TAP on stdout.
# usage: vfio_bus.sh VM_VFIO_BUS_BINARY
bin=$1
. "$(dirname "$0")/tap.sh"
isolated=1
[ "$UPCI_VM_INTREMAP" = off ] && isolated=0
backend=type1
[ "$UPCI_VM_KERNEL" = iommufd ] && backend=iommufd

echo "# kernel $UPCI_VM_KERNEL ($(uname -r)), intremap $UPCI_VM_INTREMAP: expecting backend $backend, isolated $isolated"
tap_run "$bin" check 0000:00:02.0 0000:00:03.0 "$backend" "$isolated"
if [ "$UPCI_VM_KERNEL" = iommufd ]; then
	echo "# the same kernel through the type1 container, forced by UPCI_BACKEND"
	UPCI_BACKEND=type1 tap_run "$bin" check 0000:00:02.0 0000:00:03.0 type1 "$isolated"
fi

# Unbinding a device a process holds: the kernel raises REQ, upci releases the device, the unbind completes.
rm -f /tmp/hold.ready
"$bin" hold 0000:00:03.0 /tmp/hold.ready > /tmp/hold.log 2>&1 &
holder=$!
i=0
while [ ! -f /tmp/hold.ready ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
tap_ok "$([ -f /tmp/hold.ready ]; echo $?)" "a process holds 0000:00:03.0"
t0=$("$bin" now) # CLOCK_MONOTONIC ns: busybox date has no %N, and an aarch64 guest has no coreutils
timeout 10 sh -c 'echo 0000:00:03.0 > /sys/bus/pci/drivers/vfio-pci/unbind'
unbind_rc=$?
ms=$((($("$bin" now) - t0) / 1000000))
tap_ok "$unbind_rc" "unbinding it from vfio-pci completes (exit $unbind_rc)"
tap_ok "$([ "$ms" -lt 2000 ]; echo $?)" "the unbind took ${ms} ms (< 2000 ms)"
wait "$holder"
hold_rc=$?
sed 's/^/# holder: /' /tmp/hold.log
tap_ok "$hold_rc" "the holding process exits cleanly (exit $hold_rc)"
grep -q '^event: remove on 0000:00:03.0' /tmp/hold.log
tap_ok $? "the holder was told the device is being removed"
grep -q 'pointer read 0xffffffff, accessor read 0xffffffff, config read -ENODEV' /tmp/hold.log
tap_ok $? "after removal, stale pointers and accessors read all-ones and config access says -ENODEV, no fault"
tap_end
