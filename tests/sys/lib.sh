# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=sh
#
# lib.sh — shared helpers for the system tests in tests/sys: network
# namespaces joined by veth pairs, processes started and stopped by PID, and
# one cleanup trap that undoes all of it, whatever way the test ends.
#
# Source it, then:
#
#   need_root; need_netns; need_cmd dhcpd      # each may skip the whole test
#   sys_init isc_diff                          # temp dir $SYS_TMP, unique $SYS_ID, trap
#   ns_create srv; ns_create cli               # -> "$(ns_name srv)" = rd-<id>-srv
#   veth_create srv s0 cli c0                  # veth pair s0 (in srv) <-> c0 (in cli), up
#   ns_addr srv s0 192.0.2.1/24
#   proc_start isc ip netns exec "$(ns_name srv)" dhcpd -f ...   # PID -> $SYS_TMP/isc.pid
#   proc_stop isc
#   dhcp_dora cli br0 52:54:00:fc:00:01        # one DORA from that MAC: "ACK ADDR SERVER LEASE"
#   fo_cap_start cap srv s0; ...; fo_cap_check TAG cap 192.0.2.1   # tshark on our port 647 messages
#   fo_takeover ...                            # partner-down: MCLT, then the peer's share
#   need_daemon ctl                            # skip unless rackdhcpd (and rackdhcpctl) are built
#   ns_setup srv cli                           # ns_create each, IPv6 off (Bail out if impossible)
#   fo_bridge 0 p0 s0                          # pri/p0 and sec/s0 on bridge br0 in namespace cli
#   rd_start srv srv FILE; rd_stop srv         # rackdhcpd -f in a namespace, SIGTERM and its status
#   client_scripts [drop]                      # $SYS_TMP/dhclient-script and udhcpc-script
#
# Everything is named after $SYS_ID (the test name and the shell's PID), so
# tests running at the same time cannot collide, and the trap removes only
# what this script created: the namespaces it made (deleting a namespace
# deletes the veth ends inside it), the processes it started (by PID, never
# by name), and its temp dir.  Loops here are bounded in count and time.
#
# Skipping: skip_all prints "1..0 # SKIP reason" and exits $RD_SKIP_STATUS
# (default 77, the automake "skipped" status).  Under the TAP driver, which
# reads the plan, set RD_SKIP_STATUS=0 if a non-zero exit would count as an
# error there.

: "${RD_SKIP_STATUS:=77}"

SYS_ID=
SYS_TMP=
SYS_NS=     # namespaces created, space separated (full names)
SYS_PROCS=  # labels of started processes

skip_all() {	# skip_all REASON
	echo "1..0 # SKIP $1"
	exit "$RD_SKIP_STATUS"
}

need_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
}

need_cmd() {	# need_cmd NAME... : skip unless every command exists
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "$c not found"
	done
}

# need_daemon [ctl]: skip unless $RACKDHCPD (default: the build tree's) is
# built, and with ctl $RACKDHCPCTL too; both made absolute, as tests cd.
need_daemon() {
	: "${RACKDHCPD:=$top_builddir/dhcpd/rackdhcpd}"
	: "${RACKDHCPCTL:=$top_builddir/dhcpd/rackdhcpctl}"
	[ -x "$RACKDHCPD" ] || skip_all "$RACKDHCPD not built"
	RACKDHCPD=$(cd "$(dirname "$RACKDHCPD")" && pwd)/$(basename "$RACKDHCPD")
	if [ "${1:-}" = ctl ]; then
		[ -x "$RACKDHCPCTL" ] || skip_all "$RACKDHCPCTL not built"
		RACKDHCPCTL=$(cd "$(dirname "$RACKDHCPCTL")" && pwd)/$(basename "$RACKDHCPCTL")
	fi
}

# need_isc_pair: what a test of rackdhcpd with a live ISC dhcpd peer needs
# (root, sqlite3, timeout, python3, ISC dhcpd at $DHCPD, rackdhcpd and
# rackdhcpctl, network namespaces); skips the test otherwise.
need_isc_pair() {
	need_root
	need_cmd sqlite3 timeout python3
	[ -x "$DHCPD" ] || skip_all "ISC dhcpd not found"
	need_daemon ctl
	need_netns
}

need_netns() {
	need_cmd ip
	probe="rd-probe-$$"
	ip netns add "$probe" >/dev/null 2>&1 || skip_all "ip netns unavailable"
	if ! ip netns exec "$probe" ip link set lo up >/dev/null 2>&1; then
		ip netns del "$probe" >/dev/null 2>&1
		skip_all "cannot enter a network namespace"
	fi
	ip netns del "$probe" >/dev/null 2>&1
	if ! ip link add "rdpv$$" type veth peer name "rdpw$$" >/dev/null 2>&1; then
		skip_all "cannot create veth pairs"
	fi
	ip link del "rdpv$$" >/dev/null 2>&1
}

sys_init() {	# sys_init NAME: unique id, temp dir, cleanup trap
	SYS_ID="$1-$$"
	SYS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/rd-$1.XXXXXX") || exit 99
	trap 'sys_cleanup' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

ns_name() {	# ns_name SHORT -> full namespace name
	echo "rd-$SYS_ID-$1"
}

ns_create() {	# ns_create SHORT
	n=$(ns_name "$1")
	ip netns add "$n" || return 1
	SYS_NS="$SYS_NS $n"
	ip netns exec "$n" ip link set lo up
}

ns_exec() {	# ns_exec SHORT CMD...
	n=$(ns_name "$1")
	shift
	ip netns exec "$n" "$@"
}

# veth_create NS1 IF1 NS2 IF2: a veth pair created in NS1 (so nothing ever
# appears in the host namespace), IF2 moved to NS2, both up.
veth_create() {
	a=$(ns_name "$1")
	b=$(ns_name "$3")
	ip -n "$a" link add "$2" type veth peer name "$4" || return 1
	ip -n "$a" link set "$4" netns "$b" || return 1
	ip -n "$a" link set "$2" up || return 1
	ip -n "$b" link set "$4" up
}

# ns_setup SHORT...: ns_create each with IPv6 off (no router solicitations
# or DAD on the test links); a test that cannot have them bails out.
ns_setup() {
	for n in "$@"; do
		ns_create "$n" || { echo "Bail out! cannot create namespace $n"; exit 99; }
		ns_exec "$n" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
			>/dev/null 2>&1
	done
}

# fo_bridge SEG PRI_IF SEC_IF: a failover pair's wire: veth PRI_IF (in pri)
# <-> cpSEG and SEC_IF (in sec) <-> csSEG, both ends in namespace cli
# enslaved to bridge brSEG there (no STP, no forward delay), all up.
fo_bridge() {
	c=$(ns_name cli)
	veth_create pri "$2" cli "cp$1" || { echo "Bail out! cannot create a veth pair"; exit 99; }
	veth_create sec "$3" cli "cs$1" || { echo "Bail out! cannot create a veth pair"; exit 99; }
	ip -n "$c" link add "br$1" type bridge || { echo "Bail out! cannot create a bridge"; exit 99; }
	ip -n "$c" link set "br$1" type bridge stp_state 0 forward_delay 0 2>/dev/null
	ip -n "$c" link set "cp$1" master "br$1"
	ip -n "$c" link set "cs$1" master "br$1"
	ip -n "$c" link set "br$1" up
}

ns_addr() {	# ns_addr NS IF ADDR/LEN
	ip -n "$(ns_name "$1")" addr add "$3" dev "$2"
}

ns_mac() {	# ns_mac NS IF -> MAC
	ip -n "$(ns_name "$1")" -o link show dev "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'
}

# proc_start LABEL CMD...: run CMD in the background, stdout/stderr to
# $SYS_TMP/LABEL.out, PID to $SYS_TMP/LABEL.pid.
proc_start() {
	label=$1
	shift
	"$@" >"$SYS_TMP/$label.out" 2>&1 &
	echo $! >"$SYS_TMP/$label.pid"
	SYS_PROCS="$SYS_PROCS $label"
}

proc_alive() {	# proc_alive LABEL
	[ -f "$SYS_TMP/$1.pid" ] && kill -0 "$(cat "$SYS_TMP/$1.pid")" 2>/dev/null
}

# proc_stop LABEL: TERM, wait up to 3 s, then KILL; by PID only.
proc_stop() {
	f="$SYS_TMP/$1.pid"
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 30 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	rm -f "$f"
}

proc_gone() {	# proc_gone PID: it has exited (a zombie counts: not reaped yet)
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ]
}

# rd_start LABEL NS CONF: rackdhcpd -f in namespace NS (PID -> LABEL.pid,
# output -> LABEL.out, appended to LABEL.all across restarts); waits
# (bounded) until it says it serves.  Fails if it did not get there.
rd_start() {
	[ -f "$SYS_TMP/$1.out" ] && cat "$SYS_TMP/$1.out" >>"$SYS_TMP/$1.all"
	proc_start "$1" ip netns exec "$(ns_name "$2")" "$RACKDHCPD" -c "$3" -f
	rd_ready_() { grep -q 'serving on' "$SYS_TMP/$1.out" 2>/dev/null || ! proc_alive "$1"; }
	wait_for 20 rd_ready_ "$1"
	proc_alive "$1" && grep -q 'serving on' "$SYS_TMP/$1.out"
}

# rd_stop LABEL: SIGTERM, wait (bounded, then SIGKILL) for the exit; the
# exit status in RD_RC.
rd_stop() {
	f="$SYS_TMP/$1.pid"
	RD_RC=
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	kill -TERM "$pid" 2>/dev/null
	if ! wait_for 20 proc_gone "$pid"; then
		echo "# $1 ($pid) did not stop within 20 s: killed"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid"
	RD_RC=$?
	rm -f "$f"
}

# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds or time is up.
rd_server_yaml() {	# rd_server_yaml DIR IF WORKERS: a `server:` section, state under DIR
	cat <<EOF
server:
  interfaces: [$2]
  state_dir: $1/state
  control_socket: $1/ctl/control.sock
  pidfile: $1/rackdhcpd.pid
  workers: $3
  durability: sync
  log_level: info
EOF
}

wait_for() {
	limit=$(($1 * 10))
	shift
	i=0
	while [ $i -lt $limit ]; do
		"$@" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# TAP lines numbered as they are printed: t_ok STATUS DESCRIPTION [FILE...]
# prints "ok N" or "not ok N" (then the last 30 lines of each FILE, for the
# log); T counts them, FAILED the failures (print "1..$T" at the end).
T=0
FAILED=0
t_ok() {
	st=$1
	d=$2
	shift 2
	T=$((T + 1))
	if [ "$st" -eq 0 ]; then
		echo "ok $T - $d"
	else
		echo "not ok $T - $d"
		FAILED=$((FAILED + 1))
		for f in "$@"; do
			[ -f "$f" ] || continue
			echo "# --- $f (last 30 lines)"
			tail -n 30 "$f" | sed 's/^/#   /'
		done
	fi
}

# client_scripts [drop]: the scripts the tests give dhclient (-sf) and
# busybox udhcpc (-s).  They touch only the client's namespace: the link
# up, the address set; with `drop`, dhclient's address is also removed when
# the lease ends (EXPIRE, FAIL, RELEASE, STOP).  Each event is appended to
# $RD_LOG (passed with dhclient -e / in udhcpc's environment) as one line:
#   dhclient: REASON ADDRESS INTERFACE LEASE_TIME SERVER_ID
#   udhcpc:   EVENT ADDRESS INTERFACE LEASE_TIME
client_scripts() {
	{
		cat <<'EOF'
#!/bin/sh
echo "$reason ${new_ip_address:-} ${interface:-} ${new_dhcp_lease_time:-} ${new_dhcp_server_identifier:-}" >>"$RD_LOG"
case $reason in
PREINIT) ip link set "$interface" up ;;
BOUND|RENEW|REBIND|REBOOT)
	ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
EOF
		[ "${1:-}" = drop ] && cat <<'EOF'
EXPIRE|FAIL|RELEASE|STOP)
	[ -n "${old_ip_address:-}" ] && ip addr del "$old_ip_address/${old_subnet_mask:-255.255.255.0}" dev "$interface" 2>/dev/null ;;
EOF
		printf 'esac\nexit 0\n'
	} >"$SYS_TMP/dhclient-script"
	cat >"$SYS_TMP/udhcpc-script" <<'EOF'
#!/bin/sh
echo "$1 ${ip:-} ${interface:-} ${lease:-}" >>"$RD_LOG"
exit 0
EOF
	chmod +x "$SYS_TMP/dhclient-script" "$SYS_TMP/udhcpc-script"
}

# check DESCRIPTION CMD...: one TAP line on CMD's status; on failure the
# end of each file in $CHECK_LOGS (default: a failover pair's two logs,
# pri.out and sec.out).  A test may define its own check after sourcing.
check() {
	d=$1
	shift
	if "$@"; then
		t_ok 0 "$d"
	else
		# shellcheck disable=SC2086 # a list of paths without spaces
		t_ok 1 "$d" ${CHECK_LOGS:-"$SYS_TMP/pri.out" "$SYS_TMP/sec.out"}
	fi
}

sys_cleanup() {
	rc=$?
	trap - EXIT INT TERM
	for p in $SYS_PROCS; do
		proc_stop "$p"
	done
	for n in $SYS_NS; do
		ip netns del "$n" 2>/dev/null
	done
	if [ -n "$SYS_TMP" ] && [ -d "$SYS_TMP" ]; then
		if [ -n "${RD_KEEP_TMP:-}" ]; then
			echo "# kept $SYS_TMP" >&2
		else
			rm -rf "$SYS_TMP"
		fi
	fi
	exit $rc
}

# ---- DHCP clients and failover captures (fo_pair*.sh) ------------------

# dhcp_dora NS IF MAC [SECONDS [WANT]]: one DISCOVER/OFFER/REQUEST/ACK
# exchange for MAC, sent as raw frames on IF in namespace NS (no client-id,
# so the failover hash is over MAC; secs 0; broadcast flag), the DISCOVER
# asking for address WANT (option 50) when given.  DISCOVER is repeated
# every 2 s until an OFFER comes or SECONDS (default 6) are up.  Prints
# "ACK ADDR SERVER-ID LEASE-TIME", "NAK SERVER-ID" or "NONE"; exit 0 on ACK.
dhcp_dora() {
	ip netns exec "$(ns_name "$1")" python3 - "$2" "$3" "${4:-6}" "${5:-}" <<'PYEOF'
import random, socket, struct, sys, time
ifc, mac, limit = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", "")), float(sys.argv[3])
want = bytes([50, 4]) + socket.inet_aton(sys.argv[4]) if sys.argv[4] else b""

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def frame(payload):
    udp = struct.pack("!HHHH", 68, 67, 8 + len(payload), 0) + payload
    ph = socket.inet_aton("0.0.0.0") + socket.inet_aton("255.255.255.255") + struct.pack("!BBH", 0, 17, len(udp))
    udp = udp[:6] + struct.pack("!H", csum(ph + udp) or 0xFFFF) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     socket.inet_aton("0.0.0.0"), socket.inet_aton("255.255.255.255"))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\xff" * 6 + mac + b"\x08\x00" + ip + udp

def dhcp(xid, mtype, opts=b""):
    h = struct.pack("!BBBBIHH", 1, 1, 6, 0, xid, 0, 0x8000) + b"\0" * 16 + mac.ljust(16, b"\0") + b"\0" * 192
    return h + b"\x63\x82\x53\x63" + bytes([53, 1, mtype]) + opts + bytes([55, 4, 1, 3, 51, 54, 255])

def answer(s, xid, deadline):
    while time.time() < deadline:
        s.settimeout(max(0.05, deadline - time.time()))
        try:
            f = s.recv(4096)
        except socket.timeout:
            return None
        if len(f) < 14 + 20 + 8 + 240 or f[12:14] != b"\x08\x00" or f[23] != 17:
            continue
        o = 14 + (f[14] & 15) * 4
        if struct.unpack("!H", f[o + 2:o + 4])[0] != 68:
            continue
        d = f[o + 8:]
        if d[0] != 2 or struct.unpack("!I", d[4:8])[0] != xid or d[28:34] != mac or d[236:240] != b"\x63\x82\x53\x63":
            continue
        opts, i = {}, 240
        while i < len(d) and d[i] != 255:
            if d[i] == 0:
                i += 1
                continue
            if i + 1 >= len(d):
                break
            opts[d[i]] = d[i + 2:i + 2 + d[i + 1]]
            i += 2 + d[i + 1]
        if 53 in opts:
            return socket.inet_ntoa(d[16:20]), opts
    return None

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind((ifc, 0))
end = time.time() + limit
xid = random.getrandbits(32)
offer = None
while offer is None and time.time() < end:
    s.send(frame(dhcp(xid, 1, want)))
    r = answer(s, xid, min(end, time.time() + 2))
    if r and r[1][53] == b"\x02" and 54 in r[1]:
        offer = r
if offer is None:
    print("NONE")
    sys.exit(1)
addr, opts = offer
sid = opts[54]
s.send(frame(dhcp(xid, 3, bytes([50, 4]) + socket.inet_aton(addr) + bytes([54, 4]) + sid)))
while True:
    r = answer(s, xid, min(end + 2, time.time() + 3))
    if r is None:
        print("NONE")
        sys.exit(1)
    if r[1][53] == b"\x05":
        lt = struct.unpack("!I", r[1][51])[0] if len(r[1].get(51, b"")) == 4 else 0
        print("ACK %s %s %d" % (r[0], socket.inet_ntoa(sid), lt))
        sys.exit(0)
    if r[1][53] == b"\x06":
        print("NAK %s" % socket.inet_ntoa(sid))
        sys.exit(1)
PYEOF
}

# fo_cap_start LABEL NS IF: tcpdump on IF in namespace NS, failover port 647
# only, to $SYS_TMP/LABEL.pcap (packet-buffered, so kill -9 of a server
# loses nothing).  Does nothing without tcpdump or tshark: fo_cap_check
# then skips.
fo_cap_start() {
	command -v tcpdump >/dev/null 2>&1 && command -v "${TSHARK:-tshark}" >/dev/null 2>&1 || return 0
	proc_start "$1" ip netns exec "$(ns_name "$2")" tcpdump -i "$3" -U -n -s 0 -Z root \
		-w "$SYS_TMP/$1.pcap" tcp port 647
	wait_for 5 grep -q 'listening on' "$SYS_TMP/$1.out" 2>/dev/null
}

# fo_cap_check TAG LABEL SRC: stop capture LABEL and check with tshark that
# every failover message SRC (an IPv4 address) sent decodes as dhcpfo
# (-d tcp.port==647,dhcpfo): the TCP payload bytes SRC sent (first
# transmissions) add up to the message lengths tshark dissected in them, at
# least one message was seen, no frame of SRC's is malformed, and no expert
# item of warning or error severity is attached to them outside the TCP
# sequence group (resets and retransmissions after a kill -9 are normal).
# Two TAP lines; both "# SKIP" without tshark or tcpdump.
fo_cap_check() {
	tag=$1
	cap="$SYS_TMP/$2.pcap"
	src=$3
	ts=${TSHARK:-tshark}
	proc_stop "$2"
	if ! command -v "$ts" >/dev/null 2>&1 || ! command -v tcpdump >/dev/null 2>&1; then
		t_ok 0 "($tag) tshark: what $src sent decodes as dhcpfo # SKIP tshark or tcpdump not found"
		t_ok 0 "($tag) tshark: no malformed frame or expert warning from $src # SKIP tshark or tcpdump not found"
		return 0
	fi
	first="ip.src==$src && !tcp.analysis.retransmission && !tcp.analysis.fast_retransmission && !tcp.analysis.spurious_retransmission"
	"$ts" -r "$cap" -d tcp.port==647,dhcpfo -Y "$first && tcp.len > 0" -T fields -e tcp.len \
		>"$SYS_TMP/$2.tcplen" 2>"$SYS_TMP/$2.tshark.err"
	"$ts" -r "$cap" -d tcp.port==647,dhcpfo -Y "$first && dhcpfo" -T fields -E occurrence=a \
		-E aggregator=, -e dhcpfo.length -e dhcpfo.type >"$SYS_TMP/$2.fo" 2>>"$SYS_TMP/$2.tshark.err"
	bytes=$(awk '{ s += $1 } END { print s + 0 }' "$SYS_TMP/$2.tcplen")
	fobytes=$(cut -f1 "$SYS_TMP/$2.fo" | tr ',' '\n' | awk '{ s += $1 } END { print s + 0 }')
	nmsg=$(cut -f1 "$SYS_TMP/$2.fo" | tr ',' '\n' | grep -c '[0-9]')
	if [ "$bytes" -gt 0 ] && [ "$bytes" -eq "$fobytes" ]; then st=0; else st=1; fi
	t_ok $st "($tag) tshark: the $bytes bytes $src sent on port 647 are $nmsg whole dhcpfo messages ($fobytes bytes)" \
		"$SYS_TMP/$2.tshark.err"
	echo "# ($tag) $src sent (dhcpfo type:count): $(cut -f2 "$SYS_TMP/$2.fo" | tr ',' '\n' | grep '[0-9]' |
		sort -n | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')"
	"$ts" -r "$cap" -d tcp.port==647,dhcpfo -Y "ip.src==$src" -T fields -E occurrence=a -E aggregator='|' \
		-e frame.number -e _ws.malformed -e _ws.expert.severity -e _ws.expert.group -e _ws.expert.message \
		>"$SYS_TMP/$2.expert" 2>>"$SYS_TMP/$2.tshark.err"
	# severity >= 0x00600000 (warning), group 0x02000000 = TCP sequence
	awk -F'\t' '
		$2 != "" { print "frame " $1 ": malformed"; bad = 1 }
		{ ns = split($3, s, "|"); split($4, g, "|"); split($5, m, "|")
		  for (i = 1; i <= ns; i++)
			if (s[i] + 0 >= 6291456 && g[i] + 0 != 33554432) { print "frame " $1 ": " m[i]; bad = 1 } }
		END { exit bad }' "$SYS_TMP/$2.expert" >"$SYS_TMP/$2.problems"
	t_ok $? "($tag) tshark: no malformed frame and no expert warning in what $src sent" "$SYS_TMP/$2.problems"
}

# fo_peer_share DB ROLE FIRST LAST: the addresses of pool FIRST..LAST that
# the store DB (rackdhcpd's SQLite) holds as the peer's free share: BACKUP
# (7) rows when ROLE is primary; FREE (1) rows, or no row at all, when ROLE
# is secondary.  One "ADDRESS TSFP" a line (TSFP 0 without a row), sorted.
fo_peer_share() {
	sqlite3 "file:$1?mode=ro" "SELECT addr, state, tsfp FROM leases" 2>/dev/null |
		awk -F'|' -v role="$2" -v first="$3" -v last="$4" '
		function n(a,  p) { split(a, p, "."); return ((p[1] * 256 + p[2]) * 256 + p[3]) * 256 + p[4] }
		function d(x) { return sprintf("%d.%d.%d.%d", int(x / 16777216), int(x / 65536) % 256, int(x / 256) % 256, x % 256) }
		{ st[$1 + 0] = $2 + 0; ts[$1 + 0] = $3 + 0 }
		END {
			for (x = n(first); x <= n(last); x++)
				if (role == "primary" ? st[x] == 7 : (!(x in st) || st[x] == 1)) print d(x), ts[x] + 0
		}' | sort
}

# fo_takeover TAG NS IF DB SERVER ROLE FIRST LAST MCLT PEER_MAC: rackdhcpd
# (address SERVER, role ROLE, store DB) has just entered PARTNER-DOWN for the
# pool FIRST..LAST; clients are made with dhcp_dora on IF in namespace NS.
# Before STOS + MCLT, new clients get addresses until one is refused, and
# none of them gets one of the peer's share (fo_peer_share at entry); after
# it, a new client PEER_MAC (one that hashes to the dead peer) gets an
# address from SERVER, and new clients go on getting addresses until none is
# left: each address of the peer's share whose max(STOS, tsfp) + MCLT had
# passed must have been given, and none whose time had not come yet (ISC's
# rule: a lease the peer was last told of at tsfp waits for tsfp + MCLT).  Needs t_ok (TAP lines) and
# the check-free helpers above; MACs 52:54:00:fd:XX:NN are used, XX a per-call
# counter, so call it at most once per run for a given ROLE.
fo_takeover() {
	tag=$1 ns=$2 ifc=$3 db=$4 srv=$5 role=$6 first=$7 last=$8 mclt=$9
	shift 9
	pmac=$1
	stos=$(sqlite3 "file:$db?mode=ro" "SELECT stos FROM failover_state WHERE state = 4" 2>/dev/null | head -n 1)
	fo_peer_share "$db" "$role" "$first" "$last" >"$SYS_TMP/share.$$"
	share=$(cut -d' ' -f1 "$SYS_TMP/share.$$")
	echo "# ($tag) partner-down since ${stos:-?}; the peer's share (address tsfp): $(tr '\n' ' ' <"$SYS_TMP/share.$$")"
	if [ -n "$stos" ] && [ -n "$share" ]; then st=0; else st=1; fi
	t_ok $st "($tag) partner-down is persisted with its STOS, and the peer's share is not empty"
	[ "$role" = primary ] && pre=fd:01 || pre=fd:02
	size=$(($(echo "$last" | cut -d. -f4) - $(echo "$first" | cut -d. -f4) + 1))
	# A client asking for an address of the peer's share by option 50 must
	# not get it either (the requested-address path of the engine).
	want=$(echo "$share" | head -n 1)
	r=$(dhcp_dora "$ns" "$ifc" "$(printf '52:54:00:%s:%02x' $pre 200)" 6 "$want")
	echo "# ($tag) before MCLT, a client asking for $want: $r"
	case $r in "ACK $want "*) st=1 ;; *) st=0 ;; esac
	t_ok $st "($tag) before MCLT: a client asking for $want (the peer's) does not get it"
	i=0 refused=0 bad=''
	while [ $i -le "$size" ]; do
		i=$((i + 1))
		r=$(dhcp_dora "$ns" "$ifc" "$(printf '52:54:00:%s:%02x' $pre $i)" 6)
		echo "# ($tag) before MCLT, client $i: $r"
		case $r in
		ACK*) a=$(echo "$r" | cut -d' ' -f2)
			echo "$share" | grep -qx "$a" && bad="$bad $a" ;;
		*) refused=$(date +%s); break ;;
		esac
	done
	if [ -z "$bad" ]; then st=0; else st=1; fi
	t_ok $st "($tag) before MCLT: no new client got an address of the peer's share${bad:+ (got$bad)}"
	if [ "$refused" -gt 0 ] && [ "$refused" -lt $((stos + mclt)) ]; then st=0; else st=1; fi
	t_ok $st "($tag) before MCLT: once our own share is used up, a new client is refused"
	k=0
	while [ "$(date +%s)" -le $((stos + mclt)) ] && [ $k -lt $((mclt * 2 + 4)) ]; do
		sleep 0.5
		k=$((k + 1))
	done
	t_from=$(date +%s)
	r=$(dhcp_dora "$ns" "$ifc" "$pmac" 8)
	echo "# ($tag) after MCLT, $pmac: $r"
	taken=$(echo "$r" | awk '$1 == "ACK" { print $2 }')
	case $r in "ACK "*" $srv "*) st=0 ;; *) st=1 ;; esac
	t_ok $st "($tag) after MCLT: a new client that hashes to the dead peer ($pmac) gets an address from $srv"
	# ... and one asking for an address of the peer's share that is due gets it.
	want=$(awk -v s="$stos" -v m="$mclt" -v t="$t_from" '($2 > s ? $2 : s) + m < t { print $1 }' \
		"$SYS_TMP/share.$$" | grep -vx "${taken:-none}" | head -n 1)
	r=$(dhcp_dora "$ns" "$ifc" "$(printf '52:54:00:%s:%02x' $pre 201)" 6 "$want")
	echo "# ($tag) after MCLT, a client asking for $want: $r"
	case $r in "ACK $want "*) st=0 ;; *) st=1 ;; esac
	t_ok $st "($tag) after MCLT: a client asking for ${want:-?} (the peer's, due) gets it"
	[ $st -eq 0 ] && taken="$taken $want"
	j=0
	while [ $j -le "$size" ]; do
		j=$((j + 1))
		r=$(dhcp_dora "$ns" "$ifc" "$(printf '52:54:00:%s:%02x' $pre $((i + j)))" 6)
		echo "# ($tag) after MCLT, client $((i + j)): $r"
		case $r in ACK*) taken="$taken $(echo "$r" | cut -d' ' -f2)" ;; *) break ;; esac
	done
	t_to=$(date +%s)
	missing='' early='' n_due=0
	while read -r a ts; do
		due=$(( (ts > stos ? ts : stos) + mclt ))
		if [ "$due" -lt "$t_from" ]; then
			n_due=$((n_due + 1))
			echo " $taken " | grep -q " $a " || missing="$missing $a"
		elif [ "$due" -gt "$t_to" ]; then
			echo " $taken " | grep -q " $a " && early="$early $a"
		fi
	done <"$SYS_TMP/share.$$"
	if [ -z "$missing" ] && [ "$n_due" -gt 0 ]; then st=0; else st=1; fi
	t_ok $st "($tag) after MCLT: new clients got each of the $n_due addresses of the peer's share that were due${missing:+ (not$missing)}"
	if [ -z "$early" ]; then st=0; else st=1; fi
	t_ok $st "($tag) after MCLT: none whose max(STOS, tsfp) + MCLT had not passed${early:+ (got$early)}"
}
