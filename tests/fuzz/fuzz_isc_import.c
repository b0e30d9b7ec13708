/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_isc_import — libFuzzer target for the ISC migration
 * (dhcpd/isc_import.c): arbitrary bytes as a dhcpd.conf and a dhcpd.leases.
 * The input is split at the first line holding only "%%": the part before
 * is the dhcpd.conf, the part after (if any) the dhcpd.leases.
 *
 * Properties: the converter never crashes, leaks or reads out of bounds; it
 * either refuses with one terminated `FILE:LINE: ...` message and no
 * output, or produces YAML that rd_config_parse accepts, a report whose
 * every line ends in '\n', and leases sorted by address with no address
 * twice, each of which the store would load again.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rackdhcp/config.h"
#include "rackdhcp/isc_import.h"
#include "rackdhcp/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEP "\n%%\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *leases = NULL;
	size_t conf_len = size, leases_len = 0;
	for (size_t i = 0; i + sizeof(SEP) - 1 <= size; i++)
		if (!memcmp(p + i, SEP, sizeof(SEP) - 1)) {
			conf_len = i + 1;
			leases = p + i + sizeof(SEP) - 1;
			leases_len = size - i - (sizeof(SEP) - 1);
			break;
		}

	rd_isc_import_t imp;
	char err[512];
	int rc = rd_isc_convert(p, conf_len, "c", leases, leases_len, "l", &imp, err, sizeof(err));
	if (rc) {
		if (rc > 0 || imp.yaml || imp.leases || imp.report || strnlen(err, sizeof(err)) == sizeof(err) ||
		    (rc == -1002 && err[0] != 'c' && err[0] != 'l'))
			__builtin_trap();
		return 0;
	}
	rd_config_t *cfg = NULL;
	if (!imp.yaml || strlen(imp.yaml) != imp.yaml_len ||
	    rd_config_parse(imp.yaml, imp.yaml_len, "y", &cfg, err, sizeof(err)) != 0)
		__builtin_trap();
	rd_config_free(cfg);
	if (!imp.report || strlen(imp.report) != imp.report_len ||
	    (imp.report_len && imp.report[imp.report_len - 1] != '\n'))
		__builtin_trap();
	for (size_t i = 0; i < imp.n_leases; i++) {
		if (i && imp.leases[i - 1]->addr >= imp.leases[i]->addr)
			__builtin_trap();
		rd_store_row_t row;
		rd_lease_t *back = NULL;
		rd_diag_t d;
		rd_diag_clear(&d);
		rd_store_lease_to_row(imp.leases[i], &row);
		if (rd_store_row_to_lease(&row, &back, &d) != 0)
			__builtin_trap();
		rd_lease_free(back);
	}
	rd_isc_import_free(&imp);
	return 0;
}
