/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tap.c — implementation of tap.h; see there for the contract. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static int tap_planned = -1;
static int tap_run;
static int tap_failed;
static bool tap_lazy;

static void tap_atexit(void)
{
	if (!tap_lazy && tap_planned >= 0 && tap_run != tap_planned)
		printf("# planned %d tests but ran %d\n", tap_planned, tap_run);
}

void plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
	atexit(tap_atexit);
}

void plan_lazy(void)
{
	tap_lazy = true;
}

int done_testing(void)
{
	if (tap_lazy)
		printf("1..%d\n", tap_run);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

int tap_failures(void)
{
	return tap_failed;
}

static bool tap_result(bool cond, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static bool tap_result(bool cond, const char *fmt, va_list ap)
{
	tap_run++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_run);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

bool ok(bool cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tap_result(cond, fmt, ap);
	va_end(ap);
	return cond;
}

bool is_int(long long got, long long want, const char *fmt, ...)
{
	va_list ap;
	bool cond = got == want;
	va_start(ap, fmt);
	tap_result(cond, fmt, ap);
	va_end(ap);
	if (!cond)
		diag("    got: %lld\n    expected: %lld", got, want);
	return cond;
}

bool is_str(const char *got, const char *want, const char *fmt, ...)
{
	va_list ap;
	bool cond = (got == NULL && want == NULL) ||
		    (got != NULL && want != NULL && strcmp(got, want) == 0);
	va_start(ap, fmt);
	tap_result(cond, fmt, ap);
	va_end(ap);
	if (!cond)
		diag("    got: '%s'\n    expected: '%s'", got ? got : "(null)", want ? want : "(null)");
	return cond;
}

void diag_hexdump(const char *label, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	printf("# %s (%zu bytes)\n", label, len);
	for (size_t i = 0; i < len; i += 16) {
		printf("#   %04zx ", i);
		for (size_t j = i; j < i + 16 && j < len; j++)
			printf(" %02x", p[j]);
		printf("\n");
	}
}

bool is_mem(const void *got, size_t got_len, const void *want, size_t want_len, const char *fmt, ...)
{
	va_list ap;
	bool cond = got_len == want_len && (got_len == 0 || memcmp(got, want, got_len) == 0);
	va_start(ap, fmt);
	tap_result(cond, fmt, ap);
	va_end(ap);
	if (!cond) {
		const unsigned char *g = got, *w = want;
		size_t n = got_len < want_len ? got_len : want_len, first = 0;
		while (first < n && g[first] == w[first])
			first++;
		size_t from = first >= 32 ? (first - 32) & ~(size_t)15 : 0;
		diag("    lengths: got %zu, expected %zu; first difference at offset %zu", got_len, want_len, first);
		size_t gl = got_len > from ? got_len - from : 0, wl = want_len > from ? want_len - from : 0;
		if (gl > 96) gl = 96;
		if (wl > 96) wl = 96;
		diag("    showing from offset %zu", from);
		diag_hexdump("got", g + from, gl);
		diag_hexdump("expected", w + from, wl);
	}
	return cond;
}

void skip(const char *fmt, ...)
{
	va_list ap;
	tap_run++;
	printf("ok %d # SKIP ", tap_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void diag(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (char *line = buf, *nl; line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		printf("# %s\n", line);
	}
	fflush(stdout);
}

void skip_all(const char *fmt, ...)
{
	va_list ap;
	printf("1..0 # SKIP ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(77);
}

void bail_out(const char *fmt, ...)
{
	va_list ap;
	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(255);
}
