#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Guest side of the port VM test (vmrun --nics 4). TAP on stdout.
# usage: port.sh VM_PORT_BINARY EXAMPLES_DIR FRAMES UPCI_BENCH
#   l2fwd forwards FRAMES frames nic2 -> nic0 => nic1 -> nic3 zero-copy in each mode; then an administrator
#   unbinds a NIC from vfio-pci while l2fwd, upci-bench (each mode), rx_hybrid and echo hold it: the unbind completes in < 2 s,
#   the program reports the removal in one line and exits 0. First, the dead-DMA watchdog: $a's DMA taken out of the
#   IOMMU while it runs (vm_port deaddma): its rx and tx queues are reported once each, dma_stalls counts them.
bin=$1 examples=$2 frames=${3:-100000} bench=$4
. "$(dirname "$0")/tap.sh"
a=0000:00:02.0 b=0000:00:03.0 feed=0000:00:07.0 sink=0000:00:08.0
log=/tmp/port-test.out
echo "# kernel $UPCI_VM_KERNEL ($(uname -r)), $UPCI_VM_ARCH; $frames frames per mode"

# start_bg PROGRAM ARGS... : run it in the background (output to $log), wait up to 20 s for its first line.
start_bg() {
	: > "$log" # truncated here, not by the job: the wait below must not see the last run's output
	"$@" >> "$log" 2>&1 &
	pid=$!
	i=0
	while [ ! -s "$log" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
}
# field TEXT WORD : the number right before WORD in TEXT's last "done:" line ("a->b N frames" -> N).
done_line() { grep "done:" "$log" | tail -n 1; }

tap_run "$bin" deaddma "$feed" "$a"

for mode in poll interrupt hybrid; do
	start_bg "$examples/l2fwd" --mode "$mode" --quiet "$a" "$b"
	tap_run "$bin" feed "$feed" "$sink" "$frames"
	kill -TERM "$pid"; wait "$pid"; rc=$?
	sed 's/^/# /' "$log"
	line=$(done_line)
	fwd=$(echo "$line" | sed -n 's/.*a->b \([0-9]*\) frames.*/\1/p')
	same=$(echo "$line" | sed -n 's/.*a->b [0-9]* frames ([0-9]* bytes, \([0-9]*\) from the rx buffer.*/\1/p')
	[ "$rc" = 0 ] && [ "$fwd" = "$frames" ] && [ "$same" = "$frames" ]
	tap_ok $? "l2fwd $mode: forwarded $fwd of $frames frames, $same sent from the very buffer they arrived in (exit $rc)"
done

# unbind_while LABEL PROGRAM ARGS... : unbind $a while PROGRAM holds it; it must let go at once and exit 0.
unbind_while() {
	what=$1
	shift
	start_bg "$@"
	sleep 1
	u=$("$bin" unbind "$a"); urc=$?
	echo "# $u"
	wait "$pid"; rc=$?
	sed 's/^/# /' "$log"
	lib_lines=$(grep -c "^upci: " "$log")
	app_lines=$(grep -v "^upci: " "$log" | grep -c "removed")
	[ "$urc" = 0 ]
	tap_ok $? "$what: $u (< 2 s)"
	[ "$rc" = 0 ] && [ "$lib_lines" = 1 ] && [ "$app_lines" = 1 ]
	tap_ok $? "$what: exited $rc; the library said it in one line ($lib_lines), the program in one ($app_lines)"
	"$bin" rebind "$a"
	[ "$(basename "$(readlink /sys/bus/pci/devices/$a/driver)")" = vfio-pci ]
	tap_ok $? "$a bound to vfio-pci again"
}
for mode in poll interrupt hybrid; do
	unbind_while "l2fwd $mode" "$examples/l2fwd" --mode "$mode" "$a" "$b"
done
unbind_while "rx_hybrid" "$examples/rx_hybrid" "$a" 30
for mode in poll interrupt hybrid; do
	[ -n "$bench" ] || break # built without json-c: no upci-bench
	unbind_while "upci-bench idle $mode" "$bench" --progress --device "$a,$b" --only idle --modes "$mode" --json /tmp/bench-unbind.json
	grep -q '"removed": *true' /tmp/bench-unbind.json
	tap_ok $? "upci-bench $mode: its JSON records the removal"
done
unbind_while "echo interrupt" "$examples/echo" --mode interrupt "$a"
# x86_64 (the guest has the host's /usr, and crun): doc/container.md's recipe, in this boot.
[ "$UPCI_VM_ARCH" = x86_64 ] && . "$(dirname "$0")/container.sh"
tap_end
