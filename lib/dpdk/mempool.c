/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/dpdk/mempool.c — the "upci" mempool ops: a DPDK mempool whose free list is a upci_pktpool's free ring.
 *
 * enqueue (rte_mempool_put, rte_pktmbuf_free) = upci_pktpool_put_index() of the mbufs' buffer indices;
 * dequeue (rte_mempool_get, rte_pktmbuf_alloc) = the ring's next indices -> their mbufs, all or nothing;
 * get_count = the ring's count. The ring is single-producer / single-consumer: see upci/dpdk.h.
 */
#include <errno.h>
#include <string.h>

#include "mempool.h"
#include "upci/dpdk.h"

enum { CHUNK = 64 };

void upci_dpdk_bind_mbuf(struct upci_dpdk_pool *ctx, struct rte_mbuf *m, uint32_t idx)
{
	struct upci_pktpool *p = ctx->pool;

	*(uint32_t *)((char *)m + sizeof(*m)) = idx;
	m->buf_addr = p->base + (uint64_t)idx * p->buf_size;
	m->buf_iova = p->iova_base + (uint64_t)idx * p->buf_size;
	m->buf_len = (uint16_t)(p->buf_size > UINT16_MAX ? UINT16_MAX : p->buf_size);
	m->data_off = 0;
	ctx->mbufs[idx] = m;
}

/* The buffer index of @obj if it is one of @ctx's mbufs, else -1. */
static int64_t index_of(const struct upci_dpdk_pool *ctx, const void *obj)
{
	uint32_t idx;

	if (!obj)
		return -1;
	idx = upci_dpdk_mbuf_index(obj);
	return idx < ctx->n_bufs && ctx->mbufs[idx] == obj ? (int64_t)idx : -1;
}

int upci_dpdk_op_enqueue(struct rte_mempool *mp, void *const *objs, unsigned n)
{
	struct upci_dpdk_pool *ctx = mp->pool_data;
	uint32_t idx[CHUNK];
	unsigned k = 0;

	if (ctx->populating) { /* the mempool library filling itself: buffers are already in the ring */
		ctx->adopted += n;
		return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		int64_t x = index_of(ctx, objs[i]);

		if (x < 0) {
			ctx->bad_enqueues++;
			continue;
		}
		idx[k++] = (uint32_t)x;
		if (k == CHUNK) {
			upci_pktpool_put_index(ctx->pool, idx, k);
			k = 0;
		}
	}
	if (k)
		upci_pktpool_put_index(ctx->pool, idx, k);
	return 0;
}

int upci_dpdk_op_dequeue(struct rte_mempool *mp, void **objs, unsigned n)
{
	struct upci_dpdk_pool *ctx = mp->pool_data;
	struct upci_pktpool *p = ctx->pool;
	uint32_t head;

	if (upci_pktpool_get_begin(p, n, &head) < n)
		return -ENOBUFS; /* all or nothing, as a mempool driver must */
	for (unsigned i = 0; i < n; i++) {
		uint32_t idx = p->ring[(head + i) & p->mask];

		if (idx >= ctx->n_bufs) /* the ring is ours, but a stray write must not become a pointer */
			return -EIO;
		objs[i] = ctx->mbufs[idx];
	}
	upci_pktpool_get_end(p, head, n);
	return 0;
}

unsigned upci_dpdk_op_get_count(const struct rte_mempool *mp)
{
	const struct upci_dpdk_pool *ctx = mp->pool_data;

	return upci_pktpool_free_count(ctx->pool);
}

/* pool_config is the struct upci_dpdk_pool, set up by upci_dpdk_port_attach() before populating. */
static int op_alloc(struct rte_mempool *mp)
{
	struct upci_dpdk_pool *ctx = mp->pool_config;

	if (!ctx)
		return -EINVAL;
	ctx->populating = true;
	mp->pool_data = ctx;
	return 0;
}

static void op_free(struct rte_mempool *mp)
{
	(void)mp; /* the context belongs to the upci_dpdk_port */
}

static struct rte_mempool_ops upci_dpdk_ops = {
	.name = UPCI_DPDK_OPS_NAME,
	.alloc = op_alloc,
	.free = op_free,
	.enqueue = upci_dpdk_op_enqueue,
	.dequeue = upci_dpdk_op_dequeue,
	.get_count = upci_dpdk_op_get_count,
};

/* As RTE_MEMPOOL_REGISTER_OPS(), keeping the index: tx checks an mbuf's mempool by it (no table read). */
static int upci_dpdk_ops_index = -1;

RTE_INIT(upci_dpdk_register_ops)
{
	upci_dpdk_ops_index = rte_mempool_register_ops(&upci_dpdk_ops);
}

int upci_dpdk_mbuf_to_pkt(struct rte_mbuf *m, struct upci_pkt *pkt)
{
	struct rte_mempool *mp = m->pool;
	struct upci_dpdk_pool *ctx;
	int64_t idx;
	int moved = 0;

	if (!mp || mp->ops_index != upci_dpdk_ops_index)
		return -EINVAL;
	ctx = mp->pool_data;
	idx = index_of(ctx, m);
	if (idx < 0 || m->nb_segs != 1 || m->next || !RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1 ||
	    !m->data_len || m->pkt_len != m->data_len || (uint32_t)m->data_off + m->data_len > ctx->pool->buf_size)
		return -EINVAL;
	m->buf_addr = ctx->pool->base + (uint64_t)idx * ctx->pool->buf_size; /* the header's fields are the app's */
	if (m->data_off) {
		memmove(m->buf_addr, (char *)m->buf_addr + m->data_off, m->data_len);
		m->data_off = 0;
		moved = 1;
	}
	*pkt = (struct upci_pkt){ .buf = m->buf_addr, .pool = ctx->pool, .len = m->data_len };
	return moved;
}

struct rte_mbuf *upci_dpdk_pkt_to_mbuf(struct upci_dpdk_pool *ctx, const struct upci_pkt *pkt, uint16_t port_id)
{
	int64_t idx = pkt->pool == ctx->pool ? upci_pktpool_index(ctx->pool, pkt->buf, NULL) : -1;
	struct rte_mbuf *m;

	if (idx < 0)
		return NULL;
	m = ctx->mbufs[idx];
	m->data_off = 0;
	m->data_len = pkt->len;
	m->pkt_len = pkt->len;
	m->nb_segs = 1;
	m->next = NULL;
	m->port = port_id;
	m->packet_type = 0;
	m->ol_flags = pkt->rss_hash ? RTE_MBUF_F_RX_RSS_HASH : 0;
	m->hash.rss = pkt->rss_hash;
	rte_mbuf_refcnt_set(m, 1);
	return m;
}
