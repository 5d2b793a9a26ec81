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
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
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

enum { EXIT_BAD_INPUT = 2 };

#define PROG "kernel_rtt"
#define BENCH_ETHERTYPE 0x88B5		/* IEEE 802 local experimental EtherType 1 */
#define FRAME_LEN 60			/* + 4-byte FCS added by the NIC = 64 bytes on the wire */
#define RX_BUF_LEN 2048
#define FRAME_MAGIC 0x75706369u		/* "upci" */
#define RECV_TIMEOUT_NS 1000000000LL	/* SO_RCVTIMEO, and the bound on one trial's wait */
#define CARRIER_WAIT_MS 5000
#define MAX_LOST_IN_A_ROW 10		/* the link is dead: stop rather than wait 1 s per trial */
#define MAX_COUNT 10000000UL

/* Frame layout after the Ethernet header. */
#define OFF_MAGIC 14
#define OFF_KIND 18
#define OFF_SEQ 20
#define OFF_RUN 28	/* a per-run id: frames of an earlier run still in flight are not ours */

enum frame_kind { KIND_ECHO = 1, KIND_STOP = 2 };
enum { TRIAL_LOST = -1, TRIAL_ERROR = -2 };

struct opts {
	const char *bdf[2];
	unsigned long trials, warmup, spacing_us;
	const char *json;
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

struct results {
	unsigned long trials, lost, returned;
	int64_t *ns;		/* per measured trial, in trial order; TRIAL_LOST when it did not come back */
	double p50, p90, p99, p999, max; /* microseconds, over the returned trials */
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

static int parse_count(const char *opt, const char *s, unsigned long min, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || *out < min || *out > MAX_COUNT) {
		fprintf(stderr, PROG ": --%s takes a whole number from %lu to %lu, not '%s'\n", opt, min, MAX_COUNT,
			s);
		return EXIT_BAD_INPUT;
	}
	return 0;
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

static int parse_option(int c, const char *arg, const char *word, struct opts *o)
{
	switch (c) {
	case 'a':
		return parse_bdf("a", arg, &o->bdf[0]);
	case 'b':
		return parse_bdf("b", arg, &o->bdf[1]);
	case 't':
		return parse_count("trials", arg, 1, &o->trials);
	case 'w':
		return parse_count("warmup", arg, 0, &o->warmup);
	case 's':
		return parse_count("spacing-us", arg, 0, &o->spacing_us);
	case 'j':
		o->json = arg;
		return 0;
	default:
		fprintf(stderr, PROG ": unknown option or missing argument: '%s' (see --help)\n", word);
		return EXIT_BAD_INPUT;
	}
}

/* Return: 0 to run, -1 after --help, or an exit status. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "a", required_argument, NULL, 'a' },
		{ "b", required_argument, NULL, 'b' },
		{ "trials", required_argument, NULL, 't' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "spacing-us", required_argument, NULL, 's' },
		{ "json", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct opts){ { "0000:00:02.0", "0000:00:03.0" }, 2000, 100, 200, NULL };
	opterr = 0;
	while ((c = getopt_long_only(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return -1;
		}
		int status = parse_option(c, optarg, argv[optind - 1], o);

		if (status)
			return status;
	}
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

/* The first entry of @dir that is not . or ..; false when there is none or @dir cannot be read. */
static bool first_entry(const char *dir, char *name, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *e = NULL;
	bool found;

	if (!d)
		return false;
	while ((e = readdir(d)) && e->d_name[0] == '.')
		;
	found = e && strlen(e->d_name) < size;
	if (found)
		memcpy(name, e->d_name, strlen(e->d_name) + 1);
	closedir(d);
	return found;
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
	if (!first_entry(path, p->ifname, sizeof(p->ifname))) {
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

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL };

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
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
		sleep_ns(10 * 1000000LL);
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

/* Warmup then measured trials; each measured RTT (or TRIAL_LOST) goes to res->ns in trial order. */
static int run_trials(const struct opts *o, const struct port ports[2], const struct reflector *r,
		      struct results *res)
{
	unsigned long total = o->warmup + o->trials, lost_in_a_row = 0;

	for (unsigned long i = 0; i < total; i++) {
		int64_t rtt = round_trip(&ports[0], &ports[1], r->run, i + 1);

		if (rtt == TRIAL_ERROR || atomic_load(&r->failed))
			return EXIT_FAILURE;
		lost_in_a_row = rtt == TRIAL_LOST ? lost_in_a_row + 1 : 0;
		if (lost_in_a_row == MAX_LOST_IN_A_ROW) {
			fprintf(stderr, PROG ": %d frames in a row did not come back from %s to %s: giving up\n",
				MAX_LOST_IN_A_ROW, ports[1].ifname, ports[0].ifname);
			return EXIT_FAILURE;
		}
		if (i >= o->warmup) {
			res->ns[i - o->warmup] = rtt;
			res->lost += rtt == TRIAL_LOST;
		}
		if (o->spacing_us)
			sleep_ns((int64_t)o->spacing_us * 1000);
	}
	return 0;
}

/* Unique per run on this machine: the start time, with the pid for runs started in the same instant. */
static uint64_t run_id(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((uint64_t)getpid() << 40) ^ ((uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec);
}

static int measure(const struct opts *o, struct port ports[2], struct results *res)
{
	struct reflector r;
	int status;

	res->trials = o->trials;
	res->ns = calloc(o->trials, sizeof(*res->ns));
	if (!res->ns) {
		fprintf(stderr, PROG ": out of memory for %lu samples\n", o->trials);
		return EXIT_FAILURE;
	}
	if (reflector_start(&r, &ports[1], run_id()))
		return EXIT_FAILURE;
	status = run_trials(o, ports, &r, res);
	reflector_stop(&r, &ports[0]);
	return status;
}

/* ---- statistics and output ---- */

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return (a > b) - (a < b);
}

/* Nearest-rank percentile of @n sorted samples, @permille in 1..1000, in microseconds. */
static double percentile_us(const int64_t *sorted, size_t n, unsigned permille)
{
	size_t rank = (permille * n + 999) / 1000;

	return (double)sorted[rank ? rank - 1 : 0] / 1000.0;
}

static int compute_stats(struct results *res)
{
	size_t n = 0;
	int64_t *sorted = malloc((res->trials ? res->trials : 1) * sizeof(*sorted));

	if (!sorted) {
		fprintf(stderr, PROG ": out of memory for %lu samples\n", res->trials);
		return EXIT_FAILURE;
	}
	for (unsigned long i = 0; i < res->trials; i++)
		if (res->ns[i] != TRIAL_LOST)
			sorted[n++] = res->ns[i];
	if (n) {
		qsort(sorted, n, sizeof(*sorted), cmp_i64);
		res->p50 = percentile_us(sorted, n, 500);
		res->p90 = percentile_us(sorted, n, 900);
		res->p99 = percentile_us(sorted, n, 990);
		res->p999 = percentile_us(sorted, n, 999);
		res->max = percentile_us(sorted, n, 1000);
	}
	res->returned = n;
	free(sorted);
	return 0;
}

static void print_line(const struct port ports[2], const struct results *res)
{
	if (!res->returned) {
		printf("kernel e1000e %s<->%s: trials %lu lost %lu: no frame came back\n", ports[0].ifname,
		       ports[1].ifname, res->trials, res->lost);
		return;
	}
	printf("kernel e1000e %s<->%s: trials %lu lost %lu rtt_us p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max %.1f\n",
	       ports[0].ifname, ports[1].ifname, res->trials, res->lost, res->p50, res->p90, res->p99, res->p999,
	       res->max);
}

/* A number in microseconds, serialized with nanosecond resolution (not json-c's 17 digits). */
static json_object *json_us(double us)
{
	char s[32];

	snprintf(s, sizeof(s), "%.3f", us);
	return json_object_new_double_s(us, s);
}

static json_object *json_results(const struct results *res)
{
	json_object *k = json_object_new_object(), *samples = json_object_new_array();
	bool any = res->returned > 0; /* no sample, no percentile: null */

	json_object_object_add(k, "p50_us", any ? json_us(res->p50) : NULL);
	json_object_object_add(k, "p90_us", any ? json_us(res->p90) : NULL);
	json_object_object_add(k, "p99_us", any ? json_us(res->p99) : NULL);
	json_object_object_add(k, "p999_us", any ? json_us(res->p999) : NULL);
	json_object_object_add(k, "max_us", any ? json_us(res->max) : NULL);
	json_object_object_add(k, "trials", json_object_new_int64((int64_t)res->trials));
	json_object_object_add(k, "lost", json_object_new_int64((int64_t)res->lost));
	for (unsigned long i = 0; i < res->trials; i++)
		if (res->ns[i] != TRIAL_LOST)
			json_object_array_add(samples, json_us((double)res->ns[i] / 1000.0));
	json_object_object_add(k, "samples_us", samples);
	return k;
}

static int write_json(const char *file, const struct results *res)
{
	json_object *root = json_object_new_object(), *rtt = json_object_new_object();
	FILE *f = fopen(file, "w");
	int status = 0;

	json_object_object_add(rtt, "kernel", json_results(res));
	json_object_object_add(root, "rtt", rtt);
	if (!f || fprintf(f, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_SPACED)) < 0 ||
	    fflush(f) || ferror(f)) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", file, strerror(errno));
		status = EXIT_FAILURE;
	}
	if (f && fclose(f) && !status) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", file, strerror(errno));
		status = EXIT_FAILURE;
	}
	json_object_put(root);
	return status;
}

static int report(const struct opts *o, const struct port ports[2], struct results *res)
{
	if (compute_stats(res))
		return EXIT_FAILURE;
	print_line(ports, res);
	if (o->json && write_json(o->json, res))
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
	struct results res = { 0 };
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
