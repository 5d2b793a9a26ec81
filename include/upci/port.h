/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/port.h — a network port, whatever the driver: open by device string, rx/tx bursts of packets that
 * carry their pool, waiting per queue (interrupt or the built-in poll/interrupt hybrid), link, statistics,
 * and device removal handled inside every call.
 *
 * Threads: one thread per queue needs no lock (rx queue q and tx queue q may belong to different threads).
 * A pool has one consumer (the rx queue that refills from it, or upci_port_pkt_alloc()) and one producer
 * (whoever gives buffers back: upci_pkt_free() or the tx queue that completes them): keep each pool's
 * producer on one thread.
 *
 * Removal: when the kernel asks for the device back (unbind, hot-unplug; VFIO's REQ interrupt), every
 * blocking call of this API wakes, the port releases the device so the kernel's unbind completes, the
 * on_remove callback (if set) runs, and from then on every call returns -ENODEV (bursts too) without
 * touching the device. A busy poller that never blocks sees it within UPCI_PORT_EVENT_CHECK bursts of a
 * queue (one non-blocking poll of the event fd per that many bursts: no syscall per burst).
 * Packets an application still holds stay valid until upci_port_close().
 *
 * Every function that can fail returns 0 (or a count) or a negative errno, with one log line on failure.
 */
#ifndef UPCI_PORT_H
#define UPCI_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "upci/msix.h"
#include "upci/pktpool.h"
#include "upci/vfio.h"

#ifdef __cplusplus
extern "C" {
#endif

#define UPCI_PORT_MAX_QUEUES 8
/*
 * A burst call checks the device's REQ/ERR events once per this many bursts of a queue: one poll(2) of the
 * port's event fd. Under TCG an empty burst costs about 1 us, so a busy poller sees a removal within a few
 * milliseconds and spends well under 1% of its time looking.
 */
#define UPCI_PORT_EVENT_CHECK 4096
/*
 * The driver's watchdog (a dead-DMA check that reads device registers) runs from those checks and from wait
 * timeouts at most once per this many milliseconds (upci_port_stats() runs it always). Under TCG each
 * register read stops the other vCPUs' device work: at one run per 4096 empty polls (about 1 kHz) the
 * watchdog's 15 reads cost a busy forwarder a measurable part of its rate.
 */
#define UPCI_PORT_WATCHDOG_MS 100

struct upci_port;

/** enum upci_port_mode - how upci_port_rx() learns that a queue has work. */
enum upci_port_mode {
	UPCI_PORT_POLL = 0,    /* interrupts stay off: upci_port_rx() never sleeps */
	UPCI_PORT_INTERRUPT,   /* an empty queue arms its interrupt, re-polls, and sleeps until it fires */
	UPCI_PORT_HYBRID,      /* poll while busy; after a run of empty polls arm, re-poll, sleep (upci_hybrid) */
};

/** upci_port_mode_name() - "poll", "interrupt", "hybrid". */
const char *upci_port_mode_name(enum upci_port_mode mode);

/** upci_port_mode_parse() - read a mode name. Return: 0, or -EINVAL. */
int upci_port_mode_parse(const char *name, enum upci_port_mode *out);

/** typedef upci_port_remove_fn - called once when the device is taken away, before it is released. */
typedef void (*upci_port_remove_fn)(struct upci_port *port, void *arg);

/** struct upci_port_cfg - configuration; all-zero gives the defaults in brackets. */
struct upci_port_cfg {
	unsigned rx_queues;        /* [the driver's maximum] */
	unsigned tx_queues;        /* [the driver's maximum] */
	unsigned rx_ring_size;     /* descriptors; the driver bounds it [512] */
	unsigned tx_ring_size;     /* [512] */
	unsigned pool_bufs;        /* buffers in each queue's pool [rx ring + tx ring + 64] */
	bool rss_off;              /* keep every flow on rx queue 0 (RSS is on whenever there are 2+ queues) */
	uint8_t rss_key[40];       /* Toeplitz key [all-zero: the driver's default key] */
	unsigned irq_throttle_us;  /* minimum gap between two interrupts of a queue [0] */
	bool promiscuous;          /* accept every unicast/multicast frame [off] */
	enum upci_port_mode mode;  /* what upci_port_rx() does on an empty queue [POLL] */
	int wait_timeout_ms;       /* longest sleep of upci_port_rx() before it returns 0 [100; -1: none] */
	struct upci_hybrid_cfg hybrid; /* HYBRID tuning (budget is the burst size passed in) */
	upci_port_remove_fn on_remove;
	void *remove_arg;
	struct upci_dev_opts dev;  /* backend and IOMMU context; on_event is the port's own */
};

/** struct upci_port_info - what a port is. */
struct upci_port_info {
	const char *driver;        /* the driver's name */
	const char *device;        /* the PCI address */
	uint16_t vendor_id, device_id;
	uint8_t mac[6];
	unsigned rx_queues, tx_queues;
	unsigned rx_ring_size, tx_ring_size;
	unsigned vectors;          /* MSI-X vectors in use */
};

/** struct upci_link - link state. */
struct upci_link {
	bool up;
	bool full_duplex;
	unsigned mbps;
};

/** struct upci_port_stats - device counters (accumulated) and the port's own. */
struct upci_port_stats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;  /* counted by the device */
	uint64_t rx_missed;        /* the device had no room (FIFO overrun) */
	uint64_t rx_no_descriptor; /* the device found no free descriptor */
	uint64_t rx_errors;        /* CRC, short, long frames the device dropped */
	uint64_t q_rx_packets[UPCI_PORT_MAX_QUEUES], q_tx_packets[UPCI_PORT_MAX_QUEUES]; /* counted by the driver */
	uint64_t drv_rx_dropped;   /* malformed write-backs (never silent: counted here) */
	uint64_t drv_rx_starved;   /* times an rx pool ran dry under a refill: the ring ran short (nothing is
				    * dropped by the driver; what found no descriptor is rx_no_descriptor) */
	uint64_t drv_tx_refused;   /* bad length, or a buffer of a pool the device cannot reach */
	uint64_t link_changes;
	uint64_t interrupt_wakeups;/* sleeps of upci_port_rx()/upci_port_rx_wait() that the interrupt ended */
	uint64_t q_wakeups[UPCI_PORT_MAX_QUEUES]; /* ... per rx queue */
	uint64_t timeouts;         /* ... that the timeout ended */
	uint64_t dma_stalls;       /* queues the driver found stalled: descriptors taken, no write-back (a dead DMA
				    * path, e.g. an IOMMU translation failure); each also said in one log line */
};

/**
 * upci_port_open() - open a port.
 * @spec: the device: "0000:00:02.0", "8086:10d3", "8086:10d3#1", or NULL/"" for the first address in
 *        the PCIDEVICE_* environment variables (see upci_dev_resolve()).
 * @cfg:  NULL for the defaults.
 *
 * Opens the device through VFIO, matches a registered driver by vendor:device (upci/driver.h), initialises
 * it, sets up the queues and their pools, and wires the vectors and the device's REQ/ERR events. The port
 * is left stopped. Return: 0 and *@out, or a negative errno (-ENOENT: no driver for the device).
 */
int upci_port_open(const char *spec, const struct upci_port_cfg *cfg, struct upci_port **out);

/** upci_port_close() - stop, release the device, free every pool and queue. NULL is ignored. */
void upci_port_close(struct upci_port *port);

/** upci_port_start() / upci_port_stop() - enable / disable receive and transmit. */
int upci_port_start(struct upci_port *port);
int upci_port_stop(struct upci_port *port);

/**
 * upci_port_reset() - reset the device under the port and bring it back as it was configured.
 * @port: an open port, not removed. No other call on the port may run meanwhile (like start/stop).
 *
 * Stops the queues (every buffer the rings hold goes back to its pool: a frame that was in the rx ring is
 * never delivered after the reset), reads the device counters (the port's statistics carry on across the
 * reset), issues VFIO_DEVICE_RESET through the bus layer (upci_dev_reset()), has the driver re-initialise
 * the device, its rings and its interrupt routing with the port's configuration, and starts the port again
 * if it was started. Pools, vectors, eventfds and the port's counters stay what they were; the link goes
 * down and comes back up as after an open (see upci_port_link_wait()).
 *
 * Return: 0; -ENODEV (removed); -EOPNOTSUPP (the driver cannot re-initialise a device; nothing was done);
 * -ENOTTY (the kernel offers no reset for the device) or another -errno of the reset, the re-initialisation
 * or the restart, after which the port is left stopped. One log line on failure.
 */
int upci_port_reset(struct upci_port *port);

/** upci_port_info() - what the port is (valid until close). */
const struct upci_port_info *upci_port_info(const struct upci_port *port);

/** upci_port_name() - the PCI address, for log lines. */
const char *upci_port_name(const struct upci_port *port);

/**
 * upci_port_rx_burst() - up to @n received frames of rx queue @q into @pkts. Never blocks. The caller owns
 * the buffers: give them back with upci_pkt_free() or transmit them (upci_port_tx_burst(), any port of the
 * same IOMMU context). Return: how many, or -ENODEV (removed), -EINVAL (no such queue).
 */
int upci_port_rx_burst(struct upci_port *port, unsigned q, struct upci_pkt *pkts, unsigned n);

/**
 * upci_port_rx() - receive in the port's mode: POLL is upci_port_rx_burst(); INTERRUPT and HYBRID sleep on
 * the queue's vector (and the device's events) when the queue is idle, with the race-free re-poll after
 * arming. Return: frames received (0 after a sleep that the interrupt or the timeout ended, or an empty
 * poll), or -ENODEV (removed), -errno.
 */
int upci_port_rx(struct upci_port *port, unsigned q, struct upci_pkt *pkts, unsigned n);

/**
 * upci_port_tx_burst() - queue frames on tx queue @q with one doorbell write. A frame is accepted when its
 * buffer is the start of a buffer of @pkts[i].pool, that pool lives in this port's IOMMU context, and
 * 0 < len <= buffer size. Taken frames get buf = NULL (the buffer goes back to its own pool when sent);
 * refused ones (counted in drv_tx_refused) and those beyond the ring's room stay the caller's.
 * Return: how many were queued, or -ENODEV, -EINVAL.
 */
int upci_port_tx_burst(struct upci_port *port, unsigned q, struct upci_pkt *pkts, unsigned n);

/**
 * upci_port_pkt_alloc() - up to @n empty buffers from tx queue @q's pool (completed transmissions are
 * reclaimed first when it runs low). Return: how many, or -ENODEV, -EINVAL.
 */
int upci_port_pkt_alloc(struct upci_port *port, unsigned q, struct upci_pkt *pkts, unsigned n);

/** upci_port_tx_done() - reclaim completed transmissions of queue @q. Return: 1 ring empty, 0 not, -errno. */
int upci_port_tx_done(struct upci_port *port, unsigned q);

/** upci_port_pool() - rx queue @q's pool (the pool its frames come from), or NULL. */
struct upci_pktpool *upci_port_pool(const struct upci_port *port, unsigned q);

/**
 * upci_port_rx_wait() - arm rx queue @q's interrupt, check the ring once more, sleep until the vector fires,
 * the device is removed, or @timeout_ms passes (-1: forever); disarm.
 * Return: 1 frames may be waiting, 0 timeout, -ENODEV removed, -errno.
 */
int upci_port_rx_wait(struct upci_port *port, unsigned q, int timeout_ms);

/**
 * upci_port_rx_arm() / upci_port_rx_disarm() - for applications that run their own epoll loop on
 * upci_port_rx_fd(): arm drains the eventfd, enables the queue's interrupt and re-checks the ring.
 * Return of arm: 0 armed (safe to sleep), 1 a frame is already waiting (disarmed again: poll, don't
 * sleep), -ENODEV.
 */
int upci_port_rx_arm(struct upci_port *port, unsigned q);
void upci_port_rx_disarm(struct upci_port *port, unsigned q);

/** upci_port_rx_fd() - rx queue @q's interrupt eventfd (for epoll), or -EINVAL / -ENODEV. */
int upci_port_rx_fd(const struct upci_port *port, unsigned q);

/** upci_port_event_fd() - readable when the kernel signals REQ/ERR: then call upci_port_process_events(). */
int upci_port_event_fd(const struct upci_port *port);

/** upci_port_process_events() - handle REQ/ERR without blocking. Return: 0, or -ENODEV once removed. */
int upci_port_process_events(struct upci_port *port);

/** upci_port_removed() - has the device been taken away? */
bool upci_port_removed(const struct upci_port *port);

/** upci_port_link() - the link state now. Return: 0, -ENODEV. */
int upci_port_link(struct upci_port *port, struct upci_link *out);

/**
 * upci_port_link_wait() - wait up to @timeout_ms for a link-state interrupt (or removal). With @timeout_ms 0
 * it does not wait: it asks the device now, acknowledging a pending link cause whether or not its vector's
 * eventfd was consumed elsewhere (e.g. by an application's epoll set).
 * Return: 1 the link changed (read upci_port_link()), 0 timeout, -ENODEV, -errno.
 */
int upci_port_link_wait(struct upci_port *port, int timeout_ms);

/** upci_port_link_fd() - the eventfd of the link-state vector, or -errno. */
int upci_port_link_fd(const struct upci_port *port);

/** upci_port_stats() - device and driver counters (device ones accumulated across reads). */
int upci_port_stats(struct upci_port *port, struct upci_port_stats *out);

/** upci_port_hybrid_stats() - rx queue @q's hybrid counters (HYBRID mode), or NULL. */
const struct upci_hybrid_stats *upci_port_hybrid_stats(const struct upci_port *port, unsigned q);

/** upci_port_rx_vector() / upci_port_link_vector() - the MSI-X vector numbers behind the queues. */
int upci_port_rx_vector(const struct upci_port *port, unsigned q);
int upci_port_link_vector(const struct upci_port *port);

/**
 * upci_port_raise_irq() - test hook: make the device itself raise MSI-X vector @vector (on the 82574L an
 * Interrupt Cause Set write), so interrupt paths are tested and measured end to end without traffic.
 * The vector's cause is enabled for this one message. Return: 0, -EINVAL, -ENODEV, -EOPNOTSUPP.
 */
int upci_port_raise_irq(struct upci_port *port, unsigned vector);

/** upci_port_dev() / upci_port_irqs() - the layers below, for diagnostics and tests. */
struct upci_dev *upci_port_dev(const struct upci_port *port);
struct upci_irqs *upci_port_irqs(const struct upci_port *port);

#ifdef __cplusplus
}
#endif
#endif
