/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Intel 82574L driver: bring-up, queues, RSS, MSI-X routing, link, statistics.
 * The descriptor rings themselves are in e1000e_ring.c.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e1000e_regs.h"
#include "e1000e_ring.h"
#include "upci/dma.h"
#include "upci/e1000e.h"
#include "upci/io.h"
#include "upci/kernel.h"
#include "upci/log.h"
#include "upci/msix.h"
#include "upci/pktpool.h"

#define LOG_E1000E "e1000e"
#define BUF_SIZE 2048u /* RCTL.BSIZE 2048: any standard frame fits one buffer */

enum { VEC_RX0 = 0, VEC_RX1 = 1, VEC_TX0 = 2, VEC_TX1 = 3, VEC_OTHER = 4 };

/* A fixed default Toeplitz key (the one Microsoft's RSS specification uses in its examples). */
static const uint8_t default_rss_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
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
	struct upci_pktpool *rx_pool[E1000E_MAX_QUEUES], *tx_pool[E1000E_MAX_QUEUES];
	void **buf_slots;
	struct e1000e_stats acc; /* device counters accumulated (they clear on read) */
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

static int check_cfg(struct e1000e_cfg *c)
{
	if (!c->rx_queues)
		c->rx_queues = 2;
	if (!c->tx_queues)
		c->tx_queues = 2;
	if (!c->rx_ring_size)
		c->rx_ring_size = 512;
	if (!c->tx_ring_size)
		c->tx_ring_size = 512;
	if (!c->pool_bufs)
		c->pool_bufs = 2 * (c->rx_ring_size > c->tx_ring_size ? c->rx_ring_size : c->tx_ring_size);
	if (c->rx_queues > 2 || c->tx_queues > 2 || c->rx_ring_size < 8 || c->rx_ring_size > 4096 ||
	    (c->rx_ring_size & (c->rx_ring_size - 1)) || c->tx_ring_size < 8 || c->tx_ring_size > 4096 ||
	    (c->tx_ring_size & (c->tx_ring_size - 1)) || c->pool_bufs < c->rx_ring_size || c->mode > E1000E_MODE_HYBRID)
		return -EINVAL;
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
	struct e1000e_stats *a = &nic->acc;
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

/* Rings in one DMA allocation; a pool per queue. */
static int alloc_queues(struct e1000e *nic)
{
	const struct e1000e_cfg *c = &nic->cfg;
	struct upci_iommu *m = upci_dev_iommu(nic->dev);
	size_t rx_bytes = (size_t)c->rx_ring_size * sizeof(union e1000e_rx_desc);
	size_t tx_bytes = (size_t)c->tx_ring_size * sizeof(struct e1000e_tx_desc);
	size_t slots = (size_t)c->rx_queues * c->rx_ring_size + (size_t)c->tx_queues * c->tx_ring_size;
	int node = upci_dev_numa_node(nic->dev), rc;
	size_t off = 0;
	void **slot;

	rc = upci_dma_alloc(m, c->rx_queues * rx_bytes + c->tx_queues * tx_bytes, node, 0, &nic->ring_mem);
	if (rc)
		return rc;
	nic->buf_slots = calloc(slots, sizeof(void *));
	if (!nic->buf_slots)
		return -ENOMEM;
	slot = nic->buf_slots;
	for (unsigned q = 0; q < c->rx_queues; q++, off += rx_bytes) {
		struct e1000e_rxq *r = &nic->rxq[q];

		rc = upci_pktpool_create(m, c->pool_bufs, BUF_SIZE, node, &nic->rx_pool[q]);
		if (rc)
			return rc;
		*r = (struct e1000e_rxq){ .ring = (void *)(nic->ring_mem->va + off), .ring_iova = nic->ring_mem->iova + off,
					  .size = c->rx_ring_size, .bufs = slot, .pool = nic->rx_pool[q],
					  .regs = nic->regs, .rdt_reg = E1000E_RDT0 + q * E1000E_QUEUE_STRIDE,
					  .index = (uint16_t)q };
		slot += c->rx_ring_size;
	}
	for (unsigned q = 0; q < c->tx_queues; q++, off += tx_bytes) {
		struct e1000e_txq *t = &nic->txq[q];

		rc = upci_pktpool_create(m, c->pool_bufs, BUF_SIZE, node, &nic->tx_pool[q]);
		if (rc)
			return rc;
		*t = (struct e1000e_txq){ .ring = (void *)(nic->ring_mem->va + off), .ring_iova = nic->ring_mem->iova + off,
					  .size = c->tx_ring_size, .bufs = slot, .pool = nic->tx_pool[q],
					  .regs = nic->regs, .tdt_reg = E1000E_TDT0 + q * E1000E_QUEUE_STRIDE,
					  .index = (uint16_t)q };
		slot += c->tx_ring_size;
	}
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
static int init_interrupts(struct e1000e *nic)
{
	uint32_t ivar = E1000E_IVAR_TX_EVERY_WB, queue_causes = 0;
	int rc;

	for (unsigned v = 0; v < E1000E_MSIX_VECTORS; v++) {
		ivar |= e1000e_ivar(e1000e_vector_routes[v].ivar, v);
		queue_causes |= e1000e_vector_routes[v].cause;
	}
	wr(nic, E1000E_IVAR, ivar);
	wr(nic, E1000E_EIAC, queue_causes);
	wr(nic, E1000E_IAM, ~queue_causes | E1000E_ICR_OTHER);
	wr(nic, E1000E_CTRL_EXT, rd(nic, E1000E_CTRL_EXT) | E1000E_CTRL_EXT_EIAME | E1000E_CTRL_EXT_PBA_CLR);
	wr(nic, E1000E_ITR, us_to_itr(nic->cfg.itr_us));
	for (unsigned v = 0; v < E1000E_MSIX_VECTORS; v++)
		wr(nic, E1000E_EITR0 + 4 * v, us_to_itr(nic->cfg.eitr_us[v]));
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

int e1000e_open(const char *spec, const struct e1000e_cfg *cfg, struct e1000e **out)
{
	struct e1000e *nic = calloc(1, sizeof(*nic));
	int rc;

	*out = NULL;
	if (!nic)
		return -ENOMEM;
	if (cfg)
		nic->cfg = *cfg;
	rc = check_cfg(&nic->cfg);
	if (rc) {
		upci_log(UPCI_LOG_ERR, LOG_E1000E, "bad configuration: 1-2 queues, ring sizes powers of two in 8..4096, "
			 "pool at least one rx ring");
		free(nic);
		return rc;
	}
	rc = upci_dev_open(spec, NULL, &nic->dev);
	if (!rc)
		rc = check_identity(nic);
	if (!rc)
		rc = upci_dev_enable(nic->dev);
	if (!rc) {
		nic->regs = upci_dev_bar(nic->dev, 0);
		rc = reset_device(nic);
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
		e1000e_close(nic);
		return rc;
	}
	*out = nic;
	return 0;
}

int e1000e_start(struct e1000e *nic)
{
	uint32_t rctl = E1000E_RCTL_EN | E1000E_RCTL_BAM | E1000E_RCTL_SECRC | E1000E_RCTL_BSIZE_2048;

	if (nic->started)
		return 0;
	for (unsigned q = 0; q < nic->cfg.rx_queues; q++) {
		if (e1000e_rxq_fill(&nic->rxq[q])) {
			upci_log(UPCI_LOG_ERR, LOG_E1000E, "%s: rx pool %u has fewer buffers than its ring",
				 upci_dev_name(nic->dev), q);
			return -ENOMEM;
		}
	}
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
	for (unsigned q = 0; q < nic->cfg.rx_queues; q++) {
		struct e1000e_rxq *r = &nic->rxq[q];

		for (uint32_t i = 0; r->bufs && i < r->size; i++)
			if (r->bufs[i] && upci_pktpool_put(r->pool, &r->bufs[i], 1))
				r->bufs[i] = NULL;
	}
	for (unsigned q = 0; q < nic->cfg.tx_queues; q++) {
		struct e1000e_txq *t = &nic->txq[q];

		for (uint32_t i = 0; t->bufs && i < t->size; i++)
			if (t->bufs[i] && upci_pktpool_put(t->pool, &t->bufs[i], 1))
				t->bufs[i] = NULL;
		t->tail = t->clean = 0;
	}
}

int e1000e_stop(struct e1000e *nic)
{
	if (!nic->started)
		return 0;
	wr(nic, E1000E_RCTL, 0);
	wr(nic, E1000E_TCTL, 0);
	sleep_ms(1); /* let the device finish the descriptor it was on */
	reclaim_buffers(nic);
	init_rx(nic);
	init_tx(nic);
	nic->started = false;
	return 0;
}

void e1000e_close(struct e1000e *nic)
{
	if (!nic)
		return;
	if (nic->regs && !upci_dev_removed(nic->dev)) {
		wr(nic, E1000E_IMC, ~0u);
		e1000e_stop(nic);
	}
	upci_irqs_close(nic->irqs);
	for (unsigned q = 0; q < E1000E_MAX_QUEUES; q++) {
		upci_pktpool_destroy(nic->rx_pool[q]);
		upci_pktpool_destroy(nic->tx_pool[q]);
	}
	upci_dma_free(nic->ring_mem);
	free(nic->buf_slots);
	upci_dev_close(nic->dev);
	free(nic);
}

void e1000e_mac(const struct e1000e *nic, uint8_t mac[6])
{
	memcpy(mac, nic->mac, 6);
}

bool e1000e_link(const struct e1000e *nic, unsigned *mbps, bool *full_duplex)
{
	uint32_t st = upci_bar_read32(nic->regs, E1000E_STATUS);
	unsigned speed = (st >> E1000E_STATUS_SPEED_SHIFT) & 3;

	if (mbps)
		*mbps = speed == 0 ? 10 : speed == 1 ? 100 : 1000;
	if (full_duplex)
		*full_duplex = st & E1000E_STATUS_FD;
	return st != 0xffffffffu && (st & E1000E_STATUS_LU);
}

unsigned e1000e_rx_burst(struct e1000e *nic, unsigned q, struct e1000e_pkt *pkts, unsigned n)
{
	return q < nic->cfg.rx_queues ? e1000e_rxq_burst(&nic->rxq[q], pkts, n) : 0;
}

void e1000e_rx_free(struct e1000e *nic, unsigned q, struct e1000e_pkt *pkts, unsigned n)
{
	for (unsigned i = 0; q < nic->cfg.rx_queues && i < n; i++)
		if (pkts[i].buf && upci_pktpool_put(nic->rx_pool[q], &pkts[i].buf, 1))
			pkts[i].buf = NULL;
}

unsigned e1000e_tx_alloc(struct e1000e *nic, unsigned q, struct e1000e_pkt *pkts, unsigned n)
{
	void *bufs[64];
	unsigned got = 0;

	while (q < nic->cfg.tx_queues && got < n) {
		unsigned want = n - got > 64 ? 64 : n - got, k;

		if (upci_pktpool_free_count(nic->tx_pool[q]) < want)
			e1000e_txq_clean(&nic->txq[q]);
		k = upci_pktpool_get(nic->tx_pool[q], bufs, want);
		for (unsigned i = 0; i < k; i++) {
			pkts[got + i].buf = bufs[i];
			pkts[got + i].len = 0;
			pkts[got + i].queue = (uint16_t)q;
			pkts[got + i].rss_hash = 0;
		}
		got += k;
		if (k < want)
			break;
	}
	return got;
}

unsigned e1000e_tx_burst(struct e1000e *nic, unsigned q, struct e1000e_pkt *pkts, unsigned n)
{
	return q < nic->cfg.tx_queues ? e1000e_txq_burst(&nic->txq[q], pkts, n) : 0;
}

bool e1000e_tx_done(struct e1000e *nic, unsigned q)
{
	if (q >= nic->cfg.tx_queues)
		return true;
	e1000e_txq_clean(&nic->txq[q]);
	return nic->txq[q].clean == nic->txq[q].tail;
}

bool e1000e_rx_ready(const struct e1000e *nic, unsigned q)
{
	return q < nic->cfg.rx_queues && e1000e_rxq_ready(&nic->rxq[q]);
}

void e1000e_rx_arm(struct e1000e *nic, unsigned q)
{
	/* QEMU: the IMS bit of an auto-cleared cause is cleared after each message: arm every time. */
	wr(nic, E1000E_IMS, e1000e_vector_routes[q ? VEC_RX1 : VEC_RX0].cause);
}

void e1000e_rx_disarm(struct e1000e *nic, unsigned q)
{
	wr(nic, E1000E_IMC, e1000e_vector_routes[q ? VEC_RX1 : VEC_RX0].cause);
}

int e1000e_rx_fd(const struct e1000e *nic, unsigned q)
{
	return upci_irqs_fd(nic->irqs, q ? VEC_RX1 : VEC_RX0);
}

int e1000e_other_fd(const struct e1000e *nic)
{
	return upci_irqs_fd(nic->irqs, VEC_OTHER);
}

int e1000e_rx_wait(struct e1000e *nic, unsigned q, int timeout_ms)
{
	uint64_t stale;
	int rc;

	if (q >= nic->cfg.rx_queues)
		return -EINVAL;
	(void)!upci_kernel()->read(e1000e_rx_fd(nic, q), &stale, sizeof(stale)); /* signals from before the arm */
	e1000e_rx_arm(nic, q);
	if (e1000e_rx_ready(nic, q)) { /* a frame that landed before the arm raised no interrupt */
		e1000e_rx_disarm(nic, q);
		return 1;
	}
	rc = upci_irqs_wait(nic->irqs, q ? VEC_RX1 : VEC_RX0, timeout_ms);
	e1000e_rx_disarm(nic, q);
	return rc < 0 ? rc : rc > 0 || e1000e_rx_ready(nic, q);
}

int e1000e_link_wait(struct e1000e *nic, int timeout_ms)
{
	uint32_t icr;
	int rc;

	wr(nic, E1000E_IMS, E1000E_ICR_LSC | E1000E_ICR_OTHER);
	rc = upci_irqs_wait(nic->irqs, VEC_OTHER, timeout_ms);
	if (rc <= 0)
		return rc;
	icr = rd(nic, E1000E_ICR);
	/* MSI-X mode: write 1s to clear; a lingering LSC or RXO would keep re-raising OTHER. */
	wr(nic, E1000E_ICR, E1000E_ICR_LSC | E1000E_ICR_RXO | E1000E_ICR_OTHER);
	if (icr & E1000E_ICR_LSC) {
		nic->acc.link_changes++;
		rc = 1;
	} else {
		rc = 0; /* another "other" cause (a full ring's RXO): nothing for the link */
	}
	wr(nic, E1000E_IMS, E1000E_ICR_LSC | E1000E_ICR_OTHER);
	return rc;
}

void e1000e_get_stats(struct e1000e *nic, struct e1000e_stats *out)
{
	if (!upci_dev_removed(nic->dev))
		collect_stats(nic);
	*out = nic->acc;
	out->drv_rx_dropped = 0;
	out->drv_tx_refused = 0;
	for (unsigned q = 0; q < E1000E_MAX_QUEUES; q++) {
		const struct e1000e_rx_stats *r = &nic->rxq[q].stats;
		const struct e1000e_tx_stats *t = &nic->txq[q].stats;

		out->drv_rx_packets[q] = r->packets;
		out->drv_tx_packets[q] = t->packets;
		out->drv_rx_dropped += r->bad_length + r->bad_status + r->no_buffer;
		out->drv_tx_refused += t->bad_length + t->foreign_buffer;
	}
}

struct upci_dev *e1000e_dev(const struct e1000e *nic)
{
	return nic->dev;
}

struct upci_irqs *e1000e_irqs(const struct e1000e *nic)
{
	return nic->irqs;
}
