#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The benchmark, short: every method must produce figures, no frame may be lost, an idle interrupt-mode
# receiver must stay under 5% of a core. The figures themselves are reported, not asserted. TAP on stdout.
# usage: test_bench.sh RESULTS_DIR [--dpdk]
set -u
here=$(cd "$(dirname "$0")" && pwd)
tree=$(cd "$here/../.." && pwd)
"$tree/app/bench/run-bench.sh" --quick --kernel iommufd --results "$1" >&2
exec python3 "$tree/app/bench/check_bench.py" "$@"
