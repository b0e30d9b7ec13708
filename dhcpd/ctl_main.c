/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ctl_main.c — rackdhcpctl, the operator's client of rackdhcpd's control
 * socket (docs/control.md, man/rackdhcpctl.8).
 *
 * It turns a command line into one JSON request, reads the one-line reply,
 * and prints the result as aligned text (or, with --json, the daemon's
 * result as it came, indented).  It keeps no state and decides nothing: the
 * daemon validates every argument again, so this program only checks what
 * it must to build the request (a number is a number) and to give the
 * usage errors their own exit status.
 *
 * Exit status: 0 done; 1 the daemon refused or another error; 2 usage;
 * 3 cannot reach the daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/config.h"
#include "rackdhcp/isc_import.h"

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_CONNECT = 3 };

/* The longest reply accepted: a 100000-lease listing is ~40 MB. */
#define REPLY_MAX (256u << 20)

static const char usage_text[] =
"Usage: rackdhcpctl [OPTION]... COMMAND [ARGUMENT]...\n"
"\n"
"Ask a running rackdhcpd about its state, or tell it to act, over its control\n"
"socket.\n"
"\n"
"Commands:\n"
"  status                 version, uptime, configuration, interfaces, pools,\n"
"                         message counters and store activity\n"
"  leases [FILTER]...     list leases, sorted by address, with these filters:\n"
"      --state STATE      free, active, expired, released, abandoned, reset\n"
"                         or backup\n"
"      --subnet CIDR      only addresses in this subnet, e.g. 10.0.0.0/24\n"
"      --mac MAC          only leases of this hardware address\n"
"      --limit N          at most N leases (default 1000, at most 100000)\n"
"  lease show IP|MAC      every field of the lease of an address, or of every\n"
"                         lease of a hardware address\n"
"  lease release IP       end the lease now as if the client had released it;\n"
"                         the client keeps its claim on the address\n"
"  lease delete IP        free the address and forget its client\n"
"  reload                 read the configuration file again and apply it; a\n"
"                         broken file is refused and changes nothing\n"
"  backup FILE            write a consistent copy of the lease database to\n"
"                         FILE (written by the daemon; relative paths are taken\n"
"                         from the current directory)\n"
"  failover status        each failover relationship: role, our state and the\n"
"                         partner's, since when (STOS), link up or down,\n"
"                         updates queued and awaiting acknowledgement, and the\n"
"                         BNDUPD/BNDACK counters\n"
"  failover partner-down NAME\n"
"                         tell relationship NAME that its partner is down (it\n"
"                         must really be: both serving the whole pool would\n"
"                         give one address to two clients); after STOS + MCLT\n"
"                         this server also allocates from the partner's share\n"
"  import-isc --conf FILE [--leases FILE] --out DIR\n"
"                         convert the dhcpd.conf MAAS wrote for ISC dhcpd into\n"
"                         DIR/rackdhcpd.yaml, load dhcpd.leases into a new\n"
"                         DIR/leases.db, and list in DIR/import-report.txt\n"
"                         every construct that was not converted (works\n"
"                         offline: no daemon is contacted)\n"
"\n"
"Options:\n"
"  -s, --socket PATH      the control socket (default " RD_CFG_DEFAULT_CONTROL_SOCKET ")\n"
"  -c, --config FILE      take the socket path from server.control_socket of\n"
"                         this configuration file\n"
"  -j, --json             print the daemon's result as JSON instead of text\n"
"  -t, --timeout SECONDS  give up when the daemon has not answered in time\n"
"                         (default 60; 0 waits forever)\n"
"  -h, --help             show this help and exit\n"
"  -V, --version          show the version and exit\n"
"\n"
"Exit status: 0 success; 1 the daemon refused the command (the reason is\n"
"printed) or another error; 2 usage error; 3 the daemon cannot be reached.\n";

static const char *prog = "rackdhcpctl";

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
	exit(EXIT_USAGE);
}

static void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int status, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* ------------------------------------------------------------ talking */

static int connect_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		die(EXIT_USAGE, "socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die(EXIT_CONNECT, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		const char *hint = e == EACCES || e == EPERM
			? "run as root or as a member of the daemon's group"
			: "is rackdhcpd running? (systemctl status rackdhcpd; journalctl -u rackdhcpd)";
		die(EXIT_CONNECT, "cannot connect to %s: %s\n%s: %s", path, strerror(e), prog, hint);
	}
	return fd;
}

/* Send one request line and read one reply line (NUL-terminated, malloc'd). */
static char *exchange(int fd, const char *path, const char *request, int timeout_s)
{
	size_t len = strlen(request), off = 0;
	while (off < len) {
		ssize_t n = send(fd, request + off, len - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die(EXIT_CONNECT, "%s: sending the request: %s", path, strerror(errno));
		}
		off += (size_t)n;
	}

	size_t cap = 65536, have = 0;
	char *buf = malloc(cap);
	if (!buf)
		die(EXIT_REFUSED, "out of memory");
	time_t deadline = timeout_s ? time(NULL) + timeout_s : 0;
	for (;;) {
		char *nl = memchr(buf, '\n', have);
		if (nl) {
			*nl = '\0';
			return buf;
		}
		if (have + 1 >= cap) {
			if (cap >= REPLY_MAX)
				die(EXIT_REFUSED, "%s: the reply is larger than %u MiB", path, REPLY_MAX >> 20);
			char *p = realloc(buf, cap * 2);
			if (!p)
				die(EXIT_REFUSED, "out of memory");
			buf = p;
			cap *= 2;
		}
		int wait_ms = -1;
		if (deadline) {
			time_t left = deadline - time(NULL);
			if (left <= 0)
				die(EXIT_REFUSED, "%s: no reply within %d s (the daemon may still carry the command "
				    "out; raise --timeout for long operations)", path, timeout_s);
			wait_ms = (int)(left * 1000);
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, wait_ms);
		if (r < 0 && errno != EINTR)
			die(EXIT_REFUSED, "poll: %s", strerror(errno));
		if (r <= 0)
			continue;
		ssize_t n = recv(fd, buf + have, cap - have - 1, 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die(EXIT_CONNECT, "%s: reading the reply: %s", path, strerror(errno));
		}
		if (n == 0)
			die(EXIT_CONNECT, "%s: the daemon closed the connection without a reply", path);
		have += (size_t)n;
	}
}

/* ------------------------------------------------------------ text output */

static long long num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *str(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : dflt;
}

/* A table of strings printed with aligned columns. */
struct table {
	size_t ncols;
	const char *const *head;
	const bool *right;      /* right-aligned (numbers) */
	char **cells;           /* row-major, strdup'd */
	size_t nrows, cap;
};

static void table_add(struct table *t, ...)
{
	va_list ap;
	if ((t->nrows + 1) * t->ncols > t->cap) {
		t->cap = t->cap ? t->cap * 2 : t->ncols * 16;
		t->cells = realloc(t->cells, t->cap * sizeof(*t->cells));
		if (!t->cells)
			die(EXIT_REFUSED, "out of memory");
	}
	va_start(ap, t);
	for (size_t i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);
		char *c = strdup(s ? s : "-");
		if (!c)
			die(EXIT_REFUSED, "out of memory");
		t->cells[t->nrows * t->ncols + i] = c;
	}
	va_end(ap);
	t->nrows++;
}

static void table_print(struct table *t)
{
	size_t w[16] = { 0 };
	for (size_t i = 0; i < t->ncols; i++)
		w[i] = strlen(t->head[i]);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t i = 0; i < t->ncols; i++) {
			size_t l = strlen(t->cells[r * t->ncols + i]);
			if (l > w[i])
				w[i] = l;
		}
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			const char *s = r ? t->cells[(r - 1) * t->ncols + i] : t->head[i];
			bool last = i + 1 == t->ncols;
			if (t->right[i])
				printf("%*s%s", (int)w[i], s, last ? "" : "  ");
			else if (last)
				printf("%s", s);
			else
				printf("%-*s  ", (int)w[i], s);
		}
		putchar('\n');
	}
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

static void fmt_uptime(long long s, char *out, size_t cap)
{
	if (s >= 86400)
		snprintf(out, cap, "%lldd %02lld:%02lld:%02lld", s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60);
	else
		snprintf(out, cap, "%02lld:%02lld:%02lld", s / 3600, s % 3600 / 60, s % 60);
}

/* "name value  name value ..." of an object of counters; zeros skipped if asked. */
static void counter_line(const char *label, const json_t *o, bool skip_zero)
{
	const char *k;
	json_t *v;
	bool any = false;
	printf("%-10s", label);
	json_object_foreach((json_t *)o, k, v) {
		if (skip_zero && !json_integer_value(v))
			continue;
		printf("%s%s %lld", any ? ", " : " ", k, (long long)json_integer_value(v));
		any = true;
	}
	printf("%s\n", any ? "" : " none");
}

static void print_status(const json_t *r)
{
	char up[48], buf[64];
	const json_t *cfg = json_object_get(r, "config"), *store = json_object_get(r, "store");
	const json_t *ctr = json_object_get(r, "counters");
	size_t i;
	json_t *v;

	fmt_uptime(num(r, "uptime_s"), up, sizeof(up));
	printf("rackdhcpd %s, pid %lld, up %s\n", str(r, "version", "?"), num(r, "pid"), up);
	printf("%-12s%s (generation %lld)\n", "config", str(cfg, "file", "-"), num(cfg, "generation"));
	printf("%-12s%s\n", "durability", str(r, "durability", "-"));
	printf("%-12s%lld in the table\n", "leases", num(r, "leases"));
	if (json_is_object(store))
		printf("%-12squeue %lld, %lld commits, %lld commit errors, %lld failed changes, %lld awaiting "
		       "retry\n", "store", num(store, "queue_depth"), num(store, "commits"),
		       num(store, "commit_errors"), num(store, "failed"), num(store, "retry_pending"));
	const json_t *ev = json_object_get(r, "lease_events");
	if (json_is_object(ev))
		printf("%-12s%lld sent, %lld queued, %lld dropped (queue full), %lld dropped (errors), listener %s\n",
		       "events", num(ev, "sent"), num(ev, "queued"), num(ev, "dropped_full"), num(ev, "dropped_error"),
		       json_is_true(json_object_get(ev, "listener_up")) ? "up" : "DOWN (retrying)");

	const json_t *rg = json_object_get(r, "region");
	if (json_is_object(rg)) {
		const json_t *age = json_object_get(rg, "view_age_s");
		printf("%-12s%s, rack %s, every %llds\n", "region", str(rg, "url", "-"), str(rg, "system_id", "-"),
		       num(rg, "poll_interval_s"));
		if (json_is_integer(age))
			printf("%-12sview %s, %lld s old%s%s\n", "", str(rg, "source", "-"),
			       (long long)json_integer_value(age),
			       json_is_string(json_object_get(rg, "view_url")) ? ", from " : "", str(rg, "view_url", ""));
		else
			printf("%-12sno region view yet (none stored, the region not reached)\n", "");
		const json_t *ls = json_object_get(rg, "last_success");
		char when[40] = "never since start";
		if (json_is_integer(ls)) {
			time_t t = (time_t)json_integer_value(ls);
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		}
		printf("%-12slast successful sync %s\n", "", when);
		if (json_is_string(json_object_get(rg, "last_error")))
			printf("%-12slast error (%lld failed poll%s in a row): %s\n", "", num(rg, "failed_in_a_row"),
			       num(rg, "failed_in_a_row") == 1 ? "" : "s", str(rg, "last_error", "?"));
	}

	static const char *const ih[] = { "INTERFACE", "INDEX", "LINK", "SERVED", "ADDRESSES" };
	static const bool ir[] = { false, true, false, false, false };
	struct table t = { .ncols = 5, .head = ih, .right = ir };
	json_array_foreach(json_object_get(r, "interfaces"), i, v) {
		char addrs[512] = "", idx[16];
		size_t k, off = 0;
		json_t *a;
		json_array_foreach(json_object_get(v, "addresses"), k, a) {
			int n = snprintf(addrs + off, sizeof(addrs) - off, "%s%s", k ? " " : "",
					 json_string_value(a) ? json_string_value(a) : "?");
			if (n < 0 || (size_t)n >= sizeof(addrs) - off)
				break;
			off += (size_t)n;
		}
		snprintf(idx, sizeof(idx), "%lld", num(v, "ifindex"));
		table_add(&t, str(v, "name", "?"), idx, json_is_true(json_object_get(v, "up")) ? "up" : "down",
			  json_is_true(json_object_get(v, "served")) ? "yes" : "no", addrs[0] ? addrs : "-");
	}
	putchar('\n');
	if (t.nrows)
		table_print(&t);
	else
		printf("no interfaces known yet\n");

	static const char *const ph[] = { "SUBNET", "RANGE", "PEER", "SIZE", "USED", "FREE", "BACKUP", "ABANDONED" };
	static const bool pr[] = { false, false, false, true, true, true, true, true };
	struct table p = { .ncols = 8, .head = ph, .right = pr };
	json_array_foreach(json_object_get(r, "pools"), i, v) {
		char n[5][24];
		static const char *const keys[] = { "size", "used", "free", "backup", "abandoned" };
		for (int k = 0; k < 5; k++)
			snprintf(n[k], sizeof(n[k]), "%lld", num(v, keys[k]));
		table_add(&p, str(v, "subnet", "?"), str(v, "range", "?"), str(v, "failover_peer", "-"), n[0], n[1],
			  n[2], n[3], n[4]);
	}
	putchar('\n');
	if (p.nrows)
		table_print(&p);
	else
		printf("no pools configured\n");

	putchar('\n');
	counter_line("received", json_object_get(ctr, "rx"), false);
	counter_line("sent", json_object_get(ctr, "tx"), false);
	counter_line("dropped", json_object_get(ctr, "drops"), true);
	long long waited = num(ctr, "acks_waited");
	if (waited) {
		snprintf(buf, sizeof(buf), "%.3f ms", (double)num(ctr, "ack_wait_us") / (double)waited / 1000.0);
		printf("%-10s %lld replies waited for the store, %s on average\n", "durable", waited, buf);
	}
}

static void print_leases(const json_t *r)
{
	static const char *const h[] = { "ADDRESS", "STATE", "MAC", "ENDS", "HOSTNAME" };
	static const bool right[] = { false, false, false, false, false };
	struct table t = { .ncols = 5, .head = h, .right = right };
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(r, "leases"), i, v) {
		const char *ends = str(v, "ends_iso", NULL);
		if (!ends && num(v, "ends") == 0 && !strcmp(str(v, "state", ""), "active"))
			ends = "never";
		table_add(&t, str(v, "address", "?"), str(v, "state", "?"), str(v, "mac", "-"), ends,
			  str(v, "hostname", "-"));
	}
	long long count = num(r, "count"), total = num(r, "total");
	if (t.nrows)
		table_print(&t);
	if (json_is_true(json_object_get(r, "truncated")))
		printf("%lld of %lld leases shown; raise --limit or narrow the filters to see the rest\n", count,
		       total);
	else
		printf("%lld lease%s\n", count, count == 1 ? "" : "s");
}

static void print_lease_detail(const json_t *l)
{
	static const char *const times[] = { "starts", "ends", "cltt" };
	char key[32];
	size_t i;
	json_t *f;

	printf("%-11s%s\n", "address", str(l, "address", "?"));
	printf("%-11s%s\n", "state", str(l, "state", "?"));
	printf("%-11s%s (htype %lld)\n", "mac", str(l, "mac", "-"), num(l, "htype"));
	printf("%-11s%s\n", "client-id", str(l, "client_id", "-"));
	printf("%-11s%s\n", "hostname", str(l, "hostname", "-"));
	for (int k = 0; k < 3; k++) {
		snprintf(key, sizeof(key), "%s_iso", times[k]);
		const char *iso = str(l, key, NULL);
		if (iso)
			printf("%-11s%s (%lld)\n", times[k], iso, num(l, times[k]));
		else
			printf("%-11s-\n", times[k]);
	}
	printf("%-11s", "flags");
	json_array_foreach(json_object_get(l, "flags"), i, f)
		printf("%s%s", i ? ", " : "", json_string_value(f) ? json_string_value(f) : "?");
	printf("%s\n", json_array_size(json_object_get(l, "flags")) ? "" : "-");
	printf("%-11s%lld\n", "seq", num(l, "seq"));
}

/* One line per relationship, then its replication counters. */
static void print_failover(const json_t *arr)
{
	size_t i;
	json_t *f;
	if (!json_array_size(arr)) {
		puts("no failover relationships configured");
		return;
	}
	printf("%-24s %-9s %-22s %-22s %-6s %-20s %6s %7s\n", "RELATIONSHIP", "ROLE", "STATE", "PARTNER",
	       "LINK", "SINCE (STOS)", "QUEUED", "UNACKED");
	json_array_foreach(arr, i, f) {
		printf("%-24s %-9s %-22s %-22s %-6s %-20s %6lld %7lld\n", str(f, "name", "?"), str(f, "role", "?"),
		       str(f, "state", "?"), str(f, "partner_state", "?"),
		       json_is_true(json_object_get(f, "linked")) ? "up" : "down", str(f, "stos_iso", "-"),
		       num(f, "queued_updates"), num(f, "unacked_updates"));
	}
	json_array_foreach(arr, i, f) {
		char win[48] = "no link";
		if (num(f, "update_window"))
			snprintf(win, sizeof(win), "at most %lld awaiting BNDACK", num(f, "update_window"));
		printf("%s: BNDUPD sent %lld (%s), BNDACK received %lld; BNDUPD received %lld, BNDACK sent %lld, "
		       "rejected %lld\n", str(f, "name", "?"), num(f, "bndupd_sent"), win, num(f, "bndack_received"),
		       num(f, "bndupd_received"), num(f, "bndack_sent"), num(f, "bndupd_rejected"));
	}
	json_array_foreach(arr, i, f) {
		long long last = num(f, "last_contact");
		long long ago = last ? (long long)time(NULL) - last : 0;
		printf("%s: peer %s, last contact %s", str(f, "name", "?"), str(f, "peer", "?"),
		       str(f, "last_contact_iso", "never"));
		if (last)
			printf(" (%lld s ago)", ago < 0 ? 0 : ago);
		putchar('\n');
		size_t k;
		json_t *pl;
		json_array_foreach(json_object_get(f, "pools"), k, pl)
			printf("%s: pool %s: %lld FREE, %lld BACKUP, %lld in use (of %lld)\n", str(f, "name", "?"),
			       str(pl, "range", "?"), num(pl, "free"), num(pl, "backup"), num(pl, "used"), num(pl, "size"));
	}
	json_array_foreach(arr, i, f) {
		printf("%s: replies held for the peer's BNDACK %lld (released %lld, dropped %lld, waiting %lld)\n",
		       str(f, "name", "?"), num(f, "replies_held"), num(f, "replies_released"),
		       num(f, "replies_dropped"), num(f, "replies_waiting"));
		printf("%s: pool balancing: %lld timer runs, %lld addresses given to the peer, POOLREQ sent %lld, "
		       "received %lld; next run %s\n", str(f, "name", "?"), num(f, "balance_runs"),
		       num(f, "balance_moved"), num(f, "poolreq_sent"), num(f, "poolreq_received"),
		       str(f, "next_balance_iso", "not planned"));
	}
}

static void print_result(const char *cmd, const json_t *r)
{
	if (!strcmp(cmd, "status")) {
		print_status(r);
	} else if (!strcmp(cmd, "leases")) {
		print_leases(r);
	} else if (!strcmp(cmd, "lease-show")) {
		size_t i;
		json_t *l;
		json_array_foreach(json_object_get(r, "leases"), i, l) {
			if (i)
				putchar('\n');
			print_lease_detail(l);
		}
	} else if (!strcmp(cmd, "lease-release")) {
		printf("released %s (%s)\n", str(r, "address", "?"), str(r, "mac", "no hardware address"));
	} else if (!strcmp(cmd, "lease-delete")) {
		printf("deleted %s: the address is free and its client forgotten\n", str(r, "address", "?"));
	} else if (!strcmp(cmd, "reload")) {
		printf("configuration reloaded (generation %lld)\n", num(r, "generation"));
	} else if (!strcmp(cmd, "backup")) {
		printf("lease database copied to %s\n", str(r, "path", "?"));
	} else if (!strcmp(cmd, "failover-status")) {
		print_failover(json_object_get(r, "relationships"));
	} else if (!strcmp(cmd, "failover-partner-down")) {
		printf("%s: partner-down requested; 'rackdhcpctl failover status' shows the result.\n"
		       "The partner's share of the pool is used only after STOS + MCLT.\n", str(r, "name", "?"));
	}
}

/* ------------------------------------------------------------ import-isc */

static const char import_usage[] =
"Usage: rackdhcpctl import-isc --conf DHCPD.CONF [--leases DHCPD.LEASES] --out DIR\n"
"\n"
"Convert ISC dhcpd's configuration, as MAAS generates it, into rackdhcpd's\n"
"YAML, and its lease file (the leases and each failover relationship's last\n"
"state; partner-down is imported as communications-interrupted) into a new\n"
"lease database.  Writes DIR/rackdhcpd.yaml, DIR/leases.db and\n"
"DIR/import-report.txt (DIR is created if needed; an existing rackdhcpd.yaml\n"
"or non-empty leases.db is refused).\n"
"Nothing is written unless everything converts; constructs that rackdhcpd\n"
"does not take over are listed by FILE:LINE in the report.\n"
"\n"
"  -C, --conf FILE        ISC dhcpd.conf (required)\n"
"  -l, --leases FILE      ISC dhcpd.leases (optional: no leases)\n"
"  -o, --out DIR          output directory (required)\n"
"  -q, --quiet            print the summary only, not the report lines\n"
"  -h, --help             show this help and exit\n"
"\n"
"Exit status: 0 written; 1 the input cannot be converted or writing failed;\n"
"2 usage error.\n";

static int import_isc(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "conf", required_argument, NULL, 'C' },
		{ "leases", required_argument, NULL, 'l' },
		{ "out", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *leases = NULL, *out = NULL;
	bool quiet = false;
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":C:l:o:qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'C': conf = optarg; break;
		case 'l': leases = optarg; break;
		case 'o': out = optarg; break;
		case 'q': quiet = true; break;
		case 'h':
			fputs(import_usage, stdout);
			return EXIT_OK;
		case ':':
			usage_error("import-isc: option '%s' needs an argument", argv[optind - 1]);
		default:
			usage_error("import-isc: unknown option '%.*s'", (int)strcspn(argv[optind - 1], "="),
				    argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("import-isc: unexpected argument '%s'", argv[optind]);
	if (!conf || !out)
		usage_error("import-isc needs --conf FILE and --out DIR");

	char err[1024];
	char *ctext = NULL, *ltext = NULL;
	size_t clen = 0, llen = 0;
	if (rd_isc_read_file(conf, &ctext, &clen, err, sizeof(err)) < 0)
		die(EXIT_REFUSED, "%s", err);
	if (leases && rd_isc_read_file(leases, &ltext, &llen, err, sizeof(err)) < 0)
		die(EXIT_REFUSED, "%s", err);
	rd_isc_import_t imp;
	int rc = rd_isc_convert(ctext, clen, conf, ltext, llen, leases, &imp, err, sizeof(err));
	free(ctext);
	free(ltext);
	if (rc < 0)
		die(EXIT_REFUSED, "%s\n%s: nothing written", err, prog);
	rc = rd_isc_write(&imp, out, err, sizeof(err));
	if (rc < 0) {
		rd_isc_import_free(&imp);
		die(EXIT_REFUSED, "%s\n%s: nothing written", err, prog);
	}
	if (!quiet)
		fputs(imp.report, stdout);
	const rd_isc_summary_t *s = &imp.sum;
	printf("imported into %s: %zu subnet%s, %zu pool%s, %zu reservation%s, %zu failover peer%s\n", out,
	       s->subnets, s->subnets == 1 ? "" : "s", s->pools, s->pools == 1 ? "" : "s", s->reservations,
	       s->reservations == 1 ? "" : "s", s->failovers, s->failovers == 1 ? "" : "s");
	printf("leases: %zu address%s from %zu record%s", s->leases, s->leases == 1 ? "" : "es", s->lease_records,
	       s->lease_records == 1 ? "" : "s");
	for (int st = RD_LEASE_FREE; st <= RD_LEASE_BACKUP; st++)
		if (s->by_state[st])
			printf(", %zu %s", s->by_state[st], rd_lease_state_name((uint8_t)st));
	printf("\nnot converted: %zu construct%s (see %s/import-report.txt)\n", s->not_converted,
	       s->not_converted == 1 ? "" : "s", out);
	if (imp.n_fo_states)
		printf("failover state: %zu of %zu relationship%s imported into leases.db\n%s", s->failover_states,
		       imp.n_fo_states, imp.n_fo_states == 1 ? "" : "s", imp.fo_summary ? imp.fo_summary : "");
	printf("next: add a server section to %s/rackdhcpd.yaml (interfaces; state_dir %s, which must be\n"
	       "mode 0700 and owned by server.user)\n", out, out);
	rd_isc_import_free(&imp);
	if (fflush(stdout) != 0 || ferror(stdout))
		die(EXIT_REFUSED, "writing the output: %s", strerror(errno));
	return EXIT_OK;
}

/* ------------------------------------------------------------ main */

static long parse_count(const char *opt, const char *s, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max)
		usage_error("%s: '%s' is not a number from %ld to %ld", opt, s, min, max);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "state", required_argument, NULL, 'S' },
		{ "subnet", required_argument, NULL, 'N' },
		{ "mac", required_argument, NULL, 'M' },
		{ "limit", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *config = NULL, *state = NULL, *subnet = NULL, *mac = NULL;
	long limit = 0, timeout = 60;
	bool as_json = false;
	int ch;

	/* import-isc works on files, not the daemon, and has options of its own */
	if (argc >= 2 && !strcmp(argv[1], "import-isc"))
		return import_isc(argc - 1, argv + 1);

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":s:c:jt:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 's': sock = optarg; break;
		case 'c': config = optarg; break;
		case 'j': as_json = true; break;
		case 't': timeout = parse_count("--timeout", optarg, 0, 86400); break;
		case 'S': state = optarg; break;
		case 'N': subnet = optarg; break;
		case 'M': mac = optarg; break;
		case 'L': limit = parse_count("--limit", optarg, 1, 100000); break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		case 'V':
			printf("rackdhcpctl %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		case ':':
			if (strncmp(argv[optind - 1], "--", 2) && optopt)
				usage_error("option '-%c' needs an argument", optopt);
			usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (strncmp(argv[optind - 1], "--", 2) && optopt)
				usage_error("unknown option '-%c'", optopt);
			usage_error("unknown option '%.*s'", (int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
		}
	}
	int nargs = argc - optind;
	char **args = argv + optind;
	if (nargs < 1)
		usage_error("no command given");
	if (sock && config)
		usage_error("give --socket or --config, not both");

	const char *cmd = args[0];
	json_t *req = json_object();
	int want = 1;
	bool filters = state || subnet || mac || limit;
	if (!strcmp(cmd, "status")) {
		json_object_set_new(req, "command", json_string("status"));
	} else if (!strcmp(cmd, "leases")) {
		json_object_set_new(req, "command", json_string("leases"));
		if (state)
			json_object_set_new(req, "state", json_string(state));
		if (subnet)
			json_object_set_new(req, "subnet", json_string(subnet));
		if (mac)
			json_object_set_new(req, "mac", json_string(mac));
		if (limit)
			json_object_set_new(req, "limit", json_integer(limit));
		filters = false;
	} else if (!strcmp(cmd, "lease")) {
		want = 3;
		if (nargs < 2)
			usage_error("lease: which? show, release or delete");
		const char *sub = args[1];
		if (nargs != 3)
			usage_error("lease %s takes exactly one %s", sub, strcmp(sub, "show") ? "IP address" : "IP or MAC");
		if (!strcmp(sub, "show")) {
			json_object_set_new(req, "command", json_string("lease-show"));
			/* A dotted quad is an address; anything else is taken as a MAC. */
			unsigned a, b, c, d;
			char tail;
			bool ip = sscanf(args[2], "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4;
			json_object_set_new(req, ip ? "address" : "mac", json_string(args[2]));
		} else if (!strcmp(sub, "release") || !strcmp(sub, "delete")) {
			json_object_set_new(req, "command", json_string(strcmp(sub, "release") ? "lease-delete"
												 : "lease-release"));
			json_object_set_new(req, "address", json_string(args[2]));
		} else {
			usage_error("lease: unknown subcommand '%s' (show, release, delete)", sub);
		}
	} else if (!strcmp(cmd, "reload")) {
		json_object_set_new(req, "command", json_string("reload"));
	} else if (!strcmp(cmd, "failover")) {
		want = 2;
		if (nargs >= 2 && !strcmp(args[1], "status")) {
			json_object_set_new(req, "command", json_string("failover-status"));
		} else if (nargs >= 2 && !strcmp(args[1], "partner-down")) {
			want = 3;
			if (nargs != 3)
				usage_error("failover partner-down takes the relationship's NAME");
			json_object_set_new(req, "command", json_string("failover-partner-down"));
			json_object_set_new(req, "name", json_string(args[2]));
		} else {
			usage_error("failover: which? status or partner-down NAME");
		}
	} else if (!strcmp(cmd, "backup")) {
		want = 2;
		if (nargs != 2)
			usage_error("backup takes one FILE");
		char path[PATH_MAX];
		if (args[1][0] == '/') {
			snprintf(path, sizeof(path), "%s", args[1]);
		} else {
			/* The daemon has its own working directory: send an absolute path. */
			char cwd[PATH_MAX];
			if (!getcwd(cwd, sizeof(cwd)))
				die(EXIT_REFUSED, "getcwd: %s", strerror(errno));
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", cwd, args[1]) >= sizeof(path))
				die(EXIT_USAGE, "backup: path too long");
		}
		json_object_set_new(req, "command", json_string("backup"));
		json_object_set_new(req, "path", json_string(path));
	} else if (!strcmp(cmd, "import-isc")) {
		usage_error("import-isc must be the first argument: rackdhcpctl import-isc --conf FILE ...");
	} else {
		usage_error("unknown command '%s'", cmd);
	}
	if (nargs != want)
		usage_error("%s: unexpected argument '%s'", cmd, args[want < nargs ? want : nargs - 1]);
	if (filters)
		usage_error("--state, --subnet, --mac and --limit go with 'leases' only");

	char sock_buf[sizeof(((struct sockaddr_un *)0)->sun_path)];
	if (config) {
		rd_config_t *cfg = NULL;
		char err[512];
		if (rd_config_load(config, &cfg, err, sizeof(err)) < 0)
			die(EXIT_REFUSED, "%s", err);
		snprintf(sock_buf, sizeof(sock_buf), "%s",
			 cfg->server.control_socket ? cfg->server.control_socket : RD_CFG_DEFAULT_CONTROL_SOCKET);
		rd_config_free(cfg);
		sock = sock_buf;
	}
	if (!sock)
		sock = RD_CFG_DEFAULT_CONTROL_SOCKET;

	char *line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!line)
		die(EXIT_REFUSED, "out of memory");
	size_t ll = strlen(line);
	char *request = malloc(ll + 2);
	if (!request)
		die(EXIT_REFUSED, "out of memory");
	memcpy(request, line, ll);
	request[ll] = '\n';
	request[ll + 1] = '\0';
	free(line);

	int fd = connect_socket(sock);
	char *text = exchange(fd, sock, request, (int)timeout);
	close(fd);
	free(request);

	json_error_t je;
	json_t *reply = json_loads(text, 0, &je);
	free(text);
	if (!json_is_object(reply) || !json_is_boolean(json_object_get(reply, "ok")))
		die(EXIT_REFUSED, "%s: the reply is not what rackdhcpd sends: %s", sock, reply ? "not an object" : je.text);
	if (!json_is_true(json_object_get(reply, "ok"))) {
		const char *e = json_string_value(json_object_get(reply, "error"));
		fprintf(stderr, "%s: %s\n", prog, e ? e : "the daemon refused without a reason");
		json_decref(reply);
		return EXIT_REFUSED;
	}
	json_t *result = json_object_get(reply, "result");
	if (as_json) {
		char *pretty = json_dumps(result, JSON_INDENT(2) | JSON_ENCODE_ANY);
		if (pretty)
			puts(pretty);
		free(pretty);
	} else {
		const char *cname = !strcmp(cmd, "failover")
			? (!strcmp(args[1], "status") ? "failover-status" : "failover-partner-down")
			: !strcmp(cmd, "lease")
			? (!strcmp(args[1], "show") ? "lease-show" : !strcmp(args[1], "release") ? "lease-release"
											       : "lease-delete")
			: cmd;
		print_result(cname, result);
	}
	json_decref(reply);
	if (fflush(stdout) != 0 || ferror(stdout))
		die(EXIT_REFUSED, "writing the output: %s", strerror(errno));
	return EXIT_OK;
}
