/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_engine.c — the decision engine driven through whole exchanges.
 *
 * Requests are real wire data (builder -> rd_dhcp_build -> rd_dhcp_parse),
 * the configuration is YAML through rd_config_parse, and every outcome is
 * committed to a real lease table the way replay does it:
 * rd_table_replace(t, out->old_lease, out->new_lease).  Replies are built
 * and parsed back so the checks see what would go on the wire.  The clock
 * is a variable: expiry runs with rd_table_expire before each message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "rackdhcp/config.h"
#include "rackdhcp/engine.h"
#include "rackdhcp/table.h"

#define A(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static const char yaml[] =
	"subnets:\n"
	"  - cidr: 192.0.2.0/24\n"
	"    routers: [192.0.2.1]\n"
	"    dns_servers: [192.0.2.2, 192.0.2.3]\n"
	"    domain_name: maas\n"
	"    domain_search: [maas, lab.example]\n"
	"    ntp_servers: [192.0.2.2]\n"
	"    mtu: 9000\n"
	"    lease_time: 600\n"
	"    pxe_lease_time: 30\n"
	"    decline_hold_time: 300\n"
	"    ignore_client_ids: true\n"
	"    next_server: 192.0.2.2\n"
	"    pools:\n"
	"      - range: 192.0.2.100-192.0.2.103\n"
	"    reservations:\n"
	"      - {mac: \"52:54:00:00:00:99\", address: 192.0.2.20, hostname: node1}\n"
	"  - cidr: 10.0.0.0/24\n"
	"    routers: [10.0.0.1]\n"
	"    lease_time: 3600\n"
	"    min_lease_time: 1800\n"
	"    max_lease_time: 7200\n"
	"    ignore_client_ids: false\n"
	"    pools:\n"
	"      - range: 10.0.0.10-10.0.0.20\n"
	"  - cidr: 10.1.0.0/24\n"
	"    pools:\n"
	"      - range: 10.1.0.10-10.1.0.20\n";

static const uint32_t LINK = A(192, 0, 2, 1);   /* our address on the local link */
static const uint32_t MASK = 0xffffff00u;

static rd_config_t *cfg;
static rd_table_t *tbl;
static uint32_t now = 1700000000;
static bool not_authoritative;

static rd_dhcp_t req;          /* the request as parsed */
static rd_dhcp_t rep;          /* the reply as built and parsed back */
static rd_engine_out_t out;
static uint8_t wire[RD_DHCP_MAX_LEN];

/* One client message. */
typedef struct {
	uint8_t type;
	uint8_t mac_last;           /* chaddr 52:54:00:00:00:<mac_last> */
	uint32_t ciaddr, giaddr;
	bool bcast;                 /* broadcast flag */
	bool unicast;               /* arrived unicast (renewing) */
	uint32_t reqip, sid;        /* options 50, 54 */
	uint32_t lease;             /* option 51 */
	const char *vendor;         /* option 60 */
	const char *host;           /* option 12 */
	const char *cid;            /* option 61 */
	uint32_t sel118;
	const uint8_t *agent;       /* option 82 value */
	size_t agent_len;
	bool prl;                   /* send a parameter request list */
	uint16_t maxmsg;            /* option 57 */
	uint16_t arch;              /* option 93 + 1 (0: none) */
} msg_t;

static void mac_of(uint8_t last, uint8_t *mac)
{
	static const uint8_t base[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x00 };

	memcpy(mac, base, 6);
	mac[5] = last;
}

static void make_request(const msg_t *m)
{
	static rd_dhcp_builder_t b;
	static uint32_t xid = 0x1000;
	rd_diag_t d;
	uint8_t mac[6];

	rd_dhcp_builder_init(&b);
	b.op = RD_BOOTREQUEST;
	b.xid = ++xid;
	b.ciaddr = m->ciaddr;
	b.giaddr = m->giaddr;
	b.flags = m->bcast ? RD_DHCP_FLAG_BROADCAST : 0;
	if (m->giaddr)
		b.hops = 1;
	mac_of(m->mac_last, mac);
	memcpy(b.chaddr, mac, 6);
	rd_dhcp_builder_set_u8(&b, RD_OPT_MESSAGE_TYPE, m->type, 0);
	if (m->reqip)
		rd_dhcp_builder_set_u32(&b, RD_OPT_REQUESTED_IP, m->reqip, 0);
	if (m->sid)
		rd_dhcp_builder_set_u32(&b, RD_OPT_SERVER_ID, m->sid, 0);
	if (m->lease)
		rd_dhcp_builder_set_u32(&b, RD_OPT_LEASE_TIME, m->lease, 0);
	if (m->vendor)
		rd_dhcp_builder_set(&b, RD_OPT_VENDOR_CLASS, m->vendor, strlen(m->vendor), 0);
	if (m->host)
		rd_dhcp_builder_set(&b, RD_OPT_HOSTNAME, m->host, strlen(m->host), 0);
	if (m->cid)
		rd_dhcp_builder_set(&b, RD_OPT_CLIENT_ID, m->cid, strlen(m->cid), 0);
	if (m->sel118)
		rd_dhcp_builder_set_u32(&b, RD_OPT_SUBNET_SELECTION, m->sel118, 0);
	if (m->maxmsg)
		rd_dhcp_builder_set_u16(&b, RD_OPT_MAX_MSG_SIZE, m->maxmsg, 0);
	if (m->arch)
		rd_dhcp_builder_set_u16(&b, RD_OPT_CLIENT_ARCH, (uint16_t)(m->arch - 1), 0);
	if (m->prl) {
		static const uint8_t prl[] = { 1, 3, 6, 15, 28, 42, 119, 26, 67 };
		rd_dhcp_builder_set(&b, RD_OPT_PARAM_REQUEST, prl, sizeof(prl), 0);
	}
	if (m->agent)
		rd_dhcp_builder_set(&b, RD_OPT_AGENT_INFO, m->agent, m->agent_len, 0);
	rd_diag_clear(&d);
	int n = rd_dhcp_build(&b, NULL, 0, 0, wire, sizeof(wire), NULL, &d);
	if (n < 0)
		bail_out("cannot build the request: %s", d.reason);
	if (rd_dhcp_parse(wire, (size_t)n, &req, &d) < 0)
		bail_out("cannot parse the request: %s", d.reason);
}

/*
 * Run one message through the engine.  commit: publish the lease change as
 * replay does.  Returns the reply type (0: none).
 */
static uint8_t run_ex(const msg_t *m, bool commit)
{
	rd_engine_in_t in = {
		.now = now,
		.cfg = cfg,
		.table = tbl,
		.link_addr = LINK,
		.link_mask = MASK,
		.src_addr = m->unicast ? m->ciaddr : 0,
		.via_unicast = m->unicast,
		.not_authoritative = not_authoritative,
	};
	rd_diag_t d;

	make_request(m);
	rd_table_expire(tbl, now, NULL, NULL);
	memset(&rep, 0, sizeof(rep));
	rcu_read_lock();
	int rc = rd_engine_process(&in, &req, &out);
	if (rc < 0) {
		rcu_read_unlock();
		diag("engine: %s", rd_strerror(rc));
		return 0;
	}
	if (commit) {
		if (out.action == RD_ENGINE_DROP) {
			rd_engine_abort(tbl, &out);
		} else if (out.new_lease) {
			rc = rd_table_replace(tbl, out.old_lease, out.new_lease);
			if (rc < 0) {
				diag("table refused the change: %s (%s)", rd_strerror(rc), out.reason);
				rd_engine_abort(tbl, &out);
			} else {
				out.new_lease = NULL;
				out.claimed = 0;
			}
		}
	}
	rcu_read_unlock();
	if (out.action != RD_ENGINE_REPLY)
		return 0;
	rd_diag_clear(&d);
	int n = rd_dhcp_build(&out.reply, out.prl, out.prl_len, out.max_msg, wire, sizeof(wire), NULL, &d);
	if (n < 0 || rd_dhcp_parse(wire, (size_t)n, &rep, &d) < 0) {
		diag("reply does not build/parse: %s", d.reason);
		return 0;
	}
	return rep.msgtype;
}

static uint8_t run(const msg_t *m)
{
	return run_ex(m, true);
}

static uint32_t opt32(uint8_t code)
{
	uint32_t v = 0;

	if (!rd_dhcp_get_u32(&rep, code, &v))
		return 0xdeadbeef;
	return v;
}

/* A copy of the current lease at addr (state 0: none). */
static rd_lease_t cur_lease(uint32_t addr)
{
	rd_lease_t l;

	memset(&l, 0, sizeof(l));
	rcu_read_lock();
	const rd_lease_t *p = rd_table_by_addr(tbl, addr);
	if (p)
		memcpy(&l, p, sizeof(l));
	rcu_read_unlock();
	return l;
}

/* DISCOVER + REQUEST (selecting); returns the address bound (0: failed). */
static uint32_t dora(uint8_t mac_last)
{
	msg_t d = { .type = RD_DHCPDISCOVER, .mac_last = mac_last };

	if (run(&d) != RD_DHCPOFFER)
		return 0;
	uint32_t a = rep.yiaddr;
	msg_t r = { .type = RD_DHCPREQUEST, .mac_last = mac_last, .reqip = a, .sid = LINK };
	if (run(&r) != RD_DHCPACK)
		return 0;
	return rep.yiaddr == a ? a : 0;
}

static void fresh_table(void)
{
	if (tbl)
		rd_table_free(tbl);
	tbl = rd_table_new(64);
	if (!tbl)
		bail_out("rd_table_new");
	for (size_t i = 0; i < cfg->n_subnets; i++)
		for (size_t j = 0; j < cfg->subnets[i].n_pools; j++) {
			const rd_cfg_pool_t *p = &cfg->subnets[i].pools[j];
			if (rd_table_add_pool(tbl, p->start, p->end, (void *)(uintptr_t)p) < 0)
				bail_out("rd_table_add_pool");
		}
}

/* ------------------------------------------------------------------ tests */

static void test_dora(void)
{
	msg_t d = { .type = RD_DHCPDISCOVER, .mac_last = 1, .host = "alpha", .prl = true, .maxmsg = 1500 };

	fresh_table();
	is_int(run(&d), RD_DHCPOFFER, "DISCOVER -> OFFER (%s)", out.reason);
	uint32_t a = rep.yiaddr;
	ok(a >= A(192, 0, 2, 100) && a <= A(192, 0, 2, 103), "offered address is in the pool");
	is_int(opt32(RD_OPT_SERVER_ID), LINK, "server id is our link address");
	is_int(opt32(RD_OPT_LEASE_TIME), 600, "lease time 600");
	is_int(opt32(RD_OPT_RENEWAL_TIME), 300, "T1 = 50%%");
	is_int(opt32(RD_OPT_REBINDING_TIME), 525, "T2 = 87.5%%");
	is_int(opt32(RD_OPT_SUBNET_MASK), MASK, "subnet mask");
	is_int(opt32(RD_OPT_ROUTER), A(192, 0, 2, 1), "router");
	is_int(opt32(RD_OPT_BROADCAST), A(192, 0, 2, 255), "broadcast address");
	size_t len = 0;
	ok(rd_dhcp_get(&rep, RD_OPT_DNS, &len) && len == 8, "two DNS servers");
	const uint8_t *v = rd_dhcp_get(&rep, RD_OPT_DOMAIN_NAME, &len);
	ok(v && len == 4 && memcmp(v, "maas", 4) == 0, "domain name");
	char names[128];
	v = rd_dhcp_get(&rep, RD_OPT_DOMAIN_SEARCH, &len);
	ok(v && rd_dhcp_decode_search(v, len, names, sizeof(names), NULL) == 2 &&
	   strcmp(names, "maas lab.example") == 0, "domain search");
	is_int(opt32(RD_OPT_NTP), A(192, 0, 2, 2), "NTP server");
	uint16_t mtu = 0;
	ok(rd_dhcp_get_u16(&rep, RD_OPT_INTERFACE_MTU, &mtu) && mtu == 9000, "MTU");
	is_int(rep.siaddr, A(192, 0, 2, 2), "siaddr = next_server");
	is_int(out.max_msg, 1500 - 28, "max message = option 57 - 28");
	ok(out.prl_len >= 9 && out.prl[0] == 1, "PRL passed on");
	ok(!out.dest.broadcast && !out.dest.to_relay && out.dest.ip == a && out.dest.port == 68 &&
	   out.dest.mac_len == 6 && out.dest.mac[5] == 1, "OFFER unicast to yiaddr/chaddr (§4.1)");

	rd_lease_t l = cur_lease(a);
	ok(l.state == RD_LEASE_ACTIVE && (l.flags & RD_ENGINE_F_OFFERED) &&
	   l.ends == now + RD_ENGINE_OFFER_HOLD, "offer published as a held ACTIVE/OFFERED version");

	/* A second DISCOVER before the REQUEST gets the same address. */
	is_int(run(&d), RD_DHCPOFFER, "second DISCOVER -> OFFER");
	is_int(rep.yiaddr, a, "same address offered again (%s)", out.reason);

	now += 2;
	msg_t r = { .type = RD_DHCPREQUEST, .mac_last = 1, .reqip = a, .sid = LINK, .host = "alpha" };
	is_int(run(&r), RD_DHCPACK, "REQUEST (selecting) -> ACK (%s)", out.reason);
	is_int(rep.yiaddr, a, "ACK yiaddr");
	is_int(opt32(RD_OPT_LEASE_TIME), 600, "ACK lease time");
	rcu_read_lock();
	const rd_lease_t *p = rd_table_by_addr(tbl, a);
	ok(p && p->state == RD_LEASE_ACTIVE && !(p->flags & RD_ENGINE_F_OFFERED) &&
	   p->starts == now && p->ends == now + 600 && p->cltt == now && p->tstp == p->ends &&
	   p->host_len == 5 && memcmp(rd_lease_host(p), "alpha", 5) == 0 &&
	   !(p->flags & RD_LEASE_F_KEY_CID) && p->hlen == 6 && p->chaddr[5] == 1,
	   "ACK published ACTIVE: starts/ends/cltt/tstp/hostname/chaddr");
	rcu_read_unlock();

	/* DISCOVER from a bound client: same address, binding untouched. */
	is_int(run(&d), RD_DHCPOFFER, "DISCOVER while bound -> OFFER");
	is_int(rep.yiaddr, a, "current lease offered (%s)", out.reason);
	is_int(cur_lease(a).ends, now + 600, "binding not shortened by the offer");
}

static void test_requested(void)
{
	fresh_table();
	msg_t d = { .type = RD_DHCPDISCOVER, .mac_last = 2, .reqip = A(192, 0, 2, 102) };
	is_int(run(&d), RD_DHCPOFFER, "DISCOVER with option 50");
	is_int(rep.yiaddr, A(192, 0, 2, 102), "requested address honoured (%s)", out.reason);

	msg_t d2 = { .type = RD_DHCPDISCOVER, .mac_last = 3, .reqip = A(192, 0, 2, 102) };
	is_int(run(&d2), RD_DHCPOFFER, "other client asks for the same address");
	ok(rep.yiaddr != A(192, 0, 2, 102), "refused: got %s instead", out.reason);

	msg_t d3 = { .type = RD_DHCPDISCOVER, .mac_last = 4, .reqip = A(192, 0, 2, 7) };
	is_int(run(&d3), RD_DHCPOFFER, "client asks for an address outside the pools");
	ok(rep.yiaddr >= A(192, 0, 2, 100) && rep.yiaddr <= A(192, 0, 2, 103), "given a pool address");

	/* The other client REQUESTs the address offered to client 2: NAK. */
	msg_t r = { .type = RD_DHCPREQUEST, .mac_last = 3, .reqip = A(192, 0, 2, 102), .sid = LINK };
	is_int(run(&r), RD_DHCPNAK, "REQUEST for another client's offer -> NAK (%s)", out.reason);
	ok(out.dest.broadcast, "NAK broadcast");
	msg_t r2 = { .type = RD_DHCPREQUEST, .mac_last = 2, .reqip = A(192, 0, 2, 102), .sid = LINK };
	is_int(run(&r2), RD_DHCPACK, "the client it was offered to gets the ACK");
}

static void test_renew_rebind(void)
{
	fresh_table();
	uint32_t a = dora(5);
	ok(a, "bound");
	now += 300;
	msg_t r = { .type = RD_DHCPREQUEST, .mac_last = 5, .ciaddr = a, .unicast = true };
	is_int(run(&r), RD_DHCPACK, "RENEWING -> ACK (%s)", out.reason);
	is_int(rep.ciaddr, a, "ACK ciaddr copied");
	ok(!out.dest.broadcast && out.dest.ip == a && out.dest.port == 68, "renew ACK unicast to ciaddr");
	is_int(cur_lease(a).ends, now + 600, "lease extended");

	now += 300;
	msg_t rb = { .type = RD_DHCPREQUEST, .mac_last = 5, .ciaddr = a };
	is_int(run(&rb), RD_DHCPACK, "REBINDING -> ACK (%s)", out.reason);
	is_int(cur_lease(a).ends, now + 600, "lease extended again");

	msg_t rb2 = { .type = RD_DHCPREQUEST, .mac_last = 6, .ciaddr = a };
	is_int(run(&rb2), RD_DHCPNAK, "REBINDING of another client's lease -> NAK (%s)", out.reason);
	msg_t rb3 = { .type = RD_DHCPREQUEST, .mac_last = 7, .ciaddr = A(192, 0, 2, 103) };
	is_int(run(&rb3), 0, "REBINDING for a lease unknown to us -> silent");
	ok(out.action == RD_ENGINE_DROP, "dropped: %s", out.reason);
	msg_t rn = { .type = RD_DHCPREQUEST, .mac_last = 7, .ciaddr = A(192, 0, 2, 103), .unicast = true };
	is_int(run(&rn), RD_DHCPNAK, "RENEWING for a lease unknown to us -> NAK (authoritative)");
	not_authoritative = true;
	is_int(run(&rn), 0, "... silent when not authoritative");
	not_authoritative = false;
}

static void test_init_reboot(void)
{
	fresh_table();
	uint32_t a = dora(8);
	ok(a, "bound");
	msg_t ir = { .type = RD_DHCPREQUEST, .mac_last = 8, .reqip = a };
	is_int(run(&ir), RD_DHCPACK, "INIT-REBOOT for its own lease -> ACK (%s)", out.reason);

	msg_t wrong = { .type = RD_DHCPREQUEST, .mac_last = 8, .reqip = A(10, 0, 0, 5) };
	is_int(run(&wrong), RD_DHCPNAK, "INIT-REBOOT on the wrong subnet -> NAK");
	is_str(out.reason, "nak: requested 10.0.0.5 not on subnet 192.0.2.0/24", "reason");
	ok(out.dest.broadcast && out.dest.ip == 0xffffffffu, "NAK broadcast");
	ok(opt32(RD_OPT_SERVER_ID) == LINK && rep.yiaddr == 0 && !rd_dhcp_has(&rep, RD_OPT_LEASE_TIME),
	   "NAK carries 54, no yiaddr, no lease time");
	not_authoritative = true;
	is_int(run(&wrong), 0, "... silent when not authoritative");
	not_authoritative = false;

	msg_t other = { .type = RD_DHCPREQUEST, .mac_last = 9, .reqip = a };
	is_int(run(&other), RD_DHCPNAK, "INIT-REBOOT for another client's address -> NAK (%s)", out.reason);

	msg_t unknown = { .type = RD_DHCPREQUEST, .mac_last = 9, .reqip = A(192, 0, 2, 103) };
	is_int(run(&unknown), 0, "INIT-REBOOT from a client we have no record of -> silent");
	ok(out.action == RD_ENGINE_DROP && strstr(out.reason, "no record"), "reason: %s", out.reason);

	msg_t moved = { .type = RD_DHCPREQUEST, .mac_last = 8, .reqip = a == A(192, 0, 2, 103) ?
			A(192, 0, 2, 102) : A(192, 0, 2, 103) };
	is_int(run(&moved), RD_DHCPNAK, "INIT-REBOOT for an address that is not its lease -> NAK (%s)",
	       out.reason);
}

static void test_selecting_other(void)
{
	fresh_table();
	msg_t d = { .type = RD_DHCPDISCOVER, .mac_last = 10 };
	is_int(run(&d), RD_DHCPOFFER, "offer");
	uint32_t a = rep.yiaddr;
	msg_t r = { .type = RD_DHCPREQUEST, .mac_last = 10, .reqip = a, .sid = A(192, 0, 2, 9) };
	is_int(run(&r), 0, "SELECTING another server -> silent");
	ok(strstr(out.reason, "ignored: server id 192.0.2.9 is not ours") == out.reason, "reason: %s",
	   out.reason);
	rd_lease_t l = cur_lease(a);
	ok(l.state == RD_LEASE_FREE, "our offer is withdrawn (state %s)", rd_lease_state_name(l.state));
	msg_t d2 = { .type = RD_DHCPDISCOVER, .mac_last = 11, .reqip = a };
	is_int(run(&d2), RD_DHCPOFFER, "another client");
	is_int(rep.yiaddr, a, "may now get that address");
	msg_t r2 = { .type = RD_DHCPREQUEST, .mac_last = 12, .reqip = A(192, 0, 2, 100), .sid = A(192, 0, 2, 9) };
	is_int(run(&r2), 0, "SELECTING another server with no offer of ours -> silent");
}

static void test_decline(void)
{
	fresh_table();
	uint32_t a = dora(20);
	ok(a, "bound");
	msg_t dc = { .type = RD_DHCPDECLINE, .mac_last = 20, .reqip = a, .sid = LINK };
	is_int(run(&dc), 0, "DECLINE: no reply");
	is_int(out.action, RD_ENGINE_COMMIT, "DECLINE commits a change (%s)", out.reason);
	rd_lease_t l = cur_lease(a);
	ok(l.state == RD_LEASE_ABANDONED && l.ends == now + 300, "address ABANDONED until the hold ends");

	msg_t d = { .type = RD_DHCPDISCOVER, .mac_last = 20 };
	is_int(run(&d), RD_DHCPOFFER, "the client rediscovers");
	ok(rep.yiaddr != a, "and gets another address");
	/* Fill the rest of the pool. */
	msg_t r = { .type = RD_DHCPREQUEST, .mac_last = 20, .reqip = rep.yiaddr, .sid = LINK };
	run(&r);
	ok(dora(21) && dora(22), "two more clients bound");
	msg_t d4 = { .type = RD_DHCPDISCOVER, .mac_last = 23 };
	is_int(run(&d4), 0, "pool exhausted while the declined address is held");
	ok(strstr(out.reason, "no free address") != NULL, "reason: %s", out.reason);
	now += 301;
	is_int(run(&d4), RD_DHCPOFFER, "after the hold");
	is_int(rep.yiaddr, a, "the declined address is reused (%s)", out.reason);
	msg_t r4 = { .type = RD_DHCPREQUEST, .mac_last = 23, .reqip = a, .sid = LINK };
	is_int(run(&r4), RD_DHCPACK, "and ACKed");
}

static void test_release(void)
{
	fresh_table();
	uint32_t a = dora(30);
	ok(a, "bound");
	msg_t bad = { .type = RD_DHCPRELEASE, .mac_last = 31, .ciaddr = a, .sid = LINK, .unicast = true };
	is_int(run(&bad), 0, "RELEASE by another client");
	is_int(cur_lease(a).state, RD_LEASE_ACTIVE, "is ignored");
	msg_t rl = { .type = RD_DHCPRELEASE, .mac_last = 30, .ciaddr = a, .sid = LINK, .unicast = true };
	is_int(run(&rl), 0, "RELEASE: no reply");
	is_int(out.action, RD_ENGINE_COMMIT, "commits");
	is_int(cur_lease(a).state, RD_LEASE_RELEASED, "lease RELEASED");
	msg_t d = { .type = RD_DHCPDISCOVER, .mac_last = 30 };
	is_int(run(&d), RD_DHCPOFFER, "rediscover");
	is_int(rep.yiaddr, a, "same address again (%s)", out.reason);
}

static void test_inform(void)
{
	fresh_table();
	msg_t in = { .type = RD_DHCPINFORM, .mac_last = 40, .ciaddr = A(192, 0, 2, 50), .unicast = true };
	is_int(run(&in), RD_DHCPACK, "INFORM -> ACK (%s)", out.reason);
	is_int(rep.yiaddr, 0, "no yiaddr");
	is_int(rep.ciaddr, A(192, 0, 2, 50), "ciaddr kept");
	ok(!rd_dhcp_has(&rep, RD_OPT_LEASE_TIME) && !rd_dhcp_has(&rep, RD_OPT_RENEWAL_TIME) &&
	   !rd_dhcp_has(&rep, RD_OPT_REBINDING_TIME), "no 51/58/59");
	is_int(opt32(RD_OPT_ROUTER), A(192, 0, 2, 1), "subnet options");
	ok(out.dest.ip == A(192, 0, 2, 50) && out.dest.port == 68 && !out.dest.broadcast,
	   "sent to ciaddr (§4.3.5)");
	ok(out.new_lease == NULL && rd_table_count(tbl) == 0, "no lease change");
}

static void test_relay(void)
{
	fresh_table();
	static const uint8_t agent[] = { 1, 4, 'e', 't', 'h', '0', 2, 2, 0xab, 0xcd };
	msg_t d = { .type = RD_DHCPDISCOVER, .mac_last = 50, .giaddr = A(10, 0, 0, 1),
		    .agent = agent, .agent_len = sizeof(agent) };
	is_int(run(&d), RD_DHCPOFFER, "relayed DISCOVER -> OFFER (%s)", out.reason);
	ok(rep.yiaddr >= A(10, 0, 0, 10) && rep.yiaddr <= A(10, 0, 0, 20), "address on the relay's subnet");
	is_int(opt32(RD_OPT_LEASE_TIME), 3600, "that subnet's lease time");
	is_int(rep.giaddr, A(10, 0, 0, 1), "giaddr kept");
	size_t len;
	const uint8_t *v = rd_dhcp_get(&rep, RD_OPT_AGENT_INFO, &len);
	ok(v && len == sizeof(agent) && memcmp(v, agent, len) == 0, "option 82 echoed unchanged");
	ok(rep.opt_count && rep.opt_order[rep.opt_count - 1] == RD_OPT_AGENT_INFO, "82 is the last option");
	ok(out.dest.to_relay && out.dest.ip == A(10, 0, 0, 1) && out.dest.port == 67, "sent to the relay:67");
	is_int(rep.siaddr, LINK, "siaddr = our address with no next_server");

	msg_t r = { .type = RD_DHCPREQUEST, .mac_last = 50, .giaddr = A(10, 0, 0, 1), .reqip = rep.yiaddr,
		    .sid = LINK, .lease = 100000 };
	is_int(run(&r), RD_DHCPACK, "relayed REQUEST -> ACK");
	is_int(opt32(RD_OPT_LEASE_TIME), 7200, "requested lease time clamped to max");
	r.lease = 60;
	run(&r);
	is_int(opt32(RD_OPT_LEASE_TIME), 1800, "... and to min");

	msg_t w = { .type = RD_DHCPREQUEST, .mac_last = 50, .giaddr = A(10, 0, 0, 1), .reqip = A(192, 0, 2, 100) };
	is_int(run(&w), RD_DHCPNAK, "relayed NAK");
	ok(out.dest.to_relay && (rep.flags & RD_DHCP_FLAG_BROADCAST), "NAK to the relay with the broadcast bit");

	/* RFC 3527 link selection overrides giaddr. */
	static const uint8_t agent5[] = { 5, 4, 10, 1, 0, 0 };
	msg_t ls = { .type = RD_DHCPDISCOVER, .mac_last = 51, .giaddr = A(10, 0, 0, 1),
		     .agent = agent5, .agent_len = sizeof(agent5) };
	is_int(run(&ls), RD_DHCPOFFER, "DISCOVER with link selection");
	ok(rep.yiaddr >= A(10, 1, 0, 10) && rep.yiaddr <= A(10, 1, 0, 20), "address from the 82.5 subnet");
	v = rd_dhcp_get(&rep, RD_OPT_AGENT_INFO, &len);
	ok(v && len == sizeof(agent5) && memcmp(v, agent5, len) == 0, "82 with 82.5 echoed");

	/* RFC 3011 subnet selection overrides both. */
	msg_t ss = { .type = RD_DHCPDISCOVER, .mac_last = 52, .giaddr = A(10, 0, 0, 1),
		     .agent = agent5, .agent_len = sizeof(agent5), .sel118 = A(192, 0, 2, 0) };
	is_int(run(&ss), RD_DHCPOFFER, "DISCOVER with subnet selection");
	ok(rep.yiaddr >= A(192, 0, 2, 100) && rep.yiaddr <= A(192, 0, 2, 103), "address from the 118 subnet");
	is_int(opt32(RD_OPT_SUBNET_SELECTION), A(192, 0, 2, 0), "118 echoed");

	msg_t none = { .type = RD_DHCPDISCOVER, .mac_last = 53, .giaddr = A(172, 16, 0, 1) };
	is_int(run(&none), 0, "relay from a network we do not serve");
	is_str(out.reason, "no subnet for relay 172.16.0.1", "reason");
}

static void test_client_id(void)
{
	fresh_table();
	msg_t d = { .type = RD_DHCPDISCOVER, .mac_last = 60, .giaddr = A(10, 0, 0, 1), .cid = "\x01host-a" };
	is_int(run(&d), RD_DHCPOFFER, "DISCOVER with client-id on a subnet that uses it");
	uint32_t a = rep.yiaddr;
	rd_lease_t l = cur_lease(a);
	ok(l.flags & RD_LEASE_F_KEY_CID, "lease keyed by client-id");
	msg_t d2 = { .type = RD_DHCPDISCOVER, .mac_last = 61, .giaddr = A(10, 0, 0, 1), .cid = "\x01host-a" };
	is_int(run(&d2), RD_DHCPOFFER, "same client-id, other MAC");
	is_int(rep.yiaddr, a, "same address");
	msg_t d3 = { .type = RD_DHCPDISCOVER, .mac_last = 62, .cid = "\x01host-b" };
	is_int(run(&d3), RD_DHCPOFFER, "local subnet ignores client ids");
	ok(!(cur_lease(rep.yiaddr).flags & RD_LEASE_F_KEY_CID), "lease keyed by MAC");
}

static void test_reservation(void)
{
	fresh_table();
	msg_t d = { .type = RD_DHCPDISCOVER, .mac_last = 0x99 };
	is_int(run(&d), RD_DHCPOFFER, "reserved client -> OFFER");
	is_int(rep.yiaddr, A(192, 0, 2, 20), "the reserved address (%s)", out.reason);
	msg_t r = { .type = RD_DHCPREQUEST, .mac_last = 0x99, .reqip = A(192, 0, 2, 20), .sid = LINK };
	is_int(run(&r), RD_DHCPACK, "ACK");
	rd_lease_t l = cur_lease(A(192, 0, 2, 20));
	ok(l.state == RD_LEASE_ACTIVE && (l.flags & RD_LEASE_F_RESERVED), "lease flagged RESERVED");
	rcu_read_lock();
	const rd_lease_t *p = rd_table_by_addr(tbl, A(192, 0, 2, 20));
	ok(p && p->host_len == 5 && memcmp(rd_lease_host(p), "node1", 5) == 0, "hostname from the reservation");
	rcu_read_unlock();

	msg_t o = { .type = RD_DHCPDISCOVER, .mac_last = 70, .reqip = A(192, 0, 2, 20) };
	is_int(run(&o), RD_DHCPOFFER, "other client asks for the reserved address");
	ok(rep.yiaddr != A(192, 0, 2, 20), "not given");
	msg_t o2 = { .type = RD_DHCPREQUEST, .mac_last = 70, .reqip = A(192, 0, 2, 20) };
	is_int(run(&o2), RD_DHCPNAK, "INIT-REBOOT for the reserved address by another -> NAK (%s)", out.reason);
	msg_t rr = { .type = RD_DHCPREQUEST, .mac_last = 0x99, .reqip = A(192, 0, 2, 101) };
	is_int(run(&rr), RD_DHCPNAK, "reserved client asking for another address -> NAK");
}

static void test_pxe(void)
{
	fresh_table();
	msg_t d = { .type = RD_DHCPDISCOVER, .mac_last = 80, .vendor = "PXEClient:Arch:00000:UNDI:002001",
		    .arch = 0 + 1, .prl = true };
	is_int(run(&d), RD_DHCPOFFER, "PXE DISCOVER");
	is_int(opt32(RD_OPT_LEASE_TIME), 30, "PXE class lease time 30");
	is_int(opt32(RD_OPT_RENEWAL_TIME), 15, "T1 15");
	ok(strcmp((const char *)rep.file, "lpxelinux.0") == 0, "file lpxelinux.0 (got '%.20s')", rep.file);
	size_t len;
	const uint8_t *v = rd_dhcp_get(&rep, RD_OPT_PATH_PREFIX, &len);
	ok(v && len == strlen("http://192.0.2.2:5248/") && memcmp(v, "http://192.0.2.2:5248/", len) == 0,
	   "option 210 forced, rack IP = next_server");
	ok(out.prl_len && memchr(out.prl, RD_OPT_PATH_PREFIX, out.prl_len), "210 added to the PRL");
	ok(cur_lease(rep.yiaddr).flags & RD_LEASE_F_PXE, "lease flagged PXE");

	msg_t h = { .type = RD_DHCPDISCOVER, .mac_last = 81, .arch = 0x10 + 1, .prl = true };
	is_int(run(&h), RD_DHCPOFFER, "UEFI HTTP DISCOVER");
	v = rd_dhcp_get(&rep, RD_OPT_VENDOR_CLASS, &len);
	ok(v && len == 10 && memcmp(v, "HTTPClient", 10) == 0, "HTTPClient vendor class");
	is_int(opt32(RD_OPT_LEASE_TIME), 600, "normal lease time");
}

static void test_exhaustion_expiry(void)
{
	fresh_table();
	uint32_t a[4];
	for (int i = 0; i < 4; i++)
		a[i] = dora((uint8_t)(90 + i));
	ok(a[0] && a[1] && a[2] && a[3], "pool of four filled");
	msg_t d = { .type = RD_DHCPDISCOVER, .mac_last = 99 - 2 };
	is_int(run(&d), 0, "fifth client: no OFFER");
	is_str(out.reason, "no free address in 192.0.2.0/24", "reason");
	ok(out.claimed == 0 && out.new_lease == NULL, "nothing held");

	/* Client 90 renews; the others expire. */
	now += 500;
	msg_t rn = { .type = RD_DHCPREQUEST, .mac_last = 90, .ciaddr = a[0], .unicast = true };
	is_int(run(&rn), RD_DHCPACK, "client 90 renews");
	now += 200;
	is_int(run(&d), RD_DHCPOFFER, "after expiry the fifth client gets an address (%s)", out.reason);
	ok(rep.yiaddr != a[0], "not the renewed one");
	uint32_t taken = rep.yiaddr;
	msg_t r = { .type = RD_DHCPREQUEST, .mac_last = 97, .reqip = taken, .sid = LINK };
	is_int(run(&r), RD_DHCPACK, "ACK");

	/* A returning expired client prefers its previous address. */
	int k = taken == a[1] ? 2 : 1;
	msg_t back = { .type = RD_DHCPDISCOVER, .mac_last = (uint8_t)(90 + k) };
	is_int(run(&back), RD_DHCPOFFER, "expired client comes back");
	is_int(rep.yiaddr, a[k], "its previous address (%s)", out.reason);
	is_int(cur_lease(a[k]).state, RD_LEASE_ACTIVE, "re-offered");
}

static void test_addressing(void)
{
	fresh_table();
	msg_t b = { .type = RD_DHCPDISCOVER, .mac_last = 100, .bcast = true };
	is_int(run(&b), RD_DHCPOFFER, "broadcast flag");
	ok(out.dest.broadcast && out.dest.ip == 0xffffffffu && out.dest.port == 68, "-> broadcast");
	msg_t u = { .type = RD_DHCPDISCOVER, .mac_last = 101 };
	is_int(run(&u), RD_DHCPOFFER, "no flag");
	ok(!out.dest.broadcast && out.dest.ip == rep.yiaddr && out.dest.mac_len == 6 &&
	   out.dest.mac[5] == 101, "-> unicast yiaddr + chaddr");
	msg_t g = { .type = RD_DHCPDISCOVER, .mac_last = 102, .giaddr = A(10, 0, 0, 1), .bcast = true };
	is_int(run(&g), RD_DHCPOFFER, "relayed with broadcast flag");
	ok(out.dest.to_relay && out.dest.ip == A(10, 0, 0, 1) && out.dest.port == 67 && !out.dest.broadcast,
	   "-> relay wins over the flag");
	msg_t n = { .type = RD_DHCPREQUEST, .mac_last = 103, .reqip = A(10, 9, 9, 9), .ciaddr = 0 };
	is_int(run(&n), RD_DHCPNAK, "NAK");
	ok(out.dest.broadcast, "-> broadcast");
}

static void test_bootp_and_junk(void)
{
	/* BOOTP: a request with no option 53. */
	static rd_dhcp_builder_t b;
	rd_diag_t d;
	rd_dhcp_builder_init(&b);
	b.op = RD_BOOTREQUEST;
	b.chaddr[5] = 1;
	rd_dhcp_builder_set_u8(&b, RD_OPT_HOSTNAME, 'x', 0);
	int n = rd_dhcp_build(&b, NULL, 0, 0, wire, sizeof(wire), NULL, &d);
	ok(n > 0 && rd_dhcp_parse(wire, (size_t)n, &req, &d) == 0, "BOOTP request parsed");
	rd_engine_in_t in = { .now = now, .cfg = cfg, .table = tbl, .link_addr = LINK, .link_mask = MASK };
	rcu_read_lock();
	is_int(rd_engine_process(&in, &req, &out), 0, "processed");
	rcu_read_unlock();
	ok(out.action == RD_ENGINE_DROP, "BOOTP dropped");
	is_str(out.reason, "BOOTP not served", "reason");
}

static void test_concurrent(void)
{
	static rd_engine_out_t o1, o2;
	static rd_dhcp_t r1, r2;

	fresh_table();
	rd_engine_in_t in = { .now = now, .cfg = cfg, .table = tbl, .link_addr = LINK, .link_mask = MASK };
	msg_t d1 = { .type = RD_DHCPDISCOVER, .mac_last = 110 };
	msg_t d2 = { .type = RD_DHCPDISCOVER, .mac_last = 111 };
	make_request(&d1);
	memcpy(&r1, &req, sizeof(req));
	make_request(&d2);
	memcpy(&r2, &req, sizeof(req));

	rcu_read_lock();
	is_int(rd_engine_process(&in, &r1, &o1), 0, "first DISCOVER decided");
	is_int(rd_engine_process(&in, &r2, &o2), 0, "second DISCOVER decided before the first commits");
	ok(o1.action == RD_ENGINE_REPLY && o2.action == RD_ENGINE_REPLY, "both offered");
	ok(o1.reply.yiaddr != o2.reply.yiaddr, "different addresses (%s / %s)", o1.reason, o2.reason);
	ok(o1.claimed == o1.reply.yiaddr && o2.claimed == o2.reply.yiaddr, "each holds a claim");
	is_int(rd_table_replace(tbl, o2.old_lease, o2.new_lease), 0, "second commits");
	o2.new_lease = NULL;
	is_int(rd_table_replace(tbl, o1.old_lease, o1.new_lease), 0, "first commits");
	o1.new_lease = NULL;
	rcu_read_unlock();

	/* A claim that is aborted goes back to the pool. */
	msg_t d3 = { .type = RD_DHCPDISCOVER, .mac_last = 112 };
	make_request(&d3);
	rcu_read_lock();
	rd_engine_process(&in, &req, &o1);
	uint32_t a = o1.reply.yiaddr;
	rd_engine_abort(tbl, &o1);
	ok(o1.new_lease == NULL && o1.claimed == 0, "abort clears the outcome");
	rcu_read_unlock();
	ok(a && rd_table_claim_addr(tbl, a) == 0, "the aborted address is free to claim again");
	rd_table_unclaim(tbl, a);
}

/* ---- addresses that left the pools (a live range change; engine.c header) */

/* The test configuration with the first subnet's pool range replaced. */
static rd_config_t *cfg_with_range(const char *range)
{
	static const char from[] = "range: 192.0.2.100-192.0.2.103";
	char buf[sizeof(yaml) + 64], err[256];
	const char *at = strstr(yaml, from);
	rd_config_t *c = NULL;

	if (!at)
		bail_out("test yaml changed");
	snprintf(buf, sizeof(buf), "%.*srange: %s%s", (int)(at - yaml), yaml, range, at + strlen(from));
	if (rd_config_parse(buf, strlen(buf), "test.yaml", &c, err, sizeof(err)) < 0)
		bail_out("config: %s", err);
	return c;
}

/* Make c current, for the engine and for the table's pools (as a reload does). */
static void switch_config(rd_config_t *c)
{
	rd_table_range_t r[16];
	size_t n = 0;

	for (size_t i = 0; i < c->n_subnets; i++)
		for (size_t j = 0; j < c->subnets[i].n_pools && n < 16; j++)
			r[n++] = (rd_table_range_t){ c->subnets[i].pools[j].start, c->subnets[i].pools[j].end, NULL };
	if (rd_table_set_pools(tbl, r, n) < 0)
		bail_out("rd_table_set_pools");
	cfg = c;
}

static void test_left_pool(void)
{
	rd_config_t *orig = cfg;
	rd_config_t *moved = cfg_with_range("192.0.2.150-192.0.2.153");
	rd_config_t *both = cfg_with_range("192.0.2.100-192.0.2.153");

	fresh_table();
	uint32_t a = dora(41), b = dora(42);
	msg_t off = { .type = RD_DHCPDISCOVER, .mac_last = 43 };
	is_int(run(&off), RD_DHCPOFFER, "a third client is offered an address");
	uint32_t offered = rep.yiaddr;
	ok(a && b && offered, "two bound, one offered in 192.0.2.100-103");
	uint32_t a_ends = cur_lease(a).ends;

	switch_config(moved);
	now += 200;
	msg_t rn = { .type = RD_DHCPREQUEST, .mac_last = 41, .ciaddr = a, .unicast = true };
	is_int(run(&rn), RD_DHCPACK, "RENEWING an address that left the pool -> ACK (%s)", out.reason);
	is_int(rep.yiaddr, a, "same address");
	is_int(opt32(RD_OPT_LEASE_TIME), 400, "lease time: what is left (600 - 200), not a new 600");
	is_int(opt32(RD_OPT_RENEWAL_TIME), 200, "T1 from what is left");
	is_int(cur_lease(a).ends, a_ends, "the lease is not extended");
	ok(strstr(out.reason, "left the pool") != NULL, "the reason says why: %s", out.reason);

	now += 100;
	msg_t rb = { .type = RD_DHCPREQUEST, .mac_last = 41, .ciaddr = a };
	is_int(run(&rb), RD_DHCPACK, "REBINDING -> ACK");
	is_int(opt32(RD_OPT_LEASE_TIME), 300, "with 300 s left");
	msg_t ir = { .type = RD_DHCPREQUEST, .mac_last = 41, .reqip = a };
	is_int(run(&ir), RD_DHCPACK, "INIT-REBOOT -> ACK");
	is_int(cur_lease(a).ends, a_ends, "still not extended");
	msg_t d = { .type = RD_DHCPDISCOVER, .mac_last = 41 };
	is_int(run(&d), RD_DHCPOFFER, "DISCOVER from the holder -> OFFER");
	is_int(rep.yiaddr, a, "of the address it holds");
	is_int(opt32(RD_OPT_LEASE_TIME), 300, "for what is left of it");
	ok(!out.new_lease, "no new version for that offer");
	msg_t sel = { .type = RD_DHCPREQUEST, .mac_last = 41, .reqip = a, .sid = LINK };
	is_int(run(&sel), RD_DHCPACK, "SELECTING it -> ACK, still capped");
	is_int(cur_lease(a).ends, a_ends, "ends unchanged");

	msg_t other = { .type = RD_DHCPREQUEST, .mac_last = 44, .reqip = a, .sid = LINK };
	is_int(run(&other), RD_DHCPNAK, "another client asking for it -> NAK");
	msg_t sel_off = { .type = RD_DHCPREQUEST, .mac_last = 43, .reqip = offered, .sid = LINK };
	is_int(run(&sel_off), RD_DHCPNAK, "an offer made before the change is not a binding -> NAK (%s)", out.reason);
	msg_t nd = { .type = RD_DHCPDISCOVER, .mac_last = 45 };
	is_int(run(&nd), RD_DHCPOFFER, "a new client is offered...");
	ok(rep.yiaddr >= A(192, 0, 2, 150) && rep.yiaddr <= A(192, 0, 2, 153), "...an address of the new range");

	/* The range grows back over b: its renewal is a normal one again. */
	switch_config(both);
	msg_t rnb = { .type = RD_DHCPREQUEST, .mac_last = 42, .ciaddr = b, .unicast = true };
	is_int(run(&rnb), RD_DHCPACK, "back in a pool: RENEWING -> ACK");
	is_int(opt32(RD_OPT_LEASE_TIME), 600, "with a full lease time");
	is_int(cur_lease(b).ends, now + 600, "and extended");

	/* Less than min_lease_time (300 s) left: no more ever-shorter ACKs. */
	switch_config(moved);
	now = a_ends - 299;
	is_int(run(&rn), RD_DHCPNAK, "RENEWING with 299 s left (< min_lease_time) -> NAK (%s)", out.reason);
	ok(strstr(out.reason, "min_lease_time") != NULL, "saying why");
	is_int(run(&d), RD_DHCPOFFER, "its DISCOVER then -> OFFER...");
	ok(rep.yiaddr >= A(192, 0, 2, 150) && rep.yiaddr <= A(192, 0, 2, 153), "...of a new address (%s)", out.reason);
	uint32_t renewed_offer = rep.yiaddr;

	/* Over: the client is told to start again, and lands in the new range. */
	now = a_ends;
	is_int(run(&rn), RD_DHCPNAK, "RENEWING when the lease is over -> NAK (%s)", out.reason);
	ok(strstr(out.reason, "no pool") != NULL, "saying the address is in no pool");
	is_int(run(&d), RD_DHCPOFFER, "its DISCOVER -> OFFER");
	ok(rep.yiaddr >= A(192, 0, 2, 150) && rep.yiaddr <= A(192, 0, 2, 153), "in the new range (%s)",
	   out.reason);
	is_int(rep.yiaddr, renewed_offer, "the same it was offered a moment ago");
	ok(cur_lease(a).state == RD_LEASE_EXPIRED || cur_lease(a).state == RD_LEASE_ACTIVE,
	   "the old lease stayed in the table until the end");

	switch_config(orig);
	rd_config_free(moved);
	rd_config_free(both);
}

int main(void)
{
	char err[256];

	plan_lazy();
	rcu_register_thread();
	if (rd_config_parse(yaml, strlen(yaml), "test.yaml", &cfg, err, sizeof(err)) < 0)
		bail_out("config: %s", err);

	test_dora();
	test_requested();
	test_renew_rebind();
	test_init_reboot();
	test_selecting_other();
	test_decline();
	test_release();
	test_inform();
	test_relay();
	test_client_id();
	test_reservation();
	test_pxe();
	test_exhaustion_expiry();
	test_addressing();
	test_bootp_and_junk();
	test_concurrent();
	test_left_pool();

	rd_table_free(tbl);
	rd_config_free(cfg);
	rcu_unregister_thread();
	return done_testing();
}
