/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * boot.c — the MAAS network-boot chain (maas-integration.md §1.7): which
 * filename, next-server, path-prefix and vendor class a request gets.
 *
 * The chain is a table walked in MAAS's boot-method registry order; each row
 * holds the match (a user class or a single option-93 value) and what the
 * generated ISC branch sets.  Rows are data rather than code so that the
 * table can be read side by side with the doc and with MAAS's
 * compose_conditional_bootloader().  See boot.h for the ISC comparison
 * semantics we reproduce (whole-value option compares, forced PRL entries).
 */
#include <stdio.h>
#include <string.h>

#include "rackdhcp/boot.h"
#include "rackdhcp/fmt.h"

static const char *const method_names[RD_BOOT_METHOD_COUNT] = {
	[RD_BOOT_NONE] = "none",
	[RD_BOOT_IPXE] = "ipxe",
	[RD_BOOT_ONIE] = "onie",
	[RD_BOOT_PXE] = "pxe",
	[RD_BOOT_UEFI_AMD64_TFTP] = "uefi_amd64_tftp",
	[RD_BOOT_UEFI_AMD64_HTTP] = "uefi_amd64_http",
	[RD_BOOT_UEFI_EBC_TFTP] = "uefi_ebc_tftp",
	[RD_BOOT_UEFI_ARM64_TFTP] = "uefi_arm64_tftp",
	[RD_BOOT_UEFI_ARM64_HTTP] = "uefi_arm64_http",
	[RD_BOOT_OFW_PPC64EL] = "open-firmware_ppc64el",
	[RD_BOOT_POWERNV] = "powernv",
	[RD_BOOT_S390X] = "s390x",
	[RD_BOOT_S390X_PARTITION] = "s390x_partition",
	[RD_BOOT_WINDOWS] = "windows",
};

const char *rd_boot_method_name(enum rd_boot_method m)
{
	if ((unsigned)m >= RD_BOOT_METHOD_COUNT)
		return "unknown";
	return method_names[m];
}

int rd_boot_method_from_name(const char *name)
{
	if (!name)
		return RD_EINVAL;
	/* "none" is our word, not MAAS's: it is not a method one can disable. */
	for (int m = RD_BOOT_NONE + 1; m < RD_BOOT_METHOD_COUNT; m++)
		if (strcmp(name, method_names[m]) == 0)
			return m;
	return RD_EINVAL;
}

void rd_boot_params_init(rd_boot_params_t *p)
{
	memset(p, 0, sizeof(*p));
	p->http_port = RD_BOOT_HTTP_PORT;
}

/* ------------------------------------------------------------------ request */

static void copy_class(const uint8_t *v, size_t len, bool *has, uint16_t *out_len,
		       uint8_t *out)
{
	*has = true;
	/* A joined option is at most RD_DHCP_OPTBUF_LEN (9000) bytes. */
	*out_len = (uint16_t)(len > UINT16_MAX ? UINT16_MAX : len);
	memcpy(out, v, len < RD_BOOT_CLASS_MAX ? len : RD_BOOT_CLASS_MAX);
}

/*
 * Option 175 is iPXE's encapsulated space: ordinary code/length/value
 * sub-options (0 is padding, 255 ends the list).  One that overruns its
 * value makes the whole 175 unusable: we then report it absent rather than
 * trust half of it, so a broken 175 falls through to the arch rows.
 */
static void parse_ipxe(rd_boot_request_t *r, const uint8_t *v, size_t len)
{
	uint8_t seen[32] = { 0 };
	size_t i = 0;

	while (i < len) {
		uint8_t code = v[i];

		if (code == 0) {
			i++;
			continue;
		}
		if (code == 255)
			break;
		if (len - i < 2 || (size_t)v[i + 1] > len - i - 2)
			return;
		seen[code >> 3] |= (uint8_t)(1u << (code & 7));
		i += 2 + (size_t)v[i + 1];
	}
	r->has_ipxe = true;
	memcpy(r->ipxe_sub, seen, sizeof(seen));
}

void rd_boot_request_from(rd_boot_request_t *r, const rd_dhcp_t *m)
{
	const uint8_t *v;
	size_t len;

	memset(r, 0, sizeof(*r));
	if (!m)
		return;

	v = rd_dhcp_get(m, RD_OPT_CLIENT_ARCH, &len);
	if (v) {
		r->has_arch = true;
		/*
		 * An odd length (the parser already refuses it) keeps count 0,
		 * which no arch row matches: ISC's whole-value compare would
		 * not match it either.
		 */
		if (len % 2 == 0) {
			size_t n = len / 2;

			r->arch_count = (uint16_t)(n > UINT16_MAX ? UINT16_MAX : n);
			for (size_t i = 0; i < n && i < RD_BOOT_MAX_ARCH; i++)
				r->arch[i] = (uint16_t)(v[2 * i] << 8 | v[2 * i + 1]);
		}
	}

	v = rd_dhcp_get(m, RD_OPT_USER_CLASS, &len);
	if (v)
		copy_class(v, len, &r->has_user_class, &r->user_class_len, r->user_class);

	v = rd_dhcp_get(m, RD_OPT_VENDOR_CLASS, &len);
	if (v)
		copy_class(v, len, &r->has_vendor_class, &r->vendor_class_len,
			   r->vendor_class);

	v = rd_dhcp_get(m, 175, &len);
	if (v)
		parse_ipxe(r, v, len);

	v = rd_dhcp_get(m, RD_OPT_PARAM_REQUEST, &len);
	if (v) {
		r->has_prl = true;
		for (size_t i = 0; i < len; i++) {
			if (v[i] == RD_OPT_PATH_PREFIX)
				r->prl_path_prefix = true;
		}
	}
}

/* ------------------------------------------------------------------ matching */

/*
 * ISC `option user-class = "iPXE"` compares the raw value.  iPXE and ONIE
 * send the bare string (pre-RFC 3004 style); a strict RFC 3004 client sends
 * one length-prefixed instance.  Both mean the same class, so both match.
 */
static bool user_class_is(const rd_boot_request_t *r, const char *name)
{
	size_t n = strlen(name);
	size_t len = r->user_class_len;

	if (!r->has_user_class || len > RD_BOOT_CLASS_MAX)
		return false;
	if (len == n && memcmp(r->user_class, name, n) == 0)
		return true;
	return len == n + 1 && r->user_class[0] == n &&
	       memcmp(r->user_class + 1, name, n) == 0;
}

static bool ipxe_sub(const rd_boot_request_t *r, uint8_t code)
{
	return r->has_ipxe && ((r->ipxe_sub[code >> 3] >> (code & 7)) & 1);
}

/*
 * `option arch = 00:07` in ISC compares the whole option value with the two
 * bytes, so only a one-value option 93 can match an arch row; a list of
 * architectures matches none and lands in the `else` (pxe) branch.
 */
static bool single_arch(const rd_boot_request_t *r, uint16_t *arch)
{
	if (!r->has_arch || r->arch_count != 1)
		return false;
	*arch = r->arch[0];
	return true;
}

/* How a row builds the URL it needs (§1.7 "URL rules per method"). */
enum url_kind {
	URL_NONE,       /* file is the plain bootloader name (TFTP relative) */
	URL_HTTP,       /* file = http://R:P/<name> (absolute_url_as_filename) */
	URL_IMAGES,     /* file = http://R:P/images/<name> (http_url) */
};

typedef struct {
	enum rd_boot_method method;
	const char *user_class;    /* match on option 77, or NULL */
	int arch;                  /* match on option 93, or -1 */
	const char *file;          /* bootloader name, NULL = no filename */
	enum url_kind url;
	const char *prefix;        /* static option 210 value, or NULL */
	bool prefix_http;          /* 210 = http://R:P/ (path_prefix_http) */
	bool prefix_force;         /* add 210 to the client's PRL */
	bool http_client;          /* reply option 60 "HTTPClient" */
} row_t;

/*
 * The §1.7 table, in chain order.  The `else` branch reuses the pxe row.
 * Row numbers in comments are the doc's.
 */
static const row_t chain[] = {
	/* 1: user-class "iPXE" or (175.19 and (175.24 or 175.36)), see select */
	{ RD_BOOT_IPXE, "iPXE", -1, "ipxe.cfg", URL_HTTP, NULL, false, false, false },
	/* 2: ONIE (3.8+): no filename, installer URL in option 125 */
	{ RD_BOOT_ONIE, "onie_dhcp_user_class", -1, NULL, URL_NONE, NULL, false, false, false },
	/* 3: x86 BIOS: lpxelinux over TFTP, then HTTP via the forced 210 */
	{ RD_BOOT_PXE, NULL, 0x0000, "lpxelinux.0", URL_NONE, NULL, true, true, false },
	/* 4 */
	{ RD_BOOT_UEFI_AMD64_TFTP, NULL, 0x0007, "bootx64.efi", URL_NONE, NULL, false, false, false },
	/* 5: UEFI HTTP boot needs "HTTPClient" echoed in option 60 */
	{ RD_BOOT_UEFI_AMD64_HTTP, NULL, 0x0010, "bootx64.efi", URL_IMAGES, NULL, false, false, true },
	/* 6 */
	{ RD_BOOT_UEFI_EBC_TFTP, NULL, 0x0009, "bootx64.efi", URL_NONE, NULL, false, false, false },
	/* 7 */
	{ RD_BOOT_UEFI_ARM64_TFTP, NULL, 0x000B, "bootaa64.efi", URL_NONE, NULL, false, false, false },
	/* 8 */
	{ RD_BOOT_UEFI_ARM64_HTTP, NULL, 0x0013, "bootaa64.efi", URL_IMAGES, NULL, false, false, true },
	/* 9 */
	{ RD_BOOT_OFW_PPC64EL, NULL, 0x000C, "bootppc64.bin", URL_NONE, NULL, false, false, false },
	/* 10: petitboot emulates pxelinux under the ppc64el/ prefix (not forced) */
	{ RD_BOOT_POWERNV, NULL, 0x000E, "pxelinux.0", URL_NONE, "ppc64el/", false, false, false },
	/* 11 */
	{ RD_BOOT_S390X, NULL, 0x001F, "boots390x.bin", URL_NONE, "s390x/", false, false, false },
	/* 12 */
	{ RD_BOOT_S390X_PARTITION, NULL, 0x0020, "s390x_partition/maas", URL_NONE, NULL, false, false, false },
};

static bool row_matches(const row_t *w, const rd_boot_request_t *r)
{
	uint16_t arch;

	if (w->user_class) {
		if (user_class_is(r, w->user_class))
			return true;
		/* Row 1's second alternative: iPXE feature flags in 175. */
		return w->method == RD_BOOT_IPXE && ipxe_sub(r, 19) &&
		       (ipxe_sub(r, 24) || ipxe_sub(r, 36));
	}
	return w->arch >= 0 && single_arch(r, &arch) && arch == (uint16_t)w->arch;
}

static const row_t *find_row(enum rd_boot_method m)
{
	for (size_t i = 0; i < sizeof(chain) / sizeof(chain[0]); i++)
		if (chain[i].method == m)
			return &chain[i];
	return NULL;
}

/* ------------------------------------------------------------------ select */

static bool starts_with(const uint8_t *v, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(v, prefix, n) == 0;
}

/* "http://a.b.c.d:port/" into out (always fits RD_BOOT_PREFIX_MAX). */
static void http_base(char *out, size_t cap, uint32_t ip, uint16_t port)
{
	rd_sb_t b;
	rd_sb_init(&b, out, cap);
	rd_sb_str(&b, "http://");
	rd_sb_ip(&b, ip);
	rd_sb_mem(&b, ":", 1);
	rd_sb_u(&b, port);
	rd_sb_mem(&b, "/", 1);
}

/* a then b (then c) into out; false if it does not fit. */
static bool concat3(char *out, size_t cap, const char *a, const char *b, const char *c)
{
	rd_sb_t sb;
	rd_sb_init(&sb, out, cap);
	rd_sb_str(&sb, a);
	rd_sb_str(&sb, b);
	if (c)
		rd_sb_str(&sb, c);
	return !sb.trunc;
}

/*
 * ONIE option 125 (RFC 3925), as MAAS's ISC config emits it:
 *   enterprise 42623, sub-option 1 (installer_url) = http://R:P/MAAS/a/v3/nos-installer
 *   enterprise 0 (vivso.iana) = 01:01:01 — the ONIE-documented ISC workaround
 *     ("Required to use VIVSO"); harmless to clients, kept for byte parity.
 * ISC's order of the two entries is not verified; ONIE looks up its own
 * enterprise, so order does not change what the client sees.
 */
static int onie_vivso(rd_boot_reply_t *out, const char *base)
{
	static const uint8_t iana[] = { 0, 0, 0, 0, 3, 1, 1, 1 };
	char url[RD_BOOT_PREFIX_MAX + 32];
	int n = snprintf(url, sizeof(url), "%sMAAS/a/v3/nos-installer", base);
	size_t ulen = (size_t)n;
	size_t need = 5 + 2 + ulen + 5 + 3;
	uint8_t *p = out->vivso;

	if (n < 0 || ulen >= sizeof(url) || ulen > 253 || need > sizeof(out->vivso))
		return RD_ETOOBIG;
	*p++ = (uint8_t)(RD_BOOT_ONIE_ENTERPRISE >> 24);
	*p++ = (uint8_t)(RD_BOOT_ONIE_ENTERPRISE >> 16);
	*p++ = (uint8_t)(RD_BOOT_ONIE_ENTERPRISE >> 8);
	*p++ = (uint8_t)RD_BOOT_ONIE_ENTERPRISE;
	*p++ = (uint8_t)(2 + ulen);
	*p++ = 1;                       /* onie.installer_url */
	*p++ = (uint8_t)ulen;
	memcpy(p, url, ulen);
	p += ulen;
	memcpy(p, iana, sizeof(iana));
	p += sizeof(iana);
	out->vivso_len = (uint8_t)(p - out->vivso);
	return 0;
}

/* Fill out from row w (the §1.7 URL rules). */
static int apply_row(const row_t *w, const rd_boot_request_t *r, const char *base,
		     rd_boot_reply_t *out)
{
	bool fits = true;

	out->method = w->method;
	if (w->file) {
		switch (w->url) {
		case URL_HTTP:
			fits = concat3(out->file, sizeof(out->file), base, w->file, NULL);
			break;
		case URL_IMAGES:
			fits = concat3(out->file, sizeof(out->file), base, "images/", w->file);
			break;
		case URL_NONE:
			fits = concat3(out->file, sizeof(out->file), "", w->file, NULL);
			break;
		}
		if (!fits)
			return RD_ETOOBIG;
	}
	if (w->prefix_http)
		concat3(out->path_prefix, sizeof(out->path_prefix), "", base, NULL);
	else if (w->prefix)
		concat3(out->path_prefix, sizeof(out->path_prefix), "", w->prefix, NULL);
	out->path_prefix_force = w->prefix_force;
	/*
	 * With a PRL, ISC sends only requested options; MAAS forces 210 for pxe
	 * by appending it to the PRL, and only `if exists
	 * dhcp-parameter-request-list`.
	 */
	if (out->path_prefix[0])
		out->send_path_prefix = r->prl_path_prefix ||
					(w->prefix_force && r->has_prl);
	/* No option 67: ISC 4.4.3 as MAAS configures it puts the filename in the
	 * file field only, even for clients whose PRL asks for 67 (seen live in
	 * tests/sys/isc_diff.sh). */
	if (w->http_client)
		out->vendor_class_reply = "HTTPClient";
	if (w->method == RD_BOOT_ONIE)
		return onie_vivso(out, base);
	return 0;
}

int rd_boot_select(const rd_boot_request_t *r, const rd_boot_params_t *p,
		   rd_boot_reply_t *out)
{
	char base[RD_BOOT_PREFIX_MAX];

	if (!r || !p || !out)
		return RD_EINVAL;
	memset(out, 0, sizeof(*out));

	/* §1.2: class "PXE" = vendor-class-identifier starting with "PXE" (30 s leases). */
	out->pxe_client = r->has_vendor_class &&
			  starts_with(r->vendor_class,
				      r->vendor_class_len < RD_BOOT_CLASS_MAX ?
				      r->vendor_class_len : RD_BOOT_CLASS_MAX,
				      "PXE");

	/* No rack IP for the subnet: MAAS renders neither next-server nor the chain. */
	if (p->rack_ip == 0)
		return 0;
	out->next_server = p->rack_ip;
	http_base(base, sizeof(base), p->rack_ip,
		  p->http_port ? p->http_port : RD_BOOT_HTTP_PORT);

	for (size_t i = 0; i < sizeof(chain) / sizeof(chain[0]); i++) {
		const row_t *w = &chain[i];

		if (p->disabled & RD_BOOT_BIT(w->method))
			continue;
		if (row_matches(w, r))
			return apply_row(w, r, base, out);
	}

	/* `else` branch: pxe, dropped when pxe is disabled. */
	if (p->disabled & RD_BOOT_BIT(RD_BOOT_PXE))
		return 0;
	out->fallback = true;
	return apply_row(find_row(RD_BOOT_PXE), r, base, out);
}

/* ------------------------------------------------------------------ apply */

int rd_boot_apply(const rd_boot_reply_t *b, rd_dhcp_builder_t *reply)
{
	int rc;

	if (!b || !reply)
		return RD_EINVAL;
	if (b->next_server)
		reply->siaddr = b->next_server;
	if (b->method == RD_BOOT_NONE)
		return 0;
	if (b->file[0]) {
		rc = rd_dhcp_builder_set_file(reply, b->file);
		if (rc < 0)
			return rc;
	}
	if (b->send_path_prefix && b->path_prefix[0]) {
		rc = rd_dhcp_builder_set(reply, RD_OPT_PATH_PREFIX, b->path_prefix,
					 strlen(b->path_prefix), 0);
		if (rc < 0)
			return rc;
	}
	if (b->vendor_class_reply) {
		rc = rd_dhcp_builder_set(reply, RD_OPT_VENDOR_CLASS, b->vendor_class_reply,
					 strlen(b->vendor_class_reply), 0);
		if (rc < 0)
			return rc;
	}
	if (b->vivso_len) {
		rc = rd_dhcp_builder_set(reply, RD_OPT_VIVSO, b->vivso, b->vivso_len, 0);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int rd_boot_prl(const rd_boot_reply_t *b, const uint8_t *prl, size_t prl_len,
		uint8_t *out, size_t cap)
{
	bool add210;

	if (!b || (prl_len && !prl) || (cap && !out))
		return RD_EINVAL;
	if (!prl || prl_len == 0)
		return 0;
	add210 = b->method != RD_BOOT_NONE && b->path_prefix_force && b->send_path_prefix &&
		 !memchr(prl, RD_OPT_PATH_PREFIX, prl_len);
	if (prl_len + add210 > cap || prl_len + add210 > INT32_MAX)
		return RD_ENOSPACE;
	memcpy(out, prl, prl_len);
	if (add210)
		out[prl_len] = RD_OPT_PATH_PREFIX;
	return (int)(prl_len + add210);
}
