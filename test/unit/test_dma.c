/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/vfio_bus/dma.c and pktpool.c against the fake VFIO kernel. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_vfio.h"
#include "log_capture.h"
#include "upci/dma.h"
#include "upci/log.h"
#include "upci/pktpool.h"
#include "upci/vfio.h"

#define KiB 1024ul
#define MiB (1024ul * KiB)

struct world {
	struct fake_vfio f;
	struct upci_dev *dev;
};

/* A fake world: @script (may be NULL) changes the fake kernel before the device opens. */
struct script {
	enum upci_backend backend;
	void (*script)(struct fake_vfio *f);
};

static int open_world(void **state, enum upci_backend backend, uint32_t dma_entry_limit,
		      void (*script)(struct fake_vfio *f))
{
	struct world *w = calloc(1, sizeof(*w));
	struct upci_dev_opts opts = { .backend = backend };

	if (!w || fake_vfio_init(&w->f))
		return -1;
	w->f.dma_entry_limit = dma_entry_limit;
	if (backend == UPCI_BACKEND_IOMMUFD)
		fake_vfio_enable_iommufd(&w->f);
	if (script)
		script(&w->f);
	log_capture_start();
	if (upci_dev_open(FAKE_BDF, &opts, &w->dev)) {
		fprintf(stderr, "open failed:\n%s", log_text);
		return -1;
	}
	*state = w;
	return 0;
}

static int setup_type1(void **state)
{
	return open_world(state, UPCI_BACKEND_TYPE1, 65535, NULL);
}

static int setup_iommufd(void **state)
{
	return open_world(state, UPCI_BACKEND_IOMMUFD, 65535, NULL);
}

static int setup_no_dma_entries(void **state)
{
	return open_world(state, UPCI_BACKEND_TYPE1, 0, NULL);
}

/* *@state holds a struct script before, the world after. */
static int setup_scripted(void **state)
{
	const struct script *sc = *state;

	return open_world(state, sc->backend, 65535, sc->script);
}

static int teardown(void **state)
{
	struct world *w = *state;
	int fds;

	upci_dev_close(w->dev);
	fds = w->f.live_fds;
	fake_vfio_cleanup(&w->f);
	free(w);
	log_capture_stop();
	return fds == 0 ? 0 : -1; /* a leaked fd (or a DMA region keeping the context alive) fails the test */
}

static struct upci_iommu *ctx(void **state)
{
	return upci_dev_iommu(((struct world *)*state)->dev);
}

static void memlock_rules(void **state)
{
	(void)state;
	log_capture_start();
	assert_int_equal(upci_memlock_check(1 << 20, 8 << 20, 0, false), 0);
	assert_int_equal(upci_memlock_check(8 << 20, 8 << 20, 0, false), 0);
	assert_int_equal(upci_memlock_check(1 << 20, 8 << 20, 8 << 20, false), -ENOMEM);
	assert_int_equal(upci_memlock_check(1 << 20, 8 << 20, 16 << 20, false), -ENOMEM); /* already over */
	assert_int_equal(upci_memlock_check(64 << 20, 8 << 20, 0, true), 0);              /* CAP_IPC_LOCK */
	assert_int_equal(upci_memlock_check(UINT64_MAX / 2, RLIM_INFINITY, 0, false), 0);
	log_text[0] = '\0';
	assert_int_equal(upci_memlock_check(64 << 20, 8 << 20, 1 << 20, false), -ENOMEM);
	assert_non_null(strstr(log_text, "65536 KiB"));     /* what is needed */
	assert_non_null(strstr(log_text, "RLIMIT_MEMLOCK of 8192 KiB")); /* the limit */
	assert_non_null(strstr(log_text, "ulimit -l 66560")); /* how to raise it: enough for both */
	log_capture_stop();
}

static void windows_and_ranges(void **state)
{
	struct upci_doorbell_window win[4];
	struct upci_iova_range r[8];

	assert_int_equal(upci_iommu_doorbell_windows(ctx(state), win, 4), 1);
	assert_true(win[0].start == 0xfee00000 && win[0].last == 0xfeefffff);
	assert_non_null(strstr(win[0].name, "MSI window"));
	assert_true(win[0].kernel_managed);
	assert_int_equal(upci_iommu_usable_ranges(ctx(state), r, 8), 2);
	assert_true(r[0].start == 0 && r[0].last == 0xfedfffff);
	assert_true(r[1].start == 0xfef00000);
}

static void dma_alloc_map_lookup_free(void **state)
{
	struct world *w = *state;
	struct upci_dma *d = NULL;
	long avail = upci_iommu_dma_avail(ctx(state));

	assert_int_equal(upci_dma_alloc(ctx(state), 3 << 20, -1, 0, &d), 0);
	assert_true(d->len >= (3u << 20));
	assert_int_equal(d->iova % d->page_size, 0);
	assert_false(d->iova <= 0xfeefffff && d->iova + d->len - 1 >= 0xfee00000);
	assert_int_equal(upci_dma_iova(d, d->va + 12345), d->iova + 12345);
	assert_true(upci_dma_iova(d, d->va + d->len) == ~0ull);
	assert_true(upci_dma_iova(d, d->va - 1) == ~0ull);
	assert_int_equal(w->f.dma_maps, 1);
	assert_true(w->f.last_map_iova == d->iova);
	if (upci_dev_backend(w->dev) == UPCI_BACKEND_TYPE1) {
		assert_int_equal(avail, 65535);
		assert_int_equal(upci_iommu_dma_avail(ctx(state)), 65534);
	} else {
		assert_int_equal(avail, -1);
	}
	d->va[0] = 1; /* writable */
	upci_dma_free(d);
	assert_int_equal(w->f.dma_maps, 0);
	assert_int_equal(upci_iommu_dma_avail(ctx(state)), avail);
	assert_int_equal(upci_dma_alloc(ctx(state), 0, -1, 0, &d), -EINVAL);
}

static void small_pages_on_request(void **state)
{
	struct upci_dma *d = NULL;

	assert_int_equal(upci_dma_alloc(ctx(state), 5000, -1, UPCI_DMA_NO_HUGEPAGES, &d), 0);
	assert_int_equal(d->page_size, (size_t)sysconf(_SC_PAGESIZE));
	assert_int_equal(d->len, 2 * d->page_size);
	upci_dma_free(d);
}

static void fixed_iova_in_window_refused(void **state)
{
	uint64_t iova;

	log_text[0] = '\0';
	assert_int_equal(upci_iova_alloc_fixed(ctx(state), 0xfee00000, 0x1000), -EINVAL);
	assert_non_null(strstr(log_text, "MSI window ("));
	assert_non_null(strstr(log_text, "0xfee00000-0xfeefffff"));
	assert_int_equal(upci_iova_alloc_fixed(ctx(state), 0xfed00000, 0x200000), -EINVAL); /* straddles */
	assert_int_equal(upci_iova_alloc_fixed(ctx(state), 0x100000, 0x1000), 0);
	assert_int_equal(upci_iova_alloc_fixed(ctx(state), 0x100000, 0x1000), -EBUSY);
	assert_int_equal(upci_iova_free(ctx(state), 0x100000, 0x1000), 0);
	assert_int_equal(upci_iova_free(ctx(state), 0x100000, 0x1000), -EINVAL); /* double free */
	assert_int_equal(upci_iova_alloc(ctx(state), 1ull << 30, 1ull << 30, &iova), 0);
	assert_int_equal(iova % (1ull << 30), 0);
	assert_int_equal(upci_iova_free(ctx(state), iova, 1ull << 30), 0);
}

static void no_dma_entries_left(void **state)
{
	struct upci_dma *d = NULL;

	assert_int_equal(upci_iommu_dma_avail(ctx(state)), 0);
	log_text[0] = '\0';
	assert_int_equal(upci_dma_alloc(ctx(state), 4096, -1, 0, &d), -ENOSPC);
	assert_null(d);
	assert_non_null(strstr(log_text, "DMA_AVAIL 0"));
}

static void pool_get_put(void **state)
{
	struct upci_pktpool *p = NULL;
	void *bufs[1100], *bad[3];
	unsigned n;

	assert_int_equal(upci_pktpool_create(ctx(state), 1000, 2000, -1, &p), 0);
	assert_int_equal(p->buf_size, 2048);
	assert_int_equal(upci_pktpool_free_count(p), 1000);
	n = upci_pktpool_get(p, bufs, 1100);
	assert_int_equal(n, 1000);
	assert_int_equal(upci_pktpool_get(p, bufs + 1000, 1), 0);
	for (unsigned i = 0; i < n; i++) {
		uint64_t off = (uint64_t)((uint8_t *)bufs[i] - p->base);

		assert_int_equal(off % 2048, 0);
		assert_true(off / 2048 < 1000);
		assert_int_equal(upci_pktpool_iova(p, bufs[i]), p->dma->iova + off);
		assert_int_equal(upci_dma_iova(p->dma, bufs[i]), upci_pktpool_iova(p, bufs[i]));
		for (unsigned j = 0; j < i; j++)
			assert_ptr_not_equal(bufs[i], bufs[j]);
	}
	bad[0] = p->base + 1;                 /* not a buffer start */
	bad[1] = p->base + 1000u * 2048;      /* past the last buffer */
	bad[2] = (uint8_t *)&n;               /* not pool memory at all */
	assert_int_equal(upci_pktpool_put(p, bad, 3), 0);
	assert_int_equal(p->bad_puts, 3);
	assert_int_equal(upci_pktpool_put(p, bufs, 500), 500);
	assert_int_equal(upci_pktpool_put(p, bufs + 500, 500), 500);
	assert_int_equal(upci_pktpool_free_count(p), 1000);
	upci_pktpool_destroy(p);
	assert_int_equal(upci_pktpool_create(ctx(state), 0, 2048, -1, &p), -EINVAL);
	assert_int_equal(upci_pktpool_create(ctx(state), 16, 0, -1, &p), -EINVAL);
}

/* One thread takes buffers, another returns them (through a pipe): no buffer is ever handed out twice. */
struct spsc {
	struct upci_pktpool *p;
	int pipe[2];
	_Atomic int *in_flight;
	int transfers;
	_Atomic int errors;
};

static void *returner(void *arg)
{
	struct spsc *s = arg;
	void *buf;

	for (int i = 0; i < s->transfers; i++) {
		if (read(s->pipe[0], &buf, sizeof(buf)) != sizeof(buf))
			break;
		atomic_store(&s->in_flight[((uint8_t *)buf - s->p->base) / s->p->buf_size], 0);
		while (upci_pktpool_put(s->p, &buf, 1) != 1)
			;
	}
	return NULL;
}

static void pool_spsc_threads(void **state)
{
	struct spsc s = { .transfers = 200000 };
	pthread_t t;

	assert_int_equal(upci_pktpool_create(ctx(state), 64, 256, -1, &s.p), 0);
	s.in_flight = calloc(64, sizeof(*s.in_flight));
	assert_int_equal(pipe(s.pipe), 0);
	assert_int_equal(pthread_create(&t, NULL, returner, &s), 0);
	for (int i = 0; i < s.transfers;) {
		void *bufs[8];
		unsigned want = s.transfers - i < 8 ? (unsigned)(s.transfers - i) : 8;
		unsigned n = upci_pktpool_get(s.p, bufs, want);

		for (unsigned k = 0; k < n; k++, i++) {
			if (atomic_exchange(&s.in_flight[((uint8_t *)bufs[k] - s.p->base) / s.p->buf_size], 1))
				s.errors++;
			if (write(s.pipe[1], &bufs[k], sizeof(bufs[k])) != sizeof(bufs[k]))
				s.errors++;
		}
	}
	pthread_join(t, NULL);
	assert_int_equal(s.errors, 0);
	assert_int_equal(upci_pktpool_free_count(s.p), 64);
	close(s.pipe[0]);
	close(s.pipe[1]);
	free((void *)s.in_flight);
	upci_pktpool_destroy(s.p);
}

static void msi_window_placement_needs_the_kernel_option(void **state)
{
	struct fake_vfio f;
	struct upci_dev *dev = NULL;
	struct upci_dev_opts opts = { .backend = UPCI_BACKEND_IOMMUFD, .msi_window_start = 0x10000000 };
	(void)state;

	assert_int_equal(fake_vfio_init(&f), 0);
	fake_vfio_enable_iommufd(&f);
	log_capture_start();
	assert_int_equal(upci_dev_open(FAKE_BDF, &opts, &dev), -EOPNOTSUPP);
	assert_non_null(strstr(log_text, "not in mainline"));
	opts.backend = UPCI_BACKEND_TYPE1;
	assert_int_equal(upci_dev_open(FAKE_BDF, &opts, &dev), -EOPNOTSUPP);
	assert_int_equal(f.live_fds, 0);
	fake_vfio_cleanup(&f);
	log_capture_stop();
}

static void msi_window_placed_when_offered(void **state)
{
	struct fake_vfio f;
	struct upci_dev *dev = NULL;
	struct upci_dev_opts opts = { .backend = UPCI_BACKEND_IOMMUFD, .msi_window_start = 0x10000000 };
	struct upci_doorbell_window win[4];
	bool placed = false, x86 = false;
	int n;
	(void)state;

	assert_int_equal(fake_vfio_init(&f), 0);
	fake_vfio_enable_iommufd(&f);
	f.sw_msi_option = true;
	opts.msi_window_start = 0x10000001;
	assert_int_equal(upci_dev_open(FAKE_BDF, &opts, &dev), -EINVAL); /* not 1 MiB aligned */
	opts.msi_window_start = 0x10000000;
	assert_int_equal(upci_dev_open(FAKE_BDF, &opts, &dev), 0);
	assert_true(f.sw_msi_start == 0x10000000 && f.sw_msi_size_mb == 1);
	n = upci_iommu_doorbell_windows(upci_dev_iommu(dev), win, 4);
	for (int i = 0; i < n; i++) {
		placed |= win[i].start == 0x10000000 && win[i].last == 0x100fffff && !win[i].kernel_managed;
		x86 |= win[i].start == 0xfee00000 && win[i].kernel_managed;
	}
	assert_true(placed && x86);
	assert_int_equal(upci_iova_alloc_fixed(upci_dev_iommu(dev), 0x10080000, 0x1000), -EINVAL);
	upci_dev_close(dev);
	assert_int_equal(f.live_fds, 0);
	fake_vfio_cleanup(&f);
}

/* ---- page sizes that are not x86's ---- */

static void smmu_64k_pages(struct fake_vfio *f)
{
	f->iova_pgsizes = 0x10000 | 0x20000000; /* an SMMU on its 64 KiB granule: 64 KiB and 512 MiB */
}

/* The IOMMU's smallest page is larger than the host's: the granule is the IOMMU's. */
static void granule_from_type1_pgsizes(void **state)
{
	struct world *w = *state;
	struct upci_iommu *m = upci_dev_iommu(w->dev);
	struct upci_dma *d = NULL;
	uint64_t iova;

	assert_int_equal(upci_iommu_iova_granule(m), 64 * KiB);
	assert_int_equal(upci_iova_alloc(m, 4 * KiB, 4 * KiB, &iova), -EINVAL);
	assert_int_equal(upci_iova_alloc(m, 64 * KiB, 4 * KiB, &iova), -EINVAL);
	assert_int_equal(upci_iova_alloc(m, 68 * KiB, 64 * KiB, &iova), -EINVAL);
	assert_int_equal(upci_iova_alloc(m, 64 * KiB, 64 * KiB, &iova), 0);
	assert_int_equal(iova % (64 * KiB), 0);
	assert_int_equal(upci_iova_free(m, iova, 64 * KiB), 0);
	log_text[0] = '\0';
	assert_int_equal(upci_iova_alloc_fixed(m, 0x101000, 64 * KiB), -EINVAL); /* 4 KiB-aligned */
	assert_non_null(strstr(log_text, "IOVA granule 0x10000"));
	log_text[0] = '\0';
	assert_int_equal(upci_iova_alloc(m, 4 * KiB, 64 * KiB, &iova), -EINVAL);
	assert_non_null(strstr(log_text, "multiple of the IOVA granule 0x10000"));
	assert_int_equal(upci_iova_alloc_fixed(m, 0x100000, 4 * KiB), -EINVAL);
	assert_int_equal(upci_iova_alloc_fixed(m, 0x100000, 64 * KiB), 0);
	assert_int_equal(upci_iova_free(m, 0x100000, 64 * KiB), 0);
	/* Base-page DMA memory: host pages, but length, address and IOVA in 64 KiB units (type1 checks all three). */
	assert_int_equal(upci_dma_alloc(m, 5000, -1, UPCI_DMA_NO_HUGEPAGES, &d), 0);
	assert_int_equal(d->page_size, upci_page_size());
	assert_int_equal(d->len, 64 * KiB);
	assert_int_equal((uintptr_t)d->va % (64 * KiB), 0);
	assert_int_equal(d->iova % (64 * KiB), 0);
	assert_int_equal(w->f.dma_maps, 1);
	d->va[d->len - 1] = 1;
	upci_dma_free(d);
}

static void host_64k_pages(struct fake_vfio *f)
{
	f->page_size = 64 * KiB; /* an arm64 kernel built with 64 KiB pages */
}

/* iommufd: the host's page is the granule when the IOAS needs less (out_iova_alignment 4 KiB here). */
static void granule_from_host_page(void **state)
{
	struct world *w = *state;
	struct upci_iommu *m = upci_dev_iommu(w->dev);
	struct upci_dma *d = NULL;
	uint64_t iova;

	assert_int_equal(upci_page_size(), 64 * KiB);
	assert_int_equal(upci_iommu_iova_granule(m), 64 * KiB);
	assert_int_equal(upci_iova_alloc(m, 4 * KiB, 64 * KiB, &iova), -EINVAL);
	assert_int_equal(upci_iova_alloc_fixed(m, 0x1000, 64 * KiB), -EINVAL);
	assert_int_equal(upci_dma_alloc(m, 100 * KiB, -1, UPCI_DMA_NO_HUGEPAGES, &d), 0);
	assert_int_equal(d->page_size, 64 * KiB);
	assert_int_equal(d->len, 128 * KiB);
	assert_int_equal((uintptr_t)d->va % (64 * KiB), 0);
	assert_int_equal(d->iova % (64 * KiB), 0);
	upci_dma_free(d);
}

static void ioas_64k_alignment(struct fake_vfio *f)
{
	f->iova_alignment = 64 * KiB;
}

/* iommufd: out_iova_alignment larger than the host page wins. */
static void granule_from_ioas_alignment(void **state)
{
	struct world *w = *state;
	struct upci_iommu *m = upci_dev_iommu(w->dev);
	struct upci_dma *d = NULL;

	assert_int_equal(upci_iommu_iova_granule(m), 64 * KiB);
	assert_int_equal(upci_dma_alloc(m, 4 * KiB, -1, UPCI_DMA_NO_HUGEPAGES, &d), 0);
	assert_int_equal(d->len, 64 * KiB);
	assert_int_equal(d->iova % (64 * KiB), 0);
	upci_dma_free(d);
}

/* /sys/kernel/mm/hugepages/hugepages-<kB>kB for each size, and /proc/meminfo's default (0: no line). */
static void hugepage_sizes(struct fake_vfio *f, const unsigned *kib, size_t n, unsigned default_kib)
{
	char path[96], meminfo[256];

	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "sys/kernel/mm/hugepages/hugepages-%ukB/nr_hugepages", kib[i]);
		fake_sysfs_write(&f->sys, path, "0\n");
	}
	snprintf(meminfo, sizeof(meminfo), "MemTotal:        8039228 kB\nHugePages_Total:       0\n%s%.0u%s"
		 "Hugetlb:               0 kB\n", default_kib ? "Hugepagesize:    " : "", default_kib,
		 default_kib ? " kB\n" : "");
	fake_sysfs_write(&f->sys, "proc/meminfo", meminfo);
}

static int huge_shift(const struct fake_vfio *f)
{
	return (f->hugetlb_flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
}

static void arm64_64k_hugepages(struct fake_vfio *f)
{
	static const unsigned kib[] = { 2048, 524288, 16777216 }; /* 2 MiB (contiguous PTEs), 512 MiB, 16 GiB */

	host_64k_pages(f);
	hugepage_sizes(f, kib, 3, 524288);
	f->hugetlb = true;
}

/* upci_dma_alloc(@len) asks for hugepages of 2^@shift bytes and gets @want_len bytes of them, aligned. */
static void assert_hugepage_dma(struct world *w, size_t len, int shift, size_t want_len)
{
	size_t huge = (size_t)1 << shift;
	struct upci_dma *d = NULL;

	assert_int_equal(upci_dma_alloc(upci_dev_iommu(w->dev), len, -1, 0, &d), 0);
	assert_true(w->f.hugetlb_flags & MAP_HUGETLB);
	assert_int_equal(huge_shift(&w->f), shift);
	assert_int_equal(d->page_size, huge);
	assert_int_equal(d->len, want_len);
	assert_int_equal((uintptr_t)d->va % huge, 0);
	assert_int_equal(d->iova % huge, 0);
	upci_dma_free(d);
}

/* 2 MiB is preferred whenever the kernel has it, even when its default hugepage size is another. */
static void hugepages_prefer_2m(void **state)
{
	assert_hugepage_dma(*state, 3 * MiB, 21, 4 * MiB);
}

static void s390_hugepages(struct fake_vfio *f)
{
	static const unsigned kib[] = { 1024 };

	hugepage_sizes(f, kib, 1, 1024);
	f->hugetlb = true;
}

/* Without 2 MiB pages the default size is used, encoded as log2(size) << MAP_HUGE_SHIFT. */
static void hugepages_default_size(void **state)
{
	struct world *w = *state;
	struct upci_dma *d = NULL;

	assert_hugepage_dma(w, 1536 * KiB, 20, 2 * MiB);
	/* Asked for base pages: no hugepage request at all. */
	w->f.hugetlb_flags = 0;
	assert_int_equal(upci_dma_alloc(upci_dev_iommu(w->dev), 1536 * KiB, -1, UPCI_DMA_NO_HUGEPAGES, &d), 0);
	assert_int_equal(w->f.hugetlb_flags, 0);
	assert_int_equal(d->page_size, upci_page_size());
	upci_dma_free(d);
}

static void no_free_hugepages(struct fake_vfio *f)
{
	arm64_64k_hugepages(f);
	f->hugetlb = false;
}

/* No free hugepages: base pages of the host's size, not 4 KiB ones. */
static void hugepages_exhausted_fall_back(void **state)
{
	struct world *w = *state;
	struct upci_dma *d = NULL;

	assert_int_equal(upci_dma_alloc(upci_dev_iommu(w->dev), 5000, -1, 0, &d), 0);
	assert_int_equal(huge_shift(&w->f), 21); /* tried */
	assert_int_equal(d->page_size, 64 * KiB);
	assert_int_equal(d->len, 64 * KiB);
	assert_int_equal((uintptr_t)d->va % (64 * KiB), 0);
	upci_dma_free(d);
}

static void no_hugetlb(struct fake_vfio *f)
{
	fake_sysfs_write(&f->sys, "proc/meminfo", "MemTotal:        8039228 kB\nHugepagesize:    3000 kB\n");
	f->hugetlb = true;
}

/* A kernel without hugetlb (no sysfs directory) and a default size that is no power of two: base pages. */
static void hugepages_absent_not_tried(void **state)
{
	struct world *w = *state;
	struct upci_dma *d = NULL;

	assert_int_equal(upci_dma_alloc(upci_dev_iommu(w->dev), 5000, -1, 0, &d), 0);
	assert_int_equal(w->f.hugetlb_flags, 0);
	assert_int_equal(d->page_size, upci_page_size());
	upci_dma_free(d);
}

/* ---- doorbell windows are named from their address, not from the host's architecture ---- */

static void x86_and_arm64_windows(struct fake_vfio *f)
{
	fake_sysfs_write(&f->sys, "sys/kernel/iommu_groups/7/reserved_regions",
			 "0x0000000008000000 0x00000000080fffff msi\n0x00000000fee00000 0x00000000feefffff msi\n");
}

static void window_names_from_address(void **state)
{
	struct world *w = *state;
	struct upci_iommu *m = upci_dev_iommu(w->dev);
	struct upci_doorbell_window win[4];

	assert_int_equal(upci_iommu_doorbell_windows(m, win, 4), 2);
	assert_true(win[0].start == 0x8000000 && win[0].last == 0x80fffff);
	assert_non_null(strstr(win[0].name, "software-MSI window"));
	assert_true(win[1].start == 0xfee00000);
	assert_non_null(strstr(win[1].name, "x86 MSI window"));
	log_text[0] = '\0';
	assert_int_equal(upci_iova_alloc_fixed(m, 0x8010000, 0x1000), -EINVAL);
	assert_non_null(strstr(log_text, "software-MSI window"));
	assert_non_null(strstr(log_text, "0x8000000-0x80fffff"));
	log_text[0] = '\0';
	assert_int_equal(upci_iova_alloc_fixed(m, 0xfee10000, 0x1000), -EINVAL);
	assert_non_null(strstr(log_text, "x86 MSI window"));
}

/* A test in a world @script changed before the device opened. */
#define SCRIPTED(test, be, fn) \
	cmocka_unit_test_prestate_setup_teardown(test, setup_scripted, teardown, (&(struct script){ be, fn }))

/*
 * DMA memory and devices share their IOMMU context's reference count from different threads: one thread
 * allocates and frees DMA memory on the context in a loop (each free drops a reference without the open lock),
 * the other opens and closes a second device of the group, which takes and drops references on the same
 * default context under the open lock. Bounded; run under ThreadSanitizer by `make test-tsan`. Without one
 * lock for refs, updates are lost: the context is freed under the first device, or leaks its container.
 */
struct race {
	struct upci_iommu *ctx;
	int rounds;
	atomic_int errors;
};

static void *dma_churn(void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < r->rounds; i++) {
		struct upci_dma *d = NULL;

		if (upci_dma_alloc(r->ctx, 4096, -1, UPCI_DMA_NO_HUGEPAGES, &d)) {
			atomic_fetch_add(&r->errors, 1);
			continue;
		}
		((volatile uint8_t *)d->va)[0] = (uint8_t)i;
		upci_dma_free(d);
	}
	return NULL;
}

static void *open_churn(void *arg)
{
	struct race *r = arg;
	struct upci_dev_opts opts = { .backend = UPCI_BACKEND_TYPE1 };

	for (int i = 0; i < r->rounds; i++) {
		struct upci_dev *dev = NULL;

		if (upci_dev_open(FAKE_BDF2, &opts, &dev) || upci_dev_iommu(dev) != r->ctx)
			atomic_fetch_add(&r->errors, 1);
		upci_dev_close(dev);
	}
	return NULL;
}

static void *open_churn_any(void *arg)
{
	struct race *r = arg;
	struct upci_dev_opts opts = { .backend = UPCI_BACKEND_TYPE1 };

	for (int i = 0; i < r->rounds; i++) {
		struct upci_dev *dev = NULL;

		if (upci_dev_open(FAKE_BDF2, &opts, &dev))
			atomic_fetch_add(&r->errors, 1);
		upci_dev_close(dev);
	}
	return NULL;
}

static void dma_free_races_device_open(void **state)
{
	struct world *w = *state;
	struct race r = { .ctx = ctx(state), .rounds = 300 };
	int fds = w->f.live_fds; /* the first device's: container, group, device, REQ and ERR eventfds */
	pthread_t a, b;

	assert_int_equal(pthread_create(&a, NULL, dma_churn, &r), 0);
	assert_int_equal(pthread_create(&b, NULL, open_churn, &r), 0);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	if (atomic_load(&r.errors))
		fail_msg("%d failed allocations or opens; log:\n%s", atomic_load(&r.errors), log_text);
	assert_int_equal(w->f.dma_maps, 0);
	assert_int_equal(w->f.live_fds, fds);
	/* teardown closes the first device: the context must go with it (no fd left) */
}

/*
 * The same with DMA memory outliving its device: one thread opens the first device, allocates on its (default)
 * context, closes the device and only then frees the memory, so the context's last reference often goes with
 * upci_dma_free(), off the open lock, while the other thread opens the second device and looks the default
 * context up. The context must leave its slot with its last reference, never be found dying.
 */
static void *dma_outlives_device(void *arg)
{
	struct race *r = arg;
	struct upci_dev_opts opts = { .backend = UPCI_BACKEND_TYPE1 };

	for (int i = 0; i < r->rounds; i++) {
		struct upci_dev *dev = NULL;
		struct upci_dma *d = NULL;

		if (upci_dev_open(FAKE_BDF, &opts, &dev) ||
		    upci_dma_alloc(upci_dev_iommu(dev), 4096, -1, UPCI_DMA_NO_HUGEPAGES, &d))
			atomic_fetch_add(&r->errors, 1);
		upci_dev_close(dev);
		if (d)
			((volatile uint8_t *)d->va)[0] = (uint8_t)i;
		upci_dma_free(d);
	}
	return NULL;
}

static void last_reference_races_default_lookup(void **state)
{
	struct world *w = *state;
	struct race r = { .rounds = 200 };
	pthread_t a, b;

	upci_dev_close(w->dev);
	w->dev = NULL;
	assert_int_equal(w->f.live_fds, 0);
	assert_int_equal(pthread_create(&a, NULL, dma_outlives_device, &r), 0);
	assert_int_equal(pthread_create(&b, NULL, open_churn_any, &r), 0);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	if (atomic_load(&r.errors))
		fail_msg("%d failed allocations or opens; log:\n%s", atomic_load(&r.errors), log_text);
	assert_int_equal(w->f.live_fds, 0); /* every context went with its last reference */
}

static void second_device(struct fake_vfio *f)
{
	fake_vfio_add_second_device(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(memlock_rules),
		cmocka_unit_test_setup_teardown(windows_and_ranges, setup_type1, teardown),
		cmocka_unit_test_setup_teardown(windows_and_ranges, setup_iommufd, teardown),
		cmocka_unit_test_setup_teardown(dma_alloc_map_lookup_free, setup_type1, teardown),
		cmocka_unit_test_setup_teardown(dma_alloc_map_lookup_free, setup_iommufd, teardown),
		cmocka_unit_test_setup_teardown(small_pages_on_request, setup_type1, teardown),
		cmocka_unit_test_setup_teardown(fixed_iova_in_window_refused, setup_type1, teardown),
		cmocka_unit_test_setup_teardown(fixed_iova_in_window_refused, setup_iommufd, teardown),
		cmocka_unit_test_setup_teardown(no_dma_entries_left, setup_no_dma_entries, teardown),
		cmocka_unit_test_setup_teardown(pool_get_put, setup_type1, teardown),
		cmocka_unit_test_setup_teardown(pool_spsc_threads, setup_iommufd, teardown),
		cmocka_unit_test(msi_window_placement_needs_the_kernel_option),
		cmocka_unit_test(msi_window_placed_when_offered),
		SCRIPTED(granule_from_type1_pgsizes, UPCI_BACKEND_TYPE1, smmu_64k_pages),
		SCRIPTED(granule_from_host_page, UPCI_BACKEND_IOMMUFD, host_64k_pages),
		SCRIPTED(granule_from_ioas_alignment, UPCI_BACKEND_IOMMUFD, ioas_64k_alignment),
		SCRIPTED(hugepages_prefer_2m, UPCI_BACKEND_TYPE1, arm64_64k_hugepages),
		SCRIPTED(hugepages_default_size, UPCI_BACKEND_IOMMUFD, s390_hugepages),
		SCRIPTED(hugepages_exhausted_fall_back, UPCI_BACKEND_TYPE1, no_free_hugepages),
		SCRIPTED(hugepages_absent_not_tried, UPCI_BACKEND_TYPE1, no_hugetlb),
		SCRIPTED(window_names_from_address, UPCI_BACKEND_TYPE1, x86_and_arm64_windows),
		SCRIPTED(dma_free_races_device_open, UPCI_BACKEND_TYPE1, second_device),
		SCRIPTED(last_reference_races_default_lookup, UPCI_BACKEND_TYPE1, second_device),
	};

	return cmocka_run_group_tests_name("dma", tests, NULL, NULL);
}
