/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest side of the 82574L VM test, through the port API only (upci/port.h). TAP on stdout.
 *
 * usage: vm_e1000e traffic MODE FROM TO FRAMES FLOWS
 *   FROM sends FRAMES frames (sizes 60..1514, a sequence number and a payload checksum in each, FLOWS
 *   UDP/IPv4 flows) to TO through the QEMU hub; TO receives on every rx queue in MODE (poll, interrupt,
 *   hybrid), one thread per queue. Checks: no loss, no corruption, in order per flow (a flow stays on one
 *   queue), RSS used both queues (when FLOWS > 1), per-queue vectors fired (interrupt/hybrid), and the
 *   device's counters match. Prints the rate.
 * usage: vm_e1000e link BDF REQUEST_FILE
 *   asks the host for a link toggle (writes "set_link nic0 off" / "on" to REQUEST_FILE) and checks the
 *   link-state interrupt reports each change within 1 s.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guest_tap.h"
#include "upci/log.h"
#include "upci/port.h"

/*
 * WINDOW: frames in flight (sent - counted) before the sender waits, across both rx queues. One rx ring must
 * always have room for all of them, or a lagging queue fills its ring, QEMU queues the frames, and its hub
 * reorders a flow: a flush (an RDT write) delivers the hub port's queue (newer frames) before the NIC's own
 * queue (older ones; net/net.c qemu_flush_or_purge_queued_packets). In flight at most WINDOW + BATCH - 1 = 159,
 * plus at most 64 descriptors the driver has not refilled yet (it refills in batches of up to 32, after a
 * burst): 223 of the RING - 1 = 255 the device can use.
 */
enum { HDR = 14 + 20 + 8, META = 12, BATCH = 32, RING = 256, WINDOW = 128 };

static unsigned frame_len(uint32_t seq)
{
	return 60 + (seq * 7919u) % 1455u; /* 60..1514 */
}

static uint8_t payload_byte(uint32_t seq, unsigned i)
{
	return (uint8_t)(seq * 31u + i * 7u + (i >> 8));
}

static uint32_t sum32(const uint8_t *p, unsigned n)
{
	uint32_t s = 0x811c9dc5u; /* FNV-1a */

	for (unsigned i = 0; i < n; i++)
		s = (s ^ p[i]) * 16777619u;
	return s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16)), put16(p + 2, (uint16_t)v);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Ethernet + IPv4 (198.18.0.0/15, the benchmarking range) + UDP, then seq, flow, checksum, payload. */
static void build_frame(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint32_t seq, uint16_t flow)
{
	unsigned len = frame_len(seq), ip_len = len - 14;
	uint32_t csum = 0;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, 0x0800);
	f[14] = 0x45, f[15] = 0;
	put16(f + 16, (uint16_t)ip_len);
	put16(f + 18, 0), put16(f + 20, 0x4000);
	f[22] = 64, f[23] = 17;
	put16(f + 24, 0);
	f[26] = 198, f[27] = 18, f[28] = (uint8_t)(flow >> 8), f[29] = (uint8_t)flow; /* source address per flow */
	f[30] = 198, f[31] = 19, f[32] = 0, f[33] = 1;
	for (int i = 14; i < 34; i += 2)
		csum += (uint32_t)f[i] << 8 | f[i + 1];
	while (csum >> 16)
		csum = (csum & 0xffff) + (csum >> 16);
	put16(f + 24, (uint16_t)~csum);
	put16(f + 34, (uint16_t)(10000 + flow)), put16(f + 36, 9);
	put16(f + 38, (uint16_t)(ip_len - 20)), put16(f + 40, 0);
	for (unsigned i = HDR + META; i < len; i++)
		f[i] = payload_byte(seq, i);
	put32(f + HDR, seq);
	put32(f + HDR + 4, flow);
	put32(f + HDR + 8, sum32(f + HDR + META, len - HDR - META));
}

struct shared {
	struct upci_port *rx_nic;
	enum upci_port_mode mode;
	uint32_t frames, flows;
	_Atomic uint32_t received, corrupt, duplicate, out_of_order;
	_Atomic uint8_t *seen;
	uint32_t *last_seq;          /* per flow */
	_Atomic int flow_queue[1024];/* the queue each flow arrived on, -1 before its first frame */
	_Atomic uint32_t per_queue[2], wakeups[2], moved_flows;
	volatile bool stop;
};

struct rxq_ctx {
	struct shared *s;
	unsigned q;
};

static void verify(struct shared *s, unsigned q, const struct upci_pkt *p)
{
	const uint8_t *f = p->buf;
	uint32_t seq, flow;
	int expect = -1;

	if (p->len < HDR + META) {
		s->corrupt++;
		return;
	}
	seq = get32(f + HDR);
	flow = get32(f + HDR + 4);
	if (seq >= s->frames || flow >= s->flows || p->len != frame_len(seq) ||
	    get32(f + HDR + 8) != sum32(f + HDR + META, p->len - HDR - META)) {
		s->corrupt++;
		return;
	}
	if (atomic_exchange(&s->seen[seq], 1)) {
		s->duplicate++;
		return;
	}
	/* In order per flow, and a flow stays on the queue it first arrived on. Only this queue's thread
	 * touches last_seq of the flows on this queue. */
	if (!atomic_compare_exchange_strong(&s->flow_queue[flow], &expect, (int)q) && expect != (int)q)
		s->moved_flows++;
	if (s->last_seq[flow] != UINT32_MAX && seq <= s->last_seq[flow])
		s->out_of_order++;
	s->last_seq[flow] = seq;
	s->per_queue[q]++;
	s->received++;
}

/* Receive in the port's mode (upci_port_rx: poll, or the built-in interrupt wait / hybrid) and verify. */
static void *rx_thread(void *arg)
{
	struct rxq_ctx *c = arg;
	struct shared *s = c->s;

	while (!s->stop) {
		struct upci_pkt pkts[BATCH];
		int n = upci_port_rx(s->rx_nic, c->q, pkts, BATCH);

		if (n < 0)
			break;
		for (int i = 0; i < n; i++)
			verify(s, c->q, &pkts[i]);
		upci_pkt_free(pkts, (unsigned)n);
	}
	return NULL;
}

static int open_nic(const char *bdf, enum upci_port_mode mode, struct upci_port **nic)
{
	struct upci_port_cfg cfg = { .mode = mode, .rx_ring_size = RING, .tx_ring_size = RING, .wait_timeout_ms = 50,
				     .hybrid = { .idle_polls = 32 } };
	int rc = upci_port_open(bdf, &cfg, nic);

	if (!rc)
		rc = upci_port_start(*nic);
	return rc;
}

static bool link_up(struct upci_port *p)
{
	struct upci_link l;

	return upci_port_link(p, &l) == 0 && l.up;
}

/* Send every frame, keeping at most WINDOW in flight (sent - received) so the receiver is measured, not
 * the emulator's queueing. */
static uint32_t send_all(struct shared *s, struct upci_port *tx, const uint8_t dst[6], const uint8_t src[6])
{
	struct upci_pkt pkts[BATCH];
	uint32_t seq = 0;
	uint64_t deadline = now_ns() + 120ull * 1000000000ull;

	/* Batches alternate between the two tx queues; each batch is queued whole before the next starts,
	 * so the order on the wire stays the sending order. */
	for (unsigned q = 0; seq < s->frames && now_ns() < deadline; q ^= 1) {
		int n, sent;

		if (seq - s->received >= WINDOW) {
			upci_port_tx_done(tx, 0);
			upci_port_tx_done(tx, 1);
			q ^= 1;
			continue;
		}
		n = upci_port_pkt_alloc(tx, q, pkts, BATCH < s->frames - seq ? BATCH : s->frames - seq);
		if (n < 0)
			break;
		for (int i = 0; i < n; i++) {
			build_frame(pkts[i].buf, dst, src, seq + i, (uint16_t)((seq + i) % s->flows));
			pkts[i].len = (uint16_t)frame_len(seq + i);
		}
		sent = 0;
		while (sent < n && now_ns() < deadline) {
			int k = upci_port_tx_burst(tx, q, pkts + sent, (unsigned)(n - sent));

			if (k < 0)
				break;
			sent += k;
		}
		upci_pkt_free(pkts, (unsigned)n); /* anything the deadline left unsent */
		seq += (uint32_t)sent;
	}
	return seq;
}

static int cmd_traffic(const char *mode_name, const char *from, const char *to, uint32_t frames, uint32_t flows)
{
	enum upci_port_mode mode = UPCI_PORT_POLL;
	struct shared *s = calloc(1, sizeof(*s));
	struct upci_port *tx = NULL, *rx = NULL;
	struct upci_port_stats st_tx, st_rx;
	struct rxq_ctx ctx[2];
	pthread_t th[2];
	uint8_t dst[6], src[6];
	uint32_t sent;
	uint64_t t0, t1;

	upci_port_mode_parse(mode_name, &mode);
	if (!check(open_nic(from, UPCI_PORT_POLL, &tx) == 0 && open_nic(to, mode, &rx) == 0, "%s and %s up (%s)",
		   from, to, mode_name))
		return 1;
	s->rx_nic = rx;
	s->mode = mode;
	s->frames = frames;
	s->flows = flows;
	s->seen = calloc(frames, 1);
	s->last_seq = malloc(flows * sizeof(uint32_t));
	for (uint32_t f = 0; f < flows; f++)
		s->last_seq[f] = UINT32_MAX, s->flow_queue[f] = -1;
	memcpy(dst, upci_port_info(rx)->mac, 6);
	memcpy(src, upci_port_info(tx)->mac, 6);
	check(link_up(tx) && link_up(rx), "both links up (driver %s)", upci_port_info(rx)->driver);
	for (unsigned q = 0; q < 2; q++) {
		ctx[q] = (struct rxq_ctx){ .s = s, .q = q };
		pthread_create(&th[q], NULL, rx_thread, &ctx[q]);
	}
	t0 = now_ns();
	sent = send_all(s, tx, dst, src);
	while (s->received < sent && now_ns() - t0 < 130ull * 1000000000ull)
		usleep(1000);
	t1 = now_ns();
	usleep(50000); /* let duplicates or strays show up */
	s->stop = true;
	for (unsigned q = 0; q < 2; q++)
		pthread_join(th[q], NULL);
	upci_port_stats(tx, &st_tx);
	upci_port_stats(rx, &st_rx);
	for (unsigned q = 0; q < 2; q++)
		s->wakeups[q] = (uint32_t)st_rx.q_wakeups[q];
	printf("# %s %s -> %s: %u frames, %u flows: %.0f pps; queue 0 %u, queue 1 %u; wakeups %u/%u\n", mode_name, from,
	       to, frames, flows, (double)s->received * 1e9 / (double)(t1 - t0), s->per_queue[0], s->per_queue[1],
	       s->wakeups[0], s->wakeups[1]);
	printf("# device: tx GPTC %" PRIu64 ", rx GPRC %" PRIu64 " MPC %" PRIu64 " RNBC %" PRIu64 " errors %" PRIu64
	       "; driver rx dropped %" PRIu64 ", tx refused %" PRIu64 "\n", st_tx.tx_packets, st_rx.rx_packets,
	       st_rx.rx_missed, st_rx.rx_no_descriptor, st_rx.rx_errors, st_rx.drv_rx_dropped, st_tx.drv_tx_refused);
	check(sent == frames, "%s: all %u frames sent (%u)", mode_name, frames, sent);
	check(s->received == frames, "%s: zero loss: %u of %u received", mode_name, s->received, frames);
	check(!s->corrupt && !s->duplicate, "%s: zero corruption (%u) and no duplicates (%u)", mode_name, s->corrupt,
	      s->duplicate);
	check(!s->out_of_order && !s->moved_flows, "%s: in order per flow (%u out of order), each flow on one queue "
	      "(%u moved)", mode_name, s->out_of_order, s->moved_flows);
	check(st_tx.q_tx_packets[0] > 0 && st_tx.q_tx_packets[1] > 0, "%s: both tx queues sent (%" PRIu64 "/%" PRIu64
	      ")", mode_name, st_tx.q_tx_packets[0], st_tx.q_tx_packets[1]);
	check(st_tx.tx_packets == frames && st_rx.rx_packets == frames &&
	      st_tx.q_tx_packets[0] + st_tx.q_tx_packets[1] == frames &&
	      st_rx.q_rx_packets[0] + st_rx.q_rx_packets[1] == frames, "%s: device and driver counters match what "
	      "was sent (GPTC %" PRIu64 ", GPRC %" PRIu64 ")", mode_name, st_tx.tx_packets, st_rx.rx_packets);
	check(!st_rx.rx_missed && !st_rx.drv_rx_dropped, "%s: nothing missed or dropped", mode_name);
	if (flows > 1)
		check(s->per_queue[0] > 0 && s->per_queue[1] > 0, "%s: RSS spread the flows over both rx queues (%u/%u)",
		      mode_name, s->per_queue[0], s->per_queue[1]);
	if (mode != UPCI_PORT_POLL && flows > 1)
		check(s->wakeups[0] > 0 && s->wakeups[1] > 0, "%s: each rx queue's vector woke its own thread (%u/%u)",
		      mode_name, s->wakeups[0], s->wakeups[1]);
	upci_port_close(tx);
	upci_port_close(rx);
	free((void *)s->seen);
	free(s->last_seq);
	free(s);
	return tap_done();
}

/* Ask the host runner for a QEMU monitor command (test/vm/vmrun watches this file). */
static bool monitor(const char *cmd)
{
	FILE *f = fopen("/run/upci/monitor.req.tmp", "w");

	if (!f)
		return false;
	fprintf(f, "%s\n", cmd);
	fclose(f);
	if (rename("/run/upci/monitor.req.tmp", "/run/upci/monitor.req"))
		return false;
	for (int i = 0; i < 200 && access("/run/upci/monitor.req", F_OK) == 0; i++)
		usleep(10000);
	return access("/run/upci/monitor.req", F_OK) != 0;
}

/* Toggle the link from the host and see the link-state interrupt report each change within 1 s. */
static int cmd_link(const char *bdf, const char *qemu_id)
{
	struct upci_port *nic = NULL;
	struct upci_port_stats st;
	char cmd[64];

	if (!check(open_nic(bdf, UPCI_PORT_INTERRUPT, &nic) == 0, "%s up", bdf))
		return 1;
	check(link_up(nic), "link up at start");
	for (int round = 0; round < 2; round++) {
		for (int up = 0; up <= 1; up++) {
			uint64_t t_req = now_ns(), t0, ms;
			bool seen = false;

			snprintf(cmd, sizeof(cmd), "set_link %s %s", qemu_id, up ? "on" : "off");
			if (!check(monitor(cmd), "the host ran '%s' (%.0f ms round trip through the runner)", cmd,
				   (double)(now_ns() - t_req) / 1e6))
				continue;
			t0 = now_ns(); /* the monitor command has completed: the link has changed */
			while (!seen && now_ns() - t0 < 2000000000ull) {
				int rc = upci_port_link_wait(nic, 100);

				seen = rc > 0 && link_up(nic) == (bool)up;
			}
			ms = (now_ns() - t0) / 1000000;
			check(seen && ms <= 1000, "link %s reported by the link-state interrupt after %" PRIu64 " ms (<= 1000)",
			      up ? "up" : "down", ms);
		}
	}
	upci_port_stats(nic, &st);
	check(st.link_changes >= 4, "the driver counted %" PRIu64 " link changes", st.link_changes);
	upci_port_close(nic);
	return tap_done();
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "link"))
		return cmd_link(argv[2], argv[3]);
	if (argc == 7 && !strcmp(argv[1], "traffic") && strtoul(argv[6], NULL, 0) >= 1 && strtoul(argv[6], NULL, 0) <= 1024)
		return cmd_traffic(argv[2], argv[3], argv[4], (uint32_t)strtoul(argv[5], NULL, 0),
				   (uint32_t)strtoul(argv[6], NULL, 0));
	fprintf(stderr, "usage: vm_e1000e traffic poll|interrupt|hybrid FROM TO FRAMES FLOWS | link BDF QEMU_ID\n");
	return 2;
}
