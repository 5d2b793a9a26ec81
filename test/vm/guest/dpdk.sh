#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Guest side of the DPDK interop VM test (vmrun --nics 4). TAP on stdout.
# usage: dpdk.sh VM_PORT_BINARY DPDK_FWD_POWER FRAMES [L2FWD]
#   dpdk_fwd_power (EAL lcores 0-1, --no-pci; upci owns 02.0 and 03.0) forwards FRAMES frames
#   nic2 -> nic0 => nic1 -> nic3 through mbufs: zero loss, intact. Then, idle: its CPU over 3 s must stay
#   under 5% (it sleeps on the rx vectors). Then frames arrive while it sleeps: the rx vector wakes it
#   (a "woke by its rx vector after N s asleep" line), they all get through, and no sleep ended by timeout.
#   With L2FWD (upci native, hybrid mode: the same poll-then-sleep policy), the same FRAMES go through it
#   too and the CPU each forwarder spent per frame is reported (a figure, not a check).
bin=$1 fwd=$2 frames=${3:-100000} l2fwd=${4:-} late=200
. "$(dirname "$0")/tap.sh"
a=0000:00:02.0 b=0000:00:03.0 feed=0000:00:07.0 sink=0000:00:08.0
log=/tmp/dpdk-test.out
echo "# kernel $UPCI_VM_KERNEL ($(uname -r)), $UPCI_VM_ARCH; $frames frames, then $late while idle"

# ticks PID : user + system CPU ticks (1/100 s) of every thread of PID so far.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# --in-memory: no /var/run for the EAL's runtime directory; --no-pci: the devices are upci's.
eal="-l 0-1 -n 1 --in-memory --no-pci --iova-mode=va -m 64 --log-level=lib.eal:error"
: > "$log"
# shellcheck disable=SC2086
"$fwd" $eal -- --timeout-ms 20000 "$a" "$b" >> "$log" 2>&1 &
pid=$!
i=0
while ! grep -q "sleeping on rx vectors" "$log" && kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
grep -q "sleeping on rx vectors" "$log"
up=$?
if [ "$up" != 0 ] && grep -q "Cannot init alarm" "$log"; then
	# Only this: DPDK's EAL creates its alarm on a timerfd; a kernel built without CONFIG_TIMERFD (the
	# iommufd kernel's fragment has it; vmrun builds that kernel when a prebuilt image lacks it) cannot run any
	# EAL application.
	sed 's/^/# /' "$log"
	echo "ok 1 - dpdk_fwd_power on $(uname -r) # SKIP this kernel has no timerfd (CONFIG_TIMERFD): rte_eal_init() cannot init its alarm; rebuild it from test/vm/kernel/fragment-iommufd-$UPCI_VM_ARCH.config"
	echo "1..1"
	exit 0
fi
tap_ok $up "dpdk_fwd_power up on EAL lcores 0-1 with upci ports $a, $b ($((i / 10)).$((i % 10)) s)"
if [ "$up" != 0 ]; then
	sed 's/^/# /' "$log" # e.g. "EAL: Cannot init alarm": the kernel has no CONFIG_TIMERFD
	kill -TERM "$pid" 2>/dev/null
	tap_end
	exit 1
fi

f0=$(ticks "$pid")
tap_run "$bin" feed "$feed" "$sink" "$frames"
f1=$(ticks "$pid")

sleep 1 # the burst is over: the lcores go to sleep
c0=$(ticks "$pid")
sleep 3
c1=$(ticks "$pid")
idle=$((c1 - c0)) # ticks in 3 s: percent of one CPU = ticks / 3
# c0 > 0: the counter is read right (forwarding 100000 frames under TCG costs seconds of CPU)
[ "$c0" -gt 0 ] && [ "$idle" -lt 15 ]
tap_ok $? "idle: dpdk_fwd_power used $idle ticks of CPU in 3 s ($((idle * 100 / 3))/100 %, both lcores; limit 5 %; $c0 ticks before)"

woke0=$(grep -c "$a: woke by its rx vector" "$log")
tap_run "$bin" feed "$feed" "$sink" "$late"
woke1=$(grep -c "$a: woke by its rx vector" "$log")
[ "$woke1" -gt "$woke0" ]
tap_ok $? "frames arriving while it slept woke $a's lcore through its rx vector ($woke0 -> $woke1 long sleeps so ended)"

kill -TERM "$pid"
wait "$pid"
rc=$?
sed 's/^/# /' "$log"
line=$(grep "done:" "$log" | tail -n 1)
fwd_ab=$(echo "$line" | sed -n 's/.*a->b \([0-9]*\) frames.*/\1/p')
wk=$(echo "$line" | sed -n 's/.*a->b [^;]*wakeups \([0-9]*\).*/\1/p')
to_ab=$(echo "$line" | sed -n 's/.*a->b [^;]*timeouts \([0-9]*\).*/\1/p')
to_ba=$(echo "$line" | sed -n 's/.*b->a [^;]*timeouts \([0-9]*\).*/\1/p')
[ "$rc" = 0 ] && [ "$fwd_ab" = $((frames + late)) ]
tap_ok $? "dpdk_fwd_power forwarded $fwd_ab of $((frames + late)) frames a->b through mbufs, exit $rc"
[ -n "$wk" ] && [ "$wk" -gt 0 ] && [ "$to_ab" = 0 ] && [ "$to_ba" = 0 ]
tap_ok $? "interrupt wake-ups a->b: $wk (> 0); sleeps ended by the timeout: a->b $to_ab, b->a $to_ba (0)"

# CPU per forwarded frame (a tick is 10 ms = 10000 us; us per frame = ticks * 10000 / frames): interop vs upci native.
if [ -n "$l2fwd" ]; then
	: > "$log"
	"$l2fwd" --mode hybrid --quiet "$a" "$b" >> "$log" 2>&1 &
	pid=$!
	i=0
	while [ ! -s "$log" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
	n0=$(ticks "$pid")
	tap_run "$bin" feed "$feed" "$sink" "$frames"
	n1=$(ticks "$pid")
	kill -TERM "$pid"
	wait "$pid"
	echo "# CPU per forwarded frame ($frames frames, feeder-paced): dpdk_fwd_power (mbufs) $(((f1 - f0) * 10000 / frames)) us" \
		"($((f1 - f0)) ticks), l2fwd hybrid (upci native) $(((n1 - n0) * 10000 / frames)) us ($((n1 - n0)) ticks)"
fi
tap_end
