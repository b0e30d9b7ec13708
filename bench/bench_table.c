/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bench_table.c — lease table benchmark (make bench; never a timed test).
 *
 * With 1 M leases loaded (client-id 7 bytes, hostname 10 bytes, as a typical
 * rack client sends), measures:
 *   - rd_table_load of 1 M leases (and with the allocation of each lease);
 *   - memory per lease: malloc'd bytes (mallinfo2) and RSS growth divided by
 *     the lease count, hash-table buckets and pool bitmaps included;
 *   - lookups/s by address and by client, 1 and 2 threads, one
 *     rcu_read_lock section per lookup as a packet worker would do;
 *   - allocations/s: rd_table_claim + build a version + rd_table_replace,
 *     1 and 2 threads;
 *   - one expiry scan over the table;
 *   - two live pool changes (rd_table_set_pools): the time writers wait.
 * Each timed phase runs for a fixed wall time, so the whole run stays
 * well under a minute.  Every thread registers with RCU (table.h contract).
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/table.h"

#define N_LEASES   (1u << 20)
#define POOL_START 0x0a000000u            /* 10.0.0.0 */
#define POOL_SIZE  (2u * N_LEASES)          /* half loaded, half free for allocation */
#define PHASE_SEC  1.0

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Client i: client-id 01:02:00:<i as 4 bytes>, as a MAC-derived client-id. */
static void client_id(uint32_t i, uint8_t cid[7])
{
	cid[0] = 1;
	cid[1] = 2;
	cid[2] = 0;
	cid[3] = (uint8_t)(i >> 24);
	cid[4] = (uint8_t)(i >> 16);
	cid[5] = (uint8_t)(i >> 8);
	cid[6] = (uint8_t)i;
}

static rd_lease_t *make_lease(uint32_t addr, uint32_t client, uint32_t ends)
{
	uint8_t cid[7];
	char host[11];

	client_id(client, cid);
	snprintf(host, sizeof(host), "node%06u", client % 1000000u);
	rd_lease_t *l = rd_lease_new(addr, cid, sizeof(cid), host, 10);
	if (!l) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	l->flags = RD_LEASE_F_KEY_CID;
	l->state = RD_LEASE_ACTIVE;
	l->htype = 1;
	l->hlen = 6;
	memcpy(l->chaddr, cid + 1, 6);
	l->starts = 1000;
	l->cltt = 1000;
	l->ends = ends;
	return l;
}

/* ---------------------------------------------------------------- workers */

enum op { OP_BY_ADDR, OP_BY_CLIENT, OP_ALLOC };

struct worker {
	rd_table_t *t;
	enum op op;
	double stop_at;
	uint64_t seed;
	uint64_t ops, misses;
	pthread_t th;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t cid[7];

	rcu_register_thread();
	for (;;) {
		if ((w->ops & 1023) == 0 && now_s() >= w->stop_at)
			break;
		uint32_t i = (uint32_t)(xorshift(&w->seed) % N_LEASES);
		if (w->op == OP_BY_ADDR) {
			rcu_read_lock();
			const rd_lease_t *l = rd_table_by_addr(w->t, POOL_START + i);
			w->misses += !l || l->addr != POOL_START + i;
			rcu_read_unlock();
		} else if (w->op == OP_BY_CLIENT) {
			client_id(i, cid);
			rcu_read_lock();
			const rd_lease_t *l = rd_table_by_client(w->t, cid, sizeof(cid), 0x0a000000, 0xf0000000);
			w->misses += !l;
			rcu_read_unlock();
		} else {
			uint32_t a;
			if (rd_table_claim(w->t, POOL_START, POOL_START + POOL_SIZE - 1, 0, &a)) {
				w->misses++;
				break;   /* pool exhausted */
			}
			rcu_read_lock();
			const rd_lease_t *cur = rd_table_by_addr(w->t, a);
			rd_lease_t *nv = make_lease(a, N_LEASES + (uint32_t)xorshift(&w->seed) % N_LEASES, 200000);
			if (rd_table_replace(w->t, cur, nv)) {
				rd_lease_free(nv);
				w->misses++;
			}
			rcu_read_unlock();
		}
		w->ops++;
	}
	rcu_unregister_thread();
	return NULL;
}

static double run(rd_table_t *t, enum op op, int nthreads, uint64_t *misses)
{
	struct worker w[2];
	double t0 = now_s();

	for (int i = 0; i < nthreads; i++) {
		w[i] = (struct worker){ .t = t, .op = op, .stop_at = t0 + PHASE_SEC,
					.seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1) + 1 };
		pthread_create(&w[i].th, NULL, worker_main, &w[i]);
	}
	uint64_t ops = 0;
	*misses = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(w[i].th, NULL);
		ops += w[i].ops;
		*misses += w[i].misses;
	}
	return (double)ops / (now_s() - t0);
}

static void row(const char *what, const char *value, const char *note)
{
	printf("  %-38s %16s   %s\n", what, value, note);
}

int main(void)
{
	char buf[64], note[96];
	uint64_t misses;

	rcu_register_thread();
	printf("lease table: %u leases loaded (cid 7 B, hostname 10 B), pool of %u addresses, %.1f s per phase\n",
	       N_LEASES, POOL_SIZE, PHASE_SEC);

	/* Build the leases first so load time is the table's own cost. */
	rd_lease_t **v = malloc(N_LEASES * sizeof(*v));
	if (!v)
		return 1;
	struct mallinfo2 m0 = mallinfo2();
	long rss0 = rss_kb();
	double t0 = now_s();
	for (uint32_t i = 0; i < N_LEASES; i++)
		v[i] = make_lease(POOL_START + i, i, 100000 + i % 3600);
	double t_alloc = now_s() - t0;
	struct mallinfo2 m1 = mallinfo2();

	rd_table_t *t = rd_table_new(N_LEASES);
	if (!t || rd_table_add_pool(t, POOL_START, POOL_START + POOL_SIZE - 1, NULL))
		return 1;
	t0 = now_s();
	for (uint32_t i = 0; i < N_LEASES; i++)
		rd_table_load(t, v[i]);
	double t_load = now_s() - t0;
	struct mallinfo2 m2 = mallinfo2();
	long rss2 = rss_kb();
	free(v);

	printf("\n  %-38s %16s   %s\n", "measure", "value", "notes");
	snprintf(buf, sizeof(buf), "%.0f ms", t_load * 1e3);
	snprintf(note, sizeof(note), "%.0f ns/lease; +%.0f ms to allocate the versions",
		 t_load * 1e9 / N_LEASES, t_alloc * 1e3);
	row("rd_table_load, 1 M leases", buf, note);
	snprintf(buf, sizeof(buf), "%.1f B", (double)(m2.uordblks - m0.uordblks) / N_LEASES);
	snprintf(note, sizeof(note), "version %.1f B (struct %zu + tail 17 + malloc), index+pool %.1f B",
		 (double)(m1.uordblks - m0.uordblks) / N_LEASES, sizeof(rd_lease_t),
		 (double)(m2.uordblks - m1.uordblks) / N_LEASES);
	row("memory per lease (malloc)", buf, note);
	snprintf(buf, sizeof(buf), "%.1f B", (double)(rss2 - rss0) * 1024 / N_LEASES);
	row("memory per lease (RSS growth)", buf, "target <= 200 B");

	double r;
	r = run(t, OP_BY_ADDR, 1, &misses);
	snprintf(buf, sizeof(buf), "%.2f M/s", r / 1e6);
	snprintf(note, sizeof(note), "misses %llu", (unsigned long long)misses);
	row("lookup by address, 1 thread", buf, note);
	r = run(t, OP_BY_ADDR, 2, &misses);
	snprintf(buf, sizeof(buf), "%.2f M/s", r / 1e6);
	snprintf(note, sizeof(note), "misses %llu", (unsigned long long)misses);
	row("lookup by address, 2 threads", buf, note);
	r = run(t, OP_BY_CLIENT, 1, &misses);
	snprintf(buf, sizeof(buf), "%.2f M/s", r / 1e6);
	snprintf(note, sizeof(note), "misses %llu", (unsigned long long)misses);
	row("lookup by client (in subnet), 1 thread", buf, note);
	r = run(t, OP_BY_CLIENT, 2, &misses);
	snprintf(buf, sizeof(buf), "%.2f M/s", r / 1e6);
	snprintf(note, sizeof(note), "misses %llu", (unsigned long long)misses);
	row("lookup by client (in subnet), 2 threads", buf, note);

	r = run(t, OP_ALLOC, 1, &misses);
	snprintf(buf, sizeof(buf), "%.0f k/s", r / 1e3);
	snprintf(note, sizeof(note), "claim + new version + replace; failures %llu", (unsigned long long)misses);
	row("allocations, 1 thread", buf, note);
	r = run(t, OP_ALLOC, 2, &misses);
	snprintf(buf, sizeof(buf), "%.0f k/s", r / 1e3);
	snprintf(note, sizeof(note), "failures %llu (exhaustion ends the phase)", (unsigned long long)misses);
	row("allocations, 2 threads", buf, note);

	/* Expire the ~1/3600 of loaded leases ending at 100000: a full scan. */
	size_t count = rd_table_count(t);
	t0 = now_s();
	size_t n = rd_table_expire(t, 100000, NULL, NULL);
	double t_exp = now_s() - t0;
	snprintf(buf, sizeof(buf), "%.1f ms", t_exp * 1e3);
	snprintf(note, sizeof(note), "%zu of %zu leases expired", n, count);
	row("expiry scan", buf, note);
	t0 = now_s();
	rd_table_expire(t, 100000, NULL, NULL);
	snprintf(buf, sizeof(buf), "%.0f ns", (now_s() - t0) * 1e9);
	row("expiry call, nothing due", buf, "next-expiry gate, no scan");

	/* Live pool changes: how long writers wait (every stripe is held while
	 * what is new is seeded; claims and lookups do not wait). */
	rd_table_range_t grow = { POOL_START, POOL_START + POOL_SIZE - 1 + 65536, NULL };
	t0 = now_s();
	int rc = rd_table_set_pools(t, &grow, 1);
	snprintf(buf, sizeof(buf), "%.1f ms", (now_s() - t0) * 1e3);
	row("pool grown by 64 k addresses", buf, rc ? "failed" : "writers wait: 64 k lookups seed new blocks, 64 k count");
	rd_table_range_t shrunk = { POOL_START + 16, POOL_START + POOL_SIZE - 1, NULL };
	t0 = now_s();
	rc = rd_table_set_pools(t, &shrunk, 1);
	snprintf(buf, sizeof(buf), "%.1f ms", (now_s() - t0) * 1e3);
	row("pool shrunk by 16 + 64 k addresses", buf, rc ? "failed" : "writers wait: the addresses that left are counted");

	t0 = now_s();
	rd_table_free(t);
	snprintf(buf, sizeof(buf), "%.0f ms", (now_s() - t0) * 1e3);
	row("rd_table_free", buf, "");
	rcu_unregister_thread();
	return 0;
}
