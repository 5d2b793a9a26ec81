/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/vfio.h — open a PCI device through VFIO and reach its registers.
 *
 * Two kernel backends behind one API, chosen at run time: the VFIO type1 container/group interface
 * (/dev/vfio/vfio, /dev/vfio/N) and iommufd with VFIO device cdevs (/dev/iommu, /dev/vfio/devices/vfioX).
 * Devices opened without an explicit IOMMU context share one per backend (one container, one IOAS).
 *
 * Every function returns 0 (or a count) on success and a negative errno on failure, and logs one line
 * naming the device (see upci/log.h). Opening and closing devices is serialised internally; the register
 * accessors (upci/io.h) take no lock.
 */
#ifndef UPCI_VFIO_H
#define UPCI_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upci/pci.h"

#ifdef __cplusplus
extern "C" {
#endif

struct upci_dev;
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

/** enum upci_dev_event - what the kernel told us about an open device. */
enum upci_dev_event {
	UPCI_DEV_EVENT_REMOVE, /* the kernel wants the device back (unbind, hot-unplug): it is being released */
	UPCI_DEV_EVENT_ERROR,  /* an AER error was reported on the device (PCIe only) */
};

/**
 * typedef upci_dev_event_fn - called from upci_dev_process_events().
 *
 * For UPCI_DEV_EVENT_REMOVE the device is released right after the callback returns: register pointers
 * then read all-ones and writes are dropped, no access faults, and config/region calls return -ENODEV.
 */
typedef void (*upci_dev_event_fn)(struct upci_dev *dev, enum upci_dev_event event, void *arg);

/** struct upci_dev_opts - how to open a device; all-zero is the default. */
struct upci_dev_opts {
	enum upci_backend backend; /* AUTO: environment variable UPCI_BACKEND, else iommufd if present */
	struct upci_iommu *iommu;  /* DMA address space to join; NULL: the process-wide one of the backend */
	upci_dev_event_fn on_event;
	void *event_arg;
	/*
	 * Place the software-MSI doorbell window (1 MiB) at this IOVA instead of the kernel's default; 0 leaves
	 * it to the kernel. Needs an iommufd kernel with IOMMU_OPTION_SW_MSI_START/SIZE (proposed, not in
	 * mainline): elsewhere the open fails with -EOPNOTSUPP. Meaningful where MSIs are translated by the
	 * IOMMU (ARM SMMU + GIC ITS), not on x86.
	 */
	uint64_t msi_window_start;
};

/**
 * upci_dev_resolve() - turn a device string into a PCI address.
 * @spec: "0000:00:02.0" or "00:02.0"; "8086:10d3" or "8086:10d3#1" (the n-th such device, from 0, in
 *        address order); NULL or "" takes the first address from the SR-IOV device plugin's environment
 *        variables PCIDEVICE_<RESOURCE>=bdf[,bdf...] (variables in name order); "#n" the n-th address of
 *        those variables (from 0, each variable's list in order).
 * Return: 0, -EINVAL (malformed), -ENODEV (no such device / no PCIDEVICE_ variable).
 */
int upci_dev_resolve(const char *spec, struct upci_pci_addr *out);

/**
 * upci_dev_open() - open a device through VFIO and map its BARs.
 * @spec: see upci_dev_resolve().
 * @opts: NULL for the defaults.
 *
 * Checks the IOMMU group is viable (every member bound to vfio-pci or to no driver; the error names the
 * others and the commands that fix it), attaches it (type1: group to container; iommufd: bind + attach to
 * the IOAS), establishes whether MSIs are isolated, reads every region and maps the BARs.
 *
 * A BAR that holds the MSI-X table is mapped whole only when the kernel reports MSIX_MAPPABLE *and* MSI
 * isolation is established; otherwise the table's pages stay unmapped and the register accessors serve
 * them through the region fd. Callers never fault either way.
 *
 * Return: 0 and *@out, or a negative errno (one log line says what failed and what to do).
 */
int upci_dev_open(const char *spec, const struct upci_dev_opts *opts, struct upci_dev **out);

/** upci_dev_close() - disable interrupts, unmap, close every fd, free @dev. NULL is ignored. */
void upci_dev_close(struct upci_dev *dev);

/** upci_dev_name() - the canonical PCI address ("0000:00:02.0"). */
const char *upci_dev_name(const struct upci_dev *dev);

/**
 * upci_dev_fd() - the VFIO device file descriptor, for layers built on the bus (lib/msix wires vectors
 * with it). Do not close it; -1 once the device was released.
 */
int upci_dev_fd(const struct upci_dev *dev);

/** upci_dev_backend() - the backend @dev was opened with. */
enum upci_backend upci_dev_backend(const struct upci_dev *dev);

/** upci_dev_iommu() - the DMA address space @dev is attached to. */
struct upci_iommu *upci_dev_iommu(const struct upci_dev *dev);

/** upci_dev_iommu_group() - the device's IOMMU group number. */
int upci_dev_iommu_group(const struct upci_dev *dev);

/**
 * upci_dev_msi_isolated() - whether the device's MSIs are isolated from other devices.
 * @reason: if not NULL, set to a sentence saying why (valid while @dev is open).
 *
 * True when the attach (type1) or bind (iommufd) succeeded and the backend's allow_unsafe_interrupts
 * module parameter reads N: then the kernel itself verified interrupt remapping / MSI isolation.
 */
bool upci_dev_msi_isolated(const struct upci_dev *dev, const char **reason);

/** upci_dev_reset() - VFIO_DEVICE_RESET. Return: 0, -ENOTTY if the device has no reset, -errno. */
int upci_dev_reset(struct upci_dev *dev);

/** upci_dev_removed() - the kernel took the device back (see UPCI_DEV_EVENT_REMOVE). */
bool upci_dev_removed(const struct upci_dev *dev);

/* ---- regions ---- */

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
 * Return: 0, -EINVAL (outside the region), -ENODEV (device removed), -EIO (short transfer), -errno.
 */
int upci_region_read(struct upci_dev *dev, unsigned index, uint64_t off, void *buf, size_t len);
int upci_region_write(struct upci_dev *dev, unsigned index, uint64_t off, const void *buf, size_t len);

/* ---- configuration space ---- */

int upci_cfg_read8(struct upci_dev *dev, uint16_t off, uint8_t *val);
int upci_cfg_read16(struct upci_dev *dev, uint16_t off, uint16_t *val);
int upci_cfg_read32(struct upci_dev *dev, uint16_t off, uint32_t *val);
int upci_cfg_write16(struct upci_dev *dev, uint16_t off, uint16_t val);
int upci_cfg_write32(struct upci_dev *dev, uint16_t off, uint32_t val);

/**
 * upci_cfg_find_cap() - offset of the first standard capability @id in config space.
 * Walks the list from 0x34 with bounds (0x40..0xff, dword aligned) and a step limit, so a looping or
 * corrupt list ends. Return: the offset, -ENOENT (absent), -EIO (corrupt list or read failure).
 */
int upci_cfg_find_cap(struct upci_dev *dev, uint8_t id);

/** upci_cfg_find_ext_cap() - the same for PCIe extended capabilities (from 0x100). */
int upci_cfg_find_ext_cap(struct upci_dev *dev, uint16_t id);

/** upci_dev_enable() - set Memory Space and Bus Master in the command register (MSI-X needs both). */
int upci_dev_enable(struct upci_dev *dev);

/* ---- MSI-X placement (vfio_bus decides whether the table is mapped) ---- */

/** struct upci_msix_layout - where the MSI-X table and PBA live, and whether the table is mapped. */
struct upci_msix_layout {
	bool present;
	uint16_t cap_offset;
	uint16_t vectors;
	uint8_t table_bar;
	uint32_t table_offset;
	uint8_t pba_bar;
	uint32_t pba_offset;
	bool table_mapped;
	const char *why; /* one sentence: why the table is or is not mapped */
};

/** upci_dev_msix() - the MSI-X layout read from config space at open. */
const struct upci_msix_layout *upci_dev_msix(const struct upci_dev *dev);

/* ---- interrupts the bus layer handles ---- */

/** struct upci_irq_info - VFIO_DEVICE_GET_IRQ_INFO for one index. */
struct upci_irq_info {
	uint32_t count;
	uint32_t flags; /* VFIO_IRQ_INFO_EVENTFD, MASKABLE, AUTOMASKED, NORESIZE */
};

/** upci_dev_irq_info() - count and flags of IRQ index @index (VFIO_PCI_*_IRQ_INDEX). */
int upci_dev_irq_info(const struct upci_dev *dev, unsigned index, struct upci_irq_info *out);

/**
 * upci_dev_event_fd() - a file descriptor that becomes readable (poll/epoll) when the kernel signals the
 * device's REQ (give the device back) or ERR (AER) interrupt; then call upci_dev_process_events().
 */
int upci_dev_event_fd(const struct upci_dev *dev);

/**
 * upci_dev_process_events() - handle pending REQ/ERR signals without blocking: call the event callback,
 * and on REQ release the device so the kernel's unbind completes.
 * Return: the number of events handled, or a negative errno.
 */
int upci_dev_process_events(struct upci_dev *dev);

/** upci_dev_wait_events() - wait up to @timeout_ms (-1: forever) for an event, then process it. */
int upci_dev_wait_events(struct upci_dev *dev, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
