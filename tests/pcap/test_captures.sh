#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# test_captures.sh — hold the DHCP codec to Wireshark's reading of real and
# generated captures.  For every capture in $RD_SHARED_PCAPS (public
# captures kept beside the project, never copied into it) and every fixture
# committed under tests/pcap/, four TAP checks:
#
#   roundtrip  every DHCP packet that parses survives builder_from + build +
#              parse with all header fields and joined options intact
#              (pcap_check roundtrip);
#   frames     we and tshark consider the same frames to be DHCP (IPv4 UDP
#              port 67/68), so nothing is skipped silently;
#   fields     for packets tshark decodes without an error (no malformed
#              exception, no error-severity expert item, not cut short by the
#              capture), our fields equal tshark's (pcap_check fields, see its
#              header for the columns and their formatting);
#   rejects    every packet we refuse is one tshark flags too (malformed,
#              expert error or warning, or cut short), unless ALLOW below
#              names it with the reason.
#
# tshark is run once per capture.  Its output is post-processed so it has
# the shape pcap_check prints: multi-occurrence fields (-E occurrence=a) keep
# only their first value where the field is a single header field (option 61
# and DOCSIS sub-TLVs repeat dhcp.hw.type & co.), and dhcp.option.type
# becomes the sorted set of codes without pad and end (Wireshark lists
# overloaded options at the position of option 52, we list them RFC 3396
# fashion after the options field; the set is what both must agree on).
#
# Checksums are not the subject here (frame.c has unit tests for them):
# pcap_check runs with --no-ip-csum, since captures taken on the sending host
# show offloaded IPv4 and UDP checksums as 0, and tshark does not verify them
# by default either.
#
# Environment (exported by `make check`): top_srcdir, top_builddir,
# RD_SHARED_PCAPS, TSHARK.  Missing captures or tshark give TAP skips.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
: "${RD_SHARED_PCAPS:=}"
: "${TSHARK:=}"
PCAP_CHECK="$top_builddir/tests/pcap/pcap_check"

# Frames we refuse although tshark does not flag them, one per line:
#   <capture basename> <frame> <reason>
# Each needs a reason a reviewer can check; an entry that no longer matches a
# refusal is harmless but should be pruned.
ALLOW='
malformed.pcap 5 option 119 compression pointer loops onto itself: tshark 4.0 prints "<Name contains a pointer that loops>" in the tree but adds no expert item or malformed flag
tcpdump__dhcp-option-33.pcap 5 option 33 of length 0: RFC 2132 5.8 says the minimum length is 8; tshark shows the empty option without complaint, tcpdump prints "[length != N x 8 bytes]"
'

# The tshark fields, in pcap_check's column order, each with how its
# multi-occurrence output is folded: f = first value, a = all values,
# s = string (taken whole: it may contain commas), t = option-code set.
FIELDS='frame.number f
dhcp.type f
dhcp.hw.type f
dhcp.hw.len f
dhcp.hops f
dhcp.id f
dhcp.secs f
dhcp.flags f
dhcp.ip.client f
dhcp.ip.your f
dhcp.ip.server f
dhcp.ip.relay f
dhcp.hw.mac_addr f
dhcp.server s
dhcp.file s
dhcp.cookie f
dhcp.option.dhcp f
dhcp.option.requested_ip_address f
dhcp.option.dhcp_server_id f
dhcp.option.ip_address_lease_time f
dhcp.option.renewal_time_value f
dhcp.option.rebinding_time_value f
dhcp.option.subnet_mask f
dhcp.option.router a
dhcp.option.domain_name_server a
dhcp.option.domain_name s
dhcp.option.hostname s
dhcp.option.vendor_class_id s
dhcp.option.dhcp_max_message_size f
dhcp.option.option_overload f
dhcp.option.request_list_item a
dhcp.option.agent_information_option.agent_circuit_id f
dhcp.option.agent_information_option.agent_remote_id f
dhcp.option.type t'

n=0
failed=0
tap() {	# tap STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
diag() { sed 's/^/# /'; }

if [ ! -x "$PCAP_CHECK" ]; then
	echo "1..0 # SKIP $PCAP_CHECK not built"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_captures.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

tshark_args=
names=
modes=
for_fields() { printf '%s\n' "$FIELDS"; }
tshark_args=$(for_fields | awk '{printf " -e %s", $1}')
names=$(for_fields | awk '{printf "%s%s", sep, $1; sep = " "}')
modes=$(for_fields | awk '{printf "%s", $2}')

# tshark output -> "$tmp/t.fields" (pcap_check's shape) and "$tmp/t.flags"
# (frame, error flag, warning flag).
fold_tshark() {
	awk -F '\t' -v OFS='\t' -v modes="$modes" -v names="$names" -v fl="$tmp/t.flags" '
	BEGIN { split(names, name_at, " ") }
	{
		nf = length(modes)
		line = ""
		for (i = 1; i <= nf; i++) {
			m = substr(modes, i, 1); v = $i
			if (m == "f") {
				sub(/,.*/, "", v)
			} else if (m == "t") {
				k = split(v, c, ","); delete seen; v = ""
				for (j = 1; j <= k; j++)
					if (c[j] != "" && c[j] != 0 && c[j] != 255)
						seen[c[j] + 0] = 1
				for (code = 1; code < 255; code++)
					if (code in seen)
						v = v (v == "" ? "" : ",") code
			}
			# Wireshark shows a secs of 0xNN00 byte-swapped (as sent by some
			# Windows clients) and says so in a note; we report the wire value.
			if (name_at[i] == "dhcp.secs" && index($(nf + 4), "Seconds elapsed appears to be encoded as little-endian"))
				v = (v % 256) * 256 + int(v / 256)
			line = line (i > 1 ? OFS : "") v
		}
		print line
		err = ($(nf + 1) != "" || $(nf + 3) != "")
		warn = err
		k = split($(nf + 2), s, ",")
		for (j = 1; j <= k; j++) {
			if (s[j] + 0 >= 8388608) err = 1
			if (s[j] + 0 >= 6291456) warn = 1
		}
		print $1, err, warn > fl
	}'
}

in_allow() {	# in_allow CAPTURE FRAME -> prints the reason, status 0 if listed
	printf '%s\n' "$ALLOW" | awk -v c="$1" -v f="$2" '
		$1 == c && $2 == f { $1 = ""; $2 = ""; sub(/^ +/, ""); print; found = 1 }
		END { exit !found }'
}

check_capture() {	# check_capture PATH LABEL
	f=$1
	label=$2
	base=$(basename "$f")

	# (a) roundtrip
	"$PCAP_CHECK" --no-ip-csum roundtrip "$f" >"$tmp/rt" 2>&1
	rc=$?
	total=$(grep -c '^ok\|^not ok' "$tmp/rt")
	bad=$(grep -c '^not ok' "$tmp/rt")
	if [ $rc -eq 0 ] || { [ $rc -eq 1 ] && [ "$bad" -gt 0 ]; }; then
		if [ "$bad" -eq 0 ]; then
			tap ok "$label: roundtrip of $total packets"
		else
			tap "not ok" "$label: roundtrip: $bad of $total packets differ"
			awk '/^not ok/ { show = 1; print; next } /^ok/ { show = 0 } show && /^#/' \
				"$tmp/rt" | sed 's/^# /  /' | head -n 60 | diag
		fi
	else
		tap "not ok" "$label: roundtrip: pcap_check exited $rc"
		tail -n 20 "$tmp/rt" | diag
	fi

	"$PCAP_CHECK" --no-ip-csum fields "$f" >"$tmp/ours" 2>"$tmp/ours.err"
	rc=$?
	if [ $rc -ne 0 ]; then
		tap "not ok" "$label: pcap_check fields exited $rc"
		diag <"$tmp/ours.err"
		return
	fi

	if [ -z "$TSHARK" ] || [ ! -x "$TSHARK" ]; then
		skip "$label: frames seen by tshark" "tshark not found"
		skip "$label: fields equal tshark's" "tshark not found"
		skip "$label: rejects flagged by tshark" "tshark not found"
		return
	fi

	# shellcheck disable=SC2086 # tshark_args is a list of -e options
	if ! "$TSHARK" -n -r "$f" \
		-Y 'udp.port in {67,68} && !icmp' -T fields -E separator=/t \
		-E occurrence=a -E aggregator=, -E quote=n $tshark_args \
		-e _ws.malformed -e _ws.expert.severity -e _ws.short -e _ws.expert.message \
		>"$tmp/t.raw" 2>"$tmp/t.err"; then
		tap "not ok" "$label: tshark failed"
		diag <"$tmp/t.err"
		return
	fi
	fold_tshark <"$tmp/t.raw" >"$tmp/t.fields"

	# (d) the same frames
	cut -f1 "$tmp/ours" >"$tmp/ours.frames"
	cut -f1 "$tmp/t.fields" >"$tmp/t.frames"
	frames=$(wc -l <"$tmp/t.frames" | tr -d ' ')
	if cmp -s "$tmp/ours.frames" "$tmp/t.frames"; then
		tap ok "$label: the same $frames DHCP frames as tshark"
	else
		tap "not ok" "$label: DHCP frames differ from tshark's (- tshark, + ours)"
		diff "$tmp/t.frames" "$tmp/ours.frames" | grep '^[<>]' |
			sed 's/^</- frame/; s/^>/+ frame/' | head -n 40 | diag
	fi

	# (b) fields of the packets tshark decodes cleanly and we accept
	awk -F '\t' -v names="$names" -v tf="$tmp/t.fields" -v fl="$tmp/t.flags" '
		BEGIN {
			split(names, name, " ")
			while ((getline l < tf) > 0) { split(l, a, "\t"); t[a[1]] = l }
			while ((getline l < fl) > 0) { split(l, a, "\t"); err[a[1]] = a[2] }
		}
		$2 ~ /^ERROR / { next }
		!($1 in t) || err[$1] { next }
		{
			compared++
			if ($0 == t[$1]) next
			bad++
			k = split(t[$1], tv, "\t")
			for (i = 1; i <= (NF > k ? NF : k); i++)
				if ($i != tv[i])
					printf "frame %s %s: tshark \"%s\", ours \"%s\"\n", $1, name[i], tv[i], $i > "/dev/stderr"
		}
		END { printf "%d %d\n", compared, bad }' "$tmp/ours" >"$tmp/cmp" 2>"$tmp/cmp.diff"
	read -r compared bad <"$tmp/cmp"
	if [ "$bad" -eq 0 ]; then
		tap ok "$label: fields of $compared packets equal tshark's"
	else
		tap "not ok" "$label: fields of $bad of $compared packets differ from tshark's"
		head -n 60 "$tmp/cmp.diff" | diag
	fi

	# (c) what we refuse, tshark flags
	: >"$tmp/rej.diff"
	: >"$tmp/rej.allowed"
	rejected=0
	unflagged=0
	grep "$(printf '^[0-9]*\tERROR ')" "$tmp/ours" >"$tmp/rej" || true
	while IFS="$(printf '\t')" read -r frame why; do
		rejected=$((rejected + 1))
		warn=$(awk -F '\t' -v f="$frame" '$1 == f { print $3 }' "$tmp/t.flags")
		[ "$warn" = 1 ] && continue
		if reason=$(in_allow "$base" "$frame"); then
			echo "frame $frame allowed: $why ($reason)" >>"$tmp/rej.allowed"
			continue
		fi
		unflagged=$((unflagged + 1))
		echo "frame $frame: we say $why; tshark sees no error" >>"$tmp/rej.diff"
	done <"$tmp/rej"
	if [ "$unflagged" -eq 0 ]; then
		tap ok "$label: all $rejected refused packets are flagged by tshark"
		diag <"$tmp/rej.allowed"
	else
		tap "not ok" "$label: $unflagged of $rejected refused packets look fine to tshark"
		head -n 40 "$tmp/rej.diff" | diag
	fi
}

captures=0
if [ -n "$RD_SHARED_PCAPS" ] && [ -d "$RD_SHARED_PCAPS" ]; then
	for f in "$RD_SHARED_PCAPS"/*.pcap "$RD_SHARED_PCAPS"/*.pcapng "$RD_SHARED_PCAPS"/*.cap \
		 "$RD_SHARED_PCAPS"/derived/*.pcap "$RD_SHARED_PCAPS"/derived/*.pcapng \
		 "$RD_SHARED_PCAPS"/derived/*.cap; do
		[ -f "$f" ] || continue
		captures=$((captures + 1))
		check_capture "$f" "shared:${f#"$RD_SHARED_PCAPS"/}"
	done
else
	skip "shared captures" "RD_SHARED_PCAPS (${RD_SHARED_PCAPS:-unset}) is not a directory"
fi

for f in "$top_srcdir"/tests/pcap/*.pcap; do
	[ -f "$f" ] || continue
	captures=$((captures + 1))
	check_capture "$f" "fixture:$(basename "$f")"
done

if [ "$captures" -eq 0 ]; then
	echo "1..0 # SKIP no capture found"
	exit 0
fi
echo "1..$n"
[ "$failed" -eq 0 ]
