/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * lease.h — one lease version: the record the lease table publishes, the
 * store persists, the engine decides on and the failover peer replicates.
 *
 * A published lease is IMMUTABLE.  A change makes a new version (rd_lease_dup
 * then edit the copy) and the table swaps it in atomically; readers inside
 * an RCU read-side critical section see either the old or the new version,
 * never a mix.  The old version is freed after a grace period.
 *
 * Every lease carries the failover fields from day one (draft-ietf-dhc-
 * failover-12 §5 and ISC's lease file), so that failover plugs in without a
 * schema change:
 *   starts  start of the current binding (ISC "starts", failover STOS)
 *   ends    end of the lease we granted to the client (ISC "ends")
 *   tstp    time sent to partner: the expiry we last told the peer about
 *   tsfp    time sent from partner: the expiry the peer last told us
 *   atsfp   acked time sent from partner: the tstp the peer has acked
 *   cltt    client last transaction time
 * Times are seconds since the Unix epoch; 0 means "never/unset".
 *
 * Variable-length data (client key, client-id, hostname) lives in the tail
 * so that one lease is one allocation; the target is <= 200 bytes per lease
 * including the table's own overhead.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rackdhcp/rcu.h"

/*! Binding states, numbered as the failover protocol's binding-status. */
enum rd_binding_state {
	RD_LEASE_FREE = 1,
	RD_LEASE_ACTIVE = 2,
	RD_LEASE_EXPIRED = 3,
	RD_LEASE_RELEASED = 4,
	RD_LEASE_ABANDONED = 5,
	RD_LEASE_RESET = 6,
	RD_LEASE_BACKUP = 7,
};

/*! Lease flags (bit values shared with failover IP-flags where they exist). */
enum {
	RD_LEASE_F_RESERVED = 0x0001,   /*!< host reservation (failover IP-flags RESERVED) */
	RD_LEASE_F_BOOTP = 0x0002,      /*!< granted to a BOOTP client (IP-flags BOOTP) */
	RD_LEASE_F_PXE = 0x0100,        /*!< granted in the PXE lease class (short lease) */
	RD_LEASE_F_KEY_CID = 0x0200,    /*!< the client key is the client-id (else htype+chaddr) */
};

#define RD_LEASE_MAX_CLIENT_ID 255
#define RD_LEASE_MAX_HOSTNAME  255
#define RD_LEASE_KEY_MAX       256   /*!< client-id (<=255) or htype+chaddr (<=17) */

typedef struct rd_lease {
	/* owned by the lease table; zero in a lease that is not published */
	struct cds_lfht_node addr_node;    /*!< index by address */
	struct cds_lfht_node client_node;  /*!< index by client key (every version that has one) */
	struct rcu_head rcu;               /*!< deferred free after replacement */

	uint64_t seq;        /*!< version number, strictly increasing per table */
	uint32_t addr;       /*!< host order */
	uint32_t starts, ends, tstp, tsfp, atsfp, cltt;
	uint16_t flags;      /*!< RD_LEASE_F_* */
	uint8_t state;       /*!< enum rd_binding_state */
	uint8_t htype, hlen;
	uint8_t chaddr[16];
	uint8_t cid_len;     /*!< option 61 value length, 0 if none */
	uint8_t host_len;    /*!< hostname length, 0 if none */
	uint8_t data[];      /*!< client-id bytes, then hostname bytes (no NUL) */
} rd_lease_t;

/*!
 * A new unpublished lease for addr, in state FREE, with client-id and
 * hostname copied into its tail (either may be NULL/0).  NULL on allocation
 * failure, a length over 255, or a non-zero length with a NULL pointer.
 */
rd_lease_t *rd_lease_new(uint32_t addr, const uint8_t *cid, size_t cid_len,
			 const char *host, size_t host_len);

/*!
 * A mutable copy of l with its client-id and hostname replaced (pass
 * l's own to keep them: rd_lease_cid(l), l->cid_len, ...).  Table links are
 * cleared; seq is copied (the table restamps it on publish).  NULL if l is
 * NULL, or as for rd_lease_new.
 */
rd_lease_t *rd_lease_dup(const rd_lease_t *l, const uint8_t *cid, size_t cid_len,
			 const char *host, size_t host_len);

/*! Free a lease that was never published (published ones go through the table). */
void rd_lease_free(rd_lease_t *l);

static inline const uint8_t *rd_lease_cid(const rd_lease_t *l) { return l->data; }
static inline const char *rd_lease_host(const rd_lease_t *l) { return (const char *)l->data + l->cid_len; }

/*!
 * The lease's client key: the client-id when RD_LEASE_F_KEY_CID is set, else
 * htype followed by chaddr[0..hlen).  Writes up to RD_LEASE_KEY_MAX bytes and
 * returns the length (0: no client, e.g. FREE, or l/key NULL).
 */
size_t rd_lease_key(const rd_lease_t *l, uint8_t *key);

/*! Printable binding-state name ("active"), "unknown" otherwise. */
const char *rd_lease_state_name(uint8_t state);

/*! Bytes one lease occupies in memory (struct + tail). */
static inline size_t rd_lease_size(const rd_lease_t *l) { return sizeof(*l) + l->cid_len + l->host_len; }
