#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Soft-RoCE for the bench's verbs baseline (verbs_rtt), in the guest, on the two kernel-driven e1000e netdevs:
# an rxe device on each (rxe_a on A's netdev, rxe_b on B's), each netdev with one IPv4 address, and routing
# that makes the traffic between the two addresses cross the NICs although both are local addresses of the
# one guest:
#   - each peer address is routed out of the other NIC: for a packet leaving by A's netdev (rxe names the
#     netdev as the output interface) the rule 'oif A lookup 77' finds 10.77.0.2 on A in table 77, and the
#     same for B in table 78, both before the 'local' table, which is moved from preference 0 to 1000
#     (otherwise a local destination is always delivered through lo);
#   - a packet coming in carries a local source address: accept_local=1 and rp_filter=0 let it in;
#   - static neighbours (each address at the other NIC's MAC): no ARP, which would also go through lo.
# usage: rxe-setup.sh up|down BDF_A BDF_B
set -eu
cmd=$1 a=$2 b=$3
addr_a=10.77.0.1 addr_b=10.77.0.2
# iproute2's ip by its full path: in the test VM /sbin/ip is busybox's (no 'ip rule ... oif'), and busybox sh
# runs its own applet before searching PATH.
ip=/usr/bin/ip
[ -x "$ip" ] || { echo "rxe-setup: no $ip (Debian package iproute2)" >&2; exit 1; }
ifname() {
	ls "/sys/bus/pci/devices/$1/net" 2>/dev/null | head -n1 | grep . ||
		{ echo "rxe-setup: $1 has no netdev: is it on the kernel's e1000e driver?" >&2; exit 1; }
}
ia=$(ifname "$a") ib=$(ifname "$b")

# Wait until FILE's content matches PATTERN, at most 10 s.
wait_for() {
	i=0
	until grep -qs "$2" $1; do
		i=$((i + 1))
		[ $i -le 100 ] || { echo "rxe-setup: timed out waiting for '$2' in $1" >&2; exit 1; }
		sleep 0.1
	done
}

case $cmd in
up)
	if [ ! -d /sys/module/rdma_rxe ]; then
		echo "rxe-setup: no rdma_rxe module in this kernel ($(uname -r))" >&2
		exit 1
	fi
	for i in "$ia" "$ib"; do
		echo 1 > "/proc/sys/net/ipv4/conf/$i/accept_local"
		echo 0 > "/proc/sys/net/ipv4/conf/$i/rp_filter"
	done
	echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter
	# One ip process for all of it: each start of the dynamically linked ip costs 1-3 s in the TCG guest.
	"$ip" -batch - <<-EOF2
		link set $ia up
		link set $ib up
		addr add $addr_a/32 dev $ia
		addr add $addr_b/32 dev $ib
		route add $addr_b/32 dev $ia table 77
		route add $addr_a/32 dev $ib table 78
		rule add pref 77 oif $ia lookup 77
		rule add pref 78 oif $ib lookup 78
		rule add pref 1000 lookup local
		rule del pref 0 lookup local
		neigh replace $addr_b lladdr $(cat "/sys/class/net/$ib/address") dev $ia nud permanent
		neigh replace $addr_a lladdr $(cat "/sys/class/net/$ia/address") dev $ib nud permanent
	EOF2
	rdma link add rxe_a type rxe netdev "$ia"
	rdma link add rxe_b type rxe netdev "$ib"
	for d in rxe_a rxe_b; do
		wait_for "/sys/class/infiniband/$d/ports/1/state" ACTIVE
		# The RoCE v2 GID of the netdev's IPv4 address (IPv4-mapped, 10.77.0.x = 0a4d:000x), added by ib_core.
		wait_for "/sys/class/infiniband/$d/ports/1/gids/*" "0000:ffff:0a4d:000"
	done
	;;
down)
	[ -d /sys/module/rdma_rxe ] || exit 0 # 'up' did nothing either
	rdma link delete rxe_a 2>/dev/null || true
	rdma link delete rxe_b 2>/dev/null || true
	restore=
	if "$ip" rule show pref 1000 2>/dev/null | grep -q local; then # moved by 'up': back to preference 0
		restore="rule add pref 0 lookup local
rule del pref 1000 lookup local"
	fi
	"$ip" -force -batch - 2>/dev/null <<-EOF2 || true
		$restore
		rule del pref 77
		rule del pref 78
		route flush table 77
		route flush table 78
		addr del $addr_a/32 dev $ia
		addr del $addr_b/32 dev $ib
	EOF2
	;;
*)
	echo "usage: rxe-setup.sh up|down BDF_A BDF_B" >&2
	exit 2
	;;
esac
