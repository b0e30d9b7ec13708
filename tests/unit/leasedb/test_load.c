/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_load.c — tests for leasedb/load.c: every stored lease reaches the
 * table with its fields, sequence numbers continue above the stored ones,
 * an empty store loads nothing, and a load of several batches (more than
 * the reader's in-flight window) neither loses nor leaks a lease.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rackdhcp/leasedb.h"
#include "rackdhcp/rcu.h"
#include "tap.h"

#define N 50000u   /* > 8 batches of 4096: the queue fills and drains */

static void quiet(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)msg;
}

static rd_lease_t *mk(uint32_t addr)
{
	const uint8_t cid[5] = { 0xff, (uint8_t)(addr >> 24), (uint8_t)(addr >> 16), (uint8_t)(addr >> 8),
				 (uint8_t)addr };
	rd_lease_t *l = rd_lease_new(addr, cid, sizeof(cid), "node", 4);
	if (!l)
		bail_out("out of memory");
	l->state = RD_LEASE_ACTIVE;
	l->starts = 1700000000u;
	l->ends = 1700000600u + addr % 1000;
	l->cltt = l->starts;
	l->flags = RD_LEASE_F_KEY_CID;
	l->htype = 1;
	l->hlen = 6;
	memcpy(l->chaddr, cid, 5);
	return l;
}

static int drop(void *ctx, const rd_lease_t *l)
{
	(void)l;
	(*(size_t *)ctx)++;
	return 0;
}

int main(void)
{
	char dir[] = "/tmp/rd-test-load-XXXXXX", path[256], err[512];
	rd_store_opts_t o = { .no_history = true, .block_when_full = true, .log = quiet };
	rd_store_t *st;
	rd_store_load_stats_t ls;

	plan_lazy();
	if (!mkdtemp(dir))
		bail_out("mkdtemp failed");
	snprintf(path, sizeof(path), "%s/leases.db", dir);
	rcu_register_thread();

	/* An empty store loads nothing. */
	is_int(rd_store_open(path, RD_STORE_RELAXED, &o, &st, err, sizeof(err)), 0, "create store");
	rd_table_t *t = rd_table_new(16);
	is_int(rd_leasedb_load(st, t, &ls), 0, "empty store loads");
	is_int((long long)rd_table_count(t), 0, "empty store: empty table");
	rd_table_free(t);

	for (uint32_t i = 0; i < N; i++) {
		rd_lease_t *l = mk(0x0a000001u + i);
		l->seq = 1000 + i;
		if (rd_store_submit(st, l, NULL, NULL, NULL) != 0)
			bail_out("submit failed");
		rd_lease_free(l);
	}
	is_int(rd_store_flush(st), 0, "stored %u leases", N);
	rd_store_close(st);

	is_int(rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err)), 0, "reopen");
	t = rd_table_new(N);
	memset(&ls, 0, sizeof(ls));
	is_int(rd_leasedb_load(st, t, &ls), 0, "load into the table");
	rd_store_close(st);
	is_int((long long)ls.loaded, N, "store reports every row loaded");
	is_int((long long)rd_table_count(t), N, "table holds every lease");

	rcu_read_lock();
	bool fields = true;
	for (uint32_t i = 0; i < N; i += 997) {
		const rd_lease_t *l = rd_table_by_addr(t, 0x0a000001u + i);
		rd_lease_t *want = mk(0x0a000001u + i);
		uint8_t k1[RD_LEASE_KEY_MAX], k2[RD_LEASE_KEY_MAX];
		if (!l || l->state != want->state || l->ends != want->ends || l->seq != 1000 + i ||
		    rd_lease_key(l, k1) != rd_lease_key(want, k2) || memcmp(k1, k2, rd_lease_key(want, k2)) != 0)
			fields = false;
		rd_lease_free(want);
	}
	ok(fields, "sampled leases keep state, times, stored seq and client key");
	const rd_lease_t *any = rd_table_by_addr(t, 0x0a000001u);
	rd_lease_t *nv = any ? rd_lease_dup(any, rd_lease_cid(any), any->cid_len, NULL, 0) : NULL;
	if (nv && rd_table_replace(t, any, nv) == 0)
		ok(nv->seq > 1000 + N - 1, "a change after the load gets a seq above every stored one (%llu)",
		   (unsigned long long)nv->seq);
	else
		ok(false, "replace after load");
	rcu_read_unlock();

	size_t seen = 0;
	rcu_read_lock();
	rd_table_foreach(t, drop, &seen);
	rcu_read_unlock();
	is_int((long long)seen, N, "iteration sees every loaded lease once");
	rd_table_free(t);

	rcu_unregister_thread();
	unlink(path);
	snprintf(err, sizeof(err), "%s/leases.db-wal", dir);
	unlink(err);
	snprintf(err, sizeof(err), "%s/leases.db-shm", dir);
	unlink(err);
	rmdir(dir);
	return done_testing();
}
