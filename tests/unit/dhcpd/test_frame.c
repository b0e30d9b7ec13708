/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_frame.c — unit tests for dhcpd/frame.c: Ethernet/802.1Q/IPv4/UDP
 * parsing and building.
 *
 * Checksums are checked against vectors computed by hand outside the code
 * under test (the classic IPv4 header example with checksum 0xb861, and a
 * small UDP datagram worked out word by word), so a symmetric bug in build
 * and parse cannot hide behind a round trip.  The rest: round trips with and
 * without a VLAN tag, Ethernet padding, every refusal the policy in frame.h
 * lists, and every truncated prefix of a frame.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rackdhcp/frame.h"
#include "rackdhcp/wire.h"
#include "tap.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static const rd_frame_hdr_t hdr_plain = {
	.eth_dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	.eth_src = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
	.ip_src = IP(192, 168, 0, 1),
	.ip_dst = IP(192, 168, 0, 199),
	.ip_id = 0,
	.sport = RD_DHCP_SERVER_PORT,
	.dport = RD_DHCP_CLIENT_PORT,
};

/* Recompute the IPv4 header checksum after a test edited the header. */
static void fix_ip_csum(uint8_t *frame, size_t len, size_t ip_off)
{
	rd_wire_t w = rd_wire_init(frame, len);
	size_t ihl = (size_t)(frame[ip_off] & 0x0f) * 4;

	rd_wire_patch_u16(&w, ip_off + 10, 0);
	rd_wire_patch_u16(&w, ip_off + 10, rd_csum_fold(rd_wire_csum_add(&w, ip_off, ihl, 0)));
}

static void fill_payload(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + 3);
}

static bool reason_has(const rd_diag_t *d, const char *s)
{
	return strstr(d->reason, s) != NULL;
}

static void test_known_vectors(void)
{
	/*
	 * The well-known IPv4 header example (e.g. the Wikipedia "IPv4 header
	 * checksum" article): 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7.
	 * Total length 0x73 = 115, so a UDP payload of 115 - 28 = 87 bytes.
	 */
	static const uint8_t want_ip[20] = {
		0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
	};
	uint8_t payload[87], frame[200];
	fill_payload(payload, sizeof(payload));
	int n = rd_frame_build(frame, sizeof(frame), &hdr_plain, payload, sizeof(payload));
	is_int(n, 14 + 20 + 8 + 87, "known vector: frame length");
	is_mem(frame + 14, 20, want_ip, 20, "IPv4 header matches the textbook example, checksum 0xb861");

	/*
	 * UDP worked by hand: 192.168.0.1 -> 192.168.0.199, 67 -> 68, payload
	 * "hi".  Words: c0a8 0001 c0a8 00c7 0011 000a | 0043 0044 000a 0000 6869
	 * sum 0x1eb2d, folded 0xeb2e, complement 0x14d1.
	 */
	static const uint8_t udp_hi[10] = { 0x00, 0x43, 0x00, 0x44, 0x00, 0x0a, 0x00, 0x00, 'h', 'i' };
	is_int(rd_udp_checksum(IP(192, 168, 0, 1), IP(192, 168, 0, 199), udp_hi, sizeof(udp_hi)),
	       0x14d1, "rd_udp_checksum: hand-computed vector 0x14d1");
	/* The checksum field is not summed: passing the finished datagram gives the same. */
	static const uint8_t udp_hi_done[10] = { 0x00, 0x43, 0x00, 0x44, 0x00, 0x0a, 0x14, 0xd1, 'h', 'i' };
	is_int(rd_udp_checksum(IP(192, 168, 0, 1), IP(192, 168, 0, 199), udp_hi_done, 10),
	       0x14d1, "rd_udp_checksum ignores the checksum field's current value");

	n = rd_frame_build(frame, sizeof(frame), &hdr_plain, (const uint8_t *)"hi", 2);
	is_int(n, 60, "2-byte payload padded to 60");
	is_mem(frame + 34, 10, udp_hi_done, 10, "built UDP header and payload match the hand vector");

	/* Payload 7d3a makes the sum 0xffff: the checksum is 0, sent as 0xffff. */
	static const uint8_t udp_zero[10] = { 0x00, 0x43, 0x00, 0x44, 0x00, 0x0a, 0x00, 0x00, 0x7d, 0x3a };
	is_int(rd_udp_checksum(IP(192, 168, 0, 1), IP(192, 168, 0, 199), udp_zero, 10),
	       0xffff, "computed checksum 0 is returned as 0xffff");
	n = rd_frame_build(frame, sizeof(frame), &hdr_plain, udp_zero + 8, 2);
	is_int(frame[40] << 8 | frame[41], 0xffff, "built frame carries 0xffff for a computed 0");
	rd_frame_t f;
	rd_diag_t d;
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, (size_t)n, 0, &f, &d), 0, "0xffff checksum verifies");
}

static void test_round_trip(bool vlan)
{
	rd_frame_hdr_t h = hdr_plain;
	uint8_t payload[300], frame[400];
	rd_frame_t f;
	rd_diag_t d;
	const char *tag = vlan ? "vlan" : "plain";

	h.vlan = vlan;
	h.vlan_tci = 0x2064;    /* PCP 1, VID 100 */
	h.ip_src = IP(10, 0, 0, 1);
	h.ip_dst = IP(10, 0, 0, 77);
	h.ip_id = 0x1234;
	h.tos = 0x10;
	h.ttl = 0;              /* default */
	h.eth_dst[0] = 0x02;
	fill_payload(payload, sizeof(payload));

	size_t hl = rd_frame_hdr_len(&h);
	is_int(hl, vlan ? 46 : 42, "%s: header length", tag);
	int n = rd_frame_build(frame, sizeof(frame), &h, payload, sizeof(payload));
	is_int(n, (long long)(hl + sizeof(payload)), "%s: frame length", tag);

	rd_diag_clear(&d);
	int r = rd_frame_parse_eth(frame, (size_t)n, 0, &f, &d);
	if (!is_int(r, 0, "%s: parses", tag))
		diag("reason: %s", d.reason);
	is_mem(f.eth.dst, 6, h.eth_dst, 6, "%s: eth dst", tag);
	is_mem(f.eth.src, 6, h.eth_src, 6, "%s: eth src", tag);
	is_int(f.eth.vlan, vlan, "%s: vlan flag", tag);
	is_int(f.eth.vlan_tci, vlan ? 0x2064 : 0, "%s: tci", tag);
	is_int(f.eth.ethertype, RD_ETH_P_IP, "%s: inner ethertype", tag);
	is_int(f.ip.src, IP(10, 0, 0, 1), "%s: ip src", tag);
	is_int(f.ip.dst, IP(10, 0, 0, 77), "%s: ip dst", tag);
	is_int(f.ip.ttl, 64, "%s: default TTL 64", tag);
	is_int(f.ip.tos, 0x10, "%s: tos", tag);
	is_int(f.ip.id, 0x1234, "%s: id", tag);
	is_int(f.ip.df, 1, "%s: DF set", tag);
	is_int(f.ip.ihl, 20, "%s: no IP options", tag);
	is_int(f.ip.proto, RD_IPPROTO_UDP, "%s: proto", tag);
	is_int(f.ip.total_len, 28 + sizeof(payload), "%s: total length", tag);
	is_int(f.udp.sport, 67, "%s: sport", tag);
	is_int(f.udp.dport, 68, "%s: dport", tag);
	is_int(f.udp.len, 8 + sizeof(payload), "%s: udp len", tag);
	ok(f.udp.csum != 0, "%s: UDP checksum filled in", tag);
	is_mem(f.payload, f.payload_len, payload, sizeof(payload), "%s: payload", tag);
	ok(f.payload == frame + hl, "%s: payload is a view into the frame", tag);

	/* Raw-IP entry point on the same bytes. */
	rd_diag_clear(&d);
	r = rd_frame_parse_ipv4(frame + (hl - 28), (size_t)n - (hl - 28), 0, &f, &d);
	is_int(r, 0, "%s: parse from the IPv4 header", tag);
	is_int(f.eth.ethertype, 0, "%s: eth zeroed for raw IP", tag);
	is_mem(f.payload, f.payload_len, payload, sizeof(payload), "%s: raw-IP payload", tag);

	/* Explicit TTL is honoured. */
	h.ttl = 1;
	n = rd_frame_build(frame, sizeof(frame), &h, payload, 10);
	rd_diag_clear(&d);
	r = rd_frame_parse_eth(frame, (size_t)n, 0, &f, &d);
	is_int(r == 0 ? f.ip.ttl : -1, 1, "%s: explicit TTL", tag);
}

static void test_padding(void)
{
	uint8_t frame[128], payload[4] = { 1, 2, 3, 4 };
	static const uint8_t zeros[64];
	rd_frame_t f;
	rd_diag_t d;

	memset(frame, 0xaa, sizeof(frame));
	int n = rd_frame_build(frame, sizeof(frame), &hdr_plain, payload, sizeof(payload));
	is_int(n, 60, "short frame padded to 60");
	is_mem(frame + 46, 14, zeros, 14, "padding is zeros, not stale buffer bytes");
	is_int(frame[60], 0xaa, "nothing written past the frame");
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, 60, 0, &f, &d), 0, "padded frame parses");
	is_int(f.payload_len, 4, "padding is not payload");
	is_int(f.ip.total_len, 32, "total length excludes padding");

	/* Empty payload: 42 bytes of headers, still 60 on the wire. */
	n = rd_frame_build(frame, sizeof(frame), &hdr_plain, NULL, 0);
	is_int(n, 60, "empty payload padded to 60");
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, 60, 0, &f, &d), 0, "empty payload parses");
	is_int(f.payload_len, 0, "empty payload length 0");

	/* Trailing junk after a longer datagram (e.g. a capture with FCS). */
	uint8_t big[200], pl[100];
	fill_payload(pl, sizeof(pl));
	n = rd_frame_build(big, sizeof(big), &hdr_plain, pl, sizeof(pl));
	memset(big + n, 0x5a, sizeof(big) - (size_t)n);
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(big, sizeof(big), 0, &f, &d), 0, "trailing bytes after the datagram ignored");
	is_mem(f.payload, f.payload_len, pl, sizeof(pl), "payload unaffected by trailing bytes");

	/* Exact cap works, one less is ENOSPACE. */
	is_int(rd_frame_build(frame, 60, &hdr_plain, payload, 4), 60, "cap of exactly 60");
	is_int(rd_frame_build(frame, 59, &hdr_plain, payload, 4), RD_ENOSPACE, "cap 59 is RD_ENOSPACE");
	is_int(rd_frame_build(big, 141, &hdr_plain, pl, 100), RD_ENOSPACE, "cap one short is RD_ENOSPACE");
	is_int(rd_frame_build(big, 142, &hdr_plain, pl, 100), 142, "exact cap fits");
}

static void test_too_big(void)
{
	static uint8_t payload[65536], frame[65600];
	rd_frame_t f;
	rd_diag_t d;

	is_int(rd_frame_build(frame, sizeof(frame), &hdr_plain, payload, 65535 - 28 + 1), RD_ETOOBIG,
	       "payload over 65507 is RD_ETOOBIG");
	int n = rd_frame_build(frame, sizeof(frame), &hdr_plain, payload, 65535 - 28);
	is_int(n, 65535 + 14, "largest payload fits, total length 65535");
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, (size_t)n, 0, &f, &d), 0, "largest datagram parses");
	is_int(f.ip.total_len, 65535, "total length 65535");
}

/* A reference frame with a 40-byte payload; returns its length. */
static size_t ref_frame(uint8_t *frame, size_t cap, bool vlan)
{
	rd_frame_hdr_t h = hdr_plain;
	uint8_t payload[40];

	h.vlan = vlan;
	h.vlan_tci = 7;
	fill_payload(payload, sizeof(payload));
	return (size_t)rd_frame_build(frame, cap, &h, payload, sizeof(payload));
}

static void test_checksums(void)
{
	uint8_t frame[128];
	rd_frame_t f;
	rd_diag_t d;
	size_t n = ref_frame(frame, sizeof(frame), false);

	/* IPv4 header checksum. */
	frame[14 + 10] ^= 0x01;
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, n, 0, &f, &d), RD_ECHECKSUM, "bad IPv4 checksum is RD_ECHECKSUM");
	ok(reason_has(&d, "IPv4"), "reason names IPv4: %s", d.reason);
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, n, RD_FRAME_NO_IP_CSUM, &f, &d), 0, "accepted with RD_FRAME_NO_IP_CSUM");
	frame[14 + 10] ^= 0x01;

	/* A header field change also breaks the IPv4 checksum. */
	frame[14 + 8] = 63;     /* TTL */
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, n, 0, &f, &d), RD_ECHECKSUM, "edited TTL breaks the IPv4 checksum");
	frame[14 + 8] = 64;

	/* UDP checksum: corrupt one payload byte. */
	uint16_t csum = (uint16_t)(frame[40] << 8 | frame[41]);
	frame[50] ^= 0xff;
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, n, 0, &f, &d), RD_ECHECKSUM, "bad UDP checksum is RD_ECHECKSUM");
	char want[32];
	snprintf(want, sizeof(want), "0x%04x", csum);
	ok(reason_has(&d, want), "reason has the received value %s: %s", want, d.reason);
	ok(reason_has(&d, "expected 0x"), "reason has the expected value: %s", d.reason);
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, n, RD_FRAME_NO_UDP_CSUM, &f, &d), 0,
	       "accepted with RD_FRAME_NO_UDP_CSUM");
	is_int(f.udp.csum, csum, "csum reported as on the wire");

	/* Checksum zero: the sender did not compute one; accepted as is. */
	frame[40] = 0;
	frame[41] = 0;
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, n, 0, &f, &d), 0, "zero UDP checksum accepted despite corrupt payload");
	is_int(f.udp.csum, 0, "csum 0 reported");

	/* A change in the pseudo-header (source address) breaks the UDP checksum. */
	n = ref_frame(frame, sizeof(frame), false);
	frame[14 + 15] ^= 0x01;
	fix_ip_csum(frame, n, 14);
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, n, 0, &f, &d), RD_ECHECKSUM,
	       "UDP checksum covers the pseudo-header (source address)");
}

static void test_refusals(void)
{
	uint8_t frame[128];
	rd_frame_t f;
	rd_diag_t d;
	size_t n;

	/* Fragments: MF set, or a non-zero offset. */
	n = ref_frame(frame, sizeof(frame), false);
	frame[14 + 6] = 0x20;   /* MF, offset 0 */
	frame[14 + 7] = 0x00;
	fix_ip_csum(frame, n, 14);
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, n, 0, &f, &d), RD_EUNSUPPORTED, "first fragment (MF) unsupported");
	is_str(d.reason, "IPv4 fragment", "reason is \"IPv4 fragment\"");
	frame[14 + 6] = 0x00;   /* last fragment: offset 185 * 8 */
	frame[14 + 7] = 0xb9;
	fix_ip_csum(frame, n, 14);
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, n, 0, &f, &d), RD_EUNSUPPORTED, "non-zero offset unsupported");
	is_str(d.reason, "IPv4 fragment", "same reason");
	frame[14 + 6] = 0x00;   /* neither DF nor MF: a whole datagram */
	frame[14 + 7] = 0x00;
	fix_ip_csum(frame, n, 14);
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, n, 0, &f, &d), 0, "DF clear, unfragmented: accepted");
	is_int(f.ip.df, 0, "df false");

	/* Ethertypes. */
	static const uint16_t types[] = { 0x86dd, 0x0806, 0x88a8, 0x0060 };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		n = ref_frame(frame, sizeof(frame), false);
		frame[12] = (uint8_t)(types[i] >> 8);
		frame[13] = (uint8_t)types[i];
		rd_diag_clear(&d);
		is_int(rd_frame_parse_eth(frame, n, 0, &f, &d), RD_EUNSUPPORTED,
		       "ethertype 0x%04x unsupported", types[i]);
	}
	/* Behind a tag, the inner type decides; a second tag is not followed. */
	n = ref_frame(frame, sizeof(frame), true);
	frame[16] = 0x86;
	frame[17] = 0xdd;
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, n, 0, &f, &d), RD_EUNSUPPORTED, "IPv6 behind a tag unsupported");
	frame[16] = 0x81;
	frame[17] = 0x00;
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, n, 0, &f, &d), RD_EUNSUPPORTED, "double 0x8100 tag unsupported");
	ok(reason_has(&d, "0x8100"), "reason names the ethertype: %s", d.reason);

	/* Protocol. */
	n = ref_frame(frame, sizeof(frame), false);
	frame[14 + 9] = 6;      /* TCP */
	fix_ip_csum(frame, n, 14);
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, n, 0, &f, &d), RD_EUNSUPPORTED, "TCP unsupported");

	/* IP version. */
	n = ref_frame(frame, sizeof(frame), false);
	frame[14] = 0x65;
	rd_diag_clear(&d);
	is_int(rd_frame_parse_ipv4(frame + 14, n - 14, 0, &f, &d), RD_EUNSUPPORTED, "IPv6 via raw IP unsupported");
	frame[14] = 0x55;
	rd_diag_clear(&d);
	is_int(rd_frame_parse_ipv4(frame + 14, n - 14, 0, &f, &d), RD_EMALFORMED, "IP version 5 malformed");

	/* IHL below 5, above the data. */
	n = ref_frame(frame, sizeof(frame), false);
	frame[14] = 0x44;
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, n, RD_FRAME_NO_IP_CSUM, &f, &d), RD_EMALFORMED, "IHL 4 malformed");
	frame[14] = 0x4f;
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, 14 + 40, RD_FRAME_NO_IP_CSUM, &f, &d), RD_ETRUNC,
	       "IHL 15 with 40 bytes is RD_ETRUNC");

	/* total_len below IHL, above the data. */
	n = ref_frame(frame, sizeof(frame), false);
	frame[14 + 2] = 0;
	frame[14 + 3] = 19;
	fix_ip_csum(frame, n, 14);
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, n, 0, &f, &d), RD_EMALFORMED, "total length below IHL malformed");
	frame[14 + 3] = (uint8_t)(n - 14 + 1);
	fix_ip_csum(frame, n, 14);
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, n, 0, &f, &d), RD_ETRUNC, "total length past the data is RD_ETRUNC");

	/* UDP length: below 8, above the IP payload. */
	n = ref_frame(frame, sizeof(frame), false);
	frame[38] = 0;
	frame[39] = 7;
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, n, 0, &f, &d), RD_EMALFORMED, "UDP length 7 malformed");
	frame[39] = 49;         /* IP payload is 48 */
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, n, 0, &f, &d), RD_ETRUNC, "UDP length past the IP payload is RD_ETRUNC");

	/* IP total length covering less than a UDP header. */
	n = ref_frame(frame, sizeof(frame), false);
	frame[14 + 3] = 20 + 7;
	fix_ip_csum(frame, n, 14);
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(frame, n, 0, &f, &d), RD_ETRUNC, "7 bytes of IP payload: UDP header truncated");
}

static void test_ip_options_and_short_udp(void)
{
	uint8_t frame[160], opt[160];
	uint8_t payload[40];
	rd_frame_t f;
	rd_diag_t d;
	size_t n = ref_frame(frame, sizeof(frame), false);

	fill_payload(payload, sizeof(payload));

	/* Insert 8 bytes of IP options (Router Alert + NOP/EOL padding). */
	static const uint8_t ipopts[8] = { 0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00 };
	memcpy(opt, frame, 34);
	memcpy(opt + 34, ipopts, sizeof(ipopts));
	memcpy(opt + 42, frame + 34, n - 34);
	size_t on = n + 8;
	opt[14] = 0x47;         /* IHL 7 */
	opt[14 + 3] = (uint8_t)(opt[14 + 3] + 8);
	fix_ip_csum(opt, on, 14);
	rd_diag_clear(&d);
	int r = rd_frame_parse_eth(opt, on, 0, &f, &d);
	if (!is_int(r, 0, "IPv4 options skipped"))
		diag("reason: %s", d.reason);
	is_int(f.ip.ihl, 28, "ihl 28 reported");
	is_int(f.udp.sport, 67, "UDP header found after the options");
	is_mem(f.payload, f.payload_len, payload, sizeof(payload), "payload after IP options");

	/* UDP length shorter than the IP payload: the UDP length wins. */
	n = ref_frame(frame, sizeof(frame), false);
	frame[39] = (uint8_t)(frame[39] - 10);     /* 48 -> 38 */
	frame[40] = 0;
	frame[41] = 0;
	uint16_t c = rd_udp_checksum(hdr_plain.ip_src, hdr_plain.ip_dst, frame + 34, 38);
	frame[40] = (uint8_t)(c >> 8);
	frame[41] = (uint8_t)c;
	rd_diag_clear(&d);
	r = rd_frame_parse_eth(frame, n, 0, &f, &d);
	if (!is_int(r, 0, "UDP length below the IP payload accepted"))
		diag("reason: %s", d.reason);
	is_int(f.payload_len, 30, "payload cut to the UDP length");
	is_mem(f.payload, f.payload_len, payload, 30, "payload bytes");
}

static void test_truncation(void)
{
	uint8_t frame[400], payload[300];
	rd_frame_hdr_t h = hdr_plain;
	rd_frame_t f;
	rd_diag_t d;

	for (int vlan = 0; vlan < 2; vlan++) {
		h.vlan = vlan;
		fill_payload(payload, sizeof(payload));
		int n = rd_frame_build(frame, sizeof(frame), &h, payload, sizeof(payload));
		unsigned bad = 0, bad_ip = 0;
		for (int len = 0; len < n; len++) {
			/* An exact-size heap copy, so ASan flags any read past len. */
			uint8_t *cut = malloc(len ? (size_t)len : 1);
			if (!cut)
				bail_out("out of memory");
			memcpy(cut, frame, (size_t)len);
			rd_diag_clear(&d);
			int r = rd_frame_parse_eth(cut, (size_t)len, 0, &f, &d);
			free(cut);
			if (r != RD_ETRUNC) {
				bad++;
				diag("prefix %d: %d (%s)", len, r, d.reason);
			}
		}
		is_int(bad, 0, "%s: every proper prefix of the frame is RD_ETRUNC",
		       vlan ? "vlan" : "plain");
		size_t ip_off = vlan ? 18 : 14;
		for (size_t len = 0; len < (size_t)n - ip_off; len++) {
			rd_diag_clear(&d);
			if (rd_frame_parse_ipv4(frame + ip_off, len, 0, &f, &d) != RD_ETRUNC)
				bad_ip++;
		}
		is_int(bad_ip, 0, "%s: every proper prefix of the datagram is RD_ETRUNC",
		       vlan ? "vlan" : "plain");
		rd_diag_clear(&d);
		is_int(rd_frame_parse_eth(frame, (size_t)n, 0, &f, &d), 0, "%s: the whole frame parses",
		       vlan ? "vlan" : "plain");
	}
	rd_diag_clear(&d);
	is_int(rd_frame_parse_eth(NULL, 0, 0, &f, &d), RD_ETRUNC, "NULL, 0 is RD_ETRUNC");
	ok(d.reason[0] != '\0', "with a reason");
}

int main(void)
{
	plan_lazy();
	test_known_vectors();
	test_round_trip(false);
	test_round_trip(true);
	test_padding();
	test_too_big();
	test_checksums();
	test_refusals();
	test_ip_options_and_short_udp();
	test_truncation();
	return done_testing();
}
