/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest side of the fault VM test (vmrun --nics 4): faults a port must survive, with figures. TAP on stdout.
 *
 * usage: vm_faults reset SRC DST ROUNDS
 *   SRC streams numbered frames to DST (one hub: nothing between them). Each round: a stream of frames that
 *   must all arrive; then frames that DST's device received (GPRC counted them) but nobody took from the rx
 *   ring; then upci_port_reset(DST) (odd rounds SRC too) and the stream again. No frame sent before the reset
 *   may be delivered after it (the ring was rewritten), every frame sent after it arrives once and intact,
 *   every MSI-X vector still reaches its eventfd, the counters carry on. Figures: frames sent, received,
 *   discarded by the reset, lost, reset and recovery times.
 * usage: vm_faults flap SRC DST QEMU_ID FLAPS poll|interrupt
 *   SRC streams to DST (received in that mode: interrupt sleeps on the rx vector when idle) while the host runs FLAPS "set_link QEMU_ID off" / "on" pairs on the QEMU monitor (one
 *   request: a storm). No call hangs; the link ends up; counters never go back and add up (what DST's device
 *   counted = what the driver delivered + dropped); frames lost only while the link was down; afterwards a
 *   clean stream passes with zero loss.
 * usage: vm_faults cycles BDF DEV_CYCLES PORT_CYCLES
 *   upci_dev_open/close DEV_CYCLES times, then upci_port_open/start/close PORT_CYCLES times, in this process:
 *   open fds (/proc/self/fd) and resident memory (/proc/self/statm) before and after.
 * usage: vm_faults absent BDF
 *   opening a port on a device that does not exist: -ENODEV and one log line naming it.
 * usage: vm_faults nonviable BDF OTHER
 *   opening a port on BDF (vfio-pci) whose IOMMU group also holds OTHER, bound to a kernel driver: -EBUSY and
 *   one log line naming the group, OTHER and its driver, and the commands that fix it.
 * usage: vm_faults now
 *   CLOCK_MONOTONIC in ns (busybox date has no %N).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest_frames.h"
#include "guest_tap.h"
#include "upci/log.h"
#include "upci/port.h"
#include "upci/vfio.h"

enum { WINDOW = 256, BURST = 32, PARK = 96, STREAM = 3000 };
/* This program's frames differ from vm_port's (their payload XORed with SALT): neither takes the other's. */
enum { SALT = 0x5a };

/* ---- a stream from one port to another ---- */

struct flow {
	struct upci_port *src, *dst;
	uint8_t *seen;          /* per sequence number: delivered how often */
	uint32_t limit;         /* numbers below this exist */
	uint32_t seq;           /* next to send */
	uint32_t floor;         /* a frame below this number delivered now is stale (sent before the last reset) */
	uint64_t received, corrupt, duplicate, stale, send_errors;
	uint64_t first_rx_ns;   /* when the first frame at or above floor arrived (0: none yet) */
	enum upci_port_mode mode; /* DST's: take() sleeps on the rx vector of an idle queue unless POLL */
};

static int take(struct flow *fl)
{
	struct upci_pkt pkts[BURST];
	int n = upci_port_rx(fl->dst, 0, pkts, BURST);

	for (int i = 0; i < n; i++) {
		uint32_t seq = frame_intact(&pkts[i], fl->limit, SALT);

		if (seq == UINT32_MAX) {
			fl->corrupt++;
		} else if (seq < fl->floor) {
			fl->stale++;
		} else if (fl->seen[seq]++) {
			fl->duplicate++;
		} else {
			fl->received++;
			if (!fl->first_rx_ns)
				fl->first_rx_ns = now_ns();
		}
	}
	if (n > 0)
		upci_pkt_free(pkts, (unsigned)n);
	return n;
}

static uint32_t send_some(struct flow *fl, uint32_t n)
{
	struct upci_pkt pkts[BURST];
	int got = upci_port_pkt_alloc(fl->src, 0, pkts, n < BURST ? n : BURST), sent;

	if (got <= 0) {
		fl->send_errors += got < 0;
		return 0;
	}
	for (int i = 0; i < got; i++) {
		frame_fill(pkts[i].buf, upci_port_info(fl->dst)->mac, upci_port_info(fl->src)->mac, fl->seq + (uint32_t)i,
			   SALT);
		pkts[i].len = (uint16_t)frame_size(fl->seq + (uint32_t)i);
	}
	sent = upci_port_tx_burst(fl->src, 0, pkts, (unsigned)got);
	upci_pkt_free(pkts, (unsigned)got);
	if (sent < 0) {
		fl->send_errors++;
		return 0;
	}
	fl->seq += (uint32_t)sent;
	return (uint32_t)sent;
}

/* Frames at or above the floor not yet delivered. */
static uint64_t outstanding(const struct flow *fl, uint32_t from)
{
	uint64_t n = 0;

	for (uint32_t s = from; s < fl->seq; s++)
		n += !fl->seen[s];
	return n;
}

/* Send @count more frames (at most WINDOW beyond what arrived), receive until all arrived or @timeout_ms. */
static void stream(struct flow *fl, uint32_t count, unsigned timeout_ms)
{
	uint32_t from = fl->seq, end = fl->seq + count;
	uint64_t deadline = now_ns() + timeout_ms * 1000000ull, base = fl->received;

	while (now_ns() < deadline) {
		uint64_t got = fl->received - base;

		if (fl->seq < end && fl->seq - from - got < WINDOW)
			send_some(fl, end - fl->seq < WINDOW ? end - fl->seq : WINDOW);
		take(fl);
		upci_port_tx_done(fl->src, 0);
		if (fl->seq == end && fl->received - base >= count && !outstanding(fl, from))
			break;
	}
}

static int open_port(const char *bdf, enum upci_port_mode mode, struct upci_port **p)
{
	struct upci_port_cfg cfg = { .rx_queues = 1, .tx_queues = 1, .mode = mode, .wait_timeout_ms = 20 };
	int rc = upci_port_open(bdf, &cfg, p);

	return rc ? rc : upci_port_start(*p);
}

static bool link_up(struct upci_port *p)
{
	struct upci_link l;

	return upci_port_link(p, &l) == 0 && l.up;
}

/* Wait up to @ms for the link; return the ms it took, or -1. */
static long wait_link(struct upci_port *p, unsigned ms)
{
	uint64_t t0 = now_ns();

	while (!link_up(p)) {
		if (now_ns() - t0 > ms * 1000000ull)
			return -1;
		(void)upci_port_link_wait(p, 10);
	}
	return (long)((now_ns() - t0) / 1000000);
}

static int open_flow(struct flow *fl, const char *src, const char *dst, uint32_t limit, enum upci_port_mode mode)
{
	memset(fl, 0, sizeof(*fl));
	fl->limit = limit;
	fl->mode = mode;
	fl->seen = calloc(limit, 1);
	if (!fl->seen || open_port(src, UPCI_PORT_POLL, &fl->src) || open_port(dst, mode, &fl->dst))
		return -1;
	return wait_link(fl->src, 5000) < 0 || wait_link(fl->dst, 5000) < 0 ? -1 : 0;
}

static void close_flow(struct flow *fl)
{
	upci_port_close(fl->src);
	upci_port_close(fl->dst);
	free(fl->seen);
}

/* Every vector of @p reaches its eventfd: the device raises it (ICS through IVAR), the eventfd turns readable. */
static unsigned vectors_reaching(struct upci_port *p)
{
	struct upci_irqs *irqs = upci_port_irqs(p);
	unsigned ok = 0;

	for (unsigned v = 0; irqs && v < upci_port_info(p)->vectors; v++) {
		int fd = upci_irqs_fd(irqs, v);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (fd < 0)
			continue;
		(void)upci_irqs_wait(irqs, v, 0); /* what was pending before (a read(2) of the eventfd would block) */
		if (upci_port_raise_irq(p, v) == 0 && poll(&pfd, 1, 1000) == 1)
			ok++;
		(void)upci_irqs_wait(irqs, v, 0);
	}
	(void)upci_port_link_wait(p, 0); /* acknowledge the "other" cause raised for vector 4 */
	return ok;
}

/* Wait until @p's device has counted @want more good frames than @base (GPRC): they are in the rx ring. */
static bool device_counted(struct upci_port *p, uint64_t base, uint64_t want)
{
	struct upci_port_stats st;

	for (int i = 0; i < 200; i++) {
		if (upci_port_stats(p, &st) == 0 && st.rx_packets - base >= want)
			return true;
		usleep(5000);
	}
	return false;
}

/* ---- reset mid-traffic ---- */

static void reset_round(struct flow *fl, unsigned round, double *reset_ms, double *recover_ms)
{
	struct upci_port_stats before, after;
	uint64_t t0, received0, stale0 = fl->stale;
	uint32_t parked_from, floor;
	bool both = round & 1;
	int rc_dst, rc_src = 0;
	long link_ms;

	stream(fl, STREAM, 20000);
	upci_port_stats(fl->dst, &before);
	/* frames the device takes into the rx ring that nobody reads: in descriptors when the reset comes */
	parked_from = fl->seq;
	while (fl->seq - parked_from < PARK && send_some(fl, PARK - (fl->seq - parked_from)))
		upci_port_tx_done(fl->src, 0);
	check(device_counted(fl->dst, before.rx_packets, PARK), "round %u: %u frames are in %s's rx ring, unread, "
	      "when the reset comes", round, PARK, upci_port_name(fl->dst));
	floor = fl->seq;
	received0 = fl->received;
	t0 = now_ns();
	rc_dst = upci_port_reset(fl->dst);
	if (both)
		rc_src = upci_port_reset(fl->src);
	*reset_ms = (double)(now_ns() - t0) / 1e6;
	fl->floor = floor;
	fl->first_rx_ns = 0;
	link_ms = wait_link(fl->dst, 5000);
	if (link_ms >= 0 && both)
		link_ms = wait_link(fl->src, 5000);
	check(rc_dst == 0 && rc_src == 0 && link_ms >= 0, "round %u: upci_port_reset(%s%s%s) in %.1f ms, link up "
	      "%ld ms later", round, upci_port_name(fl->dst), both ? ", " : "", both ? upci_port_name(fl->src) : "",
	      *reset_ms, link_ms);
	check(vectors_reaching(fl->dst) == upci_port_info(fl->dst)->vectors, "round %u: all %u MSI-X vectors of %s "
	      "reach their eventfds after the reset (IVAR and the MSI-X table restored)", round,
	      upci_port_info(fl->dst)->vectors, upci_port_name(fl->dst));
	stream(fl, STREAM, 20000);
	*recover_ms = fl->first_rx_ns ? (double)(fl->first_rx_ns - t0) / 1e6 : -1;
	upci_port_stats(fl->dst, &after);
	check(fl->stale == stale0, "round %u: no frame sent before the reset delivered after it (%" PRIu64 " stale)",
	      round, fl->stale - stale0);
	check(fl->received - received0 == STREAM && !outstanding(fl, floor), "round %u: traffic resumed %.0f ms after "
	      "the reset: %" PRIu64 " of %u frames sent after it arrived", round, *recover_ms,
	      fl->received - received0, STREAM);
	check(after.rx_packets >= before.rx_packets + PARK + STREAM && after.q_rx_packets[0] >= before.q_rx_packets[0],
	      "round %u: counters carried on across the reset (GPRC %" PRIu64 " -> %" PRIu64 ", delivered %" PRIu64
	      " -> %" PRIu64 ")", round, before.rx_packets, after.rx_packets, before.q_rx_packets[0],
	      after.q_rx_packets[0]);
}

static int cmd_reset(const char *src, const char *dst, unsigned rounds)
{
	struct flow fl;
	double reset_ms, recover_ms, worst_reset = 0, worst_recover = 0;
	uint64_t t0 = now_ns();

	if (!check(open_flow(&fl, src, dst, (rounds + 1) * (2 * STREAM + PARK), UPCI_PORT_POLL) == 0, "%s -> %s up, link up", src,
		   dst)) {
		close_flow(&fl);
		return tap_done();
	}
	for (unsigned r = 0; r < rounds; r++) {
		reset_round(&fl, r, &reset_ms, &recover_ms);
		worst_reset = reset_ms > worst_reset ? reset_ms : worst_reset;
		worst_recover = recover_ms > worst_recover || recover_ms < 0 ? recover_ms : worst_recover;
	}
	/* parked frames are the only ones missing: the reset discarded them with the rx ring, as it must */
	check(fl.seq - fl.received == (uint64_t)rounds * PARK && !fl.corrupt && !fl.duplicate && !fl.send_errors,
	      "reset x%u: sent %u, received %" PRIu64 ", discarded by the resets %u (the unread rx rings), lost %" PRIu64
	      ", corrupt %" PRIu64 ", duplicate %" PRIu64 "; reset <= %.1f ms, recovery <= %.0f ms; %.1f s", rounds,
	      fl.seq, fl.received, rounds * PARK, fl.seq - fl.received - (uint64_t)rounds * PARK, fl.corrupt,
	      fl.duplicate, worst_reset, worst_recover, (double)(now_ns() - t0) / 1e9);
	close_flow(&fl);
	return tap_done();
}

/* ---- link flap storm ---- */

/* Hand the host runner a monitor request (test/vm/vmrun); it deletes the file once every line ran. */
static bool monitor_request(const char *text)
{
	FILE *f = fopen("/run/upci/monitor.req.tmp", "w");

	if (!f)
		return false;
	fputs(text, f);
	if (fclose(f))
		return false;
	return rename("/run/upci/monitor.req.tmp", "/run/upci/monitor.req") == 0;
}

static bool monitor_done(void)
{
	return access("/run/upci/monitor.req", F_OK) != 0;
}

/* Device and driver counters never go back. */
static bool monotonic(const struct upci_port_stats *a, const struct upci_port_stats *b)
{
	return b->rx_packets >= a->rx_packets && b->tx_packets >= a->tx_packets && b->rx_bytes >= a->rx_bytes &&
	       b->tx_bytes >= a->tx_bytes && b->q_rx_packets[0] >= a->q_rx_packets[0] &&
	       b->q_tx_packets[0] >= a->q_tx_packets[0] && b->link_changes >= a->link_changes &&
	       b->rx_missed >= a->rx_missed && b->drv_rx_dropped >= a->drv_rx_dropped;
}

static int cmd_flap(const char *src, const char *dst, const char *qemu_id, unsigned flaps, enum upci_port_mode mode)
{
	struct upci_port_stats s_prev = { 0 }, d_prev = { 0 }, s_now, d_now;
	struct flow fl;
	char *req = calloc(flaps, 64), *p = req;
	uint64_t t0, t_storm_end = 0, deadline, backwards = 0, samples = 0;
	long link_ms;

	if (!req || !check(open_flow(&fl, src, dst, 4000000, mode) == 0, "%s -> %s (received in %s mode) up, link up",
			   src, dst, upci_port_mode_name(mode))) {
		free(req);
		close_flow(&fl);
		return tap_done();
	}
	for (unsigned i = 0; i < flaps; i++)
		p += sprintf(p, "set_link %s off\nset_link %s on\n", qemu_id, qemu_id);
	stream(&fl, 1000, 20000);
	t0 = now_ns();
	deadline = t0 + 60ull * 1000000000ull;
	check(monitor_request(req), "asked the host for %u set_link %s off/on pairs in one monitor request", flaps,
	      qemu_id);
	/* traffic through the storm: send, receive, service link interrupts, sample the counters */
	while (now_ns() < deadline) {
		/* QEMU delivers a frame when its tail is written: after a burst it is in the ring or was dropped
		 * (link down), so draining after each burst keeps the ring from overflowing */
		send_some(&fl, BURST);
		while (take(&fl) == BURST)
			;
		upci_port_tx_done(fl.src, 0);
		if ((samples & 15) == 0)
			(void)upci_port_link_wait(fl.dst, 0);
		if (!t_storm_end && monitor_done())
			t_storm_end = now_ns();
		if ((samples++ & 63) == 0) {
			upci_port_stats(fl.src, &s_now);
			upci_port_stats(fl.dst, &d_now);
			backwards += !monotonic(&s_prev, &s_now) || !monotonic(&d_prev, &d_now);
			s_prev = s_now, d_prev = d_now;
		}
		if (t_storm_end && now_ns() - t_storm_end > 200000000ull)
			break; /* 200 ms of traffic after the last "on" */
	}
	check(t_storm_end != 0, "the host ran all %u flaps in %.2f s while traffic ran (no call hung)", flaps,
	      t_storm_end ? (double)(t_storm_end - t0) / 1e9 : -1.0);
	link_ms = wait_link(fl.dst, 5000);
	check(link_ms >= 0 && link_up(fl.src), "the link ends up (%.0f ms after the storm's last command ran)",
	      t_storm_end ? (double)(now_ns() - t_storm_end) / 1e6 : -1.0);
	/* drain: whatever the device took into the ring is delivered now */
	for (uint64_t end = now_ns() + 300000000ull; now_ns() < end;)
		take(&fl);
	upci_port_stats(fl.src, &s_now);
	upci_port_stats(fl.dst, &d_now);
	backwards += !monotonic(&s_prev, &s_now) || !monotonic(&d_prev, &d_now);
	check(!backwards, "counters never went back (%" PRIu64 " samples)", samples / 64 + 1);
	check(s_now.tx_packets == s_now.q_tx_packets[0] && s_now.tx_packets == fl.seq,
	      "sender's counters add up: device sent %" PRIu64 ", driver queued %" PRIu64 ", application %u",
	      s_now.tx_packets, s_now.q_tx_packets[0], fl.seq);
	check(d_now.rx_packets == d_now.q_rx_packets[0] + d_now.drv_rx_dropped && d_now.q_rx_packets[0] == fl.received +
	      fl.corrupt + fl.duplicate + fl.stale, "receiver's counters add up: device received %" PRIu64 " = delivered %"
	      PRIu64 " + dropped %" PRIu64 "; the application took %" PRIu64, d_now.rx_packets, d_now.q_rx_packets[0],
	      d_now.drv_rx_dropped, fl.received);
	if (mode != UPCI_PORT_POLL)
		check(d_now.interrupt_wakeups > 0, "%s mode: the rx vector woke the receiver %" PRIu64 " times through the "
		      "storm (%" PRIu64 " timeouts)", upci_port_mode_name(mode), d_now.interrupt_wakeups, d_now.timeouts);
	check(!fl.corrupt && !fl.duplicate, "storm: sent %u, received %" PRIu64 ", lost %" PRIu64 " (while the link was "
	      "down), corrupt %" PRIu64 ", duplicate %" PRIu64 "; %" PRIu64 " link interrupts serviced (changes coalesce)",
	      fl.seq, fl.received, fl.seq - fl.received, fl.corrupt, fl.duplicate, d_now.link_changes);
	/* afterwards a clean stream: zero loss, and how soon it flowed */
	{
		uint64_t r0 = fl.received, t1 = now_ns();
		uint32_t from = fl.seq;

		fl.first_rx_ns = 0;
		fl.floor = from; /* frames of the storm still arriving now would be a fault too */
		stream(&fl, 5000, 20000);
		check(fl.received - r0 == 5000 && !outstanding(&fl, from) && !fl.stale,
		      "after the storm: %" PRIu64 " of 5000 frames, first after %.0f ms", fl.received - r0,
		      fl.first_rx_ns ? (double)(fl.first_rx_ns - t1) / 1e6 : -1.0);
	}
	free(req);
	close_flow(&fl);
	return tap_done();
}

/* ---- open/close cycles ---- */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, rss = 0;

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static uint64_t open_ns, close_ns; /* where a cycle's time goes */

static int dev_cycle(const char *bdf)
{
	struct upci_dev *dev;
	uint64_t t0 = now_ns();
	int rc = upci_dev_open(bdf, NULL, &dev);
	uint64_t t1 = now_ns();

	upci_dev_close(rc ? NULL : dev);
	open_ns += t1 - t0;
	close_ns += now_ns() - t1;
	return rc;
}

static int port_cycle(const char *bdf)
{
	struct upci_port_cfg cfg = { .rx_queues = 1, .tx_queues = 1, .rx_ring_size = 64, .tx_ring_size = 64,
				     .pool_bufs = 160 };
	struct upci_port *p = NULL;
	uint64_t t0 = now_ns();
	int rc = upci_port_open(bdf, &cfg, &p);
	uint64_t t1;

	if (!rc)
		rc = upci_port_start(p);
	t1 = now_ns();
	upci_port_close(p);
	open_ns += t1 - t0;
	close_ns += now_ns() - t1;
	return rc;
}

/*
 * Run @n cycles after a warm-up of 10 (one-time allocations: the process's IOMMU context, libc's arenas and
 * stdio buffers are counted before the first measurement). fds must be equal; RSS may grow by at most
 * @slack_kib (the heap's high-water mark moving by a few pages between two reads of statm), never by a
 * per-cycle amount: a leak of even 1 KiB a cycle is 1000 KiB over 1000 cycles.
 */
static void cycles(const char *what, const char *bdf, int (*cycle)(const char *), unsigned n, long slack_kib)
{
	int fds0, fds1, failed = 0;
	long rss0, rss1;
	uint64_t t0;

	for (unsigned i = 0; i < 10; i++)
		failed += cycle(bdf) != 0;
	fds0 = count_fds();
	rss0 = rss_kib();
	open_ns = close_ns = 0;
	t0 = now_ns();
	for (unsigned i = 0; i < n; i++)
		failed += cycle(bdf) != 0;
	fds1 = count_fds();
	rss1 = rss_kib();
	check(!failed, "%u %s open/close cycles of %s: %d failed, %.1f ms a cycle (open %.1f, close %.1f)", n, what,
	      bdf, failed, (double)(now_ns() - t0) / 1e6 / n, (double)open_ns / 1e6 / n, (double)close_ns / 1e6 / n);
	check(fds1 == fds0, "%s cycles: open fds %d before, %d after (equal)", what, fds0, fds1);
	check(rss0 > 0 && rss1 - rss0 <= slack_kib, "%s cycles: RSS %ld KiB before, %ld KiB after (growth %+ld KiB, "
	      "allowed %ld)", what, rss0, rss1, rss1 - rss0, slack_kib);
}

static int cmd_cycles(const char *bdf, unsigned dev_n, unsigned port_n)
{
	cycles("device", bdf, dev_cycle, dev_n, 256);
	if (port_n)
		cycles("port", bdf, port_cycle, port_n, 256);
	return tap_done();
}

/* ---- clear lines ---- */

static char last_line[512];
static unsigned lines;

static void sink(enum upci_log_level level, const char *line, void *arg)
{
	(void)level, (void)arg;
	snprintf(last_line, sizeof(last_line), "%s", line);
	lines++;
}

static int cmd_absent(const char *bdf)
{
	struct upci_port *p = NULL;
	int rc;

	upci_log_set_sink(sink, NULL);
	rc = upci_port_open(bdf, NULL, &p);
	upci_log_set_sink(tap_log, NULL);
	last_line[strcspn(last_line, "\n")] = '\0';
	printf("# %s\n", last_line);
	check(rc == -ENODEV && !p && lines == 1 && strstr(last_line, bdf),
	      "absent device %s: %s, in one line naming it (%u lines)", bdf, strerror(-rc), lines);
	return tap_done();
}

static int cmd_nonviable(const char *bdf, const char *other)
{
	struct upci_port *p = NULL;
	int rc;

	lines = 0;
	upci_log_set_sink(sink, NULL);
	rc = upci_port_open(bdf, NULL, &p);
	upci_log_set_sink(tap_log, NULL);
	last_line[strcspn(last_line, "\n")] = '\0';
	printf("# %s\n", last_line);
	check(rc == -EBUSY && !p && lines == 1 && strstr(last_line, bdf) && strstr(last_line, "not viable") &&
	      strstr(last_line, other) && strstr(last_line, "e1000e") && strstr(last_line, "driver_override"),
	      "non-viable group: %s refused (%s) in one line naming %s, its driver and the fix (%u lines)", bdf,
	      strerror(-rc), other, lines);
	upci_port_close(p);
	return tap_done();
}

int main(int argc, char **argv)
{
	enum upci_port_mode mode;

	if (argc == 5 && !strcmp(argv[1], "reset"))
		return cmd_reset(argv[2], argv[3], (unsigned)strtoul(argv[4], NULL, 0));
	if (argc == 7 && !strcmp(argv[1], "flap") && !upci_port_mode_parse(argv[6], &mode))
		return cmd_flap(argv[2], argv[3], argv[4], (unsigned)strtoul(argv[5], NULL, 0), mode);
	if (argc == 5 && !strcmp(argv[1], "cycles"))
		return cmd_cycles(argv[2], (unsigned)strtoul(argv[3], NULL, 0), (unsigned)strtoul(argv[4], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "absent"))
		return cmd_absent(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "nonviable"))
		return cmd_nonviable(argv[2], argv[3]);
	if (argc == 2 && !strcmp(argv[1], "now")) {
		printf("%" PRIu64 "\n", now_ns());
		return 0;
	}
	fprintf(stderr, "usage: vm_faults reset SRC DST ROUNDS | flap SRC DST QEMU_ID FLAPS MODE | cycles BDF DEV_N PORT_N"
		" | absent BDF | nonviable BDF OTHER | now\n");
	return 2;
}
