/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * isc_import.c — `rackdhcpctl import-isc`: ISC dhcpd's dhcpd.conf (as MAAS
 * renders it) to our YAML, and dhcpd.leases to lease versions in a new store.
 *
 * Both files share ISC's lexical rules, so one tokenizer and one generic
 * statement tree serve both: a statement is the tokens up to ';', or up to
 * '{' followed by a block of statements and '}' (if/elsif/else and `on
 * commit { }` fit that shape too).  The converter then walks the tree with
 * what MAAS writes in mind (maas-integration.md §1) and reports every
 * statement it does not turn into YAML, with its line.  The facts about the
 * formats come from ISC's documentation and failover-protocol.md §7.3.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/config.h"
#include "rackdhcp/error.h"
#include "rackdhcp/fmt.h"
#include "rackdhcp/fo_state.h"
#include "rackdhcp/isc_import.h"
#include "rackdhcp/lease.h"
#include "rackdhcp/store.h"

/* Deep nesting is never MAAS's output; the bound keeps the recursive parser's stack small. */
#define MAX_DEPTH 32

/* ------------------------------------------------------------ buffer */

/* ------------------------------------------------------------ tokens and statements */

enum tk { T_EOF, T_WORD, T_STR, T_LBRACE, T_RBRACE, T_SEMI, T_PUNCT };

struct tok {
	enum tk kind;
	unsigned line;
	char *s;            /* NUL-terminated copy; strings decoded (may hold NULs: use len) */
	size_t len;
};

struct stmt {
	unsigned line;
	struct tok *t;
	size_t nt;
	bool block;
	struct stmt *kids;
	size_t nkids;
};

struct lexer {
	const char *p, *end, *file;
	unsigned line;
	char *err;
	size_t errlen;
};

static int lex_err(struct lexer *lx, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int lex_err(struct lexer *lx, unsigned line, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return rd_errf(lx->err, lx->errlen, RD_EMALFORMED, "%s:%u: %s", lx->file, line, what);
}

static bool is_special(char c)
{
	return c == '{' || c == '}' || c == ';' || c == ',' || c == '"' || c == '=' || c == '(' || c == ')' ||
	       c == '!' || c == '&' || c == '|' || c == '~';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int lex_next(struct lexer *lx, struct tok *t)
{
	memset(t, 0, sizeof(*t));
	for (;;) {
		while (lx->p < lx->end && is_space(*lx->p)) {
			if (*lx->p == '\n')
				lx->line++;
			lx->p++;
		}
		if (lx->p < lx->end && *lx->p == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
			continue;
		}
		break;
	}
	t->line = lx->line;
	if (lx->p >= lx->end) {
		t->kind = T_EOF;
		return 0;
	}
	char c = *lx->p;
	const char *start = lx->p;
	if (c == '"') {
		/* decoded length never exceeds the raw length */
		const char *q = lx->p + 1;
		size_t cap = 16;
		char *out = malloc(cap);
		size_t n = 0;
		if (!out)
			return RD_ENOMEM;
		for (;;) {
			if (q >= lx->end) {
				free(out);
				return lex_err(lx, t->line, "string not terminated");
			}
			char ch = *q++;
			if (ch == '"')
				break;
			if (ch == '\n')
				lx->line++;
			if (ch == '\\' && q < lx->end) {
				char e = *q++;
				if (e >= '0' && e <= '7') {
					unsigned v = (unsigned)(e - '0');
					for (int k = 0; k < 2 && q < lx->end && *q >= '0' && *q <= '7'; k++)
						v = v * 8 + (unsigned)(*q++ - '0');
					ch = (char)(v & 255);
				} else if (e == 'x') {
					unsigned v = 0;
					int k = 0;
					for (; k < 2 && q < lx->end; k++) {
						char h = *q;
						unsigned d = h >= '0' && h <= '9' ? (unsigned)(h - '0')
							: h >= 'a' && h <= 'f' ? (unsigned)(h - 'a' + 10)
							: h >= 'A' && h <= 'F' ? (unsigned)(h - 'A' + 10) : 16;
						if (d == 16)
							break;
						v = v * 16 + d;
						q++;
					}
					ch = (char)v;
				} else if (e == 'n') {
					ch = '\n';
				} else if (e == 't') {
					ch = '\t';
				} else if (e == 'r') {
					ch = '\r';
				} else {
					if (e == '\n')
						lx->line++;
					ch = e;
				}
			}
			if (n + 2 > cap) {
				cap *= 2;
				char *np = realloc(out, cap);
				if (!np) {
					free(out);
					return RD_ENOMEM;
				}
				out = np;
			}
			out[n++] = ch;
		}
		out[n] = '\0';
		lx->p = q;
		t->kind = T_STR;
		t->s = out;
		t->len = n;
		return 0;
	}
	if (c == '{' || c == '}' || c == ';' || is_special(c)) {
		lx->p++;
		t->kind = c == '{' ? T_LBRACE : c == '}' ? T_RBRACE : c == ';' ? T_SEMI : T_PUNCT;
	} else {
		while (lx->p < lx->end && !is_space(*lx->p) && !is_special(*lx->p))
			lx->p++;
		t->kind = T_WORD;
	}
	t->len = (size_t)(lx->p - start);
	t->s = malloc(t->len + 1);
	if (!t->s)
		return RD_ENOMEM;
	memcpy(t->s, start, t->len);
	t->s[t->len] = '\0';
	return 0;
}

static void stmts_free(struct stmt *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < s[i].nt; k++)
			free(s[i].t[k].s);
		free(s[i].t);
		stmts_free(s[i].kids, s[i].nkids);
	}
	free(s);
}

/*
 * Parse statements until '}' (depth > 0) or the end (depth 0).  open_line
 * is where the enclosing block began, for the "not closed" message.
 */
static int parse_block(struct lexer *lx, int depth, unsigned open_line, struct stmt **out, size_t *nout)
{
	struct stmt *v = NULL;
	size_t n = 0, cap = 0;
	struct tok t;
	int rc;

	*out = NULL;
	*nout = 0;
	for (;;) {
		if ((rc = lex_next(lx, &t)) < 0)
			goto fail;
		if (t.kind == T_EOF) {
			if (depth) {
				rc = lex_err(lx, open_line, "block opened here is not closed with '}'");
				goto fail;
			}
			break;
		}
		if (t.kind == T_RBRACE) {
			free(t.s);
			if (!depth) {
				rc = lex_err(lx, t.line, "'}' without a matching '{'");
				goto fail;
			}
			break;
		}
		if (t.kind == T_SEMI) {
			free(t.s);
			continue;
		}
		if (t.kind == T_LBRACE) {
			free(t.s);
			rc = lex_err(lx, t.line, "'{' without a statement before it");
			goto fail;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			struct stmt *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(t.s);
				rc = RD_ENOMEM;
				goto fail;
			}
			v = nv;
		}
		struct stmt *s = &v[n++];
		memset(s, 0, sizeof(*s));
		s->line = t.line;
		size_t tcap = 0;
		for (;;) {
			if (t.kind == T_EOF) {
				rc = lex_err(lx, s->line, "statement not ended with ';'");
				goto fail;
			}
			if (t.kind == T_RBRACE) {
				free(t.s);
				rc = lex_err(lx, t.line, "missing ';' before '}'");
				goto fail;
			}
			if (t.kind == T_SEMI) {
				free(t.s);
				break;
			}
			if (t.kind == T_LBRACE) {
				free(t.s);
				if (depth + 1 >= MAX_DEPTH) {
					rc = lex_err(lx, t.line, "blocks nested more than %d deep", MAX_DEPTH);
					goto fail;
				}
				s->block = true;
				if ((rc = parse_block(lx, depth + 1, t.line, &s->kids, &s->nkids)) < 0)
					goto fail;
				break;
			}
			if (s->nt == tcap) {
				tcap = tcap ? tcap * 2 : 8;
				struct tok *nt = realloc(s->t, tcap * sizeof(*nt));
				if (!nt) {
					free(t.s);
					rc = RD_ENOMEM;
					goto fail;
				}
				s->t = nt;
			}
			s->t[s->nt++] = t;
			if ((rc = lex_next(lx, &t)) < 0)
				goto fail;
		}
	}
	*out = v;
	*nout = n;
	return 0;
fail:
	stmts_free(v, n);
	return rc;
}

/* ------------------------------------------------------------ small parsers */

static bool word_is(const struct stmt *s, size_t i, const char *w)
{
	return i < s->nt && s->t[i].kind == T_WORD && !strcmp(s->t[i].s, w);
}

static bool parse_ip(const char *s, uint32_t *out)
{
	uint32_t a = 0;
	int parts = 0;
	const char *p = s;
	while (parts < 4) {
		unsigned v = 0, digits = 0;
		while (*p >= '0' && *p <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*p++ - '0');
			digits++;
		}
		if (!digits || digits > 3 || v > 255)
			return false;
		a = a << 8 | v;
		parts++;
		if (parts < 4 && *p++ != '.')
			return false;
	}
	if (*p)
		return false;
	*out = a;
	return true;
}

static bool parse_u32(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* ISC colon-hex ("52:54:0:aa:bb:cc": ISC allows 1-digit octets); returns bytes or -1. */
static int parse_colon_hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	for (;;) {
		int h = hexval(*s);
		if (h < 0 || n >= cap)
			return -1;
		unsigned v = (unsigned)h;
		s++;
		if (hexval(*s) >= 0)
			v = v * 16 + (unsigned)hexval(*s++);
		out[n++] = (uint8_t)v;
		if (!*s)
			return (int)n;
		if (*s++ != ':')
			return -1;
	}
}

static void ipstr(uint32_t a, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255);
}

/* ------------------------------------------------------------ the converter's state */

struct ipool {
	unsigned line;
	uint32_t start, end;
	const char *peer;   /* into the tree */
};

struct ires {
	unsigned line;
	uint8_t mac[6];
	uint32_t addr;
	const char *host;
	size_t host_len;
};

/* Subnet-level settings, inherited global -> shared-network -> subnet (ISC scoping). */
struct scope {
	const struct stmt *routers, *dns, *ntp, *search, *domain;
	bool has_lease, has_max, has_min;
	uint32_t lease, max, min;
	uint32_t mtu;
	uint32_t next_server;
	int ignore_uids;    /* -1 unset */
};

struct isub {
	unsigned line;
	uint32_t net, mask;
	unsigned prefix;
	const char *shared;         /* shared-network name, or NULL */
	struct scope sc;
	bool has_chain;
	uint32_t boot_seen;         /* bit per boot_names[] entry */
	struct ipool *pools;
	size_t npools;
	struct ires *res;
	size_t nres;
};

struct ifo {
	const struct stmt *s;
	const char *name;
	int role;                   /* -1 unset */
	uint32_t addr, peer;
	uint32_t port, peer_port, mclt, split, mrd, mau, lbms, apd;
	bool has_port, has_peer_port, has_mclt, has_split, has_mrd, has_mau, has_lbms, has_apd;
	const char *hba;
	bool used;
};

struct host {
	const struct stmt *s;
};

/* One report line; sorted by file and line before it is written. */
struct rent {
	unsigned file, line;
	size_t seq;
	char *text;
};

struct conv {
	const char *file;
	unsigned file_no;           /* 0 dhcpd.conf, 1 dhcpd.leases: the report's order */
	char *err;
	size_t errlen;
	struct rent *rep;
	size_t nrep;
	bool rep_oom;
	rd_gbuf_t fo_comment;
	size_t not_converted;
	struct isub *subs;
	size_t nsubs;
	struct ifo *fos;
	size_t nfos;
	const struct stmt **hosts;
	size_t nhosts;
	uint32_t pxe_lease_time;    /* 0: no PXE class seen */
	uint32_t now;               /* the import's time: STOS of a state record without `at` */
	int rc;                     /* first hard error */
};

/* The boot methods the MAAS chain can hold, by our YAML names (docs/config.md). */
static const char *const boot_names[] = {
	"ipxe", "onie", "pxe", "uefi_amd64_tftp", "uefi_amd64_http", "uefi_ebc_tftp", "uefi_arm64_tftp",
	"uefi_arm64_http", "open-firmware_ppc64el", "powernv", "s390x", "s390x_partition",
};
#define N_BOOT (sizeof(boot_names) / sizeof(boot_names[0]))
static const struct { unsigned arch; unsigned idx; } arch_map[] = {
	{ 0x00, 2 }, { 0x07, 3 }, { 0x10, 4 }, { 0x09, 5 }, { 0x0b, 6 }, { 0x13, 7 },
	{ 0x0c, 8 }, { 0x0e, 9 }, { 0x1f, 10 }, { 0x20, 11 },
};

static int conv_fail(struct conv *c, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int conv_fail(struct conv *c, unsigned line, const char *fmt, ...)
{
	char what[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!c->rc)
		c->rc = rd_errf(c->err, c->errlen, RD_EMALFORMED, "%s:%u: %s", c->file, line, what);
	return c->rc;
}

static void report(struct conv *c, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report(struct conv *c, unsigned line, const char *fmt, ...)
{
	char what[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	size_t n = strlen(c->file) + strlen(what) + 16;
	char *t = malloc(n);
	struct rent *nr = realloc(c->rep, (c->nrep + 1) * sizeof(*nr));
	if (!t || !nr) {
		free(t);
		if (nr)
			c->rep = nr;
		c->rep_oom = true;
		return;
	}
	c->rep = nr;
	snprintf(t, n, "%s:%u: %s\n", c->file, line, what);
	c->rep[c->nrep] = (struct rent){ .file = c->file_no, .line = line, .seq = c->nrep, .text = t };
	c->nrep++;
}

static int cmp_rent(const void *a, const void *b)
{
	const struct rent *x = a, *y = b;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The statement as text, shortened, for a report line. */
static void stmt_text(const struct stmt *s, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < s->nt && n + 1 < cap; i++) {
		const struct tok *t = &s->t[i];
		bool glue = t->kind == T_PUNCT && (t->s[0] == ',' || t->s[0] == ')');
		int w;
		if (t->kind == T_STR) {
			char clean[64];
			size_t k = 0;
			for (size_t j = 0; j < t->len && k + 1 < sizeof(clean); j++)
				clean[k++] = t->s[j] >= 0x20 && t->s[j] < 0x7f ? t->s[j] : '?';
			clean[k] = '\0';
			w = snprintf(out + n, cap - n, "%s\"%s%s\"", i ? " " : "", clean, t->len >= sizeof(clean) ? "..." : "");
		} else {
			w = snprintf(out + n, cap - n, "%s%s", i && !glue ? " " : "", t->s);
		}
		if (w < 0)
			break;
		n += (size_t)w;
	}
	if (n >= cap)
		n = cap - 1;
	if (s->block && n + 8 < cap)
		snprintf(out + n, cap - n, " { ... }");
	else if (!s->block && n + 2 < cap)
		snprintf(out + n, cap - n, ";");
	if (n + 1 >= cap && cap > 4)
		memcpy(out + cap - 4, "...", 4);
}

static void not_converted(struct conv *c, const struct stmt *s, const char *why)
{
	char text[160];
	stmt_text(s, text, sizeof(text));
	report(c, s->line, "not converted: %s%s%s", text, why ? " -- " : "", why ? why : "");
	c->not_converted++;
}

/* ------------------------------------------------------------ dhcpd.conf */

/* "a, b, c" of addresses after `option NAME`; false (and a hard error) if one is not an IPv4 literal. */
static bool ip_list(struct conv *c, const struct stmt *s, size_t from, uint32_t *out, size_t cap, size_t *n)
{
	*n = 0;
	bool want = true;
	for (size_t i = from; i < s->nt; i++) {
		const struct tok *t = &s->t[i];
		if (!want && t->kind == T_PUNCT && t->s[0] == ',') {
			want = true;
			continue;
		}
		uint32_t a;
		if (!want || t->kind != T_WORD || !parse_ip(t->s, &a)) {
			conv_fail(c, s->line, "'%s': expected a list of IPv4 addresses (host names are not supported)",
				  t->s);
			return false;
		}
		if (*n < cap)
			out[(*n)++] = a;
		want = false;
	}
	if (want) {
		conv_fail(c, s->line, "expected an IPv4 address");
		return false;
	}
	return true;
}

static bool one_u32(struct conv *c, const struct stmt *s, size_t at, uint32_t *v)
{
	if (s->nt != at + 1 || s->t[at].kind != T_WORD || !parse_u32(s->t[at].s, v)) {
		conv_fail(c, s->line, "%s: expected one whole number", s->t[0].s);
		return false;
	}
	return true;
}

static bool one_ip(struct conv *c, const struct stmt *s, size_t at, uint32_t *v)
{
	if (s->nt != at + 1 || s->t[at].kind != T_WORD || !parse_ip(s->t[at].s, v)) {
		conv_fail(c, s->line, "%s: expected one IPv4 address", s->t[0].s);
		return false;
	}
	return true;
}

/* MAAS's option definitions (§1.2): our server knows these options natively. */
static bool known_option_def(const struct stmt *s)
{
	static const char *const names[] = {
		"arch", "path-prefix", "ipxe.http", "ipxe.bzimage", "ipxe.efi", "ipxe-encap-opts",
		"onie.installer_url", "onie.updater_url", "onie.machine", "onie.arch", "onie.machine_rev",
		"onie-encap-opts", "vivso", NULL,
	};
	if (word_is(s, 0, "option") && word_is(s, 1, "space") && s->nt >= 3 &&
	    (!strcmp(s->t[2].s, "ipxe") || !strcmp(s->t[2].s, "onie")))
		return true;
	if (!word_is(s, 0, "option") || s->nt < 4 || !word_is(s, 2, "code"))
		return false;
	for (int i = 0; names[i]; i++)
		if (!strcmp(s->t[1].s, names[i]))
			return true;
	return false;
}

/* Statements valid in any scope that set subnet-level values.  True if s was one (handled or failed). */
static bool scope_stmt(struct conv *c, const struct stmt *s, struct scope *sc, const struct isub *sub)
{
	uint32_t v, ips[256];
	size_t n;
	if (s->block || !s->nt)
		return false;
	const char *w = s->t[0].s;
	if (!strcmp(w, "default-lease-time") || !strcmp(w, "max-lease-time") || !strcmp(w, "min-lease-time")) {
		if (!one_u32(c, s, 1, &v))
			return true;
		if (w[1] == 'e') {
			sc->has_lease = true;
			sc->lease = v;
		} else if (w[1] == 'a') {
			sc->has_max = true;
			sc->max = v;
		} else {
			sc->has_min = true;
			sc->min = v;
		}
		return true;
	}
	if (!strcmp(w, "next-server")) {
		one_ip(c, s, 1, &sc->next_server);
		return true;
	}
	if (!strcmp(w, "ignore-client-uids")) {
		if (s->nt == 2 && (!strcmp(s->t[1].s, "true") || !strcmp(s->t[1].s, "on")))
			sc->ignore_uids = 1;
		else if (s->nt == 2 && (!strcmp(s->t[1].s, "false") || !strcmp(s->t[1].s, "off")))
			sc->ignore_uids = 0;
		else
			conv_fail(c, s->line, "ignore-client-uids: expected true or false");
		return true;
	}
	if (strcmp(w, "option") || s->nt < 2 || word_is(s, 2, "code"))
		return false;
	const char *o = s->t[1].s;
	if (!strcmp(o, "routers") || !strcmp(o, "domain-name-servers") || !strcmp(o, "ntp-servers")) {
		if (ip_list(c, s, 2, ips, 256, &n)) {
			if (n > 255)
				conv_fail(c, s->line, "option %s: more than 255 addresses", o);
			else
				*(o[0] == 'r' ? &sc->routers : o[0] == 'd' ? &sc->dns : &sc->ntp) = s;
		}
		return true;
	}
	if (!strcmp(o, "domain-name")) {
		if (s->nt != 3 || s->t[2].kind != T_STR || !s->t[2].len || strlen(s->t[2].s) != s->t[2].len)
			conv_fail(c, s->line, "option domain-name: expected one quoted name");
		else
			sc->domain = s;
		return true;
	}
	if (!strcmp(o, "domain-search")) {
		for (size_t i = 2; i < s->nt; i++)
			if ((i % 2 == 0 && (s->t[i].kind != T_STR || strlen(s->t[i].s) != s->t[i].len)) ||
			    (i % 2 == 1 && (s->t[i].kind != T_PUNCT || s->t[i].s[0] != ','))) {
				conv_fail(c, s->line, "option domain-search: expected quoted names separated by ','");
				return true;
			}
		if (s->nt < 3 || s->nt % 2 == 0)
			conv_fail(c, s->line, "option domain-search: expected quoted names separated by ','");
		else
			sc->search = s;
		return true;
	}
	if (!strcmp(o, "interface-mtu")) {
		if (one_u32(c, s, 2, &v))
			sc->mtu = v;
		return true;
	}
	if (sub && (!strcmp(o, "subnet-mask") || !strcmp(o, "broadcast-address"))) {
		/* implied by the CIDR; only a value that disagrees is worth telling */
		uint32_t want = o[0] == 's' ? sub->mask : (sub->net | ~sub->mask);
		if (!one_ip(c, s, 2, &v))
			return true;
		if (v != want)
			not_converted(c, s, "rackdhcpd derives it from the subnet's prefix");
		return true;
	}
	return false;
}

/* The method a boot-chain condition selects, or -1. */
static int chain_method(const struct stmt *s, size_t from)
{
	for (size_t i = from; i < s->nt; i++) {
		const struct tok *t = &s->t[i];
		if (strstr(t->s, "onie"))
			return 1;
		if (t->kind == T_WORD && !strcmp(t->s, "user-class")) {
			/* `option user-class = "iPXE"`; a bare `exists user-class` says nothing yet */
			for (size_t k = i + 1; k < s->nt && k < i + 4; k++)
				if (s->t[k].kind == T_STR)
					return !strcmp(s->t[k].s, "iPXE") ? 0 : 1;
			continue;
		}
		if (t->kind == T_WORD && !strcmp(t->s, "arch") && i + 2 < s->nt && s->t[i + 1].kind == T_PUNCT &&
		    s->t[i + 1].s[0] == '=') {
			uint8_t b[4];
			int nb = parse_colon_hex(s->t[i + 2].s, b, sizeof(b));
			if (nb != 2)
				return -1;
			unsigned a = (unsigned)b[0] << 8 | b[1];
			for (size_t k = 0; k < sizeof(arch_map) / sizeof(arch_map[0]); k++)
				if (arch_map[k].arch == a)
					return (int)arch_map[k].idx;
			return -1;
		}
	}
	return -1;
}

static void conv_pool(struct conv *c, const struct stmt *p, struct isub *sub)
{
	const char *peer = NULL;
	size_t first = sub->npools;
	for (size_t i = 0; i < p->nkids && !c->rc; i++) {
		const struct stmt *s = &p->kids[i];
		if (word_is(s, 0, "failover") && word_is(s, 1, "peer") && !s->block) {
			if (s->nt != 3 || s->t[2].kind != T_STR)
				conv_fail(c, s->line, "failover peer: expected a quoted name");
			else
				peer = s->t[2].s;
		}
	}
	for (size_t i = 0; i < p->nkids && !c->rc; i++) {
		const struct stmt *s = &p->kids[i];
		if (word_is(s, 0, "failover") && word_is(s, 1, "peer") && !s->block)
			continue;
		if (word_is(s, 0, "range") && !s->block) {
			size_t at = 1;
			if (word_is(s, 1, "dynamic-bootp")) {
				at = 2;
				not_converted(c, s, "BOOTP clients are not served from this range");
			}
			uint32_t a, b;
			if (s->nt == at + 1 && parse_ip(s->t[at].s, &a)) {
				b = a;
			} else if (s->nt != at + 2 || !parse_ip(s->t[at].s, &a) || !parse_ip(s->t[at + 1].s, &b)) {
				conv_fail(c, s->line, "range: expected two IPv4 addresses");
				return;
			}
			struct ipool *np = realloc(sub->pools, (sub->npools + 1) * sizeof(*np));
			if (!np) {
				c->rc = RD_ENOMEM;
				return;
			}
			sub->pools = np;
			sub->pools[sub->npools++] = (struct ipool){ .line = s->line, .start = a < b ? a : b,
								    .end = a < b ? b : a, .peer = peer };
			continue;
		}
		not_converted(c, s, "pool-level statement");
	}
	if (!c->rc && sub->npools == first)
		not_converted(c, p, "pool without a range");
}

static void conv_subnet(struct conv *c, const struct stmt *s, const struct scope *parent, const char *shared)
{
	uint32_t net, mask;
	if (s->nt != 4 || !word_is(s, 2, "netmask") || !parse_ip(s->t[1].s, &net) || !parse_ip(s->t[3].s, &mask) ||
	    !s->block) {
		conv_fail(c, s->line, "expected: subnet A.B.C.D netmask M.M.M.M { ... }");
		return;
	}
	unsigned prefix = 0;
	while (prefix < 32 && (mask & (1u << (31 - prefix))))
		prefix++;
	if ((prefix < 32 && (mask << prefix)) ) {
		conv_fail(c, s->line, "netmask %s is not contiguous", s->t[3].s);
		return;
	}
	struct isub *ns = realloc(c->subs, (c->nsubs + 1) * sizeof(*ns));
	if (!ns) {
		c->rc = RD_ENOMEM;
		return;
	}
	c->subs = ns;
	size_t idx = c->nsubs++;
	c->subs[idx] = (struct isub){ .line = s->line, .net = net, .mask = mask, .prefix = prefix,
				      .shared = shared, .sc = *parent };
	bool in_chain = false;
	for (size_t i = 0; i < s->nkids && !c->rc; i++) {
		const struct stmt *k = &s->kids[i];
		struct isub *sub = &c->subs[idx];   /* c->subs does not move below, but keep it local */
		if (scope_stmt(c, k, &sub->sc, sub)) {
			in_chain = false;
			continue;
		}
		if (word_is(k, 0, "pool") && k->block && k->nt == 1) {
			conv_pool(c, k, sub);
			in_chain = false;
			continue;
		}
		if (word_is(k, 0, "range") && !k->block) {
			struct stmt fake = { .line = k->line, .block = true, .kids = (struct stmt *)k, .nkids = 1,
					     .t = NULL, .nt = 0 };
			conv_pool(c, &fake, sub);
			in_chain = false;
			continue;
		}
		if (word_is(k, 0, "host") && k->block) {
			const struct stmt **nh = realloc(c->hosts, (c->nhosts + 1) * sizeof(*nh));
			if (!nh) {
				c->rc = RD_ENOMEM;
				return;
			}
			c->hosts = nh;
			c->hosts[c->nhosts++] = k;
			continue;
		}
		if (k->block && (word_is(k, 0, "if") || word_is(k, 0, "elsif") || word_is(k, 0, "else"))) {
			bool starts = word_is(k, 0, "if");
			if (!starts && !in_chain) {
				not_converted(c, k, "branch without an 'if'");
				continue;
			}
			if (starts && sub->has_chain) {
				not_converted(c, k, "a second conditional; only MAAS's boot chain is understood");
				continue;
			}
			int m = word_is(k, 0, "else") && k->nt == 1 ? 2 : chain_method(k, 1);
			if (m < 0) {
				not_converted(c, k, "boot-chain branch with a condition rackdhcpd does not know");
			} else {
				sub->has_chain = true;
				sub->boot_seen |= 1u << m;
			}
			in_chain = true;
			continue;
		}
		in_chain = false;
		if (word_is(k, 0, "option") && word_is(k, 1, "dhcp6.sntp-servers")) {
			not_converted(c, k, "IPv6 NTP servers have no DHCPv4 option");
			continue;
		}
		not_converted(c, k, "subnet-level statement");
	}
	if (!c->rc && !c->subs[idx].has_chain)
		not_converted(c, s, "no boot chain in this subnet: rackdhcpd will still answer network boot "
				    "(list boot methods under disabled_boot_architectures to turn it off)");
}

static void conv_failover(struct conv *c, const struct stmt *s)
{
	if (s->nt != 3 || s->t[2].kind != T_STR || !s->t[2].len || strlen(s->t[2].s) != s->t[2].len || !s->block) {
		conv_fail(c, s->line, "expected: failover peer \"NAME\" { ... }");
		return;
	}
	for (size_t i = 0; i < c->nfos; i++)
		if (!strcmp(c->fos[i].name, s->t[2].s)) {
			conv_fail(c, s->line, "failover peer \"%s\" declared twice (first at line %u)", s->t[2].s,
				  c->fos[i].s->line);
			return;
		}
	struct ifo f = { .s = s, .name = s->t[2].s, .role = -1 };
	for (size_t i = 0; i < s->nkids && !c->rc; i++) {
		const struct stmt *k = &s->kids[i];
		if (k->block) {
			not_converted(c, k, "failover peer block");
			continue;
		}
		if (word_is(k, 0, "primary") && k->nt == 1) {
			f.role = RD_FO_PRIMARY;
		} else if (word_is(k, 0, "secondary") && k->nt == 1) {
			f.role = RD_FO_SECONDARY;
		} else if (word_is(k, 0, "address")) {
			one_ip(c, k, 1, &f.addr);
		} else if (word_is(k, 0, "peer") && word_is(k, 1, "address")) {
			one_ip(c, k, 2, &f.peer);
		} else if (word_is(k, 0, "port")) {
			f.has_port = one_u32(c, k, 1, &f.port);
		} else if (word_is(k, 0, "peer") && word_is(k, 1, "port")) {
			f.has_peer_port = one_u32(c, k, 2, &f.peer_port);
		} else if (word_is(k, 0, "mclt")) {
			f.has_mclt = one_u32(c, k, 1, &f.mclt);
		} else if (word_is(k, 0, "split")) {
			f.has_split = one_u32(c, k, 1, &f.split);
		} else if (word_is(k, 0, "hba")) {
			if (k->nt != 2)
				conv_fail(c, k->line, "hba: expected 32 colon-separated octets");
			else
				f.hba = k->t[1].s;
		} else if (word_is(k, 0, "max-response-delay")) {
			f.has_mrd = one_u32(c, k, 1, &f.mrd);
		} else if (word_is(k, 0, "max-unacked-updates")) {
			f.has_mau = one_u32(c, k, 1, &f.mau);
		} else if (word_is(k, 0, "load") && word_is(k, 1, "balance") && word_is(k, 2, "max") &&
			   word_is(k, 3, "seconds")) {
			f.has_lbms = one_u32(c, k, 4, &f.lbms);
		} else if (word_is(k, 0, "auto-partner-down")) {
			f.has_apd = one_u32(c, k, 1, &f.apd);
		} else {
			not_converted(c, k, "failover peer setting");
		}
	}
	if (c->rc)
		return;
	if (f.role < 0) {
		conv_fail(c, s->line, "failover peer \"%s\": neither primary nor secondary", f.name);
		return;
	}
	if (!f.addr || !f.peer) {
		conv_fail(c, s->line, "failover peer \"%s\": address and peer address are required", f.name);
		return;
	}
	struct ifo *nf = realloc(c->fos, (c->nfos + 1) * sizeof(*nf));
	if (!nf) {
		c->rc = RD_ENOMEM;
		return;
	}
	c->fos = nf;
	c->fos[c->nfos++] = f;
}

static void conv_class(struct conv *c, const struct stmt *s)
{
	/* MAAS's class "PXE": vendor-class-identifier starting with PXE gets a short lease */
	bool match = false;
	uint32_t lease = 0, v;
	if (s->nt == 2 && s->t[1].kind == T_STR && !strcmp(s->t[1].s, "PXE")) {
		for (size_t i = 0; i < s->nkids; i++) {
			const struct stmt *k = &s->kids[i];
			if (word_is(k, 0, "match") && word_is(k, 1, "if")) {
				bool vci = false, pxe = false;
				for (size_t j = 2; j < k->nt; j++) {
					vci |= k->t[j].kind == T_WORD && !strcmp(k->t[j].s, "vendor-class-identifier");
					pxe |= k->t[j].kind == T_STR && !strcmp(k->t[j].s, "PXE");
				}
				match = vci && pxe;
				if (!match)
					break;
			} else if ((word_is(k, 0, "default-lease-time") || word_is(k, 0, "max-lease-time")) &&
				   k->nt == 2 && parse_u32(k->t[1].s, &v) && v) {
				if (!lease || word_is(k, 0, "default-lease-time"))
					lease = v;
			} else if (!word_is(k, 0, "min-lease-time")) {
				match = false;
				break;
			}
		}
	}
	if (match && lease) {
		c->pxe_lease_time = lease;
		return;
	}
	not_converted(c, s, "only MAAS's class \"PXE\" (vendor-class-identifier prefix PXE, lease time) is understood");
}

static void conv_block(struct conv *c, const struct stmt *v, size_t n, struct scope *sc, const char *shared, int depth);

static void conv_stmt(struct conv *c, const struct stmt *s, struct scope *sc, const char *shared, int depth)
{
	if (word_is(s, 0, "include")) {
		conv_fail(c, s->line, "include is not supported: put the included file's text in its place");
		return;
	}
	if (scope_stmt(c, s, sc, NULL))
		return;
	if (!s->block && known_option_def(s))
		return;
	if (word_is(s, 0, "failover") && word_is(s, 1, "peer")) {
		conv_failover(c, s);
		return;
	}
	if (word_is(s, 0, "subnet")) {
		conv_subnet(c, s, sc, shared);
		return;
	}
	if (word_is(s, 0, "shared-network") && s->block && !shared && depth == 0 && s->nt == 2) {
		struct scope inner = *sc;
		size_t before = c->nsubs;
		conv_block(c, s->kids, s->nkids, &inner, s->t[1].s, depth + 1);
		if (!c->rc && c->nsubs == before)
			not_converted(c, s, "shared-network without an IPv4 subnet");
		return;
	}
	if (word_is(s, 0, "host") && s->block) {
		const struct stmt **nh = realloc(c->hosts, (c->nhosts + 1) * sizeof(*nh));
		if (!nh) {
			c->rc = RD_ENOMEM;
			return;
		}
		c->hosts = nh;
		c->hosts[c->nhosts++] = s;
		return;
	}
	if (word_is(s, 0, "class") && s->block && depth == 0) {
		conv_class(c, s);
		return;
	}
	if (word_is(s, 0, "on") && s->block) {
		not_converted(c, s, "lease-event hook: rackdhcpd sends MAAS's lease events itself");
		return;
	}
	if (word_is(s, 0, "option") && word_is(s, 1, "dhcp6.sntp-servers")) {
		not_converted(c, s, "IPv6 NTP servers have no DHCPv4 option");
		return;
	}
	not_converted(c, s, NULL);
}

static void conv_block(struct conv *c, const struct stmt *v, size_t n, struct scope *sc, const char *shared, int depth)
{
	/*
	 * ISC applies a scope's settings to every subnet in it wherever they are
	 * written, so take them first, then the subnets.
	 */
	for (size_t i = 0; i < n && !c->rc; i++)
		if (!word_is(&v[i], 0, "subnet") && !word_is(&v[i], 0, "shared-network"))
			conv_stmt(c, &v[i], sc, shared, depth);
	for (size_t i = 0; i < n && !c->rc; i++)
		if (word_is(&v[i], 0, "subnet") || word_is(&v[i], 0, "shared-network"))
			conv_stmt(c, &v[i], sc, shared, depth);
}

static struct isub *subnet_for(struct conv *c, uint32_t a)
{
	for (size_t i = 0; i < c->nsubs; i++)
		if ((a & c->subs[i].mask) == c->subs[i].net)
			return &c->subs[i];
	return NULL;
}

static void conv_host(struct conv *c, const struct stmt *h)
{
	uint8_t mac[6];
	bool have_mac = false;
	uint32_t addrs[64];
	size_t naddr = 0;
	const char *host = NULL;
	size_t host_len = 0;

	if (h->nt != 2) {
		conv_fail(c, h->line, "expected: host NAME { ... }");
		return;
	}
	for (size_t i = 0; i < h->nkids && !c->rc; i++) {
		const struct stmt *k = &h->kids[i];
		if (word_is(k, 0, "hardware") && !k->block) {
			if (k->nt != 3 || !word_is(k, 1, "ethernet") || parse_colon_hex(k->t[2].s, mac, 6) != 6) {
				not_converted(c, h, "only 'hardware ethernet' with 6 octets is supported");
				return;
			}
			have_mac = true;
		} else if (word_is(k, 0, "fixed-address") && !k->block) {
			if (!ip_list(c, k, 1, addrs, 64, &naddr))
				return;
		} else if (word_is(k, 0, "option") && word_is(k, 1, "host-name") && k->nt == 3 &&
			   k->t[2].kind == T_STR) {
			host = k->t[2].s;
			host_len = k->t[2].len;
		} else {
			not_converted(c, k, "host-level statement");
		}
	}
	if (c->rc)
		return;
	if (!have_mac || !naddr) {
		not_converted(c, h, "host without both 'hardware ethernet' and 'fixed-address'");
		return;
	}
	if (!host) {
		/* the declaration's name, as ISC uses it with use-host-decl-names */
		host = h->t[1].s;
		host_len = h->t[1].len;
	}
	bool bad = !host_len || host_len > 255 || strlen(host) != host_len;
	for (size_t i = 0; i < host_len && !bad; i++)
		bad = host[i] == ' ' || (unsigned char)host[i] < 0x21 || host[i] == 0x7f;
	if (bad)
		host = NULL;
	for (size_t i = 0; i < naddr; i++) {
		char ip[16];
		ipstr(addrs[i], ip);
		struct isub *sub = subnet_for(c, addrs[i]);
		if (!sub) {
			char why[96];
			snprintf(why, sizeof(why), "fixed-address %s is in no subnet of this file", ip);
			not_converted(c, h, why);
			continue;
		}
		bool dup = false;
		for (size_t p = 0; p < sub->npools && !dup; p++)
			if (addrs[i] >= sub->pools[p].start && addrs[i] <= sub->pools[p].end) {
				char why[112];
				snprintf(why, sizeof(why), "fixed-address %s lies in a dynamic range, which rackdhcpd refuses", ip);
				not_converted(c, h, why);
				dup = true;
			}
		for (size_t r = 0; r < sub->nres && !dup; r++)
			if (!memcmp(sub->res[r].mac, mac, 6) || sub->res[r].addr == addrs[i]) {
				char why[112];
				snprintf(why, sizeof(why), "duplicate of the reservation at line %u (same %s)", sub->res[r].line,
					 sub->res[r].addr == addrs[i] ? "address" : "MAC in this subnet");
				not_converted(c, h, why);
				dup = true;
			}
		if (dup)
			continue;
		struct ires *nr = realloc(sub->res, (sub->nres + 1) * sizeof(*nr));
		if (!nr) {
			c->rc = RD_ENOMEM;
			return;
		}
		sub->res = nr;
		struct ires *r = &sub->res[sub->nres++];
		*r = (struct ires){ .line = h->line, .addr = addrs[i], .host = host, .host_len = host ? host_len : 0 };
		memcpy(r->mac, mac, 6);
	}
}

/* ------------------------------------------------------------ YAML */

static void y_iplist(rd_gbuf_t *y, const char *key, const struct stmt *s)
{
	uint32_t a[256];
	size_t n = 0;
	char ip[16];
	if (!s)
		return;
	bool want = true;
	for (size_t i = 2; i < s->nt && n < 256; i++) {
		if (!want) {
			want = true;
			continue;
		}
		if (parse_ip(s->t[i].s, &a[n]))
			n++;
		want = false;
	}
	rd_gbuf_printf(y, "    %s: [", key);
	for (size_t i = 0; i < n; i++) {
		ipstr(a[i], ip);
		rd_gbuf_printf(y, "%s%s", i ? ", " : "", ip);
	}
	rd_gbuf_str(y, "]\n");
}

static void emit_yaml(struct conv *c, rd_gbuf_t *y, const char *conf_name, const char *leases_name)
{
	char ip[16], ip2[16];
	rd_gbuf_printf(y, "# rackdhcpd configuration converted from ISC dhcpd by 'rackdhcpctl import-isc'\n"
		    "# from %s%s%s.\n#\n", conf_name, leases_name ? " and " : "", leases_name ? leases_name : "");
	rd_gbuf_str(y, "# The server section is left for the operator: set server.interfaces,\n"
		 "# server.state_dir (the directory holding the imported leases.db), user,\n"
		 "# metrics and so on (docs/config.md).  Check import-report.txt for every\n"
		 "# construct of the ISC file that was not converted.\n");
	if (c->fo_comment.len) {
		rd_gbuf_str(y, "#\n# Failover state ISC recorded in its lease file, and what leases.db's\n"
			 "# failover_state table holds for it (rackdhcpd starts from that):\n");
		rd_gbuf_mem(y, c->fo_comment.p, c->fo_comment.len);
	}
	if (c->nfos)
		rd_gbuf_str(y, "\nfailover:\n");
	for (size_t i = 0; i < c->nfos; i++) {
		const struct ifo *f = &c->fos[i];
		rd_gbuf_str(y, "  - name: ");
		rd_gbuf_yaml_quoted(y, f->name, strlen(f->name), true);
		ipstr(f->addr, ip);
		ipstr(f->peer, ip2);
		rd_gbuf_printf(y, "\n    role: %s\n    address: %s\n    port: %u\n    peer_address: %s\n    peer_port: %u\n",
			 f->role == RD_FO_PRIMARY ? "primary" : "secondary", ip,
			 f->has_port ? f->port : RD_CFG_DEFAULT_FAILOVER_PORT, ip2,
			 f->has_peer_port ? f->peer_port : RD_CFG_DEFAULT_FAILOVER_PORT);
		if (f->has_mclt)
			rd_gbuf_printf(y, "    mclt: %u\n", f->mclt);
		/* a split or hba on a secondary is an ISC error; ISC would not have started */
		if (f->has_split)
			rd_gbuf_printf(y, "    split: %u\n", f->split);
		if (f->hba) {
			rd_gbuf_str(y, "    hba: ");
			rd_gbuf_yaml_quoted(y, f->hba, strlen(f->hba), true);
			rd_gbuf_str(y, "\n");
		}
		/*
		 * ISC's built-in defaults differ from ours (20 s, 100, 0 = no load
		 * balancing): write what ISC was really doing when the file said nothing.
		 */
		rd_gbuf_printf(y, "    max_response_delay: %u\n    max_unacked_updates: %u\n    load_balance_max_seconds: %u\n",
			 f->has_mrd ? f->mrd : 20, f->has_mau ? f->mau : 100, f->has_lbms ? f->lbms : 0);
		if (f->has_apd)
			rd_gbuf_printf(y, "    auto_partner_down: %u\n", f->apd);
	}
	rd_gbuf_str(y, c->nsubs ? "\nsubnets:\n" : "\nsubnets: []\n");
	for (size_t i = 0; i < c->nsubs; i++) {
		const struct isub *s = &c->subs[i];
		const struct scope *sc = &s->sc;
		ipstr(s->net, ip);
		char shared[64] = "";
		if (s->shared) {
			/* a YAML comment: printable ASCII only */
			size_t k = 0;
			for (const char *q = s->shared; *q && k + 1 < sizeof(shared); q++)
				shared[k++] = (unsigned char)*q > 0x20 && (unsigned char)*q < 0x7f ? *q : '?';
			shared[k] = '\0';
		}
		rd_gbuf_printf(y, "  # from line %u%s%s\n  - cidr: %s/%u\n", s->line, s->shared ? ", shared-network " : "", shared,
			 ip, s->prefix);
		y_iplist(y, "routers", sc->routers);
		y_iplist(y, "dns_servers", sc->dns);
		if (sc->domain) {
			rd_gbuf_str(y, "    domain_name: ");
			rd_gbuf_yaml_quoted(y, sc->domain->t[2].s, sc->domain->t[2].len, true);
			rd_gbuf_str(y, "\n");
		}
		if (sc->search) {
			rd_gbuf_str(y, "    domain_search: [");
			for (size_t k = 2; k < sc->search->nt; k += 2) {
				if (k > 2)
					rd_gbuf_str(y, ", ");
				rd_gbuf_yaml_quoted(y, sc->search->t[k].s, sc->search->t[k].len, true);
			}
			rd_gbuf_str(y, "]\n");
		}
		y_iplist(y, "ntp_servers", sc->ntp);
		if (sc->mtu)
			rd_gbuf_printf(y, "    mtu: %u\n", sc->mtu);
		/* ISC without default-lease-time grants 43200 s; with only max, min(43200, max) */
		uint32_t lease = sc->has_lease ? sc->lease : 43200;
		if (sc->has_max && sc->max < lease) {
			/* ISC caps the default at max-lease-time; our file requires lease_time <= max */
			if (sc->has_lease)
				report(c, s->line, "default-lease-time %u is above max-lease-time %u: lease_time %u written",
				       sc->lease, sc->max, sc->max);
			lease = sc->max;
		}
		if (sc->has_min && sc->min > lease) {
			report(c, s->line, "min-lease-time %u is above the lease time %u: min_lease_time %u written",
			       sc->min, lease, lease);
		}
		rd_gbuf_printf(y, "    lease_time: %u\n", lease);
		if (sc->has_min)
			rd_gbuf_printf(y, "    min_lease_time: %u\n", sc->min > lease ? lease : sc->min);
		rd_gbuf_printf(y, "    max_lease_time: %u\n", sc->has_max ? sc->max : (lease > 86400 ? lease : 86400));
		if (c->pxe_lease_time)
			rd_gbuf_printf(y, "    pxe_lease_time: %u\n", c->pxe_lease_time);
		rd_gbuf_printf(y, "    ignore_client_ids: %s\n", sc->ignore_uids == 1 ? "true" : "false");
		if (sc->next_server) {
			ipstr(sc->next_server, ip);
			rd_gbuf_printf(y, "    next_server: %s\n", ip);
		}
		if (s->has_chain) {
			bool any = false;
			for (size_t m = 0; m < N_BOOT; m++)
				if (!(s->boot_seen & (1u << m))) {
					rd_gbuf_printf(y, "%s%s", any ? ", " : "    disabled_boot_architectures: [", boot_names[m]);
					any = true;
				}
			if (any)
				rd_gbuf_str(y, "]\n");
		}
		if (s->npools)
			rd_gbuf_str(y, "    pools:\n");
		for (size_t p = 0; p < s->npools; p++) {
			ipstr(s->pools[p].start, ip);
			ipstr(s->pools[p].end, ip2);
			rd_gbuf_printf(y, "      - range: %s-%s\n", ip, ip2);
			if (s->pools[p].peer) {
				rd_gbuf_str(y, "        failover_peer: ");
				rd_gbuf_yaml_quoted(y, s->pools[p].peer, strlen(s->pools[p].peer), true);
				rd_gbuf_str(y, "\n");
			}
		}
		if (s->nres)
			rd_gbuf_str(y, "    reservations:\n");
		for (size_t r = 0; r < s->nres; r++) {
			const struct ires *rs = &s->res[r];
			ipstr(rs->addr, ip);
			rd_gbuf_printf(y, "      - {mac: \"%02x:%02x:%02x:%02x:%02x:%02x\", address: %s", rs->mac[0], rs->mac[1],
				 rs->mac[2], rs->mac[3], rs->mac[4], rs->mac[5], ip);
			if (rs->host) {
				rd_gbuf_str(y, ", hostname: ");
				rd_gbuf_yaml_quoted(y, rs->host, rs->host_len, true);
			}
			rd_gbuf_str(y, "}\n");
		}
	}
}

/* ------------------------------------------------------------ dhcpd.leases */

static const char *const state_names[8] = {
	NULL, "free", "active", "expired", "released", "abandoned", "reset", "backup",
};

/* `W YYYY/MM/DD HH:MM:SS`, `never` or `epoch N` from token `at`; 1: ok (*v set). */
static bool lease_time(const struct stmt *s, size_t at, uint32_t *v)
{
	if (s->nt == at + 1 && word_is(s, at, "never")) {
		*v = 0;
		return true;
	}
	if (s->nt == at + 2 && word_is(s, at, "epoch"))
		return parse_u32(s->t[at + 1].s, v);
	if (s->nt != at + 3)
		return false;
	int y, mo, d, h, mi, sec;
	char tail;
	uint32_t wd;
	if (!parse_u32(s->t[at].s, &wd) || wd > 6)
		return false;
	if (sscanf(s->t[at + 1].s, "%4d/%2d/%2d%c", &y, &mo, &d, &tail) != 3 ||
	    sscanf(s->t[at + 2].s, "%2d:%2d:%2d%c", &h, &mi, &sec, &tail) != 3)
		return false;
	if (y < 1970 || y > 2106 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    sec < 0 || sec > 60)
		return false;
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec };
	time_t t = timegm(&tm);
	if (t < 0 || (uint64_t)t > UINT32_MAX)
		return false;
	*v = (uint32_t)t;
	return true;
}

struct lrec {
	rd_lease_t *l;
	size_t order;
	unsigned line;
};

struct lconv {
	const char *file;
	struct conv *c;
	struct lrec *v;
	size_t n, cap;
};

static int lease_fail(struct lconv *lc, unsigned line, const char *what, const char *tok)
{
	return conv_fail(lc->c, line, "%s '%s'", what, tok);
}

static void lease_note(struct lconv *lc, const struct stmt *s, const char *why)
{
	(void)lc->file;
	not_converted(lc->c, s, why);
}

static int conv_lease(struct lconv *lc, const struct stmt *s)
{
	uint32_t addr;
	if (s->nt != 2 || !parse_ip(s->t[1].s, &addr))
		return lease_fail(lc, s->line, "lease: expected an IPv4 address, got", s->nt > 1 ? s->t[1].s : "");
	uint32_t starts = 0, ends = 0, tstp = 0, tsfp = 0, atsfp = 0, cltt = 0;
	int state = -1;
	uint8_t mac[16], cid[255];
	int hlen = 0;
	size_t cid_len = 0;
	const char *host = NULL;
	size_t host_len = 0;
	uint16_t flags = 0;

	for (size_t i = 0; i < s->nkids; i++) {
		const struct stmt *k = &s->kids[i];
		const char *w = k->nt ? k->t[0].s : "";
		uint32_t *tp = !strcmp(w, "starts") ? &starts : !strcmp(w, "ends") ? &ends : !strcmp(w, "tstp") ? &tstp
			: !strcmp(w, "tsfp") ? &tsfp : !strcmp(w, "atsfp") ? &atsfp : !strcmp(w, "cltt") ? &cltt : NULL;
		if (k->block) {
			lease_note(lc, k, "lease-level block");
		} else if (tp) {
			if (!lease_time(k, 1, tp))
				return lease_fail(lc, k->line, "expected a date (W YYYY/MM/DD HH:MM:SS, never or epoch N) after", w);
		} else if (word_is(k, 0, "binding") && word_is(k, 1, "state") && k->nt == 3) {
			state = -1;
			for (int st = 1; st < 8; st++)
				if (!strcmp(k->t[2].s, state_names[st]))
					state = st;
			if (state < 0)
				return lease_fail(lc, k->line, "unknown binding state", k->t[2].s);
		} else if ((word_is(k, 0, "next") || word_is(k, 0, "rewind")) && word_is(k, 1, "binding")) {
			/* ISC's pending transition; rackdhcpd recomputes it from the times */
		} else if (word_is(k, 0, "hardware")) {
			if (k->nt != 3 || !word_is(k, 1, "ethernet") || (hlen = parse_colon_hex(k->t[2].s, mac, 16)) != 6) {
				lease_note(lc, k, "only 'hardware ethernet' with 6 octets is imported");
				hlen = 0;
			}
		} else if (word_is(k, 0, "uid")) {
			int n = -1;
			if (k->nt == 2 && k->t[1].kind == T_STR && k->t[1].len <= 255) {
				memcpy(cid, k->t[1].s, k->t[1].len);
				n = (int)k->t[1].len;
			} else if (k->nt == 2 && k->t[1].kind == T_WORD) {
				n = parse_colon_hex(k->t[1].s, cid, sizeof(cid));
			}
			if (n <= 0)
				return lease_fail(lc, k->line, "uid: expected a quoted string or colon-separated octets, got",
						  k->nt > 1 ? k->t[1].s : "");
			cid_len = (size_t)n;
		} else if (word_is(k, 0, "client-hostname") && k->nt == 2 && k->t[1].kind == T_STR) {
			host = k->t[1].s;
			host_len = k->t[1].len;
			if (host_len > RD_LEASE_MAX_HOSTNAME || strlen(host) != host_len) {
				lease_note(lc, k, "hostname too long or holding a NUL byte");
				host = NULL;
				host_len = 0;
			}
		} else if (word_is(k, 0, "reserved") && k->nt == 1) {
			flags |= RD_LEASE_F_RESERVED;
		} else if (word_is(k, 0, "dynamic-bootp") && k->nt == 1) {
			flags |= RD_LEASE_F_BOOTP;
		} else if (word_is(k, 0, "abandoned") && k->nt == 1) {
			state = RD_LEASE_ABANDONED;
		} else if (word_is(k, 0, "set") || word_is(k, 0, "ddns-fwd-name") || word_is(k, 0, "ddns-rev-name") ||
			   word_is(k, 0, "ddns-client-fqdn") || word_is(k, 0, "ddns-txt")) {
			/* client variables (vendor-class-identifier, ...): rackdhcpd keeps none */
		} else {
			lease_note(lc, k, "lease-level statement");
		}
	}
	if (state < 0)
		state = ends && cltt ? RD_LEASE_ACTIVE : RD_LEASE_FREE;   /* pre-failover files carry no binding state */
	rd_lease_t *l = rd_lease_new(addr, cid_len ? cid : NULL, cid_len, host, host_len);
	if (!l)
		return lc->c->rc = RD_ENOMEM;
	l->starts = starts;
	l->ends = ends;
	l->tstp = tstp;
	l->tsfp = tsfp;
	l->atsfp = atsfp;
	l->cltt = cltt;
	l->state = (uint8_t)state;
	l->flags = flags;
	if (hlen == 6) {
		l->htype = 1;
		l->hlen = 6;
		memcpy(l->chaddr, mac, 6);
	}
	/* the store's own rules, so one odd record is reported instead of failing the import */
	rd_store_row_t row;
	rd_lease_t *check = NULL;
	rd_diag_t d;
	rd_diag_clear(&d);
	rd_store_lease_to_row(l, &row);
	int rc = rd_store_row_to_lease(&row, &check, &d);
	rd_lease_free(check);
	if (rc == RD_ENOMEM) {
		rd_lease_free(l);
		return lc->c->rc = RD_ENOMEM;
	}
	if (rc < 0) {
		lease_note(lc, s, d.reason);
		rd_lease_free(l);
		return 0;
	}
	if (lc->n == lc->cap) {
		size_t cap = lc->cap ? lc->cap * 2 : 64;
		struct lrec *nv = realloc(lc->v, cap * sizeof(*nv));
		if (!nv) {
			rd_lease_free(l);
			return lc->c->rc = RD_ENOMEM;
		}
		lc->v = nv;
		lc->cap = cap;
	}
	lc->v[lc->n] = (struct lrec){ .l = l, .order = lc->n, .line = s->line };
	lc->n++;
	return 0;
}

static const char *fo_state_name(const struct stmt *s)
{
	return s->nt > 2 && s->t[2].kind == T_STR ? s->t[2].s : "?";
}

/*
 * One `failover peer "X" state { }` record as read.  ISC applies the records
 * in file order, each setting only what it holds, so the relationship's
 * state is the last value of each field (usually all from the last record).
 */
struct fo_rec {
	const struct stmt *s;
	size_t order;               /* in the file */
	bool has_my, has_partner, has_mclt;
	uint8_t my, partner;
	uint32_t my_at, partner_at, mclt;
};

/* by relationship, then file order */
static int cmp_fo_rec(const void *a, const void *b)
{
	const struct fo_rec *x = a, *y = b;
	int d = strcmp(fo_state_name(x->s), fo_state_name(y->s));
	return d ? d : x->order < y->order ? -1 : x->order > y->order;
}

/* `my state X [at DATE]` / `partner state X [at DATE]` (a missing date is the import's time, as in ISC) */
static bool fo_state_stmt(struct conv *c, const struct stmt *k, uint8_t *st, uint32_t *at)
{
	if (k->nt < 3 || !word_is(k, 1, "state") || k->t[2].kind != T_WORD) {
		conv_fail(c, k->line, "failover state record: expected '%s state NAME [at DATE];'", k->t[0].s);
		return false;
	}
	int v = rd_fo_state_parse(k->t[2].s);
	if (v < 0) {
		conv_fail(c, k->line, "failover state record: unknown state '%s'", k->t[2].s);
		return false;
	}
	*st = (uint8_t)v;
	if (k->nt == 3) {
		*at = c->now;
		return true;
	}
	if (!word_is(k, 3, "at") || !lease_time(k, 4, at) || *at == 0) {
		conv_fail(c, k->line, "failover state record: expected 'at' and a date (W YYYY/MM/DD HH:MM:SS or "
			  "epoch N) after '%s'", k->t[2].s);
		return false;
	}
	return true;
}

/* Read one record; false (and a hard error by line) if it is not what ISC itself would read. */
static bool fo_rec_parse(struct conv *c, const struct stmt *s, struct fo_rec *r)
{
	*r = (struct fo_rec){ .s = s };
	if (s->nt != 4 || s->t[2].kind != T_STR || !s->t[2].len || strlen(s->t[2].s) != s->t[2].len) {
		conv_fail(c, s->line, "expected: failover peer \"NAME\" state { ... }");
		return false;
	}
	for (size_t i = 0; i < s->nkids; i++) {
		const struct stmt *k = &s->kids[i];
		if (k->block || !k->nt) {
			conv_fail(c, k->line, "failover state record: unexpected block");
			return false;
		}
		if (word_is(k, 0, "my")) {
			if (!fo_state_stmt(c, k, &r->my, &r->my_at))
				return false;
			r->has_my = true;
		} else if (word_is(k, 0, "partner")) {
			if (!fo_state_stmt(c, k, &r->partner, &r->partner_at))
				return false;
			r->has_partner = true;
		} else if (word_is(k, 0, "mclt")) {
			if (k->nt != 2 || !parse_u32(k->t[1].s, &r->mclt)) {
				conv_fail(c, k->line, "failover state record: mclt: expected a number of seconds");
				return false;
			}
			r->has_mclt = true;
		} else {
			conv_fail(c, k->line, "failover state record: expected 'my state', 'partner state' or 'mclt', "
				  "got '%s'", k->t[0].s);
			return false;
		}
	}
	return true;
}

/* What ISC's `my state` becomes in our store: the rules are in isc_import.h. */
static uint8_t fo_state_map(uint8_t isc, bool *stored, const char **why)
{
	*stored = true;
	*why = NULL;
	switch (isc) {
	case RD_FO_ST_PARTNER_DOWN:
		*why = "partner-down is never carried over (the file may be old): rackdhcpd serves its own "
		       "free addresses until 'rackdhcpctl failover partner-down' or auto-partner-down";
		return RD_FO_ST_COMM_INTERRUPTED;
	case RD_FO_ST_RECOVER_WAIT:
	case RD_FO_ST_RECOVER_DONE:
	case RD_FO_ST_SHUTDOWN:
		*why = "the partner's bindings are fetched again";
		return RD_FO_ST_RECOVER;
	case RD_FO_ST_STARTUP:
	case RD_FO_ST_UNKNOWN:
		*stored = false;
		*why = "rackdhcpd starts over in recover, as a new server does";
		return isc;
	default:
		return isc;
	}
}

static void utc_time(uint32_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, cap, "epoch %u", t);
}

/*
 * The relationship's state from its records r[0..n) (file order): one
 * entry of out->fo_states, a report line, a summary line and a YAML comment.
 */
static void conv_fo_state(struct lconv *lc, const struct fo_rec *r, size_t n, rd_isc_import_t *out,
			  rd_gbuf_t *sum)
{
	struct conv *c = lc->c;
	const struct stmt *last = r[n - 1].s;
	const char *name = fo_state_name(last);
	const struct ifo *f = NULL;
	for (size_t i = 0; i < c->nfos && !f; i++)
		if (!strcmp(c->fos[i].name, name))
			f = &c->fos[i];
	if (!f) {
		not_converted(c, last, "no failover peer of that name in the configuration: its state is not imported");
		return;
	}
	rd_isc_fo_state_t fs = { .line = last->line };
	snprintf(fs.st.name, sizeof(fs.st.name), "%s", name);
	bool has_my = false, has_partner = false, has_mclt = false;
	uint32_t my_at = 0, partner_at = 0, mclt = 0;
	uint8_t partner = RD_FO_ST_UNKNOWN;
	for (size_t i = 0; i < n; i++) {
		if (r[i].has_my) {
			has_my = true;
			fs.isc_state = r[i].my;
			my_at = r[i].my_at;
		}
		if (r[i].has_partner) {
			has_partner = true;
			partner = r[i].partner;
			partner_at = r[i].partner_at;
		}
		if (r[i].has_mclt) {
			has_mclt = true;
			mclt = r[i].mclt;
		}
	}
	char line[640], t1[40], t2[40];
	int len;
	if (!has_my) {
		len = snprintf(line, sizeof(line), "failover peer \"%s\": no 'my state' in %zu state record%s: not imported "
			       "(rackdhcpd starts over in recover, as a new server does)", name, n, n == 1 ? "" : "s");
	} else {
		const char *why;
		uint8_t st = fo_state_map(fs.isc_state, &fs.stored, &why);
		utc_time(my_at, t1, sizeof(t1));
		utc_time(has_partner ? partner_at : my_at, t2, sizeof(t2));
		len = snprintf(line, sizeof(line), "failover peer \"%s\": my state %s since %s, partner %s since %s",
			       name, rd_fo_state_keyword(fs.isc_state), t1, rd_fo_state_keyword(partner), t2);
		if (has_mclt)
			len += snprintf(line + len, sizeof(line) - (size_t)len, ", mclt %u", mclt);
		len += snprintf(line + len, sizeof(line) - (size_t)len, " (%zu state record%s): ", n, n == 1 ? "" : "s");
		if (!fs.stored)
			snprintf(line + len, sizeof(line) - (size_t)len, "not imported: %s", why);
		else if (st != fs.isc_state)
			snprintf(line + len, sizeof(line) - (size_t)len, "imported as %s: %s", rd_fo_state_keyword(st), why);
		else
			snprintf(line + len, sizeof(line) - (size_t)len, "imported as %s", rd_fo_state_keyword(st));
		if (fs.stored) {
			if (strlen(name) >= sizeof(fs.st.name)) {
				fs.stored = false;
				snprintf(line + len, sizeof(line) - (size_t)len, "not imported: the name is longer than %zu bytes",
					 sizeof(fs.st.name) - 1);
			} else {
				fs.st.state = st;
				fs.st.stos = my_at;
				fs.st.partner = partner;
				fs.st.partner_stos = has_partner ? partner_at : my_at;
				/* the secondary learns the MCLT from the primary and ISC records it; else the conf's */
				fs.st.mclt = has_mclt ? mclt : f->has_mclt ? f->mclt : 0;
			}
		}
	}
	(void)len;
	report(c, last->line, "%s", line);
	rd_gbuf_printf(sum, "%s\n", line);
	/* it goes into a YAML comment: printable ASCII only, so the file stays valid UTF-8 */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	rd_gbuf_printf(&c->fo_comment, "#   %s:%u: %s\n", lc->file, last->line, line);
	rd_isc_fo_state_t *nv = realloc(out->fo_states, (out->n_fo_states + 1) * sizeof(*nv));
	if (!nv) {
		c->rc = RD_ENOMEM;
		return;
	}
	out->fo_states = nv;
	out->fo_states[out->n_fo_states++] = fs;
	if (fs.stored)
		out->sum.failover_states++;
}

static int cmp_lrec(const void *a, const void *b)
{
	const struct lrec *x = a, *y = b;
	if (x->l->addr != y->l->addr)
		return x->l->addr < y->l->addr ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int conv_leases(struct conv *c, const char *text, size_t len, const char *file, rd_isc_import_t *out)
{
	struct lexer lx = { .p = text, .end = text + len, .file = file, .line = 1, .err = c->err, .errlen = c->errlen };
	struct stmt *v = NULL;
	size_t n = 0;
	int rc = parse_block(&lx, 0, 1, &v, &n);
	if (rc < 0)
		return c->rc = rc;
	struct lconv lc = { .file = file, .c = c };
	struct fo_rec *fo = NULL;
	size_t nfo = 0;
	const char *conf_file = c->file;
	c->file = file;     /* messages from here on name the lease file */
	c->file_no = 1;
	for (size_t i = 0; i < n && !c->rc; i++) {
		const struct stmt *s = &v[i];
		if (word_is(s, 0, "lease") && s->block) {
			conv_lease(&lc, s);
		} else if (word_is(s, 0, "failover") && word_is(s, 1, "peer") && s->block && word_is(s, 3, "state")) {
			struct fo_rec *nf = realloc(fo, (nfo + 1) * sizeof(*nf));
			if (!nf) {
				c->rc = RD_ENOMEM;
				break;
			}
			fo = nf;
			if (fo_rec_parse(c, s, &fo[nfo])) {
				fo[nfo].order = nfo;
				nfo++;
			}
		} else if (word_is(s, 0, "authoring-byte-order") || word_is(s, 0, "server-duid") ||
			   word_is(s, 0, "db-time-format")) {
			/* bookkeeping of the file itself */
		} else if (word_is(s, 0, "host") && s->block) {
			lease_note(&lc, s, "host added over OMAPI: add it to the configuration as a reservation");
		} else {
			lease_note(&lc, s, NULL);
		}
	}
	/*
	 * ISC appends a state record on every change: the records of each
	 * relationship are taken in file order, one relationship at a time, in
	 * the order of their last records.
	 */
	out->sum.failover_state_records = nfo;
	rd_gbuf_t sum = { 0 };
	rd_gbuf_str(&sum, "");
	if (nfo && !c->rc)
		qsort(fo, nfo, sizeof(*fo), cmp_fo_rec);
	for (size_t i = 0, g; i < nfo && !c->rc; i += g) {
		for (g = 1; i + g < nfo && !strcmp(fo_state_name(fo[i + g].s), fo_state_name(fo[i].s)); g++)
			;
		conv_fo_state(&lc, fo + i, g, out, &sum);
	}
	if (sum.oom && !c->rc)
		c->rc = RD_ENOMEM;
	if (!c->rc) {
		out->fo_summary = sum.p;
		sum.p = NULL;
	}
	free(sum.p);
	free(fo);
	stmts_free(v, n);
	if (!c->rc) {
		/* ISC appends: the last record of an address wins */
		if (lc.n)
			qsort(lc.v, lc.n, sizeof(*lc.v), cmp_lrec);
		out->sum.lease_records = lc.n;
		out->leases = calloc(lc.n ? lc.n : 1, sizeof(*out->leases));
		if (!out->leases)
			c->rc = RD_ENOMEM;
	}
	for (size_t i = 0; i < lc.n; i++) {
		bool last = i + 1 == lc.n || lc.v[i + 1].l->addr != lc.v[i].l->addr;
		if (!last || c->rc) {
			rd_lease_free(lc.v[i].l);
			continue;
		}
		rd_lease_t *l = lc.v[i].l;
		const struct isub *sub = subnet_for(c, l->addr);
		if (!sub) {
			char ip[16];
			ipstr(l->addr, ip);
			report(c, lc.v[i].line, "lease %s is in no subnet of the configuration (imported anyway)", ip);
		} else if (sub->sc.ignore_uids != 1 && l->cid_len) {
			/* ISC keyed it by the client-id, so we must too */
			l->flags |= RD_LEASE_F_KEY_CID;
		}
		l->seq = out->n_leases + 1;
		out->leases[out->n_leases++] = l;
		out->sum.by_state[l->state & 7]++;
	}
	free(lc.v);
	c->file = conf_file;
	c->file_no = 0;
	out->sum.leases = out->n_leases;
	return c->rc;
}

/* ------------------------------------------------------------ entry points */

void rd_isc_import_free(rd_isc_import_t *r)
{
	if (!r)
		return;
	free(r->yaml);
	free(r->report);
	for (size_t i = 0; i < r->n_leases; i++)
		rd_lease_free(r->leases[i]);
	free(r->leases);
	free(r->fo_states);
	free(r->fo_summary);
	memset(r, 0, sizeof(*r));
}

int rd_isc_convert(const char *conf, size_t conf_len, const char *conf_name, const char *leases, size_t leases_len,
		   const char *leases_name, rd_isc_import_t *out, char *err, size_t errlen)
{
	if (!out)
		return RD_EINVAL;
	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	if (!conf)
		return rd_errf(err, errlen, RD_EINVAL, "no dhcpd.conf given");
	conf_name = conf_name ? conf_name : "<dhcpd.conf>";
	leases_name = leases ? (leases_name ? leases_name : "<dhcpd.leases>") : NULL;

	time_t now = time(NULL);
	struct conv c = { .file = conf_name, .err = err, .errlen = errlen,
			  .now = now > 0 && (uint64_t)now < UINT32_MAX ? (uint32_t)now : 1 };
	struct lexer lx = { .p = conf, .end = conf + conf_len, .file = conf_name, .line = 1, .err = err, .errlen = errlen };
	struct stmt *tree = NULL;
	size_t ntree = 0;
	rd_gbuf_t y = { 0 };
	int rc = parse_block(&lx, 0, 1, &tree, &ntree);
	if (rc < 0)
		return rc;

	struct scope global = { .ignore_uids = -1 };
	conv_block(&c, tree, ntree, &global, NULL, 0);
	for (size_t i = 0; i < c.nhosts && !c.rc; i++)
		conv_host(&c, c.hosts[i]);
	/* every pool's peer must be declared, and ISC refuses a peer no pool uses */
	for (size_t i = 0; i < c.nsubs && !c.rc; i++)
		for (size_t p = 0; p < c.subs[i].npools && !c.rc; p++) {
			const struct ipool *pl = &c.subs[i].pools[p];
			if (!pl->peer)
				continue;
			size_t f = 0;
			while (f < c.nfos && strcmp(c.fos[f].name, pl->peer))
				f++;
			if (f == c.nfos)
				conv_fail(&c, pl->line, "failover peer \"%s\" is not declared", pl->peer);
			else
				c.fos[f].used = true;
		}
	for (size_t f = 0; f < c.nfos && !c.rc; f++)
		if (!c.fos[f].used)
			report(&c, c.fos[f].s->line, "failover peer \"%s\" is used by no pool (ISC refuses that; kept)",
			       c.fos[f].name);
	if (!c.rc && leases)
		conv_leases(&c, leases, leases_len, leases_name, out);
	if (!c.rc) {
		emit_yaml(&c, &y, conf_name, leases_name);
		if (y.oom || c.rep_oom || c.fo_comment.oom)
			c.rc = RD_ENOMEM;
	}
	if (!c.rc) {
		rd_config_t *cfg = NULL;
		char perr[512];
		rc = rd_config_parse(y.p, y.len, "rackdhcpd.yaml", &cfg, perr, sizeof(perr));
		rd_config_free(cfg);
		if (rc == RD_ENOMEM)
			c.rc = rc;
		else if (rc < 0)
			c.rc = rd_errf(err, errlen, RD_EMALFORMED, "%s: the converted configuration is refused: %s",
				       conf_name, perr);
	}
	if (!c.rc) {
		out->yaml = y.p;
		out->yaml_len = y.len;
		y.p = NULL;
		rd_gbuf_t rb = { 0 };
		if (c.nrep)
			qsort(c.rep, c.nrep, sizeof(*c.rep), cmp_rent);
		rd_gbuf_str(&rb, "");
		for (size_t i = 0; i < c.nrep; i++)
			rd_gbuf_str(&rb, c.rep[i].text);
		out->report = rb.p;
		if (rb.oom) {
			free(rb.p);
			out->report = NULL;
			c.rc = RD_ENOMEM;
		}
		out->sum.subnets = c.nsubs;
		out->sum.failovers = c.nfos;
		for (size_t i = 0; i < c.nsubs; i++) {
			out->sum.pools += c.subs[i].npools;
			out->sum.reservations += c.subs[i].nres;
		}
		out->sum.not_converted = c.not_converted;
		out->report_len = out->report ? strlen(out->report) : 0;
	}
	rc = c.rc;
	if (rc == RD_ENOMEM && err && errlen && !err[0])
		rd_errf(err, errlen, rc, "out of memory");
	free(y.p);
	for (size_t i = 0; i < c.nrep; i++)
		free(c.rep[i].text);
	free(c.rep);
	free(c.fo_comment.p);
	for (size_t i = 0; i < c.nsubs; i++) {
		free(c.subs[i].pools);
		free(c.subs[i].res);
	}
	free(c.subs);
	free(c.fos);
	free(c.hosts);
	stmts_free(tree, ntree);
	if (rc < 0)
		rd_isc_import_free(out);
	return rc;
}

int rd_isc_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	*text = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return rd_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return rd_errf(err, errlen, -e, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > RD_ISC_MAX_FILE) {
		close(fd);
		return rd_errf(err, errlen, RD_ETOOBIG, "%s: not a regular file of at most %u MiB", path,
			       RD_ISC_MAX_FILE >> 20);
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *p = malloc(cap);
	if (!p) {
		close(fd);
		return rd_errf(err, errlen, RD_ENOMEM, "%s: out of memory", path);
	}
	for (;;) {
		ssize_t r = read(fd, p + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(p);
			close(fd);
			return rd_errf(err, errlen, -e, "%s: %s", path, strerror(e));
		}
		if (r == 0 || n + (size_t)r == cap - 1) {
			n += (size_t)r;
			break;
		}
		n += (size_t)r;
	}
	close(fd);
	p[n] = '\0';
	*text = p;
	*len = n;
	return 0;
}

static int write_file(const char *path, const char *data, size_t len, mode_t mode, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return rd_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			return rd_errf(err, errlen, -e, "%s: %s", path, strerror(e));
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0)
		return rd_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	return 0;
}

static void store_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level <= RD_STORE_LOG_WARNING)
		fprintf(stderr, "leases.db: %s\n", msg);
}

int rd_isc_write(const rd_isc_import_t *r, const char *dir, char *err, size_t errlen)
{
	enum { Y, D, R, N };
	static const char *const names[N] = { "rackdhcpd.yaml", "leases.db", "import-report.txt" };
	char fin[N][4096], tmp[N][4096], side[2][4200];
	struct stat st;
	int rc = 0;

	/* 0700: rackdhcpd accepts a state_dir holding other files only when nobody else can read it */
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return rd_errf(err, errlen, -errno, "%s: %s", dir, strerror(errno));
	for (int i = 0; i < N; i++) {
		if ((size_t)snprintf(fin[i], sizeof(fin[i]), "%s/%s", dir, names[i]) >= sizeof(fin[i]) ||
		    (size_t)snprintf(tmp[i], sizeof(tmp[i]), "%s/.%s.import-%ld", dir, names[i], (long)getpid()) >=
			    sizeof(tmp[i]))
			return rd_errf(err, errlen, RD_EINVAL, "%s: path too long", dir);
	}
	if (!lstat(fin[Y], &st))
		return rd_errf(err, errlen, RD_EINVAL, "%s exists: refusing to overwrite it", fin[Y]);
	if (!lstat(fin[D], &st) && st.st_size > 0)
		return rd_errf(err, errlen, RD_EINVAL, "%s exists and is not empty: refusing to import into it", fin[D]);
	snprintf(side[0], sizeof(side[0]), "%s-wal", tmp[D]);
	snprintf(side[1], sizeof(side[1]), "%s-shm", tmp[D]);
	for (int i = 0; i < N; i++)
		unlink(tmp[i]);
	unlink(side[0]);
	unlink(side[1]);

	if ((rc = write_file(tmp[Y], r->yaml, r->yaml_len, 0644, err, errlen)) < 0 ||
	    (rc = write_file(tmp[R], r->report, r->report_len, 0644, err, errlen)) < 0)
		goto fail;

	rd_store_opts_t so = { .block_when_full = true, .log = store_log };
	rd_store_t *store = NULL;
	char serr[512];
	if ((rc = rd_store_open(tmp[D], RD_STORE_SYNC, &so, &store, serr, sizeof(serr))) < 0) {
		rd_errf(err, errlen, rc, "%s", serr);
		goto fail;
	}
	for (size_t i = 0; i < r->n_leases; i++)
		if ((rc = rd_store_submit(store, r->leases[i], "import-isc", NULL, NULL)) < 0)
			break;
	for (size_t i = 0; i < r->n_fo_states && rc >= 0; i++)
		if (r->fo_states[i].stored)
			rc = rd_store_fo_state_put(store, &r->fo_states[i].st);
	int frc = rd_store_flush(store);
	rd_store_close(store);
	if (rc < 0 || (rc = frc) < 0) {
		rd_errf(err, errlen, rc, "%s: writing the leases failed: %s", fin[D], rd_strerror(rc));
		goto fail;
	}
	/* the database must be whole in one file before it is renamed */
	if (!lstat(side[0], &st) && st.st_size > 0) {
		rc = rd_errf(err, errlen, -EIO, "%s: the write-ahead log was not checkpointed", tmp[D]);
		goto fail;
	}
	unlink(side[0]);
	unlink(side[1]);
	/* the leases first: a configuration with no leases beside it must never appear */
	if (rename(tmp[D], fin[D]) < 0 || rename(tmp[R], fin[R]) < 0 || rename(tmp[Y], fin[Y]) < 0) {
		rc = rd_errf(err, errlen, -errno, "%s: renaming the output: %s", dir, strerror(errno));
		unlink(fin[D]);
		unlink(fin[R]);
		goto fail;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	for (int i = 0; i < N; i++)
		unlink(tmp[i]);
	unlink(side[0]);
	unlink(side[1]);
	return rc;
}
