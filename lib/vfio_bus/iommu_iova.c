/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The IOVA space of an IOMMU context: the kernel's valid ranges minus every reserved region of every attached
 * group (doorbell windows above all), rebuilt after each attach, and the allocations made in it. The
 * allocator engine itself is iova.c; the DMA memory mapped at these addresses is dma.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommu_backend.h"
#include "upci/kernel.h"
#include "upci/log.h"

/* Known doorbell windows, cut out of the conservative default when the kernel reports no ranges. */
static const struct upci_resv_region known_windows[] = {
	{ 0xfee00000ull, 0xfeefffffull, UPCI_RESV_MSI }, /* x86 interrupt address range: keep first (window_name()) */
	{ 0x08000000ull, 0x080fffffull, UPCI_RESV_MSI }, /* Linux's arm64 software-MSI window (MSI_IOVA_BASE) */
};

static void add_resv(struct upci_iommu *m, const struct upci_resv_region *r)
{
	for (size_t i = 0; i < m->n_resv; i++)
		if (m->resv[i].start == r->start && m->resv[i].end == r->end && m->resv[i].type == r->type)
			return;
	if (m->n_resv < IOVA_MAX_RESV)
		m->resv[m->n_resv++] = *r;
	else
		upci_log(UPCI_LOG_WARN, LOG_VFIO, "more than %d reserved regions: ignoring 0x%" PRIx64 "-0x%" PRIx64,
			 IOVA_MAX_RESV, r->start, r->end);
}

/* The kernel's valid ranges, or a conservative default that still excludes the known doorbell windows. */
static size_t valid_ranges(struct upci_iommu *m, struct upci_iova_range *valid)
{
	int n = iommu_kernel_ranges(m, valid, IOVA_MAX_RANGES);

	if (n > 0)
		return (size_t)n;
	upci_log(UPCI_LOG_WARN, LOG_VFIO, "the kernel reports no valid IOVA ranges (%s): using [0x1000, 2^39) minus the "
		 "known MSI windows", n < 0 ? strerror(-n) : "none");
	valid[0].start = 0x1000;
	valid[0].last = (1ull << 39) - 1;
	for (size_t i = 0; i < sizeof(known_windows) / sizeof(known_windows[0]); i++)
		add_resv(m, &known_windows[i]);
	return 1;
}

/* The IOVA granule: the host page, or the IOMMU's smallest page when that is larger. */
static uint64_t space_granule(const struct upci_iommu *m)
{
	uint64_t host = upci_page_size(), io = m->iommu_pgsize;

	return io > host && !(io & (io - 1)) ? io : host;
}

int iova_refresh(struct upci_iommu *m, int group)
{
	struct upci_resv_region resv[IOVA_MAX_RESV];
	struct upci_iova_range valid[IOVA_MAX_RANGES];
	struct iova_space fresh;
	size_t n_valid;
	int n, rc;

	n = upci_iommu_group_reserved_regions(group, resv, IOVA_MAX_RESV);
	if (n < 0)
		return n;
	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < n; i++)
		add_resv(m, &resv[i]);
	if (m->user_msi_window) {
		struct upci_resv_region placed = { m->user_msi_window, m->user_msi_window + (1ull << 20) - 1, UPCI_RESV_MSI };

		add_resv(m, &placed);
	}
	n_valid = valid_ranges(m, valid);
	rc = iova_space_init(&fresh, space_granule(m), valid, n_valid, m->resv, m->n_resv);
	for (size_t i = 0; !rc && i < m->n_allocs; i++) {
		const struct upci_resv_region *hit;
		uint64_t size = m->allocs[i].last - m->allocs[i].start + 1;

		if (iova_alloc_fixed(&fresh, m->allocs[i].start, size, &hit))
			upci_log(UPCI_LOG_WARN, LOG_VFIO, "IOVA 0x%" PRIx64 "+0x%" PRIx64 " allocated earlier is not valid for "
				 "IOMMU group %d (reserved, out of range, or not aligned to its IOMMU page): devices of that "
				 "group must not use it",
				 m->allocs[i].start, size, group);
	}
	if (!rc) {
		if (m->space_ready)
			iova_space_fini(&m->space);
		m->space = fresh;
		m->space_ready = true;
	} else {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "IOMMU group %d: cannot build the IOVA space: %s", group, strerror(-rc));
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* Called when the context is freed; its DMA memory holds references, so none is left by then. */
void iova_space_release(struct upci_iommu *m)
{
	if (m->space_ready)
		iova_space_fini(&m->space);
	m->space_ready = false;
	free(m->allocs);
	m->allocs = NULL;
	m->n_allocs = m->cap_allocs = 0;
}

static int remember_alloc(struct upci_iommu *m, uint64_t iova, uint64_t size)
{
	if (m->n_allocs == m->cap_allocs) {
		size_t cap = m->cap_allocs ? m->cap_allocs * 2 : 16;
		struct upci_iova_range *p = realloc(m->allocs, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		m->allocs = p;
		m->cap_allocs = cap;
	}
	m->allocs[m->n_allocs].start = iova;
	m->allocs[m->n_allocs].last = iova + size - 1;
	m->n_allocs++;
	return 0;
}

static int forget_alloc(struct upci_iommu *m, uint64_t iova, uint64_t size)
{
	for (size_t i = 0; i < m->n_allocs; i++) {
		if (m->allocs[i].start == iova && m->allocs[i].last == iova + size - 1) {
			m->allocs[i] = m->allocs[--m->n_allocs];
			return 0;
		}
	}
	return -EINVAL;
}

/* Named from the window itself, not from the host: x86's sits on its interrupt address range; any other MSI
 * window is a software-MSI one (arm64: the kernel maps the GIC ITS doorbell there). */
static const char *window_name(const struct upci_resv_region *r)
{
	const struct upci_resv_region *x86 = &known_windows[0];

	if (r->type != UPCI_RESV_MSI)
		return upci_resv_type_name(r->type);
	if (r->start <= x86->end && x86->start <= r->end)
		return "x86 MSI window (interrupt remapping)";
	return "software-MSI window (the kernel maps the MSI doorbell here)";
}

int upci_iova_alloc(struct upci_iommu *m, uint64_t size, uint64_t align, uint64_t *iova)
{
	char why[160];
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = m->space_ready ? iova_alloc(&m->space, size, align, iova) : -EAGAIN;
	if (!rc && (rc = remember_alloc(m, *iova, size)))
		iova_free(&m->space, *iova, size);
	if (rc == -EINVAL)
		snprintf(why, sizeof(why), "the size must be a multiple of the IOVA granule 0x%" PRIx64 " and the "
			 "alignment a power of two no smaller", m->space.granule);
	else
		snprintf(why, sizeof(why), "%s", rc == -EAGAIN ? "no device attached yet" : strerror(-rc));
	pthread_mutex_unlock(&m->lock);
	if (rc)
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "cannot allocate 0x%" PRIx64 " bytes of IOVA aligned to 0x%" PRIx64 ": %s",
			 size, align, why);
	return rc;
}

/* Why iova_alloc_fixed() (or remembering its range) failed with @rc, into @buf. Under the lock. */
static void fixed_refusal(const struct upci_iommu *m, int rc, const struct upci_resv_region *hit, char *buf,
			  size_t len)
{
	if (hit)
		snprintf(buf, len, "it touches the %s 0x%" PRIx64 "-0x%" PRIx64, window_name(hit), hit->start, hit->end);
	else if (rc == -EINVAL)
		snprintf(buf, len, "outside the valid ranges, or not a multiple of the IOVA granule 0x%" PRIx64,
			 m->space.granule);
	else
		snprintf(buf, len, "%s", rc == -EBUSY ? "already allocated"
					 : rc == -EAGAIN ? "no device attached yet" : strerror(-rc));
}

int upci_iova_alloc_fixed(struct upci_iommu *m, uint64_t iova, uint64_t size)
{
	const struct upci_resv_region *hit = NULL;
	char what[160];
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = m->space_ready ? iova_alloc_fixed(&m->space, iova, size, &hit) : -EAGAIN;
	if (!rc && (rc = remember_alloc(m, iova, size)))
		iova_free(&m->space, iova, size);
	if (rc)
		fixed_refusal(m, rc, hit, what, sizeof(what));
	pthread_mutex_unlock(&m->lock);
	if (rc)
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "IOVA 0x%" PRIx64 "+0x%" PRIx64 " refused: %s", iova, size, what);
	return rc;
}

int upci_iova_free(struct upci_iommu *m, uint64_t iova, uint64_t size)
{
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = forget_alloc(m, iova, size);
	if (!rc)
		rc = iova_free(&m->space, iova, size);
	pthread_mutex_unlock(&m->lock);
	if (rc)
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "IOVA 0x%" PRIx64 "+0x%" PRIx64 " was not allocated", iova, size);
	return rc;
}

int upci_iommu_doorbell_windows(struct upci_iommu *m, struct upci_doorbell_window *out, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n_resv && n < max; i++) {
		if (m->resv[i].type != UPCI_RESV_MSI)
			continue;
		out[n].start = m->resv[i].start;
		out[n].last = m->resv[i].end;
		out[n].name = window_name(&m->resv[i]);
		/* Only iommufd's proposed SW_MSI options let userspace place a window; see place_msi_window(). */
		out[n].kernel_managed = !m->user_msi_window || m->resv[i].start != m->user_msi_window;
		n++;
	}
	pthread_mutex_unlock(&m->lock);
	return (int)n;
}

int upci_iommu_usable_ranges(struct upci_iommu *m, struct upci_iova_range *out, size_t max)
{
	struct iova_space s;
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = m->space_ready ? iova_space_init(&s, m->space.granule, m->space.valid, m->space.n_valid, m->resv, m->n_resv)
			    : -EAGAIN;
	pthread_mutex_unlock(&m->lock);
	if (rc)
		return rc;
	for (size_t i = 0; i < s.n_free && i < max; i++)
		out[i] = s.free[i];
	rc = s.n_free > max ? -ENOSPC : (int)s.n_free;
	iova_space_fini(&s);
	return rc;
}

long upci_iommu_dma_avail(struct upci_iommu *m)
{
	long avail;

	pthread_mutex_lock(&m->lock);
	avail = m->dma_avail;
	pthread_mutex_unlock(&m->lock);
	return avail;
}

uint64_t upci_iommu_iova_granule(struct upci_iommu *m)
{
	uint64_t g;

	pthread_mutex_lock(&m->lock);
	g = m->space_ready ? m->space.granule : upci_page_size();
	pthread_mutex_unlock(&m->lock);
	return g;
}
