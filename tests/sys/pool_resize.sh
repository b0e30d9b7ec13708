#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# pool_resize.sh — a pool's range changed by SIGHUP under a client that
# keeps renewing (issue 6).
#
# A server namespace (s0 192.0.2.1/24) and a client namespace joined by a
# veth pair; rackdhcpd serves 192.0.2.0/24 with the pool 192.0.2.100-199.
# ISC dhclient asks for 10 s leases, so it renews about every 5 s;
# min_lease_time is 2 s.  Checked:
#
#   a. dhclient is bound to X in 100-199; `rackdhcpctl status` shows the pool;
#   b. the pool shrunk to 150-199 (X leaves it): the reload is applied (not
#      refused) and logged as "shrunk to ... 1 leased address left the pool";
#      a new client (udhcpc) gets an address in 150-199 only; status shows
#      150-199 with X not counted; dhclient's next renewal is ACKed for X
#      with what is left of its lease (< 10 s), not extended;
#   c. the pool grown back to 100-199 right away: logged "grown to"; the
#      next renewal of X gets a full 10 s lease again; status shows 100-199;
#   d. the pool moved to 200-249: logged "moved to", 2 leased addresses left;
#      dhclient keeps X while its lease lasts (renewals ACKed, capped), a new
#      client gets an address in 200-249, and once less than min_lease_time
#      is left the renewal is NAKed and dhclient is bound in 200-249; the
#      pool split in two and merged again: logged, status follows;
#   e. restart: every lease row of the store (address, MAC, state) is the
#      same after a SIGTERM and a start with the moved pool, including the
#      leases outside every pool, and the daemon loads them all; the udhcpc
#      client of b, starting over, is offered its address (outside the pool
#      now) for what is left of its 600 s lease;
#   f. exit status 0, no sanitizer report.
#
# Skips (1..0 # SKIP, exit 77) without root, network namespaces, dhclient,
# busybox, sqlite3, python3 or a built rackdhcpd.  RD_KEEP_TMP=1 keeps the
# temp dir.  Runtime ~40 s.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
: "${RD_PYTHON:=/usr/bin/python3}"
: "${DHCLIENT:=$(command -v dhclient || echo /usr/sbin/dhclient)}"

. "$top_srcdir/tests/sys/lib.sh"

need_root
need_cmd busybox sqlite3 timeout
[ -x "$DHCLIENT" ] || skip_all "dhclient (isc-dhcp-client) not found"
[ -x "$RD_PYTHON" ] || skip_all "$RD_PYTHON not found"
need_daemon ctl
need_netns

PLAN=26
ok() { t_ok 0 "$1"; }
not_ok() {	# not_ok NAME [FILE...]
	n=$1
	shift
	t_ok 1 "$n" "$@"
}
diag() { echo "# $*"; }

sys_init pool_resize
echo "1..$PLAN"
SRV=$(ns_name srv)
CLI=$(ns_name cli)
ns_setup srv cli
veth_create srv s0 cli c0 || { echo "Bail out! cannot create the veth pair"; exit 99; }
ns_addr srv s0 192.0.2.1/24
for m in m0 m1; do
	ip -n "$CLI" link add $m link c0 type macvlan mode bridge || { echo "Bail out! cannot create a macvlan"; exit 99; }
	ip -n "$CLI" link set $m up
done

STATE=$SYS_TMP/state
CONF=$SYS_TMP/rackdhcpd.yaml
CTL_SOCK=$SYS_TMP/ctl/control.sock
DB=$STATE/leases.db
SRV_LOG=$SYS_TMP/srv.out
SRV_LABEL=srv

write_config() {	# write_config RANGE...
	cat >"$CONF.tmp" <<EOF
server:
  interfaces: [s0]
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
    min_lease_time: 2
    pools:
EOF
	for r in "$@"; do
		echo "      - range: $r" >>"$CONF.tmp"
	done
	mv "$CONF.tmp" "$CONF"
}
write_config 192.0.2.100-192.0.2.199

client_scripts drop
cat >"$SYS_TMP/dhclient.conf" <<'EOF'
timeout 15;
initial-interval 1;
backoff-cutoff 2;
send dhcp-lease-time 10;
request subnet-mask, routers, dhcp-lease-time, dhcp-server-identifier;
EOF

srv_pid() { cat "$SYS_TMP/$SRV_LABEL.pid"; }
srv_alive() { proc_alive "$SRV_LABEL"; }
start_server() {	# start_server LABEL
	SRV_LABEL=$1
	SRV_LOG=$SYS_TMP/$1.out
	rd_start "$1" srv "$CONF"
}
stop_server() { rd_stop "$SRV_LABEL"; SRV_RC=$RD_RC; }
ctl() { timeout -k 2 10 "$RACKDHCPCTL" -s "$CTL_SOCK" -t 5 "$@"; }
sql() { sqlite3 -batch -noheader "$DB" "$@"; }
# pool_field KEY: a field of the first pool of `rackdhcpctl --json status`
pool_field() {
	ctl --json status 2>/dev/null | "$RD_PYTHON" -c '
import json, sys
print(json.load(sys.stdin)["pools"][0][sys.argv[1]])' "$1" 2>/dev/null
}
# every lease row: "address state mac", sorted
store_rows() {
	sql "SELECT addr, state, lower(hex(chaddr)) FROM leases;" |
		awk -F'|' '{ a = $1; printf "%d.%d.%d.%d %s %s\n", int(a / 16777216) % 256, int(a / 65536) % 256,
			int(a / 256) % 256, a % 256, $2, $3 }' | sort
}
in_range() {	# in_range ADDR LO HI (last octet, 192.0.2.x)
	case $1 in 192.0.2.*) ;; *) return 1 ;; esac
	last=${1##*.}
	[ "$last" -ge "$2" ] && [ "$last" -le "$3" ]
}
log_mark() { wc -l <"$SRV_LOG"; }
log_since() { tail -n +"$(($1 + 1))" "$SRV_LOG"; }
logged_since() { log_since "$1" | grep -q "$2"; }
ev_mark() { wc -l <"$SYS_TMP/dhc.events"; }
# ev_since MARK REASONS: events after MARK among REASONS (ERE)
ev_since() { tail -n +"$(($1 + 1))" "$SYS_TMP/dhc.events" | grep -E "^($2) "; }
has_ev_since() { [ -n "$(ev_since "$1" "$2")" ] || ! proc_alive dhc; }

# reload RANGE...: new file + SIGHUP; waits for the reload to be logged
reload() {
	write_config "$@"
	RL_MARK=$(log_mark)
	kill -HUP "$(srv_pid)"
	wait_for 10 logged_since "$RL_MARK" 'reloaded\|reload refused'
}

udhcpc_run() {	# udhcpc_run LABEL IF: one bounded udhcpc; prints the address
	: >"$SYS_TMP/$1.events"
	RD_LOG="$SYS_TMP/$1.events" timeout -k 2 20 ip netns exec "$CLI" busybox udhcpc -i "$2" -n -q -f \
		-t 5 -T 1 -A 1 -s "$SYS_TMP/udhcpc-script" >"$SYS_TMP/$1.out" 2>&1
	grep '^bound ' "$SYS_TMP/$1.events" | tail -n 1 | cut -d' ' -f2
}

# ---------------------------------------------------------------- a. bound
if ! start_server srv; then
	echo "Bail out! rackdhcpd did not start"
	sed 's/^/# /' "$SRV_LOG" | tail -n 30
	exit 99
fi
C0_MAC=$(ns_mac cli c0)
: >"$SYS_TMP/dhc.events"
proc_start dhc timeout -k 2 90 ip netns exec "$CLI" "$DHCLIENT" -4 -d -1 -e RD_LOG="$SYS_TMP/dhc.events" \
	-cf "$SYS_TMP/dhclient.conf" -sf "$SYS_TMP/dhclient-script" -lf "$SYS_TMP/dhclient.leases" \
	-pf "$SYS_TMP/dhc.dpid" c0
wait_for 20 has_ev_since 0 'BOUND'
X=$(ev_since 0 BOUND | tail -n 1 | cut -d' ' -f2)
if [ -n "$X" ] && in_range "$X" 100 199; then
	ok "a: dhclient ($C0_MAC) bound $X in 192.0.2.100-199, 10 s leases"
else
	not_ok "a: dhclient bound in 192.0.2.100-199 (got '$X')" "$SYS_TMP/dhc.events" "$SYS_TMP/dhc.out" "$SRV_LOG"
	X=none
fi
if [ "$(pool_field range)" = 192.0.2.100-192.0.2.199 ] && [ "$(pool_field size)" = 100 ] &&
	[ "$(pool_field used)" = 1 ]; then
	ok "a: status: pool 192.0.2.100-192.0.2.199, size 100, 1 used"
else
	not_ok "a: status shows the pool (range '$(pool_field range)', size '$(pool_field size)', used '$(pool_field used)')"
fi

# ---------------------------------------------------------------- b. shrink
# Right after a full renewal, so the next one is ~5 s away: time for the
# checks below before it, and for the growth in c before the one after.
EV=$(ev_mark)
wait_for 10 has_ev_since "$EV" 'RENEW|REBIND'
reload 192.0.2.150-192.0.2.199
EV=$(ev_mark)
if logged_since "$RL_MARK" 'pool 192.0.2.100-192.0.2.199 shrunk to 192.0.2.150-192.0.2.199; 1 leased address left the pool and stays leased until it ends' &&
	! logged_since "$RL_MARK" 'reload refused'; then
	ok "b: shrunk to 150-199 by SIGHUP: applied and logged (1 leased address left the pool)"
else
	not_ok "b: the shrink is applied and logged in operator terms" "$SRV_LOG"
fi
B_ADDR=$(udhcpc_run ub m0)
if [ -n "$B_ADDR" ] && in_range "$B_ADDR" 150 199; then
	ok "b: a new client gets $B_ADDR, from the new range only"
else
	not_ok "b: a new client gets an address in 150-199 (got '$B_ADDR')" "$SYS_TMP/ub.out" "$SRV_LOG"
fi
if [ "$(pool_field range)" = 192.0.2.150-192.0.2.199 ] && [ "$(pool_field size)" = 50 ] &&
	[ "$(pool_field used)" = 1 ]; then
	ok "b: status: 192.0.2.150-192.0.2.199, size 50, 1 used ($X is outside and not counted)"
else
	not_ok "b: status follows the shrink (range '$(pool_field range)', size '$(pool_field size)', used '$(pool_field used)')"
fi

wait_for 10 has_ev_since "$EV" 'RENEW|REBIND'
R=$(ev_since "$EV" 'RENEW|REBIND' | head -n 1)
R_ADDR=$(echo "$R" | cut -d' ' -f2)
R_TIME=$(echo "$R" | cut -d' ' -f4)
if [ "$R_ADDR" = "$X" ] && [ -n "$R_TIME" ] && [ "$R_TIME" -lt 10 ] && [ "$R_TIME" -ge 2 ]; then
	ok "b: dhclient's renewal of $X is ACKed with what is left of its lease ($R_TIME s < 10 s)"
else
	not_ok "b: the renewal of $X is ACKed, not extended (event '$R')" "$SYS_TMP/dhc.events" "$SRV_LOG"
fi
if log_since "$RL_MARK" | grep -q "DHCPACK $X to $C0_MAC via s0: .*left the pool: not extended"; then
	ok "b: the server log says why (DHCPACK $X to $C0_MAC ... left the pool: not extended)"
else
	not_ok "b: the server log names the client, the address and the rule" "$SRV_LOG"
fi
# ---------------------------------------------------------------- c. grow
reload 192.0.2.100-192.0.2.199
EV=$(ev_mark)
if logged_since "$RL_MARK" 'pool 192.0.2.150-192.0.2.199 grown to 192.0.2.100-192.0.2.199'; then
	ok "c: grown back to 100-199: logged"
else
	not_ok "c: the growth is applied and logged" "$SRV_LOG"
fi
# the lease time is the 4th field of client_scripts' lines
full_renewal() { ev_since "$EV" 'RENEW|REBIND' | awk '$4 == 10 { f = 1 } END { exit !f }' || ! proc_alive dhc; }
wait_for 10 full_renewal
R=$(ev_since "$EV" 'RENEW|REBIND' | awk '$4 == 10' | head -n 1)
if [ "$(echo "$R" | cut -d' ' -f2)" = "$X" ] && [ -z "$(ev_since "$EV" 'BOUND')" ]; then
	ok "c: back in the pool, the renewal of $X is a full 10 s lease again"
else
	not_ok "c: the renewal of $X gets a full lease again (events since the reload: $(ev_since "$EV" '[A-Z]+' | tr '\n' ';'))" \
		"$SYS_TMP/dhc.events" "$SRV_LOG"
fi
if [ "$(pool_field range)" = 192.0.2.100-192.0.2.199 ] && [ "$(pool_field size)" = 100 ] &&
	[ "$(pool_field used)" = 2 ]; then
	ok "c: status: 192.0.2.100-192.0.2.199, size 100, 2 used"
else
	not_ok "c: status follows the growth (range '$(pool_field range)', size '$(pool_field size)', used '$(pool_field used)')"
fi

# ---------------------------------------------------------------- d. move
reload 192.0.2.200-192.0.2.249
EV=$(ev_mark)
if logged_since "$RL_MARK" 'pool 192.0.2.100-192.0.2.199 moved to 192.0.2.200-192.0.2.249; 2 leased addresses left the pool and stay leased until they end'; then
	ok "d: moved to 200-249: logged, 2 leased addresses left the pool"
else
	not_ok "d: the move is applied and logged" "$SRV_LOG"
fi
D_ADDR=$(udhcpc_run ud m1)
if [ -n "$D_ADDR" ] && in_range "$D_ADDR" 200 249; then
	ok "d: a new client gets $D_ADDR, from the moved range"
else
	not_ok "d: a new client gets an address in 200-249 (got '$D_ADDR')" "$SYS_TMP/ud.out" "$SRV_LOG"
fi
# X's lease ends at most 10 s after its last full renewal; with less than
# min_lease_time left dhclient is told NAK and starts again, in the new range.
moved_on() { ev_since "$EV" 'BOUND' | grep -q . || ! proc_alive dhc; }
wait_for 25 moved_on
KEPT=$(ev_since "$EV" 'RENEW|REBIND' | cut -d' ' -f2 | sort -u | tr '\n' ' ')
NEW=$(ev_since "$EV" BOUND | head -n 1 | cut -d' ' -f2)
if [ -n "$(ev_since "$EV" 'RENEW|REBIND')" ] && [ "$KEPT" = "$X " ]; then
	ok "d: while its lease lasted, every renewal kept $X ($(ev_since "$EV" 'RENEW|REBIND' | wc -l) renewals)"
else
	not_ok "d: renewals after the move keep $X (renewed: '$KEPT')" "$SYS_TMP/dhc.events" "$SRV_LOG"
fi
if [ -n "$NEW" ] && in_range "$NEW" 200 249; then
	ok "d: once the lease of $X was over, dhclient was bound to $NEW in the moved range"
else
	not_ok "d: dhclient moves to 200-249 when its lease ends (got '$NEW')" "$SYS_TMP/dhc.events" "$SRV_LOG"
fi
if log_since "$RL_MARK" | grep -q "DHCPNAK .* to $C0_MAC .*$X is in no pool" ||
	ev_since "$EV" EXPIRE | grep -q .; then
	ok "d: the end of the lease: NAKed as in no pool any more (or expired at the client)"
else
	not_ok "d: the end of the lease is a NAK naming the address and the client" "$SRV_LOG"
fi
if [ "$(pool_field range)" = 192.0.2.200-192.0.2.249 ] && [ "$(pool_field used)" = 2 ]; then
	ok "d: status: 192.0.2.200-192.0.2.249, 2 used"
else
	not_ok "d: status follows the move (range '$(pool_field range)', used '$(pool_field used)')"
fi
proc_stop dhc

# split and merged again (no lease in the part between)
reload 192.0.2.200-192.0.2.219 192.0.2.230-192.0.2.249
pools_of() {	# "range size; ..." of every pool in `status`
	ctl --json status 2>/dev/null | "$RD_PYTHON" -c '
import json, sys
print("; ".join("%s %d" % (p["range"], p["size"]) for p in json.load(sys.stdin)["pools"]))' 2>/dev/null
}
if logged_since "$RL_MARK" 'pool 192.0.2.200-192.0.2.249 split into 192.0.2.200-192.0.2.219 and 192.0.2.230-192.0.2.249$' &&
	[ "$(pools_of)" = "192.0.2.200-192.0.2.219 20; 192.0.2.230-192.0.2.249 20" ]; then
	ok "d: split in two by SIGHUP: logged, status shows both (20 + 20)"
else
	not_ok "d: the split is applied and logged (status: '$(pools_of)')" "$SRV_LOG"
fi
reload 192.0.2.200-192.0.2.249
if logged_since "$RL_MARK" 'pools 192.0.2.200-192.0.2.219 and 192.0.2.230-192.0.2.249 merged into 192.0.2.200-192.0.2.249$' &&
	[ "$(pools_of)" = "192.0.2.200-192.0.2.249 50" ] && [ "$(pool_field used)" = 2 ]; then
	ok "d: merged again: logged, status shows 192.0.2.200-192.0.2.249 with its 2 leases"
else
	not_ok "d: the merge is applied and logged (status: '$(pools_of)', used '$(pool_field used)')" "$SRV_LOG"
fi

# ---------------------------------------------------------------- e. restart
store_rows >"$SYS_TMP/rows.before"
N_ROWS=$(wc -l <"$SYS_TMP/rows.before")
diag "store before the restart: $(tr '\n' ';' <"$SYS_TMP/rows.before")"
if grep -q "^$X " "$SYS_TMP/rows.before" && grep -q "^$B_ADDR " "$SYS_TMP/rows.before"; then
	ok "e: the store holds $X and $B_ADDR, now outside every pool"
else
	not_ok "e: the store keeps the leases outside the pools ($X, $B_ADDR)" "$SYS_TMP/rows.before"
fi
stop_server
if [ "$SRV_RC" -eq 0 ]; then
	ok "e: SIGTERM: exit status 0"
else
	not_ok "e: SIGTERM: exit status 0 (got $SRV_RC)" "$SRV_LOG"
fi
if start_server srv2 && grep -q "$N_ROWS leases loaded" "$SRV_LOG"; then
	ok "e: started again with the moved pool: $N_ROWS leases loaded"
else
	not_ok "e: started again, all $N_ROWS leases loaded" "$SRV_LOG"
fi
store_rows >"$SYS_TMP/rows.after"
if [ "$N_ROWS" -ge 4 ] && cmp -s "$SYS_TMP/rows.before" "$SYS_TMP/rows.after"; then
	ok "e: every lease row (address, state, MAC) is the same after the restart"
else
	not_ok "e: the store keeps every lease across the restart" "$SRV_LOG"
	diff "$SYS_TMP/rows.before" "$SYS_TMP/rows.after" | head -n 20 | sed 's/^/#   /'
fi
ctl leases --limit 1000 >"$SYS_TMP/ctl.leases" 2>&1
if grep -q "^$B_ADDR " "$SYS_TMP/ctl.leases"; then
	ok "e: the restarted daemon knows $B_ADDR (outside every pool) as a lease"
else
	not_ok "e: the restarted daemon loads leases outside the pools" "$SYS_TMP/ctl.leases"
fi
E_OUT=$(udhcpc_run ue m0)
E_LEASE=$(grep '^bound ' "$SYS_TMP/ue.events" | tail -n 1 | cut -d' ' -f4)
if [ -n "$E_OUT" ] && [ "$E_OUT" = "$B_ADDR" ] && [ -n "$E_LEASE" ] && [ "$E_LEASE" -lt 600 ]; then
	ok "e: the client of $B_ADDR, starting over after the restart, keeps it for what is left ($E_LEASE s < 600 s)"
else
	not_ok "e: the client of $B_ADDR keeps it, not extended, after the restart (got '$E_OUT' for '$E_LEASE' s)" \
		"$SYS_TMP/ue.out" "$SRV_LOG"
fi

# ---------------------------------------------------------------- f. the end
stop_server
if [ "$SRV_RC" -eq 0 ]; then
	ok "f: final SIGTERM: exit status 0"
else
	not_ok "f: final SIGTERM: exit status 0 (got $SRV_RC)" "$SRV_LOG"
fi
if ! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|ThreadSanitizer' "$SYS_TMP/srv.out" "$SYS_TMP/srv2.out"; then
	ok "f: no sanitizer report in either server's log"
else
	not_ok "f: no sanitizer report in the server logs" "$SYS_TMP/srv.out" "$SYS_TMP/srv2.out"
fi

[ "$T" -eq "$PLAN" ] || diag "ran $T checks, planned $PLAN"
exit $((FAILED > 0 || T != PLAN))
