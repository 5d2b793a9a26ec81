/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/device.h — open a PCI device through VFIO: resolve, open/close, identity, reset, and the REQ/ERR
 * events the kernel signals (device removal, AER).
 *
 * Every function returns 0 (or a count) on success and a negative errno on failure, and logs one line
 * naming the device (see upci/log.h). Opening and closing devices is serialised internally.
 */
#ifndef UPCI_DEVICE_H
#define UPCI_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "upci/iommu.h"
#include "upci/pci.h"

#ifdef __cplusplus
extern "C" {
#endif

struct upci_dev;

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
