/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal: what the IOMMU layer (iommu*.c, group.c) offers the layers above it, the device (device.c) and
 * DMA memory (dma.c). The layout of struct upci_iommu stays private to the IOMMU layer (iommu_backend.h):
 * callers go through these functions. The IOMMU layer knows nothing of struct upci_dev.
 */
#ifndef UPCI_IOMMU_INTERNAL_H
#define UPCI_IOMMU_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upci/dma.h"
#include "upci/iommu.h"

#ifndef LOG_VFIO
#define LOG_VFIO "vfio_bus"
#endif

/** struct iommu_attach - what the IOMMU layer needs to know about a device it attaches. */
struct iommu_attach {
	const char *name;         /* canonical PCI address, for the VFIO calls and every log line */
	int group;                /* its IOMMU group number */
	uint64_t want_msi_window; /* upci_dev_opts.msi_window_start: 0 leaves the MSI window to the kernel */
};

/* Resolve UPCI_BACKEND_AUTO (environment variable UPCI_BACKEND, else the first usable backend for
 * @devname; NULL @devname: type1). Return: 0, -EINVAL (bad environment value or unknown backend). */
int iommu_select_backend(enum upci_backend wanted, const char *devname, enum upci_backend *out);
/* The process-wide context of @backend, created on first use; the caller holds one reference. */
int iommu_get_default(enum upci_backend backend, struct upci_iommu **out);
/* Take one more reference (released with upci_iommu_put()). */
void iommu_get(struct upci_iommu *iommu);

/*
 * Attach a device: type1 adds its group to the container and asks for the device fd; iommufd opens the
 * cdev, binds and attaches it to the IOAS. Then the IOVA space is rebuilt for the new group.
 * Return: 0 with *@device_fd (owned by the caller, who closes it before iommu_detach_device()) and a
 * reference on @iommu; or a negative errno with everything undone.
 */
int iommu_attach_device(struct upci_iommu *iommu, const struct iommu_attach *dev, int *device_fd);
/* Undo iommu_attach_device() for a device of @group whose fd the caller has closed; drops the reference. */
void iommu_detach_device(struct upci_iommu *iommu, int group);
/* After a successful attach: whether the kernel verified MSI isolation, with a sentence in @reason. */
bool iommu_judge_isolation(const struct upci_iommu *iommu, char *reason, size_t len);

/* For DMA memory (dma.c). */
/* -ENOSPC after one log line when the context allows no more mappings (type1 DMA_AVAIL 0), else 0. */
int iommu_dma_check_avail(struct upci_iommu *iommu);
/* Map [@va, @va + @len) at @iova for device reads and writes. Return: 0 or -errno; does not log. */
int iommu_dma_map(struct upci_iommu *iommu, void *va, uint64_t iova, size_t len);
/* The kernel call behind iommu_dma_map(), for error messages ("VFIO_IOMMU_MAP_DMA", "IOMMU_IOAS_MAP"). */
const char *iommu_dma_map_op(const struct upci_iommu *iommu);
/* Unmap what iommu_dma_map() mapped; logs a failure. */
void iommu_dma_unmap(struct upci_iommu *iommu, uint64_t iova, size_t len);
/* Record mapped memory in its context (which it keeps alive: takes a reference) / forget it (the caller
 * then drops that reference with upci_iommu_put()). Both keep DMA_AVAIL's count. */
void iommu_dma_track(struct upci_iommu *iommu, struct upci_dma *dma);
void iommu_dma_untrack(struct upci_iommu *iommu, struct upci_dma *dma);

/* group.c */
/*
 * Return: 0 when every member of @group is bound to vfio-pci (or a vfio variant), pci-stub or nothing;
 * -EBUSY otherwise, after one log line naming each offender, its driver, and the commands that free it.
 */
int group_check_viable(int group, const char *devname);

#endif
