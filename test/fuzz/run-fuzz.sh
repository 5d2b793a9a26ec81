#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# run-fuzz.sh HARNESS CORPUS_DIR REGRESSIONS_DIR — one bounded libFuzzer run of a harness.
#   1. replay every saved regression input (each must pass now);
#   2. fuzz a temporary COPY of the seed corpus (the tree is never written) for FUZZ_SECONDS (default 20),
#      crash artifacts going to a temporary directory that is kept and named when something is found.
# Exit status: 0 when nothing was found.
set -eu
harness=$1 corpus=$2 regressions=$3
seconds=${FUZZ_SECONDS:-20}
name=$(basename "$harness")
work=$(mktemp -d "${TMPDIR:-/tmp}/upci-$name-XXXXXX")
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
mkdir "$work/corpus" "$work/artifacts" "$work/tmp"
# The harnesses' fake sysfs trees go here too: a crashing run (no atexit) leaves nothing elsewhere.
export TMPDIR="$work/tmp"
if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions" 2>/dev/null)" ]; then
	echo "== $name: replaying $(ls "$regressions" | wc -l) regression input(s)"
	"$harness" -runs=1 "$regressions"/* || { echo "$name: a regression input fails again" >&2; exit 1; }
fi
[ -d "$corpus" ] && cp -R "$corpus"/. "$work/corpus/"
echo "== $name: fuzzing for $seconds s (corpus copy in $work/corpus)"
rc=0
"$harness" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=4096 -print_final_stats=1 \
	-artifact_prefix="$work/artifacts/" "$work/corpus" || rc=$?
if [ "$rc" != 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
	echo "$name: FINDING (exit $rc); inputs kept in $work/artifacts:" >&2
	ls -l "$work/artifacts" >&2
	exit 1
fi
rm -rf "$work"
