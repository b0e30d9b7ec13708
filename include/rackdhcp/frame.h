/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * frame.h — Ethernet (with one optional 802.1Q tag), IPv4 and UDP: parse a
 * received frame down to its UDP payload, and build a reply frame around a
 * DHCP payload with both checksums filled in.
 *
 * Addresses and ports in the structs are in host byte order.  Parsing never
 * copies the payload: rd_frame_t.payload is a read-only view into the caller's
 * buffer, valid as long as that buffer is.
 *
 * Policy (what a DHCP server on a raw socket needs):
 *  - only IPv4 (ethertype 0x0800, possibly behind one 0x8100 tag) carrying UDP;
 *    anything else is RD_EUNSUPPORTED, so callers can drop it quietly;
 *  - IPv4 header checksum verified, options (IHL > 5) skipped, fragments
 *    (MF set or offset non-zero) rejected;
 *  - UDP checksum verified over the pseudo-header unless it is zero (sender
 *    did not compute one) or RD_FRAME_NO_UDP_CSUM is passed (frames looped
 *    back inside this host whose checksum the kernel never filled in);
 *  - Ethernet padding after the IP datagram is ignored.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rackdhcp/error.h"

#define RD_ETH_ALEN         6
#define RD_ETH_HLEN         14
#define RD_VLAN_HLEN        4
#define RD_ETH_P_IP         0x0800
#define RD_ETH_P_8021Q      0x8100
#define RD_IPV4_HLEN        20
#define RD_UDP_HLEN         8
#define RD_IPPROTO_UDP      17
#define RD_DHCP_SERVER_PORT 67
#define RD_DHCP_CLIENT_PORT 68

/*! Parse flags. */
enum {
	RD_FRAME_NO_UDP_CSUM = 1 << 0,   /*!< do not verify the UDP checksum */
	RD_FRAME_NO_IP_CSUM = 1 << 1,    /*!< do not verify the IPv4 header checksum */
};

typedef struct {
	uint8_t dst[RD_ETH_ALEN];
	uint8_t src[RD_ETH_ALEN];
	bool vlan;          /*!< an 802.1Q tag was present */
	uint16_t vlan_tci;  /*!< PCP/DEI/VID as on the wire; VID = tci & 0x0fff */
	uint16_t ethertype; /*!< inner ethertype */
} rd_eth_t;

typedef struct {
	uint8_t tos;
	uint8_t ttl;
	uint8_t proto;
	uint16_t id;
	uint16_t total_len; /*!< from the header */
	uint8_t ihl;        /*!< header length in bytes (20..60) */
	bool df;            /*!< don't-fragment bit */
	uint32_t src;       /*!< host order */
	uint32_t dst;       /*!< host order */
} rd_ipv4_t;

typedef struct {
	uint16_t sport;
	uint16_t dport;
	uint16_t len;       /*!< from the header, includes the 8-byte header */
	uint16_t csum;      /*!< as on the wire (0 = none) */
} rd_udp_t;

typedef struct {
	rd_eth_t eth;       /*!< zeroed when parsing from the IPv4 layer */
	rd_ipv4_t ip;
	rd_udp_t udp;
	const uint8_t *payload; /*!< UDP payload view (not owned) */
	size_t payload_len;
} rd_frame_t;

/*!
 * Parse an Ethernet frame down to the UDP payload.
 * \retval 0 success; negative RD_E* with d->reason otherwise.
 */
int rd_frame_parse_eth(const uint8_t *frame, size_t len, unsigned flags,
		       rd_frame_t *out, rd_diag_t *d);

/*! Same, starting at the IPv4 header (raw-IP captures, UDP sockets' peers). */
int rd_frame_parse_ipv4(const uint8_t *pkt, size_t len, unsigned flags,
			rd_frame_t *out, rd_diag_t *d);

/*! What to put around a payload when building a frame. */
typedef struct {
	uint8_t eth_dst[RD_ETH_ALEN];
	uint8_t eth_src[RD_ETH_ALEN];
	bool vlan;              /*!< insert an 802.1Q tag with vlan_tci */
	uint16_t vlan_tci;
	uint32_t ip_src;        /*!< host order */
	uint32_t ip_dst;        /*!< host order */
	uint8_t ttl;            /*!< 0 means 64 */
	uint8_t tos;
	uint16_t ip_id;
	uint16_t sport;
	uint16_t dport;
} rd_frame_hdr_t;

/*!
 * Write Ethernet [+802.1Q] + IPv4 (DF set, no options) + UDP + payload into
 * out, with the IPv4 header checksum and the UDP checksum computed.  Frames
 * shorter than the Ethernet minimum (60 bytes without FCS) are zero-padded.
 * \retval >0 the frame length; RD_ENOSPACE if cap is too small; RD_ETOOBIG
 *            if the payload does not fit in one IPv4 datagram.
 */
int rd_frame_build(uint8_t *out, size_t cap, const rd_frame_hdr_t *h,
		   const uint8_t *payload, size_t payload_len);

/*! Length of rd_frame_build's headers for h (14 or 18, + 28). */
size_t rd_frame_hdr_len(const rd_frame_hdr_t *h);

/*! UDP checksum over the IPv4 pseudo-header; returns 0xffff for a computed 0. */
uint16_t rd_udp_checksum(uint32_t src, uint32_t dst, const uint8_t *udp, size_t udp_len);
