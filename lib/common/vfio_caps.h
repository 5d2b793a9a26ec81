/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal: the VFIO capability-chain walker, shared by the IOMMU layer (VFIO_IOMMU_GET_INFO) and the device
 * layer (VFIO_DEVICE_GET_REGION_INFO). Pure logic: no kernel calls.
 */
#ifndef UPCI_COMMON_VFIO_CAPS_H
#define UPCI_COMMON_VFIO_CAPS_H

#include <stdint.h>

/**
 * vfio_cap_walk() - call @fn for each capability of a VFIO reply.
 * @buf: the reply, @argsz bytes; @fixed: size of its fixed part; @first: offset of the first capability.
 * @fn: gets each capability with the bytes it may use (up to the next capability, or the end of the reply);
 *      a non-zero return ends the walk with it.
 *
 * Return: 0, @fn's non-zero value, or -EINVAL for loops, out-of-bounds, misaligned or backward offsets.
 */
int vfio_cap_walk(const void *buf, uint32_t argsz, uint32_t fixed, uint32_t first,
		  int (*fn)(const uint8_t *cap, uint32_t avail, uint16_t id, void *arg), void *arg);

#endif
