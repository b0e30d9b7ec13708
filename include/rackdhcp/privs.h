/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * privs.h — dropping root after the sockets are open.
 *
 * What is kept: CAP_NET_RAW (AF_PACKET sockets for interfaces that appear
 * later) and CAP_NET_BIND_SERVICE (port 67), in the permitted and effective
 * sets only; nothing inheritable, no ambient capabilities, every other
 * capability dropped from the bounding set too (when the process may do
 * that, i.e. holds CAP_SETPCAP), and no-new-privs set so no exec can gain
 * anything back.  The process stays non-dumpable (the kernel clears the flag
 * on the uid change), so another process of the same user cannot ptrace it
 * to borrow the raw-socket capability.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/*!
 * Resolve a user name, or a decimal uid, to its uid and primary gid.  A
 * number without a passwd entry is accepted with gid = uid (containers often
 * run such ids).  0, -ENOENT (no such user), RD_EINVAL (empty name, number
 * out of range) or another negative errno from the lookup, with err filled.
 */
int rd_privs_lookup(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen);

/*!
 * Become uid/gid (supplementary groups: the user's via initgroups when user
 * is given, else just gid), keeping only CAP_NET_RAW and
 * CAP_NET_BIND_SERVICE (those of them the process holds now) in the
 * permitted and effective sets, with no-new-privs set.  Then verify: real,
 * effective and saved ids, the capability sets, the bounding set, and that
 * setuid(0) fails; any surprise is an error, never a warning.
 *
 * Must run while the process has ONE thread: capabilities and no-new-privs
 * are per thread, so a thread started earlier would keep root's; a second
 * thread is refused with RD_EINVAL.  uid 0 is refused (RD_EINVAL).  A no-op
 * returning 0 when already that user and not root; -EPERM when not root
 * and a different user.  0 or a negative errno/RD_E* with err filled.
 * After a failure part-way, the process is in an unknown state: exit.
 */
int rd_privs_drop(uid_t uid, gid_t gid, const char *user, char *err, size_t errlen);
