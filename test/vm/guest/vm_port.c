/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest side of the port VM tests (vmrun --nics 4), through the port API. TAP on stdout.
 *
 * usage: vm_port feed SRC SINK FRAMES
 *   SRC sends FRAMES numbered frames (sizes 60..1514, a payload that follows from the number) addressed to
 *   SINK; a forwarder between the two hubs (examples/l2fwd on nic0/nic1) carries them from SRC's hub to
 *   SINK's. SINK checks every frame arrived exactly once, intact. At most 256 in flight.
 * usage: vm_port unbind BDF
 *   unbinds BDF from vfio-pci through sysfs while a process holds it, and prints how long the write took:
 *   the kernel completes an unbind only once every user released the device.
 * usage: vm_port rebind BDF
 *   binds BDF back to vfio-pci (its driver_override still names it).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest_tap.h"
#include "upci/port.h"

enum { SEQ_AT = 14, WINDOW = 256, BURST = 32 };

static unsigned size_of(uint32_t seq)
{
	return 60 + (seq * 2654435761u) % 1455u;
}

static uint8_t byte_of(uint32_t seq, unsigned i)
{
	return (uint8_t)((seq >> (i & 3) * 8) ^ i);
}

static void fill(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint32_t seq)
{
	unsigned len = size_of(seq);

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x88, f[13] = 0xb5; /* IEEE 802 local experimental ethertype */
	memcpy(f + SEQ_AT, &seq, 4);
	for (unsigned i = SEQ_AT + 4; i < len; i++)
		f[i] = byte_of(seq, i);
}

/* The frame's number if it is one of ours and intact, else UINT32_MAX. */
static uint32_t intact(const struct upci_pkt *p, uint32_t frames)
{
	const uint8_t *f = p->buf;
	uint32_t seq;

	if (p->len < SEQ_AT + 4)
		return UINT32_MAX;
	memcpy(&seq, f + SEQ_AT, 4);
	if (seq >= frames || p->len != size_of(seq))
		return UINT32_MAX;
	for (unsigned i = SEQ_AT + 4; i < p->len; i++)
		if (f[i] != byte_of(seq, i))
			return UINT32_MAX;
	return seq;
}

struct tally {
	uint8_t *seen;
	uint32_t frames, received, corrupt, duplicate;
};

static void take(struct tally *t, struct upci_port *sink)
{
	struct upci_pkt pkts[BURST];
	int n = upci_port_rx_burst(sink, 0, pkts, BURST);

	for (int i = 0; i < n; i++) {
		uint32_t seq = intact(&pkts[i], t->frames);

		if (seq == UINT32_MAX)
			t->corrupt++;
		else if (t->seen[seq]++)
			t->duplicate++;
		else
			t->received++;
	}
	if (n > 0)
		upci_pkt_free(pkts, (unsigned)n);
}

static uint32_t send_some(struct upci_port *src, const uint8_t dst[6], uint32_t seq, uint32_t n)
{
	struct upci_pkt pkts[BURST];
	int got = upci_port_pkt_alloc(src, 0, pkts, n < BURST ? n : BURST), sent;

	if (got <= 0)
		return 0;
	for (int i = 0; i < got; i++) {
		fill(pkts[i].buf, dst, upci_port_info(src)->mac, seq + (uint32_t)i);
		pkts[i].len = (uint16_t)size_of(seq + (uint32_t)i);
	}
	sent = upci_port_tx_burst(src, 0, pkts, (unsigned)got);
	upci_pkt_free(pkts, (unsigned)got);
	return sent > 0 ? (uint32_t)sent : 0;
}

static int open_port(const char *bdf, struct upci_port **p)
{
	struct upci_port_cfg cfg = { .rx_queues = 1, .tx_queues = 1 };
	int rc = upci_port_open(bdf, &cfg, p);

	return rc ? rc : upci_port_start(*p);
}

static int cmd_feed(const char *src_bdf, const char *sink_bdf, uint32_t frames)
{
	struct upci_port *src = NULL, *sink = NULL;
	struct tally t = { .frames = frames };
	struct upci_port_stats st;
	uint64_t t0, deadline;
	uint32_t seq = 0;

	if (!check(open_port(src_bdf, &src) == 0 && open_port(sink_bdf, &sink) == 0, "feeder %s and sink %s up",
		   src_bdf, sink_bdf))
		return 1;
	t.seen = calloc(frames, 1);
	t0 = now_ns();
	deadline = t0 + 150ull * 1000000000ull;
	while (t.received + t.corrupt < frames && now_ns() < deadline) {
		if (seq < frames && seq - t.received < WINDOW)
			seq += send_some(src, upci_port_info(sink)->mac, seq, frames - seq);
		take(&t, sink);
		upci_port_tx_done(src, 0);
	}
	usleep(50000); /* late duplicates show up now */
	take(&t, sink);
	upci_port_stats(sink, &st);
	printf("# fed %u frames %s -> forwarder -> %s in %.2f s: received %u, corrupt %u, duplicate %u; sink rx_missed %"
	       PRIu64 " dropped %" PRIu64 "\n", seq, src_bdf, sink_bdf, (double)(now_ns() - t0) / 1e9, t.received, t.corrupt,
	       t.duplicate, st.rx_missed, st.drv_rx_dropped);
	check(seq == frames, "all %u frames sent (%u)", frames, seq);
	check(t.received == frames, "zero loss through the forwarder: %u of %u", t.received, frames);
	check(!t.corrupt && !t.duplicate, "intact (%u corrupt) and once each (%u duplicates)", t.corrupt, t.duplicate);
	free(t.seen);
	upci_port_close(src);
	upci_port_close(sink);
	return tap_done();
}

static int write_sysfs(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (!f)
		return -errno;
	rc = fputs(text, f) < 0 ? -errno : 0;
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}

static int cmd_unbind(const char *bdf)
{
	uint64_t t0 = now_ns();
	int rc = write_sysfs("/sys/bus/pci/drivers/vfio-pci/unbind", bdf);
	double ms = (double)(now_ns() - t0) / 1e6;

	printf("unbind %s: %s after %.0f ms\n", bdf, rc ? strerror(-rc) : "done", ms);
	return rc ? 1 : ms < 2000 ? 0 : 3;
}

static int cmd_rebind(const char *bdf)
{
	return write_sysfs("/sys/bus/pci/drivers_probe", bdf) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "feed"))
		return cmd_feed(argv[2], argv[3], (uint32_t)strtoul(argv[4], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "unbind"))
		return cmd_unbind(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "rebind"))
		return cmd_rebind(argv[2]);
	fprintf(stderr, "usage: vm_port feed SRC SINK FRAMES | unbind BDF | rebind BDF\n");
	return 2;
}
