/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * boot.h — network-boot parameters for one request, chosen the way the ISC
 * config that MAAS generates chooses them (maas-integration.md §1.7).
 *
 * MAAS renders, per subnet, an `if … elsif … else` chain over its boot
 * methods; the first branch that matches sets `filename` (the BOOTP file
 * field), sometimes option 210 (path-prefix, forced into the client's
 * parameter request list for pxe), and for UEFI HTTP boot option 60
 * "HTTPClient".  The subnet also sets `next-server` (siaddr) to the rack IP.
 * This module reproduces that chain as three pure steps:
 *
 *   rd_boot_request_from()  parsed request -> the few facts the chain tests
 *   rd_boot_select()        facts + subnet parameters -> rd_boot_reply_t
 *   rd_boot_apply()         rd_boot_reply_t -> header fields and options of
 *                           a reply builder; rd_boot_prl() gives the
 *                           parameter request list to lay it out with.
 *
 * Matching rules, where ISC semantics had to be pinned down:
 *  - Option 93 is compared the way ISC compares `option arch = 00:07`: the
 *    whole option value against two bytes.  A client that lists several
 *    architectures (RFC 4578 allows a list) therefore matches no arch row
 *    and gets the default (pxe) branch, exactly as with MAAS's dhcpd.
 *  - Option 77 equals a class name when its value is the plain string (what
 *    iPXE and ONIE really send) or a single RFC 3004 instance holding it
 *    ("\x04iPXE").  A list of several RFC 3004 instances does not match, as
 *    ISC's whole-value comparison would not.
 *  - Option 175 (iPXE encapsulated) counts when it parses as code/length
 *    sub-options; a malformed 175 is treated as absent.
 *  - Option 210 / 67 follow ISC's rule that, once a client sends a parameter
 *    request list, only requested options go out: 210 is sent when requested
 *    or when the method forces it (pxe, and only if the client has a PRL, as
 *    MAAS's `if exists dhcp-parameter-request-list` does); 67 mirrors the
 *    file field only when requested.  66 is never sent (MAAS sets none).
 *  - next-server is a subnet-level directive in MAAS, so siaddr = R is set
 *    for every reply of the subnet, even when no boot branch applies; with
 *    no rack IP MAAS renders neither next-server nor the chain.
 *
 * Nothing here allocates, does I/O or touches global state.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rackdhcp/dhcp.h"
#include "rackdhcp/error.h"

/*! The rack's HTTP boot service (nginx on the rack): `http://R:5248/`. */
#define RD_BOOT_HTTP_PORT 5248

/*! ONIE's IANA enterprise number for its option-125 space (§1.2). */
#define RD_BOOT_ONIE_ENTERPRISE 42623u

/*!
 * Boot methods, named as MAAS names them (subnet.disabled_boot_architectures
 * uses these names).  The order from RD_BOOT_IPXE to RD_BOOT_S390X_PARTITION
 * is the chain order of §1.7; windows is a registered method that never
 * appears in the chain (it has neither an arch nor a user class).
 */
enum rd_boot_method {
	RD_BOOT_NONE = 0,               /*!< no boot parameters */
	RD_BOOT_IPXE,                   /*!< "ipxe" */
	RD_BOOT_ONIE,                   /*!< "onie" */
	RD_BOOT_PXE,                    /*!< "pxe" (arch 0 and the default) */
	RD_BOOT_UEFI_AMD64_TFTP,        /*!< "uefi_amd64_tftp" */
	RD_BOOT_UEFI_AMD64_HTTP,        /*!< "uefi_amd64_http" */
	RD_BOOT_UEFI_EBC_TFTP,          /*!< "uefi_ebc_tftp" */
	RD_BOOT_UEFI_ARM64_TFTP,        /*!< "uefi_arm64_tftp" */
	RD_BOOT_UEFI_ARM64_HTTP,        /*!< "uefi_arm64_http" */
	RD_BOOT_OFW_PPC64EL,            /*!< "open-firmware_ppc64el" */
	RD_BOOT_POWERNV,                /*!< "powernv" */
	RD_BOOT_S390X,                  /*!< "s390x" */
	RD_BOOT_S390X_PARTITION,        /*!< "s390x_partition" */
	RD_BOOT_WINDOWS,                /*!< "windows" (never selected) */
	RD_BOOT_METHOD_COUNT
};

/*! Bit of a method in rd_boot_params_t.disabled. */
#define RD_BOOT_BIT(m) (1u << (unsigned)(m))

/*! MAAS name of a method; "none" for RD_BOOT_NONE, "unknown" if out of range. */
const char *rd_boot_method_name(enum rd_boot_method m);

/*!
 * Method for a MAAS name (exact, case-sensitive, as MAAS stores them).
 * \retval the enum rd_boot_method value (> 0); RD_EINVAL for an unknown name.
 */
int rd_boot_method_from_name(const char *name);

/*! Option-93 values kept; more are counted but only these are stored. */
#define RD_BOOT_MAX_ARCH 8
/*! Bytes of options 60 / 77 kept (their real length is kept too). */
#define RD_BOOT_CLASS_MAX 255

/*! What the chain looks at in one request. */
typedef struct {
	bool has_arch;                          /*!< option 93 present */
	uint16_t arch_count;                    /*!< values in 93; 0 if its length is odd */
	uint16_t arch[RD_BOOT_MAX_ARCH];        /*!< first values, host order */

	bool has_user_class;                    /*!< option 77 present */
	uint16_t user_class_len;                /*!< real length of 77 */
	uint8_t user_class[RD_BOOT_CLASS_MAX];  /*!< its first bytes */

	bool has_vendor_class;                  /*!< option 60 present */
	uint16_t vendor_class_len;              /*!< real length of 60 */
	uint8_t vendor_class[RD_BOOT_CLASS_MAX];

	bool has_ipxe;                          /*!< option 175 present and well formed */
	uint8_t ipxe_sub[32];                   /*!< bitmap of its sub-option codes */

	bool has_prl;                           /*!< option 55 present */
	bool prl_path_prefix;                   /*!< 55 lists 210 */
} rd_boot_request_t;

/*! Fill r from a parsed request (r is cleared first). */
void rd_boot_request_from(rd_boot_request_t *r, const rd_dhcp_t *m);

/*! Per-subnet inputs of the chain. */
typedef struct {
	uint32_t rack_ip;       /*!< R, host order; 0 = unknown: no next-server, no chain */
	uint16_t http_port;     /*!< rack HTTP boot port; 0 means RD_BOOT_HTTP_PORT */
	uint32_t disabled;      /*!< RD_BOOT_BIT() of each disabled method */
} rd_boot_params_t;

/*! Defaults: no rack IP, port 5248, nothing disabled. */
void rd_boot_params_init(rd_boot_params_t *p);

#define RD_BOOT_PREFIX_MAX 64   /*!< "http://255.255.255.255:65535/" fits */
#define RD_BOOT_VIVSO_MAX 96    /*!< ONIE option 125 value */

/*! The decision for one request. */
typedef struct {
	enum rd_boot_method method;     /*!< RD_BOOT_NONE: no boot parameters */
	bool fallback;                  /*!< method came from the `else` branch */
	uint32_t next_server;           /*!< siaddr (R); 0 = leave siaddr alone */
	char file[RD_DHCP_FILE_LEN];    /*!< BOOTP file field, "" = none (<= 127 chars) */
	char path_prefix[RD_BOOT_PREFIX_MAX]; /*!< option 210 value, "" = none */
	bool path_prefix_force;         /*!< method forces 210 into the PRL (pxe) */
	bool send_path_prefix;          /*!< 210 goes into the reply */
	const char *vendor_class_reply; /*!< option 60 to send ("HTTPClient") or NULL */
	uint8_t vivso_len;              /*!< option 125 value length, 0 = none (onie) */
	uint8_t vivso[RD_BOOT_VIVSO_MAX];
	bool pxe_client;                /*!< client option 60 starts with "PXE": 30 s lease class */
} rd_boot_reply_t;

/*!
 * Run the §1.7 chain for r under p.
 * out->pxe_client and out->next_server are filled whatever the method.
 * \retval 0 (out->method may be RD_BOOT_NONE); RD_EINVAL for NULL arguments.
 */
int rd_boot_select(const rd_boot_request_t *r, const rd_boot_params_t *p, rd_boot_reply_t *out);

/*!
 * Put the decision into a reply under construction: siaddr, file field,
 * and options 210, 67, 60 and 125 as decided by rd_boot_select.
 * \retval 0; a negative RD_E* from the builder.
 */
int rd_boot_apply(const rd_boot_reply_t *b, rd_dhcp_builder_t *reply);

/*!
 * The parameter request list to pass to rd_dhcp_build: the client's list
 * (prl, may be NULL) followed by the codes the decision forces (210 for
 * pxe, unless already listed).  Like MAAS's `concat(option
 * dhcp-parameter-request-list, d2)` nothing is forced for a client without
 * a list (prl_len 0): the result is then empty.
 * \retval length written to out; RD_ENOSPACE if cap is too small.
 */
int rd_boot_prl(const rd_boot_reply_t *b, const uint8_t *prl, size_t prl_len,
		uint8_t *out, size_t cap);
