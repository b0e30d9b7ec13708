/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_netmon.c — the interface monitor (dhcpd/netmon.c) against a real
 * kernel, in a network namespace of its own.
 *
 * main() unshares the network namespace first (root needed; exit 77
 * otherwise), so everything below happens on links that exist only for this
 * process and vanish with it.  Links are made with ip(8), which inherits the
 * namespace.  After each change the test polls the monitor's fd and
 * processes events until the snapshot shows what the change should produce
 * (2 s at most), checks that the rd_netmon_process() call that brought it
 * returned 1, checks the fields, and then compares the whole snapshot with
 * an independent view of the kernel: if_nameindex, SIOCGIF* ioctls and
 * getifaddrs (which reads its own dump).  Changes the snapshot cannot see
 * (an IPv6 address, a link set up without carrier) must make process()
 * return 0.  At the end, the event socket's receive buffer is shrunk so a
 * burst of address events overruns it, and the snapshot must still come out
 * exact through the resync.
 *
 * Main links are veth pairs, which every kernel built for containers has;
 * VLAN, macvlan, dummy and tun links are checked where the kernel has them
 * and skipped where it does not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/netmon.h"
#include "tap.h"

#define STEP_MS 2000    /* longest wait for one change to show */
#define QUIET_MS 250    /* how long "nothing visible happens" is watched */

static rd_netmon_t *mon;
static rd_netmon_link_t *snap;
static size_t n_snap;

/* ------------------------------------------------------------ helpers */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run a shell command, output discarded; true if it exited 0. */
__attribute__((format(printf, 1, 2)))
static bool sh(const char *fmt, ...)
{
	char body[400], cmd[512];
	va_list ap;
	int n, st;

	va_start(ap, fmt);
	n = vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(body))
		bail_out("command too long: %s", fmt);
	/* Braces, so the command's own redirections (echo 1 > file) stay its own. */
	snprintf(cmd, sizeof(cmd), "{ %s; } >/dev/null 2>&1", body);
	st = system(cmd);
	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* A command the test cannot go on without. */
#define MUST(...) do { if (!sh(__VA_ARGS__)) bail_out("command failed: " __VA_ARGS__); } while (0)

static void take(void)
{
	free(snap);
	snap = NULL;
	if (rd_netmon_snapshot(mon, &snap, &n_snap) != 0)
		bail_out("rd_netmon_snapshot failed");
	if (n_snap && !snap)
		bail_out("rd_netmon_snapshot: %zu links but no array", n_snap);
}

static const rd_netmon_link_t *find(const char *name)
{
	for (size_t i = 0; i < n_snap; i++)
		if (strcmp(snap[i].name, name) == 0)
			return &snap[i];
	return NULL;
}

static const rd_netmon_link_t *find_index(int ifindex)
{
	for (size_t i = 0; i < n_snap; i++)
		if (snap[i].ifindex == ifindex)
			return &snap[i];
	return NULL;
}

static void fmt_addrs(char *buf, size_t len, const rd_netmon_addr_t *a, unsigned n, bool truncated)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n && off < len; i++) {
		struct in_addr in = { .s_addr = htonl(a[i].addr) };
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &in, ip, sizeof(ip));
		off += (size_t)snprintf(buf + off, len - off, "%s%s/%u", i ? "," : "", ip, a[i].prefix_len);
	}
	if (truncated && off < len)
		snprintf(buf + off, len - off, "+");
}

static void fmt_mac(char *buf, size_t len, const uint8_t *mac)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

/* One field of a link as text, the form the expectations are written in. */
static void describe(const rd_netmon_link_t *l, const char *field, char *buf, size_t len)
{
	if (!strcmp(field, "up"))
		snprintf(buf, len, "%d", l->up);
	else if (!strcmp(field, "lo"))
		snprintf(buf, len, "%d", l->loopback);
	else if (!strcmp(field, "mtu"))
		snprintf(buf, len, "%u", l->mtu);
	else if (!strcmp(field, "mac")) {
		if (l->has_mac)
			fmt_mac(buf, len, l->mac);
		else
			snprintf(buf, len, "none");
	} else if (!strcmp(field, "vlan")) {
		const rd_netmon_link_t *p = find_index(l->vlan_parent);

		if (l->vlan_id < 0)
			snprintf(buf, len, l->vlan_parent ? "-@%d" : "-", l->vlan_parent);
		else if (p)
			snprintf(buf, len, "%d@%s", l->vlan_id, p->name);
		else
			snprintf(buf, len, "%d@#%d", l->vlan_id, l->vlan_parent);
	} else if (!strcmp(field, "addrs"))
		fmt_addrs(buf, len, l->addrs, l->n_addrs, l->addrs_truncated);
	else
		bail_out("unknown field %s", field);
}

/*
 * Does the snapshot's link `name` match spec ("up=1 addrs=192.0.2.1/24",
 * or "absent")?  With report, check every field through TAP.
 */
static bool matches(const char *what, const char *name, const char *spec, bool report)
{
	const rd_netmon_link_t *l = find(name);
	char copy[512], *save = NULL, got[512];
	bool all = true;

	if (!strcmp(spec, "absent")) {
		if (report)
			ok(!l, "%s: %s is gone", what, name);
		return !l;
	}
	if (!l) {
		if (report)
			ok(false, "%s: %s is in the snapshot", what, name);
		return false;
	}
	snprintf(copy, sizeof(copy), "%s", spec);
	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq)
			bail_out("bad spec %s", spec);
		*eq = '\0';
		describe(l, tok, got, sizeof(got));
		if (report)
			is_str(got, eq + 1, "%s: %s %s", what, name, tok);
		all = all && !strcmp(got, eq + 1);
	}
	return all;
}

/*
 * Wait until the change shows on link `name`.  need_change: the process()
 * call that brought it must have returned 1 (false for a second link
 * affected by a change a previous step already waited for).
 */
static void step(const char *what, const char *name, const char *spec, bool need_change)
{
	long long deadline = now_ms() + STEP_MS;
	int last = 0, calls = 0;

	take();
	while (!matches(what, name, spec, false)) {
		long long left = deadline - now_ms();
		struct pollfd p = { .fd = rd_netmon_fd(mon), .events = POLLIN };

		if (left <= 0)
			break;
		if (poll(&p, 1, (int)left) > 0) {
			last = rd_netmon_process(mon);
			calls++;
			if (last < 0)
				diag("%s: rd_netmon_process: %d", what, last);
			take();
		}
	}
	if (need_change)
		ok(calls > 0 && last == 1, "%s: process() returned 1 for it (calls %d, last %d)", what, calls, last);
	matches(what, name, spec, true);
}

/* Nothing visible happens for QUIET_MS: every process() call returns 0. */
static void quiet(const char *what)
{
	long long deadline = now_ms() + QUIET_MS;
	int worst = 0, calls = 0, r;

	for (long long left; (left = deadline - now_ms()) > 0;) {
		struct pollfd p = { .fd = rd_netmon_fd(mon), .events = POLLIN };

		if (poll(&p, 1, (int)left) > 0) {
			r = rd_netmon_process(mon);
			calls++;
			if (r != 0)
				worst = r;
		}
	}
	r = rd_netmon_process(mon);
	if (r != 0)
		worst = r;
	ok(worst == 0, "%s: process() returns 0 (%d calls with events)", what, calls);
}

/* ------------------------------------------------------------ oracle */

static unsigned popcount32(uint32_t v)
{
	unsigned n = 0;

	for (; v; v &= v - 1)
		n++;
	return n;
}

/*
 * Compare the snapshot with the kernel as other interfaces show it; on the
 * first difference write it to why and return false.
 */
static bool oracle(char *why, size_t len)
{
	struct if_nameindex *ni = if_nameindex(), *p;
	struct ifaddrs *ifa = NULL;
	size_t n = 0;
	bool good = false;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (!ni || s < 0 || getifaddrs(&ifa) < 0) {
		snprintf(why, len, "oracle: %s", strerror(errno));
		goto out;
	}
	for (p = ni; p->if_index; p++, n++) {
		const rd_netmon_link_t *l = find_index((int)p->if_index);
		struct ifreq r;
		rd_netmon_addr_t want[RD_NETMON_MAX_ADDRS];
		unsigned nw = 0;
		bool trunc = false;
		char a[512], b[512];

		if (!l || strcmp(l->name, p->if_name)) {
			snprintf(why, len, "%s (ifindex %u) %s", p->if_name, p->if_index,
				 l ? "has another name in the snapshot" : "missing from the snapshot");
			goto out;
		}
		memset(&r, 0, sizeof(r));
		snprintf(r.ifr_name, sizeof(r.ifr_name), "%s", p->if_name);
		if (ioctl(s, SIOCGIFFLAGS, &r) < 0) {
			snprintf(why, len, "SIOCGIFFLAGS %s: %s", p->if_name, strerror(errno));
			goto out;
		}
		if (l->up != ((r.ifr_flags & IFF_UP) && (r.ifr_flags & IFF_RUNNING)) ||
		    l->loopback != !!(r.ifr_flags & IFF_LOOPBACK)) {
			snprintf(why, len, "%s: flags %#x but up %d loopback %d", p->if_name,
				 (unsigned)r.ifr_flags & 0xffff, l->up, l->loopback);
			goto out;
		}
		if (ioctl(s, SIOCGIFMTU, &r) < 0 || (unsigned)r.ifr_mtu != l->mtu) {
			snprintf(why, len, "%s: mtu %d, snapshot %u", p->if_name, r.ifr_mtu, l->mtu);
			goto out;
		}
		if (ioctl(s, SIOCGIFHWADDR, &r) < 0) {
			snprintf(why, len, "SIOCGIFHWADDR %s: %s", p->if_name, strerror(errno));
			goto out;
		}
		if (r.ifr_hwaddr.sa_family == ARPHRD_ETHER) {
			if (!l->has_mac || memcmp(l->mac, r.ifr_hwaddr.sa_data, 6)) {
				fmt_mac(a, sizeof(a), (const uint8_t *)r.ifr_hwaddr.sa_data);
				snprintf(why, len, "%s: MAC %s, snapshot %s", p->if_name, a,
					 l->has_mac ? "another" : "none");
				goto out;
			}
		} else if (l->has_mac) {
			snprintf(why, len, "%s: link type %d has no MAC, snapshot has one", p->if_name,
				 r.ifr_hwaddr.sa_family);
			goto out;
		}
		/* getifaddrs lists a link's IPv4 addresses in the kernel's
		 * order, primaries first. */
		for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || strcmp(i->ifa_name, p->if_name))
				continue;
			if (nw == RD_NETMON_MAX_ADDRS) {
				trunc = true;
				continue;
			}
			want[nw].addr = ntohl(((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr);
			want[nw].prefix_len = i->ifa_netmask ? (uint8_t)popcount32(
				((struct sockaddr_in *)(void *)i->ifa_netmask)->sin_addr.s_addr) : 0;
			nw++;
		}
		fmt_addrs(a, sizeof(a), want, nw, trunc);
		fmt_addrs(b, sizeof(b), l->addrs, l->n_addrs, l->addrs_truncated);
		if (strcmp(a, b)) {
			snprintf(why, len, "%s: addresses %s, snapshot %s", p->if_name, a, b);
			goto out;
		}
	}
	if (n != n_snap) {
		snprintf(why, len, "%zu links, snapshot has %zu", n, n_snap);
		goto out;
	}
	good = true;
out:
	if (ifa)
		freeifaddrs(ifa);
	if (ni)
		if_freenameindex(ni);
	if (s >= 0)
		close(s);
	return good;
}

/* The snapshot agrees with the oracle (events still in flight get 1 s). */
static void cross_check(const char *what)
{
	long long deadline = now_ms() + 1000;
	char why[512] = "";
	bool good;

	take();
	while (!(good = oracle(why, sizeof(why))) && now_ms() < deadline) {
		struct pollfd p = { .fd = rd_netmon_fd(mon), .events = POLLIN };

		if (poll(&p, 1, 50) > 0)
			(void)rd_netmon_process(mon);
		take();
	}
	ok(good, "%s: snapshot agrees with ioctls and getifaddrs%s%s", what, good ? "" : ": ", good ? "" : why);
}

/* ------------------------------------------------------------ tests */

static void test_open(void)
{
	char err[256] = "";
	int r = rd_netmon_open(&mon, err, sizeof(err));

	if (r != 0)
		bail_out("rd_netmon_open: %d: %s", r, err);
	ok(rd_netmon_fd(mon) >= 0, "open: fd %d", rd_netmon_fd(mon));
	take();
	is_int((long long)n_snap, 1, "open: a fresh namespace has one link");
	if (n_snap != 1)
		return;
	is_str(snap[0].name, "lo", "open: it is lo");
	is_int(snap[0].ifindex, 1, "open: lo has ifindex 1");
	matches("open", "lo", "lo=1 up=0 mac=none mtu=65536 vlan=- addrs=", true);
	quiet("open, nothing changed");
	cross_check("open");
}

static void test_links(bool *have_vlan)
{
	struct ifreq r;
	int s;

	MUST("ip link set lo up");
	step("lo up", "lo", "up=1 addrs=127.0.0.1/8", true);
	cross_check("lo up");

	MUST("ip link add d0 address 02:52:44:00:00:d0 type veth peer name d0p address 02:52:44:00:00:d1");
	step("veth added", "d0", "up=0 lo=0 mac=02:52:44:00:00:d0 mtu=1500 vlan=- addrs=", true);
	step("veth added", "d0p", "up=0 mac=02:52:44:00:00:d1", false);
	cross_check("veth added");

	/* Up without carrier (the peer is down): not usable, nothing to report. */
	MUST("ip link set d0 up");
	quiet("d0 up without carrier");
	take();
	matches("d0 up without carrier", "d0", "up=0", true);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&r, 0, sizeof(r));
	snprintf(r.ifr_name, sizeof(r.ifr_name), "d0");
	ok(s >= 0 && ioctl(s, SIOCGIFFLAGS, &r) == 0 && (r.ifr_flags & IFF_UP) && !(r.ifr_flags & IFF_RUNNING),
	   "d0 up without carrier: kernel says IFF_UP, not IFF_RUNNING");
	if (s >= 0)
		close(s);

	MUST("ip link set d0p up");
	step("peer up", "d0", "up=1", true);
	step("peer up", "d0p", "up=1", false);
	cross_check("peer up");

	MUST("ip addr add 192.0.2.1/24 dev d0");
	step("address", "d0", "addrs=192.0.2.1/24", true);
	MUST("ip addr add 192.0.2.2/24 dev d0");
	step("secondary address", "d0", "addrs=192.0.2.1/24,192.0.2.2/24", true);
	/* A second primary goes before the secondary, as the kernel lists it. */
	MUST("ip addr add 198.51.100.1/25 dev d0");
	step("second primary", "d0", "addrs=192.0.2.1/24,198.51.100.1/25,192.0.2.2/24", true);
	cross_check("addresses");

	MUST("ip link set d0 mtu 1400");
	step("mtu", "d0", "mtu=1400", true);
	MUST("ip link set d0 address 02:52:44:00:00:0d");
	step("MAC change", "d0", "mac=02:52:44:00:00:0d up=1", true);
	cross_check("mtu and MAC");

	*have_vlan = sh("ip link add link d0 name d0.5 type vlan id 5");
	if (*have_vlan) {
		step("VLAN added", "d0.5", "vlan=5@d0 mac=02:52:44:00:00:0d up=0 mtu=1400 addrs=", true);
		MUST("ip link set d0.5 up");
		step("VLAN up", "d0.5", "up=1", true);
		MUST("ip addr add 203.0.113.1/28 dev d0.5");
		step("VLAN address", "d0.5", "addrs=203.0.113.1/28", true);
		step("VLAN address", "d0", "addrs=192.0.2.1/24,198.51.100.1/25,192.0.2.2/24", false);
		cross_check("VLAN");
	} else {
		skip("this kernel has no 802.1Q links (CONFIG_VLAN_8021Q)");
	}

	/* A link with a lower device that is not a VLAN. */
	if (sh("ip link add m0 link d0 address 02:52:44:00:00:e0 type macvlan mode bridge")) {
		step("macvlan", "m0", "vlan=- mac=02:52:44:00:00:e0 up=0", true);
		cross_check("macvlan");
	} else {
		skip("this kernel has no macvlan links");
	}
}

/* Links the monitor must take without fuss. */
static void test_odd_links(void)
{
	if (sh("ip tuntap add tun0 mode tun")) {
		step("tun", "tun0", "mac=none up=0 vlan=- addrs=", true);
		MUST("ip addr add 10.9.9.1/32 peer 10.9.9.2 dev tun0");
		step("tun peer address", "tun0", "addrs=10.9.9.1/32", true);
		/* No process behind the tun: no carrier, so still not up. */
		MUST("ip link set tun0 up");
		quiet("tun up without a reader");
		cross_check("tun");
	} else {
		skip("no tun devices here");
	}

	MUST("ip link add abcdefghijklmno type veth peer name p0");
	step("15-character name", "abcdefghijklmno", "up=0 vlan=-", true);

	if (sh("ip link add dm0 type dummy")) {
		step("dummy", "dm0", "up=0", true);
		/* A dummy link reports no oper state (UNKNOWN) and is up once set up. */
		MUST("ip link set dm0 up");
		step("dummy up", "dm0", "up=1", true);
	} else {
		skip("this kernel has no dummy links");
	}
	cross_check("odd links");
}

static void test_ipv6_ignored(void)
{
	if (!sh("ip -6 addr add 2001:db8::1/64 dev d0 nodad")) {
		skip("no IPv6 here");
		return;
	}
	quiet("IPv6 address added");
	MUST("ip -6 addr del 2001:db8::1/64 dev d0");
	quiet("IPv6 address removed");
}

static void test_removals(bool have_vlan)
{
	const char *left = "addrs=192.0.2.1/24,198.51.100.1/25";

	MUST("ip addr del 192.0.2.2/24 dev d0");
	step("secondary removed", "d0", "addrs=192.0.2.1/24,198.51.100.1/25", true);

	/* Deleting a primary promotes its secondary, which the kernel then
	 * lists behind the remaining primaries, even those added after it. */
	MUST("ip addr add 192.0.2.3/24 dev d0");
	step("secondary added", "d0", "addrs=192.0.2.1/24,198.51.100.1/25,192.0.2.3/24", true);
	MUST("ip addr add 203.0.113.65/26 dev d0");
	step("third primary", "d0", "addrs=192.0.2.1/24,198.51.100.1/25,203.0.113.65/26,192.0.2.3/24", true);
	if (sh("echo 1 > /proc/sys/net/ipv4/conf/d0/promote_secondaries")) {
		MUST("ip addr del 192.0.2.1/24 dev d0");
		left = "addrs=198.51.100.1/25,203.0.113.65/26,192.0.2.3/24";
		step("secondary promoted", "d0", left, true);
		cross_check("secondary promoted");
	} else {
		skip("cannot set promote_secondaries");
		MUST("ip addr del 192.0.2.3/24 dev d0");
		MUST("ip addr del 203.0.113.65/26 dev d0");
		step("addresses removed", "d0", left, true);
	}

	MUST("ip link set d0 down");
	step("d0 down", "d0", "up=0", true);
	matches("d0 down", "d0", left, true);
	if (have_vlan) {
		/* The VLAN stays administratively up but loses its lower layer. */
		step("d0 down", "d0.5", "up=0 addrs=203.0.113.1/28", false);
		MUST("ip link del d0.5");
		step("VLAN deleted", "d0.5", "absent", true);
	}
	cross_check("d0 down");

	MUST("ip link del d0");
	step("d0 deleted", "d0", "absent", true);
	step("d0 deleted", "d0p", "absent", false);
	step("d0 deleted", "m0", "absent", false);
	cross_check("d0 deleted");
}

/* Lose events on purpose: the resync must still give the exact view. */
static void test_overrun(void)
{
	int fd = rd_netmon_fd(mon), tiny = 1, big = 1 << 20;
	unsigned long before = rd_netmon_resyncs(mon);

	MUST("ip link add big0 type veth peer name big1");
	step("big0", "big0", "addrs=", true);

	/* The kernel rounds this up to its minimum, a few KiB: a handful of
	 * notifications.  40 addresses are far more. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny)) < 0)
		bail_out("SO_RCVBUF: %s", strerror(errno));
	MUST("seq 1 40 | sed 's|.*|addr add 10.1.0.&/24 dev big0|' | ip -batch -");
	step("overrun", "big0",
	     "addrs=10.1.0.1/24,10.1.0.2/24,10.1.0.3/24,10.1.0.4/24,10.1.0.5/24,10.1.0.6/24,10.1.0.7/24,"
	     "10.1.0.8/24,10.1.0.9/24,10.1.0.10/24,10.1.0.11/24,10.1.0.12/24,10.1.0.13/24,10.1.0.14/24,"
	     "10.1.0.15/24,10.1.0.16/24+", true);
	ok(rd_netmon_resyncs(mon) > before, "overrun: caches were reloaded (%lu -> %lu resyncs)",
	   before, rd_netmon_resyncs(mon));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)) < 0)
		bail_out("SO_RCVBUF: %s", strerror(errno));
	cross_check("overrun");

	MUST("ip link del big0");
	step("big0 deleted", "big0", "absent", true);
	quiet("after the overrun");
}

int main(void)
{
	bool have_vlan = false;

	if (geteuid() != 0)
		skip_all("needs root (a network namespace of its own)");
	if (unshare(CLONE_NEWNET) < 0)
		skip_all("unshare(CLONE_NEWNET): %s", strerror(errno));
	if (!sh("ip -V"))
		skip_all("ip(8) not found");
	plan_lazy();

	test_open();
	test_links(&have_vlan);
	test_odd_links();
	test_ipv6_ignored();
	test_removals(have_vlan);
	test_overrun();
	cross_check("end");

	free(snap);
	rd_netmon_close(mon);
	return done_testing();
}
