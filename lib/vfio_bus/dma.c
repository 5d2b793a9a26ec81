/* SPDX-License-Identifier: BSD-3-Clause */
/* The IOVA space of an IOMMU context, its doorbell windows, and pinned DMA memory. */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../common/sysfs_io.h"
#include "uapi_compat.h"
#include "upci/kernel.h"
#include "upci/log.h"
#include "upci_config.h"
#include "vfio_internal.h"

#if UPCI_HAVE_NUMA
#include <numa.h>
#endif

#define HUGE_2M (2ull << 20)

/* Known doorbell windows, cut out of the conservative default when the kernel reports no ranges. */
static const struct upci_resv_region known_windows[] = {
	{ 0xfee00000ull, 0xfeefffffull, UPCI_RESV_MSI }, /* x86 interrupt address range: keep first (window_name()) */
	{ 0x08000000ull, 0x080fffffull, UPCI_RESV_MSI }, /* Linux's arm64 software-MSI window (MSI_IOVA_BASE) */
};

static _Atomic uint64_t pinned_bytes; /* by this process, through upci */

/* ---- the space ---- */

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
	return m->dma_avail;
}

uint64_t upci_iommu_iova_granule(struct upci_iommu *m)
{
	uint64_t g;

	pthread_mutex_lock(&m->lock);
	g = m->space_ready ? m->space.granule : upci_page_size();
	pthread_mutex_unlock(&m->lock);
	return g;
}

/* ---- pinned memory ---- */

int upci_memlock_check(uint64_t need, uint64_t limit, uint64_t locked, bool cap_ipc_lock)
{
	if (cap_ipc_lock || limit == (uint64_t)RLIM_INFINITY || (locked <= limit && need <= limit - locked))
		return 0;
	upci_log(UPCI_LOG_ERR, LOG_VFIO, "pinning %" PRIu64 " KiB more for DMA (%" PRIu64 " KiB already pinned) exceeds "
		 "RLIMIT_MEMLOCK of %" PRIu64 " KiB: raise it (ulimit -l %" PRIu64 ", or unlimited; systemd "
		 "LimitMEMLOCK=; containers --ulimit memlock=-1:-1) or run with CAP_IPC_LOCK", need >> 10, locked >> 10,
		 limit >> 10, (locked + need + 1023) >> 10);
	return -ENOMEM;
}

/* CapEff bit 14 (CAP_IPC_LOCK) from /proc/self/status. */
static bool has_cap_ipc_lock(void)
{
	char buf[4096];
	const char *line;
	uint64_t caps;
	int n = upci_read_file("/proc/self/status", buf, sizeof(buf));

	if (n < 0 && n != -EFBIG)
		return false;
	line = strstr(buf, "\nCapEff:\t");
	if (!line || upci_parse_u64(line + 9, 16, 16, &caps))
		return false;
	return caps & (1ull << 14);
}

static int check_memlock(uint64_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		return 0; /* cannot tell: let the kernel decide */
	return upci_memlock_check(need, rl.rlim_cur, atomic_load(&pinned_bytes), has_cap_ipc_lock());
}

static void bind_node(void *va, size_t len, int node)
{
#if UPCI_HAVE_NUMA
	if (node >= 0 && numa_available() >= 0)
		numa_tonode_memory(va, len, node);
#else
	(void)va, (void)len, (void)node;
#endif
}

static int is_2m_dir(const char *name, void *arg)
{
	(void)arg;
	return !strcmp(name, "hugepages-2048kB");
}

/* The kernel's default hugepage size (Hugepagesize in /proc/meminfo); 0 when it has none or says nothing sane. */
static uint64_t default_hugepage_size(void)
{
	static const char key[] = "\nHugepagesize:";
	char buf[8192];
	const char *p;
	uint64_t kib;
	size_t n;

	if (upci_read_file("/proc/meminfo", buf, sizeof(buf)) < 0 || !(p = strstr(buf, key)))
		return 0;
	p += sizeof(key) - 1;
	p += strspn(p, " ");
	n = strspn(p, "0123456789");
	if (upci_parse_u64(p, n, 10, &kib) || strncmp(p + n, " kB\n", 4) || !kib || (kib & (kib - 1)) || kib >> 40)
		return 0;
	return kib << 10;
}

/* Hugepages for DMA memory: 2 MiB when the kernel has that size (x86; arm64 with 4, 16 or 64 KiB pages), else
 * its default size (ppc64 16 MiB, s390 1 MiB); 0 when it has no hugepages. */
static uint64_t hugepage_size(void)
{
	if (upci_for_each_entry("/sys/kernel/mm/hugepages", is_2m_dir, NULL) == 1)
		return HUGE_2M;
	return default_hugepage_size();
}

/* mmap's flags for hugepages of @huge bytes (a power of two): log2 of the size in the MAP_HUGE_* bits. */
static int hugetlb_flags(size_t huge)
{
	return MAP_HUGETLB | (int)((unsigned)__builtin_ctzll(huge) << MAP_HUGE_SHIFT);
}

static size_t dma_align(size_t page, size_t granule)
{
	return page > granule ? page : granule;
}

/* Map @want bytes of @page-sized pages, length and address aligned to dma_align(); sets *@len. */
static void *map_pages(size_t want, size_t page, size_t granule, int flags, size_t *len)
{
	const struct upci_kernel_ops *k = upci_kernel();
	size_t align = dma_align(page, granule), extra = align - page, head;
	uint8_t *va;

	if (want > SIZE_MAX / 2 - align)
		return MAP_FAILED;
	*len = (want + align - 1) & ~(align - 1);
	/* mmap aligns to @page only: take @extra more and trim both ends to the alignment (type1 wants the
	 * virtual address aligned to the IOMMU page too). */
	va = k->mmap(NULL, *len + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
	if (va == MAP_FAILED || !extra)
		return va;
	head = (size_t)(-(uintptr_t)va & (align - 1));
	if (head)
		k->munmap(va, head);
	if (extra > head)
		k->munmap(va + head + *len, extra - head);
	return va + head;
}

/* Anonymous memory in hugepages when possible; falls back to base pages with one warning. */
static void *map_memory(size_t *len, size_t *page, size_t granule, int node, unsigned flags)
{
	static atomic_bool warned;
	size_t want = *len, huge = flags & UPCI_DMA_NO_HUGEPAGES ? 0 : (size_t)hugepage_size();
	void *va = MAP_FAILED;

	if (huge) {
		*page = huge;
		va = map_pages(want, huge, granule, hugetlb_flags(huge), len);
		if (va == MAP_FAILED && !atomic_exchange(&warned, true))
			upci_log(UPCI_LOG_WARN, LOG_VFIO, "no free %zu KiB hugepages (see /sys/kernel/mm/hugepages/hugepages-"
				 "%zukB/nr_hugepages): DMA memory falls back to %zu KiB pages (more IOTLB misses)", huge >> 10,
				 huge >> 10, upci_page_size() >> 10);
	}
	if (va == MAP_FAILED) {
		*page = upci_page_size();
		va = map_pages(want, *page, granule, 0, len);
	}
	if (va == MAP_FAILED)
		return NULL;
	if (node >= 0) {
		bind_node(va, *len, node);
		memset(va, 0, *len); /* fault every page in on its node before the kernel pins it */
	}
	return va; /* otherwise the kernel faults the pages in (zeroed) when it pins them */
}

static int map_dma(struct upci_iommu *m, struct upci_dma *d)
{
	if (m->backend == UPCI_BACKEND_IOMMUFD) {
		struct upci_iommu_ioas_map map = {
			.size = sizeof(map), .ioas_id = m->ioas_id, .user_va = (uintptr_t)d->va, .length = d->len,
			.iova = d->iova,
			.flags = UPCI_IOMMU_IOAS_MAP_FIXED_IOVA | UPCI_IOMMU_IOAS_MAP_READABLE | UPCI_IOMMU_IOAS_MAP_WRITEABLE,
		};

		return upci_kernel()->ioctl(m->fd, UPCI_IOMMU_IOAS_MAP, &map) ? -errno : 0;
	} else {
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)d->va, .iova = d->iova, .size = d->len,
		};

		return upci_kernel()->ioctl(m->fd, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
	}
}

static void unmap_dma(struct upci_iommu *m, struct upci_dma *d)
{
	int rc;

	if (m->backend == UPCI_BACKEND_IOMMUFD) {
		struct upci_iommu_ioas_unmap un = { .size = sizeof(un), .ioas_id = m->ioas_id, .iova = d->iova,
						    .length = d->len };

		rc = upci_kernel()->ioctl(m->fd, UPCI_IOMMU_IOAS_UNMAP, &un);
	} else {
		struct vfio_iommu_type1_dma_unmap un = { .argsz = sizeof(un), .iova = d->iova, .size = d->len };

		rc = upci_kernel()->ioctl(m->fd, VFIO_IOMMU_UNMAP_DMA, &un);
	}
	if (rc)
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "unmapping DMA IOVA 0x%" PRIx64 "+0x%zx failed: %s", d->iova, d->len,
			 strerror(errno));
}

int upci_dma_alloc(struct upci_iommu *m, size_t len, int numa_node, unsigned flags, struct upci_dma **out)
{
	size_t granule = (size_t)upci_iommu_iova_granule(m);
	struct upci_dma *d;
	int rc;

	*out = NULL;
	if (len == 0)
		return -EINVAL;
	if (m->backend == UPCI_BACKEND_TYPE1 && m->dma_avail == 0) {
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "the type1 IOMMU allows no more DMA mappings (DMA_AVAIL 0): allocate "
			 "larger chunks, or raise vfio_iommu_type1.dma_entry_limit");
		return -ENOSPC;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->len = len;
	d->numa_node = numa_node;
	d->iommu = m;
	d->va = map_memory(&d->len, &d->page_size, granule, numa_node, flags);
	rc = d->va ? 0 : -ENOMEM;
	if (rc)
		upci_log(UPCI_LOG_ERR, LOG_VFIO, "cannot allocate %zu bytes of memory for DMA", len);
	if (!rc)
		rc = check_memlock(d->len); /* the kernel pins at map time: check before that */
	if (!rc && !(rc = upci_iova_alloc(m, d->len, dma_align(d->page_size, granule), &d->iova))) {
		rc = map_dma(m, d);
		if (rc) {
			upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s of %zu bytes at IOVA 0x%" PRIx64 " failed: %s%s",
				 m->backend == UPCI_BACKEND_IOMMUFD ? "IOMMU_IOAS_MAP" : "VFIO_IOMMU_MAP_DMA", d->len, d->iova,
				 strerror(-rc), rc == -ENOMEM ? " (RLIMIT_MEMLOCK? see ulimit -l)" : "");
			upci_iova_free(m, d->iova, d->len);
		}
	}
	if (rc) {
		if (d->va)
			upci_kernel()->munmap(d->va, d->len);
		free(d);
		return rc;
	}
	atomic_fetch_add(&pinned_bytes, d->len);
	pthread_mutex_lock(&m->lock);
	if (m->dma_avail > 0)
		m->dma_avail--;
	d->next = m->dmas;
	m->dmas = d;
	m->refs++; /* the memory keeps its context alive */
	pthread_mutex_unlock(&m->lock);
	*out = d;
	return 0;
}

void upci_dma_free(struct upci_dma *d)
{
	struct upci_iommu *m;

	if (!d)
		return;
	m = d->iommu;
	unmap_dma(m, d);
	upci_iova_free(m, d->iova, d->len);
	upci_kernel()->munmap(d->va, d->len);
	atomic_fetch_sub(&pinned_bytes, d->len);
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
	free(d);
	upci_iommu_put(m);
}
