/* SPDX-License-Identifier: BSD-3-Clause */
/* Walking VFIO capability chains (region info, IOMMU info): see vfio_caps.h. */
#include <errno.h>
#include <linux/vfio.h>
#include <string.h>

#include "vfio_caps.h"

/* More capabilities than this in one reply is a loop or garbage. */
#define CAP_CHAIN_MAX 64

/* A capability's bytes end where the next one begins (offsets ascend), else at the end of the reply: a
 * count inside it (nr_iovas, nr_areas) that claims more is refused instead of reading the next capability. */
static uint32_t cap_extent(uint32_t at, uint32_t next, uint32_t argsz)
{
	return (next > at && next < argsz ? next : argsz) - at;
}

int vfio_cap_walk(const void *buf, uint32_t argsz, uint32_t fixed, uint32_t first,
		  int (*fn)(const uint8_t *cap, uint32_t avail, uint16_t id, void *arg), void *arg)
{
	const uint8_t *b = buf;
	uint32_t at = first, prev = 0;

	for (int steps = 0; at; steps++) {
		struct vfio_info_cap_header h;
		int rc;

		/* Inside the reply, after the fixed part, aligned, strictly ascending, a bounded number of steps. */
		if (steps >= CAP_CHAIN_MAX || at < fixed || at <= prev || (at & 3) || (uint64_t)at + sizeof(h) > argsz)
			return -EINVAL;
		memcpy(&h, b + at, sizeof(h));
		rc = fn(b + at, cap_extent(at, h.next, argsz), h.id, arg);
		if (rc)
			return rc;
		prev = at;
		at = h.next;
	}
	return 0;
}
