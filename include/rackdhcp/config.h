/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * config.h — the YAML configuration: its in-memory form, the parser that
 * validates a file completely before anything uses it, the lookups the
 * engine needs on its hot path, and the RCU publication of the snapshot in
 * force.  docs/config.md is the reference for every key, default and rule.
 *
 * A parsed rd_config_t is IMMUTABLE.  Every object of one configuration
 * (structs, arrays, strings) lives in one arena owned by the rd_config_t, so
 * rd_config_free() is a handful of free() calls and pointers between objects
 * (pool -> failover peer, reservation -> subnet) stay valid for the life of
 * the snapshot.
 *
 * Threading: rd_config_parse/load/free touch no global state and may run on
 * any thread.  Readers (packet workers) call rd_config_current() inside
 * rcu_read_lock() and may use the snapshot, and every pointer reached from
 * it, until rcu_read_unlock(); they never take a lock.  rd_config_publish()
 * is for the one thread that (re)loads the configuration.
 *
 * Addresses are uint32_t in host byte order.  Every object records the
 * 1-based line and column of its YAML node so later messages (a failover
 * peer refusing us, a pool running dry) can point at the file.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rackdhcp/ratelimit.h"

typedef struct rd_config rd_config_t;
typedef struct rd_cfg_failover rd_cfg_failover_t;
typedef struct rd_cfg_subnet rd_cfg_subnet_t;

/*! Defaults (docs/config.md); the MAAS values where MAAS sets one. */
#define RD_CFG_DEFAULT_STATE_DIR         "/var/lib/rackdhcpd"
#define RD_CFG_DEFAULT_CONTROL_SOCKET    "/run/rackdhcpd/control.sock"
#define RD_CFG_DEFAULT_PIDFILE           "/run/rackdhcpd.pid"
#define RD_CFG_DEFAULT_WORKERS           2
#define RD_CFG_MAX_WORKERS               256
#define RD_CFG_DEFAULT_LEASE_TIME        600
#define RD_CFG_DEFAULT_PXE_LEASE_TIME    30
#define RD_CFG_DEFAULT_DECLINE_HOLD_TIME 86400
#define RD_CFG_DEFAULT_BOOT_HTTP_PORT    5248
#define RD_CFG_DEFAULT_FAILOVER_PORT     647
#define RD_CFG_DEFAULT_MCLT              3600
#define RD_CFG_DEFAULT_MAX_RESPONSE_DELAY 60
#define RD_CFG_DEFAULT_MAX_UNACKED       10
#define RD_CFG_DEFAULT_LB_MAX_SECONDS    3
#define RD_CFG_DEFAULT_POLL_INTERVAL     30
#define RD_CFG_DEFAULT_REGION_CONNECT_TIMEOUT 5    /*!< seconds */
#define RD_CFG_DEFAULT_REGION_TIMEOUT    30        /*!< seconds, a whole request */
/*!
 * server.rate_limit defaults, requests per second and bucket sizes.  PXE
 * firmware and DHCP clients retransmit every few seconds, so 10/s per client
 * only ever stops a client gone wrong or a forged flood; the new-clients
 * limit bounds how fast a random-MAC flood can take addresses while letting
 * several racks of machines power on at once.  An omitted burst is 2 * rate.
 */
#define RD_CFG_DEFAULT_RL_CLIENT_RATE    10
#define RD_CFG_DEFAULT_RL_CLIENT_BURST   20
#define RD_CFG_DEFAULT_RL_GLOBAL_RATE    0      /*!< unlimited */
#define RD_CFG_DEFAULT_RL_GLOBAL_BURST   0
#define RD_CFG_DEFAULT_RL_NEW_RATE       1000
#define RD_CFG_DEFAULT_RL_NEW_BURST      2000
#define RD_CFG_MAX_RATE                  10000000u
/*! Largest file rd_config_load reads (a rack with many thousand hosts is < 2 MiB). */
#define RD_CFG_MAX_FILE_SIZE             (16u << 20)

enum rd_cfg_durability {
	RD_DURABILITY_SYNC = 0,     /*!< a reply leaves only after its lease is fsynced (default) */
	RD_DURABILITY_RELAXED,      /*!< reply first, commit within the group-commit window */
};

enum rd_cfg_log_level {
	RD_LOG_ERROR = 0,
	RD_LOG_WARNING,
	RD_LOG_INFO,                /*!< default */
	RD_LOG_DEBUG,
};

enum rd_cfg_role {
	RD_FO_PRIMARY = 0,
	RD_FO_SECONDARY,
};

typedef struct {
	unsigned line, col;         /*!< of the `server` mapping (0: section absent) */
	char **interfaces;          /*!< names (< IFNAMSIZ); none: every interface with an address in a served subnet */
	size_t n_interfaces;
	char *state_dir;            /*!< absolute; leases.db lives here */
	char *control_socket;       /*!< absolute, fits sockaddr_un.sun_path */
	char *pidfile;              /*!< absolute */
	unsigned workers;           /*!< 1..RD_CFG_MAX_WORKERS */
	enum rd_cfg_durability durability;
	enum rd_cfg_log_level log_level;
	char *user;                 /*!< drop privileges to this user; NULL: keep the starting user */
	char *metrics;              /*!< "host:port" as written; NULL: no metrics listener */
	char *metrics_host;         /*!< host part, IPv6 brackets removed */
	uint16_t metrics_port;
	/*!
	 * MAAS lease notifications (events.h): the unix datagram socket rackd or
	 * maas-agent listens on (/var/lib/maas/dhcpd.sock); absolute, fits
	 * sun_path.  NULL: no events.
	 */
	char *lease_events_socket;
	/*!
	 * Request rate limits (rate 0: off; burst >= 1 whenever rate > 0),
	 * ready for rd_ratelimit_new / rd_ratelimit_set.
	 */
	rd_ratelimit_cfg_t rate_limit;
} rd_cfg_server_t;

struct rd_cfg_failover {
	unsigned line, col;         /*!< of this peer's mapping */
	char *name;                 /*!< what pools' failover_peer refer to */
	enum rd_cfg_role role;
	uint32_t address;           /*!< our end */
	uint16_t port;
	uint32_t peer_address;
	uint16_t peer_port;
	uint32_t mclt;              /*!< seconds, >= 1 */
	bool has_split;             /*!< `split` given (else `hba`, or neither on a secondary) */
	bool has_hba;               /*!< hba[] holds a bitmap (from split or hba) */
	uint16_t split;             /*!< 0..256, valid if has_split */
	/*!
	 * RFC 3074 load-balancing bitmap, ISC bit order: bucket i is byte i/8,
	 * bit (i%8) counted from the LSB; set = the primary answers.  All zero
	 * when has_hba is false (a secondary learns it from the primary).
	 */
	uint8_t hba[32];
	uint32_t max_response_delay;        /*!< seconds */
	uint32_t max_unacked_updates;
	uint32_t load_balance_max_seconds;  /*!< clients with secs > this skip load balancing (ISC: strictly greater); 0: no load balancing */
	uint32_t auto_partner_down;         /*!< seconds in COMMUNICATIONS-INTERRUPTED before PARTNER-DOWN; 0 never */
	/* pool balancing (ISC's statements of the same names, doc §5.5) */
	uint32_t min_balance;               /*!< seconds at least between two timer runs; default 60 */
	uint32_t max_balance;               /*!< seconds at most between two timer runs; default 3600 */
	uint32_t max_lease_misbalance;      /*!< %, default 15 */
	uint32_t max_lease_ownership;       /*!< %, default 10 */
	/*!
	 * In NORMAL, a reply carrying a lease change in this relationship's
	 * pools leaves only once the peer has acknowledged (BNDACK) that
	 * change; default true.  See fo_peer.h, rd_fo_peers_hold_wanted.
	 */
	bool ack_after_peer;
};

typedef struct {
	unsigned line, col;
	uint32_t start, end;                /*!< inclusive */
	const rd_cfg_failover_t *failover;  /*!< NULL: no failover for this pool */
	const rd_cfg_subnet_t *subnet;
} rd_cfg_pool_t;

typedef struct {
	unsigned line, col;
	uint8_t htype;                      /*!< 1 (Ethernet) */
	uint8_t mac[6];
	uint32_t addr;
	char *hostname;                     /*!< NULL if not given */
	const rd_cfg_subnet_t *subnet;
} rd_cfg_reservation_t;

struct rd_cfg_subnet {
	unsigned line, col;
	uint32_t network, mask, broadcast;
	unsigned prefix_len;                /*!< 1..30 */
	uint32_t *routers;
	size_t n_routers;
	uint32_t *dns_servers;
	size_t n_dns_servers;
	char *domain_name;                  /*!< NULL: option 15 not sent */
	char **domain_search;
	size_t n_domain_search;
	uint32_t *ntp_servers;
	size_t n_ntp_servers;
	uint16_t mtu;                       /*!< 0: option 26 not sent */
	uint32_t lease_time;                /*!< granted when the client asks for nothing */
	uint32_t min_lease_time;            /*!< client requests are clamped to [min, max] */
	uint32_t max_lease_time;
	uint32_t pxe_lease_time;            /*!< option 60 starting "PXEClient": this, whatever asked */
	uint32_t decline_hold_time;         /*!< seconds ABANDONED after DHCPDECLINE */
	bool ignore_client_ids;             /*!< key leases by htype+chaddr, ignore option 61 */
	uint32_t next_server;               /*!< siaddr; 0: our address on the link */
	uint16_t boot_http_port;
	char **disabled_boot_architectures; /*!< as written */
	size_t n_disabled_boot_architectures;
	uint32_t disabled_boot_mask;        /*!< RD_BOOT_BIT(enum rd_boot_method) of each, see boot.h */
	rd_cfg_pool_t *pools;               /*!< file order, non-overlapping */
	size_t n_pools;
	rd_cfg_reservation_t *reservations; /*!< file order */
	size_t n_reservations;
	/* lookup indexes built at load (private: use the rd_config_* lookups) */
	const rd_cfg_reservation_t **res_by_mac;
	const rd_cfg_reservation_t **res_by_addr;
	/*!
	 * Not configuration: a cache the engine keeps in the snapshot (atomic,
	 * relaxed): the index of the pool where its last new address was
	 * found, where the next search starts, so that the pools filled
	 * before it are not scanned again for every DISCOVER (engine.c,
	 * allocate).  0 in a fresh snapshot.
	 */
	uint32_t alloc_hint;
	/*!
	 * Not configuration either: the failover layer's cache (atomic,
	 * relaxed) of "the peer still has addresses to give" for load
	 * balancing (failover/peer.c, peer_has_free_in): (second + 1) << 1 |
	 * answer, recomputed at most once a second.  0 in a fresh snapshot.
	 */
	uint32_t peer_free_cache;
};

/*! How the region's view and the file's own subnets combine (docs/config.md, `region.source`). */
enum rd_cfg_region_source {
	RD_REGION_SOURCE_MERGE = 0, /*!< region subnets + the file's subnets that overlap none of them (default) */
	RD_REGION_SOURCE_REGION,    /*!< the region's view only; the file's subnets and failover are ignored */
};

typedef struct {
	bool present;               /*!< the `region` section exists: region sync is on */
	unsigned line, col;
	char **maas_url;            /*!< http:// or https:// base URLs, tried in order */
	size_t n_maas_url;
	char *api_key_file;         /*!< absolute */
	char *system_id;            /*!< this rack's MAAS system id */
	uint32_t poll_interval;     /*!< seconds, >= 1 */
	char *ca_file;              /*!< absolute PEM bundle for https; NULL: the system store */
	uint32_t connect_timeout;   /*!< seconds, <= timeout */
	uint32_t timeout;           /*!< seconds, one whole request */
	enum rd_cfg_region_source source;
} rd_cfg_region_t;

struct rd_cfg_chunk;

struct rd_config {
	uint64_t generation;        /*!< set by rd_config_publish: 1, 2, ... (0: never published) */
	char *filename;             /*!< as given to the parser */
	rd_cfg_server_t server;
	rd_cfg_subnet_t *subnets;   /*!< file order, non-overlapping */
	size_t n_subnets;
	rd_cfg_failover_t *failovers;
	size_t n_failovers;
	rd_cfg_region_t region;
	struct rd_cfg_chunk *arena_; /*!< private: every allocation of this config */
};

/*!
 * Parse and validate a YAML configuration held in memory.
 * \param filename  used in messages only (NULL: "<config>")
 * \param err       receives ONE message `FILE:LINE:COL: FIELD: reason` on
 *                  failure (may be NULL)
 * \retval 0 *out is a new configuration (rd_config_free it)
 * \retval RD_EMALFORMED syntax or validation error (err says which)
 * \retval RD_ENOMEM
 */
int rd_config_parse(const char *text, size_t len, const char *filename, rd_config_t **out,
		    char *err, size_t errlen);

/*!
 * Read a file and rd_config_parse it.
 * \retval negative errno (as RD_E*) if the file cannot be read; otherwise as rd_config_parse.
 */
int rd_config_load(const char *path, rd_config_t **out, char *err, size_t errlen);

/*! Free a configuration and everything in it (NULL ok).  Not for a published one. */
void rd_config_free(rd_config_t *c);

/*! The subnet containing addr, or NULL.  Linear in the number of subnets. */
const rd_cfg_subnet_t *rd_config_subnet_for(const rd_config_t *c, uint32_t addr);

/*! The pool of s containing addr, or NULL. */
const rd_cfg_pool_t *rd_config_pool_for(const rd_cfg_subnet_t *s, uint32_t addr);

/*!
 * The reservation for a hardware address in subnet s, or NULL.  Binary
 * search; only htype 1 with hlen 6 can match.
 */
const rd_cfg_reservation_t *rd_config_reservation_by_mac(const rd_config_t *c, const rd_cfg_subnet_t *s,
							  uint8_t htype, const uint8_t *mac, uint8_t hlen);

/*! The reservation of an address (in whatever subnet holds it), or NULL. */
const rd_cfg_reservation_t *rd_config_reservation_by_addr(const rd_config_t *c, uint32_t addr);

/*! The failover peer of that name, or NULL. */
const rd_cfg_failover_t *rd_config_failover(const rd_config_t *c, const char *name);

/*!
 * Whether two configurations of a relationship run it the same way: every
 * setting, name included.  A reload restarts a relationship whose settings
 * differ (failover/peer.c); the daemon asks the failover thread only then.
 */
bool rd_config_failover_same(const rd_cfg_failover_t *a, const rd_cfg_failover_t *b);

/*! True if bucket (0..255, the RFC 3074 hash of the client) belongs to the primary. */
static inline bool rd_config_hba_primary(const rd_cfg_failover_t *f, uint8_t bucket)
{
	return (f->hba[bucket / 8] >> (bucket % 8)) & 1;
}

/*!
 * The snapshot in force, or NULL before the first publish.  Call inside
 * rcu_read_lock() from a thread registered with RCU; the snapshot stays
 * valid until rcu_read_unlock().
 */
rd_config_t *rd_config_current(void);

/*!
 * Make c the snapshot in force (c may be NULL: unpublish, e.g. at exit),
 * stamping c->generation with the previous generation + 1.  The old snapshot
 * is freed after synchronize_rcu(), i.e. once every reader that could see it
 * has left its read-side critical section, so this call blocks for a grace
 * period.  The caller must be a thread registered with RCU and must not be
 * inside rcu_read_lock().  Publishers are serialised by a mutex.  After the
 * call c belongs to the publication: do not rd_config_free it.
 */
void rd_config_publish(rd_config_t *c);

/*! Generation of the last published snapshot (0: none yet). */
uint64_t rd_config_generation(void);

const char *rd_config_durability_name(enum rd_cfg_durability d);
const char *rd_config_log_level_name(enum rd_cfg_log_level l);
const char *rd_config_role_name(enum rd_cfg_role r);
const char *rd_config_region_source_name(enum rd_cfg_region_source s);
