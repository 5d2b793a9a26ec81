/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpdk_cost — what the DPDK interop adds per packet, in instructions, under callgrind (host only: no VM).
 *
 *   valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null dpdk_cost [ROUNDS]
 *
 * A hand-built upci pool and "upci" mempool (as test/unit/test_dpdk_mempool.c builds them). Each round takes
 * 32 buffers from the pool's ring as a driver's rx refill does and hands them back as its tx completion
 * does (not counted), and in between runs, counted, exactly what upci_dpdk_rx_burst() and
 * upci_dpdk_tx_burst() add to upci's own bursts: packet -> mbuf for 32 received frames, mbuf -> packet for
 * the same 32 forwarded. The program prints the instructions callgrind counted between its start and
 * stop requests divided by the packets (a packet: received AND forwarded, as app/bench/cpu_cost counts).
 * Run natively it prints only the packet count (the instrumentation requests are no-ops).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <valgrind/callgrind.h>

#include "lib/dpdk/mempool.h"
#include "upci/dpdk.h"

enum { N_BUFS = 1024, BUF_SIZE = 2048, BATCH = 32 };

static struct upci_pktpool pool __attribute__((aligned(64)));
static struct upci_dpdk_pool ctx;

static __attribute__((noinline)) unsigned convert(struct upci_pkt *pkts, struct rte_mbuf **m, unsigned n)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++)
		m[i] = upci_dpdk_pkt_to_mbuf(&ctx, &pkts[i], 0);
	for (unsigned i = 0; i < n; i++)
		ok += upci_dpdk_mbuf_to_pkt(m[i], &pkts[i]) == 0;
	return ok;
}

int main(int argc, char **argv)
{
	unsigned rounds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 10000, ok = 0;
	struct rte_mempool *mp = aligned_alloc(64, sizeof(*mp) + 64);

	memset(mp, 0, sizeof(*mp));
	pool.base = aligned_alloc(64, (size_t)N_BUFS * BUF_SIZE);
	pool.iova_base = 0x100000000ull;
	pool.buf_size = BUF_SIZE;
	pool.n_bufs = N_BUFS;
	pool.mask = N_BUFS - 1;
	pool.buf_shift = __builtin_ctz(BUF_SIZE);
	pool.ring = calloc(N_BUFS, sizeof(uint32_t));
	for (uint32_t i = 0; i < N_BUFS; i++)
		pool.ring[i] = i;
	atomic_store(&pool.tail, N_BUFS);
	ctx = (struct upci_dpdk_pool){ .pool = &pool, .n_bufs = N_BUFS, .mbufs = calloc(N_BUFS, sizeof(void *)) };
	if (rte_mempool_set_ops_byname(mp, UPCI_DPDK_OPS_NAME, &ctx)) {
		fprintf(stderr, "dpdk_cost: the upci mempool ops are not registered\n");
		return 1;
	}
	mp->pool_data = &ctx;
	for (uint32_t i = 0; i < N_BUFS; i++) {
		struct rte_mbuf *m = aligned_alloc(64, 192);

		memset(m, 0, 192);
		m->pool = mp;
		upci_dpdk_bind_mbuf(&ctx, m, i);
	}
	for (unsigned r = 0; r <= rounds; r++) { /* round 0 warms up, uncounted */
		struct upci_pkt pkts[BATCH];
		struct rte_mbuf *m[BATCH];
		void *bufs[BATCH];
		unsigned n = upci_pktpool_get(&pool, bufs, BATCH);

		for (unsigned i = 0; i < n; i++)
			pkts[i] = (struct upci_pkt){ .buf = bufs[i], .pool = &pool, .len = 60 };
		if (r)
			CALLGRIND_START_INSTRUMENTATION;
		ok += convert(pkts, m, n);
		if (r)
			CALLGRIND_STOP_INSTRUMENTATION;
		for (unsigned i = 0; i < n; i++)
			bufs[i] = pkts[i].buf;
		upci_pktpool_put(&pool, bufs, n);
	}
	printf("dpdk_cost: %u packets converted (rx: packet -> mbuf, tx: mbuf -> packet), %u rounds of %u\n", ok - BATCH,
	       rounds, BATCH);
	return ok == (rounds + 1) * BATCH ? 0 : 1;
}
