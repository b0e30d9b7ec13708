/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bench_replay — throughput of `rackdhcpd --replay` on one core: client
 * messages per second through capture reading, the codec, the engine, the
 * in-memory lease table (durability is off in replay) and writing the
 * answers to a capture.
 *
 * Input: a capture generated here of N clients each doing DISCOVER then
 * REQUEST (SELECTING, with the address the pool hands out in order), against
 * a /16 subnet whose pool holds every client, with a PXE-style request list.
 *
 * Usage: bench_replay [CLIENTS]   (default 50000; files in $RD_BENCH_DIR or /var/tmp,
 *        kept afterwards if $RD_BENCH_KEEP is set)
 */
#include <pcap/pcap.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/dhcp.h"
#include "rackdhcp/frame.h"
#include "rackdhcp/rcu.h"
#include "rackdhcp/replay.h"

static const char config[] =
	"subnets:\n"
	"  - cidr: 10.20.0.0/16\n"
	"    routers: [10.20.0.1]\n"
	"    dns_servers: [10.20.0.2]\n"
	"    domain_name: maas\n"
	"    next_server: 10.20.0.2\n"
	"    pools:\n"
	"      - range: 10.20.1.0-10.20.255.254\n";

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* Nominal clock of CPU 0 in MHz from /proc/cpuinfo, 0 if unknown. */
static double cpu_mhz(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];
	double mhz = 0;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "cpu MHz", 7) == 0 && sscanf(strchr(line, ':') + 1, "%lf", &mhz) == 1)
			break;
	if (f)
		fclose(f);
	return mhz;
}

static int write_input(const char *path, unsigned clients)
{
	static rd_dhcp_builder_t b;
	static uint8_t payload[RD_DHCP_MAX_LEN], frame[2048];
	static const uint8_t prl[] = { 1, 3, 6, 12, 15, 28, 42, 43, 60, 66, 67, 119, 128, 129, 210 };
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = dead ? pcap_dump_open(dead, path) : NULL;
	if (!d)
		return -1;
	for (unsigned i = 0; i < clients; i++) {
		for (int step = 0; step < 2; step++) {
			rd_frame_hdr_t h = { .eth_dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
					     .eth_src = { 0x52, 0x54, 0, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i },
					     .ip_dst = 0xffffffffu, .sport = 68, .dport = 67 };
			rd_dhcp_builder_init(&b);
			b.op = RD_BOOTREQUEST;
			b.xid = i;
			b.flags = RD_DHCP_FLAG_BROADCAST;
			memcpy(b.chaddr, h.eth_src, 6);
			rd_dhcp_builder_set_u8(&b, RD_OPT_MESSAGE_TYPE, step ? RD_DHCPREQUEST : RD_DHCPDISCOVER, 0);
			rd_dhcp_builder_set(&b, RD_OPT_PARAM_REQUEST, prl, sizeof(prl), 0);
			rd_dhcp_builder_set_u16(&b, RD_OPT_CLIENT_ARCH, 7, 0);
			rd_dhcp_builder_set(&b, RD_OPT_VENDOR_CLASS, "PXEClient:Arch:00007:UNDI:003016", 32, 0);
			if (step) {
				rd_dhcp_builder_set_u32(&b, RD_OPT_SERVER_ID, 0x0a140002u, 0);
				rd_dhcp_builder_set_u32(&b, RD_OPT_REQUESTED_IP, 0x0a140100u + i, 0);
			}
			rd_diag_t dg;
			int n = rd_dhcp_build(&b, NULL, 0, RD_DHCP_MAX_LEN, payload, sizeof(payload), NULL, &dg);
			int fl = n < 0 ? n : rd_frame_build(frame, sizeof(frame), &h, payload, (size_t)n);
			if (fl < 0)
				return -1;
			struct pcap_pkthdr ph = { .ts = { .tv_sec = 1700000000 + i / 1000, .tv_usec = (i % 1000) * 1000 + step * 10 },
						  .caplen = (bpf_u_int32)fl, .len = (bpf_u_int32)fl };
			pcap_dump((u_char *)d, &ph, frame);
		}
	}
	pcap_dump_close(d);
	pcap_close(dead);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned clients = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 50000;
	const char *dir = getenv("RD_BENCH_DIR") ? getenv("RD_BENCH_DIR") : "/var/tmp";
	char in[512], out[512], cfg[512];
	cpu_set_t set;

	if (clients == 0 || clients > 60000) {
		fprintf(stderr, "usage: bench_replay [CLIENTS (1-60000)]\n");
		return 2;
	}
	snprintf(in, sizeof(in), "%s/rd-bench-replay-%d-in.pcap", dir, (int)getpid());
	snprintf(out, sizeof(out), "%s/rd-bench-replay-%d-out.pcap", dir, (int)getpid());
	snprintf(cfg, sizeof(cfg), "%s/rd-bench-replay-%d.yaml", dir, (int)getpid());
	FILE *f = fopen(cfg, "w");
	if (!f || fputs(config, f) < 0 || fclose(f) != 0 || write_input(in, clients) < 0) {
		fprintf(stderr, "bench_replay: cannot write the input files in %s\n", dir);
		return 1;
	}
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);

	rcu_register_thread();
	rd_replay_opts_t o = { .input = in, .config = cfg, .output = out, .link_addr = 0x0a140002u,
			       .server_mac = { 2, 0, 0, 0, 0, 1 }, .quiet = true, .out = stdout,
			       .exiting = true };
	rd_replay_stats_t st;
	char err[512] = "";
	double t0 = now(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	int r = rd_replay_run(&o, &st, err, sizeof(err));
	double el = now() - t0, cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	rcu_unregister_thread();
	if (!getenv("RD_BENCH_KEEP")) {   /* set: keep the files to look at the answers */
		unlink(in);
		unlink(out);
		unlink(cfg);
	}
	if (r < 0) {
		fprintf(stderr, "bench_replay: %s\n", err);
		return 1;
	}
	printf("replay: %u client messages, %u answers in %.2f s on one core = %.0f messages/s "
	       "(capture read + codec + engine + table + capture write)\n",
	       st.requests, st.replies, el, st.requests / el);
	/* On a shared machine wall time includes the time other processes
	 * held the core; the process's CPU time (user + kernel of every
	 * thread, the call_rcu and hash-resize workers included) is the
	 * steadier figure.  This VM has no cycle counter, so
	 * cycles are CPU time times the nominal clock. */
	double mhz = cpu_mhz();
	printf("replay: CPU time %.2f s = %.0f messages/s per busy core, %.0f ns/message",
	       cpu, st.requests / cpu, cpu * 1e9 / st.requests);
	if (mhz > 0)
		printf(" (~%.0f cycles/message at %.0f MHz)", cpu * mhz * 1e6 / st.requests, mhz);
	printf("\n");
	return st.replies == st.requests ? 0 : 1;
}
