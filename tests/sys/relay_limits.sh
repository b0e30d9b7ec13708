#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# relay_limits.sh — rackdhcpd behind a real DHCP relay, and its rate limits
# under a flood, in network namespaces.
#
#   cli c0 ---- r0 rly r1 ---- s0 srv s1 ---- f0 fld
#        203.0.113.1/24  192.0.2.2/24
#                      192.0.2.1/24  10.0.0.1/20
#
# rackdhcpd runs in srv (2 workers, durability sync) with
#   server.rate_limit: per_client {rate 5, burst 5}, new_clients {rate 20,
#   burst 20}
# and serves 203.0.113.0/24 through the relay (route via 192.0.2.2) and
# 10.0.0.0/20 (4086 addresses) directly on s1.
#
#   a. ISC dhcrelay -a (option 82) in rly: dhclient in cli gets a lease from
#      the relayed subnet's pool; the capture on s0 shows option 82 in the
#      relayed requests and the same option 82 echoed in the server's
#      replies to giaddr; the store has the lease.
#   b. one client hammering: 200 DISCOVERs from one MAC in 0.2 s
#      get between per_client burst and burst + rate * (t + 1 s) OFFERs
#      (counted on the wire in fld), the rest counted as rate_client drops;
#      then a flood of 3000 DISCOVERs from random MACs in ~3 s: the OFFERs
#      seen, and the addresses the pool shows as used, stay within
#      new_clients burst + rate * (t + 1 s) (and at least the burst is
#      offered), the log has the rate-limit warning, a real client
#      (dhclient) on the flooded link still gets a lease, and the server is
#      alive, then stops with status 0 and no sanitizer report.
#
# Skips (1..0 # SKIP, exit 77) without root, network namespaces, dhclient,
# dhcrelay, tcpdump, tshark, sqlite3, python3, or a built rackdhcpd.
# RD_KEEP_TMP=1 keeps the temp dir (logs, capture, lease database).
# Runtime ~10 s.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
: "${RD_PYTHON:=/usr/bin/python3}"
: "${RACKDHCPD:=$top_builddir/dhcpd/rackdhcpd}"
: "${RACKDHCPCTL:=$top_builddir/dhcpd/rackdhcpctl}"
: "${DHCLIENT:=$(command -v dhclient || echo /usr/sbin/dhclient)}"
: "${DHCRELAY:=$(command -v dhcrelay || echo /usr/sbin/dhcrelay)}"

. "$top_srcdir/tests/sys/lib.sh"

TOOL="$top_srcdir/tests/sys/flood.py"

# The limits under test, and the flood.
CL_RATE=5 CL_BURST=5
NEW_RATE=20 NEW_BURST=20
HAMMER=200
FLOOD=3000 FLOOD_S=3

need_root
need_cmd sqlite3 tshark tcpdump timeout
[ -x "$DHCLIENT" ] || skip_all "dhclient (isc-dhcp-client) not found"
[ -x "$DHCRELAY" ] || skip_all "dhcrelay (isc-dhcp-relay) not found"
[ -x "$RD_PYTHON" ] || skip_all "$RD_PYTHON not found"
[ -x "$RACKDHCPD" ] || skip_all "$RACKDHCPD not built"
[ -x "$RACKDHCPCTL" ] || skip_all "$RACKDHCPCTL not built"
need_netns

RACKDHCPD=$(cd "$(dirname "$RACKDHCPD")" && pwd)/$(basename "$RACKDHCPD")
RACKDHCPCTL=$(cd "$(dirname "$RACKDHCPCTL")" && pwd)/$(basename "$RACKDHCPCTL")

sys_init relay_limits

STATE=$SYS_TMP/state
CONF=$SYS_TMP/rackdhcpd.yaml
CTL_SOCK=$SYS_TMP/ctl/control.sock
DB=$STATE/leases.db
SRV_LOG=$SYS_TMP/srv.out
cat >"$CONF" <<EOF
server:
  interfaces: [s0, s1]
  state_dir: $STATE
  control_socket: $CTL_SOCK
  pidfile: $SYS_TMP/rackdhcpd.pid
  workers: 2
  durability: sync
  rate_limit:
    per_client: {rate: $CL_RATE, burst: $CL_BURST}
    new_clients: {rate: $NEW_RATE, burst: $NEW_BURST}
subnets:
  - cidr: 192.0.2.0/24
  - cidr: 203.0.113.0/24
    routers: [203.0.113.1]
    pools:
      - range: 203.0.113.100-203.0.113.150
  - cidr: 10.0.0.0/20
    routers: [10.0.0.1]
    pools:
      - range: 10.0.0.10-10.0.15.250
EOF
if ! "$RACKDHCPD" --check-config "$CONF" >"$SYS_TMP/check-config.out" 2>&1; then
	echo "Bail out! the configuration is refused: $(head -n 1 "$SYS_TMP/check-config.out")"
	exit 99
fi

PLAN=14
# lib.sh's t_ok numbers the lines and counts failures (T, FAILED).
ok() { t_ok 0 "$1"; }
not_ok() {	# not_ok NAME [FILE...]: fail, and show the end of each FILE
	n=$1
	shift
	t_ok 1 "$n" "$@"
}
diag() { echo "# $*"; }
echo "1..$PLAN"

for ns in srv rly cli fld; do
	ns_create $ns || { echo "Bail out! cannot create namespace $ns"; exit 99; }
	ns_exec $ns sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
done
SRV=$(ns_name srv)
RLY=$(ns_name rly)
FLD=$(ns_name fld)
veth_create rly r0 cli c0 && veth_create srv s0 rly r1 && veth_create srv s1 fld f0 ||
	{ echo "Bail out! cannot create the veth pairs"; exit 99; }
ns_addr rly r0 203.0.113.1/24
ns_addr rly r1 192.0.2.2/24
ns_addr srv s0 192.0.2.1/24
ns_addr srv s1 10.0.0.1/20
ip -n "$SRV" route add 203.0.113.0/24 via 192.0.2.2 || { echo "Bail out! cannot add the route to the relay"; exit 99; }

client_scripts
cat >"$SYS_TMP/dhclient.conf" <<'EOF'
timeout 15;
initial-interval 1;
backoff-cutoff 2;
request subnet-mask, routers, dhcp-lease-time, dhcp-server-identifier;
EOF

# --- helpers
srv_alive() { proc_alive srv; }
srv_ready() { grep -q 'serving on' "$SRV_LOG" 2>/dev/null || ! srv_alive; }
ctl() { timeout -k 2 10 "$RACKDHCPCTL" -s "$CTL_SOCK" -t 5 "$@"; }
sql() { sqlite3 -batch -noheader "$DB" "$@"; }
jget() {	# jget FILE KEY.KEY...
	"$RD_PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    d = d[int(k)] if isinstance(d, list) else d[k]
print(d)' "$1" "$2" 2>/dev/null
}
pool_used() {	# pool_used STATUS.json CIDR
	"$RD_PYTHON" -c '
import json, sys
print(sum(p["used"] for p in json.load(open(sys.argv[1]))["pools"] if p["subnet"] == sys.argv[2]))' "$1" "$2" \
		2>/dev/null
}
log_mark() { wc -l <"$SRV_LOG"; }
log_since() { tail -n +"$(($1 + 1))" "$SRV_LOG"; }
proc_gone() {
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ]
}
# dhclient_start LABEL NS IF: foreground, one attempt, events to LABEL.events
dhclient_start() {
	: >"$SYS_TMP/$1.events"
	proc_start "$1" timeout -k 2 40 ip netns exec "$(ns_name "$2")" "$DHCLIENT" -4 -d -1 \
		-e RD_LOG="$SYS_TMP/$1.events" -cf "$SYS_TMP/dhclient.conf" -sf "$SYS_TMP/dhclient-script" \
		-lf "$SYS_TMP/$1.leases" -pf "$SYS_TMP/$1.dpid" "$3"
}
events_addr() { grep -E "^(BOUND|REBOOT) " "$SYS_TMP/$1.events" 2>/dev/null | tail -n 1 | cut -d' ' -f2; }
dhclient_bound() { grep -qE '^(BOUND|REBOOT) ' "$SYS_TMP/$1.events" 2>/dev/null || ! proc_alive "$1"; }

# ---------------------------------------------------------------- start
proc_start srv ip netns exec "$SRV" "$RACKDHCPD" -c "$CONF" -f
wait_for 20 srv_ready
if ! srv_alive || ! grep -q 'serving on' "$SRV_LOG"; then
	echo "Bail out! rackdhcpd did not start"
	sed 's/^/# /' "$SRV_LOG" | tail -n 30
	exit 99
fi

# ---------------------------------------------------------------- a. relay
proc_start cap ip netns exec "$SRV" timeout -k 1 30 tcpdump -i s0 -n -U --immediate-mode \
	-w "$SYS_TMP/relay.pcap" udp port 67
wait_for 5 test -s "$SYS_TMP/relay.pcap"
proc_start relay ip netns exec "$RLY" timeout -k 2 60 "$DHCRELAY" -d -4 -a -pf "$SYS_TMP/dhcrelay.pid" \
	-i r0 -i r1 192.0.2.1
relay_ready() { grep -q 'Listening on.*r0' "$SYS_TMP/relay.out" 2>/dev/null || ! proc_alive relay; }
wait_for 10 relay_ready
C0_MAC=$(ns_mac cli c0)
dhclient_start dhc cli c0
wait_for 25 dhclient_bound dhc
A_ADDR=$(events_addr dhc)
proc_stop dhc
# The ACK the client saw is in the capture too (tcpdump writes each packet
# as it comes, but it is another process).
acked() {
	[ -n "$(tshark -r "$SYS_TMP/relay.pcap" -Y 'dhcp.option.dhcp == 5' -T fields -e ip.dst 2>/dev/null)" ]
}
wait_for 5 acked
proc_stop cap
proc_stop relay
case $A_ADDR in
203.0.113.1[0-4][0-9] | 203.0.113.150)
	ok "a: dhclient behind dhcrelay ($C0_MAC) gets $A_ADDR from the relayed subnet's pool" ;;
*)
	not_ok "a: dhclient behind dhcrelay gets a lease from 203.0.113.100-150 (got '$A_ADDR')" \
		"$SYS_TMP/dhc.out" "$SYS_TMP/relay.out" "$SRV_LOG"
	A_ADDR=none ;;
esac
A_HEX=$(echo "$C0_MAC" | tr -d :)
A_ROW=$(sql "SELECT state FROM leases WHERE lower(hex(chaddr)) = '$A_HEX' AND addr BETWEEN 3405803776 AND 3405804031;")
if [ "$A_ROW" = 2 ] && grep -q "DHCPACK $A_ADDR to $C0_MAC" "$SRV_LOG"; then
	ok "a: the store has $A_ADDR ACTIVE for $C0_MAC; the log names both"
else
	not_ok "a: the store has the relayed lease ACTIVE (state '$A_ROW')" "$SRV_LOG"
fi
# Option 82 (circuit id) of each relayed request, and of each reply to giaddr.
tshark -r "$SYS_TMP/relay.pcap" -Y dhcp -T fields -E separator=' ' -e ip.src -e ip.dst -e dhcp.option.dhcp \
	-e dhcp.ip.relay -e dhcp.option.agent_information_option.agent_circuit_id >"$SYS_TMP/relay.txt" 2>"$SYS_TMP/tshark.err"
diag "on s0: $(awk '{ printf "%s>%s type %s giaddr %s 82.1 %s; ", $1, $2, $3, $4, ($5 == "" ? "-" : $5) }' "$SYS_TMP/relay.txt")"
REQ82=$(awk '$1 == "192.0.2.2" && $2 == "192.0.2.1" && ($3 == 1 || $3 == 3) { print $5 }' "$SYS_TMP/relay.txt" | sort -u)
REP82=$(awk '$1 == "192.0.2.1" && $2 == "203.0.113.1" && ($3 == 2 || $3 == 5) { print $5 }' "$SYS_TMP/relay.txt" | sort -u)
N_REQ=$(awk '$1 == "192.0.2.2" && ($3 == 1 || $3 == 3) && $4 == "203.0.113.1"' "$SYS_TMP/relay.txt" | wc -l)
N_REP=$(awk '$1 == "192.0.2.1" && $2 == "203.0.113.1" && ($3 == 2 || $3 == 5)' "$SYS_TMP/relay.txt" | wc -l)
if [ "$N_REQ" -ge 2 ] && [ -n "$REQ82" ] && [ "$(echo "$REQ82" | wc -l)" -eq 1 ]; then
	ok "a: the relayed DISCOVER/REQUEST carry giaddr 203.0.113.1 and option 82 (circuit id $REQ82)"
else
	not_ok "a: the relayed requests carry giaddr and option 82 ($N_REQ requests, circuit ids '$REQ82')" \
		"$SYS_TMP/relay.txt"
fi
N_REP82=$(awk -v c="$REQ82" '$1 == "192.0.2.1" && $2 == "203.0.113.1" && ($3 == 2 || $3 == 5) && $5 == c' \
	"$SYS_TMP/relay.txt" | wc -l)
if [ -n "$REQ82" ] && [ "$N_REP" -ge 2 ] && [ "$N_REP82" -eq "$N_REP" ]; then
	ok "a: every reply to the relay ($N_REP: OFFER, ACK) echoes option 82 unchanged"
else
	not_ok "a: the replies to giaddr echo option 82 ($N_REP82 of $N_REP replies carry circuit id '$REQ82'; seen '$REP82')" \
		"$SYS_TMP/relay.txt"
fi

# ---------------------------------------------------------------- b. limits
ctl --json status >"$SYS_TMP/status.0" 2>&1
RC0=$(jget "$SYS_TMP/status.0" counters.drops.rate_client)
# One client hammering: 200 DISCOVERs in 0.2 s.
timeout -k 2 20 ip netns exec "$FLD" "$RD_PYTHON" "$TOOL" hammer --iface f0 --count "$HAMMER" \
	--mac 02:aa:00:00:00:01 --seconds 0.2 --listen 1.5 >"$SYS_TMP/hammer.json" 2>"$SYS_TMP/hammer.err"
diag "hammer: $(cat "$SYS_TMP/hammer.json")"
H_SENT=$(jget "$SYS_TMP/hammer.json" sent)
H_OFF=$(jget "$SYS_TMP/hammer.json" offers)
H_T=$(jget "$SYS_TMP/hammer.json" duration)
# At most burst + rate * (t + 1 s): the requests sent in t, plus up to 1 s
# for the workers to get through the queue.
H_MAX=$(awk -v b="$CL_BURST" -v r="$CL_RATE" -v t="${H_T:-0}" 'BEGIN { printf "%d", b + r * (t + 1) }')
if [ "${H_SENT:-0}" -eq "$HAMMER" ] && [ -n "$H_OFF" ] && [ "$H_OFF" -ge "$CL_BURST" ] && [ "$H_OFF" -le "$H_MAX" ]; then
	ok "b: one MAC, $HAMMER DISCOVERs in ${H_T}s: $H_OFF OFFERs (per_client burst $CL_BURST <= n <= $H_MAX)"
else
	not_ok "b: one MAC, $HAMMER DISCOVERs: between $CL_BURST and $H_MAX OFFERs (sent '${H_SENT:-}', offers '${H_OFF:-}')" \
		"$SYS_TMP/hammer.err" "$SRV_LOG"
fi
ctl --json status >"$SYS_TMP/status.1" 2>&1
RC1=$(jget "$SYS_TMP/status.1" counters.drops.rate_client)
if [ -n "$RC1" ] && [ -n "$H_OFF" ] && [ $((RC1 - RC0)) -ge $((HAMMER - H_MAX)) ]; then
	ok "b: the rest is counted: rate_client drops $RC0 -> $RC1"
else
	not_ok "b: the hammering client's refused requests are counted as rate_client drops ('$RC0' -> '$RC1')" "$SRV_LOG"
	diag "the server's sockets (skmem d = dropped by the kernel, queue full):"
	ip netns exec "$SRV" ss -0 -u -a -m 2>&1 | grep -o 'skmem:([^)]*)' | sed 's/^/#   /'
fi

# The flood of new clients.
USED0=$(pool_used "$SYS_TMP/status.1" 10.0.0.0/20)
mark=$(log_mark)
timeout -k 2 30 ip netns exec "$FLD" "$RD_PYTHON" "$TOOL" flood --iface f0 --count "$FLOOD" --seconds "$FLOOD_S" \
	--listen 1.5 >"$SYS_TMP/flood.json" 2>"$SYS_TMP/flood.err"
diag "flood: $(cat "$SYS_TMP/flood.json")"
F_SENT=$(jget "$SYS_TMP/flood.json" sent)
F_OFF=$(jget "$SYS_TMP/flood.json" offered_macs)
F_T=$(jget "$SYS_TMP/flood.json" duration)
F_MAX=$(awk -v b="$NEW_BURST" -v r="$NEW_RATE" -v t="${F_T:-0}" 'BEGIN { printf "%d", b + r * (t + 1) }')
if [ "${F_SENT:-0}" -eq "$FLOOD" ] && [ -n "$F_OFF" ] && [ "$F_OFF" -ge "$NEW_BURST" ] && [ "$F_OFF" -le "$F_MAX" ]; then
	ok "b: flood of $FLOOD new MACs in ${F_T}s: $F_OFF of them offered an address ($NEW_BURST <= n <= $F_MAX)"
else
	not_ok "b: flood of $FLOOD new MACs: between $NEW_BURST and $F_MAX offered (sent '${F_SENT:-}', offered '${F_OFF:-}')" \
		"$SYS_TMP/flood.err" "$SRV_LOG"
fi
ctl --json status >"$SYS_TMP/status.2" 2>&1
USED2=$(pool_used "$SYS_TMP/status.2" 10.0.0.0/20)
if [ -n "$USED0" ] && [ -n "$USED2" ] && [ $((USED2 - USED0)) -le "$F_MAX" ] && [ $((USED2 - USED0)) -ge "$NEW_BURST" ]; then
	ok "b: the pool shows $((USED2 - USED0)) more addresses taken (<= $F_MAX)"
else
	not_ok "b: the flood takes at most $F_MAX addresses of the pool (used '$USED0' -> '$USED2')" "$SRV_LOG"
fi
RN=$(jget "$SYS_TMP/status.2" counters.drops.rate_new_clients)
if [ -n "$RN" ] && [ "$RN" -ge $((FLOOD - F_MAX)) ]; then
	ok "b: $RN DISCOVERs counted as rate_new_clients drops"
else
	not_ok "b: the flood's refused DISCOVERs are counted as rate_new_clients drops (got '$RN', want >= $((FLOOD - F_MAX)))" "$SRV_LOG"
fi
warned() { log_since "$mark" | grep -qE 'warning: rate limits dropped [0-9]+ requests .*new clients [1-9]'; }
wait_for 3 warned
if warned; then
	ok "b: the log warns: $(log_since "$mark" | grep -m1 -o 'rate limits dropped.*')"
else
	not_ok "b: the log has the rate-limit warning (new clients)" "$SRV_LOG"
fi
# A real client on the flooded link, right after the flood.
F0_MAC=$(ns_mac fld f0)
dhclient_start dhf fld f0
wait_for 25 dhclient_bound dhf
B_ADDR=$(events_addr dhf)
proc_stop dhf
case $B_ADDR in
10.0.*)
	ok "b: after the flood, dhclient ($F0_MAC) on the flooded link gets $B_ADDR" ;;
*)
	not_ok "b: after the flood, dhclient on the flooded link gets a lease (got '$B_ADDR')" \
		"$SYS_TMP/dhf.out" "$SRV_LOG" ;;
esac
if srv_alive; then ok "b: the server is alive after the flood"; else not_ok "b: the server is alive after the flood" "$SRV_LOG"; fi

# ---------------------------------------------------------------- the end
pid=$(cat "$SYS_TMP/srv.pid")
kill -TERM "$pid"
wait_for 20 proc_gone "$pid" || kill -KILL "$pid"
wait "$pid"
rc=$?
rm -f "$SYS_TMP/srv.pid"
if [ "$rc" -eq 0 ] && grep -q 'stopped; every lease change is on disk' "$SRV_LOG"; then
	ok "SIGTERM: exit status 0, stop logged"
else
	not_ok "SIGTERM: exit status 0 (got $rc), stop logged" "$SRV_LOG"
fi
if ! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$SRV_LOG"; then
	ok "no sanitizer report in the server's log"
else
	not_ok "no sanitizer report in the server's log" "$SRV_LOG"
fi

[ "$T" -eq "$PLAN" ] || diag "ran $T checks, planned $PLAN"
exit $((FAILED > 0 || T != PLAN))
