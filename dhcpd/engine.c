/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * engine.c — the DHCP decision engine (see engine.h): RFC 2131 §4.3 for one
 * client message, as a pure function of (request, now, config, lease table).
 *
 * Steps: pick the subnet (§4.3.1 / RFC 3011 / RFC 3527), derive the client
 * key, then per message type find or allocate the address, build the reply
 * (options of the subnet, lease times, boot parameters, 82/118 echoed) and
 * the new lease version, and say where the reply goes (§4.1).
 *
 * Policies chosen here (the RFC leaves them to the server):
 *  - Offers.  A DHCPOFFER is published as a lease version: state ACTIVE,
 *    flag RD_ENGINE_F_OFFERED, ends = now + RD_ENGINE_OFFER_HOLD (60 s),
 *    with the client's key.  So a second DISCOVER of the same client finds
 *    the same address (by client), a REQUEST from that client is ACKed, one
 *    from another client for that address is NAKed, and the table's expiry
 *    frees the address when no REQUEST comes.  The claim taken while
 *    choosing the address lives only until that version is published (or
 *    rd_engine_abort()).  A client that already holds a real ACTIVE binding
 *    is re-offered its address without a new version.  A client that
 *    selects another server (SELECTING, option 54 not ours) makes us forget
 *    our offer: the offered version becomes FREE (client kept, so it is the
 *    client's "previous address" if it comes back).
 *  - Authoritative (default, engine.h in->not_authoritative = false):
 *    SELECTING / INIT-REBOOT / REBINDING for an address off the client's
 *    subnet is NAKed; RENEWING for an address we have no lease for is NAKed
 *    (the client unicast to us, so we were its server and lost the lease).
 *    Whatever that setting, a request for an address leased to someone
 *    else, or reserved for someone else, is NAKed; INIT-REBOOT from a
 *    client we have no record of in the subnet, and REBINDING for a lease
 *    unknown to us, are ignored (§4.3.2 "MUST remain silent": a peer may
 *    know it).
 *  - DECLINE (§4.3.3): the address becomes ABANDONED with no client until
 *    now + decline_hold_time.  Declines of a reserved address only log.
 *    ABANDONED addresses whose hold is over are reused only when a pool is
 *    otherwise exhausted (as ISC does), without a claim: the table's CAS
 *    decides between two engines racing for one.
 *  - RELEASE (§4.3.4): only when ciaddr holds the client's ACTIVE lease;
 *    the version becomes RELEASED, keeping the client so that it gets the
 *    address back first.
 *  - Lease time: option 51 clamped to [min_lease_time, max_lease_time],
 *    lease_time when absent; pxe_lease_time whatever was asked for clients
 *    whose option 60 starts with "PXE" (MAAS's class "PXE", boot.c decides).
 *    T1 = 50 %, T2 = 87.5 % (§4.4.5).
 *  - Failover is not wired yet: tstp = ends on every ACK.
 *  - Server identifier: our address on the receiving link (in->link_addr),
 *    also for relayed clients — the config has no per-relay server address
 *    yet.  With no link address the engine uses the subnet's next_server.
 *  - BOOTP (no option 53) is not served: dropped with "BOOTP not served".
 *  - Only one lease changes per message: a client moving to a new address
 *    leaves its old binding to expire on its own.
 *  - Addresses that left the pools (a range shrunk, moved or removed while
 *    leased; still on the subnet): the lease stays, nobody else gets the
 *    address, and its client's REQUEST (renewing, rebinding, init-reboot,
 *    selecting) and DISCOVER are answered with the lease it holds, with
 *    what is left of its time and never more: ACK with ends unchanged and
 *    option 51 = ends - now (T1/T2 from that).  Once less than the subnet's
 *    min_lease_time (at least 2 s) is left, or the lease has ended, the
 *    request is NAKed (a DISCOVER gets a new address) and the client moves
 *    to the new ranges: halving T1s would otherwise make the client renew
 *    ever faster in its last seconds.
 *    An offer that was never requested is not a binding: NAKed.  For
 *    comparison: Kea's allocation engine refuses a requested address that
 *    is in no pool of the subnet and not reserved for the client (NAK at
 *    the first renewal); ISC dhcpd 4.4 keeps no lease for an address out of
 *    every range (dropped when the lease file is read, "no subnet") and
 *    ignores a renewal for it ("unknown lease"), so the client keeps it
 *    until it ends, renewing in vain, while its source says the intended
 *    behaviour is to keep such a lease until it expires and never renew it.
 *    The rule here is that intent, with an answer instead of silence: the
 *    client is not cut off mid-lease (MAAS machines boot and deploy over
 *    these leases) and moves to the new range at its lease's end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "rackdhcp/config.h"

#include "rackdhcp/boot.h"
#include "rackdhcp/engine.h"
#include "rackdhcp/fmt.h"
#include "rackdhcp/table.h"

#define IP_UDP_HEADERS 28               /* IPv4 (20) + UDP (8) */
#define RD_CLIENT_PORT 68
#define RD_SERVER_PORT 67
#define MAX_REJECTS 8                   /* claimed-but-unusable addresses per DISCOVER */
#define RECLAIM_SCAN_MAX 65536          /* addresses looked at per DISCOVER when a subnet is full */

/* Everything one decision needs. */
struct ctx {
	const rd_engine_in_t *in;
	const rd_dhcp_t *req;
	rd_engine_out_t *out;
	rd_table_t *t;
	const rd_cfg_subnet_t *sn;
	const rd_cfg_reservation_t *res;   /* the client's reservation in sn */
	uint32_t server_id;

	uint8_t key[RD_LEASE_KEY_MAX];
	size_t key_len;
	bool key_cid;
	const uint8_t *cid;                /* stored client-id (NULL with ignore_client_ids) */
	size_t cid_len;
	char host[RD_LEASE_MAX_HOSTNAME + 1];
	size_t host_len;

	rd_boot_reply_t boot;
	uint32_t lease_time;
};

/* ------------------------------------------------------------------ small helpers */

static void fmt_ip(uint32_t a, char *buf, size_t cap)
{
	(void)cap;   /* always >= 16 here */
	rd_fmt_ip(buf, a);
}

/* Shorthand for one address in a reason: IP(a) expands to a temporary buffer. */
struct ipbuf {
	char s[16];
};

static struct ipbuf ip_str(uint32_t a)
{
	struct ipbuf b;

	fmt_ip(a, b.s, sizeof(b.s));
	return b;
}

#define IP(a) (ip_str(a).s)

__attribute__((format(printf, 2, 3)))
static void reason(rd_engine_out_t *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

/* "<what><addr> (<why>)": the reason of every OFFER and ACK, so built
 * without printf. */
static void reason_addr(rd_engine_out_t *out, const char *what, uint32_t addr, const char *why)
{
	rd_sb_t b;
	rd_sb_init(&b, out->reason, sizeof(out->reason));
	rd_sb_str(&b, what);
	rd_sb_ip(&b, addr);
	rd_sb_mem(&b, " (", 2);
	rd_sb_str(&b, why);
	rd_sb_mem(&b, ")", 1);
}

/* DROP with a reason; returns 0 so callers can `return drop(...)`. */
__attribute__((format(printf, 2, 3)))
static int drop(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	c->out->action = RD_ENGINE_DROP;
	va_start(ap, fmt);
	vsnprintf(c->out->reason, sizeof(c->out->reason), fmt, ap);
	va_end(ap);
	return 0;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool in_subnet(const rd_cfg_subnet_t *s, uint32_t a)
{
	return (a & s->mask) == s->network;
}

/* SN(s): "network/prefix" in a temporary buffer, formatted only where a
 * message needs it (not on every request). */
struct snbuf {
	char s[32];
};

static struct snbuf subnet_str(const rd_cfg_subnet_t *s)
{
	struct snbuf buf;
	rd_sb_t b;
	rd_sb_init(&b, buf.s, sizeof(buf.s));
	rd_sb_ip(&b, s->network);
	rd_sb_mem(&b, "/", 1);
	rd_sb_u(&b, s->prefix_len);
	return buf;
}

#define SN(sn) (subnet_str(sn).s)

/* Mirrors the table's rule: versions that keep the address out of allocation. */
static bool lease_takes(const rd_lease_t *l)
{
	if (l->flags & RD_LEASE_F_RESERVED)
		return true;
	return l->state == RD_LEASE_ACTIVE || l->state == RD_LEASE_ABANDONED ||
	       l->state == RD_LEASE_BACKUP;
}

/* ACTIVE and not yet over (ends 0 = infinite). */
static bool lease_live(const rd_lease_t *l, uint32_t now)
{
	return l->state == RD_LEASE_ACTIVE && (l->ends == 0 || l->ends > now);
}

static bool lease_offered(const rd_lease_t *l)
{
	return l->state == RD_LEASE_ACTIVE && (l->flags & RD_ENGINE_F_OFFERED);
}

static bool lease_is_client(const struct ctx *c, const rd_lease_t *l)
{
	uint8_t k[RD_LEASE_KEY_MAX];
	size_t n;

	if (!l)
		return false;
	n = rd_lease_key(l, k);
	return n && n == c->key_len && memcmp(k, c->key, n) == 0;
}

/* ------------------------------------------------------------------ subnet and client */

/* What select_subnet went by, formatted only for a message that names it. */
struct what {
	const char *kind;
	uint32_t addr;
};

struct whatbuf {
	char s[64];
};

static struct whatbuf what_str(const struct what *w)
{
	struct whatbuf buf;
	rd_sb_t b;
	rd_sb_init(&b, buf.s, sizeof(buf.s));
	rd_sb_str(&b, w->kind);
	rd_sb_ip(&b, w->addr);
	return buf;
}

#define WHAT(w) (what_str(w).s)

/*
 * Which subnet the client is on (§4.3.1, RFC 3011, RFC 3527):
 * option 118 > 82.5 > giaddr > ciaddr of a unicast renewal (or an INFORM)
 * > the receiving link.
 */
static const rd_cfg_subnet_t *select_subnet(struct ctx *c, struct what *what)
{
	const rd_config_t *cfg = c->in->cfg;
	const rd_dhcp_t *m = c->req;
	const uint8_t *v;
	size_t len;

	if ((v = rd_dhcp_get(m, RD_OPT_SUBNET_SELECTION, &len)) && len == 4) {
		*what = (struct what){ "subnet selection ", get_be32(v) };
		return rd_config_subnet_for(cfg, what->addr);
	}
	if ((v = rd_dhcp_agent_get(m, RD_AGENT_LINK_SELECTION, &len)) && len == 4) {
		*what = (struct what){ "link selection ", get_be32(v) };
		return rd_config_subnet_for(cfg, what->addr);
	}
	if (m->giaddr) {
		*what = (struct what){ "relay ", m->giaddr };
		return rd_config_subnet_for(cfg, m->giaddr);
	}
	if (m->ciaddr && (c->in->via_unicast || m->msgtype == RD_DHCPINFORM)) {
		*what = (struct what){ "ciaddr ", m->ciaddr };
		return rd_config_subnet_for(cfg, m->ciaddr);
	}
	*what = (struct what){ "link ", c->in->link_addr };
	if (!c->in->link_addr)
		return NULL;
	return rd_config_subnet_for(cfg, c->in->link_addr);
}

size_t rd_engine_client_key(const rd_dhcp_t *m, bool use_client_id, uint8_t *key, const uint8_t **cid)
{
	size_t len;
	const uint8_t *v = use_client_id ? rd_dhcp_get(m, RD_OPT_CLIENT_ID, &len) : NULL;

	if (cid)
		*cid = NULL;
	if (v && len > 0 && len <= RD_LEASE_MAX_CLIENT_ID) {
		memcpy(key, v, len);
		if (cid)
			*cid = v;
		return len;
	}
	if (m->hlen == 0 || m->hlen > RD_DHCP_CHADDR_LEN)
		return 0;
	key[0] = m->htype;
	memcpy(key + 1, m->chaddr, m->hlen);
	return (size_t)m->hlen + 1;
}

/* The client key of the subnet's choice (rd_engine_client_key). */
static int client_key(struct ctx *c)
{
	const uint8_t *cid;

	c->key_len = rd_engine_client_key(c->req, !c->sn->ignore_client_ids, c->key, &cid);
	if (!c->key_len)
		return -1;
	if (cid) {
		c->key_cid = true;
		c->cid = cid;
		c->cid_len = c->key_len;
	}
	return 0;
}

/* Printable, NUL-free prefix of a hostname (stops at the first NUL). */
static void set_host(struct ctx *c, const uint8_t *v, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n < RD_LEASE_MAX_HOSTNAME; i++) {
		if (v[i] == 0)
			break;
		c->host[n++] = (char)v[i];
	}
	c->host[n] = '\0';
	c->host_len = n;
}

/* Hostname: option 12, else the name of option 81 (RFC 4702 §2.3, ASCII or wire form). */
static void client_host(struct ctx *c)
{
	const uint8_t *v;
	size_t len;

	c->host_len = 0;
	c->host[0] = '\0';
	if ((v = rd_dhcp_get(c->req, RD_OPT_HOSTNAME, &len)) && len) {
		set_host(c, v, len);
		return;
	}
	if (!(v = rd_dhcp_get(c->req, RD_OPT_CLIENT_FQDN, &len)) || len <= 3)
		return;
	if (!(v[0] & 0x04)) {                   /* E = 0: ASCII */
		set_host(c, v + 3, len - 3);
		return;
	}
	/* E = 1: uncompressed DNS wire labels. */
	size_t i = 3, n = 0;
	while (i < len && v[i] != 0) {
		size_t l = v[i++];
		if (l > 63 || i + l > len || n + l + 1 > RD_LEASE_MAX_HOSTNAME)
			break;
		if (n)
			c->host[n++] = '.';
		memcpy(c->host + n, v + i, l);
		n += l;
		i += l;
	}
	c->host[n] = '\0';
	c->host_len = strlen(c->host);
}

/* ------------------------------------------------------------------ lease time and boot */

static uint32_t pick_lease_time(const struct ctx *c)
{
	const rd_cfg_subnet_t *s = c->sn;
	uint32_t want;

	if (c->boot.pxe_client)
		return s->pxe_lease_time;
	if (!rd_dhcp_get_u32(c->req, RD_OPT_LEASE_TIME, &want))
		return s->lease_time;
	if (want < s->min_lease_time)
		return s->min_lease_time;
	if (want > s->max_lease_time)
		return s->max_lease_time;
	return want;
}

/* The rack IP R of §1.7: next_server, else our address on the link. */
static uint32_t rack_ip(const struct ctx *c)
{
	return c->sn->next_server ? c->sn->next_server : c->in->link_addr;
}

static int select_boot(struct ctx *c)
{
	rd_boot_request_t br;
	rd_boot_params_t bp;

	rd_boot_request_from(&br, c->req);
	rd_boot_params_init(&bp);
	bp.rack_ip = rack_ip(c);
	if (c->sn->boot_http_port)
		bp.http_port = c->sn->boot_http_port;
	bp.disabled = c->sn->disabled_boot_mask;
	return rd_boot_select(&br, &bp, &c->boot);
}

/* ------------------------------------------------------------------ reply */

static int set_addrs(rd_dhcp_builder_t *b, uint8_t code, const uint32_t *a, size_t n)
{
	uint8_t buf[4 * 63];

	if (n == 0)
		return 0;
	if (n > 63)
		n = 63;
	for (size_t i = 0; i < n; i++)
		put_be32(buf + 4 * i, a[i]);
	return rd_dhcp_builder_set(b, code, buf, 4 * n, RD_BOPT_IF_REQUESTED);
}

/* Options every reply carries: server id, then what was echoed (RFC 3046 §2.2, RFC 3011 §3). */
static int reply_begin(struct ctx *c, uint8_t type)
{
	rd_dhcp_builder_t *b = &c->out->reply;
	const uint8_t *v;
	size_t len;
	int rc;

	rd_dhcp_builder_reply(b, c->req, type);
	rc = rd_dhcp_builder_set_u32(b, RD_OPT_SERVER_ID, c->server_id, RD_BOPT_REQUIRED);
	if (rc < 0)
		return rc;
	if ((v = rd_dhcp_get(c->req, RD_OPT_SUBNET_SELECTION, &len)) && len == 4) {
		rc = rd_dhcp_builder_set(b, RD_OPT_SUBNET_SELECTION, v, len, RD_BOPT_REQUIRED);
		if (rc < 0)
			return rc;
	}
	/* 82 goes back unchanged; rd_dhcp_build lays it out last. */
	if ((v = rd_dhcp_get(c->req, RD_OPT_AGENT_INFO, &len))) {
		rc = rd_dhcp_builder_set(b, RD_OPT_AGENT_INFO, v, len, RD_BOPT_REQUIRED);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * Subnet options (MAAS §1.4) and the boot decision (§1.7).  As ISC does with
 * configured options, a client that sent a parameter request list gets only
 * those it named (RD_BOPT_IF_REQUESTED); one that sent none gets them all.
 */
static int reply_config(struct ctx *c)
{
	rd_dhcp_builder_t *b = &c->out->reply;
	const rd_cfg_subnet_t *s = c->sn;
	uint8_t buf[1024];
	int rc = 0;

	rc = rd_dhcp_builder_set_u32(b, RD_OPT_SUBNET_MASK, s->mask, RD_BOPT_IF_REQUESTED);
	if (!rc)
		rc = set_addrs(b, RD_OPT_ROUTER, s->routers, s->n_routers);
	if (!rc)
		rc = set_addrs(b, RD_OPT_DNS, s->dns_servers, s->n_dns_servers);
	if (!rc && s->domain_name)
		rc = rd_dhcp_builder_set(b, RD_OPT_DOMAIN_NAME, s->domain_name, strlen(s->domain_name),
					  RD_BOPT_IF_REQUESTED);
	if (!rc && s->n_domain_search) {
		int n = rd_dhcp_encode_search((const char *const *)s->domain_search, s->n_domain_search,
					      buf, sizeof(buf));
		if (n > 0)
			rc = rd_dhcp_builder_set(b, RD_OPT_DOMAIN_SEARCH, buf, (size_t)n, RD_BOPT_IF_REQUESTED);
	}
	if (!rc)
		rc = set_addrs(b, RD_OPT_NTP, s->ntp_servers, s->n_ntp_servers);
	if (!rc && s->mtu)
		rc = rd_dhcp_builder_set_u16(b, RD_OPT_INTERFACE_MTU, s->mtu, RD_BOPT_IF_REQUESTED);
	if (!rc)
		rc = rd_dhcp_builder_set_u32(b, RD_OPT_BROADCAST, s->broadcast, RD_BOPT_IF_REQUESTED);
	if (!rc)
		rc = rd_boot_apply(&c->boot, b);
	if (rc < 0)
		return rc;
	/* next-server is subnet-wide in MAAS; boot sets it when R is known. */
	if (!b->siaddr)
		b->siaddr = rack_ip(c);
	return 0;
}

/* 51, 58, 59 (§4.4.5: T1 = 0.5, T2 = 0.875 of the lease). */
static int reply_times(struct ctx *c, uint32_t lt)
{
	rd_dhcp_builder_t *b = &c->out->reply;
	int rc;

	rc = rd_dhcp_builder_set_u32(b, RD_OPT_LEASE_TIME, lt, RD_BOPT_REQUIRED);
	if (rc < 0 || lt == UINT32_MAX)
		return rc;
	rc = rd_dhcp_builder_set_u32(b, RD_OPT_RENEWAL_TIME, lt / 2, 0);
	if (rc < 0)
		return rc;
	return rd_dhcp_builder_set_u32(b, RD_OPT_REBINDING_TIME, (uint32_t)((uint64_t)lt * 7 / 8), 0);
}

/* Parameter request list (+ codes the boot method forces) and max size (RFC 2132 §9.10). */
static void reply_layout(struct ctx *c)
{
	rd_engine_out_t *out = c->out;
	const uint8_t *prl;
	size_t len = 0;
	uint16_t mms;
	int n;

	prl = rd_dhcp_get(c->req, RD_OPT_PARAM_REQUEST, &len);
	n = rd_boot_prl(&c->boot, prl, prl ? len : 0, out->prl, sizeof(out->prl));
	if (n < 0) {
		n = (int)(len < sizeof(out->prl) ? len : sizeof(out->prl));
		if (n)
			memcpy(out->prl, prl, (size_t)n);
	}
	out->prl_len = (uint16_t)n;
	out->max_msg = 0;
	if (rd_dhcp_get_u16(c->req, RD_OPT_MAX_MSG_SIZE, &mms) && mms >= RD_DHCP_MIN_MAXMSG)
		out->max_msg = (uint16_t)(mms - IP_UDP_HEADERS);
}

/* §4.1: where the reply goes. */
static void reply_dest(struct ctx *c, uint8_t type, uint32_t yiaddr)
{
	const rd_dhcp_t *m = c->req;
	rd_engine_dest_t *d = &c->out->dest;

	memset(d, 0, sizeof(*d));
	d->port = RD_CLIENT_PORT;
	if (type == RD_DHCPACK && m->msgtype == RD_DHCPINFORM && m->ciaddr) {
		d->ip = m->ciaddr;               /* §4.3.5 */
	} else if (m->giaddr) {
		d->ip = m->giaddr;
		d->port = RD_SERVER_PORT;
		d->to_relay = true;
		return;
	} else if (type == RD_DHCPNAK) {
		d->ip = 0xffffffffu;
		d->broadcast = true;
		return;
	} else if (m->ciaddr) {
		d->ip = m->ciaddr;
	} else if (m->flags & RD_DHCP_FLAG_BROADCAST) {
		d->ip = 0xffffffffu;
		d->broadcast = true;
		return;
	} else {
		d->ip = yiaddr;
	}
	d->mac_len = m->hlen <= sizeof(d->mac) ? m->hlen : sizeof(d->mac);
	memcpy(d->mac, m->chaddr, d->mac_len);
}

/* An OFFER or ACK for addr. */
static int reply_lease(struct ctx *c, uint8_t type, uint32_t addr)
{
	rd_dhcp_builder_t *b = &c->out->reply;
	int rc;

	rc = reply_begin(c, type);
	if (!rc)
		rc = reply_times(c, c->lease_time);
	if (!rc)
		rc = reply_config(c);
	if (rc < 0)
		return rc;
	b->yiaddr = addr;
	if (type == RD_DHCPACK)
		b->ciaddr = c->req->ciaddr;       /* Table 3 */
	reply_layout(c);
	reply_dest(c, type, addr);
	c->out->action = RD_ENGINE_REPLY;
	return 0;
}

/* DHCPNAK (§4.3.2, Table 3): 53, 54, 56, echoed 82; broadcast bit for a relay (§4.1). */
__attribute__((format(printf, 2, 3)))
static int nak(struct ctx *c, const char *fmt, ...)
{
	rd_dhcp_builder_t *b = &c->out->reply;
	char msg[sizeof(c->out->reason)];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rc = reply_begin(c, RD_DHCPNAK);
	if (rc < 0)
		return rc;
	rd_dhcp_builder_set(b, RD_OPT_MESSAGE, msg, strlen(msg), 0);
	if (c->req->giaddr)
		b->flags |= RD_DHCP_FLAG_BROADCAST;
	c->out->prl_len = 0;
	c->out->max_msg = 0;
	reply_dest(c, RD_DHCPNAK, 0);
	c->out->action = RD_ENGINE_REPLY;
	reason(c->out, "nak: %s", msg);
	return 0;
}

/* ------------------------------------------------------------------ leases */

/* A new version for addr bound to this client. */
static rd_lease_t *client_lease(struct ctx *c, uint32_t addr, uint8_t state, uint32_t ends)
{
	const rd_dhcp_t *m = c->req;
	rd_lease_t *l = rd_lease_new(addr, c->cid, c->cid_len, c->host, c->host_len);

	if (!l)
		return NULL;
	l->state = state;
	l->starts = c->in->now;
	l->ends = ends;
	l->cltt = c->in->now;
	l->htype = m->htype;
	l->hlen = m->hlen <= sizeof(l->chaddr) ? m->hlen : sizeof(l->chaddr);
	memcpy(l->chaddr, m->chaddr, l->hlen);
	if (c->key_cid)
		l->flags |= RD_LEASE_F_KEY_CID;
	if (c->boot.pxe_client)
		l->flags |= RD_LEASE_F_PXE;
	if (c->res && c->res->addr == addr)
		l->flags |= RD_LEASE_F_RESERVED;
	return l;
}

static uint32_t ends_after(uint32_t now, uint32_t secs)
{
	uint64_t e = (uint64_t)now + secs;

	if (secs == UINT32_MAX)
		return 0;                       /* infinite */
	return e > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)e;
}

enum avail {
	AV_YES,         /* may be given to this client; *need_claim says whether to claim */
	AV_NOT_POOL,    /* not in a pool of the subnet (and not the client's reservation) */
	AV_KEEP,        /* left the pools, still the client's live binding: kept until it ends */
	AV_RESERVED,    /* reserved for another client */
	AV_TAKEN,       /* bound to / offered to / held for someone else */
};

/*
 * May addr (with current version l) be given to this client?  Caller has
 * checked addr is on c->sn.  *need_claim: the pool bit is not held by the
 * current version, so the caller must claim it to keep concurrent
 * allocations off.
 */
static enum avail addr_avail(struct ctx *c, uint32_t addr, const rd_lease_t *l, bool *need_claim)
{
	uint32_t now = c->in->now;

	*need_claim = false;
	if (c->res && c->res->addr == addr)
		return AV_YES;
	if (rd_config_reservation_by_addr(c->in->cfg, addr))
		return AV_RESERVED;
	if (addr == c->sn->network || addr == c->sn->broadcast)
		return AV_NOT_POOL;
	if (!rd_config_pool_for(c->sn, addr)) {
		/* The range changed under a live binding (file header); the
		 * last moments of it are not handed out one second at a time. */
		uint32_t floor = c->sn->min_lease_time > 2 ? c->sn->min_lease_time : 2;
		if (l && lease_is_client(c, l) && lease_live(l, now) && !lease_offered(l) &&
		    (l->ends == 0 || l->ends - now >= floor))
			return AV_KEEP;
		return AV_NOT_POOL;
	}
	/* Failover: who owns a free address (FREE: the primary, BACKUP: the
	 * secondary) and the state's rules decide for a new client; a
	 * client's own lease is always its own to renew (doc §5.1). */
	const rd_engine_fo_t *fo = c->in->fo;
	bool own = l && lease_is_client(c, l) && l->state != RD_LEASE_BACKUP && l->state != RD_LEASE_FREE;
	if (fo && fo->may_allocate && !own && !(l && lease_live(l, now)) &&
	    !fo->may_allocate(fo->ctx, addr, l, now))
		return AV_TAKEN;
	if (!l) {
		*need_claim = true;
		return AV_YES;
	}
	if (l->flags & RD_LEASE_F_RESERVED && !lease_is_client(c, l))
		return AV_RESERVED;
	switch (l->state) {
	case RD_LEASE_ACTIVE:
		/* ours, or someone's that is over but not yet expired by the table */
		if (lease_is_client(c, l) || !lease_live(l, now))
			return AV_YES;
		return AV_TAKEN;
	case RD_LEASE_FREE:
	case RD_LEASE_EXPIRED:
	case RD_LEASE_RELEASED:
		*need_claim = !lease_takes(l);
		return AV_YES;
	case RD_LEASE_ABANDONED:
		/* §4.3.3: held until decline_hold_time has passed */
		return l->ends && l->ends <= now ? AV_YES : AV_TAKEN;
	case RD_LEASE_BACKUP:
		/* The secondary's free pool: allocatable when failover says so
		 * (checked above); the table keeps its bit set, the CAS decides. */
		return fo && fo->may_allocate ? AV_YES : AV_TAKEN;
	default:                /* RESET */
		return AV_TAKEN;
	}
}

/*
 * The client's binding l is on an address that left the pools: answer with
 * what is left of it, never more (file header).  Sets the lease time and a
 * reason suffix in why (cap >= 64).
 */
static void keep_until_end(struct ctx *c, const rd_lease_t *l, char *why, size_t cap, const char *what)
{
	if (l->ends == 0) {
		c->lease_time = UINT32_MAX;     /* infinite stays infinite */
		snprintf(why, cap, "%s, left the pool: infinite lease kept", what);
		return;
	}
	c->lease_time = l->ends - c->in->now;   /* live: ends > now */
	snprintf(why, cap, "%s, left the pool: not extended, %u s left", what, c->lease_time);
}

/* Take addr for this outcome: claim its bit if the current version does not hold it. */
static bool take(struct ctx *c, uint32_t addr, bool need_claim)
{
	if (!need_claim)
		return true;
	int rc = rd_table_claim_addr(c->t, addr);
	if (rc == 0) {
		c->out->claimed = addr;
		return true;
	}
	return rc == RD_ENOPOOL;        /* not in the table's pools: the CAS alone decides */
}

/* Check and take addr for the client; on success set old_lease. */
static enum avail try_addr(struct ctx *c, uint32_t addr)
{
	const rd_lease_t *l = rd_table_by_addr(c->t, addr);
	bool need;
	enum avail av = addr_avail(c, addr, l, &need);

	if (av != AV_YES && av != AV_KEEP)
		return av;
	if (!take(c, addr, need))
		return AV_TAKEN;
	c->out->old_lease = l;
	return av;
}

struct rejects {
	uint32_t v[3 * MAX_REJECTS];
	size_t n;               /* claimed and refused, kept claimed until the end */
	size_t left[2];         /* refusals still allowed: [0] FREE side, [1] BACKUP sets */
};

/*
 * Claim addresses of pool p from the FREE side (busy bitmap) or the BACKUP
 * set until one may go to this client; refused ones stay claimed in rj
 * (so the scan moves on) until allocate() gives them back.
 */
static bool claim_in(struct ctx *c, const rd_cfg_pool_t *p, bool backup, struct rejects *rj, uint32_t *addr)
{
	uint32_t a;

	while (rj->left[backup] &&
	       (backup ? rd_table_claim_backup(c->t, p->start, p->end, &a) :
			 rd_table_claim(c->t, p->start, p->end, 0, &a)) == 0) {
		const rd_lease_t *l = rd_table_by_addr(c->t, a);
		bool need;
		/* The bitmap is a hint: check the version that is there now. */
		if (addr_avail(c, a, l, &need) == AV_YES) {
			c->out->claimed = a;
			c->out->old_lease = l;
			*addr = a;
			return true;
		}
		rj->v[rj->n++] = a;     /* keep it claimed while we look on */
		rj->left[backup]--;
	}
	return false;
}

/* rd_engine_fo_t.backup_use for pool p. */
static int backup_use(const struct ctx *c, const rd_cfg_pool_t *p)
{
	const rd_engine_fo_t *fo = c->in->fo;
	return fo && fo->backup_use ? fo->backup_use(fo->ctx, p->start) : RD_ENGINE_BACKUP_NO;
}

/*
 * A new address from the subnet's pools (§4.3.1 last choice).
 * Pool by pool: its BACKUP set first where those addresses are ours (a
 * secondary's free pool), then its FREE side (a primary's, and expired or
 * released addresses that came back to us); after every pool, the BACKUP
 * sets a primary in PARTNER-DOWN may take over.  Each kind has one budget
 * of refusals for the whole subnet.
 */
static bool allocate(struct ctx *c, uint32_t *addr)
{
	struct rejects rj = { .n = 0, .left = { MAX_REJECTS, 2 * MAX_REJECTS } };
	bool found = false, later = false;
	size_t np = c->sn->n_pools, i = 0;
	/* Start where the last search succeeded (alloc_hint, config.h) and
	 * wrap round: a subnet of many ranges fills them one after another,
	 * and the full ones need not be scanned again for every client. */
	uint32_t *hint = (uint32_t *)(uintptr_t)&c->sn->alloc_hint;
	size_t h = __atomic_load_n(hint, __ATOMIC_RELAXED);

	if (h >= np)
		h = 0;
	for (size_t k = 0; k < np && !found; k++) {
		i = (h + k) % np;
		const rd_cfg_pool_t *p = &c->sn->pools[i];
		int bu = backup_use(c, p);
		later |= bu == RD_ENGINE_BACKUP_LAST;
		found = (bu == RD_ENGINE_BACKUP_FIRST && claim_in(c, p, true, &rj, addr)) ||
			claim_in(c, p, false, &rj, addr);
	}
	for (size_t k = 0; k < np && !found && later; k++) {
		i = (h + k) % np;
		const rd_cfg_pool_t *p = &c->sn->pools[i];
		found = backup_use(c, p) == RD_ENGINE_BACKUP_LAST && claim_in(c, p, true, &rj, addr);
	}
	if (found && i != h)
		__atomic_store_n(hint, (uint32_t)i, __ATOMIC_RELAXED);
	for (size_t k = 0; k < rj.n; k++)
		rd_table_unclaim(c->t, rj.v[k]);
	if (found)
		return true;

	/* Exhausted: reuse an address whose decline hold is over, or an ACTIVE
	 * lease past its end the table has not expired yet (as ISC does).  The
	 * scan is bounded so that a full /8 cannot make every DISCOVER slow. */
	uint32_t budget = RECLAIM_SCAN_MAX;
	for (i = 0; i < c->sn->n_pools && budget; i++) {
		const rd_cfg_pool_t *p = &c->sn->pools[i];
		for (uint64_t a = p->start; a <= p->end && budget; a++, budget--) {
			const rd_lease_t *l = rd_table_by_addr(c->t, (uint32_t)a);
			bool need;
			if (!l || !lease_takes(l) || l->flags & RD_LEASE_F_RESERVED)
				continue;
			if (addr_avail(c, (uint32_t)a, l, &need) != AV_YES || need)
				continue;
			c->out->old_lease = l;
			*addr = (uint32_t)a;
			return true;
		}
	}
	return false;
}

/* ------------------------------------------------------------------ DISCOVER */

/* §4.3.1: current binding, previous binding, requested address, new address. */
static int do_discover(struct ctx *c)
{
	rd_engine_out_t *out = c->out;
	const rd_lease_t *cur = NULL;
	const char *why = NULL;
	uint32_t addr = 0, req_ip;
	char kept[96];

	if (c->res) {
		addr = c->res->addr;
		out->old_lease = rd_table_by_addr(c->t, addr);
		why = "reserved";
	}
	if (!why) {
		cur = rd_table_by_client(c->t, c->key, c->key_len, c->sn->network, c->sn->mask);
		enum avail av = cur && cur->state != RD_LEASE_ABANDONED ? try_addr(c, cur->addr) : AV_TAKEN;
		if (av == AV_YES) {
			addr = cur->addr;
			why = lease_live(cur, c->in->now) && !lease_offered(cur) ? "current lease" :
			      lease_offered(cur) ? "offered again" : "previous address";
		} else if (av == AV_KEEP) {
			addr = cur->addr;
			keep_until_end(c, cur, kept, sizeof(kept), "current lease");
			why = kept;
		}
	}
	if (!why && rd_dhcp_get_u32(c->req, RD_OPT_REQUESTED_IP, &req_ip) && in_subnet(c->sn, req_ip) &&
	    try_addr(c, req_ip) == AV_YES) {
		addr = req_ip;
		why = "requested address";
	}
	if (!why) {
		if (!allocate(c, &addr))
			return drop(c, "no free address in %s", SN(c->sn));
		why = "new";
	}

	const rd_lease_t *old = out->old_lease;
	/* A real binding is offered as is; otherwise publish the offer (file header). */
	if (!c->res && !(old && lease_is_client(c, old) && lease_live(old, c->in->now) && !lease_offered(old))) {
		out->new_lease = client_lease(c, addr, RD_LEASE_ACTIVE,
					      ends_after(c->in->now, RD_ENGINE_OFFER_HOLD));
		if (!out->new_lease)
			return RD_ENOMEM;
		out->new_lease->flags |= RD_ENGINE_F_OFFERED;
	} else {
		out->old_lease = NULL;
	}
	int rc = reply_lease(c, RD_DHCPOFFER, addr);
	if (rc < 0)
		return rc;
	if (!c->in->no_reason)
		reason_addr(out, "offer ", addr, why);
	return 0;
}

/* ------------------------------------------------------------------ REQUEST */

/* ACK addr to the client (old_lease already set by try_addr or the caller). */
static int ack(struct ctx *c, uint32_t addr, const char *why)
{
	rd_engine_out_t *out = c->out;
	const rd_lease_t *old = out->old_lease;

	/* Keep the hostname we knew if the client sent none this time. */
	if (!c->host_len && old && lease_is_client(c, old) && old->host_len) {
		memcpy(c->host, rd_lease_host(old), old->host_len);
		c->host[old->host_len] = '\0';
		c->host_len = old->host_len;
	}
	out->new_lease = client_lease(c, addr, RD_LEASE_ACTIVE, ends_after(c->in->now, c->lease_time));
	if (!out->new_lease)
		return RD_ENOMEM;
	out->new_lease->tstp = out->new_lease->ends;   /* without failover: what we would tell */
	if (c->in->fo && c->in->fo->lease_time)
		c->lease_time = c->in->fo->lease_time(c->in->fo->ctx, old, out->new_lease, c->in->now, c->lease_time);
	int rc = reply_lease(c, RD_DHCPACK, addr);
	if (rc < 0)
		return rc;
	if (!c->in->no_reason)
		reason_addr(out, "ack ", addr, why);
	return 0;
}

/* Forget our offer to a client that chose another server (§4.3.2 SELECTING). */
static int forget_offer(struct ctx *c, uint32_t sid)
{
	const rd_lease_t *cur = rd_table_by_client(c->t, c->key, c->key_len, c->sn->network, c->sn->mask);

	if (!cur || !lease_offered(cur) || !lease_is_client(c, cur))
		return drop(c, "ignored: server id %s is not ours", IP(sid));
	rd_lease_t *l = rd_lease_dup(cur, rd_lease_cid(cur), cur->cid_len, rd_lease_host(cur), cur->host_len);
	if (!l)
		return RD_ENOMEM;
	l->state = RD_LEASE_FREE;
	l->flags &= (uint16_t)~RD_ENGINE_F_OFFERED;
	l->ends = c->in->now;
	c->out->old_lease = cur;
	c->out->new_lease = l;
	c->out->action = RD_ENGINE_COMMIT;
	reason(c->out, "ignored: server id %s is not ours (offer of %s withdrawn)", IP(sid), IP(cur->addr));
	return 0;
}

/*
 * Decide a request for addr.  mode: "selecting", "init-reboot", "renewing",
 * "rebinding" (§4.3.2).
 */
static int request_addr(struct ctx *c, uint32_t addr, const char *mode)
{
	bool authoritative = !c->in->not_authoritative;
	bool renewing = strcmp(mode, "renewing") == 0;
	char kept[96];

	if (!in_subnet(c->sn, addr)) {
		if (authoritative)
			return nak(c, "requested %s not on subnet %s", IP(addr), SN(c->sn));
		return drop(c, "ignored: %s %s not on subnet %s (not authoritative)", mode, IP(addr), SN(c->sn));
	}
	if (c->res) {
		if (addr != c->res->addr)
			return nak(c, "client is reserved %s, requested %s", IP(c->res->addr), IP(addr));
		c->out->old_lease = rd_table_by_addr(c->t, addr);
		return ack(c, addr, "reserved");
	}

	const rd_lease_t *l = rd_table_by_addr(c->t, addr);
	bool need;
	enum avail av = addr_avail(c, addr, l, &need);

	if (av == AV_RESERVED)
		return nak(c, "requested %s is reserved for another client", IP(addr));
	if (av == AV_TAKEN)
		return nak(c, "requested %s is leased to another client", IP(addr));

	bool mine = l && lease_is_client(c, l) && l->state != RD_LEASE_ABANDONED;
	if (!mine) {
		/* We have no lease of this client for addr. */
		const rd_lease_t *other = rd_table_by_client(c->t, c->key, c->key_len,
							     c->sn->network, c->sn->mask);
		if (strcmp(mode, "selecting") == 0) {
			/* Our offer was lost or timed out: grant it if still free. */
			if (av != AV_YES)
				return nak(c, "requested %s is not available", IP(addr));
		} else if (other && other->state != RD_LEASE_ABANDONED && other->addr != addr &&
			   (lease_live(other, c->in->now) || !renewing)) {
			/* The client's notion of its address is wrong (§4.3.2). */
			return nak(c, "requested %s, client's lease is %s", IP(addr), IP(other->addr));
		} else if (renewing) {
			if (authoritative)
				return nak(c, "no lease for %s", IP(addr));
			return drop(c, "ignored: renewing unknown lease %s (not authoritative)", IP(addr));
		} else {
			/* INIT-REBOOT / REBINDING with no record: MUST remain silent. */
			return drop(c, "ignored: %s %s, no record of client", mode, IP(addr));
		}
	} else if (av == AV_KEEP) {
		keep_until_end(c, l, kept, sizeof(kept), mode);
		mode = kept;
	} else if (av == AV_NOT_POOL) {
		return nak(c, "requested %s is in no pool of %s any more (%s)", IP(addr), SN(c->sn),
			   l && lease_offered(l) ? "it was only offered" :
			   l && lease_live(l, c->in->now) ? "its lease ends within min_lease_time" : "its lease is over");
	} else if (av != AV_YES) {
		return nak(c, "requested %s is not available", IP(addr));
	}
	if (!take(c, addr, need))
		return nak(c, "requested %s is being allocated to another client", IP(addr));
	c->out->old_lease = l;
	return ack(c, addr, mode);
}

static int do_request(struct ctx *c)
{
	const rd_dhcp_t *m = c->req;
	uint32_t sid, req_ip;
	bool has_sid = rd_dhcp_get_u32(m, RD_OPT_SERVER_ID, &sid);
	bool has_ip = rd_dhcp_get_u32(m, RD_OPT_REQUESTED_IP, &req_ip);

	if (has_sid) {
		/* SELECTING: the client chose a server (§4.3.2). */
		if (sid != c->server_id)
			return forget_offer(c, sid);
		if (!has_ip && !m->ciaddr)
			return drop(c, "selecting without requested address");
		return request_addr(c, has_ip ? req_ip : m->ciaddr, "selecting");
	}
	if (m->ciaddr) {
		/* RENEWING is unicast to us; REBINDING is broadcast (maybe relayed). */
		bool renewing = c->in->via_unicast && !m->giaddr;
		return request_addr(c, m->ciaddr, renewing ? "renewing" : "rebinding");
	}
	if (has_ip)
		return request_addr(c, req_ip, "init-reboot");
	return drop(c, "request without server id, ciaddr or requested address");
}

/* ------------------------------------------------------------------ DECLINE, RELEASE, INFORM */

/* §4.3.3: the address is in use by someone else: hold it back. */
static int do_decline(struct ctx *c)
{
	uint32_t sid, addr;

	if (rd_dhcp_get_u32(c->req, RD_OPT_SERVER_ID, &sid) && sid != c->server_id)
		return drop(c, "ignored: decline for server %s", IP(sid));
	if (!rd_dhcp_get_u32(c->req, RD_OPT_REQUESTED_IP, &addr))
		return drop(c, "decline without requested address");

	const rd_lease_t *l = rd_table_by_addr(c->t, addr);
	if (!l || l->state != RD_LEASE_ACTIVE || !lease_is_client(c, l))
		return drop(c, "ignored: decline of %s, not this client's lease", IP(addr));
	if (l->flags & RD_LEASE_F_RESERVED || (c->res && c->res->addr == addr))
		return drop(c, "decline of reserved %s: address conflict on the link", IP(addr));

	rd_lease_t *n = rd_lease_new(addr, NULL, 0, NULL, 0);
	if (!n)
		return RD_ENOMEM;
	n->state = RD_LEASE_ABANDONED;
	n->starts = c->in->now;
	n->ends = ends_after(c->in->now, c->sn->decline_hold_time);
	n->cltt = c->in->now;
	c->out->old_lease = l;
	c->out->new_lease = n;
	c->out->action = RD_ENGINE_COMMIT;
	reason(c->out, "decline %s: abandoned for %u s", IP(addr), c->sn->decline_hold_time);
	return 0;
}

/* §4.3.4: the client gives its address back. */
static int do_release(struct ctx *c)
{
	uint32_t sid, addr = c->req->ciaddr;

	if (rd_dhcp_get_u32(c->req, RD_OPT_SERVER_ID, &sid) && sid != c->server_id)
		return drop(c, "ignored: release for server %s", IP(sid));
	if (!addr)
		return drop(c, "release without ciaddr");

	const rd_lease_t *l = rd_table_by_addr(c->t, addr);
	if (!l || l->state != RD_LEASE_ACTIVE || !lease_is_client(c, l))
		return drop(c, "ignored: release of %s, not this client's lease", IP(addr));

	rd_lease_t *n = rd_lease_dup(l, rd_lease_cid(l), l->cid_len, rd_lease_host(l), l->host_len);
	if (!n)
		return RD_ENOMEM;
	n->state = RD_LEASE_RELEASED;
	n->flags &= (uint16_t)~RD_ENGINE_F_OFFERED;
	n->ends = c->in->now;
	n->cltt = c->in->now;
	c->out->old_lease = l;
	c->out->new_lease = n;
	c->out->action = RD_ENGINE_COMMIT;
	reason(c->out, "release %s", IP(addr));
	return 0;
}

/* §4.3.5: configuration only; no yiaddr, no lease times. */
static int do_inform(struct ctx *c)
{
	rd_dhcp_builder_t *b = &c->out->reply;
	int rc;

	rc = reply_begin(c, RD_DHCPACK);
	if (!rc)
		rc = reply_config(c);
	if (rc < 0)
		return rc;
	b->ciaddr = c->req->ciaddr;
	reply_layout(c);
	reply_dest(c, RD_DHCPACK, 0);
	c->out->action = RD_ENGINE_REPLY;
	reason(c->out, "inform %s", IP(c->req->ciaddr ? c->req->ciaddr : c->in->src_addr));
	return 0;
}

/* ------------------------------------------------------------------ entry points */

int rd_engine_process(const rd_engine_in_t *in, const rd_dhcp_t *req, rd_engine_out_t *out)
{
	struct ctx c;
	struct what what;

	if (!in || !req || !out || !in->cfg || !in->table)
		return RD_EINVAL;
	memset(out, 0, offsetof(rd_engine_out_t, reply));
	memset(&out->dest, 0, sizeof(*out) - offsetof(rd_engine_out_t, dest));
	out->prl_len = 0;
	out->max_msg = 0;
	out->action = RD_ENGINE_DROP;

	memset(&c, 0, sizeof(c));
	c.in = in;
	c.req = req;
	c.out = out;
	c.t = in->table;

	if (req->op != RD_BOOTREQUEST)
		return drop(&c, "not a BOOTREQUEST");
	if (req->msgtype == 0)
		return drop(&c, "BOOTP not served");
	switch (req->msgtype) {
	case RD_DHCPDISCOVER:
	case RD_DHCPREQUEST:
	case RD_DHCPDECLINE:
	case RD_DHCPRELEASE:
	case RD_DHCPINFORM:
		break;
	default:
		return drop(&c, "%s not served", rd_dhcp_msgtype_name(req->msgtype));
	}

	c.sn = select_subnet(&c, &what);
	if (!c.sn)
		return drop(&c, "no subnet for %s", WHAT(&what));
	c.server_id = in->link_addr ? in->link_addr : c.sn->next_server;
	if (!c.server_id)
		return drop(&c, "no server address for %s", WHAT(&what));
	if (client_key(&c) < 0)
		return drop(&c, "no client identifier (hlen %u)", req->hlen);
	c.res = rd_config_reservation_by_mac(in->cfg, c.sn, req->htype, req->chaddr, req->hlen);
	client_host(&c);
	if (c.res && !c.host_len && c.res->hostname) {
		size_t n = strlen(c.res->hostname);
		if (n > RD_LEASE_MAX_HOSTNAME)
			n = RD_LEASE_MAX_HOSTNAME;
		memcpy(c.host, c.res->hostname, n);
		c.host[n] = '\0';
		c.host_len = n;
	}
	int rc = select_boot(&c);
	if (rc < 0)
		return rc;
	c.lease_time = pick_lease_time(&c);

	const char *fo_why = NULL;
	if (in->fo && in->fo->may_serve && req->msgtype != RD_DHCPINFORM &&
	    !in->fo->may_serve(in->fo->ctx, c.sn, req, &fo_why))
		return drop(&c, "failover: %s", fo_why ? fo_why : "not ours to answer");

	switch (req->msgtype) {
	case RD_DHCPDISCOVER:
		rc = do_discover(&c);
		break;
	case RD_DHCPREQUEST:
		rc = do_request(&c);
		break;
	case RD_DHCPDECLINE:
		rc = do_decline(&c);
		break;
	case RD_DHCPRELEASE:
		rc = do_release(&c);
		break;
	default:
		rc = do_inform(&c);
		break;
	}
	if (rc < 0) {
		rd_engine_abort(in->table, out);
		out->action = RD_ENGINE_DROP;
		reason(out, "internal error: %s", rd_strerror(rc));
	}
	return rc;
}

void rd_engine_abort(rd_table_t *t, rd_engine_out_t *out)
{
	if (!out)
		return;
	if (out->new_lease) {
		rd_lease_free(out->new_lease);
		out->new_lease = NULL;
	}
	if (out->claimed && t)
		rd_table_unclaim(t, out->claimed);
	out->claimed = 0;
	out->old_lease = NULL;
}
