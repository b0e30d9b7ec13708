/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fmt.c — the printf-style appender of fmt.h, for the printers (log
 * summaries, dumps) that are not on the hot path.
 */
#include <stdio.h>

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
