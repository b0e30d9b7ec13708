/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fo_state.h — the failover state machine, and the rules that follow from
 * the state: which clients and addresses a server may serve, and which
 * binding-status changes a peer's BNDUPD may make.
 *
 * The target is draft-ietf-dhc-failover-12 as ISC dhcpd 4.4.3 implements it,
 * because the peer on the other end of the wire is an ISC dhcpd; where ISC
 * departs from the draft, ISC's behaviour is what is coded here (see
 * ../shared/docs/failover-protocol.md §4 and §5, cited as "doc §N" below).
 *
 * Everything here is pure: no I/O, no clock, no allocation.  Time is a
 * parameter (Unix seconds, uint32_t like the wire), and the state machine
 * turns (state, event) into (new state, ordered actions) for the caller to
 * carry out: the caller owns the link, the lease store and the timers.
 *
 * Times: 0 means "unset", RD_FO_TIME_NEVER "never"; sums saturate below
 * RD_FO_TIME_NEVER rather than wrap (fo_balance.h has the lease-time rules).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rackdhcp/config.h"

/*! "Never" as a failover time (an infinite potential expiry). */
#define RD_FO_TIME_NEVER UINT32_MAX

/*! ISC's 15 s for the peer's first STATE after start-up (doc §1.1, §4.2). */
#define RD_FO_STARTUP_TIMEOUT 15
/*! ISC's slack when a peer says an ACTIVE lease expired: 60 s skew + 5 (doc §4.5). */
#define RD_FO_EXPIRY_SLACK 65

/*
 * The wire values below (states, the STARTUP flag, binding statuses) are
 * shared with the message codec, fo_msg.h, which guards its identical copy
 * the same way: whichever header comes first defines them, so a file may
 * include both in either order.
 */
/* The state and binding-status codes are wire values: fo_msg.h has them. */
#include "rackdhcp/fo_msg.h"

/*!
 * The reject-reason codes this module hands back for a refused BNDUPD
 * (draft-12 §12.21, values as on the wire).  Only the ones ISC uses for
 * BNDUPD are named; the message codec has the full list.
 */
enum rd_fo_bndupd_reject {
	RD_FO_BNDUPD_OK = 0,
	RD_FO_BNDUPD_REJ_CONFLICT = 2,       /*!< "fatal conflict": transition not allowed */
	RD_FO_BNDUPD_REJ_MISSING_INFO = 3,   /*!< no chaddr for ACTIVE/EXPIRED/RELEASED */
	RD_FO_BNDUPD_REJ_MISC = 6,           /*!< ABANDONED with chaddr/client-id, chaddr too long, BOOTP flag */
	RD_FO_BNDUPD_REJ_OUTDATED = 15,      /*!< FREE/BACKUP older than our unexpired ACTIVE binding (not ISC) */
	RD_FO_BNDUPD_REJ_LESS_CRITICAL = 16, /*!< dueling updates: ours wins */
	RD_FO_BNDUPD_REJ_NOT_RESERVED = 19,  /*!< RESERVED flag on an address we hold as our own free */
};

/*!
 * Lease-file keyword of a state ("normal", "recover-wait"), or NULL if s is
 * not a state: the spelling ISC's `failover peer "X" state { }` record uses,
 * for persisting the state.  (The codec's rd_fo_state_name() is the log
 * variant: it never returns NULL.)
 */
const char *rd_fo_state_keyword(uint8_t s);
/*! The state named by a lease-file keyword (exact, lower case); -1 if none. */
int rd_fo_state_parse(const char *name);
/*!
 * true for 0..11 and 254.  ISC moves itself to SHUTDOWN when a peer
 * reports anything else (doc §3.2), and so does rd_fo_sm_event.
 */
bool rd_fo_state_valid(uint8_t s);

static inline bool rd_fo_binding_valid(uint8_t b) { return b >= RD_FO_BS_FREE && b <= RD_FO_BS_BACKUP; }

/* ------------------------------------------------------------------------
 * The state machine
 */

/*! The one timer the state machine may have running (they exclude each other by state). */
enum rd_fo_timer {
	RD_FO_TIMER_NONE = 0,
	RD_FO_TIMER_STARTUP,            /*!< fire RD_FO_EV_STARTUP_TIMEOUT at timer_at */
	RD_FO_TIMER_AUTO_PARTNER_DOWN,  /*!< fire RD_FO_EV_AUTO_PARTNER_DOWN at timer_at */
	RD_FO_TIMER_RECOVER_WAIT,       /*!< fire RD_FO_EV_MCLT_ELAPSED at timer_at (STOS + MCLT) */
};

/*! Which update request of ours is waiting for its UPDDONE (ISC's curUPD). */
enum rd_fo_pending {
	RD_FO_PENDING_NONE = 0,
	RD_FO_PENDING_UPDREQ,
	RD_FO_PENDING_UPDREQALL,
};

/*!
 * One failover relationship as the state machine sees it.  Fields marked
 * [persist] are what ISC writes in its `failover peer "X" state { }` record
 * (doc §7.3).  At start: rd_fo_sm_init(), then the stored state goes in
 * `saved` and the other [persist] fields as stored, then RD_FO_EV_STARTUP.
 */
typedef struct rd_fo_sm {
	uint8_t state;          /*!< enum rd_fo_state; STARTUP while starting up */
	uint8_t saved;          /*!< [persist] in STARTUP, the state it returns to; else == state */
	uint8_t partner;        /*!< [persist] the partner's last reported state (UNKNOWN before any) */
	uint32_t stos;          /*!< [persist] start time of our state */
	/*!
	 * [persist] when the partner's state last changed, by OUR clock (ISC
	 * ignores the STOS a STATE carries and records its receive time)
	 */
	uint32_t partner_stos;
	uint32_t mclt;          /*!< [persist] seconds; a secondary learns it from CONNECT (ISC: `mclt N;`) */
	enum rd_cfg_role role;
	uint32_t auto_partner_down;  /*!< seconds in COMM-INTERRUPTED before PARTNER-DOWN; 0 never */
	bool linked;            /*!< the CONNECT/CONNECTACK handshake is done and the link is up */
	uint8_t upd_pending;    /*!< enum rd_fo_pending */
	uint8_t timer;          /*!< enum rd_fo_timer */
	uint32_t timer_at;      /*!< when it fires (valid unless timer is NONE) */
} rd_fo_sm_t;

/*! A machine with no history: state UNKNOWN, nothing persisted yet. */
void rd_fo_sm_init(rd_fo_sm_t *sm, enum rd_cfg_role role, uint32_t mclt, uint32_t auto_partner_down);

/*! The state to persist and to announce: the saved state while in STARTUP. */
static inline uint8_t rd_fo_sm_persisted_state(const rd_fo_sm_t *sm)
{
	return sm->state == RD_FO_ST_STARTUP ? sm->saved : sm->state;
}

enum rd_fo_event_kind {
	/*!
	 * The process starts.  The [persist] fields hold what was stored; with
	 * `fresh` (no state record, or the lease database was lost or found
	 * empty) they are ignored and the server starts over in RECOVER, as ISC
	 * does with no record: it will serve nobody until it has the peer's
	 * whole database (UPDREQALL) and, unless the peer is new too, MCLT has
	 * passed (RECOVER-WAIT).  Enters STARTUP for RD_FO_STARTUP_TIMEOUT s.
	 */
	RD_FO_EV_STARTUP,
	/*! CONNECT/CONNECTACK accepted, the link is up.  ev.mclt: the MCLT from CONNECT (secondary; 0 = none). */
	RD_FO_EV_CONNECTED,
	/*! A STATE message: ev.partner_state, ev.partner_flags (server-flags). */
	RD_FO_EV_PARTNER_STATE,
	/*!
	 * The link is gone (TCP closed, receive timer, a failed handshake), or
	 * a connect attempt failed as unreachable/timed out (ISC applies the
	 * same rule then, which ends STARTUP early).
	 */
	RD_FO_EV_LINK_LOST,
	RD_FO_EV_STARTUP_TIMEOUT,     /*!< RD_FO_TIMER_STARTUP fired (stale ones are ignored) */
	RD_FO_EV_AUTO_PARTNER_DOWN,   /*!< RD_FO_TIMER_AUTO_PARTNER_DOWN fired */
	RD_FO_EV_MCLT_ELAPSED,        /*!< RD_FO_TIMER_RECOVER_WAIT fired */
	RD_FO_EV_UPDDONE,             /*!< UPDDONE received: the peer finished answering our UPDREQ(ALL) */
	RD_FO_EV_UPDREQ,              /*!< UPDREQ received (no state change; actions say what to send) */
	RD_FO_EV_UPDREQALL,           /*!< UPDREQALL received */
	RD_FO_EV_PARTNER_DOWN,        /*!< operator: the partner is down (omshell local-state 4) */
	RD_FO_EV_SET_STATE,           /*!< operator: move to ev.state, whatever it is (omshell local-state) */
	/*!
	 * Graceful stop begins: NORMAL goes to SHUTDOWN (other states stay).  Wait
	 * (ISC: about 5 s) for the partner to report PARTNER-DOWN, then send
	 * RD_FO_EV_SHUTDOWN_DONE and exit.
	 */
	RD_FO_EV_SHUTDOWN,
	/*!
	 * Graceful stop ends: SHUTDOWN becomes RECOVER, recorded but not
	 * announced (the link is dropped first).  With the partner in
	 * PARTNER-DOWN and ev.queues_empty, STOS is backdated by MCLT so the
	 * next start needs no RECOVER-WAIT (doc §4.2).
	 */
	RD_FO_EV_SHUTDOWN_DONE,
};

typedef struct {
	enum rd_fo_event_kind kind;
	uint32_t now;
	bool fresh;             /*!< STARTUP: nothing usable stored (see above) */
	uint8_t partner_state;  /*!< PARTNER_STATE: server-state (0 if the option was missing) */
	uint8_t partner_flags;  /*!< PARTNER_STATE: server-flags */
	uint8_t state;          /*!< SET_STATE */
	bool queues_empty;      /*!< SET_STATE, SHUTDOWN_DONE: no BNDUPD queued or awaiting its BNDACK */
	uint32_t mclt;          /*!< CONNECTED */
} rd_fo_event_t;

enum rd_fo_action_kind {
	/*!
	 * Write the [persist] fields durably: .state (never STARTUP), .stos,
	 * .partner, and the machine's partner_stos and mclt.  Always comes before
	 * the SEND_STATE that announces the state.  If it fails, throw `out`
	 * away and keep `in` (ISC refuses a transition it cannot record).
	 */
	RD_FO_ACT_PERSIST,
	/*! Send STATE: server-state .state, server-flags .flags, STOS .stos. */
	RD_FO_ACT_SEND_STATE,
	RD_FO_ACT_SEND_UPDREQ,          /*!< send UPDREQ (new xid); the answer is RD_FO_EV_UPDDONE */
	RD_FO_ACT_SEND_UPDREQALL,       /*!< send UPDREQALL */
	/*!
	 * Answer an UPDREQ: queue a BNDUPD for every lease the peer has not
	 * acknowledged (tstp > atsfp) and every EXPIRED/RELEASED/RESET lease, and
	 * send UPDDONE (the request's xid) after the BNDACK of the last one, or
	 * at once if there is none.
	 */
	RD_FO_ACT_ANSWER_UPDREQ,
	/*! Answer an UPDREQALL: the same with every lease of the relationship's pools, FREE and BACKUP included. */
	RD_FO_ACT_ANSWER_UPDREQALL,
	/*! Send what is queued (at most the peer's max-unacked in flight). */
	RD_FO_ACT_SEND_UPDATES,
	/*! Queue every lease with tstp > atsfp and every EXPIRED/RELEASED/RESET one, and send (entry to NORMAL). */
	RD_FO_ACT_QUEUE_UPDATES,
	/*! Put every BNDUPD still awaiting its BNDACK back on the send queue: it goes again, with a new xid. */
	RD_FO_ACT_RESCIND,
	/*! Rebalance every pool now (rd_fo_pool_balance, not timer-driven: no POOLREQ). */
	RD_FO_ACT_POOL_BALANCE,
	/*! Recompute every pool's next rebalance time (rd_fo_balance_next). */
	RD_FO_ACT_POOL_CHECK,
	/*!
	 * Entry to PARTNER-DOWN: every EXPIRED/RELEASED/RESET lease gets
	 * tsfp = .stos + MCLT and becomes FREE at max(tsfp, ends)
	 * (rd_fo_partner_down_tsfp).
	 */
	RD_FO_ACT_EXPIRE_TRANSITIONAL,
	/*! Close the link (a STARTUP timeout with a silent peer; after an ERROR). */
	RD_FO_ACT_DISCONNECT,
	/*!
	 * The peer did something ISC answers with log_fatal (it exits): a state
	 * other than NORMAL, SHUTDOWN, POTENTIAL-CONFLICT or RESOLUTION-INTERRUPTED
	 * while we are CONFLICT-DONE.  We neither exit nor move: log .why loudly;
	 * a DISCONNECT follows, so the peer sees what it would see from ISC.
	 */
	RD_FO_ACT_ERROR,
};

typedef struct {
	enum rd_fo_action_kind kind;
	uint8_t state;      /*!< PERSIST, SEND_STATE: the state (the saved one in STARTUP) */
	uint8_t flags;      /*!< SEND_STATE: server-flags */
	uint8_t partner;    /*!< PERSIST: the partner's state */
	uint32_t stos;      /*!< PERSIST, SEND_STATE, EXPIRE_TRANSITIONAL: our STOS */
	const char *why;    /*!< static text for the log, or NULL */
} rd_fo_action_t;

#define RD_FO_MAX_ACTIONS 32

/*! Actions to carry out in order. */
typedef struct {
	unsigned n;
	rd_fo_action_t a[RD_FO_MAX_ACTIONS];
	/*! A log line for the event when something noteworthy happened (illegal peer transition...), else NULL. */
	const char *note;
} rd_fo_actions_t;

/*!
 * Apply one event.  `out` receives the new machine (it may be `in`), `act`
 * the ordered actions.  The reaction to a partner's STATE is ISC's table
 * (doc §4.3), including its quirks: a repeated state is ignored in NORMAL,
 * POTENTIAL-CONFLICT, RECOVER-DONE, SHUTDOWN, PAUSED and RECOVER-WAIT; a
 * PARTNER-DOWN server ignores a peer that is still starting up; an invalid
 * state moves us to SHUTDOWN.  Entering a state sets STOS to ev.now except
 * for RECOVER-WAIT and on entry to or exit from STARTUP, cancels the timer,
 * and runs ISC's entry actions (doc §4.2).
 * \retval 0 done
 * \retval RD_EINVAL NULL argument, unknown event, or SET_STATE to a non-state
 *         (out = in, no actions)
 */
int rd_fo_sm_event(const rd_fo_sm_t *in, const rd_fo_event_t *ev, rd_fo_sm_t *out, rd_fo_actions_t *act);

/* ------------------------------------------------------------------------
 * Serving (doc §4.1, §5.1, §5.4)
 */

/*!
 * Whether a server in my_state answers clients at all, given the partner's
 * last reported state.  NORMAL, COMMUNICATIONS-INTERRUPTED and PARTNER-DOWN
 * do; nothing else does (RECOVER*, the conflict states, PAUSED, SHUTDOWN,
 * STARTUP), and none does while the partner reports PARTNER-DOWN,
 * POTENTIAL-CONFLICT, CONFLICT-DONE or RESOLUTION-INTERRUPTED (ISC's
 * service state, doc §4.1).
 */
bool rd_fo_state_serves(uint8_t my_state, uint8_t partner_state);

/*!
 * Whether to answer one client message (DISCOVER, REQUEST, BOOTP...).
 * balanced: load balancing applies to it (rd_fo_lb_applies).
 * lb_mine: rd_fo_lb_mine() for the client (hash bucket ours, or secs over
 *          the limit, or balancing disabled).
 * peer_has_free: the pool still has leases the peer may allocate (BACKUP for
 *          a primary, FREE for a secondary); ISC answers a client that hashes
 *          to a peer with nothing left ("cancel load balance to peer").
 * In NORMAL a balanced message is answered when lb_mine or !peer_has_free,
 * anything else always; COMMUNICATIONS-INTERRUPTED and PARTNER-DOWN answer
 * everyone (renewals of any client; new addresses only as
 * rd_fo_may_allocate allows).  DHCPINFORM touches no lease: not governed.
 */
bool rd_fo_may_serve(uint8_t my_state, uint8_t partner_state, bool balanced, bool lb_mine,
		     bool peer_has_free);

typedef struct {
	uint8_t my_state, partner_state;
	enum rd_cfg_role role;
	uint8_t binding;    /*!< the address's binding status */
	/*!
	 * The binding status the peer last knew (ISC's "rewind binding state"):
	 * an EXPIRED/RELEASED lease whose rewind state is our own free state
	 * (FREE for the primary, BACKUP for the secondary) was never reported
	 * ACTIVE to the peer and is ours again at once.  0 if unknown.
	 */
	uint8_t rewind;
	uint32_t tsfp;      /*!< the lease's tsfp */
	uint32_t stos;      /*!< our STOS (the time we entered PARTNER-DOWN) */
	uint32_t mclt;
	uint32_t now;
} rd_fo_alloc_in_t;

/*!
 * Whether this server may give the address to a new client now (ISC
 * lease_mine_to_reallocate under the service state):
 *  - never while rd_fo_state_serves() says no, never an ACTIVE lease;
 *  - FREE (and ABANDONED, the last resort): the primary; the secondary only
 *    in PARTNER-DOWN once now > max(STOS, tsfp) + MCLT;
 *  - BACKUP: the secondary; the primary only in PARTNER-DOWN, same rule;
 *  - EXPIRED/RELEASED: if the rewind state is our own free state; else like
 *  - RESET: only in PARTNER-DOWN once now > tsfp (which entering
 *    PARTNER-DOWN set to STOS + MCLT, RD_FO_ACT_EXPIRE_TRANSITIONAL).
 * In NORMAL and COMMUNICATIONS-INTERRUPTED that leaves each server its own
 * free pool.  Lease times stay MCLT-bound in every state (rd_fo_lease_time).
 */
bool rd_fo_may_allocate(const rd_fo_alloc_in_t *in);

/* ------------------------------------------------------------------------
 * Binding updates from the peer (doc §3.2, §4.5)
 */

/*!
 * Whether ISC lets a peer's BNDUPD move a lease from `cur` to `proposed`.
 * In NORMAL (ISC normal_binding_state_transition_check), with `pexp` the
 * BNDUPD's potential-expiration-time and `cur_ends` our lease end (0 is
 * taken as infinite, as lease.h does for ACTIVE leases):
 *   FREE, ABANDONED, RELEASED, BACKUP: anything;
 *   ACTIVE on the primary: RELEASED or ABANDONED only;
 *   ACTIVE on the secondary: ACTIVE, RELEASED, ABANDONED, RESET; EXPIRED
 *     once cur_ends - 65 <= now; FREE/BACKUP once pexp <= now;
 *   EXPIRED, RESET: anything but FREE/BACKUP while pexp > now.
 * In every other state (ISC conflict_binding_state_transition_check): a
 * lease not ACTIVE here takes anything; an ACTIVE one refuses FREE and
 * BACKUP, and EXPIRED until cur_ends - 65 <= now.  The same state is
 * always accepted.  Statuses outside 1..7 are refused.
 */
bool rd_fo_binding_transition_ok(uint8_t my_state, enum rd_cfg_role my_role, uint8_t cur,
				 uint8_t proposed, uint32_t cur_ends, uint32_t pexp, uint32_t now);

/*! What is known of one received BNDUPD and the lease it names. */
typedef struct {
	uint8_t my_state;          /*!< our state */
	enum rd_cfg_role role;     /*!< OUR role; the sender has the other one */
	uint32_t now;
	/* our lease */
	uint8_t cur;               /*!< its binding status */
	uint16_t cur_flags;        /*!< RD_LEASE_F_RESERVED / RD_LEASE_F_BOOTP as we hold them */
	uint32_t cur_ends;         /*!< its end (0 = infinite) */
	uint32_t cur_cltt;
	uint32_t cur_starts;       /*!< its start (STOS as we would send it) */
	/*!
	 * Our own BNDUPD for this lease is awaiting its BNDACK ("dueling
	 * updates"); pending_state is the status it carried.
	 */
	bool awaiting_ack;
	uint8_t pending_state;
	/* the BNDUPD */
	uint8_t proposed;          /*!< binding-status */
	bool has_chaddr;
	uint8_t chaddr_len;        /*!< option length, htype byte included */
	bool has_cid;
	bool has_ip_flags;
	uint16_t ip_flags;         /*!< RD_LEASE_F_RESERVED (0x1) / RD_LEASE_F_BOOTP (0x2) */
	bool has_pexp;
	uint32_t pexp;             /*!< potential-expiration-time */
	bool has_cltt;
	uint32_t cltt;
	bool has_stos;
	uint32_t stos;             /*!< start-time-of-state */
} rd_fo_bndupd_in_t;

typedef struct {
	uint8_t reject;     /*!< enum rd_fo_bndupd_reject: 0 = accept */
	const char *why;    /*!< ISC's message text when refused, else NULL */
	/*! Accepted: the status to store.  EXPIRED/RELEASED/RESET from the peer become FREE at once. */
	uint8_t store;
	/*!
	 * Accepted, and our own unacked BNDUPD for the lease lost the duel:
	 * drop it from the ack queue (its BNDACK, if one comes, means nothing).
	 */
	bool cancel_own;
	/*!
	 * Accepted as FREE from a transitional status, we are the primary and
	 * the lease is neither RESERVED nor BOOTP: move it on to BACKUP (our own
	 * BNDUPD, tstp = starts = now) if its client hashes to the secondary
	 * (rd_fo_lb_peer_wants) and rd_fo_secondary_not_hoarding() (ISC "MAC
	 * address affinity").
	 */
	bool affinity;
	/*!
	 * The peer has to learn our version of the lease: queue it for the peer
	 * unless our own BNDUPD of it is already in flight.  Set when refused
	 * because our binding must stand (reject 15), and when we are the
	 * primary, accepted the peer's ACTIVE and cancelled our own update
	 * of it (not ACTIVE, not EXPIRED): an ISC secondary takes that one in
	 * the same duel (it lets its ACTIVE yield to such an update), and gets
	 * the binding back this way.
	 */
	bool send_own;
} rd_fo_bndupd_verdict_t;

/*!
 * Judge a BNDUPD as ISC's dhcp_failover_process_bind_update does, after the
 * caller checked what needs the lease table (assigned-IP and binding-status
 * present: else reject 3; the address in a pool of this relationship: else
 * reject 1).  In ISC's order: dueling updates (16), then chaddr (ABANDONED
 * with one: 6; longer than 17 bytes: 6; missing for ACTIVE/EXPIRED/RELEASED:
 * 3), client-id on ABANDONED (6), IP-flags RESERVED (19) or BOOTP (6) on an
 * address we hold as our own free one without that flag, then the
 * transition (2, rd_fo_binding_transition_ok).
 *
 * In a duel, a local ACTIVE beats any incoming update but ACTIVE (newer
 * CLTT wins) and EXPIRED, whatever our role (ISC: only on the primary, so a
 * secondary's ACTIVE and the primary's FREE, BACKUP, RELEASED... cross and
 * each side takes the other's).
 *
 * One more rule goes beyond ISC: a FREE or BACKUP for an address we hold ACTIVE
 * for a client, unexpired (ends 0 or after now), is refused with 15
 * ("outdated binding information") unless its STOS is newer than both our
 * binding's start and its CLTT.  ISC lets the primary free an ACTIVE lease
 * of the secondary whenever pexp <= now, and a pool-balancing move carries
 * pexp = STOS = the time of the move: a stale one (resent after a link
 * drop, or crossing the secondary's grant on the wire) would otherwise
 * wipe a binding the secondary has just given, and the secondary would give
 * the address again.  send_own is set with it: the peer must learn our
 * binding, or it keeps a free address that a client holds.
 */
void rd_fo_bndupd_check(const rd_fo_bndupd_in_t *in, rd_fo_bndupd_verdict_t *v);

/*!
 * Whether to send our BNDUPD again after the peer refused it with
 * `reject_reason`, when we refused the peer's update of the same address
 * while ours was in flight (the caller checks that part).  Only for 16 (the
 * peer's own update was in flight and won the duel): when we accepted
 * theirs, nothing is resent; when we refused theirs too (our transition
 * rules forbid it, e.g. FREE onto our EXPIRED while pexp is in the future),
 * both sides would keep their own version until the next entry to NORMAL.  By the time that refusal reaches us, our refusal of
 * theirs went out before it on the stream, so the peer has dropped its
 * update from its ack queue and judges the resent one on its transition
 * rules alone, without a duel.  Other reasons are final: resending would
 * be refused again.
 */
bool rd_fo_resend_refused(uint8_t reject_reason);

/*!
 * Statuses that a server may not leave for FREE on its own: EXPIRED,
 * RELEASED, RESET wait for the peer's BNDACK (or the PARTNER-DOWN rule).
 */
static inline bool rd_fo_binding_needs_ack(uint8_t b)
{
	return b == RD_FO_BS_EXPIRED || b == RD_FO_BS_RELEASED || b == RD_FO_BS_RESET;
}

/*!
 * The status a lease takes when the peer acks our BNDUPD that carried
 * `sent`: FREE after EXPIRED/RELEASED/RESET (BACKUP on a secondary if the
 * lease is reserved), so addresses the secondary handed out return to the
 * primary; `sent` itself otherwise.
 */
uint8_t rd_fo_binding_after_ack(enum rd_cfg_role role, uint8_t sent, bool reserved);
