/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_isc_import.c — `rackdhcpctl import-isc` (dhcpd/isc_import.c): a
 * MAAS-style dhcpd.conf (failover primary with split 255, a shared-network
 * with two subnets, pools, hosts, MAAS's option definitions, the arch boot
 * chain, the PXE class, the hooks and OMAPI) and a dhcpd.leases written the
 * way ISC 4.4 writes it.  Checks the YAML through rd_config_parse field by
 * field, each lease in the store it writes (rd_store_load), the report's
 * lines and line numbers, and that malformed input is refused with
 * FILE:LINE and leaves nothing behind.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/config.h"
#include "rackdhcp/error.h"
#include "rackdhcp/fo_state.h"
#include "rackdhcp/isc_import.h"
#include "rackdhcp/lease.h"
#include "rackdhcp/store.h"
#include "tap.h"

static const char conf[] =
"# WARNING: Do not edit /var/lib/maas/dhcpd.conf yourself.  MAAS will\n"
"# overwrite any changes made there.  Instead, you can modify dhcpd.conf by\n"
"# using DHCP snippets over the API or through the web interface.\n"
"\n"
"option arch code 93 = unsigned integer 16; # RFC4578\n"
"option path-prefix code 210 = text; #RFC5071\n"
"option space ipxe;\n"
"option ipxe-encap-opts code 175 = encapsulate ipxe;\n"
"option ipxe.http code 19 = unsigned integer 8;\n"
"option ipxe.bzimage code 24 = unsigned integer 8;\n"
"option ipxe.efi code 36 = unsigned integer 8;\n"
"\n"
"class \"PXE\" {\n"
"   match if substring (option vendor-class-identifier, 0, 3) = \"PXE\";\n"
"   default-lease-time 30;\n"
"   max-lease-time 30;\n"
"}\n"
"\n"
"#\n"
"# Global DHCP snippets\n"
"#\n"
"# Name: ntp-global\n"
"authoritative;\n"
"default-lease-time 600;\n"
"max-lease-time 600;\n"
"\n"
"failover peer \"failover-vlan-5001\" {\n"
"    primary;\n"
"    address 10.10.0.2;\n"
"    peer address 10.10.0.3;\n"
"    max-response-delay 60;\n"
"    max-unacked-updates 10;\n"
"    load balance max seconds 3;\n"
"    mclt 3600;\n"
"    split 255;\n"
"}\n"
"\n"
"shared-network vlan-5001 {\n"
"    subnet 10.10.0.0 netmask 255.255.255.0 {\n"
"           ignore-client-uids true;\n"
"           next-server 10.10.0.2;\n"
"           option subnet-mask 255.255.255.0;\n"
"           option broadcast-address 10.10.0.255;\n"
"           option domain-name-servers 10.10.0.2, 10.10.0.3, 10.10.0.5, 1.1.1.1;\n"
"           option domain-name \"maas\";\n"
"           option domain-search \"maas\", \"lab.example\";\n"
"           option routers 10.10.0.1;\n"
"           option ntp-servers 10.10.0.2, 10.10.0.3;\n"
"           option dhcp6.sntp-servers fd00::2;\n"
"           if exists user-class and option user-class = \"iPXE\" {\n"
"               filename \"http://10.10.0.2:5248/ipxe.cfg\";\n"
"           } elsif option arch = 00:00 {\n"
"               filename \"lpxelinux.0\";\n"
"               option path-prefix \"http://10.10.0.2:5248/\";\n"
"           } elsif option arch = 00:07 {\n"
"               filename \"bootx64.efi\";\n"
"           } elsif option arch = 00:10 {\n"
"               filename \"http://10.10.0.2:5248/images/bootx64.efi\";\n"
"               option vendor-class-identifier \"HTTPClient\";\n"
"           } elsif option arch = 00:0B {\n"
"               filename \"bootaa64.efi\";\n"
"           } elsif option arch = 00:13 {\n"
"               filename \"http://10.10.0.2:5248/images/bootaa64.efi\";\n"
"               option vendor-class-identifier \"HTTPClient\";\n"
"           } elsif option arch = 00:0C {\n"
"               filename \"bootppc64.bin\";\n"
"           } elsif option arch = 00:0E {\n"
"               filename \"pxelinux.0\";\n"
"               option path-prefix \"ppc64el/\";\n"
"           } elsif option arch = 00:1F {\n"
"               filename \"boots390x.bin\";\n"
"               option path-prefix \"s390x/\";\n"
"           } elsif option arch = 00:20 {\n"
"               filename \"s390x_partition/maas\";\n"
"           } else {\n"
"               filename \"lpxelinux.0\";\n"
"               option path-prefix \"http://10.10.0.2:5248/\";\n"
"           }\n"
"           pool {\n"
"              failover peer \"failover-vlan-5001\";\n"
"              range 10.10.0.100 10.10.0.199;\n"
"           }\n"
"    }\n"
"    subnet 10.20.0.0 netmask 255.255.254.0 {\n"
"           ignore-client-uids true;\n"
"           next-server 10.10.0.2;\n"
"           option subnet-mask 255.255.254.0;\n"
"           option broadcast-address 10.20.1.255;\n"
"           option domain-name \"maas\";\n"
"           option routers 10.20.0.1;\n"
"           option interface-mtu 9000;\n"
"           pool {\n"
"              failover peer \"failover-vlan-5001\";\n"
"              range 10.20.0.50 10.20.0.99;\n"
"           }\n"
"           pool {\n"
"              failover peer \"failover-vlan-5001\";\n"
"              range 10.20.1.10 10.20.1.19;\n"
"              allow unknown-clients;\n"
"           }\n"
"    }\n"
"}\n"
"\n"
"host node1-eth0-52-54-00-aa-bb-cc {\n"
"   hardware ethernet 52:54:00:aa:bb:cc;\n"
"   fixed-address 10.10.0.20;\n"
"}\n"
"host 52-54-00-aa-bb-cd {\n"
"   hardware ethernet 52:54:00:aa:bb:cd;\n"
"   fixed-address 10.20.0.21;\n"
"   option host-name \"node2\";\n"
"}\n"
"host elsewhere {\n"
"   hardware ethernet 52:54:00:aa:bb:ce;\n"
"   fixed-address 192.168.99.5;\n"
"}\n"
"\n"
"omapi-port 7911;\n"
"key omapi_key {\n"
"    algorithm HMAC-MD5;\n"
"    secret \"c2VjcmV0\";\n"
"};\n"
"omapi-key omapi_key;\n"
"\n"
"on commit {\n"
"  set clhw = binary-to-ascii(16, 8, \":\", substring(hardware, 1, 6));\n"
"  execute(\"/usr/sbin/maas-dhcp-helper\", \"notify\", \"--action\", \"commit\", \"--mac\", clhw);\n"
"}\n"
"on expiry {\n"
"  execute(\"/usr/sbin/maas-dhcp-helper\", \"notify\", \"--action\", \"expiry\");\n"
"}\n";

static const char leases[] =
"# The format of this file is documented in the dhcpd.leases(5) manual page.\n"
"# This lease file was written by isc-dhcp-4.4.3-P1\n"
"\n"
"# authoring-byte-order entry is generated, DO NOT DELETE\n"
"authoring-byte-order little-endian;\n"
"\n"
"server-duid \"\\000\\001\\000\\001,\\3263\\205RT\\000\\022\\064V\";\n"
"\n"
"failover peer \"failover-vlan-5001\" state {\n"
"  my state normal at 4 2024/01/04 12:00:00;\n"
"  partner state normal at 4 2024/01/04 11:59:58;\n"
"}\n"
"\n"
"lease 10.10.0.100 {\n"
"  starts 4 2024/01/04 12:00:00;\n"
"  ends 4 2024/01/04 12:10:00;\n"
"  tstp 4 2024/01/04 12:15:00;\n"
"  tsfp 4 2024/01/04 12:15:00;\n"
"  atsfp 4 2024/01/04 12:15:00;\n"
"  cltt 4 2024/01/04 12:00:00;\n"
"  binding state active;\n"
"  next binding state expired;\n"
"  hardware ethernet 52:54:00:12:34:56;\n"
"  uid \"\\001RT\\000\\0224V\";\n"
"  set vendor-class-identifier = \"PXEClient:Arch:00000:UNDI:002001\";\n"
"  client-hostname \"vm1\";\n"
"}\n"
"lease 10.10.0.101 {\n"
"  starts 4 2024/01/04 11:00:00;\n"
"  ends 4 2024/01/04 11:10:00;\n"
"  tstp 4 2024/01/04 11:10:00;\n"
"  cltt 4 2024/01/04 11:00:00;\n"
"  binding state free;\n"
"  hardware ethernet 52:54:00:12:34:57;\n"
"}\n"
"lease 10.10.0.101 {\n"
"  starts 4 2024/01/04 12:01:00;\n"
"  ends 4 2024/01/04 12:11:00;\n"
"  tstp 4 2024/01/04 12:16:00;\n"
"  tsfp 4 2024/01/04 12:16:00;\n"
"  atsfp 4 2024/01/04 12:16:00;\n"
"  cltt 4 2024/01/04 12:01:00;\n"
"  binding state active;\n"
"  next binding state expired;\n"
"  hardware ethernet 52:54:00:12:34:58;\n"
"  uid 01:52:54:00:12:34:58;\n"
"}\n"
"lease 10.10.0.150 {\n"
"  starts 4 2024/01/04 10:00:00;\n"
"  ends never;\n"
"  tstp never;\n"
"  cltt 4 2024/01/04 10:00:00;\n"
"  binding state backup;\n"
"}\n"
"lease 10.20.0.50 {\n"
"  starts epoch 1704362400; # Thu Jan 04 10:00:00 2024\n"
"  ends epoch 1704363000; # Thu Jan 04 10:10:00 2024\n"
"  binding state expired;\n"
"  hardware ethernet 52:54:00:00:00:01;\n"
"}\n"
"lease 10.20.0.51 {\n"
"  starts 4 2024/01/04 10:00:00;\n"
"  ends 4 2024/01/04 10:05:00;\n"
"  binding state released;\n"
"  hardware ethernet 52:54:00:00:00:02;\n"
"}\n"
"lease 10.20.0.52 {\n"
"  starts 4 2024/01/04 10:00:00;\n"
"  ends 5 2024/01/05 10:00:00;\n"
"  binding state abandoned;\n"
"}\n";

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/* 1-based line of the first line of text holding needle (0: none). */
static unsigned line_of(const char *text, const char *needle)
{
	const char *p = strstr(text, needle);
	if (!p)
		return 0;
	unsigned n = 1;
	for (const char *q = text; q < p; q++)
		n += *q == '\n';
	return n;
}

static bool has_line(const char *report, const char *line)
{
	const char *p = report;
	size_t n = strlen(line);
	while ((p = strstr(p, line))) {
		if ((p == report || p[-1] == '\n') && p[n] == '\n')
			return true;
		p++;
	}
	return false;
}

static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s };
	return timegm(&tm);
}

static int convert(const char *c, const char *l, rd_isc_import_t *imp, char *err, size_t errlen)
{
	return rd_isc_convert(c, strlen(c), "dhcpd.conf", l, l ? strlen(l) : 0, "dhcpd.leases", imp, err, errlen);
}

static void test_config(void)
{
	rd_isc_import_t imp;
	char err[512] = "";
	int rc = convert(conf, leases, &imp, err, sizeof(err));
	if (!is_int(rc, 0, "the MAAS fixture converts") ) {
		diag("%s", err);
		return;
	}
	rd_config_t *cfg = NULL;
	rc = rd_config_parse(imp.yaml, imp.yaml_len, "rackdhcpd.yaml", &cfg, err, sizeof(err));
	if (!is_int(rc, 0, "the YAML parses")) {
		diag("%s\n%s", err, imp.yaml);
		rd_isc_import_free(&imp);
		return;
	}
	ok(strstr(imp.yaml, "server section is left for the operator") != NULL, "YAML says the server section is left");
	ok(strstr(imp.yaml, "#   dhcpd.leases:9: failover peer \"failover-vlan-5001\": my state normal") != NULL,
	   "YAML carries ISC's failover state as a comment");

	is_int((long long)cfg->n_failovers, 1, "one failover peer");
	const rd_cfg_failover_t *f = rd_config_failover(cfg, "failover-vlan-5001");
	ok(f != NULL, "peer failover-vlan-5001");
	if (f) {
		is_int(f->role, RD_FO_PRIMARY, "primary");
		is_int(f->address, IP(10, 10, 0, 2), "address");
		is_int(f->peer_address, IP(10, 10, 0, 3), "peer address");
		is_int(f->port, 647, "port: ISC default");
		is_int(f->peer_port, 647, "peer port: ISC default");
		is_int(f->mclt, 3600, "mclt");
		ok(f->has_split && f->split == 255, "split 255");
		ok(rd_config_hba_primary(f, 0) && rd_config_hba_primary(f, 254) && !rd_config_hba_primary(f, 255),
		   "split 255: buckets 0..254 are the primary's");
		is_int(f->max_response_delay, 60, "max-response-delay");
		is_int(f->max_unacked_updates, 10, "max-unacked-updates");
		is_int(f->load_balance_max_seconds, 3, "load balance max seconds");
		is_int(f->auto_partner_down, 0, "no auto-partner-down");
	}

	is_int((long long)cfg->n_subnets, 2, "two subnets from the shared-network");
	if (cfg->n_subnets == 2) {
		const rd_cfg_subnet_t *a = &cfg->subnets[0], *b = &cfg->subnets[1];
		ok(a->network == IP(10, 10, 0, 0) && a->prefix_len == 24, "subnet 10.10.0.0/24");
		ok(a->n_routers == 1 && a->routers[0] == IP(10, 10, 0, 1), "routers");
		ok(a->n_dns_servers == 4 && a->dns_servers[0] == IP(10, 10, 0, 2) && a->dns_servers[3] == IP(1, 1, 1, 1),
		   "dns servers in order");
		is_str(a->domain_name, "maas", "domain-name");
		ok(a->n_domain_search == 2 && !strcmp(a->domain_search[0], "maas") &&
		   !strcmp(a->domain_search[1], "lab.example"), "domain-search");
		ok(a->n_ntp_servers == 2 && a->ntp_servers[1] == IP(10, 10, 0, 3), "ntp servers");
		is_int(a->mtu, 0, "no mtu (1500 is not written by MAAS)");
		is_int(a->lease_time, 600, "default-lease-time (global)");
		is_int(a->max_lease_time, 600, "max-lease-time (global)");
		is_int(a->pxe_lease_time, 30, "PXE class lease time");
		ok(a->ignore_client_ids, "ignore-client-uids true");
		is_int(a->next_server, IP(10, 10, 0, 2), "next-server");
		ok(a->n_disabled_boot_architectures == 2 && !strcmp(a->disabled_boot_architectures[0], "onie") &&
		   !strcmp(a->disabled_boot_architectures[1], "uefi_ebc_tftp"),
		   "boot methods missing from the chain are disabled (onie, uefi_ebc_tftp)");
		ok(a->n_pools == 1 && a->pools[0].start == IP(10, 10, 0, 100) && a->pools[0].end == IP(10, 10, 0, 199) &&
		   a->pools[0].failover == f, "pool with its failover peer");
		ok(a->n_reservations == 1, "one reservation in the first subnet");
		if (a->n_reservations == 1) {
			const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
			ok(!memcmp(a->reservations[0].mac, mac, 6) && a->reservations[0].addr == IP(10, 10, 0, 20),
			   "host block: MAC and fixed-address");
			is_str(a->reservations[0].hostname, "node1-eth0-52-54-00-aa-bb-cc", "hostname: the declaration's name");
		}
		ok(b->network == IP(10, 20, 0, 0) && b->prefix_len == 23, "subnet 10.20.0.0/23");
		is_int(b->mtu, 9000, "interface-mtu");
		ok(b->n_dns_servers == 0 && b->n_ntp_servers == 0, "no dns/ntp in the second subnet");
		is_int(b->n_disabled_boot_architectures, 0, "no chain: nothing disabled (and reported)");
		ok(b->n_pools == 2 && b->pools[1].start == IP(10, 20, 1, 10) && b->pools[1].failover == f, "two pools");
		ok(b->n_reservations == 1 && b->reservations[0].addr == IP(10, 20, 0, 21) &&
		   b->reservations[0].hostname && !strcmp(b->reservations[0].hostname, "node2"),
		   "host with option host-name");
	}
	rd_config_free(cfg);

	const rd_isc_summary_t *s = &imp.sum;
	ok(s->subnets == 2 && s->pools == 3 && s->reservations == 2 && s->failovers == 1, "summary: config counts");
	ok(s->lease_records == 7 && s->leases == 6, "summary: 7 records, 6 addresses");
	ok(s->by_state[RD_LEASE_ACTIVE] == 2 && s->by_state[RD_LEASE_EXPIRED] == 1 && s->by_state[RD_LEASE_RELEASED] == 1 &&
	   s->by_state[RD_LEASE_ABANDONED] == 1 && s->by_state[RD_LEASE_BACKUP] == 1 && s->by_state[RD_LEASE_FREE] == 0,
	   "summary: leases by state");
	is_int((long long)s->not_converted, 10, "ten constructs not converted");
	is_int((long long)s->failover_states, 1, "one failover state imported");
	is_int((long long)s->failover_state_records, 1, "from one record");
	ok(imp.n_fo_states == 1 && imp.fo_states[0].stored && imp.fo_states[0].st.state == RD_FO_ST_NORMAL &&
	   imp.fo_states[0].st.partner == RD_FO_ST_NORMAL &&
	   imp.fo_states[0].st.stos == (uint32_t)utc(2024, 1, 4, 12, 0, 0) &&
	   imp.fo_states[0].st.partner_stos == (uint32_t)utc(2024, 1, 4, 11, 59, 58) &&
	   imp.fo_states[0].st.mclt == 3600 && !strcmp(imp.fo_states[0].st.name, "failover-vlan-5001"),
	   "NORMAL with ISC's STOS, the partner's, and the configured MCLT");

	/* each reported construct with its own line */
	static const struct { const char *needle, *text; } want[] = {
		{ "authoritative;", "not converted: authoritative;" },
		{ "dhcp6.sntp-servers", "not converted: option dhcp6.sntp-servers fd00::2; -- IPv6 NTP servers have no DHCPv4 option" },
		{ "subnet 10.20.0.0", "not converted: subnet 10.20.0.0 netmask 255.255.254.0 { ... } -- no boot chain in this subnet: rackdhcpd will still answer network boot (list boot methods under disabled_boot_architectures to turn it off)" },
		{ "allow unknown-clients", "not converted: allow unknown-clients; -- pool-level statement" },
		{ "host elsewhere", "not converted: host elsewhere { ... } -- fixed-address 192.168.99.5 is in no subnet of this file" },
		{ "omapi-port", "not converted: omapi-port 7911;" },
		{ "key omapi_key", "not converted: key omapi_key { ... }" },
		{ "omapi-key omapi_key", "not converted: omapi-key omapi_key;" },
		{ "on commit", "not converted: on commit { ... } -- lease-event hook: rackdhcpd sends MAAS's lease events itself" },
		{ "on expiry", "not converted: on expiry { ... } -- lease-event hook: rackdhcpd sends MAAS's lease events itself" },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char line[512];
		snprintf(line, sizeof(line), "dhcpd.conf:%u: %s", line_of(conf, want[i].needle), want[i].text);
		if (!ok(has_line(imp.report, line), "report: %s", line))
			diag("report:\n%s", imp.report);
	}
	char line[512];
	snprintf(line, sizeof(line), "dhcpd.leases:%u: failover peer \"failover-vlan-5001\": my state normal since "
		 "2024-01-04 12:00:00 UTC, partner normal since 2024-01-04 11:59:58 UTC (1 state record): imported as "
		 "normal", line_of(leases, "failover peer"));
	ok(has_line(imp.report, line), "report: failover state with its line");
	ok(imp.fo_summary && has_line(imp.fo_summary, strstr(line, "failover peer")), "summary: the same line");
	ok(strstr(imp.report, "option arch") == NULL && strstr(imp.report, "class") == NULL &&
	   strstr(imp.report, "failover peer \"failover-vlan-5001\" {") == NULL && strstr(imp.report, "elsif") == NULL,
	   "MAAS's option definitions, PXE class, peer and boot chain are not reported");
	rd_isc_import_free(&imp);
}

struct got {
	rd_lease_t *l[16];
	size_t n;
};

static int collect(void *ctx, rd_lease_t *l)
{
	struct got *g = ctx;
	if (g->n < 16)
		g->l[g->n++] = l;
	else
		rd_lease_free(l);
	return 0;
}

static bool no_temp_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool clean = true;
	if (!d)
		return true;
	while ((e = readdir(d)))
		if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			clean = false;
	closedir(d);
	return clean;
}

static void test_store(const char *tmp)
{
	rd_isc_import_t imp;
	char err[512] = "", dir[256], path[320];
	snprintf(dir, sizeof(dir), "%s/out", tmp);
	if (!is_int(convert(conf, leases, &imp, err, sizeof(err)), 0, "convert for the store"))
		return;
	if (!is_int(rd_isc_write(&imp, dir, err, sizeof(err)), 0, "write DIR"))
		diag("%s", err);
	ok(no_temp_files(dir), "no temporary files left");
	struct stat st;
	snprintf(path, sizeof(path), "%s/rackdhcpd.yaml", dir);
	ok(stat(path, &st) == 0 && (size_t)st.st_size == imp.yaml_len, "rackdhcpd.yaml written");
	rd_config_t *cfg = NULL;
	ok(rd_config_load(path, &cfg, err, sizeof(err)) == 0, "rackdhcpd.yaml loads");
	rd_config_free(cfg);
	snprintf(path, sizeof(path), "%s/import-report.txt", dir);
	ok(stat(path, &st) == 0 && (size_t)st.st_size == imp.report_len && imp.report_len > 0, "import-report.txt written");

	/* a second import into the same DIR is refused and changes nothing */
	char err2[512] = "";
	rd_isc_import_t imp2;
	convert(conf, leases, &imp2, err2, sizeof(err2));
	ok(rd_isc_write(&imp2, dir, err2, sizeof(err2)) < 0 && strstr(err2, "refusing"), "second import refused: %s", err2);
	rd_isc_import_free(&imp2);
	ok(no_temp_files(dir), "still no temporary files");

	snprintf(path, sizeof(path), "%s/leases.db", dir);
	rd_store_t *st_ = NULL;
	if (!is_int(rd_store_open(path, RD_STORE_SYNC, NULL, &st_, err, sizeof(err)), 0, "the store opens")) {
		diag("%s", err);
		rd_isc_import_free(&imp);
		return;
	}
	struct got g = { .n = 0 };
	rd_store_load_stats_t ls;
	is_int(rd_store_load(st_, collect, &g, &ls), 0, "rd_store_load");
	is_int((long long)ls.skipped, 0, "no bad rows");
	is_int((long long)g.n, 6, "six leases in the store");
	rd_store_close(st_);
	if (g.n == 6) {
		const rd_lease_t *a = g.l[0];
		const uint8_t uid[] = { 1, 'R', 'T', 0, 0x12, '4', 'V' };
		const uint8_t mac[] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
		is_int(a->addr, IP(10, 10, 0, 100), "lease 10.10.0.100");
		is_int(a->state, RD_LEASE_ACTIVE, "active");
		is_int(a->starts, utc(2024, 1, 4, 12, 0, 0), "starts");
		is_int(a->ends, utc(2024, 1, 4, 12, 10, 0), "ends");
		is_int(a->tstp, utc(2024, 1, 4, 12, 15, 0), "tstp");
		is_int(a->tsfp, utc(2024, 1, 4, 12, 15, 0), "tsfp");
		is_int(a->atsfp, utc(2024, 1, 4, 12, 15, 0), "atsfp");
		is_int(a->cltt, utc(2024, 1, 4, 12, 0, 0), "cltt");
		ok(a->htype == 1 && a->hlen == 6 && !memcmp(a->chaddr, mac, 6), "hardware ethernet");
		is_mem(rd_lease_cid(a), a->cid_len, uid, sizeof(uid), "uid with octal escapes");
		ok(a->host_len == 3 && !memcmp(rd_lease_host(a), "vm1", 3), "client-hostname");
		ok(!(a->flags & RD_LEASE_F_KEY_CID), "keyed by MAC (ignore-client-uids)");

		const rd_lease_t *b = g.l[1];
		const uint8_t mac2[] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x58 };
		const uint8_t uid2[] = { 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x58 };
		ok(b->addr == IP(10, 10, 0, 101) && b->state == RD_LEASE_ACTIVE && !memcmp(b->chaddr, mac2, 6),
		   "10.10.0.101: the last record wins");
		is_int(b->starts, utc(2024, 1, 4, 12, 1, 0), "last record's starts");
		is_mem(rd_lease_cid(b), b->cid_len, uid2, sizeof(uid2), "uid in colon-hex form");

		const rd_lease_t *c = g.l[2];
		ok(c->addr == IP(10, 10, 0, 150) && c->state == RD_LEASE_BACKUP && c->ends == 0 && c->tstp == 0 && c->hlen == 0,
		   "backup lease, ends never");
		const rd_lease_t *d = g.l[3];
		ok(d->addr == IP(10, 20, 0, 50) && d->state == RD_LEASE_EXPIRED && d->starts == 1704362400 &&
		   d->ends == 1704363000, "expired lease, epoch times");
		ok(g.l[4]->state == RD_LEASE_RELEASED && g.l[5]->state == RD_LEASE_ABANDONED, "released, abandoned");
	}
	for (size_t i = 0; i < g.n; i++)
		rd_lease_free(g.l[i]);
	rd_isc_import_free(&imp);

	/* an existing non-empty leases.db is refused and nothing appears beside it */
	snprintf(dir, sizeof(dir), "%s/busy", tmp);
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/leases.db", dir);
	FILE *fp = fopen(path, "w");
	if (fp) {
		fputs("x", fp);
		fclose(fp);
	}
	convert(conf, NULL, &imp, err, sizeof(err));
	ok(rd_isc_write(&imp, dir, err, sizeof(err)) < 0 && strstr(err, "not empty"), "non-empty store refused: %s", err);
	snprintf(path, sizeof(path), "%s/rackdhcpd.yaml", dir);
	ok(stat(path, &st) < 0 && no_temp_files(dir), "nothing written");
	rd_isc_import_free(&imp);
}

/* Small cases: one conf and/or leases each. */
static void test_cases(void)
{
	static const char base[] = "subnet 10.0.0.0 netmask 255.255.255.0 {\n  range 10.0.0.10 10.0.0.20;\n}\n";
	rd_isc_import_t imp;
	char err[512];
	rd_config_t *cfg;

	/* a secondary without the optional settings gets ISC's defaults, not ours */
	static const char sec[] =
		"failover peer \"p\" {\n secondary;\n address 10.0.0.3;\n peer address 10.0.0.2;\n}\n"
		"subnet 10.0.0.0 netmask 255.255.255.0 {\n pool { failover peer \"p\"; range 10.0.0.10 10.0.0.20; }\n"
		" if option arch = 00:07 { filename \"bootx64.efi\"; }\n}\n";
	if (is_int(convert(sec, NULL, &imp, err, sizeof(err)), 0, "secondary converts") &&
	    is_int(rd_config_parse(imp.yaml, imp.yaml_len, "y", &cfg, err, sizeof(err)), 0, "and parses")) {
		const rd_cfg_failover_t *f = &cfg->failovers[0];
		ok(f->role == RD_FO_SECONDARY && !f->has_split && !f->has_hba, "secondary, no split");
		ok(f->max_response_delay == 20 && f->max_unacked_updates == 100 && f->load_balance_max_seconds == 0,
		   "ISC defaults: 20 s, 100, no load balancing");
		const rd_cfg_subnet_t *s = &cfg->subnets[0];
		ok(s->lease_time == 43200 && s->max_lease_time == 86400 && !s->ignore_client_ids,
		   "ISC default lease times, client ids used");
		/* only arch 7 in the chain: everything else is disabled, pxe included */
		is_int(s->n_disabled_boot_architectures, 11, "eleven methods disabled");
		bool pxe = false;
		for (size_t i = 0; i < s->n_disabled_boot_architectures; i++)
			pxe |= !strcmp(s->disabled_boot_architectures[i], "pxe");
		ok(pxe, "pxe disabled when neither 00:00 nor else is there");
		rd_config_free(cfg);
	}
	rd_isc_import_free(&imp);

	/* leases: a lease outside every subnet is imported and reported; keyed by uid without ignore-client-uids */
	static const char ls[] =
		"lease 10.0.0.11 {\n starts 1 2024/01/01 00:00:00;\n ends 1 2024/01/01 01:00:00;\n binding state active;\n"
		" hardware ethernet 0:1:2:3:4:5;\n uid \"\\001\\000\\001\\002\\003\\004\\005\";\n"
		" client-hostname \"a b\";\n weird-thing 1;\n}\n"
		"lease 192.168.0.1 {\n binding state free;\n}\n"
		"host h1 { dynamic; hardware ethernet 0:1:2:3:4:6; fixed-address 10.0.0.30; }\n"
		"failover peer \"p\" state {\n my state recover at 1 2024/01/01 00:00:00;\n}\n"
		"failover peer \"p\" state {\n my state normal at 1 2024/01/01 00:00:09;\n"
		" partner state normal at 1 2024/01/01 00:00:09;\n}\n";
	if (is_int(convert(base, ls, &imp, err, sizeof(err)), 0, "leases convert")) {
		ok(imp.n_leases == 2 && (imp.leases[0]->flags & RD_LEASE_F_KEY_CID) && imp.leases[0]->cid_len == 7,
		   "keyed by the client id when ignore-client-uids is not set");
		ok(imp.leases[0]->chaddr[1] == 1 && imp.leases[0]->chaddr[5] == 5, "one-digit MAC octets");
		ok(has_line(imp.report, "dhcpd.leases:8: not converted: weird-thing 1; -- lease-level statement"),
		   "unknown lease statement reported");
		ok(has_line(imp.report, "dhcpd.leases:10: lease 192.168.0.1 is in no subnet of the configuration (imported anyway)"),
		   "lease outside the subnets reported");
		ok(strstr(imp.report, "dhcpd.leases:13: not converted: host h1 { ... } -- host added over OMAPI") != NULL,
		   "OMAPI host reported");
		ok(has_line(imp.report, "dhcpd.leases:17: not converted: failover peer \"p\" state { ... } -- no failover "
			    "peer of that name in the configuration: its state is not imported") &&
		   !strstr(imp.report, "dhcpd.leases:15:") && imp.sum.failover_states == 0 &&
		   imp.sum.failover_state_records == 2 && imp.n_fo_states == 0,
		   "state records of a peer the conf lacks: one warning, at the last record's line");
	} else {
		diag("%s", err);
	}
	rd_isc_import_free(&imp);

	/* bytes that are not UTF-8 never reach the YAML unescaped (libyaml would refuse the file) */
	static const char odd[] = "shared-network n\xff\x01 {\n subnet 10.0.0.0 netmask 255.255.255.0 {\n"
		"  option domain-name \"maas\";\n }\n}\n";
	static const char odd_leases[] = "failover peer \"p\xff\" state {\n my state normal;\n}\n";
	if (!is_int(convert(odd, odd_leases, &imp, err, sizeof(err)), 0, "non-UTF-8 names convert"))
		diag("%s", err);
	else
		ok(imp.n_fo_states == 0 && strstr(imp.report, "dhcpd.leases:1: not converted: failover peer") != NULL,
		   "a state record for a peer the conf lacks is reported, not imported");
	rd_isc_import_free(&imp);

	/* host checks: inside a pool, duplicate MAC, several fixed addresses */
	static const char hosts[] =
		"subnet 10.0.0.0 netmask 255.255.255.0 {\n  range 10.0.0.10 10.0.0.20;\n}\n"
		"subnet 10.0.1.0 netmask 255.255.255.0 { }\n"
		"host a { hardware ethernet 52:54:00:00:00:01; fixed-address 10.0.0.5, 10.0.1.5; }\n"
		"host b { hardware ethernet 52:54:00:00:00:01; fixed-address 10.0.0.6; }\n"
		"host c { hardware ethernet 52:54:00:00:00:02; fixed-address 10.0.0.12; }\n";
	if (is_int(convert(hosts, NULL, &imp, err, sizeof(err)), 0, "hosts convert")) {
		is_int((long long)imp.sum.reservations, 2, "host a in both subnets");
		ok(strstr(imp.report, "dhcpd.conf:6: not converted: host b { ... } -- duplicate of the reservation at line 5") != NULL,
		   "duplicate MAC reported");
		ok(strstr(imp.report, "dhcpd.conf:7: not converted: host c { ... } -- fixed-address 10.0.0.12 lies in a dynamic range") != NULL,
		   "reservation in a pool reported");
	} else {
		diag("%s", err);
	}
	rd_isc_import_free(&imp);
}

static void test_malformed(void)
{
	static const struct { const char *conf, *leases, *err; } bad[] = {
		{ "option domain-name \"maas;\n", NULL, "dhcpd.conf:1: string not terminated" },
		{ "subnet 10.0.0.0 netmask 255.255.255.0 {\n range 10.0.0.1 10.0.0.2;\n", NULL,
		  "dhcpd.conf:1: block opened here is not closed with '}'" },
		{ "authoritative\n", NULL, "dhcpd.conf:1: statement not ended with ';'" },
		{ "a;\n}\n", NULL, "dhcpd.conf:2: '}' without a matching '{'" },
		{ "subnet 10.0.0.0 netmask 255.255.255.0 {\n range 10.0.0.1 10.0.0.2\n}\n", NULL,
		  "dhcpd.conf:3: missing ';' before '}'" },
		{ "\n\ninclude \"/etc/x.conf\";\n", NULL, "dhcpd.conf:3: include is not supported" },
		{ "subnet 10.0.0.0 netmask 255.255.255.0 {\n range 10.0.0.1 10.0.0.300;\n}\n", NULL,
		  "dhcpd.conf:2: range: expected two IPv4 addresses" },
		{ "subnet 10.0.0.0 netmask 255.0.255.0 { }\n", NULL, "dhcpd.conf:1: netmask 255.0.255.0 is not contiguous" },
		{ "subnet 10.0.0.0 netmask 255.255.255.0 {\n pool { failover peer \"x\"; range 10.0.0.1 10.0.0.2; }\n}\n", NULL,
		  "dhcpd.conf:2: failover peer \"x\" is not declared" },
		{ "failover peer \"x\" {\n address 1.2.3.4;\n peer address 1.2.3.5;\n}\n", NULL,
		  "dhcpd.conf:1: failover peer \"x\": neither primary nor secondary" },
		{ "failover peer \"x\" {\n primary;\n address fo.example;\n peer address 1.2.3.5;\n}\n", NULL,
		  "dhcpd.conf:3: address: expected one IPv4 address" },
		{ "subnet 10.0.0.0 netmask 255.255.255.0 {\n option routers gw.example;\n}\n", NULL,
		  "dhcpd.conf:2: 'gw.example': expected a list of IPv4 addresses" },
		{ "", "lease 10.0.0.1 {\n starts 4 2024/13/04 12:00:00;\n}\n",
		  "dhcpd.leases:2: expected a date (W YYYY/MM/DD HH:MM:SS, never or epoch N) after 'starts'" },
		{ "", "\nlease 10.0.0.1 {\n binding state bogus;\n}\n", "dhcpd.leases:3: unknown binding state 'bogus'" },
		{ "", "lease 10.0.0 {\n}\n", "dhcpd.leases:1: lease: expected an IPv4 address, got '10.0.0'" },
		{ "", "lease 10.0.0.1 {\n uid \"\\001", "dhcpd.leases:2: string not terminated" },
		/* the converted file must pass our own checks: overlapping pools are refused */
		{ "subnet 10.0.0.0 netmask 255.255.255.0 {\n range 10.0.0.1 10.0.0.9;\n range 10.0.0.5 10.0.0.20;\n}\n",
		  NULL, "dhcpd.conf: the converted configuration is refused: rackdhcpd.yaml:" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rd_isc_import_t imp;
		char err[512] = "";
		int rc = convert(bad[i].conf, bad[i].leases, &imp, err, sizeof(err));
		ok(rc == RD_EMALFORMED && !strncmp(err, bad[i].err, strlen(bad[i].err)) && !imp.yaml && !imp.leases,
		   "refused: %s", bad[i].err);
		if (strncmp(err, bad[i].err, strlen(bad[i].err)))
			diag("got %d: %s", rc, err);
	}

	/* deep nesting is refused, not a stack overflow */
	char deep[4096] = "";
	for (int i = 0; i < 200; i++)
		strcat(deep, "a {");
	rd_isc_import_t imp;
	char err[256];
	ok(convert(deep, NULL, &imp, err, sizeof(err)) == RD_EMALFORMED && strstr(err, "nested"), "deep nesting refused");
}

/* ------------------------------------------------------------ failover state records */

/* a primary "a" (mclt 30) and a secondary "b" (no mclt: it learns it), one pool each */
static const char fo_conf[] =
	"failover peer \"a\" {\n primary;\n address 10.0.0.1;\n peer address 10.0.0.2;\n mclt 30;\n split 255;\n}\n"
	"failover peer \"b\" {\n secondary;\n address 10.0.1.1;\n peer address 10.0.1.2;\n}\n"
	"subnet 10.0.0.0 netmask 255.255.255.0 {\n pool {\n  failover peer \"a\";\n  range 10.0.0.10 10.0.0.20;\n }\n}\n"
	"subnet 10.0.1.0 netmask 255.255.255.0 {\n pool {\n  failover peer \"b\";\n  range 10.0.1.10 10.0.1.20;\n }\n}\n";

static const rd_isc_fo_state_t *fo_of(const rd_isc_import_t *imp, const char *name)
{
	for (size_t i = 0; i < imp->n_fo_states; i++)
		if (!strcmp(imp->fo_states[i].st.name, name))
			return &imp->fo_states[i];
	return NULL;
}

/* ISC's `my state` X for peer "a" (with a partner in normal): what is stored */
static void fo_map_case(const char *isc, bool stored, uint8_t want)
{
	char l[512], err[512] = "";
	rd_isc_import_t imp;
	snprintf(l, sizeof(l), "failover peer \"a\" state {\n my state %s at 1 2024/01/01 00:00:00;\n"
		 " partner state normal at 1 2024/01/01 00:00:05;\n}\n", isc);
	if (!is_int(convert(fo_conf, l, &imp, err, sizeof(err)), 0, "my state %s converts", isc)) {
		diag("%s", err);
		return;
	}
	const rd_isc_fo_state_t *f = imp.n_fo_states == 1 ? &imp.fo_states[0] : NULL;
	if (stored)
		ok(f && f->stored && f->isc_state == rd_fo_state_parse(isc) && f->st.state == want &&
		   f->st.stos == (uint32_t)utc(2024, 1, 1, 0, 0, 0) && f->st.partner == RD_FO_ST_NORMAL &&
		   f->st.partner_stos == (uint32_t)utc(2024, 1, 1, 0, 0, 5) && imp.sum.failover_states == 1,
		   "%s is stored as %s with ISC's STOS", isc, rd_fo_state_keyword(want));
	else
		ok(f && !f->stored && imp.sum.failover_states == 0 && strstr(imp.report, "not imported"),
		   "%s: nothing stored, and the report says so", isc);
	rd_isc_import_free(&imp);
}

static void test_fo_state(const char *tmp)
{
	/* the mapping rules, every state ISC can write */
	fo_map_case("normal", true, RD_FO_ST_NORMAL);
	fo_map_case("communications-interrupted", true, RD_FO_ST_COMM_INTERRUPTED);
	fo_map_case("partner-down", true, RD_FO_ST_COMM_INTERRUPTED);
	fo_map_case("potential-conflict", true, RD_FO_ST_POTENTIAL_CONFLICT);
	fo_map_case("resolution-interrupted", true, RD_FO_ST_RESOLUTION_INTERRUPTED);
	fo_map_case("conflict-done", true, RD_FO_ST_CONFLICT_DONE);
	fo_map_case("recover", true, RD_FO_ST_RECOVER);
	fo_map_case("recover-wait", true, RD_FO_ST_RECOVER);
	fo_map_case("recover-done", true, RD_FO_ST_RECOVER);
	fo_map_case("shutdown", true, RD_FO_ST_RECOVER);
	fo_map_case("paused", true, RD_FO_ST_PAUSED);
	fo_map_case("startup", false, 0);
	fo_map_case("unknown-state", false, 0);

	/*
	 * Several records, as ISC appends them: per relationship the last
	 * value of each field wins (b's last record has no partner line, so
	 * the partner comes from the one before); a record for a peer the
	 * conf lacks is a warning with its line; epoch dates; mclt recorded by
	 * the secondary.
	 */
	static const char l[] =
		"failover peer \"a\" state {\n my state recover at 1 2024/01/01 00:00:00;\n"          /* 1 */
		" partner state partner-down at 1 2024/01/01 00:00:00;\n}\n"
		"failover peer \"b\" state {\n my state recover-wait at 1 2024/01/01 00:00:00;\n"     /* 5 */
		" partner state partner-down at 1 2024/01/01 00:00:01;\n mclt 45;\n}\n"
		"failover peer \"gone\" state {\n my state normal at 1 2024/01/01 00:00:00;\n}\n"     /* 10 */
		"failover peer \"a\" state {\n my state normal at epoch 1704067300; # Mon Jan 01\n" /* 13 */
		" partner state normal at epoch 1704067301; # Mon Jan 01\n}\n"
		"failover peer \"b\" state {\n my state communications-interrupted at 1 2024/01/01 00:10:00;\n}\n"; /* 17 */
	rd_isc_import_t imp;
	char err[512] = "";
	if (!is_int(convert(fo_conf, l, &imp, err, sizeof(err)), 0, "several state records convert")) {
		diag("%s", err);
		return;
	}
	const rd_isc_fo_state_t *a = fo_of(&imp, "a"), *b = fo_of(&imp, "b");
	ok(a && a->stored && a->st.state == RD_FO_ST_NORMAL && a->st.stos == 1704067300 &&
	   a->st.partner == RD_FO_ST_NORMAL && a->st.partner_stos == 1704067301 && a->st.mclt == 30 && a->line == 13,
	   "a: the last record wins (epoch dates), the primary's MCLT from the conf");
	ok(b && b->stored && b->st.state == RD_FO_ST_COMM_INTERRUPTED && b->st.stos == (uint32_t)utc(2024, 1, 1, 0, 10, 0) &&
	   b->st.partner == RD_FO_ST_PARTNER_DOWN && b->st.partner_stos == (uint32_t)utc(2024, 1, 1, 0, 0, 1) &&
	   b->st.mclt == 45 && b->line == 17,
	   "b: fields a later record leaves out keep their earlier value (partner, mclt)");
	ok(imp.n_fo_states == 2 && imp.sum.failover_states == 2 && imp.sum.failover_state_records == 5,
	   "two relationships from five records");
	ok(has_line(imp.report, "dhcpd.leases:10: not converted: failover peer \"gone\" state { ... } -- no failover "
		    "peer of that name in the configuration: its state is not imported"),
	   "unknown relationship: a warning by line");
	ok(has_line(imp.report, "dhcpd.leases:17: failover peer \"b\": my state communications-interrupted since "
		    "2024-01-01 00:10:00 UTC, partner partner-down since 2024-01-01 00:00:01 UTC, mclt 45 (2 state records): "
		    "imported as communications-interrupted"), "report: b's line");
	ok(imp.fo_summary && strstr(imp.fo_summary, "failover peer \"a\": my state normal since 2024-01-01 00:01:40 UTC") &&
	   strstr(imp.fo_summary, "failover peer \"b\": my state communications-interrupted") &&
	   !strstr(imp.fo_summary, "gone"), "summary: one line per imported relationship");
	ok(strstr(imp.yaml, "#   dhcpd.leases:13: failover peer \"a\": my state normal") != NULL, "YAML comment");

	/* into the store: rd_store_fo_state_get reads back what peer_boot will */
	char dir[256], path[320];
	snprintf(dir, sizeof(dir), "%s/fo", tmp);
	if (is_int(rd_isc_write(&imp, dir, err, sizeof(err)), 0, "write DIR with failover states")) {
		snprintf(path, sizeof(path), "%s/leases.db", dir);
		rd_store_t *st = NULL;
		rd_store_fo_state_t fs;
		if (is_int(rd_store_open(path, RD_STORE_SYNC, NULL, &st, err, sizeof(err)), 0, "the store opens")) {
			ok(rd_store_fo_state_get(st, "a", &fs) == 0 && fs.state == RD_FO_ST_NORMAL && fs.stos == 1704067300 &&
			   fs.partner == RD_FO_ST_NORMAL && fs.partner_stos == 1704067301 && fs.mclt == 30,
			   "store: a is NORMAL with ISC's times");
			ok(rd_store_fo_state_get(st, "b", &fs) == 0 && fs.state == RD_FO_ST_COMM_INTERRUPTED && fs.mclt == 45,
			   "store: b is COMMUNICATIONS-INTERRUPTED, mclt 45");
			is_int(rd_store_fo_state_get(st, "gone", &fs), -ENOENT, "store: nothing for the unknown relationship");
			rd_store_close(st);
		} else {
			diag("%s", err);
		}
	} else {
		diag("%s", err);
	}
	rd_isc_import_free(&imp);

	/* a STARTUP record stores nothing, and no `at` means the import's time */
	time_t t0 = time(NULL);
	if (is_int(convert(fo_conf, "failover peer \"a\" state {\n my state startup;\n}\n"
			   "failover peer \"b\" state {\n my state normal;\n partner state normal;\n}\n", &imp, err,
			   sizeof(err)), 0, "records without dates convert")) {
		b = fo_of(&imp, "b");
		ok(b && b->stored && b->st.stos >= (uint32_t)t0 && b->st.stos <= (uint32_t)time(NULL) + 1 &&
		   b->st.partner_stos == b->st.stos, "no date: STOS is the import's time");
		ok(imp.sum.failover_states == 1 && has_line(imp.report, "dhcpd.leases:1: failover peer \"a\": my state startup "
		   "since ") == false && strstr(imp.report, "my state startup since") &&
		   strstr(imp.report, "not imported: rackdhcpd starts over in recover"), "startup: not imported, reported");
		snprintf(dir, sizeof(dir), "%s/fo2", tmp);
		if (is_int(rd_isc_write(&imp, dir, err, sizeof(err)), 0, "write DIR")) {
			snprintf(path, sizeof(path), "%s/leases.db", dir);
			rd_store_t *st = NULL;
			rd_store_fo_state_t fs;
			if (rd_store_open(path, RD_STORE_SYNC, NULL, &st, err, sizeof(err)) == 0) {
				is_int(rd_store_fo_state_get(st, "a", &fs), -ENOENT, "store: no row for the startup record");
				rd_store_close(st);
			}
		}
	} else {
		diag("%s", err);
	}
	rd_isc_import_free(&imp);

	/* a record without `my state`: reported, nothing stored */
	if (is_int(convert(fo_conf, "failover peer \"a\" state {\n partner state normal;\n}\n", &imp, err, sizeof(err)), 0,
		   "a record with only the partner converts"))
		ok(imp.n_fo_states == 1 && !imp.fo_states[0].stored &&
		   has_line(imp.report, "dhcpd.leases:1: failover peer \"a\": no 'my state' in 1 state record: not "
			    "imported (rackdhcpd starts over in recover, as a new server does)"), "no my state: not imported");
	rd_isc_import_free(&imp);

	/* bad records: the whole import is refused with FILE:LINE, as ISC refuses to start */
	static const struct { const char *leases, *err; } bad[] = {
		{ "failover peer \"a\" state {\n my state bogus at 1 2024/01/01 00:00:00;\n}\n",
		  "dhcpd.leases:2: failover state record: unknown state 'bogus'" },
		{ "\nfailover peer \"a\" state {\n peer state normal;\n}\n",
		  "dhcpd.leases:3: failover state record: expected 'my state', 'partner state' or 'mclt', got 'peer'" },
		{ "failover peer \"a\" state {\n my state normal at 1 2024/01/01;\n}\n",
		  "dhcpd.leases:2: failover state record: expected 'at' and a date" },
		{ "failover peer \"a\" state {\n my state normal at never;\n}\n",
		  "dhcpd.leases:2: failover state record: expected 'at' and a date" },
		{ "failover peer \"a\" state {\n partner normal;\n}\n",
		  "dhcpd.leases:2: failover state record: expected 'partner state NAME [at DATE];'" },
		{ "failover peer \"a\" state {\n mclt x;\n}\n", "dhcpd.leases:2: failover state record: mclt: expected" },
		{ "failover peer \"a\" state {\n my { }\n}\n", "dhcpd.leases:2: failover state record: unexpected block" },
		{ "failover peer a state {\n my state normal;\n}\n",
		  "dhcpd.leases:1: expected: failover peer \"NAME\" state { ... }" },
		/* a bad record is refused even when a later one would supersede it */
		{ "failover peer \"a\" state {\n my state Normal;\n}\nfailover peer \"a\" state {\n my state normal;\n}\n",
		  "dhcpd.leases:2: failover state record: unknown state 'Normal'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char e[512] = "";
		int rc = convert(fo_conf, bad[i].leases, &imp, e, sizeof(e));
		ok(rc == RD_EMALFORMED && !strncmp(e, bad[i].err, strlen(bad[i].err)) && !imp.fo_states && !imp.yaml,
		   "refused: %s", bad[i].err);
		if (strncmp(e, bad[i].err, strlen(bad[i].err)))
			diag("got %d: %s", rc, e);
	}
}

int main(void)
{
	plan_lazy();
	char tmp[] = "/tmp/test_isc_import.XXXXXX";
	if (!mkdtemp(tmp))
		bail_out("mkdtemp");
	test_config();
	test_store(tmp);
	test_cases();
	test_malformed();
	test_fo_state(tmp);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		diag("could not remove %s", tmp);
	return done_testing();
}
