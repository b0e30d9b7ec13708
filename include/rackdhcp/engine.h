/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * engine.h — the DHCP decision engine (RFC 2131 §4.3): given one parsed
 * client message, the time, the configuration snapshot and the lease table,
 * decide the reply and the lease change.
 *
 * The engine does no I/O and reads no clock: the caller passes `now` (the
 * wall clock in the daemon, the capture's clock in --replay), and applies
 * the outcome itself — publish the new lease version in the table, make it
 * durable, then send the reply.  That split is what lets the same engine run
 * live, in replay, and in tests with a fake clock.
 *
 * The only side effect inside the engine is on the lease table's address
 * claims (rd_table_claim*), which keep two concurrent requests from being
 * offered the same free address.  A claim the caller does not turn into a
 * published lease must be released with rd_engine_abort().
 *
 * Threading: call from a thread registered with RCU, inside
 * rcu_read_lock(); the config snapshot and every lease pointer in the
 * outcome are valid until rcu_read_unlock().
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "rackdhcp/dhcp.h"
#include "rackdhcp/lease.h"

typedef struct rd_config rd_config_t;
typedef struct rd_table rd_table_t;

/*!
 * Seconds an offered address stays set aside for the client it was offered
 * to (RFC 2131 §4.3.1 "the server SHOULD reserve the offered address").
 * The engine publishes an offer as an ACTIVE version flagged
 * RD_ENGINE_F_OFFERED that ends this long after the DHCPDISCOVER; the
 * table's expiry then frees it if no DHCPREQUEST came.
 */
#define RD_ENGINE_OFFER_HOLD 60

/*!
 * Lease flag: this ACTIVE version is an offer, not a binding (no DHCPACK was
 * sent).  The store may skip the fsync for it, and lease notifications
 * (MAAS "commit") and failover BNDUPDs must not report it as a binding.
 * Value taken from the free range of lease.h's RD_LEASE_F_* flags.
 */
#define RD_ENGINE_F_OFFERED 0x0400

typedef struct rd_cfg_subnet rd_cfg_subnet_t;

/*! rd_engine_fo_t.backup_use: when to look in a pool's BACKUP set. */
enum rd_engine_backup_use {
	RD_ENGINE_BACKUP_NO = 0,     /*!< never: BACKUP addresses are the peer's */
	RD_ENGINE_BACKUP_FIRST,      /*!< before the FREE ones: they are ours (secondary) */
	RD_ENGINE_BACKUP_LAST,       /*!< after the FREE ones (primary in PARTNER-DOWN) */
};

/*!
 * The failover seam (docs/architecture.md): the questions the engine asks of
 * the failover layer, for subnets whose pools have a failover peer.  The
 * engine stays pure; the answers come from failover/peer.c, which reads
 * state published by the failover thread.  rd_engine_in_t.fo NULL, or a
 * callback answering "not governed", is today's behaviour: no failover.
 * Called inside the caller's rcu_read_lock().
 */
typedef struct rd_engine_fo {
	/*!
	 * Whether to answer this DISCOVER/REQUEST/DECLINE/RELEASE at all on
	 * subnet sn (the failover state, and RFC 3074 load balancing in
	 * NORMAL).  false: the engine stays silent, *why says why (static).
	 */
	bool (*may_serve)(void *ctx, const rd_cfg_subnet_t *sn, const rd_dhcp_t *req, const char **why);
	/*!
	 * Whether addr, whose current version is l (NULL: never used, i.e.
	 * FREE), may be given to a NEW client now: FREE vs BACKUP by role,
	 * and the state's rules (rd_fo_may_allocate).  Addresses outside
	 * failover pools: true.
	 */
	bool (*may_allocate)(void *ctx, uint32_t addr, const rd_lease_t *l, uint32_t now);
	/*!
	 * Where the pool holding addr keeps this server's free addresses now
	 * (enum rd_engine_backup_use): the secondary allocates from BACKUP
	 * leases, which the table's ordinary claims never return, so the
	 * engine claims them from the table's BACKUP set
	 * (rd_table_claim_backup) first; the primary in PARTNER-DOWN may take
	 * them after its own FREE ones.  NULL: RD_ENGINE_BACKUP_NO.
	 * may_allocate still decides each address.
	 */
	int (*backup_use)(void *ctx, uint32_t addr);
	/*!
	 * A DHCPACK of nl (old: the version it replaces, NULL if none) that
	 * wants `want` seconds: set nl->ends, tstp, tsfp, atsfp by the MCLT
	 * rule (rd_fo_lease_time, rd_fo_times_on_ack) and return the lease
	 * time to grant.  Addresses outside failover pools: want unchanged.
	 */
	uint32_t (*lease_time)(void *ctx, const rd_lease_t *old, rd_lease_t *nl, uint32_t now, uint32_t want);
	void *ctx;
} rd_engine_fo_t;

/*! What the engine knows about where a message came from. */
typedef struct {
	uint32_t now;            /*!< seconds since the epoch */
	const rd_config_t *cfg;  /*!< the snapshot in force */
	rd_table_t *table;
	uint32_t link_addr;      /*!< our IPv4 address on the receiving link (0: unknown) */
	uint32_t link_mask;      /*!< its netmask */
	uint32_t src_addr;       /*!< IP source of the datagram (0.0.0.0 from a client without address) */
	bool via_unicast;        /*!< arrived on the UDP socket addressed to us (renew), not broadcast */
	/*!
	 * false (the default): authoritative for every subnet, as ISC with
	 * `authoritative;` — a DHCPREQUEST for an address on the wrong
	 * network, or a RENEWING client we have no lease for, is NAKed.
	 * true: those are ignored (ISC without `authoritative;`).  A request
	 * for an address of ours that is leased to another client is NAKed
	 * either way, as ISC does.
	 */
	bool not_authoritative;
	/*! The failover seam; NULL: no failover configured (every answer "yes"). */
	const rd_engine_fo_t *fo;
	/*! The caller prints no reason (replay --quiet, a daemon logging below
	 *  INFO): an OFFER's or ACK's reason is left empty instead of
	 *  formatted.  DROP reasons are kept. */
	bool no_reason;
} rd_engine_in_t;

/*! How the reply is to be sent (RFC 2131 §4.1). */
typedef struct {
	uint32_t ip;             /*!< destination IP */
	uint16_t port;           /*!< 67 to a relay, 68 to a client */
	bool broadcast;          /*!< to 255.255.255.255 and ff:ff:ff:ff:ff:ff */
	bool to_relay;           /*!< unicast to giaddr */
	uint8_t mac[16];         /*!< link-layer destination when unicast to the client */
	uint8_t mac_len;
} rd_engine_dest_t;

enum rd_engine_action {
	RD_ENGINE_DROP = 0,      /*!< say nothing (reason tells why) */
	RD_ENGINE_REPLY,         /*!< send `reply` to `dest` (after committing `new_lease`, if any) */
	RD_ENGINE_COMMIT,        /*!< publish `new_lease` (not NULL), send nothing: DECLINE, RELEASE,
				      a client choosing another server's offer */
};

typedef struct {
	enum rd_engine_action action;
	char reason[128];                /*!< for the log line: "offer 192.0.2.100 (new)", "nak: wrong subnet" */
	rd_dhcp_builder_t reply;         /*!< valid when action == RD_ENGINE_REPLY */
	uint8_t prl[256];                /*!< parameter request list to lay the reply out with */
	uint16_t prl_len;
	uint16_t max_msg;                /*!< DHCP payload bytes the client accepts */
	rd_engine_dest_t dest;
	const rd_lease_t *old_lease;     /*!< the version being replaced (NULL: none) */
	rd_lease_t *new_lease;           /*!< the version to publish (NULL: no change); caller owns it */
	uint32_t claimed;                /*!< address claimed for this outcome (0: none) */
} rd_engine_out_t;

/*!
 * Decide on one client message.
 * \retval 0 out filled (action may be DROP); negative RD_E* on resource failure.
 */
int rd_engine_process(const rd_engine_in_t *in, const rd_dhcp_t *req, rd_engine_out_t *out);

/*!
 * A request's client key (RFC 2131 §4.2): its client-id (option 61) when
 * use_client_id and the option is there and 1..RD_LEASE_MAX_CLIENT_ID
 * bytes, else htype followed by chaddr.  Writes up to RD_LEASE_KEY_MAX
 * bytes to key and returns the length (0: no usable chaddr); *cid (if not
 * NULL) points at the option's data when the key is the client-id, else
 * NULL.  The engine keys a subnet's leases this way with use_client_id =
 * !ignore_client_ids.
 */
size_t rd_engine_client_key(const rd_dhcp_t *m, bool use_client_id, uint8_t *key, const uint8_t **cid);

/*! Release what an outcome holds that was not committed (claim, new_lease). */
void rd_engine_abort(rd_table_t *t, rd_engine_out_t *out);
