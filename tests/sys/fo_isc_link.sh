#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fo_isc_link.sh — our failover link (failover/link.c) on the wire with a
# live ISC dhcpd 4.4, in two network namespaces joined by a veth pair:
#
#   isc  10.0.0.1/24  ISC dhcpd, failover peer "fo-test", MCLT 30, split 255
#   rd   10.0.0.2/24  tests/sys/fo_peer: one link plus a scripted minimal
#                     exchange (STATE recover, UPDREQALL, BNDACK every
#                     BNDUPD, UPDDONE for the peer's requests, then
#                     recover-done and normal; see fo_peer.c)
#
# Case (a): ISC primary, we secondary.  Case (b): we primary, ISC secondary.
# In each, with empty lease files on both sides, the handshake must
# complete, both servers must reach NORMAL, CONTACT must flow both ways once
# they fall silent, and ISC's log must show the peer's states ("peer moves
# from ...") and its own moves out of recover.  Case (c): ISC (primary)
# restarts under our running secondary link; we must see the link drop,
# reconnect, and ISC must go from startup back to normal.  ISC's log must
# never show a refusal of our CONNECT/CONNECTACK (duplicates aside) or an
# option or framing complaint ("FAILOVER: ...").  With $TSHARK set, the traffic is
# captured (tcpdump) in our namespace, and every message we sent must be
# dissected as dhcpfo (as many as the link says it sent), with no malformed
# packet or protocol warning.
#
# Skips (1..0 # SKIP, exit $RD_SKIP_STATUS, default 77) without root,
# network namespaces, /usr/sbin/dhcpd or the fo_peer program.  RD_KEEP_TMP=1
# keeps the temp dir (configs, logs, captures); RD_FO_DEBUG=1 logs every
# message the link sends or receives.  Every wait is bounded; runtime ~30 s.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
: "${DHCPD:=$(command -v dhcpd || echo /usr/sbin/dhcpd)}"
: "${FO_PEER:=$top_builddir/tests/sys/fo_peer}"
: "${TSHARK:=}"

. "$top_srcdir/tests/sys/lib.sh"

need_root
[ -x "$DHCPD" ] || skip_all "ISC dhcpd not found"
[ -x "$FO_PEER" ] || skip_all "$FO_PEER not built"
need_netns

ISC_IP=10.0.0.1
OUR_IP=10.0.0.2

sys_init fo_isc_link
ns_create isc || { echo "Bail out! cannot create namespace"; exit 99; }
ns_create rd || { echo "Bail out! cannot create namespace"; exit 99; }
for ns in isc rd; do
	ns_exec $ns sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
done
veth_create isc i0 rd r0 || { echo "Bail out! cannot create the veth pair"; exit 99; }
ns_addr isc i0 $ISC_IP/24
ns_addr rd r0 $OUR_IP/24

n=0
failed=0
t_ok() {	# t_ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}
check() {	# check DESCRIPTION CMD...
	d=$1
	shift
	if "$@"; then t_ok 0 "$d"; else t_ok 1 "$d"; fi
}
show() {	# show FILE [N]: the last N lines as TAP comments
	[ -f "$1" ] && tail -n "${2:-40}" "$1" | sed 's/^/#   /'
}

isc_conf() {	# isc_conf ROLE FILE
	{
		echo 'authoritative;'
		echo 'ddns-update-style none;'
		echo 'default-lease-time 600;'
		echo 'max-lease-time 7200;'
		echo 'ping-check false;'
		echo 'failover peer "fo-test" {'
		echo "  $1;"
		echo "  address $ISC_IP; port 647;"
		echo "  peer address $OUR_IP; peer port 647;"
		echo '  max-response-delay 9;'
		echo '  max-unacked-updates 10;'
		if [ "$1" = primary ]; then
			echo '  mclt 30;'
			echo '  split 255;'
		fi
		echo '  load balance max seconds 3;'
		echo '}'
		echo 'subnet 10.0.0.0 netmask 255.255.255.0 {'
		echo '  pool { failover peer "fo-test"; range 10.0.0.100 10.0.0.119; }'
		echo '}'
	} >"$2"
}

start_cap() {	# start_cap TAG: tcpdump in our namespace when $TSHARK is set
	if [ -n "$TSHARK" ] && command -v tcpdump >/dev/null 2>&1; then
		proc_start "cap-$1" ip netns exec "$(ns_name rd)" tcpdump -i r0 -U -n -Z root \
			-w "$SYS_TMP/$1.pcap" tcp port 647
		wait_for 5 grep -q 'listening on' "$SYS_TMP/cap-$1.out"
	fi
}

start_isc() {	# start_isc LABEL CONF LEASES
	proc_start "$1" ip netns exec "$(ns_name isc)" "$DHCPD" -4 -f -d -cf "$2" \
		-lf "$3" -pf "$SYS_TMP/$1.pid" i0
	isc_log=$SYS_TMP/$1.out
	isc_label=$1
	isc_ready() { grep -q '^Sending on.*/i0' "$isc_log" 2>/dev/null || ! proc_alive "$isc_label"; }
	wait_for 10 isc_ready
	if ! proc_alive "$1"; then
		echo "Bail out! ISC dhcpd did not start"
		show "$isc_log"
		exit 99
	fi
}

# The driver's common arguments: MCLT 30, our receive timer 9 s (ISC sends
# CONTACT every 3 s of silence), 30 s to get there, 5 s more in NORMAL.
FO_ARGS="--address $OUR_IP --peer-address $ISC_IP --mclt 30 --mrd 9 --max-unacked 10 --timeout 30 --linger 5"
[ -n "${RD_FO_DEBUG:-}" ] && FO_ARGS="$FO_ARGS --debug"

check_ours() {	# check_ours TAG OUT ERR RC UPS
	t_ok "$4" "($1) our link and ISC both reach NORMAL (fo_peer exit $4)"
	sed 's/^/#   ours: /' "$2"
	[ "$4" -eq 0 ] || show "$3" 30
	check "($1) the handshake completed $5 time(s)" test "$(grep -c '^UP ' "$2")" -eq "$5"
	check "($1) CONTACT both ways (ISC's keepalive and ours)" \
		grep -Eq '^LINK .*contacts-out=[1-9][0-9]* contacts-in=[1-9]' "$2"
}

check_isc_log() {	# check_isc_log TAG LOG: ISC's view
	echo "#   ISC's failover log ($(basename "$2")):"
	grep -E 'failover peer fo-test|Failover|FAILOVER|failover:|[Bb]oth servers|balanc|pool response|disconnected' "$2" |
		sed 's/^/#   isc: /' | head -n 60
	check "($1) ISC reached normal" grep -q 'failover peer fo-test: I move from .* to normal' "$2"
	check "($1) ISC refused none of our CONNECT/CONNECTACK (duplicates aside)" \
		sh -c "! grep -E 'Failover CONNECT(ACK)? (to|from) ' '$2' | grep -vq 'duplicate connection'"
	check "($1) ISC found nothing wrong in our messages" \
		sh -c "! grep -Eq 'FAILOVER: |invalid state transition|unknown failover|message length wait: [^e]' '$2'"
}

check_capture() {	# check_capture TAG OUT: tshark on what we sent
	cap="$SYS_TMP/$1.pcap"
	[ -n "$TSHARK" ] && [ -s "$cap" ] || return 0
	ours=$(sed -n 's/^LINK msgs-out=\([0-9]*\).*/\1/p' "$2")
	"$TSHARK" -r "$cap" -d tcp.port==647,dhcpfo -Y "ip.src==$OUR_IP && dhcpfo" \
		-T fields -e dhcpfo.type >"$SYS_TMP/$1.types" 2>"$SYS_TMP/$1.tshark.err"
	seen=$(tr ',' '\n' <"$SYS_TMP/$1.types" | grep -c '[0-9]')
	check "($1) tshark dissects all ${ours:-?} messages we sent as dhcpfo (saw $seen)" test "$seen" = "$ours"
	# Expert items on our frames: any malformed packet, or a warning/error
	# outside the TCP sequence group (0x02000000: resets, retransmissions).
	"$TSHARK" -r "$cap" -d tcp.port==647,dhcpfo -Y "ip.src==$OUR_IP && dhcpfo" \
		-T fields -E occurrence=a -E aggregator='|' -e frame.number -e _ws.malformed \
		-e _ws.expert.severity -e _ws.expert.group -e _ws.expert.message \
		>"$SYS_TMP/$1.expert" 2>>"$SYS_TMP/$1.tshark.err"
	awk -F'\t' '
		$2 != "" { print "frame " $1 ": malformed"; bad = 1 }
		{ ns = split($3, s, "|"); split($4, g, "|"); split($5, m, "|")
		  for (i = 1; i <= ns; i++)
			if (s[i] + 0 >= 6291456 && g[i] + 0 != 33554432) { print "frame " $1 ": " m[i]; bad = 1 } }
		END { exit bad }' "$SYS_TMP/$1.expert" >"$SYS_TMP/$1.problems"
	check "($1) tshark: no malformed dhcpfo and no protocol warning in our messages" test $? -eq 0
	show "$SYS_TMP/$1.problems" 10
	echo "#   we sent (tshark, by type): $(tr ',' '\n' <"$SYS_TMP/$1.types" | grep '[0-9]' |
		sort -n | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')"
}

prepare() {	# prepare TAG ISC_ROLE: config (checked by dhcpd -t) and an empty lease file
	isc_conf "$2" "$SYS_TMP/isc-$1.conf"
	: >"$SYS_TMP/isc-$1.leases"
	if ! "$DHCPD" -t -4 -cf "$SYS_TMP/isc-$1.conf" >"$SYS_TMP/isc-$1.check" 2>&1; then
		echo "Bail out! ISC refuses the generated configuration"
		show "$SYS_TMP/isc-$1.check"
		exit 99
	fi
}

# run_case TAG ISC_ROLE OUR_ROLE: both start from empty lease files.
run_case() {
	echo "# ---- case $1: ISC $2, rackdhcpd link $3, both new (recover)"
	prepare "$1" "$2"
	start_cap "$1"
	start_isc "isc-$1" "$SYS_TMP/isc-$1.conf" "$SYS_TMP/isc-$1.leases"
	# shellcheck disable=SC2086
	timeout -k 5 45 ip netns exec "$(ns_name rd)" "$FO_PEER" --role "$3" $FO_ARGS \
		>"$SYS_TMP/peer-$1.out" 2>"$SYS_TMP/peer-$1.err"
	rc=$?
	sleep 0.3       # ISC logs the link going away
	proc_stop "isc-$1"
	proc_stop "cap-$1"
	check_ours "$1" "$SYS_TMP/peer-$1.out" "$SYS_TMP/peer-$1.err" $rc 1
	check "($1) the link stayed up (no DOWN)" sh -c "! grep -q '^DOWN ' '$SYS_TMP/peer-$1.out'"
	check_isc_log "$1" "$SYS_TMP/isc-$1.out"
	check "($1) ISC saw our state change (\"peer moves from\")" \
		grep -q 'failover peer fo-test: peer moves from recover to recover-done' "$SYS_TMP/isc-$1.out"
	check "($1) ISC moved out of recover (\"I move from recover to\")" \
		grep -q 'failover peer fo-test: I move from recover to' "$SYS_TMP/isc-$1.out"
	check_capture "$1" "$SYS_TMP/peer-$1.out"
}

# Case c: ISC (primary) restarts under a running link; we reconnect.  On
# its way back up ISC connects to us while we connect to it: whichever
# handshake wins, the other connection is refused as a duplicate.
run_restart() {
	echo "# ---- case c: ISC primary restarts while our secondary link runs"
	prepare c primary
	start_cap c
	start_isc isc-c1 "$SYS_TMP/isc-c.conf" "$SYS_TMP/isc-c.leases"
	# shellcheck disable=SC2086
	proc_start peer-c timeout -k 5 45 ip netns exec "$(ns_name rd)" "$FO_PEER" --role secondary \
		$FO_ARGS --ups 2
	peer_pid=$(cat "$SYS_TMP/peer-c.pid")
	if wait_for 20 grep -q '^NORMAL-BOTH link 1' "$SYS_TMP/peer-c.out"; then
		proc_stop isc-c1
		start_isc isc-c2 "$SYS_TMP/isc-c.conf" "$SYS_TMP/isc-c.leases"
	fi
	wait_for 40 sh -c "! kill -0 $peer_pid 2>/dev/null"
	wait "$peer_pid"
	rc=$?
	rm -f "$SYS_TMP/peer-c.pid"
	sleep 0.3
	proc_stop isc-c2
	proc_stop cap-c
	check_ours c "$SYS_TMP/peer-c.out" "$SYS_TMP/peer-c.out" $rc 2
	check "(c) one DOWN: the peer closed" test "$(grep -c '^DOWN peer closed' "$SYS_TMP/peer-c.out")" -eq 1
	check_isc_log c "$SYS_TMP/isc-c2.out"
	# Its lease file already says "partner state normal", so there is no
	# "peer moves from" line this time; our STATE(normal) ends its startup.
	check "(c) the restarted ISC left startup for normal" \
		grep -q 'failover peer fo-test: I move from startup to normal' "$SYS_TMP/isc-c2.out"
	check "(c) ISC: \"Both servers normal\"" grep -q 'failover peer fo-test: Both servers normal' "$SYS_TMP/isc-c2.out"
	check_capture c "$SYS_TMP/peer-c.out"
}

run_case a primary secondary
run_case b secondary primary
run_restart

echo "1..$n"
[ $failed -eq 0 ]
