/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_region — libFuzzer target for the region view builder
 * (dhcpd/region_view.c): arbitrary bytes as the JSON the MAAS region
 * returns.  The input is split on lines holding only "%%" into the documents
 * of enum rd_region_doc, in that order (rack, fabrics, subnets, ipranges,
 * ipaddresses, reservedips, domains, regioncontrollers, dhcp-snippets,
 * ntp_servers, ntp_external_only, use_rack_proxy), and any further pieces
 * are failover peers' rackcontrollers documents; a missing or empty piece is
 * an absent document.
 *
 * Properties: the builder never crashes, leaks or reads out of bounds; it
 * either refuses with one terminated message or renders YAML, and that YAML
 * is either accepted by rd_config_parse or refused cleanly (never crashes
 * it).  An accepted configuration diffs against itself to nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rackdhcp/config.h"
#include "rackdhcp/region.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PIECES (RD_RDOC_COUNT + 4)
#define SEP "\n%%\n"

static void count_line(void *arg, const char *line)
{
	(void)line;
	(*(unsigned *)arg)++;
}

/* A local file's server and region sections, rendered in front of the region's part. */
static const rd_config_t *base_config(void)
{
	static rd_config_t *base;
	static int tried;
	static const char text[] =
		"server:\n  interfaces: [eth0]\n  workers: 3\n  user: \"rack\\\"d\"\n  metrics: 127.0.0.1:9467\n"
		"region:\n  maas_url: [http://10.0.0.5:5240/MAAS]\n  api_key_file: /etc/rackdhcpd/maas.key\n"
		"  system_id: 7xtf67\n";
	if (!tried++ && rd_config_parse(text, sizeof(text) - 1, "base", &base, NULL, 0) != 0)
		__builtin_trap();
	return base;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *piece[MAX_PIECES] = { 0 };
	size_t plen[MAX_PIECES] = { 0 }, n = 0;
	const char *p = (const char *)data, *end = p + size;
	char err[512], *yaml = NULL;
	size_t ylen = 0;

	/* the whole input is one buffer; pieces point into it with their lengths */
	while (n < MAX_PIECES) {
		const char *sep = NULL;
		for (const char *q = p; q + sizeof(SEP) - 1 <= end; q++)
			if (!memcmp(q, SEP, sizeof(SEP) - 1)) {
				sep = q;
				break;
			}
		const char *stop = sep ? sep : end;
		piece[n] = stop > p ? p : NULL;
		plen[n] = (size_t)(stop - p);
		n++;
		if (!sep)
			break;
		p = sep + sizeof(SEP) - 1;
	}

	const char *texts[RD_RDOC_COUNT] = { 0 };
	size_t lens[RD_RDOC_COUNT] = { 0 };
	for (size_t i = 0; i < RD_RDOC_COUNT && i < n; i++) {
		texts[i] = piece[i];
		lens[i] = plen[i];
	}
	const char *peers[MAX_PIECES];
	size_t peer_lens[MAX_PIECES], n_peers = 0;
	for (size_t i = RD_RDOC_COUNT; i < n; i++)
		if (piece[i]) {
			peers[n_peers] = piece[i];
			peer_lens[n_peers++] = plen[i];
		}

	int rc = rd_region_view_from_texts(texts, lens, peers, peer_lens, n_peers, "7xtf67",
					   (size & 1) ? base_config() : NULL, &yaml, &ylen, err, sizeof(err));
	if (rc) {
		if (yaml || strnlen(err, sizeof(err)) == sizeof(err) || !err[0])
			__builtin_trap();
		return 0;
	}
	if (!yaml || strlen(yaml) != ylen)
		__builtin_trap();

	rd_config_t *cfg = NULL;
	rc = rd_region_view_parse(yaml, ylen, &cfg, err, sizeof(err));
	if (rc) {
		if (cfg || strnlen(err, sizeof(err)) == sizeof(err))
			__builtin_trap();
	} else {
		unsigned lines = 0;
		if (rd_region_view_diff(cfg, cfg, count_line, &lines) != 0 || lines)
			__builtin_trap();
		if (rd_region_view_diff(NULL, cfg, count_line, &lines) < 0)
			__builtin_trap();
		rd_config_free(cfg);
	}
	free(yaml);
	return 0;
}
