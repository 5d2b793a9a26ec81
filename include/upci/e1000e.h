/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/e1000e.h — driver for the Intel 82574L (8086:10d3) on upci.
 *
 * Two rx and two tx queues, extended rx descriptors, RSS over the rx queues, all five MSI-X vectors routed
 * through IVAR (rx0, rx1, tx0, tx1, other), interrupt throttling, link-state interrupts.
 *
 * Threads: one thread per queue needs no lock. A queue's buffers come from its own pool; a buffer goes
 * back to the pool it came from (rx buffers: e1000e_rx_free(); tx buffers: automatically on completion).
 * Functions return 0 (or a count) or a negative errno, with one log line on failure.
 */
#ifndef UPCI_E1000E_H
#define UPCI_E1000E_H

#include <stdbool.h>
#include <stdint.h>

#include "upci/msix.h"
#include "upci/vfio.h"

#ifdef __cplusplus
extern "C" {
#endif

#define E1000E_MAX_QUEUES 2

struct e1000e;

/** enum e1000e_mode - how the application learns that a queue has work. */
enum e1000e_mode {
	E1000E_MODE_POLL = 0,   /* interrupts stay off: the application polls */
	E1000E_MODE_INTERRUPT,  /* e1000e_rx_wait() arms the queue's interrupt and sleeps */
	E1000E_MODE_HYBRID,     /* e1000e_hybrid() polls while busy and sleeps when idle (upci_hybrid) */
};

/** struct e1000e_cfg - configuration; all-zero gives the defaults in brackets. */
struct e1000e_cfg {
	unsigned rx_queues;      /* 1 or 2 [2] */
	unsigned tx_queues;      /* 1 or 2 [2] */
	unsigned rx_ring_size;   /* descriptors, power of two, 8..4096 [512] */
	unsigned tx_ring_size;   /* [512] */
	unsigned pool_bufs;      /* buffers per queue pool [2 * ring size] */
	bool rss_off;            /* RSS spreads IPv4/IPv6 flows over the rx queues whenever there are two;
				  * set this to keep everything on queue 0 */
	uint8_t rss_key[40];     /* Toeplitz key [all-zero: a fixed default key] */
	unsigned itr_us;         /* global interrupt throttle (ITR) in microseconds [0] */
	unsigned eitr_us[5];     /* per-vector throttle (EITR) in microseconds [0]. QEMU 7.2 enforces at least
				  * 128 us whatever is written */
	bool promiscuous;        /* accept every unicast/multicast frame [off] */
	enum e1000e_mode mode;
};

/** struct e1000e_pkt - a frame in a pool buffer. */
struct e1000e_pkt {
	void *buf;
	uint16_t len;
	uint16_t queue;
	uint32_t rss_hash;
};

/** struct e1000e_stats - device counters (accumulated: the 82574's clear on read) and driver counters. */
struct e1000e_stats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;         /* device: GPRC, GORC, GPTC, GOTC */
	uint64_t rx_missed, rx_no_descriptor, rx_crc_errors;          /* device: MPC, RNBC, CRCERRS */
	uint64_t rx_short, rx_long;                                   /* device: RUC, ROC */
	uint64_t drv_rx_packets[E1000E_MAX_QUEUES], drv_tx_packets[E1000E_MAX_QUEUES];
	uint64_t drv_rx_dropped;    /* malformed write-backs and empty-pool drops, all queues */
	uint64_t drv_tx_refused;    /* bad length / foreign buffer */
	uint64_t link_changes;
};

/**
 * e1000e_open() - open the NIC (device string as upci_dev_open()), reset and initialise it, set up its
 * queues, pools and the five MSI-X vectors. The device is left stopped (no rx/tx).
 */
int e1000e_open(const char *spec, const struct e1000e_cfg *cfg, struct e1000e **out);

/** e1000e_close() - stop, release everything. NULL is ignored. */
void e1000e_close(struct e1000e *nic);

/** e1000e_start() / e1000e_stop() - enable / disable receive and transmit. */
int e1000e_start(struct e1000e *nic);
int e1000e_stop(struct e1000e *nic);

/** e1000e_mac() - the station address read from RAL0/RAH0. */
void e1000e_mac(const struct e1000e *nic, uint8_t mac[6]);

/** e1000e_link() - link up? Optionally the speed in Mb/s and full duplex. */
bool e1000e_link(const struct e1000e *nic, unsigned *mbps, bool *full_duplex);

/**
 * e1000e_rx_burst() - up to @n received frames of rx queue @q. The caller owns the buffers and gives
 * them back with e1000e_rx_free() (or forwards them with e1000e_tx_burst() on a queue of the same pool).
 */
unsigned e1000e_rx_burst(struct e1000e *nic, unsigned q, struct e1000e_pkt *pkts, unsigned n);

/** e1000e_rx_free() - give rx buffers back to queue @q's pool. */
void e1000e_rx_free(struct e1000e *nic, unsigned q, struct e1000e_pkt *pkts, unsigned n);

/** e1000e_tx_alloc() - take up to @n empty buffers from tx queue @q's pool. Return: how many. */
unsigned e1000e_tx_alloc(struct e1000e *nic, unsigned q, struct e1000e_pkt *pkts, unsigned n);

/**
 * e1000e_tx_burst() - queue frames (buffers from e1000e_tx_alloc() on the same queue) with one tail write.
 * Taken frames get buf = NULL; the rest stay the caller's. Return: how many were queued.
 */
unsigned e1000e_tx_burst(struct e1000e *nic, unsigned q, struct e1000e_pkt *pkts, unsigned n);

/** e1000e_tx_done() - reclaim completed tx buffers of queue @q; true when the ring is empty. */
bool e1000e_tx_done(struct e1000e *nic, unsigned q);

/**
 * e1000e_rx_wait() - INTERRUPT mode: arm rx queue @q's interrupt, check the ring once more, sleep until the
 * vector fires or @timeout_ms passes, disarm. Return: 1 frames may be waiting, 0 timeout, -errno.
 */
int e1000e_rx_wait(struct e1000e *nic, unsigned q, int timeout_ms);

/** e1000e_rx_arm() / e1000e_rx_disarm() - the per-queue hooks (IMS/IMC) for upci_hybrid. */
void e1000e_rx_arm(struct e1000e *nic, unsigned q);
void e1000e_rx_disarm(struct e1000e *nic, unsigned q);

/** e1000e_rx_fd() - the eventfd of rx queue @q's vector (for upci_hybrid or a upci_waitset). */
int e1000e_rx_fd(const struct e1000e *nic, unsigned q);

/** e1000e_rx_ready() - does rx queue @q have a frame waiting (no register access)? */
bool e1000e_rx_ready(const struct e1000e *nic, unsigned q);

/**
 * e1000e_link_wait() - wait up to @timeout_ms for a link-state interrupt (the "other" vector).
 * Return: 1 the link changed (read e1000e_link()), 0 timeout, -errno.
 */
int e1000e_link_wait(struct e1000e *nic, int timeout_ms);

/** e1000e_other_fd() - the "other" vector's eventfd (link changes), for an application's epoll set. */
int e1000e_other_fd(const struct e1000e *nic);

/** e1000e_stats() - device and driver counters. */
void e1000e_get_stats(struct e1000e *nic, struct e1000e_stats *out);

/** e1000e_dev() / e1000e_irqs() - the underlying device and vectors. */
struct upci_dev *e1000e_dev(const struct e1000e *nic);
struct upci_irqs *e1000e_irqs(const struct e1000e *nic);

#ifdef __cplusplus
}
#endif
#endif
