/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/vfio_bus/iova.c: fixed cases, then random operation sequences checked against a model. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/vfio_bus/iova.h"

#define PAGE 0x1000ull
#define G64K 0x10000ull
#define MiB 0x100000ull
#define GiB 0x40000000ull
#define TOP_PAGE 0xfffffffffffff000ull
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

typedef unsigned __int128 u128;

/* What the kernel reports on x86 (VT-d / AMD-Vi) and on arm64 (SMMUv3 with a software MSI window). */
static const struct upci_iova_range x86_valid[] = {
	{ 0, 0xfedfffff }, { 0xfef00000, 0x7fffffffff },
};
static const struct upci_resv_region x86_resv[] = {
	{ 0xfee00000, 0xfeefffff, UPCI_RESV_MSI },
};
static const struct upci_iova_range arm64_valid[] = {
	{ 0, 0x7ffffff }, { 0x8100000, 0xffffffffffff },
};
static const struct upci_resv_region arm64_resv[] = {
	{ 0x8000000, 0x80fffff, UPCI_RESV_MSI },
};
static const struct upci_iova_range full_valid[] = {
	{ 0, UINT64_MAX },
};
static const struct upci_resv_region no_resv[1]; /* passed with a count of 0 */
/* Where *hit points before a call, to see that the call sets it. */
static const struct upci_resv_region not_set;

/* --- helpers for the fixed cases --- */

static void assert_free_list(const struct iova_space *s, const struct upci_iova_range *want, size_t n)
{
	if (s->n_free != n)
		fail_msg("%zu free intervals, want %zu", s->n_free, n);
	for (size_t i = 0; i < n; i++)
		if (s->free[i].start != want[i].start || s->free[i].last != want[i].last)
			fail_msg("free[%zu] = [%#" PRIx64 ", %#" PRIx64 "], want [%#" PRIx64 ", %#" PRIx64 "]", i,
				 s->free[i].start, s->free[i].last, want[i].start, want[i].last);
}

#define ASSERT_FREE(s, ...) do { \
	const struct upci_iova_range want_[] = { __VA_ARGS__ }; \
	assert_free_list((s), want_, ARRAY_LEN(want_)); \
} while (0)

/* A copy of the free list, to check that a refused call changed nothing. */
struct snap {
	struct upci_iova_range r[64];
	size_t n;
};

static void snap_take(const struct iova_space *s, struct snap *p)
{
	assert_true(s->n_free <= ARRAY_LEN(p->r));
	memcpy(p->r, s->free, s->n_free * sizeof(s->free[0]));
	p->n = s->n_free;
}

static void assert_snap(const struct iova_space *s, const struct snap *p)
{
	assert_free_list(s, p->r, p->n);
}

static uint64_t alloc_ok(struct iova_space *s, uint64_t size, uint64_t align)
{
	uint64_t at = 0xdeadbeef;
	int rc = iova_alloc(s, size, align, &at);

	if (rc)
		fail_msg("iova_alloc(size %#" PRIx64 ", align %#" PRIx64 ") = %d", size, align, rc);
	assert_true(at % align == 0);
	return at;
}

static void fixed_ok(struct iova_space *s, uint64_t iova, uint64_t size)
{
	const struct upci_resv_region *hit = &not_set;

	assert_int_equal(iova_alloc_fixed(s, iova, size, &hit), 0);
	assert_null(hit);
}

/* A fixed allocation refused with @rc and *hit == @want_hit, leaving the free list as it was. */
static void fixed_refused(struct iova_space *s, uint64_t iova, uint64_t size, int rc,
			  const struct upci_resv_region *want_hit)
{
	const struct upci_resv_region *hit = &not_set;
	struct snap before;

	snap_take(s, &before);
	assert_int_equal(iova_alloc_fixed(s, iova, size, &hit), rc);
	assert_ptr_equal(hit, want_hit);
	assert_snap(s, &before);
}

static void alloc_refused(struct iova_space *s, uint64_t size, uint64_t align, int rc)
{
	uint64_t at = 0xdeadbeef;
	struct snap before;

	snap_take(s, &before);
	assert_int_equal(iova_alloc(s, size, align, &at), rc);
	assert_snap(s, &before);
}

static void free_refused(struct iova_space *s, uint64_t iova, uint64_t size)
{
	struct snap before;

	snap_take(s, &before);
	assert_int_equal(iova_free(s, iova, size), -EINVAL);
	assert_snap(s, &before);
}

/* --- init --- */

static void init_x86_layout(void **state)
{
	struct iova_space s;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, x86_valid, 2, x86_resv, 1), 0);
	/* The MSI window is exactly the hole between the two ranges. */
	ASSERT_FREE(&s, { 0, 0xfedfffff }, { 0xfef00000, 0x7fffffffff });
	assert_int_equal(s.n_valid, 2);
	assert_int_equal(s.n_resv, 1);
	assert_true(s.resv[0].start == 0xfee00000 && s.resv[0].end == 0xfeefffff);
	/* Best fit: a page comes from the smaller range below the window. */
	assert_true(alloc_ok(&s, PAGE, PAGE) == 0);
	assert_true(alloc_ok(&s, 8 * GiB, 2 * MiB) == 0xff000000);
	iova_space_fini(&s);
	assert_null(s.free);
	assert_int_equal(s.n_free, 0);
	iova_space_fini(&s); /* twice is harmless */
}

static void init_arm64_layout(void **state)
{
	struct iova_space s;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, arm64_valid, 2, arm64_resv, 1), 0);
	ASSERT_FREE(&s, { 0, 0x7ffffff }, { 0x8100000, 0xffffffffffff });
	assert_true(alloc_ok(&s, PAGE, PAGE) == 0);
	assert_true(alloc_ok(&s, 2 * MiB, 2 * MiB) == 0x200000);
	/* 256 MiB does not fit below the window (128 MiB). */
	assert_true(alloc_ok(&s, 256 * MiB, PAGE) == 0x8100000);
	ASSERT_FREE(&s, { 0x1000, 0x1fffff }, { 0x400000, 0x7ffffff }, { 0x18100000, 0xffffffffffff });
	iova_space_fini(&s);
}

static void init_resv_spans_two_ranges(void **state)
{
	static const struct upci_iova_range valid[] = { { 0x10000, 0x4ffff }, { 0x80000, 0xbffff } };
	static const struct upci_resv_region resv[] = { { 0x30000, 0x8ffff, UPCI_RESV_RESERVED } };
	struct iova_space s;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, valid, 2, resv, 1), 0);
	ASSERT_FREE(&s, { 0x10000, 0x2ffff }, { 0x90000, 0xbffff });
	fixed_ok(&s, 0x2f000, PAGE); /* the last page below the region */
	fixed_ok(&s, 0x90000, PAGE); /* the first page above it */
	fixed_refused(&s, 0x2e000, 2 * PAGE, -EBUSY, NULL);
	fixed_refused(&s, 0x2e000, 3 * PAGE, -EINVAL, &s.resv[0]);
	fixed_refused(&s, 0x60000, PAGE, -EINVAL, &s.resv[0]); /* in the hole, which the region also covers */
	ASSERT_FREE(&s, { 0x10000, 0x2efff }, { 0x91000, 0xbffff });
	iova_space_fini(&s);
}

static void init_resv_covers_whole_range(void **state)
{
	static const struct upci_iova_range valid[] = {
		{ 0x1000, 0x1fff }, { 0x10000, 0x1ffff }, { 0x40000, 0x4ffff },
	};
	static const struct upci_resv_region resv[] = {
		{ 0x10000, 0x1ffff, UPCI_RESV_DIRECT },   /* exactly the second range */
		{ 0x3f000, 0x50fff, UPCI_RESV_RESERVED }, /* more than the third */
	};
	static const struct upci_resv_region all[] = { { 0, UINT64_MAX, UPCI_RESV_RESERVED } };
	struct iova_space s;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, valid, 3, resv, 2), 0);
	ASSERT_FREE(&s, { 0x1000, 0x1fff });
	alloc_refused(&s, 2 * PAGE, PAGE, -ENOSPC);
	assert_true(alloc_ok(&s, PAGE, PAGE) == 0x1000);
	assert_int_equal(s.n_free, 0);
	alloc_refused(&s, PAGE, PAGE, -ENOSPC);
	assert_int_equal(iova_free(&s, 0x1000, PAGE), 0);
	ASSERT_FREE(&s, { 0x1000, 0x1fff });
	iova_space_fini(&s);

	/* A region over everything leaves nothing. */
	assert_int_equal(iova_space_init(&s, PAGE, x86_valid, 2, all, 1), 0);
	assert_int_equal(s.n_free, 0);
	alloc_refused(&s, PAGE, PAGE, -ENOSPC);
	fixed_refused(&s, 0x1000, PAGE, -EINVAL, &s.resv[0]);
	iova_space_fini(&s);
}

static void init_resv_overlapping_unaligned(void **state)
{
	static const struct upci_iova_range valid[] = { { 0x1000, 0xffff } };
	static const struct upci_resv_region resv[] = {
		{ 0x5000, 0x8fff, UPCI_RESV_RESERVED },
		{ 0x3000, 0x6fff, UPCI_RESV_RESERVED }, /* overlaps the first, listed after it */
		{ 0x2800, 0x28ff, UPCI_RESV_MSI },      /* not page-granular */
		{ 0x100000, 0x1fffff, UPCI_RESV_MSI },  /* outside every valid range */
		{ 0xafff, 0xafff, UPCI_RESV_RESERVED }, /* one byte: the last of a page */
		{ 0xc000, 0xc000, UPCI_RESV_RESERVED }, /* one byte: the first of a page */
	};
	struct iova_space s;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, valid, 1, resv, 6), 0);
	ASSERT_FREE(&s, { 0x1000, 0x27ff }, { 0x2900, 0x2fff }, { 0x9000, 0xaffe }, { 0xb000, 0xbfff },
		    { 0xc001, 0xffff });
	fixed_refused(&s, 0x2000, PAGE, -EINVAL, &s.resv[2]);
	fixed_refused(&s, 0x8000, PAGE, -EINVAL, &s.resv[0]);
	fixed_refused(&s, 0xa000, PAGE, -EINVAL, &s.resv[4]);
	fixed_refused(&s, 0xc000, PAGE, -EINVAL, &s.resv[5]);
	fixed_ok(&s, 0xb000, PAGE);
	fixed_ok(&s, 0x1000, PAGE);
	free_refused(&s, 0xb000, 2 * PAGE);
	free_refused(&s, 0xa000, 2 * PAGE);
	assert_int_equal(iova_free(&s, 0xb000, PAGE), 0);
	iova_space_fini(&s);
}

static void init_unsorted_ranges(void **state)
{
	static const struct upci_iova_range valid[] = {
		{ 0x300000, 0x3fffff }, { 0x100000, 0x1fffff }, { 0x500000, 0x5fffff },
	};
	struct iova_space s;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, valid, 3, no_resv, 0), 0);
	ASSERT_FREE(&s, { 0x100000, 0x1fffff }, { 0x300000, 0x3fffff }, { 0x500000, 0x5fffff });
	iova_space_fini(&s);
}

static void init_overlapping_ranges(void **state)
{
	static const struct upci_iova_range bad[][2] = {
		{ { 0x1000, 0x5fff }, { 0x5000, 0x8fff } },   /* partly */
		{ { 0x1000, 0x5000 }, { 0x5000, 0x8fff } },   /* one byte */
		{ { 0x10000, 0x1ffff }, { 0x1000, 0x10fff } }, /* unsorted */
		{ { 0, 0xffff }, { 0x1000, 0x1fff } },         /* one inside the other */
		{ { 0x1000, 0x1fff }, { 0x1000, 0x1fff } },    /* twice the same */
	};
	struct iova_space s;
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		assert_int_equal(iova_space_init(&s, PAGE, bad[i], 2, x86_resv, 1), -EINVAL);
		assert_null(s.free);
		assert_int_equal(s.n_free, 0);
	}
}

static void init_start_after_last(void **state)
{
	static const struct upci_iova_range one[] = { { 0x2000, 0x1fff } };
	static const struct upci_iova_range second[] = { { 0x1000, 0x1fff }, { 0x9000, 0x8fff } };
	struct iova_space s;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, one, 1, no_resv, 0), -EINVAL);
	assert_null(s.free);
	assert_int_equal(iova_space_init(&s, PAGE, second, 2, no_resv, 0), -EINVAL);
	assert_null(s.free);
}

/* A reserved region whose start lies after its end is refused, not turned into overlapping free space. */
static void init_resv_start_after_end(void **state)
{
	static const struct upci_iova_range valid[] = { { 0, 0xffff } };
	static const struct upci_resv_region bad[] = { { 0x2000, 0x1000, UPCI_RESV_MSI } };
	struct iova_space s;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, valid, 1, bad, 1), -EINVAL);
	assert_null(s.free);
}

static void init_too_many(void **state)
{
	struct upci_iova_range valid[IOVA_MAX_RANGES + 1];
	struct upci_resv_region resv[IOVA_MAX_RESV + 1];
	struct iova_space s;
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(valid); i++) {
		valid[i].start = i * 0x100000;
		valid[i].last = valid[i].start + 0xfffff - PAGE; /* a one-page hole between ranges */
	}
	for (size_t i = 0; i < ARRAY_LEN(resv); i++) {
		resv[i].start = i * 0x100000;
		resv[i].end = resv[i].start + PAGE - 1;
		resv[i].type = UPCI_RESV_RESERVED;
	}
	assert_int_equal(iova_space_init(&s, PAGE, valid, IOVA_MAX_RANGES + 1, no_resv, 0), -E2BIG);
	assert_int_equal(iova_space_init(&s, PAGE, valid, 1, resv, IOVA_MAX_RESV + 1), -E2BIG);
	assert_int_equal(iova_space_init(&s, PAGE, valid, IOVA_MAX_RANGES, resv, IOVA_MAX_RESV), 0);
	assert_int_equal(s.n_free, IOVA_MAX_RANGES);
	for (size_t i = 0; i < IOVA_MAX_RANGES; i++)
		assert_true(s.free[i].start == valid[i].start + PAGE && s.free[i].last == valid[i].last);
	iova_space_fini(&s);
}

/* --- iova_alloc --- */

static void alloc_best_fit(void **state)
{
	/* Intervals of 64 KiB (A), 16 KiB (B), 32 KiB (C) and 8 KiB (D), given out of order. */
	static const struct upci_iova_range valid[] = {
		{ 0x300000, 0x307fff }, { 0x100000, 0x10ffff }, { 0x400000, 0x401fff }, { 0x200000, 0x203fff },
	};
	struct iova_space s;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, valid, 4, no_resv, 0), 0);
	assert_true(alloc_ok(&s, 3 * PAGE, PAGE) == 0x200000);  /* B: D is too small */
	assert_true(alloc_ok(&s, PAGE, PAGE) == 0x203000);      /* what is left of B: 4 KiB */
	assert_true(alloc_ok(&s, 2 * PAGE, PAGE) == 0x400000);  /* D, exactly */
	assert_true(alloc_ok(&s, 4 * PAGE, PAGE) == 0x300000);  /* C rather than A */
	/* The rest of C (16 KiB at 0x304000) is smaller but has no 32 KiB-aligned 16 KiB: A. */
	assert_true(alloc_ok(&s, 4 * PAGE, 8 * PAGE) == 0x100000);
	assert_true(alloc_ok(&s, 4 * PAGE, 4 * PAGE) == 0x304000); /* the rest of C, 16 KiB-aligned */
	ASSERT_FREE(&s, { 0x104000, 0x10ffff });
	alloc_refused(&s, 16 * PAGE, PAGE, -ENOSPC);

	assert_int_equal(iova_free(&s, 0x200000, 3 * PAGE), 0);
	assert_int_equal(iova_free(&s, 0x400000, 2 * PAGE), 0);
	assert_int_equal(iova_free(&s, 0x304000, 4 * PAGE), 0);
	assert_int_equal(iova_free(&s, 0x100000, 4 * PAGE), 0);
	assert_int_equal(iova_free(&s, 0x203000, PAGE), 0);
	assert_int_equal(iova_free(&s, 0x300000, 4 * PAGE), 0);
	ASSERT_FREE(&s, { 0x100000, 0x10ffff }, { 0x200000, 0x203fff }, { 0x300000, 0x307fff },
		    { 0x400000, 0x401fff });
	iova_space_fini(&s);
}

static void alloc_alignment(void **state)
{
	static const struct upci_iova_range valid[] = { { 0x1000, 0xffffffffff } };
	struct iova_space s;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, valid, 1, no_resv, 0), 0);
	assert_true(alloc_ok(&s, PAGE, 2 * MiB) == 0x200000);
	assert_true(alloc_ok(&s, PAGE, GiB) == 0x40000000);
	/* [0x1000, 0x1fffff] has no 2 MiB-aligned 2 MiB; [0x201000, 0x3fffffff] has. */
	assert_true(alloc_ok(&s, 2 * MiB, 2 * MiB) == 0x400000);
	/* Only the top interval has a 1 GiB-aligned GiB. */
	assert_true(alloc_ok(&s, GiB, GiB) == 0x80000000);
	/* Room enough, but no address aligned to 1 TiB or more (0 is not valid). */
	alloc_refused(&s, PAGE, 1ull << 40, -ENOSPC);
	alloc_refused(&s, PAGE, 1ull << 63, -ENOSPC);
	ASSERT_FREE(&s, { 0x1000, 0x1fffff }, { 0x201000, 0x3fffff }, { 0x600000, 0x3fffffff },
		    { 0x40001000, 0x7fffffff }, { 0xc0000000, 0xffffffffff });
	iova_space_fini(&s);
}

static void alloc_bad_arguments(void **state)
{
	static const uint64_t bad_size[] = { 0, 1, 0x800, 0x1001, 0x1fff, UINT64_MAX };
	static const uint64_t bad_align[] = { 0, 1, 0x800, 0x1001, 0x3000, 0x6000, UINT64_MAX, (1ull << 63) + PAGE };
	struct iova_space s;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, x86_valid, 2, x86_resv, 1), 0);
	for (size_t i = 0; i < ARRAY_LEN(bad_size); i++)
		alloc_refused(&s, bad_size[i], PAGE, -EINVAL);
	for (size_t i = 0; i < ARRAY_LEN(bad_align); i++)
		alloc_refused(&s, PAGE, bad_align[i], -EINVAL);
	for (size_t i = 0; i < ARRAY_LEN(bad_size); i++)
		fixed_refused(&s, 0x100000, bad_size[i], -EINVAL, NULL);
	fixed_refused(&s, 0x100800, PAGE, -EINVAL, NULL); /* not page-aligned */
	fixed_refused(&s, 0x100001, PAGE, -EINVAL, NULL);
	free_refused(&s, 0x100000, 0);
	iova_space_fini(&s);
}

static void alloc_exhaustion(void **state)
{
	static const struct upci_iova_range valid[] = { { 0x10000, 0x1ffff } };
	struct iova_space s;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, valid, 1, no_resv, 0), 0);
	alloc_refused(&s, 17 * PAGE, PAGE, -ENOSPC);
	for (uint64_t i = 0; i < 16; i++)
		assert_true(alloc_ok(&s, PAGE, PAGE) == 0x10000 + i * PAGE);
	assert_int_equal(s.n_free, 0);
	alloc_refused(&s, PAGE, PAGE, -ENOSPC);
	assert_int_equal(iova_free(&s, 0x15000, PAGE), 0);
	alloc_refused(&s, 2 * PAGE, PAGE, -ENOSPC);
	alloc_refused(&s, PAGE, 2 * PAGE, -ENOSPC); /* 0x15000 is not 8 KiB-aligned */
	assert_true(alloc_ok(&s, PAGE, PAGE) == 0x15000);
	alloc_refused(&s, PAGE, PAGE, -ENOSPC);
	iova_space_fini(&s);
}

/* --- iova_alloc_fixed --- */

static void fixed_in_msi_window(void **state)
{
	static const struct upci_resv_region three[] = {
		{ 0x1000, 0x1fff, UPCI_RESV_RESERVED },
		{ 0xfee00000, 0xfeefffff, UPCI_RESV_MSI },
		{ 0x100000000, 0x1000fffff, UPCI_RESV_DIRECT },
	};
	struct iova_space s;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, x86_valid, 2, x86_resv, 1), 0);
	fixed_refused(&s, 0xfee00000, PAGE, -EINVAL, &s.resv[0]);
	fixed_refused(&s, 0xfeeff000, PAGE, -EINVAL, &s.resv[0]);
	fixed_refused(&s, 0xfedff000, 2 * PAGE, -EINVAL, &s.resv[0]); /* from below into it */
	fixed_refused(&s, 0xfeeff000, 2 * PAGE, -EINVAL, &s.resv[0]); /* from it upwards */
	fixed_refused(&s, 0xfe000000, 32 * MiB, -EINVAL, &s.resv[0]); /* all over it */
	assert_int_equal(s.resv[0].type, UPCI_RESV_MSI);
	fixed_ok(&s, 0xfedff000, PAGE);
	fixed_ok(&s, 0xfef00000, PAGE);
	ASSERT_FREE(&s, { 0, 0xfedfefff }, { 0xfef01000, 0x7fffffffff });
	iova_space_fini(&s);

	assert_int_equal(iova_space_init(&s, PAGE, arm64_valid, 2, arm64_resv, 1), 0);
	fixed_refused(&s, 0x8000000, PAGE, -EINVAL, &s.resv[0]);
	fixed_refused(&s, 0x7fff000, 2 * PAGE, -EINVAL, &s.resv[0]);
	fixed_refused(&s, 0x80ff000, 2 * PAGE, -EINVAL, &s.resv[0]);
	iova_space_fini(&s);

	/* *hit is the region touched, not the first one. */
	assert_int_equal(iova_space_init(&s, PAGE, x86_valid, 2, three, 3), 0);
	fixed_refused(&s, 0xfee80000, PAGE, -EINVAL, &s.resv[1]);
	fixed_refused(&s, 0xffff0000, 0x20000, -EINVAL, &s.resv[2]);
	fixed_refused(&s, 0, 2 * PAGE, -EINVAL, &s.resv[0]);
	iova_space_fini(&s);
}

static void fixed_outside_valid(void **state)
{
	static const struct upci_iova_range holes[] = { { 0x1000, 0x1fff }, { 0x3000, 0x3fff } };
	struct iova_space s;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, x86_valid, 2, x86_resv, 1), 0);
	fixed_refused(&s, 0x8000000000, PAGE, -EINVAL, NULL);
	fixed_refused(&s, 0x7ffffff000, 2 * PAGE, -EINVAL, NULL);
	fixed_refused(&s, TOP_PAGE, PAGE, -EINVAL, NULL);
	fixed_ok(&s, 0x7ffffff000, PAGE);
	iova_space_fini(&s);

	/* Holes the kernel leaves out without a reserved region. */
	assert_int_equal(iova_space_init(&s, PAGE, holes, 2, no_resv, 0), 0);
	fixed_refused(&s, 0, PAGE, -EINVAL, NULL);
	fixed_refused(&s, 0x2000, PAGE, -EINVAL, NULL);
	fixed_refused(&s, 0x1000, 3 * PAGE, -EINVAL, NULL);
	fixed_refused(&s, 0x4000, PAGE, -EINVAL, NULL);
	fixed_ok(&s, 0x3000, PAGE);
	iova_space_fini(&s);
}

static void fixed_busy(void **state)
{
	struct iova_space s;
	uint64_t at;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, x86_valid, 2, x86_resv, 1), 0);
	fixed_ok(&s, 0x100000, 0x10000);
	fixed_refused(&s, 0x100000, 0x10000, -EBUSY, NULL);
	fixed_refused(&s, 0x104000, PAGE, -EBUSY, NULL);      /* inside */
	fixed_refused(&s, 0xff000, 2 * PAGE, -EBUSY, NULL);   /* over its start */
	fixed_refused(&s, 0x10f000, 2 * PAGE, -EBUSY, NULL);  /* over its end */
	fixed_refused(&s, 0xf0000, 0x100000, -EBUSY, NULL);   /* all over it */
	fixed_ok(&s, 0xff000, PAGE);
	fixed_ok(&s, 0x110000, PAGE);
	at = alloc_ok(&s, 2 * MiB, 2 * MiB);
	fixed_refused(&s, at + MiB, PAGE, -EBUSY, NULL);
	ASSERT_FREE(&s, { 0, 0xfefff }, { 0x111000, at - 1 }, { at + 2 * MiB, 0xfedfffff }, { 0xfef00000, 0x7fffffffff });
	iova_space_fini(&s);
}

static void fixed_overflow(void **state)
{
	struct iova_space s;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, full_valid, 1, no_resv, 0), 0);
	fixed_refused(&s, TOP_PAGE, 2 * PAGE, -EINVAL, NULL);
	fixed_refused(&s, TOP_PAGE, TOP_PAGE, -EINVAL, NULL);
	fixed_refused(&s, 2 * PAGE, TOP_PAGE, -EINVAL, NULL); /* would end at 0xfff after the wrap */
	fixed_ok(&s, PAGE, TOP_PAGE); /* [0x1000, 2^64 - 1]: ends exactly at the top, no wrap */
	ASSERT_FREE(&s, { 0, PAGE - 1 });
	assert_int_equal(iova_free(&s, PAGE, TOP_PAGE), 0);
	free_refused(&s, TOP_PAGE, 2 * PAGE);
	iova_space_fini(&s);

	assert_int_equal(iova_space_init(&s, PAGE, x86_valid, 2, x86_resv, 1), 0);
	fixed_refused(&s, TOP_PAGE, 2 * PAGE, -EINVAL, NULL);
	fixed_refused(&s, 0x7ffffff000, TOP_PAGE, -EINVAL, NULL);
	iova_space_fini(&s);
}

/* --- a granule larger than 4 KiB (arm64 with 64 KiB pages, or an SMMU on its 64 KiB granule) --- */

static void granule_64k(void **state)
{
	static const uint64_t bad_granule[] = { 0, 3, 0x3000, UINT64_MAX };
	static const struct upci_iova_range low[] = { { 0x1000, 0xfffff } };
	struct iova_space s;
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(bad_granule); i++) {
		assert_int_equal(iova_space_init(&s, bad_granule[i], arm64_valid, 2, arm64_resv, 1), -EINVAL);
		assert_null(s.free);
	}
	assert_int_equal(iova_space_init(&s, G64K, arm64_valid, 2, arm64_resv, 1), 0);
	assert_int_equal(s.granule, G64K);
	alloc_refused(&s, PAGE, PAGE, -EINVAL);        /* a 4 KiB page */
	alloc_refused(&s, PAGE, G64K, -EINVAL);
	alloc_refused(&s, G64K, PAGE, -EINVAL);        /* 4 KiB alignment */
	alloc_refused(&s, G64K + PAGE, G64K, -EINVAL);
	assert_true(alloc_ok(&s, G64K, G64K) == 0);
	assert_true(alloc_ok(&s, 3 * G64K, G64K) == G64K);
	fixed_refused(&s, 0x101000, G64K, -EINVAL, NULL); /* 4 KiB-aligned */
	fixed_refused(&s, 0x100000, PAGE, -EINVAL, NULL);
	fixed_refused(&s, 0x100000, G64K + PAGE, -EINVAL, NULL);
	fixed_refused(&s, 0x7ff0000, 2 * G64K, -EINVAL, &s.resv[0]); /* into the software-MSI window */
	fixed_ok(&s, 0x100000, G64K);
	ASSERT_FREE(&s, { 0x40000, 0xfffff }, { 0x110000, 0x7ffffff }, { 0x8100000, 0xffffffffffff });
	iova_space_fini(&s);

	/* A range that starts off the granule: its unaligned head stays free, allocations start at 64 KiB. */
	assert_int_equal(iova_space_init(&s, G64K, low, 1, no_resv, 0), 0);
	assert_true(alloc_ok(&s, G64K, G64K) == G64K);
	fixed_refused(&s, 0xf0000, 2 * G64K, -EINVAL, NULL); /* runs past the range */
	assert_true(alloc_ok(&s, 14 * G64K, G64K) == 2 * G64K);
	alloc_refused(&s, G64K, G64K, -ENOSPC);          /* only [0x1000, 0xffff] is left: no aligned 64 KiB */
	ASSERT_FREE(&s, { 0x1000, 0xffff });
	assert_int_equal(iova_free(&s, G64K, G64K), 0);
	assert_int_equal(iova_free(&s, 2 * G64K, 14 * G64K), 0);
	ASSERT_FREE(&s, { 0x1000, 0xfffff });
	iova_space_fini(&s);
}

/* --- iova_free --- */

static void free_double(void **state)
{
	struct iova_space s;
	uint64_t at;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, x86_valid, 2, x86_resv, 1), 0);
	free_refused(&s, 0x100000, PAGE); /* never allocated */
	free_refused(&s, 0x8000000000, PAGE); /* not even valid */
	at = alloc_ok(&s, 0x10000, PAGE);
	assert_int_equal(iova_free(&s, at, 0x10000), 0);
	ASSERT_FREE(&s, { 0, 0xfedfffff }, { 0xfef00000, 0x7fffffffff });
	free_refused(&s, at, 0x10000);

	fixed_ok(&s, 0x200000, 0x10000);
	free_refused(&s, 0x1ff000, 2 * PAGE);  /* half free */
	free_refused(&s, 0x20f000, 2 * PAGE);
	free_refused(&s, 0x200000, 0x20000);   /* more than allocated */
	free_refused(&s, 0x1f0000, 0x30000);
	assert_int_equal(iova_free(&s, 0x200000, 0x10000), 0);
	free_refused(&s, 0x200000, 0x10000);
	ASSERT_FREE(&s, { 0, 0xfedfffff }, { 0xfef00000, 0x7fffffffff });
	iova_space_fini(&s);
}

static void free_touching_reserved(void **state)
{
	struct iova_space s;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, x86_valid, 2, x86_resv, 1), 0);
	fixed_ok(&s, 0xfedff000, PAGE);
	fixed_ok(&s, 0xfef00000, PAGE);
	free_refused(&s, 0xfee00000, PAGE);
	free_refused(&s, 0xfedff000, 2 * PAGE);
	free_refused(&s, 0xfeeff000, 2 * PAGE);
	free_refused(&s, 0xfedff000, 0x102000);
	assert_int_equal(iova_free(&s, 0xfedff000, PAGE), 0);
	assert_int_equal(iova_free(&s, 0xfef00000, PAGE), 0);
	ASSERT_FREE(&s, { 0, 0xfedfffff }, { 0xfef00000, 0x7fffffffff });
	iova_space_fini(&s);
}

static void free_merges_neighbours(void **state)
{
	static const struct upci_iova_range valid[] = { { 0x10000, 0x1ffff } };
	struct iova_space s;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, valid, 1, no_resv, 0), 0);
	fixed_ok(&s, 0x10000, 0x10000);
	assert_int_equal(s.n_free, 0);
	assert_int_equal(iova_free(&s, 0x13000, PAGE), 0); /* alone */
	ASSERT_FREE(&s, { 0x13000, 0x13fff });
	assert_int_equal(iova_free(&s, 0x14000, PAGE), 0); /* onto the one on its left */
	ASSERT_FREE(&s, { 0x13000, 0x14fff });
	assert_int_equal(iova_free(&s, 0x16000, PAGE), 0);
	ASSERT_FREE(&s, { 0x13000, 0x14fff }, { 0x16000, 0x16fff });
	assert_int_equal(iova_free(&s, 0x15000, PAGE), 0); /* joins both */
	ASSERT_FREE(&s, { 0x13000, 0x16fff });
	assert_int_equal(iova_free(&s, 0x11000, 2 * PAGE), 0); /* onto the one on its right */
	ASSERT_FREE(&s, { 0x11000, 0x16fff });
	assert_int_equal(iova_free(&s, 0x1f000, PAGE), 0); /* the last page */
	assert_int_equal(iova_free(&s, 0x10000, PAGE), 0); /* the first page */
	ASSERT_FREE(&s, { 0x10000, 0x16fff }, { 0x1f000, 0x1ffff });
	assert_int_equal(iova_free(&s, 0x17000, 0x8000), 0);
	ASSERT_FREE(&s, { 0x10000, 0x1ffff });
	iova_space_fini(&s);
}

/* --- the whole 64-bit space --- */

static void full_64bit_space(void **state)
{
	struct iova_space s;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, full_valid, 1, no_resv, 0), 0);
	ASSERT_FREE(&s, { 0, UINT64_MAX });
	fixed_ok(&s, TOP_PAGE, PAGE);
	ASSERT_FREE(&s, { 0, TOP_PAGE - 1 });
	fixed_refused(&s, TOP_PAGE, PAGE, -EBUSY, NULL);
	assert_true(alloc_ok(&s, PAGE, 1ull << 63) == 0);
	assert_true(alloc_ok(&s, PAGE, 1ull << 63) == 1ull << 63);
	/* Rounding 0x8000000000001000 up to 2^63 wraps: no room, not an address near 0. */
	alloc_refused(&s, PAGE, 1ull << 63, -ENOSPC);
	ASSERT_FREE(&s, { PAGE, (1ull << 63) - 1 }, { (1ull << 63) + PAGE, TOP_PAGE - 1 });
	fixed_ok(&s, TOP_PAGE - PAGE, PAGE);
	assert_int_equal(iova_free(&s, TOP_PAGE, PAGE), 0);
	ASSERT_FREE(&s, { PAGE, (1ull << 63) - 1 }, { (1ull << 63) + PAGE, TOP_PAGE - PAGE - 1 },
		    { TOP_PAGE, UINT64_MAX });
	assert_int_equal(iova_free(&s, TOP_PAGE - PAGE, PAGE), 0);
	assert_int_equal(iova_free(&s, 1ull << 63, PAGE), 0);
	assert_int_equal(iova_free(&s, 0, PAGE), 0);
	ASSERT_FREE(&s, { 0, UINT64_MAX });

	/* Sizes close to 2^64, from an interval one page short of the whole space. */
	fixed_ok(&s, 0, PAGE);
	assert_true(alloc_ok(&s, TOP_PAGE, PAGE) == PAGE);
	assert_int_equal(s.n_free, 0);
	alloc_refused(&s, PAGE, PAGE, -ENOSPC);
	assert_int_equal(iova_free(&s, PAGE, TOP_PAGE), 0);
	ASSERT_FREE(&s, { PAGE, UINT64_MAX });
	assert_true(alloc_ok(&s, 1ull << 62, 1ull << 63) == 1ull << 63);
	/* Best fit: first the smaller rest above 2^63 + 2^62, then the one below 2^63. */
	assert_true(alloc_ok(&s, 1ull << 62, 1ull << 62) == 3ull << 62);
	assert_true(alloc_ok(&s, 1ull << 62, 1ull << 62) == 1ull << 62);
	ASSERT_FREE(&s, { PAGE, (1ull << 62) - 1 });
	assert_int_equal(iova_free(&s, 1ull << 63, 1ull << 62), 0);
	assert_int_equal(iova_free(&s, 3ull << 62, 1ull << 62), 0);
	assert_int_equal(iova_free(&s, 1ull << 62, 1ull << 62), 0);
	assert_int_equal(iova_free(&s, 0, PAGE), 0);
	ASSERT_FREE(&s, { 0, UINT64_MAX });
	fixed_ok(&s, 0, TOP_PAGE);
	ASSERT_FREE(&s, { TOP_PAGE, UINT64_MAX });
	assert_true(alloc_ok(&s, PAGE, PAGE) == TOP_PAGE);
	assert_int_equal(iova_free(&s, 0, TOP_PAGE), 0);
	assert_int_equal(iova_free(&s, TOP_PAGE, PAGE), 0);
	ASSERT_FREE(&s, { 0, UINT64_MAX });
	iova_space_fini(&s);
}

/* iova_alloc() from the untouched interval [0, 2^64 - 1]: the whole space is the only candidate. */
static void full_64bit_alloc(void **state)
{
	struct iova_space s;
	uint64_t at = 1;
	int rc;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, full_valid, 1, no_resv, 0), 0);
	ASSERT_FREE(&s, { 0, UINT64_MAX });
	rc = iova_alloc(&s, PAGE, PAGE, &at);
	if (rc) {
		iova_space_fini(&s);
		fail_msg("iova_alloc(0x1000, 0x1000) from the free interval [0, 2^64 - 1]: %d, want 0 (at 0)", rc);
	}
	assert_true(at == 0);
	ASSERT_FREE(&s, { PAGE, UINT64_MAX });
	assert_int_equal(iova_free(&s, 0, PAGE), 0);
	assert_true(alloc_ok(&s, 1ull << 63, 1ull << 63) == 0);
	assert_true(alloc_ok(&s, 1ull << 63, 1ull << 63) == 1ull << 63);
	assert_int_equal(s.n_free, 0);
	assert_int_equal(iova_free(&s, 0, 1ull << 63), 0);
	assert_int_equal(iova_free(&s, 1ull << 63, 1ull << 63), 0);
	assert_true(alloc_ok(&s, TOP_PAGE, PAGE) == 0);
	ASSERT_FREE(&s, { TOP_PAGE, UINT64_MAX });
	iova_space_fini(&s);
}

/*
 * Two valid ranges that touch without overlapping are accepted by iova_space_init(). Once frees have merged
 * the free space across the boundary, whatever iova_alloc() hands out must still go back with iova_free(), and
 * must lie inside one valid range (type1 refuses a mapping that spans two of its IOVA ranges).
 */
static void adjacent_valid_ranges(void **state)
{
	static const struct upci_iova_range valid[] = { { 0x10000, 0x1ffff }, { 0x20000, 0x2ffff } };
	struct iova_space s;
	uint64_t at = 0;
	bool spans;
	int rc;
	(void)state;

	assert_int_equal(iova_space_init(&s, PAGE, valid, 2, no_resv, 0), 0);
	fixed_ok(&s, 0x1f000, PAGE);
	fixed_ok(&s, 0x20000, PAGE);
	assert_int_equal(iova_free(&s, 0x1f000, PAGE), 0);
	assert_int_equal(iova_free(&s, 0x20000, PAGE), 0);
	rc = iova_alloc(&s, 0x20000, PAGE, &at);
	if (rc) {
		iova_space_fini(&s);
		assert_int_equal(rc, -ENOSPC);
		return;
	}
	spans = at < 0x20000 && at + 0x20000 - 1 >= 0x20000;
	rc = iova_free(&s, at, 0x20000);
	iova_space_fini(&s);
	if (spans || rc)
		fail_msg("iova_alloc(0x20000) = %#" PRIx64 "%s; iova_free() of it: %d", at,
			 spans ? ", across both valid ranges" : "", rc);
}

/* --- random sequences against a model --- */

#define PROP_SEEDS 20
#define PROP_OPS 2000
#define LIVE_TARGET 96

struct rng {
	uint64_t s;
};

/* xorshift64* */
static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd_below(struct rng *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* 4 KiB .. 64 MiB in pages, small sizes more often than large ones. */
static uint64_t rnd_size(struct rng *r)
{
	return PAGE * (1 + rnd_below(r, 1ull << rnd_below(r, 15)));
}

struct layout {
	const char *name;
	struct upci_iova_range valid[IOVA_MAX_RANGES]; /* sorted */
	size_t n_valid;
	struct upci_resv_region resv[IOVA_MAX_RESV];
	size_t n_resv;
};

struct prop {
	const struct layout *l;
	uint64_t granule;
	unsigned int seed;
	int op;
	const char *what;
	uint64_t arg0, arg1;
	struct rng rng;
	struct iova_space s;
	struct upci_iova_range *live; /* the model: live allocations, sorted, disjoint */
	size_t n_live;
	u128 live_bytes, space_bytes;
	struct upci_iova_range *ref; /* valid minus reserved, computed here */
	size_t n_ref;
	struct upci_iova_range *snap; /* the engine's free list before the current operation */
	size_t n_snap, snap_cap;
	struct upci_iova_range freed; /* the range freed last, for double frees */
	bool have_freed;
};

#define PCHECK(p, cond, fmt, ...) do { \
	if (!(cond)) \
		fail_msg("%s layout, seed %u, op %d %s(%#" PRIx64 ", %#" PRIx64 "): failed: %s; " fmt, (p)->l->name, \
			 (p)->seed, (p)->op, (p)->what, (p)->arg0, (p)->arg1, #cond, ##__VA_ARGS__); \
} while (0)

static bool overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
	return a0 <= b1 && b0 <= a1;
}

static bool in_one_valid(const struct layout *l, uint64_t start, uint64_t last)
{
	for (size_t i = 0; i < l->n_valid; i++)
		if (start >= l->valid[i].start && last <= l->valid[i].last)
			return true;
	return false;
}

static bool touches_resv(const struct layout *l, uint64_t start, uint64_t last)
{
	for (size_t i = 0; i < l->n_resv; i++)
		if (overlaps(start, last, l->resv[i].start, l->resv[i].end))
			return true;
	return false;
}

/* Valid minus every reserved region, one valid range at a time (no code shared with the engine). */
static size_t ref_space(const struct layout *l, struct upci_iova_range *out)
{
	size_t n = 0;

	for (size_t v = 0; v < l->n_valid; v++) {
		uint64_t cur = l->valid[v].start, last = l->valid[v].last;

		for (;;) {
			const struct upci_resv_region *next = NULL;
			uint64_t next_at = 0;

			/* The reserved region that starts first at or after cur (or covers cur). */
			for (size_t i = 0; i < l->n_resv; i++) {
				const struct upci_resv_region *x = &l->resv[i];
				uint64_t at = x->start > cur ? x->start : cur;

				if (x->end < cur || x->start > last)
					continue;
				if (!next || at < next_at) {
					next = x;
					next_at = at;
				}
			}
			if (!next) {
				out[n].start = cur;
				out[n++].last = last;
				break;
			}
			if (next_at > cur) {
				out[n].start = cur;
				out[n++].last = next_at - 1;
			}
			if (next->end >= last)
				break;
			cur = next->end + 1;
		}
	}
	return n;
}

static u128 bytes(const struct upci_iova_range *r)
{
	return (u128)(r->last - r->start) + 1;
}

/* Index of the first live allocation ending at or after @at (they are sorted and disjoint). */
static size_t live_find(const struct prop *p, uint64_t at)
{
	size_t lo = 0, hi = p->n_live;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->live[mid].last < at)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool live_overlaps(const struct prop *p, uint64_t start, uint64_t last)
{
	size_t i = live_find(p, start);

	return i < p->n_live && p->live[i].start <= last;
}

static void live_add(struct prop *p, uint64_t start, uint64_t size)
{
	uint64_t last = start + size - 1;
	size_t i;

	PCHECK(p, last >= start, "allocation at %#" PRIx64 " wraps", start);
	PCHECK(p, !live_overlaps(p, start, last), "[%#" PRIx64 ", %#" PRIx64 "] is already allocated", start, last);
	i = live_find(p, start);
	memmove(&p->live[i + 1], &p->live[i], (p->n_live - i) * sizeof(p->live[0]));
	p->live[i].start = start;
	p->live[i].last = last;
	p->n_live++;
	p->live_bytes += size;
}

static void live_remove(struct prop *p, size_t i)
{
	p->live_bytes -= bytes(&p->live[i]);
	p->freed = p->live[i];
	p->have_freed = true;
	memmove(&p->live[i], &p->live[i + 1], (p->n_live - i - 1) * sizeof(p->live[0]));
	p->n_live--;
}

static void snap(struct prop *p)
{
	if (p->s.n_free > p->snap_cap) {
		p->snap_cap = p->s.n_free * 2;
		p->snap = realloc(p->snap, p->snap_cap * sizeof(p->snap[0]));
		assert_non_null(p->snap);
	}
	memcpy(p->snap, p->s.free, p->s.n_free * sizeof(p->s.free[0]));
	p->n_snap = p->s.n_free;
}

static bool same_list(const struct upci_iova_range *a, size_t na, const struct upci_iova_range *b, size_t nb)
{
	return na == nb && (!na || !memcmp(a, b, na * sizeof(a[0])));
}

static void check_unchanged(struct prop *p)
{
	PCHECK(p, same_list(p->s.free, p->s.n_free, p->snap, p->n_snap), "a refused call changed the free list");
}

/* Every invariant of the engine's free list and of the model, after every operation. */
static void check_all(struct prop *p)
{
	const struct iova_space *s = &p->s;
	const struct layout *l = p->l;
	u128 free_bytes = 0;
	size_t i, j;

	PCHECK(p, s->n_free <= s->cap, "n_free %zu, cap %zu", s->n_free, s->cap);
	PCHECK(p, !s->n_free || s->free, "");
	for (i = 0; i < s->n_free; i++) {
		const struct upci_iova_range *f = &s->free[i];

		PCHECK(p, f->start <= f->last, "free[%zu] = [%#" PRIx64 ", %#" PRIx64 "]", i, f->start, f->last);
		if (i) {
			PCHECK(p, s->free[i - 1].last < f->start, "free[%zu] and free[%zu] unsorted or overlapping",
			       i - 1, i);
			PCHECK(p, s->free[i - 1].last + 1 != f->start, "free[%zu] and free[%zu] adjacent (%#" PRIx64 ")",
			       i - 1, i, f->start);
		}
		PCHECK(p, in_one_valid(l, f->start, f->last), "free[%zu] = [%#" PRIx64 ", %#" PRIx64 "] not valid",
		       i, f->start, f->last);
		PCHECK(p, !touches_resv(l, f->start, f->last), "free[%zu] = [%#" PRIx64 ", %#" PRIx64 "] reserved",
		       i, f->start, f->last);
		free_bytes += bytes(f);
	}
	for (i = 0; i < p->n_live; i++) {
		const struct upci_iova_range *a = &p->live[i];

		PCHECK(p, !i || p->live[i - 1].last < a->start, "live %zu and %zu overlap", i - 1, i);
		PCHECK(p, in_one_valid(l, a->start, a->last), "allocation [%#" PRIx64 ", %#" PRIx64 "] not in one "
		       "valid range", a->start, a->last);
		PCHECK(p, !touches_resv(l, a->start, a->last), "allocation [%#" PRIx64 ", %#" PRIx64 "] reserved",
		       a->start, a->last);
	}
	/* Both lists are sorted: walk them together. */
	for (i = 0, j = 0; i < s->n_free && j < p->n_live;) {
		const struct upci_iova_range *f = &s->free[i], *a = &p->live[j];

		PCHECK(p, !overlaps(f->start, f->last, a->start, a->last), "free [%#" PRIx64 ", %#" PRIx64 "] overlaps "
		       "allocation [%#" PRIx64 ", %#" PRIx64 "]", f->start, f->last, a->start, a->last);
		if (f->last < a->last)
			i++;
		else
			j++;
	}
	PCHECK(p, free_bytes + p->live_bytes == p->space_bytes, "free %#" PRIx64 " + allocated %#" PRIx64 " bytes != "
	       "%#" PRIx64 " (low 64 bits)", (uint64_t)free_bytes, (uint64_t)p->live_bytes, (uint64_t)p->space_bytes);
}

/* A unit of size, alignment or address: the granule, now and then a 4 KiB page (which a larger one refuses). */
static uint64_t unit(struct prop *p)
{
	return p->granule == PAGE || rnd_below(&p->rng, 8) ? p->granule : PAGE;
}

static bool off_granule(const struct prop *p, uint64_t v)
{
	return v & (p->granule - 1);
}

static void op_alloc(struct prop *p)
{
	uint64_t size = rnd_size(&p->rng) / PAGE * unit(p), align = unit(p) << rnd_below(&p->rng, 10);
	uint64_t at = 0, best_len = UINT64_MAX;
	bool fits = false;
	int rc;

	p->what = "iova_alloc";
	p->arg0 = size;
	p->arg1 = align;
	snap(p);
	/* Does anything fit, and how long is the smallest interval that has room? */
	for (size_t i = 0; i < p->n_snap; i++) {
		const struct upci_iova_range *f = &p->snap[i];
		uint64_t a = f->start % align ? f->start - f->start % align + align : f->start;

		if (a < f->start || a > f->last || f->last - a < size - 1)
			continue;
		fits = true;
		if (f->last - f->start < best_len)
			best_len = f->last - f->start;
	}
	rc = iova_alloc(&p->s, size, align, &at);
	if (off_granule(p, size) || align < p->granule) {
		PCHECK(p, rc == -EINVAL, "rc %d", rc);
		check_unchanged(p);
		return;
	}
	if (!fits) {
		PCHECK(p, rc == -ENOSPC, "rc %d", rc);
		check_unchanged(p);
		return;
	}
	PCHECK(p, rc == 0, "rc %d", rc);
	PCHECK(p, at % align == 0, "at %#" PRIx64, at);
	for (size_t i = 0; i < p->n_snap; i++) {
		const struct upci_iova_range *f = &p->snap[i];

		if (at >= f->start && at <= f->last) {
			PCHECK(p, f->last - at >= size - 1, "at %#" PRIx64 " runs past the free [%#" PRIx64 ", %#" PRIx64 "]",
			       at, f->start, f->last);
			PCHECK(p, f->last - f->start == best_len, "at %#" PRIx64 " taken from [%#" PRIx64 ", %#" PRIx64
			       "], not from the smallest interval with room (length - 1 = %#" PRIx64 ")", at, f->start,
			       f->last, best_len);
			live_add(p, at, size);
			return;
		}
	}
	PCHECK(p, false, "at %#" PRIx64 " was not free", at);
}

/* A page-aligned address chosen to land on interesting places. */
static uint64_t fixed_address(struct prop *p, uint64_t size)
{
	struct rng *r = &p->rng;
	const struct layout *l = p->l;
	const struct upci_iova_range *v = &l->valid[rnd_below(r, l->n_valid)];
	const struct upci_resv_region *x = l->n_resv ? &l->resv[rnd_below(r, l->n_resv)] : NULL;
	uint64_t at;

	switch (rnd_below(r, 7)) {
	case 0: /* inside a reserved region, or from below into it */
		if (x) {
			at = x->start + rnd_below(r, x->end - x->start) - (rnd_below(r, 2) ? rnd_below(r, size) : 0);
			break;
		}
		/* fall through */
	case 1: /* right before or right after a reserved region */
		if (x) {
			at = rnd_below(r, 2) ? x->start - size : sat_add(x->end, PAGE);
			break;
		}
		/* fall through */
	case 2: /* near a live allocation */
		if (p->n_live) {
			const struct upci_iova_range *a = &p->live[rnd_below(r, p->n_live)];

			at = a->start + PAGE * rnd_below(r, 2 * (size / PAGE) + 8) - size - 4 * PAGE;
			break;
		}
		/* fall through */
	case 3: /* at either end of a free interval */
		if (p->s.n_free) {
			const struct upci_iova_range *f = &p->s.free[rnd_below(r, p->s.n_free)];

			at = rnd_below(r, 2) ? f->start + PAGE - 1 : f->last + 1 - size;
			break;
		}
		/* fall through */
	case 4: /* near the top of the address space */
		at = TOP_PAGE - PAGE * rnd_below(r, 32);
		break;
	case 5: /* anywhere */
		at = rnd(r);
		break;
	default: /* inside a valid range */
		at = v->start + rnd_below(r, v->last - v->start);
		break;
	}
	return at & ~(unit(p) - 1);
}

static void op_fixed(struct prop *p)
{
	uint64_t size = rnd_size(&p->rng) / PAGE * unit(p), iova = fixed_address(p, size), last = iova + size - 1;
	const struct upci_resv_region *hit = &not_set;
	int rc;

	p->what = "iova_alloc_fixed";
	p->arg0 = iova;
	p->arg1 = size;
	snap(p);
	rc = iova_alloc_fixed(&p->s, iova, size, &hit);
	if (last < iova || off_granule(p, iova | size)) {
		PCHECK(p, rc == -EINVAL && !hit, "rc %d", rc);
	} else if (touches_resv(p->l, iova, last)) {
		size_t j = 0;

		while (j < p->s.n_resv && hit != &p->s.resv[j])
			j++;
		PCHECK(p, rc == -EINVAL, "rc %d", rc);
		PCHECK(p, j < p->s.n_resv, "*hit %p is not one of the space's reserved regions", (const void *)hit);
		PCHECK(p, overlaps(iova, last, hit->start, hit->end), "*hit [%#" PRIx64 ", %#" PRIx64 "]", hit->start,
		       hit->end);
	} else if (!in_one_valid(p->l, iova, last)) {
		PCHECK(p, rc == -EINVAL && !hit, "rc %d", rc);
	} else if (live_overlaps(p, iova, last)) {
		PCHECK(p, rc == -EBUSY && !hit, "rc %d", rc);
	} else {
		PCHECK(p, rc == 0 && !hit, "rc %d", rc);
		live_add(p, iova, size);
		return;
	}
	check_unchanged(p);
}

static void op_free(struct prop *p, size_t i)
{
	int rc;

	p->what = "iova_free";
	p->arg0 = p->live[i].start;
	p->arg1 = p->live[i].last - p->live[i].start + 1;
	rc = iova_free(&p->s, p->arg0, p->arg1);
	PCHECK(p, rc == 0, "rc %d", rc);
	live_remove(p, i);
}

/* Free what is not allocated: the range freed last (when nothing took it since), or part of a free interval. */
static void op_bad_free(struct prop *p)
{
	uint64_t start, size;
	int rc;

	if (p->have_freed && !live_overlaps(p, p->freed.start, p->freed.last)) {
		start = p->freed.start;
		size = p->freed.last - p->freed.start + 1;
	} else if (p->s.n_free) {
		const struct upci_iova_range *f = &p->s.free[rnd_below(&p->rng, p->s.n_free)];

		start = f->start;
		size = f->last - f->start < 16 * PAGE ? f->last - f->start + 1 : PAGE * (1 + rnd_below(&p->rng, 16));
	} else {
		return;
	}
	p->what = "iova_free (not allocated)";
	p->arg0 = start;
	p->arg1 = size;
	snap(p);
	rc = iova_free(&p->s, start, size);
	PCHECK(p, rc == -EINVAL, "rc %d", rc);
	check_unchanged(p);
}

/* Reserved regions placed on, across and inside the valid ranges of @l, sometimes not page-granular. */
static void random_resv(struct rng *r, struct layout *l, size_t n)
{
	l->n_resv = n;
	for (size_t i = 0; i < n; i++) {
		size_t k = rnd_below(r, l->n_valid);
		const struct upci_iova_range *v = &l->valid[k];
		struct upci_resv_region *x = &l->resv[i];
		uint64_t size = rnd_size(r);

		x->type = (enum upci_resv_type)rnd_below(r, 4);
		switch (rnd_below(r, 6)) {
		case 0: /* exactly a valid range */
			x->start = v->start;
			x->end = v->last;
			break;
		case 1: /* from one valid range into the next */
			if (k + 1 < l->n_valid) {
				x->start = v->start + rnd_below(r, v->last - v->start);
				x->end = v[1].start + rnd_below(r, v[1].last - v[1].start);
				break;
			}
			/* fall through */
		case 2: /* over the start of a valid range */
			x->start = v->start > size / 2 ? v->start - size / 2 : 0;
			x->end = sat_add(x->start, size - 1);
			break;
		case 3: /* near the end of a valid range, maybe past it */
			x->start = v->last - (v->last - v->start < size ? v->last - v->start : size - 1);
			x->start &= ~(PAGE - 1);
			x->end = sat_add(x->start, rnd_below(r, 2 * size));
			break;
		default: /* inside a valid range, sometimes not page-granular */
			x->start = v->start + (rnd_below(r, v->last - v->start) & ~(PAGE - 1));
			x->end = sat_add(x->start, size - 1);
			if (!rnd_below(r, 4)) {
				x->start += rnd_below(r, PAGE);
				x->end = sat_add(x->start, rnd_below(r, size));
			}
			break;
		}
	}
}

/* 1..8 valid ranges of 4 KiB .. 2 GiB with holes between them, then 0..6 reserved regions. */
static void random_layout(struct rng *r, struct layout *l)
{
	uint64_t at = rnd_below(r, 2) ? 0 : PAGE * rnd_below(r, 1ull << 20);

	l->name = "random";
	l->n_valid = 1 + rnd_below(r, 8);
	for (size_t i = 0; i < l->n_valid; i++) {
		uint64_t len = PAGE * (1 + rnd_below(r, 1ull << rnd_below(r, 19)));

		if (i) /* a hole of a page or more: ranges from the kernel never touch */
			at += PAGE * (1 + rnd_below(r, 1ull << rnd_below(r, 19)));
		l->valid[i].start = at;
		l->valid[i].last = at + len - 1;
		at += len;
	}
	if (!rnd_below(r, 4)) { /* the last range ends at the top of the 64-bit space */
		struct upci_iova_range *v = &l->valid[l->n_valid - 1];

		v->start = UINT64_MAX - (v->last - v->start);
		v->last = UINT64_MAX;
	}
	random_resv(r, l, rnd_below(r, 7));
}

/* [0, 2^64 - 1] minus 1..6 reserved regions, some of them at either end of the space. */
static void random_full_layout(struct rng *r, struct layout *l)
{
	l->name = "full 64-bit";
	l->n_valid = 1;
	l->valid[0] = full_valid[0];
	random_resv(r, l, 1 + rnd_below(r, 6));
	for (size_t i = 0; i < l->n_resv; i++) {
		struct upci_resv_region *x = &l->resv[i];
		uint64_t len = x->end - x->start;

		if (len == UINT64_MAX) /* not all of it: that would leave nothing to test */
			len = rnd_size(r) - 1;
		switch (rnd_below(r, 3)) {
		case 0: /* somewhere in the first 4 GiB */
			x->start = rnd_below(r, 4 * GiB);
			break;
		case 1: /* somewhere in the last 4 GiB */
			x->start = UINT64_MAX - len - rnd_below(r, 4 * GiB);
			break;
		default: /* anywhere */
			x->start = rnd(r);
			break;
		}
		x->end = sat_add(x->start, len);
	}
}

static void prop_run(const struct layout *l, unsigned int seed, uint64_t granule)
{
	struct upci_iova_range valid[IOVA_MAX_RANGES];
	struct prop p = { .l = l, .granule = granule, .seed = seed, .op = -1, .what = "iova_space_init" };
	int rc;

	p.rng.s = seed * 0x9e3779b97f4a7c15ull + 0x5851f42d4c957f2dull;
	/* The engine gets the valid ranges in a random order. */
	memcpy(valid, l->valid, l->n_valid * sizeof(valid[0]));
	for (size_t i = l->n_valid; i > 1; i--) {
		size_t j = rnd_below(&p.rng, i);
		struct upci_iova_range t = valid[i - 1];

		valid[i - 1] = valid[j];
		valid[j] = t;
	}
	p.ref = malloc((l->n_valid * (l->n_resv + 1)) * sizeof(p.ref[0]));
	p.live = malloc((PROP_OPS + 1) * sizeof(p.live[0]));
	assert_non_null(p.ref);
	assert_non_null(p.live);
	p.n_ref = ref_space(l, p.ref);
	for (size_t i = 0; i < p.n_ref; i++)
		p.space_bytes += bytes(&p.ref[i]);

	rc = iova_space_init(&p.s, granule, valid, l->n_valid, l->resv, l->n_resv);
	PCHECK(&p, rc == 0, "rc %d", rc);
	PCHECK(&p, same_list(p.s.free, p.s.n_free, p.ref, p.n_ref), "the free list is not valid minus reserved");
	check_all(&p);

	for (p.op = 0; p.op < PROP_OPS; p.op++) {
		uint64_t x = rnd_below(&p.rng, 100), free_pct = p.n_live > LIVE_TARGET ? 60 : 25;

		if (x < 4)
			op_bad_free(&p);
		else if (p.n_live && x < 4 + free_pct)
			op_free(&p, rnd_below(&p.rng, p.n_live));
		else if (x % 3 == 0)
			op_fixed(&p);
		else
			op_alloc(&p);
		check_all(&p);
	}
	/* Free the rest in a random order: everything merges back into what init made. */
	while (p.n_live) {
		op_free(&p, rnd_below(&p.rng, p.n_live));
		check_all(&p);
		p.op++;
	}
	p.what = "end";
	PCHECK(&p, same_list(p.s.free, p.s.n_free, p.ref, p.n_ref), "%zu free intervals after freeing everything, "
	       "%zu after init", p.s.n_free, p.n_ref);
	iova_space_fini(&p.s);
	free(p.snap);
	free(p.live);
	free(p.ref);
}

static void fixed_layout(struct layout *l, const char *name, const struct upci_iova_range *valid, size_t n_valid,
			 const struct upci_resv_region *resv, size_t n_resv)
{
	memset(l, 0, sizeof(*l));
	l->name = name;
	memcpy(l->valid, valid, n_valid * sizeof(valid[0]));
	l->n_valid = n_valid;
	memcpy(l->resv, resv, n_resv * sizeof(resv[0]));
	l->n_resv = n_resv;
}

/* PROP_SEEDS runs on one fixed layout. */
static void prop_fixed(const char *name, const struct upci_iova_range *valid, size_t n_valid,
		       const struct upci_resv_region *resv, size_t n_resv, uint64_t granule)
{
	struct layout l;

	fixed_layout(&l, name, valid, n_valid, resv, n_resv);
	for (unsigned int seed = 1; seed <= PROP_SEEDS; seed++)
		prop_run(&l, seed, granule);
}

/* PROP_SEEDS runs, each on a layout of its own from @gen seeded with @mult. */
static void prop_random(const char *name, void (*gen)(struct rng *r, struct layout *l), uint64_t mult,
			uint64_t granule)
{
	struct layout l;

	for (unsigned int seed = 1; seed <= PROP_SEEDS; seed++) {
		struct rng r = { seed * mult + 1 };

		memset(&l, 0, sizeof(l));
		gen(&r, &l);
		l.name = name;
		prop_run(&l, seed, granule);
	}
}

static void random_ops_x86(void **state)
{
	(void)state;
	prop_fixed("x86", x86_valid, ARRAY_LEN(x86_valid), x86_resv, ARRAY_LEN(x86_resv), PAGE);
}

static void random_ops_arm64(void **state)
{
	(void)state;
	prop_fixed("arm64", arm64_valid, ARRAY_LEN(arm64_valid), arm64_resv, ARRAY_LEN(arm64_resv), PAGE);
}

static void random_ops_random_layout(void **state)
{
	(void)state;
	prop_random("random", random_layout, 0xd1b54a32d192ed03ull, PAGE);
}

static void random_ops_full_space(void **state)
{
	(void)state;
	prop_random("full 64-bit", random_full_layout, 0x9fb21c651e98df25ull, PAGE);
}

/* The same sequences in 64 KiB units (a few 4 KiB requests among them, refused), on arm64's layout and random ones. */
static void random_ops_64k_granule(void **state)
{
	(void)state;
	prop_fixed("arm64, 64 KiB granule", arm64_valid, ARRAY_LEN(arm64_valid), arm64_resv, ARRAY_LEN(arm64_resv),
		   G64K);
	prop_random("random, 64 KiB granule", random_layout, 0xd1b54a32d192ed03ull, G64K);
}

int main(void)
{
	const struct CMUnitTest init[] = {
		cmocka_unit_test(init_x86_layout),
		cmocka_unit_test(init_arm64_layout),
		cmocka_unit_test(init_resv_spans_two_ranges),
		cmocka_unit_test(init_resv_covers_whole_range),
		cmocka_unit_test(init_resv_overlapping_unaligned),
		cmocka_unit_test(init_resv_start_after_end),
		cmocka_unit_test(init_unsorted_ranges),
		cmocka_unit_test(init_overlapping_ranges),
		cmocka_unit_test(init_start_after_last),
		cmocka_unit_test(init_too_many),
	};
	const struct CMUnitTest ops[] = {
		cmocka_unit_test(alloc_best_fit),
		cmocka_unit_test(alloc_alignment),
		cmocka_unit_test(alloc_bad_arguments),
		cmocka_unit_test(alloc_exhaustion),
		cmocka_unit_test(fixed_in_msi_window),
		cmocka_unit_test(fixed_outside_valid),
		cmocka_unit_test(fixed_busy),
		cmocka_unit_test(fixed_overflow),
		cmocka_unit_test(free_double),
		cmocka_unit_test(free_touching_reserved),
		cmocka_unit_test(free_merges_neighbours),
		cmocka_unit_test(full_64bit_space),
		cmocka_unit_test(full_64bit_alloc),
		cmocka_unit_test(adjacent_valid_ranges),
		cmocka_unit_test(granule_64k),
	};
	const struct CMUnitTest rand_ops[] = {
		cmocka_unit_test(random_ops_x86),
		cmocka_unit_test(random_ops_arm64),
		cmocka_unit_test(random_ops_random_layout),
		cmocka_unit_test(random_ops_full_space),
		cmocka_unit_test(random_ops_64k_granule),
	};
	int failed = cmocka_run_group_tests_name("iova_space_init", init, NULL, NULL);

	failed += cmocka_run_group_tests_name("iova_alloc_free", ops, NULL, NULL);
	return failed + cmocka_run_group_tests_name("iova_random", rand_ops, NULL, NULL);
}
