/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/region.h — the VFIO regions of an open device (BARs, ROM, config space, device-specific ones)
 * and pread/pwrite access to them. Mapped register access: upci/io.h.
 */
#ifndef UPCI_REGION_H
#define UPCI_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct upci_dev;

#define UPCI_MAX_SPARSE 8

/** struct upci_region - a VFIO region as VFIO_DEVICE_GET_REGION_INFO and its capabilities describe it. */
struct upci_region {
	uint32_t index;
	uint32_t flags;                /* VFIO_REGION_INFO_FLAG_READ/WRITE/MMAP/CAPS */
	uint64_t size;
	uint64_t offset;               /* of the region in the device fd */
	bool msix_mappable;            /* capability MSIX_MAPPABLE */
	bool has_type;                 /* capability TYPE */
	uint32_t type, subtype;
	bool has_sparse;               /* capability SPARSE_MMAP present: only its areas may be mmapped */
	uint32_t n_sparse;             /* (none at all when it lists no area) */
	struct { uint64_t offset, size; } sparse[UPCI_MAX_SPARSE];
};

/** upci_dev_region_count() - number of regions (VFIO_DEVICE_GET_INFO num_regions). */
unsigned upci_dev_region_count(const struct upci_dev *dev);

/** upci_dev_region() - region @index, or NULL when out of range. */
const struct upci_region *upci_dev_region(const struct upci_dev *dev, unsigned index);

/**
 * upci_region_read() / upci_region_write() - pread/pwrite on the device fd within region @index.
 * Return: 0 (nothing is transferred for @len 0), -EINVAL (outside the region, or the device has no such
 * region), -ENODEV (device removed), -EIO (short transfer), -errno.
 */
int upci_region_read(struct upci_dev *dev, unsigned index, uint64_t off, void *buf, size_t len);
int upci_region_write(struct upci_dev *dev, unsigned index, uint64_t off, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
