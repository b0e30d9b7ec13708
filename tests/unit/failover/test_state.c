/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_state.c — tests of failover/state.c: state codes and names; ISC's
 * reaction to the partner's STATE walked cell by cell against the table of
 * ../shared/docs/failover-protocol.md §4.3, written out below as the doc's
 * own words (not derived from the code's table), in and out of STARTUP,
 * with repeated states and with the peer's STARTUP flag; link loss and the
 * timers; whole sequences played between two machines wired back to back
 * (first start of a pair, a lost database, conflict resolution, graceful
 * shutdown); which addresses each state may hand out; which BNDUPDs ISC
 * accepts, and the stale FREE/BACKUP we refuse beyond it; dueling updates
 * played out between two servers, which must end agreeing.  Every machine
 * step checks that nothing is announced before it is persisted.
 */
#include <stdio.h>
#include <string.h>

#include "rackdhcp/error.h"
#include "rackdhcp/fo_state.h"
#include "rackdhcp/lease.h"
#include "tap.h"

#define T0 1795689915u   /* the time of ../shared/pcaps/isc-failover.pcap */
#define MCLT 3600u

#define ST(x) RD_FO_ST_##x
#define B(x) RD_FO_BS_##x

/* ---- helpers */

static const struct {
	const char *doc;
	uint8_t s;
} doc_names[] = {
	{ "NORMAL", ST(NORMAL) },
	{ "COMM-INT", ST(COMM_INTERRUPTED) },
	{ "PARTNER-DOWN", ST(PARTNER_DOWN) },
	{ "POT-CONFLICT", ST(POTENTIAL_CONFLICT) },
	{ "RESOL-INT", ST(RESOLUTION_INTERRUPTED) },
	{ "CONFLICT-DONE", ST(CONFLICT_DONE) },
	{ "RECOVER", ST(RECOVER) },
	{ "RECOVER-WAIT", ST(RECOVER_WAIT) },
	{ "RECOVER-DONE", ST(RECOVER_DONE) },
	{ "SHUTDOWN", ST(SHUTDOWN) },
	{ "PAUSED", ST(PAUSED) },
	{ "UNKNOWN", ST(UNKNOWN) },
};

static uint8_t doc_state(const char *name)
{
	for (size_t i = 0; i < sizeof(doc_names) / sizeof(doc_names[0]); i++)
		if (strcmp(doc_names[i].doc, name) == 0)
			return doc_names[i].s;
	bail_out("no state named %s", name);
}

static const char *sname(uint8_t s)
{
	const char *n = rd_fo_state_keyword(s);
	return n ? n : "?";
}

static unsigned count(const rd_fo_actions_t *a, enum rd_fo_action_kind k)
{
	unsigned n = 0;
	for (unsigned i = 0; i < a->n; i++)
		n += a->a[i].kind == k;
	return n;
}

static int first(const rd_fo_actions_t *a, enum rd_fo_action_kind k)
{
	for (unsigned i = 0; i < a->n; i++)
		if (a->a[i].kind == k)
			return (int)i;
	return -1;
}

/*
 * Invariants of every step: STARTUP is never persisted or sent as a state,
 * each STATE sent was persisted earlier in the same step (or before it:
 * `persisted` is the state on record when the step began), and the list
 * stays within its bound.
 */
static bool invariants(const rd_fo_actions_t *a, uint8_t persisted, const char *what)
{
	bool good = a->n < RD_FO_MAX_ACTIONS;
	uint8_t on_record = persisted;

	for (unsigned i = 0; i < a->n; i++) {
		const rd_fo_action_t *x = &a->a[i];

		if (x->kind == RD_FO_ACT_PERSIST) {
			good &= x->state != ST(STARTUP);
			on_record = x->state;
		} else if (x->kind == RD_FO_ACT_SEND_STATE) {
			good &= x->state != ST(STARTUP) && x->state == on_record;
		}
	}
	if (!good)
		diag("%s: action invariant broken", what);
	return good;
}

static rd_fo_sm_t machine(enum rd_cfg_role role, uint8_t state, uint8_t partner, bool linked)
{
	rd_fo_sm_t s;

	rd_fo_sm_init(&s, role, MCLT, 0);
	s.state = state;
	s.saved = state;
	s.partner = partner;
	s.stos = T0 - 1000;
	s.partner_stos = T0 - 1000;
	s.linked = linked;
	return s;
}

static rd_fo_sm_t in_startup(enum rd_cfg_role role, uint8_t saved, uint8_t partner)
{
	rd_fo_sm_t s = machine(role, ST(STARTUP), partner, true);
	s.saved = saved;
	s.timer = RD_FO_TIMER_STARTUP;
	s.timer_at = T0 + 5;
	return s;
}

static rd_fo_event_t pstate(uint8_t st, uint8_t flags)
{
	return (rd_fo_event_t){ .kind = RD_FO_EV_PARTNER_STATE, .now = T0, .partner_state = st,
				.partner_flags = flags };
}

static void step(rd_fo_sm_t *s, rd_fo_event_t ev, rd_fo_actions_t *a)
{
	uint8_t before = rd_fo_sm_persisted_state(s);
	if (rd_fo_sm_event(s, &ev, s, a) != 0)
		bail_out("rd_fo_sm_event refused event %d", ev.kind);
	invariants(a, before, "step");
}

/* ---- names */

static void test_names(void)
{
	static const char *const want[] = {
		"unknown-state", "startup", "normal", "communications-interrupted", "partner-down",
		"potential-conflict", "recover", "paused", "shutdown", "recover-done",
		"resolution-interrupted", "conflict-done",
	};
	bool good = true;

	for (unsigned s = 0; s < 12; s++) {
		good &= rd_fo_state_valid((uint8_t)s);
		good &= rd_fo_state_keyword((uint8_t)s) && strcmp(rd_fo_state_keyword((uint8_t)s), want[s]) == 0;
		good &= rd_fo_state_parse(want[s]) == (int)s;
	}
	ok(good, "states 0..11 have ISC's lease-file names, both ways");
	is_int(ST(RECOVER_WAIT), 254, "RECOVER-WAIT is 254 on the wire");
	ok(rd_fo_state_valid(254) && strcmp(rd_fo_state_keyword(254), "recover-wait") == 0 &&
		   rd_fo_state_parse("recover-wait") == 254,
	   "recover-wait named both ways");
	good = true;
	for (unsigned s = 12; s < 254; s++)
		good &= !rd_fo_state_valid((uint8_t)s) && !rd_fo_state_keyword((uint8_t)s);
	good &= !rd_fo_state_valid(255);
	ok(good, "12..253 and 255 are not states");
	ok(rd_fo_state_parse("peer-down") == -1 && rd_fo_state_parse("Normal") == -1 &&
		   rd_fo_state_parse(NULL) == -1,
	   "unknown, miscased and NULL names are refused");
	ok(B(FREE) == RD_LEASE_FREE && B(ACTIVE) == RD_LEASE_ACTIVE && B(EXPIRED) == RD_LEASE_EXPIRED &&
		   B(RELEASED) == RD_LEASE_RELEASED && B(ABANDONED) == RD_LEASE_ABANDONED &&
		   B(RESET) == RD_LEASE_RESET && B(BACKUP) == RD_LEASE_BACKUP && rd_fo_binding_valid(7) &&
		   !rd_fo_binding_valid(0) && !rd_fo_binding_valid(8),
	   "binding-status codes equal lease.h's states; 1..7 valid");
}

/* ---- the reaction matrix, doc §4.3
 *
 * Cell vocabulary, copied from the doc's table:
 *   "-"            no change
 *   "pool"         pool check (NORMAL x NORMAL)
 *   "X"            -> X
 *   "X!"           -> X, logged as illegal
 *   "X/Y"          -> X, or -> Y if still in STARTUP
 *   "upd X"        send queued updates, -> X
 *   "UPDREQALL"    send UPDREQALL, no move (not while in STARTUP)
 *   "UPDREQ-if-PC" send UPDREQ if the peer was POT-CONFLICT before
 *   "exit"         ISC log_fatal: dhcpd exits
 */
static const char *const doc_cols[11] = {
	"NORMAL", "COMM-INT", "PARTNER-DOWN", "POT-CONFLICT", "RESOL-INT", "CONFLICT-DONE",
	"RECOVER", "RECOVER-WAIT", "RECOVER-DONE", "SHUTDOWN", "PAUSED",
};

static const struct {
	const char *row;
	const char *cell[11];
} doc_table[] = {
	{ "NORMAL", { "pool", "-", "POT-CONFLICT/RECOVER", "SHUTDOWN!", "SHUTDOWN!", "SHUTDOWN!",
		      "PARTNER-DOWN", "-", "-", "PARTNER-DOWN", "COMM-INT" } },
	{ "COMM-INT", { "upd NORMAL", "upd NORMAL", "POT-CONFLICT", "POT-CONFLICT", "POT-CONFLICT",
			"POT-CONFLICT", "PARTNER-DOWN", "upd NORMAL", "upd NORMAL", "PARTNER-DOWN",
			"-" } },
	{ "PARTNER-DOWN", { "POT-CONFLICT", "POT-CONFLICT", "POT-CONFLICT", "POT-CONFLICT",
			    "POT-CONFLICT", "POT-CONFLICT", "-", "-", "NORMAL", "-", "-" } },
	{ "RECOVER", { "POT-CONFLICT", "UPDREQALL", "UPDREQALL", "POT-CONFLICT", "POT-CONFLICT",
		       "POT-CONFLICT", "UPDREQALL", "-", "-", "PARTNER-DOWN", "-" } },
	{ "RECOVER-WAIT", { "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-" } },
	{ "RECOVER-DONE", { "NORMAL", "-", "-", "-", "-", "-", "-", "-", "NORMAL", "PARTNER-DOWN",
			    "-" } },
	{ "POT-CONFLICT", { "SHUTDOWN!", "-", "-", "-", "-", "UPDREQ-if-PC", "RECOVER", "-", "-",
			    "PARTNER-DOWN", "-" } },
	{ "RESOL-INT", { "POT-CONFLICT", "POT-CONFLICT", "POT-CONFLICT", "POT-CONFLICT",
			 "POT-CONFLICT", "POT-CONFLICT", "POT-CONFLICT", "POT-CONFLICT",
			 "POT-CONFLICT", "PARTNER-DOWN", "-" } },
	{ "CONFLICT-DONE", { "NORMAL", "exit", "exit", "-", "-", "exit", "exit", "exit", "exit",
			     "SHUTDOWN", "exit" } },
	{ "SHUTDOWN", { "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-" } },
	{ "PAUSED", { "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-" } },
	{ "UNKNOWN", { "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-" } },
};

typedef struct {
	bool change, pool, send_first, updreqall, updreq_pc, illegal, fatal;
	uint8_t to, to_in_startup;
} expect_t;

static expect_t parse_cell(const char *cell)
{
	expect_t e;
	char buf[64];
	char *slash;

	memset(&e, 0, sizeof(e));
	if (strcmp(cell, "-") == 0)
		return e;
	if (strcmp(cell, "pool") == 0) {
		e.pool = true;
		return e;
	}
	if (strcmp(cell, "UPDREQALL") == 0) {
		e.updreqall = true;
		return e;
	}
	if (strcmp(cell, "UPDREQ-if-PC") == 0) {
		e.updreq_pc = true;
		return e;
	}
	if (strcmp(cell, "exit") == 0) {
		e.fatal = true;
		return e;
	}
	if (strncmp(cell, "upd ", 4) == 0) {
		e.send_first = true;
		cell += 4;
	}
	snprintf(buf, sizeof(buf), "%s", cell);
	if (buf[strlen(buf) - 1] == '!') {
		e.illegal = true;
		buf[strlen(buf) - 1] = '\0';
	}
	e.change = true;
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		e.to_in_startup = doc_state(slash + 1);
	}
	e.to = doc_state(buf);
	if (!slash)
		e.to_in_startup = e.to;
	return e;
}

/* What leaving STARTUP for a saved state means (doc §4.2). */
static uint8_t startup_target(uint8_t saved)
{
	return saved == ST(RESOLUTION_INTERRUPTED) ? ST(POTENTIAL_CONFLICT) : saved;
}

static bool check_cell(uint8_t row, uint8_t col, const expect_t *e, bool startup, enum rd_cfg_role role)
{
	rd_fo_sm_t s = startup ? in_startup(role, row, ST(UNKNOWN)) : machine(role, row, ST(UNKNOWN), true);
	rd_fo_sm_t before = s;
	rd_fo_actions_t a;
	bool good = true;
	uint8_t want;
	char what[128];

	snprintf(what, sizeof(what), "%s%s x %s", startup ? "startup/" : "", sname(row), sname(col));
	step(&s, pstate(col, 0), &a);
	good &= invariants(&a, row, what);
	good &= s.partner == col && s.partner_stos == T0;
	good &= a.n >= 1 && a.a[0].kind == RD_FO_ACT_PERSIST && a.a[0].partner == col;

	if (e->fatal) {
		/* ISC exits; we stay (in the saved state, out of STARTUP) and drop the link */
		good &= s.state == row && first(&a, RD_FO_ACT_ERROR) > 0 &&
			first(&a, RD_FO_ACT_DISCONNECT) > first(&a, RD_FO_ACT_ERROR) && !s.linked &&
			a.note != NULL;
		if (!good)
			diag("%s: expected the ISC-fatal path", what);
		return good;
	}

	if (e->change)
		want = startup ? e->to_in_startup : e->to;
	else
		want = startup ? startup_target(row) : row;
	if (s.state != want) {
		diag("%s: went to %s, doc says %s", what, sname(s.state), sname(want));
		good = false;
	}
	good &= s.saved == s.state;
	good &= count(&a, RD_FO_ACT_ERROR) == 0;

	if (!e->change && !startup) {
		/* no move: the partner's state is recorded, and that is all
		 * (plus what the cell says) */
		unsigned extra = e->pool + e->updreqall;
		good &= a.n == 1 + extra && s.stos == before.stos;
		good &= count(&a, RD_FO_ACT_POOL_CHECK) == e->pool;
		good &= count(&a, RD_FO_ACT_SEND_UPDREQALL) == e->updreqall;
		good &= count(&a, RD_FO_ACT_SEND_STATE) == 0;
		if (e->updreq_pc)
			/* the walk's previous partner state is UNKNOWN, not POT-CONFLICT */
			good &= count(&a, RD_FO_ACT_SEND_UPDREQ) == 0 && a.note != NULL;
	} else {
		int p = -1;

		/* announced, after the record of the new state */
		for (unsigned i = 0; i < a.n; i++)
			if (a.a[i].kind == RD_FO_ACT_PERSIST && a.a[i].state == want)
				p = (int)i;
		good &= p > 0;
		good &= count(&a, RD_FO_ACT_SEND_STATE) >= 1 &&
			a.a[a.n - 1].kind != RD_FO_ACT_PERSIST;
		/* STOS: now on a transition, kept into RECOVER-WAIT and on
		 * leaving STARTUP, for whichever state (doc §4.2) */
		if (e->change && !startup && want != ST(RECOVER_WAIT))
			good &= s.stos == T0;
		else
			good &= s.stos == before.stos;
		if (e->send_first) {
			int u = first(&a, RD_FO_ACT_SEND_UPDATES);
			good &= u > 0 && u < p;
		}
		if (e->illegal)
			good &= a.note != NULL;
		/* a RECOVER cell in STARTUP asks once, on entering RECOVER */
		if (e->updreqall)
			good &= count(&a, RD_FO_ACT_SEND_UPDREQALL) == 1;
		if (e->pool)
			good &= count(&a, RD_FO_ACT_POOL_CHECK) == 1;
	}
	if (!good)
		diag("%s: actions or fields differ from the doc", what);
	return good;
}

static void test_matrix(void)
{
	unsigned cells = 0, bad = 0, bad_startup = 0;

	for (size_t r = 0; r < sizeof(doc_table) / sizeof(doc_table[0]); r++) {
		uint8_t row = doc_state(doc_table[r].row);

		for (unsigned c = 0; c < 11; c++) {
			uint8_t col = doc_state(doc_cols[c]);
			expect_t e = parse_cell(doc_table[r].cell[c]);

			cells++;
			bad += !check_cell(row, col, &e, false, RD_FO_PRIMARY);
			bad += !check_cell(row, col, &e, false, RD_FO_SECONDARY);
			bad_startup += !check_cell(row, col, &e, true, RD_FO_PRIMARY);
		}
	}
	is_int(cells, 12 * 11, "the doc's table has 12 rows of 11 columns");
	is_int(bad, 0, "every cell of the reaction matrix matches the doc, both roles");
	is_int(bad_startup, 0, "the same from STARTUP, which then leaves for the saved state");
}

/* The columns the doc's table leaves out: UNKNOWN (a STATE without
 * server-state) and STARTUP (never sent as a state). */
static void test_matrix_extra_columns(void)
{
	unsigned bad = 0;

	for (size_t r = 0; r < sizeof(doc_table) / sizeof(doc_table[0]); r++) {
		uint8_t row = doc_state(doc_table[r].row);

		for (uint8_t col = 0; col <= ST(STARTUP); col++) {
			rd_fo_sm_t s = machine(RD_FO_PRIMARY, row, ST(PAUSED), true);
			rd_fo_actions_t a;

			step(&s, pstate(col, 0), &a);
			if (row == ST(CONFLICT_DONE))
				bad += first(&a, RD_FO_ACT_ERROR) < 0;
			else
				bad += s.state != row || a.n != 1;
		}
	}
	is_int(bad, 0, "UNKNOWN and STARTUP columns: no move, except ISC's fatal in CONFLICT-DONE");
}

static void test_matrix_special_cases(void)
{
	rd_fo_sm_t s;
	rd_fo_actions_t a;

	/* POT-CONFLICT x CONFLICT-DONE after POT-CONFLICT: the secondary's UPDREQ */
	s = machine(RD_FO_SECONDARY, ST(POTENTIAL_CONFLICT), ST(POTENTIAL_CONFLICT), true);
	step(&s, pstate(ST(CONFLICT_DONE), 0), &a);
	ok(s.state == ST(POTENTIAL_CONFLICT) && count(&a, RD_FO_ACT_SEND_UPDREQ) == 1 &&
		   s.upd_pending == RD_FO_PENDING_UPDREQ && !a.note,
	   "POT-CONFLICT: peer POT-CONFLICT -> CONFLICT-DONE makes us send UPDREQ");

	/* a PARTNER-DOWN server ignores a peer that is still starting up */
	{
		unsigned bad = 0;
		for (unsigned c = 0; c < 11; c++) {
			s = machine(RD_FO_PRIMARY, ST(PARTNER_DOWN), ST(UNKNOWN), true);
			step(&s, pstate(doc_state(doc_cols[c]), RD_FO_SERVER_FLAG_STARTUP), &a);
			bad += s.state != ST(PARTNER_DOWN) || a.n != 1;
		}
		is_int(bad, 0, "PARTNER-DOWN ignores every state while the peer's STARTUP flag is set");
	}
	/* ... and the same peer without the flag is a conflict */
	s = machine(RD_FO_PRIMARY, ST(PARTNER_DOWN), ST(UNKNOWN), true);
	step(&s, pstate(ST(COMM_INTERRUPTED), 0), &a);
	ok(s.state == ST(POTENTIAL_CONFLICT) && count(&a, RD_FO_ACT_SEND_UPDREQ) == 1 &&
		   count(&a, RD_FO_ACT_RESCIND) == 1,
	   "PARTNER-DOWN x COMM-INT -> POT-CONFLICT; the primary rescinds and sends UPDREQ");

	/* undefined states put us in SHUTDOWN */
	{
		static const uint8_t bad_states[] = { 12, 13, 100, 253, 255 };
		bool good = true;
		for (size_t i = 0; i < sizeof(bad_states); i++) {
			s = machine(RD_FO_PRIMARY, ST(NORMAL), ST(NORMAL), true);
			step(&s, pstate(bad_states[i], 0), &a);
			good &= s.state == ST(SHUTDOWN) && s.partner == bad_states[i] && a.note;
		}
		ok(good, "a peer state outside 0..11, 254 moves us to SHUTDOWN");
	}
}

/* Repeated states (doc §4.3) */
static void test_repeated(void)
{
	static const struct {
		uint8_t row;
		bool ignored;
	} rows[] = {
		{ ST(NORMAL), true },         { ST(POTENTIAL_CONFLICT), true },
		{ ST(RECOVER_DONE), true },   { ST(SHUTDOWN), true },
		{ ST(PAUSED), true },         { ST(RECOVER_WAIT), true },
		{ ST(PARTNER_DOWN), false },  { ST(COMM_INTERRUPTED), false },
		{ ST(RESOLUTION_INTERRUPTED), false }, { ST(RECOVER), false },
		{ ST(CONFLICT_DONE), false }, { ST(UNKNOWN), false },
	};
	unsigned bad = 0;
	rd_fo_sm_t s;
	rd_fo_actions_t a;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		for (unsigned c = 0; c < 11; c++) {
			uint8_t col = doc_state(doc_cols[c]);

			s = machine(RD_FO_PRIMARY, rows[i].row, col, true);
			s.partner_stos = 7;
			step(&s, pstate(col, 0), &a);
			if (rows[i].ignored)
				bad += a.n != 0 || s.state != rows[i].row || s.partner_stos != 7;
			else
				bad += a.n == 0 || s.partner_stos != T0;
		}
	}
	is_int(bad, 0, "a repeated state is ignored exactly in NORMAL, POT-CONFLICT, RECOVER-DONE, "
		       "SHUTDOWN, PAUSED, RECOVER-WAIT");

	s = machine(RD_FO_PRIMARY, ST(COMM_INTERRUPTED), ST(NORMAL), true);
	step(&s, pstate(ST(NORMAL), 0), &a);
	ok(s.state == ST(NORMAL) && first(&a, RD_FO_ACT_SEND_UPDATES) >= 0,
	   "COMM-INT with the peer again NORMAL (a link flap) goes NORMAL");
	s = machine(RD_FO_PRIMARY, ST(RECOVER), ST(RECOVER), true);
	step(&s, pstate(ST(RECOVER), 0), &a);
	ok(s.state == ST(RECOVER) && count(&a, RD_FO_ACT_SEND_UPDREQALL) == 1,
	   "RECOVER with the peer again RECOVER asks for everything again");

	/* in STARTUP, the same state just ends STARTUP */
	s = in_startup(RD_FO_PRIMARY, ST(NORMAL), ST(NORMAL));
	step(&s, pstate(ST(NORMAL), 0), &a);
	ok(s.state == ST(NORMAL) && s.stos == T0 - 1000 && s.timer == RD_FO_TIMER_NONE &&
		   count(&a, RD_FO_ACT_QUEUE_UPDATES) == 1 && count(&a, RD_FO_ACT_POOL_BALANCE) == 1,
	   "STARTUP(normal) + repeated NORMAL: back to NORMAL, STOS kept, updates queued, pool balanced");
	s = in_startup(RD_FO_PRIMARY, ST(RESOLUTION_INTERRUPTED), ST(POTENTIAL_CONFLICT));
	step(&s, pstate(ST(POTENTIAL_CONFLICT), 0), &a);
	ok(s.state == ST(POTENTIAL_CONFLICT) && count(&a, RD_FO_ACT_SEND_UPDREQ) == 1,
	   "STARTUP(resolution-interrupted) resumes as POTENTIAL-CONFLICT once linked");
}

/* ---- start-up, link loss, timers */

static void test_startup_and_link(void)
{
	rd_fo_sm_t s, t;
	rd_fo_actions_t a;
	rd_fo_event_t ev;

	/* a new deployment: RECOVER, STOS = now */
	rd_fo_sm_init(&s, RD_FO_PRIMARY, MCLT, 0);
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_STARTUP, .now = T0, .fresh = true }, &a);
	ok(s.state == ST(STARTUP) && s.saved == ST(RECOVER) && s.stos == T0 &&
		   s.partner == ST(UNKNOWN) && s.timer == RD_FO_TIMER_STARTUP &&
		   s.timer_at == T0 + RD_FO_STARTUP_TIMEOUT,
	   "fresh start: STARTUP, saved RECOVER, STOS now, 15 s timer");
	ok(a.n == 1 && a.a[0].kind == RD_FO_ACT_PERSIST && a.a[0].state == ST(RECOVER),
	   "fresh start persists RECOVER (never STARTUP), sends nothing unlinked");

	/* connect: STATE carries the saved state and the STARTUP flag */
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_CONNECTED, .now = T0 + 1 }, &a);
	ok(s.linked && a.n == 1 && a.a[0].kind == RD_FO_ACT_SEND_STATE &&
		   a.a[0].state == ST(RECOVER) && a.a[0].flags == RD_FO_SERVER_FLAG_STARTUP &&
		   a.a[0].stos == T0,
	   "CONNECTED in STARTUP: STATE(recover, flags STARTUP, STOS)");

	/* a restart with a usable record keeps it, and its STOS */
	s = machine(RD_FO_SECONDARY, ST(UNKNOWN), ST(NORMAL), false);
	s.saved = ST(NORMAL);
	s.stos = T0 - 500;
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_STARTUP, .now = T0 }, &a);
	ok(s.state == ST(STARTUP) && s.saved == ST(NORMAL) && s.stos == T0 - 500 &&
		   s.partner == ST(NORMAL) && count(&a, RD_FO_ACT_RESCIND) == 0,
	   "restart with a record: STARTUP(normal), STOS and partner kept, nothing rescinded");
	/* the peer stays silent for 15 s */
	t = s;
	step(&t, (rd_fo_event_t){ .kind = RD_FO_EV_STARTUP_TIMEOUT, .now = T0 + 14 }, &a);
	ok(t.state == ST(STARTUP) && a.n == 0, "the STARTUP timer is not due at 14 s");
	step(&t, (rd_fo_event_t){ .kind = RD_FO_EV_STARTUP_TIMEOUT, .now = T0 + 15 }, &a);
	ok(t.state == ST(COMM_INTERRUPTED) && t.stos == T0 - 500 && count(&a, RD_FO_ACT_SEND_STATE) == 0,
	   "STARTUP(normal) timeout: COMM-INT, STOS kept (leaving STARTUP), nothing sent unlinked");
	t = s;
	t.linked = true;
	step(&t, (rd_fo_event_t){ .kind = RD_FO_EV_STARTUP_TIMEOUT, .now = T0 + 20 }, &a);
	ok(t.state == ST(COMM_INTERRUPTED) && first(&a, RD_FO_ACT_DISCONNECT) == 0 && !t.linked,
	   "a linked but silent peer is disconnected first");

	/* a corrupt record (STARTUP or no state at all) is treated as none */
	s = machine(RD_FO_PRIMARY, ST(UNKNOWN), ST(NORMAL), false);
	s.saved = 77;
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_STARTUP, .now = T0 }, &a);
	ok(s.saved == ST(RECOVER) && s.stos == T0, "an invalid stored state starts over in RECOVER");
	s = machine(RD_FO_PRIMARY, ST(NORMAL), ST(NORMAL), false);
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_STARTUP, .now = T0, .fresh = true }, &a);
	ok(s.saved == ST(RECOVER) && s.partner == ST(UNKNOWN),
	   "a lost database overrides a stored NORMAL: RECOVER");

	/* the link-loss rule, on every state */
	{
		static const struct {
			uint8_t from, to;
		} rule[] = {
			{ ST(NORMAL), ST(COMM_INTERRUPTED) },
			{ ST(POTENTIAL_CONFLICT), ST(RESOLUTION_INTERRUPTED) },
			{ ST(UNKNOWN), ST(RESOLUTION_INTERRUPTED) },
			{ ST(COMM_INTERRUPTED), ST(COMM_INTERRUPTED) },
			{ ST(PARTNER_DOWN), ST(PARTNER_DOWN) },
			{ ST(RECOVER), ST(RECOVER) },
			{ ST(RECOVER_WAIT), ST(RECOVER_WAIT) },
			{ ST(RECOVER_DONE), ST(RECOVER_DONE) },
			{ ST(RESOLUTION_INTERRUPTED), ST(RESOLUTION_INTERRUPTED) },
			{ ST(CONFLICT_DONE), ST(CONFLICT_DONE) },
			{ ST(SHUTDOWN), ST(SHUTDOWN) },
			{ ST(PAUSED), ST(PAUSED) },
		};
		unsigned bad = 0;
		for (size_t i = 0; i < sizeof(rule) / sizeof(rule[0]); i++) {
			for (int st = 0; st < 2; st++) {
				s = st ? in_startup(RD_FO_PRIMARY, rule[i].from, ST(UNKNOWN))
				       : machine(RD_FO_PRIMARY, rule[i].from, ST(NORMAL), true);
				s.upd_pending = RD_FO_PENDING_UPDREQ;
				step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_LINK_LOST, .now = T0 }, &a);
				bad += s.state != rule[i].to || s.linked || s.upd_pending ||
				       count(&a, RD_FO_ACT_SEND_STATE);
				/* CONFLICT-DONE stays but resends its unacked updates */
				if (!st && rule[i].from == ST(CONFLICT_DONE))
					bad += count(&a, RD_FO_ACT_RESCIND) != 1;
			}
		}
		is_int(bad, 0, "link loss: NORMAL->COMM-INT, POT-CONFLICT/unknown->RESOL-INT, "
			       "others stay; the same on the saved state in STARTUP");
	}
	s = machine(RD_FO_PRIMARY, ST(NORMAL), ST(NORMAL), true);
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_LINK_LOST, .now = T0 }, &a);
	ok(first(&a, RD_FO_ACT_RESCIND) == 0 && count(&a, RD_FO_ACT_PERSIST) == 1,
	   "leaving NORMAL rescinds the unacked updates before recording the new state");

	/* the secondary adopts the primary's MCLT, on record before STATE goes out */
	s = machine(RD_FO_SECONDARY, ST(COMM_INTERRUPTED), ST(NORMAL), false);
	ev = (rd_fo_event_t){ .kind = RD_FO_EV_CONNECTED, .now = T0, .mclt = 300 };
	step(&s, ev, &a);
	ok(s.mclt == 300 && a.n == 2 && a.a[0].kind == RD_FO_ACT_PERSIST &&
		   a.a[1].kind == RD_FO_ACT_SEND_STATE && a.a[1].flags == 0,
	   "secondary: MCLT from CONNECT is persisted before STATE");
	s = machine(RD_FO_PRIMARY, ST(COMM_INTERRUPTED), ST(NORMAL), false);
	step(&s, ev, &a);
	ok(s.mclt == MCLT && a.n == 1, "the primary keeps its configured MCLT");
}

static void test_auto_partner_down(void)
{
	rd_fo_sm_t s;
	rd_fo_actions_t a;
	const uint32_t apd = 600, t = T0 + 50;

	s = machine(RD_FO_PRIMARY, ST(NORMAL), ST(NORMAL), true);
	s.auto_partner_down = apd;
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_LINK_LOST, .now = t }, &a);
	ok(s.state == ST(COMM_INTERRUPTED) && s.stos == t && s.timer == RD_FO_TIMER_AUTO_PARTNER_DOWN &&
		   s.timer_at == t + apd,
	   "partner lost: COMM-INT, auto-partner-down timer at +%u s", apd);
	ok(rd_fo_state_serves(s.state, s.partner), "COMM-INT serves");
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_AUTO_PARTNER_DOWN, .now = t + apd - 1 }, &a);
	ok(s.state == ST(COMM_INTERRUPTED) && a.n == 0, "not one second early");
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_AUTO_PARTNER_DOWN, .now = t + apd }, &a);
	ok(s.state == ST(PARTNER_DOWN) && s.stos == t + apd && s.timer == RD_FO_TIMER_NONE,
	   "after %u s in COMM-INT: PARTNER-DOWN, STOS then", apd);
	ok(first(&a, RD_FO_ACT_PERSIST) == 0 && first(&a, RD_FO_ACT_EXPIRE_TRANSITIONAL) > 0 &&
		   a.a[first(&a, RD_FO_ACT_EXPIRE_TRANSITIONAL)].stos == t + apd,
	   "PARTNER-DOWN entry: recorded, then transitional leases get tsfp from the new STOS");

	/* the timer dies with the state: reconnect before it fires */
	s = machine(RD_FO_PRIMARY, ST(NORMAL), ST(NORMAL), true);
	s.auto_partner_down = apd;
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_LINK_LOST, .now = t }, &a);
	s.linked = true;
	step(&s, pstate(ST(COMM_INTERRUPTED), 0), &a);
	ok(s.state == ST(NORMAL) && s.timer == RD_FO_TIMER_NONE, "a reconnect cancels it");
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_AUTO_PARTNER_DOWN, .now = t + apd }, &a);
	ok(s.state == ST(NORMAL) && a.n == 0, "a stale auto-partner-down event does nothing");

	/* off by default */
	s = machine(RD_FO_PRIMARY, ST(NORMAL), ST(NORMAL), true);
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_LINK_LOST, .now = t }, &a);
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_AUTO_PARTNER_DOWN, .now = t + 100000 }, &a);
	ok(s.state == ST(COMM_INTERRUPTED) && s.timer == RD_FO_TIMER_NONE,
	   "auto-partner-down 0: COMM-INT is sticky");

	/* the operator */
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_PARTNER_DOWN, .now = t + 10 }, &a);
	ok(s.state == ST(PARTNER_DOWN) && s.stos == t + 10, "operator partner-down");
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_PARTNER_DOWN, .now = t + 20 }, &a);
	ok(s.stos == t + 10 && a.n == 0, "a second one does not restart the MCLT wait");
	ok(rd_fo_sm_event(&s, &(rd_fo_event_t){ .kind = RD_FO_EV_SET_STATE, .now = t, .state = 99 }, &s,
			  &a) == RD_EINVAL &&
		   s.state == ST(PARTNER_DOWN) && a.n == 0,
	   "SET_STATE to a non-state is refused");
	ok(rd_fo_sm_event(&s, &(rd_fo_event_t){ .kind = (enum rd_fo_event_kind)99 }, &s, &a) == RD_EINVAL &&
		   rd_fo_sm_event(NULL, &(rd_fo_event_t){ 0 }, &s, &a) == RD_EINVAL,
	   "unknown events and NULL are refused");
}

/* ---- two machines back to back */

typedef struct {
	int to;
	rd_fo_event_t ev;
} msg_t;

typedef struct {
	rd_fo_sm_t sm[2];
	msg_t q[256];
	unsigned head, tail;
	uint32_t now;
	unsigned updreqall[2], updreq[2], states_sent[2];
	bool broken;
	char trace[2048];       /* both, in order of events (for diagnostics) */
	char tr[2][512];        /* each server's states, in order */
} pair_t;

static void clear_trace(pair_t *p)
{
	p->trace[0] = p->tr[0][0] = p->tr[1][0] = '\0';
}

static void post(pair_t *p, int to, rd_fo_event_t ev)
{
	if (p->tail - p->head >= 256)
		bail_out("pair queue overflow");
	p->q[p->tail++ % 256] = (msg_t){ to, ev };
}

static void deliver(pair_t *p, int i, rd_fo_event_t ev)
{
	rd_fo_sm_t *s = &p->sm[i];
	uint8_t was = s->state, rec = rd_fo_sm_persisted_state(s);
	rd_fo_actions_t a;

	ev.now = p->now;
	if (rd_fo_sm_event(s, &ev, s, &a) != 0)
		bail_out("event refused");
	p->broken |= !invariants(&a, rec, i ? "S" : "P");
	if (s->state != was) {
		size_t l = strlen(p->trace), m = strlen(p->tr[i]);
		snprintf(p->trace + l, sizeof(p->trace) - l, "%s%c:%s", l ? " " : "", i ? 'S' : 'P',
			 sname(s->state));
		snprintf(p->tr[i] + m, sizeof(p->tr[i]) - m, "%s%s", m ? " " : "", sname(s->state));
	}
	for (unsigned k = 0; k < a.n; k++) {
		const rd_fo_action_t *x = &a.a[k];

		switch (x->kind) {
		case RD_FO_ACT_SEND_STATE:
			p->states_sent[i]++;
			post(p, 1 - i, (rd_fo_event_t){ .kind = RD_FO_EV_PARTNER_STATE,
							.partner_state = x->state,
							.partner_flags = x->flags });
			break;
		case RD_FO_ACT_SEND_UPDREQ:
			p->updreq[i]++;
			post(p, 1 - i, (rd_fo_event_t){ .kind = RD_FO_EV_UPDREQ });
			break;
		case RD_FO_ACT_SEND_UPDREQALL:
			p->updreqall[i]++;
			post(p, 1 - i, (rd_fo_event_t){ .kind = RD_FO_EV_UPDREQALL });
			break;
		case RD_FO_ACT_ANSWER_UPDREQ:
		case RD_FO_ACT_ANSWER_UPDREQALL:
			/* the BNDUPDs and their BNDACKs, then UPDDONE */
			post(p, 1 - i, (rd_fo_event_t){ .kind = RD_FO_EV_UPDDONE });
			break;
		case RD_FO_ACT_ERROR:
		case RD_FO_ACT_DISCONNECT:
			p->broken = true;
			break;
		default:
			break;
		}
	}
}

static void run(pair_t *p)
{
	unsigned guard = 0;
	while (p->head != p->tail && guard++ < 1000) {
		msg_t m = p->q[p->head++ % 256];
		deliver(p, m.to, m.ev);
	}
}

/*
 * Both linked, in ISC's order: the secondary answers CONNECT with CONNECTACK
 * and its STATE at once; the primary sends its STATE when the CONNECTACK
 * arrives.
 */
static void connect_pair(pair_t *p)
{
	deliver(p, 1, (rd_fo_event_t){ .kind = RD_FO_EV_CONNECTED, .mclt = MCLT });
	deliver(p, 0, (rd_fo_event_t){ .kind = RD_FO_EV_CONNECTED });
	run(p);
}

static void pair_init(pair_t *p)
{
	memset(p, 0, sizeof(*p));
	rd_fo_sm_init(&p->sm[0], RD_FO_PRIMARY, MCLT, 0);
	rd_fo_sm_init(&p->sm[1], RD_FO_SECONDARY, MCLT, 0);
	p->now = T0;
}

static void test_first_start(void)
{
	pair_t p;

	pair_init(&p);
	deliver(&p, 0, (rd_fo_event_t){ .kind = RD_FO_EV_STARTUP, .fresh = true });
	deliver(&p, 1, (rd_fo_event_t){ .kind = RD_FO_EV_STARTUP, .fresh = true });
	p.now += 1;
	connect_pair(&p);
	ok(p.sm[0].state == ST(NORMAL) && p.sm[1].state == ST(NORMAL) && !p.broken,
	   "two fresh servers end NORMAL: %s", p.trace);
	is_str(p.tr[0], "startup recover recover-done normal",
	       "primary: through RECOVER and RECOVER-DONE, no RECOVER-WAIT (as in isc-failover.pcap)");
	is_str(p.tr[1], "startup recover recover-done normal", "secondary: the same");
	ok(p.updreqall[0] == 1 && p.updreqall[1] == 1 && p.updreq[0] + p.updreq[1] == 0,
	   "each asks for the other's database exactly once (UPDREQALL)");
}

static void test_database_lost(void)
{
	pair_t p;
	const uint32_t lost_at = T0 + 5000;

	/* S has been NORMAL with P; P dies and comes back without its database */
	pair_init(&p);
	p.sm[1] = machine(RD_FO_SECONDARY, ST(NORMAL), ST(NORMAL), true);
	p.now = lost_at - 10;
	deliver(&p, 1, (rd_fo_event_t){ .kind = RD_FO_EV_LINK_LOST });
	ok(p.sm[1].state == ST(COMM_INTERRUPTED), "the survivor goes COMM-INT");
	p.now = lost_at;
	deliver(&p, 0, (rd_fo_event_t){ .kind = RD_FO_EV_STARTUP, .fresh = true });
	p.now += 2;
	clear_trace(&p);
	connect_pair(&p);
	is_str(p.tr[1], "partner-down", "an amnesiac peer: the survivor goes PARTNER-DOWN");
	is_str(p.tr[0], "recover recover-wait", "the recovering side: RECOVER, then RECOVER-WAIT");
	ok(p.sm[0].timer == RD_FO_TIMER_RECOVER_WAIT && p.sm[0].timer_at == lost_at + MCLT &&
		   p.sm[0].stos == lost_at,
	   "it waits until STOS (its start) + MCLT");
	ok(!rd_fo_state_serves(p.sm[0].state, p.sm[0].partner) &&
		   !rd_fo_state_serves(ST(RECOVER), ST(PARTNER_DOWN)),
	   "and serves nobody meanwhile");

	p.now = lost_at + MCLT - 1;
	deliver(&p, 0, (rd_fo_event_t){ .kind = RD_FO_EV_MCLT_ELAPSED });
	ok(p.sm[0].state == ST(RECOVER_WAIT), "not a second before STOS + MCLT");
	p.now = lost_at + MCLT;
	clear_trace(&p);
	deliver(&p, 0, (rd_fo_event_t){ .kind = RD_FO_EV_MCLT_ELAPSED });
	run(&p);
	ok(strcmp(p.tr[0], "recover-done normal") == 0 && strcmp(p.tr[1], "normal") == 0,
	   "then RECOVER-DONE, and both NORMAL: %s", p.trace);
	ok(!p.broken && p.updreqall[0] == 1, "one UPDREQALL from the recovering side, nothing broken");
}

/* The doc §4.3 sequence: survivor in PARTNER-DOWN, the peer back with its
 * database; roles both ways round. */
static void test_conflict_resolution(void)
{
	for (int survivor = 0; survivor < 2; survivor++) {
		pair_t p;
		int back = 1 - survivor;

		pair_init(&p);
		p.sm[survivor] = machine(survivor ? RD_FO_SECONDARY : RD_FO_PRIMARY, ST(PARTNER_DOWN),
					 ST(COMM_INTERRUPTED), false);
		p.sm[back] = machine(back ? RD_FO_SECONDARY : RD_FO_PRIMARY, ST(UNKNOWN),
				     ST(NORMAL), false);
		p.sm[back].saved = ST(COMM_INTERRUPTED);
		deliver(&p, back, (rd_fo_event_t){ .kind = RD_FO_EV_STARTUP });
		p.now += 3;
		clear_trace(&p);
		connect_pair(&p);
		ok(p.sm[0].state == ST(NORMAL) && p.sm[1].state == ST(NORMAL) && !p.broken,
		   "%s survived: conflict resolved: %s", survivor ? "secondary" : "primary", p.trace);
		ok(strstr(p.tr[0], "potential-conflict conflict-done normal") != NULL &&
			   strstr(p.tr[1], "potential-conflict normal") != NULL &&
			   strstr(p.tr[1], "conflict-done") == NULL,
		   "both pass POTENTIAL-CONFLICT, only the primary CONFLICT-DONE");
		ok(p.updreq[0] == 1 && p.updreq[1] == 1,
		   "each side asks the other once (UPDREQ), the primary first");
	}
	/* a peer back in NORMAL sees PARTNER-DOWN while starting: RECOVER */
	{
		pair_t p;

		pair_init(&p);
		p.sm[0] = machine(RD_FO_PRIMARY, ST(PARTNER_DOWN), ST(COMM_INTERRUPTED), false);
		p.sm[1] = machine(RD_FO_SECONDARY, ST(UNKNOWN), ST(NORMAL), false);
		p.sm[1].saved = ST(NORMAL);
		p.sm[1].stos = T0 - 100000;
		deliver(&p, 1, (rd_fo_event_t){ .kind = RD_FO_EV_STARTUP });
		clear_trace(&p);
		connect_pair(&p);
		ok(strncmp(p.tr[1], "recover", 7) == 0 && p.sm[0].state == ST(NORMAL) &&
			   p.sm[1].state == ST(NORMAL) && !p.broken,
		   "a NORMAL server restarting into a PARTNER-DOWN peer recovers: %s", p.trace);
	}
}

static void test_graceful_shutdown(void)
{
	pair_t p;
	const uint32_t t = T0 + 100000;

	pair_init(&p);
	p.sm[0] = machine(RD_FO_PRIMARY, ST(NORMAL), ST(NORMAL), true);
	p.sm[1] = machine(RD_FO_SECONDARY, ST(NORMAL), ST(NORMAL), true);
	p.now = t;
	deliver(&p, 1, (rd_fo_event_t){ .kind = RD_FO_EV_SHUTDOWN });
	run(&p);
	ok(p.sm[1].state == ST(SHUTDOWN) && p.sm[0].state == ST(PARTNER_DOWN) &&
		   p.sm[1].partner == ST(PARTNER_DOWN),
	   "SHUTDOWN is announced and the peer goes PARTNER-DOWN");
	{
		rd_fo_actions_t a;
		rd_fo_sm_t s = p.sm[1];

		step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_SHUTDOWN_DONE, .now = t + 5, .queues_empty = true },
		     &a);
		ok(s.state == ST(RECOVER) && s.stos == t + 5 - MCLT && !s.linked && a.n == 1 &&
			   a.a[0].kind == RD_FO_ACT_PERSIST && a.a[0].state == ST(RECOVER),
		   "then RECOVER is recorded, unannounced, STOS backdated by MCLT");
		p.sm[1] = s;
		s = p.sm[1];
		step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_SHUTDOWN_DONE, .now = t + 5 }, &a);
		ok(a.n == 0, "SHUTDOWN_DONE outside SHUTDOWN does nothing");
	}
	/* ... so the restart does not wait */
	p.now = t + 60;
	clear_trace(&p);
	deliver(&p, 1, (rd_fo_event_t){ .kind = RD_FO_EV_STARTUP });
	p.sm[0].linked = false;
	connect_pair(&p);
	ok(strstr(p.trace, "recover-wait") == NULL && p.sm[0].state == ST(NORMAL) &&
		   p.sm[1].state == ST(NORMAL),
	   "the restart skips RECOVER-WAIT: %s", p.trace);

	/* with updates still queued, no backdating */
	{
		rd_fo_actions_t a;
		rd_fo_sm_t s = machine(RD_FO_SECONDARY, ST(SHUTDOWN), ST(PARTNER_DOWN), true);
		step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_SHUTDOWN_DONE, .now = t }, &a);
		ok(s.stos == t, "with updates pending, STOS is not backdated");
		s = machine(RD_FO_SECONDARY, ST(COMM_INTERRUPTED), ST(NORMAL), false);
		step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_SHUTDOWN, .now = t }, &a);
		ok(s.state == ST(COMM_INTERRUPTED) && a.n == 0, "only NORMAL goes to SHUTDOWN");
	}
}

static void test_upddone(void)
{
	rd_fo_sm_t s;
	rd_fo_actions_t a;

	/* RECOVER + UPDDONE: the MCLT wait unless the partner is recovering too */
	s = machine(RD_FO_PRIMARY, ST(RECOVER), ST(PARTNER_DOWN), true);
	s.stos = T0 - MCLT;
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_UPDDONE, .now = T0 }, &a);
	ok(s.state == ST(RECOVER_DONE), "RECOVER: STOS + MCLT == now, no wait");
	s = machine(RD_FO_PRIMARY, ST(RECOVER), ST(PARTNER_DOWN), true);
	s.stos = T0 - MCLT + 1;
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_UPDDONE, .now = T0 }, &a);
	ok(s.state == ST(RECOVER_WAIT) && s.stos == T0 - MCLT + 1 && s.timer_at == T0 + 1,
	   "RECOVER: one second left, RECOVER-WAIT with STOS kept");
	s = machine(RD_FO_PRIMARY, ST(RECOVER), ST(RECOVER_DONE), true);
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_UPDDONE, .now = T0 }, &a);
	ok(s.state == ST(RECOVER_DONE), "RECOVER: the partner RECOVER-DONE, no wait");

	/* POTENTIAL-CONFLICT + UPDDONE */
	s = machine(RD_FO_PRIMARY, ST(POTENTIAL_CONFLICT), ST(POTENTIAL_CONFLICT), true);
	s.upd_pending = RD_FO_PENDING_UPDREQ;
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_UPDDONE, .now = T0 }, &a);
	ok(s.state == ST(CONFLICT_DONE) && s.upd_pending == RD_FO_PENDING_NONE, "primary: CONFLICT-DONE");
	s = machine(RD_FO_SECONDARY, ST(POTENTIAL_CONFLICT), ST(POTENTIAL_CONFLICT), true);
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_UPDDONE, .now = T0 }, &a);
	ok(s.state == ST(POTENTIAL_CONFLICT) && a.note, "secondary before the primary is done: spurious");
	s = machine(RD_FO_SECONDARY, ST(POTENTIAL_CONFLICT), ST(CONFLICT_DONE), true);
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_UPDDONE, .now = T0 }, &a);
	ok(s.state == ST(NORMAL), "secondary with the primary CONFLICT-DONE: NORMAL");
	s = machine(RD_FO_PRIMARY, ST(POTENTIAL_CONFLICT), ST(CONFLICT_DONE), true);
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_UPDDONE, .now = T0 }, &a);
	ok(s.state == ST(SHUTDOWN) && a.note, "primary with a CONFLICT-DONE secondary: illegal, SHUTDOWN");
	s = machine(RD_FO_PRIMARY, ST(NORMAL), ST(NORMAL), true);
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_UPDDONE, .now = T0 }, &a);
	ok(s.state == ST(NORMAL) && a.n == 0, "NORMAL ignores UPDDONE");

	/* answering the peer's requests changes no state */
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_UPDREQ, .now = T0 }, &a);
	ok(s.state == ST(NORMAL) && a.n == 1 && a.a[0].kind == RD_FO_ACT_ANSWER_UPDREQ, "UPDREQ answered");
	step(&s, (rd_fo_event_t){ .kind = RD_FO_EV_UPDREQALL, .now = T0 }, &a);
	ok(a.n == 1 && a.a[0].kind == RD_FO_ACT_ANSWER_UPDREQALL, "UPDREQALL answered");

	/* request bookkeeping: no duplicate, UPDREQALL wins */
	s = machine(RD_FO_PRIMARY, ST(RECOVER), ST(COMM_INTERRUPTED), true);
	s.upd_pending = RD_FO_PENDING_UPDREQALL;
	step(&s, pstate(ST(PARTNER_DOWN), 0), &a);
	ok(count(&a, RD_FO_ACT_SEND_UPDREQALL) == 0, "no second UPDREQALL while one is unanswered");
	s = machine(RD_FO_PRIMARY, ST(RECOVER), ST(RECOVER), true);
	s.upd_pending = RD_FO_PENDING_UPDREQALL;
	step(&s, pstate(ST(NORMAL), 0), &a);
	ok(s.state == ST(POTENTIAL_CONFLICT) && count(&a, RD_FO_ACT_SEND_UPDREQALL) == 1 &&
		   count(&a, RD_FO_ACT_SEND_UPDREQ) == 0,
	   "POT-CONFLICT entry with our UPDREQALL unanswered asks for everything again");
	s = machine(RD_FO_PRIMARY, ST(RECOVER), ST(RECOVER), false);
	step(&s, pstate(ST(NORMAL), 0), &a);
	ok(count(&a, RD_FO_ACT_SEND_UPDREQ) == 0 && s.upd_pending == RD_FO_PENDING_NONE,
	   "nothing is requested without a link");
}

/* ---- serving and allocation */

static void test_serving(void)
{
	unsigned bad = 0;

	for (unsigned m = 0; m < 256; m++) {
		for (unsigned pt = 0; pt < 256; pt++) {
			bool me_ok = m == ST(NORMAL) || m == ST(COMM_INTERRUPTED) || m == ST(PARTNER_DOWN);
			bool peer_blocks = pt == ST(PARTNER_DOWN) || pt == ST(POTENTIAL_CONFLICT) ||
					   pt == ST(CONFLICT_DONE) || pt == ST(RESOLUTION_INTERRUPTED);
			bad += rd_fo_state_serves((uint8_t)m, (uint8_t)pt) != (me_ok && !peer_blocks);
		}
	}
	is_int(bad, 0, "only NORMAL, COMM-INT and PARTNER-DOWN serve, never while the peer is "
		       "PARTNER-DOWN or resolving conflicts");

	ok(rd_fo_may_serve(ST(NORMAL), ST(NORMAL), true, true, true) &&
		   !rd_fo_may_serve(ST(NORMAL), ST(NORMAL), true, false, true),
	   "NORMAL: a DISCOVER is answered by the server its hash picks");
	ok(rd_fo_may_serve(ST(NORMAL), ST(NORMAL), true, false, false),
	   "... or by either when the peer has no free lease left");
	ok(rd_fo_may_serve(ST(NORMAL), ST(NORMAL), false, false, true),
	   "NORMAL: a REQUEST is not load balanced");
	ok(rd_fo_may_serve(ST(COMM_INTERRUPTED), ST(NORMAL), true, false, true) &&
		   rd_fo_may_serve(ST(PARTNER_DOWN), ST(COMM_INTERRUPTED), true, false, true),
	   "COMM-INT and PARTNER-DOWN answer every client");
	ok(!rd_fo_may_serve(ST(RECOVER), ST(NORMAL), false, true, true) &&
		   !rd_fo_may_serve(ST(NORMAL), ST(POTENTIAL_CONFLICT), false, true, true) &&
		   !rd_fo_may_serve(ST(STARTUP), ST(NORMAL), false, true, true),
	   "RECOVER, STARTUP, or a conflicted peer: nobody");
}

static bool alloc(uint8_t my, uint8_t partner, enum rd_cfg_role role, uint8_t binding, uint8_t rewind,
		  uint32_t tsfp, uint32_t stos, uint32_t now)
{
	rd_fo_alloc_in_t in = {
		.my_state = my, .partner_state = partner, .role = role, .binding = binding,
		.rewind = rewind, .tsfp = tsfp, .stos = stos, .mclt = MCLT, .now = now,
	};
	return rd_fo_may_allocate(&in);
}

static void test_allocation(void)
{
	const enum rd_cfg_role P = RD_FO_PRIMARY, S = RD_FO_SECONDARY;
	const uint32_t stos = T0, now = T0 + 10;
	uint8_t st[2] = { ST(NORMAL), ST(COMM_INTERRUPTED) };

	for (int i = 0; i < 2; i++) {
		uint8_t m = st[i];
		const char *n = sname(m);

		ok(alloc(m, ST(NORMAL), P, B(FREE), 0, 0, stos, now) &&
			   !alloc(m, ST(NORMAL), P, B(BACKUP), 0, 0, stos, now),
		   "%s: the primary allocates FREE, not BACKUP", n);
		ok(alloc(m, ST(NORMAL), S, B(BACKUP), 0, 0, stos, now) &&
			   !alloc(m, ST(NORMAL), S, B(FREE), 0, 0, stos, now),
		   "%s: the secondary allocates BACKUP, not FREE", n);
		ok(!alloc(m, ST(NORMAL), P, B(ACTIVE), 0, 0, stos, now) &&
			   !alloc(m, ST(NORMAL), S, B(ACTIVE), 0, 0, stos, now),
		   "%s: an ACTIVE lease is nobody's to reallocate", n);
		ok(!alloc(m, ST(NORMAL), P, B(EXPIRED), B(ACTIVE), 0, stos, now) &&
			   !alloc(m, ST(NORMAL), P, B(RELEASED), 0, 0, stos, now) &&
			   !alloc(m, ST(NORMAL), S, B(RESET), B(BACKUP), 0, stos, now),
		   "%s: EXPIRED/RELEASED/RESET wait for the peer's ack", n);
		ok(alloc(m, ST(NORMAL), P, B(EXPIRED), B(FREE), 0, stos, now) &&
			   alloc(m, ST(NORMAL), S, B(RELEASED), B(BACKUP), 0, stos, now) &&
			   !alloc(m, ST(NORMAL), S, B(RELEASED), B(FREE), 0, stos, now),
		   "%s: ... unless the peer never knew it left our free pool (rewind)", n);
		ok(alloc(m, ST(NORMAL), P, B(ABANDONED), 0, 0, stos, now) &&
			   !alloc(m, ST(NORMAL), S, B(ABANDONED), 0, 0, stos, now),
		   "%s: ABANDONED counts as FREE", n);
	}

	/* PARTNER-DOWN: the peer's pool after max(STOS, tsfp) + MCLT */
	ok(!alloc(ST(PARTNER_DOWN), ST(COMM_INTERRUPTED), S, B(FREE), 0, 0, stos, stos + MCLT) &&
		   alloc(ST(PARTNER_DOWN), ST(COMM_INTERRUPTED), S, B(FREE), 0, 0, stos, stos + MCLT + 1),
	   "PARTNER-DOWN: the secondary takes FREE leases only after STOS + MCLT");
	ok(!alloc(ST(PARTNER_DOWN), ST(UNKNOWN), P, B(BACKUP), 0, stos + 50, stos, stos + MCLT + 50) &&
		   alloc(ST(PARTNER_DOWN), ST(UNKNOWN), P, B(BACKUP), 0, stos + 50, stos, stos + MCLT + 51),
	   "... and after tsfp + MCLT when the peer's tsfp is later");
	ok(alloc(ST(PARTNER_DOWN), ST(UNKNOWN), P, B(FREE), 0, 0, stos, stos),
	   "PARTNER-DOWN: own pool at once");
	ok(!alloc(ST(PARTNER_DOWN), ST(UNKNOWN), P, B(RESET), 0, stos + MCLT, stos, stos + MCLT) &&
		   alloc(ST(PARTNER_DOWN), ST(UNKNOWN), P, B(RESET), 0, stos + MCLT, stos, stos + MCLT + 1) &&
		   alloc(ST(PARTNER_DOWN), ST(UNKNOWN), S, B(EXPIRED), B(ACTIVE), stos + MCLT, stos,
			 stos + MCLT + 1),
	   "PARTNER-DOWN: transitional leases once now > tsfp (= STOS + MCLT)");
	ok(!alloc(ST(PARTNER_DOWN), ST(UNKNOWN), P, B(ACTIVE), 0, 0, stos, stos + 10 * MCLT),
	   "PARTNER-DOWN: never an ACTIVE lease");
	ok(!alloc(ST(PARTNER_DOWN), ST(PARTNER_DOWN), P, B(FREE), 0, 0, stos, now),
	   "both PARTNER-DOWN: nothing (the peer demands recovery)");
	ok(!alloc(ST(PARTNER_DOWN), ST(UNKNOWN), S, B(FREE), 0, 0, UINT32_MAX - 10, 100),
	   "STOS + MCLT past 2^32 does not wrap into the past");

	{
		static const uint8_t quiet[] = {
			ST(UNKNOWN), ST(STARTUP), ST(POTENTIAL_CONFLICT), ST(RECOVER), ST(PAUSED),
			ST(SHUTDOWN), ST(RECOVER_DONE), ST(RESOLUTION_INTERRUPTED), ST(CONFLICT_DONE),
			ST(RECOVER_WAIT),
		};
		unsigned bad = 0;
		for (size_t i = 0; i < sizeof(quiet); i++)
			for (uint8_t b = B(FREE); b <= B(BACKUP); b++)
				bad += alloc(quiet[i], ST(NORMAL), P, b, B(FREE), 0, 0, UINT32_MAX - 1) +
				       alloc(quiet[i], ST(NORMAL), S, b, B(BACKUP), 0, 0, UINT32_MAX - 1);
		is_int(bad, 0, "every non-serving state allocates nothing");
	}
	ok(!rd_fo_may_allocate(NULL), "NULL: no");
}

/* ---- binding updates, doc §4.5 */

/* NORMAL, as the doc's table puts it.  Rows: our lease; "ok" lists the
 * statuses accepted outright, "cond" the ones that depend on time. */
static const char *const bnames[8] = { "", "FREE", "ACTIVE", "EXPIRED", "RELEASED", "ABANDONED", "RESET", "BACKUP" };

static bool listed(const char *list, uint8_t b)
{
	char buf[96], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (strcmp(tok, "anything") == 0 || strcmp(tok, bnames[b]) == 0)
			return true;
	return false;
}

#define tok rd_fo_binding_transition_ok
#define P_ RD_FO_PRIMARY
#define S_ RD_FO_SECONDARY

static void test_binding_normal(void)
{
	static const struct {
		uint8_t cur;
		enum rd_cfg_role me;
		const char *accepted;  /* whatever the times */
	} doc[] = {
		{ B(FREE), RD_FO_PRIMARY, "anything" },
		{ B(FREE), RD_FO_SECONDARY, "anything" },
		{ B(ABANDONED), RD_FO_PRIMARY, "anything" },
		{ B(ABANDONED), RD_FO_SECONDARY, "anything" },
		{ B(ACTIVE), RD_FO_PRIMARY, "ACTIVE RELEASED ABANDONED" },
		{ B(ACTIVE), RD_FO_SECONDARY, "ACTIVE RELEASED ABANDONED RESET" },
		{ B(EXPIRED), RD_FO_PRIMARY, "ACTIVE EXPIRED RELEASED ABANDONED RESET" },
		{ B(EXPIRED), RD_FO_SECONDARY, "ACTIVE EXPIRED RELEASED ABANDONED RESET" },
		{ B(RESET), RD_FO_PRIMARY, "ACTIVE EXPIRED RELEASED ABANDONED RESET" },
		{ B(RESET), RD_FO_SECONDARY, "ACTIVE EXPIRED RELEASED ABANDONED RESET" },
		{ B(RELEASED), RD_FO_PRIMARY, "anything" },
		{ B(RELEASED), RD_FO_SECONDARY, "anything" },
		{ B(BACKUP), RD_FO_PRIMARY, "anything" },
		{ B(BACKUP), RD_FO_SECONDARY, "anything" },
	};
	const uint32_t now = T0;
	unsigned bad = 0;

	/* with every time condition false (pexp in the future, ends far off),
	 * only the unconditional transitions pass */
	for (size_t r = 0; r < sizeof(doc) / sizeof(doc[0]); r++)
		for (uint8_t to = B(FREE); to <= B(BACKUP); to++) {
			bool got = rd_fo_binding_transition_ok(ST(NORMAL), doc[r].me, doc[r].cur, to,
							      now + 1000, now + 1, now);
			if (got != listed(doc[r].accepted, to)) {
				diag("NORMAL %s %s -> %s: got %d", doc[r].me ? "secondary" : "primary",
				     bnames[doc[r].cur], bnames[to], got);
				bad++;
			}
		}
	is_int(bad, 0, "NORMAL: accepted transitions as in the doc's table (times unfavourable)");

	/* the time conditions, at their edges */
	ok(tok(ST(NORMAL), S_, B(ACTIVE), B(EXPIRED), now + 65, 0, now) &&
		   !tok(ST(NORMAL), S_, B(ACTIVE), B(EXPIRED), now + 66, 0, now),
	   "secondary: ACTIVE -> EXPIRED once ends - 65 <= now");
	ok(!tok(ST(NORMAL), S_, B(ACTIVE), B(EXPIRED), 0, 0, now),
	   "... never for an infinite lease (ends 0)");
	ok(tok(ST(NORMAL), S_, B(ACTIVE), B(FREE), now + 999, now, now) &&
		   tok(ST(NORMAL), S_, B(ACTIVE), B(BACKUP), now + 999, 0, now) &&
		   !tok(ST(NORMAL), S_, B(ACTIVE), B(FREE), 0, now + 1, now),
	   "secondary: ACTIVE -> FREE/BACKUP once pexp <= now");
	ok(!tok(ST(NORMAL), P_, B(ACTIVE), B(FREE), 0, 0, now) &&
		   !tok(ST(NORMAL), P_, B(ACTIVE), B(EXPIRED), now - 1000, 0, now),
	   "primary: the secondary may not free or expire an ACTIVE lease, whatever the times");
	ok(tok(ST(NORMAL), P_, B(EXPIRED), B(FREE), 0, now, now) &&
		   tok(ST(NORMAL), S_, B(RESET), B(BACKUP), 0, now - 5, now) &&
		   !tok(ST(NORMAL), S_, B(RESET), B(BACKUP), 0, now + 5, now),
	   "EXPIRED/RESET -> FREE/BACKUP once pexp <= now");
}

static void test_binding_conflict(void)
{
	static const uint8_t states[] = {
		ST(STARTUP), ST(RECOVER), ST(COMM_INTERRUPTED), ST(PARTNER_DOWN),
		ST(POTENTIAL_CONFLICT), ST(CONFLICT_DONE), ST(RESOLUTION_INTERRUPTED), ST(RECOVER_WAIT),
	};
	const uint32_t now = T0;
	unsigned bad = 0;

	for (size_t i = 0; i < sizeof(states); i++)
		for (int role = 0; role < 2; role++)
			for (uint8_t cur = B(FREE); cur <= B(BACKUP); cur++)
				for (uint8_t to = B(FREE); to <= B(BACKUP); to++) {
					bool want = cur != B(ACTIVE) ||
						    listed("ACTIVE RELEASED RESET ABANDONED", to);
					bad += rd_fo_binding_transition_ok(states[i], (enum rd_cfg_role)role,
									  cur, to, now + 1000, 0, now) != want;
				}
	is_int(bad, 0, "outside NORMAL: anything, except that an ACTIVE lease refuses FREE, BACKUP "
		       "and an early EXPIRED");
	ok(rd_fo_binding_transition_ok(ST(PARTNER_DOWN), RD_FO_PRIMARY, B(ACTIVE), B(EXPIRED), now + 65, 0, now),
	   "outside NORMAL: EXPIRED accepted once ends - 65 <= now");
	ok(!rd_fo_binding_transition_ok(ST(NORMAL), RD_FO_PRIMARY, 0, B(FREE), 0, 0, now) &&
		   !rd_fo_binding_transition_ok(ST(NORMAL), RD_FO_PRIMARY, B(FREE), 8, 0, 0, now),
	   "statuses outside 1..7 are refused");
}

static rd_fo_bndupd_in_t upd(enum rd_cfg_role me, uint8_t cur, uint8_t proposed)
{
	return (rd_fo_bndupd_in_t){
		.my_state = ST(NORMAL), .role = me, .now = T0, .cur = cur, .cur_ends = T0 + 600,
		.proposed = proposed, .has_chaddr = true, .chaddr_len = 7, .has_pexp = true,
		.pexp = T0 + 900, .has_cltt = true, .cltt = T0,
	};
}

static void test_bndupd(void)
{
	rd_fo_bndupd_in_t in;
	rd_fo_bndupd_verdict_t v;

	in = upd(RD_FO_SECONDARY, B(FREE), B(ACTIVE));
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == 0 && v.store == B(ACTIVE) && !v.why, "FREE -> ACTIVE from the primary: accepted");

	in = upd(RD_FO_PRIMARY, B(ACTIVE), B(FREE));
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == RD_FO_BNDUPD_REJ_CONFLICT && v.why && strstr(v.why, "invalid state transition"),
	   "ACTIVE -> FREE from the secondary: reject 2, invalid state transition");

	in = upd(RD_FO_PRIMARY, B(ACTIVE), B(RELEASED));
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == 0 && v.store == B(FREE) && v.affinity,
	   "RELEASED from the secondary: stored FREE at once; the primary considers MAC affinity");
	in.has_ip_flags = true;
	in.ip_flags = RD_LEASE_F_RESERVED;
	in.cur_flags = RD_LEASE_F_RESERVED;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == 0 && v.store == B(FREE) && !v.affinity, "... but not for a reserved lease");
	in = upd(RD_FO_SECONDARY, B(ACTIVE), B(EXPIRED));
	in.cur_ends = T0 + 10;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == 0 && v.store == B(FREE) && !v.affinity, "EXPIRED on the secondary: FREE, no affinity");

	/* chaddr and client-id rules */
	in = upd(RD_FO_SECONDARY, B(FREE), B(ACTIVE));
	in.has_chaddr = false;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == RD_FO_BNDUPD_REJ_MISSING_INFO, "ACTIVE without chaddr: reject 3");
	in.proposed = B(BACKUP);
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == 0, "BACKUP without chaddr: fine");
	in = upd(RD_FO_SECONDARY, B(ACTIVE), B(ABANDONED));
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == RD_FO_BNDUPD_REJ_MISC, "ABANDONED with chaddr: reject 6");
	in.has_chaddr = false;
	in.has_cid = true;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == RD_FO_BNDUPD_REJ_MISC, "ABANDONED with client-id: reject 6");
	in.has_cid = false;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == 0 && v.store == B(ABANDONED), "ABANDONED bare: accepted");
	in = upd(RD_FO_SECONDARY, B(FREE), B(ACTIVE));
	in.chaddr_len = 18;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == RD_FO_BNDUPD_REJ_MISC, "chaddr over 17 bytes: reject 6");

	/* IP-flags on an address we hold as our own free one */
	in = upd(RD_FO_PRIMARY, B(FREE), B(ACTIVE));
	in.has_ip_flags = true;
	in.ip_flags = RD_LEASE_F_RESERVED;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == RD_FO_BNDUPD_REJ_NOT_RESERVED, "RESERVED on our FREE lease: reject 19");
	in.ip_flags = RD_LEASE_F_BOOTP;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == RD_FO_BNDUPD_REJ_MISC, "BOOTP on our FREE lease: reject 6");
	in.cur_flags = RD_LEASE_F_BOOTP;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == 0, "... unless we hold it with that flag");
	in = upd(RD_FO_SECONDARY, B(FREE), B(ACTIVE));
	in.has_ip_flags = true;
	in.ip_flags = RD_LEASE_F_RESERVED;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == 0, "the secondary's own free is BACKUP: a FREE lease takes the flag");

	/* dueling updates */
	in = upd(RD_FO_PRIMARY, B(ACTIVE), B(ACTIVE));
	in.awaiting_ack = true;
	in.pending_state = B(ACTIVE);
	in.cur_cltt = T0 + 5;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == RD_FO_BNDUPD_REJ_LESS_CRITICAL, "duel ACTIVE/ACTIVE: the newer CLTT (ours) wins: reject 16");
	in.cur_cltt = T0 - 5;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == 0 && v.cancel_own, "... theirs newer: accepted, ours cancelled");
	in.cur_cltt = T0;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == RD_FO_BNDUPD_REJ_LESS_CRITICAL, "... a tie goes to the primary (us)");
	in.role = RD_FO_SECONDARY;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == 0 && v.cancel_own, "... a tie on the secondary: theirs");
	in = upd(RD_FO_PRIMARY, B(ACTIVE), B(EXPIRED));
	in.awaiting_ack = true;
	in.pending_state = B(ACTIVE);
	in.my_state = ST(COMM_INTERRUPTED);
	in.cur_ends = T0;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == 0 && v.cancel_own, "duel: their EXPIRED beats our ACTIVE");
	in = upd(RD_FO_PRIMARY, B(FREE), B(BACKUP));
	in.awaiting_ack = true;
	in.pending_state = B(RELEASED);
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == RD_FO_BNDUPD_REJ_LESS_CRITICAL, "duel without ACTIVE: the primary's wins");
	in.proposed = B(ACTIVE);
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == 0, "duel: an incoming ACTIVE beats anything not ACTIVE");
	in = upd(RD_FO_SECONDARY, B(FREE), 9);
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == RD_FO_BNDUPD_REJ_MISC, "an undefined binding status: refused");

	/* what the sender does with the BNDACK */
	ok(rd_fo_binding_after_ack(RD_FO_PRIMARY, B(EXPIRED), false) == B(FREE) &&
		   rd_fo_binding_after_ack(RD_FO_SECONDARY, B(RELEASED), false) == B(FREE) &&
		   rd_fo_binding_after_ack(RD_FO_SECONDARY, B(RESET), true) == B(BACKUP) &&
		   rd_fo_binding_after_ack(RD_FO_PRIMARY, B(RESET), true) == B(FREE) &&
		   rd_fo_binding_after_ack(RD_FO_PRIMARY, B(ACTIVE), false) == B(ACTIVE),
	   "acked EXPIRED/RELEASED/RESET go FREE (BACKUP if reserved on the secondary)");
	ok(rd_fo_binding_needs_ack(B(EXPIRED)) && rd_fo_binding_needs_ack(B(RELEASED)) &&
		   rd_fo_binding_needs_ack(B(RESET)) && !rd_fo_binding_needs_ack(B(ACTIVE)) &&
		   !rd_fo_binding_needs_ack(B(ABANDONED)) && !rd_fo_binding_needs_ack(B(FREE)),
	   "exactly EXPIRED, RELEASED and RESET wait for an ack");
}

/* ---- dueling updates played out between two servers */

struct sim_side {
	enum rd_cfg_role role;
	uint8_t state, pending;    /* our binding; what our update in flight carried */
	uint32_t ends, starts, cltt, tstp;
	uint32_t inflight;         /* xid of our update awaiting its BNDACK, 0 if none */
	bool refused_theirs;       /* we refused the peer's update while ours was in flight */
	bool resend;               /* our version goes out (again) in the next round */
};

struct sim_msg {
	bool ack;
	uint32_t xid;
	uint8_t reject;                             /* BNDACK */
	uint8_t status;                             /* BNDUPD */
	uint32_t ends, starts, cltt, pexp;
};

struct sim_net {
	struct sim_msg q[2][16];   /* q[i]: delivered to side i next round */
	size_t n[2];
	uint32_t xid;
};

static void sim_send_upd(struct sim_net *net, struct sim_side *s, int to)
{
	struct sim_msg m = { .xid = ++net->xid, .status = s->state, .ends = s->ends, .starts = s->starts,
			     .cltt = s->cltt, .pexp = s->tstp };
	s->inflight = m.xid;
	s->refused_theirs = false;
	s->pending = s->state;
	s->resend = false;
	if (net->n[to] < 16)
		net->q[to][net->n[to]++] = m;
}

static void sim_recv(struct sim_net *net, struct sim_side *me, int self, const struct sim_msg *m)
{
	if (m->ack) {
		if (m->xid != me->inflight)
			return;        /* superseded or cancelled */
		me->inflight = 0;
		if (!m->reject)
			me->state = rd_fo_binding_after_ack(me->role, me->pending, false);
		else if (me->refused_theirs && rd_fo_resend_refused(m->reject))
			me->resend = true;
		return;
	}
	bool bare = m->status == B(FREE) || m->status == B(BACKUP) || m->status == B(ABANDONED);
	rd_fo_bndupd_in_t in = {
		.my_state = ST(NORMAL), .role = me->role, .now = T0, .cur = me->state, .cur_ends = me->ends,
		.cur_cltt = me->cltt, .cur_starts = me->starts, .awaiting_ack = me->inflight != 0,
		.pending_state = me->pending, .proposed = m->status, .has_chaddr = !bare, .chaddr_len = 7,
		.has_pexp = true, .pexp = m->pexp, .has_cltt = true, .cltt = m->cltt, .has_stos = true,
		.stos = m->starts,
	};
	rd_fo_bndupd_verdict_t v;
	rd_fo_bndupd_check(&in, &v);
	struct sim_msg a = { .ack = true, .xid = m->xid, .reject = v.reject };
	if (!v.reject) {
		me->state = v.store;
		me->ends = m->ends;
		me->starts = m->starts;
		me->cltt = m->cltt;
		me->tstp = m->pexp;
		if (v.cancel_own)
			me->inflight = 0;
	} else if (me->inflight) {
		me->refused_theirs = true;
	}
	if (v.send_own && !me->inflight)
		me->resend = true;
	if (net->n[!self] < 16)
		net->q[!self][net->n[!self]++] = a;
}

/* Both send their version at once; true if they end up agreeing. */
static bool sim_duel(struct sim_side s[2], unsigned *rounds)
{
	struct sim_net net = { .xid = 100 };
	sim_send_upd(&net, &s[0], 1);
	sim_send_upd(&net, &s[1], 0);
	for (*rounds = 0; (net.n[0] || net.n[1] || s[0].resend || s[1].resend) && *rounds < 10; ++*rounds) {
		struct sim_net cur = net;
		net.n[0] = net.n[1] = 0;
		for (int i = 0; i < 2; i++)
			for (size_t k = 0; k < cur.n[i]; k++)
				sim_recv(&net, &s[i], i, &cur.q[i][k]);
		/* the update queue: resends go after this round's BNDACKs */
		for (int i = 0; i < 2; i++)
			if (s[i].resend && !s[i].inflight)
				sim_send_upd(&net, &s[i], !i);
		net.xid = net.xid > cur.xid ? net.xid : cur.xid;
	}
	return s[0].state == s[1].state && !s[0].inflight && !s[1].inflight;
}

static void test_stale_balancing_update(void)
{
	rd_fo_bndupd_in_t in;
	rd_fo_bndupd_verdict_t v;

	/* The primary moved the address FREE -> BACKUP at T0 - 5 (pool
	 * balancing: pexp = STOS = the time of the move); the secondary got
	 * it, granted it to a client at T0 - 2, and the primary's update comes
	 * (again) after the link came back. */
	in = upd(RD_FO_SECONDARY, B(ACTIVE), B(BACKUP));
	in.has_chaddr = false;
	in.cur_starts = T0 - 2;
	in.cur_cltt = T0 - 2;
	in.cur_ends = T0 - 2 + 600;
	in.pexp = T0 - 5;
	in.has_stos = true;
	in.stos = T0 - 5;
	in.cltt = 0;
	in.has_cltt = false;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == RD_FO_BNDUPD_REJ_OUTDATED && v.send_own && v.store == 0 && v.why,
	   "stale BACKUP (balancing) onto our fresh ACTIVE binding: refused (15), ours is sent to the peer");
	in.proposed = B(FREE);
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == RD_FO_BNDUPD_REJ_OUTDATED && v.send_own, "... and a stale FREE too");
	in.stos = T0 - 2;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == RD_FO_BNDUPD_REJ_OUTDATED, "... a move made the second of our grant is stale too");
	in.has_stos = false;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == RD_FO_BNDUPD_REJ_OUTDATED, "... and one without STOS cannot show it is newer");

	/* our own ACTIVE update of it is in flight: the duel goes to the
	 * primary's BACKUP (ISC's rule), but the binding still stands */
	in.has_stos = true;
	in.stos = T0 - 5;
	in.proposed = B(BACKUP);
	in.awaiting_ack = true;
	in.pending_state = B(ACTIVE);
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == RD_FO_BNDUPD_REJ_LESS_CRITICAL && !v.cancel_own,
	   "... with our ACTIVE update in flight: the binding wins the duel (16), ours stays in flight");
	in.awaiting_ack = false;
	in.pending_state = 0;

	/* what is not stale keeps ISC's rule (pexp <= now) */
	in.stos = T0 - 1;
	in.pexp = T0 - 1;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == 0 && v.store == B(BACKUP) && !v.send_own,
	   "a BACKUP decided after our grant: accepted (ISC: pexp <= now)");
	in.stos = T0 - 5;
	in.pexp = T0 - 5;
	in.cur_ends = T0;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == 0 && v.store == B(BACKUP), "an ACTIVE binding that has ended: the peer may take it back");
	in.cur_ends = T0 + 600;
	in.cur = B(EXPIRED);
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == 0 && v.store == B(BACKUP), "an EXPIRED one: ISC's rule only");
	in = upd(RD_FO_PRIMARY, B(ACTIVE), B(FREE));
	in.cur_starts = T0 - 2;
	in.has_stos = true;
	in.stos = T0 - 5;
	rd_fo_bndupd_check(&in, &v);
	ok(v.reject == RD_FO_BNDUPD_REJ_CONFLICT && !v.send_own,
	   "on the primary ACTIVE -> FREE stays ISC's invalid transition (2)");
}

static const char *const sim_names[] = { "?", "FREE", "ACTIVE", "EXPIRED", "RELEASED", "ABANDONED", "RESET",
					  "BACKUP" };

static void sim_init(struct sim_side *s, enum rd_cfg_role role, uint8_t state, uint32_t pexp, uint32_t ends,
		     uint32_t cltt)
{
	/* An ACTIVE version is a live binding (ends well ahead); one within
	 * 65 s of its end that crosses an EXPIRED is taken by both sides, and
	 * the expiry timer settles that, not the update rules. */
	*s = (struct sim_side){ .role = role, .state = state, .tstp = pexp, .cltt = cltt, .starts = cltt,
				.ends = state == B(ACTIVE) ? T0 + 600 : state == B(EXPIRED) ? ends : 0 };
}

static void test_duel_convergence(void)
{
	static const int32_t pexps[] = { -5, 100 }, ends[] = { -100, 500 }, cltts[] = { -1, 0, 1 };
	unsigned runs = 0, diverged = 0, resent = 0;

	/* every pair of versions, sent at the same moment, with the potential
	 * expiry before or after now, ends passed or not, either CLTT newer */
	for (uint8_t a = B(FREE); a <= B(BACKUP); a++)
		for (uint8_t b = B(FREE); b <= B(BACKUP); b++)
			for (size_t pa = 0; pa < 2; pa++)
				for (size_t pb = 0; pb < 2; pb++)
					for (size_t e = 0; e < 2; e++)
						for (size_t c = 0; c < 3; c++) {
							struct sim_side s[2];
							unsigned rounds;
							sim_init(&s[0], RD_FO_PRIMARY, a, T0 + pexps[pa], T0 + ends[e],
								 T0 - 10);
							sim_init(&s[1], RD_FO_SECONDARY, b, T0 + pexps[pb], T0 + ends[e],
								 T0 - 10 + cltts[c]);
							runs++;
							if (!sim_duel(s, &rounds)) {
								if (diverged++ < 5)
									diag("primary sent %s, secondary %s: ended %s / %s",
									     sim_names[a], sim_names[b], sim_names[s[0].state],
									     sim_names[s[1].state]);
							}
							resent += rounds > 2;
						}
	is_int(diverged, 0, "dueling updates: the two servers always end with the same binding (%u runs)", runs);
	ok(resent > 0, "... some of them only after the loser of a double refusal sent its update again");

	/* The case found: the primary frees (balancing) an address while the
	 * secondary expires it, pexp in the future. */
	struct sim_side s[2];
	unsigned rounds;
	sim_init(&s[0], RD_FO_PRIMARY, B(FREE), T0 + 100, 0, T0 - 10);
	sim_init(&s[1], RD_FO_SECONDARY, B(EXPIRED), T0 + 100, T0 - 100, T0 - 10);
	ok(sim_duel(s, &rounds) && s[0].state == B(FREE) && s[1].state == B(FREE) && rounds > 2,
	   "FREE from the primary vs EXPIRED from the secondary: both refused, the secondary's goes "
	   "again and both hold FREE (%s / %s after %u rounds)", sim_names[s[0].state], sim_names[s[1].state],
	   rounds);

	/* finding A played out: the secondary's fresh grant vs the primary's
	 * stale BACKUP, both in flight */
	sim_init(&s[0], RD_FO_PRIMARY, B(BACKUP), T0 - 5, 0, T0 - 5);
	sim_init(&s[1], RD_FO_SECONDARY, B(ACTIVE), T0 + 300, T0 + 600, T0 - 2);
	ok(sim_duel(s, &rounds) && s[0].state == B(ACTIVE) && s[1].state == B(ACTIVE),
	   "stale BACKUP vs a fresh grant: both end ACTIVE (%s / %s)", sim_names[s[0].state],
	   sim_names[s[1].state]);
}

int main(void)
{
	plan_lazy();
	test_names();
	test_matrix();
	test_matrix_extra_columns();
	test_matrix_special_cases();
	test_repeated();
	test_startup_and_link();
	test_auto_partner_down();
	test_upddone();
	test_first_start();
	test_database_lost();
	test_conflict_resolution();
	test_graceful_shutdown();
	test_serving();
	test_allocation();
	test_binding_normal();
	test_binding_conflict();
	test_bndupd();
	test_stale_balancing_update();
	test_duel_convergence();
	return done_testing();
}
