/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Intel 82574L driver (8086:10d3): bring-up, queues, RSS, MSI-X routing, link, statistics, behind the
 * driver ops of upci/driver.h (applications use upci/port.h). The descriptor rings are in e1000e_ring.c.
 *
 * Two rx and two tx queues, extended rx descriptors, RSS over the rx queues, all five MSI-X vectors routed
 * through IVAR (rx0, rx1, tx0, tx1, other), interrupt throttling, link-state interrupts.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e1000e_regs.h"
#include "e1000e_ring.h"
#include "upci/dma.h"
#include "upci/driver.h"
#include "upci/io.h"
#include "upci/kernel.h"
#include "upci/log.h"
#include "upci/msix.h"
#include "upci/pktpool.h"

#define LOG_E1000E "e1000e"
#define BUF_SIZE 2048u /* RCTL.BSIZE 2048: any standard frame fits one buffer */
#define E1000E_MAX_QUEUES 2

enum { VEC_RX0 = 0, VEC_RX1 = 1, VEC_TX0 = 2, VEC_TX1 = 3, VEC_OTHER = 4 };

/* A fixed default Toeplitz key (the one Microsoft's RSS specification uses in its examples). */
static const uint8_t default_rss_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* What the driver keeps of the port configuration, checked and with the defaults filled in. */
struct e1000e_cfg {
	unsigned rx_queues, tx_queues;
	unsigned rx_ring_size, tx_ring_size;
	bool rss_off;
	uint8_t rss_key[40];
	unsigned eitr_us;        /* per queue vector; QEMU 7.2 enforces at least 128 us whatever is written */
	bool promiscuous;
};

/* Device counters, accumulated: the 82574's clear on read. */
struct e1000e_acc {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t rx_missed, rx_no_descriptor, rx_crc_errors, rx_short, rx_long;
	uint64_t link_changes;
};

struct e1000e {
	struct upci_dev *dev;
	const struct upci_bar *regs;
	struct upci_irqs *irqs;
	struct e1000e_cfg cfg;
	uint8_t mac[6];
	struct upci_dma *ring_mem;
	struct e1000e_rxq rxq[E1000E_MAX_QUEUES];
	struct e1000e_txq txq[E1000E_MAX_QUEUES];
	void **buf_slots;
	struct upci_pktpool **pool_slots;
	uint32_t *tx_idx;        /* per tx queue, its ring's in-flight buffer indices */
	struct e1000e_tx_burst *tx_bursts; /* per tx queue, its ring's in-flight bursts */
	struct e1000e_acc acc;
	uint64_t watched_rx;     /* acc.rx_packets at the last watchdog check */
	bool started;
};

static void wr(struct e1000e *nic, uint32_t reg, uint32_t val)
{
	upci_bar_write32(nic->regs, reg, val);
}

static uint32_t rd(struct e1000e *nic, uint32_t reg)
{
	return upci_bar_read32(nic->regs, reg);
}

static uint32_t us_to_itr(unsigned us)
{
	uint64_t v = (uint64_t)us * 1000 / 256; /* ITR/EITR count 256 ns units */

	return v > 0xffff ? 0xffff : (uint32_t)v;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static bool ring_size_ok(unsigned n)
{
	return n >= 8 && n <= 4096 && !(n & (n - 1));
}

/* The port configuration as this device can do it: 1-2 queues, rings a power of two in 8..4096. */
static int take_cfg(struct e1000e_cfg *c, const struct upci_port_cfg *pc, const char *name)
{
	*c = (struct e1000e_cfg){ .rx_queues = pc->rx_queues ? pc->rx_queues : 2,
				  .tx_queues = pc->tx_queues ? pc->tx_queues : 2,
				  .rx_ring_size = pc->rx_ring_size, .tx_ring_size = pc->tx_ring_size,
				  .rss_off = pc->rss_off, .eitr_us = pc->irq_throttle_us, .promiscuous = pc->promiscuous };
	memcpy(c->rss_key, pc->rss_key, sizeof(c->rss_key));
	if (c->rx_queues > E1000E_MAX_QUEUES || c->tx_queues > E1000E_MAX_QUEUES || !ring_size_ok(c->rx_ring_size) ||
	    !ring_size_ok(c->tx_ring_size)) {
		upci_log(UPCI_LOG_ERR, LOG_E1000E, "%s: the 82574L has 1-2 rx and tx queues and rings of a power of two "
			 "in 8..4096 descriptors (asked: %u/%u queues, %u/%u descriptors)", name, pc->rx_queues, pc->tx_queues,
			 pc->rx_ring_size, pc->tx_ring_size);
		return -EINVAL;
	}
	return 0;
}

/* Step 1-3 of the bring-up (datasheet 4.6): mask interrupts, global reset, mask and clear again. */
static int reset_device(struct e1000e *nic)
{
	wr(nic, E1000E_IMC, ~0u);
	wr(nic, E1000E_RCTL, 0);
	wr(nic, E1000E_TCTL, 0);
	wr(nic, E1000E_CTRL, rd(nic, E1000E_CTRL) | E1000E_CTRL_RST);
	for (int i = 0; i < 100; i++) {
		sleep_ms(1);
		if (!(rd(nic, E1000E_CTRL) & E1000E_CTRL_RST))
			break;
	}
	if (rd(nic, E1000E_CTRL) & E1000E_CTRL_RST) {
		upci_log(UPCI_LOG_ERR, LOG_E1000E, "%s: CTRL.RST did not clear within 100 ms", upci_dev_name(nic->dev));
		return -ETIMEDOUT;
	}
	wr(nic, E1000E_IMC, ~0u);
	wr(nic, E1000E_ICR, ~0u);
	return 0;
}

/* Steps 4-6: link, driver-loaded flag, station address. */
static void init_mac(struct e1000e *nic)
{
	uint32_t ral, rah;

	wr(nic, E1000E_CTRL, (rd(nic, E1000E_CTRL) & ~E1000E_CTRL_RST) | E1000E_CTRL_SLU | E1000E_CTRL_ASDE);
	wr(nic, E1000E_CTRL_EXT, rd(nic, E1000E_CTRL_EXT) | E1000E_CTRL_EXT_DRV_LOAD);
	ral = rd(nic, E1000E_RAL0);
	rah = rd(nic, E1000E_RAH0);
	for (int i = 0; i < 4; i++)
		nic->mac[i] = (uint8_t)(ral >> (8 * i));
	nic->mac[4] = (uint8_t)rah;
	nic->mac[5] = (uint8_t)(rah >> 8);
	wr(nic, E1000E_RAH0, (rah & 0xffff) | E1000E_RAH_AV); /* QEMU re-loads it; make sure it filters */
}

/* Read every clear-on-read counter into the accumulators. */
static void collect_stats(struct e1000e *nic)
{
	struct e1000e_acc *a = &nic->acc;
	uint64_t lo;

	a->rx_packets += rd(nic, E1000E_GPRC);
	a->tx_packets += rd(nic, E1000E_GPTC);
	lo = rd(nic, E1000E_GORCL);
	a->rx_bytes += lo | (uint64_t)rd(nic, E1000E_GORCH) << 32;
	lo = rd(nic, E1000E_GOTCL);
	a->tx_bytes += lo | (uint64_t)rd(nic, E1000E_GOTCH) << 32;
	a->rx_missed += rd(nic, E1000E_MPC);
	a->rx_no_descriptor += rd(nic, E1000E_RNBC);
	a->rx_crc_errors += rd(nic, E1000E_CRCERRS);
	a->rx_short += rd(nic, E1000E_RUC);
	a->rx_long += rd(nic, E1000E_ROC);
}

/* Rings in one DMA allocation; the rx pools come with rx_queue_setup, tx buffers name their own pools. */
static int alloc_queues(struct e1000e *nic)
{
	const struct e1000e_cfg *c = &nic->cfg;
	struct upci_iommu *m = upci_dev_iommu(nic->dev);
	size_t rx_bytes = (size_t)c->rx_ring_size * sizeof(union e1000e_rx_desc);
	size_t tx_bytes = (size_t)c->tx_ring_size * sizeof(struct e1000e_tx_desc);
	size_t rx_slots = (size_t)c->rx_queues * c->rx_ring_size, tx_slots = (size_t)c->tx_queues * c->tx_ring_size;
	size_t off = 0;
	void **slot;
	struct upci_pktpool **pools;
	int rc;

	rc = upci_dma_alloc(m, c->rx_queues * rx_bytes + c->tx_queues * tx_bytes, upci_dev_numa_node(nic->dev), 0,
			    &nic->ring_mem);
	if (rc)
		return rc;
	nic->buf_slots = calloc(rx_slots, sizeof(void *));
	nic->pool_slots = calloc(tx_slots, sizeof(*nic->pool_slots));
	nic->tx_idx = calloc(tx_slots, sizeof(*nic->tx_idx));
	nic->tx_bursts = calloc(tx_slots, sizeof(*nic->tx_bursts));
	if (!nic->buf_slots || !nic->pool_slots || !nic->tx_idx || !nic->tx_bursts)
		return -ENOMEM;
	slot = nic->buf_slots;
	pools = nic->pool_slots;
	for (unsigned q = 0; q < c->rx_queues; q++, off += rx_bytes, slot += c->rx_ring_size)
		nic->rxq[q] = (struct e1000e_rxq){ .ring = (void *)(nic->ring_mem->va + off),
						   .ring_iova = nic->ring_mem->iova + off, .size = c->rx_ring_size,
						   .bufs = slot, .regs = nic->regs,
						   .rdt_reg = E1000E_RDT0 + q * E1000E_QUEUE_STRIDE,
						   .rdh_reg = E1000E_RDH0 + q * E1000E_QUEUE_STRIDE,
						   .irq_cause = e1000e_vector_routes[q ? VEC_RX1 : VEC_RX0].cause,
						   .index = (uint16_t)q };
	for (unsigned q = 0; q < c->tx_queues; q++, off += tx_bytes, pools += c->tx_ring_size)
		nic->txq[q] = (struct e1000e_txq){ .ring = (void *)(nic->ring_mem->va + off),
						   .ring_iova = nic->ring_mem->iova + off, .size = c->tx_ring_size,
						   .pools = pools, .regs = nic->regs,
						   .idx = nic->tx_idx + q * c->tx_ring_size,
						   .rs = nic->tx_bursts + q * c->tx_ring_size,
						   .tdt_reg = E1000E_TDT0 + q * E1000E_QUEUE_STRIDE,
						   .tdh_reg = E1000E_TDH0 + q * E1000E_QUEUE_STRIDE, .index = (uint16_t)q };
	return 0;
}

/* Step 8: receive unit (disabled until start). Extended descriptors; RSS when configured. */
static void init_rx(struct e1000e *nic)
{
	const struct e1000e_cfg *c = &nic->cfg;
	const uint8_t *key = c->rss_key;
	bool zero_key = true;

	wr(nic, E1000E_RCTL, 0);
	wr(nic, E1000E_RFCTL, E1000E_RFCTL_EXTEN | E1000E_RFCTL_ACK_DIS);
	wr(nic, E1000E_RDTR, 0); /* no receive interrupt delay: throttling is ITR/EITR's job */
	wr(nic, E1000E_RADV, 0);
	for (unsigned q = 0; q < c->rx_queues; q++) {
		uint32_t base = q * E1000E_QUEUE_STRIDE;

		memset(nic->rxq[q].ring, 0, c->rx_ring_size * sizeof(union e1000e_rx_desc));
		wr(nic, E1000E_RDBAL0 + base, (uint32_t)nic->rxq[q].ring_iova);
		wr(nic, E1000E_RDBAH0 + base, (uint32_t)(nic->rxq[q].ring_iova >> 32));
		wr(nic, E1000E_RDLEN0 + base, c->rx_ring_size * (uint32_t)sizeof(union e1000e_rx_desc));
		wr(nic, E1000E_RDH0 + base, 0);
		wr(nic, E1000E_RDT0 + base, 0);
	}
	/* With one rx queue RSS would steer flows to a queue 1 that has no ring: only with two. */
	if (c->rx_queues != 2 || c->rss_off) {
		wr(nic, E1000E_MRQC, 0);
		return;
	}
	for (int i = 0; i < 40; i++)
		zero_key &= key[i] == 0;
	if (zero_key)
		key = default_rss_key;
	for (int i = 0; i < 10; i++)
		wr(nic, E1000E_RSSRK + 4 * i, (uint32_t)key[4 * i] | (uint32_t)key[4 * i + 1] << 8 |
						   (uint32_t)key[4 * i + 2] << 16 | (uint32_t)key[4 * i + 3] << 24);
	/* 128 one-byte entries, 4 per register; bit 7 of an entry picks queue 1. Alternate the queues. */
	for (int i = 0; i < 32; i++)
		wr(nic, E1000E_RETA + 4 * i, 0x80008000u);
	wr(nic, E1000E_RXCSUM, E1000E_RXCSUM_PCSD); /* the descriptor carries the RSS hash */
	wr(nic, E1000E_MRQC, E1000E_MRQC_RSS | E1000E_MRQC_TCPIPV4 | E1000E_MRQC_IPV4 | E1000E_MRQC_TCPIPV6 |
				     E1000E_MRQC_IPV6);
}

/* Step 9: transmit unit (disabled until start). */
static void init_tx(struct e1000e *nic)
{
	const struct e1000e_cfg *c = &nic->cfg;

	wr(nic, E1000E_TCTL, 0);
	wr(nic, E1000E_TIPG, E1000E_TIPG_DEFAULT);
	wr(nic, E1000E_TIDV, 0);
	wr(nic, E1000E_TADV, 0);
	for (unsigned q = 0; q < c->tx_queues; q++) {
		uint32_t base = q * E1000E_QUEUE_STRIDE;

		memset(nic->txq[q].ring, 0, c->tx_ring_size * sizeof(struct e1000e_tx_desc));
		wr(nic, E1000E_TDBAL0 + base, (uint32_t)nic->txq[q].ring_iova);
		wr(nic, E1000E_TDBAH0 + base, (uint32_t)(nic->txq[q].ring_iova >> 32));
		wr(nic, E1000E_TDLEN0 + base, c->tx_ring_size * (uint32_t)sizeof(struct e1000e_tx_desc));
		wr(nic, E1000E_TDH0 + base, 0);
		wr(nic, E1000E_TDT0 + base, 0);
		nic->txq[q].tail = nic->txq[q].clean = 0;
	}
}

/* Step 10: all five causes to their own MSI-X vector (as Linux's e1000_configure_msix), throttling. */
static void route_interrupts(struct e1000e *nic)
{
	/* Not IVAR.TX_EVERY_WB (Linux sets it): the rings read DD only on a burst's RS descriptor, and QEMU writes
	 * every descriptor back when it is set (one DMA more per frame, through the IOMMU). */
	uint32_t ivar = 0, queue_causes = 0;

	for (unsigned v = 0; v < E1000E_MSIX_VECTORS; v++) {
		ivar |= e1000e_ivar(e1000e_vector_routes[v].ivar, v);
		queue_causes |= e1000e_vector_routes[v].cause;
	}
	wr(nic, E1000E_IVAR, ivar);
	wr(nic, E1000E_EIAC, queue_causes);
	/* Every message masks the causes it carries (10.2.4.7 IAM with CTRL_EXT.EIAME): a fired rx vector leaves its
	 * queue disarmed until rx_arm (upci_drv_port.rx_automask), the link vector until link_event. QEMU 7.2 clears
	 * the IAM bit instead of the IMS bit on EIAME (a QEMU quirk); it masks the EIAC causes anyway (IAME off). */
	wr(nic, E1000E_IAM, ~0u);
	wr(nic, E1000E_CTRL_EXT, rd(nic, E1000E_CTRL_EXT) | E1000E_CTRL_EXT_EIAME | E1000E_CTRL_EXT_PBA_CLR);
	wr(nic, E1000E_ITR, 0);
	for (unsigned v = 0; v < E1000E_MSIX_VECTORS; v++)
		wr(nic, E1000E_EITR0 + 4 * v, v == VEC_OTHER ? 0 : us_to_itr(nic->cfg.eitr_us));
}

static int init_interrupts(struct e1000e *nic)
{
	int rc;

	route_interrupts(nic);
	rc = upci_irqs_open(nic->dev, UPCI_IRQ_MSIX, &nic->irqs);
	if (!rc)
		rc = upci_irqs_enable(nic->irqs, 0, E1000E_MSIX_VECTORS);
	if (!rc)
		wr(nic, E1000E_IMS, E1000E_ICR_LSC | E1000E_ICR_OTHER); /* link events always; queues on demand */
	return rc;
}

static int check_identity(struct e1000e *nic)
{
	uint16_t vendor = 0, device = 0;

	if (upci_cfg_read16(nic->dev, 0, &vendor) || upci_cfg_read16(nic->dev, 2, &device) || vendor != 0x8086 ||
	    device != 0x10d3) {
		upci_log(UPCI_LOG_ERR, LOG_E1000E, "%s is %04x:%04x, not an 82574L (8086:10d3)", upci_dev_name(nic->dev),
			 vendor, device);
		return -ENODEV;
	}
	return 0;
}

/* ---- the driver ops (upci/driver.h) ---- */

static void e1000e_close(void *priv, bool removed);

static int e1000e_init(struct upci_dev *dev, const struct upci_port_cfg *pc, void **priv, struct upci_drv_port *port)
{
	struct e1000e *nic = calloc(1, sizeof(*nic));
	int rc;

	*priv = NULL;
	if (!nic)
		return -ENOMEM;
	nic->dev = dev;
	rc = take_cfg(&nic->cfg, pc, upci_dev_name(dev));
	if (!rc)
		rc = check_identity(nic);
	if (!rc)
		rc = upci_dev_enable(dev);
	if (!rc) {
		nic->regs = upci_dev_bar(dev, 0);
		rc = nic->regs ? reset_device(nic) : -ENODEV;
	}
	if (!rc) {
		init_mac(nic);
		collect_stats(nic); /* zero the clear-on-read counters */
		memset(&nic->acc, 0, sizeof(nic->acc));
		rc = alloc_queues(nic);
	}
	if (!rc) {
		init_rx(nic);
		init_tx(nic);
		rc = init_interrupts(nic);
	}
	if (rc) {
		e1000e_close(nic, false);
		return rc;
	}
	*port = (struct upci_drv_port){ .rx_queues = nic->cfg.rx_queues, .tx_queues = nic->cfg.tx_queues,
					.rx_ring_size = nic->cfg.rx_ring_size, .tx_ring_size = nic->cfg.tx_ring_size,
					.rx_buf_size = BUF_SIZE, .irqs = nic->irqs, .link_vector = VEC_OTHER,
					.vectors = E1000E_MSIX_VECTORS, .rx_automask = true };
	for (unsigned q = 0; q < UPCI_PORT_MAX_QUEUES; q++)
		port->rx_vector[q] = q < nic->cfg.rx_queues ? (q ? VEC_RX1 : VEC_RX0) : -1;
	memcpy(port->mac, nic->mac, 6);
	*priv = nic;
	return 0;
}

static int e1000e_rx_queue_setup(void *priv, unsigned q, struct upci_pktpool *pool, void **rxq)
{
	struct e1000e *nic = priv;

	if (q >= nic->cfg.rx_queues || !pool || pool->buf_size < BUF_SIZE || pool->n_bufs < nic->cfg.rx_ring_size)
		return -EINVAL;
	nic->rxq[q].pool = pool;
	*rxq = &nic->rxq[q];
	return 0;
}

static int e1000e_tx_queue_setup(void *priv, unsigned q, void **txq)
{
	struct e1000e *nic = priv;

	if (q >= nic->cfg.tx_queues)
		return -EINVAL;
	*txq = &nic->txq[q];
	return 0;
}

static int e1000e_start(void *priv)
{
	struct e1000e *nic = priv;
	uint32_t rctl = E1000E_RCTL_EN | E1000E_RCTL_BAM | E1000E_RCTL_SECRC | E1000E_RCTL_BSIZE_2048;

	if (nic->started)
		return 0;
	for (unsigned q = 0; q < nic->cfg.rx_queues; q++) {
		if (!nic->rxq[q].pool || e1000e_rxq_fill(&nic->rxq[q])) {
			upci_log(UPCI_LOG_ERR, LOG_E1000E, "%s: rx pool %u has fewer buffers than its ring",
				 upci_dev_name(nic->dev), q);
			return -ENOMEM;
		}
	}
	for (unsigned q = 0; q < nic->cfg.rx_queues; q++)
		e1000e_watch_reset(&nic->rxq[q].watch, nic->acc.rx_packets);
	nic->watched_rx = nic->acc.rx_packets;
	for (unsigned q = 0; q < nic->cfg.tx_queues; q++)
		e1000e_watch_reset(&nic->txq[q].watch, 0);
	if (nic->cfg.promiscuous)
		rctl |= E1000E_RCTL_UPE | E1000E_RCTL_MPE;
	wr(nic, E1000E_TCTL, E1000E_TCTL_EN | E1000E_TCTL_PSP | E1000E_TCTL_CT | E1000E_TCTL_COLD);
	wr(nic, E1000E_RCTL, rctl);
	nic->started = true;
	return 0;
}

/* Give every buffer a ring holds back to its pool. */
static void reclaim_buffers(struct e1000e *nic)
{
	for (unsigned q = 0; q < nic->cfg.rx_queues; q++)
		e1000e_rxq_release(&nic->rxq[q]);
	for (unsigned q = 0; q < nic->cfg.tx_queues; q++)
		e1000e_txq_release(&nic->txq[q]);
}

static int e1000e_stop(void *priv)
{
	struct e1000e *nic = priv;

	if (!nic->started)
		return 0;
	if (!upci_dev_removed(nic->dev)) {
		wr(nic, E1000E_RCTL, 0);
		wr(nic, E1000E_TCTL, 0);
		sleep_ms(1); /* let the device finish the descriptor it was on */
	}
	reclaim_buffers(nic);
	init_rx(nic);
	init_tx(nic);
	nic->started = false;
	return 0;
}

static void e1000e_close(void *priv, bool removed)
{
	struct e1000e *nic = priv;

	if (!nic)
		return;
	if (nic->regs && !removed && !upci_dev_removed(nic->dev)) {
		wr(nic, E1000E_IMC, ~0u);
		e1000e_stop(nic);
	} else if (nic->buf_slots) {
		reclaim_buffers(nic); /* the device is gone: it no longer reads or writes them */
	}
	upci_irqs_close(nic->irqs);
	upci_dma_free(nic->ring_mem);
	free(nic->buf_slots);
	free(nic->pool_slots);
	free(nic->tx_idx);
	free(nic->tx_bursts);
	free(nic);
}

/*
 * After VFIO_DEVICE_RESET (the port stopped us first: every buffer is back in its pool): the bring-up of init
 * again on the same rings and vectors. The kernel restored config space and the MSI-X table; the registers are
 * the device's defaults. The counters it still holds counted frames since the port's last read: accumulated.
 */
static int e1000e_reset(void *priv)
{
	struct e1000e *nic = priv;
	int rc = upci_dev_enable(nic->dev);

	if (!rc)
		rc = reset_device(nic);
	if (rc)
		return rc;
	init_mac(nic);
	collect_stats(nic);
	init_rx(nic);
	init_tx(nic);
	for (unsigned q = 0; q < nic->cfg.rx_queues; q++)
		nic->rxq[q].next = 0;
	route_interrupts(nic);
	wr(nic, E1000E_IMS, E1000E_ICR_LSC | E1000E_ICR_OTHER);
	nic->started = false;
	return 0;
}

static void e1000e_link_get(void *priv, struct upci_link *out)
{
	struct e1000e *nic = priv;
	uint32_t st = rd(nic, E1000E_STATUS);
	unsigned speed = (st >> E1000E_STATUS_SPEED_SHIFT) & 3;

	out->mbps = speed == 0 ? 10 : speed == 1 ? 100 : 1000;
	out->full_duplex = st & E1000E_STATUS_FD;
	out->up = st != 0xffffffffu && (st & E1000E_STATUS_LU);
}

static unsigned e1000e_rx_burst(void *rxq, struct upci_pkt *pkts, unsigned n)
{
	return e1000e_rxq_burst(rxq, pkts, n);
}

static unsigned e1000e_tx_burst(void *txq, struct upci_pkt *pkts, unsigned n)
{
	return e1000e_txq_burst(txq, pkts, n);
}

static bool e1000e_tx_clean(void *txq)
{
	struct e1000e_txq *t = txq;

	e1000e_txq_clean(t);
	return t->clean == t->tail;
}

static bool e1000e_rx_ready(const void *rxq)
{
	return e1000e_rxq_ready(rxq);
}

static void e1000e_rx_arm(void *rxq)
{
	struct e1000e_rxq *r = rxq;

	e1000e_rxq_top_up(r); /* sleeping on a ring the pool left short could wait for nothing */
	/* QEMU: the IMS bit of an auto-cleared cause is cleared after each message: arm every time. */
	upci_bar_write32(r->regs, E1000E_IMS, r->irq_cause);
}

static void e1000e_rx_disarm(void *rxq)
{
	struct e1000e_rxq *r = rxq;

	upci_bar_write32(r->regs, E1000E_IMC, r->irq_cause);
}

/* The "other" vector fired: acknowledge it; 1 when the cause was a link change. */
static int e1000e_link_event(void *priv)
{
	struct e1000e *nic = priv;
	uint32_t icr = rd(nic, E1000E_ICR);
	int changed = 0;

	/* MSI-X mode: write 1s to clear; a lingering LSC or RXO would keep re-raising OTHER. */
	wr(nic, E1000E_ICR, E1000E_ICR_LSC | E1000E_ICR_RXO | E1000E_ICR_OTHER);
	if (icr != 0xffffffffu && (icr & E1000E_ICR_LSC)) {
		nic->acc.link_changes++;
		changed = 1;
	} /* else another "other" cause (a full ring's RXO): nothing for the link */
	wr(nic, E1000E_IMS, E1000E_ICR_LSC | E1000E_ICR_OTHER);
	return changed;
}

static void e1000e_stats(void *priv, struct upci_port_stats *out)
{
	struct e1000e *nic = priv;
	const struct e1000e_acc *a = &nic->acc;

	if (!upci_dev_removed(nic->dev))
		collect_stats(nic);
	out->rx_packets = a->rx_packets;
	out->rx_bytes = a->rx_bytes;
	out->tx_packets = a->tx_packets;
	out->tx_bytes = a->tx_bytes;
	out->rx_missed = a->rx_missed;
	out->rx_no_descriptor = a->rx_no_descriptor;
	out->rx_errors = a->rx_crc_errors + a->rx_short + a->rx_long;
	out->link_changes = a->link_changes;
	for (unsigned q = 0; q < E1000E_MAX_QUEUES; q++) {
		const struct e1000e_rx_stats *r = &nic->rxq[q].stats;
		const struct e1000e_tx_stats *t = &nic->txq[q].stats;

		out->q_rx_packets[q] = r->packets;
		out->q_tx_packets[q] = t->packets;
		out->drv_rx_dropped += r->bad_length + r->bad_status;
		out->drv_rx_starved += r->no_buffer;
		out->drv_tx_refused += t->bad_length + t->foreign_buffer;
		out->dma_stalls += r->dma_stall + t->dma_stall;
	}
}

/* The port layer's periodic check: a queue whose write-backs stopped reaching memory is reported once. */
static void e1000e_watchdog(void *priv, uint64_t now_ms)
{
	struct e1000e *nic = priv;
	const char *name = upci_dev_name(nic->dev);

	bool moved = false, vanish;

	if (!nic->started || upci_dev_removed(nic->dev))
		return;
	collect_stats(nic); /* GPRC: the device's count of frames it received */
	for (unsigned q = 0; q < nic->cfg.rx_queues; q++)
		moved |= e1000e_rxq_moved(&nic->rxq[q]);
	vanish = nic->acc.rx_packets > nic->watched_rx && !moved; /* counted, and no queue saw a write-back */
	nic->watched_rx = nic->acc.rx_packets;
	for (unsigned q = 0; q < nic->cfg.rx_queues; q++)
		e1000e_rxq_watch(&nic->rxq[q], name, now_ms, nic->acc.rx_packets, vanish);
	for (unsigned q = 0; q < nic->cfg.tx_queues; q++)
		e1000e_txq_watch(&nic->txq[q], name, now_ms);
}

/* Enable the vector's cause for one message (QEMU clears auto-cleared IMS bits after each), then set it. */
static int e1000e_raise_irq(void *priv, unsigned vector)
{
	struct e1000e *nic = priv;

	if (vector >= E1000E_MSIX_VECTORS)
		return -EINVAL;
	wr(nic, E1000E_IMS, e1000e_vector_routes[vector].cause | E1000E_ICR_LSC);
	wr(nic, E1000E_ICS, e1000e_vector_routes[vector].ics);
	return 0;
}

static const struct upci_driver_ops e1000e_ops = {
	.init = e1000e_init,
	.rx_queue_setup = e1000e_rx_queue_setup,
	.tx_queue_setup = e1000e_tx_queue_setup,
	.start = e1000e_start,
	.stop = e1000e_stop,
	.close = e1000e_close,
	.rx_burst = e1000e_rx_burst,
	.tx_burst = e1000e_tx_burst,
	.tx_clean = e1000e_tx_clean,
	.rx_ready = e1000e_rx_ready,
	.rx_arm = e1000e_rx_arm,
	.rx_disarm = e1000e_rx_disarm,
	.link_get = e1000e_link_get,
	.link_event = e1000e_link_event,
	.stats = e1000e_stats,
	.raise_irq = e1000e_raise_irq,
	.reset = e1000e_reset,
	.watchdog = e1000e_watchdog,
};

static const struct upci_pci_id e1000e_ids[] = {
	{ 0x8086, 0x10d3 }, /* 82574L */
};

const struct upci_driver upci_e1000e_driver = {
	.name = "e1000e",
	.ids = e1000e_ids,
	.n_ids = sizeof(e1000e_ids) / sizeof(e1000e_ids[0]),
	.ops = &e1000e_ops,
};
