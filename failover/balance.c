/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * balance.c — RFC 3074 load balancing, the MCLT rule and pool balancing
 * (see fo_balance.h for the contract).
 *
 * Design notes:
 *  - The mixing table is RFC 3074's, which is also ISC's loadb_mx_tbl: a
 *    permutation of 0..255.  The hash runs from the last byte to the first,
 *    seeded with the length; both details matter, since the two servers of a
 *    pair must put every client in the same bucket.
 *  - Lease-time arithmetic is done in 64 bits and clamped below "never", so
 *    nothing wraps into the past near 2106 or with an MCLT near 2^32.
 *  - The pool balance keeps ISC's integer arithmetic exactly (C division
 *    truncating toward zero, rounding of the percentages with +50): the
 *    thresholds decide when a peer sends POOLREQ, and an ISC peer computes
 *    them the same way on its side.
 */
#include <string.h>

#include "rackdhcp/dhcp.h"
#include "rackdhcp/error.h"
#include "rackdhcp/fo_balance.h"

/* ---- load balancing */

static const uint8_t mix[256] = {
	251, 175, 119, 215, 81,  14,  79,  191, 103, 49,  181, 143, 186, 157, 0,   232,
	31,  32,  55,  60,  152, 58,  17,  237, 174, 70,  160, 144, 220, 90,  57,  223,
	59,  3,   18,  140, 111, 166, 203, 196, 134, 243, 124, 95,  222, 179, 197, 65,
	180, 48,  36,  15,  107, 46,  233, 130, 165, 30,  123, 161, 209, 23,  97,  16,
	40,  91,  219, 61,  100, 10,  210, 109, 250, 127, 22,  138, 29,  108, 244, 67,
	207, 9,   178, 204, 74,  98,  126, 249, 167, 116, 34,  77,  193, 200, 121, 5,
	20,  113, 71,  35,  128, 13,  182, 94,  25,  226, 227, 199, 75,  27,  41,  245,
	230, 224, 43,  225, 177, 26,  155, 150, 212, 142, 218, 115, 241, 73,  88,  105,
	39,  114, 62,  255, 192, 201, 145, 214, 168, 158, 221, 148, 154, 122, 12,  84,
	82,  163, 44,  139, 228, 236, 205, 242, 217, 11,  187, 146, 159, 64,  86,  239,
	195, 42,  106, 198, 118, 112, 184, 172, 87,  2,   173, 117, 176, 229, 247, 253,
	137, 185, 99,  164, 102, 147, 45,  66,  231, 52,  141, 211, 194, 206, 246, 238,
	56,  110, 78,  248, 63,  240, 189, 93,  92,  51,  53,  183, 19,  171, 72,  50,
	33,  104, 101, 69,  8,   252, 83,  120, 76,  135, 85,  54,  202, 125, 188, 213,
	96,  235, 136, 208, 162, 129, 190, 132, 156, 38,  47,  1,   7,   254, 24,  4,
	216, 131, 89,  21,  28,  133, 37,  153, 149, 80,  170, 68,  6,   169, 234, 151,
};

uint8_t rd_fo_lb_hash(const uint8_t *key, size_t len)
{
	uint8_t h = (uint8_t)len;

	if (!key)
		return h;
	while (len > 0)
		h = mix[h ^ key[--len]];
	return h;
}

uint8_t rd_fo_lb_bucket(const uint8_t *cid, size_t cid_len, const uint8_t *chaddr, uint8_t hlen)
{
	if (cid)
		return rd_fo_lb_hash(cid, cid_len);
	return rd_fo_lb_hash(chaddr, hlen > 16 ? 16 : hlen);
}

bool rd_fo_lb_lease_bucket(const rd_lease_t *l, uint8_t *bucket)
{
	if (!l || !bucket)
		return false;
	if (l->cid_len) {
		*bucket = rd_fo_lb_hash(rd_lease_cid(l), l->cid_len);
		return true;
	}
	if (l->hlen) {
		*bucket = rd_fo_lb_hash(l->chaddr, l->hlen > 16 ? 16 : l->hlen);
		return true;
	}
	return false;
}

static bool primary_bit(const uint8_t *hba, uint8_t bucket)
{
	return (hba[bucket >> 3] >> (bucket & 7)) & 1;
}

bool rd_fo_lb_ours(const uint8_t *hba, enum rd_cfg_role role, uint8_t bucket)
{
	if (!hba)
		return false;
	return role == RD_FO_PRIMARY ? primary_bit(hba, bucket) : !primary_bit(hba, bucket);
}

bool rd_fo_lb_peer_wants(const uint8_t *hba, enum rd_cfg_role role, uint8_t bucket)
{
	return hba && !rd_fo_lb_ours(hba, role, bucket);
}

int rd_fo_hba_from_split(unsigned split, uint8_t hba[RD_FO_HBA_LEN])
{
	if (split > 256 || !hba)
		return RD_EINVAL;
	memset(hba, 0, RD_FO_HBA_LEN);
	for (unsigned b = 0; b < split; b++)
		hba[b >> 3] |= (uint8_t)(1u << (b & 7));
	return RD_OK;
}

uint16_t rd_fo_lb_secs(uint16_t secs, bool check_byte_order)
{
	if (check_byte_order && secs > 255 && (secs & 0xff) == 0)
		return (uint16_t)((secs >> 8) | (secs << 8));
	return secs;
}

bool rd_fo_lb_mine(const uint8_t *hba, enum rd_cfg_role role, uint8_t bucket, uint16_t secs,
		   uint32_t max_secs)
{
	if (max_secs == 0 || secs > max_secs)
		return true;
	return rd_fo_lb_ours(hba, role, bucket);
}

bool rd_fo_lb_applies(uint8_t my_state, uint8_t msgtype)
{
	return my_state == RD_FO_ST_NORMAL && (msgtype == RD_DHCPDISCOVER || msgtype == 0);
}

/* ---- MCLT */

static uint32_t clamp_time(uint64_t t)
{
	return t >= RD_FO_TIME_NEVER ? RD_FO_TIME_NEVER - 1 : (uint32_t)t;
}

uint32_t rd_fo_lease_time(uint32_t now, uint32_t want, uint32_t tsfp, uint32_t mclt)
{
	uint64_t limit;

	if (want <= mclt || tsfp == RD_FO_TIME_NEVER)
		return want;
	if (tsfp <= now)
		return mclt;
	/* the peer knows tsfp: we may go MCLT beyond it */
	limit = (uint64_t)tsfp - now + mclt;
	if (limit >= RD_FO_LEASE_INFINITE)
		limit = RD_FO_LEASE_INFINITE - 1;
	return want < limit ? want : (uint32_t)limit;
}

uint32_t rd_fo_lease_end(uint32_t now, uint32_t want_end, uint32_t tsfp, uint32_t mclt)
{
	uint32_t want, got;

	if (want_end != 0 && want_end <= now)
		return want_end;
	want = want_end == 0 ? RD_FO_LEASE_INFINITE : want_end - now;
	got = rd_fo_lease_time(now, want, tsfp, mclt);
	if (got == RD_FO_LEASE_INFINITE)
		return 0;
	return clamp_time((uint64_t)now + got);
}

void rd_fo_times_on_ack(rd_fo_times_t *t, uint32_t now, uint32_t want, uint32_t granted)
{
	if (want == RD_FO_LEASE_INFINITE)
		t->tstp = RD_FO_TIME_NEVER;
	else
		t->tstp = clamp_time((uint64_t)now + want + granted / 2);
	if (t->tstp < t->tsfp)
		t->tsfp = t->tstp;
	t->atsfp = 0;
}

void rd_fo_times_on_change(rd_fo_times_t *t, uint32_t tstp)
{
	t->tstp = tstp;
	t->atsfp = 0;
}

void rd_fo_times_on_bndack(rd_fo_times_t *t, uint32_t sent)
{
	/* the peer now holds `sent` for this lease, whatever happened here since */
	t->tsfp = sent;
	/* but only an ack of the latest change settles it: a release sent
	 * after an ACK lowers tstp, and must not look acked by the ACK's ack */
	if (t->tstp == sent)
		t->atsfp = sent;
}

void rd_fo_times_on_bndupd(rd_fo_times_t *t, bool has_pexp, uint32_t pexp)
{
	if (has_pexp) {
		t->tsfp = pexp;
		t->atsfp = pexp;
	}
}

uint32_t rd_fo_partner_down_tsfp(uint32_t stos, uint32_t mclt)
{
	return clamp_time((uint64_t)stos + mclt);
}

uint32_t rd_fo_partner_down_free_at(uint32_t tsfp, uint32_t ends)
{
	return ends > tsfp ? ends : tsfp;
}

/* ---- pool balancing */

static int64_t pct(uint64_t total, uint32_t p)
{
	return (int64_t)((total * p + 50) / 100);
}

bool rd_fo_secondary_not_hoarding(uint32_t free, uint32_t backup, uint32_t ownership_pct)
{
	int64_t hold = pct((uint64_t)free + backup, ownership_pct);
	int64_t lts = ((int64_t)free - backup) / 2;

	return lts > -hold;
}

uint32_t rd_fo_pool_balance(const rd_fo_balance_in_t *in, const rd_fo_pool_lease_t *own, size_t n,
			    bool *move, rd_fo_balance_t *res)
{
	rd_fo_balance_t r;
	uint64_t total;
	int64_t mine, theirs;

	memset(&r, 0, sizeof(r));
	if (move && n)
		memset(move, 0, n * sizeof(*move));
	if (!in || in->my_state != RD_FO_ST_NORMAL) {
		if (res)
			*res = r;
		return 0;
	}
	mine = in->role == RD_FO_PRIMARY ? in->free : in->backup;
	theirs = in->role == RD_FO_PRIMARY ? in->backup : in->free;
	total = (uint64_t)in->free + in->backup;
	r.lts0 = r.lts = (mine - theirs) / 2;
	r.thresh = pct(total, in->misbalance_pct);
	r.hold = pct(total, in->ownership_pct);
	/* -2 x thresh, but never 0: a pool one lease short is not a panic */
	r.panic = r.thresh ? -2 * r.thresh : -1;
	r.send_poolreq = in->timer && r.lts0 < r.panic;

	if (own && move) {
		for (int pass = 0; pass < 2; pass++) {
			for (size_t i = 0; i < n; i++) {
				if (move[i])
					continue;
				/* ISC stops the whole run at the first lease
				 * that meets its bound */
				if (pass ? (own[i].used ? r.lts <= r.hold : r.lts <= 0)
					 : r.lts <= -r.hold)
					goto done;
				if (pass || own[i].peer_wants) {
					move[i] = true;
					r.lts--;
					r.moved++;
				}
			}
		}
	}
done:
	r.imbalanced = r.lts > r.thresh;
	if (res)
		*res = r;
	return r.moved;
}

uint32_t rd_fo_balance_next(const rd_fo_sched_in_t *in)
{
	uint64_t est1 = 0, est2 = 0, t;

	if (!in)
		return 0;
	/* a pool will take about as long to drift out of balance as its oldest
	 * free lease has been free */
	if (in->has_free && in->oldest_free_ends < in->now)
		est1 = in->now - in->oldest_free_ends;
	if (in->has_backup && in->oldest_backup_ends < in->now)
		est2 = in->now - in->oldest_backup_ends;
	est1 = (est1 * in->misbalance_pct + 50) / 100;
	est2 = (est2 * in->misbalance_pct + 50) / 100;
	/* our own list is where we would start sending POOLREQs */
	if (in->role == RD_FO_PRIMARY)
		est1 *= 2;
	else
		est2 *= 2;
	if (est1 > est2)
		est1 = est2;
	if (est1 > in->max_balance)
		est1 = in->max_balance;
	t = in->now + est1;
	if (in->last_balance && t < (uint64_t)in->last_balance + in->min_balance)
		t = (uint64_t)in->last_balance + in->min_balance;
	t += in->jitter;
	if (t >= RD_FO_TIME_NEVER)
		t = RD_FO_TIME_NEVER - 1;
	if (in->scheduled && t >= in->scheduled)
		return 0;
	return (uint32_t)t;
}
