/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * echo — a responder: every frame received is sent back out of the same port with its MAC addresses
 * swapped, from the buffer it arrived in (no copy).
 *
 *   echo [--mode poll|interrupt|hybrid] [--seconds N] [--json] [PORT]
 *
 * With no port it takes the first PCIDEVICE_* address. A removed device ends the run with one line and
 * exit status 0. --json: the summary as one JSON object on stdout, nothing else. Bad usage: one line, exit 2.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <upci/port.h>
#include <upci/version.h>

#define USAGE "usage: echo [--mode poll|interrupt|hybrid] [--seconds N] [--json] [PORT]"

static atomic_bool stop;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop, true);
}

static void swap_macs(uint8_t *f)
{
	uint8_t t[6];

	memcpy(t, f, 6);
	memcpy(f, f + 6, 6);
	memcpy(f + 6, t, 6);
}

int main(int argc, char **argv)
{
	struct upci_port_cfg cfg = { .rx_queues = 1, .tx_queues = 1, .mode = UPCI_PORT_HYBRID };
	const char *spec = NULL;
	unsigned seconds = 0;
	uint64_t echoed = 0, dropped = 0;
	struct upci_port *port;
	time_t t0;
	bool json = false;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		char *end = NULL;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf(USAGE "\n  PORT: 0000:00:02.0, 8086:10d3[#n], or #n (the n-th PCIDEVICE_* address); default: the first\n");
			return 0;
		} else if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			printf("echo (upci) %s\n", UPCI_VERSION_STRING);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--mode") && i + 1 < argc && !upci_port_mode_parse(argv[i + 1], &cfg.mode)) {
			i++;
		} else if (!strcmp(argv[i], "--seconds") && i + 1 < argc &&
			   (seconds = (unsigned)strtoul(argv[i + 1], &end, 0), *argv[i + 1] && !*end)) {
			i++;
		} else if (argv[i][0] != '-' && !spec) {
			spec = argv[i];
		} else {
			fprintf(stderr, "echo: bad argument '%s': " USAGE " (echo --help)\n", argv[i]);
			return 2;
		}
	}
	if (upci_port_open(spec, &cfg, &port))
		return 1;
	if (upci_port_start(port)) {
		upci_port_close(port);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (!json) {
		printf("echo: %s, %s mode\n", upci_port_name(port), upci_port_mode_name(cfg.mode));
		fflush(stdout);
	}
	t0 = time(NULL);
	while (!atomic_load(&stop) && (!seconds || time(NULL) - t0 < (time_t)seconds)) {
		struct upci_pkt pkts[32];
		int n = upci_port_rx(port, 0, pkts, 32), sent;

		if (n <= 0) {
			rc = n;
			if (n < 0)
				break;
			continue;
		}
		for (int i = 0; i < n; i++)
			if (pkts[i].len >= 14)
				swap_macs(pkts[i].buf);
		sent = upci_port_tx_burst(port, 0, pkts, (unsigned)n);
		upci_pkt_free(pkts, (unsigned)n);
		if (sent < 0) {
			rc = sent;
			break;
		}
		echoed += (uint64_t)sent;
		dropped += (uint64_t)(n - sent);
	}
	if (json)
		printf("{\"port\": \"%s\", \"mode\": \"%s\", \"echoed\": %" PRIu64 ", \"dropped\": %" PRIu64
		       ", \"removed\": %s}\n", upci_port_name(port), upci_port_mode_name(cfg.mode), echoed, dropped,
		       rc == -ENODEV ? "true" : "false");
	else if (rc == -ENODEV)
		printf("echo: %s was removed (unbound from vfio-pci); stopping\n", upci_port_name(port));
	if (!json)
		printf("echo: done: %" PRIu64 " frames sent back, %" PRIu64 " dropped\n", echoed, dropped);
	upci_port_close(port);
	return rc < 0 && rc != -ENODEV ? 1 : 0;
}
