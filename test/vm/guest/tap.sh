# SPDX-License-Identifier: BSD-3-Clause
# TAP helpers for guest scripts (sourced by busybox sh): several programs' TAP merged into one stream.
tap_n=0 tap_failed=0
# Each tap_run program gets at most tap_limit seconds (a script may change it): a hang becomes one failing line
# with the program's output so far, not a silent vmrun timeout with nothing to show.
tap_limit=480
# tap_ok STATUS DESCRIPTION
tap_ok() {
	tap_n=$((tap_n + 1))
	if [ "$1" = 0 ]; then echo "ok $tap_n - $2"; else tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $2"; fi
}
# tap_run PROGRAM ARGS... : run a TAP-printing program, renumber its lines into this stream, drop its plan;
# a non-zero exit without a failing line counts as one failure; so does running past tap_limit seconds.
tap_run() {
	out=$(timeout -k 5 "$tap_limit" "$@" 2>&1); rc=$?
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
	case $rc in
	124 | 137 | 143) tap_ok 1 "$1 did not finish within $tap_limit s (killed; its output so far is above)" ;;
	*) [ "$rc" = 0 ] || [ "$tap_failed" -gt "$before" ] || tap_ok 1 "$1 exited with status $rc" ;;
	esac
}
# wait_bounded PID SECONDS : wait for a background job; past SECONDS show where it sleeps, kill it, return 124.
# (An exited child stays a zombie until waited for, and kill -0 finds a zombie: running() reads its state.)
running() { [ -n "$(sed -n 's/^State:[[:space:]]*\([^Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)" ]; }
wait_bounded() {
	wb_i=0
	while running "$1" && [ $wb_i -lt $(($2 * 10)) ]; do sleep 0.1; wb_i=$((wb_i + 1)); done
	if running "$1"; then
		echo "# pid $1 ($(cat /proc/$1/comm 2>/dev/null)) still runs after $2 s, in $(cat /proc/$1/wchan 2>/dev/null): killed"
		sed 's/^/#   /' /proc/$1/stack 2>/dev/null
		kill -9 "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		return 124
	fi
	wait "$1"
}
tap_end() {
	echo "1..$tap_n"
	[ "$tap_failed" = 0 ]
}
