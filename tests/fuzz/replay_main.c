/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * replay_main — the main() of fuzz targets built without libFuzzer: it turns
 * a target into a regression test by running known inputs through
 * LLVMFuzzerTestOneInput.
 *
 * Inputs, each reported as one TAP line with its count:
 *  - every file of the seed corpus RD_FUZZ_CORPUS (a compile-time path, see
 *    tests/local.mk); an empty or missing corpus is a failure, since it
 *    would make the test pass while testing nothing;
 *  - every frame of every capture in $RD_SHARED_PCAPS and its derived/
 *    folder (public captures kept beside the project; skipped when absent);
 *  - files, directories or captures (*.pcap, *.pcapng, *.cap) given as
 *    arguments, e.g. a crash file from a libFuzzer run.
 * A crash or sanitizer report is the failure signal: the target aborts and
 * the test driver sees the missing plan.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rackdhcp/capture.h"
#include "rackdhcp/wire.h"

#ifndef RD_FUZZ_CORPUS
#error "RD_FUZZ_CORPUS must name the seed corpus directory"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned test_no, failures;

static void tap(bool good, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tap(bool good, const char *fmt, ...)
{
	va_list ap;
	printf("%s %u - ", good ? "ok" : "not ok", ++test_no);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!good)
		failures++;
}

/* Run one file through the target, copied to an exact-size heap buffer so
 * ASan catches a read one byte past the input. */
static int run_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return -1;
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			fclose(fp);
			return -1;
		}
		size_t got = fread(buf + len, 1, cap - len, fp);
		len += got;
		if (got == 0)
			break;
		if (len == cap) {
			uint8_t *p = cap < (16u << 20) ? realloc(buf, cap * 2) : NULL;
			if (!p) {
				free(buf);
				buf = NULL;
				continue;
			}
			buf = p;
			cap *= 2;
		}
	}
	fclose(fp);
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

static int on_frame(void *arg, const rd_capture_frame_t *f)
{
	unsigned *count = arg;
	uint8_t *copy = malloc(f->caplen ? f->caplen : 1);
	if (!copy)
		return RD_ENOMEM;
	memcpy(copy, f->data, f->caplen);
	LLVMFuzzerTestOneInput(copy, f->caplen);
	free(copy);
	(*count)++;
	return 0;
}

static bool is_capture(const char *name)
{
	size_t n = strlen(name);
	return (n > 5 && !strcmp(name + n - 5, ".pcap")) || (n > 7 && !strcmp(name + n - 7, ".pcapng")) ||
	       (n > 4 && !strcmp(name + n - 4, ".cap"));
}

static void run_capture(const char *path)
{
	unsigned count = 0;
	char err[512] = "";
	int r = rd_capture_foreach(path, on_frame, &count, err, sizeof(err));
	tap(r == 0, "capture %s: %u frames", path, count);
	if (r != 0)
		printf("# %s\n", err);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entries of a directory (regular files, or captures only). */
static size_t list_dir(const char *dir, bool captures, char ***out)
{
	DIR *d = opendir(dir);
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;

	*out = NULL;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || (captures && !is_capture(e->d_name)))
			continue;
		size_t len = strlen(dir) + strlen(e->d_name) + 2;
		char *path = malloc(len);
		if (!path)
			break;
		snprintf(path, len, "%s/%s", dir, e->d_name);
		struct stat st;
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **p = realloc(v, cap * sizeof(*v));
			if (!p) {
				free(path);
				break;
			}
			v = p;
		}
		v[n++] = path;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_names);
	*out = v;
	return n;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void run_corpus(const char *dir, bool required)
{
	char **v;
	size_t n = list_dir(dir, false, &v), ran = 0;
	for (size_t i = 0; i < n; i++)
		if (run_file(v[i]) == 0)
			ran++;
	if (n == 0 && !required)
		printf("ok %u - corpus %s # SKIP no files\n", ++test_no, dir);
	else
		tap(n > 0 && ran == n, "corpus %s: %zu of %zu files", dir, ran, n);
	free_list(v, n);
}

#ifndef RD_FUZZ_NO_CAPTURES
static void run_captures(const char *dir)
{
	char **v;
	size_t n = list_dir(dir, true, &v);
	for (size_t i = 0; i < n; i++)
		run_capture(v[i]);
	free_list(v, n);
}

/* Every frame of the shared public captures (targets whose input is a frame). */
static void run_shared_captures(void)
{
	struct stat st;
	const char *shared = getenv("RD_SHARED_PCAPS");
	if (shared && *shared && stat(shared, &st) == 0 && S_ISDIR(st.st_mode)) {
		run_captures(shared);
		size_t len = strlen(shared) + sizeof("/derived");
		char *derived = malloc(len);
		if (derived) {
			snprintf(derived, len, "%s/derived", shared);
			run_captures(derived);
			free(derived);
		}
	} else {
		printf("ok %u - shared captures # SKIP RD_SHARED_PCAPS (%s) is not a directory\n",
		       ++test_no, shared ? shared : "unset");
	}
}
#endif

int main(int argc, char **argv)
{
	run_corpus(RD_FUZZ_CORPUS, true);

	struct stat st;
#ifndef RD_FUZZ_NO_CAPTURES
	run_shared_captures();
#endif

	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			tap(false, "%s: cannot stat", argv[i]);
		} else if (S_ISDIR(st.st_mode)) {
			run_corpus(argv[i], false);
		} else if (is_capture(argv[i])) {
			run_capture(argv[i]);
		} else {
			tap(run_file(argv[i]) == 0, "input %s", argv[i]);
		}
	}
	printf("1..%u\n", test_no);
	return failures ? 1 : 0;
}
