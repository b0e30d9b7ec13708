/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * netmon.h — interfaces and their IPv4 addresses, found at start and
 * followed live through rtnetlink (libnl-route-3 caches).
 *
 * The daemon's main thread polls rd_netmon_fd(); when it is readable it
 * calls rd_netmon_process(), and when that says something changed it takes
 * a fresh rd_netmon_snapshot() and decides which links to serve: open
 * sockets on a link that appeared or came up, stop serving a subnet whose
 * address left the link.  A netlink buffer overrun (ENOBUFS: events were
 * lost) is handled inside by refilling the caches, and reported as a change.
 *
 * "Changed" means changed as a snapshot shows it: events that touch nothing
 * in rd_netmon_link_t (IPv6 addresses, statistics, qdisc, promiscuity, an
 * operstate step that leaves `up` as it was) report no change.
 *
 * Not thread-safe: one thread owns an rd_netmon_t.
 */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rd_netmon rd_netmon_t;

#define RD_NETMON_MAX_ADDRS 16

typedef struct rd_netmon_addr {
	uint32_t addr;          /*!< host order (IFA_LOCAL) */
	uint8_t prefix_len;
} rd_netmon_addr_t;

typedef struct rd_netmon_link {
	int ifindex;
	char name[IFNAMSIZ];
	uint8_t mac[6];
	bool has_mac;           /*!< an Ethernet-like (ARPHRD_ETHER) 6-byte link-layer address */
	bool up;                /*!< IFF_UP and carrier (IFF_RUNNING, or oper state unknown) */
	bool loopback;          /*!< IFF_LOOPBACK */
	unsigned mtu;
	int vlan_id;            /*!< VLAN id of an 802.1Q (or 802.1ad) sub-interface, -1 otherwise */
	int vlan_parent;        /*!< its lower device's ifindex; 0 if not a VLAN or if that device is in another netns */
	/*! IPv4 addresses: primaries first, then secondaries, each in the kernel's order */
	rd_netmon_addr_t addrs[RD_NETMON_MAX_ADDRS];
	unsigned n_addrs;
	bool addrs_truncated;   /*!< the link has more than RD_NETMON_MAX_ADDRS; the last ones are left out */
} rd_netmon_link_t;

/*!
 * Open the rtnetlink socket, subscribe to link and IPv4 address events, fill
 * the caches.  0, or negative RD_E* with err naming what failed.
 */
int rd_netmon_open(rd_netmon_t **out, char *err, size_t errlen);

/*! The file descriptor to poll for POLLIN. */
int rd_netmon_fd(rd_netmon_t *m);

/*!
 * Read every pending event.  Returns 1 if links or addresses changed since
 * the last call (or since open), or if events were lost and the caches were
 * reloaded; 0 if not; negative RD_E* if reloading the caches failed (the
 * caller logs it; the monitor stays usable and retries the reload on the
 * next call, which the caller may make without waiting for the fd).
 */
int rd_netmon_process(rd_netmon_t *m);

/*!
 * The links as the caches hold them now, sorted by ifindex (malloc'd array,
 * free() it; NULL when *n is 0).  0 or RD_ENOMEM.
 */
int rd_netmon_snapshot(rd_netmon_t *m, rd_netmon_link_t **links, size_t *n);

/*! How many times events were lost and the caches reloaded (for metrics). */
unsigned long rd_netmon_resyncs(const rd_netmon_t *m);

void rd_netmon_close(rd_netmon_t *m);
