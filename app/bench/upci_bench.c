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
 *
 * The NICs are driven through the port API only (upci/port.h): the interrupt figures raise rx queue 0's
 * vector with the port's test hook, the receive modes are the port's own (poll, interrupt, hybrid), and
 * forwarding transmits the received buffers as they are (zero-copy). If the kernel takes a device back
 * meanwhile (unbind, hot-unplug), the run stops at once with one line naming it, the JSON carries
 * "removed": true and what was measured until then, and the exit status is 0.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
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

#include "upci/io.h"
#include "upci/msix.h"
#include "upci/pci.h"
#include "upci/pktpool.h"
#include "upci/port.h"
#include "upci/version.h"
#include "upci/vfio.h"

struct opts {
	const char *dev_a, *dev_b;
	bool quick;
	const char *json_path;
	const char *only;
	const char *modes;     /* --modes: the waiting modes rtt and idle measure (NULL: all three) */
	unsigned irq_trials, rtt_trials, pps_frames;
	unsigned idle_ms;
};

static bool in_list(const char *list, const char *what);

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

/* Phase progress on stderr, for a person watching: when stderr is a terminal, or with --progress. */
static int show_progress = -1;

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
	va_list ap;

	if (show_progress < 0)
		show_progress = isatty(STDERR_FILENO);
	if (!show_progress)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "upci-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

/* ---- device removal: any thread may notice it, every loop stops on it ---- */

static struct {
	_Atomic bool removed;            /* a device was taken away: every loop ends, the run stops */
	char device[UPCI_PCI_ADDR_STRLEN]; /* which one (written once, by the thread that noticed) */
	const char *opened[2];           /* the device specs this run has opened at least once */
} run;

static bool run_removed(void)
{
	return atomic_load(&run.removed);
}

/* The first removal: say so in one line and make every loop stop. */
static void note_removal(const char *device)
{
	if (atomic_exchange(&run.removed, true))
		return;
	snprintf(run.device, sizeof(run.device), "%s", device);
	fprintf(stderr, "upci-bench: %s was removed (the kernel took the device back): stopping the run\n", device);
}

/* @rc from a call on @port: a -ENODEV that means the device is gone is noted. Return: @rc. */
static int port_rc(struct upci_port *port, int rc)
{
	if (rc == -ENODEV && upci_port_removed(port))
		note_removal(upci_port_name(port));
	return rc;
}

/* Remember @spec as one of the run's devices (A, B). */
static void note_opened(const char *spec)
{
	for (unsigned i = 0; i < 2; i++) {
		if (run.opened[i] && !strcmp(run.opened[i], spec))
			return;
		if (!run.opened[i]) {
			run.opened[i] = spec;
			return;
		}
	}
}

/* Is @spec, a device this run opened before, gone or bound to another driver now? Its name in @name. */
static bool taken_back(const char *spec, char *name)
{
	struct upci_pci_addr addr;
	struct upci_pci_info info;

	if (upci_dev_resolve(spec, &addr))
		return false;
	upci_pci_addr_format(&addr, name, UPCI_PCI_ADDR_STRLEN);
	return upci_pci_info_read(&addr, &info) || !strstr(info.driver, "vfio");
}

/*
 * An open failed with @rc. If a device this run opened before (that one or its IOMMU group mate) is now
 * gone or bound to another driver, the kernel took it back between two measurements, while no port held
 * it: a removal. Return: -ENODEV then, else @rc.
 */
static int open_failed(int rc)
{
	char name[UPCI_PCI_ADDR_STRLEN];

	for (unsigned i = 0; i < 2 && run.opened[i]; i++) {
		if (taken_back(run.opened[i], name)) {
			note_removal(name);
			return -ENODEV;
		}
	}
	return rc;
}

/* upci_port_open(); failing because a device of this run went back to the kernel is a removal (-ENODEV). */
static int open_port(const char *spec, const struct upci_port_cfg *cfg, struct upci_port **out)
{
	int rc = upci_port_open(spec, cfg, out);

	if (rc)
		return open_failed(rc);
	note_opened(spec);
	return 0;
}

/* Sleep up to @ms on @port's event fd (REQ/ERR), handling what arrives. Return: 0, or -ENODEV once it is gone. */
static int watch_port(struct upci_port *port, int ms)
{
	struct pollfd p = { .fd = upci_port_event_fd(port), .events = POLLIN };

	if (poll(&p, 1, ms) > 0 || upci_port_removed(port))
		return port_rc(port, upci_port_process_events(port));
	return 0;
}

/* ---- percentiles and JSON ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile (@permille of 1000) of @n sorted samples, in microseconds: the definition the
 * kernel and DPDK baselines use too (kernel_rtt.c, dpdk_baseline.c). */
static double pct(const uint64_t *sorted, unsigned n, unsigned permille)
{
	size_t rank = ((size_t)permille * n + 999) / 1000;

	return (double)sorted[rank ? rank - 1 : 0] / 1e3;
}

/* {"p50_us", ..., "samples_us": [...] } from @n nanosecond samples (in trial order). */
static json_object *latency_json(const uint64_t *ns, unsigned n, unsigned lost)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	uint64_t *s = malloc((n ? n : 1) * sizeof(*s));

	memcpy(s, ns, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_u64);
	if (n) {
		json_object_object_add(o, "p50_us", json_object_new_double(pct(s, n, 500)));
		json_object_object_add(o, "p90_us", json_object_new_double(pct(s, n, 900)));
		json_object_object_add(o, "p99_us", json_object_new_double(pct(s, n, 990)));
		json_object_object_add(o, "p999_us", json_object_new_double(pct(s, n, 999)));
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

/* WAIT_PAIRED: odd trials upci_irqs_wait(), even trials a bare read() of the very same eventfd. */
enum wait_kind { WAIT_UPCI, WAIT_READ, WAIT_EPOLL, WAIT_BUSY, WAIT_PAIRED };

struct irq_run {
	struct upci_port *port;     /* the device raising the vector; its events are handled every trial */
	struct upci_irqs *irqs;     /* its vectors */
	unsigned vector;            /* rx queue 0's */
	int fd;                     /* the eventfd the waiter watches (WAIT_READ/EPOLL/BUSY) */
	enum wait_kind how;
	unsigned trials;
	/* Handshake, one trial at a time: the waiter publishes "waiting for t", the trigger side fires, the
	 * waiter stores its wake time then the trial number, the trigger side takes the sample and acks. */
	_Atomic uint64_t waiting, woke_seq, woke_time, ack;
	_Atomic bool stop;
};

/* Trial @t of a paired run: is it the bare read()'s turn? */
static bool paired_read_turn(const struct irq_run *r, uint64_t t)
{
	return r->how == WAIT_PAIRED && t % 2 == 0;
}

static void wait_once(struct irq_run *r, uint64_t t)
{
	uint64_t v;

	switch (r->how) {
	case WAIT_PAIRED:
		if (paired_read_turn(r, t)) {
			while (read(upci_irqs_fd(r->irqs, r->vector), &v, sizeof(v)) != sizeof(v) && !r->stop)
				;
			break;
		}
		/* fall through */
	case WAIT_UPCI: /* no timeout: upci's blocking eventfd, one read(2), as WAIT_READ */
		while (upci_irqs_wait(r->irqs, r->vector, -1) <= 0 && !r->stop)
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
		wait_once(r, t);
		atomic_store(&r->woke_time, now_ns());
		atomic_store(&r->woke_seq, t);
		while (atomic_load(&r->ack) != t && !r->stop)
			sleep_us(20);
	}
	return NULL;
}

/* Wake a waiter that the trigger did not reach (so the handshake can go on, or the run end). */
static void unstick(struct irq_run *r)
{
	bool own = r->how == WAIT_UPCI || r->how == WAIT_PAIRED;

	eventfd_write(own ? upci_irqs_fd(r->irqs, r->vector) : r->fd, 1);
}

typedef int (*trigger_fn)(struct irq_run *r);

/* Did the waiter wake for trial @t within 1 s of @t0? Then *@ns is the sample; else it is unstuck. */
static bool irq_wake(struct irq_run *r, uint64_t t, uint64_t t0, uint64_t deadline, uint64_t *ns)
{
	while (atomic_load(&r->woke_seq) != t && now_ns() - t0 < 1000000000ull)
		;
	if (atomic_load(&r->woke_seq) == t) {
		*ns = atomic_load(&r->woke_time) - t0;
		return true;
	}
	unstick(r);
	while (atomic_load(&r->woke_seq) != t && now_ns() < deadline + 2000000000ull)
		sleep_us(100);
	return false;
}

/* One method's samples in a run. */
struct irq_samples {
	uint64_t *ns;
	unsigned got, lost;
};

/*
 * Run the trials: waiter blocked -> t0 -> trigger -> the waiter wakes at t1. Samples t1 - t0.
 * A WAIT_PAIRED run does r->trials of each method, alternating, and fills @out[1] with the bare read()'s.
 * Return: 0 and *@out, -ENODEV (the device was removed: nothing reported), or the trigger's -errno.
 */
static int irq_measure(struct irq_run *r, trigger_fn trigger, const char *name, json_object **out)
{
	unsigned methods = r->how == WAIT_PAIRED ? 2 : 1;
	struct irq_samples m[2] = { { calloc(r->trials, sizeof(uint64_t)), 0, 0 },
				    { calloc(r->trials, sizeof(uint64_t)), 0, 0 } };
	pthread_t th;
	int rc = 0;

	r->stop = false;
	atomic_store(&r->waiting, 0);
	atomic_store(&r->woke_seq, 0);
	atomic_store(&r->ack, 0);
	pthread_create(&th, NULL, irq_waiter, r);
	pin_to_cpu(0);
	for (uint64_t t = 1, done = 0; done < r->trials * methods && !rc; t++) {
		struct irq_samples *s = &m[paired_read_turn(r, t)];
		uint64_t t0, deadline = now_ns() + 2000000000ull;

		while (atomic_load(&r->waiting) != t && now_ns() < deadline)
			sleep_us(10);
		rc = port_rc(r->port, upci_port_process_events(r->port)); /* a REQ: -ENODEV */
		if (rc)
			break;
		sleep_us(300); /* past QEMU's 128 us throttle window; the waiter is asleep by now */
		if (atomic_load(&r->woke_seq) == t) {
			/* Woken before we fired: a late duplicate of the previous message (QEMU re-sends after a
			 * throttled one). Not a sample: let the waiter go round again. */
			atomic_store(&r->ack, t);
			continue;
		}
		t0 = now_ns();
		rc = port_rc(r->port, trigger(r));
		if (rc)
			break;
		if (s->got + s->lost == r->trials) { /* this method is done (late duplicates moved the parity) */
			atomic_store(&r->ack, t);
			continue;
		}
		if (irq_wake(r, t, t0, deadline, &s->ns[s->got]))
			s->got++;
		else
			s->lost++;
		atomic_store(&r->ack, t);
		if ((++done % 500) == 0)
			progress("irq %s: %" PRIu64 "/%u", name, done, r->trials * methods);
	}
	r->stop = true;
	unstick(r);
	pthread_join(th, NULL);
	for (unsigned i = 0; i < methods && !rc; i++)
		out[i] = latency_json(m[i].ns, m[i].got, m[i].lost);
	free(m[0].ns);
	free(m[1].ns);
	return rc;
}

/* The device raises rx queue 0's vector (on the 82574L an Interrupt Cause Set write). */
static int trigger_ics(struct irq_run *r)
{
	return upci_port_raise_irq(r->port, r->vector);
}

static int trigger_loopback(struct irq_run *r)
{
	return upci_irqs_trigger(r->irqs, r->vector);
}

static int trigger_eventfd(struct irq_run *r)
{
	return eventfd_write(r->fd, 1) ? -errno : 0;
}

/* Measure, waiting as r->how, and add the figures to @irq as @name. */
static int irq_add(struct irq_run *r, json_object *irq, trigger_fn trigger, const char *name)
{
	json_object *m;
	int rc = irq_measure(r, trigger, name, &m);

	if (!rc)
		json_object_object_add(irq, name, m);
	return rc;
}

/* upci_irqs_wait() and a bare read() on the same vector's own eventfd, trial by trial in turn: the wait
 * path's overhead with the machine's drift cancelled (ics_paired_upci / ics_paired_read). */
static int irq_paired(struct irq_run *r, json_object *irq)
{
	json_object *m[2];
	int rc;

	r->how = WAIT_PAIRED;
	rc = irq_measure(r, trigger_ics, "ics_paired", m);
	if (!rc) {
		json_object_object_add(irq, "ics_paired_upci", m[0]);
		json_object_object_add(irq, "ics_paired_read", m[1]);
	}
	return rc;
}

/* ICS with the vector rewired to an eventfd of our own (@flags), waited on as @how. */
static int irq_rewired(struct irq_run *r, json_object *irq, int flags, enum wait_kind how, const char *name)
{
	int fd = eventfd(0, EFD_CLOEXEC | flags), rc;

	if (fd < 0)
		return -errno;
	rc = upci_irqs_rewire(r->irqs, r->vector, fd);
	if (!rc) {
		r->fd = fd;
		r->how = how;
		rc = irq_add(r, irq, trigger_ics, name);
	}
	close(fd);
	return rc;
}

/* Device-raised: ICS -> upci_irqs_wait, the loopback trigger, then the same vector on eventfds of our own. */
static int irq_device(struct irq_run *r, json_object *irq)
{
	int rc;

	r->how = WAIT_UPCI;
	progress("irq: ICS -> MSI-X -> upci_irqs_wait, %u trials", r->trials);
	rc = irq_add(r, irq, trigger_ics, "ics");
	if (!rc) {
		progress("irq: kernel loopback trigger -> upci_irqs_wait");
		rc = irq_add(r, irq, trigger_loopback, "loopback");
	}
	if (!rc) {
		progress("irq: ICS -> bare blocking read()");
		rc = irq_rewired(r, irq, 0, WAIT_READ, "ics_raw");
	}
	if (!rc) {
		progress("irq: ICS -> epoll_wait + read");
		rc = irq_rewired(r, irq, 0, WAIT_EPOLL, "ics_epoll");
	}
	if (!rc) {
		progress("irq: ICS -> busy-polled eventfd");
		rc = irq_rewired(r, irq, EFD_NONBLOCK, WAIT_BUSY, "ics_busy");
	}
	if (!upci_port_removed(r->port))
		upci_irqs_rewire(r->irqs, r->vector, upci_irqs_fd(r->irqs, r->vector));
	if (!rc) {
		progress("irq: ICS -> upci_irqs_wait and bare read() of the same eventfd, alternating");
		rc = irq_paired(r, irq);
	}
	return rc;
}

/* The scheduler floor: one thread writes an eventfd another blocks on; no device, no kernel IRQ. */
static int irq_eventfd(struct irq_run *r, json_object *irq)
{
	int rc;

	r->fd = eventfd(0, EFD_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	r->how = WAIT_READ;
	progress("irq: plain eventfd thread -> thread");
	rc = irq_add(r, irq, trigger_eventfd, "eventfd");
	close(r->fd);
	return rc;
}

static int bench_irq(const struct opts *o, json_object *root)
{
	struct upci_port_cfg cfg = { .rx_queues = 1, .tx_queues = 1 };
	struct irq_run r = { .trials = o->irq_trials, .fd = -1 };
	json_object *irq;
	int rc = open_port(o->dev_a, &cfg, &r.port);

	if (rc)
		return rc;
	r.irqs = upci_port_irqs(r.port);
	rc = upci_port_rx_vector(r.port, 0);
	if (rc < 0 || !r.irqs) {
		progress("irq: %s has no interrupt vector for rx queue 0", upci_port_name(r.port));
		upci_port_close(r.port);
		return rc < 0 ? rc : -EOPNOTSUPP;
	}
	r.vector = (unsigned)rc;
	irq = json_object_new_object();
	rc = irq_device(&r, irq);
	if (!rc)
		rc = irq_eventfd(&r, irq);
	json_object_object_add(root, "irq", irq);
	upci_port_close(r.port);
	return rc;
}

/* ---- ports for rtt, pps and idle: A and B, one queue each way ---- */

/* Frames of 60 bytes handed to the NIC (64 on the wire with its FCS), as kernel_rtt and the DPDK baseline. */
enum { ETH_BENCH = 0x88b5, RTT_FRAME = 60, PPS_FRAME = 60, BURST = 32 };
#define TX_TIMEOUT_NS 100000000ull /* how long a full tx ring is retried before its frames are dropped */

struct pair {
	struct upci_port *a, *b;
};

static void close_pair(struct pair *p)
{
	upci_port_close(p->a);
	upci_port_close(p->b);
	p->a = p->b = NULL;
}

/*
 * Wait up to 5 s for both links, watching both devices for removal meanwhile.
 * Return: 0 (also when they stay down: the trials then show it), -ENODEV.
 */
static int wait_links(struct pair *p)
{
	for (int i = 0; i < 50; i++) {
		struct upci_link la, lb;
		int rc = port_rc(p->a, upci_port_link(p->a, &la));

		if (!rc)
			rc = port_rc(p->b, upci_port_link(p->b, &lb));
		if (rc || (la.up && lb.up))
			return rc;
		rc = watch_port(p->a, 50);
		if (!rc)
			rc = watch_port(p->b, 50);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * Open and start A and B, receiving in @mode. The hybrid is tuned as for the one-frame ping-pong: a budget
 * of 1, 64 empty polls before it sleeps, sleeps (and interrupt-mode waits) of at most 100 ms.
 */
/* Open A and B, each with @queues rx and tx queues (2: RSS spreads B's receptions), start, wait for links. */
static int open_pair_queues(const struct opts *o, enum upci_port_mode mode, unsigned queues, struct pair *p)
{
	struct upci_port_cfg cfg = { .rx_queues = queues, .tx_queues = queues, .rx_ring_size = 256,
				     .tx_ring_size = 256, .mode = mode, .wait_timeout_ms = 100,
				     .hybrid = { .budget = 1, .idle_polls = 64, .sleep_timeout_ms = 100 } };
	int rc;

	*p = (struct pair){ 0 };
	rc = open_port(o->dev_a, &cfg, &p->a);
	if (!rc)
		rc = open_port(o->dev_b, &cfg, &p->b);
	if (!rc)
		rc = port_rc(p->a, upci_port_start(p->a));
	if (!rc)
		rc = port_rc(p->b, upci_port_start(p->b));
	if (!rc)
		rc = wait_links(p);
	if (rc)
		close_pair(p);
	return rc;
}

static int open_pair(const struct opts *o, enum upci_port_mode mode, struct pair *p)
{
	return open_pair_queues(o, mode, 1, p);
}

/* A bench frame's header: from A to B, EtherType ETH_BENCH. */
static void bench_header(uint8_t *f, const struct pair *p)
{
	memcpy(f, upci_port_info(p->b)->mac, 6);
	memcpy(f + 6, upci_port_info(p->a)->mac, 6);
	f[12] = ETH_BENCH >> 8, f[13] = ETH_BENCH & 0xff;
}

/*
 * Transmit @pkts from @port's queue 0 as they are (zero-copy: buffers of any pool of the IOMMU context),
 * retrying for up to TX_TIMEOUT_NS while the ring is full; what it did not take goes back to its pool
 * (a refused frame, which no caller here makes, waits out the timeout too). Return: how many were queued,
 * -ENODEV, -errno.
 */
static int tx_all(struct upci_port *port, struct upci_pkt *pkts, unsigned n)
{
	uint64_t t0 = 0;
	unsigned sent = 0;
	int rc = 0;

	while (sent < n) {
		rc = upci_port_tx_burst(port, 0, pkts, n); /* taken frames are NULL now: a retry skips them */
		if (rc < 0)
			break;
		sent += (unsigned)rc;
		if (rc)
			continue;
		if (!t0)
			t0 = now_ns();
		else if (now_ns() - t0 > TX_TIMEOUT_NS)
			break;
	}
	upci_pkt_free(pkts, n);
	return rc < 0 ? port_rc(port, rc) : (int)sent;
}

/* Send @len bytes of @frame from @port's queue 0, copied into a buffer of its pool. Return: 1, 0, -ENODEV. */
static int send_frame(struct upci_port *port, const uint8_t *frame, unsigned len)
{
	struct upci_pkt p;
	int rc = upci_port_pkt_alloc(port, 0, &p, 1);

	if (rc <= 0)
		return port_rc(port, rc);
	memcpy(p.buf, frame, len);
	p.len = (uint16_t)len;
	return tx_all(port, &p, 1);
}

/*
 * Receive one frame on @port's queue 0 in the port's mode (upci_port_rx() polls, sleeps on the vector, or
 * runs the hybrid). Return: 1 with *@pkt, 0 on timeout or stop, -ENODEV, -errno.
 */
static int recv_frame(struct upci_port *port, struct upci_pkt *pkt, uint64_t timeout_ns, _Atomic bool *stop)
{
	uint64_t t0 = now_ns();

	while (now_ns() - t0 < timeout_ns && !(stop && *stop) && !run_removed()) {
		int rc = upci_port_rx(port, 0, pkt, 1);

		if (rc)
			return rc < 0 ? port_rc(port, rc) : 1;
	}
	return 0;
}

/* ---- rtt: A sends, B reflects, A receives ---- */

struct reflector {
	struct upci_port *port;
	_Atomic bool stop;
	int rc;                     /* why it stopped early: -ENODEV, -errno */
};

/* Send every frame B receives straight back to its sender, in the buffer it arrived in (zero-copy). */
static void *reflect(void *arg)
{
	struct reflector *r = arg;
	const uint8_t *mac = upci_port_info(r->port)->mac;
	int rc = 0;

	pin_to_cpu(1);
	while (!r->stop && !run_removed() && rc >= 0) {
		struct upci_pkt p;
		uint8_t *f;

		rc = recv_frame(r->port, &p, 200000000ull, &r->stop);
		if (rc <= 0)
			continue;
		f = p.buf;
		memcpy(f, f + 6, 6);       /* back to the sender: its MAC is the source */
		memcpy(f + 6, mac, 6);
		rc = tx_all(r->port, &p, 1);
	}
	r->rc = rc < 0 ? rc : 0;
	return NULL;
}

/* One ping-pong with trial number @t in frame @f. Return: 1 it came back (*@ns: the round trip), 0 lost, -errno. */
static int rtt_trial(struct upci_port *a, uint8_t *f, unsigned t, uint64_t *ns)
{
	struct upci_pkt p;
	uint64_t t0;
	int rc;

	memcpy(f + 14, &t, sizeof(t));
	sleep_us(200);
	t0 = now_ns();
	rc = send_frame(a, f, RTT_FRAME);
	if (rc > 0)
		rc = recv_frame(a, &p, 1000000000ull, NULL);
	if (rc <= 0)
		return rc;
	rc = !memcmp((uint8_t *)p.buf + 14, &t, sizeof(t));
	upci_pkt_free(&p, 1);
	*ns = now_ns() - t0;
	return rc;
}

static int rtt_mode(const struct opts *o, enum upci_port_mode mode, const char *name, json_object **out)
{
	struct reflector refl = { 0 };
	struct pair p;
	uint64_t *ns;
	unsigned got = 0, lost = 0, warmup = o->rtt_trials / 10;
	uint8_t f[RTT_FRAME] = { 0 };
	pthread_t th;
	int rc = open_pair(o, mode, &p);

	if (rc)
		return rc;
	ns = calloc(o->rtt_trials, sizeof(*ns));
	refl.port = p.b;
	pthread_create(&th, NULL, reflect, &refl);
	pin_to_cpu(0);
	bench_header(f, &p);
	for (unsigned t = 0; t < o->rtt_trials + warmup && !run_removed(); t++) {
		uint64_t rt;

		rc = rtt_trial(p.a, f, t, &rt);
		if (rc < 0)
			break;
		if (t < warmup)
			continue;
		if (rc)
			ns[got++] = rt;
		else
			lost++;
	}
	refl.stop = true;
	pthread_join(th, NULL);
	rc = run_removed() ? -ENODEV : rc < 0 ? rc : refl.rc;
	if (!rc) {
		*out = latency_json(ns, got, lost);
		progress("rtt %s: %u samples, %u lost", name, got, lost);
	}
	free(ns);
	close_pair(&p);
	return rc;
}

/* The three ways a receiving thread can wait, with their names in the JSON (rtt.upci_<name>, idle.<name>). */
static const struct {
	enum upci_port_mode mode;
	const char *name;
	const char *rtt_key;
} modes[] = {
	{ UPCI_PORT_POLL, "poll", "upci_poll" },
	{ UPCI_PORT_INTERRUPT, "interrupt", "upci_interrupt" },
	{ UPCI_PORT_HYBRID, "hybrid", "upci_hybrid" },
};

static int bench_rtt(const struct opts *o, json_object *root)
{
	json_object *rtt = json_object_new_object();
	int rc = 0;

	for (unsigned i = 0; i < 3 && !rc; i++) {
		json_object *r;

		if (!in_list(o->modes, modes[i].name))
			continue;
		progress("rtt %s: %u trials", modes[i].rtt_key, o->rtt_trials);
		rc = rtt_mode(o, modes[i].mode, modes[i].rtt_key, &r);
		if (!rc)
			json_object_object_add(rtt, modes[i].rtt_key, r);
	}
	json_object_object_add(root, "rtt", rtt);
	return rc;
}

/* ---- pps: one way (at scale: one and two rx queues, both ports busy), and forwarding ---- */

/* Count (and free) what arrived at @port's queue 0. Return: how many, -ENODEV. */
static int drain_rx(struct upci_port *port)
{
	struct upci_pkt pkts[BURST];
	int n = upci_port_rx_burst(port, 0, pkts, BURST);

	if (n < 0)
		return port_rc(port, n);
	upci_pkt_free(pkts, (unsigned)n);
	return n;
}


/* A receiving thread on one queue of a port: counts and frees, and its own CPU time. */
struct scale_rx {
	struct upci_port *port;
	unsigned queue;
	int cpu;
	_Atomic uint64_t frames;
	_Atomic bool stop;
	uint64_t cpu_ns;
	int rc;
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *scale_receiver(void *arg)
{
	struct scale_rx *r = arg;
	struct upci_pkt pkts[BURST];
	uint64_t c0;
	int rc = 0;

	pin_to_cpu(r->cpu);
	c0 = thread_cpu_ns();
	while (!atomic_load(&r->stop) && !run_removed() && rc >= 0) {
		int n = upci_port_rx_burst(r->port, r->queue, pkts, BURST);

		if (n <= 0) {
			rc = port_rc(r->port, n);
			continue;
		}
		upci_pkt_free(pkts, (unsigned)n);
		atomic_fetch_add(&r->frames, (unsigned)n);
	}
	r->cpu_ns = thread_cpu_ns() - c0;
	r->rc = rc < 0 ? rc : 0;
	return NULL;
}

/* Frame @i of a scale run: IPv4 (so the 82574L's RSS hashes it) from 10.0.<i % 256>.1 to 10.1.0.1. */
static void scale_frame(uint8_t *f, const struct pair *p, bool a_to_b, unsigned i)
{
	memset(f, 0, PPS_FRAME);
	memcpy(f, upci_port_info(a_to_b ? p->b : p->a)->mac, 6);
	memcpy(f + 6, upci_port_info(a_to_b ? p->a : p->b)->mac, 6);
	f[12] = 0x08, f[13] = 0x00;             /* IPv4 */
	f[14] = 0x45, f[17] = 46, f[22] = 64, f[23] = 17; /* IHL 5, total length 46, TTL 64, UDP */
	f[26] = 10, f[27] = 0, f[28] = (uint8_t)i, f[29] = 1;
	f[30] = 10, f[31] = 1, f[32] = 0, f[33] = 1;
}

/* Send @n frames from @port's queue 0, frame @seq onwards (IPv4 sources cycling). Return: sent, -errno. */
static int scale_send(struct upci_port *port, const struct pair *p, bool a_to_b, uint64_t seq, unsigned n)
{
	struct upci_pkt pk[BURST];
	int k = upci_port_pkt_alloc(port, 0, pk, n);

	if (k <= 0)
		return port_rc(port, k);
	for (int i = 0; i < k; i++) {
		scale_frame(pk[i].buf, p, a_to_b, (unsigned)(seq + (uint64_t)i));
		pk[i].len = PPS_FRAME;
	}
	return tx_all(port, pk, (unsigned)k);
}

/* One direction of traffic: a sender (the calling thread) and the receivers on the other port's queues. */
struct scale_dir {
	const struct pair *p;
	bool a_to_b;
	struct scale_rx *rx;
	unsigned n_rx;
	uint64_t frames, sent;
	int cpu, rc;
};

static uint64_t scale_received(const struct scale_dir *d)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < d->n_rx; i++)
		n += atomic_load(&d->rx[i].frames);
	return n;
}

/* Send d->frames frames, at most 256 in flight, until they are counted or 60 s pass. */
static void *scale_sender(void *arg)
{
	struct scale_dir *d = arg;
	struct upci_port *port = d->a_to_b ? d->p->a : d->p->b;
	uint64_t t0 = now_ns();
	unsigned idle = 0;

	pin_to_cpu(d->cpu);
	while (!run_removed() && scale_received(d) < d->frames && now_ns() - t0 < 60000000000ull) {
		uint64_t room = d->sent - scale_received(d) < 256 && d->sent < d->frames ? d->frames - d->sent : 0;
		int k;

		if (!room) {
			k = ++idle % UPCI_PORT_EVENT_CHECK ? 0 : port_rc(port, upci_port_process_events(port));
			if (k < 0) {
				d->rc = k;
				break;
			}
			continue;
		}
		k = scale_send(port, d->p, d->a_to_b, d->sent, room < BURST ? (unsigned)room : BURST);
		if (k < 0) {
			d->rc = k;
			break;
		}
		d->sent += (unsigned)k;
	}
	return NULL;
}

/*
 * One scale run: @queues queues per port; traffic A -> B, and with @both B -> A at the same time. Receivers
 * spin on every queue of the receiving port(s). Adds {pps, rx_cpu_ns_per_frame, lost, frames} as @name.
 */
static int scale_run(const struct opts *o, unsigned queues, bool both, const char *name, json_object *scale,
		     double *rate, uint64_t *lost)
{
	struct scale_rx rx[2][2] = { { { 0 } } };
	struct scale_dir dir[2] = { { 0 } };
	pthread_t trx[2][2], ttx[2];
	uint64_t t0, t1, got = 0, sent = 0, cpu = 0;
	unsigned ndir = both ? 2 : 1;
	struct pair p;
	int rc = open_pair_queues(o, UPCI_PORT_POLL, queues, &p);
	json_object *m;

	if (rc)
		return rc;
	for (unsigned d = 0; d < ndir; d++) {
		dir[d] = (struct scale_dir){ .p = &p, .a_to_b = d == 0, .rx = rx[d], .n_rx = queues,
					     .frames = o->pps_frames, .cpu = (int)d };
		for (unsigned q = 0; q < queues; q++) {
			rx[d][q] = (struct scale_rx){ .port = d == 0 ? p.b : p.a, .queue = q, .cpu = (int)((d + q + 1) % 2) };
			pthread_create(&trx[d][q], NULL, scale_receiver, &rx[d][q]);
		}
	}
	t0 = now_ns();
	for (unsigned d = 0; d < ndir; d++)
		pthread_create(&ttx[d], NULL, scale_sender, &dir[d]);
	for (unsigned d = 0; d < ndir; d++)
		pthread_join(ttx[d], NULL);
	t1 = now_ns();
	for (unsigned d = 0; d < ndir; d++) {
		for (unsigned q = 0; q < queues; q++) {
			atomic_store(&rx[d][q].stop, true);
			pthread_join(trx[d][q], NULL);
			got += atomic_load(&rx[d][q].frames);
			cpu += rx[d][q].cpu_ns;
			rc = rc ? rc : rx[d][q].rc;
		}
		sent += dir[d].sent;
		rc = rc ? rc : dir[d].rc;
	}
	rc = run_removed() ? -ENODEV : rc;
	close_pair(&p);
	if (rc)
		return rc;
	m = json_object_new_object();
	{
		json_object *per = json_object_new_array(); /* what each of B's queues received: RSS at work */

		for (unsigned q = 0; q < queues; q++)
			json_object_array_add(per, json_object_new_int64((int64_t)atomic_load(&rx[0][q].frames)));
		json_object_object_add(m, "b_queue_frames", per);
	}
	json_object_object_add(m, "pps", json_object_new_double((double)got * 1e9 / (double)(t1 - t0)));
	json_object_object_add(m, "rx_cpu_ns_per_frame", json_object_new_double(got ? (double)cpu / (double)got : 0));
	json_object_object_add(m, "lost", json_object_new_int64((int64_t)(sent - got)));
	json_object_object_add(m, "frames", json_object_new_int64((int64_t)sent));
	json_object_object_add(m, "queues", json_object_new_int((int)queues));
	json_object_object_add(scale, name, m);
	*rate = (double)got * 1e9 / (double)(t1 - t0);
	*lost = sent - got;
	progress("pps %s: %.0f frames/s, %" PRIu64 " of %" PRIu64 " received", name, *rate, got, sent);
	return 0;
}

/* ---- fwd: frames circulating between A and B, as the DPDK baseline measures it ---- */

enum { FWD_INJECT = 32, FWD_CLOCK_EVERY = 64 }; /* frames each port injects (64 circulate); polls per clock read */

/* Side A's view of the run, as the DPDK baseline's: read inline every FWD_CLOCK_EVERY polls, no third thread. */
struct fwd_meter {
	uint64_t warm, frames, start, t0, t1, n0, n1;
	_Atomic uint64_t *rx[2];
};

struct fwd_side {
	struct upci_port *port, *peer;
	int cpu;
	_Atomic uint64_t rx;
	_Atomic bool *stop;
	struct fwd_meter *meter; /* side A only */
	int rc;
};

/* True once the measured window is complete (or after 60 s without it: t1 stays 0). */
static bool fwd_meter_done(struct fwd_meter *m)
{
	uint64_t n = atomic_load(m->rx[0]) + atomic_load(m->rx[1]), t = now_ns();

	if (!m->t0 && n >= m->warm)
		m->t0 = t, m->n0 = n;
	if (m->t0 && n >= m->n0 + m->frames) {
		m->t1 = t, m->n1 = n;
		return true;
	}
	return t - m->start > 60000000000ull;
}

/* Inject FWD_INJECT frames to the peer, then send every frame received straight back out of the same
 * port, in its own buffer (MACs swapped), until told to stop (side A: until its meter says so). */
static void *fwd_bouncer(void *arg)
{
	struct fwd_side *f = arg;
	struct upci_pkt pkts[BURST];
	uint8_t frame[PPS_FRAME] = { 0 };
	unsigned polls = 0;
	int rc;

	pin_to_cpu(f->cpu);
	memcpy(frame, upci_port_info(f->peer)->mac, 6);
	memcpy(frame + 6, upci_port_info(f->port)->mac, 6);
	frame[12] = ETH_BENCH >> 8, frame[13] = ETH_BENCH & 0xff;
	rc = upci_port_pkt_alloc(f->port, 0, pkts, FWD_INJECT);
	for (int i = 0; i < rc; i++) {
		memcpy(pkts[i].buf, frame, PPS_FRAME);
		pkts[i].len = PPS_FRAME;
	}
	rc = rc == FWD_INJECT ? tx_all(f->port, pkts, FWD_INJECT) : port_rc(f->port, rc < 0 ? rc : -ENOMEM);
	while (rc >= 0 && !atomic_load_explicit(f->stop, memory_order_relaxed) && !run_removed()) {
		int n = upci_port_rx_burst(f->port, 0, pkts, BURST);

		if (f->meter && ++polls % FWD_CLOCK_EVERY == 0 && fwd_meter_done(f->meter))
			atomic_store(f->stop, true);
		if (n <= 0) {
			rc = port_rc(f->port, n);
			continue;
		}
		for (int i = 0; i < n; i++) { /* back where it came from */
			uint8_t *e = pkts[i].buf, mac[6];

			memcpy(mac, e, 6);
			memcpy(e, e + 6, 6);
			memcpy(e + 6, mac, 6);
		}
		atomic_fetch_add_explicit(&f->rx, (unsigned)n, memory_order_relaxed);
		rc = tx_all(f->port, pkts, (unsigned)n);
	}
	if (rc < 0)
		atomic_store(f->stop, true); /* the other side stops too */
	f->rc = rc < 0 ? rc : 0;
	return NULL;
}

/* Frames still in flight, counted at both ports over 200 ms after the bouncers stopped. */
static uint64_t fwd_drain(const struct pair *p)
{
	struct upci_port *port[2] = { p->a, p->b };
	uint64_t n = 0, t0 = now_ns();

	while (now_ns() - t0 < 200000000ull) {
		for (unsigned i = 0; i < 2; i++) {
			int k = drain_rx(port[i]);

			n += k > 0 ? (unsigned)k : 0;
			upci_port_tx_done(port[i], 0);
		}
	}
	return n;
}

/*
 * Each port injects FWD_INJECT frames; each side sends every frame its port receives back out of the same
 * port (zero-copy), so 2 * FWD_INJECT circulate. Side A runs on this thread (CPU 0) and reads the meter
 * inline, side B on one other thread (CPU 1): the DPDK baseline's lcores, method for method. Rate: receptions
 * at A + B per second over o->pps_frames receptions after a warm-up of a tenth of that. Lost: those that did
 * not come back when drained. Return: 0 and *@rate, *@lost; -ENODEV, -errno.
 */
static int fwd_run(const struct opts *o, double *rate, uint64_t *lost)
{
	_Atomic bool stop = false;
	struct fwd_side side[2] = { { 0 } };
	struct fwd_meter m = { .warm = o->pps_frames / 10, .frames = o->pps_frames, .start = now_ns() };
	uint64_t drained;
	cpu_set_t cpus;
	pthread_t th;
	struct pair p;
	int rc = open_pair(o, UPCI_PORT_POLL, &p);

	if (rc)
		return rc;
	side[0] = (struct fwd_side){ .port = p.a, .peer = p.b, .cpu = 0, .stop = &stop, .meter = &m };
	side[1] = (struct fwd_side){ .port = p.b, .peer = p.a, .cpu = 1, .stop = &stop };
	m.rx[0] = &side[0].rx, m.rx[1] = &side[1].rx;
	rc = pthread_create(&th, NULL, fwd_bouncer, &side[1]);
	if (rc) {
		close_pair(&p);
		return -rc;
	}
	pthread_getaffinity_np(pthread_self(), sizeof(cpus), &cpus);
	fwd_bouncer(&side[0]); /* pins this thread to CPU 0 for the run */
	pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
	atomic_store(&stop, true);
	pthread_join(th, NULL);
	rc = side[0].rc ? side[0].rc : side[1].rc;
	drained = fwd_drain(&p);
	rc = run_removed() ? -ENODEV : rc ? rc : !m.t1 ? -ETIMEDOUT : 0;
	close_pair(&p);
	if (rc)
		return rc;
	*rate = (double)(m.n1 - m.n0) * 1e9 / (double)(m.t1 - m.t0);
	*lost = drained < 2 * FWD_INJECT ? 2 * FWD_INJECT - drained : 0;
	return 0;
}

/*
 * pps: A -> B one way (upci.tx_rx: the same run as scale.q1), forwarding (upci.fwd, the DPDK baseline's
 * method), and at scale: B on 2 rx queues, both ports sending at once.
 */
static int bench_pps(const struct opts *o, json_object *root)
{
	json_object *pps = json_object_new_object(), *upci = json_object_new_object();
	json_object *scale = json_object_new_object();
	uint64_t lost_one = 0, lost_fwd = 0, lost_q2 = 0, lost_both = 0;
	double one = 0, fwd = 0, q2, both;
	int rc;

	progress("pps: %u frames A -> B, at most 256 in flight (poll mode)", o->pps_frames);
	rc = scale_run(o, 1, false, "q1", scale, &one, &lost_one);
	if (!rc) {
		json_object_object_add(upci, "tx_rx", json_object_new_double(one));
		progress("pps: 64 frames circulating A <-> B, %u receptions (poll mode, zero-copy)", o->pps_frames);
		rc = fwd_run(o, &fwd, &lost_fwd);
	}
	if (!rc) {
		json_object_object_add(upci, "fwd", json_object_new_double(fwd));
		json_object_object_add(upci, "fwd_lost", json_object_new_int64((int64_t)lost_fwd));
		rc = scale_run(o, 2, false, "q2", scale, &q2, &lost_q2);
	}
	if (!rc)
		rc = scale_run(o, 1, true, "both", scale, &both, &lost_both);
	json_object_object_add(upci, "lost", json_object_new_int64((int64_t)(lost_one + lost_fwd)));
	json_object_object_add(upci, "frames", json_object_new_int64(o->pps_frames));
	json_object_object_add(pps, "upci", upci);
	json_object_object_add(pps, "scale", scale);
	json_object_object_add(root, "pps", pps);
	if (!rc)
		printf("pps   upci tx_rx %12.0f /s   fwd %12.0f /s   lost %" PRIu64 "\n", one, fwd, lost_one + lost_fwd);
	return rc;
}

/* ---- idle: CPU time of the receiving thread with no traffic, and at a low rate ---- */

struct idle_rx {
	struct upci_port *port;
	unsigned ms;
	_Atomic bool stop;
	_Atomic bool done;
	int rc;                     /* why it stopped early: -ENODEV, -errno */
	uint64_t cpu_ns, wall_ns, frames;
};

static void *idle_receiver(void *arg)
{
	struct idle_rx *r = arg;
	struct timespec c0, c1;
	uint64_t w0 = now_ns();
	int rc = 0;

	pin_to_cpu(1);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	while (!r->stop && !run_removed() && rc >= 0 && now_ns() - w0 < (uint64_t)r->ms * 1000000ull) {
		struct upci_pkt p;

		rc = recv_frame(r->port, &p, 50000000ull, &r->stop);
		if (rc > 0) {
			upci_pkt_free(&p, 1);
			r->frames++;
		}
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	r->cpu_ns = (uint64_t)(c1.tv_sec - c0.tv_sec) * 1000000000ull + (uint64_t)(c1.tv_nsec - c0.tv_nsec);
	r->wall_ns = now_ns() - w0;
	r->rc = rc < 0 ? rc : 0;
	atomic_store(&r->done, true);
	return NULL;
}

/* A's side: @rate_pps frames per second for @ms, or (0) no traffic, A watched for removal meanwhile. */
static int idle_drive(struct upci_port *a, const uint8_t *f, unsigned rate_pps, unsigned ms, struct idle_rx *r)
{
	int rc = 0;

	for (uint64_t t0 = now_ns(); rate_pps && !rc && !run_removed() && now_ns() - t0 < (uint64_t)ms * 1000000ull;) {
		rc = send_frame(a, f, PPS_FRAME);
		if (rc >= 0)
			rc = port_rc(a, upci_port_tx_done(a, 0));
		rc = rc < 0 ? rc : 0;
		sleep_us(1000000 / rate_pps);
	}
	while (!rc && !atomic_load(&r->done))
		rc = watch_port(a, 100);
	return rc;
}

/* CPU % of B's receiving thread over the window; @rate_pps frames per second sent from A (0: none). */
static int idle_run(const struct opts *o, enum upci_port_mode mode, unsigned rate_pps, double *cpu)
{
	struct idle_rx r = { .ms = o->idle_ms };
	struct pair p;
	uint8_t f[PPS_FRAME] = { 0 };
	pthread_t th;
	int rc = open_pair(o, mode, &p);

	if (rc)
		return rc;
	r.port = p.b;
	pthread_create(&th, NULL, idle_receiver, &r);
	bench_header(f, &p);
	rc = idle_drive(p.a, f, rate_pps, o->idle_ms, &r);
	r.stop = rc != 0;
	pthread_join(th, NULL);
	rc = run_removed() ? -ENODEV : rc ? rc : r.rc;
	if (!rc)
		*cpu = 100.0 * (double)r.cpu_ns / (double)r.wall_ns;
	close_pair(&p);
	return rc;
}

static int bench_idle(const struct opts *o, json_object *root)
{
	json_object *idle = json_object_new_object();
	int rc = 0;

	for (unsigned i = 0; i < 3 && !rc; i++) {
		json_object *m;
		double none, low;

		if (!in_list(o->modes, modes[i].name))
			continue;
		progress("idle %s: %u ms without traffic, then at 1000 frames/s", modes[i].name, o->idle_ms);
		rc = idle_run(o, modes[i].mode, 0, &none);
		if (!rc)
			rc = idle_run(o, modes[i].mode, 1000, &low);
		if (rc)
			break;
		m = json_object_new_object();
		json_object_object_add(m, "cpu_pct", json_object_new_double(none));
		json_object_object_add(m, "cpu_pct_1000pps", json_object_new_double(low));
		json_object_object_add(idle, modes[i].name, m);
		printf("idle  %-18s cpu %6.2f %% idle, %6.2f %% at 1000 frames/s\n", modes[i].name, none, low);
	}
	json_object_object_add(root, "idle", idle);
	return rc;
}

/* ---- mmio: a register read through the mapping vs through the region fd ---- */

/* The register read: BAR 0 offset 8, a read without side effects on the 82574L (its Device Status). */
#define MMIO_BAR 0
#define MMIO_REG 0x8

/* Open @spec as a bare device (no driver: only its BAR is read). */
static int open_dev(const char *spec, struct upci_dev **out)
{
	int rc = upci_dev_open(spec, NULL, out);

	if (rc)
		return open_failed(rc);
	note_opened(spec);
	return 0;
}

static int bench_mmio(const struct opts *o, json_object *root)
{
	enum { BLOCK = 1000 };
	struct upci_dev *dev;
	const struct upci_bar *bar;
	double mapped = 0, trapped = 0;
	unsigned blocks = o->quick ? 5 : 20;
	volatile uint32_t sink = 0;
	json_object *m;
	int rc = open_dev(o->dev_a, &dev);

	if (rc)
		return rc;
	bar = upci_dev_bar(dev, MMIO_BAR);
	for (unsigned b = 0; b < blocks; b++) {
		uint64_t t0, t1, t2;

		if (upci_dev_process_events(dev) > 0 && upci_dev_removed(dev)) { /* a REQ: released now */
			note_removal(upci_dev_name(dev));
			upci_dev_close(dev);
			return -ENODEV;
		}
		t0 = now_ns();
		for (int i = 0; i < BLOCK; i++)
			sink += upci_bar_read32(bar, MMIO_REG);
		t1 = now_ns();
		for (int i = 0; i < BLOCK; i++)
			sink += (uint32_t)upci_bar_read_slow(bar, MMIO_REG, 4);
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

/* Is @what an item of the comma-separated @list (NULL: everything is)? */
static bool in_list(const char *list, const char *what)
{
	const char *p = list;
	size_t n = strlen(what);

	if (!p)
		return true;
	while ((p = strstr(p, what)) != NULL) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

static bool wanted(const struct opts *o, const char *what)
{
	return in_list(o->only, what);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static char a[32], b[32];

	*o = (struct opts){ .dev_a = "0000:00:02.0", .dev_b = "0000:00:03.0" };
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			o->quick = true;
		} else if (!strcmp(argv[i], "--progress")) {
			show_progress = 1;
		} else if (!strcmp(argv[i], "--json") && i + 1 < argc) {
			o->json_path = argv[++i];
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			o->only = argv[++i];
		} else if (!strcmp(argv[i], "--modes") && i + 1 < argc) {
			o->modes = argv[++i];
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

/* The measurements asked for, in order, until one fails or a device is removed. */
static int run_benches(const struct opts *o, json_object *root)
{
	static const struct {
		const char *name;
		int (*fn)(const struct opts *o, json_object *root);
	} benches[] = {
		{ "irq", bench_irq }, { "rtt", bench_rtt }, { "pps", bench_pps }, { "idle", bench_idle },
		{ "mmio", bench_mmio },
	};
	int rc = 0;

	for (unsigned i = 0; i < sizeof(benches) / sizeof(benches[0]) && !rc && !run_removed(); i++)
		if (wanted(o, benches[i].name))
			rc = benches[i].fn(o, root);
	return rc;
}

#define USAGE "usage: upci-bench [--device A,B] [--quick] [--json FILE] [--only irq,rtt,pps,idle,mmio] " \
	"[--modes poll,interrupt,hybrid] [--progress]"

static void usage(void)
{
	printf("Usage: %s\n"
	       "Measure upci on two 82574L ports wired together: interrupt latency, round trips, throughput, idle CPU\n"
	       "and MMIO cost, against the kernel's own paths (doc/bench.md).\n"
	       "\n"
	       "  --device A,B   the two ports (default 0000:00:02.0,0000:00:03.0)\n"
	       "  --quick        fewer trials and frames (the test suite's run)\n"
	       "  --json FILE    write every figure to FILE (JSON)\n"
	       "  --only LIST    run only these measurements (default all)\n"
	       "  --modes LIST   port modes for rtt and idle (default poll,interrupt,hybrid)\n"
	       "  --progress     the phase lines on stderr even when it is not a terminal\n"
	       "  -h, --help     this text\n"
	       "  -V, --version  the version\n"
	       "\n"
	       "Each phase shows a progress line on stderr when it is a terminal (or with --progress). Exit status: 0 done (also when a\n"
	       "device was removed: the JSON says so); 1 a measurement failed; 2 bad usage.\n",
	       USAGE + strlen("usage: "));
}

int main(int argc, char **argv)
{
	struct opts o;
	json_object *root;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage();
			return 0;
		}
		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			printf("upci-bench (upci) %s\n", UPCI_VERSION_STRING);
			return 0;
		}
	}
	if (parse_args(argc, argv, &o)) {
		fprintf(stderr, "upci-bench: bad arguments: " USAGE " (upci-bench --help)\n");
		return 2;
	}
	root = json_object_new_object();
	rc = run_benches(&o, root);
	if (run_removed()) /* the run stopped cleanly: what was measured until then is reported */
		rc = 0;
	if (rc)
		fprintf(stderr, "upci-bench: a measurement failed (%s); see the lines above\n", strerror(-rc));
	json_object_object_add(root, "removed", json_object_new_boolean(run_removed()));
	if (run_removed())
		json_object_object_add(root, "removed_device", json_object_new_string(run.device));
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
