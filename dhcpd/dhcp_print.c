/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dhcp_print.c — human-readable text for a parsed message: a one-line
 * summary for logs and a multi-line dump for rackdhcp-dump -v.
 *
 * Both write into the caller's buffer with snprintf, always NUL-terminate,
 * and return the length actually written (output that does not fit is cut,
 * never overrun).  Values are decoded per code: addresses dotted, numbers in
 * decimal, strings quoted with non-printables as \xNN (a client controls
 * them, and they end up in log lines), opaque values as hex.  A value whose
 * length does not suit its decoder (possible only for messages that did not
 * come through rd_dhcp_parse) falls back to hex rather than guessing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rackdhcp/dhcp.h"
#include "rackdhcp/fmt.h"
#include "rackdhcp/wire.h"

/* Output buffer that cuts, never overruns, and stays NUL-terminated. */
/* Output buffer that cuts, never overruns, and stays NUL-terminated. */
typedef rd_sb_t pbuf_t;
#define pb_printf rd_sb_printf

static void pb_init(pbuf_t *b, char *out, size_t cap)
{
	rd_sb_init(b, out, out ? cap : 0);
}

static void pb_ip(pbuf_t *b, uint32_t a)
{
	pb_printf(b, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/* n bytes as hex, with sep between bytes (0: none). */
static void pb_hex(pbuf_t *b, rd_wire_t *w, size_t n, char sep)
{
	for (size_t i = 0; i < n && rd_wire_available(w); i++) {
		if (i && sep)
			pb_printf(b, "%c", sep);
		pb_printf(b, "%02x", rd_wire_read_u8(w));
	}
}

/* n bytes as a quoted string; non-printables, quote and backslash escaped. */
static void pb_str(pbuf_t *b, rd_wire_t *w, size_t n)
{
	pb_printf(b, "\"");
	for (size_t i = 0; i < n && rd_wire_available(w); i++) {
		uint8_t c = rd_wire_read_u8(w);
		if (c == '"' || c == '\\')
			pb_printf(b, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			pb_printf(b, "\\x%02x", c);
		else
			pb_printf(b, "%c", c);
	}
	pb_printf(b, "\"");
}

/* Whether the next n bytes look like text (all printable ASCII). */
static bool is_text(const rd_wire_t *w, size_t n)
{
	rd_wire_t c = *w;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = rd_wire_read_u8(&c);
		if (ch < 0x20 || ch > 0x7e)
			return false;
	}
	return rd_wire_ok(&c);
}

/* ------------------------------------------------------------------ names */

static const char *arch_name(uint16_t a)
{
	/* IANA "Processor Architecture Types" (RFC 4578 and later additions). */
	static const char *const names[] = {
		"x86 BIOS", "NEC/PC98", "Itanium", "DEC Alpha", "Arc x86", "Intel Lean Client",
		"x86 UEFI", "x64 UEFI", "Xscale UEFI", "EBC", "arm32 UEFI", "arm64 UEFI",
		"PowerPC Open Firmware", "PowerPC ePAPR", "POWER OPAL v3", "x86 UEFI HTTP",
		"x64 UEFI HTTP", "EBC UEFI HTTP", "arm32 UEFI HTTP", "arm64 UEFI HTTP",
		"x86 BIOS HTTP", "arm32 U-Boot", "arm64 U-Boot", "arm32 U-Boot HTTP",
		"arm64 U-Boot HTTP", "RISC-V 32 UEFI", "RISC-V 32 UEFI HTTP", "RISC-V 64 UEFI",
		"RISC-V 64 UEFI HTTP", "RISC-V 128 UEFI", "RISC-V 128 UEFI HTTP", "s390 Basic",
		"s390 Extended", "MIPS32 UEFI", "MIPS64 UEFI", "Sunway 32 UEFI", "Sunway 64 UEFI",
		"LoongArch32 UEFI", "LoongArch32 UEFI HTTP", "LoongArch64 UEFI",
		"LoongArch64 UEFI HTTP", "arm rpiboot",
	};
	return a < sizeof(names) / sizeof(names[0]) ? names[a] : "unknown";
}

static const char *agent_sub_name(uint8_t sub)
{
	switch (sub) {
	case RD_AGENT_CIRCUIT_ID: return "circuit-id";
	case RD_AGENT_REMOTE_ID: return "remote-id";
	case 4: return "docsis-device-class";
	case RD_AGENT_LINK_SELECTION: return "link-selection";
	case RD_AGENT_SUBSCRIBER_ID: return "subscriber-id";
	case 7: return "radius-attributes";
	case 8: return "authentication";
	case 9: return "vendor-specific";
	case RD_AGENT_RELAY_FLAGS: return "relay-flags";
	case RD_AGENT_SERVER_ID_OVERRIDE: return "server-id-override";
	case 12: return "relay-id";
	case RD_AGENT_VSS: return "vss";
	case 152: return "vss-control";
	default: return "unknown";
	}
}

/* ------------------------------------------------------------------ option values */

enum pkind {
	K_HEX, K_NONE, K_IPS, K_IPPAIRS, K_U8, K_U16, K_U32, K_S32, K_U16LIST, K_STR,
	K_OVERLOAD, K_MSGTYPE, K_PRL, K_CLIENTID, K_AGENT, K_NAMES, K_ROUTES, K_ARCH,
	K_NDI, K_UUID, K_FQDN, K_ENTERPRISE,
};

static enum pkind kind_of(uint8_t code)
{
	switch (code) {
	case 1: case 3: case 4: case 5: case 6: case 7: case 8: case 9: case 10: case 11:
	case 16: case 28: case 32: case 41: case 42: case 44: case 45: case 48: case 49:
	case 50: case 54: case 65: case 68: case 69: case 70: case 71: case 72: case 73:
	case 74: case 75: case 76: case 85: case 89: case 92: case 112: case 118: case 136:
	case 138: case 142: case 150:
		return K_IPS;
	case 21: case 33:
		return K_IPPAIRS;
	case 19: case 20: case 23: case 27: case 29: case 30: case 31: case 34: case 36:
	case 37: case 39: case 46: case 116: case 156: case 157:
		return K_U8;
	case 13: case 22: case 26: case 57:
		return K_U16;
	case 24: case 35: case 38: case 51: case 58: case 59: case 91: case 108: case 152:
	case 153: case 154: case 155: case 211:
		return K_U32;
	case 2:
		return K_S32;
	case 25: case 117:
		return K_U16LIST;
	case 12: case 14: case 15: case 17: case 18: case 40: case 47: case 56: case 60:
	case 62: case 64: case 66: case 67: case 77: case 86: case 87: case 100: case 101:
	case 113: case 114: case 161: case 209: case 210: case 213: case 252:
		return K_STR;
	case 52: return K_OVERLOAD;
	case 53: return K_MSGTYPE;
	case 55: return K_PRL;
	case 61: return K_CLIENTID;
	case 80: return K_NONE;
	case 81: return K_FQDN;
	case 82: return K_AGENT;
	case 93: return K_ARCH;
	case 94: return K_NDI;
	case 97: return K_UUID;
	case 119: case 141: return K_NAMES;
	case 121: return K_ROUTES;
	case 124: case 125: return K_ENTERPRISE;
	default: return K_HEX;
	}
}

/* Whether a value of len bytes suits kind k; otherwise it is shown as hex. */
static bool kind_fits(enum pkind k, size_t len)
{
	switch (k) {
	case K_NONE: return len == 0;
	case K_IPS: return len && len % 4 == 0;
	case K_IPPAIRS: return len && len % 8 == 0;
	case K_U8: case K_OVERLOAD: case K_MSGTYPE: return len == 1;
	case K_U16: return len == 2;
	case K_U32: case K_S32: return len == 4;
	case K_U16LIST: case K_ARCH: return len && len % 2 == 0;
	case K_NDI: return len == 3;
	case K_UUID: return len == 17;
	case K_CLIENTID: return len >= 2;
	case K_FQDN: return len >= 3;
	case K_PRL: case K_STR: return len >= 1;
	case K_AGENT: return len >= 2;
	default: return true;
	}
}

static void pb_names(pbuf_t *b, const uint8_t *val, size_t len)
{
	char text[2048];
	rd_diag_t d;
	int r;

	rd_diag_clear(&d);
	r = rd_dhcp_decode_search(val, len, text, sizeof(text), &d);
	if (r == RD_ENOSPACE)
		pb_printf(b, "%s ...", text);
	else if (r < 0)
		pb_printf(b, "(bad names: %s)", d.reason);
	else
		pb_printf(b, "%s", text);
}

static void pb_routes(pbuf_t *b, rd_wire_t *w)
{
	bool first = true;

	while (rd_wire_available(w)) {
		uint8_t width = rd_wire_read_u8(w);
		uint8_t dst[4] = { 0 };
		size_t sig = (size_t)(width + 7) / 8;

		if (width > 32 || sig + 4 > rd_wire_available(w)) {
			pb_printf(b, "%s(bad route)", first ? "" : ", ");
			return;
		}
		rd_wire_read_bytes(w, dst, sig);
		uint32_t gw = rd_wire_read_u32(w);
		pb_printf(b, "%s%u.%u.%u.%u/%u via ", first ? "" : ", ", dst[0], dst[1], dst[2], dst[3],
			  width);
		pb_ip(b, gw);
		first = false;
	}
}

static void pb_enterprise(pbuf_t *b, rd_wire_t *w)
{
	bool first = true;

	while (rd_wire_available(w) >= 5) {
		uint32_t ent = rd_wire_read_u32(w);
		uint8_t dl = rd_wire_read_u8(w);
		size_t n = dl < rd_wire_available(w) ? dl : rd_wire_available(w);

		pb_printf(b, "%senterprise %u len %u: ", first ? "" : "; ", ent, dl);
		if (is_text(w, n))
			pb_str(b, w, n);
		else
			pb_hex(b, w, n, 0);
		first = false;
	}
	if (rd_wire_available(w)) {
		pb_printf(b, "%strailing ", first ? "" : "; ");
		pb_hex(b, w, rd_wire_available(w), 0);
	}
}

static void pb_agent(pbuf_t *b, rd_wire_t *w, const char *indent)
{
	pb_printf(b, "%s", "sub-options:");
	while (rd_wire_available(w) >= 2) {
		uint8_t sub = rd_wire_read_u8(w);
		uint8_t sl = rd_wire_read_u8(w);
		size_t n = sl < rd_wire_available(w) ? sl : rd_wire_available(w);

		pb_printf(b, "\n%s    sub-option %u (%s) len %u: ", indent, sub, agent_sub_name(sub), sl);
		if ((sub == RD_AGENT_LINK_SELECTION || sub == RD_AGENT_SERVER_ID_OVERRIDE) && n == 4)
			pb_ip(b, rd_wire_read_u32(w));
		else if (is_text(w, n))
			pb_str(b, w, n);
		else
			pb_hex(b, w, n, 0);
	}
}

/* Decoded value of one option (no newline). */
static void pb_value(pbuf_t *b, uint8_t code, const uint8_t *val, size_t len, const char *indent)
{
	enum pkind k = kind_of(code);
	rd_wire_t w = rd_wire_init_const(val, len);
	const char *sep = "";

	if (!kind_fits(k, len))
		k = K_HEX;
	switch (k) {
	case K_NONE:
		pb_printf(b, "(empty)");
		break;
	case K_IPS:
		while (rd_wire_available(&w) >= 4) {
			pb_printf(b, "%s", sep);
			pb_ip(b, rd_wire_read_u32(&w));
			sep = ", ";
		}
		break;
	case K_IPPAIRS:
		while (rd_wire_available(&w) >= 8) {
			uint32_t x = rd_wire_read_u32(&w), y = rd_wire_read_u32(&w);
			pb_printf(b, "%s", sep);
			pb_ip(b, x);
			pb_printf(b, code == RD_OPT_STATIC_ROUTES ? " via " : " mask ");
			pb_ip(b, y);
			sep = ", ";
		}
		break;
	case K_U8:
		pb_printf(b, "%u", rd_wire_read_u8(&w));
		break;
	case K_U16:
		pb_printf(b, "%u", rd_wire_read_u16(&w));
		break;
	case K_U32:
		pb_printf(b, "%u", rd_wire_read_u32(&w));
		break;
	case K_S32:
		pb_printf(b, "%d", (int)(int32_t)rd_wire_read_u32(&w));
		break;
	case K_U16LIST:
		while (rd_wire_available(&w) >= 2) {
			pb_printf(b, "%s%u", sep, rd_wire_read_u16(&w));
			sep = ", ";
		}
		break;
	case K_STR:
		pb_str(b, &w, len);
		break;
	case K_OVERLOAD: {
		uint8_t v = rd_wire_read_u8(&w);
		pb_printf(b, "%u (%s)", v, v == RD_OVERLOAD_FILE ? "file" : v == RD_OVERLOAD_SNAME ? "sname" :
			  v == RD_OVERLOAD_BOTH ? "file+sname" : "invalid");
		break;
	}
	case K_MSGTYPE: {
		uint8_t v = rd_wire_read_u8(&w);
		pb_printf(b, "%s (%u)", rd_dhcp_msgtype_name(v), v);
		break;
	}
	case K_PRL:
		while (rd_wire_available(&w)) {
			uint8_t c = rd_wire_read_u8(&w);
			pb_printf(b, "%s%u (%s)", sep, c, rd_dhcp_option_name(c));
			sep = ", ";
		}
		break;
	case K_CLIENTID: {
		uint8_t type = rd_wire_read_u8(&w);
		pb_printf(b, "type %u, ", type);
		pb_hex(b, &w, len - 1, ':');
		break;
	}
	case K_FQDN: {
		uint8_t flags = rd_wire_read_u8(&w);
		uint8_t rc1 = rd_wire_read_u8(&w), rc2 = rd_wire_read_u8(&w);
		pb_printf(b, "flags 0x%02x, rcode1 %u, rcode2 %u, name ", flags, rc1, rc2);
		if (len == 3)
			pb_printf(b, "(none)");
		else if (flags & 0x04)   /* E: canonical wire format */
			pb_names(b, rd_wire_view(&w, len - 3), len - 3);
		else
			pb_str(b, &w, len - 3);
		break;
	}
	case K_AGENT:
		pb_agent(b, &w, indent);
		break;
	case K_ARCH:
		while (rd_wire_available(&w) >= 2) {
			uint16_t a = rd_wire_read_u16(&w);
			pb_printf(b, "%s%u (%s)", sep, a, arch_name(a));
			sep = ", ";
		}
		break;
	case K_NDI: {
		uint8_t type = rd_wire_read_u8(&w);
		uint8_t major = rd_wire_read_u8(&w), minor = rd_wire_read_u8(&w);
		pb_printf(b, "type %u (%s), version %u.%u", type, type == 1 ? "UNDI" : "unknown", major,
			  minor);
		break;
	}
	case K_UUID: {
		uint8_t type = rd_wire_read_u8(&w);
		pb_printf(b, "type %u, ", type);
		pb_hex(b, &w, 4, 0);
		pb_printf(b, "-");
		pb_hex(b, &w, 2, 0);
		pb_printf(b, "-");
		pb_hex(b, &w, 2, 0);
		pb_printf(b, "-");
		pb_hex(b, &w, 2, 0);
		pb_printf(b, "-");
		pb_hex(b, &w, 6, 0);
		break;
	}
	case K_NAMES:
		pb_names(b, val, len);
		break;
	case K_ROUTES:
		pb_routes(b, &w);
		break;
	case K_ENTERPRISE:
		pb_enterprise(b, &w);
		break;
	case K_HEX:
	default:
		if (len == 0)
			pb_printf(b, "(empty)");
		else
			pb_hex(b, &w, len, 0);
		break;
	}
}

/* ------------------------------------------------------------------ summary and dump */

static void pb_chaddr(pbuf_t *b, const rd_dhcp_t *m)
{
	rd_wire_t w = rd_wire_init_const(m->chaddr, sizeof(m->chaddr));
	size_t n = m->hlen <= RD_DHCP_CHADDR_LEN ? m->hlen : RD_DHCP_CHADDR_LEN;

	pb_hex(b, &w, n, ':');
}

static const char *op_name(uint8_t op)
{
	return op == RD_BOOTREQUEST ? "BOOTREQUEST" : op == RD_BOOTREPLY ? "BOOTREPLY" : "BOOTP-op?";
}

size_t rd_dhcp_summary(const rd_dhcp_t *m, char *out, size_t cap)
{
	pbuf_t b;
	static const char *const addr_names[] = { "ciaddr", "yiaddr", "siaddr", "giaddr" };

	pb_init(&b, out, cap);
	if (!m)
		return 0;
	const uint32_t addrs[] = { m->ciaddr, m->yiaddr, m->siaddr, m->giaddr };

	if (rd_dhcp_has(m, RD_OPT_MESSAGE_TYPE)) {
		const char *t = rd_dhcp_msgtype_name(m->msgtype);
		if (strcmp(t, "unknown") == 0)
			pb_printf(&b, "DHCP-type-%u", m->msgtype);
		else
			pb_printf(&b, "%s", t);
	} else {
		pb_printf(&b, "%s", op_name(m->op));
	}
	pb_printf(&b, " xid 0x%08x", m->xid);
	if (m->hlen) {
		pb_printf(&b, " chaddr ");
		pb_chaddr(&b, m);
	}
	for (unsigned i = 0; i < 4; i++) {
		if (addrs[i]) {
			pb_printf(&b, " %s ", addr_names[i]);
			pb_ip(&b, addrs[i]);
		}
	}
	/* The boot file name is what an operator debugging PXE looks for. */
	if (!(m->overload & RD_OVERLOAD_FILE) && m->file[0]) {
		rd_wire_t w = rd_wire_init_const(m->file, sizeof(m->file));
		size_t n = 0;
		while (n < sizeof(m->file) && m->file[n])
			n++;
		pb_printf(&b, " file ");
		pb_str(&b, &w, n);
	}
	if (m->opt_count) {
		pb_printf(&b, " opts ");
		for (unsigned i = 0; i < m->opt_count; i++)
			pb_printf(&b, "%s%u", i ? "," : "", m->opt_order[i]);
	}
	return b.len;
}

/* sname/file header field: a string up to its first NUL, or its role. */
static void pb_field(pbuf_t *b, const char *indent, const char *label, const uint8_t *f, size_t n,
		     bool options)
{
	rd_wire_t w = rd_wire_init_const(f, n);
	size_t sl = 0;

	if (options) {
		pb_printf(b, "%s%s: (option space, overloaded)\n", indent, label);
		return;
	}
	while (sl < n && rd_wire_read_u8(&w) != 0)
		sl++;
	if (sl == 0)
		return;
	w = rd_wire_init_const(f, n);
	pb_printf(b, "%s%s: ", indent, label);
	pb_str(b, &w, sl);
	pb_printf(b, "\n");
}

size_t rd_dhcp_dump(const rd_dhcp_t *m, const char *indent, char *out, size_t cap)
{
	pbuf_t b;

	pb_init(&b, out, cap);
	if (!m)
		return 0;
	if (!indent)
		indent = "";
	pb_printf(&b, "%sop: %s (%u)\n", indent, op_name(m->op), m->op);
	pb_printf(&b, "%shtype: %u, hlen: %u, hops: %u\n", indent, m->htype, m->hlen, m->hops);
	pb_printf(&b, "%sxid: 0x%08x\n", indent, m->xid);
	pb_printf(&b, "%ssecs: %u, flags: 0x%04x%s\n", indent, m->secs, m->flags,
		  (m->flags & RD_DHCP_FLAG_BROADCAST) ? " (broadcast)" : "");
	pb_printf(&b, "%sciaddr: ", indent);
	pb_ip(&b, m->ciaddr);
	pb_printf(&b, "\n%syiaddr: ", indent);
	pb_ip(&b, m->yiaddr);
	pb_printf(&b, "\n%ssiaddr: ", indent);
	pb_ip(&b, m->siaddr);
	pb_printf(&b, "\n%sgiaddr: ", indent);
	pb_ip(&b, m->giaddr);
	pb_printf(&b, "\n%schaddr: ", indent);
	pb_chaddr(&b, m);
	pb_printf(&b, "\n");
	pb_field(&b, indent, "sname", m->sname, sizeof(m->sname), m->overload & RD_OVERLOAD_SNAME);
	pb_field(&b, indent, "file", m->file, sizeof(m->file), m->overload & RD_OVERLOAD_FILE);
	if (!m->has_cookie) {
		pb_printf(&b, "%scookie: none (plain BOOTP)\n", indent);
		return b.len;
	}
	for (unsigned i = 0; i < m->opt_count; i++) {
		uint8_t code = m->opt_order[i];
		size_t len;
		const uint8_t *val = rd_dhcp_get(m, code, &len);

		if (!val)
			continue;
		pb_printf(&b, "%soption %u (%s) len %zu: ", indent, code, rd_dhcp_option_name(code), len);
		pb_value(&b, code, val, len, indent);
		pb_printf(&b, "\n");
	}
	return b.len;
}
