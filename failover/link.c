/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * link.c — one failover relationship's TCP link: listener, outgoing
 * connects with back-off, framing, the CONNECT/CONNECTACK handshake,
 * keepalive and receive timer, the bounded output queue.  The rules are in
 * fo_link.h; this file says how.
 *
 * A link owns a small array of connections.  Each goes
 *
 *   CONNECTING (outgoing, TCP not up yet)
 *     -> HANDSHAKE (TCP up: the primary has sent CONNECT, the secondary waits for it)
 *     -> UP (THE link; at most one at a time)
 *   and from any of them -> CLOSING (flush a last refusal or DISCONNECT, shut
 *   down our side, wait briefly for the peer's FIN) -> free.
 *
 * Every connection keeps its own input buffer (two maximal messages: a
 * complete message is always handled before more is read, so a message never
 * needs more room than that) and its own output queue (small while in
 * handshake, conf.out_max once up).  Messages are decoded into a stack copy
 * before any callback runs, so a callback may close the connection whose
 * bytes are being parsed: the parse loop notices through the connection's
 * generation number and stops.
 *
 * Runs on the thread that owns the link; no locks, no global state.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rackdhcp/fo_link.h"
#include "rackdhcp/log.h"

#define IN_CAP              (2 * RD_FO_MSG_MAX)
/* A connection in handshake sends one CONNECT or one refusal: a little room is plenty. */
#define HANDSHAKE_OUT_MAX   (4 * RD_FO_MSG_MAX)
/* How long a closing connection may take to deliver its last message. */
#define LINGER_MS           2000u
/* Bytes read from one connection per process() call, so one chatty peer
 * cannot starve the other links of the same loop. */
#define READ_BUDGET         (64u << 10)
#define ACCEPT_BUDGET       8
#define NAME_MAX_LEN        255
#define VENDOR_CLASS        "rackdhcpd-" PACKAGE_VERSION

enum phase {
	PH_FREE = 0,
	PH_CONNECTING,
	PH_HANDSHAKE,
	PH_UP,
	PH_CLOSING,
};

typedef struct {
	int fd;
	enum phase phase;
	bool outbound;
	bool wr_shut;               /* CLOSING: our FIN is sent */
	uint32_t addr;              /* remote, host order */
	uint16_t port;
	unsigned gen;               /* changes whenever the slot is released */
	uint64_t deadline_ms;       /* CONNECTING, HANDSHAKE, CLOSING */
	uint64_t last_rx_ms;        /* last complete message from the peer */
	uint64_t last_tx_ms;        /* last message queued to the peer */
	uint64_t out_stall_ms;      /* output pending and not moving since */
	uint32_t next_xid;
	size_t in_len;
	uint8_t in[IN_CAP];
	uint8_t *out;
	size_t out_off, out_len, out_cap;
} conn_t;

struct rd_fo_link {
	rd_fo_link_conf_t conf;
	char *name;
	rd_fo_link_ops_t ops;
	int listen_fd;
	uint16_t local_port;
	conn_t conns[RD_FO_LINK_MAX_CONNS];
	int up;                     /* index of the established connection, or -1 */
	rd_fo_link_peer_t peer;
	uint64_t now_ms;
	uint64_t next_connect_ms;
	uint32_t backoff_ms;
	int last_connect_err;       /* repeated identical failures log at debug level */
	bool want_drain;
	rd_fo_link_stats_t stats;
	char label[160];
};

/* ------------------------------------------------------------------ helpers */

uint64_t rd_fo_link_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const char *ip_str(uint32_t a, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
	return buf;
}

/* Peer-supplied bytes for a log line: printable ASCII kept, the rest '?', cut. */
static void printable(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;
	for (i = 0; i < n && o + 1 < cap; i++)
		out[o++] = (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"') ? (char)p[i] : '?';
	out[o] = '\0';
}

static void make_label(rd_fo_link_t *l)
{
	char a[16];
	snprintf(l->label, sizeof(l->label), "failover \"%s\" (%s, peer %s:%u)", l->name,
		 l->conf.role == RD_FO_PRIMARY ? "primary" : "secondary",
		 ip_str(l->conf.peer_address, a), l->conf.peer_port);
}

static void lk_log(const rd_fo_link_t *l, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void lk_log(const rd_fo_link_t *l, int prio, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (!rd_log_enabled(prio))
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	rd_log(prio, "%s: %s", l->label, text);
}

static uint32_t wall_now(const rd_fo_link_t *l)
{
	time_t t = l->conf.wall_clock ? l->conf.wall_clock(l->conf.wall_clock_ctx) : time(NULL);
	return (uint32_t)t;
}

static const char *conn_peer(const conn_t *c, char buf[24])
{
	char a[16];
	snprintf(buf, 24, "%s:%u", ip_str(c->addr, a), c->port);
	return buf;
}

static uint32_t next_xid(conn_t *c, unsigned type)
{
	uint32_t x = c->next_xid++;
	/* ISC never uses xid 0 for a BNDUPD: it stores the xid on the lease and 0 means "none". */
	if (x == 0 && type == RD_FO_BNDUPD)
		x = c->next_xid++;
	return x;
}

const char *rd_fo_link_down_name(int reason)
{
	switch (reason) {
	case RD_FO_DOWN_CLOSED: return "peer closed";
	case RD_FO_DOWN_TIMEOUT: return "timeout";
	case RD_FO_DOWN_PROTOCOL: return "protocol error";
	case RD_FO_DOWN_DISCONNECT: return "peer disconnected";
	case RD_FO_DOWN_IO: return "socket error";
	case RD_FO_DOWN_LOCAL: return "closed locally";
	default: return "unknown";
	}
}

/* ------------------------------------------------------------ connections */

static conn_t *conn_alloc(rd_fo_link_t *l)
{
	for (size_t i = 0; i < RD_FO_LINK_MAX_CONNS; i++)
		if (l->conns[i].phase == PH_FREE)
			return &l->conns[i];
	return NULL;
}

static void conn_init(rd_fo_link_t *l, conn_t *c, int fd, bool outbound, uint32_t addr, uint16_t port)
{
	unsigned gen = c->gen;
	memset(c, 0, sizeof(*c));
	c->gen = gen;
	c->fd = fd;
	c->outbound = outbound;
	c->addr = addr;
	c->port = port;
	c->last_rx_ms = c->last_tx_ms = l->now_ms;
}

static void conn_release(rd_fo_link_t *l, conn_t *c)
{
	if (c->phase == PH_FREE)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	c->out = NULL;
	c->out_off = c->out_len = c->out_cap = 0;
	c->fd = -1;
	c->in_len = 0;
	c->phase = PH_FREE;
	c->gen++;
	if (l->up >= 0 && &l->conns[l->up] == c)
		l->up = -1;
}

static bool outbound_pending(const rd_fo_link_t *l)
{
	for (size_t i = 0; i < RD_FO_LINK_MAX_CONNS; i++) {
		const conn_t *c = &l->conns[i];
		if (c->outbound && (c->phase == PH_CONNECTING || c->phase == PH_HANDSHAKE))
			return true;
	}
	return false;
}

/* The next outgoing attempt, after the current back-off, which then grows. */
static uint32_t schedule_connect(rd_fo_link_t *l)
{
	uint32_t delay = l->backoff_ms;
	l->next_connect_ms = l->now_ms + delay;
	l->backoff_ms = delay >= l->conf.backoff_max_ms / 2 ? l->conf.backoff_max_ms : delay * 2;
	return delay;
}

/*
 * Encode m onto c's output queue.  `final` lets a last refusal or DISCONNECT
 * in beyond the normal bound: it is the connection's last message, and
 * dropping it would leave the peer guessing why we closed.
 */
static int conn_queue(rd_fo_link_t *l, conn_t *c, const rd_fo_msg_t *m, bool final)
{
	uint8_t buf[RD_FO_MSG_MAX];
	int n = rd_fo_encode(m, buf, sizeof(buf));
	if (n < 0)
		return RD_EINVAL;

	size_t max = c->phase == PH_UP ? l->conf.out_max : HANDSHAKE_OUT_MAX;
	if (final)
		max += RD_FO_MSG_MAX;
	if (c->out_len + (size_t)n > max)
		return RD_ENOSPACE;
	if (c->out_off + c->out_len + (size_t)n > c->out_cap) {
		if (c->out_off) {
			memmove(c->out, c->out + c->out_off, c->out_len);
			c->out_off = 0;
		}
		if (c->out_len + (size_t)n > c->out_cap) {
			size_t cap = c->out_cap ? c->out_cap : 2 * RD_FO_MSG_MAX;
			while (cap < c->out_len + (size_t)n)
				cap *= 2;
			uint8_t *p = realloc(c->out, cap);
			if (!p)
				return RD_ENOMEM;
			c->out = p;
			c->out_cap = cap;
		}
	}
	if (c->out_len == 0)
		c->out_stall_ms = l->now_ms;
	memcpy(c->out + c->out_off + c->out_len, buf, (size_t)n);
	c->out_len += (size_t)n;
	c->last_tx_ms = l->now_ms;
	l->stats.msgs_out++;
	if (rd_log_enabled(LOG_DEBUG)) {
		char p[24], text[400];
		rd_fo_msg_print(m, text, sizeof(text));
		lk_log(l, LOG_DEBUG, "to %s: %s", conn_peer(c, p), text);
	}
	return 0;
}

/* Write what the kernel takes.  0, or a negative errno when the socket is broken. */
static int conn_flush(rd_fo_link_t *l, conn_t *c)
{
	while (c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			c->out_off += (size_t)w;
			c->out_len -= (size_t)w;
			c->out_stall_ms = l->now_ms;
			l->stats.bytes_out += (uint64_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && rd_would_block(errno))
			break;
		return w < 0 ? -errno : -EPIPE;
	}
	if (c->out_len == 0)
		c->out_off = 0;
	return 0;
}

/*
 * End connection c, logging one line.  If it was the established link,
 * on_down follows; an outgoing attempt that ends before the handshake
 * pushes the next one back.  linger: deliver what is queued (a refusal or a
 * DISCONNECT) before closing.
 */
static void conn_end(rd_fo_link_t *l, conn_t *c, int down_reason, int prio, bool linger,
		     const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void conn_end(rd_fo_link_t *l, conn_t *c, int down_reason, int prio, bool linger,
		     const char *fmt, ...)
{
	char why[300], p[24];
	va_list ap;
	bool was_up = c->phase == PH_UP;
	bool outbound = c->outbound;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);

	if (was_up)
		lk_log(l, prio, "link down (%s): %s", rd_fo_link_down_name(down_reason), why);
	else
		lk_log(l, prio, "%s connection %s closed: %s", outbound ? "outgoing" : "incoming",
		       conn_peer(c, p), why);

	if (linger && c->out_len && c->fd >= 0) {
		if (was_up)
			l->up = -1;
		c->phase = PH_CLOSING;
		c->deadline_ms = l->now_ms + LINGER_MS;
	} else {
		conn_release(l, c);
	}

	if (was_up) {
		l->stats.downs++;
		l->want_drain = false;
		schedule_connect(l);
		if (l->ops.on_down)
			l->ops.on_down(l->ops.ctx, l, down_reason, why);
	} else if (outbound) {
		schedule_connect(l);
	}
}

/* --------------------------------------------------------------- messages */

static void build_disconnect(rd_fo_link_t *l, conn_t *c, rd_fo_msg_t *m, unsigned reason, const char *text)
{
	char cut[200];
	snprintf(cut, sizeof(cut), "%s", text);
	rd_fo_msg_init(m, RD_FO_DISCONNECT, wall_now(l), next_xid(c, RD_FO_DISCONNECT));
	rd_fo_set_uint(m, RD_FO_OPT_REJECT_REASON, reason);
	rd_fo_set_str(m, RD_FO_OPT_MESSAGE, cut);
}

/* Queue DISCONNECT (reason, text) and end the connection once it is out. */
static void disconnect_and_end(rd_fo_link_t *l, conn_t *c, int down_reason, unsigned reason,
			       const char *text)
{
	rd_fo_msg_t m;
	build_disconnect(l, c, &m, reason, text);
	conn_queue(l, c, &m, true);
	conn_end(l, c, down_reason, LOG_WARNING, true, "%s (DISCONNECT reason %u, %s)", text, reason,
		 rd_fo_reject_reason_name(reason));
}

static void send_connect(rd_fo_link_t *l, conn_t *c)
{
	rd_fo_msg_t m;
	rd_fo_msg_init(&m, RD_FO_CONNECT, wall_now(l), next_xid(c, RD_FO_CONNECT));
	rd_fo_set_str(&m, RD_FO_OPT_RELATIONSHIP_NAME, l->name);
	rd_fo_set_uint(&m, RD_FO_OPT_MAX_UNACKED, l->conf.max_unacked);
	rd_fo_set_uint(&m, RD_FO_OPT_RECEIVE_TIMER, l->conf.max_response_delay);
	rd_fo_set_str(&m, RD_FO_OPT_VENDOR_CLASS, VENDOR_CLASS);
	rd_fo_set_uint(&m, RD_FO_OPT_PROTOCOL_VERSION, 1);
	/* ISC always sends TLS-request 0 (one byte) and does not care about the value. */
	rd_fo_set_uint(&m, RD_FO_OPT_TLS_REQUEST, 0);
	rd_fo_set_uint(&m, RD_FO_OPT_MCLT, l->conf.mclt);
	rd_fo_set_bytes(&m, RD_FO_OPT_HBA, l->conf.hba, RD_FO_HBA_LEN);
	conn_queue(l, c, &m, false);
}

/* CONNECTACK, accepting (reason 0) or refusing.  Always carries our name: an
 * ISC primary drops a CONNECTACK without one before reading the reason. */
static void build_connectack(rd_fo_link_t *l, rd_fo_msg_t *m, const rd_fo_msg_t *req,
			     unsigned reason, const char *why)
{
	rd_fo_msg_init(m, RD_FO_CONNECTACK, wall_now(l), req->xid);
	rd_fo_set_str(m, RD_FO_OPT_RELATIONSHIP_NAME, l->name);
	rd_fo_set_uint(m, RD_FO_OPT_MAX_UNACKED, l->conf.max_unacked);
	rd_fo_set_uint(m, RD_FO_OPT_RECEIVE_TIMER, l->conf.max_response_delay);
	rd_fo_set_str(m, RD_FO_OPT_VENDOR_CLASS, VENDOR_CLASS);
	rd_fo_set_uint(m, RD_FO_OPT_PROTOCOL_VERSION, 1);
	if (rd_fo_has(req, RD_FO_OPT_TLS_REQUEST))
		rd_fo_set_uint(m, RD_FO_OPT_TLS_REPLY, 0);
	if (reason) {
		char cut[200];
		snprintf(cut, sizeof(cut), "%s", why);
		rd_fo_set_uint(m, RD_FO_OPT_REJECT_REASON, reason);
		rd_fo_set_str(m, RD_FO_OPT_MESSAGE, cut);
	}
}

static void peer_from_msg(rd_fo_link_t *l, conn_t *c, const rd_fo_msg_t *m, int32_t skew)
{
	rd_fo_link_peer_t *p = &l->peer;
	size_t n;
	const uint8_t *v;

	memset(p, 0, sizeof(*p));
	p->name = l->name;
	p->addr = c->addr;
	p->port = c->port;
	p->inbound = !c->outbound;
	p->max_unacked = m->max_unacked;
	p->receive_timer = m->receive_timer;
	p->clock_skew = skew;
	if ((v = rd_fo_get_bytes(m, RD_FO_OPT_VENDOR_CLASS, &n)))
		printable(v, n, p->vendor_class, sizeof(p->vendor_class));
	if (m->type == RD_FO_CONNECT) {
		p->mclt = m->mclt;
		if ((v = rd_fo_hba(m))) {
			p->has_hba = true;
			memcpy(p->hba, v, RD_FO_HBA_LEN);
		}
	} else {
		/* We are the primary: the relationship runs on our MCLT and bitmap. */
		p->mclt = l->conf.mclt;
		p->has_hba = true;
		memcpy(p->hba, l->conf.hba, RD_FO_HBA_LEN);
	}
}

static void link_up(rd_fo_link_t *l, conn_t *c)
{
	char pa[24];

	c->phase = PH_UP;
	c->deadline_ms = 0;
	c->last_rx_ms = l->now_ms;
	l->up = (int)(c - l->conns);
	l->backoff_ms = l->conf.backoff_min_ms;
	l->last_connect_err = 0;
	l->stats.ups++;
	/* An outgoing attempt still without TCP would only end in "duplicate connection". */
	for (size_t i = 0; i < RD_FO_LINK_MAX_CONNS; i++)
		if (l->conns[i].phase == PH_CONNECTING)
			conn_release(l, &l->conns[i]);

	lk_log(l, LOG_INFO, "link up (%s %s): peer \"%s\", MCLT %u, max-unacked %u, receive-timer %u s, "
	       "clock skew %+d s", c->outbound ? "outgoing to" : "incoming from", conn_peer(c, pa),
	       l->peer.vendor_class, l->peer.mclt, l->peer.max_unacked, l->peer.receive_timer,
	       (int)l->peer.clock_skew);
	if (l->ops.on_up)
		l->ops.on_up(l->ops.ctx, l, &l->peer);
}

static bool name_matches(const rd_fo_link_t *l, const rd_fo_msg_t *m, char *shown, size_t cap)
{
	size_t n;
	const uint8_t *v = rd_fo_get_bytes(m, RD_FO_OPT_RELATIONSHIP_NAME, &n);
	printable(v ? v : (const uint8_t *)"", v ? n : 0, shown, cap);
	return v && n == strlen(l->name) && memcmp(v, l->name, n) == 0;
}

/* We are secondary (or a primary that got a CONNECT): checks in ISC's order (fo_link.h). */
static void on_connect(rd_fo_link_t *l, conn_t *c, const rd_fo_msg_t *m)
{
	char name[80], why[200], pa[24];
	unsigned reason = 0;
	int64_t skew = (int64_t)m->time - (int64_t)wall_now(l);
	rd_diag_t d;
	rd_diag_clear(&d);

	if (l->conf.role == RD_FO_PRIMARY) {
		reason = RD_FO_REJ_INVALID_PARTNER;
		snprintf(why, sizeof(why), "both servers are primary (CONNECT received by the primary)");
	} else if (!rd_fo_has(m, RD_FO_OPT_RELATIONSHIP_NAME)) {
		reason = RD_FO_REJ_INVALID_PARTNER;
		snprintf(why, sizeof(why), "missing relationship-name");
	} else if (!name_matches(l, m, name, sizeof(name))) {
		reason = RD_FO_REJ_INVALID_PARTNER;
		snprintf(why, sizeof(why), "unknown failover relationship name \"%s\"", name);
	} else if (skew > RD_FO_LINK_MAX_SKEW || skew < -RD_FO_LINK_MAX_SKEW) {
		reason = RD_FO_REJ_TIME_MISMATCH;
		snprintf(why, sizeof(why), "time offset too large (peer clock %+lld s from ours)", (long long)skew);
	} else if (!rd_fo_hba(m)) {
		reason = RD_FO_REJ_HBA_CONFLICT;
		snprintf(why, sizeof(why), "invalid HBA");
	} else if (l->up >= 0) {
		reason = RD_FO_REJ_DUP_CONNECTION;
		snprintf(why, sizeof(why), "already connected");
	} else if (!rd_fo_has(m, RD_FO_OPT_MCLT)) {
		reason = RD_FO_REJ_INVALID_MCLT;
		snprintf(why, sizeof(why), "no MCLT provided");
	} else if ((reason = (unsigned)rd_fo_msg_check(m, &d)) != 0) {
		snprintf(why, sizeof(why), "%s", d.reason);
	}

	rd_fo_msg_t a;
	if (reason) {
		build_connectack(l, &a, m, reason, why);
		conn_queue(l, c, &a, true);
		l->stats.refused_local++;
		conn_end(l, c, 0, reason == RD_FO_REJ_DUP_CONNECTION ? LOG_INFO : LOG_WARNING, true,
			 "refused CONNECT from %s: %s (reject reason %u, %s)", conn_peer(c, pa), why, reason,
			 rd_fo_reject_reason_name(reason));
		if (l->ops.on_refused)
			l->ops.on_refused(l->ops.ctx, l, false, reason, why);
		return;
	}
	peer_from_msg(l, c, m, (int32_t)skew);
	build_connectack(l, &a, m, 0, NULL);
	conn_queue(l, c, &a, false);
	link_up(l, c);
}

/* We are primary: the answer to our CONNECT. */
static void on_connectack(rd_fo_link_t *l, conn_t *c, const rd_fo_msg_t *m)
{
	char name[80], why[200], text[160], pa[24];
	unsigned reason = 0;
	int64_t skew = (int64_t)m->time - (int64_t)wall_now(l);
	rd_diag_t d;
	rd_diag_clear(&d);

	if (l->conf.role == RD_FO_SECONDARY) {
		/* We never sent CONNECT, so the peer is no primary either. */
		reason = RD_FO_REJ_INVALID_PARTNER;
		snprintf(why, sizeof(why), "CONNECTACK received by the secondary (is the peer secondary too?)");
	} else if (!rd_fo_has(m, RD_FO_OPT_RELATIONSHIP_NAME)) {
		reason = RD_FO_REJ_INVALID_PARTNER;
		snprintf(why, sizeof(why), "missing relationship-name");
	} else if (rd_fo_has(m, RD_FO_OPT_REJECT_REASON)) {
		size_t n;
		const uint8_t *v = rd_fo_get_bytes(m, RD_FO_OPT_MESSAGE, &n);
		printable(v ? v : (const uint8_t *)"", v ? n : 0, text, sizeof(text));
		snprintf(why, sizeof(why), "peer refused our CONNECT: %s (reject reason %u)%s%s%s",
			 rd_fo_reject_reason_name(m->reject_reason), m->reject_reason,
			 v ? ": \"" : "", text, v ? "\"" : "");
		l->stats.refused_peer++;
		/* The peer refusing a second connection while ours is up is routine. */
		bool routine = m->reject_reason == RD_FO_REJ_DUP_CONNECTION && l->up >= 0;
		conn_end(l, c, 0, routine ? LOG_INFO : LOG_WARNING, false, "%s", why);
		if (l->ops.on_refused)
			l->ops.on_refused(l->ops.ctx, l, true, m->reject_reason, why);
		return;
	} else if (!name_matches(l, m, name, sizeof(name))) {
		reason = RD_FO_REJ_INVALID_PARTNER;
		snprintf(why, sizeof(why), "remote failover relationship name \"%s\" does not match", name);
	} else if (l->up >= 0) {
		reason = RD_FO_REJ_DUP_CONNECTION;
		snprintf(why, sizeof(why), "already connected");
	} else if (skew > RD_FO_LINK_MAX_SKEW || skew < -RD_FO_LINK_MAX_SKEW) {
		reason = RD_FO_REJ_TIME_MISMATCH;
		snprintf(why, sizeof(why), "time offset too large (peer clock %+lld s from ours)", (long long)skew);
	} else if ((reason = (unsigned)rd_fo_msg_check(m, &d)) != 0) {
		snprintf(why, sizeof(why), "%s", d.reason);
	}

	if (reason) {
		rd_fo_msg_t dm;
		build_disconnect(l, c, &dm, reason, why);
		conn_queue(l, c, &dm, true);
		l->stats.refused_local++;
		conn_end(l, c, 0, reason == RD_FO_REJ_DUP_CONNECTION ? LOG_INFO : LOG_WARNING, true,
			 "refused CONNECTACK from %s: %s (DISCONNECT reason %u, %s)", conn_peer(c, pa), why,
			 reason, rd_fo_reject_reason_name(reason));
		if (l->ops.on_refused)
			l->ops.on_refused(l->ops.ctx, l, false, reason, why);
		return;
	}
	peer_from_msg(l, c, m, (int32_t)skew);
	link_up(l, c);
}

static void handshake_message(rd_fo_link_t *l, conn_t *c, const rd_fo_msg_t *m)
{
	switch (m->type) {
	case RD_FO_CONNECT:
		on_connect(l, c, m);
		return;
	case RD_FO_CONNECTACK:
		on_connectack(l, c, m);
		return;
	case RD_FO_DISCONNECT: {
		char text[160], why[240];
		size_t n;
		const uint8_t *v = rd_fo_get_bytes(m, RD_FO_OPT_MESSAGE, &n);
		printable(v ? v : (const uint8_t *)"", v ? n : 0, text, sizeof(text));
		snprintf(why, sizeof(why), "peer sent DISCONNECT: %s (reason %u)%s%s%s",
			 rd_fo_reject_reason_name(m->reject_reason), m->reject_reason,
			 v ? ": \"" : "", text, v ? "\"" : "");
		l->stats.refused_peer++;
		conn_end(l, c, 0, LOG_WARNING, false, "%s", why);
		if (l->ops.on_refused)
			l->ops.on_refused(l->ops.ctx, l, true, m->reject_reason, why);
		return;
	}
	default:
		/* ISC drops such a connection without a word ("no matching state"). */
		l->stats.protocol_errors++;
		conn_end(l, c, 0, LOG_WARNING, false, "%s before the handshake (expected %s)",
			 rd_fo_msg_name(m->type), l->conf.role == RD_FO_PRIMARY ? "CONNECTACK" : "CONNECT");
		return;
	}
}

static void up_message(rd_fo_link_t *l, conn_t *c, const rd_fo_msg_t *m)
{
	rd_diag_t d;
	rd_diag_clear(&d);

	switch (m->type) {
	case RD_FO_CONTACT:
		l->stats.contacts_in++;
		return;
	case RD_FO_CONNECT:
	case RD_FO_CONNECTACK:
		l->stats.protocol_errors++;
		lk_log(l, LOG_WARNING, "%s xid %u on the established link ignored",
		       rd_fo_msg_name(m->type), m->xid);
		return;
	case RD_FO_DISCONNECT: {
		char text[160];
		size_t n;
		unsigned gen = c->gen;
		const uint8_t *v = rd_fo_get_bytes(m, RD_FO_OPT_MESSAGE, &n);
		printable(v ? v : (const uint8_t *)"", v ? n : 0, text, sizeof(text));
		if (l->ops.on_message)
			l->ops.on_message(l->ops.ctx, l, m);
		if (c->gen != gen || c->phase != PH_UP)
			return;
		conn_end(l, c, RD_FO_DOWN_DISCONNECT, LOG_WARNING, false, "peer sent DISCONNECT: %s (reason %u)%s%s%s",
			 rd_fo_reject_reason_name(m->reject_reason), m->reject_reason,
			 v ? ": \"" : "", text, v ? "\"" : "");
		return;
	}
	default:
		break;
	}

	int r = rd_fo_msg_check(m, &d);
	if (r) {
		l->stats.protocol_errors++;
		if (m->type == RD_FO_BNDUPD) {
			/* ISC answers a BNDUPD it cannot use with a rejecting BNDACK, same xid. */
			rd_fo_msg_t a;
			rd_fo_msg_init(&a, RD_FO_BNDACK, wall_now(l), m->xid);
			if (rd_fo_has(m, RD_FO_OPT_ASSIGNED_IP))
				rd_fo_set_uint(&a, RD_FO_OPT_ASSIGNED_IP, m->assigned_ip);
			rd_fo_set_uint(&a, RD_FO_OPT_REJECT_REASON, (uint32_t)r);
			rd_fo_set_str(&a, RD_FO_OPT_MESSAGE, d.reason);
			int q = conn_queue(l, c, &a, false);
			lk_log(l, LOG_WARNING, "refused BNDUPD xid %u: %s (reject reason %d)%s", m->xid, d.reason, r,
			       q ? ", and the BNDACK did not fit the output queue" : "");
		} else {
			lk_log(l, LOG_WARNING, "dropped %s xid %u: %s", rd_fo_msg_name(m->type), m->xid, d.reason);
		}
		return;
	}
	if (l->ops.on_message)
		l->ops.on_message(l->ops.ctx, l, m);
}

/* One complete frame of len bytes from c. */
static void handle_frame(rd_fo_link_t *l, conn_t *c, const uint8_t *raw, size_t len)
{
	rd_fo_msg_t m;
	rd_diag_t d;
	rd_diag_clear(&d);

	l->stats.msgs_in++;
	c->last_rx_ms = l->now_ms;
	if (rd_fo_decode(raw, len, &m, &d) < 0) {
		char text[220];
		l->stats.protocol_errors++;
		snprintf(text, sizeof(text), "malformed %s from the peer: %s", rd_fo_msg_name(m.type), d.reason);
		disconnect_and_end(l, c, RD_FO_DOWN_PROTOCOL, RD_FO_REJ_UNKNOWN, text);
		return;
	}
	if (rd_log_enabled(LOG_DEBUG)) {
		char p[24], text[400];
		rd_fo_msg_print(&m, text, sizeof(text));
		lk_log(l, LOG_DEBUG, "from %s: %s", conn_peer(c, p), text);
	}
	if (c->phase == PH_HANDSHAKE)
		handshake_message(l, c, &m);
	else if (c->phase == PH_UP)
		up_message(l, c, &m);
}

static void conn_eof(rd_fo_link_t *l, conn_t *c)
{
	switch (c->phase) {
	case PH_UP:
		conn_end(l, c, RD_FO_DOWN_CLOSED, LOG_WARNING, false, "the peer closed the connection");
		break;
	case PH_HANDSHAKE:
		conn_end(l, c, 0, LOG_INFO, false, "the peer closed the connection before the handshake");
		break;
	default:
		conn_release(l, c);
		break;
	}
}

static void conn_read(rd_fo_link_t *l, conn_t *c)
{
	unsigned gen = c->gen;
	size_t budget = READ_BUDGET;

	while (budget > 0) {
		if (c->in_len >= IN_CAP) {
			/* Cannot happen: the framer refuses lengths over 2048 before
			 * that much is buffered.  Never read 0 bytes and call it EOF. */
			conn_end(l, c, RD_FO_DOWN_PROTOCOL, LOG_ERR, false, "input buffer overrun");
			return;
		}
		ssize_t r = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, MSG_DONTWAIT);
		if (r == 0) {
			conn_eof(l, c);
			return;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (rd_would_block(errno))
				return;
			int e = errno;
			/* A spare connection reset while the link is up is routine
			 * (the peer dropped its side of a crossing connect). */
			conn_end(l, c, RD_FO_DOWN_IO, c->phase == PH_UP || l->up < 0 ? LOG_WARNING : LOG_INFO,
				 false, "receive: %s", strerror(e));
			return;
		}
		l->stats.bytes_in += (uint64_t)r;
		budget = (size_t)r >= budget ? 0 : budget - (size_t)r;
		if (c->phase == PH_CLOSING) {
			/* Draining until the peer's FIN; nothing it says matters now. */
			c->in_len = 0;
			continue;
		}
		c->in_len += (size_t)r;

		size_t pos = 0;
		while (c->phase == PH_HANDSHAKE || c->phase == PH_UP) {
			size_t mlen = 0;
			rd_diag_t d;
			rd_diag_clear(&d);
			int k = rd_fo_frame_len(c->in + pos, c->in_len - pos, &mlen, &d);
			if (k < 0) {
				char text[220];
				l->stats.protocol_errors++;
				snprintf(text, sizeof(text), "broken stream from the peer: %s", d.reason);
				disconnect_and_end(l, c, RD_FO_DOWN_PROTOCOL, RD_FO_REJ_UNKNOWN, text);
				break;
			}
			if (k == 0)
				break;
			handle_frame(l, c, c->in + pos, mlen);
			if (c->gen != gen)
				return;
			pos += mlen;
		}
		if (c->gen != gen)
			return;
		if (c->phase == PH_CLOSING)
			c->in_len = 0;
		else if (pos) {
			memmove(c->in, c->in + pos, c->in_len - pos);
			c->in_len -= pos;
		}
	}
}

/* --------------------------------------------------------- TCP plumbing */

static void tcp_up(rd_fo_link_t *l, conn_t *c)
{
	int one = 1;
	char pa[24];

	/* Requests and replies are small and alternate: Nagle would hold them. */
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->phase = PH_HANDSHAKE;
	c->deadline_ms = l->now_ms + RD_FO_LINK_STARTUP_MS;
	c->last_rx_ms = c->last_tx_ms = l->now_ms;
	lk_log(l, LOG_DEBUG, "%s connection %s: TCP up%s", c->outbound ? "outgoing" : "incoming",
	       conn_peer(c, pa), l->conf.role == RD_FO_PRIMARY ? ", sending CONNECT" : ", waiting for CONNECT");
	if (l->conf.role == RD_FO_PRIMARY)
		send_connect(l, c);
}

static void connect_failed(rd_fo_link_t *l, int err)
{
	l->stats.connect_failures++;
	uint32_t delay = schedule_connect(l);
	int prio = err == l->last_connect_err ? LOG_DEBUG : LOG_INFO;
	l->last_connect_err = err;
	lk_log(l, prio, "cannot connect: %s; retrying in %u.%03u s", strerror(err), delay / 1000, delay % 1000);
}

static void start_connect(rd_fo_link_t *l)
{
	conn_t *c = conn_alloc(l);
	if (!c) {
		/* Every slot holds an inbound handshake; try again later. */
		schedule_connect(l);
		return;
	}
	l->stats.connects++;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		connect_failed(l, errno);
		return;
	}
	struct sockaddr_in sa = { .sin_family = AF_INET };
	if (l->conf.address) {
		/* ISC accepts only connections from the address it knows as ours. */
		sa.sin_addr.s_addr = htonl(l->conf.address);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int e = errno;
			close(fd);
			connect_failed(l, e);
			return;
		}
	}
	sa.sin_addr.s_addr = htonl(l->conf.peer_address);
	sa.sin_port = htons(l->conf.peer_port);
	conn_init(l, c, fd, true, l->conf.peer_address, l->conf.peer_port);
	int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (r == 0) {
		tcp_up(l, c);
		return;
	}
	if (errno == EINPROGRESS || errno == EINTR) {
		c->phase = PH_CONNECTING;
		c->deadline_ms = l->now_ms + RD_FO_LINK_STARTUP_MS;
		return;
	}
	int e = errno;
	c->phase = PH_CONNECTING;       /* so that release closes the fd */
	conn_release(l, c);
	connect_failed(l, e);
}

static void connect_done(rd_fo_link_t *l, conn_t *c)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return;
	if (err) {
		conn_release(l, c);
		connect_failed(l, err);
		return;
	}
	tcp_up(l, c);
}

static void do_accept(rd_fo_link_t *l)
{
	for (int i = 0; i < ACCEPT_BUDGET; i++) {
		struct sockaddr_in sa = { 0 };
		socklen_t sl = sizeof(sa);
		char a[16];
		int fd = accept4(l->listen_fd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (!rd_would_block(errno))
				lk_log(l, LOG_WARNING, "accept: %s", strerror(errno));
			return;
		}
		uint32_t addr = ntohl(sa.sin_addr.s_addr);
		uint16_t port = ntohs(sa.sin_port);
		if (sa.sin_family != AF_INET || addr != l->conf.peer_address) {
			/* As ISC: only the configured peer may talk failover to us. */
			l->stats.foreign++;
			lk_log(l, LOG_WARNING, "refused a connection from %s:%u: not the peer's address",
			       ip_str(addr, a), port);
			close(fd);
			continue;
		}
		conn_t *c = conn_alloc(l);
		if (!c) {
			l->stats.foreign++;
			lk_log(l, LOG_WARNING, "refused a connection from %s:%u: %d connections already open",
			       ip_str(addr, a), port, RD_FO_LINK_MAX_CONNS);
			close(fd);
			continue;
		}
		l->stats.accepted++;
		conn_init(l, c, fd, false, addr, port);
		tcp_up(l, c);
	}
}

static int open_listener(rd_fo_link_t *l)
{
	int one = 1;
	char a[16];
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(l->conf.port),
		.sin_addr.s_addr = htonl(l->conf.address),
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* The rack's address may be configured after we start (netlink follows it). */
	(void)setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
		int e = errno;
		close(fd);
		lk_log(l, LOG_ERR, "cannot listen on %s:%u: %s", ip_str(l->conf.address, a), l->conf.port,
		       strerror(e));
		return -e;
	}
	socklen_t sl = sizeof(sa);
	if (getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		l->local_port = ntohs(sa.sin_port);
	l->listen_fd = fd;
	lk_log(l, LOG_INFO, "listening on %s:%u", ip_str(l->conf.address, a), l->local_port);
	return 0;
}

/* ------------------------------------------------------------------ API */

void rd_fo_link_conf_from_cfg(rd_fo_link_conf_t *conf, const rd_cfg_failover_t *cfg)
{
	memset(conf, 0, sizeof(*conf));
	conf->name = cfg->name;
	conf->role = cfg->role;
	conf->address = cfg->address;
	conf->port = cfg->port;
	conf->peer_address = cfg->peer_address;
	conf->peer_port = cfg->peer_port;
	conf->mclt = cfg->mclt;
	memcpy(conf->hba, cfg->hba, RD_FO_HBA_LEN);
	conf->max_response_delay = cfg->max_response_delay;
	conf->max_unacked = cfg->max_unacked_updates;
}

int rd_fo_link_new(const rd_fo_link_conf_t *conf, const rd_fo_link_ops_t *ops, rd_fo_link_t **out)
{
	if (!conf || !out || !conf->name || !conf->name[0] || strlen(conf->name) > NAME_MAX_LEN ||
	    (conf->role != RD_FO_PRIMARY && conf->role != RD_FO_SECONDARY) ||
	    conf->max_response_delay == 0 || conf->max_unacked == 0 || conf->peer_port == 0)
		return RD_EINVAL;

	rd_fo_link_t *l = calloc(1, sizeof(*l));
	if (!l)
		return RD_ENOMEM;
	l->conf = *conf;
	if (!(l->name = strdup(conf->name))) {
		free(l);
		return RD_ENOMEM;
	}
	l->conf.name = l->name;
	if (!l->conf.backoff_min_ms)
		l->conf.backoff_min_ms = RD_FO_LINK_BACKOFF_MIN_MS;
	if (!l->conf.backoff_max_ms)
		l->conf.backoff_max_ms = RD_FO_LINK_BACKOFF_MAX_MS;
	if (l->conf.backoff_max_ms < l->conf.backoff_min_ms)
		l->conf.backoff_max_ms = l->conf.backoff_min_ms;
	if (!l->conf.out_max)
		l->conf.out_max = RD_FO_LINK_OUT_MAX;
	if (l->conf.out_max < HANDSHAKE_OUT_MAX)
		l->conf.out_max = HANDSHAKE_OUT_MAX;
	if (ops)
		l->ops = *ops;
	l->listen_fd = -1;
	l->up = -1;
	for (size_t i = 0; i < RD_FO_LINK_MAX_CONNS; i++)
		l->conns[i].fd = -1;
	l->backoff_ms = l->conf.backoff_min_ms;
	l->next_connect_ms = 0;     /* the first process() connects */
	make_label(l);

	int r = open_listener(l);
	if (r < 0) {
		free(l->name);
		free(l);
		return r;
	}
	*out = l;
	return 0;
}

void rd_fo_link_free(rd_fo_link_t *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < RD_FO_LINK_MAX_CONNS; i++)
		conn_release(l, &l->conns[i]);
	if (l->listen_fd >= 0)
		close(l->listen_fd);
	lk_log(l, LOG_INFO, "stopped");
	free(l->name);
	free(l);
}

static short conn_events(const conn_t *c)
{
	if (c->phase == PH_CONNECTING)
		return POLLOUT;
	return (short)(POLLIN | (c->out_len ? POLLOUT : 0));
}

size_t rd_fo_link_poll_events(const rd_fo_link_t *l, struct pollfd *pfd, size_t cap)
{
	size_t n = 0;
	if (!l)
		return 0;
	if (l->listen_fd >= 0 && n < cap)
		pfd[n++] = (struct pollfd){ .fd = l->listen_fd, .events = POLLIN };
	for (size_t i = 0; i < RD_FO_LINK_MAX_CONNS && n < cap; i++) {
		const conn_t *c = &l->conns[i];
		if (c->phase != PH_FREE)
			pfd[n++] = (struct pollfd){ .fd = c->fd, .events = conn_events(c) };
	}
	return n;
}

static uint32_t keepalive_ms(const rd_fo_link_t *l)
{
	/* ISC: CONTACT after (partner's max-response-delay / 3) s of silence,
	 * integer seconds; never less than a second, whatever the peer says. */
	uint32_t s = l->peer.receive_timer / 3;
	return (s ? s : 1) * 1000u;
}

int rd_fo_link_next_timeout_ms(const rd_fo_link_t *l, uint64_t now)
{
	uint64_t best = UINT64_MAX;
#define CONSIDER(t) do { uint64_t t_ = (t); if (t_ < best) best = t_; } while (0)

	if (!l)
		return -1;
	if (l->up < 0 && !outbound_pending(l))
		CONSIDER(l->next_connect_ms);
	for (size_t i = 0; i < RD_FO_LINK_MAX_CONNS; i++) {
		const conn_t *c = &l->conns[i];
		switch (c->phase) {
		case PH_CONNECTING:
		case PH_HANDSHAKE:
		case PH_CLOSING:
			CONSIDER(c->deadline_ms);
			break;
		case PH_UP:
			CONSIDER(c->last_rx_ms + (uint64_t)l->conf.max_response_delay * 1000u);
			CONSIDER(c->last_tx_ms + keepalive_ms(l));
			if (c->out_len)
				CONSIDER(c->out_stall_ms + (uint64_t)l->conf.max_response_delay * 1000u);
			break;
		default:
			break;
		}
	}
#undef CONSIDER
	if (best == UINT64_MAX)
		return -1;
	if (best <= now)
		return 0;
	return best - now > INT_MAX ? INT_MAX : (int)(best - now);
}

static void run_timers(rd_fo_link_t *l)
{
	uint64_t now = l->now_ms;

	for (size_t i = 0; i < RD_FO_LINK_MAX_CONNS; i++) {
		conn_t *c = &l->conns[i];
		switch (c->phase) {
		case PH_CONNECTING:
			if (now >= c->deadline_ms) {
				conn_release(l, c);
				connect_failed(l, ETIMEDOUT);
			}
			break;
		case PH_HANDSHAKE:
			if (now >= c->deadline_ms) {
				/* With the link up this is only a spare connection the peer ignored. */
				bool spare = l->up >= 0;
				if (!spare)
					l->stats.protocol_errors++;
				conn_end(l, c, 0, spare ? LOG_INFO : LOG_WARNING, false, "no %s within %u s%s",
					 l->conf.role == RD_FO_PRIMARY ? "CONNECTACK" : "CONNECT",
					 RD_FO_LINK_STARTUP_MS / 1000,
					 l->conf.role == RD_FO_SECONDARY && !spare ?
					 " (is the peer configured as primary?)" : "");
			}
			break;
		case PH_CLOSING:
			if (now >= c->deadline_ms)
				conn_release(l, c);
			break;
		case PH_UP: {
			uint64_t limit = (uint64_t)l->conf.max_response_delay * 1000u;
			if (now >= c->last_rx_ms + limit) {
				char text[100];
				snprintf(text, sizeof(text), "no message from the peer for %u s",
					 l->conf.max_response_delay);
				disconnect_and_end(l, c, RD_FO_DOWN_TIMEOUT, RD_FO_REJ_NO_TRAFFIC, text);
			} else if (c->out_len && now >= c->out_stall_ms + limit) {
				conn_end(l, c, RD_FO_DOWN_TIMEOUT, LOG_WARNING, false,
					 "the peer has not read from us for %u s (%zu bytes queued)",
					 l->conf.max_response_delay, c->out_len);
			} else if (now >= c->last_tx_ms + keepalive_ms(l)) {
				rd_fo_msg_t m;
				rd_fo_msg_init(&m, RD_FO_CONTACT, wall_now(l), next_xid(c, RD_FO_CONTACT));
				/* A full queue means we are talking anyway; the stall check covers a deaf peer. */
				if (conn_queue(l, c, &m, false) == 0)
					l->stats.contacts_out++;
				else
					c->last_tx_ms = now;
			}
			break;
		}
		default:
			break;
		}
	}
}

int rd_fo_link_process(rd_fo_link_t *l, uint64_t now)
{
	struct pollfd pfd[RD_FO_LINK_MAX_FDS];
	conn_t *who[RD_FO_LINK_MAX_FDS];
	unsigned gen[RD_FO_LINK_MAX_FDS];
	size_t n = 0;

	if (!l)
		return RD_EINVAL;
	l->now_ms = now;

	if (l->listen_fd >= 0) {
		pfd[n] = (struct pollfd){ .fd = l->listen_fd, .events = POLLIN };
		gen[n] = 0;
		who[n++] = NULL;
	}
	for (size_t i = 0; i < RD_FO_LINK_MAX_CONNS; i++) {
		conn_t *c = &l->conns[i];
		if (c->phase == PH_FREE)
			continue;
		pfd[n] = (struct pollfd){ .fd = c->fd, .events = conn_events(c) };
		gen[n] = c->gen;
		who[n++] = c;
	}
	if (poll(pfd, (nfds_t)n, 0) < 0)
		n = 0;  /* EINTR: timers still run, I/O waits for the next call */

	for (size_t i = 0; i < n; i++) {
		conn_t *c = who[i];
		short re = pfd[i].revents;
		if (!re)
			continue;
		if (!c) {
			do_accept(l);
			continue;
		}
		if (c->gen != gen[i] || c->phase == PH_FREE)
			continue;
		if (c->phase == PH_CONNECTING) {
			connect_done(l, c);
			continue;
		}
		if (re & (POLLIN | POLLERR | POLLHUP))
			conn_read(l, c);
		if (c->gen != gen[i] || c->phase == PH_FREE)
			continue;
		if ((re & POLLOUT) && c->out_len) {
			int e = conn_flush(l, c);
			if (e < 0)
				conn_end(l, c, RD_FO_DOWN_IO, LOG_WARNING, false, "send: %s", strerror(-e));
		}
	}

	run_timers(l);

	if (l->up < 0 && !outbound_pending(l) && now >= l->next_connect_ms)
		start_connect(l);

	/* Whatever the callbacks and timers queued goes out now, not a poll later. */
	for (size_t i = 0; i < RD_FO_LINK_MAX_CONNS; i++) {
		conn_t *c = &l->conns[i];
		if (c->phase == PH_FREE || c->phase == PH_CONNECTING)
			continue;
		if (c->out_len) {
			int e = conn_flush(l, c);
			if (e < 0) {
				if (c->phase == PH_CLOSING)
					conn_release(l, c);
				else
					conn_end(l, c, RD_FO_DOWN_IO, LOG_WARNING, false, "send: %s", strerror(-e));
				continue;
			}
		}
		if (c->phase == PH_CLOSING && !c->out_len && !c->wr_shut) {
			/* Our FIN after the last message; the peer's FIN (or the deadline) ends it. */
			(void)shutdown(c->fd, SHUT_WR);
			c->wr_shut = true;
		}
	}

	if (l->want_drain && l->up >= 0 && l->conns[l->up].out_len <= l->conf.out_max / 2) {
		l->want_drain = false;
		if (l->ops.on_drain)
			l->ops.on_drain(l->ops.ctx, l);
	}
	return 0;
}

int rd_fo_link_send(rd_fo_link_t *l, rd_fo_msg_t *m)
{
	if (!l || !m)
		return RD_EINVAL;
	if (l->up < 0)
		return RD_FO_LINK_ENOTCONN;
	conn_t *c = &l->conns[l->up];
	uint32_t saved = c->next_xid;

	switch (m->type) {
	case RD_FO_POOLREQ:
	case RD_FO_BNDUPD:
	case RD_FO_UPDREQALL:
	case RD_FO_UPDREQ:
	case RD_FO_STATE:
	case RD_FO_CONTACT:
	case RD_FO_DISCONNECT:
		m->xid = next_xid(c, m->type);
		break;
	case RD_FO_POOLRESP:
	case RD_FO_BNDACK:
	case RD_FO_UPDDONE:
		break;
	default:
		return RD_EINVAL;
	}
	m->time = wall_now(l);
	int r = conn_queue(l, c, m, false);
	if (r < 0) {
		c->next_xid = saved;
		if (r == RD_ENOSPACE)
			l->want_drain = true;
		return r;
	}
	if (m->type == RD_FO_CONTACT)
		l->stats.contacts_out++;
	return 0;
}

void rd_fo_link_close(rd_fo_link_t *l, unsigned reject_reason, const char *why)
{
	if (!l)
		return;
	if (!why)
		why = "closed by the failover state machine";
	for (size_t i = 0; i < RD_FO_LINK_MAX_CONNS; i++) {
		conn_t *c = &l->conns[i];
		switch (c->phase) {
		case PH_UP:
			if (reject_reason) {
				rd_fo_msg_t m;
				build_disconnect(l, c, &m, reject_reason, why);
				conn_queue(l, c, &m, true);
			}
			conn_end(l, c, RD_FO_DOWN_LOCAL, LOG_INFO, reject_reason != 0, "%s", why);
			break;
		case PH_CONNECTING:
		case PH_HANDSHAKE:
			conn_release(l, c);
			break;
		default:
			break;
		}
	}
}

void rd_fo_link_set_peer(rd_fo_link_t *l, uint32_t peer_address, uint16_t peer_port)
{
	if (!l || (peer_address == l->conf.peer_address && peer_port == l->conf.peer_port))
		return;
	l->conf.peer_address = peer_address;
	l->conf.peer_port = peer_port;
	make_label(l);
	lk_log(l, LOG_INFO, "peer address changed");
}

bool rd_fo_link_is_up(const rd_fo_link_t *l)
{
	return l && l->up >= 0;
}

const rd_fo_link_peer_t *rd_fo_link_peer(const rd_fo_link_t *l)
{
	return l && l->up >= 0 ? &l->peer : NULL;
}

size_t rd_fo_link_queued(const rd_fo_link_t *l)
{
	return l && l->up >= 0 ? l->conns[l->up].out_len : 0;
}

uint16_t rd_fo_link_local_port(const rd_fo_link_t *l)
{
	return l ? l->local_port : 0;
}

const char *rd_fo_link_name(const rd_fo_link_t *l)
{
	return l ? l->name : "";
}

const rd_fo_link_stats_t *rd_fo_link_stats(const rd_fo_link_t *l)
{
	return &l->stats;
}
