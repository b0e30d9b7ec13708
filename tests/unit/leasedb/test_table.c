/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_table.c — the RCU lease table (leasedb/table.c): compare-and-swap
 * publishing, both indexes, immutability of replaced versions inside a read
 * section, the claim bitmap (single- and multi-threaded), expiry, iteration,
 * per-pool stats, bulk load and a leak-free rd_table_free (LeakSanitizer in
 * the sanitizer build).  Every thread registers with RCU first, as table.h
 * requires.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "rackdhcp/table.h"
#include "table_fixture.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static rd_lease_t *mk(uint32_t addr, uint8_t state, unsigned mac, uint32_t ends)
{
	return fixture_lease(addr, state, mac, ends);
}

static size_t key_of(unsigned mac, uint8_t *key)
{
	return fixture_key(mac, key);
}

static rd_lease_t *edit(const rd_lease_t *l)
{
	rd_lease_t *d = rd_lease_dup(l, rd_lease_cid(l), l->cid_len, rd_lease_host(l), l->host_len);
	if (!d)
		bail_out("out of memory");
	return d;
}

static void test_replace(void)
{
	rd_table_t *t = rd_table_new(16);
	ok(t != NULL, "table created");
	if (!t)
		return;
	uint32_t a = IP(10, 0, 0, 5);

	rcu_read_lock();
	ok(rd_table_by_addr(t, a) == NULL, "empty table: no lease");
	rd_lease_t *v1 = mk(a, RD_LEASE_ACTIVE, 1, 1000);
	is_int(rd_table_replace(t, NULL, v1), 0, "insert with old=NULL");
	ok(rd_table_by_addr(t, a) == v1, "found by address");
	ok(v1->seq > 0, "seq stamped");
	is_int((long long)rd_table_count(t), 1, "count 1");

	rd_lease_t *dupe = mk(a, RD_LEASE_ACTIVE, 2, 1000);
	is_int(rd_table_replace(t, NULL, dupe), RD_ECONFLICT, "insert over an existing lease conflicts");

	rd_lease_t *v2 = edit(v1);
	v2->ends = 2000;
	uint64_t seq1 = v1->seq;
	is_int(rd_table_replace(t, v1, v2), 0, "replace current version");
	ok(rd_table_by_addr(t, a) == v2, "new version is current");
	ok(v2->seq > seq1, "seq strictly increases");
	/* Immutability: v1 is retired but still readable in this read section. */
	ok(v1->ends == 1000 && v1->addr == a && v1->state == RD_LEASE_ACTIVE,
	   "old version still intact inside the read section");
	is_int(rd_table_replace(t, v1, dupe), RD_ECONFLICT, "replace with a stale old conflicts");
	ok(rd_table_by_addr(t, a) == v2, "failed CAS changed nothing");
	is_int((long long)rd_table_count(t), 1, "count still 1");

	rd_lease_t *other = mk(a + 1, RD_LEASE_ACTIVE, 1, 1000);
	is_int(rd_table_replace(t, v2, other), RD_EINVAL, "old and new at different addresses refused");
	is_int(rd_table_replace(t, NULL, NULL), RD_EINVAL, "NULL/NULL refused");

	is_int(rd_table_replace(t, v2, NULL), 0, "delete");
	ok(rd_table_by_addr(t, a) == NULL, "deleted");
	is_int((long long)rd_table_count(t), 0, "count 0");
	uint8_t key[RD_LEASE_KEY_MAX];
	size_t kl = key_of(1, key);
	ok(rd_table_by_client(t, key, kl, 0, 0) == NULL, "deleted from the client index too");
	rcu_read_unlock();
	rd_lease_free(dupe);
	rd_lease_free(other);
	rd_table_free(t);
}

static int count_cb(void *ctx, const rd_lease_t *l)
{
	(void)l;
	(*(int *)ctx)++;
	return 0;
}

static void test_by_client(void)
{
	rd_table_t *t = rd_table_new(0);
	uint8_t key[RD_LEASE_KEY_MAX];
	size_t kl = key_of(7, key);
	uint32_t net0 = IP(10, 0, 0, 0), net1 = IP(10, 0, 1, 0), mask = 0xffffff00;

	rcu_read_lock();
	rd_lease_t *old0 = mk(net0 + 10, RD_LEASE_EXPIRED, 7, 50);
	rd_lease_t *act0 = mk(net0 + 20, RD_LEASE_ACTIVE, 7, 500);
	rd_lease_t *exp1 = mk(net1 + 30, RD_LEASE_EXPIRED, 7, 50);
	rd_lease_t *rel1 = mk(net1 + 31, RD_LEASE_RELEASED, 7, 60);
	rd_lease_t *stranger = mk(net1 + 40, RD_LEASE_ACTIVE, 8, 500);
	ok(!rd_table_replace(t, NULL, act0) && !rd_table_replace(t, NULL, old0) &&
	   !rd_table_replace(t, NULL, exp1) && !rd_table_replace(t, NULL, rel1) &&
	   !rd_table_replace(t, NULL, stranger), "five leases inserted");

	ok(rd_table_by_client(t, key, kl, net0, mask) == act0,
	   "subnet 0: ACTIVE beats a newer EXPIRED of the same client");
	ok(rd_table_by_client(t, key, kl, net1, mask) == rel1,
	   "subnet 1: newest previous binding (RELEASED after EXPIRED)");
	ok(rd_table_by_client(t, key, kl, IP(10, 0, 2, 0), mask) == NULL, "no lease in subnet 2");
	ok(rd_table_by_client(t, key, kl, 0, 0) == act0, "any subnet: the ACTIVE one");
	int n = 0;
	is_int(rd_table_foreach_client(t, key, kl, count_cb, &n), 0, "foreach_client");
	is_int(n, 4, "client has four leases");
	ok(rd_table_by_client(t, key, kl - 1, 0, 0) == NULL, "shorter key does not match");
	ok(rd_table_by_client(t, NULL, 0, 0, 0) == NULL, "NULL key");

	/* The address passes to another client: the old key loses it. */
	rd_lease_t *moved = edit(rel1);
	moved->chaddr[5] = 9;
	moved->state = RD_LEASE_ACTIVE;
	is_int(rd_table_replace(t, rel1, moved), 0, "address handed to client 9");
	ok(rd_table_by_client(t, key, kl, net1, mask) == exp1, "client 7 falls back to its other previous address");
	uint8_t key9[RD_LEASE_KEY_MAX];
	size_t kl9 = key_of(9, key9);
	ok(rd_table_by_client(t, key9, kl9, net1, mask) == moved, "client 9 found");

	/* Client-id keys. */
	rd_lease_t *c = rd_lease_new(net0 + 99, (const uint8_t *)"\x00myid", 5, "h", 1);
	c->flags |= RD_LEASE_F_KEY_CID;
	c->state = RD_LEASE_ACTIVE;
	is_int(rd_table_replace(t, NULL, c), 0, "client-id lease inserted");
	ok(rd_table_by_client(t, (const uint8_t *)"\x00myid", 5, net0, mask) == c, "found by client-id");
	rcu_read_unlock();
	rd_table_free(t);
}

static void test_claims(void)
{
	rd_table_t *t = rd_table_new(0);
	uint32_t s = IP(192, 168, 0, 10), e = IP(192, 168, 0, 109);   /* 100 addresses */
	uint32_t a;
	static uint8_t seen[100];

	is_int(rd_table_claim(t, s, e, 0, &a), RD_ENOPOOL, "claim with no pool");
	is_int(rd_table_add_pool(t, s, e, &seen), 0, "pool added");
	is_int(rd_table_add_pool(t, e, e + 10, NULL), RD_EINVAL, "overlapping pool refused");
	is_int(rd_table_add_pool(t, e + 10, e + 1, NULL), RD_EINVAL, "start > end refused");
	is_int(rd_table_add_pool(t, IP(192, 168, 0, 1), IP(192, 168, 0, 5), NULL), 0, "second pool below");

	int dup = 0, outside = 0, n = 0;
	while (rd_table_claim(t, s, e, 0, &a) == 0) {
		if (a < s || a > e) {
			outside++;
			continue;
		}
		dup += seen[a - s]++ != 0;
		n++;
	}
	is_int(n, 100, "100 claims succeed");
	is_int(dup, 0, "no address twice");
	is_int(outside, 0, "none outside the range");
	is_int(rd_table_claim(t, s, e, 0, &a), RD_ENOADDR, "pool exhausted");
	is_int(rd_table_claim_addr(t, s + 3), RD_ECONFLICT, "claim_addr of a claimed address");
	is_int(rd_table_unclaim(t, s + 3), 0, "unclaim");
	is_int(rd_table_claim(t, s, e, 0, &a), 0, "claim after unclaim");
	is_int(a, s + 3, "gets the returned address");
	is_int(rd_table_claim_addr(t, IP(1, 2, 3, 4)), RD_ENOPOOL, "claim_addr outside pools");
	is_int(rd_table_unclaim(t, IP(1, 2, 3, 4)), RD_ENOPOOL, "unclaim outside pools");

	/* Range clipped to a sub-range, hint honoured. */
	is_int(rd_table_claim(t, IP(192, 168, 0, 2), IP(192, 168, 0, 3), IP(192, 168, 0, 3), &a), 0,
	       "claim in sub-range with hint");
	is_int(a, IP(192, 168, 0, 3), "hint taken");
	is_int(rd_table_claim(t, IP(192, 168, 0, 2), IP(192, 168, 0, 3), IP(192, 168, 0, 3), &a), 0,
	       "hint busy: another address in range");
	is_int(a, IP(192, 168, 0, 2), "the other one");
	is_int(rd_table_claim(t, IP(192, 168, 0, 2), IP(192, 168, 0, 3), 0, &a), RD_ENOADDR,
	       "sub-range exhausted though the pool is not");
	is_int(rd_table_claim(t, IP(192, 168, 0, 0), IP(192, 168, 0, 255), 0, &a), 0,
	       "range spanning two pools");
	ok(a == IP(192, 168, 0, 1) || a == IP(192, 168, 0, 4) || a == IP(192, 168, 0, 5),
	   "from the pool with space");

	rd_table_pool_stats_t st;
	is_int(rd_table_pool_stats(t, s + 50, &st), 0, "pool stats");
	ok(st.start == s && st.end == e && st.size == 100 && st.tag == &seen, "stats range and tag");
	is_int((long long)st.unavailable, 100, "all 100 unavailable");
	is_int((long long)st.leases, 0, "no leases yet");
	rd_table_free(t);
}

static void test_bitmap_follows_publish(void)
{
	rd_table_t *t = rd_table_new(0);
	uint32_t s = IP(10, 1, 0, 0), e = IP(10, 1, 0, 9);
	uint32_t a;

	rd_table_add_pool(t, s, e, NULL);
	rcu_read_lock();
	/* Publishing ACTIVE without a claim (e.g. from the failover peer). */
	rd_lease_t *l = mk(s, RD_LEASE_ACTIVE, 1, 100);
	rd_table_replace(t, NULL, l);
	is_int(rd_table_claim_addr(t, s), RD_ECONFLICT, "ACTIVE address not claimable");
	is_int(rd_table_unclaim(t, s), 0, "unclaim of an ACTIVE address...");
	is_int(rd_table_claim_addr(t, s), RD_ECONFLICT, "...keeps it taken");
	rd_lease_t *x = edit(l);
	x->state = RD_LEASE_EXPIRED;
	rd_table_replace(t, l, x);
	is_int(rd_table_claim_addr(t, s), 0, "EXPIRED address claimable");
	rd_table_unclaim(t, s);

	rd_lease_t *b = mk(s + 1, RD_LEASE_BACKUP, 0, 0);
	rd_table_replace(t, NULL, b);
	is_int(rd_table_claim_addr(t, s + 1), RD_ECONFLICT, "BACKUP address not claimable");
	rd_lease_t *r = mk(s + 2, RD_LEASE_FREE, 0, 0);
	r->flags |= RD_LEASE_F_RESERVED;
	rd_table_replace(t, NULL, r);
	is_int(rd_table_claim_addr(t, s + 2), RD_ECONFLICT, "reserved address not claimable");
	rd_lease_t *ab = mk(s + 3, RD_LEASE_ABANDONED, 0, 0);
	rd_table_replace(t, NULL, ab);
	is_int(rd_table_claim_addr(t, s + 3), RD_ECONFLICT, "ABANDONED address not claimable");
	rd_lease_t *f = mk(s + 4, RD_LEASE_FREE, 0, 0);
	rd_table_replace(t, NULL, f);
	rd_lease_t *rl = mk(s + 5, RD_LEASE_RELEASED, 5, 0);
	rd_table_replace(t, NULL, rl);
	rcu_read_unlock();

	/* Allocation prefers addresses without a previous client: s (expired,
	 * client 1) and s+5 (released, client 5) come last. */
	uint32_t got[10];
	int n = 0;
	while (n < 10 && rd_table_claim(t, s, e, 0, &a) == 0)
		got[n++] = a;
	is_int(n, 7, "seven available (10 minus BACKUP, reserved, ABANDONED)");
	bool late_ok = n == 7 && ((got[5] == s && got[6] == s + 5) || (got[5] == s + 5 && got[6] == s));
	ok(late_ok, "previous clients' addresses handed out last");
	is_int(rd_table_claim(t, s, e, 0, &a), RD_ENOADDR, "then exhausted");

	rd_table_pool_stats_t st;
	rd_table_pool_stats(t, s, &st);
	is_int((long long)st.leases, 6, "six leases in pool");
	ok(st.by_state[RD_LEASE_EXPIRED] == 1 && st.by_state[RD_LEASE_BACKUP] == 1 &&
	   st.by_state[RD_LEASE_FREE] == 2 && st.by_state[RD_LEASE_ABANDONED] == 1 &&
	   st.by_state[RD_LEASE_RELEASED] == 1 && st.by_state[RD_LEASE_ACTIVE] == 0,
	   "per-state counts");
	is_int((long long)st.unavailable, 10, "all unavailable");
	rd_table_free(t);
}

/* ---- concurrency: many threads claiming from one small pool */

#define CLAIM_THREADS 4
#define CLAIM_POOL    1000   /* not a multiple of 64 on purpose */

struct claim_ctx {
	rd_table_t *t;
	uint32_t start;
	uint32_t got[CLAIM_POOL];
	size_t n;
	bool publish;
	int conflicts;
};

static void *claim_thread(void *arg)
{
	struct claim_ctx *c = arg;
	uint32_t a;

	rcu_register_thread();
	while (rd_table_claim(c->t, c->start, c->start + CLAIM_POOL - 1, 0, &a) == 0) {
		if (c->n < CLAIM_POOL)
			c->got[c->n++] = a;
		if (c->publish) {
			rcu_read_lock();
			const rd_lease_t *cur = rd_table_by_addr(c->t, a);
			rd_lease_t *nv = mk(a, RD_LEASE_ACTIVE, a, 1000);
			if (rd_table_replace(c->t, cur, nv)) {
				c->conflicts++;
				rd_lease_free(nv);
			}
			rcu_read_unlock();
		}
	}
	rcu_unregister_thread();
	return NULL;
}

static void run_claim_race(bool publish)
{
	rd_table_t *t = rd_table_new(0);
	uint32_t s = IP(172, 16, 0, 7);
	static struct claim_ctx ctx[CLAIM_THREADS];
	pthread_t th[CLAIM_THREADS];
	static uint8_t seen[CLAIM_POOL];

	memset(seen, 0, sizeof(seen));
	rd_table_add_pool(t, s, s + CLAIM_POOL - 1, NULL);
	for (int i = 0; i < CLAIM_THREADS; i++) {
		memset(&ctx[i], 0, sizeof(ctx[i]));
		ctx[i].t = t;
		ctx[i].start = s;
		ctx[i].publish = publish;
		pthread_create(&th[i], NULL, claim_thread, &ctx[i]);
	}
	size_t total = 0;
	int dup = 0, conflicts = 0;
	for (int i = 0; i < CLAIM_THREADS; i++) {
		pthread_join(th[i], NULL);
		total += ctx[i].n;
		conflicts += ctx[i].conflicts;
		for (size_t j = 0; j < ctx[i].n; j++)
			dup += seen[ctx[i].got[j] - s]++ != 0;
	}
	const char *what = publish ? "claim+publish" : "claim";
	is_int((long long)total, CLAIM_POOL, "%s: %d threads claimed exactly the pool size", what, CLAIM_THREADS);
	is_int(dup, 0, "%s: every address claimed exactly once", what);
	uint32_t a;
	is_int(rd_table_claim(t, s, s + CLAIM_POOL - 1, 0, &a), RD_ENOADDR, "%s: pool exhausted", what);
	if (publish) {
		is_int(conflicts, 0, "%s: no CAS conflicts on distinct addresses", what);
		is_int((long long)rd_table_count(t), CLAIM_POOL, "%s: all published", what);
		rd_table_pool_stats_t st;
		rd_table_pool_stats(t, s, &st);
		is_int((long long)st.by_state[RD_LEASE_ACTIVE], CLAIM_POOL, "%s: stats count every ACTIVE", what);
	}
	rd_table_free(t);
}

/* ---- concurrency: racing writers on the same addresses */

struct race_ctx {
	rd_table_t *t;
	uint32_t base;
	int wins;
};

static void *race_thread(void *arg)
{
	struct race_ctx *c = arg;

	rcu_register_thread();
	for (int i = 0; i < 20000; i++) {
		uint32_t a = c->base + (uint32_t)(i % 8);
		rcu_read_lock();
		const rd_lease_t *cur = rd_table_by_addr(c->t, a);
		rd_lease_t *nv = cur ? edit(cur) : mk(a, RD_LEASE_ACTIVE, 1, 0);
		/* Alternate the client so the client index is exercised too. */
		nv->chaddr[5] = (uint8_t)(i & 3);
		nv->state = (i & 1) ? RD_LEASE_ACTIVE : RD_LEASE_EXPIRED;
		if (rd_table_replace(c->t, cur, nv) == 0)
			c->wins++;
		else
			rd_lease_free(nv);
		rcu_read_unlock();
	}
	rcu_unregister_thread();
	return NULL;
}

static int check_client_index(void *ctx, const rd_lease_t *l)
{
	rd_table_t *t = ctx;
	uint8_t key[RD_LEASE_KEY_MAX];
	size_t kl = rd_lease_key(l, key);
	/* The current version must be reachable through its own key. */
	bool found = false;
	const rd_lease_t *b = rd_table_by_client(t, key, kl, l->addr, 0xffffffff);
	found = b == l;
	return found ? 0 : 1;
}

static void test_write_race(void)
{
	rd_table_t *t = rd_table_new(0);
	struct race_ctx c[3];
	pthread_t th[3];

	rd_table_add_pool(t, IP(10, 9, 0, 0), IP(10, 9, 0, 255), NULL);
	for (int i = 0; i < 3; i++) {
		c[i] = (struct race_ctx){ t, IP(10, 9, 0, 0), 0 };
		pthread_create(&th[i], NULL, race_thread, &c[i]);
	}
	int wins = 0;
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		wins += c[i].wins;
	}
	ok(wins > 0, "racing writers: %d CAS wins", wins);
	is_int((long long)rd_table_count(t), 8, "racing writers: one version per address");
	is_int(rd_table_foreach(t, check_client_index, t), 0,
	       "racing writers: every current version is in the client index");
	int n = 0;
	uint8_t key[RD_LEASE_KEY_MAX];
	for (unsigned m = 0; m < 4; m++) {
		size_t kl = key_of(m, key);
		rcu_read_lock();
		rd_table_foreach_client(t, key, kl, count_cb, &n);
		rcu_read_unlock();
	}
	is_int(n, 8, "racing writers: no stale entries left in the client index");
	rd_table_pool_stats_t st;
	rd_table_pool_stats(t, IP(10, 9, 0, 0), &st);
	is_int((long long)st.leases, 8, "racing writers: pool counts 8 leases");
	rd_table_free(t);
}

/* ---- expiry */

struct exp_ctx {
	int calls;
	bool shape_ok;
};

static void exp_cb(void *ctx, const rd_lease_t *o, const rd_lease_t *n)
{
	struct exp_ctx *c = ctx;
	c->calls++;
	if (!(o->state == RD_LEASE_ACTIVE && n->state == RD_LEASE_EXPIRED && o->addr == n->addr &&
	      n->ends == o->ends && n->seq > o->seq && n->hlen == o->hlen))
		c->shape_ok = false;
}

static void test_expire(void)
{
	rd_table_t *t = rd_table_new(0);
	uint32_t s = IP(10, 2, 0, 0);
	struct exp_ctx c = { 0, true };

	rd_table_add_pool(t, s, s + 9, NULL);
	rcu_read_lock();
	rd_table_replace(t, NULL, mk(s, RD_LEASE_ACTIVE, 1, 100));
	rd_table_replace(t, NULL, mk(s + 1, RD_LEASE_ACTIVE, 2, 200));
	rd_table_replace(t, NULL, mk(s + 2, RD_LEASE_ACTIVE, 3, 0));   /* infinite */
	rd_table_replace(t, NULL, mk(s + 3, RD_LEASE_RELEASED, 4, 50));
	rcu_read_unlock();

	is_int((long long)rd_table_expire(t, 99, exp_cb, &c), 0, "nothing expires at 99");
	is_int((long long)rd_table_expire(t, 100, exp_cb, &c), 1, "one expires exactly at ends=100");
	is_int(c.calls, 1, "callback called once");
	ok(c.shape_ok, "callback gets ACTIVE -> EXPIRED, same client, newer seq");
	rcu_read_lock();
	const rd_lease_t *l = rd_table_by_addr(t, s);
	ok(l && l->state == RD_LEASE_EXPIRED, "lease is EXPIRED");
	uint8_t key[RD_LEASE_KEY_MAX];
	size_t kl = key_of(1, key);
	ok(rd_table_by_client(t, key, kl, s, 0xffffff00) == l, "expired lease still found by client");
	rcu_read_unlock();
	is_int(rd_table_claim_addr(t, s), 0, "expired address is claimable");
	is_int(rd_table_claim_addr(t, s + 1), RD_ECONFLICT, "still-active one is not");

	is_int((long long)rd_table_expire(t, 150, exp_cb, &c), 0, "nothing at 150");
	/* A renewal to an earlier end than anything known must be noticed. */
	rcu_read_lock();
	const rd_lease_t *l1 = rd_table_by_addr(t, s + 1);
	rd_lease_t *r = edit(l1);
	r->ends = 160;
	rd_table_replace(t, l1, r);
	rcu_read_unlock();
	is_int((long long)rd_table_expire(t, 160, exp_cb, &c), 1, "shortened lease expires at its new end");
	is_int((long long)rd_table_expire(t, 4000000000u, exp_cb, &c), 0, "infinite lease never expires");
	is_int((long long)rd_table_expire(t, 4000000000u, NULL, NULL), 0, "NULL callback accepted");

	rd_table_pool_stats_t st;
	rd_table_pool_stats(t, s, &st);
	ok(st.by_state[RD_LEASE_ACTIVE] == 1 && st.by_state[RD_LEASE_EXPIRED] == 2 &&
	   st.by_state[RD_LEASE_RELEASED] == 1, "stats after expiry");
	rd_table_free(t);
}

/* ---- load, foreach, late pool */

static int state_cb(void *ctx, const rd_lease_t *l)
{
	size_t *by = ctx;
	by[l->state & 7]++;
	return 0;
}

static int stop_cb(void *ctx, const rd_lease_t *l)
{
	(void)l;
	return ++*(int *)ctx == 3 ? 42 : 0;
}

static void test_load(void)
{
	enum { N = 100000 };
	rd_table_t *t = rd_table_new(N);
	uint32_t base = IP(10, 64, 0, 0);
	int bad = 0;

	for (uint32_t i = 0; i < N; i++) {
		rd_lease_t *l = mk(base + i, (i % 4) ? RD_LEASE_ACTIVE : RD_LEASE_FREE,
				   (i % 4) ? i + 1 : 0, 1000 + i);
		l->seq = i % 10 == 0 ? 5000000 + i : 0;
		if (rd_table_load(t, l))
			bad++;
	}
	is_int(bad, 0, "loaded %d leases", N);
	is_int((long long)rd_table_count(t), N, "count");

	int miss = 0;
	uint8_t key[RD_LEASE_KEY_MAX];
	rcu_read_lock();
	for (uint32_t i = 0; i < N; i++) {
		const rd_lease_t *l = rd_table_by_addr(t, base + i);
		if (!l || l->addr != base + i)
			miss++;
		if (i % 4) {
			size_t kl = key_of(i + 1, key);
			if (rd_table_by_client(t, key, kl, 0, 0) != l)
				miss++;
		}
	}
	rcu_read_unlock();
	is_int(miss, 0, "every loaded lease found by address and client");

	/* Reload one address: replaces, keeps the loaded seq. */
	rd_lease_t *again = mk(base + 1, RD_LEASE_EXPIRED, 2, 5);
	again->seq = 7;
	rd_table_load(t, again);
	is_int((long long)rd_table_count(t), N, "reload replaces, count unchanged");
	rcu_read_lock();
	ok(rd_table_by_addr(t, base + 1) == again && again->seq == 7, "reloaded version current, seq kept");
	rd_lease_t *nv = mk(base + N, RD_LEASE_ACTIVE, 0, 0);
	rd_table_replace(t, NULL, nv);
	ok(nv->seq > 5000000 + N - 10, "new seq is past every loaded one");
	rcu_read_unlock();

	/* A pool registered after loading accounts what is already there. */
	rd_table_add_pool(t, base, base + 1023, NULL);
	rd_table_pool_stats_t st;
	rd_table_pool_stats(t, base, &st);
	is_int((long long)st.leases, 1024, "late pool: 1024 leases accounted");
	is_int((long long)st.by_state[RD_LEASE_FREE], 256, "late pool: 256 FREE");
	is_int((long long)st.by_state[RD_LEASE_ACTIVE], 767, "late pool: 767 ACTIVE");
	is_int((long long)st.unavailable, 767, "late pool: only ACTIVE ones unavailable");

	size_t by[8] = { 0 };
	is_int(rd_table_foreach(t, state_cb, by), 0, "foreach");
	is_int((long long)(by[RD_LEASE_FREE] + by[RD_LEASE_ACTIVE] + by[RD_LEASE_EXPIRED]), N + 1,
	       "foreach visits every lease");
	is_int((long long)by[RD_LEASE_EXPIRED], 1, "one EXPIRED");
	int k = 0;
	is_int(rd_table_foreach(t, stop_cb, &k), 42, "foreach stops on non-zero");
	is_int(k, 3, "after three calls");

	size_t n = rd_table_expire(t, 1000 + N, NULL, NULL);
	is_int((long long)n, N * 3 / 4 - 1, "bulk expiry of every ACTIVE loaded lease");
	rd_table_free(t);   /* LeakSanitizer checks every version is freed */
}

/* ---- the BACKUP set (rd_table_claim_backup) */

static void test_backup_claims(void)
{
	rd_table_t *t = rd_table_new(0);
	uint32_t s = IP(10, 3, 0, 0), e = IP(10, 3, 0, 15);
	uint32_t a;

	is_int(rd_table_claim_backup(t, s, e, &a), RD_ENOPOOL, "backup claim with no pool");
	rd_table_add_pool(t, s, e, NULL);
	is_int(rd_table_claim_backup(t, s, e, &a), RD_ENOADDR, "no BACKUP lease: nothing");
	rcu_read_lock();
	/* s..s+7 BACKUP, s+8 BACKUP but reserved, s+9 FREE, s+10 ACTIVE. */
	for (uint32_t i = 0; i < 8; i++)
		rd_table_replace(t, NULL, mk(s + i, RD_LEASE_BACKUP, 0, 0));
	rd_lease_t *r = mk(s + 8, RD_LEASE_BACKUP, 0, 0);
	r->flags |= RD_LEASE_F_RESERVED;
	rd_table_replace(t, NULL, r);
	rd_table_replace(t, NULL, mk(s + 9, RD_LEASE_FREE, 0, 0));
	rd_table_replace(t, NULL, mk(s + 10, RD_LEASE_ACTIVE, 3, 100));
	rcu_read_unlock();

	uint8_t seen[16] = { 0 };
	int n = 0, bad = 0;
	while (rd_table_claim_backup(t, s, e, &a) == 0) {
		n++;
		bad += a < s || a > s + 7 || seen[a - s]++;
	}
	is_int(n, 8, "eight BACKUP addresses claimed");
	is_int(bad, 0, "each once, none reserved, FREE or ACTIVE");
	is_int(rd_table_claim(t, s, e, 0, &a), 0, "an ordinary claim...");
	ok(a == s + 9 || a > s + 10, "...never returns a BACKUP address (got .%u)", a & 255);
	rd_table_unclaim(t, a);

	/* Unclaim gives a BACKUP address back to the BACKUP set. */
	is_int(rd_table_unclaim(t, s + 3), 0, "unclaim a BACKUP claim");
	is_int(rd_table_claim_backup(t, s, e, &a), 0, "claimable again");
	is_int(a, s + 3, "the same address");
	is_int(rd_table_claim_addr(t, s + 3), RD_ECONFLICT, "its busy bit stayed set");

	/* A claimed BACKUP address given to a client (ACTIVE) leaves the set
	 * for good, even if the claim is then given back. */
	rcu_read_lock();
	const rd_lease_t *b = rd_table_by_addr(t, s + 3);
	rd_lease_t *x = edit(b);
	x->state = RD_LEASE_ACTIVE;
	x->ends = 1000;
	is_int(rd_table_replace(t, b, x), 0, "BACKUP -> ACTIVE");
	rcu_read_unlock();
	rd_table_unclaim(t, s + 3);
	is_int(rd_table_claim_backup(t, s, e, &a), RD_ENOADDR, "ACTIVE is not in the BACKUP set");

	/* A peer update turning FREE into BACKUP adds the address; BACKUP
	 * into FREE (pool balancing back) removes it. */
	rcu_read_lock();
	const rd_lease_t *f = rd_table_by_addr(t, s + 9);
	x = edit(f);
	x->state = RD_LEASE_BACKUP;
	rd_table_replace(t, f, x);
	rcu_read_unlock();
	is_int(rd_table_claim_backup(t, s, e, &a), 0, "FREE -> BACKUP joins the set");
	is_int(a, s + 9, "that address");
	rd_table_unclaim(t, s + 9);
	rcu_read_lock();
	b = rd_table_by_addr(t, s + 9);
	x = edit(b);
	x->state = RD_LEASE_FREE;
	rd_table_replace(t, b, x);
	rcu_read_unlock();
	is_int(rd_table_claim_backup(t, s, e, &a), RD_ENOADDR, "BACKUP -> FREE leaves it");
	is_int(rd_table_claim(t, s + 9, s + 9, 0, &a), 0, "and the FREE side has it");
	rd_table_free(t);

	/* Leases loaded before their pool exists: the new pool's blocks are
	 * seeded with the BACKUP set too. */
	t = rd_table_new(0);
	for (uint32_t i = 0; i < 4; i++)
		rd_table_load(t, mk(s + i * 4, RD_LEASE_BACKUP, 0, 0));
	rd_table_range_t rg = { .start = s, .end = e };
	is_int(rd_table_set_pools(t, &rg, 1), 0, "pool registered after the load");
	n = 0;
	bad = 0;
	while (rd_table_claim_backup(t, s, e, &a) == 0) {
		n++;
		bad += (a - s) % 4 != 0;
	}
	is_int(n, 4, "the four loaded BACKUP leases are claimable");
	is_int(bad, 0, "and only they");
	rd_table_free(t);
}

/*
 * Two claimers take BACKUP addresses and publish an ACTIVE version over
 * each while a third thread (a failover peer handing addresses over) turns
 * FREE ones into BACKUP.  Every claim must win its CAS (no one else holds
 * the address), no address goes twice, and every address handed over is
 * eventually taken.
 */
#define BK_N 2048
struct bk_ctx {
	rd_table_t *t;
	uint32_t base;
	int claims, cas_lost;
	uint8_t *owner;     /* BK_N entries: which claimer took it (1-based) */
	int id;
	volatile int *feeding;
};

static void *bk_claimer(void *arg)
{
	struct bk_ctx *c = arg;
	uint32_t a;

	rcu_register_thread();
	for (;;) {
		int feeding = __atomic_load_n(c->feeding, __ATOMIC_ACQUIRE);
		if (rd_table_claim_backup(c->t, c->base, c->base + BK_N - 1, &a) != 0) {
			if (!feeding)
				break;
			continue;
		}
		rcu_read_lock();
		const rd_lease_t *cur = rd_table_by_addr(c->t, a);
		if (!cur || cur->state != RD_LEASE_BACKUP) {
			c->cas_lost++;          /* the bit was stale: must not happen here */
		} else {
			rd_lease_t *x = edit(cur);
			x->state = RD_LEASE_ACTIVE;
			x->ends = 1000;
			if (rd_table_replace(c->t, cur, x) == 0) {
				c->claims++;
				if (__atomic_exchange_n(&c->owner[a - c->base], (uint8_t)c->id, __ATOMIC_RELAXED))
					c->cas_lost += 1000;   /* taken twice */
			} else {
				rd_lease_free(x);
				c->cas_lost++;
			}
		}
		rcu_read_unlock();
	}
	rcu_unregister_thread();
	return NULL;
}

static void test_backup_claim_race(void)
{
	rd_table_t *t = rd_table_new(0);
	uint32_t base = IP(10, 4, 0, 0);
	static uint8_t owner[BK_N];
	volatile int feeding = 1;
	struct bk_ctx c[2];
	pthread_t th[2];

	rd_table_add_pool(t, base, base + BK_N - 1, NULL);
	for (uint32_t i = 0; i < BK_N; i++)
		rd_table_load(t, mk(base + i, RD_LEASE_FREE, 0, 0));
	for (int i = 0; i < 2; i++) {
		c[i] = (struct bk_ctx){ .t = t, .base = base, .owner = owner, .id = i + 1, .feeding = &feeding };
		pthread_create(&th[i], NULL, bk_claimer, &c[i]);
	}
	for (uint32_t i = 0; i < BK_N; i++) {
		rcu_read_lock();
		const rd_lease_t *f = rd_table_by_addr(t, base + i);
		rd_lease_t *x = edit(f);
		x->state = RD_LEASE_BACKUP;
		if (rd_table_replace(t, f, x) != 0)
			rd_lease_free(x);
		rcu_read_unlock();
	}
	__atomic_store_n(&feeding, 0, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	is_int(c[0].claims + c[1].claims, BK_N, "every address handed over was taken once (%d + %d)",
	       c[0].claims, c[1].claims);
	is_int(c[0].cas_lost + c[1].cas_lost, 0, "no claim lost its CAS or took an address twice");
	rd_table_pool_stats_t st;
	rd_table_pool_stats(t, base, &st);
	is_int((long long)st.by_state[RD_LEASE_ACTIVE], BK_N, "all ACTIVE in the end");
	rd_table_free(t);
}

int main(void)
{
	plan_lazy();
	rcu_register_thread();
	test_replace();
	test_by_client();
	test_claims();
	test_bitmap_follows_publish();
	run_claim_race(false);
	run_claim_race(true);
	test_write_race();
	test_backup_claims();
	test_backup_claim_race();
	test_expire();
	test_load();
	rd_table_free(NULL);
	rcu_unregister_thread();
	return done_testing();
}
