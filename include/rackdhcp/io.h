/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.h — the daemon's sockets.
 *
 * Two kinds, which split the traffic between them without overlap:
 *  - one AF_PACKET socket per (served interface, worker), with a classic BPF
 *    filter that keeps only untagged IPv4 UDP datagrams to port 67 addressed
 *    to 255.255.255.255 and not fragmented: clients without an address.  The
 *    sockets of one interface form one PACKET_FANOUT group whose selector is
 *    a hash of the client's hardware address, so every client stays on one
 *    worker while clients spread over all of them.  Replies to such clients
 *    leave as whole Ethernet frames (broadcast, or unicast to chaddr).
 *  - one UDP socket on port 67 per worker (SO_REUSEPORT spreads them), for
 *    relays and for unicast from clients that have an address (RENEWING,
 *    INFORM); a reuseport program spreads them by chaddr as well.  IP_PKTINFO tells which interface and which local address a
 *    datagram came in on; datagrams to the limited broadcast address are
 *    left to the raw sockets.
 * VLAN sub-interfaces are interfaces of their own: the kernel hands their
 * frames to their socket untagged and tags what we send, and the filter
 * drops tagged frames on the parent's socket so no request is seen twice.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*! Receive buffer asked for on every socket (bytes). */
#define RD_IO_RCVBUF (4 << 20)

/*! Frames the kernel dropped on a raw socket since the last call (queue full). */
int rd_io_raw_drops(int fd);

/*!
 * Open a raw socket on ifindex for a fanout group.  *fanout_id < 0: create
 * a new group (its id is returned in *fanout_id); else join that group.
 * Returns the fd (non-blocking, close-on-exec) or negative with err.
 */
int rd_io_raw_open(int ifindex, const char *ifname, int *fanout_id, char *err, size_t errlen);

/*! Open a UDP socket bound to 0.0.0.0:port with SO_REUSEPORT and IP_PKTINFO.  fd or negative. */
int rd_io_udp_open(uint16_t port, char *err, size_t errlen);

/*!
 * Make the kernel pick, among the n UDP sockets of the SO_REUSEPORT group
 * fd belongs to (bound in worker order), the one of worker hash(chaddr) % n,
 * instead of hashing the sender's address and port: a relay, or perfdhcp,
 * sends every client from one address and port.  0 or -errno.
 */
int rd_io_udp_spread(int fd, unsigned n, char *err, size_t errlen);

/*! Send a whole Ethernet frame on ifindex to dst_mac.  0 or -errno. */
int rd_io_send_raw(int fd, int ifindex, const uint8_t dst_mac[6], const void *frame, size_t len);

/*!
 * Send a UDP payload to dst:port (host order) from local address src (0: the
 * kernel chooses) out of ifindex (0: by route).  0 or -errno.
 */
int rd_io_send_udp(int fd, uint32_t dst, uint16_t port, uint32_t src, int ifindex, const void *payload,
		   size_t len);

/*
 * Batched sending: replies that become ready together (a group commit of
 * the lease store) leave with one sendmmsg per run of entries on the same
 * socket instead of one sendmsg each.  The batch holds pointers: every
 * payload must stay valid until the flush has reported on its entry.
 * Order is kept (within a socket, and across sockets entry runs go in
 * order).  One batch belongs to one thread.
 */
#define RD_IO_BATCH_MAX 64

/*! Outcome of one entry: err 0 (sent) or -errno; tag as given to add. */
typedef void (*rd_io_sent_fn)(void *ctx, void *tag, int err);

typedef struct rd_io_batch {
	rd_io_sent_fn sent;
	void *ctx;
	unsigned n;
	struct rd_io_batch_ent {
		int fd;
		void *tag;
		uint64_t ctl[4];          /* CMSG_SPACE(sizeof(struct in_pktinfo)), aligned as cmsghdr */
		uint32_t name[5];         /* sockaddr_in or sockaddr_ll */
		uint8_t namelen;
		bool pktinfo;
		const void *buf;
		size_t len;
	} e[RD_IO_BATCH_MAX];
	uint64_t syscalls;            /*!< sendmmsg/sendmsg calls made (statistics, tests) */
} rd_io_batch_t;

/*! An empty batch whose entries are reported to sent(ctx, tag, err) (sent may be NULL). */
void rd_io_batch_init(rd_io_batch_t *b, rd_io_sent_fn sent, void *ctx);
/*! rd_io_send_udp, queued.  A full batch is flushed first. */
void rd_io_batch_udp(rd_io_batch_t *b, int fd, uint32_t dst, uint16_t port, uint32_t src, int ifindex,
		     const void *payload, size_t len, void *tag);
/*! rd_io_send_raw, queued.  A full batch is flushed first. */
void rd_io_batch_raw(rd_io_batch_t *b, int fd, int ifindex, const uint8_t dst_mac[6], const void *frame,
		     size_t len, void *tag);
/*!
 * Send everything queued and report each entry, in order; the batch is
 * empty after.  sent() must not add to the batch.  Returns the entries sent.
 */
unsigned rd_io_batch_flush(rd_io_batch_t *b);
