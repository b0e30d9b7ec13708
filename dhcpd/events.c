/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * events.c — MAAS lease notifications (see events.h): a bounded lock-free
 * queue that any thread pushes onto, and one sender thread that formats and
 * sends each event as one datagram.
 *
 * Why a thread of its own rather than an fd the main loop polls: the main
 * loop runs lease expiry, netlink and the watchdog, and a consumer that is
 * slow or missing must not add work or latency there; a thread also keeps
 * the daemon's hook-up to "create, push, free".  It sleeps on an eventfd
 * when the queue is empty, and producers write that eventfd only when the
 * sender said it was going to sleep, so under load pushing costs no system
 * call at all.
 *
 * The queue is Vyukov's bounded MPMC ring (used here with one consumer):
 * each cell carries a sequence number; a producer claims a slot with one
 * CAS on the tail, copies the event in and publishes it by advancing the
 * cell's sequence.  No producer ever waits for another or for the sender,
 * which is the packet path's rule.  Events are stored unformatted (about
 * 300 bytes each) and formatted by the sender, so workers do not spend time
 * on JSON and a cell does not have to hold the worst-case escaped text.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/error.h"
#include "rackdhcp/events.h"
#include "rackdhcp/fmt.h"
#include "rackdhcp/log.h"

/* Retry delays.  A missing listener is rackd or maas-agent restarting
 * (seconds), so the retry backs off to a second; a full receive queue
 * clears as soon as the consumer reads, so it is retried sooner. */
#define MISSING_MIN_MS 50
#define MISSING_MAX_MS 1000
#define BUSY_MIN_MS 5
#define BUSY_MAX_MS 200
/* At most one "queue full" line per this many seconds. */
#define DROP_LOG_S 10

struct cell {
	_Atomic size_t seq;
	rd_event_t ev;
};

struct rd_events {
	struct sockaddr_un sa;
	socklen_t salen;
	int fd;                         /* our unbound SOCK_DGRAM socket */
	int efd;                        /* wakes the sender (idle, or stop) */
	size_t mask;
	struct cell *cells;
	pthread_t thr;

	/* producers' line */
	char pad0[64];
	_Atomic size_t tail;
	_Atomic uint64_t emitted;
	_Atomic uint64_t dropped_full;
	_Atomic uint64_t dropped_invalid;
	char pad1[64];

	/* the sender's line */
	size_t head;                    /* only the sender touches it */
	_Atomic bool idle;              /* the sender is (about to be) asleep on efd */
	_Atomic bool stop;
	_Atomic int64_t deadline_ns;    /* CLOCK_MONOTONIC end of the final flush */
	_Atomic uint64_t sent;
	_Atomic uint64_t dropped_sender; /* accepted, then not deliverable */
	_Atomic bool listener_up;
};

/* ------------------------------------------------------------ formatting */

/* host_len (a uint8_t) can never exceed the host buffer. */
_Static_assert(RD_LEASE_MAX_HOSTNAME >= 255, "rd_event_t.host holds any host_len");

static const char *kind_name(unsigned k)
{
	switch (k) {
	case RD_EVENT_COMMIT: return "commit";
	case RD_EVENT_EXPIRY: return "expiry";
	case RD_EVENT_RELEASE: return "release";
	default: return NULL;
	}
}

/* Python's str.isspace() over ASCII, which is what the helper's "blank"
 * test (hostname.isspace()) amounts to for the bytes that matter. */
static bool is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f)))
			return false;
	}
	return true;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* Append s as the body of a JSON string.  The hostname is whatever the
 * client put in option 12, so every byte that could end the string, break
 * the consumer's decoder or a log line is escaped. */
static void sb_json_str(rd_sb_t *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			rd_sb_mem(b, e, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			rd_sb_mem(b, e, 6);
			i++;
		} else {
			size_t k = utf8_len(s + i, n - i);
			if (k == 0) {
				rd_sb_str(b, "\\ufffd");
				i++;
			} else {
				rd_sb_mem(b, str + i, k);
				i += k;
			}
		}
	}
}

int rd_event_format(const rd_event_t *e, char *buf, size_t cap)
{
	const char *action = e ? kind_name(e->kind) : NULL;
	if (!action || !buf || e->hlen == 0 || e->hlen > 16)
		return RD_EINVAL;
	rd_sb_t b;
	char mac[49];
	rd_sb_init(&b, buf, cap);
	rd_fmt_mac(mac, e->mac, e->hlen);
	/* Field order as maas-dhcp-helper builds its dict. */
	rd_sb_str(&b, "{\"action\":\"");
	rd_sb_str(&b, action);
	rd_sb_str(&b, "\",\"mac\":\"");
	rd_sb_str(&b, mac);
	rd_sb_str(&b, "\",\"ip_family\":\"ipv4\",\"ip\":\"");
	rd_sb_ip(&b, e->ip);
	rd_sb_str(&b, "\",\"timestamp\":");
	rd_sb_u(&b, e->timestamp > 0 ? (uint64_t)e->timestamp : 0);
	if (e->kind == RD_EVENT_COMMIT) {
		rd_sb_str(&b, ",\"lease_time\":");
		rd_sb_u(&b, e->lease_time);
		size_t hn = e->host_len;
		while (hn && e->host[hn - 1] == '\0')
			hn--;
		if (hn && !is_blank(e->host, hn)) {
			rd_sb_str(&b, ",\"hostname\":\"");
			sb_json_str(&b, e->host, hn);
			rd_sb_str(&b, "\"");
		}
	}
	rd_sb_str(&b, "}");
	if (b.trunc)
		return RD_ENOSPACE;
	return (int)b.len;
}

int rd_event_from_lease(rd_event_t *e, enum rd_event_kind kind, const rd_lease_t *l,
			uint32_t lease_time, int64_t now)
{
	if (!e || !l || !kind_name((unsigned)kind) || l->hlen == 0)
		return RD_EINVAL;
	if (now <= 0)
		now = (int64_t)time(NULL);
	e->kind = (uint8_t)kind;
	e->hlen = l->hlen > 16 ? 16 : l->hlen;
	memcpy(e->mac, l->chaddr, 16);
	e->ip = l->addr;
	e->timestamp = now;
	e->lease_time = 0;
	e->host_len = 0;
	if (kind == RD_EVENT_COMMIT) {
		/* ISC's lease-time is ends - now: what the client was told. */
		if (!lease_time && l->ends > now)
			lease_time = (uint32_t)(l->ends - now);
		e->lease_time = lease_time;
		e->host_len = l->host_len;
		memcpy(e->host, rd_lease_host(l), l->host_len);
	}
	return 0;
}

/* ----------------------------------------------------------------- queue */

/* The sender: the next event, if one is fully published. */
static bool dequeue(rd_events_t *ev, rd_event_t *out)
{
	struct cell *c = &ev->cells[ev->head & ev->mask];
	size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
	if (seq != ev->head + 1)
		return false;
	*out = c->ev;
	atomic_store_explicit(&c->seq, ev->head + ev->mask + 1, memory_order_release);
	ev->head++;
	return true;
}

int rd_events_push(rd_events_t *ev, const rd_event_t *e)
{
	if (!ev || !e)
		return RD_EINVAL;
	size_t pos = atomic_load_explicit(&ev->tail, memory_order_relaxed);
	struct cell *c;
	for (;;) {
		c = &ev->cells[pos & ev->mask];
		size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
		intptr_t diff = (intptr_t)seq - (intptr_t)pos;
		if (diff == 0) {
			if (atomic_compare_exchange_weak_explicit(&ev->tail, &pos, pos + 1,
								  memory_order_relaxed, memory_order_relaxed))
				break;
		} else if (diff < 0) {
			/* The slot still holds an event from one lap ago. */
			atomic_fetch_add_explicit(&ev->dropped_full, 1, memory_order_relaxed);
			return RD_ENOSPACE;
		} else {
			pos = atomic_load_explicit(&ev->tail, memory_order_relaxed);
		}
	}
	c->ev = *e;
	atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
	atomic_fetch_add_explicit(&ev->emitted, 1, memory_order_relaxed);
	/* Pairs with the fence in sender_sleep: either the sender sees this
	 * event on its last look, or we see it asleep and wake it. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&ev->idle, memory_order_relaxed) &&
	    atomic_exchange(&ev->idle, false)) {
		uint64_t one = 1;
		ssize_t w = write(ev->efd, &one, sizeof(one));
		(void)w;   /* EAGAIN: the counter is already non-zero, a wake-up is pending */
	}
	return 0;
}

int rd_events_emit(rd_events_t *ev, enum rd_event_kind kind, const rd_lease_t *l, uint32_t lease_time)
{
	if (!ev)
		return 0;
	rd_event_t e;
	int r = rd_event_from_lease(&e, kind, l, lease_time, 0);
	if (r < 0) {
		atomic_fetch_add_explicit(&ev->dropped_invalid, 1, memory_order_relaxed);
		return r;
	}
	return rd_events_push(ev, &e);
}

void rd_events_stats(const rd_events_t *ev_, rd_events_stats_t *out)
{
	rd_events_t *ev = (rd_events_t *)ev_;   /* atomic loads want non-const */
	memset(out, 0, sizeof(*out));
	if (!ev)
		return;
	out->sent = atomic_load(&ev->sent);
	uint64_t ds = atomic_load(&ev->dropped_sender);
	out->emitted = atomic_load(&ev->emitted);
	out->dropped_full = atomic_load(&ev->dropped_full);
	out->dropped_error = ds + atomic_load(&ev->dropped_invalid);
	/* emitted is read last, so it is never behind what was sent. */
	out->queued = out->emitted >= out->sent + ds ? out->emitted - out->sent - ds : 0;
	out->listener_up = atomic_load(&ev->listener_up);
}

/* ---------------------------------------------------------------- sender */

static int64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void drain_efd(rd_events_t *ev)
{
	uint64_t v;
	ssize_t r = read(ev->efd, &v, sizeof(v));
	(void)r;
}

/* Sleep until woken (a push while idle, or stop) or timeout_ms (-1: none). */
static void wait_efd(rd_events_t *ev, int timeout_ms)
{
	struct pollfd p = { .fd = ev->efd, .events = POLLIN };
	if (poll(&p, 1, timeout_ms) > 0)
		drain_efd(ev);
}

/* Empty queue: announce sleep, look once more, then sleep.  True if an
 * event turned up (in *e). */
static bool sender_sleep(rd_events_t *ev, rd_event_t *e)
{
	atomic_store(&ev->idle, true);
	atomic_thread_fence(memory_order_seq_cst);
	bool got = !atomic_load(&ev->stop) && dequeue(ev, e);
	/* If a producer saw idle and wrote efd meanwhile, the next wait
	 * returns at once and drains it: one spurious turn, no lost wake-up. */
	if (!got && !atomic_load(&ev->stop))
		wait_efd(ev, -1);
	atomic_store(&ev->idle, false);
	return got;
}

enum send_result { SENT, MISSING, BUSY, FAILED };

static enum send_result send_one(rd_events_t *ev, const char *buf, size_t len, int *err)
{
	ssize_t n = sendto(ev->fd, buf, len, MSG_NOSIGNAL, (const struct sockaddr *)&ev->sa, ev->salen);
	if (n >= 0)
		return SENT;
	*err = errno;
	switch (errno) {
	case ENOENT:        /* no socket file: the consumer is not running */
	case ECONNREFUSED:  /* a stale socket file nobody is bound to */
	case ENOTDIR:
	case EACCES:        /* wrong mode: an operator fixes it, we keep the queue */
	case EPERM:
		return MISSING;
	case EAGAIN:        /* the consumer's receive queue is full */
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
	case ENOBUFS:
	case EINTR:
		return BUSY;
	default:            /* EMSGSIZE and the like: this datagram never will go */
		return FAILED;
	}
}

static void *sender_main(void *arg)
{
	rd_events_t *ev = arg;
	rd_event_t cur;
	char buf[RD_EVENT_JSON_MAX];
	int len = 0;
	bool have = false, outage = false;
	unsigned backoff = 0;
	uint64_t outage_queued = 0;
	uint64_t drops_logged = 0;
	int64_t next_drop_log = 0;
	const char *path = ev->sa.sun_path;

	for (;;) {
		bool stopping = atomic_load(&ev->stop);
		if (stopping && mono_ns() >= atomic_load(&ev->deadline_ns))
			break;

		uint64_t df = atomic_load_explicit(&ev->dropped_full, memory_order_relaxed);
		if (df != drops_logged && mono_ns() >= next_drop_log) {
			rd_log(LOG_WARNING, "lease events: %llu dropped, the queue (%zu) was full",
			       (unsigned long long)(df - drops_logged), ev->mask + 1);
			drops_logged = df;
			next_drop_log = mono_ns() + (int64_t)DROP_LOG_S * 1000000000;
		}

		if (!have) {
			if (!dequeue(ev, &cur)) {
				if (stopping)
					break;
				if (!sender_sleep(ev, &cur))
					continue;
			}
			len = rd_event_format(&cur, buf, sizeof(buf));
			if (len < 0) {
				atomic_fetch_add(&ev->dropped_sender, 1);
				rd_log(LOG_ERR, "lease events: event not formatted: %s", rd_strerror(len));
				continue;
			}
			have = true;
		}

		int err = 0;
		switch (send_one(ev, buf, (size_t)len, &err)) {
		case SENT:
			atomic_fetch_add(&ev->sent, 1);
			have = false;
			backoff = 0;
			if (outage) {
				rd_log(LOG_INFO, "lease events: delivering to %s again (%llu were waiting)",
				       path, (unsigned long long)outage_queued);
				outage = false;
				atomic_store(&ev->listener_up, true);
			}
			break;
		case MISSING:
			if (!outage) {
				rd_log(LOG_WARNING, "lease events: cannot deliver to %s: %s; "
				       "keeping up to %zu queued and retrying", path, strerror(err), ev->mask + 1);
				outage = true;
				atomic_store(&ev->listener_up, false);
			}
			{
				rd_events_stats_t st;
				rd_events_stats(ev, &st);
				outage_queued = st.queued;
			}
			if (stopping)
				goto out;   /* nobody to flush to */
			backoff = backoff < MISSING_MIN_MS ? MISSING_MIN_MS
				: backoff * 2 > MISSING_MAX_MS ? MISSING_MAX_MS : backoff * 2;
			wait_efd(ev, (int)backoff);
			break;
		case BUSY:
			backoff = backoff < BUSY_MIN_MS ? BUSY_MIN_MS
				: backoff * 2 > BUSY_MAX_MS ? BUSY_MAX_MS : backoff * 2;
			wait_efd(ev, (int)backoff);
			break;
		case FAILED:
			atomic_fetch_add(&ev->dropped_sender, 1);
			have = false;
			{
				char ip[16];
				rd_fmt_ip(ip, cur.ip);
				rd_log(LOG_ERR, "lease events: the %d-byte %s event of %s not sent to %s: %s",
				       len, kind_name(cur.kind), ip, path, strerror(err));
			}
			break;
		}
	}
out:;
	rd_events_stats_t st;
	rd_events_stats(ev, &st);
	if (st.queued)
		rd_log(LOG_WARNING, "lease events: %llu not delivered to %s at shutdown",
		       (unsigned long long)st.queued, path);
	return NULL;
}

/* ------------------------------------------------------------- lifecycle */

rd_events_t *rd_events_new(const char *socket_path, size_t queue_max)
{
	if (!socket_path || socket_path[0] != '/' ||
	    strlen(socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		errno = EINVAL;
		return NULL;
	}
	if (queue_max == 0)
		queue_max = RD_EVENTS_QUEUE_DEFAULT;
	if (queue_max > ((size_t)1 << 24)) {
		errno = EINVAL;
		return NULL;
	}
	size_t n = 2;
	while (n < queue_max)
		n <<= 1;

	rd_events_t *ev = calloc(1, sizeof(*ev));
	if (!ev)
		return NULL;
	ev->fd = ev->efd = -1;
	ev->cells = calloc(n, sizeof(*ev->cells));
	if (!ev->cells)
		goto fail;
	ev->mask = n - 1;
	for (size_t i = 0; i < n; i++)
		atomic_init(&ev->cells[i].seq, i);
	ev->sa.sun_family = AF_UNIX;
	strcpy(ev->sa.sun_path, socket_path);
	ev->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(socket_path) + 1);
	atomic_init(&ev->listener_up, true);
	ev->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ev->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ev->fd < 0 || ev->efd < 0)
		goto fail;

	/* The daemon reads its signals from a signalfd: this thread must not
	 * take one, whenever it is created. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = pthread_create(&ev->thr, NULL, sender_main, ev);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		errno = r;
		goto fail;
	}
	return ev;
fail:;
	int e = errno;
	if (ev->fd >= 0)
		close(ev->fd);
	if (ev->efd >= 0)
		close(ev->efd);
	free(ev->cells);
	free(ev);
	errno = e;
	return NULL;
}

void rd_events_free(rd_events_t *ev, unsigned flush_ms)
{
	if (!ev)
		return;
	atomic_store(&ev->deadline_ns, mono_ns() + (int64_t)flush_ms * 1000000);
	atomic_store(&ev->stop, true);
	uint64_t one = 1;
	ssize_t w = write(ev->efd, &one, sizeof(one));
	(void)w;
	pthread_join(ev->thr, NULL);
	close(ev->fd);
	close(ev->efd);
	free(ev->cells);
	free(ev);
}
