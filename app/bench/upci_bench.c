/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * upci-bench — interrupt latency, round trip, throughput, idle CPU and MMIO cost of upci on the 82574L.
 *
 *   upci-bench [--device A[,B]] [--quick] [--json FILE] [--only irq,rtt,pps,idle,mmio]
 *
 * Every figure is measured in the same run as its baselines, because only ratios survive emulation and
 * noisy hosts: the irq methods against the kernel loopback trigger and a plain eventfd wake-up, the rtt
 * and pps figures against the kernel driver and DPDK (measured by kernel_rtt and dpdk_baseline in the
 * same VM boot and merged by report.py). Timestamps: CLOCK_MONOTONIC; waiter and trigger on different CPUs.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "drivers/net/e1000e/e1000e_regs.h"
#include "upci/e1000e.h"
#include "upci/io.h"
#include "upci/log.h"
#include "upci/msix.h"
#include "upci/vfio.h"

struct opts {
	const char *dev_a, *dev_b;
	bool quick;
	const char *json_path;
	const char *only;
	unsigned irq_trials, rtt_trials, pps_frames;
	unsigned idle_ms;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_us(unsigned us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set); /* best effort: one vCPU guests run everything on 0 */
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "upci-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

/* ---- percentiles and JSON ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(const uint64_t *sorted, unsigned n, double p)
{
	unsigned i = (unsigned)(p * (n - 1) + 0.5);

	return (double)sorted[i < n ? i : n - 1] / 1e3;
}

/* {"p50_us", ..., "samples_us": [...] } from @n nanosecond samples (in trial order). */
static json_object *latency_json(const uint64_t *ns, unsigned n, unsigned lost)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	uint64_t *s = malloc((n ? n : 1) * sizeof(*s));

	memcpy(s, ns, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_u64);
	if (n) {
		json_object_object_add(o, "p50_us", json_object_new_double(pct(s, n, 0.50)));
		json_object_object_add(o, "p90_us", json_object_new_double(pct(s, n, 0.90)));
		json_object_object_add(o, "p99_us", json_object_new_double(pct(s, n, 0.99)));
		json_object_object_add(o, "p999_us", json_object_new_double(pct(s, n, 0.999)));
		json_object_object_add(o, "max_us", json_object_new_double((double)s[n - 1] / 1e3));
	}
	json_object_object_add(o, "trials", json_object_new_int((int)(n + lost)));
	json_object_object_add(o, "lost", json_object_new_int((int)lost));
	for (unsigned i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_double((double)ns[i] / 1e3));
	json_object_object_add(o, "samples_us", arr);
	free(s);
	return o;
}

static void print_latency(const char *group, const char *name, json_object *o)
{
	json_object *p50, *p99;

	if (json_object_object_get_ex(o, "p50_us", &p50) && json_object_object_get_ex(o, "p99_us", &p99))
		printf("%-5s %-18s p50 %9.1f us   p99 %9.1f us\n", group, name, json_object_get_double(p50),
		       json_object_get_double(p99));
	else
		printf("%-5s %-18s no samples\n", group, name);
}

/* ---- irq: device-raised MSI-X, the loopback trigger, and a plain eventfd ---- */

enum wait_kind { WAIT_UPCI, WAIT_READ, WAIT_EPOLL, WAIT_BUSY };

struct irq_run {
	struct upci_irqs *irqs;
	int fd;                     /* the eventfd the waiter watches (WAIT_READ/EPOLL/BUSY) */
	enum wait_kind how;
	unsigned trials;
	/* Handshake, one trial at a time: the waiter publishes "waiting for t", the trigger side fires, the
	 * waiter stores its wake time then the trial number, the trigger side takes the sample and acks. */
	_Atomic uint64_t waiting, woke_seq, woke_time, ack;
	volatile bool stop;
};

static void wait_once(struct irq_run *r)
{
	uint64_t v;

	switch (r->how) {
	case WAIT_UPCI:
		while (upci_irqs_wait(r->irqs, 0, 1000) == 0 && !r->stop)
			;
		break;
	case WAIT_READ: /* a blocking eventfd: a bare read() */
		while (read(r->fd, &v, sizeof(v)) != sizeof(v) && !r->stop)
			;
		break;
	case WAIT_EPOLL: {
		int ep = epoll_create1(0);
		struct epoll_event ev = { .events = EPOLLIN }, out;

		epoll_ctl(ep, EPOLL_CTL_ADD, r->fd, &ev);
		while (epoll_wait(ep, &out, 1, 1000) <= 0 && !r->stop)
			;
		(void)!read(r->fd, &v, sizeof(v));
		close(ep);
		break;
	}
	case WAIT_BUSY: /* a non-blocking eventfd read in a loop */
		while (read(r->fd, &v, sizeof(v)) != sizeof(v) && !r->stop)
			;
		break;
	}
}

static void *irq_waiter(void *arg)
{
	struct irq_run *r = arg;

	pin_to_cpu(1);
	for (uint64_t t = 1; !r->stop; t++) {
		atomic_store(&r->waiting, t);
		wait_once(r);
		atomic_store(&r->woke_time, now_ns());
		atomic_store(&r->woke_seq, t);
		while (atomic_load(&r->ack) != t && !r->stop)
			sleep_us(20);
	}
	return NULL;
}

/* Wake a waiter that the trigger did not reach (so the handshake can go on). */
static void unstick(struct irq_run *r)
{
	if (r->how == WAIT_UPCI)
		upci_irqs_trigger(r->irqs, 0);
	else
		eventfd_write(r->fd, 1);
}

typedef void (*trigger_fn)(void *ctx);

/* Run the trials: waiter blocked -> t0 -> trigger -> the waiter wakes at t1. Samples t1 - t0. */
static json_object *irq_measure(struct irq_run *r, trigger_fn trigger, void *ctx, const char *name)
{
	uint64_t *ns = calloc(r->trials, sizeof(*ns));
	unsigned got = 0, lost = 0;
	pthread_t th;
	json_object *o;

	r->stop = false;
	atomic_store(&r->waiting, 0);
	atomic_store(&r->woke_seq, 0);
	atomic_store(&r->ack, 0);
	pthread_create(&th, NULL, irq_waiter, r);
	pin_to_cpu(0);
	for (uint64_t t = 1, done = 0; done < r->trials; t++) {
		uint64_t t0, deadline = now_ns() + 2000000000ull;

		while (atomic_load(&r->waiting) != t && now_ns() < deadline)
			sleep_us(10);
		sleep_us(300); /* past QEMU's 128 us throttle window; the waiter is asleep by now */
		if (atomic_load(&r->woke_seq) == t) {
			/* Woken before we fired: a late duplicate of the previous message (QEMU re-sends after a
			 * throttled one). Not a sample: let the waiter go round again. */
			atomic_store(&r->ack, t);
			continue;
		}
		t0 = now_ns();
		trigger(ctx);
		while (atomic_load(&r->woke_seq) != t && now_ns() - t0 < 1000000000ull)
			;
		if (atomic_load(&r->woke_seq) == t) {
			ns[got++] = atomic_load(&r->woke_time) - t0;
		} else {
			lost++;
			unstick(r);
			while (atomic_load(&r->woke_seq) != t && now_ns() < deadline + 2000000000ull)
				sleep_us(100);
		}
		atomic_store(&r->ack, t);
		if ((++done % 500) == 0)
			progress("irq %s: %" PRIu64 "/%u", name, done, r->trials);
	}
	r->stop = true;
	unstick(r);
	pthread_join(th, NULL);
	o = latency_json(ns, got, lost);
	free(ns);
	return o;
}

struct ics_ctx {
	const struct upci_bar *bar0;
};

static void trigger_ics(void *ctx)
{
	const struct upci_bar *bar0 = ((struct ics_ctx *)ctx)->bar0;

	upci_bar_write32(bar0, E1000E_IMS, E1000E_ICR_RXQ0); /* QEMU clears it after each message */
	upci_bar_write32(bar0, E1000E_ICS, E1000E_ICR_RXQ0);
}

static void trigger_loopback(void *ctx)
{
	upci_irqs_trigger(ctx, 0);
}

static void trigger_eventfd(void *ctx)
{
	eventfd_write(*(int *)ctx, 1);
}

/* Route rx0 to vector 0 and let it auto-clear, as the driver does (82574 datasheet 7.4, IVAR). */
static void program_rx0_vector(const struct upci_bar *bar0)
{
	upci_bar_write32(bar0, E1000E_IMC, ~0u);
	upci_bar_write32(bar0, E1000E_ICR, ~0u);
	upci_bar_write32(bar0, E1000E_CTRL_EXT, upci_bar_read32(bar0, E1000E_CTRL_EXT) | E1000E_CTRL_EXT_EIAME |
						   E1000E_CTRL_EXT_PBA_CLR);
	upci_bar_write32(bar0, E1000E_IVAR, e1000e_ivar(E1000E_IVAR_RXQ0, 0) | E1000E_IVAR_TX_EVERY_WB);
	upci_bar_write32(bar0, E1000E_EIAC, E1000E_ICR_RXQ0);
}

static int bench_irq(const struct opts *o, json_object *root)
{
	struct upci_dev *dev;
	struct upci_irqs *irqs;
	struct ics_ctx ics;
	struct irq_run r = { .trials = o->irq_trials, .fd = -1 };
	json_object *irq = json_object_new_object();
	int blocking, plain, rc = upci_dev_open(o->dev_a, NULL, &dev);

	if (rc)
		return rc;
	upci_dev_enable(dev);
	ics.bar0 = upci_dev_bar(dev, 0);
	program_rx0_vector(ics.bar0);
	rc = upci_irqs_open(dev, UPCI_IRQ_MSIX, &irqs);
	if (!rc)
		rc = upci_irqs_enable(irqs, 0, 1);
	if (rc) {
		upci_dev_close(dev);
		return rc;
	}
	r.irqs = irqs;
	r.how = WAIT_UPCI;
	progress("irq: ICS -> MSI-X -> upci_irqs_wait, %u trials", r.trials);
	json_object_object_add(irq, "ics", irq_measure(&r, trigger_ics, &ics, "ics"));
	progress("irq: kernel loopback trigger -> upci_irqs_wait");
	json_object_object_add(irq, "loopback", irq_measure(&r, trigger_loopback, irqs, "loopback"));
	/* The same vector on a blocking eventfd of our own: a bare read(), epoll, and busy polling. */
	blocking = eventfd(0, EFD_CLOEXEC);
	upci_irqs_rewire(irqs, 0, blocking);
	r.fd = blocking;
	r.how = WAIT_READ;
	progress("irq: ICS -> bare blocking read()");
	json_object_object_add(irq, "ics_raw", irq_measure(&r, trigger_ics, &ics, "ics_raw"));
	r.how = WAIT_EPOLL;
	progress("irq: ICS -> epoll_wait + read");
	json_object_object_add(irq, "ics_epoll", irq_measure(&r, trigger_ics, &ics, "ics_epoll"));
	close(blocking);
	plain = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	upci_irqs_rewire(irqs, 0, plain);
	r.fd = plain;
	r.how = WAIT_BUSY;
	progress("irq: ICS -> busy-polled eventfd");
	json_object_object_add(irq, "ics_busy", irq_measure(&r, trigger_ics, &ics, "ics_busy"));
	close(plain);
	upci_irqs_rewire(irqs, 0, upci_irqs_fd(irqs, 0));
	/* The scheduler floor: one thread writes an eventfd another blocks on; no device, no kernel IRQ. */
	plain = eventfd(0, EFD_CLOEXEC);
	r.fd = plain;
	r.how = WAIT_READ;
	progress("irq: plain eventfd thread -> thread");
	json_object_object_add(irq, "eventfd", irq_measure(&r, trigger_eventfd, &plain, "eventfd"));
	close(plain);
	json_object_object_add(root, "irq", irq);
	upci_irqs_close(irqs);
	upci_dev_close(dev);
	return 0;
}

/* ---- rtt: A sends, B reflects, A receives ---- */

enum { ETH_BENCH = 0x88b5, RTT_FRAME = 64 };

struct rtt_side {
	struct e1000e *nic;
	enum e1000e_mode mode;
	struct upci_hybrid h;
	unsigned got;              /* frames received by the current poll hook */
	struct e1000e_pkt last;    /* the frame the hook received */
};

static unsigned side_poll(void *arg, unsigned budget)
{
	struct rtt_side *s = arg;
	struct e1000e_pkt p;
	unsigned n;

	(void)budget;
	n = e1000e_rx_burst(s->nic, 0, &p, 1);
	if (n)
		s->last = p;
	s->got += n;
	return n;
}

static void side_arm(void *arg)
{
	e1000e_rx_arm(((struct rtt_side *)arg)->nic, 0);
}

static void side_disarm(void *arg)
{
	e1000e_rx_disarm(((struct rtt_side *)arg)->nic, 0);
}

/* Receive one frame on queue 0 the way the mode says. Return: true with s->last, false on timeout. */
static bool side_receive(struct rtt_side *s, uint64_t timeout_ns, volatile bool *stop)
{
	uint64_t t0 = now_ns();

	s->got = 0;
	while (!s->got && now_ns() - t0 < timeout_ns && !(stop && *stop)) {
		switch (s->mode) {
		case E1000E_MODE_POLL:
			side_poll(s, 1);
			break;
		case E1000E_MODE_INTERRUPT:
			if (!side_poll(s, 1))
				e1000e_rx_wait(s->nic, 0, 100);
			break;
		case E1000E_MODE_HYBRID:
			upci_hybrid_step(&s->h);
			break;
		}
	}
	return s->got > 0;
}

static bool side_send(struct e1000e *nic, const uint8_t *frame, unsigned len)
{
	struct e1000e_pkt p;

	if (e1000e_tx_alloc(nic, 0, &p, 1) != 1)
		return false;
	memcpy(p.buf, frame, len);
	p.len = (uint16_t)len;
	return e1000e_tx_burst(nic, 0, &p, 1) == 1;
}

struct reflector {
	struct rtt_side side;
	volatile bool stop;
};

static void *reflect(void *arg)
{
	struct reflector *r = arg;
	uint8_t f[RTT_FRAME];

	pin_to_cpu(1);
	while (!r->stop) {
		if (!side_receive(&r->side, 200000000ull, &r->stop))
			continue;
		memcpy(f, r->side.last.buf, RTT_FRAME);
		e1000e_rx_free(r->side.nic, 0, &r->side.last, 1);
		memcpy(f, f + 6, 6);       /* back to the sender: its MAC is the source */
		e1000e_mac(r->side.nic, f + 6);
		side_send(r->side.nic, f, RTT_FRAME);
	}
	return NULL;
}

static void init_side(struct rtt_side *s, struct e1000e *nic, enum e1000e_mode mode)
{
	static const struct upci_hybrid_ops ops = { .poll = side_poll, .arm = side_arm, .disarm = side_disarm };
	struct upci_hybrid_cfg cfg = { .budget = 1, .idle_polls = 64, .sleep_timeout_ms = 100 };

	memset(s, 0, sizeof(*s));
	s->nic = nic;
	s->mode = mode;
	upci_hybrid_init(&s->h, &ops, s, e1000e_rx_fd(nic, 0), &cfg);
}

static int open_pair(const struct opts *o, struct e1000e **a, struct e1000e **b)
{
	struct e1000e_cfg cfg = { .rx_queues = 1, .tx_queues = 1, .rx_ring_size = 256, .tx_ring_size = 256 };
	int rc = e1000e_open(o->dev_a, &cfg, a);

	if (!rc)
		rc = e1000e_open(o->dev_b, &cfg, b);
	if (!rc)
		rc = e1000e_start(*a);
	if (!rc)
		rc = e1000e_start(*b);
	for (int i = 0; !rc && i < 50 && !(e1000e_link(*a, NULL, NULL) && e1000e_link(*b, NULL, NULL)); i++)
		sleep_us(100000);
	return rc;
}

static json_object *rtt_mode(const struct opts *o, enum e1000e_mode mode, const char *name)
{
	struct e1000e *a = NULL, *b = NULL;
	struct reflector refl;
	struct rtt_side me;
	uint64_t *ns = calloc(o->rtt_trials, sizeof(*ns));
	unsigned got = 0, lost = 0, warmup = o->rtt_trials / 10;
	uint8_t f[RTT_FRAME] = { 0 };
	pthread_t th;
	json_object *res;

	if (open_pair(o, &a, &b)) {
		e1000e_close(a);
		free(ns);
		return NULL;
	}
	init_side(&refl.side, b, mode);
	refl.stop = false;
	init_side(&me, a, mode);
	pthread_create(&th, NULL, reflect, &refl);
	pin_to_cpu(0);
	e1000e_mac(b, f);
	e1000e_mac(a, f + 6);
	f[12] = ETH_BENCH >> 8, f[13] = ETH_BENCH & 0xff;
	for (unsigned t = 0; t < o->rtt_trials + warmup; t++) {
		uint64_t t0;
		bool ok;

		memcpy(f + 14, &t, sizeof(t));
		sleep_us(200);
		t0 = now_ns();
		ok = side_send(a, f, RTT_FRAME) && side_receive(&me, 1000000000ull, NULL);
		if (ok) {
			bool same = !memcmp((uint8_t *)me.last.buf + 14, &t, sizeof(t));

			e1000e_rx_free(a, 0, &me.last, 1);
			ok = same;
		}
		if (t < warmup)
			continue;
		if (ok)
			ns[got++] = now_ns() - t0;
		else
			lost++;
	}
	refl.stop = true;
	pthread_join(th, NULL);
	res = latency_json(ns, got, lost);
	free(ns);
	e1000e_close(a);
	e1000e_close(b);
	progress("rtt %s: %u samples, %u lost", name, got, lost);
	return res;
}

/* The three ways a receiving thread can wait, with their names in the JSON (rtt.upci_<name>, idle.<name>). */
static const struct {
	enum e1000e_mode mode;
	const char *name;
	const char *rtt_key;
} modes[] = {
	{ E1000E_MODE_POLL, "poll", "upci_poll" },
	{ E1000E_MODE_INTERRUPT, "interrupt", "upci_interrupt" },
	{ E1000E_MODE_HYBRID, "hybrid", "upci_hybrid" },
};

static int bench_rtt(const struct opts *o, json_object *root)
{
	json_object *rtt = json_object_new_object();

	for (unsigned i = 0; i < 3; i++) {
		json_object *r;

		progress("rtt %s: %u trials", modes[i].rtt_key, o->rtt_trials);
		r = rtt_mode(o, modes[i].mode, modes[i].rtt_key);
		if (!r)
			return -EIO;
		json_object_object_add(rtt, modes[i].rtt_key, r);
	}
	json_object_object_add(root, "rtt", rtt);
	return 0;
}

/* ---- pps: one way, and forwarded back ---- */

struct pps_rx {
	struct e1000e *nic;
	_Atomic uint64_t frames;
	struct e1000e *fwd_to;      /* forward each frame back through this NIC (NULL: count only) */
	volatile bool stop;
};

static void *pps_receiver(void *arg)
{
	struct pps_rx *r = arg;
	struct e1000e_pkt pkts[32], out[32];

	pin_to_cpu(1);
	while (!r->stop) {
		unsigned n = e1000e_rx_burst(r->nic, 0, pkts, 32), k = 0;

		if (r->fwd_to && n)
			k = e1000e_tx_alloc(r->fwd_to, 0, out, n);
		for (unsigned i = 0; i < k; i++) {
			memcpy(out[i].buf, pkts[i].buf, pkts[i].len);
			memcpy(out[i].buf, (uint8_t *)pkts[i].buf + 6, 6); /* back to the sender */
			out[i].len = pkts[i].len;
		}
		for (unsigned sent = 0; sent < k;)
			sent += e1000e_tx_burst(r->fwd_to, 0, out + sent, k - sent);
		e1000e_rx_free(r->nic, 0, pkts, n);
		r->frames += n;
	}
	return NULL;
}

/* Count (and free) what arrived at @nic's queue 0. */
static uint64_t drain_rx(struct e1000e *nic)
{
	struct e1000e_pkt pkts[32];
	unsigned n = e1000e_rx_burst(nic, 0, pkts, 32);

	e1000e_rx_free(nic, 0, pkts, n);
	return n;
}

/*
 * Send @frames 64-byte frames from A; count what arrives at B, or back at A when B forwards. One thread
 * per NIC, each on its own vCPU: A's thread sends and (when forwarding) receives; B's receives (and
 * forwards). At most 256 frames are in flight: the path is measured, not the emulator's queue.
 */
static double pps_run(const struct opts *o, bool forward, uint64_t *lost)
{
	struct e1000e *a = NULL, *b = NULL;
	struct pps_rx rb = { 0 };
	uint64_t back = 0, sent = 0, t0, t1;
	uint8_t f[64] = { 0 };
	pthread_t tb;

	if (open_pair(o, &a, &b)) {
		e1000e_close(a);
		return -1;
	}
	rb.nic = b;
	rb.fwd_to = forward ? b : NULL;
	pthread_create(&tb, NULL, pps_receiver, &rb);
	e1000e_mac(b, f);
	e1000e_mac(a, f + 6);
	f[12] = ETH_BENCH >> 8, f[13] = ETH_BENCH & 0xff;
	pin_to_cpu(0);
	t0 = now_ns();
	while ((forward ? back : rb.frames) < o->pps_frames && now_ns() - t0 < 60000000000ull) {
		uint64_t done = forward ? back : rb.frames;
		struct e1000e_pkt p[32];
		unsigned n = 0, k;

		if (sent < o->pps_frames && sent - done < 256)
			n = e1000e_tx_alloc(a, 0, p, (unsigned)(o->pps_frames - sent < 32 ? o->pps_frames - sent : 32));
		for (k = 0; k < n; k++) {
			memcpy(p[k].buf, f, sizeof(f));
			p[k].len = sizeof(f);
		}
		for (k = 0; k < n;)
			k += e1000e_tx_burst(a, 0, p + k, n - k);
		sent += n;
		if (forward)
			back += drain_rx(a);
	}
	t1 = now_ns();
	rb.stop = true;
	pthread_join(tb, NULL);
	*lost = sent - (forward ? back : rb.frames);
	e1000e_close(a);
	e1000e_close(b);
	/* Forwarding counts receptions at both ports (as the DPDK baseline does): A -> B and B -> A. */
	return (double)((forward ? back : 0) + rb.frames) * 1e9 / (double)(t1 - t0);
}

static int bench_pps(const struct opts *o, json_object *root)
{
	json_object *pps = json_object_new_object(), *upci = json_object_new_object();
	uint64_t lost_one, lost_fwd;
	double one, fwd;

	progress("pps: %u frames A -> B (poll mode)", o->pps_frames);
	one = pps_run(o, false, &lost_one);
	progress("pps: %u frames A -> B -> A (poll mode)", o->pps_frames);
	fwd = pps_run(o, true, &lost_fwd);
	if (one < 0 || fwd < 0)
		return -EIO;
	json_object_object_add(upci, "tx_rx", json_object_new_double(one));
	json_object_object_add(upci, "fwd", json_object_new_double(fwd));
	json_object_object_add(upci, "lost", json_object_new_int64((int64_t)(lost_one + lost_fwd)));
	json_object_object_add(upci, "frames", json_object_new_int64(o->pps_frames));
	json_object_object_add(pps, "upci", upci);
	json_object_object_add(root, "pps", pps);
	printf("pps   upci tx_rx %12.0f /s   fwd %12.0f /s   lost %" PRIu64 "\n", one, fwd, lost_one + lost_fwd);
	return 0;
}

/* ---- idle: CPU time of the receiving thread with no traffic, and at a low rate ---- */

struct idle_rx {
	struct rtt_side side;
	unsigned ms;
	volatile bool stop;
	uint64_t cpu_ns, wall_ns, frames;
};

static void *idle_receiver(void *arg)
{
	struct idle_rx *r = arg;
	struct timespec c0, c1;
	uint64_t w0 = now_ns();

	pin_to_cpu(1);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	while (!r->stop && now_ns() - w0 < (uint64_t)r->ms * 1000000ull) {
		if (side_receive(&r->side, 50000000ull, &r->stop)) {
			e1000e_rx_free(r->side.nic, 0, &r->side.last, 1);
			r->frames++;
		}
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	r->cpu_ns = (uint64_t)(c1.tv_sec - c0.tv_sec) * 1000000000ull + (uint64_t)(c1.tv_nsec - c0.tv_nsec);
	r->wall_ns = now_ns() - w0;
	return NULL;
}

/* CPU % of B's receiving thread over the window; @rate_pps frames per second sent from A (0: none). */
static double idle_run(const struct opts *o, enum e1000e_mode mode, unsigned rate_pps)
{
	struct e1000e *a = NULL, *b = NULL;
	struct idle_rx r = { .ms = o->idle_ms };
	uint8_t f[64] = { 0 };
	pthread_t th;
	double cpu;

	if (open_pair(o, &a, &b)) {
		e1000e_close(a);
		return -1;
	}
	init_side(&r.side, b, mode);
	pthread_create(&th, NULL, idle_receiver, &r);
	e1000e_mac(b, f);
	e1000e_mac(a, f + 6);
	f[12] = ETH_BENCH >> 8, f[13] = ETH_BENCH & 0xff;
	for (uint64_t t0 = now_ns(); rate_pps && now_ns() - t0 < (uint64_t)o->idle_ms * 1000000ull;) {
		side_send(a, f, sizeof(f));
		e1000e_tx_done(a, 0);
		sleep_us(1000000 / rate_pps);
	}
	pthread_join(th, NULL);
	cpu = 100.0 * (double)r.cpu_ns / (double)r.wall_ns;
	e1000e_close(a);
	e1000e_close(b);
	return cpu;
}

static int bench_idle(const struct opts *o, json_object *root)
{
	json_object *idle = json_object_new_object();

	for (unsigned i = 0; i < 3; i++) {
		json_object *m = json_object_new_object();
		double none, low;

		progress("idle %s: %u ms without traffic, then at 1000 frames/s", modes[i].name, o->idle_ms);
		none = idle_run(o, modes[i].mode, 0);
		low = idle_run(o, modes[i].mode, 1000);
		if (none < 0 || low < 0)
			return -EIO;
		json_object_object_add(m, "cpu_pct", json_object_new_double(none));
		json_object_object_add(m, "cpu_pct_1000pps", json_object_new_double(low));
		json_object_object_add(idle, modes[i].name, m);
		printf("idle  %-18s cpu %6.2f %% idle, %6.2f %% at 1000 frames/s\n", modes[i].name, none, low);
	}
	json_object_object_add(root, "idle", idle);
	return 0;
}

/* ---- mmio: a register read through the mapping vs through the region fd ---- */

static int bench_mmio(const struct opts *o, json_object *root)
{
	enum { BLOCK = 1000 };
	struct upci_dev *dev;
	const struct upci_bar *bar0;
	double mapped = 0, trapped = 0;
	unsigned blocks = o->quick ? 5 : 20;
	volatile uint32_t sink = 0;
	json_object *m;
	int rc = upci_dev_open(o->dev_a, NULL, &dev);

	if (rc)
		return rc;
	bar0 = upci_dev_bar(dev, 0);
	for (unsigned b = 0; b < blocks; b++) {
		uint64_t t0 = now_ns(), t1, t2;

		for (int i = 0; i < BLOCK; i++)
			sink += upci_bar_read32(bar0, E1000E_STATUS);
		t1 = now_ns();
		for (int i = 0; i < BLOCK; i++)
			sink += (uint32_t)upci_bar_read_slow(bar0, E1000E_STATUS, 4);
		t2 = now_ns();
		mapped += (double)(t1 - t0);
		trapped += (double)(t2 - t1);
	}
	(void)sink;
	mapped /= (double)(BLOCK * blocks);
	trapped /= (double)(BLOCK * blocks);
	m = json_object_new_object();
	json_object_object_add(m, "mapped_ns", json_object_new_double(mapped));
	json_object_object_add(m, "trapped_ns", json_object_new_double(trapped));
	json_object_object_add(m, "reads", json_object_new_int((int)(BLOCK * blocks)));
	json_object_object_add(root, "mmio", m);
	printf("mmio  mapped %8.1f ns   trapped %8.1f ns   ratio %.1fx\n", mapped, trapped, trapped / mapped);
	upci_dev_close(dev);
	return 0;
}

/* ---- main ---- */

static bool wanted(const struct opts *o, const char *what)
{
	const char *p = o->only;
	size_t n = strlen(what);

	if (!p)
		return true;
	while ((p = strstr(p, what)) != NULL) {
		if ((p == o->only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static char a[32], b[32];

	*o = (struct opts){ .dev_a = "0000:00:02.0", .dev_b = "0000:00:03.0" };
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			o->quick = true;
		} else if (!strcmp(argv[i], "--json") && i + 1 < argc) {
			o->json_path = argv[++i];
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			o->only = argv[++i];
		} else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
			const char *comma = strchr(argv[++i], ',');

			if (!comma || (size_t)(comma - argv[i]) >= sizeof(a) || strlen(comma + 1) >= sizeof(b))
				return -1;
			memcpy(a, argv[i], (size_t)(comma - argv[i]));
			a[comma - argv[i]] = '\0';
			strcpy(b, comma + 1);
			o->dev_a = a;
			o->dev_b = b;
		} else {
			return -1;
		}
	}
	o->irq_trials = o->quick ? 200 : 2000;
	o->rtt_trials = o->quick ? 200 : 2000;
	o->pps_frames = o->quick ? 20000 : 200000;
	o->idle_ms = o->quick ? 1000 : 2000;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	json_object *root = json_object_new_object();
	int rc = 0;

	if (parse_args(argc, argv, &o)) {
		fprintf(stderr, "usage: upci-bench [--device A,B] [--quick] [--json FILE] [--only irq,rtt,pps,idle,mmio]\n");
		return 2;
	}
	if (!rc && wanted(&o, "irq"))
		rc = bench_irq(&o, root);
	if (!rc && wanted(&o, "rtt"))
		rc = bench_rtt(&o, root);
	if (!rc && wanted(&o, "pps"))
		rc = bench_pps(&o, root);
	if (!rc && wanted(&o, "idle"))
		rc = bench_idle(&o, root);
	if (!rc && wanted(&o, "mmio"))
		rc = bench_mmio(&o, root);
	if (rc)
		fprintf(stderr, "upci-bench: a measurement failed (%s); see the lines above\n", strerror(-rc));
	json_object_object_foreach(root, group, val)
	{
		if (!strcmp(group, "irq") || !strcmp(group, "rtt")) {
			json_object_object_foreach(val, name, lat)
				print_latency(group, name, lat);
		}
	}
	if (o.json_path && json_object_to_file_ext(o.json_path, root, JSON_C_TO_STRING_PLAIN)) {
		fprintf(stderr, "upci-bench: cannot write %s\n", o.json_path);
		rc = rc ? rc : -EIO;
	}
	json_object_put(root);
	return rc ? 1 : 0;
}
