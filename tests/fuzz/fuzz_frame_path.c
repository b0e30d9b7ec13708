/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_frame_path — libFuzzer target for the daemon's whole packet path,
 * rd_worker_handle(): what a worker does with a frame from its raw socket
 * and with a datagram from its UDP socket, up to the engine's decision, the
 * lease published in the table and the reply built (nothing is sent: the
 * worker has no sockets).  Each input runs three ways: as an Ethernet frame
 * from a served link, as the UDP payload of that frame arriving unicast
 * (relayed or renewing), and as a raw UDP payload as-is.  The lease table
 * persists across inputs, as in a live server, so sequences of inputs reach
 * renewals, releases and a full pool; the clock advances one second per
 * input so leases expire too.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rackdhcp/config.h"
#include "rackdhcp/daemon.h"
#include "rackdhcp/frame.h"
#include "rackdhcp/log.h"
#include "rackdhcp/ratelimit.h"
#include "rackdhcp/worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char yaml[] =
	"server: {workers: 1, log_level: error}\n"
	"subnets:\n"
	"  - cidr: 192.0.2.0/24\n"
	"    routers: [192.0.2.1]\n"
	"    dns_servers: [192.0.2.1]\n"
	"    domain_name: maas\n"
	"    lease_time: 60\n"
	"    pools: [{range: 192.0.2.100-192.0.2.115}]\n"
	"    reservations: [{mac: '52:54:00:aa:bb:cc', address: 192.0.2.20, hostname: node1}]\n"
	"  - cidr: 198.51.100.0/24\n"
	"    pools: [{range: 198.51.100.10-198.51.100.20}]\n";

static rd_daemon_t D;
static rd_worker_t *W;
static uint32_t now = 1700000000;

static void setup(void)
{
	rd_config_t *cfg = NULL;
	char err[256];
	rcu_register_thread();
	rd_log_init("fuzz", LOG_ERR);
	if (rd_config_parse(yaml, sizeof(yaml) - 1, "fuzz.yaml", &cfg, err, sizeof(err)) < 0)
		abort();
	D.n_workers = 1;
	D.counters = calloc(2, sizeof(*D.counters));
	D.table = rd_table_new(64);
	rd_ratelimit_cfg_t rl = { .per_client = { 1000, 1000 } };
	D.ratelimit = rd_ratelimit_new(&rl, 64);
	if (!D.counters || !D.table || !D.ratelimit)
		abort();
	for (size_t i = 0; i < cfg->n_subnets; i++)
		for (size_t p = 0; p < cfg->subnets[i].n_pools; p++)
			if (rd_table_add_pool(D.table, cfg->subnets[i].pools[p].start, cfg->subnets[i].pools[p].end,
					      NULL) < 0)
				abort();
	rd_config_publish(cfg);
	rd_links_t *ls = calloc(1, sizeof(*ls) + sizeof(rd_link_t));
	if (!ls)
		abort();
	ls->n = 1;
	ls->l[0] = (rd_link_t){ .ifindex = 2, .name = "eth0", .mac = { 2, 0, 0, 0, 0, 1 }, .served = true,
				.tx_fd = -1, .n_addrs = 1, .addr = { 0xc0000201 }, .mask = { 0xffffff00 } };
	rd_links_publish(ls);
	W = rd_worker_new(&D, 0, -1);
	if (!W)
		abort();
}

static int check_lease(void *ctx, const rd_lease_t *l)
{
	(void)ctx;
	bool in_pool = (l->addr >= 0xc0000264 && l->addr <= 0xc0000273) ||
		       (l->addr >= 0xc633640a && l->addr <= 0xc6336414);
	return in_pool || l->addr == 0xc0000214 ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		setup();
		ready = true;
	}
	now++;
	uint64_t ms = (uint64_t)now * 1000;
	rd_table_expire(D.table, now, NULL, NULL);

	rd_rx_t rx = { .data = data, .len = size, .raw = true, .csum_unverified = true, .ifindex = 2 };
	rd_worker_handle(W, &rx, now, ms);

	rd_frame_t fr;
	rd_diag_t d;
	if (rd_frame_parse_eth(data, size, RD_FRAME_NO_UDP_CSUM, &fr, &d) == 0) {
		rd_rx_t u = { .data = fr.payload, .len = fr.payload_len, .ifindex = 2, .src = fr.ip.src,
			      .sport = fr.udp.sport, .dst = 0xc0000201 };
		rd_worker_handle(W, &u, now, ms);
	}
	rd_rx_t u2 = { .data = data, .len = size, .ifindex = 2, .src = 0xc6336401, .sport = 67, .dst = 0xc0000201 };
	rd_worker_handle(W, &u2, now, ms);

	/* Contracts: no more answers than requests, and every address the
	 * path published lies in a pool or is the reservation. */
	rd_counters_t c;
	rd_daemon_counters(&D, &c);
	uint64_t rx_n = 0, tx_n = 0;
	for (unsigned i = 0; i < RD_CTR_MSGTYPES; i++) {
		rx_n += c.rx[i];
		tx_n += c.tx[i];
	}
	if (tx_n > rx_n)
		__builtin_trap();
	rcu_read_lock();
	if (rd_table_foreach(D.table, check_lease, NULL) != 0)
		__builtin_trap();
	rcu_read_unlock();
	return 0;
}
