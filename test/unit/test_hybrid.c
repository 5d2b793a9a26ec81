/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/msix/hybrid.c and lib/msix/waitset.c: a scripted queue with a real eventfd as its interrupt. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "upci/kernel.h"
#include "upci/msix.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define US 1000ull
#define MS 1000000ull

/*
 * The scripted queue. Packets arrive at poll calls (script[i] at call i, then arrive_each at every later
 * call), from the arm hook, or from a helper thread. The "device" signals the eventfd for an arrival only
 * while armed, and only for new arrivals (packets already pending when the arm takes effect raise nothing).
 * Everything is under @lock: a helper thread plays the device in the wake-up tests.
 */
struct fake_queue;

struct waker {
	struct fake_queue *q;
	unsigned packets;      /* packets that arrive with the signal (0: a signal with no packet) */
	uint64_t advance_ns;   /* virtual time that passes before the signal */
	pthread_t thread;
	bool started;
	bool gave_up;          /* the hybrid never went to sleep */
};

struct fake_queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int fd;                        /* the queue's interrupt: an eventfd, EFD_NONBLOCK */
	unsigned pending;              /* packets in the ring, not yet polled */
	const unsigned *script;        /* arrivals at poll call i, for i < script_len */
	size_t script_len;
	unsigned arrive_each;          /* arrivals at every poll call past the script */
	bool armed;
	bool automask;                 /* as an 82574L with EIAME + IAM: the interrupt disarms the queue as it fires */
	unsigned polls, armed_polls, arm_calls, disarm_calls;
	unsigned last_budget;
	unsigned irq_errors;           /* eventfd_write failures (checked in teardown) */
	uint64_t clock_ns, tick_ns;    /* the virtual clock for ops.now_ns; advanced by tick_ns per poll */
	void (*before_arm)(struct fake_queue *q); /* runs in arm before it takes effect: the race window */
	unsigned pending_at_arm;       /* seen when the arm took effect */
	bool signalled_at_arm;         /* the eventfd was readable when the arm took effect */
	char log[128];                 /* p: empty poll, P: poll with work, A: arm, D: disarm */
	size_t log_len;
	struct waker waker;
};

static void log_event(struct fake_queue *q, char c)
{
	if (q->log_len + 1 < sizeof(q->log)) {
		q->log[q->log_len++] = c;
		q->log[q->log_len] = '\0';
	}
}

static void raise_irq(struct fake_queue *q)
{
	if (eventfd_write(q->fd, 1))
		q->irq_errors++;
}

static bool fd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* The device: @n packets land in the ring; an armed interrupt fires for them. Called under q->lock. */
static void arrive(struct fake_queue *q, unsigned n)
{
	q->pending += n;
	if (n && q->armed) {
		raise_irq(q);
		q->armed = !q->automask;
	}
}

static unsigned q_poll(void *arg, unsigned budget)
{
	struct fake_queue *q = arg;
	unsigned n;

	pthread_mutex_lock(&q->lock);
	q->clock_ns += q->tick_ns;
	arrive(q, q->polls < q->script_len ? q->script[q->polls] : q->arrive_each);
	q->polls++;
	q->last_budget = budget;
	n = q->pending < budget ? q->pending : budget;
	q->pending -= n;
	if (q->armed)
		q->armed_polls++;
	log_event(q, n ? 'P' : 'p');
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return n;
}

static void q_arm(void *arg)
{
	struct fake_queue *q = arg;
	void (*hook)(struct fake_queue *q);

	pthread_mutex_lock(&q->lock);
	q->arm_calls++;
	hook = q->before_arm;
	pthread_mutex_unlock(&q->lock);
	if (hook)
		hook(q);
	pthread_mutex_lock(&q->lock);
	q->armed = true;
	q->pending_at_arm = q->pending;
	q->signalled_at_arm = fd_readable(q->fd);
	log_event(q, 'A');
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

static void q_disarm(void *arg)
{
	struct fake_queue *q = arg;

	pthread_mutex_lock(&q->lock);
	q->armed = false;
	q->disarm_calls++;
	log_event(q, 'D');
	pthread_mutex_unlock(&q->lock);
}

static uint64_t q_now(void *arg)
{
	struct fake_queue *q = arg;
	uint64_t t;

	pthread_mutex_lock(&q->lock);
	t = q->clock_ns;
	pthread_mutex_unlock(&q->lock);
	return t;
}

static const struct upci_hybrid_ops queue_ops = {
	.poll = q_poll,
	.arm = q_arm,
	.disarm = q_disarm,
	.now_ns = q_now,
};

static int setup(void **state)
{
	struct fake_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return -1;
	q->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->fd < 0) {
		free(q);
		return -1;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	*state = q;
	return 0;
}

static int teardown(void **state)
{
	struct fake_queue *q = *state;
	unsigned errors = q->irq_errors;

	if (q->waker.started)
		pthread_join(q->waker.thread, NULL);
	close(q->fd);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q);
	return errors ? -1 : 0;
}

static void init_hybrid(struct upci_hybrid *h, struct fake_queue *q, const struct upci_hybrid_cfg *cfg)
{
	assert_int_equal(upci_hybrid_init(h, &queue_ops, q, q->fd, cfg), 0);
}

/* Step expecting @want packets (0: an empty poll or a sleep). */
static void step(struct upci_hybrid *h, int want)
{
	assert_int_equal(upci_hybrid_step(h), want);
}

/*
 * The counters a case expects: IS(n) for each one it checks, the others left out (not checked), e.g.
 * assert_stats(&h, .arms = IS(1), .sleeps = IS(0)). A mismatch names the counter and fails at the call.
 */
struct want {
	bool checked;
	uint64_t value;
};

#define IS(n) ((struct want){ true, (n) })
#define HYBRID_STATS(X) X(polls) X(empty_polls) X(packets) X(arms) X(rearm_catches) X(sleeps) X(wakeups) \
	X(spurious_wakeups) X(timeouts) X(ns_asleep)
#define WANT_FIELD(name) struct want name;

struct want_stats {
	HYBRID_STATS(WANT_FIELD)
};

static void check_stat(const char *name, uint64_t got, struct want w, const char *file, int line)
{
	if (!w.checked || got == w.value)
		return;
	print_error("stats.%s is %llu, expected %llu\n", name, (unsigned long long)got,
		    (unsigned long long)w.value);
	_fail(file, line);
}

#define CHECK_FIELD(name) check_stat(#name, s->name, w.name, file, line);

static void assert_stats_at(const struct upci_hybrid_stats *s, struct want_stats w, const char *file, int line)
{
	HYBRID_STATS(CHECK_FIELD)
}

#define assert_stats(h, ...) assert_stats_at(&(h)->stats, (struct want_stats){ __VA_ARGS__ }, __FILE__, __LINE__)

/* @n steps that each poll empty without arming. */
static void empty_steps(struct upci_hybrid *h, unsigned n)
{
	uint64_t arms = h->stats.arms;

	for (unsigned i = 0; i < n; i++) {
		step(h, 0);
		if (h->stats.arms != arms)
			fail_msg("armed at empty step %u of %u (threshold %u)", i + 1, n, h->threshold);
	}
}

/* --- the helper thread: the device raising an interrupt while the hybrid sleeps --- */

static void *waker_main(void *arg)
{
	struct waker *w = arg;
	struct fake_queue *q = w->q;
	struct timespec deadline, delay = { .tv_nsec = 20 * MS };
	int rc = 0;

	/* Armed and re-polled empty: the hybrid is in (or about to enter) its sleep. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 2;
	pthread_mutex_lock(&q->lock);
	while (!(q->armed && q->armed_polls > 0) && rc == 0)
		rc = pthread_cond_timedwait(&q->cond, &q->lock, &deadline);
	pthread_mutex_unlock(&q->lock);
	if (rc) {
		w->gave_up = true;
		return NULL;
	}
	nanosleep(&delay, NULL);
	pthread_mutex_lock(&q->lock);
	q->clock_ns += w->advance_ns;
	if (w->packets)
		arrive(q, w->packets);
	else
		raise_irq(q); /* a shared vector, or a cause the queue does not own */
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

static void waker_start(struct fake_queue *q, unsigned packets, uint64_t advance_ns)
{
	q->waker = (struct waker){ .q = q, .packets = packets, .advance_ns = advance_ns };
	assert_int_equal(pthread_create(&q->waker.thread, NULL, waker_main, &q->waker), 0);
	q->waker.started = true;
}

static void waker_join(struct fake_queue *q)
{
	assert_true(q->waker.started);
	assert_int_equal(pthread_join(q->waker.thread, NULL), 0);
	q->waker.started = false;
	assert_false(q->waker.gave_up);
}

/* --- upci_hybrid_init --- */

static void init_rejects_bad_arguments(void **state)
{
	struct fake_queue *q = *state;
	struct upci_hybrid h;
	struct upci_hybrid_ops ops;

	assert_int_equal(upci_hybrid_init(NULL, &queue_ops, q, q->fd, NULL), -EINVAL);
	assert_int_equal(upci_hybrid_init(&h, NULL, q, q->fd, NULL), -EINVAL);
	ops = queue_ops;
	ops.poll = NULL;
	assert_int_equal(upci_hybrid_init(&h, &ops, q, q->fd, NULL), -EINVAL);
	ops = queue_ops;
	ops.arm = NULL;
	assert_int_equal(upci_hybrid_init(&h, &ops, q, q->fd, NULL), -EINVAL);
	ops = queue_ops;
	ops.disarm = NULL;
	assert_int_equal(upci_hybrid_init(&h, &ops, q, q->fd, NULL), -EINVAL);
	assert_int_equal(upci_hybrid_init(&h, &queue_ops, q, -1, NULL), -EINVAL);
	/* now_ns is optional */
	ops = queue_ops;
	ops.now_ns = NULL;
	assert_int_equal(upci_hybrid_init(&h, &ops, q, q->fd, NULL), 0);
}

static void init_defaults(void **state)
{
	struct fake_queue *q = *state;
	struct upci_hybrid_cfg zero = { 0 };
	struct upci_hybrid h;

	memset(&h, 0xa5, sizeof(h));
	init_hybrid(&h, q, NULL);
	assert_int_equal(h.cfg.budget, 32);
	assert_int_equal(h.cfg.idle_polls, 64);
	assert_int_equal(h.cfg.sleep_timeout_ms, 100);
	assert_int_equal(h.cfg.busy_rate_pps, 100000);
	assert_false(h.cfg.adaptive);
	assert_int_equal(h.threshold, 64);
	assert_int_equal(h.empty_run, 0);
	assert_false(h.woke);
	assert_int_equal(h.stats.polls, 0);
	assert_int_equal(h.stats.arms, 0);
	assert_int_equal(h.fd, q->fd);
	assert_ptr_equal(h.queue, q);
	assert_ptr_equal(h.ops.poll, q_poll);

	memset(&h, 0xa5, sizeof(h));
	init_hybrid(&h, q, &zero);
	assert_int_equal(h.cfg.budget, 32);
	assert_int_equal(h.cfg.idle_polls, 64);
	assert_int_equal(h.cfg.sleep_timeout_ms, 100);
	assert_int_equal(h.cfg.busy_rate_pps, 100000);
	assert_int_equal(h.threshold, 64);
	assert_int_equal(q->polls + q->arm_calls + q->disarm_calls, 0); /* init touches no queue */
}

static void init_keeps_given_cfg(void **state)
{
	struct fake_queue *q = *state;
	struct upci_hybrid_cfg cfg = {
		.budget = 7, .idle_polls = 3, .sleep_timeout_ms = -1, .adaptive = true, .busy_rate_pps = 5000,
	};
	struct upci_hybrid h;

	q->clock_ns = 123 * MS;
	init_hybrid(&h, q, &cfg);
	assert_int_equal(h.cfg.budget, 7);
	assert_int_equal(h.cfg.idle_polls, 3);
	assert_int_equal(h.cfg.sleep_timeout_ms, -1);
	assert_true(h.cfg.adaptive);
	assert_int_equal(h.cfg.busy_rate_pps, 5000);
	assert_int_equal(h.threshold, 3);
	assert_int_equal(h.window_start_ns, 123 * MS); /* the adaptive window starts on the injected clock */
	assert_int_equal(h.window_packets, 0);
}

/* --- the policy --- */

/* 1. Always a full budget: poll, poll, poll; never arm, never sleep. */
static void busy_queue_never_sleeps(void **state)
{
	struct fake_queue *q = *state;
	struct upci_hybrid_cfg cfg = { .budget = 16, .idle_polls = 4, .sleep_timeout_ms = 5 };
	struct upci_hybrid h;

	q->arrive_each = 16;
	init_hybrid(&h, q, &cfg);
	for (int i = 0; i < 200; i++)
		step(&h, 16);
	assert_int_equal(q->last_budget, 16);
	assert_stats(&h, .polls = IS(200), .packets = IS(200 * 16), .empty_polls = IS(0), .arms = IS(0),
		     .sleeps = IS(0));
	assert_int_equal(h.stats.wakeups + h.stats.timeouts + h.stats.rearm_catches, 0);
	assert_int_equal(q->arm_calls, 0);
	assert_int_equal(q->disarm_calls, 0);
	assert_int_equal(q->polls, 200);
	assert_int_equal(h.empty_run, 0);
}

/* More arrivals than the budget: each step takes the budget, the rest waits for the next step. */
static void poll_is_bounded_by_budget(void **state)
{
	struct fake_queue *q = *state;
	static const unsigned script[] = { 50 };
	struct upci_hybrid_cfg cfg = { .budget = 20, .idle_polls = 4, .sleep_timeout_ms = 5 };
	struct upci_hybrid h;

	q->script = script;
	q->script_len = ARRAY_LEN(script);
	init_hybrid(&h, q, &cfg);
	step(&h, 20);
	step(&h, 20);
	step(&h, 10);
	assert_stats(&h, .packets = IS(50), .polls = IS(3), .arms = IS(0));
	assert_int_equal(q->pending, 0);
}

/* 2. An idle queue: idle_polls empty polls, arm once, re-poll, sleep until the timeout, disarm; repeat. */
static void idle_queue_sleeps_until_timeout(void **state)
{
	struct fake_queue *q = *state;
	struct upci_hybrid_cfg cfg = { .budget = 8, .idle_polls = 4, .sleep_timeout_ms = 5 };
	struct upci_hybrid h;

	init_hybrid(&h, q, &cfg);
	empty_steps(&h, 3);
	assert_int_equal(h.empty_run, 3);
	assert_string_equal(q->log, "ppp");

	step(&h, 0); /* the 4th empty poll: arm, re-poll, sleep, time out, disarm */
	assert_string_equal(q->log, "ppppApD");
	/* ns_asleep: measured on ops.now_ns, which stood still */
	assert_stats(&h, .polls = IS(5), .empty_polls = IS(5), .arms = IS(1), .sleeps = IS(1), .timeouts = IS(1),
		     .wakeups = IS(0), .spurious_wakeups = IS(0), .rearm_catches = IS(0), .ns_asleep = IS(0));
	assert_int_equal(q->arm_calls, 1);
	assert_int_equal(q->disarm_calls, 1);
	assert_false(q->armed);
	assert_int_equal(h.empty_run, 0);
	assert_false(h.woke);

	/* a new run of idle_polls starts: three more empty polls, the fourth arms again */
	empty_steps(&h, 3);
	assert_int_equal(h.stats.arms, 1);
	step(&h, 0);
	assert_string_equal(q->log, "ppppApDppppApD");
	assert_stats(&h, .arms = IS(2), .sleeps = IS(2), .timeouts = IS(2), .wakeups = IS(0),
		     .spurious_wakeups = IS(0));
	assert_int_equal(q->arm_calls, 2);
	assert_int_equal(q->disarm_calls, 2);
}

/* A packet in the middle of an idle run starts the run over. */
static void work_restarts_the_idle_run(void **state)
{
	struct fake_queue *q = *state;
	static const unsigned script[] = { 0, 0, 0, 1, 0, 0, 0 };
	struct upci_hybrid_cfg cfg = { .budget = 8, .idle_polls = 4, .sleep_timeout_ms = 5 };
	struct upci_hybrid h;

	q->script = script;
	q->script_len = ARRAY_LEN(script);
	init_hybrid(&h, q, &cfg);
	empty_steps(&h, 3);
	step(&h, 1);
	assert_int_equal(h.empty_run, 0);
	empty_steps(&h, 3);
	assert_int_equal(h.empty_run, 3);
	assert_int_equal(q->arm_calls, 0);
	assert_string_equal(q->log, "pppPppp");
}

/* 3. The race the re-poll exists for. */
static void arrive_before_arm_takes_effect(struct fake_queue *q)
{
	pthread_mutex_lock(&q->lock);
	arrive(q, 1); /* not armed yet: no interrupt, and none will come for this packet */
	pthread_mutex_unlock(&q->lock);
}

static void repoll_catches_packet_that_raced_the_arm(void **state)
{
	struct fake_queue *q = *state;
	struct upci_hybrid_cfg cfg = { .budget = 8, .idle_polls = 3, .sleep_timeout_ms = 5 };
	struct upci_hybrid h;

	init_hybrid(&h, q, &cfg);
	q->before_arm = arrive_before_arm_takes_effect;
	empty_steps(&h, 2);
	step(&h, 1); /* 3rd empty poll, arm (the packet slips in), re-poll finds it, disarm, no sleep */

	/*
	 * What the re-poll prevents: when the arm took effect the packet was already pending and the eventfd
	 * was silent, so a policy that slept right after arming would have slept the full timeout with work
	 * in the ring.
	 */
	assert_int_equal(q->pending_at_arm, 1);
	assert_false(q->signalled_at_arm);
	assert_false(fd_readable(q->fd));

	assert_string_equal(q->log, "pppAPD");
	assert_stats(&h, .arms = IS(1), .rearm_catches = IS(1), .sleeps = IS(0), .timeouts = IS(0), .wakeups = IS(0),
		     .packets = IS(1), .polls = IS(4), .empty_polls = IS(3));
	assert_int_equal(q->arm_calls, 1);
	assert_int_equal(q->disarm_calls, 1);
	assert_false(q->armed);
	assert_int_equal(q->pending, 0);
	assert_int_equal(h.empty_run, 0);

	/* back to polling: a new idle run before the next arm */
	q->before_arm = NULL;
	empty_steps(&h, 2);
	assert_int_equal(h.stats.arms, 1);
}

/* 4. Woken by the interrupt: a packet arrives ~20 ms into a sleep that could last 5 s. */
static void interrupt_wakes_the_sleep(void **state)
{
	struct fake_queue *q = *state;
	struct upci_hybrid_cfg cfg = { .budget = 8, .idle_polls = 2, .sleep_timeout_ms = 5000 };
	struct upci_hybrid h;

	init_hybrid(&h, q, &cfg);
	empty_steps(&h, 1);
	waker_start(q, 1, 0);
	step(&h, 0); /* arm, re-poll empty, sleep, woken, disarm */
	waker_join(q);
	assert_stats(&h, .arms = IS(1), .sleeps = IS(1), .wakeups = IS(1), .timeouts = IS(0), .rearm_catches = IS(0),
		     .spurious_wakeups = IS(0));
	assert_int_equal(q->disarm_calls, 1);
	assert_false(q->armed);
	assert_false(fd_readable(q->fd)); /* the wake consumed the signal */
	assert_true(h.woke);
	assert_string_equal(q->log, "ppApD");

	step(&h, 1); /* the packet that raised the interrupt */
	assert_int_equal(h.stats.spurious_wakeups, 0);
	assert_false(h.woke);
	assert_int_equal(h.stats.packets, 1);
	assert_int_equal(q->pending, 0);
	assert_int_equal(h.empty_run, 0);
}

/* 4b. Signalled with nothing in the ring: the empty poll after the wake counts a spurious wake-up. */
static void signal_without_packet_is_spurious(void **state)
{
	struct fake_queue *q = *state;
	struct upci_hybrid_cfg cfg = { .budget = 8, .idle_polls = 2, .sleep_timeout_ms = 5000 };
	struct upci_hybrid h;

	init_hybrid(&h, q, &cfg);
	empty_steps(&h, 1);
	waker_start(q, 0, 0);
	step(&h, 0);
	waker_join(q);
	assert_stats(&h, .wakeups = IS(1), .timeouts = IS(0), .spurious_wakeups = IS(0));
	assert_false(fd_readable(q->fd));

	empty_steps(&h, 1);
	assert_int_equal(h.stats.spurious_wakeups, 1);
	assert_false(h.woke);
	assert_int_equal(h.empty_run, 1); /* that poll also starts the next idle run */
	assert_int_equal(h.stats.wakeups, 1);
	assert_int_equal(h.stats.arms, 1);
}

/* 5. A stale signal from while the queue was disarmed is drained before arming: the sleep times out. */
static void stale_signal_is_drained(void **state)
{
	struct fake_queue *q = *state;
	struct upci_hybrid_cfg cfg = { .budget = 8, .idle_polls = 3, .sleep_timeout_ms = 5 };
	struct upci_hybrid h;

	init_hybrid(&h, q, &cfg);
	empty_steps(&h, 1);
	assert_int_equal(eventfd_write(q->fd, 1), 0); /* e.g. an interrupt for work already polled */
	assert_int_equal(eventfd_write(q->fd, 1), 0);
	assert_true(fd_readable(q->fd));
	empty_steps(&h, 1);
	step(&h, 0);
	assert_false(q->signalled_at_arm); /* drained before the arm */
	assert_stats(&h, .arms = IS(1), .sleeps = IS(1), .timeouts = IS(1), .wakeups = IS(0));
	assert_false(h.woke);
	empty_steps(&h, 1);
	assert_int_equal(h.stats.spurious_wakeups, 0);
}

static const struct upci_kernel_ops *uncounted;
static struct upci_kernel_ops counting;
static unsigned nowait_reads; /* non-blocking eventfd reads: drains before an arm, consumes after a wake */

static ssize_t counted_read_nowait(int fd, void *buf, size_t len)
{
	nowait_reads++; /* only the hybrid's own thread reads */
	return uncounted->read_nowait(fd, buf, len);
}

/* 5b. cfg.automask: a sleep the interrupt ended needs no disarm, and the next arm no drain (the device
 * masked the queue as it fired); after a timeout or upci_hybrid_forget() both are done again. */
static void automask_skips_disarm_and_drain(void **state)
{
	struct fake_queue *q = *state;
	struct upci_hybrid_cfg cfg = { .budget = 8, .idle_polls = 2, .sleep_timeout_ms = 5000, .automask = true };
	struct upci_hybrid h;

	uncounted = upci_kernel();
	counting = *uncounted;
	counting.read_nowait = counted_read_nowait;
	upci_kernel_install(&counting);
	nowait_reads = 0;
	q->automask = true;
	init_hybrid(&h, q, &cfg);

	empty_steps(&h, 1);
	waker_start(q, 1, 0);
	step(&h, 0); /* drain (nothing known yet), arm, re-poll, sleep, woken: consume, no disarm */
	waker_join(q);
	assert_string_equal(q->log, "ppAp");
	assert_int_equal(nowait_reads, 2);
	assert_int_equal(q->disarm_calls, 0);
	assert_false(q->armed);
	step(&h, 1);

	empty_steps(&h, 1);
	waker_start(q, 1, 0);
	step(&h, 0); /* no drain: the consume only */
	waker_join(q);
	assert_int_equal(nowait_reads, 3);
	assert_int_equal(q->disarm_calls, 0);
	assert_stats(&h, .wakeups = IS(2), .timeouts = IS(0));
	step(&h, 1);

	h.cfg.sleep_timeout_ms = 5;
	empty_steps(&h, 1);
	step(&h, 0); /* no drain; times out: disarmed by the hybrid */
	assert_int_equal(nowait_reads, 3);
	assert_int_equal(q->disarm_calls, 1);
	empty_steps(&h, 1);
	step(&h, 0); /* after a timeout: drained */
	assert_int_equal(nowait_reads, 4);
	assert_int_equal(q->disarm_calls, 2);

	h.cfg.sleep_timeout_ms = 5000;
	empty_steps(&h, 1);
	waker_start(q, 1, 0);
	step(&h, 0);
	waker_join(q);
	step(&h, 1);
	assert_int_equal(nowait_reads, 6); /* drain + consume */
	upci_hybrid_forget(&h);
	h.cfg.sleep_timeout_ms = 5;
	empty_steps(&h, 1);
	step(&h, 0); /* forgotten: drained */
	assert_int_equal(nowait_reads, 7);
	assert_stats(&h, .wakeups = IS(3), .timeouts = IS(3), .spurious_wakeups = IS(0));
	upci_kernel_install(uncounted);
}

/* 6. Adaptive: a busy window never sleeps; a quiet window sleeps at once. */
static void adaptive_busy_then_idle(void **state)
{
	struct fake_queue *q = *state;
	struct upci_hybrid_cfg cfg = {
		.budget = 32, .idle_polls = 64, .sleep_timeout_ms = 5, .adaptive = true, .busy_rate_pps = 100000,
	};
	struct upci_hybrid h;

	init_hybrid(&h, q, &cfg);
	assert_int_equal(h.window_start_ns, 0);

	/* 32 packets per 100 us: 320000 pps; the window closes on the 10th poll (1 ms) */
	q->arrive_each = 32;
	q->tick_ns = 100 * US;
	for (int i = 0; i < 9; i++)
		step(&h, 32);
	assert_int_equal(h.threshold, 64);
	step(&h, 32);
	assert_int_equal(h.threshold, UINT32_MAX);
	assert_int_equal(h.window_start_ns, 1 * MS);
	for (int i = 0; i < 10; i++)
		step(&h, 32);
	assert_int_equal(h.threshold, UINT32_MAX);
	assert_int_equal(h.window_start_ns, 2 * MS);

	/* idle, 0.5 us per poll: 1999 empty polls stay inside the window, far past idle_polls, and never arm */
	q->arrive_each = 0;
	q->tick_ns = 500;
	empty_steps(&h, 1999);
	assert_int_equal(h.empty_run, 1999);
	assert_int_equal(h.threshold, UINT32_MAX);
	assert_int_equal(q->arm_calls, 0);
	assert_int_equal(h.stats.sleeps, 0);

	/* the 2000th closes a window of rate 0: threshold 1, and this same empty poll arms */
	step(&h, 0);
	assert_int_equal(h.threshold, 1);
	assert_int_equal(h.stats.arms, 1);
	assert_int_equal(h.stats.timeouts, 1);
	assert_int_equal(q->arm_calls, 1);
	assert_int_equal(q->disarm_calls, 1);

	/* and now every empty poll arms */
	step(&h, 0);
	assert_int_equal(h.threshold, 1);
	assert_stats(&h, .arms = IS(2), .timeouts = IS(2), .packets = IS(20 * 32));
}

/* Adaptive, in between: half the busy rate gives half of idle_polls. */
static void adaptive_threshold_scales_with_rate(void **state)
{
	struct fake_queue *q = *state;
	struct upci_hybrid_cfg cfg = {
		.budget = 32, .idle_polls = 64, .sleep_timeout_ms = 5, .adaptive = true, .busy_rate_pps = 100000,
	};
	struct upci_hybrid h;

	init_hybrid(&h, q, &cfg);
	q->arrive_each = 5; /* 5 packets per 100 us: 50000 pps */
	q->tick_ns = 100 * US;
	for (int i = 0; i < 10; i++)
		step(&h, 5);
	assert_int_equal(h.threshold, 32);

	/* the clock stands still, so no window closes: 31 empty polls, the 32nd arms */
	q->arrive_each = 0;
	q->tick_ns = 0;
	empty_steps(&h, 31);
	step(&h, 0);
	assert_int_equal(h.stats.arms, 1);
	assert_int_equal(h.stats.timeouts, 1);
	assert_int_equal(h.threshold, 32);
}

/* Adaptive windows shorter than 1 ms are not measured: a short burst does not change the threshold. */
static void adaptive_needs_a_full_window(void **state)
{
	struct fake_queue *q = *state;
	struct upci_hybrid_cfg cfg = { .budget = 32, .idle_polls = 64, .adaptive = true };
	struct upci_hybrid h;

	init_hybrid(&h, q, &cfg);
	q->arrive_each = 32;
	q->tick_ns = 1 * US;
	for (int i = 0; i < 999; i++)
		step(&h, 32);
	assert_int_equal(h.threshold, 64);
	assert_int_equal(h.window_packets, 999 * 32);
	assert_int_equal(h.window_start_ns, 0);
	step(&h, 32);
	assert_int_equal(h.threshold, UINT32_MAX);
	assert_int_equal(h.window_packets, 0);
	assert_int_equal(h.window_start_ns, 1 * MS);
}

/* --- the wait set --- */

struct efds {
	int fd[10];
	int tag[10];
};

static int open_efds(struct efds *e, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		e->fd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (e->fd[i] < 0)
			return -1;
		e->tag[i] = (int)i;
	}
	return 0;
}

static void close_efds(struct efds *e, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		close(e->fd[i]);
}

static void waitset_one_ready(void **state)
{
	struct upci_waitset *ws;
	struct efds e;
	void *tags[4] = { NULL };
	uint64_t v;
	ssize_t got;

	(void)state;
	assert_int_equal(open_efds(&e, 2), 0);
	assert_int_equal(upci_waitset_create(&ws), 0);
	assert_int_equal(upci_waitset_add(ws, e.fd[0], &e.tag[0]), 0);
	assert_int_equal(upci_waitset_add(ws, e.fd[1], &e.tag[1]), 0);

	assert_int_equal(upci_waitset_wait(ws, tags, 4, 0), 0); /* nothing yet */
	assert_int_equal(eventfd_write(e.fd[1], 3), 0);
	assert_int_equal(upci_waitset_wait(ws, tags, 4, 1000), 1);
	assert_ptr_equal(tags[0], &e.tag[1]);
	assert_null(tags[1]);
	/* consumed: nothing left to read, and the next wait times out */
	got = read(e.fd[1], &v, sizeof(v));
	assert_true(got == -1 && errno == EAGAIN);
	assert_int_equal(upci_waitset_wait(ws, tags, 4, 0), 0);

	upci_waitset_destroy(ws);
	close_efds(&e, 2);
}

static void waitset_remove(void **state)
{
	struct upci_waitset *ws;
	struct efds e;
	void *tags[4] = { NULL };

	(void)state;
	assert_int_equal(open_efds(&e, 3), 0);
	assert_int_equal(upci_waitset_create(&ws), 0);
	assert_int_equal(upci_waitset_add(ws, e.fd[0], &e.tag[0]), 0);
	assert_int_equal(upci_waitset_add(ws, e.fd[1], &e.tag[1]), 0);
	assert_int_equal(upci_waitset_remove(ws, e.fd[0]), 0);
	assert_int_equal(upci_waitset_remove(ws, e.fd[0]), -ENOENT);
	assert_int_equal(upci_waitset_remove(ws, e.fd[2]), -ENOENT); /* never added */

	/* a removed fd no longer wakes the set */
	assert_int_equal(eventfd_write(e.fd[0], 1), 0);
	assert_int_equal(upci_waitset_wait(ws, tags, 4, 0), 0);
	assert_int_equal(eventfd_write(e.fd[1], 1), 0);
	assert_int_equal(upci_waitset_wait(ws, tags, 4, 1000), 1);
	assert_ptr_equal(tags[0], &e.tag[1]);

	/* the freed slot is reused with the new tag */
	assert_int_equal(upci_waitset_add(ws, e.fd[2], &e.tag[2]), 0);
	assert_int_equal(eventfd_write(e.fd[2], 1), 0);
	assert_int_equal(upci_waitset_wait(ws, tags, 4, 1000), 1);
	assert_ptr_equal(tags[0], &e.tag[2]);

	/* added again after removal: it is back */
	assert_int_equal(upci_waitset_add(ws, e.fd[0], &e.tag[0]), 0);
	assert_int_equal(upci_waitset_wait(ws, tags, 4, 1000), 1); /* its counter is still set from above */
	assert_ptr_equal(tags[0], &e.tag[0]);

	upci_waitset_destroy(ws);
	close_efds(&e, 3);
}

static void waitset_bad_arguments(void **state)
{
	struct upci_waitset *ws;
	struct efds e;
	void *tags[1];

	(void)state;
	assert_int_equal(open_efds(&e, 1), 0);
	assert_int_equal(upci_waitset_create(&ws), 0);
	assert_int_equal(upci_waitset_add(ws, -1, NULL), -EBADF);
	assert_int_equal(upci_waitset_add(ws, e.fd[0], &e.tag[0]), 0);
	assert_int_equal(upci_waitset_add(ws, e.fd[0], &e.tag[0]), -EEXIST);
	assert_int_equal(eventfd_write(e.fd[0], 1), 0);
	assert_int_equal(upci_waitset_wait(ws, tags, 0, 0), -EINVAL);
	/* the refused wait consumed nothing */
	assert_int_equal(upci_waitset_wait(ws, tags, 1, 1000), 1);
	assert_ptr_equal(tags[0], &e.tag[0]);
	upci_waitset_destroy(ws);
	upci_waitset_destroy(NULL);
	close_efds(&e, 1);
}

/* Ten fds (more than the first slot allocation) ready at once: every tag comes back exactly once. */
static void waitset_many_ready(void **state)
{
	struct upci_waitset *ws;
	struct efds e;
	void *tags[16];
	unsigned seen[10] = { 0 };
	int n, total = 0;

	(void)state;
	assert_int_equal(open_efds(&e, 10), 0);
	assert_int_equal(upci_waitset_create(&ws), 0);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(upci_waitset_add(ws, e.fd[i], &e.tag[i]), 0);

	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(eventfd_write(e.fd[i], 1), 0);
	n = upci_waitset_wait(ws, tags, 16, 1000);
	assert_int_equal(n, 10);
	for (int i = 0; i < n; i++)
		seen[*(int *)tags[i]]++;
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(upci_waitset_wait(ws, tags, 16, 0), 0);

	/* fewer slots than ready fds: the rest come back on the following waits */
	memset(seen, 0, sizeof(seen));
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(eventfd_write(e.fd[i], 1), 0);
	while ((n = upci_waitset_wait(ws, tags, 3, 0)) > 0) {
		assert_true(n <= 3);
		for (int i = 0; i < n; i++)
			seen[*(int *)tags[i]]++;
		total += n;
		assert_true(total <= 10);
	}
	assert_int_equal(n, 0);
	assert_int_equal(total, 10);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(seen[i], 1);

	upci_waitset_destroy(ws);
	close_efds(&e, 10);
}

#define QUEUE_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest init[] = {
		QUEUE_TEST(init_rejects_bad_arguments),
		QUEUE_TEST(init_defaults),
		QUEUE_TEST(init_keeps_given_cfg),
	};
	const struct CMUnitTest policy[] = {
		QUEUE_TEST(busy_queue_never_sleeps),
		QUEUE_TEST(poll_is_bounded_by_budget),
		QUEUE_TEST(idle_queue_sleeps_until_timeout),
		QUEUE_TEST(work_restarts_the_idle_run),
		QUEUE_TEST(repoll_catches_packet_that_raced_the_arm),
		QUEUE_TEST(interrupt_wakes_the_sleep),
		QUEUE_TEST(signal_without_packet_is_spurious),
		QUEUE_TEST(stale_signal_is_drained),
		QUEUE_TEST(automask_skips_disarm_and_drain),
		QUEUE_TEST(adaptive_busy_then_idle),
		QUEUE_TEST(adaptive_threshold_scales_with_rate),
		QUEUE_TEST(adaptive_needs_a_full_window),
	};
	const struct CMUnitTest waitset[] = {
		cmocka_unit_test(waitset_one_ready),
		cmocka_unit_test(waitset_remove),
		cmocka_unit_test(waitset_bad_arguments),
		cmocka_unit_test(waitset_many_ready),
	};
	int failed = cmocka_run_group_tests_name("hybrid_init", init, NULL, NULL);

	failed += cmocka_run_group_tests_name("hybrid_policy", policy, NULL, NULL);
	return failed + cmocka_run_group_tests_name("waitset", waitset, NULL, NULL);
}
