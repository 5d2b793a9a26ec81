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
 */

static void rx_give(struct e1000e_rxq *q, uint32_t i, void *buf)
{
	q->bufs[i] = buf;
	q->ring[i].read.buffer_addr = upci_pktpool_iova(q->pool, buf);
	q->ring[i].read.reserved = 0; /* clears the write-back status (DD) too */
}

int e1000e_rxq_fill(struct e1000e_rxq *q)
{
	/* One descriptor stays empty: RDH == RDT means "no descriptor for the device". */
	for (uint32_t i = 0; i < q->size - 1; i++) {
		void *buf;

		if (upci_pktpool_get(q->pool, &buf, 1) != 1)
			return -ENOMEM;
		rx_give(q, i, buf);
	}
	q->bufs[q->size - 1] = NULL;
	memset(&q->ring[q->size - 1], 0, sizeof(q->ring[0]));
	q->next = 0;
	upci_bar_write32(q->regs, q->rdt_reg, q->size - 1);
	return 0;
}

int e1000e_rxq_ready(const struct e1000e_rxq *q)
{
	const volatile union e1000e_rx_desc *d = &q->ring[q->next];

	return (d->wb.status_error & E1000E_RXD_STAT_DD) != 0;
}

/* Is the write-back of a done descriptor a frame we can deliver? Untrusted: check everything. */
static bool rx_desc_ok(struct e1000e_rxq *q, uint32_t status, uint16_t len)
{
	if (!(status & E1000E_RXD_STAT_EOP) || (status & E1000E_RXDEXT_ERR_FRAME)) {
		q->stats.bad_status++; /* our buffers hold any legal frame: no EOP means a malformed write-back */
		return false;
	}
	if (len == 0 || len > q->pool->buf_size) {
		q->stats.bad_length++;
		return false;
	}
	return true;
}

unsigned e1000e_rxq_burst(struct e1000e_rxq *q, struct upci_pkt *pkts, unsigned max)
{
	uint32_t mask = q->size - 1, i = q->next, refill = (q->next + q->size - 1) & mask;
	unsigned got = 0, seen = 0;

	while (got < max) {
		volatile union e1000e_rx_desc *d = &q->ring[i];
		uint32_t status = d->wb.status_error;
		uint16_t len;
		uint32_t hash;
		void *fresh;

		if (!(status & E1000E_RXD_STAT_DD))
			break;
		upci_dma_rmb(); /* the rest of the write-back is valid only once DD is seen */
		len = d->wb.length;
		hash = d->wb.rss_hash;
		seen++;
		if (!rx_desc_ok(q, status, len)) {
			fresh = q->bufs[i]; /* dropped (counted): the buffer goes straight back to the ring */
		} else if (upci_pktpool_get(q->pool, &fresh, 1) != 1) {
			q->stats.no_buffer++;
			fresh = q->bufs[i];
		} else {
			pkts[got].buf = q->bufs[i];
			pkts[got].pool = q->pool;
			pkts[got].len = len;
			pkts[got].queue = q->index;
			pkts[got].rss_hash = hash;
			q->stats.packets++;
			q->stats.bytes += len;
			got++;
		}
		/* ...and this descriptor becomes the empty one; the empty one gets a buffer. */
		rx_give(q, refill, fresh);
		q->bufs[i] = NULL;
		memset((void *)d, 0, sizeof(*d));
		refill = i;
		i = (i + 1) & mask;
	}
	q->next = i;
	if (seen)
		upci_bar_write32(q->regs, q->rdt_reg, refill); /* one tail write per burst */
	return got;
}

uint32_t e1000e_txq_room(const struct e1000e_txq *q)
{
	return q->size - 1 - ((q->tail - q->clean) & (q->size - 1));
}

unsigned e1000e_txq_clean(struct e1000e_txq *q)
{
	uint32_t mask = q->size - 1;
	unsigned done = 0;

	while (q->clean != q->tail) {
		volatile struct e1000e_tx_desc *d = &q->ring[q->clean];

		if (!(d->sta & E1000E_TXD_STA_DD))
			break;
		upci_dma_rmb(); /* the device is done with the buffer only once DD is seen: nothing before it */
		upci_pktpool_put(q->pools[q->clean], &q->bufs[q->clean], 1);
		q->bufs[q->clean] = NULL;
		q->pools[q->clean] = NULL;
		q->clean = (q->clean + 1) & mask;
		done++;
	}
	return done;
}

unsigned e1000e_txq_burst(struct e1000e_txq *q, struct upci_pkt *pkts, unsigned n)
{
	uint32_t mask = q->size - 1, room;
	unsigned sent = 0;

	e1000e_txq_clean(q);
	room = e1000e_txq_room(q);
	for (unsigned k = 0; k < n; k++) {
		struct upci_pktpool *pool = pkts[k].pool;
		volatile struct e1000e_tx_desc *d;

		if (!pool || !upci_pktpool_owns(pool, pkts[k].buf)) {
			q->stats.foreign_buffer++;
			continue; /* refused: stays the caller's, counted */
		}
		if (pkts[k].len == 0 || pkts[k].len > pool->buf_size) {
			q->stats.bad_length++;
			continue;
		}
		if (sent == room) {
			q->stats.ring_full += n - k;
			break;
		}
		d = &q->ring[q->tail];
		d->buffer_addr = upci_pktpool_iova(pool, pkts[k].buf);
		d->length = pkts[k].len;
		d->cso = 0;
		d->css = 0;
		d->special = 0;
		d->sta = 0;
		d->cmd = E1000E_TXD_CMD_EOP | E1000E_TXD_CMD_IFCS | E1000E_TXD_CMD_RS;
		q->bufs[q->tail] = pkts[k].buf;
		q->pools[q->tail] = pool;
		q->tail = (q->tail + 1) & mask;
		q->stats.packets++;
		q->stats.bytes += pkts[k].len;
		pkts[k].buf = NULL; /* the ring owns it now */
		sent++;
	}
	if (sent)
		upci_bar_write32(q->regs, q->tdt_reg, q->tail);
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
	const volatile struct e1000e_tx_desc *d = &q->ring[q->clean];
	uint32_t ahead = (tdh - q->clean) & mask; /* how far the device says it got; TDH is untrusted: bounded */
	bool stuck = queued && !(d->sta & E1000E_TXD_STA_DD) && tdh < q->size && ahead && ahead <= queued;

	if (!watch_step(&q->watch, stuck, q->clean, now_ms))
		return 0;
	q->stats.dma_stall = 1;
	upci_log(UPCI_LOG_ERR, "e1000e", "%s: tx queue %u stalled: the device took %u of %u queued descriptors (TDH %u, "
		 "oldest %u) but wrote none back (no DD) in %u s: " DMA_STALL_HINT, dev, q->index, ahead, queued, tdh,
		 q->clean, E1000E_DMA_STALL_MS / 1000);
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
	uint32_t ahead = (rdh - q->next) & mask; /* RDH is untrusted: bounded */
	bool stuck = !(d->wb.status_error & E1000E_RXD_STAT_DD) && ((rdh < q->size && ahead) || frames_vanish);

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
