#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Guest side of the fault VM test (vmrun --nics 4). TAP on stdout.
# usage: faults.sh VM_FAULTS VM_PORT EXAMPLES_DIR
#   hub 0: nic0 02.0 + nic2 07.0; hub 1: nic1 03.0 + nic3 08.0 (l2fwd on 02.0/03.0 joins them).
bin=$1 port=$2 examples=$3
. "$(dirname "$0")/tap.sh"
a=0000:00:02.0 b=0000:00:03.0 feed=0000:00:07.0 sink=0000:00:08.0
echo "# kernel $UPCI_VM_KERNEL ($(uname -r)), $UPCI_VM_ARCH"
ms_since() { echo $((($("$bin" now) - $1) / 1000000)); }

# a. upci_port_reset() mid-traffic: nic2 streams to nic0, nic0 (and every other round nic2 too) is reset.
tap_run "$bin" reset "$feed" "$a" 3

# c. link flap storm on nic0 while nic2 streams to it.
tap_run "$bin" flap "$feed" "$a" nic0 50

# b. kill -9 of l2fwd mid-traffic (and of the feeder), an immediate restart, then 100 000 frames, zero loss.
log=/tmp/l2fwd.out
: > "$log"
"$examples/l2fwd" --mode poll "$a" "$b" >> "$log" 2>&1 &
fwd=$!
i=0
while [ ! -s "$log" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
"$port" feed "$feed" "$sink" 4000000 > /tmp/feed.out 2>&1 &
feeder=$!
sleep 2.5
moving=$(sed -n 's/^l2fwd: \([0-9]*\) frames a->b.*/\1/p' "$log" | tail -n 1)
t0=$("$bin" now)
kill -9 "$fwd" "$feeder"
wait "$fwd" 2>/dev/null; frc=$?
wait "$feeder" 2>/dev/null
sed 's/^/# killed: /' "$log"
[ "${moving:-0}" -gt 0 ] && [ "$frc" = 137 ]
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
kill -TERM "$fwd"; wait "$fwd"; rc=$?
sed 's/^/# restarted: /' "$log"
fwdn=$(grep "done:" "$log" | tail -n 1 | sed -n 's/.*a->b \([0-9]*\) frames.*/\1/p')
[ "$rc" = 0 ] && [ "$fwdn" = 100000 ]
tap_ok $? "after kill -9 and restart: l2fwd forwarded ${fwdn:-0} of 100000 frames, zero loss (exit $rc); recovery ${up_ms} ms"

# d. open/close cycles in one process: fds and RSS flat.
tap_run "$bin" cycles "$b" 1000 50

# e. clear lines (the others are in the dma, probe and vfio_bus VM tests: see doc/faults.md).
tap_run "$bin" absent 0000:00:1e.0
tap_end
