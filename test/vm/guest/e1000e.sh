#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Guest side of the e1000e driver VM test (runs inside test/vm/vmrun). TAP on stdout.
# usage: e1000e.sh VM_E1000E_BINARY FRAMES
bin=$1 frames=${2:-100000}
. "$(dirname "$0")/tap.sh"
a=0000:00:02.0 b=0000:00:03.0
echo "# kernel $UPCI_VM_KERNEL ($(uname -r)); $frames frames per run, 16 flows"
for mode in poll interrupt hybrid; do
	tap_run "$bin" traffic "$mode" "$a" "$b" "$frames" 16
	tap_run "$bin" traffic "$mode" "$b" "$a" "$frames" 16
done
tap_run "$bin" link "$a" nic0
tap_end
