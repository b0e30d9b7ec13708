/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dhcp_parse.c — turn a UDP payload into an rd_dhcp_t.
 *
 * Every byte is read through an rd_wire_t cursor; nothing here indexes the
 * packet directly.  The input is hostile (it is fuzzed under ASan/UBSan), so
 * each declared length is checked against the bytes left before it is used.
 *
 * Options are gathered in two passes over the same walk.  RFC 3396 says all
 * instances of a code, in options -> file -> sname order, form one value, and
 * a later instance may follow other codes; the first pass therefore only
 * measures (total length per code, order of first appearance, the overload
 * value), which fixes each code's slot in optbuf, and the second pass copies
 * every instance into its slot.  Only then is each joined value checked
 * against its rule (rd_dhcp_option_validate): a message with any bad option
 * is refused whole, so later code may trust the lengths.
 *
 * Leniency, chosen to match what real stacks send:
 *  - a missing END option is accepted (many embedded stacks omit it);
 *  - bytes after END are padding, whatever their value;
 *  - without the magic cookie, an absent or all-zero vendor area is plain
 *    BOOTP (no options); anything else is RD_ECOOKIE;
 *  - option 52 inside file/sname is meaningless and skipped;
 *  - duplicate option-82 sub-options: the first one wins.
 *
 * A refused message keeps the header fields parsed so far (for the log
 * line) but reports no options.
 */
#include <stddef.h>
#include <string.h>

#include "rackdhcp/dhcp.h"
#include "rackdhcp/wire.h"

/* The three places options may live, in RFC 3396 order. */
enum area { AREA_OPTIONS, AREA_FILE, AREA_SNAME };

static const char *const area_names[] = { "options", "file", "sname" };

/* State shared by the measuring and the copying pass. */
typedef struct {
	rd_dhcp_t *m;
	bool copy;                 /* false: measure; true: copy into optbuf */
	/* Per code; only the entries of codes present are set (first sight in
	 * pass 1, before pass 2), so the 1 KiB need not be cleared per message. */
	uint16_t total[256];       /* joined length per code (pass 1) */
	uint16_t fill[256];        /* bytes copied so far per code (pass 2) */
	uint8_t overload;          /* last one-byte value of 52 in the options field */
	size_t end;                /* options field: offset just past END (or its end) */
} optwalk_t;

static void mark_present(rd_dhcp_t *m, uint8_t code)
{
	m->present[code >> 3] |= (uint8_t)(1u << (code & 7));
}

/*
 * Walk one option area.  PAD is skipped, END stops the area; everything else
 * is (code, len, value).  Pass 1 records, pass 2 copies; pass 2 cannot fail
 * because it walks bytes pass 1 already accepted.
 */
static int walk_area(optwalk_t *s, rd_wire_t *w, enum area area, rd_diag_t *d)
{
	rd_dhcp_t *m = s->m;

	while (rd_wire_available(w)) {
		uint8_t code = rd_wire_read_u8(w);

		if (code == RD_OPT_PAD)
			continue;
		if (code == RD_OPT_END)
			break;
		if (!rd_wire_available(w))
			return rd_diag_set(d, RD_ETRUNC,
					   "option %u (%s) in the %s field has no length byte",
					   code, rd_dhcp_option_name(code), area_names[area]);
		uint8_t len = rd_wire_read_u8(w);
		if (len > rd_wire_available(w))
			return rd_diag_set(d, RD_ETRUNC,
					   "option %u (%s) in the %s field declares %u bytes, %zu left",
					   code, rd_dhcp_option_name(code), area_names[area], len,
					   rd_wire_available(w));
		rd_wire_t val = rd_wire_sub(w, len);

		/* Overload is only meaningful in the options field itself. */
		if (code == RD_OPT_OVERLOAD && area != AREA_OPTIONS)
			continue;
		if (!s->copy) {
			if (!rd_dhcp_has(m, code)) {
				mark_present(m, code);
				m->opt_order[m->opt_count++] = code;
				s->total[code] = 0;
			}
			s->total[code] = (uint16_t)(s->total[code] + len);
			if (code == RD_OPT_OVERLOAD && len == 1)
				s->overload = rd_wire_peek_u8(&val);
		} else {
			size_t at = (size_t)m->opt_off[code] + s->fill[code];
			rd_wire_read_bytes(&val, &m->optbuf[at], len);
			s->fill[code] = (uint16_t)(s->fill[code] + len);
		}
	}
	if (area == AREA_OPTIONS)
		s->end = rd_wire_tell(w);
	return 0;
}

/* Walk the options field, then file and/or sname as option 52 asks. */
static int walk_all(optwalk_t *s, rd_wire_t *opts, rd_diag_t *d)
{
	rd_dhcp_t *m = s->m;
	rd_wire_t w = rd_wire_rewind_copy(opts);
	int r = walk_area(s, &w, AREA_OPTIONS, d);

	if (r < 0)
		return r;
	if (!s->copy && rd_dhcp_has(m, RD_OPT_OVERLOAD)) {
		/* Decided now, before file/sname are read as options. */
		if (s->total[RD_OPT_OVERLOAD] != 1)
			return rd_diag_set(d, RD_EOPTLEN, "option 52 (overload) length %u, expected 1",
					   s->total[RD_OPT_OVERLOAD]);
		r = rd_dhcp_option_validate(RD_OPT_OVERLOAD, &s->overload, 1, d);
		if (r < 0)
			return r;
		m->overload = s->overload;
	}
	if (m->overload & RD_OVERLOAD_FILE) {
		w = rd_wire_init_const(m->file, sizeof(m->file));
		r = walk_area(s, &w, AREA_FILE, d);
		if (r < 0)
			return r;
	}
	if (m->overload & RD_OVERLOAD_SNAME) {
		w = rd_wire_init_const(m->sname, sizeof(m->sname));
		r = walk_area(s, &w, AREA_SNAME, d);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Record the option-82 sub-options; the value was validated already. */
static void parse_agent(rd_dhcp_t *m)
{
	size_t len;
	const uint8_t *v = rd_dhcp_get(m, RD_OPT_AGENT_INFO, &len);
	rd_dhcp_agent_t *a = &m->agent;

	if (!v)
		return;
	a->present = true;
	rd_wire_t w = rd_wire_init_const(v, len);
	while (rd_wire_available(&w) >= 2) {
		uint8_t sub = rd_wire_read_u8(&w);
		uint8_t sl = rd_wire_read_u8(&w);
		size_t at = rd_wire_tell(&w);

		rd_wire_skip(&w, sl);
		if (!rd_wire_ok(&w))
			break;
		if ((a->seen[sub >> 3] >> (sub & 7)) & 1)
			continue;   /* duplicate: the first one wins */
		a->seen[sub >> 3] |= (uint8_t)(1u << (sub & 7));
		a->off[sub] = (uint16_t)at;
		a->len[sub] = sl;
		a->count++;
	}
}

/*
 * A refused message keeps its header (the log line names the client by xid
 * and chaddr) but reports no options: half-joined values must not be used.
 */
static void drop_options(rd_dhcp_t *m)
{
	m->overload = 0;
	m->opt_count = 0;
	m->optbuf_used = 0;
	memset(m->present, 0, sizeof(m->present));
	m->msgtype = 0;
	m->max_msg_size = 0;
	memset(&m->agent, 0, sizeof(m->agent));
}

/* Measure, lay out, copy and validate every option after the cookie. */
static int parse_options(rd_dhcp_t *msg, rd_wire_t *opts, rd_diag_t *d)
{
	optwalk_t s;
	int r;

	s.m = msg;
	s.copy = false;
	s.overload = 0;
	s.end = 0;

	r = walk_all(&s, opts, d);
	if (r < 0)
		return r;
	msg->wire_len = RD_DHCP_FIXED_LEN + 4 + s.end;

	/* Lay the joined values out in order of first appearance, then copy. */
	size_t off = 0;
	for (unsigned i = 0; i < msg->opt_count; i++) {
		uint8_t code = msg->opt_order[i];
		msg->opt_off[code] = (uint16_t)off;
		msg->opt_len[code] = s.total[code];
		off += s.total[code];
		s.fill[code] = 0;
	}
	/* Cannot trip: the values come from a payload of at most RD_DHCP_MAX_LEN bytes. */
	if (off > sizeof(msg->optbuf))
		return rd_diag_set(d, RD_ETOOBIG, "options need %zu bytes", off);
	msg->optbuf_used = (uint16_t)off;
	s.copy = true;
	r = walk_all(&s, opts, d);
	if (r < 0)
		return r;

	for (unsigned i = 0; i < msg->opt_count; i++) {
		uint8_t code = msg->opt_order[i];
		r = rd_dhcp_option_validate(code, &msg->optbuf[msg->opt_off[code]], msg->opt_len[code], d);
		if (r < 0)
			return r;
	}

	rd_dhcp_get_u8(msg, RD_OPT_MESSAGE_TYPE, &msg->msgtype);
	rd_dhcp_get_u16(msg, RD_OPT_MAX_MSG_SIZE, &msg->max_msg_size);
	parse_agent(msg);
	return 0;
}

/* Zero everything but optbuf, which is written before it is read. */
static void clear_msg(rd_dhcp_t *m)
{
	size_t head = offsetof(rd_dhcp_t, optbuf);
	size_t tail = head + sizeof(m->optbuf);

	memset(m, 0, head);
	memset((char *)m + tail, 0, sizeof(*m) - tail);
}

int rd_dhcp_parse(const uint8_t *buf, size_t len, rd_dhcp_t *msg, rd_diag_t *d)
{
	rd_wire_t w = rd_wire_init_const(buf, len);
	int r;

	rd_diag_clear(d);
	if (!msg || (!buf && len))
		return rd_diag_set(d, RD_EINVAL, "no message or buffer");
	clear_msg(msg);
	if (len > RD_DHCP_MAX_LEN)
		return rd_diag_set(d, RD_ETOOBIG, "payload of %zu bytes, the limit is %d",
				   len, RD_DHCP_MAX_LEN);
	if (len < RD_DHCP_FIXED_LEN)
		return rd_diag_set(d, RD_ETRUNC, "%zu bytes, a BOOTP header needs %d",
				   len, RD_DHCP_FIXED_LEN);

	msg->op = rd_wire_read_u8(&w);
	msg->htype = rd_wire_read_u8(&w);
	msg->hlen = rd_wire_read_u8(&w);
	msg->hops = rd_wire_read_u8(&w);
	msg->xid = rd_wire_read_u32(&w);
	msg->secs = rd_wire_read_u16(&w);
	msg->flags = rd_wire_read_u16(&w);
	msg->ciaddr = rd_wire_read_u32(&w);
	msg->yiaddr = rd_wire_read_u32(&w);
	msg->siaddr = rd_wire_read_u32(&w);
	msg->giaddr = rd_wire_read_u32(&w);
	rd_wire_read_bytes(&w, msg->chaddr, sizeof(msg->chaddr));
	rd_wire_read_bytes(&w, msg->sname, sizeof(msg->sname));
	rd_wire_read_bytes(&w, msg->file, sizeof(msg->file));
	if (!rd_wire_ok(&w))
		return rd_diag_set(d, RD_ETRUNC, "truncated BOOTP header");

	if (msg->op != RD_BOOTREQUEST && msg->op != RD_BOOTREPLY)
		return rd_diag_set(d, RD_EMALFORMED, "op %u is neither BOOTREQUEST nor BOOTREPLY", msg->op);
	if (msg->hlen > RD_DHCP_CHADDR_LEN)
		return rd_diag_set(d, RD_EMALFORMED, "hlen %u, at most %d", msg->hlen, RD_DHCP_CHADDR_LEN);

	/* Magic cookie, or plain BOOTP with an empty vendor area. */
	size_t vend = rd_wire_available(&w);
	if (vend < 4 || rd_wire_read_u32(&w) != RD_DHCP_COOKIE) {
		rd_wire_t v = rd_wire_init_const(buf, len);
		rd_wire_seek(&v, RD_DHCP_FIXED_LEN);
		while (rd_wire_available(&v))
			if (rd_wire_read_u8(&v) != 0)
				return rd_diag_set(d, RD_ECOOKIE,
						   "no DHCP magic cookie in a non-empty vendor area of %zu bytes",
						   vend);
		msg->wire_len = len;
		return 0;
	}
	msg->has_cookie = true;

	/* Everything after the cookie is the options field. */
	rd_wire_t opts = rd_wire_sub(&w, rd_wire_available(&w));
	r = parse_options(msg, &opts, d);
	if (r < 0)
		drop_options(msg);
	return r;
}

const uint8_t *rd_dhcp_get(const rd_dhcp_t *m, uint8_t code, size_t *len)
{
	if (!m || !rd_dhcp_has(m, code)) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = m->opt_len[code];
	return &m->optbuf[m->opt_off[code]];
}

/* Cursor over an option's value when it has exactly n bytes. */
static bool get_exact(const rd_dhcp_t *m, uint8_t code, size_t n, rd_wire_t *w)
{
	size_t len;
	const uint8_t *v = rd_dhcp_get(m, code, &len);

	if (!v || len != n)
		return false;
	*w = rd_wire_init_const(v, len);
	return true;
}

bool rd_dhcp_get_u8(const rd_dhcp_t *m, uint8_t code, uint8_t *v)
{
	rd_wire_t w;

	if (!get_exact(m, code, 1, &w))
		return false;
	*v = rd_wire_read_u8(&w);
	return true;
}

bool rd_dhcp_get_u16(const rd_dhcp_t *m, uint8_t code, uint16_t *v)
{
	rd_wire_t w;

	if (!get_exact(m, code, 2, &w))
		return false;
	*v = rd_wire_read_u16(&w);
	return true;
}

bool rd_dhcp_get_u32(const rd_dhcp_t *m, uint8_t code, uint32_t *v)
{
	rd_wire_t w;

	if (!get_exact(m, code, 4, &w))
		return false;
	*v = rd_wire_read_u32(&w);
	return true;
}

const uint8_t *rd_dhcp_agent_get(const rd_dhcp_t *m, uint8_t sub, size_t *len)
{
	size_t olen;
	const uint8_t *v;

	if (len)
		*len = 0;
	if (!m || !m->agent.present || !((m->agent.seen[sub >> 3] >> (sub & 7)) & 1))
		return NULL;
	v = rd_dhcp_get(m, RD_OPT_AGENT_INFO, &olen);
	if (!v)
		return NULL;
	rd_wire_t w = rd_wire_init_const(v, olen);
	rd_wire_seek(&w, m->agent.off[sub]);
	const uint8_t *p = rd_wire_view(&w, m->agent.len[sub]);
	if (!p)
		return NULL;
	if (len)
		*len = m->agent.len[sub];
	return p;
}
