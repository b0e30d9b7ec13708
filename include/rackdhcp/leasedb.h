/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * leasedb.h — what joins the SQLite store and the lease table: start-up
 * loading of every stored lease into the table.
 */
#pragma once

#include "rackdhcp/store.h"
#include "rackdhcp/table.h"

/*!
 * Load every valid stored lease into t (rd_table_load), with the SQLite
 * reader on a thread of its own and the table inserts on the calling thread,
 * so the two costs overlap instead of adding up.  The caller must be
 * registered with RCU and t must not be in use by others yet.
 * \retval 0, or the store's / table's negative error (leases already loaded
 *         stay in the table); stats as rd_store_load fills them (may be NULL).
 */
int rd_leasedb_load(rd_store_t *st, rd_table_t *t, rd_store_load_stats_t *stats);
