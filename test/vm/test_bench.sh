#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The benchmark, short: every method must produce figures, no frame may be lost, an idle interrupt-mode
# receiver must stay under 5% of a core. The figures themselves are reported, not asserted. TAP on stdout.
# usage: test_bench.sh RESULTS_DIR [--dpdk] [--arch x86_64|aarch64]
set -u
here=$(cd "$(dirname "$0")" && pwd)
tree=$(cd "$here/../.." && pwd)
results=$1; shift
arch=x86_64 check=()
while [ $# -gt 0 ]; do
	case "$1" in
	--arch) arch=$2; shift 2 ;;
	*) check+=("$1"); shift ;;
	esac
done
# Callgrind counts the host's own (x86) binary: only meaningful for a guest of the host's architecture.
[ "$arch" = "$(uname -m)" ] || check+=(--no-callgrind)
# The stable kernel: DPDK needs timerfd, which the tiny iommufd kernel leaves out.
"$tree/app/bench/run-bench.sh" --quick --arch "$arch" --kernel stable --results "$results" >&2
exec python3 "$tree/app/bench/check_bench.py" "$results" "${check[@]}"
