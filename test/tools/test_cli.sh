#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The command-line conventions of every tool and example (doc/api.md "Command lines"): --help prints to
# stdout, nothing on stderr, exit 0; --version prints "NAME (upci) VERSION" (the meson project version), exit 0;
# bad usage (an unknown option, a malformed number, one argument too many) exits 2 with exactly one line on
# stderr and nothing on stdout, before touching any device; --json is offered by each program that prints
# data; the man pages generated at build time exist and name their program. TAP on stdout.
# usage: test_cli.sh VERSION BINARY... [-- MANPAGE...]
set -u
version=$1; shift
bins=() mans=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do bins+=("$1"); shift; done
[ $# -gt 0 ] && shift && mans=("$@")
n=0 failed=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
tap() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else failed=$((failed + 1));
	echo "not ok $n - $2"; printf '%s\n' "$3" | sed 's/^/# /'; fi; }
# run BINARY ARGS... : stdout in $out, stderr in $err, status in $rc. No PCIDEVICE_*: nothing to open.
run() { out=$(env -u PCIDEVICE_INTEL_COM_E1000E "$@" 2>"$tmp/err" </dev/null); rc=$?; err=$(cat "$tmp/err"); }
lines() { [ -z "$1" ] && echo 0 || printf '%s\n' "$1" | wc -l; }

# Bad usage per program, beyond an unknown option: arguments each one must refuse without opening anything.
bad_args() {
	case $1 in
	echo) echo "--seconds x|--mode fast|a b" ;;
	l2fwd) echo "--frames 1e3|--seconds -1|0000:00:02.0|a b c" ;;
	read_register) echo "--version0|dev 0x3|dev 8 9" ;;
	rx_hybrid) echo "dev x|dev 1 2" ;;
	upci-probe) echo "--backend vfio|--root" ;;
	upci-bind) echo "--status --uid 0|00:02" ;;
	upci-bench) echo "--device 0000:00:02.0|--json" ;;
	upci-oci-bundle) echo "--bundle /nonexistent --memlock x --bdf 0000:00:02.0 true" ;;
	*) echo "" ;;
	esac
}

for bin in "${bins[@]}"; do
	name=$(basename "$bin")
	run "$bin" --help
	[ "$rc" = 0 ] && [ -n "$out" ] && [ -z "$err" ]
	tap $? "$name --help: exit 0, text on stdout only" "rc $rc; stderr: $err"
	case $name in
	upci-oci-bundle) ;; # writes a bundle, prints no data
	*)	echo "$out" | grep -q -- --json
		tap $? "$name --help offers --json" "$out" ;;
	esac
	run "$bin" --version
	[ "$rc" = 0 ] && [ "$out" = "$name (upci) $version" ] && [ -z "$err" ]
	tap $? "$name --version: '$name (upci) $version', exit 0" "rc $rc; stdout: $out; stderr: $err"
	IFS='|' read -r -a extra <<<"$(bad_args "$name")"
	for args in --no-such-option "${extra[@]}"; do
		# shellcheck disable=SC2086
		run "$bin" $args
		[ "$rc" = 2 ] && [ "$(lines "$err")" = 1 ] && [ -z "$out" ] && echo "$err" | grep -q "^$name: "
		tap $? "$name $args: exit 2, one line on stderr naming the program" "rc $rc; stdout: $out; stderr: $err"
	done
done
for man in "${mans[@]}"; do
	name=$(basename "$man" .1)
	grep -q "^\.TH \"\?${name^^}\"\? \"\?1\"\?" "$man" && grep -q "^\.SH SYNOPSIS" "$man" && grep -q -- '\\-\\-version' "$man"
	tap $? "man page $name.1: section 1, a SYNOPSIS, the options" "$(head -5 "$man")"
done
echo "1..$n"
[ "$failed" = 0 ]
