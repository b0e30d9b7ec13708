/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_packet — libFuzzer target for everything a received packet goes
 * through: the frame layers, the DHCP parser, the printers, the option
 * accessors and decoders, and the builder fed from what was parsed.
 *
 * The input is taken as an Ethernet frame (parsed with and without checksum
 * checks, since the fuzzer rarely gets a checksum right and the layers
 * behind it would otherwise go unexplored) and, when that fails, as a bare
 * DHCP payload.  Crashes and sanitizer reports are the main signal; on top
 * of that the target abort()s on broken contracts that no input may cause:
 *  - an accepted message whose options fail their own validator, or whose
 *    values point outside the used part of optbuf;
 *  - a message we built that does not parse again, lost its message type,
 *    exceeds its buffer or the maximum size it was given;
 *  - a reply frame built around such a message that the frame parser refuses.
 *
 * Buffers handed to the code under test with a small capacity are malloc'd
 * at exactly that size, so ASan sees any write or read past their end.
 * State lives in static storage (a parsed message is ~20 KiB); libFuzzer
 * calls the target from one thread.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rackdhcp/dhcp.h"
#include "rackdhcp/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rd_dhcp_t msg, again;
static rd_dhcp_builder_t builder;
static uint8_t big[RD_DHCP_MAX_LEN + 512];
static uint8_t frame_buf[RD_DHCP_MAX_LEN + 512];
static char text[1 << 16];

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "fuzz_packet: %s:%d: %s\n", __FILE__, __LINE__, \
				#cond);                                              \
			abort();                                                     \
		}                                                                    \
	} while (0)

/* Call a printer with an exact-size heap buffer, small capacities included. */
static void print_small(const rd_dhcp_t *m, size_t cap, bool dump)
{
	char *p = malloc(cap);
	if (!p)
		return;
	if (dump)
		rd_dhcp_dump(m, "  ", p, cap);
	else
		rd_dhcp_summary(m, p, cap);
	CHECK(memchr(p, '\0', cap) != NULL);   /* terminated within cap */
	free(p);
}

static void exercise_options(const rd_dhcp_t *m)
{
	rd_diag_t d;

	for (unsigned i = 0; i < m->opt_count && i < 256; i++) {
		uint8_t code = m->opt_order[i];
		size_t len = 1234567;
		const uint8_t *v = rd_dhcp_get(m, code, &len);
		CHECK(rd_dhcp_has(m, code));
		CHECK(v != NULL);
		/* Values live in the used part of optbuf. */
		CHECK(v >= m->optbuf && len <= m->optbuf_used &&
		      (size_t)(v - m->optbuf) <= m->optbuf_used - len);
		rd_diag_clear(&d);
		int r = rd_dhcp_option_validate(code, v, len, &d);
		if (r != 0)
			fprintf(stderr, "fuzz_packet: accepted option %u fails validation: %s\n", code,
				d.reason);
		CHECK(r == 0);

		uint8_t u8;
		uint16_t u16;
		uint32_t u32;
		CHECK(rd_dhcp_get_u8(m, code, &u8) == (len == 1));
		CHECK(rd_dhcp_get_u16(m, code, &u16) == (len == 2));
		CHECK(rd_dhcp_get_u32(m, code, &u32) == (len == 4));
		(void)rd_dhcp_optinfo(code);
		(void)rd_dhcp_option_name(code);

		if (code == RD_OPT_DOMAIN_SEARCH) {
			static const size_t caps[] = { 1, 8, 64, 4096 };
			for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
				char *out = malloc(caps[k]);
				if (!out)
					break;
				rd_diag_clear(&d);
				int n = rd_dhcp_decode_search(v, len, out, caps[k], &d);
				if (n >= 0)
					CHECK(memchr(out, '\0', caps[k]) != NULL);
				free(out);
			}
		}
	}
	/* Absent codes answer NULL; a present empty option answers non-NULL. */
	for (unsigned code = 0; code < 256; code++) {
		size_t len;
		const uint8_t *v = rd_dhcp_get(m, (uint8_t)code, &len);
		CHECK((v != NULL) == rd_dhcp_has(m, (uint8_t)code));
	}
	if (rd_dhcp_has(m, RD_OPT_AGENT_INFO))
		for (unsigned sub = 0; sub < 256; sub++) {
			size_t len;
			(void)rd_dhcp_agent_get(m, (uint8_t)sub, &len);
		}
}

/* Wrap a built payload in a reply frame and make sure it parses back. */
static void exercise_frame_build(const uint8_t *payload, size_t len, bool vlan)
{
	rd_frame_hdr_t h = {
		.eth_dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		.eth_src = { 0x02, 0, 0, 0, 0, 1 },
		.vlan = vlan,
		.vlan_tci = 42,
		.ip_src = 0xc0000201,
		.ip_dst = 0xffffffff,
		.sport = RD_DHCP_SERVER_PORT,
		.dport = RD_DHCP_CLIENT_PORT,
	};
	rd_frame_t fr;
	rd_diag_t d;
	int n = rd_frame_build(frame_buf, sizeof(frame_buf), &h, payload, len);
	if (n < 0)
		return;
	CHECK((size_t)n <= sizeof(frame_buf));
	rd_diag_clear(&d);
	int r = rd_frame_parse_eth(frame_buf, (size_t)n, 0, &fr, &d);
	if (r != 0)
		fprintf(stderr, "fuzz_packet: built frame refused: %s\n", d.reason);
	CHECK(r == 0);
	CHECK(fr.payload_len == len && memcmp(fr.payload, payload, len) == 0);
}

static void exercise_build(const rd_dhcp_t *m)
{
	rd_diag_t d;
	size_t prl_len = 0;
	const uint8_t *prl = rd_dhcp_get(m, RD_OPT_PARAM_REQUEST, &prl_len);
	uint8_t prl_copy[256 * 4];

	if (rd_dhcp_builder_from(&builder, m) < 0)
		return;
	/* The PRL must stay valid while we build; copy it out of msg first. */
	if (prl) {
		if (prl_len > sizeof(prl_copy))
			prl_len = sizeof(prl_copy);
		memcpy(prl_copy, prl, prl_len);
		prl = prl_copy;
	}

	const size_t max_sizes[] = {
		0, RD_DHCP_MIN_MAXMSG - 28, m->max_msg_size, m->max_msg_size > 28 ? m->max_msg_size - 28u : 0,
		1500 - 28, RD_DHCP_MAX_LEN,
	};
	for (size_t i = 0; i < sizeof(max_sizes) / sizeof(max_sizes[0]); i++) {
		for (int with_prl = 0; with_prl < 2; with_prl++) {
			unsigned dropped = 0;
			size_t max_msg = max_sizes[i];
			rd_diag_clear(&d);
			int n = rd_dhcp_build(&builder, with_prl ? prl : NULL, with_prl ? prl_len : 0,
					      max_msg, big, sizeof(big), &dropped, &d);
			if (n < 0)
				continue;
			CHECK((size_t)n <= sizeof(big));
			CHECK(n >= RD_DHCP_MIN_LEN);
			size_t limit = max_msg ? max_msg : RD_DHCP_MIN_MAXMSG - 28;
			if (limit >= RD_DHCP_MIN_MAXMSG - 28)
				CHECK((size_t)n <= limit);
			rd_diag_clear(&d);
			int r = rd_dhcp_parse(big, (size_t)n, &again, &d);
			if (r != 0)
				fprintf(stderr, "fuzz_packet: built message does not parse: %s: %s\n",
					rd_strerror(r), d.reason);
			CHECK(r == 0);
			CHECK(again.msgtype == m->msgtype);
			CHECK(again.xid == m->xid);
			if (i == 0 && with_prl)
				exercise_frame_build(big, (size_t)n, m->xid & 1);
		}
	}

	/* A too-small output buffer is an error, never an overflow. */
	static const size_t small_caps[] = { 0, 1, 236, 299, 300, 400 };
	for (size_t i = 0; i < sizeof(small_caps) / sizeof(small_caps[0]); i++) {
		size_t cap = small_caps[i];
		uint8_t *out = malloc(cap ? cap : 1);
		if (!out)
			break;
		int n = rd_dhcp_build(&builder, prl, prl_len, RD_DHCP_MAX_LEN, out, cap, NULL, NULL);
		CHECK(n < 0 || (size_t)n <= cap);
		free(out);
	}
}

static void exercise_payload(const uint8_t *p, size_t len)
{
	rd_diag_t d;
	rd_diag_clear(&d);
	int r = rd_dhcp_parse(p, len, &msg, &d);
	if (r != 0) {
		CHECK(r < 0);
		CHECK(rd_strerror(r) != NULL);
		CHECK(memchr(d.reason, '\0', sizeof(d.reason)) != NULL);
		return;
	}
	rd_dhcp_summary(&msg, text, sizeof(text));
	rd_dhcp_dump(&msg, "    ", text, sizeof(text));
	print_small(&msg, 1, false);
	print_small(&msg, 17, false);
	print_small(&msg, 1, true);
	print_small(&msg, 97, true);
	(void)rd_dhcp_msgtype_name(msg.msgtype);
	exercise_options(&msg);
	exercise_build(&msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rd_frame_t fr;
	rd_diag_t d;

	rd_diag_clear(&d);
	if (rd_frame_parse_eth(data, size, 0, &fr, &d) == 0)
		CHECK(fr.payload_len <= size);
	rd_diag_clear(&d);
	if (rd_frame_parse_eth(data, size, RD_FRAME_NO_UDP_CSUM | RD_FRAME_NO_IP_CSUM, &fr, &d) == 0) {
		CHECK(fr.payload_len <= size);
		exercise_payload(fr.payload, fr.payload_len);
		return 0;
	}
	rd_diag_clear(&d);
	if (rd_frame_parse_ipv4(data, size, RD_FRAME_NO_UDP_CSUM | RD_FRAME_NO_IP_CSUM, &fr, &d) == 0)
		CHECK(fr.payload_len <= size);
	exercise_payload(data, size);
	return 0;
}
