/* SPDX-License-Identifier: BSD-3-Clause */
/* The type1 backend: a VFIO container (/dev/vfio/vfio) holding IOMMU groups (/dev/vfio/N), VFIO_TYPE1v2_IOMMU. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/vfio_caps.h"
#include "iommu_backend.h"
#include "upci/kernel.h"
#include "upci/log.h"

struct type1_group {
	int number;
	int fd; /* /dev/vfio/N */
	int refs;
};

/* groups and n_groups belong to the open lock (attach and detach run under it). iommu_set is written under the
 * open lock and the context's lock, and read under either: type1_unmap() runs from upci_dma_free() on any thread. */
struct type1 {
	struct type1_group *groups;
	int n_groups;
	bool iommu_set; /* VFIO_SET_IOMMU done (needs a group in the container first) */
};

static int type1_open(struct upci_iommu *m)
{
	int fd, ver;

	m->priv = calloc(1, sizeof(struct type1));
	if (!m->priv)
		return -ENOMEM;
	fd = iommu_kopen("/dev/vfio/vfio", O_RDWR);
	if (fd < 0) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "cannot open /dev/vfio/vfio: %s (load vfio_iommu_type1 and vfio-pci; "
			 "run as root or give this user the device files)", strerror(-fd));
		return fd;
	}
	m->fd = fd;
	ver = upci_kernel()->ioctl(fd, VFIO_GET_API_VERSION, NULL);
	if (ver != VFIO_API_VERSION) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "/dev/vfio/vfio speaks VFIO API %d, upci needs %d", ver, VFIO_API_VERSION);
		return -EPROTO;
	}
	if (upci_kernel()->ioctl(fd, VFIO_CHECK_EXTENSION, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU) != 1) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "the kernel's VFIO has no type1v2 IOMMU (load vfio_iommu_type1)");
		return -EOPNOTSUPP;
	}
	return 0;
}

static void type1_close(struct upci_iommu *m)
{
	struct type1 *t = m->priv;

	if (!t)
		return;
	for (int i = 0; i < t->n_groups; i++)
		if (t->groups[i].fd >= 0)
			upci_kernel()->close(t->groups[i].fd);
	free(t->groups);
	free(t);
	m->priv = NULL;
}

static struct type1_group *find_group(struct type1 *t, int number)
{
	for (int i = 0; i < t->n_groups; i++)
		if (t->groups[i].number == number)
			return &t->groups[i];
	return NULL;
}

static int group_add_to_container(struct upci_iommu *m, const struct iommu_attach *dev, struct type1_group **out)
{
	struct type1 *t = m->priv;
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct type1_group *g, *grown;
	char path[32];
	int fd, rc;

	snprintf(path, sizeof(path), "/dev/vfio/%d", dev->group);
	fd = iommu_kopen(path, O_RDWR);
	if (fd < 0) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: cannot open %s: %s%s", dev->name, path, strerror(-fd),
			 fd == -EBUSY ? " (another process holds the group)" : " (is the device bound to vfio-pci?)");
		return fd;
	}
	rc = iommu_kioctl(fd, VFIO_GROUP_GET_STATUS, &st);
	if (!rc && !(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		rc = group_check_viable(dev->group, dev->name);
		if (!rc)
			rc = -EBUSY; /* sysfs looked fine but the kernel disagrees: report its verdict */
	}
	if (!rc)
		rc = iommu_kioctl(fd, VFIO_GROUP_SET_CONTAINER, &m->fd);
	if (rc) {
		if (rc != -EBUSY)
			upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: cannot add IOMMU group %d to the container: %s", dev->name,
				 dev->group, strerror(-rc));
		upci_kernel()->close(fd);
		return rc;
	}
	grown = realloc(t->groups, (size_t)(t->n_groups + 1) * sizeof(*t->groups));
	if (!grown) {
		iommu_kioctl(fd, VFIO_GROUP_UNSET_CONTAINER, NULL);
		upci_kernel()->close(fd);
		return -ENOMEM;
	}
	t->groups = grown;
	g = &t->groups[t->n_groups++];
	g->number = dev->group;
	g->fd = fd;
	g->refs = 0;
	*out = g;
	return 0;
}

static void type1_detach(struct upci_iommu *m, int number)
{
	struct type1 *t = m->priv;
	struct type1_group *g = find_group(t, number);

	if (!g || --g->refs > 0)
		return;
	/* Under the context lock: an unmap sees the IOMMU either still there or gone, never going. */
	pthread_mutex_lock(&m->lock);
	iommu_kioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER, NULL);
	upci_kernel()->close(g->fd);
	*g = t->groups[--t->n_groups];
	if (t->n_groups == 0)
		t->iommu_set = false; /* the container loses its IOMMU with its last group */
	pthread_mutex_unlock(&m->lock);
}

static int type1_attach(struct upci_iommu *m, const struct iommu_attach *dev, int *device_fd)
{
	struct type1 *t = m->priv;
	struct type1_group *g = find_group(t, dev->group);
	int rc = 0;

	if (dev->want_msi_window) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: the type1 backend cannot place the MSI window; use iommufd on a "
			 "kernel that offers IOMMU_OPTION_SW_MSI_START, or leave msi_window_start 0", dev->name);
		return -EOPNOTSUPP;
	}
	if (!g && (rc = group_add_to_container(m, dev, &g)))
		return rc;
	g->refs++;
	if (!t->iommu_set) {
		rc = iommu_kioctl(m->fd, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU);
		if (rc) {
			upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: VFIO_SET_IOMMU(type1v2) failed: %s%s", dev->name, strerror(-rc),
				 rc == -EPERM ? " — the platform cannot isolate this device's MSIs (interrupt remapping off); "
						"enable it (intel_iommu=on, intremap) or, accepting the risk, load "
						"vfio_iommu_type1 with allow_unsafe_interrupts=1" : "");
			type1_detach(m, dev->group);
			return rc;
		}
		pthread_mutex_lock(&m->lock);
		t->iommu_set = true;
		pthread_mutex_unlock(&m->lock);
	}
	rc = upci_kernel()->ioctl(g->fd, VFIO_GROUP_GET_DEVICE_FD, (void *)dev->name);
	if (rc < 0) {
		rc = -errno;
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: VFIO_GROUP_GET_DEVICE_FD failed: %s", dev->name, strerror(-rc));
		type1_detach(m, dev->group);
		return rc;
	}
	*device_fd = rc;
	return 0;
}

struct range_walk {
	struct upci_iova_range *out;
	size_t max;
	int n;
	long dma_avail;
};

static int iova_range_cap(const uint8_t *cap, uint32_t avail, uint16_t id, void *arg)
{
	struct range_walk *w = arg;
	struct vfio_iommu_type1_info_cap_iova_range hdr;

	if (id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
		struct vfio_iommu_type1_info_dma_avail da;

		if (avail < sizeof(da))
			return -EINVAL;
		memcpy(&da, cap, sizeof(da));
		w->dma_avail = da.avail;
		return 0;
	}
	if (id != VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
		return 0;
	if (avail < sizeof(hdr))
		return -EINVAL;
	memcpy(&hdr, cap, sizeof(hdr));
	if (sizeof(hdr) + (uint64_t)hdr.nr_iovas * sizeof(struct vfio_iova_range) > avail)
		return -EINVAL;
	if (hdr.nr_iovas > w->max)
		return -ENOSPC;
	for (uint32_t i = 0; i < hdr.nr_iovas; i++) {
		struct vfio_iova_range r;

		memcpy(&r, cap + sizeof(hdr) + i * sizeof(r), sizeof(r));
		if (r.start > r.end)
			return -EINVAL;
		w->out[i].start = r.start;
		w->out[i].last = r.end;
	}
	w->n = (int)hdr.nr_iovas;
	return 0;
}

/* VFIO_IOMMU_GET_INFO: capabilities IOVA_RANGE and DMA_AVAIL, and iova_pgsizes. */
static int type1_ranges(struct upci_iommu *m, struct upci_iova_range *out, size_t max)
{
	struct range_walk w = { .out = out, .max = max, .dma_avail = -1 };
	uint32_t size = sizeof(struct vfio_iommu_type1_info);
	struct type1 *t = m->priv;
	int rc = -EIO;

	if (!t->iommu_set)
		return -EAGAIN; /* no group attached yet: the kernel knows no ranges */
	for (int attempt = 0; attempt < 3; attempt++) {
		struct vfio_iommu_type1_info *info = calloc(1, size);

		if (!info)
			return -ENOMEM;
		info->argsz = size;
		rc = iommu_kioctl(m->fd, VFIO_IOMMU_GET_INFO, info);
		if (!rc && info->argsz > size) {
			size = info->argsz;
			free(info);
			rc = size > 65536 ? -EINVAL : -EAGAIN;
			if (rc == -EINVAL)
				break;
			continue;
		}
		if (!rc && (info->flags & VFIO_IOMMU_INFO_CAPS))
			rc = vfio_cap_walk(info, info->argsz, sizeof(*info), info->cap_offset, iova_range_cap, &w);
		if (!rc && (info->flags & VFIO_IOMMU_INFO_PGSIZES))
			m->iommu_pgsize = info->iova_pgsizes & -info->iova_pgsizes; /* the lowest set bit */
		free(info);
		if (!rc)
			m->dma_avail = w.dma_avail;
		return rc ? rc : w.n;
	}
	return rc;
}

static int type1_map(struct upci_iommu *m, void *va, uint64_t iova, size_t len)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va, .iova = iova, .size = len,
	};

	return iommu_kioctl(m->fd, VFIO_IOMMU_MAP_DMA, &map);
}

static int type1_unmap(struct upci_iommu *m, uint64_t iova, size_t len)
{
	struct vfio_iommu_type1_dma_unmap un = { .argsz = sizeof(un), .iova = iova, .size = len };
	const struct type1 *t = m->priv;
	int rc = 0;

	/* The container lost its IOMMU with its last group (a device released on REQ, say): the kernel
	 * dropped every mapping then, and an unmap would only fail with EINVAL. */
	pthread_mutex_lock(&m->lock);
	if (t->iommu_set)
		rc = iommu_kioctl(m->fd, VFIO_IOMMU_UNMAP_DMA, &un);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

const struct iommu_backend_ops iommu_type1_ops = {
	.id = UPCI_BACKEND_TYPE1,
	.name = "type1",
	.usable = NULL, /* the fallback: any kernel with VFIO has it */
	.open = type1_open,
	.close = type1_close,
	.attach_device = type1_attach,
	.detach_device = type1_detach,
	.iova_ranges = type1_ranges,
	.map_dma = type1_map,
	.unmap_dma = type1_unmap,
	.map_op = "VFIO_IOMMU_MAP_DMA",
	.attach_verb = "type1 attach",
	.isolation_module = "vfio_iommu_type1",
	.dma_limit_hint = "raise vfio_iommu_type1.dma_entry_limit",
};
