/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fo_msg.h — the DHCPv4 failover message codec, as ISC dhcpd 4.4 speaks
 * draft-ietf-dhc-failover-12 on TCP port 647.
 *
 * A failover message is a 12-byte header (length, type, payload offset,
 * time, xid) followed by options of 2-byte code, 2-byte length and value;
 * every integer is big-endian.  The codec follows ISC's parser rather than
 * the draft wherever the two differ, because the peer is a live ISC dhcpd
 * (../shared/docs/failover-protocol.md, §1-§3):
 *
 *  - rd_fo_frame_len() cuts a TCP byte stream into messages.  ISC drops the
 *    link on a length outside 12..2048; it skips (offset - 12) header bytes,
 *    so an offset below 12 (the draft's 8, which Microsoft sends) makes it
 *    lose the stream, and one past the message's end swallows the next
 *    message.  All three are refused here.
 *  - rd_fo_decode() applies ISC's per-option rules in ISC's order: unknown
 *    codes (0, > 29) are skipped; a known option that ISC does not keep for
 *    this message type is skipped without any check; a repeated kept option
 *    is fatal; a fixed-size kept option of any other size is fatal (so is a
 *    non-empty DDNS option in BNDUPD/BNDACK, ISC's size-0 quirk).  Whatever
 *    ISC would accept is accepted, whatever would make ISC drop the link is
 *    refused.
 *  - Options ISC skips for the message type are still decoded when they are
 *    well-formed (first instance wins) and flagged in `ignored`, so logs and
 *    the re-encoder see them; the link layer acts only on the others
 *    (rd_fo_option_allowed()).
 *  - rd_fo_encode() writes payload offset 12 and the options in one fixed
 *    order that reproduces ISC's own messages byte for byte; it never writes
 *    option 9 (DDNS), and a message holds one binding, so BNDUPDs are never
 *    batched.
 *  - rd_fo_msg_check() says whether a decoded message carries what ISC
 *    requires of its type, and with which reject reason to refuse it.
 *
 * Numbers and IPv4 addresses in rd_fo_msg_t are in host byte order; times are
 * absolute Unix seconds (ISC sends 0 for "unset").  Variable-size values live
 * in the message's own buffer (`data`), addressed by rd_fo_bytes_t, so a
 * decoded message owns no pointer into the stream and can be copied with
 * memcpy.  Nothing here allocates or keeps global state; every function is
 * thread-safe on distinct messages.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rackdhcp/error.h"

#define RD_FO_PORT          647     /*!< ISC's default listen and peer port */
#define RD_FO_HDR_LEN       12      /*!< fixed header; also the only payload offset we send */
#define RD_FO_MSG_MIN       RD_FO_HDR_LEN
#define RD_FO_MSG_MAX       2048    /*!< ISC's DHCP_FAILOVER_MAX_MESSAGE_SIZE */
#define RD_FO_OPT_HDR_LEN   4
/*! Room for every variable-size value of one message (they share its 2036 option bytes). */
#define RD_FO_DATA_MAX      (RD_FO_MSG_MAX - RD_FO_HDR_LEN)
/*! Longest chaddr option ISC takes: htype + 16 bytes (its hardware_addr.hbuf). */
#define RD_FO_CHADDR_MAX    17
#define RD_FO_HBA_LEN       32      /*!< 256 load-balancing buckets, one bit each */

/* Message types (draft-12 §12; ISC's FTM_*).  Note: Wireshark labels 7 and 9
 * the wrong way round. */
enum rd_fo_msg_type {
	RD_FO_POOLREQ = 1,
	RD_FO_POOLRESP = 2,
	RD_FO_BNDUPD = 3,
	RD_FO_BNDACK = 4,
	RD_FO_CONNECT = 5,
	RD_FO_CONNECTACK = 6,
	RD_FO_UPDREQALL = 7,
	RD_FO_UPDDONE = 8,
	RD_FO_UPDREQ = 9,
	RD_FO_STATE = 10,
	RD_FO_CONTACT = 11,
	RD_FO_DISCONNECT = 12,
	RD_FO_MSG_TYPE_MAX = RD_FO_DISCONNECT
};

/* Option codes, draft-12 numbering (ISC 3.1.0 and later). */
enum rd_fo_opt {
	RD_FO_OPT_ADDRESSES_TRANSFERRED = 1,   /*!< u32 */
	RD_FO_OPT_ASSIGNED_IP = 2,             /*!< IPv4 */
	RD_FO_OPT_BINDING_STATUS = 3,          /*!< u8, enum rd_fo_binding */
	RD_FO_OPT_CLIENT_ID = 4,               /*!< bytes: option 61's value, type byte included */
	RD_FO_OPT_CHADDR = 5,                  /*!< bytes: htype, then the hardware address */
	RD_FO_OPT_CLTT = 6,                    /*!< u32 time */
	RD_FO_OPT_REPLY_OPTIONS = 7,           /*!< bytes: cookie + DHCP options */
	RD_FO_OPT_REQUEST_OPTIONS = 8,         /*!< bytes: cookie + DHCP options */
	RD_FO_OPT_DDNS = 9,                    /*!< ISC: fixed size 0; never sent */
	RD_FO_OPT_DELAYED_SERVICE = 10,        /*!< u8; ISC keeps it in no message */
	RD_FO_OPT_HBA = 11,                    /*!< bytes: 32-byte bucket bitmap in CONNECT */
	RD_FO_OPT_IP_FLAGS = 12,               /*!< u16 (the draft's table says 1 byte; ISC and Wireshark: 2) */
	RD_FO_OPT_LEASE_EXPIRY = 13,           /*!< u32 time */
	RD_FO_OPT_MAX_UNACKED = 14,            /*!< u32 */
	RD_FO_OPT_MCLT = 15,                   /*!< u32 seconds */
	RD_FO_OPT_MESSAGE = 16,                /*!< text, no NUL */
	RD_FO_OPT_MESSAGE_DIGEST = 17,         /*!< bytes; ISC keeps it in no message */
	RD_FO_OPT_POTENTIAL_EXPIRY = 18,       /*!< u32 time */
	RD_FO_OPT_RECEIVE_TIMER = 19,          /*!< u32 seconds */
	RD_FO_OPT_PROTOCOL_VERSION = 20,       /*!< u8, 1 */
	RD_FO_OPT_REJECT_REASON = 21,          /*!< u8, enum rd_fo_reject */
	RD_FO_OPT_RELATIONSHIP_NAME = 22,      /*!< bytes, no NUL, matched exactly */
	RD_FO_OPT_SERVER_FLAGS = 23,           /*!< u8 */
	RD_FO_OPT_SERVER_STATE = 24,           /*!< u8, enum rd_fo_state */
	RD_FO_OPT_STOS = 25,                   /*!< u32 time: start-time-of-state */
	RD_FO_OPT_TLS_REPLY = 26,              /*!< u8 */
	RD_FO_OPT_TLS_REQUEST = 27,            /*!< u8 (ISC 3.0.x sent 2 bytes) */
	RD_FO_OPT_VENDOR_CLASS = 28,           /*!< bytes: "isc-4.4.3-P1" */
	RD_FO_OPT_VENDOR_OPTIONS = 29,         /*!< bytes; ISC keeps it in no message */
	RD_FO_OPT_MAX = RD_FO_OPT_VENDOR_OPTIONS
};

/*! Presence bit of option code c in rd_fo_msg_t.has / .ignored. */
#define RD_FO_BIT(c) (1u << (c))

/* Server states, binding statuses and the STARTUP flag: the wire's codes,
 * shared with the state machine (fo_state.h). */

/*!
 * Server states, numbered as the server-state option on the wire (draft-12
 * §12.24 = ISC 4.x).  RECOVER-WAIT is 254: the draft gives it no number and
 * ISC kept 254 from 3.0.  STARTUP is never sent as a state (a server in
 * STARTUP sends its saved state with RD_FO_SERVER_FLAG_STARTUP), and UNKNOWN
 * is only ever a starting value.
 */
enum rd_fo_state {
	RD_FO_ST_UNKNOWN = 0,
	RD_FO_ST_STARTUP = 1,
	RD_FO_ST_NORMAL = 2,
	RD_FO_ST_COMM_INTERRUPTED = 3,
	RD_FO_ST_PARTNER_DOWN = 4,
	RD_FO_ST_POTENTIAL_CONFLICT = 5,
	RD_FO_ST_RECOVER = 6,
	RD_FO_ST_PAUSED = 7,
	RD_FO_ST_SHUTDOWN = 8,
	RD_FO_ST_RECOVER_DONE = 9,
	RD_FO_ST_RESOLUTION_INTERRUPTED = 10,
	RD_FO_ST_CONFLICT_DONE = 11,
	RD_FO_ST_RECOVER_WAIT = 254,
};

/*! server-flags bit: the sender is in STARTUP (option 23). */
#define RD_FO_SERVER_FLAG_STARTUP 0x01u

/*!
 * Binding status, numbered as the binding-status option (draft-12 §12.3);
 * the same values as lease.h's enum rd_binding_state.
 */
enum rd_fo_binding {
	RD_FO_BS_FREE = 1,       /*!< available; only the primary allocates it */
	RD_FO_BS_ACTIVE = 2,
	RD_FO_BS_EXPIRED = 3,    /*!< transitional: FREE once the peer acks */
	RD_FO_BS_RELEASED = 4,   /*!< transitional */
	RD_FO_BS_ABANDONED = 5,
	RD_FO_BS_RESET = 6,      /*!< transitional */
	RD_FO_BS_BACKUP = 7,     /*!< available; only the secondary allocates it */
};

/* IP-flags bits (16-bit value) */
#define RD_FO_IP_FLAG_RESERVED 0x0001u
#define RD_FO_IP_FLAG_BOOTP    0x0002u

/* Reject reasons (draft-12 §12.21). */
enum rd_fo_reject {
	RD_FO_REJ_ILLEGAL_IP = 1,
	RD_FO_REJ_FATAL_CONFLICT = 2,
	RD_FO_REJ_MISSING_BINDINFO = 3,
	RD_FO_REJ_TIME_MISMATCH = 4,
	RD_FO_REJ_INVALID_MCLT = 5,
	RD_FO_REJ_MISC = 6,
	RD_FO_REJ_DUP_CONNECTION = 7,
	RD_FO_REJ_INVALID_PARTNER = 8,
	RD_FO_REJ_TLS_UNSUPPORTED = 9,
	RD_FO_REJ_TLS_UNCONFIGURED = 10,
	RD_FO_REJ_TLS_REQUIRED = 11,
	RD_FO_REJ_DIGEST_UNSUPPORTED = 12,
	RD_FO_REJ_DIGEST_UNCONFIGURED = 13,
	RD_FO_REJ_VERSION_MISMATCH = 14,
	RD_FO_REJ_OUTDATED_BINDINFO = 15,
	RD_FO_REJ_LESS_CRITICAL_BINDINFO = 16,
	RD_FO_REJ_NO_TRAFFIC = 17,
	RD_FO_REJ_HBA_CONFLICT = 18,
	RD_FO_REJ_IP_NOT_RESERVED = 19,
	RD_FO_REJ_DIGEST_FAILED = 20,
	RD_FO_REJ_DIGEST_MISSING = 21,
	RD_FO_REJ_UNKNOWN = 254,
};

/*! A variable-size value: bytes [off, off + len) of rd_fo_msg_t.data. */
typedef struct {
	uint16_t off;
	uint16_t len;
} rd_fo_bytes_t;

/*!
 * One failover message.  An option's field means something only when its
 * bit RD_FO_BIT(code) is set in `has`; build messages with rd_fo_msg_init()
 * and the setters (or assign a fixed field and set its bit yourself).
 */
typedef struct {
	uint8_t type;                   /*!< enum rd_fo_msg_type (others decode, see rd_fo_decode) */
	uint8_t payload_offset;         /*!< as received (ISC: 12); the encoder always writes 12 */
	uint32_t time;                  /*!< sender's clock, Unix seconds */
	uint32_t xid;

	uint32_t has;                   /*!< RD_FO_BIT(code) for each option held below */
	uint32_t ignored;               /*!< known codes seen that ISC skips in this type (decode only) */
	uint16_t unknown;               /*!< options with unknown codes skipped (decode only) */

	uint32_t addresses_transferred; /*  1 */
	uint32_t assigned_ip;           /*  2, host order */
	uint8_t binding_status;         /*  3 */
	rd_fo_bytes_t client_id;        /*  4 */
	rd_fo_bytes_t chaddr;           /*  5 */
	uint32_t cltt;                  /*  6 */
	rd_fo_bytes_t reply_options;    /*  7 */
	rd_fo_bytes_t request_options;  /*  8 */
	/*  9 DDNS: presence only.  ISC's table sizes it 0, so the only DDNS
	 *    option ISC survives (and the only one decoded) is empty. */
	uint8_t delayed_service;        /* 10 */
	rd_fo_bytes_t hba;              /* 11 */
	uint16_t ip_flags;              /* 12 */
	uint32_t lease_expiry;          /* 13 */
	uint32_t max_unacked;           /* 14 */
	uint32_t mclt;                  /* 15 */
	rd_fo_bytes_t message;          /* 16 */
	rd_fo_bytes_t message_digest;   /* 17 */
	uint32_t potential_expiry;      /* 18 */
	uint32_t receive_timer;         /* 19 */
	uint8_t protocol_version;       /* 20 */
	uint8_t reject_reason;          /* 21 */
	rd_fo_bytes_t relationship_name;/* 22 */
	uint8_t server_flags;           /* 23 */
	uint8_t server_state;           /* 24 */
	uint32_t stos;                  /* 25 */
	uint8_t tls_reply;              /* 26 */
	uint8_t tls_request;            /* 27 */
	rd_fo_bytes_t vendor_class;     /* 28 */
	rd_fo_bytes_t vendor_options;   /* 29 */

	uint16_t data_used;
	uint8_t data[RD_FO_DATA_MAX];
} rd_fo_msg_t;

/*! Zero m and set its header.  time is usually time(NULL). */
void rd_fo_msg_init(rd_fo_msg_t *m, uint8_t type, uint32_t time, uint32_t xid);

static inline bool rd_fo_has(const rd_fo_msg_t *m, unsigned code)
{
	return code <= RD_FO_OPT_MAX && (m->has & RD_FO_BIT(code));
}

/*!
 * Set a fixed-size option (u8, u16, u32, IPv4 address; DDNS with v = 0).
 * \retval 0; RD_EINVAL for a variable-size or unknown code, or a value too
 *         large for the option's size.
 */
int rd_fo_set_uint(rd_fo_msg_t *m, unsigned code, uint32_t v);

/*!
 * Set a variable-size option to a copy of n bytes at p (n may be 0).
 * \retval 0; RD_EINVAL for a fixed-size or unknown code; RD_ENOSPACE when
 *         m->data is full.
 */
int rd_fo_set_bytes(rd_fo_msg_t *m, unsigned code, const void *p, size_t n);

/*! Convenience: rd_fo_set_bytes with a C string (relationship name, vendor class, message). */
int rd_fo_set_str(rd_fo_msg_t *m, unsigned code, const char *s);

/*! The value of a variable-size option, or NULL when absent (len set to 0). */
const uint8_t *rd_fo_get_bytes(const rd_fo_msg_t *m, unsigned code, size_t *len);

/*! The 32-byte HBA when present with exactly that size, else NULL. */
const uint8_t *rd_fo_hba(const rd_fo_msg_t *m);

/*! Remove an option (clears its bit; its bytes stay unused in data). */
void rd_fo_unset(rd_fo_msg_t *m, unsigned code);

/*!
 * Frame one message at the head of a TCP byte stream.
 * \param buf,avail  the bytes received and not yet consumed
 * \param msg_len    set to the message's length once the first two bytes
 *                   are there (even when more are needed), else to 0
 * \retval 1 a complete message of *msg_len bytes starts at buf;
 *         0 more bytes are needed (*msg_len says how many in all, if known);
 *         negative RD_E* with d's reason: the stream is broken (declared
 *         length outside 12..2048, payload offset below 12 or past the
 *         message's end) and the link must be dropped, as ISC drops it.
 */
int rd_fo_frame_len(const uint8_t *buf, size_t avail, size_t *msg_len, rd_diag_t *d);

/*!
 * Decode one complete message (exactly len bytes, as rd_fo_frame_len cut
 * it) into out.  Framing is checked again; options follow ISC's parser (see
 * the file comment).  A message of a type above 12 that carries a known
 * option is refused (ISC has no row for it); type 0, or above 12 without known
 * options, decodes and is left to rd_fo_msg_check().
 * \retval 0, or negative RD_E* (RD_ETRUNC, RD_EMALFORMED, RD_EOPTLEN,
 *         RD_EUNSUPPORTED) with d's reason; ISC would drop the link on the
 *         same input.  A refused message keeps its header fields (for the
 *         log line) but no options.
 */
int rd_fo_decode(const uint8_t *buf, size_t len, rd_fo_msg_t *out, rd_diag_t *d);

/*!
 * Encode m into buf: header with payload offset 12, then every option in
 * `has` in ISC's order (CONNECT, CONNECTACK, STATE, BNDUPD, BNDACK, POOLRESP
 * and DISCONNECT come out as ISC writes them), message-digest last.  Option
 * 9 (DDNS) is never written, whatever `has` says.
 * \retval the message length (12..2048); RD_EINVAL for a type outside 1..12
 *         or a value that does not lie in m->data; RD_ETOOBIG when the
 *         options exceed 2048 bytes; RD_ENOSPACE when cap is too small.
 */
int rd_fo_encode(const rd_fo_msg_t *m, uint8_t *buf, size_t cap);

/*!
 * Does m carry what ISC requires of its type (doc §3.2)?  Checks only what
 * the message itself shows; name matching, clock skew, duplicate links, pool
 * membership and lease transitions are the link and lease layers' business.
 * \retval 0 when it does; otherwise the reject reason (enum rd_fo_reject,
 *         > 0) to refuse it with, d->code = RD_EMALFORMED and d->reason
 *         naming what is wrong.  For types that have no refusal message
 *         (STATE, BNDACK, ...) the reason still classifies the defect, and
 *         the caller logs and drops the message.
 *  - CONNECT: relationship-name (8), HBA of 32 bytes (18), MCLT (5),
 *    max-unacked and receive-timer non-zero (6; ISC accepts their absence
 *    but then never sends a BNDUPD / floods CONTACT), protocol-version 1
 *    when present (14).
 *  - CONNECTACK: relationship-name (8); unless it carries a reject-reason,
 *    max-unacked and receive-timer (6) and protocol-version (14) as above.
 *  - BNDUPD: assigned-IP and binding-status (3), status 1..7 (6), chaddr at
 *    most 17 bytes (6), chaddr for ACTIVE/EXPIRED/RELEASED (3), neither
 *    chaddr nor client-id for ABANDONED (6).
 *  - BNDACK: assigned-IP (3).
 *  - STATE: server-state present (6) and a state ISC knows, 0..11 or 254
 *    (6; any other value sends ISC to SHUTDOWN).
 *  - type 0 or above 12: RD_FO_REJ_UNKNOWN.
 */
int rd_fo_msg_check(const rd_fo_msg_t *m, rd_diag_t *d);

/*! Does ISC keep option code in a message of this type (its fto_allowed table)? */
bool rd_fo_option_allowed(unsigned type, unsigned code);

/* Names; never NULL ("unknown" for values without one). */
const char *rd_fo_msg_name(unsigned type);          /*!< "BNDUPD" */
const char *rd_fo_state_name(unsigned state);       /*!< ISC's lease-file keywords: "recover-wait" */
const char *rd_fo_binding_name(unsigned status);    /*!< "free", "active", ... */
const char *rd_fo_reject_reason_name(unsigned reason);
const char *rd_fo_option_name(unsigned code);       /*!< "assigned-IP-address" */

/*!
 * One line for logs: "BNDUPD xid 0x161 time 1795683919 ip=192.0.2.135
 * status=active chaddr=01:92:8b:ab:4e:48:ce ends=... pexp=... stos=...".
 * Options in encoding order; text quoted with non-printables as \xNN;
 * options ISC ignores in this type are marked with '~'.  Always
 * NUL-terminates and cuts what does not fit.
 * \retval the length written.
 */
size_t rd_fo_msg_print(const rd_fo_msg_t *m, char *buf, size_t cap);

/*!
 * Same header and same options with the same values (bookkeeping such as
 * `ignored`, `unknown`, `payload_offset` and the layout of `data` aside).
 */
bool rd_fo_msg_equal(const rd_fo_msg_t *a, const rd_fo_msg_t *b);
