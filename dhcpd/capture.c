/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * capture.c — capture-file reading for the tools and tests (see capture.h).
 *
 * libpcap reads pcap and most pcapng files.  It refuses a pcapng file whose
 * interfaces differ in link type or snapshot length (what `mergecap -a` of
 * several captures gives), so a small pcapng reader of our own takes over
 * when libpcap cannot open a file or fails before its first frame: section headers of either byte order,
 * interface descriptions (link type, if_tsresol), and enhanced, simple and
 * obsolete packet blocks.  The other thing we add is the mapping from link
 * types to our frame parser.  Only the link layers that DHCP captures in the
 * wild use are handled: Ethernet, Linux "cooked" v1 (tcpdump -i any) and raw
 * IPv4.
 */
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rackdhcp/capture.h"
#include "rackdhcp/wire.h"

#define SLL_HLEN 16   /* Linux cooked v1 header; protocol in its last 2 bytes */

int rd_capture_parse(int linktype, const uint8_t *data, size_t len, unsigned flags,
		     rd_frame_t *out, rd_diag_t *d)
{
	rd_wire_t w = rd_wire_init_const(data, len);

	rd_diag_clear(d);
	switch (linktype) {
	case DLT_EN10MB:
		return rd_frame_parse_eth(data, len, flags, out, d);
	case DLT_LINUX_SLL: {
		rd_wire_skip(&w, SLL_HLEN - 2);
		uint16_t proto = rd_wire_read_u16(&w);
		if (!rd_wire_ok(&w))
			return rd_diag_set(d, RD_ETRUNC, "cooked capture header truncated: %zu bytes", len);
		if (proto != RD_ETH_P_IP)
			return rd_diag_set(d, RD_EUNSUPPORTED, "cooked capture protocol 0x%04x is not IPv4", proto);
		size_t rest = rd_wire_available(&w);
		const uint8_t *ip = rd_wire_view(&w, rest);
		return rd_frame_parse_ipv4(ip, rest, flags, out, d);
	}
	case DLT_RAW:
#ifdef DLT_IPV4
	case DLT_IPV4:
#endif
		return rd_frame_parse_ipv4(data, len, flags, out, d);
	default:
		return rd_diag_set(d, RD_EUNSUPPORTED, "capture link type %d is not supported", linktype);
	}
}

#define PCAPNG_SHB       0x0A0D0D0Au
#define PCAPNG_BOM       0x1A2B3C4Du
#define PCAPNG_IDB       1
#define PCAPNG_OPB       2      /* obsolete packet block */
#define PCAPNG_SPB       3
#define PCAPNG_EPB       6
#define PCAPNG_MAX_IFACES 256
#define PCAPNG_MAX_FILE  (256u << 20)

struct pcapng_iface {
	int linktype;
	uint64_t ticks_per_sec;   /* from if_tsresol; default microseconds */
};

/* stdio buffer for capture files read or written in bulk. */
#define CAPTURE_IO_BUF (1u << 20)

static uint32_t ng_u32(rd_wire_t *w, bool le) { return le ? rd_wire_read_u32le(w) : rd_wire_read_u32(w); }
static uint16_t ng_u16(rd_wire_t *w, bool le) { return le ? rd_wire_read_u16le(w) : rd_wire_read_u16(w); }

static int read_whole_file(const char *path, uint8_t **out, size_t *size, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;

	if (!fp) {
		snprintf(err, errlen, "%s: cannot open: %m", path);
		return RD_EINVAL;
	}
	for (;;) {
		if (len == cap) {
			uint8_t *n = cap < PCAPNG_MAX_FILE ? realloc(buf, cap ? cap * 2 : 65536) : NULL;
			if (!n) {
				snprintf(err, errlen, "%s: larger than %u MiB or out of memory", path,
					 PCAPNG_MAX_FILE >> 20);
				free(buf);
				fclose(fp);
				return RD_EINVAL;
			}
			buf = n;
			cap = cap ? cap * 2 : 65536;
		}
		size_t got = fread(buf + len, 1, cap - len, fp);
		if (got == 0)
			break;
		len += got;
	}
	fclose(fp);
	*out = buf;
	*size = len;
	return 0;
}

/* if_tsresol: bit 7 clear = 10^-n s, set = 2^-n s. */
static uint64_t ng_ticks(uint8_t tsresol)
{
	unsigned n = tsresol & 0x7f;
	uint64_t t = 1;
	if (tsresol & 0x80)
		return n < 64 ? (uint64_t)1 << n : 0;
	for (unsigned i = 0; i < n && t <= UINT64_MAX / 10; i++)
		t *= 10;
	return t;
}

static void ng_parse_idb(rd_wire_t *b, bool le, struct pcapng_iface *ifc)
{
	ifc->linktype = ng_u16(b, le);
	ifc->ticks_per_sec = 1000000;
	rd_wire_skip(b, 6);   /* reserved, snaplen */
	while (rd_wire_available(b) >= 4) {
		uint16_t code = ng_u16(b, le), olen = ng_u16(b, le);
		rd_wire_t v = rd_wire_sub(b, olen);
		rd_wire_skip(b, (4 - olen % 4) % 4);
		if (code == 0)
			break;
		if (code == 9 && olen == 1) {
			uint64_t t = ng_ticks(rd_wire_read_u8(&v));
			if (t)
				ifc->ticks_per_sec = t;
		}
	}
}

/* Our own pcapng walk, for the files libpcap refuses. */
static int pcapng_foreach(const char *path, rd_capture_cb cb, void *ctx, char *err, size_t errlen)
{
	uint8_t *file;
	size_t size;
	int ret = read_whole_file(path, &file, &size, err, errlen);
	if (ret < 0)
		return ret;

	struct pcapng_iface ifaces[PCAPNG_MAX_IFACES];
	unsigned nifaces = 0;
	bool le = true, seen_shb = false;
	rd_capture_frame_t f = { 0 };
	rd_wire_t w = rd_wire_init_const(file, size);

	while (ret == 0 && rd_wire_available(&w) >= 12) {
		size_t start = rd_wire_tell(&w);
		uint32_t type = rd_wire_read_u32le(&w);   /* the SHB type is a palindrome */
		if (type == PCAPNG_SHB) {
			rd_wire_skip(&w, 4);
			uint32_t bom = rd_wire_read_u32le(&w);
			if (bom != PCAPNG_BOM && bom != __builtin_bswap32(PCAPNG_BOM)) {
				snprintf(err, errlen, "%s: not a pcapng file (byte-order magic 0x%08x)", path, bom);
				ret = RD_EINVAL;
				break;
			}
			le = bom == PCAPNG_BOM;
			seen_shb = true;
			nifaces = 0;
			rd_wire_seek(&w, start + 4);
		} else if (!seen_shb) {
			snprintf(err, errlen, "%s: not a pcapng file", path);
			ret = RD_EINVAL;
			break;
		} else if (!le) {
			type = __builtin_bswap32(type);
		}
		uint32_t blen = ng_u32(&w, le);
		if (blen < 12 || blen % 4 || blen - 8 > rd_wire_available(&w)) {
			snprintf(err, errlen, "%s: block at offset %zu has bad length %u", path, start, blen);
			ret = RD_EINVAL;
			break;
		}
		rd_wire_t b = rd_wire_sub(&w, blen - 12);   /* body, without the trailing length */
		rd_wire_skip(&w, 4);

		uint32_t iface = 0, clen, ts_hi = 0, ts_lo = 0;
		switch (type) {
		case PCAPNG_IDB:
			if (nifaces < PCAPNG_MAX_IFACES)
				ng_parse_idb(&b, le, &ifaces[nifaces++]);
			continue;
		case PCAPNG_EPB:
		case PCAPNG_OPB:
			iface = type == PCAPNG_EPB ? ng_u32(&b, le) : ng_u16(&b, le);
			if (type == PCAPNG_OPB)
				rd_wire_skip(&b, 2);   /* drops count */
			ts_hi = ng_u32(&b, le);
			ts_lo = ng_u32(&b, le);
			clen = ng_u32(&b, le);
			f.wirelen = ng_u32(&b, le);
			break;
		case PCAPNG_SPB:
			f.wirelen = ng_u32(&b, le);
			clen = f.wirelen < rd_wire_available(&b) ? f.wirelen : (uint32_t)rd_wire_available(&b);
			break;
		default:
			continue;
		}
		f.data = rd_wire_view(&b, clen);
		if (!f.data || iface >= nifaces) {
			snprintf(err, errlen, "%s: packet block at offset %zu is malformed", path, start);
			ret = RD_EINVAL;
			break;
		}
		uint64_t ticks = ((uint64_t)ts_hi << 32) | ts_lo, tps = ifaces[iface].ticks_per_sec;
		f.number++;
		f.linktype = ifaces[iface].linktype;
		f.caplen = clen;
		f.ts_usec = (int64_t)(ticks / tps * 1000000 + (ticks % tps) * 1000000 / tps);
		ret = cb(ctx, &f);
	}
	free(file);
	return ret;
}

int rd_capture_foreach(const char *path, rd_capture_cb cb, void *ctx, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	char dummy[1];
	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	/* Our own FILE with a large buffer: libpcap's default (BUFSIZ) costs a
	 * read(2) every few frames, a visible share of a long replay. */
	pcap_t *p = NULL;
	FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : NULL;
	if (fp) {
		(void)setvbuf(fp, NULL, _IOFBF, CAPTURE_IO_BUF);
		p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
		if (!p)
			fclose(fp);   /* libpcap closes only files it opened itself */
	} else {
		p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	}
	if (!p) {
		/* Perhaps a pcapng that libpcap refuses (mixed interfaces). */
		int r = pcapng_foreach(path, cb, ctx, err, errlen);
		if (r != RD_EINVAL)
			return r;
		snprintf(err, errlen, "%s: %s", path, ebuf);
		return RD_EINVAL;
	}

	rd_capture_frame_t f = { .linktype = pcap_datalink(p) };
	struct pcap_pkthdr *h;
	const u_char *data;
	int r, ret = 0;
	while ((r = pcap_next_ex(p, &h, &data)) == 1) {
		f.number++;
		f.ts_usec = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
		f.data = data;
		f.caplen = h->caplen;
		f.wirelen = h->len;
		ret = cb(ctx, &f);
		if (ret)
			break;
	}
	if (r == -1 && f.number == 0) {
		/* libpcap 1.10 opens a pcapng with interfaces of different
		 * snapshot lengths, then fails on its first packet: read it
		 * ourselves instead. */
		snprintf(err, errlen, "%s: %s", path, pcap_geterr(p));
		pcap_close(p);
		return pcapng_foreach(path, cb, ctx, err, errlen);
	}
	if (r == -1) {
		snprintf(err, errlen, "%s: frame %u: %s", path, f.number + 1, pcap_geterr(p));
		ret = RD_EINVAL;
	}
	pcap_close(p);
	return ret;
}
