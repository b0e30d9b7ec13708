/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ratelimit.c — lock-free token buckets (see ratelimit.h for the contract).
 *
 * Design notes:
 *  - A bucket is kept in its "generic cell rate algorithm" form: instead of a
 *    token count and the time of the last refill (two numbers that would have
 *    to share one word, so a narrow, wrapping clock), it stores one number,
 *    the theoretical arrival time TAT: the moment the bucket will be full
 *    again.  With T = 1/rate and tau = burst * T, a bucket holds
 *    burst - (TAT - now) / T tokens, so "take a token" is
 *        base = max(TAT, now);  grant iff base + T - now <= tau;  TAT = base + T
 *    which is exactly a token bucket of `burst` tokens refilled at `rate`,
 *    and a bucket whose TAT lies in the past is simply full.  TAT is in
 *    nanoseconds of the caller's clock, so the word never wraps (584 years)
 *    and 1/rate is exact to half a nanosecond.  A zeroed word is a full
 *    bucket, which is why the client array comes from calloc.
 *  - One compare-and-swap per granted request, none per refused one.  The
 *    word publishes nothing but itself, so relaxed ordering suffices: the
 *    only guarantee needed is that the read-modify-write is atomic, which
 *    caps the grants at what the arithmetic allows whatever the interleaving.
 *  - The limits live in one word per bucket class, rate << 32 | burst, read
 *    once per call, so rd_ratelimit_set can never be seen half-applied.  The
 *    division for T costs a few tens of cycles, far below a packet's cost.
 *  - Rates can change under a bucket: TAT - now (the time to full) is kept,
 *    and a refused request whose debt exceeds what the new limits allow
 *    (tau plus one second) lowers TAT to now + tau, i.e. an empty bucket of
 *    the new size.  The second of slack is there because workers read the
 *    clock at slightly different moments: a worker holding a clock reading a
 *    few milliseconds old sees a debt a little larger than the real one and,
 *    without slack, would lower TAT and hand out tokens early.
 *  - Client keys are hashed with SipHash-1-3 under a 128-bit random key drawn
 *    at creation: the index is unpredictable, so a flooder cannot choose MACs
 *    that share a victim's bucket (and throttle the victim), and cannot make
 *    its own requests spread less evenly than random.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/ratelimit.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull
/* Debt beyond the limits in force that a bucket may carry before it is cut
 * back (see the design notes): larger than any clock skew between workers. */
#define CLAMP_SLACK_NS NS_PER_S

struct rd_ratelimit {
	/* limits: rate << 32 | burst, 0 = unlimited; written by set, read by all */
	uint64_t client_lim, global_lim, new_lim;
	uint64_t k0, k1;        /* SipHash key */
	uint64_t *clients;      /* TAT per client bucket */
	size_t mask;            /* slots - 1 */
	/* the shared buckets, each on its own cache line so the CAS traffic on
	 * one does not slow the other (or the read-mostly fields above) */
	_Alignas(64) uint64_t global_tat;
	_Alignas(64) uint64_t new_tat;
};

/* ------------------------------------------------------------ SipHash */

static inline uint64_t rotl(uint64_t x, unsigned b)
{
	return x << b | x >> (64 - b);
}

#define SIPROUND()                                                         \
	do {                                                               \
		v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32); \
		v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                     \
		v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                     \
		v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32); \
	} while (0)

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint64_t rd_siphash(uint64_t k0, uint64_t k1, const void *data, size_t len, unsigned c, unsigned d)
{
	const uint8_t *p = data;
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull;
	uint64_t v3 = k1 ^ 0x7465646279746573ull;
	size_t whole = len & ~(size_t)7;

	for (size_t i = 0; i < whole; i += 8) {
		uint64_t m = load_le64(p + i);
		v3 ^= m;
		for (unsigned r = 0; r < c; r++)
			SIPROUND();
		v0 ^= m;
	}
	/* last block: the remaining 0..7 bytes, and the length in the top byte */
	uint64_t m = (uint64_t)len << 56;
	for (size_t i = whole; i < len; i++)
		m |= (uint64_t)p[i] << (8 * (i - whole));
	v3 ^= m;
	for (unsigned r = 0; r < c; r++)
		SIPROUND();
	v0 ^= m;
	v2 ^= 0xff;
	for (unsigned r = 0; r < d; r++)
		SIPROUND();
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ------------------------------------------------------------ buckets */

static uint64_t pack_limit(const rd_rate_t *r)
{
	if (!r || !r->rate)
		return 0;
	return (uint64_t)r->rate << 32 | (r->burst ? r->burst : 1);
}

static void unpack_limit(uint64_t lim, rd_rate_t *r)
{
	r->rate = (uint32_t)(lim >> 32);
	r->burst = (uint32_t)lim;
}

/* Take one token of the bucket *tat under limits lim at now_ns. */
static bool take(uint64_t *tat, uint64_t lim, uint64_t now_ns)
{
	if (!lim)
		return true;
	uint64_t rate = lim >> 32, burst = lim & 0xffffffffu;
	/* T rounded to the nearest nanosecond, never 0 (rates above 10^9/s
	 * act as 10^9/s) */
	uint64_t t = (NS_PER_S + rate / 2) / rate;
	if (!t)
		t = 1;
	uint64_t tau = burst * t;       /* < 2^32 * 2^30: no overflow */
	uint64_t old = __atomic_load_n(tat, __ATOMIC_RELAXED);

	for (;;) {
		uint64_t base = old > now_ns ? old : now_ns;
		uint64_t debt = base - now_ns;
		uint64_t next;
		if (debt + t > tau) {
			if (debt <= tau + CLAMP_SLACK_NS)
				return false;
			/* Carried over from looser limits: cut back to an
			 * empty bucket of the current size, then refuse. */
			next = now_ns + tau;
			if (__atomic_compare_exchange_n(tat, &old, next, true, __ATOMIC_RELAXED,
							__ATOMIC_RELAXED))
				return false;
			continue;
		}
		next = base + t;
		if (__atomic_compare_exchange_n(tat, &old, next, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return true;
		/* old now holds the current value: recompute from it */
	}
}

/* ------------------------------------------------------------ lifetime */

/*
 * The hash key.  getrandom without blocking: a rack controller may start
 * before the kernel's pool is initialised, and machines must still boot.
 * Then the weaker sources, in order; even the last is unknown to a remote
 * attacker to within the clocks' resolution.
 */
static void seed_key(rd_ratelimit_t *rl)
{
	uint64_t k[2];

	if (getrandom(k, sizeof(k), GRND_NONBLOCK) == (ssize_t)sizeof(k))
		goto done;
#ifdef GRND_INSECURE
	if (getrandom(k, sizeof(k), GRND_INSECURE) == (ssize_t)sizeof(k))
		goto done;
#endif
	struct timespec ts[2];
	clock_gettime(CLOCK_MONOTONIC, &ts[0]);
	clock_gettime(CLOCK_REALTIME, &ts[1]);
	uint64_t mix[4] = {
		(uint64_t)ts[0].tv_sec << 32 ^ (uint64_t)ts[0].tv_nsec,
		(uint64_t)ts[1].tv_sec << 32 ^ (uint64_t)ts[1].tv_nsec,
		(uint64_t)getpid(),
		(uint64_t)(uintptr_t)rl,
	};
	k[0] = rd_siphash(0x0123456789abcdefull, 0xfedcba9876543210ull, mix, sizeof(mix), 2, 4);
	mix[3] ^= k[0];
	k[1] = rd_siphash(0x0f1e2d3c4b5a6978ull, 0x8796a5b4c3d2e1f0ull, mix, sizeof(mix), 2, 4);
done:
	rl->k0 = k[0];
	rl->k1 = k[1];
}

rd_ratelimit_t *rd_ratelimit_new(const rd_ratelimit_cfg_t *cfg, size_t client_slots)
{
	size_t slots = 64;

	if (!client_slots)
		client_slots = RD_RATELIMIT_DEFAULT_SLOTS;
	if (client_slots > RD_RATELIMIT_MAX_SLOTS)
		client_slots = RD_RATELIMIT_MAX_SLOTS;
	while (slots < client_slots)
		slots <<= 1;

	rd_ratelimit_t *rl = aligned_alloc(_Alignof(rd_ratelimit_t), sizeof(*rl));
	if (!rl)
		return NULL;
	memset(rl, 0, sizeof(*rl));
	rl->clients = calloc(slots, sizeof(*rl->clients));
	if (!rl->clients) {
		free(rl);
		errno = ENOMEM;
		return NULL;
	}
	rl->mask = slots - 1;
	seed_key(rl);
	rd_ratelimit_set(rl, cfg);
	return rl;
}

void rd_ratelimit_set(rd_ratelimit_t *rl, const rd_ratelimit_cfg_t *cfg)
{
	__atomic_store_n(&rl->client_lim, pack_limit(cfg ? &cfg->per_client : NULL), __ATOMIC_RELAXED);
	__atomic_store_n(&rl->global_lim, pack_limit(cfg ? &cfg->global : NULL), __ATOMIC_RELAXED);
	__atomic_store_n(&rl->new_lim, pack_limit(cfg ? &cfg->new_clients : NULL), __ATOMIC_RELAXED);
}

void rd_ratelimit_get(const rd_ratelimit_t *rl, rd_ratelimit_cfg_t *out)
{
	unpack_limit(__atomic_load_n(&rl->client_lim, __ATOMIC_RELAXED), &out->per_client);
	unpack_limit(__atomic_load_n(&rl->global_lim, __ATOMIC_RELAXED), &out->global);
	unpack_limit(__atomic_load_n(&rl->new_lim, __ATOMIC_RELAXED), &out->new_clients);
}

size_t rd_ratelimit_slots(const rd_ratelimit_t *rl)
{
	return rl->mask + 1;
}

size_t rd_ratelimit_slot(const rd_ratelimit_t *rl, const uint8_t *key, size_t key_len)
{
	return (size_t)rd_siphash(rl->k0, rl->k1, key, key ? key_len : 0, 1, 3) & rl->mask;
}

void rd_ratelimit_free(rd_ratelimit_t *rl)
{
	if (!rl)
		return;
	free(rl->clients);
	free(rl);
}

/* ------------------------------------------------------------ checks */

enum rd_rl_verdict rd_ratelimit_check(rd_ratelimit_t *rl, const uint8_t *key, size_t key_len, uint64_t now_ms)
{
	uint64_t now_ns = now_ms * NS_PER_MS;
	uint64_t lim = __atomic_load_n(&rl->client_lim, __ATOMIC_RELAXED);

	if (lim) {
		/* hashing only when there is a client limit: unlimited stays free */
		if (!take(&rl->clients[rd_ratelimit_slot(rl, key, key_len)], lim, now_ns))
			return RD_RL_CLIENT;
	}
	if (!take(&rl->global_tat, __atomic_load_n(&rl->global_lim, __ATOMIC_RELAXED), now_ns))
		return RD_RL_GLOBAL;
	return RD_RL_PASS;
}

enum rd_rl_verdict rd_ratelimit_new_client(rd_ratelimit_t *rl, uint64_t now_ms)
{
	if (!take(&rl->new_tat, __atomic_load_n(&rl->new_lim, __ATOMIC_RELAXED), now_ms * NS_PER_MS))
		return RD_RL_NEW;
	return RD_RL_PASS;
}
