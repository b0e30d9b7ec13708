/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_config — libFuzzer target for the YAML configuration loader: any
 * bytes go through rd_config_parse, which must either build a configuration
 * or refuse with one message, never crash, leak or read out of bounds.  A
 * configuration that parses is walked through the lookups too, so the
 * indexes built at load are exercised on whatever shape the fuzzer found.
 * Single-threaded; the RCU publication is covered by the unit test.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rackdhcp/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rd_config_t *c = NULL;
	char err[256];

	if (rd_config_parse((const char *)data, size, "fuzz.yaml", &c, err, sizeof(err)) != 0) {
		/* the message is always terminated */
		if (strnlen(err, sizeof(err)) == sizeof(err))
			__builtin_trap();
		return 0;
	}
	for (size_t i = 0; i < c->n_subnets; i++) {
		const rd_cfg_subnet_t *s = &c->subnets[i];
		if (rd_config_subnet_for(c, s->network) != s)
			__builtin_trap();
		for (size_t j = 0; j < s->n_pools; j++)
			if (rd_config_pool_for(s, s->pools[j].start) != &s->pools[j])
				__builtin_trap();
		for (size_t j = 0; j < s->n_reservations; j++) {
			const rd_cfg_reservation_t *r = &s->reservations[j];
			if (rd_config_reservation_by_mac(c, s, r->htype, r->mac, 6) != r ||
			    rd_config_reservation_by_addr(c, r->addr) != r)
				__builtin_trap();
		}
	}
	for (size_t i = 0; i < c->n_failovers; i++)
		if (rd_config_failover(c, c->failovers[i].name) != &c->failovers[i])
			__builtin_trap();
	rd_config_free(c);
	return 0;
}
