/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_region_compose — rd_region_compose, the rule that combines the
 * configuration file with the region's view (docs/config.md, "Region and
 * file together"): a file alone comes back unchanged (every field survives
 * being written out and parsed again); with a view, the region's subnets
 * and failover peers are served, the file's subnets that overlap a region
 * subnet and the file's peers whose names the region uses are left out and
 * reported; `source: region` serves the view only; the region keys are
 * parsed, defaulted and refused as documented; strings YAML could mangle,
 * and every valid configuration of the config fuzzer's corpus, survive the
 * round trip.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rackdhcp/error.h"
#include "rackdhcp/region.h"
#include "tap.h"

#define REGION_SECTION                                                                                         \
	"region:\n"                                                                                            \
	"  maas_url: [http://r1:5240/MAAS, https://r2:5443/MAAS]\n"                                            \
	"  api_key_file: /etc/rackdhcpd/maas.key\n"                                                            \
	"  system_id: 7xtf67\n"                                                                                \
	"  poll_interval: 7\n"

/* Every key a file can give, values away from the defaults. */
static const char FILE_FULL[] =
	"server:\n"
	"  interfaces: [eth0, eth1]\n"
	"  state_dir: /var/lib/x\n"
	"  workers: 3\n"
	"  log_level: debug\n"
	"  rate_limit: {per_client: {rate: 5, burst: 9}}\n"
	"  metrics: 127.0.0.1:9400\n"
	"  user: rackdhcpd\n"
	"  durability: relaxed\n"
	"  pidfile: /run/x.pid\n"
	"  control_socket: /run/x/ctl.sock\n"
	"  lease_events_socket: /var/lib/maas/dhcpd.sock\n"
	REGION_SECTION
	"  ca_file: /etc/ssl/maas.pem\n"
	"  connect_timeout: 2\n"
	"  timeout: 9\n"
	"failover:\n"
	"  - name: local-pair\n"
	"    role: primary\n"
	"    address: 192.168.5.2\n"
	"    port: 847\n"
	"    peer_address: 192.168.5.3\n"
	"    peer_port: 848\n"
	"    mclt: 1800\n"
	"    hba: \"ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00\"\n"
	"    max_response_delay: 30\n"
	"    max_unacked_updates: 5\n"
	"    load_balance_max_seconds: 7\n"
	"    auto_partner_down: 600\n"
	"    ack_after_peer: false\n"
	"  - name: failover-vlan-5001\n"
	"    role: secondary\n"
	"    address: 10.99.0.2\n"
	"    peer_address: 10.99.0.3\n"
	"subnets:\n"
	"  - cidr: 192.168.5.0/24\n"
	"    routers: [192.168.5.1]\n"
	"    dns_servers: [192.168.5.1, 9.9.9.9]\n"
	"    domain_name: \"lab.example\"\n"
	"    domain_search: [lab.example, example]\n"
	"    ntp_servers: [192.168.5.1]\n"
	"    mtu: 9000\n"
	"    lease_time: 1200\n"
	"    pxe_lease_time: 40\n"
	"    min_lease_time: 60\n"
	"    max_lease_time: 7200\n"
	"    decline_hold_time: 300\n"
	"    ignore_client_ids: false\n"
	"    next_server: 192.168.5.9\n"
	"    boot_http_port: 8080\n"
	"    disabled_boot_architectures: [uefi_ebc_tftp]\n"
	"    pools:\n"
	"      - range: 192.168.5.100-192.168.5.150\n"
	"        failover_peer: local-pair\n"
	"      - range: 192.168.5.200-192.168.5.210\n"
	"    reservations:\n"
	"      - {mac: \"52:54:00:00:00:01\", address: 192.168.5.20, hostname: \"node-1\"}\n"
	"      - {mac: \"52:54:00:00:00:02\", address: 192.168.5.21}\n"
	"  - cidr: 10.10.0.0/16\n"
	"    pools:\n"
	"      - range: 10.10.1.10-10.10.1.20\n"
	"  - cidr: 10.99.0.0/24\n"
	"    pools:\n"
	"      - range: 10.99.0.10-10.99.0.20\n"
	"        failover_peer: failover-vlan-5001\n";

/* A view as the region renders it (failover and subnets only). */
static const char VIEW[] =
	"failover:\n"
	"  - name: failover-vlan-5001\n"
	"    role: primary\n"
	"    address: 10.10.0.2\n"
	"    peer_address: 10.10.0.3\n"
	"    mclt: 3600\n"
	"    split: 255\n"
	"subnets:\n"
	"  - cidr: 10.10.0.0/24\n"
	"    routers: [10.10.0.1]\n"
	"    domain_name: \"maas\"\n"
	"    pools:\n"
	"      - range: 10.10.0.100-10.10.0.199\n"
	"        failover_peer: failover-vlan-5001\n"
	"    reservations:\n"
	"      - {mac: \"52:54:00:aa:bb:cc\", address: 10.10.0.20}\n"
	"  - cidr: 10.20.0.0/24\n"
	"    pools:\n"
	"      - range: 10.20.0.100-10.20.0.150\n";

static rd_config_t *parse(const char *text, const char *name)
{
	char err[512] = "";
	rd_config_t *c = NULL;
	int rc = rd_config_parse(text, strlen(text), name, &c, err, sizeof(err));
	if (!ok(rc == 0, "%s parses", name))
		diag("%s", err);
	return c;
}

struct notes {
	char text[4096];
	int n;
};

static void note(void *arg, const char *line)
{
	struct notes *ns = arg;
	size_t len = strlen(ns->text);
	snprintf(ns->text + len, sizeof(ns->text) - len, "%s\n", line);
	ns->n++;
}

static void count_line(void *arg, const char *line)
{
	diag("diff: %s", line);
	(*(int *)arg)++;
}

static const rd_cfg_subnet_t *subnet_at(const rd_config_t *c, const char *cidr)
{
	char buf[32];
	for (size_t i = 0; c && i < c->n_subnets; i++) {
		const rd_cfg_subnet_t *s = &c->subnets[i];
		snprintf(buf, sizeof(buf), "%u.%u.%u.%u/%u", s->network >> 24, (s->network >> 16) & 255,
			 (s->network >> 8) & 255, s->network & 255, s->prefix_len);
		if (!strcmp(buf, cidr))
			return s;
	}
	return NULL;
}

/* The file alone: composed == the file, field for field. */
static void test_file_alone(void)
{
	rd_config_t *file = parse(FILE_FULL, "file");
	rd_config_t *out = NULL;
	struct notes ns = { .n = 0 };
	char err[512] = "";
	if (!file)
		return;
	int rc = rd_region_compose(file, NULL, note, &ns, &out, err, sizeof(err));
	if (!is_int(rc, 0, "file alone composes"))
		diag("%s", err);
	if (!out) {
		rd_config_free(file);
		return;
	}
	is_int(ns.n, 0, "nothing left out of a file alone");
	int lines = 0;
	is_int(rd_region_view_diff(file, out, count_line, &lines), 0, "no difference the diff can see");
	/* and what the diff does not look at */
	is_int((long long)out->server.workers, 3, "server.workers kept");
	is_int(out->server.n_interfaces, 2, "server.interfaces kept");
	is_int(out->server.rate_limit.per_client.rate, 5, "rate limit kept");
	ok(out->server.metrics && !strcmp(out->server.metrics, "127.0.0.1:9400") && out->server.metrics_port == 9400,
	   "server.metrics kept");
	ok(out->server.user && !strcmp(out->server.user, "rackdhcpd"), "server.user kept");
	is_int(out->server.durability, RD_DURABILITY_RELAXED, "server.durability kept");
	is_int(out->server.log_level, RD_LOG_DEBUG, "server.log_level kept");
	is_str(out->server.state_dir, "/var/lib/x", "server.state_dir kept");
	is_str(out->server.pidfile, "/run/x.pid", "server.pidfile kept");
	is_str(out->server.control_socket, "/run/x/ctl.sock", "server.control_socket kept");
	is_str(out->server.lease_events_socket, "/var/lib/maas/dhcpd.sock", "server.lease_events_socket kept");
	is_str(out->region.ca_file, "/etc/ssl/maas.pem", "region.ca_file kept");
	is_int(out->region.connect_timeout, 2, "region.connect_timeout kept");
	is_int(out->region.timeout, 9, "region.timeout kept");
	is_int(out->region.poll_interval, 7, "region.poll_interval kept");
	is_int((long long)out->region.n_maas_url, 2, "both region URLs kept");
	const rd_cfg_failover_t *f = rd_config_failover(out, "local-pair");
	ok(f && f->port == 847 && f->peer_port == 848 && f->mclt == 1800 && f->has_hba && !f->has_split &&
		   f->hba[0] == 0xff && f->hba[1] == 0x00 && f->max_response_delay == 30 &&
		   f->max_unacked_updates == 5 && f->load_balance_max_seconds == 7 && f->auto_partner_down == 600 &&
		   !f->ack_after_peer,
	   "failover peer: ports, mclt, hba, timers, ack_after_peer kept");
	const rd_cfg_failover_t *f2 = rd_config_failover(out, "failover-vlan-5001");
	ok(f2 && f2->ack_after_peer, "ack_after_peer left at its default stays true");
	const rd_cfg_subnet_t *a = subnet_at(file, "192.168.5.0/24"), *b = subnet_at(out, "192.168.5.0/24");
	ok(a && b && b->lease_time == 1200 && b->pxe_lease_time == 40 && b->min_lease_time == 60 &&
		   b->max_lease_time == 7200 && b->decline_hold_time == 300 && !b->ignore_client_ids &&
		   b->boot_http_port == 8080 && b->next_server == a->next_server && b->mtu == 9000 &&
		   b->disabled_boot_mask == a->disabled_boot_mask,
	   "subnet: lease times, client ids, boot settings kept");
	ok(b && b->n_reservations == 2 && b->reservations[0].hostname &&
		   !strcmp(b->reservations[0].hostname, "node-1") && !b->reservations[1].hostname,
	   "reservation host names kept");
	ok(b && b->n_pools == 2 && b->pools[0].failover && !strcmp(b->pools[0].failover->name, "local-pair") &&
		   !b->pools[1].failover,
	   "pools keep their failover peers");
	ok(out->filename && strstr(out->filename, "+ region view"), "the result is named after the file (%s)",
	   out->filename ? out->filename : "(null)");
	rd_config_free(out);
	rd_config_free(file);
}

static void test_merge(void)
{
	rd_config_t *file = parse(FILE_FULL, "file");
	rd_config_t *view = NULL, *out = NULL;
	struct notes ns = { .n = 0 };
	char err[512] = "";
	int rc = rd_region_view_parse(VIEW, strlen(VIEW), &view, err, sizeof(err));
	if (!is_int(rc, 0, "the view parses alone"))
		diag("%s", err);
	if (!file || !view)
		goto out;
	rc = rd_region_compose(file, view, note, &ns, &out, err, sizeof(err));
	if (!is_int(rc, 0, "file + view compose"))
		diag("%s", err);
	if (!out)
		goto out;
	ok(subnet_at(out, "10.10.0.0/24") && subnet_at(out, "10.20.0.0/24"), "the region's subnets are served");
	ok(subnet_at(out, "192.168.5.0/24") != NULL, "the file's subnet that overlaps none is served");
	ok(!subnet_at(out, "10.10.0.0/16"), "the file's 10.10.0.0/16 (overlaps the region's 10.10.0.0/24) is not");
	ok(!subnet_at(out, "10.99.0.0/24"), "the file's subnet whose pool names a redefined peer is not");
	const rd_cfg_failover_t *f = rd_config_failover(out, "failover-vlan-5001");
	ok(f && f->role == RD_FO_PRIMARY && f->address == 0x0a0a0002, "failover-vlan-5001 is the region's");
	ok(rd_config_failover(out, "local-pair") != NULL, "the file's own failover peer is kept");
	is_int(out->n_failovers, 2, "two failover peers");
	is_int(ns.n, 3, "three things left out, each reported");
	ok(strstr(ns.text, "subnet 10.10.0.0/16 of file not served: it overlaps the region's subnet 10.10.0.0/24") != NULL,
	   "the overlap is reported, naming both subnets");
	ok(strstr(ns.text, "failover peer failover-vlan-5001 of file not used") != NULL, "the name clash is reported");
	ok(strstr(ns.text, "subnet 10.99.0.0/24 of file not served: its pool names failover peer failover-vlan-5001") !=
		   NULL,
	   "the orphaned subnet is reported");
	is_int(out->server.workers, 3, "the file's server section applies");
	const rd_cfg_subnet_t *s = subnet_at(out, "10.10.0.0/24");
	ok(s && s->n_pools == 1 && s->pools[0].failover == f, "the region's pool points at the region's peer");
	if (ns.n != 3)
		diag("%s", ns.text);
	rd_config_free(out);
	out = NULL;

	/* source: region serves the view alone */
	char *text = malloc(sizeof(FILE_FULL) + 64);
	if (text) {
		const char *at = strstr(FILE_FULL, "  ca_file:");
		size_t head = (size_t)(at - FILE_FULL);
		memcpy(text, FILE_FULL, head);
		strcpy(text + head, "  source: region\n");
		strcat(text, at);
		rd_config_t *f2 = parse(text, "file with source: region");
		if (f2) {
			is_int(f2->region.source, RD_REGION_SOURCE_REGION, "source: region parsed");
			memset(&ns, 0, sizeof(ns));
			rc = rd_region_compose(f2, view, note, &ns, &out, err, sizeof(err));
			is_int(rc, 0, "source: region composes");
			ok(out && out->n_subnets == 2 && subnet_at(out, "10.10.0.0/24") && subnet_at(out, "10.20.0.0/24"),
			   "source: region: the region's subnets only");
			ok(out && out->n_failovers == 1, "source: region: the region's failover peers only");
			rd_config_free(out);
			out = NULL;
			rc = rd_region_compose(f2, NULL, note, &ns, &out, err, sizeof(err));
			ok(rc == 0 && out && out->n_subnets == 0 && out->n_failovers == 0 && out->server.workers == 3,
			   "source: region without a view: the server section, nothing served");
			rd_config_free(out);
			out = NULL;
			rd_config_free(f2);
		}
		free(text);
	}
out:
	rd_config_free(view);
	rd_config_free(file);
}

/* What compose refuses, and the view's own validation before it. */
static void test_refused(void)
{
	static const char no_region[] = "subnets:\n  - cidr: 10.30.0.0/24\n";
	rd_config_t *nr = parse(no_region, "file without region");
	rd_config_t *out = NULL;
	char err[512] = "";
	if (nr)
		is_int(rd_region_compose(nr, NULL, NULL, NULL, &out, err, sizeof(err)), RD_EINVAL,
		       "a file without a region section is refused");
	/* a view that contradicts itself never reaches compose: the view is
	 * validated alone first */
	static const char bad_view[] = "failover: []\nsubnets:\n  - cidr: 10.40.0.0/24\n  - cidr: 10.40.0.0/25\n";
	rd_config_t *v = NULL;
	int rc = rd_region_view_parse(bad_view, strlen(bad_view), &v, err, sizeof(err));
	ok(rc == RD_EMALFORMED && strstr(err, "overlaps"), "a view that contradicts itself is refused (%s)", err);
	rd_config_free(v);
	rd_config_free(nr);
}

static void test_region_keys(void)
{
	char err[512];
	rd_config_t *c = NULL;
	static const char defaults[] = REGION_SECTION;
	if (rd_config_parse(defaults, strlen(defaults), "defaults", &c, err, sizeof(err)) == 0) {
		ok(c->region.connect_timeout == RD_CFG_DEFAULT_REGION_CONNECT_TIMEOUT &&
			   c->region.timeout == RD_CFG_DEFAULT_REGION_TIMEOUT && !c->region.ca_file &&
			   c->region.source == RD_REGION_SOURCE_MERGE,
		   "region keys default: connect_timeout %u, timeout %u, no ca_file, source merge",
		   c->region.connect_timeout, c->region.timeout);
		rd_config_free(c);
	} else {
		ok(false, "region defaults parse: %s", err);
	}
	static const struct {
		const char *extra, *want;
	} bad[] = {
		{ "  ca_file: relative.pem\n", "region.ca_file: 'relative.pem' must be an absolute path" },
		{ "  timeout: 0\n", "region.timeout: 0 is out of range" },
		{ "  connect_timeout: 20\n  timeout: 10\n", "longer than region.timeout" },
		{ "  timeout: 2\n", "longer than region.timeout" },
		{ "  source: both\n", "region.source: 'both' is not one of merge | region" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[1024];
		snprintf(text, sizeof(text), "%s%s", REGION_SECTION, bad[i].extra);
		c = NULL;
		err[0] = '\0';
		int rc = rd_config_parse(text, strlen(text), "bad", &c, err, sizeof(err));
		ok(rc == RD_EMALFORMED && strstr(err, bad[i].want), "refused: %.*s (%s)",
		   (int)strcspn(bad[i].extra + 2, "\n"), bad[i].extra + 2, err);
		rd_config_free(c);
	}
}


/*
 * Round trip of what YAML could mangle: host names and paths with quotes,
 * backslashes, '#', ': ', braces and non-ASCII bytes; then every valid
 * configuration of the config fuzzer's corpus, given a region section.
 */
static void round_trip(rd_config_t *file, const char *what)
{
	static char *urls[] = { "http://r1:5240/MAAS" };
	rd_config_t *out = NULL;
	char err[512] = "";
	if (!file->region.present) {
		file->region.present = true;
		file->region.maas_url = urls;
		file->region.n_maas_url = 1;
		file->region.api_key_file = "/etc/k";
		file->region.system_id = "abc123";
	}
	int rc = rd_region_compose(file, NULL, NULL, NULL, &out, err, sizeof(err));
	if (!ok(rc == 0, "%s: composes alone", what)) {
		diag("%s", err);
		return;
	}
	int lines = 0;
	is_int(rd_region_view_diff(file, out, count_line, &lines), 0, "%s: no difference the diff can see", what);
	ok(out->n_subnets == file->n_subnets && out->n_failovers == file->n_failovers, "%s: as many subnets and peers",
	   what);
	for (size_t i = 0; i < file->n_subnets && i < out->n_subnets; i++) {
		const rd_cfg_subnet_t *a = &file->subnets[i], *b = &out->subnets[i];
		bool same = a->n_reservations == b->n_reservations;
		for (size_t k = 0; same && k < a->n_reservations; k++) {
			const char *x = a->reservations[k].hostname, *y = b->reservations[k].hostname;
			same = (x == NULL) == (y == NULL) && (!x || !strcmp(x, y));
		}
		ok(same, "%s: subnet %zu: host names byte for byte", what, i);
	}
	ok(!strcmp(file->server.state_dir, out->server.state_dir) &&
		   !strcmp(file->server.control_socket, out->server.control_socket),
	   "%s: paths byte for byte", what);
	rd_config_free(out);
}

static void test_awkward_strings(void)
{
	static const char text[] =
		"server:\n"
		"  state_dir: \"/var/lib/a b/\\\"quoted\\\" #x: {y}\"\n"
		"  control_socket: \"/run/\\u00e9t\\u00e9/c.sock\"\n"
		"subnets:\n"
		"  - cidr: 10.1.0.0/24\n"
		"    reservations:\n"
		"      - {mac: \"52:54:00:00:00:01\", address: 10.1.0.5, hostname: \"a\\\"b\\\\c#d:e\"}\n"
		"      - {mac: \"52:54:00:00:00:02\", address: 10.1.0.6, hostname: \"x:{y},[z]&*w!v%u\"}\n"
		"      - {mac: \"52:54:00:00:00:03\", address: 10.1.0.7, hostname: \"n\\u00f6de-\\u2603\"}\n";
	rd_config_t *c = parse(text, "awkward strings");
	if (c) {
		round_trip(c, "awkward strings");
		/* the region section round_trip added points at static strings */
		c->region.present = false;
		c->region.maas_url = NULL;
		c->region.api_key_file = NULL;
		c->region.system_id = NULL;
		rd_config_free(c);
	}
}

static void test_corpus(void)
{
	const char *top = getenv("top_srcdir");
#ifdef RD_SRCDIR
	if (!top)
		top = RD_SRCDIR;
#endif
	if (!top) {
		skip("top_srcdir unset: the config corpus is not round-tripped");
		return;
	}
	char dirpath[4096];
	snprintf(dirpath, sizeof(dirpath), "%s/tests/fuzz/corpus/config", top);
	DIR *dir = opendir(dirpath);
	if (!ok(dir != NULL, "open %s", dirpath))
		return;
	struct dirent *e;
	int valid = 0;
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		char path[4400], err[512];
		snprintf(path, sizeof(path), "%s/%s", dirpath, e->d_name);
		rd_config_t *c = NULL;
		if (rd_config_load(path, &c, err, sizeof(err)) != 0)
			continue;
		valid++;
		bool had = c->region.present;
		round_trip(c, e->d_name);
		if (!had) {
			c->region.present = false;
			c->region.maas_url = NULL;
			c->region.api_key_file = NULL;
			c->region.system_id = NULL;
		}
		rd_config_free(c);
	}
	closedir(dir);
	ok(valid >= 3, "%d valid configurations of the corpus round-tripped", valid);
}

int main(void)
{
	plan_lazy();
	test_file_alone();
	test_merge();
	test_refused();
	test_region_keys();
	test_awkward_strings();
	test_corpus();
	return done_testing();
}
