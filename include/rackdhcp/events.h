/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * events.h — MAAS lease notifications: commit (every ACK, new or renewed),
 * expiry and release, each sent as one JSON datagram to the unix datagram
 * socket that rackd (MAAS <= 3.5) or maas-agent (3.6+) listens on
 * (/var/lib/maas/dhcpd.sock), exactly as ISC dhcpd's `on commit/expiry/
 * release` hooks send them through maas-dhcp-helper (see
 * ../shared/docs/maas-integration.md §5.1), so either consumer works
 * unchanged:
 *
 *   {"action":"commit","mac":"52:54:00:aa:bb:cc","ip_family":"ipv4",
 *    "ip":"10.10.0.123","timestamp":1741100000,"lease_time":600,
 *    "hostname":"node7"}
 *   {"action":"expiry","mac":"...","ip_family":"ipv4","ip":"...","timestamp":...}
 *   {"action":"release", same fields as expiry}
 *
 * `lease_time` is sent on commit only, `hostname` on commit only and only
 * when the client sent a non-blank option 12 (the helper's rule).  The
 * timestamp is the time of the event, taken when it is queued, not when it
 * is finally delivered: after an outage of the consumer the region must
 * still see the order and age of the leases.
 *
 * Who calls what:
 *   - rd_event_from_lease() copies what an event needs out of a lease (any
 *     thread; the lease may be freed right after), and rd_events_push()
 *     queues it.  rd_events_emit() does both.  The copy is what lets a
 *     worker build the event while it holds the published lease and push it
 *     later from the store's completion, once the ACK is durable.
 *   - Pushing never blocks and never does I/O: the queue is a bounded
 *     lock-free ring; when it is full the event is counted (dropped_full)
 *     and refused.  Formatting and sending happen on the module's own
 *     sender thread, which retries while the socket is missing (rackd being
 *     restarted) and logs once per outage.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rackdhcp/lease.h"

enum rd_event_kind {
	RD_EVENT_COMMIT = 1,    /*!< an ACK, new lease or renewal: "commit" */
	RD_EVENT_EXPIRY = 2,    /*!< a lease timed out: "expiry" */
	RD_EVENT_RELEASE = 3,   /*!< DHCPRELEASE: "release" */
};

/*! Default queue length (events waiting for the consumer). */
#define RD_EVENTS_QUEUE_DEFAULT 4096

/*! Longest datagram rd_event_format can produce (a 255-byte hostname of control bytes, escaped). */
#define RD_EVENT_JSON_MAX 2048

/*!
 * One event, self-contained (no pointer into the lease table), so it can
 * wait in a store completion or in the queue while the lease is replaced.
 */
typedef struct rd_event {
	uint8_t kind;           /*!< enum rd_event_kind */
	uint8_t hlen;           /*!< bytes of mac, 1..16 */
	uint8_t host_len;       /*!< bytes of host, 0: none (commit only) */
	uint8_t mac[16];
	uint32_t ip;            /*!< host order */
	uint32_t lease_time;    /*!< seconds (commit only) */
	int64_t timestamp;      /*!< seconds since the epoch */
	char host[RD_LEASE_MAX_HOSTNAME];   /*!< option 12 bytes, raw (escaped when formatted) */
} rd_event_t;

/*!
 * Fill *e from lease l: kind, the hardware address, the address, and (for
 * COMMIT) lease_time and the hostname.  lease_time is the lease time granted
 * in the ACK (option 51; ISC's `lease-time`, that is ends - now); 0 means
 * "derive it from l->ends - now".  now is the event's timestamp (0: the
 * current time).  RD_EINVAL if e/l is NULL, kind is unknown, or the lease
 * has no hardware address (hlen 0: MAAS identifies interfaces by MAC and
 * would reject the event).
 */
int rd_event_from_lease(rd_event_t *e, enum rd_event_kind kind, const rd_lease_t *l,
			uint32_t lease_time, int64_t now);

/*!
 * The JSON text of e into buf (NUL-terminated).  Returns its length, or
 * RD_ENOSPACE if buf is shorter than needed (RD_EVENT_JSON_MAX always
 * suffices), RD_EINVAL for a bad event.  The hostname is escaped for JSON:
 * quotes, backslashes and control bytes as escapes, bytes that are not valid
 * UTF-8 as U+FFFD, so the consumer's json.loads never fails; trailing NULs
 * (some clients terminate option 12) are cut, and a blank hostname (empty or
 * only whitespace) is left out.
 */
int rd_event_format(const rd_event_t *e, char *buf, size_t cap);

typedef struct rd_events rd_events_t;

/*!
 * Start delivering to the unix datagram socket at socket_path (absolute,
 * fits sun_path; it need not exist yet).  queue_max events may wait (0: the
 * default; rounded up to a power of two).  Starts the sender thread.  NULL
 * (errno set) on a bad path or when resources are lacking.
 */
rd_events_t *rd_events_new(const char *socket_path, size_t queue_max);

/*!
 * Queue e.  Lock-free and wait-free in practice; never blocks, never does
 * I/O (at most one eventfd write, when the sender sleeps idle).  0, or
 * RD_ENOSPACE when the queue is full (counted in dropped_full), RD_EINVAL
 * for NULL arguments.  Safe from any thread.
 */
int rd_events_push(rd_events_t *ev, const rd_event_t *e);

/*!
 * rd_event_from_lease + rd_events_push, for callers that hold the lease at
 * the moment the event is due.  An invalid lease (no hardware address) is
 * counted in dropped_error.  ev NULL: nothing (events are off).
 */
int rd_events_emit(rd_events_t *ev, enum rd_event_kind kind, const rd_lease_t *l, uint32_t lease_time);

typedef struct {
	uint64_t emitted;        /*!< accepted onto the queue */
	uint64_t sent;           /*!< delivered to the socket */
	uint64_t dropped_full;   /*!< refused: the queue was full */
	uint64_t dropped_error;  /*!< not sendable: invalid, too large, or a send error other than "no listener"/"busy" */
	uint64_t queued;         /*!< waiting now (emitted - sent - dropped after acceptance) */
	bool listener_up;        /*!< the last send attempt reached a listener (true before any) */
} rd_events_stats_t;

/*! A snapshot of the counters (any thread).  ev NULL: all zero. */
void rd_events_stats(const rd_events_t *ev, rd_events_stats_t *out);

/*!
 * Stop: deliver what is queued for at most flush_ms milliseconds (stopping
 * at once when no listener is there), log how many were left undelivered,
 * join the sender and free.  NULL: nothing.
 */
void rd_events_free(rd_events_t *ev, unsigned flush_ms);
