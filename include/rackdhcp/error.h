/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * error.h — the one return convention: 0 on success, a negative RD_E* code on
 * failure.  Codes that have an errno twin alias it, so strerror-style logs
 * and errno-returning system calls mix without translation.
 *
 * Parsers of untrusted input also fill an rd_diag_t: the code plus a short
 * human reason ("option 51 length 3, expected 4") for the log line that
 * names the client.  Building the reason costs a snprintf, and only on error.
 */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>

enum {
	RD_OK = 0,
	RD_ENOMEM = -ENOMEM,        /*!< allocation failed */
	RD_EINVAL = -EINVAL,        /*!< bad argument from our own code */
	RD_ENOSPACE = -ENOSPC,      /*!< output buffer too small */
	RD_ETRUNC = -1000,          /*!< input ends before a field it declares */
	RD_EREADONLY = -1001,       /*!< write through a read-only cursor */
	RD_EMALFORMED = -1002,      /*!< a field has an impossible value */
	RD_EUNSUPPORTED = -1003,    /*!< well-formed, but not something we serve (not IPv4/UDP, fragment, ...) */
	RD_ECHECKSUM = -1004,       /*!< IPv4 header or UDP checksum mismatch */
	RD_ECOOKIE = -1005,         /*!< missing or wrong DHCP magic cookie */
	RD_EOPTLEN = -1006,         /*!< an option breaks its length rule */
	RD_ETOOBIG = -1007,         /*!< does not fit, even with overload */
};

/*! Static name of a code, e.g. "truncated". Never NULL. */
const char *rd_strerror(int code);

/*! Where a parser says why it refused input. */
typedef struct {
	int code;           /*!< RD_E* code, 0 when nothing went wrong */
	char reason[128];   /*!< NUL-terminated, human readable */
} rd_diag_t;

/*!
 * Record an error in d (if d is non-NULL and holds none yet) and return code,
 * so parsers can write `return rd_diag_set(d, RD_EOPTLEN, "...", ...);`.
 */
int rd_diag_set(rd_diag_t *d, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*!
 * Write one message into err (when err and errlen are set) and return code,
 * so functions that report through a caller's buffer can write
 * `return rd_errf(err, errlen, RD_EINVAL, "...", ...);`.
 */
int rd_errf(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline void rd_diag_clear(rd_diag_t *d)
{
	if (d) {
		d->code = 0;
		d->reason[0] = '\0';
	}
}

/*!
 * A non-blocking call failed only because it would have to wait.  Linux's
 * EWOULDBLOCK is EAGAIN; testing both inline makes gcc warn about equal
 * operands, so every caller asks this instead.
 */
static inline int rd_would_block(int e)
{
#if EWOULDBLOCK != EAGAIN
	if (e == EWOULDBLOCK)
		return 1;
#endif
	return e == EAGAIN;
}
