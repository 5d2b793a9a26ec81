# SPDX-License-Identifier: BSD-3-Clause
# TAP helpers for guest scripts (sourced by busybox sh): several programs' TAP merged into one stream.
tap_n=0 tap_failed=0
# tap_ok STATUS DESCRIPTION
tap_ok() {
	tap_n=$((tap_n + 1))
	if [ "$1" = 0 ]; then echo "ok $tap_n - $2"; else tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $2"; fi
}
# tap_run PROGRAM ARGS... : run a TAP-printing program, renumber its lines into this stream, drop its plan;
# a non-zero exit without a failing line counts as one failure.
tap_run() {
	out=$("$@" 2>&1); rc=$?
	before=$tap_failed
	while IFS= read -r line; do
		case "$line" in
		"ok "*) tap_ok 0 "${line#ok [0-9]* - }" ;;
		"not ok "*) tap_ok 1 "${line#not ok [0-9]* - }" ;;
		1..*) ;;
		*) echo "# $line" ;;
		esac
	done <<TAPEOF
$out
TAPEOF
	[ "$rc" = 0 ] || [ "$tap_failed" -gt "$before" ] || tap_ok 1 "$1 exited with status $rc"
}
tap_end() {
	echo "1..$tap_n"
	[ "$tap_failed" = 0 ]
}
