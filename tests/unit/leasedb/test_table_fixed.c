/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_table_fixed.c — rd_table_new_fixed (the replay's table: never
 * resized) holding far more leases than it was sized for, and the address
 * hash that keeps runs of neighbouring addresses together: every lease is
 * found by address and by client, across run boundaries and in two /16s
 * whose addresses share their low 16 bits; replace, expiry, iteration,
 * claims and a leak-free rd_table_free (LeakSanitizer in the sanitizer
 * build) work as on a resizable table; prefetch hints change nothing.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "rackdhcp/table.h"
#include "table_fixture.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define N 2048u   /* per /16: 32 times the 64 buckets asked for */

static rd_lease_t *mk(uint32_t addr, unsigned mac, uint32_t ends)
{
	return fixture_lease(addr, RD_LEASE_ACTIVE, mac, ends);
}

static size_t key_of(unsigned mac, uint8_t *key)
{
	return fixture_key(mac, key);
}

static int count_cb(void *ctx, const rd_lease_t *l)
{
	(void)l;
	(*(unsigned *)ctx)++;
	return 0;
}

/* Address of lease i: the first N in 10.1/16, the next N at the same low bits in 10.2/16. */
static uint32_t addr_of(unsigned i)
{
	return (i < N ? IP(10, 1, 0, 0) : IP(10, 2, 0, 0)) + i % N;
}

int main(void)
{
	uint8_t key[RD_LEASE_KEY_MAX];

	plan_lazy();
	rcu_register_thread();
	rd_table_t *t = rd_table_new_fixed(64);
	ok(t != NULL, "fixed-size table created");
	if (!t)
		bail_out("no table");
	is_int(rd_table_add_pool(t, IP(10, 1, 0, 0), IP(10, 1, 0, 0) + N - 1, NULL), 0, "pool registered");

	rcu_read_lock();
	int bad = 0;
	for (unsigned i = 0; i < 2 * N; i++)
		if (rd_table_replace(t, NULL, mk(addr_of(i), i + 1, 100)) != 0)
			bad++;
	is_int(bad, 0, "4096 leases inserted into a table sized for 64");
	is_int((long long)rd_table_count(t), 2 * N, "count 4096");

	int by_addr = 0, by_client = 0;
	for (unsigned i = 0; i < 2 * N; i++) {
		const rd_lease_t *l = rd_table_by_addr(t, addr_of(i));
		if (l && l->addr == addr_of(i) && l->chaddr[5] == (uint8_t)(i + 1))
			by_addr++;
		size_t kl = key_of(i + 1, key);
		l = rd_table_by_client(t, key, kl, 0, 0);
		if (l && l->addr == addr_of(i))
			by_client++;
	}
	is_int(by_addr, 2 * N, "every lease found by address (runs and /16s with equal low bits apart)");

	is_int(by_client, 2 * N, "every lease found by client");
	ok(rd_table_by_addr(t, IP(10, 3, 0, 0)) == NULL && rd_table_by_addr(t, addr_of(N - 1) + 1) == NULL,
	   "addresses never inserted are not found");

	/* Renew every other lease of 10.1/16: those must survive the expiry. */
	bad = 0;
	for (unsigned i = 0; i < N; i += 2) {
		const rd_lease_t *cur = rd_table_by_addr(t, addr_of(i));
		rd_lease_t *nv = cur ? rd_lease_dup(cur, NULL, 0, NULL, 0) : NULL;
		if (!nv)
			bail_out("out of memory");
		nv->ends = 1000;
		if (rd_table_replace(t, cur, nv) != 0) {
			rd_lease_free(nv);
			bad++;
		}
	}
	is_int(bad, 0, "half of 10.1/16 renewed");
	rcu_read_unlock();

	/* Prefetch hints (the replay's look-ahead) for present, absent and
	 * empty keys, outside any read section as allowed, on this table and
	 * on a resizable one: no effect. */
	rd_table_t *plain = rd_table_new(0);
	for (unsigned i = 0; i < 2 * N + 8; i++) {
		size_t kl = key_of(i + 1, key);
		rd_table_prefetch_client(t, key, kl, 0);
		rd_table_prefetch_client(t, key, kl, 1);
		if (plain)
			rd_table_prefetch_client(plain, key, kl, 1);
	}
	rd_table_prefetch_client(t, NULL, 0, 1);
	rd_table_prefetch_client(t, key, 0, 0);
	rd_table_free(plain);
	is_int((long long)rd_table_count(t), 2 * N, "prefetch hints change nothing");

	is_int((long long)rd_table_expire(t, 200, NULL, NULL), N + N / 2,
	       "expiry at 200 takes the 10.2/16 leases and the unrenewed half of 10.1/16");

	rcu_read_lock();
	int active = 0, expired = 0;
	for (unsigned i = 0; i < 2 * N; i++) {
		size_t kl = key_of(i + 1, key);
		const rd_lease_t *l = rd_table_by_client(t, key, kl, 0, 0);
		bool renewed = i < N && i % 2 == 0;
		if (l && renewed && l->state == RD_LEASE_ACTIVE && l->ends == 1000)
			active++;
		if (l && !renewed && l->state == RD_LEASE_EXPIRED && l->addr == addr_of(i))
			expired++;
	}
	rcu_read_unlock();
	is_int(active, N / 2, "renewed leases still ACTIVE, found by client");
	is_int(expired, N + N / 2, "expired leases EXPIRED, the client index follows");

	unsigned n = 0;
	rd_table_foreach(t, count_cb, &n);
	is_int((long long)n, 2 * N, "iteration sees every version once");

	uint32_t a = 0;
	is_int(rd_table_claim(t, IP(10, 1, 0, 0), IP(10, 1, 0, 0) + N - 1, 0, &a), 0, "claim in the pool");
	ok(a >= IP(10, 1, 0, 0) && a < IP(10, 1, 0, 0) + N && (a - IP(10, 1, 0, 0)) % 2 == 1,
	   "the claimed address is an expired one, not a renewed one");
	is_int(rd_table_unclaim(t, a), 0, "unclaimed");

	rd_table_free(t);
	rcu_unregister_thread();
	return done_testing();
}
