/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal: the IOVA allocator engine (pure logic; see iova.c). */
#ifndef UPCI_IOVA_H
#define UPCI_IOVA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upci/pci.h"
#include "upci/iommu.h"

#define IOVA_MAX_RANGES 32
#define IOVA_MAX_RESV 64

struct iova_space {
	uint64_t granule;              /* smallest size and alignment handed out: max(host page, IOMMU page) */
	struct upci_iova_range *free;  /* sorted, disjoint; adjacent only where two valid ranges touch */
	size_t n_free, cap;
	struct upci_iova_range valid[IOVA_MAX_RANGES];
	size_t n_valid;
	struct upci_resv_region resv[IOVA_MAX_RESV];
	size_t n_resv;
};

/* Free space = @valid minus every @resv region, handed out in multiples of @granule (a power of two).
 * Return: 0, -EINVAL (bad granule, bad or overlapping ranges), -E2BIG, -ENOMEM. */
int iova_space_init(struct iova_space *s, uint64_t granule, const struct upci_iova_range *valid, size_t n_valid,
		    const struct upci_resv_region *resv, size_t n_resv);
void iova_space_fini(struct iova_space *s);
/* Aligned best fit. @size: multiple of the granule; @align: power of two >= the granule. Return: 0, -EINVAL, -ENOSPC. */
int iova_alloc(struct iova_space *s, uint64_t size, uint64_t align, uint64_t *out);
/* Exactly [iova, iova + size), both multiples of the granule. Return: 0; -EINVAL with *@hit set when it touches
 * a reserved region (*@hit NULL: outside the valid ranges or malformed); -EBUSY when (part of) it is allocated. */
int iova_alloc_fixed(struct iova_space *s, uint64_t iova, uint64_t size, const struct upci_resv_region **hit);
/* Give back an allocated range; merges with free neighbours. Return: 0, -EINVAL (not allocated). */
int iova_free(struct iova_space *s, uint64_t iova, uint64_t size);

#endif
