/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/iommu.h — IOMMU backends and DMA address spaces (IOMMU contexts) shared between devices.
 *
 * Two kernel backends behind one API, chosen at run time: the VFIO type1 container/group interface
 * (/dev/vfio/vfio, /dev/vfio/N) and iommufd with VFIO device cdevs (/dev/iommu, /dev/vfio/devices/vfioX).
 * Devices opened without an explicit IOMMU context share one per backend (one container, one IOAS).
 * IOVA allocation and DMA memory inside a context: upci/dma.h.
 */
#ifndef UPCI_IOMMU_H
#define UPCI_IOMMU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct upci_iommu;

/** enum upci_backend - how a device reaches the IOMMU. */
enum upci_backend {
	UPCI_BACKEND_AUTO = 0, /* iommufd + cdev when the kernel offers both, else type1 */
	UPCI_BACKEND_TYPE1,    /* VFIO container + group, VFIO_TYPE1v2_IOMMU */
	UPCI_BACKEND_IOMMUFD,  /* iommufd IOAS + VFIO device cdev */
};

/** upci_backend_name() - "type1", "iommufd" or "auto". */
const char *upci_backend_name(enum upci_backend backend);

/**
 * upci_backend_parse() - read a backend name ("auto", "type1", "iommufd").
 * Return: 0, or -EINVAL for any other text.
 */
int upci_backend_parse(const char *name, enum upci_backend *out);

/** struct upci_iova_range - a range of IOVA the IOMMU accepts mappings in; @last is inclusive. */
struct upci_iova_range {
	uint64_t start;
	uint64_t last;
};

/**
 * upci_iommu_open() - a new DMA address space (type1 container or iommufd IOAS) to share between devices.
 * @backend: UPCI_BACKEND_AUTO picks as upci_dev_open() would (environment variable UPCI_BACKEND).
 * Return: 0 and *@out, or a negative errno. Release with upci_iommu_put().
 */
int upci_iommu_open(enum upci_backend backend, struct upci_iommu **out);

/** upci_iommu_put() - drop a reference; the context closes when no device uses it. NULL is ignored. */
void upci_iommu_put(struct upci_iommu *iommu);

/** upci_iommu_backend() - the backend of @iommu (never AUTO). */
enum upci_backend upci_iommu_backend(const struct upci_iommu *iommu);

/**
 * upci_iommu_iova_ranges() - the IOVA ranges the kernel accepts mappings in.
 * @out: ranges, sorted; @max: capacity.
 *
 * type1: VFIO_IOMMU_GET_INFO capability IOVA_RANGE; iommufd: IOMMU_IOAS_IOVA_RANGES. Valid only once a
 * device is attached (the ranges depend on the devices' IOMMU groups).
 * Return: the number of ranges (0: the kernel reports none), -ENOSPC when more than @max, or -errno.
 */
int upci_iommu_iova_ranges(struct upci_iommu *iommu, struct upci_iova_range *out, size_t max);

#ifdef __cplusplus
}
#endif
#endif
