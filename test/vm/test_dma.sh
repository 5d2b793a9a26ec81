#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# VM test of DMA memory and the doorbell-aware IOVA space on one kernel. TAP on stdout.
# usage: test_dma.sh VMRUN ARCH KERNEL VM_DMA_BINARY
set -u
vmrun=$1 arch=$2 kernel=$3 bin=$4
here=$(cd "$(dirname "$0")" && pwd)
# 1 GiB of DMA memory in 2 MiB pages needs 512 of them, plus headroom, in a 2 GiB guest.
exec "$vmrun" --arch "$arch" --kernel "$kernel" --memory 2048 --hugepages 600 --timeout 400 -- sh "$here/guest/dma.sh" "$bin"
