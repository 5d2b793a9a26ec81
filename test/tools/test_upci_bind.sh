#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# upci-bind's command line against a saved sysfs tree (--root): --help/--version, bad input and refused
# requests give one clear line and exit status 2 before anything is written, --status (text and JSON),
# --dry-run, and a bind the "kernel" (a plain tree) does not carry out: exit 1, rolled back. TAP on stdout.
# usage: test_upci_bind.sh UPCI_BIND
set -u
bind=$1
root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
n=0 failed=0
tap() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else failed=$((failed + 1));
	echo "not ok $n - $2"; printf '%s\n' "$3" | sed 's/^/# /'; fi; }
# run WANT-STATUS DESCRIPTION ARGS... ; stdout in $out, stderr in $err
run() {
	local want=$1 what=$2; shift 2
	out=$("$bind" --root "$root" "$@" 2>"$root.err"); got=$?; err=$(cat "$root.err"); rm -f "$root.err"
	[ "$got" = "$want" ]; tap $? "$what (exit $want)" "got $got; stdout: $out; stderr: $err"
}
one_line() { [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [ -n "$err" ] && [ -z "$out" ]; tap $? "$1" "stderr: $err"; }
add_dev() { # add_dev BDF GROUP DRIVER
	local d=$root/sys/devices/pci0000:00/$1
	mkdir -p "$d" "$root/sys/bus/pci/devices" "$root/sys/kernel/iommu_groups/$2/devices" "$root/sys/bus/pci/drivers/$3"
	echo 0x8086 > "$d/vendor"; echo 0x10d3 > "$d/device"; echo 0x020000 > "$d/class"; echo -1 > "$d/numa_node"
	echo "(null)" > "$d/driver_override"
	ln -s "../../../devices/pci0000:00/$1" "$root/sys/bus/pci/devices/$1"
	ln -s "../../../../devices/pci0000:00/$1" "$root/sys/kernel/iommu_groups/$2/devices/$1"
	ln -s "../../../kernel/iommu_groups/$2" "$d/iommu_group"
	ln -s "../../../bus/pci/drivers/$3" "$d/driver"
	touch "$root/sys/bus/pci/drivers/$3/bind" "$root/sys/bus/pci/drivers/$3/unbind"
}
add_dev 0000:00:02.0 3 e1000e
add_dev 0000:00:03.0 3 e1000e
add_dev 0000:00:04.0 5 e1000e
mkdir -p "$root/sys/bus/pci/drivers/vfio-pci" && touch "$root/sys/bus/pci/drivers/vfio-pci/bind"
snapshot() { (cd "$root" && find . -type f -newer "$root/.mark" | sort); }
touch "$root/.mark"; sleep 1

out=$("$bind" --help); got=$?
[ "$got" = 0 ] && printf '%s\n' "$out" | grep -q '^Usage: upci-bind' && printf '%s\n' "$out" | grep -q -- '--restore'
tap $? "--help: usage on stdout, exit 0" "got $got"
out=$("$bind" --version); got=$?
[ "$got" = 0 ] && printf '%s\n' "$out" | grep -Eq '^upci-bind \(upci\) [0-9]+\.[0-9]+'
tap $? "--version: exit 0" "got $got: $out"

run 2 "no device"; one_line "no device: one line"
run 2 "malformed BDF" 00:02; one_line "malformed BDF: one line"
run 2 "absent device" 0000:00:09.0; one_line "absent device: one line"
printf '%s\n' "$err" | grep -q "0000:00:09.0: no such PCI device"; tap $? "absent device: named" "$err"
run 2 "--status with --restore" --status --restore; one_line "conflicting modes: one line"
run 2 "unknown user" --uid no-such-user-upci 0000:00:02.0; one_line "unknown user: one line"
run 2 "--all without --status" --all; one_line "--all without --status: one line"
run 2 "unknown option" --frobnicate 0000:00:02.0; one_line "unknown option: one line"
run 2 "relative --state" --state bind.json 0000:00:02.0; one_line "relative state path: one line"
run 2 "a group that is not viable" 0000:00:02.0; one_line "not viable: one line"
printf '%s\n' "$err" | grep -q "IOMMU group 3 is not viable for VFIO: it also holds 0000:00:03.0 (driver e1000e)"
tap $? "not viable: names the member and its driver" "$err"
[ -z "$(snapshot)" ]; tap $? "nothing was written by the refused requests" "$(snapshot)"

run 0 "--status" --status
printf '%s\n' "$out" | grep -q '^0000:00:02.0  8086:10d3  e1000e .* 3 ' && [ "$(printf '%s\n' "$out" | wc -l)" = 4 ]
tap $? "--status: a header and a row per network device" "$out"
run 0 "--status --json" --status --json 0000:00:04.0
printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin)["devices"]; assert len(d)==1 and d[0]["driver"]=="e1000e" and d[0]["iommu_group"]==5 and d[0]["group_node"] is None'
tap $? "--status --json parses, with driver and group" "$out"
run 0 "--dry-run --group" --dry-run --group 0000:00:02.0
[ "$(printf '%s\n' "$out" | grep -c 'would move e1000e -> vfio-pci')" = 2 ] && [ -z "$(snapshot)" ]
tap $? "--dry-run --group: both would move, nothing written" "$out $(snapshot)"
run 0 "--dry-run --json" --dry-run --json 0000:00:04.0
printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["ok"] and d["devices"][0]["action"]=="would-move" and d["memlock"][0]["kib_base_pages"]==8736'
tap $? "--dry-run --json: the plan and the memlock figure" "$out"

# A plain tree is a kernel that does nothing: the bind does not take, and is rolled back.
run 1 "a bind that does not take" 0000:00:04.0
printf '%s\n' "$err" | grep -q "0000:00:04.0: did not bind to vfio-pci" && printf '%s\n' "$out" | grep -q "rolled back to e1000e"
tap $? "... says so, rolled back" "stdout: $out; stderr: $err"
run 1 "--json of a failed bind" --json 0000:00:04.0
printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert not d["ok"] and "did not bind" in d["error"] and d["devices"][0]["action"]=="rolled-back"'
tap $? "--json of a failed bind: ok false, the error, rolled-back" "$out"
echo "1..$n"
[ "$failed" = 0 ]
