#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# import_isc.sh — `rackdhcpctl import-isc` on the files of a real ISC dhcpd.
#
# Part 1 (no root): a MAAS-style dhcpd.conf that Debian's ISC dhcpd accepts
# (`dhcpd -t`) is imported; usage errors exit 2; a broken file exits 1 and
# writes nothing.
#
# Part 2 (root, network namespaces, /usr/sbin/dhcpd, dhclient, sqlite3): an
# ISC failover pair in namespaces on one bridge, MAAS's failover settings
# (split 255) except an MCLT of 30 s so that recovery fits in a test:
#
#   pri  10.31.0.1/24 on p0   ISC dhcpd, primary of "failover-vlan-5001"
#   sec  10.31.0.2/24 on s0   ISC dhcpd, secondary
#   cli  br0 (p0's and s0's peers enslaved)   dhclient
#
# Both reach NORMAL, the client gets a lease, the primary is stopped and its
# dhcpd.conf and dhcpd.leases are imported: the client's lease is ACTIVE in
# the new leases.db with its MAC and failover times, and ISC's last failover
# state (NORMAL, with the STOS of ISC's last `failover peer ... state`
# record) is in leases.db's failover_state table and in the summary.  Then
# rackdhcpd starts in the primary's place with the imported files (plus a
# server section), starts from that stored state (not over in RECOVER) and
# pairs with the remaining ISC secondary until both are in NORMAL, without a
# RECOVER-WAIT (which would take the MCLT, 30 s), keeping the client's lease.
# The same lease file with a partner-down record and a record for an unknown
# relationship appended is imported as COMMUNICATIONS-INTERRUPTED, with a
# warning naming the unknown relationship's line.
#
# Skips what it cannot run (exit 77 when nothing can).  RD_KEEP_TMP=1 keeps
# the temp dir.  Every wait is bounded; part 2 takes under a minute.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
: "${RACKDHCPD:=$top_builddir/dhcpd/rackdhcpd}"
: "${RACKDHCPCTL:=$top_builddir/dhcpd/rackdhcpctl}"
: "${DHCLIENT:=$(command -v dhclient || echo /sbin/dhclient)}"
: "${DHCPD:=$(command -v dhcpd || echo /usr/sbin/dhcpd)}"

. "$top_srcdir/tests/sys/lib.sh"

[ -x "$RACKDHCPCTL" ] || skip_all "$RACKDHCPCTL not built"
RACKDHCPCTL=$(cd "$(dirname "$RACKDHCPCTL")" && pwd)/$(basename "$RACKDHCPCTL")
[ -x "$RACKDHCPD" ] && RACKDHCPD=$(cd "$(dirname "$RACKDHCPD")" && pwd)/$(basename "$RACKDHCPD")

check() {	# check DESCRIPTION CMD...: the servers' logs on failure
	d=$1
	shift
	if "$@"; then t_ok 0 "$d"; else t_ok 1 "$d" "$SYS_TMP/pri.out" "$SYS_TMP/sec.out" "$SYS_TMP/imp.out"; fi
}

sys_init import_isc

# maas_conf FILE ROLE ME PEER: what MAAS renders for one VLAN (maas-integration.md §1)
maas_conf() {
	{
		cat <<EOF
option arch code 93 = unsigned integer 16; # RFC4578
option path-prefix code 210 = text; #RFC5071
option space ipxe;
option ipxe-encap-opts code 175 = encapsulate ipxe;
option ipxe.http code 19 = unsigned integer 8;
option ipxe.bzimage code 24 = unsigned integer 8;
option ipxe.efi code 36 = unsigned integer 8;
class "PXE" {
   match if substring (option vendor-class-identifier, 0, 3) = "PXE";
   default-lease-time 30;
   max-lease-time 30;
}
default-lease-time 600;
max-lease-time 600;
ping-check false;
failover peer "failover-vlan-5001" {
    $2;
    address $3;
    peer address $4;
    max-response-delay 60;
    max-unacked-updates 10;
    load balance max seconds 3;
EOF
		[ "$2" = primary ] && printf '    mclt 30;\n    split 255;\n'
		cat <<EOF
}
shared-network vlan-5001 {
    subnet 10.31.0.0 netmask 255.255.255.0 {
           ignore-client-uids true;
           next-server $3;
           option subnet-mask 255.255.255.0;
           option broadcast-address 10.31.0.255;
           option domain-name-servers 10.31.0.1, 10.31.0.2;
           option domain-name "maas";
           option domain-search "maas";
           option routers 10.31.0.254;
           option ntp-servers $3, $4;
           if option user-class = "iPXE" {
               filename "http://$3:5248/ipxe.cfg";
           } elsif option arch = 00:07 {
               filename "bootx64.efi";
           } elsif option arch = 00:0B {
               filename "bootaa64.efi";
           } else {
               filename "lpxelinux.0";
               option path-prefix "http://$3:5248/";
           }
           pool {
              failover peer "failover-vlan-5001";
              range 10.31.0.100 10.31.0.149;
           }
    }
}
host node1-eth0-52-54-00-aa-bb-cc {
   hardware ethernet 52:54:00:aa:bb:cc;
   fixed-address 10.31.0.20;
}
EOF
	} >"$1"
}

# ------------------------------------------------------------------ part 1
maas_conf "$SYS_TMP/p1.conf" primary 10.31.0.1 10.31.0.2
if [ -x "$DHCPD" ]; then
	check "ISC dhcpd accepts the MAAS-style dhcpd.conf (dhcpd -t)" \
		sh -c '"$1" -t -4 -cf "$2" >"$3" 2>&1' - "$DHCPD" "$SYS_TMP/p1.conf" "$SYS_TMP/imp.out"
else
	echo "# $DHCPD not found: the ISC syntax check is skipped"
fi
"$RACKDHCPCTL" import-isc --conf "$SYS_TMP/p1.conf" --out "$SYS_TMP/p1" >"$SYS_TMP/imp.out" 2>&1
check "import-isc without a lease file exits 0" test $? -eq 0
check "... and writes rackdhcpd.yaml, leases.db and import-report.txt" \
	test -s "$SYS_TMP/p1/rackdhcpd.yaml" -a -s "$SYS_TMP/p1/leases.db" -a -f "$SYS_TMP/p1/import-report.txt"
check "... the summary counts 1 subnet, 1 pool, 1 reservation, 1 failover peer" \
	grep -q '1 subnet, 1 pool, 1 reservation, 1 failover peer' "$SYS_TMP/imp.out"
check "... and reports ping-check by its line" \
	grep -q "p1.conf:15: not converted: ping-check false;" "$SYS_TMP/p1/import-report.txt"
check "... and the boot methods missing from the chain are disabled" \
	grep -q 'disabled_boot_architectures: \[onie, uefi_amd64_http, uefi_ebc_tftp, uefi_arm64_http, open-firmware_ppc64el, powernv, s390x, s390x_partition\]' "$SYS_TMP/p1/rackdhcpd.yaml"
if [ -x "$RACKDHCPD" ]; then
	check "rackdhcpd --check-config accepts the YAML" \
		sh -c '"$1" --check-config "$2" >>"$3" 2>&1' - "$RACKDHCPD" "$SYS_TMP/p1/rackdhcpd.yaml" "$SYS_TMP/imp.out"
fi
"$RACKDHCPCTL" import-isc --conf "$SYS_TMP/p1.conf" >/dev/null 2>&1
check "no --out: usage error (exit 2)" test $? -eq 2
"$RACKDHCPCTL" import-isc --conf "$SYS_TMP/p1.conf" --out "$SYS_TMP/p1" >"$SYS_TMP/imp.out" 2>&1
check "a second import into the same DIR is refused (exit 1)" test $? -eq 1
printf 'subnet 10.0.0.0 netmask 255.255.255.0 {\n  range 10.0.0.5 10.0.0.9\n}\n' >"$SYS_TMP/bad.conf"
"$RACKDHCPCTL" import-isc --conf "$SYS_TMP/bad.conf" --out "$SYS_TMP/bad" >"$SYS_TMP/imp.out" 2>&1
rc=$?
check "a broken dhcpd.conf exits 1 with FILE:LINE" \
	sh -c '[ "$1" -eq 1 ] && grep -q "bad.conf:3: missing .;. before .}." "$2"' - $rc "$SYS_TMP/imp.out"
check "... and writes nothing" test ! -e "$SYS_TMP/bad/rackdhcpd.yaml" -a ! -e "$SYS_TMP/bad/leases.db"

# ------------------------------------------------------------------ part 2
part2() {
	[ "$(id -u)" -eq 0 ] || { echo "# not root: the live ISC pair is skipped"; return; }
	[ -x "$DHCPD" ] || { echo "# $DHCPD not found: the live ISC pair is skipped"; return; }
	[ -x "$DHCLIENT" ] || { echo "# dhclient not found: the live ISC pair is skipped"; return; }
	[ -x "$RACKDHCPD" ] || { echo "# $RACKDHCPD not built: the live ISC pair is skipped"; return; }
	command -v sqlite3 >/dev/null 2>&1 || { echo "# sqlite3 not found: the live ISC pair is skipped"; return; }
	if ! (need_netns) >/dev/null 2>&1; then
		echo "# network namespaces unavailable: the live ISC pair is skipped"
		return
	fi
	ns_create pri && ns_create sec && ns_create cli || { echo "Bail out! cannot create namespaces"; exit 99; }
	CLI=$(ns_name cli)
	veth_create pri p0 cli cp && veth_create sec s0 cli cs || { echo "Bail out! cannot create veth pairs"; exit 99; }
	ip -n "$CLI" link add br0 type bridge || { echo "Bail out! cannot create the bridge"; exit 99; }
	ip -n "$CLI" link set br0 type bridge stp_state 0 forward_delay 0 2>/dev/null
	ip -n "$CLI" link set cp master br0
	ip -n "$CLI" link set cs master br0
	ip -n "$CLI" link set br0 address 52:54:00:fb:00:01
	ip -n "$CLI" link set br0 up
	ns_addr pri p0 10.31.0.1/24
	ns_addr sec s0 10.31.0.2/24

	mkdir -p "$SYS_TMP/pri" "$SYS_TMP/sec"
	maas_conf "$SYS_TMP/pri/dhcpd.conf" primary 10.31.0.1 10.31.0.2
	maas_conf "$SYS_TMP/sec/dhcpd.conf" secondary 10.31.0.2 10.31.0.1
	: >"$SYS_TMP/pri/dhcpd.leases"
	: >"$SYS_TMP/sec/dhcpd.leases"
	for n in pri sec; do
		ifc=p0
		[ $n = sec ] && ifc=s0
		proc_start $n ip netns exec "$(ns_name $n)" "$DHCPD" -4 -f -d -cf "$SYS_TMP/$n/dhcpd.conf" \
			-lf "$SYS_TMP/$n/dhcpd.leases" -pf "$SYS_TMP/$n/dhcpd.pid" $ifc
	done
	check "the ISC pair reaches NORMAL" wait_for 30 sh -c '
		for f in "$1" "$2"; do
			grep -E "failover peer failover-vlan-5001: I move from" "$f" | tail -n 1 | grep -q " to normal\$" || exit 1
		done' - "$SYS_TMP/pri.out" "$SYS_TMP/sec.out"

	cat >"$SYS_TMP/dhclient-script" <<'EOF'
#!/bin/sh
echo "$reason ${new_ip_address:-}" >>"$RD_LOG"
case $reason in
PREINIT) ip link set "$interface" up ;;
BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
esac
exit 0
EOF
	chmod +x "$SYS_TMP/dhclient-script"
	printf 'timeout 20;\ninitial-interval 1;\nbackoff-cutoff 2;\n' >"$SYS_TMP/dhclient.conf"
	: >"$SYS_TMP/cli.events"
	proc_start cl timeout -k 2 120 ip netns exec "$CLI" "$DHCLIENT" -4 -d -e RD_LOG="$SYS_TMP/cli.events" \
		-cf "$SYS_TMP/dhclient.conf" -sf "$SYS_TMP/dhclient-script" -lf "$SYS_TMP/cli.leases" \
		-pf "$SYS_TMP/cli.pid" br0
	check "the client gets a lease from the ISC pair" wait_for 30 grep -qE '^(BOUND|REBOOT) ' "$SYS_TMP/cli.events"
	ADDR=$(grep -E '^(BOUND|REBOOT) ' "$SYS_TMP/cli.events" | tail -n 1 | cut -d' ' -f2)
	echo "# client 52:54:00:fb:00:01 bound $ADDR"
	check "ISC's dhcpd.leases has the lease and the failover state" wait_for 10 sh -c \
		'grep -q "^lease $1 " "$2" && grep -q "my state normal" "$2"' - "$ADDR" "$SYS_TMP/pri/dhcpd.leases"
	proc_stop pri
	cp "$SYS_TMP/pri/dhcpd.leases" "$SYS_TMP/isc-primary.leases"

	"$RACKDHCPCTL" import-isc --conf "$SYS_TMP/pri/dhcpd.conf" --leases "$SYS_TMP/pri/dhcpd.leases" \
		--out "$SYS_TMP/imp" >"$SYS_TMP/imp.out" 2>&1
	check "import-isc of the live primary's files exits 0" test $? -eq 0
	sed 's/^/# /' "$SYS_TMP/imp.out" | tail -n 8
	ipint() { echo "$1" | awk -F. '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }'; }
	q() { sqlite3 "file:$SYS_TMP/imp/leases.db?mode=ro" "$1" 2>/dev/null; }
	check "the client's lease is ACTIVE in leases.db with its MAC" test "$(q "SELECT count(*) FROM leases WHERE
		addr = $(ipint "$ADDR") AND state = 2 AND hex(chaddr) = '525400FB0001'")" = 1
	check "... with starts, ends, tstp and cltt set" test "$(q "SELECT starts > 0 AND ends > starts AND tstp > 0 AND
		cltt > 0 FROM leases WHERE addr = $(ipint "$ADDR")")" = 1
	check "the report shows ISC's failover state" \
		grep -q 'failover peer "failover-vlan-5001": my state normal' "$SYS_TMP/imp/import-report.txt"
	# ISC's last state record: "my state normal at W YYYY/MM/DD HH:MM:SS;" (UTC)
	stos=$(sed -n 's/^ *my state [a-z-]* at [0-6] \([0-9/]* [0-9:]*\);$/\1/p' "$SYS_TMP/isc-primary.leases" |
		tail -n 1)
	stos=$(date -u -d "$stos" +%s 2>/dev/null || echo none)
	echo "# ISC's last my-state STOS: $stos"
	check "failover_state holds ISC's NORMAL with its STOS, partner NORMAL, MCLT 30" test "$(q "SELECT count(*)
		FROM failover_state WHERE name = 'failover-vlan-5001' AND state = 2 AND partner = 2 AND
		stos = '$stos' AND partner_stos > 0 AND mclt = 30")" = 1
	check "the summary lists the imported state" sh -c 'grep -q "^failover state: 1 of 1 relationship imported" "$1" &&
		grep -q "^failover peer \"failover-vlan-5001\": my state normal since .*: imported as normal\$" "$1"' - \
		"$SYS_TMP/imp.out"

	# a partner-down record is not carried over; an unknown relationship is a warning by line
	cp "$SYS_TMP/isc-primary.leases" "$SYS_TMP/pd.leases"
	printf 'failover peer "failover-vlan-5001" state {\n  my state partner-down at 4 2026/11/26 10:00:00;\n}\n' \
		>>"$SYS_TMP/pd.leases"
	pdline=$(($(wc -l <"$SYS_TMP/pd.leases") + 1))
	printf 'failover peer "vlan-9" state {\n  my state normal at 4 2026/11/26 10:00:00;\n}\n' >>"$SYS_TMP/pd.leases"
	"$RACKDHCPCTL" import-isc --conf "$SYS_TMP/pri/dhcpd.conf" --leases "$SYS_TMP/pd.leases" \
		--out "$SYS_TMP/pd" >"$SYS_TMP/imp2.out" 2>&1
	check "import-isc of a lease file ending in partner-down exits 0" test $? -eq 0
	check "... failover_state holds COMMUNICATIONS-INTERRUPTED with partner-down's STOS" \
		test "$(sqlite3 "file:$SYS_TMP/pd/leases.db?mode=ro" "SELECT state, stos FROM failover_state
		WHERE name = 'failover-vlan-5001'" 2>/dev/null)" = "3|$(date -u -d '2026/11/26 10:00:00' +%s)"
	check "... and the unknown relationship is reported by line, not stored" sh -c 'grep -q "pd.leases:$1: not converted: failover peer \"vlan-9\" state { ... } -- no failover peer of that name" "$2" &&
		test "$(sqlite3 "file:$3?mode=ro" "SELECT count(*) FROM failover_state" 2>/dev/null)" = 1' - \
		"$pdline" "$SYS_TMP/imp2.out" "$SYS_TMP/pd/leases.db"

	# rackdhcpd in the primary's place: the imported files plus a server section
	cat >>"$SYS_TMP/imp/rackdhcpd.yaml" <<EOF
server:
  interfaces: [p0]
  state_dir: $SYS_TMP/imp
  control_socket: $SYS_TMP/imp/ctl/control.sock
  pidfile: $SYS_TMP/imp/rackdhcpd.pid
  workers: 1
EOF
	proc_start pri ip netns exec "$(ns_name pri)" "$RACKDHCPD" -c "$SYS_TMP/imp/rackdhcpd.yaml" -f
	check "rackdhcpd starts with the imported files" wait_for 20 grep -q 'serving on' "$SYS_TMP/pri.out"
	check "... from ISC's stored state, not over in recover" sh -c '
		grep -q "failover failover-vlan-5001: primary, stored state\$" "$1" &&
		grep -q "stored state normal since $2, peer normal" "$1" && ! grep -q "no stored state" "$1"' - \
		"$SYS_TMP/pri.out" "$stos"
	# MCLT is 30 s: a RECOVER-WAIT could not end within 20 s
	check "rackdhcpd and the remaining ISC secondary reach NORMAL within 20 s" wait_for 20 sh -c '
		grep -E "failover failover-vlan-5001: I move from" "$1" | tail -n 1 | grep -q " to normal\$" &&
		grep -E "failover peer failover-vlan-5001: I move from" "$2" | tail -n 1 | grep -q " to normal\$"' - \
		"$SYS_TMP/pri.out" "$SYS_TMP/sec.out"
	check "... without RECOVER or RECOVER-WAIT on rackdhcpd's side" sh -c \
		'! grep -E "failover failover-vlan-5001: I move from .* to recover" "$1"' - "$SYS_TMP/pri.out"
	check "the client's lease is still ACTIVE in rackdhcpd's store" test "$(q "SELECT count(*) FROM leases WHERE
		addr = $(ipint "$ADDR") AND state = 2 AND hex(chaddr) = '525400FB0001'")" = 1
	grep -hE 'failover (peer )?failover-vlan-5001' "$SYS_TMP/pri.out" "$SYS_TMP/sec.out" | grep 'I move' |
		sed 's/^/# /' | tail -n 12
	proc_stop cl
	proc_stop pri
	proc_stop sec
}
part2

echo "1..$T"
[ "$FAILED" -eq 0 ]
