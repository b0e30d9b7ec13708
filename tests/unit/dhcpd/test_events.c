/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_events.c — MAAS lease notifications (dhcpd/events.c): the JSON of
 * each kind, field by field and type by type, as MAAS's consumers decode it;
 * delivery to a listening unix datagram socket; queueing while the listener
 * is missing and in-order delivery once it appears; a full queue counts its
 * drops and never blocks; stopping with a dead listener terminates.
 *
 * No timing assertions: waits are bounded loops that fail the check after
 * several seconds, and the burst test asserts on counters only.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/error.h"
#include "rackdhcp/events.h"
#include "rackdhcp/lease.h"
#include "rackdhcp/log.h"
#include "tap.h"

static char dir[64];

static rd_lease_t *mk_lease(uint32_t addr, uint8_t last, const char *host, size_t host_len, uint32_t ends)
{
	rd_lease_t *l = rd_lease_new(addr, NULL, 0, host, host_len);
	if (!l)
		bail_out("rd_lease_new");
	l->htype = 1;
	l->hlen = 6;
	const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0x0b, last };
	memcpy(l->chaddr, mac, 6);
	l->state = RD_LEASE_ACTIVE;
	l->ends = ends;
	return l;
}

static int listener(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		bail_out("listener %s: %s", path, strerror(errno));
	return fd;
}

/* One datagram, parsed; NULL after 10 s or on bad JSON (which fails a check). */
static json_t *recv_json(int fd, char *raw, size_t cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 10000) != 1) {
		diag("no datagram within 10 s");
		return NULL;
	}
	ssize_t n = recv(fd, raw, cap - 1, 0);
	if (n < 0)
		return NULL;
	raw[n] = '\0';
	json_error_t je;
	json_t *j = json_loadb(raw, (size_t)n, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		diag("bad JSON (%s): %s", je.text, raw);
	return j;
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Exactly the fields of §5.1 for this kind, each with its type. */
static void check_fields(json_t *j, const char *action, const char *mac, const char *ip,
			 long long ts_lo, long long ts_hi, long long lease_time, const char *host,
			 const char *what)
{
	ok(json_is_object(j), "%s: an object", what);
	if (!json_is_object(j))
		return;
	is_str(jstr(j, "action"), action, "%s: action", what);
	is_str(jstr(j, "mac"), mac, "%s: mac", what);
	is_str(jstr(j, "ip_family"), "ipv4", "%s: ip_family", what);
	is_str(jstr(j, "ip"), ip, "%s: ip", what);
	json_t *ts = json_object_get(j, "timestamp");
	ok(json_is_integer(ts) && json_integer_value(ts) >= ts_lo && json_integer_value(ts) <= ts_hi,
	   "%s: timestamp an integer in [%lld, %lld]", what, ts_lo, ts_hi);
	size_t want = 5;
	if (!strcmp(action, "commit")) {
		json_t *lt = json_object_get(j, "lease_time");
		ok(json_is_integer(lt), "%s: lease_time an integer", what);
		is_int(json_integer_value(lt), lease_time, "%s: lease_time", what);
		want++;
	} else {
		ok(!json_object_get(j, "lease_time"), "%s: no lease_time", what);
	}
	if (host) {
		is_str(jstr(j, "hostname"), host, "%s: hostname", what);
		want++;
	} else {
		ok(!json_object_get(j, "hostname"), "%s: no hostname", what);
	}
	is_int((long long)json_object_size(j), (long long)want, "%s: no other field", what);
}

static bool wait_for(rd_events_t *ev, bool (*cond)(const rd_events_stats_t *))
{
	rd_events_stats_t st;
	for (int i = 0; i < 1000; i++) {
		rd_events_stats(ev, &st);
		if (cond(&st))
			return true;
		struct timespec t = { 0, 10 * 1000 * 1000 };
		nanosleep(&t, NULL);
	}
	return false;
}

static bool listener_down(const rd_events_stats_t *s) { return !s->listener_up; }
static bool drained(const rd_events_stats_t *s) { return s->queued == 0; }

/* ------------------------------------------------------------ formatting */

static void test_format(void)
{
	char buf[RD_EVENT_JSON_MAX];
	/* quotes, backslash, control bytes, DEL, valid UTF-8, an invalid byte,
	 * a trailing NUL (cut) */
	static const char evil[] = "a\"b\\c\n\t\x01\x7f" "\xc3\xa9" "\xff" "z";
	rd_lease_t *l = mk_lease(0x0a0a007b, 0xcc, evil, sizeof(evil), 1741100600);
	rd_event_t e;

	is_int(rd_event_from_lease(&e, RD_EVENT_COMMIT, l, 600, 1741100000), 0, "commit event from a lease");
	int n = rd_event_format(&e, buf, sizeof(buf));
	ok(n > 0 && (size_t)n == strlen(buf), "commit formatted (%d bytes)", n);
	json_error_t je;
	json_t *j = json_loads(buf, JSON_REJECT_DUPLICATES, &je);
	check_fields(j, "commit", "52:54:00:aa:0b:cc", "10.10.0.123", 1741100000, 1741100000, 600,
		     "a\"b\\c\n\t\x01\x7f\xc3\xa9\xef\xbf\xbd" "z", "commit, hostile hostname");
	json_decref(j);
	ok(!strstr(buf, "\n") && !strstr(buf, "\t"), "no raw control byte in the datagram");

	/* lease_time 0: ends - now, as ISC's lease-time */
	is_int(rd_event_from_lease(&e, RD_EVENT_COMMIT, l, 0, 1741100000), 0, "commit, derived lease time");
	is_int(e.lease_time, 600, "lease_time = ends - now");

	/* expiry and release: action/mac/family/ip/timestamp only */
	is_int(rd_event_from_lease(&e, RD_EVENT_EXPIRY, l, 600, 1741100001), 0, "expiry event");
	n = rd_event_format(&e, buf, sizeof(buf));
	j = json_loads(buf, 0, &je);
	check_fields(j, "expiry", "52:54:00:aa:0b:cc", "10.10.0.123", 1741100001, 1741100001, 0, NULL, "expiry");
	json_decref(j);
	is_int(rd_event_from_lease(&e, RD_EVENT_RELEASE, l, 0, 1741100002), 0, "release event");
	n = rd_event_format(&e, buf, sizeof(buf));
	j = json_loads(buf, 0, &je);
	check_fields(j, "release", "52:54:00:aa:0b:cc", "10.10.0.123", 1741100002, 1741100002, 0, NULL, "release");
	json_decref(j);
	rd_lease_free(l);

	/* blank and missing hostnames are left out */
	l = mk_lease(0x0a0a0001, 1, " \t ", 3, 0);
	rd_event_from_lease(&e, RD_EVENT_COMMIT, l, 30, 5);
	rd_event_format(&e, buf, sizeof(buf));
	j = json_loads(buf, 0, &je);
	check_fields(j, "commit", "52:54:00:aa:0b:01", "10.10.0.1", 5, 5, 30, NULL, "commit, blank hostname");
	json_decref(j);
	rd_lease_free(l);

	/* worst case: 255 control bytes, each 6 bytes escaped, fits the bound */
	char ctl[255];
	memset(ctl, 0x01, sizeof(ctl));
	l = mk_lease(0x0a0a0002, 2, ctl, sizeof(ctl), 0);
	rd_event_from_lease(&e, RD_EVENT_COMMIT, l, 30, 5);
	n = rd_event_format(&e, buf, sizeof(buf));
	ok(n > 255 * 6 && n < RD_EVENT_JSON_MAX, "255 escaped control bytes fit RD_EVENT_JSON_MAX (%d)", n);
	j = json_loads(buf, 0, &je);
	ok(j && strlen(jstr(j, "hostname")) == 255, "and decode back to 255 bytes");
	json_decref(j);
	is_int(rd_event_format(&e, buf, 100), RD_ENOSPACE, "a short buffer: RD_ENOSPACE");
	rd_lease_free(l);

	/* no hardware address: refused (MAAS keys on the MAC) */
	l = mk_lease(0x0a0a0003, 3, NULL, 0, 0);
	l->hlen = 0;
	is_int(rd_event_from_lease(&e, RD_EVENT_EXPIRY, l, 0, 5), RD_EINVAL, "no hardware address: RD_EINVAL");
	rd_lease_free(l);
}

/* ------------------------------------------------------------ delivery */

static void test_delivery(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/dhcpd.sock", dir);
	int fd = listener(path);
	rd_events_t *ev = rd_events_new(path, 16);
	ok(ev != NULL, "rd_events_new");
	if (!ev)
		bail_out("rd_events_new: %s", strerror(errno));

	static const char host[] = "node7\"x";
	rd_lease_t *l = mk_lease(0x0a0a007b, 0xcc, host, strlen(host), 0);
	long long t0 = (long long)time(NULL);
	is_int(rd_events_emit(ev, RD_EVENT_COMMIT, l, 600), 0, "emit commit");
	is_int(rd_events_emit(ev, RD_EVENT_EXPIRY, l, 0), 0, "emit expiry");
	is_int(rd_events_emit(ev, RD_EVENT_RELEASE, l, 0), 0, "emit release");
	char raw[4096];
	json_t *j = recv_json(fd, raw, sizeof(raw));
	long long t1 = (long long)time(NULL);
	check_fields(j, "commit", "52:54:00:aa:0b:cc", "10.10.0.123", t0, t1, 600, "node7\"x", "socket commit");
	json_decref(j);
	j = recv_json(fd, raw, sizeof(raw));
	check_fields(j, "expiry", "52:54:00:aa:0b:cc", "10.10.0.123", t0, t1, 0, NULL, "socket expiry");
	json_decref(j);
	j = recv_json(fd, raw, sizeof(raw));
	check_fields(j, "release", "52:54:00:aa:0b:cc", "10.10.0.123", t0, t1, 0, NULL, "socket release");
	json_decref(j);

	l->hlen = 0;
	is_int(rd_events_emit(ev, RD_EVENT_EXPIRY, l, 0), RD_EINVAL, "emit without a MAC refused");
	ok(wait_for(ev, drained), "everything sent");
	rd_events_stats_t st;
	rd_events_stats(ev, &st);
	is_int((long long)st.emitted, 3, "stats: emitted 3");
	is_int((long long)st.sent, 3, "stats: sent 3");
	is_int((long long)st.dropped_error, 1, "stats: the invalid one is a dropped_error");
	is_int((long long)st.dropped_full, 0, "stats: none dropped for space");
	ok(st.listener_up, "stats: listener up");
	rd_lease_free(l);
	rd_events_free(ev, 1000);
	close(fd);
	unlink(path);
	is_int(rd_events_emit(NULL, RD_EVENT_COMMIT, NULL, 0), 0, "events off (NULL): emit is a no-op");
}

/* The listener is missing at first: events wait, then arrive in order. */
static void test_missing_listener(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/late.sock", dir);
	rd_events_t *ev = rd_events_new(path, 64);
	if (!ev)
		bail_out("rd_events_new: %s", strerror(errno));
	for (unsigned i = 0; i < 20; i++) {
		rd_lease_t *l = mk_lease(0x0a000100 + i, (uint8_t)i, "h", 1, 0);
		rd_events_emit(ev, RD_EVENT_COMMIT, l, 100 + i);
		rd_lease_free(l);
	}
	ok(wait_for(ev, listener_down), "the sender noticed the missing listener");
	rd_events_stats_t st;
	rd_events_stats(ev, &st);
	is_int((long long)st.queued, 20, "all 20 kept queued while the listener is missing");
	is_int((long long)st.sent, 0, "none sent");
	is_int((long long)(st.dropped_full + st.dropped_error), 0, "none dropped");

	int fd = listener(path);
	char raw[4096];
	bool order = true;
	for (unsigned i = 0; i < 20; i++) {
		json_t *j = recv_json(fd, raw, sizeof(raw));
		char want[16];
		snprintf(want, sizeof(want), "10.0.1.%u", i);
		const char *ip = j ? jstr(j, "ip") : NULL;
		json_t *lt = j ? json_object_get(j, "lease_time") : NULL;
		if (!ip || strcmp(ip, want) || json_integer_value(lt) != 100 + i) {
			diag("event %u: got %s", i, j ? raw : "nothing");
			order = false;
		}
		json_decref(j);
		if (!j)
			break;
	}
	ok(order, "the listener appeared: all 20 arrived, in order");
	ok(wait_for(ev, drained), "queue drained");
	rd_events_stats(ev, &st);
	is_int((long long)st.sent, 20, "stats: sent 20");
	ok(st.listener_up, "stats: listener up again");
	rd_events_free(ev, 1000);
	close(fd);
	unlink(path);
}

/* Several producers at once (the workers and the store's writer): every
 * event arrives exactly once, each producer's in its own order. */
#define MP_THREADS 4
#define MP_EACH 3000

struct producer {
	rd_events_t *ev;
	unsigned id;
	unsigned retries;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	rd_lease_t *l = mk_lease(0x0a000200 + p->id, (uint8_t)p->id, NULL, 0, 0);
	rd_event_t e;
	for (unsigned i = 0; i < MP_EACH; i++) {
		rd_event_from_lease(&e, RD_EVENT_COMMIT, l, i + 1, 0);
		while (rd_events_push(p->ev, &e) == RD_ENOSPACE) {
			p->retries++;
			sched_yield();
		}
	}
	rd_lease_free(l);
	return NULL;
}

static void test_producers(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/mp.sock", dir);
	int fd = listener(path);
	int big = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	rd_events_t *ev = rd_events_new(path, 256);
	if (!ev)
		bail_out("rd_events_new: %s", strerror(errno));
	pthread_t th[MP_THREADS];
	struct producer pr[MP_THREADS];
	for (unsigned i = 0; i < MP_THREADS; i++) {
		pr[i] = (struct producer){ .ev = ev, .id = i };
		pthread_create(&th[i], NULL, produce, &pr[i]);
	}
	unsigned next[MP_THREADS] = { 0 };
	unsigned got = 0, bad = 0;
	char raw[4096];
	while (got < MP_THREADS * MP_EACH) {
		json_t *j = recv_json(fd, raw, sizeof(raw));
		if (!j)
			break;
		const char *ip = jstr(j, "ip");
		unsigned a, b, c, d;
		long long lt = json_integer_value(json_object_get(j, "lease_time"));
		if (!ip || sscanf(ip, "%u.%u.%u.%u", &a, &b, &c, &d) != 4 || d >= MP_THREADS ||
		    lt != (long long)next[d] + 1) {
			if (bad++ < 5)
				diag("out of order or foreign: %s", raw);
		} else {
			next[d]++;
		}
		got++;
		json_decref(j);
	}
	for (unsigned i = 0; i < MP_THREADS; i++)
		pthread_join(th[i], NULL);
	is_int(got, MP_THREADS * MP_EACH, "%d producers: every event arrived", MP_THREADS);
	is_int(bad, 0, "each producer's events in its order, none twice");
	/* The sender counts a datagram after send() returns, so the last
	 * one can be here before it is counted. */
	ok(wait_for(ev, drained), "the sender has counted everything");
	rd_events_stats_t st;
	rd_events_stats(ev, &st);
	is_int((long long)st.emitted, MP_THREADS * MP_EACH, "stats: emitted");
	is_int((long long)st.sent, MP_THREADS * MP_EACH, "stats: sent");
	diag("producers met a full queue %u times", pr[0].retries + pr[1].retries + pr[2].retries + pr[3].retries);
	rd_events_free(ev, 1000);
	close(fd);
	unlink(path);
}

/* A full queue refuses and counts; emit never blocks; free with nobody
 * listening terminates. */
static void test_full(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/nobody.sock", dir);
	rd_events_t *ev = rd_events_new(path, 64);
	if (!ev)
		bail_out("rd_events_new: %s", strerror(errno));
	rd_lease_t *l = mk_lease(0x0a000001, 1, "burst", 5, 0);
	rd_event_t e;
	rd_event_from_lease(&e, RD_EVENT_COMMIT, l, 60, 0);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	unsigned accepted = 0, refused = 0;
	for (unsigned i = 0; i < 100000; i++) {
		int r = rd_events_push(ev, &e);
		if (r == 0)
			accepted++;
		else if (r == RD_ENOSPACE)
			refused++;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	diag("100000 pushes took %.1f ms",
	     (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);
	is_int(accepted + refused, 100000, "every push returned 0 or RD_ENOSPACE");
	/* 64 in the ring, plus the one the sender holds for its retry */
	ok(accepted >= 64 && accepted <= 65, "accepted only what fits (%u)", accepted);
	rd_events_stats_t st;
	rd_events_stats(ev, &st);
	is_int((long long)st.dropped_full, refused, "stats: dropped_full counts every refusal");
	is_int((long long)st.emitted, accepted, "stats: emitted counts the accepted");
	is_int((long long)st.queued, accepted, "stats: all accepted still queued");
	rd_events_free(ev, 5000);
	ok(true, "free with no listener returned");
	rd_lease_free(l);
}

/* A listener that never reads: sends fail with EAGAIN; free gives up after
 * its flush time. */
static void test_stuck_listener(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/stuck.sock", dir);
	int fd = listener(path);
	int small = 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	rd_events_t *ev = rd_events_new(path, 1024);
	if (!ev)
		bail_out("rd_events_new: %s", strerror(errno));
	rd_lease_t *l = mk_lease(0x0a000002, 2, "stuck", 5, 0);
	for (unsigned i = 0; i < 1000; i++)
		rd_events_emit(ev, RD_EVENT_COMMIT, l, 60);
	rd_events_stats_t st;
	rd_events_stats(ev, &st);
	is_int((long long)(st.emitted + st.dropped_full), 1000, "1000 pushes accounted for");
	rd_events_free(ev, 200);
	ok(true, "free with a listener that never reads returned");
	rd_lease_free(l);
	close(fd);
	unlink(path);
}

int main(void)
{
	plan_lazy();
	rd_log_init("test_events", LOG_INFO);
	snprintf(dir, sizeof(dir), "/tmp/rd_events.XXXXXX");
	if (!mkdtemp(dir))
		bail_out("mkdtemp: %s", strerror(errno));
	test_format();
	test_delivery();
	test_missing_listener();
	test_producers();
	test_full();
	test_stuck_listener();
	char p[128];
	snprintf(p, sizeof(p), "%s/late.sock", dir);
	unlink(p);
	rmdir(dir);
	return done_testing();
}
