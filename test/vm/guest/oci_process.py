#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A stand-in for `crun run --bundle B NAME` where crun cannot run: the test-bed's tiny iommufd kernel has
no user namespaces, and crun reads /proc/self/uid_map unconditionally. It runs config.json's process as the
runtime would hand it over (user and no supplementary groups, env, cwd, rlimits, args; the linux.devices
nodes given to that user) but without namespaces, rootfs, capabilities dropping or a device cgroup: those
are crun's, and are tested on the 6.1 kernel. Options before `run` and `--no-pivot` are ignored.
usage: oci_process.py [OPTIONS] run [--no-pivot] --bundle BUNDLE NAME | kill NAME SIGNAL"""
import json
import os
import resource
import sys

args = [a for a in sys.argv[1:] if not a.startswith("--cgroup-manager")]
if args and args[0] == "kill":
    sys.exit(0)  # nothing to kill: the process is this script's own child, gone when it ends
if not args or args[0] != "run" or "--bundle" not in args:
    print("oci_process.py: usage: run --bundle BUNDLE NAME", file=sys.stderr)
    sys.exit(2)
bundle = args[args.index("--bundle") + 1]
cfg = json.load(open(os.path.join(bundle, "config.json")))
proc, devs = cfg["process"], cfg["linux"].get("devices", [])
saved = [(d["path"], os.stat(d["path"])) for d in devs]
for d in devs:
    os.chown(d["path"], d["uid"], d["gid"])
    os.chmod(d["path"], d["fileMode"])
pid = os.fork()
if pid == 0:
    for r in proc.get("rlimits", []):
        resource.setrlimit(getattr(resource, r["type"]), (r["soft"], r["hard"]))
    os.setgroups([])
    os.setgid(proc["user"]["gid"])
    os.setuid(proc["user"]["uid"])
    os.chdir(proc.get("cwd", "/"))
    env = dict(e.split("=", 1) for e in proc.get("env", []))
    os.execvpe(proc["args"][0], proc["args"], env)
_, status = os.waitpid(pid, 0)
for path, st in saved:
    os.chown(path, st.st_uid, st.st_gid)
    os.chmod(path, st.st_mode & 0o7777)
sys.exit(os.waitstatus_to_exitcode(status))
