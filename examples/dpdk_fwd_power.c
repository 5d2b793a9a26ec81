/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpdk_fwd_power — an l3fwd-power-style forwarder on DPDK EAL lcores, with upci ports and rte_mbufs:
 * frames received on port A go out of port B and back, zero copy (each mbuf is the upci buffer the device
 * wrote: upci/dpdk.h), and an idle lcore sleeps on its port's rx MSI-X vectors instead of spinning.
 *
 *   dpdk_fwd_power [EAL args] -- [--queues N] [--idle-polls N] [--timeout-ms MS] [--quiet] PORT_A PORT_B
 *
 * The EAL runs without the devices (pass --no-pci: upci owns them through VFIO). Two lcores (-l 0-1): the
 * main lcore serves A's rx queues (sending on B), the worker serves B's (sending on A). An lcore polls
 * while frames come; after --idle-polls (default 64) empty rounds it arms every rx queue's interrupt, and
 * re-polls (upci_port_rx_arm() returns 1 when a frame landed before the arm: no sleep, so none is missed),
 * then sleeps in epoll_wait() on the queues' eventfds, the device's REQ/ERR eventfd and a stop eventfd;
 * it wakes per queue and polls the queues whose vector fired first. SIGINT/SIGTERM stop it; the last line
 * ("done: ...") gives frames each way, interrupt wake-ups, sleeps that the timeout ended, and drops.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <upci/dpdk.h>
#include <upci/port.h>

enum { BURST = 32, EV_STOP = 100, EV_DEVICE = 101 };

struct opts {
	unsigned queues, idle_polls;
	int timeout_ms;
	bool quiet;
	const char *spec[2];
};

/* One lcore's work: rx queues of one port, tx on the same-numbered queues of the other. */
struct lane {
	struct upci_dpdk_port *rx, *tx;
	const struct opts *o;
	int epfd;
	uint64_t frames, dropped, sleeps, wakeups, timeouts, woke_ready;
	uint64_t q_wakeups[UPCI_PORT_MAX_QUEUES];
	int rc;
};

static atomic_bool stop;
static int stop_fd = -1;

static void on_signal(int sig)
{
	uint64_t one = 1;

	(void)sig;
	atomic_store(&stop, true);
	if (write(stop_fd, &one, sizeof(one)) < 0) /* wakes every sleeping lcore; stays readable */
		_exit(3);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Forward what rx queue @q has. Return: frames received, or -errno. */
static int forward_queue(struct lane *l, unsigned q)
{
	struct rte_mbuf *m[BURST];
	int n = upci_dpdk_rx_burst(l->rx, q, m, BURST), sent;

	if (n <= 0)
		return n;
	sent = upci_dpdk_tx_burst(l->tx, q, m, (unsigned)n);
	if (sent < 0)
		return sent;
	for (int i = sent; i < n; i++) /* the tx ring was full: drop, as rte_eth_tx_burst users do */
		rte_pktmbuf_free(m[i]);
	l->frames += (unsigned)sent;
	l->dropped += (unsigned)(n - sent);
	return n;
}

/*
 * Arm every rx queue, then sleep unless one already has a frame. Return: 0, or -errno (-ENODEV: removed).
 */
static int sleep_on_queues(struct lane *l)
{
	struct upci_port *p = upci_dpdk_port(l->rx);
	struct epoll_event ev[UPCI_PORT_MAX_QUEUES + 2];
	unsigned armed = 0;
	double t0, asleep;
	int rc = 0, n;

	for (unsigned q = 0; q < l->o->queues && !rc; q++) {
		rc = upci_port_rx_arm(p, q);
		armed += rc == 0;
	}
	if (rc) { /* 1: a frame landed before the arm (the re-poll saw it): poll again, do not sleep */
		for (unsigned q = 0; q < armed; q++)
			upci_port_rx_disarm(p, q);
		l->woke_ready += rc == 1;
		return rc < 0 ? rc : 0;
	}
	l->sleeps++;
	t0 = now_s();
	n = epoll_wait(l->epfd, ev, UPCI_PORT_MAX_QUEUES + 2, l->o->timeout_ms);
	for (unsigned q = 0; q < armed; q++)
		upci_port_rx_disarm(p, q);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0)
		l->timeouts++;
	asleep = now_s() - t0;
	if (asleep >= 1.0 && !l->o->quiet) /* a long nap: say what ended it (rare, so no cost per frame) */
		printf("dpdk_fwd_power: %s: %s after %.1f s asleep\n", upci_port_name(p),
		       n == 0 ? "timed out" : ev[0].data.u32 < UPCI_PORT_MAX_QUEUES ? "woke by its rx vector" : "woke by an event",
		       asleep);
	if (asleep >= 1.0 && !l->o->quiet)
		fflush(stdout);
	for (int i = 0; i < n; i++) {
		uint32_t what = ev[i].data.u32;

		if (what == EV_DEVICE && upci_port_process_events(p) == -ENODEV)
			return -ENODEV;
		if (what < UPCI_PORT_MAX_QUEUES) {
			l->wakeups++;
			l->q_wakeups[what]++;
			rc = forward_queue(l, what); /* the queue that woke us first */
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int lane_main(void *arg)
{
	struct lane *l = arg;
	unsigned idle = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		int got = 0;

		for (unsigned q = 0; q < l->o->queues; q++) {
			int r = forward_queue(l, q);

			if (r < 0) {
				l->rc = r;
				goto out;
			}
			got += r;
		}
		if (got) {
			idle = 0;
			continue;
		}
		for (unsigned q = 0; q < l->o->queues; q++) /* reclaim what was sent, before the lcore naps */
			upci_port_tx_done(upci_dpdk_port(l->tx), q);
		if (++idle < l->o->idle_polls)
			continue;
		idle = 0;
		l->rc = sleep_on_queues(l);
		if (l->rc < 0)
			break;
	}
out:
	atomic_store(&stop, true); /* one side gone: stop the other too */
	if (l->rc < 0 && write(stop_fd, &(uint64_t){ 1 }, sizeof(uint64_t)) < 0)
		l->rc = -errno;
	return 0;
}

static int add_fd(int epfd, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	if (fd < 0)
		return fd;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int lane_setup(struct lane *l, struct upci_dpdk_port *rx, struct upci_dpdk_port *tx, const struct opts *o)
{
	struct upci_port *p = upci_dpdk_port(rx);
	int rc;

	*l = (struct lane){ .rx = rx, .tx = tx, .o = o, .epfd = epoll_create1(EPOLL_CLOEXEC) };
	if (l->epfd < 0)
		return -errno;
	rc = add_fd(l->epfd, stop_fd, EV_STOP);
	if (!rc)
		rc = add_fd(l->epfd, upci_port_event_fd(p), EV_DEVICE);
	for (unsigned q = 0; q < o->queues && !rc; q++)
		rc = add_fd(l->epfd, upci_port_rx_fd(p, q), q);
	if (rc)
		fprintf(stderr, "dpdk_fwd_power: %s: cannot watch its eventfds: %s\n", upci_port_name(p), strerror(-rc));
	return rc;
}

static int open_port(const char *spec, const struct opts *o, struct upci_port **p, struct upci_dpdk_port **dp)
{
	struct upci_port_cfg cfg = { .rx_queues = o->queues, .tx_queues = o->queues, .promiscuous = true,
				     .mode = UPCI_PORT_INTERRUPT };
	int rc = upci_port_open(spec, &cfg, p);

	if (!rc)
		rc = upci_dpdk_port_attach(*p, (int)rte_socket_id(), dp);
	return rc ? rc : upci_port_start(*p);
}

static int parse(int argc, char **argv, struct opts *o)
{
	unsigned n_spec = 0;

	*o = (struct opts){ .queues = 1, .idle_polls = 64, .timeout_ms = 5000 };
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--queues") && i + 1 < argc)
			o->queues = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--idle-polls") && i + 1 < argc)
			o->idle_polls = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc)
			o->timeout_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--quiet"))
			o->quiet = true;
		else if (argv[i][0] != '-' && n_spec < 2)
			o->spec[n_spec++] = argv[i];
		else
			return -1;
	}
	return n_spec == 2 && o->queues >= 1 && o->queues <= UPCI_PORT_MAX_QUEUES ? 0 : -1;
}

static void report(const struct lane *l, const char *dir)
{
	struct upci_dpdk_stats st;

	upci_dpdk_stats(l->tx, &st);
	printf(" %s %" PRIu64 " frames (%" PRIu64 " dropped, %" PRIu64 " moved, %" PRIu64 " refused), sleeps %" PRIu64
	       ", wakeups %" PRIu64 " (q0 %" PRIu64 "), timeouts %" PRIu64 ", ready at arm %" PRIu64 ";", dir, l->frames,
	       l->dropped, st.tx_moved, st.tx_refused, l->sleeps, l->wakeups, l->q_wakeups[0], l->timeouts, l->woke_ready);
}

int main(int argc, char **argv)
{
	struct upci_port *port[2] = { NULL, NULL };
	struct upci_dpdk_port *dp[2] = { NULL, NULL };
	struct lane lane[2];
	unsigned worker;
	struct opts o;
	int used = rte_eal_init(argc, argv), rc = 1;

	if (used < 0) {
		fprintf(stderr, "dpdk_fwd_power: rte_eal_init failed (see the EAL's lines above)\n");
		return 1;
	}
	argv[used] = argv[0];
	if (parse(argc - used, argv + used, &o)) {
		fprintf(stderr, "usage: dpdk_fwd_power [EAL args] -- [--queues N] [--idle-polls N] [--timeout-ms MS] "
				"[--quiet] PORT_A PORT_B\n");
		goto out;
	}
	worker = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
	if (worker >= RTE_MAX_LCORE) {
		fprintf(stderr, "dpdk_fwd_power: needs two lcores (EAL -l 0-1)\n");
		goto out;
	}
	stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (stop_fd < 0 || open_port(o.spec[0], &o, &port[0], &dp[0]) || open_port(o.spec[1], &o, &port[1], &dp[1]) ||
	    lane_setup(&lane[0], dp[0], dp[1], &o) || lane_setup(&lane[1], dp[1], dp[0], &o))
		goto out;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("dpdk_fwd_power: %s <-> %s, %u queue(s), lcores %u and %u, mbufs zero-copy, sleeping on rx vectors\n",
	       upci_port_name(port[0]), upci_port_name(port[1]), o.queues, rte_get_main_lcore(), worker);
	fflush(stdout);
	rte_eal_remote_launch(lane_main, &lane[1], worker);
	lane_main(&lane[0]);
	rte_eal_wait_lcore(worker);
	rc = 0;
	for (int i = 0; i < 2; i++) {
		if (lane[i].rc == -ENODEV)
			printf("dpdk_fwd_power: %s was removed; stopping\n", upci_port_name(port[i]));
		else if (lane[i].rc < 0)
			printf("dpdk_fwd_power: %s: %s\n", upci_port_name(port[i]), strerror(-lane[i].rc)), rc = 1;
	}
	printf("dpdk_fwd_power: done:");
	report(&lane[0], "a->b");
	report(&lane[1], "b->a");
	printf(" copies 0\n");
out:
	for (int i = 0; i < 2; i++) {
		upci_dpdk_port_detach(dp[i]);
		upci_port_close(port[i]);
	}
	rte_eal_cleanup();
	return rc;
}
