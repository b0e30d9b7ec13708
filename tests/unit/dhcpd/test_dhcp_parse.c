/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_dhcp_parse.c — rd_dhcp_parse() and its accessors, plus the text
 * printers (rd_dhcp_summary, rd_dhcp_dump) that read its result.
 *
 * Packets are built here with a writing rd_wire_t, so each test states the
 * exact bytes it feeds in.  Besides the decoded values, the robustness tests
 * parse every prefix of a valid packet and a few thousand seeded mutations:
 * the parser must never read out of bounds (the sanitizer build catches
 * that) and must always either succeed or return an RD_E* with a reason.
 */
#include <stdio.h>
#include <string.h>

#include "rackdhcp/dhcp.h"
#include "rackdhcp/wire.h"
#include "tap.h"

#define MAC 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc

typedef struct {
	uint8_t buf[RD_DHCP_MAX_LEN + 64];
	rd_wire_t w;
} pkt_t;

static rd_dhcp_t msg;
static rd_diag_t dg;
static pkt_t pk;

/*
 * BOOTP header with fixed test values; sname/file are raw bytes (NULL:
 * zeros), so tests can put options there.
 */
static void pkt_header(pkt_t *p, uint8_t op, const uint8_t *sname, size_t sn, const uint8_t *file,
		       size_t fn)
{
	static const uint8_t mac[] = { MAC };

	memset(p->buf, 0, sizeof(p->buf));
	p->w = rd_wire_init(p->buf, sizeof(p->buf));
	rd_wire_write_u8(&p->w, op);
	rd_wire_write_u8(&p->w, 1);
	rd_wire_write_u8(&p->w, 6);
	rd_wire_write_u8(&p->w, 2);
	rd_wire_write_u32(&p->w, 0x1234abcd);
	rd_wire_write_u16(&p->w, 7);
	rd_wire_write_u16(&p->w, 0x8000);
	rd_wire_write_u32(&p->w, 0x0a000005);   /* ciaddr 10.0.0.5 */
	rd_wire_write_u32(&p->w, 0);
	rd_wire_write_u32(&p->w, 0xc0a80101);   /* siaddr 192.168.1.1 */
	rd_wire_write_u32(&p->w, 0x0a000001);   /* giaddr 10.0.0.1 */
	rd_wire_write_bytes(&p->w, mac, sizeof(mac));
	rd_wire_fill(&p->w, 0, 10);
	rd_wire_write_bytes(&p->w, sname, sn);
	rd_wire_fill(&p->w, 0, RD_DHCP_SNAME_LEN - sn);
	rd_wire_write_bytes(&p->w, file, fn);
	rd_wire_fill(&p->w, 0, RD_DHCP_FILE_LEN - fn);
}

static void pkt_cookie(pkt_t *p)
{
	rd_wire_write_u32(&p->w, RD_DHCP_COOKIE);
}

static void pkt_opt(pkt_t *p, uint8_t code, const void *v, uint8_t len)
{
	rd_wire_write_u8(&p->w, code);
	rd_wire_write_u8(&p->w, len);
	rd_wire_write_bytes(&p->w, v, len);
}

static void pkt_u8(pkt_t *p, uint8_t code, uint8_t v)
{
	pkt_opt(p, code, &v, 1);
}

static void pkt_u32(pkt_t *p, uint8_t code, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	pkt_opt(p, code, b, 4);
}

static void pkt_str(pkt_t *p, uint8_t code, const char *s)
{
	pkt_opt(p, code, s, (uint8_t)strlen(s));
}

/* Pad with zeros to the BOOTP minimum, as real clients do. */
static size_t pkt_finish(pkt_t *p)
{
	if (rd_wire_tell(&p->w) < RD_DHCP_MIN_LEN)
		rd_wire_fill(&p->w, 0, RD_DHCP_MIN_LEN - rd_wire_tell(&p->w));
	if (!rd_wire_ok(&p->w))
		bail_out("test packet does not fit");
	return rd_wire_tell(&p->w);
}

static int parse(const pkt_t *p, size_t len)
{
	return rd_dhcp_parse(p->buf, len, &msg, &dg);
}

static bool has_text(const char *hay, const char *needle)
{
	bool found = strstr(hay, needle) != NULL;
	if (!found)
		diag("looked for \"%s\"", needle);
	return found;
}

/* ------------------------------------------------------------------ the basics */

static const uint8_t client_id[] = { 1, MAC };
static const uint8_t prl[] = { 1, 3, 6, 15, 119, 121 };
static const uint8_t opaque[] = { 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01 };
static size_t discover_end;   /* offset just past END */

static size_t build_discover(pkt_t *p)
{
	pkt_header(p, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(p);
	pkt_u8(p, 53, RD_DHCPDISCOVER);
	pkt_opt(p, 61, client_id, sizeof(client_id));
	pkt_u32(p, 50, 0x0a000063);
	pkt_opt(p, 55, prl, sizeof(prl));
	pkt_opt(p, 57, (const uint8_t[]){ 0x05, 0xdc }, 2);
	pkt_str(p, 12, "host");
	pkt_opt(p, 199, opaque, sizeof(opaque));
	pkt_opt(p, 43, NULL, 0);
	rd_wire_write_u8(&p->w, RD_OPT_END);
	discover_end = rd_wire_tell(&p->w);
	return pkt_finish(p);
}

static void test_discover(void)
{
	size_t len = build_discover(&pk), vl;
	const uint8_t *v;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	static const uint8_t mac[] = { MAC };

	is_int(len, 300, "discover padded to 300");
	is_int(parse(&pk, len), 0, "discover parses");
	is_int(dg.code, 0, "no diag on success");
	is_int(msg.op, RD_BOOTREQUEST, "op");
	is_int(msg.htype, 1, "htype");
	is_int(msg.hlen, 6, "hlen");
	is_int(msg.hops, 2, "hops");
	is_int(msg.xid, 0x1234abcd, "xid");
	is_int(msg.secs, 7, "secs");
	is_int(msg.flags, 0x8000, "flags");
	is_int(msg.ciaddr, 0x0a000005, "ciaddr");
	is_int(msg.yiaddr, 0, "yiaddr");
	is_int(msg.siaddr, 0xc0a80101, "siaddr");
	is_int(msg.giaddr, 0x0a000001, "giaddr");
	is_mem(msg.chaddr, 6, mac, 6, "chaddr");
	ok(msg.has_cookie, "cookie seen");
	is_int(msg.overload, 0, "no overload");
	is_int(msg.wire_len, discover_end, "wire_len just past END");
	is_int(msg.msgtype, RD_DHCPDISCOVER, "msgtype");
	is_int(msg.max_msg_size, 1500, "max_msg_size");
	ok(!msg.agent.present, "no agent info");

	is_int(msg.opt_count, 8, "8 options");
	static const uint8_t order[] = { 53, 61, 50, 55, 57, 12, 199, 43 };
	is_mem(msg.opt_order, msg.opt_count, order, sizeof(order), "order of appearance");
	ok(rd_dhcp_has(&msg, 53) && rd_dhcp_has(&msg, 199) && !rd_dhcp_has(&msg, 54), "presence bitmap");

	v = rd_dhcp_get(&msg, 61, &vl);
	ok(v != NULL, "61 present");
	is_mem(v, vl, client_id, sizeof(client_id), "61 value");
	v = rd_dhcp_get(&msg, 199, &vl);
	is_mem(v, vl, opaque, sizeof(opaque), "unknown code kept opaque, exact bytes");
	v = rd_dhcp_get(&msg, 43, &vl);
	ok(v != NULL && vl == 0, "present empty option: non-NULL, length 0");
	vl = 99;
	ok(rd_dhcp_get(&msg, 54, &vl) == NULL && vl == 0, "absent option: NULL, length 0");
	v = rd_dhcp_get(&msg, 12, &vl);
	is_mem(v, vl, "host", 4, "12 string");
	is_int(msg.optbuf_used, 1 + 7 + 4 + 6 + 2 + 4 + 6 + 0, "optbuf_used is the sum of values");

	ok(rd_dhcp_get_u32(&msg, 50, &u32) && u32 == 0x0a000063, "get_u32 requested address");
	ok(rd_dhcp_get_u8(&msg, 53, &u8) && u8 == 1, "get_u8 message type");
	ok(rd_dhcp_get_u16(&msg, 57, &u16) && u16 == 1500, "get_u16 max size");
	ok(!rd_dhcp_get_u8(&msg, 50, &u8), "get_u8 on a 4-byte option fails");
	ok(!rd_dhcp_get_u32(&msg, 51, &u32), "get_u32 on an absent option fails");
	ok(rd_dhcp_agent_get(&msg, 1, &vl) == NULL, "no agent sub-options");

	/* A stale diag and a used message are reset by the next parse. */
	rd_diag_set(&dg, RD_EMALFORMED, "stale");
	pkt_header(&pk, RD_BOOTREPLY, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	pkt_u8(&pk, 53, RD_DHCPACK);
	rd_wire_write_u8(&pk.w, RD_OPT_END);
	is_int(parse(&pk, pkt_finish(&pk)), 0, "second message into the same struct");
	is_int(dg.code, 0, "diag cleared by parse");
	is_int(msg.opt_count, 1, "old options gone");
	ok(!rd_dhcp_has(&msg, 61) && rd_dhcp_get(&msg, 61, NULL) == NULL, "old 61 gone");
	is_int(msg.max_msg_size, 0, "old max size gone");
	is_int(msg.msgtype, RD_DHCPACK, "new msgtype");
}

static void test_pad_end(void)
{
	size_t len;
	const uint8_t *v;
	size_t vl;

	/* PADs everywhere, junk after END. */
	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	rd_wire_fill(&pk.w, 0, 3);
	pkt_u8(&pk, 53, RD_DHCPREQUEST);
	rd_wire_fill(&pk.w, 0, 2);
	pkt_u32(&pk, 54, 0x0a000001);
	rd_wire_write_u8(&pk.w, RD_OPT_END);
	size_t end = rd_wire_tell(&pk.w);
	pkt_u8(&pk, 53, RD_DHCPRELEASE);   /* after END: padding, not an option */
	pkt_str(&pk, 12, "ghost");
	rd_wire_write_u8(&pk.w, 0xff);
	len = pkt_finish(&pk);
	is_int(parse(&pk, len), 0, "PADs and junk after END");
	is_int(msg.opt_count, 2, "two options");
	is_int(msg.msgtype, RD_DHCPREQUEST, "53 before END wins");
	ok(!rd_dhcp_has(&msg, 12), "nothing after END is parsed");
	is_int(msg.wire_len, end, "wire_len stops at END");

	/* No END at all: accepted, the options run to the end of the buffer. */
	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	pkt_u8(&pk, 53, RD_DHCPDISCOVER);
	pkt_str(&pk, 60, "PXEClient");
	len = rd_wire_tell(&pk.w);
	is_int(parse(&pk, len), 0, "missing END accepted");
	v = rd_dhcp_get(&msg, 60, &vl);
	is_mem(v, vl, "PXEClient", 9, "last option read to the end");
	is_int(msg.wire_len, len, "wire_len is the whole payload");

	/* Only the cookie. */
	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	is_int(parse(&pk, rd_wire_tell(&pk.w)), 0, "cookie and nothing else");
	ok(msg.has_cookie && msg.opt_count == 0 && msg.msgtype == 0, "no options, no msgtype");
	is_int(msg.wire_len, 240, "wire_len 240");

	/* Only PAD then END. */
	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	rd_wire_fill(&pk.w, 0, 20);
	rd_wire_write_u8(&pk.w, RD_OPT_END);
	is_int(parse(&pk, pkt_finish(&pk)), 0, "PADs then END");
	is_int(msg.wire_len, 261, "wire_len past END after the PADs");
}

static void test_header_errors(void)
{
	size_t len = build_discover(&pk);

	is_int(parse(&pk, 120), RD_ETRUNC, "120 bytes: truncated");
	is_str(dg.reason, "120 bytes, a BOOTP header needs 236", "header reason");
	is_int(parse(&pk, 0), RD_ETRUNC, "0 bytes: truncated");
	is_int(rd_dhcp_parse(NULL, 0, &msg, &dg), RD_ETRUNC, "NULL empty buffer: truncated");
	is_int(rd_dhcp_parse(NULL, 10, &msg, &dg), RD_EINVAL, "NULL buffer with length");
	is_int(rd_dhcp_parse(pk.buf, len, NULL, NULL), RD_EINVAL, "NULL message");
	is_int(rd_dhcp_parse(pk.buf, len, &msg, NULL), 0, "NULL diag is fine");

	pk.buf[0] = 3;
	is_int(parse(&pk, len), RD_EMALFORMED, "op 3 refused");
	pk.buf[0] = 0;
	is_int(parse(&pk, len), RD_EMALFORMED, "op 0 refused");
	pk.buf[0] = RD_BOOTREPLY;
	is_int(parse(&pk, len), 0, "op 2 accepted");
	pk.buf[2] = 17;
	is_int(parse(&pk, len), RD_EMALFORMED, "hlen 17 refused");
	pk.buf[2] = 16;
	is_int(parse(&pk, len), 0, "hlen 16 accepted");
	pk.buf[2] = 0;
	is_int(parse(&pk, len), 0, "hlen 0 accepted");
}

static void test_bootp_cookie(void)
{
	/* Header only: BOOTP without vendor area. */
	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, (const uint8_t *)"pxelinux.0", 10);
	is_int(parse(&pk, 236), 0, "236 bytes: plain BOOTP");
	ok(!msg.has_cookie && msg.opt_count == 0 && msg.msgtype == 0, "no cookie, no options");
	is_str((const char *)msg.file, "pxelinux.0", "file field kept");
	is_int(msg.wire_len, 236, "wire_len 236");
	is_int(parse(&pk, 239), 0, "3 zero bytes of vendor area: BOOTP");
	is_int(parse(&pk, 300), 0, "64 zero bytes of vendor area: BOOTP (RFC 951 size)");
	ok(!msg.has_cookie, "still no cookie");
	is_int(msg.wire_len, 300, "BOOTP wire_len is the payload");

	pk.buf[260] = 1;
	is_int(parse(&pk, 300), RD_ECOOKIE, "non-zero vendor area without cookie refused");
	ok(dg.reason[0] != '\0', "cookie reason: %s", dg.reason);
	pk.buf[260] = 0;
	pk.buf[237] = 0x82;
	is_int(parse(&pk, 238), RD_ECOOKIE, "2 non-zero bytes after the header refused");

	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	rd_wire_write_u32(&pk.w, 0x63825364);
	pkt_u8(&pk, 53, 1);
	rd_wire_write_u8(&pk.w, 255);
	is_int(parse(&pk, pkt_finish(&pk)), RD_ECOOKIE, "wrong cookie refused");

	/* A cookie cut short is not a cookie. */
	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	is_int(parse(&pk, 239), RD_ECOOKIE, "3 bytes of cookie refused");
}

static void test_size_limits(void)
{
	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	pkt_u8(&pk, 53, 1);
	rd_wire_fill(&pk.w, 0, RD_DHCP_MAX_LEN - rd_wire_tell(&pk.w) - 1);
	rd_wire_write_u8(&pk.w, 255);
	is_int(rd_wire_tell(&pk.w), RD_DHCP_MAX_LEN, "jumbo packet built");
	is_int(parse(&pk, RD_DHCP_MAX_LEN), 0, "9000 bytes accepted");
	is_int(msg.wire_len, RD_DHCP_MAX_LEN, "END is the last byte");
	is_int(parse(&pk, RD_DHCP_MAX_LEN + 1), RD_ETOOBIG, "9001 bytes refused");

	/* A jumbo packet full of one option split in 255-byte pieces joins into optbuf. */
	uint8_t chunk[255];
	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	size_t total = 0;
	for (int i = 0; rd_wire_tell(&pk.w) + 257 + 1 <= RD_DHCP_MAX_LEN; i++) {
		memset(chunk, (uint8_t)i, sizeof(chunk));
		pkt_opt(&pk, 43, chunk, sizeof(chunk));
		total += sizeof(chunk);
	}
	rd_wire_write_u8(&pk.w, 255);
	is_int(parse(&pk, rd_wire_tell(&pk.w)), 0, "jumbo of split option 43");
	size_t vl;
	const uint8_t *v = rd_dhcp_get(&msg, 43, &vl);
	is_int(vl, total, "joined length %zu", total);
	ok(v && v[0] == 0 && v[255] == 1 && v[vl - 1] == (uint8_t)(total / 255 - 1), "pieces in order");
}

/* ------------------------------------------------------------------ option errors */

static void test_option_errors(void)
{
	/* Length runs past the end. */
	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	pkt_u8(&pk, 53, 1);
	rd_wire_write_u8(&pk.w, 12);
	rd_wire_write_u8(&pk.w, 10);
	rd_wire_write_bytes(&pk.w, "abc", 3);
	is_int(parse(&pk, rd_wire_tell(&pk.w)), RD_ETRUNC, "option overrunning the buffer");
	ok(has_text(dg.reason, "option 12"), "reason names the code: %s", dg.reason);

	/* A code byte with no length. */
	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	pkt_u8(&pk, 53, 1);
	rd_wire_write_u8(&pk.w, 61);
	is_int(parse(&pk, rd_wire_tell(&pk.w)), RD_ETRUNC, "code without length byte");
	ok(has_text(dg.reason, "option 61"), "reason names the code: %s", dg.reason);

	/* Rule violations refuse the whole message. */
	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	pkt_u8(&pk, 53, 1);
	pkt_opt(&pk, 51, "\0\0\1", 3);
	rd_wire_write_u8(&pk.w, 255);
	is_int(parse(&pk, pkt_finish(&pk)), RD_EOPTLEN, "51 of length 3 refused");
	is_str(dg.reason, "option 51 (lease-time) length 3, expected 4", "51 reason");
	is_int(msg.xid, 0x1234abcd, "refused message keeps its header for the log line");
	ok(msg.opt_count == 0 && !rd_dhcp_has(&msg, 53) && msg.msgtype == 0 &&
	   rd_dhcp_get(&msg, 53, NULL) == NULL, "refused message reports no options");

	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	pkt_u8(&pk, 53, 0);
	rd_wire_write_u8(&pk.w, 255);
	is_int(parse(&pk, pkt_finish(&pk)), RD_EMALFORMED, "53 value 0 refused");

	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	pkt_u8(&pk, 53, 1);
	pkt_opt(&pk, 57, (const uint8_t[]){ 0x01, 0x00 }, 2);
	rd_wire_write_u8(&pk.w, 255);
	is_int(parse(&pk, pkt_finish(&pk)), RD_EMALFORMED, "57 value 256 refused");

	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	pkt_opt(&pk, 3, "\1\2\3\4\5", 5);
	rd_wire_write_u8(&pk.w, 255);
	is_int(parse(&pk, pkt_finish(&pk)), RD_EOPTLEN, "3 of length 5 refused");
}

/* ------------------------------------------------------------------ RFC 3396 and overload */

static void test_join(void)
{
	const uint8_t *v;
	size_t vl;
	uint32_t u32;

	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	pkt_str(&pk, 12, "abc");
	pkt_u8(&pk, 53, 3);
	pkt_opt(&pk, 51, "\x00\x01", 2);
	pkt_str(&pk, 12, "def");
	pkt_opt(&pk, 51, "\x51\x80", 2);
	pkt_opt(&pk, 12, NULL, 0);      /* an empty instance adds nothing */
	rd_wire_write_u8(&pk.w, 255);
	is_int(parse(&pk, pkt_finish(&pk)), 0, "split options parse");
	v = rd_dhcp_get(&msg, 12, &vl);
	is_mem(v, vl, "abcdef", 6, "12 joined across other codes");
	ok(rd_dhcp_get_u32(&msg, 51, &u32) && u32 == 86400, "51 joined from two halves: %u", u32);
	static const uint8_t order[] = { 12, 53, 51 };
	is_mem(msg.opt_order, msg.opt_count, order, sizeof(order), "order of first appearance");
}

/* file/sname areas holding options */
static uint8_t area_file[RD_DHCP_FILE_LEN], area_sname[RD_DHCP_SNAME_LEN];

static size_t area(uint8_t *a, size_t cap, const uint8_t *bytes, size_t n)
{
	memset(a, 0, cap);
	if (n)
		memcpy(a, bytes, n);
	return cap;
}

static void test_overload(void)
{
	const uint8_t *v;
	size_t vl;

	/* overload 1: options continue in file. */
	static const uint8_t f1[] = { 15, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'o', 'r', 'g',
				      0, 0, 54, 4, 10, 0, 0, 1, 255, 12, 3, 'z', 'z', 'z' };
	area(area_file, sizeof(area_file), f1, sizeof(f1));
	area(area_sname, sizeof(area_sname), (const uint8_t *)"\x0c\x01q\xff", 4);
	pkt_header(&pk, RD_BOOTREPLY, area_sname, sizeof(area_sname), area_file, sizeof(area_file));
	pkt_cookie(&pk);
	pkt_u8(&pk, 53, RD_DHCPOFFER);
	pkt_u8(&pk, 52, RD_OVERLOAD_FILE);
	rd_wire_write_u8(&pk.w, 255);
	is_int(parse(&pk, pkt_finish(&pk)), 0, "overload file");
	is_int(msg.overload, 1, "overload value 1");
	v = rd_dhcp_get(&msg, 15, &vl);
	is_mem(v, vl, "example.org", 11, "15 read from file");
	uint32_t u32;
	ok(rd_dhcp_get_u32(&msg, 54, &u32) && u32 == 0x0a000001, "54 read from file after PADs");
	ok(!rd_dhcp_has(&msg, 12), "END in file stops it; sname not option space");
	static const uint8_t o1[] = { 53, 52, 15, 54 };
	is_mem(msg.opt_order, msg.opt_count, o1, sizeof(o1), "order: options field, then file");
	is_mem(msg.sname, 4, "\x0c\x01q\xff", 4, "sname raw field kept");

	/* overload 2: sname only; file holds a real file name. */
	area(area_sname, sizeof(area_sname), (const uint8_t *)"\x0c\x04node\x00\x42\x02hi", 11);
	pkt_header(&pk, RD_BOOTREPLY, area_sname, sizeof(area_sname), (const uint8_t *)"\x0c\x01x", 3);
	pkt_cookie(&pk);
	pkt_u8(&pk, 52, RD_OVERLOAD_SNAME);
	pkt_u8(&pk, 53, RD_DHCPACK);
	is_int(parse(&pk, pkt_finish(&pk)), 0, "overload sname (no END anywhere)");
	is_int(msg.overload, 2, "overload value 2");
	v = rd_dhcp_get(&msg, 12, &vl);
	is_mem(v, vl, "node", 4, "12 read from sname, file ignored");
	v = rd_dhcp_get(&msg, 66, &vl);
	is_mem(v, vl, "hi", 2, "66 read from sname");

	/* overload 3: one option split across options, file and sname, in that order. */
	area(area_file, sizeof(area_file), (const uint8_t *)"\x0c\x02" "cd" "\x3d\x02\x00\x07" "\xff", 9);
	area(area_sname, sizeof(area_sname), (const uint8_t *)"\x0c\x02" "ef" "\x34\x01\x02" "\xff", 8);
	pkt_header(&pk, RD_BOOTREQUEST, area_sname, sizeof(area_sname), area_file, sizeof(area_file));
	pkt_cookie(&pk);
	pkt_str(&pk, 12, "ab");
	pkt_u8(&pk, 52, RD_OVERLOAD_BOTH);
	pkt_u8(&pk, 53, RD_DHCPREQUEST);
	rd_wire_write_u8(&pk.w, 255);
	size_t end = rd_wire_tell(&pk.w);
	is_int(parse(&pk, pkt_finish(&pk)), 0, "overload both");
	is_int(msg.overload, 3, "overload value 3");
	v = rd_dhcp_get(&msg, 12, &vl);
	is_mem(v, vl, "abcdef", 6, "12 joined options -> file -> sname");
	v = rd_dhcp_get(&msg, 61, &vl);
	is_mem(v, vl, "\x00\x07", 2, "61 from file");
	static const uint8_t o3[] = { 12, 52, 53, 61 };
	is_mem(msg.opt_order, msg.opt_count, o3, sizeof(o3), "52 inside sname is ignored");
	uint8_t ov;
	ok(rd_dhcp_get_u8(&msg, 52, &ov) && ov == 3, "52 value from the options field");
	is_int(msg.wire_len, end, "wire_len ends at the options field END");

	/* Without 52, option-looking bytes in file are just a file name. */
	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, area_file, sizeof(area_file));
	pkt_cookie(&pk);
	pkt_u8(&pk, 53, 1);
	rd_wire_write_u8(&pk.w, 255);
	is_int(parse(&pk, pkt_finish(&pk)), 0, "file not overloaded");
	ok(!rd_dhcp_has(&msg, 12) && !rd_dhcp_has(&msg, 61), "file not read as options");

	/* 52 in file cannot extend the overload to sname. */
	area(area_file, sizeof(area_file), (const uint8_t *)"\x34\x01\x03\x0c\x01x\xff", 7);
	area(area_sname, sizeof(area_sname), (const uint8_t *)"\x0f\x01y\xff", 4);
	pkt_header(&pk, RD_BOOTREQUEST, area_sname, sizeof(area_sname), area_file, sizeof(area_file));
	pkt_cookie(&pk);
	pkt_u8(&pk, 52, RD_OVERLOAD_FILE);
	rd_wire_write_u8(&pk.w, 255);
	is_int(parse(&pk, pkt_finish(&pk)), 0, "52 inside file");
	ok(rd_dhcp_has(&msg, 12) && !rd_dhcp_has(&msg, 15), "file read, sname not");
	is_int(msg.overload, 1, "overload stays 1");

	/* Errors: bad value, two 52s, truncation inside file. */
	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	pkt_u8(&pk, 52, 4);
	rd_wire_write_u8(&pk.w, 255);
	is_int(parse(&pk, pkt_finish(&pk)), RD_EMALFORMED, "overload 4 refused");
	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	pkt_u8(&pk, 52, 1);
	pkt_u8(&pk, 52, 1);
	rd_wire_write_u8(&pk.w, 255);
	is_int(parse(&pk, pkt_finish(&pk)), RD_EOPTLEN, "two 52 instances refused (joined length 2)");
	area(area_file, sizeof(area_file), NULL, 0);
	area_file[125] = 12;
	area_file[126] = 5;
	area_file[127] = 'x';
	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, area_file, sizeof(area_file));
	pkt_cookie(&pk);
	pkt_u8(&pk, 52, 1);
	rd_wire_write_u8(&pk.w, 255);
	is_int(parse(&pk, pkt_finish(&pk)), RD_ETRUNC, "option overrunning file refused");
	ok(has_text(dg.reason, "file"), "reason names the field: %s", dg.reason);
}

/* ------------------------------------------------------------------ option 82, 119, 121 */

static void test_agent(void)
{
	static const uint8_t ai[] = {
		1, 6, 'e', 't', 'h', '0', '/', '1',
		2, 6, MAC,
		5, 4, 10, 1, 2, 0,
		1, 5, 'o', 't', 'h', 'e', 'r',      /* duplicate: ignored */
		10, 0,                              /* empty */
	};
	const uint8_t *v;
	size_t vl;
	static const uint8_t mac[] = { MAC };

	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	pkt_u8(&pk, 53, 1);
	pkt_opt(&pk, 82, ai, sizeof(ai));
	rd_wire_write_u8(&pk.w, 255);
	is_int(parse(&pk, pkt_finish(&pk)), 0, "82 parses");
	ok(msg.agent.present, "agent present");
	is_int(msg.agent.count, 4, "4 distinct sub-options");
	v = rd_dhcp_agent_get(&msg, RD_AGENT_CIRCUIT_ID, &vl);
	is_mem(v, vl, "eth0/1", 6, "circuit id: first instance wins");
	v = rd_dhcp_agent_get(&msg, RD_AGENT_REMOTE_ID, &vl);
	is_mem(v, vl, mac, 6, "remote id");
	v = rd_dhcp_agent_get(&msg, RD_AGENT_LINK_SELECTION, &vl);
	is_mem(v, vl, "\x0a\x01\x02\x00", 4, "link selection");
	is_int(msg.agent.off[RD_AGENT_LINK_SELECTION], 18, "offset within the 82 value");
	v = rd_dhcp_agent_get(&msg, RD_AGENT_RELAY_FLAGS, &vl);
	ok(v != NULL && vl == 0, "empty sub-option: non-NULL, length 0");
	vl = 7;
	ok(rd_dhcp_agent_get(&msg, 9, &vl) == NULL && vl == 0, "absent sub-option");
	ok((msg.agent.seen[0] >> 1 & 1) && (msg.agent.seen[1] >> 2 & 1) && !(msg.agent.seen[0] >> 3 & 1),
	   "seen bitmap");

	/* Bad framing refuses the message. */
	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	pkt_opt(&pk, 82, "\x01\x05" "abc", 5);
	rd_wire_write_u8(&pk.w, 255);
	is_int(parse(&pk, pkt_finish(&pk)), RD_EMALFORMED, "82 with an overrunning sub-option refused");
	ok(!msg.agent.present, "no agent info from a refused message");
}

static void test_search_routes(void)
{
	static const uint8_t dsl[] = {
		3, 'e', 'n', 'g', 5, 'a', 'p', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		9, 'm', 'a', 'r', 'k', 'e', 't', 'i', 'n', 'g', 0xc0, 4,
	};
	static const uint8_t routes[] = { 8, 10, 10, 0, 0, 1, 0, 192, 168, 1, 254 };
	char text[256];
	const uint8_t *v;
	size_t vl;

	pkt_header(&pk, RD_BOOTREPLY, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	pkt_u8(&pk, 53, RD_DHCPACK);
	pkt_opt(&pk, 119, dsl, 10);            /* split in two instances */
	pkt_opt(&pk, 121, routes, sizeof(routes));
	pkt_opt(&pk, 119, dsl + 10, sizeof(dsl) - 10);
	rd_wire_write_u8(&pk.w, 255);
	is_int(parse(&pk, pkt_finish(&pk)), 0, "119 split + 121");
	v = rd_dhcp_get(&msg, 119, &vl);
	is_mem(v, vl, dsl, sizeof(dsl), "119 joined bytes");
	is_int(rd_dhcp_decode_search(v, vl, text, sizeof(text), NULL), 2, "119 decodes to 2 names");
	is_str(text, "eng.apple.com marketing.apple.com", "119 names (pointer offsets relative to the joined value)");

	pkt_header(&pk, RD_BOOTREPLY, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	pkt_opt(&pk, 119, "\x01" "a" "\xc0\x00", 4);
	rd_wire_write_u8(&pk.w, 255);
	is_int(parse(&pk, pkt_finish(&pk)), RD_EMALFORMED, "119 loop refuses the message");

	pkt_header(&pk, RD_BOOTREPLY, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	pkt_opt(&pk, 121, "\x21\x01\x02\x03\x04\x05\x06\x07\x08\x09", 10);
	rd_wire_write_u8(&pk.w, 255);
	is_int(parse(&pk, pkt_finish(&pk)), RD_EMALFORMED, "121 width 33 refuses the message");
}

/* ------------------------------------------------------------------ robustness */

/* A packet using most features: overload both, splits, 82, 119, 121, unknowns. */
static size_t build_rich(pkt_t *p)
{
	area(area_file, sizeof(area_file), (const uint8_t *)"\x0c\x02" "cd" "\x00\x3d\x02\x00\x07" "\xff", 10);
	area(area_sname, sizeof(area_sname), (const uint8_t *)"\x0c\x02" "ef" "\xc8\x01\x09" "\xff", 8);
	pkt_header(p, RD_BOOTREQUEST, area_sname, sizeof(area_sname), area_file, sizeof(area_file));
	pkt_cookie(p);
	pkt_u8(p, 53, RD_DHCPREQUEST);
	pkt_str(p, 12, "ab");
	pkt_u8(p, 52, RD_OVERLOAD_BOTH);
	pkt_opt(p, 55, prl, sizeof(prl));
	pkt_opt(p, 82, "\x01\x03" "abc" "\x02\x01" "z", 8);
	pkt_opt(p, 119, "\x01" "a" "\x00\x01" "b" "\xc0\x00", 7);
	pkt_opt(p, 121, "\x18\xc0\xa8\x05\x0a\x01\x01\x01", 8);
	pkt_opt(p, 93, "\x00\x07", 2);
	pkt_opt(p, 97, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 17);
	rd_wire_write_u8(&p->w, 0);
	pkt_opt(p, 43, "\x01\x02", 2);
	pkt_opt(p, 43, "\x03", 1);
	rd_wire_write_u8(&p->w, 255);
	return pkt_finish(p);
}

static void test_prefixes(void)
{
	/* Simple packet: the result of every prefix is known exactly. */
	size_t len = build_discover(&pk);
	static const size_t bounds[] = { 243, 252, 258, 266, 270, 276, 284, 286 };
	bool all = true;

	for (size_t n = 0; n <= len; n++) {
		int want, r = parse(&pk, n);
		bool at_bound = false;

		for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
			at_bound |= n == bounds[i];
		if (n < 236)
			want = RD_ETRUNC;
		else if (n == 236)
			want = 0;          /* BOOTP, no vendor area */
		else if (n < 240)
			want = RD_ECOOKIE; /* part of a cookie */
		else if (n == 240 || n >= discover_end - 1 || at_bound)
			want = 0;          /* between options (or at/after END) */
		else
			want = RD_ETRUNC;
		if (r != want || (r < 0 && (dg.code != r || !dg.reason[0]))) {
			diag("prefix %zu: got %d want %d (%s)", n, r, want, dg.reason);
			all = false;
		}
	}
	ok(all, "every prefix of a discover gives the expected result");

	/* Rich packet: no crash, and every refusal comes with a reason. */
	len = build_rich(&pk);
	is_int(parse(&pk, len), 0, "rich packet parses");
	all = true;
	for (size_t n = 0; n <= len; n++) {
		int r = parse(&pk, n);
		int r2 = parse(&pk, n);
		if (r > 0 || r != r2 || (r < 0 && (dg.code != r || !dg.reason[0])) ||
		    (n < 236 && r != RD_ETRUNC)) {
			diag("prefix %zu: %d / %d (%s)", n, r, r2, dg.reason);
			all = false;
		}
	}
	ok(all, "every prefix of the rich packet: success or an error with a reason, deterministic");
}

static uint32_t rng_state = 0x9e3779b9u;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* Invariants of a successful parse. */
static bool coherent(const rd_dhcp_t *m)
{
	unsigned bits = 0, sum = 0;

	for (unsigned c = 0; c < 256; c++)
		bits += rd_dhcp_has(m, (uint8_t)c);
	if (bits != m->opt_count)
		return false;
	for (unsigned i = 0; i < m->opt_count; i++) {
		uint8_t c = m->opt_order[i];
		if (c == 0 || c == 255 || m->opt_off[c] + m->opt_len[c] > m->optbuf_used)
			return false;
		sum += m->opt_len[c];
	}
	return sum == m->optbuf_used && m->wire_len <= RD_DHCP_MAX_LEN;
}

static void test_mutations(void)
{
	static pkt_t base;
	static char text[16384];
	size_t len = build_rich(&base);
	unsigned okays = 0, fails = 0;
	bool all = true;

	for (int iter = 0; iter < 20000; iter++) {
		memcpy(pk.buf, base.buf, len);
		unsigned flips = 1 + rng() % 4;
		for (unsigned i = 0; i < flips; i++) {
			/* Mostly hit the option area, where the parsing is. */
			size_t at = rng() % 3 ? 236 + rng() % (len - 236) : rng() % len;
			pk.buf[at] = (uint8_t)rng();
		}
		size_t n = rng() % 8 ? len : rng() % (len + 1);
		int r = parse(&pk, n);
		if (r == 0) {
			okays++;
			if (!coherent(&msg)) {
				diag("iteration %d: incoherent message", iter);
				all = false;
			}
			rd_dhcp_summary(&msg, text, sizeof(text));
			rd_dhcp_dump(&msg, "  ", text, sizeof(text));
		} else {
			fails++;
			if (r > 0 || dg.code != r || !dg.reason[0]) {
				diag("iteration %d: %d without reason", iter, r);
				all = false;
			}
		}
	}
	ok(all, "20000 mutations: coherent results (%u parsed, %u refused)", okays, fails);
	ok(okays > 100 && fails > 100, "mutations exercise both outcomes");
}

/* ------------------------------------------------------------------ printers */

static void test_print(void)
{
	static char text[8192];
	size_t n;

	build_discover(&pk);
	is_int(parse(&pk, 300), 0, "discover for printing");
	n = rd_dhcp_summary(&msg, text, sizeof(text));
	is_str(text, "DHCPDISCOVER xid 0x1234abcd chaddr 52:54:00:aa:bb:cc ciaddr 10.0.0.5 "
	       "siaddr 192.168.1.1 giaddr 10.0.0.1 opts 53,61,50,55,57,12,199,43", "summary");
	is_int(n, strlen(text), "summary returns its length");

	n = rd_dhcp_summary(&msg, text, 13);
	is_str(text, "DHCPDISCOVER", "cut summary stays terminated");
	is_int(n, 12, "cut summary returns what was written");
	is_int(rd_dhcp_summary(&msg, text, 0), 0, "cap 0 writes nothing");
	is_int(rd_dhcp_summary(&msg, NULL, 0), 0, "NULL buffer writes nothing");

	n = rd_dhcp_dump(&msg, "> ", text, sizeof(text));
	is_int(n, strlen(text), "dump returns its length");
	ok(has_text(text, "> op: BOOTREQUEST (1)\n"), "dump op");
	ok(has_text(text, "> xid: 0x1234abcd\n"), "dump xid");
	ok(has_text(text, "> secs: 7, flags: 0x8000 (broadcast)\n"), "dump secs and flags");
	ok(has_text(text, "> giaddr: 10.0.0.1\n"), "dump giaddr");
	ok(has_text(text, "> option 53 (message-type) len 1: DHCPDISCOVER (1)\n"), "dump 53");
	ok(has_text(text, "> option 61 (client-identifier) len 7: type 1, 52:54:00:aa:bb:cc\n"), "dump 61");
	ok(has_text(text, "> option 50 (requested-address) len 4: 10.0.0.99\n"), "dump 50");
	ok(has_text(text, "len 6: 1 (subnet-mask), 3 (routers), 6 (domain-name-servers), 15 (domain-name), "
		    "119 (domain-search), 121 (classless-static-routes)\n"), "dump 55");
	ok(has_text(text, "> option 57 (max-message-size) len 2: 1500\n"), "dump 57");
	ok(has_text(text, "> option 12 (host-name) len 4: \"host\"\n"), "dump 12");
	ok(has_text(text, "> option 199 (option-199) len 6: deadbeef0001\n"), "dump unknown as hex");
	ok(has_text(text, "> option 43 (vendor-encapsulated-options) len 0: (empty)\n"), "dump empty");

	is_int(parse(&pk, build_rich(&pk)), 0, "rich packet for printing");
	rd_dhcp_dump(&msg, "", text, sizeof(text));
	ok(has_text(text, "option 12 (host-name) len 6: \"abcdef\"\n"), "dump joined 12");
	ok(has_text(text, "sub-option 1 (circuit-id) len 3: \"abc\""), "dump 82 circuit id");
	ok(has_text(text, "sub-option 2 (remote-id) len 1: \"z\""), "dump 82 remote id");
	ok(has_text(text, "option 119 (domain-search) len 7: a b.a\n"), "dump 119 names");
	ok(has_text(text, "option 121 (classless-static-routes) len 8: 192.168.5.0/24 via 10.1.1.1\n"),
	   "dump 121 routes");
	ok(has_text(text, "option 93 (client-system-architecture) len 2: 7 (x64 UEFI)\n"), "dump 93");
	ok(has_text(text, "len 17: type 0, 01020304-0506-0708-090a-0b0c0d0e0f10"), "dump 97");
	ok(has_text(text, "sname: (option space, overloaded)\n"), "dump overloaded sname");
	ok(has_text(text, "option 52 (overload) len 1: 3 (file+sname)\n"), "dump 52");

	/* Strings with control bytes are escaped. */
	pkt_header(&pk, RD_BOOTREQUEST, NULL, 0, NULL, 0);
	pkt_cookie(&pk);
	pkt_opt(&pk, 12, "a\x01\"\\\xff", 5);
	pkt_opt(&pk, 121, "\x08\x0a\x0a\x00\x00\x01\x00\x0a\x00\x00\xfe", 11);
	pkt_opt(&pk, 93, "\x00\x00\x00\x0b", 4);
	rd_wire_write_u8(&pk.w, 255);
	is_int(parse(&pk, pkt_finish(&pk)), 0, "odd string packet");
	rd_dhcp_dump(&msg, "", text, sizeof(text));
	ok(has_text(text, "len 5: \"a\\x01\\\"\\\\\\xff\"\n"), "non-printables escaped");
	ok(has_text(text, "len 11: 10.0.0.0/8 via 10.0.0.1, 0.0.0.0/0 via 10.0.0.254\n"), "121 two routes");
	ok(has_text(text, "len 4: 0 (x86 BIOS), 11 (arm64 UEFI)\n"), "93 two arches");
	ok(has_text(text, "op: BOOTREQUEST (1)\n"), "no msgtype: op");
	rd_dhcp_summary(&msg, text, sizeof(text));
	ok(strncmp(text, "BOOTREQUEST xid", 15) == 0, "no msgtype: summary names the op: %s", text);

	/* A cut dump is terminated and reports its length. */
	n = rd_dhcp_dump(&msg, "", text, 40);
	is_int(n, 39, "cut dump fills the buffer");
	is_int(strlen(text), 39, "cut dump terminated");

	/* BOOTP */
	pkt_header(&pk, RD_BOOTREPLY, NULL, 0, (const uint8_t *)"boot\x01", 5);
	is_int(parse(&pk, 300), 0, "BOOTP for printing");
	rd_dhcp_dump(&msg, "", text, sizeof(text));
	ok(has_text(text, "file: \"boot\\x01\"\n"), "file field printed escaped");
	ok(has_text(text, "cookie: none (plain BOOTP)\n"), "BOOTP noted");
}

int main(void)
{
	plan_lazy();
	test_discover();
	test_pad_end();
	test_header_errors();
	test_bootp_cookie();
	test_size_limits();
	test_option_errors();
	test_join();
	test_overload();
	test_agent();
	test_search_routes();
	test_prefixes();
	test_mutations();
	test_print();
	return done_testing();
}
