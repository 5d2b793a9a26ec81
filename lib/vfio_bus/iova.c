/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The IOVA allocator: a sorted list of free intervals built from the kernel's valid ranges minus every
 * reserved region. Aligned best fit in units of the space's granule (the larger of the host's and the
 * IOMMU's smallest page); frees merge with their neighbours. Pure logic (no kernel calls), so the unit tests
 * drive it with random sequences.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iova.h"
#include "upci/log.h"

static bool overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
	return a0 <= b1 && b0 <= a1;
}

static int ensure_cap(struct iova_space *s, size_t n)
{
	struct upci_iova_range *p;
	size_t cap;

	if (n <= s->cap)
		return 0;
	cap = s->cap ? s->cap * 2 : 16;
	while (cap < n)
		cap *= 2;
	p = realloc(s->free, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	s->free = p;
	s->cap = cap;
	return 0;
}

static int insert_at(struct iova_space *s, size_t i, uint64_t start, uint64_t last)
{
	int rc = ensure_cap(s, s->n_free + 1);

	if (rc)
		return rc;
	memmove(&s->free[i + 1], &s->free[i], (s->n_free - i) * sizeof(s->free[0]));
	s->free[i].start = start;
	s->free[i].last = last;
	s->n_free++;
	return 0;
}

static void remove_at(struct iova_space *s, size_t i)
{
	memmove(&s->free[i], &s->free[i + 1], (s->n_free - i - 1) * sizeof(s->free[0]));
	s->n_free--;
}

/* Take [start, last] out of free interval @i, which contains it. */
static int carve(struct iova_space *s, size_t i, uint64_t start, uint64_t last)
{
	struct upci_iova_range f = s->free[i];

	if (f.start == start && f.last == last) {
		remove_at(s, i);
		return 0;
	}
	if (f.start == start) {
		s->free[i].start = last + 1;
		return 0;
	}
	if (f.last == last) {
		s->free[i].last = start - 1;
		return 0;
	}
	s->free[i].last = start - 1;
	return insert_at(s, i + 1, last + 1, f.last);
}

/* Remove [start, last] from every free interval it touches (used to cut reserved regions out). */
static int subtract(struct iova_space *s, uint64_t start, uint64_t last)
{
	size_t i = 0;

	while (i < s->n_free) {
		size_t before = s->n_free;
		uint64_t lo, hi;
		int rc;

		if (!overlaps(s->free[i].start, s->free[i].last, start, last)) {
			i++;
			continue;
		}
		lo = s->free[i].start > start ? s->free[i].start : start;
		hi = s->free[i].last < last ? s->free[i].last : last;
		rc = carve(s, i, lo, hi);
		if (rc)
			return rc;
		if (s->n_free < before)
			continue; /* interval i was consumed: index i now holds the next one */
		i++;
	}
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct upci_iova_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static bool power_of_two(uint64_t v)
{
	return v && !(v & (v - 1));
}

int iova_space_init(struct iova_space *s, uint64_t granule, const struct upci_iova_range *valid, size_t n_valid,
		    const struct upci_resv_region *resv, size_t n_resv)
{
	int rc = 0;

	memset(s, 0, sizeof(*s));
	if (!power_of_two(granule))
		return -EINVAL;
	if (n_valid > IOVA_MAX_RANGES || n_resv > IOVA_MAX_RESV)
		return -E2BIG;
	s->granule = granule;
	memcpy(s->valid, valid, n_valid * sizeof(*valid));
	s->n_valid = n_valid;
	memcpy(s->resv, resv, n_resv * sizeof(*resv));
	s->n_resv = n_resv;
	rc = ensure_cap(s, n_valid + 1);
	for (size_t i = 0; !rc && i < n_valid; i++) {
		if (valid[i].start > valid[i].last)
			rc = -EINVAL;
		else
			s->free[s->n_free++] = valid[i];
	}
	if (!rc && s->n_free > 1)
		qsort(s->free, s->n_free, sizeof(s->free[0]), cmp_range);
	/* Kernel ranges never overlap; if they do, refuse rather than hand out an address twice. */
	for (size_t i = 1; !rc && i < s->n_free; i++)
		if (s->free[i].start <= s->free[i - 1].last)
			rc = -EINVAL;
	for (size_t i = 0; !rc && i < n_resv; i++)
		rc = resv[i].start > resv[i].end ? -EINVAL : subtract(s, resv[i].start, resv[i].end);
	if (rc)
		iova_space_fini(s);
	return rc;
}

void iova_space_fini(struct iova_space *s)
{
	free(s->free);
	s->free = NULL;
	s->n_free = s->cap = 0;
}

static bool valid_size_align(const struct iova_space *s, uint64_t size, uint64_t align)
{
	return size > 0 && align >= s->granule && power_of_two(align) && !(size & (s->granule - 1));
}

int iova_alloc(struct iova_space *s, uint64_t size, uint64_t align, uint64_t *out)
{
	size_t best = SIZE_MAX;
	uint64_t best_len = UINT64_MAX, best_at = 0;

	if (!valid_size_align(s, size, align))
		return -EINVAL;
	for (size_t i = 0; i < s->n_free; i++) {
		const struct upci_iova_range *f = &s->free[i];
		uint64_t at = (f->start + align - 1) & ~(align - 1);
		uint64_t len = f->last - f->start; /* length - 1: no overflow for the full 64-bit space */

		if (at < f->start || at > f->last || f->last - at < size - 1)
			continue; /* alignment wrapped, or does not fit */
		if (best == SIZE_MAX || len < best_len) {
			best = i;
			best_len = len;
			best_at = at;
		}
	}
	if (best == SIZE_MAX)
		return -ENOSPC;
	*out = best_at;
	return carve(s, best, best_at, best_at + size - 1);
}

/* The reserved region [start, last] touches, or NULL. */
static const struct upci_resv_region *reserved_hit(const struct iova_space *s, uint64_t start, uint64_t last)
{
	for (size_t i = 0; i < s->n_resv; i++)
		if (overlaps(start, last, s->resv[i].start, s->resv[i].end))
			return &s->resv[i];
	return NULL;
}

static bool inside_valid(const struct iova_space *s, uint64_t start, uint64_t last)
{
	for (size_t i = 0; i < s->n_valid; i++)
		if (start >= s->valid[i].start && last <= s->valid[i].last)
			return true;
	return false;
}

int iova_alloc_fixed(struct iova_space *s, uint64_t iova, uint64_t size, const struct upci_resv_region **hit)
{
	uint64_t last = iova + size - 1;

	*hit = NULL;
	if (!valid_size_align(s, size, s->granule) || (iova & (s->granule - 1)) || last < iova)
		return -EINVAL;
	*hit = reserved_hit(s, iova, last);
	if (*hit || !inside_valid(s, iova, last))
		return -EINVAL;
	for (size_t i = 0; i < s->n_free; i++)
		if (iova >= s->free[i].start && last <= s->free[i].last)
			return carve(s, i, iova, last);
	return -EBUSY;
}

/* [.., a_last] and [a_last + 1, ..] may merge only inside one valid range (the kernel maps within one). */
static bool may_merge(const struct iova_space *s, uint64_t a_last)
{
	for (size_t i = 0; i < s->n_valid; i++)
		if (a_last >= s->valid[i].start && a_last < s->valid[i].last)
			return true;
	return false;
}

int iova_free(struct iova_space *s, uint64_t iova, uint64_t size)
{
	uint64_t last = iova + size - 1;
	size_t i = 0;

	if (size == 0 || last < iova || reserved_hit(s, iova, last) || !inside_valid(s, iova, last))
		return -EINVAL;
	while (i < s->n_free && s->free[i].start <= iova)
		i++;
	/* Refuse a double free: the range must not overlap what is already free. */
	if ((i > 0 && s->free[i - 1].last >= iova) || (i < s->n_free && s->free[i].start <= last))
		return -EINVAL;
	if (i > 0 && s->free[i - 1].last + 1 == iova && may_merge(s, iova - 1)) {
		s->free[i - 1].last = last;
		if (i < s->n_free && s->free[i].start == last + 1 && may_merge(s, last)) {
			s->free[i - 1].last = s->free[i].last;
			remove_at(s, i);
		}
		return 0;
	}
	if (i < s->n_free && s->free[i].start == last + 1 && may_merge(s, last)) {
		s->free[i].start = iova;
		return 0;
	}
	return insert_at(s, i, iova, last);
}
