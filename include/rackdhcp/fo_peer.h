/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fo_peer.h — the live failover peers of the daemon (issue 5): one object
 * per configured relationship (rd_cfg_failover_t) that owns the TCP link
 * (fo_link.h) and the state machine (fo_state.h), carries out the machine's
 * actions, and replicates leases with BNDUPD/BNDACK.
 *
 * One failover thread (registered with RCU) runs every peer in one poll
 * loop.  The rest of the daemon talks to it through these thread-safe doors:
 *  - rd_fo_peers_notify(): a worker (or the expiry) made a lease change
 *    durable; the peer sends the current version of that address when it
 *    can (lazy updates: several changes to one address may go as one);
 *  - rd_fo_peers_hold_wanted() / rd_fo_peers_notify_hold(): the same, for
 *    a reply that must wait for the peer (ack_after_peer, in NORMAL): the
 *    reply is handed over and released once the peer's BNDACK arrives;
 *  - the engine seam (rd_fo_peers_engine()): may this server answer this
 *    client, allocate this address, and for how long (MCLT);
 *  - rd_fo_peers_stop(): a graceful stop announces SHUTDOWN first;
 *  - rd_fo_peers_reconfigure(): a reload's relationships, applied by the
 *    failover thread while the caller waits.
 *
 * Persistence: the machine's [persist] fields go to the store's
 * failover_state table (rd_store_fo_state_put) before any STATE that
 * announces them.  A peer's BNDUPD is answered with BNDACK only from the
 * store completion of the change it made, i.e. once it is durable.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rackdhcp/config.h"
#include "rackdhcp/engine.h"
#include "rackdhcp/lease.h"
#include "rackdhcp/store.h"
#include "rackdhcp/table.h"

typedef struct rd_fo_peers rd_fo_peers_t;

/*!
 * Create one peer per failover relationship of cfg (none: *out = NULL and
 * 0, failover off), read each one's stored state, open the listeners and
 * start the failover thread.  table and store must outlive the peers.
 * \retval 0; RD_ENOMEM; a link's error (e.g. -EADDRINUSE), logged.
 */
int rd_fo_peers_start(const rd_config_t *cfg, rd_table_t *table, rd_store_t *store, rd_fo_peers_t **out);

/*!
 * rd_fo_peers_start() that also runs with no relationship at all (the set
 * is created empty, its thread runs, and rd_fo_peers_reconfigure() adds
 * relationships later: a reload that turns failover on).  err gets the
 * reason of a refusal (e.g. a listener that cannot be opened).
 */
int rd_fo_peers_start_with(const rd_config_t *cfg, rd_table_t *table, rd_store_t *store, rd_fo_peers_t **out,
			   char *err, size_t errlen);

/*!
 * Make the running relationships those of cfg (a reload's candidate, not
 * published yet: call it just before rd_config_publish).  Thread-safe: the
 * failover thread does the work while the caller waits (bounded: 10 s for
 * the thread to take the request, then at most a few seconds).  By name:
 *  - unchanged (every key equal): untouched — link, state, queues;
 *  - removed: stops as on a graceful stop (SHUTDOWN announced from NORMAL,
 *    at most 2 s for the partner's PARTNER-DOWN, RECOVER recorded), its
 *    link and listener close, its stored state is reset so that a later
 *    return starts over in RECOVER; the peer is freed after an RCU grace
 *    period, so no engine-seam reader can still hold it;
 *  - added: starts as at start-up (stored state read, listener opened);
 *  - changed (role, addresses, ports, MCLT, split/hba, timers): stopped as
 *    removed, then started with the new keys and the stored state (as a
 *    restart would).  Except on a role change: the stored state belongs to
 *    the other role, and is kept only if it is RECOVER (role-neutral: it
 *    serves nobody until it has the partner's bindings).  NORMAL,
 *    COMMUNICATIONS-INTERRUPTED or PARTNER-DOWN carried into the swapped
 *    role would let it allocate the addresses that were the partner's
 *    (FREE is the primary's, BACKUP the secondary's) while the partner,
 *    not yet swapped, still allocates them too; so it starts over in
 *    RECOVER (UPDREQALL, then the MCLT wait) instead.
 * The engine seam (rd_fo_peers_engine) stays the same pointer and valid
 * throughout; a pool naming a relationship that is not running is not
 * served.  Refusal leaves everything running as it was.
 * \retval 0; RD_ENOMEM; a listener's error (e.g. -EADDRINUSE); -ETIMEDOUT;
 *         RD_EINVAL (NULL p, or the daemon is stopping); err says why.
 */
int rd_fo_peers_reconfigure(rd_fo_peers_t *p, const rd_config_t *cfg, char *err, size_t errlen);

/*! Relationships running now (0 for NULL). */
size_t rd_fo_peers_count(rd_fo_peers_t *p);

/*!
 * Stop the thread and free everything (NULL is fine).  graceful: a peer in
 * NORMAL first announces SHUTDOWN and waits (at most 5 s) for the partner
 * to take over (PARTNER-DOWN), as ISC does on a clean stop.  Call after the
 * workers are stopped (the engine seam must have no caller left) and
 * before the store closes.
 */
void rd_fo_peers_stop(rd_fo_peers_t *p, bool graceful);

/*!
 * A lease change at addr is durable in the store: queue a BNDUPD if the
 * address is in a failover pool (the version sent is the one the table
 * holds then; an offer, RD_ENGINE_F_OFFERED, is never sent).  Thread-safe,
 * never blocks for long (a mutex and an eventfd write): call it from a
 * store completion.  NULL p: nothing.
 */
void rd_fo_peers_notify(rd_fo_peers_t *p, uint32_t addr);

/*
 * Replies held for the peer (failover[].ack_after_peer, default true).
 *
 * In NORMAL, with the link up, a reply (DHCPACK, BOOTREPLY) whose lease
 * change lies in a failover pool leaves only once our commit is durable
 * AND the peer has acknowledged (BNDACK) a BNDUPD that carries that
 * change or a later version of the address: once a client holds an ACK,
 * the survivor of a crash knows its lease.  In every other state (and with
 * the link down) replies are not held: COMMUNICATIONS-INTERRUPTED and
 * PARTNER-DOWN answer at once, protected by the MCLT as before.
 *
 * The reply is dropped (the client retransmits and the engine decides
 * again in whatever state we are then) when the peer refuses the update,
 * when the peer's own update of the address supersedes ours, when the
 * link goes down while waiting, when no BNDACK came within
 * min(max_response_delay, 10 s), or when the daemon stops.  Worker threads
 * never wait: the reply is a continuation, run on the failover thread.
 */

/*!
 * Called with a held reply's outcome, exactly once, on the failover thread
 * (or the caller of rd_fo_peers_stop): status 0, send it; < 0 (-ECONNREFUSED
 * refused, -ENOTCONN link down, -ETIMEDOUT no BNDACK in time, -ECANCELED
 * superseded or stopping), do not send it; why says so in words (static).
 */
typedef void (*rd_fo_release_fn)(void *ctx, int status, const char *why);

/*!
 * Whether a reply carrying a durable change at addr must wait for the
 * peer: addr is in a pool of a relationship with ack_after_peer, which is
 * in NORMAL with its link up.  Thread-safe (atomics); call inside
 * rcu_read_lock (the configuration is read).  NULL p: false.
 */
bool rd_fo_peers_hold_wanted(rd_fo_peers_t *p, uint32_t addr);

/*!
 * rd_fo_peers_notify() for a change whose reply waits for the peer: the
 * change is queued and the reply (fn, ctx) is held until the peer acks a
 * BNDUPD sent after this call for addr.  Call it from the store completion
 * of that change (status >= 0).  Returns true if held (fn will be called);
 * false (NULL p, out of memory): not held, the caller sends at once.
 */
bool rd_fo_peers_notify_hold(rd_fo_peers_t *p, uint32_t addr, rd_fo_release_fn fn, void *ctx);

/*! Runs on the failover thread after each round that may have released held replies. */
typedef void (*rd_fo_release_end_fn)(void);

/*!
 * Set the hook run on the failover thread at the end of every round of its
 * loop (after the BNDACKs read in that round released their replies), and
 * before rd_fo_peers_drop_held() returns: a caller that queues released
 * replies in a batch (rather than sending each from rd_fo_release_fn)
 * sends them there.  Cheap when unchanged; any thread.
 */
void rd_fo_peers_set_release_end(rd_fo_peers_t *p, rd_fo_release_end_fn fn);

/*!
 * Drop (status -ECANCELED, why) every reply held right now, and every one
 * already handed over, and return once that is done (at most ~5 s): after
 * rd_store_flush(), the sockets those replies name may be closed.  For the
 * main thread when an interface goes away.  NULL p: nothing.
 */
void rd_fo_peers_drop_held(rd_fo_peers_t *p, const char *why);

/*! The engine seam for rd_engine_in_t.fo (valid until rd_fo_peers_stop; NULL for NULL). */
const rd_engine_fo_t *rd_fo_peers_engine(rd_fo_peers_t *p);

/*! A snapshot of one relationship for status and tests. */
typedef struct {
	char name[128];
	enum rd_cfg_role role;
	uint8_t state, partner;     /*!< enum rd_fo_state */
	uint32_t stos;
	bool linked;
	size_t queued, unacked;     /*!< BNDUPDs waiting / awaiting their BNDACK */
	uint32_t peer_address;      /*!< the partner's configured address and port */
	uint16_t peer_port;
	uint32_t last_contact;      /*!< when a message last came from the partner (Unix time; 0: never) */
	uint32_t window;            /*!< how many may await their BNDACK at once (the peer's max-unacked; more for a rackdhcpd peer); 0 while the link is down */
	uint64_t bndupd_sent, bndack_recv, bndupd_recv, bndack_sent, bndupd_rejected;
	size_t replies_waiting;     /*!< replies held for the peer's BNDACK right now */
	uint64_t replies_held;      /*!< ever held (ack_after_peer) */
	uint64_t replies_released;  /*!< held, then sent: the peer acked */
	uint64_t replies_dropped;   /*!< held, then not sent: refused, link down, timeout, stop */
	/* pool balancing (doc §5.5) */
	uint64_t balance_runs;      /*!< rebalance timer runs */
	uint64_t balance_moved;     /*!< addresses handed to the peer by any balance run */
	uint64_t poolreq_sent, poolreq_recv, poolresp_recv;
	uint32_t balance_next;      /*!< Unix time of the next timer run; 0: none planned (not NORMAL) */
} rd_fo_peer_status_t;

/*!
 * Operator: tell relationship `name` that its partner is down (the state
 * machine's PARTNER-DOWN event, as ISC's omshell local-state 4).  Thread-safe
 * and asynchronous: the failover thread applies it at once; status shows the
 * result.  0, or RD_EINVAL (unknown name, or no failover) with err filled.
 */
int rd_fo_peers_partner_down(rd_fo_peers_t *p, const char *name, char *err, size_t errlen);

/*! Fill up to cap snapshots; returns the number of relationships. */
size_t rd_fo_peers_status(rd_fo_peers_t *p, rd_fo_peer_status_t *out, size_t cap);
