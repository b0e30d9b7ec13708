/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dhcp.h — the DHCPv4/BOOTP message codec.
 *
 * Parsing (dhcpd/dhcp_parse.c) turns a UDP payload into an rd_dhcp_t once:
 * the fixed BOOTP header, the magic cookie, and every option, with
 *  - each known code checked against its own length rule (rd_dhcp_optinfo);
 *  - option 52 overload honoured: options continue in `file`, then `sname`;
 *  - RFC 3396 long options: every instance of a code, in options/file/sname
 *    order, concatenated into one value;
 *  - unknown codes kept as opaque bytes.
 * The joined values live in the message's own buffer (optbuf), so a parsed
 * message owns no pointers into the packet and can outlive it.
 *
 * Building (dhcpd/dhcp_build.c) goes the other way through rd_dhcp_builder_t:
 * header fields plus a set of options, laid out in the order the client's
 * parameter request list asks for, within its maximum message size, with
 * overload of file/sname when the options field runs out, RFC 3396 splitting
 * for values over 255 bytes, and padding to the 300-byte BOOTP minimum.
 *
 * Multi-byte numbers and IPv4 addresses in structs are in host byte order.
 * Nothing here allocates; all state is inside the structs (a few KiB), which
 * callers keep on their stack or in per-worker storage.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rackdhcp/error.h"

#define RD_DHCP_FIXED_LEN   236         /*!< op .. file */
#define RD_DHCP_COOKIE      0x63825363u
#define RD_DHCP_MIN_LEN     300         /*!< BOOTP minimum (RFC 951/1542) */
#define RD_DHCP_MIN_MAXMSG  576         /*!< smallest max-message-size allowed (RFC 2132 §9.10) */
#define RD_DHCP_SNAME_LEN   64
#define RD_DHCP_FILE_LEN    128
#define RD_DHCP_CHADDR_LEN  16
/*! Largest DHCP payload we accept or build (jumbo frame). */
#define RD_DHCP_MAX_LEN     9000
/*! Room for all joined option values of one message. */
#define RD_DHCP_OPTBUF_LEN  RD_DHCP_MAX_LEN

/* BOOTP op */
enum { RD_BOOTREQUEST = 1, RD_BOOTREPLY = 2 };
#define RD_DHCP_FLAG_BROADCAST 0x8000u

/* Option 53 values (RFC 2132, 3203, 4388, 6926, 7724). */
enum rd_dhcp_msgtype {
	RD_DHCPDISCOVER = 1,
	RD_DHCPOFFER = 2,
	RD_DHCPREQUEST = 3,
	RD_DHCPDECLINE = 4,
	RD_DHCPACK = 5,
	RD_DHCPNAK = 6,
	RD_DHCPRELEASE = 7,
	RD_DHCPINFORM = 8,
	RD_DHCPFORCERENEW = 9,
	RD_DHCPLEASEQUERY = 10,
	RD_DHCPLEASEUNASSIGNED = 11,
	RD_DHCPLEASEUNKNOWN = 12,
	RD_DHCPLEASEACTIVE = 13,
	RD_DHCPBULKLEASEQUERY = 14,
	RD_DHCPLEASEQUERYDONE = 15,
	RD_DHCPACTIVELEASEQUERY = 16,
	RD_DHCPLEASEQUERYSTATUS = 17,
	RD_DHCPTLS = 18,
};

/* Option codes we name in code (others are still parsed by the table). */
enum rd_dhcp_opt {
	RD_OPT_PAD = 0,
	RD_OPT_SUBNET_MASK = 1,
	RD_OPT_TIME_OFFSET = 2,
	RD_OPT_ROUTER = 3,
	RD_OPT_DNS = 6,
	RD_OPT_HOSTNAME = 12,
	RD_OPT_DOMAIN_NAME = 15,
	RD_OPT_INTERFACE_MTU = 26,
	RD_OPT_BROADCAST = 28,
	RD_OPT_STATIC_ROUTES = 33,
	RD_OPT_VENDOR_SPECIFIC = 43,
	RD_OPT_NTP = 42,
	RD_OPT_REQUESTED_IP = 50,
	RD_OPT_LEASE_TIME = 51,
	RD_OPT_OVERLOAD = 52,
	RD_OPT_MESSAGE_TYPE = 53,
	RD_OPT_SERVER_ID = 54,
	RD_OPT_PARAM_REQUEST = 55,
	RD_OPT_MESSAGE = 56,
	RD_OPT_MAX_MSG_SIZE = 57,
	RD_OPT_RENEWAL_TIME = 58,
	RD_OPT_REBINDING_TIME = 59,
	RD_OPT_VENDOR_CLASS = 60,
	RD_OPT_CLIENT_ID = 61,
	RD_OPT_TFTP_SERVER = 66,
	RD_OPT_BOOTFILE = 67,
	RD_OPT_USER_CLASS = 77,
	RD_OPT_CLIENT_FQDN = 81,
	RD_OPT_AGENT_INFO = 82,
	RD_OPT_CLIENT_ARCH = 93,
	RD_OPT_CLIENT_NDI = 94,
	RD_OPT_CLIENT_UUID = 97,
	RD_OPT_SUBNET_SELECTION = 118,
	RD_OPT_DOMAIN_SEARCH = 119,
	RD_OPT_CLASSLESS_ROUTES = 121,
	RD_OPT_VIVSO = 125,
	RD_OPT_TFTP_SERVERS = 150,
	RD_OPT_PATH_PREFIX = 210,
	RD_OPT_WPAD = 252,
	RD_OPT_END = 255,
};

/* Option 52 values. */
enum { RD_OVERLOAD_FILE = 1, RD_OVERLOAD_SNAME = 2, RD_OVERLOAD_BOTH = 3 };

/* Option 82 sub-option codes (RFC 3046, 3527, 3993, 4243, 5107, 6607). */
enum rd_agent_subopt {
	RD_AGENT_CIRCUIT_ID = 1,
	RD_AGENT_REMOTE_ID = 2,
	RD_AGENT_LINK_SELECTION = 5,
	RD_AGENT_SUBSCRIBER_ID = 6,
	RD_AGENT_RELAY_FLAGS = 10,
	RD_AGENT_SERVER_ID_OVERRIDE = 11,
	RD_AGENT_VSS = 151,
};

/* How an option's length is checked (rd_dhcp_optinfo.rule). */
enum rd_optrule {
	RD_RULE_ANY = 0,     /*!< any length, 0 allowed (unknown codes, opaque) */
	RD_RULE_FIXED,       /*!< exactly `a` bytes */
	RD_RULE_MULT,        /*!< a multiple of `a`, at least `b` */
	RD_RULE_MIN,         /*!< at least `a` bytes (strings, blobs) */
	RD_RULE_RANGE,       /*!< between `a` and `b` bytes */
	RD_RULE_SPECIAL,     /*!< own validator (82, 119, 121, 81, 125, 93, 97 ...) */
};

typedef struct {
	const char *name;    /*!< e.g. "lease-time"; NULL for unknown codes */
	uint8_t rule;        /*!< enum rd_optrule */
	uint8_t a;
	uint8_t b;
} rd_dhcp_optinfo_t;

/*! Length rule and name of every code 0..255 (unknown: {NULL, RD_RULE_ANY}). */
const rd_dhcp_optinfo_t *rd_dhcp_optinfo(uint8_t code);

/*! Printable name of an option code ("option-NNN" style for unknown ones). */
const char *rd_dhcp_option_name(uint8_t code);

/*! Printable name of a message type ("DHCPDISCOVER"), or "unknown". */
const char *rd_dhcp_msgtype_name(uint8_t type);

/*!
 * Check one joined option value against its code's rule.
 * \retval 0 valid; RD_EOPTLEN / RD_EMALFORMED with d->reason otherwise.
 */
int rd_dhcp_option_validate(uint8_t code, const uint8_t *val, size_t len, rd_diag_t *d);

/*! A parsed option 82: each sub-option's position inside the 82 value. */
typedef struct {
	bool present;
	uint8_t count;                 /*!< sub-options seen */
	uint16_t off[256];             /*!< offset of sub-option value within option 82's value */
	uint8_t len[256];
	uint8_t seen[32];              /*!< bitmap of sub-option codes present */
} rd_dhcp_agent_t;

/*! A parsed message.  All offsets index optbuf. */
typedef struct {
	/* fixed header */
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	uint32_t ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[RD_DHCP_CHADDR_LEN];
	uint8_t sname[RD_DHCP_SNAME_LEN];   /*!< raw field (option space if overloaded) */
	uint8_t file[RD_DHCP_FILE_LEN];     /*!< raw field (option space if overloaded) */
	bool has_cookie;    /*!< false: plain BOOTP with no options (vendor area not DHCP) */
	uint8_t overload;   /*!< option 52 value, 0 if absent */
	size_t wire_len;    /*!< bytes of payload actually used (up to the END option) */

	/* options, joined per RFC 3396, in order of first appearance */
	uint16_t opt_count;
	uint8_t opt_order[256];
	uint8_t present[32];           /*!< bitmap by code */
	uint16_t opt_off[256];
	uint16_t opt_len[256];
	uint16_t optbuf_used;
	uint8_t optbuf[RD_DHCP_OPTBUF_LEN];

	/* decoded shortcuts (valid when the option is present) */
	uint8_t msgtype;               /*!< option 53, 0 if absent (BOOTP) */
	uint16_t max_msg_size;         /*!< option 57, 0 if absent */
	rd_dhcp_agent_t agent;         /*!< option 82 sub-options */
} rd_dhcp_t;

/*!
 * Parse a UDP payload (a BOOTP/DHCP message).
 * A message without the magic cookie is accepted as plain BOOTP only when the
 * vendor area is empty or all zeros; otherwise RD_ECOOKIE.
 * \retval 0 success; negative RD_E* with d->reason otherwise.
 */
int rd_dhcp_parse(const uint8_t *buf, size_t len, rd_dhcp_t *msg, rd_diag_t *d);

static inline bool rd_dhcp_has(const rd_dhcp_t *m, uint8_t code)
{
	return (m->present[code >> 3] >> (code & 7)) & 1;
}

/*! Joined value of an option; NULL if absent (a present empty option gives a non-NULL pointer and *len 0). */
const uint8_t *rd_dhcp_get(const rd_dhcp_t *m, uint8_t code, size_t *len);

/*! Read a 1/2/4-byte option or an IPv4 address option.  false if absent or not that size. */
bool rd_dhcp_get_u8(const rd_dhcp_t *m, uint8_t code, uint8_t *v);
bool rd_dhcp_get_u16(const rd_dhcp_t *m, uint8_t code, uint16_t *v);
bool rd_dhcp_get_u32(const rd_dhcp_t *m, uint8_t code, uint32_t *v);

/*! Value of an option-82 sub-option; NULL if absent. */
const uint8_t *rd_dhcp_agent_get(const rd_dhcp_t *m, uint8_t sub, size_t *len);

/*!
 * Decode an RFC 1035 name list (option 119, RFC 3397 compression allowed):
 * writes the names as dotted text, separated by single spaces, NUL
 * terminated.  Loops, pointers forward past the end, labels > 63 and names
 * > 255 are RD_EMALFORMED.
 * \retval number of names, or negative RD_E*.
 */
int rd_dhcp_decode_search(const uint8_t *val, size_t len, char *out, size_t cap, rd_diag_t *d);

/*!
 * Encode dotted names (array of n C strings) as an uncompressed option-119
 * value.  \retval bytes written, or negative RD_E*.
 */
int rd_dhcp_encode_search(const char *const *names, size_t n, uint8_t *out, size_t cap);

/*!
 * One-line human description of a message for logs and the demo:
 * "DHCPREQUEST xid 0x1234abcd chaddr 52:54:00:aa:bb:cc ciaddr ... opts 53,61,50,55".
 */
size_t rd_dhcp_summary(const rd_dhcp_t *m, char *out, size_t cap);

/*!
 * Multi-line dump of every header field and option with a decoded value
 * (addresses, numbers, strings, 82 sub-options, 119 names, 121 routes, ...),
 * one item per line, each prefixed with indent.
 */
size_t rd_dhcp_dump(const rd_dhcp_t *m, const char *indent, char *out, size_t cap);

/* ------------------------------------------------------------------ build */

/* Builder option flags. */
enum {
	RD_BOPT_REQUIRED = 1 << 0,  /*!< never dropped for space; the build fails instead */
	/*!
	 * Sent only if the client's parameter request list names it (when the
	 * client sent one at all), as ISC dhcpd does for configured options:
	 * a PXE ROM gets what it asked for, not every option of the subnet.
	 */
	RD_BOPT_IF_REQUESTED = 1 << 1,
};

/*! A reply (or any message) under construction. */
typedef struct {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	uint32_t ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[RD_DHCP_CHADDR_LEN];
	uint8_t sname[RD_DHCP_SNAME_LEN];   /*!< NUL-padded; empty = free for overload */
	uint8_t file[RD_DHCP_FILE_LEN];     /*!< NUL-padded; empty = free for overload */
	bool no_cookie;                     /*!< build plain BOOTP (no options at all) */

	uint16_t count;                 /*!< options added, in add order */
	uint8_t order[256];
	uint8_t present[32];
	uint8_t bflags[256];            /*!< RD_BOPT_* by code */
	uint16_t off[256];
	uint16_t len[256];
	uint16_t used;
	uint8_t buf[RD_DHCP_OPTBUF_LEN];
} rd_dhcp_builder_t;

/*! Empty builder: op BOOTREPLY, htype 1, hlen 6, everything else zero. */
void rd_dhcp_builder_init(rd_dhcp_builder_t *b);

/*!
 * Start a reply to req: op BOOTREPLY; htype, hlen, xid, flags, giaddr and
 * chaddr copied from the request; option 53 set to msgtype (REQUIRED).
 */
void rd_dhcp_builder_reply(rd_dhcp_builder_t *b, const rd_dhcp_t *req, uint8_t msgtype);

/*!
 * Load every header field and option of a parsed message, in its order, so
 * that building it again gives a message that parses to the same fields.
 */
int rd_dhcp_builder_from(rd_dhcp_builder_t *b, const rd_dhcp_t *m);

/*! Add or replace an option (len up to RD_DHCP_OPTBUF_LEN; > 255 is split when built). */
int rd_dhcp_builder_set(rd_dhcp_builder_t *b, uint8_t code, const void *val, size_t len, unsigned bflags);
int rd_dhcp_builder_set_u8(rd_dhcp_builder_t *b, uint8_t code, uint8_t v, unsigned bflags);
int rd_dhcp_builder_set_u16(rd_dhcp_builder_t *b, uint8_t code, uint16_t v, unsigned bflags);
int rd_dhcp_builder_set_u32(rd_dhcp_builder_t *b, uint8_t code, uint32_t v, unsigned bflags);
/*! Remove an option if present. */
void rd_dhcp_builder_unset(rd_dhcp_builder_t *b, uint8_t code);
/*! Set the sname / file header fields from a C string (truncation is RD_ETOOBIG). */
int rd_dhcp_builder_set_sname(rd_dhcp_builder_t *b, const char *s);
int rd_dhcp_builder_set_file(rd_dhcp_builder_t *b, const char *s);

/*!
 * Lay the message out into out.
 *
 * Order: 53, then 54, then the codes of prl (the client's option 55, may be
 * NULL) in the client's order, then the other options in add order, with 82
 * (relay agent information) always last, as RFC 3046 requires.  With a
 * non-empty prl, RD_BOPT_IF_REQUESTED options it does not name are left out
 * (not counted in *dropped).
 *
 * Size: the message is kept within max_msg bytes of DHCP payload (the
 * caller passes the client's option 57 minus IP/UDP headers, or 0 for the
 * RFC 2131 default of 576 - 28).  When the options field is full, options
 * continue in `file` then `sname` (whichever is empty) with option 52 set.
 * If they still do not fit, options not in prl and not REQUIRED are dropped
 * first, then requested ones from the end of prl; a REQUIRED one that cannot
 * fit is RD_ETOOBIG.  *dropped (may be NULL) counts the options left out.
 *
 * \retval >0 bytes written (at least RD_DHCP_MIN_LEN); negative RD_E*.
 */
int rd_dhcp_build(const rd_dhcp_builder_t *b, const uint8_t *prl, size_t prl_len,
		  size_t max_msg, uint8_t *out, size_t cap, unsigned *dropped, rd_diag_t *d);
