/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_balance.c — tests of failover/balance.c: the RFC 3074 hash against
 * the vectors of ../shared/docs/failover-protocol.md §6 and what it hashes
 * (client-id whole, else chaddr without htype); the HBA bit order and
 * `split` bitmaps, split 255 checked against the HBA a live ISC 4.4.3 sent
 * in ../shared/pcaps/isc-failover.pcap; the secs override with ISC's own
 * unit-test cases; the MCLT rule and tstp/tsfp/atsfp bookkeeping, with the
 * numbers of the same capture and the edges (0, infinite, 2^32); and pool
 * balancing with the 115 BACKUP moves the capture shows.
 */
#include <stdio.h>
#include <string.h>

#include "rackdhcp/error.h"
#include "rackdhcp/fo_balance.h"
#include "rackdhcp/lease.h"
#include "tap.h"

#define P RD_FO_PRIMARY
#define S RD_FO_SECONDARY
#define NEVER RD_FO_TIME_NEVER
#define INF RD_FO_LEASE_INFINITE

static size_t unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;
	unsigned v;

	while (*s && n < max) {
		if (*s == ':' || *s == ' ') {
			s++;
			continue;
		}
		if (sscanf(s, "%2x", &v) != 1)
			bail_out("bad hex %s", s);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

static uint8_t hash_hex(const char *hex)
{
	uint8_t k[64];
	size_t n = unhex(hex, k, sizeof(k));
	return rd_fo_lb_hash(k, n);
}

/* ---- the hash */

static void test_hash(void)
{
	/* doc §6, "computed with a Python port of ISC's function" */
	static const struct {
		const char *key;
		unsigned bucket;
	} v[] = {
		{ "00:11:22:33:44:55", 135 },    { "01:00:11:22:33:44:55", 223 },
		{ "52:54:00:12:34:56", 156 },    { "01:52:54:00:12:34:56", 253 },
		{ "00:00:00:00:00:00", 254 },    { "ff:ff:ff:ff:ff:ff", 79 },
		{ "0e", 232 },                   { "52:54:00:00:00:ca", 255 },
		{ "01:52:54:00:00:00:0a", 255 },
	};
	bool seen[256] = { false };
	unsigned distinct = 0;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		is_int(hash_hex(v[i].key), v[i].bucket, "hash(%s) = %u", v[i].key, v[i].bucket);

	/* a one-byte key k hashes to T[1 ^ k]: 256 keys, 256 buckets iff the
	 * mixing table is a permutation, as RFC 3074's is */
	for (unsigned k = 0; k < 256; k++) {
		uint8_t b = (uint8_t)k, h = rd_fo_lb_hash(&b, 1);
		distinct += !seen[h];
		seen[h] = true;
	}
	is_int(distinct, 256, "the mixing table is a permutation of 0..255");
	is_int(rd_fo_lb_hash((const uint8_t *)"", 0), 0, "empty key: bucket 0 (the seed, len 0)");
	ok(hash_hex("01:02") != hash_hex("02:01"), "byte order matters (walked last to first)");
}

static void test_bucket(void)
{
	const uint8_t mac[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 };
	const uint8_t cid[7] = { 0x01, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 };
	uint8_t chaddr16[16], b = 0;
	rd_lease_t *l;

	is_int(rd_fo_lb_bucket(NULL, 0, mac, 6), 135, "no option 61: chaddr[0..hlen), htype left out");
	is_int(rd_fo_lb_bucket(cid, sizeof(cid), mac, 6), 223, "option 61: its whole value, type byte included");
	is_int(rd_fo_lb_bucket(cid, 0, mac, 6), 0, "an empty option 61 is still what gets hashed");
	memset(chaddr16, 0x5a, sizeof(chaddr16));
	is_int(rd_fo_lb_bucket(NULL, 0, chaddr16, 200), rd_fo_lb_bucket(NULL, 0, chaddr16, 16),
	       "hlen over 16 is cut to the chaddr field");

	/* stored leases, for MAC affinity */
	l = rd_lease_new(0xc0000287, cid, sizeof(cid), NULL, 0);
	if (!l)
		bail_out("rd_lease_new");
	l->htype = 1;
	l->hlen = 6;
	memcpy(l->chaddr, mac, 6);
	ok(rd_fo_lb_lease_bucket(l, &b) && b == 223, "a lease with a client-id: the client-id's bucket");
	rd_lease_free(l);
	l = rd_lease_new(0xc0000287, NULL, 0, NULL, 0);
	l->htype = 1;
	l->hlen = 6;
	memcpy(l->chaddr, mac, 6);
	ok(rd_fo_lb_lease_bucket(l, &b) && b == 135, "a lease without: chaddr without htype, as in the packet");
	l->hlen = 0;
	b = 7;
	ok(!rd_fo_lb_lease_bucket(l, &b) && b == 7, "a lease with neither has no bucket");
	rd_lease_free(l);
	ok(!rd_fo_lb_lease_bucket(NULL, &b), "NULL lease");
}

/* ---- bitmaps */

static void test_hba(void)
{
	/* hash-bucket-assignment of the CONNECT a live ISC 4.4.3 primary with
	 * `split 255;` sent (../shared/pcaps/isc-failover-decoded.txt, frame 6) */
	static const char *const captured =
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f";
	uint8_t want[32], hba[32], junk[32];
	unsigned bad;

	unhex(captured, want, sizeof(want));
	ok(rd_fo_hba_from_split(255, hba) == 0 && memcmp(hba, want, 32) == 0,
	   "split 255 = ff x 31, 7f: the bitmap ISC sends");
	rd_fo_hba_from_split(0, hba);
	memset(want, 0, 32);
	is_mem(hba, 32, want, 32, "split 0: all zero (all secondary)");
	rd_fo_hba_from_split(128, hba);
	memset(want, 0xff, 16);
	is_mem(hba, 32, want, 32, "split 128: ff x 16, 00 x 16");
	rd_fo_hba_from_split(256, hba);
	memset(want, 0xff, 32);
	is_mem(hba, 32, want, 32, "split 256: ff x 32 (all primary)");
	rd_fo_hba_from_split(9, hba);
	memset(want, 0, 32);
	want[0] = 0xff;
	want[1] = 0x01;
	is_mem(hba, 32, want, 32, "split 9: ff 01 00...: buckets fill each byte from its LSB");
	memset(junk, 0xa5, 32);
	ok(rd_fo_hba_from_split(257, junk) == RD_EINVAL && junk[0] == 0xa5, "split 257 refused, bitmap untouched");

	/* who answers what under split 255 */
	rd_fo_hba_from_split(255, hba);
	bad = 0;
	for (unsigned b = 0; b < 256; b++) {
		bool prim = b < 255;
		bad += rd_fo_lb_ours(hba, P, (uint8_t)b) != prim || rd_fo_lb_ours(hba, S, (uint8_t)b) == prim;
		bad += rd_fo_lb_peer_wants(hba, P, (uint8_t)b) == prim ||
		       rd_fo_lb_peer_wants(hba, S, (uint8_t)b) != prim;
	}
	is_int(bad, 0, "split 255: the primary answers buckets 0..254, the secondary bucket 255 only");
	ok(rd_fo_lb_ours(hba, S, hash_hex("52:54:00:00:00:ca")) &&
		   !rd_fo_lb_ours(hba, P, hash_hex("52:54:00:00:00:ca")) &&
		   rd_fo_lb_ours(hba, S, hash_hex("01:52:54:00:00:00:0a")) &&
		   rd_fo_lb_ours(hba, P, hash_hex("00:11:22:33:44:55")),
	   "split 255: the doc's bucket-255 clients go to the secondary, others to the primary");

	/* bit order: bucket b is byte b/8, bit b%8 from the LSB, set = primary */
	memset(hba, 0, 32);
	hba[1] = 0x01;
	hba[31] = 0x80;
	bad = 0;
	for (unsigned b = 0; b < 256; b++)
		bad += rd_fo_lb_ours(hba, P, (uint8_t)b) != (b == 8 || b == 255);
	is_int(bad, 0, "byte 1 bit 0 is bucket 8, byte 31 bit 7 is bucket 255");

	ok(!rd_fo_lb_ours(NULL, P, 3) && !rd_fo_lb_ours(NULL, S, 3) && !rd_fo_lb_peer_wants(NULL, P, 3) &&
		   !rd_fo_lb_peer_wants(NULL, S, 3),
	   "no bitmap yet: neither ours nor the peer's");
}

/* ISC's server/tests/load_bal_unittest.c: hba all ones, a one-byte chaddr,
 * load balance max seconds 5. */
static void test_secs(void)
{
	uint8_t hba[32];
	const uint8_t ch = 14;
	uint8_t b = rd_fo_lb_bucket(NULL, 0, &ch, 1);

	memset(hba, 0xff, sizeof(hba));
	ok(rd_fo_lb_mine(hba, P, b, 0, 5) && !rd_fo_lb_mine(hba, S, b, 0, 5), "secs 0: the primary only");
	ok(rd_fo_lb_mine(hba, P, b, 2, 5) && !rd_fo_lb_mine(hba, S, b, 2, 5), "secs 2: the primary only");
	ok(!rd_fo_lb_mine(hba, S, b, 5, 5), "secs == max: still the hash (ISC compares max < secs)");
	ok(rd_fo_lb_mine(hba, P, b, 6, 5) && rd_fo_lb_mine(hba, S, b, 6, 5), "secs 6 > 5: both");
	ok(rd_fo_lb_mine(hba, S, b, 257, 5), "secs 257: both");
	/* load_balance_swap */
	ok(rd_fo_lb_secs(256, true) == 1 && !rd_fo_lb_mine(hba, S, b, rd_fo_lb_secs(256, true), 5),
	   "check-secs-byte-order: 256 read as 1, the primary only");
	ok(rd_fo_lb_secs(256 * 6, true) == 6 && rd_fo_lb_mine(hba, S, b, rd_fo_lb_secs(256 * 6, true), 5),
	   "check-secs-byte-order: 1536 read as 6, both");
	ok(rd_fo_lb_secs(256, false) == 256 && rd_fo_lb_secs(0x0301, true) == 0x0301 &&
		   rd_fo_lb_secs(255, true) == 255,
	   "no swap when off, when the low byte is set, or below 256");
	ok(rd_fo_lb_mine(hba, S, b, 0, 0) && rd_fo_lb_mine(NULL, S, b, 0, 0),
	   "max seconds 0 (ISC 4.4's default): balancing off, both answer");
	ok(!rd_fo_lb_mine(NULL, P, b, 0, 5) && rd_fo_lb_mine(NULL, P, b, 6, 5),
	   "no bitmap: only the secs override answers");

	ok(rd_fo_lb_applies(RD_FO_ST_NORMAL, 1) && rd_fo_lb_applies(RD_FO_ST_NORMAL, 0),
	   "NORMAL: DHCPDISCOVER and BOOTP are balanced");
	ok(!rd_fo_lb_applies(RD_FO_ST_NORMAL, 3) && !rd_fo_lb_applies(RD_FO_ST_NORMAL, 8) &&
		   !rd_fo_lb_applies(RD_FO_ST_NORMAL, 7),
	   "NORMAL: REQUEST, INFORM, RELEASE are not");
	ok(!rd_fo_lb_applies(RD_FO_ST_COMM_INTERRUPTED, 1) && !rd_fo_lb_applies(RD_FO_ST_PARTNER_DOWN, 0),
	   "outside NORMAL nothing is balanced");
}

/* ---- MCLT */

static void test_lease_time(void)
{
	const uint32_t now = 1795689919, M = 3600;
	rd_fo_times_t t = { 0 };
	uint32_t g;

	/* isc-failover.pcap frame 91: default-lease-time 3600, mclt 3600, a new client */
	g = rd_fo_lease_time(now, 3600, 0, M);
	rd_fo_times_on_ack(&t, now, 3600, g);
	ok(g == 3600 && now + g == 1795693519u && t.tstp == 1795695319u,
	   "capture: 3600 s granted, ends 1795693519, potential expiry 1795695319");

	is_int(rd_fo_lease_time(now, 600, 0, M), 600, "want <= MCLT: granted as is");
	is_int(rd_fo_lease_time(now, 7200, 0, M), M, "tsfp unset: MCLT");
	is_int(rd_fo_lease_time(now, 7200, now, M), M, "tsfp == now: MCLT");
	is_int(rd_fo_lease_time(now, 7200, now + 1000, M), 4600, "tsfp ahead: tsfp + MCLT - now");
	is_int(rd_fo_lease_time(now, 7200, now + 9000, M), 7200, "tsfp far ahead: the wanted time");
	is_int(rd_fo_lease_time(now, INF, 0, M), M, "infinite wanted, tsfp unset: MCLT");
	is_int(rd_fo_lease_time(now, INF, now + 100, M), 3700, "infinite wanted: bounded by tsfp + MCLT");
	is_int(rd_fo_lease_time(now, INF, NEVER, M), INF, "infinite wanted, the peer knows 'never': infinite");
	is_int(rd_fo_lease_time(now, 7200, now + 100, 0), 100, "MCLT 0: exactly up to tsfp");
	is_int(rd_fo_lease_time(now, 7200, 0, 0), 0, "MCLT 0 and nothing acked: nothing (a config error)");
	is_int(rd_fo_lease_time(100, INF, NEVER - 1, UINT32_MAX - 5), INF - 1,
	       "tsfp + MCLT past 2^32: clamped below infinite, no wrap");
	is_int(rd_fo_lease_time(NEVER - 10, 7200, NEVER - 5, M), 3605, "near 2106: still exact");

	/* end times: 0 is infinite */
	is_int(rd_fo_lease_end(now, now + 7200, 0, M), now + M, "lease_end: now + MCLT");
	is_int(rd_fo_lease_end(now, now + 600, 0, M), now + 600, "lease_end: short lease unchanged");
	is_int(rd_fo_lease_end(now, 0, now + 50, M), now + 3650, "lease_end: infinite wanted, bounded");
	is_int(rd_fo_lease_end(now, 0, NEVER, M), 0, "lease_end: infinite stays infinite when acked as never");
	is_int(rd_fo_lease_end(now, now - 5, 0, M), now - 5, "lease_end: an end in the past is left alone");
	is_int(rd_fo_lease_end(NEVER - 100, NEVER - 1, NEVER - 50, M), NEVER - 1,
	       "lease_end near 2106: clamped below never");
}

static void test_times(void)
{
	const uint32_t now = 1795689919, M = 3600;
	rd_fo_times_t t = { 0 };
	uint32_t g, sent;

	/* first ACK of a new client: MCLT, and a potential expiry that allows
	 * the full time at the renewal */
	g = rd_fo_lease_time(now, 7200, t.tsfp, M);
	rd_fo_times_on_ack(&t, now, 7200, g);
	ok(g == M && t.tstp == now + 7200 + M / 2 && t.tsfp == 0 && t.atsfp == 0 && rd_fo_times_unacked(&t),
	   "first ACK: MCLT granted, tstp = now + want + granted/2, unacked");
	sent = t.tstp;
	rd_fo_times_on_bndack(&t, sent);
	ok(t.tsfp == sent && t.atsfp == sent && !rd_fo_times_unacked(&t), "BNDACK: tsfp = atsfp = what was sent");
	g = rd_fo_lease_time(now + 1800, 7200, t.tsfp, M);
	is_int(g, 7200, "the renewal after the ack gets the full time");

	/* a change sent but overtaken before its ack */
	rd_fo_times_on_ack(&t, now + 1800, 7200, g);
	sent = t.tstp;
	rd_fo_times_on_change(&t, now + 1900);   /* released */
	rd_fo_times_on_bndack(&t, sent);
	ok(t.tsfp == sent && t.atsfp == 0 && t.tstp == now + 1900 && rd_fo_times_unacked(&t),
	   "an ack for an older BNDUPD: tsfp from it, the release (a lower tstp) still unacked");

	/* tsfp is never left above what we will tell */
	t = (rd_fo_times_t){ .tstp = 0, .tsfp = now + 99999, .atsfp = now + 99999 };
	rd_fo_times_on_ack(&t, now, 600, 600);
	ok(t.tstp == now + 900 && t.tsfp == now + 900 && t.atsfp == 0,
	   "a shorter lease lowers tsfp to the new tstp");

	/* infinite and wrapping */
	t = (rd_fo_times_t){ 0 };
	rd_fo_times_on_ack(&t, now, INF, M);
	ok(t.tstp == NEVER, "an infinite lease's potential expiry is never");
	t = (rd_fo_times_t){ 0 };
	rd_fo_times_on_ack(&t, NEVER - 100, 7200, 3600);
	ok(t.tstp == NEVER - 1, "tstp near 2106 clamps below never, not to the past");

	/* from the peer */
	t = (rd_fo_times_t){ .tstp = 5, .tsfp = 6, .atsfp = 7 };
	rd_fo_times_on_bndupd(&t, true, now + 42);
	ok(t.tstp == 5 && t.tsfp == now + 42 && t.atsfp == now + 42, "a peer's BNDUPD: tsfp = atsfp = its pexp");
	rd_fo_times_on_bndupd(&t, false, 0);
	ok(t.tsfp == now + 42, "... unchanged when it carried none");

	/* PARTNER-DOWN */
	is_int(rd_fo_partner_down_tsfp(now, M), now + M, "PARTNER-DOWN: transitional tsfp = STOS + MCLT");
	is_int(rd_fo_partner_down_tsfp(NEVER - 10, M), NEVER - 1, "... clamped");
	is_int(rd_fo_partner_down_free_at(now + M, now + 10), now + M, "free at max(tsfp, ends): tsfp");
	is_int(rd_fo_partner_down_free_at(now + M, now + 2 * M), now + 2 * M, "free at max(tsfp, ends): ends");
}

/* ---- pool balancing */

static rd_fo_balance_in_t bal(enum rd_cfg_role role, uint32_t free, uint32_t backup, bool timer)
{
	return (rd_fo_balance_in_t){
		.my_state = RD_FO_ST_NORMAL, .role = role, .free = free, .backup = backup,
		.misbalance_pct = RD_FO_DEFAULT_MAX_LEASE_MISBALANCE,
		.ownership_pct = RD_FO_DEFAULT_MAX_LEASE_OWNERSHIP, .timer = timer,
	};
}

static void test_pool_balance(void)
{
	rd_fo_pool_lease_t own[300];
	bool move[300];
	rd_fo_balance_t r;
	rd_fo_balance_in_t in;
	uint32_t n;

	/* isc-failover.pcap: 231 virgin FREE leases on the primary when it
	 * enters NORMAL; it sends 115 BNDUPD(BACKUP), oldest first */
	memset(own, 0, sizeof(own));
	in = bal(P, 231, 0, false);
	n = rd_fo_pool_balance(&in, own, 231, move, &r);
	ok(n == 115 && r.lts0 == 115 && r.lts == 0 && move[0] && move[114] && !move[115] && !r.imbalanced,
	   "capture: 231 virgin FREE leases, the first 115 go to BACKUP");
	in = bal(S, 231, 0, false);
	n = rd_fo_pool_balance(&in, own, 0, move, &r);
	ok(n == 0 && r.lts0 == -115 && r.thresh == 35 && r.hold == 23 && !r.send_poolreq,
	   "the secondary, empty-handed on entering NORMAL: nothing to give, no POOLREQ");
	in.timer = true;
	rd_fo_pool_balance(&in, own, 0, move, &r);
	ok(r.send_poolreq && r.panic == -70, "... but its timer run (lts -115 < -70) sends POOLREQ");

	/* 100 FREE on the primary: lts 50, hold 10, thresh 15 */
	in = bal(P, 100, 0, false);
	for (int i = 0; i < 100; i++)
		own[i] = (rd_fo_pool_lease_t){ .peer_wants = true, .used = true };
	n = rd_fo_pool_balance(&in, own, 100, move, &r);
	ok(n == 60 && r.lts == -10, "pass 1: leases whose client hashes to the peer, until lts <= -hold (60)");
	for (int i = 0; i < 100; i++)
		own[i] = (rd_fo_pool_lease_t){ .peer_wants = false, .used = true };
	n = rd_fo_pool_balance(&in, own, 100, move, &r);
	ok(n == 40 && r.lts == 10 && !r.imbalanced, "pass 2, used leases: until lts <= hold (40)");
	for (int i = 0; i < 100; i++)
		own[i] = (rd_fo_pool_lease_t){ 0 };
	n = rd_fo_pool_balance(&in, own, 100, move, &r);
	ok(n == 50 && r.lts == 0, "pass 2, virgin leases: until lts <= 0 (50)");

	/* the two passes together: 5 peer-hashed leases at the end of the list
	 * go first, then the oldest; the run stops at the first used lease
	 * once lts <= hold */
	for (int i = 0; i < 100; i++)
		own[i] = (rd_fo_pool_lease_t){ .used = i >= 20, .peer_wants = i >= 95 };
	n = rd_fo_pool_balance(&in, own, 100, move, &r);
	ok(n == 40 && move[95] && move[99] && move[0] && move[19] && move[20] && move[34] && !move[35] &&
		   !move[94] && r.lts == 10,
	   "mixed: 5 by hash, then 20 virgin, then 15 used ones down to hold: 40, lts 10");
	for (int i = 0; i < 100; i++)
		own[i] = (rd_fo_pool_lease_t){ .used = i < 50 };
	n = rd_fo_pool_balance(&in, own, 100, move, &r);
	ok(n == 40 && !move[40] && !move[50],
	   "ISC stops at the first lease that meets its bound, even with virgin ones behind it");

	/* thresholds */
	in = bal(P, 0, 3, true);
	rd_fo_pool_balance(&in, NULL, 0, NULL, &r);
	ok(r.thresh == 0 && r.panic == -1 && r.lts0 == -1 && !r.send_poolreq,
	   "thresh 0: panic at -1, and lts -1 is not below it");
	in = bal(P, 0, 5, true);
	rd_fo_pool_balance(&in, NULL, 0, NULL, &r);
	ok(r.thresh == 1 && r.panic == -2 && r.lts0 == -2 && !r.send_poolreq,
	   "5 leases all BACKUP: lts -2, no panic");
	in = bal(P, 0, 6, true);
	rd_fo_pool_balance(&in, NULL, 0, NULL, &r);
	ok(r.lts0 == -3 && r.send_poolreq, "6: lts -3 < -2, POOLREQ");
	in = bal(P, 1, 0, false);
	rd_fo_pool_balance(&in, NULL, 0, NULL, &r);
	ok(r.lts0 == 0, "(1 - 0) / 2 truncates to 0, as in C");
	in = bal(P, 0, 1, false);
	rd_fo_pool_balance(&in, NULL, 0, NULL, &r);
	ok(r.lts0 == 0, "(0 - 1) / 2 truncates toward zero");
	in = bal(P, 200, 0, false);
	for (int i = 0; i < 10; i++)
		own[i] = (rd_fo_pool_lease_t){ .used = true };
	rd_fo_pool_balance(&in, own, 10, move, &r);
	ok(r.moved == 10 && r.lts == 90 && r.thresh == 30 && r.imbalanced,
	   "a short list leaves the pool IMBALANCED (lts 90 > thresh 30)");

	in = bal(P, 100, 0, true);
	in.my_state = RD_FO_ST_COMM_INTERRUPTED;
	for (int i = 0; i < 100; i++)
		own[i] = (rd_fo_pool_lease_t){ 0 };
	move[0] = true;
	n = rd_fo_pool_balance(&in, own, 100, move, &r);
	ok(n == 0 && !move[0] && !r.send_poolreq, "outside NORMAL nothing moves and no POOLREQ goes out");

	/* MAC affinity limit on the primary */
	ok(rd_fo_secondary_not_hoarding(50, 50, 10) && rd_fo_secondary_not_hoarding(42, 58, 10) &&
		   !rd_fo_secondary_not_hoarding(40, 60, 10) && !rd_fo_secondary_not_hoarding(0, 0, 10),
	   "secondary_not_hoarding: (FREE - BACKUP) / 2 > -hold");
}

static void test_schedule(void)
{
	rd_fo_sched_in_t in = {
		.now = 100000, .role = P, .has_free = true, .has_backup = true,
		.oldest_free_ends = 100000 - 1000, .oldest_backup_ends = 100000 - 2000,
		.misbalance_pct = 15, .min_balance = 60, .max_balance = 3600,
	};

	/* est1 = 1000 x 15% = 150, doubled (primary's own list) = 300;
	 * est2 = 2000 x 15% = 300: 300 */
	is_int(rd_fo_balance_next(&in), 100300, "the oldest free lease's age x misbalance%%");
	in.role = S;
	is_int(rd_fo_balance_next(&in), 100150, "the secondary doubles its own (BACKUP) estimate instead");
	in.oldest_free_ends = 0;   /* virgin leases: age "now" */
	in.oldest_backup_ends = 0;
	is_int(rd_fo_balance_next(&in), 103600, "capped at max-balance");
	in.oldest_free_ends = in.oldest_backup_ends = 100000;
	in.last_balance = 99990;
	is_int(rd_fo_balance_next(&in), 100050, "at least min-balance after the last run");
	in.jitter = 4;
	is_int(rd_fo_balance_next(&in), 100054, "plus the jitter");
	in.scheduled = 100054;
	is_int(rd_fo_balance_next(&in), 0, "never later than, or the same as, what is planned");
	in.scheduled = 100055;
	is_int(rd_fo_balance_next(&in), 100054, "earlier: moved");
	ok(rd_fo_balance_next(NULL) == 0, "NULL");
}

int main(void)
{
	plan_lazy();
	test_hash();
	test_bucket();
	test_hba();
	test_secs();
	test_lease_time();
	test_times();
	test_pool_balance();
	test_schedule();
	return done_testing();
}
