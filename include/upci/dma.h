/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/dma.h — DMA memory and the IOVA space of an IOMMU context.
 *
 * upci owns the IOVA space of each context (type1 container or iommufd IOAS): it hands out addresses
 * only inside the ranges the kernel reports as valid and never inside a reserved region, in particular
 * never inside an MSI doorbell window (x86: the 0xfee00000 interrupt window; ARM: the software-MSI window
 * the kernel maps the GIC ITS doorbell into). The windows are read from the kernel, not assumed.
 *
 * Functions return 0 (or a count) or a negative errno, with one log line on failure.
 */
#ifndef UPCI_DMA_H
#define UPCI_DMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upci/vfio.h"

#ifdef __cplusplus
extern "C" {
#endif

/** struct upci_doorbell_window - an MSI doorbell window in the IOVA space; @last is inclusive. */
struct upci_doorbell_window {
	uint64_t start;
	uint64_t last;
	const char *name;     /* from the window's address, not the host: "x86 MSI window (interrupt remapping)"
			       * over 0xfee00000-0xfeefffff, else "software-MSI window (the kernel maps the MSI
			       * doorbell here)" */
	bool kernel_managed;  /* the kernel places it; userspace cannot move it */
};

/**
 * upci_iommu_doorbell_windows() - the MSI doorbell windows of the context's attached groups.
 * Return: the number written to @out (at most @max), or a negative errno.
 */
int upci_iommu_doorbell_windows(struct upci_iommu *iommu, struct upci_doorbell_window *out, size_t max);

/**
 * upci_iommu_usable_ranges() - the IOVA ranges the allocator hands out from: the kernel's valid ranges
 * minus every reserved region of every attached group. Return: the count, or -errno.
 */
int upci_iommu_usable_ranges(struct upci_iommu *iommu, struct upci_iova_range *out, size_t max);

/**
 * upci_iommu_dma_avail() - type1's remaining DMA mapping count (VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL), as
 * tracked by upci; -1 when the kernel does not limit it (iommufd) or does not say.
 */
long upci_iommu_dma_avail(struct upci_iommu *iommu);

/**
 * upci_iommu_iova_granule() - the smallest size and alignment of an IOVA allocation in @iommu: the larger of
 * the host's page size (upci_page_size()) and the smallest page the IOMMU maps (type1: the lowest bit of
 * VFIO_IOMMU_GET_INFO's iova_pgsizes; iommufd: IOMMU_IOAS_IOVA_RANGES' out_iova_alignment). 4 KiB on x86;
 * on arm64 it follows the kernel's page size and the SMMU's. Before a device is attached: the host page size.
 */
uint64_t upci_iommu_iova_granule(struct upci_iommu *iommu);

/**
 * upci_iova_alloc() - reserve @size bytes of IOVA aligned to @align.
 * @size: a multiple of upci_iommu_iova_granule(); @align: a power of two, at least the granule.
 * Best fit among the free ranges. Return: 0 and *@iova, -ENOSPC when no free range fits, -EINVAL.
 */
int upci_iova_alloc(struct upci_iommu *iommu, uint64_t size, uint64_t align, uint64_t *iova);

/**
 * upci_iova_alloc_fixed() - reserve exactly [@iova, @iova + @size); both multiples of the granule.
 * Return: 0; -EINVAL (with a message naming the window) when it touches a doorbell window or another
 * reserved region, lies outside the valid ranges or is not granule-aligned; -EBUSY when already allocated.
 */
int upci_iova_alloc_fixed(struct upci_iommu *iommu, uint64_t iova, uint64_t size);

/** upci_iova_free() - give back what upci_iova_alloc*() returned. Return: 0, -EINVAL if it was not allocated. */
int upci_iova_free(struct upci_iommu *iommu, uint64_t iova, uint64_t size);

/** Flags of upci_dma_alloc(). */
enum {
	UPCI_DMA_NO_HUGEPAGES = 1u << 0, /* base pages even when hugepages are available */
};

/** struct upci_dma - pinned memory mapped for DMA; read-only for callers. */
struct upci_dma {
	uint8_t *va;
	uint64_t iova;
	size_t len;           /* rounded up to @page_size and to the IOVA granule */
	size_t page_size;     /* the hugepage size when backed by hugepages, else the base page size */
	int numa_node;        /* where it was placed; -1 when not bound */
	struct upci_iommu *iommu;
	struct upci_dma *next; /* the context's list */
};

/**
 * upci_dma_alloc() - allocate, pin and map @len bytes for the devices of @iommu.
 * @numa_node: place the memory on this node (libnuma), -1 for no preference. Use upci_dev_numa_node().
 *
 * Hugepages when possible (2 MiB where the kernel has that size, else its default hugepage size), else base
 * pages with one warning per process. Length, address and IOVA are aligned to the larger of the page size
 * and upci_iommu_iova_granule(), as the IOMMU requires. One mapping per call (type1
 * limits the number of mappings: allocate large chunks and carve them, see upci_pktpool). Before pinning,
 * the request is checked against RLIMIT_MEMLOCK: a process without CAP_IPC_LOCK that would exceed it gets
 * -ENOMEM and a message saying how much is needed, the limit, and how to raise it.
 * Return: 0 and *@out, or a negative errno.
 */
int upci_dma_alloc(struct upci_iommu *iommu, size_t len, int numa_node, unsigned flags, struct upci_dma **out);

/**
 * upci_iommu_test_unmap_all() - test hook: take every DMA allocation of @iommu out of the IOMMU (VFIO_IOMMU_UNMAP_DMA
 * / IOMMU_IOAS_UNMAP) while the memory stays allocated, so the devices' DMA fails as on a broken IOMMU setup.
 * upci_iommu_test_remap_all() maps them back at the same IOVAs (do so before freeing any of them). Nothing may
 * allocate or free DMA memory of @iommu meanwhile. Return: the number of allocations, or -errno (one line logged).
 */
int upci_iommu_test_unmap_all(struct upci_iommu *iommu);
int upci_iommu_test_remap_all(struct upci_iommu *iommu);

/** upci_dma_free() - unmap, unpin and free. NULL is ignored. */
void upci_dma_free(struct upci_dma *dma);

/** upci_dma_iova() - the IOVA of any address inside @dma, O(1). Returns ~0 for an address outside it. */
static inline uint64_t upci_dma_iova(const struct upci_dma *dma, const void *va)
{
	uintptr_t off = (uintptr_t)va - (uintptr_t)dma->va;

	return off < dma->len ? dma->iova + off : ~0ull;
}

/** upci_dev_numa_node() - the device's NUMA node from sysfs (-1 when unknown). */
int upci_dev_numa_node(const struct upci_dev *dev);

/**
 * upci_memlock_check() - would pinning @need more bytes exceed RLIMIT_MEMLOCK?
 * @limit: the soft limit in bytes (RLIM_INFINITY for none); @locked: bytes this process already pinned;
 * @cap_ipc_lock: the process has CAP_IPC_LOCK (then the limit does not apply).
 * Return: 0, or -ENOMEM after one log line with the figures and how to raise the limit.
 */
int upci_memlock_check(uint64_t need, uint64_t limit, uint64_t locked, bool cap_ipc_lock);

#ifdef __cplusplus
}
#endif
#endif
