/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/pktpool.h — fixed-size packet buffers carved from one DMA allocation.
 *
 * Every buffer's IOVA is known by arithmetic (no lookup). Free buffers sit in a single-producer /
 * single-consumer ring: one thread may take buffers (rx refill) while another returns them (tx
 * completion) with no lock; more threads need their own pools. No allocation after creation.
 *
 * A packet (struct upci_pkt) carries the pool its buffer came from, so any port whose device shares the
 * pool's IOMMU context can transmit it (zero-copy forwarding) and gives the buffer back to that pool when
 * the transmission completes.
 */
#ifndef UPCI_PKTPOOL_H
#define UPCI_PKTPOOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "upci/dma.h"

#ifdef __cplusplus
extern "C" {
#endif

struct upci_pktpool {
	uint8_t *base;           /* first buffer */
	uint64_t iova_base;      /* its IOVA */
	uint32_t buf_size;       /* bytes per buffer (a multiple of 64) */
	uint32_t n_bufs;
	uint32_t mask;           /* ring capacity - 1 */
	uint32_t buf_shift;      /* log2(buf_size) when it is a power of two, else 0 */
	uint32_t *ring;          /* indices of free buffers */
	struct upci_dma *dma;
	uint64_t bad_puts;       /* pointers refused by upci_pktpool_put() (not from this pool) */
	_Atomic uint32_t refs;   /* the creator's and every holder's (upci_pktpool_ref()) */
	_Alignas(64) _Atomic uint32_t head; /* consumer position (get) */
	_Alignas(64) _Atomic uint32_t tail; /* producer position (put) */
};

/**
 * struct upci_pkt - a frame in a pool buffer.
 * @buf:      the buffer's start: the frame's first byte (NULL once ownership moved on, e.g. to a tx ring)
 * @pool:     the pool @buf belongs to
 * @len:      frame length in bytes (without FCS)
 * @queue:    the rx queue it arrived on
 * @rss_hash: the device's RSS hash, 0 when none
 */
struct upci_pkt {
	void *buf;
	struct upci_pktpool *pool;
	uint16_t len;
	uint16_t queue;
	uint32_t rss_hash;
};

/**
 * upci_pktpool_create() - @n_bufs buffers of @buf_size bytes (rounded up to 64), DMA-mapped for @iommu.
 * Return: 0 and *@out, or a negative errno.
 */
int upci_pktpool_create(struct upci_iommu *iommu, uint32_t n_bufs, uint32_t buf_size, int numa_node,
			struct upci_pktpool **out);

/**
 * upci_pktpool_destroy() - drop the creator's reference; the pool and its DMA memory are freed when the
 * last holder (a tx queue that still has buffers of it in flight) drops its own. NULL is ignored.
 */
void upci_pktpool_destroy(struct upci_pktpool *pool);

/** upci_pktpool_ref() / upci_pktpool_unref() - keep @pool alive while holding its buffers. */
void upci_pktpool_ref(struct upci_pktpool *pool);
void upci_pktpool_unref(struct upci_pktpool *pool);

/** upci_pktpool_iova() - the IOVA of @buf (any address inside a buffer works). */
static inline uint64_t upci_pktpool_iova(const struct upci_pktpool *p, const void *buf)
{
	return p->iova_base + (uint64_t)((const uint8_t *)buf - p->base);
}

/*
 * Bulk access for drivers, so a refill or a completion touches the free ring once per burst:
 * upci_pktpool_get_begin() reserves up to @n buffers from *@head on (read each with
 * upci_pktpool_slot_offset(p, *head + k)), upci_pktpool_get_end() takes them; upci_pktpool_put_begin() gives
 * the room from *@tail on (write each index with upci_pktpool_put_slot()), upci_pktpool_put_end() returns them.
 */
static inline unsigned upci_pktpool_get_begin(struct upci_pktpool *p, unsigned n, uint32_t *head)
{
	uint32_t avail;

	*head = atomic_load_explicit(&p->head, memory_order_relaxed);
	avail = atomic_load_explicit(&p->tail, memory_order_acquire) - *head;
	return n < avail ? n : avail;
}

/** upci_pktpool_slot_offset() - the byte offset from @p->base of the free buffer at ring position @pos. */
static inline uint64_t upci_pktpool_slot_offset(const struct upci_pktpool *p, uint32_t pos)
{
	return (uint64_t)p->ring[pos & p->mask] * p->buf_size;
}

static inline void upci_pktpool_get_end(struct upci_pktpool *p, uint32_t head, unsigned n)
{
	atomic_store_explicit(&p->head, head + n, memory_order_release);
}

static inline unsigned upci_pktpool_put_begin(struct upci_pktpool *p, uint32_t *tail)
{
	*tail = atomic_load_explicit(&p->tail, memory_order_relaxed);
	return p->mask + 1 - (*tail - atomic_load_explicit(&p->head, memory_order_acquire));
}

static inline void upci_pktpool_put_slot(struct upci_pktpool *p, uint32_t pos, uint32_t index)
{
	p->ring[pos & p->mask] = index;
}

static inline void upci_pktpool_put_end(struct upci_pktpool *p, uint32_t tail, unsigned n)
{
	atomic_store_explicit(&p->tail, tail + n, memory_order_release);
}

/** upci_pktpool_get() - take up to @n free buffers. Consumer side. Return: how many were taken. */
static inline unsigned upci_pktpool_get(struct upci_pktpool *p, void **bufs, unsigned n)
{
	uint32_t head;

	n = upci_pktpool_get_begin(p, n, &head);
	for (unsigned i = 0; i < n; i++)
		bufs[i] = p->base + upci_pktpool_slot_offset(p, head + i);
	upci_pktpool_get_end(p, head, n);
	return n;
}

/**
 * upci_pktpool_index() - @buf's index in @p, or -1 when @buf is not the start of one of @p's buffers.
 * @off: if not NULL, set to @buf's byte offset from the first buffer (its IOVA is iova_base + *@off).
 */
static inline int64_t upci_pktpool_index(const struct upci_pktpool *p, const void *buf, uint64_t *off)
{
	uint64_t o = (uint64_t)((uintptr_t)buf - (uintptr_t)p->base); /* wraps for buf < base: refused below */
	uint64_t i;

	if (off)
		*off = o;
	if (p->buf_shift) { /* a power of two (2 KiB, the usual): no division */
		i = o >> p->buf_shift;
		if (o & (p->buf_size - 1))
			return -1;
	} else {
		i = o / p->buf_size;
		if (o % p->buf_size)
			return -1;
	}
	return !buf || i >= p->n_bufs ? -1 : (int64_t)i;
}

/**
 * upci_pktpool_put() - give back @n buffers. Producer side. Pointers that are not the start of one of this
 * pool's buffers are refused and counted in bad_puts. Return: how many were taken back.
 */
static inline unsigned upci_pktpool_put(struct upci_pktpool *p, void *const *bufs, unsigned n)
{
	uint32_t tail, room = upci_pktpool_put_begin(p, &tail);
	unsigned done = 0;

	for (unsigned i = 0; i < n && done < room; i++) {
		int64_t idx = upci_pktpool_index(p, bufs[i], NULL);

		if (idx < 0) {
			p->bad_puts++;
			continue;
		}
		upci_pktpool_put_slot(p, tail + done++, (uint32_t)idx);
	}
	upci_pktpool_put_end(p, tail, done);
	return done;
}

/**
 * upci_pktpool_put_index() - give back @n buffers by their index in @p (0 .. n_bufs - 1), unchecked.
 *
 * For a driver returning buffers it validated when it took them (upci_pktpool_index()): no ownership
 * check, one head/tail update. Indices that do not fit the free ring (a double free) are counted in
 * bad_puts and dropped. Return: how many were taken back.
 */
static inline unsigned upci_pktpool_put_index(struct upci_pktpool *p, const uint32_t *idx, unsigned n)
{
	uint32_t tail, room = upci_pktpool_put_begin(p, &tail);

	if (n > room) {
		p->bad_puts += n - room;
		n = room;
	}
	for (unsigned i = 0; i < n; i++)
		upci_pktpool_put_slot(p, tail + i, idx[i]);
	upci_pktpool_put_end(p, tail, n);
	return n;
}

/** upci_pktpool_owns() - is @buf the start of one of @p's buffers? */
static inline bool upci_pktpool_owns(const struct upci_pktpool *p, const void *buf)
{
	return upci_pktpool_index(p, buf, NULL) >= 0;
}

/**
 * upci_pktpool_alloc() - up to @n packets with empty buffers of @p (len 0). Consumer side.
 * Return: how many of @pkts were filled.
 */
static inline unsigned upci_pktpool_alloc(struct upci_pktpool *p, struct upci_pkt *pkts, unsigned n)
{
	void *bufs[32];
	unsigned got = 0;

	while (got < n) {
		unsigned want = n - got > 32 ? 32 : n - got, k = upci_pktpool_get(p, bufs, want);

		for (unsigned i = 0; i < k; i++)
			pkts[got + i] = (struct upci_pkt){ .buf = bufs[i], .pool = p };
		got += k;
		if (k < want)
			break;
	}
	return got;
}

/**
 * upci_pkt_free() - give the buffers of @pkts back to the pools they came from and set each @buf to NULL.
 * Packets whose @buf is already NULL are skipped, so the array a tx burst left behind can be passed whole.
 * Producer side of each pool.
 */
static inline void upci_pkt_free(struct upci_pkt *pkts, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (pkts[i].buf && pkts[i].pool && upci_pktpool_put(pkts[i].pool, &pkts[i].buf, 1))
			pkts[i].buf = NULL;
	}
}

/** upci_pktpool_free_count() - buffers in the pool now (a snapshot). */
static inline uint32_t upci_pktpool_free_count(struct upci_pktpool *p)
{
	return atomic_load_explicit(&p->tail, memory_order_acquire) - atomic_load_explicit(&p->head, memory_order_acquire);
}

#ifdef __cplusplus
}
#endif
#endif
