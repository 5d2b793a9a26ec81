#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# cpu_cost.sh — the e1000e ring code's CPU cost per packet, in instructions, counted by callgrind.
#
# Usage: cpu_cost.sh [--json FILE] [--keep FILE] [PROGRAM [ROUNDS]]
#   PROGRAM  the cpu_cost binary (default: $CPU_COST, else build/app/bench/cpu_cost of this tree)
#   ROUNDS   rounds of 32 received + 32 forwarded frames (default 10000)
#   --json FILE  also write {"driver": {"instructions_per_packet": X, "rounds": R, "batch": 32, ...}}
#   --keep FILE  keep the callgrind output there (default: a temporary file, removed)
#
# Method (see drivers/net/e1000e/e1000e_cost.c, built as app/bench/cpu_cost): the whole program runs under
# callgrind; from its output we sum the inclusive instruction counts (Ir) of the calls that measured_rx_tx()
# makes to e1000e_rxq_burst, e1000e_txq_burst and e1000e_txq_clean. The warm-up round, the device model
# and the application's own forwarding work are not counted. Each driver entry point found must have been
# called ROUNDS times from measured_rx_tx(), and rx and tx bursts must both be there; otherwise we fail
# rather than report.
#
# Definition: a packet is one frame received AND forwarded (one rx plus one tx descriptor), so
#   driver.instructions_per_packet = driver Ir / (ROUNDS * 32)
# The same program also runs an ixy-style reference loop (ref_rx_burst/ref_tx_burst, see e1000e_cost.c) on
# rings of its own; its calls from measured_ref_rx_tx() are counted the same way.
# Output, exactly three lines:
#   driver.instructions_per_packet <value, 2 decimals>
#   driver.totals instructions=<Ir> packets=<n> rounds=<R> batch=32 <function>=<Ir>...
#   driver.reference_instructions_per_packet <value> (ixy-style loop: <function>=<Ir>...; upci <ratio>x)
set -eu

die() {
	echo "cpu_cost.sh: $*" >&2
	exit 1
}

usage() {
	echo "usage: cpu_cost.sh [--json FILE] [--keep FILE] [PROGRAM [ROUNDS]]" >&2
	exit 2
}

json=
keep=
while [ $# -gt 0 ]; do
	case "$1" in
	--json) [ $# -ge 2 ] || usage; json=$2; shift 2 ;;
	--keep) [ $# -ge 2 ] || usage; keep=$2; shift 2 ;;
	-h|--help) usage ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -le 2 ] || usage

command -v valgrind >/dev/null 2>&1 ||
	die "valgrind not found: install it (Debian/Ubuntu: apt-get install valgrind)"
command -v python3 >/dev/null 2>&1 || die "python3 not found"

here=$(cd "$(dirname "$0")" && pwd)
prog=${1:-${CPU_COST:-$here/../../build/app/bench/cpu_cost}}
rounds=${2:-10000}
case "$rounds" in
''|*[!0-9]*) die "ROUNDS must be a positive integer, not '$rounds'" ;;
esac
[ "$rounds" -gt 0 ] || die "ROUNDS must be a positive integer"
[ -x "$prog" ] || die "$prog: no such executable (build it, or pass PROGRAM or set CPU_COST)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cpu_cost.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
out=${keep:-$tmp/callgrind.out}

# --compress-*=no: names and line numbers in full, easier to read back (the parser copes with both).
if ! valgrind --tool=callgrind --callgrind-out-file="$out" --compress-strings=no --compress-pos=no \
	--log-file="$tmp/valgrind.log" "$prog" "$rounds" >"$tmp/stdout"; then
	cat "$tmp/stdout" "$tmp/valgrind.log" >&2
	die "$prog failed under valgrind"
fi
packets=$(sed -n 's/^cpu_cost: rounds [0-9]* batch [0-9]* packets \([0-9]*\) .*/\1/p' "$tmp/stdout")
[ -n "$packets" ] || { cat "$tmp/stdout" >&2; die "no packet count in the output of $prog"; }

python3 - "$out" "$rounds" "$packets" "$json" <<'EOF'
import json
import re
import sys

path, rounds, packets, json_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
BATCH = 32
CALLER = 'measured_rx_tx'
DRIVER = ('e1000e_rxq_burst', 'e1000e_txq_burst', 'e1000e_txq_clean')
REF_CALLER = 'measured_ref_rx_tx'
REF = ('ref_rx_burst', 'ref_tx_burst')
METHOD = ('callgrind: inclusive Ir of the calls measured_rx_tx() makes to ' + ' + '.join(DRIVER) +
          ', per packet received and forwarded (one rx + one tx descriptor)')


def fail(msg):
    sys.exit('cpu_cost.sh: ' + msg)


def base(name):
    # GCC clone suffixes: foo.constprop.0, foo.isra.0, foo.part.0
    return re.sub(r'\.(constprop|isra|part|cold|lto_priv)\b.*$', '', name or '')


names = {}


def fn_name(val):
    # "(id) name" defines a compressed name, "(id)" refers to one, "name" is uncompressed.
    m = re.match(r'\((\d+)\)\s*(.*)$', val)
    if not m:
        return val
    if m.group(2):
        names[m.group(1)] = m.group(2)
    return names.get(m.group(1), '')


positions, ir_col = 1, None
fn = cfn = None
calls = None  # call count of the calls= line whose cost line comes next
cost = {d: 0 for d in DRIVER + REF}
ncalls = {d: 0 for d in DRIVER + REF}
SITES = {CALLER: DRIVER, REF_CALLER: REF}
with open(path) as f:
    for line in f:
        line = line.rstrip('\n')
        if line.startswith('positions:'):
            positions = len(line.split()[1:])
        elif line.startswith('events:'):
            events = line.split()[1:]
            if 'Ir' not in events:
                fail('no Ir event in ' + path)
            ir_col = positions + events.index('Ir')
        elif line.startswith('fn='):
            fn, cfn = fn_name(line[3:]), None
        elif line.startswith('cfn='):
            cfn = fn_name(line[4:])
        elif line.startswith('calls='):
            calls = int(line[6:].split()[0])
        elif calls is not None and line[:1] and line[0] in '0123456789+-*':
            cols = line.split()
            ir = int(cols[ir_col]) if ir_col is not None and len(cols) > ir_col else 0
            if base(cfn) in SITES.get(base(fn), ()):
                cost[base(cfn)] += ir
                ncalls[base(cfn)] += calls
            calls = None

for d in DRIVER:
    if ncalls[d] not in (0, rounds):
        fail('%s called %d times from %s, expected %d' % (d, ncalls[d], CALLER, rounds))
for d in DRIVER[:2] + REF:
    if ncalls[d] != rounds:
        fail('%s called %d times from its measured loop, expected %d (inlined, e.g. by LTO? renamed?)' %
             (d, ncalls[d], rounds))
if packets != rounds * BATCH:
    fail('the program reports %d packets, expected %d' % (packets, rounds * BATCH))

total = sum(cost[d] for d in DRIVER)
per = total / packets
ref_total = sum(cost[d] for d in REF)
ref_per = ref_total / packets
print('driver.instructions_per_packet %.2f' % per)
print('driver.totals instructions=%d packets=%d rounds=%d batch=%d %s' %
      (total, packets, rounds, BATCH, ' '.join('%s=%d' % (d, cost[d]) for d in DRIVER)))
print('driver.reference_instructions_per_packet %.2f (ixy-style loop: %s; upci %.2fx)' %
      (ref_per, ' '.join('%s=%d' % (d, cost[d]) for d in REF), per / ref_per))
if json_path:
    doc = {'driver': {'instructions_per_packet': round(per, 2), 'rounds': rounds, 'batch': BATCH,
                      'instructions': total, 'packets': packets, 'method': METHOD,
                      'rx_instructions_per_packet': round(cost['e1000e_rxq_burst'] / packets, 2),
                      'tx_instructions_per_packet': round((cost['e1000e_txq_burst'] + cost['e1000e_txq_clean']) /
                                                          packets, 2),
                      'reference_instructions_per_packet': round(ref_per, 2),
                      'reference_method': 'the same harness counting ref_rx_burst + ref_tx_burst from '
                                          'measured_ref_rx_tx(): an ixy-style loop on the same rings (no length '
                                          'or buffer checks, no counters, RS on every descriptor)'}}
    with open(json_path, 'w') as f:
        json.dump(doc, f, indent=2)
        f.write('\n')
EOF
