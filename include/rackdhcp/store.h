/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store.h — SQLite persistence of lease versions (rd_lease_t).
 *
 * The store is one SQLite file (leases.db) in WAL mode with two tables:
 * `leases`, one row per address holding the latest version, and
 * `lease_history`, an audit trail of every change with bounded retention.
 * The schema carries a version (PRAGMA user_version) and is brought up to
 * date by an ordered list of migrations at open; a file written by a newer
 * rackdhcpd is refused, never rewritten.
 *
 * Writes go through ONE writer thread that does group commit: producers
 * (packet workers) rd_store_submit() a copy of a lease change with a
 * completion callback; the writer takes everything pending, writes it in one
 * transaction (one fsync with RD_STORE_SYNC), then runs every completion with
 * the transaction's status.  The daemon sends a reply that changes a lease
 * from that completion, so no client is told about a lease that a crash
 * could forget.
 *
 * Durability:
 *  - RD_STORE_SYNC (default): synchronous=FULL; status 0 in a completion
 *    means the change's WAL frame is on stable storage.
 *  - RD_STORE_RELAXED: synchronous=NORMAL; commits are not fsynced (only
 *    checkpoints are).  UNSAFE against power loss / kernel crash: recently
 *    acknowledged leases can be lost (the file stays consistent).  A crash
 *    of the process alone loses nothing that was completed.
 *
 * Errors on commit (disk full, I/O error): every completion of the batch
 * gets the negative status (so the client is not acked), the writer logs it,
 * keeps the latest version of each address of the failed batch and writes
 * it again with the next batch (or after retry_ms when nothing else comes).
 * A change is never dropped silently; what can be lost on a failed batch is
 * the audit rows of versions already superseded inside that batch.
 *
 * Threading contract:
 *  - rd_store_submit, rd_store_submit_wait, rd_store_flush,
 *    rd_store_queue_depth, rd_store_stats, rd_store_load and rd_store_backup
 *    are thread-safe and may be called from any thread while the writer runs
 *    (load and backup use their own read connection; WAL lets them read a
 *    consistent snapshot without blocking the writer).
 *  - rd_store_open and rd_store_close are not: close must not race with any
 *    other call on the same store (stop the producers first).
 *  - Completion callbacks run on the writer thread, in submission order, after
 *    the commit.  They must be quick and must not call rd_store_submit_wait or
 *    rd_store_flush (those return RD_EINVAL there instead of deadlocking);
 *    rd_store_submit from a completion never blocks (RD_ENOSPACE when full).
 *  - rd_store_row_to_lease is pure (no I/O, no global state).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rackdhcp/error.h"
#include "rackdhcp/lease.h"

/*! The schema version this rackdhcpd writes and the newest it can read. */
#define RD_STORE_SCHEMA_VERSION 3

/*! Longest history event/reason kept (longer ones are truncated). */
#define RD_STORE_EVENT_MAX 47

typedef struct rd_store rd_store_t;

enum rd_store_durability {
	RD_STORE_SYNC = 0,      /*!< fsync every commit (synchronous=FULL) */
	RD_STORE_RELAXED = 1,   /*!< no fsync per commit: power loss may lose acked leases */
};

/*! Log levels: the syslog(3) priority values. */
enum {
	RD_STORE_LOG_ERR = 3,
	RD_STORE_LOG_WARNING = 4,
	RD_STORE_LOG_INFO = 6,
	RD_STORE_LOG_DEBUG = 7,
};

/*! Log sink: one line, no trailing newline.  Called from any store thread. */
typedef void (*rd_store_log_fn)(void *ctx, int level, const char *msg);

/*!
 * Options of rd_store_open.  A zeroed struct (or NULL) means the defaults
 * given with each field.
 */
typedef struct rd_store_opts {
	unsigned queue_max;           /*!< max changes queued, not yet taken by the writer (65536) */
	bool block_when_full;         /*!< full queue: block the producer (true) or return RD_ENOSPACE (false, default:
				       *   packet workers must not block; the client retries) */
	unsigned batch_max;           /*!< max changes per transaction (8192) */
	unsigned group_window_us;     /*!< extra wait to collect a batch once work is there (0: commit at once) */
	unsigned retry_ms;            /*!< retry of a failed batch when no new work arrives (1000) */
	bool no_history;              /*!< do not write lease_history rows */
	unsigned history_max_rows;    /*!< retention bound in rows (100000) */
	unsigned history_max_age;     /*!< retention bound in seconds (0: no age bound) */
	unsigned history_prune_every; /*!< prune every N commits (16); the bound may be exceeded in between */
	bool full_integrity_check;    /*!< PRAGMA integrity_check at open instead of quick_check */
	unsigned max_db_pages;        /*!< cap on the file's size in pages (0: none); past it commits fail
				       *   with -ENOSPC, as on a full disk (a quota, and the tests' disk-full) */
	rd_store_log_fn log;          /*!< log sink (NULL: stderr) */
	void *log_ctx;
} rd_store_opts_t;

/*! Counters for `status` and tests; a snapshot, each field consistent on its own. */
typedef struct rd_store_stats {
	uint64_t submitted;     /*!< changes accepted by rd_store_submit* */
	uint64_t completed;     /*!< completions run (any status) */
	uint64_t failed;        /*!< completions run with an error status */
	uint64_t commits;       /*!< transactions committed */
	uint64_t commit_errors; /*!< transactions that failed */
	uint64_t rows_written;  /*!< lease rows upserted (after coalescing) */
	uint64_t coalesced;     /*!< changes superseded in their batch by a newer version */
	uint64_t stale;         /*!< changes not written: the file already held a newer seq */
	uint64_t history_rows;  /*!< history rows inserted */
	uint64_t history_pruned;/*!< history rows deleted by retention */
	uint64_t max_batch;     /*!< largest batch so far */
	uint64_t rejected_full; /*!< submits refused with RD_ENOSPACE */
	size_t queue_depth;     /*!< queued + in the transaction in flight */
	size_t retry_pending;   /*!< addresses whose latest version awaits a retry after an error */
} rd_store_stats_t;

/*! Outcome of rd_store_load. */
typedef struct rd_store_load_stats {
	size_t rows;        /*!< rows read */
	size_t loaded;      /*!< leases handed to the callback */
	size_t skipped;     /*!< bad rows, logged and skipped */
	uint64_t max_seq;   /*!< highest seq loaded: the table must continue above it */
} rd_store_load_stats_t;

/*!
 * Columns of the leases table as SQLite returned them, before validation.
 * Blob pointers may be NULL only when their length is 0; they need not be
 * NUL-terminated.
 */
typedef struct rd_store_row {
	int64_t addr, state, starts, ends, tstp, tsfp, atsfp, cltt, flags, htype, seq;
	const uint8_t *chaddr;
	size_t chaddr_len;       /*!< becomes hlen */
	const uint8_t *client_id;
	size_t client_id_len;
	const char *hostname;
	size_t hostname_len;
	uint32_t type_errors;    /*!< bit (1u << RD_STORE_COL_*) per column of the wrong SQLite type */
} rd_store_row_t;

/*! Column numbers of rd_store_row_t, in the loader's SELECT order. */
enum rd_store_col {
	RD_STORE_COL_ADDR, RD_STORE_COL_STATE, RD_STORE_COL_STARTS, RD_STORE_COL_ENDS,
	RD_STORE_COL_TSTP, RD_STORE_COL_TSFP, RD_STORE_COL_ATSFP, RD_STORE_COL_CLTT,
	RD_STORE_COL_FLAGS, RD_STORE_COL_HTYPE, RD_STORE_COL_CHADDR, RD_STORE_COL_CLIENT_ID,
	RD_STORE_COL_HOSTNAME, RD_STORE_COL_SEQ,
	RD_STORE_NCOLS
};

/*! Completion of a submitted change: status 0 = durable, else a negative RD_E* / -errno. */
typedef void (*rd_store_done_fn)(void *ctx, int status);

/*! Loader callback: owns l from now on (even when it fails).  Non-zero stops the load. */
typedef int (*rd_store_load_fn)(void *ctx, rd_lease_t *l);

/*!
 * Open or create the store at path (file mode 0600; a looser existing mode is
 * tightened with a warning), check it (quick_check, or integrity_check when
 * opts->full_integrity_check), migrate it to RD_STORE_SCHEMA_VERSION and
 * start the writer.  A file that is not SQLite, fails the check, belongs to
 * another application or has a newer schema is refused without being
 * written; err names the file and the reason.  opts may be NULL.
 */
int rd_store_open(const char *path, enum rd_store_durability durability, const rd_store_opts_t *opts,
		  rd_store_t **out, char *err, size_t errlen);

/*!
 * Queue a copy of l (event: short audit reason such as "ack", may be NULL).
 * cb(ctx, status) runs on the writer thread once the change is durable or
 * has failed; cb may be NULL.  Returns 0 when queued (cb will run exactly
 * once), RD_ENOSPACE when the queue is full and the store does not block,
 * RD_EMALFORMED when l would not load again (see rd_store_row_to_lease; the
 * same rules, so a poison change cannot wedge the writer), RD_ENOMEM, or
 * RD_EINVAL after close has begun.  cb never runs when this fails.
 */
int rd_store_submit(rd_store_t *st, const rd_lease_t *l, const char *event, rd_store_done_fn cb, void *ctx);

/*! rd_store_submit, then wait for the change to be durable; returns its status.  Always blocks when full. */
int rd_store_submit_wait(rd_store_t *st, const rd_lease_t *l, const char *event);

/*! Runs on the writer thread after the completions of a batch (see rd_store_set_batch_end). */
typedef void (*rd_store_batch_end_fn)(void);

/*!
 * fn() runs on the writer thread after all completions of each batch have
 * run (also of a failed batch), before flush / submit_wait waiters learn
 * that it is done: completions can queue work (replies to send, say) and
 * fn finishes it once per group commit.  NULL: none.  May be called at any
 * time from any thread; a change is seen from the next batch on, and one
 * made by a completion already at the end of the batch that ran it (the
 * hook is read after the completions).
 */
void rd_store_set_batch_end(rd_store_t *st, rd_store_batch_end_fn fn);

/*!
 * Wait until every change submitted before this call is completed.  0 when
 * all of them (and all earlier failed ones kept for retry) are durable, else
 * the last commit error.
 */
int rd_store_flush(rd_store_t *st);

/*! Changes queued or in the transaction in flight. */
size_t rd_store_queue_depth(rd_store_t *st);

void rd_store_stats(rd_store_t *st, rd_store_stats_t *out);

/*!
 * Read every lease row (in address order) through a read connection and
 * hand each valid one, as a new unpublished rd_lease_t, to cb.  A bad row is
 * logged with its address and reason, counted in stats->skipped and left in
 * the file untouched; it does not fail the load (the daemon decides, from
 * the counts, whether to refuse to start).  Returns 0, the callback's
 * non-zero value, or an SQLite error (negative).  stats may be NULL.
 */
int rd_store_load(rd_store_t *st, rd_store_load_fn cb, void *ctx, rd_store_load_stats_t *stats);

/*!
 * Copy a consistent snapshot of the store to dest_path (written to
 * dest_path.tmp, fsynced, then renamed; mode 0600) through the online backup
 * API, without stopping the writer.
 */
int rd_store_backup(rd_store_t *st, const char *dest_path, char *err, size_t errlen);

/*! Flush, stop the writer, close.  A final failure to persist is logged.  NULL is a no-op. */
void rd_store_close(rd_store_t *st);

/*!
 * Validate one row and build the lease it describes (*out, owned by the
 * caller).  Rules: address 1..254.255.255.255 (not 0, not broadcast); state
 * 1..7; each time 0..2^32-1 and ends >= starts when both are set; flags fit
 * 16 bits (unknown bits are kept); htype 0..255; chaddr <= 16 bytes;
 * client-id and hostname <= 255 bytes; no NUL in the hostname;
 * RD_LEASE_F_KEY_CID only with a client-id; seq >= 0; every column of its
 * SQLite type (integers INTEGER, chaddr/client_id BLOB or NULL, hostname
 * TEXT or NULL).  Returns 0, RD_EMALFORMED with d's reason, RD_EINVAL for a
 * NULL blob pointer with a length, or RD_ENOMEM.
 */
int rd_store_row_to_lease(const rd_store_row_t *row, rd_lease_t **out, rd_diag_t *d);

/*! The row a lease is stored as (blob pointers into l). */
void rd_store_lease_to_row(const rd_lease_t *l, rd_store_row_t *row);

/*!
 * The persisted failover state of one relationship (table failover_state,
 * schema version 2): what fo_state.h marks [persist].
 */
typedef struct rd_store_fo_state {
	char name[128];         /*!< relationship name */
	uint8_t state;          /*!< enum rd_fo_state (never STARTUP) */
	uint8_t partner;
	uint32_t stos, partner_stos, mclt;
} rd_store_fo_state_t;

/*!
 * Record fs durably (synchronous=FULL, its own connection: safe from any
 * thread while the writer runs; it waits for the writer's transaction in
 * flight).  0, RD_EINVAL, or -EIO (logged).
 */
int rd_store_fo_state_put(rd_store_t *st, const rd_store_fo_state_t *fs);

/*! Read the record of relationship `name`: 0, -ENOENT when there is none, -EIO. */
int rd_store_fo_state_get(rd_store_t *st, const char *name, rd_store_fo_state_t *fs);

/*!
 * The last region view that validated (table region_view, schema version
 * 3, one row): what a restart serves while the region is unreachable.
 */
typedef struct rd_store_region_view {
	char *yaml;             /*!< the view as rendered (failover and subnets only), NUL-terminated */
	size_t len;             /*!< strlen(yaml) */
	int64_t fetched;        /*!< Unix time the region last confirmed it */
	char *url;              /*!< region URL it came from */
	char *system_id;        /*!< the rack it was built for */
} rd_store_region_view_t;

/*!
 * Replace the stored view durably (own connection, synchronous=FULL: safe
 * from any thread while the writer runs).  0, RD_EINVAL, -EIO (logged).
 */
int rd_store_region_view_put(rd_store_t *st, const rd_store_region_view_t *v);

/*!
 * Read the stored view into *v (malloc'ed strings: rd_store_region_view_clear).
 * 0; -ENOENT none stored; RD_EMALFORMED a row of the wrong types (logged);
 * RD_ENOMEM; -EIO.
 */
int rd_store_region_view_get(rd_store_t *st, rd_store_region_view_t *v);
void rd_store_region_view_clear(rd_store_region_view_t *v);

/*! Printable column name ("hostname"). */
const char *rd_store_col_name(enum rd_store_col col);
