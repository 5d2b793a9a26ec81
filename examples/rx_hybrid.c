/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rx_hybrid — receive on an 82574L with the poll/interrupt hybrid and print a line per second.
 *
 *   rx_hybrid [DEVICE [SECONDS]]
 *
 * One thread serves rx queue 0: it polls while frames arrive and sleeps on the queue's MSI-X vector when
 * the queue is idle, so an idle receiver costs (almost) no CPU.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <upci/e1000e.h>
#include <upci/msix.h>

struct rx {
	struct e1000e *nic;
	uint64_t frames, bytes;
};

static unsigned poll_rx(void *arg, unsigned budget)
{
	struct rx *r = arg;
	struct e1000e_pkt pkts[32];
	unsigned n = e1000e_rx_burst(r->nic, 0, pkts, budget < 32 ? budget : 32);

	for (unsigned i = 0; i < n; i++)
		r->bytes += pkts[i].len; /* a real application processes the frame here */
	r->frames += n;
	e1000e_rx_free(r->nic, 0, pkts, n);
	return n;
}

static void arm(void *arg)
{
	e1000e_rx_arm(((struct rx *)arg)->nic, 0);
}

static void disarm(void *arg)
{
	e1000e_rx_disarm(((struct rx *)arg)->nic, 0);
}

int main(int argc, char **argv)
{
	static const struct upci_hybrid_ops ops = { .poll = poll_rx, .arm = arm, .disarm = disarm };
	struct e1000e_cfg cfg = { .rx_queues = 1, .mode = E1000E_MODE_HYBRID };
	int seconds = argc > 2 ? atoi(argv[2]) : 10;
	struct upci_hybrid h;
	struct rx r = { 0 };
	time_t end, next;

	if (e1000e_open(argc > 1 ? argv[1] : NULL, &cfg, &r.nic) || e1000e_start(r.nic))
		return 1;
	upci_hybrid_init(&h, &ops, &r, e1000e_rx_fd(r.nic, 0), NULL);
	end = time(NULL) + seconds;
	next = time(NULL) + 1;
	while (time(NULL) < end) {
		if (upci_hybrid_step(&h) < 0)
			break;
		if (time(NULL) >= next) {
			next++;
			printf("%" PRIu64 " frames, %" PRIu64 " bytes; polls %" PRIu64 ", sleeps %" PRIu64 ", wakeups %" PRIu64
			       ", asleep %.1f s\n", r.frames, r.bytes, h.stats.polls, h.stats.sleeps, h.stats.wakeups,
			       (double)h.stats.ns_asleep / 1e9);
		}
	}
	e1000e_close(r.nic);
	return 0;
}
