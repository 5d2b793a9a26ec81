#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# VM test of the test-bed itself: exit statuses, kernels, binding, isolation settings, failure modes.
# usage: test_vmrun.sh VMRUN [ARCH]      (TAP on stdout; ARCH x86_64 or aarch64, default x86_64)
set -u
vmrun=$1 arch=${2:-x86_64}
n=0 failed=0
tap() { # tap OK DESCRIPTION [DETAIL]
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else
		failed=$((failed + 1)); echo "not ok $n - $2"; [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/# /'
	fi
}
# expect STATUS DESCRIPTION VMRUN-ARGS... : the run's exit status must be STATUS; its output is kept in $out.
expect() {
	local want=$1 what=$2 got; shift 2
	out=$("$vmrun" --arch "$arch" "$@" 2>&1); got=$?
	[ "$got" = "$want" ]; tap $? "$what (exit $want)" "got exit $got; output: $out"
}
# grep_out PATTERN DESCRIPTION : the last run's output must match PATTERN.
grep_out() { printf '%s\n' "$out" | grep -qE -- "$1"; tap $? "$2" "output: $out"; }

expect 0 "stable kernel runs /bin/true" -- /bin/true
expect 1 "stable kernel relays /bin/false" -- /bin/false
expect 0 "iommufd kernel runs /bin/true" --kernel iommufd -- /bin/true
expect 1 "iommufd kernel relays /bin/false" --kernel iommufd -- /bin/false
expect 42 "any exit status is relayed" --kernel iommufd -- sh -c 'exit 42'
expect 0 "arguments with spaces and quotes arrive intact" --kernel iommufd -- \
	sh -c 'test "$1" = "a b'"'"'c" && echo "cwd=$(pwd)"' sh "a b'c"
grep_out "^cwd=$PWD\$" "the command runs in the caller's directory"
expect 0 "iommufd kernel: /dev/iommu and both NICs' VFIO cdevs exist" --kernel iommufd -- \
	sh -c 'ls /dev/iommu /dev/vfio/devices && ls /sys/bus/pci/devices/0000:00:0[23].0/vfio-dev'
grep_out "vfio0" "vfio0 is listed"
grep_out "vfio1" "vfio1 is listed"
bound='for d in 02 03; do readlink /sys/bus/pci/devices/0000:00:$d.0/driver; done'
for k in stable iommufd; do
	expect 0 "$k kernel binds both NICs to vfio-pci" --kernel $k -- sh -c "$bound"
	[ "$(printf '%s\n' "$out" | grep -c 'drivers/vfio-pci$')" = 2 ]; tap $? "$k: both drivers are vfio-pci" "$out"
	expect 0 "$k kernel --no-intremap boots and binds" --kernel $k --no-intremap -- \
		sh -c "$bound; cat /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts"
	[ "$(printf '%s\n' "$out" | grep -c 'drivers/vfio-pci$')" = 2 ]; tap $? "$k --no-intremap: both on vfio-pci" "$out"
	grep_out '^Y$' "$k --no-intremap: vfio_iommu_type1 allow_unsafe_interrupts reads Y"
done
expect 0 "--no-intremap sets iommufd's allow_unsafe_interrupts too" --kernel iommufd --no-intremap -- \
	cat /sys/module/iommufd/parameters/allow_unsafe_interrupts
grep_out '^Y$' "iommufd allow_unsafe_interrupts reads Y"
expect 0 "intremap on: allow_unsafe_interrupts reads N" --kernel iommufd -- \
	cat /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
grep_out '^N$' "vfio_iommu_type1 allow_unsafe_interrupts reads N"
expect 0 "--keep-kernel-driver leaves the NICs on e1000e" --keep-kernel-driver -- sh -c "$bound"
[ "$(printf '%s\n' "$out" | grep -c 'drivers/e1000e$')" = 2 ]; tap $? "both drivers are e1000e" "$out"
expect 124 "a hung guest command is killed at --timeout" --kernel iommufd --timeout 8 -- sleep 600
grep_out "timeout" "the timeout is reported"
expect 125 "a guest whose init dies is reported" --kernel iommufd --timeout 60 --append rdinit=/bin/false -- /bin/true
grep_out "did not run the command" "the failure is explained"
expect 2 "an unknown option is refused" --frobnicate -- /bin/true
expect 2 "an unknown architecture is refused" --arch sparc64 -- /bin/true
expect 0 "the guest has the architecture asked for" --kernel iommufd -- sh -c 'uname -m; echo "arch=$UPCI_VM_ARCH"'
grep_out "^$arch\$" "uname -m in the guest says $arch"
grep_out "^arch=$arch\$" "UPCI_VM_ARCH tells the command the architecture"
# Dynamically linked programs of the guest's architecture run from its /usr: the host's (x86_64), the cross
# build's arm64 root of Debian packages (aarch64, test/vm/cross/sysroot-aarch64).
expect 0 "a dynamically linked program of the guest's /usr runs (iproute2's ip -V)" --kernel iommufd -- /usr/bin/ip -V
grep_out "iproute2" "ip -V names iproute2"

# A wedged boot (the test hook stands in for the QEMU TCG wedge) boots once more where stdout is not a
# terminal (here: a pipe); the command's status is the second boot's, the first boot's output only comments.
out=$(UPCI_VMRUN_TEST_WEDGE_AFTER=2 "$vmrun" --arch "$arch" --kernel iommufd -- \
	sh -c 'sleep 6; echo second-boot-marker; exit 7' 2>&1); got=$?
[ "$got" = 7 ]; tap $? "a wedged first boot is booted again: the second boot's exit status (7, got $got)" "output: $out"
grep_out "booting it again, once" "the retry is said"
[ "$(printf '%s\n' "$out" | grep -c '^second-boot-marker$')" = 1 ]
tap $? "the command's output comes once, from the second boot" "output: $out"
out=$(UPCI_VMRUN_TEST_WEDGE_AFTER=1 "$vmrun" --arch "$arch" --kernel iommufd -- /bin/false 2>&1 < /dev/null); got=$?
[ "$got" = 1 ]; tap $? "a failing command is not retried into a pass: /bin/false still exits 1 (got $got)" "output: $out"

echo "1..$n"
[ "$failed" = 0 ]
