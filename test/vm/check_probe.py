#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Host side of the upci-probe VM test: checks what the guest's probe printed (test/vm/guest/probe.sh saved it
with the kernel's own view of the reserved regions), prints TAP.

usage: check_probe.py OUTDIR
"""
import json
import os
import sys

out = sys.argv[1]
results = []


def check(ok, what, detail=""):
    results.append(bool(ok))
    line = f"{'ok' if ok else 'not ok'} {len(results)} - {what}"
    print(line + (f"  # {detail}" if detail and not ok else ""), flush=True)
    return ok


def read(name, default=""):
    try:
        with open(os.path.join(out, name)) as f:
            return f.read()
    except OSError:
        return default


class Run:
    """One probe run in the guest: exit status, stdout, stderr."""

    def __init__(self, name):
        self.rc = int(read(name + ".rc", "-1").strip() or -1)
        self.stdout = read(name + ".out")
        self.stderr = read(name + ".err")

    def json(self):
        try:
            return json.loads(self.stdout)
        except ValueError:
            return {"devices": []}


env = dict(line.split("=", 1) for line in read("env").split() if "=" in line)
isolated = env.get("intremap") != "off"
backend = "iommufd" if env.get("kernel") == "iommufd" else "type1"
arch = env.get("arch", "x86_64")


def kernel_msi_window(bdf):
    """The msi reserved region of the device's group, as the guest kernel's sysfs has it."""
    for line in read("resv-" + bdf).splitlines():
        start, end, kind = line.split()[:3]
        if kind == "msi":
            return int(start, 16), int(end, 16)
    return None


def hexes(pair):
    return (f"0x{pair[0]:016x}", f"0x{pair[1]:016x}") if pair else None


# The test-bed's own knowledge, to see that the kernel's view above is the platform's and not an accident.
EXPECTED_WINDOW = {"x86_64": (0xfee00000, 0xfeefffff), "aarch64": (0x08000000, 0x080fffff)}[arch]

check(read("complete").strip() == "done", "the guest ran every probe command")
every = Run("all")
check(every.rc == 0, "upci-probe --json exits 0", every.stderr.strip())
report = every.json() if every.rc == 0 else {"devices": []}
nics = [d for d in report["devices"] if (d["vendor"], d["device"]) == ("0x8086", "0x10d3")]
check(len(nics) == 2, "both 8086:10d3 NICs are listed", f"found {[d['bdf'] for d in nics]}")
check(all(d["driver"] == "vfio-pci" for d in nics), "both NICs are bound to vfio-pci",
      str([(d["bdf"], d["driver"]) for d in nics]))
groups = [d["iommu_group"] for d in nics]
check(len(set(groups)) == len(nics) and None not in groups, "each NIC has an IOMMU group of its own", str(groups))
check(all([m["name"] for m in d["group_devices"]] == [d["bdf"]] for d in nics),
      "each NIC is the only member of its group", str([d["group_devices"] for d in nics]))
windows = {d["bdf"]: kernel_msi_window(d["bdf"]) for d in nics}
check(len(nics) > 0 and all(w == EXPECTED_WINDOW for w in windows.values()),
      f"the kernel's msi reserved region on {arch} is 0x{EXPECTED_WINDOW[0]:x}-0x{EXPECTED_WINDOW[1]:x}",
      str(windows))
check(len(nics) > 0 and all({"type": "msi", "start": hexes(windows[d["bdf"]])[0], "end": hexes(windows[d["bdf"]])[1]}
                            in d["reserved_regions"] for d in nics if windows[d["bdf"]]),
      "the probe reports that msi reserved region for each NIC's group", str([d["reserved_regions"] for d in nics]))

check(all(d.get("backend") == backend for d in nics), f"the VFIO view opens each NIC with the {backend} backend",
      str([(d["bdf"], d.get("backend"), d.get("vfio_error")) for d in nics]))
check(all(d.get("isolated") is isolated and d.get("isolation_reason") for d in nics),
      f"isolated is {str(isolated).lower()}, with a reason", str([d.get("isolation_reason") for d in nics]))
check(all(d.get("msix", {}).get("vectors") == 5 for d in nics), "msix.vectors is 5")
check(all(d.get("msix", {}).get("table_mapped") is isolated for d in nics),
      f"msix.table_mapped is {str(isolated).lower()}", str([d.get("msix") for d in nics]))
check(all(len(d.get("regions", [])) >= 8 and d["regions"][0]["mapped_whole"] for d in nics),
      "regions are listed and BAR 0 is mapped whole")
check(all(d.get("iova_ranges") and not any(int(r["start"], 16) <= EXPECTED_WINDOW[1] and
                                           int(r["last"], 16) >= EXPECTED_WINDOW[0] for r in d["iova_ranges"])
          for d in nics), "iova_ranges are reported and leave out the MSI window", str([d.get("iova_ranges") for d in nics]))
check(all([(w["start"], w["last"]) for w in d.get("doorbell_windows", [])] == [hexes(windows[d["bdf"]])]
          for d in nics), "doorbell_windows lists the msi window", str([d.get("doorbell_windows") for d in nics]))
check(all(d.get("usable_iova_ranges") for d in nics), "usable_iova_ranges are listed")

# Doorbell visibility: where each vector's MSI write goes.
entries = [e for d in nics for e in d.get("msix", {}).get("entries", [])]
check(len(entries) == 10 and [e["vector"] for e in entries] == [0, 1, 2, 3, 4] * 2,
      "msix.entries lists the 5 vectors of each NIC", str(entries))
if isolated:
    check(all(d["msix"].get("programmed") for d in nics), "the probe enabled the vectors for the reading",
          str([d["msix"].get("program_error") for d in nics]))
    in_window = [e for e in entries if e["address"] and EXPECTED_WINDOW[0] <= int(e["address"], 16) <= EXPECTED_WINDOW[1]]
    check(len(entries) == 10 and len(in_window) == 10,
          f"every vector's programmed address lies in 0x{EXPECTED_WINDOW[0]:x}-0x{EXPECTED_WINDOW[1]:x}",
          str([e["address"] for e in entries]))
    check(len(entries) == 10 and all(e["window"] and (e["window"]["start"], e["window"]["last"]) == hexes(EXPECTED_WINDOW)
                                     for e in entries),
          "and msix.entries[].window names that window", str([e["window"] for e in entries]))
    if arch == "aarch64":
        # GICv3 ITS: every vector writes its event ID to GITS_TRANSLATER, which the kernel maps at the start of
        # the software-MSI window (+0x40 in the ITS frame): one doorbell IOVA, one data value per vector.
        check(len(entries) == 10 and all(e["address"] == "0x0000000008000040" for e in entries),
              "on aarch64 every vector's address is the ITS doorbell IOVA 0x08000040", str([e["address"] for e in entries]))
        check(all(len({e["data"] for e in d["msix"]["entries"]}) == 5 for d in nics),
              "each vector has its own event ID (Message Data)", str([e["data"] for e in entries]))
    else:
        # Interrupt remapping: the remappable format (address bit 4) with a per-vector handle, not an APIC ID.
        check(len(entries) == 10 and all(int(e["address"], 16) & 0x10 for e in entries),
              "on x86 every address is in the remappable format (bit 4 set)", str([e["address"] for e in entries]))
    quiet = Run("noprog").json()["devices"]
    check(len(quiet) == 1 and all(e["address"] is not None and e["masked"] for e in quiet[0]["msix"]["entries"])
          and quiet[0]["msix"]["programmed"] is False,
          "--no-msix-program reads the table as it is (vectors masked, not programmed by the probe)",
          str(quiet and quiet[0]["msix"]))
else:
    check(len(entries) == 10 and all(e["address"] is None and e["window"] is None and e.get("unreadable")
                                     for e in entries),
          "without isolation the table is not mapped: every entry's address is null, with the reason",
          str(entries[:1]))

one = Run("one")
one_devs = one.json()["devices"] if one.rc == 0 else []
same = next((d for d in nics if d["bdf"] == "0000:00:02.0"), None)
def strip(d):
    # Each open programs the vectors afresh (x86 remapping handles may differ): all but the entries must match.
    d = dict(d or {})
    d["msix"] = {k: v for k, v in d.get("msix", {}).items() if k != "entries"}
    return d
check(one.rc == 0 and len(one_devs) == 1 and one_devs[0]["bdf"] == "0000:00:02.0" and strip(one_devs[0]) == strip(same)
      and len(one_devs[0]["msix"]["entries"]) == len((same or {}).get("msix", {}).get("entries", [None])),
      "upci-probe --json 00:02.0 reports that NIC alone, as in the full listing", one.stderr.strip())

text = Run("text")
window_text = hexes(windows.get("0000:00:03.0"))
check(text.rc == 0 and "vfio-pci" in text.stdout and window_text and window_text[0] in text.stdout,
      "text report of 0000:00:03.0 names the driver and the msi window", text.stdout + text.stderr)
check(text.rc == 0 and ("MSI-X vector 4: address" in text.stdout) == isolated,
      "the text report shows the vectors' addresses when the table is mapped", text.stdout)

for name, what in (("bad-bdf", "a malformed BDF"), ("absent", "an absent device")):
    r = Run(name)
    check(r.rc == 2 and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1,
          f"{what} gives one clear line and exit status 2", f"rc={r.rc} err={r.stderr!r}")

print(f"1..{len(results)}")
sys.exit(0 if all(results) else 1)
