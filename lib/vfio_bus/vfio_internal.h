/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal state of lib/vfio_bus: the IOMMU context (container or IOAS) and an open device. */
#ifndef UPCI_VFIO_INTERNAL_H
#define UPCI_VFIO_INTERNAL_H

#include <linux/vfio.h>
#include <stdbool.h>
#include <stdint.h>

#include <pthread.h>

#include "../common/vfio_caps.h"
#include "iova.h"
#include "upci/dma.h"
#include "upci/io.h"
#include "upci/pci.h"
#include "upci/vfio.h"

#define LOG_VFIO "vfio_bus"

struct iommu_group_ref {
	int number;
	int fd;      /* /dev/vfio/N (type1 only) */
	int refs;
};

struct upci_iommu {
	enum upci_backend backend;
	int refs;              /* devices attached + explicit holders */
	int fd;                /* container fd (type1) or iommufd */
	uint32_t ioas_id;      /* iommufd */
	bool iommu_set;        /* type1: VFIO_SET_IOMMU done (needs a group in the container first) */
	bool is_default;       /* the process-wide context of its backend */
	struct iommu_group_ref *groups;
	int n_groups;
	/* The IOVA space: rebuilt after every attach (ranges and reserved regions depend on the groups). */
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

struct upci_dev {
	char name[UPCI_PCI_ADDR_STRLEN];
	struct upci_pci_addr addr;
	int group;
	int numa_node;
	struct upci_iommu *iommu;
	int fd;                         /* VFIO device fd */
	uint32_t devid;                 /* iommufd: from BIND_IOMMUFD */
	uint32_t hwpt_id;               /* iommufd: from ATTACH_IOMMUFD_PT */
	bool isolated;
	char isolation_reason[256];
	uint64_t want_msi_window;       /* opts.msi_window_start */
	bool msi_window_settable;       /* the kernel offers IOMMU_OPTION_SW_MSI_START for this device */
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

/* iommu.c */
int iommu_select_backend(enum upci_backend wanted, const char *devname, enum upci_backend *out);
int iommu_get_default(enum upci_backend backend, struct upci_iommu **out);
int iommu_attach_device(struct upci_iommu *iommu, struct upci_dev *dev);
void iommu_detach_device(struct upci_iommu *iommu, struct upci_dev *dev);
void iommu_judge_isolation(struct upci_dev *dev);
int iommu_kernel_ranges(struct upci_iommu *m, struct upci_iova_range *out, size_t max);

/* dma.c */
int iova_refresh(struct upci_iommu *m, int group);
void iova_space_release(struct upci_iommu *m);

/* group.c */
int group_check_viable(int group, const char *devname);

/* region.c */
int region_info_parse(const void *buf, uint32_t argsz, struct upci_region *out);
int dev_read_regions(struct upci_dev *dev);
int dev_map_bars(struct upci_dev *dev);
void dev_unmap_bars(struct upci_dev *dev);
void dev_neuter_bars(struct upci_dev *dev);

/* config.c */
int dev_read_msix_layout(struct upci_dev *dev);

#endif
