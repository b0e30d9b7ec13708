/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * metrics.c — Prometheus text exposition (format 0.0.4) and the
 * libmicrohttpd listener that serves it (see metrics.h).
 *
 * Design notes:
 *  - The page is rendered from scratch on every scrape: the counters are a
 *    few hundred relaxed loads, the pools one rd_table_pool_stats each, the
 *    store one locked snapshot.  Nothing scans the lease table, so a scrape
 *    costs the same with a million leases as with ten.  rackdhcpd_leases
 *    is therefore the sum of the pools' per-state counts (leases outside
 *    every pool, e.g. reservations outside the ranges, are not in it);
 *    rackdhcpd_table_leases counts every version in the table.
 *  - We create the listening socket ourselves and hand it to libmicrohttpd
 *    (MHD_OPTION_LISTEN_SOCKET): the bind error then names the address and
 *    errno, and host names and IPv6 literals resolve through getaddrinfo
 *    like everywhere else.
 *  - libmicrohttpd runs with MHD_USE_EPOLL and no internal thread: its one
 *    epoll descriptor goes into the management thread's poll set, and that
 *    thread calls MHD_run after every wake-up, as the library requires.
 *  - Series that are zero most of the time (rare message types) are
 *    omitted while zero, so the page stays short; the core message types
 *    and every drop reason are always present, so alerts on them see a
 *    series from the start.
 */
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/config.h"
#include "rackdhcp/daemon.h"
#include "rackdhcp/events.h"
#include "rackdhcp/log.h"
#include "rackdhcp/fmt.h"
#include "rackdhcp/fo_peer.h"
#include "rackdhcp/fo_state.h"
#include "rackdhcp/metrics.h"
#include "rackdhcp/rcu.h"
#include "rackdhcp/regionsync.h"
#include "rackdhcp/store.h"
#include "rackdhcp/table.h"

/* ------------------------------------------------------------ names */

static const char *const msgtype_labels[RD_CTR_MSGTYPES] = {
	"bootp", "discover", "offer", "request", "decline", "ack", "nak", "release", "inform",
	"forcerenew", "leasequery", "leaseunassigned", "leaseunknown", "leaseactive",
	"bulkleasequery", "leasequerydone", "activeleasequery", "leasequerystatus", "tls",
};

const char *rd_metrics_msgtype_label(unsigned type)
{
	return type < RD_CTR_MSGTYPES ? msgtype_labels[type] : "unknown";
}

bool rd_metrics_msgtype_core(unsigned type, bool tx)
{
	switch (type) {
	case 0:
		return true;
	case 1: case 3: case 4: case 7: case 8:     /* discover request decline release inform */
		return !tx;
	case 2: case 5: case 6:                     /* offer ack nak */
		return tx;
	default:
		return false;
	}
}

/* ------------------------------------------------------------ text buffer */


/* A label value with Prometheus's three escapes (\\, \", \n). */
static void blabel(rd_gbuf_t *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			rd_gbuf_printf(b, "\\\\");
		else if (*s == '"')
			rd_gbuf_printf(b, "\\\"");
		else if (*s == '\n')
			rd_gbuf_printf(b, "\\n");
		else
			rd_gbuf_printf(b, "%c", *s);
	}
}

static void header(rd_gbuf_t *b, const char *name, const char *type, const char *help)
{
	rd_gbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void ip4(uint32_t a, char *out, size_t cap)
{
	snprintf(out, cap, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/* ------------------------------------------------------------ rendering */

/* One pool as the page shows it. */
struct pool_row {
	char subnet[24];
	char range[40];
	rd_table_pool_stats_t st;
};

/*
 * Copy the pools of the configuration in force with their table counts, so
 * the page can be written out of the read-side section.  A pool the table
 * does not know yet (a reload in progress) shows its size and zeros.
 */
static struct pool_row *collect_pools(rd_daemon_t *d, size_t *n, uint64_t *generation)
{
	struct pool_row *rows = NULL;
	size_t count = 0, k = 0;

	rcu_read_lock();
	const rd_config_t *cfg = rd_config_current();
	*generation = cfg ? cfg->generation : 0;
	for (size_t i = 0; cfg && i < cfg->n_subnets; i++)
		count += cfg->subnets[i].n_pools;
	if (count)
		rows = calloc(count, sizeof(*rows));
	for (size_t i = 0; rows && i < cfg->n_subnets; i++) {
		const rd_cfg_subnet_t *s = &cfg->subnets[i];
		for (size_t j = 0; j < s->n_pools; j++, k++) {
			const rd_cfg_pool_t *p = &s->pools[j];
			struct pool_row *r = &rows[k];
			char a[16], e[16];
			ip4(s->network, a, sizeof(a));
			snprintf(r->subnet, sizeof(r->subnet), "%s/%u", a, s->prefix_len);
			ip4(p->start, a, sizeof(a));
			ip4(p->end, e, sizeof(e));
			snprintf(r->range, sizeof(r->range), "%s-%s", a, e);
			if (!d->table || rd_table_pool_stats(d->table, p->start, &r->st) < 0) {
				memset(&r->st, 0, sizeof(r->st));
				r->st.start = p->start;
				r->st.end = p->end;
				r->st.size = (uint64_t)p->end - p->start + 1;
			}
		}
	}
	rcu_read_unlock();
	*n = rows ? count : 0;
	return rows;
}

static void pool_metric(rd_gbuf_t *b, const struct pool_row *rows, size_t n, const char *name,
			const char *help, int field)
{
	header(b, name, "gauge", help);
	for (size_t i = 0; i < n; i++) {
		const rd_table_pool_stats_t *s = &rows[i].st;
		uint64_t v;
		switch (field) {
		case 0: v = s->size; break;
		case 1: v = s->by_state[RD_LEASE_ACTIVE]; break;
		case 2: v = s->size > s->unavailable ? s->size - s->unavailable : 0; break;
		case 3: v = s->by_state[RD_LEASE_BACKUP]; break;
		default: v = s->by_state[RD_LEASE_ABANDONED]; break;
		}
		rd_gbuf_printf(b, "%s{subnet=\"%s\",range=\"%s\"} %llu\n", name, rows[i].subnet, rows[i].range,
			(unsigned long long)v);
	}
}

/*
 * Failover, one series per relationship: the state as a number (ISC's
 * codes, 2 = normal) plus an info series carrying the states by name, the
 * link, the update queues and the BNDUPD counters.
 */
static const struct {
	const char *name, *type, *help;
} fo_metrics[] = {
	{ "rackdhcpd_failover_state", "gauge",
	  "Our failover state (ISC codes: 1 startup, 2 normal, 3 communications-interrupted, 4 partner-down, "
	  "6 recover, 254 recover-wait, ...)." },
	{ "rackdhcpd_failover_partner_state", "gauge", "The partner's failover state as it last told us." },
	{ "rackdhcpd_failover_stos_seconds", "gauge", "When we entered our state (Unix time)." },
	{ "rackdhcpd_failover_link_up", "gauge", "1 while the TCP session to the partner is up." },
	{ "rackdhcpd_failover_updates_queued", "gauge", "Binding updates waiting to be sent." },
	{ "rackdhcpd_failover_updates_unacked", "gauge", "Binding updates sent, awaiting their BNDACK." },
	{ "rackdhcpd_failover_bndupd_sent_total", "counter", "BNDUPDs sent to the partner." },
	{ "rackdhcpd_failover_bndupd_received_total", "counter", "BNDUPDs received from the partner." },
	{ "rackdhcpd_failover_bndupd_rejected_total", "counter", "Partner's BNDUPDs we refused." },
	{ "rackdhcpd_failover_replies_waiting", "gauge", "Replies held until the partner acks their lease change (ack_after_peer)." },
	{ "rackdhcpd_failover_replies_held_total", "counter", "Replies held for the partner's BNDACK (ack_after_peer)." },
	{ "rackdhcpd_failover_replies_released_total", "counter", "Held replies sent once the partner acked." },
	{ "rackdhcpd_failover_replies_dropped_total", "counter",
	  "Held replies not sent (update refused or superseded, link down, no BNDACK in time, stop); the client retries." },
	{ "rackdhcpd_failover_balance_runs_total", "counter", "Periodic pool balance runs (min_balance/max_balance timer)." },
	{ "rackdhcpd_failover_balance_moved_total", "counter", "Free addresses handed to the partner by pool balancing." },
	{ "rackdhcpd_failover_poolreq_sent_total", "counter", "POOLREQs sent: our side of a pool ran short." },
	{ "rackdhcpd_failover_poolreq_received_total", "counter", "POOLREQs received: the partner ran short." },
	{ "rackdhcpd_failover_updates_window", "gauge",
	  "How many binding updates may await their BNDACK at once (0 while the link is down)." },
	{ "rackdhcpd_failover_last_contact_seconds", "gauge", "When a message last came from the partner (Unix time; 0: never)." },
};

/* The values of fo_metrics[], in that order. */
static void fo_values(const rd_fo_peer_status_t *st, unsigned long long v[])
{
	v[0] = st->state;
	v[1] = st->partner;
	v[2] = st->stos;
	v[3] = st->linked;
	v[4] = st->queued;
	v[5] = st->unacked;
	v[6] = st->bndupd_sent;
	v[7] = st->bndupd_recv;
	v[8] = st->bndupd_rejected;
	v[9] = st->replies_waiting;
	v[10] = st->replies_held;
	v[11] = st->replies_released;
	v[12] = st->replies_dropped;
	v[13] = st->balance_runs;
	v[14] = st->balance_moved;
	v[15] = st->poolreq_sent;
	v[16] = st->poolreq_recv;
	v[17] = st->window;
	v[18] = st->last_contact;
}

/* Region sync: the view's age, the polls by outcome, where the view came from. */
static void render_region(rd_gbuf_t *b, rd_daemon_t *d)
{
	if (!d->region)
		return;
	rd_regionsync_status_t st;
	rd_regionsync_status(d->region, &st);
	int64_t now = (int64_t)time(NULL);
	header(b, "rackdhcpd_region_view_age_seconds", "gauge",
	       "Seconds since the region last confirmed the view in force (absent: no view).");
	if (st.view_time)
		rd_gbuf_printf(b, "rackdhcpd_region_view_age_seconds %lld\n",
			       (long long)(now > st.view_time ? now - st.view_time : 0));
	header(b, "rackdhcpd_region_last_success_timestamp_seconds", "gauge",
	       "Unix time of the last successful poll of the region (0: none since start).");
	rd_gbuf_printf(b, "rackdhcpd_region_last_success_timestamp_seconds %lld\n", (long long)st.last_success);
	header(b, "rackdhcpd_region_sync_total", "counter",
	       "Polls of the region by outcome (changed, unchanged, error, invalid, refused).");
	for (int i = 0; i < RD_RSYNC__COUNT; i++)
		rd_gbuf_printf(b, "rackdhcpd_region_sync_total{result=\"%s\"} %llu\n",
			       rd_regionsync_result_name((enum rd_regionsync_result)i), (unsigned long long)st.polls[i]);
	header(b, "rackdhcpd_region_view_source", "gauge",
	       "1 for where the region part of the configuration comes from: none, stored or live.");
	for (int i = RD_RSYNC_SOURCE_NONE; i <= RD_RSYNC_SOURCE_LIVE; i++)
		rd_gbuf_printf(b, "rackdhcpd_region_view_source{source=\"%s\"} %d\n",
			       rd_regionsync_source_name((enum rd_regionsync_source)i), (int)st.source == i);
}

static void render_failover(rd_gbuf_t *b, rd_daemon_t *d)
{
	enum { NM = sizeof(fo_metrics) / sizeof(fo_metrics[0]) };
	rd_fo_peer_status_t st[64];
	rd_fo_peers_t *fo = rcu_dereference(d->failover);   /* set once, by a reload that adds failover */
	size_t n = fo ? rd_fo_peers_status(fo, st, 64) : 0;
	if (n > 64)
		n = 64;
	if (!n)
		return;
	for (unsigned m = 0; m < NM; m++) {
		header(b, fo_metrics[m].name, fo_metrics[m].type, fo_metrics[m].help);
		for (size_t i = 0; i < n; i++) {
			unsigned long long v[NM];
			fo_values(&st[i], v);
			rd_gbuf_printf(b, "%s{relationship=\"", fo_metrics[m].name);
			blabel(b, st[i].name);
			rd_gbuf_printf(b, "\"} %llu\n", v[m]);
		}
	}
	header(b, "rackdhcpd_failover_state_info", "gauge", "1, labelled with our state and the partner's by name.");
	for (size_t i = 0; i < n; i++) {
		const char *me = rd_fo_state_keyword(st[i].state), *peer = rd_fo_state_keyword(st[i].partner);
		rd_gbuf_printf(b, "rackdhcpd_failover_state_info{relationship=\"");
		blabel(b, st[i].name);
		rd_gbuf_printf(b, "\",role=\"%s\",state=\"%s\",partner_state=\"%s\"} 1\n",
			       rd_config_role_name(st[i].role), me ? me : "unknown", peer ? peer : "unknown");
	}
}

char *rd_metrics_render(rd_daemon_t *d, size_t *len)
{
	rd_gbuf_t b = { 0 };
	rd_counters_t ctr;
	rd_store_stats_t ss;
	uint64_t generation = 0;
	size_t n_pools = 0;

	rd_daemon_counters(d, &ctr);
	memset(&ss, 0, sizeof(ss));
	if (d->store)
		rd_store_stats(d->store, &ss);
	struct pool_row *pools = collect_pools(d, &n_pools, &generation);
	time_t now = time(NULL);

	header(&b, "rackdhcpd_info", "gauge", "Version of the running rackdhcpd (value always 1).");
	rd_gbuf_printf(&b, "rackdhcpd_info{version=\"");
	blabel(&b, PACKAGE_VERSION);
	rd_gbuf_printf(&b, "\"} 1\n");
	header(&b, "rackdhcpd_start_time_seconds", "gauge", "When the daemon started, seconds since the epoch.");
	rd_gbuf_printf(&b, "rackdhcpd_start_time_seconds %lld\n", (long long)d->started);
	header(&b, "rackdhcpd_uptime_seconds", "gauge", "Seconds since the daemon started.");
	rd_gbuf_printf(&b, "rackdhcpd_uptime_seconds %lld\n", (long long)(now > d->started ? now - d->started : 0));
	header(&b, "rackdhcpd_config_generation", "gauge",
	       "Generation of the configuration in force (1 at start, +1 per successful reload).");
	rd_gbuf_printf(&b, "rackdhcpd_config_generation %llu\n", (unsigned long long)generation);

	header(&b, "rackdhcpd_frames_received_total", "counter", "Frames and datagrams read from the sockets.");
	rd_gbuf_printf(&b, "rackdhcpd_frames_received_total %llu\n", (unsigned long long)ctr.frames);
	header(&b, "rackdhcpd_received_total", "counter", "DHCP requests received, by message type.");
	for (unsigned t = 0; t < RD_CTR_MSGTYPES; t++)
		if (ctr.rx[t] || rd_metrics_msgtype_core(t, false))
			rd_gbuf_printf(&b, "rackdhcpd_received_total{type=\"%s\"} %llu\n", msgtype_labels[t],
				(unsigned long long)ctr.rx[t]);
	header(&b, "rackdhcpd_sent_total", "counter", "DHCP replies sent, by message type.");
	for (unsigned t = 0; t < RD_CTR_MSGTYPES; t++)
		if (ctr.tx[t] || rd_metrics_msgtype_core(t, true))
			rd_gbuf_printf(&b, "rackdhcpd_sent_total{type=\"%s\"} %llu\n", msgtype_labels[t],
				(unsigned long long)ctr.tx[t]);
	header(&b, "rackdhcpd_dropped_total", "counter", "Received frames that got no answer, by reason.");
	for (unsigned r = 0; r < RD_DROP__MAX; r++) {
		rd_gbuf_printf(&b, "rackdhcpd_dropped_total{reason=\"");
		blabel(&b, rd_drop_name((enum rd_drop)r));
		rd_gbuf_printf(&b, "\"} %llu\n", (unsigned long long)ctr.drop[r]);
	}
	header(&b, "rackdhcpd_acks_waited_total", "counter", "Replies that waited for their lease to be durable.");
	rd_gbuf_printf(&b, "rackdhcpd_acks_waited_total %llu\n", (unsigned long long)ctr.acks_waited);
	header(&b, "rackdhcpd_ack_wait_seconds_total", "counter",
	       "Total time replies waited for their lease to be durable.");
	rd_gbuf_printf(&b, "rackdhcpd_ack_wait_seconds_total %llu.%06llu\n", (unsigned long long)(ctr.ack_wait_us / 1000000),
		(unsigned long long)(ctr.ack_wait_us % 1000000));

	pool_metric(&b, pools, n_pools, "rackdhcpd_pool_size", "Addresses in the pool.", 0);
	pool_metric(&b, pools, n_pools, "rackdhcpd_pool_used", "Addresses of the pool with an active lease.", 1);
	pool_metric(&b, pools, n_pools, "rackdhcpd_pool_free", "Addresses of the pool available for allocation.", 2);
	pool_metric(&b, pools, n_pools, "rackdhcpd_pool_backup",
		    "Addresses of the pool held by the failover secondary (backup).", 3);
	pool_metric(&b, pools, n_pools, "rackdhcpd_pool_abandoned",
		    "Addresses of the pool abandoned after a decline.", 4);

	header(&b, "rackdhcpd_leases", "gauge", "Leases in the configured pools, by binding state.");
	for (unsigned s = RD_LEASE_FREE; s <= RD_LEASE_BACKUP; s++) {
		uint64_t v = 0;
		for (size_t i = 0; i < n_pools; i++)
			v += pools[i].st.by_state[s];
		rd_gbuf_printf(&b, "rackdhcpd_leases{state=\"%s\"} %llu\n", rd_lease_state_name((uint8_t)s),
			(unsigned long long)v);
	}
	header(&b, "rackdhcpd_table_leases", "gauge", "Lease versions in the table, in or out of pools.");
	rd_gbuf_printf(&b, "rackdhcpd_table_leases %zu\n", d->table ? rd_table_count(d->table) : (size_t)0);

	header(&b, "rackdhcpd_store_queue_depth", "gauge", "Lease changes waiting for the store's writer.");
	rd_gbuf_printf(&b, "rackdhcpd_store_queue_depth %zu\n", ss.queue_depth);
	header(&b, "rackdhcpd_store_commits_total", "counter", "Store transactions committed.");
	rd_gbuf_printf(&b, "rackdhcpd_store_commits_total %llu\n", (unsigned long long)ss.commits);
	header(&b, "rackdhcpd_store_commit_errors_total", "counter", "Store transactions that failed.");
	rd_gbuf_printf(&b, "rackdhcpd_store_commit_errors_total %llu\n", (unsigned long long)ss.commit_errors);
	header(&b, "rackdhcpd_store_changes_total", "counter", "Lease changes submitted to the store.");
	rd_gbuf_printf(&b, "rackdhcpd_store_changes_total %llu\n", (unsigned long long)ss.submitted);
	header(&b, "rackdhcpd_store_changes_failed_total", "counter",
	       "Lease changes whose commit failed (their replies were not sent).");
	rd_gbuf_printf(&b, "rackdhcpd_store_changes_failed_total %llu\n", (unsigned long long)ss.failed);
	header(&b, "rackdhcpd_store_rejected_total", "counter", "Lease changes refused because the queue was full.");
	rd_gbuf_printf(&b, "rackdhcpd_store_rejected_total %llu\n", (unsigned long long)ss.rejected_full);

	if (d->events) {
		rd_events_stats_t es;
		rd_events_stats(d->events, &es);
		header(&b, "rackdhcpd_lease_events_total", "counter",
		       "MAAS lease events (commit, expiry, release) by outcome.");
		rd_gbuf_printf(&b, "rackdhcpd_lease_events_total{result=\"sent\"} %llu\n", (unsigned long long)es.sent);
		rd_gbuf_printf(&b, "rackdhcpd_lease_events_total{result=\"dropped_full\"} %llu\n",
			       (unsigned long long)es.dropped_full);
		rd_gbuf_printf(&b, "rackdhcpd_lease_events_total{result=\"dropped_error\"} %llu\n",
			       (unsigned long long)es.dropped_error);
		header(&b, "rackdhcpd_lease_events_queued", "gauge", "MAAS lease events waiting for the consumer.");
		rd_gbuf_printf(&b, "rackdhcpd_lease_events_queued %llu\n", (unsigned long long)es.queued);
		header(&b, "rackdhcpd_lease_events_listener_up", "gauge",
		       "1 when the last delivery reached MAAS's socket.");
		rd_gbuf_printf(&b, "rackdhcpd_lease_events_listener_up %d\n", es.listener_up ? 1 : 0);
	}

	render_failover(&b, d);
	render_region(&b, d);

	free(pools);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* ------------------------------------------------------------ HTTP listener */

struct rd_metrics {
	rd_daemon_t *d;
	struct MHD_Daemon *mhd;
	int epoll_fd;
	uint16_t port;
};

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* libmicrohttpd's messages end in a newline; ours add their own. */
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	rd_log(LOG_WARNING, "metrics: %s", msg);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type, char *body,
			     size_t len, bool must_free)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, must_free ? MHD_RESPMEM_MUST_FREE
										    : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (must_free)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_size,
				  void **req_cls)
{
	static char not_found[] = "Not found: the metrics are at /metrics\n";
	static char bad_method[] = "Method not allowed: use GET\n";
	static char no_memory[] = "Out of memory\n";
	struct rd_metrics *m = cls;

	(void)version;
	(void)upload_data;
	(void)req_cls;
	/* A body (nobody should send one) is read and ignored. */
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", bad_method,
			     strlen(bad_method), false);
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", not_found, strlen(not_found),
			     false);
	size_t len = 0;
	char *text = rd_metrics_render(m->d, &len);
	if (!text)
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", no_memory,
			     strlen(no_memory), false);
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len, true);
}

/* A listening TCP socket on host:port; negative errno with err filled. */
static int listen_tcp(const char *host, uint16_t port, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *res = NULL;
	char ps[8];
	int rc, fd = -1, e = 0;

	snprintf(ps, sizeof(ps), "%u", port);
	rc = getaddrinfo(host, ps, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "metrics: cannot resolve '%s': %s", host, gai_strerror(rc));
		return RD_EINVAL;
	}
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (a->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 64) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "metrics: cannot listen on %s port %u: %s", host, port, strerror(e ? e : EINVAL));
		return -(e ? e : EINVAL);
	}
	return fd;
}

int rd_metrics_start(rd_daemon_t *d, const char *host, uint16_t port, rd_metrics_t **out, char *err,
		     size_t errlen)
{
	struct rd_metrics *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "metrics: out of memory");
		return RD_ENOMEM;
	}
	m->d = d;
	int fd = listen_tcp(host, port, err, errlen);
	if (fd < 0) {
		free(m);
		return fd;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	m->port = port;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			m->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			m->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	/*
	 * No internal thread: MHD_USE_EPOLL with external polling.  The
	 * limits keep a misbehaving scraper from holding the management
	 * thread's memory: few connections, each timed out after 10 s.
	 */
	m->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, m,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				  MHD_OPTION_END);
	if (!m->mhd) {
		close(fd);
		free(m);
		snprintf(err, errlen, "metrics: libmicrohttpd refused to start on %s port %u", host, port);
		return RD_EINVAL;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		MHD_stop_daemon(m->mhd);
		free(m);
		snprintf(err, errlen, "metrics: libmicrohttpd has no epoll support");
		return RD_EINVAL;
	}
	m->epoll_fd = info->epoll_fd;
	*out = m;
	return 0;
}

int rd_metrics_fd(const rd_metrics_t *m)
{
	return m->epoll_fd;
}

int rd_metrics_timeout_ms(rd_metrics_t *m)
{
	MHD_UNSIGNED_LONG_LONG ms;
	if (MHD_get_timeout(m->mhd, &ms) != MHD_YES)
		return -1;
	return ms > 60000 ? 60000 : (int)ms;
}

void rd_metrics_run(rd_metrics_t *m)
{
	MHD_run(m->mhd);
}

uint16_t rd_metrics_port(const rd_metrics_t *m)
{
	return m->port;
}

void rd_metrics_stop(rd_metrics_t *m)
{
	if (!m)
		return;
	/* Closes the listening socket we handed over, and every connection. */
	MHD_stop_daemon(m->mhd);
	free(m);
}
