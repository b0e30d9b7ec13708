/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * worker.h — packet workers: one thread each, reading their sockets with
 * epoll and running every request through the packet path:
 *
 *   frame/datagram -> codec -> rate limits -> engine (under rcu_read_lock)
 *   -> publish the lease version in the table -> build the reply
 *   -> lease change to the store -> send (from the store's completion when
 *      durability is sync and the lease changed, at once otherwise).
 *
 * The links a worker may serve (interfaces, their MAC and addresses) are an
 * RCU-published snapshot the main thread replaces when netlink reports a
 * change; the configuration is the RCU-published rd_config_current().
 *
 * rd_worker_handle() is the whole path for one received message without any
 * socket, so the fuzz target and tests drive exactly what the daemon runs.
 */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rackdhcp/daemon.h"
#include "rackdhcp/rcu.h"

typedef struct rd_worker rd_worker_t;

#define RD_LINK_MAX_ADDRS 16

/*! One interface as the packet path sees it. */
typedef struct rd_link {
	int ifindex;
	char name[IFNAMSIZ];
	uint8_t mac[6];
	bool served;                      /*!< raw sockets are open on it */
	int tx_fd;                        /*!< one of them, to send frames with (-1: none) */
	unsigned n_addrs;
	uint32_t addr[RD_LINK_MAX_ADDRS]; /*!< host order */
	uint32_t mask[RD_LINK_MAX_ADDRS];
} rd_link_t;

typedef struct rd_links {
	struct rcu_head rcu;
	size_t n;
	rd_link_t l[];
} rd_links_t;

/*! Replace the published links (the old set is freed after a grace period).  Main thread. */
void rd_links_publish(rd_links_t *links);

/*! The link with that ifindex, inside rcu_read_lock; NULL if unknown. */
const rd_link_t *rd_links_find(int ifindex);

/*! A socket read by a worker. */
typedef struct rd_sock {
	int fd;
	bool raw;                 /*!< AF_PACKET (else the UDP socket) */
	int ifindex;              /*!< raw: the interface it is bound to */
	char ifname[IFNAMSIZ];
	rd_worker_t *worker;
} rd_sock_t;

/*! One received message, as the packet path takes it. */
typedef struct rd_rx {
	const uint8_t *data;      /*!< raw: the Ethernet frame; UDP: the payload */
	size_t len;
	bool truncated;           /*!< longer than the receive buffer */
	bool raw;
	bool csum_unverified;     /*!< raw: the kernel says the UDP checksum is not filled in yet */
	int ifindex;              /*!< receiving interface */
	uint32_t src;             /*!< UDP: source address and port */
	uint16_t sport;
	uint32_t dst;             /*!< UDP: the local address it was sent to (IP_PKTINFO) */
	rd_sock_t *sock;          /*!< where it came from (NULL: no socket, replies are only counted) */
} rd_rx_t;

/*!
 * A worker without a thread (id: its counter slot).  udp_fd < 0: replies
 * the path decides to send through the UDP socket are only counted.
 */
rd_worker_t *rd_worker_new(rd_daemon_t *d, unsigned id, int udp_fd);

/*! Start its thread (it registers with RCU).  0 or negative errno. */
int rd_worker_start(rd_worker_t *w);

/*! Add or remove a socket of its epoll set.  0 or negative errno. */
int rd_worker_add_sock(rd_worker_t *w, rd_sock_t *s);
int rd_worker_del_sock(rd_worker_t *w, rd_sock_t *s);

/*! Ask the thread to stop and join it (a worker never started is just freed). */
void rd_worker_free(rd_worker_t *w);

/*! The UDP socket of this worker (or -1). */
int rd_worker_udp_fd(const rd_worker_t *w);

/*!
 * Run one received message through the packet path at time now (seconds
 * since the epoch) and now_ms (monotonic ms, for the rate limits).  The
 * caller must be registered with RCU and NOT inside a read-side section.
 */
void rd_worker_handle(rd_worker_t *w, const rd_rx_t *rx, uint32_t now, uint64_t now_ms);
