/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/port/port.c: the port layer against the fake VFIO kernel, with a test driver.
 *
 * The fake device's config space is changed to TEST_VENDOR:TEST_DEVICE, which only the test driver
 * (registered here) handles. The driver keeps its "rings" in plain memory: per rx queue an array of packets
 * that the test fills to play arrivals (the "device" takes each buffer from the queue's pool, as a NIC's
 * refill would), per tx queue the frames in flight, which its tx_clean completes unless the script holds
 * them. Its vectors are real (fake) MSI-X eventfds (upci_irqs on the device); the test "raises" a vector by
 * writing its eventfd. The device's REQ (the kernel asking for the device back) is the fake's REQ eventfd.
 *
 * Every test ends with the leak check of the teardown: no fd, DMA mapping or reservation of the fake left.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_vfio.h"
#include "log_capture.h"
#include "upci/driver.h"
#include "upci/log.h"
#include "upci/port.h"

#define TEST_VENDOR 0x8086
#define TEST_DEVICE 0x7e57
#define TQ 2                /* queues of the test driver */
#define RING 64             /* packets per software ring */
#define BUF_SIZE 2048u
#define POOL_BUFS 64u
#define LINK_VECTOR 2
#define N_VECTORS 3

/* ---- the test driver ---- */

struct tdev;

struct trx {
	struct tdev *d;
	unsigned q;
	struct upci_pktpool *pool;
	struct upci_pkt ring[RING];
	_Atomic unsigned head, tail;   /* head: next to deliver (the queue's thread); tail: next arrival (device) */
	_Atomic bool armed;
	_Atomic unsigned arms, disarms;
	_Atomic unsigned armed_polls;  /* rx_burst/rx_ready calls while armed: the re-poll after arming */
	uint64_t delivered;
};

struct ttx {
	struct tdev *d;
	unsigned q;
	struct upci_pkt flight[RING];  /* in flight, oldest first */
	uint64_t iova[RING];           /* the address each was given to the device at */
	unsigned n;
	uint64_t sent, refused;
};

struct tdev {
	struct upci_dev *dev;
	struct upci_irqs *irqs;
	unsigned rx_queues, tx_queues;
	struct trx rx[TQ];
	struct ttx tx[TQ];
	bool started;
	unsigned starts, stops;
};

/* What the test scripts, and what the driver saw. */
static struct script {
	bool no_irqs;                  /* init opens no vectors (POLL-only ports: two ports share the fake's MSI-X) */
	int init_rc;                   /* init fails with this (after cleaning up after itself) */
	int rxq_setup_rc;              /* rx_queue_setup of queue 1 fails with this */
	unsigned tx_keep;              /* tx_clean leaves this many of the newest frames in flight */
	bool tx_hold;                  /* tx_clean completes nothing */
	void (*on_arm)(struct trx *r);         /* runs inside rx_arm, once the arm took effect */
	void (*on_armed_empty)(struct trx *r); /* runs when a poll/ready of an armed queue found it empty */
	struct upci_pktpool *watch_pool;       /* close records its free count after giving buffers back */
	uint32_t watch_free_at_close;
	_Atomic bool removed;          /* on_remove ran */
	unsigned ops_after_removal;    /* ops other than close/stats called after on_remove: must stay 0 */
	unsigned watchdogs;            /* watchdog op calls */
	uint64_t watch_ms;             /* the clock the last one was given */
	unsigned stats_after_removal;
	unsigned inits, closes;
	bool closed_removed;           /* what the last close was told */
	char trace[32];                /* start 'g', stop 'p', stats 's', reset 'r', in call order (trace_op()) */
	int vfio_resets_at_reset;      /* the fake kernel's VFIO_DEVICE_RESET count when the driver's reset ran */
	int reset_rc;                  /* the driver's reset fails with this */
	bool automask;                 /* init reports rx_automask (the device masks a cause as it fires) */
	struct tdev *last;             /* the device of the last init */
} S;

static struct world *W;

/* Record op @c in S.trace (what upci_port_reset() calls, in which order). */
static void trace_op(char c)
{
	size_t n = strlen(S.trace);

	if (n + 1 < sizeof(S.trace)) {
		S.trace[n] = c;
		S.trace[n + 1] = '\0';
	}
}

static void after_removal(void)
{
	if (atomic_load(&S.removed))
		S.ops_after_removal++;
}

static int td_init(struct upci_dev *dev, const struct upci_port_cfg *cfg, void **priv, struct upci_drv_port *port)
{
	struct tdev *d = calloc(1, sizeof(*d));
	int rc = 0;

	*priv = NULL;
	if (!d)
		return -ENOMEM;
	S.inits++;
	if (S.init_rc) {
		free(d);
		return S.init_rc;
	}
	d->dev = dev;
	d->rx_queues = cfg->rx_queues && cfg->rx_queues < TQ ? cfg->rx_queues : TQ;
	d->tx_queues = cfg->tx_queues && cfg->tx_queues < TQ ? cfg->tx_queues : TQ;
	for (unsigned q = 0; q < TQ; q++) {
		d->rx[q] = (struct trx){ .d = d, .q = q };
		d->tx[q] = (struct ttx){ .d = d, .q = q };
	}
	if (!S.no_irqs) {
		rc = upci_irqs_open(dev, UPCI_IRQ_MSIX, &d->irqs);
		if (!rc)
			rc = upci_irqs_enable(d->irqs, 0, N_VECTORS);
		if (rc) {
			upci_irqs_close(d->irqs);
			free(d);
			return rc;
		}
	}
	*port = (struct upci_drv_port){ .rx_queues = d->rx_queues, .tx_queues = d->tx_queues,
					.rx_ring_size = cfg->rx_ring_size < RING ? cfg->rx_ring_size : RING,
					.tx_ring_size = cfg->tx_ring_size < RING ? cfg->tx_ring_size : RING,
					.rx_buf_size = BUF_SIZE, .irqs = d->irqs,
					.link_vector = d->irqs ? LINK_VECTOR : -1, .vectors = d->irqs ? N_VECTORS : 0,
					.mac = { 0x02, 0, 0, 0, 0x7e, 0x57 } };
	for (unsigned q = 0; q < UPCI_PORT_MAX_QUEUES; q++)
		port->rx_vector[q] = d->irqs && q < d->rx_queues ? (int)q : -1;
	port->rx_automask = S.automask;
	S.last = d;
	*priv = d;
	return 0;
}

static int td_rxq_setup(void *priv, unsigned q, struct upci_pktpool *pool, void **rxq)
{
	struct tdev *d = priv;

	if (q >= d->rx_queues || !pool || pool->buf_size < BUF_SIZE)
		return -EINVAL;
	if (q == 1 && S.rxq_setup_rc)
		return S.rxq_setup_rc;
	d->rx[q].pool = pool;
	*rxq = &d->rx[q];
	return 0;
}

static int td_txq_setup(void *priv, unsigned q, void **txq)
{
	struct tdev *d = priv;

	if (q >= d->tx_queues)
		return -EINVAL;
	*txq = &d->tx[q];
	return 0;
}

static void give_back_rx(struct trx *r)
{
	unsigned tail = atomic_load(&r->tail);

	for (unsigned h = atomic_load(&r->head); h != tail; h++)
		assert_int_equal(upci_pktpool_put(r->pool, &r->ring[h % RING].buf, 1), 1);
	atomic_store(&r->head, tail);
}

/* The device completes the oldest @n frames in flight: each buffer goes back to its own pool. */
static void complete_tx(struct ttx *t, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(upci_pktpool_put(t->flight[i].pool, &t->flight[i].buf, 1), 1);
	memmove(t->flight, t->flight + n, (t->n - n) * sizeof(t->flight[0]));
	memmove(t->iova, t->iova + n, (t->n - n) * sizeof(t->iova[0]));
	t->n -= n;
}

static int td_start(void *priv)
{
	struct tdev *d = priv;

	after_removal();
	trace_op('g');
	d->starts++;
	d->started = true;
	return 0;
}

static int td_stop(void *priv)
{
	struct tdev *d = priv;

	after_removal();
	trace_op('p');
	d->stops++;
	for (unsigned q = 0; q < d->rx_queues; q++)
		give_back_rx(&d->rx[q]);
	for (unsigned q = 0; q < d->tx_queues; q++)
		complete_tx(&d->tx[q], d->tx[q].n);
	d->started = false;
	return 0;
}

static void td_close(void *priv, bool removed)
{
	struct tdev *d = priv;

	S.closes++;
	S.closed_removed = removed;
	for (unsigned q = 0; q < d->rx_queues; q++)
		give_back_rx(&d->rx[q]);
	for (unsigned q = 0; q < d->tx_queues; q++)
		complete_tx(&d->tx[q], d->tx[q].n); /* the device is stopped or gone: it reads them no more */
	if (S.watch_pool)
		S.watch_free_at_close = upci_pktpool_free_count(S.watch_pool);
	upci_irqs_close(d->irqs);
	if (S.last == d)
		S.last = NULL;
	free(d);
}

static void armed_empty(struct trx *r, bool empty)
{
	if (!atomic_load(&r->armed))
		return;
	atomic_fetch_add(&r->armed_polls, 1);
	if (empty && S.on_armed_empty)
		S.on_armed_empty(r);
}

static unsigned td_rx_burst(void *rxq, struct upci_pkt *pkts, unsigned n)
{
	struct trx *r = rxq;
	unsigned head = atomic_load_explicit(&r->head, memory_order_relaxed), got = 0;
	unsigned tail = atomic_load_explicit(&r->tail, memory_order_acquire);

	after_removal();
	assert_true(n <= 64); /* the port never hands a driver more */
	while (got < n && head != tail)
		pkts[got++] = r->ring[head++ % RING];
	atomic_store_explicit(&r->head, head, memory_order_release);
	r->delivered += got;
	armed_empty(r, got == 0);
	return got;
}

static bool td_rx_ready(const void *rxq)
{
	struct trx *r = (struct trx *)rxq;
	bool ready = atomic_load(&r->head) != atomic_load(&r->tail);

	after_removal();
	armed_empty(r, !ready);
	return ready;
}

static void td_rx_arm(void *rxq)
{
	struct trx *r = rxq;

	after_removal();
	atomic_store(&r->armed, true);
	atomic_fetch_add(&r->arms, 1);
	if (S.on_arm)
		S.on_arm(r);
}

static void td_rx_disarm(void *rxq)
{
	struct trx *r = rxq;

	after_removal();
	atomic_store(&r->armed, false);
	atomic_fetch_add(&r->disarms, 1);
}

static bool td_tx_clean(void *txq)
{
	struct ttx *t = txq;

	after_removal();
	if (!S.tx_hold && t->n > S.tx_keep)
		complete_tx(t, t->n - S.tx_keep);
	return t->n == 0;
}

static unsigned td_tx_burst(void *txq, struct upci_pkt *pkts, unsigned n)
{
	struct ttx *t = txq;
	unsigned sent = 0;

	after_removal();
	assert_true(n <= 64);
	td_tx_clean(t);
	for (unsigned i = 0; i < n; i++) {
		struct upci_pkt *p = &pkts[i];

		/* the port checked the pool; the driver still bounds what it hands the device */
		if (!p->pool || !upci_pktpool_owns(p->pool, p->buf) || !p->len || p->len > p->pool->buf_size) {
			t->refused++;
			continue;
		}
		if (t->n == RING - 1)
			break;
		t->iova[t->n] = upci_pktpool_iova(p->pool, p->buf);
		t->flight[t->n++] = *p;
		p->buf = NULL;
		sent++;
	}
	t->sent += sent;
	return sent;
}

static void td_link_get(void *priv, struct upci_link *out)
{
	(void)priv;
	after_removal();
	*out = (struct upci_link){ .up = true, .full_duplex = true, .mbps = 1000 };
}

static int td_link_event(void *priv)
{
	(void)priv;
	after_removal();
	return 1;
}

static void td_stats(void *priv, struct upci_port_stats *out)
{
	struct tdev *d = priv;

	if (atomic_load(&S.removed))
		S.stats_after_removal++;
	trace_op('s');
	for (unsigned q = 0; q < TQ; q++) {
		out->q_rx_packets[q] = d->rx[q].delivered;
		out->q_tx_packets[q] = d->tx[q].sent;
		out->rx_packets += d->rx[q].delivered;
		out->tx_packets += d->tx[q].sent;
		out->drv_tx_refused += d->tx[q].refused;
	}
}

static void td_watchdog(void *priv, uint64_t now_ms)
{
	(void)priv;
	after_removal();
	assert_true(now_ms >= S.watch_ms); /* a monotonic clock */
	S.watch_ms = now_ms;
	S.watchdogs++;
}

static int td_raise_irq(void *priv, unsigned vector)
{
	struct tdev *d = priv;

	after_removal();
	return eventfd_write(upci_irqs_fd(d->irqs, vector), 1) ? -errno : 0;
}

static int vfio_resets(void);

/* The device was reset under a stopped port: its rings must be empty already (the stop gave them back). */
static int td_reset(void *priv)
{
	struct tdev *d = priv;

	after_removal();
	trace_op('r');
	S.vfio_resets_at_reset = vfio_resets();
	for (unsigned q = 0; q < TQ; q++) {
		assert_false(d->started);
		assert_int_equal(atomic_load(&d->rx[q].head), atomic_load(&d->rx[q].tail));
		assert_int_equal(d->tx[q].n, 0);
	}
	return S.reset_rc;
}

static const struct upci_driver_ops td_ops = {
	.init = td_init, .rx_queue_setup = td_rxq_setup, .tx_queue_setup = td_txq_setup, .start = td_start,
	.stop = td_stop, .close = td_close, .rx_burst = td_rx_burst, .tx_burst = td_tx_burst,
	.tx_clean = td_tx_clean, .rx_ready = td_rx_ready, .rx_arm = td_rx_arm, .rx_disarm = td_rx_disarm,
	.link_get = td_link_get, .link_event = td_link_event, .stats = td_stats, .raise_irq = td_raise_irq,
	.reset = td_reset,
	.watchdog = td_watchdog,
};
/* The same driver without a reset op (a driver that cannot re-initialise a device). */
static const struct upci_driver_ops td_ops_noreset = {
	.init = td_init, .rx_queue_setup = td_rxq_setup, .tx_queue_setup = td_txq_setup, .start = td_start,
	.stop = td_stop, .close = td_close, .rx_burst = td_rx_burst, .tx_burst = td_tx_burst,
	.tx_clean = td_tx_clean, .rx_ready = td_rx_ready, .rx_arm = td_rx_arm, .rx_disarm = td_rx_disarm,
	.link_get = td_link_get, .link_event = td_link_event, .stats = td_stats, .raise_irq = td_raise_irq,
};

static const struct upci_pci_id td_ids[] = { { TEST_VENDOR, TEST_DEVICE } };
static const struct upci_driver test_driver = { .name = "testnic", .ids = td_ids, .n_ids = 1, .ops = &td_ops };
static const struct upci_driver test_driver_noreset = { .name = "testnic-noreset", .ids = td_ids, .n_ids = 1,
							.ops = &td_ops_noreset };

/* ---- the "device": arrivals and interrupts ---- */

static void pattern(uint8_t *p, unsigned len, uint32_t seq)
{
	for (unsigned j = 0; j < len; j++)
		p[j] = (uint8_t)(seq * 7 + j * 13);
}

static bool pattern_ok(const uint8_t *p, unsigned len, uint32_t seq)
{
	for (unsigned j = 0; j < len; j++)
		if (p[j] != (uint8_t)(seq * 7 + j * 13))
			return false;
	return true;
}

static uint16_t len_for(uint32_t seq)
{
	return (uint16_t)(60 + seq * 37 % (BUF_SIZE - 60));
}

/* Frame @seq lands in rx queue @r: a buffer of the queue's pool, as the NIC's DMA fills it. */
static void arrive(struct trx *r, uint32_t seq)
{
	unsigned tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	void *buf;

	if (upci_pktpool_get(r->pool, &buf, 1) != 1)
		abort(); /* may run on a helper thread: no cmocka assertion there */
	pattern(buf, len_for(seq), seq);
	r->ring[tail % RING] = (struct upci_pkt){ .buf = buf, .pool = r->pool, .len = len_for(seq),
						  .queue = (uint16_t)r->q, .rss_hash = seq };
	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
}

/* The queue's vector fires (the MSI-X message the kernel turns into an eventfd signal). */
static void raise_vector(struct trx *r)
{
	if (eventfd_write(upci_irqs_fd(r->d->irqs, r->q), 1))
		abort();
}

static void check_rx(const struct upci_pkt *p, const struct upci_port *port, unsigned q, uint32_t seq)
{
	assert_non_null(p->buf);
	assert_ptr_equal(p->pool, upci_port_pool(port, q));
	assert_true(upci_pktpool_owns(p->pool, p->buf));
	assert_int_equal(p->len, len_for(seq));
	assert_int_equal(p->queue, q);
	assert_int_equal(p->rss_hash, seq);
	assert_true(pattern_ok(p->buf, p->len, seq));
}

/* ---- the world ---- */

struct world {
	int process_fds;               /* open in the process before the fake kernel was built */
	struct fake_vfio f;
	struct upci_port *port, *port2;
	unsigned removes;              /* on_remove calls */
	struct upci_port *removed_port;
	int burst_in_remove;           /* what a burst returned inside on_remove */
	struct upci_iommu *other_iommu;
	struct upci_pktpool *extra[4];
};

static int vfio_resets(void)
{
	return W->f.resets;
}

static int count_process_fds(void)
{
	char path[64];
	int n = 0;

	for (int fd = 0; fd < 4096; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

static void on_remove(struct upci_port *port, void *arg)
{
	struct world *w = arg;
	struct upci_pkt p;

	atomic_store(&S.removed, true);
	w->removes++;
	w->removed_port = port;
	w->burst_in_remove = upci_port_rx_burst(port, 0, &p, 1); /* the port is closed for I/O already */
}

static void set_device_id(struct fake_vfio *f, uint16_t device)
{
	fake_region_poke(f, VFIO_PCI_CONFIG_REGION_INDEX, 2, &device, sizeof(device));
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	if (!w)
		return -1;
	w->process_fds = count_process_fds();
	if (fake_vfio_init(&w->f))
		return -1;
	memset(&S, 0, sizeof(S));
	set_device_id(&w->f, TEST_DEVICE);
	if (upci_driver_register(&test_driver))
		return -1;
	log_capture_start();
	W = w;
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	int ok;

	upci_port_close(w->port2);
	upci_port_close(w->port);
	for (unsigned i = 0; i < 4; i++)
		upci_pktpool_destroy(w->extra[i]);
	upci_iommu_put(w->other_iommu);
	(void)upci_driver_unregister(&test_driver);
	/* nothing left behind: every fd and eventfd, every DMA mapping, every address-space reservation */
	ok = w->f.live_fds == 0 && w->f.dma_maps == 0 && w->f.live_reservations == 0 && S.ops_after_removal == 0;
	if (!ok)
		fprintf(stderr, "leak check: %d fds, %d DMA mappings, %d reservations open; %u ops after removal\n",
			w->f.live_fds, w->f.dma_maps, w->f.live_reservations, S.ops_after_removal);
	fake_vfio_cleanup(&w->f);
	if (count_process_fds() != w->process_fds) { /* also what the fake does not count (epoll fds) */
		fprintf(stderr, "leak check: %d fds open, %d before\n", count_process_fds(), w->process_fds);
		ok = 0;
	}
	log_capture_stop();
	free(w);
	W = NULL;
	return ok ? 0 : -1;
}

static struct upci_port_cfg cfg_for(struct world *w, enum upci_port_mode mode)
{
	/* no timeout: a sleep ends only by what the test does (main() has a watchdog) */
	return (struct upci_port_cfg){ .rx_ring_size = 32, .tx_ring_size = 32, .pool_bufs = POOL_BUFS, .mode = mode,
				       .wait_timeout_ms = -1, .hybrid = { .idle_polls = 2 }, .on_remove = on_remove,
				       .remove_arg = w };
}

static struct upci_port *open_port(struct world *w, enum upci_port_mode mode)
{
	struct upci_port_cfg c = cfg_for(w, mode);

	assert_int_equal(upci_port_open(FAKE_BDF, &c, &w->port), 0);
	assert_non_null(w->port);
	assert_int_equal(upci_port_start(w->port), 0);
	return w->port;
}

static struct tdev *drv_of(void)
{
	assert_non_null(S.last);
	return S.last;
}

static unsigned log_lines(void)
{
	unsigned n = 0;

	for (const char *p = log_text; *p; p++)
		n += *p == '\n';
	return n;
}

/* ---- open, close ---- */

static void open_without_driver_is_enoent(void **state)
{
	struct world *w = *state;
	struct upci_port *port = (struct upci_port *)&port; /* any non-NULL value: the failed open resets it */
	int fds = w->f.live_fds, maps = w->f.dma_maps;

	assert_int_equal(upci_driver_unregister(&test_driver), 0);
	log_text[0] = '\0';
	assert_int_equal(upci_port_open(FAKE_BDF, NULL, &port), -ENOENT);
	assert_null(port);
	assert_int_equal(log_lines(), 1);
	assert_non_null(strstr(log_text, "no driver"));
	assert_non_null(strstr(log_text, "8086:7e57"));
	assert_non_null(strstr(log_text, FAKE_BDF));
	/* nothing leaked, nothing initialised; the device is closed again (it can be opened at once) */
	assert_int_equal(w->f.live_fds, fds);
	assert_int_equal(w->f.dma_maps, maps);
	assert_int_equal(w->f.live_reservations, 0);
	assert_int_equal(S.inits, 0);

	/* with the driver back, the same device opens */
	assert_int_equal(upci_driver_register(&test_driver), 0);
	open_port(w, UPCI_PORT_POLL);
	assert_int_equal(S.inits, 1);
}

static void open_bad_config_is_einval(void **state)
{
	struct world *w = *state;
	struct upci_port_cfg c = cfg_for(w, UPCI_PORT_POLL);
	struct upci_port *port;

	c.rx_queues = UPCI_PORT_MAX_QUEUES + 1;
	log_text[0] = '\0';
	assert_int_equal(upci_port_open(FAKE_BDF, &c, &port), -EINVAL);
	assert_null(port);
	assert_int_equal(log_lines(), 1);
	c = cfg_for(w, (enum upci_port_mode)7);
	assert_int_equal(upci_port_open(FAKE_BDF, &c, &port), -EINVAL);
	c = cfg_for(w, UPCI_PORT_POLL);
	c.pool_bufs = 8; /* fewer than one rx ring */
	assert_int_equal(upci_port_open(FAKE_BDF, &c, &port), -EINVAL);
	assert_int_equal(upci_port_open(FAKE_BDF, &c, NULL), -EINVAL);
	assert_int_equal(w->f.live_fds, 0);
	assert_int_equal(S.inits, 0);
}

/* A driver whose init fails: its error, no close (init cleaned up itself); a queue setup that fails: its
 * error and the driver's close; nothing left either way. */
static void open_driver_failures(void **state)
{
	struct world *w = *state;
	struct upci_port_cfg c = cfg_for(w, UPCI_PORT_POLL);
	struct upci_port *port;

	S.init_rc = -EIO;
	assert_int_equal(upci_port_open(FAKE_BDF, &c, &port), -EIO);
	assert_null(port);
	assert_int_equal(S.inits, 1);
	assert_int_equal(S.closes, 0);
	assert_int_equal(w->f.live_fds, 0);
	S.init_rc = 0;
	S.rxq_setup_rc = -ENOMEM;
	assert_int_equal(upci_port_open(FAKE_BDF, &c, &port), -ENOMEM);
	assert_null(port);
	assert_int_equal(S.inits, 2);
	assert_int_equal(S.closes, 1); /* close follows a failed setup step */
	assert_false(S.closed_removed);
	assert_int_equal(w->f.live_fds, 0);
	assert_int_equal(w->f.dma_maps, 0); /* queue 0's pool went too */
	S.rxq_setup_rc = 0;
	open_port(w, UPCI_PORT_POLL); /* and then it opens */
}

static void modes_by_name(void **state)
{
	enum upci_port_mode m = UPCI_PORT_POLL;

	(void)state;
	assert_string_equal(upci_port_mode_name(UPCI_PORT_POLL), "poll");
	assert_string_equal(upci_port_mode_name(UPCI_PORT_INTERRUPT), "interrupt");
	assert_string_equal(upci_port_mode_name(UPCI_PORT_HYBRID), "hybrid");
	assert_string_equal(upci_port_mode_name((enum upci_port_mode)9), "?");
	assert_int_equal(upci_port_mode_parse("hybrid", &m), 0);
	assert_int_equal(m, UPCI_PORT_HYBRID);
	assert_int_equal(upci_port_mode_parse("interrupt", &m), 0);
	assert_int_equal(m, UPCI_PORT_INTERRUPT);
	assert_int_equal(upci_port_mode_parse("poll", &m), 0);
	assert_int_equal(m, UPCI_PORT_POLL);
	assert_int_equal(upci_port_mode_parse("Poll", &m), -EINVAL);
	assert_int_equal(upci_port_mode_parse("", &m), -EINVAL);
	assert_int_equal(upci_port_mode_parse(NULL, &m), -EINVAL);
	assert_int_equal(m, UPCI_PORT_POLL);
}

/* open, start, receive on both queues, forward zero-copy, allocate and send, stats, link, stop, close. */
static void open_start_rx_tx_close(void **state)
{
	struct world *w = *state;
	struct upci_port *port = open_port(w, UPCI_PORT_POLL);
	const struct upci_port_info *info = upci_port_info(port);
	struct tdev *d = drv_of();
	struct upci_pkt pkts[8], mine[4];
	struct upci_pktpool *txp;
	struct upci_port_stats st;
	struct upci_link link;
	void *bufs[5];

	assert_string_equal(info->driver, "testnic");
	assert_string_equal(info->device, FAKE_BDF);
	assert_string_equal(upci_port_name(port), FAKE_BDF);
	assert_int_equal(info->vendor_id, TEST_VENDOR);
	assert_int_equal(info->device_id, TEST_DEVICE);
	assert_int_equal(info->rx_queues, TQ);
	assert_int_equal(info->tx_queues, TQ);
	assert_int_equal(info->rx_ring_size, 32);
	assert_int_equal(info->vectors, N_VECTORS);
	assert_int_equal(info->mac[5], 0x57);
	assert_non_null(upci_port_dev(port));
	assert_ptr_equal(upci_port_irqs(port), d->irqs);
	assert_int_equal(upci_port_rx_vector(port, 1), 1);
	assert_int_equal(upci_port_rx_vector(port, TQ), -EINVAL);
	assert_int_equal(upci_port_link_vector(port), LINK_VECTOR);
	assert_true(upci_port_rx_fd(port, 0) >= 0);
	assert_true(upci_port_event_fd(port) >= 0);
	assert_null(upci_port_hybrid_stats(port, 0)); /* POLL mode */
	assert_false(upci_port_removed(port));
	assert_int_equal(d->starts, 1);
	assert_int_equal(upci_port_start(port), 0); /* started already: the driver is not asked again */
	assert_int_equal(d->starts, 1);
	for (unsigned q = 0; q < TQ; q++) {
		assert_ptr_equal(d->rx[q].pool, upci_port_pool(port, q));
		assert_int_equal(upci_pktpool_free_count(d->rx[q].pool), POOL_BUFS);
		assert_true(d->rx[q].pool->buf_size >= BUF_SIZE);
	}
	assert_ptr_not_equal(upci_port_pool(port, 0), upci_port_pool(port, 1));
	assert_null(upci_port_pool(port, TQ));

	/* receive */
	assert_int_equal(upci_port_rx_burst(port, 0, pkts, 8), 0);
	for (uint32_t s = 0; s < 5; s++)
		arrive(&d->rx[0], s);
	arrive(&d->rx[1], 100);
	arrive(&d->rx[1], 101);
	assert_int_equal(upci_port_rx_burst(port, 0, pkts, 3), 3);
	assert_int_equal(upci_port_rx_burst(port, 0, pkts + 3, 8), 2);
	for (uint32_t s = 0; s < 5; s++) {
		check_rx(&pkts[s], port, 0, s);
		bufs[s] = pkts[s].buf;
	}
	assert_int_equal(upci_port_rx(port, 1, mine, 4), 2); /* POLL: upci_port_rx is a burst */
	check_rx(&mine[0], port, 1, 100);
	check_rx(&mine[1], port, 1, 101);
	assert_int_equal(upci_port_rx_burst(port, TQ, pkts, 8), -EINVAL);

	/* forward queue 0's frames on tx queue 1: the very buffers, at their pool's IOVA */
	assert_int_equal(upci_port_tx_burst(port, 1, pkts, 5), 5);
	assert_int_equal(d->tx[1].n, 5);
	for (unsigned k = 0; k < 5; k++) {
		assert_null(pkts[k].buf);
		assert_ptr_equal(d->tx[1].flight[k].buf, bufs[k]);
		assert_ptr_equal(d->tx[1].flight[k].pool, upci_port_pool(port, 0));
		assert_int_equal(d->tx[1].iova[k], upci_pktpool_iova(upci_port_pool(port, 0), bufs[k]));
		assert_int_equal(d->tx[1].flight[k].len, len_for(k));
	}
	assert_int_equal(upci_pktpool_free_count(upci_port_pool(port, 0)), POOL_BUFS - 5);
	assert_int_equal(upci_port_tx_burst(port, TQ, pkts, 1), -EINVAL);
	assert_int_equal(upci_port_tx_done(port, 1), 1); /* the device sent them: back to queue 0's pool */
	assert_int_equal(upci_pktpool_free_count(upci_port_pool(port, 0)), POOL_BUFS);
	assert_int_equal(upci_port_tx_done(port, TQ), -EINVAL);

	/* allocate from tx queue 0's own pool, fill, send */
	assert_int_equal(upci_port_pkt_alloc(port, 0, pkts, 4), 4);
	for (unsigned k = 0; k < 4; k++) {
		assert_non_null(pkts[k].buf);
		assert_non_null(pkts[k].pool);
		assert_ptr_not_equal(pkts[k].pool, upci_port_pool(port, 0)); /* the tx queue's pool, not an rx one */
		assert_int_equal(pkts[k].len, 0);
		pkts[k].len = 60;
	}
	txp = pkts[0].pool;
	assert_int_equal(upci_pktpool_free_count(txp), POOL_BUFS - 4);
	assert_int_equal(upci_port_pkt_alloc(port, TQ, pkts + 4, 1), -EINVAL);
	assert_int_equal(upci_port_tx_burst(port, 0, pkts, 4), 4);
	assert_int_equal(d->tx[0].n, 4);
	assert_int_equal(upci_port_tx_done(port, 0), 1);
	assert_int_equal(upci_pktpool_free_count(txp), POOL_BUFS);

	/* the application gives back what it kept */
	upci_pkt_free(mine, 2);
	assert_null(mine[0].buf);
	assert_int_equal(upci_pktpool_free_count(upci_port_pool(port, 1)), POOL_BUFS);

	assert_int_equal(upci_port_stats(port, &st), 0);
	assert_int_equal(st.q_rx_packets[0], 5);
	assert_int_equal(st.q_rx_packets[1], 2);
	assert_int_equal(st.q_tx_packets[0], 4);
	assert_int_equal(st.q_tx_packets[1], 5);
	assert_int_equal(st.drv_tx_refused, 0);
	assert_int_equal(st.interrupt_wakeups + st.timeouts, 0);
	assert_int_equal(upci_port_link(port, &link), 0);
	assert_true(link.up);
	assert_int_equal(link.mbps, 1000);

	assert_int_equal(upci_port_stop(port), 0);
	assert_int_equal(d->stops, 1);
	assert_int_equal(upci_port_stop(port), 0); /* stopped already */
	assert_int_equal(d->stops, 1);
	assert_int_equal(upci_port_start(port), 0);
	assert_int_equal(d->starts, 2);
	assert_string_equal(log_text, "");
	upci_port_close(port);
	w->port = NULL;
	assert_int_equal(S.closes, 1);
	assert_false(S.closed_removed);
	assert_int_equal(w->removes, 0);
}

/*
 * What tx refuses (counted in drv_tx_refused, the buffer left with the caller, the driver never shown it):
 * no pool, a pool of another IOMMU context, a buffer that is not the start of one of the named pool's, bad
 * lengths. The good frames of the same burst go.
 */
static const struct upci_kernel_ops *real_clock_ops;
static struct upci_kernel_ops fake_clock_ops;
static uint64_t fake_now_ms = 5000;

static int fake_clock(clockid_t clock, struct timespec *ts)
{
	(void)clock;
	ts->tv_sec = (time_t)(fake_now_ms / 1000);
	ts->tv_nsec = (long)(fake_now_ms % 1000) * 1000000;
	return 0;
}

/* @n bursts of rx queue 0 (@rx) or tx queue 1, each returning 0. */
static void empty_bursts(struct upci_port *port, bool rx, unsigned n)
{
	struct upci_pkt p[2];

	for (unsigned i = 0; i < n; i++)
		assert_int_equal(rx ? upci_port_rx_burst(port, 0, p, 2) : upci_port_tx_burst(port, 1, p, 0), 0);
}

/*
 * The driver's watchdog runs off the data path: from the check every UPCI_PORT_EVENT_CHECK bursts of a queue
 * and from wait timeouts, at most once per UPCI_PORT_WATCHDOG_MS (the clock is the test's); always on stats.
 */
static void watchdog_runs_from_the_periodic_checks(void **state)
{
	struct world *w = *state;
	struct upci_port *port = open_port(w, UPCI_PORT_INTERRUPT);
	struct upci_port_stats st;

	real_clock_ops = upci_kernel();
	fake_clock_ops = *real_clock_ops;
	fake_clock_ops.clock_gettime = fake_clock;
	upci_kernel_install(&fake_clock_ops);
	assert_int_equal(S.watchdogs, 0); /* open and start: none */
	assert_int_equal(upci_port_stats(port, &st), 0);
	assert_int_equal(S.watchdogs, 1);
	fake_now_ms += UPCI_PORT_WATCHDOG_MS;
	empty_bursts(port, true, UPCI_PORT_EVENT_CHECK - 1); /* bursts between two checks cost no watchdog call */
	assert_int_equal(S.watchdogs, 1);
	empty_bursts(port, true, 1); /* the 4096th: the periodic check, the period is over: it runs */
	assert_int_equal(S.watchdogs, 2);
	empty_bursts(port, true, UPCI_PORT_EVENT_CHECK); /* the next check, within the period: skipped */
	assert_int_equal(S.watchdogs, 2);
	fake_now_ms += UPCI_PORT_WATCHDOG_MS - 1;
	empty_bursts(port, false, UPCI_PORT_EVENT_CHECK); /* tx bursts check too; 1 ms short of the period */
	assert_int_equal(S.watchdogs, 2);
	fake_now_ms += 1;
	empty_bursts(port, false, UPCI_PORT_EVENT_CHECK);
	assert_int_equal(S.watchdogs, 3);
	assert_int_equal(upci_port_rx_wait(port, 0, 0), 0); /* a timeout within the period: skipped */
	assert_int_equal(S.watchdogs, 3);
	fake_now_ms += UPCI_PORT_WATCHDOG_MS;
	assert_int_equal(upci_port_rx_wait(port, 0, 1), 0); /* nothing arrived: a timeout checks too */
	assert_int_equal(S.watchdogs, 4);
	assert_int_equal(S.watch_ms, fake_now_ms); /* the clock as it is */
	assert_int_equal(upci_port_stats(port, &st), 0); /* stats: always */
	assert_int_equal(S.watchdogs, 5);
	upci_kernel_install(real_clock_ops);
}

static void tx_refuses_what_the_device_cannot_reach(void **state)
{
	struct world *w = *state;
	struct upci_port *port = open_port(w, UPCI_PORT_POLL);
	struct tdev *d = drv_of();
	struct upci_pktpool *rx0 = upci_port_pool(port, 0), *rx1 = upci_port_pool(port, 1), *alien;
	struct upci_dma alien_dma = { 0 };
	struct upci_pkt pkts[9], orig[9], mine[3];
	struct upci_port_stats st;
	uint8_t *alien_mem;

	/* the very first frame a fresh tx queue sees names no pool */
	for (uint32_t s = 0; s < 4; s++)
		arrive(&d->rx[0], s);
	assert_int_equal(upci_port_rx_burst(port, 0, mine, 3), 3);
	assert_int_equal(upci_port_rx_burst(port, 0, pkts, 1), 1);
	pkts[0].pool = NULL;
	orig[0] = pkts[0];
	assert_int_equal(upci_port_tx_burst(port, 1, pkts, 1), 0);
	assert_ptr_equal(pkts[0].buf, orig[0].buf);
	assert_int_equal(upci_port_stats(port, &st), 0);
	assert_int_equal(st.drv_tx_refused, 1);
	assert_int_equal(d->tx[1].n + d->tx[1].refused, 0);
	pkts[0].pool = rx0;

	/* a pool the device cannot reach: another IOMMU context (only its context matters to the check) */
	assert_int_equal(upci_iommu_open(UPCI_BACKEND_AUTO, &w->other_iommu), 0);
	assert_int_equal(posix_memalign((void **)&alien, 64, sizeof(*alien)), 0);
	assert_int_equal(posix_memalign((void **)&alien_mem, 64, 2 * BUF_SIZE), 0);
	memset(alien, 0, sizeof(*alien));
	alien_dma = (struct upci_dma){ .va = alien_mem, .iova = 0x40000000, .len = 2 * BUF_SIZE,
				       .iommu = w->other_iommu };
	*alien = (struct upci_pktpool){ .base = alien_mem, .iova_base = 0x40000000, .buf_size = BUF_SIZE, .n_bufs = 2,
					 .mask = 1, .dma = &alien_dma };
	atomic_store(&alien->refs, 1);

	pkts[1] = mine[0];                                        /* good */
	pkts[2] = (struct upci_pkt){ .buf = alien_mem, .pool = alien, .len = 60 }; /* other context */
	pkts[3] = mine[1];
	pkts[3].buf = (uint8_t *)pkts[3].buf + 64;                /* inside a buffer */
	pkts[4] = mine[1];
	pkts[4].pool = rx1;                                       /* names a pool it is not of */
	pkts[5] = mine[2];
	pkts[5].len = 0;                                          /* empty */
	pkts[6] = mine[2];
	pkts[6].len = (uint16_t)(rx0->buf_size + 1);              /* longer than the buffer */
	pkts[7] = (struct upci_pkt){ .buf = NULL, .pool = rx0, .len = 60 }; /* nothing: skipped, not counted */
	pkts[8] = pkts[0];                                        /* good, now that it names its pool */
	pkts[0] = (struct upci_pkt){ .buf = NULL, .pool = NULL, .len = 60 }; /* nothing, no pool: skipped */
	memcpy(orig, pkts, sizeof(pkts));
	assert_int_equal(upci_port_tx_burst(port, 1, pkts, 9), 2);
	for (unsigned k = 0; k < 9; k++)
		assert_ptr_equal(pkts[k].buf, k == 1 || k == 8 ? NULL : orig[k].buf);
	assert_int_equal(d->tx[1].n, 2);
	assert_ptr_equal(d->tx[1].flight[0].buf, mine[0].buf);
	assert_ptr_equal(d->tx[1].flight[1].buf, orig[8].buf);
	assert_int_equal(d->tx[1].refused, 0); /* the port stopped every bad frame before the driver */
	assert_int_equal(upci_port_stats(port, &st), 0);
	assert_int_equal(st.drv_tx_refused, 1 + 5);
	assert_int_equal(atomic_load(&alien->refs), 1); /* refused: not referenced */
	assert_int_equal(alien->bad_puts, 0);

	/* a NULL pool again, now that the queue has seen other pools */
	pkts[0] = mine[1];
	pkts[0].pool = NULL;
	assert_int_equal(upci_port_tx_burst(port, 1, pkts, 1), 0);
	assert_non_null(pkts[0].buf);
	assert_int_equal(upci_port_stats(port, &st), 0);
	assert_int_equal(st.drv_tx_refused, 7);

	assert_int_equal(upci_port_tx_done(port, 1), 1);
	upci_pkt_free(&mine[1], 2); /* the refused ones are the caller's: back to their own pool */
	assert_int_equal(upci_pktpool_free_count(rx0), POOL_BUFS);
	assert_int_equal(rx0->bad_puts, 0);
	free(alien_mem);
	free(alien);
}

/* A tx queue holds one reference per pool it was handed buffers of, however many frames, until it closes. */
static void tx_references_each_pool_once(void **state)
{
	struct world *w = *state;
	struct upci_port *port = open_port(w, UPCI_PORT_POLL);
	struct tdev *d = drv_of();
	struct upci_iommu *m = upci_dev_iommu(upci_port_dev(port));
	struct upci_pktpool *rx0 = upci_port_pool(port, 0), *rx1 = upci_port_pool(port, 1);
	struct upci_pktpool *pools[TQ + 1 + 4];
	struct upci_pkt p[8];
	unsigned n_pools = 0;

	S.tx_hold = true; /* everything stays in flight */
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(upci_pktpool_create(m, 4, BUF_SIZE, -1, &w->extra[i]), 0);
	for (uint32_t s = 0; s < 6; s++) {
		arrive(&d->rx[0], s);
		arrive(&d->rx[1], 10 + s);
	}
	/* queue 0: frames of rx0 and rx1 (forwarded), its own pool, and four pools of the application */
	assert_int_equal(upci_port_rx_burst(port, 0, p, 3), 3);
	assert_int_equal(upci_port_rx_burst(port, 1, p + 3, 3), 3);
	assert_int_equal(upci_port_tx_burst(port, 0, p, 6), 6);
	assert_int_equal(upci_port_pkt_alloc(port, 0, p, 2), 2);
	pools[n_pools++] = rx0;
	pools[n_pools++] = rx1;
	pools[n_pools++] = p[0].pool;
	p[0].len = p[1].len = 60;
	assert_int_equal(upci_port_tx_burst(port, 0, p, 2), 2);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(upci_pktpool_alloc(w->extra[i], p, 1), 1);
		p[0].len = 100;
		assert_int_equal(upci_port_tx_burst(port, 0, p, 1), 1);
		pools[n_pools++] = w->extra[i];
	}
	for (unsigned i = 0; i < n_pools; i++)
		if (atomic_load(&pools[i]->refs) != 2)
			fail_msg("pool %u: %u references, want 2 (its creator and tx queue 0)", i, atomic_load(&pools[i]->refs));
	/* more frames of the same pools: no new references */
	assert_int_equal(upci_port_rx_burst(port, 0, p, 3), 3);
	assert_int_equal(upci_port_rx_burst(port, 1, p + 3, 3), 3);
	assert_int_equal(upci_port_tx_burst(port, 0, p, 6), 6);
	assert_int_equal(atomic_load(&rx0->refs), 2);
	assert_int_equal(atomic_load(&rx1->refs), 2);
	assert_int_equal(d->tx[0].n, 6 + 2 + 4 + 6);
	/* queue 1 takes its own reference */
	assert_int_equal(upci_pktpool_alloc(w->extra[0], p, 1), 1);
	p[0].len = 100;
	assert_int_equal(upci_port_tx_burst(port, 1, p, 1), 1);
	assert_int_equal(atomic_load(&w->extra[0]->refs), 3);

	/* the application drops its pools while their buffers are in flight: the tx queues keep them alive */
	for (unsigned i = 0; i < 4; i++) {
		upci_pktpool_destroy(w->extra[i]);
		w->extra[i] = NULL;
	}
	assert_int_equal(upci_port_tx_done(port, 0), 0);
	S.tx_hold = false;
	assert_int_equal(upci_port_tx_done(port, 0), 1);
	assert_int_equal(upci_port_tx_done(port, 1), 1);
	assert_int_equal(upci_pktpool_free_count(pools[TQ + 1]), 4); /* alive: tx queues 0 and 1 hold it */
	assert_int_equal(atomic_load(&pools[TQ + 1]->refs), 2);
	assert_int_equal(upci_pktpool_free_count(rx0), POOL_BUFS);
	/* close frees them (the teardown checks every DMA mapping is gone) */
}

/*
 * Zero-copy forwarding between two ports of one IOMMU context: port B sends frames port A received, straight
 * from A's pool. A closes first, with B's frames still in flight: A's pool lives on (B's tx queue holds a
 * reference), the completions go back into it, and B's close frees it. AddressSanitizer watches.
 */
static void tx_keeps_foreign_pool_alive(void **state)
{
	struct world *w = *state;
	struct upci_port_cfg c = cfg_for(w, UPCI_PORT_POLL);
	struct upci_port *a, *b;
	struct tdev *da, *db;
	struct upci_pktpool *pa;
	struct upci_pkt p[4];
	void *bufs[4];

	fake_vfio_add_second_device(&w->f);
	S.no_irqs = true; /* the fake has one MSI-X model for both devices: keep them off it */
	assert_int_equal(upci_port_open(FAKE_BDF, &c, &w->port), 0);
	da = drv_of();
	assert_int_equal(upci_port_open(FAKE_BDF2, &c, &w->port2), 0);
	db = drv_of();
	a = w->port;
	b = w->port2;
	assert_ptr_equal(upci_dev_iommu(upci_port_dev(a)), upci_dev_iommu(upci_port_dev(b)));
	assert_int_equal(upci_port_rx_fd(a, 0), -EINVAL); /* no vectors: POLL only */
	assert_int_equal(upci_port_start(a), 0);
	assert_int_equal(upci_port_start(b), 0);

	pa = upci_port_pool(a, 0);
	for (uint32_t s = 0; s < 4; s++)
		arrive(&da->rx[0], s);
	assert_int_equal(upci_port_rx_burst(a, 0, p, 4), 4);
	for (unsigned k = 0; k < 4; k++)
		bufs[k] = p[k].buf;
	S.tx_hold = true; /* B's device is slow: all four stay in flight */
	assert_int_equal(upci_port_tx_burst(b, 0, p, 4), 4);
	for (unsigned k = 0; k < 4; k++) {
		assert_null(p[k].buf);
		assert_ptr_equal(db->tx[0].flight[k].buf, bufs[k]);     /* the same buffer: no copy */
		assert_ptr_equal(db->tx[0].flight[k].pool, pa);
		assert_int_equal(db->tx[0].iova[k], upci_pktpool_iova(pa, bufs[k])); /* A's pool's IOVA */
		assert_true(pattern_ok(bufs[k], len_for(k), k));
	}
	assert_int_equal(upci_pktpool_free_count(upci_port_pool(b, 0)), POOL_BUFS);
	assert_int_equal(atomic_load(&pa->refs), 2);
	assert_int_equal(upci_port_tx_done(b, 0), 0);

	/* A goes first */
	upci_port_close(a);
	w->port = NULL;
	assert_int_equal(S.closes, 1);
	assert_int_equal(atomic_load(&pa->refs), 1);                      /* B's */
	assert_int_equal(upci_pktpool_free_count(pa), POOL_BUFS - 4);     /* alive, four buffers out */

	/* B's device finishes two: back into A's pool, which only B keeps now */
	S.tx_hold = false;
	S.tx_keep = 2;
	assert_int_equal(upci_port_tx_done(b, 0), 0);
	assert_int_equal(upci_pktpool_free_count(pa), POOL_BUFS - 2);
	assert_int_equal(pa->bad_puts, 0);

	/* B closes with two still in flight: its driver gives them back to A's pool before the pool goes */
	S.watch_pool = pa;
	upci_port_close(b);
	w->port2 = NULL;
	assert_int_equal(S.closes, 2);
	assert_int_equal(S.watch_free_at_close, POOL_BUFS);
}

/* ---- interrupt mode ---- */

static void arrive_and_raise(struct trx *r)
{
	S.on_armed_empty = NULL; /* once */
	arrive(r, 42);
	raise_vector(r);
}

/* An empty queue: arm, re-poll (empty), sleep; a frame arrives after the re-poll and the vector fires. */
static void interrupt_sleeps_until_the_vector_fires(void **state)
{
	struct world *w = *state;
	struct upci_port *port = open_port(w, UPCI_PORT_INTERRUPT);
	struct tdev *d = drv_of();
	struct upci_port_stats st;
	struct upci_pkt p[4];

	S.on_armed_empty = arrive_and_raise;
	assert_int_equal(upci_port_rx(port, 0, p, 4), 1);
	check_rx(&p[0], port, 0, 42);
	assert_int_equal(atomic_load(&d->rx[0].arms), 1);
	assert_int_equal(atomic_load(&d->rx[0].disarms), 1);
	assert_false(atomic_load(&d->rx[0].armed));
	assert_int_equal(upci_port_stats(port, &st), 0);
	assert_int_equal(st.interrupt_wakeups, 1);
	assert_int_equal(st.q_wakeups[0], 1);
	assert_int_equal(st.timeouts, 0);

	/* frames waiting: returned at once, nothing armed */
	arrive(&d->rx[0], 43);
	assert_int_equal(upci_port_rx(port, 0, p + 1, 4), 1);
	check_rx(&p[1], port, 0, 43);
	assert_int_equal(atomic_load(&d->rx[0].arms), 1);

	/* a vector that fired while disarmed is stale: the arm drains it, the wait times out */
	raise_vector(&d->rx[0]);
	assert_int_equal(upci_port_rx_wait(port, 0, 0), 0);
	assert_int_equal(atomic_load(&d->rx[0].arms), 2);
	assert_int_equal(atomic_load(&d->rx[0].disarms), 2);
	assert_int_equal(upci_port_rx_wait(port, 0, 1), 0);
	assert_int_equal(upci_port_stats(port, &st), 0);
	assert_int_equal(st.interrupt_wakeups, 1);
	assert_int_equal(st.timeouts, 2);

	/* the raise through the driver's hook wakes a wait as well */
	assert_int_equal(upci_port_raise_irq(port, 0), 0);
	assert_int_equal(upci_port_raise_irq(port, N_VECTORS), -EINVAL);
	upci_pkt_free(p, 2);
	assert_int_equal(upci_pktpool_free_count(upci_port_pool(port, 0)), POOL_BUFS);
	assert_int_equal(w->removes, 0);
}

/* ---- interrupt mode, rx_automask: the device masks the queue's cause as it sends the message ---- */

static const struct upci_kernel_ops *uncounted;
static struct upci_kernel_ops counting;
static _Atomic unsigned nowait_reads; /* non-blocking eventfd reads: drains before an arm, consumes after a wake */

static ssize_t counted_read_nowait(int fd, void *buf, size_t len)
{
	atomic_fetch_add(&nowait_reads, 1);
	return uncounted->read_nowait(fd, buf, len);
}

static void count_nowait_reads(void)
{
	uncounted = upci_kernel();
	counting = *uncounted;
	counting.read_nowait = counted_read_nowait;
	upci_kernel_install(&counting);
	atomic_store(&nowait_reads, 0);
}

/* Frame 42 lands and the vector fires; as an 82574L with EIAME + IAM, the message disarms the queue. */
static void arrive_and_fire_masked(struct trx *r)
{
	S.on_armed_empty = NULL; /* once */
	arrive(r, 42);
	atomic_store(&r->armed, false);
	raise_vector(r);
}

/* A wait the vector ended leaves the queue disarmed and its eventfd empty: the next one needs no drain and the
 * port writes no disarm; a timeout, a raise through the hook and a start leave that unknown: drained again. */
static void automask_wait_skips_drain_and_disarm(void **state)
{
	struct world *w = *state;
	struct upci_port *port;
	struct upci_pkt p[3];
	struct tdev *d;

	S.automask = true;
	port = open_port(w, UPCI_PORT_INTERRUPT);
	d = drv_of();
	count_nowait_reads();

	/* the first sleep after the start drains (1 read), and consumes the vector's signal (1) */
	S.on_armed_empty = arrive_and_fire_masked;
	assert_int_equal(upci_port_rx(port, 0, p, 3), 1);
	check_rx(&p[0], port, 0, 42);
	assert_int_equal(atomic_load(&d->rx[0].arms), 1);
	assert_int_equal(atomic_load(&d->rx[0].disarms), 0);
	assert_int_equal(atomic_load(&nowait_reads), 2);

	/* the next: the consume only */
	S.on_armed_empty = arrive_and_fire_masked;
	assert_int_equal(upci_port_rx(port, 0, p + 1, 3), 1);
	check_rx(&p[1], port, 0, 42);
	assert_int_equal(atomic_load(&d->rx[0].arms), 2);
	assert_int_equal(atomic_load(&d->rx[0].disarms), 0);
	assert_int_equal(atomic_load(&nowait_reads), 3);

	/* the raise hook fires the vector while disarmed: the next wait drains it and times out */
	assert_int_equal(upci_port_raise_irq(port, 0), 0);
	assert_int_equal(upci_port_rx_wait(port, 0, 0), 0);
	assert_int_equal(atomic_load(&nowait_reads), 4);
	assert_int_equal(atomic_load(&d->rx[0].disarms), 1); /* not ended by the vector: the port disarms */
	assert_false(atomic_load(&d->rx[0].armed));

	/* after a timeout a late message may sit in the eventfd: drained, the wait times out */
	raise_vector(&d->rx[0]);
	assert_int_equal(upci_port_rx_wait(port, 0, 0), 0);
	assert_int_equal(atomic_load(&nowait_reads), 5);
	assert_int_equal(atomic_load(&d->rx[0].disarms), 2);

	/* an application's own arm always drains */
	S.on_armed_empty = arrive_and_fire_masked;
	assert_int_equal(upci_port_rx(port, 0, p + 2, 3), 1); /* clean again after this wake */
	assert_int_equal(atomic_load(&nowait_reads), 7);
	assert_int_equal(upci_port_rx_arm(port, 0), 0);
	assert_int_equal(atomic_load(&nowait_reads), 8);
	upci_port_rx_disarm(port, 0);

	/* a stop and start: unknown again */
	S.on_armed_empty = arrive_and_fire_masked;
	assert_int_equal(upci_port_rx(port, 0, p + 2, 3), 1);
	assert_int_equal(atomic_load(&nowait_reads), 10); /* drained: the arm above may have left a signal */
	upci_pkt_free(p, 3);
	assert_int_equal(upci_port_stop(port), 0);
	assert_int_equal(upci_port_start(port), 0);
	raise_vector(&d->rx[0]);
	assert_int_equal(upci_port_rx_wait(port, 0, 0), 0);
	assert_int_equal(atomic_load(&nowait_reads), 11);
	upci_kernel_install(uncounted);
}

struct waker {
	struct trx *r;
	int req_fd;                    /* >= 0: signal REQ instead of a frame */
	pthread_t thread;
};

/* The device, on another thread: once the rx thread has armed and re-polled, a frame and its vector (or REQ). */
static void *waker_main(void *arg)
{
	struct waker *k = arg;

	while (atomic_load(&k->r->armed_polls) == 0)
		sched_yield();
	if (k->req_fd >= 0) {
		if (eventfd_write(k->req_fd, 1))
			abort();
	} else {
		arrive(k->r, 7);
		raise_vector(k->r);
	}
	return NULL;
}

static void start_waker(struct waker *k, struct trx *r, int req_fd)
{
	*k = (struct waker){ .r = r, .req_fd = req_fd };
	assert_int_equal(pthread_create(&k->thread, NULL, waker_main, k), 0);
}

static void interrupt_woken_from_another_thread(void **state)
{
	struct world *w = *state;
	struct upci_port *port = open_port(w, UPCI_PORT_INTERRUPT);
	struct tdev *d = drv_of();
	struct upci_port_stats st;
	struct upci_pkt p[4];
	struct waker k;
	int got;

	start_waker(&k, &d->rx[1], -1);
	got = upci_port_rx(port, 1, p, 4); /* no timeout: only the vector ends this sleep */
	pthread_join(k.thread, NULL);
	assert_int_equal(got, 1);
	check_rx(&p[0], port, 1, 7);
	assert_int_equal(upci_port_stats(port, &st), 0);
	assert_int_equal(st.interrupt_wakeups, 1);
	assert_int_equal(st.q_wakeups[1], 1);
	assert_int_equal(st.timeouts, 0);
	assert_false(atomic_load(&d->rx[1].armed));
	upci_pkt_free(p, 1);
}

static void arrive_in_arm(struct trx *r)
{
	S.on_arm = NULL;
	arrive(r, 9); /* landed before the arm took effect: the device raises nothing for it */
}

/* The race-free re-poll: a frame that arrives while the queue is being armed is returned without a sleep. */
static void interrupt_repoll_catches_arrival_during_arm(void **state)
{
	struct world *w = *state;
	struct upci_port *port = open_port(w, UPCI_PORT_INTERRUPT);
	struct tdev *d = drv_of();
	struct upci_port_stats st;
	struct upci_pkt p[4];

	S.on_arm = arrive_in_arm;
	assert_int_equal(upci_port_rx(port, 0, p, 4), 1); /* with no timeout, a sleep here would never end */
	check_rx(&p[0], port, 0, 9);
	assert_int_equal(atomic_load(&d->rx[0].arms), 1);
	assert_int_equal(atomic_load(&d->rx[0].disarms), 1); /* disarmed again: the caller polls */
	assert_int_equal(upci_port_stats(port, &st), 0);
	assert_int_equal(st.interrupt_wakeups + st.timeouts, 0); /* it never slept */

	/* the same through upci_port_rx_arm(), for applications with their own epoll loop */
	S.on_arm = arrive_in_arm;
	assert_int_equal(upci_port_rx_arm(port, 0), 1);
	assert_false(atomic_load(&d->rx[0].armed));
	assert_int_equal(upci_port_rx_burst(port, 0, p + 1, 4), 1);
	assert_int_equal(upci_port_rx_arm(port, 0), 0); /* empty: armed, safe to sleep */
	assert_true(atomic_load(&d->rx[0].armed));
	upci_port_rx_disarm(port, 0);
	assert_false(atomic_load(&d->rx[0].armed));
	assert_int_equal(upci_port_rx_arm(port, TQ), -EINVAL);
	upci_pkt_free(p, 2);
}

/* ---- hybrid mode ---- */

static void hybrid_through_port_rx(void **state)
{
	struct world *w = *state;
	struct upci_port_cfg c = cfg_for(w, UPCI_PORT_HYBRID);
	const struct upci_hybrid_stats *hs;
	struct upci_port_stats st;
	struct upci_port *port;
	struct upci_pkt p[40];
	struct tdev *d;

	c.hybrid.idle_polls = 3;
	assert_int_equal(upci_port_open(FAKE_BDF, &c, &w->port), 0);
	port = w->port;
	assert_int_equal(upci_port_start(port), 0);
	d = drv_of();
	hs = upci_port_hybrid_stats(port, 0);
	assert_non_null(hs);
	assert_null(upci_port_hybrid_stats(port, TQ));

	/* busy: the frames come straight from the poll, at most what the caller has room for */
	for (uint32_t s = 0; s < 5; s++)
		arrive(&d->rx[0], s);
	assert_int_equal(upci_port_rx(port, 0, p, 3), 3);
	assert_int_equal(upci_port_rx(port, 0, p + 3, 32), 2);
	for (uint32_t s = 0; s < 5; s++)
		check_rx(&p[s], port, 0, s);
	assert_int_equal(hs->packets, 5);
	assert_int_equal(hs->arms, 0);

	/* idle: two empty polls, then the third arms, re-polls (empty; a frame lands after it), sleeps, wakes */
	S.on_armed_empty = arrive_and_raise;
	assert_int_equal(upci_port_rx(port, 0, p + 5, 32), 0);
	assert_int_equal(upci_port_rx(port, 0, p + 5, 32), 0);
	assert_int_equal(hs->arms, 0);
	assert_int_equal(upci_port_rx(port, 0, p + 5, 32), 0); /* slept; no timeout: only the vector ends it */
	assert_int_equal(hs->arms, 1);
	assert_int_equal(hs->sleeps, 1);
	assert_int_equal(hs->wakeups, 1);
	assert_int_equal(hs->rearm_catches, 0);
	assert_false(atomic_load(&d->rx[0].armed));
	assert_int_equal(upci_port_rx(port, 0, p + 5, 32), 1);
	check_rx(&p[5], port, 0, 42);
	assert_int_equal(hs->spurious_wakeups, 0);
	assert_int_equal(upci_port_stats(port, &st), 0);
	assert_int_equal(st.interrupt_wakeups, 1);
	assert_int_equal(st.q_wakeups[0], 1);

	/* idle again, and a frame lands during the arm: the re-poll returns it, no sleep */
	S.on_arm = arrive_in_arm;
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(upci_port_rx(port, 0, p + 6, 32), 0);
	assert_int_equal(upci_port_rx(port, 0, p + 6, 32), 1);
	check_rx(&p[6], port, 0, 9);
	assert_int_equal(hs->arms, 2);
	assert_int_equal(hs->rearm_catches, 1);
	assert_int_equal(hs->sleeps, 1);
	assert_false(atomic_load(&d->rx[0].armed));
	assert_int_equal(upci_port_rx(port, TQ, p, 1), -EINVAL);
	upci_pkt_free(p, 7);
	assert_int_equal(upci_pktpool_free_count(upci_port_pool(port, 0)), POOL_BUFS);
}

/* ---- removal ---- */

static void signal_req(struct trx *r)
{
	(void)r;
	S.on_armed_empty = NULL;
	assert_true(W->f.req_eventfd >= 0);
	assert_int_equal(eventfd_write(W->f.req_eventfd, 1), 0);
}

/* After the removal: -ENODEV everywhere, the driver untouched, on_remove once, the kernel's REQ unwired. */
static void check_removed(struct world *w, struct upci_port *port, struct upci_pkt *held)
{
	struct upci_port_stats st;
	struct upci_link link;
	struct upci_pkt p[2];

	assert_int_equal(w->removes, 1);
	assert_ptr_equal(w->removed_port, port);
	assert_int_equal(w->burst_in_remove, -ENODEV);
	assert_true(upci_port_removed(port));
	assert_true(upci_dev_removed(upci_port_dev(port)));
	assert_int_equal(w->f.req_eventfd, -1); /* the device went back to the kernel */
	assert_non_null(strstr(log_text, "removed"));

	assert_int_equal(upci_port_rx_burst(port, 0, p, 2), -ENODEV);
	assert_int_equal(upci_port_rx(port, 0, p, 2), -ENODEV);
	assert_int_equal(upci_port_rx_wait(port, 0, -1), -ENODEV);
	assert_int_equal(upci_port_rx_arm(port, 0), -ENODEV);
	upci_port_rx_disarm(port, 0);
	assert_int_equal(upci_port_rx_fd(port, 0), -ENODEV);
	assert_int_equal(upci_port_tx_burst(port, 0, held, 1), -ENODEV);
	assert_non_null(held->buf); /* still the caller's */
	assert_int_equal(upci_port_pkt_alloc(port, 0, p, 1), -ENODEV);
	assert_int_equal(upci_port_tx_done(port, 0), -ENODEV);
	assert_int_equal(upci_port_link(port, &link), -ENODEV);
	assert_false(link.up);
	assert_int_equal(upci_port_link_wait(port, -1), -ENODEV);
	assert_int_equal(upci_port_link_fd(port), -ENODEV);
	assert_int_equal(upci_port_start(port), -ENODEV);
	assert_int_equal(upci_port_stop(port), -ENODEV);
	assert_int_equal(upci_port_raise_irq(port, 0), -ENODEV);
	assert_int_equal(upci_port_process_events(port), -ENODEV);
	assert_int_equal(upci_port_stats(port, &st), -ENODEV);
	for (unsigned i = 0; i < 2 * UPCI_PORT_EVENT_CHECK; i++) /* never an event check on a released device */
		assert_int_equal(upci_port_rx_burst(port, 1, p, 2), -ENODEV);
	assert_int_equal(S.ops_after_removal, 0);
	assert_int_equal(w->removes, 1);
	upci_pkt_free(held, 1); /* packets the application holds stay valid until the close */
}

enum wait_call { CALL_RX, CALL_RX_WAIT };

/* A blocking receive with no timeout; the kernel asks for the device back (from the re-poll or a thread). */
static void removal_wakes(struct world *w, enum upci_port_mode mode, enum wait_call call, bool threaded)
{
	struct upci_port *port = open_port(w, mode);
	struct tdev *d = drv_of();
	struct upci_pkt p[4], held;
	struct waker k;
	int rc;

	assert_int_equal(upci_port_pkt_alloc(port, 0, &held, 1), 1);
	held.len = 60;
	if (mode == UPCI_PORT_HYBRID) { /* idle_polls 2: one empty poll now, the next call arms and sleeps */
		assert_int_equal(upci_port_rx(port, 0, p, 4), 0);
		assert_int_equal(atomic_load(&d->rx[0].arms), 0);
	}
	if (threaded)
		start_waker(&k, &d->rx[0], w->f.req_eventfd);
	else
		S.on_armed_empty = signal_req;
	rc = call == CALL_RX_WAIT ? upci_port_rx_wait(port, 0, -1) : upci_port_rx(port, 0, p, 4);
	if (threaded)
		pthread_join(k.thread, NULL);
	assert_int_equal(rc, -ENODEV);
	assert_int_equal(atomic_load(&d->rx[0].arms), 1);
	check_removed(w, port, &held);
	upci_port_close(port);
	w->port = NULL;
	assert_true(S.closed_removed);
	assert_int_equal(w->removes, 1);
}

static void removal_wakes_interrupt_rx(void **state)
{
	removal_wakes(*state, UPCI_PORT_INTERRUPT, CALL_RX, false);
}

static void removal_wakes_interrupt_rx_threaded(void **state)
{
	removal_wakes(*state, UPCI_PORT_INTERRUPT, CALL_RX, true);
}

static void removal_wakes_rx_wait_threaded(void **state)
{
	removal_wakes(*state, UPCI_PORT_INTERRUPT, CALL_RX_WAIT, true);
}

static void removal_wakes_hybrid_rx(void **state)
{
	removal_wakes(*state, UPCI_PORT_HYBRID, CALL_RX, false);
}

static void removal_wakes_hybrid_rx_threaded(void **state)
{
	removal_wakes(*state, UPCI_PORT_HYBRID, CALL_RX, true);
}

/* A busy poller never blocks: it sees the removal within UPCI_PORT_EVENT_CHECK bursts of the REQ. */
static void busy_poller_sees_removal(void **state)
{
	struct world *w = *state;
	struct upci_port *port = open_port(w, UPCI_PORT_POLL);
	struct tdev *d = drv_of();
	struct upci_pkt p[4], held;
	unsigned bursts = 0;
	int rc;

	for (unsigned i = 0; i < 100; i++) /* somewhere in the middle of the count */
		assert_int_equal(upci_port_rx_burst(port, 0, p, 4), 0);
	arrive(&d->rx[0], 1);
	assert_int_equal(upci_port_rx_burst(port, 0, &held, 1), 1);
	assert_int_equal(eventfd_write(w->f.req_eventfd, 1), 0);
	do
		rc = upci_port_rx_burst(port, 0, p, 4);
	while (rc == 0 && ++bursts <= 2 * UPCI_PORT_EVENT_CHECK);
	assert_int_equal(rc, -ENODEV);
	assert_true(bursts < UPCI_PORT_EVENT_CHECK);
	check_removed(w, port, &held);
	upci_port_close(port);
	w->port = NULL;
	assert_true(S.closed_removed);
}

/* The same for a queue that only transmits: its own count, from the first burst. */
static void busy_tx_poller_sees_removal(void **state)
{
	struct world *w = *state;
	struct upci_port *port = open_port(w, UPCI_PORT_POLL);
	struct upci_pkt p[1], held;
	unsigned bursts = 0;
	int rc;

	assert_int_equal(upci_port_pkt_alloc(port, 1, &held, 1), 1);
	held.len = 60;
	assert_int_equal(eventfd_write(w->f.req_eventfd, 1), 0);
	do
		rc = upci_port_tx_burst(port, 1, p, 0);
	while (rc == 0 && ++bursts <= 2 * UPCI_PORT_EVENT_CHECK);
	assert_int_equal(rc, -ENODEV);
	assert_true(bursts < UPCI_PORT_EVENT_CHECK);
	check_removed(w, port, &held);
}

/* Removal with buffers everywhere (the rx ring, the tx ring, the application): the close gives them all back
 * to pools it then frees; the teardown proves nothing is left. */
static void close_after_removal_leaks_nothing(void **state)
{
	struct world *w = *state;
	struct upci_port *port = open_port(w, UPCI_PORT_INTERRUPT);
	struct tdev *d = drv_of();
	struct upci_pkt p[4];
	int fds_open = w->f.live_fds;

	for (uint32_t s = 0; s < 6; s++)
		arrive(&d->rx[0], s);
	assert_int_equal(upci_port_rx_burst(port, 0, p, 4), 4);
	S.tx_hold = true;
	assert_int_equal(upci_port_tx_burst(port, 1, p, 2), 2); /* in flight */
	assert_int_equal(eventfd_write(w->f.req_eventfd, 1), 0);
	assert_int_equal(upci_port_process_events(port), -ENODEV);
	assert_int_equal(w->removes, 1);
	assert_true(w->f.live_fds < fds_open); /* the REQ/ERR eventfds went with the device */
	assert_int_equal(upci_port_rx_wait(port, 0, -1), -ENODEV);
	/* p[2], p[3] still held; two frames still in the rx ring, two in the tx ring */
	upci_port_close(port);
	w->port = NULL;
	assert_true(S.closed_removed);
	assert_int_equal(S.ops_after_removal, 0);
	assert_int_equal(w->removes, 1);
	/* type1, one device: its group left the container, which dropped every mapping; freeing the rings and
	 * pools afterwards must not try (and fail) to unmap them again. */
	if (strstr(log_text, "unmapping"))
		fail_msg("an unmap after the removal was attempted:\n%s", log_text);
}

/* ---- reset ---- */

/*
 * upci_port_reset() of a started port with frames in its rx ring and in flight on tx: stop (every buffer back
 * to its pool), the counters read, VFIO_DEVICE_RESET, the driver's reset, start — in that order. No frame of
 * before is delivered after; the pools are whole; new frames flow; the port's counters carry on.
 */
static void reset_restores_a_started_port(void **state)
{
	struct world *w = *state;
	struct upci_port *port = open_port(w, UPCI_PORT_POLL);
	struct tdev *d = drv_of();
	struct upci_pkt pkts[8], held[2];
	struct upci_pktpool *txp;
	struct upci_port_stats st;
	int fds = w->f.live_fds, maps = w->f.dma_maps;
	int rx_fd = upci_port_rx_fd(port, 0);

	for (uint32_t s = 0; s < 6; s++)
		arrive(&d->rx[0], s);
	assert_int_equal(upci_port_rx_burst(port, 0, held, 2), 2); /* the application keeps two across the reset */
	S.tx_hold = true;
	assert_int_equal(upci_port_pkt_alloc(port, 1, pkts, 3), 3);
	txp = pkts[0].pool;
	for (unsigned k = 0; k < 3; k++)
		pkts[k].len = 60;
	assert_int_equal(upci_port_tx_burst(port, 1, pkts, 3), 3);
	assert_int_equal(d->tx[1].n, 3);
	S.tx_hold = false;
	S.trace[0] = '\0';
	log_text[0] = '\0';

	assert_int_equal(upci_port_reset(port), 0);
	assert_string_equal(S.trace, "psrg");     /* stop, counters, (VFIO reset), driver reset, start */
	assert_int_equal(S.vfio_resets_at_reset, 1); /* the kernel reset the device before the driver's reset */
	assert_int_equal(vfio_resets(), 1);
	assert_ptr_equal(drv_of(), d);            /* the same driver instance: nothing reopened */
	assert_true(d->started);
	assert_string_equal(log_text, "");
	/* the 4 frames left in the ring and the 3 in flight went back to their pools; only the 2 held are out */
	assert_int_equal(upci_port_rx_burst(port, 0, pkts, 8), 0);
	assert_int_equal(upci_pktpool_free_count(upci_port_pool(port, 0)), POOL_BUFS - 2);
	assert_int_equal(upci_pktpool_free_count(txp), POOL_BUFS);
	check_rx(&held[0], port, 0, 0);           /* what the application held stays valid */
	check_rx(&held[1], port, 0, 1);
	upci_pkt_free(held, 2);
	/* the same vectors, eventfds, pools and DMA: nothing opened or closed */
	assert_int_equal(upci_port_rx_fd(port, 0), rx_fd);
	assert_int_equal(w->f.live_fds, fds);
	assert_int_equal(w->f.dma_maps, maps);
	/* traffic after the reset */
	arrive(&d->rx[0], 50);
	assert_int_equal(upci_port_rx_burst(port, 0, pkts, 8), 1);
	check_rx(&pkts[0], port, 0, 50);
	upci_pkt_free(pkts, 1);
	assert_int_equal(upci_port_stats(port, &st), 0);
	assert_int_equal(st.q_rx_packets[0], 3);  /* 2 before, 1 after: the counters carried on */
	assert_int_equal(st.q_tx_packets[1], 3);
}

/* A stopped port is reset and stays stopped; its next start starts it. */
static void reset_of_a_stopped_port_stays_stopped(void **state)
{
	struct world *w = *state;
	struct upci_port *port = open_port(w, UPCI_PORT_INTERRUPT);
	struct tdev *d = drv_of();

	assert_int_equal(upci_port_stop(port), 0);
	S.trace[0] = '\0';
	assert_int_equal(upci_port_reset(port), 0);
	assert_string_equal(S.trace, "sr");
	assert_false(d->started);
	assert_int_equal(d->starts, 1);
	assert_int_equal(upci_port_start(port), 0);
	assert_int_equal(d->starts, 2);
}

/* Failures: the kernel has no reset, the ioctl fails, the driver's reset fails: -errno, one line, stopped. */
static void reset_failures_leave_the_port_stopped(void **state)
{
	struct world *w = *state;
	struct upci_port *port;
	struct tdev *d;

	w->f.dev_flags &= ~VFIO_DEVICE_FLAGS_RESET;
	port = open_port(w, UPCI_PORT_POLL);
	d = drv_of();
	log_text[0] = '\0';
	assert_int_equal(upci_port_reset(port), -ENOTTY);
	assert_int_equal(log_lines(), 1);
	assert_non_null(strstr(log_text, FAKE_BDF));
	assert_false(d->started);
	assert_int_equal(upci_port_start(port), 0);  /* as it was: it starts again without a reset */
	upci_port_close(port);
	w->port = NULL;

	w->f.dev_flags |= VFIO_DEVICE_FLAGS_RESET;
	port = open_port(w, UPCI_PORT_POLL);
	d = drv_of();
	log_text[0] = '\0';
	w->f.fail_at[FAKE_IOCTL] = w->f.calls[FAKE_IOCTL] + 1;
	assert_int_equal(upci_port_reset(port), -EIO);
	assert_int_equal(log_lines(), 1);
	assert_non_null(strstr(log_text, "VFIO_DEVICE_RESET"));
	assert_false(d->started);
	S.reset_rc = -ETIMEDOUT;
	S.trace[0] = '\0';
	assert_int_equal(upci_port_reset(port), -ETIMEDOUT);
	assert_string_equal(S.trace, "sr");          /* stopped already: no stop; no start after the failure */
	assert_false(d->started);
	S.reset_rc = 0;
	assert_int_equal(upci_port_reset(port), 0);
	assert_false(d->started);                    /* it was stopped: it stays so */
}

/* A driver without a reset op: -EOPNOTSUPP, one line, nothing touched (still started). */
static void reset_needs_the_driver_op(void **state)
{
	struct world *w = *state;
	struct upci_port *port;

	assert_int_equal(upci_driver_unregister(&test_driver), 0);
	assert_int_equal(upci_driver_register(&test_driver_noreset), 0);
	port = open_port(w, UPCI_PORT_POLL);
	log_text[0] = '\0';
	S.trace[0] = '\0';
	assert_int_equal(upci_port_reset(port), -EOPNOTSUPP);
	assert_int_equal(log_lines(), 1);
	assert_non_null(strstr(log_text, "testnic-noreset"));
	assert_string_equal(S.trace, "");
	assert_int_equal(vfio_resets(), 0);
	assert_true(drv_of()->started);
	upci_port_close(port);
	w->port = NULL;
	assert_int_equal(upci_driver_unregister(&test_driver_noreset), 0);
	assert_int_equal(upci_driver_register(&test_driver), 0);
}

/* A removed port: -ENODEV, no op called, no VFIO reset. */
static void reset_after_removal_is_enodev(void **state)
{
	struct world *w = *state;
	struct upci_port *port = open_port(w, UPCI_PORT_POLL);

	assert_int_equal(eventfd_write(w->f.req_eventfd, 1), 0);
	assert_int_equal(upci_port_process_events(port), -ENODEV);
	S.trace[0] = '\0';
	assert_int_equal(upci_port_reset(port), -ENODEV);
	assert_string_equal(S.trace, "");
	assert_int_equal(vfio_resets(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(open_without_driver_is_enoent, setup, teardown),
		cmocka_unit_test_setup_teardown(open_bad_config_is_einval, setup, teardown),
		cmocka_unit_test_setup_teardown(open_driver_failures, setup, teardown),
		cmocka_unit_test(modes_by_name),
		cmocka_unit_test_setup_teardown(open_start_rx_tx_close, setup, teardown),
		cmocka_unit_test_setup_teardown(watchdog_runs_from_the_periodic_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(tx_refuses_what_the_device_cannot_reach, setup, teardown),
		cmocka_unit_test_setup_teardown(tx_references_each_pool_once, setup, teardown),
		cmocka_unit_test_setup_teardown(tx_keeps_foreign_pool_alive, setup, teardown),
		cmocka_unit_test_setup_teardown(interrupt_sleeps_until_the_vector_fires, setup, teardown),
		cmocka_unit_test_setup_teardown(interrupt_woken_from_another_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(automask_wait_skips_drain_and_disarm, setup, teardown),
		cmocka_unit_test_setup_teardown(interrupt_repoll_catches_arrival_during_arm, setup, teardown),
		cmocka_unit_test_setup_teardown(hybrid_through_port_rx, setup, teardown),
		cmocka_unit_test_setup_teardown(removal_wakes_interrupt_rx, setup, teardown),
		cmocka_unit_test_setup_teardown(removal_wakes_interrupt_rx_threaded, setup, teardown),
		cmocka_unit_test_setup_teardown(removal_wakes_rx_wait_threaded, setup, teardown),
		cmocka_unit_test_setup_teardown(removal_wakes_hybrid_rx, setup, teardown),
		cmocka_unit_test_setup_teardown(removal_wakes_hybrid_rx_threaded, setup, teardown),
		cmocka_unit_test_setup_teardown(busy_poller_sees_removal, setup, teardown),
		cmocka_unit_test_setup_teardown(busy_tx_poller_sees_removal, setup, teardown),
		cmocka_unit_test_setup_teardown(close_after_removal_leaks_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(reset_restores_a_started_port, setup, teardown),
		cmocka_unit_test_setup_teardown(reset_of_a_stopped_port_stays_stopped, setup, teardown),
		cmocka_unit_test_setup_teardown(reset_failures_leave_the_port_stopped, setup, teardown),
		cmocka_unit_test_setup_teardown(reset_needs_the_driver_op, setup, teardown),
		cmocka_unit_test_setup_teardown(reset_after_removal_is_enodev, setup, teardown),
	};

	alarm(60); /* a wake-up that never comes fails the run instead of hanging it */
	return cmocka_run_group_tests_name("port", tests, NULL, NULL);
}
