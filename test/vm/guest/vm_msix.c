/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest side of the lib/msix VM test on the emulated 82574L. TAP on stdout.
 *
 * usage: vm_msix BDF
 *   each of the 5 MSI-X vectors, routed through IVAR, fires its own eventfd and no other when its cause is
 *   raised with ICS; the kernel loopback trigger wakes a waiter; the vector set grows from 1 to 5 (in place
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

#include "drivers/net/e1000e/e1000e_regs.h"
#include "guest_tap.h"
#include "upci/io.h"
#include "upci/msix.h"
#include "upci/vfio.h"

static void sleep_us(unsigned us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static const struct upci_bar *bar0;
static uint32_t all_causes;

/* Route the five causes to vectors 0..4 (IVAR), auto-clear them (EIAC), as Linux's e1000_configure_msix. */
static void program_nic(void)
{
	uint32_t ivar = E1000E_IVAR_TX_EVERY_WB;

	all_causes = E1000E_ICR_LSC;
	for (unsigned v = 0; v < E1000E_MSIX_VECTORS; v++) {
		ivar |= e1000e_ivar(e1000e_vector_routes[v].ivar, v);
		all_causes |= e1000e_vector_routes[v].cause;
	}
	upci_bar_write32(bar0, E1000E_IMC, ~0u);
	upci_bar_write32(bar0, E1000E_ICR, ~0u);
	upci_bar_write32(bar0, E1000E_CTRL_EXT, upci_bar_read32(bar0, E1000E_CTRL_EXT) | E1000E_CTRL_EXT_EIAME |
						   E1000E_CTRL_EXT_PBA_CLR);
	upci_bar_write32(bar0, E1000E_IVAR, ivar);
	upci_bar_write32(bar0, E1000E_EIAC, all_causes & ~E1000E_ICR_LSC);
	upci_bar_write32(bar0, E1000E_IAM, ~(all_causes & ~E1000E_ICR_LSC) | E1000E_ICR_OTHER);
}

/* Raise vector @v's cause; IMS first, since QEMU clears the auto-cleared causes' IMS bits after a message. */
static void raise(unsigned v)
{
	upci_bar_write32(bar0, E1000E_IMS, all_causes);
	upci_bar_write32(bar0, E1000E_ICS, e1000e_vector_routes[v].ics);
}

static void drain_all(struct upci_waitset *ws)
{
	void *tags[16];

	sleep_us(300); /* past QEMU's 128 us throttle window: a duplicate message lands now, not later */
	while (upci_waitset_wait(ws, tags, 16, 0) > 0)
		;
	/* Clear every latched cause. A plain ICR read does not clear it in MSI-X mode (no INT_ASSERTED): a
	 * leftover LSC would make the "other" vector fire again with the next queue cause. */
	upci_bar_write32(bar0, E1000E_ICR, ~0u);
}

/* Each vector's cause wakes its own eventfd, and within 50 ms no other vector's. */
static void check_routing(struct upci_irqs *irqs, const char *when)
{
	struct upci_waitset *ws;
	void *tags[16];

	if (upci_waitset_create(&ws))
		return;
	for (unsigned v = 0; v < E1000E_MSIX_VECTORS; v++)
		upci_waitset_add(ws, upci_irqs_fd(irqs, v), (void *)(uintptr_t)(v + 1));
	for (unsigned v = 0; v < E1000E_MSIX_VECTORS; v++) {
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
					printf("# raising %s also woke vector %u after %.1f ms\n", e1000e_vector_routes[v].name,
					       (unsigned)(uintptr_t)tags[i] - 1, (double)(now_ns() - t0) / 1e6);
			}
		}
		check(own >= 1 && other == 0, "%s: ICS %s (0x%08x) fires vector %u's eventfd (%u wakes) and no other (%u)",
		      when, e1000e_vector_routes[v].name, e1000e_vector_routes[v].ics, v, own, other);
	}
	drain_all(ws);
	for (unsigned v = 0; v < E1000E_MSIX_VECTORS; v++) {
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
	enum { TRIALS = 400 };
	static uint64_t ics[TRIALS], loop[TRIALS];
	unsigned got_ics = 0, got_loop = 0;
	uint64_t drop;

	for (unsigned t = 0; t < TRIALS; t++) {
		uint64_t t0;

		sleep_us(300);
		(void)!read(upci_irqs_fd(irqs, 0), &drop, sizeof(drop)); /* a late duplicate, if any */
		upci_bar_write32(bar0, E1000E_IMS, all_causes);
		t0 = now_ns();
		upci_bar_write32(bar0, E1000E_ICS, E1000E_ICR_RXQ0);
		if (upci_irqs_wait(irqs, 0, 1000) > 0)
			ics[got_ics++] = now_ns() - t0;
		sleep_us(300);
		(void)!read(upci_irqs_fd(irqs, 0), &drop, sizeof(drop));
		t0 = now_ns();
		if (!upci_irqs_trigger(irqs, 0) && upci_irqs_wait(irqs, 0, 1000) > 0)
			loop[got_loop++] = now_ns() - t0;
	}
	check(got_ics == TRIALS && got_loop == TRIALS, "every ICS (%u) and loopback (%u) trial woke the waiter", got_ics,
	      got_loop);
	if (got_ics)
		percentiles("ICS -> MSI-X -> eventfd wake (blocking poll+read, same thread)", ics, got_ics);
	if (got_loop)
		percentiles("kernel loopback trigger -> eventfd wake (same thread)", loop, got_loop);
}

/* The idle hybrid: rx0 armed through IMS, nothing arrives for 2 s except one interrupt at 1 s. */
struct idle_run {
	struct upci_hybrid h;
	volatile bool stop;
	uint64_t cpu_ns, wall_ns;
};

static unsigned idle_poll(void *q, unsigned budget)
{
	(void)q, (void)budget;
	return 0; /* no ring yet (driver issue): the queue is always empty */
}

static void idle_arm(void *q)
{
	(void)q;
	upci_bar_write32(bar0, E1000E_IMS, E1000E_ICR_RXQ0);
}

static void idle_disarm(void *q)
{
	(void)q;
	upci_bar_write32(bar0, E1000E_IMC, E1000E_ICR_RXQ0);
}

static void *idle_thread(void *arg)
{
	struct idle_run *r = arg;
	struct timespec c0, c1;
	uint64_t w0 = now_ns();

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	while (!r->stop)
		if (upci_hybrid_step(&r->h) < 0)
			break;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	r->cpu_ns = (uint64_t)(c1.tv_sec - c0.tv_sec) * 1000000000ull + (uint64_t)(c1.tv_nsec - c0.tv_nsec);
	r->wall_ns = now_ns() - w0;
	return NULL;
}

static void check_idle(struct upci_irqs *irqs)
{
	static const struct upci_hybrid_ops ops = { .poll = idle_poll, .arm = idle_arm, .disarm = idle_disarm };
	struct upci_hybrid_cfg cfg = { .idle_polls = 64, .sleep_timeout_ms = 500 };
	struct idle_run r = { .stop = false };
	pthread_t t;
	double pct;

	idle_disarm(NULL);
	if (!check(upci_hybrid_init(&r.h, &ops, NULL, upci_irqs_fd(irqs, 0), &cfg) == 0, "hybrid set up on rx0"))
		return;
	pthread_create(&t, NULL, idle_thread, &r);
	sleep_us(1000000);
	upci_bar_write32(bar0, E1000E_ICS, E1000E_ICR_RXQ0); /* reaches the sleeper only if it armed IMS */
	sleep_us(1000000);
	r.stop = true;
	upci_irqs_trigger(irqs, 0); /* wake it to see the stop flag */
	pthread_join(t, NULL);
	pct = 100.0 * (double)r.cpu_ns / (double)r.wall_ns;
	printf("# idle hybrid over %.2f s: thread CPU %.3f ms (%.2f%% of a core); polls %" PRIu64 ", arms %" PRIu64
	       ", sleeps %" PRIu64 ", wakeups %" PRIu64 ", spurious %" PRIu64 ", timeouts %" PRIu64 ", asleep %.2f s\n",
	       (double)r.wall_ns / 1e9, (double)r.cpu_ns / 1e6, pct, r.h.stats.polls, r.h.stats.arms, r.h.stats.sleeps,
	       r.h.stats.wakeups, r.h.stats.spurious_wakeups, r.h.stats.timeouts, (double)r.h.stats.ns_asleep / 1e9);
	check(pct < 5.0, "an idle hybrid waiter uses %.2f%% of a core (< 5%%)", pct);
	check(r.h.stats.wakeups >= 1, "the interrupt raised while it slept woke it (%" PRIu64 " wakeups)",
	      r.h.stats.wakeups);
}

int main(int argc, char **argv)
{
	struct upci_dev *dev = NULL;
	struct upci_irqs *irqs = NULL;
	bool can_grow;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: vm_msix BDF\n");
		return 2;
	}
	rc = upci_dev_open(argv[1], NULL, &dev);
	if (!check(rc == 0, "open %s", argv[1]))
		return 1;
	bar0 = upci_dev_bar(dev, 0);
	upci_dev_enable(dev);
	rc = upci_irqs_open(dev, UPCI_IRQ_AUTO, &irqs);
	if (!check(rc == 0 && upci_irqs_kind(irqs) == UPCI_IRQ_MSIX && upci_irqs_max(irqs) == 5,
		   "AUTO picks MSI-X with 5 vectors"))
		return 1;
	can_grow = upci_irqs_can_grow(irqs);
	printf("# %s guest, kernel %s, intremap %s: MSI-X %s\n", getenv("UPCI_VM_ARCH"), getenv("UPCI_VM_KERNEL"),
	       getenv("UPCI_VM_INTREMAP"), can_grow ? "can grow (no NORESIZE)" : "NORESIZE");
	program_nic();

	check(upci_irqs_enable(irqs, 0, 5) == 0 && upci_irqs_live(irqs) == 5, "all 5 vectors wired");
	check_routing(irqs, "5 at once");

	check(upci_irqs_disable(irqs) == 0 && upci_irqs_live(irqs) == 0, "disable");
	check(upci_irqs_enable(irqs, 0, 1) == 0 && upci_irqs_live(irqs) == 1, "enable vector 0 alone");
	check(upci_irqs_enable(irqs, 1, 4) == 0 && upci_irqs_live(irqs) == 5, "grow to 5 vectors");
	check(upci_irqs_full_reenables(irqs) == (can_grow ? 0u : 1u), "growing took %u full disable/enable (%s)",
	      upci_irqs_full_reenables(irqs), can_grow ? "none expected: dynamic MSI-X" : "one expected: NORESIZE");
	check_routing(irqs, "after growing");

	check(upci_irqs_rewire(irqs, 3, -1) == 0, "de-assign vector 3");
	{
		uint64_t drop;

		raise(3);
		sleep_us(20000);
		check(read(upci_irqs_fd(irqs, 3), &drop, sizeof(drop)) < 0, "a de-assigned vector signals nothing");
		check(upci_irqs_rewire(irqs, 3, upci_irqs_fd(irqs, 3)) == 0, "wire it back");
		raise(3);
		check(upci_irqs_wait(irqs, 3, 1000) > 0, "vector 3 fires again");
	}
	latency(irqs);
	check_idle(irqs);
	upci_irqs_close(irqs);
	upci_dev_close(dev);
	return tap_done();
}
