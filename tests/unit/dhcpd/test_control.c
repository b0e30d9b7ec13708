/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_control — the management thread, end to end over its sockets: a
 * daemon assembled by hand (a published configuration with two subnets, a
 * lease table with their pools and seven leases, a store in a mkdtemp
 * directory, counters, one interface), the control thread started on a
 * socket in that directory, and clients that speak the protocol:
 *  - status, leases and its filters, lease-show, lease-release and
 *    lease-delete (checked in the table AND in the SQLite file), reload,
 *    backup;
 *  - bad requests of every kind, each answered while the connection stays
 *    usable; pipelined requests; blank lines; CRLF;
 *  - two clients at once (one stalled mid-line), the client bound, the
 *    idle timeout;
 *  - the socket file: directory 0750, socket 0660, a live socket refused, a
 *    stale one replaced, a non-socket refused, removed at stop;
 *  - the metrics page over 127.0.0.1 (format, values, 404);
 *  - the rackdhcpctl binary: text and JSON output, exit statuses 1, 2, 3.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/control.h"
#include "rackdhcp/daemon.h"
#include "rackdhcp/engine.h"
#include "rackdhcp/rcu.h"
#include "rackdhcp/store.h"
#include "rackdhcp/table.h"
#include "tap.h"

static char dir[64], sock_path[200], cfg_path[200], db_path[200];
static unsigned metrics_port;
static rd_daemon_t D;
static rd_control_t *ctl;
static char *yaml;

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

/* ------------------------------------------------------------ fixtures */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void rm_dir(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		bail_out("cannot write %s", path);
}

/* A port nobody listens on right now (small race, fine for a test). */
static unsigned free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		bail_out("cannot find a free port: %s", strerror(errno));
	close(fd);
	return ntohs(sa.sin_port);
}

static const char yaml_fmt[] =
	"server:\n"
	"  state_dir: %s\n"
	"  control_socket: %s\n"
	"  metrics: 127.0.0.1:%u\n"
	"failover:\n"
	"  - name: peer-a\n"
	"    role: primary\n"
	"    address: 10.0.0.2\n"
	"    peer_address: 10.0.0.3\n"
	"    split: 128\n"
	"subnets:\n"
	"  - cidr: 10.0.0.0/24\n"
	"    pools:\n"
	"      - range: 10.0.0.100-10.0.0.109\n"
	"        failover_peer: peer-a\n"
	"  - cidr: 10.0.1.0/24\n"
	"    pools:\n"
	"      - range: 10.0.1.10-10.0.1.29\n";

static void store_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level <= RD_STORE_LOG_WARNING)
		diag("store: %s", msg);
}

static void add_lease(uint32_t addr, uint8_t state, int mac_last, const char *host, size_t host_len,
		      const uint8_t *cid, size_t cid_len, uint16_t flags)
{
	uint32_t now = (uint32_t)time(NULL);
	rd_lease_t *l = rd_lease_new(addr, cid, cid_len, host, host_len);
	if (!l)
		bail_out("out of memory");
	l->state = state;
	l->flags = flags;
	if (mac_last >= 0) {
		static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x00 };
		l->htype = 1;
		l->hlen = 6;
		memcpy(l->chaddr, mac, 6);
		l->chaddr[5] = (uint8_t)mac_last;
	}
	l->starts = now - 100;
	l->ends = now + 500;
	l->cltt = now - 100;
	if (rd_store_submit_wait(D.store, l, "test") != 0)
		bail_out("cannot store the lease");
	rcu_read_lock();
	int rc = rd_table_replace(D.table, NULL, l);
	rcu_read_unlock();
	if (rc)
		bail_out("cannot publish the lease");
}

static void setup(void)
{
	char err[512];
	rd_config_t *cfg = NULL;

	snprintf(dir, sizeof(dir), "/tmp/rdctl-XXXXXX");
	if (!mkdtemp(dir))
		bail_out("mkdtemp: %s", strerror(errno));
	snprintf(sock_path, sizeof(sock_path), "%s/run/control.sock", dir);
	snprintf(cfg_path, sizeof(cfg_path), "%s/rackdhcpd.yaml", dir);
	snprintf(db_path, sizeof(db_path), "%s/leases.db", dir);
	metrics_port = free_port();
	size_t n = sizeof(yaml_fmt) + 2 * sizeof(dir) + sizeof(sock_path) + 16;
	yaml = malloc(n);
	snprintf(yaml, n, yaml_fmt, dir, sock_path, metrics_port);
	write_file(cfg_path, yaml);

	if (rd_config_parse(yaml, strlen(yaml), cfg_path, &cfg, err, sizeof(err)) != 0)
		bail_out("config: %s", err);
	D.config_path = cfg_path;
	D.started = time(NULL) - 100;
	D.table = rd_table_new(64);
	if (!D.table)
		bail_out("table");
	for (size_t i = 0; i < cfg->n_subnets; i++)
		for (size_t p = 0; p < cfg->subnets[i].n_pools; p++)
			if (rd_table_add_pool(D.table, cfg->subnets[i].pools[p].start, cfg->subnets[i].pools[p].end,
					      NULL) != 0)
				bail_out("pool");
	rd_store_opts_t so = { .log = store_log };
	if (rd_store_open(db_path, RD_STORE_SYNC, &so, &D.store, err, sizeof(err)) != 0)
		bail_out("store: %s", err);
	D.n_workers = 1;
	D.counters = aligned_alloc(64, 2 * sizeof(rd_counters_t));
	if (!D.counters)
		bail_out("counters");
	memset(D.counters, 0, 2 * sizeof(rd_counters_t));
	D.counters[0].rx[1] = 5;
	D.counters[1].rx[1] = 2;
	D.counters[0].tx[2] = 4;
	D.counters[0].rx[3] = 3;
	D.counters[0].drop[RD_DROP_RATE_CLIENT] = 3;
	D.counters[0].acks_waited = 2;
	D.counters[0].ack_wait_us = 1500;
	pthread_mutex_init(&D.reload_lock, NULL);
	pthread_mutex_init(&D.ifaces_lock, NULL);
	D.ifaces = calloc(1, sizeof(*D.ifaces));
	snprintf(D.ifaces[0].name, sizeof(D.ifaces[0].name), "eth-test");
	D.ifaces[0].ifindex = 7;
	D.ifaces[0].up = true;
	D.ifaces[0].served = true;
	D.ifaces[0].addrs[0] = IP(10, 0, 0, 2);
	D.ifaces[0].prefix[0] = 24;
	D.ifaces[0].n_addrs = 1;
	D.n_ifaces = 1;

	static const uint8_t cid[] = { 1, 0x52, 0x54, 0, 0, 0, 2 };
	add_lease(IP(10, 0, 0, 100), RD_LEASE_ACTIVE, 1, "node1", 5, NULL, 0, RD_LEASE_F_PXE);
	add_lease(IP(10, 0, 0, 101), RD_LEASE_ACTIVE, 2, "bad\001name\377", 9, cid, sizeof(cid), RD_LEASE_F_KEY_CID);
	add_lease(IP(10, 0, 0, 102), RD_LEASE_EXPIRED, 3, NULL, 0, NULL, 0, 0);
	add_lease(IP(10, 0, 0, 103), RD_LEASE_BACKUP, -1, NULL, 0, NULL, 0, 0);
	add_lease(IP(10, 0, 1, 10), RD_LEASE_ACTIVE, 1, "node1", 5, NULL, 0, 0);
	add_lease(IP(10, 0, 1, 11), RD_LEASE_FREE, -1, NULL, 0, NULL, 0, 0);
	add_lease(IP(10, 0, 1, 12), RD_LEASE_ABANDONED, -1, NULL, 0, NULL, 0, 0);

	/* Started before the publish: cfg is only read during the call. */
	if (rd_control_start(&D, cfg, &ctl, err, sizeof(err)) != 0)
		bail_out("rd_control_start: %s", err);
	rd_config_publish(cfg);
}

static void stop_control(void)
{
	rd_control_stop(ctl);
	ctl = NULL;
	struct stat st;
	ok(lstat(sock_path, &st) < 0 && errno == ENOENT, "stop removes the socket file");
}

static void teardown(void)
{
	rd_store_close(D.store);
	rd_table_free(D.table);
	rd_config_publish(NULL);
	free(D.counters);
	free(D.ifaces);
	free(yaml);
}

/* ------------------------------------------------------------ client */

struct conn {
	int fd;
	char buf[1 << 16];
	size_t len;
};

static bool conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	c->len = 0;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return false;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(c->fd);
		c->fd = -1;
		return false;
	}
	return true;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static bool conn_send(struct conn *c, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return false;
		s += w;
		n -= (size_t)w;
	}
	return true;
}

/* One reply line (malloc'd, no newline), NULL on EOF/timeout. */
static char *conn_line(struct conn *c)
{
	char *out = NULL;
	size_t have = 0;
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		size_t take = nl ? (size_t)(nl - c->buf) : c->len;
		char *p = realloc(out, have + take + 1);
		if (!p)
			bail_out("oom");
		out = p;
		memcpy(out + have, c->buf, take);
		have += take;
		out[have] = '\0';
		size_t used = nl ? take + 1 : take;
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
		if (nl)
			return out;
		ssize_t n = recv(c->fd, c->buf, sizeof(c->buf), 0);
		if (n <= 0) {
			free(out);
			return NULL;
		}
		c->len = (size_t)n;
	}
}

static json_t *conn_ask(struct conn *c, const char *req)
{
	char *line;
	if (!conn_send(c, req, strlen(req)) || !conn_send(c, "\n", 1) || !(line = conn_line(c)))
		return NULL;
	json_error_t je;
	json_t *j = json_loads(line, 0, &je);
	if (!j)
		diag("reply is not JSON (%s): %.200s", je.text, line);
	free(line);
	return j;
}

static json_t *ask(const char *req)
{
	struct conn c;
	if (!conn_open(&c, sock_path))
		return NULL;
	json_t *j = conn_ask(&c, req);
	conn_close(&c);
	return j;
}

/* o at a dotted path ("result.pools.0.size"); numbers index arrays. */
static json_t *jp(json_t *o, const char *path)
{
	char key[64];
	while (o && *path) {
		size_t n = strcspn(path, ".");
		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		path += n + (path[n] == '.');
		if (json_is_array(o))
			o = json_array_get(o, strtoul(key, NULL, 10));
		else
			o = json_object_get(o, key);
	}
	return o;
}

static long long jint(json_t *o, const char *path)
{
	json_t *v = jp(o, path);
	return json_is_integer(v) ? json_integer_value(v) : -999999;
}

static const char *jstr(json_t *o, const char *path)
{
	return json_string_value(jp(o, path));
}

static bool is_ok(json_t *r)
{
	if (json_is_true(jp(r, "ok")))
		return true;
	diag("reply: %s", r ? jstr(r, "error") : "(none)");
	return false;
}

/* The request failed with an error containing `want`. */
static bool refused(json_t *r, const char *want, const char *what)
{
	const char *e = jstr(r, "error");
	bool good = r && json_is_false(jp(r, "ok")) && e && strstr(e, want);
	ok(good, "%s: refused (%s)", what, want);
	if (!good)
		diag("    error: %s", e ? e : "(none)");
	json_decref(r);
	return good;
}

/* ------------------------------------------------------------ tests */

static void test_socket_files(void)
{
	struct stat st;
	char err[512] = "";
	char run[220];
	rd_control_t *other = NULL;
	rd_config_t *cfg = NULL;

	snprintf(run, sizeof(run), "%s/run", dir);
	ok(stat(run, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == (0750 & ~(mode_t)022 & 0777),
	   "socket directory created 0750");
	ok(lstat(sock_path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0660, "socket is 0660");

	if (rd_config_parse(yaml, strlen(yaml), cfg_path, &cfg, err, sizeof(err)) != 0)
		bail_out("config: %s", err);
	int rc = rd_control_start(&D, cfg, &other, err, sizeof(err));
	ok(rc < 0 && strstr(err, "another rackdhcpd"), "a live socket is refused");
	diag("    %s", err);
	json_t *r = ask("{\"command\":\"status\"}");
	ok(is_ok(r), "the live daemon still answers after the refused start");
	json_decref(r);
	rd_config_free(cfg);
}

static void test_status(void)
{
	json_t *r = ask("{\"command\":\"status\"}");
	if (!ok(is_ok(r), "status"))
		return;
	is_str(jstr(r, "result.version"), PACKAGE_VERSION, "status: version");
	is_int(jint(r, "result.pid"), getpid(), "status: pid");
	long long up = jint(r, "result.uptime_s");
	ok(up >= 100 && up < 200, "status: uptime %lld", up);
	is_str(jstr(r, "result.config.file"), cfg_path, "status: config file");
	is_int(jint(r, "result.config.generation"), 1, "status: generation");
	is_str(jstr(r, "result.durability"), "sync", "status: durability");
	is_str(jstr(r, "result.interfaces.0.name"), "eth-test", "status: interface name");
	is_int(jint(r, "result.interfaces.0.ifindex"), 7, "status: ifindex");
	is_str(jstr(r, "result.interfaces.0.addresses.0"), "10.0.0.2/24", "status: interface address");
	ok(json_is_array(jp(r, "result.failover")) && json_array_size(jp(r, "result.failover")) == 0,
	   "status: failover is an empty list without running peers");
	json_t *fs = ask("{\"command\":\"failover-status\"}");
	ok(is_ok(fs) && json_is_array(jp(fs, "result.relationships")) &&
	   json_array_size(jp(fs, "result.relationships")) == 0, "failover-status: no relationships");
	json_decref(fs);
	fs = ask("{\"command\":\"failover-status\",\"name\":\"x\"}");
	ok(fs && !is_ok(fs), "failover-status refuses unknown arguments");
	json_decref(fs);
	ok(json_is_true(jp(r, "result.interfaces.0.served")), "status: served");
	is_str(jstr(r, "result.pools.0.subnet"), "10.0.0.0/24", "status: pool subnet");
	is_str(jstr(r, "result.pools.0.range"), "10.0.0.100-10.0.0.109", "status: pool range");
	is_str(jstr(r, "result.pools.0.failover_peer"), "peer-a", "status: failover peer");
	ok(json_is_null(jp(r, "result.pools.1.failover_peer")), "status: no failover peer is null");
	is_int(jint(r, "result.pools.0.size"), 10, "status: pool size");
	is_int(jint(r, "result.pools.0.used"), 2, "status: pool used (active)");
	is_int(jint(r, "result.pools.0.backup"), 1, "status: pool backup");
	is_int(jint(r, "result.pools.0.expired"), 1, "status: pool expired");
	is_int(jint(r, "result.pools.0.free"), 7, "status: pool free (not active, backup)");
	is_int(jint(r, "result.pools.1.size"), 20, "status: second pool size");
	is_int(jint(r, "result.pools.1.abandoned"), 1, "status: second pool abandoned");
	is_int(jint(r, "result.pools.1.free"), 18, "status: second pool free");
	is_int(jint(r, "result.leases"), 7, "status: leases in the table");
	is_int(jint(r, "result.counters.rx.discover"), 7, "status: rx discover summed over workers");
	is_int(jint(r, "result.counters.rx.request"), 3, "status: rx request");
	is_int(jint(r, "result.counters.tx.offer"), 4, "status: tx offer");
	is_int(jint(r, "result.counters.tx.ack"), 0, "status: tx ack present at 0");
	is_int(jint(r, "result.counters.drops.rate_client"), 3, "status: drops rate_client");
	is_int(jint(r, "result.counters.drops.rate_global"), 0, "status: drops rate_global present");
	ok(jint(r, "result.store.commits") >= 1, "status: store commits");
	is_int(jint(r, "result.store.queue_depth"), 0, "status: store queue depth");
	json_decref(r);
}

static void test_leases(void)
{
	json_t *r = ask("{\"command\":\"leases\"}");
	if (ok(is_ok(r), "leases")) {
		is_int(jint(r, "result.count"), 7, "leases: all 7");
		is_str(jstr(r, "result.leases.0.address"), "10.0.0.100", "leases: sorted, first");
		is_str(jstr(r, "result.leases.6.address"), "10.0.1.12", "leases: sorted, last");
		ok(json_is_false(jp(r, "result.truncated")), "leases: not truncated");
	}
	json_decref(r);

	r = ask("{\"command\":\"leases\",\"state\":\"active\"}");
	is_int(jint(r, "result.count"), 3, "leases: state active");
	json_decref(r);
	r = ask("{\"command\":\"leases\",\"subnet\":\"10.0.1.0/24\"}");
	is_int(jint(r, "result.count"), 3, "leases: subnet");
	is_str(jstr(r, "result.leases.0.address"), "10.0.1.10", "leases: subnet, first");
	json_decref(r);
	r = ask("{\"command\":\"leases\",\"mac\":\"52:54:00:00:00:01\"}");
	is_int(jint(r, "result.count"), 2, "leases: mac");
	json_decref(r);
	r = ask("{\"command\":\"leases\",\"mac\":\"52-54-00-00-00-01\",\"state\":\"active\",\"subnet\":\"10.0.1.0/24\"}");
	is_int(jint(r, "result.count"), 1, "leases: filters combine");
	json_decref(r);
	r = ask("{\"command\":\"leases\",\"limit\":2}");
	is_int(jint(r, "result.count"), 2, "leases: limit");
	is_int(jint(r, "result.total"), 7, "leases: total beyond the limit");
	ok(json_is_true(jp(r, "result.truncated")), "leases: truncated");
	json_decref(r);

	r = ask("{\"command\":\"leases\",\"address\":\"10.0.0.101\"}");
	is_int(jint(r, "result.count"), 1, "leases: address");
	is_str(jstr(r, "result.leases.0.state"), "active", "lease: state");
	is_str(jstr(r, "result.leases.0.mac"), "52:54:00:00:00:02", "lease: mac");
	is_str(jstr(r, "result.leases.0.client_id"), "01:52:54:00:00:00:02", "lease: client id in hex");
	is_str(jstr(r, "result.leases.0.hostname"), "bad\\x01name\\xff", "lease: hostname bytes escaped");
	is_str(jstr(r, "result.leases.0.flags.0"), "client-id-key", "lease: flags named");
	long long ends = jint(r, "result.leases.0.ends");
	const char *iso = jstr(r, "result.leases.0.ends_iso");
	char want[32];
	time_t te = (time_t)ends;
	struct tm tm;
	gmtime_r(&te, &tm);
	strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm);
	is_str(iso, want, "lease: ends in ISO 8601 matches the epoch value");
	json_decref(r);

	refused(ask("{\"command\":\"leases\",\"state\":\"bogus\"}"), "unknown state", "leases bad state");
	refused(ask("{\"command\":\"leases\",\"subnet\":\"10.0.0.1/24\"}"), "not a subnet", "leases host bits");
	refused(ask("{\"command\":\"leases\",\"subnet\":\"10.0.0.0/ 8\"}"), "not a subnet", "leases bad prefix");
	refused(ask("{\"command\":\"leases\",\"mac\":\"zz\"}"), "not a hardware address", "leases bad mac");
	refused(ask("{\"command\":\"leases\",\"limit\":0}"), "limit must be", "leases limit 0");
	refused(ask("{\"command\":\"leases\",\"limit\":\"5\"}"), "must be an integer", "leases limit string");
	refused(ask("{\"command\":\"leases\",\"address\":\"300.1.1.1\"}"), "not an IPv4", "leases bad address");
	refused(ask("{\"command\":\"leases\",\"state\":5}"), "must be a string", "leases state type");
}

static void test_lease_show(void)
{
	json_t *r = ask("{\"command\":\"lease-show\",\"address\":\"10.0.0.100\"}");
	ok(is_ok(r), "lease-show address");
	is_int(jint(r, "result.count"), 1, "lease-show address: one lease");
	is_str(jstr(r, "result.leases.0.hostname"), "node1", "lease-show address: hostname");
	is_str(jstr(r, "result.leases.0.flags.0"), "pxe", "lease-show address: flags");
	json_decref(r);
	r = ask("{\"command\":\"lease-show\",\"mac\":\"52:54:00:00:00:01\"}");
	is_int(jint(r, "result.count"), 2, "lease-show mac: every lease of the client");
	is_str(jstr(r, "result.leases.1.address"), "10.0.1.10", "lease-show mac: both subnets");
	json_decref(r);
	refused(ask("{\"command\":\"lease-show\",\"address\":\"10.0.0.200\"}"), "no lease for 10.0.0.200",
		"lease-show unknown address");
	refused(ask("{\"command\":\"lease-show\",\"mac\":\"52:54:00:00:00:99\"}"), "no lease for",
		"lease-show unknown mac");
	refused(ask("{\"command\":\"lease-show\",\"mac\":\"52:54:00:00:00:01\",\"address\":\"10.0.0.100\"}"),
		"exactly one", "lease-show both");
	refused(ask("{\"command\":\"lease-show\"}"), "exactly one", "lease-show neither");
}

/* The store's row and newest history event for an address. */
static bool db_row(uint32_t addr, int64_t *state, bool *has_chaddr, char *event, size_t evlen)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	bool found = false;
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return false;
	if (sqlite3_prepare_v2(db, "SELECT state, chaddr IS NOT NULL FROM leases WHERE addr = ?", -1, &s, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_int64(s, 1, addr);
		if (sqlite3_step(s) == SQLITE_ROW) {
			*state = sqlite3_column_int64(s, 0);
			*has_chaddr = sqlite3_column_int(s, 1);
			found = true;
		}
		sqlite3_finalize(s);
	}
	event[0] = '\0';
	if (sqlite3_prepare_v2(db, "SELECT event FROM lease_history WHERE addr = ? ORDER BY id DESC LIMIT 1", -1,
			       &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, addr);
		if (sqlite3_step(s) == SQLITE_ROW)
			snprintf(event, evlen, "%s", (const char *)sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return found;
}

static void test_release_delete(void)
{
	int64_t state = 0;
	bool has_mac = false;
	char event[64];

	json_t *r = ask("{\"command\":\"lease-release\",\"address\":\"10.0.0.100\"}");
	ok(is_ok(r), "lease-release");
	is_str(jstr(r, "result.state"), "released", "lease-release: result is the released lease");
	is_str(jstr(r, "result.mac"), "52:54:00:00:00:01", "lease-release: the client is kept");
	json_decref(r);
	rcu_read_lock();
	const rd_lease_t *l = rd_table_by_addr(D.table, IP(10, 0, 0, 100));
	ok(l && l->state == RD_LEASE_RELEASED && l->hlen == 6 && l->host_len == 5,
	   "lease-release: table holds a RELEASED version with its client");
	ok(l && l->ends <= (uint32_t)time(NULL), "lease-release: ends now");
	rcu_read_unlock();
	ok(db_row(IP(10, 0, 0, 100), &state, &has_mac, event, sizeof(event)) && state == RD_LEASE_RELEASED && has_mac,
	   "lease-release: the store row is RELEASED");
	is_str(event, "operator release", "lease-release: history event");

	refused(ask("{\"command\":\"lease-release\",\"address\":\"10.0.0.100\"}"), "already released",
		"release twice");
	refused(ask("{\"command\":\"lease-release\",\"address\":\"10.0.0.200\"}"), "no lease", "release unknown");
	refused(ask("{\"command\":\"lease-release\",\"address\":\"10.0.0.103\"}"), "failover secondary",
		"release backup");
	refused(ask("{\"command\":\"lease-release\",\"address\":\"10.0.1.11\"}"), "already free", "release free");
	refused(ask("{\"command\":\"lease-release\"}"), "missing argument 'address'", "release without address");
	refused(ask("{\"command\":\"lease-release\",\"address\":167772260}"), "must be a string",
		"release numeric address");

	r = ask("{\"command\":\"lease-delete\",\"address\":\"10.0.0.101\"}");
	ok(is_ok(r), "lease-delete");
	is_str(jstr(r, "result.state"), "free", "lease-delete: result is free");
	ok(json_is_null(jp(r, "result.mac")) && json_is_null(jp(r, "result.client_id")) &&
	   json_is_null(jp(r, "result.hostname")), "lease-delete: no client in the result");
	json_decref(r);
	rcu_read_lock();
	l = rd_table_by_addr(D.table, IP(10, 0, 0, 101));
	ok(l && l->state == RD_LEASE_FREE && !l->hlen && !l->cid_len && !l->host_len && !l->flags,
	   "lease-delete: table holds a FREE version without client");
	uint8_t key[RD_LEASE_KEY_MAX] = { 1, 0x52, 0x54, 0, 0, 0, 2 };
	ok(!rd_table_by_client(D.table, key, 7, 0, 0), "lease-delete: the client index forgot the client");
	rcu_read_unlock();
	ok(db_row(IP(10, 0, 0, 101), &state, &has_mac, event, sizeof(event)) && state == RD_LEASE_FREE && !has_mac,
	   "lease-delete: the store row is FREE without chaddr");
	is_str(event, "operator delete", "lease-delete: history event");
	refused(ask("{\"command\":\"lease-delete\",\"address\":\"10.0.0.101\"}"), "already free", "delete twice");

	/* A released lease may still be deleted (forgetting its client). */
	r = ask("{\"command\":\"lease-delete\",\"address\":\"10.0.0.100\"}");
	ok(is_ok(r), "lease-delete of a released lease");
	json_decref(r);

	r = ask("{\"command\":\"status\"}");
	is_int(jint(r, "result.pools.0.used"), 0, "after the changes: no active lease in the first pool");
	is_int(jint(r, "result.pools.0.free"), 9, "after the changes: only the backup address is unavailable");
	json_decref(r);
}

static void test_bad_requests(void)
{
	struct conn c;
	json_t *r;
	static const struct {
		const char *req, *want;
	} bad[] = {
		{ "hello", "not JSON" },
		{ "{\"command\":\"status\"", "not JSON" },
		{ "[1,2]", "must be a JSON object" },
		{ "\"status\"", "must be a JSON object" },
		{ "{}", "missing \"command\"" },
		{ "{\"command\":1}", "must be a string" },
		{ "{\"command\":null}", "must be a string" },
		{ "{\"command\":\"nope\"}", "unknown command 'nope'" },
		{ "{\"command\":\"status\",\"x\":1}", "unknown argument 'x'" },
		{ "{\"command\":\"status\",\"command\":\"status\"}", "not JSON" },
		{ "{\"command\":\"\xff\xfe\"}", "not JSON" },
		{ "{\"command\":\"st\\u0000atus\"}", "not JSON" },
		{ "{\"command\":\"backup\"}", "missing argument 'path'" },
		{ "{\"command\":\"backup\",\"path\":[]}", "must be a string" },
	};

	if (!ok(conn_open(&c, sock_path), "connect for bad requests"))
		return;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char what[96];
		snprintf(what, sizeof(what), "bad request %zu", i);
		refused(conn_ask(&c, bad[i].req), bad[i].want, what);
	}
	/* A NUL byte inside the line. */
	static const char nul[] = "{\"command\":\"st\0atus\"}\n";
	ok(conn_send(&c, nul, sizeof(nul) - 1), "send a line with a NUL byte");
	char *line = conn_line(&c);
	json_t *j = line ? json_loads(line, 0, NULL) : NULL;
	ok(j && json_is_false(jp(j, "ok")), "a NUL byte is refused");
	json_decref(j);
	free(line);

	/* Too long: one error, then the connection goes on. */
	size_t big = RD_CONTROL_MAX_LINE + 5000;
	char *huge = malloc(big + 1);
	memset(huge, 'x', big);
	huge[big] = '\n';
	ok(conn_send(&c, huge, big + 1), "send an over-long line");
	free(huge);
	line = conn_line(&c);
	refused(line ? json_loads(line, 0, NULL) : NULL, "longer than", "over-long line");
	free(line);
	r = conn_ask(&c, "{\"command\":\"status\"}");
	ok(is_ok(r), "the connection is still usable after the over-long line");
	json_decref(r);

	/* A line of exactly the limit is a request like any other. */
	char *exact = malloc(RD_CONTROL_MAX_LINE + 1);
	static const char head[] = "{\"command\":\"status\"}";
	memset(exact, ' ', RD_CONTROL_MAX_LINE);
	memcpy(exact, head, sizeof(head) - 1);
	exact[RD_CONTROL_MAX_LINE] = '\0';
	r = conn_ask(&c, exact);
	ok(is_ok(r), "a request of exactly %u bytes is accepted", RD_CONTROL_MAX_LINE);
	json_decref(r);
	free(exact);

	/* Blank lines are skipped; CRLF works; pipelined requests answer in order. */
	static const char piped[] = "\n  \n{\"command\":\"status\"}\r\n{\"command\":\"leases\",\"limit\":1}\n";
	ok(conn_send(&c, piped, sizeof(piped) - 1),
	   "send blank lines and two pipelined requests");
	line = conn_line(&c);
	j = line ? json_loads(line, 0, NULL) : NULL;
	ok(j && jstr(j, "result.version"), "pipelined: first reply is status");
	json_decref(j);
	free(line);
	line = conn_line(&c);
	j = line ? json_loads(line, 0, NULL) : NULL;
	if (!is_int(jint(j, "result.count"), 1, "pipelined: second reply is leases"))
		diag("    reply: %s", line ? line : "(none)");
	json_decref(j);
	free(line);
	conn_close(&c);

	/* The handler on its own, as the fuzz target calls it. */
	static const char bk[] = "{\"command\":\"backup\",\"path\":\"/tmp/x\"}";
	char *rep = rd_control_handle(&D, bk, sizeof(bk) - 1, &(rd_control_caller_t){ .sandbox = true });
	ok(rep && strstr(rep, "not allowed"), "sandbox refuses backup");
	free(rep);

	/* A request without newline, then EOF: still answered. */
	if (conn_open(&c, sock_path)) {
		conn_send(&c, "{\"command\":\"status\"}", 20);
		shutdown(c.fd, SHUT_WR);
		line = conn_line(&c);
		ok(line && strstr(line, "\"ok\":true"), "last request without newline is answered at EOF");
		free(line);
		conn_close(&c);
	}
}

static void test_two_clients(void)
{
	struct conn a, b;
	if (!ok(conn_open(&a, sock_path) && conn_open(&b, sock_path), "two clients connect"))
		return;
	ok(conn_send(&a, "{\"command\":", 11), "client A sends half a request");
	usleep(50000);
	json_t *r = conn_ask(&b, "{\"command\":\"status\"}");
	ok(is_ok(r), "client B is answered while A is mid-line");
	json_decref(r);
	r = conn_ask(&a, "\"status\"}");
	ok(is_ok(r), "client A is answered once its line is complete");
	json_decref(r);
	conn_close(&a);
	conn_close(&b);
}

static void test_limits(void)
{
	struct conn a, b, c;
	json_t *r;

	rd_control_set_limits(ctl, 2, 0);
	usleep(20000);
	ok(conn_open(&a, sock_path) && conn_open(&b, sock_path), "two clients under a limit of two");
	r = conn_ask(&a, "{\"command\":\"status\"}");
	json_decref(r);
	r = conn_ask(&b, "{\"command\":\"status\"}");
	json_decref(r);
	if (conn_open(&c, sock_path)) {
		char *line = conn_line(&c);
		ok(line && strstr(line, "too many control clients"), "a third client is told so");
		free(line);
		ok(!conn_line(&c), "and disconnected");
		conn_close(&c);
	} else {
		ok(0, "third client connects");
		ok(0, "and is disconnected");
	}
	conn_close(&a);
	conn_close(&b);
	rd_control_set_limits(ctl, RD_CONTROL_MAX_CLIENTS, 300);
	usleep(20000);
	if (conn_open(&c, sock_path)) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		char *line = conn_line(&c);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		ok(!line && s >= 0.2 && s < 5, "an idle client is disconnected after the idle time (%.2f s)", s);
		free(line);
		conn_close(&c);
	}
	rd_control_set_limits(ctl, 0, RD_CONTROL_IDLE_MS);
}

static void test_reload(void)
{
	long long gen;
	json_t *r = ask("{\"command\":\"reload\"}");
	ok(is_ok(r), "reload");
	is_int(jint(r, "result.generation"), 2, "reload: generation 2");
	json_decref(r);
	r = ask("{\"command\":\"status\"}");
	gen = jint(r, "result.config.generation");
	json_decref(r);
	write_file(cfg_path, "subnets:\n  - cidr: 10.0.0.1/24\n");
	r = ask("{\"command\":\"reload\"}");
	const char *e = jstr(r, "error");
	ok(r && json_is_false(jp(r, "ok")) && e && strstr(e, "reload refused") && strstr(e, "rackdhcpd.yaml:2"),
	   "reload of a broken file is refused with the file's message");
	diag("    %s", e ? e : "(none)");
	json_decref(r);
	r = ask("{\"command\":\"status\"}");
	is_int(jint(r, "result.config.generation"), gen, "the refused reload changed nothing");
	json_decref(r);
	write_file(cfg_path, yaml);
}

static void test_backup(void)
{
	char path[256];
	snprintf(path, sizeof(path), "{\"command\":\"backup\",\"path\":\"%s/copy.db\"}", dir);
	json_t *r = ask(path);
	ok(is_ok(r), "backup");
	json_decref(r);
	snprintf(path, sizeof(path), "%s/copy.db", dir);
	sqlite3 *db;
	sqlite3_stmt *s;
	long long n = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM leases", -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			n = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	is_int(n, 7, "backup: the copy holds every lease");
	refused(ask("{\"command\":\"backup\",\"path\":\"relative.db\"}"), "must be absolute", "backup relative");
	refused(ask("{\"command\":\"backup\",\"path\":\"/nonexistent-dir/x.db\"}"), "backup:", "backup unwritable");
}

/* METHOD url over 127.0.0.1; the whole response (malloc'd). */
static char *http(const char *method, const char *url)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)metrics_port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 10 };
	char req[256];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return NULL;
	}
	int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
			 method, url);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		close(fd);
		return NULL;
	}
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len + 1 == cap)
			buf = realloc(buf, cap *= 2);
		ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	close(fd);
	return buf;
}

static void test_metrics(void)
{
	is_int(rd_control_metrics_port(ctl), metrics_port, "metrics port as configured");
	char *resp = http("GET", "/metrics");
	if (!ok(resp && !strncmp(resp, "HTTP/1.1 200", 12), "GET /metrics: 200")) {
		free(resp);
		return;
	}
	ok(strstr(resp, "text/plain; version=0.0.4") != NULL, "metrics: content type 0.0.4");
	const char *body = strstr(resp, "\r\n\r\n");
	body = body ? body + 4 : "";
	static const char *const want[] = {
		"# HELP rackdhcpd_received_total ",
		"# TYPE rackdhcpd_received_total counter\n",
		"\nrackdhcpd_info{version=\"" PACKAGE_VERSION "\"} 1\n",
		"\nrackdhcpd_received_total{type=\"discover\"} 7\n",
		"\nrackdhcpd_received_total{type=\"request\"} 3\n",
		"\nrackdhcpd_sent_total{type=\"offer\"} 4\n",
		"\nrackdhcpd_dropped_total{reason=\"rate_client\"} 3\n",
		"\nrackdhcpd_dropped_total{reason=\"rate_global\"} 0\n",
		"\nrackdhcpd_pool_size{subnet=\"10.0.0.0/24\",range=\"10.0.0.100-10.0.0.109\"} 10\n",
		"\nrackdhcpd_pool_free{subnet=\"10.0.1.0/24\",range=\"10.0.1.10-10.0.1.29\"} 18\n",
		"\nrackdhcpd_pool_used{subnet=\"10.0.0.0/24\",range=\"10.0.0.100-10.0.0.109\"} 2\n",
		"\nrackdhcpd_pool_backup{subnet=\"10.0.0.0/24\",range=\"10.0.0.100-10.0.0.109\"} 1\n",
		"\nrackdhcpd_leases{state=\"active\"} 3\n",
		"\nrackdhcpd_leases{state=\"abandoned\"} 1\n",
		"\nrackdhcpd_config_generation 1\n",
		"\nrackdhcpd_acks_waited_total 2\n",
		"\nrackdhcpd_ack_wait_seconds_total 0.001500\n",
		"\nrackdhcpd_store_queue_depth 0\n",
		"# TYPE rackdhcpd_store_commits_total counter\n",
		"# TYPE rackdhcpd_store_commit_errors_total counter\n",
		"\nrackdhcpd_uptime_seconds 1",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!ok(strstr(body, want[i]) != NULL, "metrics: has %.*s",
			(int)strcspn(want[i] + (want[i][0] == '\n'), "\n"), want[i] + (want[i][0] == '\n')))
			diag("%s", body);

	/* Every line is a comment or `name{labels} value`, and ends with \n. */
	regex_t re;
	regcomp(&re, "^[a-z_]+(\\{([a-z_]+=\"[^\"]*\",?)*\\})? [0-9]+(\\.[0-9]+)?$", REG_EXTENDED | REG_NOSUB);
	bool all = body[0] && body[strlen(body) - 1] == '\n';
	char *copy = strdup(body), *save = NULL;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(l, "# HELP ", 7) || !strncmp(l, "# TYPE ", 7))
			continue;
		if (regexec(&re, l, 0, NULL, 0)) {
			diag("bad line: %s", l);
			all = false;
		}
	}
	ok(all, "metrics: every line is well-formed");
	regfree(&re);
	free(copy);
	free(resp);

	resp = http("GET", "/other");
	ok(resp && !strncmp(resp, "HTTP/1.1 404", 12), "GET /other: 404");
	free(resp);
	resp = http("DELETE", "/metrics");
	ok(resp && !strncmp(resp, "HTTP/1.1 405", 12) && strstr(resp, "GET, HEAD"), "DELETE /metrics: 405 with Allow");
	free(resp);
	resp = http("HEAD", "/metrics");
	ok(resp && !strncmp(resp, "HTTP/1.1 200", 12) && !strstr(resp, "rackdhcpd_info"), "HEAD /metrics: 200, no body");
	free(resp);
}

/* ------------------------------------------------------------ rackdhcpctl */

static char ctl_bin[512];

/* Run rackdhcpctl; its exit status, stdout and stderr (malloc'd). */
static int run_ctl(char **out, char **err, ...)
{
	const char *argv[16] = { ctl_bin };
	int n = 1, po[2], pe[2];
	va_list ap;
	va_start(ap, err);
	while (n < 15 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	if (pipe(po) || pipe(pe))
		bail_out("pipe");
	pid_t pid = fork();
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		execv(ctl_bin, (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	char *bufs[2] = { NULL, NULL };
	size_t lens[2] = { 0, 0 };
	int fds[2] = { po[0], pe[0] };
	for (int k = 0; k < 2; k++) {
		char tmp[4096];
		ssize_t r;
		bufs[k] = calloc(1, 1);
		while ((r = read(fds[k], tmp, sizeof(tmp))) > 0) {
			bufs[k] = realloc(bufs[k], lens[k] + (size_t)r + 1);
			memcpy(bufs[k] + lens[k], tmp, (size_t)r);
			lens[k] += (size_t)r;
			bufs[k][lens[k]] = '\0';
		}
		close(fds[k]);
	}
	int st;
	waitpid(pid, &st, 0);
	*out = bufs[0];
	*err = bufs[1];
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_ctl_binary(void)
{
	const char *top = getenv("top_builddir");
	char *out, *err, nosock[256];
	int rc;

	snprintf(ctl_bin, sizeof(ctl_bin), "%s/dhcpd/rackdhcpctl", top ? top : ".");
	if (access(ctl_bin, X_OK) != 0) {
		skip("rackdhcpctl not found at %s", ctl_bin);
		return;
	}
	rc = run_ctl(&out, &err, "-s", sock_path, "status", NULL);
	is_int(rc, 0, "rackdhcpctl status: exit 0");
	ok(strstr(out, "rackdhcpd " PACKAGE_VERSION) && strstr(out, "SUBNET") &&
	   strstr(out, "10.0.0.100-10.0.0.109") && strstr(out, "peer-a") && strstr(out, "eth-test") &&
	   strstr(out, "discover 7"), "rackdhcpctl status: header, pools table, counters");
	diag("rackdhcpctl status:\n%s%s", out, err);
	free(out);
	free(err);

	rc = run_ctl(&out, &err, "--json", "-s", sock_path, "status", NULL);
	json_t *j = json_loads(out, 0, NULL);
	ok(rc == 0 && j && !strcmp(jstr(j, "version") ? jstr(j, "version") : "", PACKAGE_VERSION) &&
	   strchr(out, '\n') != strrchr(out, '\n'), "rackdhcpctl --json status: the result, indented");
	json_decref(j);
	free(out);
	free(err);

	rc = run_ctl(&out, &err, "-s", sock_path, "leases", "--state", "active", NULL);
	ok(rc == 0 && strstr(out, "10.0.1.10") && strstr(out, "ADDRESS") && strstr(out, "3 leases\n"),
	   "rackdhcpctl leases --state active");
	diag("rackdhcpctl leases:\n%s%s", out, err);
	free(out);
	free(err);

	rc = run_ctl(&out, &err, "-c", cfg_path, "lease", "show", "52:54:00:00:00:01", NULL);
	ok(rc == 0 && strstr(out, "address    10.0.1.10") && strstr(out, "hostname   node1"),
	   "rackdhcpctl -c CONFIG lease show MAC");
	free(out);
	free(err);

	rc = run_ctl(&out, &err, "-s", sock_path, "lease", "release", "10.9.9.9", NULL);
	ok(rc == 1 && strstr(err, "no lease"), "rackdhcpctl lease release unknown: exit 1 with the reason");
	free(out);
	free(err);

	rc = run_ctl(&out, &err, "-s", sock_path, "bogus", NULL);
	ok(rc == 2 && strstr(err, "unknown command") && strstr(err, "--help"), "rackdhcpctl bogus: usage, exit 2");
	free(out);
	free(err);
	rc = run_ctl(&out, &err, "-s", sock_path, "status", "extra", NULL);
	is_int(rc, 2, "rackdhcpctl status extra: exit 2");
	free(out);
	free(err);
	rc = run_ctl(&out, &err, "-s", sock_path, "status", "--state", "active", NULL);
	is_int(rc, 2, "rackdhcpctl status --state: exit 2");
	free(out);
	free(err);
	rc = run_ctl(&out, &err, "-s", sock_path, "leases", "--limit", "x", NULL);
	is_int(rc, 2, "rackdhcpctl leases --limit x: exit 2");
	free(out);
	free(err);

	snprintf(nosock, sizeof(nosock), "%s/nope.sock", dir);
	rc = run_ctl(&out, &err, "-s", nosock, "status", NULL);
	ok(rc == 3 && strstr(err, nosock) && strstr(err, "running"),
	   "rackdhcpctl on a missing socket: exit 3 naming it");
	diag("%s", err);
	free(out);
	free(err);

	rc = run_ctl(&out, &err, "--help", NULL);
	ok(rc == 0 && strstr(out, "Usage: rackdhcpctl") && strstr(out, "Exit status"), "rackdhcpctl --help");
	free(out);
	free(err);
}

/* After stop: a stale socket file is replaced, a regular file refused. */
static void test_stale(void)
{
	char err[512] = "";
	rd_config_t *cfg = NULL;
	rd_control_t *c = NULL;

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ok(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "leave a stale socket file behind");
	close(fd);

	if (rd_config_parse(yaml, strlen(yaml), cfg_path, &cfg, err, sizeof(err)) != 0)
		bail_out("config: %s", err);
	int rc = rd_control_start(&D, cfg, &c, err, sizeof(err));
	ok(rc == 0, "a stale socket file is replaced");
	if (rc == 0) {
		json_t *r = ask("{\"command\":\"status\"}");
		ok(is_ok(r), "the new socket answers");
		json_decref(r);
		rd_control_stop(c);
	} else {
		diag("    %s", err);
	}

	write_file(sock_path, "not a socket\n");
	rc = rd_control_start(&D, cfg, &c, err, sizeof(err));
	ok(rc < 0 && strstr(err, "not a socket"), "a regular file at the socket path is refused");
	struct stat st;
	ok(stat(sock_path, &st) == 0 && S_ISREG(st.st_mode), "and left alone");
	unlink(sock_path);
	rd_config_free(cfg);
}

int main(void)
{
	plan_lazy();
	signal(SIGPIPE, SIG_IGN);
	umask(022);
	rcu_register_thread();
	setup();

	test_socket_files();
	test_status();
	test_leases();
	test_lease_show();
	test_metrics();
	test_ctl_binary();
	test_bad_requests();
	test_two_clients();
	test_limits();
	test_release_delete();
	test_reload();
	test_backup();

	stop_control();
	test_stale();
	teardown();
	rcu_unregister_thread();
	rm_dir();
	return done_testing();
}
