# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=sh
#
# fo_load.sh — helpers shared by the failover tests that run a rackdhcpd
# pair (namespaces pri and sec, relationship "fo", metrics on each one's
# loopback :9467) under perfdhcp load: fo_crash.sh and fo_flap.sh.  Source
# it after tests/sys/lib.sh; it defines functions only.
#
#   fo_load_init NAME          skips without what the tests need (root, perfdhcp, tcpdump,
#                              python3, ...), sys_init NAME, checker_selftest, and the
#                              network: namespaces pri, sec, cli; bridge br0 in cli with
#                              pri's p0 (10.40.0.1) and sec's s0 (10.40.0.2); cli 10.40.0.50
#   conf NAME IF ROLE ME PEER ACK [MAX_UNACKED]   write $SYS_TMP/NAME/rackdhcpd.yaml
#   checker_selftest           ack_check.py must catch its synthetic faults (one TAP line)
#   start NAME                 rackdhcpd with $SYS_TMP/NAME/rackdhcpd.yaml, until it serves
#   in_state NAME STATE        NAME's last failover move was to STATE
#   both_normal, balanced      the pair is NORMAL; the secondary holds its BACKUP share (>= 200)
#   capturing                  tcpdump ($SYS_TMP/tcpdump.out) is listening
#   sec_acks_since LINE, sec_answers   the secondary's DHCPACKs after log line LINE ($CI_MARK)
#   metric NAME SERIES         one value from NAME's Prometheus page
#   held_ok NAME               NAME's ACKs were held for the peer's BNDACK (ack_after_peer)
#   pstat FILE SECTION FIELD, prate FILE   numbers from perfdhcp's report

# fo_load_init NAME: what both tests do first (see the top); PERFDHCP,
# TCPDUMP and CHECKER must be set.
fo_load_init() {
	need_root
	need_cmd timeout sqlite3
	[ -x /usr/bin/python3 ] || skip_all "/usr/bin/python3 not found"
	[ -x "$PERFDHCP" ] || skip_all "perfdhcp (kea) not found"
	[ -x "$TCPDUMP" ] || skip_all "tcpdump not found"
	need_daemon
	need_netns
	sys_init "$1"
	checker_selftest
	ns_setup pri sec cli
	CLI=$(ns_name cli)
	fo_bridge 0 p0 s0
	ns_addr pri p0 10.40.0.1/16
	ns_addr sec s0 10.40.0.2/16
	ns_addr cli br0 10.40.0.50/16
}

diag() { echo "# $*"; }

# conf NAME IF ROLE ME PEER ACK_AFTER_PEER [MAX_UNACKED]: the pair's configuration
# (pool 10.40.1.0-10.40.4.255 of 10.40.0.0/16, relationship "fo", MCLT 300 s,
# metrics on loopback :9467) in $SYS_TMP/NAME/rackdhcpd.yaml
conf() {
	mkdir -p "$SYS_TMP/$1"
	{
		rd_server_yaml "$SYS_TMP/$1" "$2" 2
		cat <<EOF
  metrics: 127.0.0.1:9467
subnets:
  - cidr: 10.40.0.0/16
    lease_time: 600
    pools:
      - range: 10.40.1.0-10.40.4.255
        failover_peer: fo
failover:
  - name: fo
    role: $3
    address: $4
    peer_address: $5
    mclt: 300
    max_response_delay: 5
    max_unacked_updates: ${7:-64}
    load_balance_max_seconds: 3
    ack_after_peer: $6
EOF
		[ "$3" = primary ] && echo "    split: 128"
	} >"$SYS_TMP/$1/rackdhcpd.yaml"
}

checker_selftest() {
	/usr/bin/python3 "$CHECKER" --self-test >"$SYS_TMP/selftest.out" 2>&1
	st=$?
	sed 's/^/# self-test: /' "$SYS_TMP/selftest.out"
	t_ok $st "ack_check.py finds a double ACK, a missing lease, a short lease and a FREE one in synthetic captures" \
		"$SYS_TMP/selftest.out"
}

start() {	# start NAME: rackdhcpd in namespace NAME, wait until it serves
	rd_start "$1" "$1" "$SYS_TMP/$1/rackdhcpd.yaml"
}
in_state() {	# in_state NAME STATE: the last move in NAME's log is to STATE
	grep -E 'failover fo: I move from' "$SYS_TMP/$1.out" 2>/dev/null | tail -n 1 | grep -q " to $2\$"
}
both_normal() { in_state pri normal && in_state sec normal; }
balanced() {	# the secondary's store holds BACKUP (7) rows: its share of the pool
	n=$(sqlite3 "file:$SYS_TMP/sec/state/leases.db?mode=ro" "SELECT count(*) FROM leases WHERE state = 7" 2>/dev/null)
	[ "${n:-0}" -ge 200 ]
}
capturing() { grep -qs 'listening on' "$SYS_TMP/tcpdump.out"; }
sec_acks_since() {	# sec_acks_since LINE: DHCPACK lines in the secondary's log after LINE
	tail -n +"$(($1 + 1))" "$SYS_TMP/sec.out" | grep -c 'DHCPACK '
}
sec_answers() { [ "$(sec_acks_since "$CI_MARK")" -ge 50 ]; }
metric() {	# metric NAME SERIES: one value of NAME's Prometheus endpoint (its own loopback)
	ns_exec "$1" /usr/bin/python3 -c '
import sys, urllib.request
t = urllib.request.urlopen("http://127.0.0.1:9467/metrics", timeout=3).read().decode()
for line in t.splitlines():
    if line.startswith(sys.argv[1] + "{"):
        print(line.split()[-1]); break' "$2" 2>/dev/null
}
held_ok() {	# held_ok NAME: the ACKs NAME logged so far were held (all but 1 %: the store
		# may refuse a change under load), then released or dropped (at most 1 %)
	acks=$(grep -c 'DHCPACK ' "$SYS_TMP/$1.out")
	held=$(metric "$1" rackdhcpd_failover_replies_held_total)
	rel=$(metric "$1" rackdhcpd_failover_replies_released_total)
	drp=$(metric "$1" rackdhcpd_failover_replies_dropped_total)
	wai=$(metric "$1" rackdhcpd_failover_replies_waiting)
	diag "$1: $acks ACKs logged; replies held ${held:-?}, released ${rel:-?}, dropped ${drp:-?}, waiting ${wai:-?}"
	held=${held:-0} rel=${rel:-0} drp=${drp:-0} wai=${wai:-0}
	[ "$held" -ge 1 ] && [ "$held" -le "$acks" ] && [ $(((acks - held) * 100)) -le "$acks" ] &&
		[ $((rel + drp + wai)) -eq "$held" ] && [ $((drp * 100)) -le "$held" ]
}
pstat() {	# pstat FILE SECTION FIELD: one number of perfdhcp's report
	awk -v sec="$2" -v f="$3" '/^\*\*\*Statistics for: / { in_s = index($0, sec) > 0 }
		in_s && index($0, f ": ") == 1 { sub(/.*: /, ""); print $1; exit }' "$1"
}
prate() {	# prate FILE: perfdhcp's "Rate:" line
	sed -n 's/^Rate: *\([0-9.]*\).*/\1/p' "$1" | head -n 1
}
