/* SPDX-License-Identifier: BSD-3-Clause */
/* Walking VFIO capability chains (region info, IOMMU info): see vfio_caps.h. */
#include <errno.h>
#include <linux/vfio.h>
#include <string.h>

#include "vfio_caps.h"

/* More capabilities than this in one reply is a loop or garbage. */
#define CAP_CHAIN_MAX 64

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
		rc = fn(b + at, argsz - at, h.id, arg);
		if (rc)
			return rc;
		prev = at;
		at = h.next;
	}
	return 0;
}
