#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Merge the benchmark's JSON fragments into bench.json, print the table, draw the latency CDFs.

usage: report.py RESULTS_DIR
Fragments: upci.json (upci-bench), kernel.json (kernel_rtt), verbs.json (verbs_rtt: rdma-core over soft-RoCE),
dpdk_*.json (dpdk_baseline: DPDK's em PMD), upci_dpdk_*.json (dpdk_baseline --upci: the same methods over
upci ports through libupci_dpdk), cpu.json
(cpu_cost.sh), env.json (the guest's kernel, CPU, date). Every figure in one table comes from the same
VM boot; ratios compare against the baseline named in each section.
"""
import glob
import json
import os
import subprocess
import sys


# The round-trip rows: the kernel's AF_PACKET baseline, rdma-core verbs over soft-RoCE (RC, completion channel),
# DPDK's em PMD, upci through libupci_dpdk (the em PMD's method over upci ports), upci's three waiting modes.
RTT_ORDER = ["kernel", "verbs_rc_event", "dpdk_poll", "upci_dpdk_poll", "upci_poll", "upci_interrupt", "upci_hybrid"]


def merge(dst, src):
    for key, val in src.items():
        if isinstance(val, dict) and isinstance(dst.get(key), dict):
            merge(dst[key], val)
        else:
            dst[key] = val


def load(results):
    bench = {}
    for path in sorted(glob.glob(os.path.join(results, "*.json"))):
        if os.path.basename(path) == "bench.json":
            continue
        try:
            with open(path) as f:
                merge(bench, json.load(f))
        except (OSError, ValueError) as e:
            print(f"report: skipping {path}: {e}", file=sys.stderr)
    return bench


def ratio(val, base):
    return f"{val / base:6.2f}x" if val and base else "      -"


def latency_rows(section, order, baseline):
    base = section.get(baseline, {}).get("p50_us")
    rows = []
    for name in order:
        m = section.get(name)
        if not m or "p50_us" not in m:
            rows.append(f"  {name:<22} {'(not measured)':>34}")
            continue
        tag = " (baseline)" if name == baseline else ""
        rows.append(f"  {name + tag:<22} {m['p50_us']:10.1f} {m['p99_us']:10.1f} {m.get('max_us', 0):10.1f}"
                    f"   {ratio(m['p50_us'], base)}")
    return rows


def wait_overhead_rows(irq):
    """upci_irqs_wait() against a bare read() of the same eventfd, trials alternating (issue goal: p50 <= 1.05x,
    p99 <= 1.10x)."""
    u, r = irq.get("ics_paired_upci", {}), irq.get("ics_paired_read", {})
    if "p50_us" not in u or "p50_us" not in r:
        return [f"  {'upci wait vs read()':<22} {'(not measured)':>34}"]
    return [f"  {'ics_paired_read':<22} {r['p50_us']:10.1f} {r['p99_us']:10.1f} {r.get('max_us', 0):10.1f}",
            f"  {'ics_paired_upci':<22} {u['p50_us']:10.1f} {u['p99_us']:10.1f} {u.get('max_us', 0):10.1f}",
            f"  upci wait vs bare read() of the same eventfd, alternating trials: p50 "
            f"{ratio(u['p50_us'], r['p50_us']).strip()} (goal <= 1.05x), p99 {ratio(u['p99_us'], r['p99_us']).strip()}"
            f" (goal <= 1.10x)"]


def per_frame_ns(rate):
    """fwd: two lcores share the receptions, so each spends 2 / rate seconds per frame it receives and sends."""
    return 2e9 / rate if rate else None


def interop_rows(rtt, pps):
    """The interop path (upci ports as mbufs, libupci_dpdk) against upci native and DPDK's em PMD, same boot."""
    i_rtt, i_pps = rtt.get("upci_dpdk_poll", {}), pps.get("upci_dpdk", {})
    if "p50_us" not in i_rtt and not i_pps:
        return []
    n_rtt, d_rtt = rtt.get("upci_poll", {}), rtt.get("dpdk_poll", {})
    n_pps, d_pps = pps.get("upci", {}), pps.get("dpdk", {})
    out = [f"{'interop (libupci_dpdk)':<32} {'rtt p50':>10} {'rtt p99':>10} {'tx->rx':>10} {'fwd':>10}",
           "  (us, frames/s; a ratio is interop / that row's figure: for rtt lower is better, for pps higher;",
           "   fwd is one method for all three; tx->rx: interop and em PMD unpaced, upci native <= 256 in flight)"]

    def row(label, r, p):
        return (f"  {label:<30} {r.get('p50_us', 0):10.1f} {r.get('p99_us', 0):10.1f} "
                f"{p.get('tx_rx', 0):10.0f} {p.get('fwd', 0):10.0f}")

    def ratios(label, r, p):
        return (f"  {label:<30} {ratio(i_rtt.get('p50_us'), r.get('p50_us')):>10} "
                f"{ratio(i_rtt.get('p99_us'), r.get('p99_us')):>10} {ratio(i_pps.get('tx_rx'), p.get('tx_rx')):>10} "
                f"{ratio(i_pps.get('fwd'), p.get('fwd')):>10}")
    out.append(row("upci_dpdk (interop)", i_rtt, i_pps))
    out.append(row("upci native (upci_poll, upci)", n_rtt, n_pps))
    out.append(row("dpdk em PMD (dpdk_poll, dpdk)", d_rtt, d_pps))
    out.append(ratios("interop vs upci native", n_rtt, n_pps))
    out.append(ratios("interop vs dpdk em PMD", d_rtt, d_pps))
    ni, nn = per_frame_ns(i_pps.get("fwd")), per_frame_ns(n_pps.get("fwd"))
    if ni and nn:
        out.append(f"  fwd per frame and lcore: interop {ni:.0f} ns, upci native {nn:.0f} ns: the interop costs "
                   f"{ni - nn:+.0f} ns ({ratio(ni, nn).strip()}) per frame received and forwarded (TCG time: read "
                   f"the ratio)")
    return out


def goal_rows(b):
    """The performance goals of the bench, each with its figure, ratio and verdict, from this one run."""
    rows = []

    def g(*keys):
        return _dig(b, keys)

    def row(what, val, limit, better="<="):
        if val is None:
            rows.append(f"  {what:<54} (not measured)")
            return
        met = val <= limit if better == "<=" else val >= limit
        rows.append(f"  {what:<54} {val:8.2f} (goal {better} {limit:g}): {'met' if met else 'NOT met'}")

    def div(a, c):
        return a / c if a is not None and c else None

    row("driver instructions per packet (rx + tx, batch 32)", g("driver", "instructions_per_packet"), 94)
    row("upci wait / bare read(), p50", div(g("irq", "ics_paired_upci", "p50_us"), g("irq", "ics_paired_read", "p50_us")), 1.05)
    row("upci wait / bare read(), p99", div(g("irq", "ics_paired_upci", "p99_us"), g("irq", "ics_paired_read", "p99_us")), 1.10)
    row("fwd frames/s, upci / DPDK em PMD", div(g("pps", "upci", "fwd"), g("pps", "dpdk", "fwd")), 1.0, ">=")
    row("poll-mode rtt p50, upci / DPDK em PMD", div(g("rtt", "upci_poll", "p50_us"), g("rtt", "dpdk_poll", "p50_us")), 1.0)
    row("interrupt-mode rtt p50, upci / kernel driver", div(g("rtt", "upci_interrupt", "p50_us"), g("rtt", "kernel", "p50_us")), 0.6)
    return rows


def _dig(d, keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d if isinstance(d, (int, float)) else None


def table(b):
    out = []
    irq = b.get("irq", {})
    out.append("percentiles: nearest-rank, for every method")
    out.append("interrupt -> waiting thread (us)        p50        p99        max   p50 vs eventfd")
    out += latency_rows(irq, ["eventfd", "loopback", "ics", "ics_raw", "ics_epoll", "ics_busy"], "eventfd")
    out += wait_overhead_rows(irq)
    rtt = b.get("rtt", {})
    out.append("round trip A -> B -> A (us)             p50        p99        max   p50 vs kernel")
    out += latency_rows(rtt, RTT_ORDER, "kernel")
    pps = b.get("pps", {})
    d, u = pps.get("dpdk", {}), pps.get("upci", {})
    out.append("frames per second                      tx->rx        fwd   upci vs dpdk (tx->rx, fwd)")
    for name, m in (("dpdk (baseline)", d), ("upci poll", u)):
        if m:
            out.append(f"  {name:<22} {m.get('tx_rx', 0):16.0f} {m.get('fwd', 0):10.0f}")
    if d and u:
        out.append(f"  {'ratio':<22} {ratio(u.get('tx_rx'), d.get('tx_rx')):>16} {ratio(u.get('fwd'), d.get('fwd')):>10}")
    out += interop_rows(rtt, pps)
    sc = pps.get("scale", {})
    if sc:
        base = sc.get("q1", {}).get("pps")
        out.append("scale (poll mode)                       frames/s   rx CPU ns/frame   vs 1 queue")
        for key, label in (("q1", "A -> B, 1 rx queue"), ("q2", "A -> B, 2 rx queues (RSS)"),
                           ("both", "A <-> B, both ports busy")):
            m = sc.get(key)
            if m:
                out.append(f"  {label:<30} {m['pps']:12.0f} {m['rx_cpu_ns_per_frame']:17.0f}   {ratio(m['pps'], base)}")
    idle = b.get("idle", {})
    out.append("receiving thread CPU (% of a core)    no traffic  1000 frames/s")
    for mode in ("poll", "interrupt", "hybrid", "verbs_rc_event"):
        m = idle.get(mode)
        if m:
            out.append(f"  {mode:<22} {m['cpu_pct']:12.2f} {m.get('cpu_pct_1000pps', 0):14.2f}")
    pk = rtt.get("verbs_rc_event", {}).get("nic_packets")
    if pk:
        out.append(f"verbs_rc_event over soft-RoCE: NIC packets A tx {pk.get('a_tx')} rx {pk.get('a_rx')}, "
                   f"B tx {pk.get('b_tx')} rx {pk.get('b_rx')}, lo rx {pk.get('lo_rx')} for "
                   f"{rtt['verbs_rc_event'].get('trials')} trials (+ warm-up): "
                   f"{'crossed the NICs' if pk.get('crossed_nics') else 'DID NOT cross the NICs'}")
    mm = b.get("mmio")
    if mm:
        out.append(f"register read (ns)                mapped {mm['mapped_ns']:.1f}, trapped {mm['trapped_ns']:.1f}, "
                   f"{ratio(mm['trapped_ns'], mm['mapped_ns']).strip()} slower through the region fd")
    drv = b.get("driver", {})
    if "instructions_per_packet" in drv:
        out.append(f"driver cost                       {drv['instructions_per_packet']:.1f} instructions per packet "
                   f"(rx {drv.get('rx_instructions_per_packet', 0):.1f} + tx {drv.get('tx_instructions_per_packet', 0):.1f}, "
                   f"batch {drv.get('batch', 32)}, callgrind; goal <= 94)")
        if "interop_instructions_per_packet" in drv:
            ii, di = drv["interop_instructions_per_packet"], drv["instructions_per_packet"]
            out.append(f"  interop (libupci_dpdk) adds     {ii:.1f} instructions per packet (packet <-> mbuf, "
                       f"callgrind), {ratio(ii, di).strip()} the driver's: {di + ii:.1f} per frame through mbufs")
        if "reference_instructions_per_packet" in drv:
            out.append(f"  ixy-style reference loop        {drv['reference_instructions_per_packet']:.1f} instructions per packet "
                       f"(no checks, no counters), upci {ratio(drv['instructions_per_packet'], drv['reference_instructions_per_packet']).strip()}")
    di = b.get("dpdk_interrupt")
    if di:
        out.append(f"DPDK em PMD rx interrupt mode (ITR=0xFFFF, the PMD's own choice; no IVAR): "
                   f"{di.get('interrupt_wakeups')} interrupt wake-ups, "
                   f"{di.get('timeout_wakeups')} timeout wake-ups for {di.get('frames')} frames")
    out.append("goals (ratios from this one run)")
    out += goal_rows(b)
    return "\n".join(out)


def cdf_plot(section, names, title, png, results):
    series = []
    for name in names:
        samples = sorted(section.get(name, {}).get("samples_us", []))
        if not samples:
            continue
        path = os.path.join(results, f"cdf_{name}.dat")
        with open(path, "w") as f:
            for i, s in enumerate(samples):
                f.write(f"{s} {(i + 1) / len(samples)}\n")
        series.append((name, path))
    if not series:
        return None
    plots = ", ".join(f"'{p}' using 1:2 with lines lw 2 title '{n}'" for n, p in series)
    script = (f"set terminal pngcairo size 1000,600 noenhanced\nset output '{png}'\nset title '{title}'\n"
              "set xlabel 'microseconds (log scale)'\nset ylabel 'fraction of trials'\nset logscale x\n"
              f"set key bottom right\nset grid\nplot {plots}\n")
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"report: gnuplot failed ({e}); install gnuplot-nox for the plots", file=sys.stderr)
        return None
    return png


def main():
    results = sys.argv[1] if len(sys.argv) > 1 else "build/results"
    bench = load(results)
    with open(os.path.join(results, "bench.json"), "w") as f:
        json.dump(bench, f, indent=1)
    print(table(bench))
    irq_png = cdf_plot(bench.get("irq", {}), ["eventfd", "loopback", "ics", "ics_raw", "ics_epoll", "ics_busy"],
                       "interrupt -> wake-up latency (CDF)", os.path.join(results, "irq_cdf.png"), results)
    rtt_png = cdf_plot(bench.get("rtt", {}), RTT_ORDER,
                       "round-trip latency through the two NICs (CDF)", os.path.join(results, "rtt_cdf.png"), results)
    print(f"\nJSON: {os.path.join(results, 'bench.json')}")
    for png in (irq_png, rtt_png):
        if png:
            print(f"plot: {png}")


if __name__ == "__main__":
    main()
