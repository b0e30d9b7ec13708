/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_ratelimit.c — tests of dhcpd/ratelimit.c with an explicit clock:
 * SipHash against the paper's vectors; a client gets exactly `burst` passes,
 * then one per 1/rate; refusals cost nothing; an idle bucket is full again
 * and no fuller; clients are independent unless they share a slot; the
 * hash spreads keys like a random function; the global and new-clients
 * limits; live changes of the limits; and four threads hammering one bucket
 * with the clock stopped never get more than the bucket holds.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rackdhcp/ratelimit.h"
#include "tap.h"

/* A clock far from 0, as CLOCK_MONOTONIC is on a rack that has been up a while. */
#define T0 (1000ull * 3600 * 24 * 40)

static void mac_of(unsigned i, uint8_t mac[6])
{
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = (uint8_t)(i >> 24);
	mac[3] = (uint8_t)(i >> 16);
	mac[4] = (uint8_t)(i >> 8);
	mac[5] = (uint8_t)i;
}

static rd_ratelimit_t *make(uint32_t cr, uint32_t cb, uint32_t gr, uint32_t gb, uint32_t nr, uint32_t nb,
			    size_t slots)
{
	rd_ratelimit_cfg_t cfg = {
		.per_client = { cr, cb }, .global = { gr, gb }, .new_clients = { nr, nb },
	};
	rd_ratelimit_t *rl = rd_ratelimit_new(&cfg, slots);
	if (!rl)
		bail_out("rd_ratelimit_new failed");
	return rl;
}

/* Passes of key in n calls at one instant. */
static unsigned passes(rd_ratelimit_t *rl, const uint8_t *key, size_t len, unsigned n, uint64_t now)
{
	unsigned p = 0;
	for (unsigned i = 0; i < n; i++)
		p += rd_ratelimit_check(rl, key, len, now) == RD_RL_PASS;
	return p;
}

static void test_siphash(void)
{
	uint8_t msg[64];
	const uint64_t k0 = 0x0706050403020100ull, k1 = 0x0f0e0d0c0b0a0908ull;

	for (unsigned i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	/* SipHash-2-4, key 00..0f (Aumasson & Bernstein, appendix A and the
	 * reference vectors): this checks the rounds, the padding and the
	 * length byte, which SipHash-1-3 shares. */
	ok(rd_siphash(k0, k1, msg, 15, 2, 4) == 0xa129ca6149be45e5ull, "SipHash-2-4 of 00..0e");
	ok(rd_siphash(k0, k1, msg, 0, 2, 4) == 0x726fdb47dd0e0e31ull, "SipHash-2-4 of the empty message");
	ok(rd_siphash(k0, k1, msg, 8, 1, 3) != rd_siphash(k0, k1, msg, 8, 2, 4), "1-3 differs from 2-4");
	ok(rd_siphash(k0, k1, msg, 7, 1, 3) != rd_siphash(k0, k1, msg, 8, 1, 3), "length matters");
	ok(rd_siphash(k0, k1 ^ 1, msg, 6, 1, 3) != rd_siphash(k0, k1, msg, 6, 1, 3), "key matters");
}

static void test_client_bucket(void)
{
	rd_ratelimit_t *rl = make(10, 20, 0, 0, 0, 0, 0);
	uint8_t a[6], b[6];
	mac_of(1, a);
	mac_of(2, b);

	is_int((long long)rd_ratelimit_slots(rl), RD_RATELIMIT_DEFAULT_SLOTS, "0 slots: the default");
	is_int(passes(rl, a, 6, 20, T0), 20, "a full bucket grants burst (20) requests");
	ok(rd_ratelimit_check(rl, a, 6, T0) == RD_RL_CLIENT, "the 21st is refused as RD_RL_CLIENT");
	is_int(passes(rl, a, 6, 1000, T0), 0, "and so are 1000 more at the same instant");
	is_int(passes(rl, a, 6, 5, T0 + 99), 0, "99 ms later: still nothing (rate 10/s = one per 100 ms)");
	is_int(passes(rl, a, 6, 5, T0 + 100), 1, "100 ms later: exactly one (refusals cost nothing)");
	is_int(passes(rl, a, 6, 5, T0 + 199), 0, "199 ms: none");
	is_int(passes(rl, a, 6, 5, T0 + 200), 1, "200 ms: one");
	is_int(passes(rl, a, 6, 100, T0 + 200 + 1000), 10, "one second later: rate (10) more");
	is_int(passes(rl, a, 6, 100, T0 + 200 + 1000 + 3600 * 1000), 20,
	       "after an hour idle: a full bucket, and no more than burst");
	/* a worker whose clock reading is a little older sees no extra token */
	uint64_t t1 = T0 + 10 * 3600 * 1000;
	is_int(passes(rl, b, 6, 30, t1), 20, "client b: burst at t1");
	is_int(passes(rl, b, 6, 30, t1 - 5), 0, "a stale clock reading (t1 - 5 ms) gets nothing");
	is_int(passes(rl, b, 6, 30, t1 + 100), 1, "t1 + 100 ms: exactly one");
	rd_ratelimit_free(rl);

	/* burst 1: strictly one request per 1/rate */
	rl = make(4, 1, 0, 0, 0, 0, 64);
	unsigned p = 0;
	for (uint64_t t = 0; t < 10000; t++)
		p += passes(rl, a, 6, 3, T0 + t);
	is_int(p, 40, "rate 4 burst 1 over 10 s of 1 ms steps: 40 passes");
	rd_ratelimit_free(rl);

	/* rate 3 (1/rate not a whole number of ns), one call per 7 ms: the
	 * burst, then 3 per second with no drift (the time at which the bucket
	 * fills carries the sub-millisecond remainders).  Burst 3, so the bucket
	 * is never full when sampled: a full bucket drops what would overflow,
	 * as any token bucket does. */
	rl = make(3, 3, 0, 0, 0, 0, 64);
	p = 0;
	for (uint64_t t = 0; t < 600 * 1000; t += 7)
		p += passes(rl, a, 6, 1, T0 + t);
	is_int(p, 1802, "rate 3 burst 3 over 600 s in 7 ms steps: 3 + 1799 passes");
	rd_ratelimit_free(rl);
}

static void test_independent(void)
{
	enum { N = 2000 };
	rd_ratelimit_t *rl = make(1, 3, 0, 0, 0, 0, 1u << 22);
	static size_t slot_of[N];
	static unsigned owner[1u << 22];
	unsigned checked = 0, wrong = 0, shared = 0, shared_wrong = 0;

	is_int((long long)rd_ratelimit_slots(rl), 1 << 22, "4 Mi slots");
	memset(owner, 0xff, sizeof(owner));
	/* Clients in distinct slots must not affect each other; clients that
	 * share a slot share a bucket.  Slot indexes come from the random
	 * seed, so the test looks them up instead of hoping. */
	for (unsigned i = 0; i < N; i++) {
		uint8_t m[6];
		mac_of(i, m);
		slot_of[i] = rd_ratelimit_slot(rl, m, 6);
		unsigned got = passes(rl, m, 6, 5, T0);
		if (owner[slot_of[i]] == ~0u) {
			owner[slot_of[i]] = i;
			checked++;
			if (got != 3)
				wrong++;
		} else {
			shared++;
			if (got != 0)
				shared_wrong++;
		}
	}
	is_int(wrong, 0, "%u clients in their own bucket: 3 passes each", checked);
	is_int(shared_wrong, 0, "%u clients sharing a bucket with an earlier one: none", shared);
	/* and each client's bucket refills on its own */
	uint8_t m[6];
	mac_of(0, m);
	is_int(passes(rl, m, 6, 5, T0 + 1000), 1, "client 0 one second later: one");
	mac_of(1, m);
	is_int(passes(rl, m, 6, 5, T0 + 1000), slot_of[1] == slot_of[0] ? 0 : 1, "client 1: one of its own");
	rd_ratelimit_free(rl);

	/* Spread: 65536 keys into 65536 slots, one token each.  A random
	 * function leaves 65536/e (24109) slots empty, so that many keys land
	 * on a used slot; the standard deviation is about 80.  A weak hash over these
	 * sequential MACs (say, the low 16 bits) would give 0. */
	rl = make(1, 1, 0, 0, 0, 0, 1u << 16);
	unsigned refused = 0;
	for (unsigned i = 0; i < 65536; i++) {
		mac_of(i * 17u, m);
		refused += rd_ratelimit_check(rl, m, 6, T0) == RD_RL_CLIENT;
	}
	ok(refused > 23000 && refused < 25200, "keys spread like a random function: %u collisions (24109 expected)",
	   refused);
	rd_ratelimit_free(rl);
}

static void test_global_and_new(void)
{
	uint8_t m[6];

	rd_ratelimit_t *rl = make(0, 0, 100, 50, 0, 0, 0);
	unsigned p = 0;
	for (unsigned i = 0; i < 80; i++) {
		mac_of(i, m);
		p += rd_ratelimit_check(rl, m, 6, T0) == RD_RL_PASS;
	}
	is_int(p, 50, "global burst 50 over 80 clients: 50 pass");
	mac_of(999, m);
	ok(rd_ratelimit_check(rl, m, 6, T0) == RD_RL_GLOBAL, "then RD_RL_GLOBAL");
	is_int(passes(rl, m, 6, 10, T0 + 10), 1, "10 ms later (rate 100/s): one");
	is_int(passes(rl, NULL, 0, 10, T0 + 20), 1, "an empty key is a key like any other");
	rd_ratelimit_free(rl);

	/* a request the client bucket refuses does not spend a global token */
	rl = make(10, 2, 10, 5, 0, 0, 1u << 20);
	uint8_t a[6];
	mac_of(7, a);
	is_int(passes(rl, a, 6, 10, T0), 2, "client burst 2 under global burst 5");
	unsigned g = 0, other = 0;
	for (unsigned i = 100; i < 110; i++) {
		mac_of(i, m);
		if (rd_ratelimit_slot(rl, m, 6) == rd_ratelimit_slot(rl, a, 6))
			continue;
		enum rd_rl_verdict v = rd_ratelimit_check(rl, m, 6, T0);
		if (v == RD_RL_PASS)
			other++;
		else if (v == RD_RL_GLOBAL)
			g++;
	}
	ok(other == 3 && g >= 6, "the 8 refusals of client a left 3 global tokens for others (%u passed, %u global)",
	   other, g);
	rd_ratelimit_free(rl);

	rl = make(0, 0, 0, 0, 1000, 2000, 0);
	p = 0;
	for (unsigned i = 0; i < 3000; i++)
		p += rd_ratelimit_new_client(rl, T0) == RD_RL_PASS;
	is_int(p, 2000, "new clients: burst 2000 at once");
	ok(rd_ratelimit_new_client(rl, T0) == RD_RL_NEW, "then RD_RL_NEW");
	ok(rd_ratelimit_new_client(rl, T0 + 1) == RD_RL_PASS && rd_ratelimit_new_client(rl, T0 + 1) == RD_RL_NEW,
	   "1 ms later (1000/s): one");
	p = 0;
	for (unsigned i = 0; i < 3000; i++)
		p += rd_ratelimit_new_client(rl, T0 + 60000) == RD_RL_PASS;
	is_int(p, 2000, "a minute later: a full bucket");
	mac_of(1, m);
	is_int(passes(rl, m, 6, 1000, T0), 1000, "the new-clients limit does not limit rd_ratelimit_check");
	rd_ratelimit_free(rl);

	rl = rd_ratelimit_new(NULL, 1);
	if (!rl)
		bail_out("rd_ratelimit_new(NULL) failed");
	is_int((long long)rd_ratelimit_slots(rl), 64, "1 slot asked: at least 64");
	is_int(passes(rl, m, 6, 100000, T0), 100000, "no configuration: everything passes");
	p = 0;
	for (unsigned i = 0; i < 1000; i++)
		p += rd_ratelimit_new_client(rl, T0) == RD_RL_PASS;
	is_int(p, 1000, "no configuration: every new client passes");
	rd_ratelimit_free(rl);
	rd_ratelimit_free(NULL);

	rl = make(0, 0, 0, 0, 0, 0, 1000);
	is_int((long long)rd_ratelimit_slots(rl), 1024, "1000 slots: rounded up to 1024");
	rd_ratelimit_free(rl);
}

static void test_set(void)
{
	rd_ratelimit_t *rl = make(10, 20, 0, 0, 0, 0, 1u << 20);
	rd_ratelimit_cfg_t cfg, got;
	uint8_t a[6], b[6];
	mac_of(1, a);
	mac_of(2, b);
	if (rd_ratelimit_slot(rl, a, 6) == rd_ratelimit_slot(rl, b, 6))
		mac_of(3, b); /* two of three keys collide: 1 in 10^12 */

	is_int(passes(rl, a, 6, 30, T0), 20, "client a: 20 at 10/s burst 20");
	memset(&cfg, 0, sizeof(cfg));
	cfg.per_client = (rd_rate_t){ 1000, 5 };
	rd_ratelimit_set(rl, &cfg);
	rd_ratelimit_get(rl, &got);
	ok(got.per_client.rate == 1000 && got.per_client.burst == 5 && got.global.rate == 0 &&
	   got.new_clients.rate == 0, "get returns what was set");
	is_int(passes(rl, a, 6, 30, T0), 0, "raised to 1000/s burst 5: a's bucket is empty at first");
	is_int(passes(rl, a, 6, 30, T0 + 1), 1, "but a's 2 s of debt is cut: 1 ms later it gets one");
	is_int(passes(rl, a, 6, 30, T0 + 1000), 5, "a second later: the new burst");
	is_int(passes(rl, b, 6, 30, T0), 5, "client b: the new burst at once");

	cfg.per_client = (rd_rate_t){ 0, 0 };
	rd_ratelimit_set(rl, &cfg);
	is_int(passes(rl, a, 6, 5000, T0 + 1000), 5000, "set to unlimited: everything passes");

	cfg.per_client = (rd_rate_t){ 1, 0 };
	rd_ratelimit_set(rl, &cfg);
	rd_ratelimit_get(rl, &got);
	is_int(got.per_client.burst, 1, "burst 0 with a rate is taken as 1");
	is_int(passes(rl, b, 6, 10, T0 + 10000), 1, "lowered to 1/s burst 1: one");
	is_int(passes(rl, b, 6, 10, T0 + 10999), 0, "none for the next second");
	is_int(passes(rl, b, 6, 10, T0 + 11000), 1, "then one");

	cfg.global = (rd_rate_t){ 1, 2 };
	cfg.per_client = (rd_rate_t){ 0, 0 };
	rd_ratelimit_set(rl, &cfg);
	is_int(passes(rl, a, 6, 10, T0 + 20000), 2, "global limit switched on live: its burst");
	cfg.new_clients = (rd_rate_t){ 1, 1 };
	rd_ratelimit_set(rl, &cfg);
	ok(rd_ratelimit_new_client(rl, T0) == RD_RL_PASS && rd_ratelimit_new_client(rl, T0) == RD_RL_NEW,
	   "new-clients limit switched on live");
	rd_ratelimit_set(rl, NULL);
	rd_ratelimit_get(rl, &got);
	ok(!got.per_client.rate && !got.global.rate && !got.new_clients.rate, "set(NULL): all off");
	is_int(passes(rl, a, 6, 100, T0 + 20000), 100, "and everything passes");
	rd_ratelimit_free(rl);
}

/* ---------------------------------------------------------------- threads */

/* Rounds, each at a clock an hour after the last (so every bucket is full
 * again), started together at a barrier: many races on full buckets. */
enum { THREADS = 4, ROUNDS = 100, CALLS = 2000 };

struct hammer {
	rd_ratelimit_t *rl;
	pthread_barrier_t *start;
	unsigned pass, client, global, new_pass;
};

static void *hammer(void *arg)
{
	struct hammer *h = arg;
	const uint8_t key[6] = { 0x52, 0x54, 0, 0, 0, 1 };

	for (unsigned r = 0; r < ROUNDS; r++) {
		uint64_t now = T0 + r * 3600ull * 1000;
		pthread_barrier_wait(h->start);
		for (unsigned i = 0; i < CALLS; i++) {
			switch (rd_ratelimit_check(h->rl, key, sizeof(key), now)) {
			case RD_RL_PASS: h->pass++; break;
			case RD_RL_CLIENT: h->client++; break;
			case RD_RL_GLOBAL: h->global++; break;
			default: break;
			}
			h->new_pass += rd_ratelimit_new_client(h->rl, now) == RD_RL_PASS;
		}
	}
	return NULL;
}

static void test_threads(void)
{
	/* One client, burst 1000, behind a global bucket of 600, and the
	 * new-clients bucket of 777, all hammered by four threads with the
	 * clock stopped in each round.  Exactly, per round: 600 pass, 400 more
	 * spend a client token and are refused globally, everything else is
	 * refused by the client bucket; 777 new clients pass.  A lost update
	 * (a read-modify-write that is not atomic) shows as more. */
	rd_ratelimit_t *rl = make(10, 1000, 10, 600, 10, 777, 0);
	pthread_barrier_t start;
	pthread_t th[THREADS];
	struct hammer h[THREADS];
	unsigned pass = 0, client = 0, global = 0, new_pass = 0;

	pthread_barrier_init(&start, NULL, THREADS);
	for (int i = 0; i < THREADS; i++) {
		h[i] = (struct hammer){ .rl = rl, .start = &start };
		if (pthread_create(&th[i], NULL, hammer, &h[i]))
			bail_out("pthread_create failed");
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		pass += h[i].pass;
		client += h[i].client;
		global += h[i].global;
		new_pass += h[i].new_pass;
		diag("thread %d: %u passed, %u new clients passed", i, h[i].pass, h[i].new_pass);
	}
	pthread_barrier_destroy(&start);
	is_int(pass, ROUNDS * 600, "%u rounds of %u threads x %u calls: exactly the global burst passes",
	       ROUNDS, THREADS, CALLS);
	is_int(global, ROUNDS * 400, "exactly client burst - global burst refused globally");
	is_int(client, ROUNDS * (THREADS * CALLS - 1000), "the rest refused by the client bucket");
	is_int(new_pass, ROUNDS * 777, "new clients: exactly the burst");
	rd_ratelimit_free(rl);
}

int main(void)
{
	plan_lazy();
	test_siphash();
	test_client_bucket();
	test_independent();
	test_global_and_new();
	test_set();
	test_threads();
	return done_testing();
}
