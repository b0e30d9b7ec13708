/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * capture.h — reading packet captures (pcap and pcapng, through libpcap)
 * frame by frame, and taking a captured frame of any link type we meet in
 * DHCP captures down to its UDP payload.
 *
 * Used by the capture tools (rackdhcp-dump), the capture cross-check tests,
 * the fuzz corpus replay and, later, `rackdhcpd --replay`.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "rackdhcp/frame.h"

/*! One frame of a capture, handed to an rd_capture_cb. */
typedef struct {
	unsigned number;        /*!< 1-based, as tshark's frame.number */
	int linktype;           /*!< pcap DLT_* of the capture */
	int64_t ts_usec;        /*!< capture timestamp, microseconds since the epoch */
	const uint8_t *data;    /*!< captured bytes (valid during the callback only) */
	size_t caplen;          /*!< bytes captured */
	size_t wirelen;         /*!< bytes on the wire */
} rd_capture_frame_t;

/*! Return 0 to go on, non-zero to stop (rd_capture_foreach then returns it). */
typedef int (*rd_capture_cb)(void *ctx, const rd_capture_frame_t *f);

/*!
 * Call cb for every frame of the capture at path.
 * \retval 0 all frames read; cb's non-zero value; RD_EINVAL when the file
 *         cannot be opened or read, with libpcap's message in err.
 */
int rd_capture_foreach(const char *path, rd_capture_cb cb, void *ctx, char *err, size_t errlen);

/*!
 * Parse a captured frame of link type linktype (Ethernet, Linux cooked v1,
 * raw IPv4) with rd_frame_parse_* semantics.  Other link types are
 * RD_EUNSUPPORTED.
 */
int rd_capture_parse(int linktype, const uint8_t *data, size_t len, unsigned flags,
		     rd_frame_t *out, rd_diag_t *d);
