#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# serve.sh — the daemon serving real DHCP clients in network namespaces.
#
# A server namespace (s0 192.0.2.1/24, s1 198.51.100.1/24, later the VLAN
# s0.7 10.7.0.1/24) and a client namespace joined by veth pairs; rackdhcpd
# runs in the server namespace with its state, control socket and pidfile in
# the temp dir, 2 workers, durability sync.  Checked, in this order:
#
#   a. ISC dhclient gets a lease from the pool: its lease file, the server's
#      store (ACTIVE, its MAC) and the server log (MAC and address) agree;
#   b. busybox udhcpc with another MAC (a macvlan) gets another address;
#   d. perfdhcp as a relay at 192.0.2.50 (answers by UDP to giaddr), 200
#      DORA exchanges at 100/s over 200 clients: >= 98 % complete, and the
#      store holds the acknowledged leases;
#   e. SIGTERM: exit status 0, the stop logged; started again on the same
#      state: every lease ACTIVE in the store before is ACTIVE after, in the
#      store and in the daemon's own view (rackdhcpctl leases), and dhclient
#      without its lease file (so DISCOVER, not INIT-REBOOT) gets its old
#      address back;
#   c. dhclient asking for an 8 s lease renews it by unicast from its
#      configured address (the UDP socket path: the capture shows the
#      REQUEST to 192.0.2.1 with ciaddr set and the ACK back to the client's
#      address), keeps its address, and the store's lease end moves on;
#   f. a second link (s1) whose subnet is not configured: no answer; the
#      subnet added to the file + SIGHUP: the link is served and a client
#      there gets a lease in it; a broken file + SIGHUP: refused with
#      FILE:LINE:COL in the log, the configuration in force stays, and the
#      server still serves;
#   g. a VLAN (id 7) created on both ends while the server runs: once the
#      server's end has 10.7.0.1 it is served and a client on it gets a
#      10.7.0.x lease, answered on s0.7 only; 10.7.0.1 removed: the link is
#      no longer served and a new client there gets no answer (a kernel
#      without 802.1Q: the same with a veth pair s7/c7 created late);
#      DISCOVERs tagged with a VLAN the server has no sub-interface for (9),
#      which the kernel hands to s0's socket with the tag stripped, are not
#      answered;
#   h. garbage to port 67 (raw frames: truncated, broken options, wrong UDP
#      checksum, oversized, BOOTREPLYs, bad IP/UDP lengths, random mutations;
#      UDP datagrams: short, random, oversized) is counted as dropped, the
#      wrong-checksum DISCOVER is not answered, a real client still gets its
#      lease, the server is alive, and in the end it stops with status 0
#      with no sanitizer report.
#
# The clients run with our own scripts (-sf / -s) that touch only the client
# namespace; lease and pid files are in the temp dir.  Skips (1..0 # SKIP,
# exit 77) without root, network namespaces, dhclient, busybox, perfdhcp,
# sqlite3, tshark, tcpdump, python3 or a built rackdhcpd.  RD_KEEP_TMP=1
# keeps the temp dir (logs, captures, lease database).  Runtime ~15 s.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
: "${RD_PYTHON:=/usr/bin/python3}"
: "${PERFDHCP:=$(command -v perfdhcp || echo /usr/sbin/perfdhcp)}"
: "${DHCLIENT:=$(command -v dhclient || echo /usr/sbin/dhclient)}"

. "$top_srcdir/tests/sys/lib.sh"

TOOL="$top_srcdir/tests/sys/flood.py"

need_root
need_cmd busybox sqlite3 tshark tcpdump timeout
[ -x "$DHCLIENT" ] || skip_all "dhclient (isc-dhcp-client) not found"
[ -x "$PERFDHCP" ] || skip_all "perfdhcp (kea) not found"
[ -x "$RD_PYTHON" ] || skip_all "$RD_PYTHON not found"
need_daemon ctl
need_netns

PLAN=33
# lib.sh's t_ok numbers the lines and counts failures (T, FAILED).
ok() { t_ok 0 "$1"; }
not_ok() {	# not_ok NAME [FILE...]: fail, and show the end of each FILE
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

sys_init serve
echo "1..$PLAN"
SRV=$(ns_name srv)
CLI=$(ns_name cli)
ns_setup srv cli
veth_create srv s0 cli c0 || { echo "Bail out! cannot create the veth pair"; exit 99; }
# Room for an oversized frame in h.
ip -n "$SRV" link set s0 mtu 9000
ip -n "$CLI" link set c0 mtu 9000
ns_addr srv s0 192.0.2.1/24
# perfdhcp's relay address; also the source of the unicast garbage in h.
ns_addr cli c0 192.0.2.50/24
# udhcpc's own MAC, on the same wire.
ip -n "$CLI" link add m0 link c0 type macvlan mode bridge || { echo "Bail out! cannot create a macvlan"; exit 99; }
ip -n "$CLI" link set m0 up
veth_create srv s1 cli c1 || { echo "Bail out! cannot create the second veth pair"; exit 99; }
ns_addr srv s1 198.51.100.1/24

STATE=$SYS_TMP/state
CONF=$SYS_TMP/rackdhcpd.yaml
CTL_SOCK=$SYS_TMP/ctl/control.sock
DB=$STATE/leases.db
SRV_LOG=$SYS_TMP/srv.out
SRV_LABEL=srv

# write_config [FILE]: the configuration, FILE appended to the subnet list.
write_config() {
	cat >"$CONF.tmp" <<EOF
server:
  interfaces: [s0, s1, s0.7, s7]
  state_dir: $STATE
  control_socket: $CTL_SOCK
  pidfile: $SYS_TMP/rackdhcpd.pid
  workers: 2
  durability: sync
  log_level: info
subnets:
  - cidr: 192.0.2.0/24
    routers: [192.0.2.1]
    lease_time: 600
    min_lease_time: 4
    pools:
      - range: 192.0.2.10-192.0.2.250
  - cidr: 10.7.0.0/24
    routers: [10.7.0.1]
    pools:
      - range: 10.7.0.100-10.7.0.150
EOF
	[ $# -gt 0 ] && cat "$1" >>"$CONF.tmp"
	mv "$CONF.tmp" "$CONF"
}
cat >"$SYS_TMP/subnet-s1.yaml" <<EOF
  - cidr: 198.51.100.0/24
    routers: [198.51.100.1]
    pools:
      - range: 198.51.100.100-198.51.100.150
EOF
write_config

# --- client scripts: log what happens, touch only the client namespace
client_scripts
cat >"$SYS_TMP/dhclient.conf" <<'EOF'
timeout 15;
initial-interval 1;
backoff-cutoff 2;
request subnet-mask, routers, dhcp-lease-time, dhcp-server-identifier;
EOF
cat >"$SYS_TMP/dhclient-short.conf" <<'EOF'
timeout 15;
initial-interval 1;
backoff-cutoff 2;
send dhcp-lease-time 8;
request subnet-mask, routers, dhcp-lease-time, dhcp-server-identifier;
EOF

# --- helpers

srv_pid() { cat "$SYS_TMP/$SRV_LABEL.pid"; }
srv_alive() { proc_alive "$SRV_LABEL"; }

# start_server LABEL: start rackdhcpd, wait until it says it serves.
start_server() {
	SRV_LABEL=$1
	SRV_LOG=$SYS_TMP/$1.out
	rd_start "$1" srv "$CONF"
}

# stop_server: SIGTERM, wait (bounded) for the exit; its status in SRV_RC.
stop_server() { rd_stop "$SRV_LABEL"; SRV_RC=$RD_RC; }

ctl() { timeout -k 2 10 "$RACKDHCPCTL" -s "$CTL_SOCK" -t 5 "$@"; }
sql() { sqlite3 -batch -noheader "$DB" "$@"; }
# jget FILE KEY.KEY...: one value of a JSON document
jget() {
	"$RD_PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    d = d[int(k)] if isinstance(d, list) else d[k]
print(d)' "$1" "$2" 2>/dev/null
}
# drops FILE: sum of the drop counters of a `status --json`
drops() {
	"$RD_PYTHON" -c '
import json, sys
print(sum(json.load(open(sys.argv[1]))["counters"]["drops"].values()))' "$1" 2>/dev/null || echo -1
}

# Leases ACTIVE in the store: "dotted-address mac" lines, sorted.
store_active() {
	sql "SELECT addr, lower(hex(chaddr)) FROM leases WHERE state = 2;" |
		awk -F'|' '{ a = $1; m = $2; mac = "";
			for (i = 1; i <= length(m); i += 2) mac = mac (i > 1 ? ":" : "") substr(m, i, 2);
			printf "%d.%d.%d.%d %s\n", int(a / 16777216) % 256, int(a / 65536) % 256, int(a / 256) % 256, a % 256, mac }' |
		sort
}
# Leases ACTIVE as the daemon sees them (rackdhcpctl), same format.
ctl_active() {
	ctl leases --state active --limit 100000 | awk '$2 == "active" { print $1, $3 }' | sort
}
in_pool() {	# in_pool ADDR A.B.C. LO HI
	case $1 in "$2"*) ;; *) return 1 ;; esac
	last=${1##*.}
	[ "$last" -ge "$3" ] && [ "$last" -le "$4" ]
}
log_mark() { wc -l <"$SRV_LOG"; }
log_since() { tail -n +"$(($1 + 1))" "$SRV_LOG"; }

# dhclient_start LABEL IF CONF: dhclient in the client namespace, foreground,
# one attempt; its events go to $SYS_TMP/LABEL.events.
dhclient_start() {
	: >"$SYS_TMP/$1.events"
	proc_start "$1" timeout -k 2 50 ip netns exec "$CLI" "$DHCLIENT" -4 -d -1 -e RD_LOG="$SYS_TMP/$1.events" \
		-cf "$3" -sf "$SYS_TMP/dhclient-script" -lf "$SYS_TMP/dhclient.leases" \
		-pf "$SYS_TMP/$1.dpid" "$2"
}
# events_addr LABEL REASONS: the address of the last event among REASONS (ERE)
events_addr() { grep -E "^($2) " "$SYS_TMP/$1.events" 2>/dev/null | tail -n 1 | cut -d' ' -f2; }
has_event() { grep -qE "^($2) " "$SYS_TMP/$1.events" 2>/dev/null; }
dhclient_bound() { has_event "$1" 'BOUND|REBOOT|RENEW|REBIND' || ! proc_alive "$1"; }
dhclient_renewed() { has_event "$1" 'RENEW' || ! proc_alive "$1"; }

# udhcpc_run LABEL IF TRIES [ARGS...]: one bounded udhcpc; prints the address.
udhcpc_run() {
	label=$1 ifc=$2 tries=$3
	shift 3
	: >"$SYS_TMP/$label.events"
	RD_LOG="$SYS_TMP/$label.events" timeout -k 2 30 ip netns exec "$CLI" busybox udhcpc -i "$ifc" -n -q -f \
		-t "$tries" -T 1 -A 1 -s "$SYS_TMP/udhcpc-script" "$@" >"$SYS_TMP/$label.out" 2>&1
	grep '^bound ' "$SYS_TMP/$label.events" | tail -n 1 | cut -d' ' -f2
}

# ---------------------------------------------------------------- start
if ! start_server srv; then
	echo "Bail out! rackdhcpd did not start"
	sed 's/^/# /' "$SRV_LOG" | tail -n 30
	exit 99
fi

# ---------------------------------------------------------------- a. dhclient
C0_MAC=$(ns_mac cli c0)
dhclient_start dhc c0 "$SYS_TMP/dhclient.conf"
wait_for 20 dhclient_bound dhc
A_ADDR=$(events_addr dhc 'BOUND|REBOOT')
if [ -n "$A_ADDR" ] && in_pool "$A_ADDR" 192.0.2. 10 250; then
	ok "a: dhclient ($C0_MAC) bound $A_ADDR, in the pool"
else
	not_ok "a: dhclient gets a lease in the pool (got '$A_ADDR')" "$SYS_TMP/dhc.events" "$SYS_TMP/dhc.out" "$SRV_LOG"
	A_ADDR=none
fi
proc_stop dhc
check "a: dhclient's lease file holds $A_ADDR" grep -q "fixed-address $A_ADDR;" "$SYS_TMP/dhclient.leases"
store_active >"$SYS_TMP/active.a"
check "a: the store has $A_ADDR ACTIVE for $C0_MAC" grep -qx "$A_ADDR $C0_MAC" "$SYS_TMP/active.a"
check "a: the server log names $C0_MAC and $A_ADDR" grep -qE "DHCPACK $A_ADDR to $C0_MAC via s0" "$SRV_LOG"

# ---------------------------------------------------------------- b. udhcpc
M0_MAC=$(ns_mac cli m0)
B_ADDR=$(udhcpc_run udh m0 5)
if [ -n "$B_ADDR" ] && [ "$B_ADDR" != "$A_ADDR" ] && in_pool "$B_ADDR" 192.0.2. 10 250; then
	ok "b: udhcpc ($M0_MAC) got $B_ADDR, another address of the pool"
else
	not_ok "b: udhcpc ($M0_MAC) gets another address of the pool (got '$B_ADDR', dhclient has $A_ADDR)" \
		"$SYS_TMP/udh.out" "$SRV_LOG"
	B_ADDR=none
fi
store_active >"$SYS_TMP/active.b"
check "b: the store has $B_ADDR ACTIVE for $M0_MAC" grep -qx "$B_ADDR $M0_MAC" "$SYS_TMP/active.b"

# ---------------------------------------------------------------- d. perfdhcp
# perfdhcp is a relay at 192.0.2.50 (giaddr): the answers go to 192.0.2.50:67
# by UDP.  200 clients, 200 exchanges at 100/s; -p bounds it to 10 s.
timeout -k 2 25 ip netns exec "$CLI" "$PERFDHCP" -4 -l 192.0.2.50 -r 100 -R 200 -n 200 -p 10 -d 2 -W 1000000 \
	192.0.2.1 >"$SYS_TMP/perfdhcp.out" 2>&1
pstat() {	# pstat SECTION FIELD: one number of perfdhcp's report
	awk -v sec="$1" -v f="$2" '/^\*\*\*Statistics for: / { in_s = index($0, sec) > 0 }
		in_s && index($0, f ": ") == 1 { sub(/.*: /, ""); print $1; exit }' "$SYS_TMP/perfdhcp.out"
}
P_SENT=$(pstat DISCOVER-OFFER "sent packets")
P_DONE=$(pstat REQUEST-ACK "received packets")
diag "perfdhcp: ${P_SENT:-?} DISCOVERs sent, ${P_DONE:-?} exchanges completed (ACK received)"
if [ -n "$P_SENT" ] && [ -n "$P_DONE" ] && [ "$P_SENT" -ge 200 ] && [ $((P_DONE * 100)) -ge $((P_SENT * 98)) ]; then
	ok "d: perfdhcp via a relay address: $P_DONE of $P_SENT exchanges complete (>= 98 %)"
else
	not_ok "d: perfdhcp: >= 98 % of 200 exchanges complete (sent '${P_SENT:-}', completed '${P_DONE:-}')" \
		"$SYS_TMP/perfdhcp.out" "$SRV_LOG"
fi
# perfdhcp's clients are 00:0c:01:xx:xx:xx.
store_active >"$SYS_TMP/active.d"
P_ROWS=$(grep -c ' 00:0c:01:' "$SYS_TMP/active.d")
if [ -n "$P_DONE" ] && [ "$P_ROWS" -ge "$P_DONE" ] && [ "$P_ROWS" -le 200 ]; then
	ok "d: the store holds $P_ROWS ACTIVE leases of perfdhcp's clients (>= $P_DONE ACKs seen)"
else
	not_ok "d: the store holds an ACTIVE lease per ACK perfdhcp saw (rows $P_ROWS, ACKs '${P_DONE:-}')" "$SRV_LOG"
fi

# ---------------------------------------------------------------- e. restart
store_active >"$SYS_TMP/active.before"
ctl_active >"$SYS_TMP/ctl.before"
N_BEFORE=$(wc -l <"$SYS_TMP/active.before")
diag "before the restart: $N_BEFORE ACTIVE leases in the store, $(wc -l <"$SYS_TMP/ctl.before") by rackdhcpctl"
stop_server
if [ "$SRV_RC" -eq 0 ]; then
	ok "e: SIGTERM: the server exits with status 0"
else
	not_ok "e: SIGTERM: the server exits with status 0 (got $SRV_RC)" "$SRV_LOG"
fi
check "e: the stop is logged (signal, then every lease change on disk)" \
	sh -c "grep -q 'Terminated: stopping' '$SRV_LOG' && grep -q 'stopped; every lease change is on disk' '$SRV_LOG'"
if start_server srv2; then
	ok "e: started again on the same state: $(grep -o '[0-9]* leases loaded' "$SRV_LOG")"
else
	not_ok "e: started again on the same state" "$SRV_LOG"
fi
store_active >"$SYS_TMP/active.after"
ctl_active >"$SYS_TMP/ctl.after"
if [ "$N_BEFORE" -ge 150 ] && cmp -s "$SYS_TMP/active.before" "$SYS_TMP/active.after"; then
	ok "e: the store's $N_BEFORE ACTIVE leases are ACTIVE after the restart, same MACs"
else
	not_ok "e: every ACTIVE lease stays ACTIVE across the restart ($N_BEFORE before)" "$SRV_LOG"
	diff "$SYS_TMP/active.before" "$SYS_TMP/active.after" | head -n 20 | sed 's/^/#   /'
fi
if [ -s "$SYS_TMP/ctl.after" ] && cmp -s "$SYS_TMP/active.before" "$SYS_TMP/ctl.after"; then
	ok "e: the restarted daemon serves the same $N_BEFORE ACTIVE leases (rackdhcpctl leases)"
else
	not_ok "e: the restarted daemon has the same ACTIVE leases (rackdhcpctl leases)" "$SRV_LOG"
	diff "$SYS_TMP/active.before" "$SYS_TMP/ctl.after" | head -n 20 | sed 's/^/#   /'
fi
# Without its lease file dhclient starts from DISCOVER: the address comes
# from the server's memory of this MAC.
mv "$SYS_TMP/dhclient.leases" "$SYS_TMP/dhclient.leases.a"
dhclient_start dhc2 c0 "$SYS_TMP/dhclient.conf"
wait_for 20 dhclient_bound dhc2
E_ADDR=$(events_addr dhc2 'BOUND|REBOOT')
proc_stop dhc2
if [ "$E_ADDR" = "$A_ADDR" ] && has_event dhc2 BOUND; then
	ok "e: dhclient (DISCOVER, no lease file) gets its old address $A_ADDR after the restart"
else
	not_ok "e: dhclient gets its old address $A_ADDR after the restart (got '$E_ADDR')" \
		"$SYS_TMP/dhc2.events" "$SYS_TMP/dhc2.out" "$SRV_LOG"
fi

# ---------------------------------------------------------------- c. renew
# dhclient asks for 8 s (min_lease_time is 4): INIT-REBOOT, then a RENEW
# after T1 ~ 4 s, unicast from the address its script configured on c0.
proc_start cap ip netns exec "$CLI" timeout -k 1 30 tcpdump -i c0 -n -U --immediate-mode \
	-w "$SYS_TMP/renew.pcap" udp port 67
wait_for 5 test -s "$SYS_TMP/renew.pcap"
dhclient_start dhcr c0 "$SYS_TMP/dhclient-short.conf"
wait_for 20 dhclient_bound dhcr
ENDS0=$(sql "SELECT ends FROM leases WHERE lower(hex(chaddr)) = '$(echo "$C0_MAC" | tr -d :)';")
wait_for 15 dhclient_renewed dhcr
C_ADDR=$(events_addr dhcr RENEW)
proc_stop dhcr
# The renewal's ACK the client saw is in the capture too (another process).
renew_acked() {
	[ -n "$(tshark -r "$SYS_TMP/renew.pcap" -Y "dhcp.option.dhcp == 5 && ip.dst == $A_ADDR" -T fields -e ip.dst \
		2>/dev/null)" ]
}
wait_for 5 renew_acked
proc_stop cap
ENDS1=$(sql "SELECT ends FROM leases WHERE lower(hex(chaddr)) = '$(echo "$C0_MAC" | tr -d :)';")
if [ -n "$C_ADDR" ] && [ "$C_ADDR" = "$A_ADDR" ]; then
	ok "c: dhclient renewed its 8 s lease and kept $A_ADDR"
else
	not_ok "c: dhclient renews and keeps $A_ADDR (renewed '$C_ADDR')" "$SYS_TMP/dhcr.events" "$SYS_TMP/dhcr.out" "$SRV_LOG"
fi
tshark -r "$SYS_TMP/renew.pcap" -T fields -e ip.src -e ip.dst -e dhcp.option.dhcp -e dhcp.ip.client \
	-Y dhcp >"$SYS_TMP/renew.txt" 2>/dev/null
if grep -qE "^[0-9.]+	192\.0\.2\.1	3	$A_ADDR\$" "$SYS_TMP/renew.txt" &&
	grep -qE "^192\.0\.2\.1	$A_ADDR	5	$A_ADDR\$" "$SYS_TMP/renew.txt"; then
	ok "c: the renewal went by unicast: REQUEST to 192.0.2.1 (ciaddr $A_ADDR), ACK to $A_ADDR"
else
	not_ok "c: a unicast REQUEST to 192.0.2.1 and its ACK to $A_ADDR are in the capture" "$SYS_TMP/renew.txt"
fi
if [ -n "$ENDS0" ] && [ -n "$ENDS1" ] && [ "$ENDS1" -gt "$ENDS0" ]; then
	ok "c: the store's lease end moved on with the renewal ($ENDS0 -> $ENDS1)"
else
	not_ok "c: the store's lease end moves on with the renewal ('$ENDS0' -> '$ENDS1')" "$SRV_LOG"
fi

# ---------------------------------------------------------------- f. reload
C1_MAC=$(ns_mac cli c1)
mark=$(log_mark)
F_NONE=$(udhcpc_run u1a c1 2 -B)
if [ -z "$F_NONE" ] && ! log_since "$mark" | grep -q "DHCPOFFER .* to $C1_MAC"; then
	ok "f: s1 (198.51.100.0/24 not configured): no answer to a client there"
else
	not_ok "f: no answer on s1 while its subnet is not configured (got '$F_NONE')" "$SYS_TMP/u1a.out" "$SRV_LOG"
fi
write_config "$SYS_TMP/subnet-s1.yaml"
mark=$(log_mark)
kill -HUP "$(srv_pid)"
wait_for 10 sh -c "tail -n +$((mark + 1)) '$SRV_LOG' | grep -q 'serving interface s1 '"
if log_since "$mark" | grep -q "configuration $CONF reloaded" && log_since "$mark" | grep -q 'serving interface s1 '; then
	ok "f: SIGHUP with the subnet added: reloaded, s1 served"
else
	not_ok "f: SIGHUP with the subnet added: reloaded, s1 served" "$SRV_LOG"
fi
F_ADDR=$(udhcpc_run u1b c1 5)
if [ -n "$F_ADDR" ] && in_pool "$F_ADDR" 198.51.100. 100 150; then
	ok "f: a client on s1 gets $F_ADDR from the added subnet"
else
	not_ok "f: a client on s1 gets a lease from the added subnet (got '$F_ADDR')" "$SYS_TMP/u1b.out" "$SRV_LOG"
fi
ctl --json status >"$SYS_TMP/status.f1" 2>&1
GEN1=$(jget "$SYS_TMP/status.f1" config.generation)
cp "$CONF" "$SYS_TMP/good.yaml"
BAD_LINE=$(($(wc -l <"$CONF") + 1))
printf '  - cidr: 203.0.113.7/24\n' >>"$CONF"
mark=$(log_mark)
kill -HUP "$(srv_pid)"
wait_for 10 sh -c "tail -n +$((mark + 1)) '$SRV_LOG' | grep -q 'reload refused'"
if log_since "$mark" | grep -q "reload refused.*$CONF:$BAD_LINE:[0-9]*: subnets\[3\]\.cidr"; then
	ok "f: a broken file + SIGHUP: refused, with $(basename "$CONF"):$BAD_LINE and the field in the log"
else
	not_ok "f: a broken file + SIGHUP is refused with FILE:$BAD_LINE:COL in the log" "$SRV_LOG"
fi
ctl --json status >"$SYS_TMP/status.f2" 2>&1
GEN2=$(jget "$SYS_TMP/status.f2" config.generation)
F_AGAIN=$(udhcpc_run u1c c1 5)
if srv_alive && [ -n "$GEN1" ] && [ "$GEN1" = "$GEN2" ] && [ -n "$F_ADDR" ] && [ "$F_AGAIN" = "$F_ADDR" ]; then
	ok "f: after the refusal: generation still $GEN1, the client on s1 still gets $F_ADDR"
else
	not_ok "f: after the refusal the configuration stays (generation '$GEN1' -> '$GEN2') and s1 is served (got '$F_AGAIN')" \
		"$SYS_TMP/u1c.out" "$SRV_LOG"
fi
mv "$SYS_TMP/good.yaml" "$CONF"

# ---------------------------------------------------------------- g. VLAN
# Created now, while the server runs; s0.7 is in server.interfaces and
# 10.7.0.0/24 in the subnets from the start.  A kernel without 802.1Q
# support gets a veth pair s7/c7 created the same way instead (a link that
# appears later), and the check that needs s0.7 is skipped.
G_VLAN=1
if ip -n "$SRV" link add link s0 name s0.7 type vlan id 7 2>/dev/null; then
	G_SIF=s0.7 G_CIF=c0.7
	ip -n "$CLI" link add link c0 name c0.7 type vlan id 7 || diag "creating c0.7 failed"
	ip -n "$SRV" link set s0.7 up
	ip -n "$CLI" link set c0.7 up
else
	G_VLAN=
	G_SIF=s7 G_CIF=c7
	diag "this kernel cannot make VLAN interfaces (802.1Q): using a veth pair created now instead"
	veth_create srv s7 cli c7 || diag "creating the veth pair s7/c7 failed"
fi
G_KIND=${G_VLAN:+"the VLAN"}
G_KIND=${G_KIND:-"a link created later"}
mark=$(log_mark)
ns_addr srv "$G_SIF" 10.7.0.1/24
wait_for 10 sh -c "tail -n +$((mark + 1)) '$SRV_LOG' | grep -q 'serving interface $G_SIF '"
check "g: $G_SIF, created after the start, is served once it has 10.7.0.1" \
	sh -c "tail -n +$((mark + 1)) '$SRV_LOG' | grep -q 'serving interface $G_SIF '"
G_MAC=$(ns_mac cli "$G_CIF")
mark=$(log_mark)
G_ADDR=$(udhcpc_run u7a "$G_CIF" 5)
if [ -n "$G_ADDR" ] && in_pool "$G_ADDR" 10.7.0. 100 150 &&
	log_since "$mark" | grep -q "DHCPACK $G_ADDR to $G_MAC via $G_SIF:"; then
	ok "g: a client on $G_KIND ($G_MAC) gets $G_ADDR, answered via $G_SIF"
else
	not_ok "g: a client on $G_KIND gets a 10.7.0.x lease via $G_SIF (got '$G_ADDR')" "$SYS_TMP/u7a.out" "$SRV_LOG"
fi
if [ -z "$G_VLAN" ]; then
	ok "g: tagged requests answered on s0.7 only # SKIP no 802.1Q support in this kernel"
elif ! log_since "$mark" | grep -E "(DHCPOFFER|DHCPACK|DHCPNAK) .* to $G_MAC" | grep -qv "via $G_SIF:"; then
	ok "g: the tagged requests are answered on s0.7 only (nothing on the untagged s0)"
else
	not_ok "g: the tagged requests are answered on s0.7 only" "$SRV_LOG"
fi
# Frames of a VLAN the server has no sub-interface for (9) reach s0 too,
# tag stripped by the kernel: they must not be taken for s0's own traffic.
TAG_MAC=02:00:00:09:00:01
mark=$(log_mark)
timeout -k 2 15 ip netns exec "$CLI" "$RD_PYTHON" "$TOOL" tagged --iface c0 --vlan 9 --mac "$TAG_MAC" \
	>"$SYS_TMP/tagged.json" 2>"$SYS_TMP/tagged.err"
if [ "$(jget "$SYS_TMP/tagged.json" sent)" = 3 ] && [ "$(jget "$SYS_TMP/tagged.json" replies)" = 0 ] &&
	! log_since "$mark" | grep -q "to $TAG_MAC"; then
	ok "g: DISCOVERs tagged VLAN 9 (no sub-interface) reaching s0 are not answered"
else
	not_ok "g: DISCOVERs tagged VLAN 9 (no sub-interface) reaching s0 are not answered ($(cat "$SYS_TMP/tagged.json"))" \
		"$SYS_TMP/tagged.err" "$SRV_LOG"
fi
mark=$(log_mark)
ip -n "$SRV" addr del 10.7.0.1/24 dev "$G_SIF"
wait_for 10 sh -c "tail -n +$((mark + 1)) '$SRV_LOG' | grep -q 'no longer serving interface $G_SIF'"
check "g: 10.7.0.1 removed: $G_SIF no longer served" \
	sh -c "tail -n +$((mark + 1)) '$SRV_LOG' | grep -q 'no longer serving interface $G_SIF'"
NEW_MAC=02:00:00:07:00:02
ip -n "$CLI" link set dev "$G_CIF" address "$NEW_MAC"
mark=$(log_mark)
G_NONE=$(udhcpc_run u7b "$G_CIF" 2 -B)
if [ -z "$G_NONE" ] && ! log_since "$mark" | grep -qE "(DHCPOFFER|DHCPACK) .* to $NEW_MAC"; then
	ok "g: a new client on $G_KIND ($NEW_MAC) then gets no answer"
else
	not_ok "g: a new client on $G_KIND gets no answer once 10.7.0.1 is gone (got '$G_NONE')" \
		"$SYS_TMP/u7b.out" "$SRV_LOG"
fi

# ---------------------------------------------------------------- h. garbage
# First each kind of malformed input once: every one that gets past the
# kernel must be counted as dropped, none answered.  Then 250 random
# mutations and payloads: all received, the server survives.
ctl --json status >"$SYS_TMP/status.h0" 2>&1
D0=$(drops "$SYS_TMP/status.h0")
F0=$(jget "$SYS_TMP/status.h0" counters.frames)
mark=$(log_mark)
timeout -k 2 20 ip netns exec "$CLI" "$RD_PYTHON" "$TOOL" garbage --set malformed --iface c0 \
	--server 192.0.2.1 --src 192.0.2.50 >"$SYS_TMP/garbage.json" 2>"$SYS_TMP/garbage.err"
G_TOTAL=$(jget "$SYS_TMP/garbage.json" total)
G_EXP=$(jget "$SYS_TMP/garbage.json" expect_counted)
G_MAC=$(jget "$SYS_TMP/garbage.json" garbage_mac)
BAD_MAC=$(jget "$SYS_TMP/garbage.json" bad_csum_mac)
diag "malformed input sent: $(cat "$SYS_TMP/garbage.json")"
dropped_enough() {
	ctl --json status >"$SYS_TMP/status.h1" 2>&1
	[ "$(drops "$SYS_TMP/status.h1")" -ge $((D0 + ${G_EXP:-1000})) ]
}
wait_for 10 dropped_enough
D1=$(drops "$SYS_TMP/status.h1")
if [ -n "$G_TOTAL" ] && [ "$G_TOTAL" -ge 28 ] && [ $((D1 - D0)) -ge "$G_EXP" ] &&
	! log_since "$mark" | grep -qE "(DHCPOFFER|DHCPACK|DHCPNAK) .* to ($G_MAC|$BAD_MAC)"; then
	ok "h: $G_TOTAL malformed frames/datagrams: $((D1 - D0)) drops counted (>= $G_EXP that pass the kernel), none answered"
else
	not_ok "h: every malformed item is counted as dropped (sent '${G_TOTAL:-}', dropped $((D1 - D0)), want >= '${G_EXP:-}') and none answered" \
		"$SYS_TMP/garbage.err" "$SRV_LOG"
	grep -A12 '"drops"' "$SYS_TMP/status.h1" | sed 's/^/#   /'
fi
timeout -k 2 20 ip netns exec "$CLI" "$RD_PYTHON" "$TOOL" garbage --set fuzz --iface c0 \
	>"$SYS_TMP/fuzz.json" 2>"$SYS_TMP/fuzz.err"
Z_TOTAL=$(jget "$SYS_TMP/fuzz.json" total)
all_received() {
	ctl --json status >"$SYS_TMP/status.h2" 2>&1
	[ "$(jget "$SYS_TMP/status.h2" counters.frames)" -ge $((F0 + G_EXP + ${Z_TOTAL:-1000})) ]
}
wait_for 10 all_received
F2=$(jget "$SYS_TMP/status.h2" counters.frames)
if srv_alive && [ -n "$Z_TOTAL" ] && [ "$Z_TOTAL" -ge 250 ] && [ "${F2:-0}" -ge $((F0 + G_EXP + Z_TOTAL)) ]; then
	ok "h: $Z_TOTAL randomly mutated frames received ($((F2 - F0)) frames in all since h began), the server lives"
else
	not_ok "h: the fuzz frames are received and the server lives (sent '${Z_TOTAL:-}', frames ${F0:-?} -> ${F2:-?})" \
		"$SYS_TMP/fuzz.err" "$SRV_LOG"
fi
H_ADDR=$(udhcpc_run uh m0 5)
if srv_alive && [ -n "$H_ADDR" ] && [ "$H_ADDR" = "$B_ADDR" ]; then
	ok "h: after the garbage the server is alive and udhcpc gets its lease $B_ADDR again"
else
	not_ok "h: after the garbage the server is alive and serves (udhcpc got '$H_ADDR', want $B_ADDR)" \
		"$SYS_TMP/uh.out" "$SRV_LOG"
fi

# ---------------------------------------------------------------- the end
stop_server
if [ "$SRV_RC" -eq 0 ] && grep -q 'stopped; every lease change is on disk' "$SRV_LOG"; then
	ok "final SIGTERM: exit status 0, stop logged"
else
	not_ok "final SIGTERM: exit status 0 (got $SRV_RC), stop logged" "$SRV_LOG"
fi
if ! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|ThreadSanitizer' "$SYS_TMP/srv.out" "$SYS_TMP/srv2.out"; then
	ok "no sanitizer report in either server's log"
else
	not_ok "no sanitizer report in the server logs" "$SYS_TMP/srv.out" "$SYS_TMP/srv2.out"
fi

[ "$T" -eq "$PLAN" ] || diag "ran $T checks, planned $PLAN"
exit $((FAILED > 0 || T != PLAN))
