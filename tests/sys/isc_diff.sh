#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# isc_diff.sh — differential test: does rackdhcpd decide like ISC dhcpd 4.4
# configured the way MAAS configures it?
#
# One scenario of client messages (tests/sys/isc_diff/scenario.json: DORA,
# DISCOVER with a requested address, INIT-REBOOT right and wrong, RENEW,
# RELEASE and DECLINE followed by DISCOVER, INFORM, a reservation, a relayed
# DISCOVER with option 82, requested lease times, PXE BIOS / UEFI TFTP /
# UEFI HTTP / iPXE / arm64 boot requests) is
#
#   1. sent live to ISC dhcpd (isc_diff/dhcpd.conf) running in a network
#      namespace, from a second namespace over a veth pair (scapy sendp, one
#      message at a time, answers collected with a bounded timeout);
#   2. answered by `rackdhcpd --replay` with the equivalent YAML
#      (isc_diff/rackdhcpd.yaml), adaptively: each message is built from
#      OUR earlier answers and the growing capture replayed again;
#   3. compared step by step by meaning (isc_diff.py compare): message type,
#      yiaddr by the step's rule (in the pool / the requested / the previous
#      address / the reserved one), siaddr, file, sname, reply port and every
#      option by code.  Known, intentional differences are allow-listed in
#      isc_diff.py with the reason (docs/isc-differences.md); anything else
#      fails.
#
# Skips (1..0 # SKIP, exit $RD_SKIP_STATUS, default 77) when not root, when
# network namespaces or veth pairs cannot be made, when dhcpd or Debian's
# python3 with scapy is missing, or when rackdhcpd is not built.  With
# RD_ISC_DIFF_SELFTEST=1 and no rackdhcpd, it runs the ISC half and checks
# the comparison logic on ISC's answers instead.  RD_KEEP_TMP=1 keeps the
# temp dir (captures isc.pcap, ours-in.pcap, ours-out.pcap, answers as JSON,
# dhcpd's log).
#
# Traffic stays inside the two namespaces this script creates; everything
# (namespaces, dhcpd by PID, temp dir) is removed on exit.  Runtime ~10 s.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
: "${DHCPD:=$(command -v dhcpd || echo /usr/sbin/dhcpd)}"
: "${RD_PYTHON:=/usr/bin/python3}"
: "${RACKDHCPD:=$top_builddir/dhcpd/rackdhcpd}"

. "$top_srcdir/tests/sys/lib.sh"

DATA="$top_srcdir/tests/sys/isc_diff"
DRIVER="$top_srcdir/tests/sys/isc_diff.py"

need_root
[ -x "$DHCPD" ] || skip_all "ISC dhcpd not found"
"$RD_PYTHON" -c 'import scapy.all' >/dev/null 2>&1 || skip_all "$RD_PYTHON has no scapy (python3-scapy)"
selftest=
if [ ! -x "$RACKDHCPD" ]; then
	[ "${RD_ISC_DIFF_SELFTEST:-}" = 1 ] || skip_all "$RACKDHCPD not built"
	selftest=1
fi
need_netns

sys_init isc_diff
ns_create srv || { echo "Bail out! cannot create namespace"; exit 99; }
ns_create cli || { echo "Bail out! cannot create namespace"; exit 99; }
for ns in srv cli; do
	ns_exec $ns sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
done
veth_create srv s0 cli c0 || { echo "Bail out! cannot create the veth pair"; exit 99; }
ns_addr srv s0 192.0.2.1/24
# The client end holds the INFORM client's address (ISC answers INFORM by
# unicast to ciaddr) and the relay's (answers to giaddr go to port 67 there).
ns_addr cli c0 192.0.2.60/24
ns_addr cli c0 192.0.2.61/24
ns_exec cli ip link set c0 promisc on
SRV_MAC=$(ns_mac srv s0)

: >"$SYS_TMP/dhcpd.leases"
proc_start isc ip netns exec "$(ns_name srv)" "$DHCPD" -4 -f -d -cf "$DATA/dhcpd.conf" \
	-lf "$SYS_TMP/dhcpd.leases" -pf "$SYS_TMP/dhcpd.pidfile" s0
ready() { grep -q '^Sending on.*/s0' "$SYS_TMP/isc.out" 2>/dev/null || ! proc_alive isc; }
wait_for 10 ready
if ! proc_alive isc || ! grep -q '^Sending on.*/s0' "$SYS_TMP/isc.out"; then
	echo "Bail out! ISC dhcpd did not start"
	sed 's/^/# /' "$SYS_TMP/isc.out" | tail -n 30
	exit 99
fi

# 1. ISC, live (bounded: 2 s per answer, 40 s in all, killed after 50 s).
if ! timeout -k 5 50 ip netns exec "$(ns_name cli)" "$RD_PYTHON" "$DRIVER" live \
	--scenario "$DATA/scenario.json" --iface c0 --server-mac "$SRV_MAC" \
	--out "$SYS_TMP/isc.json" --pcap "$SYS_TMP/isc.pcap" 2>"$SYS_TMP/live.err"; then
	echo "Bail out! live exchange with ISC dhcpd failed"
	sed 's/^/# /' "$SYS_TMP/live.err" | tail -n 30
	exit 99
fi
proc_stop isc

if [ -n "$selftest" ]; then
	echo "# $RACKDHCPD not built: checking the comparison on ISC's answers only"
	"$RD_PYTHON" "$DRIVER" selftest --scenario "$DATA/scenario.json" --isc "$SYS_TMP/isc.json"
	exit $?
fi

# 2. rackdhcpd, replayed adaptively.
if ! timeout -k 5 60 "$RD_PYTHON" "$DRIVER" replay --scenario "$DATA/scenario.json" \
	--rackdhcpd "$RACKDHCPD" --config "$DATA/rackdhcpd.yaml" --server-mac "$SRV_MAC" \
	--tmp "$SYS_TMP" --out "$SYS_TMP/ours.json" 2>"$SYS_TMP/replay.err"; then
	echo "Bail out! rackdhcpd --replay failed"
	sed 's/^/# /' "$SYS_TMP/replay.err" | tail -n 30
	exit 99
fi

# 3. Compare.
"$RD_PYTHON" "$DRIVER" compare --scenario "$DATA/scenario.json" \
	--isc "$SYS_TMP/isc.json" --ours "$SYS_TMP/ours.json"
