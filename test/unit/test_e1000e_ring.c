/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of drivers/net/e1000e/e1000e_ring.c: rings on plain memory, a memory register file, a scripted
 * device. The ring code is compiled into this test with observable barriers (see on_barrier()).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* upci_dma_rmb()/upci_dma_wmb() call on_barrier(), which a test arms to play a weakly ordered CPU (arm64). */
static void on_barrier(char kind);
#define upci_dma_rmb() on_barrier('r')
#define upci_dma_wmb() on_barrier('w')
#include "drivers/net/e1000e/e1000e_ring.c"
#include "log_capture.h"

#define BUF_SIZE 2048u
#define IOVA_BASE 0x100000000ull
#define IOVA_BASE2 0x180000000ull  /* the second pool's (add_pool2()) */
#define REGS_SIZE 0x20000u
#define RDT0 0x2818u
#define TDT0 0x3818u
#define RDH0 0x2810u
#define TDH0 0x3810u
#define SENTINEL 0xdeadbeefu
#define QUEUE 1
#define TX_CMD (E1000E_TXD_CMD_EOP | E1000E_TXD_CMD_IFCS) /* RS besides on a burst's last descriptor */
#define RX_GOOD (E1000E_RXD_STAT_DD | E1000E_RXD_STAT_EOP)
#define MAX_RING 64u

/*
 * One rx and one tx queue sharing a hand-built pool (no DMA: the IOVAs are fake), a register file in
 * plain memory (RDT/TDT are words we read back), and the device's view: its rx and tx heads.
 * A second pool (add_pool2(), another port's in the same IOMMU context) is there for zero-copy tx.
 * Everything is allocated at its exact size so that AddressSanitizer sees any access past an end.
 */
struct fix {
	struct upci_pktpool pool;      /* has 64-byte aligned members: the fixture comes from aligned_alloc */
	struct upci_pktpool pool2;     /* empty (no buffers) unless add_pool2() */
	struct upci_bar bar;
	uint8_t *regs;
	uint32_t size;                 /* descriptors per ring */
	union e1000e_rx_desc *rx_ring;
	struct e1000e_tx_desc *tx_ring;
	void **rx_bufs;
	uint32_t *tx_idx;              /* the tx queue's idx[] */
	struct e1000e_tx_burst *tx_rs; /* its rs[] */
	struct upci_pktpool **tx_pools; /* its pools[] */
	struct e1000e_rxq rxq;
	struct e1000e_txq txq;
	uint32_t rx_head, tx_head;     /* the device's heads */
	uint64_t rx_overruns;          /* frames the device had no descriptor for (head == RDT) */
	uint32_t tx_seq;               /* the sequence number the device expects in the next tx frame */
	void **held;                   /* rx buffers the application holds, oldest first */
	unsigned n_held;
	uint8_t *seen;                 /* scratch for check_buffers(): one flag per buffer */
	uint8_t *foreign;              /* a buffer-sized allocation that is not the pool's */
	struct upci_pkt *pend;         /* tx frames the application has not queued yet, oldest first */
	uint64_t rng;
};

/*
 * What a weakly ordered CPU may do, and what the barriers must prevent:
 * - a store may reach the device before an earlier one: at a write barrier, record the rings and tails the
 *   device may see from then on; a descriptor written after it, or a tail written before it, shows there.
 * - a load may be satisfied before an earlier one: an rx write-back past its DD bit is shown only from a
 *   read barrier on, oldest first (show_late()); reading it earlier gets stale values.
 */
static struct barriers {
	const struct fix *f;               /* watched; NULL: the barriers only count */
	unsigned rmb, wmb;
	union e1000e_rx_desc rx[MAX_RING]; /* as of the last write barrier */
	struct e1000e_tx_desc tx[MAX_RING];
	uint32_t rdt, tdt;
	uint32_t late_next, late_end;      /* rx descriptors whose write-back is not visible yet */
	uint16_t late_len[MAX_RING];
	uint32_t late_hash[MAX_RING];
} bar;

static void on_barrier(char kind)
{
	const struct fix *f = bar.f;

	__asm__ __volatile__("" ::: "memory");
	if (kind == 'r')
		bar.rmb++;
	else
		bar.wmb++;
	if (f && kind == 'w') {
		memcpy(bar.rx, f->rx_ring, f->size * sizeof(*f->rx_ring));
		memcpy(bar.tx, f->tx_ring, f->size * sizeof(*f->tx_ring));
		memcpy(&bar.rdt, f->regs + RDT0, 4);
		memcpy(&bar.tdt, f->regs + TDT0, 4);
	}
	if (f && kind == 'r' && bar.late_next != bar.late_end) {
		union e1000e_rx_desc *d = &f->rx_ring[bar.late_next];

		d->wb.length = bar.late_len[bar.late_next];
		d->wb.rss_hash = bar.late_hash[bar.late_next];
		bar.late_next = (bar.late_next + 1) & (f->size - 1);
	}
	__asm__ __volatile__("" ::: "memory");
}

static void watch(const struct fix *f)
{
	memset(&bar, 0, sizeof(bar));
	bar.f = f;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	memset(&bar, 0, sizeof(bar));
	if (!f)
		return 0;
	free(f->regs);
	free(f->pool.base);
	free(f->pool.ring);
	free(f->pool2.base);
	free(f->pool2.ring);
	free(f->rx_ring);
	free(f->tx_ring);
	free(f->rx_bufs);
	free(f->tx_idx);
	free(f->tx_rs);
	free(f->tx_pools);
	free(f->held);
	free(f->seen);
	free(f->foreign);
	free(f->pend);
	free(f);
	*state = NULL;
	return 0;
}

/* Make @p a pool of @n_bufs buffers of BUF_SIZE at @iova (all free), its contents 0xa5. */
static void pool_init(struct upci_pktpool *p, uint32_t n_bufs, uint64_t iova)
{
	uint32_t cap = 1;

	while (cap < n_bufs)
		cap <<= 1;
	p->base = aligned_alloc(64, (size_t)n_bufs * BUF_SIZE);
	assert_non_null(p->base);
	memset(p->base, 0xa5, (size_t)n_bufs * BUF_SIZE);
	p->iova_base = iova;
	p->buf_size = BUF_SIZE;
	p->n_bufs = n_bufs;
	p->mask = cap - 1;
	p->buf_shift = __builtin_ctz(BUF_SIZE); /* as upci_pktpool_create() sets it */
	p->ring = calloc(cap, sizeof(uint32_t));
	assert_non_null(p->ring);
	for (uint32_t i = 0; i < n_bufs; i++)
		p->ring[i] = i;
	atomic_store(&p->head, 0);
	atomic_store(&p->tail, n_bufs);
	atomic_store(&p->refs, 1);
}

/* A fixture with rings of @size descriptors and a pool of @n_bufs buffers, all free. */
static struct fix *fix_new(void **state, uint32_t size, uint32_t n_bufs)
{
	size_t align = _Alignof(struct fix), fsz = (sizeof(struct fix) + align - 1) / align * align;
	struct fix *f = aligned_alloc(align, fsz);

	assert_non_null(f);
	memset(f, 0, sizeof(*f));
	*state = f; /* teardown frees whatever was allocated, even after a failed assertion */

	f->regs = calloc(1, REGS_SIZE);
	assert_non_null(f->regs);
	f->bar.base = f->regs;
	f->bar.size = REGS_SIZE;
	f->bar.n_pieces = 1;
	f->bar.lo[0] = 0;
	f->bar.hi[0] = REGS_SIZE;

	pool_init(&f->pool, n_bufs, IOVA_BASE);

	f->size = size;
	f->rx_ring = calloc(size, sizeof(*f->rx_ring));
	f->tx_ring = calloc(size, sizeof(*f->tx_ring));
	f->rx_bufs = calloc(size, sizeof(void *));
	f->tx_idx = calloc(size, sizeof(*f->tx_idx));
	f->tx_rs = calloc(size, sizeof(*f->tx_rs));
	f->tx_pools = calloc(size, sizeof(*f->tx_pools));
	f->held = calloc(n_bufs, sizeof(void *));
	f->seen = calloc(n_bufs, 1);
	f->foreign = malloc(BUF_SIZE);
	f->pend = calloc(n_bufs, sizeof(*f->pend));
	assert_true(f->rx_ring && f->tx_ring && f->rx_bufs && f->tx_idx && f->tx_rs && f->tx_pools && f->held && f->seen &&
		    f->foreign && f->pend);
	assert_int_equal((uintptr_t)f->rx_ring % 16, 0);
	assert_int_equal((uintptr_t)f->tx_ring % 16, 0);

	f->rxq = (struct e1000e_rxq){ .ring = f->rx_ring, .ring_iova = 0x200000000ull, .size = size, .bufs = f->rx_bufs,
				      .pool = &f->pool, .regs = &f->bar, .rdt_reg = RDT0, .rdh_reg = RDH0, .index = QUEUE };
	f->txq = (struct e1000e_txq){ .ring = f->tx_ring, .ring_iova = 0x300000000ull, .size = size, .idx = f->tx_idx,
				      .rs = f->tx_rs, .pools = f->tx_pools, .regs = &f->bar, .tdt_reg = TDT0,
				      .tdh_reg = TDH0, .index = QUEUE };
	f->rng = 0x9e3779b97f4a7c15ull;
	return f;
}

/* A second pool of @n_bufs buffers at IOVA_BASE2: another port's pool in the same IOMMU context. */
static void add_pool2(struct fix *f, uint32_t n_bufs)
{
	pool_init(&f->pool2, n_bufs, IOVA_BASE2);
}

static uint32_t rnd(struct fix *f, uint32_t n)
{
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return (uint32_t)((f->rng * 0x2545f4914f6cdd1dull) >> 32) % n;
}

static uint32_t reg(const struct fix *f, uint32_t off)
{
	return upci_bar_read32(&f->bar, off);
}

static void set_reg(struct fix *f, uint32_t off, uint32_t val)
{
	upci_bar_write32(&f->bar, off, val);
}

static uint32_t pool_free(struct fix *f)
{
	return upci_pktpool_free_count(&f->pool);
}

static uint64_t iova_of(const struct fix *f, const void *buf)
{
	return IOVA_BASE + (uint64_t)((uintptr_t)buf - (uintptr_t)f->pool.base);
}

static bool is_buf_of(const struct upci_pktpool *pool, const void *buf)
{
	uintptr_t p = (uintptr_t)buf, b = (uintptr_t)pool->base;

	return pool->base && p >= b && (p - b) % BUF_SIZE == 0 && (p - b) / BUF_SIZE < pool->n_bufs;
}

static bool is_pool_buf(const struct fix *f, const void *buf)
{
	return is_buf_of(&f->pool, buf);
}

/* The buffer at device address @addr (the device's DMA): it must be the start of one of @pool's. */
static uint8_t *pool_buf_at(const struct upci_pktpool *pool, uint64_t addr)
{
	if (!pool->base || addr < pool->iova_base || (addr - pool->iova_base) % BUF_SIZE ||
	    (addr - pool->iova_base) / BUF_SIZE >= pool->n_bufs)
		return NULL;
	return pool->base + (addr - pool->iova_base);
}

/* The pool buffer at device address @addr: the start of one of the fixture's pool (or second pool's). */
static uint8_t *dev_buf(const struct fix *f, uint64_t addr)
{
	uint8_t *buf = pool_buf_at(&f->pool, addr);

	if (!buf)
		buf = pool_buf_at(&f->pool2, addr);
	if (!buf)
		fail_msg("descriptor address %#llx is not a pool buffer", (unsigned long long)addr);
	return buf;
}

/* Is tx slot @i in flight ([clean, tail))? */
static bool tx_in_flight(const struct fix *f, uint32_t i)
{
	return ((i - f->txq.clean) & (f->size - 1)) < ((f->txq.tail - f->txq.clean) & (f->size - 1));
}

/* The buffer in flight in tx slot @i, from the pool and index the queue recorded. */
static uint8_t *tx_buf(const struct fix *f, uint32_t i)
{
	assert_true(tx_in_flight(f, i));
	assert_non_null(f->tx_pools[i]);
	assert_true(f->tx_idx[i] < f->tx_pools[i]->n_bufs);
	return f->tx_pools[i]->base + (size_t)f->tx_idx[i] * BUF_SIZE;
}

/* Frame contents and length as a function of a sequence number; lengths hit 1, 60 and BUF_SIZE often. */
static uint16_t len_for(uint32_t seq)
{
	if (seq % 17 == 2)
		return BUF_SIZE;
	if (seq % 13 == 7)
		return 1;
	if (seq % 11 == 3)
		return 60;
	return (uint16_t)(1 + (seq * 2654435761u >> 9) % BUF_SIZE);
}

static uint32_t hash_for(uint32_t seq)
{
	return seq * 0x9e3779b1u + 1;
}

static void pattern(uint8_t *p, uint32_t len, uint32_t seq)
{
	for (uint32_t j = 0; j < len; j++)
		p[j] = (uint8_t)(seq * 7 + j * 13 + (j >> 8));
}

static void check_pattern(const uint8_t *p, uint32_t len, uint32_t seq)
{
	for (uint32_t j = 0; j < len; j++)
		if (p[j] != (uint8_t)(seq * 7 + j * 13 + (j >> 8)))
			fail_msg("frame %u (len %u): byte %u is %#x", seq, len, j, p[j]);
}

static void mark(struct fix *f, const void *buf, const char *where, uint32_t *count)
{
	uint32_t i;

	if (!is_pool_buf(f, buf))
		fail_msg("%p (in %s) is not a pool buffer", buf, where);
	i = (uint32_t)(((uintptr_t)buf - (uintptr_t)f->pool.base) / BUF_SIZE);
	if (f->seen[i])
		fail_msg("buffer %u is counted twice (again in %s)", i, where);
	f->seen[i] = 1;
	(*count)++;
}

/*
 * Conservation: every buffer is in exactly one place: the pool's free ring, an rx or tx descriptor slot,
 * the application's held list, or one of @pkts (the application's tx frames; non-pool pointers skipped).
 */
static void check_buffers(struct fix *f, const struct upci_pkt *pkts, unsigned n)
{
	uint32_t head = atomic_load(&f->pool.head), free_n = pool_free(f), count = 0;

	memset(f->seen, 0, f->pool.n_bufs);
	assert_true(free_n <= f->pool.n_bufs);
	for (uint32_t i = 0; i < free_n; i++)
		mark(f, f->pool.base + (size_t)f->pool.ring[(head + i) & f->pool.mask] * BUF_SIZE, "pool", &count);
	for (uint32_t i = f->rxq.next; i != f->rxq.tail; i = (i + 1) & (f->size - 1))
		mark(f, f->rx_bufs[i], "rx ring", &count);
	for (uint32_t i = f->txq.clean; i != f->txq.tail; i = (i + 1) & (f->size - 1)) {
		uint8_t *buf = tx_buf(f, i);

		if (is_buf_of(&f->pool2, buf)) {
			assert_ptr_equal(f->tx_pools[i], &f->pool2); /* the second pool's: counted by its test */
		} else {
			mark(f, buf, "tx ring", &count);
			assert_ptr_equal(f->tx_pools[i], &f->pool); /* goes back where it came from */
		}
	}
	for (unsigned i = 0; i < f->n_held; i++)
		mark(f, f->held[i], "held", &count);
	for (unsigned i = 0; i < n; i++)
		if (pkts[i].buf && is_pool_buf(f, pkts[i].buf))
			mark(f, pkts[i].buf, "tx frames", &count);
	assert_int_equal(count, f->pool.n_bufs);
	assert_int_equal(f->pool.bad_puts, 0);
}

/*
 * The rx ring's shape: [next, tail) hold buffers, addresses matching bufs[] where the device has not
 * written back; [tail, next) are holes, at least one; RDT is tail. After a burst that found the pool with
 * enough buffers, no more holes than the refill batch.
 */
static void check_rx_ring(struct fix *f)
{
	uint32_t mask = f->size - 1, holes = f->size - ((f->rxq.tail - f->rxq.next) & mask);

	assert_int_equal(reg(f, RDT0), f->rxq.tail);
	assert_true(holes >= 1);
	for (uint32_t i = f->rxq.next; i != f->rxq.tail; i = (i + 1) & mask) {
		assert_true(is_pool_buf(f, f->rx_bufs[i]));
		if (!(f->rx_ring[i].wb.status_error & E1000E_RXD_STAT_DD))
			assert_int_equal(f->rx_ring[i].read.buffer_addr, iova_of(f, f->rx_bufs[i]));
	}
}

/* check_rx_ring(), and the pool had enough: the holes are at most the refill batch. */
static void check_rx_ring_topped(struct fix *f)
{
	check_rx_ring(f);
	assert_true(f->size - ((f->rxq.tail - f->rxq.next) & (f->size - 1)) <= f->rxq.refill_batch);
}

static void hold(struct fix *f, void *buf)
{
	assert_true(f->n_held < f->pool.n_bufs);
	f->held[f->n_held++] = buf;
}

/* The application gives its @n oldest held buffers back to the pool. */
static void release(struct fix *f, unsigned n)
{
	assert_true(n <= f->n_held);
	assert_int_equal(upci_pktpool_put(&f->pool, f->held, n), n);
	memmove(f->held, f->held + n, (f->n_held - n) * sizeof(void *));
	f->n_held -= n;
}

/* --- the rx device --- */

/*
 * The device receives a frame: only into a descriptor it owns (head != RDT), which must be in read format
 * and hold the buffer the driver recorded. It copies @copy bytes and writes the write-back, whose
 * fields share the union with the buffer address (read first). Return: false when it owns none.
 */
static bool dev_rx(struct fix *f, const void *data, uint32_t copy, uint16_t wb_len, uint32_t status, uint32_t hash)
{
	union e1000e_rx_desc *d = &f->rx_ring[f->rx_head];
	uint32_t rdt = reg(f, RDT0);
	uint8_t *buf;

	assert_true(rdt < f->size);
	if (f->rx_head == rdt) {
		f->rx_overruns++;
		return false;
	}
	assert_int_equal(d->read.reserved, 0); /* handed over: no stale write-back */
	buf = dev_buf(f, d->read.buffer_addr);
	assert_ptr_equal(f->rx_bufs[f->rx_head], buf);
	assert_true(copy <= BUF_SIZE);
	memcpy(buf, data, copy);
	d->wb.mrq = 0;
	d->wb.rss_hash = hash;
	d->wb.length = wb_len;
	d->wb.vlan = 0;
	d->wb.status_error = status;
	f->rx_head = (f->rx_head + 1) & (f->size - 1);
	return true;
}

/* A good frame @seq (contents, length and hash from the sequence number). */
static bool dev_rx_frame(struct fix *f, uint32_t seq)
{
	uint8_t data[BUF_SIZE];
	uint16_t len = len_for(seq);

	pattern(data, len, seq);
	return dev_rx(f, data, len, len, RX_GOOD, hash_for(seq));
}

static void check_rx_pkt(struct fix *f, const struct upci_pkt *p, uint32_t seq)
{
	assert_true(is_pool_buf(f, p->buf));
	assert_ptr_equal(p->pool, &f->pool); /* rx names the queue's pool */
	assert_int_equal(p->len, len_for(seq));
	assert_int_equal(p->queue, QUEUE);
	assert_int_equal(p->rss_hash, hash_for(seq));
	check_pattern(p->buf, p->len, seq);
}

static void fill(struct fix *f)
{
	assert_int_equal(e1000e_rxq_fill(&f->rxq), 0);
}

/* --- rx: fill --- */

static void rx_fill_gives_all_but_one(void **state)
{
	struct fix *f = fix_new(state, 64, 100);

	memset(f->rx_ring, 0xff, 64 * sizeof(*f->rx_ring)); /* stale contents: fill rewrites every descriptor */
	set_reg(f, RDT0, SENTINEL);
	fill(f);
	assert_int_equal(reg(f, RDT0), 63);
	assert_int_equal(f->rxq.next, 0);
	assert_int_equal(pool_free(f), 100 - 63);
	for (uint32_t i = 0; i < 63; i++) {
		assert_true(is_pool_buf(f, f->rx_bufs[i]));
		assert_int_equal(f->rx_ring[i].read.buffer_addr, iova_of(f, f->rx_bufs[i]));
		assert_int_equal(f->rx_ring[i].read.reserved, 0);
	}
	assert_null(f->rx_bufs[63]);
	assert_int_equal(f->rx_ring[63].read.buffer_addr, 0);
	assert_int_equal(f->rx_ring[63].read.reserved, 0);
	check_buffers(f, NULL, 0); /* the 63 are distinct, and none is also free */
	check_rx_ring(f);
	assert_false(e1000e_rxq_ready(&f->rxq));
	assert_int_equal(f->rxq.stats.packets + f->rxq.stats.no_buffer, 0);
}

/* Too few buffers: -ENOMEM, no RDT write, and every buffer taken is back in the pool. */
static void rx_fill_short_pool(void **state)
{
	struct fix *f = fix_new(state, 16, 10);

	set_reg(f, RDT0, SENTINEL);
	assert_int_equal(e1000e_rxq_fill(&f->rxq), -ENOMEM);
	assert_int_equal(reg(f, RDT0), SENTINEL);
	assert_int_equal(pool_free(f), 10);
	assert_int_equal(f->rxq.next, f->rxq.tail); /* nothing handed to the device */
	check_buffers(f, NULL, 0);
}

/* --- rx: receive --- */

static void rx_empty_ring(void **state)
{
	struct fix *f = fix_new(state, 64, 100);
	struct upci_pkt pkts[8];

	fill(f);
	set_reg(f, RDT0, SENTINEL);
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 8), 0);
	assert_int_equal(reg(f, RDT0), SENTINEL); /* nothing seen: no tail write */
	set_reg(f, RDT0, 63);
	assert_int_equal(f->rxq.next, 0);
	assert_int_equal(pool_free(f), 100 - 63);
	assert_int_equal(f->rxq.stats.packets + f->rxq.stats.bad_length + f->rxq.stats.bad_status +
			 f->rxq.stats.no_buffer, 0);
	check_rx_ring_topped(f);

	/* a frame waits, but a burst of 0 looks at nothing and writes nothing either */
	set_reg(f, RDT0, 63);
	assert_true(dev_rx_frame(f, 0));
	set_reg(f, RDT0, SENTINEL);
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 0), 0);
	assert_int_equal(reg(f, RDT0), SENTINEL);
	assert_true(e1000e_rxq_ready(&f->rxq));
	set_reg(f, RDT0, 63);
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 8), 1);
	check_rx_pkt(f, &pkts[0], 0);
}

static void rx_frames(void **state)
{
	struct fix *f = fix_new(state, 64, 100);
	struct upci_pkt pkts[16];
	void *expect[12];
	uint32_t seq = 0;

	fill(f);
	for (unsigned k = 0; k < 5; k++) {
		expect[k] = f->rx_bufs[f->rx_head];
		assert_true(dev_rx_frame(f, seq++));
	}
	assert_true(e1000e_rxq_ready(&f->rxq));
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 16), 5);
	for (unsigned k = 0; k < 5; k++) {
		assert_ptr_equal(pkts[k].buf, expect[k]);
		check_rx_pkt(f, &pkts[k], k);
		hold(f, pkts[k].buf);
	}
	assert_int_equal(reg(f, RDT0), 63); /* 6 holes, not more than the batch (16): no refill yet */
	assert_int_equal(f->rxq.next, 5);
	assert_int_equal(f->rxq.stats.packets, 5);
	assert_int_equal(pool_free(f), 100 - 63);
	assert_false(e1000e_rxq_ready(&f->rxq));
	check_rx_ring_topped(f);
	check_buffers(f, NULL, 0);

	/* 7 more, taken 3 then 4 */
	for (unsigned k = 5; k < 12; k++) {
		expect[k] = f->rx_bufs[f->rx_head];
		assert_true(dev_rx_frame(f, seq++));
	}
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 3), 3);
	for (unsigned k = 0; k < 3; k++) {
		assert_ptr_equal(pkts[k].buf, expect[5 + k]);
		check_rx_pkt(f, &pkts[k], 5 + k);
		hold(f, pkts[k].buf);
	}
	assert_int_equal(reg(f, RDT0), 63);
	assert_true(e1000e_rxq_ready(&f->rxq));
	check_rx_ring_topped(f);
	check_buffers(f, NULL, 0);
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 16), 4);
	for (unsigned k = 0; k < 4; k++) {
		assert_ptr_equal(pkts[k].buf, expect[8 + k]);
		check_rx_pkt(f, &pkts[k], 8 + k);
		hold(f, pkts[k].buf);
	}
	assert_int_equal(reg(f, RDT0), 63);
	assert_int_equal(f->rxq.stats.packets, 12);
	assert_int_equal(pool_free(f), 100 - 63);
	check_rx_ring_topped(f);
	check_buffers(f, NULL, 0);

	/* 5 more: 18 holes, more than the batch: all but one refilled in one pool get, one tail write */
	for (unsigned k = 0; k < 5; k++)
		assert_true(dev_rx_frame(f, seq++));
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 16), 5);
	for (unsigned k = 0; k < 5; k++) {
		check_rx_pkt(f, &pkts[k], 12 + k);
		hold(f, pkts[k].buf);
	}
	assert_int_equal(reg(f, RDT0), 16); /* the one hole left is descriptor 16, just before next */
	assert_int_equal(f->rxq.next, 17);
	assert_int_equal(pool_free(f), 100 - 63 - 17);
	check_rx_ring_topped(f);
	check_buffers(f, NULL, 0);

	release(f, f->n_held);
	assert_int_equal(pool_free(f), 100 - 63);
	check_buffers(f, NULL, 0);
}

/*
 * Many rounds: the device receives random runs (until it owns no descriptor), the application takes
 * random bursts and returns buffers late. Every frame arrives once, in order, intact.
 */
static void rx_wrap(struct fix *f, uint32_t frames)
{
	struct upci_pkt pkts[MAX_RING + 2];
	uint32_t dev_seq = 0, app_seq = 0;

	fill(f);
	while (app_seq < frames) {
		unsigned arrive = rnd(f, f->size + 4), max, free_n, got, want;

		for (unsigned a = 0; a < arrive && dev_rx_frame(f, dev_seq); a++)
			dev_seq++;
		assert_int_equal(e1000e_rxq_ready(&f->rxq), dev_seq > app_seq);

		release(f, f->n_held ? rnd(f, f->n_held + 1) : 0);
		if (pool_free(f) == 0)
			release(f, 1);
		free_n = pool_free(f);
		max = 1 + rnd(f, free_n < f->size + 2 ? free_n : f->size + 2);
		want = dev_seq - app_seq < max ? dev_seq - app_seq : max;
		got = e1000e_rxq_burst(&f->rxq, pkts, max);
		assert_int_equal(got, want);
		for (unsigned k = 0; k < got; k++) {
			check_rx_pkt(f, &pkts[k], app_seq++);
			hold(f, pkts[k].buf);
		}
		if (dev_seq == app_seq)
			assert_int_equal(f->rxq.next, f->rx_head); /* caught up with the device */
		check_rx_ring(f);
		check_buffers(f, NULL, 0);
	}
	assert_int_equal(f->rxq.stats.packets, app_seq);
	assert_int_equal(f->rxq.stats.bad_length + f->rxq.stats.bad_status, 0); /* none dropped */
	assert_true(f->rx_overruns > 0); /* the device did run into RDT, and stopped there */
	release(f, f->n_held);
	e1000e_rxq_top_up(&f->rxq);
	assert_int_equal(pool_free(f), f->pool.n_bufs - (f->size - 1));
	check_buffers(f, NULL, 0);
}

static void rx_wrap_around(void **state)
{
	struct fix *f = fix_new(state, 64, 100);

	rx_wrap(f, 10 * 64);
}

static void rx_wrap_around_small_ring(void **state)
{
	struct fix *f = fix_new(state, 8, 12);

	rx_wrap(f, 10 * 8 * 4);
}

/* --- rx: malformed write-backs --- */

struct bad_wb {
	uint32_t status;
	uint16_t len;
	bool bad_length;    /* else bad_status */
	const char *what;
};

static const struct bad_wb bad_wbs[] = {
	{ RX_GOOD, 0, true, "length 0" },
	{ RX_GOOD, BUF_SIZE + 1, true, "length buf_size + 1" },
	{ RX_GOOD, 0xffff, true, "length 65535" },
	{ E1000E_RXD_STAT_DD, 100, false, "no EOP" },
	{ RX_GOOD | E1000E_RXDEXT_ERR_CE, 100, false, "CE" },
	{ RX_GOOD | E1000E_RXDEXT_ERR_SE, 100, false, "SE" },
	{ RX_GOOD | E1000E_RXDEXT_ERR_SEQ, 100, false, "SEQ" },
	{ RX_GOOD | E1000E_RXDEXT_ERR_CXE, 100, false, "CXE" },
	{ RX_GOOD | E1000E_RXDEXT_ERR_RXE, 100, false, "RXE" },
	{ E1000E_RXD_STAT_DD | E1000E_RXDEXT_ERR_CE, 0, false, "no EOP, CE and length 0 (counted once)" },
};

static void rx_malformed_writebacks(void **state)
{
	struct fix *f = fix_new(state, 8, 16);
	struct upci_pkt pkts[4];
	uint8_t junk[128];
	uint32_t seq = 0;

	memset(junk, 0x5a, sizeof(junk));
	fill(f);
	for (size_t c = 0; c < sizeof(bad_wbs) / sizeof(bad_wbs[0]); c++) {
		const struct bad_wb *b = &bad_wbs[c];
		struct e1000e_rx_stats before = f->rxq.stats;
		uint32_t next = f->rxq.next, tail = f->rxq.tail, free_n = pool_free(f);
		void *buf = f->rx_bufs[f->rx_head];

		assert_int_equal(f->rx_head, next);
		assert_true(dev_rx(f, junk, b->len && b->len <= sizeof(junk) ? b->len : 0, b->len, b->status, 42));
		assert_true(e1000e_rxq_ready(&f->rxq)); /* DD is set: ready says so, the burst judges */
		if (e1000e_rxq_burst(&f->rxq, pkts, 4) != 0)
			fail_msg("%s: delivered", b->what);
		assert_int_equal(f->rxq.stats.bad_length, before.bad_length + b->bad_length);
		assert_int_equal(f->rxq.stats.bad_status, before.bad_status + !b->bad_length);
		assert_int_equal(f->rxq.stats.packets, before.packets);
		assert_int_equal(f->rxq.stats.no_buffer, 0);
		assert_int_equal(f->rxq.next, (next + 1) & 7);
		/* dropped: the buffer went straight back to the pool (the newest free one, unless a refill took it) */
		if (f->rxq.tail == tail) {
			assert_int_equal(pool_free(f), free_n + 1);
			assert_ptr_equal(f->pool.base + (size_t)f->pool.ring[(atomic_load(&f->pool.tail) - 1) &
									  f->pool.mask] * BUF_SIZE, buf);
		}
		assert_false(e1000e_rxq_ready(&f->rxq));
		check_rx_ring_topped(f);
		check_buffers(f, NULL, 0);

		/* the next good frame comes through */
		assert_true(dev_rx_frame(f, seq));
		assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 4), 1);
		check_rx_pkt(f, &pkts[0], seq++);
		assert_int_equal(upci_pktpool_put(&f->pool, &pkts[0].buf, 1), 1);
		check_rx_ring_topped(f);
		check_buffers(f, NULL, 0);
	}
	assert_int_equal(f->rxq.stats.bad_length, 3);
	assert_int_equal(f->rxq.stats.bad_status, 7);
	assert_int_equal(f->rxq.stats.packets, seq);
}

/* Bad and good mixed in one burst: the bad ones cost no slot of @max and do not end the burst. */
static void rx_malformed_mixed_in_burst(void **state)
{
	struct fix *f = fix_new(state, 8, 16);
	struct upci_pkt pkts[8];
	uint8_t data[BUF_SIZE];
	uint32_t seq;

	fill(f);
	assert_true(dev_rx(f, data, 0, 0, RX_GOOD, 0));                                   /* bad length */
	assert_true(dev_rx(f, data, 0, 64, E1000E_RXD_STAT_DD | E1000E_RXDEXT_ERR_CE, 0)); /* bad status */
	assert_true(dev_rx_frame(f, 0));
	assert_true(dev_rx(f, data, 0, 64, E1000E_RXD_STAT_DD, 0));                       /* no EOP */
	assert_true(dev_rx_frame(f, 1));
	/* checksum errors (IPE bit 30, TCPE bit 29) are not frame errors: delivered */
	seq = 2;
	pattern(data, len_for(seq), seq);
	assert_true(dev_rx(f, data, len_for(seq), len_for(seq), RX_GOOD | (1u << 30) | (1u << 29), hash_for(seq)));
	seq = 3;
	pattern(data, BUF_SIZE, seq);
	assert_true(dev_rx(f, data, BUF_SIZE, BUF_SIZE, RX_GOOD, hash_for(seq))); /* exactly buf_size: good */

	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 1), 1); /* skips two bad ones, takes frame 0 */
	check_rx_pkt(f, &pkts[0], 0);
	hold(f, pkts[0].buf);
	assert_int_equal(f->rxq.next, 3);
	assert_int_equal(reg(f, RDT0), 2); /* 4 holes, more than the batch (2): 3 refilled */
	assert_true(e1000e_rxq_ready(&f->rxq));
	check_rx_ring_topped(f);
	check_buffers(f, NULL, 0);

	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 8), 3);
	check_rx_pkt(f, &pkts[0], 1);
	check_rx_pkt(f, &pkts[1], 2);
	assert_int_equal(pkts[2].len, BUF_SIZE);
	assert_int_equal(pkts[2].rss_hash, hash_for(3));
	check_pattern(pkts[2].buf, BUF_SIZE, 3);
	for (unsigned k = 0; k < 3; k++)
		hold(f, pkts[k].buf);
	assert_int_equal(f->rxq.stats.bad_length, 1);
	assert_int_equal(f->rxq.stats.bad_status, 2);
	assert_int_equal(f->rxq.stats.packets, 4);
	assert_int_equal(reg(f, RDT0), 6);
	check_rx_ring_topped(f);
	check_buffers(f, NULL, 0);
}

/* --- rx: the pool runs dry --- */

/*
 * The pool cannot refill the ring: nothing received is dropped; the ring runs short (the device counts what
 * it had no descriptor for), the shortfall is counted once per refill, and the ring fills up again once the
 * application gives buffers back (at the next burst, or at e1000e_rxq_top_up() before a sleep).
 */
static void rx_pool_empty(void **state)
{
	struct fix *f = fix_new(state, 8, 12);
	struct upci_pkt pkts[8];
	uint32_t seq = 0;

	fill(f);
	assert_int_equal(pool_free(f), 5);
	for (unsigned k = 0; k < 7; k++)
		assert_true(dev_rx_frame(f, seq++));
	assert_false(dev_rx_frame(f, seq)); /* the device owns no more */
	assert_int_equal(f->rx_overruns, 1);

	/* all 7 delivered; the refill wants 7 and gets the 5 there are */
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 8), 7);
	for (unsigned k = 0; k < 7; k++) {
		check_rx_pkt(f, &pkts[k], k);
		hold(f, pkts[k].buf);
	}
	assert_int_equal(f->rxq.stats.no_buffer, 1);
	assert_int_equal(f->rxq.stats.packets, 7);
	assert_int_equal(pool_free(f), 0);
	assert_int_equal(reg(f, RDT0), 4); /* 5 given: [7, 4) */
	assert_false(e1000e_rxq_ready(&f->rxq));
	check_rx_ring(f);
	check_buffers(f, NULL, 0);

	/* the device fills the 5 it has, then runs into RDT */
	for (unsigned k = 0; k < 5; k++)
		assert_true(dev_rx_frame(f, seq++));
	assert_false(dev_rx_frame(f, seq));
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 8), 5);
	for (unsigned k = 0; k < 5; k++) {
		check_rx_pkt(f, &pkts[k], 7 + k);
		hold(f, pkts[k].buf);
	}
	assert_int_equal(f->rxq.stats.no_buffer, 1); /* still dry (the ring is empty now): the same shortage */
	assert_int_equal(f->rxq.next, f->rxq.tail);
	assert_false(e1000e_rxq_ready(&f->rxq));
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 8), 0);
	assert_int_equal(f->rxq.stats.no_buffer, 1);
	check_rx_ring(f);
	check_buffers(f, NULL, 0);

	/* three back, then a top-up (what arming does before a sleep): the device has descriptors again */
	release(f, 3);
	e1000e_rxq_top_up(&f->rxq);
	assert_int_equal(pool_free(f), 0);
	assert_int_equal((f->rxq.tail - f->rxq.next) & 7, 3);
	for (unsigned k = 0; k < 3; k++)
		assert_true(dev_rx_frame(f, 200 + k));
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 8), 3);
	for (unsigned k = 0; k < 3; k++) {
		check_rx_pkt(f, &pkts[k], 200 + k);
		hold(f, pkts[k].buf);
	}
	/* everything back: the next burst tops the ring up to all but one */
	release(f, f->n_held);
	assert_true(dev_rx_frame(f, 300) == false); /* the ring was empty again */
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 8), 0);
	assert_int_equal((f->rxq.tail - f->rxq.next) & 7, 7);
	assert_true(dev_rx_frame(f, 300));
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 8), 1);
	check_rx_pkt(f, &pkts[0], 300);
	hold(f, pkts[0].buf);
	assert_int_equal(f->rxq.stats.packets, 16);
	assert_int_equal(f->rxq.stats.no_buffer, 1); /* one shortage, from the first short refill to the full one */
	assert_int_equal(f->rxq.stats.bad_length + f->rxq.stats.bad_status, 0);
	check_rx_ring_topped(f);
	check_buffers(f, NULL, 0);
}

/* A device that writes DD where it was given nothing (a hole, at or past RDT): the driver does not look. */
static void rx_ignores_writebacks_past_tail(void **state)
{
	struct fix *f = fix_new(state, 8, 16);
	struct upci_pkt pkts[8];

	fill(f);
	for (uint32_t i = 0; i < 8; i++) { /* every descriptor "done", the hole at 7 too */
		f->rx_ring[i].wb.status_error = RX_GOOD;
		f->rx_ring[i].wb.length = 60;
	}
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 8), 7); /* [0, 7): what the device was given */
	for (unsigned k = 0; k < 7; k++) {
		assert_ptr_equal(pkts[k].pool, &f->pool);
		hold(f, pkts[k].buf);
	}
	assert_int_equal(f->rxq.next, 7);
	check_rx_ring(f);
	check_buffers(f, NULL, 0);
	/* the refill rewrote [7, 6): DD is gone everywhere the device now owns */
	for (uint32_t i = f->rxq.next; i != f->rxq.tail; i = (i + 1) & 7)
		assert_int_equal(f->rx_ring[i].read.reserved, 0);
	assert_true(f->rx_ring[6].wb.status_error & E1000E_RXD_STAT_DD); /* the hole still says "done" */
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 8), 0);
	assert_int_equal(f->rxq.next, 7);
}

/* --- rx: ready --- */

static void rx_ready_follows_dd(void **state)
{
	struct fix *f = fix_new(state, 8, 16);
	struct upci_pkt pkts[4];
	union e1000e_rx_desc saved;
	uint8_t junk[4] = { 0 };

	fill(f);
	assert_false(e1000e_rxq_ready(&f->rxq));
	/* every bit but DD: not ready, and the burst takes nothing */
	saved = f->rx_ring[0];
	f->rx_ring[0].wb.status_error = ~(uint32_t)E1000E_RXD_STAT_DD;
	f->rx_ring[0].wb.length = 64;
	assert_false(e1000e_rxq_ready(&f->rxq));
	set_reg(f, RDT0, SENTINEL);
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 4), 0);
	assert_int_equal(reg(f, RDT0), SENTINEL);
	f->rx_ring[0] = saved;
	set_reg(f, RDT0, 7);

	/* one at a time, around the ring twice and a bit; DD on the next descriptor only */
	for (uint32_t seq = 0; seq < 20; seq++) {
		assert_true(dev_rx_frame(f, seq));
		assert_true(e1000e_rxq_ready(&f->rxq));
		assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 4), 1);
		check_rx_pkt(f, &pkts[0], seq);
		assert_int_equal(upci_pktpool_put(&f->pool, &pkts[0].buf, 1), 1);
		assert_false(e1000e_rxq_ready(&f->rxq));
	}
	/* a malformed one is "ready" too (DD), then gone */
	assert_true(dev_rx(f, junk, 0, 0, RX_GOOD, 0));
	assert_true(e1000e_rxq_ready(&f->rxq));
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 4), 0);
	assert_false(e1000e_rxq_ready(&f->rxq));
	check_rx_ring_topped(f);
	check_buffers(f, NULL, 0);
}

/* --- the tx device --- */

/*
 * The device sends up to @max descriptors from its head towards TDT: checks each, and as the 82574L writes
 * DD back only where the driver asked (RS). The descriptor just before TDT must ask: a burst's last does.
 */
static unsigned dev_tx(struct fix *f, unsigned max)
{
	uint32_t tdt = reg(f, TDT0);
	unsigned n = 0;

	assert_true(tdt < f->size);
	while (n < max && f->tx_head != tdt) {
		struct e1000e_tx_desc *d = &f->tx_ring[f->tx_head];
		uint8_t *buf = dev_buf(f, d->buffer_addr);
		bool rs = d->cmd & E1000E_TXD_CMD_RS;

		assert_ptr_equal(tx_buf(f, f->tx_head), buf);
		assert_int_equal(d->cmd & ~E1000E_TXD_CMD_RS, TX_CMD);
		if (((f->tx_head + 1) & (f->size - 1)) == tdt)
			assert_true(rs);
		assert_int_equal(d->sta, 0);
		assert_int_equal(d->cso, 0);
		assert_int_equal(d->css, 0);
		assert_int_equal(d->special, 0);
		assert_int_equal(d->length, len_for(f->tx_seq));
		check_pattern(buf, d->length, f->tx_seq);
		f->tx_seq++;
		if (rs)
			d->sta = E1000E_TXD_STA_DD;
		f->tx_head = (f->tx_head + 1) & (f->size - 1);
		n++;
	}
	return n;
}

/* The application takes a buffer and writes frame @seq into it. */
static void tx_frame(struct fix *f, struct upci_pkt *p, uint32_t seq)
{
	void *buf = NULL;

	assert_int_equal(upci_pktpool_get(&f->pool, &buf, 1), 1);
	p->buf = buf;
	p->pool = &f->pool;
	p->len = len_for(seq);
	p->queue = 0;
	p->rss_hash = 0;
	pattern(buf, p->len, seq);
}

static void tx_burst_fills_descriptors(void **state)
{
	struct fix *f = fix_new(state, 16, 40);
	struct upci_pkt pkts[5];
	void *bufs[5];

	memset(f->tx_ring, 0xa5, 16 * sizeof(*f->tx_ring)); /* stale contents: every field is written */
	assert_int_equal(e1000e_txq_room(&f->txq), 15);
	set_reg(f, TDT0, SENTINEL);
	assert_int_equal(e1000e_txq_burst(&f->txq, pkts, 0), 0);
	assert_int_equal(reg(f, TDT0), SENTINEL); /* nothing queued: no tail write */
	assert_int_equal(e1000e_txq_clean(&f->txq), 0);

	for (uint32_t k = 0; k < 5; k++) {
		tx_frame(f, &pkts[k], k);
		bufs[k] = pkts[k].buf;
	}
	assert_int_equal(e1000e_txq_burst(&f->txq, pkts, 5), 5);
	assert_int_equal(reg(f, TDT0), 5);
	for (uint32_t k = 0; k < 5; k++) {
		struct e1000e_tx_desc *d = &f->tx_ring[k];

		assert_null(pkts[k].buf);
		assert_int_equal(pkts[k].len, len_for(k));
		assert_int_equal(d->buffer_addr, iova_of(f, bufs[k]));
		assert_int_equal(d->length, len_for(k));
		assert_int_equal(d->cmd, k == 4 ? TX_CMD | E1000E_TXD_CMD_RS : TX_CMD); /* one write-back per burst */
		assert_int_equal(d->sta, 0);
		assert_int_equal(d->cso, 0);
		assert_int_equal(d->css, 0);
		assert_int_equal(d->special, 0);
		assert_ptr_equal(tx_buf(f, k), bufs[k]);
		assert_ptr_equal(f->tx_pools[k], &f->pool);
	}
	assert_int_equal(f->txq.tail, 5);
	assert_int_equal(f->txq.rs_tail - f->txq.rs_head, 1);
	assert_int_equal(f->tx_rs[0].last, 4);
	assert_ptr_equal(f->tx_rs[0].pool, &f->pool); /* all of one pool: given back in one piece */
	assert_int_equal(e1000e_txq_room(&f->txq), 10);
	assert_int_equal(f->txq.stats.packets, 5);
	assert_int_equal(f->txq.stats.ring_full + f->txq.stats.bad_length + f->txq.stats.foreign_buffer, 0);
	assert_int_equal(pool_free(f), 35);
	assert_int_equal(e1000e_txq_clean(&f->txq), 0); /* nothing done yet */
	check_buffers(f, NULL, 0);

	assert_int_equal(dev_tx(f, 100), 5);
	assert_int_equal(e1000e_txq_clean(&f->txq), 5);
	assert_int_equal(pool_free(f), 40);
	assert_int_equal(e1000e_txq_room(&f->txq), 15);
	assert_int_equal(f->txq.clean, 5);
	assert_int_equal(f->txq.rs_tail, f->txq.rs_head);
	assert_int_equal(e1000e_txq_clean(&f->txq), 0);
	check_buffers(f, NULL, 0);
}

static void tx_ring_full(void **state)
{
	struct fix *f = fix_new(state, 16, 40);
	struct upci_pkt pkts[20];
	void *bufs[20];

	for (uint32_t k = 0; k < 20; k++) {
		tx_frame(f, &pkts[k], k);
		bufs[k] = pkts[k].buf;
	}
	assert_int_equal(e1000e_txq_burst(&f->txq, pkts, 20), 15);
	for (uint32_t k = 0; k < 20; k++)
		assert_ptr_equal(pkts[k].buf, k < 15 ? NULL : bufs[k]);
	assert_int_equal(f->txq.stats.ring_full, 5);
	assert_int_equal(f->txq.stats.packets, 15);
	assert_int_equal(reg(f, TDT0), 15);
	assert_int_equal(e1000e_txq_room(&f->txq), 0);
	check_buffers(f, pkts, 20);

	/* no room and nothing done: nothing queued, no tail write */
	set_reg(f, TDT0, SENTINEL);
	assert_int_equal(e1000e_txq_burst(&f->txq, pkts + 15, 5), 0);
	assert_int_equal(reg(f, TDT0), SENTINEL);
	assert_int_equal(f->txq.stats.ring_full, 10);
	for (uint32_t k = 15; k < 20; k++)
		assert_ptr_equal(pkts[k].buf, bufs[k]);
	set_reg(f, TDT0, 15);

	/* three sent: the burst's write-back (on its last descriptor) is not there yet, so no room either */
	assert_int_equal(dev_tx(f, 3), 3);
	assert_int_equal(e1000e_txq_burst(&f->txq, pkts + 15, 5), 0);
	assert_int_equal(f->txq.stats.ring_full, 15);
	assert_int_equal(f->txq.clean, 0);

	/* all sent: the burst cleans the 15 itself and queues the 5 (wrapping) */
	assert_int_equal(dev_tx(f, 100), 12);
	assert_int_equal(e1000e_txq_burst(&f->txq, pkts + 15, 5), 5);
	assert_int_equal(f->txq.clean, 15);
	assert_int_equal(reg(f, TDT0), 4); /* wrapped */
	assert_int_equal(pool_free(f), 40 - 20 + 15);
	for (uint32_t k = 15; k < 20; k++)
		assert_null(pkts[k].buf);
	check_buffers(f, NULL, 0);

	assert_int_equal(dev_tx(f, 100), 5);
	assert_int_equal(e1000e_txq_clean(&f->txq), 5);
	assert_int_equal(e1000e_txq_room(&f->txq), 15);
	assert_int_equal(pool_free(f), 40);
	assert_int_equal(f->txq.stats.packets, 20);
	assert_int_equal(f->tx_seq, 20);
	check_buffers(f, NULL, 0);
}

/* A burst completes as a whole, when its last descriptor is written back; bursts complete in order. */
static void tx_partial_clean(void **state)
{
	struct fix *f = fix_new(state, 16, 40);
	struct upci_pkt pkts[6];

	for (uint32_t k = 0; k < 6; k++)
		tx_frame(f, &pkts[k], k);
	assert_int_equal(e1000e_txq_burst(&f->txq, pkts, 3), 3);     /* burst A: 0..2 */
	assert_int_equal(e1000e_txq_burst(&f->txq, pkts + 3, 3), 3); /* burst B: 3..5 */
	assert_int_equal(f->txq.rs_tail - f->txq.rs_head, 2);
	assert_int_equal(dev_tx(f, 2), 2);
	assert_int_equal(e1000e_txq_clean(&f->txq), 0); /* A's last (2) not sent yet */
	f->tx_ring[5].sta = E1000E_TXD_STA_DD;           /* B done out of order: must wait for A */
	assert_int_equal(e1000e_txq_clean(&f->txq), 0);
	f->tx_ring[5].sta = 0;
	assert_int_equal(dev_tx(f, 1), 1);
	assert_int_equal(e1000e_txq_clean(&f->txq), 3);
	assert_int_equal(f->txq.clean, 3);
	assert_int_equal(e1000e_txq_room(&f->txq), 12);
	assert_int_equal(pool_free(f), 40 - 6 + 3);
	for (uint32_t k = 0; k < 6; k++)
		assert_int_equal(tx_in_flight(f, k), k >= 3);
	assert_int_equal(e1000e_txq_clean(&f->txq), 0);
	check_buffers(f, NULL, 0);

	assert_int_equal(dev_tx(f, 100), 3);
	assert_int_equal(e1000e_txq_clean(&f->txq), 3);
	assert_int_equal(pool_free(f), 40);
	assert_int_equal(e1000e_txq_room(&f->txq), 15);
	check_buffers(f, NULL, 0);
}

/* Where cleaning must get to: past every burst, oldest first, whose last descriptor the device has sent. */
static uint32_t tx_expected_clean(const struct fix *f, uint32_t clean, uint32_t head)
{
	uint32_t mask = f->size - 1;

	for (uint32_t r = f->txq.rs_head; r != f->txq.rs_tail; r++) {
		uint32_t last = f->tx_rs[r & mask].last;

		if (((last - clean) & mask) >= ((head - clean) & mask))
			break; /* not sent yet */
		clean = (last + 1) & mask;
	}
	return clean;
}

/*
 * Many rounds: the application queues random numbers of frames and keeps, in order, what did not fit; the
 * device sends random runs; cleaning happens sometimes explicitly, otherwise inside the burst.
 */
static void tx_wrap(struct fix *f, uint32_t frames)
{
	struct upci_pkt *pend = f->pend;
	uint32_t seq = 0, mask = f->size - 1;
	uint64_t ring_full = 0;
	unsigned n = 0, sent;

	while (f->tx_seq < frames) {
		unsigned add = rnd(f, f->size + 3), room, want;
		uint32_t clean, bursts = f->txq.rs_tail;

		for (unsigned a = 0; a < add && pool_free(f) > 0; a++)
			tx_frame(f, &pend[n++], seq++);
		/* the burst cleans first: the bursts the device has sent whole free room */
		clean = tx_expected_clean(f, f->txq.clean, f->tx_head);
		room = f->size - 1 - ((f->txq.tail - clean) & mask);
		want = n < room ? n : room;
		sent = e1000e_txq_burst(&f->txq, pend, n);
		if (sent != want)
			fail_msg("burst of %u with room %u queued %u", n, room, sent);
		ring_full += n - sent;
		assert_int_equal(f->txq.stats.ring_full, ring_full);
		assert_int_equal(f->txq.clean, clean);
		for (unsigned k = 0; k < n; k++)
			assert_true(k < sent ? pend[k].buf == NULL : pend[k].buf != NULL);
		memmove(pend, pend + sent, (n - sent) * sizeof(*pend));
		n -= sent;
		if (sent) {
			assert_int_equal(reg(f, TDT0), f->txq.tail);
			assert_int_equal(f->txq.rs_tail, bursts + 1); /* one write-back asked per burst, on its last */
			assert_int_equal(f->tx_rs[bursts & mask].last, (f->txq.tail + mask) & mask);
		}

		dev_tx(f, rnd(f, f->size + 2));
		if (rnd(f, 3) == 0) {
			uint32_t before = f->txq.clean, after = tx_expected_clean(f, before, f->tx_head);

			assert_int_equal(e1000e_txq_clean(&f->txq), (after - before) & mask);
			assert_int_equal(f->txq.clean, after);
		}
		assert_int_equal(e1000e_txq_room(&f->txq), f->size - 1 - ((f->txq.tail - f->txq.clean) & mask));
		check_buffers(f, pend, n);
	}
	/* drain */
	while (n) {
		sent = e1000e_txq_burst(&f->txq, pend, n);
		memmove(pend, pend + sent, (n - sent) * sizeof(*pend));
		n -= sent;
		dev_tx(f, f->size);
	}
	dev_tx(f, f->size);
	e1000e_txq_clean(&f->txq);
	assert_int_equal(f->tx_seq, seq);
	assert_int_equal(f->txq.stats.packets, seq);
	assert_int_equal(f->txq.stats.bad_length + f->txq.stats.foreign_buffer, 0);
	assert_true(ring_full > 0);
	assert_int_equal(e1000e_txq_room(&f->txq), f->size - 1);
	assert_int_equal(pool_free(f), f->pool.n_bufs);
	check_buffers(f, NULL, 0);
}

static void tx_wrap_around(void **state)
{
	struct fix *f = fix_new(state, 64, 100);

	tx_wrap(f, 10 * 64);
}

static void tx_wrap_around_small_ring(void **state)
{
	struct fix *f = fix_new(state, 8, 12);

	tx_wrap(f, 10 * 8 * 4);
}

/* Refused frames keep their buffers and do not stop the others. */
static void tx_refused_frames(void **state)
{
	struct fix *f = fix_new(state, 16, 40);
	struct upci_pkt pkts[10], orig[10];
	uint8_t *end;
	unsigned good[] = { 0, 2, 5, 9 };

	pattern(f->foreign, BUF_SIZE, 999);
	end = f->pool.base + (size_t)f->pool.n_bufs * BUF_SIZE; /* one past the last buffer */
	tx_frame(f, &pkts[0], 0);
	tx_frame(f, &pkts[1], 100);
	pkts[1].len = 0;
	tx_frame(f, &pkts[2], 1);
	tx_frame(f, &pkts[3], 101);
	pkts[3].len = BUF_SIZE + 1;
	pkts[4] = (struct upci_pkt){ .buf = f->foreign, .pool = &f->pool, .len = 100 };
	tx_frame(f, &pkts[5], 2);
	assert_int_equal(pkts[5].len, BUF_SIZE);
	pkts[6] = (struct upci_pkt){ .buf = (uint8_t *)pkts[1].buf + 64, .pool = &f->pool, .len = 100 }; /* inside one */
	pkts[7] = (struct upci_pkt){ .buf = end, .pool = &f->pool, .len = 100 };
	pkts[8] = (struct upci_pkt){ .buf = NULL, .pool = &f->pool, .len = 60 };
	tx_frame(f, &pkts[9], 3);
	memcpy(orig, pkts, sizeof(pkts));

	assert_int_equal(e1000e_txq_burst(&f->txq, pkts, 10), 4);
	for (unsigned k = 0; k < 10; k++) {
		bool taken = k == 0 || k == 2 || k == 5 || k == 9;

		assert_ptr_equal(pkts[k].buf, taken ? NULL : orig[k].buf);
		assert_int_equal(pkts[k].len, orig[k].len);
	}
	for (unsigned k = 0; k < 4; k++) {
		assert_int_equal(f->tx_ring[k].buffer_addr, iova_of(f, orig[good[k]].buf));
		assert_ptr_equal(tx_buf(f, k), orig[good[k]].buf);
	}
	assert_int_equal(f->txq.tail, 4); /* slot 4 holds nothing */
	assert_int_equal(f->tx_ring[3].cmd, TX_CMD | E1000E_TXD_CMD_RS); /* the last one queued asks, not the last seen */
	assert_int_equal(reg(f, TDT0), 4);
	assert_int_equal(f->txq.stats.bad_length, 2);
	assert_int_equal(f->txq.stats.foreign_buffer, 4);
	assert_int_equal(f->txq.stats.ring_full, 0);
	assert_int_equal(f->txq.stats.packets, 4);
	check_pattern(f->foreign, BUF_SIZE, 999);
	check_buffers(f, pkts, 10);

	assert_int_equal(dev_tx(f, 100), 4);
	assert_int_equal(e1000e_txq_clean(&f->txq), 4);
	/* the caller still owns the refused pool buffers and returns them */
	assert_int_equal(upci_pktpool_put(&f->pool, &pkts[1].buf, 1), 1);
	assert_int_equal(upci_pktpool_put(&f->pool, &pkts[3].buf, 1), 1);
	assert_int_equal(pool_free(f), 40);
	check_buffers(f, NULL, 0);
}

/*
 * Zero-copy forwarding at the ring level: a frame whose buffer belongs to another pool (received on another
 * port of the same IOMMU context) is sent from that pool's IOVA and goes back to that pool, not the queue's
 * usual one; a frame that names no pool, or a pool its buffer is not of, is refused and stays the caller's.
 */
static void tx_buffer_of_second_pool(void **state)
{
	struct fix *f = fix_new(state, 16, 40);
	struct upci_pkt pkts[7], orig[7], fwd[2];
	uint32_t fwd_idx[2];

	add_pool2(f, 8);
	/* two frames "received" elsewhere: packets of pool2, as upci_pktpool_alloc() hands them out */
	assert_int_equal(upci_pktpool_alloc(&f->pool2, fwd, 2), 2);
	assert_ptr_equal(fwd[0].pool, &f->pool2);
	assert_int_equal(upci_pktpool_free_count(&f->pool2), 6);
	for (unsigned k = 0; k < 2; k++)
		fwd_idx[k] = (uint32_t)(((uint8_t *)fwd[k].buf - f->pool2.base) / BUF_SIZE);

	tx_frame(f, &pkts[0], 0);
	pkts[1] = fwd[0];
	pkts[1].len = len_for(1);
	pattern(pkts[1].buf, pkts[1].len, 1);
	tx_frame(f, &pkts[2], 2);
	tx_frame(f, &pkts[3], 100);
	pkts[3].pool = NULL;                    /* no pool named: refused, even though the buffer is good */
	pkts[4] = fwd[1];
	pkts[4].len = 60;
	pkts[4].pool = &f->pool;                /* a pool2 buffer that names the queue's pool: refused */
	tx_frame(f, &pkts[5], 101);
	pkts[5].pool = &f->pool2;               /* a pool buffer that names pool2: refused */
	pkts[6] = (struct upci_pkt){ .buf = f->foreign, .pool = NULL, .len = 60 }; /* no pool, not a pool buffer */
	memcpy(orig, pkts, sizeof(pkts));

	assert_int_equal(e1000e_txq_burst(&f->txq, pkts, 7), 3);
	for (unsigned k = 0; k < 7; k++) {
		assert_ptr_equal(pkts[k].buf, k < 3 ? NULL : orig[k].buf);
		assert_ptr_equal(pkts[k].pool, orig[k].pool); /* refused frames are left as they were */
	}
	assert_int_equal(f->txq.stats.foreign_buffer, 4);
	assert_int_equal(f->txq.stats.bad_length + f->txq.stats.ring_full, 0);
	assert_int_equal(f->txq.stats.packets, 3);
	assert_int_equal(reg(f, TDT0), 3);
	/* descriptor 1 carries the second pool's IOVA; each slot records the pool its buffer goes back to */
	assert_int_equal(f->tx_ring[0].buffer_addr, iova_of(f, orig[0].buf));
	assert_int_equal(f->tx_ring[1].buffer_addr, IOVA_BASE2 + (uint64_t)fwd_idx[0] * BUF_SIZE);
	assert_int_equal(f->tx_ring[2].buffer_addr, iova_of(f, orig[2].buf));
	assert_ptr_equal(f->tx_pools[0], &f->pool);
	assert_ptr_equal(f->tx_pools[1], &f->pool2);
	assert_ptr_equal(f->tx_pools[2], &f->pool);
	assert_int_equal(f->txq.tail, 3);
	assert_ptr_equal(tx_buf(f, 1), fwd[0].buf);
	assert_null(f->tx_rs[0].pool); /* several pools: given back slot by slot */
	check_buffers(f, pkts, 7);

	/* the device sends all three (dev_tx checks each frame's bytes at the descriptor's address) */
	assert_int_equal(dev_tx(f, 100), 3);
	assert_int_equal(e1000e_txq_clean(&f->txq), 3);
	assert_int_equal(f->txq.clean, 3);
	/* the forwarded buffer is back in pool2 (its last free slot), the others in the queue's pool */
	assert_int_equal(upci_pktpool_free_count(&f->pool2), 7);
	assert_int_equal(f->pool2.ring[(atomic_load(&f->pool2.tail) - 1) & f->pool2.mask], fwd_idx[0]);
	assert_int_equal(f->pool2.bad_puts, 0);
	assert_int_equal(pool_free(f), 40 - 2); /* pkts[3] and pkts[5] are still the caller's */
	check_buffers(f, pkts, 7);

	/* the caller gives the refused ones back to the pools they really came from */
	pkts[3].pool = &f->pool;
	pkts[4].pool = &f->pool2;
	pkts[5].pool = &f->pool;
	pkts[6].buf = NULL;
	upci_pkt_free(pkts, 7);
	for (unsigned k = 0; k < 7; k++)
		assert_null(pkts[k].buf);
	assert_int_equal(pool_free(f), 40);
	assert_int_equal(upci_pktpool_free_count(&f->pool2), 8);
	assert_int_equal(f->pool2.bad_puts, 0);
	check_buffers(f, NULL, 0);
}

/* --- ordering on a weakly ordered CPU (arm64) --- */

/* One write barrier since watch(), after every descriptor write and before the tail write (@tail, was @old). */
static void assert_published(const struct fix *f, uint32_t tail, uint32_t old, uint32_t now)
{
	assert_int_equal(bar.wmb, 1);
	assert_memory_equal(bar.rx, f->rx_ring, f->size * sizeof(*f->rx_ring));
	assert_memory_equal(bar.tx, f->tx_ring, f->size * sizeof(*f->tx_ring));
	assert_int_equal(tail == RDT0 ? bar.rdt : bar.tdt, old);
	assert_int_equal(reg(f, tail), now);
}

static void rx_descriptors_published_before_tail(void **state)
{
	struct fix *f = fix_new(state, 16, 40);
	struct upci_pkt pkts[8];

	set_reg(f, RDT0, SENTINEL);
	watch(f);
	fill(f);
	assert_published(f, RDT0, SENTINEL, 15);
	for (uint32_t seq = 0; seq < 5; seq++)
		assert_true(dev_rx_frame(f, seq));
	watch(f);
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 8), 5); /* refills 5 descriptors, then one tail write */
	assert_published(f, RDT0, 15, 4);
}

/* The device wrote descriptors [@from, @from + @n) whole, but the CPU sees past DD only from a read barrier on. */
static void show_late(struct fix *f, uint32_t from, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++) {
		union e1000e_rx_desc *d = &f->rx_ring[(from + k) & (f->size - 1)];

		bar.late_len[(from + k) & (f->size - 1)] = d->wb.length;
		bar.late_hash[(from + k) & (f->size - 1)] = d->wb.rss_hash;
		d->wb.length = 0; /* stale: a frame read from here would be counted bad and dropped */
		d->wb.rss_hash = SENTINEL;
	}
	bar.late_next = from;
	bar.late_end = (from + n) & (f->size - 1);
}

static void rx_writeback_read_after_barrier(void **state)
{
	struct fix *f = fix_new(state, 16, 40);
	struct upci_pkt pkts[8];

	fill(f);
	for (uint32_t seq = 0; seq < 6; seq++)
		assert_true(dev_rx_frame(f, seq));
	watch(f);
	show_late(f, 0, 6);
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 8), 6);
	assert_int_equal(bar.rmb, 6); /* one per descriptor seen done */
	assert_int_equal(f->rxq.stats.bad_length, 0);
	for (uint32_t k = 0; k < 6; k++)
		check_rx_pkt(f, &pkts[k], k);
}

static void tx_descriptors_published_before_tail(void **state)
{
	struct fix *f = fix_new(state, 16, 40);
	struct upci_pkt pkts[5];

	for (uint32_t k = 0; k < 5; k++)
		tx_frame(f, &pkts[k], k);
	watch(f);
	assert_int_equal(e1000e_txq_burst(&f->txq, pkts, 3), 3);
	assert_published(f, TDT0, 0, 3);
	watch(f);
	assert_int_equal(e1000e_txq_burst(&f->txq, pkts + 3, 2), 2);
	assert_published(f, TDT0, 3, 5);
	assert_int_equal(dev_tx(f, 5), 5);
	watch(f);
	assert_int_equal(e1000e_txq_clean(&f->txq), 5);
	assert_int_equal(bar.rmb, 2); /* each burst's DD seen is followed by a read barrier before its buffers go */
}


/* --- the dead-DMA watchdog --- */

#define DEV "0000:01:00.0"
#define STALL E1000E_DMA_STALL_MS

static unsigned lines(const char *text)
{
	unsigned n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* The one line the watchdog logged: names the device, the queue, the likely cause. */
static void assert_one_stall_line(const char *queue)
{
	assert_int_equal(lines(log_text), 1);
	assert_non_null(strstr(log_text, DEV ": "));
	assert_non_null(strstr(log_text, queue));
	assert_non_null(strstr(log_text, "IOMMU translation failure"));
	assert_non_null(strstr(log_text, "DMA does not reach memory"));
}

/* The application queues @n frames on the tx ring. */
static void tx_queue_frames(struct fix *f, unsigned n)
{
	struct upci_pkt pkts[8];

	assert_true(n <= 8);
	for (unsigned i = 0; i < n; i++)
		tx_frame(f, &pkts[i], i);
	assert_int_equal(e1000e_txq_burst(&f->txq, pkts, n), n);
}

/* A device whose DMA goes nowhere: it takes every queued descriptor (TDH = TDT), writes none back. */
static void tx_no_writeback_reported_once(void **state)
{
	struct fix *f = fix_new(state, 16, 40);

	tx_queue_frames(f, 5);
	set_reg(f, TDH0, reg(f, TDT0));
	log_capture_start();
	assert_int_equal(e1000e_txq_watch(&f->txq, DEV, 1000), 0);         /* first seen stuck */
	assert_int_equal(e1000e_txq_watch(&f->txq, DEV, 1000 + STALL - 1), 0); /* not yet the bound */
	assert_string_equal(log_text, "");
	assert_int_equal(f->txq.stats.dma_stall, 0);
	assert_int_equal(e1000e_txq_watch(&f->txq, DEV, 1000 + STALL), 1);
	assert_int_equal(f->txq.stats.dma_stall, 1);
	for (uint64_t t = 1000 + STALL; t < 60000; t += 500) /* still stuck: never said again */
		assert_int_equal(e1000e_txq_watch(&f->txq, DEV, t), 0);
	tx_queue_frames(f, 2); /* more frames behind the stuck ones: the same stall */
	set_reg(f, TDH0, reg(f, TDT0));
	assert_int_equal(e1000e_txq_watch(&f->txq, DEV, 70000), 0);
	assert_int_equal(e1000e_txq_watch(&f->txq, DEV, 70000 + STALL), 0);
	log_capture_stop();
	assert_one_stall_line("tx queue 1 stalled");
	assert_non_null(strstr(log_text, "took 5 of 5 queued descriptors (TDH 5, oldest 0, its burst's RS at 4)"));
	assert_int_equal(f->txq.stats.dma_stall, 1);
	/* After a restart (the rings begin anew) the watchdog may speak again. */
	e1000e_watch_reset(&f->txq.watch, 0);
	log_capture_start();
	assert_int_equal(e1000e_txq_watch(&f->txq, DEV, 80000), 0);
	assert_int_equal(e1000e_txq_watch(&f->txq, DEV, 80000 + STALL), 1);
	log_capture_stop();
	assert_int_equal(lines(log_text), 1);
}

/* Healthy or merely idle queues never report, however long they are watched. */
static void tx_healthy_never_reports(void **state)
{
	struct fix *f = fix_new(state, 16, 40);
	uint64_t t = 0;

	log_capture_start();
	for (; t < 10 * STALL; t += 250) /* nothing queued */
		assert_int_equal(e1000e_txq_watch(&f->txq, DEV, t), 0);
	tx_queue_frames(f, 4); /* one burst: only its last descriptor (3) asks for a write-back */
	for (; t < 20 * STALL; t += 250) /* queued, the device has not taken them (link down, tx off): no DMA fault */
		assert_int_equal(e1000e_txq_watch(&f->txq, DEV, t), 0);
	set_reg(f, TDH0, 2);
	for (; t < 30 * STALL; t += 250) /* the device is inside the burst, short of its RS descriptor */
		assert_int_equal(e1000e_txq_watch(&f->txq, DEV, t), 0);
	set_reg(f, TDH0, 4);
	f->tx_ring[3].sta = E1000E_TXD_STA_DD; /* it sent the burst and wrote it back; nobody cleans it */
	for (; t < 40 * STALL; t += 250)
		assert_int_equal(e1000e_txq_watch(&f->txq, DEV, t), 0);
	assert_int_equal(e1000e_txq_clean(&f->txq), 4);
	for (; t < 50 * STALL; t += 250) /* nothing in flight again */
		assert_int_equal(e1000e_txq_watch(&f->txq, DEV, t), 0);
	/* Slow but moving: one-frame bursts, each written back and cleaned between two checks. */
	for (unsigned i = 4; i < 8; i++, t += STALL + 1) {
		tx_queue_frames(f, 1);
		set_reg(f, TDH0, i + 1);
		assert_int_equal(e1000e_txq_watch(&f->txq, DEV, t), 0);
		f->tx_ring[i].sta = E1000E_TXD_STA_DD;
		assert_int_equal(e1000e_txq_clean(&f->txq), 1);
	}
	/* A TDH the device never could have written (beyond the ring, or past what is queued): not evidence. */
	tx_queue_frames(f, 3);
	set_reg(f, TDH0, 0xffffffffu);
	for (uint64_t end = t + 4 * STALL; t < end; t += 250)
		assert_int_equal(e1000e_txq_watch(&f->txq, DEV, t), 0);
	set_reg(f, TDH0, (f->txq.tail + 2) & 15);
	for (uint64_t end = t + 4 * STALL; t < end; t += 250)
		assert_int_equal(e1000e_txq_watch(&f->txq, DEV, t), 0);
	log_capture_stop();
	assert_string_equal(log_text, "");
	assert_int_equal(f->txq.stats.dma_stall, 0);
}

/*
 * One watchdog check of the rx queue as e1000e_watchdog() makes it: frames "vanish" when GPRC moved since the
 * last check and no rx queue showed a write-back (@other_moved: the port's other queue did).
 */
static int watch_rx(struct fix *f, uint64_t t, uint64_t good, uint64_t *last_good, bool other_moved)
{
	bool moved = e1000e_rxq_moved(&f->rxq) || other_moved, vanish = good > *last_good && !moved;

	*last_good = good;
	return e1000e_rxq_watch(&f->rxq, DEV, t, good, vanish);
}

/*
 * QEMU 7.2.22's e1000e with its DMA dead: descriptor reads return zeros, it skips them as null descriptors to the
 * end of the ring (RDH moves) and counts nothing (GPRC stays). Reported once.
 */
static void rx_head_moves_without_writeback_reported_once(void **state)
{
	struct fix *f = fix_new(state, 16, 40);
	struct upci_pkt pkts[8];
	uint64_t last = 100;

	fill(f);
	e1000e_watch_reset(&f->rxq.watch, 100); /* started with 100 frames counted before */
	set_reg(f, RDH0, reg(f, RDT0));          /* the device took every descriptor; no write-back reached memory */
	log_capture_start();
	assert_int_equal(watch_rx(f, 5000, 100, &last, false), 0);
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 8), 0); /* the application sees nothing */
	assert_int_equal(watch_rx(f, 5000 + STALL - 1, 100, &last, false), 0);
	assert_string_equal(log_text, "");
	assert_int_equal(watch_rx(f, 5000 + STALL, 100, &last, false), 1);
	for (uint64_t t = 5000 + STALL; t < 60000; t += 500)
		assert_int_equal(watch_rx(f, t, 100, &last, false), 0);
	log_capture_stop();
	assert_one_stall_line("rx queue 1 stalled");
	assert_non_null(strstr(log_text, "moved RDH to 15 (next 0) and counted 0 good frames (GPRC)"));
	assert_int_equal(f->rxq.stats.dma_stall, 1);
}

/* A device that counts frames (GPRC moves) while no rx queue ever gets a write-back: reported once. */
static void rx_gprc_moves_without_writeback_reported_once(void **state)
{
	struct fix *f = fix_new(state, 16, 40);
	uint64_t last = 0, good = 0, t = 1000;

	fill(f);
	e1000e_watch_reset(&f->rxq.watch, 0);
	log_capture_start();
	assert_int_equal(watch_rx(f, t, good, &last, false), 0); /* first look: nothing yet */
	for (; t < 1000 + STALL; t += 250) {
		good += 7; /* frames the device counted; RDH stays (the descriptor fetch failed), nothing written back */
		assert_int_equal(watch_rx(f, t, good, &last, false), 0);
	}
	assert_string_equal(log_text, "");
	good += 7;
	assert_int_equal(watch_rx(f, t + 250, good, &last, false), 1);
	for (t += 500; t < 60000; t += 500, good += 7)
		assert_int_equal(watch_rx(f, t, good, &last, false), 0);
	log_capture_stop();
	assert_one_stall_line("rx queue 1 stalled");
	assert_non_null(strstr(log_text, "moved RDH to 0 (next 0) and counted 63 good frames (GPRC)"));
	assert_int_equal(f->rxq.stats.dma_stall, 1);
}

static void rx_healthy_never_reports(void **state)
{
	struct fix *f = fix_new(state, 16, 40);
	struct upci_pkt pkts[8];
	uint64_t t = 0, good = 0, last = 0;

	fill(f);
	e1000e_watch_reset(&f->rxq.watch, 0);
	log_capture_start();
	for (; t < 10 * STALL; t += 250, good += 3) /* frames for the other queue (RSS): GPRC moves, it writes back */
		assert_int_equal(watch_rx(f, t, good, &last, true), 0);
	for (uint32_t seq = 0; seq < 5; seq++)
		assert_true(dev_rx_frame(f, seq));
	set_reg(f, RDH0, f->rx_head);
	good += 5;
	for (; t < 20 * STALL; t += 250) /* received and written back; the application does not poll */
		assert_int_equal(watch_rx(f, t, good, &last, false), 0);
	assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 8), 5);
	for (unsigned i = 0; i < 5; i++)
		hold(f, pkts[i].buf);
	for (; t < 30 * STALL; t += 250) /* idle again */
		assert_int_equal(watch_rx(f, t, good, &last, false), 0);
	/* Slow but moving: a frame written back and taken between every two checks. */
	for (uint32_t seq = 5; seq < 9; seq++, t += STALL + 1) {
		assert_true(dev_rx_frame(f, seq));
		set_reg(f, RDH0, f->rx_head);
		assert_int_equal(watch_rx(f, t, ++good, &last, false), 0);
		assert_int_equal(e1000e_rxq_burst(&f->rxq, pkts, 8), 1);
		hold(f, pkts[0].buf);
	}
	/* An RDH beyond the ring (untrusted) is not evidence. */
	set_reg(f, RDH0, 0x10000u);
	for (uint64_t end = t + 10 * STALL; t < end; t += 250)
		assert_int_equal(watch_rx(f, t, good, &last, false), 0);
	log_capture_stop();
	assert_string_equal(log_text, "");
	assert_int_equal(f->rxq.stats.dma_stall, 0);
}

#define FIX_TEST(f) cmocka_unit_test_teardown(f, teardown)

int main(void)
{
	const struct CMUnitTest rx[] = {
		FIX_TEST(rx_fill_gives_all_but_one),
		FIX_TEST(rx_fill_short_pool),
		FIX_TEST(rx_empty_ring),
		FIX_TEST(rx_frames),
		FIX_TEST(rx_wrap_around),
		FIX_TEST(rx_wrap_around_small_ring),
		FIX_TEST(rx_malformed_writebacks),
		FIX_TEST(rx_malformed_mixed_in_burst),
		FIX_TEST(rx_pool_empty),
		FIX_TEST(rx_ignores_writebacks_past_tail),
		FIX_TEST(rx_ready_follows_dd),
		FIX_TEST(rx_descriptors_published_before_tail),
		FIX_TEST(rx_writeback_read_after_barrier),
		FIX_TEST(rx_head_moves_without_writeback_reported_once),
		FIX_TEST(rx_gprc_moves_without_writeback_reported_once),
		FIX_TEST(rx_healthy_never_reports),
	};
	const struct CMUnitTest tx[] = {
		FIX_TEST(tx_burst_fills_descriptors),
		FIX_TEST(tx_ring_full),
		FIX_TEST(tx_partial_clean),
		FIX_TEST(tx_wrap_around),
		FIX_TEST(tx_wrap_around_small_ring),
		FIX_TEST(tx_refused_frames),
		FIX_TEST(tx_buffer_of_second_pool),
		FIX_TEST(tx_descriptors_published_before_tail),
		FIX_TEST(tx_no_writeback_reported_once),
		FIX_TEST(tx_healthy_never_reports),
	};
	int failed = cmocka_run_group_tests_name("e1000e_rx_ring", rx, NULL, NULL);

	return failed + cmocka_run_group_tests_name("e1000e_tx_ring", tx, NULL, NULL);
}
