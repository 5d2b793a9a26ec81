# SPDX-License-Identifier: BSD-3-Clause
# Guest side of the container VM test, sourced by port.sh (vmrun --nics 4) at its end, or run on its own:
#   sh container.sh VM_PORT_BINARY EXAMPLES_DIR [OUT]
# Runs doc/container.md's recipe block exactly as the doc shows it: Debian's crun runs examples/l2fwd (no
# device argument: PCIDEVICE_INTEL_COM_E1000E) in an OCI bundle with the host's /usr read-only, uid 1000, no
# capabilities, only the VFIO nodes of nic0 and nic1 (type1: /dev/vfio/vfio + groups; iommufd: /dev/iommu +
# cdevs) and RLIMIT_MEMLOCK from config.json; nic2 feeds frames from outside, nic3 receives what l2fwd
# forwards. Then the same with containerd's default memlock of 8 MiB: the one library line that says what it
# needs and how to get it. The generated config.json and the outputs are kept in OUT.
if ! command -v tap_ok >/dev/null 2>&1; then
	bin=$1 examples=$2 c_out=${3:-}
	. "$(dirname "$0")/tap.sh"
	standalone=1
fi
c_out=${c_out:-$(dirname "$examples")/results/container-$UPCI_VM_KERNEL}
c_tree=$(cd "$(dirname "$0")/../../.." && pwd)
c_frames=2000
mkdir -p "$c_out"
echo "# container: crun $(crun --version | sed -n 's/^crun version //p'), kernel $UPCI_VM_KERNEL"

# Test-bed only: a real host has its cgroup hierarchy mounted; this guest's init mounts none, and the tiny
# iommufd kernel has no cgroups at all (crun still wants a filesystem on /sys/fs/cgroup: with a tmpfs there
# and --cgroup-manager=disabled it runs the container without cgroups).
# The guest's / is the initramfs, which pivot_root(2) cannot leave: crun's --no-pivot (chroot) there.
run_opts=--no-pivot crun_opts=
if ! mountpoint -q /sys/fs/cgroup 2>/dev/null; then
	if ! mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null; then
		mount -t tmpfs tmpfs /sys/fs && mkdir /sys/fs/cgroup && mount -t tmpfs tmpfs /sys/fs/cgroup
		crun_opts=--cgroup-manager=disabled
	fi
fi
# DMA memory in 4 KiB pages, as in a container that is given no hugepages: the memlock figure of doc/bind.md.
echo 0 > /proc/sys/vm/nr_hugepages
echo "# crun global options: ${crun_opts:-none}; run options: $run_opts"
backend=type1
[ "$UPCI_VM_KERNEL" = iommufd ] && backend=iommufd
bdf_a=0000:00:02.0 bdf_b=0000:00:03.0 build=$(dirname "$examples")

# crun reads /proc/self/uid_map whatever the bundle asks for: a kernel without user namespaces cannot run it
# (the iommufd kernel's fragment has CONFIG_USER_NS for this).
[ -e /proc/self/uid_map ] || echo "# this kernel has no user namespaces (no /proc/self/uid_map): crun cannot run"

# The recipe: the doc's one block after its "container recipe" marker, run as it is, from the source tree.
recipe=$c_out/recipe.sh
sed -n '/^<!-- container recipe/,/^```$/p' "$c_tree/doc/container.md" | sed '1,2d;$d' > "$recipe"
[ -s "$recipe" ] && grep -q "crun" "$recipe" && grep -q upci-oci-bundle "$recipe"
tap_ok $? "doc/container.md's recipe block found ($(wc -l < "$recipe") lines)"
sed 's/^/#   /' "$recipe"
# run_recipe MEMLOCK_KIB FRAMES : the recipe in the background, its output in $c_log
run_recipe() {
	c_log=$c_out/run-$1.out
	: > "$c_log" # truncated here, not by the job: the wait below must not see the last run's output
	(cd "$c_tree" && memlock_kib=$1 frames=$2 backend=$backend build=$build bdf_a=$bdf_a bdf_b=$bdf_b \
		crun_opts=$crun_opts run_opts=$run_opts sh -e "$recipe") > "$c_log" 2> "$c_log.err" &
	c_pid=$!
}

run_recipe 8736 $c_frames
i=0 # l2fwd's first line says both ports are up (seen to take more than 20 s late in a loaded 6.12 boot)
while [ ! -s "$c_log" ] && [ $i -lt 600 ] && kill -0 $c_pid 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
echo "# l2fwd up after $((i / 10)) s"
if [ -s "$c_log" ]; then
	tap_run "$bin" feed 0000:00:07.0 0000:00:08.0 $c_frames
else
	tap_ok 1 "l2fwd in the container is up (its first line)"
fi
crun $crun_opts kill upci-l2fwd KILL 2>/dev/null # only if it is still there: l2fwd ends by itself after $c_frames frames
wait $c_pid; c_rc=$?
sed 's/^/# stdout: /' "$c_log"; sed 's/^/# stderr: /' "$c_log.err"
cp /tmp/upci-l2fwd/config.json "$c_out/config.json" 2>/dev/null
fwd=$(grep "done:" "$c_log" | sed -n 's/.*a->b \([0-9]*\) frames.*/\1/p')
[ "$c_rc" = 0 ] && [ "$fwd" = $c_frames ]
tap_ok $? "crun: l2fwd in the container (uid 1000, memlock 8736 KiB, $backend nodes only) forwarded ${fwd:-no} of $c_frames frames (exit $c_rc)"
python3 - "$c_out/config.json" "$backend" <<'PY'
import json, sys
c, backend = json.load(open(sys.argv[1])), sys.argv[2]
p, devs = c["process"], [d["path"] for d in c["linux"]["devices"]]
assert p["user"]["uid"] == 1000 and p["user"]["gid"] == 1000, p["user"]
assert all(not v for v in p["capabilities"].values()), p["capabilities"]
assert p["rlimits"] == [{"type": "RLIMIT_MEMLOCK", "hard": 8736 << 10, "soft": 8736 << 10}], p["rlimits"]
assert "PCIDEVICE_INTEL_COM_E1000E=0000:00:02.0,0000:00:03.0" in p["env"], p["env"]
assert c["root"]["readonly"] and any(m["destination"] == "/usr" and "ro" in m["options"] for m in c["mounts"])
if backend == "iommufd":
    assert "UPCI_BACKEND=iommufd" in p["env"], p["env"]
    assert devs[0] == "/dev/iommu" and len(devs) == 3 and all(d.startswith("/dev/vfio/devices/vfio") for d in devs[1:]), devs
else:
    assert devs[0] == "/dev/vfio/vfio" and len(devs) == 3 and all(d[len("/dev/vfio/"):].isdigit() for d in devs[1:]), devs
PY
tap_ok $? "config.json: uid 1000, no capabilities, RLIMIT_MEMLOCK 8736 KiB, PCIDEVICE_INTEL_COM_E1000E, /usr ro, only the $backend VFIO nodes"

# containerd's default (and Kubernetes cannot change it per pod): 8 MiB. l2fwd must say, in one line, what
# it needs and how to get it.
run_recipe 8192 10
wait $c_pid; c_rc=$?
sed 's/^/# stderr: /' "$c_log.err"
need=$(grep -c "RLIMIT_MEMLOCK of 8192 KiB: raise it (ulimit -l 8736," "$c_log.err")
[ "$c_rc" != 0 ] && [ "$need" = 1 ] && [ "$(grep -c "^upci: .*RLIMIT_MEMLOCK" "$c_log.err")" = 1 ] &&
	grep -q "CAP_IPC_LOCK" "$c_log.err"
tap_ok $? "with memlock 8 MiB (containerd's default) l2fwd fails (exit $c_rc) with one line: ulimit -l 8736, or CAP_IPC_LOCK"
[ -n "${standalone:-}" ] && tap_end
