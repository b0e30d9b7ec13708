/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fmt.c — the printf-style appender of fmt.h, for the printers (log
 * summaries, dumps) that are not on the hot path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rackdhcp/fmt.h"

void rd_sb_vprintf(rd_sb_t *b, const char *fmt, va_list ap)
{
	if (b->cap == 0 || b->len + 1 >= b->cap) {
		if (b->cap)
			b->trunc = true;
		return;
	}
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		b->len = b->cap - 1;
		b->trunc = true;
	} else {
		b->len += (size_t)n;
	}
}

void rd_sb_printf(rd_sb_t *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rd_sb_vprintf(b, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ growing buffer */

/* Room for `need` more bytes and a NUL; false (and oom) when out of memory. */
static bool grow(rd_gbuf_t *b, size_t need)
{
	if (b->oom)
		return false;
	if (b->len + need + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 1024;
	while (cap < b->len + need + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void rd_gbuf_mem(rd_gbuf_t *b, const char *s, size_t n)
{
	if (!grow(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void rd_gbuf_printf(rd_gbuf_t *b, const char *fmt, ...)
{
	va_list ap;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		if (!grow(b, (size_t)n))
			return;
	}
}

void rd_gbuf_yaml_quoted(rd_gbuf_t *b, const char *s, size_t n, bool escape_8bit)
{
	rd_gbuf_mem(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			char e[2] = { '\\', (char)ch };
			rd_gbuf_mem(b, e, 2);
		} else if (ch < 0x20 || ch == 0x7f || (escape_8bit && ch >= 0x80)) {
			rd_gbuf_printf(b, "\\x%02x", ch);
		} else {
			rd_gbuf_mem(b, (const char *)&ch, 1);
		}
	}
	rd_gbuf_mem(b, "\"", 1);
}
