/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rx_hybrid — receive on a port with the built-in poll/interrupt hybrid and print a line per second.
 *
 *   rx_hybrid [DEVICE [SECONDS]]
 *
 * One thread serves rx queue 0: upci_port_rx() polls while frames arrive and sleeps on the queue's MSI-X
 * vector when the queue is idle, so an idle receiver costs (almost) no CPU. If an administrator unbinds
 * the device meanwhile, the port releases it at once and the program says so and exits 0.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <upci/port.h>

int main(int argc, char **argv)
{
	struct upci_port_cfg cfg = { .rx_queues = 1, .tx_queues = 1, .mode = UPCI_PORT_HYBRID };
	int seconds = argc > 2 ? atoi(argv[2]) : 10;
	uint64_t frames = 0, bytes = 0;
	struct upci_port *port;
	time_t end, next;
	int rc = 0;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: rx_hybrid [DEVICE [SECONDS]]\n  DEVICE: BDF, vendor:device[#n], or none for PCIDEVICE_*\n");
		return 0;
	}
	if (upci_port_open(argc > 1 ? argv[1] : NULL, &cfg, &port) || upci_port_start(port))
		return 1;
	end = time(NULL) + seconds;
	next = time(NULL) + 1;
	while (time(NULL) < end) {
		struct upci_pkt pkts[32];
		const struct upci_hybrid_stats *h = upci_port_hybrid_stats(port, 0);

		rc = upci_port_rx(port, 0, pkts, 32);
		if (rc < 0)
			break;
		for (int i = 0; i < rc; i++)
			bytes += pkts[i].len; /* a real application processes the frame here */
		frames += (unsigned)rc;
		upci_pkt_free(pkts, (unsigned)rc);
		if (time(NULL) >= next) {
			next++;
			printf("%" PRIu64 " frames, %" PRIu64 " bytes; polls %" PRIu64 ", sleeps %" PRIu64 ", wakeups %" PRIu64
			       ", asleep %.1f s\n", frames, bytes, h->polls, h->sleeps, h->wakeups, (double)h->ns_asleep / 1e9);
			fflush(stdout);
		}
	}
	if (rc == -ENODEV)
		printf("%s was removed: %" PRIu64 " frames received; exiting\n", upci_port_name(port), frames);
	upci_port_close(port);
	return rc < 0 && rc != -ENODEV ? 1 : 0;
}
