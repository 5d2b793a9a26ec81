/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * e1000e_cost (built as app/bench/cpu_cost) — CPU cost of the 82574L ring code per packet, counted in
 * instructions under callgrind. The driver's own harness: it reaches the ring code directly.
 *
 * A host program: no VM, no VFIO. One rx and one tx queue of RING descriptors live in plain memory, the
 * register file is a calloc'd 128 KiB one-piece struct upci_bar, and each queue has its own pool built by
 * hand from the public fields of struct upci_pktpool (fake IOVAs, no DMA mapping). Each round:
 *   1. the device model writes back BATCH received frames (DD|EOP, lengths cycling 60..1514), never
 *      past RDT;
 *   2. e1000e_rxq_burst(BATCH);
 *   3. forwarding, no copy: the received buffers go back to the rx pool, BATCH tx buffers are taken
 *      from the tx pool and given the received lengths (and the tx pool as theirs: a frame names its pool);
 *   4. e1000e_txq_burst(BATCH) (which first calls e1000e_txq_clean() on the previous round's frames);
 *   5. the device model completes every tx descriptor up to TDT (sets DD).
 * One warm-up round runs first (warm_up()), then ROUNDS rounds inside measured_rx_tx(). At the end the
 * driver's counters, the lengths seen on tx and the buffer counts of both pools are checked; any
 * mismatch exits 1, so a figure is only ever reported for a run that did what it claims.
 *
 * Measurement (app/bench/cpu_cost.sh). The whole program runs under callgrind with collection on; the
 * script then reads, from the callgrind output, the inclusive instruction count (Ir) of the *call sites*
 * in measured_rx_tx() whose callee is e1000e_rxq_burst, e1000e_txq_burst or e1000e_txq_clean. That is
 * exactly the driver's cost inside the measured region: the warm-up's driver calls are made from
 * warm_up(), the device model runs in its own non-inlined functions, and the application's forwarding
 * (inline pool get/put) is measured_rx_tx()'s self cost; none of these is counted. The script also checks
 * that each driver function was called ROUNDS times from there (a build that inlines the driver into
 * the loop, e.g. with LTO, is refused rather than reported as 0).
 * Rejected alternatives: CALLGRIND_TOGGLE_COLLECT needs <valgrind/callgrind.h> at build time and its
 * client-request sequences land in the count; --toggle-collect=FN counts the warm-up's calls too and
 * toggles collection *off* on a nested match (e1000e_txq_clean inside e1000e_txq_burst).
 *
 * Definition: one packet = one frame received AND forwarded (one rx descriptor + one tx descriptor), so
 * driver.instructions_per_packet = driver Ir in the measured region / (ROUNDS * BATCH).
 *
 * Usage: cpu_cost [ROUNDS]   (default 10000; each round is BATCH rx + BATCH tx frames)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e1000e_regs.h"
#include "e1000e_ring.h"

#define RING 512u            /* descriptors per ring */
#define BATCH 32u            /* frames per burst */
#define POOL_BUFS 1024u      /* buffers per pool (a power of two: the free ring holds them all) */
#define BUF_SIZE 2048u
#define REGS_SIZE 0x20000u   /* 128 KiB register file */
#define RX_IOVA 0x100000000ull
#define TX_IOVA 0x200000000ull
#define LEN_MIN 60u
#define LEN_MAX 1514u
#define DEFAULT_ROUNDS 10000ul
#define QUEUE 0

/* The device's side: its ring heads, the frame sequence numbers it uses and what it found wrong. */
struct dev_model {
	uint32_t rx_head, tx_head;
	uint32_t rx_seq, tx_seq;  /* next frame written back / next frame expected on tx */
	uint64_t rx_frames, tx_frames;
	uint64_t overruns;        /* frames with no descriptor (head == RDT): the driver fell behind */
	uint64_t errors;          /* descriptors that were not what the driver should have written */
};

struct bench {
	struct upci_pktpool rx_pool, tx_pool; /* 64-byte aligned members: see bench_new() */
	struct upci_bar bar;
	struct e1000e_rxq rxq;
	struct e1000e_txq txq;
	struct dev_model dev;
	uint64_t app_errors;      /* short bursts or pool operations in the forwarding step */
};

/* Declared here: external linkage keeps the names callgrind reports free of compiler clone suffixes. */
void warm_up(struct bench *b);
void measured_rx_tx(struct bench *b, unsigned long rounds);

/*
 * The reference: an rx/tx loop that does what ixy's ixgbe driver does per packet, written for these
 * descriptors (not ixy's code). ixy keeps free buffers on a stack (its mempool), checks DD (and EOP) on rx
 * and nothing else, reads the length, pops a fresh buffer and writes its descriptor in place, stores the
 * packet; on tx it sets RS on every descriptor, cleans in batches of 32 once a batch's last descriptor is
 * done, freeing each buffer back to its pool one by one, and writes one tail per burst. No length bounds,
 * no foreign-buffer check, no counters. Counted from measured_ref_rx_tx() (cpu_cost.sh).
 */
struct ref_pool {
	uint8_t *base;
	uint64_t iova_base;
	uint32_t *stack;          /* free buffer indices, top of stack last */
	uint32_t top;
};

struct ref_pkt {
	void *buf;
	uint32_t len;
};

struct ref_rxq {
	union e1000e_rx_desc *ring;
	void **bufs;
	uint32_t mask, next;
	struct ref_pool *pool;
	volatile uint32_t *rdt;
};

struct ref_txq {
	struct e1000e_tx_desc *ring;
	void **bufs;
	struct ref_pool **pools;  /* each in-flight buffer's (ixy finds it in the buffer's header) */
	struct ref_pool *pool;    /* where this application's tx buffers come from */
	uint32_t mask, tail, clean;
	volatile uint32_t *tdt;
};

struct ref_bench {
	struct bench *b;          /* its rings, buffer memory, register file and device model */
	struct ref_pool rx_pool, tx_pool;
	struct ref_rxq rxq;
	struct ref_txq txq;
	uint64_t rx, tx;          /* the application's counts */
};

unsigned ref_rx_burst(struct ref_rxq *q, struct ref_pkt *pkts, unsigned n);
unsigned ref_tx_burst(struct ref_txq *q, struct ref_pkt *pkts, unsigned n);
void ref_warm_up(struct ref_bench *r);
void measured_ref_rx_tx(struct ref_bench *r, unsigned long rounds);

static uint16_t frame_len(uint32_t seq)
{
	return (uint16_t)(LEN_MIN + seq % (LEN_MAX - LEN_MIN + 1));
}

static void *xalloc(size_t align, size_t size)
{
	void *p = aligned_alloc(align, size);

	if (!p) {
		fprintf(stderr, "cpu_cost: out of memory\n");
		exit(1);
	}
	memset(p, 0, size);
	return p;
}

/* A pool of POOL_BUFS buffers, all free, at fake IOVA @iova. */
static void pool_init(struct upci_pktpool *p, uint64_t iova)
{
	p->base = xalloc(64, (size_t)POOL_BUFS * BUF_SIZE);
	p->iova_base = iova;
	p->buf_size = BUF_SIZE;
	p->n_bufs = POOL_BUFS;
	p->buf_shift = __builtin_ctz(BUF_SIZE); /* as upci_pktpool_create() sets it for a power of two */
	p->mask = POOL_BUFS - 1;
	p->ring = xalloc(64, POOL_BUFS * sizeof(uint32_t));
	for (uint32_t i = 0; i < POOL_BUFS; i++)
		p->ring[i] = i;
	atomic_store(&p->head, 0);
	atomic_store(&p->tail, POOL_BUFS);
}

static void bar_init(struct upci_bar *bar)
{
	bar->base = xalloc(64, REGS_SIZE);
	bar->size = REGS_SIZE;
	bar->n_pieces = 1;
	bar->lo[0] = 0;
	bar->hi[0] = REGS_SIZE;
}

static void queues_init(struct bench *b)
{
	b->rxq = (struct e1000e_rxq){
		.ring = xalloc(4096, RING * sizeof(union e1000e_rx_desc)), .ring_iova = 0x300000000ull,
		.size = RING, .bufs = xalloc(64, RING * sizeof(void *)), .pool = &b->rx_pool,
		.regs = &b->bar, .rdt_reg = E1000E_RDT0, .index = QUEUE,
	};
	b->txq = (struct e1000e_txq){
		.ring = xalloc(4096, RING * sizeof(struct e1000e_tx_desc)), .ring_iova = 0x400000000ull,
		.size = RING,
		.pools = xalloc(64, RING * sizeof(struct upci_pktpool *)), .idx = xalloc(64, RING * sizeof(uint32_t)),
		.rs = xalloc(64, RING * sizeof(struct e1000e_tx_burst)),
		.regs = &b->bar, .tdt_reg = E1000E_TDT0, .index = QUEUE,
	};
}

/* On the heap, aligned for its pools: a pointer the compiler cannot specialise the loop for. */
static struct bench *bench_alloc(void)
{
	size_t align = _Alignof(struct bench);
	struct bench *b = xalloc(align, (sizeof(struct bench) + align - 1) / align * align);

	bar_init(&b->bar);
	pool_init(&b->rx_pool, RX_IOVA);
	pool_init(&b->tx_pool, TX_IOVA);
	queues_init(b);
	return b;
}

static struct bench *bench_new(void)
{
	struct bench *b = bench_alloc();

	if (e1000e_rxq_fill(&b->rxq)) {
		fprintf(stderr, "cpu_cost: e1000e_rxq_fill failed\n");
		exit(1);
	}
	return b;
}

/* Is @addr the device address of one of @pool's buffers? */
static bool dev_addr_ok(const struct upci_pktpool *pool, uint64_t addr)
{
	uint64_t off = addr - pool->iova_base;

	return addr >= pool->iova_base && off % pool->buf_size == 0 && off / pool->buf_size < pool->n_bufs;
}

/* --- device model: never inlined into the measured loop, never counted --- */

/* The device receives @n frames into the descriptors it owns (head up to RDT, exclusive). */
static __attribute__((noinline)) void dev_rx(struct bench *b, unsigned n)
{
	struct dev_model *dev = &b->dev;
	uint32_t rdt = upci_bar_read32(&b->bar, E1000E_RDT0);

	for (unsigned k = 0; k < n; k++) {
		union e1000e_rx_desc *d = &b->rxq.ring[dev->rx_head];

		if (dev->rx_head == rdt) {
			dev->overruns += n - k;
			return;
		}
		if (d->read.reserved || !dev_addr_ok(&b->rx_pool, d->read.buffer_addr))
			dev->errors++;
		d->wb.mrq = 0;
		d->wb.rss_hash = dev->rx_seq * 0x9e3779b1u;
		d->wb.length = frame_len(dev->rx_seq++);
		d->wb.vlan = 0;
		d->wb.status_error = E1000E_RXD_STAT_DD | E1000E_RXD_STAT_EOP;
		dev->rx_head = (dev->rx_head + 1) & (RING - 1);
		dev->rx_frames++;
	}
}

/* The device sends every descriptor up to TDT; as the 82574L (and QEMU) it writes DD back only where the
 * driver asked (RS), and the driver must ask at least at the end of each burst (the last before TDT). */
static __attribute__((noinline)) void dev_tx(struct bench *b)
{
	struct dev_model *dev = &b->dev;
	uint32_t tdt = upci_bar_read32(&b->bar, E1000E_TDT0);

	while (dev->tx_head != tdt) {
		struct e1000e_tx_desc *d = &b->txq.ring[dev->tx_head];

		bool last = ((dev->tx_head + 1) & (RING - 1)) == tdt;

		if (!dev_addr_ok(&b->tx_pool, d->buffer_addr) || d->length != frame_len(dev->tx_seq++) ||
		    (last && !(d->cmd & E1000E_TXD_CMD_RS)) || !(d->cmd & E1000E_TXD_CMD_EOP))
			dev->errors++;
		if (d->cmd & E1000E_TXD_CMD_RS)
			d->sta |= E1000E_TXD_STA_DD;
		dev->tx_head = (dev->tx_head + 1) & (RING - 1);
		dev->tx_frames++;
	}
}

/* --- the application --- */

/*
 * One round, inlined into its two callers so that the driver calls are made directly from
 * measured_rx_tx() (counted) or from warm_up() (not counted). Forwarding copies nothing: the received
 * buffers go back to the rx pool and the frames leave in tx-pool buffers with the received lengths.
 */
static inline __attribute__((always_inline)) void round_rx_tx(struct bench *b)
{
	struct upci_pkt pkts[BATCH];
	void *bufs[BATCH];
	unsigned n;

	dev_rx(b, BATCH);
	n = e1000e_rxq_burst(&b->rxq, pkts, BATCH);
	for (unsigned k = 0; k < n; k++)
		bufs[k] = pkts[k].buf;
	if (upci_pktpool_put(&b->rx_pool, bufs, n) != n || upci_pktpool_get(&b->tx_pool, bufs, n) != n)
		b->app_errors++;
	for (unsigned k = 0; k < n; k++) {
		pkts[k].buf = bufs[k];
		pkts[k].pool = &b->tx_pool;
	}
	if (n != BATCH || e1000e_txq_burst(&b->txq, pkts, n) != n)
		b->app_errors++;
	dev_tx(b);
}

__attribute__((noinline)) void warm_up(struct bench *b)
{
	round_rx_tx(b);
}

/* The measured region: the driver calls made from here are what cpu_cost.sh counts. */
__attribute__((noinline)) void measured_rx_tx(struct bench *b, unsigned long rounds)
{
	for (unsigned long r = 0; r < rounds; r++)
		round_rx_tx(b);
}

/* --- the ixy-style reference (see ref_pool) --- */

#define REF_SHIFT 11 /* BUF_SIZE = 2^11: ixy reads a buffer's pool index from its header; a shift is cheaper */

static inline void *ref_alloc(struct ref_pool *p)
{
	return p->base + ((uint64_t)p->stack[--p->top] << REF_SHIFT);
}

static inline void ref_free(struct ref_pool *p, void *buf)
{
	p->stack[p->top++] = (uint32_t)(((uint8_t *)buf - p->base) >> REF_SHIFT);
}

static inline uint64_t ref_iova(const struct ref_pool *p, const void *buf)
{
	return p->iova_base + (uint64_t)((const uint8_t *)buf - p->base);
}

__attribute__((noinline)) unsigned ref_rx_burst(struct ref_rxq *q, struct ref_pkt *pkts, unsigned n)
{
	uint32_t next = q->next, last = next;
	unsigned i;

	for (i = 0; i < n; i++) {
		volatile union e1000e_rx_desc *d = &q->ring[next];
		uint32_t status = d->wb.status_error;
		void *fresh;

		if (!(status & E1000E_RXD_STAT_DD))
			break;
		if (!(status & E1000E_RXD_STAT_EOP))
			abort(); /* ixy: "multi-segment packets are not supported" */
		pkts[i].buf = q->bufs[next];
		pkts[i].len = d->wb.length;
		fresh = ref_alloc(q->pool);
		d->read.buffer_addr = ref_iova(q->pool, fresh);
		d->read.reserved = 0;
		q->bufs[next] = fresh;
		last = next;
		next = (next + 1) & q->mask;
	}
	if (i) {
		*q->rdt = last; /* x86: stores stay in order */
		q->next = next;
	}
	return i;
}

__attribute__((noinline)) unsigned ref_tx_burst(struct ref_txq *q, struct ref_pkt *pkts, unsigned n)
{
	const uint64_t cmd = (uint64_t)(E1000E_TXD_CMD_EOP | E1000E_TXD_CMD_IFCS | E1000E_TXD_CMD_RS)
			     << E1000E_TXD_UPPER_CMD_SHIFT;
	unsigned i;

	for (;;) { /* clean in batches of BATCH once the batch's last descriptor is done */
		uint32_t cleanable = (q->tail - q->clean) & q->mask, upto;

		if (cleanable < BATCH)
			break;
		upto = (q->clean + BATCH - 1) & q->mask;
		if (!(((volatile struct e1000e_tx_desc *)q->ring)[upto].sta & E1000E_TXD_STA_DD))
			break;
		for (uint32_t j = q->clean;; j = (j + 1) & q->mask) {
			ref_free(q->pools[j], q->bufs[j]); /* ixy: the buffer's header names its pool */
			if (j == upto)
				break;
		}
		q->clean = (upto + 1) & q->mask;
	}
	for (i = 0; i < n; i++) {
		uint32_t next = (q->tail + 1) & q->mask;
		struct e1000e_tx_desc *d = &q->ring[q->tail];

		if (next == q->clean)
			break; /* full */
		q->bufs[q->tail] = pkts[i].buf;
		q->pools[q->tail] = q->pool;
		d->buffer_addr = ref_iova(q->pool, pkts[i].buf);
		d->upper = pkts[i].len | cmd;
		q->tail = next;
	}
	*q->tdt = q->tail;
	return i;
}

static void ref_pool_init(struct ref_pool *p, const struct upci_pktpool *mem)
{
	p->base = mem->base;
	p->iova_base = mem->iova_base;
	p->stack = xalloc(64, POOL_BUFS * sizeof(uint32_t));
	for (p->top = 0; p->top < POOL_BUFS; p->top++)
		p->stack[p->top] = POOL_BUFS - 1 - p->top;
}

/* The reference on rings, buffer memory and registers of its own (a bench whose upci queues stay unused). */
static struct ref_bench *ref_bench_new(void)
{
	struct ref_bench *r = xalloc(_Alignof(struct ref_bench), sizeof(*r));
	struct bench *b = bench_alloc();

	r->b = b;
	ref_pool_init(&r->rx_pool, &b->rx_pool);
	ref_pool_init(&r->tx_pool, &b->tx_pool);
	r->rxq = (struct ref_rxq){ .ring = b->rxq.ring, .bufs = b->rxq.bufs, .mask = RING - 1, .pool = &r->rx_pool,
				   .rdt = (volatile uint32_t *)(b->bar.base + E1000E_RDT0) };
	r->txq = (struct ref_txq){ .ring = b->txq.ring, .bufs = xalloc(64, RING * sizeof(void *)),
				   .pools = xalloc(64, RING * sizeof(struct ref_pool *)), .pool = &r->tx_pool,
				   .mask = RING - 1, .tdt = (volatile uint32_t *)(b->bar.base + E1000E_TDT0) };
	for (uint32_t i = 0; i < RING; i++) { /* as ixy: every descriptor gets a buffer, RDT one behind */
		void *buf = ref_alloc(&r->rx_pool);

		r->rxq.bufs[i] = buf;
		r->rxq.ring[i].read.buffer_addr = ref_iova(&r->rx_pool, buf);
	}
	*r->rxq.rdt = RING - 1;
	return r;
}

/* One reference round: the same device work and the same application step as round_rx_tx(). */
static inline __attribute__((always_inline)) void ref_round(struct ref_bench *r)
{
	struct ref_pkt pkts[BATCH];
	unsigned n;

	dev_rx(r->b, BATCH);
	n = ref_rx_burst(&r->rxq, pkts, BATCH);
	r->rx += n;
	for (unsigned k = 0; k < n; k++) {
		ref_free(&r->rx_pool, pkts[k].buf);
		pkts[k].buf = ref_alloc(&r->tx_pool);
	}
	if (n != BATCH || ref_tx_burst(&r->txq, pkts, n) != n)
		r->b->app_errors++;
	r->tx += n;
	dev_tx(r->b);
}

__attribute__((noinline)) void ref_warm_up(struct ref_bench *r)
{
	ref_round(r);
}

/* The reference's measured region: its calls from here are what cpu_cost.sh counts as reference. */
__attribute__((noinline)) void measured_ref_rx_tx(struct ref_bench *r, unsigned long rounds)
{
	for (unsigned long i = 0; i < rounds; i++)
		ref_round(r);
}

/* --- checks and main --- */

static int check_u64(const char *what, uint64_t got, uint64_t want)
{
	if (got == want)
		return 0;
	fprintf(stderr, "cpu_cost: %s is %" PRIu64 ", expected %" PRIu64 "\n", what, got, want);
	return 1;
}

/* Tx buffers still in the ring (sent, not yet cleaned by the driver). */
static uint32_t tx_in_ring(const struct e1000e_txq *q)
{
	return (q->tail - q->clean) & (q->size - 1);
}

/* Did every frame of @frames (warm-up included) go through intact, with no buffer lost? */
static int check(struct bench *b, uint64_t frames)
{
	const struct e1000e_rx_stats *rs = &b->rxq.stats;
	const struct e1000e_tx_stats *ts = &b->txq.stats;
	int bad = 0;

	bad |= check_u64("rx packets", rs->packets, frames);
	bad |= check_u64("tx packets", ts->packets, frames);
	bad |= check_u64("rx drops", rs->bad_length + rs->bad_status + rs->no_buffer, 0);
	bad |= check_u64("tx refusals", ts->bad_length + ts->foreign_buffer + ts->ring_full, 0);
	bad |= check_u64("device rx frames", b->dev.rx_frames, frames);
	bad |= check_u64("device tx frames", b->dev.tx_frames, frames);
	bad |= check_u64("device overruns", b->dev.overruns, 0);
	bad |= check_u64("device-detected errors", b->dev.errors, 0);
	bad |= check_u64("application errors", b->app_errors, 0);
	bad |= check_u64("bad pool puts", b->rx_pool.bad_puts + b->tx_pool.bad_puts, 0);
	bad |= check_u64("free rx buffers", upci_pktpool_free_count(&b->rx_pool), POOL_BUFS - (RING - 1));
	bad |= check_u64("free tx buffers", upci_pktpool_free_count(&b->tx_pool), POOL_BUFS - tx_in_ring(&b->txq));
	return bad;
}

/* The reference moved every frame, and its buffers are all accounted for. */
static int ref_check(struct ref_bench *r, uint64_t frames)
{
	uint32_t in_flight = (r->txq.tail - r->txq.clean) & r->txq.mask;
	int bad = 0;

	bad |= check_u64("reference rx frames", r->rx, frames);
	bad |= check_u64("reference tx frames", r->tx, frames);
	bad |= check_u64("reference: device rx frames", r->b->dev.rx_frames, frames);
	bad |= check_u64("reference: device tx frames", r->b->dev.tx_frames, frames);
	bad |= check_u64("reference: device overruns", r->b->dev.overruns, 0);
	bad |= check_u64("reference: device-detected errors", r->b->dev.errors, 0);
	bad |= check_u64("reference: application errors", r->b->app_errors, 0);
	bad |= check_u64("reference: free rx buffers", r->rx_pool.top, POOL_BUFS - RING);
	bad |= check_u64("reference: free tx buffers", r->tx_pool.top, POOL_BUFS - in_flight);
	return bad;
}

static int parse_rounds(int argc, char **argv, unsigned long *rounds)
{
	char *end;

	*rounds = DEFAULT_ROUNDS;
	if (argc > 2 || (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))))
		return -EINVAL;
	if (argc < 2)
		return 0;
	errno = 0;
	*rounds = strtoul(argv[1], &end, 10);
	if (errno || end == argv[1] || *end || argv[1][0] == '-' || *rounds == 0 || *rounds > 100000000ul)
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long rounds;
	struct ref_bench *r;
	struct bench *b;

	if (parse_rounds(argc, argv, &rounds)) {
		fprintf(stderr, "usage: cpu_cost [ROUNDS]  (1..100000000, default %lu; a round is %u rx + %u tx frames)\n",
			DEFAULT_ROUNDS, BATCH, BATCH);
		return 2;
	}
	b = bench_new();
	warm_up(b);
	measured_rx_tx(b, rounds);
	if (check(b, (uint64_t)(rounds + 1) * BATCH))
		return 1;
	r = ref_bench_new();
	ref_warm_up(r);
	measured_ref_rx_tx(r, rounds);
	if (ref_check(r, (uint64_t)(rounds + 1) * BATCH))
		return 1;
	printf("cpu_cost: rounds %lu batch %u packets %" PRIu64 " (each received and forwarded; %u warm-up not counted)\n",
	       rounds, BATCH, (uint64_t)rounds * BATCH, BATCH);
	return 0;
}
