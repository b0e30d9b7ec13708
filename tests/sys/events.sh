#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# events.sh — MAAS lease events (server.lease_events_socket) from the running
# daemon to a listening unix datagram socket, the way rackd / maas-agent
# consume ISC dhcpd's notifications (maas-integration.md §5.1).
#
# A server namespace (s0 192.0.2.1/24) and a client namespace (c0, and a
# macvlan m0 for a second MAC); rackdhcpd in the server namespace with its
# events going to $SYS_TMP/dhcpd.sock, where tests/sys/event_sink.py writes
# each datagram as a line.  Checked:
#   1. the sink is not there yet: dhclient's lease is ACKed anyway, and the
#      commit event waits in the queue (status: queued 1, listener down);
#   2. the sink starts: the queued commit arrives, with action, mac,
#      ip_family, ip, timestamp (the time of the ACK, not of delivery),
#      lease_time and the hostname the client sent;
#   3. a renewal (dhclient again, INIT-REBOOT) is a second commit;
#   4. dhclient -r: a release event for that address and MAC, without
#      lease_time or hostname;
#   5. a second client (m0) takes a 4 s lease and vanishes (kill -9, no
#      release): an expiry event for its address and MAC arrives;
#   6. status and the metrics count what the sink received; nothing dropped;
#   7. SIGTERM: exit 0.
#
# Skips (exit 77) without root, namespaces, dhclient, python3 or the built
# daemon.  RD_KEEP_TMP=1 keeps the temp dir.  Every wait is bounded;
# runtime ~20 s.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
: "${RD_PYTHON:=/usr/bin/python3}"
: "${DHCLIENT:=$(command -v dhclient || echo /usr/sbin/dhclient)}"

. "$top_srcdir/tests/sys/lib.sh"

need_root
need_cmd timeout curl
[ -x "$DHCLIENT" ] || skip_all "dhclient (isc-dhcp-client) not found"
[ -x "$RD_PYTHON" ] || skip_all "$RD_PYTHON not found"
need_daemon ctl
need_netns
SINK="$top_srcdir/tests/sys/event_sink.py"

sys_init events
SRV=$(ns_name srv)
CLI=$(ns_name cli)
ns_setup srv cli
veth_create srv s0 cli c0 || { echo "Bail out! cannot create the veth pair"; exit 99; }
ns_addr srv s0 192.0.2.1/24
ip -n "$CLI" link add m0 link c0 type macvlan mode bridge || { echo "Bail out! cannot create a macvlan"; exit 99; }
ip -n "$CLI" link set m0 up

STATE=$SYS_TMP/state
CONF=$SYS_TMP/rackdhcpd.yaml
CTL_SOCK=$SYS_TMP/ctl/control.sock
EV_SOCK=$SYS_TMP/dhcpd.sock
EV_OUT=$SYS_TMP/events.jsonl
SRV_LOG=$SYS_TMP/srv.out
METRICS_PORT=9467
: >"$EV_OUT"

cat >"$CONF" <<EOF2
server:
  interfaces: [s0]
  state_dir: $STATE
  control_socket: $CTL_SOCK
  pidfile: $SYS_TMP/rackdhcpd.pid
  workers: 2
  durability: sync
  metrics: 127.0.0.1:$METRICS_PORT
  lease_events_socket: $EV_SOCK
subnets:
  - cidr: 192.0.2.0/24
    routers: [192.0.2.1]
    lease_time: 600
    min_lease_time: 4
    pools:
      - range: 192.0.2.10-192.0.2.50
EOF2

client_scripts drop
cat >"$SYS_TMP/dhclient.conf" <<'EOF2'
timeout 15;
initial-interval 1;
backoff-cutoff 2;
send host-name "evnode1";
request subnet-mask, routers, dhcp-lease-time, dhcp-server-identifier;
EOF2
cat >"$SYS_TMP/dhclient-short.conf" <<'EOF2'
timeout 15;
initial-interval 1;
backoff-cutoff 2;
send dhcp-lease-time 4;
request subnet-mask, routers, dhcp-lease-time, dhcp-server-identifier;
EOF2

ctl() { timeout -k 2 10 "$RACKDHCPCTL" -s "$CTL_SOCK" -t 5 "$@"; }
# dhclient_start LABEL IF CONF [ARGS...]: one bounded dhclient run in the
# client namespace (-1: one try; it stays in the foreground with -d).
dhclient_start() {
	label=$1 ifc=$2 conf=$3
	shift 3
	: >"$SYS_TMP/$label.events"
	proc_start "$label" timeout -k 2 40 ip netns exec "$CLI" "$DHCLIENT" -4 -d -1 \
		-e RD_LOG="$SYS_TMP/$label.events" -cf "$conf" -sf "$SYS_TMP/dhclient-script" \
		-lf "$SYS_TMP/$label.leases" -pf "$SYS_TMP/$label.dpid" "$@" "$ifc"
}
bound() { grep -qE '^(BOUND|REBOOT|RENEW|REBIND) ' "$SYS_TMP/$1.events" 2>/dev/null || ! proc_alive "$1"; }
addr_of() { grep -E '^(BOUND|REBOOT|RENEW|REBIND) ' "$SYS_TMP/$1.events" | tail -n 1 | cut -d' ' -f2; }
# ev_count ACTION [MAC]: events of that action (for that MAC) received so far
ev_count() {
	"$RD_PYTHON" - "$EV_OUT" "$1" "${2:-}" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("action") == sys.argv[2] and (not sys.argv[3] or e.get("mac") == sys.argv[3]):
        n += 1
print(n)
PY
}
ev_at_least() { [ "$(ev_count "$@")" -ge "$N_WANT" ]; }
# ev_check N_ACTION_INDEX ACTION MAC IP T_MIN T_MAX KEYS HOSTNAME LEASE_LO LEASE_HI:
# the Nth (0-based) event of ACTION for MAC has exactly KEYS (comma list),
# ip IP, ip_family ipv4, T_MIN <= timestamp <= T_MAX, and (commit) hostname
# and LEASE_LO <= lease_time <= LEASE_HI.
ev_check() {
	"$RD_PYTHON" - "$EV_OUT" "$@" <<'PY'
import json, sys
f, idx, action, mac, ip, tmin, tmax, keys, host, llo, lhi = sys.argv[1:]
evs = [json.loads(l) for l in open(f)]
evs = [e for e in evs if e.get("action") == action and e.get("mac") == mac]
e = evs[int(idx)]
errs = []
if sorted(e) != sorted(keys.split(",")):
    errs.append("keys %s, want %s" % (sorted(e), sorted(keys.split(","))))
if e.get("ip") != ip:
    errs.append("ip %r, want %s" % (e.get("ip"), ip))
if e.get("ip_family") != "ipv4":
    errs.append("ip_family %r" % e.get("ip_family"))
if not (isinstance(e.get("timestamp"), int) and int(tmin) <= e["timestamp"] <= int(tmax)):
    errs.append("timestamp %r not in [%s, %s]" % (e.get("timestamp"), tmin, tmax))
if action == "commit":
    if e.get("hostname") != host:
        errs.append("hostname %r, want %s" % (e.get("hostname"), host))
    if not (isinstance(e.get("lease_time"), int) and int(llo) <= e["lease_time"] <= int(lhi)):
        errs.append("lease_time %r not in [%s, %s]" % (e.get("lease_time"), llo, lhi))
if errs:
    print("# event %s: %s" % (json.dumps(e), "; ".join(errs)))
    sys.exit(1)
PY
}
jnum() {	# jnum KEY.KEY: from a `status --json` on stdin
	"$RD_PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d[k]
print(int(d) if not isinstance(d, bool) else int(d))' "$1" 2>/dev/null
}
status_ev() { ctl status --json | jnum "lease_events.$1"; }
CHECK_LOGS="$SRV_LOG $EV_OUT"   # what check (lib.sh) shows on a failure

# ---------------------------------------------------------------- start
if ! rd_start srv srv "$CONF"; then
	echo "Bail out! rackdhcpd did not start"
	sed 's/^/# /' "$SRV_LOG" | tail -n 30
	exit 99
fi
C0_MAC=$(ns_mac cli c0)
M0_MAC=$(ns_mac cli m0)

# ---------------------------------------------------------------- 1. no sink yet
T0=$(date +%s)
dhclient_start dha c0 "$SYS_TMP/dhclient.conf"
wait_for 20 bound dha
A=$(addr_of dha)
T1=$(date +%s)
proc_stop dha
check "1: dhclient ($C0_MAC) gets a lease ($A) while nobody listens for events" test -n "$A"
queued_one() { [ "$(status_ev queued)" = 1 ] && [ "$(status_ev listener_up)" = 0 ]; }
check "1: status: the commit waits in the queue (queued 1) and the listener is down" wait_for 10 queued_one
check "1: the daemon says once that the socket is missing" \
	sh -c "[ \$(grep -c 'lease events: cannot deliver to $EV_SOCK' '$SRV_LOG') = 1 ]"

# ---------------------------------------------------------------- 2. sink starts
proc_start sink "$RD_PYTHON" "$SINK" "$EV_SOCK" "$EV_OUT"
N_WANT=1
check "2: the sink starts: the queued commit is delivered" wait_for 15 ev_at_least commit "$C0_MAC"
check "2: commit: mac, ip, ip_family, timestamp of the ACK, lease_time 600, hostname" \
	ev_check 0 commit "$C0_MAC" "$A" "$T0" "$T1" action,mac,ip_family,ip,timestamp,lease_time,hostname \
	evnode1 595 600

# ---------------------------------------------------------------- 3. renewal
T2=$(date +%s)
dhclient_start dhb c0 "$SYS_TMP/dhclient.conf" -lf "$SYS_TMP/dha.leases"
wait_for 20 bound dhb
B=$(addr_of dhb)
T3=$(date +%s)
check "3: dhclient comes back (INIT-REBOOT) and keeps $A" test "$B" = "$A"
N_WANT=2
check "3: a second commit event for $C0_MAC" wait_for 10 ev_at_least commit "$C0_MAC"
check "3: its fields (timestamp of the renewal)" \
	ev_check 1 commit "$C0_MAC" "$A" "$T2" "$T3" action,mac,ip_family,ip,timestamp,lease_time,hostname \
	evnode1 595 600

# ---------------------------------------------------------------- 4. release
proc_stop dhb
T4=$(date +%s)
timeout -k 2 20 ip netns exec "$CLI" "$DHCLIENT" -4 -r -e RD_LOG="$SYS_TMP/dhr.events" -cf "$SYS_TMP/dhclient.conf" \
	-sf "$SYS_TMP/dhclient-script" -lf "$SYS_TMP/dha.leases" -pf "$SYS_TMP/dhr.dpid" c0 \
	>"$SYS_TMP/dhr.out" 2>&1
T5=$(date +%s)
N_WANT=1
check "4: dhclient -r: a release event for $C0_MAC" wait_for 10 ev_at_least release "$C0_MAC"
check "4: release: mac, ip $A, ip_family, timestamp; no lease_time, no hostname" \
	ev_check 0 release "$C0_MAC" "$A" "$T4" "$T5" action,mac,ip_family,ip,timestamp - 0 0

# ---------------------------------------------------------------- 5. expiry
dhclient_start dhm m0 "$SYS_TMP/dhclient-short.conf"
wait_for 20 bound dhm
M=$(addr_of dhm)
check "5: a second client ($M0_MAC) takes a 4 s lease ($M)" test -n "$M"
# Gone without a word: kill -9 by PID (timeout's child is dhclient; kill both).
dpid=$(cat "$SYS_TMP/dhm.dpid" 2>/dev/null)
[ -n "$dpid" ] && kill -KILL "$dpid" 2>/dev/null
proc_stop dhm
T6=$(date +%s)
N_WANT=1
check "5: its lease expires: an expiry event for $M0_MAC" wait_for 20 ev_at_least expiry "$M0_MAC"
T7=$(date +%s)
check "5: expiry: mac, ip $M, ip_family, timestamp; no lease_time, no hostname" \
	ev_check 0 expiry "$M0_MAC" "$M" "$T6" "$T7" action,mac,ip_family,ip,timestamp - 0 0

# ---------------------------------------------------------------- 6. counters
got=$(wc -l <"$EV_OUT")
sent_matches() { [ "$(status_ev sent)" = "$got" ]; }
check "6: status counts $got events sent, as the sink received them" wait_for 5 sent_matches
check "6: nothing dropped (queue full or error)" \
	sh -c '[ "$1" = 0 ] && [ "$2" = 0 ]' - "$(status_ev dropped_full)" "$(status_ev dropped_error)"
metrics() { ip netns exec "$SRV" curl -s --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics"; }
check "6: metrics: rackdhcpd_lease_events_total{result=\"sent\"} $got, listener up" \
	sh -c "metrics_out=\$(ip netns exec '$SRV' curl -s --max-time 5 http://127.0.0.1:$METRICS_PORT/metrics); \
		echo \"\$metrics_out\" | grep -qx 'rackdhcpd_lease_events_total{result=\"sent\"} $got' && \
		echo \"\$metrics_out\" | grep -qx 'rackdhcpd_lease_events_listener_up 1'"
check "6: rackdhcpctl status shows the events line" sh -c "ctl_out=\$(timeout 10 '$RACKDHCPCTL' -s '$CTL_SOCK' status); \
	echo \"\$ctl_out\" | grep -q '^events.*$got sent.*listener up'"

# ---------------------------------------------------------------- 7. stop
rd_stop srv
check "7: SIGTERM: rackdhcpd exits 0" test "$RD_RC" = 0

echo "1..$T"
[ "$FAILED" -eq 0 ]
