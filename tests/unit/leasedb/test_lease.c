/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_lease.c — lease version construction (leasedb/lease.c): new, dup,
 * client key, state names, size accounting, the 255-byte limits and NULL
 * handling.  Single-threaded; no RCU use (leases here are never published).
 */
#include <string.h>

#include "tap.h"
#include "rackdhcp/lease.h"

static void test_new(void)
{
	static const uint8_t cid[] = { 1, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	rd_lease_t *l = rd_lease_new(0x0a000001, cid, sizeof(cid), "host1", 5);

	ok(l != NULL, "new with cid and host");
	if (!l)
		return;
	is_int(l->addr, 0x0a000001, "addr kept");
	is_int(l->state, RD_LEASE_FREE, "new lease is FREE");
	is_int(l->seq, 0, "seq 0 before publish");
	is_mem(rd_lease_cid(l), l->cid_len, cid, sizeof(cid), "cid copied");
	is_mem(rd_lease_host(l), l->host_len, "host1", 5, "host copied after cid");
	is_int((long long)rd_lease_size(l), (long long)(sizeof(*l) + 7 + 5), "size = struct + tail");
	rd_lease_free(l);

	l = rd_lease_new(7, NULL, 0, NULL, 0);
	ok(l && l->cid_len == 0 && l->host_len == 0, "new without cid/host");
	if (l)
		is_int((long long)rd_lease_size(l), (long long)sizeof(*l), "empty tail");
	rd_lease_free(l);
	rd_lease_free(NULL);
	ok(1, "rd_lease_free(NULL) is a no-op");
}

static void test_limits(void)
{
	uint8_t big[256];
	char hbig[256];

	memset(big, 0x5a, sizeof(big));
	memset(hbig, 'h', sizeof(hbig));
	rd_lease_t *l = rd_lease_new(1, big, 255, hbig, 255);
	ok(l != NULL, "255-byte cid and hostname accepted");
	if (l) {
		is_int(l->cid_len, 255, "cid_len 255");
		is_int(l->host_len, 255, "host_len 255");
		is_mem(rd_lease_host(l), 255, hbig, 255, "255-byte host intact");
		uint8_t key[RD_LEASE_KEY_MAX];
		l->flags |= RD_LEASE_F_KEY_CID;
		is_int((long long)rd_lease_key(l, key), 255, "255-byte cid key fits RD_LEASE_KEY_MAX");
		is_mem(key, 255, big, 255, "cid key bytes");
	}
	rd_lease_free(l);
	ok(rd_lease_new(1, big, 256, NULL, 0) == NULL, "256-byte cid refused");
	ok(rd_lease_new(1, NULL, 0, hbig, 256) == NULL, "256-byte hostname refused");
	ok(rd_lease_new(1, NULL, 3, NULL, 0) == NULL, "cid length with NULL bytes refused");
	ok(rd_lease_new(1, NULL, 0, NULL, 4) == NULL, "host length with NULL bytes refused");
}

static void test_dup(void)
{
	static const uint8_t cid[] = { 0, 'a', 'b', 'c' };
	rd_lease_t *l = rd_lease_new(0xc0a80105, cid, sizeof(cid), "pc", 2);
	if (!l)
		bail_out("out of memory");
	l->seq = 42;
	l->starts = 100;
	l->ends = 200;
	l->tstp = 150;
	l->tsfp = 160;
	l->atsfp = 170;
	l->cltt = 99;
	l->flags = RD_LEASE_F_PXE | RD_LEASE_F_KEY_CID;
	l->state = RD_LEASE_ACTIVE;
	l->htype = 1;
	l->hlen = 6;
	memcpy(l->chaddr, "\x00\x11\x22\x33\x44\x55", 6);
	/* Pretend it was linked, to check dup clears the links. */
	l->addr_node.next = (struct cds_lfht_node *)l;

	rd_lease_t *d = rd_lease_dup(l, rd_lease_cid(l), l->cid_len, rd_lease_host(l), l->host_len);
	ok(d != NULL, "dup keeping cid/host");
	if (d) {
		ok(d->seq == 42 && d->addr == l->addr && d->starts == 100 && d->ends == 200 &&
		   d->tstp == 150 && d->tsfp == 160 && d->atsfp == 170 && d->cltt == 99,
		   "times and seq copied");
		ok(d->flags == l->flags && d->state == RD_LEASE_ACTIVE && d->htype == 1 && d->hlen == 6 &&
		   memcmp(d->chaddr, l->chaddr, 16) == 0, "flags, state, hardware copied");
		ok(d->addr_node.next == NULL && d->client_node.next == NULL, "table links cleared");
		is_mem(rd_lease_cid(d), d->cid_len, cid, sizeof(cid), "cid kept");
		is_mem(rd_lease_host(d), d->host_len, "pc", 2, "host kept");
	}
	rd_lease_free(d);

	d = rd_lease_dup(l, NULL, 0, "newname", 7);
	ok(d && d->cid_len == 0 && d->host_len == 7, "dup replacing cid and host");
	if (d)
		is_mem(rd_lease_host(d), d->host_len, "newname", 7, "new host");
	rd_lease_free(d);
	ok(rd_lease_dup(NULL, NULL, 0, NULL, 0) == NULL, "dup(NULL) is NULL");
	rd_lease_free(l);
}

static void test_key(void)
{
	uint8_t key[RD_LEASE_KEY_MAX];
	rd_lease_t *l = rd_lease_new(1, (const uint8_t *)"\x01\x02", 2, NULL, 0);
	if (!l)
		bail_out("out of memory");

	is_int((long long)rd_lease_key(l, key), 0, "no hardware and no KEY_CID: no key");
	l->htype = 1;
	l->hlen = 6;
	memcpy(l->chaddr, "\xde\xad\xbe\xef\x00\x01", 6);
	is_int((long long)rd_lease_key(l, key), 7, "htype+chaddr key length");
	is_mem(key, 7, "\x01\xde\xad\xbe\xef\x00\x01", 7, "htype+chaddr key bytes");
	l->flags |= RD_LEASE_F_KEY_CID;
	is_int((long long)rd_lease_key(l, key), 2, "client-id key preferred with KEY_CID");
	is_mem(key, 2, "\x01\x02", 2, "client-id key bytes");
	l->flags = 0;
	l->hlen = 16;
	is_int((long long)rd_lease_key(l, key), 17, "hlen 16 gives a 17-byte key");
	l->hlen = 17;
	is_int((long long)rd_lease_key(l, key), 0, "hlen > 16 is no key");
	is_int((long long)rd_lease_key(NULL, key), 0, "key of NULL lease");
	is_int((long long)rd_lease_key(l, NULL), 0, "key into NULL buffer");
	rd_lease_free(l);
}

static void test_names(void)
{
	is_str(rd_lease_state_name(RD_LEASE_FREE), "free", "free");
	is_str(rd_lease_state_name(RD_LEASE_ACTIVE), "active", "active");
	is_str(rd_lease_state_name(RD_LEASE_EXPIRED), "expired", "expired");
	is_str(rd_lease_state_name(RD_LEASE_RELEASED), "released", "released");
	is_str(rd_lease_state_name(RD_LEASE_ABANDONED), "abandoned", "abandoned");
	is_str(rd_lease_state_name(RD_LEASE_RESET), "reset", "reset");
	is_str(rd_lease_state_name(RD_LEASE_BACKUP), "backup", "backup");
	is_str(rd_lease_state_name(0), "unknown", "0 unknown");
	is_str(rd_lease_state_name(200), "unknown", "200 unknown");
}

int main(void)
{
	plan_lazy();
	test_new();
	test_limits();
	test_dup();
	test_key();
	test_names();
	return done_testing();
}
