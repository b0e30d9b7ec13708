/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_io_batch — batched sending (rd_io_batch_*, io.h) over loopback UDP:
 * every entry is delivered, in order, with one sendmmsg per run of entries
 * on one socket; each entry's outcome is reported once, in order, with its
 * tag; a message that fails in the middle of a run gets its own error and
 * the rest of the run still leaves; a bad fd fails alone; a full batch
 * flushes itself; the source address asked for (IP_PKTINFO) is used.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rackdhcp/io.h"
#include "tap.h"

#define LO 0x7f000001u

struct outcome {
	unsigned n;
	uintptr_t tag[3 * RD_IO_BATCH_MAX];
	int err[3 * RD_IO_BATCH_MAX];
};

static void record(void *ctx, void *tag, int err)
{
	struct outcome *o = ctx;
	if (o->n < 3 * RD_IO_BATCH_MAX) {
		o->tag[o->n] = (uintptr_t)tag;
		o->err[o->n] = err;
	}
	o->n++;
}

/* A UDP socket on 127.0.0.1, an ephemeral port (returned in *port). */
static int udp_sock(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		bail_out("socket: %s", strerror(errno));
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = { htonl(LO) } };
	socklen_t sl = sizeof(sin);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || getsockname(fd, (struct sockaddr *)&sin, &sl) < 0)
		bail_out("bind: %s", strerror(errno));
	int big = 1 << 20;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (port)
		*port = ntohs(sin.sin_port);
	return fd;
}

/* The next datagram on fd (waiting at most 1 s): its first byte, or -1; *src its source. */
static int recv_one(int fd, uint32_t *src)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 1000) != 1)
		return -1;
	uint8_t buf[2048];
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&sin, &sl);
	if (n < 1)
		return -1;
	if (src)
		*src = ntohl(sin.sin_addr.s_addr);
	return buf[0];
}

static int pending(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0);
}

static uint8_t msg[256][8];

static void test_runs(void)
{
	uint16_t p1, p2;
	int r1 = udp_sock(&p1), r2 = udp_sock(&p2), a = udp_sock(NULL), b = udp_sock(NULL);
	struct outcome o = { 0 };
	rd_io_batch_t bt;
	rd_io_batch_init(&bt, record, &o);

	/* a: 5 to r1 and 3 to r2 (one run), b: 2 to r1, a bad fd, a: 1 to r2. */
	unsigned k = 0;
	for (unsigned i = 0; i < 5; i++, k++)
		rd_io_batch_udp(&bt, a, LO, p1, 0, 0, msg[k], sizeof(msg[k]), (void *)(uintptr_t)k);
	for (unsigned i = 0; i < 3; i++, k++)
		rd_io_batch_udp(&bt, a, LO, p2, 0, 0, msg[k], sizeof(msg[k]), (void *)(uintptr_t)k);
	for (unsigned i = 0; i < 2; i++, k++)
		rd_io_batch_udp(&bt, b, LO, p1, 0, 0, msg[k], sizeof(msg[k]), (void *)(uintptr_t)k);
	rd_io_batch_udp(&bt, -1, LO, p1, 0, 0, msg[k], sizeof(msg[k]), (void *)(uintptr_t)k);
	k++;
	rd_io_batch_udp(&bt, a, LO, p2, 0, 0, msg[k], sizeof(msg[k]), (void *)(uintptr_t)k);
	k++;
	is_int(o.n, 0, "nothing is sent or reported before the flush");
	is_int(rd_io_batch_flush(&bt), k - 1, "flush: every entry but the bad fd's sent");
	is_int((long long)bt.syscalls, 3, "one sendmmsg per run of entries on one socket (3 runs)");
	is_int(o.n, k, "every entry reported once");
	unsigned order = 0, errs = 0;
	for (unsigned i = 0; i < o.n && i < k; i++) {
		order += o.tag[i] != i;
		errs += o.err[i] != (i == 10 ? -EBADF : 0);
	}
	is_int(order, 0, "reports in queue order, with their tags");
	is_int(errs, 0, "the bad fd gets -EBADF, the others 0");

	/* r1: 0..4 then 8, 9; r2: 5, 6, 7, 11. */
	static const int want1[] = { 0, 1, 2, 3, 4, 8, 9 }, want2[] = { 5, 6, 7, 11 };
	unsigned wrong = 0;
	for (unsigned i = 0; i < sizeof(want1) / sizeof(want1[0]); i++)
		wrong += recv_one(r1, NULL) != want1[i];
	for (unsigned i = 0; i < sizeof(want2) / sizeof(want2[0]); i++)
		wrong += recv_one(r2, NULL) != want2[i];
	is_int(wrong, 0, "each receiver got its datagrams, in order");
	ok(pending(r1) == 0 && pending(r2) == 0, "and nothing more");

	/* Reused after a flush: starts empty. */
	rd_io_batch_flush(&bt);
	is_int(o.n, k, "flushing an empty batch reports nothing");
	close(r1);
	close(r2);
	close(a);
	close(b);
}

static void test_error_mid_run(void)
{
	uint16_t p;
	int r = udp_sock(&p), a = udp_sock(NULL);
	struct outcome o = { 0 };
	rd_io_batch_t bt;
	rd_io_batch_init(&bt, record, &o);
	static uint8_t huge[70000];   /* larger than any UDP datagram: EMSGSIZE */
	huge[0] = 99;
	rd_io_batch_udp(&bt, a, LO, p, 0, 0, msg[0], 8, (void *)0);
	rd_io_batch_udp(&bt, a, LO, p, 0, 0, msg[1], 8, (void *)1);
	rd_io_batch_udp(&bt, a, LO, p, 0, 0, huge, sizeof(huge), (void *)2);
	rd_io_batch_udp(&bt, a, LO, p, 0, 0, msg[3], 8, (void *)3);
	is_int(rd_io_batch_flush(&bt), 3, "3 of 4 sent");
	ok(o.n == 4 && o.err[0] == 0 && o.err[1] == 0 && o.err[2] == -EMSGSIZE && o.err[3] == 0,
	   "the oversized one alone fails, with EMSGSIZE (got %d)", o.n > 2 ? o.err[2] : 1);
	unsigned wrong = 0;
	static const int want[] = { 0, 1, 3 };
	for (unsigned i = 0; i < 3; i++)
		wrong += recv_one(r, NULL) != want[i];
	is_int(wrong, 0, "the messages after the failed one still left, in order");
	close(r);
	close(a);
}

static void test_full_and_source(void)
{
	uint16_t p;
	int r = udp_sock(&p), a = udp_sock(NULL);
	struct outcome o = { 0 };
	rd_io_batch_t bt;
	rd_io_batch_init(&bt, record, &o);
	for (unsigned i = 0; i < RD_IO_BATCH_MAX; i++)
		rd_io_batch_udp(&bt, a, LO, p, 0, 0, msg[i], 8, (void *)(uintptr_t)i);
	is_int(o.n, 0, "a batch of RD_IO_BATCH_MAX entries waits");
	rd_io_batch_udp(&bt, a, LO, p, LO + 1, 0, msg[RD_IO_BATCH_MAX], 8, (void *)(uintptr_t)RD_IO_BATCH_MAX);
	is_int(o.n, RD_IO_BATCH_MAX, "one more flushes the full batch first");
	is_int(rd_io_batch_flush(&bt), 1, "the last one leaves with the next flush");
	is_int(o.n, RD_IO_BATCH_MAX + 1, "all reported");
	unsigned wrong = 0;
	uint32_t src = 0;
	for (unsigned i = 0; i <= RD_IO_BATCH_MAX; i++)
		wrong += recv_one(r, &src) != (int)i;
	is_int(wrong, 0, "all %d delivered in order", RD_IO_BATCH_MAX + 1);
	is_int(src, LO + 1, "the last one came from the source address asked for (127.0.0.2)");
	close(r);
	close(a);
}

int main(void)
{
	plan_lazy();
	for (unsigned i = 0; i < 256; i++)
		msg[i][0] = (uint8_t)i;
	test_runs();
	test_error_mid_run();
	test_full_and_source();
	return done_testing();
}
