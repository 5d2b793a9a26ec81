/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/dpdk.h — DPDK EAL interop: upci ports with struct rte_mbuf, zero copy (libupci_dpdk).
 *
 * Memory model: upci's packet pools back DPDK mempools. Each rx queue's upci_pktpool gets an rte_mempool
 * whose ops ("upci") are the pool's own free ring: a mempool get takes upci buffers, a put gives them back,
 * the count is the ring's. Every upci buffer has one mbuf header for life (in EAL memory), whose buf_addr /
 * buf_iova are the buffer itself, so an mbuf IS a upci buffer: rx hands the application the mbufs of the
 * buffers the device wrote, tx hands the device the buffers of the mbufs, and the upci driver returns a sent
 * buffer straight to its pool's ring — which is the mempool's free list. No copy, no second free list.
 * See doc/dpdk.md for why this model and not DPDK memory mapped into upci.
 *
 * Rules (the upci pool's single-producer / single-consumer ring; the mempool has no per-lcore cache):
 * - consumer of rx queue q's mempool: the lcore that calls upci_dpdk_rx_burst(q) (its refill takes buffers).
 *   rte_pktmbuf_alloc() from that mempool only on that lcore.
 * - producer: whoever returns its buffers — rte_pktmbuf_free() of its mbufs, and the tx queue (of any port)
 *   that completes them, i.e. the lcore calling upci_dpdk_tx_burst() on that tx queue. Keep these on one lcore
 *   (an l2fwd lcore that receives on A and sends on B does exactly that).
 * - mbufs given to upci_dpdk_tx_burst() are direct, single-segment, refcnt 1, from a upci mempool; no
 *   rte_pktmbuf_clone()/attach of upci mbufs. A frame whose data does not start at the buffer's start
 *   (data_off > 0, e.g. from rte_pktmbuf_alloc()) is moved there first (counted in stats.tx_moved).
 * The EAL runs without the device (--no-pci, or the device not allow-listed); upci owns it through VFIO.
 *
 * Every function that can fail returns 0 (or a count) or a negative errno, with one log line on failure.
 */
#ifndef UPCI_DPDK_H
#define UPCI_DPDK_H

#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "upci/port.h"

#ifdef __cplusplus
extern "C" {
#endif

/** UPCI_DPDK_OPS_NAME - the mempool ops' name (rte_mempool_set_ops_byname()). */
#define UPCI_DPDK_OPS_NAME "upci"

struct upci_dpdk_port;

/** struct upci_dpdk_stats - what the interop layer counted (not the device). */
struct upci_dpdk_stats {
	uint64_t rx_mbufs;      /* mbufs handed out by upci_dpdk_rx_burst() */
	uint64_t tx_mbufs;      /* mbufs taken by upci_dpdk_tx_burst() */
	uint64_t tx_moved;      /* of those, frames moved to their buffer's start (data_off > 0) */
	uint64_t tx_refused;    /* mbufs refused: not of a upci mempool, chained, shared, or too long */
	uint64_t bad_enqueues;  /* objects put into a upci mempool that are not its mbufs (dropped) */
};

/**
 * upci_dpdk_port_attach() - give each rx queue of @port an rte_mempool backed by its upci pool.
 * @port:   an open upci port (started or not); it must outlive the attachment.
 * @socket: NUMA socket for the mbuf headers (SOCKET_ID_ANY).
 * Call after rte_eal_init(). Return: 0 and *@out, or a negative errno (-ENOMEM: EAL memory for the headers).
 */
int upci_dpdk_port_attach(struct upci_port *port, int socket, struct upci_dpdk_port **out);

/** upci_dpdk_port_detach() - free the mempools (before upci_port_close()). NULL is ignored. */
void upci_dpdk_port_detach(struct upci_dpdk_port *dp);

/** upci_dpdk_port() - the upci port behind @dp. */
struct upci_port *upci_dpdk_port(const struct upci_dpdk_port *dp);

/** upci_dpdk_mempool() - rx queue @q's mempool, or NULL. */
struct rte_mempool *upci_dpdk_mempool(const struct upci_dpdk_port *dp, unsigned q);

/**
 * upci_dpdk_rx_burst() - up to @n received frames of rx queue @q as mbufs (data_off 0, pkt_len = data_len =
 * the frame, port = @dp's port id given at attach order, RSS hash in hash.rss with RTE_MBUF_F_RX_RSS_HASH).
 * Never blocks; no copy. Return: how many, or -ENODEV (removed), -EINVAL.
 */
int upci_dpdk_rx_burst(struct upci_dpdk_port *dp, unsigned q, struct rte_mbuf **pkts, unsigned n);

/**
 * upci_dpdk_tx_burst() - queue mbufs on tx queue @q of @dp's port, zero copy (one doorbell per 32).
 * As rte_eth_tx_burst(): the first R (the return value) of @pkts were taken (they belong to the device
 * until sent, then to their mempool); the others stay the caller's, to free or retry. If the port refused
 * one in the middle, @pkts is reordered so that the taken ones come first. Return: R, or -ENODEV, -EINVAL.
 */
int upci_dpdk_tx_burst(struct upci_dpdk_port *dp, unsigned q, struct rte_mbuf **pkts, unsigned n);

/** upci_dpdk_stats() - the interop layer's counters for @dp (and bad_enqueues of its mempools). */
void upci_dpdk_stats(const struct upci_dpdk_port *dp, struct upci_dpdk_stats *out);

#ifdef __cplusplus
}
#endif
#endif
