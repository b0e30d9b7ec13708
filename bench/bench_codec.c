/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bench_codec — codec throughput on one core: packets per second for the
 * full receive-and-answer path of the wire layer, i.e.
 *   parse Ethernet/IPv4/UDP (both checksums verified) -> parse DHCP ->
 *   start a reply -> set the options an OFFER carries -> lay it out in the
 *   client's parameter-request order -> wrap it in a frame (checksums).
 * No engine, no lease table, no I/O: this is the ceiling the codec puts on
 * the server.
 *
 * The input is a mix of client messages made here with the codec itself
 * (a PXE DISCOVER with options 93/94/97/60/55/57, a relayed REQUEST with
 * option 82, a small DISCOVER), so the run needs no capture file.
 *
 * Usage: bench_codec [SECONDS]   (default 3; pinned to CPU 0)
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rackdhcp/dhcp.h"
#include "rackdhcp/frame.h"

#define NPKT 3

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t make_client_frame(int kind, uint8_t *out, size_t cap)
{
	static rd_dhcp_builder_t b;
	static uint8_t payload[RD_DHCP_MAX_LEN];
	static const uint8_t prl[] = { 1, 3, 6, 12, 15, 28, 42, 43, 60, 66, 67, 119, 121, 128, 129, 210 };
	static const uint8_t uuid[17] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	static const uint8_t ndi[3] = { 1, 2, 1 };
	static const uint8_t agent[] = { 1, 6, 'e', 't', 'h', '0', '/', '1', 2, 6, 0x52, 0x54, 0, 1, 2, 3 };
	const char *vc = "PXEClient:Arch:00007:UNDI:003016";
	rd_frame_hdr_t h = { .eth_dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
			     .eth_src = { 0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)kind },
			     .ip_src = 0, .ip_dst = 0xffffffffu, .sport = 68, .dport = 67 };

	rd_dhcp_builder_init(&b);
	b.op = RD_BOOTREQUEST;
	b.xid = 0x1000u + (unsigned)kind;
	memcpy(b.chaddr, h.eth_src, 6);
	if (kind == 0) {
		rd_dhcp_builder_set_u8(&b, RD_OPT_MESSAGE_TYPE, RD_DHCPDISCOVER, 0);
		rd_dhcp_builder_set_u16(&b, RD_OPT_MAX_MSG_SIZE, 1464, 0);
		rd_dhcp_builder_set(&b, RD_OPT_PARAM_REQUEST, prl, sizeof(prl), 0);
		rd_dhcp_builder_set_u16(&b, RD_OPT_CLIENT_ARCH, 7, 0);
		rd_dhcp_builder_set(&b, RD_OPT_CLIENT_NDI, ndi, sizeof(ndi), 0);
		rd_dhcp_builder_set(&b, RD_OPT_CLIENT_UUID, uuid, sizeof(uuid), 0);
		rd_dhcp_builder_set(&b, RD_OPT_VENDOR_CLASS, vc, strlen(vc), 0);
	} else if (kind == 1) {
		b.giaddr = 0xc6336401u;   /* 198.51.100.1 */
		b.hops = 1;
		h.ip_src = b.giaddr;
		h.ip_dst = 0xc0000202u;
		h.sport = 67;
		rd_dhcp_builder_set_u8(&b, RD_OPT_MESSAGE_TYPE, RD_DHCPREQUEST, 0);
		rd_dhcp_builder_set_u32(&b, RD_OPT_REQUESTED_IP, 0xc6336464u, 0);
		rd_dhcp_builder_set_u32(&b, RD_OPT_SERVER_ID, 0xc0000202u, 0);
		rd_dhcp_builder_set(&b, RD_OPT_PARAM_REQUEST, prl, 8, 0);
		rd_dhcp_builder_set(&b, RD_OPT_HOSTNAME, "node-17", 7, 0);
		rd_dhcp_builder_set(&b, RD_OPT_AGENT_INFO, agent, sizeof(agent), 0);
	} else {
		rd_dhcp_builder_set_u8(&b, RD_OPT_MESSAGE_TYPE, RD_DHCPDISCOVER, 0);
		rd_dhcp_builder_set(&b, RD_OPT_PARAM_REQUEST, prl, 4, 0);
	}
	rd_diag_t d;
	rd_diag_clear(&d);
	int n = rd_dhcp_build(&b, NULL, 0, RD_DHCP_MAX_LEN, payload, sizeof(payload), NULL, &d);
	if (n < 0) {
		fprintf(stderr, "bench_codec: cannot build input %d: %s\n", kind, d.reason);
		exit(1);
	}
	int fl = rd_frame_build(out, cap, &h, payload, (size_t)n);
	if (fl < 0) {
		fprintf(stderr, "bench_codec: cannot frame input %d: %s\n", kind, rd_strerror(fl));
		exit(1);
	}
	return (size_t)fl;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3.0;
	static uint8_t in[NPKT][1600], out[2000], payload[RD_DHCP_MAX_LEN];
	static rd_dhcp_t msg;
	static rd_dhcp_builder_t b;
	size_t inlen[NPKT];
	static const uint8_t dns[8] = { 192, 0, 2, 1, 192, 0, 2, 2 };
	static const uint8_t search[] = { 4, 'm', 'a', 'a', 's', 0 };
	cpu_set_t set;

	if (seconds <= 0 || seconds > 600) {
		fprintf(stderr, "usage: bench_codec [SECONDS (0-600]]\n");
		return 2;
	}
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		perror("bench_codec: sched_setaffinity (continuing unpinned)");

	for (int k = 0; k < NPKT; k++)
		inlen[k] = make_client_frame(k, in[k], sizeof(in[k]));

	unsigned long long n = 0, bytes = 0;
	double t0 = now_sec(), t = t0;
	while (t - t0 < seconds) {
		for (int i = 0; i < 4096; i++, n++) {
			int k = (int)(n % NPKT);
			rd_frame_t fr;
			rd_diag_t d;
			d.code = 0;
			if (rd_frame_parse_eth(in[k], inlen[k], 0, &fr, &d) < 0 ||
			    rd_dhcp_parse(fr.payload, fr.payload_len, &msg, &d) < 0) {
				fprintf(stderr, "bench_codec: parse failed: %s\n", d.reason);
				return 1;
			}
			rd_dhcp_builder_reply(&b, &msg, RD_DHCPOFFER);
			b.yiaddr = 0xc0000264u + (uint32_t)k;
			b.siaddr = 0xc0000202u;
			rd_dhcp_builder_set_u32(&b, RD_OPT_SERVER_ID, 0xc0000202u, RD_BOPT_REQUIRED);
			rd_dhcp_builder_set_u32(&b, RD_OPT_LEASE_TIME, 600, RD_BOPT_REQUIRED);
			rd_dhcp_builder_set_u32(&b, RD_OPT_RENEWAL_TIME, 300, 0);
			rd_dhcp_builder_set_u32(&b, RD_OPT_REBINDING_TIME, 525, 0);
			rd_dhcp_builder_set_u32(&b, RD_OPT_SUBNET_MASK, 0xffffff00u, 0);
			rd_dhcp_builder_set_u32(&b, RD_OPT_ROUTER, 0xc0000201u, 0);
			rd_dhcp_builder_set(&b, RD_OPT_DNS, dns, sizeof(dns), 0);
			rd_dhcp_builder_set(&b, RD_OPT_DOMAIN_NAME, "maas", 4, 0);
			rd_dhcp_builder_set(&b, RD_OPT_DOMAIN_SEARCH, search, sizeof(search), 0);
			rd_dhcp_builder_set_file(&b, "bootx64.efi");
			size_t prl_len = 0, agent_len = 0;
			const uint8_t *prl = rd_dhcp_get(&msg, RD_OPT_PARAM_REQUEST, &prl_len);
			const uint8_t *agent = rd_dhcp_get(&msg, RD_OPT_AGENT_INFO, &agent_len);
			if (agent)
				rd_dhcp_builder_set(&b, RD_OPT_AGENT_INFO, agent, agent_len, RD_BOPT_REQUIRED);
			int len = rd_dhcp_build(&b, prl, prl_len, msg.max_msg_size ? msg.max_msg_size - 28u : 0,
						payload, sizeof(payload), NULL, &d);
			rd_frame_hdr_t h = { .ip_src = 0xc0000202u, .ip_dst = 0xffffffffu, .sport = 67, .dport = 68 };
			memcpy(h.eth_dst, msg.chaddr, 6);
			int fl = len < 0 ? len : rd_frame_build(out, sizeof(out), &h, payload, (size_t)len);
			if (fl < 0) {
				fprintf(stderr, "bench_codec: build failed: %s %s\n", rd_strerror(fl), d.reason);
				return 1;
			}
			bytes += (size_t)fl;
		}
		t = now_sec();
	}
	double el = t - t0;
	printf("codec parse+build: %llu packets in %.2f s on one core = %.0f packets/s (%.0f ns/packet, avg reply %llu bytes)\n",
	       n, el, n / el, el * 1e9 / n, bytes / n);
	return 0;
}
