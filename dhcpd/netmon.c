/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * netmon.c — links and IPv4 addresses through libnl-route-3 caches kept
 * current by a cache manager (see netmon.h for the contract).
 *
 * Design notes:
 *  - Two caches, route/link and route/addr, share one manager and so one
 *    non-blocking socket subscribed to RTNLGRP_LINK and the address groups.
 *    The address cache's ops also subscribe to RTNLGRP_IPV6_IFADDR; we drop
 *    that group again, because the DHCPv4 server has no use for IPv6
 *    addresses and every router advertisement would wake us.  IPv6 entries
 *    that a full dump brings in (the dump is AF_UNSPEC) are purged after
 *    each fill.
 *  - "Changed" is decided on the snapshot, not on libnl's callbacks: the
 *    callbacks only mark the caches dirty, and process() compares a fresh
 *    snapshot with the last one.  A callback fires for any attribute libnl
 *    tracks (qdisc, promiscuity, operstate DORMANT -> UP on a link that was
 *    already running ...); the daemon re-plans its sockets on a change, so
 *    it should only hear about what it can see.
 *  - Overruns: when events arrive faster than we read them the kernel drops
 *    them and the next recvmsg fails with ENOBUFS, which libnl reports as
 *    NLE_NOMEM.  The caches are then wrong in unknown ways, so both are
 *    refilled from a dump over a separate blocking socket and the change is
 *    reported unconditionally.  Events still queued behind the overrun are
 *    applied afterwards; they are older than the dump, but each one is
 *    followed by the newer events for the same object, so the caches end
 *    where the kernel is.  The receive buffer is made large up front so
 *    that a flap of a trunk with a few hundred VLANs does not overrun.
 *  - A message libnl cannot parse aborts the read loop and loses the rest
 *    of that datagram; that too is treated as an overrun.
 *  - Address order: the kernel lists a link's primaries (in the order they
 *    were added) before its secondaries (likewise), and that order decides
 *    which addresses fit under RD_NETMON_MAX_ADDRS.  libnl's cache list
 *    does not keep it: an event for an address already cached (a lifetime
 *    refresh, or an event replayed after a refill) moves it to the tail.
 *    So we keep our own list in kernel order, `ents`: rebuilt from each
 *    dump (which is in kernel order), appended to on a new address, left
 *    in place on a change, except that a secondary promoted to primary
 *    moves to the end, as the kernel moves it behind the last primary.
 */
#include <errno.h>
#include <net/if.h>             /* before any <linux/if.h>, for libc-compat */
#include <net/if_arp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vlan.h>
#include <netlink/socket.h>

#include "rackdhcp/error.h"
#include "rackdhcp/log.h"
#include "rackdhcp/netmon.h"

/* Receive buffer of the event socket.  A link event costs a few KiB of
 * buffer (skb overhead included); this holds about a thousand. */
#define NETMON_RCVBUF (4 << 20)

/* Refill-and-read rounds per process() call before giving the thread back:
 * under an event storm that keeps overrunning, poll() calls us again. */
#define NETMON_ROUNDS 3

/* One IPv4 address, in the kernel's order (see ents above). */
struct ent {
	int ifindex;
	uint32_t addr;              /* host order */
	uint8_t prefix_len;
	bool secondary;
};

struct rd_netmon {
	struct nl_sock *sk;         /* events; read only by the manager */
	struct nl_sock *sync_sk;    /* our dumps when the caches must be refilled */
	struct nl_cache_mngr *mngr;
	struct nl_cache *links;     /* owned by mngr */
	struct nl_cache *addrs;     /* owned by mngr */
	bool dirty;                 /* a cache callback fired since the last compare */
	bool need_refill;           /* caches or ents may be wrong (events lost, no memory): refill first */
	unsigned long resyncs;
	struct ent *ents;           /* every IPv4 address, kernel order */
	size_t n_ents, cap_ents;
	rd_netmon_link_t *last;     /* the view process() last reported */
	size_t n_last;
	bool last_valid;            /* false after an allocation failure: compare says "changed" */
};

/* ------------------------------------------------------------ helpers */

/* libnl's NLE_* codes are not errno values; map the ones a caller can act on. */
static int rd_of_nlerr(int e)
{
	switch (e < 0 ? -e : e) {
	case NLE_NOMEM:    return RD_ENOMEM;
	case NLE_INVAL:    return RD_EINVAL;
	case NLE_PERM:     return -EPERM;
	case NLE_NOACCESS: return -EACCES;
	case NLE_AF_NOSUPPORT:
	case NLE_PROTO_MISMATCH:
	case NLE_OPNOTSUPP: return -EPROTONOSUPPORT;
	default:           return -EIO;
	}
}

#define fail rd_errf

static void grow_rcvbuf(int fd)
{
	int size = NETMON_RCVBUF;

	/* SO_RCVBUFFORCE may exceed net.core.rmem_max and needs CAP_NET_ADMIN,
	 * which the daemon holds while it starts; otherwise take what
	 * rmem_max allows.  A small buffer is not fatal: overruns are handled. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

/* The key of an IPv4 address object; false for anything else. */
static bool ent_of(struct rtnl_addr *a, struct ent *e)
{
	struct nl_addr *local = rtnl_addr_get_local(a);
	uint32_t be;

	if (rtnl_addr_get_family(a) != AF_INET || !local || nl_addr_get_len(local) != sizeof(be))
		return false;
	memcpy(&be, nl_addr_get_binary_addr(local), sizeof(be));
	e->ifindex = rtnl_addr_get_ifindex(a);
	e->addr = ntohl(be);
	e->prefix_len = (uint8_t)rtnl_addr_get_prefixlen(a);
	e->secondary = (rtnl_addr_get_flags(a) & IFA_F_SECONDARY) != 0;
	return true;
}

static struct ent *ent_find(rd_netmon_t *m, const struct ent *k)
{
	for (size_t i = 0; i < m->n_ents; i++)
		if (m->ents[i].ifindex == k->ifindex && m->ents[i].addr == k->addr &&
		    m->ents[i].prefix_len == k->prefix_len)
			return &m->ents[i];
	return NULL;
}

static void ent_remove(rd_netmon_t *m, struct ent *e)
{
	size_t i = (size_t)(e - m->ents);

	memmove(e, e + 1, (m->n_ents - i - 1) * sizeof(*e));
	m->n_ents--;
}

static int ent_append(rd_netmon_t *m, const struct ent *e)
{
	if (m->n_ents == m->cap_ents) {
		size_t cap = m->cap_ents ? 2 * m->cap_ents : 64;
		struct ent *v = realloc(m->ents, cap * sizeof(*v));

		if (!v)
			return RD_ENOMEM;
		m->ents = v;
		m->cap_ents = cap;
	}
	m->ents[m->n_ents++] = *e;
	return 0;
}

/*
 * Rebuild ents from the address cache just after a dump filled it.  (Two
 * point-to-point addresses may share local address and prefix, differing
 * in peer; ents keeps both, but events for them are told apart only by a
 * later refill.  Nothing DHCP serves looks like that.)
 */
static int ents_from_cache(rd_netmon_t *m)
{
	m->n_ents = 0;
	for (struct nl_object *o = nl_cache_get_first(m->addrs); o; o = nl_cache_get_next(o)) {
		struct ent e;

		if (ent_of((struct rtnl_addr *)o, &e) && ent_append(m, &e) < 0)
			return RD_ENOMEM;
	}
	return 0;
}

static void on_addr(rd_netmon_t *m, struct rtnl_addr *a, int action)
{
	struct ent k, *e;

	/* Should the IPv6 group have stayed subscribed, ignore its events here. */
	if (!ent_of(a, &k))
		return;
	m->dirty = true;
	e = ent_find(m, &k);
	if (action == NL_ACT_DEL) {
		if (e)
			ent_remove(m, e);
		return;
	}
	if (e && e->secondary == k.secondary)
		return;
	/* New, or promoted: either way it goes behind the others. */
	if (e)
		ent_remove(m, e);
	if (ent_append(m, &k) < 0)
		m->need_refill = true;  /* the next refill rebuilds ents whole */
}

/* Cache callback (link and address caches): note that something moved. */
static void on_change(struct nl_cache *cache, struct nl_object *obj, int action, void *arg)
{
	rd_netmon_t *m = arg;

	if (cache == m->addrs) {
		on_addr(m, (struct rtnl_addr *)obj, action);
		return;
	}
	m->dirty = true;
	/* The kernel sends RTM_DELADDR for each address of a vanishing link;
	 * drop them here too, should those events be lost. */
	if (action == NL_ACT_DEL) {
		int ifindex = rtnl_link_get_ifindex((struct rtnl_link *)obj);

		for (size_t i = m->n_ents; i-- > 0;)
			if (m->ents[i].ifindex == ifindex)
				ent_remove(m, &m->ents[i]);
	}
}

/* Drop every non-IPv4 address a full (AF_UNSPEC) dump put in the cache:
 * with no IPv6 events they would only go stale. */
static void purge_foreign_addrs(struct nl_cache *c)
{
	struct nl_object *o, *next;

	for (o = nl_cache_get_first(c); o; o = next) {
		next = nl_cache_get_next(o);
		if (rtnl_addr_get_family((struct rtnl_addr *)o) != AF_INET)
			nl_cache_remove(o);
	}
}

/* ------------------------------------------------------------ snapshot */

static void link_fill(rd_netmon_link_t *d, struct rtnl_link *l)
{
	unsigned flags = rtnl_link_get_flags(l);
	const char *name = rtnl_link_get_name(l);
	struct nl_addr *ll = rtnl_link_get_addr(l);

	memset(d, 0, sizeof(*d));
	d->ifindex = rtnl_link_get_ifindex(l);
	if (name) {
		size_t len = strnlen(name, sizeof(d->name) - 1);
		memcpy(d->name, name, len);
	}
	/* Only Ethernet-like links have a chaddr we can answer to; tun, ipip,
	 * InfiniBand (20-byte addresses) and friends get has_mac = false. */
	if (rtnl_link_get_arptype(l) == ARPHRD_ETHER && ll &&
	    nl_addr_get_len(ll) == sizeof(d->mac)) {
		memcpy(d->mac, nl_addr_get_binary_addr(ll), sizeof(d->mac));
		d->has_mac = true;
	}
	/* Linux sets IFF_RUNNING for oper state UP and UNKNOWN alike, so the
	 * second test only matters where RUNNING is missing but nothing
	 * speaks against carrier: no IFLA_OPERSTATE at all reads as 0, which
	 * is IF_OPER_UNKNOWN. */
	d->up = (flags & IFF_UP) &&
		((flags & IFF_RUNNING) || rtnl_link_get_operstate(l) == IF_OPER_UNKNOWN);
	d->loopback = (flags & IFF_LOOPBACK) != 0;
	d->mtu = rtnl_link_get_mtu(l);
	d->vlan_id = -1;
	if (rtnl_link_is_vlan(l)) {
		int32_t nsid;

		d->vlan_id = rtnl_link_vlan_get_id(l);
		/* IFLA_LINK is an ifindex in the namespace IFLA_LINK_NETNSID
		 * names, when present: not one of ours. */
		if (rtnl_link_get_link_netnsid(l, &nsid) < 0 && rtnl_link_get_link(l) > 0)
			d->vlan_parent = rtnl_link_get_link(l);
	}
}

static int cmp_ifindex(const void *a, const void *b)
{
	int x = ((const rd_netmon_link_t *)a)->ifindex, y = ((const rd_netmon_link_t *)b)->ifindex;

	return (x > y) - (x < y);
}

/* Attach the IPv4 addresses of one kind (primary or secondary) to their links. */
static void add_addrs(const rd_netmon_t *m, rd_netmon_link_t *v, size_t n, bool secondary)
{
	for (size_t i = 0; i < m->n_ents; i++) {
		const struct ent *e = &m->ents[i];
		rd_netmon_link_t key = { .ifindex = e->ifindex }, *l;

		if (e->secondary != secondary)
			continue;
		l = bsearch(&key, v, n, sizeof(*v), cmp_ifindex);
		if (!l)
			continue;   /* link gone, its RTM_DELADDR not read yet */
		if (l->n_addrs == RD_NETMON_MAX_ADDRS) {
			l->addrs_truncated = true;
			continue;
		}
		l->addrs[l->n_addrs].addr = e->addr;
		l->addrs[l->n_addrs].prefix_len = e->prefix_len;
		l->n_addrs++;
	}
}

static int build(rd_netmon_t *m, rd_netmon_link_t **out, size_t *nout)
{
	int items = nl_cache_nitems(m->links);
	size_t cap = items > 0 ? (size_t)items : 0, n = 0;
	rd_netmon_link_t *v;

	*out = NULL;
	*nout = 0;
	if (!cap)
		return 0;
	v = calloc(cap, sizeof(*v));
	if (!v)
		return RD_ENOMEM;
	for (struct nl_object *o = nl_cache_get_first(m->links); o && n < cap; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;

		/* One entry per device: AF_BRIDGE port records share the
		 * ifindex (libnl filters their events; be sure anyway). */
		if (rtnl_link_get_family(l) != AF_UNSPEC || rtnl_link_get_ifindex(l) <= 0)
			continue;
		link_fill(&v[n++], l);
	}
	if (!n) {
		free(v);
		return 0;
	}
	qsort(v, n, sizeof(*v), cmp_ifindex);
	add_addrs(m, v, n, false);
	add_addrs(m, v, n, true);
	*out = v;
	*nout = n;
	return 0;
}

static bool link_equal(const rd_netmon_link_t *a, const rd_netmon_link_t *b)
{
	if (a->ifindex != b->ifindex || strcmp(a->name, b->name) != 0 ||
	    a->has_mac != b->has_mac || (a->has_mac && memcmp(a->mac, b->mac, sizeof(a->mac)) != 0) ||
	    a->up != b->up || a->loopback != b->loopback || a->mtu != b->mtu ||
	    a->vlan_id != b->vlan_id || a->vlan_parent != b->vlan_parent ||
	    a->n_addrs != b->n_addrs || a->addrs_truncated != b->addrs_truncated)
		return false;
	for (unsigned i = 0; i < a->n_addrs; i++)
		if (a->addrs[i].addr != b->addrs[i].addr || a->addrs[i].prefix_len != b->addrs[i].prefix_len)
			return false;
	return true;
}

/* Take a new view; 1 if it differs from the last one (or if we cannot tell). */
static int update_last(rd_netmon_t *m)
{
	rd_netmon_link_t *v;
	size_t n;
	bool changed;

	if (build(m, &v, &n) < 0) {
		free(m->last);
		m->last = NULL;
		m->n_last = 0;
		m->last_valid = false;
		return 1;
	}
	changed = !m->last_valid || n != m->n_last;
	for (size_t i = 0; !changed && i < n; i++)
		changed = !link_equal(&v[i], &m->last[i]);
	free(m->last);
	m->last = v;
	m->n_last = n;
	m->last_valid = true;
	return changed;
}

/* ------------------------------------------------------------ refill */

static int refill(rd_netmon_t *m)
{
	int e = nl_cache_refill(m->sync_sk, m->links);

	if (e >= 0)
		e = nl_cache_refill(m->sync_sk, m->addrs);
	if (e < 0) {
		/* A dump cut short may leave replies queued on the socket
		 * that would confuse the next one: start on a fresh socket. */
		nl_close(m->sync_sk);
		(void)nl_connect(m->sync_sk, NETLINK_ROUTE);
		m->need_refill = true;
		return rd_of_nlerr(e);
	}
	purge_foreign_addrs(m->addrs);
	if (ents_from_cache(m) < 0) {
		m->need_refill = true;
		return RD_ENOMEM;
	}
	m->need_refill = false;
	m->resyncs++;
	return 0;
}

/* ------------------------------------------------------------ API */

int rd_netmon_open(rd_netmon_t **out, char *err, size_t errlen)
{
	rd_netmon_t *m;
	struct nl_cache *c = NULL;
	int e, r;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return fail(err, errlen, RD_ENOMEM, "netlink monitor: out of memory");
	m->sk = nl_socket_alloc();
	m->sync_sk = nl_socket_alloc();
	if (!m->sk || !m->sync_sk) {
		r = fail(err, errlen, RD_ENOMEM, "netlink monitor: out of memory");
		goto fail;
	}
	if ((e = nl_connect(m->sync_sk, NETLINK_ROUTE)) < 0) {
		r = fail(err, errlen, rd_of_nlerr(e), "rtnetlink socket: %s", nl_geterror(e));
		goto fail;
	}
	/* The manager connects m->sk, makes it non-blocking and turns off
	 * sequence checks (events carry sequence 0). */
	if ((e = nl_cache_mngr_alloc(m->sk, NETLINK_ROUTE, 0, &m->mngr)) < 0) {
		r = fail(err, errlen, rd_of_nlerr(e), "rtnetlink event socket: %s", nl_geterror(e));
		goto fail;
	}
	grow_rcvbuf(nl_socket_get_fd(m->sk));

	if ((e = nl_cache_alloc_name("route/link", &c)) < 0 ||
	    (e = nl_cache_mngr_add_cache(m->mngr, c, on_change, m)) < 0) {
		if (c)
			nl_cache_free(c);
		r = fail(err, errlen, rd_of_nlerr(e), "reading links (RTM_GETLINK): %s", nl_geterror(e));
		goto fail;
	}
	m->links = c;
	c = NULL;
	if ((e = nl_cache_alloc_name("route/addr", &c)) < 0 ||
	    (e = nl_cache_mngr_add_cache(m->mngr, c, on_change, m)) < 0) {
		if (c)
			nl_cache_free(c);
		r = fail(err, errlen, rd_of_nlerr(e), "reading addresses (RTM_GETADDR): %s", nl_geterror(e));
		goto fail;
	}
	m->addrs = c;
	/* Not fatal: on_change ignores IPv6 events should they still come. */
	(void)nl_socket_drop_membership(m->sk, RTNLGRP_IPV6_IFADDR);
	purge_foreign_addrs(m->addrs);
	if (ents_from_cache(m) < 0) {
		r = fail(err, errlen, RD_ENOMEM, "netlink monitor: out of memory");
		goto fail;
	}

	(void)update_last(m);
	if (!m->last_valid) {
		r = fail(err, errlen, RD_ENOMEM, "netlink monitor: out of memory");
		goto fail;
	}
	m->dirty = false;
	*out = m;
	return 0;

fail:
	rd_netmon_close(m);
	return r;
}

int rd_netmon_fd(rd_netmon_t *m)
{
	return nl_cache_mngr_get_fd(m->mngr);
}

int rd_netmon_process(rd_netmon_t *m)
{
	bool resynced = false;
	int r;

	for (int round = 0;; round++) {
		if (m->need_refill) {
			if ((r = refill(m)) < 0)
				return r;
			resynced = true;
		}
		if (round == NETMON_ROUNDS)
			break;
		r = nl_cache_mngr_data_ready(m->mngr);
		if (r >= 0 && !m->need_refill)
			break;
		if (r >= 0)
			continue;   /* a callback ran out of memory: refill */
		if (r == -NLE_NOMEM)
			rd_log(LOG_NOTICE, "netlink: events lost (receive buffer overrun, or out of memory); reloading links and addresses");
		else
			rd_log(LOG_WARNING, "netlink: reading events: %s; reloading links and addresses",
			       nl_geterror(r));
		m->need_refill = true;
	}
	if (resynced) {
		(void)update_last(m);
		m->dirty = false;
		return 1;
	}
	if (!m->dirty)
		return 0;
	m->dirty = false;
	return update_last(m);
}

int rd_netmon_snapshot(rd_netmon_t *m, rd_netmon_link_t **links, size_t *n)
{
	return build(m, links, n);
}

unsigned long rd_netmon_resyncs(const rd_netmon_t *m)
{
	return m->resyncs;
}

void rd_netmon_close(rd_netmon_t *m)
{
	if (!m)
		return;
	/* The manager frees the caches and closes, but does not free, the
	 * event socket we lent it. */
	nl_cache_mngr_free(m->mngr);
	if (m->sk)
		nl_socket_free(m->sk);
	if (m->sync_sk)
		nl_socket_free(m->sync_sk);
	free(m->ents);
	free(m->last);
	free(m);
}
