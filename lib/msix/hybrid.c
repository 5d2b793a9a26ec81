/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The poll/interrupt hybrid: poll while there is work; after a run of empty polls arm the queue's
 * interrupt, poll once more, and only then sleep on its eventfd; on wake disarm and poll again.
 *
 * The extra poll after arming closes the classic race: a packet that arrives after the last empty poll but
 * before the interrupt is armed raises no interrupt (the cause was already set while disarmed, or the
 * device only signals new causes), so a policy that sleeps right after arming waits for its timeout.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "../common/eventfd.h"
#include "upci/kernel.h"
#include "upci/msix.h"

static uint64_t now_ns(struct upci_hybrid *h)
{
	struct timespec ts;

	if (h->ops.now_ns)
		return h->ops.now_ns(h->queue);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int upci_hybrid_init(struct upci_hybrid *h, const struct upci_hybrid_ops *ops, void *queue, int fd,
		     const struct upci_hybrid_cfg *cfg)
{
	if (!h || !ops || !ops->poll || !ops->arm || !ops->disarm || fd < 0)
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	h->ops = *ops;
	h->queue = queue;
	h->fd = fd;
	h->event_fd = -1;
	if (cfg)
		h->cfg = *cfg;
	if (!h->cfg.budget)
		h->cfg.budget = 32;
	if (!h->cfg.idle_polls)
		h->cfg.idle_polls = 64;
	if (!h->cfg.sleep_timeout_ms)
		h->cfg.sleep_timeout_ms = 100;
	if (!h->cfg.busy_rate_pps)
		h->cfg.busy_rate_pps = 100000;
	h->threshold = h->cfg.idle_polls;
	if (h->cfg.adaptive)
		h->window_start_ns = now_ns(h);
	return 0;
}

/* Adaptive threshold from the packet rate of the last window (>= 1 ms): busy queues never sleep; the
 * quieter the queue, the sooner it sleeps. */
static void adapt(struct upci_hybrid *h, unsigned n)
{
	uint64_t t, elapsed, rate;

	h->window_packets += n;
	t = now_ns(h);
	elapsed = t - h->window_start_ns;
	if (elapsed < 1000000)
		return;
	rate = h->window_packets * 1000000000ull / elapsed;
	if (rate >= h->cfg.busy_rate_pps) {
		h->threshold = UINT32_MAX;
	} else {
		uint64_t th = (uint64_t)h->cfg.idle_polls * rate / h->cfg.busy_rate_pps;

		h->threshold = th < 1 ? 1 : (unsigned)th;
	}
	h->window_start_ns = t;
	h->window_packets = 0;
}

static unsigned poll_queue(struct upci_hybrid *h)
{
	unsigned n = h->ops.poll(h->queue, h->cfg.budget);

	h->stats.polls++;
	if (n)
		h->stats.packets += n;
	else
		h->stats.empty_polls++;
	if (h->cfg.adaptive)
		adapt(h, n);
	return n;
}

/* Read the eventfd without blocking: drop signals raised while we were polling anyway. */
static void drain(struct upci_hybrid *h)
{
	(void)upci_eventfd_drain(h->fd, NULL);
}

int upci_hybrid_watch(struct upci_hybrid *h, int fd)
{
	if (!h || (fd >= 0 && !h->ops.event))
		return -EINVAL;
	h->event_fd = fd;
	return 0;
}

/* Sleep until the eventfd (or the watched event fd) fires or the timeout passes.
 * Return: 1 woken, 0 timeout, -errno (or ops.event's negative value). */
static int sleep_on_fd(struct upci_hybrid *h)
{
	struct pollfd p[2] = { { .fd = h->fd, .events = POLLIN }, { .fd = h->event_fd, .events = POLLIN } };
	uint64_t t0 = now_ns(h);
	int rc = upci_poll_retry(p, h->event_fd >= 0 ? 2 : 1, h->cfg.sleep_timeout_ms);

	h->stats.sleeps++;
	h->stats.ns_asleep += now_ns(h) - t0;
	if (rc < 0)
		return rc;
	if (h->event_fd >= 0 && p[1].revents) {
		rc = h->ops.event(h->queue);
		if (rc < 0)
			return rc;
	}
	if (!p[0].revents)
		return 0;
	return upci_eventfd_drain(h->fd, NULL) > 0;
}

int upci_hybrid_step(struct upci_hybrid *h)
{
	unsigned n = poll_queue(h);
	int rc;

	if (h->woke) {
		h->woke = false;
		if (n == 0)
			h->stats.spurious_wakeups++;
	}
	if (n) {
		h->empty_run = 0;
		return (int)n;
	}
	if (++h->empty_run < h->threshold)
		return 0;

	if (!h->clean)
		drain(h);
	h->clean = false; /* armed: it may fire from now on */
	h->ops.arm(h->queue);
	h->stats.arms++;
	n = poll_queue(h); /* the re-poll: work that arrived before the arm took effect */
	if (n) {
		h->stats.rearm_catches++;
		h->ops.disarm(h->queue);
		h->empty_run = 0;
		return (int)n;
	}
	rc = sleep_on_fd(h);
	if (rc == 1 && h->cfg.automask)
		h->clean = true; /* its signal consumed, the queue masked by the message */
	else
		h->ops.disarm(h->queue);
	h->empty_run = 0;
	if (rc < 0)
		return rc;
	if (rc) {
		h->stats.wakeups++;
		h->woke = true;
	} else {
		h->stats.timeouts++;
	}
	return 0;
}

void upci_hybrid_forget(struct upci_hybrid *h)
{
	if (h)
		h->clean = false;
}
