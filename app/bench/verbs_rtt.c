/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * verbs_rtt — the rdma-core verbs baseline of the upci latency benchmark: the round-trip time of one small
 * message over an RC queue pair between two soft-RoCE (rdma_rxe) devices, one on each 82574L port, with
 * both sides waiting on a completion channel.
 *
 *   verbs_rtt --dev-a RXE --dev-b RXE [--a BDF] [--b BDF] [--trials N] [--warmup N] [--spacing-us U]
 *             [--idle-ms M] [--json FILE]
 *
 * What it measures. Device A (an rxe device whose netdev is port A's) posts a SEND with immediate data (the
 * sequence number; a 64-byte message) on an RC QP connected to device B's QP. A reflector thread on B
 * answers each one with the same SEND back. The main thread takes CLOCK_MONOTONIC just before
 * ibv_post_send() and just after it holds the receive completion of the answer: one sample. One message is
 * in flight at a time, --spacing-us apart. Both sides wait the way upci's hybrid mode does: poll the CQ; when
 * it is empty, arm it (ibv_req_notify_cq), poll it again (a completion that came before the arm raises no
 * event), and only then sleep in poll() on the completion channel's fd, take the event (ibv_get_cq_event),
 * acknowledge it (ibv_ack_cq_events) and poll again. Then the idle CPU: the reflector's thread CPU time
 * (CLOCK_THREAD_CPUTIME_ID) over --idle-ms with no traffic, and over --idle-ms while A sends it up to 1000
 * one-way messages per second (flagged in the immediate data: received, not answered).
 *
 * The path. Each message is RoCE v2 (UDP port 4791) built by rdma_rxe in software and sent through the
 * netdev's qdisc and e1000e's tx ring; on the other port it comes up e1000e's interrupt, NAPI, IP and UDP
 * into rxe's receive tasklet, which completes the receive and signals the completion channel; RC also sends
 * an ACK back for every message. The two netdevs are in one guest, so the IP set-up (app/bench/rxe-setup.sh)
 * routes each peer address out of the other NIC rather than through loopback; this program proves that the
 * frames crossed the NICs: each e1000e netdev's tx and rx packet counters must have moved by at least the
 * number of messages, and lo's by less than that.
 *
 * QP numbers and GIDs are exchanged inside the process. The GID used on each side is the RoCE v2 GID of the
 * netdev's IPv4 address (IPv4-mapped).
 *
 * Exit status: 0 when every measured trial came back and the frames crossed the NICs; 1 otherwise or on a
 * system error; 2 on bad input (malformed option, no such rxe device, no RoCE v2 IPv4 GID).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <infiniband/verbs.h>

#include "bench_common.h"

#define PROG "verbs_rtt"
#define MSG_LEN 64
#define PORT_NUM 1
#define CQ_DEPTH 64
#define RECV_DEPTH 16		/* receives kept posted on each side */
#define SEND_DEPTH 16
#define WAIT_TIMEOUT_MS 1000	/* the bound on one trial's wait, and the reflector's stop-flag check */
#define IMM_STOP 0xffffffffu	/* immediate data of the message that stops the reflector */
#define IMM_SINK 0x40000000u	/* flag in the immediate data: the reflector only receives it (idle window) */
#define IDLE_RATE 1000		/* messages per second in the second idle window */

struct opts {
	const char *dev[2];
	const char *bdf[2];
	struct bench_run_opts run;
	unsigned long idle_ms;
};

/* One side: an rxe device, its RC QP, and the wait state. */
struct side {
	const char *name;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	struct ibv_comp_channel *ch;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	uint8_t buf[(RECV_DEPTH + 1) * MSG_LEN];	/* one slot per posted receive, the last one to send */
	union ibv_gid gid;
	int gid_index;
	enum ibv_mtu mtu;
	unsigned sends_out;	/* posted sends not yet completed */
	unsigned long events, wakeups;	/* completion-channel events taken; returns from poll() */
};

struct reflector {
	struct side *b;
	atomic_bool stop;
	atomic_int failed;
	pthread_t thread;
};

struct results {
	struct bench_rtt rtt;
	double idle_pct, idle_pct_rate;
	unsigned long idle_wakeups, rate_sent;	/* wake-ups in the quiet window; messages sent in the other */
	uint64_t pkts[2][2];	/* [port][tx, rx] over the measured trials */
	uint64_t lo_pkts;
	bool crossed;
};

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " --dev-a RXE --dev-b RXE [--a BDF] [--b BDF] [--trials N] [--warmup N]\n"
		   "         [--spacing-us U] [--idle-ms M] [--json FILE]\n"
		   "  defaults: --a 0000:00:02.0 --b 0000:00:03.0 --trials 2000 --warmup 100 --spacing-us 200"
		   " --idle-ms 1000\n");
}

static int parse_option(int c, const char *arg, const char *word, void *opts)
{
	struct opts *o = opts;

	switch (c) {
	case 'A':
		o->dev[0] = arg;
		return 0;
	case 'B':
		o->dev[1] = arg;
		return 0;
	case 'a':
		o->bdf[0] = arg;
		return 0;
	case 'b':
		o->bdf[1] = arg;
		return 0;
	case 'i':
		return bench_parse_count(PROG, "idle-ms", arg, 10, &o->idle_ms);
	default:
		return bench_parse_run_option(PROG, c, arg, word, &o->run);
	}
}

/* Return: 0 to run, -1 after --help, or an exit status. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "dev-a", required_argument, NULL, 'A' },
		{ "dev-b", required_argument, NULL, 'B' },
		{ "a", required_argument, NULL, 'a' },
		{ "b", required_argument, NULL, 'b' },
		BENCH_LONGOPTS_TRIALS,
		{ "idle-ms", required_argument, NULL, 'i' },
		BENCH_LONGOPTS_END,
	};
	int status;

	*o = (struct opts){ { NULL, NULL }, { "0000:00:02.0", "0000:00:03.0" }, BENCH_RUN_OPTS_DEFAULT, 1000 };
	status = bench_getopt(argc, argv, longopts, usage, parse_option, o);
	if (status)
		return status;
	if (optind < argc || !o->dev[0] || !o->dev[1]) {
		fprintf(stderr, PROG ": %s (see --help)\n", optind < argc ? "unexpected argument" :
			"--dev-a and --dev-b name the two rxe devices (rdma link show)");
		return EXIT_BAD_INPUT;
	}
	if (!strcmp(o->dev[0], o->dev[1])) {
		fprintf(stderr, PROG ": --dev-a and --dev-b are the same device %s\n", o->dev[0]);
		return EXIT_BAD_INPUT;
	}
	return 0;
}

/* ---- time ---- */

static int64_t now_ns(clockid_t clk)
{
	struct timespec t;

	clock_gettime(clk, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* ---- devices ---- */

static int verbs_fail(const struct side *s, const char *what, int err)
{
	fprintf(stderr, PROG ": %s on %s: %s\n", what, s->name, strerror(err));
	return EXIT_FAILURE;
}

static struct ibv_context *open_by_name(const char *name)
{
	int n = 0;
	struct ibv_device **list = ibv_get_device_list(&n);
	struct ibv_context *ctx = NULL;

	for (int i = 0; list && i < n && !ctx; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	return ctx;
}

static bool gid_is_ipv4(const union ibv_gid *g)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(g->raw, prefix, sizeof(prefix));
}

/* The RoCE v2 GID of the netdev's IPv4 address, and the port's active MTU. */
static int find_gid(struct side *s)
{
	struct ibv_port_attr pa;
	int err = ibv_query_port(s->ctx, PORT_NUM, &pa);

	if (err)
		return verbs_fail(s, "ibv_query_port", err);
	s->mtu = pa.active_mtu;
	for (int i = 0; i < pa.gid_tbl_len; i++) {
		struct ibv_gid_entry e;

		if (ibv_query_gid_ex(s->ctx, PORT_NUM, (uint32_t)i, &e, 0))
			continue;
		if (e.gid_type == IBV_GID_TYPE_ROCE_V2 && gid_is_ipv4(&e.gid)) {
			s->gid = e.gid;
			s->gid_index = i;
			return 0;
		}
	}
	fprintf(stderr, PROG ": %s has no RoCE v2 GID for an IPv4 address: give its netdev an address "
			"(app/bench/rxe-setup.sh)\n", s->name);
	return EXIT_BAD_INPUT;
}

static int create_qp(struct side *s)
{
	struct ibv_qp_init_attr ia = {
		.send_cq = s->cq,
		.recv_cq = s->cq,
		.cap = { .max_send_wr = SEND_DEPTH, .max_recv_wr = RECV_DEPTH, .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
	};

	s->qp = ibv_create_qp(s->pd, &ia);
	if (!s->qp)
		return verbs_fail(s, "ibv_create_qp (RC)", errno);
	return 0;
}

/* The completion channel's fd non-blocking, so that the wait is a poll() with a timeout. */
static int channel_nonblock(struct side *s)
{
	int fl = fcntl(s->ch->fd, F_GETFL);

	if (fl < 0 || fcntl(s->ch->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return verbs_fail(s, "fcntl(O_NONBLOCK) on the completion channel", errno);
	return 0;
}

static int side_open(struct side *s, const char *name)
{
	s->name = name;
	s->ctx = open_by_name(name);
	if (!s->ctx) {
		fprintf(stderr, PROG ": no rdma device %s to open (rdma link show; ls /dev/infiniband)\n", name);
		return EXIT_BAD_INPUT;
	}
	int status = find_gid(s);

	if (status)
		return status;
	s->pd = ibv_alloc_pd(s->ctx);
	if (!s->pd)
		return verbs_fail(s, "ibv_alloc_pd", errno);
	s->mr = ibv_reg_mr(s->pd, s->buf, sizeof(s->buf), IBV_ACCESS_LOCAL_WRITE);
	if (!s->mr)
		return verbs_fail(s, "ibv_reg_mr", errno);
	s->ch = ibv_create_comp_channel(s->ctx);
	if (!s->ch)
		return verbs_fail(s, "ibv_create_comp_channel", errno);
	s->cq = ibv_create_cq(s->ctx, CQ_DEPTH, NULL, s->ch, 0);
	if (!s->cq)
		return verbs_fail(s, "ibv_create_cq", errno);
	return channel_nonblock(s) || create_qp(s) ? EXIT_FAILURE : 0;
}

static void side_close(struct side *s)
{
	if (s->qp)
		ibv_destroy_qp(s->qp);
	if (s->cq)
		ibv_destroy_cq(s->cq);
	if (s->ch)
		ibv_destroy_comp_channel(s->ch);
	if (s->mr)
		ibv_dereg_mr(s->mr);
	if (s->pd)
		ibv_dealloc_pd(s->pd);
	if (s->ctx)
		ibv_close_device(s->ctx);
}

/* ---- connecting the two QPs: RESET -> INIT -> RTR -> RTS ---- */

static int qp_init(struct side *s)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_INIT, .port_num = PORT_NUM, .pkey_index = 0,
				 .qp_access_flags = IBV_ACCESS_LOCAL_WRITE };
	int err = ibv_modify_qp(s->qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);

	return err ? verbs_fail(s, "ibv_modify_qp to INIT", err) : 0;
}

static int qp_rtr(struct side *s, const struct side *peer)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = s->mtu < peer->mtu ? s->mtu : peer->mtu,
		.dest_qp_num = peer->qp->qp_num,
		.rq_psn = 0,
		.max_dest_rd_atomic = 1,
		.min_rnr_timer = 1,
		.ah_attr = { .is_global = 1, .port_num = PORT_NUM,
			     .grh = { .dgid = peer->gid, .sgid_index = (uint8_t)s->gid_index, .hop_limit = 64 } },
	};
	int err = ibv_modify_qp(s->qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
				IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER);

	return err ? verbs_fail(s, "ibv_modify_qp to RTR (resolving the peer's MAC from its GID)", err) : 0;
}

static int qp_rts(struct side *s)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_RTS, .timeout = 14, .retry_cnt = 7, .rnr_retry = 7,
				 .sq_psn = 0, .max_rd_atomic = 1 };
	int err = ibv_modify_qp(s->qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
				IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);

	return err ? verbs_fail(s, "ibv_modify_qp to RTS", err) : 0;
}

/* ---- posting ---- */

static int post_recv(struct side *s, unsigned slot)
{
	struct ibv_sge sge = { .addr = (uintptr_t)(s->buf + slot * MSG_LEN), .length = MSG_LEN,
			       .lkey = s->mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = slot, .sg_list = &sge, .num_sge = 1 }, *bad;
	int err = ibv_post_recv(s->qp, &wr, &bad);

	return err ? verbs_fail(s, "ibv_post_recv", err) : 0;
}

static int post_send(struct side *s, uint32_t imm)
{
	struct ibv_sge sge = { .addr = (uintptr_t)(s->buf + RECV_DEPTH * MSG_LEN), .length = MSG_LEN,
			       .lkey = s->mr->lkey };
	struct ibv_send_wr wr = { .wr_id = UINT64_MAX, .sg_list = &sge, .num_sge = 1,
				  .opcode = IBV_WR_SEND_WITH_IMM, .send_flags = IBV_SEND_SIGNALED,
				  .imm_data = htonl(imm) }, *bad;
	int err;

	if (s->sends_out >= SEND_DEPTH) {
		fprintf(stderr, PROG ": %s: %u sends outstanding, none completed: is the peer's QP in error?\n",
			s->name, s->sends_out);
		return EXIT_FAILURE;
	}
	err = ibv_post_send(s->qp, &wr, &bad);
	if (err)
		return verbs_fail(s, "ibv_post_send", err);
	s->sends_out++;
	return 0;
}

static int connect_sides(struct side s[2])
{
	for (int i = 0; i < 2; i++) {
		if (qp_init(&s[i]))
			return EXIT_FAILURE;
		for (unsigned slot = 0; slot < RECV_DEPTH; slot++)
			if (post_recv(&s[i], slot))
				return EXIT_FAILURE;
	}
	for (int i = 0; i < 2; i++)
		if (qp_rtr(&s[i], &s[1 - i]))
			return EXIT_FAILURE;
	for (int i = 0; i < 2; i++)
		if (qp_rts(&s[i]))
			return EXIT_FAILURE;
	return 0;
}

/* ---- waiting: poll, arm, re-poll, sleep on the channel ---- */

/* Take the channel's pending event, if any (the fd is non-blocking), and acknowledge it. */
static int take_event(struct side *s)
{
	struct ibv_cq *cq;
	void *cq_ctx;

	if (ibv_get_cq_event(s->ch, &cq, &cq_ctx)) {
		if (errno == EAGAIN)
			return 0;
		return verbs_fail(s, "ibv_get_cq_event", errno);
	}
	ibv_ack_cq_events(cq, 1);
	s->events++;
	return 0;
}

/*
 * One completion into @wc, waiting at most @timeout_ms. Return: 1 with a completion, 0 on timeout, or
 * EXIT_FAILURE negated (reported). A send completion only retires the send: it is consumed here.
 */
static int next_recv(struct side *s, struct ibv_wc *wc, int timeout_ms)
{
	int64_t deadline = now_ns(CLOCK_MONOTONIC) + (int64_t)timeout_ms * 1000000LL;
	bool armed = false;

	for (;;) {
		int n = ibv_poll_cq(s->cq, 1, wc);

		if (n < 0)
			return -verbs_fail(s, "ibv_poll_cq", EIO);
		if (n && wc->status != IBV_WC_SUCCESS) {
			fprintf(stderr, PROG ": %s: completion with status '%s' (the QP is in error)\n", s->name,
				ibv_wc_status_str(wc->status));
			return -EXIT_FAILURE;
		}
		if (n && wc->opcode == IBV_WC_SEND) {
			s->sends_out--;
			continue;
		}
		if (n)
			return 1;
		if (!armed) { /* arm, then poll again: what completed before the arm raises no event */
			int err = ibv_req_notify_cq(s->cq, 0);

			if (err)
				return -verbs_fail(s, "ibv_req_notify_cq", err);
			armed = true;
			continue;
		}
		int64_t left = deadline - now_ns(CLOCK_MONOTONIC);
		struct pollfd pfd = { .fd = s->ch->fd, .events = POLLIN };

		if (left <= 0)
			return 0;
		n = poll(&pfd, 1, (int)((left + 999999) / 1000000));
		s->wakeups++;
		if (n < 0 && errno != EINTR)
			return -verbs_fail(s, "poll on the completion channel", errno);
		if (n > 0 && take_event(s))
			return -EXIT_FAILURE;
		armed = false; /* the event disarmed the CQ; a timeout or EINTR leaves it armed, re-arming is harmless */
	}
}

/* ---- the reflector on B ---- */

static void *reflect(void *arg)
{
	struct reflector *r = arg;
	struct side *b = r->b;
	struct ibv_wc wc;

	while (!atomic_load(&r->stop)) {
		int n = next_recv(b, &wc, WAIT_TIMEOUT_MS);

		if (n < 0)
			break;
		if (!n)
			continue;
		uint32_t imm = ntohl(wc.imm_data);

		if (wc.wr_id >= RECV_DEPTH || post_recv(b, (unsigned)wc.wr_id))
			break;
		if (imm == IMM_STOP)
			return NULL;
		if (imm & IMM_SINK)
			continue;
		if (post_send(b, imm))
			break;
	}
	if (!atomic_load(&r->stop))
		atomic_store(&r->failed, 1);
	return NULL;
}

/* ---- the measurement on A ---- */

/* One round trip. Return: the RTT in ns, TRIAL_LOST, or TRIAL_ERROR (reported). */
static int64_t round_trip(struct side *a, uint32_t seq)
{
	int64_t t0 = now_ns(CLOCK_MONOTONIC);
	struct ibv_wc wc;

	if (post_send(a, seq))
		return TRIAL_ERROR;
	for (;;) {
		int n = next_recv(a, &wc, WAIT_TIMEOUT_MS);

		if (n < 0)
			return TRIAL_ERROR;
		if (!n)
			return TRIAL_LOST;
		if (wc.wr_id >= RECV_DEPTH || post_recv(a, (unsigned)wc.wr_id))
			return TRIAL_ERROR;
		if (ntohl(wc.imm_data) == seq)
			return now_ns(CLOCK_MONOTONIC) - t0;
	}
}

static int64_t trial_round_trip(void *a, uint64_t seq)
{
	return round_trip(a, (uint32_t)seq);
}

static int run_trials(const struct opts *o, struct side *a, const struct reflector *r, struct bench_rtt *res)
{
	char lost_what[160];
	struct bench_trials t = { PROG, &o->run, trial_round_trip, a, &r->failed, lost_what };

	snprintf(lost_what, sizeof(lost_what), "messages in a row did not come back from %s", r->b->name);
	return bench_run_trials(&t, res);
}

static void sleep_until_ns(int64_t t)
{
	struct timespec ts = { .tv_sec = t / 1000000000LL, .tv_nsec = t % 1000000000LL };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Retire whatever completed on @s without waiting: sends, and receives (reposted). */
static int drain(struct side *s)
{
	struct ibv_wc wc[8];
	int n;

	while ((n = ibv_poll_cq(s->cq, 8, wc)) > 0)
		for (int i = 0; i < n; i++) {
			if (wc[i].status != IBV_WC_SUCCESS) {
				fprintf(stderr, PROG ": %s: completion with status '%s' (the QP is in error)\n", s->name,
					ibv_wc_status_str(wc[i].status));
				return EXIT_FAILURE;
			}
			if (wc[i].opcode == IBV_WC_SEND)
				s->sends_out--;
			else if (wc[i].wr_id >= RECV_DEPTH || post_recv(s, (unsigned)wc[i].wr_id))
				return EXIT_FAILURE;
		}
	return n < 0 ? verbs_fail(s, "ibv_poll_cq", EIO) : 0;
}

/*
 * The reflector's CPU % over @ms while A sends it up to @rate one-way messages per second (0: none; a tick
 * is skipped while SEND_DEPTH sends are unacknowledged), as upci's idle receiver gets frames. @sent: how many.
 */
static int idle_window(struct side *a, const struct reflector *r, unsigned long ms, unsigned rate, double *pct,
		       unsigned long *sent)
{
	clockid_t clk;
	int err = pthread_getcpuclockid(r->thread, &clk);
	int64_t c0, w0, end;

	if (err)
		return verbs_fail(a, "pthread_getcpuclockid (reflector)", err);
	*sent = 0;
	c0 = now_ns(clk);
	w0 = now_ns(CLOCK_MONOTONIC);
	end = w0 + (int64_t)ms * 1000000LL;
	for (int64_t next = w0; rate && next < end; next += 1000000000LL / rate) {
		sleep_until_ns(next);
		if (drain(a) || atomic_load(&r->failed))
			return EXIT_FAILURE;
		if (a->sends_out < SEND_DEPTH && post_send(a, IMM_SINK | (uint32_t)(*sent)++))
			return EXIT_FAILURE;
	}
	sleep_until_ns(end);
	*pct = 100.0 * (double)(now_ns(clk) - c0) / (double)(now_ns(CLOCK_MONOTONIC) - w0);
	for (int64_t t = now_ns(CLOCK_MONOTONIC); a->sends_out && now_ns(CLOCK_MONOTONIC) - t < 1000000000LL;
	     bench_sleep_ns(1000000))
		if (drain(a))
			return EXIT_FAILURE;
	return 0;
}

static int reflector_start(struct reflector *r, struct side *b)
{
	int err;

	r->b = b;
	atomic_init(&r->stop, false);
	atomic_init(&r->failed, 0);
	err = pthread_create(&r->thread, NULL, reflect, r);
	return err ? verbs_fail(b, "pthread_create (reflector)", err) : 0;
}

/* Raise the flag, send the stop message, and join: within 1 s even if it is not answered. */
static void reflector_stop(struct reflector *r, struct side *a)
{
	atomic_store(&r->stop, true);
	post_send(a, IMM_STOP);
	pthread_join(r->thread, NULL);
}

/* ---- NIC counters: the proof that the messages crossed the wire ---- */

static uint64_t counter(const char *ifname, const char *what)
{
	char path[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", ifname, what);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/* The network interface of PCI device @bdf: the first entry of /sys/bus/pci/devices/BDF/net/. */
static int ifname_of(const char *bdf, char *name, size_t size)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/net", bdf);
	return bench_first_entry(path, name, size) ? 0 : -1;
}

struct nics {
	char ifname[2][32];
	uint64_t base[2][2], lo;
};

static int nics_open(const struct opts *o, struct nics *n)
{
	for (int i = 0; i < 2; i++)
		if (ifname_of(o->bdf[i], n->ifname[i], sizeof(n->ifname[i]))) {
			fprintf(stderr, PROG ": %s has no network interface: is it on the kernel's e1000e driver?\n",
				o->bdf[i]);
			return EXIT_BAD_INPUT;
		}
	return 0;
}

static void nics_snap(const struct nics *n, uint64_t v[2][2], uint64_t *lo)
{
	for (int i = 0; i < 2; i++) {
		v[i][0] = counter(n->ifname[i], "tx_packets");
		v[i][1] = counter(n->ifname[i], "rx_packets");
	}
	*lo = counter("lo", "rx_packets");
}

static void nics_delta(const struct nics *n, unsigned long messages, struct results *res)
{
	uint64_t now[2][2], lo;

	nics_snap(n, now, &lo);
	res->crossed = true;
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++) {
			res->pkts[i][j] = now[i][j] - n->base[i][j];
			res->crossed &= res->pkts[i][j] >= messages;
		}
	res->lo_pkts = lo - n->lo;
	res->crossed &= res->lo_pkts < messages;
}

static int measure(const struct opts *o, struct side s[2], const struct nics *nics, struct results *res)
{
	struct reflector r;
	struct nics n = *nics;
	int status;

	if (bench_rtt_alloc(PROG, &res->rtt, o->run.trials))
		return EXIT_FAILURE;
	if (reflector_start(&r, &s[1]))
		return EXIT_FAILURE;
	nics_snap(&n, n.base, &n.lo);
	status = run_trials(o, &s[0], &r, &res->rtt);
	nics_delta(&n, o->run.warmup + o->run.trials, res);
	if (!status) {
		unsigned long w0 = s[1].wakeups;

		status = idle_window(&s[0], &r, o->idle_ms, 0, &res->idle_pct, &res->rate_sent);
		res->idle_wakeups = s[1].wakeups - w0;
	}
	if (!status)
		status = idle_window(&s[0], &r, o->idle_ms, IDLE_RATE, &res->idle_pct_rate, &res->rate_sent);
	reflector_stop(&r, &s[0]);
	return status;
}

/* ---- statistics and output ---- */

static void print_lines(const struct side s[2], const struct nics *n, const struct results *res)
{
	printf("verbs rc %s(%s)<->%s(%s): trials %lu lost %lu", s[0].name, n->ifname[0], s[1].name, n->ifname[1],
	       res->rtt.trials, res->rtt.lost);
	if (res->rtt.returned)
		bench_print_rtt_us(&res->rtt);
	printf("\nverbs rc packets %s tx %" PRIu64 " rx %" PRIu64 ", %s tx %" PRIu64 " rx %" PRIu64 ", lo rx %" PRIu64
	       ": %s\n", n->ifname[0], res->pkts[0][0], res->pkts[0][1], n->ifname[1], res->pkts[1][0],
	       res->pkts[1][1], res->lo_pkts, res->crossed ? "crossed the NICs" : "DID NOT cross the NICs");
	printf("verbs rc reflector cpu %.2f %% idle (%lu wake-ups), %.2f %% at %d messages/s (%lu sent)\n",
	       res->idle_pct, res->idle_wakeups, res->idle_pct_rate, IDLE_RATE, res->rate_sent);
}

static json_object *json_rtt(const struct results *res)
{
	json_object *k = json_object_new_object(), *p = json_object_new_object();
	static const char *const names[2][2] = { { "a_tx", "a_rx" }, { "b_tx", "b_rx" } };

	bench_json_add_stats(k, &res->rtt);
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++)
			json_object_object_add(p, names[i][j], json_object_new_int64((int64_t)res->pkts[i][j]));
	json_object_object_add(p, "lo_rx", json_object_new_int64((int64_t)res->lo_pkts));
	json_object_object_add(p, "crossed_nics", json_object_new_boolean(res->crossed));
	json_object_object_add(k, "nic_packets", p);
	bench_json_add_samples(k, &res->rtt);
	return k;
}

static int write_json(const char *file, const struct results *res)
{
	json_object *root = json_object_new_object(), *rtt = json_object_new_object();
	json_object *idle = json_object_new_object(), *m = json_object_new_object();

	json_object_object_add(rtt, "verbs_rc_event", json_rtt(res));
	json_object_object_add(root, "rtt", rtt);
	json_object_object_add(m, "cpu_pct", json_object_new_double(res->idle_pct));
	json_object_object_add(m, "cpu_pct_1000pps", json_object_new_double(res->idle_pct_rate));
	json_object_object_add(m, "wakeups", json_object_new_int64((int64_t)res->idle_wakeups));
	json_object_object_add(m, "sent_1000pps", json_object_new_int64((int64_t)res->rate_sent));
	json_object_object_add(idle, "verbs_rc_event", m);
	json_object_object_add(root, "idle", idle);
	return bench_write_json(PROG, file, root);
}

static int report(const struct opts *o, const struct side s[2], const struct nics *n, struct results *res)
{
	if (bench_rtt_stats(PROG, &res->rtt))
		return EXIT_FAILURE;
	print_lines(s, n, res);
	if (o->run.json && write_json(o->run.json, res))
		return EXIT_FAILURE;
	if (!res->crossed)
		fprintf(stderr, PROG ": the NICs' packet counters moved by less than the %lu messages (or lo's by "
				"more): the traffic did not cross the NICs; check the policy routing "
				"(app/bench/rxe-setup.sh)\n", o->run.warmup + o->run.trials);
	return res->rtt.lost == 0 && res->crossed ? 0 : EXIT_FAILURE;
}

int main(int argc, char **argv)
{
	struct side s[2] = { { 0 }, { 0 } };
	struct results res = { 0 };
	struct nics n = { 0 };
	struct opts o;
	int status = parse_args(argc, argv, &o);

	if (status)
		return status < 0 ? 0 : status;
	status = nics_open(&o, &n);
	for (int i = 0; i < 2 && !status; i++)
		status = side_open(&s[i], o.dev[i]);
	if (!status)
		status = connect_sides(s);
	if (!status)
		status = measure(&o, s, &n, &res);
	if (!status)
		status = report(&o, s, &n, &res);
	for (int i = 0; i < 2; i++)
		side_close(&s[i]);
	free(res.rtt.ns);
	return status;
}
