/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz harness for the 82574L descriptor rings (drivers/net/e1000e/e1000e_ring.c, compiled in as
 * test/unit/test_e1000e_ring.c does) against a hostile device: the input is a sequence of device and
 * application actions over memory-backed rx/tx rings, a memory register file and a hand-built pool:
 * rx write-backs to ANY descriptor (status, error bits, length, hash, or raw bytes), tx DD write-backs to any
 * descriptor, rx bursts, the application freeing or transmitting what it received (with good, zero, oversized
 * lengths and foreign buffers), tx cleans.
 *
 * Invariants after every step (abort() when broken):
 * - every buffer is in exactly one place: the pool's free ring, an rx ring slot, a tx ring slot in flight,
 *   or the application (delivered and not yet given back); nothing is lost or duplicated;
 * - a delivered frame has 0 < len <= the buffer size, a buffer of the pool, the queue's index; only
 *   descriptors the device wrote done, with EOP and no frame error, are delivered;
 * - the rx ring: RDT names its tail; [next, tail) hold buffers, at least one descriptor is a hole; a burst
 *   delivers only from [next, tail) (what the device was given), each frame from its own slot's buffer;
 *   after the fill every descriptor but one points at the IOVA of the buffer its slot holds;
 * - tx: refused frames stay the caller's; the ring never holds more than size - 1; TDT names the tail; each
 *   in-flight slot names the pool and an index inside it; one RS descriptor per burst, the burst's last;
 * - the counters add up: rx packets = frames delivered, tx packets = frames queued.
 */
#include <stdbool.h>
#include <stdint.h>

#include "fuzz_common.h"

#define upci_dma_rmb() __asm__ __volatile__("" ::: "memory")
#define upci_dma_wmb() __asm__ __volatile__("" ::: "memory")
#include "drivers/net/e1000e/e1000e_ring.c"

#define BUF_SIZE 2048u
#define IOVA_BASE 0x100000000ull
#define REGS_SIZE 0x8000u
#define RDT0 0x2818u
#define TDT0 0x3818u
#define RDH0 0x2810u
#define TDH0 0x3810u
#define MAX_BUFS 96u
#define MAX_RING 64u

struct world {
	struct upci_pktpool pool;
	struct upci_bar bar;
	uint8_t *regs;
	uint32_t size;
	union e1000e_rx_desc *rx_ring;
	struct e1000e_tx_desc *tx_ring;
	void **rx_bufs;
	uint32_t *tx_idx;
	struct e1000e_tx_burst *tx_rs;
	struct upci_pktpool **tx_pools;
	struct e1000e_rxq rxq;
	struct e1000e_txq txq;
	void *held[MAX_BUFS];           /* delivered, the application's */
	unsigned n_held;
	uint64_t delivered, queued;
	uint8_t *foreign;
	uint64_t now_ms;                /* the watchdog's clock */
	unsigned watch_reports;         /* queues the watchdog reported (each at most once) */
};

static uint32_t reg(const struct world *w, uint32_t off)
{
	uint32_t v;

	memcpy(&v, w->regs + off, 4);
	return v;
}

static unsigned buf_index(const struct world *w, const void *buf)
{
	uint64_t off = (uint64_t)((const uint8_t *)buf - w->pool.base);

	CHECK(upci_pktpool_owns(&w->pool, buf), "%p is not a buffer of the pool", buf);
	return (unsigned)(off / w->pool.buf_size);
}

static void count(const struct world *w, uint8_t *seen, const void *buf, const char *where)
{
	unsigned i = buf_index(w, buf);

	CHECK(!seen[i], "buffer %u is in two places (the second: %s)", i, where);
	seen[i] = 1;
}

static void check_world(const struct world *w)
{
	uint8_t seen[MAX_BUFS] = { 0 };
	uint32_t head = atomic_load(&w->pool.head), tail = atomic_load(&w->pool.tail), rdt, mask = w->size - 1;
	uint32_t inflight = (w->txq.tail - w->txq.clean) & mask;

	CHECK(tail - head <= w->pool.n_bufs, "pool ring holds %u of %u", tail - head, w->pool.n_bufs);
	for (uint32_t p = head; p != tail; p++)
		count(w, seen, w->pool.base + (uint64_t)w->pool.ring[p & w->pool.mask] * BUF_SIZE, "pool");
	rdt = reg(w, RDT0);
	CHECK(rdt < w->size && rdt == w->rxq.tail && w->rxq.next < w->size, "RDT %u, tail %u, next %u", rdt,
	      w->rxq.tail, w->rxq.next);
	for (uint32_t i = w->rxq.next; i != w->rxq.tail; i = (i + 1) & mask)
		count(w, seen, w->rx_bufs[i], "rx ring"); /* at least one hole: tail == next is the empty ring */
	CHECK(reg(w, TDT0) == w->txq.tail || w->txq.stats.packets == 0, "TDT %u, tail %u", reg(w, TDT0),
	      w->txq.tail);
	CHECK(inflight <= w->size - 1 && e1000e_txq_room(&w->txq) == w->size - 1 - inflight, "tx in flight %u",
	      inflight);
	for (uint32_t k = 0; k < inflight; k++) {
		uint32_t i = (w->txq.clean + k) & mask;

		CHECK(w->tx_pools[i] == &w->pool && w->tx_idx[i] < w->pool.n_bufs, "tx slot %u: pool, index %u", i,
		      w->tx_idx[i]);
		count(w, seen, w->pool.base + (uint64_t)w->tx_idx[i] * BUF_SIZE, "tx ring");
	}
	/* the bursts in flight: in order, each ending at an RS descriptor, the last one at the tail */
	CHECK(w->txq.rs_tail - w->txq.rs_head <= inflight, "%u bursts for %u descriptors",
	      w->txq.rs_tail - w->txq.rs_head, inflight);
	for (uint32_t r = w->txq.rs_head, at = w->txq.clean; r != w->txq.rs_tail; r++) {
		uint32_t last = w->txq.rs[r & mask].last;

		CHECK(((last - at) & mask) < ((w->txq.tail - at) & mask), "burst ends at %u, outside the flight", last);
		CHECK(w->txq.rs[r & mask].pool == NULL || w->txq.rs[r & mask].pool == &w->pool, "burst pool");
		at = (last + 1) & mask;
		if (r + 1 == w->txq.rs_tail)
			CHECK(at == w->txq.tail, "the last burst ends at %u, the tail is %u", at, w->txq.tail);
	}
	for (unsigned h = 0; h < w->n_held; h++)
		count(w, seen, w->held[h], "application");
	for (unsigned i = 0; i < w->pool.n_bufs; i++)
		CHECK(seen[i], "buffer %u is nowhere (lost)", i);
	CHECK(w->rxq.stats.packets == w->delivered && w->txq.stats.packets == w->queued, "counters rx %llu/%llu "
	      "tx %llu/%llu", (unsigned long long)w->rxq.stats.packets, (unsigned long long)w->delivered,
	      (unsigned long long)w->txq.stats.packets, (unsigned long long)w->queued);
	CHECK(w->pool.bad_puts == 0, "%llu bad puts", (unsigned long long)w->pool.bad_puts);
}

static void world_free(struct world *w)
{
	free(w->regs);
	free(w->pool.base);
	free(w->pool.ring);
	free(w->rx_ring);
	free(w->tx_ring);
	free(w->rx_bufs);
	free(w->tx_idx);
	free(w->tx_rs);
	free(w->tx_pools);
	free(w->foreign);
}

static void rx_burst(struct world *w, unsigned max)
{
	struct upci_pkt pkts[40];
	union e1000e_rx_desc before[MAX_RING];
	void *slot_buf[MAX_RING];
	uint32_t start = w->rxq.next, owned = (w->rxq.tail - start) & (w->size - 1);
	unsigned got;

	memcpy(before, w->rx_ring, w->size * sizeof(before[0]));
	memcpy(slot_buf, w->rx_bufs, w->size * sizeof(void *));
	got = e1000e_rxq_burst(&w->rxq, pkts, max);
	CHECK(got <= max, "%u frames for max %u", got, max);
	/* Delivered frames come, in order, from done descriptors from @start with EOP, no error, a fitting length. */
	for (unsigned p = 0, i = start, steps = 0; p < got; steps++, i = (i + 1) & (w->size - 1)) {
		uint32_t st = before[i].wb.status_error;

		CHECK(steps < owned && (st & E1000E_RXD_STAT_DD), "frame %u from a descriptor not done or not given", p);
		if (!(st & E1000E_RXD_STAT_EOP) || (st & E1000E_RXDEXT_ERR_FRAME) || !before[i].wb.length ||
		    before[i].wb.length > BUF_SIZE)
			continue; /* dropped: the next frame is further on */
		CHECK(slot_buf[i] == pkts[p].buf, "frame %u: not its slot's buffer", p);
		CHECK(pkts[p].len == before[i].wb.length && pkts[p].len > 0 && pkts[p].len <= BUF_SIZE &&
		      pkts[p].pool == &w->pool && pkts[p].queue == w->rxq.index &&
		      pkts[p].rss_hash == before[i].wb.rss_hash, "frame %u: len %u", p, pkts[p].len);
		p++;
	}
	for (unsigned p = 0; p < got; p++) {
		CHECK(pkts[p].len > 0 && pkts[p].len <= BUF_SIZE, "delivered length %u", pkts[p].len);
		buf_index(w, pkts[p].buf);
		CHECK(w->n_held < MAX_BUFS, "more frames held than buffers");
		w->held[w->n_held++] = pkts[p].buf;
	}
	w->delivered += got;
}

static void app_free(struct world *w, unsigned n)
{
	while (n-- && w->n_held) {
		void *b = w->held[--w->n_held];

		CHECK(upci_pktpool_put(&w->pool, &b, 1) == 1, "pool refused its own buffer");
	}
}

static void app_tx(struct world *w, struct input *in, unsigned n)
{
	struct upci_pkt pkts[40];
	unsigned m = 0, sent, taken = 0;

	for (; m < n && m < 40; m++) {
		uint8_t l = take8(in);

		if (l == 0xfd) { /* a buffer that is not the pool's: must be refused */
			pkts[m] = (struct upci_pkt){ .buf = w->foreign, .pool = &w->pool, .len = 60 };
			continue;
		}
		if (!w->n_held)
			break;
		pkts[m] = (struct upci_pkt){ .buf = w->held[--w->n_held], .pool = &w->pool,
					     .len = l == 0xff ? 0 : l == 0xfe ? BUF_SIZE + 1 : (uint16_t)(l * 8 + 1) };
	}
	sent = e1000e_txq_burst(&w->txq, pkts, m);
	for (unsigned i = 0; i < m; i++) {
		if (!pkts[i].buf) {
			taken++;
			continue;
		}
		if (pkts[i].buf != w->foreign)
			w->held[w->n_held++] = pkts[i].buf; /* refused or no room: still ours */
	}
	CHECK(taken == sent, "%u frames taken, %u reported sent", taken, sent);
	w->queued += sent;
}

/* Watchdog checks with the device's heads set to anything: each queue is reported at most once, counted once. */
static void watch(struct world *w, struct input *in, unsigned step_s)
{
	upci_bar_write32(&w->bar, RDH0, take32(in));
	upci_bar_write32(&w->bar, TDH0, take32(in));
	w->now_ms += (uint64_t)step_s * 1000 + take8(in);
	w->watch_reports += (unsigned)e1000e_rxq_watch(&w->rxq, "fuzz", w->now_ms, w->now_ms / 7, step_s & 1);
	w->watch_reports += (unsigned)e1000e_txq_watch(&w->txq, "fuzz", w->now_ms);
	CHECK(w->watch_reports <= 2 && w->rxq.stats.dma_stall <= 1 && w->txq.stats.dma_stall <= 1 &&
	      w->rxq.stats.dma_stall + w->txq.stats.dma_stall == w->watch_reports,
	      "watchdog: %u reports, stalls %llu rx %llu tx", w->watch_reports,
	      (unsigned long long)w->rxq.stats.dma_stall, (unsigned long long)w->txq.stats.dma_stall);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct world w;
	uint8_t c = take8(&in);
	uint32_t n_bufs, cap = 1;

	memset(&w, 0, sizeof(w));
	w.size = 4u << (c & 3);                       /* 4..32 descriptors */
	n_bufs = w.size + (take8(&in) % (MAX_BUFS - 32 + 1)); /* enough to fill the ring, and some */
	while (cap < n_bufs)
		cap <<= 1;
	w.regs = calloc(1, REGS_SIZE);
	w.bar = (struct upci_bar){ .base = w.regs, .size = REGS_SIZE, .n_pieces = 1, .lo = { 0 }, .hi = { REGS_SIZE } };
	w.pool.base = aligned_alloc(64, (size_t)n_bufs * BUF_SIZE);
	w.pool.iova_base = IOVA_BASE;
	w.pool.buf_size = BUF_SIZE;
	w.pool.n_bufs = n_bufs;
	w.pool.mask = cap - 1;
	w.pool.buf_shift = c & 4 ? __builtin_ctz(BUF_SIZE) : 0; /* both ways to find a buffer's index */
	w.pool.ring = calloc(cap, sizeof(uint32_t));
	for (uint32_t i = 0; i < n_bufs; i++)
		w.pool.ring[i] = i;
	atomic_store(&w.pool.head, 0);
	atomic_store(&w.pool.tail, n_bufs);
	atomic_store(&w.pool.refs, 1);
	/* Exact sizes: AddressSanitizer sees any access past a ring's end. */
	w.rx_ring = aligned_alloc(16, w.size * sizeof(*w.rx_ring));
	w.tx_ring = aligned_alloc(16, w.size * sizeof(*w.tx_ring));
	memset(w.rx_ring, 0, w.size * sizeof(*w.rx_ring));
	memset(w.tx_ring, 0, w.size * sizeof(*w.tx_ring));
	w.rx_bufs = calloc(w.size, sizeof(void *));
	w.tx_idx = calloc(w.size, sizeof(*w.tx_idx));
	w.tx_rs = calloc(w.size, sizeof(*w.tx_rs));
	w.tx_pools = calloc(w.size, sizeof(*w.tx_pools));
	w.foreign = aligned_alloc(64, BUF_SIZE);
	w.rxq = (struct e1000e_rxq){ .ring = w.rx_ring, .ring_iova = 0x200000000ull, .size = w.size,
				     .bufs = w.rx_bufs, .pool = &w.pool, .regs = &w.bar, .rdt_reg = RDT0, .rdh_reg = RDH0, .index = 1 };
	w.txq = (struct e1000e_txq){ .ring = w.tx_ring, .ring_iova = 0x300000000ull, .size = w.size,
				     .idx = w.tx_idx, .rs = w.tx_rs, .pools = w.tx_pools, .regs = &w.bar, .tdt_reg = TDT0,
				     .tdh_reg = TDH0,
				     .index = 1 };
	CHECK(e1000e_rxq_fill(&w.rxq) == 0, "fill with %u buffers for %u descriptors", n_bufs, w.size);
	for (uint32_t i = 0; i + 1 < w.size; i++)
		CHECK(w.rx_ring[i].read.buffer_addr == upci_pktpool_iova(&w.pool, w.rx_bufs[i]), "rx slot %u address", i);
	check_world(&w);
	/* Actions: the low 3 bits pick one, the rest is its argument. */
	while (in.left) {
		uint8_t a = take8(&in);
		unsigned arg = a >> 3;

		switch (a & 7) {
		case 0: { /* the device writes back rx descriptor @i: done, EOP, errors, length, hash */
			uint32_t i = take8(&in) & (w.size - 1);
			uint8_t s = take8(&in);
			union e1000e_rx_desc *d = &w.rx_ring[i];

			d->wb.status_error = (s & 1 ? E1000E_RXD_STAT_DD : 0) | (s & 2 ? E1000E_RXD_STAT_EOP : 0) |
					     (s & 4 ? 1u << (24 + (take8(&in) & 7)) : 0) | (s & 8 ? take32(&in) : 0);
			d->wb.length = s & 0x10 ? take16(&in) : (uint16_t)(64 + (s >> 5) * 200);
			d->wb.rss_hash = take32(&in);
			d->wb.mrq = 0;
			break;
		}
		case 1: { /* raw bytes over a whole rx descriptor */
			uint32_t i = take8(&in) & (w.size - 1);

			take_bytes(&in, &w.rx_ring[i], sizeof(w.rx_ring[i]));
			break;
		}
		case 2:
			rx_burst(&w, arg + 1);
			break;
		case 3:
			app_free(&w, arg + 1);
			break;
		case 4:
			app_tx(&w, &in, arg + 1);
			break;
		case 5: { /* the device writes DD (or anything) into tx descriptor @i */
			uint32_t i = take8(&in) & (w.size - 1);

			w.tx_ring[i].sta = arg & 1 ? take8(&in) : E1000E_TXD_STA_DD;
			break;
		}
		case 6:
			if (arg & 1) { /* the watchdog, over hostile heads and a clock that jumps ahead */
				watch(&w, &in, arg >> 1);
				break;
			}
			e1000e_txq_clean(&w.txq);
			break;
		default: { /* the device completes every tx descriptor from its head up to TDT */
			for (uint32_t i = w.txq.clean; i != w.txq.tail; i = (i + 1) & (w.size - 1))
				w.tx_ring[i].sta |= E1000E_TXD_STA_DD;
			break;
		}
		}
		check_world(&w);
	}
	world_free(&w);
	return 0;
}
