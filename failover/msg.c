/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * msg.c — failover message framing, decoding, encoding, checking and
 * printing (see include/rackdhcp/fo_msg.h for the rules and why they are
 * ISC's rather than the draft's).
 *
 * Every byte of a message is read or written through an rd_wire_t cursor.
 * The input comes from the peer, so each declared length is compared with
 * the bytes left before it is used.  Everything about an option (size rule,
 * field, names, how to print it) sits in one table, opts[], and the three
 * walks (decode, encode, print) are driven by it, so a code cannot be
 * handled in one direction and forgotten in the other.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "rackdhcp/fmt.h"
#include "rackdhcp/fo_msg.h"
#include "rackdhcp/wire.h"

#define B(c) RD_FO_BIT(c)

/* How the printer shows a value. */
enum fmt {
	F_NUM,      /* decimal */
	F_HEX16,    /* 0x%04x (flags) */
	F_HEX8,     /* 0x%02x (flags) */
	F_IP,       /* dotted quad */
	F_TIME,     /* Unix seconds, plus the offset from the header time */
	F_STATE,    /* server-state name */
	F_BINDING,  /* binding-status name */
	F_REJECT,   /* reject-reason number and name */
	F_TEXT,     /* quoted, non-printables escaped */
	F_OCTETS,   /* aa:bb:cc (identifiers) */
	F_HEX,      /* contiguous hex (bitmaps, opaque blobs) */
	F_FLAG,     /* presence only */
};

#define VAR 0xff   /* variable size */

struct optinfo {
	const char *name;   /* draft-12 / ISC name, for diagnostics */
	const char *key;    /* short key for the one-line printer */
	uint8_t size;       /* exact size on the wire (ISC's rule), or VAR */
	uint8_t fmt;
	uint16_t field;     /* offsetof the field in rd_fo_msg_t */
};

#define FIELD(f) ((uint16_t)offsetof(rd_fo_msg_t, f))

/*
 * Sizes are ISC's, not the draft's: IP-flags is 2 bytes (the draft's table
 * misprints 1), TLS-request 1 byte (ISC 3.0.x sent 2), and DDNS is "fixed
 * size 0" — a table bug in ISC that makes any real DDNS option fatal.
 */
static const struct optinfo opts[RD_FO_OPT_MAX + 1] = {
	[RD_FO_OPT_ADDRESSES_TRANSFERRED] = { "addresses-transferred", "transferred", 4, F_NUM, FIELD(addresses_transferred) },
	[RD_FO_OPT_ASSIGNED_IP] = { "assigned-IP-address", "ip", 4, F_IP, FIELD(assigned_ip) },
	[RD_FO_OPT_BINDING_STATUS] = { "binding-status", "status", 1, F_BINDING, FIELD(binding_status) },
	[RD_FO_OPT_CLIENT_ID] = { "client-identifier", "client-id", VAR, F_OCTETS, FIELD(client_id) },
	[RD_FO_OPT_CHADDR] = { "client-hardware-address", "chaddr", VAR, F_OCTETS, FIELD(chaddr) },
	[RD_FO_OPT_CLTT] = { "client-last-transaction-time", "cltt", 4, F_TIME, FIELD(cltt) },
	[RD_FO_OPT_REPLY_OPTIONS] = { "client-reply-options", "reply-opts", VAR, F_HEX, FIELD(reply_options) },
	[RD_FO_OPT_REQUEST_OPTIONS] = { "client-request-options", "request-opts", VAR, F_HEX, FIELD(request_options) },
	[RD_FO_OPT_DDNS] = { "DDNS", "ddns", 0, F_FLAG, 0 },
	[RD_FO_OPT_DELAYED_SERVICE] = { "delayed-service-parameter", "delayed-service", 1, F_NUM, FIELD(delayed_service) },
	[RD_FO_OPT_HBA] = { "hash-bucket-assignment", "hba", VAR, F_HEX, FIELD(hba) },
	[RD_FO_OPT_IP_FLAGS] = { "IP-flags", "ip-flags", 2, F_HEX16, FIELD(ip_flags) },
	[RD_FO_OPT_LEASE_EXPIRY] = { "lease-expiration-time", "ends", 4, F_TIME, FIELD(lease_expiry) },
	[RD_FO_OPT_MAX_UNACKED] = { "max-unacked-BNDUPD", "max-unacked", 4, F_NUM, FIELD(max_unacked) },
	[RD_FO_OPT_MCLT] = { "MCLT", "mclt", 4, F_NUM, FIELD(mclt) },
	[RD_FO_OPT_MESSAGE] = { "message", "message", VAR, F_TEXT, FIELD(message) },
	[RD_FO_OPT_MESSAGE_DIGEST] = { "message-digest", "digest", VAR, F_HEX, FIELD(message_digest) },
	[RD_FO_OPT_POTENTIAL_EXPIRY] = { "potential-expiration-time", "pexp", 4, F_TIME, FIELD(potential_expiry) },
	[RD_FO_OPT_RECEIVE_TIMER] = { "receive-timer", "receive-timer", 4, F_NUM, FIELD(receive_timer) },
	[RD_FO_OPT_PROTOCOL_VERSION] = { "protocol-version", "version", 1, F_NUM, FIELD(protocol_version) },
	[RD_FO_OPT_REJECT_REASON] = { "reject-reason", "reject", 1, F_REJECT, FIELD(reject_reason) },
	[RD_FO_OPT_RELATIONSHIP_NAME] = { "relationship-name", "name", VAR, F_TEXT, FIELD(relationship_name) },
	[RD_FO_OPT_SERVER_FLAGS] = { "server-flags", "flags", 1, F_HEX8, FIELD(server_flags) },
	[RD_FO_OPT_SERVER_STATE] = { "server-state", "state", 1, F_STATE, FIELD(server_state) },
	[RD_FO_OPT_STOS] = { "start-time-of-state", "stos", 4, F_TIME, FIELD(stos) },
	[RD_FO_OPT_TLS_REPLY] = { "TLS-reply", "tls-reply", 1, F_NUM, FIELD(tls_reply) },
	[RD_FO_OPT_TLS_REQUEST] = { "TLS-request", "tls-request", 1, F_NUM, FIELD(tls_request) },
	[RD_FO_OPT_VENDOR_CLASS] = { "vendor-class-identifier", "vendor-class", VAR, F_TEXT, FIELD(vendor_class) },
	[RD_FO_OPT_VENDOR_OPTIONS] = { "vendor-specific-options", "vendor-opts", VAR, F_HEX, FIELD(vendor_options) },
};

/*
 * The options ISC keeps per message type (its fto_allowed table); every
 * other known option is skipped unread.  Row 0 exists in ISC's table (and
 * keeps nothing); types above 12 have no row at all.
 */
#define BNDUPD_KEEPS (B(RD_FO_OPT_ASSIGNED_IP) | B(RD_FO_OPT_BINDING_STATUS) | B(RD_FO_OPT_CLIENT_ID) | \
		      B(RD_FO_OPT_CHADDR) | B(RD_FO_OPT_DDNS) | B(RD_FO_OPT_IP_FLAGS) |                \
		      B(RD_FO_OPT_LEASE_EXPIRY) | B(RD_FO_OPT_POTENTIAL_EXPIRY) | B(RD_FO_OPT_STOS) |   \
		      B(RD_FO_OPT_CLTT) | B(RD_FO_OPT_REQUEST_OPTIONS) | B(RD_FO_OPT_REPLY_OPTIONS))
#define CONNECT_COMMON (B(RD_FO_OPT_RELATIONSHIP_NAME) | B(RD_FO_OPT_MAX_UNACKED) | \
			B(RD_FO_OPT_RECEIVE_TIMER) | B(RD_FO_OPT_VENDOR_CLASS) | B(RD_FO_OPT_PROTOCOL_VERSION))

static const uint32_t keeps[RD_FO_MSG_TYPE_MAX + 1] = {
	[RD_FO_POOLRESP] = B(RD_FO_OPT_ADDRESSES_TRANSFERRED),
	[RD_FO_BNDUPD] = BNDUPD_KEEPS,
	[RD_FO_BNDACK] = BNDUPD_KEEPS | B(RD_FO_OPT_REJECT_REASON) | B(RD_FO_OPT_MESSAGE),
	[RD_FO_CONNECT] = CONNECT_COMMON | B(RD_FO_OPT_TLS_REQUEST) | B(RD_FO_OPT_MCLT) | B(RD_FO_OPT_HBA),
	[RD_FO_CONNECTACK] = CONNECT_COMMON | B(RD_FO_OPT_TLS_REPLY) | B(RD_FO_OPT_REJECT_REASON) |
			     B(RD_FO_OPT_MESSAGE),
	[RD_FO_STATE] = B(RD_FO_OPT_SERVER_STATE) | B(RD_FO_OPT_SERVER_FLAGS) | B(RD_FO_OPT_STOS),
	[RD_FO_DISCONNECT] = B(RD_FO_OPT_REJECT_REASON) | B(RD_FO_OPT_MESSAGE),
};

/*
 * Encoding order.  One order fits every message ISC writes: BNDUPD (IP,
 * status, client-id, chaddr, ends, pexp, stos, cltt, IP-flags), STATE
 * (state, flags, stos), CONNECT (name, max-unacked, receive-timer, vendor,
 * version, TLS-request, MCLT, HBA), CONNECTACK (same head, TLS-reply,
 * reject, message), BNDACK (IP, reject, message), DISCONNECT, POOLRESP.
 * ISC never sends the others; they go where they cannot disturb that, and
 * the digest last, where draft-12 wants it.  DDNS (9) is absent on purpose.
 */
static const uint8_t order[] = {
	RD_FO_OPT_ADDRESSES_TRANSFERRED,
	RD_FO_OPT_ASSIGNED_IP,
	RD_FO_OPT_BINDING_STATUS,
	RD_FO_OPT_CLIENT_ID,
	RD_FO_OPT_CHADDR,
	RD_FO_OPT_LEASE_EXPIRY,
	RD_FO_OPT_POTENTIAL_EXPIRY,
	RD_FO_OPT_SERVER_STATE,
	RD_FO_OPT_SERVER_FLAGS,
	RD_FO_OPT_STOS,
	RD_FO_OPT_CLTT,
	RD_FO_OPT_IP_FLAGS,
	RD_FO_OPT_REQUEST_OPTIONS,
	RD_FO_OPT_REPLY_OPTIONS,
	RD_FO_OPT_RELATIONSHIP_NAME,
	RD_FO_OPT_MAX_UNACKED,
	RD_FO_OPT_RECEIVE_TIMER,
	RD_FO_OPT_VENDOR_CLASS,
	RD_FO_OPT_PROTOCOL_VERSION,
	RD_FO_OPT_TLS_REQUEST,
	RD_FO_OPT_TLS_REPLY,
	RD_FO_OPT_MCLT,
	RD_FO_OPT_HBA,
	RD_FO_OPT_REJECT_REASON,
	RD_FO_OPT_MESSAGE,
	RD_FO_OPT_DELAYED_SERVICE,
	RD_FO_OPT_VENDOR_OPTIONS,
	RD_FO_OPT_MESSAGE_DIGEST,
};

_Static_assert(sizeof(order) == RD_FO_OPT_MAX - 1, "every option but DDNS has a place in the order");
_Static_assert(RD_FO_OPT_MAX < 32, "presence bits fit a uint32_t");

static bool known(unsigned code)
{
	return code >= 1 && code <= RD_FO_OPT_MAX;
}

static uint32_t keeps_of(unsigned type)
{
	return type <= RD_FO_MSG_TYPE_MAX ? keeps[type] : 0;
}

bool rd_fo_option_allowed(unsigned type, unsigned code)
{
	return known(code) && (keeps_of(type) & B(code));
}

/* ---- field access through the table */

static uint32_t get_fixed(const rd_fo_msg_t *m, unsigned code)
{
	const unsigned char *p = (const unsigned char *)m + opts[code].field;
	uint16_t v16;
	uint32_t v32;

	switch (opts[code].size) {
	case 1:
		return *p;
	case 2:
		memcpy(&v16, p, sizeof(v16));
		return v16;
	case 4:
		memcpy(&v32, p, sizeof(v32));
		return v32;
	default:
		return 0;
	}
}

static void put_fixed(rd_fo_msg_t *m, unsigned code, uint32_t v)
{
	unsigned char *p = (unsigned char *)m + opts[code].field;
	uint16_t v16 = (uint16_t)v;

	switch (opts[code].size) {
	case 1:
		*p = (uint8_t)v;
		break;
	case 2:
		memcpy(p, &v16, sizeof(v16));
		break;
	case 4:
		memcpy(p, &v, sizeof(v));
		break;
	default:
		break;
	}
}

static rd_fo_bytes_t get_ref(const rd_fo_msg_t *m, unsigned code)
{
	rd_fo_bytes_t b;
	memcpy(&b, (const unsigned char *)m + opts[code].field, sizeof(b));
	return b;
}

static void put_ref(rd_fo_msg_t *m, unsigned code, rd_fo_bytes_t b)
{
	memcpy((unsigned char *)m + opts[code].field, &b, sizeof(b));
}

/* A reference that lies inside the bytes the message has stored. */
static bool ref_valid(const rd_fo_msg_t *m, rd_fo_bytes_t b)
{
	return m->data_used <= RD_FO_DATA_MAX && b.off <= m->data_used && b.len <= m->data_used - b.off;
}

void rd_fo_msg_init(rd_fo_msg_t *m, uint8_t type, uint32_t time, uint32_t xid)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->payload_offset = RD_FO_HDR_LEN;
	m->time = time;
	m->xid = xid;
}

int rd_fo_set_uint(rd_fo_msg_t *m, unsigned code, uint32_t v)
{
	if (!known(code) || opts[code].size == VAR)
		return RD_EINVAL;
	if ((opts[code].size == 0 && v != 0) || (opts[code].size == 1 && v > 0xff) ||
	    (opts[code].size == 2 && v > 0xffff))
		return RD_EINVAL;
	put_fixed(m, code, v);
	m->has |= B(code);
	return 0;
}

int rd_fo_set_bytes(rd_fo_msg_t *m, unsigned code, const void *p, size_t n)
{
	if (!known(code) || opts[code].size != VAR || (n && !p) || m->data_used > RD_FO_DATA_MAX)
		return RD_EINVAL;
	if (n > (size_t)(RD_FO_DATA_MAX - m->data_used))
		return RD_ENOSPACE;
	rd_fo_bytes_t b = { .off = m->data_used, .len = (uint16_t)n };
	if (n)
		memcpy(m->data + b.off, p, n);
	m->data_used = (uint16_t)(m->data_used + n);
	put_ref(m, code, b);
	m->has |= B(code);
	return 0;
}

int rd_fo_set_str(rd_fo_msg_t *m, unsigned code, const char *s)
{
	return s ? rd_fo_set_bytes(m, code, s, strlen(s)) : RD_EINVAL;
}

const uint8_t *rd_fo_get_bytes(const rd_fo_msg_t *m, unsigned code, size_t *len)
{
	*len = 0;
	if (!known(code) || opts[code].size != VAR || !(m->has & B(code)))
		return NULL;
	rd_fo_bytes_t b = get_ref(m, code);
	if (!ref_valid(m, b))
		return NULL;
	*len = b.len;
	return m->data + b.off;
}

const uint8_t *rd_fo_hba(const rd_fo_msg_t *m)
{
	size_t len;
	const uint8_t *p = rd_fo_get_bytes(m, RD_FO_OPT_HBA, &len);
	return p && len == RD_FO_HBA_LEN ? p : NULL;
}

void rd_fo_unset(rd_fo_msg_t *m, unsigned code)
{
	if (known(code))
		m->has &= ~B(code);
}

/* ---- framing */

/* ISC reads (offset - 12) more header bytes before the options, in unsigned
 * arithmetic; see the header comment for what other offsets do to it. */
static int check_poff(unsigned poff, unsigned mlen, rd_diag_t *d)
{
	if (poff < RD_FO_HDR_LEN)
		return rd_diag_set(d, RD_EUNSUPPORTED,
				   "payload offset %u below 12 (draft-12/Microsoft style); ISC would lose the stream",
				   poff);
	if (poff > mlen)
		return rd_diag_set(d, RD_EMALFORMED, "payload offset %u past the end of a %u-byte message",
				   poff, mlen);
	return 0;
}

static int check_len(unsigned mlen, rd_diag_t *d)
{
	if (mlen < RD_FO_MSG_MIN || mlen > RD_FO_MSG_MAX)
		return rd_diag_set(d, RD_EMALFORMED, "message length %u outside %u..%u", mlen,
				   RD_FO_MSG_MIN, RD_FO_MSG_MAX);
	return 0;
}

int rd_fo_frame_len(const uint8_t *buf, size_t avail, size_t *msg_len, rd_diag_t *d)
{
	rd_wire_t w = rd_wire_init_const(buf, avail);
	int r;

	*msg_len = 0;
	if (avail < 2)
		return 0;
	unsigned mlen = rd_wire_read_u16(&w);
	*msg_len = mlen;
	if ((r = check_len(mlen, d)) < 0)
		return r;
	if (avail < 4)
		return 0;
	rd_wire_skip(&w, 1);
	if ((r = check_poff(rd_wire_read_u8(&w), mlen, d)) < 0)
		return r;
	return avail >= mlen ? 1 : 0;
}

/* ---- decoding */

/* Copy a value into the message's data and point the option at it.  The
 * values of one message never exceed its 2036 option bytes, so this cannot
 * run out of room for input that passed framing. */
static void store(rd_fo_msg_t *m, unsigned code, rd_wire_t *val, size_t len)
{
	if (opts[code].size == VAR) {
		if (len > (size_t)(RD_FO_DATA_MAX - m->data_used))
			return;
		rd_fo_bytes_t b = { .off = m->data_used, .len = (uint16_t)len };
		rd_wire_read_bytes(val, m->data + b.off, len);
		m->data_used = (uint16_t)(m->data_used + len);
		put_ref(m, code, b);
	} else if (opts[code].size == 1) {
		put_fixed(m, code, rd_wire_read_u8(val));
	} else if (opts[code].size == 2) {
		put_fixed(m, code, rd_wire_read_u16(val));
	} else if (opts[code].size == 4) {
		put_fixed(m, code, rd_wire_read_u32(val));
	}
	m->has |= B(code);
}

static bool size_ok(unsigned code, size_t len)
{
	return opts[code].size == VAR || opts[code].size == len;
}

/* Keep the header of a refused message for the log line, drop the rest. */
static int refuse(rd_fo_msg_t *m, int r)
{
	uint8_t type = m->type, poff = m->payload_offset;
	uint32_t time = m->time, xid = m->xid;

	rd_fo_msg_init(m, type, time, xid);
	m->payload_offset = poff;
	return r;
}

static int decode_options(rd_wire_t *w, rd_fo_msg_t *m, rd_diag_t *d)
{
	uint32_t keep = keeps_of(m->type);

	while (rd_wire_available(w)) {
		size_t at = rd_wire_tell(w);

		/* ISC: "message overflow at option code / at length / at data" */
		if (rd_wire_available(w) < RD_FO_OPT_HDR_LEN)
			return rd_diag_set(d, RD_ETRUNC, "option header at offset %zu: %zu bytes left, need 4",
					   at, rd_wire_available(w));
		unsigned code = rd_wire_read_u16(w);
		size_t len = rd_wire_read_u16(w);
		if (len > rd_wire_available(w))
			return rd_diag_set(d, RD_ETRUNC, "option %u (%s) at offset %zu declares %zu bytes, %zu left",
					   code, rd_fo_option_name(code), at, len, rd_wire_available(w));
		rd_wire_t val = rd_wire_sub(w, len);

		if (!known(code)) {
			m->unknown++;
			continue;
		}
		if (m->type > RD_FO_MSG_TYPE_MAX)
			return rd_diag_set(d, RD_EUNSUPPORTED,
					   "message type %u is unknown and carries option %u (%s)", m->type, code,
					   rd_fo_option_name(code));
		if (!(keep & B(code))) {
			/* ISC skips it unread: no size rule, repeats allowed.  Kept
			 * for the log when it is well-formed; the first one wins. */
			m->ignored |= B(code);
			if (!(m->has & B(code)) && size_ok(code, len))
				store(m, code, &val, len);
			continue;
		}
		if (m->has & B(code))
			return rd_diag_set(d, RD_EMALFORMED, "option %u (%s) repeated in %s", code,
					   rd_fo_option_name(code), rd_fo_msg_name(m->type));
		if (code == RD_FO_OPT_DDNS && len != 0)
			return rd_diag_set(d, RD_EOPTLEN,
					   "option 9 (DDNS) length %zu in %s: ISC sizes it 0 and drops the link",
					   len, rd_fo_msg_name(m->type));
		if (!size_ok(code, len))
			return rd_diag_set(d, RD_EOPTLEN, "option %u (%s) length %zu, expected %u", code,
					   rd_fo_option_name(code), len, opts[code].size);
		store(m, code, &val, len);
	}
	return 0;
}

int rd_fo_decode(const uint8_t *buf, size_t len, rd_fo_msg_t *out, rd_diag_t *d)
{
	rd_wire_t w = rd_wire_init_const(buf, len);
	int r;

	rd_fo_msg_init(out, 0, 0, 0);
	unsigned mlen = rd_wire_read_u16(&w);
	out->type = rd_wire_read_u8(&w);
	out->payload_offset = rd_wire_read_u8(&w);
	out->time = rd_wire_read_u32(&w);
	out->xid = rd_wire_read_u32(&w);
	if (!rd_wire_ok(&w))
		return rd_diag_set(d, RD_ETRUNC, "%zu bytes, shorter than the 12-byte header", len);
	if ((r = check_len(mlen, d)) < 0 || (r = check_poff(out->payload_offset, mlen, d)) < 0)
		return refuse(out, r);
	if (mlen != len)
		return refuse(out, rd_diag_set(d, RD_EMALFORMED, "message declares %u bytes, buffer holds %zu",
					       mlen, len));
	/* Header bytes past the 12 we know are skipped, as ISC does. */
	rd_wire_seek(&w, out->payload_offset);
	if ((r = decode_options(&w, out, d)) < 0)
		return refuse(out, r);
	return 0;
}

/* ---- encoding */

static size_t value_len(const rd_fo_msg_t *m, unsigned code)
{
	return opts[code].size == VAR ? get_ref(m, code).len : opts[code].size;
}

int rd_fo_encode(const rd_fo_msg_t *m, uint8_t *buf, size_t cap)
{
	size_t total = RD_FO_HDR_LEN;

	if (m->type < 1 || m->type > RD_FO_MSG_TYPE_MAX)
		return RD_EINVAL;
	for (size_t i = 0; i < sizeof(order); i++) {
		unsigned code = order[i];
		if (!(m->has & B(code)))
			continue;
		if (opts[code].size == VAR && !ref_valid(m, get_ref(m, code)))
			return RD_EINVAL;
		total += RD_FO_OPT_HDR_LEN + value_len(m, code);
	}
	if (total > RD_FO_MSG_MAX)
		return RD_ETOOBIG;
	if (!buf || cap < total)
		return RD_ENOSPACE;

	rd_wire_t w = rd_wire_init(buf, cap);
	rd_wire_write_u16(&w, (uint16_t)total);
	rd_wire_write_u8(&w, m->type);
	rd_wire_write_u8(&w, RD_FO_HDR_LEN);
	rd_wire_write_u32(&w, m->time);
	rd_wire_write_u32(&w, m->xid);
	for (size_t i = 0; i < sizeof(order); i++) {
		unsigned code = order[i];
		if (!(m->has & B(code)))
			continue;
		size_t vlen = value_len(m, code);
		rd_wire_write_u16(&w, (uint16_t)code);
		rd_wire_write_u16(&w, (uint16_t)vlen);
		switch (opts[code].size) {
		case 1:
			rd_wire_write_u8(&w, (uint8_t)get_fixed(m, code));
			break;
		case 2:
			rd_wire_write_u16(&w, (uint16_t)get_fixed(m, code));
			break;
		case 4:
			rd_wire_write_u32(&w, get_fixed(m, code));
			break;
		default:
			rd_wire_write_bytes(&w, m->data + get_ref(m, code).off, vlen);
			break;
		}
	}
	if (!rd_wire_ok(&w))
		return w.error;
	return (int)total;
}

/* ---- what ISC requires per message type */

static int need(const rd_fo_msg_t *m, unsigned code, int reason, rd_diag_t *d)
{
	if (m->has & B(code))
		return 0;
	rd_diag_set(d, RD_EMALFORMED, "%s without %s", rd_fo_msg_name(m->type), rd_fo_option_name(code));
	return reason;
}

/* max-unacked and receive-timer: ISC accepts a CONNECT(ACK) without them,
 * then never sends a BNDUPD (room for 0 unacked) and sends CONTACT every
 * 0/3 seconds.  A zero value does the same, so both are refused. */
static int need_timers(const rd_fo_msg_t *m, rd_diag_t *d)
{
	static const unsigned codes[] = { RD_FO_OPT_MAX_UNACKED, RD_FO_OPT_RECEIVE_TIMER };

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		int r = need(m, codes[i], RD_FO_REJ_MISC, d);
		if (r)
			return r;
		if (get_fixed(m, codes[i]) == 0) {
			rd_diag_set(d, RD_EMALFORMED, "%s with %s 0", rd_fo_msg_name(m->type),
				    rd_fo_option_name(codes[i]));
			return RD_FO_REJ_MISC;
		}
	}
	/* ISC never checks the version; the draft's reason for a wrong one is 14. */
	if ((m->has & B(RD_FO_OPT_PROTOCOL_VERSION)) && m->protocol_version != 1) {
		rd_diag_set(d, RD_EMALFORMED, "%s with protocol-version %u, expected 1", rd_fo_msg_name(m->type),
			    m->protocol_version);
		return RD_FO_REJ_VERSION_MISMATCH;
	}
	return 0;
}

static bool state_known(unsigned s)
{
	return s <= RD_FO_ST_CONFLICT_DONE || s == RD_FO_ST_RECOVER_WAIT;
}

static int check_bndupd(const rd_fo_msg_t *m, rd_diag_t *d)
{
	int r;
	size_t chlen;

	if ((r = need(m, RD_FO_OPT_ASSIGNED_IP, RD_FO_REJ_MISSING_BINDINFO, d)) ||
	    (r = need(m, RD_FO_OPT_BINDING_STATUS, RD_FO_REJ_MISSING_BINDINFO, d)))
		return r;
	unsigned bs = m->binding_status;
	if (bs < RD_FO_BS_FREE || bs > RD_FO_BS_BACKUP) {
		rd_diag_set(d, RD_EMALFORMED, "BNDUPD binding-status %u outside 1..7", bs);
		return RD_FO_REJ_MISC;
	}
	bool has_ch = rd_fo_get_bytes(m, RD_FO_OPT_CHADDR, &chlen) != NULL;
	if (has_ch && chlen > RD_FO_CHADDR_MAX) {
		rd_diag_set(d, RD_EMALFORMED, "BNDUPD chaddr of %zu bytes, at most %u", chlen, RD_FO_CHADDR_MAX);
		return RD_FO_REJ_MISC;
	}
	if (!has_ch && (bs == RD_FO_BS_ACTIVE || bs == RD_FO_BS_EXPIRED || bs == RD_FO_BS_RELEASED)) {
		rd_diag_set(d, RD_EMALFORMED, "BNDUPD %s without chaddr", rd_fo_binding_name(bs));
		return RD_FO_REJ_MISSING_BINDINFO;
	}
	if (bs == RD_FO_BS_ABANDONED && (has_ch || (m->has & B(RD_FO_OPT_CLIENT_ID)))) {
		rd_diag_set(d, RD_EMALFORMED, "BNDUPD abandoned with a %s", has_ch ? "chaddr" : "client-identifier");
		return RD_FO_REJ_MISC;
	}
	return 0;
}

int rd_fo_msg_check(const rd_fo_msg_t *m, rd_diag_t *d)
{
	int r;

	switch (m->type) {
	case RD_FO_POOLREQ:
	case RD_FO_POOLRESP:
	case RD_FO_UPDREQALL:
	case RD_FO_UPDDONE:
	case RD_FO_UPDREQ:
	case RD_FO_CONTACT:
	case RD_FO_DISCONNECT:
		return 0;
	case RD_FO_BNDUPD:
		return check_bndupd(m, d);
	case RD_FO_BNDACK:
		return need(m, RD_FO_OPT_ASSIGNED_IP, RD_FO_REJ_MISSING_BINDINFO, d);
	case RD_FO_CONNECT:
		/* ISC's order: name, (name match, skew: link layer), HBA, (dup link), MCLT. */
		if ((r = need(m, RD_FO_OPT_RELATIONSHIP_NAME, RD_FO_REJ_INVALID_PARTNER, d)))
			return r;
		if (!rd_fo_hba(m)) {
			size_t len;
			if (rd_fo_get_bytes(m, RD_FO_OPT_HBA, &len))
				rd_diag_set(d, RD_EMALFORMED, "CONNECT hash-bucket-assignment of %zu bytes, expected 32", len);
			else
				rd_diag_set(d, RD_EMALFORMED, "CONNECT without hash-bucket-assignment");
			return RD_FO_REJ_HBA_CONFLICT;
		}
		if ((r = need(m, RD_FO_OPT_MCLT, RD_FO_REJ_INVALID_MCLT, d)))
			return r;
		return need_timers(m, d);
	case RD_FO_CONNECTACK:
		if ((r = need(m, RD_FO_OPT_RELATIONSHIP_NAME, RD_FO_REJ_INVALID_PARTNER, d)))
			return r;
		/* A refusal is well-formed; the link logs its reason and closes. */
		if (m->has & B(RD_FO_OPT_REJECT_REASON))
			return 0;
		return need_timers(m, d);
	case RD_FO_STATE:
		if ((r = need(m, RD_FO_OPT_SERVER_STATE, RD_FO_REJ_MISC, d)))
			return r;
		if (!state_known(m->server_state)) {
			rd_diag_set(d, RD_EMALFORMED, "STATE server-state %u is not a state (ISC would go to shutdown)",
				    m->server_state);
			return RD_FO_REJ_MISC;
		}
		return 0;
	default:
		rd_diag_set(d, RD_EMALFORMED, "unknown message type %u", m->type);
		return RD_FO_REJ_UNKNOWN;
	}
}

/* ---- names */

const char *rd_fo_msg_name(unsigned type)
{
	static const char *const names[] = {
		[RD_FO_POOLREQ] = "POOLREQ",       [RD_FO_POOLRESP] = "POOLRESP",
		[RD_FO_BNDUPD] = "BNDUPD",         [RD_FO_BNDACK] = "BNDACK",
		[RD_FO_CONNECT] = "CONNECT",       [RD_FO_CONNECTACK] = "CONNECTACK",
		[RD_FO_UPDREQALL] = "UPDREQALL",   [RD_FO_UPDDONE] = "UPDDONE",
		[RD_FO_UPDREQ] = "UPDREQ",         [RD_FO_STATE] = "STATE",
		[RD_FO_CONTACT] = "CONTACT",       [RD_FO_DISCONNECT] = "DISCONNECT",
	};
	return type < sizeof(names) / sizeof(names[0]) && names[type] ? names[type] : "unknown";
}

const char *rd_fo_state_name(unsigned state)
{
	static const char *const names[] = {
		[RD_FO_ST_UNKNOWN] = "unknown-state",
		[RD_FO_ST_STARTUP] = "startup",
		[RD_FO_ST_NORMAL] = "normal",
		[RD_FO_ST_COMM_INTERRUPTED] = "communications-interrupted",
		[RD_FO_ST_PARTNER_DOWN] = "partner-down",
		[RD_FO_ST_POTENTIAL_CONFLICT] = "potential-conflict",
		[RD_FO_ST_RECOVER] = "recover",
		[RD_FO_ST_PAUSED] = "paused",
		[RD_FO_ST_SHUTDOWN] = "shutdown",
		[RD_FO_ST_RECOVER_DONE] = "recover-done",
		[RD_FO_ST_RESOLUTION_INTERRUPTED] = "resolution-interrupted",
		[RD_FO_ST_CONFLICT_DONE] = "conflict-done",
	};
	if (state == RD_FO_ST_RECOVER_WAIT)
		return "recover-wait";
	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

const char *rd_fo_binding_name(unsigned status)
{
	static const char *const names[] = {
		[RD_FO_BS_FREE] = "free",         [RD_FO_BS_ACTIVE] = "active",
		[RD_FO_BS_EXPIRED] = "expired",   [RD_FO_BS_RELEASED] = "released",
		[RD_FO_BS_ABANDONED] = "abandoned", [RD_FO_BS_RESET] = "reset",
		[RD_FO_BS_BACKUP] = "backup",
	};
	return status < sizeof(names) / sizeof(names[0]) && names[status] ? names[status] : "unknown";
}

const char *rd_fo_reject_reason_name(unsigned reason)
{
	static const char *const names[] = {
		[RD_FO_REJ_ILLEGAL_IP] = "illegal IP address",
		[RD_FO_REJ_FATAL_CONFLICT] = "fatal conflict with another client",
		[RD_FO_REJ_MISSING_BINDINFO] = "missing binding information",
		[RD_FO_REJ_TIME_MISMATCH] = "time mismatch too great",
		[RD_FO_REJ_INVALID_MCLT] = "invalid MCLT",
		[RD_FO_REJ_MISC] = "connection rejected",
		[RD_FO_REJ_DUP_CONNECTION] = "duplicate connection",
		[RD_FO_REJ_INVALID_PARTNER] = "invalid failover partner",
		[RD_FO_REJ_TLS_UNSUPPORTED] = "TLS not supported",
		[RD_FO_REJ_TLS_UNCONFIGURED] = "TLS supported but not configured",
		[RD_FO_REJ_TLS_REQUIRED] = "TLS required but not supported by partner",
		[RD_FO_REJ_DIGEST_UNSUPPORTED] = "message digest not supported",
		[RD_FO_REJ_DIGEST_UNCONFIGURED] = "message digest not configured",
		[RD_FO_REJ_VERSION_MISMATCH] = "protocol version mismatch",
		[RD_FO_REJ_OUTDATED_BINDINFO] = "outdated binding information",
		[RD_FO_REJ_LESS_CRITICAL_BINDINFO] = "less critical binding information",
		[RD_FO_REJ_NO_TRAFFIC] = "no traffic within sufficient time",
		[RD_FO_REJ_HBA_CONFLICT] = "hash bucket assignment conflict",
		[RD_FO_REJ_IP_NOT_RESERVED] = "IP not reserved on this server",
		[RD_FO_REJ_DIGEST_FAILED] = "message digest failed to compare",
		[RD_FO_REJ_DIGEST_MISSING] = "missing message digest",
	};
	if (reason == RD_FO_REJ_UNKNOWN)
		return "unknown error";
	return reason < sizeof(names) / sizeof(names[0]) && names[reason] ? names[reason] : "unknown";
}

const char *rd_fo_option_name(unsigned code)
{
	return known(code) ? opts[code].name : "unknown";
}

/* ---- printing */

/* Output buffer that cuts, never overruns, and stays NUL-terminated. */
typedef rd_sb_t pbuf_t;
#define pb_printf rd_sb_printf

/* Long values are cut in the log line; the peer controls their length. */
#define PRINT_MAX 64

static void pb_text(pbuf_t *b, const uint8_t *p, size_t n)
{
	size_t shown = n < PRINT_MAX ? n : PRINT_MAX;

	pb_printf(b, "\"");
	for (size_t i = 0; i < shown; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
			pb_printf(b, "%c", p[i]);
		else
			pb_printf(b, "\\x%02x", p[i]);
	}
	pb_printf(b, "\"");
	if (shown < n)
		pb_printf(b, "...(%zu bytes)", n);
}

static void pb_hex(pbuf_t *b, const uint8_t *p, size_t n, bool colons)
{
	size_t shown = n < PRINT_MAX / 2 ? n : PRINT_MAX / 2;

	if (n == 0)
		pb_printf(b, "\"\"");
	for (size_t i = 0; i < shown; i++)
		pb_printf(b, colons && i ? ":%02x" : "%02x", p[i]);
	if (shown < n)
		pb_printf(b, "...(%zu bytes)", n);
}

static void print_value(pbuf_t *b, const rd_fo_msg_t *m, unsigned code)
{
	const struct optinfo *oi = &opts[code];
	uint32_t v = oi->size == VAR ? 0 : get_fixed(m, code);
	const uint8_t *p = NULL;
	size_t n = 0;

	if (oi->size == VAR && !(p = rd_fo_get_bytes(m, code, &n))) {
		pb_printf(b, "?");
		return;
	}
	switch (oi->fmt) {
	case F_NUM:
		pb_printf(b, "%u", v);
		break;
	case F_HEX16:
		pb_printf(b, "0x%04x", v);
		break;
	case F_HEX8:
		pb_printf(b, "0x%02x", v);
		break;
	case F_IP:
		pb_printf(b, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
		break;
	case F_TIME:
		/* Relative to the sender's clock reads as a lease length. */
		pb_printf(b, "%u", v);
		if (v && m->time)
			pb_printf(b, "(%+lld)", (long long)v - (long long)m->time);
		break;
	case F_STATE:
		pb_printf(b, "%s(%u)", rd_fo_state_name(v), v);
		break;
	case F_BINDING:
		pb_printf(b, "%s", rd_fo_binding_name(v));
		if (v < RD_FO_BS_FREE || v > RD_FO_BS_BACKUP)
			pb_printf(b, "(%u)", v);
		break;
	case F_REJECT:
		pb_printf(b, "%u(%s)", v, rd_fo_reject_reason_name(v));
		break;
	case F_TEXT:
		pb_text(b, p, n);
		break;
	case F_OCTETS:
		pb_hex(b, p, n, true);
		break;
	case F_HEX:
		pb_hex(b, p, n, false);
		break;
	default:
		pb_printf(b, "yes");
		break;
	}
}

size_t rd_fo_msg_print(const rd_fo_msg_t *m, char *buf, size_t cap)
{
	pbuf_t b;
	rd_sb_init(&b, buf, buf ? cap : 0);
	uint32_t keep = keeps_of(m->type);

	if (b.cap)
		buf[0] = '\0';
	pb_printf(&b, "%s", rd_fo_msg_name(m->type));
	if (m->type < 1 || m->type > RD_FO_MSG_TYPE_MAX)
		pb_printf(&b, "(%u)", m->type);
	pb_printf(&b, " xid 0x%x time %u", m->xid, m->time);
	if (m->payload_offset != RD_FO_HDR_LEN)
		pb_printf(&b, " poff %u", m->payload_offset);
	for (size_t i = 0; i < sizeof(order); i++) {
		unsigned code = order[i];
		if (!(m->has & B(code)))
			continue;
		pb_printf(&b, " %s%s=", keep & B(code) ? "" : "~", opts[code].key);
		print_value(&b, m, code);
	}
	if (m->has & B(RD_FO_OPT_DDNS))
		pb_printf(&b, " %sddns", keep & B(RD_FO_OPT_DDNS) ? "" : "~");
	if (m->unknown)
		pb_printf(&b, " unknown-options=%u", m->unknown);
	return b.len;
}

bool rd_fo_msg_equal(const rd_fo_msg_t *a, const rd_fo_msg_t *b)
{
	if (a->type != b->type || a->time != b->time || a->xid != b->xid || a->has != b->has)
		return false;
	for (unsigned code = 1; code <= RD_FO_OPT_MAX; code++) {
		if (!(a->has & B(code)))
			continue;
		if (opts[code].size != VAR) {
			if (get_fixed(a, code) != get_fixed(b, code))
				return false;
			continue;
		}
		size_t la, lb;
		const uint8_t *pa = rd_fo_get_bytes(a, code, &la);
		const uint8_t *pb = rd_fo_get_bytes(b, code, &lb);
		if (!pa || !pb || la != lb || (la && memcmp(pa, pb, la) != 0))
			return false;
	}
	return true;
}
