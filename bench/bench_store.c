/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bench_store — speed of the SQLite lease store (make bench; not a test).
 *
 *  1. durable changes/s with group commit: several producer threads submit
 *     lease changes (durability sync, history on) for a few seconds; the
 *     rate counts completions, i.e. changes known to be on stable storage.
 *  2. the same with one transaction (one fsync) per change: one thread in a
 *     rd_store_submit_wait loop — what the rate would be without batching.
 *  3. open (quick_check) and load of 1,000,000 leases.
 *
 * Targets: >= 50,000 durable changes/s with group commit; <= 2 s to load 1M.
 * Files go to $RD_BENCH_DIR, else /var/tmp (on disk on most systems; /tmp
 * may be tmpfs, where fsync costs nothing and numbers flatter).  The
 * filesystem type is printed.  Runtime is bounded to well under a minute.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/store.h"
#include "rackdhcp/leasedb.h"
#include "rackdhcp/rcu.h"

#define PRODUCERS 4
#define GROUP_SECONDS 5.0
#define SINGLE_SECONDS 3.0
#define LOAD_LEASES 1000000u

static char dir[256];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void quiet(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level <= RD_STORE_LOG_WARNING)
		fprintf(stderr, "store: %s\n", msg);
}

static void cleanup(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];
	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(dir);
}

static rd_lease_t *mk(uint32_t addr, uint64_t seq)
{
	/* One client per address, as in a real lease file (the table's client
	 * index is not built for a million leases of one client). */
	const uint8_t cid[7] = { 1, 0x52, 0x54, (uint8_t)(addr >> 24), (uint8_t)(addr >> 16),
				 (uint8_t)(addr >> 8), (uint8_t)addr };
	rd_lease_t *l = rd_lease_new(addr, cid, sizeof(cid), "node-bench-01", 13);
	if (!l)
		abort();
	l->seq = seq;
	l->state = RD_LEASE_ACTIVE;
	l->starts = 1700000000u;
	l->ends = l->starts + 3600;
	l->cltt = l->starts;
	l->flags = RD_LEASE_F_KEY_CID;
	l->htype = 1;
	l->hlen = 6;
	memcpy(l->chaddr, cid + 1, 6);
	return l;
}

static atomic_ulong completed;
static atomic_bool stop;
static atomic_ulong seq_gen;

static void done(void *ctx, int status)
{
	(void)ctx;
	if (status == 0)
		atomic_fetch_add_explicit(&completed, 1, memory_order_relaxed);
}

static void *producer(void *arg)
{
	rd_store_t *st = arg;
	unsigned x = (unsigned)(uintptr_t)&arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		x = x * 1103515245u + 12345u;
		rd_lease_t *l = mk(0x0a000001 + (x >> 8) % 200000, atomic_fetch_add(&seq_gen, 1));
		rd_store_submit(st, l, "ack", done, NULL);
		rd_lease_free(l);
	}
	return NULL;
}

static void bench_group(void)
{
	char path[300], err[512];
	snprintf(path, sizeof(path), "%s/group.db", dir);
	rd_store_opts_t o = { .block_when_full = true, .log = quiet };
	rd_store_t *st;
	if (rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	pthread_t th[PRODUCERS];
	double t0 = now();
	for (int i = 0; i < PRODUCERS; i++)
		pthread_create(&th[i], NULL, producer, st);
	usleep((useconds_t)(GROUP_SECONDS * 1e6));
	atomic_store(&stop, true);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);
	rd_store_flush(st);
	double t = now() - t0;
	rd_store_stats_t s;
	rd_store_stats(st, &s);
	rd_store_close(st);
	unsigned long n = atomic_load(&completed);
	printf("group commit (sync, history on, %d producers): %lu durable changes in %.2f s = %.0f changes/s\n",
	       PRODUCERS, n, t, n / t);
	printf("    %llu commits (%.0f fsyncs/s), %.1f changes/commit, largest batch %llu, %llu coalesced\n",
	       (unsigned long long)s.commits, s.commits / t, (double)s.completed / (double)(s.commits ? s.commits : 1),
	       (unsigned long long)s.max_batch, (unsigned long long)s.coalesced);
}

static void bench_single(void)
{
	char path[300], err[512];
	snprintf(path, sizeof(path), "%s/single.db", dir);
	rd_store_opts_t o = { .log = quiet };
	rd_store_t *st;
	if (rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	unsigned long n = 0;
	double t0 = now(), t;
	while ((t = now() - t0) < SINGLE_SECONDS) {
		rd_lease_t *l = mk(0x0a000001 + n % 200000, n);
		if (rd_store_submit_wait(st, l, "ack") == 0)
			n++;
		rd_lease_free(l);
	}
	rd_store_close(st);
	printf("one transaction per change (sync, submit_wait loop): %lu changes in %.2f s = %.0f changes/s\n", n, t,
	       n / t);
}

struct sink {
	rd_lease_t **v;
	size_t n;
};

static int keep(void *ctx, rd_lease_t *l)
{
	struct sink *s = ctx;
	s->v[s->n++] = l;
	return s->n > LOAD_LEASES ? -1 : 0;
}

static void bench_load(void)
{
	char path[300], err[512];
	snprintf(path, sizeof(path), "%s/load.db", dir);
	rd_store_opts_t o = { .block_when_full = true, .no_history = true, .batch_max = 65536, .log = quiet };
	rd_store_t *st;
	if (rd_store_open(path, RD_STORE_RELAXED, &o, &st, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	double t0 = now();
	for (uint32_t i = 0; i < LOAD_LEASES; i++) {
		rd_lease_t *l = mk(0x0a000001 + i, i);
		rd_store_submit(st, l, NULL, NULL, NULL);
		rd_lease_free(l);
	}
	rd_store_flush(st);
	rd_store_close(st);
	printf("fill %u leases (relaxed, no history): %.2f s\n", LOAD_LEASES, now() - t0);

	struct sink s = { calloc(LOAD_LEASES + 1, sizeof(rd_lease_t *)), 0 };
	rd_store_load_stats_t ls;
	if (!s.v)
		exit(1);
	o = (rd_store_opts_t){ .log = quiet };
	t0 = now();
	if (rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	double t1 = now();
	int rc = rd_store_load(st, keep, &s, &ls);
	double t2 = now();
	rd_store_close(st);
	printf("open (quick_check) %.2f s + load %zu leases %.2f s = %.2f s (rc %d, %zu skipped)\n", t1 - t0,
	       ls.loaded, t2 - t1, t2 - t0, rc, ls.skipped);
	for (size_t i = 0; i < s.n; i++)
		rd_lease_free(s.v[i]);
	free(s.v);

	/* The daemon's whole start-up: open, check, load every row straight
	 * into the lease table. */
	rcu_register_thread();
	rd_table_t *t = rd_table_new(LOAD_LEASES);
	rd_store_load_stats_t ls2;
	t0 = now();
	if (!t || rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err))) {
		fprintf(stderr, "%s\n", t ? err : "no table");
		exit(1);
	}
	rc = rd_leasedb_load(st, t, &ls2);
	t1 = now();
	rd_store_close(st);
	printf("start-up: open + check + load %zu leases into the lease table (reader and inserter overlapped): %.2f s (rc %d, table holds %zu)\n",
	       ls2.loaded, t1 - t0, rc, rd_table_count(t));
	rd_table_free(t);
	rcu_unregister_thread();
}

int main(void)
{
	const char *base = getenv("RD_BENCH_DIR");
	if (!base || !*base)
		base = "/var/tmp";
	snprintf(dir, sizeof(dir), "%s/rd_bench_store.XXXXXX", base);
	if (!mkdtemp(dir)) {
		perror(dir);
		return 1;
	}
	struct statfs sf;
	const char *fs = "unknown";
	if (statfs(dir, &sf) == 0) {
		switch ((unsigned long)sf.f_type) {
		case 0x01021994: fs = "tmpfs (fsync is free: durable numbers are optimistic)"; break;
		case 0xEF53:     fs = "ext2/3/4"; break;
		case 0x58465342: fs = "xfs"; break;
		case 0x9123683E: fs = "btrfs"; break;
		case 0x794c7630: fs = "overlayfs"; break;
		default:         break;
		}
	}
	printf("store bench in %s, filesystem: %s (f_type 0x%lx)\n", dir, fs, (unsigned long)sf.f_type);
	bench_group();
	bench_single();
	bench_load();
	cleanup();
	return 0;
}
