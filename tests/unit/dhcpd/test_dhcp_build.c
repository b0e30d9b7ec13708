/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_dhcp_build.c — unit tests for dhcpd/dhcp_build.c, the DHCP message
 * builder.
 *
 * Every layout property is checked on the decoded result: the builder's
 * output is parsed back with rd_dhcp_parse (another module) and the option
 * order, joined values, overload value and header fields compared, and the
 * raw bytes are walked with a cursor where the property is about the wire
 * form itself (RFC 3396 instance sizes, END/PAD in overloaded fields, the
 * 300-byte minimum).  Option sizes in the space tests are chosen so that the
 * byte counts in the comments decide the expected outcome.
 *
 * Options 224..230 are site-specific codes the option table treats as opaque,
 * so their test values need no particular structure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rackdhcp/dhcp.h"
#include "rackdhcp/wire.h"
#include "tap.h"

#define OPT_A 224
#define OPT_B 225
#define OPT_C 226
#define OPT_D 227
#define OPT_E 228

/* Big structs: keep them off the stack. */
static rd_dhcp_builder_t B, B2;
static rd_dhcp_t M, M2;
static uint8_t out[RD_DHCP_MAX_LEN + 64], out2[RD_DHCP_MAX_LEN + 64];

static void pattern(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 13);
}

/* Set an opaque option of n pattern bytes. */
static int set_pat(rd_dhcp_builder_t *b, uint8_t code, size_t n, unsigned fl)
{
	uint8_t v[RD_DHCP_OPTBUF_LEN];

	pattern(v, n, code);
	return rd_dhcp_builder_set(b, code, v, n, fl);
}

/* Is the parsed value of code exactly the pattern of n bytes? */
static bool has_pat(const rd_dhcp_t *m, uint8_t code, size_t n, const char *what)
{
	uint8_t v[RD_DHCP_OPTBUF_LEN];
	size_t len;
	const uint8_t *got = rd_dhcp_get(m, code, &len);

	pattern(v, n, code);
	if (!got) {
		ok(false, "%s: option %u present", what, code);
		return false;
	}
	return is_mem(got, len, v, n, "%s: option %u value (%zu bytes)", what, code, n);
}

/* Build b and parse it back into m; returns the build result. */
static int build_parse(const rd_dhcp_builder_t *b, const uint8_t *prl, size_t prl_len,
		       size_t max_msg, uint8_t *buf, rd_dhcp_t *m, unsigned *dropped)
{
	rd_diag_t d;

	rd_diag_clear(&d);
	int n = rd_dhcp_build(b, prl, prl_len, max_msg, buf, RD_DHCP_MAX_LEN + 64, dropped, &d);
	if (n < 0) {
		diag("build: %s: %s", rd_strerror(n), d.reason);
		return n;
	}
	rd_diag_clear(&d);
	int r = rd_dhcp_parse(buf, (size_t)n, m, &d);
	if (r < 0) {
		diag("parse of built message: %s: %s", rd_strerror(r), d.reason);
		diag_hexdump("built", buf, (size_t)n);
		return r;
	}
	return n;
}

static bool order_is(const rd_dhcp_t *m, const uint8_t *want, size_t n, const char *what)
{
	bool r = is_mem(m->opt_order, m->opt_count, want, n, "%s: option order", what);

	if (!r) {
		char s[1024] = "";
		for (unsigned i = 0; i < m->opt_count; i++)
			snprintf(s + strlen(s), sizeof(s) - strlen(s), " %u", m->opt_order[i]);
		diag("got order:%s", s);
	}
	return r;
}

/*
 * Instance lengths of code in one option area of a built message, walked
 * with a cursor.  Returns the number of instances, -1 if the area is broken.
 */
static int instances(const uint8_t *buf, size_t off, size_t len, uint8_t code,
		     unsigned *lens, int max, bool *saw_end)
{
	rd_wire_t w = rd_wire_init_const(buf, off + len);
	int n = 0;

	rd_wire_seek(&w, off);
	*saw_end = false;
	while (rd_wire_available(&w)) {
		uint8_t c = rd_wire_read_u8(&w);
		if (c == RD_OPT_PAD)
			continue;
		if (c == RD_OPT_END) {
			*saw_end = true;
			/* Everything after END in the area must be PAD. */
			while (rd_wire_available(&w))
				if (rd_wire_read_u8(&w) != 0)
					return -1;
			break;
		}
		uint8_t l = rd_wire_read_u8(&w);
		rd_wire_skip(&w, l);
		if (!rd_wire_ok(&w))
			return -1;
		if (c == code && n < max)
			lens[n++] = l;
	}
	return n;
}

static void test_init_reply(void)
{
	rd_dhcp_builder_init(&B);
	is_int(B.op, RD_BOOTREPLY, "init: op BOOTREPLY");
	is_int(B.htype, 1, "init: htype 1");
	is_int(B.hlen, 6, "init: hlen 6");
	is_int(B.count, 0, "init: no options");
	is_int(B.xid, 0, "init: xid 0");

	/* A request to answer. */
	static const uint8_t req_bytes_chaddr[16] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
	memset(&M, 0, offsetof(rd_dhcp_t, optbuf));
	M.op = RD_BOOTREQUEST;
	M.htype = 1;
	M.hlen = 6;
	M.hops = 2;
	M.xid = 0xdeadbeef;
	M.secs = 17;
	M.flags = RD_DHCP_FLAG_BROADCAST;
	M.ciaddr = 0x0a000005;
	M.giaddr = 0x0a000001;
	memcpy(M.chaddr, req_bytes_chaddr, 16);

	rd_dhcp_builder_reply(&B, &M, RD_DHCPOFFER);
	is_int(B.op, RD_BOOTREPLY, "reply: op BOOTREPLY");
	is_int(B.xid, 0xdeadbeef, "reply: xid copied");
	is_int(B.flags, RD_DHCP_FLAG_BROADCAST, "reply: flags copied");
	is_int(B.giaddr, 0x0a000001, "reply: giaddr copied");
	is_int(B.ciaddr, 0, "reply: ciaddr not copied");
	is_int(B.secs, 0, "reply: secs 0");
	is_int(B.hops, 0, "reply: hops 0");
	is_mem(B.chaddr, 16, req_bytes_chaddr, 16, "reply: chaddr copied");
	is_int(B.count, 1, "reply: one option");
	is_int(B.order[0], RD_OPT_MESSAGE_TYPE, "reply: it is 53");
	is_int(B.bflags[RD_OPT_MESSAGE_TYPE] & RD_BOPT_REQUIRED, RD_BOPT_REQUIRED, "reply: 53 REQUIRED");

	int n = build_parse(&B, NULL, 0, 0, out, &M2, NULL);
	is_int(n, RD_DHCP_MIN_LEN, "reply alone is padded to 300");
	is_int(M2.msgtype, RD_DHCPOFFER, "reply: parsed message type");
	is_int(M2.xid, 0xdeadbeef, "reply: parsed xid");
}

static void test_set_unset(void)
{
	uint8_t big[5000];

	rd_dhcp_builder_init(&B);
	is_int(rd_dhcp_builder_set(&B, RD_OPT_PAD, "x", 1, 0), RD_EINVAL, "set PAD refused");
	is_int(rd_dhcp_builder_set(&B, RD_OPT_END, "x", 1, 0), RD_EINVAL, "set END refused");
	is_int(rd_dhcp_builder_set(&B, RD_OPT_OVERLOAD, "\x01", 1, 0), RD_EINVAL,
	       "set 52 refused: the layout owns overload");
	is_int(rd_dhcp_builder_set(&B, OPT_A, NULL, 3, 0), RD_EINVAL, "NULL value with length refused");
	is_int(rd_dhcp_builder_set(&B, OPT_A, big, RD_DHCP_OPTBUF_LEN + 1, 0), RD_ETOOBIG,
	       "value over the buffer is RD_ETOOBIG");

	is_int(rd_dhcp_builder_set_u32(&B, RD_OPT_LEASE_TIME, 0x01020304, 0), 0, "set_u32");
	is_int(rd_dhcp_builder_set_u16(&B, RD_OPT_INTERFACE_MTU, 1500, 0), 0, "set_u16");
	is_int(rd_dhcp_builder_set_u8(&B, RD_OPT_MESSAGE_TYPE, RD_DHCPACK, 0), 0, "set_u8");
	is_int(rd_dhcp_builder_set(&B, RD_OPT_HOSTNAME, "host", 4, 0), 0, "set bytes");
	is_int(B.count, 4, "four options");

	int n = build_parse(&B, NULL, 0, 0, out, &M, NULL);
	ok(n > 0, "builds");
	uint32_t u32 = 0;
	uint16_t u16 = 0;
	ok(rd_dhcp_get_u32(&M, RD_OPT_LEASE_TIME, &u32) && u32 == 0x01020304, "u32 big-endian on the wire");
	ok(rd_dhcp_get_u16(&M, RD_OPT_INTERFACE_MTU, &u16) && u16 == 1500, "u16 big-endian on the wire");
	is_int(M.msgtype, RD_DHCPACK, "u8");

	/* Replace keeps the add position, with a longer and a shorter value. */
	is_int(rd_dhcp_builder_set(&B, RD_OPT_HOSTNAME, "a-much-longer-name", 18, 0), 0, "replace longer");
	is_int(rd_dhcp_builder_set_u32(&B, RD_OPT_LEASE_TIME, 3600, 0), 0, "replace same size");
	is_int(B.count, 4, "replace does not add");
	n = build_parse(&B, NULL, 0, 0, out, &M, NULL);
	static const uint8_t order1[] = { 53, 51, 26, 12 };
	order_is(&M, order1, sizeof(order1), "after replace");
	size_t len;
	const uint8_t *v = rd_dhcp_get(&M, RD_OPT_HOSTNAME, &len);
	is_mem(v, len, "a-much-longer-name", 18, "replaced value");

	rd_dhcp_builder_unset(&B, RD_OPT_INTERFACE_MTU);
	rd_dhcp_builder_unset(&B, RD_OPT_INTERFACE_MTU);    /* absent: no-op */
	is_int(B.count, 3, "unset removes one");
	n = build_parse(&B, NULL, 0, 0, out, &M, NULL);
	static const uint8_t order2[] = { 53, 51, 12 };
	order_is(&M, order2, sizeof(order2), "after unset");
	ok(!rd_dhcp_has(&M, RD_OPT_INTERFACE_MTU), "unset option absent");

	/* Re-adding goes to the end of add order. */
	rd_dhcp_builder_set_u16(&B, RD_OPT_INTERFACE_MTU, 9000, 0);
	n = build_parse(&B, NULL, 0, 0, out, &M, NULL);
	static const uint8_t order3[] = { 53, 51, 12, 26 };
	order_is(&M, order3, sizeof(order3), "re-added option is last");

	/* Empty option value. */
	is_int(rd_dhcp_builder_set(&B, OPT_E, NULL, 0, 0), 0, "empty value allowed");
	n = build_parse(&B, NULL, 0, 0, out, &M, NULL);
	v = rd_dhcp_get(&M, OPT_E, &len);
	ok(v != NULL && len == 0, "empty option round-trips as present, length 0");

	/* The value buffer compacts when replacements leave holes. */
	rd_dhcp_builder_init(&B);
	pattern(big, sizeof(big), 1);
	is_int(rd_dhcp_builder_set(&B, OPT_A, big, 5000, 0), 0, "5000-byte value");
	is_int(rd_dhcp_builder_set(&B, OPT_B, big, 3000, 0), 0, "3000-byte value");
	is_int(rd_dhcp_builder_set(&B, OPT_A, big, 4000, 0), 0, "shrink in place");
	is_int(rd_dhcp_builder_set(&B, OPT_C, big, 1500, 0), 0, "needs compaction to fit");
	is_int(B.used, 4000 + 3000 + 1500, "buffer compacted");
	is_int(rd_dhcp_builder_set(&B, OPT_D, big, 600, 0), RD_ENOSPACE, "over the total is RD_ENOSPACE");
	is_int(rd_dhcp_builder_set(&B, OPT_B, big, 3500, 0), 0, "grow a value into the free room");
	is_int(B.len[OPT_B], 3500, "grown length");
	is_mem(&B.buf[B.off[OPT_A]], B.len[OPT_A], big, 4000, "A intact after compaction");
	is_mem(&B.buf[B.off[OPT_C]], B.len[OPT_C], big, 1500, "C intact after compaction");
	is_mem(&B.buf[B.off[OPT_B]], B.len[OPT_B], big, 3500, "B has the new value");
	is_int(rd_dhcp_builder_set(&B, OPT_B, big, 4001, 0), RD_ENOSPACE, "growing past the total fails");
	is_mem(&B.buf[B.off[OPT_B]], B.len[OPT_B], big, 3500, "and leaves the old value");

	/* sname / file strings. */
	rd_dhcp_builder_init(&B);
	char s64[65];
	memset(s64, 'x', 64);
	s64[64] = '\0';
	is_int(rd_dhcp_builder_set_sname(&B, s64), RD_ETOOBIG, "64-char sname is RD_ETOOBIG (no room for NUL)");
	s64[63] = '\0';
	is_int(rd_dhcp_builder_set_sname(&B, s64), 0, "63-char sname fits");
	is_int(B.sname[63], 0, "NUL-terminated");
	is_int(rd_dhcp_builder_set_file(&B, "pxelinux.0"), 0, "file set");
	is_int(rd_dhcp_builder_set_file(&B, "a"), 0, "file reset shorter");
	is_int(B.file[1], 0, "old bytes cleared");
}

static void test_order(void)
{
	rd_dhcp_builder_init(&B);
	B.xid = 0x11223344;
	/* Add order deliberately unlike the wire order. */
	static const uint8_t agent[] = { 1, 4, 'e', 't', 'h', '0' };
	rd_dhcp_builder_set_u32(&B, RD_OPT_LEASE_TIME, 86400, 0);
	rd_dhcp_builder_set(&B, RD_OPT_AGENT_INFO, agent, sizeof(agent), 0);
	rd_dhcp_builder_set_u32(&B, RD_OPT_ROUTER, 0x0a000001, 0);
	rd_dhcp_builder_set_u32(&B, RD_OPT_SUBNET_MASK, 0xffffff00, 0);
	rd_dhcp_builder_set_u32(&B, RD_OPT_SERVER_ID, 0x0a000002, RD_BOPT_REQUIRED);
	rd_dhcp_builder_set_u32(&B, RD_OPT_DNS, 0x08080808, 0);
	rd_dhcp_builder_set(&B, RD_OPT_HOSTNAME, "node7", 5, 0);
	rd_dhcp_builder_set_u8(&B, RD_OPT_MESSAGE_TYPE, RD_DHCPACK, RD_BOPT_REQUIRED);
	rd_dhcp_builder_set_u32(&B, RD_OPT_REBINDING_TIME, 75600, 0);

	/* PRL with a code we do not have (15), a duplicate, and codes the layout places itself. */
	static const uint8_t prl[] = { 6, 1, 15, 12, 82, 3, 1, 53, 0, 54, 255, 52 };
	unsigned dropped = 99;
	int n = build_parse(&B, prl, sizeof(prl), 0, out, &M, &dropped);
	is_int(n, RD_DHCP_MIN_LEN, "small message is exactly 300 bytes");
	is_int(dropped, 0, "nothing dropped");
	static const uint8_t want[] = { 53, 54, 6, 1, 12, 3, 51, 59, 82 };
	order_is(&M, want, sizeof(want), "PRL");
	is_int(M.opt_order[0], 53, "53 first");
	is_int(M.opt_order[1], 54, "54 second");
	is_int(M.opt_order[M.opt_count - 1], 82, "82 last");
	size_t len;
	const uint8_t *v = rd_dhcp_get(&M, RD_OPT_AGENT_INFO, &len);
	is_mem(v, len, agent, sizeof(agent), "82 value");
	v = rd_dhcp_agent_get(&M, RD_AGENT_CIRCUIT_ID, &len);
	is_mem(v, len, "eth0", 4, "82 circuit id");
	uint32_t u;
	ok(rd_dhcp_get_u32(&M, RD_OPT_SERVER_ID, &u) && u == 0x0a000002, "54 value");
	is_int(M.overload, 0, "no overload");

	/* END right after the last option, zeros to 300. */
	is_int(out[M.wire_len - 1], RD_OPT_END, "END closes the options");
	static const uint8_t zeros[RD_DHCP_MIN_LEN];
	is_mem(out + M.wire_len, RD_DHCP_MIN_LEN - M.wire_len, zeros, RD_DHCP_MIN_LEN - M.wire_len,
	       "padding after END is zeros");
	is_int(out[236] << 24 | out[237] << 16 | out[238] << 8 | out[239], (long long)RD_DHCP_COOKIE,
	       "magic cookie at 236");
	is_int(out[240], 53, "first option byte is 53");

	/* Without PRL: 53, 54, add order, 82 last. */
	n = build_parse(&B, NULL, 0, 0, out, &M, NULL);
	static const uint8_t want2[] = { 53, 54, 51, 3, 1, 6, 12, 59, 82 };
	order_is(&M, want2, sizeof(want2), "no PRL");

	/* Empty PRL behaves the same. */
	n = build_parse(&B, prl, 0, 0, out, &M, NULL);
	order_is(&M, want2, sizeof(want2), "empty PRL");
}

static void test_header_fields(void)
{
	rd_dhcp_builder_init(&B);
	B.op = RD_BOOTREPLY;
	B.htype = 6;
	B.hlen = 6;
	B.hops = 3;
	B.xid = 0xcafef00d;
	B.secs = 9;
	B.flags = RD_DHCP_FLAG_BROADCAST;
	B.ciaddr = 0x01020304;
	B.yiaddr = 0x05060708;
	B.siaddr = 0x090a0b0c;
	B.giaddr = 0x0d0e0f10;
	for (int i = 0; i < 16; i++)
		B.chaddr[i] = (uint8_t)(0xa0 + i);
	rd_dhcp_builder_set_sname(&B, "boot.example");
	rd_dhcp_builder_set_file(&B, "/pxelinux.0");
	rd_dhcp_builder_set_u8(&B, RD_OPT_MESSAGE_TYPE, RD_DHCPOFFER, RD_BOPT_REQUIRED);

	int n = build_parse(&B, NULL, 0, 0, out, &M, NULL);
	ok(n > 0, "header test builds");
	is_int(M.op, RD_BOOTREPLY, "op");
	is_int(M.htype, 6, "htype");
	is_int(M.hlen, 6, "hlen");
	is_int(M.hops, 3, "hops");
	is_int(M.xid, 0xcafef00d, "xid");
	is_int(M.secs, 9, "secs");
	is_int(M.flags, RD_DHCP_FLAG_BROADCAST, "flags");
	is_int(M.ciaddr, 0x01020304, "ciaddr");
	is_int(M.yiaddr, 0x05060708, "yiaddr");
	is_int(M.siaddr, 0x090a0b0c, "siaddr");
	is_int(M.giaddr, 0x0d0e0f10, "giaddr");
	is_mem(M.chaddr, 16, B.chaddr, 16, "chaddr");
	is_mem(M.sname, 64, B.sname, 64, "sname");
	is_mem(M.file, 128, B.file, 128, "file");
	ok(M.has_cookie, "cookie");

	/* Plain BOOTP: header, zero vendor area, 300 bytes. */
	B.no_cookie = true;
	unsigned dropped = 0;
	rd_diag_t d;
	rd_diag_clear(&d);
	memset(out, 0xee, 400);
	n = rd_dhcp_build(&B, NULL, 0, 0, out, sizeof(out), &dropped, &d);
	is_int(n, RD_DHCP_MIN_LEN, "no_cookie: 300 bytes");
	static const uint8_t zeros[64];
	is_mem(out + 236, 64, zeros, 64, "no_cookie: zero vendor area");
	is_int(out[300], 0xee, "no_cookie: nothing written past 300");
	is_int(dropped, 1, "no_cookie: the options are counted as dropped");
	rd_diag_clear(&d);
	is_int(rd_dhcp_parse(out, (size_t)n, &M, &d), 0, "no_cookie parses");
	ok(!M.has_cookie, "no_cookie parses as plain BOOTP");
	is_int(M.xid, 0xcafef00d, "no_cookie: xid");

	/* Output buffer too small for even a BOOTP message. */
	B.no_cookie = false;
	rd_diag_clear(&d);
	is_int(rd_dhcp_build(&B, NULL, 0, 0, out, 299, NULL, &d), RD_ENOSPACE, "cap 299 is RD_ENOSPACE");
}

static void test_max_msg(void)
{
	/* 10 options of 100 bytes (102 on the wire) = 1020 bytes of options. */
	rd_dhcp_builder_init(&B);
	rd_dhcp_builder_set_u8(&B, RD_OPT_MESSAGE_TYPE, RD_DHCPACK, RD_BOPT_REQUIRED);
	for (uint8_t c = 224; c < 234; c++)
		set_pat(&B, c, 100, 0);

	/* Client said 57 = 1500: 1472 bytes of payload; everything fits in the field. */
	unsigned dropped = 99;
	int n = build_parse(&B, NULL, 0, 1500 - 28, out, &M, &dropped);
	is_int(n, 240 + 3 + 10 * 102 + 1, "max 1472: length = header + options + END");
	is_int(dropped, 0, "max 1472: nothing dropped");
	is_int(M.overload, 0, "max 1472: no overload needed");
	has_pat(&M, 233, 100, "max 1472");

	/* Exactly enough: 1264 bytes.  One byte less forces overload. */
	n = build_parse(&B, NULL, 0, 1264, out, &M, &dropped);
	is_int(n, 1264, "max 1264: exact fit");
	is_int(M.overload, 0, "max 1264: no overload");
	n = build_parse(&B, NULL, 0, 1263, out, &M, &dropped);
	ok(n > 0 && n <= 1263, "max 1263: within the limit (%d)", n);
	is_int(M.overload, RD_OVERLOAD_FILE, "max 1263: the last option moves to file");
	is_int(dropped, 0, "max 1263: nothing dropped");
	has_pat(&M, 233, 100, "max 1263");

	/* Default (0): 548 bytes.  The field takes 2 (with 52), file 1, sname none. */
	n = build_parse(&B, NULL, 0, 0, out, &M, &dropped);
	ok(n > 0 && n <= 548, "default: within 548 bytes (%d)", n);
	is_int(M.overload, RD_OVERLOAD_FILE, "default: file overloaded");
	is_int(dropped, 7, "default: 7 options dropped");
	is_int(M.opt_count, 1 + 3 + 1, "default: 53 + 3 options + 52");

	/* Below the RFC minimum is raised to 548. */
	unsigned d2;
	n = build_parse(&B, NULL, 0, 100, out2, &M2, &d2);
	is_int(n, build_parse(&B, NULL, 0, 548, out, &M, &dropped), "max 100 treated as 548");
	is_mem(out2, (size_t)n, out, (size_t)n, "same bytes as with 548");
	is_int(d2, dropped, "same drops");

	/* Above RD_DHCP_MAX_LEN and above cap are clamped. */
	for (uint8_t c = 224; c < 250; c++)
		set_pat(&B, c, 255, 0);     /* 26 * 257 = 6682 bytes */
	rd_diag_t d;
	rd_diag_clear(&d);
	n = rd_dhcp_build(&B, NULL, 0, 100000, out, sizeof(out), &dropped, &d);
	is_int(n, 240 + 3 + 26 * 257 + 1, "huge max: all fits in 9000");
	rd_diag_clear(&d);
	n = rd_dhcp_build(&B, NULL, 0, 100000, out, 2000, &dropped, &d);
	ok(n > 0 && n <= 2000, "cap 2000 limits the message (%d)", n);
	ok(dropped > 0, "cap 2000: options dropped (%u)", dropped);
	rd_diag_clear(&d);
	is_int(rd_dhcp_parse(out, (size_t)n, &M, &d), 0, "cap-limited message parses");
}

static void test_overload(void)
{
	/*
	 * Default 548: options field 308 bytes.  53 (3) + 54 (6) + A (102) +
	 * B (102) = 213; C (102) makes 315 > 307, so overload: field keeps
	 * 304 + 52, C goes to file (127 usable), D (52) no longer fits file's
	 * remaining 25 and goes to sname (63 usable).
	 */
	rd_dhcp_builder_init(&B);
	rd_dhcp_builder_set_u8(&B, RD_OPT_MESSAGE_TYPE, RD_DHCPOFFER, RD_BOPT_REQUIRED);
	rd_dhcp_builder_set_u32(&B, RD_OPT_SERVER_ID, 0xc0a80001, RD_BOPT_REQUIRED);
	set_pat(&B, OPT_A, 100, 0);
	set_pat(&B, OPT_B, 100, 0);
	set_pat(&B, OPT_C, 100, 0);
	set_pat(&B, OPT_D, 50, 0);

	unsigned dropped = 99;
	int n = build_parse(&B, NULL, 0, 0, out, &M, &dropped);
	ok(n > 0 && n <= 548, "overload: within 548 (%d)", n);
	is_int(dropped, 0, "overload: nothing dropped");
	is_int(M.overload, RD_OVERLOAD_BOTH, "overload: file and sname");
	static const uint8_t want[] = { 53, 54, OPT_A, OPT_B, 52, OPT_C, OPT_D };
	order_is(&M, want, sizeof(want), "overload");
	has_pat(&M, OPT_A, 100, "overload");
	has_pat(&M, OPT_B, 100, "overload");
	has_pat(&M, OPT_C, 100, "overload");
	has_pat(&M, OPT_D, 50, "overload");
	is_int(M.file[0], OPT_C, "C at the start of file");
	is_int(M.sname[0], OPT_D, "D at the start of sname");

	unsigned lens[4];
	bool end;
	is_int(instances(out, 108, 128, OPT_C, lens, 4, &end), 1, "file: one instance of C");
	ok(end, "file: END, then only PAD");
	is_int(instances(out, 44, 64, OPT_D, lens, 4, &end), 1, "sname: one instance of D");
	ok(end, "sname: END, then only PAD");
	is_int(instances(out, 240, (size_t)n - 240, 52, lens, 4, &end), 1, "field: one 52");
	ok(end, "field: END");
	is_int(n, 240 + 213 + 3 + 1, "field: options, 52, END");
	is_int(out[240 + 213], 52, "52 closes the field, after the last option placed there");
	is_int(out[240 + 216], RD_OPT_END, "then END");

	/* file in use: only sname is free. */
	rd_dhcp_builder_set_file(&B, "pxelinux.0");
	rd_dhcp_builder_unset(&B, OPT_D);
	set_pat(&B, OPT_C, 80, 0);
	set_pat(&B, OPT_D, 40, 0);  /* 213 + 82 = 295 fits 304; D (42) goes to sname */
	n = build_parse(&B, NULL, 0, 0, out, &M, &dropped);
	is_int(M.overload, RD_OVERLOAD_SNAME, "file set: sname only");
	is_int(dropped, 0, "file set: nothing dropped");
	is_mem(M.file, 11, "pxelinux.0", 11, "file field kept");
	has_pat(&M, OPT_D, 40, "sname overload");
	is_int(M.sname[0], OPT_D, "D in sname");

	/* sname in use: only file is free. */
	rd_dhcp_builder_set_file(&B, NULL);
	rd_dhcp_builder_set_sname(&B, "tftp.example");
	n = build_parse(&B, NULL, 0, 0, out, &M, &dropped);
	is_int(M.overload, RD_OVERLOAD_FILE, "sname set: file only");
	is_mem(M.sname, 13, "tftp.example", 13, "sname field kept");
	is_int(M.file[0], OPT_D, "D in file");

	/* Both in use: no overload possible, D is dropped. */
	rd_dhcp_builder_set_file(&B, "x");
	n = build_parse(&B, NULL, 0, 0, out, &M, &dropped);
	is_int(M.overload, 0, "both set: no overload");
	is_int(dropped, 1, "both set: one dropped");
	ok(!rd_dhcp_has(&M, OPT_D), "both set: D (last added) is the one dropped");
}

static void test_long_option(void)
{
	uint8_t v[600];
	unsigned lens[8];
	bool end;

	pattern(v, sizeof(v), 43);
	rd_dhcp_builder_init(&B);
	rd_dhcp_builder_set_u8(&B, RD_OPT_MESSAGE_TYPE, RD_DHCPACK, RD_BOPT_REQUIRED);
	rd_dhcp_builder_set(&B, RD_OPT_VENDOR_SPECIFIC, v, 600, 0);
	rd_dhcp_builder_set_u32(&B, RD_OPT_LEASE_TIME, 600, 0);

	/* Room enough in the field: 255 + 255 + 90. */
	int n = build_parse(&B, NULL, 0, 1472, out, &M, NULL);
	is_int(n, 240 + 3 + 3 * 2 + 600 + 6 + 1, "600-byte option: length");
	is_int(instances(out, 240, (size_t)n - 240, 43, lens, 8, &end), 3, "600 bytes in 3 instances");
	is_int(lens[0], 255, "first instance 255");
	is_int(lens[1], 255, "second instance 255");
	is_int(lens[2], 90, "third instance 90");
	size_t len;
	const uint8_t *got = rd_dhcp_get(&M, 43, &len);
	is_mem(got, len, v, 600, "parser joins the instances back");
	static const uint8_t want[] = { 53, 43, 51 };
	order_is(&M, want, sizeof(want), "long option");

	/*
	 * Default 548 with 400 bytes: field 304 usable with 52; 53 takes 3,
	 * then instances of 255 (257 bytes) and 42 (44 bytes) fill it; the
	 * last 103 bytes continue in file as one instance, followed by 51.
	 */
	rd_dhcp_builder_set(&B, RD_OPT_VENDOR_SPECIFIC, v, 400, 0);
	unsigned dropped = 99;
	n = build_parse(&B, NULL, 0, 0, out, &M, &dropped);
	ok(n > 0 && n <= 548, "400-byte option within 548 (%d)", n);
	is_int(dropped, 0, "nothing dropped");
	is_int(M.overload, RD_OVERLOAD_FILE, "continues into file");
	is_int(instances(out, 240, (size_t)n - 240, 43, lens, 8, &end), 2, "two instances in the field");
	is_int(lens[0], 255, "field: 255");
	is_int(lens[1], 42, "field: the rest of the field (42)");
	is_int(instances(out, 108, 128, 43, lens, 8, &end), 1, "one instance in file");
	is_int(lens[0], 103, "file: 103");
	ok(end, "file: END and PAD");
	got = rd_dhcp_get(&M, 43, &len);
	is_mem(got, len, v, 400, "joined across field and file");
	uint32_t u;
	ok(rd_dhcp_get_u32(&M, RD_OPT_LEASE_TIME, &u) && u == 600, "51 after the long option");

	/*
	 * Options of 255 bytes or less are never split: 53 (3) + A (202) leave
	 * 99 of the field's 304; B (122) moves whole to file rather than being
	 * cut into 97 + 23 bytes.
	 */
	rd_dhcp_builder_init(&B);
	rd_dhcp_builder_set_u8(&B, RD_OPT_MESSAGE_TYPE, RD_DHCPACK, RD_BOPT_REQUIRED);
	set_pat(&B, OPT_A, 200, 0);
	set_pat(&B, OPT_B, 120, 0);
	n = build_parse(&B, NULL, 0, 0, out, &M, &dropped);
	is_int(M.overload, RD_OVERLOAD_FILE, "short option: moved to file");
	is_int(instances(out, 240, (size_t)n - 240, OPT_B, lens, 8, &end), 0, "short option: none of it in the field");
	is_int(instances(out, 108, 128, OPT_B, lens, 8, &end), 1, "short option: one instance in file");
	is_int(lens[0], 120, "short option: whole");
	has_pat(&M, OPT_B, 120, "short option");

	rd_dhcp_builder_init(&B);
	rd_dhcp_builder_set_u8(&B, RD_OPT_MESSAGE_TYPE, RD_DHCPACK, RD_BOPT_REQUIRED);
	rd_dhcp_builder_set_u32(&B, RD_OPT_LEASE_TIME, 600, 0);

	/* 600 bytes cannot fit 548 even with overload: optional -> dropped. */
	rd_dhcp_builder_set(&B, RD_OPT_VENDOR_SPECIFIC, v, 600, 0);
	n = build_parse(&B, NULL, 0, 0, out, &M, &dropped);
	ok(n > 0, "oversized optional option: still builds");
	is_int(dropped, 1, "it is dropped");
	ok(!rd_dhcp_has(&M, 43), "43 absent");
	ok(rd_dhcp_has(&M, 51), "51 kept");
	is_int(M.overload, 0, "no overload left over");

	/* REQUIRED: the build fails. */
	rd_dhcp_builder_set(&B, RD_OPT_VENDOR_SPECIFIC, v, 600, RD_BOPT_REQUIRED);
	rd_diag_t d;
	rd_diag_clear(&d);
	n = rd_dhcp_build(&B, NULL, 0, 0, out, sizeof(out), &dropped, &d);
	is_int(n, RD_ETOOBIG, "required option that cannot fit is RD_ETOOBIG");
	is_int(d.code, RD_ETOOBIG, "diag code");
	ok(strstr(d.reason, "43") != NULL, "reason names the option: %s", d.reason);
}

static void test_drop_order(void)
{
	unsigned dropped;
	int n;

	/*
	 * No overload (sname and file in use): 307 bytes for options.
	 * 53 + 54 required (9).  PRL asks for A, B.
	 */
	rd_dhcp_builder_init(&B);
	rd_dhcp_builder_set_sname(&B, "s");
	rd_dhcp_builder_set_file(&B, "f");
	rd_dhcp_builder_set_u8(&B, RD_OPT_MESSAGE_TYPE, RD_DHCPACK, RD_BOPT_REQUIRED);
	rd_dhcp_builder_set_u32(&B, RD_OPT_SERVER_ID, 1, RD_BOPT_REQUIRED);
	set_pat(&B, OPT_C, 60, 0);
	set_pat(&B, OPT_A, 100, 0);
	set_pat(&B, OPT_D, 60, 0);
	set_pat(&B, OPT_B, 100, 0);
	static const uint8_t prl[] = { OPT_A, OPT_B };

	/* 9 + 102 + 102 + 62 + 62 = 337: dropping D (last added, not requested) is enough. */
	n = build_parse(&B, prl, sizeof(prl), 0, out, &M, &dropped);
	ok(n > 0, "pressure 1 builds");
	is_int(dropped, 1, "pressure 1: one dropped");
	ok(!rd_dhcp_has(&M, OPT_D), "pressure 1: D (end of add order) dropped");
	ok(rd_dhcp_has(&M, OPT_C), "pressure 1: C kept");
	static const uint8_t want1[] = { 53, 54, OPT_A, OPT_B, OPT_C };
	order_is(&M, want1, sizeof(want1), "pressure 1");

	/*
	 * A = 150: 9 + 152 + 102 = 263; C (62) would make 325 > 307 and goes,
	 * D (12) still fits: it stays.
	 */
	set_pat(&B, OPT_A, 150, 0);
	set_pat(&B, OPT_D, 10, 0);
	n = build_parse(&B, prl, sizeof(prl), 0, out, &M, &dropped);
	is_int(dropped, 1, "pressure 2: one dropped");
	ok(!rd_dhcp_has(&M, OPT_C), "pressure 2: C dropped");
	ok(rd_dhcp_has(&M, OPT_D), "pressure 2: D, which fits, is not dropped needlessly");

	/* Requested ones go last, from the end of the PRL. */
	set_pat(&B, OPT_A, 200, 0);
	set_pat(&B, OPT_B, 150, 0);     /* 9 + 202 + 152 = 363 > 307 */
	n = build_parse(&B, prl, sizeof(prl), 0, out, &M, &dropped);
	is_int(dropped, 1, "pressure 3: one dropped");
	ok(rd_dhcp_has(&M, OPT_A), "pressure 3: A (first in PRL) kept");
	ok(!rd_dhcp_has(&M, OPT_B), "pressure 3: B (last in PRL) dropped");
	/*
	 * Dropping C and D would not have made room for B (9 + 202 + 152 > 307),
	 * so they are kept: lower priority loses only when that helps.
	 */
	ok(rd_dhcp_has(&M, OPT_C) && rd_dhcp_has(&M, OPT_D),
	   "pressure 3: C and D, which fit once B is out, are kept");
	static const uint8_t prl_rev[] = { OPT_B, OPT_A };
	n = build_parse(&B, prl_rev, sizeof(prl_rev), 0, out, &M, &dropped);
	ok(rd_dhcp_has(&M, OPT_B) && !rd_dhcp_has(&M, OPT_A), "reversed PRL: A (now last) dropped");

	/* A REQUIRED option outranks a requested one. */
	set_pat(&B, OPT_B, 150, RD_BOPT_REQUIRED);
	n = build_parse(&B, prl, sizeof(prl), 0, out, &M, &dropped);
	ok(rd_dhcp_has(&M, OPT_B) && !rd_dhcp_has(&M, OPT_A), "REQUIRED B kept over requested A");

	/* Required ones that together do not fit: RD_ETOOBIG. */
	set_pat(&B, OPT_A, 200, RD_BOPT_REQUIRED);
	rd_diag_t d;
	rd_diag_clear(&d);
	n = rd_dhcp_build(&B, prl, sizeof(prl), 0, out, sizeof(out), &dropped, &d);
	is_int(n, RD_ETOOBIG, "required set over the limit is RD_ETOOBIG");
	ok(d.reason[0] != '\0', "with a reason: %s", d.reason);
	/* ...but a bigger max message size saves it. */
	n = build_parse(&B, prl, sizeof(prl), 1000, out, &M, &dropped);
	ok(n > 548, "with max 1000 it builds (%d)", n);
	is_int(dropped, 0, "and drops nothing");
}

/* Every header field and every option value equal. */
static void same_msg(const rd_dhcp_t *a, const rd_dhcp_t *b, const char *what)
{
	ok(a->op == b->op && a->htype == b->htype && a->hlen == b->hlen && a->hops == b->hops &&
	   a->xid == b->xid && a->secs == b->secs && a->flags == b->flags &&
	   a->ciaddr == b->ciaddr && a->yiaddr == b->yiaddr && a->siaddr == b->siaddr &&
	   a->giaddr == b->giaddr, "%s: fixed header fields", what);
	is_mem(a->chaddr, 16, b->chaddr, 16, "%s: chaddr", what);
	is_int(a->has_cookie, b->has_cookie, "%s: cookie", what);
	unsigned na = 0, nb = 0, bad = 0;
	for (unsigned c = 1; c < 255; c++) {
		if (c == RD_OPT_OVERLOAD)
			continue;
		size_t la, lb;
		const uint8_t *va = rd_dhcp_get(a, (uint8_t)c, &la);
		const uint8_t *vb = rd_dhcp_get(b, (uint8_t)c, &lb);
		na += va != NULL;
		nb += vb != NULL;
		if ((va == NULL) != (vb == NULL) || la != lb || (va && la && memcmp(va, vb, la))) {
			bad++;
			diag("%s: option %u differs", what, c);
		}
	}
	is_int(na, nb, "%s: same number of options", what);
	is_int(bad, 0, "%s: identical option values", what);
}

static void test_from(void)
{
	uint8_t v[400];
	rd_diag_t d;

	/* A message with overload, a long option, 82, sname/file overloaded. */
	rd_dhcp_builder_init(&B);
	B.xid = 0x01020304;
	B.yiaddr = 0x0a0000fe;
	B.flags = RD_DHCP_FLAG_BROADCAST;
	B.chaddr[0] = 0x52;
	rd_dhcp_builder_set_u8(&B, RD_OPT_MESSAGE_TYPE, RD_DHCPOFFER, RD_BOPT_REQUIRED);
	rd_dhcp_builder_set_u32(&B, RD_OPT_SERVER_ID, 0x0a000001, 0);
	pattern(v, sizeof(v), 9);
	rd_dhcp_builder_set(&B, RD_OPT_VENDOR_SPECIFIC, v, 400, 0);
	static const uint8_t agent[] = { 1, 3, 'p', '0', '1' };
	rd_dhcp_builder_set(&B, RD_OPT_AGENT_INFO, agent, sizeof(agent), 0);
	rd_dhcp_builder_set_u32(&B, RD_OPT_LEASE_TIME, 7200, 0);
	int n = build_parse(&B, NULL, 0, 0, out, &M, NULL);
	ok(n > 0, "from: source message builds");
	ok(M.overload != 0, "from: source message is overloaded");

	is_int(rd_dhcp_builder_from(&B2, &M), 0, "builder_from");
	ok(!rd_dhcp_builder_from(&B2, &M) && !(B2.present[52 >> 3] & (1u << (52 & 7))),
	   "from: 52 is not copied");
	static const uint8_t zeros[128];
	is_mem(B2.file, 128, zeros, 128, "from: overloaded file left empty");
	is_mem(B2.sname, 64, zeros, 64, "from: overloaded sname left empty");
	is_int(B2.count, M.opt_count - 1, "from: every option but 52");
	int n2 = build_parse(&B2, NULL, 0, 0, out2, &M2, NULL);
	ok(n2 > 0, "from: rebuilt");
	same_msg(&M, &M2, "overloaded round trip");
	is_mem(M2.opt_order, M2.opt_count, M.opt_order, M.opt_count, "from: same option order");
	is_mem(out2, (size_t)n2, out, (size_t)n, "from: byte-identical rebuild");

	/*
	 * A client message not built by us: options out of our order, a PAD,
	 * no padding to 300, sname and file holding strings.
	 */
	uint8_t req[400];
	rd_wire_t w = rd_wire_init(req, sizeof(req));
	rd_wire_write_u8(&w, RD_BOOTREQUEST);
	rd_wire_write_u8(&w, 1);
	rd_wire_write_u8(&w, 6);
	rd_wire_write_u8(&w, 1);
	rd_wire_write_u32(&w, 0xa1b2c3d4);
	rd_wire_write_u16(&w, 5);
	rd_wire_write_u16(&w, 0);
	rd_wire_write_u32(&w, 0);
	rd_wire_write_u32(&w, 0);
	rd_wire_write_u32(&w, 0);
	rd_wire_write_u32(&w, 0xc0a80101);
	rd_wire_write_bytes(&w, "\x52\x54\x00\x01\x02\x03\0\0\0\0\0\0\0\0\0\0", 16);
	uint8_t sname[64] = "server-name", file[128] = "boot/file";
	rd_wire_write_bytes(&w, sname, 64);
	rd_wire_write_bytes(&w, file, 128);
	rd_wire_write_u32(&w, RD_DHCP_COOKIE);
	static const uint8_t opts[] = {
		61, 7, 1, 0x52, 0x54, 0x00, 0x01, 0x02, 0x03,
		53, 1, RD_DHCPREQUEST,
		0,
		55, 5, 1, 3, 6, 15, 119,
		57, 2, 0x05, 0xdc,
		12, 4, 'n', 'o', 'd', 'e',
		50, 4, 192, 168, 1, 50,
		255,
	};
	rd_wire_write_bytes(&w, opts, sizeof(opts));
	ok(rd_wire_ok(&w), "hand-made request written");
	rd_diag_clear(&d);
	is_int(rd_dhcp_parse(req, rd_wire_tell(&w), &M, &d), 0, "hand-made request parses");
	is_int(rd_dhcp_builder_from(&B2, &M), 0, "from the request");
	is_int(B2.op, RD_BOOTREQUEST, "from: op copied");
	is_int(B2.hops, 1, "from: hops copied");
	is_int(B2.secs, 5, "from: secs copied");
	is_mem(B2.sname, 64, sname, 64, "from: sname copied raw");
	is_mem(B2.file, 128, file, 128, "from: file copied raw");
	n2 = build_parse(&B2, NULL, 0, 0, out2, &M2, NULL);
	ok(n2 >= RD_DHCP_MIN_LEN, "request rebuilt (%d bytes)", n2);
	same_msg(&M, &M2, "request round trip");
	is_mem(M2.sname, 64, M.sname, 64, "request: sname");
	is_mem(M2.file, 128, M.file, 128, "request: file");
	static const uint8_t want[] = { 53, 61, 55, 57, 12, 50 };
	order_is(&M2, want, sizeof(want), "rebuilt request: 53 first, then the original order");

	/* Plain BOOTP in, plain BOOTP out. */
	rd_wire_t z = rd_wire_init(req, sizeof(req));
	rd_wire_seek(&z, 236);
	rd_wire_fill(&z, 0, 64);
	rd_diag_clear(&d);
	is_int(rd_dhcp_parse(req, 300, &M, &d), 0, "BOOTP request parses");
	ok(!M.has_cookie, "no cookie");
	is_int(rd_dhcp_builder_from(&B2, &M), 0, "from BOOTP");
	ok(B2.no_cookie, "from: no_cookie set");
	n2 = build_parse(&B2, NULL, 0, 0, out2, &M2, NULL);
	is_int(n2, RD_DHCP_MIN_LEN, "BOOTP rebuilt to 300");
	same_msg(&M, &M2, "BOOTP round trip");
}

int main(void)
{
	plan_lazy();
	test_init_reply();
	test_set_unset();
	test_order();
	test_header_fields();
	test_max_msg();
	test_overload();
	test_long_option();
	test_drop_order();
	test_from();
	return done_testing();
}
