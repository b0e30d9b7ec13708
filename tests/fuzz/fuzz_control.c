/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_control — libFuzzer target for the control protocol: any bytes, as
 * one request line, go through rd_control_handle, which must answer with
 * exactly one JSON object {"ok": true, "result": ...} or {"ok": false,
 * "error": "..."} on one line, and never crash, leak or read out of bounds.
 *
 * The daemon behind it is small and real: a published configuration with
 * one subnet and pool, a lease table holding a few leases in different
 * states, and a store in a temporary directory (relaxed durability, no
 * history, so a lease-release costs no fsync).  The handler runs as a
 * "sandbox" caller: backup and reload are refused, so the fuzzer cannot
 * write files wherever a path takes it.  Releases and deletes do change the
 * table; the leases are put back every 64 inputs so the state stays
 * interesting without costing a store write per input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "rackdhcp/config.h"
#include "rackdhcp/control.h"
#include "rackdhcp/daemon.h"
#include "rackdhcp/log.h"
#include "rackdhcp/rcu.h"
#include "rackdhcp/store.h"
#include "rackdhcp/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rd_daemon_t d;
static char dir[64];
static unsigned inputs;

#define NET 0x0a000000u   /* 10.0.0.0/24, pool .100-.119 */

static void quiet(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)msg;
}

/* (Re)publish the seed leases, whatever the fuzzer did to them. */
static void seed_leases(void)
{
	static const uint8_t states[] = { RD_LEASE_ACTIVE, RD_LEASE_ACTIVE, RD_LEASE_EXPIRED, RD_LEASE_RELEASED,
					  RD_LEASE_ABANDONED, RD_LEASE_BACKUP, RD_LEASE_FREE };
	uint32_t now = (uint32_t)time(NULL);

	for (unsigned i = 0; i < sizeof(states); i++) {
		static const uint8_t cid[] = { 1, 0x52, 0x54, 0, 0, 0, 9 };
		const char *host = i == 1 ? "h\001\377" : "node";
		rd_lease_t *l = rd_lease_new(NET + 100 + i, i == 1 ? cid : NULL, i == 1 ? sizeof(cid) : 0,
					     states[i] == RD_LEASE_FREE ? NULL : host,
					     states[i] == RD_LEASE_FREE ? 0 : strlen(host));
		if (!l)
			abort();
		l->state = states[i];
		l->starts = now - 10;
		l->ends = now + 600;
		if (states[i] != RD_LEASE_FREE && states[i] != RD_LEASE_BACKUP) {
			l->htype = 1;
			l->hlen = 6;
			memcpy(l->chaddr, "\x52\x54\x00\x00\x00\x01", 6);
			l->chaddr[5] = (uint8_t)(i & 1);
		}
		if (i == 1)
			l->flags = RD_LEASE_F_KEY_CID;
		rcu_read_lock();
		const rd_lease_t *old = rd_table_by_addr(d.table, l->addr);
		if (rd_table_replace(d.table, old, l) != 0)
			rd_lease_free(l);
		rcu_read_unlock();
	}
}

static void cleanup(void)
{
	char path[128];
	static const char *const files[] = { "leases.db", "leases.db-wal", "leases.db-shm", "leases.db.tmp" };

	rd_store_close(d.store);
	rd_table_free(d.table);
	rd_config_publish(NULL);
	free(d.counters);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
	rcu_unregister_thread();
}

static void init(void)
{
	static const char yaml[] =
		"subnets:\n"
		"  - cidr: 10.0.0.0/24\n"
		"    pools:\n"
		"      - range: 10.0.0.100-10.0.0.119\n";
	char err[256], path[128];
	rd_config_t *cfg = NULL;

	rcu_register_thread();
	rd_log_init("fuzz_control", LOG_ERR);
	snprintf(dir, sizeof(dir), "/tmp/rdfuzzctl-XXXXXX");
	if (!mkdtemp(dir) || rd_config_parse(yaml, sizeof(yaml) - 1, "fuzz.yaml", &cfg, err, sizeof(err)))
		abort();
	rd_config_publish(cfg);
	d.started = time(NULL);
	d.table = rd_table_new(64);
	if (!d.table || rd_table_add_pool(d.table, NET + 100, NET + 119, NULL))
		abort();
	rd_store_opts_t so = { .no_history = true, .log = quiet };
	snprintf(path, sizeof(path), "%s/leases.db", dir);
	if (rd_store_open(path, RD_STORE_RELAXED, &so, &d.store, err, sizeof(err)))
		abort();
	d.n_workers = 1;
	d.counters = aligned_alloc(64, 2 * sizeof(rd_counters_t));
	if (!d.counters)
		abort();
	memset(d.counters, 0, 2 * sizeof(rd_counters_t));
	d.counters[0].rx[1] = 3;
	pthread_mutex_init(&d.reload_lock, NULL);
	pthread_mutex_init(&d.ifaces_lock, NULL);
	seed_leases();
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	rd_control_caller_t caller = { .who = "fuzz", .sandbox = true };

	if (!ready) {
		init();
		ready = true;
	}
	if (++inputs % 64 == 0)
		seed_leases();

	char *reply = rd_control_handle(&d, (const char *)data, size, &caller);
	if (!reply)
		__builtin_trap();    /* only out of memory may give NULL */
	/* One line of JSON: an object with a boolean "ok" and the matching member. */
	if (strchr(reply, '\n'))
		__builtin_trap();
	json_error_t je;
	json_t *j = json_loads(reply, 0, &je);
	if (!json_is_object(j))
		__builtin_trap();
	json_t *okv = json_object_get(j, "ok");
	if (json_is_true(okv)) {
		if (!json_object_get(j, "result"))
			__builtin_trap();
	} else if (!json_is_false(okv) || !json_is_string(json_object_get(j, "error"))) {
		__builtin_trap();
	}
	json_decref(j);
	free(reply);
	return 0;
}
