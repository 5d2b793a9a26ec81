/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci/driver.h — the driver model: what a network driver gives the port layer (upci/port.h).
 *
 * A driver is an id table (vendor:device) and an ops table. upci_port_open() opens the device through
 * VFIO, finds the one driver whose table holds its ids, and drives it through these ops. Applications
 * never call the ops: they use the port API, which adds argument checks, removal handling, the hybrid and
 * the pools. The built-in drivers are registered before the first match; others register themselves.
 *
 * What the port layer guarantees a driver:
 *  - ops are called in this order: init, rx_queue_setup/tx_queue_setup for every queue, then any of
 *    start/stop/burst/arm/link/stats/raise_irq/reset, and close last (also after a failed init step); reset
 *    only on a stopped device, with no other op running;
 *  - queue numbers are below the counts init returned; burst sizes are at most 64 per call;
 *  - a queue's burst, ready, arm and disarm ops are called from one thread at a time (the queue's);
 *  - once the device is removed only stats and close are called; close is told so (@removed). Neither may
 *    touch registers then (check upci_dev_removed(); they read all-ones anyway: the bus layer neutered
 *    the mapping), so stats reports what was accumulated before the removal.
 * What a driver guarantees the port layer:
 *  - burst ops make no syscall, take no lock and allocate nothing;
 *  - every length and status a device writes is bounded before use; nothing is delivered silently broken
 *    (a malformed write-back is counted and its buffer recycled);
 *  - a tx buffer goes back to its own pool (upci_pkt.pool) once the device is done with it, or at close;
 *  - init leaves the device stopped, with every vector's cause masked except link changes.
 */
#ifndef UPCI_DRIVER_H
#define UPCI_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "upci/msix.h"
#include "upci/pktpool.h"
#include "upci/port.h"
#include "upci/vfio.h"

#ifdef __cplusplus
extern "C" {
#endif

/** struct upci_pci_id - one vendor:device pair a driver handles. */
struct upci_pci_id {
	uint16_t vendor;
	uint16_t device;
};

/**
 * struct upci_drv_port - what init reports about the port it set up.
 * @rx_queues, @tx_queues:   queue counts (at most the ones asked for, at least 1)
 * @rx_ring_size, @tx_ring_size: descriptors per ring, as the driver rounded them
 * @rx_buf_size: the buffer size the device is programmed for (the port's pools have buffers this large)
 * @irqs:       the vectors (owned by the driver); NULL when the device has none
 * @rx_vector:  the vector of each rx queue
 * @link_vector: the vector of link-state changes, -1 if none
 * @rx_automask: true when the device masks an rx queue's interrupt cause as it sends the queue's message (the
 *              82574L: EIAME + IAM): once a wait was ended by the vector, the queue is disarmed and cannot
 *              signal again before the next rx_arm. The port layer then skips rx_disarm after such a wake-up
 *              and the eventfd drain before the next arm (one register write and one syscall per sleep).
 *              false: both are always done.
 * @mac:        station address
 */
struct upci_drv_port {
	unsigned rx_queues, tx_queues;
	unsigned rx_ring_size, tx_ring_size;
	unsigned rx_buf_size;
	struct upci_irqs *irqs;
	int rx_vector[UPCI_PORT_MAX_QUEUES];
	int link_vector;
	unsigned vectors;
	uint8_t mac[6];
	bool rx_automask;          /* after @mac, in its padding: the layout of 0.1 */
};

/**
 * struct upci_driver_ops - a driver's entry points. @priv is what init returned; @rxq/@txq what the queue
 * setup ops returned.
 * @init:        the device is open (BARs mapped, bus mastering not yet on) and its ids matched: check it,
 *               reset and initialise it per @cfg (defaults already filled in), fill @port. Leave it stopped.
 * @rx_queue_setup: set up rx queue @q to receive into buffers of @pool (its buffers are at least 2 KiB).
 * @tx_queue_setup: set up tx queue @q.
 * @start, @stop: enable / disable rx and tx; stop gives every buffer the rings hold back to its pool.
 * @close:       release everything init and the setups allocated; @removed: the device is gone.
 * @rx_burst:    up to @n frames (pkts[i].pool set to the queue's pool); never blocks.
 * @tx_burst:    queue what upci_port_tx_burst() describes (buffers already checked against the IOMMU
 *               context by the port layer; the driver still bounds lengths); one doorbell write.
 * @tx_clean:    reclaim completed tx buffers; true when nothing is in flight.
 * @rx_ready:    a frame is waiting (memory read only, no register access).
 * @rx_arm, @rx_disarm: enable / disable rx queue @q's interrupt at the device.
 * @link_get:    the link state (a register read).
 * @link_event:  the link vector fired: acknowledge the cause, re-enable it; return 1 when the link changed.
 * @stats:       device counters accumulated, driver counters, per queue.
 * @raise_irq:   test hook: make the device raise MSI-X vector @vector once.
 * @reset:       optional (upci_port_reset()). Called stopped, after a stats read (the accumulators hold the
 *               device's counters up to now) and after the bus layer reset the device (VFIO_DEVICE_RESET):
 *               bring it up again exactly as init and the queue setups did, with the same configuration,
 *               rings, pools and vectors: bus mastering, registers, empty rings (head and tail at 0, no
 *               buffer of before left in a descriptor), interrupt routing and the causes init enables.
 *               Leave it stopped. Without it upci_port_reset() returns -EOPNOTSUPP.
 * @watchdog:    optional: look for queues the device no longer completes (descriptors it took, no write-back:
 *               a dead DMA path) and report each once, in one line and in @stats (dma_stalls). @now_ms is
 *               CLOCK_MONOTONIC_COARSE in ms: bound in time, not in calls. Called by the port layer from its
 *               periodic event check (once per UPCI_PORT_EVENT_CHECK bursts of a queue, at most once per
 *               UPCI_PORT_WATCHDOG_MS), when an rx wait times
 *               out and from upci_port_stats(); never per packet, never after removal, one thread at a time
 *               (serialised with @stats), possibly while queue threads run bursts.
 */
struct upci_driver_ops {
	int (*init)(struct upci_dev *dev, const struct upci_port_cfg *cfg, void **priv, struct upci_drv_port *port);
	int (*rx_queue_setup)(void *priv, unsigned q, struct upci_pktpool *pool, void **rxq);
	int (*tx_queue_setup)(void *priv, unsigned q, void **txq);
	int (*start)(void *priv);
	int (*stop)(void *priv);
	void (*close)(void *priv, bool removed);
	unsigned (*rx_burst)(void *rxq, struct upci_pkt *pkts, unsigned n);
	unsigned (*tx_burst)(void *txq, struct upci_pkt *pkts, unsigned n);
	bool (*tx_clean)(void *txq);
	bool (*rx_ready)(const void *rxq);
	void (*rx_arm)(void *rxq);
	void (*rx_disarm)(void *rxq);
	void (*link_get)(void *priv, struct upci_link *out);
	int (*link_event)(void *priv);
	void (*stats)(void *priv, struct upci_port_stats *out);
	int (*raise_irq)(void *priv, unsigned vector);
	int (*reset)(void *priv);
	void (*watchdog)(void *priv, uint64_t now_ms);
};

/** struct upci_driver - a driver: its name, the ids it handles (@n_ids entries), its ops. */
struct upci_driver {
	const char *name;
	const struct upci_pci_id *ids;
	unsigned n_ids;
	const struct upci_driver_ops *ops;
};

/**
 * upci_driver_register() - make @drv available to upci_port_open(). @drv must outlive its registration.
 * Return: 0; -EINVAL (no name, no ids, or a required op missing); -EEXIST (an id is already claimed by
 * another driver, or @drv is registered already); -ENOSPC (registry full).
 */
int upci_driver_register(const struct upci_driver *drv);

/** upci_driver_unregister() - remove @drv. Return: 0, -ENOENT. */
int upci_driver_unregister(const struct upci_driver *drv);

/** upci_driver_match() - the driver for @vendor:@device, or NULL. */
const struct upci_driver *upci_driver_match(uint16_t vendor, uint16_t device);

/** upci_driver_count() - how many drivers are registered (the built-in ones included). */
unsigned upci_driver_count(void);

#ifdef __cplusplus
}
#endif
#endif
