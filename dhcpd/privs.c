/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * privs.c — user lookup and the privilege drop (see privs.h).
 *
 * The order of the drop matters:
 *  1. PR_SET_KEEPCAPS, so the uid change keeps the permitted set (without
 *     it the kernel clears every capability when no uid is 0 any more);
 *  2. the bounding set, while CAP_SETPCAP is still effective: after the uid
 *     change the effective set is empty and it could no longer be trimmed;
 *  3. groups, then gids, then uids: setgroups and setresgid need
 *     CAP_SETGID, which leaves the effective set with the uid change;
 *  4. capset to exactly {NET_RAW, NET_BIND_SERVICE} permitted + effective,
 *     nothing inheritable (which also empties the ambient set);
 *  5. KEEPCAPS back off, no-new-privs on;
 *  6. verify everything from the kernel's point of view.  Each step above
 *     reports its own failure, but a kernel or a libc that silently does
 *     less than asked (a seccomp filter returning 0, a setresuid wrapper
 *     that skips a thread) is exactly the case a check from outside finds.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "rackdhcp/error.h"
#include "rackdhcp/privs.h"

/* The capabilities a serving daemon keeps. */
static const cap_value_t keep_caps[] = { CAP_NET_RAW, CAP_NET_BIND_SERVICE };
#define N_KEEP (sizeof(keep_caps) / sizeof(keep_caps[0]))

#define fail rd_errf

/* errno as a negative code, never 0 (a call that failed without saying why). */
static int neg_errno(void)
{
	return errno > 0 ? -errno : RD_EINVAL;
}

/* ------------------------------------------------------------ lookup */

/* getpw*_r with a buffer that grows until the entry fits.  0, -ENOENT or -errno. */
static int passwd_entry(const char *name, uid_t uid, struct passwd *pw, char **buf)
{
	long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t size = hint > 0 ? (size_t)hint : 1024;

	for (;;) {
		struct passwd *res = NULL;
		char *b = realloc(*buf, size);
		if (!b)
			return RD_ENOMEM;
		*buf = b;
		int rc = name ? getpwnam_r(name, pw, b, size, &res) : getpwuid_r(uid, pw, b, size, &res);
		if (rc == ERANGE && size < (1u << 20)) {
			size *= 2;
			continue;
		}
		if (rc)
			return -rc;
		return res ? 0 : -ENOENT;
	}
}

int rd_privs_lookup(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	struct passwd pw;
	char *buf = NULL;
	int rc;

	if (!user || !*user)
		return fail(err, errlen, RD_EINVAL, "user: empty name");
	bool numeric = true;
	for (const char *p = user; *p; p++)
		if (!isdigit((unsigned char)*p))
			numeric = false;
	if (numeric) {
		errno = 0;
		unsigned long long v = strtoull(user, NULL, 10);
		/* (uid_t)-1 means "unchanged" to setresuid: never a real uid */
		if (errno || v >= (uid_t)-1)
			return fail(err, errlen, RD_EINVAL, "user '%.40s': uid out of range", user);
		rc = passwd_entry(NULL, (uid_t)v, &pw, &buf);
		if (rc && rc != -ENOENT) {
			free(buf);
			return fail(err, errlen, rc, "user '%.40s': cannot look up uid: %s", user, strerror(-rc));
		}
		*uid = (uid_t)v;
		*gid = rc ? (gid_t)v : pw.pw_gid;
		free(buf);
		return 0;
	}
	rc = passwd_entry(user, 0, &pw, &buf);
	if (rc == -ENOENT) {
		free(buf);
		return fail(err, errlen, rc, "user '%.64s' does not exist (no passwd entry)", user);
	}
	if (rc) {
		free(buf);
		return fail(err, errlen, rc, "user '%.64s': cannot look up: %s", user, strerror(-rc));
	}
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	free(buf);
	return 0;
}

/* ------------------------------------------------------------ drop */

/* Threads of this process, from /proc; 0 if /proc cannot say. */
static unsigned thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	unsigned n = 0;

	if (!d)
		return 0;
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static bool kept(cap_value_t c)
{
	for (size_t i = 0; i < N_KEEP; i++)
		if (keep_caps[i] == c)
			return true;
	return false;
}

/* Highest capability number the kernel knows (the bounding set says). */
static cap_value_t last_cap(void)
{
	cap_value_t c = 0;
	while (c < 255 && prctl(PR_CAPBSET_READ, (unsigned long)c + 1, 0, 0, 0) >= 0)
		c++;
	return c;
}

static bool has_cap(cap_t caps, cap_value_t c, cap_flag_t set)
{
	cap_flag_value_t v = CAP_CLEAR;
	return cap_get_flag(caps, c, set, &v) == 0 && v == CAP_SET;
}

/* Step 6: the state the kernel reports.  0 or -EPERM naming what is wrong. */
static int verify(uid_t uid, gid_t gid, bool trimmed_bound, char *err, size_t errlen)
{
	uid_t r = (uid_t)-1, e = (uid_t)-1, s = (uid_t)-1;
	gid_t rg = (gid_t)-1, eg = (gid_t)-1, sg = (gid_t)-1;
	cap_value_t last = last_cap();

	if (getresuid(&r, &e, &s) || r != uid || e != uid || s != uid)
		return fail(err, errlen, -EPERM, "privilege drop incomplete: uids are %d/%d/%d, wanted %u",
			    (int)r, (int)e, (int)s, (unsigned)uid);
	if (getresgid(&rg, &eg, &sg) || rg != gid || eg != gid || sg != gid)
		return fail(err, errlen, -EPERM, "privilege drop incomplete: gids are %d/%d/%d, wanted %u",
			    (int)rg, (int)eg, (int)sg, (unsigned)gid);

	cap_t caps = cap_get_proc();
	if (!caps)
		return fail(err, errlen, neg_errno(), "cannot read capabilities back: %m");
	for (cap_value_t c = 0; c <= last; c++) {
		static const cap_flag_t sets[] = { CAP_PERMITTED, CAP_EFFECTIVE, CAP_INHERITABLE };
		static const char *const names[] = { "permitted", "effective", "inheritable" };
		for (int i = 0; i < 3; i++) {
			if (has_cap(caps, c, sets[i]) && (sets[i] == CAP_INHERITABLE || !kept(c))) {
				char *name = cap_to_name(c);
				int rc = fail(err, errlen, -EPERM, "privilege drop incomplete: %s still %s",
					      name ? name : "a capability", names[i]);
				cap_free(name);
				cap_free(caps);
				return rc;
			}
		}
	}
	cap_free(caps);
	if (trimmed_bound)
		for (cap_value_t c = 0; c <= last; c++)
			if (!kept(c) && prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) > 0) {
				char *name = cap_to_name(c);
				int rc = fail(err, errlen, -EPERM, "privilege drop incomplete: %s still in the bounding set",
					      name ? name : "a capability");
				cap_free(name);
				return rc;
			}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return fail(err, errlen, -EPERM, "privilege drop incomplete: no-new-privs is not set");
	if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 0)
		return fail(err, errlen, -EPERM, "privilege drop incomplete: keep-caps is still set");
	/* The proof: if this works, we are root again, and must not go on. */
	if (setuid(0) == 0 || setgid(0) == 0)
		return fail(err, errlen, -EPERM, "privilege drop FAILED: the process could become root again");
	return 0;
}

int rd_privs_drop(uid_t uid, gid_t gid, const char *user, char *err, size_t errlen)
{
	uid_t r, e, s;
	const char *who = user ? user : "";
	char num[24];

	if (!user) {
		snprintf(num, sizeof(num), "%u", (unsigned)uid);
		who = num;
	}
	if (uid == 0 || uid == (uid_t)-1 || gid == (gid_t)-1)
		return fail(err, errlen, RD_EINVAL, "user '%s': uid %d cannot be a user to drop privileges to",
			    who, (int)uid);
	if (getresuid(&r, &e, &s))
		return fail(err, errlen, neg_errno(), "getresuid: %m");
	if (e != 0) {
		if (r == uid && e == uid && s == uid)
			return 0;
		return fail(err, errlen, -EPERM, "cannot switch to user '%s': not running as root (uid %u)",
			    who, (unsigned)e);
	}
	unsigned threads = thread_count();
	if (threads > 1)
		return fail(err, errlen, RD_EINVAL,
			    "%u threads are running: privileges must be dropped before any thread starts "
			    "(capabilities are per thread)", threads);

	/* What we hold now of the capabilities we keep (root in a container
	 * may lack CAP_NET_RAW: then it is simply not kept, and opening a raw
	 * socket fails later with its own clear error). */
	cap_t now = cap_get_proc();
	if (!now)
		return fail(err, errlen, neg_errno(), "cannot read capabilities: %m");
	cap_value_t keep[N_KEEP];
	int n_keep = 0;
	for (size_t i = 0; i < N_KEEP; i++)
		if (has_cap(now, keep_caps[i], CAP_PERMITTED))
			keep[n_keep++] = keep_caps[i];
	bool setpcap = has_cap(now, CAP_SETPCAP, CAP_EFFECTIVE);
	cap_free(now);

	/* 1 */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
		return fail(err, errlen, neg_errno(), "prctl(PR_SET_KEEPCAPS): %m");
	/* 2: without CAP_SETPCAP (a container that withheld it) the bounding
	 * set stays; the empty permitted set and no-new-privs still make every
	 * capability in it unreachable. */
	if (setpcap) {
		cap_value_t last = last_cap();
		for (cap_value_t c = 0; c <= last; c++)
			if (!kept(c) && prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) > 0 &&
			    prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0))
				return fail(err, errlen, neg_errno(), "cannot drop capability %d from the bounding set: %m",
					    (int)c);
	}
	/* 3 */
	if (user ? initgroups(user, gid) : setgroups(1, &gid))
		return fail(err, errlen, neg_errno(), "cannot set the groups of user '%s': %m", who);
	if (setresgid(gid, gid, gid))
		return fail(err, errlen, neg_errno(), "setresgid(%u): %m", (unsigned)gid);
	if (setresuid(uid, uid, uid))
		return fail(err, errlen, neg_errno(), "setresuid(%u): %m", (unsigned)uid);
	/* 4 */
	cap_t want = cap_init();
	if (!want)
		return fail(err, errlen, RD_ENOMEM, "cap_init: out of memory");
	if ((n_keep && (cap_set_flag(want, CAP_PERMITTED, n_keep, keep, CAP_SET) ||
			cap_set_flag(want, CAP_EFFECTIVE, n_keep, keep, CAP_SET))) ||
	    cap_set_proc(want)) {
		int rc = neg_errno();
		cap_free(want);
		return fail(err, errlen, rc, "cannot set capabilities: %s", strerror(-rc));
	}
	cap_free(want);
	/* Ambient capabilities need the inheritable bit, so the capset above
	 * already emptied them; clearing says so explicitly (EINVAL: a kernel
	 * before 4.3, which has none). */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return fail(err, errlen, neg_errno(), "cannot clear ambient capabilities: %m");
	/* 5 */
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0))
		return fail(err, errlen, neg_errno(), "prctl(PR_SET_KEEPCAPS, 0): %m");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return fail(err, errlen, neg_errno(), "prctl(PR_SET_NO_NEW_PRIVS): %m");
	/* 6 */
	return verify(uid, gid, setpcap, err, errlen);
}
