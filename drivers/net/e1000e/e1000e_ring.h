/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * 82574L descriptor rings: the part of the driver that touches descriptors, kept free of device setup
 * so the unit tests run it against plain memory and a memory-backed register file.
 *
 * Descriptors are written by the device and therefore untrusted: every length and status is bounded
 * before use, and a malformed one is counted and its buffer recycled, never delivered.
 */
#ifndef UPCI_E1000E_RING_H
#define UPCI_E1000E_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "upci/io.h"
#include "upci/pktpool.h"

/* 3.2.4 / 10.2.6 Extended receive descriptor (RFCTL.EXTEN): read format and write-back format. */
union e1000e_rx_desc {
	struct {
		uint64_t buffer_addr;
		uint64_t reserved;
	} read;
	struct {
		uint32_t mrq;          /* RSS type (bits 3:0) and queue */
		uint32_t rss_hash;     /* RSS hash, or IP id + packet checksum */
		uint32_t status_error; /* status (bits 19:0), extended errors (bits 31:20) */
		uint16_t length;
		uint16_t vlan;
	} wb;
};

/* Extended rx status / error bits (datasheet 3.2.5.1, table 3-6/3-7). */
enum {
	E1000E_RXD_STAT_DD = 1u << 0,   /* descriptor done */
	E1000E_RXD_STAT_EOP = 1u << 1,  /* end of packet */
	E1000E_RXDEXT_ERR_CE = 1u << 24,  /* CRC or alignment error */
	E1000E_RXDEXT_ERR_SE = 1u << 25,  /* symbol error */
	E1000E_RXDEXT_ERR_SEQ = 1u << 26, /* sequence error */
	E1000E_RXDEXT_ERR_CXE = 1u << 28, /* carrier extension error */
	E1000E_RXDEXT_ERR_RXE = 1u << 31, /* rx data error */
};
#define E1000E_RXDEXT_ERR_FRAME (E1000E_RXDEXT_ERR_CE | E1000E_RXDEXT_ERR_SE | E1000E_RXDEXT_ERR_SEQ | \
				 E1000E_RXDEXT_ERR_CXE | E1000E_RXDEXT_ERR_RXE)

/* 3.3.3 Legacy transmit descriptor. @upper is the second quadword whole (written with one store). */
struct e1000e_tx_desc {
	uint64_t buffer_addr;
	union {
		struct {
			uint16_t length;
			uint8_t cso;
			uint8_t cmd;
			uint8_t sta;
			uint8_t css;
			uint16_t special;
		};
		uint64_t upper;
	};
};
#define E1000E_TXD_UPPER_CMD_SHIFT 24 /* cmd's bit position in @upper (little endian: length, cso, cmd) */

enum {
	E1000E_TXD_CMD_EOP = 1u << 0,  /* end of packet */
	E1000E_TXD_CMD_IFCS = 1u << 1, /* insert FCS */
	E1000E_TXD_CMD_RS = 1u << 3,   /* report status: write DD back */
	E1000E_TXD_STA_DD = 1u << 0,
};

/* struct e1000e_rx_stats / e1000e_tx_stats - per-queue driver counters (bytes: the device counts them). */
struct e1000e_rx_stats {
	uint64_t packets;
	uint64_t bad_length;   /* write-back length 0 or beyond the buffer: dropped */
	uint64_t bad_status;   /* frame errors, or a frame split across descriptors: dropped */
	uint64_t no_buffer;    /* times the pool ran dry under a refill (the ring ran short until it had buffers
				* again; nothing is dropped: the device counts what found no descriptor) */
	uint64_t dma_stall;    /* 1 once the watchdog found the queue's write-backs missing (e1000e_rxq_watch()) */
};

struct e1000e_tx_stats {
	uint64_t packets;
	uint64_t bad_length;   /* refused: length 0 or beyond the buffer */
	uint64_t foreign_buffer; /* refused: not a buffer of the pool the packet names */
	uint64_t ring_full;    /* not queued: the ring had no room (the caller keeps them) */
	uint64_t dma_stall;    /* 1 once the watchdog found the queue's write-backs missing (e1000e_txq_watch()) */
};

/* How long a queue may show no write-back, with the device's head past it, before it is reported. */
#define E1000E_DMA_STALL_MS 2000u

/*
 * struct e1000e_watch - a queue's dead-DMA watchdog state: the descriptor index the queue was last seen stuck
 * at, since when, and (rx) the device's good-frame count at its last progress. Reset at start.
 */
struct e1000e_watch {
	bool armed;              /* the queue looked stuck at @at at the last check */
	bool reported;           /* said once: never again until the next start */
	uint32_t at;
	uint64_t since_ms;
	uint64_t good_rx;        /* rx: GPRC (accumulated) when the queue last made progress */
	bool looked;             /* rx: @seen is valid (e1000e_rxq_moved()) */
	uint32_t seen;           /* rx: the queue's next descriptor at the last check */
};

/*
 * An rx ring's descriptors, in ring order from @next: [next, tail) hold buffers (written back and not yet
 * taken, or the device's), [tail, next) are holes (taken, not yet refilled; stale in @bufs), at least one:
 * RDT == RDH means "nothing for the device". A burst refills the holes in one pool get once there are more
 * than @refill_batch of them, and writes RDT (the shadow @tail) once.
 */
struct e1000e_rxq {
	union e1000e_rx_desc *ring;
	uint64_t ring_iova;
	uint32_t size;           /* descriptors, a power of two */
	uint32_t next;           /* next descriptor to look at */
	uint32_t tail;           /* RDT as last written: the first hole */
	uint32_t refill_batch;   /* refill once the holes exceed this (a quarter of the ring, at most 32) */
	bool starved;            /* the last refill found the pool short */
	void **bufs;             /* the buffer each descriptor holds ([next, tail) are valid) */
	struct upci_pktpool *pool;
	const struct upci_bar *regs;
	uint32_t rdt_reg;        /* RDT offset of this queue */
	volatile uint32_t *rdt;  /* RDT mapped (set by e1000e_rxq_fill()), NULL: through @regs */
	uint32_t rdh_reg;        /* RDH offset (read by the watchdog only) */
	uint32_t irq_cause;      /* its interrupt cause (ICR/IMS bit) */
	uint16_t index;
	struct e1000e_rx_stats stats;
	struct e1000e_watch watch;
};

/* A burst in flight: its last descriptor (the RS one), and its pool when all its buffers share one. */
struct e1000e_tx_burst {
	uint32_t last;
	struct upci_pktpool *pool; /* NULL: several pools, see e1000e_txq.pools */
};

/*
 * A tx ring: [clean, tail) in flight (only those entries of @idx and @pools mean anything). Only the last descriptor of each burst asks for a write-back (RS);
 * @rs holds those positions, oldest first, so a clean looks at one descriptor per burst and gives the
 * burst's buffers back in runs (no re-validation: they were checked when queued).
 */
struct e1000e_txq {
	struct e1000e_tx_desc *ring;
	uint64_t ring_iova;
	uint32_t size;
	uint32_t tail;           /* next descriptor to fill */
	uint32_t clean;          /* oldest descriptor not yet completed */
	struct e1000e_tx_burst *rs; /* @size entries: the bursts in flight, oldest first */
	uint32_t rs_head, rs_tail; /* free-running positions in @rs (oldest, next free) */
	uint32_t *idx;           /* each in-flight buffer's index in its pool ([clean, tail) are valid) */
	struct upci_pktpool **pools; /* the pool each in-flight buffer goes back to */
	const struct upci_bar *regs;
	uint32_t tdt_reg;
	volatile uint32_t *tdt;  /* TDT mapped (resolved on the first burst), NULL: through @regs */
	bool tdt_resolved;
	uint32_t tdh_reg;        /* TDH offset (read by the watchdog only) */
	uint16_t index;
	struct e1000e_tx_stats stats;
	struct e1000e_watch watch;
};

/* Fill every descriptor but one with a buffer and hand them to the device (RDT). Return: 0, -ENOMEM. */
int e1000e_rxq_fill(struct e1000e_rxq *q);
/* Take up to @max received frames. The caller owns their buffers (return them with upci_pkt_free()). */
unsigned e1000e_rxq_burst(struct e1000e_rxq *q, struct upci_pkt *pkts, unsigned max);
/* Refill every hole but one now (before sleeping: a ring the pool left short gets its buffers). */
void e1000e_rxq_top_up(struct e1000e_rxq *q);
/* Is a frame waiting (the next descriptor is done)? */
int e1000e_rxq_ready(const struct e1000e_rxq *q);
/* Return completed tx buffers to their pools. Return: how many. */
unsigned e1000e_txq_clean(struct e1000e_txq *q);
/* Queue up to @n frames (each a buffer of the pool it names); one tail write. A frame taken has its buf set to
 * NULL; refused ones (counted) and those beyond the ring's room stay the caller's. Return: how many queued. */
unsigned e1000e_txq_burst(struct e1000e_txq *q, struct upci_pkt *pkts, unsigned n);
/* Free descriptors (what a burst can take now, after a clean). */
uint32_t e1000e_txq_room(const struct e1000e_txq *q);
/* Give every buffer the rings hold back to its pool, and empty them (after the device stopped). */
void e1000e_rxq_release(struct e1000e_rxq *q);
void e1000e_txq_release(struct e1000e_txq *q);

/*
 * Dead-DMA watchdog (as Linux e1000e's "Detected Hardware Unit Hang"), called from the port layer's periodic
 * check, never per packet. A queue is stuck when the device went on without its write-backs reaching memory:
 * tx: frames in flight, the oldest burst's RS descriptor not done (DD), TDH past it (within the frames in
 * flight); rx: the next
 * descriptor not done and either RDH past it, or (@frames_vanish) the device counted good frames (GPRC) since
 * the last check while no rx queue showed a write-back. Stuck at the same descriptor for E1000E_DMA_STALL_MS,
 * it is reported: one error line naming @dev, the queue and the likely cause, and stats.dma_stall set to 1;
 * once until e1000e_watch_reset(). @now_ms: a monotonic clock; @good_rx: GPRC accumulated (for the line).
 * Heads are device registers, untrusted: bounded before use. Return: 1 when this call reported, else 0.
 */
int e1000e_txq_watch(struct e1000e_txq *q, const char *dev, uint64_t now_ms);
int e1000e_rxq_watch(struct e1000e_rxq *q, const char *dev, uint64_t now_ms, uint64_t good_rx, bool frames_vanish);
/* Has rx queue @q shown a write-back since the last call (its next moved, or a done descriptor waits)? */
bool e1000e_rxq_moved(struct e1000e_rxq *q);
/* Forget what the watchdog saw (at start: the rings begin anew); @good_rx: GPRC accumulated now. */
void e1000e_watch_reset(struct e1000e_watch *w, uint64_t good_rx);

#endif
