/* SPDX-License-Identifier: BSD-3-Clause */
/* Pinned DMA memory: hugepages when possible, NUMA placement, RLIMIT_MEMLOCK, one IOMMU mapping per allocation. */
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
#include "iommu_internal.h"
#include "upci/kernel.h"
#include "upci/log.h"
#include "upci_config.h"

#if UPCI_HAVE_NUMA
#include <numa.h>
#endif

#define HUGE_2M (2ull << 20)

static _Atomic uint64_t pinned_bytes; /* by this process, through upci */

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

int upci_dma_alloc(struct upci_iommu *m, size_t len, int numa_node, unsigned flags, struct upci_dma **out)
{
	size_t granule = (size_t)upci_iommu_iova_granule(m);
	struct upci_dma *d;
	int rc;

	*out = NULL;
	if (len == 0)
		return -EINVAL;
	rc = iommu_dma_check_avail(m);
	if (rc)
		return rc;
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
		rc = iommu_dma_map(m, d->va, d->iova, d->len);
		if (rc) {
			upci_log(UPCI_LOG_ERR, LOG_VFIO, "%s of %zu bytes at IOVA 0x%" PRIx64 " failed: %s%s",
				 iommu_dma_map_op(m), d->len, d->iova,
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
	iommu_dma_track(m, d); /* the memory keeps its context alive */
	*out = d;
	return 0;
}

void upci_dma_free(struct upci_dma *d)
{
	struct upci_iommu *m;

	if (!d)
		return;
	m = d->iommu;
	iommu_dma_unmap(m, d->iova, d->len);
	upci_iova_free(m, d->iova, d->len);
	upci_kernel()->munmap(d->va, d->len);
	atomic_fetch_sub(&pinned_bytes, d->len);
	iommu_dma_untrack(m, d);
	free(d);
	upci_iommu_put(m);
}
