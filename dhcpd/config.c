/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * config.c — the YAML configuration (see config.h and docs/config.md).
 *
 * It owns: loading the file with libyaml's document API, walking the tree
 * against a fixed schema, every semantic check (overlaps, ranges, failover
 * references), defaults, the reservation lookup indexes, and the RCU-published
 * pointer to the snapshot in force.
 *
 * Design notes:
 *  - Each mapping is read in two steps: collect its keys (unknown or
 *    duplicated keys are errors right there, which is our typo protection),
 *    then read the values in a fixed order of our choosing, so that checks
 *    needing another key (a pool range needs the subnet's cidr) do not depend
 *    on the order the file was written in.  Sections go failover, then
 *    subnets (pools resolve peer names), then server and region.
 *  - Checks run while the YAML nodes are at hand, so every message carries
 *    the line and column of the offending value.  The first error wins.
 *  - YAML anchors and aliases are refused: nothing needs them, and refusing
 *    them bounds the walk by the size of the input (no "billion laughs").
 *  - All memory of a configuration comes from one arena (rd_cfg_chunk list).
 *
 * Threading: the parser has no global state.  The publication pointer is
 * read with rcu_dereference by any registered reader and written by
 * rd_config_publish under publish_lock.
 */
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <yaml.h>

#include "rackdhcp/boot.h"
#include "rackdhcp/config.h"
#include "rackdhcp/error.h"
#include "rackdhcp/rcu.h"

/* ------------------------------------------------------------------ arena */

struct rd_cfg_chunk {
	struct rd_cfg_chunk *next;
	size_t used, size;
	max_align_t data[];
};

#define ARENA_CHUNK (16u * 1024)
#define ARENA_ALIGN (sizeof(max_align_t))

/* Zeroed memory from c's arena, NULL on overflow or exhaustion. */
static void *arena_alloc(rd_config_t *c, size_t n)
{
	struct rd_cfg_chunk *k = c->arena_;

	if (n > SIZE_MAX / 2)
		return NULL;
	n = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (!n)
		n = ARENA_ALIGN;
	if (!k || k->size - k->used < n) {
		size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		k = malloc(sizeof(*k) + size);
		if (!k)
			return NULL;
		k->used = 0;
		k->size = size;
		/* A big allocation gets its own chunk behind the current one, so
		 * the current chunk's free space is not wasted. */
		if (c->arena_ && size == n) {
			k->next = c->arena_->next;
			c->arena_->next = k;
		} else {
			k->next = c->arena_;
			c->arena_ = k;
		}
	}
	void *p = (char *)k->data + k->used;
	k->used += n;
	memset(p, 0, n);
	return p;
}

static void *arena_array(rd_config_t *c, size_t count, size_t size)
{
	if (size && count > SIZE_MAX / 4 / size)
		return NULL;
	return arena_alloc(c, count * size);
}

static char *arena_strndup(rd_config_t *c, const char *s, size_t len)
{
	char *p = arena_alloc(c, len + 1);
	if (p)
		memcpy(p, s, len);
	return p;
}

void rd_config_free(rd_config_t *c)
{
	if (!c)
		return;
	struct rd_cfg_chunk *k = c->arena_;
	while (k) {
		struct rd_cfg_chunk *next = k->next;
		free(k);
		k = next;
	}
	free(c);
}

/* ------------------------------------------------------------ parse state */

struct ctx {
	const char *file;
	yaml_document_t *doc;
	rd_config_t *cfg;
	char *err;
	size_t errlen;
	int rc;             /* first error, 0 while none */
};

/* Record the first error as "FILE:LINE:COL: PATH.KEY: reason". */
static int fail(struct ctx *x, const yaml_node_t *n, const char *path, const char *key,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int fail(struct ctx *x, const yaml_node_t *n, const char *path, const char *key,
		const char *fmt, ...)
{
	if (x->rc)
		return x->rc;
	x->rc = RD_EMALFORMED;
	if (!x->err || !x->errlen)
		return x->rc;
	unsigned line = n ? (unsigned)n->start_mark.line + 1 : 1;
	unsigned col = n ? (unsigned)n->start_mark.column + 1 : 1;
	const char *dot = path && *path && key && *key ? "." : "";
	int w = snprintf(x->err, x->errlen, "%s:%u:%u: %s%s%s: ", x->file, line, col,
			 path ? path : "", dot, key ? key : "");
	if (w >= 0 && (size_t)w < x->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(x->err + w, x->errlen - (size_t)w, fmt, ap);
		va_end(ap);
	}
	return x->rc;
}

static int fail_nomem(struct ctx *x)
{
	if (x->rc)
		return x->rc;
	x->rc = RD_ENOMEM;
	if (x->err && x->errlen)
		snprintf(x->err, x->errlen, "%s: out of memory", x->file);
	return x->rc;
}

static yaml_node_t *node(struct ctx *x, int id)
{
	return yaml_document_get_node(x->doc, id);
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static size_t slen(const yaml_node_t *n)
{
	return n->data.scalar.length;
}

/* A plain "", "~" or "null": the key is written but has no value. */
static bool is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *s = sval(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:   return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE:  return "a mapping";
	default:                 return "nothing";
	}
}

/* Levenshtein distance, capped: enough to say "did you mean". */
static unsigned edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[40];

	if (la >= 40 || lb >= 40)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/*
 * Collect the values of mapping n into vals[] (index = position of the key in
 * keys[]); absent and null values are NULL.  Unknown and duplicate keys are
 * errors.  On entry knodes may be NULL; if given it receives the key nodes.
 */
static int map_collect(struct ctx *x, yaml_node_t *n, const char *path, const char *key,
		       const char *const *keys, size_t nkeys, yaml_node_t **vals)
{
	bool seen[32] = { false };

	if (n->type != YAML_MAPPING_NODE)
		return fail(x, n, path, key, "expected a mapping of keys, found %s", node_kind(n));
	for (size_t i = 0; i < nkeys; i++)
		vals[i] = NULL;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(x, p->key), *v = node(x, p->value);
		char full[192];

		if (!k || !v)
			return fail(x, n, path, key, "broken YAML document");
		if (k->type != YAML_SCALAR_NODE)
			return fail(x, k, path, key, "a key must be a plain word, found %s", node_kind(k));
		size_t i;
		for (i = 0; i < nkeys; i++)
			if (!strcmp(sval(k), keys[i]))
				break;
		if (path && *path && key && *key)
			snprintf(full, sizeof(full), "%s.%s", path, key);
		else
			snprintf(full, sizeof(full), "%s", key && *key ? key : (path ? path : ""));
		if (i == nkeys) {
			char list[400];
			size_t used = 0;
			const char *guess = NULL;
			unsigned best = 3;
			list[0] = '\0';
			for (size_t j = 0; j < nkeys; j++) {
				unsigned d = edit_distance(sval(k), keys[j]);
				if (d < best) {
					best = d;
					guess = keys[j];
				}
				int w = snprintf(list + used, sizeof(list) - used, "%s%s", j ? ", " : "", keys[j]);
				if (w < 0 || (size_t)w >= sizeof(list) - used)
					break;
				used += (size_t)w;
			}
			char shown[64];
			snprintf(shown, sizeof(shown), "%.*s", (int)(slen(k) < 48 ? slen(k) : 48), sval(k));
			if (guess)
				return fail(x, k, full, shown, "unknown key (did you mean '%s'?); valid keys: %s",
					    guess, list);
			return fail(x, k, full, shown, "unknown key; valid keys: %s", list);
		}
		if (seen[i])
			return fail(x, k, full, keys[i], "key given twice");
		seen[i] = true;
		vals[i] = is_null(v) ? NULL : v;
	}
	return 0;
}

/* Path of element i of list `key` under path, into buf (truncated if need be). */
static const char *item_path(char *buf, size_t len, const char *path, const char *key, size_t i)
{
	size_t used = 0;
	char idx[32];

	buf[0] = '\0';
	if (path && *path) {
		size_t l = strlen(path);
		if (l > len - 1)
			l = len - 1;
		memcpy(buf, path, l);
		used = l;
		if (used < len - 1)
			buf[used++] = '.';
	}
	size_t kl = strlen(key);
	if (kl > len - 1 - used)
		kl = len - 1 - used;
	memcpy(buf + used, key, kl);
	used += kl;
	int w = snprintf(idx, sizeof(idx), "[%zu]", i);
	size_t il = w > 0 ? (size_t)w : 0;
	if (il > len - 1 - used)
		il = len - 1 - used;
	memcpy(buf + used, idx, il);
	buf[used + il] = '\0';
	return buf;
}

/* Items of a sequence (an absent value is an empty list). */
static int get_seq(struct ctx *x, yaml_node_t *n, const char *path, const char *key,
		   yaml_node_item_t **items, size_t *count)
{
	*items = NULL;
	*count = 0;
	if (!n)
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(x, n, path, key, "expected a list (like [a, b] or '- a' lines), found %s",
			    node_kind(n));
	*items = n->data.sequence.items.start;
	*count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	return 0;
}

static int need_scalar(struct ctx *x, yaml_node_t *n, const char *path, const char *key)
{
	if (n->type != YAML_SCALAR_NODE)
		return fail(x, n, path, key, "expected a single value, found %s", node_kind(n));
	return 0;
}

/* A non-empty string without NUL or control characters, at most maxlen bytes. */
static int get_str(struct ctx *x, yaml_node_t *n, const char *path, const char *key, size_t maxlen,
		   char **out)
{
	if (need_scalar(x, n, path, key))
		return x->rc;
	size_t len = slen(n);
	if (!len)
		return fail(x, n, path, key, "must not be empty");
	if (len > maxlen)
		return fail(x, n, path, key, "too long (%zu bytes, at most %zu)", len, maxlen);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)sval(n)[i] < 0x20 || sval(n)[i] == 0x7f)
			return fail(x, n, path, key, "contains a control character");
	*out = arena_strndup(x->cfg, sval(n), len);
	return *out ? 0 : fail_nomem(x);
}

static int get_u32(struct ctx *x, yaml_node_t *n, const char *path, const char *key, uint32_t min,
		   uint32_t max, uint32_t *out)
{
	if (need_scalar(x, n, path, key))
		return x->rc;
	const char *s = sval(n);
	size_t len = slen(n);
	uint64_t v = 0;
	if (!len || len > 10)
		goto bad;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			goto bad;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < min || v > max)
		return fail(x, n, path, key, "%llu is out of range (%u..%u)", (unsigned long long)v, min, max);
	*out = (uint32_t)v;
	return 0;
bad:
	return fail(x, n, path, key, "'%.40s' is not a whole number (%u..%u)", s, min, max);
}

static int get_u16(struct ctx *x, yaml_node_t *n, const char *path, const char *key, uint16_t min,
		   uint16_t max, uint16_t *out)
{
	uint32_t v;
	if (get_u32(x, n, path, key, min, max, &v))
		return x->rc;
	*out = (uint16_t)v;
	return 0;
}

static int get_bool(struct ctx *x, yaml_node_t *n, const char *path, const char *key, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF" };

	if (need_scalar(x, n, path, key))
		return x->rc;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(sval(n), yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(sval(n), no[i])) {
			*out = false;
			return 0;
		}
	}
	return fail(x, n, path, key, "'%.40s' is not true or false", sval(n));
}

/* Dotted quad, decimal, no leading zeros (which some libcs read as octal). */
static bool parse_ipv4(const char *s, size_t len, uint32_t *out)
{
	uint32_t a = 0;
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0, digits = 0;
		if (part) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
		while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 4) {
			if (digits == 1 && v == 0)
				return false;
			v = v * 10 + (unsigned)(s[i] - '0');
			digits++;
			i++;
		}
		if (!digits || v > 255)
			return false;
		a = a << 8 | v;
	}
	if (i != len)
		return false;
	*out = a;
	return true;
}

static void fmt_ipv4(uint32_t a, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/* A unicast-looking IPv4 address: not 0.0.0.0, not 255.255.255.255. */
static int get_ipv4(struct ctx *x, yaml_node_t *n, const char *path, const char *key, uint32_t *out)
{
	if (need_scalar(x, n, path, key))
		return x->rc;
	if (!parse_ipv4(sval(n), slen(n), out))
		return fail(x, n, path, key, "'%.40s' is not an IPv4 address (like 192.0.2.1)", sval(n));
	if (*out == 0 || *out == UINT32_MAX)
		return fail(x, n, path, key, "%s is not a usable address", sval(n));
	return 0;
}

/*
 * Start reading a list: its items, and an arena array of as many elements
 * of elem bytes (NULL for an empty list).  *count is 0 on any failure.
 */
static int list_begin(struct ctx *x, yaml_node_t *n, const char *path, const char *key, size_t elem,
		      yaml_node_item_t **items, void **mem, size_t *count)
{
	size_t cnt;

	*count = 0;
	*mem = NULL;
	if (get_seq(x, n, path, key, items, &cnt))
		return x->rc;
	if (cnt && !(*mem = arena_array(x->cfg, cnt, elem)))
		return fail_nomem(x);
	*count = cnt;
	return 0;
}

/* Item i of a list read with list_begin, and its path for messages. */
static yaml_node_t *list_item(struct ctx *x, yaml_node_t *n, const char *path, const char *key,
			      const yaml_node_item_t *items, size_t i, char *p, size_t plen)
{
	yaml_node_t *it = node(x, items[i]);
	if (!it)
		fail(x, n, path, key, "broken YAML document");
	else
		item_path(p, plen, path, key, i);
	return it;
}

static int get_ipv4_list(struct ctx *x, yaml_node_t *n, const char *path, const char *key,
			 uint32_t **out, size_t *count)
{
	yaml_node_item_t *items;
	void *mem;
	char p[192];

	if (list_begin(x, n, path, key, sizeof(**out), &items, &mem, count))
		return x->rc;
	*out = mem;
	for (size_t i = 0; i < *count; i++) {
		yaml_node_t *it = list_item(x, n, path, key, items, i, p, sizeof(p));
		if (!it || get_ipv4(x, it, p, NULL, &(*out)[i]))
			return x->rc;
	}
	return 0;
}

/* A list of strings; each is checked by check() if given (NULL reason = fine). */
typedef const char *(*str_check_fn)(const char *s);

static int get_str_list(struct ctx *x, yaml_node_t *n, const char *path, const char *key, size_t maxlen,
			str_check_fn check, char ***out, size_t *count)
{
	yaml_node_item_t *items;
	void *mem;
	char p[192];

	if (list_begin(x, n, path, key, sizeof(**out), &items, &mem, count))
		return x->rc;
	*out = mem;
	for (size_t i = 0; i < *count; i++) {
		yaml_node_t *it = list_item(x, n, path, key, items, i, p, sizeof(p));
		if (!it || get_str(x, it, p, NULL, maxlen, &(*out)[i]))
			return x->rc;
		const char *why = check ? check((*out)[i]) : NULL;
		if (why)
			return fail(x, it, p, NULL, "'%.64s' %s", (*out)[i], why);
	}
	return 0;
}

/* Check helpers: NULL if fine, else the reason. */

static const char *check_dns_name(const char *s)
{
	size_t len = strlen(s), label = 0;
	if (len > 253 && !(len == 254 && s[253] == '.'))
		return "is longer than 253 characters";
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (ch == '.') {
			if (!label)
				return "has an empty label";
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '_'))
			return "is not a domain name (letters, digits, '-', '_' and dots)";
		if (++label > 63)
			return "has a label longer than 63 characters";
	}
	return NULL;
}

static const char *check_ifname(const char *s)
{
	if (strlen(s) >= IFNAMSIZ)
		return "is too long for an interface name (at most 15 characters)";
	for (const char *p = s; *p; p++)
		if (*p == '/' || *p == ' ' || *p == ':')
			return "is not a valid interface name";
	return NULL;
}

static const char *check_boot_arch(const char *s)
{
	return rd_boot_method_from_name(s) < 0 ?
		"is not a boot method (ipxe, onie, pxe, uefi_amd64_tftp, uefi_amd64_http, uefi_ebc_tftp, "
		"uefi_arm64_tftp, uefi_arm64_http, open-firmware_ppc64el, powernv, s390x, s390x_partition, "
		"windows)" : NULL;
}

static const char *check_url(const char *s)
{
	const char *rest;
	if (!strncmp(s, "http://", 7))
		rest = s + 7;
	else if (!strncmp(s, "https://", 8))
		rest = s + 8;
	else
		return "is not an http:// or https:// URL";
	if (!*rest || *rest == '/')
		return "has no host";
	for (const char *p = s; *p; p++)
		if (*p == ' ')
			return "contains a space";
	return NULL;
}

static int get_abs_path(struct ctx *x, yaml_node_t *n, const char *path, const char *key, size_t maxlen,
			char **out)
{
	if (get_str(x, n, path, key, maxlen, out))
		return x->rc;
	if ((*out)[0] != '/')
		return fail(x, n, path, key, "'%.64s' must be an absolute path", *out);
	return 0;
}

/* ------------------------------------------------------------------ names */

const char *rd_config_durability_name(enum rd_cfg_durability d)
{
	return d == RD_DURABILITY_RELAXED ? "relaxed" : d == RD_DURABILITY_SYNC ? "sync" : "?";
}

static const char *const log_level_names[] = { "error", "warning", "info", "debug" };

const char *rd_config_log_level_name(enum rd_cfg_log_level l)
{
	return (unsigned)l < 4 ? log_level_names[l] : "?";
}

const char *rd_config_role_name(enum rd_cfg_role r)
{
	return r == RD_FO_PRIMARY ? "primary" : r == RD_FO_SECONDARY ? "secondary" : "?";
}

/* One of names[] (its index in *out), else an error listing them. */
static int get_enum(struct ctx *x, yaml_node_t *n, const char *path, const char *key,
		    const char *const *names, size_t count, unsigned *out)
{
	if (need_scalar(x, n, path, key))
		return x->rc;
	for (size_t i = 0; i < count; i++) {
		if (!strcmp(sval(n), names[i])) {
			*out = (unsigned)i;
			return 0;
		}
	}
	char list[128];
	size_t used = 0;
	list[0] = '\0';
	for (size_t i = 0; i < count; i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? " | " : "", names[i]);
		if (w < 0 || (size_t)w >= sizeof(list) - used)
			break;
		used += (size_t)w;
	}
	return fail(x, n, path, key, "'%.40s' is not one of %s", sval(n), list);
}

/* --------------------------------------------------------------- failover */

enum {
	FK_NAME, FK_ROLE, FK_ADDRESS, FK_PORT, FK_PEER_ADDRESS, FK_PEER_PORT, FK_MCLT, FK_SPLIT, FK_HBA,
	FK_MRD, FK_MAX_UNACKED, FK_LBMS, FK_APD, FK_AAP, FK_MINB, FK_MAXB, FK_MISB, FK_OWN, FK_COUNT
};
static const char *const fo_keys[FK_COUNT] = {
	"name", "role", "address", "port", "peer_address", "peer_port", "mclt", "split", "hba",
	"max_response_delay", "max_unacked_updates", "load_balance_max_seconds", "auto_partner_down",
	"ack_after_peer", "min_balance", "max_balance", "max_lease_misbalance", "max_lease_ownership",
};

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* 64 hex digits, or ISC's 32 colon-separated octets; byte 0 first. */
static bool parse_hba(const char *s, size_t len, uint8_t hba[32])
{
	bool colons = len == 32 * 3 - 1;
	if (len != 64 && !colons)
		return false;
	for (size_t i = 0, p = 0; i < 32; i++) {
		if (colons && i && s[p++] != ':')
			return false;
		int hi = hexval(s[p]), lo = hexval(s[p + 1]);
		if (hi < 0 || lo < 0)
			return false;
		hba[i] = (uint8_t)(hi << 4 | lo);
		p += 2;
	}
	return true;
}

static int parse_failover(struct ctx *x, yaml_node_t *n, const char *path, rd_cfg_failover_t *f,
			  yaml_node_t **name_node)
{
	static const char *const roles[] = { "primary", "secondary" };
	yaml_node_t *v[FK_COUNT];
	unsigned role;

	if (map_collect(x, n, path, NULL, fo_keys, FK_COUNT, v))
		return x->rc;
	f->line = (unsigned)n->start_mark.line + 1;
	f->col = (unsigned)n->start_mark.column + 1;
	for (int k = 0; k <= FK_ROLE; k++)
		if (!v[k])
			return fail(x, n, path, fo_keys[k], "required key missing");
	if (!v[FK_ADDRESS] || !v[FK_PEER_ADDRESS])
		return fail(x, n, path, v[FK_ADDRESS] ? "peer_address" : "address", "required key missing");
	if (get_str(x, v[FK_NAME], path, "name", 128, &f->name) ||
	    get_enum(x, v[FK_ROLE], path, "role", roles, 2, &role) ||
	    get_ipv4(x, v[FK_ADDRESS], path, "address", &f->address) ||
	    get_ipv4(x, v[FK_PEER_ADDRESS], path, "peer_address", &f->peer_address))
		return x->rc;
	*name_node = v[FK_NAME];
	f->role = role ? RD_FO_SECONDARY : RD_FO_PRIMARY;
	f->port = f->peer_port = RD_CFG_DEFAULT_FAILOVER_PORT;
	f->mclt = RD_CFG_DEFAULT_MCLT;
	f->max_response_delay = RD_CFG_DEFAULT_MAX_RESPONSE_DELAY;
	f->max_unacked_updates = RD_CFG_DEFAULT_MAX_UNACKED;
	f->load_balance_max_seconds = RD_CFG_DEFAULT_LB_MAX_SECONDS;
	f->auto_partner_down = 0;
	f->ack_after_peer = true;
	f->min_balance = 60;            /* ISC's defaults (doc §5.5) */
	f->max_balance = 3600;
	f->max_lease_misbalance = 15;
	f->max_lease_ownership = 10;
	if ((v[FK_PORT] && get_u16(x, v[FK_PORT], path, "port", 1, 65535, &f->port)) ||
	    (v[FK_PEER_PORT] && get_u16(x, v[FK_PEER_PORT], path, "peer_port", 1, 65535, &f->peer_port)) ||
	    (v[FK_MCLT] && get_u32(x, v[FK_MCLT], path, "mclt", 1, UINT32_MAX, &f->mclt)) ||
	    (v[FK_MRD] && get_u32(x, v[FK_MRD], path, "max_response_delay", 1, UINT32_MAX,
				  &f->max_response_delay)) ||
	    (v[FK_MAX_UNACKED] && get_u32(x, v[FK_MAX_UNACKED], path, "max_unacked_updates", 1, 65535,
					  &f->max_unacked_updates)) ||
	    (v[FK_LBMS] && get_u32(x, v[FK_LBMS], path, "load_balance_max_seconds", 0, 65535,
				   &f->load_balance_max_seconds)) ||
	    (v[FK_APD] && get_u32(x, v[FK_APD], path, "auto_partner_down", 0, UINT32_MAX,
				  &f->auto_partner_down)) ||
	    (v[FK_AAP] && get_bool(x, v[FK_AAP], path, "ack_after_peer", &f->ack_after_peer)) ||
	    (v[FK_MINB] && get_u32(x, v[FK_MINB], path, "min_balance", 1, 604800, &f->min_balance)) ||
	    (v[FK_MAXB] && get_u32(x, v[FK_MAXB], path, "max_balance", 1, 604800, &f->max_balance)) ||
	    (v[FK_MISB] && get_u32(x, v[FK_MISB], path, "max_lease_misbalance", 0, 100,
				   &f->max_lease_misbalance)) ||
	    (v[FK_OWN] && get_u32(x, v[FK_OWN], path, "max_lease_ownership", 0, 100, &f->max_lease_ownership)))
		return x->rc;
	if (f->address == f->peer_address)
		return fail(x, v[FK_PEER_ADDRESS], path, "peer_address", "is our own address");
	if (v[FK_SPLIT] && v[FK_HBA])
		return fail(x, v[FK_HBA], path, "hba", "give either split or hba, not both");
	if (v[FK_SPLIT]) {
		uint32_t split;
		if (get_u32(x, v[FK_SPLIT], path, "split", 0, 256, &split))
			return x->rc;
		f->split = (uint16_t)split;
		f->has_split = f->has_hba = true;
		/* RFC 3074 / ISC: the first `split` buckets are the primary's. */
		for (uint32_t i = 0; i < split; i++)
			f->hba[i / 8] |= (uint8_t)(1u << (i % 8));
	} else if (v[FK_HBA]) {
		if (need_scalar(x, v[FK_HBA], path, "hba"))
			return x->rc;
		if (!parse_hba(sval(v[FK_HBA]), slen(v[FK_HBA]), f->hba))
			return fail(x, v[FK_HBA], path, "hba",
				    "must be 64 hex digits (or 32 colon-separated hex octets)");
		f->has_hba = true;
	} else if (f->role == RD_FO_PRIMARY) {
		/* The primary owns the bitmap and sends it in CONNECT; a secondary
		 * learns it from there, which is why MAAS sets split on the
		 * primary only. */
		return fail(x, n, path, "split", "a primary needs split (0..256) or hba");
	}
	return 0;
}

static int parse_failovers(struct ctx *x, yaml_node_t *n)
{
	rd_config_t *c = x->cfg;
	yaml_node_item_t *items;
	void *mem;
	size_t cnt;
	char p[192];

	if (list_begin(x, n, "", "failover", sizeof(*c->failovers), &items, &mem, &cnt))
		return x->rc;
	c->failovers = mem;
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *it = list_item(x, n, "", "failover", items, i, p, sizeof(p)), *name_node = NULL;
		rd_cfg_failover_t *f = &c->failovers[i];
		if (!it || parse_failover(x, it, p, f, &name_node))
			return x->rc;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->failovers[j].name, f->name))
				return fail(x, name_node, p, "name", "'%s' is already the name of failover[%zu] (line %u)",
					    f->name, j, c->failovers[j].line);
		c->n_failovers = i + 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- subnets */

enum {
	SK_CIDR, SK_ROUTERS, SK_DNS, SK_DOMAIN, SK_SEARCH, SK_NTP, SK_MTU, SK_LEASE, SK_PXE_LEASE,
	SK_MIN_LEASE, SK_MAX_LEASE, SK_DECLINE, SK_IGNORE_CID, SK_NEXT_SERVER, SK_HTTP_PORT,
	SK_DISABLED_BOOT, SK_POOLS, SK_RESERVATIONS, SK_COUNT
};
static const char *const subnet_keys[SK_COUNT] = {
	"cidr", "routers", "dns_servers", "domain_name", "domain_search", "ntp_servers", "mtu",
	"lease_time", "pxe_lease_time", "min_lease_time", "max_lease_time", "decline_hold_time",
	"ignore_client_ids", "next_server", "boot_http_port", "disabled_boot_architectures", "pools",
	"reservations",
};

static void fmt_cidr(const rd_cfg_subnet_t *s, char buf[20])
{
	char a[16];
	fmt_ipv4(s->network, a);
	snprintf(buf, 20, "%s/%u", a, s->prefix_len);
}

static int parse_cidr(struct ctx *x, yaml_node_t *n, const char *path, rd_cfg_subnet_t *s)
{
	if (need_scalar(x, n, path, "cidr"))
		return x->rc;
	const char *str = sval(n), *slash = memchr(str, '/', slen(n));
	uint32_t addr, prefix;
	if (!slash || !parse_ipv4(str, (size_t)(slash - str), &addr))
		return fail(x, n, path, "cidr", "'%.40s' is not an IPv4 network (like 192.0.2.0/24)", str);
	size_t plen = slen(n) - (size_t)(slash - str) - 1;
	if (!plen || plen > 2 || slash[1] < '0' || slash[1] > '9' ||
	    (plen == 2 && (slash[2] < '0' || slash[2] > '9')) || (plen == 2 && slash[1] == '0'))
		return fail(x, n, path, "cidr", "'%.40s' has no valid prefix length", str);
	prefix = (uint32_t)(slash[1] - '0');
	if (plen == 2)
		prefix = prefix * 10 + (uint32_t)(slash[2] - '0');
	if (prefix < 1 || prefix > 30)
		return fail(x, n, path, "cidr", "prefix length /%u: a DHCP subnet needs 1..30", prefix);
	s->prefix_len = prefix;
	s->mask = UINT32_MAX << (32 - prefix);
	s->network = addr & s->mask;
	s->broadcast = s->network | ~s->mask;
	if (addr != s->network) {
		char hint[20];
		fmt_cidr(s, hint);
		return fail(x, n, path, "cidr", "'%.40s' has host bits set; did you mean %s?", str, hint);
	}
	return 0;
}

static bool in_subnet(const rd_cfg_subnet_t *s, uint32_t a)
{
	return (a & s->mask) == s->network;
}

/* An address usable by a host of s: inside, and not network or broadcast. */
static int check_host_addr(struct ctx *x, yaml_node_t *n, const char *path, const char *key,
			   const rd_cfg_subnet_t *s, uint32_t a)
{
	char as[16], cs[20];
	fmt_ipv4(a, as);
	fmt_cidr(s, cs);
	if (!in_subnet(s, a))
		return fail(x, n, path, key, "%s is outside subnet %s", as, cs);
	if (a == s->network)
		return fail(x, n, path, key, "%s is the network address of %s", as, cs);
	if (a == s->broadcast)
		return fail(x, n, path, key, "%s is the broadcast address of %s", as, cs);
	return 0;
}

enum { PK_RANGE, PK_FAILOVER_PEER, PK_COUNT };
static const char *const pool_keys[PK_COUNT] = { "range", "failover_peer" };

static int parse_pool(struct ctx *x, yaml_node_t *n, const char *path, rd_cfg_subnet_t *s, rd_cfg_pool_t *pl)
{
	rd_config_t *c = x->cfg;
	yaml_node_t *v[PK_COUNT];

	if (map_collect(x, n, path, NULL, pool_keys, PK_COUNT, v))
		return x->rc;
	pl->line = (unsigned)n->start_mark.line + 1;
	pl->col = (unsigned)n->start_mark.column + 1;
	pl->subnet = s;
	if (!v[PK_RANGE])
		return fail(x, n, path, "range", "required key missing");
	yaml_node_t *r = v[PK_RANGE];
	if (need_scalar(x, r, path, "range"))
		return x->rc;
	const char *str = sval(r), *dash = memchr(str, '-', slen(r));
	size_t l1, l2;
	const char *second;
	if (!dash)
		goto bad;
	l1 = (size_t)(dash - str);
	second = dash + 1;
	l2 = slen(r) - l1 - 1;
	while (l1 && str[l1 - 1] == ' ')
		l1--;
	while (l2 && *second == ' ') {
		second++;
		l2--;
	}
	if (!parse_ipv4(str, l1, &pl->start) || !parse_ipv4(second, l2, &pl->end))
		goto bad;
	if (pl->start > pl->end)
		return fail(x, r, path, "range", "start %.*s is after end %.*s", (int)l1, str, (int)l2, second);
	if (check_host_addr(x, r, path, "range", s, pl->start) ||
	    check_host_addr(x, r, path, "range", s, pl->end))
		return x->rc;
	for (rd_cfg_pool_t *o = s->pools; o < pl; o++) {
		if (pl->start <= o->end && o->start <= pl->end) {
			char a[16], b[16];
			fmt_ipv4(o->start, a);
			fmt_ipv4(o->end, b);
			return fail(x, r, path, "range", "overlaps pool %zu (%s-%s, line %u)",
				    (size_t)(o - s->pools), a, b, o->line);
		}
	}
	if (v[PK_FAILOVER_PEER]) {
		yaml_node_t *fp = v[PK_FAILOVER_PEER];
		if (need_scalar(x, fp, path, "failover_peer"))
			return x->rc;
		pl->failover = rd_config_failover(c, sval(fp));
		if (!pl->failover) {
			if (!c->n_failovers)
				return fail(x, fp, path, "failover_peer",
					    "unknown failover peer '%.64s' (the failover section defines none)", sval(fp));
			return fail(x, fp, path, "failover_peer",
				    "unknown failover peer '%.64s' (first defined: '%s')", sval(fp),
				    c->failovers[0].name);
		}
	}
	return 0;
bad:
	return fail(x, r, path, "range", "'%.40s' is not an address range (like 192.0.2.100-192.0.2.199)", str);
}

static bool parse_mac(const char *s, size_t len, uint8_t mac[6])
{
	if (len != 17)
		return false;
	for (size_t i = 0; i < 6; i++) {
		int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':' && s[i * 3 + 2] != '-'))
			return false;
		if (i < 5 && s[i * 3 + 2] != s[2])
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

enum { RK_MAC, RK_ADDRESS, RK_HOSTNAME, RK_COUNT };
static const char *const res_keys[RK_COUNT] = { "mac", "address", "hostname" };

static int cmp_res_mac(const void *a, const void *b)
{
	const rd_cfg_reservation_t *x = *(const rd_cfg_reservation_t *const *)a;
	const rd_cfg_reservation_t *y = *(const rd_cfg_reservation_t *const *)b;
	if (x->htype != y->htype)
		return x->htype < y->htype ? -1 : 1;
	int d = memcmp(x->mac, y->mac, 6);
	if (d)
		return d;
	/* ties (duplicates) in file order, so the later one is reported */
	return x < y ? -1 : x > y;
}

static int cmp_res_addr(const void *a, const void *b)
{
	const rd_cfg_reservation_t *x = *(const rd_cfg_reservation_t *const *)a;
	const rd_cfg_reservation_t *y = *(const rd_cfg_reservation_t *const *)b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int parse_reservations(struct ctx *x, yaml_node_t *n, const char *path, rd_cfg_subnet_t *s)
{
	rd_config_t *c = x->cfg;
	yaml_node_item_t *items;
	size_t cnt;
	char p[192];

	if (get_seq(x, n, path, "reservations", &items, &cnt))
		return x->rc;
	if (!cnt)
		return 0;
	/* The value nodes, kept while parsing so duplicate errors found after
	 * sorting can still point at the right line. */
	yaml_node_t **mac_nodes = arena_array(c, cnt, sizeof(*mac_nodes));
	yaml_node_t **addr_nodes = arena_array(c, cnt, sizeof(*addr_nodes));
	s->reservations = arena_array(c, cnt, sizeof(*s->reservations));
	s->res_by_mac = arena_array(c, cnt, sizeof(*s->res_by_mac));
	s->res_by_addr = arena_array(c, cnt, sizeof(*s->res_by_addr));
	if (!mac_nodes || !addr_nodes || !s->reservations || !s->res_by_mac || !s->res_by_addr)
		return fail_nomem(x);
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *it = node(x, items[i]), *v[RK_COUNT];
		rd_cfg_reservation_t *r = &s->reservations[i];
		if (!it)
			return fail(x, n, path, "reservations", "broken YAML document");
		item_path(p, sizeof(p), path, "reservations", i);
		if (map_collect(x, it, p, NULL, res_keys, RK_COUNT, v))
			return x->rc;
		r->line = (unsigned)it->start_mark.line + 1;
		r->col = (unsigned)it->start_mark.column + 1;
		r->subnet = s;
		r->htype = 1;
		if (!v[RK_MAC] || !v[RK_ADDRESS])
			return fail(x, it, p, v[RK_MAC] ? "address" : "mac", "required key missing");
		if (need_scalar(x, v[RK_MAC], p, "mac"))
			return x->rc;
		if (!parse_mac(sval(v[RK_MAC]), slen(v[RK_MAC]), r->mac))
			return fail(x, v[RK_MAC], p, "mac", "'%.40s' is not a MAC address (like 52:54:00:aa:bb:cc)",
				    sval(v[RK_MAC]));
		if (get_ipv4(x, v[RK_ADDRESS], p, "address", &r->addr) ||
		    check_host_addr(x, v[RK_ADDRESS], p, "address", s, r->addr))
			return x->rc;
		/* Refused, not merely recorded: an address that is both dynamic
		 * and reserved needs the RESERVED flag kept in step with the
		 * failover peer's pool balance; MAAS never writes one (its static
		 * and reserved IPs lie outside dynamic ranges), so we keep the
		 * engine simple and say so here. */
		const rd_cfg_pool_t *pl = rd_config_pool_for(s, r->addr);
		if (pl) {
			char a[16];
			fmt_ipv4(r->addr, a);
			return fail(x, v[RK_ADDRESS], p, "address",
				    "%s is inside dynamic pool %zu (line %u); reserve addresses outside the pools",
				    a, (size_t)(pl - s->pools), pl->line);
		}
		if (v[RK_HOSTNAME]) {
			if (get_str(x, v[RK_HOSTNAME], p, "hostname", 255, &r->hostname))
				return x->rc;
			for (const char *h = r->hostname; *h; h++)
				if (*h == ' ')
					return fail(x, v[RK_HOSTNAME], p, "hostname", "must not contain spaces");
		}
		mac_nodes[i] = v[RK_MAC];
		addr_nodes[i] = v[RK_ADDRESS];
		s->res_by_mac[i] = s->res_by_addr[i] = r;
		s->n_reservations = i + 1;
	}
	qsort(s->res_by_mac, cnt, sizeof(*s->res_by_mac), cmp_res_mac);
	qsort(s->res_by_addr, cnt, sizeof(*s->res_by_addr), cmp_res_addr);
	for (size_t i = 1; i < cnt; i++) {
		const rd_cfg_reservation_t *a = s->res_by_mac[i - 1], *b = s->res_by_mac[i];
		if (a->htype == b->htype && !memcmp(a->mac, b->mac, 6)) {
			size_t j = (size_t)(b - s->reservations);
			item_path(p, sizeof(p), path, "reservations", j);
			return fail(x, mac_nodes[j], p, "mac", "%s is already reserved by reservations[%zu] (line %u)",
				    sval(mac_nodes[j]), (size_t)(a - s->reservations), a->line);
		}
	}
	for (size_t i = 1; i < cnt; i++) {
		const rd_cfg_reservation_t *a = s->res_by_addr[i - 1], *b = s->res_by_addr[i];
		if (a->addr == b->addr) {
			size_t j = (size_t)(b - s->reservations);
			item_path(p, sizeof(p), path, "reservations", j);
			return fail(x, addr_nodes[j], p, "address",
				    "%s is already reserved by reservations[%zu] (line %u)", sval(addr_nodes[j]),
				    (size_t)(a - s->reservations), a->line);
		}
	}
	return 0;
}

static int parse_subnet(struct ctx *x, yaml_node_t *n, const char *path, size_t idx)
{
	rd_config_t *c = x->cfg;
	rd_cfg_subnet_t *s = &c->subnets[idx];
	yaml_node_t *v[SK_COUNT];
	char p[192];

	if (map_collect(x, n, path, NULL, subnet_keys, SK_COUNT, v))
		return x->rc;
	s->line = (unsigned)n->start_mark.line + 1;
	s->col = (unsigned)n->start_mark.column + 1;
	if (!v[SK_CIDR])
		return fail(x, n, path, "cidr", "required key missing");
	if (parse_cidr(x, v[SK_CIDR], path, s))
		return x->rc;
	for (size_t j = 0; j < idx; j++) {
		const rd_cfg_subnet_t *o = &c->subnets[j];
		uint32_t m = s->mask & o->mask; /* the shorter prefix */
		if ((s->network & m) == (o->network & m)) {
			char cs[20];
			fmt_cidr(o, cs);
			return fail(x, v[SK_CIDR], path, "cidr", "overlaps subnets[%zu] (%s, line %u)", j, cs, o->line);
		}
	}

	s->lease_time = RD_CFG_DEFAULT_LEASE_TIME;
	s->pxe_lease_time = RD_CFG_DEFAULT_PXE_LEASE_TIME;
	s->decline_hold_time = RD_CFG_DEFAULT_DECLINE_HOLD_TIME;
	s->ignore_client_ids = true;
	s->boot_http_port = RD_CFG_DEFAULT_BOOT_HTTP_PORT;
	if (get_ipv4_list(x, v[SK_ROUTERS], path, "routers", &s->routers, &s->n_routers) ||
	    get_ipv4_list(x, v[SK_DNS], path, "dns_servers", &s->dns_servers, &s->n_dns_servers) ||
	    get_ipv4_list(x, v[SK_NTP], path, "ntp_servers", &s->ntp_servers, &s->n_ntp_servers) ||
	    get_str_list(x, v[SK_SEARCH], path, "domain_search", 254, check_dns_name, &s->domain_search,
			 &s->n_domain_search) ||
	    (v[SK_DOMAIN] && get_str(x, v[SK_DOMAIN], path, "domain_name", 254, &s->domain_name)) ||
	    (v[SK_MTU] && get_u16(x, v[SK_MTU], path, "mtu", 68, 65535, &s->mtu)) ||
	    (v[SK_LEASE] && get_u32(x, v[SK_LEASE], path, "lease_time", 1, UINT32_MAX - 1, &s->lease_time)) ||
	    (v[SK_PXE_LEASE] && get_u32(x, v[SK_PXE_LEASE], path, "pxe_lease_time", 1, UINT32_MAX - 1,
					&s->pxe_lease_time)) ||
	    (v[SK_DECLINE] && get_u32(x, v[SK_DECLINE], path, "decline_hold_time", 1, UINT32_MAX - 1,
				      &s->decline_hold_time)) ||
	    (v[SK_IGNORE_CID] && get_bool(x, v[SK_IGNORE_CID], path, "ignore_client_ids", &s->ignore_client_ids)) ||
	    (v[SK_NEXT_SERVER] && get_ipv4(x, v[SK_NEXT_SERVER], path, "next_server", &s->next_server)) ||
	    (v[SK_HTTP_PORT] && get_u16(x, v[SK_HTTP_PORT], path, "boot_http_port", 1, 65535,
					&s->boot_http_port)) ||
	    get_str_list(x, v[SK_DISABLED_BOOT], path, "disabled_boot_architectures", 64, check_boot_arch,
			 &s->disabled_boot_architectures, &s->n_disabled_boot_architectures))
		return x->rc;
	if (s->domain_name && check_dns_name(s->domain_name))
		return fail(x, v[SK_DOMAIN], path, "domain_name", "'%.64s' %s", s->domain_name,
			    check_dns_name(s->domain_name));
	for (size_t i = 0; i < s->n_routers; i++) {
		yaml_node_t *rn = node(x, v[SK_ROUTERS]->data.sequence.items.start[i]);
		if (check_host_addr(x, rn, item_path(p, sizeof(p), path, "routers", i), NULL, s, s->routers[i]))
			return x->rc;
	}
	for (size_t i = 0; i < s->n_disabled_boot_architectures; i++)
		s->disabled_boot_mask |= RD_BOOT_BIT(rd_boot_method_from_name(s->disabled_boot_architectures[i]));

	/* Client-requested lease times are clamped to [min, max]; both default
	 * to lease_time, so by default every client gets lease_time, as with
	 * MAAS's default-lease-time = max-lease-time = 600. */
	/* Defaults as ISC dhcpd with MAAS's default-lease-time = max-lease-time:
	 * a client asking for longer gets lease_time, one asking for less gets
	 * at least ISC's built-in minimum of 300 s (measured live). */
	s->max_lease_time = s->lease_time;
	s->min_lease_time = s->lease_time < 300 ? s->lease_time : 300;
	if ((v[SK_MIN_LEASE] && get_u32(x, v[SK_MIN_LEASE], path, "min_lease_time", 1, UINT32_MAX - 1,
					&s->min_lease_time)) ||
	    (v[SK_MAX_LEASE] && get_u32(x, v[SK_MAX_LEASE], path, "max_lease_time", 1, UINT32_MAX - 1,
					&s->max_lease_time)))
		return x->rc;
	if (s->min_lease_time > s->lease_time)
		return fail(x, v[SK_MIN_LEASE] ? v[SK_MIN_LEASE] : v[SK_LEASE], path,
			    v[SK_MIN_LEASE] ? "min_lease_time" : "lease_time",
			    "min_lease_time %u is above lease_time %u", s->min_lease_time, s->lease_time);
	if (s->max_lease_time < s->lease_time)
		return fail(x, v[SK_MAX_LEASE] ? v[SK_MAX_LEASE] : v[SK_LEASE], path,
			    v[SK_MAX_LEASE] ? "max_lease_time" : "lease_time",
			    "max_lease_time %u is below lease_time %u", s->max_lease_time, s->lease_time);

	yaml_node_item_t *items;
	void *mem;
	size_t cnt;
	if (list_begin(x, v[SK_POOLS], path, "pools", sizeof(*s->pools), &items, &mem, &cnt))
		return x->rc;
	s->pools = mem;
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *it = list_item(x, v[SK_POOLS], path, "pools", items, i, p, sizeof(p));
		if (!it || parse_pool(x, it, p, s, &s->pools[i]))
			return x->rc;
		s->n_pools = i + 1;   /* counted as we go: overlap checks see the earlier pools */
	}
	return parse_reservations(x, v[SK_RESERVATIONS], path, s);
}

static int parse_subnets(struct ctx *x, yaml_node_t *n)
{
	rd_config_t *c = x->cfg;
	yaml_node_item_t *items;
	void *mem;
	size_t cnt;
	char p[192];

	if (list_begin(x, n, "", "subnets", sizeof(*c->subnets), &items, &mem, &cnt))
		return x->rc;
	c->subnets = mem;
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *it = list_item(x, n, "", "subnets", items, i, p, sizeof(p));
		/* counted as we go: lookups during the walk see the earlier subnets */
		if (!it || parse_subnet(x, it, p, i))
			return x->rc;
		c->n_subnets = i + 1;
	}
	return 0;
}

/* ----------------------------------------------------------------- server */

enum {
	VK_INTERFACES, VK_STATE_DIR, VK_CONTROL_SOCKET, VK_WORKERS, VK_DURABILITY, VK_USER, VK_METRICS,
	VK_LOG_LEVEL, VK_PIDFILE, VK_RATE_LIMIT, VK_LEASE_EVENTS, VK_COUNT
};
static const char *const server_keys[VK_COUNT] = {
	"interfaces", "state_dir", "control_socket", "workers", "durability", "user", "metrics",
	"log_level", "pidfile", "rate_limit", "lease_events_socket",
};

enum { LK_PER_CLIENT, LK_GLOBAL, LK_NEW_CLIENTS, LK_COUNT };
static const char *const limit_keys[LK_COUNT] = { "per_client", "global", "new_clients" };

enum { BK_RATE, BK_BURST, BK_COUNT };
static const char *const bucket_keys[BK_COUNT] = { "rate", "burst" };

/*
 * One limit of server.rate_limit.  Each key left out keeps its default,
 * except that a burst left out next to a given rate is 2 * rate: someone who
 * writes a rate means a bucket in proportion to it, not the default's.
 */
static int parse_one_limit(struct ctx *x, yaml_node_t *n, const char *name, rd_rate_t *r)
{
	yaml_node_t *v[BK_COUNT];
	char path[64];

	if (!n)
		return 0;
	if (map_collect(x, n, "server.rate_limit", name, bucket_keys, BK_COUNT, v))
		return x->rc;
	snprintf(path, sizeof(path), "server.rate_limit.%s", name);
	if (v[BK_RATE]) {
		if (get_u32(x, v[BK_RATE], path, "rate", 0, RD_CFG_MAX_RATE, &r->rate))
			return x->rc;
		r->burst = 2 * r->rate;
	}
	if (v[BK_BURST]) {
		if (get_u32(x, v[BK_BURST], path, "burst", 0, UINT32_MAX, &r->burst))
			return x->rc;
		/* A burst alone on a limit that is off by default does nothing:
		 * almost certainly a forgotten rate, so say so. */
		if (!v[BK_RATE] && !r->rate)
			return fail(x, v[BK_BURST], path, "burst",
				    "has no effect without a rate (%s is unlimited by default); give rate too", name);
		if (r->rate && !r->burst)
			return fail(x, v[BK_BURST], path, "burst",
				    "must be at least 1 while rate is %u%s (rate 0 turns the limit off)", r->rate,
				    v[BK_RATE] ? "" : ", the default");
	}
	return 0;
}

static int parse_rate_limit(struct ctx *x, yaml_node_t *n, rd_ratelimit_cfg_t *rl)
{
	yaml_node_t *v[LK_COUNT];

	rl->per_client = (rd_rate_t){ RD_CFG_DEFAULT_RL_CLIENT_RATE, RD_CFG_DEFAULT_RL_CLIENT_BURST };
	rl->global = (rd_rate_t){ RD_CFG_DEFAULT_RL_GLOBAL_RATE, RD_CFG_DEFAULT_RL_GLOBAL_BURST };
	rl->new_clients = (rd_rate_t){ RD_CFG_DEFAULT_RL_NEW_RATE, RD_CFG_DEFAULT_RL_NEW_BURST };
	if (!n)
		return 0;
	if (map_collect(x, n, "server", "rate_limit", limit_keys, LK_COUNT, v))
		return x->rc;
	if (parse_one_limit(x, v[LK_PER_CLIENT], "per_client", &rl->per_client) ||
	    parse_one_limit(x, v[LK_GLOBAL], "global", &rl->global) ||
	    parse_one_limit(x, v[LK_NEW_CLIENTS], "new_clients", &rl->new_clients))
		return x->rc;
	return 0;
}

static int parse_metrics(struct ctx *x, yaml_node_t *n, rd_cfg_server_t *sv)
{
	rd_config_t *c = x->cfg;
	if (get_str(x, n, "server", "metrics", 300, &sv->metrics))
		return x->rc;
	const char *s = sv->metrics, *host = s, *colon;
	size_t hlen;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			goto bad;
		host = s + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			goto bad;
		hlen = (size_t)(colon - s);
	}
	if (!hlen)
		goto bad;
	const char *port = colon + 1;
	size_t plen = strlen(port);
	unsigned long v = 0;
	if (!plen || plen > 5)
		goto bad;
	for (size_t i = 0; i < plen; i++) {
		if (port[i] < '0' || port[i] > '9')
			goto bad;
		v = v * 10 + (unsigned long)(port[i] - '0');
	}
	if (v < 1 || v > 65535)
		return fail(x, n, "server", "metrics", "port %lu is out of range (1..65535)", v);
	sv->metrics_port = (uint16_t)v;
	sv->metrics_host = arena_strndup(c, host, hlen);
	return sv->metrics_host ? 0 : fail_nomem(x);
bad:
	return fail(x, n, "server", "metrics", "'%.64s' is not host:port (like 127.0.0.1:9467 or [::1]:9467)", s);
}

static int parse_server(struct ctx *x, yaml_node_t *n)
{
	static const char *const durabilities[] = { "sync", "relaxed" };
	rd_cfg_server_t *sv = &x->cfg->server;
	yaml_node_t *v[VK_COUNT];
	rd_config_t *c = x->cfg;

	sv->workers = RD_CFG_DEFAULT_WORKERS;
	sv->durability = RD_DURABILITY_SYNC;
	sv->log_level = RD_LOG_INFO;
	if (n) {
		if (map_collect(x, n, "", "server", server_keys, VK_COUNT, v))
			return x->rc;
		sv->line = (unsigned)n->start_mark.line + 1;
		sv->col = (unsigned)n->start_mark.column + 1;
	} else {
		memset(v, 0, sizeof(v));
	}
	unsigned e;
	if (get_str_list(x, v[VK_INTERFACES], "server", "interfaces", 64, check_ifname, &sv->interfaces,
			 &sv->n_interfaces) ||
	    (v[VK_STATE_DIR] && get_abs_path(x, v[VK_STATE_DIR], "server", "state_dir", 4000, &sv->state_dir)) ||
	    (v[VK_CONTROL_SOCKET] && get_abs_path(x, v[VK_CONTROL_SOCKET], "server", "control_socket",
						  sizeof(((struct sockaddr_un *)0)->sun_path) - 1,
						  &sv->control_socket)) ||
	    (v[VK_PIDFILE] && get_abs_path(x, v[VK_PIDFILE], "server", "pidfile", 4000, &sv->pidfile)) ||
	    (v[VK_LEASE_EVENTS] && get_abs_path(x, v[VK_LEASE_EVENTS], "server", "lease_events_socket",
						sizeof(((struct sockaddr_un *)0)->sun_path) - 1,
						&sv->lease_events_socket)) ||
	    (v[VK_WORKERS] && get_u32(x, v[VK_WORKERS], "server", "workers", 1, RD_CFG_MAX_WORKERS,
				      &sv->workers)) ||
	    (v[VK_USER] && get_str(x, v[VK_USER], "server", "user", 32, &sv->user)) ||
	    (v[VK_METRICS] && parse_metrics(x, v[VK_METRICS], sv)) ||
	    parse_rate_limit(x, v[VK_RATE_LIMIT], &sv->rate_limit))
		return x->rc;
	if (v[VK_DURABILITY]) {
		if (get_enum(x, v[VK_DURABILITY], "server", "durability", durabilities, 2, &e))
			return x->rc;
		sv->durability = e ? RD_DURABILITY_RELAXED : RD_DURABILITY_SYNC;
	}
	if (v[VK_LOG_LEVEL]) {
		if (get_enum(x, v[VK_LOG_LEVEL], "server", "log_level", log_level_names, 4, &e))
			return x->rc;
		sv->log_level = (enum rd_cfg_log_level)e;
	}
	for (size_t i = 0; i < sv->n_interfaces; i++) {
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(sv->interfaces[i], sv->interfaces[j])) {
				char p[64];
				yaml_node_t *it = node(x, v[VK_INTERFACES]->data.sequence.items.start[i]);
				return fail(x, it, item_path(p, sizeof(p), "server", "interfaces", i), NULL,
					    "'%s' is listed twice", sv->interfaces[i]);
			}
		}
	}
	if (!sv->state_dir)
		sv->state_dir = arena_strndup(c, RD_CFG_DEFAULT_STATE_DIR, strlen(RD_CFG_DEFAULT_STATE_DIR));
	if (!sv->control_socket)
		sv->control_socket = arena_strndup(c, RD_CFG_DEFAULT_CONTROL_SOCKET,
						   strlen(RD_CFG_DEFAULT_CONTROL_SOCKET));
	if (!sv->pidfile)
		sv->pidfile = arena_strndup(c, RD_CFG_DEFAULT_PIDFILE, strlen(RD_CFG_DEFAULT_PIDFILE));
	if (!sv->state_dir || !sv->control_socket || !sv->pidfile)
		return fail_nomem(x);
	return 0;
}

/* ----------------------------------------------------------------- region */

enum { GK_URL, GK_KEY_FILE, GK_SYSTEM_ID, GK_POLL, GK_CA_FILE, GK_CONNECT_TIMEOUT, GK_TIMEOUT, GK_SOURCE, GK_COUNT };
static const char *const region_keys[GK_COUNT] = {
	"maas_url", "api_key_file", "system_id", "poll_interval", "ca_file", "connect_timeout", "timeout", "source",
};

const char *rd_config_region_source_name(enum rd_cfg_region_source s)
{
	return s == RD_REGION_SOURCE_REGION ? "region" : "merge";
}

static int parse_region(struct ctx *x, yaml_node_t *n)
{
	rd_cfg_region_t *g = &x->cfg->region;
	yaml_node_t *v[GK_COUNT];

	g->poll_interval = RD_CFG_DEFAULT_POLL_INTERVAL;
	g->connect_timeout = RD_CFG_DEFAULT_REGION_CONNECT_TIMEOUT;
	g->timeout = RD_CFG_DEFAULT_REGION_TIMEOUT;
	g->source = RD_REGION_SOURCE_MERGE;
	if (!n)
		return 0;
	if (map_collect(x, n, "", "region", region_keys, GK_COUNT, v))
		return x->rc;
	g->present = true;
	g->line = (unsigned)n->start_mark.line + 1;
	g->col = (unsigned)n->start_mark.column + 1;
	for (int k = 0; k < GK_POLL; k++)
		if (!v[k])
			return fail(x, n, "region", region_keys[k], "required key missing (the region section enables region sync)");
	if (v[GK_URL]->type == YAML_SCALAR_NODE) {
		/* one URL written without brackets: accept it as a list of one */
		g->maas_url = arena_array(x->cfg, 1, sizeof(*g->maas_url));
		if (!g->maas_url)
			return fail_nomem(x);
		if (get_str(x, v[GK_URL], "region", "maas_url", 2000, &g->maas_url[0]))
			return x->rc;
		g->n_maas_url = 1;
		if (check_url(g->maas_url[0]))
			return fail(x, v[GK_URL], "region", "maas_url", "'%.64s' %s", g->maas_url[0],
				    check_url(g->maas_url[0]));
	} else if (get_str_list(x, v[GK_URL], "region", "maas_url", 2000, check_url, &g->maas_url, &g->n_maas_url)) {
		return x->rc;
	}
	if (!g->n_maas_url)
		return fail(x, v[GK_URL], "region", "maas_url", "needs at least one URL");
	if (get_abs_path(x, v[GK_KEY_FILE], "region", "api_key_file", 4000, &g->api_key_file) ||
	    get_str(x, v[GK_SYSTEM_ID], "region", "system_id", 64, &g->system_id) ||
	    (v[GK_POLL] && get_u32(x, v[GK_POLL], "region", "poll_interval", 1, 86400, &g->poll_interval)) ||
	    (v[GK_CA_FILE] && get_abs_path(x, v[GK_CA_FILE], "region", "ca_file", 4000, &g->ca_file)) ||
	    (v[GK_CONNECT_TIMEOUT] && get_u32(x, v[GK_CONNECT_TIMEOUT], "region", "connect_timeout", 1, 600,
					      &g->connect_timeout)) ||
	    (v[GK_TIMEOUT] && get_u32(x, v[GK_TIMEOUT], "region", "timeout", 1, 3600, &g->timeout)))
		return x->rc;
	if (v[GK_SOURCE]) {
		static const char *const sources[] = { "merge", "region" };
		unsigned src;
		if (get_enum(x, v[GK_SOURCE], "region", "source", sources, 2, &src))
			return x->rc;
		g->source = src ? RD_REGION_SOURCE_REGION : RD_REGION_SOURCE_MERGE;
	}
	if (g->connect_timeout > g->timeout)
		return fail(x, v[GK_CONNECT_TIMEOUT] ? v[GK_CONNECT_TIMEOUT] : v[GK_TIMEOUT], "region", "connect_timeout",
			    "%u s is longer than region.timeout (%u s), which bounds the whole request",
			    g->connect_timeout, g->timeout);
	return 0;
}

/* ------------------------------------------------------------------- top */

enum { TK_SERVER, TK_SUBNETS, TK_FAILOVER, TK_REGION, TK_COUNT };
static const char *const top_keys[TK_COUNT] = { "server", "subnets", "failover", "region" };

/*
 * Refuse anchors/aliases: in libyaml's document model an alias is a second
 * reference to a node, so a node referenced twice (or the root referenced at
 * all) means one was used.
 */
static bool ref_once(uint8_t *refs, size_t count, int id)
{
	return id >= 1 && (size_t)id <= count && refs[id]++ == 0;
}

static int check_no_alias(struct ctx *x)
{
	yaml_document_t *d = x->doc;
	size_t count = (size_t)(d->nodes.top - d->nodes.start);
	uint8_t *refs = calloc(count + 1, 1);

	if (!refs)
		return fail_nomem(x);
	if (count)
		refs[1] = 1;    /* the root: any reference to it is an alias */
	for (yaml_node_t *n = d->nodes.start; n < d->nodes.top && !x->rc; n++) {
		/* report at the key whose value is the alias, or at the list */
		yaml_node_t *at = NULL;
		if (n->type == YAML_SEQUENCE_NODE) {
			for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
				if (!ref_once(refs, count, *i)) {
					at = n;
					break;
				}
		} else if (n->type == YAML_MAPPING_NODE) {
			for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
				if (!ref_once(refs, count, p->key) || !ref_once(refs, count, p->value)) {
					at = node(x, p->key);
					if (!at)
						at = n;
					break;
				}
		}
		if (at)
			fail(x, at, "yaml", NULL, "anchors and aliases (&name / *name) are not supported; "
			     "write the value out");
	}
	free(refs);
	return x->rc;
}

static int parse_document(struct ctx *x)
{
	yaml_node_t *root = yaml_document_get_root_node(x->doc);
	yaml_node_t *v[TK_COUNT];

	if (check_no_alias(x))
		return x->rc;
	if (!root || is_null(root)) {
		memset(v, 0, sizeof(v));
	} else if (root->type != YAML_MAPPING_NODE) {
		return fail(x, root, "top level", NULL,
			    "expected a mapping with server, subnets, failover, region; found %s", node_kind(root));
	} else if (map_collect(x, root, "", "", top_keys, TK_COUNT, v)) {
		return x->rc;
	}
	/* failover first: pools refer to peers by name */
	if (parse_failovers(x, v[TK_FAILOVER]) || parse_subnets(x, v[TK_SUBNETS]) ||
	    parse_server(x, v[TK_SERVER]) || parse_region(x, v[TK_REGION]))
		return x->rc;
	return 0;
}

static int yaml_fail(struct ctx *x, yaml_parser_t *p)
{
	if (p->error == YAML_MEMORY_ERROR)
		return fail_nomem(x);
	yaml_node_t fake;
	memset(&fake, 0, sizeof(fake));
	fake.start_mark = p->problem_mark;
	if (p->context)
		return fail(x, &fake, "syntax", NULL, "%s %s (line %u)", p->problem ? p->problem : "error",
			    p->context, (unsigned)p->context_mark.line + 1);
	return fail(x, &fake, "syntax", NULL, "%s", p->problem ? p->problem : "invalid YAML");
}

int rd_config_parse(const char *text, size_t len, const char *filename, rd_config_t **out,
		    char *err, size_t errlen)
{
	struct ctx x = { .file = filename ? filename : "<config>", .err = err, .errlen = errlen };
	yaml_parser_t parser;
	yaml_document_t doc;

	if (err && errlen)
		err[0] = '\0';
	if (!out || (!text && len))
		return RD_EINVAL;
	*out = NULL;
	x.cfg = calloc(1, sizeof(*x.cfg));
	if (!x.cfg)
		return fail_nomem(&x);
	x.cfg->filename = arena_strndup(x.cfg, x.file, strlen(x.file));
	if (!x.cfg->filename) {
		rd_config_free(x.cfg);
		return fail_nomem(&x);
	}
	if (!yaml_parser_initialize(&parser)) {
		rd_config_free(x.cfg);
		return fail_nomem(&x);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)(text ? text : ""), len);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_fail(&x, &parser);
	} else {
		x.doc = &doc;
		parse_document(&x);
		yaml_document_delete(&doc);
		if (!x.rc) {
			/* A second document would be silently ignored: refuse it. */
			yaml_document_t extra;
			if (!yaml_parser_load(&parser, &extra)) {
				yaml_fail(&x, &parser);
			} else {
				yaml_node_t *r = yaml_document_get_root_node(&extra);
				if (r)
					fail(&x, r, "syntax", NULL, "a second YAML document ('---'); only one is read");
				yaml_document_delete(&extra);
			}
		}
	}
	yaml_parser_delete(&parser);
	if (x.rc) {
		rd_config_free(x.cfg);
		return x.rc;
	}
	*out = x.cfg;
	return 0;
}

int rd_config_load(const char *path, rd_config_t **out, char *err, size_t errlen)
{
	FILE *fp;
	struct stat st;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !out)
		return RD_EINVAL;
	*out = NULL;
	fp = fopen(path, "rb");
	if (!fp) {
		rc = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)RD_CFG_MAX_FILE_SIZE) {
		fclose(fp);
		if (err && errlen)
			snprintf(err, errlen, "%s: not a regular file of at most %u bytes", path,
				 RD_CFG_MAX_FILE_SIZE);
		return RD_EINVAL;
	}
	size_t size = (size_t)st.st_size;
	char *buf = malloc(size ? size : 1);
	if (!buf) {
		fclose(fp);
		return RD_ENOMEM;
	}
	size_t got = fread(buf, 1, size, fp);
	if (got != size || ferror(fp)) {
		free(buf);
		fclose(fp);
		if (err && errlen)
			snprintf(err, errlen, "%s: read error", path);
		return -EIO;
	}
	fclose(fp);
	rc = rd_config_parse(buf, size, path, out, err, errlen);
	free(buf);
	return rc;
}

/* ---------------------------------------------------------------- lookups */

const rd_cfg_subnet_t *rd_config_subnet_for(const rd_config_t *c, uint32_t addr)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n_subnets; i++)
		if (in_subnet(&c->subnets[i], addr))
			return &c->subnets[i];
	return NULL;
}

const rd_cfg_pool_t *rd_config_pool_for(const rd_cfg_subnet_t *s, uint32_t addr)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_pools; i++)
		if (addr >= s->pools[i].start && addr <= s->pools[i].end)
			return &s->pools[i];
	return NULL;
}

const rd_cfg_reservation_t *rd_config_reservation_by_mac(const rd_config_t *c, const rd_cfg_subnet_t *s,
							  uint8_t htype, const uint8_t *mac, uint8_t hlen)
{
	(void)c;
	if (!s || !mac || htype != 1 || hlen != 6)
		return NULL;
	size_t lo = 0, hi = s->n_reservations;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const rd_cfg_reservation_t *r = s->res_by_mac[mid];
		int d = r->htype != htype ? (r->htype < htype ? -1 : 1) : memcmp(r->mac, mac, 6);
		if (!d)
			return r;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const rd_cfg_reservation_t *rd_config_reservation_by_addr(const rd_config_t *c, uint32_t addr)
{
	const rd_cfg_subnet_t *s = rd_config_subnet_for(c, addr);
	if (!s)
		return NULL;
	size_t lo = 0, hi = s->n_reservations;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const rd_cfg_reservation_t *r = s->res_by_addr[mid];
		if (r->addr == addr)
			return r;
		if (r->addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const rd_cfg_failover_t *rd_config_failover(const rd_config_t *c, const char *name)
{
	if (!c || !name)
		return NULL;
	for (size_t i = 0; i < c->n_failovers; i++)
		if (!strcmp(c->failovers[i].name, name))
			return &c->failovers[i];
	return NULL;
}

bool rd_config_failover_same(const rd_cfg_failover_t *a, const rd_cfg_failover_t *b)
{
	return !strcmp(a->name, b->name) && a->role == b->role && a->address == b->address &&
	       a->port == b->port && a->peer_address == b->peer_address && a->peer_port == b->peer_port &&
	       a->mclt == b->mclt && a->has_split == b->has_split && a->has_hba == b->has_hba &&
	       a->split == b->split && !memcmp(a->hba, b->hba, sizeof(a->hba)) &&
	       a->max_response_delay == b->max_response_delay &&
	       a->max_unacked_updates == b->max_unacked_updates &&
	       a->load_balance_max_seconds == b->load_balance_max_seconds &&
	       a->auto_partner_down == b->auto_partner_down &&
	       a->ack_after_peer == b->ack_after_peer &&  /* it sets the window we announce */
	       a->min_balance == b->min_balance && a->max_balance == b->max_balance &&
	       a->max_lease_misbalance == b->max_lease_misbalance &&
	       a->max_lease_ownership == b->max_lease_ownership;
}

/* ------------------------------------------------------------- publishing */

static rd_config_t *current_config;     /* RCU-protected */
static uint64_t last_generation;        /* under publish_lock */
static pthread_mutex_t publish_lock = PTHREAD_MUTEX_INITIALIZER;

rd_config_t *rd_config_current(void)
{
	return rcu_dereference(current_config);
}

void rd_config_publish(rd_config_t *c)
{
	pthread_mutex_lock(&publish_lock);
	if (c)
		c->generation = ++last_generation;
	rd_config_t *old = rcu_xchg_pointer(&current_config, c);
	/* synchronize_rcu rather than call_rcu: reloads are rare, the caller
	 * (the control thread) can afford to wait, and the old snapshot is gone
	 * when we return, so nothing is left for a call_rcu thread at exit. */
	synchronize_rcu();
	pthread_mutex_unlock(&publish_lock);
	rd_config_free(old);
}

uint64_t rd_config_generation(void)
{
	pthread_mutex_lock(&publish_lock);
	uint64_t g = last_generation;
	pthread_mutex_unlock(&publish_lock);
	return g;
}
