/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * worker.c — packet workers and the packet path (see worker.h).
 */
#include <errno.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/config.h"
#include "rackdhcp/dhcp.h"
#include "rackdhcp/engine.h"
#include "rackdhcp/fmt.h"
#include "rackdhcp/events.h"
#include "rackdhcp/fo_peer.h"
#include "rackdhcp/frame.h"
#include "rackdhcp/io.h"
#include "rackdhcp/log.h"
#include "rackdhcp/ratelimit.h"
#include "rackdhcp/worker.h"

#define RX_BATCH 32
#define RX_BUF   2048          /* a DHCP request in one Ethernet frame fits; longer is refused */
#define TX_ARENA (64 * 1024)   /* reply bytes one receive batch may queue before a flush */
_Static_assert(RX_BATCH <= RD_IO_BATCH_MAX, "one receive batch of replies fits one send batch");

struct rd_worker {
	rd_daemon_t *d;
	unsigned id;
	int udp_fd;
	int epfd;
	int stop_fd;               /* eventfd that wakes epoll_wait at shutdown */
	bool started;
	pthread_t thread;
	rd_counters_t *ctr;
	rd_sock_t udp_sock;
	/* "no answer" lines per second: a hostile relay or a flood must not
	 * turn the log into the bottleneck */
	uint64_t quiet_sec;
	unsigned quiet_lines;
	uint64_t quiet_suppressed;
	uint32_t udp_ovfl;         /* the UDP socket's cumulative drop count, last seen */
	/* scratch for one message: big, so kept here instead of on the stack */
	rd_dhcp_t req;
	rd_engine_out_t out;
	uint8_t payload[RD_DHCP_MAX_LEN];
	uint8_t frame[RD_DHCP_MAX_LEN + 64];
	/* receive batch */
	uint8_t rxbuf[RX_BATCH][RX_BUF];
	uint8_t rxctl[RX_BATCH][128];
	struct mmsghdr msgs[RX_BATCH];
	struct iovec iov[RX_BATCH];
	struct sockaddr_storage names[RX_BATCH];
	/* send batch: replies that need no store wait (OFFERs, say) made
	 * while handling one receive batch leave together at its end */
	bool batching;
	rd_io_batch_t tx;
	unsigned txn;
	size_t txused;
	struct tx_note {
		uint8_t type;
		char mac[52];
	} txnote[RX_BATCH];
	uint8_t txarena[TX_ARENA];
};

/* ------------------------------------------------------------------ links */

static rd_links_t *current_links;

static void links_free_rcu(struct rcu_head *h)
{
	free(caa_container_of(h, rd_links_t, rcu));
}

void rd_links_publish(rd_links_t *links)
{
	rd_links_t *old = rcu_xchg_pointer(&current_links, links);
	if (old)
		call_rcu(&old->rcu, links_free_rcu);
}

const rd_link_t *rd_links_find(int ifindex)
{
	rd_links_t *ls = rcu_dereference(current_links);
	if (!ls)
		return NULL;
	for (size_t i = 0; i < ls->n; i++)
		if (ls->l[i].ifindex == ifindex)
			return &ls->l[i];
	return NULL;
}

/* ------------------------------------------------------------- formatting */

static void fmt_ip(uint32_t a, char *buf, size_t cap)
{
	(void)cap;   /* >= 16 */
	rd_fmt_ip(buf, a);
}

static void fmt_mac(const uint8_t *m, unsigned len, char *buf, size_t cap)
{
	(void)cap;   /* >= 48 */
	rd_fmt_mac(buf, m, len);
}

static uint8_t reply_type(const rd_dhcp_builder_t *b)
{
	for (uint16_t i = 0; i < b->count; i++)
		if (b->order[i] == RD_OPT_MESSAGE_TYPE && b->len[RD_OPT_MESSAGE_TYPE] == 1)
			return b->buf[b->off[RD_OPT_MESSAGE_TYPE]];
	return 0;
}

/* ------------------------------------------------------------------ send */

enum send_kind { SEND_NONE, SEND_RAW, SEND_UDP };

/* Where and how one reply leaves.  Copied into a pending reply when it has
 * to wait for the store. */
struct target {
	enum send_kind kind;
	int fd;
	int ifindex;
	uint8_t mac[6];            /* raw: Ethernet destination */
	uint32_t dst, src;         /* UDP */
	uint16_t port;
};

static int send_target(const struct target *t, const uint8_t *buf, size_t len)
{
	switch (t->kind) {
	case SEND_RAW:
		return t->fd < 0 ? 0 : rd_io_send_raw(t->fd, t->ifindex, t->mac, buf, len);
	case SEND_UDP:
		return t->fd < 0 ? 0 : rd_io_send_udp(t->fd, t->dst, t->port, t->src, t->ifindex, buf, len);
	default:
		return -EHOSTUNREACH;
	}
}

/* A reply waiting for its lease change to be durable, and with
 * ack_after_peer also for the failover peer's BNDACK of it. */
struct pending {
	rd_counters_t *ctr;
	rd_store_t *store;        /* whose writer thread completes it */
	rd_fo_peers_t *fo;        /* tell the failover peer once durable (NULL: none) */
	rd_events_t *events;      /* MAAS lease events (NULL: off) */
	rd_event_t *ev;           /* the commit event due once durable (NULL: none) */
	uint32_t lease_addr;      /* the address whose change is waited for */
	bool hold;                /* then wait for the peer too (rd_fo_peers_notify_hold) */
	struct target t;
	struct timespec t0;
	uint8_t type;
	uint32_t addr;
	char mac[52];
	size_t len;
	uint8_t buf[];
};

static uint64_t since_us(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int64_t us = (int64_t)(t1.tv_sec - t0->tv_sec) * 1000000 + (t1.tv_nsec - t0->tv_nsec) / 1000;
	return us > 0 ? (uint64_t)us : 0;
}

/* Count (or log) the outcome r of sending p. */
static void pending_account(struct pending *p, int r)
{
	char ip[16];
	if (r < 0) {
		fmt_ip(p->addr, ip, sizeof(ip));
		rd_log(LOG_WARNING, "%s %s to %s: send failed: %s", rd_dhcp_msgtype_name(p->type), ip,
		       p->mac, strerror(-r));
		rd_ctr_add(&p->ctr->drop[RD_DROP_SEND], 1);
	} else {
		rd_ctr_add(&p->ctr->tx[p->type < RD_CTR_MSGTYPES ? p->type : 0], 1);
	}
}

static void pending_send(struct pending *p)
{
	pending_account(p, send_target(&p->t, p->buf, p->len));
}

/* Free a pending reply; committed: its lease stands (durable, and the peer
 * has it when that was waited for), so MAAS hears of the commit, as ISC's
 * `on commit` would tell it.  A reply dropped after all tells nothing. */
static void pending_free(struct pending *p, bool committed)
{
	if (committed && p->ev)
		(void)rd_events_push(p->events, p->ev);
	free(p->ev);
	free(p);
}

static void pending_queue_fo(struct pending *p);

/* A held reply's outcome (failover thread): the peer acked the change, or
 * the reply is dropped and the client retransmits (fo_peer.h). */
static void pending_released(void *ctx, int status, const char *why)
{
	struct pending *p = ctx;
	if (status < 0) {
		char ip[16];
		fmt_ip(p->addr, ip, sizeof(ip));
		rd_log(LOG_WARNING, "%s %s to %s not sent: %s (the client will retry)", rd_dhcp_msgtype_name(p->type),
		       ip, p->mac, why ? why : rd_strerror(status));
		rd_ctr_add(&p->ctr->drop[RD_DROP_ENGINE], 1);
		pending_free(p, false);
		return;
	}
	pending_queue_fo(p);
}

/*
 * Replies released by one group commit leave together: pending_done (on the
 * store's writer thread) queues them in that thread's batch, and
 * flush_released, which the store runs once after the completions of each
 * batch, sends them with one sendmmsg per socket (io.h) and then frees them.
 * Each is still sent only after its fsync; the batch only saves syscalls.
 * Replies held for the peer (ack_after_peer) are released by its BNDACKs on
 * the failover thread, which has a batch of its own, sent at the end of
 * each round of its loop (rd_fo_peers_set_release_end).
 */
static __thread rd_io_batch_t released;   /* zero (sent == NULL) until first used */

static void released_sent(void *ctx, void *tag, int err)
{
	(void)ctx;
	struct pending *p = tag;
	pending_account(p, err);
	pending_free(p, true);
}

static void flush_released(void)
{
	rd_io_batch_flush(&released);
}

/* Queue p in this thread's batch (flush_released sends it). */
static void released_add(struct pending *p)
{
	if (!released.sent)
		rd_io_batch_init(&released, released_sent, NULL);
	if (p->t.fd < 0 || (p->t.kind != SEND_RAW && p->t.kind != SEND_UDP)) {
		pending_send(p);
		pending_free(p, true);
		return;
	}
	if (p->t.kind == SEND_RAW)
		rd_io_batch_raw(&released, p->t.fd, p->t.ifindex, p->t.mac, p->buf, p->len, p);
	else
		rd_io_batch_udp(&released, p->t.fd, p->t.dst, p->t.port, p->t.src, p->t.ifindex, p->buf, p->len, p);
}

/* The store's writer thread: the store runs flush_released after the
 * completions of each batch (setting the same hook again costs a load). */
static void pending_queue(struct pending *p)
{
	rd_store_set_batch_end(p->store, flush_released);
	released_add(p);
}

/* The same on the failover thread, for replies the peer's BNDACKs release:
 * they leave at the end of its round (rd_fo_peers_set_release_end). */
static void pending_queue_fo(struct pending *p)
{
	rd_fo_peers_set_release_end(p->fo, flush_released);
	released_add(p);
}

/* Store completion (writer thread): the lease is durable, or failed. */
static void pending_done(void *ctx, int status)
{
	struct pending *p = ctx;
	char ip[16];
	rd_ctr_add(&p->ctr->acks_waited, 1);
	rd_ctr_add(&p->ctr->ack_wait_us, since_us(&p->t0));
	if (status < 0) {
		fmt_ip(p->addr, ip, sizeof(ip));
		rd_log(LOG_ERR, "%s %s to %s not sent: the lease could not be made durable: %s",
		       rd_dhcp_msgtype_name(p->type), ip, p->mac, rd_strerror(status));
		rd_ctr_add(&p->ctr->drop[RD_DROP_STORE], 1);
		pending_free(p, false);
		return;
	}
	/* Durable here; with ack_after_peer the reply now waits for the
	 * peer's BNDACK (pending_released sends or drops it). */
	if (p->hold && rd_fo_peers_notify_hold(p->fo, p->lease_addr, pending_released, p))
		return;
	if (!p->hold)
		rd_fo_peers_notify(p->fo, p->lease_addr);
	pending_queue(p);
}

/* A lease change without a reply waiting: with a failover peer, its store
 * completion queues the BNDUPD (only durable changes are replicated). */
struct fo_note {
	rd_fo_peers_t *fo;
	uint32_t addr;
};

static void fo_note_done(void *ctx, int status)
{
	struct fo_note *n = ctx;
	if (status >= 0)
		rd_fo_peers_notify(n->fo, n->addr);
	free(n);
}

static int submit(rd_daemon_t *d, const rd_lease_t *l, const char *event)
{
	if (!rcu_dereference(d->failover))
		return rd_store_submit(d->store, l, event, NULL, NULL);
	struct fo_note *n = malloc(sizeof(*n));
	if (!n)
		return RD_ENOMEM;
	n->fo = rcu_dereference(d->failover);
	n->addr = l->addr;
	int r = rd_store_submit(d->store, l, event, fo_note_done, n);
	if (r < 0)
		free(n);
	return r;
}

/* ------------------------------------------------------------ the path */

static void drop(rd_worker_t *w, enum rd_drop why, const char *mac, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void drop(rd_worker_t *w, enum rd_drop why, const char *mac, const char *fmt, ...)
{
	rd_ctr_add(&w->ctr->drop[why], 1);
	if (!rd_log_enabled(LOG_DEBUG))
		return;
	char text[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	rd_log(LOG_DEBUG, "dropped (%s)%s%s: %s", rd_drop_name(why), mac ? " from " : "", mac ? mac : "", text);
}

/* At most QUIET_LINES "no answer" lines per second and worker; the rest
 * are counted (as always) and summed up in the next second's first line. */
#define QUIET_LINES 20

static bool quiet_log_ok(rd_worker_t *w, uint64_t now_ms)
{
	uint64_t sec = now_ms / 1000;
	if (sec != w->quiet_sec) {
		if (w->quiet_suppressed)
			rd_log(LOG_INFO, "worker %u: %llu more requests got no answer in the last second (not logged "
			       "one by one; see the drop counters)", w->id, (unsigned long long)w->quiet_suppressed);
		w->quiet_sec = sec;
		w->quiet_lines = 0;
		w->quiet_suppressed = 0;
	}
	if (w->quiet_lines < QUIET_LINES) {
		w->quiet_lines++;
		return true;
	}
	w->quiet_suppressed++;
	return false;
}

/*
 * Our address on the receiving link for the engine: the local address a
 * unicast datagram was sent to when it lies in a configured subnet, else
 * the link's first address that does.
 */
static bool pick_link_addr(const rd_config_t *cfg, const rd_link_t *l, uint32_t prefer, uint32_t *addr,
			   uint32_t *mask)
{
	if (prefer && l) {
		for (unsigned i = 0; i < l->n_addrs; i++) {
			if (l->addr[i] == prefer) {
				*addr = prefer;
				*mask = l->mask[i];
				return true;
			}
		}
	}
	for (unsigned i = 0; l && i < l->n_addrs; i++) {
		if (rd_config_subnet_for(cfg, l->addr[i])) {
			*addr = l->addr[i];
			*mask = l->mask[i];
			return true;
		}
	}
	return false;
}

static bool same_client(const rd_lease_t *a, const rd_lease_t *b)
{
	uint8_t ka[RD_LEASE_KEY_MAX], kb[RD_LEASE_KEY_MAX];
	size_t na = rd_lease_key(a, ka), nb = rd_lease_key(b, kb);
	return na && na == nb && memcmp(ka, kb, na) == 0;
}

static const char *store_event(uint8_t qtype, uint8_t rtype)
{
	if (rtype == RD_DHCPACK)
		return "ack";
	switch (qtype) {
	case RD_DHCPDECLINE: return "decline";
	case RD_DHCPRELEASE: return "release";
	case RD_DHCPREQUEST: return "request";
	default: return "change";
	}
}

/* Outcome of a queued reply (tag: its slot in txnote). */
static void tx_sent(void *ctx, void *tag, int err)
{
	rd_worker_t *w = ctx;
	const struct tx_note *n = &w->txnote[(uintptr_t)tag];
	if (err < 0)
		drop(w, RD_DROP_SEND, n->mac, "send: %s", strerror(-err));
	else
		rd_ctr_add(&w->ctr->tx[n->type < RD_CTR_MSGTYPES ? n->type : 0], 1);
}

static void tx_flush(rd_worker_t *w)
{
	if (w->txn)
		rd_io_batch_flush(&w->tx);
	w->txn = 0;
	w->txused = 0;
}

/* Queue a reply for the flush at the end of the receive batch. */
static void tx_queue(rd_worker_t *w, const struct target *t, const uint8_t *buf, size_t len, uint8_t type,
		     const char *mac)
{
	if (w->txn == RX_BATCH || len > TX_ARENA - w->txused)
		tx_flush(w);
	unsigned i = w->txn++;
	uint8_t *copy = w->txarena + w->txused;
	memcpy(copy, buf, len);
	w->txused += (len + 15) & ~(size_t)15;
	if (w->txused > TX_ARENA)
		w->txused = TX_ARENA;
	w->txnote[i].type = type;
	memcpy(w->txnote[i].mac, mac, sizeof(w->txnote[i].mac));
	if (t->kind == SEND_RAW)
		rd_io_batch_raw(&w->tx, t->fd, t->ifindex, t->mac, copy, len, (void *)(uintptr_t)i);
	else
		rd_io_batch_udp(&w->tx, t->fd, t->dst, t->port, t->src, t->ifindex, copy, len, (void *)(uintptr_t)i);
}

void rd_worker_handle(rd_worker_t *w, const rd_rx_t *rx, uint32_t now, uint64_t now_ms)
{
	rd_daemon_t *d = w->d;
	rd_frame_t fr;
	rd_diag_t diag;
	char mac[52] = "", ip[16];
	const uint8_t *payload;
	size_t plen;

	rd_ctr_add(&w->ctr->frames, 1);
	rd_diag_clear(&diag);
	if (rx->truncated)
		return drop(w, RD_DROP_FRAME, NULL, "oversized frame on ifindex %d (> %d bytes)", rx->ifindex, RX_BUF);
	if (rx->raw) {
		if (rd_frame_parse_eth(rx->data, rx->len, rx->csum_unverified ? RD_FRAME_NO_UDP_CSUM : 0, &fr,
				       &diag) < 0)
			return drop(w, RD_DROP_FRAME, NULL, "ifindex %d: %s", rx->ifindex, diag.reason);
		if (fr.udp.dport != RD_DHCP_SERVER_PORT || fr.ip.dst != 0xffffffffu)
			return drop(w, RD_DROP_FRAME, NULL, "ifindex %d: not a broadcast to port 67", rx->ifindex);
		payload = fr.payload;
		plen = fr.payload_len;
	} else {
		/* Limited broadcasts also reach the UDP socket: the raw socket of
		 * that link answers them (or the link is not served). */
		if (rx->dst == 0xffffffffu)
			return;
		payload = rx->data;
		plen = rx->len;
	}
	if (rd_dhcp_parse(payload, plen, &w->req, &diag) < 0)
		return drop(w, RD_DROP_PARSE, NULL, "ifindex %d: %s: %s", rx->ifindex, rd_strerror(diag.code),
			    diag.reason);
	const rd_dhcp_t *m = &w->req;
	if (m->op != RD_BOOTREQUEST)
		return drop(w, RD_DROP_NOT_REQUEST, NULL, "a BOOTREPLY on ifindex %d", rx->ifindex);
	fmt_mac(m->chaddr, m->hlen, mac, sizeof(mac));
	const char *qname = m->msgtype ? rd_dhcp_msgtype_name(m->msgtype) : "BOOTREQUEST";
	rd_ctr_add(&w->ctr->rx[m->msgtype < RD_CTR_MSGTYPES ? m->msgtype : 0], 1);

	if (d->ratelimit) {
		uint8_t key[1 + RD_DHCP_CHADDR_LEN];
		key[0] = m->htype;
		memcpy(key + 1, m->chaddr, m->hlen <= RD_DHCP_CHADDR_LEN ? m->hlen : RD_DHCP_CHADDR_LEN);
		switch (rd_ratelimit_check(d->ratelimit, key, 1u + (m->hlen <= 16 ? m->hlen : 16), now_ms)) {
		case RD_RL_CLIENT:
			return drop(w, RD_DROP_RATE_CLIENT, mac, "%s: per-client rate limit",
				    qname);
		case RD_RL_GLOBAL:
			return drop(w, RD_DROP_RATE_GLOBAL, mac, "%s: global rate limit",
				    qname);
		default:
			break;
		}
	}

	const char *ifname = "?";
	for (int attempt = 0;; attempt++) {
		rcu_read_lock();
		const rd_config_t *cfg = rd_config_current();
		const rd_link_t *link = rd_links_find(rx->ifindex);
		rd_engine_in_t in = {
			.now = now,
			.cfg = cfg,
			.table = d->table,
			.src_addr = rx->raw ? fr.ip.src : rx->src,
			.via_unicast = !rx->raw,
			.fo = rd_fo_peers_engine(rcu_dereference(d->failover)),
			/* an OFFER's or ACK's reason only goes into the INFO line */
			.no_reason = !rd_log_enabled(LOG_INFO),
		};
		if (link)
			ifname = link->name;
		if (!cfg) {
			rcu_read_unlock();
			return drop(w, RD_DROP_NO_LINK, mac, "no configuration yet");
		}
		if (rx->raw || !m->giaddr) {
			/* From a client on this link: only links we serve. */
			if (!link || !link->served ||
			    !pick_link_addr(cfg, link, rx->raw ? 0 : rx->dst, &in.link_addr, &in.link_mask)) {
				rcu_read_unlock();
				return drop(w, RD_DROP_NO_LINK, mac, "%s on %s: no served subnet on this link",
					    qname, link ? link->name : "an unknown link");
			}
		} else {
			/* Relayed: the engine picks the subnet from giaddr (or
			 * 82.5/118); we answer from the address the relay used. */
			in.link_addr = rx->dst;
			in.link_mask = 0xffffffffu;
			if (link)
				pick_link_addr(cfg, link, rx->dst, &in.link_addr, &in.link_mask);
		}

		rd_engine_out_t *o = &w->out;
		if (rd_engine_process(&in, m, o) < 0 || o->action == RD_ENGINE_DROP) {
			bool internal = strncmp(o->reason, "internal", 8) == 0;
			rd_engine_abort(d->table, o);
			rcu_read_unlock();
			if (rd_log_enabled(LOG_INFO) && !internal && quiet_log_ok(w, now_ms))
				rd_log(LOG_INFO, "%s from %s via %s: no answer: %s", qname, mac,
				       ifname, o->reason);
			return drop(w, internal ? RD_DROP_INTERNAL : RD_DROP_ENGINE, mac, "%s", o->reason);
		}

		/* Clients without any lease may take addresses only at the
		 * new-clients rate: a flood of random MACs cannot drain the pool. */
		if (d->ratelimit && m->msgtype == RD_DHCPDISCOVER && o->new_lease &&
		    !(o->old_lease && same_client(o->old_lease, o->new_lease)) &&
		    rd_ratelimit_new_client(d->ratelimit, now_ms) != RD_RL_PASS) {
			rd_engine_abort(d->table, o);
			rcu_read_unlock();
			return drop(w, RD_DROP_RATE_NEW, mac, "DISCOVER: new-clients rate limit");
		}

		const rd_lease_t *published = NULL;
		if (o->new_lease) {
			int r = rd_table_replace(d->table, o->old_lease, o->new_lease);
			if (r == RD_ECONFLICT && attempt == 0) {
				/* Someone changed that address between our read and
				 * our publish: decide again on the new state. */
				rd_engine_abort(d->table, o);
				rcu_read_unlock();
				continue;
			}
			if (r < 0) {
				rd_engine_abort(d->table, o);
				rcu_read_unlock();
				return drop(w, RD_DROP_INTERNAL, mac, "lease change refused by the table: %s",
					    rd_strerror(r));
			}
			published = o->new_lease;
			o->new_lease = NULL;    /* the table owns it */
			o->claimed = 0;
		}
		bool offer_only = published && (published->flags & RD_ENGINE_F_OFFERED);
		bool durable = published && !offer_only;
		bool sync = cfg->server.durability == RD_DURABILITY_SYNC && d->store;

		if (o->action == RD_ENGINE_COMMIT) {
			if (durable && d->store &&
			    submit(d, published, store_event(m->msgtype, 0)) < 0)
				rd_ctr_add(&w->ctr->drop[RD_DROP_STORE], 1);
			if (durable && m->msgtype == RD_DHCPRELEASE && published->state == RD_LEASE_RELEASED)
				(void)rd_events_emit(d->events, RD_EVENT_RELEASE, published, 0);
			rcu_read_unlock();
			if (rd_log_enabled(LOG_INFO))
				rd_log(LOG_INFO, "%s from %s via %s: %s", qname, mac, ifname,
				       o->reason);
			return;
		}

		/* Lay out the reply and wrap it as the engine asked. */
		uint8_t rtype = reply_type(&o->reply);
		int n = rd_dhcp_build(&o->reply, o->prl, o->prl_len, o->max_msg, w->payload, sizeof(w->payload),
				      NULL, &diag);
		struct target t = { .kind = SEND_NONE, .fd = -1 };
		const uint8_t *out = w->payload;
		size_t out_len = n > 0 ? (size_t)n : 0;
		const rd_engine_dest_t *dst = &o->dest;
		const rd_link_t *txl = link && link->served && link->tx_fd >= 0 ? link : NULL;
		if (n > 0) {
			if (dst->to_relay || (!dst->broadcast && dst->ip == m->ciaddr && m->ciaddr) || !txl) {
				/* Relays, clients that have an address, and links
				 * without raw sockets: UDP, routed by the kernel. */
				t.kind = SEND_UDP;
				t.fd = w->udp_fd;
				t.dst = dst->ip;
				t.port = dst->port;
				t.src = in.link_addr;
				t.ifindex = dst->to_relay ? 0 : rx->ifindex;
			} else {
				/* A client without an address: a whole frame,
				 * broadcast or to its chaddr (RFC 2131 §4.1). */
				rd_frame_hdr_t h = {
					.ip_src = in.link_addr,
					.ip_dst = dst->broadcast ? 0xffffffffu : dst->ip,
					.sport = RD_DHCP_SERVER_PORT,
					.dport = dst->port,
				};
				memcpy(h.eth_src, txl->mac, 6);
				if (dst->broadcast)
					memset(h.eth_dst, 0xff, 6);
				else
					memcpy(h.eth_dst, dst->mac, dst->mac_len < 6 ? dst->mac_len : 6);
				n = rd_frame_build(w->frame, sizeof(w->frame), &h, w->payload, out_len);
				t.kind = SEND_RAW;
				t.fd = rx->sock ? txl->tx_fd : -1;
				t.ifindex = txl->ifindex;
				memcpy(t.mac, h.eth_dst, 6);
				out = w->frame;
				out_len = n > 0 ? (size_t)n : 0;
			}
		}
		if (n <= 0) {
			if (durable && d->store)
				(void)submit(d, published, store_event(m->msgtype, rtype));
			rcu_read_unlock();
			rd_log(LOG_WARNING, "%s from %s via %s: cannot build the %s: %s",
			       qname, mac, ifname, rd_dhcp_msgtype_name(rtype),
			       n < 0 ? (diag.code ? diag.reason : "frame too large") : "empty");
			return drop(w, RD_DROP_SEND, mac, "reply not built");
		}

		if (rd_log_enabled(LOG_INFO)) {
			fmt_ip(o->reply.yiaddr, ip, sizeof(ip));
			rd_log(LOG_INFO, "%s %s to %s%s%.*s%s via %s: %s", rd_dhcp_msgtype_name(rtype), ip, mac,
			       published && published->host_len ? " (" : "",
			       published ? (int)published->host_len : 0, published ? rd_lease_host(published) : "",
			       published && published->host_len ? ")" : "", ifname, o->reason);
		}

		/* ack_after_peer (fo_peer.h): in NORMAL the reply also waits
		 * for the peer's BNDACK, whatever the durability setting. */
		bool hold = durable && d->store && rd_fo_peers_hold_wanted(rcu_dereference(d->failover), published->addr);
		if ((durable && sync) || hold) {
			struct pending *p = malloc(sizeof(*p) + out_len);
			if (!p) {
				rcu_read_unlock();
				return drop(w, RD_DROP_INTERNAL, mac, "out of memory");
			}
			p->ctr = w->ctr;
			p->store = d->store;
			p->fo = rcu_dereference(d->failover);
			p->events = d->events;
			p->ev = NULL;
			if (d->events && rtype == RD_DHCPACK) {
				p->ev = malloc(sizeof(*p->ev));
				if (!p->ev || rd_event_from_lease(p->ev, RD_EVENT_COMMIT, published, 0, 0) < 0) {
					free(p->ev);
					p->ev = NULL;
				}
			}
			p->lease_addr = published->addr;
			p->hold = hold;
			p->t = t;
			clock_gettime(CLOCK_MONOTONIC, &p->t0);
			p->type = rtype;
			p->addr = o->reply.yiaddr;
			memcpy(p->mac, mac, sizeof(p->mac));
			p->len = out_len;
			memcpy(p->buf, out, out_len);
			int r = rd_store_submit(d->store, published, store_event(m->msgtype, rtype), pending_done, p);
			rcu_read_unlock();
			if (r < 0) {
				free(p->ev);
				free(p);
				return drop(w, RD_DROP_STORE, mac, "lease store refused the change: %s", rd_strerror(r));
			}
			return;
		}
		if (durable && d->store &&
		    submit(d, published, store_event(m->msgtype, rtype)) < 0)
			rd_ctr_add(&w->ctr->drop[RD_DROP_STORE], 1);
		if (durable && rtype == RD_DHCPACK)
			(void)rd_events_emit(d->events, RD_EVENT_COMMIT, published, 0);
		rcu_read_unlock();
		if (w->batching && t.fd >= 0 && (t.kind == SEND_RAW || t.kind == SEND_UDP) && out_len <= TX_ARENA)
			return tx_queue(w, &t, out, out_len, rtype, mac);
		int r = send_target(&t, out, out_len);
		if (r < 0)
			return drop(w, RD_DROP_SEND, mac, "send: %s", strerror(-r));
		rd_ctr_add(&w->ctr->tx[rtype < RD_CTR_MSGTYPES ? rtype : 0], 1);
		return;
	}
}

/* ------------------------------------------------------------- threads */

rd_worker_t *rd_worker_new(rd_daemon_t *d, unsigned id, int udp_fd)
{
	rd_worker_t *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->d = d;
	w->id = id;
	w->udp_fd = udp_fd;
	w->ctr = &d->counters[id];
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->epfd < 0 || w->stop_fd < 0)
		goto fail;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->stop_fd, &ev) < 0)
		goto fail;
	if (udp_fd >= 0) {
		w->udp_sock = (rd_sock_t){ .fd = udp_fd, .raw = false, .worker = w };
		if (rd_worker_add_sock(w, &w->udp_sock) < 0)
			goto fail;
	}
	for (unsigned i = 0; i < RX_BATCH; i++) {
		w->iov[i].iov_base = w->rxbuf[i];
		w->iov[i].iov_len = RX_BUF;
	}
	rd_io_batch_init(&w->tx, tx_sent, w);
	return w;
fail:
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->stop_fd >= 0)
		close(w->stop_fd);
	free(w);
	return NULL;
}

int rd_worker_udp_fd(const rd_worker_t *w)
{
	return w->udp_fd;
}

int rd_worker_add_sock(rd_worker_t *w, rd_sock_t *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
	s->worker = w;
	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0 ? -errno : 0;
}

int rd_worker_del_sock(rd_worker_t *w, rd_sock_t *s)
{
	return epoll_ctl(w->epfd, EPOLL_CTL_DEL, s->fd, NULL) < 0 ? -errno : 0;
}

/* Read what one socket has (at most a few batches, so that one busy socket
 * does not starve the others) and run each message through the path. */
static void drain(rd_worker_t *w, rd_sock_t *s)
{
	for (int round = 0; round < 4; round++) {
		for (unsigned i = 0; i < RX_BATCH; i++) {
			w->msgs[i].msg_hdr = (struct msghdr){
				.msg_name = &w->names[i],
				.msg_namelen = sizeof(w->names[i]),
				.msg_iov = &w->iov[i],
				.msg_iovlen = 1,
				.msg_control = w->rxctl[i],
				.msg_controllen = sizeof(w->rxctl[i]),
			};
			w->msgs[i].msg_len = 0;
		}
		int n = recvmmsg(s->fd, w->msgs, RX_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				rd_log(LOG_WARNING, "receive on %s: %s", s->raw ? s->ifname : "UDP port 67",
				       strerror(errno));
			return;
		}
		struct timespec rt, mt;
		clock_gettime(CLOCK_REALTIME, &rt);
		clock_gettime(CLOCK_MONOTONIC, &mt);
		uint32_t now = (uint32_t)rt.tv_sec;
		uint64_t now_ms = (uint64_t)mt.tv_sec * 1000 + (uint64_t)mt.tv_nsec / 1000000;
		for (int i = 0; i < n; i++) {
			struct msghdr *mh = &w->msgs[i].msg_hdr;
			rd_rx_t rx = {
				.data = w->rxbuf[i],
				.len = w->msgs[i].msg_len,
				.truncated = (mh->msg_flags & MSG_TRUNC) != 0,
				.raw = s->raw,
				.ifindex = s->ifindex,
				.sock = s,
			};
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
				if (s->raw && cm->cmsg_level == SOL_PACKET && cm->cmsg_type == PACKET_AUXDATA) {
					struct tpacket_auxdata aux;
					memcpy(&aux, CMSG_DATA(cm), sizeof(aux));
					if (aux.tp_status & (TP_STATUS_CSUMNOTREADY | TP_STATUS_CSUM_VALID))
						rx.csum_unverified = true;
				} else if (!s->raw && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
					uint32_t total;
					memcpy(&total, CMSG_DATA(cm), sizeof(total));
					if (total != w->udp_ovfl) {
						rd_ctr_add(&w->ctr->drop[RD_DROP_KERNEL], (uint32_t)(total - w->udp_ovfl));
						w->udp_ovfl = total;
					}
				} else if (!s->raw && cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
					struct in_pktinfo pi;
					memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
					rx.ifindex = pi.ipi_ifindex;
					rx.dst = ntohl(pi.ipi_addr.s_addr);
				}
			}
			if (!s->raw) {
				const struct sockaddr_in *sin = (const struct sockaddr_in *)&w->names[i];
				rx.src = ntohl(sin->sin_addr.s_addr);
				rx.sport = ntohs(sin->sin_port);
			}
			w->batching = true;
			rd_worker_handle(w, &rx, now, now_ms);
			w->batching = false;
		}
		tx_flush(w);
		if (n < RX_BATCH)
			return;
	}
}

static void *worker_main(void *arg)
{
	rd_worker_t *w = arg;
	struct epoll_event ev[16];

	char name[16];
	snprintf(name, sizeof(name), "rd-worker%u", w->id % 1000u);
	(void)pthread_setname_np(pthread_self(), name);   /* for top -H and perf */
	rcu_register_thread();
	for (;;) {
		int n = epoll_wait(w->epfd, ev, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rd_log(LOG_ERR, "worker %u: epoll_wait: %s", w->id, strerror(errno));
			break;
		}
		bool stop = false;
		for (int i = 0; i < n; i++) {
			if (!ev[i].data.ptr)
				stop = true;
			else
				drain(w, ev[i].data.ptr);
		}
		if (stop)
			break;
	}
	rcu_unregister_thread();
	return NULL;
}

int rd_worker_start(rd_worker_t *w)
{
	int r = pthread_create(&w->thread, NULL, worker_main, w);
	if (r)
		return -r;
	w->started = true;
	return 0;
}

void rd_worker_free(rd_worker_t *w)
{
	if (!w)
		return;
	if (w->started) {
		uint64_t one = 1;
		ssize_t wr = write(w->stop_fd, &one, sizeof(one));
		(void)wr;
		pthread_join(w->thread, NULL);
	}
	close(w->epfd);
	close(w->stop_fd);
	free(w);
}
