/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Numbered test frames for the guest-side port programs (vm_port, vm_faults): sizes 60..1514 and a payload
 * that follow from the number, so that the receiver can tell each frame's number and whether it is intact.
 * @salt is XORed into every payload byte: frames of one program (a feeder killed mid-stream, say) do not pass
 * for another's.
 */
#ifndef UPCI_GUEST_FRAMES_H
#define UPCI_GUEST_FRAMES_H

#include <stdint.h>

#include "upci/pktpool.h"

/* The length of frame @seq. */
unsigned frame_size(uint32_t seq);
/* Frame @seq from @src to @dst (EtherType 0x88b5) into @f, frame_size(seq) bytes. */
void frame_fill(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint32_t seq, uint8_t salt);
/* The frame's number if it is one of ours (below @limit) and intact, else UINT32_MAX. */
uint32_t frame_intact(const struct upci_pkt *p, uint32_t limit, uint8_t salt);

#endif
