/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kernel_rtt — the "Linux kernel driver" baseline of the upci latency benchmark: the round-trip time of one
 * small frame between the two 82574L ports, both driven by the kernel's e1000e driver.
 *
 *   kernel_rtt [--a BDF] [--b BDF] [--trials N] [--warmup N] [--spacing-us U] [--json FILE]
 *
 * What it measures. Port A sends a 64-byte frame (60 bytes handed to the kernel; the NIC appends the
 * 4-byte FCS) of the local experimental EtherType 0x88B5, carrying a sequence number, to port B. A
 * reflector thread on B swaps the MAC addresses and sends the frame back. The main thread takes
 * CLOCK_MONOTONIC just before send() and just after its blocking recv() returns the frame with that
 * sequence number: one sample. One frame is in flight at a time and trials are --spacing-us apart, so each
 * frame meets idle rings and the driver's default interrupt moderation, as a request/response exchange
 * would. Warmup trials are discarded; a frame not back within 1 s is counted lost; frames carry a per-run
 * id so that a late frame of an earlier run is never taken for an answer.
 *
 * Why it is the baseline. Each sample crosses the path an ordinary application gets from the kernel, twice
 * (on B, then on A): the NIC raises its MSI-X interrupt, e1000e's handler schedules NAPI, the NET_RX
 * softirq polls the rx ring and hands the skb to AF_PACKET, which wakes the thread sleeping in recv(); the
 * answer goes out through AF_PACKET, the qdisc and e1000e's tx ring. AF_PACKET is the thinnest socket the
 * kernel offers for raw frames (no IP, no UDP), and blocking recv() is how a thread waits for it without
 * burning a CPU. upci's driver replaces exactly this path — its own rings, MSI-X vectors as eventfds — so
 * the same frame through the same hub, measured here, is what its figures are compared with.
 *
 * The NICs must be on the kernel's e1000e driver (in the test VM: vmrun --keep-kernel-driver). Both
 * interfaces are brought up if they are down, and left up. Needs CAP_NET_RAW and CAP_NET_ADMIN.
 *
 * Exit status: 0 when at least 90% of the measured trials came back; 1 when fewer did or on a system
 * error; 2 on bad input (malformed option, absent device, device without a network interface).
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
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
#include <net/ethernet.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "bench_common.h"

#define PROG "kernel_rtt"
#define BENCH_ETHERTYPE 0x88B5		/* IEEE 802 local experimental EtherType 1 */
#define FRAME_LEN 60			/* + 4-byte FCS added by the NIC = 64 bytes on the wire */
#define RX_BUF_LEN 2048
#define FRAME_MAGIC 0x75706369u		/* "upci" */
#define RECV_TIMEOUT_NS 1000000000LL	/* SO_RCVTIMEO, and the bound on one trial's wait */
#define CARRIER_WAIT_MS 5000

/* Frame layout after the Ethernet header. */
#define OFF_MAGIC 14
#define OFF_KIND 18
#define OFF_SEQ 20
#define OFF_RUN 28	/* a per-run id: frames of an earlier run still in flight are not ours */

enum frame_kind { KIND_ECHO = 1, KIND_STOP = 2 };

struct opts {
	const char *bdf[2];
	struct bench_run_opts run;
};

struct port {
	char bdf[16];
	char ifname[IF_NAMESIZE];
	int ifindex;
	uint8_t mac[ETH_ALEN];
	int fd;
};

struct reflector {
	struct port *port;
	uint64_t run;
	atomic_bool stop;
	atomic_int failed;	/* set (and reported) when the reflector gave up */
	pthread_t thread;
};

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [--a BDF] [--b BDF] [--trials N] [--warmup N] [--spacing-us U] [--json FILE]\n"
		   "  defaults: --a 0000:00:02.0 --b 0000:00:03.0 --trials 2000 --warmup 100 --spacing-us 200\n");
}

/* A full PCI address, DDDD:BB:DD.F in hex, as sysfs names it. */
static bool bdf_valid(const char *s)
{
	static const char pattern[] = "hhhh:hh:hh.h";

	if (strlen(s) != sizeof(pattern) - 1)
		return false;
	for (size_t i = 0; pattern[i]; i++) {
		bool hex = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');

		if (pattern[i] == 'h' ? !hex : s[i] != pattern[i])
			return false;
	}
	return true;
}

static int parse_bdf(const char *opt, const char *s, const char **out)
{
	if (!bdf_valid(s)) {
		fprintf(stderr, PROG ": --%s takes a PCI address like 0000:00:02.0 (lower-case hex), not '%s'\n",
			opt, s);
		return EXIT_BAD_INPUT;
	}
	*out = s;
	return 0;
}

static int parse_option(int c, const char *arg, const char *word, void *opts)
{
	struct opts *o = opts;

	switch (c) {
	case 'a':
		return parse_bdf("a", arg, &o->bdf[0]);
	case 'b':
		return parse_bdf("b", arg, &o->bdf[1]);
	default:
		return bench_parse_run_option(PROG, c, arg, word, &o->run);
	}
}

/* Return: 0 to run, -1 after --help, or an exit status. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "a", required_argument, NULL, 'a' },
		{ "b", required_argument, NULL, 'b' },
		BENCH_LONGOPTS_TRIALS,
		BENCH_LONGOPTS_END,
	};
	int status;

	*o = (struct opts){ { "0000:00:02.0", "0000:00:03.0" }, BENCH_RUN_OPTS_DEFAULT };
	status = bench_getopt(argc, argv, longopts, usage, parse_option, o);
	if (status)
		return status;
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n", argv[optind]);
		return EXIT_BAD_INPUT;
	}
	if (!strcmp(o->bdf[0], o->bdf[1])) {
		fprintf(stderr, PROG ": --a and --b are the same device %s\n", o->bdf[0]);
		return EXIT_BAD_INPUT;
	}
	return 0;
}

/* ---- interfaces ---- */

static int sys_fail(const char *what, const struct port *p)
{
	fprintf(stderr, PROG ": %s on %s (%s): %s\n", what, p->ifname[0] ? p->ifname : "?", p->bdf,
		strerror(errno));
	return EXIT_FAILURE;
}

/* The network interface the kernel created for the device: the entry of /sys/bus/pci/devices/BDF/net/. */
static int find_ifname(struct port *p)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", p->bdf);
	if (access(path, F_OK)) {
		fprintf(stderr, PROG ": %s: no such PCI device (see /sys/bus/pci/devices)\n", p->bdf);
		return EXIT_BAD_INPUT;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/net", p->bdf);
	if (!bench_first_entry(path, p->ifname, sizeof(p->ifname))) {
		fprintf(stderr, PROG ": %s has no network interface: is it bound to the kernel's e1000e driver "
				"(vmrun --keep-kernel-driver)?\n", p->bdf);
		return EXIT_BAD_INPUT;
	}
	return 0;
}

static int port_ioctl(const struct port *p, unsigned long req, struct ifreq *ifr, const char *what)
{
	memset(ifr->ifr_name, 0, sizeof(ifr->ifr_name));
	memcpy(ifr->ifr_name, p->ifname, strlen(p->ifname));
	if (ioctl(p->fd, req, ifr) < 0)
		return sys_fail(what, p);
	return 0;
}

static int link_up(const struct port *p)
{
	struct ifreq ifr = { 0 };

	if (port_ioctl(p, SIOCGIFFLAGS, &ifr, "SIOCGIFFLAGS"))
		return EXIT_FAILURE;
	if (ifr.ifr_flags & IFF_UP)
		return 0;
	ifr.ifr_flags |= IFF_UP;
	return port_ioctl(p, SIOCSIFFLAGS, &ifr, "SIOCSIFFLAGS (IFF_UP)");
}

static int read_identity(struct port *p)
{
	struct ifreq ifr = { 0 };

	if (port_ioctl(p, SIOCGIFINDEX, &ifr, "SIOCGIFINDEX"))
		return EXIT_FAILURE;
	p->ifindex = ifr.ifr_ifindex;
	if (port_ioctl(p, SIOCGIFHWADDR, &ifr, "SIOCGIFHWADDR"))
		return EXIT_FAILURE;
	memcpy(p->mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	return 0;
}

/* An AF_PACKET socket that sees only our EtherType on this interface; recv() waits at most 1 s. */
static int bind_socket(const struct port *p)
{
	struct timeval tv = { .tv_sec = RECV_TIMEOUT_NS / 1000000000LL };
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(BENCH_ETHERTYPE),
		.sll_ifindex = p->ifindex,
	};

	if (setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return sys_fail("setsockopt(SO_RCVTIMEO)", p);
	if (bind(p->fd, (struct sockaddr *)&sll, sizeof(sll)))
		return sys_fail("bind(AF_PACKET)", p);
	return 0;
}

static int port_open(struct port *p)
{
	int status = find_ifname(p);

	if (status)
		return status;
	p->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(BENCH_ETHERTYPE));
	if (p->fd < 0)
		return sys_fail("socket(AF_PACKET, SOCK_RAW)", p);
	if (read_identity(p) || link_up(p) || bind_socket(p))
		return EXIT_FAILURE;
	return 0;
}

/* 1 when /sys/class/net/IF/carrier reads 1; 0 otherwise (it cannot be read while the link is down). */
static int carrier(const struct port *p)
{
	char path[64], c = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/carrier", p->ifname);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fread(&c, 1, 1, f) != 1)
		c = 0;
	fclose(f);
	return c == '1';
}

static int wait_carrier(const struct port ports[2])
{
	for (int waited = 0;; waited += 10) {
		int up_a = carrier(&ports[0]), up_b = carrier(&ports[1]);

		if (up_a && up_b)
			return 0;
		if (waited >= CARRIER_WAIT_MS) {
			const struct port *p = up_a ? &ports[1] : &ports[0];

			fprintf(stderr, PROG ": no carrier on %s (%s) after %d ms\n", p->ifname, p->bdf, CARRIER_WAIT_MS);
			return EXIT_FAILURE;
		}
		bench_sleep_ns(10 * 1000000LL);
	}
}

static void ports_close(struct port ports[2])
{
	for (int i = 0; i < 2; i++)
		if (ports[i].fd >= 0)
			close(ports[i].fd);
}

/* ---- frames ---- */

static void frame_build(uint8_t *f, const uint8_t *dst, const uint8_t *src, enum frame_kind kind, uint64_t run,
			uint64_t seq)
{
	uint16_t type = htons(BENCH_ETHERTYPE);
	uint32_t magic = htobe32(FRAME_MAGIC);
	uint64_t seq_be = htobe64(seq), run_be = htobe64(run);

	memset(f, 0, FRAME_LEN);
	memcpy(f, dst, ETH_ALEN);
	memcpy(f + ETH_ALEN, src, ETH_ALEN);
	memcpy(f + 2 * ETH_ALEN, &type, sizeof(type));
	memcpy(f + OFF_MAGIC, &magic, sizeof(magic));
	f[OFF_KIND] = (uint8_t)kind;
	memcpy(f + OFF_SEQ, &seq_be, sizeof(seq_be));
	memcpy(f + OFF_RUN, &run_be, sizeof(run_be));
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

/* A frame of this run addressed to @dst: return its kind (0 when it is not one). */
static int frame_classify(const uint8_t *f, ssize_t len, const uint8_t *dst, uint64_t run)
{
	uint32_t magic;

	if (len < FRAME_LEN || memcmp(f, dst, ETH_ALEN))
		return 0;
	memcpy(&magic, f + OFF_MAGIC, sizeof(magic));
	if (be32toh(magic) != FRAME_MAGIC || get_be64(f + OFF_RUN) != run)
		return 0;
	return f[OFF_KIND];
}

static int send_frame(const struct port *p, const uint8_t *f, size_t len)
{
	if (send(p->fd, f, len, 0) != (ssize_t)len)
		return sys_fail("send", p);
	return 0;
}

/* ---- the reflector on B ---- */

/* Block in recv(); send every echo frame back with the MAC addresses swapped, until a stop frame or the stop
 * flag (checked at each 1 s receive timeout, in case the stop frame is lost). */
static void *reflect(void *arg)
{
	struct reflector *r = arg;
	const struct port *p = r->port;
	uint8_t f[RX_BUF_LEN], mac[ETH_ALEN];

	for (;;) {
		ssize_t n = recv(p->fd, f, sizeof(f), 0);
		int kind;

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			if (atomic_load(&r->stop))
				return NULL;
			continue;
		}
		if (n < 0) {
			sys_fail("recv (reflector)", p);
			break;
		}
		kind = frame_classify(f, n, p->mac, r->run);
		if (kind == KIND_STOP)
			return NULL;
		if (kind != KIND_ECHO)
			continue;
		memcpy(mac, f, ETH_ALEN);
		memcpy(f, f + ETH_ALEN, ETH_ALEN);
		memcpy(f + ETH_ALEN, mac, ETH_ALEN);
		if (send_frame(p, f, (size_t)n))
			break;
	}
	atomic_store(&r->failed, 1); /* reported above; the main thread stops at its next trial */
	return NULL;
}

static int reflector_start(struct reflector *r, struct port *b, uint64_t run)
{
	int err;

	r->port = b;
	r->run = run;
	atomic_init(&r->stop, false);
	atomic_init(&r->failed, 0);
	err = pthread_create(&r->thread, NULL, reflect, r);
	if (err) {
		errno = err;
		return sys_fail("pthread_create (reflector)", b);
	}
	return 0;
}

/* Raise the flag, send a stop frame from A, and join: within 1 s even if the stop frame is lost. */
static void reflector_stop(struct reflector *r, const struct port *a)
{
	uint8_t f[FRAME_LEN];

	atomic_store(&r->stop, true);
	frame_build(f, r->port->mac, a->mac, KIND_STOP, r->run, 0);
	send_frame(a, f, sizeof(f));
	pthread_join(r->thread, NULL);
}

/* ---- the measurement on A ---- */

static int64_t elapsed_ns(const struct timespec *t0, const struct timespec *t1)
{
	return (int64_t)(t1->tv_sec - t0->tv_sec) * 1000000000LL + (t1->tv_nsec - t0->tv_nsec);
}

/* One round trip. Return: the RTT in ns, TRIAL_LOST, or TRIAL_ERROR (reported). */
static int64_t round_trip(const struct port *a, const struct port *b, uint64_t run, uint64_t seq)
{
	uint8_t tx[FRAME_LEN], rx[RX_BUF_LEN];
	struct timespec t0, t1;

	frame_build(tx, b->mac, a->mac, KIND_ECHO, run, seq);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (send_frame(a, tx, sizeof(tx)))
		return TRIAL_ERROR;
	for (;;) {
		ssize_t n = recv(a->fd, rx, sizeof(rx), 0);

		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return TRIAL_LOST;
		if (n < 0 && errno != EINTR) {
			sys_fail("recv", a);
			return TRIAL_ERROR;
		}
		if (frame_classify(rx, n, a->mac, run) == KIND_ECHO && get_be64(rx + OFF_SEQ) == seq)
			return elapsed_ns(&t0, &t1);
		if (elapsed_ns(&t0, &t1) >= RECV_TIMEOUT_NS) /* only stale or foreign frames came */
			return TRIAL_LOST;
	}
}

/* What one trial needs: the two ports and the run id. */
struct trial_ctx {
	const struct port *ports;
	uint64_t run;
};

static int64_t trial_round_trip(void *ctx, uint64_t seq)
{
	const struct trial_ctx *t = ctx;

	return round_trip(&t->ports[0], &t->ports[1], t->run, seq);
}

/* Warmup then measured trials; each measured RTT (or TRIAL_LOST) goes to res->ns in trial order. */
static int run_trials(const struct opts *o, const struct port ports[2], const struct reflector *r,
		      struct bench_rtt *res)
{
	struct trial_ctx ctx = { ports, r->run };
	char lost_what[160];
	struct bench_trials t = { PROG, &o->run, trial_round_trip, &ctx, &r->failed, lost_what };

	snprintf(lost_what, sizeof(lost_what), "frames in a row did not come back from %s to %s", ports[1].ifname,
		 ports[0].ifname);
	return bench_run_trials(&t, res);
}

/* Unique per run on this machine: the start time, with the pid for runs started in the same instant. */
static uint64_t run_id(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((uint64_t)getpid() << 40) ^ ((uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec);
}

static int measure(const struct opts *o, struct port ports[2], struct bench_rtt *res)
{
	struct reflector r;
	int status;

	if (bench_rtt_alloc(PROG, res, o->run.trials))
		return EXIT_FAILURE;
	if (reflector_start(&r, &ports[1], run_id()))
		return EXIT_FAILURE;
	status = run_trials(o, ports, &r, res);
	reflector_stop(&r, &ports[0]);
	return status;
}

/* ---- output ---- */

static void print_line(const struct port ports[2], const struct bench_rtt *res)
{
	printf("kernel e1000e %s<->%s: trials %lu lost %lu", ports[0].ifname, ports[1].ifname, res->trials,
	       res->lost);
	if (res->returned)
		bench_print_rtt_us(res);
	else
		printf(": no frame came back");
	printf("\n");
}

static int write_json(const char *file, const struct bench_rtt *res)
{
	json_object *root = json_object_new_object(), *rtt = json_object_new_object();
	json_object *k = json_object_new_object();

	bench_json_add_stats(k, res);
	bench_json_add_samples(k, res);
	json_object_object_add(rtt, "kernel", k);
	json_object_object_add(root, "rtt", rtt);
	return bench_write_json(PROG, file, root);
}

static int report(const struct opts *o, const struct port ports[2], struct bench_rtt *res)
{
	if (bench_rtt_stats(PROG, res))
		return EXIT_FAILURE;
	print_line(ports, res);
	if (o->run.json && write_json(o->run.json, res))
		return EXIT_FAILURE;
	return (res->trials - res->lost) * 10 >= res->trials * 9 ? 0 : EXIT_FAILURE;
}

static int setup(const struct opts *o, struct port ports[2])
{
	for (int i = 0; i < 2; i++) {
		int status;

		snprintf(ports[i].bdf, sizeof(ports[i].bdf), "%s", o->bdf[i]);
		status = port_open(&ports[i]);
		if (status)
			return status;
	}
	return wait_carrier(ports);
}

int main(int argc, char **argv)
{
	struct port ports[2] = { { .fd = -1 }, { .fd = -1 } };
	struct bench_rtt res = { 0 };
	struct opts o;
	int status = parse_args(argc, argv, &o);

	if (status)
		return status < 0 ? 0 : status;
	status = setup(&o, ports);
	if (!status)
		status = measure(&o, ports, &res);
	if (!status)
		status = report(&o, ports, &res);
	ports_close(ports);
	free(res.ns);
	return status;
}
