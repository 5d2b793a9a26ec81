/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A fake VFIO kernel for unit tests, installed through the kernel seam: a type1 container, groups, an
 * iommufd with VFIO cdevs, and one 82574L-like device (regions, capability chains, config space, a
 * register file) whose memory is shared between pread/pwrite and mmap, like the real region fd.
 * Fault injection fails the Nth call of a kind, so every error path of the library can be driven; the
 * fake counts live fds and address-space reservations so tests can prove nothing leaks.
 */
#ifndef UPCI_TEST_FAKE_VFIO_H
#define UPCI_TEST_FAKE_VFIO_H

#include <linux/vfio.h>
#include <stdbool.h>
#include <stdint.h>

#include "fake_sysfs.h"

#define FAKE_NUM_REGIONS 9
#define FAKE_BDF "0000:00:02.0"
#define FAKE_BDF2 "0000:00:03.0" /* the second device (fake_vfio_add_second_device()) */
#define FAKE_GROUP 7

struct fake_region {
	uint32_t flags;
	uint64_t size;
	uint8_t caps[512];      /* capability chain; `next` offsets absolute within the reply */
	uint32_t caps_len;
	int memfd;              /* backing store shared by pread/pwrite and mmap */
	uint64_t hide_lo, hide_hi; /* reads here answer all-ones and writes are dropped (MSI-X table) */
	bool absent;            /* GET_REGION_INFO answers EINVAL (VGA) */
	uint64_t offset;        /* GET_REGION_INFO reports this offset when nonzero (default: index << 40) */
};

/* FAKE_PREAD: a pread of a device region (config space, the trapped register path). */
enum fake_call { FAKE_OPEN, FAKE_IOCTL, FAKE_MMAP, FAKE_EVENTFD, FAKE_PREAD, FAKE_NCALLS };

struct fake_vfio {
	struct fake_sysfs sys;
	/* the script */
	bool group_viable;
	bool has_iommufd;             /* /dev/iommu exists */
	bool has_cdev;                /* the device has /dev/vfio/devices/vfio0 */
	bool second_device;           /* FAKE_BDF2 exists too (type1 only): same group, shares every region,
				       * the interrupt model and the REQ eventfd slot (the last one wired) */
	int set_iommu_errno;          /* VFIO_SET_IOMMU fails with this */
	int bind_errno;               /* VFIO_DEVICE_BIND_IOMMUFD fails with this */
	uint32_t dev_flags;           /* VFIO_DEVICE_GET_INFO flags */
	struct fake_region regions[FAKE_NUM_REGIONS];
	struct vfio_irq_info irqs[VFIO_PCI_NUM_IRQS];
	int fail_at[FAKE_NCALLS];     /* fail the Nth call of that kind (1-based; 0: never) with EIO */
	/* what happened */
	int calls[FAKE_NCALLS];
	int live_fds;                 /* fake fds and eventfds open now */
	int live_reservations;        /* anonymous PROT_NONE reservations not yet unmapped */
	int set_iommu_calls;
	int resets;
	int pread_calls;
	int req_eventfd;              /* the eventfd wired to the REQ index, -1 if none */
	int dma_maps;                 /* live MAP_DMA / IOAS_MAP mappings */
	uint64_t dma_bytes;
	uint32_t type1_claim_iovas;   /* GET_INFO's IOVA_RANGE states this many ranges (0: the 2 it holds) */
	uint32_t dma_entry_limit;     /* type1 DMA_AVAIL = limit - live mappings (default 65535) */
	uint64_t last_map_iova;
	bool sw_msi_option;           /* the kernel offers the (proposed) IOMMU_OPTION_SW_MSI_START/SIZE */
	/* page sizes: what an arm64 kernel with 16/64 KiB pages or an SMMU with a larger granule reports */
	long page_size;               /* sysconf(_SC_PAGESIZE) through the seam (default: the real one) */
	uint64_t iova_pgsizes;        /* type1 VFIO_IOMMU_GET_INFO iova_pgsizes (default 4K | 2M | 1G) */
	uint64_t iova_alignment;      /* iommufd IOMMU_IOAS_IOVA_RANGES out_iova_alignment (default 4096) */
	bool hugetlb;                 /* MAP_HUGETLB succeeds (ordinary pages, hugepage-aligned); else ENOMEM */
	int hugetlb_flags;            /* the flags of the last MAP_HUGETLB request, 0 if none */
	/* interrupts, modelled on vfio_pci_set_msi_trigger() */
	unsigned irq_grant_limit;     /* enabling more vectors than this returns the count granted (0: no limit) */
	int irq_type;                 /* the enabled index, -1 for none */
	unsigned irq_allocated;       /* vectors allocated for it */
	int irq_wired[32];            /* eventfd per vector, -1 */
	int irq_disables;
	struct {
		uint32_t argsz, flags, index, start, count;
		int32_t fds[32];
	} last_set;                   /* the last VFIO_DEVICE_SET_IRQS for INTx/MSI/MSI-X */
	uint64_t sw_msi_start, sw_msi_size_mb; /* what userspace set */
};

/* Build the default world (device bound to vfio-pci in group FAKE_GROUP, viable, isolation on) and
 * install it. Tests change the script before calling upci_dev_open(). Return: 0 or -1. */
int fake_vfio_init(struct fake_vfio *f);
void fake_vfio_cleanup(struct fake_vfio *f);

/* Write allow_unsafe_interrupts ("Y" or "N") for both backends. */
void fake_vfio_set_unsafe(struct fake_vfio *f, bool unsafe);
/* Add FAKE_BDF2, an identical device in the same IOMMU group, bound to vfio-pci (type1 backend only). */
void fake_vfio_add_second_device(struct fake_vfio *f);
/* Add the cdev sysfs entry and /dev/iommu. */
void fake_vfio_enable_iommufd(struct fake_vfio *f);
/* The alignment the fake IOMMU demands of a DMA mapping's IOVA, size and address under either backend. */
uint64_t fake_vfio_dma_granule(const struct fake_vfio *f, bool iommufd);
/* Read/write the backing store of region @index directly (bypassing hiding). */
void fake_region_poke(struct fake_vfio *f, unsigned index, uint64_t off, const void *buf, size_t len);
void fake_region_peek(struct fake_vfio *f, unsigned index, uint64_t off, void *buf, size_t len);
/* Append a capability to region @index's chain (header filled in: id, version 1, next linked). */
void fake_region_add_cap(struct fake_vfio *f, unsigned index, uint16_t id, const void *body, size_t body_len);

#endif
