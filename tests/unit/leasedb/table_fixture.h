/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * table_fixture.h — leases and client keys for the lease-table tests
 * (test_table.c, test_table_fixed.c): a lease at an address with hardware
 * key 01:02:00:<mac as 4 bytes> (htype 1), and that key as the table
 * builds it (rd_lease_key: htype, then chaddr).
 */
#pragma once

#include <string.h>

#include "tap.h"
#include "rackdhcp/lease.h"

/* A lease for addr in state with hardware address 02:00:<mac>; mac 0: none. */
static inline rd_lease_t *fixture_lease(uint32_t addr, uint8_t state, unsigned mac, uint32_t ends)
{
	rd_lease_t *l = rd_lease_new(addr, NULL, 0, NULL, 0);
	if (!l)
		bail_out("out of memory");
	l->state = state;
	l->ends = ends;
	if (mac) {
		l->htype = 1;
		l->hlen = 6;
		uint8_t hw[6] = { 2, 0, (uint8_t)(mac >> 24), (uint8_t)(mac >> 16),
				  (uint8_t)(mac >> 8), (uint8_t)mac };
		memcpy(l->chaddr, hw, 6);
	}
	return l;
}

/* The client key of fixture_lease(…, mac, …) into key; its length. */
static inline size_t fixture_key(unsigned mac, uint8_t *key)
{
	uint8_t k[7] = { 1, 2, 0, (uint8_t)(mac >> 24), (uint8_t)(mac >> 16), (uint8_t)(mac >> 8), (uint8_t)mac };
	memcpy(key, k, sizeof(k));
	return sizeof(k);
}
