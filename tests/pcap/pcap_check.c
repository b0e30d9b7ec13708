/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * pcap_check — run the DHCP packets of a capture through our codec and print
 * what it understood, in a form another decoder's output can be diffed
 * against.  tests/pcap/test_captures.sh uses it to hold the codec to
 * Wireshark's reading of public captures and of our own fixtures.
 *
 *   pcap_check fields FILE     one tab-separated line per DHCP frame, with the
 *                              same columns and textual format as
 *                              `tshark -T fields` with the field list of
 *                              test_captures.sh after its post-processing
 *                              (see FIELDS below); a frame the codec refuses
 *                              prints "N<TAB>ERROR <code name>: <reason>".
 *   pcap_check roundtrip FILE  TAP: every frame that parses is loaded into a
 *                              builder, built again and re-parsed; all header
 *                              fields and joined options must survive.
 *   pcap_check [--no-ip-csum] MODE FILE: see main() for the checksum flag.
 *   pcap_check frames FILE     the frame numbers we consider DHCP (IPv4 UDP
 *                              with port 67 or 68 on either side), one a line.
 *
 * "DHCP frame" is decided by a small classifier of our own (link header,
 * IPv4 protocol, UDP ports) that reads only what it needs, so that a frame
 * the codec refuses — bad IP length, truncated capture, bad cookie — is still
 * listed (as ERROR) rather than silently skipped: the script checks that we
 * and tshark see the same set of frames.
 *
 * FIELDS, in order (tshark field, our formatting):
 *   frame.number                   decimal
 *   dhcp.type, hw.type, hw.len, hops, id, secs, flags
 *                                  op %u, 0x%02x, %u, %u, 0x%08x, %u, 0x%04x
 *   dhcp.ip.client/your/server/relay  dotted quad
 *   dhcp.hw.mac_addr               aa:bb:..; only for htype 1 or 6 with hlen 6
 *   dhcp.server, dhcp.file         string, when not empty and not overloaded
 *   dhcp.cookie                    99.130.83.99 when the cookie is there
 *   dhcp.option.dhcp (53), requested_ip_address (50), dhcp_server_id (54),
 *   ip_address_lease_time (51), renewal_time_value (58),
 *   rebinding_time_value (59), subnet_mask (1), router (3, all),
 *   domain_name_server (6, all), domain_name (15), hostname (12),
 *   vendor_class_id (60), dhcp_max_message_size (57), option_overload (52),
 *   request_list_item (55, all), 82's agent_circuit_id / agent_remote_id
 *   (hex, no separators), and dhcp.option.type as the sorted set of option
 *   codes present (without 0 and 255).
 * Lists are joined with ','.  Strings follow tshark 4.0: cut at the first
 * NUL, each byte >= 0x80 shown as U+FFFD (the options are decoded as ASCII),
 * and tab, CR and LF escaped as \t, \r, \n.
 */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rackdhcp/capture.h"
#include "rackdhcp/dhcp.h"
#include "rackdhcp/frame.h"
#include "rackdhcp/wire.h"

#define SLL_HLEN 16

/* Growable text line, so a long option list never truncates silently. */
struct line {
	char *s;
	size_t len, cap;
};

static void line_addn(struct line *l, const char *s, size_t n)
{
	if (l->len + n + 1 > l->cap) {
		size_t cap = l->cap ? l->cap : 256;
		while (cap < l->len + n + 1)
			cap *= 2;
		char *p = realloc(l->s, cap);
		if (!p) {
			perror("pcap_check");
			exit(2);
		}
		l->s = p;
		l->cap = cap;
	}
	memcpy(l->s + l->len, s, n);
	l->len += n;
	l->s[l->len] = '\0';
}

static void line_add(struct line *l, const char *s) { line_addn(l, s, strlen(s)); }

static void line_addf(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line_addf(struct line *l, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		line_addn(l, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void line_ip(struct line *l, uint32_t a)
{
	line_addf(l, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/* A string the way tshark 4.0 prints an ASCII FT_STRING(Z) field. */
static void line_str(struct line *l, const uint8_t *v, size_t n)
{
	for (size_t i = 0; i < n && v[i]; i++) {
		uint8_t c = v[i];
		if (c == '\t')
			line_add(l, "\\t");
		else if (c == '\n')
			line_add(l, "\\n");
		else if (c == '\r')
			line_add(l, "\\r");
		else if (c >= 0x80)
			line_add(l, "\xef\xbf\xbd");
		else
			line_addn(l, (const char *)&c, 1);
	}
}

static void line_hex(struct line *l, const uint8_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		line_addf(l, "%02x", v[i]);
}

/* ------------------------------------------------------------ classifier */

/*
 * Is this an IPv4 UDP datagram to or from port 67/68?  Only the bytes up to
 * the UDP ports are needed, so a frame whose later bytes are short or
 * inconsistent still counts (tshark lists it too, with an error).
 */
static bool is_dhcp_frame(int linktype, const uint8_t *data, size_t len)
{
	rd_wire_t w = rd_wire_init_const(data, len);

	switch (linktype) {
	case DLT_EN10MB: {
		rd_wire_skip(&w, 2 * RD_ETH_ALEN);
		uint16_t type = rd_wire_read_u16(&w);
		/* Any depth of tags: a stack the codec refuses must still show up. */
		while (rd_wire_ok(&w) && (type == RD_ETH_P_8021Q || type == 0x88a8)) {
			rd_wire_skip(&w, 2);
			type = rd_wire_read_u16(&w);
		}
		if (type != RD_ETH_P_IP)
			return false;
		break;
	}
	case DLT_LINUX_SLL:
		rd_wire_skip(&w, SLL_HLEN - 2);
		if (rd_wire_read_u16(&w) != RD_ETH_P_IP)
			return false;
		break;
	case DLT_RAW:
#ifdef DLT_IPV4
	case DLT_IPV4:
#endif
		break;
	default:
		return false;
	}
	if (!rd_wire_ok(&w))
		return false;

	size_t ip_start = rd_wire_tell(&w);
	uint8_t vihl = rd_wire_read_u8(&w);
	rd_wire_skip(&w, 5);
	uint16_t frag = rd_wire_read_u16(&w);
	rd_wire_skip(&w, 1);
	uint8_t proto = rd_wire_read_u8(&w);
	if (!rd_wire_ok(&w) || vihl >> 4 != 4 || (vihl & 15) < 5 || proto != RD_IPPROTO_UDP ||
	    (frag & 0x1fff) != 0)
		return false;
	rd_wire_seek(&w, ip_start + (size_t)(vihl & 15) * 4);
	uint16_t sport = rd_wire_read_u16(&w);
	uint16_t dport = rd_wire_read_u16(&w);
	if (!rd_wire_ok(&w))
		return false;
	return sport == RD_DHCP_SERVER_PORT || sport == RD_DHCP_CLIENT_PORT ||
	       dport == RD_DHCP_SERVER_PORT || dport == RD_DHCP_CLIENT_PORT;
}

/* ----------------------------------------------------------------- modes */

enum mode { MODE_FIELDS, MODE_ROUNDTRIP, MODE_FRAMES };

struct ctx {
	enum mode mode;
	const char *file;
	unsigned tests, failures;
	unsigned frames;               /* frames delivered, DHCP or not */
	unsigned flags;                /* RD_FRAME_* for the frame layers */
	rd_dhcp_t msg, again;          /* large: kept off the stack */
	rd_dhcp_builder_t b;
	uint8_t out[RD_DHCP_MAX_LEN + 1024];
	struct line l;
};

/* Parse one frame down to a DHCP message; RD_E* and d on failure. */
static int parse_frame(const rd_capture_frame_t *f, unsigned flags, rd_dhcp_t *m, rd_diag_t *d)
{
	rd_frame_t fr;
	rd_diag_clear(d);
	int r = rd_capture_parse(f->linktype, f->data, f->caplen, flags, &fr, d);
	if (r < 0)
		return r;
	rd_diag_clear(d);
	return rd_dhcp_parse(fr.payload, fr.payload_len, m, d);
}

static const uint8_t *opt(const rd_dhcp_t *m, uint8_t code, size_t *len)
{
	*len = 0;
	return rd_dhcp_has(m, code) ? rd_dhcp_get(m, code, len) : NULL;
}

static void col_u32(struct line *l, const rd_dhcp_t *m, uint8_t code)
{
	uint32_t v;
	line_add(l, "\t");
	if (rd_dhcp_get_u32(m, code, &v))
		line_addf(l, "%" PRIu32, v);
}

static void col_ip(struct line *l, const rd_dhcp_t *m, uint8_t code)
{
	uint32_t v;
	line_add(l, "\t");
	if (rd_dhcp_get_u32(m, code, &v))
		line_ip(l, v);
}

/* Lists of addresses: tshark gives one field occurrence per address. */
static void col_ips(struct line *l, const rd_dhcp_t *m, uint8_t code)
{
	size_t n;
	const uint8_t *v = opt(m, code, &n);
	line_add(l, "\t");
	if (!v)
		return;
	rd_wire_t w = rd_wire_init_const(v, n);
	for (size_t i = 0; i + 4 <= n; i += 4) {
		if (i)
			line_add(l, ",");
		line_ip(l, rd_wire_read_u32(&w));
	}
}

static void col_str(struct line *l, const rd_dhcp_t *m, uint8_t code)
{
	size_t n;
	const uint8_t *v = opt(m, code, &n);
	line_add(l, "\t");
	if (v)
		line_str(l, v, n);
}

static void col_agent_hex(struct line *l, const rd_dhcp_t *m, uint8_t sub)
{
	size_t n = 0;
	const uint8_t *v = rd_dhcp_has(m, RD_OPT_AGENT_INFO) ? rd_dhcp_agent_get(m, sub, &n) : NULL;
	line_add(l, "\t");
	if (v)
		line_hex(l, v, n);
}

static void print_fields(struct ctx *c, unsigned number, const rd_dhcp_t *m)
{
	struct line *l = &c->l;
	size_t n;
	const uint8_t *v;

	l->len = 0;
	line_addf(l, "%u\t%u\t0x%02x\t%u\t%u\t0x%08" PRIx32 "\t%u\t0x%04x\t", number, m->op,
		  m->htype, m->hlen, m->hops, m->xid, m->secs, m->flags);
	line_ip(l, m->ciaddr);
	line_add(l, "\t");
	line_ip(l, m->yiaddr);
	line_add(l, "\t");
	line_ip(l, m->siaddr);
	line_add(l, "\t");
	line_ip(l, m->giaddr);
	line_add(l, "\t");
	/* Wireshark names the address a MAC only for Ethernet/IEEE 802 with 6 bytes. */
	if ((m->htype == 1 || m->htype == 6) && m->hlen == 6)
		line_addf(l, "%02x:%02x:%02x:%02x:%02x:%02x", m->chaddr[0], m->chaddr[1],
			  m->chaddr[2], m->chaddr[3], m->chaddr[4], m->chaddr[5]);
	line_add(l, "\t");
	if (!(m->overload & RD_OVERLOAD_SNAME))
		line_str(l, m->sname, sizeof(m->sname));
	line_add(l, "\t");
	if (!(m->overload & RD_OVERLOAD_FILE))
		line_str(l, m->file, sizeof(m->file));
	line_add(l, "\t");
	if (m->has_cookie)
		line_add(l, "99.130.83.99");

	line_add(l, "\t");
	if ((v = opt(m, RD_OPT_MESSAGE_TYPE, &n)) && n == 1)
		line_addf(l, "%u", v[0]);
	col_ip(l, m, RD_OPT_REQUESTED_IP);
	col_ip(l, m, RD_OPT_SERVER_ID);
	col_u32(l, m, RD_OPT_LEASE_TIME);
	col_u32(l, m, RD_OPT_RENEWAL_TIME);
	col_u32(l, m, RD_OPT_REBINDING_TIME);
	col_ip(l, m, RD_OPT_SUBNET_MASK);
	col_ips(l, m, RD_OPT_ROUTER);
	col_ips(l, m, RD_OPT_DNS);
	col_str(l, m, RD_OPT_DOMAIN_NAME);
	col_str(l, m, RD_OPT_HOSTNAME);
	col_str(l, m, RD_OPT_VENDOR_CLASS);
	line_add(l, "\t");
	uint16_t u16;
	if (rd_dhcp_get_u16(m, RD_OPT_MAX_MSG_SIZE, &u16))
		line_addf(l, "%u", u16);
	line_add(l, "\t");
	if ((v = opt(m, RD_OPT_OVERLOAD, &n)) && n == 1)
		line_addf(l, "%u", v[0]);
	line_add(l, "\t");
	if ((v = opt(m, RD_OPT_PARAM_REQUEST, &n)))
		for (size_t i = 0; i < n; i++)
			line_addf(l, i ? ",%u" : "%u", v[i]);
	col_agent_hex(l, m, RD_AGENT_CIRCUIT_ID);
	col_agent_hex(l, m, RD_AGENT_REMOTE_ID);

	/* Sorted set: tshark lists overloaded options where 52 sits, we in RFC 3396 order. */
	line_add(l, "\t");
	bool first = true;
	for (unsigned code = 1; code < 255; code++) {
		if (!rd_dhcp_has(m, (uint8_t)code))
			continue;
		line_addf(l, first ? "%u" : ",%u", code);
		first = false;
	}
	line_add(l, "\n");
	fputs(l->s, stdout);
}

/* --------------------------------------------------------------- roundtrip */

static void diag_line(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void diag_line(struct line *l, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	line_add(l, "# ");
	line_add(l, buf);
	line_add(l, "\n");
}

/*
 * The order rd_dhcp_build promises without a PRL: 53, 54, the rest in add
 * order, 82 last; 52 is the layout's own business and not carried over.
 */
static size_t canonical_order(const rd_dhcp_t *m, uint8_t *out)
{
	size_t n = 0;
	if (rd_dhcp_has(m, RD_OPT_MESSAGE_TYPE))
		out[n++] = RD_OPT_MESSAGE_TYPE;
	if (rd_dhcp_has(m, RD_OPT_SERVER_ID))
		out[n++] = RD_OPT_SERVER_ID;
	for (unsigned i = 0; i < m->opt_count && i < 256; i++) {
		uint8_t c = m->opt_order[i];
		if (c != RD_OPT_MESSAGE_TYPE && c != RD_OPT_SERVER_ID && c != RD_OPT_AGENT_INFO &&
		    c != RD_OPT_OVERLOAD && c != RD_OPT_PAD && c != RD_OPT_END)
			out[n++] = c;
	}
	if (rd_dhcp_has(m, RD_OPT_AGENT_INFO))
		out[n++] = RD_OPT_AGENT_INFO;
	return n;
}

static void order_str(const uint8_t *o, size_t n, char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && used + 5 < cap; i++)
		used += (size_t)snprintf(buf + used, cap - used, i ? ",%u" : "%u", o[i]);
}

/* Compare what must survive builder_from + build + parse; diag lines into l. */
static unsigned compare(const rd_dhcp_t *a, const rd_dhcp_t *b, struct line *l)
{
	unsigned bad = 0;
#define CMP(f, fmt)                                                                       \
	if (a->f != b->f) {                                                               \
		diag_line(l, #f ": got " fmt ", want " fmt, b->f, a->f);                  \
		bad++;                                                                    \
	}
	CMP(op, "%u") CMP(htype, "%u") CMP(hlen, "%u") CMP(hops, "%u")
	CMP(xid, "0x%08" PRIx32) CMP(secs, "%u") CMP(flags, "0x%04x")
	CMP(ciaddr, "0x%08" PRIx32) CMP(yiaddr, "0x%08" PRIx32)
	CMP(siaddr, "0x%08" PRIx32) CMP(giaddr, "0x%08" PRIx32)
	CMP(has_cookie, "%d") CMP(msgtype, "%u") CMP(max_msg_size, "%u")
#undef CMP
	if (memcmp(a->chaddr, b->chaddr, sizeof(a->chaddr))) {
		diag_line(l, "chaddr differs");
		bad++;
	}
	/* A field that held options on either side has no name to compare. */
	if (!(a->overload & RD_OVERLOAD_SNAME) && !(b->overload & RD_OVERLOAD_SNAME) &&
	    memcmp(a->sname, b->sname, sizeof(a->sname))) {
		diag_line(l, "sname differs");
		bad++;
	}
	if (!(a->overload & RD_OVERLOAD_FILE) && !(b->overload & RD_OVERLOAD_FILE) &&
	    memcmp(a->file, b->file, sizeof(a->file))) {
		diag_line(l, "file differs");
		bad++;
	}

	uint8_t oa[256], ob[256];
	char sa[1024], sb[1024];
	size_t na = canonical_order(a, oa), nb = canonical_order(b, ob);
	if (na != nb || memcmp(oa, ob, na)) {
		order_str(oa, na, sa, sizeof(sa));
		order_str(ob, nb, sb, sizeof(sb));
		diag_line(l, "option order: got %s, want %s", sb, sa);
		bad++;
	}
	for (unsigned code = 1; code < 255; code++) {
		if (code == RD_OPT_OVERLOAD)
			continue;
		bool ha = rd_dhcp_has(a, (uint8_t)code), hb = rd_dhcp_has(b, (uint8_t)code);
		if (ha != hb) {
			diag_line(l, "option %u: %s after the roundtrip", code, ha ? "lost" : "appeared");
			bad++;
			continue;
		}
		if (!ha)
			continue;
		size_t la = 0, lb = 0;
		const uint8_t *va = rd_dhcp_get(a, (uint8_t)code, &la);
		const uint8_t *vb = rd_dhcp_get(b, (uint8_t)code, &lb);
		if (la != lb || (la && (!va || !vb || memcmp(va, vb, la)))) {
			struct line h = { 0 };
			line_hex(&h, vb ? vb : (const uint8_t *)"", vb ? lb : 0);
			line_add(&h, " want ");
			line_hex(&h, va ? va : (const uint8_t *)"", va ? la : 0);
			diag_line(l, "option %u value: got %zu bytes, want %zu", code, lb, la);
			line_add(l, "#   got ");
			line_add(l, h.s);
			line_add(l, "\n");
			free(h.s);
			bad++;
		}
	}
	return bad;
}

static void roundtrip(struct ctx *c, unsigned number)
{
	struct line *l = &c->l;
	rd_diag_t d;
	unsigned dropped = 0;

	l->len = 0;
	line_add(l, "");
	c->tests++;
	rd_diag_clear(&d);
	int r = rd_dhcp_builder_from(&c->b, &c->msg);
	if (r >= 0)
		r = rd_dhcp_build(&c->b, NULL, 0, RD_DHCP_MAX_LEN, c->out, sizeof(c->out), &dropped, &d);
	if (r < 0) {
		diag_line(l, "build: %s: %s", rd_strerror(r), d.reason);
	} else {
		if (dropped)
			diag_line(l, "build dropped %u options", dropped);
		size_t len = (size_t)r;
		rd_diag_clear(&d);
		int p = rd_dhcp_parse(c->out, len, &c->again, &d);
		if (p < 0) {
			diag_line(l, "reparse: %s: %s", rd_strerror(p), d.reason);
			r = p;
		} else if (compare(&c->msg, &c->again, l) || dropped) {
			r = -1;
		}
	}
	printf("%s %u - %s frame %u roundtrip\n", r < 0 ? "not ok" : "ok", c->tests, c->file, number);
	if (r < 0)
		c->failures++;
	fputs(l->s, stdout);
}

static int on_frame(void *arg, const rd_capture_frame_t *f)
{
	struct ctx *c = arg;
	rd_diag_t d;

	c->frames++;
	if (!is_dhcp_frame(f->linktype, f->data, f->caplen))
		return 0;
	if (c->mode == MODE_FRAMES) {
		printf("%u\n", f->number);
		return 0;
	}
	int r = parse_frame(f, c->flags, &c->msg, &d);
	if (c->mode == MODE_FIELDS) {
		if (r < 0)
			printf("%u\tERROR %s: %s\n", f->number, rd_strerror(r), d.reason);
		else
			print_fields(c, f->number, &c->msg);
	} else if (r == 0) {
		roundtrip(c, f->number);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		enum mode mode;
	} modes[] = {
		{ "fields", MODE_FIELDS },
		{ "roundtrip", MODE_ROUNDTRIP },
		{ "frames", MODE_FRAMES },
	};
	/*
	 * UDP checksums are never checked: captures taken on the sending host
	 * hold whatever the NIC was going to fill in.  --no-ip-csum extends that
	 * to the IPv4 header checksum, which Windows captures of offloaded
	 * frames show as 0x0000; without it such a frame is an ERROR line.
	 */
	unsigned flags = RD_FRAME_NO_UDP_CSUM;
	int a = 1;
	if (argc > 1 && !strcmp(argv[1], "--no-ip-csum")) {
		flags |= RD_FRAME_NO_IP_CSUM;
		a++;
	}
	if (argc - a != 2) {
		fputs("usage: pcap_check [--no-ip-csum] fields|roundtrip|frames CAPTURE\n", stderr);
		return 2;
	}
	size_t i;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(argv[a], modes[i].name))
			break;
	if (i == sizeof(modes) / sizeof(modes[0])) {
		fprintf(stderr, "pcap_check: unknown mode %s\n", argv[a]);
		return 2;
	}
	struct ctx *c = calloc(1, sizeof(*c));
	if (!c) {
		perror("pcap_check");
		return 2;
	}
	c->mode = modes[i].mode;
	c->file = argv[a + 1];
	c->flags = flags;

	char err[512] = "";
	int r = rd_capture_foreach(c->file, on_frame, c, err, sizeof(err));
	int status = 0;
	if (r < 0) {
		fprintf(stderr, "pcap_check: %s\n", err);
		status = 2;
	}
	if (c->mode == MODE_ROUNDTRIP) {
		if (c->tests == 0)
			puts("1..0 # SKIP no DHCP packet parses in this capture");
		else
			printf("1..%u\n", c->tests);
		if (c->failures && !status)
			status = 1;
	}
	fflush(stdout);
	free(c->l.s);
	free(c);
	return status;
}
