/* SPDX-License-Identifier: BSD-3-Clause */
/* Opening a device through VFIO: the sequence, its undo, reset, and the REQ/ERR events. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../common/eventfd.h"
#include "../common/irq_set.h"
#include "upci/kernel.h"
#include "device_internal.h"
#include "iommu_internal.h"
#include "upci/dma.h"
#include "upci/log.h"

static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct upci_dev *open_devices; /* guarded by open_lock */

static struct upci_dev *find_open(const struct upci_pci_addr *addr)
{
	for (struct upci_dev *d = open_devices; d; d = d->next_open)
		if (!d->removed && !upci_pci_addr_cmp(&d->addr, addr))
			return d;
	return NULL;
}

static void forget_open(struct upci_dev *dev)
{
	for (struct upci_dev **p = &open_devices; *p; p = &(*p)->next_open) {
		if (*p == dev) {
			*p = dev->next_open;
			return;
		}
	}
}

const char *upci_dev_name(const struct upci_dev *dev)
{
	return dev->name;
}

int upci_dev_fd(const struct upci_dev *dev)
{
	return dev->fd;
}

enum upci_backend upci_dev_backend(const struct upci_dev *dev)
{
	return dev->iommu ? upci_iommu_backend(dev->iommu) : UPCI_BACKEND_AUTO;
}

struct upci_iommu *upci_dev_iommu(const struct upci_dev *dev)
{
	return dev->iommu;
}

int upci_dev_numa_node(const struct upci_dev *dev)
{
	return dev->numa_node;
}

int upci_dev_iommu_group(const struct upci_dev *dev)
{
	return dev->group;
}

bool upci_dev_msi_isolated(const struct upci_dev *dev, const char **reason)
{
	if (reason)
		*reason = dev->isolation_reason;
	return dev->isolated;
}

bool upci_dev_removed(const struct upci_dev *dev)
{
	return dev->removed;
}

const struct upci_msix_layout *upci_dev_msix(const struct upci_dev *dev)
{
	return &dev->msix;
}

int upci_dev_irq_info(const struct upci_dev *dev, unsigned index, struct upci_irq_info *out)
{
	if (index >= dev->n_irqs)
		return -EINVAL;
	*out = dev->irqs[index];
	return 0;
}

int upci_dev_event_fd(const struct upci_dev *dev)
{
	return dev->epoll_fd;
}

static int read_device_info(struct upci_dev *dev)
{
	const struct upci_kernel_ops *k = upci_kernel();
	struct vfio_device_info info = { .argsz = sizeof(info) };

	if (k->ioctl(dev->fd, VFIO_DEVICE_GET_INFO, &info)) {
		int rc = -errno;

		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: VFIO_DEVICE_GET_INFO failed: %s (check dmesg for vfio-pci errors)",
			 dev->name, strerror(-rc));
		return rc;
	}
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI) || info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: VFIO does not present it as a PCI device (flags 0x%x, %u regions)",
			 dev->name, info.flags, info.num_regions);
		return -ENODEV;
	}
	dev->dev_flags = info.flags;
	dev->n_regions = info.num_regions > 64 ? 64 : info.num_regions;
	dev->n_irqs = info.num_irqs > VFIO_PCI_NUM_IRQS ? VFIO_PCI_NUM_IRQS : info.num_irqs;
	for (unsigned i = 0; i < dev->n_irqs; i++) {
		struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = i };

		if (k->ioctl(dev->fd, VFIO_DEVICE_GET_IRQ_INFO, &irq)) {
			int rc = -errno;

			upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: VFIO_DEVICE_GET_IRQ_INFO(%u) failed: %s (check dmesg for "
				 "vfio-pci errors)", dev->name, i, strerror(-rc));
			return rc;
		}
		dev->irqs[i].count = irq.count;
		dev->irqs[i].flags = irq.flags;
	}
	return 0;
}

/* Route IRQ index @index (REQ or ERR) to a new eventfd watched by the device's epoll fd. */
static int wire_event_irq(struct upci_dev *dev, unsigned index, int *efd)
{
	const struct upci_kernel_ops *k = upci_kernel();
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = index };
	int fd, rc;

	if (index >= dev->n_irqs || dev->irqs[index].count < 1 || !(dev->irqs[index].flags & VFIO_IRQ_INFO_EVENTFD))
		return 0; /* the device has no such interrupt: nothing to wire */
	fd = k->eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	rc = upci_irq_set_eventfds(dev->fd, index, 0, 1, &fd);
	if (!rc && epoll_ctl(dev->epoll_fd, EPOLL_CTL_ADD, fd, &ev))
		rc = -errno;
	if (rc) {
		k->close(fd);
		return rc < 0 ? rc : -EIO;
	}
	*efd = fd;
	return 0;
}

static int setup_events(struct upci_dev *dev)
{
	int rc;

	dev->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (dev->epoll_fd < 0)
		return -errno;
	rc = wire_event_irq(dev, VFIO_PCI_REQ_IRQ_INDEX, &dev->req_fd);
	if (!rc)
		rc = wire_event_irq(dev, VFIO_PCI_ERR_IRQ_INDEX, &dev->err_fd);
	if (rc)
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: cannot wire the REQ/ERR interrupts: %s", dev->name, strerror(-rc));
	return rc;
}

static void unwire_event_irq(struct upci_dev *dev, unsigned index, int *efd)
{
	if (*efd < 0)
		return;
	if (dev->fd >= 0)
		upci_irq_set_none(dev->fd, index, 0, 0);
	upci_kernel()->close(*efd);
	*efd = -1;
}

/* Close the device fd (iommufd: that unbinds the cdev), then leave the IOMMU context. */
static void detach_device(struct upci_dev *dev)
{
	if (dev->fd >= 0) {
		upci_kernel()->close(dev->fd);
		dev->fd = -1;
	}
	iommu_detach_device(dev->iommu, dev->group);
	dev->iommu = NULL;
}

/* Give the device back to the kernel: interrupts off, BAR pointers neutered, device fd closed. */
static void release_device(struct upci_dev *dev)
{
	unwire_event_irq(dev, VFIO_PCI_REQ_IRQ_INDEX, &dev->req_fd);
	unwire_event_irq(dev, VFIO_PCI_ERR_IRQ_INDEX, &dev->err_fd);
	dev_neuter_bars(dev);
	if (dev->iommu)
		detach_device(dev);
	dev->removed = true;
}

static void dev_free(struct upci_dev *dev)
{
	if (!dev->removed) {
		unwire_event_irq(dev, VFIO_PCI_REQ_IRQ_INDEX, &dev->req_fd);
		unwire_event_irq(dev, VFIO_PCI_ERR_IRQ_INDEX, &dev->err_fd);
	}
	dev_unmap_bars(dev);
	if (dev->iommu)
		detach_device(dev);
	if (dev->epoll_fd >= 0)
		close(dev->epoll_fd);
	free(dev->regions);
	free(dev);
}

static int open_locked(const char *spec, const struct upci_dev_opts *opts, struct upci_dev *dev)
{
	struct upci_pci_info info;
	struct upci_iommu *iommu = opts->iommu;
	struct iommu_attach attach;
	int rc = upci_dev_resolve(spec, &dev->addr);

	if (rc)
		return rc;
	upci_pci_addr_format(&dev->addr, dev->name, sizeof(dev->name));
	if (find_open(&dev->addr)) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: already open in this process (close it first)", dev->name);
		return -EBUSY;
	}
	rc = upci_pci_info_read(&dev->addr, &info);
	if (rc == -ENODEV)
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: no such PCI device", dev->name);
	if (rc)
		return rc;
	if (info.iommu_group < 0) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: no IOMMU group: the IOMMU is off (boot with intel_iommu=on or "
			 "amd_iommu=on, enable VT-d/AMD-Vi in firmware)", dev->name);
		return -ENODEV;
	}
	if (!strstr(info.driver, "vfio")) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: bound to %s, not vfio-pci; as root: echo %s > "
			 "/sys/bus/pci/devices/%s/driver/unbind; echo vfio-pci > /sys/bus/pci/devices/%s/driver_override; "
			 "echo %s > /sys/bus/pci/drivers_probe", dev->name, info.driver[0] ? info.driver : "no driver",
			 dev->name, dev->name, dev->name, dev->name);
		return -EACCES;
	}
	dev->group = info.iommu_group;
	dev->numa_node = info.numa_node;
	rc = group_check_viable(dev->group, dev->name);
	if (rc)
		return rc;
	if (iommu) {
		iommu_get(iommu); /* balanced by the put below; attach takes its own reference */
	} else {
		enum upci_backend backend;

		rc = iommu_select_backend(opts->backend, dev->name, &backend);
		if (!rc)
			rc = iommu_get_default(backend, &iommu);
		if (rc)
			return rc;
	}
	attach = (struct iommu_attach){ .name = dev->name, .group = dev->group, .want_msi_window = dev->want_msi_window };
	rc = iommu_attach_device(iommu, &attach, &dev->fd);
	if (!rc)
		dev->iommu = iommu; /* the attach took its own reference */
	upci_iommu_put(iommu);
	if (rc)
		return rc;
	dev->isolated = iommu_judge_isolation(iommu, dev->isolation_reason, sizeof(dev->isolation_reason));
	rc = read_device_info(dev);
	if (!rc)
		rc = dev_read_regions(dev);
	if (!rc)
		rc = dev_read_msix_layout(dev);
	if (!rc)
		rc = dev_map_bars(dev);
	if (!rc)
		rc = setup_events(dev);
	return rc;
}

int upci_dev_open(const char *spec, const struct upci_dev_opts *opts, struct upci_dev **out)
{
	static const struct upci_dev_opts defaults;
	struct upci_dev *dev;
	int rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!opts)
		opts = &defaults;
	dev = calloc(1, sizeof(*dev));
	if (!dev) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: out of memory opening the device", spec ? spec : "(null)");
		return -ENOMEM;
	}
	dev->fd = dev->req_fd = dev->err_fd = dev->epoll_fd = -1;
	dev->on_event = opts->on_event;
	dev->event_arg = opts->event_arg;
	dev->want_msi_window = opts->msi_window_start;
	pthread_mutex_lock(&open_lock);
	rc = open_locked(spec, opts, dev);
	if (rc) {
		dev_free(dev);
	} else {
		dev->next_open = open_devices;
		open_devices = dev;
	}
	pthread_mutex_unlock(&open_lock);
	if (!rc)
		*out = dev;
	return rc;
}

void upci_dev_close(struct upci_dev *dev)
{
	if (!dev)
		return;
	pthread_mutex_lock(&open_lock);
	forget_open(dev);
	dev_free(dev);
	pthread_mutex_unlock(&open_lock);
}

int upci_dev_reset(struct upci_dev *dev)
{
	int rc;

	if (dev->removed)
		return -ENODEV;
	if (!(dev->dev_flags & VFIO_DEVICE_FLAGS_RESET)) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: the kernel offers no reset for this device", dev->name);
		return -ENOTTY;
	}
	rc = upci_kernel()->ioctl(dev->fd, VFIO_DEVICE_RESET, NULL) ? -errno : 0;
	if (rc)
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: VFIO_DEVICE_RESET failed: %s", dev->name, strerror(-rc));
	return rc;
}

int upci_dev_process_events(struct upci_dev *dev)
{
	int handled = 0;

	if (upci_eventfd_drain(dev->err_fd, NULL) > 0) {
		handled++;
		upci_log(UPCI_LOG_WARN, LOG_VFIO, "%s: the kernel reported a PCIe error (AER) on the device", dev->name);
		if (dev->on_event)
			dev->on_event(dev, UPCI_DEV_EVENT_ERROR, dev->event_arg);
	}
	if (!dev->removed && upci_eventfd_drain(dev->req_fd, NULL) > 0) {
		handled++;
		/* A callback owner (the port layer) reports it in its own words: one line per removal, not two. */
		upci_log(dev->on_event ? UPCI_LOG_INFO : UPCI_LOG_WARN, LOG_VFIO,
			 "%s: the kernel asks for the device back (unbind or unplug): releasing it", dev->name);
		if (dev->on_event)
			dev->on_event(dev, UPCI_DEV_EVENT_REMOVE, dev->event_arg);
		pthread_mutex_lock(&open_lock);
		release_device(dev);
		pthread_mutex_unlock(&open_lock);
	}
	return handled;
}

int upci_dev_wait_events(struct upci_dev *dev, int timeout_ms)
{
	int n;

	if (dev->epoll_fd < 0)
		return -EBADF;
	n = upci_fd_wait(dev->epoll_fd, timeout_ms);
	if (n < 0)
		return n;
	return n ? upci_dev_process_events(dev) : 0;
}
