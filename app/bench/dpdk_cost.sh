#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# dpdk_cost.sh — what the DPDK interop (libupci_dpdk) adds per packet, in instructions, counted by callgrind.
#
# Usage: dpdk_cost.sh [--json FILE] [PROGRAM [ROUNDS]]
#   PROGRAM  the dpdk_cost binary (default: build/app/bench/dpdk_cost of this tree)
#   ROUNDS   rounds of 32 frames (default 10000)
#   --json FILE  also write {"driver": {"interop_instructions_per_packet": X, "interop_rounds": R, ...}}
#
# Method (app/bench/dpdk_cost.c): on a hand-built upci pool and "upci" mempool, each round converts 32
# received packets to mbufs (what upci_dpdk_rx_burst() adds to upci_port_rx_burst()) and the same 32 mbufs
# back to packets (what upci_dpdk_tx_burst() adds to upci_port_tx_burst()), between callgrind's start and
# stop requests (--instr-atstart=no): the run's total Ir is that code alone, the harness's loop included.
# A packet is one frame received AND forwarded, as in cpu_cost.sh's driver.instructions_per_packet, so the
# two add up to the driver's ring code plus the interop per frame. Output, one line:
#   driver.interop_instructions_per_packet <value, 2 decimals> (<Ir> instructions, <n> packets)
set -eu

die() {
	echo "dpdk_cost.sh: $*" >&2
	exit 1
}

json=
while [ $# -gt 0 ]; do
	case "$1" in
	--json) [ $# -ge 2 ] || die "--json wants a file"; json=$2; shift 2 ;;
	-*) echo "usage: dpdk_cost.sh [--json FILE] [PROGRAM [ROUNDS]]" >&2; exit 2 ;;
	*) break ;;
	esac
done
here=$(cd "$(dirname "$0")" && pwd)
prog=${1:-$here/../../build/app/bench/dpdk_cost}
rounds=${2:-10000}
case "$rounds" in
''|*[!0-9]*|0) die "ROUNDS must be a positive integer, not '$rounds'" ;;
esac
command -v valgrind >/dev/null 2>&1 || die "valgrind not found (Debian/Ubuntu: apt-get install valgrind)"
[ -x "$prog" ] || die "$prog: no such executable (built when meson finds libdpdk and valgrind/callgrind.h)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dpdk_cost.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if ! valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$tmp/cg.out" \
	--log-file="$tmp/valgrind.log" "$prog" "$rounds" >"$tmp/stdout"; then
	cat "$tmp/stdout" "$tmp/valgrind.log" >&2
	die "$prog failed under valgrind"
fi
packets=$(sed -n 's/^dpdk_cost: \([0-9]*\) packets converted.*/\1/p' "$tmp/stdout")
ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$tmp/cg.out")
if [ -z "$packets" ] || [ "$packets" -ne $((rounds * 32)) ]; then
	cat "$tmp/stdout" >&2
	die "expected $((rounds * 32)) packets, the program says '${packets}'"
fi
if [ -z "$ir" ] || [ "$ir" -eq 0 ]; then
	die "no instruction total in the callgrind output"
fi
per=$(awk -v ir="$ir" -v n="$packets" 'BEGIN { printf "%.2f", ir / n }')
echo "driver.interop_instructions_per_packet $per ($ir instructions, $packets packets)"
if [ -n "$json" ]; then
	cat > "$json" <<EOF2
{"driver": {"interop_instructions_per_packet": $per, "interop_rounds": $rounds, "interop_instructions": $ir,
 "interop_method": "callgrind: app/bench/dpdk_cost, packet -> mbuf for 32 received frames and mbuf -> packet for the same 32 forwarded (what upci_dpdk_rx_burst/tx_burst add to upci's bursts), per packet received and forwarded"}}
EOF2
fi
