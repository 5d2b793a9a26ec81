/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest side of the lib/msix VM test on the emulated 82574L, driven through the port API: the driver routes
 * the vectors and raises them with its test hook (upci_port_raise_irq), so nothing here knows the device's
 * registers. TAP on stdout.
 *
 * usage: vm_msix BDF
 *   each of the port's MSI-X vectors fires its own eventfd and no other when the driver raises it; the
 *   kernel loopback trigger wakes a waiter; the vector set grows from 1 to 5 (in place
 *   where the kernel allows it); an idle hybrid waiter sleeps (< 5% of a core over 2 s) and wakes on an
 *   interrupt; ICS->wake and loopback->wake latency percentiles.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guest_tap.h"
#include "upci/msix.h"
#include "upci/port.h"
#include "upci/vfio.h"

static void sleep_us(unsigned us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static struct upci_port *port;
static unsigned n_vectors;

/* Have the device raise vector @v (the driver's test hook). */
static void raise(unsigned v)
{
	if (upci_port_raise_irq(port, v))
		printf("# raising vector %u failed\n", v);
}

static void drain_all(struct upci_waitset *ws)
{
	void *tags[16];

	sleep_us(300); /* past QEMU's 128 us throttle window: a duplicate message lands now, not later */
	while (upci_waitset_wait(ws, tags, 16, 0) > 0)
		;
	/* Acknowledge a latched link cause: left set, it would make the link vector fire again with the next
	 * cause (timeout 0 asks the device now, though the waitset consumed the eventfd). */
	(void)upci_port_link_wait(port, 0);
}

/* Each vector's cause wakes its own eventfd, and within 50 ms no other vector's. */
static void check_routing(struct upci_irqs *irqs, const char *when)
{
	struct upci_waitset *ws;
	void *tags[16];

	if (upci_waitset_create(&ws))
		return;
	for (unsigned v = 0; v < n_vectors; v++)
		upci_waitset_add(ws, upci_irqs_fd(irqs, v), (void *)(uintptr_t)(v + 1));
	for (unsigned v = 0; v < n_vectors; v++) {
		unsigned own = 0, other = 0;
		int n;

		drain_all(ws);
		raise(v);
		n = upci_waitset_wait(ws, tags, 16, 1000);
		for (uint64_t t0 = now_ns(); n >= 0 && now_ns() - t0 < 50000000ull;
		     n = upci_waitset_wait(ws, tags, 16, 10)) {
			for (int i = 0; i < n; i++) {
				*((uintptr_t)tags[i] == v + 1 ? &own : &other) += 1;
				if ((uintptr_t)tags[i] != v + 1)
					printf("# raising vector %u also woke vector %u after %.1f ms\n", v,
					       (unsigned)(uintptr_t)tags[i] - 1, (double)(now_ns() - t0) / 1e6);
			}
		}
		check(own >= 1 && other == 0, "%s: the device raising vector %u fires its eventfd (%u wakes) and no other (%u)",
		      when, v, own, other);
	}
	drain_all(ws);
	for (unsigned v = 0; v < n_vectors; v++) {
		int n;

		upci_irqs_trigger(irqs, v);
		n = upci_waitset_wait(ws, tags, 16, 1000);
		check(n == 1 && (uintptr_t)tags[0] == v + 1, "%s: the loopback trigger of vector %u wakes its waiter", when, v);
	}
	upci_waitset_destroy(ws);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void percentiles(const char *what, uint64_t *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	printf("# latency %s: p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us (%u trials, CLOCK_MONOTONIC)\n", what,
	       (double)v[n / 2] / 1e3, (double)v[n * 9 / 10] / 1e3, (double)v[n * 99 / 100] / 1e3, (double)v[n - 1] / 1e3,
	       n);
}

static void latency(struct upci_irqs *irqs)
{
	const unsigned rx0 = (unsigned)upci_port_rx_vector(port, 0);
	enum { TRIALS = 400 };
	static uint64_t ics[TRIALS], loop[TRIALS];
	unsigned got_ics = 0, got_loop = 0;

	for (unsigned t = 0; t < TRIALS; t++) {
		uint64_t t0;

		sleep_us(300);
		(void)upci_irqs_wait(irqs, rx0, 0); /* a late duplicate, if any */
		t0 = now_ns();
		raise(rx0);
		if (upci_irqs_wait(irqs, rx0, 1000) > 0)
			ics[got_ics++] = now_ns() - t0;
		sleep_us(300);
		(void)upci_irqs_wait(irqs, rx0, 0);
		t0 = now_ns();
		if (!upci_irqs_trigger(irqs, rx0) && upci_irqs_wait(irqs, rx0, 1000) > 0)
			loop[got_loop++] = now_ns() - t0;
	}
	check(got_ics == TRIALS && got_loop == TRIALS, "every ICS (%u) and loopback (%u) trial woke the waiter", got_ics,
	      got_loop);
	if (got_ics)
		percentiles("device raise (driver hook: IMS + ICS) -> MSI-X -> eventfd wake (blocking poll+read, same thread)", ics, got_ics);
	if (got_loop)
		percentiles("kernel loopback trigger -> eventfd wake (same thread)", loop, got_loop);
}

/* The idle hybrid: rx queue 0 of a HYBRID port, nothing arrives for 2 s except one interrupt at 1 s. */
struct idle_run {
	volatile bool stop;
	int rc;
	uint64_t cpu_ns, wall_ns;
};

static void *idle_thread(void *arg)
{
	struct idle_run *r = arg;
	struct timespec c0, c1;
	uint64_t w0 = now_ns();

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	while (!r->stop) {
		struct upci_pkt pkts[32];

		r->rc = upci_port_rx(port, 0, pkts, 32);
		if (r->rc < 0)
			break;
		upci_pkt_free(pkts, (unsigned)r->rc);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	r->cpu_ns = (uint64_t)(c1.tv_sec - c0.tv_sec) * 1000000000ull + (uint64_t)(c1.tv_nsec - c0.tv_nsec);
	r->wall_ns = now_ns() - w0;
	return NULL;
}

static void check_idle(struct upci_irqs *irqs)
{
	const struct upci_hybrid_stats *h = upci_port_hybrid_stats(port, 0);
	struct idle_run r = { .stop = false };
	pthread_t t;
	double pct;

	if (!check(h != NULL, "the port runs the built-in hybrid on rx queue 0"))
		return;
	pthread_create(&t, NULL, idle_thread, &r);
	sleep_us(1000000);
	raise((unsigned)upci_port_rx_vector(port, 0));
	sleep_us(1000000);
	r.stop = true;
	upci_irqs_trigger(irqs, (unsigned)upci_port_rx_vector(port, 0)); /* wake it to see the stop flag */
	pthread_join(t, NULL);
	pct = 100.0 * (double)r.cpu_ns / (double)r.wall_ns;
	printf("# idle hybrid over %.2f s: thread CPU %.3f ms (%.2f%% of a core); polls %" PRIu64 ", arms %" PRIu64
	       ", sleeps %" PRIu64 ", wakeups %" PRIu64 ", spurious %" PRIu64 ", timeouts %" PRIu64 ", asleep %.2f s\n",
	       (double)r.wall_ns / 1e9, (double)r.cpu_ns / 1e6, pct, h->polls, h->arms, h->sleeps, h->wakeups,
	       h->spurious_wakeups, h->timeouts, (double)h->ns_asleep / 1e9);
	check(r.rc >= 0, "upci_port_rx never failed (%d)", r.rc);
	check(pct < 5.0, "an idle hybrid waiter uses %.2f%% of a core (< 5%%)", pct);
	check(h->wakeups >= 1, "the interrupt raised while it slept woke it (%" PRIu64 " wakeups)", h->wakeups);
}

/* Before the driver takes the device: AUTO must pick MSI-X with the 82574L's 5 vectors. */
static bool check_auto_kind(const char *bdf)
{
	struct upci_dev *dev = NULL;
	struct upci_irqs *irqs = NULL;
	bool ok;

	if (!check(upci_dev_open(bdf, NULL, &dev) == 0, "open %s", bdf))
		return false;
	ok = upci_irqs_open(dev, UPCI_IRQ_AUTO, &irqs) == 0 && upci_irqs_kind(irqs) == UPCI_IRQ_MSIX &&
	     upci_irqs_max(irqs) == 5;
	check(ok, "AUTO picks MSI-X with 5 vectors");
	upci_irqs_close(irqs);
	upci_dev_close(dev);
	return ok;
}

int main(int argc, char **argv)
{
	struct upci_port_cfg cfg = { .mode = UPCI_PORT_HYBRID, .hybrid = { .idle_polls = 64, .sleep_timeout_ms = 500 } };
	struct upci_irqs *irqs;
	bool can_grow;

	if (argc != 2) {
		fprintf(stderr, "usage: vm_msix BDF\n");
		return 2;
	}
	if (!check_auto_kind(argv[1]))
		return 1;
	if (!check(upci_port_open(argv[1], &cfg, &port) == 0, "port %s open", argv[1]))
		return 1;
	irqs = upci_port_irqs(port);
	n_vectors = upci_port_info(port)->vectors;
	can_grow = upci_irqs_can_grow(irqs);
	printf("# %s guest, kernel %s, intremap %s: MSI-X %s; driver %s, %u vectors\n", getenv("UPCI_VM_ARCH"),
	       getenv("UPCI_VM_KERNEL"), getenv("UPCI_VM_INTREMAP"), can_grow ? "can grow (no NORESIZE)" : "NORESIZE",
	       upci_port_info(port)->driver, n_vectors);

	check(n_vectors == 5 && upci_irqs_live(irqs) == 5, "all 5 vectors wired by the driver");
	check_routing(irqs, "5 at once");

	check(upci_irqs_disable(irqs) == 0 && upci_irqs_live(irqs) == 0, "disable");
	check(upci_irqs_enable(irqs, 0, 1) == 0 && upci_irqs_live(irqs) == 1, "enable vector 0 alone");
	check(upci_irqs_enable(irqs, 1, 4) == 0 && upci_irqs_live(irqs) == 5, "grow to 5 vectors");
	check(upci_irqs_full_reenables(irqs) == (can_grow ? 0u : 1u), "growing took %u full disable/enable (%s)",
	      upci_irqs_full_reenables(irqs), can_grow ? "none expected: dynamic MSI-X" : "one expected: NORESIZE");
	check_routing(irqs, "after growing");

	check(upci_irqs_rewire(irqs, 3, -1) == 0, "de-assign vector 3");
	{
		raise(3);
		sleep_us(20000);
		check(upci_irqs_wait(irqs, 3, 0) == 0, "a de-assigned vector signals nothing");
		check(upci_irqs_rewire(irqs, 3, upci_irqs_fd(irqs, 3)) == 0, "wire it back");
		raise(3);
		check(upci_irqs_wait(irqs, 3, 1000) > 0, "vector 3 fires again");
	}
	latency(irqs);
	check_idle(irqs);
	upci_port_close(port);
	return tap_done();
}
