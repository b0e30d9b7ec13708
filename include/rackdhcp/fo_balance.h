/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fo_balance.h — the numbers of a failover pair: RFC 3074 load balancing as
 * ISC dhcpd 4.4 does it, the MCLT rule for lease times with its
 * tstp/tsfp/atsfp bookkeeping, and the FREE/BACKUP pool balancing.
 * (../shared/docs/failover-protocol.md §5 and §6, cited as "doc §N".)
 *
 * Pure functions: no I/O, no clock, no allocation; time is a parameter, in
 * Unix seconds as on the wire.  0 is an unset time, RD_FO_TIME_NEVER
 * "never"; finite sums saturate at RD_FO_TIME_NEVER - 1 instead of wrapping.
 * Lease *durations* follow RFC 2131: RD_FO_LEASE_INFINITE (0xffffffff) is an
 * infinite lease; lease *ends* follow lease.h: 0 is infinite.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rackdhcp/config.h"
#include "rackdhcp/fo_state.h"
#include "rackdhcp/lease.h"

/* ------------------------------------------------------------------------
 * Load balancing (RFC 3074, doc §6)
 */

#define RD_FO_HBA_LEN 32   /*!< hash-bucket-assignment: 256 bits */

/*!
 * RFC 3074 §3 hash: h = key length (mod 256), then h = T[h ^ byte] for each
 * byte from the LAST to the first; the result is the bucket, 0..255.
 */
uint8_t rd_fo_lb_hash(const uint8_t *key, size_t len);

/*!
 * A client message's bucket, hashed over what ISC hashes: the whole
 * client-identifier (option 61, type byte included) when the message has
 * one (cid != NULL, even if empty), else chaddr[0..hlen) without htype.
 * hlen above 16 is taken as 16 (the field's size; the parser refuses such
 * messages anyway).
 */
uint8_t rd_fo_lb_bucket(const uint8_t *cid, size_t cid_len, const uint8_t *chaddr, uint8_t hlen);

/*!
 * The bucket of the client a stored lease last had, for MAC affinity (ISC
 * peer_wants_lease): the client-id if the lease has one, else chaddr
 * without its htype.  false (bucket untouched) if the lease has neither.
 */
bool rd_fo_lb_lease_bucket(const rd_lease_t *l, uint8_t *bucket);

/*!
 * Whether `role` answers `bucket` under the bitmap: bucket b is byte b / 8,
 * bit b % 8 counted from the least significant, and a set bit means the
 * PRIMARY (ISC; draft-12 says the opposite).  hba NULL (a secondary that has
 * not seen CONNECT): false for both roles, as ISC.
 */
bool rd_fo_lb_ours(const uint8_t *hba, enum rd_cfg_role role, uint8_t bucket);

/*! The peer's share: !rd_fo_lb_ours, except false when there is no bitmap. */
bool rd_fo_lb_peer_wants(const uint8_t *hba, enum rd_cfg_role role, uint8_t bucket);

/*!
 * ISC's `split N`: buckets 0..N-1 to the primary (split 255 = ff x 31 then
 * 7f: the secondary keeps bucket 255 only; 256 = all primary, 0 = all
 * secondary).  RD_EINVAL if split > 256 (hba untouched).
 */
int rd_fo_hba_from_split(unsigned split, uint8_t hba[RD_FO_HBA_LEN]);

/*!
 * The secs value ISC compares, with `check-secs-byte-order true;`: a value
 * whose high byte is set and low byte clear (e.g. 0x0300 from a
 * little-endian client) is byte-swapped.  secs is in host order.
 */
uint16_t rd_fo_lb_secs(uint16_t secs, bool check_byte_order);

/*!
 * Whether this server takes the client (ISC load_balance_mine): always when
 * max_secs is 0 (balancing off, ISC 4.4) or secs > max_secs (strictly: a
 * client that waited longer than that is answered by both), else
 * rd_fo_lb_ours().  Each server uses its own max_secs.
 */
bool rd_fo_lb_mine(const uint8_t *hba, enum rd_cfg_role role, uint8_t bucket, uint16_t secs,
		   uint32_t max_secs);

/*!
 * Whether the hash decides at all: only for DHCPDISCOVER and BOOTP
 * (msgtype 0) and only in NORMAL.  REQUESTs are never balanced: FREE vs
 * BACKUP decides who may ACK them.
 */
bool rd_fo_lb_applies(uint8_t my_state, uint8_t msgtype);

/* ------------------------------------------------------------------------
 * MCLT and potential expiry (doc §5.2)
 */

#define RD_FO_LEASE_INFINITE UINT32_MAX   /*!< lease time 0xffffffff (RFC 2131) */

/*!
 * The lease time to grant for a wanted one, so that the lease ends no later
 * than max(now, tsfp) + MCLT, tsfp being the potential expiry the peer
 * knows (ISC ack_lease):
 *   want <= mclt: want;  tsfp <= now: mclt;  else min(want, tsfp + mclt - now).
 * An infinite want is granted only when tsfp is RD_FO_TIME_NEVER (the peer
 * knows the lease may last forever); ISC never grants one, since its tsfp
 * is at most 2038.
 */
uint32_t rd_fo_lease_time(uint32_t now, uint32_t want, uint32_t tsfp, uint32_t mclt);

/*!
 * The same rule on end times, in lease.h terms: want_end 0 is infinite, and
 * so is a returned 0.  A want_end not after now is returned unchanged.
 */
uint32_t rd_fo_lease_end(uint32_t now, uint32_t want_end, uint32_t tsfp, uint32_t mclt);

/*! The failover times of one lease (lease.h's fields of the same names). */
typedef struct {
	uint32_t tstp;   /*!< potential expiry we tell (or will tell) the peer */
	uint32_t tsfp;   /*!< potential expiry the peer knows: bounds our lease times */
	uint32_t atsfp;  /*!< the tstp the peer acknowledged; 0 while a change is unsent */
} rd_fo_times_t;

/*!
 * A DHCPACK granted `granted` s of a wanted `want` (ISC ack_lease): tstp =
 * now + want + granted / 2 (RD_FO_TIME_NEVER for an infinite want) so that
 * the renewal, once the peer knows it, can have the full time; tsfp is
 * lowered to tstp if above it (we may not rely on more than we will tell);
 * atsfp = 0 (a change to send).
 */
void rd_fo_times_on_ack(rd_fo_times_t *t, uint32_t now, uint32_t want, uint32_t granted);

/*!
 * Any other change the peer must hear about, with the potential expiry it
 * carries: a release (tstp = now), an expiry (tstp = ends), a reset, a
 * rebalance move (tstp = now).  atsfp = 0.
 */
void rd_fo_times_on_change(rd_fo_times_t *t, uint32_t tstp);

/*!
 * The peer acked our BNDUPD that carried potential-expiry `sent` (our tstp
 * when it went out): the peer now knows it, tsfp = sent; atsfp = sent too
 * if that was the latest change (tstp == sent), else the newer change stays
 * unacknowledged.  Like ISC, ignore a BNDACK whose xid is not the one of
 * the lease's last BNDUPD before calling this.
 */
void rd_fo_times_on_bndack(rd_fo_times_t *t, uint32_t sent);

/*!
 * We accepted the peer's BNDUPD: its potential-expiry is what the peer
 * committed to, tsfp = atsfp = pexp (ISC; nothing if the option was absent).
 */
void rd_fo_times_on_bndupd(rd_fo_times_t *t, bool has_pexp, uint32_t pexp);

/*! Whether the peer has yet to acknowledge the latest change (ISC: tstp > atsfp). */
static inline bool rd_fo_times_unacked(const rd_fo_times_t *t) { return t->tstp > t->atsfp; }

/*!
 * Entry to PARTNER-DOWN (RD_FO_ACT_EXPIRE_TRANSITIONAL): an EXPIRED, RELEASED
 * or RESET lease gets tsfp = STOS + MCLT ...
 */
uint32_t rd_fo_partner_down_tsfp(uint32_t stos, uint32_t mclt);
/*! ... and becomes FREE at max(tsfp, ends) (ends 0: at tsfp). */
uint32_t rd_fo_partner_down_free_at(uint32_t tsfp, uint32_t ends);

/* ------------------------------------------------------------------------
 * Pool balancing (doc §5.5, ISC dhcp_failover_pool_dobalance)
 */

#define RD_FO_DEFAULT_MAX_LEASE_MISBALANCE 15   /*!< % */
#define RD_FO_DEFAULT_MAX_LEASE_OWNERSHIP 10    /*!< % */
#define RD_FO_DEFAULT_MIN_BALANCE 60            /*!< s */
#define RD_FO_DEFAULT_MAX_BALANCE 3600          /*!< s */

typedef struct {
	uint8_t my_state;         /*!< balancing runs only in NORMAL */
	enum rd_cfg_role role;
	uint32_t free, backup;    /*!< FREE and BACKUP leases in the pool */
	uint32_t misbalance_pct;  /*!< max-lease-misbalance */
	uint32_t ownership_pct;   /*!< max-lease-ownership */
	/*!
	 * Run by the rebalance timer.  Only such a run may ask the peer for a
	 * POOLREQ; runs on entry to NORMAL or on a POOLREQ must not (ping-pong).
	 */
	bool timer;
} rd_fo_balance_in_t;

/*! One lease of our own free list (FREE for the primary, BACKUP for the secondary). */
typedef struct {
	bool peer_wants;   /*!< its last client hashes to the peer (rd_fo_lb_peer_wants) */
	bool used;         /*!< it had a client (ends != 0); virgin leases go first */
} rd_fo_pool_lease_t;

typedef struct {
	int64_t lts0;        /*!< leases to send before the moves: (own - peer's) / 2 */
	int64_t lts;         /*!< after */
	int64_t thresh;      /*!< round(total x misbalance%) */
	int64_t hold;        /*!< round(total x ownership%) */
	int64_t panic;       /*!< -2 x thresh, or -1 when that is 0 */
	uint32_t moved;
	bool send_poolreq;   /*!< a timer run with lts0 < panic: send POOLREQ */
	bool imbalanced;     /*!< lts > thresh after the moves (ISC logs "IMBALANCED") */
} rd_fo_balance_t;

/*!
 * Decide which of our free leases to give the peer.  own[0..n) is our free
 * list, oldest first; move[i] is set for each lease to hand over (as the
 * peer's free state, BACKUP from the primary and FREE from the secondary,
 * with tstp = starts = now and a BNDUPD).  ISC's two passes: first the
 * leases whose client hashes to the peer, until lts <= -hold; then from the
 * oldest, virgin leases until lts <= 0 and used ones until lts <= hold,
 * stopping at the first lease that meets its bound.  Returns the number
 * moved (0 outside NORMAL).
 */
uint32_t rd_fo_pool_balance(const rd_fo_balance_in_t *in, const rd_fo_pool_lease_t *own, size_t n,
			    bool *move, rd_fo_balance_t *res);

/*!
 * MAC affinity check on the primary (ISC secondary_not_hoarding): the
 * secondary may take one more lease while (FREE - BACKUP) / 2 > -hold.
 */
bool rd_fo_secondary_not_hoarding(uint32_t free, uint32_t backup, uint32_t ownership_pct);

typedef struct {
	uint32_t now;
	enum rd_cfg_role role;
	bool has_free, has_backup;        /*!< the lists are not empty */
	uint32_t oldest_free_ends;        /*!< ends of the first (oldest) FREE lease */
	uint32_t oldest_backup_ends;
	uint32_t misbalance_pct;
	uint32_t min_balance, max_balance;
	uint32_t last_balance;            /*!< time of the last run, 0 never */
	uint32_t scheduled;               /*!< the run now planned, 0 none */
	uint32_t jitter;                  /*!< 0..4, the caller's random pick */
} rd_fo_sched_in_t;

/*!
 * When to run the rebalance timer next (ISC dhcp_failover_pool_check): the
 * age of the oldest free lease x misbalance% (doubled for our own list,
 * where we would panic first), at most max_balance from now, at least
 * min_balance after the last run, plus jitter.  The plan only ever moves
 * earlier: returns the new time, or 0 to keep `scheduled`.
 */
uint32_t rd_fo_balance_next(const rd_fo_sched_in_t *in);
