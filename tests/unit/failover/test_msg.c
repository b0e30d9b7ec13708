/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_msg.c — tests for failover/msg.c, the failover message codec:
 *  - every message type round-trips with every option (DDNS never written,
 *    options ISC skips flagged), and ISC's own CONNECT layout comes out
 *    byte for byte;
 *  - each option's length rule (short, exact, long), in a type that keeps
 *    it and in one that does not; repeats; unknown codes; option headers and
 *    values cut short; types 0 and above 12;
 *  - framing: every prefix of a stream is "need more", lengths 0, 11, 12,
 *    2048, 2049, 65535, payload offsets below 12, above 12 and past the end;
 *  - setters, encoder limits, names, the printer and rd_fo_msg_check();
 *  - every failover message of ../shared/pcaps/isc-failover.pcap (both TCP
 *    directions reassembled in sequence order, retransmissions skipped)
 *    decodes, matches tshark's decode in isc-failover-decoded.txt, passes
 *    rd_fo_msg_check() and re-encodes to the same bytes; the Microsoft pair
 *    in netdhcp__dhcpfo.pcapng is refused with a clear reason;
 *  - with $TSHARK, every message the round-trip test encodes is written
 *    into a TCP/IP pcap and must dissect as dhcpfo without expert errors.
 *
 * Capture parts skip when $RD_SHARED_PCAPS is missing, tshark parts when
 * $TSHARK is empty.  RD_FO_WRITE_CORPUS=DIR writes the fuzz seed corpus
 * (tests/fuzz/corpus/failover) from the messages built here.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/capture.h"
#include "rackdhcp/fo_msg.h"
#include "rackdhcp/wire.h"
#include "tap.h"

#define ALL_KNOWN (((1u << (RD_FO_OPT_MAX + 1)) - 1) & ~1u)
#define DDNS_BIT RD_FO_BIT(RD_FO_OPT_DDNS)

static const uint8_t hba_255[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
};

/* ------------------------------------------------------------------ helpers */

/* A raw message writer for inputs the encoder would never produce. */
typedef struct {
	uint8_t buf[70000];
	rd_wire_t w;
} raw_t;

static void raw_begin(raw_t *r, uint8_t type, uint8_t poff)
{
	r->w = rd_wire_init(r->buf, sizeof(r->buf));
	rd_wire_write_u16(&r->w, 0);   /* patched by raw_end */
	rd_wire_write_u8(&r->w, type);
	rd_wire_write_u8(&r->w, poff);
	rd_wire_write_u32(&r->w, 1700000000);
	rd_wire_write_u32(&r->w, 42);
	if (poff > RD_FO_HDR_LEN)
		rd_wire_fill(&r->w, 0, poff - RD_FO_HDR_LEN);
}

static void raw_opt(raw_t *r, uint16_t code, const void *val, uint16_t len)
{
	rd_wire_write_u16(&r->w, code);
	rd_wire_write_u16(&r->w, len);
	rd_wire_write_bytes(&r->w, val, len);
}

static void raw_fill_opt(raw_t *r, uint16_t code, uint8_t b, uint16_t len)
{
	rd_wire_write_u16(&r->w, code);
	rd_wire_write_u16(&r->w, len);
	rd_wire_fill(&r->w, b, len);
}

static size_t raw_end(raw_t *r)
{
	size_t n = rd_wire_tell(&r->w);
	rd_wire_patch_u16(&r->w, 0, (uint16_t)n);
	return n;
}

/* Decode into *m, returning the code; d is reset first. */
static int dec(const uint8_t *p, size_t n, rd_fo_msg_t *m, rd_diag_t *d)
{
	rd_diag_clear(d);
	return rd_fo_decode(p, n, m, d);
}

/* Codes of the options present in an encoded message, in wire order. */
static size_t wire_codes(const uint8_t *p, size_t n, uint16_t *codes, size_t max)
{
	rd_wire_t w = rd_wire_init_const(p, n);
	size_t k = 0;
	rd_wire_skip(&w, RD_FO_HDR_LEN);
	while (rd_wire_available(&w) >= 4 && k < max) {
		codes[k++] = rd_wire_read_u16(&w);
		rd_wire_skip(&w, rd_wire_read_u16(&w));
	}
	return k;
}

/* Fill m with every option, values derived from seed so types differ. */
static void fill_all(rd_fo_msg_t *m, uint8_t type, unsigned seed)
{
	uint8_t blob[40];
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(seed * 7 + i);

	rd_fo_msg_init(m, type, 1795689915u + seed, 0x100u + seed);
	rd_fo_set_uint(m, RD_FO_OPT_ADDRESSES_TRANSFERRED, 17 + seed);
	rd_fo_set_uint(m, RD_FO_OPT_ASSIGNED_IP, 0xc0000200u + seed);
	rd_fo_set_uint(m, RD_FO_OPT_BINDING_STATUS, RD_FO_BS_ACTIVE);
	uint8_t cid[7] = { 1, 0x52, 0x54, 0, 0x12, 0x34, (uint8_t)seed };
	rd_fo_set_bytes(m, RD_FO_OPT_CLIENT_ID, cid, sizeof(cid));
	rd_fo_set_bytes(m, RD_FO_OPT_CHADDR, cid, sizeof(cid));
	rd_fo_set_uint(m, RD_FO_OPT_CLTT, 1795689919u);
	/* cookie + option 53 DHCPACK + end */
	uint8_t dopts[] = { 0x63, 0x82, 0x53, 0x63, 53, 1, 5, 255 };
	rd_fo_set_bytes(m, RD_FO_OPT_REPLY_OPTIONS, dopts, sizeof(dopts));
	dopts[6] = 3;
	rd_fo_set_bytes(m, RD_FO_OPT_REQUEST_OPTIONS, dopts, sizeof(dopts));
	rd_fo_set_uint(m, RD_FO_OPT_DDNS, 0);
	rd_fo_set_uint(m, RD_FO_OPT_DELAYED_SERVICE, 3);
	rd_fo_set_bytes(m, RD_FO_OPT_HBA, hba_255, sizeof(hba_255));
	rd_fo_set_uint(m, RD_FO_OPT_IP_FLAGS, RD_FO_IP_FLAG_BOOTP);
	rd_fo_set_uint(m, RD_FO_OPT_LEASE_EXPIRY, 1795693519u);
	rd_fo_set_uint(m, RD_FO_OPT_MAX_UNACKED, 10);
	rd_fo_set_uint(m, RD_FO_OPT_MCLT, 3600);
	rd_fo_set_str(m, RD_FO_OPT_MESSAGE, "incoming update is less critical than outgoing update");
	/* HMAC-MD5 type byte, then 16 bytes */
	blob[0] = 1;
	rd_fo_set_bytes(m, RD_FO_OPT_MESSAGE_DIGEST, blob, 17);
	rd_fo_set_uint(m, RD_FO_OPT_POTENTIAL_EXPIRY, 1795695319u);
	rd_fo_set_uint(m, RD_FO_OPT_RECEIVE_TIMER, 60);
	rd_fo_set_uint(m, RD_FO_OPT_PROTOCOL_VERSION, 1);
	rd_fo_set_uint(m, RD_FO_OPT_REJECT_REASON, RD_FO_REJ_LESS_CRITICAL_BINDINFO);
	rd_fo_set_str(m, RD_FO_OPT_RELATIONSHIP_NAME, "bxfo");
	rd_fo_set_uint(m, RD_FO_OPT_SERVER_FLAGS, RD_FO_SERVER_FLAG_STARTUP);
	rd_fo_set_uint(m, RD_FO_OPT_SERVER_STATE, RD_FO_ST_RECOVER_WAIT);
	rd_fo_set_uint(m, RD_FO_OPT_STOS, 1795689915u);
	rd_fo_set_uint(m, RD_FO_OPT_TLS_REPLY, 0);
	rd_fo_set_uint(m, RD_FO_OPT_TLS_REQUEST, 0);
	rd_fo_set_str(m, RD_FO_OPT_VENDOR_CLASS, "isc-4.4.3-P1");
	/* one nested 2+2 TLV */
	uint8_t vso[] = { 0, 1, 0, 2, 0xab, 0xcd };
	rd_fo_set_bytes(m, RD_FO_OPT_VENDOR_OPTIONS, vso, sizeof(vso));
}

/* Only the options ISC keeps in this type, so ISC would act on all of them. */
static void fill_kept(rd_fo_msg_t *m, uint8_t type, unsigned seed)
{
	fill_all(m, type, seed);
	for (unsigned c = 1; c <= RD_FO_OPT_MAX; c++)
		if (!rd_fo_option_allowed(type, c))
			rd_fo_unset(m, c);
}

/* Messages collected for the tshark check and the seed corpus. */
#define MAX_OUT 64
static struct {
	uint8_t bytes[RD_FO_MSG_MAX];
	size_t len;
	char name[48];
} out[MAX_OUT];
static size_t n_out;

static void keep_output(const char *name, const uint8_t *p, size_t len)
{
	if (n_out < MAX_OUT && len <= RD_FO_MSG_MAX) {
		memcpy(out[n_out].bytes, p, len);
		out[n_out].len = len;
		snprintf(out[n_out].name, sizeof(out[n_out].name), "%s", name);
		n_out++;
	}
}

/* ------------------------------------------------------------ round trips */

static void test_roundtrip(void)
{
	static rd_fo_msg_t m, back;
	uint8_t buf[RD_FO_MSG_MAX];
	rd_diag_t d;

	for (unsigned t = 1; t <= RD_FO_MSG_TYPE_MAX; t++) {
		const char *name = rd_fo_msg_name(t);

		/* every option, kept or not */
		fill_all(&m, (uint8_t)t, t);
		int n = rd_fo_encode(&m, buf, sizeof(buf));
		ok(n > RD_FO_HDR_LEN, "%s with every option encodes (%d bytes)", name, n);
		if (n <= 0)
			continue;
		size_t fl;
		is_int(rd_fo_frame_len(buf, (size_t)n, &fl, &d), 1, "%s: one complete frame", name);
		is_int((long long)fl, n, "%s: frame length", name);
		uint16_t codes[64];
		size_t nc = wire_codes(buf, (size_t)n, codes, 64);
		bool no_ddns = true;
		for (size_t i = 0; i < nc; i++)
			no_ddns &= codes[i] != RD_FO_OPT_DDNS;
		ok(no_ddns && nc == RD_FO_OPT_MAX - 1, "%s: %zu options on the wire, DDNS never", name, nc);
		ok(codes[nc - 1] == RD_FO_OPT_MESSAGE_DIGEST, "%s: digest last", name);
		is_int(buf[3], 12, "%s: payload offset 12", name);
		is_int(dec(buf, (size_t)n, &back, &d), 0, "%s decodes: %s", name, d.reason);
		m.has &= ~DDNS_BIT;
		ok(rd_fo_msg_equal(&m, &back), "%s: decoded equals the original (DDNS aside)", name);
		char label[48];
		snprintf(label, sizeof(label), "all-%s", name);
		keep_output(label, buf, (size_t)n);
		uint32_t expect_ign = 0;
		for (unsigned c = 1; c <= RD_FO_OPT_MAX; c++)
			if (c != RD_FO_OPT_DDNS && !rd_fo_option_allowed(t, c))
				expect_ign |= RD_FO_BIT(c);
		is_int(back.ignored, expect_ign, "%s: options ISC skips are flagged", name);
		uint8_t again[RD_FO_MSG_MAX];
		int n2 = rd_fo_encode(&back, again, sizeof(again));
		ok(n2 == n && !memcmp(buf, again, (size_t)n), "%s: re-encoding is identical", name);

		/* only what ISC keeps: what we would really send */
		fill_kept(&m, (uint8_t)t, t);
		n = rd_fo_encode(&m, buf, sizeof(buf));
		ok(n >= RD_FO_HDR_LEN, "%s with the options ISC keeps encodes (%d bytes)", name, n);
		if (n <= 0)
			continue;
		is_int(dec(buf, (size_t)n, &back, &d), 0, "%s (kept) decodes: %s", name, d.reason);
		m.has &= ~DDNS_BIT;
		ok(rd_fo_msg_equal(&m, &back) && back.ignored == 0, "%s (kept) equal, nothing ignored", name);
		snprintf(label, sizeof(label), "full-%s", name);
		keep_output(label, buf, (size_t)n);
	}
}

/* The CONNECT of the doc's §10, as ISC's dhcp_failover_send_connect lays it out. */
static void test_isc_connect_layout(void)
{
	static const uint8_t want[] = {
		0x00, 0x6d, 0x05, 0x0c, 0x6b, 0x08, 0x0c, 0xac, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x16, 0x00, 0x07, 'f', 'o', '-', 't', 'e', 's', 't',
		0x00, 0x0e, 0x00, 0x04, 0x00, 0x00, 0x00, 0x0a,
		0x00, 0x13, 0x00, 0x04, 0x00, 0x00, 0x00, 0x1e,
		0x00, 0x1c, 0x00, 0x0c, 'i', 's', 'c', '-', '4', '.', '4', '.', '3', '-', 'P', '1',
		0x00, 0x14, 0x00, 0x01, 0x01,
		0x00, 0x1b, 0x00, 0x01, 0x00,
		0x00, 0x0f, 0x00, 0x04, 0x00, 0x00, 0x01, 0x2c,
		0x00, 0x0b, 0x00, 0x20,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
	};
	static rd_fo_msg_t m, back;
	uint8_t buf[RD_FO_MSG_MAX];
	rd_diag_t d;

	/* Set in an order unlike the wire's: the encoder decides the layout. */
	rd_fo_msg_init(&m, RD_FO_CONNECT, 0x6b080cac, 0);
	rd_fo_set_bytes(&m, RD_FO_OPT_HBA, hba_255, 32);
	rd_fo_set_uint(&m, RD_FO_OPT_MCLT, 300);
	rd_fo_set_uint(&m, RD_FO_OPT_TLS_REQUEST, 0);
	rd_fo_set_uint(&m, RD_FO_OPT_PROTOCOL_VERSION, 1);
	rd_fo_set_str(&m, RD_FO_OPT_VENDOR_CLASS, "isc-4.4.3-P1");
	rd_fo_set_uint(&m, RD_FO_OPT_RECEIVE_TIMER, 30);
	rd_fo_set_uint(&m, RD_FO_OPT_MAX_UNACKED, 10);
	rd_fo_set_str(&m, RD_FO_OPT_RELATIONSHIP_NAME, "fo-test");
	int n = rd_fo_encode(&m, buf, sizeof(buf));
	is_mem(buf, n > 0 ? (size_t)n : 0, want, sizeof(want), "CONNECT laid out as ISC does (doc §10)");
	is_int(dec(want, sizeof(want), &back, &d), 0, "doc §10 CONNECT decodes");
	ok(rd_fo_hba(&back) && !memcmp(rd_fo_hba(&back), hba_255, 32), "HBA for split 255");
	is_int(rd_fo_msg_check(&back, &d), 0, "doc §10 CONNECT passes the check");
	keep_output("connect-doc", want, sizeof(want));
}

/* ------------------------------------------------------------ option rules */

/* A type in which ISC keeps code, or 0 if none does. */
static unsigned keeping_type(unsigned code)
{
	for (unsigned t = 1; t <= RD_FO_MSG_TYPE_MAX; t++)
		if (rd_fo_option_allowed(t, code))
			return t;
	return 0;
}

static unsigned skipping_type(unsigned code)
{
	for (unsigned t = 1; t <= RD_FO_MSG_TYPE_MAX; t++)
		if (!rd_fo_option_allowed(t, code))
			return t;
	return 0;
}

/* ISC's fixed sizes (0 = variable, except DDNS which is fixed 0). */
static int isc_size(unsigned code)
{
	switch (code) {
	case 1: case 2: case 6: case 13: case 14: case 15: case 18: case 19: case 25:
		return 4;
	case 12:
		return 2;
	case 3: case 10: case 20: case 21: case 23: case 24: case 26: case 27:
		return 1;
	case 9:
		return 0;
	default:
		return -1;
	}
}

static void test_option_lengths(void)
{
	static raw_t r;
	static rd_fo_msg_t m;
	rd_diag_t d;

	for (unsigned code = 1; code <= RD_FO_OPT_MAX; code++) {
		const char *on = rd_fo_option_name(code);
		int size = isc_size(code);
		unsigned kt = keeping_type(code), st = skipping_type(code);

		if (kt && size >= 0) {
			/* fixed: exact decodes, one short or one long is fatal */
			for (int delta = -1; delta <= 1; delta++) {
				if (size + delta < 0)
					continue;
				raw_begin(&r, (uint8_t)kt, 12);
				raw_fill_opt(&r, (uint16_t)code, 0x01, (uint16_t)(size + delta));
				size_t n = raw_end(&r);
				int rc = dec(r.buf, n, &m, &d);
				if (delta == 0) {
					ok(rc == 0 && rd_fo_has(&m, code), "%u %s: exact %d bytes in %s decodes",
					   code, on, size, rd_fo_msg_name(kt));
				} else {
					ok(rc == RD_EOPTLEN && d.code == RD_EOPTLEN && strstr(d.reason, on),
					   "%u %s: %d bytes in %s refused (%s)", code, on, size + delta,
					   rd_fo_msg_name(kt), d.reason);
					ok(m.has == 0 && m.type == kt && m.xid == 42,
					   "%u: a refused message keeps its header, no options", code);
				}
			}
		} else if (kt) {
			/* variable: any length, empty included */
			static const uint16_t lens[] = { 0, 1, 32, 300, 2000 };
			for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
				raw_begin(&r, (uint8_t)kt, 12);
				raw_fill_opt(&r, (uint16_t)code, 0x5a, lens[i]);
				size_t n = raw_end(&r), got;
				int rc = dec(r.buf, n, &m, &d);
				const uint8_t *v = rd_fo_get_bytes(&m, code, &got);
				ok(rc == 0 && v && got == lens[i] && (!got || (v[0] == 0x5a && v[got - 1] == 0x5a)),
				   "%u %s: %u bytes in %s decode", code, on, lens[i], rd_fo_msg_name(kt));
			}
		}
		if (st) {
			/* skipped by ISC: no size rule; well-formed kept for logs */
			raw_begin(&r, (uint8_t)st, 12);
			raw_fill_opt(&r, (uint16_t)code, 0x01, size > 0 ? (uint16_t)(size + 3) : 5);
			size_t n = raw_end(&r);
			int rc = dec(r.buf, n, &m, &d);
			ok(rc == 0 && (m.ignored & RD_FO_BIT(code)) &&
			   (size < 0 ? rd_fo_has(&m, code) : !rd_fo_has(&m, code)),
			   "%u %s: odd size in %s skipped like ISC (%s)", code, on, rd_fo_msg_name(st),
			   rc ? d.reason : "ok");
			if (size >= 0) {
				raw_begin(&r, (uint8_t)st, 12);
				raw_fill_opt(&r, (uint16_t)code, 0x01, (uint16_t)size);
				n = raw_end(&r);
				ok(dec(r.buf, n, &m, &d) == 0 && rd_fo_has(&m, code) && (m.ignored & RD_FO_BIT(code)),
				   "%u %s: exact size in %s kept for the log, flagged", code, on, rd_fo_msg_name(st));
			}
		}
	}

	/* the DDNS quirk, spelled out: empty is fine, content kills ISC's link */
	uint8_t ddns[] = { 0, 1, 3, 'f', 'o', 'o', 0 };
	raw_begin(&r, RD_FO_BNDUPD, 12);
	raw_opt(&r, RD_FO_OPT_DDNS, ddns, sizeof(ddns));
	size_t n = raw_end(&r);
	is_int(dec(r.buf, n, &m, &d), RD_EOPTLEN, "DDNS with content in BNDUPD refused: %s", d.reason);
	raw_begin(&r, RD_FO_STATE, 12);
	raw_opt(&r, RD_FO_OPT_DDNS, ddns, sizeof(ddns));
	n = raw_end(&r);
	ok(dec(r.buf, n, &m, &d) == 0 && (m.ignored & DDNS_BIT), "DDNS with content in STATE skipped");

	/* IP-flags of one byte (Microsoft, and the draft's table) */
	raw_begin(&r, RD_FO_BNDUPD, 12);
	raw_fill_opt(&r, RD_FO_OPT_IP_FLAGS, 0, 1);
	n = raw_end(&r);
	ok(dec(r.buf, n, &m, &d) == RD_EOPTLEN && strstr(d.reason, "(IP-flags) length 1, expected 2"),
	   "one-byte IP-flags refused: %s", d.reason);
	/* TLS-request of two bytes (ISC 3.0.x) */
	raw_begin(&r, RD_FO_CONNECT, 12);
	raw_fill_opt(&r, RD_FO_OPT_TLS_REQUEST, 0, 2);
	n = raw_end(&r);
	is_int(dec(r.buf, n, &m, &d), RD_EOPTLEN, "two-byte TLS-request refused: %s", d.reason);
}

static void test_option_walk(void)
{
	static raw_t r;
	static rd_fo_msg_t m;
	rd_diag_t d;
	uint8_t ip[4] = { 192, 0, 2, 10 }, one = 1;
	size_t n;

	/* repeats */
	raw_begin(&r, RD_FO_BNDUPD, 12);
	raw_opt(&r, RD_FO_OPT_ASSIGNED_IP, ip, 4);
	raw_opt(&r, RD_FO_OPT_BINDING_STATUS, &one, 1);
	raw_opt(&r, RD_FO_OPT_ASSIGNED_IP, ip, 4);
	n = raw_end(&r);
	ok(dec(r.buf, n, &m, &d) == RD_EMALFORMED && strstr(d.reason, "repeated"),
	   "a repeated kept option is fatal (batched BNDUPD): %s", d.reason);
	raw_begin(&r, RD_FO_BNDUPD, 12);
	uint8_t st = 2;
	raw_opt(&r, RD_FO_OPT_SERVER_STATE, &st, 1);
	st = 9;
	raw_opt(&r, RD_FO_OPT_SERVER_STATE, &st, 1);
	n = raw_end(&r);
	ok(dec(r.buf, n, &m, &d) == 0 && m.server_state == 2 && (m.ignored & RD_FO_BIT(24)),
	   "a repeated skipped option is fine, first kept");
	raw_begin(&r, RD_FO_BNDUPD, 12);
	raw_fill_opt(&r, RD_FO_OPT_SERVER_STATE, 0, 3);
	raw_opt(&r, RD_FO_OPT_SERVER_STATE, &st, 1);
	n = raw_end(&r);
	ok(dec(r.buf, n, &m, &d) == 0 && m.server_state == 9, "first well-formed skipped option kept");

	/* unknown codes anywhere, any length */
	raw_begin(&r, RD_FO_BNDACK, 12);
	raw_fill_opt(&r, 0, 0xee, 3);
	raw_opt(&r, RD_FO_OPT_ASSIGNED_IP, ip, 4);
	raw_fill_opt(&r, 30, 0xee, 0);
	raw_fill_opt(&r, 33, 0xee, 4);
	raw_fill_opt(&r, 0xffff, 0xee, 1000);
	n = raw_end(&r);
	ok(dec(r.buf, n, &m, &d) == 0 && m.unknown == 4 && m.has == RD_FO_BIT(2) && m.assigned_ip == 0xc000020a,
	   "unknown codes 0, 30, 33, 65535 skipped");
	uint8_t enc[RD_FO_MSG_MAX];
	is_int(rd_fo_encode(&m, enc, sizeof(enc)), 20, "re-encoded without them");

	/* option header or value cut by the message end (ISC: overflow) */
	for (unsigned cut = 1; cut <= 7; cut++) {
		raw_begin(&r, RD_FO_BNDACK, 12);
		raw_opt(&r, RD_FO_OPT_ASSIGNED_IP, ip, 4);
		size_t full = raw_end(&r);
		size_t len = full - cut;
		rd_wire_t w = rd_wire_init(r.buf, sizeof(r.buf));
		rd_wire_patch_u16(&w, 0, (uint16_t)len);
		ok(dec(r.buf, len, &m, &d) == RD_ETRUNC && d.reason[0], "option cut %u bytes short: %s", cut,
		   d.reason);
	}
	/* option length past the message, though bytes follow in the buffer */
	raw_begin(&r, RD_FO_BNDACK, 12);
	raw_opt(&r, RD_FO_OPT_ASSIGNED_IP, ip, 4);
	raw_end(&r);
	rd_wire_t w = rd_wire_init(r.buf, sizeof(r.buf));
	rd_wire_patch_u16(&w, 14, 200);
	ok(dec(r.buf, 20, &m, &d) == RD_ETRUNC && strstr(d.reason, "declares 200"), "option length past the end: %s",
	   d.reason);

	/* header checks in decode */
	ok(dec(r.buf, 11, &m, &d) == RD_ETRUNC, "11 bytes: shorter than a header");
	ok(dec(NULL, 0, &m, &d) == RD_ETRUNC, "nothing at all");
	raw_begin(&r, RD_FO_CONTACT, 12);
	n = raw_end(&r);
	ok(dec(r.buf, n, &m, &d) == 0 && m.type == RD_FO_CONTACT && m.xid == 42 && m.time == 1700000000,
	   "bare CONTACT");
	r.buf[12] = 0;
	ok(dec(r.buf, n + 1, &m, &d) == RD_EMALFORMED && strstr(d.reason, "declares 12"),
	   "buffer longer than the declared length: %s", d.reason);

	/* payload offset above 12: ISC skips the extra header bytes */
	raw_begin(&r, RD_FO_BNDACK, 16);
	raw_opt(&r, RD_FO_OPT_ASSIGNED_IP, ip, 4);
	n = raw_end(&r);
	rd_wire_t w2 = rd_wire_init(r.buf, sizeof(r.buf));
	rd_wire_seek(&w2, 12);
	rd_wire_write_u16(&w2, RD_FO_OPT_BINDING_STATUS);   /* looks like an option, is header */
	rd_wire_write_u16(&w2, 0);
	ok(dec(r.buf, n, &m, &d) == 0 && m.payload_offset == 16 && m.has == RD_FO_BIT(2),
	   "payload offset 16: 4 header bytes skipped");
	is_int(rd_fo_encode(&m, enc, sizeof(enc)), 20, "re-encoded with offset 12");
	is_int(enc[3], 12, "offset byte 12");
	r.buf[3] = (uint8_t)n;
	ok(dec(r.buf, n, &m, &d) == 0 && m.has == 0, "payload offset = length: no options");
	r.buf[3] = (uint8_t)(n + 1);
	ok(dec(r.buf, n, &m, &d) == RD_EMALFORMED && strstr(d.reason, "past the end"), "offset past the end: %s",
	   d.reason);
	r.buf[3] = 8;
	ok(dec(r.buf, n, &m, &d) == RD_EUNSUPPORTED && strstr(d.reason, "below 12"), "offset 8: %s", d.reason);

	/* unknown message types */
	raw_begin(&r, 13, 12);
	raw_fill_opt(&r, 40, 0, 2);
	n = raw_end(&r);
	ok(dec(r.buf, n, &m, &d) == 0 && m.type == 13 && m.unknown == 1, "type 13 with unknown options decodes");
	is_int(rd_fo_msg_check(&m, &d), RD_FO_REJ_UNKNOWN, "type 13: check says unknown");
	is_int(rd_fo_encode(&m, enc, sizeof(enc)), RD_EINVAL, "type 13 is not encoded");
	raw_begin(&r, 200, 12);
	raw_opt(&r, RD_FO_OPT_ASSIGNED_IP, ip, 4);
	n = raw_end(&r);
	ok(dec(r.buf, n, &m, &d) == RD_EUNSUPPORTED && strstr(d.reason, "type 200"), "type 200 with option 2: %s",
	   d.reason);
	raw_begin(&r, 0, 12);
	raw_opt(&r, RD_FO_OPT_ASSIGNED_IP, ip, 4);
	n = raw_end(&r);
	ok(dec(r.buf, n, &m, &d) == 0 && m.ignored == RD_FO_BIT(2), "type 0: ISC's empty row, option skipped");
	is_int(rd_fo_msg_check(&m, &d), RD_FO_REJ_UNKNOWN, "type 0: check says unknown");
}

/* ------------------------------------------------------------ framing */

static void test_framing(void)
{
	static raw_t r;
	uint8_t stream[3 * RD_FO_MSG_MAX];
	size_t ml, total = 0, ends[3];
	rd_diag_t d;
	static rd_fo_msg_t m;

	/* three messages back to back: CONNECTACK-ish, STATE, BNDACK */
	fill_kept(&m, RD_FO_CONNECTACK, 1);
	int n = rd_fo_encode(&m, stream, sizeof(stream));
	total += (size_t)n;
	ends[0] = total;
	fill_kept(&m, RD_FO_STATE, 2);
	n = rd_fo_encode(&m, stream + total, sizeof(stream) - total);
	total += (size_t)n;
	ends[1] = total;
	fill_kept(&m, RD_FO_BNDACK, 3);
	n = rd_fo_encode(&m, stream + total, sizeof(stream) - total);
	total += (size_t)n;
	ends[2] = total;

	/* every prefix of every message is "need more" */
	bool all = true;
	size_t start = 0;
	for (int k = 0; k < 3; k++) {
		for (size_t avail = 0; avail < ends[k] - start; avail++) {
			rd_diag_clear(&d);
			int rc = rd_fo_frame_len(stream + start, avail, &ml, &d);
			size_t want_ml = avail >= 2 ? ends[k] - start : 0;
			if (rc != 0 || ml != want_ml || d.code) {
				diag("message %d prefix %zu: rc %d ml %zu", k, avail, rc, ml);
				all = false;
			}
		}
		rd_diag_clear(&d);
		all &= rd_fo_frame_len(stream + start, total - start, &ml, &d) == 1 && ml == ends[k] - start;
		start = ends[k];
	}
	ok(all, "every truncation point of a 3-message stream asks for more; whole ones frame");

	/* the stream fed in slices of 1..50 bytes yields the same three messages */
	for (size_t slice = 1; slice <= 50; slice += 7) {
		uint8_t acc[sizeof(stream)];
		size_t have = 0, fed = 0, got = 0;
		bool good = true;
		while (fed < total || have) {
			size_t take = total - fed < slice ? total - fed : slice;
			memcpy(acc + have, stream + fed, take);
			have += take;
			fed += take;
			int rc;
			while ((rc = rd_fo_frame_len(acc, have, &ml, &d)) == 1 && ml <= have) {
				good &= got < 3 && ml == ends[got] - (got ? ends[got - 1] : 0);
				good &= dec(acc, ml, &m, &d) == 0;
				memmove(acc, acc + ml, have - ml);
				have -= ml;
				got++;
			}
			if (rc < 0 || (take == 0 && have))
				break;
		}
		ok(good && got == 3 && have == 0, "stream in %zu-byte slices: 3 messages", slice);
	}

	/* declared lengths */
	static const struct {
		uint16_t len;
		int want;
	} lens[] = { { 0, RD_EMALFORMED }, { 11, RD_EMALFORMED }, { 12, 1 }, { 2048, 1 },
		     { 2049, RD_EMALFORMED }, { 65535, RD_EMALFORMED } };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		raw_begin(&r, RD_FO_CONTACT, 12);
		if (lens[i].len > 12)
			raw_fill_opt(&r, 99, 0, (uint16_t)(lens[i].len - 16));
		raw_end(&r);
		rd_wire_t w = rd_wire_init(r.buf, sizeof(r.buf));
		rd_wire_patch_u16(&w, 0, lens[i].len);
		rd_diag_clear(&d);
		int rc = rd_fo_frame_len(r.buf, sizeof(r.buf), &ml, &d);
		ok(rc == lens[i].want && ml == lens[i].len && (rc > 0 || strstr(d.reason, "outside 12..2048")),
		   "declared length %u: %d %s", lens[i].len, rc, d.reason);
		/* refused as soon as the two length bytes are in */
		rd_diag_clear(&d);
		rc = rd_fo_frame_len(r.buf, 2, &ml, &d);
		ok(lens[i].want == 1 ? rc == 0 : rc == lens[i].want, "declared length %u judged from 2 bytes",
		   lens[i].len);
		if (lens[i].want == 1) {
			rc = dec(r.buf, lens[i].len, &m, &d);
			ok(rc == 0 && m.unknown == (lens[i].len > 12), "length %u decodes", lens[i].len);
		}
	}

	/* payload offsets */
	static const struct {
		uint8_t poff;
		int want;
	} offs[] = { { 0, RD_EUNSUPPORTED }, { 8, RD_EUNSUPPORTED }, { 11, RD_EUNSUPPORTED }, { 12, 1 },
		     { 13, 1 }, { 20, 1 }, { 21, RD_EMALFORMED }, { 255, RD_EMALFORMED } };
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		raw_begin(&r, RD_FO_CONTACT, 12);
		rd_wire_fill(&r.w, 0, 8);
		size_t len = raw_end(&r);   /* 20 */
		r.buf[3] = offs[i].poff;
		rd_diag_clear(&d);
		ok(rd_fo_frame_len(r.buf, 3, &ml, &d) == 0, "offset %u: 3 bytes need more", offs[i].poff);
		int rc = rd_fo_frame_len(r.buf, len, &ml, &d);
		ok(rc == offs[i].want && (rc > 0 || d.reason[0]), "payload offset %u: %d %s", offs[i].poff, rc,
		   d.reason);
		rd_diag_clear(&d);
		ok(offs[i].want == 1 || rd_fo_frame_len(r.buf, 4, &ml, &d) == offs[i].want,
		   "payload offset %u judged from 4 bytes", offs[i].poff);
	}
}

/* ------------------------------------------------------------ API corners */

static void test_setters_encoder(void)
{
	static rd_fo_msg_t m, back;
	uint8_t buf[RD_FO_MSG_MAX + 16];
	static uint8_t big[RD_FO_DATA_MAX + 1];
	rd_diag_t d;
	size_t len;

	rd_fo_msg_init(&m, RD_FO_BNDUPD, 1, 2);
	is_int(rd_fo_set_uint(&m, RD_FO_OPT_CLIENT_ID, 1), RD_EINVAL, "set_uint on a byte option");
	is_int(rd_fo_set_uint(&m, RD_FO_OPT_BINDING_STATUS, 256), RD_EINVAL, "u8 out of range");
	is_int(rd_fo_set_uint(&m, RD_FO_OPT_IP_FLAGS, 0x10000), RD_EINVAL, "u16 out of range");
	is_int(rd_fo_set_uint(&m, RD_FO_OPT_DDNS, 1), RD_EINVAL, "DDNS carries no value");
	is_int(rd_fo_set_uint(&m, 0, 1), RD_EINVAL, "code 0");
	is_int(rd_fo_set_uint(&m, 30, 1), RD_EINVAL, "code 30");
	is_int(rd_fo_set_bytes(&m, RD_FO_OPT_MCLT, "x", 1), RD_EINVAL, "set_bytes on a fixed option");
	is_int(rd_fo_set_bytes(&m, RD_FO_OPT_MESSAGE, NULL, 1), RD_EINVAL, "NULL with a length");
	is_int(rd_fo_set_bytes(&m, RD_FO_OPT_MESSAGE, NULL, 0), 0, "empty value");
	ok(rd_fo_get_bytes(&m, RD_FO_OPT_MESSAGE, &len) != NULL && len == 0, "empty value present");
	ok(rd_fo_get_bytes(&m, RD_FO_OPT_CLIENT_ID, &len) == NULL && len == 0, "absent value: NULL");
	ok(rd_fo_get_bytes(&m, RD_FO_OPT_MCLT, &len) == NULL, "fixed option through get_bytes: NULL");
	ok(rd_fo_hba(&m) == NULL, "no HBA");
	rd_fo_set_bytes(&m, RD_FO_OPT_HBA, hba_255, 31);
	ok(rd_fo_hba(&m) == NULL, "31-byte HBA is not an HBA");
	is_int(rd_fo_set_str(&m, RD_FO_OPT_MESSAGE, NULL), RD_EINVAL, "NULL string");

	/* the largest message: 12 + 4 + 2032 = 2048 */
	memset(big, 'a', sizeof(big));
	rd_fo_msg_init(&m, RD_FO_DISCONNECT, 1, 2);
	is_int(rd_fo_set_bytes(&m, RD_FO_OPT_MESSAGE, big, 2032), 0, "2032-byte message text");
	int n = rd_fo_encode(&m, buf, sizeof(buf));
	is_int(n, 2048, "2048-byte message");
	is_int(rd_fo_encode(&m, buf, 2047), RD_ENOSPACE, "2047-byte buffer too small");
	is_int(rd_fo_encode(&m, NULL, 0), RD_ENOSPACE, "no buffer");
	is_int(dec(buf, 2048, &back, &d), 0, "2048-byte message decodes");
	ok(rd_fo_msg_equal(&m, &back), "and round-trips");
	rd_fo_set_uint(&m, RD_FO_OPT_REJECT_REASON, 6);
	is_int(rd_fo_encode(&m, buf, sizeof(buf)), RD_ETOOBIG, "one option more: too big");
	rd_fo_msg_init(&m, RD_FO_DISCONNECT, 1, 2);
	is_int(rd_fo_set_bytes(&m, RD_FO_OPT_MESSAGE, big, RD_FO_DATA_MAX + 1), RD_ENOSPACE, "value beyond the store");
	is_int(rd_fo_set_bytes(&m, RD_FO_OPT_MESSAGE, big, RD_FO_DATA_MAX), 0, "store full");
	is_int(rd_fo_set_bytes(&m, RD_FO_OPT_VENDOR_CLASS, big, 1), RD_ENOSPACE, "store exhausted");
	is_int(rd_fo_encode(&m, buf, sizeof(buf)), RD_ETOOBIG, "2036-byte text does not fit a message");
	m.message.off = 2000;
	m.message.len = 100;
	is_int(rd_fo_encode(&m, buf, sizeof(buf)), RD_EINVAL, "value outside the store refused");
	rd_fo_msg_init(&m, 0, 1, 2);
	is_int(rd_fo_encode(&m, buf, sizeof(buf)), RD_EINVAL, "type 0 refused");
	rd_fo_msg_init(&m, RD_FO_CONTACT, 7, 9);
	is_int(rd_fo_encode(&m, buf, sizeof(buf)), 12, "bare CONTACT is 12 bytes");
	static const uint8_t contact[] = { 0, 12, 11, 12, 0, 0, 0, 7, 0, 0, 0, 9 };
	is_mem(buf, 12, contact, 12, "CONTACT bytes");
	keep_output("contact", buf, 12);

	/* a DDNS bit set by hand is never written */
	rd_fo_msg_init(&m, RD_FO_BNDUPD, 1, 2);
	rd_fo_set_uint(&m, RD_FO_OPT_DDNS, 0);
	ok(rd_fo_has(&m, RD_FO_OPT_DDNS), "DDNS bit set");
	is_int(rd_fo_encode(&m, buf, sizeof(buf)), 12, "DDNS not encoded");
	rd_fo_unset(&m, RD_FO_OPT_DDNS);
	ok(!rd_fo_has(&m, RD_FO_OPT_DDNS) && !rd_fo_has(&m, 99), "unset; unknown codes never present");

	/* equality looks at values, not at the layout of data */
	fill_all(&m, RD_FO_BNDUPD, 5);
	back = m;
	rd_fo_set_str(&back, RD_FO_OPT_MESSAGE, "incoming update is less critical than outgoing update");
	ok(rd_fo_msg_equal(&m, &back), "same value stored elsewhere is equal");
	rd_fo_set_str(&back, RD_FO_OPT_MESSAGE, "other");
	ok(!rd_fo_msg_equal(&m, &back), "different text differs");
	back = m;
	back.cltt++;
	ok(!rd_fo_msg_equal(&m, &back), "different time differs");
	back = m;
	rd_fo_unset(&back, RD_FO_OPT_CLTT);
	ok(!rd_fo_msg_equal(&m, &back), "missing option differs");
}

static void test_names(void)
{
	static const char *const msgs[] = { "unknown", "POOLREQ", "POOLRESP", "BNDUPD", "BNDACK", "CONNECT",
					    "CONNECTACK", "UPDREQALL", "UPDDONE", "UPDREQ", "STATE", "CONTACT",
					    "DISCONNECT", "unknown" };
	for (unsigned t = 0; t < sizeof(msgs) / sizeof(msgs[0]); t++)
		is_str(rd_fo_msg_name(t), msgs[t], "message name %u", t);
	is_str(rd_fo_msg_name(255), "unknown", "message 255");
	is_str(rd_fo_state_name(RD_FO_ST_RECOVER_WAIT), "recover-wait", "state 254");
	is_str(rd_fo_state_name(RD_FO_ST_COMM_INTERRUPTED), "communications-interrupted", "state 3");
	is_str(rd_fo_state_name(0), "unknown-state", "state 0");
	is_str(rd_fo_state_name(12), "unknown", "state 12 has no name");
	is_str(rd_fo_state_name(253), "unknown", "state 253");
	is_str(rd_fo_binding_name(RD_FO_BS_BACKUP), "backup", "binding 7");
	is_str(rd_fo_binding_name(RD_FO_BS_FREE), "free", "binding 1");
	is_str(rd_fo_binding_name(0), "unknown", "binding 0");
	is_str(rd_fo_binding_name(8), "unknown", "binding 8");
	is_str(rd_fo_reject_reason_name(16), "less critical binding information", "reject 16");
	is_str(rd_fo_reject_reason_name(254), "unknown error", "reject 254");
	is_str(rd_fo_reject_reason_name(0), "unknown", "reject 0");
	is_str(rd_fo_reject_reason_name(22), "unknown", "reject 22");
	is_str(rd_fo_option_name(RD_FO_OPT_HBA), "hash-bucket-assignment", "option 11");
	is_str(rd_fo_option_name(0), "unknown", "option 0");
	is_str(rd_fo_option_name(30), "unknown", "option 30");
	bool all = true;
	for (unsigned c = 1; c <= RD_FO_OPT_MAX; c++)
		all &= strcmp(rd_fo_option_name(c), "unknown") != 0;
	for (unsigned s = 0; s <= 11; s++)
		all &= strcmp(rd_fo_state_name(s), "unknown") != 0;
	for (unsigned r = 1; r <= 21; r++)
		all &= strcmp(rd_fo_reject_reason_name(r), "unknown") != 0;
	ok(all, "every option, state and reject reason has a name");
}

static void test_print(void)
{
	static rd_fo_msg_t m;
	char buf[512];
	const uint8_t chaddr[] = { 1, 0x92, 0x8b, 0xab, 0x4e, 0x48, 0xce };

	rd_fo_msg_init(&m, RD_FO_BNDUPD, 1795689919, 0x161);
	rd_fo_set_uint(&m, RD_FO_OPT_ASSIGNED_IP, 0xc0000287);
	rd_fo_set_uint(&m, RD_FO_OPT_BINDING_STATUS, RD_FO_BS_ACTIVE);
	rd_fo_set_bytes(&m, RD_FO_OPT_CHADDR, chaddr, sizeof(chaddr));
	rd_fo_set_uint(&m, RD_FO_OPT_LEASE_EXPIRY, 1795689919 + 3600);
	rd_fo_set_uint(&m, RD_FO_OPT_POTENTIAL_EXPIRY, 1795689919 + 5400);
	rd_fo_set_uint(&m, RD_FO_OPT_STOS, 1795689919);
	rd_fo_set_uint(&m, RD_FO_OPT_CLTT, 1795689919);
	rd_fo_set_uint(&m, RD_FO_OPT_SERVER_STATE, RD_FO_ST_RECOVER_WAIT);   /* skipped by ISC in BNDUPD */
	size_t n = rd_fo_msg_print(&m, buf, sizeof(buf));
	is_str(buf,
	       "BNDUPD xid 0x161 time 1795689919 ip=192.0.2.135 status=active chaddr=01:92:8b:ab:4e:48:ce"
	       " ends=1795693519(+3600) pexp=1795695319(+5400) ~state=recover-wait(254)"
	       " stos=1795689919(+0) cltt=1795689919(+0)",
	       "BNDUPD printed");
	is_int((long long)n, (long long)strlen(buf), "printed length");

	rd_fo_msg_init(&m, RD_FO_CONNECTACK, 0, 0);
	rd_fo_set_bytes(&m, RD_FO_OPT_RELATIONSHIP_NAME, "a\"b\\\x01", 5);
	rd_fo_set_uint(&m, RD_FO_OPT_REJECT_REASON, 7);
	rd_fo_set_str(&m, RD_FO_OPT_MESSAGE, "already connected");
	rd_fo_msg_print(&m, buf, sizeof(buf));
	is_str(buf,
	       "CONNECTACK xid 0x0 time 0 name=\"a\\x22b\\x5c\\x01\" reject=7(duplicate connection)"
	       " message=\"already connected\"",
	       "CONNECTACK printed, text escaped");

	static uint8_t longtext[300];
	memset(longtext, 'x', sizeof(longtext));
	rd_fo_msg_init(&m, RD_FO_DISCONNECT, 0, 0);
	rd_fo_set_bytes(&m, RD_FO_OPT_MESSAGE, longtext, sizeof(longtext));
	rd_fo_msg_print(&m, buf, sizeof(buf));
	ok(strstr(buf, "...(300 bytes)") != NULL && strlen(buf) < 120, "long text cut: %s", buf);

	n = rd_fo_msg_print(&m, buf, 10);
	ok(n == 9 && strlen(buf) == 9, "cut at the buffer: \"%s\"", buf);
	is_int((long long)rd_fo_msg_print(&m, buf, 0), 0, "zero-size buffer");
	is_int((long long)rd_fo_msg_print(&m, NULL, 10), 0, "no buffer");
	m.type = 77;
	m.payload_offset = 16;
	m.unknown = 2;
	rd_fo_msg_print(&m, buf, sizeof(buf));
	static const char head[] = "unknown(77) xid 0x0 time 0 poff 16 ~message=\"xx";
	ok(!strncmp(buf, head, sizeof(head) - 1) && strstr(buf, "unknown-options=2"),
	   "unknown type, offset and skipped options shown: %s", buf);
}

/* ------------------------------------------------------------ ISC's requirements */

static void test_check(void)
{
	static rd_fo_msg_t m;
	rd_diag_t d;

#define CHECK(want, what)                                                                     \
	do {                                                                                  \
		rd_diag_clear(&d);                                                            \
		int got_ = rd_fo_msg_check(&m, &d);                                           \
		ok(got_ == (want) && (got_ == 0 ? d.code == 0 : d.code == RD_EMALFORMED && d.reason[0]), \
		   "%s: %d (%s)", what, got_, d.reason);                                      \
	} while (0)

	fill_kept(&m, RD_FO_CONNECT, 1);
	CHECK(0, "full CONNECT");
	rd_fo_unset(&m, RD_FO_OPT_RELATIONSHIP_NAME);
	CHECK(RD_FO_REJ_INVALID_PARTNER, "CONNECT without name");
	rd_fo_unset(&m, RD_FO_OPT_HBA);
	CHECK(RD_FO_REJ_INVALID_PARTNER, "name is checked before HBA, as ISC does");
	fill_kept(&m, RD_FO_CONNECT, 1);
	rd_fo_unset(&m, RD_FO_OPT_HBA);
	CHECK(RD_FO_REJ_HBA_CONFLICT, "CONNECT without HBA");
	rd_fo_set_bytes(&m, RD_FO_OPT_HBA, hba_255, 16);
	CHECK(RD_FO_REJ_HBA_CONFLICT, "CONNECT with a 16-byte HBA");
	fill_kept(&m, RD_FO_CONNECT, 1);
	rd_fo_unset(&m, RD_FO_OPT_MCLT);
	CHECK(RD_FO_REJ_INVALID_MCLT, "CONNECT without MCLT");
	fill_kept(&m, RD_FO_CONNECT, 1);
	rd_fo_unset(&m, RD_FO_OPT_MAX_UNACKED);
	CHECK(RD_FO_REJ_MISC, "CONNECT without max-unacked");
	fill_kept(&m, RD_FO_CONNECT, 1);
	rd_fo_set_uint(&m, RD_FO_OPT_RECEIVE_TIMER, 0);
	CHECK(RD_FO_REJ_MISC, "CONNECT with receive-timer 0");
	fill_kept(&m, RD_FO_CONNECT, 1);
	rd_fo_set_uint(&m, RD_FO_OPT_PROTOCOL_VERSION, 2);
	CHECK(RD_FO_REJ_VERSION_MISMATCH, "CONNECT version 2");
	rd_fo_unset(&m, RD_FO_OPT_PROTOCOL_VERSION);
	rd_fo_unset(&m, RD_FO_OPT_VENDOR_CLASS);
	rd_fo_unset(&m, RD_FO_OPT_TLS_REQUEST);
	CHECK(0, "CONNECT without version, vendor, TLS-request (ISC checks none)");

	fill_kept(&m, RD_FO_CONNECTACK, 2);
	rd_fo_unset(&m, RD_FO_OPT_REJECT_REASON);
	rd_fo_unset(&m, RD_FO_OPT_MESSAGE);
	CHECK(0, "CONNECTACK");
	rd_fo_unset(&m, RD_FO_OPT_RECEIVE_TIMER);
	CHECK(RD_FO_REJ_MISC, "CONNECTACK without receive-timer");
	rd_fo_set_uint(&m, RD_FO_OPT_REJECT_REASON, RD_FO_REJ_DUP_CONNECTION);
	CHECK(0, "refusing CONNECTACK needs no timers");
	rd_fo_unset(&m, RD_FO_OPT_RELATIONSHIP_NAME);
	CHECK(RD_FO_REJ_INVALID_PARTNER, "CONNECTACK without name, even refusing");

	static const struct {
		uint8_t bs;
		bool chaddr, cid;
		int want;
	} b[] = {
		{ RD_FO_BS_FREE, false, false, 0 },         { RD_FO_BS_BACKUP, false, false, 0 },
		{ RD_FO_BS_RESET, false, false, 0 },        { RD_FO_BS_ACTIVE, true, true, 0 },
		{ RD_FO_BS_ACTIVE, false, true, 3 },        { RD_FO_BS_EXPIRED, false, false, 3 },
		{ RD_FO_BS_RELEASED, false, false, 3 },     { RD_FO_BS_RELEASED, true, false, 0 },
		{ RD_FO_BS_ABANDONED, false, false, 0 },    { RD_FO_BS_ABANDONED, true, false, 6 },
		{ RD_FO_BS_ABANDONED, false, true, 6 },     { 0, false, false, 6 },
		{ 8, true, false, 6 },
	};
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		rd_fo_msg_init(&m, RD_FO_BNDUPD, 1, 2);
		rd_fo_set_uint(&m, RD_FO_OPT_ASSIGNED_IP, 0xc0000214);
		rd_fo_set_uint(&m, RD_FO_OPT_BINDING_STATUS, b[i].bs);
		if (b[i].chaddr)
			rd_fo_set_bytes(&m, RD_FO_OPT_CHADDR, "\x01\x02\x03\x04\x05\x06\x07", 7);
		if (b[i].cid)
			rd_fo_set_bytes(&m, RD_FO_OPT_CLIENT_ID, "\x01\x02\x03\x04\x05\x06\x07", 7);
		char what[64];
		snprintf(what, sizeof(what), "BNDUPD %s%s%s", rd_fo_binding_name(b[i].bs),
			 b[i].chaddr ? " +chaddr" : "", b[i].cid ? " +client-id" : "");
		CHECK(b[i].want, what);
	}
	rd_fo_msg_init(&m, RD_FO_BNDUPD, 1, 2);
	rd_fo_set_uint(&m, RD_FO_OPT_BINDING_STATUS, 1);
	CHECK(RD_FO_REJ_MISSING_BINDINFO, "BNDUPD without IP");
	rd_fo_set_uint(&m, RD_FO_OPT_ASSIGNED_IP, 1);
	rd_fo_unset(&m, RD_FO_OPT_BINDING_STATUS);
	CHECK(RD_FO_REJ_MISSING_BINDINFO, "BNDUPD without status");
	rd_fo_set_uint(&m, RD_FO_OPT_BINDING_STATUS, RD_FO_BS_ACTIVE);
	uint8_t ch[18] = { 1 };
	rd_fo_set_bytes(&m, RD_FO_OPT_CHADDR, ch, 17);
	CHECK(0, "BNDUPD chaddr of 17 bytes");
	rd_fo_set_bytes(&m, RD_FO_OPT_CHADDR, ch, 18);
	CHECK(RD_FO_REJ_MISC, "BNDUPD chaddr of 18 bytes");

	rd_fo_msg_init(&m, RD_FO_BNDACK, 1, 2);
	CHECK(RD_FO_REJ_MISSING_BINDINFO, "BNDACK without IP");
	rd_fo_set_uint(&m, RD_FO_OPT_ASSIGNED_IP, 1);
	CHECK(0, "BNDACK with IP");

	rd_fo_msg_init(&m, RD_FO_STATE, 1, 2);
	CHECK(RD_FO_REJ_MISC, "STATE without server-state");
	static const struct {
		unsigned st;
		int want;
	} s[] = { { 0, 0 }, { 2, 0 }, { 11, 0 }, { 12, 6 }, { 253, 6 }, { 254, 0 }, { 255, 6 } };
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		rd_fo_set_uint(&m, RD_FO_OPT_SERVER_STATE, s[i].st);
		char what[32];
		snprintf(what, sizeof(what), "STATE %u", s[i].st);
		CHECK(s[i].want, what);
	}
	for (unsigned t = 1; t <= RD_FO_MSG_TYPE_MAX; t++) {
		if (t == RD_FO_BNDUPD || t == RD_FO_BNDACK || t == RD_FO_CONNECT || t == RD_FO_CONNECTACK ||
		    t == RD_FO_STATE)
			continue;
		rd_fo_msg_init(&m, (uint8_t)t, 1, 2);
		CHECK(0, rd_fo_msg_name(t));
	}
#undef CHECK
}

/* ------------------------------------------------------------ captures */

/* One direction of a TCP connection on port 647, reassembled. */
struct seg {
	uint32_t seq;
	uint32_t rel;       /* seq relative to the first payload byte */
	uint32_t len;
	unsigned frame;
	uint8_t *data;
};

struct flow {
	uint32_t src, dst;
	uint16_t sport, dport;
	bool syn;
	uint32_t isn;
	struct seg *segs;
	size_t n, cap;
	uint8_t *stream;
	size_t slen;
	unsigned retrans, gaps;
};

#define MAX_FLOWS 32
struct capture {
	struct flow f[MAX_FLOWS];
	size_t nf;
	unsigned frames, segments;
	bool overflow;
};

static struct flow *flow_of(struct capture *c, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	for (size_t i = 0; i < c->nf; i++) {
		struct flow *f = &c->f[i];
		if (f->src == src && f->dst == dst && f->sport == sport && f->dport == dport)
			return f;
	}
	if (c->nf == MAX_FLOWS) {
		c->overflow = true;
		return NULL;
	}
	struct flow *f = &c->f[c->nf++];
	memset(f, 0, sizeof(*f));
	f->src = src;
	f->dst = dst;
	f->sport = sport;
	f->dport = dport;
	return f;
}

/* Ethernet [802.1Q] / IPv4 / TCP by hand: rd_frame_parse_eth stops at UDP. */
static int on_frame(void *ctx, const rd_capture_frame_t *fr)
{
	struct capture *c = ctx;

	c->frames++;
	if (fr->linktype != 1)   /* DLT_EN10MB */
		return 0;
	rd_wire_t w = rd_wire_init_const(fr->data, fr->caplen);
	rd_wire_skip(&w, 12);
	uint16_t et = rd_wire_read_u16(&w);
	if (et == 0x8100) {
		rd_wire_skip(&w, 2);
		et = rd_wire_read_u16(&w);
	}
	if (et != 0x0800)
		return 0;
	size_t ip_at = rd_wire_tell(&w);
	uint8_t vihl = rd_wire_read_u8(&w);
	rd_wire_skip(&w, 1);
	uint16_t total = rd_wire_read_u16(&w);
	rd_wire_skip(&w, 4);
	rd_wire_skip(&w, 1);
	uint8_t proto = rd_wire_read_u8(&w);
	rd_wire_skip(&w, 2);
	uint32_t src = rd_wire_read_u32(&w), dst = rd_wire_read_u32(&w);
	size_t ihl = (size_t)(vihl & 15) * 4;
	if (!rd_wire_ok(&w) || vihl >> 4 != 4 || ihl < 20 || proto != 6 || total < ihl)
		return 0;
	rd_wire_truncate(&w, ip_at + total);   /* Ethernet padding is not payload */
	rd_wire_seek(&w, ip_at + ihl);
	size_t tcp_at = rd_wire_tell(&w);
	uint16_t sport = rd_wire_read_u16(&w), dport = rd_wire_read_u16(&w);
	uint32_t seq = rd_wire_read_u32(&w);
	rd_wire_skip(&w, 4);
	uint16_t offflags = rd_wire_read_u16(&w);
	size_t doff = (size_t)(offflags >> 12) * 4;
	if (!rd_wire_ok(&w) || doff < 20 || (sport != RD_FO_PORT && dport != RD_FO_PORT))
		return 0;
	rd_wire_seek(&w, tcp_at + doff);
	size_t plen = rd_wire_available(&w);
	const uint8_t *payload = rd_wire_view(&w, plen);
	if (!rd_wire_ok(&w))
		return 0;
	struct flow *f = flow_of(c, src, sport, dst, dport);
	if (!f)
		return 0;
	if (offflags & 0x02) {   /* SYN: data starts at isn + 1 */
		f->syn = true;
		f->isn = seq;
	}
	if (!plen)
		return 0;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct seg *s = realloc(f->segs, cap * sizeof(*s));
		if (!s)
			return RD_ENOMEM;
		f->segs = s;
		f->cap = cap;
	}
	struct seg *s = &f->segs[f->n];
	s->data = malloc(plen);
	if (!s->data)
		return RD_ENOMEM;
	memcpy(s->data, payload, plen);
	s->seq = seq;
	s->len = (uint32_t)plen;
	s->frame = fr->number;
	f->n++;
	c->segments++;
	return 0;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	if (x->rel != y->rel)
		return x->rel < y->rel ? -1 : 1;
	return x->frame < y->frame ? -1 : x->frame > y->frame;
}

/* Sequence order, not capture order (the Microsoft file is not time-sorted);
 * a segment wholly before the next expected byte is a retransmission. */
static void assemble(struct flow *f)
{
	size_t total = 0;

	if (!f->n)
		return;
	uint32_t base = f->segs[0].seq;
	if (f->syn)
		base = f->isn + 1;
	else
		for (size_t i = 1; i < f->n; i++)
			if ((int32_t)(f->segs[i].seq - base) < 0)
				base = f->segs[i].seq;
	for (size_t i = 0; i < f->n; i++) {
		f->segs[i].rel = f->segs[i].seq - base;
		total += f->segs[i].len;
	}
	qsort(f->segs, f->n, sizeof(f->segs[0]), cmp_seg);
	f->stream = malloc(total ? total : 1);
	if (!f->stream)
		return;
	for (size_t i = 0; i < f->n; i++) {
		struct seg *s = &f->segs[i];
		uint64_t end = (uint64_t)s->rel + s->len;
		if (end <= f->slen) {
			f->retrans++;
			continue;
		}
		if (s->rel > f->slen) {
			f->gaps++;
			break;
		}
		size_t skip = f->slen - s->rel;
		memcpy(f->stream + f->slen, s->data + skip, s->len - skip);
		f->slen += s->len - skip;
	}
}

static void capture_free(struct capture *c)
{
	for (size_t i = 0; i < c->nf; i++) {
		for (size_t k = 0; k < c->f[i].n; k++)
			free(c->f[i].segs[k].data);
		free(c->f[i].segs);
		free(c->f[i].stream);
	}
	c->nf = 0;
}

static int load_capture(const char *path, struct capture *c)
{
	char err[512] = "";
	memset(c, 0, sizeof(*c));
	int r = rd_capture_foreach(path, on_frame, c, err, sizeof(err));
	if (r != 0)
		diag("%s: %s", path, err);
	for (size_t i = 0; i < c->nf; i++)
		assemble(&c->f[i]);
	return r;
}

/* The messages of one direction: offsets into its stream. */
struct msglist {
	size_t n;
	size_t off[4096];
	size_t len[4096];
	int stop;            /* frame_len's last result (0 = clean end or need more) */
	size_t leftover;     /* bytes after the last whole message */
	char why[128];
};

static void split_stream(const struct flow *f, struct msglist *l)
{
	size_t off = 0, ml;
	rd_diag_t d;

	l->n = 0;
	l->stop = 0;
	l->why[0] = '\0';
	for (;;) {
		rd_diag_clear(&d);
		int r = rd_fo_frame_len(f->stream + off, f->slen - off, &ml, &d);
		if (r != 1) {
			l->stop = r;
			snprintf(l->why, sizeof(l->why), "%s", d.reason);
			break;
		}
		if (l->n < sizeof(l->off) / sizeof(l->off[0])) {
			l->off[l->n] = off;
			l->len[l->n] = ml;
			l->n++;
		}
		off += ml;
	}
	l->leftover = f->slen - off;
}

/* ---- tshark's decode of the first frames, isc-failover-decoded.txt */

struct txtmsg {
	uint32_t src;
	uint32_t have;   /* RD_FO_BIT per option seen, plus bit 0 for the header time */
	int type;
	uint32_t xid, time;
	uint32_t v[RD_FO_OPT_MAX + 1];
	char s[RD_FO_OPT_MAX + 1][96];
};

static uint32_t parse_ip(const char *s)
{
	unsigned a, b, c, d;
	return sscanf(s, "%u.%u.%u.%u", &a, &b, &c, &d) == 4 ? a << 24 | b << 16 | c << 8 | d : 0;
}

/* "Nov 26, 2026 10:45:15 UTC" */
static uint32_t parse_date(const char *s)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char m[4];
	struct tm tm = { 0 };
	if (sscanf(s, "%3s %d, %d %d:%d:%d", m, &tm.tm_mday, &tm.tm_year, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0xffffffffu;
	for (int i = 0; i < 12; i++)
		if (!strcmp(m, mon[i]))
			tm.tm_mon = i;
	tm.tm_year -= 1900;
	return (uint32_t)timegm(&tm);
}

/* The number in the last "(...)" of a line: "server status: recover (6)". */
static uint32_t paren_num(const char *s)
{
	const char *p = strrchr(s, '(');
	return p ? (uint32_t)strtoul(p + 1, NULL, 0) : 0xffffffffu;
}

static size_t parse_txt(const char *path, struct txtmsg *t, size_t max)
{
	FILE *fp = fopen(path, "r");
	char line[512];
	uint32_t src = 0;
	size_t n = 0;
	struct txtmsg *cur = NULL;

	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = '\0';
		const char *s = line + strspn(line, " ");
		size_t indent = (size_t)(s - line);
		const char *v;
#define FIELD(prefix) (!strncmp(s, prefix, sizeof(prefix) - 1) && (v = s + sizeof(prefix) - 1))
#define SET(code, val) (cur->v[code] = (val), cur->have |= RD_FO_BIT(code))
#define SETS(code) (snprintf(cur->s[code], sizeof(cur->s[code]), "%s", v), cur->have |= RD_FO_BIT(code))
		if (FIELD("Internet Protocol Version 4, Src: ")) {
			src = parse_ip(v);
		} else if (indent == 0 && !strcmp(s, "DHCP Failover")) {
			cur = n < max ? &t[n++] : NULL;
			if (cur) {
				memset(cur, 0, sizeof(*cur));
				cur->src = src;
			}
		} else if (!cur) {
			continue;
		} else if (FIELD("Message Type: ")) {
			cur->type = (int)paren_num(v);
		} else if (FIELD("Xid: ")) {
			cur->xid = (uint32_t)strtoul(v, NULL, 16);
		} else if (indent == 4 && FIELD("Time: ")) {
			cur->time = parse_date(v);
			cur->have |= 1;
		} else if (FIELD("server status: ")) {
			SET(RD_FO_OPT_SERVER_STATE, paren_num(v));
		} else if (FIELD("Serverflag: ")) {
			SET(RD_FO_OPT_SERVER_FLAGS, paren_num(v));
		} else if (FIELD("Type: ")) {
			SET(RD_FO_OPT_BINDING_STATUS, paren_num(v));
		} else if (FIELD("assigned ip address: ")) {
			SET(RD_FO_OPT_ASSIGNED_IP, parse_ip(v));
		} else if (FIELD("Relationship name: ")) {
			SETS(RD_FO_OPT_RELATIONSHIP_NAME);
		} else if (FIELD("Vendor class: ")) {
			SETS(RD_FO_OPT_VENDOR_CLASS);
		} else if (FIELD("Message: ")) {
			SETS(RD_FO_OPT_MESSAGE);
		} else if (FIELD("Hash bucket assignment: ")) {
			SETS(RD_FO_OPT_HBA);
		} else if (FIELD("Max unacked BNDUPD: ")) {
			SET(RD_FO_OPT_MAX_UNACKED, (uint32_t)strtoul(v, NULL, 10));
		} else if (FIELD("Receive timer: ")) {
			SET(RD_FO_OPT_RECEIVE_TIMER, (uint32_t)strtoul(v, NULL, 10));
		} else if (FIELD("MCLT: ")) {
			SET(RD_FO_OPT_MCLT, (uint32_t)strtoul(v, NULL, 10));
		} else if (FIELD("Protocol version: ")) {
			SET(RD_FO_OPT_PROTOCOL_VERSION, (uint32_t)strtoul(v, NULL, 10));
		} else if (FIELD("TLS Request: ")) {
			SET(RD_FO_OPT_TLS_REQUEST, paren_num(v));
		} else if (FIELD("TLS Reply: ")) {
			SET(RD_FO_OPT_TLS_REPLY, paren_num(v));
		} else if (FIELD("Reject reason: ")) {
			SET(RD_FO_OPT_REJECT_REASON, paren_num(v));
		} else if (FIELD("Lease expiration time: ")) {
			SET(RD_FO_OPT_LEASE_EXPIRY, parse_date(v));
		} else if (FIELD("Potential expiration time: ")) {
			SET(RD_FO_OPT_POTENTIAL_EXPIRY, parse_date(v));
		} else if (FIELD("Start time of state: ")) {
			SET(RD_FO_OPT_STOS, parse_date(v));
		} else if (FIELD("Client last transaction time: ")) {
			SET(RD_FO_OPT_CLTT, parse_date(v));
		}
#undef FIELD
#undef SET
#undef SETS
	}
	fclose(fp);
	return n;
}

/* Compare what tshark printed with what we decoded; "" when they agree. */
static const char *txt_mismatch(const struct txtmsg *t, const rd_fo_msg_t *m, char *why, size_t cap)
{
	why[0] = '\0';
	if (t->type != m->type || t->xid != m->xid || ((t->have & 1) && t->time != m->time)) {
		snprintf(why, cap, "header: tshark type %d xid %u time %u, ours %u %u %u", t->type, t->xid, t->time,
			 m->type, m->xid, m->time);
		return why;
	}
	for (unsigned c = 1; c <= RD_FO_OPT_MAX; c++) {
		if (!(t->have & RD_FO_BIT(c)))
			continue;
		if (!rd_fo_has(m, c)) {
			snprintf(why, cap, "option %u missing", c);
			return why;
		}
		size_t len;
		const uint8_t *p = rd_fo_get_bytes(m, c, &len);
		if (!p) {
			uint32_t got;
			switch (c) {
			case RD_FO_OPT_SERVER_STATE: got = m->server_state; break;
			case RD_FO_OPT_SERVER_FLAGS: got = m->server_flags; break;
			case RD_FO_OPT_BINDING_STATUS: got = m->binding_status; break;
			case RD_FO_OPT_ASSIGNED_IP: got = m->assigned_ip; break;
			case RD_FO_OPT_MAX_UNACKED: got = m->max_unacked; break;
			case RD_FO_OPT_RECEIVE_TIMER: got = m->receive_timer; break;
			case RD_FO_OPT_MCLT: got = m->mclt; break;
			case RD_FO_OPT_PROTOCOL_VERSION: got = m->protocol_version; break;
			case RD_FO_OPT_TLS_REQUEST: got = m->tls_request; break;
			case RD_FO_OPT_TLS_REPLY: got = m->tls_reply; break;
			case RD_FO_OPT_REJECT_REASON: got = m->reject_reason; break;
			case RD_FO_OPT_LEASE_EXPIRY: got = m->lease_expiry; break;
			case RD_FO_OPT_POTENTIAL_EXPIRY: got = m->potential_expiry; break;
			case RD_FO_OPT_STOS: got = m->stos; break;
			case RD_FO_OPT_CLTT: got = m->cltt; break;
			default: continue;
			}
			if (got != t->v[c]) {
				snprintf(why, cap, "option %u: tshark %u, ours %u", c, t->v[c], got);
				return why;
			}
			continue;
		}
		char ours[96] = "";
		if (c == RD_FO_OPT_HBA) {
			for (size_t i = 0; i < len && 2 * i + 2 < sizeof(ours); i++)
				snprintf(ours + 2 * i, 3, "%02x", p[i]);
		} else {
			snprintf(ours, sizeof(ours), "%.*s", (int)len, (const char *)p);
		}
		if (strcmp(ours, t->s[c])) {
			snprintf(why, cap, "option %u: tshark \"%s\", ours \"%s\"", c, t->s[c], ours);
			return why;
		}
	}
	return why;
}

#define ISC_PRIMARY   0xc0000201u   /* 192.0.2.1 */
#define ISC_SECONDARY 0xc0000202u

static const rd_fo_msg_t *find_xid(const rd_fo_msg_t *v, size_t n, uint8_t type, uint32_t xid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].type == type && v[i].xid == xid)
			return &v[i];
	return NULL;
}

static void test_isc_capture(const char *pcaps)
{
	char path[1024], txt[1024];
	static struct capture c;
	static struct msglist l;
	static struct txtmsg t[400];
	rd_diag_t d;

	snprintf(path, sizeof(path), "%s/isc-failover.pcap", pcaps);
	snprintf(txt, sizeof(txt), "%s/isc-failover-decoded.txt", pcaps);
	if (access(path, R_OK) != 0) {
		skip("isc-failover.pcap not in %s", pcaps);
		return;
	}
	is_int(load_capture(path, &c), 0, "isc-failover.pcap read (%u frames, %u TCP/647 segments)", c.frames,
	       c.segments);

	/* decoded messages of each direction, primary first */
	static rd_fo_msg_t dirmsg[2][700];
	size_t ndir[2] = { 0, 0 }, total = 0, undecoded = 0, failed_check = 0, noncanonical = 0;
	unsigned per_type[16] = { 0 }, rejects16 = 0, bndupd_xid0 = 0;
	for (size_t i = 0; i < c.nf; i++) {
		struct flow *f = &c.f[i];
		if (!f->slen)
			continue;
		int dir = f->src == ISC_PRIMARY ? 0 : 1;
		split_stream(f, &l);
		ok(l.stop == 0 && l.leftover == 0 && f->gaps == 0,
		   "%s stream (%zu bytes, %u retransmitted segments): %zu messages, clean end%s%s",
		   dir ? "secondary" : "primary", f->slen, f->retrans, l.n, l.why[0] ? ": " : "", l.why);
		for (size_t k = 0; k < l.n; k++) {
			const uint8_t *p = f->stream + l.off[k];
			static rd_fo_msg_t m;
			total++;
			if (dec(p, l.len[k], &m, &d) != 0) {
				if (undecoded++ < 5)
					diag("%s message %zu: %s", dir ? "secondary" : "primary", k, d.reason);
				continue;
			}
			rd_diag_clear(&d);
			if (rd_fo_msg_check(&m, &d) != 0 && failed_check++ < 5)
				diag("check %s xid %u: %s", rd_fo_msg_name(m.type), m.xid, d.reason);
			uint8_t enc[RD_FO_MSG_MAX];
			int n = rd_fo_encode(&m, enc, sizeof(enc));
			if (n != (int)l.len[k] || memcmp(enc, p, l.len[k])) {
				if (noncanonical++ < 5) {
					diag("not canonical: %s xid %u", rd_fo_msg_name(m.type), m.xid);
					diag_hexdump("ISC", p, l.len[k]);
					diag_hexdump("ours", enc, n > 0 ? (size_t)n : 0);
				}
			}
			per_type[m.type & 15]++;
			rejects16 += m.type == RD_FO_BNDACK && rd_fo_has(&m, RD_FO_OPT_REJECT_REASON) &&
				     m.reject_reason == RD_FO_REJ_LESS_CRITICAL_BINDINFO;
			bndupd_xid0 += m.type == RD_FO_BNDUPD && m.xid == 0;
			if (ndir[dir] < 700)
				dirmsg[dir][ndir[dir]++] = m;
		}
	}
	is_int((long long)total, 1176, "1176 failover messages (588 each way, as tshark counts)");
	is_int((long long)ndir[0], 588, "588 from the primary");
	is_int((long long)undecoded, 0, "every ISC message decodes");
	is_int((long long)failed_check, 0, "every ISC message passes rd_fo_msg_check");
	is_int((long long)noncanonical, 0, "every ISC message re-encodes to the same bytes");
	ok(per_type[RD_FO_CONNECT] == 1 && per_type[RD_FO_CONNECTACK] == 1 && per_type[RD_FO_STATE] == 8 &&
	   per_type[RD_FO_UPDREQALL] == 4 && per_type[RD_FO_UPDDONE] == 2 && per_type[RD_FO_BNDUPD] == 580 &&
	   per_type[RD_FO_BNDACK] == 580,
	   "per type: CONNECT %u CONNECTACK %u STATE %u UPDREQALL %u UPDDONE %u BNDUPD %u BNDACK %u",
	   per_type[5], per_type[6], per_type[10], per_type[7], per_type[8], per_type[3], per_type[4]);
	is_int(bndupd_xid0, 0, "no BNDUPD uses xid 0");
	diag("BNDACKs rejecting with 16 (less critical binding information): %u", rejects16);

	/* against tshark's text */
	size_t nt = parse_txt(txt, t, sizeof(t) / sizeof(t[0]));
	size_t seen[2] = { 0, 0 }, bad = 0;
	for (size_t i = 0; i < nt; i++) {
		int dir = t[i].src == ISC_PRIMARY ? 0 : 1;
		char why[200];
		if (seen[dir] >= ndir[dir]) {
			bad++;
			continue;
		}
		const rd_fo_msg_t *m = &dirmsg[dir][seen[dir]++];
		if (txt_mismatch(&t[i], m, why, sizeof(why))[0] && bad++ < 5)
			diag("decoded.txt message %zu: %s", i, why);
	}
	ok(nt == 80 && bad == 0, "all %zu messages of isc-failover-decoded.txt (frames 6-14) match our decode", nt);

	/* a handful by hand */
	const rd_fo_msg_t *p0 = ndir[0] ? &dirmsg[0][0] : NULL, *s0 = ndir[1] ? &dirmsg[1][0] : NULL;
	size_t len;
	const uint8_t *v;
	ok(p0 && p0->type == RD_FO_CONNECT && p0->xid == 0 && p0->time == 1795689915 && p0->mclt == 3600 &&
	   p0->max_unacked == 10 && p0->receive_timer == 60 && p0->protocol_version == 1 && p0->tls_request == 0 &&
	   rd_fo_hba(p0) && !memcmp(rd_fo_hba(p0), hba_255, 32) &&
	   (v = rd_fo_get_bytes(p0, RD_FO_OPT_RELATIONSHIP_NAME, &len)) && len == 4 && !memcmp(v, "bxfo", 4) &&
	   (v = rd_fo_get_bytes(p0, RD_FO_OPT_VENDOR_CLASS, &len)) && len == 12 && !memcmp(v, "isc-4.4.3-P1", 12),
	   "primary's CONNECT: bxfo, mclt 3600, max-unacked 10, receive-timer 60, HBA ff..7f (split 255)");
	ok(s0 && s0->type == RD_FO_CONNECTACK && s0->xid == 0 && rd_fo_has(s0, RD_FO_OPT_TLS_REPLY) &&
	   !rd_fo_has(s0, RD_FO_OPT_REJECT_REASON) && ndir[1] > 1 && dirmsg[1][1].type == RD_FO_STATE &&
	   dirmsg[1][1].server_state == RD_FO_ST_RECOVER && dirmsg[1][1].server_flags == RD_FO_SERVER_FLAG_STARTUP,
	   "secondary: CONNECTACK then STATE(recover, STARTUP)");
	const rd_fo_msg_t *a = find_xid(dirmsg[0], ndir[0], RD_FO_BNDUPD, 0x161);
	static const uint8_t ch1[] = { 1, 0x92, 0x8b, 0xab, 0x4e, 0x48, 0xce };
	ok(a && a->binding_status == RD_FO_BS_ACTIVE && a->assigned_ip == 0xc0000287 && a->time == 1795689919 &&
	   a->stos == 1795689919 && a->cltt == 1795689919 && a->lease_expiry == 1795689919 + 3600 &&
	   a->potential_expiry == 1795689919 + 5400 && !rd_fo_has(a, RD_FO_OPT_CLIENT_ID) &&
	   (v = rd_fo_get_bytes(a, RD_FO_OPT_CHADDR, &len)) && len == 7 && !memcmp(v, ch1, 7),
	   "BNDUPD 0x161: 192.0.2.135 active, ends +3600 (mclt), pexp +5400, chaddr 01:92:8b:ab:4e:48:ce");
	const rd_fo_msg_t *rel = find_xid(dirmsg[0], ndir[0], RD_FO_BNDUPD, 0x162);
	ok(rel && rel->binding_status == RD_FO_BS_RELEASED && rel->assigned_ip == 0xc0000287 &&
	   rel->lease_expiry == rel->time && rel->potential_expiry == rel->time && rel->stos == 1795689919,
	   "BNDUPD 0x162: released, ends = pexp = now");
	const rd_fo_msg_t *ack = find_xid(dirmsg[1], ndir[1], RD_FO_BNDACK, 0x161);
	ok(ack && ack->has == RD_FO_BIT(RD_FO_OPT_ASSIGNED_IP) && ack->assigned_ip == 0xc0000287 &&
	   ack->time == 1795689921,
	   "BNDACK 0x161 from the secondary: assigned-IP only, 2 s later (ISC's delayed ack)");
	const rd_fo_msg_t *rs = find_xid(dirmsg[0], ndir[0], RD_FO_BNDACK, 0x15);
	ok(rs && rs->reject_reason == RD_FO_REJ_LESS_CRITICAL_BINDINFO &&
	   (v = rd_fo_get_bytes(rs, RD_FO_OPT_MESSAGE, &len)) && len == 53,
	   "BNDACK 0x15 from the primary rejects with 16 and a 53-byte message");
	unsigned recover_done = 0;
	for (int dir = 0; dir < 2; dir++)
		for (size_t k = 0; k < ndir[dir]; k++)
			recover_done += dirmsg[dir][k].type == RD_FO_STATE &&
					dirmsg[dir][k].server_state == RD_FO_ST_RECOVER_DONE;
	ok(recover_done == 2, "both sides report recover-done (%u)", recover_done);
	capture_free(&c);
}

/* The Microsoft pair: payload offset 8, digests, batched segments, IP-flags
 * of one byte.  It must be refused cleanly, and its messages, read the way
 * Wireshark reads offset 8, must decode or be refused with a reason. */
static void test_ms_capture(const char *dir)
{
	char path[1024];
	static struct capture c;
	static struct msglist l;
	rd_diag_t d;

	snprintf(path, sizeof(path), "%s/netdhcp__dhcpfo.pcapng", dir);
	if (access(path, R_OK) != 0) {
		skip("netdhcp__dhcpfo.pcapng not in %s", dir);
		return;
	}
	is_int(load_capture(path, &c), 0, "netdhcp__dhcpfo.pcapng read (%u frames, %u TCP/647 segments)", c.frames,
	       c.segments);
	size_t streams = 0, refused_first = 0, msgs = 0, leftovers = 0, decoded = 0, refused = 0, poff8 = 0;
	size_t ipflags = 0, other = 0, contracts = 0;
	for (size_t i = 0; i < c.nf; i++) {
		struct flow *f = &c.f[i];
		if (!f->slen)
			continue;
		streams++;
		split_stream(f, &l);
		if (l.n == 0 && l.stop == RD_EUNSUPPORTED && strstr(l.why, "payload offset 8 below 12"))
			refused_first++;
		else
			diag("stream %zu: %zu messages, stop %d %s", streams, l.n, l.stop, l.why);
		/* Walk by the length field alone, as tshark does. */
		size_t off = 0;
		while (f->slen - off >= RD_FO_HDR_LEN) {
			rd_wire_t w = rd_wire_init_const(f->stream + off, f->slen - off);
			size_t ml = rd_wire_read_u16(&w);
			if (ml < RD_FO_HDR_LEN || ml > RD_FO_MSG_MAX || ml > f->slen - off)
				break;
			uint8_t copy[RD_FO_MSG_MAX];
			memcpy(copy, f->stream + off, ml);
			static rd_fo_msg_t m, back;
			if (dec(copy, ml, &m, &d) == RD_EUNSUPPORTED && strstr(d.reason, "below 12"))
				poff8++;
			if (copy[3] == 8)
				copy[3] = 12;
			int r = dec(copy, ml, &m, &d);
			msgs++;
			if (r == 0) {
				decoded++;
				char line[512];
				rd_diag_clear(&d);
				(void)rd_fo_msg_check(&m, &d);
				rd_fo_msg_print(&m, line, sizeof(line));
				if (decoded <= 3)
					diag("MS: %s", line);
				uint8_t enc[RD_FO_MSG_MAX];
				int n = rd_fo_encode(&m, enc, sizeof(enc));
				contracts += n > 0 && dec(enc, (size_t)n, &back, &d) == 0 && rd_fo_msg_equal(&m, &back);
			} else {
				refused++;
				if (r == RD_EOPTLEN && strstr(d.reason, "(IP-flags) length 1"))
					ipflags++;
				else if (other++ < 3)
					diag("MS refused: %s", d.reason);
				if (!d.reason[0] || d.code != r)
					other += 1000;
			}
			off += ml;
		}
		leftovers += f->slen - off;
	}
	ok(streams >= 2 && refused_first == streams, "all %zu Microsoft streams refused at once: payload offset 8",
	   streams);
	is_int((long long)msgs, 138, "138 messages found by their length fields (as tshark finds them)");
	is_int((long long)poff8, 138, "each refused alone for its offset");
	is_int((long long)leftovers, 0, "no bytes left over");
	ok(decoded + refused == msgs && other == 0 && ipflags == 9 + 8,
	   "read as offset 12: %zu decode, %zu refused (%zu for one-byte IP-flags)", decoded, refused, ipflags);
	is_int((long long)contracts, (long long)decoded, "every decoded one re-encodes and decodes equal");
	capture_free(&c);
}

/* ------------------------------------------------------------ tshark */

static void le16(rd_wire_t *w, uint16_t v)
{
	rd_wire_write_u8(w, (uint8_t)v);
	rd_wire_write_u8(w, (uint8_t)(v >> 8));
}

static void le32(rd_wire_t *w, uint32_t v)
{
	le16(w, (uint16_t)v);
	le16(w, (uint16_t)(v >> 16));
}

/* One Ethernet/IPv4/TCP frame around a failover message, checksums valid. */
static size_t tcp_frame(uint8_t *buf, size_t cap, uint32_t seq, const uint8_t *msg, size_t len)
{
	const uint32_t src = 0xc0000201, dst = 0xc0000202;
	rd_wire_t w = rd_wire_init(buf, cap);
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };

	rd_wire_write_bytes(&w, macs, 12);
	rd_wire_write_u16(&w, 0x0800);
	rd_wire_write_u8(&w, 0x45);
	rd_wire_write_u8(&w, 0);
	rd_wire_write_u16(&w, (uint16_t)(20 + 20 + len));
	rd_wire_write_u16(&w, (uint16_t)seq);
	rd_wire_write_u16(&w, 0x4000);
	rd_wire_write_u8(&w, 64);
	rd_wire_write_u8(&w, 6);
	rd_wire_write_u16(&w, 0);
	rd_wire_write_u32(&w, src);
	rd_wire_write_u32(&w, dst);
	rd_wire_write_u16(&w, RD_FO_PORT);
	rd_wire_write_u16(&w, 45867);
	rd_wire_write_u32(&w, seq);
	rd_wire_write_u32(&w, 1);
	rd_wire_write_u16(&w, 0x5018);   /* 20-byte header, PSH ACK */
	rd_wire_write_u16(&w, 65535);
	rd_wire_write_u16(&w, 0);
	rd_wire_write_u16(&w, 0);
	rd_wire_write_bytes(&w, msg, len);
	size_t n = rd_wire_tell(&w);
	rd_wire_patch_u16(&w, 24, rd_csum_fold(rd_wire_csum_add(&w, 14, 20, 0)));
	uint32_t acc = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + (uint32_t)(20 + len);
	rd_wire_patch_u16(&w, 50, rd_csum_fold(rd_wire_csum_add(&w, 34, 20 + len, acc)));
	return rd_wire_ok(&w) ? n : 0;
}

static void test_tshark(void)
{
	const char *tshark = getenv("TSHARK");
	char path[] = "/tmp/test_fo_msg_XXXXXX";
	static uint8_t file[MAX_OUT * (RD_FO_MSG_MAX + 80) + 24];

	if (!tshark || !*tshark || access(tshark, X_OK) != 0) {
		skip("TSHARK not set or not executable");
		return;
	}
	if (n_out == 0) {
		ok(0, "no messages to give tshark");
		return;
	}
	rd_wire_t w = rd_wire_init(file, sizeof(file));
	le32(&w, 0xa1b2c3d4);
	le16(&w, 2);
	le16(&w, 4);
	le32(&w, 0);
	le32(&w, 0);
	le32(&w, 65535);
	le32(&w, 1);
	uint32_t seq = 1000;
	for (size_t i = 0; i < n_out; i++) {
		uint8_t frame[RD_FO_MSG_MAX + 80];
		size_t fl = tcp_frame(frame, sizeof(frame), seq, out[i].bytes, out[i].len);
		seq += (uint32_t)out[i].len;
		le32(&w, 1795689915u + (uint32_t)i);
		le32(&w, 0);
		le32(&w, (uint32_t)fl);
		le32(&w, (uint32_t)fl);
		rd_wire_write_bytes(&w, frame, fl);
	}
	int fd = mkstemp(path);
	ok(fd >= 0 && rd_wire_ok(&w) && write(fd, file, rd_wire_tell(&w)) == (ssize_t)rd_wire_tell(&w),
	   "wrote %zu encoded messages into %s", n_out, path);
	if (fd >= 0)
		close(fd);

	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "'%s' -n -r '%s' -d tcp.port==647,dhcpfo -o tcp.check_checksum:TRUE -V 2>&1",
		 tshark, path);
	FILE *p = popen(cmd, "r");
	size_t pdus = 0, errors = 0, warnings = 0, badcsum = 0;
	char line[1024];
	while (p && fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strcmp(line, "DHCP Failover"))
			pdus++;
		if (strstr(line, "[Expert Info (Error") || strstr(line, "Malformed Packet")) {
			if (errors++ < 5)
				diag("tshark: %s", line);
		}
		if (strstr(line, "[Expert Info (Warning")) {
			if (warnings++ < 5)
				diag("tshark: %s", line);
		}
		if (strstr(line, "[Checksum Status: Bad]"))
			badcsum++;
	}
	int rc = p ? pclose(p) : -1;
	is_int(rc, 0, "tshark ran");
	is_int((long long)pdus, (long long)n_out, "tshark sees %zu dhcpfo messages", n_out);
	is_int((long long)errors, 0, "no expert errors or malformed packets");
	is_int((long long)badcsum, 0, "checksums valid");
	diag("tshark warnings: %zu (Wireshark reads client-identifier as a string: \"trailing stray characters\")",
	     warnings);
	unlink(path);
}

/* ------------------------------------------------------------ seed corpus */

static void write_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s.bin", dir, name);
	FILE *fp = fopen(path, "wb");
	if (fp) {
		fwrite(p, 1, n, fp);
		fclose(fp);
	}
}

/* Handcrafted inputs beside the encoder's: framing and option corner cases. */
static void write_corpus(const char *dir)
{
	static raw_t r;
	static uint8_t stream[4 * RD_FO_MSG_MAX];
	size_t n = 0;
	uint8_t ip[4] = { 192, 0, 2, 20 }, one = 1, two = 2;

	mkdir(dir, 0755);
	for (size_t i = 0; i < n_out; i++)
		write_file(dir, out[i].name, out[i].bytes, out[i].len);
	/* ISC's start: CONNECTACK + STATE(recover, STARTUP) + UPDREQALL, one stream */
	static rd_fo_msg_t m;
	rd_fo_msg_init(&m, RD_FO_CONNECTACK, 1795689915, 0);
	rd_fo_set_str(&m, RD_FO_OPT_RELATIONSHIP_NAME, "bxfo");
	rd_fo_set_uint(&m, RD_FO_OPT_MAX_UNACKED, 10);
	rd_fo_set_uint(&m, RD_FO_OPT_RECEIVE_TIMER, 60);
	rd_fo_set_str(&m, RD_FO_OPT_VENDOR_CLASS, "isc-4.4.3-P1");
	rd_fo_set_uint(&m, RD_FO_OPT_PROTOCOL_VERSION, 1);
	rd_fo_set_uint(&m, RD_FO_OPT_TLS_REPLY, 0);
	n += (size_t)rd_fo_encode(&m, stream + n, sizeof(stream) - n);
	rd_fo_msg_init(&m, RD_FO_STATE, 1795689915, 0);
	rd_fo_set_uint(&m, RD_FO_OPT_SERVER_STATE, RD_FO_ST_RECOVER);
	rd_fo_set_uint(&m, RD_FO_OPT_SERVER_FLAGS, 1);
	rd_fo_set_uint(&m, RD_FO_OPT_STOS, 1795689915);
	n += (size_t)rd_fo_encode(&m, stream + n, sizeof(stream) - n);
	rd_fo_msg_init(&m, RD_FO_UPDREQALL, 1795689915, 3);
	n += (size_t)rd_fo_encode(&m, stream + n, sizeof(stream) - n);
	write_file(dir, "stream-connectack-state-updreqall", stream, n);
	/* BNDUPD active, as ISC sends it */
	rd_fo_msg_init(&m, RD_FO_BNDUPD, 1795689919, 0x161);
	rd_fo_set_uint(&m, RD_FO_OPT_ASSIGNED_IP, 0xc0000287);
	rd_fo_set_uint(&m, RD_FO_OPT_BINDING_STATUS, RD_FO_BS_ACTIVE);
	rd_fo_set_bytes(&m, RD_FO_OPT_CHADDR, "\x01\x92\x8b\xab\x4e\x48\xce", 7);
	rd_fo_set_uint(&m, RD_FO_OPT_LEASE_EXPIRY, 1795689919 + 3600);
	rd_fo_set_uint(&m, RD_FO_OPT_POTENTIAL_EXPIRY, 1795689919 + 5400);
	rd_fo_set_uint(&m, RD_FO_OPT_STOS, 1795689919);
	rd_fo_set_uint(&m, RD_FO_OPT_CLTT, 1795689919);
	n = (size_t)rd_fo_encode(&m, stream, sizeof(stream));
	write_file(dir, "bndupd-active", stream, n);
	/* BNDACK rejecting, as ISC sends it */
	rd_fo_msg_init(&m, RD_FO_BNDACK, 1795689915, 0x15);
	rd_fo_set_uint(&m, RD_FO_OPT_ASSIGNED_IP, 0xc0000225);
	rd_fo_set_uint(&m, RD_FO_OPT_REJECT_REASON, 16);
	rd_fo_set_str(&m, RD_FO_OPT_MESSAGE, "incoming update is less critical than outgoing update");
	n = (size_t)rd_fo_encode(&m, stream, sizeof(stream));
	write_file(dir, "bndack-reject", stream, n);
	/* payload offset 16 with header bytes that look like an option */
	raw_begin(&r, RD_FO_BNDACK, 16);
	raw_opt(&r, RD_FO_OPT_ASSIGNED_IP, ip, 4);
	write_file(dir, "poff16", r.buf, raw_end(&r));
	/* Microsoft style: offset 8, digest first, one-byte IP-flags, unknown codes */
	raw_begin(&r, RD_FO_BNDUPD, 8);
	raw_fill_opt(&r, RD_FO_OPT_MESSAGE_DIGEST, 2, 33);
	raw_opt(&r, RD_FO_OPT_ASSIGNED_IP, ip, 4);
	raw_opt(&r, RD_FO_OPT_BINDING_STATUS, &one, 1);
	raw_opt(&r, RD_FO_OPT_IP_FLAGS, &one, 1);
	raw_fill_opt(&r, 33, 0, 4);
	raw_fill_opt(&r, 41, 0, 4);
	write_file(dir, "ms-style-bndupd", r.buf, raw_end(&r));
	/* a batched BNDUPD: two bindings, repeated options */
	raw_begin(&r, RD_FO_BNDUPD, 12);
	raw_opt(&r, RD_FO_OPT_ASSIGNED_IP, ip, 4);
	raw_opt(&r, RD_FO_OPT_BINDING_STATUS, &one, 1);
	ip[3]++;
	raw_opt(&r, RD_FO_OPT_ASSIGNED_IP, ip, 4);
	raw_opt(&r, RD_FO_OPT_BINDING_STATUS, &two, 1);
	write_file(dir, "batched-bndupd", r.buf, raw_end(&r));
	/* skipped options of every kind in a STATE, DDNS with content among them */
	raw_begin(&r, RD_FO_STATE, 12);
	raw_opt(&r, RD_FO_OPT_SERVER_STATE, &two, 1);
	raw_fill_opt(&r, RD_FO_OPT_DDNS, 'a', 9);
	raw_fill_opt(&r, RD_FO_OPT_IP_FLAGS, 0, 1);
	raw_fill_opt(&r, 0, 0, 2);
	raw_fill_opt(&r, RD_FO_OPT_HBA, 0xff, 32);
	write_file(dir, "state-skipped-options", r.buf, raw_end(&r));
	diag("seed corpus written to %s", dir);
}

int main(void)
{
	plan_lazy();
	test_roundtrip();
	test_isc_connect_layout();
	test_option_lengths();
	test_option_walk();
	test_framing();
	test_setters_encoder();
	test_names();
	test_print();
	test_check();

	const char *shared = getenv("RD_SHARED_PCAPS");
	struct stat st;
	if (shared && *shared && stat(shared, &st) == 0 && S_ISDIR(st.st_mode)) {
		test_isc_capture(shared);
		test_ms_capture(shared);
	} else {
		skip("RD_SHARED_PCAPS (%s) is not a directory: capture checks", shared ? shared : "unset");
	}
	test_tshark();

	const char *corpus = getenv("RD_FO_WRITE_CORPUS");
	if (corpus && *corpus)
		write_corpus(corpus);
	return done_testing();
}
