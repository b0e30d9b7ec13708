#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fo_reload.sh — failover relationships following a live reload (issue 6,
# rd_fo_peers_reconfigure).  Two rackdhcpd in namespaces pri and sec, a
# dhclient in namespace cli, two bridged segments in cli:
#
#   br0  10.31.0.0/24  pri p0 .1, sec s0 .2   relationship "fo" (pri primary,
#                                             split 128; MCLT 15 s), pool
#                                             .100-.119, dhclient "cla" on br0
#   br1  10.31.1.0/24  pri p1 .1, sec s1 .2   relationship "fo2", added and
#                                             removed by reloads
#
# Steps, each a reload of both servers (rackdhcpctl reload):
#  1. fo2 and its subnet are added: fo2 reaches NORMAL on both sides while
#     fo keeps its link (no "link down" for fo);
#  2. a reload whose new relationship cannot listen (its port is held in
#     pri by a python listener) is refused with the reason, and changes
#     nothing;
#  3. fo2 is removed, pri first: sec's fo2 sees pri's SHUTDOWN (moves to
#     partner-down), pri's fo2 listener (10.31.1.1:647) is closed; then
#     sec's too;
#  4. fo's roles are swapped on both sides: the pair is NORMAL again with
#     sec the primary.
# cla renews all along (lease 10 s): after each step it renews its address
# again, and it never gets another one nor loses it.
#
# Skips (exit 77) without root, network namespaces, dhclient, python3, ss
# or the built daemon.  RD_KEEP_TMP=1 keeps the temp dir.  Every wait is
# bounded; runtime ~1-2 min.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
: "${DHCLIENT:=$(command -v dhclient || echo /usr/sbin/dhclient)}"

. "$top_srcdir/tests/sys/lib.sh"

need_root
need_cmd timeout python3 ss
[ -x "$DHCLIENT" ] || skip_all "dhclient (isc-dhcp-client) not found"
need_daemon ctl
need_netns

sys_init fo_reload
ns_setup pri sec cli
CLI=$(ns_name cli)
for seg in 0 1; do
	fo_bridge $seg p$seg s$seg
	ns_addr pri p$seg 10.31.$seg.1/24
	ns_addr sec s$seg 10.31.$seg.2/24
done

# conf NAME ROLE_OF_FO FO2 [EXTRA]: NAME's YAML; FO2 = yes adds fo2 and its
# subnet; EXTRA = fo3 adds a relationship on port 648 (the refused reload).
conf() {
	n=$1
	if [ "$n" = pri ]; then me=1 peer=2 if0=p0 fo2role=primary; else me=2 peer=1 if0=s0 fo2role=secondary; fi
	mkdir -p "$SYS_TMP/$n"
	{
		rd_server_yaml "$SYS_TMP/$n" "$if0" 1
		cat <<EOF
subnets:
  - cidr: 10.31.0.0/24
    routers: [10.31.0.1]
    lease_time: 10
    min_lease_time: 4
    max_lease_time: 10
    pools:
      - range: 10.31.0.100-10.31.0.119
        failover_peer: fo
EOF
		[ "$3" = yes ] && cat <<EOF
  - cidr: 10.31.1.0/24
    lease_time: 40
    pools:
      - range: 10.31.1.100-10.31.1.119
        failover_peer: fo2
EOF
		cat <<EOF
failover:
  - name: fo
    role: $2
    address: 10.31.0.$me
    peer_address: 10.31.0.$peer
    mclt: 15
    max_response_delay: 6
    max_unacked_updates: 10
    load_balance_max_seconds: 3
EOF
		[ "$2" = primary ] && echo "    split: 128"
		[ "$3" = yes ] && cat <<EOF
  - name: fo2
    role: $fo2role
    address: 10.31.1.$me
    peer_address: 10.31.1.$peer
    mclt: 15
    max_response_delay: 6
    max_unacked_updates: 10
EOF
		[ "$3" = yes ] && [ "$fo2role" = primary ] && echo "    split: 128"
		[ "${4:-}" = fo3 ] && cat <<EOF
  - name: fo3
    role: primary
    address: 10.31.0.$me
    port: 648
    peer_address: 10.31.0.$peer
    peer_port: 648
    mclt: 15
    split: 128
EOF
	} >"$SYS_TMP/$n/rackdhcpd.yaml"
}
client_scripts
cat >"$SYS_TMP/dhclient.conf" <<'EOF'
timeout 20;
initial-interval 1;
backoff-cutoff 2;
request subnet-mask, routers, dhcp-lease-time, dhcp-server-identifier;
EOF

start() {	# start NAME: rackdhcpd in namespace NAME, wait until it serves
	proc_start "$1" ip netns exec "$(ns_name "$1")" "$RACKDHCPD" -c "$SYS_TMP/$1/rackdhcpd.yaml" -f
	wait_for 20 grep -q 'serving on' "$SYS_TMP/$1.out"
}
reload() {	# reload NAME: rackdhcpctl reload, its answer in $SYS_TMP/NAME.reload
	"$RACKDHCPCTL" -s "$SYS_TMP/$1/ctl/control.sock" reload >"$SYS_TMP/$1.reload" 2>&1
}
in_state() {	# in_state NAME REL STATE: the last move of REL in NAME's log is to STATE
	grep -E "failover $2: I move from" "$SYS_TMP/$1.out" 2>/dev/null | tail -n 1 | grep -q " to $3\$"
}
pair_normal() { in_state pri "$1" normal && in_state sec "$1" normal; }
after() {	# after MARK NAME PATTERN: PATTERN in NAME's log after line MARK
	tail -n +"$(($1 + 1))" "$SYS_TMP/$2.out" | grep -qE "$3"
}
lines() { wc -l <"$SYS_TMP/$1.out"; }
fo_kept_link() {	# no "link down" for fo in either log since the marks PM, SM
	! after "$PM" pri "failover fo: link down" && ! after "$SM" sec "failover fo: link down"
}
last_move_since() {	# last_move_since MARK NAME REL STATE: REL moved, and last to STATE, after MARK
	tail -n +"$(($1 + 1))" "$SYS_TMP/$2.out" | grep -E "failover $3: I move from" | tail -n 1 | grep -q " to $4\$"
}
normal_again() { last_move_since "$PM" pri fo normal && last_move_since "$SM" sec fo normal; }
listens() {	# listens NAME ADDR:PORT
	ip netns exec "$(ns_name "$1")" ss -Hltn 2>/dev/null | awk '{ print $4 }' | grep -qx "$2"
}
closed() { ! listens "$@"; }
role_is() {	# role_is NAME REL ROLE: rackdhcpctl failover status
	"$RACKDHCPCTL" -s "$SYS_TMP/$1/ctl/control.sock" failover status 2>/dev/null |
		awk -v r="$2" -v role="$3" '$1 == r && $2 == role { f = 1 } END { exit !f }'
}
bound() { grep -qE '^(BOUND|REBOOT) ' "$EV"; }
same_addr() {	# every address cla was given is ADDR; none expired
	! grep -qE '^(EXPIRE|FAIL|STOP|RELEASE) ' "$EV" &&
		! grep -E '^(BOUND|REBOOT|RENEW|REBIND) ' "$EV" | cut -d' ' -f2 | grep -qvx "$ADDR"
}
renewed_after() {	# cla renewed ADDR after event line $1
	tail -n +"$(($1 + 1))" "$EV" | grep -qE "^(RENEW|REBIND) $ADDR "
}
renews() {	# renews STEP: cla renews its address once more (T1 is 5 s)
	m=$(wc -l <"$EV")
	check "cla renews $ADDR after $1" wait_for 20 renewed_after "$m"
}

# ---- start: fo only
conf pri primary no
conf sec secondary no
check "pri starts (fo primary)" start pri
check "sec starts (fo secondary)" start sec
check "fo: both reach NORMAL" wait_for 60 pair_normal fo
[ "$FAILED" -eq 0 ] || { echo "Bail out! the pair does not start"; exit 1; }
EV=$SYS_TMP/cla.events
: >"$EV"
proc_start cla timeout -k 2 240 ip netns exec "$CLI" "$DHCLIENT" -4 -d -e RD_LOG="$EV" \
	-cf "$SYS_TMP/dhclient.conf" -sf "$SYS_TMP/dhclient-script" -lf "$SYS_TMP/cla.leases" \
	-pf "$SYS_TMP/cla.dpid" br0
check "cla gets a lease" wait_for 30 bound
ADDR=$(grep -E '^(BOUND|REBOOT) ' "$EV" | tail -n 1 | cut -d' ' -f2)
echo "# cla bound $ADDR"

# ---- 1. add fo2 on both
PM=$(lines pri)
SM=$(lines sec)
conf pri primary yes
conf sec secondary yes
check "reload pri: fo2 added" reload pri
check "reload sec: fo2 added" reload sec
check "fo2: both reach NORMAL" wait_for 60 pair_normal fo2
check "pri listens for fo2 on 10.31.1.1:647" listens pri 10.31.1.1:647
check "fo kept its link through both reloads" fo_kept_link
check "... and stayed in NORMAL" pair_normal fo
renews "fo2 was added"

# ---- 2. a relationship that cannot listen refuses the whole reload
proc_start hold ip netns exec "$(ns_name pri)" python3 -c '
import socket, time
s = socket.socket(); s.bind(("10.31.0.1", 648)); s.listen(1); time.sleep(60)'
wait_for 10 listens pri 10.31.0.1:648
conf pri primary no fo3
if reload pri; then
	t_ok 1 "reload pri with fo3 on a port in use (and fo2 gone) is refused" "$SYS_TMP/pri.reload"
else
	t_ok 0 "reload pri with fo3 on a port in use (and fo2 gone) is refused"
fi
check "... saying which relationship and why" grep -q "fo3.*cannot listen.*Address already in use" "$SYS_TMP/pri.reload"
check "... and fo2 still runs in NORMAL on pri" pair_normal fo2
check "... with its listener open" listens pri 10.31.1.1:647
proc_stop hold

# ---- 3. remove fo2, pri first
PM=$(lines pri)
SM=$(lines sec)
conf pri primary no
check "reload pri: fo2 removed" reload pri
check "sec's fo2 saw pri's SHUTDOWN" wait_for 10 after "$SM" sec "failover fo2: peer moves from normal to shutdown"
check "... and moved to partner-down" wait_for 10 in_state sec fo2 partner-down
check "pri's fo2 listener 10.31.1.1:647 is closed" wait_for 5 closed pri 10.31.1.1:647
check "pri still listens for fo" listens pri 10.31.0.1:647
conf sec secondary no
check "reload sec: fo2 removed" reload sec
check "sec's fo2 listener 10.31.1.2:647 is closed" wait_for 5 closed sec 10.31.1.2:647
check "fo is still NORMAL" pair_normal fo
renews "fo2 was removed"

# ---- 4. swap fo's roles on both sides
PM=$(lines pri)
SM=$(lines sec)
conf pri secondary no
conf sec primary no
check "reload pri: fo secondary" reload pri
check "reload sec: fo primary" reload sec
check "pri restarted fo as secondary" wait_for 10 after "$PM" pri "failover fo: (secondary|now secondary)"
check "the swapped pair is NORMAL again" wait_for 90 normal_again
check "rackdhcpctl: sec is fo's primary now" role_is sec fo primary
check "rackdhcpctl: pri is fo's secondary now" role_is pri fo secondary
renews "the role swap, with the swapped pair"
check "cla kept $ADDR throughout (never another address, never expired)" same_addr
sed 's/^/# cla: /' "$EV"

proc_stop cla
proc_stop pri
proc_stop sec
check "both servers stopped cleanly" sh -c 'grep -q "stopped; every lease change is on disk" "$1" &&
	grep -q "stopped; every lease change is on disk" "$2"' - "$SYS_TMP/pri.out" "$SYS_TMP/sec.out"
check "no sanitizer report in either server's log" sh -c '! grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$1" "$2"' - \
	"$SYS_TMP/pri.out" "$SYS_TMP/sec.out"
cat "$SYS_TMP/pri.out" "$SYS_TMP/sec.out" 2>/dev/null | grep -E 'failover fo2?: (I move|removed|changed|starting|restarting|stopped|now )' |
	sed 's/^/# /' | tail -n 40
echo "1..$T"
[ "$FAILED" -eq 0 ]
