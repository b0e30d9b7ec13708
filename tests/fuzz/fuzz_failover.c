/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_failover — libFuzzer target for the failover message codec: the
 * input is what a peer writes on the TCP connection, so it is cut into
 * messages by rd_fo_frame_len(), message after message, and each message is
 * decoded.  Crashes and sanitizer reports are the main signal; on top of
 * that the target abort()s on broken contracts no input may cause:
 *  - framing: a verdict that disagrees with itself when asked again with
 *    more or fewer bytes, a length outside 12..2048, a refusal without a
 *    reason;
 *  - a message framed as complete that decode refuses for its framing, or a
 *    refusal whose diagnostic does not carry the returned code;
 *  - a decoded message whose values point outside its own data, that the
 *    printer overruns or leaves unterminated, that does not re-encode
 *    (unless its type is one we never send), whose encoding is not framed as
 *    one whole message, does not decode again to an equal message (DDNS,
 *    which we never write, aside), or is not a fixed point of encoding;
 *  - rd_fo_msg_check() returning anything but 0 or a reject reason with a
 *    reason text.
 * Buffers of small capacity are malloc'd at exactly that size, so ASan sees
 * any access past their end.  State lives in static storage; libFuzzer calls
 * the target from one thread.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rackdhcp/fo_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rd_fo_msg_t msg, again;
static uint8_t enc[RD_FO_MSG_MAX], enc2[RD_FO_MSG_MAX];
static char text[4096];

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "fuzz_failover: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                             \
		}                                                                            \
	} while (0)

static bool diag_ok(const rd_diag_t *d, int code)
{
	return d->code == code && d->reason[0] != '\0' && memchr(d->reason, '\0', sizeof(d->reason));
}

/* Every variable-size value lies inside the bytes the message stored. */
static void check_refs(const rd_fo_msg_t *m)
{
	CHECK(m->data_used <= RD_FO_DATA_MAX);
	for (unsigned code = 1; code <= RD_FO_OPT_MAX; code++) {
		size_t len;
		const uint8_t *p = rd_fo_get_bytes(m, code, &len);
		if (!p)
			continue;
		CHECK(p >= m->data && (size_t)(p - m->data) + len <= m->data_used);
	}
}

/* The printer with an exact-size heap buffer, small capacities included. */
static void check_print(const rd_fo_msg_t *m)
{
	static const size_t caps[] = { 1, 2, 17, 80 };
	size_t n = rd_fo_msg_print(m, text, sizeof(text));
	CHECK(n < sizeof(text) && strlen(text) == n);
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		char *b = malloc(caps[i]);
		if (!b)
			return;
		size_t k = rd_fo_msg_print(m, b, caps[i]);
		CHECK(k < caps[i] && strlen(b) == k && !strncmp(b, text, k));
		free(b);
	}
}

static void check_message(const uint8_t *p, size_t len)
{
	rd_diag_t d = { 0 };
	int r = rd_fo_decode(p, len, &msg, &d);

	if (r < 0) {
		CHECK(diag_ok(&d, r));
		/* framing already passed: only the options can be at fault */
		CHECK(r == RD_ETRUNC || r == RD_EMALFORMED || r == RD_EOPTLEN || r == RD_EUNSUPPORTED);
		CHECK(msg.has == 0 && msg.data_used == 0);
		CHECK(msg.payload_offset >= RD_FO_HDR_LEN && msg.payload_offset <= len);
		return;
	}
	CHECK(r == 0 && d.code == 0);
	CHECK(msg.payload_offset >= RD_FO_HDR_LEN && msg.payload_offset <= len);
	CHECK((msg.has & 1u) == 0 && (msg.has >> (RD_FO_OPT_MAX + 1)) == 0);
	for (unsigned code = 1; code <= RD_FO_OPT_MAX; code++)
		if ((msg.has & RD_FO_BIT(code)) && !rd_fo_option_allowed(msg.type, code))
			CHECK(msg.ignored & RD_FO_BIT(code));
	check_refs(&msg);
	check_print(&msg);

	rd_diag_clear(&d);
	int c = rd_fo_msg_check(&msg, &d);
	CHECK(c >= 0 && c <= RD_FO_REJ_UNKNOWN);
	CHECK(c == 0 ? d.code == 0 : diag_ok(&d, RD_EMALFORMED));

	int n = rd_fo_encode(&msg, enc, sizeof(enc));
	if (msg.type < 1 || msg.type > RD_FO_MSG_TYPE_MAX) {
		CHECK(n == RD_EINVAL);
		return;
	}
	/* Without DDNS and unknown options, and with offset 12, it can only shrink. */
	CHECK(n >= RD_FO_HDR_LEN && (size_t)n <= len);
	size_t fl;
	rd_diag_clear(&d);
	CHECK(rd_fo_frame_len(enc, (size_t)n, &fl, &d) == 1 && fl == (size_t)n);
	/* one byte short of the exact size */
	uint8_t *tight = malloc((size_t)n - 1);
	if (tight) {
		CHECK(rd_fo_encode(&msg, tight, (size_t)n - 1) == RD_ENOSPACE);
		free(tight);
	}
	rd_diag_clear(&d);
	CHECK(rd_fo_decode(enc, (size_t)n, &again, &d) == 0);
	msg.has &= ~RD_FO_BIT(RD_FO_OPT_DDNS);
	CHECK(rd_fo_msg_equal(&msg, &again));
	CHECK(rd_fo_encode(&again, enc2, sizeof(enc2)) == n && !memcmp(enc, enc2, (size_t)n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		const uint8_t *p = data + off;
		size_t avail = size - off, ml;
		rd_diag_t d = { 0 };
		int r = rd_fo_frame_len(p, avail, &ml, &d);

		if (r < 0) {
			CHECK(diag_ok(&d, r));
			/* the verdict needs at most 4 bytes and does not change with more */
			rd_diag_t d2 = { 0 };
			size_t ml2;
			CHECK(avail >= 2 && rd_fo_frame_len(p, avail < 4 ? avail : 4, &ml2, &d2) == r);
			/* decode refuses the same bytes for the same reason */
			if (ml >= RD_FO_MSG_MIN && ml <= avail) {
				rd_diag_clear(&d2);
				CHECK(rd_fo_decode(p, ml, &msg, &d2) == r);
			}
			break;
		}
		CHECK(d.code == 0);
		if (r == 0) {
			/* need more: a prefix of something that could still be whole */
			CHECK(avail < 2 ? ml == 0 : (ml >= RD_FO_MSG_MIN && ml <= RD_FO_MSG_MAX && ml > avail));
			break;
		}
		CHECK(r == 1 && ml >= RD_FO_MSG_MIN && ml <= RD_FO_MSG_MAX && ml <= avail);
		/* one byte less asks for more, the same bytes frame the same */
		size_t ml2;
		CHECK(rd_fo_frame_len(p, ml - 1, &ml2, &d) == 0 && ml2 == ml);
		CHECK(rd_fo_frame_len(p, avail, &ml2, &d) == 1 && ml2 == ml);
		/* the message alone, in an exact-size buffer */
		uint8_t *copy = malloc(ml);
		if (!copy)
			break;
		memcpy(copy, p, ml);
		check_message(copy, ml);
		free(copy);
		off += ml;
	}
	return 0;
}
