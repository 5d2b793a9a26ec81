/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpdk_baseline — the DPDK 22.11 baseline of the upci benchmark.
 *
 *   dpdk_baseline [EAL args] -- rtt|pps|fwd|intr [--frames N] [--trials N] [--spacing-us U]
 *                                                [--size BYTES] [--upci A,B] [--json FILE]
 *
 * It drives the same two 82574L NICs the upci benchmark drives (port 0 = A = 0000:00:02.0, port 1 = B =
 * 0000:00:03.0, both on vfio-pci), with the same frames and the same clock, but through DPDK's em PMD and
 * DPDK's public API only (EAL, ethdev, mbuf/mempool): what upci measures for its own 82574L driver, this
 * measures for DPDK on the same emulated hardware in the same kind of guest. One rx and one tx queue per
 * port, 512 descriptors, bursts of 32. The main lcore drives A, the first worker lcore drives B.
 *
 * Two backends run the very same methods (the code below only ever calls struct backend's rx/tx/alloc):
 *   em PMD     (default) the EAL probes both NICs (-a A -a B); rte_eth_rx_burst/rte_eth_tx_burst, mbufs
 *              from an rte_pktmbuf_pool_create() pool. JSON keys rtt.dpdk_poll, pps.dpdk.*.
 *   upci_dpdk  (--upci A,B) the EAL runs without the devices (--no-pci); upci opens both through VFIO
 *              (poll mode, 1 rx + 1 tx queue, 512 descriptors) and libupci_dpdk gives them mbufs:
 *              upci_dpdk_rx_burst/upci_dpdk_tx_burst, frames allocated from the port's rx queue 0 mempool
 *              (upci_dpdk_mempool()) on the lcore that drives that port, which is also the one that frees
 *              its mbufs and completes its tx queue (the single-producer/consumer rule of upci/dpdk.h).
 *              Frames are built at their buffer's start (data_off 0), so upci's tx moves none.
 *              JSON keys rtt.upci_dpdk_poll, pps.upci_dpdk.*. Not for intr (upci-bench measures upci's rx
 *              interrupts).
 *
 * Frames: --size bytes handed to the NIC (default 60; 64 on the wire with the FCS the NIC appends),
 * EtherType 0x88B5, a magic word and a 32-bit sequence number. Times: CLOCK_MONOTONIC.
 *
 *   rtt   Poll-mode ping-pong. B busy-polls and sends back every frame it receives (MACs swapped). A sends
 *         one frame, busy-polls its rx until that sequence number returns (lost after 100 ms) and records
 *         the round trip; --spacing-us (default 200) between trials; 50 warmup trials discarded; --trials
 *         (default 1000) measured. Percentiles p50/p90/p99/p99.9/max are nearest-rank, in microseconds.
 *   pps   One-way A -> B: A sends --frames (default 200000) frames as fast as its tx ring takes them; B
 *         counts what arrives. Rate = frames received on B / (last arrival on B - first transmission on A);
 *         the main lcore timestamps the moment B's count last moved. Lost = sent - received; the line also
 *         gives the NICs' own counters (A opackets, B ipackets/imissed/ierrors) to show where frames went.
 *   fwd   Bidirectional forwarding: each port injects 32 frames, then each lcore sends every frame its port
 *         receives straight back out of the same port (MACs swapped), so 64 frames circulate between A and B.
 *         Rate = frames received by A + frames received by B, per second, over --frames (default 200000)
 *         receptions after a warmup of --frames/10. At the end the circulating frames are drained and
 *         counted: lost = 64 - drained.
 *   intr  What DPDK's rx interrupt mode does on this device: B is configured with intr_conf.rxq = 1 and its
 *         lcore sleeps as in l3fwd-power (rte_eth_dev_rx_intr_ctl_q on the per-thread epoll,
 *         rte_eth_dev_rx_intr_enable, rte_epoll_wait with a 50 ms timeout, rx_intr_disable, poll rx). A
 *         sends --frames (default 100) frames, one at a time, waits until B has seen each one (200 ms
 *         bound) and waits --spacing-us (default 1000). Reports how often the waiter woke by the interrupt
 *         and how often by its timeout.
 *
 * Output: one human-readable line on stdout; --json FILE writes the figures (json-c). Exit status 0 on
 * success, 1 on any failure (one line on stderr), 2 on bad usage.
 *
 * The guest needs hugepages, both NICs on vfio-pci, a kernel with timerfd (the EAL's alarm needs it) and,
 * unless --in-memory is given, a writable /var/run and POSIX file locks (the EAL's shared config).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <rte_byteorder.h>
#include <rte_eal.h>
#include <rte_epoll.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_interrupts.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pause.h>

#ifdef BENCH_UPCI_DPDK
#include <upci/dpdk.h>
#include <upci/port.h>
#endif

#define PROG "dpdk_baseline"
#define PORT_A 0
#define PORT_B 1
#define NB_DESC 512
#define BURST 32
#define NB_MBUF 8191
#define MBUF_CACHE 256
#define ETHERTYPE_BENCH 0x88B5
#define BENCH_MAGIC 0x75706369u /* "upci" */
#define MIN_SIZE 60u
#define MAX_SIZE 1514u

#define US_NS 1000ull
#define MS_NS 1000000ull
#define S_NS 1000000000ull
#define LINK_TIMEOUT_NS (10000 * MS_NS)
#define READY_TIMEOUT_NS (5000 * MS_NS)
#define TX_TIMEOUT_NS (100 * MS_NS)
#define CLOCK_EVERY 64 /* polls between clock reads in busy loops */
#define RTT_WARMUP 50
#define RTT_TIMEOUT_NS (100 * MS_NS)
#define PPS_IDLE_NS (200 * MS_NS)
#define FWD_WINDOW 32
#define FWD_STALL_NS (1000 * MS_NS)
#define DRAIN_NS (100 * MS_NS)
#define INTR_WAIT_MS 50
#define INTR_FRAME_TIMEOUT_NS (200 * MS_NS)

enum mode { MODE_RTT, MODE_PPS, MODE_FWD, MODE_INTR };

static const char *const mode_names[] = { "rtt", "pps", "fwd", "intr" };

struct opts {
	enum mode mode;
	uint64_t frames;     /* pps, fwd, intr */
	uint64_t trials;     /* rtt */
	uint64_t spacing_us; /* rtt, intr */
	uint64_t size;       /* bytes handed to the NIC, FCS excluded */
	const char *json;
	char *upci[2];       /* --upci A,B: the upci_dpdk backend on these devices (NULL: the em PMD) */
};

struct bench_hdr {
	struct rte_ether_hdr eth;
	rte_be32_t magic;
	rte_be32_t seq;
};

/* Counters one lcore writes and the other reads: one cache line per port. */
struct port_counters {
	atomic_uint_fast64_t rx;       /* bench frames received */
	atomic_uint_fast64_t injected; /* fwd */
	atomic_uint_fast64_t drained;  /* fwd: frames taken off the wire after stop */
	atomic_uint_fast64_t txdrop;   /* frames a full tx ring refused */
} __rte_cache_aligned;

/* The NICs' own counters that the pps line shows (where the frames went). */
struct nic_counters {
	uint64_t a_opackets, b_ipackets, b_imissed, b_ierrors;
};

struct bench;

/*
 * struct backend - how the methods reach the NICs, chosen once at start. rx/tx behave as
 * rte_eth_rx_burst()/rte_eth_tx_burst() on queue 0 of port 0 (A) or 1 (B): never block, tx takes the first
 * R mbufs; alloc fills pkts with n empty mbufs or returns false. setup runs after rte_eal_init() and may
 * fail; teardown releases whatever setup got, even after a failure.
 */
struct backend {
	const char *label;    /* the human-readable lines: "dpdk" or "upci_dpdk" */
	const char *rtt_key;  /* rtt.<rtt_key> */
	const char *pps_key;  /* pps.<pps_key>.{tx_rx,fwd,...} */
	int (*setup)(struct bench *b);
	void (*teardown)(struct bench *b);
	uint16_t (*rx)(struct bench *b, uint16_t port, struct rte_mbuf **pkts, uint16_t n);
	uint16_t (*tx)(struct bench *b, uint16_t port, struct rte_mbuf **pkts, uint16_t n);
	bool (*alloc)(struct bench *b, uint16_t port, struct rte_mbuf **pkts, unsigned n);
	void (*counters)(struct bench *b, struct nic_counters *c);
	void (*note)(struct bench *b, char *buf, size_t len); /* what the backend itself counted, or "" */
};

/* What the main lcore (port A) and the worker lcore (port B) share. */
struct shared {
	struct port_counters port[2];
	atomic_bool ready, stop, failed;
	atomic_uint_fast64_t wake_intr, wake_timeout; /* intr */
};

struct bench {
	struct opts o;
	const struct backend *be;
	struct rte_mempool *pool; /* em PMD */
#ifdef BENCH_UPCI_DPDK
	struct upci_port *up[2];         /* upci_dpdk */
	struct upci_dpdk_port *dp[2];
	struct rte_mempool *mp[2];       /* rx queue 0's mempool of each port */
#endif
	struct rte_ether_addr mac[2];
	char name[2][RTE_ETH_NAME_MAX_LEN];
	char driver[32];
	bool started[2];
	unsigned worker;
	struct shared sh;
};

static atomic_bool quit;

/* ---- small helpers ---------------------------------------------------------------------------- */

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * S_NS + (uint64_t)ts.tv_nsec;
}

static void spin_for(uint64_t ns)
{
	uint64_t end = now_ns() + ns;

	while (now_ns() < end)
		rte_pause();
}

static double per_second(uint64_t count, uint64_t ns)
{
	return ns ? (double)count * (double)S_NS / (double)ns : 0.0;
}

static uint64_t load(atomic_uint_fast64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static void add(atomic_uint_fast64_t *v, uint64_t n)
{
	if (n)
		atomic_fetch_add_explicit(v, n, memory_order_relaxed);
}

static bool stopping(struct bench *b)
{
	return atomic_load_explicit(&b->sh.stop, memory_order_acquire) ||
	       atomic_load_explicit(&quit, memory_order_relaxed);
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&quit, true);
}

/* ---- command line ----------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [EAL args] -- rtt|pps|fwd|intr [--frames N] [--trials N] [--spacing-us U]\n"
		   "                     [--size BYTES] [--upci A,B] [--json FILE]\n"
		   "  port 0 (A) = 0000:00:02.0, port 1 (B) = 0000:00:03.0, on vfio-pci; needs 2 lcores, e.g.\n"
		   "  " PROG " -l 0-1 -n 1 --iova-mode=va -m 64 -a 0000:00:02.0 -a 0000:00:03.0 -- rtt\n"
		   "  --frames N      pps: frames A sends (default 200000); fwd: receptions measured after a\n"
		   "                  warmup of N/10 (200000); intr: frames A sends (100)\n"
		   "  --trials N      rtt: measured round trips (default 1000; 50 warmup trials are discarded)\n"
		   "  --spacing-us U  rtt: gap between trials (default 200); intr: gap between frames (1000)\n"
		   "  --size BYTES    frame length handed to the NIC, 60..1514 (default 60 = 64 on the wire)\n"
		   "  --upci A,B      rtt, pps, fwd through upci ports A and B with libupci_dpdk (mbufs, zero\n"
		   "                  copy) instead of the em PMD; start the EAL with --no-pci, e.g.\n"
		   "  " PROG " -l 0-1 -n 1 --iova-mode=va -m 64 --no-pci -- fwd --upci 0000:00:02.0,0000:00:03.0\n"
		   "  --json FILE     write the figures as JSON\n");
}

static void eal_usage_hook(const char *prgname)
{
	(void)prgname;
	usage(stdout);
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_mode(const char *s, enum mode *m)
{
	for (unsigned i = 0; i < RTE_DIM(mode_names); i++) {
		if (!strcmp(s, mode_names[i])) {
			*m = (enum mode)i;
			return 0;
		}
	}
	return fail("unknown mode '%s' (rtt, pps, fwd or intr)", s);
}

static int parse_option(const char *opt, const char *val, struct opts *o)
{
	uint64_t *dst = NULL, min = 1, max = UINT32_MAX;

	if (!strcmp(opt, "--json")) {
		o->json = val;
		return 0;
	}
	if (!strcmp(opt, "--upci")) {
		char *comma = strchr(val, ',');

		if (!comma || comma == val || !comma[1] || strchr(comma + 1, ','))
			return fail("--upci wants two devices, A,B (e.g. 0000:00:02.0,0000:00:03.0), not '%s'", val);
		o->upci[0] = strndup(val, (size_t)(comma - val));
		o->upci[1] = strdup(comma + 1);
		return o->upci[0] && o->upci[1] ? 0 : fail("out of memory");
	}
	if (!strcmp(opt, "--frames"))
		dst = &o->frames;
	else if (!strcmp(opt, "--trials"))
		dst = &o->trials;
	else if (!strcmp(opt, "--spacing-us"))
		dst = &o->spacing_us, min = 0, max = 10 * 1000 * 1000;
	else if (!strcmp(opt, "--size"))
		dst = &o->size, min = MIN_SIZE, max = MAX_SIZE;
	else
		return fail("unknown option '%s'", opt);
	if (parse_u64(val, min, max, dst))
		return fail("%s wants an integer in %" PRIu64 "..%" PRIu64 ", not '%s'", opt, min, max, val);
	return 0;
}

static void apply_defaults(struct opts *o)
{
	if (!o->frames)
		o->frames = o->mode == MODE_INTR ? 100 : 200000;
	if (!o->trials)
		o->trials = 1000;
	if (o->spacing_us == UINT64_MAX)
		o->spacing_us = o->mode == MODE_INTR ? 1000 : 200;
	if (!o->size)
		o->size = MIN_SIZE;
}

/* argv[0] is MODE: what follows the EAL's "--". */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->spacing_us = UINT64_MAX;
	if (argc < 1)
		return fail("no mode given (rtt, pps, fwd or intr)");
	if (parse_mode(argv[0], &o->mode))
		return -1;
	for (int i = 1; i < argc; i += 2) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			exit(0);
		}
		if (i + 1 >= argc)
			return fail("option '%s' wants a value", argv[i]);
		if (parse_option(argv[i], argv[i + 1], o))
			return -1;
	}
	if (o->upci[0] && o->mode == MODE_INTR)
		return fail("--upci: intr is the em PMD's rx interrupt mode; upci-bench measures upci's");
	apply_defaults(o);
	return 0;
}

static int find_separator(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--"))
			return i;
	return -1;
}

/* ---- ports ------------------------------------------------------------------------------------ */

#define PORT_TRY(call, what)                                                                          \
	do {                                                                                          \
		int rc_ = (call);                                                                     \
		if (rc_ < 0)                                                                          \
			return fail("port %u (%s): %s failed: %s", port, b->name[port], what,         \
				    rte_strerror(-rc_));                                              \
	} while (0)

static int port_init(struct bench *b, uint16_t port, bool rxq_intr)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint16_t nrx = NB_DESC, ntx = NB_DESC;
	int socket = rte_eth_dev_socket_id(port);

	memset(&conf, 0, sizeof(conf));
	conf.intr_conf.rxq = rxq_intr;
	PORT_TRY(rte_eth_dev_get_name_by_port(port, b->name[port]), "get name");
	PORT_TRY(rte_eth_dev_info_get(port, &info), "rte_eth_dev_info_get");
	snprintf(b->driver, sizeof(b->driver), "%s", info.driver_name);
	PORT_TRY(rte_eth_dev_configure(port, 1, 1, &conf), "rte_eth_dev_configure");
	PORT_TRY(rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx), "adjusting descriptor counts");
	PORT_TRY(rte_eth_rx_queue_setup(port, 0, nrx, socket, NULL, b->pool), "rte_eth_rx_queue_setup");
	PORT_TRY(rte_eth_tx_queue_setup(port, 0, ntx, socket, NULL), "rte_eth_tx_queue_setup");
	PORT_TRY(rte_eth_macaddr_get(port, &b->mac[port]), "rte_eth_macaddr_get");
	PORT_TRY(rte_eth_dev_start(port), "rte_eth_dev_start");
	b->started[port] = true;
	PORT_TRY(rte_eth_promiscuous_enable(port), "rte_eth_promiscuous_enable");
	return 0;
}

static int wait_link(struct bench *b, uint16_t port)
{
	uint64_t deadline = now_ns() + LINK_TIMEOUT_NS;
	struct rte_eth_link link;

	for (;;) {
		PORT_TRY(rte_eth_link_get_nowait(port, &link), "rte_eth_link_get_nowait");
		if (link.link_status == RTE_ETH_LINK_UP)
			return 0;
		if (now_ns() > deadline || atomic_load(&quit))
			return fail("port %u (%s): link still down after %llu s", port, b->name[port],
				    LINK_TIMEOUT_NS / S_NS);
		spin_for(10 * MS_NS);
	}
}

static int em_setup(struct bench *b)
{
	unsigned nports = rte_eth_dev_count_avail();

	if (nports < 2 || !rte_eth_dev_is_valid_port(PORT_A) || !rte_eth_dev_is_valid_port(PORT_B))
		return fail("found %u DPDK port(s), need 2: bind 0000:00:02.0 and 0000:00:03.0 to vfio-pci, "
			    "reserve hugepages and pass -a 0000:00:02.0 -a 0000:00:03.0", nports);
	b->pool = rte_pktmbuf_pool_create("bench_mbufs", NB_MBUF, MBUF_CACHE, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					  SOCKET_ID_ANY);
	if (!b->pool)
		return fail("cannot create the mbuf pool: %s (reserve more hugepages or raise -m)",
			    rte_strerror(rte_errno));
	if (port_init(b, PORT_A, false) || port_init(b, PORT_B, b->o.mode == MODE_INTR))
		return -1;
	return wait_link(b, PORT_A) || wait_link(b, PORT_B) ? -1 : 0;
}

static void em_teardown(struct bench *b)
{
	for (uint16_t port = 0; port < 2; port++) {
		if (!rte_eth_dev_is_valid_port(port))
			continue;
		if (b->started[port] && rte_eth_dev_stop(port) < 0)
			fail("port %u: rte_eth_dev_stop failed", port);
		rte_eth_dev_close(port); /* the em PMD logs an MSI-X error for a port never started: harmless */
	}
	rte_mempool_free(b->pool);
}

static uint16_t em_rx(struct bench *b, uint16_t port, struct rte_mbuf **pkts, uint16_t n)
{
	(void)b;
	return rte_eth_rx_burst(port, 0, pkts, n);
}

static uint16_t em_tx(struct bench *b, uint16_t port, struct rte_mbuf **pkts, uint16_t n)
{
	(void)b;
	return rte_eth_tx_burst(port, 0, pkts, n);
}

static bool em_alloc(struct bench *b, uint16_t port, struct rte_mbuf **pkts, unsigned n)
{
	(void)port;
	return rte_pktmbuf_alloc_bulk(b->pool, pkts, n) == 0;
}

static void em_counters(struct bench *b, struct nic_counters *c)
{
	struct rte_eth_stats sa, sb;

	(void)b;
	memset(&sa, 0, sizeof(sa));
	memset(&sb, 0, sizeof(sb));
	rte_eth_stats_get(PORT_A, &sa);
	rte_eth_stats_get(PORT_B, &sb);
	*c = (struct nic_counters){ sa.opackets, sb.ipackets, sb.imissed, sb.ierrors };
}

static void no_note(struct bench *b, char *buf, size_t len)
{
	(void)b;
	snprintf(buf, len, "%s", "");
}

static const struct backend em_backend = {
	.label = "dpdk", .rtt_key = "dpdk_poll", .pps_key = "dpdk",
	.setup = em_setup, .teardown = em_teardown,
	.rx = em_rx, .tx = em_tx, .alloc = em_alloc, .counters = em_counters, .note = no_note,
};

#ifdef BENCH_UPCI_DPDK
/* ---- the upci_dpdk backend: upci ports through libupci_dpdk ---------------------------------------- */

/* A burst's error (-ENODEV: the device was taken away) fails the run: said once, then both lcores stop. */
static uint16_t ud_burst_rc(struct bench *b, uint16_t port, const char *what, int rc)
{
	if (rc >= 0)
		return (uint16_t)rc;
	if (!atomic_exchange(&b->sh.failed, true))
		fail("port %u (%s): upci_dpdk_%s_burst failed: %s", port, b->name[port], what, strerror(-rc));
	atomic_store_explicit(&b->sh.stop, true, memory_order_release);
	return 0;
}

static uint16_t ud_rx(struct bench *b, uint16_t port, struct rte_mbuf **pkts, uint16_t n)
{
	return ud_burst_rc(b, port, "rx", upci_dpdk_rx_burst(b->dp[port], 0, pkts, n));
}

static uint16_t ud_tx(struct bench *b, uint16_t port, struct rte_mbuf **pkts, uint16_t n)
{
	return ud_burst_rc(b, port, "tx", upci_dpdk_tx_burst(b->dp[port], 0, pkts, n));
}

/*
 * n mbufs of port's rx queue 0 mempool (this lcore is its consumer), reclaiming the port's sent frames
 * once if it is short; each with data_off 0, where upci's tx wants a frame to start (no move).
 */
static bool ud_alloc(struct bench *b, uint16_t port, struct rte_mbuf **pkts, unsigned n)
{
	if (rte_pktmbuf_alloc_bulk(b->mp[port], pkts, n)) {
		upci_port_tx_done(b->up[port], 0);
		if (rte_pktmbuf_alloc_bulk(b->mp[port], pkts, n))
			return false;
	}
	for (unsigned i = 0; i < n; i++)
		pkts[i]->data_off = 0;
	return true;
}

static void ud_counters(struct bench *b, struct nic_counters *c)
{
	struct upci_port_stats sa, sb;

	memset(&sa, 0, sizeof(sa));
	memset(&sb, 0, sizeof(sb));
	upci_port_stats(b->up[PORT_A], &sa);
	upci_port_stats(b->up[PORT_B], &sb);
	*c = (struct nic_counters){ sa.tx_packets, sb.rx_packets, sb.rx_missed + sb.rx_no_descriptor, sb.rx_errors };
}

/* What libupci_dpdk counted on both ports: frames moved or refused on tx, foreign objects put back. */
static void ud_note(struct bench *b, char *buf, size_t len)
{
	struct upci_dpdk_stats sa, sb;

	upci_dpdk_stats(b->dp[PORT_A], &sa);
	upci_dpdk_stats(b->dp[PORT_B], &sb);
	snprintf(buf, len, " [libupci_dpdk: %" PRIu64 " + %" PRIu64 " mbufs received, tx moved %" PRIu64 ", refused %"
		 PRIu64 ", bad enqueues %" PRIu64 "]", sa.rx_mbufs, sb.rx_mbufs, sa.tx_moved + sb.tx_moved,
		 sa.tx_refused + sb.tx_refused, sa.bad_enqueues + sb.bad_enqueues);
}

/* Open, attach and start one port: poll mode, 1 rx + 1 tx queue, the em PMD's ring sizes, promiscuous. */
static int ud_port_init(struct bench *b, uint16_t port)
{
	const struct upci_port_cfg cfg = { .rx_queues = 1, .tx_queues = 1, .rx_ring_size = NB_DESC,
					   .tx_ring_size = NB_DESC, .promiscuous = true, .mode = UPCI_PORT_POLL };
	const struct upci_port_info *info;
	int rc = upci_port_open(b->o.upci[port], &cfg, &b->up[port]);

	snprintf(b->name[port], sizeof(b->name[port]), "%s", b->o.upci[port]);
	if (rc)
		return fail("port %u (%s): upci_port_open failed: %s", port, b->name[port], strerror(-rc));
	info = upci_port_info(b->up[port]);
	snprintf(b->driver, sizeof(b->driver), "%s", info->driver);
	memcpy(b->mac[port].addr_bytes, info->mac, RTE_ETHER_ADDR_LEN);
	rc = upci_dpdk_port_attach(b->up[port], (int)rte_socket_id(), &b->dp[port]);
	if (rc)
		return fail("port %u (%s): upci_dpdk_port_attach failed: %s", port, b->name[port], strerror(-rc));
	b->mp[port] = upci_dpdk_mempool(b->dp[port], 0);
	rc = upci_port_start(b->up[port]);
	if (rc)
		return fail("port %u (%s): upci_port_start failed: %s", port, b->name[port], strerror(-rc));
	return 0;
}

static int ud_wait_link(struct bench *b, uint16_t port)
{
	uint64_t deadline = now_ns() + LINK_TIMEOUT_NS;
	struct upci_link link;

	for (;;) {
		int rc = upci_port_link(b->up[port], &link);

		if (rc)
			return fail("port %u (%s): upci_port_link failed: %s", port, b->name[port], strerror(-rc));
		if (link.up)
			return 0;
		if (now_ns() > deadline || atomic_load(&quit))
			return fail("port %u (%s): link still down after %llu s", port, b->name[port],
				    LINK_TIMEOUT_NS / S_NS);
		spin_for(10 * MS_NS);
	}
}

static int ud_setup(struct bench *b)
{
	if (rte_eth_dev_count_avail())
		return fail("--upci: the EAL probed %u port(s); start it without the devices (--no-pci): upci opens "
			    "them through VFIO itself", rte_eth_dev_count_avail());
	if (ud_port_init(b, PORT_A) || ud_port_init(b, PORT_B))
		return -1;
	return ud_wait_link(b, PORT_A) || ud_wait_link(b, PORT_B) ? -1 : 0;
}

static void ud_teardown(struct bench *b)
{
	for (uint16_t port = 0; port < 2; port++) {
		upci_dpdk_port_detach(b->dp[port]);
		upci_port_close(b->up[port]);
		b->dp[port] = NULL;
		b->up[port] = NULL;
	}
}

static const struct backend ud_backend = {
	.label = "upci_dpdk", .rtt_key = "upci_dpdk_poll", .pps_key = "upci_dpdk",
	.setup = ud_setup, .teardown = ud_teardown,
	.rx = ud_rx, .tx = ud_tx, .alloc = ud_alloc, .counters = ud_counters, .note = ud_note,
};
#endif

/* Picks the backend, finds the worker lcore, sets the ports up. */
static int setup(struct bench *b)
{
	b->be = &em_backend;
	if (b->o.upci[0]) {
#ifdef BENCH_UPCI_DPDK
		b->be = &ud_backend;
#else
		return fail("--upci: this build has no libupci_dpdk");
#endif
	}
	b->worker = rte_get_next_lcore(-1, 1, 0);
	if (b->worker >= RTE_MAX_LCORE)
		return fail("need 2 lcores (e.g. -l 0-1): the main lcore drives port A, a worker port B");
	return b->be->setup(b);
}

static void teardown(struct bench *b)
{
	if (b->be)
		b->be->teardown(b);
}

/* ---- frames ----------------------------------------------------------------------------------- */

static void fill_frame(const struct bench *b, struct rte_mbuf *m, uint16_t from, uint32_t seq)
{
	struct bench_hdr *h = (struct bench_hdr *)(void *)rte_pktmbuf_append(m, (uint16_t)b->o.size);

	memset(h, 0, b->o.size);
	rte_ether_addr_copy(&b->mac[!from], &h->eth.dst_addr);
	rte_ether_addr_copy(&b->mac[from], &h->eth.src_addr);
	h->eth.ether_type = rte_cpu_to_be_16(ETHERTYPE_BENCH);
	h->magic = rte_cpu_to_be_32(BENCH_MAGIC);
	h->seq = rte_cpu_to_be_32(seq);
}

/* Allocates and fills n frames; false when the pool is (momentarily) empty. */
static bool make_frames(struct bench *b, uint16_t from, uint32_t seq, struct rte_mbuf **pkts, unsigned n)
{
	if (!b->be->alloc(b, from, pkts, n))
		return false;
	for (unsigned i = 0; i < n; i++)
		fill_frame(b, pkts[i], from, seq + i);
	return true;
}

static bool frame_seq(const struct rte_mbuf *m, uint32_t *seq)
{
	const struct bench_hdr *h = rte_pktmbuf_mtod(m, const struct bench_hdr *);

	if (m->data_len < sizeof(*h) || h->eth.ether_type != rte_cpu_to_be_16(ETHERTYPE_BENCH) ||
	    h->magic != rte_cpu_to_be_32(BENCH_MAGIC))
		return false;
	*seq = rte_be_to_cpu_32(h->seq);
	return true;
}

/* Counts the bench frames among pkts and frees them all. */
static unsigned count_and_free(struct rte_mbuf **pkts, unsigned n)
{
	unsigned ours = 0;
	uint32_t seq;

	for (unsigned i = 0; i < n; i++)
		ours += frame_seq(pkts[i], &seq);
	rte_pktmbuf_free_bulk(pkts, n);
	return ours;
}

static void swap_macs(struct rte_mbuf *m)
{
	struct rte_ether_hdr *e = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ether_addr t = e->src_addr;

	e->src_addr = e->dst_addr;
	e->dst_addr = t;
}

/* Sends all n frames, retrying while the tx ring is full, for at most TX_TIMEOUT_NS; frees the rest. */
static unsigned tx_all(struct bench *b, uint16_t port, struct rte_mbuf **pkts, unsigned n)
{
	uint64_t deadline = now_ns() + TX_TIMEOUT_NS;
	unsigned sent = 0;

	while (sent < n) {
		sent += b->be->tx(b, port, pkts + sent, (uint16_t)(n - sent));
		if (sent < n && now_ns() > deadline)
			break;
	}
	rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	return sent;
}

/* Sends the received frames back out of the same port, MACs swapped; returns how many were refused. */
static unsigned reflect(struct bench *b, uint16_t port, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent;

	for (uint16_t i = 0; i < n; i++)
		swap_macs(pkts[i]);
	sent = b->be->tx(b, port, pkts, n);
	rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	return n - sent;
}

/* Receives for DRAIN_NS and returns how many bench frames came in. */
static uint64_t drain(struct bench *b, uint16_t port)
{
	uint64_t end = now_ns() + DRAIN_NS, got = 0;
	struct rte_mbuf *pkts[BURST];

	while (now_ns() < end)
		got += count_and_free(pkts, b->be->rx(b, port, pkts, BURST));
	return got;
}

/* ---- the worker lcore (port B) ---------------------------------------------------------------- */

static void set_ready(struct bench *b)
{
	atomic_store_explicit(&b->sh.ready, true, memory_order_release);
}

static int launch_worker(struct bench *b, lcore_function_t *fn)
{
	uint64_t deadline = now_ns() + READY_TIMEOUT_NS;
	int rc = rte_eal_remote_launch(fn, b, b->worker);

	if (rc)
		return fail("cannot launch lcore %u: %s", b->worker, rte_strerror(-rc));
	while (!atomic_load_explicit(&b->sh.ready, memory_order_acquire)) {
		if (now_ns() > deadline)
			return fail("lcore %u did not start within %llu s", b->worker, READY_TIMEOUT_NS / S_NS);
		rte_pause();
	}
	return atomic_load(&b->sh.failed) ? -1 : 0;
}

/* Stops the worker and waits for it; the worker has printed its own error line if it failed. */
static int stop_worker(struct bench *b)
{
	atomic_store_explicit(&b->sh.stop, true, memory_order_release);
	return rte_eal_wait_lcore(b->worker) < 0 ? -1 : 0;
}

/* Busy-polls B's rx until stopped; each non-empty burst goes to @on_burst. */
static int poll_b(struct bench *b, void (*on_burst)(struct bench *b, struct rte_mbuf **pkts, uint16_t n))
{
	struct rte_mbuf *pkts[BURST];

	set_ready(b);
	while (!stopping(b)) {
		uint16_t n = b->be->rx(b, PORT_B, pkts, BURST);

		if (n)
			on_burst(b, pkts, n);
	}
	return 0;
}

static void reflect_b(struct bench *b, struct rte_mbuf **pkts, uint16_t n)
{
	add(&b->sh.port[PORT_B].txdrop, reflect(b, PORT_B, pkts, n));
}

static void count_b(struct bench *b, struct rte_mbuf **pkts, uint16_t n)
{
	add(&b->sh.port[PORT_B].rx, count_and_free(pkts, n));
}

/* rtt: send every frame B receives straight back. */
static int reflector(void *arg)
{
	return poll_b(arg, reflect_b);
}

/* pps: count the bench frames arriving on B (the main lcore notes when the count last moved). */
static int counter(void *arg)
{
	return poll_b(arg, count_b);
}

/* ---- rtt -------------------------------------------------------------------------------------- */

/* Frees pkts; true if the frame with sequence number seq is among them. */
static bool burst_has_seq(struct rte_mbuf **pkts, uint16_t n, uint32_t seq)
{
	bool hit = false;
	uint32_t s;

	for (uint16_t i = 0; i < n; i++)
		hit |= frame_seq(pkts[i], &s) && s == seq;
	rte_pktmbuf_free_bulk(pkts, n);
	return hit;
}

/* One round trip: 0 and *us set, 1 when the frame did not come back, -1 on failure. */
static int rtt_trial(struct bench *b, uint32_t seq, double *us)
{
	struct rte_mbuf *m, *pkts[BURST];
	uint64_t t0, t1;

	if (!make_frames(b, PORT_A, seq, &m, 1))
		return fail("the mbuf pool is exhausted");
	t0 = now_ns();
	if (tx_all(b, PORT_A, &m, 1) != 1)
		return 1;
	for (unsigned polls = 1;; polls++) {
		uint16_t n = b->be->rx(b, PORT_A, pkts, BURST);

		if (!n && polls % CLOCK_EVERY)
			continue; /* keep the poll loop tight: read the clock on arrivals and now and then */
		t1 = now_ns();
		if (n && burst_has_seq(pkts, n, seq)) {
			*us = (double)(t1 - t0) / (double)US_NS;
			return 0;
		}
		if (t1 - t0 > RTT_TIMEOUT_NS || atomic_load(&quit) || atomic_load(&b->sh.failed))
			return 1;
	}
}

static int cmp_double(const void *pa, const void *pb)
{
	double a = *(const double *)pa, bv = *(const double *)pb;

	return (a > bv) - (a < bv);
}

/* Nearest-rank percentile of sorted samples, per mille. */
static double percentile(const double *s, size_t n, unsigned per_mille)
{
	size_t k = (per_mille * n + 999) / 1000;

	return s[k ? k - 1 : 0];
}

static json_object *jdouble(double v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.3f", v);
	return json_object_new_double_s(v, buf);
}

/* Writes {k1: {k2: leaf}} (or {k1: leaf} when k2 is NULL) to path and releases leaf. */
static int write_json(const char *path, const char *k1, const char *k2, json_object *leaf)
{
	json_object *root = json_object_new_object(), *mid = leaf;
	int rc = 0;

	if (k2) {
		mid = json_object_new_object();
		json_object_object_add(mid, k2, leaf);
	}
	json_object_object_add(root, k1, mid);
	if (json_object_to_file_ext(path, root, JSON_C_TO_STRING_PRETTY) < 0)
		rc = fail("cannot write %s: %s", path, json_util_get_last_err());
	json_object_put(root);
	return rc;
}

/* The percentiles of n samples, which stay in trial order. */
static int rtt_percentiles(const double *s, size_t n, const unsigned *pm, unsigned npm, double *p)
{
	double *sorted = malloc(n * sizeof(*sorted));

	if (!sorted)
		return fail("out of memory for %zu samples", n);
	memcpy(sorted, s, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_double);
	for (unsigned i = 0; i < npm; i++)
		p[i] = percentile(sorted, n, pm[i]);
	free(sorted);
	return 0;
}

static int report_rtt(struct bench *b, const double *s, size_t n, uint64_t lost)
{
	static const unsigned pm[] = { 500, 900, 990, 999, 1000 };
	static const char *const keys[] = { "p50_us", "p90_us", "p99_us", "p999_us", "max_us" };
	double p[RTE_DIM(pm)];
	json_object *leaf, *arr;

	if (!n)
		return fail("all %" PRIu64 " round trips lost: no frame came back from B within %llu ms", lost,
			    RTT_TIMEOUT_NS / MS_NS);
	if (rtt_percentiles(s, n, pm, RTE_DIM(pm), p))
		return -1;
	printf("%s %s rtt (poll, A=%s B=%s): %" PRIu64 " trials, %" PRIu64 " lost, p50 %.1f p90 %.1f "
	       "p99 %.1f p99.9 %.1f max %.1f us [CLOCK_MONOTONIC, %" PRIu64 " B frames, spacing %" PRIu64
	       " us, %d warmup discarded]\n", b->be->label, b->driver, b->name[PORT_A], b->name[PORT_B], b->o.trials, lost,
	       p[0], p[1], p[2], p[3], p[4], b->o.size, b->o.spacing_us, RTT_WARMUP);
	if (!b->o.json)
		return 0;
	leaf = json_object_new_object();
	for (unsigned i = 0; i < RTE_DIM(pm); i++)
		json_object_object_add(leaf, keys[i], jdouble(p[i]));
	json_object_object_add(leaf, "trials", json_object_new_uint64(b->o.trials));
	json_object_object_add(leaf, "lost", json_object_new_uint64(lost));
	arr = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, jdouble(s[i]));
	json_object_object_add(leaf, "samples_us", arr);
	return write_json(b->o.json, "rtt", b->be->rtt_key, leaf);
}

static int run_rtt(struct bench *b)
{
	uint64_t total = RTT_WARMUP + b->o.trials, lost = 0;
	double *samples = calloc(b->o.trials, sizeof(*samples));
	size_t n = 0;
	int rc = 0;

	if (!samples)
		return fail("out of memory for %" PRIu64 " samples", b->o.trials);
	if (launch_worker(b, reflector))
		rc = -1;
	for (uint64_t i = 0; i < total && !rc && !atomic_load(&quit) && !atomic_load(&b->sh.failed); i++) {
		double us = 0;
		int r = rtt_trial(b, (uint32_t)i, &us);

		if (r < 0)
			rc = -1;
		else if (i >= RTT_WARMUP && r == 0)
			samples[n++] = us;
		else if (i >= RTT_WARMUP)
			lost++;
		spin_for(b->o.spacing_us * US_NS);
	}
	if (stop_worker(b) || atomic_load(&b->sh.failed))
		rc = -1;
	if (!rc && atomic_load(&quit))
		rc = fail("interrupted");
	if (!rc)
		rc = report_rtt(b, samples, n, lost);
	free(samples);
	return rc;
}

/* ---- pps -------------------------------------------------------------------------------------- */

/* Sends o.frames frames from A as fast as the tx ring takes them; *sent says how many went out. */
static int pps_send(struct bench *b, uint64_t *sent)
{
	struct rte_mbuf *pkts[BURST];
	uint64_t seq = 0;

	*sent = 0;
	while (seq < b->o.frames && !atomic_load_explicit(&quit, memory_order_relaxed) && !atomic_load(&b->sh.failed)) {
		unsigned n = (unsigned)RTE_MIN((uint64_t)BURST, b->o.frames - seq);

		if (!make_frames(b, PORT_A, (uint32_t)seq, pkts, n))
			return fail("the mbuf pool is exhausted after %" PRIu64 " frames", seq);
		*sent += tx_all(b, PORT_A, pkts, n);
		seq += n;
	}
	return 0;
}

/* Waits until B has every sent frame or nothing new arrived for PPS_IDLE_NS; returns when B's count
 * last moved (the last arrival, to within this loop's period). */
static uint64_t pps_wait_rx(struct bench *b, uint64_t sent)
{
	uint64_t last = load(&b->sh.port[PORT_B].rx), t_last = now_ns(), t = t_last;

	while (last < sent && t - t_last < PPS_IDLE_NS && !atomic_load(&quit)) {
		uint64_t cur = load(&b->sh.port[PORT_B].rx);

		t = now_ns();
		if (cur != last) {
			last = cur;
			t_last = t;
		}
	}
	return t_last;
}

struct pps_times {
	uint64_t t0, t_tx, t_last; /* first transmission, A done, last arrival on B */
};

static int report_pps(struct bench *b, uint64_t sent, const struct pps_times *t)
{
	uint64_t got = load(&b->sh.port[PORT_B].rx), lost = sent > got ? sent - got : 0;
	double rx_rate = per_second(got, t->t_last - t->t0);
	struct nic_counters c;
	json_object *leaf;
	char note[160];

	if (!got)
		return fail("B received none of the %" PRIu64 " frames A sent", sent);
	b->be->counters(b, &c);
	b->be->note(b, note, sizeof(note));
	printf("%s %s pps A->B: %.0f frames/s received on B (A sent at %.0f frames/s), %" PRIu64 " sent, %" PRIu64
	       " received, %" PRIu64 " lost [NIC counters: A opackets %" PRIu64 ", B ipackets %" PRIu64
	       ", imissed %" PRIu64 ", ierrors %" PRIu64 "] [%" PRIu64 " B frames]%s\n", b->be->label, b->driver,
	       rx_rate, per_second(sent, t->t_tx - t->t0), sent, got, lost, c.a_opackets, c.b_ipackets, c.b_imissed,
	       c.b_ierrors, b->o.size, note);
	if (!b->o.json)
		return 0;
	leaf = json_object_new_object();
	json_object_object_add(leaf, "tx_rx", jdouble(rx_rate));
	json_object_object_add(leaf, "tx_rx_lost", json_object_new_uint64(lost));
	return write_json(b->o.json, "pps", b->be->pps_key, leaf);
}

static int run_pps(struct bench *b)
{
	struct pps_times t;
	uint64_t sent;

	if (launch_worker(b, counter)) {
		stop_worker(b);
		return -1;
	}
	t.t0 = now_ns();
	if (pps_send(b, &sent)) {
		stop_worker(b);
		return -1;
	}
	t.t_tx = now_ns();
	t.t_last = pps_wait_rx(b, sent);
	if (stop_worker(b) || atomic_load(&b->sh.failed))
		return -1;
	if (atomic_load(&quit))
		return fail("interrupted");
	if (sent < b->o.frames)
		return fail("A's tx ring took only %" PRIu64 " of %" PRIu64 " frames", sent, b->o.frames);
	return report_pps(b, sent, &t);
}

/* ---- fwd -------------------------------------------------------------------------------------- */

struct fwd_meter {
	uint64_t warmup, t_w, c_w, t_end, c_end, last_total, t_change;
	bool warm, stalled;
};

/* Called by A between bursts: true once o.frames receptions (both ports) were counted after warmup. */
static bool fwd_done(struct bench *b, struct fwd_meter *m)
{
	uint64_t total = load(&b->sh.port[PORT_A].rx) + load(&b->sh.port[PORT_B].rx), t = now_ns();

	if (total != m->last_total) {
		m->last_total = total;
		m->t_change = t;
	} else if (t - m->t_change > FWD_STALL_NS) {
		m->stalled = true;
		return true;
	}
	if (!m->warm && total >= m->warmup) {
		m->warm = true;
		m->t_w = t;
		m->c_w = total;
	}
	if (m->warm && total >= m->c_w + b->o.frames) {
		m->t_end = t;
		m->c_end = total;
		return true;
	}
	return atomic_load_explicit(&quit, memory_order_relaxed);
}

/* Injects FWD_WINDOW frames from port, then forwards what it receives until stopped (A: until the meter
 * says so), then drains what is still circulating. */
static void fwd_loop(struct bench *b, uint16_t port, struct fwd_meter *m)
{
	struct rte_mbuf *pkts[BURST];

	for (unsigned i = 0; i < FWD_WINDOW; i += BURST) {
		unsigned n = RTE_MIN((unsigned)BURST, FWD_WINDOW - i);

		if (make_frames(b, port, i, pkts, n))
			add(&b->sh.port[port].injected, tx_all(b, port, pkts, n));
	}
	for (unsigned polls = 1; !stopping(b); polls++) {
		uint16_t n = b->be->rx(b, port, pkts, BURST);

		if (n) {
			add(&b->sh.port[port].rx, n);
			add(&b->sh.port[port].txdrop, reflect(b, port, pkts, n));
		}
		if (m && polls % CLOCK_EVERY == 0 && fwd_done(b, m))
			atomic_store_explicit(&b->sh.stop, true, memory_order_release);
	}
	add(&b->sh.port[port].drained, drain(b, port));
}

static int fwd_worker(void *arg)
{
	struct bench *b = arg;

	set_ready(b);
	fwd_loop(b, PORT_B, NULL);
	return 0;
}

static int report_fwd(struct bench *b, const struct fwd_meter *m)
{
	uint64_t inj = load(&b->sh.port[PORT_A].injected) + load(&b->sh.port[PORT_B].injected);
	uint64_t drained = load(&b->sh.port[PORT_A].drained) + load(&b->sh.port[PORT_B].drained);
	uint64_t lost = inj > drained ? inj - drained : 0;
	double rate = per_second(m->c_end - m->c_w, m->t_end - m->t_w);
	json_object *leaf;
	char note[160];

	b->be->note(b, note, sizeof(note));
	printf("%s %s fwd A<->B: %.0f frames/s received and forwarded (A + B), %" PRIu64 " receptions measured "
	       "(A %" PRIu64 ", B %" PRIu64 " in all), %" PRIu64 " injected, %" PRIu64 " drained at the end, "
	       "%" PRIu64 " lost (tx ring full: %" PRIu64 ") [%" PRIu64 " B frames]%s\n", b->be->label, b->driver,
	       rate, m->c_end - m->c_w, load(&b->sh.port[PORT_A].rx), load(&b->sh.port[PORT_B].rx), inj, drained,
	       lost, load(&b->sh.port[PORT_A].txdrop) + load(&b->sh.port[PORT_B].txdrop), b->o.size, note);
	if (!b->o.json)
		return 0;
	leaf = json_object_new_object();
	json_object_object_add(leaf, "fwd", jdouble(rate));
	json_object_object_add(leaf, "fwd_lost", json_object_new_uint64(lost));
	return write_json(b->o.json, "pps", b->be->pps_key, leaf);
}

static int run_fwd(struct bench *b)
{
	struct fwd_meter m = { .warmup = b->o.frames / 10, .t_change = now_ns() };

	if (launch_worker(b, fwd_worker)) {
		stop_worker(b);
		return -1;
	}
	fwd_loop(b, PORT_A, &m);
	if (stop_worker(b) || atomic_load(&b->sh.failed))
		return -1;
	if (atomic_load(&quit))
		return fail("interrupted");
	if (m.stalled)
		return fail("forwarding stalled: no frame received for %llu ms after %" PRIu64 " receptions "
			    "(all circulating frames lost?)", FWD_STALL_NS / MS_NS, m.last_total);
	return report_fwd(b, &m);
}

/* ---- intr ------------------------------------------------------------------------------------- */

/* One l3fwd-power style sleep: arm the queue interrupt, wait, disarm. 1 interrupt, 0 timeout, -1 error. */
static int intr_sleep(void)
{
	struct rte_epoll_event ev;
	int n, rc = rte_eth_dev_rx_intr_enable(PORT_B, 0);

	if (rc < 0)
		return fail("rte_eth_dev_rx_intr_enable on port B: %s", rte_strerror(-rc));
	n = rte_epoll_wait(RTE_EPOLL_PER_THREAD, &ev, 1, INTR_WAIT_MS);
	rte_eth_dev_rx_intr_disable(PORT_B, 0);
	if (n < 0)
		return fail("rte_epoll_wait failed on port B's rx interrupt");
	return n > 0;
}

static void intr_count_rx(struct bench *b)
{
	struct rte_mbuf *pkts[BURST];
	uint16_t n;

	while ((n = b->be->rx(b, PORT_B, pkts, BURST)) > 0)
		add(&b->sh.port[PORT_B].rx, count_and_free(pkts, n));
}

static int intr_waiter(void *arg)
{
	struct bench *b = arg;
	int rc = rte_eth_dev_rx_intr_ctl_q(PORT_B, 0, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_ADD, NULL);

	if (rc < 0) {
		fail("rte_eth_dev_rx_intr_ctl_q on port B: %s (no rx interrupt vector?)", rte_strerror(-rc));
		atomic_store(&b->sh.failed, true);
		set_ready(b);
		return -1;
	}
	set_ready(b);
	while (!stopping(b) && rc >= 0) {
		intr_count_rx(b);
		rc = intr_sleep();
		if (rc >= 0 && !stopping(b))
			add(rc ? &b->sh.wake_intr : &b->sh.wake_timeout, 1);
	}
	rte_eth_dev_rx_intr_ctl_q(PORT_B, 0, RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_DEL, NULL);
	return rc < 0 ? -1 : 0;
}

/* Sends one frame from A and waits until B's waiter has seen it; returns the delay in us, or -1. */
static double intr_send_one(struct bench *b, uint32_t seq)
{
	uint64_t before = load(&b->sh.port[PORT_B].rx), t0, t;
	struct rte_mbuf *m;

	if (!make_frames(b, PORT_A, seq, &m, 1))
		return -1;
	t0 = now_ns();
	if (tx_all(b, PORT_A, &m, 1) != 1)
		return -1;
	do {
		t = now_ns();
		if (load(&b->sh.port[PORT_B].rx) > before)
			return (double)(t - t0) / (double)US_NS;
		rte_pause();
	} while (t - t0 < INTR_FRAME_TIMEOUT_NS && !atomic_load(&b->sh.failed) && !atomic_load(&quit));
	return -1;
}

static int report_intr(struct bench *b, double *delay, size_t n)
{
	uint64_t w = load(&b->sh.wake_intr), t = load(&b->sh.wake_timeout), got = load(&b->sh.port[PORT_B].rx);
	double p50 = 0;
	json_object *leaf;

	if (n) {
		qsort(delay, n, sizeof(*delay), cmp_double);
		p50 = percentile(delay, n, 500);
	}
	printf("dpdk %s rx interrupt on B: %" PRIu64 " frames sent, %" PRIu64 " received, %" PRIu64
	       " interrupt wake-ups, %" PRIu64 " timeout wake-ups (epoll timeout %d ms), send-to-seen p50 %.1f us\n",
	       b->driver, b->o.frames, got, w, t, INTR_WAIT_MS, p50);
	if (!b->o.json)
		return 0;
	leaf = json_object_new_object();
	json_object_object_add(leaf, "frames", json_object_new_uint64(b->o.frames));
	json_object_object_add(leaf, "interrupt_wakeups", json_object_new_uint64(w));
	json_object_object_add(leaf, "timeout_wakeups", json_object_new_uint64(t));
	json_object_object_add(leaf, "received", json_object_new_uint64(got));
	json_object_object_add(leaf, "epoll_timeout_ms", json_object_new_int(INTR_WAIT_MS));
	json_object_object_add(leaf, "delivery_p50_us", jdouble(p50));
	return write_json(b->o.json, "dpdk_interrupt", NULL, leaf);
}

static int run_intr(struct bench *b)
{
	double *delay = calloc(b->o.frames, sizeof(*delay));
	size_t n = 0;
	int rc = 0;

	if (!delay)
		return fail("out of memory for %" PRIu64 " delays", b->o.frames);
	if (launch_worker(b, intr_waiter))
		rc = -1;
	for (uint64_t i = 0; i < b->o.frames && !rc && !atomic_load(&quit); i++) {
		double us = intr_send_one(b, (uint32_t)i);

		if (us >= 0)
			delay[n++] = us;
		rc = atomic_load(&b->sh.failed) ? -1 : 0;
		spin_for(b->o.spacing_us * US_NS);
	}
	if (stop_worker(b))
		rc = -1;
	if (!rc && atomic_load(&quit))
		rc = fail("interrupted");
	if (!rc)
		rc = report_intr(b, delay, n);
	free(delay);
	return rc;
}

/* ---- main ------------------------------------------------------------------------------------- */

static int run(struct bench *b)
{
	switch (b->o.mode) {
	case MODE_RTT:
		return run_rtt(b);
	case MODE_PPS:
		return run_pps(b);
	case MODE_FWD:
		return run_fwd(b);
	case MODE_INTR:
		return run_intr(b);
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct bench b = { .worker = 0 };
	int sep = find_separator(argc, argv), rc;

	if (sep < 0) {
		fail("no '--' between the EAL arguments and the mode");
		usage(stderr);
		return 2;
	}
	if (parse_opts(argc - sep - 1, argv + sep + 1, &b.o))
		return 2;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rte_set_application_usage_hook(eal_usage_hook);
	if (rte_eal_init(argc, argv) < 0) {
		fail("rte_eal_init failed%s%s (see the EAL lines above: hugepages reserved and mounted, a writable "
		     "/var/run for root, valid EAL arguments)", rte_errno ? ": " : "",
		     rte_errno ? rte_strerror(rte_errno) : "");
		return 1;
	}
	rc = setup(&b) ? -1 : run(&b);
	rte_eal_mp_wait_lcore();
	teardown(&b);
	rte_eal_cleanup();
	free(b.o.upci[0]);
	free(b.o.upci[1]);
	return rc ? 1 : 0;
}
