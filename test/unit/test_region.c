/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/vfio_bus/region.c: VFIO_DEVICE_GET_REGION_INFO replies and their capability chains. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/common/vfio_caps.h"
#include "lib/vfio_bus/device_internal.h"

#define FIXED_LEN ((uint32_t)sizeof(struct vfio_region_info))
#define HDR_LEN ((uint32_t)sizeof(struct vfio_info_cap_header))
#define SPARSE_LEN ((uint32_t)sizeof(struct vfio_region_info_cap_sparse_mmap))
#define AREA_LEN ((uint32_t)sizeof(struct vfio_region_sparse_mmap_area))
#define TYPE_LEN ((uint32_t)sizeof(struct vfio_region_info_cap_type))
#define CAP_UNKNOWN 0x7777

/* A reply under construction; parse() hands the library a copy of exactly argsz bytes. */
struct reply {
	_Alignas(8) uint8_t b[2048];
};

static void put_info(struct reply *r, uint32_t argsz, uint32_t index, uint32_t flags, uint64_t size,
		     uint64_t offset, uint32_t cap_offset)
{
	struct vfio_region_info ri = {
		.argsz = argsz, .flags = flags, .index = index, .cap_offset = cap_offset, .size = size,
		.offset = offset,
	};

	memcpy(r->b, &ri, sizeof(ri));
}

/* A region of @size bytes whose capability chain starts at @first. */
static void put_region(struct reply *r, uint32_t argsz, uint64_t size, uint32_t first)
{
	put_info(r, argsz, 0, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP |
		 VFIO_REGION_INFO_FLAG_CAPS, size, 0x10000000000ull, first);
}

static void put_hdr(struct reply *r, uint32_t at, uint16_t id, uint32_t next)
{
	struct vfio_info_cap_header h = { .id = id, .version = 1, .next = next };

	assert_true(at + sizeof(h) <= sizeof(r->b));
	memcpy(r->b + at, &h, sizeof(h));
}

static void put_type(struct reply *r, uint32_t at, uint32_t next, uint32_t type, uint32_t subtype)
{
	struct vfio_region_info_cap_type t = {
		.header = { .id = VFIO_REGION_INFO_CAP_TYPE, .version = 1, .next = next },
		.type = type, .subtype = subtype,
	};

	assert_true(at + sizeof(t) <= sizeof(r->b));
	memcpy(r->b + at, &t, sizeof(t));
}

/* A SPARSE_MMAP header saying @nr areas; the areas themselves are put with put_area(). */
static void put_sparse(struct reply *r, uint32_t at, uint32_t next, uint32_t nr)
{
	struct vfio_region_info_cap_sparse_mmap sp = {
		.header = { .id = VFIO_REGION_INFO_CAP_SPARSE_MMAP, .version = 1, .next = next },
		.nr_areas = nr,
	};

	assert_true(at + sizeof(sp) <= sizeof(r->b));
	memcpy(r->b + at, &sp, sizeof(sp));
}

static void put_area(struct reply *r, uint32_t cap_at, uint32_t i, uint64_t offset, uint64_t size)
{
	struct vfio_region_sparse_mmap_area a = { .offset = offset, .size = size };
	uint32_t at = cap_at + SPARSE_LEN + i * AREA_LEN;

	assert_true(at + sizeof(a) <= sizeof(r->b));
	memcpy(r->b + at, &a, sizeof(a));
}

/* A region whose chain is @n capabilities: @n - 1 unknown ones, then MSIX_MAPPABLE. Return: the argsz. */
static uint32_t put_chain(struct reply *r, uint32_t n)
{
	uint32_t argsz = FIXED_LEN + n * HDR_LEN;

	put_region(r, argsz, 0x1000, FIXED_LEN);
	for (uint32_t i = 0; i + 1 < n; i++)
		put_hdr(r, FIXED_LEN + i * HDR_LEN, CAP_UNKNOWN, FIXED_LEN + (i + 1) * HDR_LEN);
	put_hdr(r, FIXED_LEN + (n - 1) * HDR_LEN, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 0);
	return argsz;
}

/* A 1 MiB region with a SPARSE_MMAP of @n areas, area i 0x1000 bytes at i * 0x2000. Return: the argsz. */
static uint32_t put_spaced_areas(struct reply *r, uint32_t n)
{
	uint32_t argsz = FIXED_LEN + SPARSE_LEN + n * AREA_LEN;

	put_region(r, argsz, 0x100000, FIXED_LEN);
	put_sparse(r, FIXED_LEN, 0, n);
	for (uint32_t i = 0; i < n; i++)
		put_area(r, FIXED_LEN, i, (uint64_t)i * 0x2000, 0x1000);
	return argsz;
}

/* A 0x4000-byte region with a SPARSE_MMAP of two areas, the first [0, 0x1000); the case puts the second.
 * Return: the argsz. */
static uint32_t put_two_areas(struct reply *r)
{
	uint32_t argsz = FIXED_LEN + SPARSE_LEN + 2 * AREA_LEN;

	put_region(r, argsz, 0x4000, FIXED_LEN);
	put_sparse(r, FIXED_LEN, 0, 2);
	put_area(r, FIXED_LEN, 0, 0, 0x1000);
	return argsz;
}

/* Parse the first @argsz bytes of @r from a heap buffer of exactly that size, so an over-read is caught. */
static int parse(const struct reply *r, uint32_t argsz, struct upci_region *out)
{
	uint8_t *buf;
	int rc;

	assert_true(argsz > 0 && argsz <= sizeof(r->b));
	buf = malloc(argsz);
	assert_non_null(buf);
	memcpy(buf, r->b, argsz);
	rc = region_info_parse(buf, argsz, out);
	free(buf);
	return rc;
}

/* --- well-formed replies --- */

static void parse_no_caps(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	(void)state;

	/* Without FLAG_CAPS a cap_offset is not looked at, even a nonsensical one. */
	put_info(&r, FIXED_LEN, 2, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP, 0x20000,
		 0x20000000000ull, 0xdeadbeef);
	memset(&out, 0xa5, sizeof(out));
	assert_int_equal(parse(&r, FIXED_LEN, &out), 0);
	assert_int_equal(out.index, 2);
	assert_int_equal(out.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP);
	assert_true(out.size == 0x20000);
	assert_true(out.offset == 0x20000000000ull);
	assert_false(out.msix_mappable);
	assert_false(out.has_type);
	assert_int_equal(out.type, 0);
	assert_int_equal(out.subtype, 0);
	assert_int_equal(out.n_sparse, 0);
}

static void parse_full_size_fields(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	(void)state;

	put_info(&r, FIXED_LEN, 7, VFIO_REGION_INFO_FLAG_READ, UINT64_MAX, 0x7000000000000000ull, 0);
	assert_int_equal(parse(&r, FIXED_LEN, &out), 0);
	assert_int_equal(out.index, 7);
	assert_true(out.size == UINT64_MAX);
	assert_true(out.offset == 0x7000000000000000ull);
}

static void parse_msix_mappable(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	(void)state;

	put_region(&r, FIXED_LEN + HDR_LEN, 0x4000, FIXED_LEN);
	put_hdr(&r, FIXED_LEN, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 0);
	assert_int_equal(parse(&r, FIXED_LEN + HDR_LEN, &out), 0);
	assert_true(out.msix_mappable);
	assert_false(out.has_type);
	assert_int_equal(out.n_sparse, 0);
	assert_true(out.flags & VFIO_REGION_INFO_FLAG_CAPS);
	assert_true(out.size == 0x4000);
}

static void parse_type(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	(void)state;

	put_region(&r, FIXED_LEN + TYPE_LEN, 0x1000, FIXED_LEN);
	put_type(&r, FIXED_LEN, 0, 0x80008086, 3);
	assert_int_equal(parse(&r, FIXED_LEN + TYPE_LEN, &out), 0);
	assert_true(out.has_type);
	assert_int_equal(out.type, 0x80008086);
	assert_int_equal(out.subtype, 3);
	assert_false(out.msix_mappable);
	assert_int_equal(out.n_sparse, 0);
}

static void parse_sparse_two_areas(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	uint32_t argsz = put_two_areas(&r);
	(void)state;

	put_area(&r, FIXED_LEN, 1, 0x3000, 0x1000); /* ends exactly at the end of the region */
	assert_int_equal(parse(&r, argsz, &out), 0);
	assert_int_equal(out.n_sparse, 2);
	assert_true(out.sparse[0].offset == 0);
	assert_true(out.sparse[0].size == 0x1000);
	assert_true(out.sparse[1].offset == 0x3000);
	assert_true(out.sparse[1].size == 0x1000);
	assert_false(out.msix_mappable);
	assert_false(out.has_type);
}

static void parse_sparse_max_areas(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	uint32_t argsz = put_spaced_areas(&r, UPCI_MAX_SPARSE);
	(void)state;

	assert_int_equal(parse(&r, argsz, &out), 0);
	assert_int_equal(out.n_sparse, UPCI_MAX_SPARSE);
	for (uint32_t i = 0; i < UPCI_MAX_SPARSE; i++) {
		assert_true(out.sparse[i].offset == (uint64_t)i * 0x2000);
		assert_true(out.sparse[i].size == 0x1000);
	}
}

static void parse_unknown_cap_skipped(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	uint32_t argsz = FIXED_LEN + 24 + HDR_LEN;
	(void)state;

	/* A 24-byte capability we do not know, then MSIX_MAPPABLE. */
	put_region(&r, argsz, 0x4000, FIXED_LEN);
	put_hdr(&r, FIXED_LEN, CAP_UNKNOWN, FIXED_LEN + 24);
	memset(r.b + FIXED_LEN + HDR_LEN, 0xff, 24 - HDR_LEN);
	put_hdr(&r, FIXED_LEN + 24, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 0);
	assert_int_equal(parse(&r, argsz, &out), 0);
	assert_true(out.msix_mappable);
	assert_false(out.has_type);
	assert_int_equal(out.n_sparse, 0);
}

static void parse_all_caps_chained(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	uint32_t type_at = FIXED_LEN, sparse_at = FIXED_LEN + TYPE_LEN, msix_at = sparse_at + SPARSE_LEN + AREA_LEN;
	uint32_t argsz = msix_at + HDR_LEN;
	(void)state;

	put_region(&r, argsz, 0x8000, type_at);
	put_type(&r, type_at, sparse_at, 1, 2);
	put_sparse(&r, sparse_at, msix_at, 1);
	put_area(&r, sparse_at, 0, 0x4000, 0x4000);
	put_hdr(&r, msix_at, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 0);
	assert_int_equal(parse(&r, argsz, &out), 0);
	assert_true(out.has_type);
	assert_int_equal(out.type, 1);
	assert_int_equal(out.subtype, 2);
	assert_int_equal(out.n_sparse, 1);
	assert_true(out.sparse[0].offset == 0x4000);
	assert_true(out.sparse[0].size == 0x4000);
	assert_true(out.msix_mappable);
}

static void parse_chain_of_64(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	uint32_t argsz = put_chain(&r, 64);
	(void)state;

	assert_int_equal(parse(&r, argsz, &out), 0);
	assert_true(out.msix_mappable);
}

/* --- malformed replies: -EINVAL, and no read outside the argsz bytes --- */

static void bad_argsz_short(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	(void)state;

	put_info(&r, FIXED_LEN - 1, 0, VFIO_REGION_INFO_FLAG_READ, 0x1000, 0, 0);
	assert_int_equal(parse(&r, FIXED_LEN - 1, &out), -EINVAL);
	assert_int_equal(parse(&r, 4, &out), -EINVAL);
	assert_int_equal(parse(&r, 1, &out), -EINVAL);
}

static void bad_cap_loop(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	(void)state;

	put_region(&r, FIXED_LEN + HDR_LEN, 0x1000, FIXED_LEN);
	put_hdr(&r, FIXED_LEN, CAP_UNKNOWN, FIXED_LEN); /* points at itself */
	assert_int_equal(parse(&r, FIXED_LEN + HDR_LEN, &out), -EINVAL);
	put_hdr(&r, FIXED_LEN, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, FIXED_LEN);
	assert_int_equal(parse(&r, FIXED_LEN + HDR_LEN, &out), -EINVAL);
}

static void bad_cap_backward(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	uint32_t argsz = FIXED_LEN + 3 * HDR_LEN;
	(void)state;

	/* 32 -> 48 -> 40 -> 48 ...: the step back to 40 would loop between the last two. */
	put_region(&r, argsz, 0x1000, FIXED_LEN);
	put_hdr(&r, FIXED_LEN, CAP_UNKNOWN, FIXED_LEN + 2 * HDR_LEN);
	put_hdr(&r, FIXED_LEN + 2 * HDR_LEN, CAP_UNKNOWN, FIXED_LEN + HDR_LEN);
	put_hdr(&r, FIXED_LEN + HDR_LEN, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, FIXED_LEN + 2 * HDR_LEN);
	assert_int_equal(parse(&r, argsz, &out), -EINVAL);
	/* Back into the fixed part. */
	put_hdr(&r, FIXED_LEN, CAP_UNKNOWN, 8);
	assert_int_equal(parse(&r, argsz, &out), -EINVAL);
}

static void bad_cap_offset_in_fixed_part(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	uint32_t argsz = FIXED_LEN + HDR_LEN;
	(void)state;

	put_hdr(&r, FIXED_LEN, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 0);
	for (uint32_t at = 4; at < FIXED_LEN; at += 4) {
		put_region(&r, argsz, 0x1000, at);
		if (parse(&r, argsz, &out) != -EINVAL)
			fail_msg("accepted cap_offset %u inside the fixed part", at);
	}
}

static void bad_cap_misaligned(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	uint32_t argsz = FIXED_LEN + 4 * HDR_LEN;
	(void)state;

	put_region(&r, argsz, 0x1000, FIXED_LEN + 2);
	put_hdr(&r, FIXED_LEN + 2, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 0);
	assert_int_equal(parse(&r, argsz, &out), -EINVAL);
	/* A misaligned next. */
	memset(r.b + FIXED_LEN, 0, 4 * HDR_LEN);
	put_region(&r, argsz, 0x1000, FIXED_LEN);
	put_hdr(&r, FIXED_LEN, CAP_UNKNOWN, FIXED_LEN + HDR_LEN + 1);
	put_hdr(&r, FIXED_LEN + HDR_LEN + 1, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 0);
	assert_int_equal(parse(&r, argsz, &out), -EINVAL);
}

static void bad_cap_header_past_argsz(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	(void)state;

	/* The header needs 8 bytes; only 4 are there. */
	put_region(&r, FIXED_LEN + 4, 0x1000, FIXED_LEN);
	put_hdr(&r, FIXED_LEN, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 0);
	assert_int_equal(parse(&r, FIXED_LEN + 4, &out), -EINVAL);
	/* The chain starts exactly at the end of the reply. */
	put_region(&r, FIXED_LEN, 0x1000, FIXED_LEN);
	assert_int_equal(parse(&r, FIXED_LEN, &out), -EINVAL);
	/* Far beyond it, where at + 8 would wrap a 32-bit sum. */
	put_region(&r, FIXED_LEN + HDR_LEN, 0x1000, 0xfffffffc);
	assert_int_equal(parse(&r, FIXED_LEN + HDR_LEN, &out), -EINVAL);
	/* A next that leaves the reply. */
	put_region(&r, FIXED_LEN + HDR_LEN, 0x1000, FIXED_LEN);
	put_hdr(&r, FIXED_LEN, CAP_UNKNOWN, FIXED_LEN + HDR_LEN);
	assert_int_equal(parse(&r, FIXED_LEN + HDR_LEN, &out), -EINVAL);
	put_hdr(&r, FIXED_LEN, CAP_UNKNOWN, 0xfffffff8);
	assert_int_equal(parse(&r, FIXED_LEN + HDR_LEN, &out), -EINVAL);
}

static void bad_sparse_truncated(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	uint32_t argsz;
	(void)state;

	/* nr_areas = 2, room for one area. */
	argsz = FIXED_LEN + SPARSE_LEN + AREA_LEN;
	put_region(&r, argsz, 0x4000, FIXED_LEN);
	put_sparse(&r, FIXED_LEN, 0, 2);
	put_area(&r, FIXED_LEN, 0, 0, 0x1000);
	assert_int_equal(parse(&r, argsz, &out), -EINVAL);
	/* One byte short of the second area. */
	put_area(&r, FIXED_LEN, 1, 0x2000, 0x1000);
	argsz = FIXED_LEN + SPARSE_LEN + 2 * AREA_LEN - 1;
	put_region(&r, argsz, 0x4000, FIXED_LEN);
	assert_int_equal(parse(&r, argsz, &out), -EINVAL);
	/* A huge nr_areas whose byte count overflows 32 bits. */
	argsz = FIXED_LEN + SPARSE_LEN + AREA_LEN;
	put_region(&r, argsz, 0x4000, FIXED_LEN);
	put_sparse(&r, FIXED_LEN, 0, 0x10000000);
	assert_int_equal(parse(&r, argsz, &out), -EINVAL);
	/* The sparse header itself cut after the generic header. */
	argsz = FIXED_LEN + HDR_LEN;
	put_region(&r, argsz, 0x4000, FIXED_LEN);
	put_sparse(&r, FIXED_LEN, 0, 0);
	assert_int_equal(parse(&r, argsz, &out), -EINVAL);
}

static void bad_sparse_count_reaches_next_cap(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	uint32_t next = FIXED_LEN + SPARSE_LEN + AREA_LEN, argsz = next + 16;
	(void)state;

	/* nr_areas = 2 with one area before the next capability (a TYPE): the TYPE's bytes are no area. */
	put_region(&r, argsz, 0x4000, FIXED_LEN);
	put_sparse(&r, FIXED_LEN, next, 2);
	put_area(&r, FIXED_LEN, 0, 0, 0x1000);
	put_type(&r, next, 0, 1, 2);
	assert_int_equal(parse(&r, argsz, &out), -EINVAL);
	/* Stated truthfully, the same reply parses: one area, and the TYPE after it. */
	put_sparse(&r, FIXED_LEN, next, 1);
	assert_int_equal(parse(&r, argsz, &out), 0);
	assert_int_equal(out.n_sparse, 1);
}

static void bad_sparse_too_many_areas(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	uint32_t argsz = put_spaced_areas(&r, UPCI_MAX_SPARSE + 1);
	(void)state;

	assert_int_equal(parse(&r, argsz, &out), -EINVAL);
}

static void bad_sparse_area_outside_region(void **state)
{
	static const struct { uint64_t offset, size; } bad[] = {
		{ 0x3000, 0x2000 },                 /* ends past the region */
		{ 0x4000, 0x1 },                    /* starts at its end */
		{ 0x5000, 0x1000 },                 /* starts past it */
		{ 0x1000, UINT64_MAX - 0xfff },     /* offset + size wraps to 0 */
		{ UINT64_MAX, 2 },                  /* wraps too */
		{ 0, 0x4001 },
	};
	struct reply r = { { 0 } };
	struct upci_region out;
	uint32_t argsz = put_two_areas(&r);
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_area(&r, FIXED_LEN, 1, bad[i].offset, bad[i].size);
		if (parse(&r, argsz, &out) != -EINVAL)
			fail_msg("accepted sparse area #%zu [0x%llx + 0x%llx) in a 0x4000-byte region", i,
				 (unsigned long long)bad[i].offset, (unsigned long long)bad[i].size);
	}
}

static void bad_sparse_zero_size(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	uint32_t argsz = put_two_areas(&r);
	(void)state;

	put_area(&r, FIXED_LEN, 1, 0x2000, 0);
	assert_int_equal(parse(&r, argsz, &out), -EINVAL);
}

static void bad_type_truncated(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	(void)state;

	put_type(&r, FIXED_LEN, 0, 1, 2);
	for (uint32_t argsz = FIXED_LEN + HDR_LEN; argsz < FIXED_LEN + TYPE_LEN; argsz++) {
		put_region(&r, argsz, 0x1000, FIXED_LEN);
		if (parse(&r, argsz, &out) != -EINVAL)
			fail_msg("accepted a TYPE_LEN capability cut to %u bytes", argsz - FIXED_LEN);
	}
}

static void bad_chain_of_65(void **state)
{
	struct reply r = { { 0 } };
	struct upci_region out;
	uint32_t argsz = put_chain(&r, 65);
	(void)state;

	assert_int_equal(parse(&r, argsz, &out), -EINVAL);
}

/* --- vfio_cap_walk() itself --- */

struct walk_log {
	int calls;
	int fail_at;            /* the call (from 1) that returns -EIO; 0: none */
	uint16_t ids[8];
	uint32_t avail[8];
	const uint8_t *caps[8];
};

static int record_cap(const uint8_t *cap, uint32_t avail, uint16_t id, void *arg)
{
	struct walk_log *w = arg;

	if (w->calls < 8) {
		w->ids[w->calls] = id;
		w->avail[w->calls] = avail;
		w->caps[w->calls] = cap;
	}
	w->calls++;
	return w->calls == w->fail_at ? -EIO : 0;
}

static void walk_visits_in_order(void **state)
{
	struct reply r = { { 0 } };
	struct walk_log w = { 0 };
	uint32_t argsz = 16 + 3 * HDR_LEN;
	uint8_t *buf;
	(void)state;

	/* A reply with a 16-byte fixed part; the chain 16 -> 24 -> 32. */
	put_hdr(&r, 16, 10, 24);
	put_hdr(&r, 24, 11, 32);
	put_hdr(&r, 32, 12, 0);
	buf = malloc(argsz);
	assert_non_null(buf);
	memcpy(buf, r.b, argsz);
	assert_int_equal(vfio_cap_walk(buf, argsz, 16, 16, record_cap, &w), 0);
	assert_int_equal(w.calls, 3);
	assert_int_equal(w.ids[0], 10);
	assert_int_equal(w.ids[1], 11);
	assert_int_equal(w.ids[2], 12);
	assert_ptr_equal(w.caps[0], buf + 16);
	assert_ptr_equal(w.caps[1], buf + 24);
	assert_ptr_equal(w.caps[2], buf + 32);
	/* Each capability may use the bytes up to the next one; the last, up to the end of the reply. */
	assert_int_equal(w.avail[0], HDR_LEN);
	assert_int_equal(w.avail[1], HDR_LEN);
	assert_int_equal(w.avail[2], HDR_LEN);
	/* No chain at all. */
	memset(&w, 0, sizeof(w));
	assert_int_equal(vfio_cap_walk(buf, argsz, 16, 0, record_cap, &w), 0);
	assert_int_equal(w.calls, 0);
	free(buf);
}

static void walk_callback_error_stops(void **state)
{
	struct reply r = { { 0 } };
	struct walk_log w = { .fail_at = 2 };
	uint32_t argsz = FIXED_LEN + 3 * HDR_LEN;
	uint8_t *buf;
	(void)state;

	put_hdr(&r, FIXED_LEN, 1, FIXED_LEN + HDR_LEN);
	put_hdr(&r, FIXED_LEN + HDR_LEN, 2, FIXED_LEN + 2 * HDR_LEN);
	put_hdr(&r, FIXED_LEN + 2 * HDR_LEN, 3, 0);
	buf = malloc(argsz);
	assert_non_null(buf);
	memcpy(buf, r.b, argsz);
	assert_int_equal(vfio_cap_walk(buf, argsz, FIXED_LEN, FIXED_LEN, record_cap, &w), -EIO);
	assert_int_equal(w.calls, 2);
	assert_int_equal(w.ids[0], 1);
	assert_int_equal(w.ids[1], 2);
	/* Failing on the first capability: nothing after it is visited either. */
	memset(&w, 0, sizeof(w));
	w.fail_at = 1;
	assert_int_equal(vfio_cap_walk(buf, argsz, FIXED_LEN, FIXED_LEN, record_cap, &w), -EIO);
	assert_int_equal(w.calls, 1);
	free(buf);
}

static void walk_bad_link_ends_walk(void **state)
{
	struct reply r = { { 0 } };
	struct walk_log w = { 0 };
	uint32_t argsz = FIXED_LEN + 2 * HDR_LEN;
	uint8_t *buf;
	(void)state;

	/* The first capability is fine and is reported; the bad next then ends the walk with -EINVAL. */
	put_hdr(&r, FIXED_LEN, 1, FIXED_LEN);
	buf = malloc(argsz);
	assert_non_null(buf);
	memcpy(buf, r.b, argsz);
	assert_int_equal(vfio_cap_walk(buf, argsz, FIXED_LEN, FIXED_LEN, record_cap, &w), -EINVAL);
	assert_int_equal(w.calls, 1);
	memset(&w, 0, sizeof(w));
	assert_int_equal(vfio_cap_walk(buf, argsz, FIXED_LEN, FIXED_LEN + HDR_LEN + 4, record_cap, &w), -EINVAL);
	assert_int_equal(w.calls, 0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest good[] = {
		cmocka_unit_test(parse_no_caps),
		cmocka_unit_test(parse_full_size_fields),
		cmocka_unit_test(parse_msix_mappable),
		cmocka_unit_test(parse_type),
		cmocka_unit_test(parse_sparse_two_areas),
		cmocka_unit_test(parse_sparse_max_areas),
		cmocka_unit_test(parse_unknown_cap_skipped),
		cmocka_unit_test(parse_all_caps_chained),
		cmocka_unit_test(parse_chain_of_64),
	};
	const struct CMUnitTest bad[] = {
		cmocka_unit_test(bad_argsz_short),
		cmocka_unit_test(bad_cap_loop),
		cmocka_unit_test(bad_cap_backward),
		cmocka_unit_test(bad_cap_offset_in_fixed_part),
		cmocka_unit_test(bad_cap_misaligned),
		cmocka_unit_test(bad_cap_header_past_argsz),
		cmocka_unit_test(bad_sparse_truncated),
		cmocka_unit_test(bad_sparse_count_reaches_next_cap),
		cmocka_unit_test(bad_sparse_too_many_areas),
		cmocka_unit_test(bad_sparse_area_outside_region),
		cmocka_unit_test(bad_sparse_zero_size),
		cmocka_unit_test(bad_type_truncated),
		cmocka_unit_test(bad_chain_of_65),
	};
	const struct CMUnitTest walk[] = {
		cmocka_unit_test(walk_visits_in_order),
		cmocka_unit_test(walk_callback_error_stops),
		cmocka_unit_test(walk_bad_link_ends_walk),
	};
	int failed = cmocka_run_group_tests_name("region_info_parse", good, NULL, NULL);

	failed += cmocka_run_group_tests_name("region_info_parse_malformed", bad, NULL, NULL);
	return failed + cmocka_run_group_tests_name("vfio_cap_walk", walk, NULL, NULL);
}
