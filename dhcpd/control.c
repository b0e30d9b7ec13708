/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * control.c — the management thread: the control socket's protocol and
 * commands, and the loop that polls the control clients beside the metrics
 * listener (see control.h; docs/control.md is the protocol reference).
 *
 * Design notes:
 *  - rd_control_handle() is the whole protocol: request text in, reply text
 *    out, no socket.  The loop only frames lines, so the tests and the fuzz
 *    target drive exactly the code the daemon runs.
 *  - Requests are strict: unknown commands and unknown arguments are
 *    errors, so a typo ("adress") is reported instead of silently widening
 *    a lease-delete into something else.
 *  - Operator changes (release, delete) are lease versions like any other:
 *    a copy of the current version, edited, swapped in with the table's
 *    compare-and-swap (one retry when a worker changed the lease meanwhile),
 *    then made durable with rd_store_submit_wait before the reply says "ok".
 *    The store gets a private copy, taken inside the read-side section, so
 *    the thread never blocks on the fsync while holding rcu_read_lock.
 *  - Listings are sorted by address: a first pass collects the matching
 *    addresses, the first `limit` are then looked up again.  Output is
 *    deterministic and "total" says how many matched beyond the limit.
 *  - Strings from the network (hostnames, client-ids) never reach the JSON
 *    raw: JSON needs UTF-8, clients send bytes.  Hostnames are printable
 *    ASCII with \xNN escapes for the rest; client-ids are hex.
 *  - The loop is one poll(2) over: a wake-up eventfd (stop), the listening
 *    socket, libmicrohttpd's epoll descriptor and every client.  A client
 *    with output pending is not read from until it drains (back-pressure:
 *    a client that pipelines "leases" without reading cannot grow our
 *    memory past one reply plus OUT_HIGH).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/control.h"
#include "rackdhcp/fo_peer.h"
#include "rackdhcp/fo_state.h"
#include "rackdhcp/engine.h"
#include "rackdhcp/events.h"
#include "rackdhcp/log.h"
#include "rackdhcp/metrics.h"
#include "rackdhcp/rcu.h"
#include "rackdhcp/regionsync.h"

/* Hard ceiling of rd_control_set_limits (the client array is this big). */
#define CLIENTS_CAP 256
/* Stop reading a client's requests while this much output waits for it. */
#define OUT_HIGH (1u << 20)
/* A request's error text; requests quote at most 64 bytes of their input. */
#define ERR_MAX 512

/* ================================================================ helpers */

/* An ACTIVE version flagged as an offer is an address held for a client
 * that has not confirmed it: listed as "offered", never as "active" (it is
 * not in the store and does not survive a restart). */
#define STATE_OFFERED 100

static const char *display_state(const rd_lease_t *l)
{
	if (l->state == RD_LEASE_ACTIVE && (l->flags & RD_ENGINE_F_OFFERED))
		return "offered";
	return rd_lease_state_name(l->state);
}

static void ip4(uint32_t a, char *out, size_t cap)
{
	snprintf(out, cap, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/* Dotted quad to host order; false if s is not one. */
static bool parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return false;
	*out = ntohl(a.s_addr);
	return true;
}

/* "a.b.c.d/len" with no host bits set. */
static bool parse_cidr(const char *s, uint32_t *net, uint32_t *mask)
{
	char ip[16];
	const char *slash = strchr(s, '/');
	char *end;

	if (!slash || (size_t)(slash - s) >= sizeof(ip) || slash[1] < '0' || slash[1] > '9')
		return false;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	errno = 0;
	unsigned long len = strtoul(slash + 1, &end, 10);
	if (*end || errno || len > 32 || !parse_ip(ip, net))
		return false;
	*mask = len ? ~0u << (32 - len) : 0;
	return (*net & ~*mask) == 0;
}

/* "aa:bb:cc:dd:ee:ff" ('-' also separates); 1..16 octets.  Length or -1. */
static int parse_mac(const char *s, uint8_t *mac)
{
	int n = 0;

	for (;;) {
		unsigned v = 0;
		int digits = 0;
		for (; digits < 2; digits++, s++) {
			char ch = *s;
			if (ch >= '0' && ch <= '9')
				v = v * 16 + (unsigned)(ch - '0');
			else if (ch >= 'a' && ch <= 'f')
				v = v * 16 + (unsigned)(ch - 'a' + 10);
			else if (ch >= 'A' && ch <= 'F')
				v = v * 16 + (unsigned)(ch - 'A' + 10);
			else
				break;
		}
		if (!digits || n == 16)
			return -1;
		mac[n++] = (uint8_t)v;
		if (!*s)
			return n;
		if (*s != ':' && *s != '-')
			return -1;
		s++;
	}
}

static void hex(const uint8_t *p, size_t n, char sep, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		if (i && sep)
			*out++ = sep;
		*out++ = digits[p[i] >> 4];
		*out++ = digits[p[i] & 15];
	}
	*out = '\0';
}

/* Printable ASCII; other bytes as \xNN and the backslash doubled, so the
 * text is valid UTF-8 and still says exactly what the client sent. */
static void printable(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\') {
			*out++ = '\\';
			*out++ = '\\';
		} else if (p[i] >= 0x20 && p[i] < 0x7f) {
			*out++ = (char)p[i];
		} else {
			snprintf(out, 5, "\\x%02x", p[i]);
			out += 4;
		}
	}
	*out = '\0';
}

/* Replace what JSON strings cannot carry raw (invalid UTF-8, controls). */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

static void iso8601(uint32_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* 0 or -1; steals v even on failure (jansson's _new convention). */
static int put(json_t *o, const char *k, json_t *v)
{
	if (!o || !v) {
		json_decref(v);
		return -1;
	}
	return json_object_set_new(o, k, v);
}

static int push(json_t *a, json_t *v)
{
	if (!a || !v) {
		json_decref(v);
		return -1;
	}
	return json_array_append_new(a, v);
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *juint(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* Seconds since the epoch and ISO 8601, or 0 and null when unset. */
static int put_time(json_t *o, const char *k, uint32_t t)
{
	char key[32], iso[32];
	int bad = put(o, k, juint(t));
	snprintf(key, sizeof(key), "%s_iso", k);
	if (t) {
		iso8601(t, iso, sizeof(iso));
		bad |= put(o, key, json_string(iso));
	} else {
		bad |= put(o, key, json_null());
	}
	return bad;
}

static const struct {
	uint16_t bit;
	const char *name;
} flag_names[] = {
	{ RD_LEASE_F_RESERVED, "reserved" },
	{ RD_LEASE_F_BOOTP, "bootp" },
	{ RD_LEASE_F_PXE, "pxe" },
	{ RD_LEASE_F_KEY_CID, "client-id-key" },
	{ RD_ENGINE_F_OFFERED, "offered" },
};

static json_t *lease_json(const rd_lease_t *l)
{
	char ip[16], buf[4 * RD_LEASE_MAX_HOSTNAME + 1];
	json_t *o = json_object(), *flags = json_array();
	int bad = 0;

	ip4(l->addr, ip, sizeof(ip));
	bad |= put(o, "address", json_string(ip));
	bad |= put(o, "state", json_string(display_state(l)));
	if (l->hlen) {
		hex(l->chaddr, l->hlen, ':', buf);
		bad |= put(o, "mac", json_string(buf));
	} else {
		bad |= put(o, "mac", json_null());
	}
	bad |= put(o, "htype", json_integer(l->htype));
	if (l->cid_len) {
		hex(rd_lease_cid(l), l->cid_len, ':', buf);
		bad |= put(o, "client_id", json_string(buf));
	} else {
		bad |= put(o, "client_id", json_null());
	}
	if (l->host_len) {
		printable((const uint8_t *)rd_lease_host(l), l->host_len, buf);
		bad |= put(o, "hostname", json_string(buf));
	} else {
		bad |= put(o, "hostname", json_null());
	}
	bad |= put_time(o, "starts", l->starts);
	bad |= put_time(o, "ends", l->ends);
	bad |= put_time(o, "cltt", l->cltt);
	uint16_t rest = l->flags;
	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
		if (l->flags & flag_names[i].bit) {
			bad |= push(flags, json_string(flag_names[i].name));
			rest &= (uint16_t)~flag_names[i].bit;
		}
	}
	if (rest) {
		snprintf(buf, sizeof(buf), "0x%04x", rest);
		bad |= push(flags, json_string(buf));
	}
	bad |= put(o, "flags", flags);
	bad |= put(o, "seq", juint(l->seq));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* "52:54:00:12:34:56" or "-" (for log lines). */
static void lease_mac(const rd_lease_t *l, char *out)
{
	if (l->hlen)
		hex(l->chaddr, l->hlen, ':', out);
	else
		strcpy(out, "no hardware address");
}

/* ================================================================ requests */

struct req {
	rd_daemon_t *d;
	const rd_control_caller_t *caller;
	const char *command;
	json_t *args;           /* the request object */
	char err[ERR_MAX];
};

static int fail(struct req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct req *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return RD_EINVAL;
}

static const char *who(const struct req *r)
{
	return r->caller && r->caller->who ? r->caller->who : "unknown";
}

/* A string argument; *out NULL when absent and optional. */
static int arg_str(struct req *r, const char *key, bool required, const char **out)
{
	json_t *v = json_object_get(r->args, key);
	*out = NULL;
	if (!v) {
		if (required)
			return fail(r, "%s: missing argument '%s'", r->command, key);
		return 0;
	}
	if (!json_is_string(v))
		return fail(r, "%s: argument '%s' must be a string", r->command, key);
	*out = json_string_value(v);
	return 0;
}

static int arg_addr(struct req *r, const char *key, bool required, bool *present, uint32_t *out)
{
	const char *s;
	int rc = arg_str(r, key, required, &s);
	*present = s != NULL;
	if (rc || !s)
		return rc;
	if (!parse_ip(s, out))
		return fail(r, "%s: '%.64s' is not an IPv4 address", r->command, s);
	return 0;
}

/* ---------------------------------------------------------------- status */

static json_t *interfaces_json(rd_daemon_t *d)
{
	size_t n = 0;
	rd_daemon_iface_t *ifs = rd_daemon_ifaces(d, &n);
	json_t *arr = json_array();
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object(), *addrs = json_array();
		char ip[16], a[24];
		unsigned na = ifs[i].n_addrs < 8 ? ifs[i].n_addrs : 8;
		char name[IFNAMSIZ + 1];
		memcpy(name, ifs[i].name, IFNAMSIZ);
		name[IFNAMSIZ] = '\0';
		sanitize(name);
		for (unsigned k = 0; k < na; k++) {
			ip4(ifs[i].addrs[k], ip, sizeof(ip));
			snprintf(a, sizeof(a), "%s/%u", ip, ifs[i].prefix[k]);
			bad |= push(addrs, json_string(a));
		}
		bad |= put(o, "name", json_string(name));
		bad |= put(o, "ifindex", json_integer(ifs[i].ifindex));
		bad |= put(o, "up", json_boolean(ifs[i].up));
		bad |= put(o, "served", json_boolean(ifs[i].served));
		bad |= put(o, "addresses", addrs);
		bad |= push(arr, o);
	}
	free(ifs);
	if (bad) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *pool_json(rd_daemon_t *d, const rd_cfg_subnet_t *s, const rd_cfg_pool_t *p)
{
	rd_table_pool_stats_t st;
	char a[16], b[16], txt[40];
	json_t *o = json_object();
	int bad = 0;

	ip4(s->network, a, sizeof(a));
	snprintf(txt, sizeof(txt), "%s/%u", a, s->prefix_len);
	bad |= put(o, "subnet", json_string(txt));
	ip4(p->start, a, sizeof(a));
	ip4(p->end, b, sizeof(b));
	snprintf(txt, sizeof(txt), "%s-%s", a, b);
	bad |= put(o, "range", json_string(txt));
	bad |= put(o, "failover_peer", jstr(p->failover ? p->failover->name : NULL));
	/* A pool of a configuration being reloaded may not be in the table yet. */
	if (!d->table || rd_table_pool_stats(d->table, p->start, &st) < 0) {
		memset(&st, 0, sizeof(st));
		st.size = (uint64_t)p->end - p->start + 1;
		st.unavailable = 0;
	}
	bad |= put(o, "size", juint(st.size));
	bad |= put(o, "used", juint(st.by_state[RD_LEASE_ACTIVE]));
	bad |= put(o, "free", juint(st.size > st.unavailable ? st.size - st.unavailable : 0));
	bad |= put(o, "backup", juint(st.by_state[RD_LEASE_BACKUP]));
	bad |= put(o, "abandoned", juint(st.by_state[RD_LEASE_ABANDONED]));
	bad |= put(o, "expired", juint(st.by_state[RD_LEASE_EXPIRED]));
	bad |= put(o, "released", juint(st.by_state[RD_LEASE_RELEASED]));
	bad |= put(o, "leases", juint(st.leases));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *counters_json(rd_daemon_t *d)
{
	rd_counters_t c;
	json_t *o = json_object(), *rx = json_object(), *tx = json_object(), *drops = json_object();
	int bad = 0;

	rd_daemon_counters(d, &c);
	for (unsigned t = 0; t < RD_CTR_MSGTYPES; t++) {
		if (c.rx[t] || rd_metrics_msgtype_core(t, false))
			bad |= put(rx, rd_metrics_msgtype_label(t), juint(c.rx[t]));
		if (c.tx[t] || rd_metrics_msgtype_core(t, true))
			bad |= put(tx, rd_metrics_msgtype_label(t), juint(c.tx[t]));
	}
	for (unsigned i = 0; i < RD_DROP__MAX; i++)
		bad |= put(drops, rd_drop_name((enum rd_drop)i), juint(c.drop[i]));
	bad |= put(o, "frames", juint(c.frames));
	bad |= put(o, "rx", rx);
	bad |= put(o, "tx", tx);
	bad |= put(o, "drops", drops);
	bad |= put(o, "acks_waited", juint(c.acks_waited));
	bad |= put(o, "ack_wait_us", juint(c.ack_wait_us));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* MAAS lease events: null when server.lease_events_socket is unset. */
static json_t *events_json(rd_daemon_t *d)
{
	rd_events_stats_t s;

	if (!d->events)
		return json_null();
	rd_events_stats(d->events, &s);
	json_t *o = json_object();
	int bad = put(o, "emitted", juint(s.emitted));
	bad |= put(o, "sent", juint(s.sent));
	bad |= put(o, "dropped_full", juint(s.dropped_full));
	bad |= put(o, "dropped_error", juint(s.dropped_error));
	bad |= put(o, "queued", juint(s.queued));
	bad |= put(o, "listener_up", json_boolean(s.listener_up));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *store_json(rd_daemon_t *d)
{
	rd_store_stats_t s;
	json_t *o;

	if (!d->store)
		return json_null();
	rd_store_stats(d->store, &s);
	o = json_object();
	int bad = put(o, "queue_depth", juint(s.queue_depth));
	bad |= put(o, "submitted", juint(s.submitted));
	bad |= put(o, "completed", juint(s.completed));
	bad |= put(o, "failed", juint(s.failed));
	bad |= put(o, "commits", juint(s.commits));
	bad |= put(o, "commit_errors", juint(s.commit_errors));
	bad |= put(o, "rows_written", juint(s.rows_written));
	bad |= put(o, "coalesced", juint(s.coalesced));
	bad |= put(o, "rejected_full", juint(s.rejected_full));
	bad |= put(o, "retry_pending", juint(s.retry_pending));
	bad |= put(o, "max_batch", juint(s.max_batch));
	bad |= put(o, "history_rows", juint(s.history_rows));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The failover relationships as the peers report them ([] without any). */
static json_t *failover_json(rd_daemon_t *d)
{
	json_t *arr = json_array();
	rd_fo_peer_status_t st[64];
	rd_fo_peers_t *fo = rcu_dereference(d->failover);   /* set once, by a reload that adds failover */
	size_t n = fo ? rd_fo_peers_status(fo, st, 64) : 0;
	int bad = !arr;
	for (size_t i = 0; arr && i < n && i < 64; i++) {
		json_t *o = json_object();
		bad |= !o;
		if (!o)
			break;
		bad |= put(o, "name", jstr(st[i].name));
		bad |= put(o, "role", jstr(rd_config_role_name(st[i].role)));
		bad |= put(o, "state", jstr(rd_fo_state_keyword(st[i].state) ? rd_fo_state_keyword(st[i].state) : "?"));
		bad |= put(o, "partner_state",
			   jstr(rd_fo_state_keyword(st[i].partner) ? rd_fo_state_keyword(st[i].partner) : "?"));
		bad |= put_time(o, "stos", st[i].stos);
		bad |= put(o, "linked", json_boolean(st[i].linked));
		bad |= put(o, "queued_updates", juint(st[i].queued));
		bad |= put(o, "unacked_updates", juint(st[i].unacked));
		bad |= put(o, "update_window", juint(st[i].window));
		char peer[24];
		ip4(st[i].peer_address, peer, sizeof(peer));
		snprintf(peer + strlen(peer), sizeof(peer) - strlen(peer), ":%u", st[i].peer_port);
		bad |= put(o, "peer", json_string(peer));
		bad |= put_time(o, "last_contact", st[i].last_contact);
		/* The relationship's pools: FREE (the primary's), BACKUP (the
		 * secondary's) and the rest, as `status` counts them. */
		json_t *pools = json_array();
		rcu_read_lock();
		const rd_config_t *cfg = rd_config_current();
		for (size_t k = 0; pools && cfg && k < cfg->n_subnets; k++)
			for (size_t j = 0; j < cfg->subnets[k].n_pools; j++) {
				const rd_cfg_pool_t *pl = &cfg->subnets[k].pools[j];
				if (pl->failover && pl->failover->name && !strcmp(pl->failover->name, st[i].name))
					bad |= push(pools, pool_json(d, &cfg->subnets[k], pl));
			}
		rcu_read_unlock();
		bad |= put(o, "pools", pools);
		bad |= put(o, "bndupd_sent", juint(st[i].bndupd_sent));
		bad |= put(o, "bndack_received", juint(st[i].bndack_recv));
		bad |= put(o, "bndupd_received", juint(st[i].bndupd_recv));
		bad |= put(o, "bndack_sent", juint(st[i].bndack_sent));
		bad |= put(o, "bndupd_rejected", juint(st[i].bndupd_rejected));
		bad |= put(o, "replies_waiting", juint(st[i].replies_waiting));
		bad |= put(o, "replies_held", juint(st[i].replies_held));
		bad |= put(o, "replies_released", juint(st[i].replies_released));
		bad |= put(o, "replies_dropped", juint(st[i].replies_dropped));
		bad |= put(o, "balance_runs", juint(st[i].balance_runs));
		bad |= put(o, "balance_moved", juint(st[i].balance_moved));
		bad |= put(o, "poolreq_sent", juint(st[i].poolreq_sent));
		bad |= put(o, "poolreq_received", juint(st[i].poolreq_recv));
		bad |= put(o, "poolresp_received", juint(st[i].poolresp_recv));
		bad |= put_time(o, "next_balance", st[i].balance_next);
		bad |= json_array_append_new(arr, o) != 0;
	}
	if (bad) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static int cmd_failover_status(struct req *r, json_t **res)
{
	json_t *o = json_object();
	if (!o || put(o, "relationships", failover_json(r->d))) {
		json_decref(o);
		return RD_ENOMEM;
	}
	*res = o;
	return 0;
}

static int cmd_failover_partner_down(struct req *r, json_t **res)
{
	const char *name;
	char err[200];
	if (arg_str(r, "name", true, &name))
		return RD_EINVAL;
	rd_fo_peers_t *fo = rcu_dereference(r->d->failover);
	if (fo == NULL || rd_fo_peers_partner_down(fo, name, err, sizeof(err)) < 0)
		return fail(r, "failover partner-down: %s", fo ? err : "no failover relationships are configured");
	rd_log(LOG_WARNING, "failover %s: partner-down requested by %s", name, who(r));
	json_t *o = json_object();
	if (!o || put(o, "name", jstr(name)) || put(o, "requested", json_true())) {
		json_decref(o);
		return RD_ENOMEM;
	}
	*res = o;
	return 0;
}

/* Region sync (null without a region section): where the view comes from and how old it is. */
static json_t *region_json(rd_daemon_t *d, time_t now)
{
	if (!d->region)
		return json_null();
	rd_regionsync_status_t st;
	rd_regionsync_status(d->region, &st);
	/* region text (URLs, its error messages) as printable ASCII, always valid JSON */
	sanitize(st.url);
	sanitize(st.system_id);
	sanitize(st.view_url);
	sanitize(st.last_error);
	json_t *o = json_object(), *polls = json_object();
	int bad = 0;
	bad |= put(o, "url", jstr(st.url));
	bad |= put(o, "system_id", jstr(st.system_id));
	bad |= put(o, "poll_interval_s", juint(st.poll_interval));
	bad |= put(o, "source", jstr(rd_regionsync_source_name(st.source)));
	bad |= put(o, "view_url", st.view_url[0] ? jstr(st.view_url) : json_null());
	bad |= put(o, "view_time", st.view_time ? json_integer(st.view_time) : json_null());
	bad |= put(o, "view_age_s", st.view_time ? json_integer(now > st.view_time ? now - st.view_time : 0)
						  : json_null());
	bad |= put(o, "last_success", st.last_success ? json_integer(st.last_success) : json_null());
	bad |= put(o, "last_error", st.last_error[0] ? jstr(st.last_error) : json_null());
	bad |= put(o, "last_error_time", st.last_error_time ? json_integer(st.last_error_time) : json_null());
	bad |= put(o, "failed_in_a_row", juint(st.failed_in_a_row));
	for (int i = 0; i < RD_RSYNC__COUNT; i++)
		bad |= put(polls, rd_regionsync_result_name((enum rd_regionsync_result)i), juint(st.polls[i]));
	bad |= put(o, "polls", polls);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int cmd_status(struct req *r, json_t **res)
{
	rd_daemon_t *d = r->d;
	json_t *o = json_object(), *cfgo = json_object(), *pools = json_array();
	time_t now = time(NULL);
	int bad = 0;

	bad |= put(o, "version", json_string(PACKAGE_VERSION));
	bad |= put(o, "pid", json_integer(getpid()));
	bad |= put(o, "started", json_integer((json_int_t)d->started));
	bad |= put(o, "uptime_s", json_integer(now > d->started ? (json_int_t)(now - d->started) : 0));
	bad |= put(o, "failover", failover_json(d));
	bad |= put(o, "region", region_json(d, now));

	rcu_read_lock();
	const rd_config_t *cfg = rd_config_current();
	bad |= put(cfgo, "file", jstr(cfg ? cfg->filename : d->config_path));
	bad |= put(cfgo, "generation", juint(cfg ? cfg->generation : 0));
	bad |= put(o, "durability", jstr(cfg ? rd_config_durability_name(cfg->server.durability) : NULL));
	for (size_t i = 0; cfg && i < cfg->n_subnets; i++)
		for (size_t j = 0; j < cfg->subnets[i].n_pools; j++)
			bad |= push(pools, pool_json(d, &cfg->subnets[i], &cfg->subnets[i].pools[j]));
	rcu_read_unlock();

	bad |= put(o, "config", cfgo);
	bad |= put(o, "interfaces", interfaces_json(d));
	bad |= put(o, "pools", pools);
	bad |= put(o, "leases", juint(d->table ? rd_table_count(d->table) : 0));
	bad |= put(o, "counters", counters_json(d));
	bad |= put(o, "store", store_json(d));
	bad |= put(o, "lease_events", events_json(d));
	if (bad) {
		json_decref(o);
		return RD_ENOMEM;
	}
	*res = o;
	return 0;
}

/* ---------------------------------------------------------------- listings */

struct filter {
	int state;              /* 0: any */
	uint32_t net, mask;     /* mask 0: any */
	bool has_addr;
	uint32_t addr;
	uint8_t mac[16];
	int mac_len;            /* 0: any */
};

static bool matches(const struct filter *f, const rd_lease_t *l)
{
	if (f->state == STATE_OFFERED ? !(l->state == RD_LEASE_ACTIVE && (l->flags & RD_ENGINE_F_OFFERED)) :
	    f->state && (l->state != f->state ||
			 (f->state == RD_LEASE_ACTIVE && (l->flags & RD_ENGINE_F_OFFERED))))
		return false;
	if (f->mask && (l->addr & f->mask) != f->net)
		return false;
	if (f->has_addr && l->addr != f->addr)
		return false;
	if (f->mac_len && (l->hlen != f->mac_len || memcmp(l->chaddr, f->mac, (size_t)f->mac_len)))
		return false;
	return true;
}

struct collect {
	const struct filter *f;
	uint32_t *addrs;
	size_t n, cap;
	bool oom;
};

static int collect_cb(void *ctx, const rd_lease_t *l)
{
	struct collect *c = ctx;
	if (!matches(c->f, l))
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		uint32_t *p = realloc(c->addrs, cap * sizeof(*p));
		if (!p) {
			c->oom = true;
			return 1;
		}
		c->addrs = p;
		c->cap = cap;
	}
	c->addrs[c->n++] = l->addr;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/*
 * {"leases": [...], "count": n, "total": matched, "truncated": bool}, sorted
 * by address, at most limit entries.
 */
static int list_leases(struct req *r, const struct filter *f, size_t limit, json_t **res)
{
	struct collect c = { .f = f };
	json_t *arr = json_array(), *o = json_object();
	int bad = 0;
	size_t shown = 0;

	if (!r->d->table) {
		json_decref(arr);
		json_decref(o);
		return fail(r, "%s: no lease table", r->command);
	}
	rcu_read_lock();
	if (f->has_addr) {
		const rd_lease_t *l = rd_table_by_addr(r->d->table, f->addr);
		if (l)
			collect_cb(&c, l);
	} else {
		rd_table_foreach(r->d->table, collect_cb, &c);
	}
	if (!c.oom) {
		if (c.n)
			qsort(c.addrs, c.n, sizeof(*c.addrs), cmp_u32);
		for (size_t i = 0; i < c.n && shown < limit; i++) {
			/* Looked up again: it may have changed since the first pass. */
			const rd_lease_t *l = rd_table_by_addr(r->d->table, c.addrs[i]);
			if (l && matches(f, l)) {
				bad |= push(arr, lease_json(l));
				shown++;
			}
		}
	}
	rcu_read_unlock();
	free(c.addrs);
	bad |= put(o, "count", juint(shown));
	bad |= put(o, "total", juint(c.n));
	bad |= put(o, "truncated", json_boolean(shown < c.n));
	bad |= put(o, "leases", arr);
	if (bad || c.oom) {
		json_decref(o);
		return RD_ENOMEM;
	}
	*res = o;
	return 0;
}

static int parse_state(const char *s)
{
	if (!strcmp(s, "offered"))
		return STATE_OFFERED;
	for (int st = RD_LEASE_FREE; st <= RD_LEASE_BACKUP; st++)
		if (!strcmp(s, rd_lease_state_name((uint8_t)st)))
			return st;
	return 0;
}

static int cmd_leases(struct req *r, json_t **res)
{
	struct filter f = { 0 };
	const char *state, *subnet, *mac;
	json_int_t limit = RD_CONTROL_LEASES_DEFAULT;
	json_t *lv = json_object_get(r->args, "limit");

	if (arg_str(r, "state", false, &state) || arg_str(r, "subnet", false, &subnet) ||
	    arg_str(r, "mac", false, &mac) || arg_addr(r, "address", false, &f.has_addr, &f.addr))
		return RD_EINVAL;
	if (state && !(f.state = parse_state(state)))
		return fail(r, "leases: unknown state '%.64s' (free, offered, active, expired, released, "
			    "abandoned, reset, backup)", state);
	if (subnet && !parse_cidr(subnet, &f.net, &f.mask))
		return fail(r, "leases: '%.64s' is not a subnet like 10.0.0.0/24 (no host bits)", subnet);
	/* A /0 is "every address": the mask 0 already means no filter. */
	if (mac && (f.mac_len = parse_mac(mac, f.mac)) < 0)
		return fail(r, "leases: '%.64s' is not a hardware address like 52:54:00:12:34:56", mac);
	if (lv) {
		if (!json_is_integer(lv))
			return fail(r, "leases: argument 'limit' must be an integer");
		limit = json_integer_value(lv);
		if (limit < 1 || limit > RD_CONTROL_LEASES_MAX)
			return fail(r, "leases: limit must be 1..%u", RD_CONTROL_LEASES_MAX);
	}
	return list_leases(r, &f, (size_t)limit, res);
}

static int cmd_lease_show(struct req *r, json_t **res)
{
	struct filter f = { 0 };
	const char *mac;

	if (arg_addr(r, "address", false, &f.has_addr, &f.addr) || arg_str(r, "mac", false, &mac))
		return RD_EINVAL;
	if (f.has_addr == (mac != NULL))
		return fail(r, "lease-show: give exactly one of 'address' or 'mac'");
	if (mac && (f.mac_len = parse_mac(mac, f.mac)) < 0)
		return fail(r, "lease-show: '%.64s' is not a hardware address like 52:54:00:12:34:56", mac);
	int rc = list_leases(r, &f, RD_CONTROL_LEASES_MAX, res);
	if (rc)
		return rc;
	if (json_integer_value(json_object_get(*res, "total")) == 0) {
		json_decref(*res);
		*res = NULL;
		if (mac)
			return fail(r, "lease-show: no lease for %.64s", mac);
		char ip[16];
		ip4(f.addr, ip, sizeof(ip));
		return fail(r, "lease-show: no lease for %s", ip);
	}
	return 0;
}

/* ---------------------------------------------------------------- changes */

enum change { CH_RELEASE, CH_DELETE };

/*
 * Publish the operator's change of the lease at addr and make it durable.
 * On success *done is a private copy of the published version (free it).
 */
static int change_lease(struct req *r, uint32_t addr, enum change ch, rd_lease_t **done)
{
	rd_daemon_t *d = r->d;
	const char *verb = ch == CH_RELEASE ? "release" : "delete";
	char ip[16], mac[64] = "", host[4 * RD_LEASE_MAX_HOSTNAME + 1] = "";
	uint8_t old_state = 0;
	rd_lease_t *copy = NULL;
	int rc = RD_ECONFLICT;

	ip4(addr, ip, sizeof(ip));
	if (!d->table || !d->store)
		return fail(r, "lease-%s: no lease table or store", verb);
	for (int attempt = 0; attempt < 2 && rc == RD_ECONFLICT; attempt++) {
		rcu_read_lock();
		const rd_lease_t *cur = rd_table_by_addr(d->table, addr);
		bool has_client = cur && (cur->hlen || cur->cid_len || cur->host_len);
		const char *refuse = NULL;
		if (!cur)
			refuse = "no lease for this address";
		else if (cur->state == RD_LEASE_BACKUP)
			refuse = "the address belongs to the failover secondary (backup)";
		else if (ch == CH_RELEASE && cur->state == RD_LEASE_FREE)
			refuse = "the lease is already free";
		else if (ch == CH_RELEASE && cur->state == RD_LEASE_RELEASED)
			refuse = "the lease is already released";
		else if (ch == CH_DELETE && cur->state == RD_LEASE_FREE && !has_client)
			refuse = "the lease is already free";
		if (refuse) {
			rcu_read_unlock();
			return fail(r, "lease-%s %s: %s", verb, ip, refuse);
		}
		uint32_t now = (uint32_t)time(NULL);
		rd_lease_t *n;
		if (ch == CH_RELEASE) {
			/* The client stays: it gets the same address back if it returns. */
			n = rd_lease_dup(cur, rd_lease_cid(cur), cur->cid_len, rd_lease_host(cur), cur->host_len);
			if (n) {
				n->state = RD_LEASE_RELEASED;
				n->flags &= (uint16_t)~RD_ENGINE_F_OFFERED;
				n->ends = now;
				if (n->starts > n->ends)
					n->starts = n->ends;
			}
		} else {
			/* Forgotten: no trace of the client remains in the current version. */
			n = rd_lease_new(addr, NULL, 0, NULL, 0);
			if (n) {
				n->state = RD_LEASE_FREE;
				n->starts = now;
				n->ends = now;
			}
		}
		if (!n) {
			rcu_read_unlock();
			return RD_ENOMEM;
		}
		old_state = cur->state;
		lease_mac(cur, mac);
		if (cur->host_len)
			printable((const uint8_t *)rd_lease_host(cur), cur->host_len, host);
		rc = rd_table_replace(d->table, cur, n);
		if (rc == 0) {
			/* n is the table's now; the store gets a copy we own. */
			copy = rd_lease_dup(n, rd_lease_cid(n), n->cid_len, rd_lease_host(n), n->host_len);
		} else {
			rd_lease_free(n);
		}
		rcu_read_unlock();
	}
	if (rc == RD_ECONFLICT)
		return fail(r, "lease-%s %s: the lease kept changing under us; try again", verb, ip);
	if (rc < 0)
		return fail(r, "lease-%s %s: %s", verb, ip, rd_strerror(rc));
	if (!copy)
		return fail(r, "lease-%s %s: done in memory, but out of memory to save it", verb, ip);
	sanitize(host);
	rc = rd_store_submit_wait(d->store, copy, ch == CH_RELEASE ? "operator release" : "operator delete");
	if (rc < 0) {
		rd_log(LOG_ERR, "operator %s of %s (%s) by %s: in effect, but not saved: %s", verb, ip, mac, who(r),
		       rd_strerror(rc));
		rd_lease_free(copy);
		return fail(r, "lease-%s %s: in effect, but saving it failed (%s); the store retries", verb, ip,
			    rd_strerror(rc));
	}
	rd_log(LOG_NOTICE, "operator %s of %s (%s, %s%s%s) by %s", verb, ip, mac,
	       rd_lease_state_name(old_state), host[0] ? ", host " : "", host, who(r));
	*done = copy;
	return 0;
}

static int cmd_change(struct req *r, json_t **res, enum change ch)
{
	uint32_t addr;
	bool present;
	rd_lease_t *l = NULL;

	if (arg_addr(r, "address", true, &present, &addr))
		return RD_EINVAL;
	int rc = change_lease(r, addr, ch, &l);
	if (rc)
		return rc;
	*res = lease_json(l);
	rd_lease_free(l);
	return *res ? 0 : RD_ENOMEM;
}

static int cmd_lease_release(struct req *r, json_t **res)
{
	return cmd_change(r, res, CH_RELEASE);
}

static int cmd_lease_delete(struct req *r, json_t **res)
{
	return cmd_change(r, res, CH_DELETE);
}

/* ---------------------------------------------------------------- reload, backup */

static int cmd_reload(struct req *r, json_t **res)
{
	char err[ERR_MAX - 32] = "";

	if (r->caller && r->caller->sandbox)
		return fail(r, "reload: not allowed here");
	if (!r->d->config_path)
		return fail(r, "reload: the daemon has no configuration file");
	rd_log(LOG_INFO, "reload requested over the control socket by %s", who(r));
	if (rd_daemon_reload(r->d, err, sizeof(err)) < 0)
		return fail(r, "reload refused, the running configuration stays: %s", err[0] ? err : "unknown error");
	*res = json_pack("{s:I}", "generation", (json_int_t)rd_config_generation());
	return *res ? 0 : RD_ENOMEM;
}

static int cmd_backup(struct req *r, json_t **res)
{
	const char *path;
	char err[ERR_MAX - 32] = "";

	if (arg_str(r, "path", true, &path))
		return RD_EINVAL;
	if (r->caller && r->caller->sandbox)
		return fail(r, "backup: not allowed here");
	if (path[0] != '/')
		return fail(r, "backup: the path must be absolute (the daemon's working directory is not yours)");
	if (strlen(path) > PATH_MAX - 8)
		return fail(r, "backup: path too long");
	if (!r->d->store)
		return fail(r, "backup: no lease store");
	int rc = rd_store_backup(r->d->store, path, err, sizeof(err));
	if (rc < 0)
		return fail(r, "backup: %s", err[0] ? err : rd_strerror(rc));
	rd_log(LOG_NOTICE, "lease store backed up to %s by %s", path, who(r));
	*res = json_pack("{s:s}", "path", path);
	return *res ? 0 : RD_ENOMEM;
}

/* ---------------------------------------------------------------- dispatch */

static const struct command {
	const char *name;
	int (*run)(struct req *r, json_t **res);
	const char *const args[6];      /* allowed besides "command", NULL-terminated */
} commands[] = {
	{ "status", cmd_status, { NULL } },
	{ "leases", cmd_leases, { "state", "subnet", "mac", "address", "limit", NULL } },
	{ "lease-show", cmd_lease_show, { "address", "mac", NULL } },
	{ "lease-release", cmd_lease_release, { "address", NULL } },
	{ "lease-delete", cmd_lease_delete, { "address", NULL } },
	{ "reload", cmd_reload, { NULL } },
	{ "backup", cmd_backup, { "path", NULL } },
	{ "failover-status", cmd_failover_status, { NULL } },
	{ "failover-partner-down", cmd_failover_partner_down, { "name", NULL } },
};

static int dispatch(struct req *r, const char *line, size_t len, json_t **res)
{
	json_error_t je;
	const struct command *cmd = NULL;

	if (len > RD_CONTROL_MAX_LINE)
		return fail(r, "request longer than %u bytes", RD_CONTROL_MAX_LINE);
	r->args = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (!r->args)
		return fail(r, "not JSON: %s (at byte %d)", je.text, je.position);
	if (!json_is_object(r->args))
		return fail(r, "the request must be a JSON object like {\"command\": \"status\"}");
	json_t *cv = json_object_get(r->args, "command");
	if (!cv)
		return fail(r, "missing \"command\"");
	if (!json_is_string(cv))
		return fail(r, "\"command\" must be a string");
	const char *name = json_string_value(cv);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			cmd = &commands[i];
	if (!cmd)
		return fail(r, "unknown command '%.64s' (status, leases, lease-show, lease-release, lease-delete, "
			    "reload, backup)", name);
	r->command = cmd->name;
	const char *key;
	json_t *v;
	json_object_foreach(r->args, key, v) {
		bool known = !strcmp(key, "command");
		for (size_t i = 0; !known && cmd->args[i]; i++)
			known = !strcmp(key, cmd->args[i]);
		if (!known)
			return fail(r, "%s: unknown argument '%.64s'", cmd->name, key);
	}
	return cmd->run(r, res);
}

char *rd_control_handle(rd_daemon_t *d, const char *line, size_t len, const rd_control_caller_t *caller)
{
	struct req r = { .d = d, .caller = caller, .command = "request" };
	json_t *res = NULL, *reply;
	char *out;

	int rc = dispatch(&r, line, len, &res);
	if (rc == 0) {
		reply = json_pack("{s:b, s:o}", "ok", 1, "result", res ? res : json_null());
	} else {
		json_decref(res);
		if (!r.err[0])
			snprintf(r.err, sizeof(r.err), "%s: %s", r.command, rd_strerror(rc));
		/* Error texts may quote the request (or jansson may quote bytes
		 * that are not UTF-8): keep them printable ASCII. */
		sanitize(r.err);
		reply = json_pack("{s:b, s:s}", "ok", 0, "error", r.err);
	}
	json_decref(r.args);
	out = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	json_decref(reply);
	return out;
}

/* ================================================================ the thread */

struct client {
	int fd;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off, out_cap;
	bool discarding;        /* the current line is too long: skip to its newline */
	bool eof;               /* the client shut its side: answer, flush, close */
	uint64_t last_ms;       /* last progress, for the idle timeout */
	char who[64];
};

struct rd_control {
	rd_daemon_t *d;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t sock_dev;
	ino_t sock_ino;
	int lfd, wake_fd;
	rd_metrics_t *metrics;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	_Atomic unsigned max_clients, idle_ms;
	uint64_t accept_pause_until;    /* after EMFILE & co: do not spin on the listener */
	struct client clients[CLIENTS_CAP];
	size_t n_clients;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void client_close(struct rd_control *c, size_t i)
{
	struct client *cl = &c->clients[i];
	close(cl->fd);
	free(cl->in);
	free(cl->out);
	c->clients[i] = c->clients[--c->n_clients];
}

/* Append one reply line; false when out of memory. */
static bool client_queue(struct client *cl, const char *text, size_t len)
{
	if (cl->out_off == cl->out_len)
		cl->out_off = cl->out_len = 0;
	if (cl->out_cap - cl->out_len < len + 1) {
		size_t need = cl->out_len - cl->out_off + len + 1;
		if (cl->out_off) {
			memmove(cl->out, cl->out + cl->out_off, cl->out_len - cl->out_off);
			cl->out_len -= cl->out_off;
			cl->out_off = 0;
		}
		if (cl->out_cap < need) {
			size_t cap = cl->out_cap ? cl->out_cap : 4096;
			while (cap < need)
				cap *= 2;
			char *p = realloc(cl->out, cap);
			if (!p)
				return false;
			cl->out = p;
			cl->out_cap = cap;
		}
	}
	memcpy(cl->out + cl->out_len, text, len);
	cl->out_len += len;
	cl->out[cl->out_len++] = '\n';
	return true;
}

static bool client_answer(struct rd_control *c, struct client *cl, const char *line, size_t len)
{
	static const char oom[] = "{\"ok\":false,\"error\":\"out of memory\"}";
	rd_control_caller_t caller = { .who = cl->who };
	char *reply = rd_control_handle(c->d, line, len, &caller);
	bool ok = reply ? client_queue(cl, reply, strlen(reply)) : client_queue(cl, oom, sizeof(oom) - 1);
	free(reply);
	return ok;
}

/* Answer the complete lines buffered; false: close the client. */
static bool client_process(struct rd_control *c, struct client *cl)
{
	while (cl->out_len - cl->out_off < OUT_HIGH) {
		char *nl = cl->in_len ? memchr(cl->in, '\n', cl->in_len) : NULL;
		size_t used;
		if (cl->discarding) {
			if (!nl) {
				cl->in_len = 0;
				break;
			}
			cl->discarding = false;
			used = (size_t)(nl - cl->in) + 1;
		} else if (nl) {
			size_t len = (size_t)(nl - cl->in);
			if (len && cl->in[len - 1] == '\r')
				len--;
			/* Blank lines are not requests (an interactive user pressing enter). */
			size_t k = 0;
			while (k < len && (cl->in[k] == ' ' || cl->in[k] == '\t'))
				k++;
			if (k < len && !client_answer(c, cl, cl->in, len))
				return false;
			used = (size_t)(nl - cl->in) + 1;
		} else if (cl->in_len > RD_CONTROL_MAX_LINE) {
			/* Too long: say so once, then skip to the end of that line. */
			char msg[96];
			int n = snprintf(msg, sizeof(msg), "{\"ok\":false,\"error\":\"request longer than %u bytes\"}",
					 RD_CONTROL_MAX_LINE);
			if (!client_queue(cl, msg, (size_t)n))
				return false;
			cl->discarding = true;
			used = cl->in_len;
		} else if (cl->eof && cl->in_len) {
			/* The last request may lack its newline. */
			if (!client_answer(c, cl, cl->in, cl->in_len))
				return false;
			used = cl->in_len;
		} else {
			break;
		}
		memmove(cl->in, cl->in + used, cl->in_len - used);
		cl->in_len -= used;
	}
	return true;
}

/* Read what is there; false: close the client. */
static bool client_read(struct client *cl)
{
	size_t limit = RD_CONTROL_MAX_LINE + 1;

	if (cl->in_cap - cl->in_len < 4096 && cl->in_cap < limit) {
		size_t cap = cl->in_cap ? cl->in_cap * 2 : 4096;
		if (cap > limit)
			cap = limit;
		char *p = realloc(cl->in, cap);
		if (!p)
			return false;
		cl->in = p;
		cl->in_cap = cap;
	}
	if (cl->in_len == cl->in_cap)
		return true;    /* full: client_process empties it first */
	ssize_t n = recv(cl->fd, cl->in + cl->in_len, cl->in_cap - cl->in_len, 0);
	if (n > 0) {
		cl->in_len += (size_t)n;
		return true;
	}
	if (n == 0) {
		cl->eof = true;
		return true;
	}
	return rd_would_block(errno) || errno == EINTR;
}

/* Write what is pending; false: close the client. */
static bool client_write(struct client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return rd_would_block(errno);
		}
		cl->out_off += (size_t)n;
	}
	/* Give back the memory of a big reply once it is gone. */
	if (cl->out_cap > OUT_HIGH) {
		free(cl->out);
		cl->out = NULL;
		cl->out_cap = 0;
	}
	cl->out_off = cl->out_len = 0;
	return true;
}

static void accept_clients(struct rd_control *c, uint64_t now)
{
	for (;;) {
		int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (!rd_would_block(errno)) {
				rd_log(LOG_WARNING, "control socket: accept: %s", strerror(errno));
				c->accept_pause_until = now + 200;
			}
			return;
		}
		unsigned max = atomic_load(&c->max_clients);
		if (c->n_clients >= max || c->n_clients >= CLIENTS_CAP) {
			char msg[128];
			int n = snprintf(msg, sizeof(msg),
					 "{\"ok\":false,\"error\":\"too many control clients (%u); try again later\"}\n",
					 max);
			ssize_t w = send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
			(void)w;
			close(fd);
			continue;
		}
		struct client *cl = &c->clients[c->n_clients++];
		memset(cl, 0, sizeof(*cl));
		cl->fd = fd;
		cl->last_ms = now;
		struct ucred cred;
		socklen_t cl_len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl_len) == 0)
			snprintf(cl->who, sizeof(cl->who), "uid %u pid %d", (unsigned)cred.uid, (int)cred.pid);
		else
			snprintf(cl->who, sizeof(cl->who), "unknown peer");
	}
}

static void *control_main(void *arg)
{
	struct rd_control *c = arg;
	struct pollfd pfd[3 + CLIENTS_CAP];

	rcu_register_thread();
	while (!atomic_load(&c->stop)) {
		uint64_t now = now_ms();
		unsigned idle = atomic_load(&c->idle_ms);
		int timeout = -1;
		size_t np = 0;

		pfd[np++] = (struct pollfd){ .fd = c->wake_fd, .events = POLLIN };
		bool listening = now >= c->accept_pause_until;
		pfd[np++] = (struct pollfd){ .fd = listening ? c->lfd : -1, .events = POLLIN };
		if (!listening)
			timeout = (int)(c->accept_pause_until - now);
		pfd[np++] = (struct pollfd){ .fd = c->metrics ? rd_metrics_fd(c->metrics) : -1, .events = POLLIN };
		if (c->metrics) {
			int t = rd_metrics_timeout_ms(c->metrics);
			if (t >= 0 && (timeout < 0 || t < timeout))
				timeout = t;
		}
		for (size_t i = 0; i < c->n_clients; i++) {
			struct client *cl = &c->clients[i];
			short ev = cl->out_off < cl->out_len ? POLLOUT : (cl->eof ? 0 : POLLIN);
			pfd[np++] = (struct pollfd){ .fd = cl->fd, .events = ev };
			uint64_t due = cl->last_ms + idle;
			int t = due > now ? (int)(due - now) : 0;
			if (timeout < 0 || t < timeout)
				timeout = t;
		}
		if (poll(pfd, np, timeout) < 0 && errno != EINTR) {
			rd_log(LOG_ERR, "control thread: poll: %s", strerror(errno));
			break;
		}
		now = now_ms();
		if (pfd[0].revents) {
			uint64_t v;
			ssize_t r = read(c->wake_fd, &v, sizeof(v));
			(void)r;
			continue;
		}
		/* Clients first (their slots match pfd[3..]); new ones join after. */
		for (size_t i = c->n_clients; i-- > 0;) {
			struct client *cl = &c->clients[i];
			short re = pfd[3 + i].revents;
			bool keep = true;
			if (re & (POLLIN | POLLHUP | POLLERR) && !cl->eof && cl->out_off == cl->out_len) {
				size_t before = cl->in_len;
				keep = client_read(cl);
				if (cl->in_len != before || cl->eof)
					cl->last_ms = now;
			}
			if (keep && re & (POLLOUT | POLLERR)) {
				size_t before = cl->out_off;
				keep = client_write(cl);
				if (cl->out_off != before || cl->out_len == 0)
					cl->last_ms = now;
			}
			if (keep && cl->out_off == cl->out_len) {
				size_t before = cl->out_len;
				keep = client_process(c, cl);
				/* A command may take long (backup, fsync): the idle
				 * time counts from its answer, not from the request. */
				if (keep && cl->out_len != before) {
					now = now_ms();
					cl->last_ms = now;
					keep = client_write(cl);
				}
			}
			if (keep && cl->eof && cl->out_off == cl->out_len && !cl->in_len)
				keep = false;
			if (keep && now >= cl->last_ms && now - cl->last_ms >= idle) {
				rd_log(LOG_DEBUG, "control client (%s) idle for %u ms: closed", cl->who, idle);
				keep = false;
			}
			if (!keep)
				client_close(c, i);
		}
		if (pfd[1].revents)
			accept_clients(c, now);
		if (c->metrics)
			rd_metrics_run(c->metrics);
	}
	while (c->n_clients)
		client_close(c, c->n_clients - 1);
	rcu_unregister_thread();
	return NULL;
}

/* ================================================================ start, stop */

/* mkdir -p of path's directory; new directories get 0750. */
static int make_parent(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
			int e = errno;
			snprintf(err, errlen, "control socket: cannot create directory %s: %s", dir, strerror(e));
			return -e;
		}
		*p = saved;
		if (!saved)
			break;
	}
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "control socket: %s is not a directory", dir);
		return RD_EINVAL;
	}
	return 0;
}

/* A socket file already at path: refuse a live one, remove a stale one. */
static int clear_stale(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "control socket: %s exists and is not a socket; remove it or choose another "
			 "server.control_socket", path);
		return RD_EINVAL;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "control socket: socket: %s", strerror(e));
		return -e;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "control socket: %s is in use: another rackdhcpd is running (stop it first, "
			 "or give this one another server.control_socket)", path);
		return -EADDRINUSE;
	}
	if (e != ECONNREFUSED) {
		snprintf(err, errlen, "control socket: cannot check %s: %s", path, strerror(e));
		return -e;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		e = errno;
		snprintf(err, errlen, "control socket: cannot remove stale %s: %s", path, strerror(e));
		return -e;
	}
	rd_log(LOG_INFO, "control socket: removed stale %s", path);
	return 0;
}

static int bind_socket(struct rd_control *c, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int rc, e;

	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	if ((rc = make_parent(c->path, err, errlen)) < 0)
		return rc;
	if ((rc = clear_stale(c->path, err, errlen)) < 0) {
		if (!err[0])
			snprintf(err, errlen, "control socket: %s: %s", c->path, strerror(-rc));
		return rc;
	}
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->lfd < 0)
		goto fail;
	if (bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	struct stat st;
	if (chmod(c->path, 0660) < 0 || stat(c->path, &st) < 0)
		goto fail_unlink;
	c->sock_dev = st.st_dev;
	c->sock_ino = st.st_ino;
	if (listen(c->lfd, 16) < 0)
		goto fail_unlink;
	return 0;
fail_unlink:
	e = errno;
	unlink(c->path);
	errno = e;
fail:
	e = errno;
	snprintf(err, errlen, "control socket: %s: %s", c->path, strerror(e));
	return -e;
}

static void control_free(struct rd_control *c)
{
	if (c->lfd >= 0) {
		close(c->lfd);
		/* Only our own file: never one another process put there since. */
		struct stat st;
		if (c->sock_ino && lstat(c->path, &st) == 0 && st.st_dev == c->sock_dev && st.st_ino == c->sock_ino)
			unlink(c->path);
	}
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	rd_metrics_stop(c->metrics);
	free(c);
}

int rd_control_start(rd_daemon_t *d, const rd_config_t *cfg, rd_control_t **out, char *err, size_t errlen)
{
	const char *path = cfg && cfg->server.control_socket ? cfg->server.control_socket
							      : RD_CFG_DEFAULT_CONTROL_SOCKET;
	struct rd_control *c;
	int rc;

	if (errlen)
		err[0] = '\0';
	if (strlen(path) >= sizeof(c->path)) {
		snprintf(err, errlen, "control socket: path too long: %s", path);
		return RD_EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "control socket: out of memory");
		return RD_ENOMEM;
	}
	c->d = d;
	c->lfd = c->wake_fd = -1;
	memcpy(c->path, path, strlen(path) + 1);
	atomic_init(&c->stop, false);
	atomic_init(&c->max_clients, RD_CONTROL_MAX_CLIENTS);
	atomic_init(&c->idle_ms, RD_CONTROL_IDLE_MS);

	if ((rc = bind_socket(c, err, errlen)) < 0)
		goto fail;
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->wake_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "control socket: eventfd: %s", strerror(errno));
		goto fail;
	}
	if (cfg && cfg->server.metrics &&
	    (rc = rd_metrics_start(d, cfg->server.metrics_host, cfg->server.metrics_port, &c->metrics, err,
				   errlen)) < 0)
		goto fail;

	/* Signals belong to the main thread's signalfd: block them all here. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&c->thread, NULL, control_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0) {
		snprintf(err, errlen, "control socket: cannot start the management thread: %s", strerror(-rc));
		goto fail;
	}
	c->started = true;
	rd_log(LOG_INFO, "control socket listening on %s", c->path);
	if (c->metrics)
		rd_log(LOG_INFO, "metrics on http://%s:%u/metrics", cfg->server.metrics_host,
		       rd_metrics_port(c->metrics));
	*out = c;
	return 0;
fail:
	control_free(c);
	return rc;
}

void rd_control_stop(rd_control_t *c)
{
	if (!c)
		return;
	if (c->started) {
		uint64_t one = 1;
		atomic_store(&c->stop, true);
		ssize_t w = write(c->wake_fd, &one, sizeof(one));
		(void)w;
		pthread_join(c->thread, NULL);
	}
	control_free(c);
}

void rd_control_set_limits(rd_control_t *c, unsigned max_clients, unsigned idle_ms)
{
	if (max_clients)
		atomic_store(&c->max_clients, max_clients < CLIENTS_CAP ? max_clients : CLIENTS_CAP);
	if (idle_ms)
		atomic_store(&c->idle_ms, idle_ms < 86400000u ? idle_ms : 86400000u);
	uint64_t one = 1;
	ssize_t w = write(c->wake_fd, &one, sizeof(one));
	(void)w;
}

unsigned rd_control_metrics_port(const rd_control_t *c)
{
	return c->metrics ? rd_metrics_port(c->metrics) : 0;
}
