/* SPDX-License-Identifier: BSD-3-Clause */
/* 82574L rx/tx descriptor rings: refill, receive, transmit, completion. No syscalls, locks or allocation. */
#include <errno.h>
#include <string.h>

#include "e1000e_ring.h"
#include "upci/log.h"

/*
 * Descriptor memory is shared with the device. Publishing: every descriptor write comes before the tail
 * write, which upci_bar_write32() precedes with upci_dma_wmb(). Consuming: a descriptor seen done (DD) is
 * followed by upci_dma_rmb() before anything else of it, or of its buffer, is read (Linux e1000e does both).
 * Only descriptors the driver handed over are ever read back: a device that writes DD elsewhere is ignored.
 */

enum { RX_REFILL_MAX = 32 };

/* Holes: descriptors without a buffer ([tail, next); all of them when tail == next). */
static uint32_t rx_holes(const struct e1000e_rxq *q)
{
	return q->size - ((q->tail - q->next) & (q->size - 1));
}

/* Give descriptors [at, at + n) (no wrap) fresh buffers straight from the pool's free ring. Return: how many.
 * The pool's and the queue's fields are read once into locals: stores into the rings may alias them. */
static uint32_t rx_give(struct e1000e_rxq *q, uint32_t at, uint32_t n)
{
	struct upci_pktpool *p = q->pool;
	uint8_t *base = p->base;
	uint64_t iova = p->iova_base;
	const uint32_t *free_ring = p->ring;
	uint32_t pmask = p->mask, buf_size = p->buf_size, head;
	union e1000e_rx_desc *ring = q->ring + at;
	void **bufs = q->bufs + at;

	n = upci_pktpool_get_begin(p, n, &head);
	for (uint32_t k = 0; k < n; k++) {
		uint64_t off = (uint64_t)free_ring[(head + k) & pmask] * buf_size;

		bufs[k] = base + off;
		ring[k].read.buffer_addr = iova + off;
		ring[k].read.reserved = 0; /* clears the write-back status (DD) too */
	}
	upci_pktpool_get_end(p, head, n);
	return n;
}

/* Fill the holes but one, in at most two pieces (the ring may wrap). Return: descriptors given. */
static uint32_t rx_refill(struct e1000e_rxq *q)
{
	uint32_t mask = q->size - 1, want = rx_holes(q) - 1, given = 0;

	while (given < want) {
		uint32_t at = q->tail, chunk = want - given < q->size - at ? want - given : q->size - at;
		uint32_t got = rx_give(q, at, chunk);

		q->tail = (at + got) & mask;
		given += got;
		if (got < chunk) {
			q->stats.no_buffer += !q->starved; /* once per shortage: the ring runs short until buffers return */
			q->starved = true;
			return given;
		}
	}
	q->starved = false;
	return given;
}

int e1000e_rxq_fill(struct e1000e_rxq *q)
{
	q->refill_batch = q->size / 4 < RX_REFILL_MAX ? q->size / 4 : RX_REFILL_MAX;
	memset(q->bufs, 0, q->size * sizeof(*q->bufs));
	memset(q->ring, 0, q->size * sizeof(*q->ring));
	q->next = q->tail = 0;
	q->starved = true; /* a short fill is an error of its own (-ENOMEM), not a shortage to count */
	if (rx_refill(q) != q->size - 1) { /* all but one: RDH == RDT means "no descriptor for the device" */
		e1000e_rxq_release(q);
		return -ENOMEM;
	}
	q->rdt = upci_bar_reg32(q->regs, q->rdt_reg);
	upci_reg_write32(q->rdt, q->regs, q->rdt_reg, q->tail);
	return 0;
}

void e1000e_rxq_release(struct e1000e_rxq *q)
{
	for (uint32_t i = q->next; q->bufs && i != q->tail; i = (i + 1) & (q->size - 1))
		upci_pktpool_put(q->pool, &q->bufs[i], 1);
	q->next = q->tail = 0;
}

void e1000e_rxq_top_up(struct e1000e_rxq *q)
{
	if (rx_holes(q) > 1 && rx_refill(q))
		upci_reg_write32(q->rdt, q->regs, q->rdt_reg, q->tail);
}

int e1000e_rxq_ready(const struct e1000e_rxq *q)
{
	const volatile union e1000e_rx_desc *d = &q->ring[q->next];

	return q->next != q->tail && (d->wb.status_error & E1000E_RXD_STAT_DD) != 0;
}

/* The write-back of a done descriptor that is not a deliverable frame: count why, give its buffer back.
 * Kept out of line: the loop that calls it stays small. */
__attribute__((noinline))
static void rx_drop(struct e1000e_rxq *q, uint32_t i, uint32_t status)
{
	if ((status & (E1000E_RXD_STAT_EOP | E1000E_RXDEXT_ERR_FRAME)) != E1000E_RXD_STAT_EOP)
		q->stats.bad_status++; /* our buffers hold any legal frame: no EOP means a malformed write-back */
	else
		q->stats.bad_length++; /* 0, or beyond the buffer */
	upci_pktpool_put(q->pool, &q->bufs[i], 1);
}

/*
 * Take the done descriptors of [*@at, @end) (no wrap) into [@p, @p_end). Dropped write-backs take no packet
 * slot. Return: past the last packet filled; *@at moves past every descriptor taken (delivered or dropped),
 * stopping at the first one not done or when the packets are full.
 */
static inline struct upci_pkt *rx_run(struct e1000e_rxq *q, uint32_t *at, uint32_t end, struct upci_pkt *p,
				      const struct upci_pkt *p_end)
{
	const uint32_t good = E1000E_RXD_STAT_DD | E1000E_RXD_STAT_EOP;
	const uint32_t checked = good | E1000E_RXDEXT_ERR_FRAME;
	volatile union e1000e_rx_desc *d = q->ring + *at, *d_end = q->ring + end;
	void **buf = q->bufs + *at;
	struct upci_pktpool *pool = q->pool;
	uint32_t buf_size = pool->buf_size;
	uint16_t queue = q->index;
	/* one packet slot per descriptor; a dropped write-back gives its slot to one more descriptor */
	volatile union e1000e_rx_desc *d_stop = (uint64_t)(p_end - p) < end - *at ? d + (p_end - p) : d_end;

	for (; d < d_stop; d++, buf++) {
		uint32_t status = d->wb.status_error;
		uint16_t len;

		if (__builtin_expect((status & checked) != good, 0)) {
			if (!(status & E1000E_RXD_STAT_DD))
				break; /* not done yet */
			upci_dma_rmb();
			rx_drop(q, (uint32_t)(d - q->ring), status); /* done, but an error or not a whole frame */
			d_stop += d_stop < d_end;
			continue;
		}
		upci_dma_rmb(); /* the rest of the write-back is valid only once DD is seen */
		len = d->wb.length;
		if (__builtin_expect((uint32_t)len - 1 >= buf_size, 0)) { /* untrusted: 0 < len <= the buffer */
			rx_drop(q, (uint32_t)(d - q->ring), status);
			d_stop += d_stop < d_end;
			continue;
		}
		p->buf = *buf;
		p->pool = pool;
		p->len = len;
		p->queue = queue;
		p->rss_hash = d->wb.rss_hash;
		p++;
	}
	*at = (uint32_t)(d - q->ring);
	return p;
}

unsigned e1000e_rxq_burst(struct e1000e_rxq *q, struct upci_pkt *pkts, unsigned max)
{
	/* Never past RDT: what lies beyond was not handed to the device. */
	uint32_t mask = q->size - 1, i = q->next, end = i + ((q->tail - i) & mask);
	struct upci_pkt *p;

	/* In at most two runs without wrap: the descriptor index needs no mask per packet. */
	p = rx_run(q, &i, end < q->size ? end : q->size, pkts, pkts + max);
	if (end > q->size && i == q->size) {
		i = 0;
		p = rx_run(q, &i, end - q->size, p, pkts + max);
	}
	q->next = i & mask;
	q->stats.packets += (uint64_t)(p - pkts);
	if (rx_holes(q) > q->refill_batch && rx_refill(q))
		upci_reg_write32(q->rdt, q->regs, q->rdt_reg, q->tail); /* one tail write per refill */
	return (unsigned)(p - pkts);
}

uint32_t e1000e_txq_room(const struct e1000e_txq *q)
{
	return q->size - 1 - ((q->tail - q->clean) & (q->size - 1));
}

/* Give [from, to) (no wrap) back to their pools: one free-ring update per run of the same pool. */
static void tx_give_back(struct e1000e_txq *q, uint32_t from, uint32_t to)
{
	while (from < to) {
		struct upci_pktpool *pool = q->pools[from];
		uint32_t tail, room = upci_pktpool_put_begin(pool, &tail), k = 0;

		for (; from < to && q->pools[from] == pool && k < room; from++, k++)
			upci_pktpool_put_slot(pool, tail + k, q->idx[from]);
		upci_pktpool_put_end(pool, tail, k);
		if (k == room && from < to && q->pools[from] == pool) {
			pool->bad_puts++; /* no room: given back twice (an application bug); dropped, counted */
			from++;
		}
	}
}

/* Give [from, to) (no wrap), all of @pool's, back in one update. */
static void tx_give_back_one_pool(struct e1000e_txq *q, struct upci_pktpool *pool, uint32_t from, uint32_t to)
{
	uint32_t tail, room = upci_pktpool_put_begin(pool, &tail), n = to - from, first;
	uint32_t *free_ring = pool->ring, pmask = pool->mask;
	const uint32_t *idx = q->idx + from;

	if (n > room) {
		pool->bad_puts += n - room; /* given back twice (an application bug): dropped, counted */
		n = room;
	}
	first = (pmask + 1) - (tail & pmask); /* free-ring slots before it wraps */
	if (first > n)
		first = n;
	memcpy(&free_ring[tail & pmask], idx, first * sizeof(*idx));
	memcpy(free_ring, idx + first, (n - first) * sizeof(*idx));
	upci_pktpool_put_end(pool, tail, n);
}

/* A completed burst [from, to) (no wrap). */
static void tx_complete(struct e1000e_txq *q, const struct e1000e_tx_burst *b, uint32_t from, uint32_t to)
{
	if (b->pool)
		tx_give_back_one_pool(q, b->pool, from, to);
	else
		tx_give_back(q, from, to);
}

unsigned e1000e_txq_clean(struct e1000e_txq *q)
{
	uint32_t mask = q->size - 1;
	unsigned done = 0;

	while (q->rs_head != q->rs_tail) {
		const struct e1000e_tx_burst *b = &q->rs[q->rs_head & mask];
		uint32_t end = (b->last + 1) & mask;
		volatile struct e1000e_tx_desc *d = &q->ring[b->last];

		if (!(d->sta & E1000E_TXD_STA_DD))
			break;
		upci_dma_rmb(); /* the device is done with the burst's buffers only once DD is seen */
		if (end > q->clean) {
			tx_complete(q, b, q->clean, end);
		} else { /* the burst wraps */
			tx_complete(q, b, q->clean, q->size);
			tx_complete(q, b, 0, end);
		}
		done += (end - q->clean) & mask;
		q->clean = end;
		q->rs_head++;
	}
	return done;
}

void e1000e_txq_release(struct e1000e_txq *q)
{
	for (uint32_t i = q->clean; q->pools && i != q->tail; i = (i + 1) & (q->size - 1))
		upci_pktpool_put_index(q->pools[i], &q->idx[i], 1);
	q->tail = q->clean = q->rs_head = q->rs_tail = 0;
}

/* What the tx loop keeps of the pool of the frames it is queueing (most bursts name a single pool). */
struct tx_pool_view {
	struct upci_pktpool *pool;
	uintptr_t base;
	uint64_t bytes;      /* n_bufs * buf_size */
	uint64_t iova_base;
	uint64_t align_mask; /* buf_size - 1 when buf_size is a power of two; else 0 (divide) */
	uint32_t buf_size, shift;
};

static void tx_view(struct tx_pool_view *v, struct upci_pktpool *pool)
{
	*v = (struct tx_pool_view){ .pool = pool, .base = (uintptr_t)pool->base,
				    .bytes = (uint64_t)pool->n_bufs * pool->buf_size, .iova_base = pool->iova_base,
				    .align_mask = pool->buf_shift ? pool->buf_size - 1 : 0, .buf_size = pool->buf_size,
				    .shift = pool->buf_shift };
}

/* Is @buf the start of one of the viewed pool's buffers? Then *@idx is its index and *@off its offset. */
static inline bool tx_view_index(const struct tx_pool_view *v, const void *buf, uint32_t *idx, uint64_t *off)
{
	uint64_t o = (uint64_t)((uintptr_t)buf - v->base); /* wraps for NULL or buf < base: refused */

	*off = o;
	if (o >= v->bytes)
		return false;
	if (__builtin_expect(v->align_mask != 0, 1)) {
		*idx = (uint32_t)(o >> v->shift);
		return !(o & v->align_mask);
	}
	*idx = (uint32_t)(o / v->buf_size);
	return !(o % v->buf_size);
}

unsigned e1000e_txq_burst(struct e1000e_txq *q, struct upci_pkt *pkts, unsigned n)
{
	const uint64_t cmd = (uint64_t)(E1000E_TXD_CMD_EOP | E1000E_TXD_CMD_IFCS) << E1000E_TXD_UPPER_CMD_SHIFT;
	uint32_t mask = q->size - 1, tail, stop, sent;
	struct e1000e_tx_desc *ring = q->ring;
	uint32_t *idx_of = q->idx;
	struct upci_pktpool **pool_of = q->pools;
	struct tx_pool_view v = { .pool = NULL };
	bool mixed = false; /* the view changed pool: the burst's buffers may have several */

	e1000e_txq_clean(q);
	tail = q->tail;
	stop = (tail + e1000e_txq_room(q)) & mask; /* the ring is full when tail gets there */
	for (struct upci_pkt *p = pkts, *end = pkts + n; p < end; p++) {
		struct upci_pktpool *pool = p->pool;
		uint16_t len = p->len;
		uint64_t off;
		uint32_t idx;

		if (__builtin_expect(pool != v.pool, 0)) {
			if (!pool) {
				q->stats.foreign_buffer++;
				continue; /* refused: stays the caller's, counted */
			}
			mixed |= v.pool != NULL;
			tx_view(&v, pool);
		}
		if (!tx_view_index(&v, p->buf, &idx, &off)) {
			q->stats.foreign_buffer++;
			continue;
		}
		if ((uint32_t)len - 1 >= v.buf_size) {
			q->stats.bad_length++; /* 0, or beyond the buffer */
			continue;
		}
		if (tail == stop) {
			q->stats.ring_full += (uint64_t)(end - p);
			break;
		}
		ring[tail].buffer_addr = v.iova_base + off;
		ring[tail].upper = len | cmd; /* cso, sta, css, special 0 */
		idx_of[tail] = idx;
		pool_of[tail] = pool;
		tail = (tail + 1) & mask;
		p->buf = NULL; /* the ring owns it now */
	}
	sent = (tail - q->tail) & mask;
	if (!sent)
		return 0;
	ring[(tail - 1) & mask].upper |= (uint64_t)E1000E_TXD_CMD_RS << E1000E_TXD_UPPER_CMD_SHIFT;
	q->rs[q->rs_tail++ & mask] = (struct e1000e_tx_burst){ .last = (tail - 1) & mask, .pool = mixed ? NULL : v.pool };
	q->tail = tail;
	q->stats.packets += sent;
	if (__builtin_expect(!q->tdt_resolved, 0)) {
		q->tdt = upci_bar_reg32(q->regs, q->tdt_reg);
		q->tdt_resolved = true;
	}
	upci_reg_write32(q->tdt, q->regs, q->tdt_reg, tail);
	return sent;
}

/* ---- dead-DMA watchdog: off the data path (the port layer's periodic check) ---- */

#define DMA_STALL_HINT "its DMA does not reach memory, most likely an IOMMU translation failure (see the IOMMU's " \
	"fault log: dmesg DMAR or SMMU lines, QEMU's vtd_iommu_translate); check the IOMMU setup and reopen the port"

void e1000e_watch_reset(struct e1000e_watch *w, uint64_t good_rx)
{
	*w = (struct e1000e_watch){ .good_rx = good_rx };
}

/* One observation: @stuck at descriptor @at now. Return: true when it has been so for the bound, first time. */
static bool watch_step(struct e1000e_watch *w, bool stuck, uint32_t at, uint64_t now_ms)
{
	if (!stuck || !w->armed || w->at != at) {
		w->armed = stuck;
		w->at = at;
		w->since_ms = now_ms;
		return false;
	}
	if (w->reported || now_ms - w->since_ms < E1000E_DMA_STALL_MS)
		return false;
	w->reported = true;
	return true;
}

int e1000e_txq_watch(struct e1000e_txq *q, const char *dev, uint64_t now_ms)
{
	uint32_t mask = q->size - 1, queued = (q->tail - q->clean) & mask, tdh = upci_bar_read32(q->regs, q->tdh_reg);
	uint32_t ahead = (tdh - q->clean) & mask; /* how far the device says it got; TDH is untrusted: bounded */
	uint32_t last = 0, burst = 0;
	bool stuck = false;

	if (queued && q->rs_head != q->rs_tail) { /* only a burst's last descriptor (RS) gets a write-back */
		last = q->rs[q->rs_head & mask].last;
		burst = ((last - q->clean) & mask) + 1;
		stuck = !(((const volatile struct e1000e_tx_desc *)&q->ring[last])->sta & E1000E_TXD_STA_DD) &&
			tdh < q->size && ahead >= burst && ahead <= queued;
	}
	if (!watch_step(&q->watch, stuck, q->clean, now_ms))
		return 0;
	q->stats.dma_stall = 1;
	upci_log(UPCI_LOG_ERR, "e1000e", "%s: tx queue %u stalled: the device took %u of %u queued descriptors (TDH %u, "
		 "oldest %u, its burst's RS at %u) but wrote none back (no DD) in %u s: " DMA_STALL_HINT, dev, q->index,
		 ahead, queued, tdh, q->clean, last, E1000E_DMA_STALL_MS / 1000);
	return 1;
}

bool e1000e_rxq_moved(struct e1000e_rxq *q)
{
	const volatile union e1000e_rx_desc *d = &q->ring[q->next];
	bool moved = !q->watch.looked || q->watch.seen != q->next || (d->wb.status_error & E1000E_RXD_STAT_DD);

	q->watch.looked = true;
	q->watch.seen = q->next;
	return moved;
}

int e1000e_rxq_watch(struct e1000e_rxq *q, const char *dev, uint64_t now_ms, uint64_t good_rx, bool frames_vanish)
{
	uint32_t mask = q->size - 1, rdh = upci_bar_read32(q->regs, q->rdh_reg);
	const volatile union e1000e_rx_desc *d = &q->ring[q->next];
	uint32_t ahead = (rdh - q->next) & mask, given = (q->tail - q->next) & mask; /* RDH is untrusted: bounded */
	bool stuck = given && !(d->wb.status_error & E1000E_RXD_STAT_DD) && /* given none: starved, not dead */
		     ((rdh < q->size && ahead && ahead <= given) || frames_vanish);

	if (!stuck)
		q->watch.good_rx = good_rx; /* progress, or nothing for this queue: frames counted so far are not its */
	if (!watch_step(&q->watch, stuck, q->next, now_ms))
		return 0;
	q->stats.dma_stall = 1;
	upci_log(UPCI_LOG_ERR, "e1000e", "%s: rx queue %u stalled: the device moved RDH to %u (next %u) and counted %llu "
		 "good frames (GPRC) but wrote no descriptor back (no DD) in %u s: " DMA_STALL_HINT, dev, q->index, rdh,
		 q->next, (unsigned long long)(good_rx - q->watch.good_rx), E1000E_DMA_STALL_MS / 1000);
	return 1;
}
