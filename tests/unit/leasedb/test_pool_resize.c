/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_pool_resize.c — live pool changes in the lease table
 * (rd_table_set_pools): grow, shrink, split, merge, move and remove a pool
 * holding leases and in-flight claims, checking after each change the pool
 * stats, which addresses can be claimed, and that every lease stays; both
 * seeding strategies (lookups, table walk); and a race of several claiming
 * and publishing threads against a thread that keeps changing the pools:
 * no address is ever held by two threads, no claim returns a leased
 * address or one outside the pools of the moment, and the bits and
 * counters are exact when it is over.  Every thread registers with RCU.
 * Also clean under ThreadSanitizer (built by hand with -fsanitize=thread;
 * TSAN_OPTIONS=detect_deadlocks=0 and suppressions for liburcu's own
 * internals and the frees its call_rcu runs, which TSan cannot order).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "rackdhcp/table.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static rd_lease_t *mk(uint32_t addr, uint8_t state, unsigned client)
{
	rd_lease_t *l = rd_lease_new(addr, NULL, 0, NULL, 0);
	if (!l)
		bail_out("out of memory");
	l->state = state;
	l->ends = state == RD_LEASE_ACTIVE ? 100000 : 0;
	if (client) {
		l->htype = 1;
		l->hlen = 6;
		uint8_t hw[6] = { 2, 0, (uint8_t)(client >> 24), (uint8_t)(client >> 16), (uint8_t)(client >> 8),
				  (uint8_t)client };
		memcpy(l->chaddr, hw, 6);
	}
	return l;
}

/* Publish a version of state at addr over whatever is there. */
static void put(rd_table_t *t, uint32_t addr, uint8_t state, unsigned client)
{
	rcu_read_lock();
	const rd_lease_t *cur = rd_table_by_addr(t, addr);
	rd_lease_t *nv = mk(addr, state, client);
	if (rd_table_replace(t, cur, nv))
		bail_out("replace failed");
	rcu_read_unlock();
}

static int state_at(rd_table_t *t, uint32_t addr)
{
	rcu_read_lock();
	const rd_lease_t *l = rd_table_by_addr(t, addr);
	int st = l ? l->state : -1;
	rcu_read_unlock();
	return st;
}

static int set1(rd_table_t *t, uint32_t s, uint32_t e)
{
	rd_table_range_t r = { s, e, NULL };
	return rd_table_set_pools(t, &r, 1);
}

/* Claim everything claimable in [s, e]; count, and flag any in bad[]. */
static int drain(rd_table_t *t, uint32_t s, uint32_t e, const uint32_t *bad, size_t nbad, int *hits)
{
	uint32_t a;
	int n = 0;

	while (rd_table_claim(t, s, e, 0, &a) == 0) {
		n++;
		for (size_t i = 0; i < nbad; i++)
			*hits += a == bad[i];
		if (n > 1 << 20)
			break;
	}
	return n;
}

static void unclaim_range(rd_table_t *t, uint32_t s, uint32_t e)
{
	for (uint64_t a = s; a <= e; a++)
		rd_table_unclaim(t, (uint32_t)a);
}

static void test_resize(void)
{
	rd_table_t *t = rd_table_new(0);
	const uint32_t net = IP(10, 0, 0, 0);
	rd_table_pool_stats_t st;
	uint32_t a;

	is_int(set1(t, net + 100, net + 199), 0, "pool 10.0.0.100-199");
	/* ACTIVE at 110, 160, 170, 180; EXPIRED at 120; a claim in flight at 130. */
	put(t, net + 110, RD_LEASE_ACTIVE, 1);
	put(t, net + 160, RD_LEASE_ACTIVE, 2);
	put(t, net + 170, RD_LEASE_ACTIVE, 3);
	put(t, net + 180, RD_LEASE_ACTIVE, 4);
	put(t, net + 120, RD_LEASE_EXPIRED, 5);
	is_int(rd_table_claim_addr(t, net + 130), 0, "claim 130 in flight");
	rd_table_pool_stats(t, net + 100, &st);
	ok(st.leases == 5 && st.by_state[RD_LEASE_ACTIVE] == 4 && st.unavailable == 5, "before: 5 leases, 5 unavailable");

	/* grow */
	is_int(set1(t, net + 100, net + 249), 0, "grown to 100-249");
	is_int(rd_table_pool_stats(t, net + 240, &st), 0, "stats at a new address");
	ok(st.start == net + 100 && st.end == net + 249 && st.size == 150, "grown range in stats");
	ok(st.leases == 5 && st.by_state[RD_LEASE_ACTIVE] == 4 && st.by_state[RD_LEASE_EXPIRED] == 1,
	   "grown: the counters carried over");
	is_int((long long)st.unavailable, 5, "grown: 4 ACTIVE + the in-flight claim unavailable");
	is_int(rd_table_claim_addr(t, net + 130), RD_ECONFLICT, "the in-flight claim survived the change");
	is_int(rd_table_claim_addr(t, net + 160), RD_ECONFLICT, "a leased address is not claimable");
	is_int(rd_table_claim_addr(t, net + 245), 0, "a new address is claimable");
	rd_table_unclaim(t, net + 245);

	/* shrink under three ACTIVE leases */
	is_int(set1(t, net + 100, net + 149), 0, "shrunk to 100-149");
	rd_table_pool_stats(t, net + 100, &st);
	ok(st.size == 50 && st.leases == 2 && st.by_state[RD_LEASE_ACTIVE] == 1, "shrunk: 2 leases left in the pool");
	is_int((long long)st.unavailable, 2, "shrunk: 110 and the claim at 130 unavailable");
	is_int(rd_table_claim_addr(t, net + 160), RD_ENOPOOL, "160 is in no pool any more");
	is_int(state_at(t, net + 160), RD_LEASE_ACTIVE, "its lease is still ACTIVE in the table");
	is_int((long long)rd_table_count(t), 5, "every lease is still in the table");
	uint32_t leased[] = { net + 110, net + 160, net + 170, net + 180 };
	int hits = 0, n = drain(t, net, net + 255, leased, 4, &hits);
	is_int(n, 48, "48 addresses claimable after the shrink (50 - ACTIVE - in flight)");
	is_int(hits, 0, "no leased address claimed");
	is_int(rd_table_claim(t, net, net + 255, 0, &a), RD_ENOADDR, "nothing outside 100-149");
	unclaim_range(t, net + 100, net + 149);
	/* 130 was unclaimed by unclaim_range too; take it again as "in flight" */
	is_int(rd_table_claim_addr(t, net + 130), 0, "130 in flight again");

	/* the lease at 170 ends while out of the pool; 160 is released */
	put(t, net + 170, RD_LEASE_EXPIRED, 3);
	put(t, net + 160, RD_LEASE_RELEASED, 2);

	/* split */
	rd_table_range_t sp[] = { { net + 150, net + 199, &sp[1] }, { net + 100, net + 129, &sp[0] } };
	is_int(rd_table_set_pools(t, sp, 2), 0, "split into 100-129 and 150-199 (given unsorted)");
	rd_table_range_t got[4];
	is_int((long long)rd_table_pools(t, got, 4), 2, "two pools registered");
	ok(got[0].start == net + 100 && got[0].end == net + 129 && got[1].start == net + 150 && got[1].tag == &sp[1],
	   "sorted, with their tags");
	rd_table_pool_stats(t, net + 120, &st);
	ok(st.leases == 2 && st.unavailable == 1, "low half: 110 ACTIVE and 120 EXPIRED, one unavailable");
	rd_table_pool_stats(t, net + 190, &st);
	ok(st.leases == 3 && st.by_state[RD_LEASE_ACTIVE] == 1 && st.by_state[RD_LEASE_EXPIRED] == 1 &&
	   st.by_state[RD_LEASE_RELEASED] == 1, "high half counts the leases that came back");
	is_int((long long)st.unavailable, 1, "high half: only 180 (ACTIVE) unavailable");
	is_int(rd_table_claim_addr(t, net + 170), 0, "170, expired while outside, is claimable again");
	is_int(rd_table_claim_addr(t, net + 180), RD_ECONFLICT, "180, still ACTIVE, is not");
	rd_table_unclaim(t, net + 170);
	is_int(rd_table_claim_addr(t, net + 130), RD_ENOPOOL, "130 (in flight) is between the halves");

	/* merge */
	is_int(set1(t, net + 100, net + 199), 0, "merged back into 100-199");
	rd_table_pool_stats(t, net + 100, &st);
	ok(st.leases == 5 && st.by_state[RD_LEASE_ACTIVE] == 2, "merged: all five leases counted once");
	is_int((long long)st.unavailable, 3, "merged: 110, 180 and the claim at 130");
	is_int(rd_table_unclaim(t, net + 130), 0, "the claim taken before the split is given back");
	rd_table_pool_stats(t, net + 100, &st);
	is_int((long long)st.unavailable, 2, "and no longer counted");

	/* move to another block, over a lease loaded while no pool was there */
	put(t, IP(10, 0, 64, 7), RD_LEASE_ACTIVE, 9);
	put(t, IP(10, 0, 64, 8), RD_LEASE_BACKUP, 0);
	is_int(set1(t, IP(10, 0, 64, 0), IP(10, 0, 64, 99)), 0, "moved to 10.0.64.0-99");
	rd_table_pool_stats(t, IP(10, 0, 64, 0), &st);
	ok(st.leases == 2 && st.by_state[RD_LEASE_BACKUP] == 1 && st.unavailable == 2,
	   "moved: the new block is seeded from the table (ACTIVE + BACKUP)");
	is_int(rd_table_pool_stats(t, net + 100, &st), RD_ENOPOOL, "the old range has no stats");
	hits = 0;
	n = drain(t, net, IP(10, 0, 255, 255), (uint32_t[]){ IP(10, 0, 64, 7), IP(10, 0, 64, 8) }, 2, &hits);
	is_int(n, 98, "98 claimable in the moved pool");
	is_int(hits, 0, "neither taken address");
	unclaim_range(t, IP(10, 0, 64, 0), IP(10, 0, 64, 99));

	/* refused changes leave everything as it was */
	rd_table_range_t bad[] = { { net + 10, net + 20, NULL }, { net + 20, net + 30, NULL } };
	is_int(rd_table_set_pools(t, bad, 2), RD_EINVAL, "overlapping ranges refused");
	rd_table_range_t rev = { net + 30, net + 20, NULL };
	is_int(rd_table_set_pools(t, &rev, 1), RD_EINVAL, "start > end refused");
	is_int((long long)rd_table_pools(t, got, 4), 1, "still one pool");
	ok(got[0].start == IP(10, 0, 64, 0), "the moved one");

	/* remove every pool */
	is_int(rd_table_claim_addr(t, IP(10, 0, 64, 50)), 0, "a claim in flight at 10.0.64.50");
	is_int(rd_table_set_pools(t, NULL, 0), 0, "all pools removed");
	is_int((long long)rd_table_pools(t, NULL, 0), 0, "none registered");
	is_int(rd_table_claim(t, 0, UINT32_MAX, 0, &a), RD_ENOPOOL, "claims find no pool");
	is_int((long long)rd_table_count(t), 7, "all seven leases still in the table");
	is_int(rd_table_unclaim(t, IP(10, 0, 64, 50)), 0, "the in-flight claim can still be given back");
	is_int(set1(t, IP(10, 0, 64, 0), IP(10, 0, 64, 99)), 0, "pool back");
	is_int(rd_table_claim_addr(t, IP(10, 0, 64, 50)), 0, "and its address is free again");
	rd_table_free(t);
}

/* Both ways of seeding a change must give the same numbers. */
static void test_seed_paths(void)
{
	/* walk: 10 leases, a /16 added (65536 lookups would cost more) */
	rd_table_t *t = rd_table_new(0);
	rd_table_pool_stats_t st;
	for (unsigned i = 0; i < 10; i++)
		put(t, IP(10, 2, (uint8_t)(i * 20), 5), i % 2 ? RD_LEASE_ACTIVE : RD_LEASE_FREE, i + 1);
	is_int(set1(t, IP(10, 2, 0, 0), IP(10, 2, 255, 255)), 0, "a /16 over 10 leases (table walk)");
	rd_table_pool_stats(t, IP(10, 2, 0, 0), &st);
	ok(st.leases == 10 && st.by_state[RD_LEASE_ACTIVE] == 5 && st.unavailable == 5, "walk: counted right");
	rd_table_free(t);

	/* lookups: 3000 leases, a pool of 200 added inside an existing block */
	t = rd_table_new(4096);
	for (unsigned i = 0; i < 3000; i++)
		put(t, IP(10, 3, 0, 0) + i, i % 3 ? RD_LEASE_ACTIVE : RD_LEASE_EXPIRED, i + 1);
	is_int(set1(t, IP(10, 3, 0, 0), IP(10, 3, 0, 99)), 0, "first pool (new block, walk)");
	is_int(set1(t, IP(10, 3, 0, 0), IP(10, 3, 0, 199)), 0, "grown inside its block (lookups)");
	rd_table_pool_stats(t, IP(10, 3, 0, 0), &st);
	ok(st.leases == 200 && st.by_state[RD_LEASE_EXPIRED] == 67, "lookups: counted right");
	is_int((long long)st.unavailable, 133, "lookups: the ACTIVE ones unavailable");
	rd_table_free(t);
}

/* ---- the race: claimers and publishers against a thread changing the pools */

#define BASE IP(10, 1, 0, 0)
#define SPAN 65536
#define WORKERS 3
#define HOLD 24              /* ACTIVE leases a worker keeps before releasing its oldest */
#define FIXED_EVERY 37       /* every 37th address of the span holds a permanent lease */

struct cfg {
	size_t n;
	rd_table_range_t r[2];
};

#define R(a, b) { IP(10, 1, 0, 0) + (a), IP(10, 1, 0, 0) + (b), NULL }
static const struct cfg cfgs[] = {
	{ 1, { R(3940, 4195) } },                        /* across a block boundary */
	{ 1, { R(3890, 4295) } },                        /* grown */
	{ 1, { R(3990, 4090) } },                        /* shrunk */
	{ 2, { R(3940, 4020), R(4096, 4176) } },         /* split */
	{ 1, { R(3940, 4176) } },                        /* merged */
	{ 1, { R(8192, 8342) } },                        /* moved to another block */
	{ 0, { { 0, 0, NULL } } },                       /* removed */
	{ 2, { R(3940, 4039), R(8192, 8291) } },         /* two again */
};
#define NCFG (sizeof(cfgs) / sizeof(cfgs[0]))

static _Atomic unsigned owner[SPAN];   /* 1 + the worker holding the address, 0 if none */
static _Atomic long done_k;            /* index of the last applied change (k-th, cfgs[k % NCFG]) */
static _Atomic int stop;

struct worker {
	rd_table_t *t;
	unsigned id;
	uint32_t held[HOLD];
	size_t nheld;
	long claims, dup, leased, outside, conflicts;
};

static bool in_cfg(const struct cfg *c, uint32_t a)
{
	for (size_t i = 0; i < c->n; i++)
		if (a >= c->r[i].start && a <= c->r[i].end)
			return true;
	return false;
}

static void release(struct worker *w, uint32_t a)
{
	atomic_store(&owner[a - BASE], 0);   /* before the publish frees the bit */
	rcu_read_lock();
	const rd_lease_t *cur = rd_table_by_addr(w->t, a);
	rd_lease_t *nv = mk(a, RD_LEASE_RELEASED, 1000 + w->id);
	if (rd_table_replace(w->t, cur, nv)) {
		w->conflicts++;
		rd_lease_free(nv);
	}
	rcu_read_unlock();
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned seed = w->id * 7919u + 1;

	rcu_register_thread();
	while (!atomic_load(&stop)) {
		uint32_t a;
		long k1 = atomic_load(&done_k);
		int rc = rd_table_claim(w->t, BASE, BASE + SPAN - 1, 0, &a);
		long k2 = atomic_load(&done_k);
		if (rc)
			continue;
		w->claims++;
		/* the claim used the pools of change k1 .. k2 + 1 */
		bool inside = false;
		for (long k = k1; k <= k2 + 1 && !inside; k++)
			inside = in_cfg(&cfgs[k % NCFG], a);
		w->outside += !inside;
		unsigned mine = w->id + 1, prev = 0;
		if (!atomic_compare_exchange_strong(&owner[a - BASE], &prev, mine)) {
			w->dup++;
			continue;
		}
		rcu_read_lock();
		const rd_lease_t *cur = rd_table_by_addr(w->t, a);
		if (cur && cur->state == RD_LEASE_ACTIVE)
			w->leased++;
		seed = seed * 1103515245u + 12345u;
		if ((seed >> 16) % 4 == 0) {
			/* abandoned reply: give the claim back */
			rcu_read_unlock();
			atomic_store(&owner[a - BASE], 0);
			rd_table_unclaim(w->t, a);
			continue;
		}
		rd_lease_t *nv = mk(a, RD_LEASE_ACTIVE, 1000 + w->id);
		int r = rd_table_replace(w->t, cur, nv);
		rcu_read_unlock();
		if (r) {
			w->conflicts++;
			rd_lease_free(nv);
			atomic_store(&owner[a - BASE], 0);
			rd_table_unclaim(w->t, a);
			continue;
		}
		if (w->nheld == HOLD) {
			release(w, w->held[0]);
			memmove(w->held, w->held + 1, (HOLD - 1) * sizeof(w->held[0]));
			w->nheld--;
		}
		w->held[w->nheld++] = a;
	}
	while (w->nheld)
		release(w, w->held[--w->nheld]);
	rcu_unregister_thread();
	return NULL;
}

struct expect {
	uint64_t leases, active, taking;
};

static int expect_cb(void *ctx, const rd_lease_t *l)
{
	struct { uint32_t s, e; struct expect x; } *c = ctx;
	if (l->addr < c->s || l->addr > c->e)
		return 0;
	c->x.leases++;
	c->x.active += l->state == RD_LEASE_ACTIVE;
	c->x.taking += l->state == RD_LEASE_ACTIVE || l->state == RD_LEASE_BACKUP ||
		       l->state == RD_LEASE_ABANDONED;
	return 0;
}

static void test_race(void)
{
	rd_table_t *t = rd_table_new(SPAN);
	static struct worker w[WORKERS];
	pthread_t th[WORKERS];

	/* permanent leases all over the span, some of them under every pool */
	for (uint32_t i = 0; i < SPAN; i += FIXED_EVERY)
		put(t, BASE + i, RD_LEASE_ACTIVE, 1 + i);
	atomic_store(&done_k, 0);
	atomic_store(&stop, 0);
	if (rd_table_set_pools(t, cfgs[0].r, cfgs[0].n))
		bail_out("first set_pools failed");
	for (unsigned i = 0; i < WORKERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].t = t;
		w[i].id = i;
		pthread_create(&th[i], NULL, worker_main, &w[i]);
	}
	int fails = 0;
	long k;
	for (k = 1; k <= 2000; k++) {
		const struct cfg *c = &cfgs[k % NCFG];
		fails += rd_table_set_pools(t, c->r, c->n) != 0;
		atomic_store(&done_k, k);
		for (volatile int spin = 0; spin < 20000; spin++)
			;
	}
	atomic_store(&stop, 1);
	long claims = 0, dup = 0, leased = 0, outside = 0, conflicts = 0;
	for (unsigned i = 0; i < WORKERS; i++) {
		pthread_join(th[i], NULL);
		claims += w[i].claims;
		dup += w[i].dup;
		leased += w[i].leased;
		outside += w[i].outside;
		conflicts += w[i].conflicts;
	}
	diag("%ld claims by %d threads across %ld pool changes", claims, WORKERS, k - 1);
	is_int(fails, 0, "every change applied");
	ok(claims > 1000, "the workers claimed while the pools changed (%ld)", claims);
	is_int(dup, 0, "no address held by two threads at once");
	is_int(leased, 0, "no claim returned an address with an ACTIVE lease");
	is_int(outside, 0, "no claim returned an address outside the pools of the moment");
	is_int(conflicts, 0, "no CAS lost on a claimed address");

	/* Quiet now: a pool over the whole span must count exactly what the
	 * table holds, and only the permanent leases are unavailable. */
	is_int(set1(t, BASE, BASE + SPAN - 1), 0, "one pool over the whole span");
	struct { uint32_t s, e; struct expect x; } ex = { BASE, BASE + SPAN - 1, { 0, 0, 0 } };
	rd_table_foreach(t, expect_cb, &ex);
	rd_table_pool_stats_t st;
	rd_table_pool_stats(t, BASE, &st);
	is_int((long long)st.leases, (long long)ex.x.leases, "counters: every version in the span");
	is_int((long long)st.by_state[RD_LEASE_ACTIVE], (long long)ex.x.active, "counters: the ACTIVE ones");
	is_int((long long)st.unavailable, (long long)ex.x.taking, "bits: exactly the taken addresses, no stuck claim");
	is_int((long long)ex.x.active, (SPAN + FIXED_EVERY - 1) / FIXED_EVERY, "only the permanent leases are ACTIVE");
	/* and back to the cycle's first pool: its counters from lookups */
	is_int(set1(t, cfgs[0].r[0].start, cfgs[0].r[0].end), 0, "back to the first pool");
	ex.s = cfgs[0].r[0].start;
	ex.e = cfgs[0].r[0].end;
	memset(&ex.x, 0, sizeof(ex.x));
	rd_table_foreach(t, expect_cb, &ex);
	rd_table_pool_stats(t, ex.s, &st);
	ok(st.leases == ex.x.leases && st.unavailable == ex.x.taking, "first pool: counters and bits exact");
	rd_table_free(t);
}

/* ---- random changes against ground truth */

struct truth {
	uint32_t s, e;
	uint64_t leases, by_state[8], taking;
};

static int truth_cb(void *ctx, const rd_lease_t *l)
{
	struct truth *tr = ctx;
	if (l->addr < tr->s || l->addr > tr->e)
		return 0;
	tr->leases++;
	tr->by_state[l->state & 7]++;
	tr->taking += l->state == RD_LEASE_ACTIVE || l->state == RD_LEASE_BACKUP || l->state == RD_LEASE_ABANDONED;
	return 0;
}

/*
 * 300 random pool sets (1-3 disjoint ranges in a /22, so grown, shrunk,
 * shifted, split and merged pools all occur, counted from deltas or in
 * full, by lookups or by a walk) with random publishes in between; after
 * each change every pool's counters and free count must equal a count of
 * the table itself.
 */
static void test_random_changes(void)
{
	rd_table_t *t = rd_table_new(1024);
	const uint32_t base = IP(10, 5, 0, 0), size = 1024;
	static const uint8_t states[] = { RD_LEASE_FREE, RD_LEASE_ACTIVE, RD_LEASE_EXPIRED, RD_LEASE_RELEASED,
					  RD_LEASE_ABANDONED, RD_LEASE_BACKUP };
	unsigned seed = 12345;
	int bad = 0, changes = 0;
#define RND() (seed = seed * 1103515245u + 12345u, (seed >> 8) & 0xffffff)

	for (int round = 0; round < 300; round++) {
		for (int k = 0; k < 40; k++) {
			uint32_t a = base + RND() % size;
			uint8_t st = states[RND() % 6];
			unsigned client = RND() % 50 + 1;
			put(t, a, st, client);
		}
		rd_table_range_t r[3];
		size_t n = RND() % 3 + 1;
		uint32_t cut[6];
		for (size_t i = 0; i < 2 * n; i++)
			cut[i] = RND() % size;
		/* sort the cuts: pairs of them are disjoint ranges */
		for (size_t i = 1; i < 2 * n; i++)
			for (size_t j = i; j > 0 && cut[j - 1] > cut[j]; j--) {
				uint32_t x = cut[j];
				cut[j] = cut[j - 1];
				cut[j - 1] = x;
			}
		size_t m = 0;
		for (size_t i = 0; i < n; i++) {
			if (i && cut[2 * i] <= cut[2 * i - 1])
				continue;
			r[m++] = (rd_table_range_t){ base + cut[2 * i], base + cut[2 * i + 1], NULL };
		}
		if (rd_table_set_pools(t, r, m)) {
			bad++;
			continue;
		}
		changes++;
		for (size_t i = 0; i < m; i++) {
			struct truth tr = { .s = r[i].start, .e = r[i].end };
			rd_table_foreach(t, truth_cb, &tr);
			rd_table_pool_stats_t st;
			if (rd_table_pool_stats(t, r[i].start, &st) ||
			    st.leases != tr.leases || st.unavailable != tr.taking ||
			    memcmp(st.by_state, tr.by_state, sizeof(tr.by_state))) {
				if (bad++ < 3)
					diag("round %d pool %u-%u: leases %llu/%llu unavailable %llu/%llu", round,
					     r[i].start - base, r[i].end - base, (unsigned long long)st.leases,
					     (unsigned long long)tr.leases, (unsigned long long)st.unavailable,
					     (unsigned long long)tr.taking);
			}
		}
	}
#undef RND
	is_int(changes, 300, "300 random pool changes applied");
	is_int(bad, 0, "after each, every pool's counters and free count match the table");
	rd_table_free(t);
}

int main(void)
{
	plan_lazy();
	rcu_register_thread();
	test_resize();
	test_seed_paths();
	test_random_changes();
	test_race();
	rcu_unregister_thread();
	return done_testing();
}
