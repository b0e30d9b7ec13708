/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tap.h — a small Test Anything Protocol helper for our C unit tests.
 *
 * Output is read by automake's tap-driver.sh.  A test program either plans
 * its count up front (plan(n)) or at the end (plan_lazy(), then done_testing()).
 * skip_all() prints "1..0 # SKIP reason" and exits 77, which automake counts
 * as a skip.  Every check returns its truth value so callers can add detail.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void plan(int n);
void plan_lazy(void);
/*! Print the lazy plan and return the exit status (non-zero if any check failed). */
int done_testing(void);

bool ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool is_int(long long got, long long want, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool is_str(const char *got, const char *want, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*! Compare two byte ranges; on mismatch, diag a hexdump of both around the first difference. */
bool is_mem(const void *got, size_t got_len, const void *want, size_t want_len,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void diag_hexdump(const char *label, const void *buf, size_t len);
__attribute__((noreturn)) void skip_all(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void bail_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*! Number of failed checks so far. */
int tap_failures(void);
