/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal to the device layer of lib/vfio_bus (device.c, region.c, config.c, resolve.c): the state of an
 * open device and the steps of opening it. The IOMMU context is reached only through iommu_internal.h.
 */
#ifndef UPCI_DEVICE_INTERNAL_H
#define UPCI_DEVICE_INTERNAL_H

#include <linux/vfio.h>
#include <stdbool.h>
#include <stdint.h>

#include "upci/device.h"
#include "upci/io.h"
#include "upci/irq_info.h"
#include "upci/msix_layout.h"
#include "upci/pci.h"
#include "upci/region.h"

#ifndef LOG_VFIO
#define LOG_VFIO "vfio_bus"
#endif

struct upci_dev {
	char name[UPCI_PCI_ADDR_STRLEN];
	struct upci_pci_addr addr;
	int group;
	int numa_node;
	struct upci_iommu *iommu;
	int fd;                         /* VFIO device fd (from the IOMMU layer's attach; closed here) */
	bool isolated;
	char isolation_reason[256];
	uint64_t want_msi_window;       /* opts.msi_window_start */
	uint32_t dev_flags;             /* VFIO_DEVICE_FLAGS_* */
	struct upci_region *regions;
	unsigned n_regions;
	struct upci_irq_info irqs[VFIO_PCI_NUM_IRQS];
	unsigned n_irqs;
	struct upci_bar bars[VFIO_PCI_ROM_REGION_INDEX];
	size_t bar_reserved[VFIO_PCI_ROM_REGION_INDEX]; /* bytes reserved at bars[i].base */
	struct upci_msix_layout msix;
	char msix_why[320];
	int req_fd, err_fd, epoll_fd;
	bool removed;
	upci_dev_event_fn on_event;
	void *event_arg;
	struct upci_dev *next_open;     /* the process's open devices (open lock) */
};

/* region.c */
/* Parse a VFIO_DEVICE_GET_REGION_INFO reply of @argsz bytes (with its capability chain) into @out. */
int region_info_parse(const void *buf, uint32_t argsz, struct upci_region *out);
int dev_read_regions(struct upci_dev *dev);
int dev_map_bars(struct upci_dev *dev);
void dev_unmap_bars(struct upci_dev *dev);
/* After the device is released: point every BAR at nothing, so accessors read all-ones and never fault. */
void dev_neuter_bars(struct upci_dev *dev);

/* config.c */
int dev_read_msix_layout(struct upci_dev *dev);

#endif
