/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * rackdhcp-dump — decode the DHCP packets of a capture file and print them.
 *
 * It runs every UDP frame on port 67 or 68 of a pcap/pcapng file through the
 * same codec the server uses (frame layers, then the DHCP parser) and prints
 * a one-line summary per packet, or with -v every field and option.  A frame
 * the codec refuses is printed with the reason, exactly as the server would
 * log it before dropping it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rackdhcp/capture.h"
#include "rackdhcp/dhcp.h"

static const char usage[] =
"Usage: rackdhcp-dump [OPTION]... CAPTURE...\n"
"Decode the DHCPv4 packets of packet captures with rackdhcpd's codec.\n"
"\n"
"Every IPv4 UDP frame to or from port 67 or 68 of each CAPTURE (pcap or\n"
"pcapng; Ethernet, 802.1Q, Linux cooked or raw IPv4 link types) is parsed as\n"
"the server parses what it receives.  Other frames are ignored.\n"
"\n"
"Options:\n"
"  -v, --verbose      print every header field and option, decoded\n"
"  -c, --checksums    verify the IPv4 header and UDP checksums (off by\n"
"                     default: captures taken on the sending host often\n"
"                     hold checksums the NIC had not filled in yet; the\n"
"                     server itself always checks the IPv4 header)\n"
"  -q, --quiet        print only frames the codec refuses\n"
"  -h, --help         show this help and exit\n"
"  -V, --version      show the version and exit\n"
"\n"
"Output: one line per DHCP frame,\n"
"  FRAME  SRC:PORT > DST:PORT  SUMMARY\n"
"or, for a frame the codec refuses,\n"
"  FRAME  DROP <error>: <reason>\n"
"\n"
"Exit status: 0 if every DHCP frame decoded, 1 if any was refused,\n"
"2 on a usage error or an unreadable capture.\n";

struct dump_ctx {
	bool verbose, quiet;
	unsigned flags;
	unsigned decoded, refused;
	rd_dhcp_t msg;
	char text[65536];
};

static void ip_str(uint32_t a, char *out, size_t cap)
{
	snprintf(out, cap, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static int dump_frame(void *arg, const rd_capture_frame_t *f)
{
	struct dump_ctx *c = arg;
	rd_frame_t fr;
	rd_diag_t d;
	char src[16], dst[16];

	rd_diag_clear(&d);
	int r = rd_capture_parse(f->linktype, f->data, f->caplen, c->flags, &fr, &d);
	if (r == RD_EUNSUPPORTED)
		return 0;   /* not IPv4/UDP: not ours to judge */
	if (r == 0 && fr.udp.sport != RD_DHCP_SERVER_PORT && fr.udp.sport != RD_DHCP_CLIENT_PORT &&
	    fr.udp.dport != RD_DHCP_SERVER_PORT && fr.udp.dport != RD_DHCP_CLIENT_PORT)
		return 0;
	if (r == 0) {
		rd_diag_clear(&d);
		r = rd_dhcp_parse(fr.payload, fr.payload_len, &c->msg, &d);
	}
	if (r < 0) {
		c->refused++;
		printf("%5u  DROP %s: %s\n", f->number, rd_strerror(r), d.reason);
		return 0;
	}
	c->decoded++;
	if (c->quiet)
		return 0;
	ip_str(fr.ip.src, src, sizeof(src));
	ip_str(fr.ip.dst, dst, sizeof(dst));
	rd_dhcp_summary(&c->msg, c->text, sizeof(c->text));
	printf("%5u  %s:%u > %s:%u%s  %s\n", f->number, src, fr.udp.sport, dst, fr.udp.dport,
	       fr.eth.vlan ? " (vlan)" : "", c->text);
	if (c->verbose) {
		rd_dhcp_dump(&c->msg, "         ", c->text, sizeof(c->text));
		fputs(c->text, stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "checksums", no_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct dump_ctx *c = calloc(1, sizeof(*c));
	int opt, status = 0;

	if (!c) {
		perror("rackdhcp-dump");
		return 2;
	}
	c->flags = RD_FRAME_NO_UDP_CSUM | RD_FRAME_NO_IP_CSUM;
	while ((opt = getopt_long(argc, argv, "vcqhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'v': c->verbose = true; break;
		case 'c': c->flags = 0; break;
		case 'q': c->quiet = true; break;
		case 'h': fputs(usage, stdout); free(c); return 0;
		case 'V': puts(PACKAGE_STRING); free(c); return 0;
		default: fputs("Try 'rackdhcp-dump --help'.\n", stderr); free(c); return 2;
		}
	}
	if (optind >= argc) {
		fputs("rackdhcp-dump: no capture given\nTry 'rackdhcp-dump --help'.\n", stderr);
		free(c);
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		char err[512];
		if (argc - optind > 1)
			printf("== %s\n", argv[i]);
		if (rd_capture_foreach(argv[i], dump_frame, c, err, sizeof(err)) < 0) {
			fprintf(stderr, "rackdhcp-dump: %s\n", err);
			status = 2;
		}
	}
	if (!c->quiet || c->refused)
		printf("%u DHCP frames decoded, %u refused\n", c->decoded, c->refused);
	if (status == 0 && c->refused)
		status = 1;
	free(c);
	return status;
}
