#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Guest side of the fault VM test (vmrun --nics 4). TAP on stdout.
# usage: faults.sh VM_FAULTS VM_PORT EXAMPLES_DIR
#   hub 0: nic0 02.0 + nic2 07.0; hub 1: nic1 03.0 + nic3 08.0 (l2fwd on 02.0/03.0 joins them).
bin=$1 port=$2 examples=$3
. "$(dirname "$0")/tap.sh"
a=0000:00:02.0 b=0000:00:03.0 feed=0000:00:07.0 sink=0000:00:08.0
echo "# kernel $UPCI_VM_KERNEL ($(uname -r)), $UPCI_VM_ARCH"
tap_limit=240 # per step (the longest, 1000 open/close cycles, takes ~95 s on x86_64): a hang fails that step
ms_since() { echo $((($("$bin" now) - $1) / 1000000)); }

# a. upci_port_reset() mid-traffic: nic2 streams to nic0, nic0 (and every other round nic2 too) is reset.
tap_run "$bin" reset "$feed" "$a" 3

# c. link flap storm on nic0 while nic2 streams to it: received by polling, then by sleeping on the rx vector.
tap_run "$bin" flap "$feed" "$a" nic0 50 poll
tap_run "$bin" flap "$feed" "$a" nic0 50 interrupt

# b. kill -9 of l2fwd mid-traffic (and of the feeder), an immediate restart, then 100 000 frames, zero loss.
log=/tmp/l2fwd.out
: > "$log"
"$examples/l2fwd" --mode poll --progress "$a" "$b" >> "$log" 2>&1 &
fwd=$!
i=0
while [ ! -s "$log" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
"$port" feed "$feed" "$sink" 4000000 > /tmp/feed.out 2>&1 &
feeder=$!
# kill once frames flow through l2fwd (its line per second), within 60 s (opening the feeder takes a while)
moving=0 i=0
while [ "${moving:-0}" -lt 1000 ] && [ $i -lt 600 ]; do
	sleep 0.1; i=$((i + 1))
	moving=$(sed -n 's/^l2fwd: \([0-9]*\) frames a->b.*/\1/p' "$log" | tail -n 1)
done
t0=$("$bin" now)
kill -9 "$fwd" "$feeder"
wait "$fwd" 2>/dev/null; frc=$?
wait "$feeder" 2>/dev/null
sed 's/^/# killed: /' "$log"
[ "${moving:-0}" -ge 1000 ] && [ "$frc" = 137 ]
tap_ok $? "kill -9 of l2fwd while it forwarded (${moving:-0} frames a->b by then; exit $frc) and of the feeder"
: > "$log"
"$examples/l2fwd" --mode poll --quiet "$a" "$b" >> "$log" 2>&1 &
fwd=$!
i=0
while ! grep -q "zero-copy" "$log" && [ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
up_ms=$(ms_since "$t0")
grep -q "zero-copy" "$log"
tap_ok $? "l2fwd restarted at once: both ports open ${up_ms} ms after the kill"
tap_run "$port" feed "$feed" "$sink" 100000
kill -TERM "$fwd"; wait_bounded "$fwd" 20; rc=$?
sed 's/^/# restarted: /' "$log"
fwdn=$(grep "done:" "$log" | tail -n 1 | sed -n 's/.*a->b \([0-9]*\) frames.*/\1/p')
[ "$rc" = 0 ] && [ "$fwdn" = 100000 ]
tap_ok $? "after kill -9 and restart: l2fwd forwarded ${fwdn:-0} of 100000 frames, zero loss (exit $rc); recovery ${up_ms} ms"

# d. open/close cycles in one process: fds and RSS flat. 1000 on x86_64 (both kernels); the aarch64 run, the
# third of this test, does 200 (each cycle is ~0.1 s of the kernel's device reset: make check time).
cycles=1000
[ "$UPCI_VM_ARCH" = aarch64 ] && cycles=200
tap_run "$bin" cycles "$b" "$cycles" 20

# e. clear lines (low memlock as non-root and no isolation are in the dma and vfio_bus VM tests: doc/faults.md).
tap_run "$bin" absent 0000:00:1e.0
# A group of two (vmrun --group-pair, behind the root port 00:0a.0): function 1 goes to the kernel's e1000e
# driver, so function 0 cannot be used.
pair=$(for d in /sys/bus/pci/devices/*; do
	case "${d##*/}" in 0000:00:*) ;; *) [ "$(cat "$d/device")" = 0x10d3 ] && echo "${d##*/}" ;; esac
done)
p0=$(echo "$pair" | sed -n 1p) p1=$(echo "$pair" | sed -n 2p)
[ -f /modules/e1000e.list ] && while read -r ko; do insmod "/modules/$ko" 2>/dev/null; done < /modules/e1000e.list
echo "$p1" > "/sys/bus/pci/devices/$p1/driver/unbind"
echo e1000e > "/sys/bus/pci/devices/$p1/driver_override"
echo "$p1" > /sys/bus/pci/drivers_probe
grp() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }
drv=$(basename "$(readlink "/sys/bus/pci/devices/$p1/driver")")
if [ "$UPCI_VM_ARCH" = aarch64 ] && [ "$(grp "$p0")" != "$(grp "$p1")" ]; then
	# Seen on the aarch64 6.12 guest (tiny iommufd kernel, SMMUv3; Debian's aarch64 6.1 groups them): each
	# function gets its own group, so there is no group of two to test.
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - non-viable group # SKIP the aarch64 kernel put $p0 and $p1 in groups $(grp "$p0") and $(grp "$p1")"
else
	[ "$(grp "$p0")" = "$(grp "$p1")" ] && [ "$drv" = e1000e ]
	tap_ok $? "$p0 and $p1 share IOMMU group $(grp "$p0"); $p1 is bound to ${drv:-nothing}"
	tap_run "$bin" nonviable "$p0" "$p1"
fi
tap_end
