#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# test_scenarios.sh — replay the client captures of tests/pcap/scenarios/
# through `rackdhcpd --replay` and hold the answers to each scenario's
# expectations (compare_answers.py; format in its header and in
# tests/pcap/README.md, "Replay scenarios").
#
# TAP: one line for compare_answers.py's self-test (it must tell right
# answers from wrong ones before it judges the server), then one line per
# scenario.  A failing scenario prints compare_answers.py's per-frame report
# and rackdhcpd's per-exchange lines as diagnostics.
#
# Needs /usr/bin/python3 with scapy (Debian's python3-scapy; override with
# RD_PYTHON) and a built rackdhcpd; without either the whole test is skipped
# with "1..0 # SKIP reason" and exit status 0 (automake's tap-driver.sh
# reports any non-zero status, 77 included, as an ERROR).  Environment (exported by `make check`): top_srcdir, top_builddir.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
: "${RD_PYTHON:=/usr/bin/python3}"
RACKDHCPD="$top_builddir/dhcpd/rackdhcpd"
DIR="$top_srcdir/tests/pcap/scenarios"
COMPARE="$top_srcdir/tests/pcap/compare_answers.py"
LINK=192.0.2.2

if ! "$RD_PYTHON" -c 'import scapy.layers.inet' >/dev/null 2>&1; then
	echo "1..0 # SKIP $RD_PYTHON has no scapy (apt install python3-scapy)"
	exit 0
fi
if [ ! -x "$RACKDHCPD" ]; then
	echo "1..0 # SKIP $RACKDHCPD not built"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rd-scenarios.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

set -- "$DIR"/*.expect
[ -e "$1" ] || { echo "1..0 # SKIP no scenario in $DIR"; exit 0; }
echo "1..$(($# + 1))"

diag() { sed 's/^/# /' "$1"; }

n=1
if "$RD_PYTHON" "$COMPARE" --selftest >"$tmp/selftest" 2>&1; then
	echo "ok 1 - compare_answers.py self-test"
else
	echo "not ok 1 - compare_answers.py self-test"
	diag "$tmp/selftest"
fi

for exp in "$@"; do
	n=$((n + 1))
	name=$(basename "$exp" .expect)
	out="$tmp/$name.answers.pcap"
	if ! "$RACKDHCPD" --replay "$DIR/$name.pcap" --config "$DIR/$name.yaml" \
		--link-address "$LINK" --write "$out" >"$tmp/$name.log" 2>&1; then
		echo "not ok $n - $name: rackdhcpd --replay failed"
		diag "$tmp/$name.log"
		continue
	fi
	if "$RD_PYTHON" "$COMPARE" "$DIR/$name.pcap" "$out" "$exp" >"$tmp/$name.tap" 2>&1; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		grep -v '^ok ' "$tmp/$name.tap" | sed 's/^/# /'
		echo "# rackdhcpd --replay said:"
		diag "$tmp/$name.log"
	fi
done
exit 0
