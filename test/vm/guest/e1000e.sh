#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Guest side of the e1000e driver VM test (runs inside test/vm/vmrun). TAP on stdout.
# usage: e1000e.sh VM_E1000E_BINARY FRAMES [EXAMPLES_DIR]
bin=$1 frames=${2:-100000} examples=${3:-}
. "$(dirname "$0")/tap.sh"
a=0000:00:02.0 b=0000:00:03.0
echo "# kernel $UPCI_VM_KERNEL ($(uname -r)); $frames frames per run, 16 flows"
for mode in poll interrupt hybrid; do
	tap_run "$bin" traffic "$mode" "$a" "$b" "$frames" 16
	tap_run "$bin" traffic "$mode" "$b" "$a" "$frames" 16
done
tap_run "$bin" link "$a" nic0
if [ -n "$examples" ]; then
	out=$(PCIDEVICE_INTEL_COM_NIC=$b "$examples/read_register" 2>&1)
	echo "$out" | sed 's/^/# /'
	echo "$out" | grep -q "^$b: backend" && echo "$out" | grep -q "BAR 0 + 0x8 = 0x"
	tap_ok $? "examples/read_register finds its device through PCIDEVICE_* and reads STATUS"
	out=$("$examples/rx_hybrid" "$a" 2 2>&1)
	echo "$out" | sed 's/^/# /'
	echo "$out" | grep -q "sleeps [1-9]"
	tap_ok $? "examples/rx_hybrid runs and its idle queue sleeps"
fi
tap_end
