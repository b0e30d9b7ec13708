/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fo_link.h — one failover relationship's TCP link to its peer (ISC dhcpd
 * 4.4 or another rackdhcpd): connections, framing, the CONNECT/CONNECTACK
 * handshake and the keepalive.  It reports events to its owner and carries
 * the owner's messages; it never decides a failover state (that is
 * fo_state.h's job) and never touches leases.
 *
 * Connection rules, as ISC 4.4 plays them (../shared/docs/failover-protocol.md
 * §1.1, §3.2; failover.c in 4.4.3):
 *
 *  - Both roles listen on address:port and both connect from address (the
 *    source ISC checks) to peer_address:peer_port.  The listener accepts only
 *    the peer's address; anything else is logged and closed at once.
 *  - On every TCP connection, whichever way it went, the primary sends
 *    CONNECT; the secondary never does, it waits for one and answers
 *    CONNECTACK (with a reject-reason when it refuses).  Whichever
 *    connection completes the handshake first is THE link.
 *  - A second handshake while the link is up is refused: a secondary answers
 *    its CONNECT with CONNECTACK reject 7 ("already connected"), a primary
 *    answers its CONNECTACK with DISCONNECT reason 7; the extra connection is
 *    closed and the established link is left alone.  (ISC does the same, so
 *    two servers that connect to each other at once end up with one link.)
 *  - A secondary refuses CONNECT, in ISC's order: no or wrong relationship
 *    name (8), |peer clock - ours| > 60 s (4), HBA not 32 bytes (18), link
 *    already up (7), no MCLT (5), no max-unacked / receive-timer (6), a
 *    protocol version other than 1 (14).  A primary that gets a CONNECT
 *    refuses it too (8, "both servers are primary"): ISC does not check
 *    roles, we do.  A primary refuses a CONNECTACK (DISCONNECT with the
 *    reason) for a missing or wrong name (8), a link already up (7), skew
 *    (4), missing timers (6).
 *  - 15 s after TCP is up without a finished handshake the connection is
 *    closed (ISC's link-startup timeout); two secondaries meet that way.
 *  - Outgoing connects start at once, and while there is neither a link nor
 *    an outgoing attempt in progress they are retried with a back-off of 1 s
 *    doubling to 30 s, reset by a successful handshake.
 *  - Once up: CONTACT is sent after (peer's receive-timer / 3) seconds in
 *    which we sent nothing; the link is dropped after max_response_delay
 *    seconds in which the peer sent nothing (with DISCONNECT 17 as a
 *    courtesy; ISC just closes), or when our output has not moved for as
 *    long (the peer stopped reading).
 *  - A frame ISC would drop the link for (rd_fo_frame_len / rd_fo_decode
 *    refuse it) ends the connection: logged, DISCONNECT (reason 254 with the
 *    codec's reason as the message), closed, reconnected later.  A
 *    well-framed message that lacks what its type needs (rd_fo_msg_check) is
 *    logged and dropped, except a BNDUPD, which the link refuses itself with
 *    a BNDACK carrying the reject reason, as ISC does.
 *
 * Threading and driving: not thread-safe; one thread (the daemon's failover
 * thread) owns a link and drives it from its poll loop:
 *
 *     n = rd_fo_link_poll_events(link, pfd, RD_FO_LINK_MAX_FDS);
 *     poll(pfd, n, rd_fo_link_next_timeout_ms(link, now));
 *     rd_fo_link_process(link, now);
 *
 * Several links share one loop by concatenating their pollfds.  process()
 * finds ready descriptors itself (a zero-timeout poll), so calling it with
 * nothing ready is cheap and harmless.  `now_ms` is a monotonic clock in
 * milliseconds (rd_fo_link_now_ms()); every timer runs on it, so a test can
 * pass a fake one.  Message headers and the ±60 s check use the wall clock
 * from conf.wall_clock (default time()).
 *
 * Callbacks run inside rd_fo_link_process() (and inside rd_fo_link_close()
 * for on_down).  They may call rd_fo_link_send() and rd_fo_link_close(),
 * never rd_fo_link_free().
 */
#pragma once

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "rackdhcp/config.h"
#include "rackdhcp/error.h"
#include "rackdhcp/fo_msg.h"

/*! Connections one link juggles: the link, one outgoing attempt, a few inbound handshakes. */
#define RD_FO_LINK_MAX_CONNS        6
/*! pollfds rd_fo_link_poll_events() may fill: the listener plus every connection. */
#define RD_FO_LINK_MAX_FDS          (1 + RD_FO_LINK_MAX_CONNS)
#define RD_FO_LINK_STARTUP_MS       15000u      /*!< ISC's link-startup timeout */
#define RD_FO_LINK_MAX_SKEW         60          /*!< seconds, ISC's CONNECT/CONNECTACK limit */
#define RD_FO_LINK_BACKOFF_MIN_MS   1000u
#define RD_FO_LINK_BACKOFF_MAX_MS   30000u
#define RD_FO_LINK_OUT_MAX          (256u << 10) /*!< default output queue of the link, bytes */

/*! rd_fo_link_send() on a link that is not up (errno's twin, like the RD_E* codes). */
#define RD_FO_LINK_ENOTCONN         (-ENOTCONN)

typedef struct rd_fo_link rd_fo_link_t;

/*! What one relationship's link needs to know.  rd_fo_link_conf_from_cfg() fills it from the YAML. */
typedef struct {
	const char *name;               /*!< relationship name, sent and matched exactly (copied) */
	enum rd_cfg_role role;
	uint32_t address;               /*!< ours, host order: listen address and connect source */
	uint16_t port;                  /*!< our listen port; 0 = the kernel picks (tests) */
	uint32_t peer_address;          /*!< host order; also the only source accepted */
	uint16_t peer_port;
	uint32_t mclt;                  /*!< primary: sent in CONNECT */
	uint8_t hba[RD_FO_HBA_LEN];     /*!< primary: sent in CONNECT (ISC bit order, set = primary) */
	uint32_t max_response_delay;    /*!< seconds >= 1: our receive timer, advertised and enforced */
	uint32_t max_unacked;           /*!< >= 1: BNDUPDs the peer may have unacked towards us */

	/* Tuning and test hooks; 0 / NULL = the default. */
	uint32_t backoff_min_ms;        /*!< first reconnect delay (RD_FO_LINK_BACKOFF_MIN_MS) */
	uint32_t backoff_max_ms;        /*!< longest reconnect delay (RD_FO_LINK_BACKOFF_MAX_MS) */
	size_t out_max;                 /*!< output queue bytes of the established link (RD_FO_LINK_OUT_MAX) */
	/*! Unix seconds for message headers and the skew check (default: time()). */
	time_t (*wall_clock)(void *ctx);
	void *wall_clock_ctx;
} rd_fo_link_conf_t;

/*! What the peer told us in the handshake, for on_up and rd_fo_link_peer(). */
typedef struct {
	const char *name;               /*!< the relationship name (equal to ours) */
	uint32_t addr;                  /*!< peer's address, host order */
	uint16_t port;                  /*!< peer's port on this connection */
	bool inbound;                   /*!< the peer connected to us */
	uint32_t mclt;                  /*!< from CONNECT (we are secondary) or ours (primary) */
	bool has_hba;
	uint8_t hba[RD_FO_HBA_LEN];     /*!< the primary's bitmap (from CONNECT, or ours) */
	uint32_t max_unacked;           /*!< BNDUPDs we may have unacked towards the peer */
	uint32_t receive_timer;         /*!< peer's receive timer, s: we send CONTACT every third */
	char vendor_class[64];          /*!< "isc-4.4.3-P1"; "" when absent (printable, cut) */
	int32_t clock_skew;             /*!< peer's header time - ours at the handshake, s */
} rd_fo_link_peer_t;

/*! Why an established link went down (on_down). */
enum rd_fo_link_down {
	RD_FO_DOWN_CLOSED = 1,          /*!< the peer closed the TCP connection */
	RD_FO_DOWN_TIMEOUT,             /*!< nothing from the peer for max_response_delay (or it stopped reading) */
	RD_FO_DOWN_PROTOCOL,            /*!< the peer sent a frame ISC would drop the link for */
	RD_FO_DOWN_DISCONNECT,          /*!< the peer sent DISCONNECT */
	RD_FO_DOWN_IO,                  /*!< a socket error */
	RD_FO_DOWN_LOCAL,               /*!< rd_fo_link_close() */
};

/*! The owner's side.  Every callback may be NULL; ctx is passed back. */
typedef struct {
	/*! The handshake completed: THE link is up.  A secondary's CONNECTACK
	 *  is already queued, so a STATE sent from here follows it. */
	void (*on_up)(void *ctx, rd_fo_link_t *link, const rd_fo_link_peer_t *peer);
	/*! A message from the peer after the handshake that passed
	 *  rd_fo_msg_check(): STATE, BNDUPD, BNDACK, UPDREQ, UPDREQALL,
	 *  UPDDONE, POOLREQ, POOLRESP, DISCONNECT (followed by on_down).
	 *  CONTACT, CONNECT and CONNECTACK stay inside the link. */
	void (*on_message)(void *ctx, rd_fo_link_t *link, const rd_fo_msg_t *msg);
	/*! The established link is gone (enum rd_fo_link_down, and the logged reason). */
	void (*on_down)(void *ctx, rd_fo_link_t *link, int reason, const char *why);
	/*! A handshake was refused (reject_reason, enum rd_fo_reject), by_peer
	 *  = the peer refused us, else we refused the peer.  For status only:
	 *  the link retries by itself. */
	void (*on_refused)(void *ctx, rd_fo_link_t *link, bool by_peer, unsigned reject_reason,
			   const char *why);
	/*! After rd_fo_link_send() returned RD_ENOSPACE: the queue has room again (half empty). */
	void (*on_drain)(void *ctx, rd_fo_link_t *link);
	void *ctx;
} rd_fo_link_ops_t;

/*! Counters, since rd_fo_link_new(). */
typedef struct {
	uint64_t connects;              /*!< outgoing connects started */
	uint64_t connect_failures;      /*!< ... that failed before TCP was up */
	uint64_t accepted;              /*!< inbound connections from the peer's address */
	uint64_t foreign;               /*!< inbound connections from another address, closed */
	uint64_t ups, downs;            /*!< handshakes completed, established links lost */
	uint64_t refused_local;         /*!< handshakes we refused */
	uint64_t refused_peer;          /*!< handshakes the peer refused */
	uint64_t protocol_errors;       /*!< frames / messages we dropped a connection or a message for */
	uint64_t msgs_in, msgs_out;     /*!< every message, handshake and keepalive included */
	uint64_t contacts_in, contacts_out;
	uint64_t bytes_in, bytes_out;
} rd_fo_link_stats_t;

/*! Monotonic milliseconds (CLOCK_MONOTONIC), the clock rd_fo_link_process() expects. */
uint64_t rd_fo_link_now_ms(void);

/*! A link configuration from a failover peer of the YAML configuration. */
void rd_fo_link_conf_from_cfg(rd_fo_link_conf_t *conf, const rd_cfg_failover_t *cfg);

/*!
 * Create a link and open its listener (bound with IP_FREEBIND, so our
 * address may appear later).  The first outgoing connect happens in the
 * first rd_fo_link_process().
 * \retval 0 with *out set; RD_EINVAL for an unusable conf (no name, role,
 *         zero timers), RD_ENOMEM, or the listener's negative errno
 *         (logged), e.g. -EADDRINUSE.
 */
int rd_fo_link_new(const rd_fo_link_conf_t *conf, const rd_fo_link_ops_t *ops, rd_fo_link_t **out);

/*! Close everything (without DISCONNECT or callbacks) and free.  NULL is fine. */
void rd_fo_link_free(rd_fo_link_t *link);

/*!
 * Fill pfd with the link's descriptors and the events it waits for.
 * \retval the number filled (at most min(cap, RD_FO_LINK_MAX_FDS)).
 */
size_t rd_fo_link_poll_events(const rd_fo_link_t *link, struct pollfd *pfd, size_t cap);

/*!
 * Milliseconds until the link's next timer (reconnect, handshake timeout,
 * keepalive, receive timer) at now_ms, 0 if one is due, -1 if none — a poll
 * timeout as is.
 */
int rd_fo_link_next_timeout_ms(const rd_fo_link_t *link, uint64_t now_ms);

/*!
 * Do everything that is due at now_ms: accept, connect, read and handle
 * messages (callbacks), write, run the timers.
 * \retval 0; problems with the peer are logged and handled, never returned.
 */
int rd_fo_link_process(rd_fo_link_t *link, uint64_t now_ms);

/*!
 * Queue a message on the established link.  Requests (STATE, BNDUPD,
 * UPDREQ, UPDREQALL, POOLREQ, CONTACT, DISCONNECT) get the link's next xid
 * (never 0 for BNDUPD), written back to msg->xid; replies (BNDACK, UPDDONE,
 * POOLRESP) keep the caller's (the request's).  msg->time is set to the wall
 * clock.  The bytes leave in a later rd_fo_link_process().
 * \retval 0; RD_FO_LINK_ENOTCONN when the link is not up; RD_ENOSPACE when
 *         the output queue is full (nothing queued: retry after on_drain);
 *         RD_EINVAL for CONNECT/CONNECTACK (the link's own) or a message the
 *         codec refuses.
 */
int rd_fo_link_send(rd_fo_link_t *link, rd_fo_msg_t *msg);

/*!
 * Drop the established link (on_down with RD_FO_DOWN_LOCAL) and any
 * handshake in progress; reconnect after the back-off.  With reject_reason
 * non-zero the established link first gets a DISCONNECT with that reason and
 * `why` as its message.
 */
void rd_fo_link_close(rd_fo_link_t *link, unsigned reject_reason, const char *why);

/*! Change where we connect to and whom we accept (reload); an established link stays. */
void rd_fo_link_set_peer(rd_fo_link_t *link, uint32_t peer_address, uint16_t peer_port);

bool rd_fo_link_is_up(const rd_fo_link_t *link);
/*! The peer's handshake data while up, else NULL. */
const rd_fo_link_peer_t *rd_fo_link_peer(const rd_fo_link_t *link);
/*! Bytes waiting in the established link's output queue (0 when down). */
size_t rd_fo_link_queued(const rd_fo_link_t *link);
/*! Our listen port (the kernel's choice when conf.port was 0). */
uint16_t rd_fo_link_local_port(const rd_fo_link_t *link);
const char *rd_fo_link_name(const rd_fo_link_t *link);
const rd_fo_link_stats_t *rd_fo_link_stats(const rd_fo_link_t *link);

/*! Static name of an enum rd_fo_link_down value ("peer closed", ...). */
const char *rd_fo_link_down_name(int reason);
