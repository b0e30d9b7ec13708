/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * perfdhcp_rcvbuf.c — an LD_PRELOAD shim for perfdhcp in the benchmark
 * (bench/dhcp/run.sh): every AF_INET datagram socket it opens gets a receive
 * buffer of $RD_BENCH_RCVBUF bytes (default 4 MiB), set with SO_RCVBUFFORCE
 * (root), so not limited by net.core.rmem_max.
 *
 * Why: perfdhcp never sizes its socket, and the default 208 KiB holds only
 * about 100 replies, a few milliseconds at 10,000+ exchanges/s.  On a
 * 2-vCPU machine shared with the server, perfdhcp's receiver thread is
 * regularly off the CPU that long, and the kernel drops replies in perfdhcp's
 * socket (UdpRcvbufErrors in the client namespace) that the server did
 * send: perfdhcp then counts them as lost exchanges.  net.core.rmem_default
 * cannot be raised inside a network namespace on this kernel, and raising it
 * on the host would change it for everyone, hence the shim.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/socket.h>

int socket(int domain, int type, int protocol)
{
	static int (*real_socket)(int, int, int);
	int fd;

	if (!real_socket) {
		real_socket = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
		if (!real_socket)
			abort();
	}
	fd = real_socket(domain, type, protocol);
	if (fd >= 0 && domain == AF_INET && (type & 0xff) == SOCK_DGRAM) {
		const char *e = getenv("RD_BENCH_RCVBUF");
		int n = e && *e ? atoi(e) : 4 << 20;
		if (n > 0)
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &n, sizeof(n));
	}
	return fd;
}
