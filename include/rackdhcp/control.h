/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * control.h — the management thread: the control socket that rackdhcpctl
 * talks to, and the Prometheus metrics listener.
 *
 * Control protocol (docs/control.md is the reference): a unix stream socket;
 * the client sends one JSON object per line, {"command": "...", ...arguments},
 * and reads one JSON object per line back, in order: {"ok": true, "result":
 * ...} or {"ok": false, "error": "text"}.  Commands: status, leases,
 * lease-show, lease-release, lease-delete, reload, backup.  A bad request
 * (not JSON, unknown command or argument, wrong type, longer than
 * RD_CONTROL_MAX_LINE) is answered with an error and the connection stays
 * usable.  The socket is created 0660 (root and the daemon's group) in a
 * directory created 0750 when missing.
 *
 * Metrics: Prometheus text exposition format 0.0.4 on GET /metrics at
 * server.metrics (host:port), served by libmicrohttpd without threads of its
 * own: the management thread polls it beside the control socket.  Nothing
 * is served when server.metrics is unset.
 *
 * Threading: one management thread, registered with RCU, runs every request
 * to completion, one at a time (a lease-release waits for its fsync; the
 * other clients wait meanwhile, which is fine for an operator interface and
 * keeps the commands simple).  Clients are non-blocking, bounded in number,
 * in request length and in idle time.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "rackdhcp/config.h"
#include "rackdhcp/daemon.h"

/*! Longest request line, newline excluded. */
#define RD_CONTROL_MAX_LINE (64u * 1024)
/*! Default bound on simultaneous control clients (one more is told so and closed). */
#define RD_CONTROL_MAX_CLIENTS 16
/*! Default idle time after which a control client is disconnected. */
#define RD_CONTROL_IDLE_MS 60000
/*! leases: default and largest "limit". */
#define RD_CONTROL_LEASES_DEFAULT 1000
#define RD_CONTROL_LEASES_MAX 100000

/*! Who sent a request, and what it may do. */
typedef struct rd_control_caller {
	const char *who;    /*!< for log lines of changes, e.g. "uid 0 pid 42" (NULL: "unknown") */
	/*!
	 * Refuse backup and reload: they reach beyond the lease table and
	 * store (files anywhere, the configuration).  For the fuzz target.
	 */
	bool sandbox;
} rd_control_caller_t;

/*!
 * Bind the control socket (a stale socket file is replaced; a live one,
 * i.e. another rackdhcpd answering on it, is refused, as is a path that is
 * not a socket) and, when cfg->server.metrics is set, the metrics listener,
 * then start the management thread.  cfg is only read during the call (it
 * may be rd_config_current() inside rcu_read_lock: nothing here waits for a
 * grace period).  0 or negative with err.
 */
int rd_control_start(rd_daemon_t *d, const rd_config_t *cfg, rd_control_t **out, char *err, size_t errlen);

/*!
 * Stop the thread, close the listeners and clients, remove the socket file.
 * A command in progress is finished first, so call this outside
 * rcu_read_lock (a reload in progress waits for a grace period) and before
 * the store closes (a lease-release may be waiting for its fsync).  NULL is
 * a no-op.
 */
void rd_control_stop(rd_control_t *c);

/*!
 * Change the client bounds of a running control thread (tests; 0 keeps a
 * value).  Takes effect at the thread's next wake-up.
 */
void rd_control_set_limits(rd_control_t *c, unsigned max_clients, unsigned idle_ms);

/*! The TCP port the metrics listener is bound to (0: none). */
unsigned rd_control_metrics_port(const rd_control_t *c);

/*!
 * Handle one request line (without its newline; need not be NUL-terminated)
 * and return the reply line: one JSON object, no newline, malloc'd (free
 * it).  NULL only when out of memory.  Never fails otherwise: every bad
 * request gets {"ok": false, "error": ...}.  Runs the command, so it must be
 * called from a thread registered with RCU, outside rcu_read_lock; caller
 * may be NULL.  Used by the management thread, the tests and the fuzz target.
 */
char *rd_control_handle(rd_daemon_t *d, const char *line, size_t len, const rd_control_caller_t *caller);
