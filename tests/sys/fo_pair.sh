#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fo_pair.sh — failover pairs with rackdhcpd as the secondary, and two
# dhclients, in four network namespaces on one bridge (in namespace cli):
#
#   pri  10.30.0.1/24 on p0   the primary of relationship "fo": rackdhcpd
#                             (split 128), then ISC dhcpd 4.4 (split 128)
#   sec  10.30.0.2/24 on s0   rackdhcpd, role secondary; MCLT 30 s
#   cli  br0 (p0's, s0's and b0's peers enslaved)   dhclient "cla"
#   clb  b0                                           dhclient "clb"
#        (lease time 20 s; MACs fixed so that cla hashes to the primary and
#        clb to the secondary)
#
# In each pairing: both servers reach NORMAL from a fresh start (their
# logs: "I move from ... to normal") and the primary hands the secondary
# its BACKUP share of the pool; cla is answered by the primary and clb by
# the secondary (load balancing, and allocation from BACKUP); both leases
# are ACTIVE in the primary's store (our SQLite, ISC's dhcpd.leases) and in
# the secondary's SQLite (BNDUPD both ways); the secondary persisted
# NORMAL; kill -9 of the primary moves the secondary to
# communications-interrupted and it ACKs the renewal of cla, the primary's
# client (RENEW/REBIND of the same address), and gives a new client
# (dhcp_dora in lib.sh) a lease; the primary restarted, the pair is back in
# NORMAL and the primary's store has that lease (the update it missed); the
# same with the secondary killed, a new client served by the primary and
# the lease in the restarted secondary's store; a clean stop (SIGTERM) of
# the secondary puts the primary in PARTNER-DOWN;
# the secondary restarted with its database deleted gets both leases back
# (UPDREQALL) and returns to NORMAL through RECOVER and RECOVER-WAIT; the
# primary killed again and `rackdhcpctl failover partner-down fo` run, the
# secondary gives new clients only its own BACKUP addresses before MCLT has
# passed, and then the primary's share (fo_takeover in lib.sh); the primary
# restarted finds it in partner-down, the pair returns to NORMAL and the
# primary's store binds each address taken from its share to its client.  With
# tshark and tcpdump, port 647 is captured in each rackdhcpd's namespace and
# every message a rackdhcpd sent must decode as dhcpfo without malformed
# frames or expert warnings (fo_cap_check in lib.sh).
#
# FO_PAIR_MODES picks the pairings, in order: "ours" (two rackdhcpd, the
# default) and "isc" (ISC dhcpd 4.4 primary, run by fo_pair_isc.sh, so that
# each script stays near two minutes); fo_pair_isc2.sh has rackdhcpd as the
# primary of an ISC secondary.  The ISC pairing is skipped without
# /usr/sbin/dhcpd.
#
# Skips (exit 77) without root, network namespaces, dhclient, sqlite3,
# python3 or the built daemon.  RD_KEEP_TMP=1 keeps the temp dir.  Every
# wait is bounded; runtime ~2 min per pairing.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
: "${DHCLIENT:=$(command -v dhclient || echo /usr/sbin/dhclient)}"
: "${DHCPD:=$(command -v dhcpd || echo /usr/sbin/dhcpd)}"

. "$top_srcdir/tests/sys/lib.sh"

need_root
need_cmd sqlite3 timeout python3
[ -x "$DHCLIENT" ] || skip_all "dhclient (isc-dhcp-client) not found"
need_daemon ctl
need_netns

sys_init fo_pair
ns_setup pri sec cli
CLI=$(ns_name cli)
fo_bridge 0 p0 s0
# Two clients with fixed MACs, so the RFC 3074 hash (split 128) gives one
# to each server: br0 52:54:00:fa:00:02 hashes to bucket 115 (the
# primary's), b0 52:54:00:fa:00:01 in namespace clb to 134 (the secondary's).
ip -n "$CLI" link set br0 address 52:54:00:fa:00:02
ns_create clb || { echo "Bail out! cannot create namespace"; exit 99; }
ns_exec clb sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
CLB=$(ns_name clb)
veth_create cli cb clb b0 || { echo "Bail out! cannot create a veth pair"; exit 99; }
ip -n "$CLI" link set cb master br0
ip -n "$CLB" link set b0 address 52:54:00:fa:00:01
ns_addr pri p0 10.30.0.1/24
ns_addr sec s0 10.30.0.2/24

conf() {	# conf NAME IF ROLE ME PEER
	mkdir -p "$SYS_TMP/$1"
	{
		rd_server_yaml "$SYS_TMP/$1" "$2" 1
		cat <<EOF
  metrics: 127.0.0.1:9467
subnets:
  - cidr: 10.30.0.0/24
    routers: [10.30.0.1]
    lease_time: 20
    min_lease_time: 4
    max_lease_time: 20
    pools:
      - range: 10.30.0.100-10.30.0.119
        failover_peer: fo
failover:
  - name: fo
    role: $3
    address: $4
    peer_address: $5
    mclt: 30
    max_response_delay: 6
    max_unacked_updates: 10
    load_balance_max_seconds: 3
EOF
		[ "$3" = primary ] && echo "    split: 128"
	} >"$SYS_TMP/$1/rackdhcpd.yaml"
}
client_scripts
cat >"$SYS_TMP/dhclient.conf" <<'EOF'
timeout 20;
initial-interval 1;
backoff-cutoff 2;
request subnet-mask, routers, dhcp-lease-time, dhcp-server-identifier;
EOF

isc_conf() {	# isc_conf FILE: ISC dhcpd 4.4 as the primary of "fo"
	cat >"$1" <<'EOF'
authoritative;
ddns-update-style none;
default-lease-time 20;
max-lease-time 20;
min-lease-time 4;
ping-check false;
failover peer "fo" {
  primary;
  address 10.30.0.1; port 647;
  peer address 10.30.0.2; peer port 647;
  max-response-delay 6;
  max-unacked-updates 10;
  mclt 30;
  split 128;
  load balance max seconds 3;
}
subnet 10.30.0.0 netmask 255.255.255.0 {
  option routers 10.30.0.1;
  pool { failover peer "fo"; range 10.30.0.100 10.30.0.119; }
}
EOF
}

start() {	# start NAME: rackdhcpd in namespace NAME, wait until it serves
	[ -f "$SYS_TMP/$1.out" ] && cat "$SYS_TMP/$1.out" >>"$SYS_TMP/$1.all"
	proc_start "$1" ip netns exec "$(ns_name "$1")" "$RACKDHCPD" -c "$SYS_TMP/$1/rackdhcpd.yaml" -f
	wait_for 20 grep -q 'serving on' "$SYS_TMP/$1.out"
}
start_isc() {	# start_isc: ISC dhcpd as the primary, in namespace pri
	[ -f "$SYS_TMP/pri.out" ] && cat "$SYS_TMP/pri.out" >>"$SYS_TMP/pri.all"
	proc_start pri ip netns exec "$(ns_name pri)" "$DHCPD" -4 -f -d -cf "$SYS_TMP/isc.conf" \
		-lf "$SYS_TMP/isc.leases" -pf "$SYS_TMP/isc.pid" p0
	wait_for 20 grep -q '^Sending on.*/p0' "$SYS_TMP/pri.out"
}
in_state() {	# in_state NAME STATE: the last move in NAME's log is to STATE (our and ISC's wording)
	grep -E 'failover (fo|peer fo): I move from' "$SYS_TMP/$1.out" 2>/dev/null | tail -n 1 | grep -q " to $2\$"
}
both_normal() { in_state pri normal && in_state sec normal; }
ipint() { echo "$1" | awk -F. '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }'; }
in_store() {	# in_store NAME [STATES]: NAME's SQLite has ADDR for our MAC, ACTIVE (or in STATES: "2, 3")
	n=$(sqlite3 "file:$SYS_TMP/$1/state/leases.db?mode=ro" \
		"SELECT count(*) FROM leases WHERE addr = $(ipint "$ADDR") AND state IN (${2:-2}) AND hex(chaddr) = upper('$MAC')" 2>/dev/null)
	[ "${n:-0}" -ge 1 ]
}
in_isc_leases() {	# ISC's dhcpd.leases binds ADDR to our MAC
	awk -v a="$ADDR" -v m="$MAC_COLON;" '
		$1 == "lease" { cur = ($2 == a); act = 0 }
		cur && /^  binding state active/ { act = 1 }
		cur && $1 == "hardware" && tolower($3) == m { hw = 1 }
		$1 == "}" { if (cur && act && hw) found = 1; cur = 0; act = 0; hw = 0 }
		END { exit !found }' "$SYS_TMP/isc.leases"
}
metrics_say_normal() {	# the secondary's Prometheus endpoint: failover state 2 (normal), link up
	ns_exec sec /usr/bin/python3 -c '
import sys, urllib.request
t = urllib.request.urlopen("http://127.0.0.1:9467/metrics", timeout=3).read().decode()
want = ["rackdhcpd_failover_state{relationship=\"fo\"} 2", "rackdhcpd_failover_link_up{relationship=\"fo\"} 1"]
sys.exit(0 if all(w in t.splitlines() for w in want) else 1)'
}
ctl_says_normal() {	# rackdhcpctl failover status on the secondary: our state and the partner's are normal
	out=$("$RACKDHCPCTL" -s "$SYS_TMP/sec/ctl/control.sock" failover status 2>&1) || return 1
	echo "$out" | awk '$1 == "fo" && $3 == "normal" && $4 == "normal" && $5 == "up" { found = 1 } END { exit !found }'
}
ctl_shows_peer() {	# ctl_shows_peer WINDOW: ... and the partner's address, a recent last contact,
	# the pool's FREE/BACKUP counts, WINDOW updates in flight at most
	out=$("$RACKDHCPCTL" -s "$SYS_TMP/sec/ctl/control.sock" failover status 2>&1) || return 1
	echo "$out" | grep -q "^fo: peer 10.30.0.1:647, last contact 20[0-9-]*T[0-9:]*Z ([0-9][0-9]* s ago)" || return 1
	echo "$out" | awk '$1 == "fo:" && $2 == "pool" && $5 == "FREE," && $7 == "BACKUP," && $4 + 0 > 0 && $6 + 0 > 0 { f = 1 }
		END { exit !f }' || return 1
	# The JSON form: the same pool, whose counts add up to no more than its size.
	"$RACKDHCPCTL" -s "$SYS_TMP/sec/ctl/control.sock" --json failover status 2>/dev/null | /usr/bin/python3 -c '
import json, sys, time
r = json.load(sys.stdin)["relationships"][0]
p = r["pools"][0]
ok = r["peer"] == "10.30.0.1:647" and r["last_contact"] > time.time() - 120 and p["backup"] > 0 and p["free"] > 0 and \
    p["free"] + p["backup"] + p["used"] <= p["size"] and r["update_window"] == int(sys.argv[1])
sys.exit(0 if ok else 1)' "$1"
}
sec_state_normal() {
	[ "$(sqlite3 "file:$SYS_TMP/sec/state/leases.db?mode=ro" \
		"SELECT state FROM failover_state WHERE name = 'fo'" 2>/dev/null)" = 2 ]
}
has_backup() {	# the secondary's SQLite holds BACKUP (7) rows: its share of the pool
	n=$(sqlite3 "file:$SYS_TMP/sec/state/leases.db?mode=ro" "SELECT count(*) FROM leases WHERE state = 7" 2>/dev/null)
	[ "${n:-0}" -ge 5 ]
}
bound() { grep -qE '^(BOUND|REBOOT) ' "$EV"; }
renewed_by_sec() {
	tail -n +"$((MARK + 1))" "$EV" | grep -qE "^(RENEW|REBIND) $ADDR " &&
		tail -n +"$((SMARK + 1))" "$SYS_TMP/sec.out" | grep -q "DHCPACK $ADDR to"
}
use_client() {	# use_client LABEL: ADDR, SID, MAC, MAC_COLON, EV of that client
	EV=$SYS_TMP/$1.events
	ADDR=$(grep -E '^(BOUND|REBOOT) ' "$EV" | tail -n 1 | cut -d' ' -f2)
	SID=$(grep -E '^(BOUND|REBOOT) ' "$EV" | tail -n 1 | cut -d' ' -f5)
	MAC_COLON=$(cat "$SYS_TMP/$1.mac")
	MAC=$(echo "$MAC_COLON" | tr -d :)
}
leases_in_sec() {	# both clients' leases are in the secondary's store (ACTIVE, or EXPIRED by now: the clients stopped)
	use_client cla && in_store sec "2, 3" && use_client clb && in_store sec "2, 3"
}
sec_active_mac() {	# sec_active_mac ADDR: the MAC (hex) ADDR is ACTIVE for in the secondary's store
	sqlite3 "file:$SYS_TMP/sec/state/leases.db?mode=ro" \
		"SELECT lower(hex(chaddr)) FROM leases WHERE addr = $(ipint "$1") AND state = 2" 2>/dev/null
}
pri_knows_taken() {	# pri_knows_taken MODE: each of $SHARE_TAKEN still ACTIVE in the secondary's
	# store is bound in the primary's (our SQLite or ISC's dhcpd.leases, ACTIVE or EXPIRED) to
	# the same MAC; KNOWN counts them (leases that ended meanwhile are skipped)
	KNOWN=0
	for a in $SHARE_TAKEN; do
		m=$(sec_active_mac "$a")
		[ -n "$m" ] || continue
		if [ "$1" = isc ]; then
			awk -v a="$a" -v m="$(echo "$m" | sed 's/../&:/g; s/:$//');" '
				$1 == "lease" && $2 == a { cur = 1; bs = ""; hw = "" }
				cur && $1 == "binding" && $2 == "state" { bs = $3 }
				cur && $1 == "hardware" { hw = tolower($3) }
				cur && $1 == "}" { if (bs ~ /^(active|expired);$/ && hw == m) ok = 1; cur = 0 }
				END { exit !ok }' "$SYS_TMP/isc.leases" || return 1
		else
			n=$(sqlite3 "file:$SYS_TMP/pri/state/leases.db?mode=ro" "SELECT count(*) FROM leases
				WHERE addr = $(ipint "$a") AND state IN (2, 3) AND lower(hex(chaddr)) = '$m'" 2>/dev/null)
			[ "${n:-0}" -ge 1 ] || return 1
		fi
		KNOWN=$((KNOWN + 1))
	done
	[ "$KNOWN" -ge 1 ]
}
client_start() {	# client_start LABEL NS IF: dhclient, foreground, kept running (T1 10 s, T2 17.5 s)
	: >"$SYS_TMP/$1.events"
	rm -f "$SYS_TMP/$1.leases"
	ip -n "$(ns_name "$2")" -o link show dev "$3" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p' >"$SYS_TMP/$1.mac"
	proc_start "$1" timeout -k 2 150 ip netns exec "$(ns_name "$2")" "$DHCLIENT" -4 -d \
		-e RD_LOG="$SYS_TMP/$1.events" -cf "$SYS_TMP/dhclient.conf" -sf "$SYS_TMP/dhclient-script" \
		-lf "$SYS_TMP/$1.leases" -pf "$SYS_TMP/$1.dpid" "$3"
}

# run_pair MODE: "ours" (two rackdhcpd) or "isc" (ISC primary, ours secondary)
run_pair() {
	mode=$1
	echo "# ---- $mode"
	rm -rf "$SYS_TMP/pri" "$SYS_TMP/sec"
	rm -f "$SYS_TMP/dhclient.leases" "$SYS_TMP/pri.all" "$SYS_TMP/sec.all" "$SYS_TMP/pri.out" "$SYS_TMP/sec.out"
	conf sec s0 secondary 10.30.0.2 10.30.0.1
	# port 647 captured in each rackdhcpd's namespace for the whole run
	fo_cap_start "cap-sec-$mode" sec s0
	[ "$mode" = ours ] && fo_cap_start "cap-pri-$mode" pri p0
	if [ "$mode" = isc ]; then
		isc_conf "$SYS_TMP/isc.conf"
		: >"$SYS_TMP/isc.leases"
		check "($mode) ISC dhcpd starts as the primary" start_isc
	else
		conf pri p0 primary 10.30.0.1 10.30.0.2
		check "($mode) rackdhcpd starts as the primary" start pri
	fi
	check "($mode) rackdhcpd starts as the secondary" start sec
	check "($mode) both reach NORMAL from a fresh start" wait_for 60 both_normal
	check "($mode) the pool is balanced: the secondary's store holds BACKUP addresses" wait_for 10 has_backup

	client_start cla cli br0
	client_start clb clb b0
	for c in cla clb; do
		EV=$SYS_TMP/$c.events
		check "($mode) $c gets a lease from the pair" wait_for 30 bound
		use_client $c
		echo "# ($mode) $c ($MAC_COLON) bound $ADDR from $SID"
	done
	use_client cla
	check "($mode) cla (the primary's by the hash) was answered by the primary" test "$SID" = 10.30.0.1
	use_client clb
	check "($mode) clb (the secondary's by the hash) was answered by the secondary, from its BACKUP share" \
		test "$SID" = 10.30.0.2
	for c in cla clb; do
		use_client $c
		if [ "$mode" = isc ]; then
			check "($mode) $c's lease $ADDR is active in ISC's dhcpd.leases" wait_for 10 in_isc_leases
		else
			check "($mode) $c's lease $ADDR is ACTIVE in the primary's store" wait_for 10 in_store pri
		fi
		check "($mode) $c's lease $ADDR is ACTIVE in the secondary's SQLite store" wait_for 10 in_store sec
	done
	check "($mode) the secondary persisted NORMAL (failover_state table)" sec_state_normal
	check "($mode) rackdhcpctl failover status on the secondary: normal/normal, link up" ctl_says_normal
	# Towards ISC the window is what it announced (max-unacked-updates 10);
	# towards rackdhcpd 128 (it announces 3 for ISC's sake).
	[ "$mode" = isc ] && win=10 || win=128
	check "($mode) ... with the peer's address, its last contact seconds ago, the pool's FREE and BACKUP counts, window $win" \
		ctl_shows_peer $win
	check "($mode) the secondary's metrics: rackdhcpd_failover_state 2, link up" metrics_say_normal

	# kill -9 of the primary: no SHUTDOWN, the secondary only sees the link go.
	kill -KILL "$(cat "$SYS_TMP/pri.pid")"
	wait "$(cat "$SYS_TMP/pri.pid")" 2>/dev/null
	check "($mode) the secondary moves to communications-interrupted" \
		wait_for 20 in_state sec communications-interrupted
	use_client cla
	MARK=$(wc -l <"$EV")
	SMARK=$(wc -l <"$SYS_TMP/sec.out")
	check "($mode) the secondary answers the renewal of cla's $ADDR, the primary's client (RENEW/REBIND)" \
		wait_for 40 renewed_by_sec
	tail -n +"$((MARK + 1))" "$EV" | sed "s/^/# ($mode) cla: /"
	# A new client while the primary is down (any hash: no load balancing
	# in communications-interrupted): the secondary gives it an address of
	# its own; the primary must learn of it once it is back.
	NEW_MAC_COLON=52:54:00:fc:00:05
	r=$(dhcp_dora cli br0 $NEW_MAC_COLON 8)
	echo "# ($mode) new client $NEW_MAC_COLON while the primary is down: $r"
	NEW_ADDR=$(echo "$r" | awk '$1 == "ACK" && $3 == "10.30.0.2" { print $2 }')
	check "($mode) the secondary gives a new client ($NEW_MAC_COLON) a lease while the primary is down" \
		test -n "$NEW_ADDR"

	# The primary comes back: the pair returns to NORMAL.
	if [ "$mode" = isc ]; then
		check "($mode) ISC restarts" start_isc
	else
		check "($mode) the primary restarts" start pri
	fi
	check "($mode) both are back in NORMAL" wait_for 60 both_normal
	ADDR=$NEW_ADDR MAC_COLON=$NEW_MAC_COLON MAC=$(echo "$NEW_MAC_COLON" | tr -d :)
	if [ "$mode" = isc ]; then
		check "($mode) the lease made while ISC was down ($NEW_ADDR) is in ISC's dhcpd.leases" \
			wait_for 20 in_isc_leases
	else
		check "($mode) the lease made while the primary was down ($NEW_ADDR) is in its store" \
			wait_for 20 in_store pri "2, 3"
	fi

	# kill -9 of the secondary: the primary serves a new client from its
	# own share, and the restarted secondary learns of that lease.
	kill -KILL "$(cat "$SYS_TMP/sec.pid")"
	wait "$(cat "$SYS_TMP/sec.pid")" 2>/dev/null
	check "($mode) secondary killed: the primary moves to communications-interrupted" \
		wait_for 20 in_state pri communications-interrupted
	r=$(dhcp_dora cli br0 52:54:00:fc:00:06 8)
	echo "# ($mode) new client 52:54:00:fc:00:06 while the secondary is down: $r"
	ADDR=$(echo "$r" | awk '$1 == "ACK" && $3 == "10.30.0.1" { print $2 }')
	MAC=525400fc0006
	check "($mode) the primary gives a new client (52:54:00:fc:00:06, the secondary's by the hash) a lease" \
		test -n "$ADDR"
	check "($mode) the secondary restarts" start sec
	check "($mode) both are back in NORMAL" wait_for 60 both_normal
	check "($mode) the lease made while the secondary was down ($ADDR) is in its store" \
		wait_for 20 in_store sec "2, 3"

	# A clean stop of our secondary announces SHUTDOWN: the primary takes
	# over at once (PARTNER-DOWN), without waiting for anything.
	proc_stop cla
	proc_stop clb
	proc_stop sec
	check "($mode) a clean stop of the secondary puts the primary in partner-down" \
		wait_for 10 in_state pri partner-down

	# The secondary loses its database: it starts over in RECOVER, gets
	# every lease back (UPDREQALL), waits out the MCLT and is NORMAL again.
	rm -rf "$SYS_TMP/sec/state"
	check "($mode) the secondary restarts with its database deleted" start sec
	check "($mode) it recovers: both clients' leases are back in its store (UPDREQALL)" \
		wait_for 20 leases_in_sec
	check "($mode) and the pair is NORMAL again (through recover-wait)" wait_for 90 both_normal
	grep -E 'failover fo: I move' "$SYS_TMP/sec.out" | sed 's/.*failover fo: /# ('"$mode"') recovering secondary: /'

	# The operator declares a dead primary down: the secondary goes from
	# communications-interrupted to partner-down at once.
	kill -KILL "$(cat "$SYS_TMP/pri.pid")"
	wait "$(cat "$SYS_TMP/pri.pid")" 2>/dev/null
	check "($mode) primary killed again: the secondary is in communications-interrupted" \
		wait_for 20 in_state sec communications-interrupted
	check "($mode) rackdhcpctl failover partner-down fo is accepted" \
		"$RACKDHCPCTL" -s "$SYS_TMP/sec/ctl/control.sock" failover partner-down fo
	check "($mode) ... and the secondary moves to partner-down" wait_for 10 in_state sec partner-down
	# MCLT after partner-down: the primary's share becomes the secondary's.
	# 52:54:00:fc:00:09 hashes to bucket 91, the primary's.
	fo_takeover "$mode: partner-down, rackdhcpd secondary" cli br0 "$SYS_TMP/sec/state/leases.db" 10.30.0.2 \
		secondary 10.30.0.100 10.30.0.119 30 52:54:00:fc:00:09
	check "($mode) an unknown relationship is refused (exit 1)" \
		sh -c '"$1" -s "$2" failover partner-down nosuch >/dev/null 2>&1; [ $? -eq 1 ]' - \
		"$RACKDHCPCTL" "$SYS_TMP/sec/ctl/control.sock"

	# The primary comes back with its store (ISC: its lease file) and finds
	# the secondary in partner-down: the pair must end in NORMAL with every
	# address the secondary took from the primary's share bound, in the
	# primary's store, to the client it was given to.
	SHARE_TAKEN=$(for a in $taken; do echo "$share" | grep -x "$a"; done | sort -u)
	echo "# ($mode) addresses of the primary's share the secondary gave away: $(echo $SHARE_TAKEN)"
	# Their clients come back first, so that the leases (20 s) are still
	# ACTIVE when the primary returns.
	for a in $SHARE_TAKEN; do
		m=$(sec_active_mac "$a")
		[ -n "$m" ] || continue
		echo "# ($mode) client of $a renews: $(dhcp_dora cli br0 "$(echo "$m" | sed 's/../&:/g; s/:$//')" 6)"
	done
	if [ "$mode" = isc ]; then
		check "($mode) ISC restarts with its lease file" start_isc
	else
		check "($mode) the primary restarts with its store" start pri
	fi
	check "($mode) ... and the pair is NORMAL again" wait_for 70 both_normal
	grep -E 'failover (fo|peer fo): I move' "$SYS_TMP/pri.out" | sed "s/.*failover [a-z ]*fo: /# ($mode) primary back after partner-down: /"
	check "($mode) the secondary gave away addresses of the primary's share" test -n "$SHARE_TAKEN"
	check "($mode) the primary's store binds each of them still ACTIVE to the secondary's client" \
		wait_for 10 pri_knows_taken "$mode"
	echo "# ($mode) checked $KNOWN address(es)"
	proc_stop sec
	proc_stop pri
	fo_cap_check "$mode: rackdhcpd secondary" "cap-sec-$mode" 10.30.0.2
	[ "$mode" = ours ] && fo_cap_check "$mode: rackdhcpd primary" "cap-pri-$mode" 10.30.0.1
	cat "$SYS_TMP/pri.all" "$SYS_TMP/pri.out" "$SYS_TMP/sec.all" "$SYS_TMP/sec.out" 2>/dev/null |
		grep -E 'failover (fo|peer fo)' | grep -E 'I move|link up|link down|refused' |
		sed "s/^/# ($mode) /" | tail -n 40
}

for m in ${FO_PAIR_MODES:-ours}; do
	case $m in
	ours) run_pair ours ;;
	isc)
		if [ -x "$DHCPD" ]; then
			run_pair isc
		else
			echo "# ISC dhcpd not found: the ISC pairing is skipped"
		fi ;;
	*) echo "Bail out! unknown pairing $m"; exit 99 ;;
	esac
done
echo "1..$T"
[ "$FAILED" -eq 0 ]
