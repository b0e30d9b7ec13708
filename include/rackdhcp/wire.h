/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * wire.h — the bounds-checked cursor through which every packet byte is read
 * or written.
 *
 * A cursor is a (buffer, size, position, error) quadruple passed by pointer
 * and created by value.  Every read, write and skip checks the bytes left; a
 * short buffer sets a *sticky* error and every later operation becomes a
 * no-op that reads zeros.  A parser therefore makes a run of reads and checks
 * rd_wire_ok() once, at the point where it matters.
 *
 * Rule of the code base: no other code does pointer arithmetic on packet
 * bytes.  Sub-cursors (rd_wire_sub) carve out a length-delimited region, such
 * as an option value or a UDP payload, and advance the parent past it.
 *
 * Thread-safety: a cursor is owned by one thread; it holds no global state.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rackdhcp/error.h"

typedef struct {
	uint8_t *buf;          /*!< start of the region (NULL for read-only views) */
	const uint8_t *cbuf;   /*!< same region, for reads */
	size_t size;           /*!< bytes in the region */
	size_t pos;            /*!< next byte to read or write */
	int error;             /*!< 0, or the first error hit (sticky) */
	bool readonly;         /*!< writes fail with RD_EREADONLY */
} rd_wire_t;

/*! Cursor over a writable buffer. */
static inline rd_wire_t rd_wire_init(uint8_t *buf, size_t size)
{
	rd_wire_t w = { .buf = buf, .cbuf = buf, .size = buf ? size : 0 };
	return w;
}

/*! Read-only cursor over bytes we must not modify. */
static inline rd_wire_t rd_wire_init_const(const uint8_t *buf, size_t size)
{
	rd_wire_t w = { .buf = NULL, .cbuf = buf, .size = buf ? size : 0, .readonly = true };
	return w;
}

static inline bool rd_wire_ok(const rd_wire_t *w) { return w->error == 0; }
static inline size_t rd_wire_tell(const rd_wire_t *w) { return w->pos; }
static inline size_t rd_wire_size(const rd_wire_t *w) { return w->size; }

/*! Bytes left between the position and the end (0 once in error). */
static inline size_t rd_wire_available(const rd_wire_t *w)
{
	return w->error ? 0 : w->size - w->pos;
}

/*! Set the error unless one is already set (the first error wins). */
static inline void rd_wire_fail(rd_wire_t *w, int err)
{
	if (w->error == 0)
		w->error = err;
}

/* Reserve n bytes for reading; NULL (and the sticky error) when short. */
static inline const uint8_t *rd_wire__take(rd_wire_t *w, size_t n)
{
	if (w->error)
		return NULL;
	if (n > w->size - w->pos) {
		w->error = RD_ETRUNC;
		return NULL;
	}
	const uint8_t *p = w->cbuf + w->pos;
	w->pos += n;
	return p;
}

/* Reserve n bytes for writing; NULL (and the sticky error) when short. */
static inline uint8_t *rd_wire__put(rd_wire_t *w, size_t n)
{
	if (w->error)
		return NULL;
	if (w->readonly) {
		w->error = RD_EREADONLY;
		return NULL;
	}
	if (n > w->size - w->pos) {
		w->error = RD_ENOSPACE;
		return NULL;
	}
	uint8_t *p = w->buf + w->pos;
	w->pos += n;
	return p;
}

static inline uint8_t rd_wire_read_u8(rd_wire_t *w)
{
	const uint8_t *p = rd_wire__take(w, 1);
	return p ? p[0] : 0;
}

static inline uint16_t rd_wire_read_u16(rd_wire_t *w)
{
	const uint8_t *p = rd_wire__take(w, 2);
	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

static inline uint32_t rd_wire_read_u32(rd_wire_t *w)
{
	const uint8_t *p = rd_wire__take(w, 4);
	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

/*! Little-endian reads, for file formats (pcapng) rather than the network. */
static inline uint16_t rd_wire_read_u16le(rd_wire_t *w)
{
	const uint8_t *p = rd_wire__take(w, 2);
	return p ? (uint16_t)(p[1] << 8 | p[0]) : 0;
}

static inline uint32_t rd_wire_read_u32le(rd_wire_t *w)
{
	const uint8_t *p = rd_wire__take(w, 4);
	return p ? (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0] : 0;
}

/*! Copy n bytes out; on a short buffer dst is zero-filled. */
static inline void rd_wire_read_bytes(rd_wire_t *w, void *dst, size_t n)
{
	const uint8_t *p = rd_wire__take(w, n);
	if (p)
		memcpy(dst, p, n);
	else if (n)
		memset(dst, 0, n);
}

static inline void rd_wire_skip(rd_wire_t *w, size_t n) { (void)rd_wire__take(w, n); }

/*!
 * Read-only view of the next n bytes without copying, advancing past them.
 * Returns NULL when short.  The pointer is valid while the buffer is; it is
 * the one sanctioned way to hand a region (option value, payload) onwards.
 */
static inline const uint8_t *rd_wire_view(rd_wire_t *w, size_t n) { return rd_wire__take(w, n); }

/*! Pointer to the current position without advancing (NULL in error). */
static inline const uint8_t *rd_wire_cur(const rd_wire_t *w)
{
	return w->error ? NULL : w->cbuf + w->pos;
}

/*! Peek at the byte at the position without consuming it (0 when short). */
static inline uint8_t rd_wire_peek_u8(const rd_wire_t *w)
{
	return (w->error || w->pos >= w->size) ? 0 : w->cbuf[w->pos];
}

/*!
 * Carve the next n bytes into a child cursor and advance the parent past
 * them.  A short parent yields an empty child in the same error.
 */
static inline rd_wire_t rd_wire_sub(rd_wire_t *w, size_t n)
{
	size_t start = w->pos;
	rd_wire_t s;
	if (!rd_wire__take(w, n)) {
		s = rd_wire_init_const(NULL, 0);
		s.error = w->error;
		return s;
	}
	s = *w;
	s.buf = w->buf ? w->buf + start : NULL;
	s.cbuf = w->cbuf + start;
	s.size = n;
	s.pos = 0;
	return s;
}

/*! Cursor over the whole region [0, size) of w, positioned at 0, no error. */
static inline rd_wire_t rd_wire_rewind_copy(const rd_wire_t *w)
{
	rd_wire_t s = *w;
	s.pos = 0;
	s.error = 0;
	return s;
}

/*! Shrink the region so that it ends at absolute offset end (<= size). */
static inline void rd_wire_truncate(rd_wire_t *w, size_t end)
{
	if (end < w->size)
		w->size = end;
	if (w->pos > w->size)
		rd_wire_fail(w, RD_ETRUNC);
}

/*! Move to an absolute offset (<= size). */
static inline void rd_wire_seek(rd_wire_t *w, size_t off)
{
	if (w->error)
		return;
	if (off > w->size)
		w->error = RD_ETRUNC;
	else
		w->pos = off;
}

static inline void rd_wire_write_u8(rd_wire_t *w, uint8_t v)
{
	uint8_t *p = rd_wire__put(w, 1);
	if (p)
		p[0] = v;
}

static inline void rd_wire_write_u16(rd_wire_t *w, uint16_t v)
{
	uint8_t *p = rd_wire__put(w, 2);
	if (p) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	}
}

static inline void rd_wire_write_u32(rd_wire_t *w, uint32_t v)
{
	uint8_t *p = rd_wire__put(w, 4);
	if (p) {
		p[0] = (uint8_t)(v >> 24);
		p[1] = (uint8_t)(v >> 16);
		p[2] = (uint8_t)(v >> 8);
		p[3] = (uint8_t)v;
	}
}

static inline void rd_wire_write_bytes(rd_wire_t *w, const void *src, size_t n)
{
	uint8_t *p = rd_wire__put(w, n);
	if (p && n)
		memcpy(p, src, n);
}

/*! Write n copies of byte b (padding). */
static inline void rd_wire_fill(rd_wire_t *w, uint8_t b, size_t n)
{
	uint8_t *p = rd_wire__put(w, n);
	if (p && n)
		memset(p, b, n);
}

/*! Overwrite a big-endian u16 at an absolute offset already written. */
static inline void rd_wire_patch_u16(rd_wire_t *w, size_t off, uint16_t v)
{
	if (w->error)
		return;
	if (w->readonly) {
		w->error = RD_EREADONLY;
		return;
	}
	if (off > w->size || w->size - off < 2) {
		w->error = RD_ENOSPACE;
		return;
	}
	w->buf[off] = (uint8_t)(v >> 8);
	w->buf[off + 1] = (uint8_t)v;
}

/*!
 * One's-complement sum (RFC 1071) of len bytes at absolute offset off,
 * added to a running 32-bit accumulator.  Fold with rd_csum_fold().
 * Out-of-range requests set the error and add nothing.
 */
static inline uint32_t rd_wire_csum_add(rd_wire_t *w, size_t off, size_t len, uint32_t acc)
{
	if (w->error)
		return acc;
	if (off > w->size || len > w->size - off) {
		w->error = RD_ETRUNC;
		return acc;
	}
	const uint8_t *p = w->cbuf + off;
	size_t i = 0;
	/* Sum native-order 16-bit words eight bytes at a time into 64 bits and
	 * swap the folded result once at the end: one's-complement addition
	 * does not care about the word size (2^16 = 1) or the byte order, as
	 * long as the swap is undone (RFC 1071 §2(A), (B)). */
	uint64_t s = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		s += (v & 0xffffffffu) + (v >> 32);
	}
	for (; i + 2 <= len; i += 2) {
		uint16_t v;
		memcpy(&v, p + i, 2);
		s += v;
	}
	if (i < len) {
		uint8_t last[2] = { p[i], 0 };
		uint16_t v;
		memcpy(&v, last, 2);
		s += v;
	}
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = (uint16_t)((s >> 8) | (s << 8));
#endif
	return acc + (uint32_t)s;
}

/*! Fold a one's-complement accumulator to 16 bits and complement it. */
static inline uint16_t rd_csum_fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}
