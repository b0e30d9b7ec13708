/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * log.c — see log.h.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/config.h"
#include "rackdhcp/log.h"

static _Atomic int max_prio = LOG_INFO;
static const char *log_ident = "rackdhcpd";
static _Atomic int to_journal = -1;   /* -1: not probed yet */
static _Atomic unsigned long long dropped_lines;

static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void rd_log_init(const char *ident, int prio)
{
	if (ident)
		log_ident = ident;
	atomic_store(&max_prio, prio);
	to_journal = stderr_is_journal();
	/* journald reads its stream at its own pace and may throttle; a
	 * packet worker must never block on a log line, so one that does not
	 * fit is dropped and counted instead. */
	if (to_journal) {
		int fl = fcntl(STDERR_FILENO, F_GETFL);
		if (fl >= 0)
			(void)fcntl(STDERR_FILENO, F_SETFL, fl | O_NONBLOCK);
	}
}

unsigned long long rd_log_dropped(void)
{
	return atomic_load(&dropped_lines);
}

void rd_log_set_level(int prio)
{
	atomic_store(&max_prio, prio);
}

bool rd_log_enabled(int prio)
{
	return prio <= atomic_load_explicit(&max_prio, memory_order_relaxed);
}

int rd_log_prio_of_level(int cfg_level)
{
	switch (cfg_level) {
	case RD_LOG_ERROR: return LOG_ERR;
	case RD_LOG_WARNING: return LOG_WARNING;
	case RD_LOG_DEBUG: return LOG_DEBUG;
	default: return LOG_INFO;
	}
}

static const char *prio_name(int prio)
{
	switch (prio) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: return "critical";
	case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: return "notice";
	case LOG_INFO: return "info";
	default: return "debug";
	}
}

void rd_vlog(int prio, const char *fmt, va_list ap)
{
	char line[2048];
	size_t n;
	int r;

	if (!rd_log_enabled(prio))
		return;
	if (to_journal < 0)
		to_journal = stderr_is_journal();
	if (to_journal) {
		r = snprintf(line, sizeof(line), "<%d>", prio & 7);
	} else {
		struct timeval tv;
		struct tm tm;
		gettimeofday(&tv, NULL);
		gmtime_r(&tv.tv_sec, &tm);
		r = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld]: %s: ",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			     (long)(tv.tv_usec / 1000), log_ident, (long)getpid(), prio_name(prio));
	}
	n = r > 0 ? (size_t)r : 0;
	r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n - 1 ? (size_t)r : sizeof(line) - n - 2;
	/* Control characters from the network (hostnames, reasons) must not
	 * forge log lines. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			line[i] = '?';
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		atomic_fetch_add(&dropped_lines, 1);
}

void rd_log(int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rd_vlog(prio, fmt, ap);
	va_end(ap);
}
