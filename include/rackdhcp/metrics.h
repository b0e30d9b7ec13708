/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * metrics.h — Prometheus metrics: rendering the text exposition format
 * (version 0.0.4) from the daemon's counters, pools and store, and the
 * libmicrohttpd listener that serves it on GET /metrics.
 *
 * The listener has no thread of its own: libmicrohttpd runs in external
 * polling mode with epoll, and the management thread (control.h) polls
 * rd_metrics_fd() beside the control socket and calls rd_metrics_run().
 * Every request is therefore answered on that thread, which is registered
 * with RCU, so rendering may read the configuration and the lease table.
 *
 * docs/control.md lists the metrics.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rackdhcp/daemon.h"

typedef struct rd_metrics rd_metrics_t;

/*!
 * The exposition text, malloc'd, *len its length (no NUL counted).  NULL
 * when out of memory.  Call from a thread registered with RCU, outside
 * rcu_read_lock.
 */
char *rd_metrics_render(rd_daemon_t *d, size_t *len);

/*!
 * Listen on host:port (numeric address or name; port 0 picks a free port)
 * for HTTP, without starting any thread.  0 or negative with err.
 */
int rd_metrics_start(rd_daemon_t *d, const char *host, uint16_t port, rd_metrics_t **out, char *err,
		     size_t errlen);

/*! The descriptor to poll for POLLIN (an epoll descriptor). */
int rd_metrics_fd(const rd_metrics_t *m);

/*! Milliseconds until rd_metrics_run is due anyway (connection timeouts), -1: none. */
int rd_metrics_timeout_ms(rd_metrics_t *m);

/*! Do the pending work without blocking: accept, read, answer, time out. */
void rd_metrics_run(rd_metrics_t *m);

/*! The bound port. */
uint16_t rd_metrics_port(const rd_metrics_t *m);

/*! Close the listener and every connection.  NULL is a no-op. */
void rd_metrics_stop(rd_metrics_t *m);

/*!
 * Label of a DHCP message type 0..18 for counters: "bootp", "discover",
 * "offer", ... ("unknown" beyond).  Shared by the metrics and the status
 * command so both name types alike.
 */
const char *rd_metrics_msgtype_label(unsigned type);

/*!
 * Whether a message type is shown even with a zero count: the ones a
 * server receives (rx) or sends (tx) in normal operation.
 */
bool rd_metrics_msgtype_core(unsigned type, bool tx);
