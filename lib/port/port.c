/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The port layer: one API over every driver (upci/port.h). It opens the device, matches the driver, owns
 * the pools, validates what applications hand to the driver, runs the interrupt and hybrid modes, and
 * handles device removal so no driver has to.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "../common/eventfd.h"
#include "upci/driver.h"
#include "upci/kernel.h"
#include "upci/log.h"
#include "upci/port.h"

#define LOG_PORT "port"
#define MAX_BURST 64      /* the most a driver op is handed at once (upci/driver.h) */
#define TX_POOL_REFS 4    /* pools a tx queue has room to reference at first; it grows when it sees more */

struct port_rxq {
	void *drv;
	struct upci_pktpool *pool;
	struct upci_port *port;
	unsigned q;
	unsigned bursts;              /* since the last event check (burst_check()) */
	struct upci_pkt *want;        /* upci_port_rx() in HYBRID mode: where the hybrid's poll delivers */
	unsigned want_max;
	struct upci_hybrid hybrid;
	uint64_t wakeups, timeouts;
	uint64_t hybrid_timeouts;     /* the hybrid's timeouts as of the last watchdog call (rx_hybrid()) */
	_Atomic bool signal_clean;    /* rx_automask: the vector's eventfd is empty and the queue disarmed by its
				       * last message (upci_port_rx_wait() then needs no drain before the arm) */
} __attribute__((aligned(64)));

struct port_txq {
	void *drv;
	struct upci_pktpool *pool;    /* upci_port_pkt_alloc()'s pool */
	struct upci_pktpool **held;   /* pools whose buffers this queue may hold: referenced */
	struct upci_pktpool *last;    /* the pool of the last frame accepted (checked once per change) */
	unsigned n_held, cap_held;
	unsigned bursts;
	uint64_t refused;
} __attribute__((aligned(64)));

struct upci_port {
	struct port_rxq rxq[UPCI_PORT_MAX_QUEUES];
	struct port_txq txq[UPCI_PORT_MAX_QUEUES];
	const struct upci_driver *drv;
	const struct upci_driver_ops *ops;
	void *priv;
	struct upci_dev *dev;
	struct upci_iommu *iommu;
	struct upci_port_cfg cfg;
	struct upci_drv_port dp;
	struct upci_port_info info;
	_Atomic bool removed;
	bool started;
	int gone_fd;                  /* eventfd, signalled (never drained) once the device is gone */
	int event_fd;                 /* epoll over the device's REQ/ERR fd and gone_fd */
	pthread_mutex_t event_lock;   /* one thread at a time processes events (trylock: never waits) */
	pthread_mutex_t watch_lock;   /* one thread at a time in the driver's watchdog and stats ops */
	uint64_t watch_due_ms;        /* the periodic watchdog's next run, at or after this (under watch_lock) */
};

static const char *const mode_names[] = { "poll", "interrupt", "hybrid" };

const char *upci_port_mode_name(enum upci_port_mode mode)
{
	return (unsigned)mode < 3 ? mode_names[mode] : "?";
}

int upci_port_mode_parse(const char *name, enum upci_port_mode *out)
{
	for (unsigned m = 0; name && m < 3; m++) {
		if (!strcmp(name, mode_names[m])) {
			*out = (enum upci_port_mode)m;
			return 0;
		}
	}
	return -EINVAL;
}

static bool removed(const struct upci_port *port)
{
	return atomic_load_explicit(&port->removed, memory_order_acquire);
}

/* The bus layer's event callback: runs in the thread that processes the REQ, before the release. */
static void on_dev_event(struct upci_dev *dev, enum upci_dev_event ev, void *arg)
{
	struct upci_port *port = arg;
	uint64_t one = 1;

	(void)dev;
	if (ev != UPCI_DEV_EVENT_REMOVE)
		return;
	atomic_store_explicit(&port->removed, true, memory_order_release);
	upci_log(UPCI_LOG_WARN, LOG_PORT, "%s: removed (the kernel asked for it back: unbind or unplug); released, "
		 "every call on the port now returns -ENODEV", upci_dev_name(dev));
	if (port->cfg.on_remove)
		port->cfg.on_remove(port, port->cfg.remove_arg);
	(void)!upci_kernel()->write(port->gone_fd, &one, sizeof(one)); /* wakes every other sleeper for good */
}

/* Has the kernel signalled REQ/ERR? One non-blocking poll of the port's event epoll: a single syscall. */
static bool events_pending(const struct upci_port *port)
{
	return upci_fd_wait(port->event_fd, 0) > 0;
}

int upci_port_process_events(struct upci_port *port)
{
	if (removed(port))
		return -ENODEV;
	if (!events_pending(port))
		return 0; /* the common case costs one poll(2), not a read of each event fd */
	if (pthread_mutex_trylock(&port->event_lock) == 0) {
		(void)upci_dev_process_events(port->dev);
		pthread_mutex_unlock(&port->event_lock);
	}
	return removed(port) ? -ENODEV : 0;
}

/* CLOCK_MONOTONIC_COARSE in ms, through the seam (the vDSO: no syscall). */
static uint64_t coarse_ms(void)
{
	struct timespec ts = { 0 };

	(void)upci_kernel()->clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The driver's dead-DMA watchdog (optional op), under watch_lock. @always (stats): wait for the lock and run.
 * Else (the periodic checks, wait timeouts): skip it when another thread is in, or when it ran less than
 * UPCI_PORT_WATCHDOG_MS ago.
 */
static void run_watchdog(struct upci_port *port, bool always)
{
	uint64_t now;

	if (!port->ops->watchdog || removed(port))
		return;
	if (!always && pthread_mutex_trylock(&port->watch_lock))
		return;
	if (always)
		pthread_mutex_lock(&port->watch_lock);
	now = coarse_ms();
	if (always || now >= port->watch_due_ms) {
		port->watch_due_ms = now + UPCI_PORT_WATCHDOG_MS;
		port->ops->watchdog(port->priv, now);
	}
	pthread_mutex_unlock(&port->watch_lock);
}

/* Called by every burst: one event check per UPCI_PORT_EVENT_CHECK bursts of the queue, no syscall else. */
static int burst_check(struct upci_port *port, unsigned *bursts)
{
	int rc;

	if (removed(port))
		return -ENODEV;
	if (++*bursts < UPCI_PORT_EVENT_CHECK)
		return 0;
	*bursts = 0;
	rc = upci_port_process_events(port);
	if (!rc)
		run_watchdog(port, false);
	return rc;
}

/*
 * Sleep until @fd fires, the device reports an event, or @timeout_ms passes.
 * Return: 1 @fd fired (its counter consumed), 0 timeout or a non-removal event, -ENODEV, -errno.
 */
static int sleep_on(struct upci_port *port, int fd, int timeout_ms)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = port->event_fd, .events = POLLIN } };
	int rc = upci_poll_retry(p, 2, timeout_ms);

	if (rc < 0)
		return rc;
	if (p[1].revents && upci_port_process_events(port) < 0)
		return -ENODEV;
	if (!(p[0].revents & POLLIN))
		return 0;
	(void)upci_eventfd_drain(fd, NULL);
	return 1;
}

/* ---- open / close ---- */

static int fill_cfg_defaults(struct upci_port_cfg *c)
{
	if (!c->rx_ring_size)
		c->rx_ring_size = 512;
	if (!c->tx_ring_size)
		c->tx_ring_size = 512;
	if (!c->pool_bufs)
		c->pool_bufs = c->rx_ring_size + c->tx_ring_size + 64;
	if (!c->wait_timeout_ms)
		c->wait_timeout_ms = 100;
	if (c->rx_queues > UPCI_PORT_MAX_QUEUES || c->tx_queues > UPCI_PORT_MAX_QUEUES || c->mode > UPCI_PORT_HYBRID ||
	    c->pool_bufs < c->rx_ring_size)
		return -EINVAL;
	return 0;
}

static int read_ids(struct upci_dev *dev, uint16_t *vendor, uint16_t *device)
{
	int rc = upci_cfg_read16(dev, 0, vendor);

	return rc ? rc : upci_cfg_read16(dev, 2, device);
}

static int open_events(struct upci_port *port)
{
	struct epoll_event ev = { .events = EPOLLIN };

	port->gone_fd = upci_kernel()->eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (port->gone_fd < 0)
		return -errno;
	port->event_fd = epoll_create1(EPOLL_CLOEXEC);
	if (port->event_fd < 0)
		return -errno;
	ev.data.fd = port->gone_fd;
	if (epoll_ctl(port->event_fd, EPOLL_CTL_ADD, port->gone_fd, &ev))
		return -errno;
	ev.data.fd = upci_dev_event_fd(port->dev);
	if (ev.data.fd >= 0 && epoll_ctl(port->event_fd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		return -errno;
	return 0;
}

static unsigned hybrid_poll(void *arg, unsigned budget)
{
	struct port_rxq *r = arg;
	unsigned n = budget < r->want_max ? budget : r->want_max;

	return r->port->ops->rx_burst(r->drv, r->want, n);
}

static void hybrid_arm(void *arg)
{
	struct port_rxq *r = arg;

	if (!removed(r->port))
		r->port->ops->rx_arm(r->drv);
}

static void hybrid_disarm(void *arg)
{
	struct port_rxq *r = arg;

	if (!removed(r->port))
		r->port->ops->rx_disarm(r->drv);
}

static int hybrid_event(void *arg)
{
	struct port_rxq *r = arg;

	return upci_port_process_events(r->port);
}

static int setup_hybrid(struct upci_port *port, struct port_rxq *r)
{
	static const struct upci_hybrid_ops ops = { .poll = hybrid_poll, .arm = hybrid_arm, .disarm = hybrid_disarm,
						    .event = hybrid_event };
	struct upci_hybrid_cfg hc = port->cfg.hybrid;
	int fd = upci_port_rx_fd(port, r->q), rc;

	if (fd < 0)
		return fd;
	if (!hc.sleep_timeout_ms)
		hc.sleep_timeout_ms = port->cfg.wait_timeout_ms;
	hc.automask = port->dp.rx_automask; /* the driver's word, not the application's */
	rc = upci_hybrid_init(&r->hybrid, &ops, r, fd, &hc);
	return rc ? rc : upci_hybrid_watch(&r->hybrid, port->event_fd);
}

static int setup_queues(struct upci_port *port)
{
	struct upci_iommu *m = port->iommu;
	int node = upci_dev_numa_node(port->dev), rc;

	for (unsigned q = 0; q < port->dp.rx_queues; q++) {
		struct port_rxq *r = &port->rxq[q];

		*r = (struct port_rxq){ .port = port, .q = q };
		rc = upci_pktpool_create(m, port->cfg.pool_bufs, port->dp.rx_buf_size, node, &r->pool);
		if (!rc)
			rc = port->ops->rx_queue_setup(port->priv, q, r->pool, &r->drv);
		if (!rc && port->cfg.mode == UPCI_PORT_HYBRID)
			rc = setup_hybrid(port, r);
		if (rc)
			return rc;
	}
	for (unsigned q = 0; q < port->dp.tx_queues; q++) {
		struct port_txq *t = &port->txq[q];

		rc = upci_pktpool_create(m, port->cfg.pool_bufs, port->dp.rx_buf_size, node, &t->pool);
		if (!rc)
			rc = port->ops->tx_queue_setup(port->priv, q, &t->drv);
		if (rc)
			return rc;
	}
	return 0;
}

static void fill_info(struct upci_port *port, uint16_t vendor, uint16_t device)
{
	struct upci_port_info *i = &port->info;

	i->driver = port->drv->name;
	i->device = upci_dev_name(port->dev);
	i->vendor_id = vendor;
	i->device_id = device;
	memcpy(i->mac, port->dp.mac, 6);
	i->rx_queues = port->dp.rx_queues;
	i->tx_queues = port->dp.tx_queues;
	i->rx_ring_size = port->dp.rx_ring_size;
	i->tx_ring_size = port->dp.tx_ring_size;
	i->vectors = port->dp.vectors;
}

static int bind_driver(struct upci_port *port)
{
	uint16_t vendor = 0, device = 0;
	int rc = read_ids(port->dev, &vendor, &device);

	if (rc)
		return rc;
	port->drv = upci_driver_match(vendor, device);
	if (!port->drv) {
		upci_log(UPCI_LOG_ERR, LOG_PORT, "%s: no driver for %04x:%04x (%u registered); upci-probe shows what "
			 "the device is", upci_dev_name(port->dev), vendor, device, upci_driver_count());
		return -ENOENT;
	}
	port->ops = port->drv->ops;
	port->dp.link_vector = -1;
	for (unsigned q = 0; q < UPCI_PORT_MAX_QUEUES; q++)
		port->dp.rx_vector[q] = -1;
	rc = port->ops->init(port->dev, &port->cfg, &port->priv, &port->dp);
	if (rc)
		return rc;
	if (!port->dp.rx_queues || port->dp.rx_queues > UPCI_PORT_MAX_QUEUES || !port->dp.tx_queues ||
	    port->dp.tx_queues > UPCI_PORT_MAX_QUEUES || port->dp.rx_buf_size < 64) {
		upci_log(UPCI_LOG_ERR, LOG_PORT, "%s: driver %s reported %u rx / %u tx queues, rx buffers of %u bytes: "
			 "a driver bug", upci_dev_name(port->dev), port->drv->name, port->dp.rx_queues, port->dp.tx_queues,
			 port->dp.rx_buf_size);
		return -EPROTO;
	}
	if (port->cfg.mode != UPCI_PORT_POLL && (!port->dp.irqs || port->dp.rx_vector[0] < 0)) {
		upci_log(UPCI_LOG_ERR, LOG_PORT, "%s: driver %s gives its queues no interrupt vectors: %s mode cannot "
			 "sleep; use poll mode", upci_dev_name(port->dev), port->drv->name, upci_port_mode_name(port->cfg.mode));
		return -EOPNOTSUPP;
	}
	fill_info(port, vendor, device);
	return 0;
}

int upci_port_open(const char *spec, const struct upci_port_cfg *cfg, struct upci_port **out)
{
	struct upci_dev_opts opts;
	struct upci_port *port;
	int rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (posix_memalign((void **)&port, 64, sizeof(*port)))
		return -ENOMEM;
	memset(port, 0, sizeof(*port));
	port->gone_fd = port->event_fd = -1;
	pthread_mutex_init(&port->event_lock, NULL);
	pthread_mutex_init(&port->watch_lock, NULL);
	if (cfg)
		port->cfg = *cfg;
	rc = fill_cfg_defaults(&port->cfg);
	if (rc) {
		upci_log(UPCI_LOG_ERR, LOG_PORT, "%s: bad port configuration: at most %u queues, a known mode, a pool "
			 "at least one rx ring large", spec && *spec ? spec : "(PCIDEVICE_*)", UPCI_PORT_MAX_QUEUES);
		upci_port_close(port);
		return rc;
	}
	opts = port->cfg.dev;
	opts.on_event = on_dev_event;
	opts.event_arg = port;
	rc = upci_dev_open(spec, &opts, &port->dev);
	if (!rc) {
		port->iommu = upci_dev_iommu(port->dev);
		rc = bind_driver(port);
	}
	if (!rc)
		rc = open_events(port);
	if (!rc)
		rc = setup_queues(port);
	if (rc) {
		upci_port_close(port);
		return rc;
	}
	*out = port;
	return 0;
}

void upci_port_close(struct upci_port *port)
{
	if (!port)
		return;
	if (port->priv) {
		if (!removed(port))
			port->ops->stop(port->priv);
		port->ops->close(port->priv, removed(port) || (port->dev && upci_dev_removed(port->dev)));
	}
	for (unsigned q = 0; q < UPCI_PORT_MAX_QUEUES; q++) {
		upci_pktpool_destroy(port->rxq[q].pool);
		upci_pktpool_destroy(port->txq[q].pool);
		for (unsigned i = 0; i < port->txq[q].n_held; i++)
			upci_pktpool_unref(port->txq[q].held[i]);
		free(port->txq[q].held);
	}
	if (port->event_fd >= 0)
		close(port->event_fd);
	if (port->gone_fd >= 0)
		upci_kernel()->close(port->gone_fd);
	upci_dev_close(port->dev);
	pthread_mutex_destroy(&port->event_lock);
	pthread_mutex_destroy(&port->watch_lock);
	free(port);
}

/* Signals may sit in the rx eventfds (a start, a reset, a raise): every queue's next wait drains first. */
static void signals_unknown(struct upci_port *port)
{
	for (unsigned q = 0; q < UPCI_PORT_MAX_QUEUES; q++)
		atomic_store_explicit(&port->rxq[q].signal_clean, false, memory_order_relaxed);
}

/* The same for the hybrid's queues (their state is the queue thread's: a start, not a raise from elsewhere). */
static void hybrid_signals_unknown(struct upci_port *port)
{
	if (port->cfg.mode == UPCI_PORT_HYBRID)
		for (unsigned q = 0; q < port->dp.rx_queues; q++)
			upci_hybrid_forget(&port->rxq[q].hybrid);
}

int upci_port_start(struct upci_port *port)
{
	int rc;

	if (removed(port))
		return -ENODEV;
	if (port->started)
		return 0;
	signals_unknown(port);
	hybrid_signals_unknown(port);
	rc = port->ops->start(port->priv);
	port->started = !rc;
	return rc;
}

int upci_port_stop(struct upci_port *port)
{
	int rc;

	if (removed(port))
		return -ENODEV;
	if (!port->started)
		return 0;
	rc = port->ops->stop(port->priv);
	port->started = false;
	return rc;
}

/* The device's counters into the driver's accumulators before a reset clears them (upci/driver.h @reset). */
static void save_counters(struct upci_port *port)
{
	struct upci_port_stats discard;

	memset(&discard, 0, sizeof(discard));
	port->ops->stats(port->priv, &discard);
}

int upci_port_reset(struct upci_port *port)
{
	bool was_started = port->started;
	int rc;

	if (removed(port))
		return -ENODEV;
	if (!port->ops->reset) {
		upci_log(UPCI_LOG_ERR, LOG_PORT, "%s: driver %s cannot re-initialise a reset device; close and reopen the "
			 "port instead", upci_port_name(port), port->drv->name);
		return -EOPNOTSUPP;
	}
	/* Each step that fails has logged its line (bus layer, driver); the port is then left stopped. */
	rc = upci_port_stop(port); /* the rings give every buffer back: nothing of before is delivered after */
	if (!rc) {
		save_counters(port);
		rc = upci_dev_reset(port->dev);
	}
	if (!rc)
		rc = removed(port) ? -ENODEV : port->ops->reset(port->priv);
	if (!rc && was_started)
		rc = upci_port_start(port);
	return rc;
}

const struct upci_port_info *upci_port_info(const struct upci_port *port)
{
	return &port->info;
}

const char *upci_port_name(const struct upci_port *port)
{
	return upci_dev_name(port->dev);
}

/* ---- rx ---- */

int upci_port_rx_burst(struct upci_port *port, unsigned q, struct upci_pkt *pkts, unsigned n)
{
	struct port_rxq *r;
	int rc;

	if (q >= port->dp.rx_queues)
		return -EINVAL;
	r = &port->rxq[q];
	rc = burst_check(port, &r->bursts);
	if (rc)
		return rc;
	return (int)port->ops->rx_burst(r->drv, pkts, n < MAX_BURST ? n : MAX_BURST);
}

/* Arm @r (vector eventfd @fd); @drain: empty the eventfd first. 1: a frame is already waiting (disarmed again). */
static int rxq_arm(struct upci_port *port, struct port_rxq *r, int fd, bool drain)
{
	if (drain)
		(void)upci_eventfd_drain(fd, NULL); /* signals from before the arm */
	atomic_store_explicit(&r->signal_clean, false, memory_order_relaxed); /* armed: it may fire from now on */
	port->ops->rx_arm(r->drv);
	if (port->ops->rx_ready(r->drv)) { /* landed before the arm: it raised no interrupt */
		port->ops->rx_disarm(r->drv);
		return 1;
	}
	return 0;
}

int upci_port_rx_arm(struct upci_port *port, unsigned q)
{
	int fd = upci_port_rx_fd(port, q);

	return fd < 0 ? fd : rxq_arm(port, &port->rxq[q], fd, true); /* the application's loop: always drained */
}

void upci_port_rx_disarm(struct upci_port *port, unsigned q)
{
	if (q < port->dp.rx_queues && !removed(port))
		port->ops->rx_disarm(port->rxq[q].drv);
}

int upci_port_rx_wait(struct upci_port *port, unsigned q, int timeout_ms)
{
	int fd = upci_port_rx_fd(port, q), rc;
	struct port_rxq *r;

	if (fd < 0)
		return fd;
	r = &port->rxq[q];
	rc = rxq_arm(port, r, fd, !atomic_load_explicit(&r->signal_clean, memory_order_relaxed));
	if (rc)
		return rc; /* 1: a frame is waiting */
	rc = sleep_on(port, fd, timeout_ms);
	if (rc == 1 && port->dp.rx_automask)
		atomic_store_explicit(&r->signal_clean, true, memory_order_relaxed); /* consumed, and masked by it */
	else
		upci_port_rx_disarm(port, q);
	if (rc < 0)
		return rc;
	if (rc) {
		r->wakeups++;
	} else {
		r->timeouts++;
		run_watchdog(port, false); /* nothing arrived: is the device still reaching memory? */
	}
	return rc || port->ops->rx_ready(r->drv);
}

static int rx_hybrid(struct upci_port *port, struct port_rxq *r, struct upci_pkt *pkts, unsigned n)
{
	int rc = burst_check(port, &r->bursts);

	if (rc)
		return rc;
	r->want = pkts;
	r->want_max = n < MAX_BURST ? n : MAX_BURST;
	r->hybrid.cfg.budget = r->want_max;
	rc = upci_hybrid_step(&r->hybrid);
	if (r->hybrid.stats.timeouts != r->hybrid_timeouts) { /* a sleep timed out: as upci_port_rx_wait() */
		r->hybrid_timeouts = r->hybrid.stats.timeouts;
		run_watchdog(port, false);
	}
	return rc < 0 && removed(port) ? -ENODEV : rc;
}

int upci_port_rx(struct upci_port *port, unsigned q, struct upci_pkt *pkts, unsigned n)
{
	int got, rc;

	if (q >= port->dp.rx_queues)
		return -EINVAL;
	if (port->cfg.mode == UPCI_PORT_HYBRID)
		return rx_hybrid(port, &port->rxq[q], pkts, n);
	got = upci_port_rx_burst(port, q, pkts, n);
	if (got || port->cfg.mode == UPCI_PORT_POLL)
		return got;
	rc = upci_port_rx_wait(port, q, port->cfg.wait_timeout_ms);
	return rc <= 0 ? rc : upci_port_rx_burst(port, q, pkts, n);
}

int upci_port_rx_fd(const struct upci_port *port, unsigned q)
{
	if (q >= port->dp.rx_queues || port->dp.rx_vector[q] < 0 || !port->dp.irqs)
		return -EINVAL;
	if (removed(port))
		return -ENODEV;
	return upci_irqs_fd(port->dp.irqs, (unsigned)port->dp.rx_vector[q]);
}

struct upci_pktpool *upci_port_pool(const struct upci_port *port, unsigned q)
{
	return q < port->dp.rx_queues ? port->rxq[q].pool : NULL;
}

/* ---- tx ---- */

/* May tx queue @t hand buffers of @pool to this port's device? Takes a reference on first use. */
static bool tx_pool_ok(struct upci_port *port, struct port_txq *t, struct upci_pktpool *pool)
{
	if (!pool || pool->dma->iommu != port->iommu)
		return false;
	for (unsigned i = 0; i < t->n_held; i++)
		if (t->held[i] == pool)
			return true;
	if (t->n_held == t->cap_held) { /* once per new pool beyond the room: off the steady-state path */
		unsigned cap = t->cap_held ? 2 * t->cap_held : TX_POOL_REFS;
		struct upci_pktpool **grown = realloc(t->held, cap * sizeof(*grown));

		if (!grown)
			return false; /* refused, counted */
		t->held = grown;
		t->cap_held = cap;
	}
	upci_pktpool_ref(pool);
	t->held[t->n_held++] = pool;
	return true;
}

/* Check each frame's buffer against its pool; refused frames stay in @pkts untouched, counted. */
static bool tx_frame_ok(struct upci_port *port, struct port_txq *t, const struct upci_pkt *p)
{
	if (!p->pool)
		return false; /* names no pool (t->last starts NULL: the cache below must not match it) */
	if (p->pool != t->last) {
		if (!tx_pool_ok(port, t, p->pool))
			return false;
		t->last = p->pool;
	}
	return upci_pktpool_owns(p->pool, p->buf) && p->len && p->len <= p->pool->buf_size;
}

/* The frames of @pkts the device may take, compacted into @ok (@idx: where each came from); refused counted. */
static unsigned tx_compact(struct upci_port *port, struct port_txq *t, const struct upci_pkt *pkts, unsigned from,
			   unsigned n, struct upci_pkt *ok, unsigned *idx)
{
	unsigned k = 0;

	for (unsigned i = from; i < n; i++) {
		if (tx_frame_ok(port, t, &pkts[i])) {
			idx[k] = i;
			ok[k++] = pkts[i];
		} else if (pkts[i].buf) {
			t->refused++;
		}
	}
	return k;
}

static unsigned tx_chunk(struct upci_port *port, struct port_txq *t, struct upci_pkt *pkts, unsigned n)
{
	struct upci_pkt ok[MAX_BURST];
	unsigned idx[MAX_BURST], good = 0, k, sent;

	while (good < n && tx_frame_ok(port, t, &pkts[good]))
		good++;
	if (good == n)
		return port->ops->tx_burst(t->drv, pkts, n); /* the common case: all good, handed over in place */
	k = tx_compact(port, t, pkts, good, n, ok + good, idx + good);
	for (unsigned j = 0; j < good; j++) {
		idx[j] = j;
		ok[j] = pkts[j];
	}
	k += good;
	sent = k ? port->ops->tx_burst(t->drv, ok, k) : 0;
	for (unsigned j = 0; j < k; j++)
		pkts[idx[j]].buf = ok[j].buf; /* NULL for each frame the ring took */
	return sent;
}

int upci_port_tx_burst(struct upci_port *port, unsigned q, struct upci_pkt *pkts, unsigned n)
{
	struct port_txq *t;
	unsigned sent = 0;
	int rc;

	if (q >= port->dp.tx_queues)
		return -EINVAL;
	t = &port->txq[q];
	rc = burst_check(port, &t->bursts);
	if (rc)
		return rc;
	while (sent < n) {
		unsigned chunk = n - sent < MAX_BURST ? n - sent : MAX_BURST, k = tx_chunk(port, t, pkts + sent, chunk);

		sent += k;
		if (k < chunk)
			break;
	}
	return (int)sent;
}

int upci_port_pkt_alloc(struct upci_port *port, unsigned q, struct upci_pkt *pkts, unsigned n)
{
	struct port_txq *t;

	if (q >= port->dp.tx_queues)
		return -EINVAL;
	if (removed(port))
		return -ENODEV;
	t = &port->txq[q];
	if (upci_pktpool_free_count(t->pool) < n)
		port->ops->tx_clean(t->drv);
	return (int)upci_pktpool_alloc(t->pool, pkts, n);
}

int upci_port_tx_done(struct upci_port *port, unsigned q)
{
	if (q >= port->dp.tx_queues)
		return -EINVAL;
	if (removed(port))
		return -ENODEV;
	return port->ops->tx_clean(port->txq[q].drv);
}

/* ---- link, stats, vectors ---- */

int upci_port_link(struct upci_port *port, struct upci_link *out)
{
	memset(out, 0, sizeof(*out));
	if (removed(port))
		return -ENODEV;
	port->ops->link_get(port->priv, out);
	return 0;
}

int upci_port_link_fd(const struct upci_port *port)
{
	if (port->dp.link_vector < 0 || !port->dp.irqs)
		return -EOPNOTSUPP;
	if (removed(port))
		return -ENODEV;
	return upci_irqs_fd(port->dp.irqs, (unsigned)port->dp.link_vector);
}

int upci_port_link_wait(struct upci_port *port, int timeout_ms)
{
	int fd = upci_port_link_fd(port), rc;

	if (fd < 0)
		return fd;
	if (!port->ops->link_event)
		return -EOPNOTSUPP;
	rc = sleep_on(port, fd, timeout_ms);
	if (rc < 0 || (rc == 0 && timeout_ms != 0))
		return rc;
	return removed(port) ? -ENODEV : port->ops->link_event(port->priv); /* timeout 0: check the device now */
}

int upci_port_stats(struct upci_port *port, struct upci_port_stats *out)
{
	memset(out, 0, sizeof(*out));
	run_watchdog(port, true);
	pthread_mutex_lock(&port->watch_lock);
	port->ops->stats(port->priv, out); /* drivers read no register once the device is gone */
	pthread_mutex_unlock(&port->watch_lock);
	for (unsigned q = 0; q < port->dp.rx_queues; q++) {
		const struct port_rxq *r = &port->rxq[q];

		out->q_wakeups[q] = r->wakeups + r->hybrid.stats.wakeups;
		out->interrupt_wakeups += out->q_wakeups[q];
		out->timeouts += r->timeouts + r->hybrid.stats.timeouts;
	}
	for (unsigned q = 0; q < port->dp.tx_queues; q++)
		out->drv_tx_refused += port->txq[q].refused;
	return removed(port) ? -ENODEV : 0;
}

const struct upci_hybrid_stats *upci_port_hybrid_stats(const struct upci_port *port, unsigned q)
{
	return q < port->dp.rx_queues && port->cfg.mode == UPCI_PORT_HYBRID ? &port->rxq[q].hybrid.stats : NULL;
}

int upci_port_rx_vector(const struct upci_port *port, unsigned q)
{
	return q < port->dp.rx_queues ? port->dp.rx_vector[q] : -EINVAL;
}

int upci_port_link_vector(const struct upci_port *port)
{
	return port->dp.link_vector >= 0 ? port->dp.link_vector : -EOPNOTSUPP;
}

int upci_port_raise_irq(struct upci_port *port, unsigned vector)
{
	if (removed(port))
		return -ENODEV;
	if (!port->ops->raise_irq)
		return -EOPNOTSUPP;
	if (vector >= port->dp.vectors)
		return -EINVAL;
	signals_unknown(port); /* it fires while disarmed: the next wait drains */
	return port->ops->raise_irq(port->priv, vector);
}

int upci_port_event_fd(const struct upci_port *port)
{
	return port->event_fd;
}

bool upci_port_removed(const struct upci_port *port)
{
	return removed(port);
}

struct upci_dev *upci_port_dev(const struct upci_port *port)
{
	return port->dev;
}

struct upci_irqs *upci_port_irqs(const struct upci_port *port)
{
	return port->dp.irqs;
}
