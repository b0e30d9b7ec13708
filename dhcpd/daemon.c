/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * daemon.c — the running server (see daemon.h): start-up in the order that
 * lets privileges go early, the main thread's loop (signals, netlink,
 * expiry), reload, and a shutdown that loses no lease.
 *
 * Start-up order, and why:
 *   1. configuration (a broken file stops us before anything is touched);
 *   2. pidfile, locked (a second instance on the same pidfile refuses);
 *   3. state and control directories, owned by the service user;
 *   4. netlink monitor, UDP sockets, raw sockets on the served links
 *      (these need root: CAP_NET_RAW, port 67);
 *   5. privileges dropped to server.user, keeping CAP_NET_RAW (raw sockets
 *      for links that appear later) and CAP_NET_BIND_SERVICE;
 *   6. lease store opened and loaded into the table (as the service user,
 *      so every file it creates is the user's); with region sync, the
 *      region view stored there is applied first, and only then are the
 *      raw sockets opened (CAP_NET_RAW is kept for that);
 *   7. workers, control socket, metrics; READY=1 to systemd.
 * Shutdown: STOPPING=1, control stops, workers stop (no new decisions), the
 * store flushes every queued change and closes, sockets close.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "rackdhcp/control.h"
#include "rackdhcp/daemon.h"
#include "rackdhcp/engine.h"
#include "rackdhcp/events.h"
#include "rackdhcp/fo_peer.h"
#include "rackdhcp/frame.h"
#include "rackdhcp/io.h"
#include "rackdhcp/leasedb.h"
#include "rackdhcp/log.h"
#include "rackdhcp/netmon.h"
#include "rackdhcp/privs.h"
#include "rackdhcp/ratelimit.h"
#include "rackdhcp/regionsync.h"
#include "rackdhcp/worker.h"

static const char *const drop_names[RD_DROP__MAX] = {
	[RD_DROP_FRAME] = "bad_frame",
	[RD_DROP_PARSE] = "bad_dhcp",
	[RD_DROP_NOT_REQUEST] = "not_request",
	[RD_DROP_NO_LINK] = "no_subnet",
	[RD_DROP_RATE_CLIENT] = "rate_client",
	[RD_DROP_RATE_GLOBAL] = "rate_global",
	[RD_DROP_RATE_NEW] = "rate_new_clients",
	[RD_DROP_ENGINE] = "engine",
	[RD_DROP_STORE] = "store",
	[RD_DROP_SEND] = "send",
	[RD_DROP_INTERNAL] = "internal",
	[RD_DROP_KERNEL] = "kernel_queue",
};

const char *rd_drop_name(enum rd_drop r)
{
	return (unsigned)r < RD_DROP__MAX ? drop_names[r] : "unknown";
}

void rd_daemon_counters(const rd_daemon_t *d, rd_counters_t *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned w = 0; d->counters && w <= d->n_workers; w++) {
		const rd_counters_t *c = &d->counters[w];
		for (unsigned i = 0; i < RD_CTR_MSGTYPES; i++) {
			out->rx[i] += __atomic_load_n(&c->rx[i], __ATOMIC_RELAXED);
			out->tx[i] += __atomic_load_n(&c->tx[i], __ATOMIC_RELAXED);
		}
		for (unsigned i = 0; i < RD_DROP__MAX; i++)
			out->drop[i] += __atomic_load_n(&c->drop[i], __ATOMIC_RELAXED);
		out->frames += __atomic_load_n(&c->frames, __ATOMIC_RELAXED);
		out->acks_waited += __atomic_load_n(&c->acks_waited, __ATOMIC_RELAXED);
		out->ack_wait_us += __atomic_load_n(&c->ack_wait_us, __ATOMIC_RELAXED);
	}
}

rd_daemon_iface_t *rd_daemon_ifaces(rd_daemon_t *d, size_t *n)
{
	pthread_mutex_lock(&d->ifaces_lock);
	rd_daemon_iface_t *copy = NULL;
	*n = 0;
	if (d->n_ifaces) {
		copy = malloc(d->n_ifaces * sizeof(*copy));
		if (copy) {
			memcpy(copy, d->ifaces, d->n_ifaces * sizeof(*copy));
			*n = d->n_ifaces;
		}
	}
	pthread_mutex_unlock(&d->ifaces_lock);
	return copy;
}

/* ------------------------------------------------------------- private state */

/* The raw sockets of one served link: one per worker, one fanout group. */
struct served {
	int ifindex;
	char name[IFNAMSIZ];
	rd_sock_t *socks;          /* n_workers */
	unsigned n;
};

static struct {
	rd_daemon_t d;
	rd_worker_t **workers;
	int *udp_fds;
	struct served *served;
	size_t n_served;
	int relink_fd;             /* eventfd: re-evaluate the served links (after a reload) */
	int pidfile_fd;
	const char *pidfile;
	uid_t uid;
	gid_t gid;
	bool have_user;
	int ready_fd;              /* write end of the pipe to the parent when daemonized */
	char warned_names[16][IFNAMSIZ];
	unsigned n_warned;
} S = { .relink_fd = -1, .pidfile_fd = -1, .ready_fd = -1 };

static void fmt_ip(uint32_t a, char *buf, size_t cap)
{
	snprintf(buf, cap, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static uint32_t prefix_mask(unsigned p)
{
	return p == 0 ? 0 : p >= 32 ? 0xffffffffu : ~((1u << (32 - p)) - 1);
}

/* ------------------------------------------------------------------ pools */

/* "a-b" of one range. */
static void fmt_range(const rd_table_range_t *r, char *buf, size_t cap)
{
	char a[16], b[16];

	fmt_ip(r->start, a, sizeof(a));
	fmt_ip(r->end, b, sizeof(b));
	snprintf(buf, cap, "%s-%s", a, b);
}

static bool in_ranges(const rd_table_range_t *r, size_t n, uint32_t a)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a < r[mid].start)
			hi = mid;
		else if (a > r[mid].end)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* Leased addresses (a real ACTIVE binding, not an offer) in the old ranges
 * of one change that no new range keeps. */
struct left_ctx {
	const rd_table_range_t *o, *n;
	size_t no, nn;
	uint64_t leased;
};

static bool leased(const rd_lease_t *l)
{
	return l && l->state == RD_LEASE_ACTIVE && !(l->flags & RD_ENGINE_F_OFFERED);
}

static int left_cb(void *ctx, const rd_lease_t *l)
{
	struct left_ctx *c = ctx;

	if (leased(l) && in_ranges(c->o, c->no, l->addr) && !in_ranges(c->n, c->nn, l->addr))
		c->leased++;
	return 0;
}

static uint64_t count_left(rd_table_t *t, struct left_ctx *c)
{
	uint64_t span = 0;

	for (size_t i = 0; i < c->no; i++)
		span += (uint64_t)c->o[i].end - c->o[i].start + 1;
	c->leased = 0;
	if (span > rd_table_count(t)) {
		rd_table_foreach(t, left_cb, c);   /* fewer leases than addresses */
		return c->leased;
	}
	rcu_read_lock();
	for (size_t i = 0; i < c->no; i++)
		for (uint64_t a = c->o[i].start; a <= c->o[i].end; a++)
			if (!in_ranges(c->n, c->nn, (uint32_t)a) && leased(rd_table_by_addr(t, (uint32_t)a)))
				c->leased++;
	rcu_read_unlock();
	return c->leased;
}

static bool overlap(const rd_table_range_t *a, const rd_table_range_t *b)
{
	return !(a->end < b->start || a->start > b->end);
}

/* "r1, r2 and r3" of a list of ranges. */
static void fmt_list(const rd_table_range_t *r, size_t n, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && len < cap; i++) {
		char one[40];
		fmt_range(&r[i], one, sizeof(one));
		len += (size_t)snprintf(buf + len, cap - len, "%s%s", i == 0 ? "" : i + 1 == n ? " and " : ", ", one);
	}
}

/*
 * Log one group of old and new pools that overlap each other (a connected
 * group: one pool grown, several merged, one split...), in operator terms.
 */
static void log_change(rd_table_t *t, const rd_table_range_t *o, size_t no, const rd_table_range_t *n, size_t nn)
{
	char was[512], now[512], tail[160] = "";

	fmt_list(o, no, was, sizeof(was));
	fmt_list(n, nn, now, sizeof(now));
	if (no == 0) {
		rd_log(LOG_INFO, "pool %s added", now);
		return;
	}
	struct left_ctx c = { o, n, no, nn, 0 };
	uint64_t k = count_left(t, &c);
	if (k)
		snprintf(tail, sizeof(tail), "; %llu leased address%s left the pool and stay%s leased until %s",
			 (unsigned long long)k, k == 1 ? "" : "es", k == 1 ? "s" : "", k == 1 ? "it ends" : "they end");
	if (nn == 0)
		rd_log(LOG_INFO, "pool %s removed%s", was, tail);
	else if (no == 1 && nn == 1)
		rd_log(LOG_INFO, "pool %s %s %s%s", was,
		       n->start <= o->start && n->end >= o->end ? "grown to" :
		       n->start >= o->start && n->end <= o->end ? "shrunk to" : "moved to", now, tail);
	else if (no == 1)
		rd_log(LOG_INFO, "pool %s split into %s%s", was, now, tail);
	else if (nn == 1)
		rd_log(LOG_INFO, "pools %s merged into %s%s", was, now, tail);
	else
		rd_log(LOG_INFO, "pools %s replaced by %s%s", was, now, tail);
}

/* One group of overlapping old and new ranges: orr[i0..i1), nr[j0..j1). */
struct pool_group {
	size_t i0, i1, j0, j1;
};

/*
 * Log what changed between the sorted, disjoint lists orr (registered) and
 * nr (configured).  Walking both together, a group ends where no old and
 * new range overlap: checking the last range of the other list suffices,
 * since each list is sorted and disjoint.  A range removed from a subnet
 * while another, not overlapping it, is added to the same subnet is
 * reported as moved.
 */
static void announce_changes(rd_table_t *t, const rd_config_t *cfg, const rd_table_range_t *orr, size_t no,
			     const rd_table_range_t *nr, size_t nn)
{
	struct pool_group *g = calloc(no + nn + 1, sizeof(*g));
	size_t ng = 0, i = 0, j = 0;

	if (!g) {
		rd_log(LOG_INFO, "pools changed (out of memory for the details)");
		return;
	}
	while (i < no || j < nn) {
		size_t i0 = i, j0 = j;
		if (j >= nn || (i < no && orr[i].start <= nr[j].start))
			i++;
		else
			j++;
		for (bool grew = true; grew;) {
			grew = false;
			if (i < no && j > j0 && overlap(&orr[i], &nr[j - 1])) {
				i++;
				grew = true;
			} else if (j < nn && i > i0 && overlap(&nr[j], &orr[i - 1])) {
				j++;
				grew = true;
			}
		}
		if (!(i - i0 == 1 && j - j0 == 1 && orr[i0].start == nr[j0].start && orr[i0].end == nr[j0].end))
			g[ng++] = (struct pool_group){ i0, i, j0, j };
	}
	/* Pair a lone removed range with a lone added one of the same subnet. */
	for (size_t x = 0; x < ng; x++) {
		if (g[x].i1 - g[x].i0 != 1 || g[x].j1 != g[x].j0)
			continue;
		const rd_cfg_subnet_t *sn = rd_config_subnet_for(cfg, orr[g[x].i0].start);
		for (size_t y = 0; sn && y < ng; y++) {
			if (g[y].i1 != g[y].i0 || g[y].j1 - g[y].j0 != 1 ||
			    rd_config_subnet_for(cfg, nr[g[y].j0].start) != sn)
				continue;
			g[x].j0 = g[y].j0;
			g[x].j1 = g[y].j1;
			g[y].j1 = g[y].j0;   /* consumed: an empty group logs nothing */
			break;
		}
	}
	for (size_t x = 0; x < ng; x++)
		if (g[x].i1 > g[x].i0 || g[x].j1 > g[x].j0)
			log_change(t, orr + g[x].i0, g[x].i1 - g[x].i0, nr + g[x].j0, g[x].j1 - g[x].j0);
	free(g);
}

static int range_order(const void *a, const void *b)
{
	const rd_table_range_t *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Make the table's pools those of cfg, live: ranges may grow, shrink,
 * split, merge, move, appear and go while the workers allocate (the table
 * swaps its pool array atomically; see table.h "Pool changes").  Leases are
 * never touched: an address that leaves every pool keeps its lease, is
 * never allocated to anyone else, and its client's renewals are answered
 * until the lease ends but not extended (engine.c).  The table is the
 * record of what is registered.  announce: log each change.
 */
static int sync_pools(rd_table_t *t, const rd_config_t *cfg, bool announce, char *err, size_t errlen)
{
	size_t nn = 0, no = rd_table_pools(t, NULL, 0);
	for (size_t i = 0; i < cfg->n_subnets; i++)
		nn += cfg->subnets[i].n_pools;
	rd_table_range_t *nr = calloc(nn ? nn : 1, sizeof(*nr)), *orr = calloc(no ? no : 1, sizeof(*orr));
	if (!nr || !orr) {
		free(nr);
		free(orr);
		snprintf(err, errlen, "%s: cannot register the pools: %s", cfg->filename, rd_strerror(RD_ENOMEM));
		return RD_ENOMEM;
	}
	nn = 0;
	for (size_t i = 0; i < cfg->n_subnets; i++)
		for (size_t p = 0; p < cfg->subnets[i].n_pools; p++)
			nr[nn++] = (rd_table_range_t){ cfg->subnets[i].pools[p].start, cfg->subnets[i].pools[p].end, NULL };
	qsort(nr, nn, sizeof(*nr), range_order);
	no = rd_table_pools(t, orr, no);   /* only the reload path changes them: stable */

	bool same = no == nn;
	for (size_t i = 0; same && i < nn; i++)
		same = nr[i].start == orr[i].start && nr[i].end == orr[i].end;
	int r = 0;
	if (!same) {
		r = rd_table_set_pools(t, nr, nn);
		if (r < 0)
			snprintf(err, errlen, "%s: cannot change the pools: %s", cfg->filename, rd_strerror(r));
		else if (announce)
			announce_changes(t, cfg, orr, no, nr, nn);   /* leases do not move: counted after */
	}
	free(nr);
	free(orr);
	return r;
}

/* ------------------------------------------------------------------ links */

static bool name_listed(const rd_config_t *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->server.n_interfaces; i++)
		if (strcmp(cfg->server.interfaces[i], name) == 0)
			return true;
	return false;
}

static bool link_in_subnet(const rd_config_t *cfg, const rd_netmon_link_t *l)
{
	for (unsigned i = 0; i < l->n_addrs; i++)
		if (rd_config_subnet_for(cfg, l->addrs[i].addr))
			return true;
	return false;
}

static void warn_once(const char *name, const char *what)
{
	for (unsigned i = 0; i < S.n_warned; i++)
		if (strcmp(S.warned_names[i], name) == 0)
			return;
	if (S.n_warned < 16)
		snprintf(S.warned_names[S.n_warned++], IFNAMSIZ, "%s", name);
	rd_log(LOG_WARNING, "interface %s: %s", name, what);
}

static void close_served(struct served *sv)
{
	for (unsigned w = 0; w < sv->n; w++) {
		if (sv->socks[w].fd >= 0) {
			rd_worker_del_sock(S.workers[w], &sv->socks[w]);
			close(sv->socks[w].fd);
		}
	}
	free(sv->socks);
	sv->socks = NULL;
}

static int open_served(struct served *sv, const rd_netmon_link_t *l)
{
	char err[256];
	int group = -1;
	sv->ifindex = l->ifindex;
	snprintf(sv->name, sizeof(sv->name), "%s", l->name);
	sv->n = S.d.n_workers;
	sv->socks = calloc(sv->n, sizeof(*sv->socks));
	if (!sv->socks)
		return RD_ENOMEM;
	for (unsigned w = 0; w < sv->n; w++)
		sv->socks[w].fd = -1;
	for (unsigned w = 0; w < sv->n; w++) {
		int fd = rd_io_raw_open(l->ifindex, l->name, S.d.n_workers > 1 ? &group : NULL, err, sizeof(err));
		if (fd < 0) {
			rd_log(LOG_ERR, "cannot serve %s: %s", l->name, err);
			close_served(sv);
			return fd;
		}
		sv->socks[w] = (rd_sock_t){ .fd = fd, .raw = true, .ifindex = l->ifindex };
		snprintf(sv->socks[w].ifname, sizeof(sv->socks[w].ifname), "%s", l->name);
		int r = rd_worker_add_sock(S.workers[w], &sv->socks[w]);
		if (r < 0) {
			rd_log(LOG_ERR, "cannot serve %s: epoll: %s", l->name, strerror(-r));
			close_served(sv);
			return r;
		}
	}
	return 0;
}

/*
 * Decide which links to serve from what netlink says now and the
 * configuration in force; open and close raw sockets to match; publish the
 * links for the workers and the interface list for `status`.
 */
static void relink(rd_netmon_t *nm)
{
	rd_netmon_link_t *links = NULL;
	size_t n = 0;
	if (rd_netmon_snapshot(nm, &links, &n) < 0) {
		rd_log(LOG_ERR, "cannot read the interface list: out of memory");
		return;
	}
	rcu_read_lock();
	const rd_config_t *cfg = rd_config_current();
	bool *want = calloc(n ? n : 1, sizeof(*want));
	for (size_t i = 0; want && i < n; i++) {
		const rd_netmon_link_t *l = &links[i];
		if (l->loopback)
			continue;
		bool named = cfg->server.n_interfaces ? name_listed(cfg, l->name) : true;
		if (!named)
			continue;
		bool in_sub = link_in_subnet(cfg, l);
		if (!in_sub) {
			if (cfg->server.n_interfaces)
				warn_once(l->name, "listed in server.interfaces but has no address in a configured "
					  "subnet: not served until it has one");
			continue;
		}
		if (!l->has_mac) {
			warn_once(l->name, "not an Ethernet interface: not served");
			continue;
		}
		want[i] = l->up;
	}
	rcu_read_unlock();
	if (!want) {
		free(links);
		return;
	}

	/* Close what is no longer wanted. */
	struct served *gone = NULL;
	size_t n_gone = 0;
	for (size_t k = 0; k < S.n_served;) {
		bool keep = false;
		for (size_t i = 0; i < n && !keep; i++)
			keep = want[i] && links[i].ifindex == S.served[k].ifindex;
		if (keep) {
			k++;
			continue;
		}
		struct served *g = realloc(gone, (n_gone + 1) * sizeof(*g));
		if (!g)
			break;
		gone = g;
		gone[n_gone++] = S.served[k];
		S.served[k] = S.served[--S.n_served];
	}
	/* Open what is new. */
	for (size_t i = 0; i < n; i++) {
		if (!want[i])
			continue;
		bool have = false;
		for (size_t k = 0; k < S.n_served && !have; k++)
			have = S.served[k].ifindex == links[i].ifindex;
		if (have)
			continue;
		struct served *ns = realloc(S.served, (S.n_served + 1) * sizeof(*ns));
		if (!ns)
			break;
		S.served = ns;
		if (open_served(&S.served[S.n_served], &links[i]) == 0) {
			S.n_served++;
			rd_log(LOG_INFO, "serving interface %s (ifindex %d)", links[i].name, links[i].ifindex);
		} else {
			want[i] = false;
		}
	}

	/* Publish the links the workers see. */
	rd_links_t *pub = calloc(1, sizeof(*pub) + n * sizeof(rd_link_t));
	rd_daemon_iface_t *ifs = calloc(n ? n : 1, sizeof(*ifs));
	if (pub && ifs) {
		for (size_t i = 0; i < n; i++) {
			const rd_netmon_link_t *l = &links[i];
			rd_link_t *o = &pub->l[i];
			o->ifindex = l->ifindex;
			snprintf(o->name, sizeof(o->name), "%s", l->name);
			memcpy(o->mac, l->mac, 6);
			o->tx_fd = -1;
			for (size_t k = 0; k < S.n_served; k++) {
				if (S.served[k].ifindex == l->ifindex) {
					o->served = true;
					o->tx_fd = S.served[k].socks[0].fd;
				}
			}
			for (unsigned a = 0; a < l->n_addrs && a < RD_LINK_MAX_ADDRS; a++) {
				o->addr[a] = l->addrs[a].addr;
				o->mask[a] = prefix_mask(l->addrs[a].prefix_len);
				o->n_addrs++;
			}
			rd_daemon_iface_t *f = &ifs[i];
			snprintf(f->name, sizeof(f->name), "%s", l->name);
			f->ifindex = l->ifindex;
			f->up = l->up;
			f->served = o->served;
			for (unsigned a = 0; a < l->n_addrs && a < 8; a++) {
				f->addrs[a] = l->addrs[a].addr;
				f->prefix[a] = l->addrs[a].prefix_len;
				f->n_addrs++;
			}
		}
		pub->n = n;
		rd_links_publish(pub);
		pthread_mutex_lock(&S.d.ifaces_lock);
		free(S.d.ifaces);
		S.d.ifaces = ifs;
		S.d.n_ifaces = n;
		pthread_mutex_unlock(&S.d.ifaces_lock);
	} else {
		free(pub);
		free(ifs);
		rd_log(LOG_ERR, "cannot publish the interface list: out of memory");
	}

	/* Sockets of links no longer served close once no worker can be
	 * using them and no reply waiting in the store can name them. */
	if (n_gone) {
		for (size_t g = 0; g < n_gone; g++)
			for (unsigned w = 0; w < gone[g].n; w++)
				rd_worker_del_sock(S.workers[w], &gone[g].socks[w]);
		synchronize_rcu();
		if (S.d.store)
			rd_store_flush(S.d.store);
		rd_fo_peers_drop_held(rcu_dereference(S.d.failover), "an interface went away");
		for (size_t g = 0; g < n_gone; g++) {
			rd_log(LOG_INFO, "no longer serving interface %s", gone[g].name);
			for (unsigned w = 0; w < gone[g].n; w++) {
				close(gone[g].socks[w].fd);
				gone[g].socks[w].fd = -1;
			}
			free(gone[g].socks);
		}
	}
	free(gone);
	free(want);
	free(links);
}

/* ----------------------------------------------------------------- reload */

/*
 * The one path by which a configuration replaces the one in force, whatever
 * it came from (the file on SIGHUP or `rackdhcpctl reload`, or the region
 * sync): pools registered, what cannot change live reported, log level and
 * rate limits set, the snapshot published, the links re-evaluated.  The
 * caller holds d->reload_lock.  cfg is consumed.
 */
int rd_daemon_apply(rd_daemon_t *d, rd_config_t *cfg, const char *origin, char *err, size_t errlen)
{
	int r = d->table ? sync_pools(d->table, cfg, true, err, errlen) : 0;
	if (r < 0) {
		rd_config_free(cfg);
		return r;
	}
	/* What cannot change while running is reported, not applied. */
	bool fo_changed = cfg->n_failovers > 0;
	rcu_read_lock();
	const rd_config_t *old = rd_config_current();
	if (old) {
		const rd_cfg_server_t *a = &old->server, *b = &cfg->server;
		if (a->workers != b->workers)
			rd_log(LOG_WARNING, "reload: server.workers changed: takes effect at the next restart");
		if (strcmp(a->state_dir, b->state_dir) != 0)
			rd_log(LOG_WARNING, "reload: server.state_dir changed: takes effect at the next restart");
		if (strcmp(a->control_socket, b->control_socket) != 0)
			rd_log(LOG_WARNING, "reload: server.control_socket changed: takes effect at the next restart");
		if ((a->user == NULL) != (b->user == NULL) || (a->user && strcmp(a->user, b->user) != 0))
			rd_log(LOG_WARNING, "reload: server.user changed: takes effect at the next restart");
		if ((a->metrics == NULL) != (b->metrics == NULL) || (a->metrics && strcmp(a->metrics, b->metrics) != 0))
			rd_log(LOG_WARNING, "reload: server.metrics changed: takes effect at the next restart");
		if ((a->lease_events_socket == NULL) != (b->lease_events_socket == NULL) ||
		    (a->lease_events_socket && strcmp(a->lease_events_socket, b->lease_events_socket) != 0))
			rd_log(LOG_WARNING, "reload: server.lease_events_socket changed: takes effect at the next restart");
		/* Failover relationships follow the reload (below); pools are
		 * matched to a relationship by name. */
		fo_changed = old->n_failovers != cfg->n_failovers;
		for (size_t i = 0; !fo_changed && i < cfg->n_failovers; i++)
			fo_changed = !rd_config_failover_same(&old->failovers[i], &cfg->failovers[i]);
	}
	rcu_read_unlock();
	/* Outside the read-side section: the failover thread waits for a grace
	 * period.  Added, removed and changed relationships are started and
	 * stopped before the new configuration is published; one that cannot
	 * start (e.g. its listener) refuses the whole reload.  One that could
	 * not listen again after a restart is retried by any reload. */
	if (d->failover && rd_fo_peers_count(d->failover) != cfg->n_failovers)
		fo_changed = true;
	if (fo_changed && d->table) {
		int fr;
		if (d->failover) {
			fr = rd_fo_peers_reconfigure(d->failover, cfg, err, errlen);
		} else {
			rd_fo_peers_t *fo = NULL;
			fr = rd_fo_peers_start_with(cfg, d->table, d->store, &fo, err, errlen);
			if (fr == 0)
				rcu_assign_pointer(d->failover, fo);    /* workers pick it up per packet */
		}
		if (fr < 0) {
			/* the caller says it was refused, and holds the lock */
			rd_config_free(cfg);
			return fr;
		}
	}
	rd_log_set_level(rd_log_prio_of_level(cfg->server.log_level));
	if (d->ratelimit)
	{
		rd_ratelimit_cfg_t rl = cfg->server.rate_limit;
		rd_ratelimit_set(d->ratelimit, &rl);
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s", origin ? origin : cfg->filename ? cfg->filename : d->config_path);
	rd_config_publish(cfg);
	rd_log(LOG_INFO, "configuration %s %s (generation %llu)", path,
	       origin && !strcmp(origin, "region view") ? "applied" : "reloaded",
	       (unsigned long long)rd_config_generation());
	if (S.relink_fd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(S.relink_fd, &one, sizeof(one));
		(void)w;
	}
	return 0;
}

int rd_daemon_reload(rd_daemon_t *d, char *err, size_t errlen)
{
	rd_config_t *cfg = NULL;
	pthread_mutex_lock(&d->reload_lock);
	int r = rd_config_load(d->config_path, &cfg, err, errlen);
	if (r == 0 && !d->region && cfg->region.present) {
		rd_config_free(cfg);
		snprintf(err, errlen, "the region section was added: region sync starts only at the next restart");
		r = RD_EINVAL;
	} else if (r == 0 && d->region) {
		/* the file combined with the region's view in force */
		r = rd_regionsync_file_reloaded(d->region, cfg, err, errlen);
	} else if (r == 0) {
		r = rd_daemon_apply(d, cfg, cfg->filename, err, errlen);
	}
	if (r < 0)
		rd_log(LOG_ERR, "reload refused, the running configuration stays: %s", err);
	pthread_mutex_unlock(&d->reload_lock);
	/* and ask the region for its latest view now rather than at the next poll */
	rd_regionsync_wake(d->region);
	return r;
}

/* --------------------------------------------------------------- pidfile */

static int pidfile_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		rd_log(LOG_ERR, "pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char buf[32] = "";
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		rd_log(LOG_ERR, "pidfile %s is locked: another rackdhcpd runs%s%s%s", path, buf[0] ? " (pid " : "",
		       buf, buf[0] ? ")" : "");
		close(fd);
		return -1;
	}
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)len, 0) != len) {
		rd_log(LOG_ERR, "pidfile %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ------------------------------------------------------------ directories */

/* Only rackdhcpd's own files in it: safe to tighten and hand over. */
static bool dir_is_ours(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;
	bool ours = true;
	if (!dir)
		return false;
	while (ours && (e = readdir(dir))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		ours = strncmp(e->d_name, "leases.db", 9) == 0 || strncmp(e->d_name, "backup", 6) == 0;
	}
	closedir(dir);
	return ours;
}

/*
 * The state directory: created 0700 for the service user when missing.  An
 * existing one with a looser mode or another owner is fixed only when it
 * holds nothing but our files, so a state_dir pointed at a shared directory
 * (/var/lib) is refused rather than chmod'ed.
 */
static int prepare_state_dir(const char *path)
{
	struct stat st;
	if (mkdir(path, 0700) == 0) {
		if (S.have_user && chown(path, S.uid, S.gid) < 0) {
			rd_log(LOG_ERR, "state directory %s: cannot give it to uid %u: %s", path, (unsigned)S.uid,
			       strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno != EEXIST) {
		rd_log(LOG_ERR, "state directory %s: cannot create it: %s", path, strerror(errno));
		return -1;
	}
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		rd_log(LOG_ERR, "state directory %s: not a directory", path);
		return -1;
	}
	bool loose = (st.st_mode & 077) != 0;
	bool foreign = S.have_user && (st.st_uid != S.uid || st.st_gid != S.gid);
	if (!loose && !foreign)
		return 0;
	if (!dir_is_ours(path)) {
		rd_log(LOG_ERR, "state directory %s %s and holds files that are not rackdhcpd's: give rackdhcpd a "
		       "directory of its own (mode 0700%s)", path, loose ? "is readable by others" : "has another owner",
		       S.have_user ? ", owned by the service user" : "");
		return -1;
	}
	if (loose) {
		rd_log(LOG_WARNING, "state directory %s had mode %04o: tightened to 0700", path, st.st_mode & 07777);
		if (chmod(path, 0700) < 0) {
			rd_log(LOG_ERR, "state directory %s: chmod: %s", path, strerror(errno));
			return -1;
		}
	}
	if (foreign && chown(path, S.uid, S.gid) < 0) {
		rd_log(LOG_ERR, "state directory %s: cannot give it to uid %u: %s", path, (unsigned)S.uid, strerror(errno));
		return -1;
	}
	return 0;
}

/* The control socket's directory: created 0750 for the service user when
 * missing; an existing one is used as it is (/run/rackdhcpd from systemd's
 * RuntimeDirectory, or a directory the operator chose). */
static int prepare_ctl_dir(const char *path)
{
	if (mkdir(path, 0750) == 0) {
		if (S.have_user && chown(path, S.uid, S.gid) < 0) {
			rd_log(LOG_ERR, "control socket directory %s: cannot give it to uid %u: %s", path,
			       (unsigned)S.uid, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno != EEXIST) {
		rd_log(LOG_ERR, "control socket directory %s: cannot create it: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The parent of a path ("/run/rackdhcpd" of "/run/rackdhcpd/control.sock"). */
static void dirname_of(const char *path, char *out, size_t cap)
{
	snprintf(out, cap, "%s", path);
	char *slash = strrchr(out, '/');
	if (slash && slash != out)
		*slash = '\0';
	else if (slash)
		slash[1] = '\0';
}

/* ---------------------------------------------------------------- expiry */

/* Store completion of an expiry: the failover peer hears of it once durable. */
static void expire_done(void *ctx, int status)
{
	if (status >= 0)
		rd_fo_peers_notify(rcu_dereference(S.d.failover), (uint32_t)(uintptr_t)ctx);
}

static void on_expire(void *ctx, const rd_lease_t *oldv, const rd_lease_t *newv)
{
	(void)ctx;
	char ip[16], mac[52] = "";
	if (oldv->flags & RD_ENGINE_F_OFFERED)
		return;   /* an offer nobody took: it was never stored */
	if (S.d.store && rd_store_submit(S.d.store, newv, "expire", rcu_dereference(S.d.failover) ? expire_done : NULL,
					 (void *)(uintptr_t)newv->addr) < 0)
		rd_ctr_add(&S.d.counters[S.d.n_workers].drop[RD_DROP_STORE], 1);
	/* MAAS hears of the expiry as ISC's `on expiry` would tell it. */
	if (oldv->state == RD_LEASE_ACTIVE)
		(void)rd_events_emit(S.d.events, RD_EVENT_EXPIRY, newv, 0);
	if (rd_log_enabled(LOG_INFO)) {
		fmt_ip(newv->addr, ip, sizeof(ip));
		for (unsigned i = 0, n = 0; i < newv->hlen && i < 16 && n + 4 < sizeof(mac); i++)
			n += (unsigned)snprintf(mac + n, sizeof(mac) - n, i ? ":%02x" : "%02x", newv->chaddr[i]);
		rd_log(LOG_INFO, "lease %s of %s expired", ip, mac[0] ? mac : "(no hardware address)");
	}
}

/* Once a second: frames the raw sockets' queues dropped (the kernel counts
 * them; the UDP sockets' drops are read by the workers). */
static void collect_kernel_drops(void)
{
	uint64_t n = 0;
	for (size_t k = 0; k < S.n_served; k++)
		for (unsigned w = 0; w < S.served[k].n; w++)
			n += (uint64_t)rd_io_raw_drops(S.served[k].socks[w].fd);
	if (n) {
		rd_ctr_add(&S.d.counters[S.d.n_workers].drop[RD_DROP_KERNEL], n);
		rd_log(LOG_WARNING, "%llu frames dropped by the kernel in the last second: the workers cannot keep "
		       "up (more workers, or a rate limit)", (unsigned long long)n);
	}
}

/* Once a second: say what the rate limits dropped, if anything. */
static void report_limits(uint64_t last[3])
{
	rd_counters_t c;
	rd_daemon_counters(&S.d, &c);
	uint64_t now[3] = { c.drop[RD_DROP_RATE_CLIENT], c.drop[RD_DROP_RATE_GLOBAL], c.drop[RD_DROP_RATE_NEW] };
	uint64_t dc = now[0] - last[0], dg = now[1] - last[1], dn = now[2] - last[2];
	if (dc + dg + dn)
		rd_log(LOG_WARNING,
		       "rate limits dropped %llu requests in the last second (per client %llu, global %llu, "
		       "new clients %llu)",
		       (unsigned long long)(dc + dg + dn), (unsigned long long)dc, (unsigned long long)dg,
		       (unsigned long long)dn);
	memcpy(last, now, sizeof(now));
}

/* ------------------------------------------------------------------- main */

static void tell_parent(const char *msg)
{
	if (S.ready_fd < 0)
		return;
	ssize_t w = write(S.ready_fd, msg, strlen(msg));
	(void)w;
	close(S.ready_fd);
	S.ready_fd = -1;
}

/* Without -f: fork; the parent waits until the child is serving (or has
 * failed) and exits with a status that says which. */
static int daemonize(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		char buf[8] = "";
		ssize_t n = read(p[0], buf, sizeof(buf) - 1);
		_exit(n > 0 && buf[0] == 'R' ? 0 : 1);
	}
	close(p[0]);
	S.ready_fd = p[1];
	setsid();
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	return 0;
}

static uint64_t table_hint(const rd_config_t *cfg)
{
	uint64_t n = 0;
	for (size_t i = 0; i < cfg->n_subnets; i++)
		for (size_t p = 0; p < cfg->subnets[i].n_pools; p++)
			n += (uint64_t)cfg->subnets[i].pools[p].end - cfg->subnets[i].pools[p].start + 1;
	return n < 1024 ? 1024 : n > (1u << 24) ? (1u << 24) : n;
}

static void store_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	rd_log(level, "lease store: %s", msg);
}

int rd_daemon_main(const char *config_path, bool foreground, const char *pidfile_override)
{
	rd_daemon_t *d = &S.d;
	rd_config_t *cfg = NULL;
	char err[2048];
	int status = 1, sfd = -1, tfd = -1;
	rd_netmon_t *nm = NULL;

	/* Blocked before any thread exists, so every thread inherits the mask
	 * and only the main loop's signalfd sees these. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	sigdelset(&mask, SIGPIPE);

	rd_log_init("rackdhcpd", LOG_INFO);
	if (rd_config_load(config_path, &cfg, err, sizeof(err)) < 0) {
		rd_log(LOG_ERR, "%s", err);
		return 1;
	}
	rd_log_set_level(rd_log_prio_of_level(cfg->server.log_level));
	if (cfg->region.present) {
		/* the API key is read now, as the starting user; what serves
		 * first is the file combined with no view (the stored view
		 * replaces it once the store is open) */
		rd_config_t *initial = NULL;
		if (rd_regionsync_new(d, cfg, &d->region, &initial, err, sizeof(err)) < 0) {
			rd_log(LOG_ERR, "%s", err);
			return 1;
		}
		cfg = initial;
	}
	if (!foreground && daemonize() < 0) {
		rd_log(LOG_ERR, "cannot fork into the background: %s", strerror(errno));
		rd_config_free(cfg);
		return 1;
	}

	d->config_path = config_path;
	d->started = time(NULL);
	d->n_workers = cfg->server.workers;
	pthread_mutex_init(&d->reload_lock, NULL);
	pthread_mutex_init(&d->ifaces_lock, NULL);
	d->counters = calloc(d->n_workers + 1, sizeof(*d->counters));
	S.workers = calloc(d->n_workers, sizeof(*S.workers));
	S.udp_fds = malloc(d->n_workers * sizeof(*S.udp_fds));
	if (!d->counters || !S.workers || !S.udp_fds) {
		rd_log(LOG_ERR, "out of memory");
		rd_config_free(cfg);
		return 1;
	}
	for (unsigned w = 0; w < d->n_workers; w++)
		S.udp_fds[w] = -1;

	rcu_register_thread();
	char state_dir[4096], db_path[4200], ctl_dir[4096], user[256] = "";
	snprintf(state_dir, sizeof(state_dir), "%s", cfg->server.state_dir);
	snprintf(db_path, sizeof(db_path), "%s/leases.db", cfg->server.state_dir);
	dirname_of(cfg->server.control_socket, ctl_dir, sizeof(ctl_dir));
	if (cfg->server.user)
		snprintf(user, sizeof(user), "%s", cfg->server.user);
	enum rd_store_durability dur = cfg->server.durability == RD_DURABILITY_RELAXED ? RD_STORE_RELAXED : RD_STORE_SYNC;
	S.pidfile = pidfile_override ? pidfile_override : cfg->server.pidfile;
	uint64_t hint = table_hint(cfg);
	rd_config_publish(cfg);   /* cfg belongs to the publication now */

	/* 2. pidfile */
	S.pidfile_fd = pidfile_open(S.pidfile);
	if (S.pidfile_fd < 0)
		goto out;

	/* 3. who we will be, and the directories that user needs */
	S.uid = geteuid();
	S.gid = getegid();
	if (user[0] && geteuid() == 0) {
		if (rd_privs_lookup(user, &S.uid, &S.gid, err, sizeof(err)) < 0) {
			rd_log(LOG_ERR, "server.user: %s", err);
			goto out;
		}
		S.have_user = true;
	} else if (user[0]) {
		rd_log(LOG_WARNING, "server.user %s ignored: not started as root", user);
	}
	if (prepare_state_dir(state_dir) < 0 || prepare_ctl_dir(ctl_dir) < 0)
		goto out;
	if (S.have_user) {
		static const char *const sfx[] = { "", "-wal", "-shm" };
		for (unsigned i = 0; i < 3; i++) {
			char p[4300];
			snprintf(p, sizeof(p), "%s%s", db_path, sfx[i]);
			if (chown(p, S.uid, S.gid) < 0 && errno != ENOENT) {
				rd_log(LOG_ERR, "%s: cannot give it to %s: %s", p, user, strerror(errno));
				goto out;
			}
		}
	}

	/* 4. sockets */
	if (rd_netmon_open(&nm, err, sizeof(err)) < 0) {
		rd_log(LOG_ERR, "netlink: %s", err);
		goto out;
	}
	d->netmon = nm;
	for (unsigned w = 0; w < d->n_workers; w++) {
		S.udp_fds[w] = rd_io_udp_open(RD_DHCP_SERVER_PORT, err, sizeof(err));
		if (S.udp_fds[w] < 0) {
			rd_log(LOG_ERR, "%s", err);
			goto out;
		}
		S.workers[w] = rd_worker_new(d, w, S.udp_fds[w]);
		if (!S.workers[w]) {
			rd_log(LOG_ERR, "cannot create worker %u: %s", w, strerror(errno));
			goto out;
		}
	}
	if (rd_io_udp_spread(S.udp_fds[0], d->n_workers, err, sizeof(err)) < 0)
		rd_log(LOG_WARNING, "%s: relayed traffic from one relay will use one worker", err);
	/* with region sync the links are decided once the stored view is known (6.) */
	if (!d->region)
		relink(nm);

	/* 5. privileges */
	if (S.have_user) {
		if (rd_privs_drop(S.uid, S.gid, user, err, sizeof(err)) < 0) {
			rd_log(LOG_ERR, "dropping privileges: %s", err);
			goto out;
		}
		rd_log(LOG_INFO, "running as %s (uid %u), keeping CAP_NET_RAW and CAP_NET_BIND_SERVICE", user,
		       (unsigned)S.uid);
	}

	/* 6. leases */
	rd_store_opts_t so = { .log = store_log };
	if (rd_store_open(db_path, dur, &so, &d->store, err, sizeof(err)) < 0) {
		rd_log(LOG_ERR, "%s", err);
		goto out;
	}
	d->table = rd_table_new(hint);
	if (!d->table) {
		rd_log(LOG_ERR, "cannot create the lease table: out of memory");
		goto out;
	}
	if (d->region) {
		/* a restart without the region serves the last view that validated */
		rd_config_t *stored = NULL;
		rd_regionsync_load_stored(d->region, d->store, &stored);
		if (stored)
			rd_config_publish(stored);
		relink(nm);
	}
	pthread_mutex_lock(&d->reload_lock);
	rcu_read_lock();
	int pr = sync_pools(d->table, rd_config_current(), false, err, sizeof(err));
	rcu_read_unlock();
	pthread_mutex_unlock(&d->reload_lock);
	if (pr < 0) {
		rd_log(LOG_ERR, "%s", err);
		goto out;
	}
	rd_store_load_stats_t ls;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int lr = rd_leasedb_load(d->store, d->table, &ls);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (lr < 0) {
		rd_log(LOG_ERR, "%s: loading leases failed: %s", db_path, rd_strerror(lr));
		goto out;
	}
	rd_log(LOG_INFO, "%s: %zu leases loaded in %.2f s%s", db_path, ls.loaded,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       ls.skipped ? " (some rows were unreadable and are kept untouched, see above)" : "");

	/* 6b. failover peers, before the workers: the engine asks them from
	 * the first packet on (none configured: d->failover stays NULL and
	 * nothing changes). */
	rcu_read_lock();
	int fr = rd_fo_peers_start(rd_config_current(), d->table, d->store, &d->failover);
	rcu_read_unlock();
	if (fr < 0) {
		rd_log(LOG_ERR, "failover: cannot start: %s", rd_strerror(fr));
		goto out;
	}

	/* 6c. lease events for MAAS: the sender thread queues while the
	 * consumer's socket is missing, so rackd may start after us. */
	rcu_read_lock();
	const char *evpath = rd_config_current()->server.lease_events_socket;
	if (evpath) {
		d->events = rd_events_new(evpath, 0);
		if (!d->events)
			rd_log(LOG_ERR, "lease events: cannot start the sender for %s: %s", evpath, strerror(errno));
		else
			rd_log(LOG_INFO, "lease events go to %s", evpath);
	}
	rcu_read_unlock();
	if (evpath && !d->events)
		goto out;

	/* 7. serve */
	rcu_read_lock();
	rd_ratelimit_cfg_t rl = rd_config_current()->server.rate_limit;
	rcu_read_unlock();
	d->ratelimit = rd_ratelimit_new(&rl, 0);
	if (!d->ratelimit) {
		rd_log(LOG_ERR, "cannot create the rate limiter: out of memory");
		goto out;
	}
	for (unsigned w = 0; w < d->n_workers; w++) {
		int r = rd_worker_start(S.workers[w]);
		if (r < 0) {
			rd_log(LOG_ERR, "cannot start worker %u: %s", w, strerror(-r));
			goto out;
		}
	}
	rcu_read_lock();
	int cr = rd_control_start(d, rd_config_current(), &d->control, err, sizeof(err));
	rcu_read_unlock();
	if (cr < 0) {
		rd_log(LOG_ERR, "control: %s", err);
		goto out;
	}

	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	S.relink_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	if (sfd < 0 || tfd < 0 || S.relink_fd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0) {
		rd_log(LOG_ERR, "cannot set up the main loop: %s", strerror(errno));
		goto out;
	}

	if (d->region) {
		int rr = rd_regionsync_start(d->region);
		if (rr < 0) {
			rd_log(LOG_ERR, "region sync: cannot start its thread: %s", strerror(-rr));
			goto out;
		}
	}

	size_t served = S.n_served;
	rd_log(LOG_INFO, "rackdhcpd %s serving on %zu interface%s with %u workers, durability %s", PACKAGE_VERSION,
	       served, served == 1 ? "" : "s", d->n_workers, dur == RD_STORE_SYNC ? "sync" : "relaxed (unsafe)");
	sd_notifyf(0, "READY=1\nSTATUS=serving on %zu interfaces\nMAINPID=%ld", served, (long)getpid());
	tell_parent("R");

	uint64_t wd_usec = 0;
	bool watchdog = sd_watchdog_enabled(0, &wd_usec) > 0;
	uint64_t last_limits[3] = { 0, 0, 0 };
	bool netmon_retry = false;
	status = 0;
	while (!atomic_load(&d->stopping)) {
		struct pollfd pf[4] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = rd_netmon_fd(nm), .events = POLLIN },
			{ .fd = tfd, .events = POLLIN },
			{ .fd = S.relink_fd, .events = POLLIN },
		};
		if (poll(pf, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			rd_log(LOG_ERR, "poll: %s", strerror(errno));
			status = 1;
			break;
		}
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					sd_notify(0, "RELOADING=1");
					rd_log(LOG_INFO, "SIGHUP: reloading %s", config_path);
					rd_daemon_reload(d, err, sizeof(err));
					sd_notify(0, "READY=1");
				} else {
					rd_log(LOG_INFO, "%s: stopping", strsignal((int)si.ssi_signo));
					atomic_store(&d->stopping, true);
				}
			}
		}
		if ((pf[1].revents & POLLIN) || netmon_retry) {
			/* A failed cache reload is retried on the next tick:
			 * the socket need not become readable again. */
			int r = rd_netmon_process(nm);
			netmon_retry = r < 0;
			if (r < 0)
				rd_log(LOG_WARNING, "netlink: %s (retrying)", rd_strerror(r));
			if (r > 0)
				relink(nm);
		}
		if (pf[3].revents & POLLIN) {
			uint64_t v;
			if (read(S.relink_fd, &v, sizeof(v)) == sizeof(v))
				relink(nm);
		}
		if (pf[2].revents & POLLIN) {
			uint64_t ticks;
			if (read(tfd, &ticks, sizeof(ticks)) == sizeof(ticks)) {
				rd_table_expire(d->table, (uint32_t)time(NULL), on_expire, NULL);
				collect_kernel_drops();
				report_limits(last_limits);
				if (watchdog)
					sd_notify(0, "WATCHDOG=1");
			}
		}
	}
	sd_notify(0, "STOPPING=1");

out:
	if (status != 0)
		tell_parent("F");
	rd_control_stop(d->control);
	d->control = NULL;
	/* no configuration is published after this (a request in flight is aborted) */
	rd_regionsync_free(d->region);
	d->region = NULL;
	for (unsigned w = 0; S.workers && w < d->n_workers; w++) {
		rd_worker_free(S.workers[w]);
		S.workers[w] = NULL;
		if (d->counters)
			rd_log(LOG_INFO, "worker %u handled %llu messages", w,
			       (unsigned long long)d->counters[w].frames);
	}
	/* No engine asks the failover peers any more: a clean stop tells the
	 * partner (SHUTDOWN) so that it takes over at once. */
	rd_fo_peers_stop(d->failover, status == 0);
	d->failover = NULL;
	/* Every reply that waits for the store goes out (or is logged as
	 * failed) before the sockets close. */
	if (d->store) {
		int r = rd_store_flush(d->store);
		if (r < 0)
			rd_log(LOG_ERR, "final flush of the lease store failed: %s", rd_strerror(r));
		rd_store_close(d->store);
		d->store = NULL;
	}
	/* After the store: its last completions may still emit commits. */
	rd_events_free(d->events, 2000);
	d->events = NULL;
	for (size_t k = 0; k < S.n_served; k++) {
		for (unsigned w = 0; w < S.served[k].n; w++)
			close(S.served[k].socks[w].fd);
		free(S.served[k].socks);
	}
	free(S.served);
	for (unsigned w = 0; S.udp_fds && w < d->n_workers; w++)
		if (S.udp_fds[w] >= 0)
			close(S.udp_fds[w]);
	rd_links_publish(NULL);
	rd_config_publish(NULL);
	synchronize_rcu();
	rcu_barrier();
	if (d->table)
		rd_table_free(d->table);
	rd_ratelimit_free(d->ratelimit);
	if (nm)
		rd_netmon_close(nm);
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	if (S.relink_fd >= 0)
		close(S.relink_fd);
	if (S.pidfile_fd >= 0) {
		if (unlink(S.pidfile) < 0 && errno != ENOENT)
			rd_log(LOG_DEBUG, "pidfile %s left behind: %s", S.pidfile, strerror(errno));
		close(S.pidfile_fd);
	}
	free(d->ifaces);
	free(d->counters);
	free(S.workers);
	free(S.udp_fds);
	rcu_unregister_thread();
	if (status == 0)
		rd_log(LOG_INFO, "stopped; every lease change is on disk");
	return status;
}
