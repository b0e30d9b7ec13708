#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fo_pair_isc2.sh — rackdhcpd as the PRIMARY of a failover pair whose
# secondary is a live ISC dhcpd 4.4, in three network namespaces:
#
#   pri  10.30.0.1/24 on p0   rackdhcpd, role primary of "fo", split 128,
#                             MCLT 30 s, pool 10.30.0.100-109 (10 addresses)
#   sec  10.30.0.2/24 on s0   ISC dhcpd, secondary of "fo"
#   cli  br0 (p0's and s0's peers enslaved): clients made of raw frames
#        (dhcp_dora in lib.sh), each with its own MAC, no client-id, so the
#        RFC 3074 hash over the MAC decides: 52:54:00:fc:00:XX hashes to the
#        primary (split 128: bucket < 128) for XX = 02 03 04 05 09 0a 0b 0c
#        0d 0e 12 14 18 19 ..., to the secondary for XX = 01 06 07 08 0f 10
#        11 13 15 16 17 1a 1b 21 25 28 29 2a 2f 30 31 32 34 35 36 37 ...
#
# Checked, in order: a fresh start brings both to NORMAL; we hand ISC its
# BACKUP share (ISC's dhcpd.leases shows "binding state backup"); a client
# hashing to each side is answered by that side, and each lease is in the
# other's store (our SQLite / ISC's dhcpd.leases, ACTIVE); kill -9 of ISC:
# we move to communications-interrupted and give a new client an address
# of our own (not one of ISC's BACKUP addresses); ISC restarted, both are
# NORMAL and ISC has the lease made while it was down; kill -9 of
# rackdhcpd: ISC moves to communications-interrupted and serves a new
# client from its BACKUP share; we restart, both are NORMAL and our SQLite
# has the lease ISC made meanwhile; ISC's lease file deleted: ISC goes
# through recover and recover-done back to NORMAL and its dhcpd.leases has
# our clients' leases again; kill -9 of ISC and `rackdhcpctl failover
# partner-down fo`: before MCLT has passed we allocate new clients only
# from our own share and then refuse (ISC's BACKUP addresses untouched),
# and once MCLT has passed since partner-down a new client that hashes to
# ISC gets an address, and new clients get each of ISC's BACKUP addresses
# whose max(STOS, tsfp) + MCLT has passed (fo_takeover in lib.sh); ISC
# restarted with its lease file finds us in partner-down, recovers, and
# binds each address we took from its share (still ACTIVE here, renewed
# just before) to our client.  With tshark and tcpdump, port 647 is
# captured in our namespace throughout, and every message rackdhcpd sent
# must decode as dhcpfo with no malformed frame or expert warning
# (fo_cap_check).
#
# Skips (exit 77) without root, network namespaces, ISC dhcpd, python3,
# sqlite3 or the built daemon.  RD_KEEP_TMP=1 keeps the temp dir.  Every
# wait is bounded; runtime ~2 min.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
: "${DHCPD:=$(command -v dhcpd || echo /usr/sbin/dhcpd)}"

. "$top_srcdir/tests/sys/lib.sh"

need_isc_pair
MCLT=30


sys_init fo_pair_isc2
ns_setup pri sec cli
CLI=$(ns_name cli)
fo_bridge 0 p0 s0
ns_addr pri p0 10.30.0.1/24
ns_addr sec s0 10.30.0.2/24

mkdir -p "$SYS_TMP/pri"
{
	rd_server_yaml "$SYS_TMP/pri" p0 1
	cat <<EOF
subnets:
  - cidr: 10.30.0.0/24
    routers: [10.30.0.1]
    lease_time: 120
    min_lease_time: 4
    max_lease_time: 120
    pools:
      - range: 10.30.0.100-10.30.0.109
        failover_peer: fo
failover:
  - name: fo
    role: primary
    address: 10.30.0.1
    peer_address: 10.30.0.2
    mclt: $MCLT
    split: 128
    max_response_delay: 6
    max_unacked_updates: 10
    load_balance_max_seconds: 3
EOF
} >"$SYS_TMP/pri/rackdhcpd.yaml"
cat >"$SYS_TMP/isc.conf" <<'EOF'
authoritative;
ddns-update-style none;
default-lease-time 120;
max-lease-time 120;
min-lease-time 4;
ping-check false;
failover peer "fo" {
  secondary;
  address 10.30.0.2; port 647;
  peer address 10.30.0.1; peer port 647;
  max-response-delay 6;
  max-unacked-updates 10;
  load balance max seconds 3;
}
subnet 10.30.0.0 netmask 255.255.255.0 {
  option routers 10.30.0.1;
  pool { failover peer "fo"; range 10.30.0.100 10.30.0.109; }
}
EOF
"$DHCPD" -t -4 -cf "$SYS_TMP/isc.conf" >"$SYS_TMP/isc-check.out" 2>&1 ||
	{ echo "Bail out! ISC dhcpd refuses the generated configuration"; exit 99; }
: >"$SYS_TMP/isc.leases"

start() {	# rackdhcpd in namespace pri, wait until it serves
	[ -f "$SYS_TMP/pri.out" ] && cat "$SYS_TMP/pri.out" >>"$SYS_TMP/pri.all"
	proc_start pri ip netns exec "$(ns_name pri)" "$RACKDHCPD" -c "$SYS_TMP/pri/rackdhcpd.yaml" -f
	wait_for 20 grep -q 'serving on' "$SYS_TMP/pri.out"
}
start_isc() {	# ISC dhcpd as the secondary, in namespace sec
	[ -f "$SYS_TMP/sec.out" ] && cat "$SYS_TMP/sec.out" >>"$SYS_TMP/sec.all"
	proc_start sec ip netns exec "$(ns_name sec)" "$DHCPD" -4 -f -d -cf "$SYS_TMP/isc.conf" \
		-lf "$SYS_TMP/isc.leases" -pf "$SYS_TMP/isc.pid" s0
	wait_for 20 grep -q '^Sending on.*/s0' "$SYS_TMP/sec.out"
}
kill9() {	# kill9 LABEL: no goodbye, the peer only sees the link go
	kill -KILL "$(cat "$SYS_TMP/$1.pid")" 2>/dev/null
	wait "$(cat "$SYS_TMP/$1.pid")" 2>/dev/null
	rm -f "$SYS_TMP/$1.pid"
}
in_state() {	# in_state NAME STATE: the last move in NAME's log is to STATE (our and ISC's wording)
	grep -E 'failover (fo|peer fo): I move from' "$SYS_TMP/$1.out" 2>/dev/null | tail -n 1 | grep -q " to $2\$"
}
both_normal() { in_state pri normal && in_state sec normal; }
ctl_state() {	# ctl_state STATE: rackdhcpctl failover status shows us in STATE
	"$RACKDHCPCTL" -s "$SYS_TMP/pri/ctl/control.sock" failover status 2>/dev/null |
		awk -v s="$1" '$1 == "fo" && $3 == s { f = 1 } END { exit !f }'
}
ipint() { echo "$1" | awk -F. '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }'; }
q() { sqlite3 "file:$SYS_TMP/pri/state/leases.db?mode=ro" "$1" 2>/dev/null; }
in_store() {	# in_store ADDR MAC [STATES]: our SQLite binds ADDR to MAC, ACTIVE (or in STATES: "2, 3")
	n=$(q "SELECT count(*) FROM leases WHERE addr = $(ipint "$1") AND state IN (${3:-2})
		AND hex(chaddr) = upper('$(echo "$2" | tr -d :)')")
	[ "${n:-0}" -ge 1 ]
}
in_isc() {	# in_isc ADDR MAC [STATES [any]]: ISC's dhcpd.leases binds ADDR to MAC, active (or in
	# STATES: "active|expired"), in its last record for ADDR (with "any": in any record)
	awk -v a="$1" -v m="$2;" -v st="^(${3:-active});\$" -v any="${4:-}" '
		$1 == "lease" && $2 == a { cur = 1; bs = ""; hw = "" }
		cur && $1 == "binding" && $2 == "state" { bs = $3 }
		cur && $1 == "hardware" { hw = tolower($3) }
		cur && $1 == "}" { this = (bs ~ st && hw == m); ok = any ? ok || this : this; cur = 0 }
		END { exit !ok }' "$SYS_TMP/isc.leases"
}
isc_backup() {	# the addresses whose last record in ISC's dhcpd.leases is BACKUP
	awk '$1 == "lease" { a = $2; bs = "" }
		$1 == "binding" && $2 == "state" { bs = $3 }
		$1 == "}" && a != "" { last[a] = bs; a = "" }
		END { for (x in last) if (last[x] == "backup;") print x }' "$SYS_TMP/isc.leases" | sort
}
has_isc_backup() { [ "$(isc_backup | wc -l)" -ge 2 ]; }

# dora LABEL MAC: one client exchange from namespace cli; sets ADDR, SID
# (empty when there was no ACK) and logs the result as a TAP comment.
dora() {
	r=$(dhcp_dora cli br0 "$2" 8)
	echo "$2 $r" >>"$SYS_TMP/clients"
	echo "# ($1) client $2: $r"
	ADDR='' SID=''
	case $r in ACK*) set -- $r; ADDR=$2 SID=$3 ;; esac
	[ -n "$ADDR" ]
}
mac() { printf '52:54:00:fc:00:%s' "$1"; }

fo_cap_start cap pri p0
check "ISC dhcpd starts as the secondary" start_isc
check "rackdhcpd starts as the primary" start
check "both reach NORMAL from a fresh start" wait_for 60 both_normal
check "the pool is balanced: ISC's dhcpd.leases holds BACKUP addresses we handed over" wait_for 20 has_isc_backup
BACKUP_BEFORE=$(isc_backup)
echo "# ISC's BACKUP share: $(echo $BACKUP_BEFORE)"

# A client of each side, by the hash.
PM=$(mac 02)
dora normal "$PM"
check "a client hashing to the primary ($PM) gets a lease from rackdhcpd" test "$SID" = 10.30.0.1
PA=$ADDR
SM=$(mac 01)
dora normal "$SM"
check "a client hashing to the secondary ($SM) gets a lease from ISC" test "$SID" = 10.30.0.2
SA=$ADDR
check "our lease $PA is ACTIVE in ISC's dhcpd.leases" wait_for 10 in_isc "$PA" "$PM"
check "ISC's lease $SA is ACTIVE in our SQLite" wait_for 10 in_store "$SA" "$SM"
check "ISC's client got an address of its BACKUP share" sh -c 'echo "$1" | grep -qx "$2"' - "$BACKUP_BEFORE" "$SA"

# kill -9 of ISC: we serve everyone, from our own share only.
kill9 sec
check "ISC killed: we move to communications-interrupted" wait_for 20 in_state pri communications-interrupted
check "rackdhcpctl failover status says communications-interrupted" ctl_state communications-interrupted
M1=$(mac 06)
dora comm-int "$M1"
check "a new client hashing to ISC ($M1) gets a lease from us" test "$SID" = 10.30.0.1
A1=$ADDR
check "... from our own share (not one of ISC's BACKUP addresses)" \
	sh -c '[ -n "$2" ] && ! echo "$1" | grep -qx "$2"' - "$BACKUP_BEFORE" "$A1"
check "ISC restarts" start_isc
check "both are back in NORMAL" wait_for 60 both_normal
check "the lease we made while ISC was down ($A1) is in ISC's dhcpd.leases" wait_for 20 in_isc "$A1" "$M1"

# kill -9 of rackdhcpd: ISC serves everyone from its BACKUP share.
kill9 pri
check "rackdhcpd killed: ISC moves to communications-interrupted" \
	wait_for 20 in_state sec communications-interrupted
M2=$(mac 03)
dora isc-comm-int "$M2"
check "a new client hashing to us ($M2) gets a lease from ISC" test "$SID" = 10.30.0.2
A2=$ADDR
check "... from ISC's own (BACKUP) share" sh -c 'echo "$1" | grep -qx "$2"' - "$BACKUP_BEFORE" "$A2"
check "rackdhcpd restarts" start
check "both are back in NORMAL" wait_for 60 both_normal
check "the lease ISC made while we were down ($A2) is in our SQLite" wait_for 20 in_store "$A2" "$M2"

# ISC loses its lease file: RECOVER, our leases again, NORMAL.  The first
# two clients come back first, so that their leases are ACTIVE again.
dora again "$PM"
check "$PM gets a lease from us again" test "$SID" = 10.30.0.1
PA=$ADDR
dora again "$SM"
check "$SM gets a lease from ISC again" test "$SID" = 10.30.0.2
SA=$ADDR
check "... which we know of" wait_for 10 in_store "$SA" "$SM"
kill9 sec
cp "$SYS_TMP/isc.leases" "$SYS_TMP/isc.leases.lost"
: >"$SYS_TMP/isc.leases"
rm -f "$SYS_TMP/isc.leases~"
check "ISC restarts with an empty lease file" start_isc
check "ISC starts over in recover" wait_for 20 grep -q 'failover peer fo: I move from .* to recover$' "$SYS_TMP/sec.out"
check "... and the pair is NORMAL again" wait_for $((MCLT + 40)) both_normal
check "... through recover-done" grep -q 'failover peer fo: I move from .* to recover-done$' "$SYS_TMP/sec.out"
grep -E 'failover peer fo: I move' "$SYS_TMP/sec.out" | sed 's/^/# recovering ISC: /'
# The file was empty: any record in it came from us (UPDREQALL).
for c in "$PA $PM" "$SA $SM"; do
	set -- $c
	check "ISC's new dhcpd.leases has $1 ACTIVE for $2 again" wait_for 10 in_isc "$1" "$2" active any
done
for c in "$A1 $M1" "$A2 $M2"; do
	set -- $c
	check "ISC's new dhcpd.leases has $1 for $2 again (ACTIVE or EXPIRED by now)" \
		wait_for 10 in_isc "$1" "$2" 'active|expired' any
done

# Partner-down and MCLT: kill -9 of ISC, the operator declares it down.
kill9 sec
check "ISC killed again: we are in communications-interrupted" wait_for 20 in_state pri communications-interrupted
check "rackdhcpctl failover partner-down fo" "$RACKDHCPCTL" -s "$SYS_TMP/pri/ctl/control.sock" failover partner-down fo
check "... we move to partner-down" wait_for 10 in_state pri partner-down
fo_takeover "partner-down, rackdhcpd primary" cli br0 "$SYS_TMP/pri/state/leases.db" 10.30.0.1 primary \
	10.30.0.100 10.30.0.109 $MCLT "$(mac 07)"

# ISC comes back with its lease file (saved state normal) and finds us in
# partner-down: it starts over in recover, learns every binding we made
# meanwhile, and the pair is NORMAL again.  The addresses we took from its
# BACKUP share must now be bound, in ISC's file, to the clients we gave
# them to: ISC will not hand them out again.
active_mac() {	# active_mac ADDR: the MAC ADDR is ACTIVE for in our store
	q "SELECT lower(hex(chaddr)) FROM leases WHERE addr = $(ipint "$1") AND state = 2" | sed 's/../&:/g; s/:$//'
}
isc_knows_ours() {	# each of $SHARE_TAKEN still ACTIVE here is bound to the same MAC in ISC's file; KNOWN counts them
	KNOWN=0
	for a in $SHARE_TAKEN; do
		m=$(active_mac "$a")
		[ -n "$m" ] || continue
		in_isc "$a" "$m" 'active|expired' any || return 1
		KNOWN=$((KNOWN + 1))
	done
	[ "$KNOWN" -ge 1 ]
}
SHARE_TAKEN=$(for a in $taken; do echo "$share" | grep -x "$a"; done | sort -u)
echo "# addresses of ISC's share we gave away: $(echo $SHARE_TAKEN)"
# Their clients come back first, so that the leases are still ACTIVE when
# ISC returns.
for a in $SHARE_TAKEN; do
	m=$(active_mac "$a")
	[ -n "$m" ] && echo "# client of $a renews: $(dhcp_dora cli br0 "$m" 6)"
done
check "ISC restarts with its lease file" start_isc
check "ISC, seeing us in partner-down, goes to recover" \
	wait_for 20 grep -q 'failover peer fo: I move from .* to recover$' "$SYS_TMP/sec.out"
check "... and the pair is NORMAL again" wait_for $((MCLT + 40)) both_normal
grep -E 'failover peer fo: I move' "$SYS_TMP/sec.out" | sed 's/^/# ISC back after partner-down: /'
check "ISC's dhcpd.leases binds each address we took from its share to our client" \
	sh -c '[ -n "$1" ]' - "$SHARE_TAKEN"
check "... every one of them still ACTIVE here" wait_for 10 isc_knows_ours
echo "# checked $KNOWN address(es)"

proc_stop pri
fo_cap_check rackdhcpd-primary cap 10.30.0.1
cat "$SYS_TMP/pri.all" "$SYS_TMP/pri.out" "$SYS_TMP/sec.all" "$SYS_TMP/sec.out" 2>/dev/null |
	grep -E 'failover (fo|peer fo)' | grep -E 'I move|link up|link down|refused' | sed 's/^/# /' | tail -n 40
echo "1..$T"
[ "$FAILED" -eq 0 ]
