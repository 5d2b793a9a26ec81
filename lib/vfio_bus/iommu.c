/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The IOMMU side of a device: a type1 container with its groups, or an iommufd IOAS with bound cdevs.
 * Attaching is where the kernel checks MSI isolation, so the isolation verdict is made here too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/sysfs_io.h"
#include "uapi_compat.h"
#include "upci/kernel.h"
#include "upci/log.h"
#include "vfio_internal.h"

static struct upci_iommu *default_iommu[3]; /* per backend; guarded by the open lock in device.c */

static const char *const backend_names[] = {
	[UPCI_BACKEND_AUTO] = "auto",
	[UPCI_BACKEND_TYPE1] = "type1",
	[UPCI_BACKEND_IOMMUFD] = "iommufd",
};

const char *upci_backend_name(enum upci_backend backend)
{
	return (unsigned)backend < 3 ? backend_names[backend] : "?";
}

int upci_backend_parse(const char *name, enum upci_backend *out)
{
	for (unsigned i = 0; i < 3; i++) {
		if (name && !strcmp(name, backend_names[i])) {
			*out = (enum upci_backend)i;
			return 0;
		}
	}
	return -EINVAL;
}

enum upci_backend upci_iommu_backend(const struct upci_iommu *iommu)
{
	return iommu->backend;
}

static int kopen(const char *path, int flags)
{
	char full[UPCI_PATH_MAX];
	int rc = upci_path(full, sizeof(full), "%s", path), fd;

	if (rc)
		return rc;
	fd = upci_kernel()->open(full, flags, 0);
	return fd < 0 ? -errno : fd;
}

static int kioctl(int fd, unsigned long req, void *arg)
{
	return upci_kernel()->ioctl(fd, req, arg) < 0 ? -errno : 0;
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
static bool cdev_usable(const char *devname)
{
	char cdev[32], path[64];
	int fd = kopen("/dev/iommu", O_RDWR);

	if (fd < 0)
		return false;
	upci_kernel()->close(fd);
	if (find_cdev(devname, cdev, sizeof(cdev)))
		return false;
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", cdev);
	fd = kopen(path, O_RDWR);
	if (fd < 0)
		return false;
	upci_kernel()->close(fd);
	return true;
}

int iommu_select_backend(enum upci_backend wanted, const char *devname, enum upci_backend *out)
{
	const char *env = getenv("UPCI_BACKEND");

	if (wanted == UPCI_BACKEND_AUTO && env && *env && upci_backend_parse(env, &wanted)) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "UPCI_BACKEND='%s': use auto, type1 or iommufd", env);
		return -EINVAL;
	}
	if (wanted == UPCI_BACKEND_AUTO)
		wanted = devname && cdev_usable(devname) ? UPCI_BACKEND_IOMMUFD : UPCI_BACKEND_TYPE1;
	*out = wanted;
	return 0;
}

static int open_type1(struct upci_iommu *m)
{
	int fd = kopen("/dev/vfio/vfio", O_RDWR), ver;

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

static int open_iommufd(struct upci_iommu *m)
{
	struct upci_iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int fd = kopen("/dev/iommu", O_RDWR), rc;

	if (fd < 0) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "cannot open /dev/iommu: %s (a kernel with CONFIG_IOMMUFD is needed; "
			 "use the type1 backend otherwise)", strerror(-fd));
		return fd;
	}
	m->fd = fd;
	rc = kioctl(fd, UPCI_IOMMU_IOAS_ALLOC, &alloc);
	if (rc) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "IOMMU_IOAS_ALLOC failed: %s", strerror(-rc));
		return rc;
	}
	m->ioas_id = alloc.out_ioas_id;
	return 0;
}

static void iommu_free(struct upci_iommu *m)
{
	const struct upci_kernel_ops *k = upci_kernel();

	for (int i = 0; i < m->n_groups; i++)
		if (m->groups[i].fd >= 0)
			k->close(m->groups[i].fd);
	if (m->fd >= 0)
		k->close(m->fd); /* closing the iommufd destroys the IOAS with it */
	if (m->is_default)
		default_iommu[m->backend] = NULL;
	iova_space_release(m);
	pthread_mutex_destroy(&m->lock);
	free(m->groups);
	free(m);
}

static int iommu_create(enum upci_backend backend, struct upci_iommu **out)
{
	struct upci_iommu *m = calloc(1, sizeof(*m));
	int rc;

	if (!m)
		return -ENOMEM;
	m->backend = backend;
	m->fd = -1;
	m->refs = 1;
	m->dma_avail = -1;
	pthread_mutex_init(&m->lock, NULL);
	rc = backend == UPCI_BACKEND_IOMMUFD ? open_iommufd(m) : open_type1(m);
	if (rc) {
		iommu_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int upci_iommu_open(enum upci_backend backend, struct upci_iommu **out)
{
	int rc = iommu_select_backend(backend, NULL, &backend);

	return rc ? rc : iommu_create(backend, out);
}

void upci_iommu_put(struct upci_iommu *iommu)
{
	if (iommu && --iommu->refs == 0)
		iommu_free(iommu);
}

/* The shared context of @backend: created on first use, alive while a device uses it. */
int iommu_get_default(enum upci_backend backend, struct upci_iommu **out)
{
	int rc;

	if (default_iommu[backend]) {
		default_iommu[backend]->refs++;
		*out = default_iommu[backend];
		return 0;
	}
	rc = iommu_create(backend, out);
	if (!rc) {
		(*out)->is_default = true;
		default_iommu[backend] = *out;
	}
	return rc;
}

/* ---- type1 ---- */

static struct iommu_group_ref *find_group(struct upci_iommu *m, int number)
{
	for (int i = 0; i < m->n_groups; i++)
		if (m->groups[i].number == number)
			return &m->groups[i];
	return NULL;
}

static int group_add_to_container(struct upci_iommu *m, struct upci_dev *dev, struct iommu_group_ref **out)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct iommu_group_ref *g, *grown;
	char path[32];
	int fd, rc;

	snprintf(path, sizeof(path), "/dev/vfio/%d", dev->group);
	fd = kopen(path, O_RDWR);
	if (fd < 0) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: cannot open %s: %s%s", dev->name, path, strerror(-fd),
			 fd == -EBUSY ? " (another process holds the group)" : " (is the device bound to vfio-pci?)");
		return fd;
	}
	rc = kioctl(fd, VFIO_GROUP_GET_STATUS, &st);
	if (!rc && !(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		rc = group_check_viable(dev->group, dev->name);
		if (!rc)
			rc = -EBUSY; /* sysfs looked fine but the kernel disagrees: report its verdict */
	}
	if (!rc)
		rc = kioctl(fd, VFIO_GROUP_SET_CONTAINER, &m->fd);
	if (rc) {
		if (rc != -EBUSY)
			upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: cannot add IOMMU group %d to the container: %s", dev->name,
				 dev->group, strerror(-rc));
		upci_kernel()->close(fd);
		return rc;
	}
	grown = realloc(m->groups, (size_t)(m->n_groups + 1) * sizeof(*m->groups));
	if (!grown) {
		kioctl(fd, VFIO_GROUP_UNSET_CONTAINER, NULL);
		upci_kernel()->close(fd);
		return -ENOMEM;
	}
	m->groups = grown;
	g = &m->groups[m->n_groups++];
	g->number = dev->group;
	g->fd = fd;
	g->refs = 0;
	*out = g;
	return 0;
}

static void group_release(struct upci_iommu *m, int number)
{
	struct iommu_group_ref *g = find_group(m, number);

	if (!g || --g->refs > 0)
		return;
	kioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER, NULL);
	upci_kernel()->close(g->fd);
	*g = m->groups[--m->n_groups];
	if (m->n_groups == 0)
		m->iommu_set = false; /* the container loses its IOMMU with its last group */
}

static int attach_type1(struct upci_iommu *m, struct upci_dev *dev)
{
	struct iommu_group_ref *g = find_group(m, dev->group);
	int rc = 0;

	if (dev->want_msi_window) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: the type1 backend cannot place the MSI window; use iommufd on a "
			 "kernel that offers IOMMU_OPTION_SW_MSI_START, or leave msi_window_start 0", dev->name);
		return -EOPNOTSUPP;
	}
	if (!g && (rc = group_add_to_container(m, dev, &g)))
		return rc;
	g->refs++;
	if (!m->iommu_set) {
		rc = kioctl(m->fd, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU);
		if (rc) {
			upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: VFIO_SET_IOMMU(type1v2) failed: %s%s", dev->name, strerror(-rc),
				 rc == -EPERM ? " — the platform cannot isolate this device's MSIs (interrupt remapping off); "
						"enable it (intel_iommu=on, intremap) or, accepting the risk, load "
						"vfio_iommu_type1 with allow_unsafe_interrupts=1" : "");
			group_release(m, dev->group);
			return rc;
		}
		m->iommu_set = true;
	}
	rc = upci_kernel()->ioctl(g->fd, VFIO_GROUP_GET_DEVICE_FD, dev->name);
	if (rc < 0) {
		rc = -errno;
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: VFIO_GROUP_GET_DEVICE_FD failed: %s", dev->name, strerror(-rc));
		group_release(m, dev->group);
		return rc;
	}
	dev->fd = rc;
	return 0;
}

/* ---- iommufd ---- */

static int sw_msi_option(struct upci_iommu *m, uint32_t devid, uint16_t op, uint32_t id, uint64_t *val)
{
	struct upci_iommu_option o = { .size = sizeof(o), .option_id = id, .op = op, .object_id = devid,
				       .val64 = *val };
	int rc = kioctl(m->fd, UPCI_IOMMU_OPTION, &o);

	*val = o.val64;
	return rc;
}

/* Detect whether the kernel lets us place the software-MSI window, and place it if asked. Before attach. */
static int place_msi_window(struct upci_iommu *m, struct upci_dev *dev)
{
	uint64_t cur = 0, start = dev->want_msi_window, size_mb = 1;
	int rc;

	dev->msi_window_settable = sw_msi_option(m, dev->devid, UPCI_IOMMU_OPTION_OP_GET,
						 UPCI_IOMMU_OPTION_SW_MSI_START, &cur) == 0;
	if (!start)
		return 0;
	if (!dev->msi_window_settable) {
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
	rc = sw_msi_option(m, dev->devid, UPCI_IOMMU_OPTION_OP_SET, UPCI_IOMMU_OPTION_SW_MSI_START, &start);
	if (!rc)
		rc = sw_msi_option(m, dev->devid, UPCI_IOMMU_OPTION_OP_SET, UPCI_IOMMU_OPTION_SW_MSI_SIZE, &size_mb);
	if (rc) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: placing the MSI window at 0x%llx failed: %s", dev->name,
			 (unsigned long long)dev->want_msi_window, strerror(-rc));
		return rc;
	}
	m->user_msi_window = dev->want_msi_window;
	return 0;
}

static int attach_iommufd(struct upci_iommu *m, struct upci_dev *dev)
{
	struct upci_vfio_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = m->fd };
	struct upci_vfio_attach_iommufd_pt attach = { .argsz = sizeof(attach), .pt_id = m->ioas_id };
	char cdev[32], path[64];
	int rc = find_cdev(dev->name, cdev, sizeof(cdev)), fd;

	if (rc) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: no VFIO cdev under /sys/bus/pci/devices/%s/vfio-dev (%s): bind it to "
			 "vfio-pci on a kernel with CONFIG_VFIO_DEVICE_CDEV, or use the type1 backend", dev->name,
			 dev->name, strerror(-rc));
		return rc;
	}
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", cdev);
	fd = kopen(path, O_RDWR);
	if (fd < 0) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: cannot open %s: %s", dev->name, path, strerror(-fd));
		return fd;
	}
	rc = kioctl(fd, UPCI_VFIO_DEVICE_BIND_IOMMUFD, &bind);
	if (rc) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: VFIO_DEVICE_BIND_IOMMUFD failed: %s%s", dev->name, strerror(-rc),
			 rc == -EPERM ? " — the platform cannot isolate this device's MSIs (interrupt remapping off); enable "
					"it or, accepting the risk, set iommufd.allow_unsafe_interrupts=1"
			 : rc == -EBUSY ? " — another device of its IOMMU group is in use by a kernel driver" : "");
		upci_kernel()->close(fd);
		return rc;
	}
	dev->devid = bind.out_devid;
	rc = place_msi_window(m, dev);
	if (rc) {
		upci_kernel()->close(fd);
		return rc;
	}
	rc = kioctl(fd, UPCI_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
	if (rc) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s: VFIO_DEVICE_ATTACH_IOMMUFD_PT to IOAS %u failed: %s", dev->name,
			 m->ioas_id, strerror(-rc));
		upci_kernel()->close(fd);
		return rc;
	}
	dev->fd = fd;
	dev->devid = bind.out_devid;
	dev->hwpt_id = attach.pt_id;
	return 0;
}

int iommu_attach_device(struct upci_iommu *m, struct upci_dev *dev)
{
	int rc = m->backend == UPCI_BACKEND_IOMMUFD ? attach_iommufd(m, dev) : attach_type1(m, dev);

	if (!rc) {
		m->refs++;
		dev->iommu = m;
		rc = iova_refresh(m, dev->group);
	}
	return rc;
}

void iommu_detach_device(struct upci_iommu *m, struct upci_dev *dev)
{
	if (dev->fd >= 0) {
		upci_kernel()->close(dev->fd); /* iommufd: closing the cdev unbinds it */
		dev->fd = -1;
	}
	if (m->backend == UPCI_BACKEND_TYPE1)
		group_release(m, dev->group);
	dev->iommu = NULL;
	upci_iommu_put(m);
}

/* Called after a successful attach: the kernel has checked isolation unless allow_unsafe_interrupts is Y. */
void iommu_judge_isolation(struct upci_dev *dev)
{
	const char *param = dev->iommu->backend == UPCI_BACKEND_IOMMUFD
				    ? "/sys/module/iommufd/parameters/allow_unsafe_interrupts"
				    : "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts";
	const char *mod = dev->iommu->backend == UPCI_BACKEND_IOMMUFD ? "iommufd" : "vfio_iommu_type1";
	char val[8];
	int n = upci_read_file(param, val, sizeof(val));

	dev->isolated = n == 2 && val[0] == 'N' && val[1] == '\n';
	if (dev->isolated)
		snprintf(dev->isolation_reason, sizeof(dev->isolation_reason),
			 "%s succeeded with %s.allow_unsafe_interrupts=N: the kernel verified MSI isolation",
			 dev->iommu->backend == UPCI_BACKEND_IOMMUFD ? "iommufd bind" : "type1 attach", mod);
	else if (n == 2 && val[0] == 'Y')
		snprintf(dev->isolation_reason, sizeof(dev->isolation_reason),
			 "%s.allow_unsafe_interrupts=Y: the kernel attached without requiring MSI isolation", mod);
	else
		snprintf(dev->isolation_reason, sizeof(dev->isolation_reason),
			 "cannot read %s (%s): isolation unknown, assumed absent", param, n < 0 ? strerror(-n) : "unexpected value");
}

/* ---- valid IOVA ranges ---- */

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

static int type1_ranges(struct upci_iommu *m, struct upci_iova_range *out, size_t max)
{
	struct range_walk w = { .out = out, .max = max, .dma_avail = -1 };
	uint32_t size = sizeof(struct vfio_iommu_type1_info);
	int rc = -EIO;

	for (int attempt = 0; attempt < 3; attempt++) {
		struct vfio_iommu_type1_info *info = calloc(1, size);

		if (!info)
			return -ENOMEM;
		info->argsz = size;
		rc = kioctl(m->fd, VFIO_IOMMU_GET_INFO, info);
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

static int iommufd_ranges(struct upci_iommu *m, struct upci_iova_range *out, size_t max)
{
	struct upci_iommu_iova_range *r = calloc(max ? max : 1, sizeof(*r));
	struct upci_iommu_ioas_iova_ranges q = { .size = sizeof(q), .ioas_id = m->ioas_id, .num_iovas = (uint32_t)max };
	int rc;

	if (!r)
		return -ENOMEM;
	q.allowed_iovas = (uintptr_t)r;
	rc = kioctl(m->fd, UPCI_IOMMU_IOAS_IOVA_RANGES, &q);
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

/* The kernel's valid ranges, without logging. Also refreshes the IOMMU's smallest page (type1 iova_pgsizes,
 * iommufd out_iova_alignment) and type1's DMA_AVAIL. */
int iommu_kernel_ranges(struct upci_iommu *m, struct upci_iova_range *out, size_t max)
{
	if (m->backend == UPCI_BACKEND_TYPE1 && !m->iommu_set)
		return -EAGAIN; /* no group attached yet: the kernel knows no ranges */
	return m->backend == UPCI_BACKEND_IOMMUFD ? iommufd_ranges(m, out, max) : type1_ranges(m, out, max);
}

int upci_iommu_iova_ranges(struct upci_iommu *iommu, struct upci_iova_range *out, size_t max)
{
	int rc = iommu_kernel_ranges(iommu, out, max);

	if (rc < 0 && rc != -EAGAIN)
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "cannot read the valid IOVA ranges (%s): %s", upci_backend_name(iommu->backend),
			 strerror(-rc));
	return rc;
}
