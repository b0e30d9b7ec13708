#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fo_flap.sh — a flapping failover link under perfdhcp load (issue 5, "a
# flapping link never loses a binding and never duplicates one").
#
#   pri  10.40.0.1/16 on p0, 10.41.0.1/24 on f0   rackdhcpd, primary of "fo"
#   sec  10.40.0.2/16 on s0, 10.41.0.2/24 on f1   rackdhcpd, secondary
#   cli  br0 10.40.0.50/16 (p0's and s0's peers enslaved): perfdhcp -l br0 as
#        a relay, tcpdump capturing every DHCP packet on br0
#
# The failover link runs over its own veth pair (f0-f1, 10.41.0.0/24), so
# that setting f0 down cuts port 647 and nothing else (no iptables/nft on
# the test machines).  Per round: both servers start fresh and reach NORMAL,
# perfdhcp runs for FO_FLAP_SECONDS while f0 is set down for 7 s (longer
# than max_response_delay 5: both move to communications-interrupted) and
# up for 6 s, in turn; then the link stays up and, within a bounded wait,
# both servers must be NORMAL again and tests/sys/ack_check.py must find,
# in the client-side capture and in EACH server's store: no address ACKed
# to two clients at overlapping times, and every ACKed lease ACTIVE for its
# client.  Round 1 runs with ack_after_peer (the default), round 2, shorter,
# without it.
#
# Skips (exit 77) without root, network namespaces, perfdhcp, tcpdump,
# sqlite3 or the built daemon.  RD_KEEP_TMP=1 keeps the temp dir.  Every
# wait is bounded; runtime ~1.5-2 min.  FO_FLAP_RATE / FO_FLAP_CLIENTS /
# FO_FLAP_SECONDS override the load (60 DORA/s over 400 clients, 45 s; the
# second round runs 2/3 of that).
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
: "${PERFDHCP:=$(command -v perfdhcp || echo /usr/sbin/perfdhcp)}"
: "${TCPDUMP:=$(command -v tcpdump || echo /usr/bin/tcpdump)}"
: "${FO_FLAP_RATE:=60}"
: "${FO_FLAP_CLIENTS:=400}"
: "${FO_FLAP_SECONDS:=45}"
CHECKER="$top_srcdir/tests/sys/ack_check.py"

. "$top_srcdir/tests/sys/lib.sh"
. "$top_srcdir/tests/sys/fo_load.sh"

fo_load_init fo_flap
veth_create pri f0 sec f1 || { echo "Bail out! cannot create the failover veth pair"; exit 99; }
ns_addr pri f0 10.41.0.1/24
ns_addr sec f1 10.41.0.2/24



drained() {	# no binding update queued or in flight on either side (metrics)
	for s in pri sec; do
		q=$(metric $s rackdhcpd_failover_updates_queued)
		u=$(metric $s rackdhcpd_failover_updates_unacked)
		[ "${q:-1}" = 0 ] && [ "${u:-1}" = 0 ] || return 1
	done
}

round() {	# round N ACK_AFTER_PEER SECONDS
	R=$1
	rm -rf "$SYS_TMP/pri" "$SYS_TMP/sec"
	rm -f "$SYS_TMP/pri.out" "$SYS_TMP/sec.out" "$SYS_TMP/tcpdump.out" "$SYS_TMP/dhcp.pcap"
	conf pri p0 primary 10.41.0.1 10.41.0.2 "$2"
	conf sec s0 secondary 10.41.0.2 10.41.0.1 "$2"
	check "round $R (ack_after_peer $2): the primary starts" start pri
	check "round $R: the secondary starts" start sec
	check "round $R: both reach NORMAL" wait_for 60 both_normal
	check "round $R: the pool is balanced" wait_for 20 balanced
	proc_start tcpdump ip netns exec "$CLI" "$TCPDUMP" -i br0 -n -U -s 0 -w "$SYS_TMP/dhcp.pcap" \
		udp port 67 or udp port 68
	check "round $R: tcpdump captures on br0" wait_for 10 capturing

	proc_start perf ip netns exec "$CLI" timeout -k 2 $(($3 + 20)) "$PERFDHCP" -4 -l br0 -r "$FO_FLAP_RATE" \
		-R "$FO_FLAP_CLIENTS" -p "$3" -d 2 -W 1000000
	t=0 cuts=0
	sleep 3
	while [ $((t + 16)) -le "$3" ]; do	# 3 cuts in 45 s, 2 in 30 s
		ip -n "$(ns_name pri)" link set f0 down
		sleep 7
		ip -n "$(ns_name pri)" link set f0 up
		sleep 6
		t=$((t + 13)) cuts=$((cuts + 1))
	done
	i=0
	while proc_alive perf && [ $i -lt $((($3 + 20) * 10)) ]; do sleep 0.1; i=$((i + 1)); done
	proc_stop perf
	diag "round $R: $cuts cuts of the failover link; perfdhcp: $(pstat "$SYS_TMP/perf.out" DISCOVER-OFFER "sent packets") DISCOVERs," \
		"$(pstat "$SYS_TMP/perf.out" REQUEST-ACK "received packets") ACKs"
	moves=$(grep -c 'failover fo: I move from normal to communications-interrupted' "$SYS_TMP/pri.out")
	check "round $R: the primary lost the link and left NORMAL at every cut ($moves of $cuts)" \
		test "$moves" -ge "$cuts"
	check "round $R: both servers NORMAL again once the link stays up" wait_for 60 both_normal
	# the updates queued during the last cut go out on entering NORMAL:
	# wait until neither side has one queued or awaiting its BNDACK
	check "round $R: both servers drained their binding updates" wait_for 30 drained
	sleep 1	# the last BNDACKs' store commits
	proc_stop tcpdump
	proc_stop pri
	proc_stop sec
	grep -h 'refused' "$SYS_TMP/pri.out" "$SYS_TMP/sec.out" | grep -v 'cannot connect' | head -n 5 |
		sed 's/^/# refusals: /'
	diag "round $R: $(cat "$SYS_TMP/pri.out" "$SYS_TMP/sec.out" | grep -c 'stays ACTIVE for') stale FREE/BACKUP" \
		"refused, $(cat "$SYS_TMP/pri.out" "$SYS_TMP/sec.out" | grep -c 'sending our update of') updates" \
		"sent again after a lost duel"

	for s in pri sec; do
		/usr/bin/python3 "$CHECKER" "$SYS_TMP/dhcp.pcap" --db "$SYS_TMP/$s/state/leases.db" \
			>"$SYS_TMP/check-$R-$s.out" 2>&1
		st=$?
		head -n 20 "$SYS_TMP/check-$R-$s.out" | sed "s/^/# check $s: /"
		t_ok $st "round $R: no address ACKed to two clients at once; every ACKed lease ACTIVE in the $s store" \
			"$SYS_TMP/check-$R-$s.out"
	done
	cp "$SYS_TMP/pri.out" "$SYS_TMP/pri-$R.out"
	cp "$SYS_TMP/sec.out" "$SYS_TMP/sec-$R.out"
}

round 1 true "$FO_FLAP_SECONDS"
round 2 false $((FO_FLAP_SECONDS * 2 / 3))

echo "1..$T"
[ "$FAILED" -eq 0 ]
