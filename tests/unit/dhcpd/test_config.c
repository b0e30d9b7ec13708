/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_config.c — tests of dhcpd/config.c: the full example parses to the
 * expected values, absent keys get their documented defaults (the
 * server.rate_limit ones included), every validation rule refuses with the
 * right FILE:LINE:COL and field, YAML syntax errors carry their line, the
 * lookups find what they should, the shipped contrib/rackdhcpd.yaml loads,
 * and RCU publication stays coherent with a reader thread running.
 * Single-threaded except the RCU test.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rackdhcp/boot.h"
#include "rackdhcp/config.h"
#include "rackdhcp/error.h"
#include "rackdhcp/ratelimit.h"
#include "rackdhcp/rcu.h"
#include "tap.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static const char full_yaml[] =
	"server:\n"
	"  interfaces: [eth0]\n"
	"  state_dir: /var/lib/rackdhcpd\n"
	"  control_socket: /run/rackdhcpd/control.sock\n"
	"  workers: 2\n"
	"  durability: sync\n"
	"  user: rackdhcpd\n"
	"  metrics: 127.0.0.1:9467\n"
	"subnets:\n"
	"  - cidr: 192.0.2.0/24\n"                            /* line 10 */
	"    routers: [192.0.2.1]\n"
	"    dns_servers: [192.0.2.1]\n"
	"    domain_name: maas\n"
	"    domain_search: [maas]\n"
	"    ntp_servers: [192.0.2.1]\n"
	"    mtu: 1500\n"
	"    lease_time: 600\n"
	"    ignore_client_ids: true\n"
	"    next_server: 192.0.2.1\n"
	"    disabled_boot_architectures: []\n"               /* line 20 */
	"    pools:\n"
	"      - range: 192.0.2.100-192.0.2.199\n"
	"        failover_peer: failover-vlan-5001\n"
	"    reservations:\n"
	"      - {mac: \"52:54:00:aa:bb:cc\", address: 192.0.2.20, hostname: node1}\n"
	"failover:\n"
	"  - name: failover-vlan-5001\n"                      /* line 27 */
	"    role: primary\n"
	"    address: 192.0.2.2\n"
	"    port: 647\n"
	"    peer_address: 192.0.2.3\n"
	"    peer_port: 647\n"
	"    mclt: 3600\n"
	"    split: 255\n"
	"    max_response_delay: 60\n"
	"    max_unacked_updates: 10\n"
	"    load_balance_max_seconds: 3\n"
	"    auto_partner_down: 0\n"
	"region:\n"
	"  maas_url: [http://region1:5240/MAAS/, http://region2:5240/MAAS/]\n"  /* line 40 */
	"  api_key_file: /etc/rackdhcpd/maas.key\n"
	"  system_id: 7xtf67\n"
	"  poll_interval: 30\n";

static rd_config_t *parse_ok(const char *yaml, const char *what)
{
	rd_config_t *c = NULL;
	char err[512];
	int rc = rd_config_parse(yaml, strlen(yaml), "t.yaml", &c, err, sizeof(err));
	if (!ok(rc == 0 && c, "%s parses", what))
		diag("rc=%d: %s", rc, err);
	return rc == 0 ? c : NULL;
}

static void test_full(void)
{
	rd_config_t *c = parse_ok(full_yaml, "full example");
	if (!c) {
		skip("full example did not parse");
		return;
	}
	is_str(c->filename, "t.yaml", "filename kept");
	is_int((long long)c->generation, 0, "not published: generation 0");

	const rd_cfg_server_t *sv = &c->server;
	is_int((long long)sv->n_interfaces, 1, "one interface");
	if (sv->n_interfaces == 1)
		is_str(sv->interfaces[0], "eth0", "interface eth0");
	is_str(sv->state_dir, "/var/lib/rackdhcpd", "state_dir");
	is_str(sv->control_socket, "/run/rackdhcpd/control.sock", "control_socket");
	is_int(sv->workers, 2, "workers");
	ok(sv->durability == RD_DURABILITY_SYNC, "durability sync");
	is_str(sv->user, "rackdhcpd", "user");
	is_str(sv->metrics, "127.0.0.1:9467", "metrics as written");
	is_str(sv->metrics_host, "127.0.0.1", "metrics host");
	is_int(sv->metrics_port, 9467, "metrics port");
	ok(sv->log_level == RD_LOG_INFO, "log_level default info");
	is_str(sv->pidfile, RD_CFG_DEFAULT_PIDFILE, "pidfile default");
	is_int(sv->line, 2, "server line (first key)");

	is_int((long long)c->n_subnets, 1, "one subnet");
	const rd_cfg_subnet_t *s = &c->subnets[0];
	is_int(s->line, 10, "subnet line");
	is_int(s->col, 5, "subnet col");
	ok(s->network == IP(192, 0, 2, 0), "network");
	is_int(s->prefix_len, 24, "prefix_len");
	ok(s->mask == 0xffffff00u, "mask");
	ok(s->broadcast == IP(192, 0, 2, 255), "broadcast");
	ok(s->n_routers == 1 && s->routers[0] == IP(192, 0, 2, 1), "routers");
	ok(s->n_dns_servers == 1 && s->dns_servers[0] == IP(192, 0, 2, 1), "dns_servers");
	is_str(s->domain_name, "maas", "domain_name");
	ok(s->n_domain_search == 1 && !strcmp(s->domain_search[0], "maas"), "domain_search");
	ok(s->n_ntp_servers == 1 && s->ntp_servers[0] == IP(192, 0, 2, 1), "ntp_servers");
	is_int(s->mtu, 1500, "mtu");
	is_int(s->lease_time, 600, "lease_time");
	is_int(s->min_lease_time, 300, "min_lease_time defaults to ISC's 300 s");
	is_int(s->max_lease_time, 600, "max_lease_time defaults to lease_time");
	is_int(s->pxe_lease_time, 30, "pxe_lease_time default");
	is_int(s->decline_hold_time, 86400, "decline_hold_time default");
	ok(s->ignore_client_ids, "ignore_client_ids");
	ok(s->next_server == IP(192, 0, 2, 1), "next_server");
	is_int(s->boot_http_port, 5248, "boot_http_port default");
	is_int((long long)s->n_disabled_boot_architectures, 0, "no disabled boot methods");
	is_int((long long)s->disabled_boot_mask, 0, "empty boot mask");

	is_int((long long)c->n_failovers, 1, "one failover peer");
	const rd_cfg_failover_t *f = &c->failovers[0];
	is_str(f->name, "failover-vlan-5001", "failover name");
	is_int(f->line, 27, "failover line");
	ok(f->role == RD_FO_PRIMARY, "role primary");
	ok(f->address == IP(192, 0, 2, 2), "address");
	is_int(f->port, 647, "port");
	ok(f->peer_address == IP(192, 0, 2, 3), "peer_address");
	is_int(f->peer_port, 647, "peer_port");
	is_int(f->mclt, 3600, "mclt");
	ok(f->has_split && f->has_hba, "has_split, has_hba");
	is_int(f->split, 255, "split");
	uint8_t want[32];
	memset(want, 0xff, sizeof(want));
	want[31] = 0x7f; /* bucket 255 = byte 31 bit 7: the secondary's */
	is_mem(f->hba, 32, want, 32, "split 255 bitmap");
	ok(rd_config_hba_primary(f, 0) && rd_config_hba_primary(f, 254) && !rd_config_hba_primary(f, 255),
	   "buckets 0..254 primary, 255 secondary");
	is_int(f->max_response_delay, 60, "max_response_delay");
	is_int(f->max_unacked_updates, 10, "max_unacked_updates");
	is_int(f->load_balance_max_seconds, 3, "load_balance_max_seconds");
	is_int(f->auto_partner_down, 0, "auto_partner_down");

	is_int((long long)s->n_pools, 1, "one pool");
	const rd_cfg_pool_t *p = &s->pools[0];
	ok(p->start == IP(192, 0, 2, 100) && p->end == IP(192, 0, 2, 199), "pool range");
	ok(p->failover == f, "pool failover resolved to the peer object");
	ok(p->subnet == s, "pool subnet");
	is_int(p->line, 22, "pool line");

	is_int((long long)s->n_reservations, 1, "one reservation");
	const rd_cfg_reservation_t *r = &s->reservations[0];
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
	is_int(r->htype, 1, "htype 1");
	is_mem(r->mac, 6, mac, 6, "reservation mac");
	ok(r->addr == IP(192, 0, 2, 20), "reservation address");
	is_str(r->hostname, "node1", "reservation hostname");
	ok(r->subnet == s, "reservation subnet");
	is_int(r->line, 25, "reservation line");

	const rd_cfg_region_t *g = &c->region;
	ok(g->present, "region present");
	ok(g->n_maas_url == 2 && !strcmp(g->maas_url[0], "http://region1:5240/MAAS/") &&
	   !strcmp(g->maas_url[1], "http://region2:5240/MAAS/"), "maas_url list");
	is_str(g->api_key_file, "/etc/rackdhcpd/maas.key", "api_key_file");
	is_str(g->system_id, "7xtf67", "system_id");
	is_int(g->poll_interval, 30, "poll_interval");

	/* lookups */
	ok(rd_config_subnet_for(c, IP(192, 0, 2, 77)) == s, "subnet_for inside");
	ok(rd_config_subnet_for(c, IP(192, 0, 3, 1)) == NULL, "subnet_for outside");
	ok(rd_config_pool_for(s, IP(192, 0, 2, 150)) == p, "pool_for inside");
	ok(rd_config_pool_for(s, IP(192, 0, 2, 200)) == NULL, "pool_for outside");
	ok(rd_config_reservation_by_mac(c, s, 1, mac, 6) == r, "reservation_by_mac");
	ok(rd_config_reservation_by_mac(c, s, 6, mac, 6) == NULL, "reservation_by_mac: other htype");
	ok(rd_config_reservation_by_mac(c, s, 1, mac, 5) == NULL, "reservation_by_mac: other hlen");
	static const uint8_t other[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcd };
	ok(rd_config_reservation_by_mac(c, s, 1, other, 6) == NULL, "reservation_by_mac: unknown mac");
	ok(rd_config_reservation_by_addr(c, IP(192, 0, 2, 20)) == r, "reservation_by_addr");
	ok(rd_config_reservation_by_addr(c, IP(192, 0, 2, 21)) == NULL, "reservation_by_addr: none");
	ok(rd_config_failover(c, "failover-vlan-5001") == f, "failover by name");
	ok(rd_config_failover(c, "failover-vlan-1") == NULL, "failover: unknown name");
	rd_config_free(c);
}

static void test_defaults(void)
{
	rd_config_t *c = parse_ok("", "empty file");
	if (c) {
		is_int((long long)c->n_subnets, 0, "empty: no subnets");
		is_int((long long)c->n_failovers, 0, "empty: no failover");
		ok(!c->region.present, "empty: no region");
		is_str(c->server.state_dir, RD_CFG_DEFAULT_STATE_DIR, "empty: default state_dir");
		ok(c->server.rate_limit.per_client.rate == RD_CFG_DEFAULT_RL_CLIENT_RATE &&
		   c->server.rate_limit.per_client.burst == RD_CFG_DEFAULT_RL_CLIENT_BURST &&
		   c->server.rate_limit.global.rate == RD_CFG_DEFAULT_RL_GLOBAL_RATE &&
		   c->server.rate_limit.new_clients.rate == RD_CFG_DEFAULT_RL_NEW_RATE &&
		   c->server.rate_limit.new_clients.burst == RD_CFG_DEFAULT_RL_NEW_BURST,
		   "empty: default rate limits");
		rd_config_free(c);
	}

	c = parse_ok("subnets:\n  - cidr: 10.1.0.0/16\n    pools:\n      - range: 10.1.1.1 - 10.1.1.9\n"
		     "failover:\n  - {name: b, role: secondary, address: 10.1.0.3, peer_address: 10.1.0.2}\n"
		     "server:\nregion:\n", "minimal");
	if (!c) {
		skip("minimal did not parse");
		return;
	}
	const rd_cfg_server_t *sv = &c->server;
	is_int((long long)sv->n_interfaces, 0, "default: no interfaces (all with a served address)");
	is_str(sv->state_dir, "/var/lib/rackdhcpd", "default state_dir");
	is_str(sv->control_socket, "/run/rackdhcpd/control.sock", "default control_socket");
	is_str(sv->pidfile, "/run/rackdhcpd.pid", "default pidfile");
	ok(sv->lease_events_socket == NULL, "default: no lease events");
	is_int(sv->workers, 2, "default workers");
	ok(sv->durability == RD_DURABILITY_SYNC, "default durability sync");
	ok(sv->log_level == RD_LOG_INFO, "default log_level info");
	ok(sv->user == NULL, "default user: none");
	ok(sv->metrics == NULL && sv->metrics_host == NULL && sv->metrics_port == 0, "default metrics: off");
	ok(sv->rate_limit.per_client.rate == 10 && sv->rate_limit.per_client.burst == 20,
	   "default rate_limit.per_client 10/s burst 20");
	ok(sv->rate_limit.global.rate == 0 && sv->rate_limit.global.burst == 0, "default rate_limit.global: unlimited");
	ok(sv->rate_limit.new_clients.rate == 1000 && sv->rate_limit.new_clients.burst == 2000,
	   "default rate_limit.new_clients 1000/s burst 2000");
	ok(!c->region.present, "null region: absent");
	is_int(c->region.poll_interval, 30, "default poll_interval");

	const rd_cfg_subnet_t *s = &c->subnets[0];
	ok(s->n_routers == 0 && s->n_dns_servers == 0 && s->n_ntp_servers == 0, "default: no option lists");
	ok(s->domain_name == NULL && s->n_domain_search == 0, "default: no domain");
	is_int(s->mtu, 0, "default mtu: not sent");
	is_int(s->lease_time, 600, "default lease_time 600");
	is_int(s->min_lease_time, 300, "default min_lease_time: ISC's 300 s");
	is_int(s->max_lease_time, 600, "default max_lease_time");
	is_int(s->pxe_lease_time, 30, "default pxe_lease_time 30");
	is_int(s->decline_hold_time, 86400, "default decline_hold_time 86400");
	ok(s->ignore_client_ids, "default ignore_client_ids true");
	is_int(s->next_server, 0, "default next_server: our address (0)");
	is_int(s->boot_http_port, 5248, "default boot_http_port");
	ok(s->n_pools == 1 && s->pools[0].start == IP(10, 1, 1, 1) && s->pools[0].end == IP(10, 1, 1, 9),
	   "range with spaces around '-'");
	ok(s->pools[0].failover == NULL, "pool without failover_peer");

	const rd_cfg_failover_t *f = &c->failovers[0];
	ok(f->role == RD_FO_SECONDARY, "secondary");
	ok(!f->has_split && !f->has_hba, "secondary without split/hba");
	is_int(f->port, 647, "default port 647");
	is_int(f->peer_port, 647, "default peer_port 647");
	is_int(f->mclt, 3600, "default mclt");
	is_int(f->max_response_delay, 60, "default max_response_delay");
	is_int(f->max_unacked_updates, 10, "default max_unacked_updates");
	is_int(f->load_balance_max_seconds, 3, "default load_balance_max_seconds");
	is_int(f->auto_partner_down, 0, "default auto_partner_down");
	ok(f->min_balance == 60 && f->max_balance == 3600 && f->max_lease_misbalance == 15 &&
	   f->max_lease_ownership == 10, "default pool balancing: ISC's 60 s, 3600 s, 15 %%, 10 %%");
	rd_config_free(c);

	/* pool balancing keys */
	c = parse_ok("failover:\n  - name: b\n    role: primary\n    address: 10.0.0.1\n    peer_address: 10.0.0.2\n"
		     "    split: 128\n    min_balance: 5\n    max_balance: 90\n    max_lease_misbalance: 0\n"
		     "    max_lease_ownership: 100\n",
		     "pool balancing keys");
	ok(c && c->failovers[0].min_balance == 5 && c->failovers[0].max_balance == 90 &&
	   c->failovers[0].max_lease_misbalance == 0 && c->failovers[0].max_lease_ownership == 100,
	   "min_balance, max_balance, max_lease_misbalance, max_lease_ownership are read");
	rd_config_free(c);

	/* other value forms */
	c = parse_ok("failover:\n  - name: h\n    role: primary\n    address: 10.0.0.1\n    peer_address: 10.0.0.2\n"
		     "    hba: 0f00000000000000000000000000000000000000000000000000000000000080\n"
		     "  - name: i\n    role: primary\n    address: 10.0.0.1\n    peer_address: 10.0.0.3\n"
		     "    split: 0\n"
		     "  - name: j\n    role: primary\n    address: 10.0.0.1\n    peer_address: 10.0.0.4\n"
		     "    split: 256\n"
		     "  - name: k\n    role: primary\n    address: 10.0.0.1\n    peer_address: 10.0.0.5\n"
		     "    hba: \"ff:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:01\"\n"
		     "subnets:\n  - cidr: 10.0.0.0/24\n    lease_time: 3600\n    min_lease_time: 60\n"
		     "    max_lease_time: 86400\n    ignore_client_ids: false\n    mtu: 9000\n"
		     "    disabled_boot_architectures: [pxe, windows, uefi_ebc_tftp]\n"
		     "server:\n  durability: relaxed\n  log_level: debug\n  metrics: \"[::1]:9100\"\n"
		     "  interfaces: [eth0, br-vlan5001]\n"
		     "region:\n  maas_url: https://maas.example:5443/MAAS/\n  api_key_file: /k\n  system_id: abc\n",
		     "hba, split 0/256, other values");
	if (!c) {
		skip("other values did not parse");
		return;
	}
	const rd_cfg_failover_t *h = rd_config_failover(c, "h");
	ok(h && h->has_hba && !h->has_split && h->hba[0] == 0x0f && h->hba[31] == 0x80, "hba bytes in order");
	ok(h && rd_config_hba_primary(h, 0) && rd_config_hba_primary(h, 3) && !rd_config_hba_primary(h, 4) &&
	   rd_config_hba_primary(h, 255), "hba buckets LSB first");
	uint8_t zero[32] = { 0 }, ones[32];
	memset(ones, 0xff, sizeof(ones));
	const rd_cfg_failover_t *fi = rd_config_failover(c, "i"), *fj = rd_config_failover(c, "j");
	ok(fi && is_mem(fi->hba, 32, zero, 32, "split 0: all secondary"), "split 0");
	ok(fj && is_mem(fj->hba, 32, ones, 32, "split 256: all primary"), "split 256");
	const rd_cfg_failover_t *fk = rd_config_failover(c, "k");
	ok(fk && fk->hba[0] == 0xff && fk->hba[31] == 0x01 && fk->hba[1] == 0, "hba in ISC colon form");
	s = &c->subnets[0];
	ok(s->lease_time == 3600 && s->min_lease_time == 60 && s->max_lease_time == 86400, "lease time bounds");
	ok(!s->ignore_client_ids, "ignore_client_ids false");
	is_int(s->mtu, 9000, "mtu 9000");
	is_int((long long)s->disabled_boot_mask,
	       RD_BOOT_BIT(RD_BOOT_PXE) | RD_BOOT_BIT(RD_BOOT_WINDOWS) | RD_BOOT_BIT(RD_BOOT_UEFI_EBC_TFTP), "boot mask");
	ok(c->server.durability == RD_DURABILITY_RELAXED, "durability relaxed");
	ok(c->server.log_level == RD_LOG_DEBUG, "log_level debug");
	is_str(c->server.metrics_host, "::1", "metrics IPv6 host");
	is_int(c->server.metrics_port, 9100, "metrics IPv6 port");
	ok(c->server.n_interfaces == 2 && !strcmp(c->server.interfaces[1], "br-vlan5001"), "two interfaces");
	ok(c->region.present && c->region.n_maas_url == 1 &&
	   !strcmp(c->region.maas_url[0], "https://maas.example:5443/MAAS/"), "single maas_url as a scalar");
	is_int(c->region.poll_interval, 30, "poll_interval default");
	rd_config_free(c);
}

struct bad_case {
	const char *yaml;
	const char *where;      /* "LINE:COL" */
	const char *field;
	const char *reason;     /* substring of the reason */
};

#define SUB "subnets:\n  - cidr: 192.0.2.0/24\n"
#define RL "server:\n  rate_limit:\n"
#define FO_HEAD "failover:\n  - name: a\n    role: primary\n    address: 10.0.0.1\n    peer_address: 10.0.0.2\n"

static const struct bad_case bad_cases[] = {
	/* cidr */
	{ "subnets:\n  - cidr: 192.0.2.0\n", "2:11", "subnets[0].cidr", "is not an IPv4 network" },
	{ "subnets:\n  - cidr: 192.0.2.300/24\n", "2:11", "subnets[0].cidr", "is not an IPv4 network" },
	{ "subnets:\n  - cidr: 192.0.2.0/33\n", "2:11", "subnets[0].cidr", "needs 1..30" },
	{ "subnets:\n  - cidr: 192.0.2.1/24\n", "2:11", "subnets[0].cidr", "host bits set; did you mean 192.0.2.0/24?" },
	{ "subnets:\n  - cidr: 10.0.0.0/16\n  - cidr: 10.0.5.0/24\n", "3:11", "subnets[1].cidr",
	  "overlaps subnets[0] (10.0.0.0/16, line 2)" },
	{ "subnets:\n  - cidr: 10.0.5.0/24\n  - cidr: 10.0.0.0/8\n", "3:11", "subnets[1].cidr", "overlaps subnets[0]" },
	{ "subnets:\n  - routers: [192.0.2.1]\n", "2:5", "subnets[0].cidr", "required key missing" },
	/* pools */
	{ SUB "    pools:\n      - range: 192.0.2.200-192.0.2.100\n", "4:16", "subnets[0].pools[0].range",
	  "start 192.0.2.200 is after end 192.0.2.100" },
	{ "subnets:\n  - cidr: 192.0.2.0/25\n    pools:\n      - range: 192.0.2.10-192.0.2.20\n"
	  "      - range: 192.0.2.100-192.0.2.250\n", "5:16", "subnets[0].pools[1].range",
	  "192.0.2.250 is outside subnet 192.0.2.0/25" },
	{ SUB "    pools:\n      - range: 192.0.2.0-192.0.2.10\n", "4:16", "subnets[0].pools[0].range",
	  "192.0.2.0 is the network address of 192.0.2.0/24" },
	{ SUB "    pools:\n      - range: 192.0.2.200-192.0.2.255\n", "4:16", "subnets[0].pools[0].range",
	  "192.0.2.255 is the broadcast address of 192.0.2.0/24" },
	{ SUB "    pools:\n      - range: 192.0.2.100-192.0.2.150\n      - range: 192.0.2.150-192.0.2.160\n", "5:16",
	  "subnets[0].pools[1].range", "overlaps pool 0 (192.0.2.100-192.0.2.150, line 4)" },
	/* pools overlapping across subnets can only come from overlapping subnets */
	{ "subnets:\n  - cidr: 10.0.0.0/16\n    pools:\n      - range: 10.0.5.10-10.0.5.20\n"
	  "  - cidr: 10.0.5.0/24\n    pools:\n      - range: 10.0.5.15-10.0.5.30\n", "5:11", "subnets[1].cidr",
	  "overlaps subnets[0]" },
	{ SUB "    pools:\n      - range: 192.0.2.10\n", "4:16", "subnets[0].pools[0].range", "is not an address range" },
	{ SUB "    pools:\n      - failover_peer: a\n", "4:9", "subnets[0].pools[0].range", "required key missing" },
	{ FO_HEAD "    split: 255\n" SUB "    pools:\n      - range: 192.0.2.10-192.0.2.20\n        failover_peer: b\n",
	  "11:24", "subnets[0].pools[0].failover_peer", "unknown failover peer 'b'" },
	{ SUB "    pools:\n      - range: 192.0.2.10-192.0.2.20\n        failover_peer: b\n",
	  "5:24", "subnets[0].pools[0].failover_peer", "defines none" },
	/* failover */
	{ FO_HEAD "    split: 255\n  - name: a\n    role: secondary\n    address: 10.0.0.1\n    peer_address: 10.0.0.3\n",
	  "7:11", "failover[1].name", "'a' is already the name of failover[0] (line 2)" },
	{ FO_HEAD "    split: 255\n    hba: 0000000000000000000000000000000000000000000000000000000000000000\n",
	  "7:10", "failover[0].hba", "either split or hba, not both" },
	{ FO_HEAD, "2:5", "failover[0].split", "a primary needs split (0..256) or hba" },
	{ FO_HEAD "    split: 257\n", "6:12", "failover[0].split", "257 is out of range (0..256)" },
	{ FO_HEAD "    split: -1\n", "6:12", "failover[0].split", "is not a whole number" },
	{ FO_HEAD "    hba: 00ff\n", "6:10", "failover[0].hba", "64 hex digits" },
	{ FO_HEAD "    hba: 000000000000000000000000000000000000000000000000000000000000000g\n", "6:10",
	  "failover[0].hba", "64 hex digits" },
	{ FO_HEAD "    split: 1\n    mclt: 0\n", "7:11", "failover[0].mclt", "0 is out of range (1..4294967295)" },
	{ FO_HEAD "    split: 1\n    port: 0\n", "7:11", "failover[0].port", "0 is out of range (1..65535)" },
	{ FO_HEAD "    split: 1\n    min_balance: 0\n", "7:18", "failover[0].min_balance",
	  "0 is out of range (1..604800)" },
	{ FO_HEAD "    split: 1\n    max_balance: 604801\n", "7:18", "failover[0].max_balance",
	  "604801 is out of range (1..604800)" },
	{ FO_HEAD "    split: 1\n    max_lease_misbalance: 101\n", "7:27", "failover[0].max_lease_misbalance",
	  "101 is out of range (0..100)" },
	{ FO_HEAD "    split: 1\n    max_lease_ownership: 101\n", "7:26", "failover[0].max_lease_ownership",
	  "101 is out of range (0..100)" },
	{ FO_HEAD "    split: 1\n    peer_port: 65536\n", "7:16", "failover[0].peer_port", "65536 is out of range" },
	{ "failover:\n  - name: a\n    role: tertiary\n    address: 10.0.0.1\n    peer_address: 10.0.0.2\n", "3:11", "failover[0].role",
	  "'tertiary' is not one of primary | secondary" },
	{ "failover:\n  - name: a\n    address: 10.0.0.1\n", "2:5", "failover[0].role", "required key missing" },
	{ "failover:\n  - {name: a, role: primary, address: 10.0.0.1, split: 1}\n", "2:5", "failover[0].peer_address",
	  "required key missing" },
	{ "failover:\n  - {name: a, role: primary, address: 10.0.0.1, peer_address: 10.0.0.1, split: 1}\n", "2:63",
	  "failover[0].peer_address", "is our own address" },
	{ "failover:\n  - {name: a, role: primary, address: 10.0.0.01, peer_address: 10.0.0.2, split: 1}\n", "2:39",
	  "failover[0].address", "is not an IPv4 address" },
	{ FO_HEAD "    split: 1\n    max_unacked_updates: 0\n", "7:26", "failover[0].max_unacked_updates", "out of range" },
	/* reservations */
	{ SUB "    reservations:\n      - {mac: \"52:54:00:aa:bb:cc\", address: 192.0.3.20}\n", "4:45",
	  "subnets[0].reservations[0].address", "192.0.3.20 is outside subnet 192.0.2.0/24" },
	{ SUB "    reservations:\n      - {mac: \"52:54:00:aa:bb:cc\", address: 192.0.2.20}\n"
	  "      - {mac: \"52:54:00:aa:bb:cd\", address: 192.0.2.21}\n"
	  "      - {mac: \"52:54:00:AA:BB:CC\", address: 192.0.2.22}\n", "6:15", "subnets[0].reservations[2].mac",
	  "is already reserved by reservations[0] (line 4)" },
	{ SUB "    reservations:\n      - {mac: \"52:54:00:aa:bb:cc\", address: 192.0.2.20}\n"
	  "      - {mac: \"52:54:00:aa:bb:cd\", address: 192.0.2.20}\n", "5:45", "subnets[0].reservations[1].address",
	  "192.0.2.20 is already reserved by reservations[0] (line 4)" },
	{ SUB "    pools:\n      - range: 192.0.2.100-192.0.2.199\n"
	  "    reservations:\n      - {mac: \"52:54:00:aa:bb:cc\", address: 192.0.2.150}\n", "6:45",
	  "subnets[0].reservations[0].address", "192.0.2.150 is inside dynamic pool 0 (line 4)" },
	{ SUB "    reservations:\n      - {mac: \"52:54:00:aa:bb\", address: 192.0.2.20}\n", "4:15",
	  "subnets[0].reservations[0].mac", "is not a MAC address" },
	{ SUB "    reservations:\n      - {mac: \"52:54:00:aa:bb:cc\"}\n", "4:9", "subnets[0].reservations[0].address",
	  "required key missing" },
	{ SUB "    reservations:\n      - {mac: \"52:54:00:aa:bb:cc\", address: 192.0.2.255}\n", "4:45",
	  "subnets[0].reservations[0].address", "broadcast address" },
	/* subnet values */
	{ SUB "    lease_time: 0\n", "3:17", "subnets[0].lease_time", "0 is out of range" },
	{ SUB "    mtu: 67\n", "3:10", "subnets[0].mtu", "67 is out of range (68..65535)" },
	{ SUB "    routers: [192.0.3.1]\n", "3:15", "subnets[0].routers[0]", "192.0.3.1 is outside subnet" },
	{ SUB "    dns_servers: 192.0.2.1\n", "3:18", "subnets[0].dns_servers", "expected a list" },
	{ SUB "    min_lease_time: 700\n", "3:21", "subnets[0].min_lease_time", "min_lease_time 700 is above lease_time 600" },
	{ SUB "    lease_time: 700\n    max_lease_time: 650\n", "4:21", "subnets[0].max_lease_time",
	  "max_lease_time 650 is below lease_time 700" },
	{ SUB "    disabled_boot_architectures: [pxe, uefi_amd64]\n", "3:40",
	  "subnets[0].disabled_boot_architectures[1]", "'uefi_amd64' is not a boot method" },
	{ SUB "    domain_search: [\"bad domain\"]\n", "3:21", "subnets[0].domain_search[0]", "is not a domain name" },
	{ SUB "    ignore_client_ids: maybe\n", "3:24", "subnets[0].ignore_client_ids", "is not true or false" },
	{ SUB "    boot_http_port: 0\n", "3:21", "subnets[0].boot_http_port", "out of range" },
	{ SUB "    decline_hold_time: 0\n", "3:24", "subnets[0].decline_hold_time", "out of range" },
	/* server.rate_limit */
	{ RL "    per_client: {rate: 10000001}\n", "3:24", "server.rate_limit.per_client.rate",
	  "10000001 is out of range (0..10000000)" },
	{ RL "    per_client: {rate: -1}\n", "3:24", "server.rate_limit.per_client.rate",
	  "'-1' is not a whole number (0..10000000)" },
	{ RL "    global: {rate: 1.5}\n", "3:20", "server.rate_limit.global.rate", "'1.5' is not a whole number" },
	{ RL "    per_client:\n      rate: 5\n      burst: 0\n", "5:14", "server.rate_limit.per_client.burst",
	  "must be at least 1 while rate is 5 (rate 0 turns the limit off)" },
	{ RL "    per_client: {burst: 0}\n", "3:25", "server.rate_limit.per_client.burst",
	  "must be at least 1 while rate is 10, the default" },
	{ RL "    global: {burst: 100}\n", "3:21", "server.rate_limit.global.burst",
	  "has no effect without a rate (global is unlimited by default)" },
	{ RL "    new_clients: {rate: 1, burst: 4294967296}\n", "3:35", "server.rate_limit.new_clients.burst",
	  "4294967296 is out of range (0..4294967295)" },
	{ RL "    per_client: {rate: 5, brust: 9}\n", "3:27", "server.rate_limit.per_client.brust",
	  "unknown key (did you mean 'burst'?); valid keys: rate, burst" },
	{ RL "    per_clients: {rate: 5}\n", "3:5", "server.rate_limit.per_clients",
	  "unknown key (did you mean 'per_client'?); valid keys: per_client, global, new_clients" },
	{ "server:\n  rate_limit: 10\n", "2:15", "server.rate_limit", "expected a mapping of keys, found a scalar" },
	{ RL "    new_clients: [10, 20]\n", "3:18", "server.rate_limit.new_clients",
	  "expected a mapping of keys, found a list" },
	{ RL "    global: {rate: 1, rate: 2}\n", "3:23", "server.rate_limit.global.rate", "key given twice" },
	{ RL "    per_client: {rate: 5}\n    per_client: {rate: 6}\n", "4:5", "server.rate_limit.per_client",
	  "key given twice" },
	/* server */
	{ "server:\n  durability: fast\n", "2:15", "server.durability", "'fast' is not one of sync | relaxed" },
	{ "server:\n  workers: 0\n", "2:12", "server.workers", "0 is out of range (1..256)" },
	{ "server:\n  workers: 257\n", "2:12", "server.workers", "257 is out of range (1..256)" },
	{ "server:\n  interfaces: [eth0, enp0s31f6.5001abcd]\n", "2:22", "server.interfaces[1]",
	  "too long for an interface name" },
	{ "server:\n  interfaces: [eth0, eth0]\n", "2:22", "server.interfaces[1]", "listed twice" },
	{ "server:\n  metrics: 9467\n", "2:12", "server.metrics", "is not host:port" },
	{ "server:\n  metrics: \"localhost:\"\n", "2:12", "server.metrics", "is not host:port" },
	{ "server:\n  metrics: localhost:99999\n", "2:12", "server.metrics", "port 99999 is out of range" },
	{ "server:\n  log_level: verbose\n", "2:14", "server.log_level", "is not one of error | warning | info | debug" },
	{ "server:\n  state_dir: var/lib\n", "2:14", "server.state_dir", "must be an absolute path" },
	{ "server:\n  control_socket: /run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n", "2:19", "server.control_socket",
	  "too long" },
	{ "server:\n  lease_events_socket: dhcpd.sock\n", "2:24", "server.lease_events_socket",
	  "must be an absolute path" },
	{ "server:\n  lease_events_socket: /var/lib/maas/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n", "2:24", "server.lease_events_socket", "too long" },
	/* region */
	{ "region:\n  maas_url: [ftp://region/MAAS/]\n  api_key_file: /k\n  system_id: x\n", "2:14", "region.maas_url[0]",
	  "is not an http:// or https:// URL" },
	{ "region:\n  maas_url: [http://r/MAAS/]\n  api_key_file: /k\n  system_id: x\n  poll_interval: 0\n", "5:18",
	  "region.poll_interval", "0 is out of range" },
	{ "region:\n  maas_url: [http://r/MAAS/]\n  system_id: x\n", "2:3", "region.api_key_file", "required key missing" },
	/* keys and structure */
	{ SUB "    leas_time: 600\n", "3:5", "subnets[0].leas_time", "unknown key (did you mean 'lease_time'?); valid keys: cidr" },
	{ "sever:\n  workers: 2\n", "1:1", "sever", "unknown key (did you mean 'server'?); valid keys: server, subnets" },
	{ "server:\n  bogus_thing: 1\n", "2:3", "server.bogus_thing", "unknown key; valid keys: interfaces" },
	{ "server:\n  workers: 2\n  workers: 3\n", "3:3", "server.workers", "key given twice" },
	{ "subnets:\n  cidr: 192.0.2.0/24\n", "2:3", "subnets", "expected a list" },
	{ "- 1\n- 2\n", "1:1", "top level", "expected a mapping" },
	{ "server:\n  workers: &w 2\nsubnets:\n  - cidr: 192.0.2.0/24\n    lease_time: *w\n", "5:5", "yaml",
	  "anchors and aliases" },
	{ "server:\n  workers: 2\n---\nserver:\n  workers: 3\n", "4:1", "syntax", "second YAML document" },
};

static void test_lease_events(void)
{
	rd_config_t *c = parse_ok("server:\n  lease_events_socket: /var/lib/maas/dhcpd.sock\n", "lease events");
	if (!c) {
		skip("lease events did not parse");
		return;
	}
	is_str(c->server.lease_events_socket, "/var/lib/maas/dhcpd.sock", "lease_events_socket as written");
	rd_config_free(c);
}

static void test_rate_limit(void)
{
	rd_config_t *c = parse_ok("server:\n"
				  "  workers: 4\n"
				  "  rate_limit:\n"
				  "    per_client: {rate: 10, burst: 20}\n"
				  "    global: {rate: 0, burst: 0}\n"
				  "    new_clients: {rate: 1000, burst: 2000}\n", "rate_limit as documented");
	if (c) {
		const rd_ratelimit_cfg_t *rl = &c->server.rate_limit;
		ok(rl->per_client.rate == 10 && rl->per_client.burst == 20, "per_client 10/20");
		ok(rl->global.rate == 0 && rl->global.burst == 0, "global 0/0");
		ok(rl->new_clients.rate == 1000 && rl->new_clients.burst == 2000, "new_clients 1000/2000");
		is_int(c->server.workers, 4, "the other server keys still read");
		rd_config_free(c);
	}

	c = parse_ok("server:\n"
		     "  rate_limit:\n"
		     "    per_client:\n"
		     "      rate: 3\n"
		     "    global:\n"
		     "      rate: \"10000000\"\n"
		     "    new_clients: {burst: 50}\n", "rates without bursts, a burst without rate");
	if (c) {
		const rd_ratelimit_cfg_t *rl = &c->server.rate_limit;
		ok(rl->per_client.rate == 3 && rl->per_client.burst == 6, "rate alone: burst 2 * rate");
		ok(rl->global.rate == 10000000 && rl->global.burst == 20000000, "largest rate, its burst");
		ok(rl->new_clients.rate == 1000 && rl->new_clients.burst == 50, "burst alone: the default rate");
		rd_config_free(c);
	}

	c = parse_ok("server:\n"
		     "  rate_limit:\n"
		     "    per_client: {rate: 0}\n"
		     "    global: {rate: 500, burst: 1}\n"
		     "    new_clients:\n", "limits switched off and on");
	if (c) {
		const rd_ratelimit_cfg_t *rl = &c->server.rate_limit;
		ok(rl->per_client.rate == 0 && rl->per_client.burst == 0, "rate 0: off");
		ok(rl->global.rate == 500 && rl->global.burst == 1, "burst 1 accepted");
		ok(rl->new_clients.rate == 1000 && rl->new_clients.burst == 2000, "empty value: the default");
		rd_config_free(c);
	}

	c = parse_ok("server:\n  rate_limit:\n  user: x\n", "empty rate_limit");
	if (c) {
		const rd_ratelimit_cfg_t *rl = &c->server.rate_limit;
		ok(rl->per_client.rate == 10 && rl->per_client.burst == 20 && rl->global.rate == 0 &&
		   rl->new_clients.rate == 1000 && rl->new_clients.burst == 2000, "empty rate_limit: every default");
		rd_config_free(c);
	}

	/* what the parser produces is what the limiter takes */
	c = parse_ok("server:\n  rate_limit:\n    per_client: {rate: 1, burst: 2}\n", "limiter input");
	if (c) {
		rd_ratelimit_t *r = rd_ratelimit_new(&c->server.rate_limit, 64);
		const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
		ok(r && rd_ratelimit_check(r, mac, 6, 5000) == RD_RL_PASS && rd_ratelimit_check(r, mac, 6, 5000) == RD_RL_PASS &&
		   rd_ratelimit_check(r, mac, 6, 5000) == RD_RL_CLIENT, "the parsed limits drive rd_ratelimit");
		rd_ratelimit_free(r);
		rd_config_free(c);
	}
}

static void test_errors(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *b = &bad_cases[i];
		char err[512], want[128];
		rd_config_t *c = (rd_config_t *)&err; /* must be reset to NULL */
		int rc = rd_config_parse(b->yaml, strlen(b->yaml), "/etc/rackdhcpd.yaml", &c, err, sizeof(err));
		snprintf(want, sizeof(want), "/etc/rackdhcpd.yaml:%s: %s: ", b->where, b->field);
		bool good = rc == RD_EMALFORMED && c == NULL && !strncmp(err, want, strlen(want)) &&
			    strstr(err + strlen(want), b->reason) && !strchr(err, '\n');
		if (!ok(good, "case %zu: %s ... %s", i, want, b->reason))
			diag("rc=%d got: %s", rc, err);
		if (rc == 0)
			rd_config_free(c);
	}
}

static void test_syntax(void)
{
	static const char *const bad[] = {
		"server:\n  workers: 2\n   user: x\n",
		"subnets:\n  - cidr: 192.0.2.0/24\n    routers: [192.0.2.1\n",
		"server:\n\tworkers: 2\n",
	};
	static const unsigned line[] = { 3, 4, 2 };
	for (size_t i = 0; i < 3; i++) {
		char err[512], want[64];
		rd_config_t *c = NULL;
		int rc = rd_config_parse(bad[i], strlen(bad[i]), "s.yaml", &c, err, sizeof(err));
		snprintf(want, sizeof(want), "s.yaml:%u:", line[i]);
		if (!ok(rc == RD_EMALFORMED && !strncmp(err, want, strlen(want)) && strstr(err, ": syntax: "),
			"syntax error %zu reported at line %u", i, line[i]))
			diag("rc=%d got: %s", rc, err);
		rd_config_free(c);
	}

	/* NUL in the input, invalid UTF-8: refused, not crashed */
	static const char nul[] = "server:\n  user: a\0b\n";
	char err[256];
	rd_config_t *c = NULL;
	ok(rd_config_parse(nul, sizeof(nul) - 1, NULL, &c, err, sizeof(err)) == RD_EMALFORMED && !c &&
	   !strncmp(err, "<config>:", 9), "NUL byte refused, default file name");
	ok(rd_config_parse("a: \xff\xfe\n", 7, "u.yaml", &c, err, sizeof(err)) == RD_EMALFORMED, "invalid UTF-8 refused");
	ok(rd_config_parse("x", 1, "t", &c, NULL, 0) == RD_EMALFORMED, "no error buffer is fine");
	ok(rd_config_parse("x", 1, "t", NULL, err, sizeof(err)) == RD_EINVAL, "NULL out refused");
	rd_config_free(NULL);
	ok(true, "rd_config_free(NULL)");

	ok(rd_config_load("/nonexistent/rackdhcpd.yaml", &c, err, sizeof(err)) == -ENOENT && !c &&
	   strstr(err, "/nonexistent/rackdhcpd.yaml: cannot open"), "load: missing file");
}

/* Many reservations: the sorted indexes find every one. */
static void test_many_reservations(void)
{
	size_t cap = 64 * 1024, len = 0;
	char *y = malloc(cap);
	if (!y)
		bail_out("out of memory");
	len += (size_t)snprintf(y + len, cap - len, "subnets:\n  - cidr: 10.20.0.0/16\n    reservations:\n");
	for (unsigned i = 0; i < 1000; i++)
		len += (size_t)snprintf(y + len, cap - len,
					"      - {mac: \"02:00:00:00:%02x:%02x\", address: 10.20.%u.%u}\n",
					(i * 7919u) >> 8 & 0xff, (i * 7919u) & 0xff, 1 + i / 200, 1 + i % 200);
	rd_config_t *c = parse_ok(y, "1000 reservations");
	free(y);
	if (!c)
		return;
	const rd_cfg_subnet_t *s = &c->subnets[0];
	unsigned found = 0, right = 0;
	for (unsigned i = 0; i < 1000; i++) {
		uint8_t mac[6] = { 2, 0, 0, 0, (uint8_t)((i * 7919u) >> 8), (uint8_t)(i * 7919u) };
		const rd_cfg_reservation_t *r = rd_config_reservation_by_mac(c, s, 1, mac, 6);
		if (r)
			found++;
		if (r && r->addr == IP(10, 20, 1 + i / 200, 1 + i % 200) &&
		    rd_config_reservation_by_addr(c, r->addr) == r)
			right++;
	}
	is_int(found, 1000, "every reservation found by MAC");
	is_int(right, 1000, "each with its address, found back by address");
	rd_config_free(c);
}

static void test_contrib(void)
{
	const char *top = getenv("top_srcdir");
	if (!top || !*top) {
		skip("top_srcdir unset: contrib/rackdhcpd.yaml not checked");
		return;
	}
	char path[4096], err[512];
	snprintf(path, sizeof(path), "%s/contrib/rackdhcpd.yaml", top);
	rd_config_t *c = NULL;
	int rc = rd_config_load(path, &c, err, sizeof(err));
	if (!ok(rc == 0, "contrib/rackdhcpd.yaml loads"))
		diag("%s", err);
	if (c) {
		ok(c->n_subnets == 1 && c->n_failovers == 1 && c->region.present &&
		   c->subnets[0].pools[0].failover == &c->failovers[0], "contrib example: subnet, peer, region");
		const rd_ratelimit_cfg_t *rl = &c->server.rate_limit;
		ok(rl->per_client.rate == 10 && rl->per_client.burst == 20 && rl->global.rate == 0 &&
		   rl->new_clients.rate == 1000 && rl->new_clients.burst == 2000,
		   "contrib example: rate_limit shows the defaults");
		ok(strstr(c->filename, "contrib/rackdhcpd.yaml") != NULL, "filename is the path");
	}
	rd_config_free(c);
}

/* ---------------------------------------------------------------- RCU */

static volatile int reader_stop;

struct reader_result {
	unsigned long reads, seen;
	bool monotonic, coherent;
};

static void *reader(void *arg)
{
	struct reader_result *res = arg;
	uint64_t last = 0;

	rcu_register_thread();
	res->monotonic = res->coherent = true;
	while (!__atomic_load_n(&reader_stop, __ATOMIC_ACQUIRE)) {
		rcu_read_lock();
		const rd_config_t *c = rd_config_current();
		if (c) {
			uint64_t g = c->generation;
			if (g < last)
				res->monotonic = false;
			if (g != last)
				res->seen++;
			last = g;
			/* touch the snapshot: ASan catches a premature free */
			if (c->n_subnets != 1 || c->subnets[0].lease_time != 100 + g % 1000 ||
			    strcmp(c->server.state_dir, "/var/lib/rackdhcpd"))
				res->coherent = false;
		}
		rcu_read_unlock();
		res->reads++;
	}
	rcu_unregister_thread();
	return NULL;
}

static void test_rcu(void)
{
	struct reader_result res[2];
	pthread_t th[2];
	const unsigned n = 300;
	bool all_ok = true;

	memset(res, 0, sizeof(res));
	rcu_register_thread();
	ok(rd_config_generation() == 0, "nothing published yet");
	rcu_read_lock();
	ok(rd_config_current() == NULL, "current is NULL before publish");
	rcu_read_unlock();
	for (int i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, reader, &res[i]) != 0)
			bail_out("pthread_create failed");
	for (unsigned g = 1; g <= n; g++) {
		char y[128], err[256];
		rd_config_t *c = NULL;
		/* the lease time encodes the generation this snapshot will get */
		snprintf(y, sizeof(y), "subnets:\n  - cidr: 192.0.2.0/24\n    lease_time: %u\n", 100 + g % 1000);
		if (rd_config_parse(y, strlen(y), "rcu.yaml", &c, err, sizeof(err)) != 0) {
			all_ok = false;
			break;
		}
		rd_config_publish(c);
		if (c->generation != g)
			all_ok = false;
	}
	ok(all_ok, "%u configurations parsed and published, generations 1..%u", n, n);
	is_int((long long)rd_config_generation(), n, "generation counter");
	rcu_read_lock();
	rd_config_t *cur = rd_config_current();
	ok(cur && cur->generation == n, "current is the last published");
	rcu_read_unlock();
	__atomic_store_n(&reader_stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		ok(res[i].monotonic, "reader %d: generations never go back", i);
		ok(res[i].coherent, "reader %d: every snapshot seen whole", i);
		diag("reader %d: %lu reads, %lu generations seen", i, res[i].reads, res[i].seen);
	}
	rd_config_publish(NULL);
	rcu_read_lock();
	ok(rd_config_current() == NULL, "unpublished at the end");
	rcu_read_unlock();
	rcu_unregister_thread();
}

int main(void)
{
	plan_lazy();
	test_full();
	test_defaults();
	test_lease_events();
	test_rate_limit();
	test_errors();
	test_syntax();
	test_many_reservations();
	test_contrib();
	test_rcu();
	ok(strcmp(rd_boot_method_name(RD_BOOT_OFW_PPC64EL), "open-firmware_ppc64el") == 0 &&
	   rd_boot_method_from_name("s390x_partition") == RD_BOOT_S390X_PARTITION &&
	   rd_boot_method_from_name("bios") < 0, "boot method names are the ones config accepts");
	ok(!strcmp(rd_config_durability_name(RD_DURABILITY_RELAXED), "relaxed") &&
	   !strcmp(rd_config_log_level_name(RD_LOG_WARNING), "warning") &&
	   !strcmp(rd_config_role_name(RD_FO_SECONDARY), "secondary"), "enum names");
	return done_testing();
}
