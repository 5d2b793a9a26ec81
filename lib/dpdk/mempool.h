/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/dpdk/mempool.h — internal: the "upci" mempool ops over a upci_pktpool's free ring (for unit tests).
 *
 * Each mbuf header carries, in its private area (8 bytes), the index of its upci buffer; the pool keeps
 * the reverse table index -> mbuf. Both are checked on every put, so an object that is not one of the
 * pool's mbufs is counted and dropped, never turned into a ring entry.
 */
#ifndef UPCI_LIB_DPDK_MEMPOOL_H
#define UPCI_LIB_DPDK_MEMPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "upci/pktpool.h"

#define UPCI_DPDK_PRIV_SIZE 8 /* the mbuf private area: uint32_t buffer index (RTE_MBUF_PRIV_ALIGN) */

/** struct upci_dpdk_pool - a mempool's pool_data. */
struct upci_dpdk_pool {
	struct upci_pktpool *pool;
	struct rte_mbuf **mbufs;    /* by buffer index: n_bufs entries */
	uint32_t n_bufs;
	bool populating;            /* rte_mempool_populate_*() is putting fresh objects: not ring entries */
	uint32_t adopted;           /* objects seen while populating */
	uint64_t bad_enqueues;
};

/** upci_dpdk_mbuf_index() - the buffer index stored in @m. */
static inline uint32_t upci_dpdk_mbuf_index(const struct rte_mbuf *m)
{
	return *(const uint32_t *)((const char *)m + sizeof(struct rte_mbuf));
}

/** upci_dpdk_bind_mbuf() - make @m the header of buffer @idx of @ctx (buf_addr/buf_iova/buf_len, index). */
void upci_dpdk_bind_mbuf(struct upci_dpdk_pool *ctx, struct rte_mbuf *m, uint32_t idx);

/* The ops, exported for the unit test (they only touch mp->pool_data). */
int upci_dpdk_op_enqueue(struct rte_mempool *mp, void *const *objs, unsigned n);
int upci_dpdk_op_dequeue(struct rte_mempool *mp, void **objs, unsigned n);
unsigned upci_dpdk_op_get_count(const struct rte_mempool *mp);

/**
 * upci_dpdk_mbuf_to_pkt() - the upci packet of mbuf @m for transmission. Moves a frame with data_off > 0
 * to its buffer's start. Return: 0, 1 (moved), -EINVAL (not a direct single-segment refcnt-1 mbuf of a
 * upci mempool, or a bad length).
 */
int upci_dpdk_mbuf_to_pkt(struct rte_mbuf *m, struct upci_pkt *pkt);

/** upci_dpdk_pkt_to_mbuf() - the mbuf of a received packet of @ctx's pool, filled in; NULL if not ours. */
struct rte_mbuf *upci_dpdk_pkt_to_mbuf(struct upci_dpdk_pool *ctx, const struct upci_pkt *pkt, uint16_t port_id);

#endif
