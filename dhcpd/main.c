/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * main.c — the rackdhcpd program: argument handling and dispatch to its
 * three modes: serving (daemon.c), checking a configuration, and replaying a
 * capture through the engine.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rackdhcp/config.h"
#include "rackdhcp/daemon.h"
#include "rackdhcp/rcu.h"
#include "rackdhcp/replay.h"

static const char usage[] =
"Usage: rackdhcpd -c FILE [-f] [--pidfile PATH]\n"
"       rackdhcpd --check-config FILE\n"
"       rackdhcpd --replay IN.pcap -c FILE [--write OUT.pcap] [OPTION]...\n"
"\n"
"rackdhcpd is a DHCPv4 server for bare-metal provisioning racks that speaks\n"
"ISC dhcpd's failover protocol.  It answers clients on the interfaces of the\n"
"configuration (or every interface with an address in a configured subnet)\n"
"and relayed requests on UDP port 67, and sends a reply that grants a lease\n"
"only after that lease is on disk (server.durability: sync).\n"
"\n"
"Serving:\n"
"  -c, --config FILE         the YAML configuration (see rackdhcpd(8) and\n"
"                            docs/config.md).  A broken file is reported as\n"
"                            FILE:LINE:COL: field: reason; nothing starts.\n"
"  -f, --foreground          stay in the foreground (systemd, containers).\n"
"                            Without it rackdhcpd forks, and the command\n"
"                            returns once the server serves (status 0) or has\n"
"                            failed to start (status 1).\n"
"  -p, --pidfile PATH        instead of server.pidfile\n"
"\n"
"  Signals: SIGHUP reloads the configuration (a broken file is refused and the\n"
"  running one stays); SIGTERM and SIGINT stop after every queued lease change\n"
"  is on disk.  Logs go to stderr (the journal under systemd).  rackdhcpctl(8)\n"
"  talks to the running server.\n"
"\n"
"Other modes:\n"
"  -t, --check-config FILE   load and validate FILE, print a summary, exit.\n"
"  -r, --replay IN.pcap      run every DHCP client message of the capture\n"
"                            IN.pcap through the engine, with the clock taken\n"
"                            from the capture, and print one line per exchange:\n"
"                            what would this configuration answer?  Leases live\n"
"                            in memory only; nothing is sent.\n"
"\n"
"Replay options:\n"
"  -c, --config FILE         the YAML configuration to answer with (required)\n"
"  -w, --write OUT.pcap      write the answers as Ethernet frames to OUT.pcap,\n"
"                            each stamped just after its request\n"
"  -l, --link-address ADDR   our IPv4 address on the capture's link; it selects\n"
"                            the subnet of messages that were not relayed and is\n"
"                            the server identifier.  Default: the first subnet's\n"
"                            next_server, else its first usable address\n"
"  -m, --server-mac MAC      source MAC of the answers (default 02:00:00:00:00:01)\n"
"  -q, --quiet               print only the totals\n"
"\n"
"  -h, --help                show this help and exit\n"
"  -V, --version             show the version and exit\n"
"\n"
"Exit status: 0 on success (or a clean stop), 1 when the configuration, a\n"
"capture or start-up fails, 2 on a usage error.\n";

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;
	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return -1;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

static void ip4(uint32_t a, char *buf, size_t cap)
{
	snprintf(buf, cap, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/* What --check-config prints about a valid file: enough to see that the
 * file says what the operator meant. */
static void config_summary(const rd_config_t *c, FILE *f)
{
	char a[16], b[16];
	fprintf(f, "server: %u workers, durability %s, state in %s\n", c->server.workers,
		rd_config_durability_name(c->server.durability), c->server.state_dir);
	for (size_t i = 0; i < c->n_subnets; i++) {
		const rd_cfg_subnet_t *s = &c->subnets[i];
		size_t addrs = 0;
		for (size_t p = 0; p < s->n_pools; p++)
			addrs += (size_t)(s->pools[p].end - s->pools[p].start) + 1;
		ip4(s->network, a, sizeof(a));
		fprintf(f, "subnet %s/%u: %zu pools (%zu addresses), %zu reservations, lease %us (PXE %us)\n",
			a, s->prefix_len, s->n_pools, addrs, s->n_reservations, s->lease_time, s->pxe_lease_time);
		for (size_t p = 0; p < s->n_pools; p++) {
			ip4(s->pools[p].start, a, sizeof(a));
			ip4(s->pools[p].end, b, sizeof(b));
			fprintf(f, "  pool %s-%s%s%s\n", a, b, s->pools[p].failover ? ", failover peer " : "",
				s->pools[p].failover ? s->pools[p].failover->name : "");
		}
	}
	for (size_t i = 0; i < c->n_failovers; i++) {
		const rd_cfg_failover_t *fo = &c->failovers[i];
		ip4(fo->address, a, sizeof(a));
		ip4(fo->peer_address, b, sizeof(b));
		fprintf(f, "failover %s: %s, %s:%u <-> %s:%u, mclt %us\n", fo->name, rd_config_role_name(fo->role),
			a, fo->port, b, fo->peer_port, fo->mclt);
	}
	if (c->region.present)
		fprintf(f, "region: %zu URLs, system id %s, every %us\n", c->region.n_maas_url,
			c->region.system_id, c->region.poll_interval);
}

static int check_config(const char *path)
{
	rd_config_t *cfg = NULL;
	char err[1024];
	if (rd_config_load(path, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("%s: OK\n", path);
	config_summary(cfg, stdout);
	rd_config_free(cfg);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "check-config", required_argument, NULL, 't' },
		{ "replay", required_argument, NULL, 'r' },
		{ "config", required_argument, NULL, 'c' },
		{ "write", required_argument, NULL, 'w' },
		{ "link-address", required_argument, NULL, 'l' },
		{ "server-mac", required_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	rd_replay_opts_t ro = { .server_mac = { 0x02, 0, 0, 0, 0, 0x01 }, .out = stdout };
	const char *check = NULL, *pidfile = NULL;
	bool foreground = false;
	struct in_addr a;
	int opt;

	while ((opt = getopt_long(argc, argv, "t:r:c:w:l:m:qfp:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 't': check = optarg; break;
		case 'r': ro.input = optarg; break;
		case 'c': ro.config = optarg; break;
		case 'w': ro.output = optarg; break;
		case 'l':
			if (inet_pton(AF_INET, optarg, &a) != 1) {
				fprintf(stderr, "rackdhcpd: --link-address: '%s' is not an IPv4 address\n", optarg);
				return 2;
			}
			ro.link_addr = ntohl(a.s_addr);
			break;
		case 'm':
			if (parse_mac(optarg, ro.server_mac) < 0) {
				fprintf(stderr, "rackdhcpd: --server-mac: '%s' is not a MAC address (aa:bb:cc:dd:ee:ff)\n", optarg);
				return 2;
			}
			break;
		case 'q': ro.quiet = true; break;
		case 'f': foreground = true; break;
		case 'p': pidfile = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': puts(PACKAGE_STRING); return 0;
		default: fputs("Try 'rackdhcpd --help'.\n", stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "rackdhcpd: unexpected argument '%s'\nTry 'rackdhcpd --help'.\n", argv[optind]);
		return 2;
	}
	if (check && ro.input) {
		fputs("rackdhcpd: --check-config and --replay are separate modes\n", stderr);
		return 2;
	}
	if (check)
		return check_config(check);
	if (!ro.input) {
		if (!ro.config) {
			fputs("rackdhcpd: no configuration: rackdhcpd -c FILE\nTry 'rackdhcpd --help'.\n", stderr);
			return 2;
		}
		if (ro.output || ro.link_addr || ro.quiet) {
			fputs("rackdhcpd: --write, --link-address and --quiet belong to --replay\n", stderr);
			return 2;
		}
		/* Absolute, so that reloads read the same file whatever the
		 * working directory, and logs name it unambiguously. */
		char *abs = realpath(ro.config, NULL);
		if (!abs) {
			fprintf(stderr, "rackdhcpd: %s: %s\n", ro.config, strerror(errno));
			return 1;
		}
		int st = rd_daemon_main(abs, foreground, pidfile);
		free(abs);
		return st;
	}
	if (foreground || pidfile) {
		fputs("rackdhcpd: --foreground and --pidfile belong to serving, not to --replay\n", stderr);
		return 2;
	}
	if (!ro.config) {
		fputs("rackdhcpd: --replay needs --config FILE\n", stderr);
		return 2;
	}

	ro.exiting = true;   /* we return from main right after */
	rcu_register_thread();
	rd_replay_stats_t st;
	char err[1024] = "";
	int r = rd_replay_run(&ro, &st, err, sizeof(err));
	rcu_unregister_thread();
	if (r < 0) {
		fprintf(stderr, "rackdhcpd: %s\n", err);
		return 1;
	}
	fprintf(ro.out, "%u frames, %u client messages, %u answers, %u unanswered, %u refused by the codec\n",
		st.frames, st.requests, st.replies, st.dropped, st.refused);
	return 0;
}
