/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/dpdk/port.c — a upci port's rx pools as DPDK mempools, and rx/tx bursts of mbufs (upci/dpdk.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>

#include "mempool.h"
#include "upci/dpdk.h"
#include "upci/log.h"

#define LOG_DPDK "dpdk"

enum { BURST = 32 };

struct upci_dpdk_port {
	struct upci_port *port;
	unsigned n_rxq;
	uint16_t port_id;            /* mbuf->port: the attach order */
	struct rte_mempool *mp[UPCI_PORT_MAX_QUEUES];
	struct upci_dpdk_pool ctx[UPCI_PORT_MAX_QUEUES];
	struct upci_dpdk_stats st;
};

static uint16_t next_port_id;

/* rte_mempool_obj_iter() callback: object @i of the mempool becomes the header of upci buffer @i. */
static void init_mbuf(struct rte_mempool *mp, void *arg, void *obj, unsigned i)
{
	struct upci_dpdk_pool *ctx = arg;

	rte_pktmbuf_init(mp, NULL, obj, i);
	upci_dpdk_bind_mbuf(ctx, obj, i);
}

static void free_queue(struct upci_dpdk_port *dp, unsigned q)
{
	rte_mempool_free(dp->mp[q]);
	dp->mp[q] = NULL;
	free(dp->ctx[q].mbufs);
	dp->ctx[q].mbufs = NULL;
}

static int make_mempool(struct upci_dpdk_port *dp, unsigned q, int socket)
{
	struct upci_dpdk_pool *ctx = &dp->ctx[q];
	struct rte_pktmbuf_pool_private priv = { 0 };
	struct upci_pktpool *pool = upci_port_pool(dp->port, q);
	const char *name = upci_port_name(dp->port);
	char mp_name[RTE_MEMPOOL_NAMESIZE];
	struct rte_mempool *mp;
	int rc;

	if (!pool || pool->buf_size > UINT16_MAX) {
		upci_log(UPCI_LOG_ERR, LOG_DPDK, "%s: rx queue %u has no pool an mbuf can describe (buffers of %u bytes)",
			 name, q, pool ? pool->buf_size : 0);
		return -EINVAL;
	}
	*ctx = (struct upci_dpdk_pool){ .pool = pool, .n_bufs = pool->n_bufs };
	ctx->mbufs = calloc(pool->n_bufs, sizeof(*ctx->mbufs));
	snprintf(mp_name, sizeof(mp_name), "upci%u_%u", dp->port_id, q);
	mp = rte_mempool_create_empty(mp_name, pool->n_bufs, sizeof(struct rte_mbuf) + UPCI_DPDK_PRIV_SIZE,
				      0 /* no per-lcore cache: the ring is SPSC */, sizeof(priv), socket, 0);
	if (!ctx->mbufs || !mp) {
		upci_log(UPCI_LOG_ERR, LOG_DPDK, "%s: cannot create mempool %s for rx queue %u (%u mbufs): %s; was "
			 "rte_eal_init() called, with enough memory (-m, hugepages)?", name, mp_name, q, pool->n_bufs,
			 mp ? "out of memory" : rte_strerror(rte_errno));
		rte_mempool_free(mp);
		free(ctx->mbufs);
		ctx->mbufs = NULL;
		return -ENOMEM;
	}
	dp->mp[q] = mp;
	priv.mbuf_data_room_size = (uint16_t)pool->buf_size;
	priv.mbuf_priv_size = UPCI_DPDK_PRIV_SIZE;
	rte_pktmbuf_pool_init(mp, &priv);
	rc = rte_mempool_set_ops_byname(mp, UPCI_DPDK_OPS_NAME, ctx);
	if (!rc) {
		rc = rte_mempool_populate_default(mp);
		rc = rc == (int)pool->n_bufs ? 0 : rc < 0 ? rc : -ENOMEM;
	}
	if (rc || ctx->adopted != pool->n_bufs) {
		upci_log(UPCI_LOG_ERR, LOG_DPDK, "%s: cannot fill mempool %s with %u mbuf headers (%u placed): %s; "
			 "give the EAL more memory (-m)", name, mp_name, pool->n_bufs, ctx->adopted,
			 strerror(rc ? -rc : ENOMEM));
		free_queue(dp, q);
		return rc ? rc : -ENOMEM;
	}
	rte_mempool_obj_iter(mp, init_mbuf, ctx);
	ctx->populating = false;
	return 0;
}

int upci_dpdk_port_attach(struct upci_port *port, int socket, struct upci_dpdk_port **out)
{
	struct upci_dpdk_port *dp;
	int rc = 0;

	if (!port || !out)
		return -EINVAL;
	dp = calloc(1, sizeof(*dp));
	if (!dp) {
		upci_log(UPCI_LOG_ERR, LOG_DPDK, "%s: out of memory attaching to DPDK", upci_port_name(port));
		return -ENOMEM;
	}
	dp->port = port;
	dp->port_id = next_port_id++;
	dp->n_rxq = upci_port_info(port)->rx_queues;
	for (unsigned q = 0; q < dp->n_rxq && !rc; q++)
		rc = make_mempool(dp, q, socket);
	if (rc) {
		upci_dpdk_port_detach(dp);
		return rc;
	}
	*out = dp;
	return 0;
}

void upci_dpdk_port_detach(struct upci_dpdk_port *dp)
{
	if (!dp)
		return;
	for (unsigned q = 0; q < dp->n_rxq; q++)
		free_queue(dp, q);
	free(dp);
}

struct upci_port *upci_dpdk_port(const struct upci_dpdk_port *dp)
{
	return dp->port;
}

struct rte_mempool *upci_dpdk_mempool(const struct upci_dpdk_port *dp, unsigned q)
{
	return q < dp->n_rxq ? dp->mp[q] : NULL;
}

int upci_dpdk_rx_burst(struct upci_dpdk_port *dp, unsigned q, struct rte_mbuf **pkts, unsigned n)
{
	struct upci_pkt up[BURST];
	unsigned got = 0;

	if (q >= dp->n_rxq)
		return -EINVAL;
	while (got < n) {
		unsigned want = n - got < BURST ? n - got : BURST;
		int r = upci_port_rx_burst(dp->port, q, up, want);

		if (r < 0)
			return got ? (int)got : r;
		for (int i = 0; i < r; i++) {
			struct rte_mbuf *m = upci_dpdk_pkt_to_mbuf(&dp->ctx[q], &up[i], dp->port_id);

			if (m)
				pkts[got++] = m;
			else
				upci_pkt_free(&up[i], 1); /* not this queue's pool: cannot happen with a sane driver */
		}
		if ((unsigned)r < want)
			break;
	}
	dp->st.rx_mbufs += got;
	return (int)got;
}

/* Put the taken mbufs (up[i].buf == NULL) of @m[0..n) first, keeping order. Return: how many were taken. */
static unsigned taken_first(struct rte_mbuf **m, const struct upci_pkt *up, unsigned n)
{
	struct rte_mbuf *kept[BURST];
	unsigned t = 0, k = 0;

	for (unsigned i = 0; i < n; i++) {
		if (!up[i].buf)
			m[t++] = m[i];
		else
			kept[k++] = m[i];
	}
	memcpy(&m[t], kept, k * sizeof(*kept));
	return t;
}

int upci_dpdk_tx_burst(struct upci_dpdk_port *dp, unsigned q, struct rte_mbuf **pkts, unsigned n)
{
	unsigned done = 0;

	while (done < n) {
		struct upci_pkt up[BURST];
		unsigned k = 0, want = n - done < BURST ? n - done : BURST, t;
		int r;

		for (; k < want; k++) {
			r = upci_dpdk_mbuf_to_pkt(pkts[done + k], &up[k]);
			if (r < 0)
				break;
			dp->st.tx_moved += (unsigned)r;
		}
		if (!k) {
			dp->st.tx_refused++;
			break;
		}
		r = upci_port_tx_burst(dp->port, q, up, k);
		if (r < 0)
			return done ? (int)done : r;
		t = (unsigned)r == k ? k : taken_first(&pkts[done], up, k);
		done += t;
		if (t < want)
			break;
	}
	dp->st.tx_mbufs += done;
	return (int)done;
}

void upci_dpdk_stats(const struct upci_dpdk_port *dp, struct upci_dpdk_stats *out)
{
	*out = dp->st;
	for (unsigned q = 0; q < dp->n_rxq; q++)
		out->bad_enqueues += dp->ctx[q].bad_enqueues;
}
