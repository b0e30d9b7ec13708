/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fo_peer.c — test driver for tests/sys/fo_isc_link.sh: one failover link
 * (failover/link.c) against a live peer, with a scripted minimal exchange
 * standing in for the state machine, which is not wired in here on purpose
 * (this program tests the link on the wire, nothing else):
 *
 *   - we start in RECOVER, as a server with an empty lease store does, and
 *     send STATE(recover) when the link comes up;
 *   - after the peer's first STATE we send UPDREQALL; every BNDUPD gets a
 *     BNDACK (assigned-IP only, same xid, as ISC wants it); UPDREQ and
 *     UPDREQALL from the peer get UPDDONE at once (we hold no leases);
 *     POOLREQ gets POOLRESP(0);
 *   - the peer's UPDDONE moves us to RECOVER-DONE; once the peer is in
 *     RECOVER-DONE or NORMAL we move to NORMAL (ISC's own rule, §4.3).
 *
 * It prints one line per event on stdout (UP, PEER-STATE, STATE, UPDDONE,
 * BNDUPD counts, DOWN, REFUSED), then, once both sides are NORMAL on the
 * --ups'th link (default 1; more to ride out a peer restart) and --linger
 * seconds more (to acknowledge the primary's pool rebalance and see CONTACT
 * both ways), a summary with every message type it sent and the link's
 * counters, and exits 0.
 * Exit 1 when --timeout passes first, 2 on a usage error or SIGTERM/SIGINT.
 * The link's own log goes to stderr.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rackdhcp/fo_link.h"
#include "rackdhcp/log.h"

static volatile sig_atomic_t stop;

static struct {
	uint8_t our, peer;              /* enum rd_fo_state; peer 0 until its first STATE */
	bool sent_updreqall;
	uint32_t stos;
	uint64_t normal_at;             /* both NORMAL since (ms), 0 = not yet */
	unsigned ups, want_ups;
	unsigned sent[16], recv[16];
	unsigned bndupd_by_status[8];
	int downs;
} st;

static void on_signal(int sig)
{
	stop = sig;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void send_msg(rd_fo_link_t *l, rd_fo_msg_t *m)
{
	int r = rd_fo_link_send(l, m);
	if (r < 0) {
		say("SEND-FAILED %s %s", rd_fo_msg_name(m->type), rd_strerror(r));
		return;
	}
	if (m->type < 16)
		st.sent[m->type]++;
}

static void send_state(rd_fo_link_t *l, uint8_t state)
{
	rd_fo_msg_t m;
	if (state != st.our)
		st.stos = (uint32_t)time(NULL);
	st.our = state;
	rd_fo_msg_init(&m, RD_FO_STATE, 0, 0);
	rd_fo_set_uint(&m, RD_FO_OPT_SERVER_STATE, state);
	rd_fo_set_uint(&m, RD_FO_OPT_SERVER_FLAGS, 0);
	rd_fo_set_uint(&m, RD_FO_OPT_STOS, st.stos);
	send_msg(l, &m);
	say("STATE %s", rd_fo_state_name(state));
}

/* ISC's rule for a server in RECOVER-DONE (§4.3): NORMAL once the peer is RECOVER-DONE or NORMAL. */
static void maybe_normal(rd_fo_link_t *l)
{
	if (st.our == RD_FO_ST_RECOVER_DONE &&
	    (st.peer == RD_FO_ST_RECOVER_DONE || st.peer == RD_FO_ST_NORMAL))
		send_state(l, RD_FO_ST_NORMAL);
	if (st.our == RD_FO_ST_NORMAL && st.peer == RD_FO_ST_NORMAL && !st.normal_at) {
		st.normal_at = rd_fo_link_now_ms();
		say("NORMAL-BOTH link %u", st.ups);
	}
}

static void on_up(void *ctx, rd_fo_link_t *l, const rd_fo_link_peer_t *p)
{
	char a[INET_ADDRSTRLEN];
	struct in_addr ia = { .s_addr = htonl(p->addr) };
	say("UP %s %s:%u vendor=%s mclt=%u max-unacked=%u receive-timer=%u skew=%d",
	    p->inbound ? "incoming" : "outgoing", inet_ntop(AF_INET, &ia, a, sizeof(a)), p->port,
	    p->vendor_class, p->mclt, p->max_unacked, p->receive_timer, (int)p->clock_skew);
	/* A reconnect starts the exchange over: the peer may have restarted. */
	st.ups++;
	st.normal_at = 0;
	st.peer = 0;
	st.sent_updreqall = false;
	send_state(l, st.our ? st.our : RD_FO_ST_RECOVER);
}

static void on_message(void *ctx, rd_fo_link_t *l, const rd_fo_msg_t *m)
{
	rd_fo_msg_t r;

	if (m->type < 16)
		st.recv[m->type]++;
	switch (m->type) {
	case RD_FO_STATE:
		say("PEER-STATE %s flags=%u", rd_fo_state_name(m->server_state), m->server_flags);
		st.peer = m->server_state;
		if (st.our == RD_FO_ST_RECOVER && !st.sent_updreqall) {
			rd_fo_msg_init(&r, RD_FO_UPDREQALL, 0, 0);
			send_msg(l, &r);
			st.sent_updreqall = true;
			say("UPDREQALL xid=%u", r.xid);
		}
		maybe_normal(l);
		break;
	case RD_FO_UPDREQ:
	case RD_FO_UPDREQALL:
		rd_fo_msg_init(&r, RD_FO_UPDDONE, 0, m->xid);
		send_msg(l, &r);
		say("PEER-%s xid=%u: UPDDONE (we hold no leases)", rd_fo_msg_name(m->type), m->xid);
		break;
	case RD_FO_BNDUPD:
		rd_fo_msg_init(&r, RD_FO_BNDACK, 0, m->xid);
		rd_fo_set_uint(&r, RD_FO_OPT_ASSIGNED_IP, m->assigned_ip);
		send_msg(l, &r);
		if (m->binding_status < 8)
			st.bndupd_by_status[m->binding_status]++;
		break;
	case RD_FO_UPDDONE:
		say("PEER-UPDDONE xid=%u after %u BNDUPDs", m->xid, st.recv[RD_FO_BNDUPD]);
		if (st.our == RD_FO_ST_RECOVER)
			send_state(l, RD_FO_ST_RECOVER_DONE);
		maybe_normal(l);
		break;
	case RD_FO_POOLREQ:
		rd_fo_msg_init(&r, RD_FO_POOLRESP, 0, m->xid);
		rd_fo_set_uint(&r, RD_FO_OPT_ADDRESSES_TRANSFERRED, 0);
		send_msg(l, &r);
		say("PEER-POOLREQ: POOLRESP 0");
		break;
	case RD_FO_DISCONNECT:
		say("PEER-DISCONNECT reason=%u", m->reject_reason);
		break;
	default:
		say("PEER-%s xid=%u", rd_fo_msg_name(m->type), m->xid);
		break;
	}
}

static void on_down(void *ctx, rd_fo_link_t *l, int reason, const char *why)
{
	st.downs++;
	st.normal_at = 0;
	st.peer = 0;
	say("DOWN %s: %s", rd_fo_link_down_name(reason), why);
}

static void on_refused(void *ctx, rd_fo_link_t *l, bool by_peer, unsigned reason, const char *why)
{
	say("REFUSED %s reason=%u: %s", by_peer ? "by-peer" : "by-us", reason, why);
}

static int parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: fo_peer --role primary|secondary --address A --peer-address B\n"
		"               [--name fo-test] [--port 647] [--peer-port 647] [--mclt 30] [--split 255]\n"
		"               [--mrd 15] [--max-unacked 10] [--timeout 40] [--linger 3] [--ups 1] [--debug]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "name", required_argument, NULL, 'n' },
		{ "address", required_argument, NULL, 'a' },
		{ "peer-address", required_argument, NULL, 'A' },
		{ "port", required_argument, NULL, 'p' },
		{ "peer-port", required_argument, NULL, 'P' },
		{ "mclt", required_argument, NULL, 'm' },
		{ "split", required_argument, NULL, 's' },
		{ "mrd", required_argument, NULL, 'd' },
		{ "max-unacked", required_argument, NULL, 'u' },
		{ "timeout", required_argument, NULL, 't' },
		{ "linger", required_argument, NULL, 'l' },
		{ "ups", required_argument, NULL, 'U' },
		{ "debug", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	rd_fo_link_conf_t conf = {
		.name = "fo-test", .role = RD_FO_SECONDARY, .port = RD_FO_PORT, .peer_port = RD_FO_PORT,
		.mclt = 30, .max_response_delay = 15, .max_unacked = 10,
	};
	unsigned split = 255, timeout = 40, linger = 3;
	bool have_role = false, debug = false;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			have_role = true;
			if (!strcmp(optarg, "primary"))
				conf.role = RD_FO_PRIMARY;
			else if (!strcmp(optarg, "secondary"))
				conf.role = RD_FO_SECONDARY;
			else
				usage();
			break;
		case 'n': conf.name = optarg; break;
		case 'a': if (parse_ip(optarg, &conf.address)) usage(); break;
		case 'A': if (parse_ip(optarg, &conf.peer_address)) usage(); break;
		case 'p': conf.port = (uint16_t)strtoul(optarg, NULL, 10); break;
		case 'P': conf.peer_port = (uint16_t)strtoul(optarg, NULL, 10); break;
		case 'm': conf.mclt = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 's': split = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'd': conf.max_response_delay = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'u': conf.max_unacked = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 't': timeout = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'l': linger = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'U': st.want_ups = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'D': debug = true; break;
		default: usage();
		}
	}
	if (!have_role || !conf.address || !conf.peer_address || split > 256)
		usage();
	for (unsigned i = 0; i < split; i++)
		conf.hba[i / 8] |= (uint8_t)(1u << (i % 8));

	rd_log_init("fo_peer", debug ? LOG_DEBUG : LOG_INFO);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);

	rd_fo_link_ops_t ops = {
		.on_up = on_up, .on_message = on_message, .on_down = on_down, .on_refused = on_refused,
	};
	rd_fo_link_t *l;
	int r = rd_fo_link_new(&conf, &ops, &l);
	if (r < 0) {
		fprintf(stderr, "fo_peer: cannot start the link: %s\n", rd_strerror(r));
		return 2;
	}
	if (!st.want_ups)
		st.want_ups = 1;
	st.our = RD_FO_ST_RECOVER;
	st.stos = (uint32_t)time(NULL);

	uint64_t start = rd_fo_link_now_ms(), deadline = start + (uint64_t)timeout * 1000u;
	int rc = 1;
	while (!stop) {
		struct pollfd pfd[RD_FO_LINK_MAX_FDS];
		uint64_t now = rd_fo_link_now_ms();
		size_t n = rd_fo_link_poll_events(l, pfd, RD_FO_LINK_MAX_FDS);
		int t = rd_fo_link_next_timeout_ms(l, now);
		if (t < 0 || t > 200)
			t = 200;
		(void)poll(pfd, (nfds_t)n, t);
		now = rd_fo_link_now_ms();
		rd_fo_link_process(l, now);
		if (st.normal_at && st.ups >= st.want_ups && now >= st.normal_at + (uint64_t)linger * 1000u) {
			rc = 0;
			break;
		}
		if (now >= deadline) {
			say("TIMEOUT after %u s: we are %s, the peer %s", timeout, rd_fo_state_name(st.our),
			    rd_fo_state_name(st.peer));
			break;
		}
	}
	if (stop) {
		say("SIGNAL %d", (int)stop);
		rc = 2;
	}

	/* Let what is queued reach the wire before we close (bounded). */
	for (int i = 0; i < 50 && rd_fo_link_queued(l); i++) {
		struct pollfd pfd[RD_FO_LINK_MAX_FDS];
		size_t n = rd_fo_link_poll_events(l, pfd, RD_FO_LINK_MAX_FDS);
		(void)poll(pfd, (nfds_t)n, 20);
		rd_fo_link_process(l, rd_fo_link_now_ms());
	}

	const rd_fo_link_stats_t *s = rd_fo_link_stats(l);
	char line[512];
	size_t o = 0;
	for (unsigned t = 1; t <= RD_FO_MSG_TYPE_MAX; t++)
		if (st.sent[t])
			o += (size_t)snprintf(line + o, sizeof(line) - o, " %s=%u", rd_fo_msg_name(t), st.sent[t]);
	say("SENT-BY-OWNER%s", o ? line : " none");
	o = 0;
	for (unsigned t = 1; t <= RD_FO_MSG_TYPE_MAX; t++)
		if (st.recv[t])
			o += (size_t)snprintf(line + o, sizeof(line) - o, " %s=%u", rd_fo_msg_name(t), st.recv[t]);
	say("RECEIVED%s", o ? line : " none");
	o = 0;
	for (unsigned b = 1; b < 8; b++)
		if (st.bndupd_by_status[b])
			o += (size_t)snprintf(line + o, sizeof(line) - o, " %s=%u", rd_fo_binding_name(b),
					      st.bndupd_by_status[b]);
	say("BNDUPD-STATUS%s", o ? line : " none");
	say("LINK msgs-out=%llu msgs-in=%llu contacts-out=%llu contacts-in=%llu ups=%llu downs=%llu "
	    "refused-local=%llu refused-peer=%llu protocol-errors=%llu",
	    (unsigned long long)s->msgs_out, (unsigned long long)s->msgs_in,
	    (unsigned long long)s->contacts_out, (unsigned long long)s->contacts_in,
	    (unsigned long long)s->ups, (unsigned long long)s->downs,
	    (unsigned long long)s->refused_local, (unsigned long long)s->refused_peer,
	    (unsigned long long)s->protocol_errors);
	say("RESULT %s: we are %s, the peer %s", rc == 0 ? "ok" : "failed", rd_fo_state_name(st.our),
	    rd_fo_state_name(st.peer));
	rd_fo_link_free(l);
	return rc;
}
