/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_privs.c — tests of dhcpd/privs.c.
 *
 * Without root: user lookup (names, numbers, unknown users) and the
 * non-root behaviour of rd_privs_drop.  With root: forked children drop to
 * `nobody` (uid 65534 if there is no such user) and report, through a pipe,
 * what the kernel lets them do afterwards: raw sockets and ports below 1024
 * yes; reading a root-only file, keeping other capabilities, setuid(0) no.
 * Other children check the refusals (a second thread, uid 0).  The parent
 * is never changed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rackdhcp/error.h"
#include "rackdhcp/privs.h"
#include "tap.h"

static void test_lookup(void)
{
	char err[256];
	uid_t uid = 1;
	gid_t gid = 1;

	ok(rd_privs_lookup("root", &uid, &gid, err, sizeof(err)) == 0 && uid == 0 && gid == 0, "root is 0:0");
	uid = gid = 1;
	ok(rd_privs_lookup("0", &uid, &gid, err, sizeof(err)) == 0 && uid == 0 && gid == 0, "\"0\" is root by number");

	struct passwd *nb = getpwnam("nobody");
	if (nb) {
		uid_t nu = nb->pw_uid;
		gid_t ng = nb->pw_gid;
		char num[16];
		ok(rd_privs_lookup("nobody", &uid, &gid, err, sizeof(err)) == 0 && uid == nu && gid == ng,
		   "nobody by name");
		snprintf(num, sizeof(num), "%u", (unsigned)nu);
		ok(rd_privs_lookup(num, &uid, &gid, err, sizeof(err)) == 0 && uid == nu && gid == ng,
		   "nobody by number: the passwd gid");
	} else {
		skip("no user nobody");
		skip("no user nobody");
	}
	ok(rd_privs_lookup("3999999", &uid, &gid, err, sizeof(err)) == 0 && uid == 3999999 && gid == 3999999,
	   "a number without a passwd entry: gid = uid");

	int rc = rd_privs_lookup("no-such-user-rackdhcpd", &uid, &gid, err, sizeof(err));
	if (!ok(rc == -ENOENT && strstr(err, "'no-such-user-rackdhcpd' does not exist"),
		"unknown user: -ENOENT and a message naming it"))
		diag("rc=%d err=%s", rc, err);
	diag("%s", err);
	rc = rd_privs_lookup("12ab", &uid, &gid, err, sizeof(err));
	ok(rc == -ENOENT && strstr(err, "'12ab'"), "digits then letters: a name, and unknown");
	ok(rd_privs_lookup("", &uid, &gid, err, sizeof(err)) == RD_EINVAL && strstr(err, "empty"), "empty name refused");
	ok(rd_privs_lookup(NULL, &uid, &gid, NULL, 0) == RD_EINVAL, "NULL name refused, no err buffer is fine");
	rc = rd_privs_lookup("4294967295", &uid, &gid, err, sizeof(err));
	ok(rc == RD_EINVAL && strstr(err, "out of range"), "uid (uid_t)-1 refused");
	rc = rd_privs_lookup("99999999999999999999999", &uid, &gid, err, sizeof(err));
	ok(rc == RD_EINVAL && strstr(err, "out of range"), "a huge number refused");
}

/* ------------------------------------------------------------ child side */

/* One result line from a child: its check, and what went wrong if it did. */
struct report {
	int ok;
	char what[96];
	char detail[150];
};

static int report_fd = -1;

static void child_check(int cond, const char *what, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void child_check(int cond, const char *what, const char *fmt, ...)
{
	struct report r;
	memset(&r, 0, sizeof(r));
	r.ok = cond;
	snprintf(r.what, sizeof(r.what), "%s", what);
	if (!cond && fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r.detail, sizeof(r.detail), fmt, ap);
		va_end(ap);
	}
	/* < PIPE_BUF: written whole */
	if (write(report_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(3);
}

/* Run fn in a child; turn its reports into TAP lines.  Returns the child's
 * exit status (-1 if it died). */
static int in_child(void (*fn)(void *), void *arg, const char *name)
{
	int p[2];
	if (pipe(p))
		bail_out("pipe: %s", strerror(errno));
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		bail_out("fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		report_fd = p[1];
		fn(arg);
		/* _exit: no atexit handlers (LeakSanitizer cannot stop the
		 * world in a process that is no longer dumpable) */
		_exit(0);
	}
	close(p[1]);
	struct report r;
	unsigned n = 0;
	ssize_t got;
	while ((got = read(p[0], &r, sizeof(r))) == (ssize_t)sizeof(r)) {
		n++;
		if (!ok(r.ok, "%s: %s", name, r.what))
			diag("%s", r.detail);
	}
	close(p[0]);
	int st;
	if (waitpid(pid, &st, 0) != pid)
		bail_out("waitpid: %s", strerror(errno));
	if (!ok(WIFEXITED(st) && n > 0, "%s: child ran to the end (%u checks)", name, n))
		diag("status 0x%x", st);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct drop_args {
	uid_t uid;
	gid_t gid;
	const char *user;
	const char *root_file;  /* 0600, root's */
	bool had_net_raw, had_bind, had_setpcap;
};

static bool cap_is(cap_value_t c, cap_flag_t set)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;
	if (caps)
		cap_get_flag(caps, c, set, &v);
	cap_free(caps);
	return v == CAP_SET;
}

static void child_drop(void *arg)
{
	const struct drop_args *a = arg;
	char err[256] = "";
	uid_t r, e, s;
	gid_t rg, eg, sg;

	int rc = rd_privs_drop(a->uid, a->gid, a->user, err, sizeof(err));
	child_check(rc == 0, "rd_privs_drop succeeds", "rc=%d: %s", rc, err);
	if (rc)
		return;
	child_check(getresuid(&r, &e, &s) == 0 && r == a->uid && e == a->uid && s == a->uid,
		    "real, effective, saved uid are the user's", "%d/%d/%d", (int)r, (int)e, (int)s);
	child_check(getuid() == a->uid && geteuid() == a->uid, "getuid, geteuid", NULL);
	child_check(getresgid(&rg, &eg, &sg) == 0 && rg == a->gid && eg == a->gid && sg == a->gid,
		    "real, effective, saved gid are the user's", "%d/%d/%d", (int)rg, (int)eg, (int)sg);
	gid_t groups[64];
	int ng = getgroups(64, groups);
	bool root_group = false;
	for (int i = 0; i < ng; i++)
		root_group |= groups[i] == 0;
	child_check(ng >= 0 && !root_group, "no supplementary group 0", "%d groups, root among them", ng);

	if (a->had_net_raw) {
		int fd = socket(AF_PACKET, SOCK_RAW, 0);
		child_check(fd >= 0, "CAP_NET_RAW kept: an AF_PACKET socket opens", "socket: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		child_check(cap_is(CAP_NET_RAW, CAP_EFFECTIVE) && cap_is(CAP_NET_RAW, CAP_PERMITTED),
			    "CAP_NET_RAW effective and permitted", NULL);
	}
	if (a->had_bind) {
		/* a port below 1024 on loopback; skip ports some other test holds */
		int bound = -1, why = 0;
		for (int port = 1023; port > 900 && bound < 0; port--) {
			int fd = socket(AF_INET, SOCK_DGRAM, 0);
			struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
			sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
				bound = port;
			else
				why = errno;
			if (fd >= 0)
				close(fd);
			if (bound < 0 && why != EADDRINUSE)
				break;
		}
		child_check(bound > 0, "CAP_NET_BIND_SERVICE kept: binds a port below 1024", "bind: %s",
			    strerror(why));
	}
	int fd = open(a->root_file, O_RDONLY);
	child_check(fd < 0 && errno == EACCES, "a 0600 root file cannot be read (no CAP_DAC_OVERRIDE)",
		    "open: %s", fd < 0 ? strerror(errno) : "it opened");
	if (fd >= 0)
		close(fd);
	static const cap_value_t gone[] = { CAP_SYS_ADMIN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_SETUID,
					    CAP_SETGID, CAP_SETPCAP, CAP_CHOWN, CAP_FOWNER, CAP_SYS_PTRACE,
					    CAP_NET_ADMIN };
	bool any = false;
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		any |= cap_is(gone[i], CAP_PERMITTED) || cap_is(gone[i], CAP_EFFECTIVE) ||
		       cap_is(gone[i], CAP_INHERITABLE);
	child_check(!any, "SYS_ADMIN, DAC_OVERRIDE, SETUID, ... in no capability set", NULL);
	child_check(!cap_is(CAP_NET_RAW, CAP_INHERITABLE), "nothing inheritable", NULL);
	if (a->had_setpcap) {
		child_check(prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 0 &&
			    prctl(PR_CAPBSET_READ, CAP_SETUID, 0, 0, 0) == 0,
			    "SYS_ADMIN and SETUID gone from the bounding set", NULL);
		child_check(prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0) == 1,
			    "NET_RAW still in the bounding set", NULL);
	}
	child_check(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no-new-privs is set", NULL);
	child_check(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 0, "keep-caps is off again", NULL);
	child_check(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0, "not dumpable (no ptrace by the same user)", NULL);
	errno = 0;
	child_check(setuid(0) != 0 && errno == EPERM, "setuid(0) fails with EPERM", "setuid: %s", strerror(errno));
	child_check(setresuid((uid_t)-1, 0, (uid_t)-1) != 0, "setresuid(-1, 0, -1) fails", NULL);
	child_check(setgid(0) != 0, "setgid(0) fails", NULL);

	rc = rd_privs_drop(a->uid, a->gid, a->user, err, sizeof(err));
	child_check(rc == 0, "dropping again to the same user: a no-op", "rc=%d: %s", rc, err);
	rc = rd_privs_drop(a->uid - 1, a->gid, NULL, err, sizeof(err));
	child_check(rc == -EPERM && strstr(err, "not running as root"), "dropping to another user: -EPERM",
		    "rc=%d: %s", rc, err);
}

static int hold_fd[2];

static void *idle_thread(void *arg)
{
	char c;
	(void)arg;
	while (read(hold_fd[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static void child_refusals(void *arg)
{
	const struct drop_args *a = arg;
	char err[256] = "";

	int rc = rd_privs_drop(0, 0, "root", err, sizeof(err));
	child_check(rc == RD_EINVAL, "uid 0 refused", "rc=%d: %s", rc, err);

	pthread_t th;
	if (pipe(hold_fd) || pthread_create(&th, NULL, idle_thread, NULL)) {
		child_check(0, "second thread started", "%s", strerror(errno));
		return;
	}
	rc = rd_privs_drop(a->uid, a->gid, a->user, err, sizeof(err));
	child_check(rc == RD_EINVAL && strstr(err, "2 threads are running"), "refused with a second thread running",
		    "rc=%d: %s", rc, err);
	child_check(geteuid() == 0 && getuid() == 0 && prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 0 &&
		    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0, "and nothing was changed", NULL);
	close(hold_fd[1]);
	pthread_join(th, NULL);
}

static void test_root(void)
{
	struct drop_args a = { .uid = 65534, .gid = 65534, .user = NULL };
	struct passwd *nb = getpwnam("nobody");
	char path[] = "/tmp/rackdhcpd-privs-XXXXXX";

	if (nb) {
		a.uid = nb->pw_uid;
		a.gid = nb->pw_gid;
		a.user = "nobody";
	}
	a.had_net_raw = cap_is(CAP_NET_RAW, CAP_PERMITTED);
	a.had_bind = cap_is(CAP_NET_BIND_SERVICE, CAP_PERMITTED);
	a.had_setpcap = cap_is(CAP_SETPCAP, CAP_EFFECTIVE);
	if (!a.had_net_raw || !a.had_bind || !a.had_setpcap)
		diag("root without NET_RAW (%d), NET_BIND_SERVICE (%d) or SETPCAP (%d): those checks skipped",
		     a.had_net_raw, a.had_bind, a.had_setpcap);

	int fd = mkstemp(path);
	if (fd < 0)
		bail_out("mkstemp: %s", strerror(errno));
	if (fchmod(fd, 0600) || write(fd, "secret\n", 7) != 7)
		bail_out("preparing %s: %s", path, strerror(errno));
	close(fd);
	a.root_file = path;

	in_child(child_drop, &a, a.user ? "drop to nobody" : "drop to 65534");
	in_child(child_refusals, &a, "refusals");
	unlink(path);

	/* the parent was never touched */
	ok(geteuid() == 0 && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0, "parent still root, no no-new-privs");
}

int main(void)
{
	plan_lazy();
	test_lookup();
	if (geteuid() != 0) {
		char err[256];
		ok(rd_privs_drop(geteuid(), getegid(), NULL, err, sizeof(err)) == 0, "not root: dropping to self is a no-op");
		int rc = rd_privs_drop(geteuid() + 1, getegid(), NULL, err, sizeof(err));
		ok(rc == -EPERM && strstr(err, "not running as root"), "not root: another user is -EPERM");
		skip("not root: the privilege drop itself is not tested");
		return done_testing();
	}
	test_root();
	return done_testing();
}
