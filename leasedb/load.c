/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * load.c — start-up load of the store into the lease table (see leasedb.h).
 *
 * Reading a million rows from SQLite and inserting a million versions into
 * two hash tables cost about the same (~1 s each on the project machine);
 * run one after the other they miss the 2 s start-up budget.  So a reader
 * thread runs rd_store_load and hands leases over in batches through a
 * small bounded queue, while the calling thread inserts them.  The queue is
 * bounded so a huge file never holds more than a few batches in flight.
 */
#include <pthread.h>
#include <stdlib.h>

#include "rackdhcp/leasedb.h"

#define BATCH     4096   /* leases per hand-over */
#define IN_FLIGHT 8      /* batches queued at most */

struct batch {
	size_t n;
	rd_lease_t *v[BATCH];
};

struct loader {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct batch *q[IN_FLIGHT];
	size_t head, count;
	bool done;                 /* reader finished (q may still hold batches) */
	bool stop;                 /* inserter failed: reader must stop */
	int reader_rc;
	rd_store_t *st;
	rd_store_load_stats_t *stats;
	struct batch *cur;         /* reader's batch being filled */
};

/* Reader side: queue a full (or final) batch, waiting for room. */
static int push(struct loader *L, struct batch *b)
{
	pthread_mutex_lock(&L->lock);
	while (L->count == IN_FLIGHT && !L->stop)
		pthread_cond_wait(&L->cond, &L->lock);
	if (L->stop) {
		pthread_mutex_unlock(&L->lock);
		return RD_EINVAL;
	}
	L->q[(L->head + L->count) % IN_FLIGHT] = b;
	L->count++;
	pthread_cond_broadcast(&L->cond);
	pthread_mutex_unlock(&L->lock);
	return 0;
}

static void free_batch(struct batch *b)
{
	for (size_t i = 0; b && i < b->n; i++)
		rd_lease_free(b->v[i]);
	free(b);
}

static int on_row(void *ctx, rd_lease_t *l)
{
	struct loader *L = ctx;
	if (!L->cur && !(L->cur = calloc(1, sizeof(*L->cur)))) {
		rd_lease_free(l);
		return RD_ENOMEM;
	}
	L->cur->v[L->cur->n++] = l;
	if (L->cur->n == BATCH) {
		struct batch *b = L->cur;
		L->cur = NULL;
		if (push(L, b) < 0) {
			free_batch(b);
			return RD_EINVAL;
		}
	}
	return 0;
}

static void *reader_main(void *arg)
{
	struct loader *L = arg;
	int rc = rd_store_load(L->st, on_row, L, L->stats);
	if (L->cur) {
		if (rc != 0 || push(L, L->cur) < 0)
			free_batch(L->cur);
		L->cur = NULL;
	}
	pthread_mutex_lock(&L->lock);
	L->reader_rc = rc;
	L->done = true;
	pthread_cond_broadcast(&L->cond);
	pthread_mutex_unlock(&L->lock);
	return NULL;
}

int rd_leasedb_load(rd_store_t *st, rd_table_t *t, rd_store_load_stats_t *stats)
{
	struct loader L = { .st = st, .stats = stats };
	pthread_t th;
	int rc = 0;

	pthread_mutex_init(&L.lock, NULL);
	pthread_cond_init(&L.cond, NULL);
	if (pthread_create(&th, NULL, reader_main, &L) != 0) {
		pthread_mutex_destroy(&L.lock);
		pthread_cond_destroy(&L.cond);
		return RD_ENOMEM;
	}
	for (;;) {
		pthread_mutex_lock(&L.lock);
		while (L.count == 0 && !L.done)
			pthread_cond_wait(&L.cond, &L.lock);
		if (L.count == 0) {          /* done and drained */
			pthread_mutex_unlock(&L.lock);
			break;
		}
		struct batch *b = L.q[L.head];
		L.head = (L.head + 1) % IN_FLIGHT;
		L.count--;
		pthread_cond_broadcast(&L.cond);
		pthread_mutex_unlock(&L.lock);

		size_t i = 0;
		for (; i < b->n && rc == 0; i++)
			rc = rd_table_load(t, b->v[i]);   /* the table owns each lease now */
		for (; i < b->n; i++)
			rd_lease_free(b->v[i]);
		free(b);
		if (rc != 0) {
			pthread_mutex_lock(&L.lock);
			L.stop = true;
			pthread_cond_broadcast(&L.cond);
			pthread_mutex_unlock(&L.lock);
		}
	}
	pthread_join(th, NULL);
	/* Batches queued after a failure are still ours to free. */
	while (L.count) {
		free_batch(L.q[L.head]);
		L.head = (L.head + 1) % IN_FLIGHT;
		L.count--;
	}
	pthread_mutex_destroy(&L.lock);
	pthread_cond_destroy(&L.cond);
	return rc ? rc : L.reader_rc;
}
