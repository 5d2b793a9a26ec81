/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * l2fwd — forward every frame between two ports, zero-copy: a frame received on one port is transmitted
 * on the other from the very buffer it arrived in (both ports share the process's IOMMU context, so each
 * device can reach the other's pool), and the buffer goes back to its own pool once sent.
 *
 *   l2fwd [--mode poll|interrupt|hybrid] [--seconds N] [--frames N] [--quiet] [--progress] [--json] [PORT_A PORT_B]
 *
 * With no ports it takes the first two addresses of the PCIDEVICE_* variables ("#0" and "#1"). One thread
 * per direction; a progress line per second when stdout is a terminal or with --progress (not with --quiet
 * or --json);
 * --frames N stops after N frames forwarded in total. A removed device (unbind) ends the run with one line
 * and exit status 0. --json: the summary as one JSON object on stdout, nothing else. Bad usage: one line,
 * exit 2.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <upci/port.h>
#include <upci/version.h>

enum { BURST = 32 };

struct direction {
	struct upci_port *rx, *tx;
	_Atomic uint64_t frames, bytes, dropped, same_buffer;
	int rc;
};

static atomic_bool stop;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop, true);
}

/* Send what rx gave us, from the same buffers; whatever tx could not take goes back to its pool. */
static void *forward(void *arg)
{
	struct direction *d = arg;
	struct upci_pktpool *rx_pool = upci_port_pool(d->rx, 0);

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		struct upci_pkt pkts[BURST];
		int n = upci_port_rx(d->rx, 0, pkts, BURST), sent;
		uint64_t bytes = 0, same = 0;

		if (n <= 0) {
			d->rc = n;
			if (n < 0)
				break;
			continue;
		}
		for (int i = 0; i < n; i++) {
			bytes += pkts[i].len;
			same += pkts[i].pool == rx_pool; /* the buffer the device wrote is the one we send */
		}
		sent = upci_port_tx_burst(d->tx, 0, pkts, (unsigned)n);
		if (sent < 0) {
			d->rc = sent;
			upci_pkt_free(pkts, (unsigned)n);
			break;
		}
		upci_pkt_free(pkts, (unsigned)n); /* frees only the frames the ring did not take */
		atomic_fetch_add(&d->frames, (uint64_t)sent);
		atomic_fetch_add(&d->bytes, bytes);
		atomic_fetch_add(&d->same_buffer, same);
		atomic_fetch_add(&d->dropped, (uint64_t)(n - sent));
	}
	atomic_store(&stop, true); /* one side gone: stop the other too */
	return NULL;
}

#define USAGE "usage: l2fwd [--mode poll|interrupt|hybrid] [--seconds N] [--frames N] [--quiet] [--progress] [--json] " \
		"[PORT_A PORT_B]"

static int bad_usage(const char *arg)
{
	fprintf(stderr, "l2fwd: bad argument '%s': " USAGE " (l2fwd --help)\n", arg);
	return 2;
}

/* A whole number in ARG, or -1. */
static int number(const char *arg, uint64_t *v)
{
	char *end;

	*v = strtoull(arg, &end, 0);
	return *arg && !*end && *arg != '-' ? 0 : -1;
}

static int open_port(const char *spec, enum upci_port_mode mode, struct upci_port **p)
{
	struct upci_port_cfg cfg = { .rx_queues = 1, .tx_queues = 1, .mode = mode, .promiscuous = true };
	int rc = upci_port_open(spec, &cfg, p);

	return rc ? rc : upci_port_start(*p);
}

static uint64_t total(struct direction *d)
{
	return atomic_load(&d[0].frames) + atomic_load(&d[1].frames);
}

static void print_json(struct upci_port *port[2], struct direction d[2])
{
	printf("{");
	for (int i = 0; i < 2; i++)
		printf("%s\"%s\": {\"from\": \"%s\", \"to\": \"%s\", \"frames\": %" PRIu64 ", \"bytes\": %" PRIu64
		       ", \"from_rx_buffer\": %" PRIu64 ", \"dropped\": %" PRIu64 ", \"removed\": %s}", i ? ", " : "",
		       i ? "b_to_a" : "a_to_b", upci_port_name(port[i]), upci_port_name(port[1 - i]), d[i].frames,
		       d[i].bytes, d[i].same_buffer, d[i].dropped, d[i].rc == -ENODEV ? "true" : "false");
	printf(", \"copies\": 0, \"stats\": [");
	for (int i = 0; i < 2; i++) {
		struct upci_port_stats st;

		(void)upci_port_stats(port[i], &st);
		printf("%s{\"port\": \"%s\", \"rx_packets\": %" PRIu64 ", \"tx_packets\": %" PRIu64 ", \"rx_missed\": %"
		       PRIu64 ", \"rx_no_descriptor\": %" PRIu64 ", \"rx_errors\": %" PRIu64 ", \"drv_rx_dropped\": %" PRIu64
		       ", \"drv_tx_refused\": %" PRIu64 ", \"dma_stalls\": %" PRIu64 "}", i ? ", " : "",
		       upci_port_name(port[i]), st.rx_packets, st.tx_packets, st.rx_missed, st.rx_no_descriptor,
		       st.rx_errors, st.drv_rx_dropped, st.drv_tx_refused, st.dma_stalls);
	}
	printf("]}\n");
}

int main(int argc, char **argv)
{
	enum upci_port_mode mode = UPCI_PORT_HYBRID;
	const char *spec[2] = { "#0", "#1" };
	unsigned seconds = 0, n_spec = 0;
	uint64_t max_frames = 0;
	struct direction d[2] = { 0 };
	struct upci_port *port[2] = { NULL, NULL };
	pthread_t th[2];
	bool quiet = false, json = false, progress = false;
	time_t t0;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		uint64_t v;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf(USAGE "\n  PORT: 0000:00:02.0, 8086:10d3[#n], or #n (the n-th PCIDEVICE_* address); default #0 #1\n");
			return 0;
		} else if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			printf("l2fwd (upci) %s\n", UPCI_VERSION_STRING);
			return 0;
		} else if (!strcmp(argv[i], "--mode") && i + 1 < argc && !upci_port_mode_parse(argv[i + 1], &mode)) {
			i++;
		} else if (!strcmp(argv[i], "--seconds") && i + 1 < argc && !number(argv[i + 1], &v)) {
			seconds = (unsigned)v, i++;
		} else if (!strcmp(argv[i], "--frames") && i + 1 < argc && !number(argv[i + 1], &v)) {
			max_frames = v, i++;
		} else if (!strcmp(argv[i], "--quiet")) {
			quiet = true;
		} else if (!strcmp(argv[i], "--progress")) {
			progress = true; /* the per-second line even when stdout is not a terminal (a script watching) */
		} else if (!strcmp(argv[i], "--json")) {
			json = quiet = true;
		} else if (argv[i][0] != '-' && n_spec < 2) {
			spec[n_spec++] = argv[i];
		} else {
			return bad_usage(argv[i]);
		}
	}
	if (n_spec == 1)
		return bad_usage(spec[0]);
	quiet = quiet || (!progress && !isatty(STDOUT_FILENO)); /* progress is for whoever watches */
	if (open_port(spec[0], mode, &port[0]) || open_port(spec[1], mode, &port[1])) {
		upci_port_close(port[0]);
		upci_port_close(port[1]);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (!json) {
		printf("l2fwd: %s <-> %s, %s mode, zero-copy\n", upci_port_name(port[0]), upci_port_name(port[1]),
		       upci_port_mode_name(mode));
		fflush(stdout);
	}
	for (int i = 0; i < 2; i++) {
		d[i].rx = port[i];
		d[i].tx = port[1 - i];
		pthread_create(&th[i], NULL, forward, &d[i]);
	}
	t0 = time(NULL);
	for (time_t next = t0 + 1; !atomic_load(&stop);) {
		usleep(10000);
		if ((seconds && time(NULL) - t0 >= seconds) || (max_frames && total(d) >= max_frames))
			atomic_store(&stop, true);
		if (!quiet && time(NULL) >= next) {
			next++;
			printf("l2fwd: %" PRIu64 " frames a->b, %" PRIu64 " b->a\n", atomic_load(&d[0].frames),
			       atomic_load(&d[1].frames));
			fflush(stdout);
		}
	}
	/* Wake sleepers: a thread asleep on an idle queue returns within the port's wait timeout (100 ms). */
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 2; i++) {
		if (d[i].rc == -ENODEV && !json) {
			printf("l2fwd: %s was removed (unbound from vfio-pci); stopping\n", upci_port_name(d[i].rx));
		} else if (d[i].rc < 0 && d[i].rc != -ENODEV) {
			fprintf(stderr, "l2fwd: %s: %s\n", upci_port_name(d[i].rx), strerror(-d[i].rc));
			rc = 1;
		}
	}
	if (json) {
		print_json(port, d);
	} else {
		printf("l2fwd: done: a->b %" PRIu64 " frames (%" PRIu64 " bytes, %" PRIu64 " from the rx buffer, %" PRIu64
		       " dropped), b->a %" PRIu64 " frames (%" PRIu64 " from the rx buffer, %" PRIu64 " dropped); copies 0\n",
		       d[0].frames, d[0].bytes, d[0].same_buffer, d[0].dropped, d[1].frames, d[1].same_buffer,
		       d[1].dropped);
		for (int i = 0; i < 2; i++) {
			struct upci_port_stats st;

			(void)upci_port_stats(port[i], &st); /* after a removal: what was counted before it */
			printf("l2fwd: stats %s: rx %" PRIu64 " tx %" PRIu64 " frames, rx missed %" PRIu64 " no-descriptor %" PRIu64
			       " errors %" PRIu64 ", driver dropped %" PRIu64 " refused %" PRIu64 ", dma stalls %" PRIu64 "\n",
			       upci_port_name(port[i]), st.rx_packets, st.tx_packets, st.rx_missed, st.rx_no_descriptor,
			       st.rx_errors, st.drv_rx_dropped, st.drv_tx_refused, st.dma_stalls);
		}
	}
	upci_port_close(port[0]);
	upci_port_close(port[1]);
	return rc;
}
