#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fo_poolreq_isc.sh — pool balancing with POOLREQ/POOLRESP between rackdhcpd
# and a live ISC dhcpd 4.4, in three network namespaces:
#
#   pri  10.31.0.1/24 on p0   the primary of relationship "fo" (split 128)
#   sec  10.31.0.2/24 on s0   the secondary
#   cli  br0 (p0's and s0's peers enslaved): clients made of raw frames
#        (dhcp_dora in lib.sh), no client-id, MACs 52:54:00:fb:10:XX; by
#        the RFC 3074 hash (split 128) XX in SEC_MACS go to the secondary,
#        XX in PRI_MACS to the primary (each client's answering server is
#        checked, so a wrong list fails the test)
#   pool 10.31.0.100-139 (40 addresses)
#
# In each run the side that must ask has a short balance timer (min/max
# balance 2/5 s) and max-lease-misbalance 5 %, so that it panics (lts <
# -2 x thresh) once about 10 of its 20 free addresses are taken; the side
# that must answer has a 10-minute min-balance and an hour's max-balance, so
# that after the balance run on entry to NORMAL nothing but a POOLREQ makes
# it move an address.
#
# Run A, ISC dhcpd primary + rackdhcpd secondary — we ask ISC: both reach
# NORMAL and ISC hands us our BACKUP share; clients hashing to us take our
# BACKUP addresses (each answered by rackdhcpd) until our timer finds us
# short: we log the POOLREQ and count it (poolreq_sent in `rackdhcpctl
# failover status --json`), ISC logs its balance run on the request and
# moves FREE addresses to BACKUP (our SQLite's BACKUP rows grow, and ISC's
# dhcpd.leases shows them "backup"), and answers POOLRESP (poolresp_received,
# our log line with ISC's count).
# Run B, rackdhcpd primary + ISC dhcpd secondary — ISC asks us: clients
# hashing to ISC take its BACKUP addresses until ISC's timer finds it short;
# ISC logs "(requesting peer rebalance!)" and sends POOLREQ (poolreq_received
# here, our log line, and type 1 from ISC's address in the port-647 capture
# decoded by tshark when it is installed, with our POOLRESP); we move FREE
# addresses to BACKUP: ISC's dhcpd.leases has them BACKUP and our SQLite too.
# Run C, rackdhcpd primary + ISC dhcpd secondary — we ask ISC: clients
# hashing to us take our FREE addresses until our timer sends POOLREQ; the
# ISC secondary runs its balance and moves BACKUP addresses to FREE (its
# dhcpd.leases and our SQLite both lose that many BACKUP) and answers
# POOLRESP with its count.
# Run D, ISC dhcpd primary + rackdhcpd secondary — ISC asks us: clients
# hashing to ISC take its FREE addresses until its timer sends POOLREQ; we
# move BACKUP addresses to FREE (our SQLite and ISC's dhcpd.leases).
# After each run, once no update is in flight, both servers agree on the
# binding state of every address of the pool (our SQLite vs the last
# record for it in ISC's dhcpd.leases; no row in our store = FREE), no
# address is ACTIVE on one side and free on the other, and neither side
# rejected a BNDUPD.
#
# Skips (exit 77) without root, network namespaces, ISC dhcpd, python3,
# sqlite3 or the built daemon.  RD_KEEP_TMP=1 keeps the temp dir.  Every
# wait is bounded; runtime ~40 s.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
: "${DHCPD:=$(command -v dhcpd || echo /usr/sbin/dhcpd)}"

. "$top_srcdir/tests/sys/lib.sh"

need_isc_pair

sys_init fo_poolreq_isc
ns_setup pri sec cli
fo_bridge 0 p0 s0
ns_addr pri p0 10.31.0.1/24
ns_addr sec s0 10.31.0.2/24
FIRST=10.31.0.100
LAST=10.31.0.139
SEC_MACS="01 02 03 09 0a 0b 0d 0f 10 13 16 17 18 19 1a 1d 1f 23 25 27"
PRI_MACS="04 05 06 07 08 0c 0e 11 12 14 15 1b 1c 1e 20 21 22 24 26 2a"

# ours_conf RUN ROLE ME PEER MINB MAXB MISB: our configuration for run RUN
ours_conf() {
	d="$SYS_TMP/$1"
	mkdir -p "$d"
	{
		rd_server_yaml "$d" "$([ "$2" = primary ] && echo p0 || echo s0)" 1
		cat <<EOF
subnets:
  - cidr: 10.31.0.0/24
    routers: [10.31.0.1]
    lease_time: 300
    min_lease_time: 4
    max_lease_time: 300
    pools:
      - range: $FIRST-$LAST
        failover_peer: fo
failover:
  - name: fo
    role: $2
    address: $3
    peer_address: $4
    mclt: 30
    max_response_delay: 6
    max_unacked_updates: 10
    load_balance_max_seconds: 3
    min_balance: $5
    max_balance: $6
    max_lease_misbalance: $7
EOF
		[ "$2" = primary ] && echo "    split: 128"
	} >"$d/rackdhcpd.yaml"
}

# isc_conf FILE ROLE ME PEER MINB MAXB MISB: ISC dhcpd's configuration
isc_conf() {
	{
		cat <<EOF
authoritative;
ddns-update-style none;
default-lease-time 300;
max-lease-time 300;
min-lease-time 4;
ping-check false;
failover peer "fo" {
  $2;
  address $3; port 647;
  peer address $4; peer port 647;
  max-response-delay 6;
  max-unacked-updates 10;
  load balance max seconds 3;
  min-balance $5;
  max-balance $6;
  max-lease-misbalance $7;
EOF
		[ "$2" = primary ] && printf '  mclt 30;\n  split 128;\n'
		cat <<EOF
}
subnet 10.31.0.0 netmask 255.255.255.0 {
  option routers 10.31.0.1;
  pool { failover peer "fo"; range $FIRST $LAST; }
}
EOF
	} >"$1"
	"$DHCPD" -t -4 -cf "$1" >"$1.check" 2>&1 ||
		{ echo "Bail out! ISC dhcpd refuses the generated configuration"; cat "$1.check"; exit 99; }
}

# Helpers over the current run's files (RUN, OURS = our label, ISC = ISC's).
ipint() { echo "$1" | awk -F. '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }'; }
q() { sqlite3 "file:$SYS_TMP/$RUN/state/leases.db?mode=ro" "$1" 2>/dev/null; }
ours_count() {	# ours_count STATE: rows of our store in STATE (1 FREE, 2 ACTIVE, 7 BACKUP)
	q "SELECT count(*) FROM leases WHERE state = $1 AND addr BETWEEN $(ipint $FIRST) AND $(ipint $LAST)"
}
in_state() {	# in_state LABEL STATE: the last move in LABEL's log is to STATE (our and ISC's wording)
	grep -E 'failover (fo|peer fo): I move from' "$SYS_TMP/$1.out" 2>/dev/null | tail -n 1 | grep -q " to $2\$"
}
both_normal() { in_state "$OURS" normal && in_state "$ISC" normal; }
fo_json() { "$RACKDHCPCTL" -s "$SYS_TMP/$RUN/ctl/control.sock" --json failover status 2>/dev/null; }
fo_field() {	# fo_field NAME: one number of relationship fo in failover status --json
	fo_json | python3 -c 'import json, sys
for r in json.load(sys.stdin)["relationships"]:
    if r["name"] == "fo": print(r[sys.argv[1]])' "$1" 2>/dev/null
}
pool_backup() {	# the pool's BACKUP count as `rackdhcpctl status --json` shows our table
	"$RACKDHCPCTL" -s "$SYS_TMP/$RUN/ctl/control.sock" --json status 2>/dev/null | python3 -c 'import json, sys
def walk(o):
    if isinstance(o, dict):
        if o.get("range") == sys.argv[1]: print(o["backup"])
        for v in o.values(): walk(v)
    elif isinstance(o, list):
        for v in o: walk(v)
walk(json.load(sys.stdin))' "$FIRST-$LAST" 2>/dev/null | head -n 1
}
ctl_backup_ge() { v=$(pool_backup); [ "${v:-0}" -ge "$1" ]; }
field_ge() { v=$(fo_field "$1"); [ "${v:-0}" -ge "$2" ]; }
idle() { [ "$(fo_field queued_updates)" = 0 ] && [ "$(fo_field unacked_updates)" = 0 ]; }
isc_last() {	# "ADDRESS STATE" for each address's last record in ISC's lease file
	awk '$1 == "lease" { a = $2; bs = "" }
		$1 == "binding" && $2 == "state" { bs = $3; sub(/;$/, "", bs) }
		$1 == "}" && a != "" { last[a] = bs; a = "" }
		END { for (x in last) print x, last[x] }' "$SYS_TMP/$RUN/isc.leases" | sort
}
isc_count() { isc_last | awk -v s="$1" '$2 == s { n++ } END { print n + 0 }'; }
ours_states() {	# "ADDRESS STATE" for every address of the pool in our store (no row: free)
	q "SELECT addr, state FROM leases" | awk -F'|' -v first="$(ipint $FIRST)" -v last="$(ipint $LAST)" '
		function d(x) { return sprintf("%d.%d.%d.%d", int(x / 16777216), int(x / 65536) % 256, int(x / 256) % 256, x % 256) }
		BEGIN { split("free active expired released abandoned reset backup", nm, " ") }
		{ st[$1 + 0] = $2 + 0 }
		END { for (x = first; x <= last; x++) print d(x), (x in st) ? nm[st[x]] : "free" }' | sort
}
# agree: our store and ISC's lease file give every address the same state
agree() {
	ours_states >"$SYS_TMP/$RUN/ours.states"
	isc_last >"$SYS_TMP/$RUN/isc.states"
	[ "$(wc -l <"$SYS_TMP/$RUN/ours.states")" -eq 40 ] &&
		cmp -s "$SYS_TMP/$RUN/ours.states" "$SYS_TMP/$RUN/isc.states"
}
# clients N SERVER MACS: N new clients (the last bytes of their MACs in
# MACS), each must be answered by SERVER; sets GOT (how many got an ACK from it)
clients() {
	GOT=0
	k=0
	for x in $3; do
		[ $k -ge "$1" ] && break
		k=$((k + 1))
		r=$(dhcp_dora cli br0 "52:54:00:fb:10:$x" 6)
		echo "# ($RUN) client 52:54:00:fb:10:$x: $r"
		case $r in "ACK "*" $2 "*) GOT=$((GOT + 1)) ;; esac
	done
}
ours_backup_le() { [ "$(ours_count 7)" -le "$1" ]; }
since() { tail -n +$(($2 + 1)) "$SYS_TMP/$1.out"; }	# since LABEL LINE: LABEL's log after LINE
logged() { since "$1" "$2" | grep -qi -- "$3"; }	# logged LABEL LINE TEXT: TEXT is in it (any case)
not_logged() { ! logged "$@"; }
logs() { echo "$SYS_TMP/$OURS.out $SYS_TMP/$ISC.out"; }
check() {	# check DESCRIPTION CMD...: a TAP line, both logs on failure
	d=$1
	shift
	if "$@"; then t_ok 0 "$d"; else
		# shellcheck disable=SC2046 # paths without spaces
		t_ok 1 "$d" $(logs)
	fi
}
start_ours() {	# start_ours NS
	proc_start "$OURS" ip netns exec "$(ns_name "$1")" "$RACKDHCPD" -c "$SYS_TMP/$RUN/rackdhcpd.yaml" -f
	wait_for 20 grep -q 'serving on' "$SYS_TMP/$OURS.out"
}
start_isc() {	# start_isc NS IF
	: >"$SYS_TMP/$RUN/isc.leases"
	proc_start "$ISC" ip netns exec "$(ns_name "$1")" "$DHCPD" -4 -f -d -cf "$SYS_TMP/$RUN/isc.conf" \
		-lf "$SYS_TMP/$RUN/isc.leases" -pf "$SYS_TMP/$RUN/isc.pid" "$2"
	wait_for 20 grep -q "^Sending on.*/$2" "$SYS_TMP/$ISC.out"
}
# run_start RUN ROLE OURS_BALANCE ISC_BALANCE: run RUN with us as ROLE and
# ISC as the other; each BALANCE is "min_balance max_balance misbalance%".
# Writes both configurations, starts ISC, then us, and waits for NORMAL.
run_start() {
	RUN=$1 OURS=$1-ours ISC=$1-isc
	if [ "$2" = primary ]; then
		set -- "$1" "$2" "$3" "$4" 10.31.0.1 10.31.0.2 secondary sec s0 pri
	else
		set -- "$1" "$2" "$3" "$4" 10.31.0.2 10.31.0.1 primary pri p0 sec
	fi
	# shellcheck disable=SC2086 # the balance settings are three words
	ours_conf "$RUN" "$2" "$5" "$6" $3
	# shellcheck disable=SC2086
	isc_conf "$SYS_TMP/$RUN/isc.conf" "$7" "$6" "$5" $4
	check "($RUN) ISC dhcpd starts as the $7" start_isc "$8" "$9"
	check "($RUN) rackdhcpd starts as the $2" start_ours "${10}"
	check "($RUN) both reach NORMAL" wait_for 60 both_normal
}
final_checks() {
	check "($RUN) no update in flight on our side" wait_for 20 idle
	check "($RUN) our SQLite and ISC's dhcpd.leases agree on every address's binding state" wait_for 15 agree
	if ! agree; then
		diff "$SYS_TMP/$RUN/ours.states" "$SYS_TMP/$RUN/isc.states" | sed 's/^/#   /'
	fi
	# an address ACTIVE on one side must not be free on the other
	both=$(join "$SYS_TMP/$RUN/ours.states" "$SYS_TMP/$RUN/isc.states" |
		awk '($2 == "active") != ($3 == "active") && ($2 ~ /free|backup/ || $3 ~ /free|backup/) { printf " %s(%s/%s)", $1, $2, $3 }')
	check "($RUN) no address is ACTIVE on one side and free on the other${both:+:$both}" test -z "$both"
	check "($RUN) we rejected no BNDUPD of ISC's (bndupd_rejected 0)" test "$(fo_field bndupd_rejected)" = 0
	check "($RUN) ISC rejected no BNDUPD of ours (no \"rejected\" in its log)" \
		not_logged "$ISC" 0 rejected
	echo "# ($RUN) final: ours free $(ours_count 1) backup $(ours_count 7) active $(ours_count 2);" \
		"ISC free $(isc_count free) backup $(isc_count backup) active $(isc_count active)"
}

# we_ask IP MACS: 12 clients that hash to us (served at IP) take our free
# addresses until our timer sends POOLREQ; ISC answers with a balance run
# and POOLRESP.  Sets n (addresses ISC gave us, by our log) and MO/MI.
we_ask() {
	P0=$(fo_field poolreq_sent) R0=$(fo_field poolresp_received)
	MO=$(wc -l <"$SYS_TMP/$RUN-ours.out") MI=$(wc -l <"$SYS_TMP/$RUN-isc.out")
	echo "# ($RUN) before the clients: poolreq_sent $P0, poolresp_received $R0"
	clients 12 "$1" "$2"
	check "($RUN) 12 clients hashing to us are each answered by rackdhcpd ($GOT)" test "$GOT" -eq 12
	check "($RUN) our timer finds us short and sends POOLREQ (poolreq_sent > $P0)" \
		wait_for 20 field_ge poolreq_sent $((P0 + 1))
	check "($RUN) ... and logs it" logged "$RUN-ours" "$MO" 'asking the peer for more (POOLREQ)'
	check "($RUN) ISC answers POOLRESP (poolresp_received > $R0)" \
		wait_for 15 field_ge poolresp_received $((R0 + 1))
	n=$(since "$RUN-ours" "$MO" |
		sed -n 's/.*the peer answered our POOLREQ: \([0-9]*\) addresses given to us.*/\1/p' |
		awk '{ s += $1 } END { print s + 0 }')
	check "($RUN) our log: ISC's POOLRESP gave us addresses ($n)" test "$n" -ge 1
	check "($RUN) ISC logged a balance run on our request" logged "$RUN-isc" "$MI" 'balancing pool'
	check "($RUN) ISC did not answer our POOLREQ negatively" not_logged "$RUN-isc" "$MI" 'answering negatively'
}

# isc_asks IP MACS: 12 clients that hash to ISC (served at IP) take its free
# addresses until its timer sends POOLREQ; we answer.  Sets n (addresses we
# gave, by our log) and MO/MI.
isc_asks() {
	P0=$(fo_field poolreq_received)
	MO=$(wc -l <"$SYS_TMP/$RUN-ours.out") MI=$(wc -l <"$SYS_TMP/$RUN-isc.out")
	echo "# ($RUN) before the clients: poolreq_received $P0"
	clients 12 "$1" "$2"
	check "($RUN) 12 clients hashing to ISC are each answered by ISC ($GOT)" test "$GOT" -eq 12
	check "($RUN) ISC's timer finds it short and it asks (its log: requesting peer rebalance)" \
		wait_for 20 logged "$RUN-isc" "$MI" 'requesting peer rebalance'
	check "($RUN) we receive ISC's POOLREQ (poolreq_received > $P0)" \
		wait_for 15 field_ge poolreq_received $((P0 + 1))
	check "($RUN) ... and log it" wait_for 5 logged "$RUN-ours" "$MO" 'the peer ran short of free addresses (POOLREQ)'
	n=$(since "$RUN-ours" "$MO" |
		sed -n 's/.*the peer ran short of free addresses (POOLREQ): \([0-9]*\) given to it.*/\1/p' |
		awk '{ s += $1 } END { print s + 0 }')
	check "($RUN) we gave ISC addresses on its POOLREQ ($n)" test "$n" -ge 1
}

# ======== Run A: ISC dhcpd primary, rackdhcpd secondary: we ask ISC ========
run_start a secondary "2 5 5" "600 3600 15"
has_backup() { [ "$(ours_count 7)" -ge "$1" ]; }
check "(a) ISC hands us our BACKUP share on entry to NORMAL (20 of 40)" wait_for 20 has_backup 20
B0=$(ours_count 7)
echo "# (a) after the first balance: our BACKUP $B0, ISC's $(isc_count free) free / $(isc_count backup) backup"
we_ask 10.31.0.2 "$SEC_MACS"
want=$((B0 - 12 + (n > 0 ? n : 1)))
check "(a) the moved addresses are BACKUP in our SQLite (now $(ours_count 7), want $want)" wait_for 10 has_backup "$want"
isc_has_backup() { [ "$(isc_count backup)" -ge "$1" ]; }
check "(a) ... and in ISC's dhcpd.leases" wait_for 10 isc_has_backup "$want"
check "(a) ... and \`rackdhcpctl status\` shows the pool's BACKUP count grown ($(pool_backup), want >= $want)" \
	wait_for 5 ctl_backup_ge "$want"
final_checks
rd_stop "$OURS"
proc_stop "$ISC"

# ======== Run B: rackdhcpd primary, ISC dhcpd secondary: ISC asks us ========
fo_cap_start cap pri p0
run_start b primary "600 3600 15" "2 5 5"
check "(b) we hand ISC its BACKUP share on entry to NORMAL (20 of 40)" wait_for 20 isc_has_backup 20
B0=$(isc_count backup)
isc_asks 10.31.0.2 "$SEC_MACS"
isc_got() { since b-isc "$MI" | grep -Eq "pool response: [1-9][0-9]* leases"; }
check "(b) ISC logs our POOLRESP with a count (pool response: N leases)" wait_for 5 isc_got
want=$((B0 - 12 + (n > 0 ? n : 1)))
check "(b) the moved addresses are BACKUP in ISC's dhcpd.leases (now $(isc_count backup), want $want)" \
	wait_for 10 isc_has_backup "$want"
check "(b) ... and in our SQLite" wait_for 10 has_backup "$want"
final_checks
rd_stop "$OURS"
proc_stop "$ISC"
if command -v "${TSHARK:-tshark}" >/dev/null 2>&1 && command -v tcpdump >/dev/null 2>&1; then
	fo_cap_check rackdhcpd-primary cap 10.31.0.1
	nreq=$("${TSHARK:-tshark}" -r "$SYS_TMP/cap.pcap" -d tcp.port==647,dhcpfo \
		-Y 'ip.src==10.31.0.2 && dhcpfo.type == 1' -T fields -e frame.number 2>/dev/null | wc -l)
	check "(b) tshark: ISC sent POOLREQ (dhcpfo type 1) on the wire ($nreq frames)" test "$nreq" -ge 1
	nresp=$("${TSHARK:-tshark}" -r "$SYS_TMP/cap.pcap" -d tcp.port==647,dhcpfo \
		-Y 'ip.src==10.31.0.1 && dhcpfo.type == 2' -T fields -e frame.number 2>/dev/null | wc -l)
	check "(b) tshark: we answered POOLRESP (dhcpfo type 2) ($nresp frames)" test "$nresp" -ge 1
else
	t_ok 0 "(b) tshark: ISC sent POOLREQ on the wire # SKIP tshark or tcpdump not found"
	t_ok 0 "(b) tshark: we answered POOLRESP # SKIP tshark or tcpdump not found"
fi

# ======== Run C: rackdhcpd primary, ISC dhcpd secondary: we ask ISC ========
run_start c primary "2 5 5" "600 3600 15"
check "(c) we hand ISC its BACKUP share on entry to NORMAL (20 of 40)" wait_for 20 isc_has_backup 20
B0=$(isc_count backup)
we_ask 10.31.0.1 "$PRI_MACS"
want=$((B0 - (n > 0 ? n : 1)))
isc_backup_le() { [ "$(isc_count backup)" -le "$1" ]; }
check "(c) ISC's secondary moved BACKUP addresses to FREE: its dhcpd.leases has $(isc_count backup) BACKUP, want <= $want" \
	wait_for 10 isc_backup_le "$want"
check "(c) ... and our SQLite has them FREE again (BACKUP rows <= $want)" wait_for 10 ours_backup_le "$want"
final_checks
rd_stop "$OURS"
proc_stop "$ISC"

# ======== Run D: ISC dhcpd primary, rackdhcpd secondary: ISC asks us ========
run_start d secondary "600 3600 15" "2 5 5"
check "(d) ISC hands us our BACKUP share on entry to NORMAL (20 of 40)" wait_for 20 has_backup 20
F0=$(isc_count free) B0=$(ours_count 7)
isc_asks 10.31.0.1 "$PRI_MACS"
want=$((B0 - (n > 0 ? n : 1)))
check "(d) our SQLite has them FREE (BACKUP rows now $(ours_count 7), want <= $want)" wait_for 10 ours_backup_le "$want"
isc_has_free() { [ "$(isc_count free)" -ge "$1" ]; }
check "(d) ... and ISC's dhcpd.leases too (free now $(isc_count free), want >= $((F0 - 12 + (n > 0 ? n : 1))))" \
	wait_for 10 isc_has_free $((F0 - 12 + (n > 0 ? n : 1)))
final_checks
rd_stop "$OURS"
proc_stop "$ISC"

echo "1..$T"
[ "$FAILED" -eq 0 ]
