/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * lease.c — construction of lease versions (see lease.h).  A lease and its
 * variable-length tail are one allocation, so a version is created, copied
 * and freed with one call each, and RCU can reclaim it with one free().
 */
#include <stdlib.h>
#include <string.h>

#include "rackdhcp/lease.h"

static rd_lease_t *lease_alloc(const uint8_t *cid, size_t cid_len, const char *host, size_t host_len)
{
	if (cid_len > RD_LEASE_MAX_CLIENT_ID || host_len > RD_LEASE_MAX_HOSTNAME)
		return NULL;
	/* A length without bytes is a caller bug; refuse rather than memcpy(NULL). */
	if ((cid_len && !cid) || (host_len && !host))
		return NULL;
	rd_lease_t *l = calloc(1, sizeof(*l) + cid_len + host_len);
	if (!l)
		return NULL;
	l->cid_len = (uint8_t)cid_len;
	l->host_len = (uint8_t)host_len;
	if (cid_len)
		memcpy(l->data, cid, cid_len);
	if (host_len)
		memcpy(l->data + cid_len, host, host_len);
	return l;
}

rd_lease_t *rd_lease_new(uint32_t addr, const uint8_t *cid, size_t cid_len,
			 const char *host, size_t host_len)
{
	rd_lease_t *l = lease_alloc(cid, cid_len, host, host_len);
	if (l) {
		l->addr = addr;
		l->state = RD_LEASE_FREE;
	}
	return l;
}

rd_lease_t *rd_lease_dup(const rd_lease_t *o, const uint8_t *cid, size_t cid_len,
			 const char *host, size_t host_len)
{
	if (!o)
		return NULL;
	rd_lease_t *l = lease_alloc(cid, cid_len, host, host_len);
	if (!l)
		return NULL;
	/* Copy the fixed fields, not the table links or the tail sizes. */
	l->seq = o->seq;
	l->addr = o->addr;
	l->starts = o->starts;
	l->ends = o->ends;
	l->tstp = o->tstp;
	l->tsfp = o->tsfp;
	l->atsfp = o->atsfp;
	l->cltt = o->cltt;
	l->flags = o->flags;
	l->state = o->state;
	l->htype = o->htype;
	l->hlen = o->hlen;
	memcpy(l->chaddr, o->chaddr, sizeof(l->chaddr));
	return l;
}

void rd_lease_free(rd_lease_t *l)
{
	free(l);
}

size_t rd_lease_key(const rd_lease_t *l, uint8_t *key)
{
	if (!l || !key)
		return 0;
	if (l->flags & RD_LEASE_F_KEY_CID) {
		memcpy(key, l->data, l->cid_len);
		return l->cid_len;
	}
	if (l->hlen == 0 || l->hlen > sizeof(l->chaddr))
		return 0;
	key[0] = l->htype;
	memcpy(key + 1, l->chaddr, l->hlen);
	return (size_t)l->hlen + 1;
}

const char *rd_lease_state_name(uint8_t state)
{
	switch (state) {
	case RD_LEASE_FREE:      return "free";
	case RD_LEASE_ACTIVE:    return "active";
	case RD_LEASE_EXPIRED:   return "expired";
	case RD_LEASE_RELEASED:  return "released";
	case RD_LEASE_ABANDONED: return "abandoned";
	case RD_LEASE_RESET:     return "reset";
	case RD_LEASE_BACKUP:    return "backup";
	default:                 return "unknown";
	}
}
