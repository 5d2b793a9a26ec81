#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""What must hold in any benchmark run (the figures themselves are reported, never asserted). TAP.

usage: check_bench.py RESULTS_DIR [--dpdk] [--verbs] [--dpdk-cost] [--no-callgrind]
--dpdk: dpdk_baseline was built (meson found libdpdk), and with it libupci_dpdk: the em PMD's figures and the
interop path's (the same methods over upci ports through libupci_dpdk) must be there.
--dpdk-cost: app/bench/dpdk_cost was built (libupci_dpdk and valgrind/callgrind.h): the interop's instructions
per packet must have been counted.
"""
import json
import os
import sys

results = sys.argv[1]
want_dpdk = "--dpdk" in sys.argv[2:]
want_verbs = "--verbs" in sys.argv[2:]  # verbs_rtt was built (meson found libibverbs)
want_dpdk_cost = "--dpdk-cost" in sys.argv[2:]
want_callgrind = "--no-callgrind" not in sys.argv[2:]  # a cross-built guest: the host cannot count its code
n = failed = 0


def check(ok, what):
    global n, failed
    n += 1
    failed += not ok
    print(f"{'ok' if ok else 'not ok'} {n} - {what}", flush=True)


try:
    with open(os.path.join(results, "bench.json")) as f:
        b = json.load(f)
except (OSError, ValueError) as e:
    b = {}
    check(False, f"bench.json readable ({e})")

irq = b.get("irq", {})
for m in ("ics", "ics_raw", "ics_epoll", "ics_busy", "ics_paired_upci", "ics_paired_read", "loopback", "eventfd"):
    check("p50_us" in irq.get(m, {}) and "p99_us" in irq[m], f"irq.{m} has p50/p99")
rtt = b.get("rtt", {})
methods = (["upci_poll", "upci_interrupt", "upci_hybrid", "kernel"] +
           (["dpdk_poll", "upci_dpdk_poll"] if want_dpdk else []) +
           (["verbs_rc_event"] if want_verbs else []))
for m in methods:
    check("p50_us" in rtt.get(m, {}), f"rtt.{m} has figures")
    check(rtt.get(m, {}).get("lost", 1) == 0, f"rtt.{m}: no frame lost ({rtt.get(m, {}).get('lost')})")
pps = b.get("pps", {})
check(pps.get("upci", {}).get("tx_rx", 0) > 0 and pps.get("upci", {}).get("fwd", 0) > 0, "pps.upci tx_rx and fwd")
check(pps.get("upci", {}).get("lost", 1) == 0, "pps.upci: no frame lost")
for m in ("q1", "q2", "both"):
    sc = pps.get("scale", {}).get(m, {})
    check(sc.get("pps", 0) > 0 and "rx_cpu_ns_per_frame" in sc, f"pps.scale.{m} measured")
    check(sc.get("lost", 1) == 0, f"pps.scale.{m}: no frame lost ({sc.get('lost')})")
if want_dpdk:
    check(pps.get("dpdk", {}).get("tx_rx", 0) > 0 and pps.get("dpdk", {}).get("fwd", 0) > 0, "pps.dpdk tx_rx and fwd")
    ud = pps.get("upci_dpdk", {})
    check(ud.get("tx_rx", 0) > 0 and ud.get("fwd", 0) > 0, "pps.upci_dpdk tx_rx and fwd (the interop path)")
if want_verbs:
    pk = rtt.get("verbs_rc_event", {}).get("nic_packets", {})
    check(pk.get("crossed_nics") is True, f"rtt.verbs_rc_event: the messages crossed the e1000e NICs, not lo ({pk})")
idle = b.get("idle", {})
for m in ("poll", "interrupt", "hybrid") + (("verbs_rc_event",) if want_verbs else ()):
    check("cpu_pct" in idle.get(m, {}), f"idle.{m}.cpu_pct measured")
check(idle.get("interrupt", {}).get("cpu_pct", 100) < 5, f"idle CPU in interrupt mode < 5% "
      f"({idle.get('interrupt', {}).get('cpu_pct')})")
check("mapped_ns" in b.get("mmio", {}) and "trapped_ns" in b.get("mmio", {}), "mmio mapped and trapped")
if want_callgrind:
    check(b.get("driver", {}).get("instructions_per_packet", 0) > 0, "driver.instructions_per_packet counted")
    check(b.get("driver", {}).get("reference_instructions_per_packet", 0) > 0,
          "driver.reference_instructions_per_packet counted (the ixy-style loop)")
    if want_dpdk_cost:
        check(b.get("driver", {}).get("interop_instructions_per_packet", 0) > 0,
              "driver.interop_instructions_per_packet counted (what libupci_dpdk adds)")
check(all(k in b.get("env", {}) for k in ("kernel", "qemu", "cpu", "date")), "env: kernel, qemu, cpu, date")
for png in ("irq_cdf.png", "rtt_cdf.png"):
    check(os.path.getsize(os.path.join(results, png)) > 0 if os.path.exists(os.path.join(results, png)) else False,
          f"{png} drawn")
print(f"1..{n}")
sys.exit(1 if failed else 0)
