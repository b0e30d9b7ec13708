/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_dhcp_options.c — the option table, the per-code length and content
 * rules of rd_dhcp_option_validate(), and the option-119 name codec.
 *
 * Each rule kind is checked on both sides of its boundary, with the exact
 * error code and, where it is part of the contract, the reason text that
 * ends up in the server's log.
 */
#include <stdio.h>
#include <string.h>

#include "rackdhcp/dhcp.h"
#include "rackdhcp/wire.h"
#include "tap.h"

static uint8_t zeros[512];

/* validate(code, zeros, len) and return the code (reason in *d). */
static int vlen(uint8_t code, size_t len, rd_diag_t *d)
{
	rd_diag_clear(d);
	return rd_dhcp_option_validate(code, zeros, len, d);
}

static int vbytes(uint8_t code, const uint8_t *v, size_t len, rd_diag_t *d)
{
	rd_diag_clear(d);
	return rd_dhcp_option_validate(code, v, len, d);
}

static void test_table(void)
{
	is_str(rd_dhcp_option_name(51), "lease-time", "51 is lease-time");
	is_str(rd_dhcp_option_name(53), "message-type", "53 is message-type");
	is_str(rd_dhcp_option_name(82), "relay-agent-information", "82 name");
	is_str(rd_dhcp_option_name(0), "pad", "0 is pad");
	is_str(rd_dhcp_option_name(255), "end", "255 is end");
	is_str(rd_dhcp_option_name(199), "option-199", "unknown code gets option-NNN");
	is_str(rd_dhcp_option_name(7), "log-servers", "7 name");
	ok(rd_dhcp_optinfo(199)->name == NULL && rd_dhcp_optinfo(199)->rule == RD_RULE_ANY,
	   "unknown code: no name, RD_RULE_ANY");

	/* Every entry is coherent: a known rule, MULT with a non-zero unit, RANGE ordered. */
	bool sane = true;
	for (unsigned c = 0; c < 256; c++) {
		const rd_dhcp_optinfo_t *oi = rd_dhcp_optinfo((uint8_t)c);
		if (oi->rule > RD_RULE_SPECIAL || (oi->rule == RD_RULE_MULT && oi->a == 0) ||
		    (oi->rule == RD_RULE_RANGE && oi->a > oi->b) || !rd_dhcp_option_name((uint8_t)c)) {
			diag("code %u: rule %u a %u b %u", c, oi->rule, oi->a, oi->b);
			sane = false;
		}
	}
	ok(sane, "all 256 table entries are coherent");

	is_int(rd_dhcp_optinfo(1)->rule, RD_RULE_FIXED, "1 fixed");
	is_int(rd_dhcp_optinfo(1)->a, 4, "1 length 4");
	is_int(rd_dhcp_optinfo(3)->rule, RD_RULE_MULT, "3 multiple");
	is_int(rd_dhcp_optinfo(82)->rule, RD_RULE_SPECIAL, "82 special");
	is_int(rd_dhcp_optinfo(119)->rule, RD_RULE_SPECIAL, "119 special");
	is_int(rd_dhcp_optinfo(121)->rule, RD_RULE_SPECIAL, "121 special");
	is_int(rd_dhcp_optinfo(43)->rule, RD_RULE_ANY, "43 any");

	is_str(rd_dhcp_msgtype_name(1), "DHCPDISCOVER", "msgtype 1");
	is_str(rd_dhcp_msgtype_name(8), "DHCPINFORM", "msgtype 8");
	is_str(rd_dhcp_msgtype_name(13), "DHCPLEASEACTIVE", "msgtype 13");
	is_str(rd_dhcp_msgtype_name(18), "DHCPTLS", "msgtype 18");
	is_str(rd_dhcp_msgtype_name(0), "unknown", "msgtype 0");
	is_str(rd_dhcp_msgtype_name(19), "unknown", "msgtype 19");
	is_str(rd_dhcp_msgtype_name(255), "unknown", "msgtype 255");
}

static void test_lengths(void)
{
	rd_diag_t d;

	/* FIXED */
	is_int(vlen(51, 4, &d), 0, "51 length 4 ok");
	is_int(vlen(51, 3, &d), RD_EOPTLEN, "51 length 3 refused");
	is_str(d.reason, "option 51 (lease-time) length 3, expected 4", "51 reason");
	is_int(vlen(51, 5, &d), RD_EOPTLEN, "51 length 5 refused");
	is_int(d.code, RD_EOPTLEN, "diag carries the code");
	is_int(vlen(1, 4, &d), 0, "1 length 4");
	is_int(vlen(1, 0, &d), RD_EOPTLEN, "1 length 0 refused");
	is_int(vlen(13, 2, &d), 0, "13 length 2");
	is_int(vlen(13, 4, &d), RD_EOPTLEN, "13 length 4 refused");
	is_int(vlen(19, 1, &d), 0, "19 length 1");
	is_int(vlen(19, 2, &d), RD_EOPTLEN, "19 length 2 refused");
	is_int(vlen(26, 2, &d), 0, "26 (MTU) length 2");
	is_int(vlen(26, 1, &d), RD_EOPTLEN, "26 length 1 refused");
	is_int(vlen(80, 0, &d), 0, "80 rapid commit length 0");
	is_int(vlen(80, 1, &d), RD_EOPTLEN, "80 length 1 refused");
	is_int(vlen(94, 3, &d), 0, "94 length 3");
	is_int(vlen(94, 2, &d), RD_EOPTLEN, "94 length 2 refused");
	is_int(vlen(97, 17, &d), 0, "97 length 17");
	is_int(vlen(97, 16, &d), RD_EOPTLEN, "97 length 16 refused");
	is_int(vlen(97, 0, &d), RD_EOPTLEN, "97 length 0 refused");
	is_int(vlen(123, 16, &d), 0, "123 length 16");
	is_int(vlen(118, 4, &d), 0, "118 length 4");
	is_int(vlen(118, 8, &d), RD_EOPTLEN, "118 length 8 refused");

	/* MULT */
	is_int(vlen(3, 4, &d), 0, "3 routers length 4");
	is_int(vlen(3, 12, &d), 0, "3 routers length 12");
	is_int(vlen(3, 0, &d), RD_EOPTLEN, "3 length 0 refused");
	is_int(vlen(3, 6, &d), RD_EOPTLEN, "3 length 6 refused");
	is_str(d.reason, "option 3 (routers) length 6, expected a multiple of 4, at least 4",
	       "3 reason");
	is_int(vlen(6, 252, &d), 0, "6 length 252");
	is_int(vlen(21, 16, &d), 0, "21 length 16");
	is_int(vlen(21, 4, &d), RD_EOPTLEN, "21 length 4 refused");
	is_int(vlen(33, 8, &d), 0, "33 length 8");
	is_int(vlen(33, 12, &d), RD_EOPTLEN, "33 length 12 refused");
	is_int(vlen(25, 2, &d), 0, "25 length 2");
	is_int(vlen(25, 3, &d), RD_EOPTLEN, "25 length 3 refused");
	is_int(vlen(68, 0, &d), 0, "68 length 0 allowed (min 0)");
	is_int(vlen(68, 4, &d), 0, "68 length 4");
	is_int(vlen(68, 3, &d), RD_EOPTLEN, "68 length 3 refused");
	is_int(vlen(93, 2, &d), 0, "93 length 2");
	is_int(vlen(93, 4, &d), 0, "93 length 4");
	is_int(vlen(93, 3, &d), RD_EOPTLEN, "93 length 3 refused");
	is_int(vlen(93, 0, &d), RD_EOPTLEN, "93 length 0 refused");
	is_int(vlen(150, 8, &d), 0, "150 length 8");
	is_int(vlen(150, 5, &d), RD_EOPTLEN, "150 length 5 refused");

	/* MIN */
	is_int(vlen(12, 1, &d), 0, "12 host-name length 1");
	is_int(vlen(12, 0, &d), RD_EOPTLEN, "12 length 0 refused");
	is_str(d.reason, "option 12 (host-name) length 0, expected at least 1", "12 reason");
	is_int(vlen(55, 0, &d), RD_EOPTLEN, "55 length 0 refused");
	is_int(vlen(55, 255, &d), 0, "55 length 255");
	is_int(vlen(61, 2, &d), 0, "61 length 2");
	is_int(vlen(61, 1, &d), RD_EOPTLEN, "61 length 1 refused");
	is_int(vlen(77, 1, &d), 0, "77 plain string accepted");
	is_int(vlen(77, 0, &d), RD_EOPTLEN, "77 length 0 refused");
	is_int(vlen(81, 3, &d), 0, "81 length 3");
	is_int(vlen(81, 2, &d), RD_EOPTLEN, "81 length 2 refused");
	is_int(vlen(212, 22, &d), 0, "212 length 22");
	is_int(vlen(212, 21, &d), RD_EOPTLEN, "212 length 21 refused");
	is_int(vlen(252, 0, &d), RD_EOPTLEN, "252 length 0 refused");
	is_int(vlen(210, 300, &d), 0, "210 long joined value");

	/* RANGE */
	is_int(vlen(62, 1, &d), 0, "62 length 1");
	is_int(vlen(62, 255, &d), 0, "62 length 255");
	is_int(vlen(62, 0, &d), RD_EOPTLEN, "62 length 0 refused");
	is_int(vlen(62, 256, &d), RD_EOPTLEN, "62 joined length 256 refused");
	is_str(d.reason, "option 62 (nwip-domain) length 256, expected 1..255", "62 reason");

	/* ANY */
	is_int(vlen(43, 0, &d), 0, "43 length 0");
	is_int(vlen(43, 77, &d), 0, "43 length 77");
	is_int(vlen(199, 0, &d), 0, "unknown code length 0");
	is_int(vlen(199, 400, &d), 0, "unknown code length 400");

	/* PAD/END never have values; NULL with a length is a caller bug. */
	is_int(vlen(0, 0, &d), RD_EINVAL, "pad is not validated as a value");
	is_int(vlen(255, 0, &d), RD_EINVAL, "end is not validated as a value");
	rd_diag_clear(&d);
	is_int(rd_dhcp_option_validate(12, NULL, 3, &d), RD_EINVAL, "NULL value with length");
	is_int(rd_dhcp_option_validate(43, NULL, 0, NULL), 0, "NULL empty value and NULL diag");
}

static void test_contents(void)
{
	rd_diag_t d;
	uint8_t v[8];

	v[0] = 1;
	is_int(vbytes(52, v, 1, &d), 0, "52 value 1");
	v[0] = 3;
	is_int(vbytes(52, v, 1, &d), 0, "52 value 3");
	v[0] = 0;
	is_int(vbytes(52, v, 1, &d), RD_EMALFORMED, "52 value 0 refused");
	v[0] = 4;
	is_int(vbytes(52, v, 1, &d), RD_EMALFORMED, "52 value 4 refused");
	is_str(d.reason, "option 52 (overload) value 4, expected 1..3", "52 reason");

	v[0] = 0;
	is_int(vbytes(53, v, 1, &d), RD_EMALFORMED, "53 value 0 refused");
	v[0] = 1;
	is_int(vbytes(53, v, 1, &d), 0, "53 value 1");
	v[0] = 200;
	is_int(vbytes(53, v, 1, &d), 0, "53 unknown non-zero type accepted");

	v[0] = 0x02, v[1] = 0x3f;   /* 575 */
	is_int(vbytes(57, v, 2, &d), RD_EMALFORMED, "57 value 575 refused");
	v[1] = 0x40;                /* 576 */
	is_int(vbytes(57, v, 2, &d), 0, "57 value 576");
	v[0] = 0xff, v[1] = 0xff;
	is_int(vbytes(57, v, 2, &d), 0, "57 value 65535");
}

static void test_agent(void)
{
	rd_diag_t d;
	static const uint8_t good[] = { 1, 3, 'a', 'b', 'c', 2, 0, 5, 4, 10, 0, 0, 1 };
	static const uint8_t overrun[] = { 1, 3, 'a', 'b' };
	static const uint8_t nolen[] = { 1, 1, 'a', 2 };
	static const uint8_t empty_sub[] = { 9, 0 };

	is_int(vbytes(82, good, sizeof(good), &d), 0, "82 three sub-options that fill it");
	is_int(vbytes(82, empty_sub, sizeof(empty_sub), &d), 0, "82 one empty sub-option");
	is_int(vbytes(82, overrun, sizeof(overrun), &d), RD_EMALFORMED, "82 sub-option overruns");
	is_str(d.reason, "option 82 sub-option 1 length 3 overruns the option (2 bytes left)",
	       "82 overrun reason");
	is_int(vbytes(82, nolen, sizeof(nolen), &d), RD_EMALFORMED, "82 trailing code without length");
	is_int(vbytes(82, good, 1, &d), RD_EOPTLEN, "82 length 1 refused");
	is_int(vbytes(82, good, 0, &d), RD_EOPTLEN, "82 length 0 refused");
}

static void test_routes(void)
{
	rd_diag_t d;
	/* 10.0.0.0/8 via 10.0.0.1, 0.0.0.0/0 via 192.168.1.1, 192.168.5.0/24 via 10.1.1.1 */
	static const uint8_t good[] = {
		8, 10, 10, 0, 0, 1,
		0, 192, 168, 1, 1,
		24, 192, 168, 5, 10, 1, 1, 1,
	};
	static const uint8_t host[] = { 32, 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t wide[] = { 33, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	static const uint8_t shortr[] = { 24, 192, 168, 5, 10, 1, 1 };
	static const uint8_t extra[] = { 0, 1, 1, 1, 1, 9 };

	is_int(vbytes(121, good, sizeof(good), &d), 0, "121 three routes");
	is_int(vbytes(121, host, sizeof(host), &d), 0, "121 /32 route");
	is_int(vbytes(121, good, 5, &d), RD_EMALFORMED, "121 /8 route needs 6 bytes, 5 given");
	is_int(vbytes(121, good + 6, 5, &d), 0, "121 default route only");
	is_int(vbytes(121, wide, sizeof(wide), &d), RD_EMALFORMED, "121 width 33 refused");
	is_str(d.reason, "option 121 route at offset 0 has prefix width 33, above 32", "121 width reason");
	is_int(vbytes(121, shortr, sizeof(shortr), &d), RD_EMALFORMED, "121 route cut short");
	is_int(vbytes(121, extra, sizeof(extra), &d), RD_EMALFORMED, "121 stray byte after a route");
	is_int(vbytes(121, good, 4, &d), RD_EOPTLEN, "121 length 4 refused");
}

static void test_enterprise(void)
{
	rd_diag_t d;
	static const uint8_t good[] = { 0, 0, 0x0d, 0xe9, 3, 1, 1, 'x', 0, 0, 0, 9, 0 };
	static const uint8_t overrun[] = { 0, 0, 0x0d, 0xe9, 4, 1, 1, 'x' };
	static const uint8_t stray[] = { 0, 0, 0x0d, 0xe9, 1, 1, 0, 0 };

	is_int(vbytes(125, good, sizeof(good), &d), 0, "125 two enterprise entries");
	is_int(vbytes(124, good, sizeof(good), &d), 0, "124 two enterprise entries");
	is_int(vbytes(125, overrun, sizeof(overrun), &d), RD_EMALFORMED, "125 data overruns");
	is_int(vbytes(125, stray, sizeof(stray), &d), RD_EMALFORMED, "125 stray bytes");
	is_int(vbytes(124, good, 4, &d), RD_EOPTLEN, "124 length 4 refused");
}

static void test_search_decode(void)
{
	rd_diag_t d;
	char out[512];

	/* RFC 3397 §3 example: eng.apple.com., marketing.apple.com. */
	static const uint8_t rfc[] = {
		3, 'e', 'n', 'g', 5, 'a', 'p', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		9, 'm', 'a', 'r', 'k', 'e', 't', 'i', 'n', 'g', 0xc0, 4,
	};
	rd_diag_clear(&d);
	is_int(rd_dhcp_decode_search(rfc, sizeof(rfc), out, sizeof(out), &d), 2, "RFC 3397 example: 2 names");
	is_str(out, "eng.apple.com marketing.apple.com", "RFC 3397 example decoded");
	is_int(vbytes(119, rfc, sizeof(rfc), &d), 0, "RFC 3397 example validates");
	is_int(vbytes(141, rfc, sizeof(rfc), &d), 0, "141 uses the same format");

	/* A pointer chain through two earlier names. */
	static const uint8_t chain[] = {
		3, 'c', 'o', 'm', 0,                   /* 0: com */
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0xc0, 0, /* 5: example.com */
		3, 'w', 'w', 'w', 0xc0, 5,             /* 15: www.example.com */
		0xc0, 19,                              /* 21: www.example.com again? no: -> 19 is a pointer */
	};
	rd_diag_clear(&d);
	is_int(rd_dhcp_decode_search(chain, 21, out, sizeof(out), &d), 3, "chained pointers: 3 names");
	is_str(out, "com example.com www.example.com", "chained pointers decoded");
	/* Offset 21 points at offset 19, itself a pointer to 5: still strictly downwards. */
	rd_diag_clear(&d);
	is_int(rd_dhcp_decode_search(chain, sizeof(chain), out, sizeof(out), &d), 4,
	       "pointer to a pointer that goes further down");
	is_str(out, "com example.com www.example.com example.com", "pointer to pointer decoded");

	/* Forward pointer. */
	static const uint8_t fwd[] = { 0xc0, 2, 1, 'a', 0 };
	rd_diag_clear(&d);
	is_int(rd_dhcp_decode_search(fwd, sizeof(fwd), out, sizeof(out), &d), RD_EMALFORMED, "forward pointer refused");
	is_str(d.reason, "option 119: pointer at offset 0 to 2 does not point backwards", "forward pointer reason");

	/* Pointer to itself. */
	static const uint8_t self[] = { 1, 'a', 0xc0, 2 };
	rd_diag_clear(&d);
	is_int(rd_dhcp_decode_search(self, sizeof(self), out, sizeof(out), &d), RD_EMALFORMED, "self pointer refused");

	/* Pointer back to the start of the same name: a loop. */
	static const uint8_t loop[] = { 1, 'a', 0xc0, 0 };
	rd_diag_clear(&d);
	is_int(rd_dhcp_decode_search(loop, sizeof(loop), out, sizeof(out), &d), RD_EMALFORMED, "loop to own start refused");

	/*
	 * A loop built only from backward pointers: the name at offset 4 jumps
	 * to 1, inside the first name's label data; read as a length, byte 1
	 * (4) steps over the pointer at 4 to the pointer at 6, which jumps back
	 * to 1.  Every pointer points backwards, yet the walk never ends.
	 */
	static const uint8_t sneaky[] = { 2, 4, 'y', 0, 0xc0, 1, 0xc0, 1 };
	rd_diag_clear(&d);
	is_int(rd_dhcp_decode_search(sneaky, sizeof(sneaky), out, sizeof(out), &d), RD_EMALFORMED,
	       "loop made of backward pointers refused");
	ok(strstr(d.reason, "loop") != NULL, "reason names the loop: %s", d.reason);

	/* Labels of 63 pass, 64 (0x40: reserved label type) fails. */
	uint8_t lab[70] = { 63 };
	memset(lab + 1, 'q', 63);
	lab[64] = 0;
	rd_diag_clear(&d);
	is_int(rd_dhcp_decode_search(lab, 65, out, sizeof(out), &d), 1, "63-byte label accepted");
	lab[0] = 64;
	lab[65] = 0;
	rd_diag_clear(&d);
	is_int(rd_dhcp_decode_search(lab, 66, out, sizeof(out), &d), RD_EMALFORMED, "64-byte label refused");
	ok(strstr(d.reason, "exceeds 63") != NULL, "label reason: %s", d.reason);
	static const uint8_t ext[] = { 0x80, 'a', 0 };
	is_int(rd_dhcp_decode_search(ext, sizeof(ext), NULL, 0, NULL), RD_EMALFORMED, "label type 0x80 refused");

	/* Names up to 255 octets pass; 256 fail (four 63-labels = 256 with the root). */
	uint8_t big[300];
	rd_wire_t w = rd_wire_init(big, sizeof(big));
	for (int i = 0; i < 3; i++) {
		rd_wire_write_u8(&w, 63);
		rd_wire_fill(&w, 'a', 63);
	}
	rd_wire_write_u8(&w, 61);
	rd_wire_fill(&w, 'b', 61);
	rd_wire_write_u8(&w, 0);
	is_int((long long)rd_wire_tell(&w), 255, "255-octet name built");
	is_int(rd_dhcp_decode_search(big, rd_wire_tell(&w), NULL, 0, NULL), 1, "255-octet name accepted");
	w = rd_wire_init(big, sizeof(big));
	for (int i = 0; i < 3; i++) {
		rd_wire_write_u8(&w, 63);
		rd_wire_fill(&w, 'a', 63);
	}
	rd_wire_write_u8(&w, 62);
	rd_wire_fill(&w, 'b', 62);
	rd_wire_write_u8(&w, 0);
	rd_diag_clear(&d);
	is_int(rd_dhcp_decode_search(big, rd_wire_tell(&w), NULL, 0, &d), RD_EMALFORMED, "256-octet name refused");

	/* A name continued through a pointer counts the pointed-to labels too. */
	w = rd_wire_init(big, sizeof(big));
	for (int i = 0; i < 3; i++) {
		rd_wire_write_u8(&w, 63);
		rd_wire_fill(&w, 'a', 63);
	}
	rd_wire_write_u8(&w, 60);
	rd_wire_fill(&w, 'b', 60);
	rd_wire_write_u8(&w, 0);                 /* 254 octets */
	rd_wire_write_u8(&w, 1);
	rd_wire_write_u8(&w, 'c');
	rd_wire_write_u16(&w, 0xc000);           /* c + the first name: 256 octets */
	rd_diag_clear(&d);
	is_int(rd_dhcp_decode_search(big, rd_wire_tell(&w), NULL, 0, &d), RD_EMALFORMED,
	       "256 octets reached through a pointer refused");
	ok(strstr(d.reason, "255") != NULL, "reason: %s", d.reason);

	static const uint8_t trunc_label[] = { 5, 'a', 'b' };
	is_int(rd_dhcp_decode_search(trunc_label, sizeof(trunc_label), NULL, 0, NULL), RD_EMALFORMED,
	       "label past the end refused");
	static const uint8_t no_root[] = { 1, 'a' };
	is_int(rd_dhcp_decode_search(no_root, sizeof(no_root), NULL, 0, NULL), RD_EMALFORMED,
	       "name without its root label refused");
	static const uint8_t half_ptr[] = { 1, 'a', 0, 0xc0 };
	is_int(rd_dhcp_decode_search(half_ptr, sizeof(half_ptr), NULL, 0, NULL), RD_EMALFORMED,
	       "pointer cut in half refused");
	is_int(vbytes(119, half_ptr, sizeof(half_ptr), &d), RD_EMALFORMED, "validate 119 refuses it too");
	is_int(vbytes(141, half_ptr, sizeof(half_ptr), &d), RD_EMALFORMED, "validate 141 refuses it too");
	ok(strncmp(d.reason, "option 141", 10) == 0, "141 reason names 141: %s", d.reason);

	/* Root name, escapes, empty value, output too small. */
	static const uint8_t root[] = { 0 };
	rd_diag_clear(&d);
	is_int(rd_dhcp_decode_search(root, 1, out, sizeof(out), &d), 1, "root name");
	is_str(out, ".", "root name is '.'");
	static const uint8_t odd[] = { 4, 'a', '.', ' ', 0x01, 0 };
	is_int(rd_dhcp_decode_search(odd, sizeof(odd), out, sizeof(out), NULL), 1, "odd label");
	is_str(out, "a\\.\\032\\001", "dot, space and control escaped");
	is_int(rd_dhcp_decode_search(root, 0, out, sizeof(out), NULL), 0, "empty value: no names");
	is_str(out, "", "empty value: empty text");
	is_int(vbytes(119, root, 0, &d), RD_EOPTLEN, "119 empty refused");
	char tiny[8];
	rd_diag_clear(&d);
	is_int(rd_dhcp_decode_search(rfc, sizeof(rfc), tiny, sizeof(tiny), &d), RD_ENOSPACE, "output too small");
	ok(strlen(tiny) < sizeof(tiny), "small output still terminated");
}

static void test_search_encode(void)
{
	uint8_t buf[600];
	char out[600];
	const char *names[] = { "eng.apple.com", "marketing.apple.com." };
	static const uint8_t want[] = {
		3, 'e', 'n', 'g', 5, 'a', 'p', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		9, 'm', 'a', 'r', 'k', 'e', 't', 'i', 'n', 'g', 5, 'a', 'p', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
	};
	int n = rd_dhcp_encode_search(names, 2, buf, sizeof(buf));

	is_int(n, (long long)sizeof(want), "encoded length");
	if (n > 0)
		is_mem(buf, (size_t)n, want, sizeof(want), "encoded bytes (no compression)");
	is_int(rd_dhcp_decode_search(buf, (size_t)(n > 0 ? n : 0), out, sizeof(out), NULL), 2, "round trip count");
	is_str(out, "eng.apple.com marketing.apple.com", "round trip text");

	const char *root[] = { "." };
	is_int(rd_dhcp_encode_search(root, 1, buf, sizeof(buf)), 1, "root encodes to one byte");
	is_int(buf[0], 0, "root is a zero byte");
	is_int(rd_dhcp_encode_search(names, 0, buf, sizeof(buf)), 0, "no names: empty");

	const char *bad1[] = { "a..b" };
	const char *bad2[] = { "" };
	const char *bad3[] = { ".a" };
	is_int(rd_dhcp_encode_search(bad1, 1, buf, sizeof(buf)), RD_EINVAL, "empty label refused");
	is_int(rd_dhcp_encode_search(bad2, 1, buf, sizeof(buf)), RD_EINVAL, "empty name refused");
	is_int(rd_dhcp_encode_search(bad3, 1, buf, sizeof(buf)), RD_EINVAL, "leading dot refused");

	char l64[80];
	memset(l64, 'x', 64);
	l64[64] = '\0';
	const char *bad4[] = { l64 };
	is_int(rd_dhcp_encode_search(bad4, 1, buf, sizeof(buf)), RD_EINVAL, "64-byte label refused");
	l64[63] = '\0';
	is_int(rd_dhcp_encode_search(bad4, 1, buf, sizeof(buf)), 65, "63-byte label accepted");

	char longname[300];
	memset(longname, 'a', sizeof(longname));
	for (int i = 63; i < 299; i += 64)
		longname[i] = '.';
	longname[254] = '\0';   /* labels of 63, 63, 63, 62: 256 octets on the wire */
	const char *bad5[] = { longname };
	is_int(rd_dhcp_encode_search(bad5, 1, buf, sizeof(buf)), RD_EINVAL, "256-octet name refused");
	longname[253] = '\0';
	is_int(rd_dhcp_encode_search(bad5, 1, buf, sizeof(buf)), 255, "255-octet name accepted");

	is_int(rd_dhcp_encode_search(names, 2, buf, 10), RD_ENOSPACE, "output too small");
}

int main(void)
{
	plan_lazy();
	test_table();
	test_lengths();
	test_contents();
	test_agent();
	test_routes();
	test_enterprise();
	test_search_decode();
	test_search_encode();
	return done_testing();
}
