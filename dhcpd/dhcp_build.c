/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dhcp_build.c — lay a DHCP/BOOTP message out from an rd_dhcp_builder_t.
 *
 * The builder holds header fields and a set of options (values in its own
 * buffer, in add order).  rd_dhcp_build decides everything about the wire
 * form at once: option order (53, 54, the client's parameter request list,
 * the rest, 82 last), RFC 3396 splitting of values over 255 bytes, option 52
 * overload into `file` then `sname` when the options field runs out, and,
 * when even that is not enough, which options to leave out.
 *
 * Layout is a sequential fill of up to three areas — the options field, then
 * `file`, then `sname` — never going back to an earlier area.  That keeps the
 * order a parser sees (options, file, sname, per RFC 2131/3396) identical to
 * the order we chose, at the price of a few bytes left unused at the end of
 * an area.  Options of 255 bytes or less are never split (clients that do
 * not implement RFC 3396 would see two instances); longer ones are cut into
 * instances that each stay inside one area.
 *
 * Dropping under space pressure is greedy by priority: REQUIRED options
 * first (they must all fit or the build fails), then the requested ones in
 * prl order, then the others in add order; each is kept if the message with
 * it still fits.  So the option that loses is always the lowest-priority one
 * — non-requested from the end of add order, then requested from the end of
 * prl — and nothing is dropped that would have fitted anyway.
 *
 * All byte access to the output goes through rd_wire_t.
 */
#include <stddef.h>
#include <string.h>

#include "rackdhcp/dhcp.h"
#include "rackdhcp/wire.h"

#define OFF_SNAME    44
#define OFF_FILE     (OFF_SNAME + RD_DHCP_SNAME_LEN)
#define OFF_OPTIONS  (RD_DHCP_FIXED_LEN + 4)            /* after the magic cookie */
#define DEFAULT_MAX  (RD_DHCP_MIN_MAXMSG - 28)          /* 576 - IPv4 - UDP = 548 */
#define OVERLOAD_LEN 3                                  /* code, length 1, value */

static inline bool bit_get(const uint8_t *map, uint8_t code)
{
	return (map[code >> 3] >> (code & 7)) & 1;
}

static inline void bit_set(uint8_t *map, uint8_t code)
{
	map[code >> 3] = (uint8_t)(map[code >> 3] | (1u << (code & 7)));
}

static inline void bit_clear(uint8_t *map, uint8_t code)
{
	map[code >> 3] = (uint8_t)(map[code >> 3] & ~(1u << (code & 7)));
}

void rd_dhcp_builder_init(rd_dhcp_builder_t *b)
{
	/*
	 * Only the header and bookkeeping need zeroing; the value buffer is
	 * addressed through off/len, so skip clearing its 9 KB on every reply.
	 */
	memset(b, 0, offsetof(rd_dhcp_builder_t, buf));
	b->op = RD_BOOTREPLY;
	b->htype = 1;
	b->hlen = 6;
}

void rd_dhcp_builder_reply(rd_dhcp_builder_t *b, const rd_dhcp_t *req, uint8_t msgtype)
{
	rd_dhcp_builder_init(b);
	if (req) {
		b->htype = req->htype;
		b->hlen = req->hlen;
		b->xid = req->xid;
		b->flags = req->flags;
		b->giaddr = req->giaddr;
		memcpy(b->chaddr, req->chaddr, sizeof(b->chaddr));
	}
	(void)rd_dhcp_builder_set_u8(b, RD_OPT_MESSAGE_TYPE, msgtype, RD_BOPT_REQUIRED);
}

/* Bytes held by live values (what `used` would be after compaction). */
static size_t live_bytes(const rd_dhcp_builder_t *b)
{
	size_t n = 0;

	for (unsigned i = 0; i < b->count; i++)
		n += b->len[b->order[i]];
	return n;
}

/*
 * Squeeze out the holes that replaced and removed values leave in buf,
 * leaving out `skip` (the value about to be replaced) if it is present.
 */
static void compact(rd_dhcp_builder_t *b, int skip)
{
	uint8_t tmp[RD_DHCP_OPTBUF_LEN];
	uint16_t used = 0;

	for (unsigned i = 0; i < b->count; i++) {
		uint8_t c = b->order[i];
		if ((int)c == skip)
			continue;
		memcpy(&tmp[used], &b->buf[b->off[c]], b->len[c]);
		b->off[c] = used;
		used = (uint16_t)(used + b->len[c]);
	}
	memcpy(b->buf, tmp, used);
	b->used = used;
	if (skip >= 0) {
		b->off[skip] = 0;
		b->len[skip] = 0;
	}
}

int rd_dhcp_builder_set(rd_dhcp_builder_t *b, uint8_t code, const void *val, size_t len, unsigned bflags)
{
	/* PAD and END are not options; 52 is the layout's own business. */
	if (code == RD_OPT_PAD || code == RD_OPT_END || code == RD_OPT_OVERLOAD)
		return RD_EINVAL;
	if (len && !val)
		return RD_EINVAL;
	if (len > RD_DHCP_OPTBUF_LEN)
		return RD_ETOOBIG;

	/*
	 * val must not point into b->buf: a replacement may compact the
	 * buffer and move it.  In-place reuse below uses memmove for the
	 * harmless case of a value re-set from its own slot.
	 */
	bool had = bit_get(b->present, code);
	if (had && len <= b->len[code]) {
		/* Shrinking or same size: reuse the slot in place. */
		if (len)
			memmove(&b->buf[b->off[code]], val, len);
		b->len[code] = (uint16_t)len;
		b->bflags[code] = (uint8_t)bflags;
		return 0;
	}

	/* used >= live bytes, so a value that fits after `used` needs neither
	 * the space check nor compaction: the usual case, without a walk
	 * over every option set so far. */
	if (len > (size_t)RD_DHCP_OPTBUF_LEN - b->used) {
		size_t old = had ? b->len[code] : 0;
		if (live_bytes(b) - old + len > RD_DHCP_OPTBUF_LEN)
			return RD_ENOSPACE;
		compact(b, had ? code : -1);
	}

	if (len)
		memcpy(&b->buf[b->used], val, len);
	b->off[code] = b->used;
	b->len[code] = (uint16_t)len;
	b->used = (uint16_t)(b->used + len);
	b->bflags[code] = (uint8_t)bflags;
	if (!had) {
		bit_set(b->present, code);
		b->order[b->count++] = code;
	}
	return 0;
}

int rd_dhcp_builder_set_u8(rd_dhcp_builder_t *b, uint8_t code, uint8_t v, unsigned bflags)
{
	return rd_dhcp_builder_set(b, code, &v, 1, bflags);
}

int rd_dhcp_builder_set_u16(rd_dhcp_builder_t *b, uint8_t code, uint16_t v, unsigned bflags)
{
	uint8_t tmp[2];
	rd_wire_t w = rd_wire_init(tmp, sizeof(tmp));

	rd_wire_write_u16(&w, v);
	return rd_dhcp_builder_set(b, code, tmp, sizeof(tmp), bflags);
}

int rd_dhcp_builder_set_u32(rd_dhcp_builder_t *b, uint8_t code, uint32_t v, unsigned bflags)
{
	uint8_t tmp[4];
	rd_wire_t w = rd_wire_init(tmp, sizeof(tmp));

	rd_wire_write_u32(&w, v);
	return rd_dhcp_builder_set(b, code, tmp, sizeof(tmp), bflags);
}

void rd_dhcp_builder_unset(rd_dhcp_builder_t *b, uint8_t code)
{
	if (!bit_get(b->present, code))
		return;
	for (unsigned i = 0; i < b->count; i++) {
		if (b->order[i] != code)
			continue;
		memmove(&b->order[i], &b->order[i + 1], b->count - i - 1);
		b->count--;
		break;
	}
	bit_clear(b->present, code);
	b->bflags[code] = 0;
	b->len[code] = 0;
	b->off[code] = 0;
}

/* Copy a C string into a NUL-padded field; it must keep a terminating NUL. */
static int set_field(uint8_t *field, size_t size, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n >= size)
		return RD_ETOOBIG;
	memset(field, 0, size);
	if (n)
		memcpy(field, s, n);
	return 0;
}

int rd_dhcp_builder_set_sname(rd_dhcp_builder_t *b, const char *s)
{
	return set_field(b->sname, sizeof(b->sname), s);
}

int rd_dhcp_builder_set_file(rd_dhcp_builder_t *b, const char *s)
{
	return set_field(b->file, sizeof(b->file), s);
}

int rd_dhcp_builder_from(rd_dhcp_builder_t *b, const rd_dhcp_t *m)
{
	rd_dhcp_builder_init(b);
	b->op = m->op;
	b->htype = m->htype;
	b->hlen = m->hlen;
	b->hops = m->hops;
	b->xid = m->xid;
	b->secs = m->secs;
	b->flags = m->flags;
	b->ciaddr = m->ciaddr;
	b->yiaddr = m->yiaddr;
	b->siaddr = m->siaddr;
	b->giaddr = m->giaddr;
	memcpy(b->chaddr, m->chaddr, sizeof(b->chaddr));
	/*
	 * An overloaded field held options, which are in the joined list below;
	 * leaving it empty hands it back to the layout as option space.
	 */
	if (!(m->overload & RD_OVERLOAD_SNAME))
		memcpy(b->sname, m->sname, sizeof(b->sname));
	if (!(m->overload & RD_OVERLOAD_FILE))
		memcpy(b->file, m->file, sizeof(b->file));
	b->no_cookie = !m->has_cookie;

	/* Values are read through a cursor so a corrupt offset cannot escape optbuf. */
	rd_wire_t ob = rd_wire_init_const(m->optbuf, sizeof(m->optbuf));
	for (unsigned i = 0; i < m->opt_count && i < 256; i++) {
		uint8_t c = m->opt_order[i];
		if (c == RD_OPT_PAD || c == RD_OPT_END || c == RD_OPT_OVERLOAD)
			continue;
		rd_wire_t v = rd_wire_rewind_copy(&ob);
		rd_wire_seek(&v, m->opt_off[c]);
		const uint8_t *val = rd_wire_view(&v, m->opt_len[c]);
		if (!val)
			return RD_EINVAL;
		/* A DHCP message without its type is not one: keep 53 at any cost. */
		unsigned fl = c == RD_OPT_MESSAGE_TYPE ? RD_BOPT_REQUIRED : 0;
		int r = rd_dhcp_builder_set(b, c, val, m->opt_len[c], fl);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ------------------------------------------------------------------ layout */

/* Everything a layout attempt needs, fixed for one rd_dhcp_build call. */
struct layout {
	const rd_dhcp_builder_t *b;
	uint8_t seq[256];       /* wire order of every present option */
	unsigned nseq;
	uint8_t *out;
	size_t limit;           /* max payload bytes */
	bool file_free, sname_free;
};

/* One option area being filled. */
struct area {
	rd_wire_t w;
	size_t reserve;         /* bytes held back before END (option 52) */
	uint8_t ovl_bit;        /* its option-52 bit; 0 for the options field */
	bool used;              /* an option went in */
};

/* Room for option bytes in an area, keeping END and the reserve. */
static size_t area_room(const struct area *a)
{
	size_t n = rd_wire_available(&a->w);

	return n > a->reserve ? n - a->reserve - 1 : 0;
}

static void write_header(const rd_dhcp_builder_t *b, rd_wire_t *w)
{
	rd_wire_write_u8(w, b->op);
	rd_wire_write_u8(w, b->htype);
	rd_wire_write_u8(w, b->hlen);
	rd_wire_write_u8(w, b->hops);
	rd_wire_write_u32(w, b->xid);
	rd_wire_write_u16(w, b->secs);
	rd_wire_write_u16(w, b->flags);
	rd_wire_write_u32(w, b->ciaddr);
	rd_wire_write_u32(w, b->yiaddr);
	rd_wire_write_u32(w, b->siaddr);
	rd_wire_write_u32(w, b->giaddr);
	rd_wire_write_bytes(w, b->chaddr, sizeof(b->chaddr));
	rd_wire_write_bytes(w, b->sname, sizeof(b->sname));
	rd_wire_write_bytes(w, b->file, sizeof(b->file));
}

/* Write one instance: code, length, value bytes taken from the value cursor. */
static int put_instance(struct area *a, uint8_t code, rd_wire_t *val, size_t n)
{
	const uint8_t *p = rd_wire_view(val, n);

	if (!p)
		return RD_EINVAL;       /* off/len outside buf: builder corrupted */
	rd_wire_write_u8(&a->w, code);
	rd_wire_write_u8(&a->w, (uint8_t)n);
	rd_wire_write_bytes(&a->w, p, n);
	a->used = true;
	return 0;
}

/*
 * Write the whole message with the options of incl (bitmap by code) into
 * L->out.  overload=false: options field only.  overload=true: 3 bytes of
 * the options field are kept for option 52, and options may continue into
 * the free ones of file and sname.
 * \retval >0 message length; RD_ETOOBIG (and *fail = the code that did not fit).
 */
static int layout_try(const struct layout *L, const uint8_t *incl, bool overload, uint8_t *fail)
{
	const rd_dhcp_builder_t *b = L->b;
	rd_wire_t w = rd_wire_init(L->out, L->limit);
	struct area ar[3];
	unsigned nar = 0, cur = 0;
	int r;

	memset(ar, 0, sizeof(ar));
	write_header(b, &w);
	rd_wire_write_u32(&w, RD_DHCP_COOKIE);

	/* The areas, in the order RFC 3396 concatenates them. */
	rd_wire_t all = rd_wire_rewind_copy(&w);
	rd_wire_seek(&all, OFF_OPTIONS);
	ar[nar].w = rd_wire_sub(&all, L->limit - OFF_OPTIONS);
	ar[nar++].reserve = overload ? OVERLOAD_LEN : 0;
	if (overload && L->file_free) {
		rd_wire_seek(&all, OFF_FILE);
		ar[nar].w = rd_wire_sub(&all, RD_DHCP_FILE_LEN);
		ar[nar++].ovl_bit = RD_OVERLOAD_FILE;
	}
	if (overload && L->sname_free) {
		rd_wire_seek(&all, OFF_SNAME);
		ar[nar].w = rd_wire_sub(&all, RD_DHCP_SNAME_LEN);
		ar[nar++].ovl_bit = RD_OVERLOAD_SNAME;
	}

	for (unsigned i = 0; i < L->nseq; i++) {
		uint8_t c = L->seq[i];
		if (!bit_get(incl, c))
			continue;
		size_t left = b->len[c];
		rd_wire_t val = rd_wire_init_const(b->buf, sizeof(b->buf));
		rd_wire_seek(&val, b->off[c]);

		if (left <= 255) {
			/* Whole, in the first area (from cur on) with room for it. */
			while (cur < nar && area_room(&ar[cur]) < left + 2)
				cur++;
			if (cur == nar) {
				*fail = c;
				return RD_ETOOBIG;
			}
			r = put_instance(&ar[cur], c, &val, left);
			if (r < 0)
				return r;
			continue;
		}
		/* RFC 3396: instances of up to 255 bytes, each inside one area. */
		while (left) {
			while (cur < nar && area_room(&ar[cur]) < 3)
				cur++;
			if (cur == nar) {
				*fail = c;
				return RD_ETOOBIG;
			}
			size_t chunk = area_room(&ar[cur]) - 2;
			if (chunk > 255)
				chunk = 255;
			if (chunk > left)
				chunk = left;
			r = put_instance(&ar[cur], c, &val, chunk);
			if (r < 0)
				return r;
			left -= chunk;
		}
	}

	/* Only the overload areas that took options are declared in 52. */
	uint8_t ovl = 0;
	for (unsigned i = 1; i < nar; i++) {
		if (!ar[i].used)
			continue;
		ovl |= ar[i].ovl_bit;
		/* Each overloaded field is its own option space: END, then PAD. */
		rd_wire_write_u8(&ar[i].w, RD_OPT_END);
		rd_wire_fill(&ar[i].w, RD_OPT_PAD, rd_wire_available(&ar[i].w));
	}
	if (ovl) {
		/* Into the bytes held back: 52 closes the options field. */
		rd_wire_write_u8(&ar[0].w, RD_OPT_OVERLOAD);
		rd_wire_write_u8(&ar[0].w, 1);
		rd_wire_write_u8(&ar[0].w, ovl);
	}
	rd_wire_write_u8(&ar[0].w, RD_OPT_END);

	size_t msg_len = OFF_OPTIONS + rd_wire_tell(&ar[0].w);
	if (msg_len < RD_DHCP_MIN_LEN) {
		/* BOOTP relays and old clients drop anything shorter than 300. */
		rd_wire_fill(&ar[0].w, RD_OPT_PAD, RD_DHCP_MIN_LEN - msg_len);
		msg_len = RD_DHCP_MIN_LEN;
	}
	for (unsigned i = 0; i < nar; i++)
		if (!rd_wire_ok(&ar[i].w))
			return ar[i].w.error;
	if (!rd_wire_ok(&w))
		return w.error;
	return (int)msg_len;
}

/*
 * The usual reply: every option of incl is 255 bytes or less and all of
 * them fit in the options field.  Then the layout is simply code, length,
 * value in L->seq order, END, and PAD up to RD_DHCP_MIN_LEN -- what
 * layout_try(overload = false) writes, without its per-option area search.
 * \retval >0 message length; 0 when the set needs layout_try (too long an
 * option, or not enough room).
 */
static int layout_plain(const struct layout *L, const uint8_t *incl)
{
	const rd_dhcp_builder_t *b = L->b;
	size_t need = 1;        /* END */

	for (unsigned i = 0; i < L->nseq; i++) {
		uint8_t c = L->seq[i];
		if (!bit_get(incl, c))
			continue;
		if (b->len[c] > 255 || (size_t)b->off[c] + b->len[c] > sizeof(b->buf))
			return 0;       /* split, or a corrupted builder: the full path decides */
		need += 2u + b->len[c];
	}
	if (L->limit < OFF_OPTIONS || need > L->limit - OFF_OPTIONS)
		return 0;

	rd_wire_t w = rd_wire_init(L->out, L->limit);
	write_header(b, &w);
	rd_wire_write_u32(&w, RD_DHCP_COOKIE);
	for (unsigned i = 0; i < L->nseq; i++) {
		uint8_t c = L->seq[i];
		if (!bit_get(incl, c))
			continue;
		rd_wire_write_u8(&w, c);
		rd_wire_write_u8(&w, (uint8_t)b->len[c]);
		rd_wire_write_bytes(&w, &b->buf[b->off[c]], b->len[c]);
	}
	rd_wire_write_u8(&w, RD_OPT_END);
	if (rd_wire_tell(&w) < RD_DHCP_MIN_LEN)
		rd_wire_fill(&w, RD_OPT_PAD, RD_DHCP_MIN_LEN - rd_wire_tell(&w));
	return rd_wire_ok(&w) ? (int)rd_wire_tell(&w) : w.error;
}

/* Does the set fit, with or without overload?  Leaves that layout in out. */
static int layout_fit(const struct layout *L, const uint8_t *incl, uint8_t *fail)
{
	int r = layout_try(L, incl, false, fail);

	if (r == RD_ETOOBIG && (L->file_free || L->sname_free))
		r = layout_try(L, incl, true, fail);
	return r;
}

/* All zero: the first byte is 0 and every byte equals the next (memcmp of
 * the field against itself shifted by one, which libc does word-wise). */
static bool field_empty(const uint8_t *f, size_t n)
{
	return n == 0 || (f[0] == 0 && memcmp(f, f + 1, n - 1) == 0);
}

int rd_dhcp_build(const rd_dhcp_builder_t *b, const uint8_t *prl, size_t prl_len,
		  size_t max_msg, uint8_t *out, size_t cap, unsigned *dropped, rd_diag_t *d)
{
	struct layout L;
	uint8_t placed[32] = { 0 }, incl[32] = { 0 }, avail[32], inprl[32] = { 0 };
	uint8_t prio[256];
	unsigned nprio = 0, ndrop = 0;
	uint8_t fail = 0;
	int r;

	memset(&L, 0, sizeof(L));
	rd_diag_clear(d);
	if (dropped)
		*dropped = 0;
	if (!b || !out)
		return rd_diag_set(d, RD_EINVAL, "no builder or output buffer");
	if (!prl)
		prl_len = 0;
	if (cap < RD_DHCP_MIN_LEN)
		return rd_diag_set(d, RD_ENOSPACE, "output buffer of %zu bytes below %d", cap,
				   RD_DHCP_MIN_LEN);

	/* RFC 2132 §9.10: no client may ask for less than 576 - 28. */
	L.limit = max_msg ? max_msg : DEFAULT_MAX;
	if (L.limit < DEFAULT_MAX)
		L.limit = DEFAULT_MAX;
	if (L.limit > RD_DHCP_MAX_LEN)
		L.limit = RD_DHCP_MAX_LEN;
	if (L.limit > cap)
		L.limit = cap;
	L.b = b;
	L.out = out;

	if (b->no_cookie) {
		/* Plain BOOTP: header and a zero vendor area, no options at all. */
		rd_wire_t w = rd_wire_init(out, RD_DHCP_MIN_LEN);
		write_header(b, &w);
		rd_wire_fill(&w, 0, rd_wire_available(&w));
		if (dropped)
			*dropped = b->count;
		return rd_wire_ok(&w) ? RD_DHCP_MIN_LEN : w.error;
	}

	/* What is on offer: every option set, less the RD_BOPT_IF_REQUESTED ones
	 * a client with a parameter request list did not ask for. */
	memcpy(avail, b->present, sizeof(avail));
	for (size_t i = 0; i < prl_len; i++)
		bit_set(inprl, prl[i]);
	for (unsigned i = 0; prl_len && i < b->count; i++) {
		uint8_t c = b->order[i];
		if ((b->bflags[c] & RD_BOPT_IF_REQUESTED) && !(b->bflags[c] & RD_BOPT_REQUIRED) &&
		    !bit_get(inprl, c))
			bit_clear(avail, c);
	}

	L.file_free = field_empty(b->file, sizeof(b->file));
	L.sname_free = field_empty(b->sname, sizeof(b->sname));

	/* Wire order: 53, 54, prl order, add order, 82. */
	static const uint8_t first[] = { RD_OPT_MESSAGE_TYPE, RD_OPT_SERVER_ID };
	for (unsigned i = 0; i < sizeof(first); i++) {
		if (bit_get(avail, first[i])) {
			L.seq[L.nseq++] = first[i];
			bit_set(placed, first[i]);
		}
	}
	/* 82 is placed last whatever the prl says (RFC 3046 §2.1). */
	bit_set(placed, RD_OPT_AGENT_INFO);
	for (size_t i = 0; i < prl_len; i++) {
		uint8_t c = prl[i];
		if (c == RD_OPT_PAD || c == RD_OPT_END || c == RD_OPT_OVERLOAD ||
		    bit_get(placed, c) || !bit_get(avail, c))
			continue;
		L.seq[L.nseq++] = c;
		bit_set(placed, c);
	}
	for (unsigned i = 0; i < b->count; i++) {
		uint8_t c = b->order[i];
		if (bit_get(placed, c) || !bit_get(avail, c))
			continue;
		L.seq[L.nseq++] = c;
		bit_set(placed, c);
	}
	if (bit_get(avail, RD_OPT_AGENT_INFO))
		L.seq[L.nseq++] = RD_OPT_AGENT_INFO;

	/* The usual case: everything fits, most often in the options field alone. */
	memcpy(incl, avail, sizeof(incl));
	bit_clear(incl, RD_OPT_OVERLOAD);
	r = layout_plain(&L, incl);
	if (r > 0)
		return r;
	r = layout_fit(&L, incl, &fail);
	if (r != RD_ETOOBIG)
		return r < 0 ? rd_diag_set(d, r, "layout failed: %s", rd_strerror(r)) : r;

	/* Priority of the optional ones: requested in prl order, then add order. */
	memset(placed, 0, sizeof(placed));
	for (size_t i = 0; i < prl_len; i++) {
		uint8_t c = prl[i];
		if (c == RD_OPT_PAD || c == RD_OPT_END || c == RD_OPT_OVERLOAD ||
		    bit_get(placed, c) || !bit_get(avail, c) ||
		    (b->bflags[c] & RD_BOPT_REQUIRED))
			continue;
		prio[nprio++] = c;
		bit_set(placed, c);
	}
	for (unsigned i = 0; i < b->count; i++) {
		uint8_t c = b->order[i];
		if (bit_get(placed, c) || !bit_get(avail, c) || (b->bflags[c] & RD_BOPT_REQUIRED))
			continue;
		prio[nprio++] = c;
		bit_set(placed, c);
	}

	/* The required ones alone must fit, or there is no message to send. */
	memset(incl, 0, sizeof(incl));
	for (unsigned i = 0; i < b->count; i++)
		if (b->bflags[b->order[i]] & RD_BOPT_REQUIRED)
			bit_set(incl, b->order[i]);
	r = layout_fit(&L, incl, &fail);
	if (r == RD_ETOOBIG)
		return rd_diag_set(d, RD_ETOOBIG,
				   "required option %u (%u bytes) does not fit in %zu bytes",
				   fail, b->len[fail], L.limit);
	if (r < 0)
		return rd_diag_set(d, r, "layout failed: %s", rd_strerror(r));

	/* Then each optional one, best first, if the message still fits with it. */
	for (unsigned i = 0; i < nprio; i++) {
		bit_set(incl, prio[i]);
		if (layout_fit(&L, incl, &fail) == RD_ETOOBIG) {
			bit_clear(incl, prio[i]);
			ndrop++;
		}
	}
	if (dropped)
		*dropped = ndrop;
	/* The last attempt may have been a failed one: lay out the final set. */
	r = layout_fit(&L, incl, &fail);
	if (r < 0)
		return rd_diag_set(d, r, "layout failed: %s", rd_strerror(r));
	return r;
}
