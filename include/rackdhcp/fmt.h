/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fmt.h — small, fast text formatting for the packet path: addresses, MACs
 * and numbers appended to a bounded buffer without printf's format parsing
 * (which cost about a third of the engine's time when every reason and log
 * field went through snprintf).  Output is always NUL-terminated; what does
 * not fit is cut and `trunc` is set.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct rd_sb {
	char *p;
	size_t cap;     /*!< bytes of p, including the NUL */
	size_t len;
	bool trunc;
} rd_sb_t;

static inline void rd_sb_init(rd_sb_t *b, char *buf, size_t cap)
{
	b->p = buf;
	b->cap = cap;
	b->len = 0;
	b->trunc = cap == 0;
	if (cap)
		buf[0] = '\0';
}

/*! printf-style append (dhcpd/fmt.c), for printers off the hot path. */
void rd_sb_printf(rd_sb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rd_sb_vprintf(rd_sb_t *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static inline void rd_sb_mem(rd_sb_t *b, const char *s, size_t n)
{
	if (!b->cap)
		return;
	size_t room = b->cap - 1 - b->len;
	if (n > room) {
		n = room;
		b->trunc = true;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static inline void rd_sb_str(rd_sb_t *b, const char *s)
{
	rd_sb_mem(b, s, strlen(s));
}

static inline void rd_sb_u(rd_sb_t *b, uint64_t v)
{
	char t[20];
	size_t n = 0;
	do {
		t[sizeof(t) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < sizeof(t));
	rd_sb_mem(b, t + sizeof(t) - n, n);
}

/*! Dotted quad of a host-order address into buf (>= 16 bytes); returns the length. */
static inline size_t rd_fmt_ip(char *buf, uint32_t a)
{
	size_t n = 0;
	for (int sh = 24; sh >= 0; sh -= 8) {
		unsigned o = (a >> sh) & 255;
		if (o >= 100)
			buf[n++] = (char)('0' + o / 100);
		if (o >= 10)
			buf[n++] = (char)('0' + o / 10 % 10);
		buf[n++] = (char)('0' + o % 10);
		if (sh)
			buf[n++] = '.';
	}
	buf[n] = '\0';
	return n;
}

static inline void rd_sb_ip(rd_sb_t *b, uint32_t a)
{
	char t[16];
	rd_sb_mem(b, t, rd_fmt_ip(t, a));
}

/*! aa:bb:... of up to 16 bytes into buf (>= 3 * len bytes, 1 if len is 0); returns the length. */
static inline size_t rd_fmt_mac(char *buf, const uint8_t *m, unsigned len)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	if (len > 16)
		len = 16;
	for (unsigned i = 0; i < len; i++) {
		if (i)
			buf[n++] = ':';
		buf[n++] = hex[m[i] >> 4];
		buf[n++] = hex[m[i] & 15];
	}
	buf[n] = '\0';
	return n;
}

/*!
 * A growing text buffer for renderers (YAML, Prometheus text): appends
 * realloc as needed; a failed allocation sets the sticky `oom` and later
 * appends do nothing.  Start from {0}; the caller frees p.
 */
typedef struct rd_gbuf {
	char *p;
	size_t len, cap;
	bool oom;
} rd_gbuf_t;

void rd_gbuf_mem(rd_gbuf_t *b, const char *s, size_t n);
void rd_gbuf_printf(rd_gbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline void rd_gbuf_str(rd_gbuf_t *b, const char *s)
{
	rd_gbuf_mem(b, s, strlen(s));
}

/*!
 * s[0..n) as a YAML double-quoted scalar: quote and backslash escaped,
 * control bytes as \xNN, and with escape_8bit bytes >= 0x80 too (input that
 * is not known to be UTF-8).  Strings from files and the network can hold
 * anything; quoting keeps them one value.
 */
void rd_gbuf_yaml_quoted(rd_gbuf_t *b, const char *s, size_t n, bool escape_8bit);

