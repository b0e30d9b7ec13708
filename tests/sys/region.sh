#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# region.sh — region sync end to end: a stand-in MAAS region
# (tests/region/fixture.py, on 127.0.0.1 inside the server's namespace) and
# rackdhcpd polling it every second, while ISC dhclient keeps its lease on
# the region's VLAN 5001 (10.10.0.0/24) and busybox udhcpc makes fresh
# DISCOVERs from a second MAC.  Between polls the region's data changes:
#
#   a. first pull: the region's subnets are served, with the file's own
#      non-overlapping subnet (the merge rule), the view is stored in SQLite;
#      status and metrics say where the view came from and its age;
#   b. a reserved IP added: the next DISCOVER gets it;
#   c. VLAN 5001 switched off (not served) and on again (served);
#   d. the primary/secondary roles of VLAN 5002 swapped: the log says so,
#      the relationship follows (rd_fo_peers_reconfigure; tests/sys/fo_reload.sh
#      tests a role swap with a live partner), serving goes on;
#   e. a dynamic range resized: applied live and logged, then grown back;
#   f. the region answers garbage, then 500s, then partial data: nothing
#      changes, one log line per outage, status and metrics show the error;
#   g. the region killed: the server keeps serving, the view's age grows;
#   h. rackdhcpd restarted without the region: it serves the stored view;
#      restarted with `source: region`: the stored view without the file's
#      own subnet.
#
# dhclient's renewal timers are superseded to 2 s / 3 s (the region's lease
# time is MAAS's 600 s), so it renews by unicast all through.  Needs root,
# network namespaces, dhclient, busybox, python3, sqlite3 and a built
# rackdhcpd; skipped otherwise.  RD_KEEP_TMP=1 keeps the temp dir.  ~60 s.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
: "${RD_PYTHON:=/usr/bin/python3}"
: "${RACKDHCPD:=$top_builddir/dhcpd/rackdhcpd}"
: "${RACKDHCPCTL:=$top_builddir/dhcpd/rackdhcpctl}"
: "${DHCLIENT:=$(command -v dhclient || echo /usr/sbin/dhclient)}"

. "$top_srcdir/tests/sys/lib.sh"

need_root
need_cmd busybox sqlite3 timeout
[ -x "$DHCLIENT" ] || skip_all "dhclient (isc-dhcp-client) not found"
[ -x "$RD_PYTHON" ] || skip_all "$RD_PYTHON not found"
[ -x "$RACKDHCPD" ] || skip_all "$RACKDHCPD not built"
[ -x "$RACKDHCPCTL" ] || skip_all "$RACKDHCPCTL not built"
need_netns

RACKDHCPD=$(cd "$(dirname "$RACKDHCPD")" && pwd)/$(basename "$RACKDHCPD")
RACKDHCPCTL=$(cd "$(dirname "$RACKDHCPCTL")" && pwd)/$(basename "$RACKDHCPCTL")
FIXTURE=$top_srcdir/tests/region/fixture.py

ok() { t_ok 0 "$1"; }
not_ok() {
	n=$1
	shift
	t_ok 1 "$n" "$@"
}
check() {	# check NAME CMD...: ok if CMD succeeds, else not ok with the server log
	name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name" "$SRV_LOG"; fi
}
diag() { echo "# $*"; }

sys_init region
SRV=$(ns_name srv)
CLI=$(ns_name cli)
ns_create srv || { echo "Bail out! cannot create namespace"; exit 99; }
ns_create cli || { echo "Bail out! cannot create namespace"; exit 99; }
for ns in srv cli; do
	ns_exec $ns sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
done
# s0/c0: VLAN 5001 (the rack is 10.10.0.2 there); s1/c1: VLAN 5002 (10.30.0.3)
veth_create srv s0 cli c0 || { echo "Bail out! cannot create the veth pair"; exit 99; }
veth_create srv s1 cli c1 || { echo "Bail out! cannot create the veth pair"; exit 99; }
ns_addr srv s0 10.10.0.2/24
ns_addr srv s1 10.30.0.3/24
DHC_MAC=52:54:00:77:00:01
RES_MAC=52:54:00:77:00:02
RES_IP=10.10.0.60
ip -n "$CLI" link set c0 address $DHC_MAC
ip -n "$CLI" link add m0 link c0 address $RES_MAC type macvlan mode bridge ||
	{ echo "Bail out! cannot create a macvlan"; exit 99; }
ip -n "$CLI" link set m0 up

# ---------------------------------------------------------------- the region
DATA=$SYS_TMP/data
"$RD_PYTHON" "$top_srcdir/tests/region/sysdata.py" "$top_srcdir/tests/region/data" "$DATA" $RES_MAC $RES_IP ||
	{ echo "Bail out! cannot write the region's data"; exit 99; }
KEY=$SYS_TMP/maas.key
(umask 077 && echo "cK3y:tOk3n:s3cr3t" >"$KEY")
REGION_OUT=$SYS_TMP/region.out
start_region() {
	proc_start region ip netns exec "$SRV" "$RD_PYTHON" "$FIXTURE" --data "$DATA" --key "cK3y:tOk3n:s3cr3t" \
		--port "${REGION_PORT:-0}" --lifetime 240
	wait_for 10 grep -qs '^PORT ' "$REGION_OUT"
	REGION_PORT=$(sed -n 's/^PORT //p' "$REGION_OUT")
}
# fx METHOD PATH [BODY]: a control request to the fixture
fx() {
	ip netns exec "$SRV" timeout -k 1 5 curl -sf -X "$1" ${3:+--data "$3"} \
		"http://127.0.0.1:$REGION_PORT/_control/$2" >/dev/null
}
start_region
[ -n "$REGION_PORT" ] || { echo "Bail out! the region fixture did not start"; cat "$REGION_OUT"; exit 99; }

# ---------------------------------------------------------------- rackdhcpd
STATE=$SYS_TMP/state
CONF=$SYS_TMP/rackdhcpd.yaml
CTL_SOCK=$SYS_TMP/ctl/control.sock
DB=$STATE/leases.db
cat >"$CONF" <<EOF
server:
  interfaces: [s0, s1]
  state_dir: $STATE
  control_socket: $CTL_SOCK
  pidfile: $SYS_TMP/rackdhcpd.pid
  workers: 1
  log_level: info
  metrics: 127.0.0.1:9467
region:
  maas_url: [http://127.0.0.1:$REGION_PORT/MAAS]
  api_key_file: $KEY
  system_id: 7xtf67
  poll_interval: 1
  connect_timeout: 1
  timeout: 3
# the file's own subnet, on no link here: served beside the region's (merge)
subnets:
  - cidr: 192.168.77.0/24
    pools:
      - range: 192.168.77.10-192.168.77.20
EOF

SRV_LOG=$SYS_TMP/srv.out
SRV_LABEL=srv
srv_alive() { proc_alive "$SRV_LABEL"; }
srv_ready() { grep -q 'serving on' "$SRV_LOG" 2>/dev/null || ! srv_alive; }
start_server() {
	SRV_LABEL=$1
	SRV_LOG=$SYS_TMP/$1.out
	proc_start "$1" ip netns exec "$SRV" "$RACKDHCPD" -c "$CONF" -f
	wait_for 20 srv_ready
	srv_alive && grep -q 'serving on' "$SRV_LOG"
}
proc_gone() {	# the PID has exited (a zombie counts: not reaped yet)
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ]
}
# stop_server: SIGTERM, wait (bounded) for the exit; its status in SRV_RC
stop_server() {
	pid=$(cat "$SYS_TMP/$SRV_LABEL.pid")
	kill -TERM "$pid" 2>/dev/null
	if ! wait_for 20 proc_gone "$pid"; then
		diag "server $pid did not stop within 20 s: killed"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid"
	SRV_RC=$?
	rm -f "$SYS_TMP/$SRV_LABEL.pid"
}
stopped_cleanly() { [ "$SRV_RC" -eq 0 ] && grep -q 'stopped; every lease change is on disk' "$SRV_LOG"; }
log_has() { grep -q -- "$1" "$SRV_LOG"; }
log_count() {
	n=$(grep -c -- "$1" "$SRV_LOG" 2>/dev/null)
	echo "${n:-0}"
}
# wait_more SECONDS PATTERN COUNT: the log holds more than COUNT lines matching PATTERN
more_than() { [ "$(log_count "$1")" -gt "$2" ]; }
wait_more() { wait_for "$1" more_than "$2" "$3"; }
RECOVERED='answers with a valid view again'

ctl() { timeout -k 2 10 "$RACKDHCPCTL" -s "$CTL_SOCK" -t 5 "$@"; }
status_json() { ctl status --json >"$SYS_TMP/status.json" 2>>"$SYS_TMP/ctl.err"; }
# sget KEY.KEY...: one value of a fresh `status --json`
sget() {
	status_json || return 1
	"$RD_PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    d = d[int(k)] if isinstance(d, list) else d[k]
print(d)' "$SYS_TMP/status.json" "$1" 2>/dev/null
}
has_pool() {	# has_pool RANGE: the configuration in force has this pool
	status_json && "$RD_PYTHON" -c '
import json, sys
sys.exit(0 if any(p["range"] == sys.argv[2] for p in json.load(open(sys.argv[1]))["pools"]) else 1)' \
		"$SYS_TMP/status.json" "$1"
}
no_pool() { ! has_pool "$1"; }
generation() { sget config.generation; }
sql() { sqlite3 -batch -noheader "$DB" "$@"; }
# metric NAME{LABELS}: its value on the Prometheus page (in the server's namespace)
metric() {
	ip netns exec "$SRV" timeout -k 1 5 curl -sf http://127.0.0.1:9467/metrics >"$SYS_TMP/metrics.txt" || return 1
	awk -v k="$1" '$1 == k { print $2 }' "$SYS_TMP/metrics.txt"
}

# --- clients
client_scripts
cat >"$SYS_TMP/dhclient.conf" <<'EOF'
timeout 15;
initial-interval 1;
backoff-cutoff 2;
supersede dhcp-renewal-time 2;
supersede dhcp-rebinding-time 3;
request subnet-mask, routers, dhcp-lease-time, dhcp-server-identifier;
EOF
DHC_EV=$SYS_TMP/dhc.events
renewals() {
	n=$(grep -c '^RENEW ' "$DHC_EV" 2>/dev/null)
	echo "${n:-0}"
}
# renewing N: dhclient renewed (ACKed) N more times from now, within 15 s
renewed_since() { [ "$(renewals)" -ge "$1" ]; }
renewing() {
	target=$(($(renewals) + $1))
	wait_for 15 renewed_since "$target"
}
dhc_addr() { grep -E '^(BOUND|RENEW|REBIND|REBOOT) ' "$DHC_EV" | tail -n 1 | cut -d' ' -f2; }
dhc_bound() { grep -qE '^(BOUND|REBOOT) ' "$DHC_EV" 2>/dev/null || ! proc_alive dhc; }

# probe LABEL: one bounded udhcpc from RES_MAC (a fresh DISCOVER); prints the address
probe() {
	: >"$SYS_TMP/$1.events"
	RD_LOG="$SYS_TMP/$1.events" timeout -k 2 20 ip netns exec "$CLI" busybox udhcpc -i m0 -n -q -f \
		-t "${2:-4}" -T 1 -A 1 -s "$SYS_TMP/udhcpc-script" >"$SYS_TMP/$1.out" 2>&1
	grep '^bound ' "$SYS_TMP/$1.events" | tail -n 1 | cut -d' ' -f2
}
in_pool() {	# in_pool ADDR: in one of VLAN 5001's dynamic ranges
	case $1 in 10.10.0.*) ;; *) return 1 ;; esac
	last=${1##*.}
	{ [ "$last" -ge 100 ] && [ "$last" -le 199 ]; } || { [ "$last" -ge 220 ] && [ "$last" -le 230 ]; }
}

PLAN=48
echo "1..$PLAN"

# ---------------------------------------------------------------- a. first pull
if ! start_server srv; then
	echo "Bail out! rackdhcpd did not start"
	sed 's/^/# /' "$SRV_LOG" | tail -n 30
	exit 99
fi
wait_for 15 log_has 'region sync: subnet 10.10.0.0/24 added'
check "a: the first pull's changes are logged (subnet 10.10.0.0/24 added)" log_has 'region sync: subnet 10.10.0.0/24 added'
if has_pool 10.10.0.100-10.10.0.199 && has_pool 192.168.77.10-192.168.77.20; then
	ok "a: the region's pools are served together with the file's own subnet (merge)"
else
	not_ok "a: the region's pools are served together with the file's own subnet (merge)" "$SYS_TMP/status.json" "$SRV_LOG"
fi
src=$(sget region.source)
age=$(sget region.view_age_s)
[ "$src" = live ] && [ "$age" -le 5 ] 2>/dev/null
check "a: status says the view is live and fresh (source '$src', age '$age')" [ $? -eq 0 ]
check "a: the view is stored in the lease store for rack 7xtf67" \
	sh -c "[ \"\$(sqlite3 -batch -noheader '$DB' 'SELECT system_id FROM region_view')\" = 7xtf67 ] && \
	       sqlite3 -batch -noheader '$DB' 'SELECT yaml FROM region_view' | grep -q '10.10.0.100-10.10.0.199'"
m_live=$(metric 'rackdhcpd_region_view_source{source="live"}')
m_changed=$(metric 'rackdhcpd_region_sync_total{result="changed"}')
m_age=$(metric rackdhcpd_region_view_age_seconds)
if [ "$m_live" = 1 ] && [ "${m_changed:-0}" -ge 1 ] && [ -n "$m_age" ]; then
	ok "a: metrics: source live, $m_changed changed poll(s), view age $m_age s"
else
	not_ok "a: metrics: source live ('$m_live'), changed polls ('$m_changed'), view age ('$m_age')" "$SYS_TMP/metrics.txt"
fi
if ctl status >"$SYS_TMP/status.txt" 2>&1 && grep -q "^region .*127.0.0.1:$REGION_PORT" "$SYS_TMP/status.txt" &&
	grep -q 'view live, [0-9]* s old' "$SYS_TMP/status.txt"; then
	ok "a: rackdhcpctl status shows the region, the view's source and age"
else
	not_ok "a: rackdhcpctl status shows the region, the view's source and age" "$SYS_TMP/status.txt"
fi

: >"$DHC_EV"
proc_start dhc timeout -k 2 200 ip netns exec "$CLI" "$DHCLIENT" -4 -d -1 -e RD_LOG="$DHC_EV" \
	-cf "$SYS_TMP/dhclient.conf" -sf "$SYS_TMP/dhclient-script" -lf "$SYS_TMP/dhclient.leases" \
	-pf "$SYS_TMP/dhc.dpid" c0
wait_for 20 dhc_bound
DHC_ADDR=$(dhc_addr)
if in_pool "$DHC_ADDR"; then
	ok "a: dhclient ($DHC_MAC) bound $DHC_ADDR from the region's pool"
else
	not_ok "a: dhclient gets a lease from the region's pool (got '$DHC_ADDR')" "$DHC_EV" "$SYS_TMP/dhc.out" "$SRV_LOG"
fi
check "a: dhclient keeps renewing" renewing 2

# ---------------------------------------------------------------- b. reservation
gen=$(generation)
fx POST load '{"name": "reservedips", "file": "variant-reservedips-added.json"}'
wait_for 10 log_has 'region sync: subnet 10.10.0.0/24: 1 reservation added'
check "b: a reserved IP added in the region: the log says 1 reservation added" \
	log_has 'region sync: subnet 10.10.0.0/24: 1 reservation added'
a=$(probe pb)
if [ "$a" = "$RES_IP" ]; then
	ok "b: the next DISCOVER from $RES_MAC gets its reserved $RES_IP"
else
	not_ok "b: the next DISCOVER from $RES_MAC gets its reserved $RES_IP (got '$a')" "$SYS_TMP/pb.out" "$SRV_LOG"
fi
if renewing 1 && [ "$(dhc_addr)" = "$DHC_ADDR" ]; then
	ok "b: dhclient renews $DHC_ADDR through the change"
else
	not_ok "b: dhclient renews $DHC_ADDR through the change (now '$(dhc_addr)')" "$DHC_EV" "$SRV_LOG"
fi

# ---------------------------------------------------------------- c. VLAN off and on
fx POST load '{"name": "fabrics", "file": "variant-fabrics-vlan-off.json"}'
wait_for 10 log_has 'region sync: subnet 10.10.0.0/24 removed'
check "c: VLAN 5001 switched off: the log says subnet 10.10.0.0/24 removed" log_has 'region sync: subnet 10.10.0.0/24 removed'
check "c: its pool is no longer configured" no_pool 10.10.0.100-10.10.0.199
a=$(probe pc 3)
if [ -z "$a" ]; then
	ok "c: a DISCOVER on the switched-off VLAN gets no answer"
else
	not_ok "c: a DISCOVER on the switched-off VLAN gets no answer (got '$a')" "$SRV_LOG"
fi
fx POST load '{"name": "fabrics", "file": "fabrics.json"}'
wait_for 10 has_pool 10.10.0.100-10.10.0.199
check "c: VLAN 5001 switched on again: its pool is back" has_pool 10.10.0.100-10.10.0.199
a=$(probe pc2)
if [ "$a" = "$RES_IP" ]; then
	ok "c: served again: $RES_MAC gets $RES_IP"
else
	not_ok "c: served again: $RES_MAC gets $RES_IP (got '$a')" "$SYS_TMP/pc2.out" "$SRV_LOG"
fi
if renewing 1 && [ "$(dhc_addr)" = "$DHC_ADDR" ]; then
	ok "c: dhclient renews $DHC_ADDR once the VLAN is back"
else
	not_ok "c: dhclient renews $DHC_ADDR once the VLAN is back (now '$(dhc_addr)')" "$DHC_EV" "$SRV_LOG"
fi

# ---------------------------------------------------------------- d. roles swapped
fx POST load '{"name": "fabrics", "file": "variant-fabrics-roles-swapped.json"}'
wait_for 10 log_has 'region sync: VLAN 5002: role secondary -> primary'
check "d: roles of VLAN 5002 swapped: the log says role secondary -> primary" \
	log_has 'region sync: VLAN 5002: role secondary -> primary'
fo_role() { [ "$(sget failover.0.name)" = failover-vlan-5002 ] && [ "$(sget failover.0.role)" = "$1" ]; }
wait_for 10 fo_role primary
check "d: the running relationship failover-vlan-5002 is now primary (status)" fo_role primary
if renewing 1 && [ "$(dhc_addr)" = "$DHC_ADDR" ]; then
	ok "d: serving goes on: dhclient renews $DHC_ADDR"
else
	not_ok "d: serving goes on: dhclient renews $DHC_ADDR (now '$(dhc_addr)')" "$DHC_EV" "$SRV_LOG"
fi

# ---------------------------------------------------------------- e. range resized
gen=$(generation)
fx POST load '{"name": "ipranges", "file": "variant-ipranges-resized.json"}'
wait_for 10 has_pool 10.10.0.100-10.10.0.180
check "e: a range resized in the region is applied live" has_pool 10.10.0.100-10.10.0.180
check "e: ... and logged: pool 10.10.0.100-10.10.0.199 shrunk to 10.10.0.100-10.10.0.180" \
	log_has 'region sync: subnet 10.10.0.0/24: pool 10.10.0.100-10.10.0.199 shrunk to 10.10.0.100-10.10.0.180'
fx POST load '{"name": "ipranges", "file": "ipranges.json"}'
wait_for 10 has_pool 10.10.0.100-10.10.0.199
check "e: and grown back" has_pool 10.10.0.100-10.10.0.199
if renewing 1 && [ "$(dhc_addr)" = "$DHC_ADDR" ]; then
	ok "e: dhclient renews $DHC_ADDR"
else
	not_ok "e: dhclient renews $DHC_ADDR (now '$(dhc_addr)')" "$DHC_EV" "$SRV_LOG"
fi

# ---------------------------------------------------------------- f. garbage, 500
gen=$(generation)
before=$(log_count "cannot pull the region's view")
fx POST fail '{"mode": "garbage"}'
sleep 4
n=$(($(log_count "cannot pull the region's view") - before))
check "f: the region answers garbage: one log line for the outage ($n)" [ "$n" -eq 1 ]
err=$(sget region.last_error)
case $err in *"not valid JSON"*) r=0 ;; *) r=1 ;; esac
check "f: status shows the error ($err)" [ $r -eq 0 ]
check "f: the configuration in force did not change (generation $gen)" [ "$(generation)" = "$gen" ]
rec=$(log_count "$RECOVERED")
fx POST fail '{"mode": "none"}'
wait_more 10 "$RECOVERED" "$rec"
check "f: the recovery is logged" more_than "$RECOVERED" "$rec"
before=$(log_count "cannot pull the region's view")
fx POST fail '{"mode": "500"}'
sleep 4
n=$(($(log_count "cannot pull the region's view") - before))
g2=$(generation)
check "f: the region answers 500: one log line ($n), nothing changes (generation $g2)" [ "$n" -eq 1 -a "$g2" = "$gen" ]
rec=$(log_count "$RECOVERED")
rec=$(log_count "$RECOVERED")
fx POST fail '{"mode": "none"}'
wait_more 10 "$RECOVERED" "$rec"
# partial data: a subnet without its cidr
before=$(log_count "cannot pull the region's view")
fx POST load '{"name": "subnets", "file": "variant-subnets-partial.json"}'
sleep 3
n=$(($(log_count "cannot pull the region's view") - before))
g2=$(generation)
if [ "$n" -eq 1 ] && [ "$g2" = "$gen" ] && grep -q 'subnets/: \[[0-9]*\]\.cidr: missing' "$SRV_LOG"; then
	ok "f: partial data (a subnet without cidr): one log line naming the field, nothing changes"
else
	not_ok "f: partial data (a subnet without cidr): one log line naming the field ($n), nothing changes ($g2)" "$SRV_LOG"
fi
fx POST load '{"name": "subnets", "file": "subnets.json"}'
m_err=$(metric 'rackdhcpd_region_sync_total{result="error"}')
check "f: metrics count the failed polls (error: $m_err)" [ "${m_err:-0}" -ge 2 ]
fx POST fail '{"mode": "none"}'
wait_more 10 "$RECOVERED" "$rec"
if renewing 1 && [ "$(dhc_addr)" = "$DHC_ADDR" ]; then
	ok "f: dhclient renews $DHC_ADDR all along"
else
	not_ok "f: dhclient renews $DHC_ADDR all along (now '$(dhc_addr)')" "$DHC_EV" "$SRV_LOG"
fi

# ---------------------------------------------------------------- g. region gone
proc_stop region
sleep 2
age1=$(sget region.view_age_s)
sleep 3
age2=$(sget region.view_age_s)
check "g: the region killed: the view's age grows ($age1 s, then $age2 s)" [ "${age2:-0}" -gt "${age1:-0}" ]
a=$(probe pg)
if [ "$a" = "$RES_IP" ]; then
	ok "g: without the region, $RES_MAC still gets $RES_IP"
else
	not_ok "g: without the region, $RES_MAC still gets $RES_IP (got '$a')" "$SRV_LOG"
fi
if renewing 1 && [ "$(dhc_addr)" = "$DHC_ADDR" ]; then
	ok "g: dhclient renews $DHC_ADDR without the region"
else
	not_ok "g: dhclient renews $DHC_ADDR without the region (now '$(dhc_addr)')" "$DHC_EV" "$SRV_LOG"
fi

# a reload while the region is away: the file changes, the region's view stays
sed -i 's/^      - range: 192.168.77.10-192.168.77.20$/&\n      - range: 192.168.77.30-192.168.77.40/' "$CONF"
if ctl reload >"$SYS_TMP/reload.out" 2>&1 && has_pool 192.168.77.30-192.168.77.40 &&
	has_pool 10.10.0.100-10.10.0.199 && has_pool 192.168.77.10-192.168.77.20; then
	ok "g: rackdhcpctl reload without the region: the file's new pool and the region's view are both served"
else
	not_ok "g: rackdhcpctl reload without the region: the file's new pool and the region's view are both served" \
		"$SYS_TMP/reload.out" "$SYS_TMP/status.json" "$SRV_LOG"
fi

# ---------------------------------------------------------------- h. restart without the region
proc_stop dhc
stop_server
check "g: SIGTERM without the region: exit status 0 ($SRV_RC), every lease on disk" stopped_cleanly
if start_server srv2; then
	ok "h: rackdhcpd restarts while the region is unreachable"
else
	not_ok "h: rackdhcpd restarts while the region is unreachable" "$SRV_LOG"
fi
check "h: it serves the stored view (log)" log_has 'serving the region view stored from'
src=$(sget region.source)
check "h: status says source stored ($src)" [ "$src" = stored ]
check "h: the region's pool is configured from the stored view" has_pool 10.10.0.100-10.10.0.199
a=$(probe ph)
if [ "$a" = "$RES_IP" ]; then
	ok "h: $RES_MAC gets $RES_IP from the stored view"
else
	not_ok "h: $RES_MAC gets $RES_IP from the stored view (got '$a')" "$SYS_TMP/ph.out" "$SRV_LOG"
fi
stop_server
check "h: SIGTERM: exit status 0 ($SRV_RC)" stopped_cleanly

# source: region: the file's own subnet is no longer served, the region's
# view is; and as an unprivileged user (the stored view is applied after the
# privileges are dropped, so its links are opened with CAP_NET_RAW alone)
chmod 0711 "$SYS_TMP"
CTL_SOCK=$SYS_TMP/ctl3/control.sock
sed -i "s/^  timeout: 3\$/&\\n  source: region/; s/^  log_level: info\$/&\\n  user: nobody/; s|^  control_socket: .*|  control_socket: $CTL_SOCK|" "$CONF"
if start_server srv3 && has_pool 10.10.0.100-10.10.0.199 && no_pool 192.168.77.10-192.168.77.20; then
	ok "h: restarted with source: region: the stored view only, not the file's subnet"
else
	not_ok "h: restarted with source: region: the stored view only, not the file's subnet" "$SYS_TMP/status.json" "$SRV_LOG"
fi
a=$(probe ph3)
if log_has 'running as nobody' && log_has 'serving interface s0' && [ "$a" = "$RES_IP" ]; then
	ok "h: as user nobody: s0 served from the stored view, $RES_MAC gets $RES_IP"
else
	not_ok "h: as user nobody: s0 served from the stored view, $RES_MAC gets $RES_IP (got '$a')" "$SRV_LOG"
fi
stop_server
check "h: final SIGTERM: exit status 0 ($SRV_RC)" stopped_cleanly
# a key file others can read: refused at start, naming the file and its mode
cp "$KEY" "$SYS_TMP/open.key"
chmod 0644 "$SYS_TMP/open.key"
sed "s|api_key_file: .*|api_key_file: $SYS_TMP/open.key|" "$CONF" >"$SYS_TMP/open.yaml"
timeout -k 2 20 ip netns exec "$SRV" "$RACKDHCPD" -c "$SYS_TMP/open.yaml" -f >"$SYS_TMP/open.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "open.key: mode 0644" "$SYS_TMP/open.out"; then
	ok "a world-readable API key file: rackdhcpd refuses to start, naming the file and its mode"
else
	not_ok "a world-readable API key file: rackdhcpd refuses to start (exit $rc)" "$SYS_TMP/open.out"
fi
if ! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|ThreadSanitizer' "$SYS_TMP/srv.out" "$SYS_TMP/srv2.out" \
	"$SYS_TMP/srv3.out" "$SYS_TMP/open.out"; then
	ok "no sanitizer report in either server's log"
else
	not_ok "no sanitizer report in the server logs" "$SYS_TMP/srv.out" "$SYS_TMP/srv2.out" "$SYS_TMP/srv3.out"
fi

[ "$T" -eq "$PLAN" ] || diag "planned $PLAN, ran $T"
[ "$FAILED" -eq 0 ]
