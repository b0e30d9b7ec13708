/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_store — the SQLite lease store: round trip of every field, schema
 * version and refusals (newer schema, garbage, integrity failure, foreign
 * file) that leave the file untouched, group commit under several producer
 * threads, crash consistency (a child killed right after submit_wait),
 * the batch-end hook (once per batch, after its completions, on the writer),
 * the group window (no wake-up per change inside it; a full batch ends it),
 * relaxed mode, history retention, disk-full errors reaching completions,
 * online backup, file mode, the row validation rules, and the region view
 * (schema 3): migration of a version-2 file that keeps its leases, and the
 * one-row put/get with its refusals.
 *
 * Every test works in its own mkdtemp directory under /tmp, removed at the end.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rackdhcp/store.h"
#include "tap.h"

static char dir[64];

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void rm_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];
	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			path_of(p, sizeof(p), e->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(dir);
}

/* Log sink that remembers the last message (tests check what is said). */
static char last_log[1024];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static void test_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	pthread_mutex_lock(&log_lock);
	snprintf(last_log, sizeof(last_log), "%s", msg);
	pthread_mutex_unlock(&log_lock);
	if (level <= RD_STORE_LOG_WARNING)
		diag("store log: %s", msg);
}

static rd_store_opts_t quiet_opts(void)
{
	rd_store_opts_t o = { 0 };
	o.log = test_log;
	return o;
}

/* A lease with every field set to something recognisable from i. */
static rd_lease_t *mk_lease(uint32_t addr, unsigned i)
{
	char host[32];
	uint8_t cid[8] = { 1, 0x52, 0x54, 0, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 0xee };
	int hl = snprintf(host, sizeof(host), "host-%u", i);
	rd_lease_t *l = rd_lease_new(addr, cid, i % 3 ? sizeof(cid) : 0, host, i % 5 ? (size_t)hl : 0);
	if (!l)
		bail_out("out of memory");
	l->seq = 1000 + i;
	l->state = (uint8_t)(1 + i % 7);
	l->starts = 1700000000u + i;
	l->ends = l->starts + 3600;
	l->tstp = l->ends + 1;
	l->tsfp = l->ends + 2;
	l->atsfp = l->ends + 3;
	l->cltt = l->starts + 5;
	l->flags = (uint16_t)((i % 3 ? RD_LEASE_F_KEY_CID : 0) | (i & 1 ? RD_LEASE_F_PXE : 0) | 0x4000);
	l->htype = 1;
	l->hlen = (uint8_t)(i % 4 == 3 ? 0 : 6);
	for (int k = 0; k < l->hlen; k++)
		l->chaddr[k] = (uint8_t)(0x10 * k + i);
	return l;
}

static bool same_lease(const rd_lease_t *a, const rd_lease_t *b)
{
	return a->addr == b->addr && a->seq == b->seq && a->state == b->state && a->starts == b->starts &&
	       a->ends == b->ends && a->tstp == b->tstp && a->tsfp == b->tsfp && a->atsfp == b->atsfp &&
	       a->cltt == b->cltt && a->flags == b->flags && a->htype == b->htype && a->hlen == b->hlen &&
	       !memcmp(a->chaddr, b->chaddr, a->hlen) && a->cid_len == b->cid_len &&
	       a->host_len == b->host_len && !memcmp(a->data, b->data, a->cid_len + a->host_len);
}

/* Loaded leases, indexed by address - base. */
struct loaded {
	uint32_t base;
	size_t cap, n;
	rd_lease_t **v;
};

static int collect(void *ctx, rd_lease_t *l)
{
	struct loaded *ld = ctx;
	if (l->addr < ld->base || l->addr - ld->base >= ld->cap || ld->v[l->addr - ld->base]) {
		rd_lease_free(l);
		return -1;
	}
	ld->v[l->addr - ld->base] = l;
	ld->n++;
	return 0;
}

static void loaded_init(struct loaded *ld, uint32_t base, size_t cap)
{
	ld->base = base;
	ld->cap = cap;
	ld->n = 0;
	ld->v = calloc(cap, sizeof(*ld->v));
	if (!ld->v)
		bail_out("out of memory");
}

static void loaded_free(struct loaded *ld)
{
	for (size_t i = 0; i < ld->cap; i++)
		rd_lease_free(ld->v[i]);
	free(ld->v);
}

static int load_into(const char *path, struct loaded *ld, rd_store_load_stats_t *ls)
{
	rd_store_opts_t o = quiet_opts();
	rd_store_t *st;
	char err[512];
	int rc = rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err));
	if (rc) {
		diag("open %s: %s", path, err);
		return rc;
	}
	rc = rd_store_load(st, collect, ld, ls);
	rd_store_close(st);
	return rc;
}

static int64_t sql_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int64_t v = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			v = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return v;
}

static int sql_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	int rc = sqlite3_open(path, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static void *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	void *p = malloc(n > 0 ? (size_t)n : 1);
	*len = p && fread(p, 1, (size_t)n, f) == (size_t)n ? (size_t)n : 0;
	fclose(f);
	return p;
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n)
		bail_out("cannot write %s", path);
	fclose(f);
}

/* ------------------------------------------------------------ tests */

static void test_round_trip(void)
{
	char path[256], err[512];
	path_of(path, sizeof(path), "rt.db");
	rd_store_opts_t o = quiet_opts();
	rd_store_t *st;

	is_int(rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err)), 0, "create %s", path);
	if (!st)
		return;
	struct stat sb;
	ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "file mode is 0600 (got %03o)",
	   (unsigned)sb.st_mode & 0777);
	const unsigned n = 40;
	int bad = 0;
	for (unsigned i = 0; i < n; i++) {
		rd_lease_t *l = mk_lease(0x0a000001 + i, i);
		bad += rd_store_submit_wait(st, l, "test") != 0;
		rd_lease_free(l);
	}
	is_int(bad, 0, "%u submit_wait calls succeed", n);
	ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "still 0600 after writes");
	char wal[300];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	ok(stat(wal, &sb) == 0 && (sb.st_mode & 0777) == 0600, "WAL file is 0600 too");
	rd_store_close(st);

	is_int(sql_int(path, "PRAGMA user_version"), RD_STORE_SCHEMA_VERSION, "schema version stored");
	{
		sqlite3 *db;
		sqlite3_stmt *s;
		char mode[16] = "";
		if (sqlite3_open(path, &db) == SQLITE_OK &&
		    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL) == SQLITE_OK) {
			if (sqlite3_step(s) == SQLITE_ROW)
				snprintf(mode, sizeof(mode), "%s", (const char *)sqlite3_column_text(s, 0));
			sqlite3_finalize(s);
		}
		sqlite3_close(db);
		is_str(mode, "wal", "file is in WAL mode");
	}

	struct loaded ld;
	rd_store_load_stats_t ls;
	loaded_init(&ld, 0x0a000001, n);
	is_int(load_into(path, &ld, &ls), 0, "reopen and load");
	is_int((long long)ls.loaded, n, "all leases loaded");
	is_int((long long)ls.skipped, 0, "none skipped");
	is_int((long long)ls.max_seq, 1000 + n - 1, "max seq reported");
	int diff = 0;
	for (unsigned i = 0; i < n; i++) {
		rd_lease_t *want = mk_lease(0x0a000001 + i, i);
		if (!ld.v[i] || !same_lease(ld.v[i], want)) {
			diff++;
			diag("lease %u differs", i);
		}
		rd_lease_free(want);
	}
	is_int(diff, 0, "every field survives the round trip");
	loaded_free(&ld);

	/* an update replaces, an older seq does not */
	is_int(rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err)), 0, "open again");
	rd_lease_t *l = mk_lease(0x0a000001, 0);
	l->seq = 5000;
	l->state = RD_LEASE_RELEASED;
	is_int(rd_store_submit_wait(st, l, "release"), 0, "newer version written");
	l->seq = 4000;
	l->state = RD_LEASE_ACTIVE;
	is_int(rd_store_submit_wait(st, l, "late"), 0, "older version completes");
	rd_store_stats_t s;
	rd_store_stats(st, &s);
	is_int((long long)s.stale, 1, "older version counted stale, not written");
	rd_lease_free(l);
	rd_store_close(st);
	is_int(sql_int(path, "SELECT state FROM leases WHERE addr = 167772161"), RD_LEASE_RELEASED,
	       "the newer version is on disk");
	is_int(sql_int(path, "SELECT count(*) FROM lease_history"), n + 2, "one history row per change");
}

static void test_refusals(void)
{
	char path[256], err[512];
	rd_store_opts_t o = quiet_opts();
	rd_store_t *st = NULL;
	size_t n0, n1;

	/* newer schema */
	path_of(path, sizeof(path), "newer.db");
	is_int(rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err)), 0, "create for newer-schema test");
	rd_store_close(st);
	is_int(sql_exec(path, "PRAGMA journal_mode = DELETE; PRAGMA user_version = 7"), SQLITE_OK, "bump to version 7");
	void *before = read_file(path, &n0);
	int rc = rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err));
	ok(rc < 0 && st == NULL, "newer schema refused (%d)", rc);
	char want[400];
	snprintf(want, sizeof(want), "%s has schema version 7, this rackdhcpd knows up to %d; refusing to touch it",
		 path, RD_STORE_SCHEMA_VERSION);
	is_str(err, want, "clear message");
	void *after = read_file(path, &n1);
	is_mem(after, n1, before, n0, "file byte-identical");
	free(before);
	free(after);

	/* garbage */
	path_of(path, sizeof(path), "garbage.db");
	uint8_t junk[8192];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 7919u >> 3);
	write_file(path, junk, sizeof(junk));
	rc = rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err));
	ok(rc < 0 && st == NULL, "garbage refused (%d)", rc);
	ok(strstr(err, path) && strstr(err, "not a database"), "message names file and reason: %s", err);
	after = read_file(path, &n1);
	is_mem(after, n1, junk, sizeof(junk), "garbage file untouched");
	free(after);

	/* someone else's SQLite file */
	path_of(path, sizeof(path), "other.db");
	is_int(sql_exec(path, "CREATE TABLE t (x); INSERT INTO t VALUES (1)"), SQLITE_OK, "foreign db made");
	rc = rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err));
	ok(rc < 0 && strstr(err, "not a rackdhcpd lease database"), "foreign SQLite file refused: %s", err);

	/* integrity failure: scribble over a b-tree page in the middle */
	path_of(path, sizeof(path), "corrupt.db");
	is_int(rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err)), 0, "create for corruption test");
	if (st) {
		for (unsigned i = 0; i < 3000; i++) {
			rd_lease_t *l = mk_lease(0x0b000001 + i, i);
			rd_store_submit(st, l, "fill", NULL, NULL);
			rd_lease_free(l);
		}
		rd_store_close(st);
	}
	int64_t pages = sql_int(path, "PRAGMA page_count"), psize = sql_int(path, "PRAGMA page_size");
	ok(pages > 10, "corruption target has %lld pages", (long long)pages);
	int fd = open(path, O_WRONLY);
	uint8_t bad[64];
	memset(bad, 0xa5, sizeof(bad));
	ok(fd >= 0 && pwrite(fd, bad, sizeof(bad), (off_t)(pages / 2 * psize)) == (ssize_t)sizeof(bad),
	   "page %lld overwritten", (long long)(pages / 2 + 1));
	if (fd >= 0)
		close(fd);
	before = read_file(path, &n0);
	rc = rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err));
	ok(rc < 0 && st == NULL, "corrupt file refused (%d)", rc);
	ok(strstr(err, path) && (strstr(err, "quick_check") || strstr(err, "malformed")), "message: %s", err);
	after = read_file(path, &n1);
	is_mem(after, n1, before, n0, "corrupt file not rewritten");
	free(before);
	free(after);
}

/* ------------------------------------------------------------ group commit */

#define PRODUCERS 4
#define PER_PRODUCER 5000

static atomic_uint done_ok, done_bad;

static void count_done(void *ctx, int status)
{
	(void)ctx;
	if (status == 0)
		atomic_fetch_add(&done_ok, 1);
	else
		atomic_fetch_add(&done_bad, 1);
}

struct producer {
	rd_store_t *st;
	unsigned id;
	unsigned refused;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	for (unsigned i = 0; i < PER_PRODUCER; i++) {
		/* every producer writes its own addresses, each twice, so batches coalesce */
		unsigned k = p->id * (PER_PRODUCER / 2) + i / 2;
		rd_lease_t *l = mk_lease(0x0c000001 + k, k);
		l->seq = 10 * (uint64_t)k + (i & 1);
		if (rd_store_submit(p->st, l, i & 1 ? "renew" : "ack", count_done, NULL) != 0)
			p->refused++;
		rd_lease_free(l);
	}
	return NULL;
}

/* The batch-end hook: how often it ran, on which thread, and what the
 * completions had counted by its last run (all of them: it runs after
 * every completion of its batch, before flush can return). */
static atomic_uint hook_calls;
static unsigned hook_last_done;
static pthread_t hook_thread;
static atomic_uint hook_other_thread;

static void batch_end(void)
{
	unsigned done = atomic_load(&done_ok) + atomic_load(&done_bad);
	if (atomic_fetch_add(&hook_calls, 1) == 0)
		hook_thread = pthread_self();
	else if (!pthread_equal(hook_thread, pthread_self()))
		atomic_fetch_add(&hook_other_thread, 1);
	hook_last_done = done;
}

static void test_group_commit(void)
{
	char path[256], err[512];
	path_of(path, sizeof(path), "group.db");
	rd_store_opts_t o = quiet_opts();
	o.block_when_full = true;
	o.queue_max = 4096;
	rd_store_t *st;

	is_int(rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err)), 0, "open for group commit");
	if (!st)
		return;
	rd_store_set_batch_end(st, batch_end);
	pthread_t th[PRODUCERS];
	struct producer pr[PRODUCERS];
	for (unsigned i = 0; i < PRODUCERS; i++) {
		pr[i] = (struct producer){ .st = st, .id = i };
		pthread_create(&th[i], NULL, produce, &pr[i]);
	}
	unsigned refused = 0;
	for (unsigned i = 0; i < PRODUCERS; i++) {
		pthread_join(th[i], NULL);
		refused += pr[i].refused;
	}
	is_int(refused, 0, "no submit refused (blocking queue)");
	is_int(rd_store_flush(st), 0, "flush");
	is_int(atomic_load(&done_ok), PRODUCERS * PER_PRODUCER, "every completion fired with status 0");
	is_int(atomic_load(&done_bad), 0, "no completion failed");
	rd_store_stats_t s;
	rd_store_stats(st, &s);
	diag("%llu changes in %llu commits (largest batch %llu, %llu coalesced)",
	     (unsigned long long)s.completed, (unsigned long long)s.commits, (unsigned long long)s.max_batch,
	     (unsigned long long)s.coalesced);
	is_int((long long)s.submitted, PRODUCERS * PER_PRODUCER, "stats: submitted");
	is_int((long long)s.completed, PRODUCERS * PER_PRODUCER, "stats: completed");
	ok(s.commits * 10 < s.completed, "far fewer transactions than changes (%llu < %llu / 10)",
	   (unsigned long long)s.commits, (unsigned long long)s.completed);
	is_int((long long)atomic_load(&hook_calls), (long long)s.commits, "batch-end hook ran once per batch");
	is_int((long long)hook_last_done, PRODUCERS * PER_PRODUCER,
	       "the last batch-end ran after every completion, before flush returned");
	is_int(atomic_load(&hook_other_thread), 0, "the hook always ran on one thread (the writer)");
	ok(!pthread_equal(hook_thread, pthread_self()), "that thread is not the caller's");
	is_int((long long)s.queue_depth, 0, "queue empty after flush");
	is_int((long long)rd_store_queue_depth(st), 0, "rd_store_queue_depth agrees");
	rd_store_close(st);

	const unsigned nleases = PRODUCERS * PER_PRODUCER / 2;
	struct loaded ld;
	loaded_init(&ld, 0x0c000001, nleases);
	is_int(load_into(path, &ld, NULL), 0, "reopen and load");
	is_int((long long)ld.n, nleases, "every lease readable after reopen");
	unsigned wrong = 0;
	for (unsigned k = 0; k < nleases; k++)
		wrong += !ld.v[k] || ld.v[k]->seq != 10 * (uint64_t)k + 1;
	is_int(wrong, 0, "the latest version of each address won");
	loaded_free(&ld);
}

/* ------------------------------------------------------------ group window */

static atomic_uint win_done;

static void count_win(void *ctx, int status)
{
	(void)ctx;
	if (status == 0)
		atomic_fetch_add(&win_done, 1);
}

/* Voluntary context switches of this process's thread named rd-store (the
 * writer), or -1. */
static long writer_switches(void)
{
	DIR *dd = opendir("/proc/self/task");
	long v = -1;
	struct dirent *e;
	while (dd && (e = readdir(dd))) {
		char p[300], buf[64];
		snprintf(p, sizeof(p), "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(p, "r");
		if (!f)
			continue;
		bool writer = fgets(buf, sizeof(buf), f) && strncmp(buf, "rd-store", 8) == 0;
		fclose(f);
		if (!writer)
			continue;
		snprintf(p, sizeof(p), "/proc/self/task/%s/status", e->d_name);
		if ((f = fopen(p, "r"))) {
			while (fgets(p, sizeof(p), f))
				if (sscanf(p, "voluntary_ctxt_switches: %ld", &v) == 1)
					break;
			fclose(f);
		}
	}
	if (dd)
		closedir(dd);
	return v;
}

static void submit_n(rd_store_t *st, unsigned from, unsigned n)
{
	for (unsigned k = from; k < from + n; k++) {
		rd_lease_t *l = mk_lease(0x0d000001 + k, k);
		if (rd_store_submit(st, l, "ack", count_win, NULL) != 0)
			bail_out("submit refused");
		rd_lease_free(l);
	}
}

static void wait_win(unsigned want, unsigned ms)
{
	for (unsigned i = 0; i < ms && atomic_load(&win_done) < want; i++)
		usleep(1000);
}

/*
 * With group_window_us the writer collects changes for that long, and
 * producers do not wake it for each one: only a full batch (batch_max)
 * or close ends the window early.
 */
static void test_group_window(void)
{
	char path[256], err[512];
	path_of(path, sizeof(path), "window.db");
	rd_store_opts_t o = quiet_opts();
	o.group_window_us = 1000000;
	o.batch_max = 64;
	rd_store_t *st;
	is_int(rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err)), 0, "open with a 1-s window");
	if (!st)
		return;

	/* A window opens with the first change; 40 more come in it. */
	submit_n(st, 0, 1);
	usleep(50 * 1000);
	long before = writer_switches();
	for (unsigned i = 0; i < 40; i++) {
		submit_n(st, 1 + i, 1);
		usleep(1000);   /* one by one, as requests arrive */
	}
	long after = writer_switches();
	ok(before >= 0 && after >= 0, "the writer thread (rd-store) is found");
	ok(after - before <= 5, "40 changes in the window woke the writer %ld times (at most 5)", after - before);
	is_int(atomic_load(&win_done), 0, "none is durable before the window ends");
	wait_win(41, 3000);
	is_int(atomic_load(&win_done), 41, "all 41 durable when it ends");

	/* A full batch does not wait for the window. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	submit_n(st, 100, 1);
	usleep(20 * 1000);
	submit_n(st, 101, 63);
	wait_win(41 + 64, 3000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	is_int(atomic_load(&win_done), 41 + 64, "a full batch (batch_max 64) is committed");
	ok(ms < 700, "before the 1-s window ends (%ld ms)", ms);
	is_int(rd_store_flush(st), 0, "flush (the writer has counted its commit)");
	rd_store_stats_t s;
	rd_store_stats(st, &s);
	is_int((long long)s.commits, 2, "in two transactions");
	rd_store_close(st);
}

/* ------------------------------------------------------------ crash consistency */

static void test_crash(enum rd_store_durability dur, const char *name)
{
	char path[256], err[512];
	path_of(path, sizeof(path), name);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		rd_store_opts_t o = quiet_opts();
		rd_store_t *st;
		if (rd_store_open(path, dur, &o, &st, err, sizeof(err)))
			_exit(2);
		for (unsigned i = 0; i < 200; i++) {
			rd_lease_t *l = mk_lease(0x0d000001 + i, i);
			int rc = i + 1 < 200 ? rd_store_submit(st, l, "crash", NULL, NULL)
					     : rd_store_submit_wait(st, l, "crash");
			rd_lease_free(l);
			if (rc)
				_exit(3);
		}
		/* No close, no flush: the process dies with the writer running. */
		raise(SIGKILL);
		_exit(4);
	}
	int ws = 0;
	waitpid(pid, &ws, 0);
	ok(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL, "%s: child killed itself after submit_wait", name);
	struct loaded ld;
	loaded_init(&ld, 0x0d000001, 200);
	is_int(load_into(path, &ld, NULL), 0, "%s: reopen after the crash", name);
	is_int((long long)ld.n, 200, "%s: every lease submitted before the acked one survived", name);
	rd_lease_t *want = mk_lease(0x0d000001 + 199, 199);
	ok(ld.v[199] && same_lease(ld.v[199], want), "%s: the acked lease is intact", name);
	rd_lease_free(want);
	loaded_free(&ld);
}

/* ------------------------------------------------------------ history */

static void test_history(void)
{
	char path[256], err[512];
	path_of(path, sizeof(path), "hist.db");
	rd_store_opts_t o = quiet_opts();
	o.history_max_rows = 100;
	o.history_prune_every = 1;
	rd_store_t *st;

	is_int(rd_store_open(path, RD_STORE_RELAXED, &o, &st, err, sizeof(err)), 0, "open relaxed, history bound 100");
	if (!st)
		return;
	for (unsigned i = 0; i < 500; i++) {
		rd_lease_t *l = mk_lease(0x0e000001 + i % 50, i);
		rd_store_submit(st, l, i % 2 ? "renew" : "ack", NULL, NULL);
		rd_lease_free(l);
	}
	is_int(rd_store_flush(st), 0, "flush");
	rd_store_stats_t s;
	rd_store_stats(st, &s);
	is_int((long long)s.history_rows, 500, "500 history rows written");
	rd_store_close(st);
	is_int(sql_int(path, "SELECT count(*) FROM lease_history"), 100, "pruned to the bound");
	is_int(sql_int(path, "SELECT min(id) FROM lease_history"), 401, "the oldest rows went");
	is_int(sql_int(path, "SELECT count(*) FROM lease_history WHERE event = 'renew'"), 50, "events recorded");
	is_int(sql_int(path, "SELECT count(*) FROM leases"), 50, "relaxed mode wrote the leases");

	/* age bound: rows older than max_age go */
	is_int(sql_exec(path, "UPDATE lease_history SET time = 1000 WHERE id < 450"), SQLITE_OK, "age half the rows");
	o.history_max_age = 3600;
	is_int(rd_store_open(path, RD_STORE_RELAXED, &o, &st, err, sizeof(err)), 0, "reopen with max age");
	rd_lease_t *l = mk_lease(0x0e000001, 9999);
	is_int(rd_store_submit_wait(st, l, "age"), 0, "one more change");
	rd_lease_free(l);
	rd_store_close(st);
	is_int(sql_int(path, "SELECT count(*) FROM lease_history"), 52, "aged rows pruned");
}

/* ------------------------------------------------------------ disk full */

static void test_disk_full(void)
{
	char path[256], err[512];
	path_of(path, sizeof(path), "full.db");
	rd_store_opts_t o = quiet_opts();
	o.no_history = true;
	o.max_db_pages = 12;
	o.retry_ms = 50;
	rd_store_t *st;

	is_int(rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err)), 0, "open with a 12-page cap");
	if (!st)
		return;
	int first_err = 0;
	unsigned good = 0, i;
	for (i = 0; i < 5000 && !first_err; i++) {
		rd_lease_t *l = mk_lease(0x0f000001 + i, i);
		int rc = rd_store_submit_wait(st, l, NULL);
		rd_lease_free(l);
		if (rc)
			first_err = rc;
		else
			good++;
	}
	is_int(first_err, -ENOSPC, "a change that does not fit completes with -ENOSPC after %u good ones", good);
	rd_store_stats_t s;
	rd_store_stats(st, &s);
	ok(s.commit_errors >= 1 && s.retry_pending == 1, "error counted, the change kept for retry");
	is_int(rd_store_flush(st), -ENOSPC, "flush reports the pending failure");
	rd_store_close(st);
	ok(strstr(last_log, "NOT written") != NULL, "close says what was lost: %s", last_log);

	struct loaded ld;
	loaded_init(&ld, 0x0f000001, 5000);
	is_int(load_into(path, &ld, NULL), 0, "reopen");
	is_int((long long)ld.n, good, "every acknowledged lease is there, the refused one is not");
	loaded_free(&ld);
}

/* ------------------------------------------------------------ backup */

struct bg {
	rd_store_t *st;
	atomic_bool stop;
	unsigned n;
};

static void *bg_writer(void *arg)
{
	struct bg *b = arg;
	while (!atomic_load(&b->stop)) {
		rd_lease_t *l = mk_lease(0x10000001 + b->n % 1000, b->n);
		rd_store_submit(b->st, l, "bg", NULL, NULL);
		rd_lease_free(l);
		b->n++;
	}
	return NULL;
}

static void test_backup(void)
{
	char path[256], dest[256], err[512];
	path_of(path, sizeof(path), "src.db");
	path_of(dest, sizeof(dest), "backup.db");
	rd_store_opts_t o = quiet_opts();
	o.block_when_full = true;
	rd_store_t *st;

	is_int(rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err)), 0, "open for backup");
	if (!st)
		return;
	for (unsigned i = 0; i < 300; i++) {
		rd_lease_t *l = mk_lease(0x11000001 + i, i);
		rd_store_submit(st, l, "pre", NULL, NULL);
		rd_lease_free(l);
	}
	is_int(rd_store_flush(st), 0, "flush before backup");
	struct bg b = { .st = st };
	pthread_t th;
	pthread_create(&th, NULL, bg_writer, &b);
	int rc = rd_store_backup(st, dest, err, sizeof(err));
	is_int(rc, 0, "backup while the writer runs%s%s", rc ? ": " : "", rc ? err : "");
	atomic_store(&b.stop, true);
	pthread_join(th, NULL);
	diag("background writer submitted %u changes during the backup", b.n);
	rd_store_close(st);

	struct stat sb;
	ok(stat(dest, &sb) == 0 && (sb.st_mode & 0777) == 0600, "backup file is 0600");
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.tmp", dest);
	ok(stat(tmp, &sb) != 0, "no temporary file left");
	struct loaded ld;
	loaded_init(&ld, 0x11000001, 300);
	is_int(load_into(dest, &ld, NULL), 0, "backup opens as a store");
	is_int((long long)ld.n, 300, "backup holds the leases");
	int diff = 0;
	for (unsigned i = 0; i < 300; i++) {
		rd_lease_t *want = mk_lease(0x11000001 + i, i);
		diff += !ld.v[i] || !same_lease(ld.v[i], want);
		rd_lease_free(want);
	}
	is_int(diff, 0, "backup leases identical");
	loaded_free(&ld);
}

/* ------------------------------------------------------------ row validation */

static rd_store_row_t good_row(void)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 1, 2, 3 };
	static const uint8_t cid[7] = { 1, 0x52, 0x54, 0, 1, 2, 3 };
	rd_store_row_t r = {
		.addr = 0x0a000005, .state = RD_LEASE_ACTIVE, .starts = 100, .ends = 200,
		.tstp = 300, .tsfp = 250, .atsfp = 300, .cltt = 100, .flags = RD_LEASE_F_KEY_CID,
		.htype = 1, .seq = 42,
		.chaddr = mac, .chaddr_len = 6, .client_id = cid, .client_id_len = 7,
		.hostname = "node-5", .hostname_len = 6,
	};
	return r;
}

static void expect_bad(rd_store_row_t r, int code, const char *what, const char *reason_part)
{
	rd_lease_t *l = (rd_lease_t *)1;
	rd_diag_t d;
	int rc = rd_store_row_to_lease(&r, &l, &d);
	ok(rc == code && l == NULL && d.code == code && strstr(d.reason, reason_part),
	   "rejects %s: %d \"%s\"", what, rc, d.reason);
	rd_lease_free(rc == 0 ? l : NULL);
}

static void test_rows(void)
{
	rd_store_row_t r = good_row();
	rd_lease_t *l = NULL;
	rd_diag_t d;
	is_int(rd_store_row_to_lease(&r, &l, &d), 0, "good row accepted");
	ok(l && l->addr == 0x0a000005 && l->hlen == 6 && l->cid_len == 7 && l->host_len == 6 && l->seq == 42 &&
	   !memcmp(rd_lease_host(l), "node-5", 6), "fields copied");
	rd_store_row_t back;
	if (l)
		rd_store_lease_to_row(l, &back);
	ok(l && back.addr == r.addr && back.ends == r.ends && back.chaddr_len == 6, "lease_to_row inverts it");
	rd_lease_free(l);

	rd_store_row_t b;
#define BAD(field, value, code, part)                       \
	do {                                                \
		b = good_row();                             \
		b.field = value;                            \
		expect_bad(b, code, #field " = " #value, part); \
	} while (0)
	BAD(addr, 0, RD_EMALFORMED, "address");
	BAD(addr, -5, RD_EMALFORMED, "address");
	BAD(addr, 0xFFFFFFFF, RD_EMALFORMED, "address");
	BAD(addr, 0x100000001LL, RD_EMALFORMED, "address");
	BAD(state, 0, RD_EMALFORMED, "state");
	BAD(state, 8, RD_EMALFORMED, "state");
	BAD(starts, -1, RD_EMALFORMED, "starts");
	BAD(ends, 0x100000000LL, RD_EMALFORMED, "ends");
	BAD(ends, 50, RD_EMALFORMED, "before starts");
	BAD(tstp, -1, RD_EMALFORMED, "tstp");
	BAD(tsfp, INT64_MAX, RD_EMALFORMED, "tsfp");
	BAD(atsfp, INT64_MIN, RD_EMALFORMED, "atsfp");
	BAD(cltt, -2, RD_EMALFORMED, "cltt");
	BAD(flags, 0x10000, RD_EMALFORMED, "flags");
	BAD(flags, -1, RD_EMALFORMED, "flags");
	BAD(htype, 256, RD_EMALFORMED, "htype");
	BAD(chaddr_len, 17, RD_EMALFORMED, "chaddr");
	BAD(client_id_len, 256, RD_EMALFORMED, "client-id");
	BAD(hostname_len, 256, RD_EMALFORMED, "hostname");
	BAD(hostname, "no\0de-", RD_EMALFORMED, "NUL");
	BAD(client_id_len, 0, RD_EMALFORMED, "key flag");
	BAD(seq, -1, RD_EMALFORMED, "seq");
	BAD(chaddr, NULL, RD_EINVAL, "NULL");
	BAD(type_errors, 1u << RD_STORE_COL_HOSTNAME, RD_EMALFORMED, "hostname");
	BAD(type_errors, 1u << RD_STORE_COL_STATE, RD_EMALFORMED, "state");
#undef BAD

	b = good_row();
	b.flags = 0x8000 | RD_LEASE_F_KEY_CID;
	is_int(rd_store_row_to_lease(&b, &l, &d), 0, "unknown flag bits are kept, not refused");
	ok(l && l->flags == (0x8000 | RD_LEASE_F_KEY_CID), "flags preserved");
	rd_lease_free(l);
	b = good_row();
	b.chaddr_len = b.client_id_len = b.hostname_len = 0;
	b.chaddr = NULL;
	b.client_id = NULL;
	b.hostname = NULL;
	b.flags = 0;
	b.starts = b.ends = 0;
	is_int(rd_store_row_to_lease(&b, &l, &d), 0, "a FREE-like row with nothing set is fine");
	rd_lease_free(l);
}

/* Bad rows in the file are skipped and logged; the good ones load. */
static void test_bad_rows_on_load(void)
{
	char path[256], err[512];
	path_of(path, sizeof(path), "badrows.db");
	rd_store_opts_t o = quiet_opts();
	rd_store_t *st;
	is_int(rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err)), 0, "open for bad rows");
	if (!st)
		return;
	for (unsigned i = 0; i < 10; i++) {
		rd_lease_t *l = mk_lease(0x12000001 + i, i);
		rd_store_submit(st, l, NULL, NULL, NULL);
		rd_lease_free(l);
	}
	rd_store_close(st);
	is_int(sql_exec(path, "UPDATE leases SET state = 9 WHERE addr = 301989889;"
			      "UPDATE leases SET hostname = x'00ff' WHERE addr = 301989890;"
			      "UPDATE leases SET chaddr = zeroblob(20) WHERE addr = 301989891;"),
	       SQLITE_OK, "three rows spoiled behind the store's back");
	struct loaded ld;
	rd_store_load_stats_t ls;
	loaded_init(&ld, 0x12000001, 10);
	is_int(load_into(path, &ld, &ls), 0, "load still succeeds");
	is_int((long long)ls.rows, 10, "10 rows read");
	is_int((long long)ls.loaded, 7, "7 loaded");
	is_int((long long)ls.skipped, 3, "3 skipped");
	ok(strstr(last_log, "18.0.0.") && strstr(last_log, "skipped"), "log names the row: %s", last_log);
	loaded_free(&ld);
	is_int(sql_int(path, "SELECT count(*) FROM leases"), 10, "bad rows left in the file");

	/* A poison change is refused at submit, so it cannot wedge the writer. */
	is_int(rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err)), 0, "reopen");
	rd_lease_t *l = mk_lease(0x12000001, 1);
	l->state = 0;
	is_int(rd_store_submit(st, l, NULL, NULL, NULL), RD_EMALFORMED, "invalid lease refused at submit");
	rd_lease_free(l);
	rd_store_close(st);
}


/* Schema 2 -> 3 keeps every lease; the region view row round-trips. */
static void test_region_view(void)
{
	char path[256], err[512];
	rd_store_opts_t o = quiet_opts();
	rd_store_t *st = NULL;
	rd_store_region_view_t v;

	/* a version-2 file: what rackdhcpd wrote before the region view */
	path_of(path, sizeof(path), "v2.db");
	is_int(rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err)), 0, "create a store");
	rd_lease_t *l = mk_lease(0x0a000005, 1);
	is_int(rd_store_submit_wait(st, l, "commit"), 0, "one lease written");
	rd_store_close(st);
	st = NULL;
	is_int(sql_exec(path, "DROP TABLE region_view; PRAGMA user_version = 2"), SQLITE_OK,
	       "made it a version-2 file");
	is_int(rd_store_open(path, RD_STORE_SYNC, &o, &st, err, sizeof(err)), 0, "a version-2 file opens");
	ok(strstr(last_log, "migrated from version 2 to 3") != NULL, "the migration is logged: %s", last_log);
	is_int(sql_int(path, "PRAGMA user_version"), 3, "now version 3");
	is_int(sql_int(path, "SELECT count(*) FROM leases WHERE addr = 167772165"), 1, "the lease is still there");
	is_int(rd_store_region_view_get(st, &v), -ENOENT, "no region view yet");

	static const char yaml[] = "failover: []\nsubnets:\n  - cidr: 10.10.0.0/24\n";
	rd_store_region_view_t in = { .yaml = (char *)yaml, .len = sizeof(yaml) - 1, .fetched = 1790000000,
				       .url = "http://r1:5240/MAAS", .system_id = "7xtf67" };
	is_int(rd_store_region_view_put(st, &in), 0, "view stored");
	is_int(rd_store_region_view_get(st, &v), 0, "view read back");
	ok(v.yaml && !strcmp(v.yaml, yaml) && v.len == sizeof(yaml) - 1 && v.fetched == 1790000000 && v.url &&
		   !strcmp(v.url, "http://r1:5240/MAAS") && v.system_id && !strcmp(v.system_id, "7xtf67"),
	   "every field round-trips");
	rd_store_region_view_clear(&v);
	in.fetched = 1790000100;
	in.url = "https://r2:5443/MAAS";
	is_int(rd_store_region_view_put(st, &in), 0, "stored again");
	is_int(sql_int(path, "SELECT count(*) FROM region_view"), 1, "still one row");
	is_int(rd_store_region_view_get(st, &v), 0, "read back");
	ok(v.fetched == 1790000100 && v.url && !strcmp(v.url, "https://r2:5443/MAAS"), "the newer one replaced it");
	rd_store_region_view_clear(&v);
	ok(v.yaml == NULL && v.url == NULL, "clear frees and zeroes");
	in.system_id = NULL;
	is_int(rd_store_region_view_put(st, &in), RD_EINVAL, "a view without a rack is refused");
	is_int(sql_exec(path, "UPDATE region_view SET fetched = 'yesterday'"), SQLITE_OK, "corrupt the row's time");
	is_int(rd_store_region_view_get(st, &v), RD_EMALFORMED, "a row of the wrong types is refused");
	ok(strstr(last_log, "region view") != NULL, "and logged: %s", last_log);
	rd_store_close(st);
	rd_lease_free(l);
}

int main(void)
{
	plan_lazy();
	snprintf(dir, sizeof(dir), "/tmp/rd_test_store.XXXXXX");
	if (!mkdtemp(dir))
		bail_out("mkdtemp failed");

	test_rows();
	test_round_trip();
	test_refusals();
	test_group_commit();
	test_group_window();
	test_crash(RD_STORE_SYNC, "crash_sync.db");
	test_crash(RD_STORE_RELAXED, "crash_relaxed.db");
	test_history();
	test_disk_full();
	test_backup();
	test_bad_rows_on_load();
	test_region_view();

	rm_dir();
	return done_testing();
}
