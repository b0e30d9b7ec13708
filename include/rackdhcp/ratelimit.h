/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ratelimit.h — token buckets that keep a flood from exhausting the pool or
 * starving the workers.
 *
 * Three limits, each `rate` tokens per second with a bucket of `burst`:
 *  - per client: every request of one client key (chaddr, or client-id)
 *    costs a token of that client's bucket.  Buckets live in a fixed-size
 *    hashed array, so memory does not grow with the number of clients; two
 *    clients whose keys collide share a bucket (they can only be limited
 *    earlier, never later).  The hash is keyed with a random seed drawn at
 *    creation, so a flooder cannot pick keys that land on a victim's bucket;
 *  - global: every request that passed the client limit;
 *  - new clients: every request from a client the lease table does not know
 *    (the daemon asks before the engine allocates), so random-MAC floods can
 *    only take addresses at this rate.
 * rate 0 disables a limit (every call passes, without touching memory
 * shared between threads).  A bucket starts full, and a bucket left alone
 * for burst/rate seconds is full again: nothing is ever evicted.
 *
 * Semantics, exactly: with the clock standing still a full bucket grants
 * `burst` requests and refuses the next; after that it grants one request
 * per 1/rate seconds.  A refused request costs nothing.  The clock has
 * nanosecond resolution inside, so 1/rate is exact for rates that divide
 * 10^9 and otherwise off by less than 0.5 ns (0.5 % at 10^7/s).
 *
 * Lock-free: each bucket is one 64-bit word updated by compare-and-swap, so
 * any number of workers may call the checks concurrently; rd_ratelimit_set
 * may run concurrently with them and applies from the next call.  A bucket
 * keeps the time it needs to become full across a change of rates, capped
 * at the new burst/rate plus one second (see ratelimit.c), so raising a
 * limit frees throttled clients within about a second.
 *
 * The caller supplies the clock (now_ms, monotonic milliseconds), which
 * keeps this module free of clock calls and its tests deterministic.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rd_ratelimit rd_ratelimit_t;

typedef struct rd_rate {
	uint32_t rate;    /*!< tokens per second; 0 = unlimited */
	uint32_t burst;   /*!< bucket size (>= 1 when rate > 0; 0 is taken as 1) */
} rd_rate_t;

typedef struct rd_ratelimit_cfg {
	rd_rate_t per_client;
	rd_rate_t global;
	rd_rate_t new_clients;
} rd_ratelimit_cfg_t;

enum rd_rl_verdict {
	RD_RL_PASS = 0,
	RD_RL_CLIENT,     /*!< the client's bucket is empty */
	RD_RL_GLOBAL,     /*!< the global bucket is empty */
	RD_RL_NEW,        /*!< the new-clients bucket is empty */
};

/*! Default size of the per-client array (512 KiB of buckets). */
#define RD_RATELIMIT_DEFAULT_SLOTS (1u << 16)
/*! Largest per-client array (128 MiB); larger requests are capped to this. */
#define RD_RATELIMIT_MAX_SLOTS (1u << 24)

/*!
 * cfg: NULL means every limit off.  client_slots: size of the per-client
 * array, rounded up to a power of two (0: RD_RATELIMIT_DEFAULT_SLOTS).
 * NULL only if memory runs out (errno ENOMEM).
 */
rd_ratelimit_t *rd_ratelimit_new(const rd_ratelimit_cfg_t *cfg, size_t client_slots);
/*! Change the limits (NULL: every limit off).  Safe while other threads check. */
void rd_ratelimit_set(rd_ratelimit_t *rl, const rd_ratelimit_cfg_t *cfg);
/*! The limits in force (burst as used: 0 turned into 1), e.g. for the control socket. */
void rd_ratelimit_get(const rd_ratelimit_t *rl, rd_ratelimit_cfg_t *out);
/*! Number of per-client buckets (a power of two). */
size_t rd_ratelimit_slots(const rd_ratelimit_t *rl);
/*! The per-client bucket a key maps to (0 .. slots-1): for tests and debugging. */
size_t rd_ratelimit_slot(const rd_ratelimit_t *rl, const uint8_t *key, size_t key_len);
void rd_ratelimit_free(rd_ratelimit_t *rl);

/*!
 * SipHash with c compression and d finalisation rounds (1, 3 for the client
 * index; 2, 4 is the paper's SipHash-2-4), key k0 || k1 as two little-endian
 * words.  Exposed for its test vectors.
 */
uint64_t rd_siphash(uint64_t k0, uint64_t k1, const void *data, size_t len, unsigned c, unsigned d);

/*!
 * Per-client, then global: RD_RL_PASS, RD_RL_CLIENT or RD_RL_GLOBAL.  A
 * request refused by the global bucket has still spent its client token.
 * now_ms: a monotonic clock in milliseconds.
 */
enum rd_rl_verdict rd_ratelimit_check(rd_ratelimit_t *rl, const uint8_t *key, size_t key_len, uint64_t now_ms);

/*! One token of the new-clients bucket: RD_RL_PASS or RD_RL_NEW. */
enum rd_rl_verdict rd_ratelimit_new_client(rd_ratelimit_t *rl, uint64_t now_ms);
