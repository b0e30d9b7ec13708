/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store.c — SQLite persistence of lease versions with one group-committing
 * writer thread (see store.h for the contract and durability semantics).
 *
 * Threading: producers append change nodes to a FIFO under st->lock and
 * signal the writer.  The writer takes up to batch_max nodes, releases the
 * lock, writes them in one transaction on its own connection (opened
 * SQLITE_OPEN_NOMUTEX: only the writer — or open/close, when the writer is
 * not running — ever touches it), commits, runs the completions, then
 * publishes "done up to ticket T" under the lock, which is what
 * rd_store_flush and rd_store_submit_wait wait for.  Loads and backups open
 * their own read connection per call, so they never contend for the writer's.
 *
 * Open never writes to a file it is going to refuse: schema version,
 * application id and the integrity check are read through a read-only
 * connection that is told not to checkpoint on close; only then is the file
 * opened read-write, switched to WAL and migrated.
 *
 * Integrity check: PRAGMA quick_check by default.  It verifies every b-tree
 * page, record format and NOT NULL constraints in one pass, and skips only
 * the index-content cross-check of integrity_check, which our tables (rowid
 * primary keys, no secondary index) barely have; that keeps start-up in the
 * same order of time as the load itself.  full_integrity_check selects the
 * full check.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/store.h"

/* 'RDHD' in PRAGMA application_id: tells our file from any other SQLite file. */
#define STORE_APP_ID 0x52444844

#define DEF_QUEUE_MAX 65536u
#define DEF_BATCH_MAX 8192u
#define DEF_RETRY_MS 1000u
#define DEF_HISTORY_ROWS 100000u
#define DEF_PRUNE_EVERY 16u
#define LOAD_LOG_MAX 100   /* bad rows logged one by one before only counting */

/* ------------------------------------------------------------ schema */

/*
 * Migration steps, in order.  Step i brings the schema from version i to
 * i + 1 and runs inside the same transaction as the user_version bump, so a
 * crash mid-migration leaves the old version intact.  Never edit a step once
 * released: add a new one and raise RD_STORE_SCHEMA_VERSION.
 */
static const char *const migrations[] = {
	/* 0 -> 1: initial schema.  addr is the rowid, so the loader's full
	 * scan is already in address order and an upsert is one b-tree seek. */
	"CREATE TABLE leases ("
	" addr INTEGER PRIMARY KEY,"      /* IPv4 address, host order */
	" state INTEGER NOT NULL,"        /* enum rd_binding_state */
	" starts INTEGER NOT NULL, ends INTEGER NOT NULL,"
	" tstp INTEGER NOT NULL, tsfp INTEGER NOT NULL, atsfp INTEGER NOT NULL,"
	" cltt INTEGER NOT NULL,"
	" flags INTEGER NOT NULL, htype INTEGER NOT NULL,"
	" chaddr BLOB,"                   /* hlen bytes; NULL when hlen is 0 */
	" client_id BLOB, hostname TEXT,"
	" seq INTEGER NOT NULL);"
	"CREATE TABLE lease_history ("
	" id INTEGER PRIMARY KEY,"        /* grows by one per row: pruning works on id ranges */
	" time INTEGER NOT NULL,"         /* when the change was submitted */
	" addr INTEGER NOT NULL, state INTEGER NOT NULL,"
	" chaddr BLOB, client_id BLOB, hostname TEXT,"
	" event TEXT NOT NULL, seq INTEGER NOT NULL);",
	/* 1 -> 2: the failover state of each relationship (issue 5), the
	 * fields ISC keeps in its `failover peer "X" state { }` record.  One row
	 * per relationship name; no row means "never ran", i.e. RECOVER. */
	"CREATE TABLE failover_state ("
	" name TEXT PRIMARY KEY,"
	" state INTEGER NOT NULL,"        /* enum rd_fo_state, never STARTUP */
	" stos INTEGER NOT NULL,"
	" partner INTEGER NOT NULL, partner_stos INTEGER NOT NULL,"
	" mclt INTEGER NOT NULL);",
	/* 2 -> 3: the last region view that validated (issue 6), so that a
	 * restart while the region is unreachable still serves it.  One row:
	 * the view's YAML, when the region last confirmed it, from which URL,
	 * and for which rack (a view of another rack is never served). */
	"CREATE TABLE region_view ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" yaml TEXT NOT NULL,"
	" fetched INTEGER NOT NULL,"      /* Unix time */
	" url TEXT NOT NULL,"
	" system_id TEXT NOT NULL);",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == RD_STORE_SCHEMA_VERSION,
	       "one migration step per schema version");

#define LEASE_COLS "addr, state, starts, ends, tstp, tsfp, atsfp, cltt, flags, htype, chaddr, client_id, hostname, seq"

static const char SQL_UPSERT[] =
	"INSERT INTO leases (" LEASE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
	" ON CONFLICT (addr) DO UPDATE SET state = excluded.state, starts = excluded.starts,"
	" ends = excluded.ends, tstp = excluded.tstp, tsfp = excluded.tsfp, atsfp = excluded.atsfp,"
	" cltt = excluded.cltt, flags = excluded.flags, htype = excluded.htype, chaddr = excluded.chaddr,"
	" client_id = excluded.client_id, hostname = excluded.hostname, seq = excluded.seq"
	/* Two workers can enqueue versions of one address out of order; the
	 * older must not overwrite the newer once that one is committed. */
	" WHERE excluded.seq >= leases.seq";
static const char SQL_HISTORY[] =
	"INSERT INTO lease_history (time, addr, state, chaddr, client_id, hostname, event, seq)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char SQL_PRUNE_ROWS[] =
	"DELETE FROM lease_history WHERE id <= (SELECT max(id) FROM lease_history) - ?1";
/* Rows are appended in time order, so the old ones are an id prefix: find
 * the first young row by scanning from the oldest (cost ~ rows deleted). */
static const char SQL_PRUNE_AGE[] =
	"DELETE FROM lease_history WHERE id < coalesce("
	"(SELECT id FROM lease_history WHERE time >= ?1 ORDER BY id LIMIT 1),"
	" (SELECT max(id) + 1 FROM lease_history))";
static const char SQL_LOAD[] = "SELECT " LEASE_COLS " FROM leases ORDER BY addr";

/* ------------------------------------------------------------ state */

struct change {
	struct change *next;     /* FIFO link */
	rd_store_done_fn cb;
	void *ctx;
	uint64_t ticket;         /* submission order, from 1 */
	int64_t time;
	bool keep;               /* kept for retry after a failed commit */
	char event[RD_STORE_EVENT_MAX + 1];
	rd_lease_t *lease;       /* points into this allocation */
};

/* The lease copy follows the node, aligned for rd_lease_t. */
#define CHANGE_HDR ((sizeof(struct change) + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1))

struct rd_store {
	char *path;
	enum rd_store_durability durability;
	rd_store_opts_t o;

	/* writer connection and its statements */
	sqlite3 *db;
	sqlite3_stmt *s_begin, *s_commit, *s_rollback, *s_upsert, *s_hist, *s_prune_rows, *s_prune_age;

	pthread_mutex_t lock;
	pthread_cond_t work_cv;   /* writer: work, stop or kick (CLOCK_MONOTONIC) */
	pthread_cond_t space_cv;  /* blocked producers: room in the queue */
	pthread_cond_t done_cv;   /* flush / submit_wait: a batch finished */
	struct change *head, *tail;
	size_t queued, in_flight;
	uint64_t next_ticket;     /* last ticket issued */
	uint64_t done_ticket;     /* every ticket <= this has completed */
	uint64_t attempts;        /* write attempts finished */
	bool stopping, kick, writer_running;
	bool in_window;           /* the writer is collecting a batch (group_window_us) */
	int last_error;
	rd_store_stats_t stats;   /* queue_depth / retry_pending filled on read */
	pthread_t writer;

	/* writer-private */
	struct change **batch;
	size_t batch_cap;
	struct change **retry;    /* latest version per address of failed batches */
	size_t retry_n, retry_cap;
	unsigned since_prune;
	rd_store_batch_end_fn batch_end;   /* atomic: set from any thread */
};

/* ------------------------------------------------------------ helpers */

static void log_stderr(void *ctx, int level, const char *msg)
{
	(void)ctx;
	const char *name = level <= RD_STORE_LOG_ERR ? "error" : level == RD_STORE_LOG_WARNING ? "warning"
			 : level <= RD_STORE_LOG_INFO ? "info" : "debug";
	fprintf(stderr, "rackdhcpd: store %s: %s\n", name, msg);
}

static void slog(const rd_store_t *st, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void slog(const rd_store_t *st, int level, const char *fmt, ...)
{
	char msg[640];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	st->o.log(st->o.log_ctx, level, msg);
}

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* SQLite result -> our negative code (errno twins where one fits). */
static int sql_code(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:      return 0;
	case SQLITE_NOMEM:    return RD_ENOMEM;
	case SQLITE_FULL:     return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:   return -EBUSY;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:     return -EACCES;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:   return RD_EMALFORMED;
	case SQLITE_CANTOPEN: return -ENOENT;
	default:              return -EIO;
	}
}

static void fmt_addr(int64_t a, char *buf, size_t len)
{
	if (a >= 0 && a <= 0xFFFFFFFF)
		snprintf(buf, len, "%u.%u.%u.%u", (unsigned)(a >> 24) & 255, (unsigned)(a >> 16) & 255,
			 (unsigned)(a >> 8) & 255, (unsigned)a & 255);
	else
		snprintf(buf, len, "#%" PRId64, a);
}

static struct timespec deadline_after(unsigned us)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += us / 1000000;
	ts.tv_nsec += (long)(us % 1000000) * 1000;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* ------------------------------------------------------------ row validation */

static const char *const col_names[RD_STORE_NCOLS] = {
	"addr", "state", "starts", "ends", "tstp", "tsfp", "atsfp", "cltt",
	"flags", "htype", "chaddr", "client_id", "hostname", "seq",
};

const char *rd_store_col_name(enum rd_store_col col)
{
	return (unsigned)col < RD_STORE_NCOLS ? col_names[col] : "unknown";
}

/* The rules of rd_store_row_to_lease, without building anything: also run
 * on every submitted lease, so whatever is stored loads again. */
static int row_check(const rd_store_row_t *r, rd_diag_t *d)
{
	if (r->type_errors) {
		for (unsigned c = 0; c < RD_STORE_NCOLS; c++)
			if (r->type_errors & (1u << c))
				return rd_diag_set(d, RD_EMALFORMED, "column %s has the wrong type", col_names[c]);
		return rd_diag_set(d, RD_EMALFORMED, "type error in unknown column (0x%" PRIx32 ")",
				   r->type_errors);
	}
	if (r->addr <= 0 || r->addr >= 0xFFFFFFFF)
		return rd_diag_set(d, RD_EMALFORMED, "address %" PRId64 " out of range", r->addr);
	if (r->state < RD_LEASE_FREE || r->state > RD_LEASE_BACKUP)
		return rd_diag_set(d, RD_EMALFORMED, "state %" PRId64 " out of range 1..7", r->state);
	const int64_t times[] = { r->starts, r->ends, r->tstp, r->tsfp, r->atsfp, r->cltt };
	for (unsigned i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		if (times[i] < 0 || times[i] > 0xFFFFFFFF)
			return rd_diag_set(d, RD_EMALFORMED, "%s %" PRId64 " out of range",
					   col_names[RD_STORE_COL_STARTS + i], times[i]);
	if (r->starts && r->ends && r->ends < r->starts)
		return rd_diag_set(d, RD_EMALFORMED, "ends %" PRId64 " before starts %" PRId64, r->ends, r->starts);
	if (r->flags < 0 || r->flags > 0xFFFF)
		return rd_diag_set(d, RD_EMALFORMED, "flags %" PRId64 " out of range", r->flags);
	if (r->htype < 0 || r->htype > 255)
		return rd_diag_set(d, RD_EMALFORMED, "htype %" PRId64 " out of range", r->htype);
	if ((r->chaddr_len && !r->chaddr) || (r->client_id_len && !r->client_id) ||
	    (r->hostname_len && !r->hostname))
		return rd_diag_set(d, RD_EINVAL, "blob pointer NULL with a length");
	if (r->chaddr_len > sizeof(((rd_lease_t *)0)->chaddr))
		return rd_diag_set(d, RD_EMALFORMED, "chaddr length %zu > 16", r->chaddr_len);
	if (r->client_id_len > RD_LEASE_MAX_CLIENT_ID)
		return rd_diag_set(d, RD_EMALFORMED, "client-id length %zu > %d", r->client_id_len,
				   RD_LEASE_MAX_CLIENT_ID);
	if (r->hostname_len > RD_LEASE_MAX_HOSTNAME)
		return rd_diag_set(d, RD_EMALFORMED, "hostname length %zu > %d", r->hostname_len,
				   RD_LEASE_MAX_HOSTNAME);
	if (r->hostname_len && memchr(r->hostname, '\0', r->hostname_len))
		return rd_diag_set(d, RD_EMALFORMED, "hostname contains a NUL byte");
	if ((r->flags & RD_LEASE_F_KEY_CID) && r->client_id_len == 0)
		return rd_diag_set(d, RD_EMALFORMED, "client-id key flag without a client-id");
	if (r->seq < 0)
		return rd_diag_set(d, RD_EMALFORMED, "seq %" PRId64 " out of range", r->seq);
	return 0;
}

int rd_store_row_to_lease(const rd_store_row_t *r, rd_lease_t **out, rd_diag_t *d)
{
	*out = NULL;
	rd_diag_clear(d);
	int rc = row_check(r, d);
	if (rc)
		return rc;
	rd_lease_t *l = rd_lease_new((uint32_t)r->addr, r->client_id, r->client_id_len, r->hostname,
				     r->hostname_len);
	if (!l)
		return rd_diag_set(d, RD_ENOMEM, "out of memory");
	l->seq = (uint64_t)r->seq;
	l->state = (uint8_t)r->state;
	l->starts = (uint32_t)r->starts;
	l->ends = (uint32_t)r->ends;
	l->tstp = (uint32_t)r->tstp;
	l->tsfp = (uint32_t)r->tsfp;
	l->atsfp = (uint32_t)r->atsfp;
	l->cltt = (uint32_t)r->cltt;
	l->flags = (uint16_t)r->flags;
	l->htype = (uint8_t)r->htype;
	l->hlen = (uint8_t)r->chaddr_len;
	if (r->chaddr_len)
		memcpy(l->chaddr, r->chaddr, r->chaddr_len);
	*out = l;
	return 0;
}

void rd_store_lease_to_row(const rd_lease_t *l, rd_store_row_t *r)
{
	memset(r, 0, sizeof(*r));
	r->addr = l->addr;
	r->state = l->state;
	r->starts = l->starts;
	r->ends = l->ends;
	r->tstp = l->tstp;
	r->tsfp = l->tsfp;
	r->atsfp = l->atsfp;
	r->cltt = l->cltt;
	r->flags = l->flags;
	r->htype = l->htype;
	/* A seq SQLite cannot hold as INTEGER is refused rather than wrapped. */
	r->seq = l->seq > (uint64_t)INT64_MAX ? -1 : (int64_t)l->seq;
	r->chaddr = l->chaddr;
	r->chaddr_len = l->hlen;
	r->client_id = rd_lease_cid(l);
	r->client_id_len = l->cid_len;
	r->hostname = rd_lease_host(l);
	r->hostname_len = l->host_len;
}

/* ------------------------------------------------------------ SQL helpers */

static int exec(sqlite3 *db, const char *sql, char *msg, size_t msglen)
{
	char *e = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &e);
	if (rc != SQLITE_OK)
		seterr(msg, msglen, "%s", e ? e : sqlite3_errstr(rc));
	sqlite3_free(e);
	return rc;
}

/* First column of the first row of sql as an integer. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc;
}

/* Run the integrity check; 0 and "ok", or non-zero with the findings in msg. */
static int integrity_check(sqlite3 *db, bool full, char *msg, size_t msglen)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(db, full ? "PRAGMA integrity_check(20)" : "PRAGMA quick_check(20)", -1, &s,
				    NULL);
	if (rc != SQLITE_OK) {
		seterr(msg, msglen, "%s", sqlite3_errmsg(db));
		return rc;
	}
	size_t used = 0;
	bool bad = false;
	msg[0] = '\0';
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(s, 0);
		if (t && !strcmp(t, "ok"))
			continue;
		bad = true;
		if (used + 3 < msglen) {
			int n = snprintf(msg + used, msglen - used, "%s%s", used ? "; " : "", t ? t : "?");
			used = n > 0 ? used + (size_t)n : used;
			if (used >= msglen)
				used = msglen - 1;
		}
	}
	if (rc != SQLITE_DONE) {
		seterr(msg, msglen, "%s", sqlite3_errmsg(db));
		sqlite3_finalize(s);
		return rc;
	}
	sqlite3_finalize(s);
	return bad ? SQLITE_CORRUPT : SQLITE_OK;
}

static void bind_blob(sqlite3_stmt *s, int i, const void *p, size_t n)
{
	if (n)
		sqlite3_bind_blob(s, i, p, (int)n, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

static void bind_text(sqlite3_stmt *s, int i, const char *p, size_t n)
{
	if (n)
		sqlite3_bind_text(s, i, p, (int)n, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

/* ------------------------------------------------------------ open */

static void opts_defaults(rd_store_opts_t *o, const rd_store_opts_t *in)
{
	if (in)
		*o = *in;
	else
		memset(o, 0, sizeof(*o));
	if (!o->queue_max)
		o->queue_max = DEF_QUEUE_MAX;
	if (!o->batch_max)
		o->batch_max = DEF_BATCH_MAX;
	if (!o->retry_ms)
		o->retry_ms = DEF_RETRY_MS;
	if (!o->history_max_rows)
		o->history_max_rows = DEF_HISTORY_ROWS;
	if (!o->history_prune_every)
		o->history_prune_every = DEF_PRUNE_EVERY;
	if (o->group_window_us > 1000000)
		o->group_window_us = 1000000;
	if (!o->log)
		o->log = log_stderr;
}

/* Create the file 0600 if missing (an empty file is a new database to SQLite). */
static int prepare_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		int e = errno;
		seterr(err, errlen, "%s: cannot open: %s", path, strerror(e));
		return -e;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		seterr(err, errlen, "%s: not a regular file", path);
		return RD_EINVAL;
	}
	close(fd);
	return 0;
}

/* Tighten a looser mode, once the file is known to be ours: the WAL and shm
 * files SQLite creates inherit the database file's mode. */
static void tighten_mode(const rd_store_t *st)
{
	struct stat sb;
	if (stat(st->path, &sb) == 0 && (sb.st_mode & 077)) {
		if (chmod(st->path, sb.st_mode & 0700) == 0)
			slog(st, RD_STORE_LOG_WARNING, "%s: mode %03o was group/world accessible, now %03o", st->path,
			     (unsigned)sb.st_mode & 0777, (unsigned)sb.st_mode & 0700);
		else
			slog(st, RD_STORE_LOG_WARNING, "%s: mode %03o is group/world accessible: %s", st->path,
			     (unsigned)sb.st_mode & 0777, strerror(errno));
	}
}

/* Everything that may refuse the file, through a connection that cannot
 * write it (and does not checkpoint a WAL into it on close). */
static int check_file(rd_store_t *st, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	char msg[400];
	int64_t ver = 0, app = 0, objects = 0;
	int rc = sqlite3_open_v2(st->path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		seterr(err, errlen, "%s: cannot open: %s", st->path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
	sqlite3_busy_timeout(db, 5000);
	if ((rc = query_int(db, "PRAGMA user_version", &ver)) != SQLITE_OK ||
	    (rc = query_int(db, "PRAGMA application_id", &app)) != SQLITE_OK ||
	    (rc = query_int(db, "SELECT count(*) FROM sqlite_master", &objects)) != SQLITE_OK) {
		seterr(err, errlen, "%s: cannot read the lease database: %s; refusing to touch it", st->path,
		       sqlite3_errmsg(db));
		goto out;
	}
	if (app != 0 && app != STORE_APP_ID) {
		seterr(err, errlen, "%s: SQLite file of another application (application_id 0x%08" PRIx64
		       "); refusing to touch it", st->path, (uint64_t)app);
		rc = SQLITE_NOTADB;
		goto out;
	}
	if (app == 0 && ver == 0 && objects > 0) {
		seterr(err, errlen, "%s: SQLite file with %" PRId64 " objects but not a rackdhcpd lease database; "
		       "refusing to touch it", st->path, objects);
		rc = SQLITE_NOTADB;
		goto out;
	}
	if (ver > RD_STORE_SCHEMA_VERSION || ver < 0) {
		seterr(err, errlen, "%s has schema version %" PRId64 ", this rackdhcpd knows up to %d; refusing to touch it",
		       st->path, ver, RD_STORE_SCHEMA_VERSION);
		rc = SQLITE_NOTADB;
		goto out;
	}
	rc = integrity_check(db, st->o.full_integrity_check, msg, sizeof(msg));
	if (rc != SQLITE_OK)
		seterr(err, errlen, "%s: %s failed: %s; refusing to start (restore a backup or move the file away)",
		       st->path, st->o.full_integrity_check ? "integrity_check" : "quick_check", msg);
out:
	sqlite3_close(db);
	return rc;
}

/* Bring the schema to RD_STORE_SCHEMA_VERSION in one transaction. */
static int migrate(rd_store_t *st, char *err, size_t errlen)
{
	char msg[300], sql[96];
	int64_t ver = 0;
	int rc = exec(st->db, "BEGIN IMMEDIATE", msg, sizeof(msg));
	if (rc != SQLITE_OK)
		goto fail;
	/* Read again under the write lock: the file may have changed since check_file. */
	if ((rc = query_int(st->db, "PRAGMA user_version", &ver)) != SQLITE_OK) {
		seterr(msg, sizeof(msg), "%s", sqlite3_errmsg(st->db));
		goto fail;
	}
	if (ver > RD_STORE_SCHEMA_VERSION) {
		exec(st->db, "ROLLBACK", NULL, 0);
		seterr(err, errlen, "%s has schema version %" PRId64 ", this rackdhcpd knows up to %d; refusing to touch it",
		       st->path, ver, RD_STORE_SCHEMA_VERSION);
		return SQLITE_NOTADB;
	}
	if (ver == RD_STORE_SCHEMA_VERSION) {
		if ((rc = exec(st->db, "COMMIT", msg, sizeof(msg))) != SQLITE_OK)
			goto fail;
		return 0;
	}
	for (int64_t v = ver; v < RD_STORE_SCHEMA_VERSION; v++) {
		if ((rc = exec(st->db, migrations[v], msg, sizeof(msg))) != SQLITE_OK)
			goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d", STORE_APP_ID,
		 RD_STORE_SCHEMA_VERSION);
	if ((rc = exec(st->db, sql, msg, sizeof(msg))) != SQLITE_OK ||
	    (rc = exec(st->db, "COMMIT", msg, sizeof(msg))) != SQLITE_OK)
		goto fail;
	if (ver != 0)
		slog(st, RD_STORE_LOG_INFO, "%s: schema migrated from version %" PRId64 " to %d", st->path, ver,
		     RD_STORE_SCHEMA_VERSION);
	return 0;
fail:
	if (!sqlite3_get_autocommit(st->db))
		exec(st->db, "ROLLBACK", NULL, 0);
	seterr(err, errlen, "%s: schema migration from version %" PRId64 " failed: %s", st->path, ver, msg);
	return rc ? rc : SQLITE_ERROR;
}

static int prepare_stmts(rd_store_t *st)
{
	struct {
		sqlite3_stmt **s;
		const char *sql;
	} v[] = {
		{ &st->s_begin, "BEGIN IMMEDIATE" },
		{ &st->s_commit, "COMMIT" },
		{ &st->s_rollback, "ROLLBACK" },
		{ &st->s_upsert, SQL_UPSERT },
		{ &st->s_hist, SQL_HISTORY },
		{ &st->s_prune_rows, SQL_PRUNE_ROWS },
		{ &st->s_prune_age, SQL_PRUNE_AGE },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int rc = sqlite3_prepare_v3(st->db, v[i].sql, -1, SQLITE_PREPARE_PERSISTENT, v[i].s, NULL);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

static void finalize_stmts(rd_store_t *st)
{
	sqlite3_stmt **v[] = { &st->s_begin, &st->s_commit, &st->s_rollback, &st->s_upsert, &st->s_hist,
			       &st->s_prune_rows, &st->s_prune_age };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		sqlite3_finalize(*v[i]);
		*v[i] = NULL;
	}
}

static int open_writer(rd_store_t *st, char *err, size_t errlen)
{
	char msg[300], sql[160];
	int rc = sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		seterr(err, errlen, "%s: cannot open: %s", st->path,
		       st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		return rc;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 5000);
	/* WAL first: a commit then appends to one file and fsyncs it once. */
	sqlite3_stmt *s;
	rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		const char *mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
		rc = mode && !strcmp(mode, "wal") ? SQLITE_OK : SQLITE_ERROR;
		sqlite3_finalize(s);
	}
	if (rc != SQLITE_OK) {
		seterr(err, errlen, "%s: cannot switch to WAL mode: %s", st->path, sqlite3_errmsg(st->db));
		return rc;
	}
	snprintf(sql, sizeof(sql),
		 "PRAGMA synchronous = %s; PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY;"
		 " PRAGMA max_page_count = %u",
		 st->durability == RD_STORE_SYNC ? "FULL" : "NORMAL",
		 st->o.max_db_pages ? st->o.max_db_pages : 0xfffffffeu);
	if ((rc = exec(st->db, sql, msg, sizeof(msg))) != SQLITE_OK) {
		seterr(err, errlen, "%s: %s", st->path, msg);
		return rc;
	}
	if ((rc = migrate(st, err, errlen)) != 0)
		return rc;
	if ((rc = prepare_stmts(st)) != SQLITE_OK) {
		seterr(err, errlen, "%s: cannot prepare statements: %s", st->path, sqlite3_errmsg(st->db));
		return rc;
	}
	return 0;
}

static void *writer_main(void *arg);

static void store_free(rd_store_t *st)
{
	finalize_stmts(st);
	if (st->db)
		sqlite3_close(st->db);
	for (size_t i = 0; i < st->retry_n; i++)
		free(st->retry[i]);
	free(st->retry);
	free(st->batch);
	pthread_cond_destroy(&st->work_cv);
	pthread_cond_destroy(&st->space_cv);
	pthread_cond_destroy(&st->done_cv);
	pthread_mutex_destroy(&st->lock);
	free(st->path);
	free(st);
}

int rd_store_open(const char *path, enum rd_store_durability durability, const rd_store_opts_t *opts,
		  rd_store_t **out, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return RD_EINVAL;
	*out = NULL;
	if (!path || !*path || (durability != RD_STORE_SYNC && durability != RD_STORE_RELAXED)) {
		seterr(err, errlen, "rd_store_open: bad argument");
		return RD_EINVAL;
	}
	rd_store_t *st = calloc(1, sizeof(*st));
	if (!st || !(st->path = strdup(path))) {
		free(st);
		seterr(err, errlen, "%s: out of memory", path);
		return RD_ENOMEM;
	}
	st->durability = durability;
	opts_defaults(&st->o, opts);

	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->work_cv, &ca);
	pthread_cond_init(&st->space_cv, NULL);
	pthread_cond_init(&st->done_cv, NULL);
	pthread_condattr_destroy(&ca);

	int rc = prepare_file(path, err, errlen);
	if (rc) {
		store_free(st);
		return rc;
	}
	if ((rc = check_file(st, err, errlen)) != SQLITE_OK) {
		store_free(st);
		return sql_code(rc) ? sql_code(rc) : -EIO;
	}
	tighten_mode(st);
	if ((rc = open_writer(st, err, errlen)) != 0) {
		store_free(st);
		return sql_code(rc) ? sql_code(rc) : -EIO;
	}
	st->batch_cap = st->o.batch_max;
	st->batch = malloc(st->batch_cap * sizeof(*st->batch));
	if (!st->batch) {
		store_free(st);
		seterr(err, errlen, "%s: out of memory", path);
		return RD_ENOMEM;
	}
	st->writer_running = true;
	if ((rc = pthread_create(&st->writer, NULL, writer_main, st)) != 0) {
		st->writer_running = false;
		store_free(st);
		seterr(err, errlen, "%s: cannot start the writer thread: %s", path, strerror(rc));
		return -rc;
	}
	*out = st;
	return 0;
}

/* ------------------------------------------------------------ writer */

struct batch_stats {
	uint64_t rows, coalesced, stale, hist, pruned;
};

static int cmp_change(const void *a, const void *b)
{
	const struct change *x = *(struct change *const *)a, *y = *(struct change *const *)b;
	if (x->lease->addr != y->lease->addr)
		return x->lease->addr < y->lease->addr ? -1 : 1;
	if (x->lease->seq != y->lease->seq)
		return x->lease->seq < y->lease->seq ? -1 : 1;
	return x->ticket < y->ticket ? -1 : x->ticket > y->ticket;
}

static int step_reset(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int write_history(rd_store_t *st, const struct change *c)
{
	sqlite3_stmt *s = st->s_hist;
	const rd_lease_t *l = c->lease;
	sqlite3_bind_int64(s, 1, c->time);
	sqlite3_bind_int64(s, 2, l->addr);
	sqlite3_bind_int(s, 3, l->state);
	bind_blob(s, 4, l->chaddr, l->hlen);
	bind_blob(s, 5, rd_lease_cid(l), l->cid_len);
	bind_text(s, 6, rd_lease_host(l), l->host_len);
	sqlite3_bind_text(s, 7, c->event, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, (int64_t)l->seq);
	return step_reset(s);
}

/* Returns SQLITE_OK, or an error with *changed = 0 when the stored version is newer. */
static int write_lease(rd_store_t *st, const rd_lease_t *l, bool *changed)
{
	sqlite3_stmt *s = st->s_upsert;
	sqlite3_bind_int64(s, 1, l->addr);
	sqlite3_bind_int(s, 2, l->state);
	sqlite3_bind_int64(s, 3, l->starts);
	sqlite3_bind_int64(s, 4, l->ends);
	sqlite3_bind_int64(s, 5, l->tstp);
	sqlite3_bind_int64(s, 6, l->tsfp);
	sqlite3_bind_int64(s, 7, l->atsfp);
	sqlite3_bind_int64(s, 8, l->cltt);
	sqlite3_bind_int(s, 9, l->flags);
	sqlite3_bind_int(s, 10, l->htype);
	bind_blob(s, 11, l->chaddr, l->hlen);
	bind_blob(s, 12, rd_lease_cid(l), l->cid_len);
	bind_text(s, 13, rd_lease_host(l), l->host_len);
	sqlite3_bind_int64(s, 14, (int64_t)l->seq);
	int rc = step_reset(s);
	*changed = rc == SQLITE_OK && sqlite3_changes(st->db) > 0;
	return rc;
}

static int prune_history(rd_store_t *st, struct batch_stats *bs)
{
	int rc;
	sqlite3_bind_int64(st->s_prune_rows, 1, st->o.history_max_rows);
	if ((rc = step_reset(st->s_prune_rows)) != SQLITE_OK)
		return rc;
	bs->pruned += (uint64_t)sqlite3_changes(st->db);
	if (st->o.history_max_age) {
		sqlite3_bind_int64(st->s_prune_age, 1, (int64_t)time(NULL) - st->o.history_max_age);
		if ((rc = step_reset(st->s_prune_age)) != SQLITE_OK)
			return rc;
		bs->pruned += (uint64_t)sqlite3_changes(st->db);
	}
	return SQLITE_OK;
}

/*
 * Write the retry set plus the n nodes of list in one transaction.  On
 * failure the latest version of each address is kept in st->retry (node
 * ->keep set); every other node of the old retry set is freed here, the new
 * nodes are left to the caller (their completions have yet to run).
 */
static int write_batch(rd_store_t *st, struct change *list, size_t n, struct batch_stats *bs)
{
	size_t total = st->retry_n + n, k = 0;
	if (total > st->batch_cap) {
		struct change **b = realloc(st->batch, total * sizeof(*b));
		if (!b)
			return SQLITE_NOMEM;
		st->batch = b;
		st->batch_cap = total;
	}
	/* Retry nodes first: they are older than anything in list. */
	for (size_t i = 0; i < st->retry_n; i++)
		st->batch[k++] = st->retry[i];
	for (struct change *c = list; c && k < total; c = c->next)
		st->batch[k++] = c;
	memset(bs, 0, sizeof(*bs));

	int rc = step_reset(st->s_begin);
	/* History in submission order, so ids follow time. */
	for (size_t i = 0; rc == SQLITE_OK && !st->o.no_history && i < total; i++) {
		rc = write_history(st, st->batch[i]);
		bs->hist++;
	}
	/* Leases in address order (b-tree locality); of each address only the
	 * highest seq (then the last submitted) is written. */
	qsort(st->batch, total, sizeof(*st->batch), cmp_change);
	for (size_t i = 0; rc == SQLITE_OK && i < total; i++) {
		if (i + 1 < total && st->batch[i + 1]->lease->addr == st->batch[i]->lease->addr) {
			bs->coalesced++;
			continue;
		}
		bool changed;
		rc = write_lease(st, st->batch[i]->lease, &changed);
		if (rc == SQLITE_OK && !changed) {
			char a[24];
			fmt_addr(st->batch[i]->lease->addr, a, sizeof(a));
			slog(st, RD_STORE_LOG_INFO, "%s: change of %s (seq %" PRIu64 ") not written: the file holds a newer version",
			     st->path, a, st->batch[i]->lease->seq);
			bs->stale++;
		} else {
			bs->rows++;
		}
	}
	if (rc == SQLITE_OK && !st->o.no_history && ++st->since_prune >= st->o.history_prune_every) {
		rc = prune_history(st, bs);
		if (rc == SQLITE_OK)
			st->since_prune = 0;
	}
	if (rc == SQLITE_OK)
		rc = step_reset(st->s_commit);

	size_t old_n = st->retry_n;
	struct change **old = st->retry;
	if (rc == SQLITE_OK) {
		for (size_t i = 0; i < old_n; i++)
			free(old[i]);
		st->retry_n = 0;
		return SQLITE_OK;
	}

	const char *why = sqlite3_errmsg(st->db);
	slog(st, RD_STORE_LOG_ERR, "%s: commit of %zu changes failed: %s (%s); kept for retry", st->path, total, why,
	     sqlite3_errstr(rc));
	if (!sqlite3_get_autocommit(st->db))
		step_reset(st->s_rollback);
	memset(bs, 0, sizeof(*bs));   /* nothing of it was written */
	/* Keep the latest version of each address; batch[] holds every node. */
	size_t keep = 0;
	for (size_t i = 0; i < total; i++) {
		st->batch[i]->keep = i + 1 == total || st->batch[i + 1]->lease->addr != st->batch[i]->lease->addr;
		keep += st->batch[i]->keep;
	}
	struct change **r = malloc((keep ? keep : 1) * sizeof(*r));
	if (!r) {
		/* The one case where changes are lost: say so loudly. */
		slog(st, RD_STORE_LOG_ERR, "%s: out of memory: %zu lease changes will not be retried", st->path, keep);
		for (size_t i = 0; i < total; i++)
			st->batch[i]->keep = false;
	}
	st->retry_n = 0;
	for (size_t i = 0; r && i < total; i++)
		if (st->batch[i]->keep)
			r[st->retry_n++] = st->batch[i];
	for (size_t i = 0; i < old_n; i++)
		if (!old[i]->keep)
			free(old[i]);
	free(old);
	st->retry = r;
	st->retry_cap = r ? keep : 0;
	return rc;
}

static void *writer_main(void *arg)
{
	rd_store_t *st = arg;

	(void)pthread_setname_np(pthread_self(), "rd-store");   /* for top -H and perf */
	pthread_mutex_lock(&st->lock);
	for (;;) {
		while (!st->head && !st->stopping && !st->kick) {
			if (st->retry_n) {
				/* A failed batch waits for new work or retry_ms, whichever first. */
				struct timespec ts = deadline_after(st->o.retry_ms * 1000u);
				if (pthread_cond_timedwait(&st->work_cv, &st->lock, &ts) == ETIMEDOUT)
					break;
			} else {
				pthread_cond_wait(&st->work_cv, &st->lock);
			}
		}
		if (!st->head && st->stopping)
			break;
		st->kick = false;
		if (!st->head && !st->retry_n) {
			st->attempts++;
			pthread_cond_broadcast(&st->done_cv);
			continue;
		}
		if (st->head && st->o.group_window_us && !st->stopping) {
			/* Producers do not wake us for each change in the window
			 * (a wake-up per lease cost more than the window saved),
			 * only when the batch is full or the store stops. */
			struct timespec ts = deadline_after(st->o.group_window_us);
			st->in_window = true;
			while (st->queued < st->o.batch_max && !st->stopping)
				if (pthread_cond_timedwait(&st->work_cv, &st->lock, &ts) == ETIMEDOUT)
					break;
			st->in_window = false;
		}
		/* Take a FIFO prefix, so "done up to ticket T" is exact. */
		struct change *list = st->head, *last = NULL;
		size_t n = 0;
		for (struct change *c = st->head; c && n < st->o.batch_max; c = c->next) {
			last = c;
			n++;
		}
		if (last) {
			st->head = last->next;
			if (!st->head)
				st->tail = NULL;
			last->next = NULL;
			st->queued -= n;
			st->in_flight = n;
			pthread_cond_broadcast(&st->space_cv);
		} else {
			list = NULL;
		}
		uint64_t last_ticket = last ? last->ticket : 0;   /* last may be freed below */
		pthread_mutex_unlock(&st->lock);

		struct batch_stats bs;
		int rc = write_batch(st, list, n, &bs);
		int status = sql_code(rc);
		uint64_t failed = 0;
		for (struct change *c = list; c; c = c->next) {
			if (c->cb)
				c->cb(c->ctx, status);
			failed += status != 0;
		}
		for (struct change *c = list, *next; c; c = next) {
			next = c->next;
			if (!c->keep)
				free(c);
		}
		rd_store_batch_end_fn end = __atomic_load_n(&st->batch_end, __ATOMIC_ACQUIRE);
		if (end && n)
			end();

		pthread_mutex_lock(&st->lock);
		if (last_ticket > st->done_ticket)
			st->done_ticket = last_ticket;
		st->in_flight = 0;
		st->attempts++;
		st->stats.completed += n;
		st->stats.failed += failed;
		if (rc == SQLITE_OK) {
			st->stats.commits++;
			st->last_error = 0;
		} else {
			st->stats.commit_errors++;
			st->last_error = status;
		}
		st->stats.rows_written += bs.rows;
		st->stats.coalesced += bs.coalesced;
		st->stats.stale += bs.stale;
		st->stats.history_rows += bs.hist;
		st->stats.history_pruned += bs.pruned;
		if (n > st->stats.max_batch)
			st->stats.max_batch = n;
		st->stats.retry_pending = st->retry_n;
		pthread_cond_broadcast(&st->done_cv);
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

/* ------------------------------------------------------------ producers */

void rd_store_set_batch_end(rd_store_t *st, rd_store_batch_end_fn fn)
{
	if (st && __atomic_load_n(&st->batch_end, __ATOMIC_RELAXED) != fn)
		__atomic_store_n(&st->batch_end, fn, __ATOMIC_RELEASE);
}

static bool on_writer(rd_store_t *st)
{
	return st->writer_running && pthread_equal(pthread_self(), st->writer);
}

static int submit(rd_store_t *st, const rd_lease_t *l, const char *event, rd_store_done_fn cb, void *ctx,
		  bool block, uint64_t *ticket)
{
	if (!st || !l)
		return RD_EINVAL;
	rd_store_row_t row;
	rd_diag_t d;
	rd_diag_clear(&d);
	rd_store_lease_to_row(l, &row);
	if (row_check(&row, &d) != 0) {
		char a[24];
		fmt_addr(l->addr, a, sizeof(a));
		slog(st, RD_STORE_LOG_WARNING, "%s: refused change of %s: %s", st->path, a, d.reason);
		return RD_EMALFORMED;
	}
	size_t lsize = rd_lease_size(l);
	struct change *c = malloc(CHANGE_HDR + lsize);
	if (!c)
		return RD_ENOMEM;
	c->next = NULL;
	c->cb = cb;
	c->ctx = ctx;
	c->keep = false;
	c->time = (int64_t)time(NULL);
	snprintf(c->event, sizeof(c->event), "%s", event ? event : "");
	c->lease = (rd_lease_t *)(void *)((char *)c + CHANGE_HDR);
	memcpy(c->lease, l, lsize);

	pthread_mutex_lock(&st->lock);
	for (;;) {
		if (st->stopping) {
			pthread_mutex_unlock(&st->lock);
			free(c);
			return RD_EINVAL;
		}
		if (st->queued < st->o.queue_max)
			break;
		/* The writer is the one that makes room: it must never wait for it. */
		if (!block || on_writer(st)) {
			st->stats.rejected_full++;
			pthread_mutex_unlock(&st->lock);
			free(c);
			return RD_ENOSPACE;
		}
		pthread_cond_wait(&st->space_cv, &st->lock);
	}
	c->ticket = ++st->next_ticket;
	if (st->tail)
		st->tail->next = c;
	else
		st->head = c;
	st->tail = c;
	st->queued++;
	st->stats.submitted++;
	if (ticket)
		*ticket = c->ticket;   /* not after the unlock: c belongs to the writer then */
	if (!st->in_window || st->queued >= st->o.batch_max)
		pthread_cond_signal(&st->work_cv);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

int rd_store_submit(rd_store_t *st, const rd_lease_t *l, const char *event, rd_store_done_fn cb, void *ctx)
{
	return submit(st, l, event, cb, ctx, st && st->o.block_when_full, NULL);
}

static void wait_done(void *ctx, int status)
{
	*(int *)ctx = status;
}

int rd_store_submit_wait(rd_store_t *st, const rd_lease_t *l, const char *event)
{
	if (!st || on_writer(st))
		return RD_EINVAL;
	int status = 0;
	uint64_t ticket;
	int rc = submit(st, l, event, wait_done, &status, true, &ticket);
	if (rc)
		return rc;
	pthread_mutex_lock(&st->lock);
	while (st->done_ticket < ticket)
		pthread_cond_wait(&st->done_cv, &st->lock);
	pthread_mutex_unlock(&st->lock);
	return status;
}

int rd_store_flush(rd_store_t *st)
{
	if (!st || on_writer(st))
		return RD_EINVAL;
	pthread_mutex_lock(&st->lock);
	uint64_t target = st->next_ticket;
	while (st->done_ticket < target && st->writer_running)
		pthread_cond_wait(&st->done_cv, &st->lock);
	if (st->stats.retry_pending && st->writer_running) {
		/* Versions of failed batches are pending: try them once more now
		 * rather than after retry_ms, so a flush after the disk got space
		 * reports success. */
		uint64_t a = st->attempts;
		st->kick = true;
		pthread_cond_signal(&st->work_cv);
		while (st->attempts == a && st->writer_running)
			pthread_cond_wait(&st->done_cv, &st->lock);
	}
	int rc = st->stats.retry_pending ? (st->last_error ? st->last_error : -EIO) : 0;
	pthread_mutex_unlock(&st->lock);
	return rc;
}

size_t rd_store_queue_depth(rd_store_t *st)
{
	pthread_mutex_lock(&st->lock);
	size_t n = st->queued + st->in_flight;
	pthread_mutex_unlock(&st->lock);
	return n;
}

void rd_store_stats(rd_store_t *st, rd_store_stats_t *out)
{
	pthread_mutex_lock(&st->lock);
	*out = st->stats;
	out->queue_depth = st->queued + st->in_flight;
	pthread_mutex_unlock(&st->lock);
}

/* ------------------------------------------------------ failover state */

static int open_reader(const rd_store_t *st, sqlite3 **db);
static bool col_is(sqlite3_stmt *s, int i, int type, bool null_ok);

/*
 * A short-lived read-write connection beside the lease writer's, for small
 * records that must be durable at once (synchronous=FULL): WAL lets it wait
 * (busy timeout) for the writer's transaction in flight.  *db is set even
 * on failure (sqlite3_close it).
 */
static int open_side_writer(rd_store_t *st, sqlite3 **db)
{
	int rc = sqlite3_open_v2(st->path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(*db, 10000);
		sqlite3_db_config(*db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
		rc = sqlite3_exec(*db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
	}
	return rc;
}

/*
 * The failover state is written rarely (state changes) and must be durable
 * before it is announced, so it goes through a short-lived connection of its
 * own with synchronous=FULL rather than the lease writer's queue: WAL lets
 * it wait (busy timeout) for the writer's transaction in flight and commit
 * between two batches.
 */
int rd_store_fo_state_put(rd_store_t *st, const rd_store_fo_state_t *fs)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;

	if (!st || !fs || !fs->name[0])
		return RD_EINVAL;
	int rc = open_side_writer(st, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db,
					"INSERT INTO failover_state (name, state, stos, partner, partner_stos, mclt)"
					" VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (name) DO UPDATE SET"
					" state = excluded.state, stos = excluded.stos, partner = excluded.partner,"
					" partner_stos = excluded.partner_stos, mclt = excluded.mclt",
					-1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, fs->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, fs->state);
		sqlite3_bind_int64(s, 3, fs->stos);
		sqlite3_bind_int64(s, 4, fs->partner);
		sqlite3_bind_int64(s, 5, fs->partner_stos);
		sqlite3_bind_int64(s, 6, fs->mclt);
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		slog(st, RD_STORE_LOG_ERR, "%s: cannot record failover state of %s: %s", st->path, fs->name,
		     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : (-EIO);
}

int rd_store_fo_state_get(rd_store_t *st, const char *name, rd_store_fo_state_t *fs)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int ret = (-EIO);

	if (!st || !name || !fs)
		return RD_EINVAL;
	memset(fs, 0, sizeof(*fs));
	int rc = open_reader(st, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db,
					"SELECT state, stos, partner, partner_stos, mclt FROM failover_state"
					" WHERE name = ?1", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			snprintf(fs->name, sizeof(fs->name), "%s", name);
			fs->state = (uint8_t)sqlite3_column_int64(s, 0);
			fs->stos = (uint32_t)sqlite3_column_int64(s, 1);
			fs->partner = (uint8_t)sqlite3_column_int64(s, 2);
			fs->partner_stos = (uint32_t)sqlite3_column_int64(s, 3);
			fs->mclt = (uint32_t)sqlite3_column_int64(s, 4);
			ret = 0;
		} else if (rc == SQLITE_DONE) {
			ret = -ENOENT;
		}
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return ret;
}

/*
 * The region view: written once per successful poll at most, through a
 * short connection of its own like the failover state (durable before the
 * daemon relies on it, never in the lease writer's way).
 */
int rd_store_region_view_put(rd_store_t *st, const rd_store_region_view_t *v)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;

	if (!st || !v || !v->yaml || !v->url || !v->system_id)
		return RD_EINVAL;
	int rc = open_side_writer(st, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db,
					"INSERT INTO region_view (id, yaml, fetched, url, system_id)"
					" VALUES (1, ?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET"
					" yaml = excluded.yaml, fetched = excluded.fetched, url = excluded.url,"
					" system_id = excluded.system_id",
					-1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, v->yaml, (int)v->len, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, v->fetched);
		sqlite3_bind_text(s, 3, v->url, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, v->system_id, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		slog(st, RD_STORE_LOG_ERR, "%s: cannot record the region view: %s", st->path,
		     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : (-EIO);
}

static char *col_strdup(sqlite3_stmt *s, int i, size_t *len)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	int n = sqlite3_column_bytes(s, i);
	char *c = t ? malloc((size_t)n + 1) : NULL;
	if (c) {
		memcpy(c, t, (size_t)n);
		c[n] = '\0';
		if (len)
			*len = (size_t)n;
	}
	return c;
}

int rd_store_region_view_get(rd_store_t *st, rd_store_region_view_t *v)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int ret = (-EIO);

	if (!st || !v)
		return RD_EINVAL;
	memset(v, 0, sizeof(*v));
	int rc = open_reader(st, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "SELECT yaml, fetched, url, system_id FROM region_view WHERE id = 1", -1,
					&s, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			if (!col_is(s, 0, SQLITE_TEXT, false) || !col_is(s, 1, SQLITE_INTEGER, false) ||
			    !col_is(s, 2, SQLITE_TEXT, false) || !col_is(s, 3, SQLITE_TEXT, false)) {
				slog(st, RD_STORE_LOG_ERR, "%s: the stored region view has columns of the wrong type; "
				     "ignored", st->path);
				ret = RD_EMALFORMED;
			} else {
				v->yaml = col_strdup(s, 0, &v->len);
				v->fetched = sqlite3_column_int64(s, 1);
				v->url = col_strdup(s, 2, NULL);
				v->system_id = col_strdup(s, 3, NULL);
				ret = v->yaml && v->url && v->system_id ? 0 : RD_ENOMEM;
				if (ret)
					rd_store_region_view_clear(v);
			}
		} else if (rc == SQLITE_DONE) {
			ret = -ENOENT;
		}
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return ret;
}

void rd_store_region_view_clear(rd_store_region_view_t *v)
{
	if (!v)
		return;
	free(v->yaml);
	free(v->url);
	free(v->system_id);
	memset(v, 0, sizeof(*v));
}

/* ------------------------------------------------------------ readers */

static int open_reader(const rd_store_t *st, sqlite3 **db)
{
	int rc = sqlite3_open_v2(st->path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(*db, 5000);
		/* Never checkpoint from a reader: that is the writer's job. */
		sqlite3_db_config(*db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
	}
	return rc;
}

static bool col_is(sqlite3_stmt *s, int i, int type, bool null_ok)
{
	int t = sqlite3_column_type(s, i);
	return t == type || (null_ok && t == SQLITE_NULL);
}

int rd_store_load(rd_store_t *st, rd_store_load_fn cb, void *ctx, rd_store_load_stats_t *stats)
{
	rd_store_load_stats_t ls = { 0 };
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int ret = 0;

	if (!st || !cb)
		return RD_EINVAL;
	int rc = open_reader(st, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, SQL_LOAD, -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);   /* one snapshot for the whole scan */
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		if ((rc = sqlite3_step(s)) != SQLITE_ROW)
			break;
		rd_store_row_t row;
		row.type_errors = 0;
		int64_t *ints[] = { &row.addr, &row.state, &row.starts, &row.ends, &row.tstp, &row.tsfp,
				    &row.atsfp, &row.cltt, &row.flags, &row.htype };
		for (int i = 0; i < RD_STORE_COL_CHADDR; i++) {
			*ints[i] = sqlite3_column_int64(s, i);
			if (!col_is(s, i, SQLITE_INTEGER, false))
				row.type_errors |= 1u << i;
		}
		row.seq = sqlite3_column_int64(s, RD_STORE_COL_SEQ);
		if (!col_is(s, RD_STORE_COL_SEQ, SQLITE_INTEGER, false))
			row.type_errors |= 1u << RD_STORE_COL_SEQ;
		if (!col_is(s, RD_STORE_COL_CHADDR, SQLITE_BLOB, true))
			row.type_errors |= 1u << RD_STORE_COL_CHADDR;
		if (!col_is(s, RD_STORE_COL_CLIENT_ID, SQLITE_BLOB, true))
			row.type_errors |= 1u << RD_STORE_COL_CLIENT_ID;
		if (!col_is(s, RD_STORE_COL_HOSTNAME, SQLITE_TEXT, true))
			row.type_errors |= 1u << RD_STORE_COL_HOSTNAME;
		/* column_blob gives TEXT bytes unconverted; take lengths after the pointers. */
		row.chaddr = sqlite3_column_blob(s, RD_STORE_COL_CHADDR);
		row.chaddr_len = (size_t)sqlite3_column_bytes(s, RD_STORE_COL_CHADDR);
		row.client_id = sqlite3_column_blob(s, RD_STORE_COL_CLIENT_ID);
		row.client_id_len = (size_t)sqlite3_column_bytes(s, RD_STORE_COL_CLIENT_ID);
		row.hostname = sqlite3_column_blob(s, RD_STORE_COL_HOSTNAME);
		row.hostname_len = (size_t)sqlite3_column_bytes(s, RD_STORE_COL_HOSTNAME);
		ls.rows++;

		rd_lease_t *l;
		rd_diag_t d;
		int r = rd_store_row_to_lease(&row, &l, &d);
		if (r == RD_ENOMEM) {
			ret = RD_ENOMEM;
			break;
		}
		if (r) {
			if (ls.skipped++ < LOAD_LOG_MAX) {
				char a[24];
				fmt_addr(row.addr, a, sizeof(a));
				slog(st, RD_STORE_LOG_ERR, "%s: lease row %s skipped: %s", st->path, a, d.reason);
			}
			continue;
		}
		if (l->seq > ls.max_seq)
			ls.max_seq = l->seq;
		ls.loaded++;
		if ((r = cb(ctx, l)) != 0) {
			ret = r;
			break;
		}
	}
	if (!ret && rc != SQLITE_DONE) {
		slog(st, RD_STORE_LOG_ERR, "%s: reading leases failed after %zu rows: %s", st->path, ls.rows,
		     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		ret = sql_code(rc) ? sql_code(rc) : -EIO;
	}
	if (ls.skipped > LOAD_LOG_MAX)
		slog(st, RD_STORE_LOG_ERR, "%s: %zu bad lease rows skipped in all (%d logged)", st->path, ls.skipped,
		     LOAD_LOG_MAX);
	sqlite3_finalize(s);
	sqlite3_close(db);
	if (stats)
		*stats = ls;
	return ret;
}

static int fsync_path(const char *path, bool dir)
{
	int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}

int rd_store_backup(rd_store_t *st, const char *dest_path, char *err, size_t errlen)
{
	sqlite3 *src = NULL, *dst = NULL;
	char *tmp = NULL;
	int rc, ret = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!st || !dest_path || !*dest_path)
		return RD_EINVAL;
	size_t tlen = strlen(dest_path) + sizeof(".tmp");
	if (!(tmp = malloc(tlen)))
		return RD_ENOMEM;
	snprintf(tmp, tlen, "%s.tmp", dest_path);
	unlink(tmp);   /* left over by an interrupted backup */
	if ((ret = prepare_file(tmp, err, errlen)) != 0)
		goto out;
	if ((rc = open_reader(st, &src)) != SQLITE_OK) {
		seterr(err, errlen, "%s: cannot open for backup: %s", st->path, sqlite3_errstr(rc));
		ret = sql_code(rc);
		goto out;
	}
	if ((rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)) != SQLITE_OK) {
		seterr(err, errlen, "%s: cannot open: %s", tmp, dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
		ret = sql_code(rc);
		goto out;
	}
	/* All pages in one step: one read transaction on src gives a consistent
	 * snapshot while the writer goes on appending to the WAL. */
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	if (!b) {
		seterr(err, errlen, "%s: backup to %s: %s", st->path, tmp, sqlite3_errmsg(dst));
		ret = -EIO;
		goto out;
	}
	rc = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		seterr(err, errlen, "%s: backup to %s: %s", st->path, tmp, sqlite3_errstr(rc));
		ret = sql_code(rc) ? sql_code(rc) : -EIO;
		goto out;
	}
	/* A self-contained file: no -wal/-shm to carry around with it. */
	char msg[200];
	if (exec(dst, "PRAGMA journal_mode = DELETE", msg, sizeof(msg)) != SQLITE_OK) {
		seterr(err, errlen, "%s: %s", tmp, msg);
		ret = -EIO;
		goto out;
	}
	sqlite3_close(dst);
	dst = NULL;
	if ((ret = fsync_path(tmp, false)) != 0 || rename(tmp, dest_path) != 0) {
		ret = ret ? ret : -errno;
		seterr(err, errlen, "%s: cannot complete backup: %s", dest_path, strerror(-ret));
		goto out;
	}
	/* Make the rename durable too. */
	char *slash = strrchr(tmp, '/');
	if (slash) {
		*slash = '\0';
		fsync_path(slash == tmp ? "/" : tmp, true);
	} else {
		fsync_path(".", true);
	}
	free(tmp);
	sqlite3_close(src);
	return 0;
out:
	if (dst)
		sqlite3_close(dst);
	sqlite3_close(src);
	if (tmp)
		unlink(tmp);
	free(tmp);
	return ret ? ret : -EIO;
}

/* ------------------------------------------------------------ close */

void rd_store_close(rd_store_t *st)
{
	if (!st)
		return;
	if (st->writer_running) {
		rd_store_flush(st);
		pthread_mutex_lock(&st->lock);
		st->stopping = true;
		pthread_cond_broadcast(&st->work_cv);
		pthread_cond_broadcast(&st->space_cv);
		pthread_mutex_unlock(&st->lock);
		pthread_join(st->writer, NULL);
		st->writer_running = false;
	}
	if (st->retry_n) {
		/* Last chance for versions of failed batches, from this thread now
		 * that the writer is gone. */
		struct batch_stats bs;
		size_t n = st->retry_n;
		if (write_batch(st, NULL, 0, &bs) != SQLITE_OK)
			slog(st, RD_STORE_LOG_ERR, "%s: closing with %zu lease changes NOT written (see above)",
			     st->path, n);
	}
	store_free(st);
}
