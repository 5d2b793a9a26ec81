/* SPDX-License-Identifier: BSD-3-Clause */
/* Numbered test frames for the guest-side port programs (see guest_frames.h). */
#include <string.h>

#include "guest_frames.h"

enum { SEQ_AT = 14 };

unsigned frame_size(uint32_t seq)
{
	return 60 + (seq * 2654435761u) % 1455u;
}

static uint8_t byte_of(uint32_t seq, unsigned i, uint8_t salt)
{
	return (uint8_t)((seq >> (i & 3) * 8) ^ i ^ salt);
}

void frame_fill(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint32_t seq, uint8_t salt)
{
	unsigned len = frame_size(seq);

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x88, f[13] = 0xb5; /* IEEE 802 local experimental ethertype */
	memcpy(f + SEQ_AT, &seq, 4);
	for (unsigned i = SEQ_AT + 4; i < len; i++)
		f[i] = byte_of(seq, i, salt);
}

uint32_t frame_intact(const struct upci_pkt *p, uint32_t limit, uint8_t salt)
{
	const uint8_t *f = p->buf;
	uint32_t seq;

	if (p->len < SEQ_AT + 4)
		return UINT32_MAX;
	memcpy(&seq, f + SEQ_AT, 4);
	if (seq >= limit || p->len != frame_size(seq))
		return UINT32_MAX;
	for (unsigned i = SEQ_AT + 4; i < p->len; i++)
		if (f[i] != byte_of(seq, i, salt))
			return UINT32_MAX;
	return seq;
}
