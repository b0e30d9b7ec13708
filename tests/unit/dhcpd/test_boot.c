/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_boot.c — unit tests for dhcpd/boot.c, the MAAS network-boot chain.
 *
 * Every request is real wire data: built with rd_dhcp_builder_*, laid out by
 * rd_dhcp_build and parsed back by rd_dhcp_parse before rd_boot_request_from
 * sees it, so the tests also cover how options 55/60/77/93/175 arrive.  The
 * expected values are the rows of maas-integration.md §1.7 with the rack
 * R = 192.0.2.2 and the default HTTP port 5248.  The round-trip tests apply a
 * decision to a real reply builder and parse the built reply, checking the
 * fields a client would read (file, siaddr, 210, 60, 67, 125).
 */
#include <stdio.h>
#include <string.h>

#include "rackdhcp/boot.h"
#include "rackdhcp/dhcp.h"
#include "tap.h"

#define RACK 0xC0000202u        /* 192.0.2.2 */
#define BASE "http://192.0.2.2:5248/"

/* Big structs: keep them off the stack. */
static rd_dhcp_builder_t B, RB;
static rd_dhcp_t M, M2;
static uint8_t wire[RD_DHCP_MAX_LEN];

/* What a test request carries; NULL/0 fields are left out. */
typedef struct {
	const uint8_t *arch;
	size_t arch_len;
	const void *uc;         /* option 77 raw value */
	size_t uc_len;
	const char *vc;         /* option 60 */
	const uint8_t *ipxe;    /* option 175 raw value */
	size_t ipxe_len;
	const uint8_t *prl;     /* option 55 */
	size_t prl_len;
} spec_t;

/* A typical PXE ROM list: asks for 66/67 but not 210. */
static const uint8_t PRL_PXE[] = { 1, 3, 6, 12, 15, 43, 60, 66, 67, 128, 129, 130 };
static const uint8_t PRL_210[] = { 1, 3, 6, 210 };

/* Build spec as a DISCOVER, parse it into M, and extract r from M. */
static bool make_request(const spec_t *s, rd_boot_request_t *r)
{
	rd_diag_t d = { 0 };
	int n;

	rd_dhcp_builder_init(&B);
	B.op = RD_BOOTREQUEST;
	B.xid = 0x12345678;
	B.chaddr[0] = 0x52;
	B.chaddr[1] = 0x54;
	B.chaddr[5] = 0x01;
	rd_dhcp_builder_set_u8(&B, RD_OPT_MESSAGE_TYPE, RD_DHCPDISCOVER, 0);
	if (s->arch)
		rd_dhcp_builder_set(&B, RD_OPT_CLIENT_ARCH, s->arch, s->arch_len, 0);
	if (s->uc)
		rd_dhcp_builder_set(&B, RD_OPT_USER_CLASS, s->uc, s->uc_len, 0);
	if (s->vc)
		rd_dhcp_builder_set(&B, RD_OPT_VENDOR_CLASS, s->vc, strlen(s->vc), 0);
	if (s->ipxe)
		rd_dhcp_builder_set(&B, 175, s->ipxe, s->ipxe_len, 0);
	if (s->prl)
		rd_dhcp_builder_set(&B, RD_OPT_PARAM_REQUEST, s->prl, s->prl_len, 0);
	n = rd_dhcp_build(&B, NULL, 0, 0, wire, sizeof(wire), NULL, &d);
	if (n < 0) {
		diag("build: %s", d.reason);
		return false;
	}
	if (rd_dhcp_parse(wire, (size_t)n, &M, &d) < 0) {
		diag("parse: %s", d.reason);
		return false;
	}
	rd_boot_request_from(r, &M);
	return true;
}

static void params(rd_boot_params_t *p, uint32_t disabled)
{
	rd_boot_params_init(p);
	p->rack_ip = RACK;
	p->disabled = disabled;
}

/* Select for spec under the default parameters plus `disabled`. */
static int select_for(const spec_t *s, uint32_t disabled, rd_boot_reply_t *out)
{
	rd_boot_request_t r;
	rd_boot_params_t p;

	memset(out, 0, sizeof(*out));
	if (!make_request(s, &r))
		return -1;
	params(&p, disabled);
	return rd_boot_select(&r, &p, out);
}

/*
 * Apply b to a reply to M (the last parsed request), build it with the
 * extended PRL and parse it into M2.
 */
static bool round_trip(const rd_boot_reply_t *b)
{
	uint8_t prl[300];
	size_t clen = 0;
	const uint8_t *cprl = rd_dhcp_get(&M, RD_OPT_PARAM_REQUEST, &clen);
	rd_diag_t d = { 0 };
	int plen, n;

	rd_dhcp_builder_reply(&RB, &M, RD_DHCPOFFER);
	RB.yiaddr = 0xC0000264u;
	rd_dhcp_builder_set_u32(&RB, RD_OPT_SERVER_ID, RACK, RD_BOPT_REQUIRED);
	rd_dhcp_builder_set_u32(&RB, RD_OPT_LEASE_TIME, 600, 0);
	if (!ok(rd_boot_apply(b, &RB) == 0, "rd_boot_apply succeeds"))
		return false;
	plen = rd_boot_prl(b, cprl, cprl ? clen : 0, prl, sizeof(prl));
	if (!ok(plen >= 0, "rd_boot_prl succeeds"))
		return false;
	n = rd_dhcp_build(&RB, plen ? prl : NULL, (size_t)plen, 0, wire, sizeof(wire), NULL, &d);
	if (!ok(n > 0, "reply builds")) {
		diag("build: %s", d.reason);
		return false;
	}
	if (!ok(rd_dhcp_parse(wire, (size_t)n, &M2, &d) == 0, "reply parses")) {
		diag("parse: %s", d.reason);
		return false;
	}
	return true;
}

/* An option value as a C string, "<absent>" when the option is missing. */
static const char *opt_str(const rd_dhcp_t *m, uint8_t code)
{
	static char buf[2][300];
	static int k;
	size_t len;
	const uint8_t *v = rd_dhcp_get(m, code, &len);
	char *s = buf[k++ & 1];

	if (!v)
		return "<absent>";
	if (len >= sizeof(buf[0]))
		len = sizeof(buf[0]) - 1;
	memcpy(s, v, len);
	s[len] = '\0';
	return s;
}

static const char *file_str(const rd_dhcp_t *m)
{
	static char s[RD_DHCP_FILE_LEN + 1];

	memcpy(s, m->file, RD_DHCP_FILE_LEN);
	s[RD_DHCP_FILE_LEN] = '\0';
	return s;
}

/* ------------------------------------------------------------------ names */

static void test_names(void)
{
	static const char *const names[] = {
		"ipxe", "onie", "pxe", "uefi_amd64_tftp", "uefi_amd64_http",
		"uefi_ebc_tftp", "uefi_arm64_tftp", "uefi_arm64_http",
		"open-firmware_ppc64el", "powernv", "s390x", "s390x_partition",
		"windows",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int m = rd_boot_method_from_name(names[i]);

		ok(m > 0, "name %s known", names[i]);
		is_str(rd_boot_method_name((enum rd_boot_method)m), names[i],
		       "name %s round-trips", names[i]);
	}
	is_int(rd_boot_method_from_name("PXE"), RD_EINVAL, "names are case-sensitive");
	is_int(rd_boot_method_from_name("uefi_amd64"), RD_EINVAL, "unknown name refused");
	is_int(rd_boot_method_from_name("none"), RD_EINVAL, "none is not a method name");
	is_int(rd_boot_method_from_name(NULL), RD_EINVAL, "NULL name refused");
	is_str(rd_boot_method_name(RD_BOOT_NONE), "none", "RD_BOOT_NONE name");
	is_str(rd_boot_method_name(RD_BOOT_METHOD_COUNT), "unknown", "out-of-range name");
}

/* ------------------------------------------------------------------ table */

typedef struct {
	uint16_t arch;
	enum rd_boot_method method;
	const char *file;
	const char *prefix;     /* expected option 210 in the reply, or NULL */
	const char *vc;         /* expected option 60 in the reply, or NULL */
} row_t;

/* §1.7 rows 3..12, one arch each; the client PRL asks for 210. */
static const row_t rows[] = {
	{ 0x0000, RD_BOOT_PXE, "lpxelinux.0", BASE, NULL },
	{ 0x0007, RD_BOOT_UEFI_AMD64_TFTP, "bootx64.efi", NULL, NULL },
	{ 0x0010, RD_BOOT_UEFI_AMD64_HTTP, BASE "images/bootx64.efi", NULL, "HTTPClient" },
	{ 0x0009, RD_BOOT_UEFI_EBC_TFTP, "bootx64.efi", NULL, NULL },
	{ 0x000B, RD_BOOT_UEFI_ARM64_TFTP, "bootaa64.efi", NULL, NULL },
	{ 0x0013, RD_BOOT_UEFI_ARM64_HTTP, BASE "images/bootaa64.efi", NULL, "HTTPClient" },
	{ 0x000C, RD_BOOT_OFW_PPC64EL, "bootppc64.bin", NULL, NULL },
	{ 0x000E, RD_BOOT_POWERNV, "pxelinux.0", "ppc64el/", NULL },
	{ 0x001F, RD_BOOT_S390X, "boots390x.bin", "s390x/", NULL },
	{ 0x0020, RD_BOOT_S390X_PARTITION, "s390x_partition/maas", NULL, NULL },
};

static void test_arch_rows(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const row_t *w = &rows[i];
		uint8_t a[2] = { (uint8_t)(w->arch >> 8), (uint8_t)w->arch };
		spec_t s = { .arch = a, .arch_len = 2, .prl = PRL_210, .prl_len = sizeof(PRL_210) };
		rd_boot_reply_t b;
		const char *name = rd_boot_method_name(w->method);

		if (!is_int(select_for(&s, 0, &b), 0, "arch 0x%04x: select", w->arch))
			continue;
		is_int(b.method, w->method, "arch 0x%04x -> %s", w->arch, name);
		ok(!b.fallback, "%s: matched its own row, not the else branch", name);
		is_str(b.file, w->file, "%s: filename", name);
		is_int(b.next_server, RACK, "%s: next-server is R", name);
		is_str(b.path_prefix, w->prefix ? w->prefix : "", "%s: path-prefix", name);
		is_str(b.vendor_class_reply ? b.vendor_class_reply : "", w->vc ? w->vc : "",
		       "%s: reply vendor class", name);
		ok(b.vivso_len == 0, "%s: no option 125", name);

		if (!round_trip(&b))
			continue;
		is_str(file_str(&M2), w->file, "%s: wire file field", name);
		is_int(M2.siaddr, RACK, "%s: wire siaddr", name);
		is_str(opt_str(&M2, RD_OPT_PATH_PREFIX), w->prefix ? w->prefix : "<absent>",
		       "%s: wire option 210", name);
		is_str(opt_str(&M2, RD_OPT_VENDOR_CLASS), w->vc ? w->vc : "<absent>",
		       "%s: wire option 60", name);
		is_str(opt_str(&M2, RD_OPT_BOOTFILE), "<absent>",
		       "%s: no option 67 (the file field carries the name, as with ISC)", name);
	}
}

/* Row 1: iPXE by user class (both encodings) and by option 175. */
static void test_ipxe(void)
{
	static const uint8_t bios[] = { 0x00, 0x00 };
	static const uint8_t efi[] = { 0x00, 0x07 };
	static const uint8_t rfc3004[] = { 4, 'i', 'P', 'X', 'E' };
	static const uint8_t two_inst[] = { 4, 'i', 'P', 'X', 'E', 3, 'f', 'o', 'o' };
	/* 175: 19 (http) and 36 (efi), with a pad in between, then END. */
	static const uint8_t e_http_efi[] = { 19, 1, 1, 0, 36, 1, 1, 255 };
	static const uint8_t e_http_bz[] = { 19, 1, 1, 24, 1, 1 };
	static const uint8_t e_http_only[] = { 19, 1, 1, 8, 1, 1 };
	static const uint8_t e_efi_only[] = { 36, 1, 1, 24, 1, 1 };
	static const uint8_t e_broken[] = { 19, 1, 1, 36, 5, 1 };
	rd_boot_reply_t b;
	spec_t s;

	/* Plain string, as iPXE sends it: beats the arch row (row 1 before row 4). */
	s = (spec_t){ .arch = efi, .arch_len = 2, .uc = "iPXE", .uc_len = 4,
		      .prl = PRL_PXE, .prl_len = sizeof(PRL_PXE) };
	select_for(&s, 0, &b);
	is_int(b.method, RD_BOOT_IPXE, "77 \"iPXE\" (plain) -> ipxe");
	is_str(b.file, BASE "ipxe.cfg", "ipxe: filename is the HTTP ipxe.cfg URL");
	is_str(b.path_prefix, "", "ipxe: no path-prefix");
	ok(!b.vendor_class_reply, "ipxe: no reply vendor class");
	if (round_trip(&b)) {
		is_str(file_str(&M2), BASE "ipxe.cfg", "ipxe: wire file field");
		is_int(M2.siaddr, RACK, "ipxe: wire siaddr");
		is_str(opt_str(&M2, RD_OPT_BOOTFILE), "<absent>", "ipxe: no option 67 although the PRL asks (ISC)");
		is_str(opt_str(&M2, RD_OPT_PATH_PREFIX), "<absent>", "ipxe: wire no 210");
	}

	s = (spec_t){ .arch = bios, .arch_len = 2, .uc = rfc3004, .uc_len = sizeof(rfc3004) };
	select_for(&s, 0, &b);
	is_int(b.method, RD_BOOT_IPXE, "77 RFC 3004 instance \"iPXE\" -> ipxe");

	s = (spec_t){ .arch = bios, .arch_len = 2, .uc = two_inst, .uc_len = sizeof(two_inst) };
	select_for(&s, 0, &b);
	is_int(b.method, RD_BOOT_PXE, "77 with two RFC 3004 instances is no whole-value match");

	s = (spec_t){ .arch = bios, .arch_len = 2, .uc = "ipxe", .uc_len = 4 };
	select_for(&s, 0, &b);
	is_int(b.method, RD_BOOT_PXE, "user class compare is case-sensitive");

	s = (spec_t){ .arch = bios, .arch_len = 2, .uc = "iPXE2", .uc_len = 5 };
	select_for(&s, 0, &b);
	is_int(b.method, RD_BOOT_PXE, "user class \"iPXE2\" is not \"iPXE\"");

	/* 300 bytes (split on the wire per RFC 3396) starting with "iPXE". */
	{
		static uint8_t big[300];

		memset(big, 'x', sizeof(big));
		memcpy(big, "iPXE", 4);
		s = (spec_t){ .arch = bios, .arch_len = 2, .uc = big, .uc_len = sizeof(big) };
		select_for(&s, 0, &b);
		is_int(b.method, RD_BOOT_PXE, "300-byte user class starting with iPXE is not iPXE");
	}

	s = (spec_t){ .arch = efi, .arch_len = 2, .ipxe = e_http_efi, .ipxe_len = sizeof(e_http_efi) };
	select_for(&s, 0, &b);
	is_int(b.method, RD_BOOT_IPXE, "175.19 + 175.36 -> ipxe");

	s = (spec_t){ .arch = efi, .arch_len = 2, .ipxe = e_http_bz, .ipxe_len = sizeof(e_http_bz) };
	select_for(&s, 0, &b);
	is_int(b.method, RD_BOOT_IPXE, "175.19 + 175.24 -> ipxe");

	s = (spec_t){ .arch = efi, .arch_len = 2, .ipxe = e_http_only, .ipxe_len = sizeof(e_http_only) };
	select_for(&s, 0, &b);
	is_int(b.method, RD_BOOT_UEFI_AMD64_TFTP, "175.19 without 24/36 is not ipxe");

	s = (spec_t){ .arch = efi, .arch_len = 2, .ipxe = e_efi_only, .ipxe_len = sizeof(e_efi_only) };
	select_for(&s, 0, &b);
	is_int(b.method, RD_BOOT_UEFI_AMD64_TFTP, "175.36 + 175.24 without 19 is not ipxe");

	s = (spec_t){ .arch = efi, .arch_len = 2, .ipxe = e_broken, .ipxe_len = sizeof(e_broken) };
	select_for(&s, 0, &b);
	is_int(b.method, RD_BOOT_UEFI_AMD64_TFTP, "malformed 175 counts as absent");

	/* ipxe disabled: the iPXE client falls to its arch row. */
	s = (spec_t){ .arch = efi, .arch_len = 2, .uc = "iPXE", .uc_len = 4 };
	select_for(&s, RD_BOOT_BIT(RD_BOOT_IPXE), &b);
	is_int(b.method, RD_BOOT_UEFI_AMD64_TFTP, "ipxe disabled -> next matching row");
}

/* Row 2: ONIE. */
static void test_onie(void)
{
	static const char url[] = BASE "MAAS/a/v3/nos-installer";
	static const uint8_t rfc3004[] = { 20, 'o', 'n', 'i', 'e', '_', 'd', 'h', 'c', 'p', '_',
					   'u', 's', 'e', 'r', '_', 'c', 'l', 'a', 's', 's' };
	uint8_t want[128];
	size_t wl = 0, ul = strlen(url), len;
	rd_boot_reply_t b;
	spec_t s;

	want[wl++] = 0x00;
	want[wl++] = 0x00;
	want[wl++] = 0xA6;      /* 42623 = 0x0000A67F */
	want[wl++] = 0x7F;
	want[wl++] = (uint8_t)(ul + 2);
	want[wl++] = 1;
	want[wl++] = (uint8_t)ul;
	memcpy(want + wl, url, ul);
	wl += ul;
	memcpy(want + wl, "\0\0\0\0\3\1\1\1", 8);
	wl += 8;

	s = (spec_t){ .uc = "onie_dhcp_user_class", .uc_len = 20,
		      .vc = "onie_vendor:x86_64-accton_as7712_32x-r0" };
	select_for(&s, 0, &b);
	is_int(b.method, RD_BOOT_ONIE, "77 onie_dhcp_user_class -> onie");
	is_str(b.file, "", "onie: no filename");
	is_str(b.path_prefix, "", "onie: no path-prefix");
	is_int(b.next_server, RACK, "onie: next-server is still R (subnet-level)");
	is_mem(b.vivso, b.vivso_len, want, wl, "onie: option 125 = 42623/installer_url + iana workaround");
	if (round_trip(&b)) {
		const uint8_t *v = rd_dhcp_get(&M2, RD_OPT_VIVSO, &len);

		ok(v != NULL, "onie: wire option 125 present");
		if (v)
			is_mem(v, len, want, wl, "onie: wire option 125 value");
		is_str(file_str(&M2), "", "onie: wire file field empty");
	}

	s = (spec_t){ .uc = rfc3004, .uc_len = sizeof(rfc3004) };
	select_for(&s, 0, &b);
	is_int(b.method, RD_BOOT_ONIE, "onie user class in RFC 3004 form -> onie");

	s = (spec_t){ .uc = "onie_dhcp_user_class", .uc_len = 20 };
	select_for(&s, RD_BOOT_BIT(RD_BOOT_ONIE), &b);
	is_int(b.method, RD_BOOT_PXE, "onie disabled -> default pxe");
	ok(b.fallback && b.vivso_len == 0, "onie disabled: else branch, no 125");
}

/* The else branch, multi-value 93, disabled methods, no rack IP. */
static void test_default_and_disabled(void)
{
	static const uint8_t multi[] = { 0x00, 0x07, 0x00, 0x10 };
	static const uint8_t efi[] = { 0x00, 0x07 };
	static const uint8_t bios[] = { 0x00, 0x00 };
	static const uint8_t unknown[] = { 0x00, 0x0A };   /* ARM 32-bit UEFI: no row */
	rd_boot_request_t r;
	rd_boot_params_t p;
	rd_boot_reply_t b;
	spec_t s;

	s = (spec_t){ .prl = PRL_PXE, .prl_len = sizeof(PRL_PXE) };
	select_for(&s, 0, &b);
	is_int(b.method, RD_BOOT_PXE, "no option 93 -> default pxe");
	ok(b.fallback, "no option 93: else branch");
	is_str(b.file, "lpxelinux.0", "default: lpxelinux.0");
	is_str(b.path_prefix, BASE, "default: path-prefix http://R:5248/");
	ok(b.path_prefix_force && b.send_path_prefix, "default: 210 forced");
	if (round_trip(&b)) {
		is_str(file_str(&M2), "lpxelinux.0", "default: wire file field");
		is_int(M2.siaddr, RACK, "default: wire siaddr");
		is_str(opt_str(&M2, RD_OPT_PATH_PREFIX), BASE,
		       "default: wire 210 present although not requested");
		is_str(opt_str(&M2, RD_OPT_BOOTFILE), "<absent>",
		       "default: no option 67 although requested (ISC)");
		is_str(opt_str(&M2, RD_OPT_VENDOR_CLASS), "<absent>", "default: no 60");
	}

	/* Forced 210 with and without a client PRL (`if exists dhcp-parameter-request-list`). */
	{
		uint8_t out[32];
		static const uint8_t prl[] = { 1, 3 };

		is_int(rd_boot_prl(&b, prl, sizeof(prl), out, sizeof(out)), 3, "extended PRL adds 210");
		is_int(out[2], 210, "extended PRL ends with 210");
		is_int(rd_boot_prl(&b, PRL_210, sizeof(PRL_210), out, sizeof(out)), 4,
		       "210 already requested: not added twice");
		is_int(rd_boot_prl(&b, prl, sizeof(prl), out, 2), RD_ENOSPACE, "PRL overflow refused");
		is_int(rd_boot_prl(&b, NULL, 0, out, sizeof(out)), 0, "no client PRL: nothing forced");
	}
	s = (spec_t){ 0 };
	select_for(&s, 0, &b);
	ok(b.method == RD_BOOT_PXE && !b.send_path_prefix,
	   "client without PRL: 210 not sent (ISC sends only the default list)");

	/* powernv's 210 is not forced: sent only when requested. */
	{
		static const uint8_t pnv[] = { 0x00, 0x0E };

		s = (spec_t){ .arch = pnv, .arch_len = 2, .prl = PRL_PXE, .prl_len = sizeof(PRL_PXE) };
		select_for(&s, 0, &b);
		ok(b.method == RD_BOOT_POWERNV && !b.send_path_prefix && !b.path_prefix_force,
		   "powernv: unrequested 210 not sent");
		if (round_trip(&b))
			is_str(opt_str(&M2, RD_OPT_PATH_PREFIX), "<absent>", "powernv: wire no 210");
	}

	s = (spec_t){ .arch = multi, .arch_len = sizeof(multi) };
	select_for(&s, 0, &b);
	is_int(b.method, RD_BOOT_PXE, "93 = [0x0007, 0x0010] -> whole-value compare fails -> default pxe");
	ok(b.fallback, "multi-arch: else branch");
	make_request(&s, &r);
	ok(r.has_arch && r.arch_count == 2 && r.arch[0] == 7 && r.arch[1] == 0x10,
	   "multi-arch: both values extracted");

	s = (spec_t){ .arch = unknown, .arch_len = 2 };
	select_for(&s, 0, &b);
	ok(b.method == RD_BOOT_PXE && b.fallback, "arch 0x000a (no row) -> default pxe");

	s = (spec_t){ .arch = efi, .arch_len = 2 };
	select_for(&s, RD_BOOT_BIT(RD_BOOT_UEFI_AMD64_TFTP), &b);
	ok(b.method == RD_BOOT_PXE && b.fallback,
	   "uefi_amd64_tftp disabled: arch 7 falls to the else branch (pxe)");

	select_for(&s, RD_BOOT_BIT(RD_BOOT_UEFI_AMD64_TFTP) | RD_BOOT_BIT(RD_BOOT_PXE), &b);
	is_int(b.method, RD_BOOT_NONE, "uefi_amd64_tftp and pxe disabled -> no boot parameters");
	is_int(b.next_server, RACK, "no boot parameters: next-server still R");

	s = (spec_t){ .arch = bios, .arch_len = 2, .prl = PRL_PXE, .prl_len = sizeof(PRL_PXE) };
	select_for(&s, RD_BOOT_BIT(RD_BOOT_PXE), &b);
	is_int(b.method, RD_BOOT_NONE, "pxe disabled: arch 0 gets nothing (row and else gone)");
	is_str(b.file, "", "pxe disabled: no filename");
	if (round_trip(&b)) {
		is_str(file_str(&M2), "", "pxe disabled: wire file field empty");
		is_int(M2.siaddr, RACK, "pxe disabled: wire siaddr still R");
		is_str(opt_str(&M2, RD_OPT_PATH_PREFIX), "<absent>", "pxe disabled: no 210");
	}

	s = (spec_t){ 0 };
	select_for(&s, RD_BOOT_BIT(RD_BOOT_PXE), &b);
	is_int(b.method, RD_BOOT_NONE, "pxe disabled removes the default");

	/* windows is never in the chain; disabling it changes nothing. */
	s = (spec_t){ .arch = efi, .arch_len = 2 };
	select_for(&s, RD_BOOT_BIT(RD_BOOT_WINDOWS), &b);
	is_int(b.method, RD_BOOT_UEFI_AMD64_TFTP, "windows disabled: no effect");

	/* No rack IP: MAAS renders no next-server and no chain. */
	make_request(&s, &r);
	rd_boot_params_init(&p);
	is_int(rd_boot_select(&r, &p, &b), 0, "no rack IP: select ok");
	ok(b.method == RD_BOOT_NONE && b.next_server == 0, "no rack IP: nothing");
	rd_dhcp_builder_init(&RB);
	RB.siaddr = 0x0A000001u;
	is_int(rd_boot_apply(&b, &RB), 0, "apply NONE ok");
	ok(RB.siaddr == 0x0A000001u && RB.file[0] == 0, "apply NONE without R leaves the builder alone");

	/* Another port. */
	params(&p, 0);
	p.http_port = 8080;
	s = (spec_t){ 0 };
	make_request(&s, &r);
	rd_boot_select(&r, &p, &b);
	is_str(b.path_prefix, "http://192.0.2.2:8080/", "http_port is used in URLs");

	is_int(rd_boot_select(NULL, &p, &b), RD_EINVAL, "NULL request refused");
	is_int(rd_boot_apply(NULL, &RB), RD_EINVAL, "NULL decision refused");
}

/* Vendor class handling: PXE lease class, HTTPClient from a client. */
static void test_vendor_class(void)
{
	static const uint8_t bios[] = { 0x00, 0x00 };
	static const uint8_t http[] = { 0x00, 0x10 };
	rd_boot_reply_t b;
	spec_t s;

	s = (spec_t){ .arch = bios, .arch_len = 2, .vc = "PXEClient:Arch:00000:UNDI:002001" };
	select_for(&s, 0, &b);
	ok(b.pxe_client, "PXEClient:Arch:00000:UNDI:002001 is a PXE client");

	s = (spec_t){ .vc = "PXE" };
	select_for(&s, 0, &b);
	ok(b.pxe_client, "\"PXE\" prefix is enough (§1.2 class match)");

	s = (spec_t){ .vc = "pxeclient" };
	select_for(&s, 0, &b);
	ok(!b.pxe_client, "prefix compare is case-sensitive");

	s = (spec_t){ .vc = "MSFT 5.0" };
	select_for(&s, 0, &b);
	ok(!b.pxe_client, "MSFT 5.0 is not a PXE client");

	s = (spec_t){ 0 };
	select_for(&s, RD_BOOT_BIT(RD_BOOT_PXE), &b);
	ok(!b.pxe_client, "no option 60: not a PXE client");

	s = (spec_t){ .vc = "PXEClient" };
	select_for(&s, RD_BOOT_BIT(RD_BOOT_PXE), &b);
	ok(b.pxe_client && b.method == RD_BOOT_NONE, "pxe_client set even without boot parameters");

	/* UEFI HTTP boot client (edk2), arch 16. */
	s = (spec_t){ .arch = http, .arch_len = 2, .vc = "HTTPClient:Arch:00016:UNDI:003001",
		      .prl = PRL_PXE, .prl_len = sizeof(PRL_PXE) };
	select_for(&s, 0, &b);
	is_int(b.method, RD_BOOT_UEFI_AMD64_HTTP, "HTTPClient arch 16 -> uefi_amd64_http");
	ok(!b.pxe_client, "HTTPClient is not in the PXE lease class");
	is_str(b.vendor_class_reply ? b.vendor_class_reply : "", "HTTPClient",
	       "reply vendor class HTTPClient");
	if (round_trip(&b)) {
		is_str(opt_str(&M2, RD_OPT_VENDOR_CLASS), "HTTPClient", "wire option 60 = HTTPClient");
		is_str(file_str(&M2), BASE "images/bootx64.efi", "wire file = HTTP URL");
		is_int(M2.siaddr, RACK, "HTTP method: next-server still R");
		is_str(opt_str(&M2, RD_OPT_BOOTFILE), "<absent>",
		       "no option 67 although requested (ISC)");
	}
}

int main(void)
{
	plan_lazy();
	test_names();
	test_arch_rows();
	test_ipxe();
	test_onie();
	test_default_and_disabled();
	test_vendor_class();
	return done_testing();
}
