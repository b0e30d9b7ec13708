/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * table.c — the RCU lease table (see table.h for the contract).
 *
 * Readers (lookups, iteration) and claims are lock-free.  Writers to one
 * address are serialised by one of RD_TABLE_STRIPES mutexes, chosen by the
 * address: the address index alone could be CAS-updated with cds_lfht_replace,
 * but the client index, the pool bitmap and the per-pool counters must follow
 * the same order of versions, and two racing writers on one address could
 * otherwise delete a client-index node before it was added (and leave a
 * freed version indexed).  The mutex is held for a handful of hash-table
 * operations, never across I/O, and writers to different addresses almost
 * never share one.
 *
 * Pool changes (rd_table_set_pools) hold every stripe while they seed new
 * bit blocks and pool counters, so a write is accounted either by the seed
 * or by itself, never both; see table.h "Pool changes" for why claims need
 * no lock and no generation check.
 *
 * Order inside a write, chosen for what a concurrent reader may see:
 *   1. set the pool bit if the new version takes the address (so a claimer
 *      never sees "available" while the taking version is visible);
 *   2. swap the address index (the authority);
 *   3. add the new version to the client index, then delete the old one
 *      (so a by-client reader may see both for an instant, picks the newer,
 *      and never sees a version that was not published);
 *   4. clear the pool bit if the new version frees the address;
 *   5. call_rcu the old version.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "rackdhcp/table.h"

#define RD_TABLE_STRIPES 256

/*
 * Claim bits live in blocks of RD_BLK_ADDRS aligned addresses, created the
 * first time a pool covers them and kept until rd_table_free (1.5 KiB per
 * 4096 addresses ever pooled).  A bit belongs to its ADDRESS, not to a pool
 * object: every publish at an address inside a block keeps its bits exact,
 * in a pool or not, and every pool version covering the address uses the
 * same word.  That is what makes live pool changes safe (see table.h).
 */
#define RD_BLK_SHIFT 12
#define RD_BLK_ADDRS (1u << RD_BLK_SHIFT)
#define RD_BLK_WORDS (RD_BLK_ADDRS / 64)

struct bit_blk {
	uint32_t idx;                  /* addr >> RD_BLK_SHIFT */
	uint64_t busy[RD_BLK_WORDS];   /* atomic: 1 = not available for allocation */
	uint64_t prev[RD_BLK_WORDS];   /* atomic: 1 = current lease names a client */
	uint64_t bkp[RD_BLK_WORDS];    /* atomic: 1 = current lease is BACKUP and not claimed */
};

/* One registered range.  Immutable but for the atomics; a changed range is
 * a new object, the old one is freed after a grace period. */
struct rd_pool {
	struct rcu_head rcu;
	uint32_t start, end;
	uint32_t cursor;           /* atomic: address where the next scan starts */
	uint32_t bcursor;          /* atomic: the same for BACKUP claims */
	void *tag;                 /* atomic */
	uint64_t leases;           /* atomic */
	uint64_t by_state[8];      /* atomic */
	uint32_t first_blk, nblk;
	struct bit_blk *blk[];     /* blocks first_blk .. first_blk + nblk - 1 */
};

/*
 * Expiry queue: a min-heap of (ends, addr) per stripe, pushed whenever an
 * ACTIVE version with an end is published, under the stripe mutex the
 * writer already holds.  Entries are never removed on renewal or release:
 * rd_table_expire pops due entries and checks the current version, so a
 * stale entry costs one lookup.  Every current ACTIVE lease has an entry
 * with its exact `ends`, because publishing it pushed one.
 */
struct exp_ent {
	uint32_t ends, addr;
};

struct exp_heap {
	struct exp_ent *v;
	size_t n, cap;
};

/* The registered pools (sorted, disjoint) and every bit block (sorted by
 * idx), replaced copy-on-write under pool_lock with every stripe held. */
struct rd_pool_set {
	struct rcu_head rcu;
	size_t n, nblk;
	struct rd_pool **pool;
	struct bit_blk **blk;
};

struct rd_table {
	struct cds_lfht *by_addr;
	struct cds_lfht *by_client;
	uint64_t seq;              /* atomic: last seq handed out */
	uint64_t count;            /* atomic: current versions */
	uint64_t seed;             /* hash seed, so clients cannot choose collisions offline */
	uint32_t next_expiry;      /* atomic: no ACTIVE lease ends before this */
	struct rd_pool_set *pools; /* RCU-published */
	pthread_mutex_t pool_lock;
	pthread_mutex_t expire_lock;
	pthread_mutex_t stripe[RD_TABLE_STRIPES];
	struct exp_heap heap[RD_TABLE_STRIPES];   /* under the same-index stripe */
	int heap_lost;             /* atomic: a push failed, next expiry scans everything */
	unsigned long fixed;       /* rd_table_new_fixed: buckets per index (flat array), else 0 */
};

struct client_key {
	const uint8_t *key;
	size_t len;
};

/* ---------------------------------------------------------------- hashing */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/*
 * Runs of ADDR_RUN neighbouring addresses keep their order: the run's
 * position is hashed (seeded), the low bits are the address's own.  Pools
 * hand out, and leases expire, mostly in address order, and cds_lfht's
 * bucket is the hash's low bits, so neighbouring addresses use neighbouring
 * bucket heads (four to a cache line) instead of one cold line each; this
 * was a large share of a replay's cache misses.  Spread is unchanged: one
 * version per address, so nobody can pile keys on one bucket, and runs land
 * on buckets as randomly as single addresses did.
 */
#define ADDR_RUN 64u

static unsigned long addr_hash(const rd_table_t *t, uint32_t addr)
{
	uint64_t run = mix64(t->seed ^ (addr / ADDR_RUN)) & ~(uint64_t)(ADDR_RUN - 1);

	return (unsigned long)(run | (addr & (ADDR_RUN - 1)));
}

static unsigned long key_hash(const rd_table_t *t, const uint8_t *k, size_t len)
{
	uint64_t h = mix64(t->seed ^ (len * 0x9e3779b97f4a7c15ULL));
	uint64_t w;

	while (len >= 8) {
		memcpy(&w, k, 8);
		h = mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
		k += 8;
		len -= 8;
	}
	w = 0;
	if (len)
		memcpy(&w, k, len);
	return (unsigned long)mix64(h ^ w);
}

static size_t stripe_idx(uint32_t addr)
{
	/* Low bits first: neighbouring addresses land on different stripes. */
	return (addr ^ (addr >> 8) ^ (addr >> 16)) % RD_TABLE_STRIPES;
}

/* ---------------------------------------------------------------- expiry heap */

static bool heap_push(struct exp_heap *h, uint32_t ends, uint32_t addr)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 16;
		struct exp_ent *v = realloc(h->v, cap * sizeof(*v));
		if (!v)
			return false;
		h->v = v;
		h->cap = cap;
	}
	size_t i = h->n++;
	while (i > 0 && h->v[(i - 1) / 2].ends > ends) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = (struct exp_ent){ ends, addr };
	return true;
}

static struct exp_ent heap_pop(struct exp_heap *h)
{
	struct exp_ent top = h->v[0], last = h->v[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1].ends < h->v[c].ends)
			c++;
		if (h->v[c].ends >= last.ends)
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = last;
	return top;
}

/* ---------------------------------------------------------------- lease helpers */

/* liburcu's cds_lfht_for_each_entry applies container_of to the final NULL,
 * which UBSan rightly flags; walk nodes and convert only real ones. */
#define for_each_addr_node(t, iter, node)					\
	for (cds_lfht_first((t)->by_addr, (iter));				\
	     ((node) = cds_lfht_iter_get_node(iter)) != NULL;			\
	     cds_lfht_next((t)->by_addr, (iter)))

static rd_lease_t *addr_lease(struct cds_lfht_node *node)
{
	return caa_container_of(node, rd_lease_t, addr_node);
}

static int addr_match(struct cds_lfht_node *node, const void *key)
{
	const rd_lease_t *l = caa_container_of(node, rd_lease_t, addr_node);

	return l->addr == *(const uint32_t *)key;
}

/* Compare the lease's key with k without copying it out (rd_lease_key's rules). */
static bool lease_key_eq(const rd_lease_t *l, const uint8_t *k, size_t len)
{
	if (l->flags & RD_LEASE_F_KEY_CID)
		return l->cid_len == len && len && memcmp(l->data, k, len) == 0;
	if (l->hlen == 0 || l->hlen > sizeof(l->chaddr) || len != (size_t)l->hlen + 1)
		return false;
	return k[0] == l->htype && memcmp(l->chaddr, k + 1, l->hlen) == 0;
}

static int client_match(struct cds_lfht_node *node, const void *key)
{
	const rd_lease_t *l = caa_container_of(node, rd_lease_t, client_node);
	const struct client_key *ck = key;

	return lease_key_eq(l, ck->key, ck->len);
}

/* Does this version keep its address out of normal allocation? */
static bool lease_takes(const rd_lease_t *l)
{
	if (l->flags & RD_LEASE_F_RESERVED)
		return true;
	return l->state == RD_LEASE_ACTIVE || l->state == RD_LEASE_ABANDONED ||
	       l->state == RD_LEASE_BACKUP;
}

/* Does this version belong to the secondary's free set (rd_table_claim_backup)? */
static bool lease_backup(const rd_lease_t *l)
{
	return l->state == RD_LEASE_BACKUP && !(l->flags & RD_LEASE_F_RESERVED);
}

static void lease_free_rcu(struct rcu_head *head)
{
	free(caa_container_of(head, rd_lease_t, rcu));
}

static void lease_retire(rd_lease_t *l)
{
	call_rcu(&l->rcu, lease_free_rcu);
}

/* Published versions are const to readers; the table owns and frees them. */
static rd_lease_t *lease_mut(const rd_lease_t *l)
{
	return (rd_lease_t *)(uintptr_t)l;
}

static void atomic_min32(uint32_t *p, uint32_t v)
{
	uint32_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (v < cur && !__atomic_compare_exchange_n(p, &cur, v, false,
						       __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

/* ---------------------------------------------------------------- pools */

/* The published pool set (rcu_dereference; an acquire load so that
 * ThreadSanitizer sees the publication too).  Inside rcu_read_lock. */
static struct rd_pool_set *pools_get(rd_table_t *t)
{
	return __atomic_load_n(&t->pools, __ATOMIC_ACQUIRE);
}

/* The pool holding addr in set, or NULL.  Inside rcu_read_lock: a pool
 * object may be retired by the next rd_table_set_pools. */
static struct rd_pool *set_pool(const struct rd_pool_set *set, uint32_t addr)
{
	size_t lo = 0, hi = set ? set->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct rd_pool *p = set->pool[mid];
		if (addr < p->start)
			hi = mid;
		else if (addr > p->end)
			lo = mid + 1;
		else
			return p;
	}
	return NULL;
}

/* The bit block holding addr, or NULL.  Blocks live until rd_table_free. */
static struct bit_blk *set_blk(const struct rd_pool_set *set, uint32_t addr)
{
	uint32_t idx = addr >> RD_BLK_SHIFT;
	size_t lo = 0, hi = set ? set->nblk : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct bit_blk *b = set->blk[mid];
		if (idx < b->idx)
			hi = mid;
		else if (idx > b->idx)
			lo = mid + 1;
		else
			return b;
	}
	return NULL;
}

/* Where a write at addr is accounted: the pool (counters) and the block
 * (bits).  Inside rcu_read_lock. */
struct where {
	struct rd_pool *p;
	struct bit_blk *b;
};

static struct where locate(rd_table_t *t, uint32_t addr)
{
	struct rd_pool_set *set = pools_get(t);
	struct where w = { set_pool(set, addr), NULL };

	w.b = w.p ? w.p->blk[(addr >> RD_BLK_SHIFT) - w.p->first_blk] : set_blk(set, addr);
	return w;
}

static uint64_t *busy_word(struct bit_blk *b, uint32_t addr)
{
	return &b->busy[(addr >> 6) & (RD_BLK_WORDS - 1)];
}

static uint64_t *prev_word(struct bit_blk *b, uint32_t addr)
{
	return &b->prev[(addr >> 6) & (RD_BLK_WORDS - 1)];
}

static uint64_t *bkp_word(struct bit_blk *b, uint32_t addr)
{
	return &b->bkp[(addr >> 6) & (RD_BLK_WORDS - 1)];
}

static uint64_t bit_of(uint32_t addr)
{
	return 1ULL << (addr & 63);
}

/* Set one clear busy bit; false if it was already set. */
static bool bit_claim(struct bit_blk *b, uint32_t addr)
{
	return !(__atomic_fetch_or(busy_word(b, addr), bit_of(addr), __ATOMIC_ACQ_REL) & bit_of(addr));
}

static void bit_set(uint64_t *w, uint32_t addr)
{
	__atomic_fetch_or(w, bit_of(addr), __ATOMIC_ACQ_REL);
}

static void bit_clear(uint64_t *w, uint32_t addr)
{
	__atomic_fetch_and(w, ~bit_of(addr), __ATOMIC_ACQ_REL);
}

static void bit_put(uint64_t *w, uint32_t addr, bool on)
{
	if (on)
		bit_set(w, addr);
	else
		bit_clear(w, addr);
}

/* Mask of the bits of the word holding addresses [w*64, w*64+63] that lie in [a, b]. */
static uint64_t word_mask(uint32_t w, uint32_t a, uint32_t b)
{
	uint64_t mask = ~0ULL;

	if (w == a >> 6)
		mask &= ~0ULL << (a & 63);
	if (w == b >> 6)
		mask &= ~0ULL >> (63 - (b & 63));
	return mask;
}

/* What a claim takes: a clear busy bit (FREE side; optionally not one whose
 * address still names a previous client), or a set BACKUP bit. */
enum claim_kind {
	CLAIM_FREE_NEW,         /* busy clear and no previous client */
	CLAIM_FREE,             /* busy clear */
	CLAIM_BACKUP,           /* bkp set: BACKUP and not claimed */
};

/*
 * Claim an address in [a, b] (inside p), word by word: set a clear busy
 * bit, or clear a set bkp bit.  The CAS retries only when another claimer
 * changed the same word; each retry re-reads the word, so two claimers can
 * never both win one bit.
 */
static bool pool_scan(struct rd_pool *p, uint32_t a, uint32_t b, enum claim_kind kind, uint32_t *addr)
{
	bool backup = kind == CLAIM_BACKUP;

	for (uint32_t w = a >> 6; w <= b >> 6; w++) {
		struct bit_blk *blk = p->blk[(w >> 6) - p->first_blk];
		size_t wi = w & (RD_BLK_WORDS - 1);
		uint64_t *word = backup ? &blk->bkp[wi] : &blk->busy[wi];
		uint64_t mask = word_mask(w, a, b);
		uint64_t cur = __atomic_load_n(word, __ATOMIC_ACQUIRE);
		for (;;) {
			uint64_t cand = (backup ? cur : ~cur) & mask;
			if (kind == CLAIM_FREE_NEW)
				cand &= ~__atomic_load_n(&blk->prev[wi], __ATOMIC_RELAXED);
			if (!cand)
				break;
			uint64_t bit = cand & (~cand + 1);
			if (__atomic_compare_exchange_n(word, &cur, backup ? cur & ~bit : cur | bit, false,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				*addr = w * 64 + (uint32_t)__builtin_ctzll(bit);
				return true;
			}
		}
	}
	return false;
}

/* Claim in [lo, hi] (inside p), starting at the pool's rotating cursor
 * (one for the FREE side, one for the BACKUP set). */
static bool pool_claim(struct rd_pool *p, uint32_t lo, uint32_t hi, enum claim_kind kind, uint32_t *addr)
{
	uint32_t *cursor = kind == CLAIM_BACKUP ? &p->bcursor : &p->cursor;
	uint32_t c = __atomic_load_n(cursor, __ATOMIC_RELAXED);

	if (c < lo || c > hi)
		c = lo;
	bool got = pool_scan(p, c, hi, kind, addr) || (c > lo && pool_scan(p, lo, c - 1, kind, addr));
	if (got)
		__atomic_store_n(cursor, *addr + 1, __ATOMIC_RELAXED);
	return got;
}

/* Bring the bits and counters from version oldv to newv (either may be
 * NULL).  Runs under the address's stripe lock.  `pre` = step 1. */
static void pool_account_pre(struct where w, const rd_lease_t *newv)
{
	if (w.b && newv && lease_takes(newv))
		bit_set(busy_word(w.b, newv->addr), newv->addr);
}

static void pool_account_post(struct where w, const rd_lease_t *oldv, const rd_lease_t *newv,
			      bool new_has_key)
{
	uint32_t addr = newv ? newv->addr : oldv->addr;

	if (w.p) {
		if (oldv) {
			__atomic_fetch_sub(&w.p->leases, 1, __ATOMIC_RELAXED);
			__atomic_fetch_sub(&w.p->by_state[oldv->state & 7], 1, __ATOMIC_RELAXED);
		}
		if (newv) {
			__atomic_fetch_add(&w.p->leases, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&w.p->by_state[newv->state & 7], 1, __ATOMIC_RELAXED);
		}
	}
	if (!w.b)
		return;
	bit_put(prev_word(w.b, addr), addr, newv && new_has_key);
	bit_put(bkp_word(w.b, addr), addr, newv && lease_backup(newv));
	if (!newv || !lease_takes(newv))
		bit_clear(busy_word(w.b, addr), addr);
}

/* ---------------------------------------------------------------- life cycle */

static unsigned long pow2_at_least(size_t n)
{
	unsigned long v = 64;

	while (v < n && v < (1UL << 30))
		v <<= 1;
	return v;
}

rd_table_t *rd_table_new(size_t expected)
{
	rd_table_t *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != (ssize_t)sizeof(t->seed))
		t->seed = mix64((uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)t);
	t->next_expiry = UINT32_MAX;
	pthread_mutex_init(&t->pool_lock, NULL);
	pthread_mutex_init(&t->expire_lock, NULL);
	for (size_t i = 0; i < RD_TABLE_STRIPES; i++)
		pthread_mutex_init(&t->stripe[i], NULL);

	/* Both tables start at the expected size so a bulk load does not
	 * resize; accounting lets them shrink back if most leases go away. */
	unsigned long init = pow2_at_least(expected);
	int flags = CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING;
	t->by_addr = cds_lfht_new(init, 64, 0, flags, NULL);
	t->by_client = cds_lfht_new(init, 64, 0, flags, NULL);
	if (!t->by_addr || !t->by_client) {
		if (t->by_addr)
			cds_lfht_destroy(t->by_addr, NULL);
		if (t->by_client)
			cds_lfht_destroy(t->by_client, NULL);
		free(t);
		return NULL;
	}
	return t;
}

/*
 * Reorder v[0..n) by the 4 KiB page each pointer lies in (bits 12-27: a
 * 256 MiB window, which is enough for locality -- the order only has to be
 * mostly ascending, nothing depends on it).  One counting pass; falls back
 * to the given order if the scratch memory is not there.
 */
#define PAGE_BUCKETS (1u << 16)

static void sort_by_page(rd_lease_t **v, size_t n)
{
	uint32_t *cnt = calloc(PAGE_BUCKETS, sizeof(*cnt));
	rd_lease_t **tmp = malloc(n * sizeof(*tmp));

	if (cnt && tmp) {
		for (size_t i = 0; i < n; i++)
			cnt[((uintptr_t)v[i] >> 12) & (PAGE_BUCKETS - 1)]++;
		uint32_t sum = 0;
		for (size_t b = 0; b < PAGE_BUCKETS; b++) {
			uint32_t c = cnt[b];
			cnt[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[cnt[((uintptr_t)v[i] >> 12) & (PAGE_BUCKETS - 1)]++] = v[i];
		memcpy(v, tmp, n * sizeof(*v));
	}
	free(tmp);
	free(cnt);
}

void rd_table_free(rd_table_t *t)
{
	struct cds_lfht_iter iter;
	rd_lease_t *l;
	struct cds_lfht_node *node;

	if (!t)
		return;
	/* Unlink everything (cds_lfht_destroy wants empty tables).  The
	 * versions are collected and freed after cds_lfht_destroy has stopped
	 * the table's resize worker, which may still walk the chains; no other
	 * reader exists.  If the array cannot grow, fall back to call_rcu. */
	size_t n = 0, cap = (size_t)__atomic_load_n(&t->count, __ATOMIC_RELAXED) + 16;
	rd_lease_t **dead = malloc(cap * sizeof(*dead));
	rcu_read_lock();
	/* Each index is emptied in its own order: deleting in another order
	 * makes every removal walk a chain that shrinking keeps lengthening
	 * (measured: seconds instead of milliseconds per million). */
	for (cds_lfht_first(t->by_client, &iter); (node = cds_lfht_iter_get_node(&iter)) != NULL;
	     cds_lfht_next(t->by_client, &iter))
		cds_lfht_del(t->by_client, node);
	for_each_addr_node(t, &iter, node) {
		l = addr_lease(node);
		cds_lfht_del(t->by_addr, &l->addr_node);
		if (dead && n == cap) {
			rd_lease_t **grown = realloc(dead, 2 * cap * sizeof(*dead));
			if (grown) {
				dead = grown;
				cap *= 2;
			}
		}
		if (dead && n < cap)
			dead[n++] = l;
		else
			lease_retire(l);
	}
	rcu_read_unlock();
	cds_lfht_destroy(t->by_addr, NULL);
	cds_lfht_destroy(t->by_client, NULL);
	/* Free in (roughly) address order: the walk above met the versions
	 * in hash order, scattered over the heap, and free() touches each
	 * chunk and its neighbours; in address order those are mostly in
	 * cache (a large share of a replay's cache misses were here). */
	if (n > 1)
		sort_by_page(dead, n);
	for (size_t i = 0; i < n; i++)
		free(dead[i]);
	free(dead);
	/* Replaced versions and pool arrays still queued on call_rcu. */
	rcu_barrier();

	struct rd_pool_set *set = t->pools;
	if (set) {
		for (size_t i = 0; i < set->n; i++)
			free(set->pool[i]);
		for (size_t i = 0; i < set->nblk; i++)
			free(set->blk[i]);
		free(set);
	}
	for (size_t i = 0; i < RD_TABLE_STRIPES; i++) {
		pthread_mutex_destroy(&t->stripe[i]);
		free(t->heap[i].v);
	}
	pthread_mutex_destroy(&t->pool_lock);
	pthread_mutex_destroy(&t->expire_lock);
	free(t);
}

static void pool_set_free_rcu(struct rcu_head *head)
{
	free(caa_container_of(head, struct rd_pool_set, rcu));
}

static void pool_free_rcu(struct rcu_head *head)
{
	free(caa_container_of(head, struct rd_pool, rcu));
}

static int range_cmp(const void *a, const void *b)
{
	const rd_table_range_t *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int blk_ptr_cmp(const void *a, const void *b)
{
	const struct bit_blk *x = *(const struct bit_blk *const *)a, *y = *(const struct bit_blk *const *)b;

	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The pool of set with exactly this range, or NULL. */
static struct rd_pool *same_pool(const struct rd_pool_set *set, uint32_t start, uint32_t end)
{
	struct rd_pool *p = set_pool(set, start);

	return p && p->start == start && p->end == end ? p : NULL;
}

/*
 * Seed one current version into the bit blocks this change creates.  All
 * stripes are held, so no writer runs; claims cannot reach these blocks
 * before the set is published.
 */
static void seed_bits(const struct rd_pool_set *fresh, const rd_lease_t *l)
{
	uint8_t key[RD_LEASE_KEY_MAX];
	struct bit_blk *b = set_blk(fresh, l->addr);

	if (!b)
		return;
	if (lease_takes(l))
		bit_set(busy_word(b, l->addr), l->addr);
	if (rd_lease_key(l, key))
		bit_set(prev_word(b, l->addr), l->addr);
	if (lease_backup(l))
		bit_set(bkp_word(b, l->addr), l->addr);
}

/*
 * The counters of a new pool object are built from the old pools'
 * counters plus/minus counts over the ranges that differ (a grown pool
 * counts only the added addresses), or from a count of its whole range
 * when that is less work.  One job = one range counted with a sign into
 * one pool (not yet published: plain arithmetic; unsigned wrap-around
 * cancels out).
 */
struct count_job {
	uint32_t s, e;
	int sign;
	struct rd_pool *p;
};

static void job_apply(const struct count_job *j, const rd_lease_t *l)
{
	if (l->addr < j->s || l->addr > j->e)
		return;
	j->p->leases += (uint64_t)(int64_t)j->sign;
	j->p->by_state[l->state & 7] += (uint64_t)(int64_t)j->sign;
}

static uint64_t span(uint32_t s, uint32_t e)
{
	return (uint64_t)e - s + 1;
}

/* Plan the counting of new pool p against the old set (at most one job
 * per overlapping old pool + 3).  Returns the number of jobs. */
static size_t plan_count(const struct rd_pool_set *old, struct rd_pool *p, struct count_job *jobs)
{
	size_t n = 0;
	uint64_t delta = 0;
	uint32_t at = p->start;          /* next address of p not yet covered by an old pool */
	bool at_end = false;

	for (size_t i = 0; old && i < old->n; i++) {
		const struct rd_pool *q = old->pool[i];
		if (q->end < p->start || q->start > p->end)
			continue;
		if (q->start < p->start)
			jobs[n++] = (struct count_job){ q->start, p->start - 1, -1, p };
		if (q->end > p->end)
			jobs[n++] = (struct count_job){ p->end + 1, q->end, -1, p };
		if (!at_end && q->start > at)
			jobs[n++] = (struct count_job){ at, q->start - 1, +1, p };
		if (q->end >= p->end)
			at_end = true;
		else if (q->end + 1 > at)
			at = q->end + 1;
	}
	if (!at_end)
		jobs[n++] = (struct count_job){ at, p->end, +1, p };
	for (size_t k = 0; k < n; k++)
		delta += span(jobs[k].s, jobs[k].e);
	if (delta >= span(p->start, p->end)) {
		jobs[0] = (struct count_job){ p->start, p->end, +1, p };
		return 1;
	}
	/* Start from the old pools' counters (exact: every stripe is held). */
	for (size_t i = 0; old && i < old->n; i++) {
		const struct rd_pool *q = old->pool[i];
		if (q->end < p->start || q->start > p->end)
			continue;
		p->leases += __atomic_load_n(&q->leases, __ATOMIC_RELAXED);
		for (size_t k = 0; k < 8; k++)
			p->by_state[k] += __atomic_load_n(&q->by_state[k], __ATOMIC_RELAXED);
	}
	return n;
}

/* Replace the pool set with ranges r[0..n) (sorted, validated).  pool_lock held. */
static int set_pools_locked(rd_table_t *t, const rd_table_range_t *r, size_t n)
{
	struct rd_pool_set *old = t->pools;
	size_t old_nblk = old ? old->nblk : 0;
	size_t need_blk = 0;
	int ret = RD_ENOMEM;

	for (size_t i = 0; i < n; i++)
		need_blk += (r[i].end >> RD_BLK_SHIFT) - (r[i].start >> RD_BLK_SHIFT) + 1;

	/* fresh: the pools and blocks this change creates (arrays sized for the worst case). */
	struct rd_pool_set fresh = { .n = 0, .nblk = 0 };
	fresh.pool = calloc(n ? n : 1, sizeof(*fresh.pool));
	fresh.blk = calloc(need_blk ? need_blk : 1, sizeof(*fresh.blk));
	struct rd_pool_set *set = malloc(sizeof(*set) + (n + old_nblk + need_blk) * sizeof(void *));
	/* Per new pool: one gap per overlapping old pool + 1, two overhangs;
	 * overlapping (old, new) pairs number at most old->n + n. */
	struct count_job *jobs = calloc((old ? old->n : 0) + 4 * n + 4, sizeof(*jobs));
	if (!fresh.pool || !fresh.blk || !set || !jobs)
		goto fail;
	set->n = n;
	set->pool = (struct rd_pool **)(set + 1);
	set->blk = (struct bit_blk **)(set->pool + n);
	set->nblk = old_nblk;
	if (old_nblk)
		memcpy(set->blk, old->blk, old_nblk * sizeof(*set->blk));

	/* Blocks: every one any pool ever covered stays; add the missing ones. */
	for (size_t i = 0; i < n; i++) {
		for (uint32_t idx = r[i].start >> RD_BLK_SHIFT; idx <= r[i].end >> RD_BLK_SHIFT; idx++) {
			uint32_t a = idx << RD_BLK_SHIFT;
			if (set_blk(old, a) || set_blk(&fresh, a))
				continue;
			struct bit_blk *b = calloc(1, sizeof(*b));
			if (!b)
				goto fail;
			b->idx = idx;
			/* kept sorted: ranges are sorted, idx grows */
			fresh.blk[fresh.nblk++] = b;
			set->blk[set->nblk++] = b;
		}
	}
	qsort(set->blk, set->nblk, sizeof(*set->blk), blk_ptr_cmp);

	/* Pools: an unchanged range keeps its object (bits, counters, cursor). */
	for (size_t i = 0; i < n; i++) {
		struct rd_pool *p = same_pool(old, r[i].start, r[i].end);
		if (!p) {
			uint32_t first = r[i].start >> RD_BLK_SHIFT, nblk = (r[i].end >> RD_BLK_SHIFT) - first + 1;
			p = calloc(1, sizeof(*p) + nblk * sizeof(p->blk[0]));
			if (!p)
				goto fail;
			p->start = r[i].start;
			p->end = r[i].end;
			p->cursor = r[i].start;
			p->tag = r[i].tag;
			p->first_blk = first;
			p->nblk = nblk;
			for (uint32_t k = 0; k < nblk; k++)
				p->blk[k] = set_blk(set, (first + k) << RD_BLK_SHIFT);
			fresh.pool[fresh.n++] = p;
		}
		set->pool[i] = p;
	}

	/*
	 * With every stripe held no version is published, so the new blocks'
	 * bits and the new pools' counters are counted exactly once: here, or
	 * (after the unlock) by the write itself.  Lookups address by address
	 * when that is less work than a walk of the whole table.
	 */
	for (size_t i = 0; i < RD_TABLE_STRIPES; i++)
		pthread_mutex_lock(&t->stripe[i]);
	size_t njobs = 0;
	for (size_t i = 0; i < fresh.n; i++)
		njobs += plan_count(old, fresh.pool[i], jobs + njobs);
	uint64_t count = __atomic_load_n(&t->count, __ATOMIC_RELAXED);
	if (count && (njobs || fresh.nblk)) {
		uint64_t work = (uint64_t)fresh.nblk * RD_BLK_ADDRS;
		for (size_t k = 0; k < njobs; k++)
			work += span(jobs[k].s, jobs[k].e);
		rcu_read_lock();
		if (work <= count) {
			for (size_t i = 0; i < fresh.nblk; i++) {
				uint32_t base = fresh.blk[i]->idx << RD_BLK_SHIFT;
				for (uint32_t k = 0; k < RD_BLK_ADDRS; k++) {
					const rd_lease_t *l = rd_table_by_addr(t, base + k);
					if (l)
						seed_bits(&fresh, l);
				}
			}
			for (size_t k = 0; k < njobs; k++) {
				for (uint64_t a = jobs[k].s; a <= jobs[k].e; a++) {
					const rd_lease_t *l = rd_table_by_addr(t, (uint32_t)a);
					if (l)
						job_apply(&jobs[k], l);
				}
			}
		} else {
			struct cds_lfht_iter iter;
			struct cds_lfht_node *node;
			for_each_addr_node(t, &iter, node) {
				const rd_lease_t *l = addr_lease(node);
				seed_bits(&fresh, l);
				for (size_t k = 0; k < njobs; k++)
					job_apply(&jobs[k], l);
			}
		}
		rcu_read_unlock();
	}
	for (size_t i = 0; i < n; i++)
		__atomic_store_n(&set->pool[i]->tag, r[i].tag, __ATOMIC_RELAXED);
	__atomic_store_n(&t->pools, set, __ATOMIC_RELEASE);   /* rcu_assign_pointer, in a form ThreadSanitizer sees */
	for (size_t i = RD_TABLE_STRIPES; i-- > 0;)
		pthread_mutex_unlock(&t->stripe[i]);

	/* Retire what the new set no longer holds. */
	for (size_t i = 0; old && i < old->n; i++)
		if (!same_pool(set, old->pool[i]->start, old->pool[i]->end))
			call_rcu(&old->pool[i]->rcu, pool_free_rcu);
	if (old)
		call_rcu(&old->rcu, pool_set_free_rcu);
	free(fresh.pool);
	free(fresh.blk);
	free(jobs);
	return 0;

fail:
	for (size_t i = 0; i < fresh.n; i++)
		free(fresh.pool[i]);
	for (size_t i = 0; i < fresh.nblk; i++)
		free(fresh.blk[i]);
	free(fresh.pool);
	free(fresh.blk);
	free(set);
	free(jobs);
	return ret;
}

/* Sort and check ranges into out: start <= end, size <= 2^31, disjoint. */
static int ranges_check(const rd_table_range_t *r, size_t n, rd_table_range_t *out)
{
	if (n && !r)
		return RD_EINVAL;
	if (n)
		memcpy(out, r, n * sizeof(*out));
	qsort(out, n, sizeof(*out), range_cmp);
	for (size_t i = 0; i < n; i++) {
		if (out[i].start > out[i].end)
			return RD_EINVAL;
		if ((uint64_t)out[i].end - out[i].start + 1 > (1ULL << 31))
			return RD_EINVAL;   /* a /1 pool is a configuration error, not a pool */
		if (i && out[i].start <= out[i - 1].end)
			return RD_EINVAL;
	}
	return 0;
}

int rd_table_set_pools(rd_table_t *t, const rd_table_range_t *r, size_t n)
{
	if (!t)
		return RD_EINVAL;
	rd_table_range_t *s = malloc((n ? n : 1) * sizeof(*s));
	if (!s)
		return RD_ENOMEM;
	int ret = ranges_check(r, n, s);
	if (ret == 0) {
		pthread_mutex_lock(&t->pool_lock);
		ret = set_pools_locked(t, s, n);
		pthread_mutex_unlock(&t->pool_lock);
	}
	free(s);
	return ret;
}

int rd_table_add_pool(rd_table_t *t, uint32_t start, uint32_t end, void *tag)
{
	if (!t || start > end)
		return RD_EINVAL;
	pthread_mutex_lock(&t->pool_lock);
	struct rd_pool_set *old = t->pools;
	size_t n = old ? old->n : 0;
	rd_table_range_t *r = malloc((n + 1) * sizeof(*r)), *s = malloc((n + 1) * sizeof(*s));
	int ret = RD_ENOMEM;
	if (r && s) {
		for (size_t i = 0; i < n; i++)
			r[i] = (rd_table_range_t){ old->pool[i]->start, old->pool[i]->end,
						   __atomic_load_n(&old->pool[i]->tag, __ATOMIC_RELAXED) };
		r[n] = (rd_table_range_t){ start, end, tag };
		ret = ranges_check(r, n + 1, s);
		if (ret == 0)
			ret = set_pools_locked(t, s, n + 1);
	}
	pthread_mutex_unlock(&t->pool_lock);
	free(r);
	free(s);
	return ret;
}

size_t rd_table_pools(rd_table_t *t, rd_table_range_t *out, size_t cap)
{
	size_t n = 0;

	if (!t)
		return 0;
	rcu_read_lock();
	struct rd_pool_set *set = pools_get(t);
	if (set) {
		n = set->n;
		for (size_t i = 0; i < n && i < cap && out; i++)
			out[i] = (rd_table_range_t){ set->pool[i]->start, set->pool[i]->end,
						     __atomic_load_n(&set->pool[i]->tag, __ATOMIC_RELAXED) };
	}
	rcu_read_unlock();
	return n;
}

/* ---------------------------------------------------------------- writes */

/* Stamp a new seq; a loaded seq moves the counter past it instead. */
static void seq_stamp(rd_table_t *t, rd_lease_t *l, bool keep)
{
	if (keep && l->seq) {
		uint64_t cur = __atomic_load_n(&t->seq, __ATOMIC_RELAXED);
		while (cur < l->seq && !__atomic_compare_exchange_n(&t->seq, &cur, l->seq, false,
								    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
		return;
	}
	l->seq = __atomic_add_fetch(&t->seq, 1, __ATOMIC_RELAXED);
}

/* Steps 3-5 of a write, common to replace and load.  Stripe lock held. */
static void publish_tail(rd_table_t *t, size_t si, struct where p, const rd_lease_t *oldv,
			 rd_lease_t *newv)
{
	uint8_t key[RD_LEASE_KEY_MAX];
	bool new_key = false;

	if (newv) {
		size_t len = rd_lease_key(newv, key);
		if (len) {
			cds_lfht_add(t->by_client, key_hash(t, key, len), &newv->client_node);
			new_key = true;
		}
		if (newv->state == RD_LEASE_ACTIVE && newv->ends) {
			if (!heap_push(&t->heap[si], newv->ends, newv->addr))
				__atomic_store_n(&t->heap_lost, 1, __ATOMIC_RELAXED);
			atomic_min32(&t->next_expiry, newv->ends);
		}
	}
	if (oldv && rd_lease_key(oldv, key))
		cds_lfht_del(t->by_client, &lease_mut(oldv)->client_node);
	if (!oldv)
		__atomic_fetch_add(&t->count, 1, __ATOMIC_RELAXED);
	else if (!newv)
		__atomic_fetch_sub(&t->count, 1, __ATOMIC_RELAXED);
	pool_account_post(p, oldv, newv, new_key);
	if (oldv)
		lease_retire(lease_mut(oldv));
}

int rd_table_replace(rd_table_t *t, const rd_lease_t *old, rd_lease_t *newv)
{
	if (!t || (!old && !newv) || (old && newv && old->addr != newv->addr))
		return RD_EINVAL;
	uint32_t addr = newv ? newv->addr : old->addr;
	unsigned long hash = addr_hash(t, addr);
	size_t si = stripe_idx(addr);
	pthread_mutex_t *m = &t->stripe[si];
	struct cds_lfht_iter iter;
	int ret = 0;

	pthread_mutex_lock(m);
	rcu_read_lock();
	cds_lfht_lookup(t->by_addr, hash, addr_match, &addr, &iter);
	struct cds_lfht_node *node = cds_lfht_iter_get_node(&iter);
	const rd_lease_t *cur = node ? caa_container_of(node, rd_lease_t, addr_node) : NULL;
	if (cur != old) {
		ret = RD_ECONFLICT;
		goto out;
	}
	struct where p = locate(t, addr);
	if (newv) {
		seq_stamp(t, newv, false);
		memset(&newv->addr_node, 0, sizeof(newv->addr_node));
		memset(&newv->client_node, 0, sizeof(newv->client_node));
		pool_account_pre(p, newv);
		if (old)
			ret = cds_lfht_replace(t->by_addr, &iter, hash, addr_match, &addr, &newv->addr_node);
		else if (cds_lfht_add_unique(t->by_addr, hash, addr_match, &addr,
					     &newv->addr_node) != &newv->addr_node)
			ret = RD_ECONFLICT;
	} else {
		ret = cds_lfht_del(t->by_addr, &lease_mut(old)->addr_node);
	}
	/* Cannot fail while we hold the stripe: only we write this address. */
	if (ret) {
		ret = RD_ECONFLICT;
		goto out;
	}
	publish_tail(t, si, p, old, newv);
out:
	rcu_read_unlock();
	pthread_mutex_unlock(m);
	return ret;
}

int rd_table_load(rd_table_t *t, rd_lease_t *l)
{
	if (!t || !l)
		return RD_EINVAL;
	uint32_t addr = l->addr;
	size_t si = stripe_idx(addr);
	pthread_mutex_t *m = &t->stripe[si];

	pthread_mutex_lock(m);
	rcu_read_lock();
	struct where p = locate(t, addr);
	seq_stamp(t, l, true);
	memset(&l->addr_node, 0, sizeof(l->addr_node));
	memset(&l->client_node, 0, sizeof(l->client_node));
	pool_account_pre(p, l);
	struct cds_lfht_node *node = cds_lfht_add_replace(t->by_addr, addr_hash(t, addr),
							  addr_match, &addr, &l->addr_node);
	publish_tail(t, si, p, node ? caa_container_of(node, rd_lease_t, addr_node) : NULL, l);
	rcu_read_unlock();
	pthread_mutex_unlock(m);
	return 0;
}

/* ---------------------------------------------------------------- reads */

const rd_lease_t *rd_table_by_addr(rd_table_t *t, uint32_t addr)
{
	struct cds_lfht_iter iter;

	cds_lfht_lookup(t->by_addr, addr_hash(t, addr), addr_match, &addr, &iter);
	struct cds_lfht_node *node = cds_lfht_iter_get_node(&iter);
	return node ? caa_container_of(node, rd_lease_t, addr_node) : NULL;
}

/* ACTIVE beats a previous binding, which beats an ABANDONED one. */
static int client_rank(const rd_lease_t *l)
{
	if (l->state == RD_LEASE_ACTIVE)
		return 2;
	return l->state == RD_LEASE_ABANDONED ? 0 : 1;
}

const rd_lease_t *rd_table_by_client(rd_table_t *t, const uint8_t *key, size_t key_len,
				     uint32_t net, uint32_t mask)
{
	struct client_key ck = { key, key_len };
	struct cds_lfht_iter iter;
	const rd_lease_t *best = NULL;

	if (!key || !key_len)
		return NULL;
	cds_lfht_lookup(t->by_client, key_hash(t, key, key_len), client_match, &ck, &iter);
	for (struct cds_lfht_node *node = cds_lfht_iter_get_node(&iter); node;
	     cds_lfht_next_duplicate(t->by_client, client_match, &ck, &iter),
	     node = cds_lfht_iter_get_node(&iter)) {
		const rd_lease_t *l = caa_container_of(node, rd_lease_t, client_node);
		if ((l->addr & mask) != (net & mask))
			continue;
		if (!best || client_rank(l) > client_rank(best) ||
		    (client_rank(l) == client_rank(best) && l->seq > best->seq))
			best = l;
	}
	return best;
}

int rd_table_foreach_client(rd_table_t *t, const uint8_t *key, size_t key_len,
			    rd_table_iter_cb cb, void *ctx)
{
	struct client_key ck = { key, key_len };
	struct cds_lfht_iter iter;

	if (!key || !key_len)
		return 0;
	cds_lfht_lookup(t->by_client, key_hash(t, key, key_len), client_match, &ck, &iter);
	for (struct cds_lfht_node *node = cds_lfht_iter_get_node(&iter); node;
	     cds_lfht_next_duplicate(t->by_client, client_match, &ck, &iter),
	     node = cds_lfht_iter_get_node(&iter)) {
		int r = cb(ctx, caa_container_of(node, rd_lease_t, client_node));
		if (r)
			return r;
	}
	return 0;
}

int rd_table_foreach(rd_table_t *t, rd_table_iter_cb cb, void *ctx)
{
	struct cds_lfht_iter iter;
	rd_lease_t *l;
	struct cds_lfht_node *node;
	int r = 0;

	rcu_read_lock();
	for_each_addr_node(t, &iter, node) {
		l = addr_lease(node);
		r = cb(ctx, l);
		if (r)
			break;
	}
	rcu_read_unlock();
	return r;
}

size_t rd_table_count(rd_table_t *t)
{
	return (size_t)__atomic_load_n(&t->count, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------- claims */

/* The first pool of set that may overlap [start, end] (*first; set->n
 * means none): RD_ENOADDR if one overlaps, else RD_ENOPOOL. */
static int pools_in(const struct rd_pool_set *set, uint32_t start, uint32_t end, size_t *first)
{
	size_t f = 0, n = set ? set->n : 0;

	while (f < n && set->pool[f]->end < start)
		f++;
	*first = f;
	return f < n && set->pool[f]->start <= end ? RD_ENOADDR : RD_ENOPOOL;
}

/* [start, end] clipped to pool p. */
static void clip(const struct rd_pool *p, uint32_t start, uint32_t end, uint32_t *lo, uint32_t *hi)
{
	*lo = start > p->start ? start : p->start;
	*hi = end < p->end ? end : p->end;
}

/* rd_table_claim (backup false) and rd_table_claim_backup (hint unused). */
static int claim_range(rd_table_t *t, uint32_t start, uint32_t end, uint32_t hint, bool backup, uint32_t *addr)
{
	if (!t || !addr || start > end)
		return RD_EINVAL;
	size_t first;

	rcu_read_lock();
	struct rd_pool_set *set = pools_get(t);
	size_t n = set ? set->n : 0;
	int ret = pools_in(set, start, end, &first);

	/* The caller's hint (previous or requested address) wins if free,
	 * even if it names a previous client: it is usually that client. */
	if (!backup && ret == RD_ENOADDR && hint >= start && hint <= end) {
		struct rd_pool *p = set_pool(set, hint);
		if (p && bit_claim(p->blk[(hint >> RD_BLK_SHIFT) - p->first_blk], hint)) {
			*addr = hint;
			ret = 0;
		}
	}
	/* FREE side: a first pass avoids addresses that still name a
	 * previous client.  The BACKUP set has one pass. */
	for (int pass = 0; pass < (backup ? 1 : 2) && ret == RD_ENOADDR; pass++) {
		enum claim_kind kind = backup ? CLAIM_BACKUP : pass == 0 ? CLAIM_FREE_NEW : CLAIM_FREE;
		for (size_t i = first; i < n && set->pool[i]->start <= end; i++) {
			struct rd_pool *p = set->pool[i];
			uint32_t lo, hi;
			clip(p, start, end, &lo, &hi);
			if (pool_claim(p, lo, hi, kind, addr)) {
				ret = 0;
				break;
			}
		}
	}
	rcu_read_unlock();
	return ret;
}

int rd_table_claim(rd_table_t *t, uint32_t start, uint32_t end, uint32_t hint, uint32_t *addr)
{
	return claim_range(t, start, end, hint, false, addr);
}

int rd_table_claim_backup(rd_table_t *t, uint32_t start, uint32_t end, uint32_t *addr)
{
	return claim_range(t, start, end, 0, true, addr);
}

int rd_table_claim_addr(rd_table_t *t, uint32_t addr)
{
	int ret = RD_ENOPOOL;

	if (!t)
		return ret;
	rcu_read_lock();
	struct where w = locate(t, addr);
	if (w.p)
		ret = bit_claim(w.b, addr) ? 0 : RD_ECONFLICT;
	rcu_read_unlock();
	return ret;
}

int rd_table_unclaim(rd_table_t *t, uint32_t addr)
{
	int ret = RD_ENOPOOL;

	if (!t)
		return ret;
	rcu_read_lock();
	/* By block, not by pool: a claim taken before its address left the
	 * pool is still given back. */
	struct where w = locate(t, addr);
	if (w.b) {
		const rd_lease_t *cur = rd_table_by_addr(t, addr);
		if (!cur || !lease_takes(cur))
			bit_clear(busy_word(w.b, addr), addr);
		/* A BACKUP claim (or any claim of an address that is BACKUP
		 * now) hands the address back to the BACKUP set.  Racing a
		 * publish may leave the bit set on a version that is no longer
		 * BACKUP: the next BACKUP claimer clears it, its check of the
		 * current version refuses the address, and its unclaim does not
		 * set the bit again. */
		if (cur && lease_backup(cur))
			bit_set(bkp_word(w.b, addr), addr);
		ret = 0;
	}
	rcu_read_unlock();
	return ret;
}

int rd_table_pool_stats(rd_table_t *t, uint32_t addr, rd_table_pool_stats_t *out)
{
	int ret = RD_ENOPOOL;

	if (!t || !out)
		return ret;
	rcu_read_lock();
	struct rd_pool *p = set_pool(pools_get(t), addr);
	if (p) {
		memset(out, 0, sizeof(*out));
		out->start = p->start;
		out->end = p->end;
		out->tag = __atomic_load_n(&p->tag, __ATOMIC_RELAXED);
		out->size = (uint64_t)p->end - p->start + 1;
		for (uint32_t w = p->start >> 6; w <= p->end >> 6; w++) {
			uint64_t v = __atomic_load_n(&p->blk[(w >> 6) - p->first_blk]->busy[w & (RD_BLK_WORDS - 1)],
						     __ATOMIC_RELAXED);
			out->unavailable += (uint64_t)__builtin_popcountll(v & word_mask(w, p->start, p->end));
		}
		out->leases = __atomic_load_n(&p->leases, __ATOMIC_RELAXED);
		for (size_t i = 0; i < 8; i++)
			out->by_state[i] = __atomic_load_n(&p->by_state[i], __ATOMIC_RELAXED);
		ret = 0;
	}
	rcu_read_unlock();
	return ret;
}

/* ---------------------------------------------------------------- expiry */

/* Expire l if it is still ACTIVE and due.  Inside rcu_read_lock. */
static bool expire_one(rd_table_t *t, const rd_lease_t *l, uint32_t now,
		       rd_table_expire_cb cb, void *ctx, bool *nomem)
{
	if (l->state != RD_LEASE_ACTIVE || l->ends == 0 || l->ends > now)
		return false;
	rd_lease_t *nv = rd_lease_dup(l, rd_lease_cid(l), l->cid_len, rd_lease_host(l), l->host_len);
	if (!nv) {
		*nomem = true;
		return false;
	}
	nv->state = RD_LEASE_EXPIRED;
	if (rd_table_replace(t, l, nv)) {
		rd_lease_free(nv);   /* renewed meanwhile: the renewal queued its own entry */
		return false;
	}
	if (cb)
		cb(ctx, l, nv);
	return true;
}

/* Fallback after a failed heap push: walk everything, re-queue what is not
 * due (duplicates in the heap are harmless). */
static size_t expire_scan(rd_table_t *t, uint32_t now, rd_table_expire_cb cb, void *ctx, bool *nomem)
{
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;
	size_t n = 0;

	rcu_read_lock();
	for_each_addr_node(t, &iter, node) {
		const rd_lease_t *l = addr_lease(node);
		if (expire_one(t, l, now, cb, ctx, nomem)) {
			n++;
		} else if (l->state == RD_LEASE_ACTIVE && l->ends) {
			size_t si = stripe_idx(l->addr);
			pthread_mutex_lock(&t->stripe[si]);
			if (!heap_push(&t->heap[si], l->ends, l->addr))
				*nomem = true;
			pthread_mutex_unlock(&t->stripe[si]);
		}
	}
	rcu_read_unlock();
	return n;
}

static void expire_prefetch(rd_table_t *t, const struct exp_ent *due, size_t k, size_t i);

size_t rd_table_expire(rd_table_t *t, uint32_t now, rd_table_expire_cb cb, void *ctx)
{
	size_t n = 0;
	bool nomem = false;
	struct exp_ent *due = NULL;
	size_t due_cap = 0;

	pthread_mutex_lock(&t->expire_lock);
	if (now < __atomic_load_n(&t->next_expiry, __ATOMIC_ACQUIRE) &&
	    !__atomic_load_n(&t->heap_lost, __ATOMIC_RELAXED)) {
		pthread_mutex_unlock(&t->expire_lock);
		return 0;
	}
	/* Reset before draining: a lease published meanwhile lowers
	 * next_expiry itself; the heap tops read below cover the rest. */
	__atomic_store_n(&t->next_expiry, UINT32_MAX, __ATOMIC_SEQ_CST);
	if (__atomic_exchange_n(&t->heap_lost, 0, __ATOMIC_ACQ_REL))
		n += expire_scan(t, now, cb, ctx, &nomem);

	/* Pop every stripe's due entries under its lock, then expire them in
	 * the same order outside the locks (replace takes them), with a
	 * look-ahead that prefetches what the next ones will touch. */
	uint32_t min = UINT32_MAX;
	size_t k = 0;
	for (size_t si = 0; si < RD_TABLE_STRIPES; si++) {
		struct exp_heap *h = &t->heap[si];

		pthread_mutex_lock(&t->stripe[si]);
		while (h->n && h->v[0].ends <= now) {
			if (k == due_cap) {
				size_t cap = due_cap ? 2 * due_cap : 256;
				struct exp_ent *v = realloc(due, cap * sizeof(*v));
				if (!v) {
					nomem = true;
					break;
				}
				due = v;
				due_cap = cap;
			}
			due[k++] = heap_pop(h);
		}
		if (h->n && h->v[0].ends < min)
			min = h->v[0].ends;
		pthread_mutex_unlock(&t->stripe[si]);
	}

	rcu_read_lock();
	for (size_t i = 0; i < k; i++) {
		if (i % 256 == 255) {
			/* Let grace periods end: replaced versions get freed. */
			rcu_read_unlock();
			rcu_read_lock();
		}
		expire_prefetch(t, due, k, i);
		const rd_lease_t *l = rd_table_by_addr(t, due[i].addr);
		bool oom = false;
		if (l && expire_one(t, l, now, cb, ctx, &oom))
			n++;
		if (oom) {
			/* Keep the entry so the next call retries it. */
			size_t si = stripe_idx(due[i].addr);
			nomem = true;
			pthread_mutex_lock(&t->stripe[si]);
			if (!heap_push(&t->heap[si], due[i].ends, due[i].addr))
				__atomic_store_n(&t->heap_lost, 1, __ATOMIC_RELAXED);
			pthread_mutex_unlock(&t->stripe[si]);
		}
	}
	rcu_read_unlock();
	free(due);
	atomic_min32(&t->next_expiry, nomem ? now : min);
	pthread_mutex_unlock(&t->expire_lock);
	return n;
}

/* ---------------------------------------------------------------- fixed-size tables */

rd_table_t *rd_table_new_fixed(size_t expected)
{
	rd_table_t *t = rd_table_new(0);
	if (!t)
		return NULL;
	/* Without CDS_LFHT_AUTO_RESIZE (and so without accounting): no
	 * resize worker, no shrink when the split item counters happen to
	 * cross a power of two.  max == min == init: one flat bucket array
	 * (liburcu's mmap layout: a bucket is one array index away). */
	unsigned long n = pow2_at_least(expected);
	/* The mmap layout asked for by name (cds_lfht_new picks it too, for
	 * these sizes on 64-bit): rd_table_prefetch_client finds a bucket
	 * through its public bucket_at. */
	struct cds_lfht *a = _cds_lfht_new(n, n, n, 0, &cds_lfht_mm_mmap, &rcu_flavor, NULL);
	struct cds_lfht *c = _cds_lfht_new(n, n, n, 0, &cds_lfht_mm_mmap, &rcu_flavor, NULL);
	if (!a || !c) {
		if (a)
			cds_lfht_destroy(a, NULL);
		if (c)
			cds_lfht_destroy(c, NULL);
		rd_table_free(t);
		return NULL;
	}
	cds_lfht_destroy(t->by_addr, NULL);
	cds_lfht_destroy(t->by_client, NULL);
	t->by_addr = a;
	t->by_client = c;
	t->fixed = n;
	return t;
}

/* The bucket head for hash h in index ht of a fixed table (one flat array). */
static struct cds_lfht_node *fixed_bucket(const rd_table_t *t, struct cds_lfht *ht, unsigned long h)
{
	return cds_lfht_mm_mmap.bucket_at(ht, h & (t->fixed - 1));
}

void rd_table_prefetch_client(rd_table_t *t, const uint8_t *key, size_t key_len, int depth)
{
	if (!t->fixed || !key || !key_len)
		return;
	struct cds_lfht_node *b = fixed_bucket(t, t->by_client, key_hash(t, key, key_len));
	if (depth == 0) {
		__builtin_prefetch(b);
		return;
	}
	/* Bucket nodes live as long as the table; the node it points to is
	 * only prefetched, never dereferenced (it may be on its way out).
	 * Its flag bits stay inside the node's 16 bytes. */
	__builtin_prefetch(__atomic_load_n(&b->next, __ATOMIC_RELAXED));
}

/*
 * rd_table_expire's look-ahead over its due entries (tables of
 * rd_table_new_fixed only: their buckets can be found): the address
 * bucket three entries ahead, the node it points to (usually the lease)
 * two ahead, and the client-index bucket of the next lease, whose key is
 * in cache by then.  Inside rcu_read_lock.
 */
static void expire_prefetch(rd_table_t *t, const struct exp_ent *due, size_t k, size_t i)
{
	if (!t->fixed)
		return;
	if (i + 3 < k)
		__builtin_prefetch(fixed_bucket(t, t->by_addr, addr_hash(t, due[i + 3].addr)));
	if (i + 2 < k)
		__builtin_prefetch(__atomic_load_n(&fixed_bucket(t, t->by_addr, addr_hash(t, due[i + 2].addr))->next,
						   __ATOMIC_RELAXED));
	if (i + 1 < k) {
		const rd_lease_t *l = rd_table_by_addr(t, due[i + 1].addr);
		uint8_t key[RD_LEASE_KEY_MAX];
		size_t len = l ? rd_lease_key(l, key) : 0;
		if (len)
			rd_table_prefetch_client(t, key, len, 0);
	}
}
