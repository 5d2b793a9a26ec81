/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rx_hybrid — receive on a port with the built-in poll/interrupt hybrid and print a line per second.
 *
 *   rx_hybrid [--json] [DEVICE [SECONDS]]
 *
 * One thread serves rx queue 0: upci_port_rx() polls while frames arrive and sleeps on the queue's MSI-X
 * vector when the queue is idle, so an idle receiver costs (almost) no CPU. If an administrator unbinds
 * the device meanwhile, the port releases it at once and the program says so and exits 0. The line per
 * second is shown on a terminal; at the end one summary line (--json: one JSON object, nothing else).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <upci/port.h>
#include <upci/version.h>

#define USAGE "usage: rx_hybrid [--json] [DEVICE [SECONDS]]"

static void report(FILE *f, bool json, uint64_t frames, uint64_t bytes, const struct upci_hybrid_stats *h)
{
	if (json)
		fprintf(f, "\"frames\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"polls\": %" PRIu64 ", \"sleeps\": %" PRIu64
			", \"wakeups\": %" PRIu64 ", \"ns_asleep\": %" PRIu64, frames, bytes, h->polls, h->sleeps,
			h->wakeups, h->ns_asleep);
	else
		fprintf(f, "%" PRIu64 " frames, %" PRIu64 " bytes; polls %" PRIu64 ", sleeps %" PRIu64 ", wakeups %" PRIu64
			", asleep %.1f s\n", frames, bytes, h->polls, h->sleeps, h->wakeups, (double)h->ns_asleep / 1e9);
}

int main(int argc, char **argv)
{
	struct upci_port_cfg cfg = { .rx_queues = 1, .tx_queues = 1, .mode = UPCI_PORT_HYBRID };
	const char *spec = NULL, *secs = NULL;
	long seconds = 10;
	uint64_t frames = 0, bytes = 0;
	struct upci_port *port;
	bool json = false, tty = isatty(STDOUT_FILENO);
	time_t end, next;
	char *e;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf(USAGE "\n  DEVICE: BDF, vendor:device[#n], or none for PCIDEVICE_*; SECONDS: default 10\n");
			return 0;
		} else if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			printf("rx_hybrid (upci) %s\n", UPCI_VERSION_STRING);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (argv[i][0] != '-' && !spec) {
			spec = argv[i];
		} else if (argv[i][0] != '-' && !secs && (seconds = strtol(argv[i], &e, 10), !*e && seconds > 0)) {
			secs = argv[i];
		} else {
			fprintf(stderr, "rx_hybrid: bad argument '%s': " USAGE " (rx_hybrid --help)\n", argv[i]);
			return 2;
		}
	}
	if (upci_port_open(spec, &cfg, &port) || upci_port_start(port))
		return 1;
	if (!json) {
		printf("rx_hybrid: %s, hybrid mode, %ld s\n", upci_port_name(port), seconds);
		fflush(stdout);
	}
	end = time(NULL) + seconds;
	next = time(NULL) + 1;
	while (time(NULL) < end) {
		struct upci_pkt pkts[32];

		rc = upci_port_rx(port, 0, pkts, 32);
		if (rc < 0)
			break;
		for (int i = 0; i < rc; i++)
			bytes += pkts[i].len; /* a real application processes the frame here */
		frames += (unsigned)rc;
		upci_pkt_free(pkts, (unsigned)rc);
		if (time(NULL) >= next) {
			next++;
			if (tty && !json) {
				report(stdout, false, frames, bytes, upci_port_hybrid_stats(port, 0));
				fflush(stdout);
			}
		}
	}
	if (json) {
		printf("{\"port\": \"%s\", ", upci_port_name(port));
		report(stdout, true, frames, bytes, upci_port_hybrid_stats(port, 0));
		printf(", \"removed\": %s}\n", rc == -ENODEV ? "true" : "false");
	} else if (rc == -ENODEV) {
		printf("%s was removed: %" PRIu64 " frames received; exiting\n", upci_port_name(port), frames);
	} else {
		report(stdout, false, frames, bytes, upci_port_hybrid_stats(port, 0));
	}
	upci_port_close(port);
	return rc < 0 && rc != -ENODEV ? 1 : 0;
}
