/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_link.c — tests for failover/link.c, over 127.0.0.x with ports the
 * kernel picks and a fake clock per link (now_ms is whatever the test says;
 * only socket I/O waits in real time, bounded):
 *
 *  - a primary and a secondary link reach up on both sides (whichever of
 *    their two connections wins), exchange handshake data, STATE, BNDUPD /
 *    BNDACK with the xid rules;
 *  - CONTACT keepalives flow after receive-timer/3 of silence; silence
 *    beyond max-response-delay drops the link (DISCONNECT 17 to the peer);
 *    both reconnect after the back-off, and again after one side restarts;
 *  - a hand-driven fake peer: a duplicate connection is refused on both
 *    roles (CONNECTACK reject 7 / DISCONNECT 7) while the link stays up; a
 *    foreign source address is closed at once; a wrong relationship name,
 *    a skewed clock, a missing MCLT, a short HBA, two primaries are refused
 *    with the right reason and logged; a CONNECT and later messages sent
 *    byte by byte, or several in one write, are handled; a bad BNDUPD gets
 *    a rejecting BNDACK, a bad STATE is dropped; garbage before or after the
 *    handshake closes the connection with DISCONNECT; a full output queue
 *    refuses with RD_ENOSPACE and on_drain follows; a secondary that hears
 *    no CONNECT gives up after 15 s.
 *
 * RD_TEST_DEBUG=1 logs every message at debug level.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/fo_link.h"
#include "rackdhcp/log.h"
#include "tap.h"

#define A_ADDR 0x7f000001u      /* 127.0.0.1: the primary */
#define B_ADDR 0x7f000002u      /* 127.0.0.2: the secondary */
#define X_ADDR 0x7f000003u      /* 127.0.0.3: a stranger */
#define NAME   "fo-test"

static const uint8_t hba_255[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
};

/* ------------------------------------------------------------- the owner */

typedef struct {
	const char *tag;
	rd_fo_link_t *l;
	uint64_t now;                   /* this link's fake clock */
	int ups, downs, down_reason;
	int refused, refused_reason;
	bool refused_by_peer;
	int drains;
	int msgs[16];
	rd_fo_msg_t last;
	rd_fo_link_peer_t peer;
	bool state_on_up;
} side_t;

static side_t *sides[4];
static size_t nsides;

static void cb_up(void *ctx, rd_fo_link_t *l, const rd_fo_link_peer_t *peer)
{
	side_t *s = ctx;
	s->ups++;
	s->peer = *peer;
	if (s->state_on_up) {
		rd_fo_msg_t m;
		rd_fo_msg_init(&m, RD_FO_STATE, 0, 0);
		rd_fo_set_uint(&m, RD_FO_OPT_SERVER_STATE, RD_FO_ST_RECOVER);
		rd_fo_set_uint(&m, RD_FO_OPT_SERVER_FLAGS, 0);
		rd_fo_set_uint(&m, RD_FO_OPT_STOS, (uint32_t)time(NULL));
		if (rd_fo_link_send(l, &m) != 0)
			diag("%s: STATE on up not queued", s->tag);
	}
}

static void cb_message(void *ctx, rd_fo_link_t *l, const rd_fo_msg_t *m)
{
	side_t *s = ctx;
	if (m->type < 16)
		s->msgs[m->type]++;
	s->last = *m;
}

static void cb_down(void *ctx, rd_fo_link_t *l, int reason, const char *why)
{
	side_t *s = ctx;
	s->downs++;
	s->down_reason = reason;
}

static void cb_refused(void *ctx, rd_fo_link_t *l, bool by_peer, unsigned reason, const char *why)
{
	side_t *s = ctx;
	s->refused++;
	s->refused_reason = (int)reason;
	s->refused_by_peer = by_peer;
}

static void cb_drain(void *ctx, rd_fo_link_t *l)
{
	((side_t *)ctx)->drains++;
}

static void conf_init(rd_fo_link_conf_t *c, enum rd_cfg_role role, uint32_t me, uint32_t peer,
		      uint16_t peer_port)
{
	memset(c, 0, sizeof(*c));
	c->name = NAME;
	c->role = role;
	c->address = me;
	c->port = 0;
	c->peer_address = peer;
	c->peer_port = peer_port;
	c->mclt = 300;
	memcpy(c->hba, hba_255, 32);
	c->max_response_delay = 6;
	c->max_unacked = 10;
}

static int side_open(side_t *s, const char *tag, const rd_fo_link_conf_t *c)
{
	rd_fo_link_ops_t ops = {
		.on_up = cb_up, .on_message = cb_message, .on_down = cb_down,
		.on_refused = cb_refused, .on_drain = cb_drain, .ctx = s,
	};
	uint64_t now = s->now;
	bool st = s->state_on_up;
	memset(s, 0, sizeof(*s));
	s->tag = tag;
	s->now = now ? now : 1000000;
	s->state_on_up = st;
	int r = rd_fo_link_new(c, &ops, &s->l);
	if (r == 0)
		sides[nsides++] = s;
	return r;
}

static void side_close(side_t *s)
{
	for (size_t i = 0; i < nsides; i++)
		if (sides[i] == s) {
			sides[i] = sides[--nsides];
			break;
		}
	rd_fo_link_free(s->l);
	s->l = NULL;
}

/* Let the links do their I/O for at most ms real milliseconds. */
static void pump(int ms)
{
	struct pollfd pfd[4 * RD_FO_LINK_MAX_FDS];
	size_t n = 0;
	for (size_t i = 0; i < nsides; i++)
		n += rd_fo_link_poll_events(sides[i]->l, pfd + n, RD_FO_LINK_MAX_FDS);
	(void)poll(pfd, (nfds_t)n, ms);
	for (size_t i = 0; i < nsides; i++)
		rd_fo_link_process(sides[i]->l, sides[i]->now);
}

/* Pump until expr holds or ms of real time pass; the value of expr. */
#define WAIT_FOR(expr, ms) ({                                                  \
	uint64_t end_ = rd_fo_link_now_ms() + (ms);                            \
	bool ok_ = false;                                                      \
	for (;;) {                                                             \
		pump(5);                                                       \
		if ((expr)) { ok_ = true; break; }                             \
		if (rd_fo_link_now_ms() >= end_) break;                        \
	}                                                                      \
	ok_; })

/* Advance a link's fake clock and let it act on it. */
static void tick(side_t *s, uint64_t ms)
{
	s->now += ms;
	pump(5);
}

/* --------------------------------------------------------------- log capture */

static int cap_saved = -1;
static FILE *cap_file;
static char cap_buf[65536];

static void cap_begin(void)
{
	fflush(stderr);
	cap_file = tmpfile();
	if (!cap_file)
		bail_out("tmpfile");
	cap_saved = dup(STDERR_FILENO);
	dup2(fileno(cap_file), STDERR_FILENO);
}

static const char *cap_end(void)
{
	fflush(stderr);
	dup2(cap_saved, STDERR_FILENO);
	close(cap_saved);
	rewind(cap_file);
	size_t n = fread(cap_buf, 1, sizeof(cap_buf) - 1, cap_file);
	cap_buf[n] = '\0';
	fclose(cap_file);
	fputs(cap_buf, stderr);     /* still visible in the test log */
	return cap_buf;
}

/* ------------------------------------------------------------- a fake peer */

typedef struct {
	int fd;
	size_t len;
	uint8_t buf[8192];
} fake_t;

static struct sockaddr_in sin_of(uint32_t addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	sa.sin_addr.s_addr = htonl(addr);
	return sa;
}

static void fake_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Connect from src to dst:port (loopback: the kernel completes it at once). */
static bool fake_connect(fake_t *f, uint32_t src, uint32_t dst, uint16_t port)
{
	struct sockaddr_in me = sin_of(src, 0), to = sin_of(dst, port);
	f->len = 0;
	f->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->fd < 0 || bind(f->fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
	    connect(f->fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
		diag("fake connect: %s", strerror(errno));
		return false;
	}
	fake_nonblock(f->fd);
	return true;
}

static int fake_listen(uint32_t addr, uint16_t *port)
{
	struct sockaddr_in sa = sin_of(addr, 0);
	socklen_t sl = sizeof(sa);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0)
		bail_out("fake listen: %s", strerror(errno));
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	*port = ntohs(sa.sin_port);
	return fd;
}

static bool fake_accept(fake_t *f, int lfd, int ms)
{
	f->len = 0;
	f->fd = -1;
	return WAIT_FOR((f->fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0, ms);
}

static void fake_close(fake_t *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

static void fake_raw(fake_t *f, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = send(f->fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			pump(1);
			continue;
		}
		if (w <= 0) {
			diag("fake send: %s", strerror(errno));
			return;
		}
		b += w;
		n -= (size_t)w;
	}
}

static size_t enc(const rd_fo_msg_t *m, uint8_t *buf)
{
	int n = rd_fo_encode(m, buf, RD_FO_MSG_MAX);
	if (n < 0)
		bail_out("encode: %d", n);
	return (size_t)n;
}

static void fake_send(fake_t *f, const rd_fo_msg_t *m)
{
	uint8_t buf[RD_FO_MSG_MAX];
	fake_raw(f, buf, enc(m, buf));
}

/* One byte per write, the links pumped in between. */
static void fake_send_bytewise(fake_t *f, const rd_fo_msg_t *m)
{
	uint8_t buf[RD_FO_MSG_MAX];
	size_t n = enc(m, buf);
	for (size_t i = 0; i < n; i++) {
		fake_raw(f, buf + i, 1);
		pump(1);
	}
}

/* 1: a message in *m; 0: EOF; -1: nothing within ms; -2: a broken frame. */
static int fake_recv(fake_t *f, rd_fo_msg_t *m, int ms)
{
	uint64_t end = rd_fo_link_now_ms() + (uint64_t)ms;
	for (;;) {
		size_t mlen = 0;
		rd_diag_t d;
		int k = rd_fo_frame_len(f->buf, f->len, &mlen, &d);
		if (k < 0)
			return -2;
		if (k == 1) {
			int r = rd_fo_decode(f->buf, mlen, m, &d);
			memmove(f->buf, f->buf + mlen, f->len - mlen);
			f->len -= mlen;
			if (r < 0) {
				diag("fake: undecodable message: %s", d.reason);
				return -2;
			}
			return 1;
		}
		ssize_t r = recv(f->fd, f->buf + f->len, sizeof(f->buf) - f->len, MSG_DONTWAIT);
		if (r == 0)
			return 0;
		if (r > 0) {
			f->len += (size_t)r;
			continue;
		}
		if (errno != EAGAIN && errno != EINTR)
			return 0;       /* reset counts as closed */
		if (rd_fo_link_now_ms() >= end)
			return -1;
		pump(5);
	}
}

/* Read until EOF (skipping messages) within ms; true at EOF. */
static bool fake_eof(fake_t *f, int ms)
{
	rd_fo_msg_t m;
	uint64_t end = rd_fo_link_now_ms() + (uint64_t)ms;
	for (;;) {
		int r = fake_recv(f, &m, 50);
		if (r == 0 || r == -2)
			return true;
		if (rd_fo_link_now_ms() >= end)
			return false;
	}
}

static void mk_connect(rd_fo_msg_t *m, const char *name, uint32_t t)
{
	rd_fo_msg_init(m, RD_FO_CONNECT, t, 0);
	if (name)
		rd_fo_set_str(m, RD_FO_OPT_RELATIONSHIP_NAME, name);
	rd_fo_set_uint(m, RD_FO_OPT_MAX_UNACKED, 10);
	rd_fo_set_uint(m, RD_FO_OPT_RECEIVE_TIMER, 30);
	rd_fo_set_str(m, RD_FO_OPT_VENDOR_CLASS, "isc-4.4.3-P1");
	rd_fo_set_uint(m, RD_FO_OPT_PROTOCOL_VERSION, 1);
	rd_fo_set_uint(m, RD_FO_OPT_TLS_REQUEST, 0);
	rd_fo_set_uint(m, RD_FO_OPT_MCLT, 300);
	rd_fo_set_bytes(m, RD_FO_OPT_HBA, hba_255, 32);
}

static void mk_connectack(rd_fo_msg_t *m, const char *name, uint32_t t, uint32_t xid)
{
	rd_fo_msg_init(m, RD_FO_CONNECTACK, t, xid);
	if (name)
		rd_fo_set_str(m, RD_FO_OPT_RELATIONSHIP_NAME, name);
	rd_fo_set_uint(m, RD_FO_OPT_MAX_UNACKED, 10);
	rd_fo_set_uint(m, RD_FO_OPT_RECEIVE_TIMER, 30);
	rd_fo_set_str(m, RD_FO_OPT_VENDOR_CLASS, "isc-4.4.3-P1");
	rd_fo_set_uint(m, RD_FO_OPT_PROTOCOL_VERSION, 1);
	rd_fo_set_uint(m, RD_FO_OPT_TLS_REPLY, 0);
}

static bool msg_text_has(const rd_fo_msg_t *m, const char *needle)
{
	size_t n;
	char text[300];
	const uint8_t *v = rd_fo_get_bytes(m, RD_FO_OPT_MESSAGE, &n);
	if (!v || n >= sizeof(text))
		return false;
	memcpy(text, v, n);
	text[n] = '\0';
	return strstr(text, needle) != NULL;
}

/* A fresh connection from the peer's address to secondary s: CONNECT, read the answer. */
static int connect_and_answer(side_t *s, const rd_fo_msg_t *req, rd_fo_msg_t *ans)
{
	fake_t f;
	if (!fake_connect(&f, A_ADDR, B_ADDR, rd_fo_link_local_port(s->l)))
		return -3;
	fake_send(&f, req);
	int r = fake_recv(&f, ans, 2000);
	if (r == 1 && !fake_eof(&f, 3000))
		r = -4;
	fake_close(&f);
	return r;
}

/* ------------------------------------------------------------------ tests */

static side_t A, B;

static void test_pair(void)
{
	rd_fo_link_conf_t ca, cb;
	rd_fo_msg_t m;

	conf_init(&ca, RD_FO_PRIMARY, A_ADDR, B_ADDR, 1);
	conf_init(&cb, RD_FO_SECONDARY, B_ADDR, A_ADDR, 1);
	cb.max_unacked = 7;
	cb.max_response_delay = 9;
	A.state_on_up = B.state_on_up = true;
	if (side_open(&A, "A", &ca) || side_open(&B, "B", &cb))
		bail_out("cannot open the links");
	rd_fo_link_set_peer(A.l, B_ADDR, rd_fo_link_local_port(B.l));
	rd_fo_link_set_peer(B.l, A_ADDR, rd_fo_link_local_port(A.l));
	ok(rd_fo_link_local_port(A.l) != 0 && rd_fo_link_local_port(B.l) != 0, "both listen on ephemeral ports");
	is_int(rd_fo_link_send(A.l, &(rd_fo_msg_t){ .type = RD_FO_STATE }), RD_FO_LINK_ENOTCONN,
	       "send before the handshake: not connected");

	ok(WAIT_FOR(A.ups == 1 && B.ups == 1 && A.msgs[RD_FO_STATE] == 1 && B.msgs[RD_FO_STATE] == 1, 3000),
	   "primary and secondary are up and exchanged STATE");
	pump(100);  /* let a second crossing connection, if any, be refused and settle */
	ok(rd_fo_link_is_up(A.l) && rd_fo_link_is_up(B.l) && A.ups == 1 && B.ups == 1 && !A.downs && !B.downs,
	   "one link, still up");
	if (A.refused)
		ok(A.refused_by_peer && A.refused_reason == RD_FO_REJ_DUP_CONNECTION,
		   "the crossing connection was refused as a duplicate");
	is_int(B.peer.mclt, 300, "secondary learnt MCLT from CONNECT");
	ok(B.peer.has_hba && memcmp(B.peer.hba, hba_255, 32) == 0, "secondary learnt the HBA");
	is_int(B.peer.max_unacked, 10, "secondary learnt max-unacked");
	is_int(B.peer.receive_timer, 6, "secondary learnt the receive timer");
	is_int(A.peer.max_unacked, 7, "primary learnt max-unacked from CONNECTACK");
	is_int(A.peer.receive_timer, 9, "primary learnt the receive timer from CONNECTACK");
	ok(strncmp(A.peer.vendor_class, "rackdhcpd-", 10) == 0, "vendor class \"%s\"", A.peer.vendor_class);
	ok(A.peer.clock_skew >= -1 && A.peer.clock_skew <= 1, "no clock skew");
	is_int(A.last.server_state, RD_FO_ST_RECOVER, "STATE carries the state");
	ok(rd_fo_link_peer(A.l) && rd_fo_link_peer(A.l)->receive_timer == 9, "rd_fo_link_peer");

	/* A request gets a fresh non-zero xid; the reply keeps it. */
	rd_fo_msg_init(&m, RD_FO_BNDUPD, 0, 0);
	rd_fo_set_uint(&m, RD_FO_OPT_ASSIGNED_IP, 0xc0000214);
	rd_fo_set_uint(&m, RD_FO_OPT_BINDING_STATUS, RD_FO_BS_FREE);
	is_int(rd_fo_link_send(A.l, &m), 0, "BNDUPD queued");
	ok(m.xid != 0, "BNDUPD xid %u is not 0", m.xid);
	uint32_t xid = m.xid;
	ok(WAIT_FOR(B.msgs[RD_FO_BNDUPD] == 1, 2000), "secondary got the BNDUPD");
	is_int(B.last.xid, xid, "with its xid");
	rd_fo_msg_init(&m, RD_FO_BNDACK, 0, B.last.xid);
	rd_fo_set_uint(&m, RD_FO_OPT_ASSIGNED_IP, 0xc0000214);
	is_int(rd_fo_link_send(B.l, &m), 0, "BNDACK queued");
	is_int(m.xid, xid, "BNDACK keeps the request's xid");
	ok(WAIT_FOR(A.msgs[RD_FO_BNDACK] == 1, 2000) && A.last.xid == xid, "primary got the BNDACK");
	rd_fo_msg_init(&m, RD_FO_CONNECT, 0, 0);
	is_int(rd_fo_link_send(A.l, &m), RD_EINVAL, "CONNECT is the link's own");

	int t = rd_fo_link_next_timeout_ms(A.l, A.now);
	ok(t > 0 && t <= 3000, "next timeout %d ms: the keepalive (9 s / 3)", t);
}

static void test_keepalive_and_timeout(void)
{
	const rd_fo_link_stats_t *sa = rd_fo_link_stats(A.l), *sb = rd_fo_link_stats(B.l);
	uint64_t b_in = sb->contacts_in, a_in = sa->contacts_in;

	/* A's keepalive interval is B's receive timer / 3 = 3 s, B's is 6 / 3 = 2 s. */
	tick(&A, 2900);
	pump(50);
	is_int((long long)sb->contacts_in, (long long)b_in, "no CONTACT before receive-timer/3");
	tick(&A, 200);
	ok(WAIT_FOR(sb->contacts_in == b_in + 1, 2000), "CONTACT after 3 s of silence from the primary");
	tick(&B, 2100);
	ok(WAIT_FOR(sa->contacts_in == a_in + 1, 2000), "CONTACT after 2 s of silence from the secondary");
	ok(rd_fo_link_is_up(A.l) && rd_fo_link_is_up(B.l), "keepalives keep the link up");

	/* Only A's clock runs: A keeps talking, B says nothing. */
	cap_begin();
	for (int i = 0; i < 7 && !A.downs; i++) {
		tick(&A, 1000);
		pump(20);
	}
	WAIT_FOR(B.downs == 1, 2000);
	const char *log = cap_end();
	is_int(A.downs, 1, "primary dropped the silent link");
	is_int(A.down_reason, RD_FO_DOWN_TIMEOUT, "as a timeout");
	ok(strstr(log, "no message from the peer for 6 s") != NULL, "and logged it");
	ok(sb->contacts_in >= b_in + 2, "the secondary kept receiving CONTACT meanwhile");
	is_int(B.downs, 1, "secondary saw the link go");
	is_int(B.down_reason, RD_FO_DOWN_DISCONNECT, "through DISCONNECT");
	ok(B.msgs[RD_FO_DISCONNECT] == 1 && B.last.reject_reason == RD_FO_REJ_NO_TRAFFIC,
	   "DISCONNECT reason 17 reached the owner");
	is_int(rd_fo_link_send(B.l, &(rd_fo_msg_t){ .type = RD_FO_STATE }), RD_FO_LINK_ENOTCONN,
	       "send on a down link: not connected");

	/* Back-off after a drop: 1 s. */
	pump(50);
	ok(!rd_fo_link_is_up(A.l) && !rd_fo_link_is_up(B.l), "no reconnect before the back-off");
	A.now += 1100;
	B.now += 1100;
	ok(WAIT_FOR(A.ups == 2 && B.ups == 2, 3000), "both reconnect after the back-off");
	pump(100);
	ok(rd_fo_link_is_up(A.l) && rd_fo_link_is_up(B.l), "and stay up");
}

static void test_restart(void)
{
	rd_fo_link_conf_t ca;
	uint16_t pa = rd_fo_link_local_port(A.l);

	side_close(&A);
	ok(WAIT_FOR(B.downs == 2, 2000), "secondary notices the primary's exit");
	is_int(B.down_reason, RD_FO_DOWN_CLOSED, "as a closed connection");

	conf_init(&ca, RD_FO_PRIMARY, A_ADDR, B_ADDR, rd_fo_link_local_port(B.l));
	ca.port = pa;
	A.now = 5000000;
	A.state_on_up = true;
	is_int(side_open(&A, "A", &ca), 0, "primary restarts on the same port");
	ok(WAIT_FOR(A.ups == 1 && B.ups == 3, 3000), "link up again after the restart");
	/* The secondary's own reconnect is still due: it must not disturb the link. */
	B.now += 2500;
	pump(200);
	ok(rd_fo_link_is_up(A.l) && rd_fo_link_is_up(B.l) && A.downs == 0 && B.downs == 2,
	   "the link survives the secondary's pending reconnect");
}

static void test_duplicates(void)
{
	fake_t f;
	rd_fo_msg_t m, ans;
	int rb = B.refused, ra = A.refused;

	/* Second CONNECT to the secondary while up. */
	mk_connect(&m, NAME, (uint32_t)time(NULL));
	int r = connect_and_answer(&B, &m, &ans);
	ok(r == 1 && ans.type == RD_FO_CONNECTACK && rd_fo_has(&ans, RD_FO_OPT_REJECT_REASON) &&
	   ans.reject_reason == RD_FO_REJ_DUP_CONNECTION, "secondary: duplicate CONNECT refused with reason 7");
	ok(msg_text_has(&ans, "already connected"), "with ISC's message");
	ok(B.refused == rb + 1 && !B.refused_by_peer, "on_refused (local)");
	ok(rd_fo_link_is_up(B.l) && B.downs == 2, "the established link is untouched");

	/* A second connection to the primary: it sends CONNECT, we accept, it refuses. */
	ok(fake_connect(&f, B_ADDR, A_ADDR, rd_fo_link_local_port(A.l)), "fake secondary connects to the primary");
	r = fake_recv(&f, &m, 2000);
	ok(r == 1 && m.type == RD_FO_CONNECT, "the primary sends CONNECT on every connection");
	is_int(m.xid, 0, "CONNECT xid 0, as ISC");
	ok(rd_fo_msg_check(&m, NULL) == 0, "a CONNECT ISC accepts");
	size_t n;
	const uint8_t *v = rd_fo_get_bytes(&m, RD_FO_OPT_RELATIONSHIP_NAME, &n);
	ok(v && n == strlen(NAME) && memcmp(v, NAME, n) == 0, "relationship name");
	ok(m.mclt == 300 && rd_fo_hba(&m) && memcmp(rd_fo_hba(&m), hba_255, 32) == 0, "MCLT and HBA");
	ok(rd_fo_has(&m, RD_FO_OPT_TLS_REQUEST) && m.tls_request == 0 && m.protocol_version == 1 &&
	   m.max_unacked == 10 && m.receive_timer == 6, "TLS-request 0, version 1, max-unacked, receive-timer");
	ok(rd_fo_has(&m, RD_FO_OPT_VENDOR_CLASS), "vendor class");
	mk_connectack(&ans, NAME, (uint32_t)time(NULL), m.xid);
	fake_send(&f, &ans);
	r = fake_recv(&f, &m, 2000);
	ok(r == 1 && m.type == RD_FO_DISCONNECT && m.reject_reason == RD_FO_REJ_DUP_CONNECTION,
	   "primary: duplicate CONNECTACK answered with DISCONNECT 7");
	ok(fake_eof(&f, 3000), "and the connection closed");
	fake_close(&f);
	ok(A.refused == ra + 1 && rd_fo_link_is_up(A.l) && A.downs == 0, "primary's link untouched");
}

static void test_foreign(void)
{
	fake_t f;
	uint64_t before = rd_fo_link_stats(B.l)->foreign;

	cap_begin();
	bool c = fake_connect(&f, X_ADDR, B_ADDR, rd_fo_link_local_port(B.l));
	bool eof = c && fake_eof(&f, 2000);
	const char *log = cap_end();
	ok(c && eof, "a connection from 127.0.0.3 is closed");
	ok(f.len == 0, "without a byte sent");
	is_int((long long)rd_fo_link_stats(B.l)->foreign, (long long)before + 1, "counted as foreign");
	ok(strstr(log, "refused a connection from 127.0.0.3") && strstr(log, "not the peer's address") &&
	   strstr(log, "failover \"" NAME "\""), "logged with the relationship");
	fake_close(&f);
	ok(rd_fo_link_is_up(B.l), "the link is untouched");
}

/* A secondary on its own, talking to the fake primary. */
static side_t S;
static int S_lfd;               /* where S's outgoing connects land */

static void test_refusals(void)
{
	rd_fo_link_conf_t cs;
	rd_fo_msg_t m, ans;
	uint16_t fport;
	int r;

	S_lfd = fake_listen(A_ADDR, &fport);
	conf_init(&cs, RD_FO_SECONDARY, B_ADDR, A_ADDR, fport);
	cs.out_max = 8192;
	S.state_on_up = true;
	if (side_open(&S, "S", &cs))
		bail_out("cannot open S");

	cap_begin();
	mk_connect(&m, "other-name", (uint32_t)time(NULL));
	r = connect_and_answer(&S, &m, &ans);
	ok(r == 1 && ans.type == RD_FO_CONNECTACK && ans.reject_reason == RD_FO_REJ_INVALID_PARTNER,
	   "wrong relationship name: CONNECTACK reject 8");
	ok(msg_text_has(&ans, "unknown failover relationship name"), "with the reason in the message");
	ok(rd_fo_has(&ans, RD_FO_OPT_RELATIONSHIP_NAME), "the refusal carries our name (ISC needs it)");
	ok(S.refused == 1 && S.refused_reason == RD_FO_REJ_INVALID_PARTNER && !S.refused_by_peer, "on_refused");

	mk_connect(&m, NAME, (uint32_t)time(NULL) - 120);
	r = connect_and_answer(&S, &m, &ans);
	ok(r == 1 && ans.reject_reason == RD_FO_REJ_TIME_MISMATCH, "clock 120 s behind: reject 4");
	ok(msg_text_has(&ans, "time offset too large"), "time offset message");
	mk_connect(&m, NAME, (uint32_t)time(NULL) + 59);
	rd_fo_unset(&m, RD_FO_OPT_MCLT);
	r = connect_and_answer(&S, &m, &ans);
	ok(r == 1 && ans.reject_reason == RD_FO_REJ_INVALID_MCLT, "59 s skew passes; no MCLT: reject 5");
	mk_connect(&m, NAME, (uint32_t)time(NULL));
	rd_fo_unset(&m, RD_FO_OPT_HBA);
	rd_fo_set_bytes(&m, RD_FO_OPT_HBA, hba_255, 31);
	r = connect_and_answer(&S, &m, &ans);
	ok(r == 1 && ans.reject_reason == RD_FO_REJ_HBA_CONFLICT, "31-byte HBA: reject 18");
	mk_connect(&m, NULL, (uint32_t)time(NULL));
	r = connect_and_answer(&S, &m, &ans);
	ok(r == 1 && ans.reject_reason == RD_FO_REJ_INVALID_PARTNER && msg_text_has(&ans, "missing"),
	   "no relationship name: reject 8");
	const char *log = cap_end();
	ok(strstr(log, "refused CONNECT from 127.0.0.1") && strstr(log, "unknown failover relationship name") &&
	   strstr(log, "time offset too large"), "refusals logged");
	is_int(S.ups, 0, "never up");
}

static void test_bytewise(void)
{
	fake_t f;
	rd_fo_msg_t m, ans;
	uint8_t two[2 * RD_FO_MSG_MAX];
	size_t n;

	/* S's first outgoing connect sits in our listener's queue. */
	ok(fake_accept(&f, S_lfd, 2000), "the secondary connected out to the fake primary");
	mk_connect(&m, NAME, (uint32_t)time(NULL));
	m.xid = 77;
	fake_send_bytewise(&f, &m);
	ok(WAIT_FOR(S.ups == 1, 2000), "CONNECT sent byte by byte: up");
	int r = fake_recv(&f, &ans, 2000);
	ok(r == 1 && ans.type == RD_FO_CONNECTACK && !rd_fo_has(&ans, RD_FO_OPT_REJECT_REASON),
	   "CONNECTACK accepting");
	is_int(ans.xid, 77, "CONNECTACK echoes the CONNECT's xid");
	ok(rd_fo_has(&ans, RD_FO_OPT_TLS_REPLY) && ans.tls_reply == 0, "TLS-reply 0 answers TLS-request");
	ok(rd_fo_msg_check(&ans, NULL) == 0 && ans.max_unacked == 10 && ans.receive_timer == 6,
	   "a CONNECTACK ISC accepts, with our timers");
	r = fake_recv(&f, &ans, 2000);
	ok(r == 1 && ans.type == RD_FO_STATE, "the owner's STATE follows the CONNECTACK");
	ok(!S.peer.inbound, "up on our outgoing connection");

	rd_fo_msg_init(&m, RD_FO_STATE, (uint32_t)time(NULL), 5);
	rd_fo_set_uint(&m, RD_FO_OPT_SERVER_STATE, RD_FO_ST_NORMAL);
	rd_fo_set_uint(&m, RD_FO_OPT_SERVER_FLAGS, RD_FO_SERVER_FLAG_STARTUP);
	fake_send_bytewise(&f, &m);
	ok(WAIT_FOR(S.msgs[RD_FO_STATE] == 1, 2000) && S.last.server_state == RD_FO_ST_NORMAL &&
	   S.last.server_flags == RD_FO_SERVER_FLAG_STARTUP, "STATE byte by byte delivered");

	/* Two messages in one write. */
	rd_fo_msg_init(&m, RD_FO_UPDREQALL, (uint32_t)time(NULL), 6);
	n = enc(&m, two);
	rd_fo_msg_init(&m, RD_FO_POOLREQ, (uint32_t)time(NULL), 7);
	n += enc(&m, two + n);
	fake_raw(&f, two, n);
	ok(WAIT_FOR(S.msgs[RD_FO_POOLREQ] == 1, 2000) && S.msgs[RD_FO_UPDREQALL] == 1, "two messages in one segment");

	/* A BNDUPD without binding-status: the link refuses it itself. */
	rd_fo_msg_init(&m, RD_FO_BNDUPD, (uint32_t)time(NULL), 99);
	rd_fo_set_uint(&m, RD_FO_OPT_ASSIGNED_IP, 0x0a000064);
	fake_send(&f, &m);
	r = fake_recv(&f, &ans, 2000);
	ok(r == 1 && ans.type == RD_FO_BNDACK && ans.xid == 99 && ans.reject_reason == RD_FO_REJ_MISSING_BINDINFO &&
	   ans.assigned_ip == 0x0a000064, "BNDUPD lacking binding-status: BNDACK reject 3, same xid and IP");
	is_int(S.msgs[RD_FO_BNDUPD], 0, "not passed to the owner");

	/* A STATE ISC would shut down over: dropped, link stays. */
	rd_fo_msg_init(&m, RD_FO_STATE, (uint32_t)time(NULL), 8);
	rd_fo_set_uint(&m, RD_FO_OPT_SERVER_STATE, 99);
	fake_send(&f, &m);
	rd_fo_msg_init(&m, RD_FO_CONTACT, (uint32_t)time(NULL), 9);
	fake_send(&f, &m);
	ok(WAIT_FOR(rd_fo_link_stats(S.l)->contacts_in == 1, 2000) && S.msgs[RD_FO_STATE] == 1 &&
	   rd_fo_link_is_up(S.l), "STATE with state 99 dropped, link up");

	/* A full output queue refuses, nothing is dropped silently, on_drain follows. */
	int queued = 0, rr = 0;
	for (int i = 0; i < 1000; i++) {
		rd_fo_msg_init(&m, RD_FO_STATE, 0, 0);
		rd_fo_set_uint(&m, RD_FO_OPT_SERVER_STATE, RD_FO_ST_RECOVER);
		if ((rr = rd_fo_link_send(S.l, &m)) != 0)
			break;
		queued++;
	}
	is_int(rr, RD_ENOSPACE, "full queue: RD_ENOSPACE after %d messages", queued);
	ok(rd_fo_link_queued(S.l) <= 8192, "queue bounded (%zu bytes)", rd_fo_link_queued(S.l));
	int got = 0;
	while (got < queued && fake_recv(&f, &ans, 2000) == 1)
		if (ans.type == RD_FO_STATE)
			got++;
	is_int(got, queued, "every queued message arrived");
	ok(WAIT_FOR(S.drains == 1, 1000), "on_drain once there is room");

	/* Garbage after the handshake. */
	static const uint8_t junk[] = { 0x00, 0x05, 0x0a, 0x0c, 0xde, 0xad, 0xbe, 0xef };
	cap_begin();
	fake_raw(&f, junk, sizeof(junk));
	r = fake_recv(&f, &ans, 2000);
	bool eof = fake_eof(&f, 3000);
	const char *log = cap_end();
	ok(r == 1 && ans.type == RD_FO_DISCONNECT && ans.reject_reason == RD_FO_REJ_UNKNOWN,
	   "a length of 5: DISCONNECT");
	ok(eof, "then close");
	ok(S.downs == 1 && S.down_reason == RD_FO_DOWN_PROTOCOL, "on_down: protocol error");
	ok(strstr(log, "link down (protocol error)") != NULL, "logged");
	fake_close(&f);
}

static void test_garbage_and_startup(void)
{
	fake_t f;
	rd_fo_msg_t m;
	uint64_t pe = rd_fo_link_stats(S.l)->protocol_errors;

	/* Garbage before the handshake: a length beyond 2048. */
	ok(fake_connect(&f, A_ADDR, B_ADDR, rd_fo_link_local_port(S.l)), "fake connects to the secondary");
	static const uint8_t junk[64] = { 0xff, 0xff, 0x05, 0x0c };
	fake_raw(&f, junk, sizeof(junk));
	ok(fake_eof(&f, 3000), "length 65535 before the handshake: closed");
	fake_close(&f);
	ok(rd_fo_link_stats(S.l)->protocol_errors > pe, "counted");

	/* A message other than CONNECT first. */
	ok(fake_connect(&f, A_ADDR, B_ADDR, rd_fo_link_local_port(S.l)), "again");
	rd_fo_msg_init(&m, RD_FO_STATE, (uint32_t)time(NULL), 1);
	rd_fo_set_uint(&m, RD_FO_OPT_SERVER_STATE, RD_FO_ST_NORMAL);
	fake_send(&f, &m);
	ok(fake_eof(&f, 3000), "STATE before CONNECT: closed");
	fake_close(&f);
	is_int(S.ups, 1, "no new link from any of it");

	/* A connection on which nobody says anything: 15 s, then closed. */
	ok(fake_connect(&f, A_ADDR, B_ADDR, rd_fo_link_local_port(S.l)), "a silent connection");
	pump(50);
	cap_begin();
	tick(&S, RD_FO_LINK_STARTUP_MS + 100);
	bool eof = fake_eof(&f, 2000);
	const char *log = cap_end();
	ok(eof, "closed after the 15 s link-startup timeout");
	ok(strstr(log, "no CONNECT within 15 s") != NULL, "logged");
	fake_close(&f);
}

/* A primary on its own against the fake secondary. */
static void test_primary_refusals(void)
{
	side_t P = { 0 };
	rd_fo_link_conf_t cp;
	fake_t f;
	rd_fo_msg_t m, ans;
	uint16_t fport;
	int lfd = fake_listen(B_ADDR, &fport);

	conf_init(&cp, RD_FO_PRIMARY, A_ADDR, B_ADDR, fport);
	if (side_open(&P, "P", &cp))
		bail_out("cannot open P");

	struct {
		const char *what;
		const char *name;
		int32_t skew;
		unsigned reason;
	} cases[] = {
		{ "wrong name in CONNECTACK", "other", 0, RD_FO_REJ_INVALID_PARTNER },
		{ "skewed CONNECTACK", NAME, -90, RD_FO_REJ_TIME_MISMATCH },
		{ "CONNECTACK without a name", NULL, 0, RD_FO_REJ_INVALID_PARTNER },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ok(fake_connect(&f, B_ADDR, A_ADDR, rd_fo_link_local_port(P.l)) && fake_recv(&f, &m, 2000) == 1 &&
		   m.type == RD_FO_CONNECT, "%s: CONNECT", cases[i].what);
		mk_connectack(&ans, cases[i].name, (uint32_t)(time(NULL) + cases[i].skew), m.xid);
		fake_send(&f, &ans);
		int r = fake_recv(&f, &m, 2000);
		ok(r == 1 && m.type == RD_FO_DISCONNECT && m.reject_reason == cases[i].reason,
		   "%s: DISCONNECT reason %u", cases[i].what, cases[i].reason);
		ok(fake_eof(&f, 3000), "%s: closed", cases[i].what);
		fake_close(&f);
	}

	/* The peer refuses us. */
	ok(fake_connect(&f, B_ADDR, A_ADDR, rd_fo_link_local_port(P.l)) && fake_recv(&f, &m, 2000) == 1,
	   "refusing peer: CONNECT");
	mk_connectack(&ans, NAME, (uint32_t)time(NULL), m.xid);
	rd_fo_set_uint(&ans, RD_FO_OPT_REJECT_REASON, RD_FO_REJ_TIME_MISMATCH);
	rd_fo_set_str(&ans, RD_FO_OPT_MESSAGE, "time offset too large");
	cap_begin();
	fake_send(&f, &ans);
	bool eof = fake_eof(&f, 3000);
	const char *log = cap_end();
	ok(eof && P.refused_by_peer && P.refused_reason == RD_FO_REJ_TIME_MISMATCH, "peer's refusal: on_refused");
	ok(strstr(log, "peer refused our CONNECT") && strstr(log, "time offset too large"), "logged with its message");
	fake_close(&f);

	/* Two primaries: each refuses the other's CONNECT. */
	ok(fake_connect(&f, B_ADDR, A_ADDR, rd_fo_link_local_port(P.l)) && fake_recv(&f, &m, 2000) == 1,
	   "second primary: CONNECT");
	mk_connect(&m, NAME, (uint32_t)time(NULL));
	fake_send(&f, &m);
	int r = fake_recv(&f, &ans, 2000);
	ok(r == 1 && ans.type == RD_FO_CONNECTACK && ans.reject_reason == RD_FO_REJ_INVALID_PARTNER &&
	   msg_text_has(&ans, "both servers are primary"), "CONNECT to a primary: reject 8, both primary");
	ok(fake_eof(&f, 3000), "closed");
	fake_close(&f);

	/* Its outgoing connects go to our listener; back-off grows with each failure. */
	fake_t o;
	ok(fake_accept(&o, lfd, 2000), "primary connected out");
	ok(fake_recv(&o, &m, 2000) == 1 && m.type == RD_FO_CONNECT, "and sent CONNECT there too");
	close(o.fd);
	pump(50);
	uint64_t c0 = rd_fo_link_stats(P.l)->connects;
	int t = rd_fo_link_next_timeout_ms(P.l, P.now);
	ok(t > 0 && t <= (int)RD_FO_LINK_BACKOFF_MAX_MS, "reconnect scheduled in %d ms", t);
	tick(&P, (uint64_t)t);
	pump(20);
	ok(rd_fo_link_stats(P.l)->connects == c0 + 1, "reconnect when the back-off expires");
	ok(fake_accept(&o, lfd, 2000), "accepted");
	fake_close(&o);
	ok(!rd_fo_link_is_up(P.l) && P.ups == 0, "never up");
	side_close(&P);
	close(lfd);
}

int main(void)
{
	plan_lazy();
	rd_log_init("test_link", getenv("RD_TEST_DEBUG") ? LOG_DEBUG : LOG_INFO);

	/* 127.0.0.2 and .3 are local on Linux's loopback; without them, skip. */
	{
		struct sockaddr_in sa = sin_of(X_ADDR, 0);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			skip_all("cannot bind 127.0.0.3 (no IPv4 loopback /8)");
		close(fd);
	}

	test_pair();
	test_keepalive_and_timeout();
	test_restart();
	test_duplicates();
	test_foreign();
	test_refusals();
	test_bytewise();
	test_garbage_and_startup();
	side_close(&S);
	close(S_lfd);
	side_close(&A);
	side_close(&B);
	test_primary_refusals();
	return done_testing();
}
