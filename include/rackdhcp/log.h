/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * log.h — the daemon's log: one line per event on stderr, which systemd
 * hands to the journal.
 *
 * When stderr is the journal's stream (JOURNAL_STREAM names stderr's device
 * and inode, see systemd.exec(5)) each line starts with a "<N>" syslog
 * priority prefix, which journald strips and records as the priority, and
 * carries no timestamp (the journal adds one).  Otherwise lines read
 * "2026-11-26T23:40:01.123Z rackdhcpd[1234]: info: text".
 *
 * Every line is one write(2), so lines from several threads never
 * interleave.  rd_log is safe from any thread; rd_log_init/rd_log_set_level
 * may run while others log (the level is an atomic).
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

/*! Set the threshold (a syslog priority: LOG_ERR..LOG_DEBUG) and the program name. */
void rd_log_init(const char *ident, int max_prio);

/*! Change the threshold (on reload). */
void rd_log_set_level(int max_prio);

/*! Would a message of this priority be written?  Check before costly formatting. */
bool rd_log_enabled(int prio);

/*! Write one line (no trailing newline needed; one is added). */
void rd_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rd_vlog(int prio, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/*! Lines that could not be written (the journal's stream was full). */
unsigned long long rd_log_dropped(void);

/*! The syslog priority of a config log level (enum rd_cfg_log_level). */
int rd_log_prio_of_level(int cfg_level);
