/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * daemon.h — the running server: what its threads share.
 *
 * Threads (docs/architecture.md has the picture):
 *  - main: start-up, signals (signalfd), the netlink monitor (netmon.h),
 *    lease expiry once a second, reload, shutdown;
 *  - N packet workers (worker.c): each owns one AF_PACKET socket per served
 *    interface (one PACKET_FANOUT group per interface spreads the flows) and
 *    one SO_REUSEPORT UDP socket on port 67; parse, rate-limit, run the
 *    engine, publish, hand the lease to the store, send;
 *  - the store's writer thread (store.h): group commit; its completions
 *    send the replies that waited for durability;
 *  - the management thread (control.h): the control socket and the
 *    Prometheus listener.
 *
 * Every thread that reads the configuration or the lease table is
 * registered with RCU.
 */
#pragma once

#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "rackdhcp/config.h"
#include "rackdhcp/store.h"
#include "rackdhcp/table.h"

typedef struct rd_ratelimit rd_ratelimit_t;
typedef struct rd_netmon rd_netmon_t;
typedef struct rd_control rd_control_t;
typedef struct rd_io rd_io_t;
typedef struct rd_fo_peers rd_fo_peers_t;
typedef struct rd_regionsync rd_regionsync_t;

/*! Why a received frame got no answer (counted, and logged at debug). */
enum rd_drop {
	RD_DROP_FRAME = 0,      /*!< not a valid Ethernet/IPv4/UDP frame (checksum, truncation, fragment) */
	RD_DROP_PARSE,          /*!< the DHCP codec refused the payload */
	RD_DROP_NOT_REQUEST,    /*!< a BOOTREPLY, or a message type servers do not take */
	RD_DROP_NO_LINK,        /*!< no served subnet on the receiving link / relay's subnet unknown */
	RD_DROP_RATE_CLIENT,    /*!< per-client rate limit */
	RD_DROP_RATE_GLOBAL,    /*!< global rate limit */
	RD_DROP_RATE_NEW,       /*!< limit on clients the server has no lease for */
	RD_DROP_ENGINE,         /*!< the engine decided on silence (not ours, wrong server id, ...) */
	RD_DROP_STORE,          /*!< the lease could not be made durable (queue full, I/O error) */
	RD_DROP_SEND,           /*!< building or sending the reply failed */
	RD_DROP_INTERNAL,       /*!< out of memory, lost race twice */
	RD_DROP_KERNEL,         /*!< the kernel's socket queue overflowed: never read (counted from socket stats) */
	RD_DROP__MAX
};

/*! DHCP message types 0..18 (0: BOOTP, no option 53). */
#define RD_CTR_MSGTYPES 19

/*!
 * Counters of one worker (or their sum).  Written by one worker with
 * relaxed atomic adds, read by anyone with relaxed loads.
 */
typedef struct rd_counters {
	uint64_t rx[RD_CTR_MSGTYPES];     /*!< requests received, by message type */
	uint64_t tx[RD_CTR_MSGTYPES];     /*!< replies sent, by message type */
	uint64_t drop[RD_DROP__MAX];
	uint64_t frames;                  /*!< frames/datagrams read */
	uint64_t acks_waited;             /*!< replies that waited for the store */
	uint64_t ack_wait_us;             /*!< total time they waited */
} __attribute__((aligned(64))) rd_counters_t;

static inline void rd_ctr_add(uint64_t *c, uint64_t v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

/*! One interface the daemon serves (or saw), as the management thread reports it. */
typedef struct rd_daemon_iface {
	char name[IFNAMSIZ];
	int ifindex;
	bool up;
	bool served;                /*!< has sockets and at least one address in a served subnet */
	uint32_t addrs[8];          /*!< its IPv4 addresses, host order */
	uint8_t prefix[8];
	unsigned n_addrs;
} rd_daemon_iface_t;

typedef struct rd_daemon {
	const char *config_path;
	time_t started;                 /*!< wall clock at start */
	rd_table_t *table;
	rd_store_t *store;
	rd_ratelimit_t *ratelimit;
	rd_io_t *io;
	rd_netmon_t *netmon;
	rd_control_t *control;
	/*! The failover peers (fo_peer.h); NULL when the configuration has none. */
	rd_fo_peers_t *failover;
	/*! MAAS lease notifications (events.h); NULL when server.lease_events_socket is unset. */
	struct rd_events *events;
	/*! The region sync (regionsync.h); NULL when the configuration has no region section. */
	rd_regionsync_t *region;
	unsigned n_workers;
	rd_counters_t *counters;        /*!< n_workers + 1 (the last one: main/writer threads) */
	atomic_bool stopping;
	pthread_mutex_t reload_lock;    /*!< serialises reloads (SIGHUP and the control socket) */
	/* interfaces, as last seen by netmon (guarded by ifaces_lock) */
	pthread_mutex_t ifaces_lock;
	rd_daemon_iface_t *ifaces;
	size_t n_ifaces;
} rd_daemon_t;

/*! Sum every worker's counters into *out. */
void rd_daemon_counters(const rd_daemon_t *d, rd_counters_t *out);

/*!
 * Load the configuration file again and, if it is valid, publish it and
 * apply what can change live (interfaces, subnets, pools, log level);
 * settings that need a restart are logged.  A broken file changes nothing.
 * With region sync the file is combined with the region's view in force
 * (rd_region_compose) and the region is polled at once.
 * Thread-safe (serialised); the caller must be registered with RCU and not
 * inside a read-side section.  0, or negative with err filled.
 */
int rd_daemon_reload(rd_daemon_t *d, char *err, size_t errlen);

/*!
 * Make cfg the configuration in force through the same steps as a reload
 * (pools registered, what needs a restart logged, published, links
 * re-evaluated).  The caller holds d->reload_lock and is registered with
 * RCU, outside a read-side section.  cfg is consumed.  origin names the
 * source in the log ("region view", or the file name).  0, or negative
 * with err filled (nothing changed).
 */
int rd_daemon_apply(rd_daemon_t *d, rd_config_t *cfg, const char *origin, char *err, size_t errlen);

/*! Copy of the interface list (malloc'd, caller frees); *n its length. */
rd_daemon_iface_t *rd_daemon_ifaces(rd_daemon_t *d, size_t *n);

/*! Name of a drop reason ("rate_client"), for logs and metrics labels. */
const char *rd_drop_name(enum rd_drop r);

/*! Run the server from a config file until SIGTERM/SIGINT; returns the exit status. */
int rd_daemon_main(const char *config_path, bool foreground, const char *pidfile_override);
