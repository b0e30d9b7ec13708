/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_wire.c — unit tests for the rd_wire_t cursor (include/rackdhcp/wire.h).
 *
 * The cursor is the only thing standing between untrusted packet bytes and
 * memory, so these tests poke at every edge: reads and writes that end
 * exactly at the bound and one byte past it, the sticky error (first error
 * wins, later operations are no-ops reading zeros), sub-cursors that must not
 * let a child see past its region, read-only cursors refusing writes, patch
 * bounds, and the RFC 1071 checksum helpers against the RFC's own example.
 */
#include <stdint.h>
#include <string.h>

#include "rackdhcp/wire.h"
#include "tap.h"

static void test_reads(void)
{
	static const uint8_t buf[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07 };
	rd_wire_t w = rd_wire_init_const(buf, sizeof(buf));

	is_int(rd_wire_size(&w), 7, "size");
	is_int(rd_wire_read_u8(&w), 0x01, "read_u8");
	is_int(rd_wire_read_u16(&w), 0x0203, "read_u16 is big-endian");
	is_int(rd_wire_read_u32(&w), 0x04050607, "read_u32 ends exactly at the bound");
	is_int(rd_wire_available(&w), 0, "nothing left");
	ok(rd_wire_ok(&w), "no error after reading exactly the whole buffer");
	is_int(rd_wire_read_u8(&w), 0, "read past the end gives 0");
	is_int(w.error, RD_ETRUNC, "read past the end is RD_ETRUNC");
	is_int(rd_wire_tell(&w), 7, "position does not move on a failed read");

	/* A u32 with only 3 bytes left must fail without reading any of them. */
	w = rd_wire_init_const(buf, sizeof(buf));
	rd_wire_skip(&w, 4);
	is_int(rd_wire_read_u32(&w), 0, "u32 with 3 bytes left reads 0");
	is_int(w.error, RD_ETRUNC, "and sets RD_ETRUNC");
	is_int(rd_wire_tell(&w), 4, "and leaves the position alone");

	/* u16 with one byte left. */
	w = rd_wire_init_const(buf, 3);
	rd_wire_skip(&w, 2);
	is_int(rd_wire_read_u16(&w), 0, "u16 with 1 byte left reads 0");
	is_int(w.error, RD_ETRUNC, "and sets RD_ETRUNC");
}

static void test_bytes_view_peek(void)
{
	static const uint8_t buf[] = { 0xde, 0xad, 0xbe, 0xef, 0x42 };
	uint8_t dst[4];
	rd_wire_t w = rd_wire_init_const(buf, sizeof(buf));

	is_int(rd_wire_peek_u8(&w), 0xde, "peek sees the next byte");
	is_int(rd_wire_tell(&w), 0, "peek does not advance");
	rd_wire_read_bytes(&w, dst, 4);
	is_mem(dst, 4, buf, 4, "read_bytes copies");
	const uint8_t *v = rd_wire_view(&w, 1);
	ok(v != NULL && v[0] == 0x42, "view of the last byte");
	ok(v == buf + 4, "view points into the buffer, no copy");
	is_int(rd_wire_peek_u8(&w), 0, "peek at the end gives 0");
	ok(rd_wire_ok(&w), "peek at the end is not an error");
	ok(rd_wire_view(&w, 1) == NULL, "view past the end is NULL");
	is_int(w.error, RD_ETRUNC, "and RD_ETRUNC");

	/* A short read_bytes zero-fills rather than leaving stale data. */
	memset(dst, 0xaa, sizeof(dst));
	w = rd_wire_init_const(buf, 2);
	rd_wire_read_bytes(&w, dst, 4);
	static const uint8_t zeros[4];
	is_mem(dst, 4, zeros, 4, "short read_bytes zero-fills dst");
	is_int(w.error, RD_ETRUNC, "short read_bytes is RD_ETRUNC");

	/* A zero-length view at the end is fine: an empty option value. */
	w = rd_wire_init_const(buf, sizeof(buf));
	rd_wire_skip(&w, sizeof(buf));
	ok(rd_wire_view(&w, 0) != NULL, "zero-length view at the end is non-NULL");
	ok(rd_wire_ok(&w), "and no error");

	/* Huge skip must not wrap around. */
	w = rd_wire_init_const(buf, sizeof(buf));
	rd_wire_skip(&w, 1);
	rd_wire_skip(&w, SIZE_MAX);
	is_int(w.error, RD_ETRUNC, "skip(SIZE_MAX) fails instead of wrapping");
	is_int(rd_wire_tell(&w), 1, "position unchanged");
}

static void test_sticky(void)
{
	static const uint8_t buf[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	rd_wire_t w = rd_wire_init_const(buf, 2);

	rd_wire_skip(&w, 3);
	is_int(w.error, RD_ETRUNC, "overrun sets RD_ETRUNC");
	is_int(rd_wire_available(&w), 0, "available is 0 once in error");
	rd_wire_write_u8(&w, 1);
	is_int(w.error, RD_ETRUNC, "a later write on a read-only cursor keeps the first error");
	rd_wire_fail(&w, RD_EMALFORMED);
	is_int(w.error, RD_ETRUNC, "rd_wire_fail does not override the first error");
	rd_wire_seek(&w, 0);
	is_int(rd_wire_read_u8(&w), 0, "after an error, even an in-range read gives 0");
	ok(rd_wire_cur(&w) == NULL, "cur is NULL in error");
	is_int(rd_wire_peek_u8(&w), 0, "peek gives 0 in error");
	uint32_t acc = rd_wire_csum_add(&w, 0, 2, 7);
	is_int(acc, 7, "csum_add adds nothing in error");

	/* rewind_copy clears the error for a second pass. */
	rd_wire_t again = rd_wire_rewind_copy(&w);
	ok(rd_wire_ok(&again), "rewind_copy has no error");
	is_int(rd_wire_read_u16(&again), 0x0102, "and reads from the start");

	rd_wire_t f = rd_wire_init_const(buf, sizeof(buf));
	rd_wire_fail(&f, RD_EMALFORMED);
	is_int(f.error, RD_EMALFORMED, "rd_wire_fail sets a chosen error");
	is_int(rd_wire_read_u8(&f), 0, "and reads stop");
}

static void test_sub(void)
{
	static const uint8_t buf[] = { 0x10, 0x11, 0x12, 0x13, 0x14, 0x15 };
	rd_wire_t w = rd_wire_init_const(buf, sizeof(buf));

	rd_wire_skip(&w, 1);
	rd_wire_t s = rd_wire_sub(&w, 3);
	ok(rd_wire_ok(&s), "sub-cursor ok");
	is_int(rd_wire_size(&s), 3, "sub-cursor size");
	is_int(rd_wire_tell(&s), 0, "sub-cursor starts at 0");
	is_int(rd_wire_tell(&w), 4, "parent advanced past the region");
	is_int(rd_wire_read_u8(&s), 0x11, "sub-cursor reads its first byte");
	is_int(rd_wire_read_u16(&s), 0x1213, "and the rest");
	is_int(rd_wire_read_u8(&s), 0, "but not past its end, although the parent has more");
	is_int(s.error, RD_ETRUNC, "child overrun is RD_ETRUNC");
	ok(rd_wire_ok(&w), "child error does not leak into the parent");
	is_int(rd_wire_read_u8(&w), 0x14, "parent continues after the region");
	ok(s.readonly, "a child of a read-only cursor is read-only");

	/* Offsets in a child are relative to the child. */
	rd_wire_t p = rd_wire_init_const(buf, sizeof(buf));
	rd_wire_skip(&p, 2);
	rd_wire_t c = rd_wire_sub(&p, 4);
	is_int(rd_wire_csum_add(&c, 0, 2, 0), 0x1213, "csum_add offset is child-relative");
	is_int(rd_wire_csum_add(&c, 3, 2, 0), 0, "csum_add past the child end adds nothing");
	is_int(c.error, RD_ETRUNC, "and fails");

	/* Short parent: empty child, both in error. */
	w = rd_wire_init_const(buf, sizeof(buf));
	rd_wire_skip(&w, 4);
	s = rd_wire_sub(&w, 3);
	is_int(w.error, RD_ETRUNC, "sub longer than the parent fails the parent");
	is_int(s.error, RD_ETRUNC, "and the child carries the error");
	is_int(rd_wire_size(&s), 0, "and is empty");
	is_int(rd_wire_read_u8(&s), 0, "and reads 0");

	/* A child of a writable cursor writes into the parent's buffer. */
	uint8_t wb[6] = { 0 };
	rd_wire_t ww = rd_wire_init(wb, sizeof(wb));
	rd_wire_skip(&ww, 2);
	rd_wire_t wc = rd_wire_sub(&ww, 2);
	rd_wire_write_u16(&wc, 0xabcd);
	rd_wire_write_u8(&wc, 0xff);
	is_int(wc.error, RD_ENOSPACE, "child write past its end is RD_ENOSPACE");
	static const uint8_t want[6] = { 0, 0, 0xab, 0xcd, 0, 0 };
	is_mem(wb, sizeof(wb), want, sizeof(want), "child write lands at the child's offset only");

	/* truncate and seek. */
	rd_wire_t t = rd_wire_init_const(buf, sizeof(buf));
	rd_wire_truncate(&t, 4);
	is_int(rd_wire_size(&t), 4, "truncate shrinks");
	rd_wire_truncate(&t, 10);
	is_int(rd_wire_size(&t), 4, "truncate never grows");
	rd_wire_seek(&t, 4);
	ok(rd_wire_ok(&t), "seek to the end is fine");
	rd_wire_seek(&t, 5);
	is_int(t.error, RD_ETRUNC, "seek past the end fails");
	t = rd_wire_init_const(buf, sizeof(buf));
	rd_wire_skip(&t, 5);
	rd_wire_truncate(&t, 3);
	is_int(t.error, RD_ETRUNC, "truncating below the position fails");
}

static void test_writes(void)
{
	uint8_t buf[8];
	rd_wire_t w;

	memset(buf, 0xee, sizeof(buf));
	w = rd_wire_init(buf, 7);
	rd_wire_write_u8(&w, 0x01);
	rd_wire_write_u16(&w, 0x0203);
	rd_wire_write_u32(&w, 0x04050607);
	ok(rd_wire_ok(&w), "writes up to exactly the bound");
	static const uint8_t want[8] = { 1, 2, 3, 4, 5, 6, 7, 0xee };
	is_mem(buf, 8, want, 8, "big-endian layout, byte after the bound untouched");
	rd_wire_write_u8(&w, 0x08);
	is_int(w.error, RD_ENOSPACE, "write past the end is RD_ENOSPACE");
	is_int(buf[7], 0xee, "and writes nothing");

	/* A u32 with 3 bytes of room writes none of them. */
	memset(buf, 0, sizeof(buf));
	w = rd_wire_init(buf, 3);
	rd_wire_write_u32(&w, 0xffffffff);
	is_int(w.error, RD_ENOSPACE, "u32 with 3 bytes of room fails");
	static const uint8_t zero8[8];
	is_mem(buf, 8, zero8, 8, "and writes no partial value");
	rd_wire_write_u8(&w, 1);
	is_int(buf[0], 0, "sticky: later writes are no-ops");

	w = rd_wire_init(buf, sizeof(buf));
	rd_wire_write_bytes(&w, "ab", 2);
	rd_wire_fill(&w, 0x5a, 6);
	ok(rd_wire_ok(&w), "write_bytes + fill to the end");
	static const uint8_t want2[8] = { 'a', 'b', 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a };
	is_mem(buf, 8, want2, 8, "fill writes the byte");
	rd_wire_fill(&w, 0, 1);
	is_int(w.error, RD_ENOSPACE, "fill past the end fails");
	w = rd_wire_init(buf, sizeof(buf));
	rd_wire_write_bytes(&w, NULL, 0);
	ok(rd_wire_ok(&w), "empty write_bytes is fine");

	/* NULL buffer: an empty cursor, writes fail cleanly. */
	w = rd_wire_init(NULL, 100);
	is_int(rd_wire_size(&w), 0, "NULL buffer gives size 0");
	rd_wire_write_u8(&w, 1);
	is_int(w.error, RD_ENOSPACE, "writing to a NULL buffer fails");
}

static void test_readonly_patch(void)
{
	static const uint8_t cbuf[4] = { 1, 2, 3, 4 };
	rd_wire_t r = rd_wire_init_const(cbuf, sizeof(cbuf));

	rd_wire_write_u8(&r, 9);
	is_int(r.error, RD_EREADONLY, "write through a read-only cursor is RD_EREADONLY");
	r = rd_wire_init_const(cbuf, sizeof(cbuf));
	rd_wire_patch_u16(&r, 0, 0xffff);
	is_int(r.error, RD_EREADONLY, "patch through a read-only cursor is RD_EREADONLY");
	r = rd_wire_init_const(cbuf, sizeof(cbuf));
	rd_wire_fill(&r, 0, 0);
	is_int(r.error, RD_EREADONLY, "even an empty fill is refused on a read-only cursor");
	static const uint8_t orig[4] = { 1, 2, 3, 4 };
	is_mem(cbuf, 4, orig, 4, "read-only bytes untouched");

	uint8_t buf[6] = { 0 };
	rd_wire_t w = rd_wire_init(buf, sizeof(buf));
	rd_wire_fill(&w, 0, 6);
	rd_wire_patch_u16(&w, 1, 0xbeef);
	rd_wire_patch_u16(&w, 4, 0x1234);
	ok(rd_wire_ok(&w), "patch inside and at the last two bytes");
	static const uint8_t want[6] = { 0, 0xbe, 0xef, 0, 0x12, 0x34 };
	is_mem(buf, 6, want, 6, "patch writes big-endian at the offset");
	is_int(rd_wire_tell(&w), 6, "patch does not move the position");
	rd_wire_patch_u16(&w, 5, 0xffff);
	is_int(w.error, RD_ENOSPACE, "patch straddling the end fails");
	is_int(buf[5], 0x34, "and writes nothing");
	w = rd_wire_init(buf, sizeof(buf));
	rd_wire_patch_u16(&w, SIZE_MAX, 1);
	is_int(w.error, RD_ENOSPACE, "patch at a huge offset fails, no wrap");
}

static void test_checksum(void)
{
	/* RFC 1071 §3 example: sum 2ddf0, folded ddf2, checksum 220d. */
	static const uint8_t ex[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	rd_wire_t w = rd_wire_init_const(ex, sizeof(ex));
	uint32_t acc = rd_wire_csum_add(&w, 0, sizeof(ex), 0);

	/* The accumulator may be partly folded already (the sum runs in 64
	 * bits); what is defined is its one's-complement value. */
	uint32_t f = acc;
	while (f >> 16)
		f = (f & 0xffff) + (f >> 16);
	is_int(f, 0xddf2, "RFC 1071 example: one's-complement sum ddf2");
	is_int(rd_csum_fold(acc), 0x220d, "RFC 1071 example: folded checksum");

	/* Summing in pieces gives the same as summing in one go (even splits). */
	uint32_t a2 = rd_wire_csum_add(&w, 0, 4, 0);
	a2 = rd_wire_csum_add(&w, 4, 4, a2);
	is_int(rd_csum_fold(a2), rd_csum_fold(acc), "sum of pieces equals sum of the whole");

	/* The wide fast path agrees with a plain 16-bit reference sum for
	 * every length 0..1500 over pseudo-random bytes, worst case (all
	 * 0xff) included. */
	static uint8_t big[1500];
	uint32_t x = 12345;
	bool all_same = true;
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < sizeof(big); i++) {
			x = x * 1103515245u + 12345u;
			big[i] = round ? 0xff : (uint8_t)(x >> 16);
		}
		w = rd_wire_init_const(big, sizeof(big));
		for (size_t len = 0; len <= sizeof(big); len++) {
			uint32_t ref = 0;
			for (size_t i = 0; i + 1 < len; i += 2)
				ref += (uint32_t)(big[i] << 8 | big[i + 1]);
			if (len & 1)
				ref += (uint32_t)big[len - 1] << 8;
			if (rd_csum_fold(rd_wire_csum_add(&w, 0, len, 0)) != rd_csum_fold(ref)) {
				all_same = false;
				diag("length %zu, round %d differs", len, round);
				break;
			}
		}
	}
	ok(all_same, "fast checksum equals the 16-bit reference for lengths 0..1500");

	/* An odd trailing byte is the high byte of a zero-padded word. */
	static const uint8_t odd[] = { 0x12, 0x34, 0x56 };
	w = rd_wire_init_const(odd, sizeof(odd));
	is_int(rd_wire_csum_add(&w, 0, 3, 0), 0x1234 + 0x5600, "odd length pads with zero");

	/* Data plus its checksum folds to zero: the verification rule. */
	static const uint8_t withsum[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7, 0x22, 0x0d };
	w = rd_wire_init_const(withsum, sizeof(withsum));
	is_int(rd_csum_fold(rd_wire_csum_add(&w, 0, sizeof(withsum), 0)), 0,
	       "data + checksum verifies to 0");

	is_int(rd_csum_fold(0), 0xffff, "fold of 0 is 0xffff");
	is_int(rd_csum_fold(0x1fffe), 0, "fold carries twice (0x1fffe -> 0xffff -> ~ = 0)");

	w = rd_wire_init_const(ex, sizeof(ex));
	is_int(rd_wire_csum_add(&w, 6, 3, 5), 5, "csum past the end adds nothing");
	is_int(w.error, RD_ETRUNC, "and fails with RD_ETRUNC");
	w = rd_wire_init_const(ex, sizeof(ex));
	is_int(rd_wire_csum_add(&w, 9, 0, 5), 5, "csum at an offset past the end");
	is_int(w.error, RD_ETRUNC, "fails too");
	w = rd_wire_init_const(ex, sizeof(ex));
	is_int(rd_wire_csum_add(&w, 8, 0, 5), 5, "empty csum at the end");
	ok(rd_wire_ok(&w), "is fine");
}

int main(void)
{
	plan_lazy();
	test_reads();
	test_bytes_view_peek();
	test_sticky();
	test_sub();
	test_writes();
	test_readonly_patch();
	test_checksum();
	return done_testing();
}
