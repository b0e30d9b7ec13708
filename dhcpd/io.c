/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.c — raw and UDP sockets of the daemon (see io.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rackdhcp/error.h"
#include "rackdhcp/io.h"

#ifndef PACKET_FANOUT_FLAG_UNIQUEID
#define PACKET_FANOUT_FLAG_UNIQUEID 0x2000
#endif
#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

/*
 * Receive filter, offsets into the Ethernet frame:
 *   not addressed to another host, no VLAN tag carried out of band (a tagged frame belongs to the VLAN
 *   sub-interface's socket), ethertype IPv4, protocol UDP, not a fragment,
 *   destination 255.255.255.255, UDP destination port 67.
 */
static struct sock_filter rx_filter[] = {
	/* A frame for another host: also what a tagged frame of a VLAN we
	 * have no sub-interface for becomes (the kernel strips the tag). */
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, (__u32)(SKF_AD_OFF + SKF_AD_PKTTYPE)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OTHERHOST, 12, 0),
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, (__u32)(SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 10),
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 8),
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 6),
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, 4, 0),    /* MF or a fragment offset */
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 30),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffffu, 0, 2),
	BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14),
	BPF_JUMP(BPF_JMP | BPF_JA, 1, 0, 0),                   /* to the port check */
	BPF_STMT(BPF_RET | BPF_K, 0),
	BPF_STMT(BPF_LD | BPF_H | BPF_IND, 16),                /* 14 + 2: UDP destination port */
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 67, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 0x40000),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

/*
 * Fanout selector: the last four bytes of chaddr (UDP payload offset 28 +
 * 2).  The kernel takes the result modulo the group's size.  Frames too
 * short to hold them make the load fail, which returns 0: worker 0.  Unlike
 * the socket filter above, the fanout program runs before the link header
 * is pushed back, so its offsets count from the IPv4 header.
 */
static struct sock_filter fanout_filter[] = {
	BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
	BPF_STMT(BPF_LD | BPF_W | BPF_IND, 8 + 30),
	BPF_STMT(BPF_RET | BPF_A, 0),
};

/* A PXE storm is bursty: a few MiB of queue absorb seconds of it where the
 * default ~200 KiB overflows in milliseconds.  FORCE (CAP_NET_ADMIN) goes
 * past net.core.rmem_max when we have it; otherwise the sysctl caps it. */
static void big_rcvbuf(int fd)
{
	int sz = RD_IO_RCVBUF;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

/*
 * UDP socket filter: drop datagrams to the limited broadcast address, which
 * the raw sockets answer.  Without it every broadcast DISCOVER is queued
 * once per worker on the UDP sockets as well, where the copies only take
 * room from relayed traffic.  The filter runs with the packet at the UDP
 * header; the IPv4 destination is reached through SKF_NET_OFF.
 */
static struct sock_filter udp_filter[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (__u32)(SKF_NET_OFF + 16)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffffu, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 0),
	BPF_STMT(BPF_RET | BPF_K, 0x40000),
};

int rd_io_raw_drops(int fd)
{
	struct tpacket_stats st;
	socklen_t l = sizeof(st);
	if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &l) < 0)
		return 0;
	return (int)st.tp_drops;
}

int rd_io_raw_open(int ifindex, const char *ifname, int *fanout_id, char *err, size_t errlen)
{
	struct sock_fprog prog = { .len = sizeof(rx_filter) / sizeof(rx_filter[0]), .filter = rx_filter };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = ifindex };
	int fd, one = 1, e;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "%s: raw socket: %s", ifname, strerror(e));
		return -e;
	}
	/* The filter goes on before the bind so that no unfiltered frame is
	 * ever queued; protocol 0 at socket() means nothing is queued before
	 * the bind either. */
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0) {
		e = errno;
		snprintf(err, errlen, "%s: attaching the BPF filter: %s", ifname, strerror(e));
		goto fail;
	}
	(void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	(void)setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one));
	big_rcvbuf(fd);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		e = errno;
		snprintf(err, errlen, "%s: binding the raw socket: %s", ifname, strerror(e));
		goto fail;
	}
	if (fanout_id) {
		int arg;
		if (*fanout_id < 0)
			arg = (PACKET_FANOUT_CBPF | PACKET_FANOUT_FLAG_UNIQUEID) << 16;
		else
			arg = *fanout_id | (PACKET_FANOUT_CBPF << 16);
		if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) < 0) {
			e = errno;
			snprintf(err, errlen, "%s: joining the packet fanout group: %s", ifname, strerror(e));
			goto fail;
		}
		struct sock_fprog fp = { .len = sizeof(fanout_filter) / sizeof(fanout_filter[0]),
					 .filter = fanout_filter };
		if (*fanout_id < 0) {
			if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, &fp, sizeof(fp)) < 0) {
				e = errno;
				snprintf(err, errlen, "%s: fanout selector: %s", ifname, strerror(e));
				goto fail;
			}
			socklen_t l = sizeof(arg);
			if (getsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, &l) < 0) {
				e = errno;
				snprintf(err, errlen, "%s: reading the fanout group id: %s", ifname, strerror(e));
				goto fail;
			}
			*fanout_id = arg & 0xffff;
		}
	}
	return fd;
fail:
	close(fd);
	return -e;
}

int rd_io_udp_open(uint16_t port, char *err, size_t errlen)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = { INADDR_ANY } };
	int fd, one = 1, e;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "UDP socket: %s", strerror(e));
		return -e;
	}
	struct sock_fprog prog = { .len = sizeof(udp_filter) / sizeof(udp_filter[0]), .filter = udp_filter };
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0) {
		e = errno;
		snprintf(err, errlen, "UDP socket options: %s", strerror(e));
		goto fail;
	}
	big_rcvbuf(fd);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		e = errno;
		snprintf(err, errlen, "binding UDP port %u: %s%s", port, strerror(e),
			 e == EADDRINUSE ? " (is another DHCP server running?)" : "");
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -e;
}

int rd_io_udp_spread(int fd, unsigned n, char *err, size_t errlen)
{
	/* Runs with the packet at the UDP payload: chaddr[2..5] (offset 30),
	 * modulo the group's size.  A datagram too short for the load makes
	 * the program fail and the kernel falls back to its flow hash. */
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 30),
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_fprog prog = { .len = 3, .filter = f };
	if (n < 2)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) < 0) {
		int e = errno;
		snprintf(err, errlen, "spreading UDP port 67 over %u workers: %s", n, strerror(e));
		return -e;
	}
	return 0;
}

int rd_io_send_raw(int fd, int ifindex, const uint8_t dst_mac[6], const void *frame, size_t len)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IP),
		.sll_ifindex = ifindex,
		.sll_halen = 6,
	};
	memcpy(sll.sll_addr, dst_mac, 6);
	if (sendto(fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -errno;
	return 0;
}

int rd_io_send_udp(int fd, uint32_t dst, uint16_t port, uint32_t src, int ifindex, const void *payload,
		   size_t len)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = { htonl(dst) } };
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = (void *)payload, .iov_len = len };
	struct msghdr mh = { .msg_name = &sin, .msg_namelen = sizeof(sin), .msg_iov = &iov, .msg_iovlen = 1 };

	if (src || ifindex) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
		struct in_pktinfo pi = { .ipi_ifindex = ifindex, .ipi_spec_dst = { htonl(src) } };
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
	if (sendmsg(fd, &mh, 0) < 0)
		return -errno;
	return 0;
}

/* ------------------------------------------------------------ batches */

void rd_io_batch_init(rd_io_batch_t *b, rd_io_sent_fn sent, void *ctx)
{
	b->sent = sent;
	b->ctx = ctx;
	b->n = 0;
	b->syscalls = 0;
}

static struct rd_io_batch_ent *batch_slot(rd_io_batch_t *b)
{
	if (b->n == RD_IO_BATCH_MAX)
		rd_io_batch_flush(b);
	return &b->e[b->n++];
}

void rd_io_batch_udp(rd_io_batch_t *b, int fd, uint32_t dst, uint16_t port, uint32_t src, int ifindex,
		     const void *payload, size_t len, void *tag)
{
	_Static_assert(sizeof(((struct rd_io_batch_ent *)0)->name) >= sizeof(struct sockaddr_in), "name");
	_Static_assert(sizeof(((struct rd_io_batch_ent *)0)->ctl) >= CMSG_SPACE(sizeof(struct in_pktinfo)), "ctl");
	struct rd_io_batch_ent *e = batch_slot(b);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = { htonl(dst) } };
	e->fd = fd;
	e->tag = tag;
	memcpy(e->name, &sin, sizeof(sin));
	e->namelen = sizeof(sin);
	e->pktinfo = src || ifindex;
	if (e->pktinfo) {
		/* The same control message rd_io_send_udp builds. */
		struct msghdr mh = { .msg_control = e->ctl, .msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo)) };
		memset(e->ctl, 0, sizeof(e->ctl));
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
		struct in_pktinfo pi = { .ipi_ifindex = ifindex, .ipi_spec_dst = { htonl(src) } };
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
	e->buf = payload;
	e->len = len;
}

void rd_io_batch_raw(rd_io_batch_t *b, int fd, int ifindex, const uint8_t dst_mac[6], const void *frame,
		     size_t len, void *tag)
{
	_Static_assert(sizeof(((struct rd_io_batch_ent *)0)->name) >= sizeof(struct sockaddr_ll), "name");
	struct rd_io_batch_ent *e = batch_slot(b);
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IP),
		.sll_ifindex = ifindex,
		.sll_halen = 6,
	};
	memcpy(sll.sll_addr, dst_mac, 6);
	e->fd = fd;
	e->tag = tag;
	memcpy(e->name, &sll, sizeof(sll));
	e->namelen = sizeof(sll);
	e->pktinfo = false;
	e->buf = frame;
	e->len = len;
}

unsigned rd_io_batch_flush(rd_io_batch_t *b)
{
	struct mmsghdr mm[RD_IO_BATCH_MAX];
	struct iovec iov[RD_IO_BATCH_MAX];
	unsigned n = b->n, sent = 0;

	for (unsigned i = 0; i < n; i++) {
		struct rd_io_batch_ent *e = &b->e[i];
		iov[i] = (struct iovec){ .iov_base = (void *)e->buf, .iov_len = e->len };
		mm[i].msg_hdr = (struct msghdr){
			.msg_name = e->name,
			.msg_namelen = e->namelen,
			.msg_iov = &iov[i],
			.msg_iovlen = 1,
			.msg_control = e->pktinfo ? e->ctl : NULL,
			.msg_controllen = e->pktinfo ? CMSG_SPACE(sizeof(struct in_pktinfo)) : 0,
		};
		mm[i].msg_len = 0;
	}
	int err[RD_IO_BATCH_MAX];
	for (unsigned i = 0; i < n;) {
		/* A run of entries on one socket: one sendmmsg.  It stops at
		 * the first message that fails; that one is sent alone to learn
		 * its error, and the run goes on after it. */
		unsigned j = i + 1;
		while (j < n && b->e[j].fd == b->e[i].fd)
			j++;
		while (i < j) {
			int r;
			if (b->e[i].fd < 0) {
				err[i++] = -EBADF;
				continue;
			}
			do
				r = sendmmsg(b->e[i].fd, &mm[i], j - i, 0);
			while (r < 0 && errno == EINTR);
			b->syscalls++;
			if (r > 0) {
				for (int k = 0; k < r; k++)
					err[i++] = 0;
				continue;
			}
			if (r == 0)
				errno = EAGAIN;   /* not expected: nothing sent, and no error */
			err[i++] = -errno;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		sent += err[i] == 0;
		if (b->sent)
			b->sent(b->ctx, b->e[i].tag, err[i]);
	}
	b->n = 0;
	return sent;
}
