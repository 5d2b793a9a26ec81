/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz harness for the IOVA space: the kernel's valid ranges (type1 VFIO_IOMMU_GET_INFO with its IOVA_RANGE
 * and DMA_AVAIL capabilities and iova_pgsizes, or iommufd IOMMU_IOAS_IOVA_RANGES with its alignment) and the
 * group's reserved_regions feed the allocator (lib/vfio_bus/iova.c through iommu_iova.c). The input scripts
 * those replies in the fake VFIO kernel, opens the device (so the real attach path builds the space), runs a
 * sequence of allocations, fixed allocations and frees through the public API, and then drives the engine
 * (iova_space_init/alloc/alloc_fixed/free) directly on the same ranges.
 *
 * Invariants (abort() when broken):
 * - the granule is a power of two no smaller than the page;
 * - usable ranges and the engine's free list: sorted, disjoint, inside the valid ranges, clear of every
 *   reserved region; a point is free exactly when it is valid and not reserved (checked at every edge);
 * - an allocation is aligned as asked, inside one usable range, clear of reserved regions and of every live
 *   allocation; a fixed request on a live allocation is refused; freeing a live allocation succeeds,
 *   freeing anything else fails;
 * - freeing every allocation gives the engine back its initial free list;
 * - after close nothing is left open or mapped.
 */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "fuzz_vfio.h"
#include "lib/vfio_bus/iova.h"
#include "lib/vfio_bus/uapi_compat.h"
#include "test/unit/fake_vfio.h"
#include "upci/device.h"
#include "upci/dma.h"
#include "upci/iommu.h"

#define MAX_SCRIPT_RANGES 40
#define MAX_SCRIPT_RESV 6
#define MAX_ALLOCS 64

static struct fake_vfio f;
static struct upci_kernel_ops base;

/* The kernel's answers for this input. */
static struct {
	struct upci_iova_range ranges[MAX_SCRIPT_RANGES];
	uint32_t n, lie;             /* nr_iovas / num_iovas reported = n + lie */
	uint32_t flags;              /* type1 info flags */
	uint64_t pgsizes, alignment;
	bool dma_avail;
	uint32_t avail;
	struct upci_resv_region resv[MAX_SCRIPT_RESV];
	size_t n_resv;
} k;

static int type1_info(struct vfio_iommu_type1_info *info)
{
	struct vfio_iommu_type1_info_cap_iova_range cap = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, .version = 1 }, .nr_iovas = k.n + k.lie };
	struct vfio_iommu_type1_info_dma_avail avail = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1 }, .avail = k.avail };
	uint32_t at = sizeof(*info), ranges = k.n * (uint32_t)sizeof(struct vfio_iova_range);
	uint32_t need = at + sizeof(cap) + ranges + (k.dma_avail ? sizeof(avail) : 0);
	uint8_t *b = (uint8_t *)info;

	info->flags = k.flags;
	info->iova_pgsizes = k.pgsizes;
	info->cap_offset = 0;
	if (!(k.flags & VFIO_IOMMU_INFO_CAPS))
		return 0;
	if (info->argsz < need) {
		info->argsz = need;
		return 0;
	}
	info->cap_offset = at;
	cap.header.next = k.dma_avail ? at + sizeof(cap) + ranges : 0;
	memcpy(b + at, &cap, sizeof(cap));
	for (uint32_t i = 0; i < k.n; i++) {
		struct vfio_iova_range r = { .start = k.ranges[i].start, .end = k.ranges[i].last };

		memcpy(b + at + sizeof(cap) + i * sizeof(r), &r, sizeof(r));
	}
	if (k.dma_avail)
		memcpy(b + cap.header.next, &avail, sizeof(avail));
	return 0;
}

static int ioas_ranges(struct upci_iommu_ioas_iova_ranges *q)
{
	struct upci_iommu_iova_range *r = (void *)(uintptr_t)q->allowed_iovas;

	if (q->num_iovas < k.n) {
		q->num_iovas = k.n;
		errno = EMSGSIZE;
		return -1;
	}
	for (uint32_t i = 0; i < k.n; i++)
		r[i] = (struct upci_iommu_iova_range){ k.ranges[i].start, k.ranges[i].last };
	q->num_iovas = k.n; /* (no lie here: entries the kernel claims are, to the library, ranges it reported) */
	q->out_iova_alignment = k.alignment;
	return 0;
}

static int w_ioctl(int fd, unsigned long req, void *arg)
{
	if (req == VFIO_IOMMU_GET_INFO)
		return type1_info(arg);
	if (req == UPCI_IOMMU_IOAS_IOVA_RANGES)
		return ioas_ranges(arg);
	return base.ioctl(fd, req, arg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_vfio_init(&f);
	base = f.sys.ops;
	f.sys.ops.ioctl = w_ioctl;
	return 0;
}

static bool overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
	return a0 <= b1 && b0 <= a1;
}

static bool in_ranges(const struct upci_iova_range *r, size_t n, uint64_t p)
{
	for (size_t i = 0; i < n; i++)
		if (p >= r[i].start && p <= r[i].last)
			return true;
	return false;
}

static bool in_resv(const struct upci_resv_region *r, size_t n, uint64_t p)
{
	for (size_t i = 0; i < n; i++)
		if (p >= r[i].start && p <= r[i].end)
			return true;
	return false;
}

static bool inside_one(const struct upci_iova_range *r, size_t n, uint64_t start, uint64_t last)
{
	for (size_t i = 0; i < n; i++)
		if (start >= r[i].start && last <= r[i].last)
			return true;
	return false;
}

static bool hits_resv(const struct upci_resv_region *r, size_t n, uint64_t start, uint64_t last)
{
	for (size_t i = 0; i < n; i++)
		if (overlaps(start, last, r[i].start, r[i].end))
			return true;
	return false;
}

/* @list is sorted, disjoint and made of proper intervals. */
static void check_sorted(const struct upci_iova_range *list, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		CHECK(list[i].start <= list[i].last, "%s[%zu] [%#llx, %#llx]", what, i,
		      (unsigned long long)list[i].start, (unsigned long long)list[i].last);
		CHECK(i == 0 || list[i].start > list[i - 1].last, "%s[%zu] not after [%zu]", what, i, i - 1);
	}
}

/* Every edge of @valid and @resv, and of @free itself: free exactly where valid and not reserved. */
static void check_points(const struct upci_iova_range *free_, size_t n_free, const struct upci_iova_range *valid,
			 size_t n_valid, const struct upci_resv_region *resv, size_t n_resv)
{
	uint64_t pts[4 * (IOVA_MAX_RANGES + IOVA_MAX_RESV) + 256];
	size_t np = 0;

	for (size_t i = 0; i < n_valid; i++) {
		pts[np++] = valid[i].start;
		pts[np++] = valid[i].last;
	}
	for (size_t i = 0; i < n_resv; i++) {
		pts[np++] = resv[i].start - 1;
		pts[np++] = resv[i].start;
		pts[np++] = resv[i].end;
		pts[np++] = resv[i].end + 1;
	}
	for (size_t i = 0; i < n_free && np + 2 <= sizeof(pts) / sizeof(pts[0]); i++) {
		pts[np++] = free_[i].start;
		pts[np++] = free_[i].last;
	}
	for (size_t i = 0; i < np; i++) {
		bool want = in_ranges(valid, n_valid, pts[i]) && !in_resv(resv, n_resv, pts[i]);

		CHECK(in_ranges(free_, n_free, pts[i]) == want, "point %#llx: free %d, valid and unreserved %d",
		      (unsigned long long)pts[i], !want, want);
	}
}

struct alloc {
	uint64_t start, last;
};

static bool hits_alloc(const struct alloc *a, size_t n, uint64_t start, uint64_t last)
{
	for (size_t i = 0; i < n; i++)
		if (overlaps(start, last, a[i].start, a[i].last))
			return true;
	return false;
}

/* Is every address of [start, last] inside some live allocation? */
static bool covered(const struct alloc *a, size_t n, uint64_t start, uint64_t last)
{
	uint64_t p = start;

	for (;;) {
		size_t i;

		for (i = 0; i < n && !(p >= a[i].start && p <= a[i].last); i++)
			;
		if (i == n)
			return false;
		if (a[i].last >= last)
			return true;
		p = a[i].last + 1;
	}
}

/* A size in granules, sometimes huge or not a multiple. */
static uint64_t pick_size(struct input *in, uint64_t g)
{
	uint8_t s = take8(in);

	if (s >= 0xf0)
		return take_edgy64(in);
	return ((uint64_t)(s & 0x3f) + 1) * g << (s >> 6 & 3) * 4;
}

/* An address near a usable range (start, or some granules in), or anywhere. */
static uint64_t pick_iova(struct input *in, const struct upci_iova_range *u, size_t n, uint64_t g)
{
	uint8_t s = take8(in);

	if (!n || s >= 0xe0)
		return take_edgy64(in);
	return u[s % n].start + (uint64_t)take8(in) * g;
}

/* The engine on the script's ranges, with a model of what is allocated. */
static void drive_engine(struct input *in, uint64_t g)
{
	struct iova_space s;
	struct upci_iova_range first[256];
	struct alloc a[MAX_ALLOCS];
	size_t na = 0, n_first;
	int rc;

	if (k.n > IOVA_MAX_RANGES)
		return;
	rc = iova_space_init(&s, g, k.ranges, k.n, k.resv, k.n_resv);
	CHECK(rc == 0 || rc == -EINVAL || rc == -E2BIG, "init rc %d", rc);
	if (rc)
		return;
	check_sorted(s.free, s.n_free, "free");
	check_points(s.free, s.n_free, k.ranges, k.n, k.resv, k.n_resv);
	n_first = s.n_free < 256 ? s.n_free : 0;
	memcpy(first, s.free, n_first * sizeof(first[0]));
	for (unsigned op = 0; op < 48 && in->left; op++) {
		uint8_t o = take8(in);
		const struct upci_resv_region *hit;
		uint64_t size, iova;

		if (o % 3 == 0 && na < MAX_ALLOCS) {
			uint64_t align = g << (take8(in) % 24);

			size = pick_size(in, g);
			rc = iova_alloc(&s, size, align, &iova);
			CHECK(rc == 0 || rc == -EINVAL || rc == -ENOSPC || rc == -ENOMEM, "alloc rc %d", rc);
			if (rc)
				continue;
			CHECK(!(iova & (align - 1)) && size && iova + size - 1 >= iova, "alloc %#llx+%#llx align %#llx",
			      (unsigned long long)iova, (unsigned long long)size, (unsigned long long)align);
		} else if (o % 3 == 1 && na < MAX_ALLOCS) {
			iova = pick_iova(in, s.valid, s.n_valid, g);
			size = pick_size(in, g);
			rc = iova_alloc_fixed(&s, iova, size, &hit);
			CHECK(rc == 0 || rc == -EINVAL || rc == -EBUSY || rc == -ENOMEM, "fixed rc %d", rc);
			if (size && iova + size - 1 >= iova && hits_alloc(a, na, iova, iova + size - 1))
				CHECK(rc != 0, "fixed %#llx+%#llx over a live allocation", (unsigned long long)iova,
				      (unsigned long long)size);
			CHECK(!hit || rc == -EINVAL, "hit set with rc %d", rc);
			if (rc)
				continue;
		} else {
			if (na && !(o & 0x80)) {
				size_t i = take8(in) % na;

				rc = iova_free(&s, a[i].start, a[i].last - a[i].start + 1);
				CHECK(rc == 0, "freeing live allocation [%#llx, %#llx]: %d", (unsigned long long)a[i].start,
				      (unsigned long long)a[i].last, rc);
				a[i] = a[--na];
			} else {
				iova = pick_iova(in, s.valid, s.n_valid, g);
				size = pick_size(in, g);
				/* Anything not allocated (free, reserved, invalid) must be refused. */
				if (!size || iova + size - 1 < iova)
					continue;
				if (covered(a, na, iova, iova + size - 1))
					continue; /* allocated space: the engine may free it (it keeps no records) */
				rc = iova_free(&s, iova, size);
				CHECK(rc != 0, "freeing unallocated %#llx+%#llx succeeded", (unsigned long long)iova,
				      (unsigned long long)size);
			}
			check_sorted(s.free, s.n_free, "free after free");
			continue;
		}
		CHECK(inside_one(s.valid, s.n_valid, iova, iova + size - 1) &&
		      !hits_resv(k.resv, k.n_resv, iova, iova + size - 1) && !hits_alloc(a, na, iova, iova + size - 1) &&
		      !(iova & (g - 1)) && !(size & (g - 1)), "allocation %#llx+%#llx: outside, reserved, taken or "
		      "unaligned", (unsigned long long)iova, (unsigned long long)size);
		a[na++] = (struct alloc){ iova, iova + size - 1 };
		check_sorted(s.free, s.n_free, "free after alloc");
	}
	while (na) {
		na--;
		CHECK(iova_free(&s, a[na].start, a[na].last - a[na].start + 1) == 0, "final free");
	}
	if (n_first) {
		CHECK(s.n_free == n_first, "%zu free intervals after freeing everything, %zu before", s.n_free, n_first);
		for (size_t i = 0; i < n_first; i++)
			CHECK(s.free[i].start == first[i].start && s.free[i].last == first[i].last, "free[%zu] changed", i);
	}
	iova_space_fini(&s);
}

/* The same ranges through the device: attach builds the space, the public API allocates from it. */
static void drive_device(struct input *in, enum upci_backend backend)
{
	struct upci_dev_opts opts = { .backend = backend };
	struct upci_dev *dev = NULL;
	struct upci_iova_range u[128];
	struct upci_doorbell_window w[80];
	struct alloc a[MAX_ALLOCS];
	size_t na = 0;
	struct upci_iommu *m;
	uint64_t g;
	int nu, rc;

	rc = upci_dev_open(FAKE_BDF, &opts, &dev);
	if (rc)
		goto out;
	m = upci_dev_iommu(dev);
	g = upci_iommu_iova_granule(m);
	CHECK(g >= (uint64_t)sysconf(_SC_PAGESIZE) && !(g & (g - 1)), "granule %#llx", (unsigned long long)g);
	nu = upci_iommu_usable_ranges(m, u, 128);
	CHECK(nu >= 0 || nu == -ENOSPC, "usable rc %d", nu);
	if (nu < 0)
		nu = 0;
	check_sorted(u, (size_t)nu, "usable");
	for (int i = 0; i < nu; i++) {
		CHECK(!hits_resv(k.resv, k.n_resv, u[i].start, u[i].last), "usable [%#llx, %#llx] is reserved",
		      (unsigned long long)u[i].start, (unsigned long long)u[i].last);
		CHECK(inside_one(k.ranges, k.n < MAX_SCRIPT_RANGES ? k.n : MAX_SCRIPT_RANGES, u[i].start, u[i].last) ||
		      (u[i].start >= 0x1000 && u[i].last < 1ull << 39), "usable [%#llx, %#llx] was never valid",
		      (unsigned long long)u[i].start, (unsigned long long)u[i].last);
	}
	rc = upci_iommu_doorbell_windows(m, w, 80);
	for (int i = 0; i < rc; i++)
		CHECK(w[i].start <= w[i].last && w[i].name, "doorbell window %d", i);
	for (unsigned op = 0; op < 16 && in->left; op++) {
		uint8_t o = take8(in);
		uint64_t size = pick_size(in, g), iova;

		if (o % 3 == 0) {
			uint64_t align = g << (take8(in) % 24);

			if (na == MAX_ALLOCS || upci_iova_alloc(m, size, align, &iova))
				continue;
			CHECK(!(iova & (align - 1)), "alignment");
		} else if (o % 3 == 1) {
			iova = pick_iova(in, u, (size_t)nu, g);
			rc = upci_iova_alloc_fixed(m, iova, size);
			if (size && iova + size - 1 >= iova && hits_alloc(a, na, iova, iova + size - 1))
				CHECK(rc != 0, "fixed over a live allocation");
			if (rc || na == MAX_ALLOCS) {
				if (!rc)
					upci_iova_free(m, iova, size);
				continue;
			}
		} else {
			if (na) {
				size_t i = take8(in) % na;

				CHECK(upci_iova_free(m, a[i].start, a[i].last - a[i].start + 1) == 0, "free of a live one");
				CHECK(upci_iova_free(m, a[i].start, a[i].last - a[i].start + 1) != 0, "double free");
				a[i] = a[--na];
			}
			continue;
		}
		CHECK(inside_one(u, (size_t)nu, iova, iova + size - 1) || nu == 0,
		      "allocation %#llx+%#llx outside the usable ranges", (unsigned long long)iova,
		      (unsigned long long)size);
		CHECK(!hits_alloc(a, na, iova, iova + size - 1) && !hits_resv(k.resv, k.n_resv, iova, iova + size - 1),
		      "allocation %#llx+%#llx taken or reserved", (unsigned long long)iova, (unsigned long long)size);
		a[na++] = (struct alloc){ iova, iova + size - 1 };
	}
	while (na--)
		CHECK(upci_iova_free(m, a[na].start, a[na].last - a[na].start + 1) == 0, "final free");
	upci_dev_close(dev);
out:
	CHECK(f.live_fds == 0 && f.live_reservations == 0 && f.dma_maps == 0, "left: %d fds %d reservations %d maps",
	      f.live_fds, f.live_reservations, f.dma_maps);
}

static void script(struct input *in)
{
	uint8_t c = take8(in);
	uint64_t cursor = 0;
	char text[MAX_SCRIPT_RESV * 64 + 1], path[512];
	size_t at = 0;
	FILE *fp;

	memset(&k, 0, sizeof(k));
	k.n = c % (MAX_SCRIPT_RANGES + 1);
	k.flags = (c & 0x40 ? 0 : VFIO_IOMMU_INFO_CAPS) | (c & 0x80 ? 0 : VFIO_IOMMU_INFO_PGSIZES);
	for (uint32_t i = 0; i < k.n; i++) {
		uint8_t r = take8(in);

		if (r & 0x80) { /* anywhere */
			k.ranges[i].start = take_edgy64(in);
			k.ranges[i].last = take_edgy64(in);
		} else { /* ascending, in units of 2^(r & 63) */
			unsigned sh = 12 + (r & 31);
			uint64_t gap = (uint64_t)take8(in) << sh, len = ((uint64_t)take8(in) + 1) << sh;

			k.ranges[i].start = cursor + gap;
			k.ranges[i].last = k.ranges[i].start + len - 1;
			if (k.ranges[i].last < k.ranges[i].start)
				k.ranges[i].last = UINT64_MAX;
			cursor = k.ranges[i].last + 1;
		}
	}
	c = take8(in);
	k.lie = c & 0x80 ? c & 7 : 0;
	k.dma_avail = c & 0x40;
	k.avail = take16(in);
	k.pgsizes = c & 0x20 ? take_edgy64(in) : 0x40201000;
	k.alignment = c & 0x10 ? take_edgy64(in) : 4096;
	k.n_resv = (c & 7) % (MAX_SCRIPT_RESV + 1);
	for (size_t i = 0; i < k.n_resv; i++) {
		uint8_t r = take8(in);
		uint64_t start = r & 0x80 ? take_edgy64(in) : (uint64_t)take16(in) << (12 + (r & 15));
		uint64_t len = (uint64_t)take8(in) << 12 | 0xfff;

		k.resv[i].start = start;
		k.resv[i].end = start + len < start ? UINT64_MAX : start + len;
		k.resv[i].type = (enum upci_resv_type)((r >> 4) & 3);
		at += (size_t)snprintf(text + at, sizeof(text) - at, "0x%016llx 0x%016llx %s\n",
				       (unsigned long long)k.resv[i].start, (unsigned long long)k.resv[i].end,
				       upci_resv_type_name(k.resv[i].type));
	}
	snprintf(path, sizeof(path), "%s/sys/kernel/iommu_groups/%d/reserved_regions", f.sys.root, FAKE_GROUP);
	fp = fopen(path, "w");
	if (!fp || fwrite(text, 1, at, fp) != at || fclose(fp))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	uint8_t mode = take8(&in);

	script(&in);
	drive_device(&in, mode & 1 ? UPCI_BACKEND_IOMMUFD : UPCI_BACKEND_TYPE1);
	drive_engine(&in, (uint64_t)0x1000 << (mode >> 1) % 9);
	return 0;
}
