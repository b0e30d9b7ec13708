/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * regionsync.c — the region-sync thread (see regionsync.h).
 *
 * One poll:
 *   1. rd_region_pull renders the rack's view (failover peers and subnets
 *      only: the file's own sections are added when composing);
 *   2. the view alone goes through rd_region_view_parse, so an invalid view
 *      is refused with the MAAS object it came from;
 *   3. a view identical (as text) to the one in force only refreshes its
 *      age, in memory and in the store;
 *   4. otherwise, under the daemon's reload lock: rd_region_compose(file,
 *      view), the human diff against the configuration in force, and
 *      rd_daemon_apply; only once that succeeded is the view stored and the
 *      diff logged.
 * A refused view is remembered, so the same refusal is not retried (nor
 * logged) on every poll; a new view, or a reload of the file, tries again.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/error.h"
#include "rackdhcp/fmt.h"
#include "rackdhcp/log.h"
#include "rackdhcp/rcu.h"
#include "rackdhcp/region.h"
#include "rackdhcp/regionsync.h"

struct rd_regionsync {
	rd_daemon_t *d;
	rd_region_client_t *client;
	rd_store_t *store;
	/* under d->reload_lock */
	rd_config_t *file;          /* the configuration file, parsed: the base of every composition */
	rd_config_t *view;          /* the view in force, parsed alone; NULL: none */
	char *view_yaml;            /* its text */
	char *refused_yaml;         /* the last view refused after validation (not retried until it changes) */
	char refused_err[512];      /* why */
	/* thread */
	pthread_t thread;
	bool started;
	atomic_bool stop;
	int wake_fd;
	char system_id[65];
	uint32_t poll_interval;
	/* status, under lock */
	pthread_mutex_t lock;
	rd_regionsync_status_t st;
	int fail_kind;              /* the result that opened the outage being logged; -1: none */
};

static const char *const result_names[RD_RSYNC__COUNT] = {
	[RD_RSYNC_CHANGED] = "changed",
	[RD_RSYNC_UNCHANGED] = "unchanged",
	[RD_RSYNC_ERROR] = "error",
	[RD_RSYNC_INVALID] = "invalid",
	[RD_RSYNC_REFUSED] = "refused",
};

const char *rd_regionsync_result_name(enum rd_regionsync_result r)
{
	return (unsigned)r < RD_RSYNC__COUNT ? result_names[r] : "unknown";
}

const char *rd_regionsync_source_name(enum rd_regionsync_source s)
{
	return s == RD_RSYNC_SOURCE_LIVE ? "live" : s == RD_RSYNC_SOURCE_STORED ? "stored" : "none";
}

static void note_log(void *arg, const char *line)
{
	(void)arg;
	rd_log(LOG_WARNING, "region sync: %s", line);
}

int rd_regionsync_new(rd_daemon_t *d, rd_config_t *file, rd_regionsync_t **out, rd_config_t **initial, char *err,
		      size_t errlen)
{
	*out = NULL;
	*initial = NULL;
	rd_regionsync_t *rs = calloc(1, sizeof(*rs));
	if (!rs) {
		rd_config_free(file);
		snprintf(err, errlen, "region sync: out of memory");
		return RD_ENOMEM;
	}
	rs->d = d;
	rs->file = file;
	rs->wake_fd = -1;
	rs->fail_kind = -1;
	pthread_mutex_init(&rs->lock, NULL);
	snprintf(rs->system_id, sizeof(rs->system_id), "%s", file->region.system_id);
	rs->poll_interval = file->region.poll_interval;
	snprintf(rs->st.system_id, sizeof(rs->st.system_id), "%s", rs->system_id);
	rs->st.poll_interval = rs->poll_interval;
	int rc = rd_region_client_from_config(&file->region, &rs->client, err, errlen);
	if (rc == 0) {
		rd_region_set_abort(rs->client, &rs->stop);
		snprintf(rs->st.url, sizeof(rs->st.url), "%s", rd_region_current_url(rs->client));
		rs->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (rs->wake_fd < 0)
			rc = rd_errf(err, errlen, -errno, "region sync: eventfd: %s", strerror(errno));
	}
	if (rc == 0)
		rc = rd_region_compose(file, NULL, note_log, NULL, initial, err, errlen);
	if (rc) {
		rd_regionsync_free(rs);
		return rc;
	}
	*out = rs;
	return 0;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* Record a view as the one in force (under reload_lock). */
static void adopt_view(rd_regionsync_t *rs, rd_config_t *view, char *yaml)
{
	rd_config_free(rs->view);
	free(rs->view_yaml);
	rs->view = view;
	rs->view_yaml = yaml;
	free(rs->refused_yaml);
	rs->refused_yaml = NULL;
}

int rd_regionsync_load_stored(rd_regionsync_t *rs, rd_store_t *store, rd_config_t **cfg)
{
	rd_store_region_view_t sv;
	char err[1024];
	*cfg = NULL;
	rs->store = store;
	int rc = rd_store_region_view_get(store, &sv);
	const char *meanwhile = rs->file->region.source == RD_REGION_SOURCE_REGION
					? "nothing is served (source: region)"
					: "only the file's own subnets are served";
	if (rc == -ENOENT) {
		rd_log(LOG_INFO, "region sync: no region view stored yet; until the region answers %s", meanwhile);
		return 0;
	}
	if (rc < 0) {
		rd_log(LOG_ERR, "region sync: the stored region view cannot be read (%s); until the region answers %s",
		       rd_strerror(rc), meanwhile);
		return 0;
	}
	if (strcmp(sv.system_id, rs->system_id) != 0) {
		rd_log(LOG_WARNING, "region sync: the stored region view is of rack %s, this is rack %s: not used",
		       sv.system_id, rs->system_id);
		rd_store_region_view_clear(&sv);
		return 0;
	}
	rd_config_t *view = NULL, *merged = NULL;
	rc = rd_region_view_parse(sv.yaml, sv.len, &view, err, sizeof(err));
	if (rc == 0)
		rc = rd_region_compose(rs->file, view, note_log, NULL, &merged, err, sizeof(err));
	if (rc) {
		rd_log(LOG_ERR, "region sync: the stored region view (from %s) no longer validates, not used: %s",
		       sv.url, err);
		rd_config_free(view);
		rd_store_region_view_clear(&sv);
		return 0;
	}
	int64_t age = now_s() - sv.fetched;
	rd_log(LOG_INFO, "region sync: serving the region view stored from %s (%lld s old) until the region answers",
	       sv.url, (long long)(age > 0 ? age : 0));
	pthread_mutex_lock(&rs->lock);
	rs->st.source = RD_RSYNC_SOURCE_STORED;
	rs->st.view_time = sv.fetched;
	snprintf(rs->st.view_url, sizeof(rs->st.view_url), "%s", sv.url);
	pthread_mutex_unlock(&rs->lock);
	pthread_mutex_lock(&rs->d->reload_lock);
	adopt_view(rs, view, sv.yaml);
	pthread_mutex_unlock(&rs->d->reload_lock);
	sv.yaml = NULL;
	rd_store_region_view_clear(&sv);
	*cfg = merged;
	return 0;
}

/* ----------------------------------------------------------------- poll */

/* A poll that changed nothing because something was wrong: logged when an
 * outage starts (or its kind changes), at debug level while it lasts. */
static void poll_failed(rd_regionsync_t *rs, enum rd_regionsync_result kind, const char *msg)
{
	pthread_mutex_lock(&rs->lock);
	rs->st.polls[kind]++;
	rs->st.failed_in_a_row++;
	snprintf(rs->st.last_error, sizeof(rs->st.last_error), "%s", msg);
	rs->st.last_error_time = now_s();
	bool first = rs->fail_kind != (int)kind;
	rs->fail_kind = (int)kind;
	enum rd_regionsync_source src = rs->st.source;
	int64_t vt = rs->st.view_time;
	pthread_mutex_unlock(&rs->lock);
	if (!first) {
		rd_log(LOG_DEBUG, "region sync: still failing: %s", msg);
		return;
	}
	char keep[128];
	if (src == RD_RSYNC_SOURCE_NONE)
		snprintf(keep, sizeof(keep), "no region view yet");
	else
		snprintf(keep, sizeof(keep), "still serving the %s region view (%lld s old)",
			 src == RD_RSYNC_SOURCE_STORED ? "stored" : "last good",
			 (long long)(now_s() - vt > 0 ? now_s() - vt : 0));
	const char *what = kind == RD_RSYNC_ERROR	? "cannot pull the region's view"
			 : kind == RD_RSYNC_INVALID ? "the region's view is invalid"
						    : "the region's view is refused";
	rd_log(LOG_ERR, "region sync: %s, nothing changes (%s; logged once until it recovers): %s", what, keep, msg);
}

static void poll_ok(rd_regionsync_t *rs, enum rd_regionsync_result kind, const char *url)
{
	pthread_mutex_lock(&rs->lock);
	uint64_t failed = rs->st.failed_in_a_row;
	bool was_failing = rs->fail_kind >= 0;
	rs->st.polls[kind]++;
	rs->st.failed_in_a_row = 0;
	rs->st.last_error[0] = '\0';
	rs->fail_kind = -1;
	rs->st.last_success = rs->st.view_time = now_s();
	rs->st.source = RD_RSYNC_SOURCE_LIVE;
	snprintf(rs->st.view_url, sizeof(rs->st.view_url), "%s", url);
	pthread_mutex_unlock(&rs->lock);
	if (was_failing)
		rd_log(LOG_INFO, "region sync: %s answers with a valid view again (after %llu failed poll%s)", url,
		       (unsigned long long)failed, failed == 1 ? "" : "s");
}

static void store_view(rd_regionsync_t *rs, const char *yaml, const char *url)
{
	if (!rs->store)
		return;
	rd_store_region_view_t sv = {
		.yaml = (char *)yaml, .len = strlen(yaml), .fetched = now_s(), .url = (char *)url,
		.system_id = rs->system_id,
	};
	/* a failure is logged by the store; the view still serves from memory */
	rd_store_region_view_put(rs->store, &sv);
}

struct lines {
	rd_gbuf_t b;
	int n;
};

static void collect_line(void *arg, const char *line)
{
	struct lines *l = arg;
	rd_gbuf_printf(&l->b, "%s\n", line);
	l->n++;
}

static void log_lines(const char *text)
{
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);
		rd_log(LOG_INFO, "region sync: %.*s", n, p);
		p = nl ? nl + 1 : NULL;
	}
}

static void poll_once(rd_regionsync_t *rs)
{
	char err[2048], url[2048];
	char *yaml = NULL;
	size_t len = 0;
	rd_config_t *view = NULL;

	int rc = rd_region_pull(rs->client, rs->system_id, NULL, &yaml, &len, err, sizeof(err));
	snprintf(url, sizeof(url), "%s", rd_region_current_url(rs->client));
	pthread_mutex_lock(&rs->lock);
	snprintf(rs->st.url, sizeof(rs->st.url), "%s", url);
	pthread_mutex_unlock(&rs->lock);
	if (atomic_load(&rs->stop)) {
		free(yaml);
		return;
	}
	if (rc) {
		poll_failed(rs, RD_RSYNC_ERROR, err);
		return;
	}
	rc = rd_region_view_parse(yaml, len, &view, err, sizeof(err));
	if (rc) {
		poll_failed(rs, RD_RSYNC_INVALID, err);
		free(yaml);
		return;
	}

	pthread_mutex_lock(&rs->d->reload_lock);
	if (rs->view_yaml && strcmp(rs->view_yaml, yaml) == 0) {
		pthread_mutex_unlock(&rs->d->reload_lock);
		rd_config_free(view);
		poll_ok(rs, RD_RSYNC_UNCHANGED, url);
		store_view(rs, yaml, url);
		free(yaml);
		return;
	}
	if (rs->refused_yaml && strcmp(rs->refused_yaml, yaml) == 0) {
		/* refused before, and nothing changed since: say nothing new */
		char why[sizeof(rs->refused_err)];
		snprintf(why, sizeof(why), "%s", rs->refused_err);
		pthread_mutex_unlock(&rs->d->reload_lock);
		rd_config_free(view);
		free(yaml);
		poll_failed(rs, RD_RSYNC_REFUSED, why);
		return;
	}
	rd_config_t *merged = NULL;
	rc = rd_region_compose(rs->file, view, note_log, NULL, &merged, err, sizeof(err));
	struct lines diff = { 0 };
	if (rc == 0) {
		rcu_read_lock();
		int dn = rd_region_view_diff(rd_config_current(), merged, collect_line, &diff);
		rcu_read_unlock();
		if (dn < 0 || diff.b.oom) {
			rc = RD_ENOMEM;
			snprintf(err, sizeof(err), "out of memory");
			rd_config_free(merged);
		}
	}
	if (rc == 0)
		rc = rd_daemon_apply(rs->d, merged, "region view", err, sizeof(err));
	if (rc) {
		free(rs->refused_yaml);
		rs->refused_yaml = yaml;
		snprintf(rs->refused_err, sizeof(rs->refused_err), "%.*s", (int)sizeof(rs->refused_err) - 1, err);
		pthread_mutex_unlock(&rs->d->reload_lock);
		rd_config_free(view);
		free(diff.b.p);
		poll_failed(rs, RD_RSYNC_REFUSED, err);
		return;
	}
	adopt_view(rs, view, yaml);
	pthread_mutex_unlock(&rs->d->reload_lock);
	if (diff.n)
		log_lines(diff.b.p);
	else
		rd_log(LOG_INFO, "region sync: the region's view changed, the served configuration did not");
	free(diff.b.p);
	poll_ok(rs, RD_RSYNC_CHANGED, url);
	store_view(rs, yaml, url);
}

static void *sync_main(void *arg)
{
	rd_regionsync_t *rs = arg;
	rcu_register_thread();
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);   /* first poll at once */
	while (!atomic_load(&rs->stop)) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t wait_ms = (int64_t)(next.tv_sec - now.tv_sec) * 1000 + (next.tv_nsec - now.tv_nsec) / 1000000;
		if (wait_ms > 0) {
			struct pollfd pf = { .fd = rs->wake_fd, .events = POLLIN };
			int r = poll(&pf, 1, wait_ms > 60000 ? 60000 : (int)wait_ms);
			if (r > 0) {
				uint64_t v;
				if (read(rs->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					rd_log(LOG_DEBUG, "region sync: wake-up: %s", strerror(errno));
			} else {
				continue;   /* timeout (or EINTR): re-check the deadline */
			}
		}
		if (atomic_load(&rs->stop))
			break;
		poll_once(rs);
		clock_gettime(CLOCK_MONOTONIC, &next);
		next.tv_sec += rs->poll_interval;
	}
	rcu_unregister_thread();
	return NULL;
}

int rd_regionsync_start(rd_regionsync_t *rs)
{
	int r = pthread_create(&rs->thread, NULL, sync_main, rs);
	if (r)
		return -r;
	rs->started = true;
	rd_log(LOG_INFO, "region sync: polling %s every %u s for rack %s", rd_region_current_url(rs->client),
	       rs->poll_interval, rs->system_id);
	return 0;
}

void rd_regionsync_wake(rd_regionsync_t *rs)
{
	uint64_t one = 1;
	if (rs && rs->wake_fd >= 0 && write(rs->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		rd_log(LOG_DEBUG, "region sync: wake-up: %s", strerror(errno));
}

int rd_regionsync_file_reloaded(rd_regionsync_t *rs, rd_config_t *file, char *err, size_t errlen)
{
	rd_config_t *merged = NULL;
	if (!file->region.present) {
		rd_config_free(file);
		snprintf(err, errlen, "the region section was removed: region sync stops only at the next restart");
		return RD_EINVAL;
	}
	const rd_cfg_region_t *a = &rs->file->region, *b = &file->region;
	bool same = a->n_maas_url == b->n_maas_url && !strcmp(a->api_key_file, b->api_key_file) &&
		    !strcmp(a->system_id, b->system_id) && a->poll_interval == b->poll_interval &&
		    a->connect_timeout == b->connect_timeout && a->timeout == b->timeout &&
		    (a->ca_file == NULL) == (b->ca_file == NULL) && (!a->ca_file || !strcmp(a->ca_file, b->ca_file));
	for (size_t i = 0; same && i < a->n_maas_url; i++)
		same = !strcmp(a->maas_url[i], b->maas_url[i]);
	if (!same)
		rd_log(LOG_WARNING, "reload: the region's URLs, key, rack, poll interval or timeouts changed: they take "
		       "effect at the next restart (region.source applies now)");
	int rc = rd_region_compose(file, rs->view, note_log, NULL, &merged, err, errlen);
	if (rc) {
		rd_config_free(file);
		return rc;
	}
	rc = rd_daemon_apply(rs->d, merged, file->filename, err, errlen);
	if (rc) {
		rd_config_free(file);
		return rc;
	}
	rd_config_free(rs->file);
	rs->file = file;
	/* the file may have been what made a view unacceptable */
	free(rs->refused_yaml);
	rs->refused_yaml = NULL;
	return 0;
}

void rd_regionsync_status(rd_regionsync_t *rs, rd_regionsync_status_t *out)
{
	pthread_mutex_lock(&rs->lock);
	*out = rs->st;
	pthread_mutex_unlock(&rs->lock);
}

void rd_regionsync_free(rd_regionsync_t *rs)
{
	if (!rs)
		return;
	atomic_store(&rs->stop, true);
	if (rs->started) {
		rd_regionsync_wake(rs);
		pthread_join(rs->thread, NULL);
	}
	if (rs->wake_fd >= 0)
		close(rs->wake_fd);
	rd_region_client_free(rs->client);
	rd_config_free(rs->file);
	rd_config_free(rs->view);
	free(rs->view_yaml);
	free(rs->refused_yaml);
	pthread_mutex_destroy(&rs->lock);
	free(rs);
}
