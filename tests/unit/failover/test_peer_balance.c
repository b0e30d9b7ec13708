/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_peer_balance — pool balancing between two failover peer sets
 * (failover/peer.c) over 127.0.0.1/127.0.0.2, a 400-address pool:
 *  - a fresh start sends each address handed over exactly one BNDUPD
 *    (entry to NORMAL used to queue the balance's moves a second time);
 *  - the secondary's rebalance timer (min_balance 1, max_balance 2) runs
 *    while the pool is balanced without asking for anything, and the
 *    primary's (min_balance 3600) is planned no earlier than that;
 *  - once the secondary has allocated its whole BACKUP share, its timer
 *    sends POOLREQ and the primary hands it half of its FREE addresses
 *    (the primary's own timer never ran: the POOLREQ did it), and the
 *    primary's next run is planned min_balance after the POOLREQ's run,
 *    not left where entry to NORMAL had planned it;
 *  - leaving NORMAL drops the plan.
 * Runtime: ~10 s, every wait bounded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/config.h"
#include "rackdhcp/fo_peer.h"
#include "rackdhcp/fo_state.h"
#include "rackdhcp/log.h"
#include "rackdhcp/rcu.h"
#include "rackdhcp/store.h"
#include "rackdhcp/table.h"
#include "tap.h"

#define A(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define POOL_START A(10, 9, 1, 0)
#define POOL_END A(10, 9, 2, 143)   /* 400 addresses */
#define POOL_SIZE 400u

static void yaml(char *buf, size_t cap, const char *role, const char *me, const char *peer, unsigned port,
		 unsigned peer_port, unsigned min_b, unsigned max_b)
{
	snprintf(buf, cap,
		 "subnets:\n"
		 "  - cidr: 10.9.0.0/22\n"
		 "    lease_time: 3600\n"
		 "    pools:\n"
		 "      - range: 10.9.1.0-10.9.2.143\n"
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
		 "    max_response_delay: 10\n"
		 "    max_unacked_updates: 10\n"
		 "    min_balance: %u\n"
		 "    max_balance: %u\n",
		 role, me, port, peer, peer_port, strcmp(role, "primary") ? "" : "    split: 128\n", min_b, max_b);
}

static rd_fo_peer_status_t status(rd_fo_peers_t *p)
{
	rd_fo_peer_status_t st;
	memset(&st, 0, sizeof(st));
	if (rd_fo_peers_status(p, &st, 1) != 1)
		bail_out("no relationship");
	return st;
}

static bool wait_states(rd_fo_peers_t *a, uint8_t sa, rd_fo_peers_t *b, uint8_t sb, int secs)
{
	for (int i = 0; i < secs * 20; i++) {
		if ((!a || status(a).state == sa) && (!b || status(b).state == sb))
			return true;
		usleep(50000);
	}
	return false;
}

static uint64_t count(rd_table_t *t, uint8_t state)
{
	rd_table_pool_stats_t ps = { 0 };
	rd_table_pool_stats(t, POOL_START, &ps);
	return ps.by_state[state];
}

/* Quiet: nothing queued or in flight either way, the counts still. */
static bool settle(rd_fo_peers_t *fa, rd_fo_peers_t *fb, rd_table_t *tb, uint8_t state, uint64_t want, int secs)
{
	uint64_t last = UINT64_MAX;
	int same = 0;
	for (int i = 0; i < secs * 20; i++) {
		rd_fo_peer_status_t x = status(fa), y = status(fb);
		uint64_t n = count(tb, state);
		bool quiet = !x.queued && !x.unacked && !y.queued && !y.unacked && x.bndupd_sent == y.bndupd_recv &&
			     y.bndupd_sent == x.bndupd_recv;
		same = quiet && n == last ? same + 1 : 0;
		last = n;
		if (same >= 10 && (want == UINT64_MAX || n == want))
			return true;
		usleep(50000);
	}
	diag("secondary holds %llu in state %u", (unsigned long long)last, state);
	return false;
}

int main(void)
{
	char tmp[] = "/tmp/rd-test-peer-bal.XXXXXX", pa[256], pb[256], err[512], ya[2048], yb[2048];
	rd_config_t *ca = NULL, *cb = NULL;
	rd_store_t *sa = NULL, *sb = NULL;
	rd_fo_peers_t *fa = NULL, *fb = NULL;

	plan_lazy();
	rd_log_init("test_peer_balance", getenv("RD_FO_DEBUG") ? LOG_DEBUG : LOG_WARNING);
	rcu_register_thread();
	if (!mkdtemp(tmp))
		bail_out("mkdtemp");
	unsigned port = 21000 + (unsigned)(getpid() % 20000);
	/* The primary's timer waits an hour; the secondary's runs every 1-6 s. */
	yaml(ya, sizeof(ya), "primary", "127.0.0.1", "127.0.0.2", port, port + 1, 3600, 3600);
	yaml(yb, sizeof(yb), "secondary", "127.0.0.2", "127.0.0.1", port + 1, port, 1, 2);
	if (rd_config_parse(ya, strlen(ya), "a.yaml", &ca, err, sizeof(err)) < 0 ||
	    rd_config_parse(yb, strlen(yb), "b.yaml", &cb, err, sizeof(err)) < 0)
		bail_out("config: %s", err);
	snprintf(pa, sizeof(pa), "%s/a.db", tmp);
	snprintf(pb, sizeof(pb), "%s/b.db", tmp);
	if (rd_store_open(pa, RD_STORE_SYNC, NULL, &sa, err, sizeof(err)) < 0 ||
	    rd_store_open(pb, RD_STORE_SYNC, NULL, &sb, err, sizeof(err)) < 0)
		bail_out("store: %s", err);
	rd_table_t *ta = rd_table_new(1024), *tb = rd_table_new(1024);
	rd_table_add_pool(ta, POOL_START, POOL_END, NULL);
	rd_table_add_pool(tb, POOL_START, POOL_END, NULL);
	rd_config_publish(ca);  /* both sides find the pool in it (same pools, same name) */

	is_int(rd_fo_peers_start(ca, ta, sa, &fa), 0, "primary started");
	is_int(rd_fo_peers_start(cb, tb, sb, &fb), 0, "secondary started");
	ok(wait_states(fa, RD_FO_ST_NORMAL, fb, RD_FO_ST_NORMAL, 40), "both reach NORMAL from a fresh start");

	/* 1. One BNDUPD per address handed over. */
	ok(settle(fa, fb, tb, RD_LEASE_BACKUP, POOL_SIZE / 2, 30), "the secondary got half the pool as BACKUP (%llu)",
	   (unsigned long long)count(tb, RD_LEASE_BACKUP));
	rd_fo_peer_status_t x = status(fa), y = status(fb);
	is_int((long long)y.bndupd_recv, POOL_SIZE / 2,
	       "fresh start: one BNDUPD per address handed over (secondary got %llu, primary sent %llu)",
	       (unsigned long long)y.bndupd_recv, (unsigned long long)x.bndupd_sent);
	is_int((long long)x.balance_moved, POOL_SIZE / 2, "the primary counts %llu addresses moved",
	       (unsigned long long)x.balance_moved);

	/* 2. The timers, in a balanced pool.  The secondary's 1-2 s timer may
	 * have fired while the primary's first hand-over was still arriving
	 * (it then asks, harmlessly: the primary has nothing more to move);
	 * from here on the pool is balanced and nobody may ask. */
	unsigned long long req0 = status(fb).poolreq_sent, got0 = status(fa).poolreq_recv;
	unsigned long long resp0 = status(fb).poolresp_recv;
	unsigned long long runs0 = status(fb).balance_runs;
	uint32_t now = (uint32_t)time(NULL);
	ok(x.balance_next >= now + 3000, "primary: next run no earlier than min_balance after the last (in %d s)",
	   (int)(x.balance_next - now));
	for (int i = 0; i < 300 && status(fb).balance_runs < runs0 + 2; i++)
		usleep(50000);
	y = status(fb);
	ok(y.balance_runs >= runs0 + 2, "secondary: its timer ran %llu times since the pool settled",
	   (unsigned long long)(y.balance_runs - runs0));
	now = (uint32_t)time(NULL);
	ok(y.balance_next && y.balance_next <= now + 2 + 4 + 1,
	   "secondary: next run within max_balance + jitter (in %d s)", (int)(y.balance_next - now));
	is_int((long long)(y.poolreq_sent - req0), 0, "balanced pool: no POOLREQ");
	x = status(fa);
	is_int((long long)(x.poolreq_recv - got0), 0, "... the primary got none");
	is_int((long long)x.balance_runs, 0, "... and the primary's timer has not run");

	/* 3. The secondary hands out its whole BACKUP share.  First let the
	 * clock pass the primary's current plan less min_balance, so that a
	 * plan left over from entry to NORMAL is told apart from one made
	 * by the POOLREQ's run (bounded: the plan is at most 4 s of jitter
	 * past entry + 3600). */
	x = status(fa);
	for (int i = 0; i < 120 && (uint32_t)time(NULL) <= x.balance_next - 3600; i++)
		usleep(50000);
	uint32_t t_req = (uint32_t)time(NULL);
	now = t_req;
	unsigned taken = 0;
	for (uint32_t a = POOL_START; a <= POOL_END; a++) {
		rcu_read_lock();
		const rd_lease_t *cur = rd_table_by_addr(tb, a);
		if (!cur || cur->state != RD_LEASE_BACKUP) {
			rcu_read_unlock();
			continue;
		}
		rd_lease_t *l = rd_lease_new(a, NULL, 0, NULL, 0);
		l->state = RD_LEASE_ACTIVE;
		l->htype = 1;
		l->hlen = 6;
		memcpy(l->chaddr, "\x52\x54\x00\x00\x00\x00", 6);
		l->chaddr[4] = (uint8_t)(taken >> 8);
		l->chaddr[5] = (uint8_t)taken;
		l->starts = l->cltt = now;
		l->ends = now + 30;
		l->tstp = now + 60;
		l->tsfp = cur->tsfp;
		if (rd_table_replace(tb, cur, l) < 0 || rd_store_submit_wait(sb, rd_table_by_addr(tb, a), "test") < 0)
			bail_out("cannot allocate %08x on the secondary", a);
		rcu_read_unlock();
		rd_fo_peers_notify(fb, a);
		taken++;
	}
	is_int(taken, POOL_SIZE / 2, "the secondary allocated its %u BACKUP addresses", taken);
	for (int i = 0; i < 300 && !(status(fb).poolresp_recv > resp0 && count(tb, RD_LEASE_BACKUP) > 0); i++)
		usleep(50000);
	y = status(fb);
	x = status(fa);
	ok(y.poolreq_sent > req0 && x.poolreq_recv > got0 && y.poolresp_recv > resp0,
	   "starved: the secondary's timer sent POOLREQ (%llu), the primary got it (%llu) and answered (%llu)",
	   (unsigned long long)y.poolreq_sent, (unsigned long long)x.poolreq_recv,
	   (unsigned long long)y.poolresp_recv);
	ok(settle(fa, fb, tb, RD_LEASE_BACKUP, POOL_SIZE / 4, 30),
	   "the primary handed over half its FREE addresses: the secondary holds %llu BACKUP",
	   (unsigned long long)count(tb, RD_LEASE_BACKUP));
	x = status(fa);
	is_int((long long)x.balance_moved, POOL_SIZE / 2 + POOL_SIZE / 4, "primary: %llu moved in all",
	       (unsigned long long)x.balance_moved);
	is_int((long long)x.balance_runs, 0, "the primary's own timer still has not run: the POOLREQ did it");
	ok(x.balance_next >= t_req + 3600,
	   "the POOLREQ's run replanned the primary's timer min_balance after it (in %d s, asked at %+d s)",
	   (int)(x.balance_next - (uint32_t)time(NULL)), (int)(t_req - (uint32_t)time(NULL)));
	is_int((long long)count(ta, RD_LEASE_ACTIVE), POOL_SIZE / 2, "the primary knows the %u leases",
	       POOL_SIZE / 2);

	/* 4. Leaving NORMAL drops the plan. */
	rd_fo_peers_stop(fa, true);
	fa = NULL;
	ok(wait_states(NULL, 0, fb, RD_FO_ST_PARTNER_DOWN, 10), "secondary in PARTNER-DOWN after the primary's stop");
	y = status(fb);
	is_int(y.balance_next, 0, "... and no rebalance planned any more");
	unsigned long long runs = y.balance_runs;
	sleep(3);
	is_int((long long)status(fb).balance_runs, (long long)runs, "... nor run");
	rd_fo_peers_stop(fb, false);

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
