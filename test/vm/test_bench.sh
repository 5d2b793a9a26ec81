#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The benchmark, short: every method must produce figures, no frame may be lost, an idle interrupt-mode
# receiver must stay under 5% of a core. The figures themselves are reported, not asserted. TAP on stdout.
# usage: test_bench.sh RESULTS_DIR [--dpdk]
set -u
here=$(cd "$(dirname "$0")" && pwd)
tree=$(cd "$here/../.." && pwd)
# The stable kernel: DPDK needs timerfd, which the tiny iommufd kernel leaves out.
"$tree/app/bench/run-bench.sh" --quick --kernel stable --results "$1" >&2
exec python3 "$tree/app/bench/check_bench.py" "$@"
