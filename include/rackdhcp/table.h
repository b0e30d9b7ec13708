/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * table.h — the in-memory lease table: every published lease version, found
 * by address or by client, plus lock-free allocation of free addresses.
 *
 * Indexes.  Two liburcu lock-free hash tables (cds_lfht):
 *   - by address: exactly one current version per address, in any state;
 *   - by client key (rd_lease_key(): client-id, else htype+chaddr): every
 *     current version that HAS a key, whatever its state.  An EXPIRED,
 *     RELEASED or even FREE lease keeps its client so that the client finds
 *     "its previous address" again (RFC 2131 §4.3.1).  One key may have
 *     several leases (several subnets, or an old expired address beside a new
 *     active one), so the client index holds duplicates and the lookup takes
 *     a subnet (net/mask) and picks the best match in it.
 * The address index is the authority.  The client index follows it a few
 * instructions later: a by-client reader racing a change may still see the
 * previous version (never one that was not published).
 *
 * Versions.  Published leases are immutable.  A change is a new version
 * (rd_lease_dup + edit) swapped in by rd_table_replace(), a compare-and-swap
 * on the address: it succeeds only if `old` is still the current version.
 * The table stamps each published version with a strictly increasing seq,
 * so the store and the failover peer can order writes.  Replaced versions
 * are freed with call_rcu() after a grace period.
 *
 * Allocation.  Each pool (a range registered with rd_table_add_pool or
 * rd_table_set_pools) allocates from an atomic bitmap, one bit per address:
 * SET = "not available for a new allocation".  A bit is set by an in-flight
 * claim (rd_table_claim*) and by publishing a version that keeps the
 * address taken: ACTIVE, ABANDONED, BACKUP (owned by the failover
 * secondary, which claims it through a third bitmap of its own,
 * rd_table_claim_backup), or any version flagged
 * RD_LEASE_F_RESERVED.  Publishing FREE, EXPIRED, RELEASED or RESET clears
 * it.  Claims CAS 64-bit words, so two concurrent claims never return the
 * same address and no lock is taken.
 * A second bitmap marks addresses whose current lease still names a
 * previous client; rd_table_claim() prefers addresses without one (never
 * used or truly free) and only then takes a previous client's expired or
 * released address, so returning clients usually get theirs back.
 * The bitmap is the allocator's fast path, not the final arbiter: a claimed
 * address may still hold an EXPIRED lease of another client, and a publish
 * by someone else (failover peer, expiry) can clear a claimed bit.  The
 * engine therefore reads rd_table_by_addr() after claiming and publishes
 * with rd_table_replace(), whose CAS decides.
 *
 * Pool changes (live resize).  The bits belong to ADDRESSES, not to pool
 * objects: they live in blocks of 4096 aligned addresses, created the first
 * time a pool covers them and kept until rd_table_free (1.5 KiB per 4096
 * addresses ever pooled).  Every publish at an address inside a block keeps
 * its three bits exact, whether or not the address is in a pool at that
 * moment.  A pool is an immutable object {range, counters, pointers to its
 * blocks}; the sorted pool array is RCU-published.  rd_table_set_pools()
 * builds the new array (an unchanged range keeps its object), creates the
 * missing blocks, then, with every stripe mutex held (no publish runs; reads
 * and claims go on), seeds the new blocks' bits from the table and builds
 * each new pool's counters from the old pools' counters plus or minus
 * counts over the ranges that joined or left (or counts its whole range
 * when that is less work; by lookups, or one walk of the table when that
 * is cheaper), publishes the array with rcu_assign_pointer, unlocks, and
 * frees the replaced pool objects after a grace period (call_rcu).
 * Why claims stay race-free without a generation check:
 *   - there is exactly one busy bit per address, shared by every pool
 *     version that ever covers it, so two claims of one address always CAS
 *     the same word: no address goes to two requests, even if one claimer
 *     still walks the old array and the other the new one;
 *   - an in-flight claim survives the change (its bit is not rebuilt), and
 *     rd_table_unclaim() works by block, so a claim whose address just left
 *     the pool is still given back;
 *   - a new block is seeded before any pool pointing to it is published,
 *     so no claim can race the seeding; it is seeded under every stripe
 *     lock, so no publish is missed or counted twice (the same holds for a
 *     new pool's counters, which publishes update through the array they
 *     read under their stripe lock);
 *   - a claimer that read the old array may still win an address that
 *     just left every pool.  That claim is ordered before the change, like
 *     one a microsecond earlier: the engine either drops it (its
 *     configuration says "not in a pool") or publishes an offer that then
 *     follows the rule for addresses outside the pools (it is not renewed
 *     there; engine.c).  Nothing is allocated twice either way.
 * Addresses outside every pool keep their versions: leases in the table
 * and the store are never touched by a pool change, and rd_table_claim*
 * never returns an address outside the registered pools.
 *
 * Expiry.  rd_table_expire() turns ACTIVE leases with ends <= now (ends 0 =
 * infinite, never) into EXPIRED versions.  Publishing an ACTIVE version
 * pushes (ends, addr) on a per-stripe min-heap, under the stripe mutex the
 * writer already holds; expiry pops the due entries and checks each against
 * the current version (renewed or released leases leave stale entries that
 * cost one lookup when their time comes, ~8 bytes each meanwhile).  A global
 * "earliest end" gate makes a call with nothing due one atomic load.  A full
 * scan of the table is only the fallback after a heap allocation failure:
 * walking 1 M leases in hash order costs ~0.5 s here (cache misses), far too
 * slow to do every second.
 *
 * Threading / RCU contract.
 *   - Every thread that calls any rd_table_* function other than
 *     rd_table_new (rd_table_free included: it unlinks every version) must
 *     have called rcu_register_thread().
 *   - Pointers returned by lookups are valid only inside the caller's
 *     rcu_read_lock() section; copy what you need or finish before
 *     rcu_read_unlock().
 *   - rd_table_replace() must be called inside the same read-side section in
 *     which `old` was looked up (else `old` may have been freed and reused,
 *     and the pointer comparison would be meaningless).
 *   - Writers to the same address are serialised by a striped mutex (held
 *     for a few hash-table operations); readers, lookups and claims never
 *     take a lock.  rd_table_add_pool() and rd_table_set_pools() take a
 *     table mutex and every stripe while they seed what is new (writers
 *     wait that long, in proportion to the addresses that changed: ~60 ms
 *     for 64 k over 1 M leases, bench_table; reads and claims do not wait;
 *     ThreadSanitizer needs detect_deadlocks=0 for its 256 held locks).
 *     rd_table_expire() calls are serialised.
 *   - Never call synchronize_rcu() inside a read section; the table never
 *     does (it uses call_rcu()).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "rackdhcp/error.h"
#include "rackdhcp/lease.h"

/*! rd_table_replace lost the race / rd_table_claim_addr: address already taken. */
#define RD_ECONFLICT (-EAGAIN)
/*! rd_table_claim: no available address in the range. */
#define RD_ENOADDR (-EADDRNOTAVAIL)
/*! The address is in no registered pool. */
#define RD_ENOPOOL (-ENOENT)

typedef struct rd_table rd_table_t;

/*! Per-pool counts, a snapshot (each field is read atomically, not the set). */
typedef struct rd_table_pool_stats {
	uint32_t start, end;       /*!< the pool's range, inclusive */
	void *tag;                 /*!< as given to rd_table_add_pool */
	uint64_t size;             /*!< end - start + 1 */
	uint64_t unavailable;      /*!< bits set: taken, claimed in flight, or BACKUP */
	uint64_t leases;           /*!< published versions in the pool */
	uint64_t by_state[8];      /*!< published versions per enum rd_binding_state */
} rd_table_pool_stats_t;

/*!
 * A new, empty table sized for about `expected` leases (the hash tables grow
 * and shrink on their own; the hint only avoids resizing while loading).
 * NULL on allocation failure.
 */
rd_table_t *rd_table_new(size_t expected);

/*!
 * rd_table_new for a table whose size is bounded up front (the replay):
 * both indexes get the next power of two >= expected buckets and never
 * resize.  An automatic resize is driven by approximate split counters and
 * can shrink a table in the middle of a run (longer chains until it grows
 * again at 8 entries per bucket); with at most `expected` entries there is
 * nothing to gain from one.  More entries still work, with longer chains.
 * Same contract as rd_table_new otherwise; NULL on allocation failure.
 */
rd_table_t *rd_table_new_fixed(size_t expected);

/*!
 * A hint that rd_table_by_client(key) comes soon (the replay's look-ahead):
 * depth 0 prefetches the client index's bucket head for the key; depth 1,
 * some work later, the first node that bucket points to.  Changes nothing,
 * needs no read section; a no-op for tables not made by rd_table_new_fixed.
 */
void rd_table_prefetch_client(rd_table_t *t, const uint8_t *key, size_t key_len, int depth);

/*!
 * Free the table and every lease version in it, after flushing pending
 * call_rcu callbacks.  The caller guarantees no other thread uses it any more.
 * NULL is a no-op.
 */
void rd_table_free(rd_table_t *t);

/*! One pool range (host order, inclusive) and the caller's tag. */
typedef struct rd_table_range {
	uint32_t start, end;
	void *tag;
} rd_table_range_t;

/*!
 * Register the pool [start, end] (host order, inclusive) for allocation,
 * beside the registered ones (rd_table_set_pools with one more range).
 * Pools must not overlap.  Leases already in the table inside the range are
 * accounted (bitmap and stats).  RD_EINVAL on a bad or overlapping range,
 * RD_ENOMEM.
 */
int rd_table_add_pool(rd_table_t *t, uint32_t start, uint32_t end, void *tag);

/*!
 * Make r[0..n) (any order; n may be 0) the registered pools, in one step
 * visible to claims: grow, shrink, split, merge, move, add and remove
 * pools while other threads claim and publish (see "Pool changes" above).
 * A range identical to a registered one keeps its state (tag updated).
 * RD_EINVAL if a range is bad (start > end, more than 2^31 addresses) or
 * two overlap; RD_ENOMEM.  On error nothing changed.  May be called
 * inside or outside a read section: it never waits for a grace period.
 */
int rd_table_set_pools(rd_table_t *t, const rd_table_range_t *r, size_t n);

/*!
 * The registered pools, sorted by start: copies up to cap of them to out
 * (may be NULL with cap 0) and returns how many there are.
 */
size_t rd_table_pools(rd_table_t *t, rd_table_range_t *out, size_t cap);

/*!
 * Publish newv at newv->addr in place of old (compare-and-swap):
 *   old == NULL: succeeds only if no version exists at that address;
 *   old != NULL: succeeds only if old is still the current version there.
 * newv == NULL removes old (old must not be NULL).
 * On success the table owns newv, stamps newv->seq (strictly increasing),
 * updates both indexes, the pool bitmap and stats, and frees old after a
 * grace period; returns 0.  On RD_ECONFLICT nothing changed and newv still
 * belongs to the caller.  RD_EINVAL if old and newv differ in address.
 * Call inside rcu_read_lock (see the contract above).
 */
int rd_table_replace(rd_table_t *t, const rd_lease_t *old, rd_lease_t *newv);

/*!
 * Bulk insert for start-up (the SQLite loader): no CAS, replaces whatever is
 * at l->addr.  Keeps l->seq if non-zero (and moves the table's counter past
 * it), else stamps a new one.  The table owns l afterwards.  0 or RD_EINVAL.
 */
int rd_table_load(rd_table_t *t, rd_lease_t *l);

/*! The current version at addr, or NULL.  Inside rcu_read_lock. */
const rd_lease_t *rd_table_by_addr(rd_table_t *t, uint32_t addr);

/*!
 * The client's lease in subnet (net, mask): among current versions with this
 * key and (addr & mask) == (net & mask), the ACTIVE one if any, else any
 * other state except ABANDONED, else ABANDONED; newest seq within a rank.
 * mask 0 means any subnet.  NULL if none.  Inside rcu_read_lock.
 */
const rd_lease_t *rd_table_by_client(rd_table_t *t, const uint8_t *key, size_t key_len,
				     uint32_t net, uint32_t mask);

/*! Callback for iteration; return non-zero to stop (that value is returned). */
typedef int (*rd_table_iter_cb)(void *ctx, const rd_lease_t *l);

/*!
 * Call cb for every current version with this client key (all subnets).
 * Returns 0 or cb's first non-zero value.  Inside rcu_read_lock.
 */
int rd_table_foreach_client(rd_table_t *t, const uint8_t *key, size_t key_len,
			    rd_table_iter_cb cb, void *ctx);

/*!
 * Call cb for every current version (address-index order, i.e. unordered).
 * Takes the read lock itself; cb may call rd_table_replace.  Returns 0 or
 * cb's first non-zero value.
 */
int rd_table_foreach(rd_table_t *t, rd_table_iter_cb cb, void *ctx);

/*! Number of current versions (exact when no writer is running). */
size_t rd_table_count(rd_table_t *t);

/*!
 * Claim an available address in [start, end] (clipped to the pools it
 * overlaps): first `hint` if it is in range and available, else scanning
 * from the pool's rotating cursor, preferring addresses with no previous
 * client.  On success *addr is set and its bit is held until a publish or
 * rd_table_unclaim clears it.  RD_ENOADDR when nothing is available,
 * RD_ENOPOOL if the range overlaps no pool.  Lock-free.
 */
int rd_table_claim(rd_table_t *t, uint32_t start, uint32_t end, uint32_t hint, uint32_t *addr);

/*!
 * Claim an address whose current version is BACKUP (the failover
 * secondary's free set, or the primary's in PARTNER-DOWN) in [start, end],
 * scanning from the pool's BACKUP cursor.  A third bitmap per block holds
 * "BACKUP and not claimed": publishing a BACKUP version (not flagged
 * RD_LEASE_F_RESERVED) sets the bit, any other version clears it, a claim
 * clears it with a CAS, so two claimers never get the same address, and
 * rd_table_unclaim sets it again if the address is still BACKUP.  The busy
 * bit of a BACKUP address stays set throughout, so rd_table_claim never
 * returns it.  As with rd_table_claim the bit is a hint: the caller checks
 * the current version, and rd_table_replace's CAS decides.  RD_ENOADDR
 * when no BACKUP address is left, RD_ENOPOOL if the range overlaps no
 * pool.  Lock-free.
 */
int rd_table_claim_backup(rd_table_t *t, uint32_t start, uint32_t end, uint32_t *addr);

/*!
 * Claim this exact address (requested or previous address).  0, RD_ECONFLICT
 * if it is not available, RD_ENOPOOL if it is in no pool.
 */
int rd_table_claim_addr(rd_table_t *t, uint32_t addr);

/*!
 * Give back a claim that was not published (the reply was abandoned).  If
 * the current version at addr keeps the address taken (e.g. someone
 * published ACTIVE meanwhile) the bit stays set.  Works for any address a
 * pool ever covered, so a claim whose address left the pools meanwhile is
 * given back too.  0, or RD_ENOPOOL if no pool ever covered addr.
 */
int rd_table_unclaim(rd_table_t *t, uint32_t addr);

/*! Snapshot of the pool containing addr.  0 or RD_ENOPOOL. */
int rd_table_pool_stats(rd_table_t *t, uint32_t addr, rd_table_pool_stats_t *out);

/*! Reports one expiry: oldv (ACTIVE) was replaced by newv (EXPIRED).  Inside rcu_read_lock. */
typedef void (*rd_table_expire_cb)(void *ctx, const rd_lease_t *oldv, const rd_lease_t *newv);

/*!
 * Move every ACTIVE lease with ends <= now to EXPIRED (a new version with the
 * same client, cltt/times untouched), reporting each through cb (may be NULL)
 * so the caller can persist it.  A lease renewed concurrently is skipped
 * (its CAS fails).  Returns the number of leases expired.  Calls are
 * serialised; cheap when nothing is due.
 */
size_t rd_table_expire(rd_table_t *t, uint32_t now, rd_table_expire_cb cb, void *ctx);
