/* SPDX-License-Identifier: BSD-3-Clause */
/* The iommufd backend: an IOAS in /dev/iommu, devices through their VFIO cdevs (/dev/vfio/devices/vfioX). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/sysfs_io.h"
#include "iommu_backend.h"
#include "uapi_compat.h"
#include "upci/kernel.h"
#include "upci/log.h"

struct iommufd {
	uint32_t ioas_id;
};

static uint32_t ioas_of(const struct upci_iommu *m)
{
	return ((const struct iommufd *)m->priv)->ioas_id;
}

struct cdev_name {
	char *buf;
	size_t len;
};

static int take_cdev(const char *name, void *arg)
{
	struct cdev_name *c = arg;

	if (strncmp(name, "vfio", 4) || strlen(name) >= c->len)
		return 0;
	strcpy(c->buf, name);
	return 1;
}

/* The cdev name ("vfio3") of a device bound to vfio-pci, from /sys/bus/pci/devices/BDF/vfio-dev/. */
static int find_cdev(const char *devname, char *buf, size_t len)
{
	struct cdev_name c = { buf, len };
	char path[UPCI_PATH_MAX];
	int rc;

	if (snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", devname) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	rc = upci_for_each_entry(path, take_cdev, &c);
	return rc == 1 ? 0 : rc ? rc : -ENOENT;
}

/* iommufd is usable for @devname when /dev/iommu opens and the device has a VFIO cdev node. */
static bool iommufd_usable(const char *devname)
{
	char cdev[32], path[64];
	int fd;

	if (!devname)
		return false;
	fd = iommu_kopen("/dev/iommu", O_RDWR);
	if (fd < 0)
		return false;
	upci_kernel()->close(fd);
	if (find_cdev(devname, cdev, sizeof(cdev)))
		return false;
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", cdev);
	fd = iommu_kopen(path, O_RDWR);
	if (fd < 0)
		return false;
	upci_kernel()->close(fd);
	return true;
}

static int iommufd_open(struct upci_iommu *m)
{
	struct upci_iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommufd *s = calloc(1, sizeof(*s));
	int fd, rc;

	if (!s)
		return -ENOMEM;
	m->priv = s;
	fd = iommu_kopen("/dev/iommu", O_RDWR);
	if (fd < 0) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "cannot open /dev/iommu: %s (a kernel with CONFIG_IOMMUFD is needed; "
			 "use the type1 backend otherwise)", strerror(-fd));
		return fd;
	}
	m->fd = fd;
	rc = iommu_kioctl(fd, UPCI_IOMMU_IOAS_ALLOC, &alloc);
	if (rc) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "IOMMU_IOAS_ALLOC failed: %s", strerror(-rc));
		return rc;
	}
	s->ioas_id = alloc.out_ioas_id;
	return 0;
}

/* Closing the iommufd (the generic code does) destroys the IOAS with it. */
static void iommufd_close(struct upci_iommu *m)
{
	free(m->priv);
	m->priv = NULL;
}

static int sw_msi_option(struct upci_iommu *m, uint32_t devid, uint16_t op, uint32_t id, uint64_t *val)
{
	struct upci_iommu_option o = { .size = sizeof(o), .option_id = id, .op = op, .object_id = devid,
				       .val64 = *val };
	int rc = iommu_kioctl(m->fd, UPCI_IOMMU_OPTION, &o);

	*val = o.val64;
	return rc;
}

/* Detect whether the kernel lets us place the software-MSI window, and place it if asked. Before attach. */
static int place_msi_window(struct upci_iommu *m, const struct iommu_attach *dev, uint32_t devid)
{
	uint64_t cur = 0, start = dev->want_msi_window, size_mb = 1;
	bool settable;
	int rc;

	settable = sw_msi_option(m, devid, UPCI_IOMMU_OPTION_OP_GET, UPCI_IOMMU_OPTION_SW_MSI_START, &cur) == 0;
	if (!start)
		return 0;
	if (!settable) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: cannot place the MSI window at 0x%llx: this kernel does not let "
			 "userspace place it (IOMMU_OPTION_SW_MSI_START is not in mainline Linux); leave msi_window_start 0",
			 dev->name, (unsigned long long)start);
		return -EOPNOTSUPP;
	}
	if (start & ((1ull << 20) - 1)) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: the MSI window start 0x%llx must be 1 MiB aligned", dev->name,
			 (unsigned long long)start);
		return -EINVAL;
	}
	rc = sw_msi_option(m, devid, UPCI_IOMMU_OPTION_OP_SET, UPCI_IOMMU_OPTION_SW_MSI_START, &start);
	if (!rc)
		rc = sw_msi_option(m, devid, UPCI_IOMMU_OPTION_OP_SET, UPCI_IOMMU_OPTION_SW_MSI_SIZE, &size_mb);
	if (rc) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: placing the MSI window at 0x%llx failed: %s", dev->name,
			 (unsigned long long)dev->want_msi_window, strerror(-rc));
		return rc;
	}
	m->user_msi_window = dev->want_msi_window;
	return 0;
}

static int iommufd_attach(struct upci_iommu *m, const struct iommu_attach *dev, int *device_fd)
{
	struct upci_vfio_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = m->fd };
	struct upci_vfio_attach_iommufd_pt attach = { .argsz = sizeof(attach), .pt_id = ioas_of(m) };
	char cdev[32], path[64];
	int rc = find_cdev(dev->name, cdev, sizeof(cdev)), fd;

	if (rc) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: no VFIO cdev under /sys/bus/pci/devices/%s/vfio-dev (%s): bind it to "
			 "vfio-pci on a kernel with CONFIG_VFIO_DEVICE_CDEV, or use the type1 backend", dev->name,
			 dev->name, strerror(-rc));
		return rc;
	}
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", cdev);
	fd = iommu_kopen(path, O_RDWR);
	if (fd < 0) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: cannot open %s: %s", dev->name, path, strerror(-fd));
		return fd;
	}
	rc = iommu_kioctl(fd, UPCI_VFIO_DEVICE_BIND_IOMMUFD, &bind);
	if (rc) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: VFIO_DEVICE_BIND_IOMMUFD failed: %s%s", dev->name, strerror(-rc),
			 rc == -EPERM ? " — the platform cannot isolate this device's MSIs (interrupt remapping off); enable "
					"it or, accepting the risk, set iommufd.allow_unsafe_interrupts=1"
			 : rc == -EBUSY ? " — another device of its IOMMU group is in use by a kernel driver" : "");
		upci_kernel()->close(fd);
		return rc;
	}
	rc = place_msi_window(m, dev, bind.out_devid);
	if (rc) {
		upci_kernel()->close(fd);
		return rc;
	}
	rc = iommu_kioctl(fd, UPCI_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
	if (rc) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: VFIO_DEVICE_ATTACH_IOMMUFD_PT to IOAS %u failed: %s", dev->name,
			 ioas_of(m), strerror(-rc));
		upci_kernel()->close(fd);
		return rc;
	}
	*device_fd = fd;
	return 0;
}

/* Closing the cdev (the device layer does, before this) unbinds it: nothing left to undo. */
static void iommufd_detach(struct upci_iommu *m, int group)
{
	(void)m, (void)group;
}

static int iommufd_ranges(struct upci_iommu *m, struct upci_iova_range *out, size_t max)
{
	struct upci_iommu_iova_range *r = calloc(max ? max : 1, sizeof(*r));
	struct upci_iommu_ioas_iova_ranges q = { .size = sizeof(q), .ioas_id = ioas_of(m), .num_iovas = (uint32_t)max };
	int rc;

	if (!r)
		return -ENOMEM;
	q.allowed_iovas = (uintptr_t)r;
	rc = iommu_kioctl(m->fd, UPCI_IOMMU_IOAS_IOVA_RANGES, &q);
	if (rc == -EMSGSIZE)
		rc = -ENOSPC;
	for (uint32_t i = 0; !rc && i < q.num_iovas && i < max; i++) {
		if (r[i].start > r[i].last) {
			rc = -EINVAL;
			break;
		}
		out[i].start = r[i].start;
		out[i].last = r[i].last;
	}
	free(r);
	if (!rc)
		m->iommu_pgsize = q.out_iova_alignment; /* max(smallest page of the attached domains, 1) */
	return rc ? rc : (int)(q.num_iovas < max ? q.num_iovas : max);
}

static int iommufd_map(struct upci_iommu *m, void *va, uint64_t iova, size_t len)
{
	struct upci_iommu_ioas_map map = {
		.size = sizeof(map), .ioas_id = ioas_of(m), .user_va = (uintptr_t)va, .length = len, .iova = iova,
		.flags = UPCI_IOMMU_IOAS_MAP_FIXED_IOVA | UPCI_IOMMU_IOAS_MAP_READABLE | UPCI_IOMMU_IOAS_MAP_WRITEABLE,
	};

	return iommu_kioctl(m->fd, UPCI_IOMMU_IOAS_MAP, &map);
}

static int iommufd_unmap(struct upci_iommu *m, uint64_t iova, size_t len)
{
	struct upci_iommu_ioas_unmap un = { .size = sizeof(un), .ioas_id = ioas_of(m), .iova = iova, .length = len };

	return iommu_kioctl(m->fd, UPCI_IOMMU_IOAS_UNMAP, &un);
}

const struct iommu_backend_ops iommu_iommufd_ops = {
	.id = UPCI_BACKEND_IOMMUFD,
	.name = "iommufd",
	.usable = iommufd_usable,
	.open = iommufd_open,
	.close = iommufd_close,
	.attach_device = iommufd_attach,
	.detach_device = iommufd_detach,
	.iova_ranges = iommufd_ranges,
	.map_dma = iommufd_map,
	.unmap_dma = iommufd_unmap,
	.map_op = "IOMMU_IOAS_MAP",
	.attach_verb = "iommufd bind",
	.isolation_module = "iommufd",
	.dma_limit_hint = NULL, /* iommufd has no mapping count limit */
};
