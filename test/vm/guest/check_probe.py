#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Guest side of the upci-probe VM test: checks the probe's view of the test-bed, prints TAP.

usage: check_probe.py PROBE
"""
import json
import subprocess
import sys

probe = sys.argv[1]
results = []


def check(ok, what, detail=""):
    results.append(ok)
    line = f"{'ok' if ok else 'not ok'} {len(results)} - {what}"
    print(line + (f"  # {detail}" if detail and not ok else ""), flush=True)
    return ok


def run(*args):
    return subprocess.run([probe, *args], capture_output=True, text=True, timeout=60)


def nics_of(report):
    return [d for d in report["devices"] if (d["vendor"], d["device"]) == ("0x8086", "0x10d3")]


def msi_window(dev):
    return any(r == {"type": "msi", "start": "0x00000000fee00000", "end": "0x00000000feefffff"}
               for r in dev["reserved_regions"])


every = run("--json")
check(every.returncode == 0, "upci-probe --json exits 0", every.stderr.strip())
report = json.loads(every.stdout) if every.returncode == 0 else {"devices": []}
nics = nics_of(report)
check(len(nics) == 2, "both 8086:10d3 NICs are listed", f"found {[d['bdf'] for d in nics]}")
check(all(d["driver"] == "vfio-pci" for d in nics), "both NICs are bound to vfio-pci",
      str([(d["bdf"], d["driver"]) for d in nics]))
groups = [d["iommu_group"] for d in nics]
check(len(set(groups)) == len(nics) and None not in groups, "each NIC has an IOMMU group of its own",
      str(groups))
check(all([m["name"] for m in d["group_devices"]] == [d["bdf"]] for d in nics),
      "each NIC is the only member of its group", str([d["group_devices"] for d in nics]))
check(len(nics) > 0 and all(msi_window(d) for d in nics),
      "the msi reserved region 0xfee00000-0xfeefffff is reported for each NIC's group",
      str([d["reserved_regions"] for d in nics]))

import os
isolated = os.environ.get("UPCI_VM_INTREMAP") != "off"
backend = "iommufd" if os.environ.get("UPCI_VM_KERNEL") == "iommufd" else "type1"
check(all(d.get("backend") == backend for d in nics), f"the VFIO view opens each NIC with the {backend} backend",
      str([(d["bdf"], d.get("backend"), d.get("vfio_error")) for d in nics]))
check(all(d.get("isolated") is isolated and d.get("isolation_reason") for d in nics),
      f"isolated is {str(isolated).lower()}, with a reason", str([d.get("isolation_reason") for d in nics]))
check(all(d.get("msix", {}).get("vectors") == 5 for d in nics), "msix.vectors is 5")
check(all(d.get("msix", {}).get("table_mapped") is isolated for d in nics),
      f"msix.table_mapped is {str(isolated).lower()}", str([d.get("msix") for d in nics]))
check(all(len(d.get("regions", [])) >= 8 and d["regions"][0]["mapped_whole"] for d in nics),
      "regions are listed and BAR 0 is mapped whole")
check(all(d.get("iova_ranges") and not any(int(r["start"], 16) <= 0xfeefffff and int(r["last"], 16) >= 0xfee00000
                                           for r in d["iova_ranges"]) for d in nics),
      "iova_ranges are reported and leave out the MSI window", str([d.get("iova_ranges") for d in nics]))

check(all([(w["start"], w["last"]) for w in d.get("doorbell_windows", [])] == [("0x00000000fee00000", "0x00000000feefffff")]
          for d in nics), "doorbell_windows lists the msi window", str([d.get("doorbell_windows") for d in nics]))
check(all(d.get("usable_iova_ranges") for d in nics), "usable_iova_ranges are listed")

one = run("--json", "00:02.0")
one_devs = json.loads(one.stdout)["devices"] if one.returncode == 0 else []
check(one.returncode == 0 and len(one_devs) == 1 and one_devs[0]["bdf"] == "0000:00:02.0"
      and one_devs[0] == next((d for d in nics if d["bdf"] == "0000:00:02.0"), None),
      "upci-probe --json 00:02.0 reports that NIC alone, as in the full listing", one.stderr.strip())

text = run("0000:00:03.0")
check(text.returncode == 0 and "vfio-pci" in text.stdout and "0x00000000fee00000" in text.stdout,
      "text report of 0000:00:03.0 names the driver and the msi window", text.stdout + text.stderr)

for bad, what in (("00:02.x", "a malformed BDF"), ("0000:00:1e.0", "an absent device")):
    r = run(bad)
    check(r.returncode == 2 and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1,
          f"{what} gives one clear line and exit status 2", f"rc={r.returncode} err={r.stderr!r}")

print(f"1..{len(results)}")
sys.exit(0 if all(results) else 1)
