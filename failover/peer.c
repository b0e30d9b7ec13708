/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * peer.c — the daemon's failover peers (fo_peer.h): link events into the
 * state machine, the machine's actions carried out, BNDUPD/BNDACK lease
 * replication, and the engine seam.
 *
 * Threads.  Everything here runs on the failover thread, except:
 *  - rd_fo_peers_notify() (workers, the main thread's expiry) and the store
 *    completions of the peer's BNDUPDs (the store writer): both only append
 *    to a mutex-guarded inbox and poke an eventfd;
 *  - the engine callbacks (workers): they read only the `pub` atomics, which
 *    the failover thread writes after each state change.
 * So the link, the machine and the update queues need no lock.  The set of
 * relationships is an RCU-published vector (struct peer_vec) that only the
 * failover thread replaces, when a reload reconfigures it (reconfiguration
 * section below); a removed peer is freed after a grace period.
 *
 * Updates are lazy (doc §5.3): the queue holds addresses, and the BNDUPD
 * carries whatever version the table holds when it goes out, so a burst of
 * changes to one address costs one message.
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

#include "rackdhcp/engine.h"
#include "rackdhcp/fo_balance.h"
#include "rackdhcp/fo_link.h"
#include "rackdhcp/fo_peer.h"
#include "rackdhcp/fo_state.h"
#include "rackdhcp/log.h"
#include "rackdhcp/rcu.h"

#define MAX_INFLIGHT 1024       /* our cap on the peer's max-unacked */
#define RACK_WINDOW 128         /* updates in flight towards a rackdhcpd peer (on_up) */
#define SHUTDOWN_WAIT_MS 5000   /* ISC waits about 5 s for PARTNER-DOWN */

typedef struct rd_fo_peer rd_fo_peer_t;

struct inflight {
	uint32_t addr, xid;
	uint32_t tstp;          /* potential expiry it carried */
	uint8_t status;         /* binding status it carried */
	uint64_t lseq;          /* the lease version (rd_lease_t.seq) it carried */
	uint64_t seq;           /* the peer's upd_seq when it was sent (held replies) */
	bool refused_theirs;    /* we refused the peer's update of addr meanwhile */
};

/* A reply held for the peer's BNDACK (fo_peer.h, ack_after_peer). */
struct hold {
	struct hold *next;
	rd_fo_release_fn fn;
	void *ctx;
	uint32_t addr;
	uint64_t min_seq;       /* released by the BNDACK of a BNDUPD with seq >= this */
	uint64_t deadline_ms;
};

/* What other threads may read: written by the failover thread only. */
struct pub {
	_Atomic uint8_t state, partner;
	_Atomic uint32_t stos, mclt;
	_Atomic bool linked, has_hba;
	_Atomic uint64_t hba[4];
	_Atomic size_t queued, unacked;
	_Atomic uint32_t window;
	_Atomic uint32_t last_contact;  /* Unix time of the peer's last message */
	_Atomic uint64_t bndupd_sent, bndack_recv, bndupd_recv, bndack_sent, bndupd_rejected;
	_Atomic size_t replies_waiting;
	_Atomic uint64_t replies_held, replies_released, replies_dropped;
	_Atomic uint64_t balance_runs, balance_moved, poolreq_sent, poolreq_recv, poolresp_recv;
	_Atomic uint32_t balance_next;
};

struct rd_fo_peer {
	rd_fo_peers_t *set;
	unsigned idx;                   /* unique in the set's life: ack jobs find their peer by it */
	char name[128];
	rd_cfg_failover_t cfg;          /* copy; cfg.name points at name */
	rd_fo_link_t *link;
	rd_fo_sm_t sm;
	uint64_t link_gen;              /* bumped per link up: late store acks for an old link are dropped */
	uint32_t max_unacked;           /* the peer's, capped */
	/* BNDUPD send queue: a FIFO of addresses, and the set of the addresses
	 * waiting in it (an address is queued once; see enqueue) */
	uint32_t *q;
	size_t q_head, q_len, q_cap;
	uint32_t *qs;                   /* open addressing, 0 = empty slot */
	size_t qs_cap, qs_n;
	/* the rebalance timer (doc §5.5), NORMAL only: 0 = not planned */
	uint32_t bal_at, bal_last;
	uint32_t rng;                   /* the timer's 0-4 s jitter */
	struct inflight *fl;
	size_t n_fl;
	/* an UPDREQ(ALL) of the peer we answer: UPDDONE once everything is acked */
	bool upddone_pending;
	uint32_t upddone_xid;
	uint32_t pending_req_xid;       /* xid of the peer's UPDREQ(ALL) being handed to the machine */
	atomic_bool partner_down_req;   /* operator's PARTNER-DOWN, applied by the failover thread */
	struct { uint32_t start, end; } *joined;  /* pools that joined it: their bindings go to the partner */
	size_t n_joined;
	/* replies held for a BNDACK, oldest first; BNDUPDs numbered 1, 2, ... */
	struct hold *held, **held_tail;
	uint64_t upd_seq;
	struct pub pub;
};

/* Which relationship each pool belonged to at the last settled configuration. */
struct pool_owner {
	uint32_t start;
	char name[128];                 /* "" : no failover */
};

/*
 * The relationships, as the other threads see them: published with RCU, so
 * a reconfiguration (rd_fo_peers_reconfigure) swaps the whole vector and
 * frees a removed peer only after a grace period.  Readers (the engine seam,
 * status, the operator's requests) hold rcu_read_lock; the failover thread
 * is the only writer.
 */
struct peer_vec {
	size_t n;
	rd_fo_peer_t *p[];
};

/* A reconfiguration handed to the failover thread; the caller waits on done. */
struct reconf {
	const rd_config_t *cfg;
	bool claimed, done;
	int rc;
	char err[256];
};

/* A peer's BNDUPD made durable (or not): the BNDACK to send. */
struct ack_job {
	struct ack_job *next;
	rd_fo_peers_t *set;
	unsigned peer;
	uint64_t link_gen;
	uint32_t xid, addr;
	int status;
};

struct rd_fo_peers {
	rd_table_t *table;
	rd_store_t *store;
	struct peer_vec *vec;           /* RCU-published; see struct peer_vec */
	unsigned next_idx;
	rd_engine_fo_t engine;
	pthread_t thr;
	bool thr_started;
	int wake_fd;
	atomic_bool wake_pending;       /* wake_fd written since the thread last looked */
	_Atomic(rd_fo_release_end_fn) release_end;   /* see rd_fo_peers_set_release_end */
	atomic_bool stop, graceful;
	pthread_mutex_t lock;           /* guards the inbox below */
	uint32_t *changed;
	size_t n_changed, cap_changed;
	struct ack_job *acks, **acks_tail;
	struct reconf *reconf;          /* a reconfiguration waiting for the thread */
	pthread_cond_t reconf_cv;       /* signals reconf claimed / done (with lock) */
	uint64_t cfg_gen;               /* config generation pools were last settled for */
	struct pool_owner *owners;      /* pools -> relationship at cfg_gen (failover thread) */
	size_t n_owners;
	bool have_owners;
	struct hold *holds_in, **holds_in_tail;   /* replies to hold, not yet registered */
	unsigned drop_req, drop_done;   /* rd_fo_peers_drop_held tickets; done signals `dropped` */
	const char *drop_why;
	pthread_cond_t dropped;
};

/* ------------------------------------------------------------ helpers */

static void fmt_ip(uint32_t a, char *buf, size_t cap)
{
	snprintf(buf, cap, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static uint32_t now_s(void)
{
	return (uint32_t)time(NULL);
}

/*
 * Wake the failover thread.  A group commit completes its changes back to
 * back, each queueing an address or an ack here: only the first of them
 * since the thread last cleared wake_pending writes the eventfd (one
 * syscall and one wake-up per batch instead of per lease).  The thread
 * clears the flag before it takes the inbox lock, so whatever was queued
 * before a skipped write is drained by that same round.
 */
static void wake(rd_fo_peers_t *s)
{
	if (atomic_exchange(&s->wake_pending, true))
		return;
	uint64_t one = 1;
	ssize_t w = write(s->wake_fd, &one, sizeof(one));
	(void)w;
}

/* The published relationships: inside rcu_read_lock, or on the failover thread. */
static struct peer_vec *peers_vec(rd_fo_peers_t *s)
{
	return rcu_dereference(s->vec);
}

static rd_fo_peer_t *peer_named(rd_fo_peers_t *s, const char *name)
{
	struct peer_vec *v = peers_vec(s);
	for (size_t i = 0; v && i < v->n; i++)
		if (!strcmp(v->p[i]->name, name))
			return v->p[i];
	return NULL;
}

/* The relationship of the pool holding addr, or NULL.  Inside rcu_read_lock. */
static rd_fo_peer_t *peer_for_addr(rd_fo_peers_t *s, const rd_config_t *cfg, uint32_t addr)
{
	if (!cfg)
		return NULL;
	const rd_cfg_subnet_t *sn = rd_config_subnet_for(cfg, addr);
	const rd_cfg_pool_t *pl = sn ? rd_config_pool_for(sn, addr) : NULL;
	if (!pl || !pl->failover || !pl->failover->name)
		return NULL;
	return peer_named(s, pl->failover->name);
}

/* The relationship governing subnet sn: that of its first failover pool. */
static rd_fo_peer_t *peer_for_subnet(rd_fo_peers_t *s, const rd_cfg_subnet_t *sn)
{
	for (size_t k = 0; sn && k < sn->n_pools; k++) {
		const rd_cfg_failover_t *f = sn->pools[k].failover;
		if (!f || !f->name)
			continue;
		return peer_named(s, f->name);
	}
	return NULL;
}

static void publish(rd_fo_peer_t *p)
{
	atomic_store(&p->pub.state, p->sm.state);
	atomic_store(&p->pub.partner, p->sm.partner);
	atomic_store(&p->pub.stos, p->sm.stos);
	atomic_store(&p->pub.mclt, p->sm.mclt);
	atomic_store(&p->pub.linked, p->sm.linked);
	atomic_store(&p->pub.queued, p->q_len);
	atomic_store(&p->pub.unacked, p->n_fl);
}

static void set_hba(rd_fo_peer_t *p, const uint8_t *hba)
{
	for (unsigned i = 0; i < 4; i++) {
		uint64_t v;
		memcpy(&v, hba + 8 * i, 8);
		atomic_store(&p->pub.hba[i], v);
	}
	atomic_store(&p->pub.has_hba, true);
}

static bool get_hba(rd_fo_peer_t *p, uint8_t hba[RD_FO_HBA_LEN])
{
	if (!atomic_load(&p->pub.has_hba))
		return false;
	for (unsigned i = 0; i < 4; i++) {
		uint64_t v = atomic_load(&p->pub.hba[i]);
		memcpy(hba + 8 * i, &v, 8);
	}
	return true;
}

static void send_msg(rd_fo_peer_t *p, rd_fo_msg_t *m)
{
	int r = rd_fo_link_send(p->link, m);
	if (r < 0 && r != RD_FO_LINK_ENOTCONN)
		rd_log(LOG_WARNING, "failover %s: cannot send %s: %s", p->name, rd_fo_msg_name(m->type),
		       rd_strerror(r));
}

/* ------------------------------------------------------------ update queue */

/*
 * The queue holds an address once: a BNDUPD is built when it leaves, from
 * the version the table holds then, so a second entry for the same address
 * would only send the same version twice (entry to NORMAL queues what the
 * pool balancing has just queued; an UPDREQALL queues everything).  qs is
 * the set of queued addresses; enqueue_front may leave a duplicate entry
 * in the ring, which dequeue skips once its address has gone.
 */
static size_t qs_home(const rd_fo_peer_t *p, uint32_t addr)
{
	uint32_t h = addr * 2654435761u;
	return (size_t)(h ^ (h >> 16)) & (p->qs_cap - 1);
}

static size_t qs_find(const rd_fo_peer_t *p, uint32_t addr)
{
	size_t i = qs_home(p, addr);
	while (p->qs[i] && p->qs[i] != addr)
		i = (i + 1) & (p->qs_cap - 1);
	return i;
}

static bool qs_grow(rd_fo_peer_t *p)
{
	size_t nc = p->qs_cap ? 2 * p->qs_cap : 256, oc = p->qs_cap;
	uint32_t *nk = calloc(nc, sizeof(*nk)), *ok = p->qs;
	if (!nk)
		return false;
	p->qs = nk;
	p->qs_cap = nc;
	for (size_t i = 0; i < oc; i++)
		if (ok[i])
			p->qs[qs_find(p, ok[i])] = ok[i];
	free(ok);
	return true;
}

/* 1: added, 0: already there, -1: out of memory */
static int qs_add(rd_fo_peer_t *p, uint32_t addr)
{
	if (2 * (p->qs_n + 1) > p->qs_cap && !qs_grow(p))
		return -1;
	size_t i = qs_find(p, addr);
	if (p->qs[i])
		return 0;
	p->qs[i] = addr;
	p->qs_n++;
	return 1;
}

/* false: not there.  Linear probing: later keys of the run shift back. */
static bool qs_del(rd_fo_peer_t *p, uint32_t addr)
{
	if (!p->qs_cap)
		return false;
	size_t m = p->qs_cap - 1, i = qs_find(p, addr), j = i;
	if (!p->qs[i])
		return false;
	for (;;) {
		j = (j + 1) & m;
		if (!p->qs[j])
			break;
		size_t h = qs_home(p, p->qs[j]);
		/* the key at j may fill the hole at i unless its home lies
		 * cyclically in (i, j] */
		bool stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);
		if (!stays) {
			p->qs[i] = p->qs[j];
			i = j;
		}
	}
	p->qs[i] = 0;
	p->qs_n--;
	return true;
}

static bool ring_push(rd_fo_peer_t *p, uint32_t addr)
{
	if (p->q_len == p->q_cap) {
		size_t nc = p->q_cap ? 2 * p->q_cap : 256;
		uint32_t *nq = malloc(nc * sizeof(*nq));
		if (!nq)
			return false;
		for (size_t i = 0; i < p->q_len; i++)
			nq[i] = p->q[(p->q_head + i) % p->q_cap];
		free(p->q);
		p->q = nq;
		p->q_cap = nc;
		p->q_head = 0;
	}
	p->q[(p->q_head + p->q_len) % p->q_cap] = addr;
	p->q_len++;
	return true;
}

/* Queue a BNDUPD for addr, unless one is queued already (it will carry the
 * newest version anyway).  Address 0 is never in a pool: not coalesced. */
static void enqueue(rd_fo_peer_t *p, uint32_t addr)
{
	int r = addr ? qs_add(p, addr) : 1;
	if (r == 0)
		return;
	if (r < 0 || !ring_push(p, addr)) {
		if (r > 0 && addr)
			qs_del(p, addr);
		/* The lease keeps tstp > atsfp: the next entry to NORMAL sends it. */
		rd_log(LOG_ERR, "failover %s: out of memory queueing an update", p->name);
	}
}

static bool dequeue(rd_fo_peer_t *p, uint32_t *addr)
{
	while (p->q_len) {
		uint32_t a = p->q[p->q_head];
		p->q_head = (p->q_head + 1) % p->q_cap;
		p->q_len--;
		if (!a || qs_del(p, a)) {
			*addr = a;
			return true;
		}
		/* a duplicate enqueue_front left behind: its address went */
	}
	return false;
}

/* Queue addr first: a reply waits for it (held replies, ack_after_peer).
 * An entry further back, if any, becomes a duplicate dequeue skips. */
static void enqueue_front(rd_fo_peer_t *p, uint32_t addr)
{
	int r = addr ? qs_add(p, addr) : 1;
	if (r < 0 || !ring_push(p, addr)) {   /* grows the ring if needed */
		if (r > 0 && addr)
			qs_del(p, addr);
		rd_log(LOG_ERR, "failover %s: out of memory queueing an update", p->name);
		return;
	}
	if (p->q_len < 2)
		return;
	p->q_len--;
	p->q_head = (p->q_head + p->q_cap - 1) % p->q_cap;
	p->q[p->q_head] = addr;
	p->q_len++;
}

static struct inflight *inflight_find(rd_fo_peer_t *p, uint32_t addr)
{
	for (size_t i = 0; i < p->n_fl; i++)
		if (p->fl[i].addr == addr)
			return &p->fl[i];
	return NULL;
}

static void inflight_drop(rd_fo_peer_t *p, struct inflight *f)
{
	*f = p->fl[--p->n_fl];
}

/* Whether the peer has yet to hear about this version (doc §5.3). */
static bool lease_unacked(const rd_lease_t *l)
{
	if (l->flags & RD_ENGINE_F_OFFERED)
		return false;
	return l->tstp > l->atsfp || rd_fo_binding_needs_ack(l->state);
}

/* The BNDUPD for the current version at addr (false: nothing to send). */
static bool build_bndupd(rd_fo_peer_t *p, uint32_t addr, rd_fo_msg_t *m, uint32_t *tstp, uint8_t *status,
			 uint64_t *lseq)
{
	bool ok = false;
	rcu_read_lock();
	const rd_lease_t *l = rd_table_by_addr(p->set->table, addr);
	if (l && !(l->flags & RD_ENGINE_F_OFFERED) && rd_fo_binding_valid(l->state)) {
		rd_fo_msg_init(m, RD_FO_BNDUPD, 0, 0);
		rd_fo_set_uint(m, RD_FO_OPT_ASSIGNED_IP, l->addr);
		rd_fo_set_uint(m, RD_FO_OPT_BINDING_STATUS, l->state);
		if (l->hlen && l->state != RD_LEASE_FREE && l->state != RD_LEASE_BACKUP) {
			uint8_t ch[RD_FO_CHADDR_MAX];
			size_t n = l->hlen < 16 ? l->hlen : 16;
			ch[0] = l->htype;
			memcpy(ch + 1, l->chaddr, n);
			rd_fo_set_bytes(m, RD_FO_OPT_CHADDR, ch, n + 1);
		}
		/* Only a client that sent option 61 has one; never on ABANDONED (§10). */
		if (l->cid_len && l->state != RD_LEASE_ABANDONED && l->state != RD_LEASE_FREE &&
		    l->state != RD_LEASE_BACKUP)
			rd_fo_set_bytes(m, RD_FO_OPT_CLIENT_ID, rd_lease_cid(l), l->cid_len);
		uint32_t ends = l->ends ? l->ends : (l->state == RD_LEASE_ACTIVE ? RD_FO_TIME_NEVER : 0);
		if (ends)
			rd_fo_set_uint(m, RD_FO_OPT_LEASE_EXPIRY, ends);
		uint32_t pexp = l->tstp ? l->tstp : ends;
		if (pexp)
			rd_fo_set_uint(m, RD_FO_OPT_POTENTIAL_EXPIRY, pexp);
		if (l->starts)
			rd_fo_set_uint(m, RD_FO_OPT_STOS, l->starts);
		if (l->cltt)
			rd_fo_set_uint(m, RD_FO_OPT_CLTT, l->cltt);
		uint16_t ipf = l->flags & (RD_FO_IP_FLAG_RESERVED | RD_FO_IP_FLAG_BOOTP);
		if (ipf)
			rd_fo_set_uint(m, RD_FO_OPT_IP_FLAGS, ipf);
		*tstp = pexp;
		*status = l->state;
		*lseq = l->seq;
		ok = true;
	}
	rcu_read_unlock();
	return ok;
}

static void maybe_upddone(rd_fo_peer_t *p)
{
	if (!p->upddone_pending || p->q_len || p->n_fl || !rd_fo_link_is_up(p->link))
		return;
	rd_fo_msg_t m;
	rd_fo_msg_init(&m, RD_FO_UPDDONE, 0, p->upddone_xid);
	send_msg(p, &m);
	p->upddone_pending = false;
	rd_log(LOG_INFO, "failover %s: update request answered (UPDDONE)", p->name);
}

/* Send what is queued, at most the peer's max-unacked in flight. */
static void send_updates(rd_fo_peer_t *p)
{
	uint32_t addr;
	if (!rd_fo_link_is_up(p->link))
		return;
	/* Each queued entry is looked at once per call: entries of addresses
	 * in flight go back to the end of the queue. */
	for (size_t budget = p->q_len; budget && p->n_fl < p->max_unacked && dequeue(p, &addr); budget--) {
		rd_fo_msg_t m;
		struct inflight f = { .addr = addr };
		if (inflight_find(p, addr)) {
			/* One BNDUPD per address in flight: the newer version goes
			 * after the ack (ISC ignores acks of superseded xids). */
			enqueue(p, addr);
			continue;
		}
		if (!build_bndupd(p, addr, &m, &f.tstp, &f.status, &f.lseq))
			continue;
		int r = rd_fo_link_send(p->link, &m);
		if (r == RD_ENOSPACE || r == RD_FO_LINK_ENOTCONN) {
			enqueue(p, addr);   /* on_drain / the next link sends it */
			break;
		}
		if (r < 0) {
			rd_log(LOG_WARNING, "failover %s: BNDUPD not sent: %s", p->name, rd_strerror(r));
			continue;
		}
		f.xid = m.xid;
		f.seq = ++p->upd_seq;
		p->fl[p->n_fl++] = f;
		atomic_fetch_add(&p->pub.bndupd_sent, 1);
	}
	maybe_upddone(p);
	publish(p);
}

struct collect {
	rd_fo_peers_t *s;
	rd_fo_peer_t *p;
	bool all;
};

static int collect_cb(void *ctx, const rd_lease_t *l)
{
	struct collect *c = ctx;
	if (peer_for_addr(c->s, rd_config_current(), l->addr) != c->p)
		return 0;
	if (l->flags & RD_ENGINE_F_OFFERED)
		return 0;
	if (!c->all && !lease_unacked(l))
		return 0;
	/* This very version is on its way: the peer will have it (and an
	 * UPDDONE waits for its BNDACK). */
	struct inflight *f = c->p->n_fl ? inflight_find(c->p, l->addr) : NULL;
	if (f && f->lseq == l->seq)
		return 0;
	enqueue(c->p, l->addr);
	return 0;
}

/* Queue the relationship's leases: all of them, or those the peer has not acked. */
static void queue_leases(rd_fo_peer_t *p, bool all)
{
	struct collect c = { .s = p->set, .p = p, .all = all };
	rcu_read_lock();
	rd_table_foreach(p->set->table, collect_cb, &c);
	rcu_read_unlock();
}

/* Put every BNDUPD awaiting its BNDACK back on the queue (ISC "rescind"). */
static void rescind(rd_fo_peer_t *p)
{
	for (size_t i = 0; i < p->n_fl; i++)
		enqueue(p, p->fl[i].addr);
	p->n_fl = 0;
}

/* ------------------------------------------------------------ pool balancing */

enum bal_mode {
	BAL_SCAN,       /* count only: for the timer's schedule */
	BAL_NOW,        /* entry to NORMAL, the peer's POOLREQ: never asks back */
	BAL_TIMER,      /* the rebalance timer: may ask the peer (POOLREQ) */
};

/* What a run over the relationship's pools found. */
struct bal_run {
	uint32_t moved;
	unsigned pools, starved;        /* starved: pools short enough for a POOLREQ */
	bool has_free, has_backup;
	uint32_t oldest_free, oldest_backup;   /* the smallest ends in each list */
};

/*
 * Hand the peer its share of one pool's free addresses (ISC
 * dhcp_failover_pool_dobalance; the numbers are rd_fo_pool_balance's).  An
 * address without a row in the table has never been used: it is FREE, the
 * primary's, and moving it makes its first row.  Each move is a new version
 * in the peer's free state (BACKUP from the primary, FREE from the
 * secondary), stored and sent as a BNDUPD.  Adds to *run.
 */
static void balance_pool(rd_fo_peer_t *p, const rd_config_t *cfg, const rd_cfg_pool_t *pl, uint32_t now,
			 enum bal_mode mode, struct bal_run *run)
{
	rd_fo_peers_t *s = p->set;
	uint8_t own_state = p->cfg.role == RD_FO_PRIMARY ? RD_LEASE_FREE : RD_LEASE_BACKUP;
	uint8_t peer_state = p->cfg.role == RD_FO_PRIMARY ? RD_LEASE_BACKUP : RD_LEASE_FREE;
	uint64_t size = (uint64_t)pl->end - pl->start + 1;
	uint8_t hba_buf[RD_FO_HBA_LEN];
	const uint8_t *hba = get_hba(p, hba_buf) ? hba_buf : NULL;
	uint32_t moved = 0;
	char a[16], b[16];

	if (size > (1u << 24))
		return;
	fmt_ip(pl->start, a, sizeof(a));
	fmt_ip(pl->end, b, sizeof(b));
	uint32_t *addrs = malloc(size * sizeof(*addrs));
	rd_fo_pool_lease_t *own = malloc(size * sizeof(*own));
	bool *move = calloc(size, sizeof(*move));
	if (!addrs || !own || !move)
		goto out;
	run->pools++;
	rd_fo_balance_in_t in = {
		.my_state = p->sm.state, .role = p->cfg.role,
		.misbalance_pct = p->cfg.max_lease_misbalance,
		.ownership_pct = p->cfg.max_lease_ownership,
		.timer = mode == BAL_TIMER,
	};
	size_t n = 0;
	for (uint64_t x = pl->start; x <= pl->end; x++) {
		uint32_t addr = (uint32_t)x;
		const rd_lease_t *l = rd_table_by_addr(s->table, addr);
		uint8_t st = l ? l->state : RD_LEASE_FREE;
		uint32_t ends = l ? l->ends : 0;
		if (pl->subnet && (addr == pl->subnet->network || addr == pl->subnet->broadcast))
			continue;
		if (rd_config_reservation_by_addr(cfg, addr) || (l && (l->flags & RD_LEASE_F_RESERVED)))
			continue;
		if (l && l->state == RD_LEASE_ACTIVE && (l->flags & RD_ENGINE_F_OFFERED))
			continue;       /* offered right now: not free to give away */
		if (st == RD_LEASE_FREE) {
			in.free++;
			if (!run->has_free || ends < run->oldest_free)
				run->oldest_free = ends;
			run->has_free = true;
		} else if (st == RD_LEASE_BACKUP) {
			in.backup++;
			if (!run->has_backup || ends < run->oldest_backup)
				run->oldest_backup = ends;
			run->has_backup = true;
		}
		if (st != own_state)
			continue;
		uint8_t bucket;
		addrs[n] = addr;
		own[n].used = l && l->ends;
		own[n].peer_wants = l && rd_fo_lb_lease_bucket(l, &bucket) &&
				    rd_fo_lb_peer_wants(hba, p->cfg.role, bucket);
		n++;
	}
	if (mode == BAL_SCAN)
		goto out;
	rd_fo_balance_t res;
	rd_fo_pool_balance(&in, own, n, move, &res);
	if (res.send_poolreq) {
		run->starved++;
		rd_log(LOG_WARNING,
		       "failover %s: pool %s-%s: we hold only %u of its %u free addresses (%s), the peer %u: "
		       "asking the peer for more (POOLREQ)",
		       p->name, a, b, p->cfg.role == RD_FO_PRIMARY ? in.free : in.backup, in.free + in.backup,
		       p->cfg.role == RD_FO_PRIMARY ? "FREE" : "BACKUP",
		       p->cfg.role == RD_FO_PRIMARY ? in.backup : in.free);
	}
	for (size_t i = 0; i < n && res.moved; i++) {
		if (!move[i])
			continue;
		const rd_lease_t *l = rd_table_by_addr(s->table, addrs[i]);
		if (l && l->state != own_state)
			continue;       /* changed since we looked */
		rd_lease_t *nl = l ? rd_lease_dup(l, rd_lease_cid(l), l->cid_len, rd_lease_host(l), l->host_len) :
				     rd_lease_new(addrs[i], NULL, 0, NULL, 0);
		if (!nl)
			break;
		nl->state = peer_state;
		nl->starts = now;
		if (nl->ends && nl->ends < nl->starts)
			nl->ends = nl->starts;
		rd_fo_times_t t = { .tstp = nl->tstp, .tsfp = nl->tsfp, .atsfp = nl->atsfp };
		rd_fo_times_on_change(&t, now);
		nl->tstp = t.tstp;
		nl->tsfp = t.tsfp;
		nl->atsfp = t.atsfp;
		if (rd_table_replace(s->table, l, nl) < 0) {
			rd_lease_free(nl);  /* a client took it meanwhile: keep it */
			continue;
		}
		if (s->store && rd_store_submit(s->store, nl, "failover-balance", NULL, NULL) < 0)
			rd_log(LOG_WARNING, "failover %s: a rebalanced lease was not stored", p->name);
		enqueue(p, addrs[i]);
		moved++;
	}
	if (moved || res.imbalanced)
		rd_log(LOG_INFO, "failover %s: pool %s-%s balanced: free %u, backup %u, %u moved to the peer%s",
		       p->name, a, b, in.free, in.backup, moved, res.imbalanced ? " (still imbalanced)" : "");
	run->moved += moved;
out:
	free(addrs);
	free(own);
	free(move);
}

/* Run over every pool of the relationship; sends what the moves queued. */
static void balance_pools(rd_fo_peer_t *p, enum bal_mode mode, struct bal_run *run)
{
	uint32_t now = now_s();
	memset(run, 0, sizeof(*run));
	rcu_read_lock();
	const rd_config_t *cfg = rd_config_current();
	for (size_t i = 0; cfg && i < cfg->n_subnets; i++)
		for (size_t k = 0; k < cfg->subnets[i].n_pools; k++) {
			const rd_cfg_pool_t *pl = &cfg->subnets[i].pools[k];
			if (pl->failover && pl->failover->name && !strcmp(pl->failover->name, p->name))
				balance_pool(p, cfg, pl, now, mode, run);
		}
	rcu_read_unlock();
	if (mode != BAL_SCAN) {
		p->bal_last = now;
		atomic_fetch_add(&p->pub.balance_moved, run->moved);
		send_updates(p);
	}
}

/*
 * Plan the next timer run from what a run saw (rd_fo_balance_next: the
 * plan only moves earlier, at least min_balance after the last run).
 * Only in NORMAL; the plan is dropped on leaving it.
 */
static void balance_plan(rd_fo_peer_t *p, const struct bal_run *r, uint32_t now)
{
	if (p->sm.state != RD_FO_ST_NORMAL)
		return;
	p->rng = p->rng * 1103515245u + 12345u;
	rd_fo_sched_in_t in = {
		.now = now, .role = p->cfg.role,
		.has_free = r->has_free, .has_backup = r->has_backup,
		.oldest_free_ends = r->oldest_free, .oldest_backup_ends = r->oldest_backup,
		.misbalance_pct = p->cfg.max_lease_misbalance,
		.min_balance = p->cfg.min_balance, .max_balance = p->cfg.max_balance,
		.last_balance = p->bal_last, .scheduled = p->bal_at,
		.jitter = (p->rng >> 16) % 5,
	};
	uint32_t t = rd_fo_balance_next(&in);
	if (t)
		p->bal_at = t;
	atomic_store(&p->pub.balance_next, p->bal_at);
}

/* RD_FO_ACT_POOL_CHECK: (re)plan the timer from the pools as they are. */
static void balance_check(rd_fo_peer_t *p)
{
	struct bal_run r;
	if (p->sm.state != RD_FO_ST_NORMAL)
		return;
	balance_pools(p, BAL_SCAN, &r);
	balance_plan(p, &r, now_s());
}

/* The rebalance timer fired: balance every pool, ask the peer for more
 * addresses where we run short, plan the next run. */
static void balance_timer(rd_fo_peer_t *p, uint32_t now)
{
	struct bal_run r;
	if (!p->bal_at || now < p->bal_at)
		return;
	p->bal_at = 0;
	atomic_store(&p->pub.balance_next, 0);
	if (p->sm.state != RD_FO_ST_NORMAL || !rd_fo_link_is_up(p->link))
		return;
	balance_pools(p, BAL_TIMER, &r);
	atomic_fetch_add(&p->pub.balance_runs, 1);
	if (r.starved) {
		rd_fo_msg_t m;
		rd_fo_msg_init(&m, RD_FO_POOLREQ, 0, 0);
		send_msg(p, &m);
		atomic_fetch_add(&p->pub.poolreq_sent, 1);
	}
	balance_plan(p, &r, now);
	rd_log(LOG_INFO, "failover %s: periodic pool balance: %u pool%s checked, %u address%s given to the peer%s; "
	       "next check in %u s",
	       p->name, r.pools, r.pools == 1 ? "" : "s", r.moved, r.moved == 1 ? "" : "es",
	       r.starved ? ", asked the peer for more (POOLREQ)" : "", p->bal_at > now ? p->bal_at - now : 0);
}

struct transitional {
	rd_fo_peer_t *p;
	uint32_t tsfp;
	unsigned n;
};

static int transitional_cb(void *ctx, const rd_lease_t *l)
{
	struct transitional *t = ctx;
	rd_fo_peers_t *s = t->p->set;
	if (!rd_fo_binding_needs_ack(l->state) || l->tsfp == t->tsfp ||
	    peer_for_addr(s, rd_config_current(), l->addr) != t->p)
		return 0;
	rd_lease_t *nl = rd_lease_dup(l, rd_lease_cid(l), l->cid_len, rd_lease_host(l), l->host_len);
	if (!nl)
		return 0;
	nl->tsfp = t->tsfp;
	if (rd_table_replace(s->table, l, nl) < 0) {
		rd_lease_free(nl);      /* changed meanwhile: the new version decides */
		return 0;
	}
	if (s->store)
		(void)rd_store_submit(s->store, nl, "failover-partner-down", NULL, NULL);
	t->n++;
	return 0;
}

/*
 * Entry to PARTNER-DOWN (doc §5.4): EXPIRED, RELEASED and RESET leases can
 * no longer wait for the peer's ack; they get tsfp = STOS + MCLT and
 * rd_fo_may_allocate lets them go once that has passed.
 */
static void expire_transitional(rd_fo_peer_t *p, uint32_t stos)
{
	struct transitional t = { .p = p, .tsfp = rd_fo_partner_down_tsfp(stos, p->sm.mclt ? p->sm.mclt : p->cfg.mclt) };
	rcu_read_lock();
	rd_table_foreach(p->set->table, transitional_cb, &t);
	rcu_read_unlock();
	if (t.n)
		rd_log(LOG_INFO, "failover %s: partner down: %u expired/released leases reusable after %u", p->name,
		       t.n, t.tsfp);
}

/* ------------------------------------------------------------ state machine */

static int persist(rd_fo_peer_t *p, const rd_fo_action_t *a, const rd_fo_sm_t *next)
{
	rd_store_fo_state_t fs = {
		.state = a->state, .stos = a->stos, .partner = a->partner,
		.partner_stos = next->partner_stos, .mclt = next->mclt,
	};
	snprintf(fs.name, sizeof(fs.name), "%s", p->name);
	if (!p->set->store)
		return 0;
	return rd_store_fo_state_put(p->set->store, &fs);
}

static void sm_event(rd_fo_peer_t *p, rd_fo_event_t *ev)
{
	rd_fo_sm_t next;
	rd_fo_actions_t act;

	if (rd_fo_sm_event(&p->sm, ev, &next, &act) < 0)
		return;
	if (act.note)
		rd_log(LOG_WARNING, "failover %s: %s", p->name, act.note);
	/* The state must be on disk before anything announces it (ISC refuses
	 * a transition it cannot record): persist first, all or nothing. */
	for (unsigned i = 0; i < act.n; i++) {
		if (act.a[i].kind != RD_FO_ACT_PERSIST)
			continue;
		int r = persist(p, &act.a[i], &next);
		if (r < 0) {
			rd_log(LOG_ERR, "failover %s: cannot record state %s (%s): staying in %s", p->name,
			       rd_fo_state_name(act.a[i].state), rd_strerror(r), rd_fo_state_name(p->sm.state));
			return;
		}
	}
	uint8_t was = p->sm.state, pwas = p->sm.partner;
	p->sm = next;
	if (next.state != RD_FO_ST_NORMAL && p->bal_at) {
		/* balancing is for NORMAL only: the next entry plans anew */
		p->bal_at = 0;
		atomic_store(&p->pub.balance_next, 0);
	}
	if (was != next.state)
		rd_log(LOG_NOTICE, "failover %s: I move from %s to %s", p->name, rd_fo_state_name(was),
		       rd_fo_state_name(next.state));
	if (pwas != next.partner)
		rd_log(LOG_INFO, "failover %s: peer moves from %s to %s", p->name, rd_fo_state_name(pwas),
		       rd_fo_state_name(next.partner));

	for (unsigned i = 0; i < act.n; i++) {
		const rd_fo_action_t *a = &act.a[i];
		rd_fo_msg_t m;
		switch (a->kind) {
		case RD_FO_ACT_PERSIST:
			break;
		case RD_FO_ACT_SEND_STATE:
			rd_fo_msg_init(&m, RD_FO_STATE, 0, 0);
			rd_fo_set_uint(&m, RD_FO_OPT_SERVER_STATE, a->state);
			rd_fo_set_uint(&m, RD_FO_OPT_SERVER_FLAGS, a->flags);
			rd_fo_set_uint(&m, RD_FO_OPT_STOS, a->stos);
			send_msg(p, &m);
			break;
		case RD_FO_ACT_SEND_UPDREQ:
		case RD_FO_ACT_SEND_UPDREQALL:
			rd_fo_msg_init(&m, a->kind == RD_FO_ACT_SEND_UPDREQ ? RD_FO_UPDREQ : RD_FO_UPDREQALL, 0, 0);
			send_msg(p, &m);
			rd_log(LOG_INFO, "failover %s: sent %s", p->name, rd_fo_msg_name(m.type));
			break;
		case RD_FO_ACT_ANSWER_UPDREQ:
		case RD_FO_ACT_ANSWER_UPDREQALL:
			queue_leases(p, a->kind == RD_FO_ACT_ANSWER_UPDREQALL);
			p->upddone_pending = true;
			p->upddone_xid = p->pending_req_xid;
			rd_log(LOG_INFO, "failover %s: answering %s with %zu updates", p->name,
			       a->kind == RD_FO_ACT_ANSWER_UPDREQ ? "UPDREQ" : "UPDREQALL", p->q_len);
			send_updates(p);
			break;
		case RD_FO_ACT_SEND_UPDATES:
			send_updates(p);
			break;
		case RD_FO_ACT_QUEUE_UPDATES:
			queue_leases(p, false);
			send_updates(p);
			break;
		case RD_FO_ACT_RESCIND:
			rescind(p);
			break;
		case RD_FO_ACT_POOL_BALANCE: {
			/* entry to NORMAL: a run (never a POOLREQ), and the timer's first plan */
			struct bal_run r;
			balance_pools(p, BAL_NOW, &r);
			balance_plan(p, &r, p->bal_last);
			break;
		}
		case RD_FO_ACT_POOL_CHECK:
			balance_check(p);
			break;
		case RD_FO_ACT_EXPIRE_TRANSITIONAL:
			expire_transitional(p, a->stos);
			break;
		case RD_FO_ACT_DISCONNECT:
			rd_fo_link_close(p->link, 0, NULL);
			break;
		case RD_FO_ACT_ERROR:
			rd_log(LOG_ERR, "failover %s: %s", p->name, a->why ? a->why : "protocol error");
			break;
		}
	}
	publish(p);
}

static void run_timer(rd_fo_peer_t *p, uint32_t now)
{
	if (p->sm.timer == RD_FO_TIMER_NONE || now < p->sm.timer_at)
		return;
	rd_fo_event_t ev = { .now = now };
	switch (p->sm.timer) {
	case RD_FO_TIMER_STARTUP:
		ev.kind = RD_FO_EV_STARTUP_TIMEOUT;
		break;
	case RD_FO_TIMER_AUTO_PARTNER_DOWN:
		ev.kind = RD_FO_EV_AUTO_PARTNER_DOWN;
		break;
	case RD_FO_TIMER_RECOVER_WAIT:
		ev.kind = RD_FO_EV_MCLT_ELAPSED;
		break;
	default:
		return;
	}
	sm_event(p, &ev);
}

/* ------------------------------------------------------------ held replies */

/*
 * ack_after_peer (fo_peer.h).  A worker's store completion hands a reply
 * over with rd_fo_peers_notify_hold(); the failover thread registers it on
 * the relationship (holds_register) and queues its address, so the reply
 * waits for the BNDACK of a BNDUPD numbered after that moment (upd_seq):
 * one that carries its change (published before the store completion), or
 * a later version of the address.  Everything below runs on the failover
 * thread.
 */

#define HOLD_MAX_MS 10000       /* a reply waits at most this (or max_response_delay) */
#define HOLD_WINDOW 3           /* the max-unacked we announce with ack_after_peer */

/*
 * The window we announce (CONNECT/CONNECTACK max-unacked) with
 * ack_after_peer: ISC sends its BNDACKs when half of our window is pending,
 * or every 2 s, or before its own BNDUPDs (doc §5.3), so with a bigger
 * window a reply held for an ISC peer would wait up to 2 s at low load.
 * With at most 3, ISC acks each update at once.  A rackdhcpd peer acks
 * after each commit anyway; the window then bounds its updates in flight.
 */
static void hold_link_conf(rd_fo_link_conf_t *lc, const rd_cfg_failover_t *f)
{
	if (!f->ack_after_peer || lc->max_unacked <= HOLD_WINDOW)
		return;
	rd_log(LOG_INFO, "failover %s: ack_after_peer: announcing max-unacked %u instead of %u, so that the peer "
	       "acknowledges each update at once", f->name, HOLD_WINDOW, lc->max_unacked);
	lc->max_unacked = HOLD_WINDOW;
}

static uint64_t hold_limit_ms(const rd_fo_peer_t *p)
{
	uint64_t mrd = (uint64_t)p->cfg.max_response_delay * 1000;
	return mrd && mrd < HOLD_MAX_MS ? mrd : HOLD_MAX_MS;
}

static void hold_finish(rd_fo_peer_t *p, struct hold *h, int status, const char *why)
{
	atomic_fetch_sub(&p->pub.replies_waiting, 1);
	atomic_fetch_add(status < 0 ? &p->pub.replies_dropped : &p->pub.replies_released, 1);
	h->fn(h->ctx, status, why);
	free(h);
}

/* Release (status 0) or drop (< 0) the replies held for addr that a BNDUPD
 * numbered seq covers. */
static void holds_settle(rd_fo_peer_t *p, uint32_t addr, uint64_t seq, int status, const char *why)
{
	struct hold **pp = &p->held;
	while (*pp) {
		struct hold *h = *pp;
		if (h->addr != addr || h->min_seq > seq) {
			pp = &h->next;
			continue;
		}
		*pp = h->next;
		if (!*pp)
			p->held_tail = pp;
		hold_finish(p, h, status, why);   /* the worker's callback logs a drop */
	}
}

/* Whether the peer's version b binds the address as our a does, at least as long. */
static bool holds_same_binding(const rd_lease_t *a, const rd_lease_t *b)
{
	if (!a || !b || (a->flags & RD_ENGINE_F_OFFERED) || a->state != b->state || a->hlen != b->hlen ||
	    a->htype != b->htype || memcmp(a->chaddr, b->chaddr, a->hlen))
		return false;
	return a->ends == 0 ? b->ends == 0 : (b->ends == 0 || b->ends >= a->ends);
}

static bool holds_for(const rd_fo_peer_t *p, uint32_t addr)
{
	for (const struct hold *h = p->held; h; h = h->next)
		if (h->addr == addr)
			return true;
	return false;
}

/*
 * The peer's BNDUPD replaced our version cur of an address with nl.  Held
 * replies for it go nowhere when nl binds it otherwise.  An echo of our
 * own binding (same client and state, at least as long: a stale entry of
 * the peer's update queue) changes nothing for them: returns true, and our
 * update in flight stays, as its BNDACK is what releases them.
 */
static bool holds_on_peer_update(rd_fo_peer_t *p, const rd_lease_t *cur, const rd_lease_t *nl)
{
	if (!holds_for(p, nl->addr))
		return false;
	if (holds_same_binding(cur, nl))
		return true;
	holds_settle(p, nl->addr, UINT64_MAX, -ECANCELED, "the peer's update of the address superseded ours");
	return false;
}

/* A BNDACK for our update `done`: a refusal drops, an ack releases. */
static void holds_on_bndack(rd_fo_peer_t *p, const struct inflight *done, const rd_fo_msg_t *m)
{
	bool refused = rd_fo_has(m, RD_FO_OPT_REJECT_REASON) && m->reject_reason;
	holds_settle(p, done->addr, done->seq, refused ? -ECONNREFUSED : 0,
		     refused ? "the peer refused the update" : NULL);
	/* Replies registered while that update was in flight wait for the
	 * next one of the address: it goes first (send_updates put it back
	 * at the end of the queue while this one was in flight). */
	if (holds_for(p, done->addr))
		enqueue_front(p, done->addr);
}

/* Drop every held reply of the relationship (link down, stop). */
static void holds_fail_all(rd_fo_peer_t *p, int status, const char *why)
{
	struct hold *h = p->held;
	unsigned n = 0;
	p->held = NULL;
	p->held_tail = &p->held;
	for (struct hold *nx; h; h = nx) {
		nx = h->next;
		hold_finish(p, h, status, why);
		n++;
	}
	if (n)
		rd_log(LOG_WARNING, "failover %s: %u held repl%s not sent: %s", p->name, n, n == 1 ? "y" : "ies",
		       why);
}

/* Drop the replies that waited too long for their BNDACK (oldest first). */
static void holds_expire(rd_fo_peer_t *p, uint64_t now_ms)
{
	unsigned n = 0;
	while (p->held && p->held->deadline_ms <= now_ms) {
		struct hold *h = p->held;
		p->held = h->next;
		if (!p->held)
			p->held_tail = &p->held;
		hold_finish(p, h, -ETIMEDOUT, "no BNDACK from the peer in time");
		n++;
	}
	if (n)
		rd_log(LOG_WARNING, "failover %s: %u held repl%s not sent: no BNDACK from the peer within %u ms "
		       "(%zu updates in flight, %zu queued)", p->name, n, n == 1 ? "y" : "ies",
		       (unsigned)hold_limit_ms(p), p->n_fl, p->q_len);
}

/*
 * Attach the replies of one inbox round to their relationships, and queue
 * their addresses first: a bulk of updates (pool balancing, an UPDREQALL)
 * must not keep a client waiting.
 */
static void holds_register(rd_fo_peers_t *s, struct hold *list)
{
	uint64_t now_ms = rd_fo_link_now_ms();
	bool queued = false;
	if (!list)
		return;
	rcu_read_lock();
	const rd_config_t *cfg = rd_config_current();
	for (struct hold *h = list, *nx; h; h = nx) {
		nx = h->next;
		h->next = NULL;
		rd_fo_peer_t *p = peer_for_addr(s, cfg, h->addr);
		if (!p) {
			/* Not in a failover pool (any more): nothing to wait for. */
			h->fn(h->ctx, 0, NULL);
			free(h);
			continue;
		}
		atomic_fetch_add(&p->pub.replies_held, 1);
		atomic_fetch_add(&p->pub.replies_waiting, 1);
		if (!p->sm.linked || !rd_fo_link_is_up(p->link)) {
			hold_finish(p, h, -ENOTCONN, "the failover link went down before the update was sent");
			continue;
		}
		h->min_seq = p->upd_seq + 1;
		h->deadline_ms = now_ms + hold_limit_ms(p);
		*p->held_tail = h;
		p->held_tail = &h->next;
		enqueue_front(p, h->addr);
		queued = true;
	}
	struct peer_vec *vec = peers_vec(s);
	for (size_t i = 0; queued && i < vec->n; i++)
		send_updates(vec->p[i]);
	rcu_read_unlock();
}

/* The caller's hook after a round of released replies (fo_peer.h). */
static void release_end(rd_fo_peers_t *s)
{
	rd_fo_release_end_fn fn = atomic_load(&s->release_end);
	if (fn)
		fn();
}

/* rd_fo_peers_drop_held's request, on the failover thread. */
static void holds_drop_all(rd_fo_peers_t *s, unsigned ticket, const char *why)
{
	struct peer_vec *vec = peers_vec(s);
	for (size_t i = 0; vec && i < vec->n; i++)
		holds_fail_all(vec->p[i], -ECANCELED, why ? why : "dropped");
	/* Replies released earlier in this round leave now, before the
	 * caller may close the sockets they name. */
	release_end(s);
	pthread_mutex_lock(&s->lock);
	s->drop_done = ticket;
	pthread_cond_broadcast(&s->dropped);
	pthread_mutex_unlock(&s->lock);
}

/* At the end: replies still in the inbox or held are dropped. */
static void holds_free_inbox(rd_fo_peers_t *s)
{
	for (struct hold *h = s->holds_in, *nx; h; h = nx) {
		nx = h->next;
		h->fn(h->ctx, -ECANCELED, "the daemon is stopping");
		free(h);
	}
	s->holds_in = NULL;
	s->holds_in_tail = &s->holds_in;
	struct peer_vec *vec = s->vec;
	for (size_t i = 0; vec && i < vec->n; i++)
		if (vec->p[i]->held_tail)
			holds_fail_all(vec->p[i], -ECANCELED, "the daemon is stopping");
}

/* ------------------------------------------------------------ BNDUPD / BNDACK */

static void store_ack_done(void *ctx, int status)
{
	struct ack_job *j = ctx;
	rd_fo_peers_t *s = j->set;
	j->status = status;
	pthread_mutex_lock(&s->lock);
	*s->acks_tail = j;
	s->acks_tail = &j->next;
	pthread_mutex_unlock(&s->lock);
	wake(s);
}

static void send_bndack(rd_fo_peer_t *p, uint32_t xid, uint32_t addr, uint8_t reject, const char *why)
{
	rd_fo_msg_t m;
	rd_fo_msg_init(&m, RD_FO_BNDACK, 0, xid);
	/* Assigned-IP only (doc §5.2: ISC misreads a BNDACK with a client-id). */
	rd_fo_set_uint(&m, RD_FO_OPT_ASSIGNED_IP, addr);
	if (reject) {
		rd_fo_set_uint(&m, RD_FO_OPT_REJECT_REASON, reject);
		if (why)
			rd_fo_set_str(&m, RD_FO_OPT_MESSAGE, why);
		atomic_fetch_add(&p->pub.bndupd_rejected, 1);
	}
	send_msg(p, &m);
	atomic_fetch_add(&p->pub.bndack_sent, 1);
}

static void reject_bndupd(rd_fo_peer_t *p, const rd_fo_msg_t *m, uint8_t reason, const char *why)
{
	char ip[16], mac[3 * 17] = "no chaddr";
	size_t chlen = 0;
	const uint8_t *ch = rd_fo_get_bytes(m, RD_FO_OPT_CHADDR, &chlen);
	fmt_ip(m->assigned_ip, ip, sizeof(ip));
	for (size_t i = 1, o = 0; ch && i < chlen && i < 17; i++)
		o += (size_t)snprintf(mac + o, sizeof(mac) - o, "%s%02x", i > 1 ? ":" : "", ch[i]);
	rd_log(LOG_WARNING, "failover %s: BNDUPD %s (%s, %s) from the peer refused: %s (%s)", p->name, ip,
	       rd_fo_binding_name(m->binding_status), mac, rd_fo_reject_reason_name(reason), why ? why : "");
	send_bndack(p, m->xid, m->assigned_ip, reason, why);
}

/* Apply the peer's BNDUPD to the table and the store; BNDACK once durable. */
static void on_bndupd(rd_fo_peer_t *p, const rd_fo_msg_t *m)
{
	rd_fo_peers_t *s = p->set;
	uint32_t now = now_s();
	char ip[16];

	atomic_fetch_add(&p->pub.bndupd_recv, 1);
	if (!rd_fo_has(m, RD_FO_OPT_ASSIGNED_IP) || !rd_fo_has(m, RD_FO_OPT_BINDING_STATUS))
		return reject_bndupd(p, m, RD_FO_REJ_MISSING_BINDINFO, "no assigned-IP or binding-status");
	for (int attempt = 0; attempt < 3; attempt++) {
		rcu_read_lock();
		const rd_config_t *cfg = rd_config_current();
		if (peer_for_addr(s, cfg, m->assigned_ip) != p) {
			rcu_read_unlock();
			return reject_bndupd(p, m, RD_FO_REJ_ILLEGAL_IP, "not in a pool of this relationship");
		}
		const rd_lease_t *cur = rd_table_by_addr(s->table, m->assigned_ip);
		struct inflight *own = inflight_find(p, m->assigned_ip);
		size_t chlen = 0, cidlen = 0;
		const uint8_t *ch = rd_fo_get_bytes(m, RD_FO_OPT_CHADDR, &chlen);
		const uint8_t *cid = rd_fo_get_bytes(m, RD_FO_OPT_CLIENT_ID, &cidlen);
		rd_fo_bndupd_in_t in = {
			.my_state = p->sm.state, .role = p->cfg.role, .now = now,
			.cur = cur ? cur->state : RD_FO_BS_FREE,
			.cur_flags = cur ? cur->flags : 0,
			.cur_ends = cur ? cur->ends : 0,
			.cur_cltt = cur ? cur->cltt : 0,
			.cur_starts = cur ? cur->starts : 0,
			.awaiting_ack = own != NULL,
			.pending_state = own ? own->status : 0,
			.proposed = m->binding_status,
			.has_chaddr = ch != NULL, .chaddr_len = (uint8_t)(chlen > 255 ? 255 : chlen),
			.has_cid = cid != NULL,
			.has_ip_flags = rd_fo_has(m, RD_FO_OPT_IP_FLAGS), .ip_flags = m->ip_flags,
			.has_pexp = rd_fo_has(m, RD_FO_OPT_POTENTIAL_EXPIRY), .pexp = m->potential_expiry,
			.has_cltt = rd_fo_has(m, RD_FO_OPT_CLTT), .cltt = m->cltt,
			.has_stos = rd_fo_has(m, RD_FO_OPT_STOS), .stos = m->stos,
		};
		/* A never-used address is FREE to us; its "end" is none. */
		if (cur && cur->state == RD_LEASE_ACTIVE && cur->flags & RD_ENGINE_F_OFFERED) {
			/* An offer is no binding: the peer's word wins over it. */
			in.cur = RD_FO_BS_FREE;
			in.cur_ends = 0;
		}
		rd_fo_bndupd_verdict_t v;
		rd_fo_bndupd_check(&in, &v);
		if (v.reject) {
			char mac[3 * 16] = "";
			for (size_t i = 0, o = 0; v.send_own && cur && i < cur->hlen && i < 16; i++)
				o += (size_t)snprintf(mac + o, sizeof(mac) - o, "%s%02x", i ? ":" : "", cur->chaddr[i]);
			rcu_read_unlock();
			if (own)
				own->refused_theirs = true;
			reject_bndupd(p, m, v.reject, v.why);
			if (v.send_own) {
				fmt_ip(m->assigned_ip, ip, sizeof(ip));
				rd_log(LOG_INFO, "failover %s: %s stays ACTIVE for %s: our binding goes to the peer",
				       p->name, ip, mac[0] ? mac : "its client");
			}
			if (v.send_own && !own) {
				/* The peer learns our binding after the refusal. */
				enqueue(p, m->assigned_ip);
				send_updates(p);
			}
			return;
		}
		/* The accepted version: the peer's binding, our hostname if same client. */
		const rd_cfg_subnet_t *sn = rd_config_subnet_for(cfg, m->assigned_ip);
		bool keep_host = cur && ch && chlen >= 1 && cur->htype == ch[0] && cur->hlen == chlen - 1 &&
				 !memcmp(cur->chaddr, ch + 1, chlen - 1);
		rd_lease_t *nl = rd_lease_new(m->assigned_ip, cid, cid ? cidlen : 0,
					      keep_host ? rd_lease_host(cur) : NULL, keep_host ? cur->host_len : 0);
		if (!nl) {
			rcu_read_unlock();
			return reject_bndupd(p, m, RD_FO_REJ_MISC, "out of memory");
		}
		nl->state = v.store;
		if (ch && chlen >= 1) {
			nl->htype = ch[0];
			nl->hlen = (uint8_t)(chlen - 1 > 16 ? 16 : chlen - 1);
			memcpy(nl->chaddr, ch + 1, nl->hlen);
		} else if (cur && (nl->state == RD_LEASE_FREE || nl->state == RD_LEASE_BACKUP)) {
			/* Keep who had it, for "previous address" and MAC affinity. */
			nl->htype = cur->htype;
			nl->hlen = cur->hlen;
			memcpy(nl->chaddr, cur->chaddr, cur->hlen);
		}
		if (cid && cidlen && !(sn && sn->ignore_client_ids))
			nl->flags |= RD_LEASE_F_KEY_CID;
		if (in.has_ip_flags)
			nl->flags |= m->ip_flags & (RD_LEASE_F_RESERVED | RD_LEASE_F_BOOTP);
		else if (cur)
			nl->flags |= cur->flags & RD_LEASE_F_RESERVED;
		nl->starts = rd_fo_has(m, RD_FO_OPT_STOS) ? m->stos : now;
		uint32_t ends = rd_fo_has(m, RD_FO_OPT_LEASE_EXPIRY) ? m->lease_expiry : 0;
		nl->ends = ends == RD_FO_TIME_NEVER ? 0 : ends;
		if (nl->ends && nl->ends < nl->starts)
			nl->starts = nl->ends;
		nl->cltt = in.has_cltt ? m->cltt : (cur ? cur->cltt : 0);
		/* What the peer committed to is what we know (tsfp = atsfp =
		 * pexp); tstp follows so that we do not echo the change back. */
		rd_fo_times_t t = { .tstp = 0, .tsfp = cur ? cur->tsfp : 0, .atsfp = cur ? cur->atsfp : 0 };
		rd_fo_times_on_bndupd(&t, in.has_pexp, in.pexp);
		nl->tsfp = t.tsfp;
		nl->atsfp = t.atsfp;
		nl->tstp = t.atsfp;
		int r = rd_table_replace(s->table, cur, nl);
		if (r == RD_ECONFLICT) {
			rd_lease_free(nl);
			rcu_read_unlock();
			continue;       /* a worker changed it meanwhile: judge again */
		}
		if (r < 0) {
			rd_lease_free(nl);
			rcu_read_unlock();
			return reject_bndupd(p, m, RD_FO_REJ_MISC, "lease table refused the change");
		}
		bool echo = holds_on_peer_update(p, cur, nl);
		if (v.cancel_own && own && !echo) {
			inflight_drop(p, own);
			/* A slot is free, and nothing else will notice: the
			 * BNDACK of the cancelled one finds nothing in flight.
			 * Send what waits, or the UPDDONE it may have been the
			 * last one for. */
			send_updates(p);
		}
		fmt_ip(m->assigned_ip, ip, sizeof(ip));
		rd_log(LOG_INFO, "failover %s: peer's update %s %s applied", p->name, ip,
		       rd_lease_state_name(nl->state));
		if (v.send_own) {
			enqueue(p, m->assigned_ip);   /* the peer may have taken our FREE/BACKUP */
			send_updates(p);
		}
		if (!s->store) {
			rcu_read_unlock();
			send_bndack(p, m->xid, m->assigned_ip, 0, NULL);
			return;
		}
		struct ack_job *j = calloc(1, sizeof(*j));
		if (!j) {
			rcu_read_unlock();
			return;         /* no BNDACK: the peer sends it again on the next link */
		}
		j->set = s;
		j->peer = p->idx;
		j->link_gen = p->link_gen;
		j->xid = m->xid;
		j->addr = m->assigned_ip;
		r = rd_store_submit(s->store, nl, "failover", store_ack_done, j);
		rcu_read_unlock();
		if (r < 0) {
			free(j);
			rd_log(LOG_ERR, "failover %s: peer's update %s not stored: %s", p->name, ip, rd_strerror(r));
			/* Unacked: the peer keeps it and retries after a reconnect. */
		}
		return;
	}
	reject_bndupd(p, m, RD_FO_REJ_MISC, "the lease kept changing under the update");
}

static void on_bndack(rd_fo_peer_t *p, const rd_fo_msg_t *m)
{
	rd_fo_peers_t *s = p->set;
	struct inflight *f = NULL;
	char ip[16];

	for (size_t i = 0; i < p->n_fl; i++)
		if (p->fl[i].xid == m->xid) {
			f = &p->fl[i];
			break;
		}
	if (!f)
		return;         /* superseded or rescinded: means nothing (ISC) */
	atomic_fetch_add(&p->pub.bndack_recv, 1);
	struct inflight done = *f;
	inflight_drop(p, f);
	holds_on_bndack(p, &done, m);
	fmt_ip(done.addr, ip, sizeof(ip));
	if (rd_fo_has(m, RD_FO_OPT_REJECT_REASON) && m->reject_reason) {
		size_t n = 0;
		const uint8_t *txt = rd_fo_get_bytes(m, RD_FO_OPT_MESSAGE, &n);
		rd_log(LOG_WARNING, "failover %s: peer refused our update of %s: %s%s%.*s", p->name, ip,
		       rd_fo_reject_reason_name(m->reject_reason), txt ? ": " : "", (int)n,
		       txt ? (const char *)txt : "");
		if (done.refused_theirs && rd_fo_resend_refused(m->reject_reason)) {
			/* Both sides refused each other's: ours goes again, now
			 * that the peer's is off its ack queue (state.h). */
			rd_log(LOG_INFO, "failover %s: sending our update of %s again", p->name, ip);
			enqueue(p, done.addr);
		}
		send_updates(p);
		return;
	}
	for (int attempt = 0; attempt < 3; attempt++) {
		rcu_read_lock();
		const rd_lease_t *cur = rd_table_by_addr(s->table, done.addr);
		if (!cur) {
			rcu_read_unlock();
			break;
		}
		rd_lease_t *nl = rd_lease_dup(cur, rd_lease_cid(cur), cur->cid_len, rd_lease_host(cur), cur->host_len);
		if (!nl) {
			rcu_read_unlock();
			break;
		}
		rd_fo_times_t t = { .tstp = cur->tstp ? cur->tstp : done.tstp, .tsfp = cur->tsfp, .atsfp = cur->atsfp };
		rd_fo_times_on_bndack(&t, done.tstp);
		nl->tstp = t.tstp;
		nl->tsfp = t.tsfp;
		nl->atsfp = t.atsfp;
		/* EXPIRED/RELEASED/RESET are free once the peer knows (doc §5.1). */
		if (cur->state == done.status && rd_fo_binding_needs_ack(done.status))
			nl->state = rd_fo_binding_after_ack(p->cfg.role, done.status,
							    cur->flags & RD_LEASE_F_RESERVED);
		int r = rd_table_replace(s->table, cur, nl);
		if (r == RD_ECONFLICT) {
			rd_lease_free(nl);
			rcu_read_unlock();
			continue;
		}
		if (r < 0) {
			rd_lease_free(nl);
		} else if (s->store && rd_store_submit(s->store, nl, "failover-ack", NULL, NULL) < 0) {
			rd_log(LOG_WARNING, "failover %s: ack of %s not stored (kept in memory)", p->name, ip);
		}
		rcu_read_unlock();
		break;
	}
	send_updates(p);
}

/* ------------------------------------------------------------ link callbacks */

static void on_up(void *ctx, rd_fo_link_t *link, const rd_fo_link_peer_t *peer)
{
	rd_fo_peer_t *p = ctx;
	char ip[16];
	(void)link;
	fmt_ip(peer->addr, ip, sizeof(ip));
	p->link_gen++;
	atomic_store(&p->pub.last_contact, now_s());
	uint32_t window = peer->max_unacked ? peer->max_unacked : 1;
	/* A rackdhcpd peer announces a small window for ISC's sake only
	 * (max_unacked_updates as MAAS writes it, or 3: hold_link_conf).  It
	 * has no fixed receive buffer: each BNDUPD is applied as it arrives
	 * and acknowledged once durable, and a group commit takes whatever
	 * has arrived.  So it is sent up to RACK_WINDOW (or our own setting,
	 * if larger): with ack_after_peer every ACK waits for a round trip
	 * and the peer's commit, and 10 in flight cap a pair at ~10 leases
	 * per round trip. */
	if (!strncmp(peer->vendor_class, "rackdhcpd-", 10)) {
		uint32_t w = p->cfg.max_unacked_updates > RACK_WINDOW ? p->cfg.max_unacked_updates : RACK_WINDOW;
		if (window < w) {
			rd_log(LOG_INFO, "failover %s: the peer is %s: up to %u updates in flight (it announced %u)",
			       p->name, peer->vendor_class, w, window);
			window = w;
		}
	}
	p->max_unacked = window > MAX_INFLIGHT ? MAX_INFLIGHT : window;
	atomic_store(&p->pub.window, p->max_unacked);
	if (peer->has_hba)
		set_hba(p, peer->hba);
	rd_log(LOG_INFO, "failover %s: link up with %s (%s, %s), max-unacked %u, mclt %u", p->name, ip,
	       peer->inbound ? "incoming" : "outgoing", peer->vendor_class[0] ? peer->vendor_class : "no vendor",
	       peer->max_unacked, peer->mclt);
	rd_fo_event_t ev = { .kind = RD_FO_EV_CONNECTED, .now = now_s(),
			     .mclt = p->cfg.role == RD_FO_SECONDARY ? peer->mclt : 0 };
	sm_event(p, &ev);
}

static void on_message(void *ctx, rd_fo_link_t *link, const rd_fo_msg_t *m)
{
	rd_fo_peer_t *p = ctx;
	rd_fo_event_t ev = { .now = now_s() };
	rd_fo_msg_t r;
	(void)link;

	atomic_store(&p->pub.last_contact, ev.now);
	switch (m->type) {
	case RD_FO_STATE:
		ev.kind = RD_FO_EV_PARTNER_STATE;
		ev.partner_state = rd_fo_has(m, RD_FO_OPT_SERVER_STATE) ? m->server_state : 0;
		ev.partner_flags = m->server_flags;
		sm_event(p, &ev);
		break;
	case RD_FO_UPDREQ:
	case RD_FO_UPDREQALL:
		p->pending_req_xid = m->xid;
		ev.kind = m->type == RD_FO_UPDREQ ? RD_FO_EV_UPDREQ : RD_FO_EV_UPDREQALL;
		rd_log(LOG_INFO, "failover %s: peer sent %s", p->name, rd_fo_msg_name(m->type));
		sm_event(p, &ev);
		break;
	case RD_FO_UPDDONE:
		rd_log(LOG_INFO, "failover %s: peer sent UPDDONE", p->name);
		ev.kind = RD_FO_EV_UPDDONE;
		sm_event(p, &ev);
		break;
	case RD_FO_BNDUPD:
		on_bndupd(p, m);
		break;
	case RD_FO_BNDACK:
		on_bndack(p, m);
		break;
	case RD_FO_POOLREQ: {
		/* Not a timer run: it must not ask back (ping-pong). */
		struct bal_run br;
		atomic_fetch_add(&p->pub.poolreq_recv, 1);
		balance_pools(p, BAL_NOW, &br);
		/* This was a balance run: drop the planned one and plan anew, so
		 * that the next comes at least min_balance after this one (ISC
		 * cancels its timer on a POOLREQ and replans the same way). */
		if (p->sm.state == RD_FO_ST_NORMAL) {
			p->bal_at = 0;
			balance_plan(p, &br, p->bal_last);
		}
		rd_fo_msg_init(&r, RD_FO_POOLRESP, 0, m->xid);
		rd_fo_set_uint(&r, RD_FO_OPT_ADDRESSES_TRANSFERRED, br.moved);
		send_msg(p, &r);
		rd_log(LOG_INFO, "failover %s: the peer ran short of free addresses (POOLREQ): %u given to it%s",
		       p->name, br.moved, p->sm.state == RD_FO_ST_NORMAL ? "" : " (we are not in NORMAL)");
		break;
	}
	case RD_FO_POOLRESP:
		atomic_fetch_add(&p->pub.poolresp_recv, 1);
		if (rd_fo_has(m, RD_FO_OPT_ADDRESSES_TRANSFERRED))
			rd_log(LOG_INFO, "failover %s: the peer answered our POOLREQ: %u addresses given to us",
			       p->name, m->addresses_transferred);
		else
			rd_log(LOG_INFO, "failover %s: the peer answered our POOLREQ (no count)", p->name);
		break;
	case RD_FO_DISCONNECT:
		rd_log(LOG_WARNING, "failover %s: peer disconnects: %s", p->name,
		       rd_fo_reject_reason_name(m->reject_reason));
		break;
	default:
		break;
	}
}

static void on_down(void *ctx, rd_fo_link_t *link, int reason, const char *why)
{
	rd_fo_peer_t *p = ctx;
	(void)link;
	rd_log(LOG_WARNING, "failover %s: link down: %s%s%s", p->name, rd_fo_link_down_name(reason),
	       why ? ": " : "", why ? why : "");
	p->upddone_pending = false;
	p->link_gen++;
	atomic_store(&p->pub.window, 0);
	holds_fail_all(p, -ENOTCONN, "the failover link went down before the peer's BNDACK");
	rd_fo_event_t ev = { .kind = RD_FO_EV_LINK_LOST, .now = now_s() };
	sm_event(p, &ev);
	/* Whatever the state (the machine rescinds on leaving NORMAL,
	 * POTENTIAL-CONFLICT, PARTNER-DOWN): no BNDACK can come for a BNDUPD
	 * of a link that is gone.  Left in flight, it would hold its address
	 * back on the next link, and a bulk queueing would take it for sent. */
	if (p->n_fl) {
		rescind(p);
		publish(p);
	}
}

static void on_refused(void *ctx, rd_fo_link_t *link, bool by_peer, unsigned reason, const char *why)
{
	rd_fo_peer_t *p = ctx;
	(void)link;
	rd_log(LOG_WARNING, "failover %s: handshake refused by %s: %s (%s)", p->name, by_peer ? "the peer" : "us",
	       rd_fo_reject_reason_name(reason), why ? why : "");
}

static void on_drain(void *ctx, rd_fo_link_t *link)
{
	(void)link;
	send_updates(ctx);
}

/* ------------------------------------------------------------ reconfiguration */

#define RETIRE_WAIT_MS 2000     /* a leaving relationship waits this long for the peer's PARTNER-DOWN */
#define RECONF_CLAIM_MS 10000   /* a reload waits this long for the failover thread to take its request */

/* Two listeners that cannot be bound at once (same port, same or wildcard address). */
static bool listeners_clash(const rd_cfg_failover_t *a, const rd_cfg_failover_t *b)
{
	return a->port && a->port == b->port && (a->address == b->address || !a->address || !b->address);
}

static const rd_cfg_failover_t *cfg_failover(const rd_config_t *cfg, const char *name)
{
	for (size_t i = 0; cfg && i < cfg->n_failovers; i++)
		if (!strcmp(cfg->failovers[i].name, name))
			return &cfg->failovers[i];
	return NULL;
}

/* Only once no reader can hold it (after a grace period), or at the end. */
static void peer_free(rd_fo_peer_t *p)
{
	if (!p)
		return;
	rd_fo_link_free(p->link);
	free(p->q);
	free(p->qs);
	free(p->fl);
	free(p->joined);
	free(p);
}

/* A peer for relationship f with its link (listener open); not started yet. */
static int peer_new(rd_fo_peers_t *s, const rd_cfg_failover_t *f, rd_fo_peer_t **out)
{
	*out = NULL;
	rd_fo_peer_t *p = calloc(1, sizeof(*p));
	if (!p)
		return RD_ENOMEM;
	p->set = s;
	p->idx = s->next_idx++;
	snprintf(p->name, sizeof(p->name), "%s", f->name);
	p->cfg = *f;
	p->cfg.name = p->name;
	p->max_unacked = 1;
	p->held_tail = &p->held;
	p->rng = (uint32_t)time(NULL) ^ (p->idx * 2654435761u);
	/* a configuration built without the parser: ISC's defaults */
	if (!p->cfg.max_balance) {
		p->cfg.min_balance = RD_FO_DEFAULT_MIN_BALANCE;
		p->cfg.max_balance = RD_FO_DEFAULT_MAX_BALANCE;
		p->cfg.max_lease_misbalance = RD_FO_DEFAULT_MAX_LEASE_MISBALANCE;
		p->cfg.max_lease_ownership = RD_FO_DEFAULT_MAX_LEASE_OWNERSHIP;
	}
	p->fl = calloc(MAX_INFLIGHT, sizeof(*p->fl));
	if (!p->fl) {
		free(p);
		return RD_ENOMEM;
	}
	if (f->has_hba)
		set_hba(p, f->hba);
	rd_fo_sm_init(&p->sm, f->role, f->mclt, f->auto_partner_down);
	rd_fo_link_conf_t lc;
	rd_fo_link_conf_from_cfg(&lc, &p->cfg);
	hold_link_conf(&lc, &p->cfg);
	rd_fo_link_ops_t ops = { .on_up = on_up, .on_message = on_message, .on_down = on_down,
				 .on_refused = on_refused, .on_drain = on_drain, .ctx = p };
	int r = rd_fo_link_new(&lc, &ops, &p->link);
	if (r < 0) {
		rd_log(LOG_ERR, "failover %s: cannot start the link: %s", p->name, rd_strerror(r));
		peer_free(p);
		return r;
	}
	*out = p;
	return 0;
}

/*
 * Start the machine from the stored state, as at start-up.  role_changed:
 * the stored state belongs to the other role and is trusted only if it is
 * RECOVER (see rd_fo_peers_reconfigure in fo_peer.h for why).
 */
static void peer_boot(rd_fo_peer_t *p, bool role_changed, uint32_t now)
{
	const rd_cfg_failover_t *f = &p->cfg;
	rd_store_fo_state_t fs;
	int gr = p->set->store ? rd_store_fo_state_get(p->set->store, p->name, &fs) : -ENOENT;
	bool fresh = gr < 0 || !rd_fo_state_valid(fs.state) || fs.state == RD_FO_ST_STARTUP;
	bool dropped = !fresh && role_changed && fs.state != RD_FO_ST_RECOVER;
	if (dropped)
		fresh = true;
	if (!fresh) {
		p->sm.saved = fs.state;
		p->sm.state = fs.state;
		p->sm.partner = fs.partner;
		p->sm.stos = fs.stos;
		p->sm.partner_stos = fs.partner_stos;
		if (fs.mclt && f->role == RD_FO_SECONDARY)
			p->sm.mclt = fs.mclt;
	}
	if (dropped)
		rd_log(LOG_WARNING, "failover %s: now %s: the stored state (%s, of the other role) is not carried "
		       "over: starting over in recover", p->name, rd_config_role_name(f->role),
		       rd_fo_state_name(fs.state));
	else
		rd_log(LOG_INFO, "failover %s: %s, %s", p->name, rd_config_role_name(f->role),
		       fresh ? "no stored state: starting over in recover" : "stored state");
	if (!fresh)
		rd_log(LOG_INFO, "failover %s: stored state %s since %u, peer %s", p->name,
		       rd_fo_state_name(fs.state), fs.stos, rd_fo_state_name(fs.partner));
	rd_fo_event_t ev = { .kind = RD_FO_EV_STARTUP, .now = now, .fresh = fresh };
	sm_event(p, &ev);
}

/* Graceful end of one peer: record where it stops, let queued bytes go (bounded). */
static void peer_wind_down(rd_fo_peer_t *p)
{
	if (p->sm.state == RD_FO_ST_SHUTDOWN) {
		rd_fo_event_t ev = { .kind = RD_FO_EV_SHUTDOWN_DONE, .now = now_s(),
				     .queues_empty = !p->q_len && !p->n_fl };
		sm_event(p, &ev);
	}
	for (int k = 0; k < 50 && rd_fo_link_queued(p->link); k++) {
		struct pollfd pf[RD_FO_LINK_MAX_FDS];
		size_t n = rd_fo_link_poll_events(p->link, pf, RD_FO_LINK_MAX_FDS);
		(void)poll(pf, (nfds_t)n, 20);
		rd_fo_link_process(p->link, rd_fo_link_now_ms());
	}
}

/*
 * Relationships that leave (removed, or restarted with a new configuration)
 * stop as on a graceful stop: one in NORMAL announces SHUTDOWN and waits (at
 * most RETIRE_WAIT_MS, all of them together) for the peer's PARTNER-DOWN,
 * records RECOVER, and its link and listener close.  A removed one's record
 * is reset to STARTUP, so that if it comes back it starts over in RECOVER.
 */
static void peers_retire(rd_fo_peers_t *s, rd_fo_peer_t **gone, const bool *removed, size_t n)
{
	struct pollfd *pfd = calloc(n * RD_FO_LINK_MAX_FDS, sizeof(*pfd));
	uint64_t until = rd_fo_link_now_ms() + RETIRE_WAIT_MS;

	for (size_t i = 0; i < n; i++) {
		rd_log(LOG_NOTICE, "failover %s: %s by the new configuration", gone[i]->name,
		       removed[i] ? "removed" : "changed: restarting");
		if (!gone[i]->sm.linked)
			continue;
		rd_fo_event_t ev = { .kind = RD_FO_EV_SHUTDOWN, .now = now_s() };
		sm_event(gone[i], &ev);
	}
	for (;;) {
		bool waiting = false;
		size_t nfd = 0;
		for (size_t i = 0; i < n; i++)
			if (gone[i]->sm.state == RD_FO_ST_SHUTDOWN && gone[i]->sm.linked &&
			    gone[i]->sm.partner != RD_FO_ST_PARTNER_DOWN)
				waiting = true;
		uint64_t now_ms = rd_fo_link_now_ms();
		if (!waiting || !pfd || now_ms >= until)
			break;
		for (size_t i = 0; i < n; i++)
			nfd += rd_fo_link_poll_events(gone[i]->link, pfd + nfd, RD_FO_LINK_MAX_FDS);
		(void)poll(pfd, (nfds_t)nfd, 50);
		now_ms = rd_fo_link_now_ms();
		for (size_t i = 0; i < n; i++)
			rd_fo_link_process(gone[i]->link, now_ms);
	}
	free(pfd);
	for (size_t i = 0; i < n; i++) {
		rd_fo_peer_t *p = gone[i];
		holds_fail_all(p, -ECANCELED, "its failover relationship was reconfigured");
		peer_wind_down(p);
		rd_fo_link_free(p->link);       /* the listener closes now: a successor may bind it */
		p->link = NULL;
		/* Readers may still see it until the grace period: it serves nobody. */
		atomic_store(&p->pub.state, RD_FO_ST_SHUTDOWN);
		atomic_store(&p->pub.linked, false);
		if (removed[i] && s->store) {
			rd_store_fo_state_t fs = { .state = RD_FO_ST_STARTUP, .stos = now_s(),
						   .partner = RD_FO_ST_UNKNOWN, .mclt = p->sm.mclt };
			snprintf(fs.name, sizeof(fs.name), "%s", p->name);
			if (rd_store_fo_state_put(s->store, &fs) < 0)
				rd_log(LOG_WARNING, "failover %s: its stored state could not be reset", p->name);
		}
		rd_log(LOG_NOTICE, "failover %s: stopped in %s, listener closed", p->name,
		       rd_fo_state_name(p->sm.state));
	}
}

/*
 * Make the running relationships those of cfg (see rd_fo_peers_reconfigure).
 * On the failover thread, or before it starts (handed_out false: nobody has
 * the set yet, so nothing to wait for; the caller may even be inside
 * rcu_read_lock, as the daemon's start-up is).  Everything that can fail
 * (allocations, listeners that do not clash with a leaving one) happens
 * before anything running is touched: a failure leaves everything as it was.
 */
static int apply_config(rd_fo_peers_t *s, const rd_config_t *cfg, bool handed_out, char *err, size_t errlen)
{
	struct peer_vec *old = peers_vec(s);
	size_t nn = cfg ? cfg->n_failovers : 0, n_old = old ? old->n : 0, n_gone = 0;
	struct peer_vec *nv = calloc(1, sizeof(*nv) + (nn + 1) * sizeof(rd_fo_peer_t *));
	rd_fo_peer_t **gone = calloc(n_old + 1, sizeof(*gone));
	bool *removed = calloc(n_old + 1, sizeof(bool));
	bool *made = calloc(nn + 1, sizeof(bool)), *later = calloc(nn + 1, sizeof(bool));
	bool *swapped = calloc(nn + 1, sizeof(bool));
	int r = 0;
	char ip[16];

	if (!nv || !gone || !removed || !made || !later || !swapped) {
		r = rd_errf(err, errlen, RD_ENOMEM, "failover: out of memory");
		goto undo;
	}
	for (size_t i = 0; i < n_old; i++) {
		const rd_cfg_failover_t *f = cfg_failover(cfg, old->p[i]->name);
		if (f && rd_config_failover_same(&old->p[i]->cfg, f))
			continue;
		removed[n_gone] = f == NULL;
		gone[n_gone++] = old->p[i];
	}
	for (size_t k = 0; k < nn; k++) {
		const rd_cfg_failover_t *f = &cfg->failovers[k];
		rd_fo_peer_t *o = peer_named(s, f->name);
		if (o && rd_config_failover_same(&o->cfg, f)) {
			nv->p[k] = o;           /* untouched: link, machine and queues go on */
			continue;
		}
		swapped[k] = o && o->cfg.role != f->role;
		for (size_t g = 0; g < n_gone; g++)
			later[k] |= listeners_clash(&gone[g]->cfg, f);
		if (later[k])
			continue;               /* bound once the leaving one has closed it */
		r = peer_new(s, f, &nv->p[k]);
		if (r < 0) {
			fmt_ip(f->address, ip, sizeof(ip));
			if (r == RD_ENOMEM || r == RD_EINVAL)
				rd_errf(err, errlen, r, "failover %s: cannot start: %s", f->name, rd_strerror(r));
			else
				rd_errf(err, errlen, r, "failover %s: cannot listen on %s:%u: %s", f->name, ip,
					f->port, rd_strerror(r));
			goto undo;
		}
		made[k] = true;
	}

	/* Committed: nothing below refuses the configuration. */
	uint32_t now = now_s();
	if (n_gone)
		peers_retire(s, gone, removed, n_gone);
	for (size_t k = 0; k < nn; k++) {
		if (!later[k])
			continue;
		/* The port was ours a moment ago; a few tries cover a slow close. */
		for (int t = 0; t < 10; t++) {
			r = peer_new(s, &cfg->failovers[k], &nv->p[k]);
			if (r != -EADDRINUSE)
				break;
			usleep(50000);
		}
		if (r < 0) {
			/* Its pools are not served (the engine seam refuses a pool
			 * whose relationship is not running) until a reload fixes it. */
			rd_log(LOG_ERR, "failover %s: not running: cannot listen again: %s", cfg->failovers[k].name,
			       rd_strerror(r));
			nv->p[k] = NULL;
			continue;
		}
		made[k] = true;
	}
	for (size_t k = 0; k < nn; k++)
		if (made[k]) {
			rd_log(LOG_NOTICE, "failover %s: %s", nv->p[k]->name,
			       peer_named(s, nv->p[k]->name) ? "restarting with its new configuration" : "starting");
			peer_boot(nv->p[k], swapped[k], now);
		}
	size_t w = 0;
	for (size_t k = 0; k < nn; k++)
		if (nv->p[k])
			nv->p[w++] = nv->p[k];
	nv->n = w;
	rcu_assign_pointer(s->vec, nv);
	if (old) {
		/* No engine-seam reader (worker), status or operator request
		 * can hold a leaving peer or the old vector after this. */
		if (handed_out)
			synchronize_rcu();
		for (size_t i = 0; i < n_gone; i++)
			peer_free(gone[i]);
		free(old);
	}
	r = 0;
	nv = NULL;
undo:
	for (size_t k = 0; nv && k < nn; k++)
		if (made[k])
			peer_free(nv->p[k]);
	free(nv);
	free(gone);
	free(removed);
	free(made);
	free(later);
	free(swapped);
	return r;
}

struct settle {
	rd_fo_peers_t *s;
	const rd_config_t *cfg;
	unsigned n;
};

static int settle_cb(void *ctx, const rd_lease_t *l)
{
	struct settle *st = ctx;
	if (l->state != RD_LEASE_BACKUP)
		return 0;
	const rd_cfg_subnet_t *sn = rd_config_subnet_for(st->cfg, l->addr);
	const rd_cfg_pool_t *pl = sn ? rd_config_pool_for(sn, l->addr) : NULL;
	if (!pl || pl->failover)
		return 0;       /* in no pool any more (kept as is), or still in failover */
	rd_lease_t *nl = rd_lease_dup(l, rd_lease_cid(l), l->cid_len, rd_lease_host(l), l->host_len);
	if (!nl)
		return 0;
	nl->state = RD_LEASE_FREE;
	nl->tstp = nl->tsfp = nl->atsfp = 0;
	if (rd_table_replace(st->s->table, l, nl) < 0) {
		rd_lease_free(nl);      /* changed meanwhile: a worker took it */
		return 0;
	}
	if (st->s->store)
		(void)rd_store_submit(st->s->store, nl, "failover-left", NULL, NULL);
	st->n++;
	return 0;
}

/*
 * Pools that joined a relationship (moved from another one, or newly under
 * failover while the relationship already ran): its partner may know nothing
 * of their bindings (they were acknowledged, if at all, by another partner),
 * so the relationship sends it the pool's bindings once it is in NORMAL
 * (see resend_pending).  FREE and BACKUP are not sent: pool balancing
 * divides them.  Returns how many pools joined.
 */
static unsigned note_pool_owners(rd_fo_peers_t *s, const rd_config_t *cfg)
{
	size_t n = 0;
	unsigned joined = 0;
	for (size_t i = 0; i < cfg->n_subnets; i++)
		n += cfg->subnets[i].n_pools;
	struct pool_owner *now = calloc(n + 1, sizeof(*now));
	if (!now)
		return 0;       /* the next configuration compares again */
	n = 0;
	for (size_t i = 0; i < cfg->n_subnets; i++)
		for (size_t k = 0; k < cfg->subnets[i].n_pools; k++) {
			const rd_cfg_pool_t *pl = &cfg->subnets[i].pools[k];
			struct pool_owner *o = &now[n++];
			o->start = pl->start;
			if (pl->failover && pl->failover->name)
				snprintf(o->name, sizeof(o->name), "%s", pl->failover->name);
			if (!s->have_owners || !o->name[0])
				continue;
			const char *before = "";
			for (size_t j = 0; j < s->n_owners; j++)
				if (s->owners[j].start == o->start)
					before = s->owners[j].name;
			rd_fo_peer_t *p = strcmp(before, o->name) ? peer_named(s, o->name) : NULL;
			void *nj = p ? realloc(p->joined, (p->n_joined + 1) * sizeof(*p->joined)) : NULL;
			if (nj) {
				p->joined = nj;
				p->joined[p->n_joined].start = pl->start;
				p->joined[p->n_joined].end = pl->end;
				p->n_joined++;
				joined++;
			}
		}
	free(s->owners);
	s->owners = now;
	s->n_owners = n;
	s->have_owners = true;
	return joined;
}

static int joined_cb(void *ctx, const rd_lease_t *l)
{
	rd_fo_peer_t *p = ctx;
	if ((l->flags & RD_ENGINE_F_OFFERED) || l->state == RD_LEASE_FREE || l->state == RD_LEASE_BACKUP)
		return 0;
	for (size_t k = 0; k < p->n_joined; k++)
		if (l->addr >= p->joined[k].start && l->addr <= p->joined[k].end) {
			enqueue(p, l->addr);
			break;
		}
	return 0;
}

/* A relationship pools joined, now in NORMAL: their bindings go to the partner once. */
static void resend_pending(rd_fo_peers_t *s)
{
	struct peer_vec *v = peers_vec(s);
	for (size_t i = 0; i < v->n; i++) {
		rd_fo_peer_t *p = v->p[i];
		if (!p->n_joined || p->sm.state != RD_FO_ST_NORMAL || !rd_fo_link_is_up(p->link))
			continue;
		size_t before = p->q_len;
		rcu_read_lock();
		rd_table_foreach(s->table, joined_cb, p);
		rcu_read_unlock();
		free(p->joined);
		p->joined = NULL;
		p->n_joined = 0;
		rd_log(LOG_INFO, "failover %s: pools joined: sending the partner their %zu bindings", p->name,
		       p->q_len - before);
		send_updates(p);
	}
}

/*
 * Run on the failover thread once per published configuration.
 * A pool that left failover (its failover_peer removed, or its relationship
 * with it): the BACKUP addresses in it (the secondary's free share) are
 * plain FREE addresses now, in the table and the store, so that they are
 * allocatable with or without a failover seam, also after a restart.
 * A pool that moves to another relationship keeps its binding states (both
 * servers hold the same ones); its leases are sent to the new partner
 * (note_pool_owners), and FREE and BACKUP are re-divided by the new
 * relationship's pool balancing in NORMAL.
 */
static void settle_pools(rd_fo_peers_t *s)
{
	uint64_t gen = rd_config_generation();
	if (gen != s->cfg_gen) {
		s->cfg_gen = gen;
		rcu_read_lock();
		struct settle st = { .s = s, .cfg = rd_config_current() };
		unsigned joined = 0;
		if (st.cfg) {
			rd_table_foreach(s->table, settle_cb, &st);
			joined = note_pool_owners(s, st.cfg);
		}
		rcu_read_unlock();
		if (st.n)
			rd_log(LOG_NOTICE, "failover: %u BACKUP addresses of pools without failover are FREE now",
			       st.n);
		if (joined)
			rd_log(LOG_NOTICE, "failover: %u pools joined a running relationship", joined);
	}
	resend_pending(s);
}

/* On the failover thread: carry out a reconfiguration a reload is waiting for. */
static void reconf_serve(rd_fo_peers_t *s)
{
	pthread_mutex_lock(&s->lock);
	struct reconf *rq = s->reconf;
	if (rq)
		rq->claimed = true;
	pthread_mutex_unlock(&s->lock);
	if (!rq)
		return;
	int r = apply_config(s, rq->cfg, true, rq->err, sizeof(rq->err));
	pthread_mutex_lock(&s->lock);
	rq->rc = r;
	rq->done = true;
	s->reconf = NULL;
	pthread_cond_broadcast(&s->reconf_cv);
	pthread_mutex_unlock(&s->lock);
}

/* The thread is stopping: a waiting reconfiguration is refused. */
static void reconf_refuse(rd_fo_peers_t *s)
{
	pthread_mutex_lock(&s->lock);
	struct reconf *rq = s->reconf;
	if (rq) {
		rq->rc = rd_errf(rq->err, sizeof(rq->err), RD_EINVAL, "failover: the daemon is stopping");
		rq->done = true;
		s->reconf = NULL;
		pthread_cond_broadcast(&s->reconf_cv);
	}
	pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------ the thread */

static rd_fo_peer_t *peer_by_idx(rd_fo_peers_t *s, unsigned idx)
{
	struct peer_vec *v = peers_vec(s);
	for (size_t i = 0; i < v->n; i++)
		if (v->p[i]->idx == idx)
			return v->p[i];
	return NULL;
}

static void drain_inbox(rd_fo_peers_t *s)
{
	atomic_store(&s->wake_pending, false);
	pthread_mutex_lock(&s->lock);
	uint32_t *changed = s->changed;
	size_t n = s->n_changed;
	s->changed = NULL;
	s->n_changed = s->cap_changed = 0;
	struct ack_job *acks = s->acks;
	s->acks = NULL;
	s->acks_tail = &s->acks;
	struct hold *holds = s->holds_in;
	s->holds_in = NULL;
	s->holds_in_tail = &s->holds_in;
	unsigned drop_req = s->drop_req;
	const char *drop_why = s->drop_why;
	pthread_mutex_unlock(&s->lock);

	struct peer_vec *vec = peers_vec(s);
	for (size_t i = 0; i < vec->n; i++) {
		if (!atomic_exchange(&vec->p[i]->partner_down_req, false))
			continue;
		rd_log(LOG_WARNING, "failover %s: operator says the partner is down", vec->p[i]->name);
		rd_fo_event_t ev = { .kind = RD_FO_EV_PARTNER_DOWN, .now = now_s() };
		sm_event(vec->p[i], &ev);
	}

	for (struct ack_job *j = acks, *nx; j; j = nx) {
		nx = j->next;
		rd_fo_peer_t *p = peer_by_idx(s, j->peer);
		if (!p) {
			/* The relationship was removed or restarted by a reload:
			 * its link is gone, the peer sends the update again. */
		} else if (j->status < 0) {
			char ip[16];
			fmt_ip(j->addr, ip, sizeof(ip));
			rd_log(LOG_ERR, "failover %s: peer's update %s could not be made durable (%s): not acked",
			       p->name, ip, rd_strerror(j->status));
		} else if (j->link_gen == p->link_gen && rd_fo_link_is_up(p->link)) {
			send_bndack(p, j->xid, j->addr, 0, NULL);
		}
		free(j);
	}
	holds_register(s, holds);
	if (drop_req != s->drop_done)
		holds_drop_all(s, drop_req, drop_why);
	if (n) {
		rcu_read_lock();
		const rd_config_t *cfg = rd_config_current();
		for (size_t i = 0; i < n; i++) {
			rd_fo_peer_t *p = peer_for_addr(s, cfg, changed[i]);
			/* Not linked: the lease keeps tstp > atsfp, and the
			 * next entry to NORMAL (QUEUE_UPDATES) sends it. */
			if (p && p->sm.linked)
				enqueue(p, changed[i]);
		}
		rcu_read_unlock();
		for (size_t i = 0; i < vec->n; i++)
			send_updates(vec->p[i]);
	}
	free(changed);
}

static void *fo_thread(void *arg)
{
	rd_fo_peers_t *s = arg;
	uint64_t shutdown_until = 0;
	bool shutting = false;
	struct pollfd *pfd = NULL;
	size_t pfd_cap = 0;

	rcu_register_thread();
	for (;;) {
		struct peer_vec *vec = peers_vec(s);
		size_t np = vec->n, nfd = 1;
		uint64_t now_ms = rd_fo_link_now_ms();
		int timeout = 1000;   /* the machine's timers are in seconds */

		if (pfd_cap < 1 + np * RD_FO_LINK_MAX_FDS) {
			size_t nc = 1 + np * RD_FO_LINK_MAX_FDS;
			struct pollfd *n = realloc(pfd, nc * sizeof(*n));
			if (n) {
				pfd = n;
				pfd_cap = nc;
			}
		}
		if (pfd_cap < 1 + np * RD_FO_LINK_MAX_FDS) {
			/* Out of memory: poll what fits, every link is still
			 * processed (process() polls its own descriptors). */
			np = pfd_cap > 1 ? (pfd_cap - 1) / RD_FO_LINK_MAX_FDS : 0;
		}
		if (atomic_load(&s->stop) && !shutting) {
			shutting = true;
			shutdown_until = now_ms + SHUTDOWN_WAIT_MS;
			for (size_t i = 0; i < vec->n; i++) {
				if (!atomic_load(&s->graceful) || !vec->p[i]->sm.linked)
					continue;
				rd_fo_event_t ev = { .kind = RD_FO_EV_SHUTDOWN, .now = now_s() };
				sm_event(vec->p[i], &ev);
			}
		}
		if (shutting) {
			bool waiting = false;
			for (size_t i = 0; i < vec->n; i++)
				if (vec->p[i]->sm.state == RD_FO_ST_SHUTDOWN && vec->p[i]->sm.linked &&
				    vec->p[i]->sm.partner != RD_FO_ST_PARTNER_DOWN)
					waiting = true;
			if (!waiting || now_ms >= shutdown_until)
				break;
		}

		struct pollfd wk = { .fd = s->wake_fd, .events = POLLIN };
		struct pollfd *pp = pfd ? pfd : &wk;
		pp[0] = wk;
		for (size_t i = 0; i < np; i++)
			nfd += rd_fo_link_poll_events(vec->p[i]->link, pp + nfd, RD_FO_LINK_MAX_FDS);
		for (size_t i = 0; i < vec->n; i++) {
			int t = rd_fo_link_next_timeout_ms(vec->p[i]->link, now_ms);
			if (t >= 0 && t < timeout)
				timeout = t;
		}
		if ((shutting || np < vec->n) && timeout > 100)
			timeout = 100;
		/* the rebalance timer, in seconds like the machine's */
		for (size_t i = 0; i < vec->n; i++) {
			uint32_t at = vec->p[i]->bal_at, t_s = now_s();
			if (!at)
				continue;
			int t = at <= t_s ? 0 : at - t_s >= 1000 ? 1000000 : (int)(at - t_s) * 1000;
			if (t < timeout)
				timeout = t;
		}
		if (poll(pp, (nfds_t)nfd, timeout) > 0 && (pp[0].revents & POLLIN)) {
			uint64_t v;     /* an eventfd read takes the whole count */
			ssize_t r = read(s->wake_fd, &v, sizeof(v));
			(void)r;
		}
		now_ms = rd_fo_link_now_ms();
		drain_inbox(s);
		if (!shutting) {
			reconf_serve(s);
			settle_pools(s);
		}
		vec = peers_vec(s);     /* a reconfiguration may have swapped it */
		uint32_t now = now_s();
		for (size_t i = 0; i < vec->n; i++) {
			rd_fo_link_process(vec->p[i]->link, now_ms);
			run_timer(vec->p[i], now);
			balance_timer(vec->p[i], now);
			holds_expire(vec->p[i], now_ms);
		}
		release_end(s);
	}
	free(pfd);
	release_end(s);

	/* Graceful end: record where we stop (SHUTDOWN -> RECOVER, STOS
	 * backdated if the partner took over), let queued bytes go, close. */
	struct peer_vec *vec = peers_vec(s);
	for (size_t i = 0; i < vec->n; i++) {
		holds_fail_all(vec->p[i], -ECANCELED, "the daemon is stopping");
		peer_wind_down(vec->p[i]);
	}
	/* A reconfiguration that came too late is refused, not left waiting. */
	reconf_refuse(s);
	rcu_unregister_thread();
	return NULL;
}

/* ------------------------------------------------------------ engine seam */

/*
 * A pool that names a relationship this server is not running: only for the
 * moment between a reload's reconfiguration and its publication of the new
 * configuration (a relationship just removed), or when a restarted
 * relationship could not listen again.  Nobody is served from it: without
 * its relationship nothing says which addresses are ours.
 */
static bool subnet_orphaned(const rd_cfg_subnet_t *sn, const char **why)
{
	for (size_t k = 0; sn && k < sn->n_pools; k++)
		if (sn->pools[k].failover && sn->pools[k].failover->name) {
			*why = "its failover relationship is not running";
			return true;
		}
	return false;
}

static bool addr_orphaned(const rd_config_t *cfg, uint32_t addr)
{
	const rd_cfg_subnet_t *sn = cfg ? rd_config_subnet_for(cfg, addr) : NULL;
	const rd_cfg_pool_t *pl = sn ? rd_config_pool_for(sn, addr) : NULL;
	return pl && pl->failover && pl->failover->name;
}

/*
 * Whether the peer still has addresses to give in sn: ISC answers a client
 * of the peer's when the peer has nothing left to allocate ("cancel load
 * balance").  Counting that means a popcount over the pool's bitmaps, once
 * for every DISCOVER of the peer's clients — a quarter of a worker's time
 * under load — so the answer is kept in the snapshot for a second: the
 * peer's pool running dry is noticed at most a second late, when the
 * clients it cannot serve are retrying anyway.
 */
static bool peer_has_free_in(rd_fo_peers_t *s, const rd_fo_peer_t *p, const rd_cfg_subnet_t *sn)
{
	if (!sn)
		return false;
	uint32_t *cache = (uint32_t *)(uintptr_t)&sn->peer_free_cache;
	uint32_t sec = (uint32_t)(rd_fo_link_now_ms() / 1000) + 1;
	uint32_t c = __atomic_load_n(cache, __ATOMIC_RELAXED);
	if (c >> 1 == (sec & 0x7fffffffu))
		return c & 1;
	bool has = false;
	rd_table_pool_stats_t st;
	for (size_t k = 0; k < sn->n_pools && !has; k++) {
		if (rd_table_pool_stats(s->table, sn->pools[k].start, &st) < 0)
			continue;
		if (p->cfg.role == RD_FO_PRIMARY)
			has = st.by_state[RD_LEASE_BACKUP] > 0;
		else
			has = st.unavailable < st.size;
	}
	__atomic_store_n(cache, (sec & 0x7fffffffu) << 1 | has, __ATOMIC_RELAXED);
	return has;
}

static bool eng_may_serve(void *ctx, const rd_cfg_subnet_t *sn, const rd_dhcp_t *req, const char **why)
{
	rd_fo_peers_t *s = ctx;
	rd_fo_peer_t *p = peer_for_subnet(s, sn);
	if (!p)
		return !subnet_orphaned(sn, why);
	uint8_t st = atomic_load(&p->pub.state), ps = atomic_load(&p->pub.partner);
	bool balanced = rd_fo_lb_applies(st, req->msgtype);
	bool mine = true, peer_has_free = true;
	if (balanced) {
		uint8_t hba[RD_FO_HBA_LEN];
		const uint8_t *cid = NULL;
		size_t cid_len = 0;
		const uint8_t *v = rd_dhcp_get(req, RD_OPT_CLIENT_ID, &cid_len);
		if (v)
			cid = v;
		uint8_t bucket = rd_fo_lb_bucket(cid, cid_len, req->chaddr, req->hlen);
		const uint8_t *h = get_hba(p, hba) ? hba : (p->cfg.has_hba ? p->cfg.hba : NULL);
		mine = rd_fo_lb_mine(h, p->cfg.role, bucket, rd_fo_lb_secs(req->secs, true),
				     p->cfg.load_balance_max_seconds);
		if (!mine)
			peer_has_free = peer_has_free_in(s, p, sn);
	}
	if (rd_fo_may_serve(st, ps, balanced, mine, peer_has_free))
		return true;
	*why = !rd_fo_state_serves(st, ps) ? "this state serves nobody" : "load balancing: the peer's client";
	return false;
}

static bool eng_may_allocate(void *ctx, uint32_t addr, const rd_lease_t *l, uint32_t now)
{
	rd_fo_peers_t *s = ctx;
	const rd_config_t *cfg = rd_config_current();
	rd_fo_peer_t *p = peer_for_addr(s, cfg, addr);
	if (!p)
		return !addr_orphaned(cfg, addr);
	rd_fo_alloc_in_t in = {
		.my_state = atomic_load(&p->pub.state), .partner_state = atomic_load(&p->pub.partner),
		.role = p->cfg.role,
		.binding = l ? l->state : RD_FO_BS_FREE,
		.tsfp = l ? l->tsfp : 0,
		.stos = atomic_load(&p->pub.stos), .mclt = atomic_load(&p->pub.mclt), .now = now,
	};
	/* An offer that lapsed is whatever it was before: a FREE address. */
	if (l && l->state == RD_LEASE_ACTIVE && (l->flags & RD_ENGINE_F_OFFERED))
		in.binding = RD_FO_BS_FREE;
	/* A lapsed ACTIVE lease the table has not expired yet: EXPIRED. */
	else if (l && l->state == RD_LEASE_ACTIVE)
		in.binding = RD_FO_BS_EXPIRED;
	if (!in.mclt)
		in.mclt = p->cfg.mclt;
	/* A version the peer never heard of (no tstp told, no tsfp learnt:
	 * e.g. an offer that lapsed) rewinds to our own free state (doc §5.1). */
	if (l && !l->tstp && !l->tsfp)
		in.rewind = p->cfg.role == RD_FO_PRIMARY ? RD_FO_BS_FREE : RD_FO_BS_BACKUP;
	return rd_fo_may_allocate(&in);
}

/* Where this server's free addresses are in the pool holding addr (engine.h). */
static int eng_backup_use(void *ctx, uint32_t addr)
{
	rd_fo_peers_t *s = ctx;
	rd_fo_peer_t *p = peer_for_addr(s, rd_config_current(), addr);
	if (!p)
		return RD_ENGINE_BACKUP_NO;
	if (p->cfg.role != RD_FO_PRIMARY)
		return RD_ENGINE_BACKUP_FIRST;
	/* The primary takes BACKUP leases only in PARTNER-DOWN, once MCLT
	 * has passed (rd_fo_may_allocate checks each one). */
	if (atomic_load(&p->pub.state) == RD_FO_ST_PARTNER_DOWN)
		return RD_ENGINE_BACKUP_LAST;
	return RD_ENGINE_BACKUP_NO;
}

static uint32_t eng_lease_time(void *ctx, const rd_lease_t *old, rd_lease_t *nl, uint32_t now, uint32_t want)
{
	rd_fo_peers_t *s = ctx;
	rd_fo_peer_t *p = peer_for_addr(s, rd_config_current(), nl->addr);
	if (!p)
		return want;
	uint32_t mclt = atomic_load(&p->pub.mclt);
	if (!mclt)
		mclt = p->cfg.mclt;
	rd_fo_times_t t = { .tstp = 0, .tsfp = 0, .atsfp = 0 };
	/* The peer's knowledge of a lease only counts for the same binding. */
	if (old && old->state == RD_LEASE_ACTIVE && !(old->flags & RD_ENGINE_F_OFFERED)) {
		t.tstp = old->tstp;
		t.tsfp = old->tsfp;
		t.atsfp = old->atsfp;
	}
	uint32_t granted = rd_fo_lease_time(now, want, t.tsfp, mclt);
	rd_fo_times_on_ack(&t, now, want, granted);
	nl->ends = granted == RD_FO_LEASE_INFINITE ? 0 :
		   (uint64_t)now + granted >= RD_FO_TIME_NEVER ? RD_FO_TIME_NEVER - 1 : now + granted;
	nl->tstp = t.tstp;
	nl->tsfp = t.tsfp;
	nl->atsfp = t.atsfp;
	return granted;
}

/* ------------------------------------------------------------ public */

void rd_fo_peers_notify(rd_fo_peers_t *s, uint32_t addr)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->n_changed == s->cap_changed) {
		size_t nc = s->cap_changed ? 2 * s->cap_changed : 64;
		uint32_t *n = realloc(s->changed, nc * sizeof(*n));
		if (!n) {
			pthread_mutex_unlock(&s->lock);
			return;   /* tstp > atsfp stays: the next NORMAL entry sends it */
		}
		s->changed = n;
		s->cap_changed = nc;
	}
	s->changed[s->n_changed++] = addr;
	pthread_mutex_unlock(&s->lock);
	wake(s);
}

void rd_fo_peers_set_release_end(rd_fo_peers_t *s, rd_fo_release_end_fn fn)
{
	if (s && atomic_load_explicit(&s->release_end, memory_order_relaxed) != fn)
		atomic_store(&s->release_end, fn);
}

bool rd_fo_peers_hold_wanted(rd_fo_peers_t *s, uint32_t addr)
{
	if (!s)
		return false;
	rd_fo_peer_t *p = peer_for_addr(s, rd_config_current(), addr);
	return p && p->cfg.ack_after_peer && atomic_load(&p->pub.linked) &&
	       atomic_load(&p->pub.state) == RD_FO_ST_NORMAL;
}

bool rd_fo_peers_notify_hold(rd_fo_peers_t *s, uint32_t addr, rd_fo_release_fn fn, void *ctx)
{
	if (!s)
		return false;
	struct hold *h = calloc(1, sizeof(*h));
	if (!h) {
		rd_fo_peers_notify(s, addr);
		return false;
	}
	h->fn = fn;
	h->ctx = ctx;
	h->addr = addr;
	/* The change goes with its hold: holds_register queues the address
	 * (first) when it attaches the reply to its relationship. */
	pthread_mutex_lock(&s->lock);
	*s->holds_in_tail = h;
	s->holds_in_tail = &h->next;
	pthread_mutex_unlock(&s->lock);
	wake(s);
	return true;
}

void rd_fo_peers_drop_held(rd_fo_peers_t *s, const char *why)
{
	if (!s || !s->thr_started)
		return;
	pthread_mutex_lock(&s->lock);
	unsigned ticket = ++s->drop_req;
	s->drop_why = why;
	pthread_mutex_unlock(&s->lock);
	wake(s);
	/* Bounded: the thread answers within one round of its loop; at stop
	 * it drops everything anyway. */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&s->lock);
	while ((int)(s->drop_done - ticket) < 0 && !atomic_load(&s->stop))
		if (pthread_cond_timedwait(&s->dropped, &s->lock, &until) == ETIMEDOUT)
			break;
	bool done = (int)(s->drop_done - ticket) >= 0;
	pthread_mutex_unlock(&s->lock);
	if (!done)
		rd_log(LOG_WARNING, "failover: held replies were not dropped in time (%s)", why ? why : "");
}

const rd_engine_fo_t *rd_fo_peers_engine(rd_fo_peers_t *s)
{
	return s ? &s->engine : NULL;
}

size_t rd_fo_peers_status(rd_fo_peers_t *s, rd_fo_peer_status_t *out, size_t cap)
{
	if (!s)
		return 0;
	rcu_read_lock();
	struct peer_vec *v = peers_vec(s);
	size_t n = v ? v->n : 0;
	for (size_t i = 0; i < n && i < cap; i++) {
		rd_fo_peer_t *p = v->p[i];
		rd_fo_peer_status_t *o = &out[i];
		memset(o, 0, sizeof(*o));
		snprintf(o->name, sizeof(o->name), "%s", p->name);
		o->role = p->cfg.role;
		o->state = atomic_load(&p->pub.state);
		o->partner = atomic_load(&p->pub.partner);
		o->stos = atomic_load(&p->pub.stos);
		o->linked = atomic_load(&p->pub.linked);
		o->queued = atomic_load(&p->pub.queued);
		o->unacked = atomic_load(&p->pub.unacked);
		o->window = atomic_load(&p->pub.window);
		o->last_contact = atomic_load(&p->pub.last_contact);
		o->peer_address = p->cfg.peer_address;
		o->peer_port = p->cfg.peer_port;
		o->bndupd_sent = atomic_load(&p->pub.bndupd_sent);
		o->bndack_recv = atomic_load(&p->pub.bndack_recv);
		o->bndupd_recv = atomic_load(&p->pub.bndupd_recv);
		o->bndack_sent = atomic_load(&p->pub.bndack_sent);
		o->bndupd_rejected = atomic_load(&p->pub.bndupd_rejected);
		o->replies_waiting = atomic_load(&p->pub.replies_waiting);
		o->replies_held = atomic_load(&p->pub.replies_held);
		o->replies_released = atomic_load(&p->pub.replies_released);
		o->replies_dropped = atomic_load(&p->pub.replies_dropped);
		o->balance_runs = atomic_load(&p->pub.balance_runs);
		o->balance_moved = atomic_load(&p->pub.balance_moved);
		o->poolreq_sent = atomic_load(&p->pub.poolreq_sent);
		o->poolreq_recv = atomic_load(&p->pub.poolreq_recv);
		o->poolresp_recv = atomic_load(&p->pub.poolresp_recv);
		o->balance_next = atomic_load(&p->pub.balance_next);
	}
	rcu_read_unlock();
	return n;
}

static void peers_free(rd_fo_peers_t *s)
{
	if (!s)
		return;
	holds_free_inbox(s);    /* before the peers go: it fails their held replies */
	for (size_t i = 0; s->vec && i < s->vec->n; i++)
		peer_free(s->vec->p[i]);
	for (struct ack_job *j = s->acks, *nx; j; j = nx) {
		nx = j->next;
		free(j);
	}
	free(s->changed);
	free(s->owners);
	free(s->vec);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	pthread_cond_destroy(&s->reconf_cv);
	pthread_cond_destroy(&s->dropped);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* The set with no relationship, its thread not started. */
static int peers_new(rd_table_t *table, rd_store_t *store, rd_fo_peers_t **out)
{
	*out = NULL;
	rd_fo_peers_t *s = calloc(1, sizeof(*s));
	if (!s)
		return RD_ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->reconf_cv, NULL);
	pthread_cond_init(&s->dropped, NULL);
	s->acks_tail = &s->acks;
	s->holds_in_tail = &s->holds_in;
	s->table = table;
	s->store = store;
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->vec = calloc(1, sizeof(*s->vec));
	if (s->wake_fd < 0 || !s->vec) {
		peers_free(s);
		return RD_ENOMEM;
	}
	s->engine = (rd_engine_fo_t){ .may_serve = eng_may_serve, .may_allocate = eng_may_allocate,
				      .backup_use = eng_backup_use,
				      .lease_time = eng_lease_time, .ctx = s };
	*out = s;
	return 0;
}

static int peers_run(rd_fo_peers_t *s)
{
	int r = pthread_create(&s->thr, NULL, fo_thread, s);
	if (r)
		return -r;
	s->thr_started = true;
	return 0;
}

int rd_fo_peers_start(const rd_config_t *cfg, rd_table_t *table, rd_store_t *store, rd_fo_peers_t **out)
{
	*out = NULL;
	if (!cfg || !cfg->n_failovers)
		return 0;
	return rd_fo_peers_start_with(cfg, table, store, out, NULL, 0);
}

int rd_fo_peers_start_with(const rd_config_t *cfg, rd_table_t *table, rd_store_t *store, rd_fo_peers_t **out,
			   char *err, size_t errlen)
{
	char e[256];
	rd_fo_peers_t *s;
	*out = NULL;
	int r = peers_new(table, store, &s);
	if (r < 0)
		return rd_errf(err, errlen, r, "failover: out of memory");
	/* Not running yet: this thread applies the configuration itself. */
	r = apply_config(s, cfg, false, e, sizeof(e));
	if (r == 0)
		r = peers_run(s);
	if (r < 0) {
		rd_errf(err, errlen, r, "%s", r == RD_ENOMEM ? "failover: out of memory" : e);
		peers_free(s);
		return r;
	}
	*out = s;
	return 0;
}

int rd_fo_peers_reconfigure(rd_fo_peers_t *s, const rd_config_t *cfg, char *err, size_t errlen)
{
	struct reconf rq = { .cfg = cfg };
	struct timespec dl;

	if (!s)
		return rd_errf(err, errlen, RD_EINVAL, "failover is not running");
	if (!s->thr_started)
		return apply_config(s, cfg, true, err, errlen);
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += RECONF_CLAIM_MS / 1000;
	pthread_mutex_lock(&s->lock);
	/* One at a time (reloads are serialized anyway). */
	while (s->reconf && pthread_cond_timedwait(&s->reconf_cv, &s->lock, &dl) == 0)
		;
	if (s->reconf) {
		pthread_mutex_unlock(&s->lock);
		return rd_errf(err, errlen, -ETIMEDOUT, "failover: another reconfiguration is still running");
	}
	s->reconf = &rq;
	pthread_mutex_unlock(&s->lock);
	wake(s);
	pthread_mutex_lock(&s->lock);
	while (!rq.claimed && !rq.done && pthread_cond_timedwait(&s->reconf_cv, &s->lock, &dl) == 0)
		;
	if (!rq.claimed && !rq.done) {
		/* The thread did not take it: withdraw, nothing was changed. */
		s->reconf = NULL;
		pthread_cond_broadcast(&s->reconf_cv);
		pthread_mutex_unlock(&s->lock);
		return rd_errf(err, errlen, -ETIMEDOUT, "failover: the failover thread did not answer in %u s",
			       RECONF_CLAIM_MS / 1000);
	}
	/* Taken: the change is bounded (listeners, at most RETIRE_WAIT_MS of
	 * SHUTDOWN, a grace period), and it must be waited for. */
	while (!rq.done)
		pthread_cond_wait(&s->reconf_cv, &s->lock);
	pthread_mutex_unlock(&s->lock);
	if (rq.rc < 0)
		snprintf(err, errlen, "%s", rq.err);
	return rq.rc;
}

size_t rd_fo_peers_count(rd_fo_peers_t *s)
{
	if (!s)
		return 0;
	rcu_read_lock();
	struct peer_vec *v = peers_vec(s);
	size_t n = v ? v->n : 0;
	rcu_read_unlock();
	return n;
}

void rd_fo_peers_stop(rd_fo_peers_t *s, bool graceful)
{
	if (!s)
		return;
	atomic_store(&s->graceful, graceful);
	atomic_store(&s->stop, true);
	wake(s);
	if (s->thr_started)
		pthread_join(s->thr, NULL);
	/* Store completions of the peer's BNDUPDs may still be queued: the
	 * daemon flushes the store after this, and their ack jobs must stay
	 * valid until then, so the inbox is freed with the set only after a
	 * flush. */
	if (s->store)
		(void)rd_store_flush(s->store);
	peers_free(s);
}

int rd_fo_peers_partner_down(rd_fo_peers_t *s, const char *name, char *err, size_t errlen)
{
	if (!s)
		return rd_errf(err, errlen, RD_EINVAL, "no failover relationships are configured");
	rcu_read_lock();
	rd_fo_peer_t *p = peer_named(s, name);
	/* A peer a reload is removing may take it: it is going anyway. */
	if (p)
		atomic_store(&p->partner_down_req, true);
	rcu_read_unlock();
	if (!p)
		return rd_errf(err, errlen, RD_EINVAL, "no failover relationship named '%.64s'", name);
	wake(s);
	return 0;
}
