/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * frame.c — the link, network and transport layers around a DHCP payload:
 * parse an Ethernet (optionally 802.1Q-tagged) IPv4/UDP frame down to its
 * UDP payload, and build such a frame around a reply with both checksums.
 *
 * Every byte goes through the rd_wire_t cursor.  The parser works on nested
 * sub-cursors (frame -> IPv4 datagram -> UDP datagram -> payload), each one
 * cut to the length its header declares, so a length field can never make a
 * later read run past what the previous layer vouched for, and trailing
 * Ethernet padding simply falls outside the IPv4 cursor.
 *
 * Policy and error codes follow include/rackdhcp/frame.h: things a DHCP
 * server does not serve (other ethertypes, other protocols, fragments) are
 * RD_EUNSUPPORTED so callers drop them quietly; short input is RD_ETRUNC;
 * impossible header values are RD_EMALFORMED; bad checksums RD_ECHECKSUM.
 */
#include <string.h>

#include "rackdhcp/frame.h"
#include "rackdhcp/wire.h"

#define ETH_MIN_FRAME   60      /* Ethernet minimum without the FCS */
#define IP_FLAG_DF      0x4000
#define IP_FLAG_MF      0x2000
#define IP_FRAG_OFFSET  0x1fff
#define IP_DEFAULT_TTL  64
#define UDP_CSUM_OFF    6       /* offset of the checksum in the UDP header */
#define IP_CSUM_OFF     10      /* offset of the checksum in the IPv4 header */

/*
 * One's-complement sum of the UDP pseudo-header plus the UDP datagram at
 * [off, off + len) of w, leaving out the checksum field itself.  Skipping the
 * field rather than requiring it to be zero lets one helper serve the builder
 * (field not written yet), the verifier (field holds the sender's value, and
 * we want the value it should have held, for the log) and rd_udp_checksum().
 */
static uint32_t udp_csum_acc(rd_wire_t *w, size_t off, size_t len, uint32_t src, uint32_t dst)
{
	uint32_t acc = 0;

	acc += src >> 16;
	acc += src & 0xffff;
	acc += dst >> 16;
	acc += dst & 0xffff;
	acc += RD_IPPROTO_UDP;
	/*
	 * The pseudo-header length is 16 bits; IPv4 cannot carry more, and
	 * callers only pass lengths that came from (or went into) a 16-bit field.
	 */
	acc += (uint32_t)(len & 0xffff);
	if (len >= RD_UDP_HLEN) {
		acc = rd_wire_csum_add(w, off, UDP_CSUM_OFF, acc);
		acc = rd_wire_csum_add(w, off + RD_UDP_HLEN, len - RD_UDP_HLEN, acc);
	} else {
		acc = rd_wire_csum_add(w, off, len, acc);
	}
	return acc;
}

/* A computed UDP checksum of 0 is sent as 0xffff: 0 means "no checksum". */
static uint16_t udp_csum_final(uint32_t acc)
{
	uint16_t c = rd_csum_fold(acc);

	return c ? c : 0xffff;
}

uint16_t rd_udp_checksum(uint32_t src, uint32_t dst, const uint8_t *udp, size_t udp_len)
{
	rd_wire_t w = rd_wire_init_const(udp, udp_len);

	return udp_csum_final(udp_csum_acc(&w, 0, rd_wire_size(&w), src, dst));
}

/*
 * UDP layer.  ip is the IPv4 payload (already cut to total_len - ihl); the
 * addresses come from the IPv4 header for the pseudo-header.
 */
static int parse_udp(rd_wire_t *ip, unsigned flags, rd_frame_t *out, rd_diag_t *d)
{
	size_t avail = rd_wire_available(ip);
	rd_wire_t udp;

	if (avail < RD_UDP_HLEN)
		return rd_diag_set(d, RD_ETRUNC, "UDP header truncated: %zu of %d bytes",
				   avail, RD_UDP_HLEN);

	/* Look at the length first, then carve exactly that many bytes. */
	rd_wire_t hdr = rd_wire_rewind_copy(ip);
	rd_wire_seek(&hdr, rd_wire_tell(ip));
	rd_wire_skip(&hdr, 4);
	uint16_t ulen = rd_wire_read_u16(&hdr);

	if (ulen < RD_UDP_HLEN)
		return rd_diag_set(d, RD_EMALFORMED, "UDP length %u below header size", ulen);
	if (ulen > avail)
		return rd_diag_set(d, RD_ETRUNC, "UDP length %u exceeds IPv4 payload of %zu bytes",
				   ulen, avail);

	/* A UDP length shorter than the IP payload wins: the rest is not ours. */
	udp = rd_wire_sub(ip, ulen);
	out->udp.sport = rd_wire_read_u16(&udp);
	out->udp.dport = rd_wire_read_u16(&udp);
	out->udp.len = rd_wire_read_u16(&udp);
	out->udp.csum = rd_wire_read_u16(&udp);

	if (out->udp.csum != 0 && !(flags & RD_FRAME_NO_UDP_CSUM)) {
		rd_wire_t all = rd_wire_rewind_copy(&udp);
		uint32_t acc = udp_csum_acc(&all, 0, ulen, out->ip.src, out->ip.dst);
		uint16_t want = udp_csum_final(acc);

		/*
		 * Verify the RFC 1071 way: the sum over everything, the received
		 * checksum included, must fold to zero.  That accepts both
		 * encodings of one's-complement zero, which a plain comparison
		 * with `want` would not.
		 */
		if (!rd_wire_ok(&all))
			return rd_diag_set(d, RD_ETRUNC, "UDP datagram truncated");
		if (rd_csum_fold(acc + out->udp.csum) != 0)
			return rd_diag_set(d, RD_ECHECKSUM, "UDP checksum 0x%04x, expected 0x%04x",
					   out->udp.csum, want);
	}

	out->payload_len = ulen - RD_UDP_HLEN;
	out->payload = rd_wire_view(&udp, out->payload_len);
	if (!rd_wire_ok(&udp))
		return rd_diag_set(d, RD_ETRUNC, "UDP datagram truncated");
	return 0;
}

/* IPv4 layer; w is positioned at the IPv4 header. */
static int parse_ip(rd_wire_t *w, unsigned flags, rd_frame_t *out, rd_diag_t *d)
{
	/* Offsets below are relative to the IPv4 header, so work on a sub-cursor. */
	size_t avail = rd_wire_available(w);
	rd_wire_t ip = rd_wire_sub(w, avail);

	if (avail < RD_IPV4_HLEN)
		return rd_diag_set(d, RD_ETRUNC, "IPv4 header truncated: %zu of %d bytes",
				   avail, RD_IPV4_HLEN);

	uint8_t vihl = rd_wire_read_u8(&ip);
	unsigned version = vihl >> 4;
	size_t ihl = (size_t)(vihl & 0x0f) * 4;

	if (version == 6)
		return rd_diag_set(d, RD_EUNSUPPORTED, "IPv6 packet");
	if (version != 4)
		return rd_diag_set(d, RD_EMALFORMED, "IP version %u", version);
	if (ihl < RD_IPV4_HLEN)
		return rd_diag_set(d, RD_EMALFORMED, "IPv4 header length %zu below 20", ihl);
	if (ihl > avail)
		return rd_diag_set(d, RD_ETRUNC, "IPv4 header length %zu exceeds %zu bytes",
				   ihl, avail);

	out->ip.ihl = (uint8_t)ihl;
	out->ip.tos = rd_wire_read_u8(&ip);
	out->ip.total_len = rd_wire_read_u16(&ip);
	out->ip.id = rd_wire_read_u16(&ip);
	uint16_t frag = rd_wire_read_u16(&ip);
	out->ip.ttl = rd_wire_read_u8(&ip);
	out->ip.proto = rd_wire_read_u8(&ip);
	uint16_t csum = rd_wire_read_u16(&ip);
	out->ip.src = rd_wire_read_u32(&ip);
	out->ip.dst = rd_wire_read_u32(&ip);
	out->ip.df = (frag & IP_FLAG_DF) != 0;
	if (!rd_wire_ok(&ip))
		return rd_diag_set(d, RD_ETRUNC, "IPv4 header truncated");

	if (out->ip.total_len < ihl)
		return rd_diag_set(d, RD_EMALFORMED, "IPv4 total length %u below header length %zu",
				   out->ip.total_len, ihl);
	if (out->ip.total_len > avail)
		return rd_diag_set(d, RD_ETRUNC, "IPv4 total length %u exceeds %zu bytes",
				   out->ip.total_len, avail);
	/* Ethernet pads short frames; those bytes are not part of the datagram. */
	rd_wire_truncate(&ip, out->ip.total_len);

	if (!(flags & RD_FRAME_NO_IP_CSUM)) {
		uint32_t acc = rd_wire_csum_add(&ip, 0, IP_CSUM_OFF, 0);
		acc = rd_wire_csum_add(&ip, IP_CSUM_OFF + 2, ihl - IP_CSUM_OFF - 2, acc);
		if (!rd_wire_ok(&ip))
			return rd_diag_set(d, RD_ETRUNC, "IPv4 header truncated");
		/* Same sum-to-zero rule as for UDP; the expected value is for the log. */
		if (rd_csum_fold(acc + csum) != 0)
			return rd_diag_set(d, RD_ECHECKSUM, "IPv4 header checksum 0x%04x, expected 0x%04x",
					   csum, rd_csum_fold(acc));
	}

	if (frag & (IP_FLAG_MF | IP_FRAG_OFFSET))
		return rd_diag_set(d, RD_EUNSUPPORTED, "IPv4 fragment");
	if (out->ip.proto != RD_IPPROTO_UDP)
		return rd_diag_set(d, RD_EUNSUPPORTED, "IP protocol %u", out->ip.proto);

	/* Options (IHL > 5) are of no interest to DHCP: skip them. */
	rd_wire_seek(&ip, ihl);
	return parse_udp(&ip, flags, out, d);
}

int rd_frame_parse_ipv4(const uint8_t *pkt, size_t len, unsigned flags,
			rd_frame_t *out, rd_diag_t *d)
{
	rd_wire_t w = rd_wire_init_const(pkt, len);

	/* Like rd_dhcp_parse: a reused diag must not keep a stale reason. */
	rd_diag_clear(d);
	memset(out, 0, sizeof(*out));
	return parse_ip(&w, flags, out, d);
}

int rd_frame_parse_eth(const uint8_t *frame, size_t len, unsigned flags,
		       rd_frame_t *out, rd_diag_t *d)
{
	rd_wire_t w = rd_wire_init_const(frame, len);

	rd_diag_clear(d);
	memset(out, 0, sizeof(*out));
	rd_wire_read_bytes(&w, out->eth.dst, RD_ETH_ALEN);
	rd_wire_read_bytes(&w, out->eth.src, RD_ETH_ALEN);
	uint16_t type = rd_wire_read_u16(&w);
	if (type == RD_ETH_P_8021Q) {
		out->eth.vlan = true;
		out->eth.vlan_tci = rd_wire_read_u16(&w);
		type = rd_wire_read_u16(&w);
	}
	if (!rd_wire_ok(&w))
		return rd_diag_set(d, RD_ETRUNC, "Ethernet header truncated: %zu bytes", len);
	out->eth.ethertype = type;

	/*
	 * Only one tag: a second 0x8100 (or an 802.1ad 0x88a8 outer tag, seen
	 * here as the first ethertype) is a QinQ frame we do not serve.
	 */
	if (type != RD_ETH_P_IP)
		return rd_diag_set(d, RD_EUNSUPPORTED, "ethertype 0x%04x", type);
	return parse_ip(&w, flags, out, d);
}

size_t rd_frame_hdr_len(const rd_frame_hdr_t *h)
{
	return RD_ETH_HLEN + (h->vlan ? RD_VLAN_HLEN : 0) + RD_IPV4_HLEN + RD_UDP_HLEN;
}

int rd_frame_build(uint8_t *out, size_t cap, const rd_frame_hdr_t *h,
		   const uint8_t *payload, size_t payload_len)
{
	if (!h || (payload_len && !payload))
		return RD_EINVAL;
	if (payload_len > 0xffff - RD_IPV4_HLEN - RD_UDP_HLEN)
		return RD_ETOOBIG;

	size_t hlen = rd_frame_hdr_len(h);
	size_t flen = hlen + payload_len;
	if (flen < ETH_MIN_FRAME)
		flen = ETH_MIN_FRAME;
	if (!out || cap < flen)
		return RD_ENOSPACE;

	rd_wire_t w = rd_wire_init(out, flen);
	uint16_t ulen = (uint16_t)(RD_UDP_HLEN + payload_len);

	rd_wire_write_bytes(&w, h->eth_dst, RD_ETH_ALEN);
	rd_wire_write_bytes(&w, h->eth_src, RD_ETH_ALEN);
	if (h->vlan) {
		rd_wire_write_u16(&w, RD_ETH_P_8021Q);
		rd_wire_write_u16(&w, h->vlan_tci);
	}
	rd_wire_write_u16(&w, RD_ETH_P_IP);

	size_t ip_off = rd_wire_tell(&w);
	rd_wire_write_u8(&w, 0x45);                     /* version 4, IHL 5 */
	rd_wire_write_u8(&w, h->tos);
	rd_wire_write_u16(&w, (uint16_t)(RD_IPV4_HLEN + ulen));
	rd_wire_write_u16(&w, h->ip_id);
	rd_wire_write_u16(&w, IP_FLAG_DF);              /* DF, offset 0 */
	rd_wire_write_u8(&w, h->ttl ? h->ttl : IP_DEFAULT_TTL);
	rd_wire_write_u8(&w, RD_IPPROTO_UDP);
	rd_wire_write_u16(&w, 0);                       /* checksum, patched below */
	rd_wire_write_u32(&w, h->ip_src);
	rd_wire_write_u32(&w, h->ip_dst);

	size_t udp_off = rd_wire_tell(&w);
	rd_wire_write_u16(&w, h->sport);
	rd_wire_write_u16(&w, h->dport);
	rd_wire_write_u16(&w, ulen);
	rd_wire_write_u16(&w, 0);                       /* checksum, patched below */
	rd_wire_write_bytes(&w, payload, payload_len);
	/* Zero the Ethernet padding: never leak stale buffer contents. */
	rd_wire_fill(&w, 0, rd_wire_available(&w));

	uint32_t acc = rd_wire_csum_add(&w, ip_off, RD_IPV4_HLEN, 0);
	rd_wire_patch_u16(&w, ip_off + IP_CSUM_OFF, rd_csum_fold(acc));
	acc = udp_csum_acc(&w, udp_off, ulen, h->ip_src, h->ip_dst);
	rd_wire_patch_u16(&w, udp_off + UDP_CSUM_OFF, udp_csum_final(acc));

	if (!rd_wire_ok(&w))
		return w.error;
	return (int)flen;
}
