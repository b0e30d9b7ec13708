/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * state.c — the failover state machine and the state-dependent lease rules
 * (see fo_state.h for the contract, ../shared/docs/failover-protocol.md for
 * the source of each rule).
 *
 * Design notes:
 *  - The reaction to the partner's STATE is one table, rows = our state (the
 *    saved one in STARTUP), columns = the state the partner reports, cells =
 *    next state plus a few flags for ISC's conditional cells.  The code
 *    around it does only what is the same for every cell (recording the
 *    partner's state, leaving STARTUP), so the table reads like doc §4.3
 *    and the unit test can walk it cell by cell.
 *  - Every transition goes through enter(), which is ISC's set_state: the
 *    rescind of unacked updates, the STOS rule, the persist-then-announce
 *    order and the entry actions live in one place.
 *  - Timers are data (one slot: the three timers belong to three different
 *    states), so the machine stays pure and a stale timer event is simply
 *    ignored.  ISC leaves its recover-done timer running across an operator
 *    state change; cancelling it on every change is the safe reading.
 *  - Time sums are done in 64 bits and clamped, so an MCLT near 2^32 or a
 *    clock near 2106 cannot wrap into "already elapsed".
 */
#include <string.h>

#include "rackdhcp/error.h"
#include "rackdhcp/fo_state.h"
#include "rackdhcp/lease.h"

_Static_assert((int)RD_FO_BS_FREE == (int)RD_LEASE_FREE && (int)RD_FO_BS_ACTIVE == (int)RD_LEASE_ACTIVE &&
		       (int)RD_FO_BS_EXPIRED == (int)RD_LEASE_EXPIRED &&
		       (int)RD_FO_BS_RELEASED == (int)RD_LEASE_RELEASED &&
		       (int)RD_FO_BS_ABANDONED == (int)RD_LEASE_ABANDONED &&
		       (int)RD_FO_BS_RESET == (int)RD_LEASE_RESET && (int)RD_FO_BS_BACKUP == (int)RD_LEASE_BACKUP,
	       "binding-status codes and lease states must stay the same numbers");

#define S(x) RD_FO_ST_##x

/* ---- names */

static const char *const state_names[12] = {
	"unknown-state", "startup", "normal", "communications-interrupted", "partner-down",
	"potential-conflict", "recover", "paused", "shutdown", "recover-done",
	"resolution-interrupted", "conflict-done",
};

bool rd_fo_state_valid(uint8_t s)
{
	return s <= S(CONFLICT_DONE) || s == S(RECOVER_WAIT);
}

const char *rd_fo_state_keyword(uint8_t s)
{
	if (s == S(RECOVER_WAIT))
		return "recover-wait";
	return s < 12 ? state_names[s] : NULL;
}

int rd_fo_state_parse(const char *name)
{
	if (!name)
		return -1;
	for (unsigned i = 0; i < 12; i++)
		if (strcmp(name, state_names[i]) == 0)
			return (int)i;
	return strcmp(name, "recover-wait") == 0 ? S(RECOVER_WAIT) : -1;
}

/* ---- time */

/* a + b, clamped below RD_FO_TIME_NEVER: a finite time never becomes "never" */
static uint32_t tadd(uint32_t a, uint32_t b)
{
	uint64_t s = (uint64_t)a + b;
	return s >= RD_FO_TIME_NEVER ? RD_FO_TIME_NEVER - 1 : (uint32_t)s;
}

/* ---- the reaction table (doc §4.3) */

#define KEEP 0xff

enum {
	X_POOL_CHECK = 1u << 0,     /* schedule a pool check (both NORMAL) */
	X_SEND_FIRST = 1u << 1,     /* send queued updates before moving */
	X_UPDREQALL = 1u << 2,      /* send UPDREQALL, unless we are still in STARTUP */
	X_UPDREQ_PC = 1u << 3,      /* send UPDREQ if the partner was POTENTIAL-CONFLICT before */
	X_STARTUP_RECOVER = 1u << 4,/* in STARTUP go to RECOVER instead of .next */
	X_ILLEGAL = 1u << 5,        /* the peer's move is illegal here: log it */
	X_FATAL = 1u << 6,          /* ISC exits */
	X_NOT_PEER_STARTUP = 1u << 7, /* nothing at all while the peer says STARTUP */
};

typedef struct {
	uint8_t next;
	uint8_t flags;
} cell_t;

/* column (and row) index of a state: 0..11, RECOVER-WAIT 12 */
#define NCOL 13
static int idx(uint8_t s)
{
	if (s == S(RECOVER_WAIT))
		return 12;
	return s <= S(CONFLICT_DONE) ? s : -1;
}

#define K {KEEP, 0}
#define TO(s) {S(s), 0}

/*
 * Rows: our state.  Columns, in state-code order:
 * UNKNOWN STARTUP NORMAL COMM-INT PARTNER-DOWN POT-CONFLICT RECOVER PAUSED
 * SHUTDOWN RECOVER-DONE RESOL-INT CONFLICT-DONE RECOVER-WAIT
 */
static const cell_t react[NCOL][NCOL] = {
	[0] = { K, K, K, K, K, K, K, K, K, K, K, K, K },        /* UNKNOWN: no automatic move */
	[1] = { K, K, K, K, K, K, K, K, K, K, K, K, K },        /* STARTUP: never a row (saved state is) */
	[S(NORMAL)] = {
		K, K,
		{KEEP, X_POOL_CHECK},                              /* NORMAL */
		K,                                                 /* COMM-INT */
		{S(POTENTIAL_CONFLICT), X_STARTUP_RECOVER},        /* PARTNER-DOWN */
		{S(SHUTDOWN), X_ILLEGAL},                          /* POT-CONFLICT */
		TO(PARTNER_DOWN),                                  /* RECOVER */
		TO(COMM_INTERRUPTED),                              /* PAUSED */
		TO(PARTNER_DOWN),                                  /* SHUTDOWN */
		K,                                                 /* RECOVER-DONE */
		{S(SHUTDOWN), X_ILLEGAL},                          /* RESOL-INT */
		{S(SHUTDOWN), X_ILLEGAL},                          /* CONFLICT-DONE */
		K,                                                 /* RECOVER-WAIT */
	},
	[S(COMM_INTERRUPTED)] = {
		K, K,
		{S(NORMAL), X_SEND_FIRST},
		{S(NORMAL), X_SEND_FIRST},
		TO(POTENTIAL_CONFLICT),
		TO(POTENTIAL_CONFLICT),
		TO(PARTNER_DOWN),                                  /* an amnesiac peer */
		K,
		TO(PARTNER_DOWN),
		{S(NORMAL), X_SEND_FIRST},
		TO(POTENTIAL_CONFLICT),
		TO(POTENTIAL_CONFLICT),
		{S(NORMAL), X_SEND_FIRST},
	},
	[S(PARTNER_DOWN)] = {
		{KEEP, X_NOT_PEER_STARTUP}, {KEEP, X_NOT_PEER_STARTUP},
		{S(POTENTIAL_CONFLICT), X_NOT_PEER_STARTUP},       /* NORMAL */
		{S(POTENTIAL_CONFLICT), X_NOT_PEER_STARTUP},       /* COMM-INT */
		{S(POTENTIAL_CONFLICT), X_NOT_PEER_STARTUP},       /* PARTNER-DOWN */
		{S(POTENTIAL_CONFLICT), X_NOT_PEER_STARTUP},       /* POT-CONFLICT */
		{KEEP, X_NOT_PEER_STARTUP},                        /* RECOVER: where it should be */
		{KEEP, X_NOT_PEER_STARTUP},                        /* PAUSED */
		{KEEP, X_NOT_PEER_STARTUP},                        /* SHUTDOWN */
		{S(NORMAL), X_NOT_PEER_STARTUP},                   /* RECOVER-DONE */
		{S(POTENTIAL_CONFLICT), X_NOT_PEER_STARTUP},       /* RESOL-INT */
		{S(POTENTIAL_CONFLICT), X_NOT_PEER_STARTUP},       /* CONFLICT-DONE */
		{KEEP, X_NOT_PEER_STARTUP},                        /* RECOVER-WAIT */
	},
	[S(POTENTIAL_CONFLICT)] = {
		K, K,
		{S(SHUTDOWN), X_ILLEGAL},                          /* NORMAL: "panic" */
		K, K, K,
		TO(RECOVER),
		K,
		TO(PARTNER_DOWN),
		K, K,
		{KEEP, X_UPDREQ_PC},                               /* CONFLICT-DONE */
		K,
	},
	[S(RECOVER)] = {
		K, K,
		TO(POTENTIAL_CONFLICT),                            /* NORMAL */
		{KEEP, X_UPDREQALL},                               /* COMM-INT */
		{KEEP, X_UPDREQALL},                               /* PARTNER-DOWN */
		TO(POTENTIAL_CONFLICT),
		{KEEP, X_UPDREQALL},                               /* RECOVER */
		K,
		TO(PARTNER_DOWN),
		K,
		TO(POTENTIAL_CONFLICT),
		TO(POTENTIAL_CONFLICT),
		K,
	},
	[S(PAUSED)] = { K, K, K, K, K, K, K, K, K, K, K, K, K },
	[S(SHUTDOWN)] = { K, K, K, K, K, K, K, K, K, K, K, K, K },
	[S(RECOVER_DONE)] = {
		K, K,
		TO(NORMAL),
		K, K, K, K, K,
		TO(PARTNER_DOWN),
		TO(NORMAL),                                        /* "Both servers have entered recover-done!" */
		K, K, K,
	},
	[S(RESOLUTION_INTERRUPTED)] = {
		K, K,
		TO(POTENTIAL_CONFLICT), TO(POTENTIAL_CONFLICT), TO(POTENTIAL_CONFLICT),
		TO(POTENTIAL_CONFLICT), TO(POTENTIAL_CONFLICT),
		K,
		TO(PARTNER_DOWN),
		TO(POTENTIAL_CONFLICT), TO(POTENTIAL_CONFLICT), TO(POTENTIAL_CONFLICT),
		TO(POTENTIAL_CONFLICT),
	},
	[S(CONFLICT_DONE)] = {
		{KEEP, X_FATAL}, {KEEP, X_FATAL},
		TO(NORMAL),
		{KEEP, X_FATAL}, {KEEP, X_FATAL},
		K,                                                 /* POT-CONFLICT */
		{KEEP, X_FATAL}, {KEEP, X_FATAL},
		TO(SHUTDOWN),
		{KEEP, X_FATAL},
		K,                                                 /* RESOL-INT */
		{KEEP, X_FATAL}, {KEEP, X_FATAL},
	},
	[12] = { K, K, K, K, K, K, K, K, K, K, K, K, K },       /* RECOVER-WAIT: just wait */
};

/* ---- the machine */

typedef struct {
	rd_fo_sm_t *s;
	rd_fo_actions_t *act;
	uint32_t now;
	bool queues_empty;
	bool booting;           /* process start: nothing can be in flight yet */
} ctx_t;

static void push(ctx_t *c, enum rd_fo_action_kind kind, const char *why)
{
	rd_fo_action_t *a;

	/* The worst event emits well under RD_FO_MAX_ACTIONS (the unit test
	 * checks the bound on every table cell); never overrun regardless. */
	if (c->act->n >= RD_FO_MAX_ACTIONS)
		return;
	a = &c->act->a[c->act->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->state = rd_fo_sm_persisted_state(c->s);
	a->flags = c->s->state == S(STARTUP) ? RD_FO_SERVER_FLAG_STARTUP : 0;
	a->partner = c->s->partner;
	a->stos = c->s->stos;
	a->why = why;
}

static void send_updreq(ctx_t *c)
{
	if (!c->s->linked)
		return;
	/* doc §2: a server whose own UPDREQALL is unanswered asks for
	 * everything again rather than for less */
	if (c->s->upd_pending == RD_FO_PENDING_UPDREQALL) {
		push(c, RD_FO_ACT_SEND_UPDREQALL, NULL);
		return;
	}
	if (c->s->upd_pending == RD_FO_PENDING_UPDREQ)
		return;
	push(c, RD_FO_ACT_SEND_UPDREQ, NULL);
	c->s->upd_pending = RD_FO_PENDING_UPDREQ;
}

static void send_updreqall(ctx_t *c)
{
	if (!c->s->linked || c->s->upd_pending == RD_FO_PENDING_UPDREQALL)
		return;
	push(c, RD_FO_ACT_SEND_UPDREQALL, NULL);
	c->s->upd_pending = RD_FO_PENDING_UPDREQALL;
}

static void enter(ctx_t *c, uint8_t to);

/* RECOVER-WAIT entry: wait out STOS + MCLT, or go on at once if that passed */
static void enter_recover_wait(ctx_t *c)
{
	rd_fo_sm_t *s = c->s;
	uint64_t end = (uint64_t)s->stos + s->mclt;

	if (end > c->now) {
		s->timer = RD_FO_TIMER_RECOVER_WAIT;
		s->timer_at = end >= RD_FO_TIME_NEVER ? RD_FO_TIME_NEVER - 1 : (uint32_t)end;
	} else {
		enter(c, S(RECOVER_DONE));
	}
}

/* ISC's dhcp_failover_set_state */
static void enter(ctx_t *c, uint8_t to)
{
	rd_fo_sm_t *s = c->s;
	uint8_t from = s->state;

	/* updates in flight go out again (with new xids) from the new state */
	if (!c->booting &&
	    (from == S(NORMAL) || from == S(POTENTIAL_CONFLICT) || from == S(PARTNER_DOWN)))
		push(c, RD_FO_ACT_RESCIND, NULL);

	/* STOS is kept into RECOVER-WAIT (the wait is measured from entering
	 * RECOVER) and on entry to or exit from STARTUP, whatever state STARTUP
	 * ends in (ISC: a restart is not a state change) */
	if (to != S(RECOVER_WAIT) && to != S(STARTUP) && from != S(STARTUP))
		s->stos = c->now;
	/* an orderly shutdown the partner has seen as PARTNER-DOWN, with nothing
	 * left unsent: the partner already waited MCLT, so we need not */
	if (to == S(RECOVER) && from == S(SHUTDOWN) && s->partner == S(PARTNER_DOWN) &&
	    c->queues_empty)
		s->stos = c->now > s->mclt ? c->now - s->mclt : 0;

	if (to == S(STARTUP)) {
		if (from != S(STARTUP))
			s->saved = from;
	} else {
		s->saved = to;
	}
	s->state = to;
	s->timer = RD_FO_TIMER_NONE;
	s->timer_at = 0;

	push(c, RD_FO_ACT_PERSIST, NULL);
	if (s->linked)
		push(c, RD_FO_ACT_SEND_STATE, NULL);

	switch (to) {
	case S(STARTUP):
		s->timer = RD_FO_TIMER_STARTUP;
		s->timer_at = tadd(c->now, RD_FO_STARTUP_TIMEOUT);
		break;
	case S(COMM_INTERRUPTED):
		if (s->auto_partner_down) {
			s->timer = RD_FO_TIMER_AUTO_PARTNER_DOWN;
			s->timer_at = tadd(c->now, s->auto_partner_down);
		}
		break;
	case S(NORMAL):
		push(c, RD_FO_ACT_POOL_BALANCE, NULL);
		push(c, RD_FO_ACT_QUEUE_UPDATES, NULL);
		break;
	case S(POTENTIAL_CONFLICT):
		/* the primary asks first; the secondary asks once the primary
		 * reports CONFLICT-DONE */
		if (s->role == RD_FO_PRIMARY)
			send_updreq(c);
		break;
	case S(RECOVER):
		send_updreqall(c);
		break;
	case S(RECOVER_WAIT):
		enter_recover_wait(c);
		break;
	case S(PARTNER_DOWN):
		push(c, RD_FO_ACT_EXPIRE_TRANSITIONAL, NULL);
		break;
	default:
		break;
	}
}

/* The state STARTUP ends in once the peer has spoken: the saved one, except
 * that RESOLUTION-INTERRUPTED (a conflict we could not resolve for want of
 * a link) resumes as POTENTIAL-CONFLICT now that there is one (doc §4.2). */
static uint8_t startup_exit(uint8_t saved)
{
	return saved == S(RESOLUTION_INTERRUPTED) ? S(POTENTIAL_CONFLICT) : saved;
}

/* ISC's "disconnect" transition: the link-loss rule, on the saved state in STARTUP */
static void link_lost(ctx_t *c)
{
	rd_fo_sm_t *s = c->s;
	bool in_startup = s->state == S(STARTUP);
	uint8_t cur = in_startup ? s->saved : s->state;

	s->linked = false;
	/* the answer to a request cannot come over a link that is gone; ask
	 * again on the next one */
	s->upd_pending = RD_FO_PENDING_NONE;
	if (in_startup) {
		s->timer = RD_FO_TIMER_NONE;
		s->timer_at = 0;
	}

	switch (cur) {
	case S(NORMAL):
		enter(c, S(COMM_INTERRUPTED));
		break;
	case S(POTENTIAL_CONFLICT):
	case S(UNKNOWN):
		enter(c, S(RESOLUTION_INTERRUPTED));
		break;
	case S(CONFLICT_DONE):
		/* doc §4.2: stays, but its unacked updates go out again */
		if (!in_startup)
			push(c, RD_FO_ACT_RESCIND, NULL);
		/* fall through */
	default:
		if (in_startup)
			enter(c, cur);
		break;
	}
}

static void partner_state(ctx_t *c, uint8_t news, uint8_t flags)
{
	rd_fo_sm_t *s = c->s;
	uint8_t prev = s->partner;
	bool in_startup = s->state == S(STARTUP);
	uint8_t row;
	cell_t cell;
	int ri, ci;

	if (prev == news && s->state != S(UNKNOWN)) {
		switch (s->state) {
		case S(STARTUP):
			enter(c, startup_exit(s->saved));
			return;
		case S(NORMAL):
		case S(POTENTIAL_CONFLICT):
		case S(RECOVER_DONE):
		case S(SHUTDOWN):
		case S(PAUSED):
		case S(RECOVER_WAIT):
			return;
		default:
			/* a state change that came while we were apart is
			 * always processed */
			break;
		}
	}

	s->partner = news;
	s->partner_stos = c->now;
	push(c, RD_FO_ACT_PERSIST, NULL);

	if (!rd_fo_state_valid(news)) {
		c->act->note = "peer sent an undefined state";
		enter(c, S(SHUTDOWN));
		return;
	}

	row = in_startup ? s->saved : s->state;
	ri = idx(row);
	ci = idx(news);
	cell = ri < 0 ? (cell_t)K : react[ri][ci];

	if ((cell.flags & X_NOT_PEER_STARTUP) && (flags & RD_FO_SERVER_FLAG_STARTUP))
		goto out;
	if (cell.flags & X_POOL_CHECK)
		push(c, RD_FO_ACT_POOL_CHECK, NULL);
	if (cell.flags & X_UPDREQALL && !in_startup)
		send_updreqall(c);
	if (cell.flags & X_UPDREQ_PC) {
		if (prev == S(POTENTIAL_CONFLICT))
			send_updreq(c);
		else
			c->act->note = "peer moved to conflict-done unexpectedly";
	}
	if (cell.flags & X_ILLEGAL)
		c->act->note = "peer made an illegal state transition";
	if (cell.flags & X_FATAL) {
		c->act->note = "peer moved to a state that is invalid while we are conflict-done";
		push(c, RD_FO_ACT_ERROR, c->act->note);
		if (s->linked) {
			push(c, RD_FO_ACT_DISCONNECT, NULL);
			/* ISC would be gone; from here on we are as after a link loss */
			link_lost(c);
		}
		return;
	}
	if (cell.flags & X_SEND_FIRST)
		push(c, RD_FO_ACT_SEND_UPDATES, NULL);
	if (cell.next != KEEP) {
		uint8_t to = cell.next;

		if ((cell.flags & X_STARTUP_RECOVER) && in_startup)
			to = S(RECOVER);
		enter(c, to);
	}
out:
	if (s->state == S(STARTUP))
		enter(c, startup_exit(s->saved));
}

static void upddone(ctx_t *c)
{
	rd_fo_sm_t *s = c->s;

	s->upd_pending = RD_FO_PENDING_NONE;
	switch (s->state) {
	case S(POTENTIAL_CONFLICT):
		if (s->partner == S(CONFLICT_DONE)) {
			if (s->role == RD_FO_SECONDARY) {
				enter(c, S(NORMAL));
			} else {
				c->act->note = "secondary is conflict-done after conflict resolution: illegal";
				enter(c, S(SHUTDOWN));
			}
		} else if (s->role == RD_FO_PRIMARY) {
			enter(c, S(CONFLICT_DONE));
		} else {
			c->act->note = "spurious update-done";
		}
		break;
	case S(RECOVER): {
		uint64_t end = (uint64_t)s->stos + s->mclt;

		/* two servers recovering together (a new pair) have nothing to
		 * wait for: neither handed out anything */
		if (end > c->now && s->partner != S(RECOVER) && s->partner != S(RECOVER_DONE))
			enter(c, S(RECOVER_WAIT));
		else
			enter(c, S(RECOVER_DONE));
		break;
	}
	case S(CONFLICT_DONE):
		c->act->note = "spurious update-done";
		break;
	default:
		break;
	}
}

void rd_fo_sm_init(rd_fo_sm_t *sm, enum rd_cfg_role role, uint32_t mclt, uint32_t auto_partner_down)
{
	memset(sm, 0, sizeof(*sm));
	sm->role = role;
	sm->mclt = mclt;
	sm->auto_partner_down = auto_partner_down;
}

static bool timer_due(const rd_fo_sm_t *s, enum rd_fo_timer t, uint32_t now)
{
	return s->timer == t && now >= s->timer_at;
}

int rd_fo_sm_event(const rd_fo_sm_t *in, const rd_fo_event_t *ev, rd_fo_sm_t *out, rd_fo_actions_t *act)
{
	rd_fo_sm_t s;
	ctx_t c;

	if (!in || !ev || !out || !act)
		return RD_EINVAL;
	s = *in;
	memset(act, 0, sizeof(*act));
	c = (ctx_t){ .s = &s, .act = act, .now = ev->now, .queues_empty = ev->queues_empty };

	switch (ev->kind) {
	case RD_FO_EV_STARTUP:
		s.linked = false;
		s.upd_pending = RD_FO_PENDING_NONE;
		if (ev->fresh || !rd_fo_state_valid(s.saved) || s.saved == S(STARTUP)) {
			/* nothing to trust: recover everything from the peer;
			 * STOS = now starts the MCLT wait */
			s.saved = S(RECOVER);
			s.stos = ev->now;
			s.partner = S(UNKNOWN);
			s.partner_stos = ev->now;
		}
		s.state = s.saved;
		c.booting = true;
		enter(&c, S(STARTUP));
		break;
	case RD_FO_EV_CONNECTED:
		s.linked = true;
		s.upd_pending = RD_FO_PENDING_NONE;
		if (s.role == RD_FO_SECONDARY && ev->mclt && ev->mclt != s.mclt) {
			s.mclt = ev->mclt;
			push(&c, RD_FO_ACT_PERSIST, NULL);
		}
		/* no transition: ISC waits for the peer's STATE */
		push(&c, RD_FO_ACT_SEND_STATE, NULL);
		break;
	case RD_FO_EV_PARTNER_STATE:
		partner_state(&c, ev->partner_state, ev->partner_flags);
		break;
	case RD_FO_EV_LINK_LOST:
		link_lost(&c);
		break;
	case RD_FO_EV_STARTUP_TIMEOUT:
		if (s.state != S(STARTUP) || !timer_due(&s, RD_FO_TIMER_STARTUP, ev->now))
			break;
		/* the peer never said its state: treat it as gone */
		if (s.linked)
			push(&c, RD_FO_ACT_DISCONNECT, "no STATE from the peer after start-up");
		link_lost(&c);
		break;
	case RD_FO_EV_AUTO_PARTNER_DOWN:
		if (s.state == S(COMM_INTERRUPTED) &&
		    timer_due(&s, RD_FO_TIMER_AUTO_PARTNER_DOWN, ev->now))
			enter(&c, S(PARTNER_DOWN));
		break;
	case RD_FO_EV_MCLT_ELAPSED:
		if (s.state == S(RECOVER_WAIT) && timer_due(&s, RD_FO_TIMER_RECOVER_WAIT, ev->now))
			enter(&c, S(RECOVER_DONE));
		break;
	case RD_FO_EV_UPDDONE:
		upddone(&c);
		break;
	case RD_FO_EV_UPDREQ:
		push(&c, RD_FO_ACT_ANSWER_UPDREQ, NULL);
		break;
	case RD_FO_EV_UPDREQALL:
		push(&c, RD_FO_ACT_ANSWER_UPDREQALL, NULL);
		break;
	case RD_FO_EV_PARTNER_DOWN:
		if (s.state != S(PARTNER_DOWN))
			enter(&c, S(PARTNER_DOWN));
		break;
	case RD_FO_EV_SET_STATE:
		if (!rd_fo_state_valid(ev->state)) {
			*out = *in;
			return RD_EINVAL;
		}
		enter(&c, ev->state);
		break;
	case RD_FO_EV_SHUTDOWN:
		if (s.state == S(NORMAL))
			enter(&c, S(SHUTDOWN));
		break;
	case RD_FO_EV_SHUTDOWN_DONE:
		if (s.state == S(SHUTDOWN)) {
			/* ISC drops the link first: RECOVER is recorded, not
			 * announced, and asks for nothing */
			s.linked = false;
			enter(&c, S(RECOVER));
		}
		break;
	default:
		memset(act, 0, sizeof(*act));
		*out = *in;
		return RD_EINVAL;
	}
	*out = s;
	return RD_OK;
}

/* ---- serving */

bool rd_fo_state_serves(uint8_t my_state, uint8_t partner_state)
{
	if (my_state != S(NORMAL) && my_state != S(COMM_INTERRUPTED) && my_state != S(PARTNER_DOWN))
		return false;
	switch (partner_state) {
	case S(PARTNER_DOWN):
	case S(POTENTIAL_CONFLICT):
	case S(CONFLICT_DONE):
	case S(RESOLUTION_INTERRUPTED):
		return false;
	default:
		return true;
	}
}

bool rd_fo_may_serve(uint8_t my_state, uint8_t partner_state, bool balanced, bool lb_mine,
		     bool peer_has_free)
{
	if (!rd_fo_state_serves(my_state, partner_state))
		return false;
	if (my_state == S(NORMAL) && balanced)
		return lb_mine || !peer_has_free;
	return true;
}

/* now > max(stos, tsfp) + mclt, without wrapping */
static bool mclt_passed(uint32_t stos, uint32_t tsfp, uint32_t mclt, uint32_t now)
{
	uint64_t from = stos > tsfp ? stos : tsfp;
	return (uint64_t)now > from + mclt;
}

bool rd_fo_may_allocate(const rd_fo_alloc_in_t *in)
{
	bool primary, pd;
	uint8_t own;

	if (!in || !rd_fo_state_serves(in->my_state, in->partner_state))
		return false;
	primary = in->role == RD_FO_PRIMARY;
	own = primary ? RD_FO_BS_FREE : RD_FO_BS_BACKUP;
	pd = in->my_state == S(PARTNER_DOWN);

	switch (in->binding) {
	case RD_FO_BS_ACTIVE:
		return false;
	case RD_FO_BS_FREE:
	case RD_FO_BS_ABANDONED:
		return primary || (pd && mclt_passed(in->stos, in->tsfp, in->mclt, in->now));
	case RD_FO_BS_BACKUP:
		return !primary || (pd && mclt_passed(in->stos, in->tsfp, in->mclt, in->now));
	case RD_FO_BS_EXPIRED:
	case RD_FO_BS_RELEASED:
		/* never reported ACTIVE to the peer: may go back to our free pool */
		if (in->rewind == own)
			return true;
		/* fall through */
	case RD_FO_BS_RESET:
		return pd && in->tsfp < in->now;
	default:
		return false;
	}
}

/* ---- binding updates */

static bool expiry_agreed(uint32_t cur_ends, uint32_t now)
{
	/* ends 0 is an infinite lease: it never expires */
	if (cur_ends == 0)
		return false;
	return (int64_t)cur_ends - RD_FO_EXPIRY_SLACK <= (int64_t)now;
}

bool rd_fo_binding_transition_ok(uint8_t my_state, enum rd_cfg_role my_role, uint8_t cur,
				 uint8_t proposed, uint32_t cur_ends, uint32_t pexp, uint32_t now)
{
	bool to_free = proposed == RD_FO_BS_FREE || proposed == RD_FO_BS_BACKUP;

	if (!rd_fo_binding_valid(cur) || !rd_fo_binding_valid(proposed))
		return false;
	if (cur == proposed)
		return true;

	if (my_state != S(NORMAL)) {
		if (cur != RD_FO_BS_ACTIVE)
			return true;
		if (to_free)
			return false;
		if (proposed == RD_FO_BS_EXPIRED)
			return expiry_agreed(cur_ends, now);
		return true;
	}

	switch (cur) {
	case RD_FO_BS_ACTIVE:
		if (my_role == RD_FO_PRIMARY)
			/* the secondary may report what the client told it */
			return proposed == RD_FO_BS_RELEASED || proposed == RD_FO_BS_ABANDONED;
		if (to_free)
			return pexp <= now;
		if (proposed == RD_FO_BS_EXPIRED)
			return expiry_agreed(cur_ends, now);
		return true;
	case RD_FO_BS_EXPIRED:
	case RD_FO_BS_RESET:
		return !to_free || pexp <= now;
	default:
		/* FREE, ABANDONED, RELEASED, BACKUP */
		return true;
	}
}

/* ISC failover_lease_is_better: true if our pending update beats theirs */
static bool ours_better(const rd_fo_bndupd_in_t *in)
{
	uint8_t local = in->pending_state ? in->pending_state : in->cur;
	uint32_t msg_cltt = in->has_cltt ? in->cltt : 0;
	bool primary = in->role == RD_FO_PRIMARY;

	if (local == RD_FO_BS_ACTIVE) {
		if (in->proposed == RD_FO_BS_ACTIVE) {
			if (msg_cltt != in->cur_cltt)
				return msg_cltt < in->cur_cltt;
			return primary;
		}
		if (in->proposed == RD_FO_BS_EXPIRED)
			return false;
		/* Not ISC: there a secondary's ACTIVE yields to any other
		 * update of the primary while the primary takes the ACTIVE,
		 * and the two swap versions.  The ACTIVE wins on both sides. */
		return true;
	}
	if (in->proposed == RD_FO_BS_ACTIVE)
		return false;
	return primary;
}

static void reject(rd_fo_bndupd_verdict_t *v, uint8_t reason, const char *why)
{
	v->reject = reason;
	v->why = why;
	v->store = 0;
	v->cancel_own = false;
	v->affinity = false;
	v->send_own = false;
}

/*
 * A FREE/BACKUP that would end our unexpired ACTIVE binding, and that does
 * not start after it: it was decided before the client got the address
 * from us (a pool-balancing move resent or crossing our grant).
 */
static bool frees_newer_binding(const rd_fo_bndupd_in_t *in)
{
	uint32_t ours;

	if (in->cur != RD_FO_BS_ACTIVE)
		return false;
	if (in->proposed != RD_FO_BS_FREE && in->proposed != RD_FO_BS_BACKUP)
		return false;
	if (in->cur_ends != 0 && in->cur_ends <= in->now)
		return false;   /* ours has ended: the peer may take it back */
	ours = in->cur_starts > in->cur_cltt ? in->cur_starts : in->cur_cltt;
	return !in->has_stos || in->stos <= ours;
}

bool rd_fo_resend_refused(uint8_t reject_reason)
{
	return reject_reason == RD_FO_BNDUPD_REJ_LESS_CRITICAL;
}

void rd_fo_bndupd_check(const rd_fo_bndupd_in_t *in, rd_fo_bndupd_verdict_t *v)
{
	uint8_t own;
	bool own_free;

	memset(v, 0, sizeof(*v));
	if (!rd_fo_binding_valid(in->proposed)) {
		/* ISC has no answer for this (it aborts); refuse it */
		reject(v, RD_FO_BNDUPD_REJ_MISC, "unknown binding status");
		return;
	}
	if (in->awaiting_ack) {
		if (ours_better(in)) {
			reject(v, RD_FO_BNDUPD_REJ_LESS_CRITICAL,
			       "incoming update is less critical than outgoing update");
			return;
		}
		v->cancel_own = true;
	}
	if (in->has_chaddr) {
		if (in->proposed == RD_FO_BS_ABANDONED) {
			reject(v, RD_FO_BNDUPD_REJ_MISC, "BNDUPD to ABANDONED with a CHADDR");
			return;
		}
		if (in->chaddr_len > 17) {
			reject(v, RD_FO_BNDUPD_REJ_MISC, "chaddr too long");
			return;
		}
	} else if (in->proposed == RD_FO_BS_ACTIVE || in->proposed == RD_FO_BS_EXPIRED ||
		   in->proposed == RD_FO_BS_RELEASED) {
		reject(v, RD_FO_BNDUPD_REJ_MISSING_INFO, "BNDUPD without CHADDR");
		return;
	}
	if (in->has_cid && in->proposed == RD_FO_BS_ABANDONED) {
		reject(v, RD_FO_BNDUPD_REJ_MISC, "BNDUPD to ABANDONED with client-id");
		return;
	}

	/* a flag the peer cannot have set on an address that is ours to give */
	own = in->role == RD_FO_PRIMARY ? RD_FO_BS_FREE : RD_FO_BS_BACKUP;
	own_free = in->cur == own;
	if (in->has_ip_flags && own_free) {
		if ((in->ip_flags & RD_LEASE_F_RESERVED) && !(in->cur_flags & RD_LEASE_F_RESERVED)) {
			reject(v, RD_FO_BNDUPD_REJ_NOT_RESERVED, "Address is not reserved.");
			return;
		}
		if ((in->ip_flags & RD_LEASE_F_BOOTP) && !(in->cur_flags & RD_LEASE_F_BOOTP)) {
			reject(v, RD_FO_BNDUPD_REJ_MISC, "Address is not allocated to BOOTP.");
			return;
		}
	}

	if (!rd_fo_binding_transition_ok(in->my_state, in->role, in->cur, in->proposed, in->cur_ends,
					 in->has_pexp ? in->pexp : 0, in->now)) {
		reject(v, RD_FO_BNDUPD_REJ_CONFLICT, "invalid state transition");
		return;
	}
	if (frees_newer_binding(in)) {
		reject(v, RD_FO_BNDUPD_REJ_OUTDATED,
		       "the update is older than our ACTIVE binding of the address");
		v->send_own = true;
		return;
	}

	if (rd_fo_binding_needs_ack(in->proposed)) {
		/* the peer saw the lease end: nothing to wait for, it is free */
		uint16_t flags = in->has_ip_flags ? in->ip_flags : 0;

		v->store = RD_FO_BS_FREE;
		v->affinity = in->role == RD_FO_PRIMARY &&
			      !(flags & (RD_LEASE_F_RESERVED | RD_LEASE_F_BOOTP));
	} else {
		v->store = in->proposed;
	}
	/* An ISC secondary takes our update in this duel while we take its
	 * ACTIVE (unless ours is EXPIRED, which its live ACTIVE refuses): it
	 * must hear the binding back. */
	if (v->cancel_own && in->role == RD_FO_PRIMARY && in->proposed == RD_FO_BS_ACTIVE &&
	    in->pending_state != RD_FO_BS_ACTIVE && in->pending_state != RD_FO_BS_EXPIRED)
		v->send_own = true;
}

uint8_t rd_fo_binding_after_ack(enum rd_cfg_role role, uint8_t sent, bool reserved)
{
	if (!rd_fo_binding_needs_ack(sent))
		return sent;
	return role == RD_FO_SECONDARY && reserved ? RD_FO_BS_BACKUP : RD_FO_BS_FREE;
}
