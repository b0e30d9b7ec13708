/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_peer — two failover peer sets (failover/peer.c) in one process, a
 * primary and a secondary over 127.0.0.1/127.0.0.2 with their own lease
 * tables and SQLite stores: they must reach NORMAL from a fresh start and
 * record it, a lease committed on the primary must reach the secondary's
 * table and store and be acknowledged (atsfp), a stale pool-balancing move
 * of the primary must not wipe a binding the secondary granted since (the
 * primary gets that binding instead), the engine seam must answer
 * by role and MCLT, and a graceful stop of the primary must put the
 * secondary in PARTNER-DOWN at once.  Then a second pair checks replies
 * held for the peer (ack_after_peer): released only after the peer's
 * BNDACK, when the change is in the peer's table; dropped when the peer
 * refuses the update, when no BNDACK comes in time (the peer's store is
 * made slow by a completion that sleeps), when the daemon drops them (an
 * interface went away) and when the link goes down while waiting.  Runtime: ~15 s, every wait bounded.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/config.h"
#include "rackdhcp/dhcp.h"
#include "rackdhcp/engine.h"
#include "rackdhcp/fo_peer.h"
#include "rackdhcp/fo_state.h"
#include "rackdhcp/log.h"
#include "rackdhcp/rcu.h"
#include "rackdhcp/store.h"
#include "rackdhcp/table.h"
#include "tap.h"

#define A(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static void yaml_mrd(char *buf, size_t cap, const char *role, const char *me, const char *peer, unsigned port,
		     unsigned peer_port, unsigned mrd, const char *extra)
{
	snprintf(buf, cap,
		 "subnets:\n"
		 "  - cidr: 10.9.0.0/24\n"
		 "    lease_time: 3600\n"
		 "    pools:\n"
		 "      - range: 10.9.0.100-10.9.0.119\n"
		 "        failover_peer: fo\n"
		 "failover:\n"
		 "  - name: fo\n"
		 "    role: %s\n"
		 "    address: %s\n"
		 "    port: %u\n"
		 "    peer_address: %s\n"
		 "    peer_port: %u\n"
		 "    mclt: 30\n"
		 "%s"
		 "    max_response_delay: %u\n"
		 "    max_unacked_updates: 10\n"
		 "    load_balance_max_seconds: 3\n"
		 "%s",
		 role, me, port, peer, peer_port, strcmp(role, "primary") ? "" : "    split: 128\n", mrd, extra);
}

static void yaml(char *buf, size_t cap, const char *role, const char *me, const char *peer, unsigned port,
		 unsigned peer_port)
{
	yaml_mrd(buf, cap, role, me, peer, port, peer_port, 10, "");
}

static uint32_t find_addr;
static bool found_active;

static int load_cb(void *ctx, rd_lease_t *l)
{
	(void)ctx;
	if (l->addr == find_addr && l->state == RD_LEASE_ACTIVE)
		found_active = true;
	rd_lease_free(l);
	return 0;
}

static bool status_of(rd_fo_peers_t *p, rd_fo_peer_status_t *st)
{
	return rd_fo_peers_status(p, st, 1) == 1;
}

static bool wait_states(rd_fo_peers_t *a, uint8_t sa, rd_fo_peers_t *b, uint8_t sb, int secs)
{
	rd_fo_peer_status_t x, y;
	for (int i = 0; i < secs * 20; i++) {
		bool okx = !a || (status_of(a, &x) && x.state == sa);
		bool oky = !b || (status_of(b, &y) && y.state == sb);
		if (okx && oky)
			return true;
		usleep(50000);
	}
	if (a && status_of(a, &x))
		diag("primary: %s, peer %s", rd_fo_state_name(x.state), rd_fo_state_name(x.partner));
	if (b && status_of(b, &y))
		diag("secondary: %s, peer %s", rd_fo_state_name(y.state), rd_fo_state_name(y.partner));
	return false;
}

/* ---- the engine's side of the seam, with a stub failover layer ---- */

static struct {
	bool serve;
	uint8_t allow_state;        /* may_allocate: only addresses in this binding state (0: none) */
	uint32_t grant;             /* lease_time: what to grant (0: want) */
	unsigned asked_alloc, asked_time;
} stub;

static bool stub_serve(void *ctx, const rd_cfg_subnet_t *sn, const rd_dhcp_t *req, const char **why)
{
	(void)ctx, (void)sn, (void)req;
	*why = "stub says no";
	return stub.serve;
}

static bool stub_alloc(void *ctx, uint32_t addr, const rd_lease_t *l, uint32_t now)
{
	(void)ctx, (void)addr, (void)now;
	stub.asked_alloc++;
	return (l ? l->state : RD_LEASE_FREE) == stub.allow_state;
}

static uint32_t stub_time(void *ctx, const rd_lease_t *old, rd_lease_t *nl, uint32_t now, uint32_t want)
{
	(void)ctx, (void)old;
	stub.asked_time++;
	uint32_t g = stub.grant ? stub.grant : want;
	nl->ends = now + g;
	nl->tstp = now + want + g / 2;
	return g;
}

static uint8_t engine_run(const rd_config_t *cfg, rd_table_t *t, const rd_engine_fo_t *fo, uint8_t type,
			  uint32_t reqip, uint32_t sid, rd_engine_out_t *out, uint32_t *lease_time)
{
	static rd_dhcp_builder_t b;
	static uint8_t wire[RD_DHCP_MAX_LEN];
	static rd_dhcp_t req, rep;
	rd_diag_t d;

	rd_dhcp_builder_init(&b);
	b.op = RD_BOOTREQUEST;
	b.xid = 0x4242;
	memcpy(b.chaddr, "\x52\x54\x00\x00\x00\x42", 6);
	rd_dhcp_builder_set_u8(&b, RD_OPT_MESSAGE_TYPE, type, 0);
	if (reqip)
		rd_dhcp_builder_set_u32(&b, RD_OPT_REQUESTED_IP, reqip, 0);
	if (sid)
		rd_dhcp_builder_set_u32(&b, RD_OPT_SERVER_ID, sid, 0);
	rd_diag_clear(&d);
	int n = rd_dhcp_build(&b, NULL, 0, 0, wire, sizeof(wire), NULL, &d);
	if (n < 0 || rd_dhcp_parse(wire, (size_t)n, &req, &d) < 0)
		bail_out("request: %s", d.reason);
	rd_engine_in_t in = { .now = 1700000000, .cfg = cfg, .table = t, .link_addr = A(10, 9, 0, 2),
			      .link_mask = 0xffffff00u, .fo = fo };
	rcu_read_lock();
	int rc = rd_engine_process(&in, &req, out);
	if (rc == 0 && out->action != RD_ENGINE_DROP && out->new_lease &&
	    rd_table_replace(t, out->old_lease, out->new_lease) == 0) {
		out->new_lease = NULL;
		out->claimed = 0;
	} else {
		rd_engine_abort(t, out);
	}
	rcu_read_unlock();
	if (rc < 0 || out->action != RD_ENGINE_REPLY)
		return 0;
	n = rd_dhcp_build(&out->reply, out->prl, out->prl_len, out->max_msg, wire, sizeof(wire), NULL, &d);
	if (n < 0 || rd_dhcp_parse(wire, (size_t)n, &rep, &d) < 0)
		return 0;
	if (lease_time && !rd_dhcp_get_u32(&rep, RD_OPT_LEASE_TIME, lease_time))
		*lease_time = 0;
	return rep.msgtype;
}

static void test_engine_seam(const rd_config_t *cfg)
{
	rd_engine_fo_t fo = { .may_serve = stub_serve, .may_allocate = stub_alloc, .lease_time = stub_time };
	rd_engine_out_t *out = calloc(1, sizeof(*out));
	rd_table_t *t = rd_table_new(64);
	uint32_t lt = 0;

	rd_table_add_pool(t, A(10, 9, 0, 100), A(10, 9, 0, 119), NULL);
	stub.serve = false;
	is_int(engine_run(cfg, t, &fo, RD_DHCPDISCOVER, 0, 0, out, NULL), 0, "seam: may_serve false: silence");
	ok(strstr(out->reason, "failover: stub says no") != NULL, "... and the reason says why (%s)", out->reason);

	stub.serve = true;
	stub.allow_state = 0;
	is_int(engine_run(cfg, t, &fo, RD_DHCPDISCOVER, 0, 0, out, NULL), 0,
	       "seam: no address may be allocated: no offer");
	ok(stub.asked_alloc > 0, "... the engine asked (%u times)", stub.asked_alloc);

	/* Only BACKUP addresses (a secondary's): the table keeps their bits
	 * set, the engine still finds one. */
	rcu_read_lock();
	rd_lease_t *bk = rd_lease_new(A(10, 9, 0, 107), NULL, 0, NULL, 0);
	bk->state = RD_LEASE_BACKUP;
	rd_table_replace(t, NULL, bk);
	rcu_read_unlock();
	stub.allow_state = RD_LEASE_BACKUP;
	is_int(engine_run(cfg, t, &fo, RD_DHCPDISCOVER, 0, 0, out, NULL), RD_DHCPOFFER, "seam: a BACKUP address is offered");
	is_int(out->reply.yiaddr, A(10, 9, 0, 107), "... the BACKUP one");

	stub.grant = 30;
	stub.asked_time = 0;
	is_int(engine_run(cfg, t, &fo, RD_DHCPREQUEST, A(10, 9, 0, 107), A(10, 9, 0, 2), out, &lt), RD_DHCPACK,
	       "seam: the offer is ACKed");
	ok(stub.asked_time == 1 && lt == 30, "... for the lease time the failover layer grants (%u)", lt);
	rcu_read_lock();
	const rd_lease_t *l = rd_table_by_addr(t, A(10, 9, 0, 107));
	ok(l && l->state == RD_LEASE_ACTIVE && l->ends == 1700000000 + 30 && l->tstp == 1700000000 + 3600 + 15,
	   "... and the lease's end and tstp are the failover layer's");
	rcu_read_unlock();

	is_int(engine_run(cfg, t, NULL, RD_DHCPDISCOVER, 0, 0, out, NULL), RD_DHCPOFFER,
	       "no seam (no failover): today's behaviour, an offer");
	rd_table_free(t);
	free(out);
}

static int stub_bu;     /* what stub_backup_use answers */

static int stub_backup_use(void *ctx, uint32_t addr)
{
	(void)ctx, (void)addr;
	return stub_bu;
}

/* A table with pool .100-.119: .100-.109 never used (FREE), .110-.119 BACKUP. */
static rd_table_t *half_backup_table(void)
{
	rd_table_t *t = rd_table_new(64);
	rd_table_add_pool(t, A(10, 9, 0, 100), A(10, 9, 0, 119), NULL);
	rcu_read_lock();
	for (uint32_t a = A(10, 9, 0, 110); a <= A(10, 9, 0, 119); a++) {
		rd_lease_t *bk = rd_lease_new(a, NULL, 0, NULL, 0);
		bk->state = RD_LEASE_BACKUP;
		rd_table_replace(t, NULL, bk);
	}
	rcu_read_unlock();
	return t;
}

/* One DISCOVER on a fresh half_backup_table with backup_use answering bu:
 * an offer of a BACKUP address after `asks` may_allocate questions. */
static void backup_case(const rd_config_t *cfg, const rd_engine_fo_t *fo, rd_engine_out_t *out, int bu,
			unsigned asks, const char *what, const char *how)
{
	stub_bu = bu;
	stub.asked_alloc = 0;
	rd_table_t *t = half_backup_table();
	is_int(engine_run(cfg, t, fo, RD_DHCPDISCOVER, 0, 0, out, NULL), RD_DHCPOFFER, "%s: an offer", what);
	ok(out->reply.yiaddr >= A(10, 9, 0, 110) && out->reply.yiaddr <= A(10, 9, 0, 119),
	   "... of a BACKUP address (.%u)", out->reply.yiaddr & 255);
	is_int(stub.asked_alloc, asks, "... %s", how);
	rd_table_free(t);
}

/* The engine looks in the BACKUP set where backup_use says so, without a scan. */
static void test_engine_backup_set(const rd_config_t *cfg)
{
	rd_engine_fo_t fo = { .may_serve = stub_serve, .may_allocate = stub_alloc,
			      .backup_use = stub_backup_use, .lease_time = stub_time };
	rd_engine_out_t *out = calloc(1, sizeof(*out));

	stub.serve = true;
	stub.grant = 0;
	stub.allow_state = RD_LEASE_BACKUP;
	backup_case(cfg, &fo, out, RD_ENGINE_BACKUP_FIRST, 1, "backup set first (secondary)",
		    "found at the first try, no FREE address refused first");
	backup_case(cfg, &fo, out, RD_ENGINE_BACKUP_LAST, 9, "backup set last (primary in PARTNER-DOWN)",
		    "after 8 FREE addresses refused, at the first BACKUP one");

	/* A refused BACKUP claim goes back to the set: the next search finds it. */
	stub.allow_state = 0;
	stub_bu = RD_ENGINE_BACKUP_FIRST;
	rd_table_t *t = half_backup_table();
	is_int(engine_run(cfg, t, &fo, RD_DHCPDISCOVER, 0, 0, out, NULL), 0, "nothing allowed: no offer");
	stub.allow_state = RD_LEASE_BACKUP;
	stub.asked_alloc = 0;
	is_int(engine_run(cfg, t, &fo, RD_DHCPDISCOVER, 0, 0, out, NULL), RD_DHCPOFFER,
	       "the refused BACKUP addresses were given back to the set");
	is_int(stub.asked_alloc, 1, "... and one is found at once");
	rd_table_free(t);
	free(out);
}

/* ---- replies held for the peer (ack_after_peer) ---- */

struct rel {
	atomic_int calls, status;
	atomic_bool peer_had;       /* the peer's table had the lease when it was released */
	rd_table_t *peer_table;
	uint32_t addr;
	char why[128];
};

/* The release callback: runs on the primary's failover thread. */
static void rel_cb(void *ctx, int status, const char *why)
{
	struct rel *r = ctx;
	if (status == 0 && r->peer_table) {
		rcu_read_lock();
		const rd_lease_t *x = rd_table_by_addr(r->peer_table, r->addr);
		atomic_store(&r->peer_had, x && x->state == RD_LEASE_ACTIVE && x->hlen == 6);
		rcu_read_unlock();
	}
	snprintf(r->why, sizeof(r->why), "%s", why ? why : "");
	atomic_store(&r->status, status);
	atomic_fetch_add(&r->calls, 1);
}

static bool wait_calls(struct rel *r, int secs)
{
	for (int i = 0; i < secs * 20 && !atomic_load(&r->calls); i++)
		usleep(50000);
	return atomic_load(&r->calls) > 0;
}

/* A store completion that sleeps: the writer, and so the peer's BNDACKs
 * (sent from their store completions), wait that long. */
static unsigned sleep_ms;

static void sleep_cb(void *ctx, int status)
{
	(void)ctx, (void)status;
	usleep(sleep_ms * 1000);
}

static void slow_store(rd_store_t *st, unsigned ms)
{
	sleep_ms = ms;
	rd_lease_t *l = rd_lease_new(A(10, 9, 0, 5), NULL, 0, NULL, 0);
	if (!l || rd_store_submit(st, l, "test-slow", sleep_cb, NULL) < 0)
		bail_out("cannot slow the store down");
	rd_lease_free(l);
	usleep(100000);     /* the writer is in the completion now */
}

/* An ACTIVE lease on a FREE address of the primary, durable in its store. */
static uint32_t put_lease(rd_table_t *t, rd_store_t *st, const rd_engine_fo_t *e, uint8_t id, bool chaddr)
{
	uint32_t addr = 0, now = (uint32_t)time(NULL);
	rcu_read_lock();
	for (uint32_t a = A(10, 9, 0, 100); a <= A(10, 9, 0, 119) && !addr; a++) {
		const rd_lease_t *x = rd_table_by_addr(t, a);
		if (!x || x->state == RD_LEASE_FREE)
			addr = a;
	}
	if (!addr)
		bail_out("no FREE address left on the primary");
	rd_lease_t *l = rd_lease_new(addr, NULL, 0, NULL, 0);
	l->state = RD_LEASE_ACTIVE;
	if (chaddr) {
		l->htype = 1;
		l->hlen = 6;
		memcpy(l->chaddr, "\x52\x54\x00\x00\x01\x00", 6);
		l->chaddr[5] = id;
	}
	l->starts = l->cltt = now;
	e->lease_time(e->ctx, NULL, l, now, 3600);
	if (rd_table_replace(t, rd_table_by_addr(t, addr), l) < 0 ||
	    rd_store_submit_wait(st, rd_table_by_addr(t, addr), "test") < 0)
		bail_out("cannot publish a lease on the primary");
	rcu_read_unlock();
	return addr;
}

static void test_hold(const char *tmp, unsigned port)
{
	char ya[2048], yb[2048], yx[2048], err[512], pa[256], pb[256];
	rd_config_t *ca = NULL, *cb = NULL, *cx = NULL;
	rd_store_t *sa = NULL, *sb = NULL;
	rd_fo_peers_t *fa = NULL, *fb = NULL;
	rd_fo_peer_status_t st, st0;

	/* max_response_delay 3: a held reply waits at most 3 s. */
	yaml_mrd(ya, sizeof(ya), "primary", "127.0.0.1", "127.0.0.2", port, port + 1, 3, "");
	yaml_mrd(yb, sizeof(yb), "secondary", "127.0.0.2", "127.0.0.1", port + 1, port, 3, "");
	if (rd_config_parse(ya, strlen(ya), "a2.yaml", &ca, err, sizeof(err)) < 0 ||
	    rd_config_parse(yb, strlen(yb), "b2.yaml", &cb, err, sizeof(err)) < 0)
		bail_out("config: %s", err);
	ok(ca->n_failovers == 1 && ca->failovers[0].ack_after_peer, "hold: ack_after_peer defaults to true");
	yaml_mrd(yx, sizeof(yx), "primary", "127.0.0.1", "127.0.0.2", port, port + 1, 3, "    ack_after_peer: false\n");
	ok(rd_config_parse(yx, strlen(yx), "x.yaml", &cx, err, sizeof(err)) == 0 && !cx->failovers[0].ack_after_peer,
	   "hold: ack_after_peer: false is read");
	rd_config_free(cx);
	cx = NULL;
	yaml_mrd(yx, sizeof(yx), "primary", "127.0.0.1", "127.0.0.2", port, port + 1, 3, "    ack_after_peer: maybe\n");
	ok(rd_config_parse(yx, strlen(yx), "x.yaml", &cx, err, sizeof(err)) < 0 && strstr(err, "ack_after_peer"),
	   "hold: ack_after_peer: maybe is refused (%s)", err);
	rd_config_free(cx);

	snprintf(pa, sizeof(pa), "%s/a2.db", tmp);
	snprintf(pb, sizeof(pb), "%s/b2.db", tmp);
	if (rd_store_open(pa, RD_STORE_SYNC, NULL, &sa, err, sizeof(err)) < 0 ||
	    rd_store_open(pb, RD_STORE_SYNC, NULL, &sb, err, sizeof(err)) < 0)
		bail_out("stores: %s", err);
	rd_table_t *ta = rd_table_new(64), *tb = rd_table_new(64);
	rd_table_add_pool(ta, A(10, 9, 0, 100), A(10, 9, 0, 119), NULL);
	rd_table_add_pool(tb, A(10, 9, 0, 100), A(10, 9, 0, 119), NULL);
	if (rd_fo_peers_start(ca, ta, sa, &fa) < 0 || rd_fo_peers_start(cb, tb, sb, &fb) < 0)
		bail_out("second pair did not start");
	ok(wait_states(fa, RD_FO_ST_NORMAL, fb, RD_FO_ST_NORMAL, 40), "hold: the second pair reaches NORMAL");
	for (int i = 0; i < 100; i++) {     /* the pool balancing's updates are through */
		status_of(fa, &st);
		if (st.bndupd_sent && !st.queued && !st.unacked)
			break;
		usleep(50000);
	}
	const rd_engine_fo_t *ea = rd_fo_peers_engine(fa);

	rcu_read_lock();
	ok(rd_fo_peers_hold_wanted(fa, A(10, 9, 0, 110)), "hold: NORMAL, link up, a failover pool: replies wait");
	ok(!rd_fo_peers_hold_wanted(fa, A(10, 9, 1, 1)), "hold: an address outside failover pools: no wait");
	ok(!rd_fo_peers_hold_wanted(NULL, A(10, 9, 0, 110)), "hold: no failover: no wait");
	rcu_read_unlock();

	/* 1. Released after the BNDACK, with the lease in the peer's table and store. */
	uint32_t addr = put_lease(ta, sa, ea, 1, true);
	struct rel r1 = { .peer_table = tb, .addr = addr };
	status_of(fa, &st0);
	ok(rd_fo_peers_notify_hold(fa, addr, rel_cb, &r1), "hold: a reply is held");
	ok(wait_calls(&r1, 10) && atomic_load(&r1.status) == 0, "hold: released (status %d) once the peer acked",
	   atomic_load(&r1.status));
	ok(atomic_load(&r1.peer_had), "hold: at release the lease is ACTIVE in the peer's table");
	find_addr = addr;
	found_active = false;
	rd_store_load(sb, load_cb, NULL, NULL);
	ok(found_active, "hold: ... and in the peer's SQLite store (its BNDACK follows its commit)");
	status_of(fa, &st);
	ok(st.bndack_recv > st0.bndack_recv && st.replies_held == 1 && st.replies_released == 1 &&
	   st.replies_waiting == 0, "hold: counted: held 1, released 1, waiting 0");

	/* 2. The peer is slow (its store writer sleeps 4.5 s): the reply waits,
	 * then is dropped when no BNDACK came within max_response_delay. */
	slow_store(sb, 4500);
	addr = put_lease(ta, sa, ea, 2, true);
	struct rel r2 = { .peer_table = tb, .addr = addr };
	ok(rd_fo_peers_notify_hold(fa, addr, rel_cb, &r2), "hold: a reply is held while the peer's store is slow");
	usleep(1500000);
	status_of(fa, &st);
	ok(atomic_load(&r2.calls) == 0 && st.replies_waiting == 1 && st.unacked >= 1,
	   "hold: after 1.5 s without BNDACK it is still held (BNDUPD in flight: %zu)", st.unacked);
	ok(wait_calls(&r2, 6) && atomic_load(&r2.status) == -ETIMEDOUT,
	   "hold: dropped when no BNDACK came within max_response_delay (status %d: %s)", atomic_load(&r2.status),
	   r2.why);
	rd_store_flush(sb);
	usleep(500000);     /* the late BNDACK arrives: nothing more to release */
	status_of(fa, &st);
	ok(atomic_load(&r2.calls) == 1 && st.replies_dropped == 1 && st.linked,
	   "hold: called exactly once; the late BNDACK releases nothing; the link stayed up");

	/* 2b. An interface goes away: the daemon drops every held reply
	 * before it closes sockets (rd_fo_peers_drop_held returns when done). */
	slow_store(sb, 1500);
	addr = put_lease(ta, sa, ea, 5, true);
	struct rel r2b = { .addr = addr };
	ok(rd_fo_peers_notify_hold(fa, addr, rel_cb, &r2b), "hold: a reply is held, then its interface goes away");
	usleep(200000);
	rd_fo_peers_drop_held(fa, "test: interface gone");
	ok(atomic_load(&r2b.calls) == 1 && atomic_load(&r2b.status) == -ECANCELED && strstr(r2b.why, "interface gone"),
	   "hold: rd_fo_peers_drop_held returns with the reply dropped (%d: %s)", atomic_load(&r2b.status), r2b.why);
	rd_store_flush(sb);
	usleep(300000);

	/* 3. The peer refuses the update (an ACTIVE binding without chaddr). */
	addr = put_lease(ta, sa, ea, 3, false);
	struct rel r3 = { .addr = addr };
	ok(rd_fo_peers_notify_hold(fa, addr, rel_cb, &r3), "hold: a reply whose update the peer will refuse");
	ok(wait_calls(&r3, 10) && atomic_load(&r3.status) == -ECONNREFUSED, "hold: refused update: dropped (%s)",
	   r3.why);

	/* 4. The link goes down while the reply waits: the secondary stops
	 * with its store slow, so its BNDACK never leaves. */
	slow_store(sb, 1500);
	addr = put_lease(ta, sa, ea, 4, true);
	struct rel r4 = { .peer_table = tb, .addr = addr };
	ok(rd_fo_peers_notify_hold(fa, addr, rel_cb, &r4), "hold: a reply is held, then the peer goes away");
	usleep(200000);
	ok(atomic_load(&r4.calls) == 0, "hold: ... still held before the link drops");
	rd_fo_peers_stop(fb, false);
	fb = NULL;
	ok(wait_calls(&r4, 5) && atomic_load(&r4.status) == -ENOTCONN, "hold: link down while waiting: dropped (%s)",
	   r4.why);

	/* 5. With the link down no reply waits; one handed over anyway is dropped. */
	ok(wait_states(fa, RD_FO_ST_COMM_INTERRUPTED, NULL, 0, 10), "hold: primary in communications-interrupted");
	status_of(fa, &st);
	is_int(st.window, 0, "hold: no update window while the link is down");
	rcu_read_lock();
	ok(!rd_fo_peers_hold_wanted(fa, A(10, 9, 0, 110)), "hold: communications-interrupted: replies do not wait");
	rcu_read_unlock();
	struct rel r5 = { .addr = A(10, 9, 0, 110) };
	ok(rd_fo_peers_notify_hold(fa, A(10, 9, 0, 110), rel_cb, &r5) && wait_calls(&r5, 5) &&
	   atomic_load(&r5.status) == -ENOTCONN, "hold: handed over with the link down: dropped at once (%s)", r5.why);
	status_of(fa, &st);
	ok(st.replies_held == 6 && st.replies_released == 1 && st.replies_dropped == 5 && st.replies_waiting == 0,
	   "hold: counted: held %llu, released %llu, dropped %llu", (unsigned long long)st.replies_held,
	   (unsigned long long)st.replies_released, (unsigned long long)st.replies_dropped);

	rd_fo_peers_stop(fa, false);
	rd_store_close(sa);
	rd_store_close(sb);
	rd_table_free(ta);
	rd_table_free(tb);
	rd_config_free(ca);
	rd_config_free(cb);
}

/* A DISCOVER from chaddr 52:54:00:00:01:<id>, parsed. */
static void discover_of(uint8_t id, rd_dhcp_t *req)
{
	rd_dhcp_builder_t b;
	uint8_t wire[RD_DHCP_MAX_LEN];
	rd_diag_t d;
	rd_dhcp_builder_init(&b);
	b.op = RD_BOOTREQUEST;
	b.xid = 0x4343;
	memcpy(b.chaddr, "\x52\x54\x00\x00\x01", 5);
	b.chaddr[5] = id;
	rd_dhcp_builder_set_u8(&b, RD_OPT_MESSAGE_TYPE, RD_DHCPDISCOVER, 0);
	rd_diag_clear(&d);
	int n = rd_dhcp_build(&b, NULL, 0, 0, wire, sizeof(wire), NULL, &d);
	if (n < 0 || rd_dhcp_parse(wire, (size_t)n, req, &d) < 0)
		bail_out("discover: %s", d.reason);
}

/*
 * "Cancel load balance": in NORMAL the primary answers a client of the
 * secondary's once the secondary has nothing left to give (no BACKUP lease
 * in the pool).  The answer is cached for a second (peer.c, peer_has_free_in), so
 * it changes within about a second of the pool running dry.
 */
static void test_cancel_lb(const rd_config_t *cfg, rd_table_t *t, const rd_engine_fo_t *e)
{
	static rd_dhcp_t req;
	const char *why = NULL;
	rcu_read_lock();
	const rd_cfg_subnet_t *sn = rd_config_subnet_for(cfg, A(10, 9, 0, 100));
	int id = -1;
	for (int i = 0; i < 256 && id < 0; i++) {
		discover_of((uint8_t)i, &req);
		if (!e->may_serve(e->ctx, sn, &req, &why))
			id = i;
	}
	rcu_read_unlock();
	ok(id >= 0 && why && strstr(why, "peer's client"), "cancel lb: a client of the secondary's is not served (%s)",
	   why ? why : "-");
	/* The secondary's BACKUP addresses all go to clients. */
	unsigned n = 0;
	rcu_read_lock();
	for (uint32_t a = A(10, 9, 0, 100); a <= A(10, 9, 0, 119); a++) {
		const rd_lease_t *x = rd_table_by_addr(t, a);
		if (!x || x->state != RD_LEASE_BACKUP)
			continue;
		rd_lease_t *nl = rd_lease_dup(x, NULL, 0, NULL, 0);
		nl->state = RD_LEASE_ACTIVE;
		nl->ends = (uint32_t)time(NULL) + 600;
		if (rd_table_replace(t, x, nl) == 0)
			n++;
	}
	rcu_read_unlock();
	bool served = false;
	for (int i = 0; i < 40 && !served && id >= 0; i++) {
		usleep(100000);
		discover_of((uint8_t)id, &req);
		rcu_read_lock();
		served = e->may_serve(e->ctx, sn, &req, &why);
		rcu_read_unlock();
	}
	ok(n > 0 && served, "cancel lb: once the secondary has no BACKUP left (%u taken), the primary serves its "
	   "client", n);
}

int main(void)
{
	char tmp[] = "/tmp/rd-test-peer.XXXXXX", pa[256], pb[256], err[512];
	char ya[2048], yb[2048];
	rd_config_t *ca = NULL, *cb = NULL;
	rd_store_t *sa = NULL, *sb = NULL;
	rd_fo_peers_t *fa = NULL, *fb = NULL;

	plan_lazy();
	rd_log_init("test_peer", getenv("RD_FO_DEBUG") ? LOG_DEBUG : LOG_WARNING);
	rcu_register_thread();
	if (!mkdtemp(tmp))
		bail_out("mkdtemp");
	unsigned port = 20000 + (unsigned)(getpid() % 20000);
	yaml(ya, sizeof(ya), "primary", "127.0.0.1", "127.0.0.2", port, port + 1);
	yaml(yb, sizeof(yb), "secondary", "127.0.0.2", "127.0.0.1", port + 1, port);
	if (rd_config_parse(ya, strlen(ya), "a.yaml", &ca, err, sizeof(err)) < 0 ||
	    rd_config_parse(yb, strlen(yb), "b.yaml", &cb, err, sizeof(err)) < 0)
		bail_out("config: %s", err);
	snprintf(pa, sizeof(pa), "%s/a.db", tmp);
	snprintf(pb, sizeof(pb), "%s/b.db", tmp);
	ok(rd_store_open(pa, RD_STORE_SYNC, NULL, &sa, err, sizeof(err)) == 0, "store a");
	ok(rd_store_open(pb, RD_STORE_SYNC, NULL, &sb, err, sizeof(err)) == 0, "store b");
	rd_table_t *ta = rd_table_new(64), *tb = rd_table_new(64);
	rd_table_add_pool(ta, A(10, 9, 0, 100), A(10, 9, 0, 119), NULL);
	rd_table_add_pool(tb, A(10, 9, 0, 100), A(10, 9, 0, 119), NULL);
	/* The relationship is looked up by name in the published snapshot,
	 * which both sides share here (same pools, same name). */
	rd_config_publish(ca);

	test_engine_seam(cb);
	test_engine_backup_set(cb);

	rd_fo_peers_t *none = (rd_fo_peers_t *)1;
	ok(rd_fo_peers_start(NULL, ta, sa, &none) == 0 && none == NULL, "no config: no peers, no thread");
	ok(rd_fo_peers_engine(NULL) == NULL, "no peers: no engine seam (today's behaviour)");

	is_int(rd_fo_peers_start(ca, ta, sa, &fa), 0, "primary started");
	is_int(rd_fo_peers_start(cb, tb, sb, &fb), 0, "secondary started");
	ok(wait_states(fa, RD_FO_ST_NORMAL, fb, RD_FO_ST_NORMAL, 40), "both reach NORMAL from a fresh start");

	/* Entry to NORMAL balances the pool: the primary hands the secondary
	 * its share of the free addresses as BACKUP. */
	rd_table_pool_stats_t ps = { 0 }, pp = { 0 };
	/* (until the last BNDUPDs of the balance have arrived) */
	for (int i = 0; i < 100; i++) {
		rd_table_pool_stats(tb, A(10, 9, 0, 100), &ps);
		rd_table_pool_stats(ta, A(10, 9, 0, 100), &pp);
		if (ps.by_state[RD_LEASE_BACKUP] >= 8 && pp.by_state[RD_LEASE_BACKUP] == ps.by_state[RD_LEASE_BACKUP])
			break;
		usleep(50000);
	}
	ok(ps.by_state[RD_LEASE_BACKUP] >= 8 && pp.by_state[RD_LEASE_BACKUP] == ps.by_state[RD_LEASE_BACKUP],
	   "the pool is balanced: %llu BACKUP on the secondary, %llu on the primary (of 20)",
	   (unsigned long long)ps.by_state[RD_LEASE_BACKUP], (unsigned long long)pp.by_state[RD_LEASE_BACKUP]);

	rd_fo_peer_status_t st;
	status_of(fa, &st);
	/* Each announced max_unacked_updates 3 (ack_after_peer), each knows
	 * the other is rackdhcpd (vendor class) and keeps up to 128 in flight. */
	is_int(st.window, 128, "towards a rackdhcpd peer up to 128 updates in flight");
	status_of(fb, &st);
	is_int(st.window, 128, "... both ways");

	rd_store_fo_state_t fs;
	ok(rd_store_fo_state_get(sa, "fo", &fs) == 0 && fs.state == RD_FO_ST_NORMAL && fs.stos,
	   "primary's NORMAL is persisted (state %u)", fs.state);
	ok(rd_store_fo_state_get(sb, "fo", &fs) == 0 && fs.state == RD_FO_ST_NORMAL && fs.mclt == 30,
	   "secondary's NORMAL is persisted, with the MCLT learnt from CONNECT (%u)", fs.mclt);
	ok(rd_store_fo_state_get(sb, "nope", &fs) < 0, "no record for an unknown relationship");

	/* The engine seam. */
	const rd_engine_fo_t *ea = rd_fo_peers_engine(fa), *eb = rd_fo_peers_engine(fb);
	uint32_t now = (uint32_t)time(NULL);
	rcu_read_lock();
	ok(ea->may_allocate(ea->ctx, A(10, 9, 0, 110), NULL, now), "primary may allocate a FREE address");
	ok(!eb->may_allocate(eb->ctx, A(10, 9, 0, 110), NULL, now), "secondary may not (FREE is the primary's)");
	ok(ea->may_allocate(ea->ctx, A(10, 9, 1, 1), NULL, now), "an address outside failover pools is not governed");
	rd_lease_t *bk = rd_lease_new(A(10, 9, 0, 110), NULL, 0, NULL, 0);
	bk->state = RD_LEASE_BACKUP;
	ok(eb->may_allocate(eb->ctx, bk->addr, bk, now), "secondary may allocate a BACKUP address");
	ok(!ea->may_allocate(ea->ctx, bk->addr, bk, now), "primary may not (BACKUP is the secondary's)");
	rd_lease_free(bk);
	rd_lease_t *probe = rd_lease_new(A(10, 9, 0, 111), NULL, 0, NULL, 0);
	uint32_t g = ea->lease_time(ea->ctx, NULL, probe, now, 3600);
	is_int(g, 30, "a new lease is bounded by the MCLT");
	ok(probe->ends == now + 30 && probe->tstp > probe->ends && probe->atsfp == 0,
	   "ends = now + MCLT, tstp beyond it, change unacked");
	rd_lease_free(probe);
	rcu_read_unlock();

	/* Replication: a lease committed on the primary reaches the secondary. */
	/* An address the balancing left to the primary (FREE, or no row yet). */
	uint32_t addr = 0;
	rcu_read_lock();
	for (uint32_t a = A(10, 9, 0, 100); a <= A(10, 9, 0, 119) && !addr; a++) {
		const rd_lease_t *x = rd_table_by_addr(ta, a);
		if (!x || x->state == RD_LEASE_FREE)
			addr = a;
	}
	rcu_read_unlock();
	ok(addr != 0, "the primary kept free addresses");
	rd_lease_t *l = rd_lease_new(addr, NULL, 0, "host5", 5);
	l->state = RD_LEASE_ACTIVE;
	l->htype = 1;
	l->hlen = 6;
	memcpy(l->chaddr, "\x52\x54\x00\x00\x00\x05", 6);
	l->starts = l->cltt = now;
	rcu_read_lock();
	ea->lease_time(ea->ctx, NULL, l, now, 3600);
	int r = rd_table_replace(ta, rd_table_by_addr(ta, addr), l);
	rcu_read_unlock();
	is_int(r, 0, "lease published on the primary");
	rcu_read_lock();
	uint32_t sent_tstp = rd_table_by_addr(ta, addr)->tstp;
	is_int(rd_store_submit_wait(sa, rd_table_by_addr(ta, addr), "test"), 0, "and stored");
	rcu_read_unlock();
	rd_fo_peers_notify(fa, addr);
	bool there = false, acked = false;
	for (int i = 0; i < 200 && !(there && acked); i++) {
		usleep(50000);
		rcu_read_lock();
		const rd_lease_t *x = rd_table_by_addr(tb, addr), *y = rd_table_by_addr(ta, addr);
		there = x && x->state == RD_LEASE_ACTIVE && x->hlen == 6 && !memcmp(x->chaddr, "\x52\x54\x00\x00\x00\x05", 6) &&
			x->tsfp == sent_tstp;
		acked = y && y->atsfp == sent_tstp && y->tsfp == sent_tstp;
		rcu_read_unlock();
	}
	ok(there, "the secondary's table has the lease, tsfp = the primary's tstp");
	ok(acked, "the primary got the BNDACK: tsfp = atsfp = tstp");
	rd_store_flush(sb);
	find_addr = addr;
	for (int i = 0; i < 40 && !found_active; i++) {
		rd_store_load(sb, load_cb, NULL, NULL);
		if (!found_active)
			usleep(50000);
	}
	ok(found_active, "and its SQLite store (it was durable before the BNDACK)");
	status_of(fb, &st);
	ok(st.bndupd_recv >= 1 && st.bndack_sent >= 1 && st.bndupd_rejected == 0,
	   "secondary: %llu BNDUPD in, %llu BNDACK out, none refused", (unsigned long long)st.bndupd_recv,
	   (unsigned long long)st.bndack_sent);
	status_of(fa, &st);
	ok(st.bndupd_sent >= 1 && st.unacked == 0 && st.queued == 0, "primary: nothing left in flight");

	/* A stale pool-balancing move (issue 5, flapping link): the primary's
	 * BACKUP of an address, decided at now - 5 and never acked, goes out
	 * after the secondary granted that address to a client at now.  The
	 * secondary must refuse it and the primary must end up with the
	 * secondary's binding. */
	uint32_t baddr = 0;
	rcu_read_lock();
	for (uint32_t a = A(10, 9, 0, 100); a <= A(10, 9, 0, 117) && !baddr; a++) {
		const rd_lease_t *x = rd_table_by_addr(tb, a);
		if (a != addr && x && x->state == RD_LEASE_BACKUP)
			baddr = a;
	}
	rcu_read_unlock();
	ok(baddr != 0, "stale move: the secondary holds a BACKUP address");
	now = (uint32_t)time(NULL);
	rd_lease_t *gl = rd_lease_new(baddr, NULL, 0, NULL, 0);
	gl->state = RD_LEASE_ACTIVE;
	gl->htype = 1;
	gl->hlen = 6;
	memcpy(gl->chaddr, "\x52\x54\x00\x00\x00\x07", 6);
	gl->starts = gl->cltt = now;
	gl->ends = now + 30;
	gl->tstp = now + 45;
	rd_lease_t *sl = rd_lease_new(baddr, NULL, 0, NULL, 0);
	sl->state = RD_LEASE_BACKUP;
	sl->starts = sl->tstp = now - 5;
	rcu_read_lock();
	r = rd_table_replace(tb, rd_table_by_addr(tb, baddr), gl);
	int r2 = rd_table_replace(ta, rd_table_by_addr(ta, baddr), sl);
	rcu_read_unlock();
	ok(r == 0 && r2 == 0, "stale move: ACTIVE on the secondary (granted now), BACKUP (now - 5) unacked on the primary");
	rd_fo_peers_notify(fa, baddr);
	bool kept = false, learnt = false;
	for (int i = 0; i < 200 && !(kept && learnt); i++) {
		usleep(50000);
		rcu_read_lock();
		const rd_lease_t *x = rd_table_by_addr(tb, baddr), *y = rd_table_by_addr(ta, baddr);
		kept = x && x->state == RD_LEASE_ACTIVE && !memcmp(x->chaddr, "\x52\x54\x00\x00\x00\x07", 6);
		learnt = y && y->state == RD_LEASE_ACTIVE && y->hlen == 6 &&
			 !memcmp(y->chaddr, "\x52\x54\x00\x00\x00\x07", 6);
		rcu_read_unlock();
		if (!kept)
			break;  /* overwritten: it will not come back */
	}
	status_of(fb, &st);
	ok(kept && st.bndupd_rejected >= 1,
	   "stale move: the secondary refused the BACKUP and kept its client's binding (%llu refused)",
	   (unsigned long long)st.bndupd_rejected);
	ok(learnt, "stale move: the primary got the secondary's binding (ACTIVE for that client)");

	/* An EXPIRED lease on the secondary, never acked by the primary. */
	uint32_t xaddr = addr == A(10, 9, 0, 119) ? A(10, 9, 0, 118) : A(10, 9, 0, 119);
	rd_lease_t *xl = rd_lease_new(xaddr, NULL, 0, NULL, 0);
	xl->state = RD_LEASE_EXPIRED;
	xl->htype = 1;
	xl->hlen = 6;
	memcpy(xl->chaddr, "\x52\x54\x00\x00\x00\x06", 6);
	xl->starts = now - 100;
	xl->ends = now - 10;
	xl->tstp = now - 10;
	rcu_read_lock();
	is_int(rd_table_replace(tb, rd_table_by_addr(tb, xaddr), xl), 0, "an EXPIRED lease on the secondary");
	rcu_read_unlock();

	test_cancel_lb(ca, ta, ea);

	/* Graceful stop of the primary: the secondary takes over at once. */
	rd_fo_peers_stop(fa, true);
	fa = NULL;
	ok(wait_states(NULL, 0, fb, RD_FO_ST_PARTNER_DOWN, 10), "secondary in PARTNER-DOWN after the primary's SHUTDOWN");
	ok(rd_store_fo_state_get(sa, "fo", &fs) == 0 && fs.state == RD_FO_ST_RECOVER,
	   "the stopped primary recorded recover for its next start (%s)", rd_fo_state_name(fs.state));
	rcu_read_lock();
	status_of(fb, &st);
	now = st.stos;      /* PARTNER-DOWN's start: the MCLT counts from there */
	ok(eb->may_allocate(eb->ctx, A(10, 9, 0, 112), NULL, now) == false,
	   "PARTNER-DOWN: the primary's FREE address (never used) waits for MCLT");
	ok(eb->may_allocate(eb->ctx, A(10, 9, 0, 112), NULL, now + 31),
	   "... and is the secondary's once MCLT has passed");
	rcu_read_unlock();
	bool reusable = false;
	for (int i = 0; i < 40 && !reusable; i++) {
		rcu_read_lock();
		const rd_lease_t *x = rd_table_by_addr(tb, xaddr);
		reusable = x && x->state == RD_LEASE_EXPIRED && x->tsfp == st.stos + 30;
		rcu_read_unlock();
		if (!reusable)
			usleep(50000);
	}
	ok(reusable, "PARTNER-DOWN: the EXPIRED lease got tsfp = STOS + MCLT");
	rcu_read_lock();
	const rd_lease_t *xv = rd_table_by_addr(tb, xaddr);
	ok(xv && !eb->may_allocate(eb->ctx, xaddr, xv, st.stos) && eb->may_allocate(eb->ctx, xaddr, xv, st.stos + 31),
	   "... and is reusable once that has passed");
	rcu_read_unlock();
	rd_fo_peers_stop(fb, false);

	test_hold(tmp, port + 2);

	rd_store_close(sa);
	rd_store_close(sb);
	rd_config_publish(NULL);
	rd_config_free(cb);
	rd_table_free(ta);
	rd_table_free(tb);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		diag("could not remove %s", tmp);
	rcu_unregister_thread();
	return done_testing();
}
