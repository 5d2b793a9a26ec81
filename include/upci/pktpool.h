/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/pktpool.h — fixed-size packet buffers carved from one DMA allocation.
 *
 * Every buffer's IOVA is known by arithmetic (no lookup). Free buffers sit in a single-producer /
 * single-consumer ring: one thread may take buffers (rx refill) while another returns them (tx
 * completion) with no lock; more threads need their own pools. No allocation after creation.
 */
#ifndef UPCI_PKTPOOL_H
#define UPCI_PKTPOOL_H

#include <stdatomic.h>
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
	uint32_t *ring;          /* indices of free buffers */
	struct upci_dma *dma;
	uint64_t bad_puts;       /* pointers refused by upci_pktpool_put() (not from this pool) */
	_Alignas(64) _Atomic uint32_t head; /* consumer position (get) */
	_Alignas(64) _Atomic uint32_t tail; /* producer position (put) */
};

/**
 * upci_pktpool_create() - @n_bufs buffers of @buf_size bytes (rounded up to 64), DMA-mapped for @iommu.
 * Return: 0 and *@out, or a negative errno.
 */
int upci_pktpool_create(struct upci_iommu *iommu, uint32_t n_bufs, uint32_t buf_size, int numa_node,
			struct upci_pktpool **out);

/** upci_pktpool_destroy() - free the pool and its DMA memory. NULL is ignored. */
void upci_pktpool_destroy(struct upci_pktpool *pool);

/** upci_pktpool_iova() - the IOVA of @buf (any address inside a buffer works). */
static inline uint64_t upci_pktpool_iova(const struct upci_pktpool *p, const void *buf)
{
	return p->iova_base + (uint64_t)((const uint8_t *)buf - p->base);
}

/** upci_pktpool_get() - take up to @n free buffers. Consumer side. Return: how many were taken. */
static inline unsigned upci_pktpool_get(struct upci_pktpool *p, void **bufs, unsigned n)
{
	uint32_t head = atomic_load_explicit(&p->head, memory_order_relaxed);
	uint32_t avail = atomic_load_explicit(&p->tail, memory_order_acquire) - head;

	if (n > avail)
		n = avail;
	for (unsigned i = 0; i < n; i++)
		bufs[i] = p->base + (uint64_t)p->ring[(head + i) & p->mask] * p->buf_size;
	atomic_store_explicit(&p->head, head + n, memory_order_release);
	return n;
}

/**
 * upci_pktpool_put() - return @n buffers. Producer side. A pointer that is not the start of one of this
 * pool's buffers is refused and counted in @bad_puts (never corrupts the ring). Return: how many went back.
 */
static inline unsigned upci_pktpool_put(struct upci_pktpool *p, void *const *bufs, unsigned n)
{
	uint32_t tail = atomic_load_explicit(&p->tail, memory_order_relaxed);
	uint32_t room = p->mask + 1 - (tail - atomic_load_explicit(&p->head, memory_order_acquire));
	unsigned done = 0;

	for (unsigned i = 0; i < n && done < room; i++) {
		uint64_t off = (uint64_t)((const uint8_t *)bufs[i] - p->base);

		if ((const uint8_t *)bufs[i] < p->base || off % p->buf_size || off / p->buf_size >= p->n_bufs) {
			p->bad_puts++;
			continue;
		}
		p->ring[(tail + done++) & p->mask] = (uint32_t)(off / p->buf_size);
	}
	atomic_store_explicit(&p->tail, tail + done, memory_order_release);
	return done;
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
