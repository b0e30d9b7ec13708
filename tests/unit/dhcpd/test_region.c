/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_region.c — tests of region sync (dhcpd/region.c, dhcpd/region_view.c)
 * against tests/region/fixture.py, a stand-in MAAS region serving MAAS 3.x
 * shaped JSON on 127.0.0.1 (two instances: two region URLs).
 *
 * Checked: a full pull gives the expected configuration (failover roles and
 * peers, subnets and options, DNS and NTP lists, pools in range-id order,
 * reservations with MAAS's filters), the OAuth header is accepted and its
 * nonces are fresh, a wrong key is refused without switching, the key file's
 * permissions and format are checked, failover to the second URL on a 500,
 * a timeout, a dead port and a truncated body (each switch logged), the way
 * back to the first URL, garbage JSON / partial data / wrong types refused
 * with the endpoint and field, an oversized body refused, redirects, config
 * rules applied to region data with the MAAS object named, and diff lines.
 *
 * Skips (77) when python3 is not there.  The fixtures are stopped by PID and
 * exit by themselves if this program dies.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/config.h"
#include "rackdhcp/error.h"
#include "rackdhcp/log.h"
#include "rackdhcp/region.h"
#include "tap.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define SELF "7xtf67"
/* '&' and '~' exercise the double encoding of the PLAINTEXT signature */
#define KEY "ck1:tk1:s3cr&t~x"

static const char *srcdir;
static char tmpdir[] = "/tmp/rd-region-XXXXXX";
static char key_path[256];

struct fixture {
	pid_t pid;
	int port;
	char url[64];
};

static struct fixture fx[2];

/* ----------------------------------------------------------- fixtures */

static const char *python(void)
{
	const char *p = getenv("PYTHON");
	if (!p || !*p)
		p = "/usr/bin/python3";
	return access(p, X_OK) == 0 ? p : NULL;
}

/* cert/key: PEM files for an HTTPS-only fixture (NULL: plain HTTP). */
static bool fixture_start_tls(struct fixture *f, const char *cert, const char *key)
{
	char script[512], data[512];
	int pfd[2];

	snprintf(script, sizeof(script), "%s/tests/region/fixture.py", srcdir);
	snprintf(data, sizeof(data), "%s/tests/region/data", srcdir);
	if (pipe(pfd) < 0)
		return false;
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		if (cert)
			execl(python(), python(), script, "--data", data, "--key", KEY, "--lifetime", "120",
			      "--tls-cert", cert, "--tls-key", key, (char *)NULL);
		else
			execl(python(), python(), script, "--data", data, "--key", KEY, "--lifetime", "120",
			      (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	f->pid = pid;
	/* the fixture prints "PORT n" once it listens: wait for it, at most 15 s */
	char line[64];
	size_t used = 0;
	while (used < sizeof(line) - 1 && !memchr(line, '\n', used)) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		if (poll(&p, 1, 15000) <= 0)
			break;
		ssize_t n = read(pfd[0], line + used, sizeof(line) - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	line[used] = '\0';
	close(pfd[0]);
	if (sscanf(line, "PORT %d", &f->port) != 1)
		return false;
	snprintf(f->url, sizeof(f->url), "%s://127.0.0.1:%d/MAAS", cert ? "https" : "http", f->port);
	return true;
}

static bool fixture_start(struct fixture *f)
{
	return fixture_start_tls(f, NULL, NULL);
}

static void fixture_stop(struct fixture *f)
{
	if (f->pid <= 0)
		return;
	kill(f->pid, SIGTERM);
	for (int i = 0; i < 50; i++) {
		if (waitpid(f->pid, NULL, WNOHANG) == f->pid) {
			f->pid = 0;
			return;
		}
		usleep(100000);
	}
	kill(f->pid, SIGKILL);
	waitpid(f->pid, NULL, 0);
	f->pid = 0;
}

static size_t sink(char *p, size_t s, size_t n, void *arg)
{
	char **out = arg;
	size_t old = *out ? strlen(*out) : 0;
	char *q = realloc(*out, old + s * n + 1);
	if (!q)
		return 0;
	memcpy(q + old, p, s * n);
	q[old + s * n] = '\0';
	*out = q;
	return s * n;
}

/* A control request to a fixture; returns the body (malloc'ed) or NULL. */
static char *ctl(const struct fixture *f, const char *method, const char *path, const char *body)
{
	char url[256], *out = NULL;
	long code = 0;
	CURL *h = curl_easy_init();
	if (!h)
		return NULL;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/_control/%s", f->port, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	if (body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK || code != 200) {
		diag("control %s %s: curl %d, HTTP %ld", method, path, (int)rc, code);
		free(out);
		return NULL;
	}
	return out ? out : strdup("");
}

static void ctl_do(const struct fixture *f, const char *method, const char *path, const char *body)
{
	free(ctl(f, method, path, body));
}

static void reset_all(void)
{
	ctl_do(&fx[0], "POST", "reset", "");
	ctl_do(&fx[1], "POST", "reset", "");
}

/* ------------------------------------------------------ log capture */

static int saved_stderr = -1;
static char log_path[300];

static void capture_begin(void)
{
	fflush(stderr);
	int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

/* Stop capturing; returns what was logged (malloc'ed). */
static char *capture_end(void)
{
	if (saved_stderr < 0)
		return strdup("");
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	saved_stderr = -1;
	FILE *fp = fopen(log_path, "r");
	char *buf = calloc(1, 65536);
	if (fp && buf)
		buf[fread(buf, 1, 65535, fp)] = '\0';
	if (fp)
		fclose(fp);
	return buf ? buf : strdup("");
}

/* ------------------------------------------------------------ helpers */

static bool write_file(const char *path, const char *text, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	bool good = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return good && chmod(path, mode) == 0;
}

static rd_region_client_t *client_ca(const char *u0, const char *u1, long timeout_ms, size_t max, long prefer_ms,
				     const char *ca_file)
{
	const char *urls[2] = { u0, u1 };
	rd_region_opts_t o = {
		.urls = urls,
		.n_urls = u1 ? 2 : 1,
		.api_key_file = key_path,
		.ca_file = ca_file,
		.connect_timeout_ms = 1000,
		.timeout_ms = timeout_ms,
		.max_response = max,
		.prefer_first_ms = prefer_ms,
	};
	rd_region_client_t *c = NULL;
	char err[512];
	if (rd_region_client_new(&o, &c, err, sizeof(err)))
		diag("client: %s", err);
	return c;
}

static rd_region_client_t *client(const char *u0, const char *u1, long timeout_ms, size_t max, long prefer_ms)
{
	return client_ca(u0, u1, timeout_ms, max, prefer_ms, NULL);
}

/* Pull and parse; NULL (with err) on failure. */
static rd_config_t *pull(rd_region_client_t *c, const rd_config_t *base, char *err, size_t errlen, int *rcp)
{
	char *yaml = NULL;
	size_t len = 0;
	rd_config_t *cfg = NULL;
	int rc = rd_region_pull(c, SELF, base, &yaml, &len, err, errlen);
	if (!rc) {
		rc = rd_region_view_parse(yaml, len, &cfg, err, errlen);
		if (rc)
			diag("YAML refused:\n%s", yaml);
	}
	free(yaml);
	if (rcp)
		*rcp = rc;
	return cfg;
}

static bool ips_are(const uint32_t *got, size_t n, const uint32_t *want, size_t m)
{
	if (n != m)
		return false;
	for (size_t i = 0; i < n; i++)
		if (got[i] != want[i])
			return false;
	return true;
}

static const char *ips_str(const uint32_t *a, size_t n, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%u.%u.%u.%u", i ? "," : "", a[i] >> 24,
					 (a[i] >> 16) & 255, (a[i] >> 8) & 255, a[i] & 255);
	return buf;
}

#define IS_IPS(got, n, ...)                                                                       \
	do {                                                                                      \
		const uint32_t want_[] = { __VA_ARGS__ };                                         \
		char b_[256];                                                                     \
		if (!ok(ips_are((got), (n), want_, sizeof(want_) / sizeof(want_[0])), "%s", #got)) \
			diag("    got: %s", ips_str((got), (n), b_, sizeof(b_)));                  \
	} while (0)

static const rd_cfg_subnet_t *subnet_net(const rd_config_t *c, uint32_t net)
{
	for (size_t i = 0; i < c->n_subnets; i++)
		if (c->subnets[i].network == net)
			return &c->subnets[i];
	return NULL;
}

static bool has_res(const rd_config_t *c, uint32_t addr, const char *mac)
{
	const rd_cfg_reservation_t *r = rd_config_reservation_by_addr(c, addr);
	char m[18];
	if (!r)
		return false;
	snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x", r->mac[0], r->mac[1], r->mac[2], r->mac[3],
		 r->mac[4], r->mac[5]);
	return !strcmp(m, mac);
}

/* -------------------------------------------------------------- tests */

static void test_key_file(void)
{
	char p[300], err[512];
	rd_region_client_t *c = NULL;
	const char *urls[] = { "http://127.0.0.1:1/MAAS" };
	rd_region_opts_t o = { .urls = urls, .n_urls = 1, .api_key_file = p };

	snprintf(p, sizeof(p), "%s/open.key", tmpdir);
	write_file(p, KEY "\n", 0644);
	int rc = rd_region_client_new(&o, &c, err, sizeof(err));
	ok(rc == RD_EMALFORMED && !c, "a key file readable by others is refused");
	ok(strstr(err, p) && strstr(err, "0644") && strstr(err, "chmod 600"), "... naming the file and mode: %s", err);

	write_file(p, KEY "\n", 0640);
	rc = rd_region_client_new(&o, &c, err, sizeof(err));
	ok(rc == RD_EMALFORMED && strstr(err, "0640"), "group-readable too: %s", err);

	snprintf(p, sizeof(p), "%s/short.key", tmpdir);
	write_file(p, "ck1:tk1\n", 0600);
	rc = rd_region_client_new(&o, &c, err, sizeof(err));
	ok(rc == RD_EMALFORMED && strstr(err, "three parts") && strstr(err, "found 2 parts"), "two parts: %s", err);

	write_file(p, "ck1::secret\n", 0600);
	rc = rd_region_client_new(&o, &c, err, sizeof(err));
	ok(rc == RD_EMALFORMED && strstr(err, "token key is empty"), "empty part: %s", err);

	write_file(p, "ck1:tk 1:secret\n", 0600);
	rc = rd_region_client_new(&o, &c, err, sizeof(err));
	ok(rc == RD_EMALFORMED && strstr(err, "blank"), "blank inside: %s", err);

	write_file(p, "", 0600);
	rc = rd_region_client_new(&o, &c, err, sizeof(err));
	ok(rc == RD_EMALFORMED && strstr(err, "found 0 parts"), "empty file: %s", err);

	snprintf(p, sizeof(p), "%s/missing.key", tmpdir);
	rc = rd_region_client_new(&o, &c, err, sizeof(err));
	ok(rc == -ENOENT && strstr(err, p), "missing file: %s", err);

	o.api_key_file = key_path;
	rc = rd_region_client_new(&o, &c, err, sizeof(err));
	ok(rc == 0 && c, "a 0600 key with a trailing newline is taken");
	rd_region_client_free(c);

	const char *bad[] = { "ftp://x/MAAS" };
	o.urls = bad;
	c = NULL;
	rc = rd_region_client_new(&o, &c, err, sizeof(err));
	ok(rc == RD_EINVAL && strstr(err, "ftp://x/MAAS"), "a non-http URL is refused: %s", err);
}

static bool fetch_ok(rd_region_client_t *c, const char *path);
static rd_config_t *baseline;

static void test_full_pull(void)
{
	char err[1024], b[64];
	int rc;
	rd_region_client_t *c = client(fx[0].url, NULL, 5000, 0, 0);

	capture_begin();
	rd_config_t *cfg = c ? pull(c, NULL, err, sizeof(err), &rc) : NULL;
	char *log = capture_end();
	if (!ok(cfg != NULL, "full pull from the fixture builds a valid configuration")) {
		diag("%s", err);
		free(log);
		rd_region_client_free(c);
		return;
	}
	ok(strstr(log, "52:54:00:aa:bb:ce") && strstr(log, "10.10.0.24"), "the duplicate MAC is logged as skipped");
	ok(strstr(log, "long-leases") && strstr(log, "pxe-option") && !strstr(log, "'old'"),
	   "enabled snippets that apply here are logged as not applied");
	free(log);

	/* failover: MAAS's names and values, role by primary_rack / secondary_rack */
	is_int((long long)cfg->n_failovers, 2, "two failover peers (VLANs 5001, 5002)");
	const rd_cfg_failover_t *f1 = rd_config_failover(cfg, "failover-vlan-5001");
	const rd_cfg_failover_t *f2 = rd_config_failover(cfg, "failover-vlan-5002");
	if (ok(f1 && f2, "named failover-vlan-<VLAN id>")) {
		ok(f1->role == RD_FO_PRIMARY && f1->address == IP(10, 10, 0, 2) && f1->peer_address == IP(10, 10, 0, 3),
		   "VLAN 5001: primary, 10.10.0.2 -> 10.10.0.3");
		ok(f1->has_split && f1->split == 255 && f1->mclt == 3600 && f1->port == 647 &&
		   f1->max_response_delay == 60 && f1->max_unacked_updates == 10 && f1->load_balance_max_seconds == 3,
		   "primary: split 255, mclt 3600, MAAS timers, port 647");
		ok(f2->role == RD_FO_SECONDARY && f2->address == IP(10, 30, 0, 3) && f2->peer_address == IP(10, 30, 0, 2) &&
		   !f2->has_split && !f2->has_hba, "VLAN 5002: secondary, 10.30.0.3 -> 10.30.0.2, no split");
	}

	is_int((long long)cfg->n_subnets, 3, "three served subnets (unmanaged, IPv6, foreign and dhcp-off left out)");
	const rd_cfg_subnet_t *s1 = subnet_net(cfg, IP(10, 10, 0, 0));
	const rd_cfg_subnet_t *s2 = subnet_net(cfg, IP(10, 20, 0, 0));
	const rd_cfg_subnet_t *s3 = subnet_net(cfg, IP(10, 30, 0, 0));
	if (!ok(s1 && s2 && s3 && cfg->subnets[0].network == IP(10, 10, 0, 0) &&
		cfg->subnets[2].network == IP(10, 30, 0, 0), "10.10.0.0/24, 10.20.0.0/24, 10.30.0.0/24 in address order")) {
		rd_config_free(cfg);
		rd_region_client_free(c);
		return;
	}
	ok(!subnet_net(cfg, IP(10, 50, 0, 0)) && !subnet_net(cfg, IP(10, 60, 0, 0)) && !subnet_net(cfg, IP(10, 5, 0, 0)) &&
	   !subnet_net(cfg, IP(10, 70, 0, 0)), "10.50 (unmanaged), 10.60 (other rack), 10.5 and 10.70 (dhcp off) absent");

	/* 10.10.0.0/24: primary, with failover */
	is_int(s1->prefix_len, 24, "s1 /24");
	IS_IPS(s1->routers, s1->n_routers, IP(10, 10, 0, 1));
	IS_IPS(s1->dns_servers, s1->n_dns_servers, IP(10, 10, 0, 2), IP(10, 10, 0, 3), IP(10, 10, 0, 5),
	       IP(192, 168, 1, 5), IP(1, 1, 1, 1));
	IS_IPS(s1->ntp_servers, s1->n_ntp_servers, IP(10, 10, 0, 2), IP(10, 10, 0, 3));
	is_str(s1->domain_name, "maas", "domain name is the default domain");
	ok(s1->n_domain_search == 3 && !strcmp(s1->domain_search[0], "maas") &&
	   !strcmp(s1->domain_search[1], "lab.example") && !strcmp(s1->domain_search[2], "zeta.example"),
	   "search list: default + sorted authoritative domains");
	is_int(s1->mtu, 0, "MTU 1500 not sent");
	is_int(s1->next_server, IP(10, 10, 0, 2), "next-server: our address in the subnet");
	ok(s1->n_disabled_boot_architectures == 1 && !strcmp(s1->disabled_boot_architectures[0], "uefi_ebc_tftp"),
	   "disabled boot architectures carried");
	ok(s1->n_pools == 2 && s1->pools[0].start == IP(10, 10, 0, 100) && s1->pools[0].end == IP(10, 10, 0, 199) &&
	   s1->pools[1].start == IP(10, 10, 0, 220) && s1->pools[1].end == IP(10, 10, 0, 230),
	   "dynamic ranges in range-id order, reserved range left out");
	ok(s1->pools[0].failover == f1 && s1->pools[1].failover == f1, "pools use failover-vlan-5001");
	is_int((long long)s1->n_reservations, 6, "six hosts in 10.10.0.0/24");
	ok(has_res(cfg, IP(10, 10, 0, 20), "52:54:00:aa:bb:cc"), "STICKY 10.10.0.20");
	ok(has_res(cfg, IP(10, 10, 0, 21), "52:54:00:aa:bb:cd"), "AUTO 10.10.0.21");
	ok(has_res(cfg, IP(10, 10, 0, 23), "52:54:00:aa:bb:ce"), "first address of a twice-listed MAC");
	ok(has_res(cfg, IP(10, 10, 0, 2), "52:54:00:01:02:03"), "the rack's own static address");
	ok(has_res(cfg, IP(10, 10, 0, 50), "52:54:00:12:34:56"), "reserved IP (rsvd-3)");
	ok(!rd_config_reservation_by_addr(cfg, IP(10, 10, 0, 24)), "second address of that MAC skipped");
	ok(!rd_config_reservation_by_addr(cfg, IP(10, 10, 0, 22)), "USER_RESERVED without an interface: no host");
	ok(!rd_config_reservation_by_addr(cfg, IP(10, 10, 0, 150)) && !rd_config_reservation_by_addr(cfg, IP(10, 10, 0, 151)),
	   "DISCOVERED and DHCP addresses are not hosts");
	ok(!rd_config_reservation_by_addr(cfg, IP(10, 10, 0, 51)), "reserved IP of an already listed MAC skipped");
	ok(!rd_config_reservation_by_addr(cfg, IP(10, 60, 0, 5)), "host on a subnet we don't serve left out");

	/* 10.20.0.0/24: relayed to VLAN 5001, no failover of its own */
	is_int(s2->mtu, 9000, "relayed VLAN's MTU 9000 sent");
	ok(s2->n_pools == 1 && s2->pools[0].start == IP(10, 20, 0, 100) && s2->pools[0].end == IP(10, 20, 0, 150) &&
	   !s2->pools[0].failover, "relayed pool without failover peer");
	is_int(s2->next_server, IP(10, 10, 0, 2), "relayed next-server: our address on the relay's VLAN");
	IS_IPS(s2->dns_servers, s2->n_dns_servers, IP(10, 10, 0, 2), IP(10, 10, 0, 3), IP(10, 10, 0, 5),
	       IP(192, 168, 1, 5));
	IS_IPS(s2->ntp_servers, s2->n_ntp_servers, IP(10, 70, 0, 2));
	ok(has_res(cfg, IP(10, 20, 0, 30), "52:54:00:20:00:30"), "host on the relayed subnet");

	/* 10.30.0.0/24: we are secondary, the subnet has no gateway */
	is_int((long long)s3->n_routers, 0, "no gateway: no routers");
	IS_IPS(s3->dns_servers, s3->n_dns_servers, IP(10, 30, 0, 2), IP(10, 30, 0, 3), IP(8, 8, 8, 8));
	IS_IPS(s3->ntp_servers, s3->n_ntp_servers, IP(10, 30, 0, 3), IP(10, 30, 0, 2));
	is_int(s3->next_server, IP(10, 30, 0, 3), "secondary's next-server is itself");
	ok(s3->n_pools == 1 && s3->pools[0].failover == f2, "pool uses failover-vlan-5002");
	is_int((long long)s3->n_reservations, 3, "three hosts in 10.30.0.0/24");
	ok(has_res(cfg, IP(10, 30, 0, 40), "52:54:00:12:34:57"), "reserved IP without a subnet placed by address");
	ok(!cfg->region.present && cfg->server.workers == RD_CFG_DEFAULT_WORKERS, "no base: default server section");
	baseline = cfg;

	/* the server and region sections come from the local file */
	char base_yaml[512];
	snprintf(base_yaml, sizeof(base_yaml),
		 "server:\n  workers: 3\n  interfaces: [eth0, eth1]\n  durability: relaxed\n"
		 "  rate_limit: {per_client: {rate: 5}}\n"
		 "region:\n  maas_url: [%s, %s]\n  api_key_file: %s\n  system_id: " SELF "\n  poll_interval: 10\n",
		 fx[0].url, fx[1].url, key_path);
	rd_config_t *base = NULL;
	rc = rd_config_parse(base_yaml, strlen(base_yaml), "base", &base, err, sizeof(err));
	ok(rc == 0, "base configuration parses");
	capture_begin();
	rd_config_t *merged = base ? pull(c, base, err, sizeof(err), &rc) : NULL;
	free(capture_end());
	if (ok(merged != NULL, "pull with a base configuration")) {
		ok(merged->server.workers == 3 && merged->server.n_interfaces == 2 &&
		   merged->server.durability == RD_DURABILITY_RELAXED && merged->server.rate_limit.per_client.rate == 5 &&
		   merged->server.rate_limit.per_client.burst == 10, "server section kept");
		ok(merged->region.present && merged->region.n_maas_url == 2 && merged->region.poll_interval == 10 &&
		   !strcmp(merged->region.system_id, SELF), "region section kept");
		is_int((long long)merged->n_subnets, 3, "region subnets");
	} else {
		diag("%s", err);
	}
	rd_region_client_t *c2 = NULL;
	rc = base ? rd_region_client_from_config(&base->region, &c2, err, sizeof(err)) : -1;
	ok(rc == 0 && c2 && !strcmp(rd_region_current_url(c2), fx[0].url), "client from the region section");
	ok(c2 && fetch_ok(c2, "version/"), "... which fetches");
	rd_region_client_free(c2);
	rd_config_free(merged);
	rd_config_free(base);
	(void)b;
	rd_region_client_free(c);
}

static void test_oauth(void)
{
	char err[512], *body = NULL;
	size_t len;
	rd_region_client_t *c = client(fx[0].url, NULL, 5000, 0, 0);

	reset_all();
	int rc = c ? rd_region_fetch(c, "version/", &body, &len, err, sizeof(err)) : -1;
	ok(rc == 0 && body && strstr(body, "\"version\""), "GET version/ accepted");
	free(body);
	body = NULL;
	rc = c ? rd_region_fetch(c, "/domains/", &body, &len, err, sizeof(err)) : -1;
	ok(rc == 0 && len == strlen(body), "a second request (leading '/' ignored), body NUL-terminated");
	free(body);
	char *st = ctl(&fx[0], "GET", "stats", NULL);
	ok(st && strstr(st, "\"auth_ok\": 2") && strstr(st, "\"auth_failed\": 0") && strstr(st, "\"nonces\": 2"),
	   "both requests passed MAAS's OAuth checks with distinct nonces: %s", st ? st : "");
	ok(st && strstr(st, "oauth_signature_method=\\\"PLAINTEXT\\\"") && strstr(st, "oauth_version=\\\"1.0\\\"") &&
	   strstr(st, "oauth_consumer_key=\\\"ck1\\\"") && strstr(st, "oauth_token=\\\"tk1\\\"") &&
	   strstr(st, "oauth_signature=\\\"%26s3cr%2526t~x\\\"") && strstr(st, "oauth_timestamp="),
	   "header fields as oauthlib sends them (signature percent-encoded twice)");
	free(st);
	rd_region_client_free(c);

	/* a wrong secret: the region's 401, and no switch to the other URL */
	char wrong[300];
	snprintf(wrong, sizeof(wrong), "%s/wrong.key", tmpdir);
	write_file(wrong, "ck1:tk1:nope\n", 0600);
	const char *urls[] = { fx[0].url, fx[1].url };
	rd_region_opts_t o = { .urls = urls, .n_urls = 2, .api_key_file = wrong, .timeout_ms = 5000 };
	c = NULL;
	rd_region_client_new(&o, &c, err, sizeof(err));
	reset_all();
	body = NULL;
	rc = c ? rd_region_fetch(c, "fabrics/", &body, &len, err, sizeof(err)) : -1;
	ok(rc == -EACCES && strstr(err, "HTTP 401") && strstr(err, "Invalid API key") && strstr(err, fx[0].url),
	   "wrong key: -EACCES with the region's reason and URL: %s", err);
	st = ctl(&fx[1], "GET", "stats", NULL);
	ok(st && strstr(st, "\"requests\": 0"), "the second region was not asked");
	free(st);
	ok(c && !strcmp(rd_region_current_url(c), fx[0].url), "still on the first URL");
	rd_region_client_free(c);
}

static bool fetch_ok(rd_region_client_t *c, const char *path)
{
	char err[1024], *body = NULL;
	size_t len;
	int rc = rd_region_fetch(c, path, &body, &len, err, sizeof(err));
	free(body);
	if (rc)
		diag("fetch %s: %s", path, err);
	return rc == 0;
}

static int dead_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int port = 0;
	if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_failover(void)
{
	char *log, err[1024], *body = NULL;
	size_t len;
	rd_region_client_t *c = client(fx[0].url, fx[1].url, 1000, 0, 1000);
	if (!c)
		return;

	reset_all();
	ok(fetch_ok(c, "fabrics/") && !strcmp(rd_region_current_url(c), fx[0].url), "healthy: the first URL");

	ctl_do(&fx[0], "POST", "fail", "{\"mode\": \"500\"}");
	capture_begin();
	bool good = fetch_ok(c, "fabrics/");
	log = capture_end();
	ok(good && !strcmp(rd_region_current_url(c), fx[1].url), "500 on the first: answered by the second");
	if (!ok(strstr(log, "HTTP 500") && strstr(log, "switching to") && strstr(log, fx[1].url), "the switch is logged"))
		diag("log: %s", log);
	free(log);
	ok(fetch_ok(c, "subnets/") && !strcmp(rd_region_current_url(c), fx[1].url), "stays on the second");

	/* still failing after prefer_first_ms: tried once, then the second again */
	usleep(1100 * 1000);
	capture_begin();
	good = fetch_ok(c, "fabrics/");
	log = capture_end();
	ok(good && !strcmp(rd_region_current_url(c), fx[1].url), "the first is retried and still failing: second");
	if (!ok(strstr(log, "still failing") && !strstr(log, "now using"), "the retry is logged, no switch"))
		diag("log: %s", log);
	free(log);

	/* the first is healthy again: after prefer_first_ms it is used again */
	ctl_do(&fx[0], "POST", "fail", "{\"mode\": \"none\"}");
	usleep(1100 * 1000);
	capture_begin();
	good = fetch_ok(c, "fabrics/");
	log = capture_end();
	ok(good && !strcmp(rd_region_current_url(c), fx[0].url), "back on the first URL after a while");
	ok(strstr(log, "back on the preferred region"), "the return is logged");
	free(log);

	/* slow beyond the timeout */
	ctl_do(&fx[0], "POST", "fail", "{\"mode\": \"slow\", \"delay\": 3}");
	double t0 = now_s();
	capture_begin();
	good = fetch_ok(c, "fabrics/");
	log = capture_end();
	double took = now_s() - t0;
	ok(good && !strcmp(rd_region_current_url(c), fx[1].url), "timeout on the first: the second answers");
	ok(took < 2.5, "bounded by the 1 s request timeout (took %.2f s)", took);
	if (!ok(strstr(log, "switching to") && strstr(log, "timed out"), "timeout logged"))
		diag("log: %s", log);
	free(log);
	ctl_do(&fx[0], "POST", "fail", "{\"mode\": \"none\"}");
	rd_region_client_free(c);

	/* region.timeout from the configuration bounds a request; the abort
	 * flag (the daemon stopping) ends one at once */
	char yaml[512], cerr[512];
	snprintf(yaml, sizeof(yaml),
		 "region:\n  maas_url: %s\n  api_key_file: %s\n  system_id: " SELF "\n  connect_timeout: 1\n"
		 "  timeout: 1\n",
		 fx[0].url, key_path);
	rd_config_t *cfg = NULL;
	c = NULL;
	if (rd_config_parse(yaml, strlen(yaml), "timeouts", &cfg, cerr, sizeof(cerr)) == 0 &&
	    rd_region_client_from_config(&cfg->region, &c, cerr, sizeof(cerr)) == 0) {
		ctl_do(&fx[0], "POST", "fail", "{\"mode\": \"slow\", \"delay\": 4}");
		t0 = now_s();
		capture_begin();
		good = fetch_ok(c, "fabrics/");
		free(capture_end());
		took = now_s() - t0;
		ok(!good && took < 2.5, "region.timeout: 1 from the configuration: the request gives up after %.2f s", took);
		atomic_bool stop = true;
		rd_region_set_abort(c, &stop);
		t0 = now_s();
		capture_begin();
		good = fetch_ok(c, "fabrics/");
		free(capture_end());
		took = now_s() - t0;
		ok(!good && took < 0.5, "abort flag set: the request ends at once (%.2f s)", took);
		ctl_do(&fx[0], "POST", "fail", "{\"mode\": \"none\"}");
	} else {
		ok(false, "client from a region section with timeouts: %s", cerr);
	}
	rd_region_client_free(c);
	rd_config_free(cfg);

	/* a truncated body is a transport failure too */
	c = client(fx[0].url, fx[1].url, 2000, 0, 60000);
	ctl_do(&fx[0], "POST", "fail", "{\"mode\": \"truncate\"}");
	capture_begin();
	good = c && fetch_ok(c, "subnets/");
	log = capture_end();
	ok(good && !strcmp(rd_region_current_url(c), fx[1].url), "truncated body on the first: the second answers");
	if (!ok(strstr(log, "switching to") && strstr(log, "bytes remaining"), "truncation logged"))
		diag("log: %s", log);
	free(log);
	ctl_do(&fx[0], "POST", "fail", "{\"mode\": \"none\"}");
	rd_region_client_free(c);

	/* nobody listening */
	char dead[64];
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d/MAAS", dead_port());
	c = client(dead, fx[1].url, 2000, 0, 60000);
	capture_begin();
	good = c && fetch_ok(c, "fabrics/");
	log = capture_end();
	ok(good && !strcmp(rd_region_current_url(c), fx[1].url), "first URL down: the second answers");
	ok(strstr(log, dead) && strstr(log, "switching to"), "logged with the dead URL");
	free(log);

	/* everything fails: one message, URL by URL */
	ctl_do(&fx[1], "POST", "fail", "{\"mode\": \"500\", \"status\": 503}");
	capture_begin();
	int rc = c ? rd_region_fetch(c, "fabrics/", &body, &len, err, sizeof(err)) : 0;
	free(capture_end());
	ok(rc == -EIO && strstr(err, "all 2 region URLs failed") && strstr(err, dead) && strstr(err, "HTTP 503"),
	   "all failing: -EIO naming each URL: %s", err);
	ok(body == NULL, "no body on failure");
	reset_all();
	rd_region_client_free(c);
}

static void test_bad_data(void)
{
	char err[1024], *body = NULL;
	size_t len;
	int rc;
	rd_region_client_t *c = client(fx[0].url, fx[1].url, 3000, 64 * 1024, 60000);
	if (!c)
		return;

	reset_all();
	ctl_do(&fx[0], "POST", "fail", "{\"mode\": \"garbage\", \"match\": \"/subnets/\"}");
	capture_begin();
	rd_config_t *cfg = pull(c, NULL, err, sizeof(err), &rc);
	free(capture_end());
	ok(!cfg && rc == RD_EMALFORMED && strstr(err, "/api/2.0/subnets/") && strstr(err, "not valid JSON"),
	   "garbage JSON refused, naming the URL: %s", err);
	ok(!strcmp(rd_region_current_url(c), fx[0].url), "bad data is not a reason to switch");

	reset_all();
	ctl_do(&fx[0], "POST", "load", "{\"name\": \"subnets\", \"file\": \"variant-subnets-partial.json\"}");
	cfg = pull(c, NULL, err, sizeof(err), &rc);
	ok(!cfg && rc == RD_EMALFORMED && strstr(err, "subnets/: [2].cidr: missing"), "partial data refused: %s", err);

	reset_all();
	ctl_do(&fx[0], "POST", "load", "{\"name\": \"fabrics\", \"file\": \"variant-fabrics-badtype.json\"}");
	cfg = pull(c, NULL, err, sizeof(err), &rc);
	ok(!cfg && rc == RD_EMALFORMED && strstr(err, "fabrics/: [1].vlans[0].id: expected an integer, found a string"),
	   "a string where a number should be: %s", err);

	reset_all();
	ctl_do(&fx[0], "POST", "doc/domains", "{\"not\": \"a list\"}");
	cfg = pull(c, NULL, err, sizeof(err), &rc);
	ok(!cfg && rc == RD_EMALFORMED && strstr(err, "domains/: expected a list, found an object"), "object for a list: %s",
	   err);

	reset_all();
	ctl_do(&fx[0], "DELETE", "doc/rackcontrollers_76y7pg", NULL);
	cfg = pull(c, NULL, err, sizeof(err), &rc);
	ok(!cfg && rc == -ENOENT && strstr(err, "rackcontrollers/76y7pg/") && strstr(err, "404"),
	   "the failover peer's document missing: %s", err);

	/* optional documents: 404 means an older MAAS */
	reset_all();
	ctl_do(&fx[0], "DELETE", "doc/reservedips", NULL);
	capture_begin();
	cfg = pull(c, NULL, err, sizeof(err), &rc);
	free(capture_end());
	ok(cfg && !rd_config_reservation_by_addr(cfg, IP(10, 10, 0, 50)) &&
	   rd_config_reservation_by_addr(cfg, IP(10, 10, 0, 20)), "no reservedips/ (MAAS < 3.6): pulled without them");
	rd_config_free(cfg);

	/* oversized */
	reset_all();
	ctl_do(&fx[0], "POST", "fail", "{\"mode\": \"big\", \"size\": 200000}");
	rc = rd_region_fetch(c, "fabrics/", &body, &len, err, sizeof(err));
	ok(rc == RD_ETOOBIG && strstr(err, "larger than 65536 bytes") && strstr(err, "/fabrics/"),
	   "oversized response refused: %s", err);
	ok(!strcmp(rd_region_current_url(c), fx[0].url), "... without switching");
	free(body);
	body = NULL;

	/* redirects: same origin followed (APPEND_SLASH), another host refused */
	reset_all();
	ok(fetch_ok(c, "fabrics"), "a same-origin redirect (fabrics -> fabrics/) is followed");
	ctl_do(&fx[0], "POST", "fail", "{\"mode\": \"redirect_away\"}");
	rc = rd_region_fetch(c, "fabrics/", &body, &len, err, sizeof(err));
	ok(rc == -EPROTO && strstr(err, "another origin") && strstr(err, "192.0.2.99"), "redirect to another host refused: %s",
	   err);
	free(body);
	body = NULL;
	ctl_do(&fx[0], "POST", "fail", "{\"mode\": \"redirect_same\"}");
	rc = rd_region_fetch(c, "fabrics/", &body, &len, err, sizeof(err));
	ok(rc == -EPROTO && strstr(err, "more than 3 redirects"), "redirect loop stopped: %s", err);
	free(body);
	body = NULL;
	rc = rd_region_fetch(c, "no-such-thing/", &body, &len, err, sizeof(err));
	reset_all();
	rc = rd_region_fetch(c, "no-such-thing/", &body, &len, err, sizeof(err));
	ok(rc == -ENOENT && strstr(err, "404"), "unknown endpoint: -ENOENT: %s", err);
	free(body);
	rd_region_client_free(c);
}

struct lines {
	char text[8192];
	int n;
};

static void collect(void *arg, const char *line)
{
	struct lines *l = arg;
	size_t used = strlen(l->text);
	snprintf(l->text + used, sizeof(l->text) - used, "%s\n", line);
	l->n++;
}

static void diff_after(rd_region_client_t *c, const char *name, const char *file, struct lines *out)
{
	char body[256], err[1024];
	int rc;
	memset(out, 0, sizeof(*out));
	reset_all();
	snprintf(body, sizeof(body), "{\"name\": \"%s\", \"file\": \"%s\"}", name, file);
	ctl_do(&fx[0], "POST", "load", body);
	capture_begin();
	rd_config_t *cfg = pull(c, NULL, err, sizeof(err), &rc);
	free(capture_end());
	if (!cfg) {
		diag("pull after %s: %s", file, err);
		return;
	}
	rc = rd_region_view_diff(baseline, cfg, collect, out);
	if (rc != out->n)
		diag("diff returned %d for %d lines", rc, out->n);
	diag("diff after %s:\n%.*s", file, (int)(strlen(out->text) ? strlen(out->text) - 1 : 0), out->text);
	rd_config_free(cfg);
}

static void test_diff(void)
{
	struct lines l;
	char err[512];
	int rc;
	rd_region_client_t *c = client(fx[0].url, NULL, 5000, 0, 0);
	if (!c || !baseline) {
		ok(false, "diff needs the baseline");
		rd_region_client_free(c);
		return;
	}
	reset_all();
	capture_begin();
	rd_config_t *same = pull(c, NULL, err, sizeof(err), &rc);
	free(capture_end());
	memset(&l, 0, sizeof(l));
	ok(same && rd_region_view_diff(baseline, same, collect, &l) == 0 && l.n == 0, "same data: no diff lines");
	rd_config_free(same);

	diff_after(c, "fabrics", "variant-fabrics-vlan-added.json", &l);
	ok(strstr(l.text, "VLAN 5005 added (primary, address 10.5.0.2, peer 10.5.0.3)") != NULL, "VLAN added");
	ok(strstr(l.text, "subnet 10.5.0.0/24 added on VLAN 5005 (1 pool, 0 reservations)") != NULL,
	   "its subnet added");

	diff_after(c, "ipranges", "variant-ipranges-shrunk.json", &l);
	ok(strstr(l.text, "subnet 10.10.0.0/24: pool 10.10.0.100-10.10.0.199 shrunk to 10.10.0.100-10.10.0.150") != NULL,
	   "range shrunk");
	is_int(l.n, 1, "one line only");

	diff_after(c, "ipaddresses", "variant-ipaddresses-added.json", &l);
	ok(strstr(l.text, "subnet 10.10.0.0/24: 2 reservations added") != NULL, "reservations added");
	is_int(l.n, 1, "one line only");

	memset(&l, 0, sizeof(l));
	rd_region_view_diff(NULL, baseline, collect, &l);
	ok(strstr(l.text, "VLAN 5001 added") && strstr(l.text, "VLAN 5002 added") &&
	   strstr(l.text, "subnet 10.20.0.0/24 added (1 pool, 1 reservation)"), "from nothing: everything added");
	is_int(rd_region_view_diff(baseline, NULL, collect, &l), RD_EINVAL, "no new configuration: RD_EINVAL");
	rd_config_t *empty = NULL;
	rd_config_parse("", 0, "empty", &empty, err, sizeof(err));
	memset(&l, 0, sizeof(l));
	rd_region_view_diff(baseline, empty, collect, &l);
	ok(strstr(l.text, "VLAN 5001 removed") && strstr(l.text, "subnet 10.30.0.0/24 removed"), "to nothing: removed");
	rd_config_free(empty);
	reset_all();
	rd_region_client_free(c);
}

/* ------------------------------------------------ pure view (no HTTP) */

static char *slurp(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/tests/region/data/%s", srcdir, name);
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	long n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(fp);
	*len = buf ? (size_t)n : 0;
	return buf;
}

/* Replace every occurrence of a by b in a malloc'ed string (returns a new one). */
static char *replace_all(char *s, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n = 0;
	for (const char *p = strstr(s, a); p; p = strstr(p + la, a))
		n++;
	char *out = malloc(strlen(s) + n * lb + 1), *w = out;
	if (!out)
		return s;
	const char *p = s, *q;
	while ((q = strstr(p, a))) {
		memcpy(w, p, (size_t)(q - p));
		w += q - p;
		memcpy(w, b, lb);
		w += lb;
		p = q + la;
	}
	strcpy(w, p);
	free(s);
	return out;
}

struct texts {
	char *t[RD_RDOC_COUNT];
	size_t l[RD_RDOC_COUNT];
	char *peer;
	size_t peer_len;
};

static void texts_load(struct texts *x)
{
	static const char *const files[RD_RDOC_COUNT] = {
		[RD_RDOC_RACK] = "rackcontrollers_7xtf67.json", [RD_RDOC_FABRICS] = "fabrics.json",
		[RD_RDOC_SUBNETS] = "subnets.json",             [RD_RDOC_IPRANGES] = "ipranges.json",
		[RD_RDOC_IPADDRESSES] = "ipaddresses.json",     [RD_RDOC_RESERVEDIPS] = "reservedips.json",
		[RD_RDOC_DOMAINS] = "domains.json",             [RD_RDOC_REGIONS] = "regioncontrollers.json",
		[RD_RDOC_SNIPPETS] = "dhcp-snippets.json",
	};
	memset(x, 0, sizeof(*x));
	for (int i = 0; i < RD_RDOC_COUNT; i++)
		if (files[i])
			x->t[i] = slurp(files[i], &x->l[i]);
	x->peer = slurp("rackcontrollers_76y7pg.json", &x->peer_len);
}

static void texts_free(struct texts *x)
{
	for (int i = 0; i < RD_RDOC_COUNT; i++)
		free(x->t[i]);
	free(x->peer);
}

static int texts_yaml(struct texts *x, bool with_peer, char **yaml, char *err, size_t errlen)
{
	const char *pt[1] = { x->peer };
	size_t pl[1] = { x->peer_len };
	for (int i = 0; i < RD_RDOC_COUNT; i++)
		if (x->t[i])
			x->l[i] = strlen(x->t[i]);
	return rd_region_view_from_texts((const char *const *)x->t, x->l, pt, pl, with_peer ? 1 : 0, SELF, NULL, yaml,
					 NULL, err, errlen);
}

static void test_pure_view(void)
{
	struct texts x;
	char err[1024], *yaml = NULL;
	rd_config_t *cfg = NULL;

	texts_load(&x);
	int rc = texts_yaml(&x, false, &yaml, err, sizeof(err));
	ok(rc == RD_EMALFORMED && strstr(err, "rackcontrollers/76y7pg/: document missing") && strstr(err, "VLAN 5001"),
	   "peer document missing: %s", err);
	free(yaml);
	yaml = NULL;

	/* a config rule (router inside the subnet) applied to region data, naming the MAAS object */
	x.t[RD_RDOC_SUBNETS] = replace_all(x.t[RD_RDOC_SUBNETS], "\"gateway_ip\": \"10.30.0.1\"", "\"gateway_ip\": null");
	x.t[RD_RDOC_SUBNETS] = replace_all(x.t[RD_RDOC_SUBNETS], "\"gateway_ip\": \"10.10.0.1\"",
					   "\"gateway_ip\": \"10.99.0.1\"");
	rc = texts_yaml(&x, true, &yaml, err, sizeof(err));
	ok(rc == 0, "rendered");
	rc = yaml ? rd_region_view_parse(yaml, strlen(yaml), &cfg, err, sizeof(err)) : -1;
	ok(rc == RD_EMALFORMED && strstr(err, "routers") && strstr(err, "from MAAS subnets/ id 1 (10.10.0.0/24)"),
	   "a gateway outside its subnet is refused by the config rules, naming the subnet: %s", err);
	free(yaml);
	yaml = NULL;
	rd_config_free(cfg);
	cfg = NULL;
	texts_free(&x);

	/* YAML injection through a domain name stays one quoted value */
	texts_load(&x);
	x.t[RD_RDOC_DOMAINS] = replace_all(x.t[RD_RDOC_DOMAINS], "\"lab.example\"",
					   "\"lab.example\\\"]\\nsubnets: [\\\"x\"");
	rc = texts_yaml(&x, true, &yaml, err, sizeof(err));
	rc = rc ? rc : rd_region_view_parse(yaml, strlen(yaml), &cfg, err, sizeof(err));
	ok(rc == RD_EMALFORMED && strstr(err, "subnets[0].domain_search[1]") &&
	   (strstr(err, "control character") || strstr(err, "not a domain name")),
	   "a hostile domain name is refused as a value, not parsed as YAML: %s", err);
	free(yaml);
	yaml = NULL;
	rd_config_free(cfg);
	cfg = NULL;
	texts_free(&x);

	/* ntp_external_only with IPv4 literals; use_rack_proxy false: region DNS only */
	texts_load(&x);
	x.t[RD_RDOC_NTP_EXTERNAL_ONLY] = strdup("true");
	x.t[RD_RDOC_NTP_SERVERS] = strdup("\"192.0.2.123, 192.0.2.124 2001:db8::1\"");
	x.t[RD_RDOC_USE_RACK_PROXY] = strdup("false");
	rc = texts_yaml(&x, true, &yaml, err, sizeof(err));
	rc = rc ? rc : rd_region_view_parse(yaml, strlen(yaml), &cfg, err, sizeof(err));
	if (ok(rc == 0, "external NTP and no rack proxy: %s", rc ? err : "ok")) {
		const rd_cfg_subnet_t *s1 = subnet_net(cfg, IP(10, 10, 0, 0));
		IS_IPS(s1->ntp_servers, s1->n_ntp_servers, IP(192, 0, 2, 123), IP(192, 0, 2, 124));
		IS_IPS(s1->dns_servers, s1->n_dns_servers, IP(10, 10, 0, 5), IP(192, 168, 1, 5), IP(1, 1, 1, 1));
	}
	rd_config_free(cfg);
	cfg = NULL;
	free(yaml);
	yaml = NULL;
	free(x.t[RD_RDOC_NTP_EXTERNAL_ONLY]);
	x.t[RD_RDOC_NTP_EXTERNAL_ONLY] = strdup("\"yes\"");
	rc = texts_yaml(&x, true, &yaml, err, sizeof(err));
	ok(rc == RD_EMALFORMED && strstr(err, "maas/?op=get_config&name=ntp_external_only: expected true or false, found a string"),
	   "a setting of the wrong type: %s", err);
	free(yaml);
	texts_free(&x);
}

/* A self-signed certificate for 127.0.0.1 (openssl), as DIR/NAME.pem and DIR/NAME.key. */
static bool make_cert(const char *name)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
		 "-addext subjectAltName=IP:127.0.0.1 -keyout '%s/%s.key' -out '%s/%s.pem' >/dev/null 2>&1",
		 tmpdir, name, tmpdir, name);
	return system(cmd) == 0;
}

static void test_tls(void)
{
	char url[64], err[1024], *body = NULL;
	size_t len;
	/* TLS against a plain-HTTP port: the handshake fails, a transport error */
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/MAAS", fx[0].port);
	rd_region_client_t *c = client(url, NULL, 2000, 0, 0);
	capture_begin();
	int rc = c ? rd_region_fetch(c, "version/", &body, &len, err, sizeof(err)) : 0;
	free(capture_end());
	ok(rc == -EIO && strstr(err, "https://127.0.0.1"), "https is spoken (and fails on a plain port): %s", err);
	free(body);
	body = NULL;
	rd_region_client_free(c);

	/* A region behind TLS with its own CA: verified against region.ca_file only. */
	if (access("/usr/bin/openssl", X_OK) != 0) {
		skip("openssl not found: no TLS region");
		return;
	}
	struct fixture tf = { 0 };
	char cert[300], keyf[300], other[300];
	snprintf(cert, sizeof(cert), "%s/region.pem", tmpdir);
	snprintf(keyf, sizeof(keyf), "%s/region.key", tmpdir);
	snprintf(other, sizeof(other), "%s/other.pem", tmpdir);
	if (!ok(make_cert("region") && make_cert("other") && fixture_start_tls(&tf, cert, keyf),
		"a TLS region fixture with a self-signed certificate")) {
		fixture_stop(&tf);
		return;
	}
	/* the system store does not know it: refused */
	c = client_ca(tf.url, NULL, 5000, 0, 0, NULL);
	capture_begin();
	rc = c ? rd_region_fetch(c, "version/", &body, &len, err, sizeof(err)) : 0;
	free(capture_end());
	ok(rc == -EIO && (strstr(err, "certificate") || strstr(err, "SSL")),
	   "a certificate the system store does not vouch for is refused: %s", err);
	free(body);
	body = NULL;
	rd_region_client_free(c);
	/* another CA: refused too */
	c = client_ca(tf.url, NULL, 5000, 0, 0, other);
	capture_begin();
	rc = c ? rd_region_fetch(c, "version/", &body, &len, err, sizeof(err)) : 0;
	free(capture_end());
	ok(rc == -EIO && (strstr(err, "certificate") || strstr(err, "SSL")),
	   "a ca_file of another CA does not vouch for it: %s", err);
	free(body);
	body = NULL;
	rd_region_client_free(c);
	/* its own CA: the request is answered (OAuth checked by the fixture) */
	c = client_ca(tf.url, NULL, 5000, 0, 0, cert);
	capture_begin();
	rc = c ? rd_region_fetch(c, "version/", &body, &len, err, sizeof(err)) : 0;
	free(capture_end());
	ok(rc == 0 && body && strstr(body, "version"), "with region.ca_file naming its CA, the TLS region answers: %s",
	   rc ? err : "200");
	free(body);
	rd_region_client_free(c);
	fixture_stop(&tf);
}

/* The staged API the daemon uses: decode, peers, build, warnings, interfaces, render. */
static void test_build_api(void)
{
	struct texts x;
	rd_region_docs_t d = { 0 };
	rd_region_view_t *v = NULL;
	char err[1024], **peers = NULL;

	texts_load(&x);
	x.t[RD_RDOC_SUBNETS] = replace_all(x.t[RD_RDOC_SUBNETS], "\"disabled_boot_architectures\": [\n   \"uefi_ebc_tftp\"",
					   "\"disabled_boot_architectures\": [\"future_arch\", \"uefi_ebc_tftp\"");
	int rc = 0;
	for (int i = 0; i < RD_RDOC_COUNT && !rc; i++)
		if (x.t[i])
			rc = rd_region_json_decode(x.t[i], strlen(x.t[i]), "doc", &d.doc[i], err, sizeof(err));
	ok(rc == 0, "documents decode");
	rc = rd_region_view_peers(&d, SELF, &peers, err, sizeof(err));
	ok(rc == 0 && peers && peers[0] && !strcmp(peers[0], "76y7pg") && !peers[1], "one peer to fetch: 76y7pg");
	rd_region_strv_free(peers);
	json_t *peer = NULL;
	rd_region_json_decode(x.peer, x.peer_len, "peer", &peer, err, sizeof(err));
	d.peers = json_object();
	json_object_set_new(d.peers, "76y7pg", peer);
	rc = rd_region_view_build(&d, SELF, &v, err, sizeof(err));
	if (ok(rc == 0, "view built")) {
		bool arch = false, dup = false;
		for (size_t i = 0; i < rd_region_view_n_warnings(v); i++) {
			arch |= strstr(rd_region_view_warning(v, i), "future_arch") != NULL;
			dup |= strstr(rd_region_view_warning(v, i), "52:54:00:aa:bb:ce") != NULL;
		}
		ok(arch && dup, "warnings: unknown boot architecture dropped, duplicate MAC skipped");
		ok(rd_region_view_n_interfaces(v) == 2 && !strcmp(rd_region_view_interface(v, 0), "eth0") &&
		   !strcmp(rd_region_view_interface(v, 1), "eth1") && !rd_region_view_interface(v, 2),
		   "served interfaces: eth0, eth1");
		char *yaml = NULL;
		size_t len = 0;
		rd_config_t *cfg = NULL;
		rc = rd_region_view_render(v, NULL, &yaml, &len);
		rc = rc ? rc : rd_region_view_parse(yaml, len, &cfg, err, sizeof(err));
		ok(rc == 0 && cfg && subnet_net(cfg, IP(10, 10, 0, 0))->n_disabled_boot_architectures == 1,
		   "rendered and parsed, unknown architecture left out");
		rd_config_free(cfg);
		free(yaml);
	} else {
		diag("%s", err);
	}
	rd_region_view_free(v);
	v = NULL;
	rc = rd_region_view_build(&d, "bad id!", &v, err, sizeof(err));
	ok(rc == RD_EINVAL && !v, "a malformed system id is refused: %s", err);
	rd_region_view_free(v);
	for (int i = 0; i < RD_RDOC_COUNT; i++)
		json_decref(d.doc[i]);
	json_decref(d.peers);
	texts_free(&x);
}

int main(void)
{
	plan_lazy();
	const char *py = python();
	if (!py)
		skip_all("python3 not found (set PYTHON)");
	srcdir = getenv("top_srcdir");
#ifdef RD_SRCDIR
	if (!srcdir)
		srcdir = RD_SRCDIR;
#endif
	if (!srcdir)
		skip_all("top_srcdir unset");
	/* the fixtures are on 127.0.0.1; a proxy from the environment must not be used */
	setenv("NO_PROXY", "127.0.0.1", 1);
	setenv("no_proxy", "127.0.0.1", 1);
	signal(SIGPIPE, SIG_IGN);
	rd_log_init("test_region", LOG_DEBUG);
	if (!mkdtemp(tmpdir))
		bail_out("mkdtemp: %s", strerror(errno));
	snprintf(key_path, sizeof(key_path), "%s/maas.key", tmpdir);
	snprintf(log_path, sizeof(log_path), "%s/log", tmpdir);
	if (!write_file(key_path, KEY "\n", 0600))
		bail_out("cannot write %s", key_path);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	test_key_file();
	test_pure_view();
	test_build_api();
	if (fixture_start(&fx[0]) && fixture_start(&fx[1])) {
		diag("fixtures on %s and %s", fx[0].url, fx[1].url);
		test_full_pull();
		test_oauth();
		test_failover();
		test_bad_data();
		test_diff();
		test_tls();
	} else {
		ok(false, "fixtures started");
	}
	fixture_stop(&fx[0]);
	fixture_stop(&fx[1]);
	rd_config_free(baseline);

	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("could not remove %s", tmpdir);
	curl_global_cleanup();
	return done_testing();
}
