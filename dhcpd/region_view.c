/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * region_view.c — the pure half of region sync: MAAS REST documents (already
 * decoded by jansson) -> this rack's DHCP view -> rackdhcpd YAML, and a diff
 * of two configurations in words for the log.
 *
 * The rules are MAAS's own (maas-integration.md): which VLANs a rack serves
 * and in which role (§2.3), failover peers named failover-vlan-<id> with
 * MAAS's fixed values (§1.3), managed IPv4 subnets with their options, DNS
 * and NTP lists computed as the region computes them (§1.4), dynamic ranges
 * as pools ordered by range id with a failover peer only where the VLAN has
 * a secondary rack (§1.5), static and reserved IPs as reservations (§1.6).
 *
 * Region data is untrusted input: every value is type-checked where it is
 * read and a mismatch is refused with the endpoint and the field
 * ("subnets/: [3].vlan.id: expected an integer, found a string").  The
 * rendered YAML then goes through rd_config_parse, so every rule of a local
 * file applies to region data too; this file does not repeat those checks.
 * It only drops, with a warning, what MAAS itself would drop or what would
 * otherwise make one odd machine take DHCP down for the whole rack (a
 * duplicate host, a host inside a dynamic range).
 *
 * Memory: everything a view owns is one list of blocks freed together.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rackdhcp/boot.h"
#include "rackdhcp/error.h"
#include "rackdhcp/fmt.h"
#include "rackdhcp/region.h"

/* ------------------------------------------------------------ allocation */

struct blk {
	struct blk *next;
	max_align_t data[];
};

enum serve { SERVE_NO = 0, SERVE_DIRECT, SERVE_RELAYED };

struct link {
	bool has_ip;
	uint32_t ip;
	bool sticky;                /* mode "static": MAAS's STICKY address */
	bool static_or_auto;        /* what make_failover_peer_config accepts */
	long long subnet_vlan;      /* VLAN of the link's subnet, -1 unknown */
	bool subnet_dhcp_on;
	const char *space;          /* of the link's subnet; NULL: undefined */
};

struct iface {
	const char *name;
	int rank;                   /* bond < physical < vlan < anything else (MAAS's "best") */
	long long vlan;             /* -1: not connected */
	bool enabled;
	struct link *links;
	size_t n_links;
};

struct rack {
	const char *system_id;
	struct iface *ifs;
	size_t n_ifs;
};

struct vlan {
	long long id, vid, mtu, relay;          /* relay: relay_vlan.id, -1 none */
	const char *fabric, *name, *primary, *secondary;
	bool dhcp_on;
	enum serve served;
	bool primary_role;
	struct vlan *via;                       /* whose racks serve it (itself when direct) */
	const struct iface *ifc;                /* our interface on it (direct only) */
	const struct rack *peer;                /* failover partner (direct with failover) */
	bool failover;
	uint32_t fo_addr, fo_peer;
};

struct host {
	uint8_t mac[6];
	uint32_t ip;
	size_t seq;
	const char *origin;
};

struct pool {
	long long id;
	uint32_t start, end;
};

struct iplist {
	uint32_t *a;
	size_t n, cap;
};

struct subnet {
	long long id;
	const char *cidr;
	uint32_t net, mask;
	unsigned plen;
	struct vlan *vlan;
	bool has_gw;
	uint32_t gw;
	bool allow_dns;
	const char *space;
	struct iplist user_dns;
	const char **dba;
	size_t n_dba, cap_dba;
	struct pool *pools;
	size_t n_pools, cap_pools;
	struct host *hosts;
	size_t n_hosts, cap_hosts;
	/* computed */
	uint32_t next_server;
	struct iplist dns, ntp;
};

struct rd_region_view {
	struct blk *blocks;
	const char *system_id;
	struct rack self;
	struct rack **peers;            /* each allocated once: vlans point at them */
	size_t n_peers, cap_peers;
	struct vlan *vlans;
	size_t n_vlans, cap_vlans;
	struct subnet *subnets;                 /* served ones only */
	size_t n_subnets, cap_subnets;
	const char *domain;
	const char **search;
	size_t n_search, cap_search;
	struct iplist region_dns, ext_ntp;
	bool ntp_external, use_rack_proxy;
	const char **warnings;
	size_t n_warnings, cap_warnings;
	const char **ifaces;
	size_t n_ifaces, cap_ifaces;
	size_t host_seq;
};

static void *vw_alloc(rd_region_view_t *v, size_t n)
{
	struct blk *b = calloc(1, sizeof(*b) + (n ? n : 1));
	if (!b)
		return NULL;
	b->next = v->blocks;
	v->blocks = b;
	return b->data;
}

static const char *vstrdup(rd_region_view_t *v, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *p = vw_alloc(v, n + 1);
	if (p)
		memcpy(p, s, n + 1);
	return p;
}

/*
 * Room for one more element in a growing array.  The old block stays in the
 * view's list until the view is freed: at most twice the memory, in exchange
 * for a single free path.
 */
static int vgrow(rd_region_view_t *v, void **arr, size_t n, size_t *cap, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 8;
	if (nc > SIZE_MAX / elem)
		return RD_ENOMEM;
	void *p = vw_alloc(v, nc * elem);
	if (!p)
		return RD_ENOMEM;
	if (n)
		memcpy(p, *arr, n * elem);
	*arr = p;
	*cap = nc;
	return 0;
}

#define VPUSH(v, arr, n, cap) vgrow((v), (void **)&(arr), (n), &(cap), sizeof(*(arr)))

static int ip_push(rd_region_view_t *v, struct iplist *l, uint32_t ip, bool dedupe)
{
	if (dedupe)
		for (size_t i = 0; i < l->n; i++)
			if (l->a[i] == ip)
				return 0;
	if (VPUSH(v, l->a, l->n, l->cap))
		return RD_ENOMEM;
	l->a[l->n++] = ip;
	return 0;
}

void rd_region_view_free(rd_region_view_t *v)
{
	if (!v)
		return;
	for (struct blk *b = v->blocks, *n; b; b = n) {
		n = b->next;
		free(b);
	}
	free(v);
}

/* --------------------------------------------------------- small parsers */

/* Dotted quad without leading zeros, the same spelling rd_config_parse takes. */
static bool ipv4_parse(const char *s, uint32_t *out)
{
	uint32_t a = 0;
	for (int part = 0; part < 4; part++) {
		unsigned val = 0, digits = 0;
		if (part) {
			if (*s != '.')
				return false;
			s++;
		}
		while (*s >= '0' && *s <= '9') {
			if (digits && val == 0)
				return false;
			val = val * 10 + (unsigned)(*s - '0');
			if (++digits > 3 || val > 255)
				return false;
			s++;
		}
		if (!digits)
			return false;
		a = a << 8 | val;
	}
	if (*s)
		return false;
	*out = a;
	return true;
}

static const char *ipv4_str(uint32_t a, char buf[16])
{
	rd_fmt_ip(buf, a);
	return buf;
}

static uint32_t mask_of(unsigned plen)
{
	return plen ? ~(uint32_t)0 << (32 - plen) : 0;
}

static bool mac_parse(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		unsigned val = 0;
		for (int k = 0; k < 2; k++) {
			char ch = *s++;
			unsigned d;
			if (ch >= '0' && ch <= '9')
				d = (unsigned)(ch - '0');
			else if (ch >= 'a' && ch <= 'f')
				d = (unsigned)(ch - 'a' + 10);
			else if (ch >= 'A' && ch <= 'F')
				d = (unsigned)(ch - 'A' + 10);
			else
				return false;
			val = val << 4 | d;
		}
		mac[i] = (uint8_t)val;
		if (i < 5 && *s++ != ':')
			return false;
	}
	return *s == '\0';
}

static const char *mac_str(const uint8_t m[6], char buf[18])
{
	rd_fmt_mac(buf, m, 6);
	return buf;
}

/* An address string that is IPv6 (MAAS lists both families side by side). */
static bool is_v6(const char *s)
{
	return strchr(s, ':') != NULL;
}

/* ----------------------------------------------------- typed JSON access */

struct jx {
	rd_region_view_t *v;
	const rd_region_docs_t *d;
	char endpoint[160];
	char *err;
	size_t errlen;
};

static void jx_at(struct jx *x, enum rd_region_doc doc, const char *system_id)
{
	rd_region_doc_path(doc, system_id, x->endpoint, sizeof(x->endpoint));
}

static int jfail(struct jx *x, const char *where, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int jfail(struct jx *x, const char *where, const char *key, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (x->err && x->errlen) {
		const char *base = x->d && x->d->base ? x->d->base : "";
		bool w = where && *where, k = key && *key;
		if (w || k)
			snprintf(x->err, x->errlen, "%s%s: %s%s%s: %s", base, x->endpoint, w ? where : "",
				 w && k ? "." : "", k ? key : "", why);
		else
			snprintf(x->err, x->errlen, "%s%s: %s", base, x->endpoint, why);
	}
	return RD_EMALFORMED;
}

static int jnomem(struct jx *x)
{
	if (x->err && x->errlen)
		snprintf(x->err, x->errlen, "out of memory building the region view");
	return RD_ENOMEM;
}

static const char *jkind(const json_t *j)
{
	if (!j)
		return "nothing";
	switch (json_typeof(j)) {
	case JSON_OBJECT:  return "an object";
	case JSON_ARRAY:   return "a list";
	case JSON_STRING:  return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL:    return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:   return "a boolean";
	case JSON_NULL:    return "null";
	}
	return "nothing";
}

enum jt { JT_OBJ, JT_ARR, JT_STR, JT_INT, JT_BOOL };

static const char *const jt_names[] = { "an object", "a list", "a string", "an integer", "true or false" };

static bool jt_is(const json_t *j, enum jt t)
{
	switch (t) {
	case JT_OBJ:  return json_is_object(j);
	case JT_ARR:  return json_is_array(j);
	case JT_STR:  return json_is_string(j);
	case JT_INT:  return json_is_integer(j);
	case JT_BOOL: return json_is_boolean(j);
	}
	return false;
}

#define J_NULL 1        /* null is accepted (read as absent) */
#define J_OPT  2        /* the key may be missing */

/* The value of key in object obj, type-checked.  *out NULL: null or absent, as allowed. */
static int jget(struct jx *x, const json_t *obj, const char *where, const char *key, enum jt t, int fl,
		json_t **out)
{
	json_t *val = json_object_get(obj, key);
	*out = NULL;
	if (!val)
		return (fl & J_OPT) ? 0 : jfail(x, where, key, "missing");
	if (json_is_null(val))
		return (fl & J_NULL) ? 0 : jfail(x, where, key, "is null, expected %s", jt_names[t]);
	if (!jt_is(val, t))
		return jfail(x, where, key, "expected %s, found %s", jt_names[t], jkind(val));
	*out = val;
	return 0;
}

static int jstr(struct jx *x, const json_t *obj, const char *where, const char *key, int fl, const char **s)
{
	json_t *j;
	*s = NULL;
	if (jget(x, obj, where, key, JT_STR, fl, &j))
		return RD_EMALFORMED;
	if (j)
		*s = json_string_value(j);
	return 0;
}

static int jint(struct jx *x, const json_t *obj, const char *where, const char *key, int fl, long long min,
		long long max, long long dflt, long long *out)
{
	json_t *j;
	*out = dflt;
	if (jget(x, obj, where, key, JT_INT, fl, &j))
		return RD_EMALFORMED;
	if (!j)
		return 0;
	json_int_t n = json_integer_value(j);
	if (n < min || n > max)
		return jfail(x, where, key, "%lld is out of range (%lld..%lld)", (long long)n, min, max);
	*out = (long long)n;
	return 0;
}

static int jbool(struct jx *x, const json_t *obj, const char *where, const char *key, int fl, bool dflt, bool *out)
{
	json_t *j;
	*out = dflt;
	if (jget(x, obj, where, key, JT_BOOL, fl, &j))
		return RD_EMALFORMED;
	if (j)
		*out = json_is_true(j);
	return 0;
}

/* A document that must be a list (every collection endpoint). */
static int jlist(struct jx *x, const json_t *doc)
{
	if (!doc)
		return jfail(x, NULL, NULL, "document missing");
	if (!json_is_array(doc))
		return jfail(x, NULL, NULL, "expected a list, found %s", jkind(doc));
	return 0;
}

static int jitem_obj(struct jx *x, const json_t *item, const char *where)
{
	if (!json_is_object(item))
		return jfail(x, where, NULL, "expected an object, found %s", jkind(item));
	return 0;
}

/* An IPv4 address string; v6 (when allowed) sets *skip. */
static int jipv4(struct jx *x, const char *s, const char *where, const char *key, bool v6_ok, uint32_t *ip,
		 bool *skip)
{
	if (skip)
		*skip = false;
	if (v6_ok && is_v6(s)) {
		*skip = true;
		return 0;
	}
	if (!ipv4_parse(s, ip))
		return jfail(x, where, key, "'%.64s' is not an IPv4 address", s);
	return 0;
}

/*
 * A JSON array of address strings into out (deduplicated): IPv6 entries
 * are skipped, as are those keep() refuses (keep may be NULL).  Returns 0,
 * or RD_EMALFORMED / RD_ENOMEM with the error recorded in x.
 */
static int jipv4_array(struct jx *x, rd_region_view_t *v, json_t *arr, const char *where, const char *name,
		       bool (*keep)(uint32_t), struct iplist *out)
{
	for (size_t k = 0; k < json_array_size(arr); k++) {
		json_t *e = json_array_get(arr, k);
		char kw[64];
		uint32_t ip;
		bool skip;
		snprintf(kw, sizeof(kw), "%s[%zu]", name, k);
		if (!json_is_string(e))
			return jfail(x, where, kw, "expected a string, found %s", jkind(e));
		if (jipv4(x, json_string_value(e), where, kw, true, &ip, &skip))
			return RD_EMALFORMED;
		if (!skip && (!keep || keep(ip)) && ip_push(v, out, ip, true))
			return jnomem(x);
	}
	return 0;
}

static int warn(rd_region_view_t *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int warn(rd_region_view_t *v, const char *fmt, ...)
{
	char line[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* the line ends up in logs and YAML comments: no control characters */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (VPUSH(v, v->warnings, v->n_warnings, v->cap_warnings))
		return RD_ENOMEM;
	const char *s = vstrdup(v, line);
	if (!s)
		return RD_ENOMEM;
	v->warnings[v->n_warnings++] = s;
	return 0;
}

/* ---------------------------------------------------------- documents */

const char *rd_region_doc_path(enum rd_region_doc d, const char *system_id, char *buf, size_t len)
{
	static const char *const fixed[RD_RDOC_COUNT] = {
		[RD_RDOC_FABRICS] = "fabrics/",
		[RD_RDOC_SUBNETS] = "subnets/",
		[RD_RDOC_IPRANGES] = "ipranges/",
		[RD_RDOC_IPADDRESSES] = "ipaddresses/?all=true",
		[RD_RDOC_RESERVEDIPS] = "reservedips/",
		[RD_RDOC_DOMAINS] = "domains/",
		[RD_RDOC_REGIONS] = "regioncontrollers/",
		[RD_RDOC_SNIPPETS] = "dhcp-snippets/",
		[RD_RDOC_NTP_SERVERS] = "maas/?op=get_config&name=ntp_servers",
		[RD_RDOC_NTP_EXTERNAL_ONLY] = "maas/?op=get_config&name=ntp_external_only",
		[RD_RDOC_USE_RACK_PROXY] = "maas/?op=get_config&name=use_rack_proxy",
	};
	if (d == RD_RDOC_RACK)
		snprintf(buf, len, "rackcontrollers/%s/", system_id ? system_id : "?");
	else if ((unsigned)d < RD_RDOC_COUNT)
		snprintf(buf, len, "%s", fixed[d]);
	else
		snprintf(buf, len, "?");
	return buf;
}

int rd_region_json_decode(const char *text, size_t len, const char *where, json_t **out, char *err, size_t errlen)
{
	json_error_t je;
	/* DECODE_ANY: get_config answers bare scalars ("ntp.ubuntu.com", false) */
	json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	*out = NULL;
	if (!j) {
		if (err && errlen) {
			/* jansson quotes the offending text; keep it printable */
			char why[sizeof(je.text)];
			snprintf(why, sizeof(why), "%s", je.text);
			for (char *p = why; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					*p = '?';
			snprintf(err, errlen, "%s: not valid JSON: %s (line %d, column %d)", where, why, je.line,
				 je.column);
		}
		return RD_EMALFORMED;
	}
	*out = j;
	return 0;
}

void rd_region_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* ---------------------------------------------------------- rack parsing */

static int iface_rank(const char *type)
{
	if (!strcmp(type, "bond"))
		return 0;
	if (!strcmp(type, "physical"))
		return 1;
	if (!strcmp(type, "vlan"))
		return 2;
	return 3;
}

static const char *space_norm(const char *s)
{
	return s && strcmp(s, "undefined") ? s : NULL;
}

static bool space_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int parse_rack(struct jx *x, const json_t *doc, const char *expect, struct rack *r)
{
	rd_region_view_t *v = x->v;
	const char *sid;
	json_t *ifs;
	char where[96];

	if (!doc)
		return jfail(x, NULL, NULL, "document missing");
	if (!json_is_object(doc))
		return jfail(x, NULL, NULL, "expected an object, found %s", jkind(doc));
	if (jstr(x, doc, "", "system_id", 0, &sid) || jget(x, doc, "", "interface_set", JT_ARR, 0, &ifs))
		return RD_EMALFORMED;
	if (expect && strcmp(sid, expect))
		return jfail(x, "", "system_id", "is '%.64s', expected '%.64s'", sid, expect);
	r->system_id = vstrdup(v, sid);
	r->n_ifs = json_array_size(ifs);
	r->ifs = vw_alloc(v, r->n_ifs * sizeof(*r->ifs));
	if (!r->system_id || !r->ifs)
		return jnomem(x);
	for (size_t i = 0; i < r->n_ifs; i++) {
		json_t *it = json_array_get(ifs, i), *vl, *links;
		struct iface *f = &r->ifs[i];
		const char *name, *type;
		snprintf(where, sizeof(where), "interface_set[%zu]", i);
		if (jitem_obj(x, it, where) || jstr(x, it, where, "name", 0, &name) ||
		    jstr(x, it, where, "type", 0, &type) || jget(x, it, where, "vlan", JT_OBJ, J_NULL, &vl) ||
		    jget(x, it, where, "links", JT_ARR, 0, &links) ||
		    jbool(x, it, where, "enabled", J_OPT | J_NULL, true, &f->enabled))
			return RD_EMALFORMED;
		f->name = vstrdup(v, name);
		f->rank = iface_rank(type);
		f->vlan = -1;
		if (vl) {
			char w2[128];
			snprintf(w2, sizeof(w2), "%s.vlan", where);
			if (jint(x, vl, w2, "id", 0, 0, INT64_MAX, -1, &f->vlan))
				return RD_EMALFORMED;
		}
		f->n_links = json_array_size(links);
		f->links = vw_alloc(v, f->n_links * sizeof(*f->links));
		if (!f->name || !f->links)
			return jnomem(x);
		for (size_t k = 0; k < f->n_links; k++) {
			json_t *lk = json_array_get(links, k), *sn;
			struct link *l = &f->links[k];
			const char *mode, *ip;
			char lw[128];
			snprintf(lw, sizeof(lw), "%s.links[%zu]", where, k);
			if (jitem_obj(x, lk, lw) || jstr(x, lk, lw, "mode", 0, &mode) ||
			    jstr(x, lk, lw, "ip_address", J_NULL | J_OPT, &ip) ||
			    jget(x, lk, lw, "subnet", JT_OBJ, J_NULL | J_OPT, &sn))
				return RD_EMALFORMED;
			l->sticky = !strcmp(mode, "static");
			l->static_or_auto = l->sticky || !strcmp(mode, "auto");
			l->subnet_vlan = -1;
			if (ip && *ip) {
				bool skip;
				if (jipv4(x, ip, lw, "ip_address", true, &l->ip, &skip))
					return RD_EMALFORMED;
				l->has_ip = !skip;
			}
			if (sn) {
				char sw[160];
				const char *space;
				json_t *svl;
				snprintf(sw, sizeof(sw), "%s.subnet", lw);
				if (jstr(x, sn, sw, "space", J_NULL | J_OPT, &space) ||
				    jget(x, sn, sw, "vlan", JT_OBJ, J_NULL | J_OPT, &svl))
					return RD_EMALFORMED;
				l->space = vstrdup(v, space_norm(space));
				if (space_norm(space) && !l->space)
					return jnomem(x);
				if (svl) {
					char vw[176];
					snprintf(vw, sizeof(vw), "%s.vlan", sw);
					if (jint(x, svl, vw, "id", 0, 0, INT64_MAX, -1, &l->subnet_vlan) ||
					    jbool(x, svl, vw, "dhcp_on", J_OPT | J_NULL, false, &l->subnet_dhcp_on))
						return RD_EMALFORMED;
				}
			}
			if (l->subnet_vlan < 0)
				l->subnet_vlan = f->vlan;
		}
	}
	return 0;
}

static bool iface_has_v4(const struct iface *f)
{
	for (size_t k = 0; k < f->n_links; k++)
		if (f->links[k].has_ip)
			return true;
	return false;
}

/* The interface MAAS would serve VLAN id on: the best enabled one with an IPv4 address there. */
static const struct iface *best_iface_on(const struct rack *r, long long id)
{
	const struct iface *best = NULL;
	for (size_t i = 0; i < r->n_ifs; i++) {
		const struct iface *f = &r->ifs[i];
		if (f->vlan == id && f->enabled && iface_has_v4(f) && (!best || f->rank < best->rank))
			best = f;
	}
	return best;
}

/*
 * make_failover_peer_config: the best interface with a STICKY or AUTO IPv4
 * address on a subnet of the VLAN, and that address.
 */
static bool failover_ip(const struct rack *r, long long id, uint32_t *ip)
{
	const struct iface *best = NULL;
	uint32_t got = 0;
	for (size_t i = 0; i < r->n_ifs; i++) {
		const struct iface *f = &r->ifs[i];
		if (!f->enabled || (best && f->rank >= best->rank))
			continue;
		for (size_t k = 0; k < f->n_links; k++) {
			const struct link *l = &f->links[k];
			if (l->has_ip && l->static_or_auto && l->subnet_vlan == id) {
				best = f;
				got = l->ip;
				break;
			}
		}
	}
	*ip = got;
	return best != NULL;
}

/*
 * get_ntp_server_addresses_for_rack: the rack's lowest STICKY IPv4 address
 * in a space, addresses on DHCP-enabled VLANs first (LP#1695083).
 */
static bool ntp_ip(const struct rack *r, const char *space, uint32_t *ip)
{
	bool found = false, found_dhcp = false;
	uint32_t best = 0;
	for (size_t i = 0; i < r->n_ifs; i++) {
		for (size_t k = 0; k < r->ifs[i].n_links; k++) {
			const struct link *l = &r->ifs[i].links[k];
			if (!l->has_ip || !l->sticky || !space_eq(l->space, space))
				continue;
			if (!found || (l->subnet_dhcp_on && !found_dhcp) ||
			    (l->subnet_dhcp_on == found_dhcp && l->ip < best)) {
				found = true;
				found_dhcp = l->subnet_dhcp_on;
				best = l->ip;
			}
		}
	}
	*ip = best;
	return found;
}

/* ------------------------------------------------------------- fabrics */

static struct vlan *vlan_by_id(rd_region_view_t *v, long long id)
{
	for (size_t i = 0; i < v->n_vlans; i++)
		if (v->vlans[i].id == id)
			return &v->vlans[i];
	return NULL;
}

static int parse_vlan(struct jx *x, const json_t *o, const char *where, struct vlan *vl)
{
	rd_region_view_t *v = x->v;
	const char *name, *fabric, *prim, *sec;
	json_t *relay;
	memset(vl, 0, sizeof(*vl));
	if (jitem_obj(x, o, where) || jint(x, o, where, "id", 0, 0, INT64_MAX, 0, &vl->id) ||
	    jint(x, o, where, "vid", J_OPT, 0, 4095, 0, &vl->vid) ||
	    jstr(x, o, where, "name", J_OPT | J_NULL, &name) || jstr(x, o, where, "fabric", J_OPT | J_NULL, &fabric) ||
	    jint(x, o, where, "mtu", 0, 0, 65535, 1500, &vl->mtu) ||
	    jstr(x, o, where, "primary_rack", J_NULL, &prim) || jstr(x, o, where, "secondary_rack", J_NULL, &sec) ||
	    jbool(x, o, where, "dhcp_on", 0, false, &vl->dhcp_on) ||
	    jget(x, o, where, "relay_vlan", JT_OBJ, J_NULL, &relay))
		return RD_EMALFORMED;
	vl->relay = -1;
	if (relay) {
		char w2[112];
		snprintf(w2, sizeof(w2), "%.96s.relay_vlan", where);
		if (jint(x, relay, w2, "id", 0, 0, INT64_MAX, -1, &vl->relay))
			return RD_EMALFORMED;
	}
	vl->name = vstrdup(v, name ? name : "");
	vl->fabric = vstrdup(v, fabric ? fabric : "");
	vl->primary = prim && *prim ? vstrdup(v, prim) : NULL;
	vl->secondary = sec && *sec ? vstrdup(v, sec) : NULL;
	if (!vl->name || !vl->fabric || (prim && *prim && !vl->primary) || (sec && *sec && !vl->secondary))
		return jnomem(x);
	return 0;
}

static int parse_fabrics(struct jx *x, const json_t *doc)
{
	rd_region_view_t *v = x->v;
	char where[64];
	jx_at(x, RD_RDOC_FABRICS, NULL);
	if (jlist(x, doc))
		return RD_EMALFORMED;
	for (size_t i = 0; i < json_array_size(doc); i++) {
		json_t *fab = json_array_get(doc, i), *vlans;
		snprintf(where, sizeof(where), "[%zu]", i);
		if (jitem_obj(x, fab, where) || jget(x, fab, where, "vlans", JT_ARR, 0, &vlans))
			return RD_EMALFORMED;
		for (size_t k = 0; k < json_array_size(vlans); k++) {
			struct vlan vl;
			char w2[96];
			snprintf(w2, sizeof(w2), "[%zu].vlans[%zu]", i, k);
			int rc = parse_vlan(x, json_array_get(vlans, k), w2, &vl);
			if (rc)
				return rc;
			if (vlan_by_id(v, vl.id))
				return jfail(x, w2, "id", "VLAN %lld is listed twice", vl.id);
			if (VPUSH(v, v->vlans, v->n_vlans, v->cap_vlans))
				return jnomem(x);
			v->vlans[v->n_vlans++] = vl;
		}
	}
	return 0;
}

/* The other rack of a VLAN this rack serves, or NULL (none, or the VLAN names us twice). */
static const char *vlan_other_rack(const struct vlan *vl, const char *self)
{
	bool prim = vl->primary && !strcmp(vl->primary, self);
	const char *other = prim ? vl->secondary : vl->primary;
	if (!other || !strcmp(other, self))
		return NULL;
	return other;
}

static bool vlan_names(const struct vlan *vl, const char *self)
{
	return vl->dhcp_on && ((vl->primary && !strcmp(vl->primary, self)) ||
			       (vl->secondary && !strcmp(vl->secondary, self)));
}

/* The parsed document of a failover peer rack (parsed once). */
static int peer_rack(struct jx *x, const char *id, long long vlan_id, const struct rack **out)
{
	rd_region_view_t *v = x->v;
	*out = NULL;
	for (size_t i = 0; i < v->n_peers; i++)
		if (!strcmp(v->peers[i]->system_id, id)) {
			*out = v->peers[i];
			return 0;
		}
	jx_at(x, RD_RDOC_RACK, id);
	json_t *doc = x->d->peers && json_is_object(x->d->peers) ? json_object_get(x->d->peers, id) : NULL;
	if (!doc)
		return jfail(x, NULL, NULL, "document missing (rack %.64s is the failover peer on VLAN %lld)", id,
			     vlan_id);
	struct rack *r;
	if (VPUSH(v, v->peers, v->n_peers, v->cap_peers) || !(r = vw_alloc(v, sizeof(*r))))
		return jnomem(x);
	int rc = parse_rack(x, doc, id, r);
	if (rc)
		return rc;
	v->peers[v->n_peers++] = r;
	*out = r;
	return 0;
}

static int add_iface_name(rd_region_view_t *v, const char *name)
{
	for (size_t i = 0; i < v->n_ifaces; i++)
		if (!strcmp(v->ifaces[i], name))
			return 0;
	if (VPUSH(v, v->ifaces, v->n_ifaces, v->cap_ifaces))
		return RD_ENOMEM;
	v->ifaces[v->n_ifaces++] = name;
	return 0;
}

/* §2.3: the VLANs this rack serves, its role and peer on each, and the VLANs relayed to them. */
static int decide_vlans(struct jx *x)
{
	rd_region_view_t *v = x->v;
	const char *self = v->system_id;

	for (size_t i = 0; i < v->n_vlans; i++) {
		struct vlan *vl = &v->vlans[i];
		if (!vlan_names(vl, self))
			continue;
		vl->primary_role = vl->primary && !strcmp(vl->primary, self);
		vl->ifc = best_iface_on(&v->self, vl->id);
		if (!vl->ifc) {
			if (warn(v, "VLAN %lld (%s.%s): this rack has no IPv4 address on it, so it does not serve it",
				 vl->id, vl->fabric, vl->name))
				return jnomem(x);
			continue;
		}
		vl->served = SERVE_DIRECT;
		vl->via = vl;
		if (add_iface_name(v, vl->ifc->name))
			return jnomem(x);
		if (vl->primary && vl->secondary && !strcmp(vl->primary, vl->secondary) &&
		    warn(v, "VLAN %lld names rack %s as both primary and secondary; served without failover", vl->id,
			 vl->primary))
			return jnomem(x);
		const char *other = vlan_other_rack(vl, self);
		if (!other)
			continue;
		const struct rack *peer;
		int rc = peer_rack(x, other, vl->id, &peer);
		if (rc)
			return rc;
		vl->peer = peer;
		vl->failover = true;
		if (!failover_ip(&v->self, vl->id, &vl->fo_addr)) {
			jx_at(x, RD_RDOC_RACK, self);
			return jfail(x, NULL, NULL, "no static or auto IPv4 address on VLAN %lld for its failover peer",
				     vl->id);
		}
		if (!failover_ip(peer, vl->id, &vl->fo_peer)) {
			jx_at(x, RD_RDOC_RACK, other);
			return jfail(x, NULL, NULL,
				     "no static or auto IPv4 address on VLAN %lld for the failover peer address",
				     vl->id);
		}
	}
	for (size_t i = 0; i < v->n_vlans; i++) {
		struct vlan *vl = &v->vlans[i];
		if (vl->relay < 0)
			continue;
		struct vlan *to = vlan_by_id(v, vl->relay);
		if (!to || to->served != SERVE_DIRECT)
			continue;
		if (vl->served == SERVE_DIRECT) {
			if (warn(v, "VLAN %lld is served directly and also relayed to VLAN %lld; the relay is ignored",
				 vl->id, to->id))
				return jnomem(x);
			continue;
		}
		vl->served = SERVE_RELAYED;
		vl->via = to;
		/*
		 * MAAS gives relayed pools a failover peer only from the relayed
		 * VLAN's own racks, which it normally has none of (§2.3, §8.1).
		 */
		if (vl->secondary &&
		    warn(v, "VLAN %lld is relayed to VLAN %lld and has its own secondary rack; its pools are served "
			 "without failover", vl->id, to->id))
			return jnomem(x);
	}
	return 0;
}

/* ------------------------------------------------------------- subnets */

static struct subnet *subnet_by_id(rd_region_view_t *v, long long id)
{
	for (size_t i = 0; i < v->n_subnets; i++)
		if (v->subnets[i].id == id)
			return &v->subnets[i];
	return NULL;
}

static bool cidr_parse(const char *s, uint32_t *net, unsigned *plen)
{
	const char *slash = strchr(s, '/');
	char addr[16];
	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return false;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	const char *p = slash + 1;
	unsigned n = 0, digits = 0;
	while (*p >= '0' && *p <= '9' && digits < 3) {
		n = n * 10 + (unsigned)(*p++ - '0');
		digits++;
	}
	if (!digits || *p || n > 32 || (digits > 1 && slash[1] == '0'))
		return false;
	*plen = n;
	return ipv4_parse(addr, net);
}

static int parse_subnets(struct jx *x, const json_t *doc)
{
	rd_region_view_t *v = x->v;
	char where[64], w2[96];
	jx_at(x, RD_RDOC_SUBNETS, NULL);
	if (jlist(x, doc))
		return RD_EMALFORMED;
	for (size_t i = 0; i < json_array_size(doc); i++) {
		json_t *o = json_array_get(doc, i), *vlo, *dns, *dba;
		const char *cidr, *gw, *space;
		long long id, vid;
		bool managed, allow_dns;
		snprintf(where, sizeof(where), "[%zu]", i);
		snprintf(w2, sizeof(w2), "[%zu].vlan", i);
		if (jitem_obj(x, o, where) || jint(x, o, where, "id", 0, 0, INT64_MAX, 0, &id) ||
		    jstr(x, o, where, "cidr", 0, &cidr) || jget(x, o, where, "vlan", JT_OBJ, 0, &vlo) ||
		    jint(x, vlo, w2, "id", 0, 0, INT64_MAX, 0, &vid) ||
		    jstr(x, o, where, "gateway_ip", J_NULL, &gw) ||
		    jget(x, o, where, "dns_servers", JT_ARR, J_NULL, &dns) ||
		    jbool(x, o, where, "allow_dns", 0, true, &allow_dns) ||
		    jbool(x, o, where, "managed", 0, true, &managed) ||
		    jget(x, o, where, "disabled_boot_architectures", JT_ARR, J_NULL | J_OPT, &dba) ||
		    jstr(x, o, where, "space", J_NULL | J_OPT, &space))
			return RD_EMALFORMED;
		if (subnet_by_id(v, id))
			return jfail(x, where, "id", "subnet %lld is listed twice", id);
		if (is_v6(cidr))
			continue;               /* DHCPv6 is not ours */
		uint32_t net;
		unsigned plen;
		if (!cidr_parse(cidr, &net, &plen))
			return jfail(x, where, "cidr", "'%.64s' is not an IPv4 or IPv6 CIDR", cidr);
		struct vlan *vl = vlan_by_id(v, vid);
		if (!managed || !vl || vl->served == SERVE_NO)
			continue;
		if (VPUSH(v, v->subnets, v->n_subnets, v->cap_subnets))
			return jnomem(x);
		struct subnet *s = &v->subnets[v->n_subnets];
		memset(s, 0, sizeof(*s));
		s->id = id;
		s->cidr = vstrdup(v, cidr);
		s->net = net;
		s->plen = plen;
		s->mask = mask_of(plen);
		s->vlan = vl;
		s->allow_dns = allow_dns;
		s->space = vstrdup(v, space_norm(space));
		if (!s->cidr || (space_norm(space) && !s->space))
			return jnomem(x);
		if (gw && *gw) {
			bool skip;
			if (jipv4(x, gw, where, "gateway_ip", false, &s->gw, &skip))
				return RD_EMALFORMED;
			s->has_gw = true;
		}
		int rl = jipv4_array(x, v, dns, where, "dns_servers", NULL, &s->user_dns);
		if (rl)
			return rl;
		for (size_t k = 0; k < json_array_size(dba); k++) {
			json_t *e = json_array_get(dba, k);
			char kw[56];
			snprintf(kw, sizeof(kw), "disabled_boot_architectures[%zu]", k);
			if (!json_is_string(e))
				return jfail(x, where, kw, "expected a string, found %s", jkind(e));
			const char *name = json_string_value(e);
			/*
			 * A method we do not implement cannot be offered anyway, so
			 * disabling it is a no-op, not a reason to refuse the view.
			 */
			if (rd_boot_method_from_name(name) < 0) {
				if (warn(v, "subnet %s: unknown boot architecture '%.40s' in "
					 "disabled_boot_architectures ignored", cidr, name))
					return jnomem(x);
				continue;
			}
			bool dup = false;
			for (size_t m = 0; m < s->n_dba; m++)
				dup |= !strcmp(s->dba[m], name);
			if (dup)
				continue;
			if (VPUSH(v, s->dba, s->n_dba, s->cap_dba))
				return jnomem(x);
			if (!(s->dba[s->n_dba++] = vstrdup(v, name)))
				return jnomem(x);
		}
		v->n_subnets++;
	}
	return 0;
}

static int cmp_pool(const void *a, const void *b)
{
	const struct pool *p = a, *q = b;
	return (p->id > q->id) - (p->id < q->id);
}

static int parse_ipranges(struct jx *x, const json_t *doc)
{
	rd_region_view_t *v = x->v;
	char where[64], w2[96];
	jx_at(x, RD_RDOC_IPRANGES, NULL);
	if (jlist(x, doc))
		return RD_EMALFORMED;
	for (size_t i = 0; i < json_array_size(doc); i++) {
		json_t *o = json_array_get(doc, i), *so;
		const char *type, *start, *end;
		long long id, sid;
		snprintf(where, sizeof(where), "[%zu]", i);
		snprintf(w2, sizeof(w2), "[%zu].subnet", i);
		if (jitem_obj(x, o, where) || jint(x, o, where, "id", 0, 0, INT64_MAX, 0, &id) ||
		    jstr(x, o, where, "type", 0, &type) || jstr(x, o, where, "start_ip", 0, &start) ||
		    jstr(x, o, where, "end_ip", 0, &end) || jget(x, o, where, "subnet", JT_OBJ, 0, &so) ||
		    jint(x, so, w2, "id", 0, 0, INT64_MAX, 0, &sid))
			return RD_EMALFORMED;
		struct subnet *s = subnet_by_id(v, sid);
		/* reserved ranges only keep MAAS from allocating there: not in DHCP at all */
		if (strcmp(type, "dynamic") || !s)
			continue;
		struct pool p = { .id = id };
		if (jipv4(x, start, where, "start_ip", false, &p.start, NULL) ||
		    jipv4(x, end, where, "end_ip", false, &p.end, NULL))
			return RD_EMALFORMED;
		if (VPUSH(v, s->pools, s->n_pools, s->cap_pools))
			return jnomem(x);
		s->pools[s->n_pools++] = p;
	}
	for (size_t i = 0; i < v->n_subnets; i++)
		if (v->subnets[i].n_pools > 1)
			qsort(v->subnets[i].pools, v->subnets[i].n_pools, sizeof(struct pool), cmp_pool);
	return 0;
}

static int add_host(rd_region_view_t *v, struct subnet *s, const uint8_t mac[6], uint32_t ip, const char *origin)
{
	if (VPUSH(v, s->hosts, s->n_hosts, s->cap_hosts))
		return RD_ENOMEM;
	struct host *h = &s->hosts[s->n_hosts];
	memcpy(h->mac, mac, 6);
	h->ip = ip;
	h->seq = v->host_seq++;
	h->origin = vstrdup(v, origin);
	if (!h->origin)
		return RD_ENOMEM;
	s->n_hosts++;
	return 0;
}

/* Printable, bounded copy of a region string for comments and warnings. */
static const char *safe(const char *s, char *buf, size_t len)
{
	size_t i = 0;
	for (; s && s[i] && i + 1 < len; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/* §1.6: AUTO, STICKY and USER_RESERVED addresses, one host per interface (MAC). */
static int parse_ipaddresses(struct jx *x, const json_t *doc)
{
	rd_region_view_t *v = x->v;
	char where[64], w2[96];
	jx_at(x, RD_RDOC_IPADDRESSES, NULL);
	if (jlist(x, doc))
		return RD_EMALFORMED;
	for (size_t i = 0; i < json_array_size(doc); i++) {
		json_t *o = json_array_get(doc, i), *so, *ifs;
		const char *ip;
		long long alloc, sid = -1;
		snprintf(where, sizeof(where), "[%zu]", i);
		snprintf(w2, sizeof(w2), "[%zu].subnet", i);
		if (jitem_obj(x, o, where) || jint(x, o, where, "alloc_type", 0, INT32_MIN, INT32_MAX, 0, &alloc) ||
		    jstr(x, o, where, "ip", J_NULL, &ip) || jget(x, o, where, "subnet", JT_OBJ, J_NULL, &so) ||
		    jget(x, o, where, "interface_set", JT_ARR, J_NULL | J_OPT, &ifs) ||
		    (so && jint(x, so, w2, "id", 0, 0, INT64_MAX, 0, &sid)))
			return RD_EMALFORMED;
		if ((alloc != 0 && alloc != 1 && alloc != 4) || !ip || !*ip || !so)
			continue;
		struct subnet *s = subnet_by_id(v, sid);
		if (!s)
			continue;
		uint32_t a;
		if (jipv4(x, ip, where, "ip", false, &a, NULL))
			return RD_EMALFORMED;
		for (size_t k = 0; k < json_array_size(ifs); k++) {
			json_t *f = json_array_get(ifs, k);
			const char *mac, *name, *sys;
			char fw[96], origin[160], b1[24], b2[24];
			uint8_t m[6];
			snprintf(fw, sizeof(fw), "[%zu].interface_set[%zu]", i, k);
			if (jitem_obj(x, f, fw) || jstr(x, f, fw, "mac_address", J_NULL | J_OPT, &mac) ||
			    jstr(x, f, fw, "name", J_NULL | J_OPT, &name) ||
			    jstr(x, f, fw, "system_id", J_NULL | J_OPT, &sys))
				return RD_EMALFORMED;
			if (!mac)
				continue;
			if (!mac_parse(mac, m))
				return jfail(x, fw, "mac_address", "'%.40s' is not a MAC address", mac);
			snprintf(origin, sizeof(origin), "ipaddresses/ %s (%s %s)", ip,
				 safe(sys ? sys : "?", b1, sizeof(b1)), safe(name ? name : "?", b2, sizeof(b2)));
			if (add_host(v, s, m, a, origin))
				return jnomem(x);
		}
	}
	return 0;
}

static int cmp_mac(const void *a, const void *b)
{
	return memcmp(a, b, 6);
}

/* 3.6+ reserved IPs: hosts rsvd-<id> for MACs not listed yet (LP#2110021). */
static int parse_reservedips(struct jx *x, const json_t *doc)
{
	rd_region_view_t *v = x->v;
	char where[64], w2[96];
	size_t n_macs = 0;
	uint8_t (*macs)[6];

	if (!doc)
		return 0;
	jx_at(x, RD_RDOC_RESERVEDIPS, NULL);
	if (jlist(x, doc))
		return RD_EMALFORMED;
	for (size_t i = 0; i < v->n_subnets; i++)
		n_macs += v->subnets[i].n_hosts;
	macs = vw_alloc(v, n_macs * 6);
	if (!macs)
		return jnomem(x);
	n_macs = 0;
	for (size_t i = 0; i < v->n_subnets; i++)
		for (size_t k = 0; k < v->subnets[i].n_hosts; k++)
			memcpy(macs[n_macs++], v->subnets[i].hosts[k].mac, 6);
	qsort(macs, n_macs, 6, cmp_mac);

	for (size_t i = 0; i < json_array_size(doc); i++) {
		json_t *o = json_array_get(doc, i), *so;
		const char *ip, *mac;
		long long id, sid = -1;
		snprintf(where, sizeof(where), "[%zu]", i);
		snprintf(w2, sizeof(w2), "[%zu].subnet", i);
		if (jitem_obj(x, o, where) || jint(x, o, where, "id", 0, 0, INT64_MAX, 0, &id) ||
		    jstr(x, o, where, "ip", 0, &ip) || jget(x, o, where, "subnet", JT_OBJ, J_NULL | J_OPT, &so) ||
		    jstr(x, o, where, "mac_address", J_NULL | J_OPT, &mac) ||
		    (so && jint(x, so, w2, "id", 0, 0, INT64_MAX, 0, &sid)))
			return RD_EMALFORMED;
		if (is_v6(ip) || !mac || !*mac)
			continue;
		uint32_t a;
		uint8_t m[6];
		if (jipv4(x, ip, where, "ip", false, &a, NULL))
			return RD_EMALFORMED;
		if (!mac_parse(mac, m))
			return jfail(x, where, "mac_address", "'%.40s' is not a MAC address", mac);
		struct subnet *s = NULL;
		if (so)
			s = subnet_by_id(v, sid);
		else
			for (size_t k = 0; k < v->n_subnets && !s; k++)
				if ((a & v->subnets[k].mask) == v->subnets[k].net)
					s = &v->subnets[k];
		if (!s || bsearch(m, macs, n_macs, 6, cmp_mac))
			continue;
		char origin[96];
		snprintf(origin, sizeof(origin), "reservedips/ id %lld (rsvd-%lld)", id, id);
		if (add_host(v, s, m, a, origin))
			return jnomem(x);
	}
	return 0;
}

static int cmp_host_mac(const void *a, const void *b)
{
	const struct host *p = a, *q = b;
	int c = memcmp(p->mac, q->mac, 6);
	return c ? c : (p->seq > q->seq) - (p->seq < q->seq);
}

static int cmp_host_ip(const void *a, const void *b)
{
	const struct host *p = a, *q = b;
	if (p->ip != q->ip)
		return (p->ip > q->ip) - (p->ip < q->ip);
	return (p->seq > q->seq) - (p->seq < q->seq);
}

/*
 * One host per MAC and per address in a subnet (rd_config_parse refuses
 * more), none inside a dynamic pool.  MAAS can list a MAC twice (two static
 * IPs on one interface, LP#2134484); ISC dhcpd then refuses to start on
 * every rack.  Keeping the first and warning about the rest keeps the other
 * thousands of hosts served.
 */
static int dedupe_hosts(rd_region_view_t *v, struct subnet *s)
{
	char b1[18], b2[16], b3[16];
	size_t n = s->n_hosts, w;

	if (!n)
		return 0;
	qsort(s->hosts, n, sizeof(*s->hosts), cmp_host_mac);
	w = 1;
	for (size_t i = 1; i < n; i++) {
		if (!memcmp(s->hosts[i].mac, s->hosts[w - 1].mac, 6)) {
			if (warn(v, "subnet %s: MAC %s already has %s (%s); %s (%s) skipped", s->cidr,
				 mac_str(s->hosts[i].mac, b1), ipv4_str(s->hosts[w - 1].ip, b2), s->hosts[w - 1].origin,
				 ipv4_str(s->hosts[i].ip, b3), s->hosts[i].origin))
				return RD_ENOMEM;
			continue;
		}
		s->hosts[w++] = s->hosts[i];
	}
	n = w;
	qsort(s->hosts, n, sizeof(*s->hosts), cmp_host_ip);
	w = 0;
	for (size_t i = 0; i < n; i++) {
		const struct host *h = &s->hosts[i];
		if (w && h->ip == s->hosts[w - 1].ip) {
			if (warn(v, "subnet %s: address %s is reserved for %s and %s; the second is skipped", s->cidr,
				 ipv4_str(h->ip, b2), mac_str(s->hosts[w - 1].mac, b1), h->origin))
				return RD_ENOMEM;
			continue;
		}
		bool in_pool = false;
		for (size_t p = 0; p < s->n_pools && !in_pool; p++)
			in_pool = h->ip >= s->pools[p].start && h->ip <= s->pools[p].end;
		if (in_pool) {
			if (warn(v, "subnet %s: host %s (%s) lies inside a dynamic range; skipped", s->cidr,
				 ipv4_str(h->ip, b2), h->origin))
				return RD_ENOMEM;
			continue;
		}
		s->hosts[w++] = *h;
	}
	s->n_hosts = w;
	return 0;
}

/* ------------------------------------------------- domains and settings */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int parse_domains(struct jx *x, const json_t *doc)
{
	rd_region_view_t *v = x->v;
	char where[64];
	jx_at(x, RD_RDOC_DOMAINS, NULL);
	if (jlist(x, doc))
		return RD_EMALFORMED;
	for (size_t i = 0; i < json_array_size(doc); i++) {
		json_t *o = json_array_get(doc, i);
		const char *name;
		bool auth, dflt;
		snprintf(where, sizeof(where), "[%zu]", i);
		if (jitem_obj(x, o, where) || jstr(x, o, where, "name", 0, &name) ||
		    jbool(x, o, where, "authoritative", 0, false, &auth) ||
		    jbool(x, o, where, "is_default", 0, false, &dflt))
			return RD_EMALFORMED;
		if (dflt) {
			if (v->domain)
				return jfail(x, where, "is_default", "a second default domain ('%.64s' and '%.64s')",
					     v->domain, name);
			if (!(v->domain = vstrdup(v, name)))
				return jnomem(x);
		} else if (auth) {
			if (VPUSH(v, v->search, v->n_search, v->cap_search))
				return jnomem(x);
			if (!(v->search[v->n_search++] = vstrdup(v, name)))
				return jnomem(x);
		}
	}
	if (!v->domain)
		return jfail(x, NULL, NULL, "no domain has is_default true");
	/* LP#1696485: [default] + sorted(other authoritative domains) */
	if (v->n_search > 1)
		qsort(v->search, v->n_search, sizeof(*v->search), cmp_str);
	return 0;
}

static int parse_setting_bool(struct jx *x, const json_t *doc, enum rd_region_doc d, bool dflt, bool *out)
{
	jx_at(x, d, NULL);
	*out = dflt;
	if (!doc || json_is_null(doc))
		return 0;
	if (!json_is_boolean(doc))
		return jfail(x, NULL, NULL, "expected true or false, found %s", jkind(doc));
	*out = json_is_true(doc);
	return 0;
}

/* ntp_servers with ntp_external_only: IPv4 literals, and names through the resolver. */
static int parse_ext_ntp(struct jx *x, const json_t *doc)
{
	rd_region_view_t *v = x->v;
	const char *list = "ntp.ubuntu.com";
	jx_at(x, RD_RDOC_NTP_SERVERS, NULL);
	if (doc && !json_is_null(doc)) {
		if (!json_is_string(doc))
			return jfail(x, NULL, NULL, "expected a string, found %s", jkind(doc));
		list = json_string_value(doc);
	}
	const char *p = list;
	while (*p) {
		size_t n = strcspn(p, " ,\t\r\n");
		if (n) {
			char name[256], b[256];
			uint32_t ip;
			if (n >= sizeof(name)) {
				if (warn(v, "ntp_servers: an entry of %zu characters is ignored", n))
					return jnomem(x);
			} else {
				memcpy(name, p, n);
				name[n] = '\0';
				if (is_v6(name)) {
					/* MAAS sends IPv6 NTP servers as dhcp6.sntp-servers; nothing for us */
				} else if (ipv4_parse(name, &ip)) {
					if (ip_push(v, &v->ext_ntp, ip, true))
						return jnomem(x);
				} else {
					uint32_t addrs[8];
					size_t got = 0;
					if (x->d->resolve)
						got = x->d->resolve(x->d->resolve_arg, name, addrs, 8);
					if (got > 8)
						got = 8;
					for (size_t k = 0; k < got; k++)
						if (ip_push(v, &v->ext_ntp, addrs[k], true))
							return jnomem(x);
					/* LP#1623994: unresolvable names are dropped */
					if (!got && warn(v, "NTP server '%s' does not resolve to an IPv4 address; "
							  "dropped", safe(name, b, sizeof(b))))
						return jnomem(x);
				}
			}
		}
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

static bool usable_v4(uint32_t ip)
{
	return (ip >> 24) != 127 && (ip >> 16) != 0xa9fe && ip != 0 && ip != 0xffffffffu;
}

static int parse_regions(struct jx *x, const json_t *doc)
{
	rd_region_view_t *v = x->v;
	char where[64];
	if (!doc)
		return 0;
	jx_at(x, RD_RDOC_REGIONS, NULL);
	if (jlist(x, doc))
		return RD_EMALFORMED;
	for (size_t i = 0; i < json_array_size(doc); i++) {
		json_t *o = json_array_get(doc, i), *ips;
		snprintf(where, sizeof(where), "[%zu]", i);
		if (jitem_obj(x, o, where) || jget(x, o, where, "ip_addresses", JT_ARR, J_NULL | J_OPT, &ips))
			return RD_EMALFORMED;
		int rl = jipv4_array(x, v, ips, where, "ip_addresses", usable_v4, &v->region_dns);
		if (rl)
			return rl;
	}
	return 0;
}

/* Snippets are ISC dhcpd text: we cannot apply them, so say which ones matter here. */
static int parse_snippets(struct jx *x, const json_t *doc)
{
	rd_region_view_t *v = x->v;
	char where[64], b1[80], b2[80];
	if (!doc)
		return 0;
	jx_at(x, RD_RDOC_SNIPPETS, NULL);
	if (jlist(x, doc))
		return RD_EMALFORMED;
	for (size_t i = 0; i < json_array_size(doc); i++) {
		json_t *o = json_array_get(doc, i), *so, *no;
		const char *name, *sys = NULL;
		bool enabled, global;
		long long sid = -1;
		char w2[96];
		snprintf(where, sizeof(where), "[%zu]", i);
		if (jitem_obj(x, o, where) || jstr(x, o, where, "name", 0, &name) ||
		    jbool(x, o, where, "enabled", 0, false, &enabled) ||
		    jbool(x, o, where, "global_snippet", J_OPT | J_NULL, false, &global) ||
		    jget(x, o, where, "subnet", JT_OBJ, J_NULL | J_OPT, &so) ||
		    jget(x, o, where, "node", JT_OBJ, J_NULL | J_OPT, &no))
			return RD_EMALFORMED;
		snprintf(w2, sizeof(w2), "[%zu].subnet", i);
		if (so && jint(x, so, w2, "id", 0, 0, INT64_MAX, 0, &sid))
			return RD_EMALFORMED;
		snprintf(w2, sizeof(w2), "[%zu].node", i);
		if (no && jstr(x, no, w2, "system_id", J_NULL | J_OPT, &sys))
			return RD_EMALFORMED;
		if (!enabled)
			continue;
		const struct subnet *s = so ? subnet_by_id(v, sid) : NULL;
		if (so && !s)
			continue;
		int rc = 0;
		safe(name, b1, sizeof(b1));
		if (s)
			rc = warn(v, "DHCP snippet '%s' on subnet %s is not applied (rackdhcpd does not run ISC "
				  "snippets)", b1, s->cidr);
		else if (no)
			rc = warn(v, "DHCP snippet '%s' on node %s is not applied (rackdhcpd does not run ISC "
				  "snippets)", b1, safe(sys ? sys : "?", b2, sizeof(b2)));
		else if (global || !so)
			rc = warn(v, "global DHCP snippet '%s' is not applied (rackdhcpd does not run ISC snippets)",
				  b1);
		if (rc)
			return jnomem(x);
	}
	return 0;
}

/* ------------------------------------------------- per-subnet options */

static const struct rack *rack_by_id(const rd_region_view_t *v, const char *id)
{
	if (!id)
		return NULL;
	if (!strcmp(id, v->system_id))
		return &v->self;
	for (size_t i = 0; i < v->n_peers; i++)
		if (!strcmp(v->peers[i]->system_id, id))
			return v->peers[i];
	return NULL;
}

/* The IPv4 addresses a rack has on interfaces of a VLAN. */
static int rack_ips_on(rd_region_view_t *v, const struct rack *r, long long vlan, struct iplist *out)
{
	if (!r)
		return 0;
	for (size_t i = 0; i < r->n_ifs; i++) {
		const struct iface *f = &r->ifs[i];
		if (f->vlan != vlan || !f->enabled)
			continue;
		for (size_t k = 0; k < f->n_links; k++)
			if (f->links[k].has_ip && ip_push(v, out, f->links[k].ip, true))
				return RD_ENOMEM;
	}
	return 0;
}

static bool in_subnet(const struct subnet *s, uint32_t ip)
{
	return (ip & s->mask) == (s->net & s->mask);
}

static int compute_subnet(rd_region_view_t *v, struct subnet *s)
{
	const struct vlan *sv = s->vlan->via;   /* the VLAN whose racks serve s */
	struct iplist racks = { 0 };

	/* next-server: our first address on the serving interface inside the subnet, else its first (relay) */
	const struct iface *f = sv->ifc;
	bool have = false;
	for (size_t k = 0; k < f->n_links && !have; k++)
		if (f->links[k].has_ip && in_subnet(s, f->links[k].ip)) {
			s->next_server = f->links[k].ip;
			have = true;
		}
	for (size_t k = 0; k < f->n_links && !have; k++)
		if (f->links[k].has_ip) {
			s->next_server = f->links[k].ip;
			have = true;
		}

	/* DNS (get_default_dns_servers + make_subnet_config) */
	if (s->allow_dns) {
		if (v->use_rack_proxy) {
			if (rack_ips_on(v, rack_by_id(v, sv->primary), sv->id, &racks) ||
			    rack_ips_on(v, rack_by_id(v, sv->secondary), sv->id, &racks))
				return RD_ENOMEM;
			/* addresses inside the subnet first, order kept otherwise */
			for (int pass = 0; pass < 2; pass++)
				for (size_t i = 0; i < racks.n; i++)
					if (in_subnet(s, racks.a[i]) == (pass == 0) &&
					    ip_push(v, &s->dns, racks.a[i], true))
						return RD_ENOMEM;
		}
		for (size_t i = 0; i < v->region_dns.n; i++)
			if (ip_push(v, &s->dns, v->region_dns.a[i], true))
				return RD_ENOMEM;
		if (!s->has_gw) {
			/* LP#1896684: without a gateway clients only reach the subnet */
			size_t w = 0;
			for (size_t i = 0; i < s->dns.n; i++)
				if (in_subnet(s, s->dns.a[i]))
					s->dns.a[w++] = s->dns.a[i];
			s->dns.n = w;
		}
	}
	for (size_t i = 0; i < s->user_dns.n; i++)
		if (ip_push(v, &s->dns, s->user_dns.a[i], true))
			return RD_ENOMEM;

	/* NTP (get_ntp_servers): external list, or self then peer in the subnet's space */
	if (v->ntp_external) {
		for (size_t i = 0; i < v->ext_ntp.n; i++)
			if (ip_push(v, &s->ntp, v->ext_ntp.a[i], true))
				return RD_ENOMEM;
	} else {
		uint32_t ip;
		if (ntp_ip(&v->self, s->space, &ip) && ip_push(v, &s->ntp, ip, true))
			return RD_ENOMEM;
		if (sv->peer && ntp_ip(sv->peer, s->space, &ip) && ip_push(v, &s->ntp, ip, true))
			return RD_ENOMEM;
	}
	return 0;
}

static int cmp_subnet(const void *a, const void *b)
{
	const struct subnet *p = a, *q = b;
	if (p->net != q->net)
		return (p->net > q->net) - (p->net < q->net);
	return (p->plen > q->plen) - (p->plen < q->plen);
}

/* --------------------------------------------------------------- build */

static int build(struct jx *x)
{
	rd_region_view_t *v = x->v;
	const rd_region_docs_t *d = x->d;
	int rc;

	jx_at(x, RD_RDOC_RACK, v->system_id);
	if ((rc = parse_rack(x, d->doc[RD_RDOC_RACK], v->system_id, &v->self)) ||
	    (rc = parse_fabrics(x, d->doc[RD_RDOC_FABRICS])) || (rc = decide_vlans(x)) ||
	    (rc = parse_subnets(x, d->doc[RD_RDOC_SUBNETS])) || (rc = parse_ipranges(x, d->doc[RD_RDOC_IPRANGES])) ||
	    (rc = parse_ipaddresses(x, d->doc[RD_RDOC_IPADDRESSES])) ||
	    (rc = parse_reservedips(x, d->doc[RD_RDOC_RESERVEDIPS])) ||
	    (rc = parse_domains(x, d->doc[RD_RDOC_DOMAINS])) ||
	    (rc = parse_setting_bool(x, d->doc[RD_RDOC_NTP_EXTERNAL_ONLY], RD_RDOC_NTP_EXTERNAL_ONLY, false,
				     &v->ntp_external)) ||
	    (rc = parse_setting_bool(x, d->doc[RD_RDOC_USE_RACK_PROXY], RD_RDOC_USE_RACK_PROXY, true,
				     &v->use_rack_proxy)) ||
	    (v->ntp_external && (rc = parse_ext_ntp(x, d->doc[RD_RDOC_NTP_SERVERS]))) ||
	    (rc = parse_regions(x, d->doc[RD_RDOC_REGIONS])) || (rc = parse_snippets(x, d->doc[RD_RDOC_SNIPPETS])))
		return rc;
	for (size_t i = 0; i < v->n_subnets; i++)
		if (dedupe_hosts(v, &v->subnets[i]) || compute_subnet(v, &v->subnets[i]))
			return jnomem(x);
	if (v->n_subnets > 1)
		qsort(v->subnets, v->n_subnets, sizeof(*v->subnets), cmp_subnet);
	return 0;
}

static int check_system_id(const char *id, char *err, size_t errlen)
{
	size_t n = id ? strlen(id) : 0;
	bool good = n >= 1 && n <= 64;
	for (size_t i = 0; good && i < n; i++)
		good = (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		       (id[i] >= '0' && id[i] <= '9') || id[i] == '-' || id[i] == '_';
	if (!good) {
		if (err && errlen)
			snprintf(err, errlen, "system_id: must be 1-64 letters, digits, '-' or '_'");
		return RD_EINVAL;
	}
	return 0;
}

/* What both entry points do first: clear err, check the id, a new empty view. */
static int view_begin(const char *system_id, char *err, size_t errlen, rd_region_view_t **v)
{
	if (err && errlen)
		err[0] = '\0';
	int rc = check_system_id(system_id, err, errlen);
	if (rc)
		return rc;
	*v = calloc(1, sizeof(**v));
	return *v ? 0 : RD_ENOMEM;
}

int rd_region_view_build(const rd_region_docs_t *docs, const char *system_id, rd_region_view_t **out,
			 char *err, size_t errlen)
{
	*out = NULL;
	rd_region_view_t *v;
	int rc = view_begin(system_id, err, errlen, &v);
	if (rc)
		return rc;
	struct jx x = { .v = v, .d = docs, .err = err, .errlen = errlen };
	v->system_id = vstrdup(v, system_id);
	rc = v->system_id ? build(&x) : jnomem(&x);
	if (rc) {
		rd_region_view_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

int rd_region_view_peers(const rd_region_docs_t *docs, const char *system_id, char ***ids, char *err,
			 size_t errlen)
{
	*ids = NULL;
	rd_region_view_t *v;
	int rc = view_begin(system_id, err, errlen, &v);
	if (rc)
		return rc;
	struct jx x = { .v = v, .d = docs, .err = err, .errlen = errlen };
	rc = parse_fabrics(&x, docs->doc[RD_RDOC_FABRICS]);
	size_t n = 0;
	char **list = NULL;
	if (!rc && !(list = calloc(v->n_vlans + 1, sizeof(*list))))
		rc = RD_ENOMEM;
	for (size_t i = 0; !rc && i < v->n_vlans; i++) {
		const struct vlan *vl = &v->vlans[i];
		const char *other = vlan_names(vl, system_id) ? vlan_other_rack(vl, system_id) : NULL;
		bool dup = false;
		for (size_t k = 0; other && k < n; k++)
			dup |= !strcmp(list[k], other);
		if (!other || dup)
			continue;
		if (check_system_id(other, NULL, 0)) {
			jx_at(&x, RD_RDOC_FABRICS, NULL);
			rc = jfail(&x, NULL, NULL, "VLAN %lld: '%.64s' is not a system id", vl->id, other);
			break;
		}
		if (!(list[n++] = strdup(other)))
			rc = RD_ENOMEM;
	}
	rd_region_view_free(v);
	if (rc) {
		rd_region_strv_free(list);
		return rc;
	}
	*ids = list;
	return 0;
}

size_t rd_region_view_n_warnings(const rd_region_view_t *v)
{
	return v->n_warnings;
}

const char *rd_region_view_warning(const rd_region_view_t *v, size_t i)
{
	return i < v->n_warnings ? v->warnings[i] : NULL;
}

size_t rd_region_view_n_interfaces(const rd_region_view_t *v)
{
	return v->n_ifaces;
}

const char *rd_region_view_interface(const rd_region_view_t *v, size_t i)
{
	return i < v->n_ifaces ? v->ifaces[i] : NULL;
}

/* -------------------------------------------------------------- render */

/* A region string as a YAML quoted scalar (region strings are UTF-8; NULL as ""). */
static void yaml_str(rd_gbuf_t *b, const char *s)
{
	rd_gbuf_yaml_quoted(b, s ? s : "", s ? strlen(s) : 0, false);
}

/* "<key>: <v quoted>\n" when v is set (key carries its indentation). */
static void yaml_kv(rd_gbuf_t *b, const char *key, const char *v)
{
	if (!v)
		return;
	rd_gbuf_printf(b, "%s: ", key);
	yaml_str(b, v);
	rd_gbuf_mem(b, "\n", 1);
}

static void sb_iplist(rd_gbuf_t *b, const char *indent, const char *key, const uint32_t *a, size_t n)
{
	char ip[16];
	if (!n)
		return;
	rd_gbuf_printf(b, "%s%s: [", indent, key);
	for (size_t i = 0; i < n; i++)
		rd_gbuf_printf(b, "%s%s", i ? ", " : "", ipv4_str(a[i], ip));
	rd_gbuf_mem(b, "]\n", 2);
}

static void sb_strlist(rd_gbuf_t *b, const char *indent, const char *key, const char *const *a, size_t n)
{
	if (!n)
		return;
	rd_gbuf_printf(b, "%s%s: [", indent, key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			rd_gbuf_mem(b, ", ", 2);
		yaml_str(b, a[i]);
	}
	rd_gbuf_mem(b, "]\n", 2);
}

/*
 * The file's server and region sections, written back as YAML.  Region sync
 * serves a configuration re-parsed from this text (rd_region_compose), so
 * every key of rd_cfg_server_t and rd_cfg_region_t must be written here, as
 * every key of a failover peer, subnet, pool and reservation must be by
 * render_cfg_failover and render_cfg_subnet below: a key left out silently
 * takes its default whenever a region section is present
 * (tests/unit/dhcpd/test_region_compose.c checks each one).
 */
static void render_local(rd_gbuf_t *b, const rd_config_t *base)
{
	const rd_cfg_server_t *sv = &base->server;
	const rd_ratelimit_cfg_t *rl = &sv->rate_limit;
	char ib[8];
	snprintf(ib, sizeof(ib), "  ");
	rd_gbuf_printf(b, "# from: the local configuration (server and region sections)\nserver:\n");
	sb_strlist(b, ib, "interfaces", (const char *const *)sv->interfaces, sv->n_interfaces);
	yaml_kv(b, "  state_dir", sv->state_dir);
	yaml_kv(b, "  control_socket", sv->control_socket);
	yaml_kv(b, "  pidfile", sv->pidfile);
	rd_gbuf_printf(b, "  workers: %u\n  durability: %s\n  log_level: %s\n", sv->workers,
		  rd_config_durability_name(sv->durability), rd_config_log_level_name(sv->log_level));
	yaml_kv(b, "  user", sv->user);
	yaml_kv(b, "  metrics", sv->metrics);
	yaml_kv(b, "  lease_events_socket", sv->lease_events_socket);
	rd_gbuf_printf(b, "  rate_limit:\n    per_client: {rate: %u, burst: %u}\n    global: {rate: %u, burst: %u}\n"
		  "    new_clients: {rate: %u, burst: %u}\n", rl->per_client.rate, rl->per_client.burst,
		  rl->global.rate, rl->global.burst, rl->new_clients.rate, rl->new_clients.burst);
	if (base->region.present) {
		const rd_cfg_region_t *r = &base->region;
		rd_gbuf_printf(b, "region:\n");
		sb_strlist(b, "  ", "maas_url", (const char *const *)r->maas_url, r->n_maas_url);
		rd_gbuf_printf(b, "  api_key_file: ");
		yaml_str(b, r->api_key_file);
		rd_gbuf_printf(b, "\n  system_id: ");
		yaml_str(b, r->system_id);
		rd_gbuf_printf(b, "\n  poll_interval: %u\n", r->poll_interval);
		yaml_kv(b, "  ca_file", r->ca_file);
		rd_gbuf_printf(b, "  connect_timeout: %u\n  timeout: %u\n  source: %s\n", r->connect_timeout,
			       r->timeout, rd_config_region_source_name(r->source));
	}
}

int rd_region_view_render(const rd_region_view_t *v, const rd_config_t *base, char **yaml, size_t *len)
{
	rd_gbuf_t b = { 0 };
	char ip[16], ip2[16], mac[18], cb[96];
	bool any_fo = false;

	*yaml = NULL;
	if (len)
		*len = 0;
	rd_gbuf_printf(&b, "# rackdhcpd configuration of rack %s, built from the MAAS region (region sync).\n"
		  "# Generated: edit the region, not this text.\n", v->system_id);
	if (base)
		render_local(&b, base);

	for (size_t i = 0; i < v->n_vlans; i++)
		any_fo |= v->vlans[i].served == SERVE_DIRECT && v->vlans[i].failover;
	rd_gbuf_printf(&b, "failover:%s\n", any_fo ? "" : " []");
	for (size_t i = 0; i < v->n_vlans; i++) {
		const struct vlan *vl = &v->vlans[i];
		if (vl->served != SERVE_DIRECT || !vl->failover)
			continue;
		/* §1.3: MAAS's hard-coded values; the secondary learns split/mclt from the primary */
		rd_gbuf_printf(&b, "  # from: fabrics/ VLAN %lld (%s.%s, vid %lld): primary %s, secondary %s\n", vl->id,
			  safe(vl->fabric, cb, 32), safe(vl->name, cb + 32, 32), vl->vid,
			  safe(vl->primary, cb + 64, 16), safe(vl->secondary, cb + 80, 16));
		rd_gbuf_printf(&b, "  - name: failover-vlan-%lld\n    role: %s\n    address: %s\n    peer_address: %s\n",
			  vl->id, vl->primary_role ? "primary" : "secondary", ipv4_str(vl->fo_addr, ip),
			  ipv4_str(vl->fo_peer, ip2));
		if (vl->primary_role)
			rd_gbuf_printf(&b, "    mclt: %u\n    split: 255\n", RD_CFG_DEFAULT_MCLT);
		rd_gbuf_printf(&b, "    max_response_delay: %u\n    max_unacked_updates: %u\n"
			  "    load_balance_max_seconds: %u\n", RD_CFG_DEFAULT_MAX_RESPONSE_DELAY,
			  RD_CFG_DEFAULT_MAX_UNACKED, RD_CFG_DEFAULT_LB_MAX_SECONDS);
	}

	rd_gbuf_printf(&b, "subnets:%s\n", v->n_subnets ? "" : " []");
	for (size_t i = 0; i < v->n_subnets; i++) {
		const struct subnet *s = &v->subnets[i];
		const struct vlan *vl = s->vlan;
		rd_gbuf_printf(&b, "  # from: subnets/ id %lld (%s) on VLAN %lld", s->id, s->cidr, vl->id);
		if (vl->served == SERVE_RELAYED)
			rd_gbuf_printf(&b, ", relayed to VLAN %lld", vl->via->id);
		rd_gbuf_printf(&b, "\n  - cidr: %s/%u\n", ipv4_str(s->net, ip), s->plen);
		if (s->has_gw)
			rd_gbuf_printf(&b, "    routers: [%s]\n", ipv4_str(s->gw, ip));
		sb_iplist(&b, "    ", "dns_servers", s->dns.a, s->dns.n);
		rd_gbuf_printf(&b, "    domain_name: ");
		yaml_str(&b, v->domain);
		rd_gbuf_mem(&b, "\n", 1);
		rd_gbuf_printf(&b, "    domain_search: [");
		yaml_str(&b, v->domain);
		for (size_t k = 0; k < v->n_search; k++) {
			rd_gbuf_mem(&b, ", ", 2);
			yaml_str(&b, v->search[k]);
		}
		rd_gbuf_mem(&b, "]\n", 2);
		sb_iplist(&b, "    ", "ntp_servers", s->ntp.a, s->ntp.n);
		/* LP#1735207: option 26 only when the VLAN's MTU is not the default */
		if (vl->mtu != 1500)
			rd_gbuf_printf(&b, "    mtu: %lld\n", vl->mtu);
		rd_gbuf_printf(&b, "    next_server: %s\n", ipv4_str(s->next_server, ip));
		sb_strlist(&b, "    ", "disabled_boot_architectures", s->dba, s->n_dba);
		if (s->n_pools)
			rd_gbuf_printf(&b, "    pools:\n");
		for (size_t k = 0; k < s->n_pools; k++) {
			const struct pool *p = &s->pools[k];
			rd_gbuf_printf(&b, "      # from: ipranges/ id %lld\n      - range: %s-%s\n", p->id,
				  ipv4_str(p->start, ip), ipv4_str(p->end, ip2));
			if (vl->served == SERVE_DIRECT && vl->failover)
				rd_gbuf_printf(&b, "        failover_peer: failover-vlan-%lld\n", vl->id);
		}
		if (s->n_hosts)
			rd_gbuf_printf(&b, "    reservations:\n");
		for (size_t k = 0; k < s->n_hosts; k++) {
			const struct host *h = &s->hosts[k];
			rd_gbuf_printf(&b, "      # from: %s\n      - {mac: \"%s\", address: %s}\n", h->origin,
				  mac_str(h->mac, mac), ipv4_str(h->ip, ip));
		}
	}
	if (b.oom) {
		free(b.p);
		return RD_ENOMEM;
	}
	*yaml = b.p;
	if (len)
		*len = b.len;
	return 0;
}

/* -------------------------------------------------------- from texts */

int rd_region_view_from_texts(const char *const texts[RD_RDOC_COUNT], const size_t lens[RD_RDOC_COUNT],
			      const char *const *peer_texts, const size_t *peer_lens, size_t n_peers,
			      const char *system_id, const rd_config_t *base, char **yaml, size_t *len,
			      char *err, size_t errlen)
{
	rd_region_docs_t d = { 0 };
	rd_region_view_t *v = NULL;
	char where[160];
	int rc = 0;

	*yaml = NULL;
	if (len)
		*len = 0;
	if (err && errlen)
		err[0] = '\0';
	for (int i = 0; i < RD_RDOC_COUNT && !rc; i++) {
		if (!texts[i])
			continue;
		rd_region_doc_path((enum rd_region_doc)i, system_id, where, sizeof(where));
		rc = rd_region_json_decode(texts[i], lens[i], where, &d.doc[i], err, errlen);
	}
	if (!rc && n_peers && !(d.peers = json_object()))
		rc = RD_ENOMEM;
	for (size_t i = 0; i < n_peers && !rc; i++) {
		json_t *p;
		rc = rd_region_json_decode(peer_texts[i], peer_lens[i], "rackcontrollers/<peer>/", &p, err, errlen);
		if (rc)
			break;
		json_t *id = json_is_object(p) ? json_object_get(p, "system_id") : NULL;
		if (!json_is_string(id)) {
			if (err && errlen)
				snprintf(err, errlen, "rackcontrollers/<peer>/: system_id: missing or not a string");
			json_decref(p);
			rc = RD_EMALFORMED;
			break;
		}
		if (json_object_set_new(d.peers, json_string_value(id), p))
			rc = RD_ENOMEM;
	}
	if (!rc)
		rc = rd_region_view_build(&d, system_id, &v, err, errlen);
	if (!rc)
		rc = rd_region_view_render(v, base, yaml, len);
	if (rc && err && errlen && !err[0])
		snprintf(err, errlen, "region view: %s", rd_strerror(rc));
	rd_region_view_free(v);
	for (int i = 0; i < RD_RDOC_COUNT; i++)
		json_decref(d.doc[i]);
	json_decref(d.peers);
	return rc;
}

/* ------------------------------------------------------------- parse */

#define RD_REGION_VIEW_NAME "region view"

int rd_region_view_parse(const char *yaml, size_t len, rd_config_t **out, char *err, size_t errlen)
{
	char msg[512];
	int rc = rd_config_parse(yaml, len, RD_REGION_VIEW_NAME, out, msg, sizeof(msg));
	if (!rc || !err || !errlen)
		return rc;
	/* "region view:LINE:COL: field: reason" -> name the MAAS object of that line */
	unsigned long line = 0;
	const char *p = msg + strlen(RD_REGION_VIEW_NAME ":");
	if (!strncmp(msg, RD_REGION_VIEW_NAME ":", strlen(RD_REGION_VIEW_NAME ":")))
		line = strtoul(p, NULL, 10);
	const char *from = NULL;
	size_t from_len = 0;
	unsigned long ln = 1;
	for (const char *q = yaml; line && q < yaml + len && ln <= line; ln++) {
		const char *eol = memchr(q, '\n', (size_t)(yaml + len - q));
		const char *end = eol ? eol : yaml + len;
		const char *t = q;
		while (t < end && *t == ' ')
			t++;
		if ((size_t)(end - t) > 8 && !memcmp(t, "# from: ", 8)) {
			from = t + 8;
			from_len = (size_t)(end - from);
		}
		if (!eol)
			break;
		q = eol + 1;
	}
	if (from)
		snprintf(err, errlen, "%s (from MAAS %.*s)", msg, (int)(from_len > 200 ? 200 : from_len), from);
	else
		snprintf(err, errlen, "%s", msg);
	return rc;
}

/* --------------------------------------------------------------- diff */

struct dl {
	rd_region_diff_fn fn;
	void *arg;
	int n;
	bool oom;
};

static void emit(struct dl *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct dl *d, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	d->fn(d->arg, line);
	d->n++;
}

/* The VLAN id in a MAAS failover peer name, or -1. */
static long long fo_vlan(const char *name)
{
	static const char pfx[] = "failover-vlan-";
	if (!name || strncmp(name, pfx, sizeof(pfx) - 1))
		return -1;
	const char *p = name + sizeof(pfx) - 1;
	long long id = 0;
	if (!*p)
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || id > (INT64_MAX - 9) / 10)
			return -1;
		id = id * 10 + (*p - '0');
	}
	return id;
}

static void fo_label(const rd_cfg_failover_t *f, char *buf, size_t len)
{
	long long id = fo_vlan(f->name);
	if (id >= 0)
		snprintf(buf, len, "VLAN %lld", id);
	else
		snprintf(buf, len, "failover peer %s", f->name);
}

static void subnet_label(const rd_cfg_subnet_t *s, char *buf, size_t len)
{
	char ip[16];
	snprintf(buf, len, "subnet %s/%u", ipv4_str(s->network, ip), s->prefix_len);
}

/* The VLAN of a subnet as its pools' failover peer name says, or -1. */
static long long subnet_vlan(const rd_cfg_subnet_t *s)
{
	for (size_t i = 0; i < s->n_pools; i++)
		if (s->pools[i].failover && fo_vlan(s->pools[i].failover->name) >= 0)
			return fo_vlan(s->pools[i].failover->name);
	return -1;
}

static void iplist_str(const uint32_t *a, size_t n, char *buf, size_t len)
{
	rd_sb_t b;
	rd_sb_init(&b, buf, len);
	if (!n)
		rd_sb_str(&b, "none");
	for (size_t i = 0; i < n; i++) {
		if (i)
			rd_sb_str(&b, ", ");
		rd_sb_ip(&b, a[i]);
	}
}

static void strlist_str(char *const *a, size_t n, char *buf, size_t len)
{
	rd_sb_t b;
	rd_sb_init(&b, buf, len);
	if (!n)
		rd_sb_str(&b, "none");
	for (size_t i = 0; i < n; i++) {
		if (i)
			rd_sb_str(&b, ", ");
		rd_sb_str(&b, a[i]);
	}
}

static void diff_failover(struct dl *d, const rd_config_t *o, const rd_config_t *n)
{
	char lbl[160], a[16], b[16];
	for (size_t i = 0; i < n->n_failovers; i++) {
		const rd_cfg_failover_t *f = &n->failovers[i];
		const rd_cfg_failover_t *g = o ? rd_config_failover(o, f->name) : NULL;
		fo_label(f, lbl, sizeof(lbl));
		if (!g) {
			emit(d, "%s added (%s, address %s, peer %s)", lbl, rd_config_role_name(f->role),
			     ipv4_str(f->address, a), ipv4_str(f->peer_address, b));
			continue;
		}
		if (f->role != g->role)
			emit(d, "%s: role %s -> %s", lbl, rd_config_role_name(g->role), rd_config_role_name(f->role));
		if (f->address != g->address)
			emit(d, "%s: address %s -> %s", lbl, ipv4_str(g->address, a), ipv4_str(f->address, b));
		if (f->peer_address != g->peer_address)
			emit(d, "%s: peer address %s -> %s", lbl, ipv4_str(g->peer_address, a),
			     ipv4_str(f->peer_address, b));
		if (f->port != g->port || f->peer_port != g->peer_port)
			emit(d, "%s: ports %u/%u -> %u/%u", lbl, g->port, g->peer_port, f->port, f->peer_port);
		if (f->mclt != g->mclt)
			emit(d, "%s: mclt %u -> %u", lbl, g->mclt, f->mclt);
		if (f->has_hba != g->has_hba || memcmp(f->hba, g->hba, sizeof(f->hba)))
			emit(d, "%s: load-balancing split changed", lbl);
		if (f->max_response_delay != g->max_response_delay ||
		    f->max_unacked_updates != g->max_unacked_updates ||
		    f->load_balance_max_seconds != g->load_balance_max_seconds ||
		    f->auto_partner_down != g->auto_partner_down)
			emit(d, "%s: failover timers changed", lbl);
		if (f->min_balance != g->min_balance || f->max_balance != g->max_balance ||
		    f->max_lease_misbalance != g->max_lease_misbalance ||
		    f->max_lease_ownership != g->max_lease_ownership)
			emit(d, "%s: pool balancing settings changed", lbl);
		if (f->ack_after_peer != g->ack_after_peer)
			emit(d, "%s: ack_after_peer %s -> %s", lbl, g->ack_after_peer ? "on" : "off",
			     f->ack_after_peer ? "on" : "off");
	}
	for (size_t i = 0; o && i < o->n_failovers; i++) {
		const rd_cfg_failover_t *g = &o->failovers[i];
		if (rd_config_failover(n, g->name))
			continue;
		fo_label(g, lbl, sizeof(lbl));
		emit(d, "%s removed", lbl);
	}
}

static const rd_cfg_subnet_t *subnet_at(const rd_config_t *c, uint32_t net)
{
	for (size_t i = 0; c && i < c->n_subnets; i++)
		if (c->subnets[i].network == net)
			return &c->subnets[i];
	return NULL;
}

static const char *fo_name(const rd_cfg_pool_t *p)
{
	return p->failover ? p->failover->name : "none";
}

static void diff_pools(struct dl *d, const char *lbl, const rd_cfg_subnet_t *o, const rd_cfg_subnet_t *n)
{
	char a[16], b[16], c2[16], e[16];
	bool *used_new = calloc(n->n_pools ? n->n_pools : 1, sizeof(*used_new));
	if (!used_new) {
		d->oom = true;
		return;
	}
	for (size_t i = 0; i < o->n_pools; i++) {
		const rd_cfg_pool_t *op = &o->pools[i];
		size_t best = SIZE_MAX;
		int score = 0;
		/* the same start, else the same end, else any overlap */
		for (size_t k = 0; k < n->n_pools; k++) {
			const rd_cfg_pool_t *np = &n->pools[k];
			int sc = np->start == op->start && np->end == op->end ? 4
			       : np->start == op->start ? 3
			       : np->end == op->end ? 2
			       : np->start <= op->end && op->start <= np->end ? 1 : 0;
			if (!used_new[k] && sc > score) {
				score = sc;
				best = k;
			}
		}
		ipv4_str(op->start, a);
		ipv4_str(op->end, b);
		if (best == SIZE_MAX) {
			emit(d, "%s: pool %s-%s removed", lbl, a, b);
			continue;
		}
		used_new[best] = true;
		const rd_cfg_pool_t *np = &n->pools[best];
		ipv4_str(np->start, c2);
		ipv4_str(np->end, e);
		if (score < 4) {
			const char *how = np->start >= op->start && np->end <= op->end ? "shrunk"
					: np->start <= op->start && np->end >= op->end ? "grown" : "moved";
			emit(d, "%s: pool %s-%s %s to %s-%s", lbl, a, b, how, c2, e);
		}
		if (strcmp(fo_name(op), fo_name(np)))
			emit(d, "%s: pool %s-%s failover peer %s -> %s", lbl, c2, e, fo_name(op), fo_name(np));
	}
	for (size_t k = 0; k < n->n_pools; k++)
		if (!used_new[k])
			emit(d, "%s: pool %s-%s added", lbl, ipv4_str(n->pools[k].start, a),
			     ipv4_str(n->pools[k].end, b));
	free(used_new);
}

static void diff_reservations(struct dl *d, const char *lbl, const rd_config_t *oc, const rd_cfg_subnet_t *o,
			      const rd_config_t *nc, const rd_cfg_subnet_t *n)
{
	size_t added = 0, removed = 0, changed = 0;
	char m[18], a[16], b[16];
	enum { SHOWN = 8 };

	for (size_t i = 0; i < n->n_reservations; i++) {
		const rd_cfg_reservation_t *r = &n->reservations[i];
		const rd_cfg_reservation_t *q = rd_config_reservation_by_mac(oc, o, r->htype, r->mac, 6);
		if (!q) {
			added++;
			continue;
		}
		if (q->addr != r->addr) {
			if (changed++ < SHOWN)
				emit(d, "%s: reservation %s %s -> %s", lbl, mac_str(r->mac, m), ipv4_str(q->addr, a),
				     ipv4_str(r->addr, b));
		} else if ((q->hostname == NULL) != (r->hostname == NULL) ||
			   (q->hostname && strcmp(q->hostname, r->hostname))) {
			if (changed++ < SHOWN)
				emit(d, "%s: reservation %s hostname changed", lbl, mac_str(r->mac, m));
		}
	}
	for (size_t i = 0; i < o->n_reservations; i++) {
		const rd_cfg_reservation_t *q = &o->reservations[i];
		if (!rd_config_reservation_by_mac(nc, n, q->htype, q->mac, 6))
			removed++;
	}
	if (changed > SHOWN)
		emit(d, "%s: %zu more reservations changed", lbl, changed - SHOWN);
	if (added)
		emit(d, "%s: %zu reservation%s added", lbl, added, added == 1 ? "" : "s");
	if (removed)
		emit(d, "%s: %zu reservation%s removed", lbl, removed, removed == 1 ? "" : "s");
}

static void diff_subnet(struct dl *d, const rd_config_t *oc, const rd_cfg_subnet_t *o, const rd_config_t *nc,
			const rd_cfg_subnet_t *n)
{
	char lbl[64], a[512], b[512], x1[16], x2[16];
	subnet_label(o, lbl, sizeof(lbl));
	if (o->prefix_len != n->prefix_len) {
		subnet_label(n, a, sizeof(a));
		emit(d, "%s resized to %s", lbl, a);
		subnet_label(n, lbl, sizeof(lbl));
	}
#define LIST_DIFF(field, nfield, what)                                                             \
	if (o->nfield != n->nfield || (o->nfield && memcmp(o->field, n->field, o->nfield * sizeof(*o->field)))) { \
		iplist_str(o->field, o->nfield, a, sizeof(a));                                     \
		iplist_str(n->field, n->nfield, b, sizeof(b));                                     \
		emit(d, "%s: " what " %s -> %s", lbl, a, b);                                       \
	}
	LIST_DIFF(routers, n_routers, "routers")
	LIST_DIFF(dns_servers, n_dns_servers, "DNS servers")
	LIST_DIFF(ntp_servers, n_ntp_servers, "NTP servers")
#undef LIST_DIFF
	if ((o->domain_name == NULL) != (n->domain_name == NULL) ||
	    (o->domain_name && strcmp(o->domain_name, n->domain_name)))
		emit(d, "%s: domain name %s -> %s", lbl, o->domain_name ? o->domain_name : "none",
		     n->domain_name ? n->domain_name : "none");
	strlist_str(o->domain_search, o->n_domain_search, a, sizeof(a));
	strlist_str(n->domain_search, n->n_domain_search, b, sizeof(b));
	if (strcmp(a, b))
		emit(d, "%s: search list %s -> %s", lbl, a, b);
	strlist_str(o->disabled_boot_architectures, o->n_disabled_boot_architectures, a, sizeof(a));
	strlist_str(n->disabled_boot_architectures, n->n_disabled_boot_architectures, b, sizeof(b));
	if (strcmp(a, b))
		emit(d, "%s: disabled boot architectures %s -> %s", lbl, a, b);
	if (o->mtu != n->mtu)
		emit(d, "%s: MTU %u -> %u", lbl, o->mtu ? o->mtu : 1500, n->mtu ? n->mtu : 1500);
	if (o->next_server != n->next_server)
		emit(d, "%s: next-server %s -> %s", lbl, o->next_server ? ipv4_str(o->next_server, x1) : "auto",
		     n->next_server ? ipv4_str(n->next_server, x2) : "auto");
	if (o->lease_time != n->lease_time || o->min_lease_time != n->min_lease_time ||
	    o->max_lease_time != n->max_lease_time || o->pxe_lease_time != n->pxe_lease_time)
		emit(d, "%s: lease times changed", lbl);
	diff_pools(d, lbl, o, n);
	diff_reservations(d, lbl, oc, o, nc, n);
}

int rd_region_view_diff(const rd_config_t *old, const rd_config_t *new_cfg, rd_region_diff_fn fn, void *arg)
{
	struct dl d = { .fn = fn, .arg = arg };
	char lbl[64];

	if (!new_cfg || !fn)
		return RD_EINVAL;
	diff_failover(&d, old, new_cfg);
	for (size_t i = 0; i < new_cfg->n_subnets; i++) {
		const rd_cfg_subnet_t *n = &new_cfg->subnets[i];
		const rd_cfg_subnet_t *o = subnet_at(old, n->network);
		if (o) {
			diff_subnet(&d, old, o, new_cfg, n);
			continue;
		}
		long long vid = subnet_vlan(n);
		char vl[40] = "";
		if (vid >= 0)
			snprintf(vl, sizeof(vl), " on VLAN %lld", vid);
		subnet_label(n, lbl, sizeof(lbl));
		emit(&d, "%s added%s (%zu pool%s, %zu reservation%s)", lbl, vl, n->n_pools, n->n_pools == 1 ? "" : "s",
		     n->n_reservations, n->n_reservations == 1 ? "" : "s");
	}
	for (size_t i = 0; old && i < old->n_subnets; i++) {
		const rd_cfg_subnet_t *o = &old->subnets[i];
		if (subnet_at(new_cfg, o->network))
			continue;
		subnet_label(o, lbl, sizeof(lbl));
		emit(&d, "%s removed", lbl);
	}
	return d.oom ? RD_ENOMEM : d.n;
}

/* ------------------------------------------------------------ compose */

/*
 * A parsed configuration's failover peers and subnets written back as YAML,
 * every value explicit, so that the region's view and the file's own
 * subnets can be put into one text and validated together by the one
 * loader.  Parsing what this writes gives the same objects back (the unit
 * test checks it with rd_region_view_diff and field by field).
 */
static void render_cfg_failover(rd_gbuf_t *b, const rd_cfg_failover_t *f)
{
	char a[16], p[16];
	rd_gbuf_printf(b, "  - name: ");
	yaml_str(b, f->name);
	rd_gbuf_printf(b, "\n    role: %s\n    address: %s\n    port: %u\n    peer_address: %s\n    peer_port: %u\n"
		       "    mclt: %u\n", rd_config_role_name(f->role), ipv4_str(f->address, a), f->port,
		       ipv4_str(f->peer_address, p), f->peer_port, f->mclt);
	if (f->has_split) {
		rd_gbuf_printf(b, "    split: %u\n", f->split);
	} else if (f->has_hba) {
		rd_gbuf_printf(b, "    hba: \"");
		for (size_t i = 0; i < sizeof(f->hba); i++)
			rd_gbuf_printf(b, "%02x", f->hba[i]);
		rd_gbuf_printf(b, "\"\n");
	}
	rd_gbuf_printf(b, "    max_response_delay: %u\n    max_unacked_updates: %u\n    load_balance_max_seconds: %u\n"
		       "    auto_partner_down: %u\n    ack_after_peer: %s\n", f->max_response_delay,
		       f->max_unacked_updates, f->load_balance_max_seconds, f->auto_partner_down,
		       f->ack_after_peer ? "true" : "false");
	rd_gbuf_printf(b, "    min_balance: %u\n    max_balance: %u\n    max_lease_misbalance: %u\n"
		       "    max_lease_ownership: %u\n", f->min_balance, f->max_balance, f->max_lease_misbalance,
		       f->max_lease_ownership);
}

static void render_cfg_subnet(rd_gbuf_t *b, const rd_cfg_subnet_t *s)
{
	char ip[16], ip2[16], mac[18];
	rd_gbuf_printf(b, "  - cidr: %s/%u\n", ipv4_str(s->network, ip), s->prefix_len);
	sb_iplist(b, "    ", "routers", s->routers, s->n_routers);
	sb_iplist(b, "    ", "dns_servers", s->dns_servers, s->n_dns_servers);
	yaml_kv(b, "    domain_name", s->domain_name);
	sb_strlist(b, "    ", "domain_search", (const char *const *)s->domain_search, s->n_domain_search);
	sb_iplist(b, "    ", "ntp_servers", s->ntp_servers, s->n_ntp_servers);
	if (s->mtu)
		rd_gbuf_printf(b, "    mtu: %u\n", s->mtu);
	rd_gbuf_printf(b, "    lease_time: %u\n    pxe_lease_time: %u\n    min_lease_time: %u\n    max_lease_time: %u\n"
		       "    decline_hold_time: %u\n    ignore_client_ids: %s\n    boot_http_port: %u\n",
		       s->lease_time, s->pxe_lease_time, s->min_lease_time, s->max_lease_time, s->decline_hold_time,
		       s->ignore_client_ids ? "true" : "false", s->boot_http_port);
	if (s->next_server)
		rd_gbuf_printf(b, "    next_server: %s\n", ipv4_str(s->next_server, ip));
	sb_strlist(b, "    ", "disabled_boot_architectures", (const char *const *)s->disabled_boot_architectures,
		   s->n_disabled_boot_architectures);
	if (s->n_pools)
		rd_gbuf_printf(b, "    pools:\n");
	for (size_t k = 0; k < s->n_pools; k++) {
		const rd_cfg_pool_t *p = &s->pools[k];
		rd_gbuf_printf(b, "      - range: %s-%s\n", ipv4_str(p->start, ip), ipv4_str(p->end, ip2));
		if (p->failover)
			yaml_kv(b, "        failover_peer", p->failover->name);
	}
	if (s->n_reservations)
		rd_gbuf_printf(b, "    reservations:\n");
	for (size_t k = 0; k < s->n_reservations; k++) {
		const rd_cfg_reservation_t *r = &s->reservations[k];
		rd_gbuf_printf(b, "      - mac: \"%s\"\n        address: %s\n", mac_str(r->mac, mac),
			       ipv4_str(r->addr, ip));
		yaml_kv(b, "        hostname", r->hostname);
	}
}

static bool cfg_subnets_overlap(const rd_cfg_subnet_t *a, const rd_cfg_subnet_t *b)
{
	uint32_t m = a->mask & b->mask; /* the shorter prefix */
	return (a->network & m) == (b->network & m);
}

static bool fo_in(const rd_cfg_failover_t *const *list, size_t n, const rd_cfg_failover_t *f)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == f)
			return true;
	return false;
}

static void notef(rd_region_diff_fn note, void *arg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void notef(rd_region_diff_fn note, void *arg, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	if (!note)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	note(arg, line);
}

int rd_region_compose(const rd_config_t *file, const rd_config_t *view, rd_region_diff_fn note, void *arg,
		      rd_config_t **out, char *err, size_t errlen)
{
	rd_gbuf_t b = { 0 };
	char l1[64], l2[64];
	int rc;

	*out = NULL;
	if (!file || !file->region.present)
		return RD_EINVAL;
	bool merge = file->region.source == RD_REGION_SOURCE_MERGE;
	size_t nf = file->n_failovers, ns = file->n_subnets;
	/* what of the file is kept: failover peers first (a file subnet whose
	 * pool names a dropped peer goes with it) */
	const rd_cfg_failover_t **keep_fo = calloc(nf ? nf : 1, sizeof(*keep_fo));
	bool *keep_sn = calloc(ns ? ns : 1, sizeof(*keep_sn));
	size_t n_keep_fo = 0;
	if (!keep_fo || !keep_sn) {
		free(keep_fo);
		free(keep_sn);
		return RD_ENOMEM;
	}
	for (size_t i = 0; merge && i < nf; i++) {
		const rd_cfg_failover_t *f = &file->failovers[i];
		if (view && rd_config_failover(view, f->name)) {
			notef(note, arg, "failover peer %s of %s not used: the region defines one of that name", f->name,
			      file->filename ? file->filename : "the file");
			continue;
		}
		keep_fo[n_keep_fo++] = f;
	}
	for (size_t i = 0; merge && i < ns; i++) {
		const rd_cfg_subnet_t *s = &file->subnets[i];
		const rd_cfg_subnet_t *clash = NULL;
		for (size_t k = 0; view && k < view->n_subnets && !clash; k++)
			if (cfg_subnets_overlap(s, &view->subnets[k]))
				clash = &view->subnets[k];
		subnet_label(s, l1, sizeof(l1));
		if (clash) {
			subnet_label(clash, l2, sizeof(l2));
			notef(note, arg, "%s of %s not served: it overlaps the region's %s (the region wins)", l1,
			      file->filename ? file->filename : "the file", l2);
			continue;
		}
		const rd_cfg_pool_t *orphan = NULL;
		for (size_t p = 0; p < s->n_pools && !orphan; p++)
			if (s->pools[p].failover && !fo_in(keep_fo, n_keep_fo, s->pools[p].failover))
				orphan = &s->pools[p];
		if (orphan) {
			notef(note, arg, "%s of %s not served: its pool names failover peer %s, which the region "
			      "redefines", l1, file->filename ? file->filename : "the file", orphan->failover->name);
			continue;
		}
		keep_sn[i] = true;
	}

	rd_gbuf_printf(&b, "# rackdhcpd configuration: %s combined with the MAAS region's view (region.source: %s).\n",
		       file->filename ? file->filename : "the file", rd_config_region_source_name(file->region.source));
	render_local(&b, file);
	size_t n_fo = n_keep_fo + (view ? view->n_failovers : 0), n_sn = 0;
	rd_gbuf_printf(&b, "failover:%s\n", n_fo ? "" : " []");
	for (size_t i = 0; view && i < view->n_failovers; i++)
		render_cfg_failover(&b, &view->failovers[i]);
	for (size_t i = 0; i < n_keep_fo; i++)
		render_cfg_failover(&b, keep_fo[i]);
	for (size_t i = 0; i < ns; i++)
		n_sn += keep_sn[i];
	n_sn += view ? view->n_subnets : 0;
	rd_gbuf_printf(&b, "subnets:%s\n", n_sn ? "" : " []");
	for (size_t i = 0; view && i < view->n_subnets; i++)
		render_cfg_subnet(&b, &view->subnets[i]);
	for (size_t i = 0; i < ns; i++)
		if (keep_sn[i])
			render_cfg_subnet(&b, &file->subnets[i]);
	free(keep_fo);
	free(keep_sn);
	if (b.oom) {
		free(b.p);
		return RD_ENOMEM;
	}
	char name[4200];
	snprintf(name, sizeof(name), "%s + region view", file->filename ? file->filename : "<config>");
	rc = rd_config_parse(b.p, b.len, name, out, err, errlen);
	free(b.p);
	return rc;
}
