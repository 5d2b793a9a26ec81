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
 * usage: vm_port deaddma SRC SINK
 *   SRC and SINK on one hub, SINK in a DMA context of its own. Healthy: frames both ways arrive and, watched
 *   past the stall bound, no queue is reported (dma_stalls 0, no line). Then SINK's DMA is taken out of the
 *   IOMMU (upci_iommu_test_unmap_all()) while the ports run, and frames go both ways again: SINK's rx queue
 *   (the device counts frames, writes nothing back) and tx queue (descriptors taken, no DD) are each reported
 *   in one line, dma_stalls is 2 on SINK and 0 on SRC. The mappings are restored before the ports close.
 * usage: vm_port pair A B FRAMES pass|pass-or-stall
 *   A and B in one DMA context (one IOMMU group behind a bridge, say): A sends FRAMES frames to B, B sends
 *   FRAMES to A. pass: every frame arrives, nothing is reported. pass-or-stall: either that, or frames are
 *   missing and the watchdog said so (dma_stalls > 0 and one line per stalled queue): never silence.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest_frames.h"
#include "guest_tap.h"
#include "upci/dma.h"
#include "upci/io.h"
#include "upci/vfio.h"
#include "upci/log.h"
#include "upci/port.h"

enum { WINDOW = 256, BURST = 32, SALT = 0 };

struct tally {
	uint8_t *seen;
	uint32_t frames, received, corrupt, duplicate;
};

static void take(struct tally *t, struct upci_port *sink)
{
	struct upci_pkt pkts[BURST];
	int n = upci_port_rx_burst(sink, 0, pkts, BURST);

	for (int i = 0; i < n; i++) {
		uint32_t seq = frame_intact(&pkts[i], t->frames, SALT);

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
		frame_fill(pkts[i].buf, dst, upci_port_info(src)->mac, seq + (uint32_t)i, SALT);
		pkts[i].len = (uint16_t)frame_size(seq + (uint32_t)i);
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

/* ---- dead DMA ---- */

/* The library's log lines, relayed as TAP comments; the watchdog's ("... stalled: ...") are also counted. */
static struct {
	unsigned lines, stalls;
	char stall[4][512];
} logs;

static void on_log(enum upci_log_level level, const char *line, void *arg)
{
	tap_log(level, line, arg); /* shown as before, then counted */
	logs.lines++;
	if (strstr(line, " stalled: ")) {
		if (logs.stalls < 4)
			snprintf(logs.stall[logs.stalls], sizeof(logs.stall[0]), "%s", line);
		logs.stalls++;
	}
}

static int open_port_in(const char *bdf, struct upci_iommu *ctx, struct upci_port **p)
{
	struct upci_port_cfg cfg = { .rx_queues = 1, .tx_queues = 1, .dev.iommu = ctx };
	int rc = upci_port_open(bdf, &cfg, p);

	return rc ? rc : upci_port_start(*p);
}

/* Frames received on @p, of any content (after a dead spell, intact or not); buffers freed. */
static unsigned drain(struct upci_port *p)
{
	struct upci_pkt pkts[BURST];
	int n = upci_port_rx_burst(p, 0, pkts, BURST);

	if (n <= 0)
		return 0;
	upci_pkt_free(pkts, (unsigned)n);
	return (unsigned)n;
}

/* @n frames a -> b and b -> a, then poll both for @ms (bursts run the ports' periodic checks). */
static void exchange(struct upci_port *a, struct upci_port *b, uint32_t n, unsigned ms, unsigned got[2])
{
	uint32_t sent[2] = { 0, 0 };
	uint64_t end = now_ns() + (uint64_t)ms * 1000000u;

	got[0] = got[1] = 0;
	while (now_ns() < end) {
		if (sent[0] < n)
			sent[0] += send_some(a, upci_port_info(b)->mac, sent[0], n - sent[0]);
		if (sent[1] < n)
			sent[1] += send_some(b, upci_port_info(a)->mac, sent[1], n - sent[1]);
		got[1] += drain(b);
		got[0] += drain(a);
		upci_port_tx_done(a, 0);
		upci_port_tx_done(b, 0);
	}
}

static uint64_t stalls_of(struct upci_port *p)
{
	struct upci_port_stats st;

	upci_port_stats(p, &st);
	return st.dma_stalls;
}

static void print_stats(const char *bdf, struct upci_port *p)
{
	struct upci_port_stats st;

	upci_port_stats(p, &st);
	printf("# %s stats: device rx %" PRIu64 " tx %" PRIu64 " missed %" PRIu64 " no-descriptor %" PRIu64 "; driver rx %"
	       PRIu64 " tx %" PRIu64 "; dma_stalls %" PRIu64 "\n", bdf, st.rx_packets, st.tx_packets, st.rx_missed,
	       st.rx_no_descriptor, st.q_rx_packets[0], st.q_tx_packets[0], st.dma_stalls);
}

/* The device's view of queue 0 (82574L RDH0/RDT0/TDH0/TDT0, datasheet 10.2.5/10.2.6), for the record. */
static void print_heads(const char *bdf, struct upci_port *p)
{
	const struct upci_bar *bar = upci_dev_bar(upci_port_dev(p), 0);

	printf("# %s device heads: RDH %u RDT %u TDH %u TDT %u\n", bdf, upci_bar_read32(bar, 0x2810),
	       upci_bar_read32(bar, 0x2818), upci_bar_read32(bar, 0x3810), upci_bar_read32(bar, 0x3818));
}

/* How many of the captured stall lines name @bdf and contain @what. */
static unsigned stall_lines(const char *bdf, const char *what)
{
	unsigned k = 0;

	for (unsigned i = 0; i < logs.stalls && i < 4; i++)
		k += strstr(logs.stall[i], bdf) && strstr(logs.stall[i], what) && strstr(logs.stall[i], "IOMMU translation");
	return k;
}

static int cmd_deaddma(const char *src_bdf, const char *sink_bdf)
{
	struct upci_port *src = NULL, *sink = NULL;
	struct upci_iommu *ctx = NULL;
	unsigned got[2];
	uint64_t t0;
	int n;

	upci_log_set_sink(on_log, NULL);
	if (!check(upci_iommu_open(UPCI_BACKEND_AUTO, &ctx) == 0 && open_port_in(src_bdf, NULL, &src) == 0 &&
		   open_port_in(sink_bdf, ctx, &sink) == 0, "%s and %s up, %s in a DMA context of its own", src_bdf,
		   sink_bdf, sink_bdf))
		return tap_done();
	exchange(src, sink, 64, 2600, got); /* longer than the stall bound (2 s): a false report would show */
	check(got[1] == 64 && got[0] == 64, "healthy: 64 frames %s -> %s arrived (%u), 64 back (%u)", src_bdf, sink_bdf,
	      got[1], got[0]);
	check(stalls_of(src) == 0 && stalls_of(sink) == 0 && logs.stalls == 0,
	      "healthy: watched 2.6 s, dma_stalls %" PRIu64 "/%" PRIu64 ", %u stall lines: none", stalls_of(src),
	      stalls_of(sink), logs.stalls);
	print_heads(sink_bdf, sink);
	n = upci_iommu_test_unmap_all(ctx);
	check(n > 0, "%s's %d DMA allocations taken out of the IOMMU while the port runs", sink_bdf, n);
	t0 = now_ns();
	exchange(src, sink, 64, 3000, got);
	printf("# dead: %u frames received by %s, %u by %s in %.1f s\n", got[1], sink_bdf, got[0], src_bdf,
	       (double)(now_ns() - t0) / 1e9);
	print_stats(sink_bdf, sink);
	print_stats(src_bdf, src);
	print_heads(sink_bdf, sink);
	check(got[1] == 0 && got[0] == 0, "dead: nothing delivered (%u, %u)", got[1], got[0]);
	check(stall_lines(sink_bdf, "rx queue 0 stalled") == 1 && stall_lines(sink_bdf, "tx queue 0 stalled") == 1 &&
	      logs.stalls == 2, "dead: one line for %s rx queue 0, one for tx queue 0, naming the IOMMU (%u lines)",
	      sink_bdf, logs.stalls);
	check(stalls_of(sink) == 2 && stalls_of(src) == 0, "dead: dma_stalls %" PRIu64 " on %s, %" PRIu64 " on %s",
	      stalls_of(sink), sink_bdf, stalls_of(src), src_bdf);
	check(upci_iommu_test_remap_all(ctx) == n, "mappings restored");
	upci_port_close(src);
	upci_port_close(sink);
	upci_iommu_put(ctx);
	check(logs.lines == logs.stalls, "no other library line (%u lines, %u of them stall lines)", logs.lines,
	      logs.stalls);
	upci_log_set_sink(tap_log, NULL);
	return tap_done();
}

static int cmd_pair(const char *a_bdf, const char *b_bdf, uint32_t frames, bool must_pass)
{
	struct upci_port *a = NULL, *b = NULL;
	unsigned got[2];
	uint64_t sa, sb;
	bool passed, reported;

	upci_log_set_sink(on_log, NULL);
	if (!check(open_port_in(a_bdf, NULL, &a) == 0 && open_port_in(b_bdf, NULL, &b) == 0, "%s and %s up", a_bdf,
		   b_bdf)) {
		upci_port_close(a);
		return tap_done();
	}
	exchange(a, b, frames, 3000, got);
	sa = stalls_of(a), sb = stalls_of(b);
	passed = got[0] == frames && got[1] == frames && !sa && !sb && !logs.stalls;
	reported = (got[0] < frames || got[1] < frames) && sa + sb > 0 && logs.stalls == sa + sb;
	printf("# %s -> %s %u of %u, %s -> %s %u of %u; dma_stalls %" PRIu64 " / %" PRIu64 ", %u stall lines: %s\n",
	       a_bdf, b_bdf, got[1], frames, b_bdf, a_bdf, got[0], frames, sa, sb, logs.stalls,
	       passed ? "traffic passes" : reported ? "DEAD DMA, reported" : "neither");
	if (must_pass)
		check(passed, "traffic passes both ways, nothing reported (%u and %u of %u; %u stall lines)", got[1], got[0],
		      frames, logs.stalls);
	else
		check(passed || reported, "traffic passes, or its loss is reported: %s (%u and %u of %u; dma_stalls %" PRIu64
		      "+%" PRIu64 ", %u lines)", passed ? "passes" : reported ? "dead DMA reported" : "SILENT LOSS", got[1],
		      got[0], frames, sa, sb, logs.stalls);
	upci_port_close(a);
	upci_port_close(b);
	upci_log_set_sink(tap_log, NULL);
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
	if (argc == 4 && !strcmp(argv[1], "deaddma"))
		return cmd_deaddma(argv[2], argv[3]);
	if (argc == 6 && !strcmp(argv[1], "pair") && (!strcmp(argv[5], "pass") || !strcmp(argv[5], "pass-or-stall")))
		return cmd_pair(argv[2], argv[3], (uint32_t)strtoul(argv[4], NULL, 0), !strcmp(argv[5], "pass"));
	fprintf(stderr, "usage: vm_port feed SRC SINK FRAMES | unbind BDF | rebind BDF | deaddma SRC SINK | "
		"pair A B FRAMES pass|pass-or-stall\n");
	return 2;
}
