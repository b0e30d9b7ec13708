/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_peer_reload — failover relationships following the configuration
 * live (rd_fo_peers_reconfigure, failover/peer.c).  Two peer sets in one
 * process, A on 127.0.0.1 and B on 127.0.0.2, each with its own lease table
 * and SQLite store, share the published configuration (same pool and
 * relationship names on both sides).  Checked:
 *  - an unchanged configuration leaves the running relationship alone
 *    (same state and STOS on both sides, the link never drops);
 *  - a relationship added on both sides (second subnet) reaches NORMAL, and
 *    a set created empty (failover off at start) takes relationships;
 *  - a relationship whose listener cannot be opened (port held here)
 *    refuses the whole reconfiguration and changes nothing;
 *  - a removed relationship announces SHUTDOWN (its partner moves to
 *    PARTNER-DOWN), closes its listener, resets its stored state; until
 *    the new configuration is published its pool is not served; once its
 *    pool is published without failover, the BACKUP addresses there are
 *    FREE in the table and the store;
 *  - a role swap on both sides returns the pair to NORMAL with the roles
 *    swapped, the side that was not shut down in order starting over in
 *    RECOVER;
 *  - a pool that joins the running relationship: a lease only A has there
 *    reaches B;
 *  - two reader threads hammer the engine seam (may_serve, may_allocate,
 *    lease_time) all along: under ASan a reader touching a freed peer fails
 *    the run.
 * Runtime: a few seconds; every wait bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

static unsigned base_port;

enum pool2 { POOL2_NONE, POOL2_FO2, POOL2_PLAIN, POOL2_FO };

/* One side's YAML: relationship "fo" with role fo_role, "fo2" (A primary)
 * when pool2 is POOL2_FO2, "fo3" on port base+4 when fo3. */
static rd_config_t *conf(bool side_a, const char *fo_role, enum pool2 pool2, bool fo3)
{
	static char buf[8192];
	char err[512];
	const char *me = side_a ? "127.0.0.1" : "127.0.0.2", *peer = side_a ? "127.0.0.2" : "127.0.0.1";
	unsigned p1 = base_port + (side_a ? 0 : 1), pp1 = base_port + (side_a ? 1 : 0);
	unsigned p2 = base_port + (side_a ? 2 : 3), pp2 = base_port + (side_a ? 3 : 2);
	size_t n = 0;
	rd_config_t *c = NULL;

	n += (size_t)snprintf(buf + n, sizeof(buf) - n,
			      "subnets:\n"
			      "  - cidr: 10.9.0.0/24\n"
			      "    lease_time: 3600\n"
			      "    pools:\n"
			      "      - range: 10.9.0.100-10.9.0.119\n"
			      "        failover_peer: fo\n");
	if (pool2 != POOL2_NONE)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "  - cidr: 10.9.1.0/24\n"
				      "    lease_time: 3600\n"
				      "    pools:\n"
				      "      - range: 10.9.1.100-10.9.1.119\n%s",
				      pool2 == POOL2_FO2 ? "        failover_peer: fo2\n" :
				      pool2 == POOL2_FO ? "        failover_peer: fo\n" : "");
	n += (size_t)snprintf(buf + n, sizeof(buf) - n,
			      "failover:\n"
			      "  - name: fo\n"
			      "    role: %s\n"
			      "    address: %s\n"
			      "    port: %u\n"
			      "    peer_address: %s\n"
			      "    peer_port: %u\n"
			      "    mclt: 5\n"
			      "%s"
			      "    max_response_delay: 10\n"
			      "    max_unacked_updates: 10\n"
			      "    load_balance_max_seconds: 3\n",
			      fo_role, me, p1, peer, pp1, strcmp(fo_role, "primary") ? "" : "    split: 128\n");
	if (pool2 == POOL2_FO2)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "  - name: fo2\n"
				      "    role: %s\n"
				      "    address: %s\n"
				      "    port: %u\n"
				      "    peer_address: %s\n"
				      "    peer_port: %u\n"
				      "    mclt: 5\n"
				      "%s"
				      "    max_response_delay: 10\n"
				      "    max_unacked_updates: 10\n",
				      side_a ? "primary" : "secondary", me, p2, peer, pp2, side_a ? "    split: 128\n" : "");
	if (fo3)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "  - name: fo3\n"
				      "    role: primary\n"
				      "    address: 127.0.0.1\n"
				      "    port: %u\n"
				      "    peer_address: 127.0.0.2\n"
				      "    peer_port: %u\n"
				      "    mclt: 5\n"
				      "    split: 128\n",
				      base_port + 4, base_port + 5);
	if (rd_config_parse(buf, n, side_a ? "a.yaml" : "b.yaml", &c, err, sizeof(err)) < 0)
		bail_out("config: %s\n%s", err, buf);
	return c;
}

static bool status_named(rd_fo_peers_t *p, const char *name, rd_fo_peer_status_t *out)
{
	rd_fo_peer_status_t st[8];
	size_t n = rd_fo_peers_status(p, st, 8);
	for (size_t i = 0; i < n && i < 8; i++)
		if (!strcmp(st[i].name, name)) {
			*out = st[i];
			return true;
		}
	return false;
}

/* Both sides' relationship `name` in the given states (0: don't care), bounded. */
static bool wait_pair(rd_fo_peers_t *a, uint8_t sa, rd_fo_peers_t *b, uint8_t sb, const char *name, int secs)
{
	rd_fo_peer_status_t x, y;
	for (int i = 0; i < secs * 20; i++) {
		bool okx = !sa || (status_named(a, name, &x) && x.state == sa);
		bool oky = !sb || (status_named(b, name, &y) && y.state == sb);
		if (okx && oky)
			return true;
		usleep(50000);
	}
	if (status_named(a, name, &x))
		diag("A %s: %s, peer %s", name, rd_fo_state_name(x.state), rd_fo_state_name(x.partner));
	if (status_named(b, name, &y))
		diag("B %s: %s, peer %s", name, rd_fo_state_name(y.state), rd_fo_state_name(y.partner));
	return false;
}

static uint64_t pool_count(rd_table_t *t, uint32_t start, unsigned state)
{
	rd_table_pool_stats_t ps = { 0 };
	rd_table_pool_stats(t, start, &ps);
	return ps.by_state[state];
}

static bool port_listens(const char *ip, unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, ip, &sa.sin_addr);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* ---- readers of the engine seam, concurrent with every reconfiguration ---- */

static struct {
	rd_fo_peers_t *sets[2];
	atomic_bool stop;
	atomic_ulong calls;
	rd_dhcp_t req;
} rd;

static void *reader(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	rcu_register_thread();
	while (!atomic_load(&rd.stop)) {
		for (int k = 0; k < 2; k++) {
			const rd_engine_fo_t *fo = rd_fo_peers_engine(rd.sets[k]);
			uint32_t now = (uint32_t)time(NULL);
			rcu_read_lock();
			const rd_config_t *cfg = rd_config_current();
			for (size_t i = 0; cfg && i < cfg->n_subnets; i++) {
				const char *why = NULL;
				const rd_cfg_subnet_t *sn = &cfg->subnets[i];
				(void)fo->may_serve(fo->ctx, sn, &rd.req, &why);
				uint32_t addr = sn->network + 100 + (seed++ % 20);
				(void)fo->may_allocate(fo->ctx, addr, NULL, now);
				rd_lease_t *probe = rd_lease_new(addr, NULL, 0, NULL, 0);
				if (probe) {
					(void)fo->lease_time(fo->ctx, NULL, probe, now, 600);
					rd_lease_free(probe);
				}
				atomic_fetch_add(&rd.calls, 1);
			}
			rcu_read_unlock();
		}
	}
	rcu_unregister_thread();
	return NULL;
}

static void build_request(void)
{
	static rd_dhcp_builder_t b;
	static uint8_t wire[RD_DHCP_MAX_LEN];
	rd_diag_t d;
	rd_dhcp_builder_init(&b);
	b.op = RD_BOOTREQUEST;
	b.xid = 0x4242;
	memcpy(b.chaddr, "\x52\x54\x00\x00\x00\x42", 6);
	rd_dhcp_builder_set_u8(&b, RD_OPT_MESSAGE_TYPE, RD_DHCPDISCOVER, 0);
	rd_diag_clear(&d);
	int n = rd_dhcp_build(&b, NULL, 0, 0, wire, sizeof(wire), NULL, &d);
	if (n < 0 || rd_dhcp_parse(wire, (size_t)n, &rd.req, &d) < 0)
		bail_out("request: %s", d.reason);
}

int main(void)
{
	char tmp[] = "/tmp/rd-test-peer-reload.XXXXXX", pa[256], pb[256], err[512];
	rd_store_t *sa = NULL, *sb = NULL;
	rd_fo_peers_t *fa = NULL, *fb = NULL;
	rd_fo_peer_status_t x, y, x0, y0;
	rd_store_fo_state_t fs;
	rd_config_t *c;

	plan_lazy();
	rd_log_init("test_peer_reload", getenv("RD_FO_DEBUG") ? LOG_DEBUG : LOG_WARNING);
	rcu_register_thread();
	if (!mkdtemp(tmp))
		bail_out("mkdtemp");
	base_port = 20000 + (unsigned)(getpid() % 4000) * 6;
	snprintf(pa, sizeof(pa), "%s/a.db", tmp);
	snprintf(pb, sizeof(pb), "%s/b.db", tmp);
	if (rd_store_open(pa, RD_STORE_SYNC, NULL, &sa, err, sizeof(err)) < 0 ||
	    rd_store_open(pb, RD_STORE_SYNC, NULL, &sb, err, sizeof(err)) < 0)
		bail_out("store: %s", err);
	rd_table_t *ta = rd_table_new(64), *tb = rd_table_new(64);
	for (int k = 0; k < 2; k++) {
		rd_table_add_pool(k ? tb : ta, A(10, 9, 0, 100), A(10, 9, 0, 119), NULL);
		rd_table_add_pool(k ? tb : ta, A(10, 9, 1, 100), A(10, 9, 1, 119), NULL);
	}
	build_request();

	/* A starts with "fo"; B starts with failover off and gets it by a reload. */
	rd_config_publish(conf(true, "primary", POOL2_NONE, false));
	c = conf(true, "primary", POOL2_NONE, false);
	is_int(rd_fo_peers_start(c, ta, sa, &fa), 0, "A started with relationship fo");
	rd_config_free(c);
	c = conf(false, "secondary", POOL2_NONE, false);
	c->n_failovers = 0;     /* the same file without its failover section */
	is_int(rd_fo_peers_start_with(c, tb, sb, &fb, err, sizeof(err)), 0, "B started with no relationship");
	is_int((int)rd_fo_peers_count(fb), 0, "... running none");
	ok(rd_fo_peers_engine(fb) != NULL, "... but with an engine seam to hand out");
	c->n_failovers = 1;
	rd.sets[0] = fa;
	rd.sets[1] = fb;
	pthread_t rt[2];
	for (uintptr_t i = 0; i < 2; i++)
		if (pthread_create(&rt[i], NULL, reader, (void *)i))
			bail_out("pthread_create");
	is_int(rd_fo_peers_reconfigure(fb, c, err, sizeof(err)), 0, "B reconfigured: relationship fo added");
	rd_config_free(c);
	ok(wait_pair(fa, RD_FO_ST_NORMAL, fb, RD_FO_ST_NORMAL, "fo", 40), "fo: both reach NORMAL");

	/* Unchanged: nothing moves. */
	status_named(fa, "fo", &x0);
	status_named(fb, "fo", &y0);
	sleep(1);       /* a restart would show as a new STOS */
	c = conf(true, "primary", POOL2_NONE, false);
	is_int(rd_fo_peers_reconfigure(fa, c, err, sizeof(err)), 0, "A reconfigured with the same relationship");
	rd_config_free(c);
	usleep(300000);
	ok(status_named(fa, "fo", &x) && x.state == RD_FO_ST_NORMAL && x.stos == x0.stos && x.linked &&
	   x.bndupd_sent >= x0.bndupd_sent,
	   "... fo untouched on A (NORMAL since %u, linked, counters kept)", x.stos);
	ok(status_named(fb, "fo", &y) && y.state == RD_FO_ST_NORMAL && y.stos == y0.stos && y.linked,
	   "... and on B: the link never dropped");

	/* Added on both sides: fo2 on the second subnet. */
	c = conf(true, "primary", POOL2_FO2, false);
	is_int(rd_fo_peers_reconfigure(fa, c, err, sizeof(err)), 0, "A: fo2 added");
	rd_config_free(c);
	c = conf(false, "secondary", POOL2_FO2, false);
	is_int(rd_fo_peers_reconfigure(fb, c, err, sizeof(err)), 0, "B: fo2 added");
	rd_config_free(c);
	rd_config_publish(conf(true, "primary", POOL2_FO2, false));
	is_int((int)rd_fo_peers_count(fa), 2, "A runs two relationships");
	ok(wait_pair(fa, RD_FO_ST_NORMAL, fb, RD_FO_ST_NORMAL, "fo2", 40), "fo2: both reach NORMAL");
	ok(status_named(fa, "fo", &x) && x.stos == x0.stos, "fo still untouched");
	ok(port_listens("127.0.0.1", base_port + 2), "fo2's listener on A is open");
	for (int i = 0; i < 100 && pool_count(tb, A(10, 9, 1, 100), RD_LEASE_BACKUP) < 8; i++)
		usleep(50000);
	uint64_t backup = pool_count(ta, A(10, 9, 1, 100), RD_LEASE_BACKUP);
	ok(backup >= 8, "fo2's pool balanced: %llu BACKUP addresses on A", (unsigned long long)backup);

	/* Refused: fo3's port is taken; nothing changes. */
	int hold = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in hs = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(base_port + 4)) };
	inet_pton(AF_INET, "127.0.0.1", &hs.sin_addr);
	if (hold < 0 || bind(hold, (struct sockaddr *)&hs, sizeof(hs)) < 0 || listen(hold, 1) < 0)
		bail_out("cannot hold port %u", base_port + 4);
	c = conf(true, "primary", POOL2_PLAIN, true);
	err[0] = '\0';
	is_int(rd_fo_peers_reconfigure(fa, c, err, sizeof(err)), -EADDRINUSE,
	       "A: fo3 on a port in use, fo2 removed: refused");
	rd_config_free(c);
	ok(strstr(err, "fo3") && strstr(err, "cannot listen"), "... saying why: %s", err);
	ok(rd_fo_peers_count(fa) == 2 && status_named(fa, "fo2", &x) && x.state == RD_FO_ST_NORMAL && x.linked &&
	   status_named(fa, "fo", &x) && x.stos == x0.stos,
	   "... and changed nothing: fo and fo2 still run in NORMAL");
	close(hold);

	/* Removed: fo2 leaves A; its partner sees SHUTDOWN. */
	c = conf(true, "primary", POOL2_PLAIN, false);
	is_int(rd_fo_peers_reconfigure(fa, c, err, sizeof(err)), 0, "A: fo2 removed");
	rd_config_free(c);
	is_int((int)rd_fo_peers_count(fa), 1, "A runs one relationship");
	ok(!status_named(fa, "fo2", &x), "fo2 is gone from A's status");
	ok(wait_pair(fa, 0, fb, RD_FO_ST_PARTNER_DOWN, "fo2", 10), "B's fo2 moved to PARTNER-DOWN (A's SHUTDOWN)");
	ok(!port_listens("127.0.0.1", base_port + 2), "A's fo2 listener is closed");
	ok(rd_store_fo_state_get(sa, "fo2", &fs) == 0 && fs.state == RD_FO_ST_STARTUP,
	   "A's stored fo2 state is reset (a return starts over)");
	{
		const rd_engine_fo_t *ea = rd_fo_peers_engine(fa);
		rcu_read_lock();
		ok(!ea->may_allocate(ea->ctx, A(10, 9, 1, 110), NULL, (uint32_t)time(NULL)),
		   "until the new configuration is published, fo2's pool is not served on A");
		rcu_read_unlock();
	}
	c = conf(false, "secondary", POOL2_PLAIN, false);
	is_int(rd_fo_peers_reconfigure(fb, c, err, sizeof(err)), 0, "B: fo2 removed");
	rd_config_free(c);
	ok(!port_listens("127.0.0.2", base_port + 3), "B's fo2 listener is closed");
	rd_config_publish(conf(true, "primary", POOL2_PLAIN, false));
	for (int i = 0; i < 60 && pool_count(ta, A(10, 9, 1, 100), RD_LEASE_BACKUP); i++)
		usleep(50000);
	ok(pool_count(ta, A(10, 9, 1, 100), RD_LEASE_BACKUP) == 0 &&
	   pool_count(ta, A(10, 9, 1, 100), RD_LEASE_FREE) >= backup,
	   "the pool left failover: its BACKUP addresses are FREE on A (%llu FREE)",
	   (unsigned long long)pool_count(ta, A(10, 9, 1, 100), RD_LEASE_FREE));
	{
		const rd_engine_fo_t *ea = rd_fo_peers_engine(fa);
		rcu_read_lock();
		const rd_lease_t *l = NULL;
		for (uint32_t a = A(10, 9, 1, 100); a <= A(10, 9, 1, 119) && !l; a++)
			l = rd_table_by_addr(ta, a);
		ok(l && l->state == RD_LEASE_FREE && ea->may_allocate(ea->ctx, l->addr, l, (uint32_t)time(NULL)),
		   "... and allocatable");
		rcu_read_unlock();
	}
	rd_store_flush(sa);

	/* Role swap of fo on both sides. */
	status_named(fa, "fo", &x0);
	c = conf(true, "secondary", POOL2_PLAIN, false);
	is_int(rd_fo_peers_reconfigure(fa, c, err, sizeof(err)), 0, "A: fo is secondary now");
	rd_config_free(c);
	ok(wait_pair(fa, 0, fb, RD_FO_ST_PARTNER_DOWN, "fo", 10), "B (still primary) saw A's SHUTDOWN: PARTNER-DOWN");
	/* In STARTUP until the peer says its state; what it starts from is on disk. */
	ok(status_named(fa, "fo", &x) && x.role == RD_FO_SECONDARY && rd_store_fo_state_get(sa, "fo", &fs) == 0 &&
	   fs.state == RD_FO_ST_RECOVER && fs.stos < x0.stos + 1,
	   "A's fo restarted as secondary from its orderly RECOVER (%s, STOS backdated: %u)",
	   rd_fo_state_name(fs.state), fs.stos);
	c = conf(false, "primary", POOL2_PLAIN, false);
	is_int(rd_fo_peers_reconfigure(fb, c, err, sizeof(err)), 0, "B: fo is primary now");
	rd_config_free(c);
	ok(status_named(fb, "fo", &y) && y.role == RD_FO_PRIMARY && y.state != RD_FO_ST_PARTNER_DOWN &&
	   rd_store_fo_state_get(sb, "fo", &fs) == 0 && fs.state != RD_FO_ST_PARTNER_DOWN,
	   "B's PARTNER-DOWN of the old role is not carried over: %s, stored %s", rd_fo_state_name(y.state),
	   rd_fo_state_name(fs.state));
	ok(wait_pair(fa, RD_FO_ST_NORMAL, fb, RD_FO_ST_NORMAL, "fo", 40), "the swapped pair returns to NORMAL");
	ok(status_named(fa, "fo", &x) && x.role == RD_FO_SECONDARY && status_named(fb, "fo", &y) &&
	   y.role == RD_FO_PRIMARY, "with the roles swapped");

	/* A pool joins the running relationship fo: B learns A's lease there. */
	uint32_t jaddr = A(10, 9, 1, 105), jnow = (uint32_t)time(NULL);
	rd_lease_t *jl = rd_lease_new(jaddr, NULL, 0, NULL, 0);
	jl->state = RD_LEASE_ACTIVE;
	jl->htype = 1;
	jl->hlen = 6;
	memcpy(jl->chaddr, "\x52\x54\x00\x00\x01\x05", 6);
	jl->starts = jl->cltt = jnow;
	jl->ends = jnow + 600;
	jl->tstp = jnow + 600;
	rcu_read_lock();
	int jr = rd_table_replace(ta, rd_table_by_addr(ta, jaddr), jl);
	const rd_lease_t *jb = rd_table_by_addr(tb, jaddr);
	bool b_had = jb && jb->state == RD_LEASE_ACTIVE;
	rcu_read_unlock();
	ok(jr == 0 && !b_had, "A alone has an ACTIVE lease at 10.9.1.105 (a pool without failover)");
	rd_config_publish(conf(true, "secondary", POOL2_FO, false));
	bool learnt = false;
	for (int i = 0; i < 200 && !learnt; i++) {
		rcu_read_lock();
		jb = rd_table_by_addr(tb, jaddr);
		learnt = jb && jb->state == RD_LEASE_ACTIVE && jb->hlen == 6 &&
			 !memcmp(jb->chaddr, "\x52\x54\x00\x00\x01\x05", 6);
		rcu_read_unlock();
		if (!learnt)
			usleep(50000);
	}
	ok(learnt, "the pool joined fo: B got A's lease there (BNDUPD)");

	atomic_store(&rd.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(rt[i], NULL);
	ok(atomic_load(&rd.calls) > 100, "the engine seam was read %lu times during the reconfigurations",
	   (unsigned long)atomic_load(&rd.calls));

	rd_fo_peers_stop(fa, false);
	rd_fo_peers_stop(fb, false);
	rd_store_close(sa);
	rd_store_close(sb);
	rd_config_publish(NULL);
	rd_table_free(ta);
	rd_table_free(tb);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		diag("could not remove %s", tmp);
	rcu_unregister_thread();
	return done_testing();
}
