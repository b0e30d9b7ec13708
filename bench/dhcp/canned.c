/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * canned.c — the yardstick of the perfdhcp benchmark (bench/dhcp/run.sh):
 * a stateless DHCPv4 responder that answers every DISCOVER with an OFFER and
 * every REQUEST with an ACK as fast as a UDP socket allows.  No lease table,
 * no disk, no checks beyond "is this a BOOTREQUEST with a message type".
 * Whatever rate perfdhcp reaches against it is the ceiling of the harness
 * (perfdhcp + the kernel + the veth on this machine); real servers are
 * quoted as a percentage of it.
 *
 * The reply copies xid, flags, giaddr, htype/hlen and chaddr; yiaddr is
 * derived from chaddr (the same client always gets the same address, so the
 * ACK matches the OFFER without any state); the options are a fixed set:
 * message type, server identifier, lease time, T1, T2, subnet mask, router.
 * A relayed request (giaddr set, which is what perfdhcp sends) is answered
 * to giaddr:67; otherwise to ciaddr:68 if set, else to where it came from
 * (the broadcast address if that was 0.0.0.0).
 *
 * I/O: one UDP socket on ADDR:67, recvmmsg/sendmmsg in batches.  With -t N,
 * N threads share it (default); with -r each thread has its own socket and
 * SO_REUSEPORT spreads flows over them — perfdhcp is one flow (one source
 * address and port), so -r only helps with several clients.
 *
 *   canned -a 10.99.0.1 -P 10.99.1.0-10.99.250.255 [-m 255.255.0.0]
 *          [-p 67] [-t 1] [-r] [-B] [-l 3600] [-T seconds]
 *
 * SIGTERM / SIGINT (or -T seconds) stop it; it then prints its counters.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define PKT_MAX 1536
#define BOOTP_FIXED 236		/* up to and including the file field */
#define MAX_THREADS 16

struct opts {
	struct in_addr addr;	/* bind address and server identifier */
	uint16_t port;
	uint32_t pool_start, pool_size;	/* host order */
	uint32_t mask;		/* network order */
	uint32_t lease;
	int threads;
	int reuseport;
	int bind_any;		/* -B: bind 0.0.0.0 (broadcast requests) */
	unsigned max_seconds;
};

struct counters {
	_Atomic unsigned long rx, offers, acks, ignored, send_err;
	char pad[64];
};

static struct opts o = { .port = 67, .lease = 3600, .threads = 1 };
static struct counters cnt[MAX_THREADS];
static int shared_fd = -1;

static int open_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int one = 1, buf = 4 << 20;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(o.port), .sin_addr = o.addr };

	/* -B: the wildcard address, so that broadcast requests (the pair
	 * bench sends to 255.255.255.255) reach us too; -a stays the server id. */
	if (o.bind_any)
		sa.sin_addr.s_addr = htonl(INADDR_ANY);
	if (fd < 0) {
		perror("canned: socket");
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
	if (o.reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
		perror("canned: SO_REUSEPORT");
		exit(1);
	}
	/* The FORCE variants pass rmem_max/wmem_max when we are root. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("canned: bind");
		exit(1);
	}
	return fd;
}

/* The DHCP message type of a request, or 0 if it is not one we answer. */
static int request_type(const uint8_t *p, size_t len)
{
	static const uint8_t cookie[4] = { 99, 130, 83, 99 };
	size_t i = BOOTP_FIXED + 4;

	if (len < i || p[0] != 1 || p[2] > 16 || memcmp(p + BOOTP_FIXED, cookie, 4) != 0)
		return 0;
	while (i < len) {
		uint8_t code = p[i];
		if (code == 255)
			break;
		if (code == 0) {
			i++;
			continue;
		}
		if (i + 1 >= len || i + 2 + p[i + 1] > len)
			return 0;
		if (code == 53 && p[i + 1] == 1)
			return p[i + 2];
		i += 2 + (size_t)p[i + 1];
	}
	return 0;
}

static uint8_t *put_opt(uint8_t *q, uint8_t code, const void *v, uint8_t len)
{
	*q++ = code;
	*q++ = len;
	memcpy(q, v, len);
	return q + len;
}

/* Build the answer to request p (type 1 or 3) into r; returns its length. */
static size_t build_reply(const uint8_t *p, int type, uint8_t *r)
{
	static const uint8_t cookie[4] = { 99, 130, 83, 99 };
	const uint8_t *ch = p + 28;
	uint32_t key = (uint32_t)ch[2] << 24 | (uint32_t)ch[3] << 16 | (uint32_t)ch[4] << 8 | ch[5];
	uint32_t yi = htonl(o.pool_start + key % o.pool_size);
	uint32_t lt = htonl(o.lease), t1 = htonl(o.lease / 2), t2 = htonl(o.lease / 8 * 7);
	uint8_t mt = type == 1 ? 2 : 5;
	uint8_t *q;

	memset(r, 0, 300);
	r[0] = 2;		/* BOOTREPLY */
	r[1] = p[1];		/* htype */
	r[2] = p[2];		/* hlen */
	memcpy(r + 4, p + 4, 4);	/* xid */
	memcpy(r + 10, p + 10, 2);	/* flags */
	memcpy(r + 16, &yi, 4);		/* yiaddr */
	memcpy(r + 24, p + 24, 4);	/* giaddr */
	memcpy(r + 28, p + 28, 16);	/* chaddr */
	memcpy(r + BOOTP_FIXED, cookie, 4);
	q = r + BOOTP_FIXED + 4;
	q = put_opt(q, 53, &mt, 1);
	q = put_opt(q, 54, &o.addr, 4);
	q = put_opt(q, 51, &lt, 4);
	q = put_opt(q, 58, &t1, 4);
	q = put_opt(q, 59, &t2, 4);
	q = put_opt(q, 1, &o.mask, 4);
	q = put_opt(q, 3, &o.addr, 4);
	*q++ = 255;
	/* Pad to the BOOTP minimum of 300 bytes, as ISC and Kea do. */
	return (size_t)(q - r) < 300 ? 300 : (size_t)(q - r);
}

static void reply_dest(const uint8_t *p, const struct sockaddr_in *from, struct sockaddr_in *to)
{
	uint32_t giaddr, ciaddr;

	memcpy(&giaddr, p + 24, 4);
	memcpy(&ciaddr, p + 12, 4);
	memset(to, 0, sizeof(*to));
	to->sin_family = AF_INET;
	if (giaddr) {
		to->sin_addr.s_addr = giaddr;
		to->sin_port = htons(67);
	} else if (ciaddr) {
		to->sin_addr.s_addr = ciaddr;
		to->sin_port = htons(68);
	} else {
		to->sin_addr.s_addr = from->sin_addr.s_addr ? from->sin_addr.s_addr : INADDR_BROADCAST;
		to->sin_port = from->sin_port ? from->sin_port : htons(68);
	}
}

static void *worker(void *arg)
{
	struct counters *c = arg;
	int fd = o.reuseport ? open_socket() : shared_fd;
	uint8_t (*in)[PKT_MAX] = malloc(sizeof(uint8_t[BATCH][PKT_MAX]));
	uint8_t (*out)[PKT_MAX] = malloc(sizeof(uint8_t[BATCH][PKT_MAX]));
	struct mmsghdr rm[BATCH], sm[BATCH];
	struct iovec riov[BATCH], siov[BATCH];
	struct sockaddr_in from[BATCH], to[BATCH];

	if (!in || !out) {
		fputs("canned: out of memory\n", stderr);
		exit(1);
	}
	for (int i = 0; i < BATCH; i++) {
		riov[i] = (struct iovec){ .iov_base = in[i], .iov_len = PKT_MAX };
		siov[i] = (struct iovec){ .iov_base = out[i] };
	}
	for (;;) {
		for (int i = 0; i < BATCH; i++)
			rm[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof(from[i]),
							 .msg_iov = &riov[i], .msg_iovlen = 1 };
		int n = recvmmsg(fd, rm, BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("canned: recvmmsg");
			exit(1);
		}
		int m = 0;
		unsigned long offers = 0, acks = 0;
		for (int i = 0; i < n; i++) {
			int t = request_type(in[i], rm[i].msg_len);
			if (t != 1 && t != 3)
				continue;
			siov[m].iov_len = build_reply(in[i], t, out[m]);
			reply_dest(in[i], &from[i], &to[m]);
			sm[m].msg_hdr = (struct msghdr){ .msg_name = &to[m], .msg_namelen = sizeof(to[m]),
							 .msg_iov = &siov[m], .msg_iovlen = 1 };
			m++;
			if (t == 1)
				offers++;
			else
				acks++;
		}
		for (int s = 0; s < m;) {
			int k = sendmmsg(fd, sm + s, (unsigned)(m - s), 0);
			if (k < 0) {
				if (errno == EINTR)
					continue;
				atomic_fetch_add_explicit(&c->send_err, 1, memory_order_relaxed);
				s++;	/* skip the one that failed */
			} else {
				s += k;
			}
		}
		atomic_fetch_add_explicit(&c->rx, (unsigned long)n, memory_order_relaxed);
		atomic_fetch_add_explicit(&c->offers, offers, memory_order_relaxed);
		atomic_fetch_add_explicit(&c->acks, acks, memory_order_relaxed);
		atomic_fetch_add_explicit(&c->ignored, (unsigned long)(n - m), memory_order_relaxed);
	}
	return NULL;
}

static int parse_range(const char *s)
{
	char a[32], b[32];
	struct in_addr x, y;
	const char *dash = strchr(s, '-');

	if (!dash || (size_t)(dash - s) >= sizeof(a) || strlen(dash + 1) >= sizeof(b))
		return -1;
	memcpy(a, s, (size_t)(dash - s));
	a[dash - s] = 0;
	strcpy(b, dash + 1);
	if (inet_pton(AF_INET, a, &x) != 1 || inet_pton(AF_INET, b, &y) != 1 || ntohl(y.s_addr) < ntohl(x.s_addr))
		return -1;
	o.pool_start = ntohl(x.s_addr);
	o.pool_size = ntohl(y.s_addr) - o.pool_start + 1;
	return 0;
}

static void usage(void)
{
	fputs("usage: canned -a ADDR -P START-END [-m MASK] [-p PORT] [-t THREADS] [-r] [-B] [-l LEASE] [-T SECONDS]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	struct in_addr mask = { htonl(0xffff0000u) };
	sigset_t set;
	pthread_t th[MAX_THREADS];
	int opt, sig;

	while ((opt = getopt(argc, argv, "a:P:m:p:t:rBl:T:")) != -1) {
		switch (opt) {
		case 'a': if (inet_pton(AF_INET, optarg, &o.addr) != 1) usage(); break;
		case 'P': if (parse_range(optarg) < 0) usage(); break;
		case 'm': if (inet_pton(AF_INET, optarg, &mask) != 1) usage(); break;
		case 'p': o.port = (uint16_t)atoi(optarg); break;
		case 't': o.threads = atoi(optarg); break;
		case 'r': o.reuseport = 1; break;
		case 'B': o.bind_any = 1; break;
		case 'l': o.lease = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'T': o.max_seconds = (unsigned)strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (!o.addr.s_addr || !o.pool_size || o.threads < 1 || o.threads > MAX_THREADS || !o.lease)
		usage();
	o.mask = mask.s_addr;

	/* Workers never see signals; the main thread waits for them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (!o.reuseport)
		shared_fd = open_socket();
	for (int i = 0; i < o.threads; i++)
		if (pthread_create(&th[i], NULL, worker, &cnt[i]) != 0) {
			fputs("canned: pthread_create failed\n", stderr);
			return 1;
		}
	fprintf(stderr, "canned: serving on %s:%u, %d thread(s)%s\n", inet_ntoa(o.addr), o.port, o.threads,
		o.reuseport ? ", SO_REUSEPORT" : "");
	if (o.max_seconds)
		alarm(o.max_seconds);
	sigwait(&set, &sig);

	unsigned long rx = 0, of = 0, ac = 0, ig = 0, se = 0;
	for (int i = 0; i < o.threads; i++) {
		rx += atomic_load(&cnt[i].rx);
		of += atomic_load(&cnt[i].offers);
		ac += atomic_load(&cnt[i].acks);
		ig += atomic_load(&cnt[i].ignored);
		se += atomic_load(&cnt[i].send_err);
	}
	fprintf(stderr, "canned: %s: received %lu, offers %lu, acks %lu, ignored %lu, send errors %lu\n",
		sig == SIGALRM ? "time limit" : "stopped", rx, of, ac, ig, se);
	return 0;
}
