/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal to the IOMMU layer: the layout of an IOMMU context and the backend ops table. Only iommu.c (the
 * generic part), iommu_iova.c (the context's IOVA space) and the backends (iommu_type1.c, iommu_iommufd.c)
 * include this. A new backend is one file defining a struct iommu_backend_ops and one entry in the table of
 * iommu.c (and a value in enum upci_backend).
 */
#ifndef UPCI_IOMMU_BACKEND_H
#define UPCI_IOMMU_BACKEND_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iommu_internal.h"
#include "iova.h"
#include "upci/pci.h"

struct iommu_backend_ops;

struct upci_iommu {
	enum upci_backend backend;
	const struct iommu_backend_ops *ops;
	void *priv;            /* the backend's own state (open() sets it, close() frees it) */
	int refs;              /* devices attached + DMA memory + explicit holders; refs_lock in iommu.c guards it:
				* only iommu_get(), iommu_get_default() and upci_iommu_put() touch it */
	int fd;                /* container fd (type1) or iommufd; closed by the generic code */
	bool is_default;       /* the process-wide context of its backend (set under refs_lock) */
	/* The IOVA space: rebuilt after every attach (ranges and reserved regions depend on the groups).
	 * lock guards every field below it (DMA memory is allocated and freed from any thread). */
	pthread_mutex_t lock;
	struct iova_space space;
	bool space_ready;
	struct upci_resv_region resv[IOVA_MAX_RESV]; /* reserved regions of every group ever attached */
	size_t n_resv;
	long dma_avail;                              /* type1 DMA_AVAIL, -1 when not limited/known */
	uint64_t iommu_pgsize;                       /* smallest IOMMU page the kernel reports, 0 unknown */
	uint64_t user_msi_window;                    /* start of a window upci placed, 0 if none */
	struct upci_iova_range *allocs;              /* live allocations, to carry over a rebuild */
	size_t n_allocs, cap_allocs;
	struct upci_dma *dmas;
};

/**
 * struct iommu_backend_ops - one way of reaching the IOMMU from userspace.
 * @id, @name:     the enum value and the name upci_backend_name()/upci_backend_parse() use.
 * @usable:        for UPCI_BACKEND_AUTO: whether this backend can open @devname (NULL: always; then it is the
 *                 fallback and must come last in the preference order).
 * @open:          set @m->fd (left -1 on failure is fine) and @m->priv; log what failed.
 * @close:         release @m->priv and what it holds (may be called after a failed @open; priv may be NULL).
 * @attach_device: give the device a VFIO device fd in this context; log what failed and undo it.
 * @detach_device: undo @attach_device once the device fd is closed.
 * @iova_ranges:   the kernel's valid IOVA ranges (and refresh @m->iommu_pgsize, @m->dma_avail); -EAGAIN when
 *                 the kernel knows none yet; no logging.
 * @map_dma, @unmap_dma: one mapping, read and write; 0 or -errno, no logging. Called from any thread without
 *                 the open lock or @m->lock (a backend may take @m->lock; @attach_device/@detach_device may too).
 * @map_op:        the kernel call of @map_dma, for messages.
 * @attach_verb:   what the kernel did at attach that verified MSI isolation ("type1 attach").
 * @isolation_module: the module whose allow_unsafe_interrupts parameter decides that verification.
 * @dma_limit_hint:   how to raise the mapping limit when DMA_AVAIL reaches 0 (NULL: no limit).
 */
struct iommu_backend_ops {
	enum upci_backend id;
	const char *name;
	bool (*usable)(const char *devname);
	int (*open)(struct upci_iommu *m);
	void (*close)(struct upci_iommu *m);
	int (*attach_device)(struct upci_iommu *m, const struct iommu_attach *dev, int *device_fd);
	void (*detach_device)(struct upci_iommu *m, int group);
	int (*iova_ranges)(struct upci_iommu *m, struct upci_iova_range *out, size_t max);
	int (*map_dma)(struct upci_iommu *m, void *va, uint64_t iova, size_t len);
	int (*unmap_dma)(struct upci_iommu *m, uint64_t iova, size_t len);
	const char *map_op;
	const char *attach_verb;
	const char *isolation_module;
	const char *dma_limit_hint;
};

extern const struct iommu_backend_ops iommu_type1_ops;   /* iommu_type1.c */
extern const struct iommu_backend_ops iommu_iommufd_ops; /* iommu_iommufd.c */

/* iommu.c: kernel calls through the seam. kopen: the fd or -errno; kioctl: 0 or -errno. */
int iommu_kopen(const char *path, int flags);
int iommu_kioctl(int fd, unsigned long req, void *arg);
/* The kernel's valid ranges, without logging (see @iova_ranges); the caller holds m->lock. */
int iommu_kernel_ranges(struct upci_iommu *m, struct upci_iova_range *out, size_t max);

/* iommu_iova.c: rebuild the IOVA space after @group joined; release it when the context is freed. */
int iova_refresh(struct upci_iommu *m, int group);
void iova_space_release(struct upci_iommu *m);

#endif
