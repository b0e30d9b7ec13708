/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * replay.h — `rackdhcpd --replay`: run the client messages of a capture
 * through the engine, with the clock taken from the capture, and write the
 * answers as frames to a capture of their own.
 *
 * It answers "what would this configuration say to this traffic?" without
 * a network: the lease table lives in memory and nothing is made durable
 * (durability is off in replay; the engine is the same code the daemon runs).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
	const char *input;        /*!< capture to read (pcap/pcapng) */
	const char *config;       /*!< YAML configuration */
	const char *output;       /*!< capture to write the answers to (NULL: none) */
	uint32_t link_addr;       /*!< our address on the capture's link (0: from the config) */
	uint8_t server_mac[6];    /*!< source MAC of our answers */
	bool quiet;               /*!< no per-exchange lines */
	FILE *out;                /*!< where the per-exchange lines go */
	bool exiting;             /*!< the caller exits right after: a build without a leak
				   *   checker leaves the lease table to the OS (see replay.c) */
} rd_replay_opts_t;

typedef struct {
	unsigned frames;          /*!< frames read */
	unsigned requests;        /*!< client messages run through the engine */
	unsigned replies;         /*!< answers written */
	unsigned dropped;         /*!< requests the engine stayed silent on */
	unsigned refused;         /*!< DHCP frames the codec refused */
} rd_replay_stats_t;

/*!
 * Run a replay.  \retval 0 done (stats filled); negative RD_E* with err set
 * when the config or a capture cannot be used.
 */
int rd_replay_run(const rd_replay_opts_t *o, rd_replay_stats_t *st, char *err, size_t errlen);
