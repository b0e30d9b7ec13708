/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * regionsync.h — the daemon's region-sync thread: every region.poll_interval
 * it pulls this rack's view from the MAAS region (region.h), validates it as
 * a configuration, combines it with the configuration file
 * (rd_region_compose: docs/config.md, "Region and file together") and, when
 * the view changed, publishes the result through the daemon's one apply
 * path (rd_daemon_apply, the same as a SIGHUP reload), logging what changed.
 *
 * The last view that validated is kept in the lease store
 * (rd_store_region_view_*), so a daemon restarted while the region is
 * unreachable serves it.  A pull that fails, a view that does not validate
 * or a combination the daemon refuses changes nothing; each outage is
 * logged once when it starts and once when it ends.
 *
 * Threading: one thread of its own (registered with RCU).  Everything that
 * composes or applies a configuration runs under rd_daemon_t.reload_lock,
 * so a SIGHUP reload and a region update never interleave.  The status
 * accessor is safe from any thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rackdhcp/config.h"
#include "rackdhcp/daemon.h"
#include "rackdhcp/store.h"

typedef struct rd_regionsync rd_regionsync_t;

/*! Where the region part of the configuration in force came from. */
enum rd_regionsync_source {
	RD_RSYNC_SOURCE_NONE = 0,   /*!< no view yet: the file alone */
	RD_RSYNC_SOURCE_STORED,     /*!< the view stored in the lease store (region not reached since start) */
	RD_RSYNC_SOURCE_LIVE,       /*!< a view pulled from the region by this process */
};

/*! Outcome of one poll (the metric rackdhcpd_region_sync_total{result=...}). */
enum rd_regionsync_result {
	RD_RSYNC_CHANGED = 0,       /*!< a new view, published */
	RD_RSYNC_UNCHANGED,         /*!< the region confirmed the view in force */
	RD_RSYNC_ERROR,             /*!< the pull failed (transport, HTTP status, garbage JSON, missing data) */
	RD_RSYNC_INVALID,           /*!< the view did not validate as a configuration */
	RD_RSYNC_REFUSED,           /*!< the combined configuration was refused (compose or apply) */
	RD_RSYNC__COUNT
};

const char *rd_regionsync_result_name(enum rd_regionsync_result r);
const char *rd_regionsync_source_name(enum rd_regionsync_source s);

typedef struct {
	char url[2048];             /*!< region URL requests go to now */
	char system_id[65];
	uint32_t poll_interval;     /*!< seconds */
	enum rd_regionsync_source source;
	int64_t last_success;       /*!< Unix time of the last successful pull; 0: none since start */
	int64_t view_time;          /*!< Unix time the region last confirmed the view in force; 0: no view */
	char view_url[2048];        /*!< where the view in force came from ("" no view) */
	char last_error[512];       /*!< the last poll's error ("" after a success) */
	int64_t last_error_time;    /*!< 0: none since start */
	uint64_t polls[RD_RSYNC__COUNT];
	uint64_t failed_in_a_row;   /*!< polls that failed since the last success */
} rd_regionsync_status_t;

/*!
 * Create the region sync of a daemon from its configuration file, parsed
 * (file must have a region section; the region sync owns it from now on,
 * whatever the result).  Reads the API key file now, before privileges are
 * dropped.  *initial receives the configuration to publish first:
 * rd_region_compose(file, no view).
 * \retval 0, or negative with err filled (the key file is refused, ...)
 */
int rd_regionsync_new(rd_daemon_t *d, rd_config_t *file, rd_regionsync_t **out, rd_config_t **initial, char *err,
		      size_t errlen);

/*!
 * Before the thread starts, once the store is open: if it holds a view of
 * this rack that still validates, compose it with the file and return the
 * configuration to publish in *cfg (NULL when there is nothing to use; the
 * reason is logged).  The caller publishes it (nothing serves yet).
 */
int rd_regionsync_load_stored(rd_regionsync_t *rs, rd_store_t *store, rd_config_t **cfg);

/*! Start polling (the first poll at once).  0 or -errno. */
int rd_regionsync_start(rd_regionsync_t *rs);

/*! Poll now (SIGHUP, `rackdhcpctl reload`).  Async-signal-unsafe but non-blocking. */
void rd_regionsync_wake(rd_regionsync_t *rs);

/*!
 * The configuration file was reloaded: compose it with the view in force
 * and apply it (rd_daemon_apply).  Takes file.  On success the region sync
 * keeps file as its base; on refusal the previous one stays.  The caller
 * holds d->reload_lock.  0 or negative with err filled.
 */
int rd_regionsync_file_reloaded(rd_regionsync_t *rs, rd_config_t *file, char *err, size_t errlen);

/*! A copy of the current status (any thread). */
void rd_regionsync_status(rd_regionsync_t *rs, rd_regionsync_status_t *out);

/*! Stop the thread (aborts a request in flight) and free everything.  NULL ok. */
void rd_regionsync_free(rd_regionsync_t *rs);
