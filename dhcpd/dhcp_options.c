/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dhcp_options.c — what every DHCPv4 option code is called and how long its
 * value may be, plus the content checks that a length rule cannot express.
 *
 * The parser joins every instance of a code (RFC 3396) and then hands the
 * joined value to rd_dhcp_option_validate(); a message with any option that
 * breaks its rule is refused as a whole, so the rest of the server can read
 * a 4-byte option without checking its length again.  The table is static
 * and read-only (no locking needed); unknown codes are opaque (RD_RULE_ANY).
 *
 * Option 119 (and 141, which shares its format) is the one value we decode
 * here: RFC 1035 names with RFC 3397 compression, where a hostile pointer
 * chain could loop forever, so the decoder only ever jumps to an offset
 * lower than any it has read for the current name.
 *
 * Leniency: rules follow the RFCs, but where real clients disagree with an
 * RFC (user class 77 as a plain string, 97 with a non-zero type, 125 payloads
 * that are not well-formed sub-options) we accept what they send.
 */
#include <stdio.h>
#include <string.h>

#include "rackdhcp/dhcp.h"
#include "rackdhcp/wire.h"

#define FIX(n, len)        { n, RD_RULE_FIXED, len, 0 }
#define MUL(n, unit, min)  { n, RD_RULE_MULT, unit, min }
#define MINL(n, min)       { n, RD_RULE_MIN, min, 0 }
#define RNG(n, lo, hi)     { n, RD_RULE_RANGE, lo, hi }
#define SPC(n, min)        { n, RD_RULE_SPECIAL, min, 0 }
#define ANY(n)             { n, RD_RULE_ANY, 0, 0 }
#define ADDRS(n)           MUL(n, 4, 4)

/*
 * Length rules.  For RD_RULE_SPECIAL, `a` is the minimum length; the
 * content is checked by the per-code code in rd_dhcp_option_validate().
 * Codes 0 and 255 carry no length byte: their entries only name them.
 */
static const rd_dhcp_optinfo_t optinfo[256] = {
	[0] = ANY("pad"),
	/* RFC 2132 */
	[1] = FIX("subnet-mask", 4),
	[2] = FIX("time-offset", 4),
	[3] = ADDRS("routers"),
	[4] = ADDRS("time-servers"),
	[5] = ADDRS("ien116-name-servers"),
	[6] = ADDRS("domain-name-servers"),
	[7] = ADDRS("log-servers"),
	[8] = ADDRS("cookie-servers"),
	[9] = ADDRS("lpr-servers"),
	[10] = ADDRS("impress-servers"),
	[11] = ADDRS("resource-location-servers"),
	[12] = MINL("host-name", 1),
	[13] = FIX("boot-size", 2),
	[14] = MINL("merit-dump", 1),
	[15] = MINL("domain-name", 1),
	[16] = FIX("swap-server", 4),
	[17] = MINL("root-path", 1),
	[18] = MINL("extensions-path", 1),
	[19] = FIX("ip-forwarding", 1),
	[20] = FIX("non-local-source-routing", 1),
	[21] = MUL("policy-filter", 8, 8),
	[22] = FIX("max-dgram-reassembly", 2),
	[23] = FIX("default-ip-ttl", 1),
	[24] = FIX("path-mtu-aging-timeout", 4),
	[25] = MUL("path-mtu-plateau-table", 2, 2),
	[26] = FIX("interface-mtu", 2),
	[27] = FIX("all-subnets-local", 1),
	[28] = FIX("broadcast-address", 4),
	[29] = FIX("perform-mask-discovery", 1),
	[30] = FIX("mask-supplier", 1),
	[31] = FIX("router-discovery", 1),
	[32] = FIX("router-solicitation-address", 4),
	[33] = MUL("static-routes", 8, 8),
	[34] = FIX("trailer-encapsulation", 1),
	[35] = FIX("arp-cache-timeout", 4),
	[36] = FIX("ieee802-3-encapsulation", 1),
	[37] = FIX("default-tcp-ttl", 1),
	[38] = FIX("tcp-keepalive-interval", 4),
	[39] = FIX("tcp-keepalive-garbage", 1),
	[40] = MINL("nis-domain", 1),
	[41] = ADDRS("nis-servers"),
	[42] = ADDRS("ntp-servers"),
	[43] = ANY("vendor-encapsulated-options"),
	[44] = ADDRS("netbios-name-servers"),
	[45] = ADDRS("netbios-dd-server"),
	[46] = FIX("netbios-node-type", 1),
	[47] = MINL("netbios-scope", 1),
	[48] = ADDRS("font-servers"),
	[49] = ADDRS("x-display-manager"),
	[50] = FIX("requested-address", 4),
	[51] = FIX("lease-time", 4),
	[52] = FIX("overload", 1),
	[53] = FIX("message-type", 1),
	[54] = FIX("server-identifier", 4),
	[55] = MINL("parameter-request-list", 1),
	[56] = MINL("message", 1),
	[57] = FIX("max-message-size", 2),
	[58] = FIX("renewal-time", 4),
	[59] = FIX("rebinding-time", 4),
	[60] = MINL("vendor-class-identifier", 1),
	[61] = MINL("client-identifier", 2),
	[62] = RNG("nwip-domain", 1, 255),
	[63] = ANY("nwip-suboptions"),
	[64] = MINL("nisplus-domain", 1),
	[65] = ADDRS("nisplus-servers"),
	[66] = MINL("tftp-server-name", 1),
	[67] = MINL("bootfile-name", 1),
	[68] = MUL("mobile-ip-home-agent", 4, 0),
	[69] = ADDRS("smtp-server"),
	[70] = ADDRS("pop-server"),
	[71] = ADDRS("nntp-server"),
	[72] = ADDRS("www-server"),
	[73] = ADDRS("finger-server"),
	[74] = ADDRS("irc-server"),
	[75] = ADDRS("streettalk-server"),
	[76] = ADDRS("streettalk-directory-assistance-server"),
	/* RFC 3004 wants length-prefixed instances; iPXE and others send a plain string. */
	[77] = MINL("user-class", 1),
	[78] = MINL("slp-directory-agent", 1),           /* RFC 2610: mandatory flag + addresses */
	[79] = MINL("slp-service-scope", 1),
	[80] = FIX("rapid-commit", 0),                   /* RFC 4039 */
	[81] = MINL("client-fqdn", 3),                   /* RFC 4702: flags, rcode1, rcode2, name */
	[82] = SPC("relay-agent-information", 2),        /* RFC 3046 */
	[83] = MINL("isns", 1),                          /* RFC 4174 */
	[85] = ADDRS("nds-servers"),                     /* RFC 2241 */
	[86] = MINL("nds-tree-name", 1),
	[87] = MINL("nds-context", 1),
	[88] = MINL("bcmcs-controller-domain-name", 1),  /* RFC 4280 */
	[89] = ADDRS("bcmcs-controller-address"),
	[90] = MINL("authentication", 1),                /* RFC 3118 says 11+; be lenient */
	[91] = FIX("client-last-transaction-time", 4),   /* RFC 4388 */
	[92] = ADDRS("associated-ip"),
	[93] = MUL("client-system-architecture", 2, 2), /* RFC 4578 */
	[94] = FIX("client-network-interface", 3),
	[95] = ANY("ldap"),
	[97] = FIX("client-machine-identifier", 17),    /* type (0) + 16-byte UUID */
	[98] = MINL("uap-servers", 1),                   /* RFC 2485 */
	[99] = MINL("geoconf-civic", 3),                 /* RFC 4776 */
	[100] = MINL("pcode", 1),                        /* RFC 4833 */
	[101] = MINL("tcode", 1),
	[108] = FIX("ipv6-only-preferred", 4),           /* RFC 8925 */
	[112] = ADDRS("netinfo-server-address"),
	[113] = MINL("netinfo-server-tag", 1),
	[114] = MINL("captive-portal", 1),               /* RFC 8910 */
	[116] = FIX("auto-config", 1),                   /* RFC 2563 */
	[117] = MUL("name-service-search", 2, 2),        /* RFC 2937 */
	[118] = FIX("subnet-selection", 4),              /* RFC 3011 */
	[119] = SPC("domain-search", 1),                 /* RFC 3397 */
	[120] = MINL("sip-servers", 1),                  /* RFC 3361: encoding byte + names/addresses */
	[121] = SPC("classless-static-routes", 5),       /* RFC 3442 */
	[122] = MINL("cablelabs-client-configuration", 1), /* RFC 3495 */
	[123] = FIX("geoconf", 16),                      /* RFC 6225 */
	[124] = SPC("vivco", 5),                         /* RFC 3925 */
	[125] = SPC("vivso", 5),
	[136] = ADDRS("pana-agent"),                     /* RFC 5192 */
	[137] = MINL("v4-lost", 1),                      /* RFC 5223 */
	[138] = ADDRS("capwap-ac-v4"),                   /* RFC 5417 */
	[139] = MINL("ipv4-address-mos", 1),             /* RFC 5678 */
	[140] = MINL("ipv4-fqdn-mos", 1),
	[141] = SPC("sip-ua-config-domains", 1),         /* RFC 6011: option 119 format */
	[142] = ADDRS("andsf-ipv4"),                     /* RFC 6153 */
	[143] = MINL("sztp-redirect", 1),                /* RFC 8572 */
	[144] = FIX("geoloc", 16),                       /* RFC 6225 */
	[145] = MINL("forcerenew-nonce-capable", 1),     /* RFC 6704 */
	[146] = MINL("rdnss-selection", 1),              /* RFC 6731 */
	[150] = ADDRS("tftp-server-address"),            /* RFC 5859 */
	[151] = MINL("status-code", 1),                  /* RFC 6926 */
	[152] = FIX("base-time", 4),
	[153] = FIX("start-time-of-state", 4),
	[154] = FIX("query-start-time", 4),
	[155] = FIX("query-end-time", 4),
	[156] = FIX("dhcp-state", 1),
	[157] = FIX("data-source", 1),
	[158] = MINL("v4-pcp-server", 1),                /* RFC 7291 */
	[159] = FIX("v4-portparams", 4),                 /* RFC 7618 */
	[161] = MINL("mud-url", 1),                      /* RFC 8520 */
	[162] = MINL("v4-dnr", 1),                       /* RFC 9463 */
	[175] = ANY("etherboot"),                        /* iPXE encapsulated options */
	[208] = FIX("pxelinux-magic", 4),                /* RFC 5071 */
	[209] = MINL("configuration-file", 1),
	[210] = MINL("path-prefix", 1),
	[211] = FIX("reboot-time", 4),
	[212] = MINL("6rd", 22),                         /* RFC 5969: 18 + 4 * n, n >= 1 */
	[213] = MINL("v4-access-domain", 1),             /* RFC 5986 */
	[220] = ANY("subnet-allocation"),                /* RFC 6656 */
	[221] = MINL("virtual-subnet-selection", 1),
	[252] = MINL("wpad", 1),
	[255] = ANY("end"),
};

/* Names for codes the table does not know; stable storage, no formatting at run time. */
static const char *const unknown_names[256] = {
	"option-0", "option-1", "option-2", "option-3", "option-4", "option-5", "option-6", "option-7",
	"option-8", "option-9", "option-10", "option-11", "option-12", "option-13", "option-14", "option-15",
	"option-16", "option-17", "option-18", "option-19", "option-20", "option-21", "option-22", "option-23",
	"option-24", "option-25", "option-26", "option-27", "option-28", "option-29", "option-30", "option-31",
	"option-32", "option-33", "option-34", "option-35", "option-36", "option-37", "option-38", "option-39",
	"option-40", "option-41", "option-42", "option-43", "option-44", "option-45", "option-46", "option-47",
	"option-48", "option-49", "option-50", "option-51", "option-52", "option-53", "option-54", "option-55",
	"option-56", "option-57", "option-58", "option-59", "option-60", "option-61", "option-62", "option-63",
	"option-64", "option-65", "option-66", "option-67", "option-68", "option-69", "option-70", "option-71",
	"option-72", "option-73", "option-74", "option-75", "option-76", "option-77", "option-78", "option-79",
	"option-80", "option-81", "option-82", "option-83", "option-84", "option-85", "option-86", "option-87",
	"option-88", "option-89", "option-90", "option-91", "option-92", "option-93", "option-94", "option-95",
	"option-96", "option-97", "option-98", "option-99", "option-100", "option-101", "option-102", "option-103",
	"option-104", "option-105", "option-106", "option-107", "option-108", "option-109", "option-110", "option-111",
	"option-112", "option-113", "option-114", "option-115", "option-116", "option-117", "option-118", "option-119",
	"option-120", "option-121", "option-122", "option-123", "option-124", "option-125", "option-126", "option-127",
	"option-128", "option-129", "option-130", "option-131", "option-132", "option-133", "option-134", "option-135",
	"option-136", "option-137", "option-138", "option-139", "option-140", "option-141", "option-142", "option-143",
	"option-144", "option-145", "option-146", "option-147", "option-148", "option-149", "option-150", "option-151",
	"option-152", "option-153", "option-154", "option-155", "option-156", "option-157", "option-158", "option-159",
	"option-160", "option-161", "option-162", "option-163", "option-164", "option-165", "option-166", "option-167",
	"option-168", "option-169", "option-170", "option-171", "option-172", "option-173", "option-174", "option-175",
	"option-176", "option-177", "option-178", "option-179", "option-180", "option-181", "option-182", "option-183",
	"option-184", "option-185", "option-186", "option-187", "option-188", "option-189", "option-190", "option-191",
	"option-192", "option-193", "option-194", "option-195", "option-196", "option-197", "option-198", "option-199",
	"option-200", "option-201", "option-202", "option-203", "option-204", "option-205", "option-206", "option-207",
	"option-208", "option-209", "option-210", "option-211", "option-212", "option-213", "option-214", "option-215",
	"option-216", "option-217", "option-218", "option-219", "option-220", "option-221", "option-222", "option-223",
	"option-224", "option-225", "option-226", "option-227", "option-228", "option-229", "option-230", "option-231",
	"option-232", "option-233", "option-234", "option-235", "option-236", "option-237", "option-238", "option-239",
	"option-240", "option-241", "option-242", "option-243", "option-244", "option-245", "option-246", "option-247",
	"option-248", "option-249", "option-250", "option-251", "option-252", "option-253", "option-254", "option-255",
};

static const char *const msgtype_names[] = {
	[RD_DHCPDISCOVER] = "DHCPDISCOVER",
	[RD_DHCPOFFER] = "DHCPOFFER",
	[RD_DHCPREQUEST] = "DHCPREQUEST",
	[RD_DHCPDECLINE] = "DHCPDECLINE",
	[RD_DHCPACK] = "DHCPACK",
	[RD_DHCPNAK] = "DHCPNAK",
	[RD_DHCPRELEASE] = "DHCPRELEASE",
	[RD_DHCPINFORM] = "DHCPINFORM",
	[RD_DHCPFORCERENEW] = "DHCPFORCERENEW",
	[RD_DHCPLEASEQUERY] = "DHCPLEASEQUERY",
	[RD_DHCPLEASEUNASSIGNED] = "DHCPLEASEUNASSIGNED",
	[RD_DHCPLEASEUNKNOWN] = "DHCPLEASEUNKNOWN",
	[RD_DHCPLEASEACTIVE] = "DHCPLEASEACTIVE",
	[RD_DHCPBULKLEASEQUERY] = "DHCPBULKLEASEQUERY",
	[RD_DHCPLEASEQUERYDONE] = "DHCPLEASEQUERYDONE",
	[RD_DHCPACTIVELEASEQUERY] = "DHCPACTIVELEASEQUERY",
	[RD_DHCPLEASEQUERYSTATUS] = "DHCPLEASEQUERYSTATUS",
	[RD_DHCPTLS] = "DHCPTLS",
};

const rd_dhcp_optinfo_t *rd_dhcp_optinfo(uint8_t code)
{
	return &optinfo[code];
}

const char *rd_dhcp_option_name(uint8_t code)
{
	return optinfo[code].name ? optinfo[code].name : unknown_names[code];
}

const char *rd_dhcp_msgtype_name(uint8_t type)
{
	if (type < sizeof(msgtype_names) / sizeof(msgtype_names[0]) && msgtype_names[type])
		return msgtype_names[type];
	return "unknown";
}

static int decode_names(uint8_t code, const uint8_t *val, size_t len, char *out, size_t cap,
			rd_diag_t *d);

/* ------------------------------------------------------------------ content checks */

/* RFC 3046: sub-options (code, len, value) that exactly fill option 82. */
static int check_agent(rd_wire_t *w, rd_diag_t *d)
{
	while (rd_wire_available(w)) {
		size_t at = rd_wire_tell(w);
		uint8_t sub = rd_wire_read_u8(w);

		if (!rd_wire_available(w))
			return rd_diag_set(d, RD_EMALFORMED,
					   "option 82 sub-option %u at offset %zu has no length byte", sub, at);
		uint8_t sl = rd_wire_read_u8(w);
		if (sl > rd_wire_available(w))
			return rd_diag_set(d, RD_EMALFORMED,
					   "option 82 sub-option %u length %u overruns the option (%zu bytes left)",
					   sub, sl, rd_wire_available(w));
		rd_wire_skip(w, sl);
	}
	return 0;
}

/* RFC 3442: width (0..32), ceil(width / 8) destination octets, 4-byte router. */
static int check_routes(rd_wire_t *w, rd_diag_t *d)
{
	while (rd_wire_available(w)) {
		size_t at = rd_wire_tell(w);
		uint8_t width = rd_wire_read_u8(w);

		if (width > 32)
			return rd_diag_set(d, RD_EMALFORMED,
					   "option 121 route at offset %zu has prefix width %u, above 32", at, width);
		size_t need = (size_t)(width + 7) / 8 + 4;
		if (need > rd_wire_available(w))
			return rd_diag_set(d, RD_EMALFORMED,
					   "option 121 route at offset %zu (/%u) needs %zu more bytes, %zu left",
					   at, width, need, rd_wire_available(w));
		rd_wire_skip(w, need);
	}
	return 0;
}

/* RFC 3925: entries of enterprise number (4), data length (1), data. */
static int check_enterprise(uint8_t code, rd_wire_t *w, rd_diag_t *d)
{
	while (rd_wire_available(w)) {
		size_t at = rd_wire_tell(w);

		if (rd_wire_available(w) < 5)
			return rd_diag_set(d, RD_EMALFORMED,
					   "option %u (%s): %zu stray bytes at offset %zu, an enterprise entry needs 5",
					   code, rd_dhcp_option_name(code), rd_wire_available(w), at);
		uint32_t ent = rd_wire_read_u32(w);
		uint8_t dl = rd_wire_read_u8(w);
		if (dl > rd_wire_available(w))
			return rd_diag_set(d, RD_EMALFORMED,
					   "option %u (%s): enterprise %u data length %u overruns the option (%zu bytes left)",
					   code, rd_dhcp_option_name(code), ent, dl, rd_wire_available(w));
		rd_wire_skip(w, dl);
	}
	return 0;
}

static int check_length(uint8_t code, const rd_dhcp_optinfo_t *oi, size_t len, rd_diag_t *d)
{
	const char *name = rd_dhcp_option_name(code);

	switch (oi->rule) {
	case RD_RULE_FIXED:
		if (len != oi->a)
			return rd_diag_set(d, RD_EOPTLEN, "option %u (%s) length %zu, expected %u",
					   code, name, len, oi->a);
		break;
	case RD_RULE_MULT:
		if (len < oi->b || len % oi->a)
			return rd_diag_set(d, RD_EOPTLEN,
					   "option %u (%s) length %zu, expected a multiple of %u, at least %u",
					   code, name, len, oi->a, oi->b);
		break;
	case RD_RULE_MIN:
	case RD_RULE_SPECIAL:
		if (len < oi->a)
			return rd_diag_set(d, RD_EOPTLEN, "option %u (%s) length %zu, expected at least %u",
					   code, name, len, oi->a);
		break;
	case RD_RULE_RANGE:
		if (len < oi->a || len > oi->b)
			return rd_diag_set(d, RD_EOPTLEN, "option %u (%s) length %zu, expected %u..%u",
					   code, name, len, oi->a, oi->b);
		break;
	default:
		break;
	}
	return 0;
}

int rd_dhcp_option_validate(uint8_t code, const uint8_t *val, size_t len, rd_diag_t *d)
{
	const rd_dhcp_optinfo_t *oi = &optinfo[code];
	int r;

	if (code == RD_OPT_PAD || code == RD_OPT_END)
		return rd_diag_set(d, RD_EINVAL, "option %u (%s) carries no value", code, oi->name);
	if (!val && len)
		return rd_diag_set(d, RD_EINVAL, "option %u: no value for length %zu", code, len);
	r = check_length(code, oi, len, d);
	if (r < 0)
		return r;

	rd_wire_t w = rd_wire_init_const(val, len);
	uint8_t v;
	switch (code) {
	case RD_OPT_OVERLOAD:
		v = rd_wire_read_u8(&w);
		if (v < RD_OVERLOAD_FILE || v > RD_OVERLOAD_BOTH)
			return rd_diag_set(d, RD_EMALFORMED, "option 52 (overload) value %u, expected 1..3", v);
		break;
	case RD_OPT_MESSAGE_TYPE:
		v = rd_wire_read_u8(&w);
		if (v == 0)
			return rd_diag_set(d, RD_EMALFORMED, "option 53 (message-type) value 0");
		break;
	case RD_OPT_MAX_MSG_SIZE: {
		uint16_t mms = rd_wire_read_u16(&w);
		if (mms < RD_DHCP_MIN_MAXMSG)
			return rd_diag_set(d, RD_EMALFORMED,
					   "option 57 (max-message-size) value %u, below the minimum 576", mms);
		break;
	}
	case RD_OPT_AGENT_INFO:
		return check_agent(&w, d);
	case RD_OPT_DOMAIN_SEARCH:
	case 141:
		r = decode_names(code, val, len, NULL, 0, d);
		return r < 0 ? r : 0;
	case RD_OPT_CLASSLESS_ROUTES:
		return check_routes(&w, d);
	case 124:
	case RD_OPT_VIVSO:
		return check_enterprise(code, &w, d);
	default:
		break;
	}
	return 0;
}

/* ------------------------------------------------------------------ option 119 */

/* Bounded text output that remembers when it ran out of room. */
typedef struct {
	char *out;
	size_t cap;
	size_t pos;
	bool full;
} txt_t;

static void txt_put(txt_t *t, const char *s, size_t n)
{
	if (!t->out)
		return;
	if (t->full || n >= t->cap - t->pos) {
		t->full = true;
		return;
	}
	memcpy(t->out + t->pos, s, n);
	t->pos += n;
	t->out[t->pos] = '\0';
}

/* Label octets as master-file text: '.', '\\' and ' ' escaped, others as \DDD. */
static void txt_label(txt_t *t, rd_wire_t *label)
{
	while (rd_wire_available(label)) {
		uint8_t c = rd_wire_read_u8(label);
		char e[5];

		if (c == '.' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			txt_put(t, e, 2);
		} else if (c <= 0x20 || c >= 0x7f) {
			snprintf(e, sizeof(e), "\\%03u", c);
			txt_put(t, e, 4);
		} else {
			e[0] = (char)c;
			txt_put(t, e, 1);
		}
	}
}

static int decode_names(uint8_t code, const uint8_t *val, size_t len, char *out, size_t cap,
			rd_diag_t *d)
{
	rd_wire_t top = rd_wire_init_const(val, len);
	txt_t t = { .out = cap ? out : NULL, .cap = cap };
	int names = 0;

	if (t.out)
		t.out[0] = '\0';
	if (!val && len)
		return rd_diag_set(d, RD_EINVAL, "option %u: no value for length %zu", code, len);

	while (rd_wire_available(&top)) {
		size_t start = rd_wire_tell(&top);
		rd_wire_t cur = top;
		size_t lowest = start;     /* every jump must land below this */
		size_t resume = 0;         /* where the top level continues after a pointer */
		size_t octets = 0;         /* wire length of the name, pointers excluded */
		bool jumped = false, first = true;

		if (names)
			txt_put(&t, " ", 1);
		for (;;) {
			size_t at = rd_wire_tell(&cur);

			if (!rd_wire_available(&cur))
				return rd_diag_set(d, RD_EMALFORMED,
						   "option %u: name at offset %zu runs past the end", code, start);
			uint8_t b = rd_wire_read_u8(&cur);
			if ((b & 0xc0) == 0xc0) {
				if (!rd_wire_available(&cur))
					return rd_diag_set(d, RD_EMALFORMED,
							   "option %u: pointer at offset %zu truncated", code, at);
				size_t target = (size_t)(b & 0x3f) << 8 | rd_wire_read_u8(&cur);
				if (target >= at)
					return rd_diag_set(d, RD_EMALFORMED,
							   "option %u: pointer at offset %zu to %zu does not point backwards", code, at, target);
				/*
				 * Backwards is not enough: a label read after a jump may
				 * step over the pointer and reach a later pointer that
				 * leads back again.  Requiring each jump to land below
				 * everything read so far for this name makes the walk
				 * finite, and every real compressor satisfies it.
				 */
				if (target >= lowest)
					return rd_diag_set(d, RD_EMALFORMED,
							   "option %u: pointer loop at offset %zu (to %zu)", code, at, target);
				if (!jumped) {
					resume = rd_wire_tell(&cur);
					jumped = true;
				}
				lowest = target;
				rd_wire_seek(&cur, target);
				continue;
			}
			if (b & 0xc0)
				return rd_diag_set(d, RD_EMALFORMED,
						   "option %u: label length %u at offset %zu exceeds 63", code, b, at);
			octets += 1u + b;
			if (octets > 255)
				return rd_diag_set(d, RD_EMALFORMED,
						   "option %u: name at offset %zu longer than 255 octets", code, start);
			if (b == 0)
				break;
			rd_wire_t label = rd_wire_sub(&cur, b);
			if (!rd_wire_ok(&label))
				return rd_diag_set(d, RD_EMALFORMED,
						   "option %u: label at offset %zu runs past the end", code, at);
			if (!first)
				txt_put(&t, ".", 1);
			txt_label(&t, &label);
			first = false;
		}
		if (first)
			txt_put(&t, ".", 1);   /* the root name */
		if (jumped)
			rd_wire_seek(&top, resume);
		else
			rd_wire_seek(&top, rd_wire_tell(&cur));
		names++;
	}
	if (t.full)
		return rd_diag_set(d, RD_ENOSPACE, "option %u: names do not fit in %zu bytes", code, cap);
	return names;
}

int rd_dhcp_decode_search(const uint8_t *val, size_t len, char *out, size_t cap, rd_diag_t *d)
{
	return decode_names(RD_OPT_DOMAIN_SEARCH, val, len, out, cap, d);
}

int rd_dhcp_encode_search(const char *const *names, size_t n, uint8_t *out, size_t cap)
{
	rd_wire_t w = rd_wire_init(out, cap);

	if (!names && n)
		return RD_EINVAL;
	for (size_t i = 0; i < n; i++) {
		const char *s = names[i];
		size_t octets = 1;

		if (!s || !*s)
			return RD_EINVAL;
		if (strcmp(s, ".") == 0)
			s++;   /* the root: just the terminating zero */
		while (*s) {
			size_t ll = strcspn(s, ".");

			if (ll == 0 || ll > 63)
				return RD_EINVAL;
			octets += 1 + ll;
			if (octets > 255)
				return RD_EINVAL;
			rd_wire_write_u8(&w, (uint8_t)ll);
			rd_wire_write_bytes(&w, s, ll);
			s += ll;
			if (*s == '.')
				s++;
		}
		rd_wire_write_u8(&w, 0);
	}
	if (!rd_wire_ok(&w))
		return w.error;
	if (rd_wire_tell(&w) > (size_t)0x7fffffff)
		return RD_ETOOBIG;
	return (int)rd_wire_tell(&w);
}
