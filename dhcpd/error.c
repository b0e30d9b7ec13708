/* SPDX-License-Identifier: GPL-3.0-or-later */
/* error.c — names of the RD_E* codes and the parser diagnostic helper. */
#include <stdio.h>
#include <string.h>

#include "rackdhcp/error.h"

const char *rd_strerror(int code)
{
	switch (code) {
	case RD_OK:           return "success";
	case RD_ENOMEM:       return "out of memory";
	case RD_EINVAL:       return "invalid argument";
	case RD_ENOSPACE:     return "no space left in buffer";
	case RD_ETRUNC:       return "truncated";
	case RD_EREADONLY:    return "write to read-only buffer";
	case RD_EMALFORMED:   return "malformed";
	case RD_EUNSUPPORTED: return "unsupported";
	case RD_ECHECKSUM:    return "bad checksum";
	case RD_ECOOKIE:      return "bad magic cookie";
	case RD_EOPTLEN:      return "bad option length";
	case RD_ETOOBIG:      return "too big";
	default:              return code < 0 && code > -1000 ? strerror(-code) : "unknown error";
	}
}

int rd_diag_set(rd_diag_t *d, int code, const char *fmt, ...)
{
	if (d && d->code == 0) {
		va_list ap;
		d->code = code;
		va_start(ap, fmt);
		vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
		va_end(ap);
	}
	return code;
}

int rd_errf(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}
