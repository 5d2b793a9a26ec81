/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The IOMMU side of a device, backend-independent: choosing a backend, the lifetime of contexts, attaching
 * and detaching devices, the MSI isolation verdict, and DMA mapping. Every backend-specific step goes through
 * the backend's ops table (iommu_backend.h): type1 in iommu_type1.c, iommufd in iommu_iommufd.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/sysfs_io.h"
#include "iommu_backend.h"
#include "upci/dma.h"
#include "upci/kernel.h"
#include "upci/log.h"

/* Every backend, in the order UPCI_BACKEND_AUTO prefers them (the fallback, usable() NULL, last). */
static const struct iommu_backend_ops *const backends[] = {
	&iommu_iommufd_ops,
	&iommu_type1_ops,
};

#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

/*
 * The lifetime of contexts: refs_lock guards every context's refs and the default_iommu[] slots, and nothing
 * else. References are taken and dropped from any thread (opening a device holds the open lock, DMA memory
 * does not), so refs is changed only by iommu_get(), iommu_get_default() and upci_iommu_put(), under this lock.
 * A default context leaves its slot under the same lock as its last reference, so it is never found dying.
 */
static pthread_mutex_t refs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct upci_iommu *default_iommu[N_BACKENDS]; /* per backend (refs_lock) */

/* The slot of @backend in backends[], or -1. */
static int backend_slot(enum upci_backend backend)
{
	for (size_t i = 0; i < N_BACKENDS; i++)
		if (backends[i]->id == backend)
			return (int)i;
	return -1;
}

const char *upci_backend_name(enum upci_backend backend)
{
	int slot = backend_slot(backend);

	if (backend == UPCI_BACKEND_AUTO)
		return "auto";
	return slot >= 0 ? backends[slot]->name : "?";
}

int upci_backend_parse(const char *name, enum upci_backend *out)
{
	if (!name)
		return -EINVAL;
	if (!strcmp(name, "auto")) {
		*out = UPCI_BACKEND_AUTO;
		return 0;
	}
	for (size_t i = 0; i < N_BACKENDS; i++) {
		if (!strcmp(name, backends[i]->name)) {
			*out = backends[i]->id;
			return 0;
		}
	}
	return -EINVAL;
}

enum upci_backend upci_iommu_backend(const struct upci_iommu *iommu)
{
	return iommu->backend;
}

int iommu_kopen(const char *path, int flags)
{
	char full[UPCI_PATH_MAX];
	int rc = upci_path(full, sizeof(full), "%s", path), fd;

	if (rc)
		return rc;
	fd = upci_kernel()->open(full, flags, 0);
	return fd < 0 ? -errno : fd;
}

int iommu_kioctl(int fd, unsigned long req, void *arg)
{
	return upci_kernel()->ioctl(fd, req, arg) < 0 ? -errno : 0;
}

int iommu_select_backend(enum upci_backend wanted, const char *devname, enum upci_backend *out)
{
	const char *env = getenv("UPCI_BACKEND");

	if (wanted == UPCI_BACKEND_AUTO && env && *env && upci_backend_parse(env, &wanted)) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "UPCI_BACKEND='%s': use auto, type1 or iommufd", env);
		return -EINVAL;
	}
	if (wanted == UPCI_BACKEND_AUTO) {
		for (size_t i = 0; i < N_BACKENDS && wanted == UPCI_BACKEND_AUTO; i++)
			if (!backends[i]->usable || backends[i]->usable(devname))
				wanted = backends[i]->id;
	}
	if (backend_slot(wanted) < 0) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "unknown IOMMU backend %d", (int)wanted);
		return -EINVAL;
	}
	*out = wanted;
	return 0;
}

static void iommu_free(struct upci_iommu *m)
{
	m->ops->close(m);
	if (m->fd >= 0)
		upci_kernel()->close(m->fd);
	iova_space_release(m);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static int iommu_create(enum upci_backend backend, struct upci_iommu **out)
{
	int slot = backend_slot(backend);
	struct upci_iommu *m;
	int rc;

	if (slot < 0)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->backend = backend;
	m->ops = backends[slot];
	m->fd = -1;
	m->refs = 1;
	m->dma_avail = -1;
	pthread_mutex_init(&m->lock, NULL);
	rc = m->ops->open(m);
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
	bool last;

	if (!iommu)
		return;
	pthread_mutex_lock(&refs_lock);
	last = --iommu->refs == 0;
	if (last && iommu->is_default)
		default_iommu[backend_slot(iommu->backend)] = NULL;
	pthread_mutex_unlock(&refs_lock);
	if (last)
		iommu_free(iommu); /* nobody else can reach it now */
}

void iommu_get(struct upci_iommu *iommu)
{
	pthread_mutex_lock(&refs_lock);
	iommu->refs++;
	pthread_mutex_unlock(&refs_lock);
}

/* Take a reference on the default context of @slot, if there is one. Return: it, or NULL. */
static struct upci_iommu *get_default_slot(int slot)
{
	struct upci_iommu *m;

	pthread_mutex_lock(&refs_lock);
	m = default_iommu[slot];
	if (m)
		m->refs++;
	pthread_mutex_unlock(&refs_lock);
	return m;
}

/* The shared context of @backend: created on first use, alive while a device or DMA memory uses it. */
int iommu_get_default(enum upci_backend backend, struct upci_iommu **out)
{
	int slot = backend_slot(backend), rc;
	struct upci_iommu *m, *other;

	if (slot < 0)
		return -EINVAL;
	m = get_default_slot(slot);
	if (m) {
		*out = m;
		return 0;
	}
	rc = iommu_create(backend, &m); /* outside refs_lock: it talks to the kernel */
	if (rc)
		return rc;
	pthread_mutex_lock(&refs_lock);
	other = default_iommu[slot];
	if (other) {
		other->refs++; /* created meanwhile by another caller: use that one */
	} else {
		m->is_default = true;
		default_iommu[slot] = m;
	}
	pthread_mutex_unlock(&refs_lock);
	if (other) {
		upci_iommu_put(m);
		m = other;
	}
	*out = m;
	return 0;
}

int iommu_attach_device(struct upci_iommu *m, const struct iommu_attach *dev, int *device_fd)
{
	int fd = -1, rc = m->ops->attach_device(m, dev, &fd);

	if (rc)
		return rc;
	iommu_get(m);
	rc = iova_refresh(m, dev->group);
	if (rc) {
		upci_kernel()->close(fd);
		iommu_detach_device(m, dev->group);
		return rc;
	}
	*device_fd = fd;
	return 0;
}

void iommu_detach_device(struct upci_iommu *m, int group)
{
	m->ops->detach_device(m, group);
	upci_iommu_put(m);
}

/* Called after a successful attach: the kernel has checked isolation unless allow_unsafe_interrupts is Y. */
bool iommu_judge_isolation(const struct upci_iommu *m, char *reason, size_t len)
{
	const char *mod = m->ops->isolation_module;
	char param[128], val[8];
	bool isolated;
	int n;

	snprintf(param, sizeof(param), "/sys/module/%s/parameters/allow_unsafe_interrupts", mod);
	n = upci_read_file(param, val, sizeof(val));
	isolated = n == 2 && val[0] == 'N' && val[1] == '\n';
	if (isolated)
		snprintf(reason, len, "%s succeeded with %s.allow_unsafe_interrupts=N: the kernel verified MSI isolation",
			 m->ops->attach_verb, mod);
	else if (n == 2 && val[0] == 'Y')
		snprintf(reason, len, "%s.allow_unsafe_interrupts=Y: the kernel attached without requiring MSI isolation",
			 mod);
	else
		snprintf(reason, len, "cannot read %s (%s): isolation unknown, assumed absent", param,
			 n < 0 ? strerror(-n) : "unexpected value");
	return isolated;
}

/* The kernel's valid ranges, without logging. Also refreshes the IOMMU's smallest page and type1's DMA_AVAIL:
 * the caller holds m->lock. */
int iommu_kernel_ranges(struct upci_iommu *m, struct upci_iova_range *out, size_t max)
{
	return m->ops->iova_ranges(m, out, max);
}

int upci_iommu_iova_ranges(struct upci_iommu *iommu, struct upci_iova_range *out, size_t max)
{
	int rc;

	pthread_mutex_lock(&iommu->lock); /* the query refreshes iommu_pgsize and dma_avail */
	rc = iommu_kernel_ranges(iommu, out, max);
	pthread_mutex_unlock(&iommu->lock);

	if (rc < 0 && rc != -EAGAIN)
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "cannot read the valid IOVA ranges (%s): %s", upci_backend_name(iommu->backend),
			 strerror(-rc));
	return rc;
}

/* ---- DMA mappings, for dma.c ---- */

int iommu_dma_check_avail(struct upci_iommu *m)
{
	if (upci_iommu_dma_avail(m) != 0)
		return 0;
	upci_log(UPCI_LOG_ERR, LOG_VFIO, "the %s IOMMU allows no more DMA mappings (DMA_AVAIL 0): allocate larger "
		 "chunks%s%s", m->ops->name, m->ops->dma_limit_hint ? ", or " : "",
		 m->ops->dma_limit_hint ? m->ops->dma_limit_hint : "");
	return -ENOSPC;
}

int iommu_dma_map(struct upci_iommu *m, void *va, uint64_t iova, size_t len)
{
	return m->ops->map_dma(m, va, iova, len);
}

const char *iommu_dma_map_op(const struct upci_iommu *m)
{
	return m->ops->map_op;
}

void iommu_dma_unmap(struct upci_iommu *m, uint64_t iova, size_t len)
{
	int rc = m->ops->unmap_dma(m, iova, len);

	if (rc)
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "unmapping DMA IOVA 0x%llx+0x%zx failed: %s", (unsigned long long)iova, len,
			 strerror(-rc));
}

/* Map (@map) or unmap every DMA allocation of @m; the list is copied under the lock, the calls made outside it. */
static int dma_map_all(struct upci_iommu *m, bool map)
{
	struct upci_dma **all;
	size_t n = 0, i = 0;
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	for (struct upci_dma *d = m->dmas; d; d = d->next)
		n++;
	all = calloc(n ? n : 1, sizeof(*all));
	for (struct upci_dma *d = m->dmas; all && d; d = d->next)
		all[i++] = d;
	pthread_mutex_unlock(&m->lock);
	if (!all) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "test hook: no memory to list the context's DMA mappings");
		return -ENOMEM;
	}
	for (i = 0; i < n && !rc; i++) {
		rc = map ? m->ops->map_dma(m, all[i]->va, all[i]->iova, all[i]->len) :
			   m->ops->unmap_dma(m, all[i]->iova, all[i]->len);
		if (rc)
			upci_log(UPCI_LOG_ERR, LOG_VFIO, "test hook: %s of DMA IOVA 0x%llx+0x%zx failed: %s",
				 map ? m->ops->map_op : "unmap", (unsigned long long)all[i]->iova, all[i]->len, strerror(-rc));
	}
	free(all);
	return rc ? rc : (int)n;
}

int upci_iommu_test_unmap_all(struct upci_iommu *m)
{
	return dma_map_all(m, false);
}

int upci_iommu_test_remap_all(struct upci_iommu *m)
{
	return dma_map_all(m, true);
}

void iommu_dma_track(struct upci_iommu *m, struct upci_dma *d)
{
	pthread_mutex_lock(&m->lock);
	if (m->dma_avail > 0)
		m->dma_avail--;
	d->next = m->dmas;
	m->dmas = d;
	pthread_mutex_unlock(&m->lock);
	iommu_get(m); /* the memory keeps its context alive */
}

void iommu_dma_untrack(struct upci_iommu *m, struct upci_dma *d)
{
	pthread_mutex_lock(&m->lock);
	for (struct upci_dma **p = &m->dmas; *p; p = &(*p)->next) {
		if (*p == d) {
			*p = d->next;
			break;
		}
	}
	if (m->dma_avail >= 0)
		m->dma_avail++;
	pthread_mutex_unlock(&m->lock);
}
