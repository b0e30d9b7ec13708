/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_capture.c — tests for dhcpd/capture.c: classic pcap through libpcap,
 * the fallback pcapng reader (mixed snapshot lengths, either byte order,
 * if_tsresol), truncated and foreign files, and the link-type mapping of
 * rd_capture_parse (Ethernet, Linux cooked v1, raw IPv4, others refused).
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rackdhcp/capture.h"
#include "rackdhcp/wire.h"
#include "tap.h"

#define MAXF 8

struct seen {
	unsigned n;
	rd_capture_frame_t f[MAXF];
	uint8_t data[MAXF][128];
};

static int collect(void *arg, const rd_capture_frame_t *f)
{
	struct seen *s = arg;
	if (s->n < MAXF) {
		s->f[s->n] = *f;
		memcpy(s->data[s->n], f->data, f->caplen < 128 ? f->caplen : 128);
		s->f[s->n].data = s->data[s->n];
	}
	s->n++;
	return 0;
}

static int stop_at_first(void *arg, const rd_capture_frame_t *f)
{
	(void)arg;
	(void)f;
	return 42;
}

/* pcapng writer helpers, in either byte order */
static bool big;
static void w32(rd_wire_t *w, uint32_t v)
{
	if (big) {
		rd_wire_write_u32(w, v);
	} else {
		rd_wire_write_u8(w, (uint8_t)v);
		rd_wire_write_u8(w, (uint8_t)(v >> 8));
		rd_wire_write_u8(w, (uint8_t)(v >> 16));
		rd_wire_write_u8(w, (uint8_t)(v >> 24));
	}
}
static void w16(rd_wire_t *w, uint16_t v)
{
	if (big) {
		rd_wire_write_u16(w, v);
	} else {
		rd_wire_write_u8(w, (uint8_t)v);
		rd_wire_write_u8(w, (uint8_t)(v >> 8));
	}
}

static void shb(rd_wire_t *w)
{
	w32(w, 0x0A0D0D0A);
	w32(w, 28);
	w32(w, 0x1A2B3C4D);
	w16(w, 1);
	w16(w, 0);
	w32(w, 0xffffffff);   /* section length unknown */
	w32(w, 0xffffffff);
	w32(w, 28);
}

static void idb(rd_wire_t *w, uint16_t linktype, uint32_t snaplen, int tsresol)
{
	uint32_t len = 20 + (tsresol >= 0 ? 12 : 0);
	w32(w, 1);
	w32(w, len);
	w16(w, linktype);
	w16(w, 0);
	w32(w, snaplen);
	if (tsresol >= 0) {
		w16(w, 9);       /* if_tsresol */
		w16(w, 1);
		rd_wire_write_u8(w, (uint8_t)tsresol);
		rd_wire_fill(w, 0, 3);
		w16(w, 0);       /* opt_endofopt */
		w16(w, 0);
	}
	w32(w, len);
}

static void epb(rd_wire_t *w, uint32_t iface, uint64_t ts, const uint8_t *data, uint32_t n)
{
	uint32_t pad = (4 - n % 4) % 4, len = 32 + n + pad;
	w32(w, 6);
	w32(w, len);
	w32(w, iface);
	w32(w, (uint32_t)(ts >> 32));
	w32(w, (uint32_t)ts);
	w32(w, n);
	w32(w, n + 10);
	rd_wire_write_bytes(w, data, n);
	rd_wire_fill(w, 0, pad);
	w32(w, len);
}

static void spb(rd_wire_t *w, const uint8_t *data, uint32_t n)
{
	uint32_t pad = (4 - n % 4) % 4, len = 16 + n + pad;
	w32(w, 3);
	w32(w, len);
	w32(w, n);
	rd_wire_write_bytes(w, data, n);
	rd_wire_fill(w, 0, pad);
	w32(w, len);
}

static void write_file(const char *path, const uint8_t *buf, size_t n)
{
	FILE *fp = fopen(path, "wb");
	if (!fp || fwrite(buf, 1, n, fp) != n)
		bail_out("cannot write %s", path);
	fclose(fp);
}

static void test_pcapng(const char *dir, bool big_endian)
{
	static uint8_t buf[4096];
	static const uint8_t a[5] = { 1, 2, 3, 4, 5 }, b[3] = { 9, 8, 7 }, c[6] = { 6, 6, 6, 6, 6, 6 };
	char path[512];
	const char *order = big_endian ? "big-endian" : "little-endian";

	big = big_endian;
	rd_wire_t w = rd_wire_init(buf, sizeof(buf));
	shb(&w);
	idb(&w, DLT_EN10MB, 262144, -1);    /* microseconds by default */
	idb(&w, DLT_RAW, 65535, 9);         /* nanoseconds; snaplen differs: libpcap refuses */
	epb(&w, 0, 1700000000123456ull, a, sizeof(a));
	epb(&w, 1, 1700000001987654321ull, b, sizeof(b));
	spb(&w, c, sizeof(c));
	ok(rd_wire_ok(&w), "%s pcapng written", order);
	snprintf(path, sizeof(path), "%s/mixed-%s.pcapng", dir, order);
	write_file(path, buf, rd_wire_tell(&w));

	struct seen s = { 0 };
	char err[256] = "";
	int r = rd_capture_foreach(path, collect, &s, err, sizeof(err));
	if (!is_int(r, 0, "%s pcapng with mixed interfaces read", order))
		diag("%s", err);
	is_int(s.n, 3, "%s: three frames", order);
	if (s.n != 3)
		return;
	is_int(s.f[0].number, 1, "frame 1 numbered 1");
	is_int(s.f[0].linktype, DLT_EN10MB, "frame 1 is Ethernet");
	is_int(s.f[0].ts_usec, 1700000000123456ll, "frame 1 timestamp in microseconds");
	is_mem(s.f[0].data, s.f[0].caplen, a, sizeof(a), "frame 1 bytes");
	is_int(s.f[0].wirelen, sizeof(a) + 10, "frame 1 original length");
	is_int(s.f[1].linktype, DLT_RAW, "frame 2 is raw IP (second interface)");
	is_int(s.f[1].ts_usec, 1700000001987654ll, "frame 2 nanosecond timestamp scaled to microseconds");
	is_mem(s.f[1].data, s.f[1].caplen, b, sizeof(b), "frame 2 bytes");
	is_int(s.f[2].number, 3, "simple packet block numbered 3");
	is_mem(s.f[2].data, s.f[2].caplen, c, sizeof(c), "simple packet block bytes");

	is_int(rd_capture_foreach(path, stop_at_first, NULL, err, sizeof(err)), 42,
	       "%s: callback's non-zero value stops the walk", order);

	/* Every truncation of the file either errors or delivers a prefix. */
	size_t full = rd_wire_tell(&w);
	bool sane = true;
	for (size_t cut = 1; cut < full; cut++) {
		write_file(path, buf, cut);
		struct seen t = { 0 };
		r = rd_capture_foreach(path, collect, &t, err, sizeof(err));
		if (t.n > 3 || (r != 0 && r != RD_EINVAL))
			sane = false;
	}
	ok(sane, "%s: every truncated file errors cleanly or yields a prefix", order);
	unlink(path);
}

static void test_pcap_classic(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/classic.pcap", dir);
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *dump = dead ? pcap_dump_open(dead, path) : NULL;
	if (!dump)
		bail_out("cannot write %s", path);
	static const uint8_t pkt[4] = { 0xde, 0xad, 0xbe, 0xef };
	struct pcap_pkthdr h = { .ts = { .tv_sec = 1000, .tv_usec = 5 }, .caplen = 4, .len = 4 };
	pcap_dump((u_char *)dump, &h, pkt);
	pcap_dump((u_char *)dump, &h, pkt);
	pcap_dump_close(dump);
	pcap_close(dead);

	struct seen s = { 0 };
	char err[256] = "";
	is_int(rd_capture_foreach(path, collect, &s, err, sizeof(err)), 0, "classic pcap read through libpcap");
	is_int(s.n, 2, "two frames");
	is_int(s.f[1].number, 2, "numbered from 1");
	is_int(s.f[0].ts_usec, 1000000005ll, "timestamp");
	is_mem(s.f[0].data, s.f[0].caplen, pkt, sizeof(pkt), "bytes");
	unlink(path);

	snprintf(path, sizeof(path), "%s/garbage.pcap", dir);
	write_file(path, (const uint8_t *)"this is not a capture file at all", 33);
	err[0] = '\0';
	is_int(rd_capture_foreach(path, collect, &s, err, sizeof(err)), RD_EINVAL, "a non-capture file is refused");
	ok(strstr(err, path) != NULL, "the error names the file: %s", err);
	unlink(path);
	is_int(rd_capture_foreach("/nonexistent/x.pcap", collect, &s, NULL, 0), RD_EINVAL,
	       "a missing file is refused (NULL err allowed)");
}

/* A minimal IPv4/UDP datagram built with the frame builder, for the link mapping. */
static size_t make_ip(uint8_t *out, size_t cap, uint8_t *frame, size_t fcap, size_t *flen)
{
	static const uint8_t payload[8] = "payload";
	rd_frame_hdr_t h = { .ip_src = 0x0a000001, .ip_dst = 0x0a000002, .sport = 68, .dport = 67 };
	int n = rd_frame_build(frame, fcap, &h, payload, sizeof(payload));
	if (n < 0)
		bail_out("rd_frame_build failed");
	*flen = (size_t)n;
	/* the IP datagram is what follows the 14-byte Ethernet header */
	rd_wire_t w = rd_wire_init_const(frame, (size_t)n);
	rd_wire_skip(&w, RD_ETH_HLEN);
	size_t iplen = RD_IPV4_HLEN + RD_UDP_HLEN + sizeof(payload);
	rd_wire_read_bytes(&w, out, iplen < cap ? iplen : cap);
	return iplen;
}

static void test_linktypes(void)
{
	uint8_t ip[64], frame[128], sll[128];
	size_t flen, iplen = make_ip(ip, sizeof(ip), frame, sizeof(frame), &flen);
	rd_frame_t fr;
	rd_diag_t d;

	is_int(rd_capture_parse(DLT_EN10MB, frame, flen, 0, &fr, &d), 0, "Ethernet link type parses");
	is_int(fr.udp.dport, 67, "Ethernet: UDP port");
	is_int(rd_capture_parse(DLT_RAW, ip, iplen, 0, &fr, &d), 0, "raw IPv4 link type parses");
	is_int(fr.ip.src, 0x0a000001, "raw: source address");

	rd_wire_t w = rd_wire_init(sll, sizeof(sll));
	rd_wire_write_u16(&w, 0);      /* packet type: to us */
	rd_wire_write_u16(&w, 1);      /* ARPHRD_ETHER */
	rd_wire_write_u16(&w, 6);
	rd_wire_fill(&w, 0x11, 8);
	rd_wire_write_u16(&w, RD_ETH_P_IP);
	rd_wire_write_bytes(&w, ip, iplen);
	is_int(rd_capture_parse(DLT_LINUX_SLL, sll, rd_wire_tell(&w), 0, &fr, &d), 0, "Linux cooked v1 parses");
	is_int(fr.payload_len, 8, "cooked: payload length");

	rd_wire_patch_u16(&w, 14, 0x86dd);
	is_int(rd_capture_parse(DLT_LINUX_SLL, sll, rd_wire_tell(&w), 0, &fr, &d), RD_EUNSUPPORTED,
	       "cooked IPv6 is unsupported");
	is_int(rd_capture_parse(DLT_LINUX_SLL, sll, 10, 0, &fr, &d), RD_ETRUNC, "short cooked header is truncated");
	is_int(rd_capture_parse(DLT_IEEE802_11, frame, flen, 0, &fr, &d), RD_EUNSUPPORTED,
	       "802.11 link type is unsupported");
	ok(strstr(d.reason, "link type") != NULL, "reason says why: %s", d.reason);
}

int main(void)
{
	char dir[] = "/tmp/rd-test-capture-XXXXXX";
	plan_lazy();
	if (!mkdtemp(dir))
		bail_out("mkdtemp failed");
	test_pcapng(dir, false);
	test_pcapng(dir, true);
	test_pcap_classic(dir);
	test_linktypes();
	rmdir(dir);
	return done_testing();
}
