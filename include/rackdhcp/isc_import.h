/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * isc_import.h — migration from ISC dhcpd 4.4 as MAAS runs it
 * (`rackdhcpctl import-isc`): the dhcpd.conf MAAS renders becomes our YAML,
 * and dhcpd.leases becomes lease versions and failover states for a new
 * store.
 *
 * Only what MAAS generates is understood (maas-integration.md §1): failover
 * peer blocks, shared-network/subnet/pool/range, host blocks, MAAS's option
 * definitions, the `if option arch = ...` boot chain and the PXE class.
 * Everything else that has an effect is reported, one line per construct,
 * as `FILE:LINE: not converted: ...`, so the operator sees what the new
 * server will do differently.  Input that is not dhcpd.conf / dhcpd.leases
 * syntax at all (an unterminated string or block, a bad address where one
 * is needed, a failover state record ISC would refuse, an `include`)
 * refuses the whole import with one
 * `FILE:LINE: what` message: half a conversion is worse than none.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rackdhcp/lease.h"
#include "rackdhcp/store.h"

/*! Largest dhcpd.conf or dhcpd.leases read (a busy rack's leases file is a few MiB). */
#define RD_ISC_MAX_FILE (256u << 20)

/*! What was converted, for the summary and the tests. */
typedef struct rd_isc_summary {
	size_t subnets, pools, reservations, failovers;
	size_t lease_records;       /*!< lease { } records read (ISC appends: many per address) */
	size_t leases;              /*!< addresses imported (the last record of each) */
	size_t by_state[8];         /*!< leases per enum rd_binding_state */
	size_t not_converted;       /*!< lines in the report that say "not converted" */
	size_t failover_states;     /*!< relationships whose state is imported (fo_states[] with stored) */
	size_t failover_state_records; /*!< `failover peer "x" state { }` records read (all of them) */
} rd_isc_summary_t;

/*!
 * The failover state of one relationship, from the last `failover peer "X"
 * state { }` record ISC appended for it (docs/isc-differences.md §10 has the
 * rules and their reasons):
 *  - normal, communications-interrupted, potential-conflict,
 *    resolution-interrupted, conflict-done, recover, paused: stored as is,
 *    with ISC's STOS and partner state;
 *  - partner-down is stored as communications-interrupted (same STOS): the
 *    file may be old, and a server starting in PARTNER-DOWN with an old STOS
 *    would take the partner's free addresses at once;
 *  - recover-wait, recover-done and shutdown are stored as recover (same
 *    STOS, so an MCLT that already ran out is not waited again): the
 *    partner's bindings are fetched once more;
 *  - startup and unknown-state store nothing: rackdhcpd starts over in
 *    RECOVER as a new server does.
 */
typedef struct rd_isc_fo_state {
	rd_store_fo_state_t st;     /*!< the row for the failover_state table (name always set, cut to fit) */
	uint8_t isc_state;          /*!< the `my state` ISC recorded (enum rd_fo_state) */
	bool stored;                /*!< false: nothing goes into the store */
	unsigned line;              /*!< of the record in the lease file */
} rd_isc_fo_state_t;

typedef struct rd_isc_import {
	char *yaml;                 /*!< the configuration; rd_config_parse accepts it */
	size_t yaml_len;
	char *report;               /*!< report lines, each ending in '\n' (may be "") */
	size_t report_len;
	rd_lease_t **leases;        /*!< unpublished, by address, seq 1.. */
	size_t n_leases;
	rd_isc_fo_state_t *fo_states;   /*!< one per relationship of the conf that has a record */
	size_t n_fo_states;
	char *fo_summary;           /*!< one line per fo_states[] for the summary ("" when none) */
	rd_isc_summary_t sum;
} rd_isc_import_t;

/*!
 * Convert a dhcpd.conf and (optionally, leases may be NULL) a dhcpd.leases
 * held in memory.  The names are used in messages only.  The YAML is
 * checked with rd_config_parse before this returns.
 * \retval 0 *out holds the result (rd_isc_import_free it)
 * \retval RD_EMALFORMED the input cannot be converted; err says FILE:LINE: what
 * \retval RD_ENOMEM
 * On failure *out is zeroed.
 */
int rd_isc_convert(const char *conf, size_t conf_len, const char *conf_name, const char *leases,
		   size_t leases_len, const char *leases_name, rd_isc_import_t *out, char *err, size_t errlen);

void rd_isc_import_free(rd_isc_import_t *r);

/*!
 * Write DIR/rackdhcpd.yaml, DIR/leases.db (through rd_store_open with
 * durability sync: the leases, and the failover_state rows of fo_states[]
 * marked stored) and DIR/import-report.txt.  DIR is created if missing.
 * An existing rackdhcpd.yaml, or an existing non-empty leases.db, is
 * refused.  Everything is written under temporary names and renamed at the
 * end, so a failure leaves none of the three files behind.
 */
int rd_isc_write(const rd_isc_import_t *r, const char *dir, char *err, size_t errlen);

/*! Read a whole file (at most RD_ISC_MAX_FILE bytes), NUL-terminated; 0 or negative RD_E*. */
int rd_isc_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen);
