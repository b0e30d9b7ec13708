/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * region.h — region sync: this rack's DHCP configuration rebuilt from the
 * MAAS region's public REST API 2.0 (maas-integration.md §2.6), as rackdhcpd
 * YAML, so the one configuration loader (rd_config_parse) validates region
 * data with exactly the rules of a local file.
 *
 * Two halves:
 *
 *  - the client (dhcpd/region.c): libcurl GETs with the OAuth 1.0 PLAINTEXT
 *    header MAAS accepts, a connect timeout and a total timeout per request,
 *    a response size cap, TLS verification always on, no redirect to another
 *    origin, and failover over several region URLs (the first healthy one is
 *    used; a transport error or a 5xx moves to the next, and the first is
 *    tried again after a while).  rd_region_pull() fetches every document
 *    the view needs and returns the rendered YAML.
 *
 *  - the view (dhcpd/region_view.c): pure functions from decoded JSON
 *    documents to the rack's DHCP view and its YAML text, and a diff of two
 *    configurations in human terms for the log.  No I/O except through the
 *    optional name resolver the caller passes.
 *
 * Errors: 0 or a negative RD_E* / -errno code, and one message naming the
 * URL or endpoint and the field, e.g.
 *   "http://10.0.0.5:5240/MAAS/api/2.0/subnets/: [3].vlan.id: expected an integer, found a string".
 *
 * Threading: a client is used by one thread at a time (the region-sync
 * thread); the view functions touch no global state.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "rackdhcp/config.h"

/*! Defaults for rd_region_opts_t fields left 0. */
#define RD_REGION_DEFAULT_CONNECT_TIMEOUT_MS 5000
#define RD_REGION_DEFAULT_TIMEOUT_MS         30000
/*! 16 MiB: `ipaddresses/?all=true` of a region with tens of thousands of machines fits. */
#define RD_REGION_DEFAULT_MAX_RESPONSE       (16u << 20)
/*! After a switch away from the first URL, try it again this long after. */
#define RD_REGION_DEFAULT_PREFER_FIRST_MS    300000
/*! Key files are a single line; anything longer is not a MAAS key. */
#define RD_REGION_MAX_KEY_FILE               4096

typedef struct rd_region_client rd_region_client_t;

typedef struct {
	const char *const *urls;    /*!< region base URLs, e.g. "http://10.0.0.5:5240/MAAS" (API under /api/2.0/) */
	size_t n_urls;              /*!< >= 1 */
	const char *api_key_file;   /*!< "consumer:token:secret"; must not be accessible to group or others */
	const char *ca_file;        /*!< PEM bundle for https; NULL: the system store */
	long connect_timeout_ms;    /*!< 0: default */
	long timeout_ms;            /*!< whole request; 0: default */
	size_t max_response;        /*!< body size cap in bytes; 0: default */
	long prefer_first_ms;       /*!< 0: default; < 0: never go back on our own */
} rd_region_opts_t;

/*!
 * Create a client: reads and checks the API key file now (so a daemon can do
 * it before dropping privileges) and prepares one libcurl handle whose
 * connections are reused between requests.
 * \retval 0, RD_EINVAL (bad options), RD_EMALFORMED (key file malformed or
 *         too open: the message names the file and its mode), -errno
 *         (key file unreadable), RD_ENOMEM
 */
int rd_region_client_new(const rd_region_opts_t *opts, rd_region_client_t **out, char *err, size_t errlen);

/*! Same, from a parsed `region` section (default timeouts and cap, system CA store). */
int rd_region_client_from_config(const rd_cfg_region_t *r, rd_region_client_t **out, char *err, size_t errlen);

void rd_region_client_free(rd_region_client_t *c);

/*!
 * Requests stop as soon as *flag is true (checked by libcurl about once a
 * second and on every chunk received): a daemon shutting down never waits
 * for a slow region.  An aborted request fails with -EIO.  NULL: none.
 */
void rd_region_set_abort(rd_region_client_t *c, const atomic_bool *flag);

/*! The base URL requests go to now (the last one that answered, or the first). */
const char *rd_region_current_url(const rd_region_client_t *c);

/*!
 * GET <current base>/api/2.0/<path> ("subnets/", "maas/?op=get_config&name=x";
 * a leading '/' is ignored) and return the body, NUL-terminated (*len
 * excludes the NUL), in a malloc'ed buffer the caller frees.
 * On a connection error, a timeout, a truncated body or a 5xx the next URL is
 * tried (each switch is logged), so one call costs at most n_urls attempts.
 * \retval 0 HTTP 200
 * \retval -ENOENT 404 (e.g. reservedips/ before MAAS 3.6)
 * \retval -EACCES 401/403 (the key is refused; the region's reason is quoted)
 * \retval RD_ETOOBIG the body is larger than max_response
 * \retval -EPROTO another status, or a redirect to another origin
 * \retval -EIO every URL failed (the message lists why, URL by URL)
 * \retval RD_ENOMEM
 */
int rd_region_fetch(rd_region_client_t *c, const char *path, char **body, size_t *len, char *err, size_t errlen);

/*! Host name lookup for NTP servers given by name (ntp_external_only). */
typedef size_t (*rd_region_resolve_fn)(void *arg, const char *name, uint32_t *addrs, size_t max);

/*!
 * Fetch every document of §2.6 (rackcontrollers/<system_id>/ and each failover
 * peer's, fabrics/, subnets/, ipranges/, ipaddresses/?all=true, reservedips/,
 * domains/, regioncontrollers/, dhcp-snippets/, maas/?op=get_config for
 * ntp_servers, ntp_external_only and use_rack_proxy), build the view and
 * render it with the server and region sections of base (may be NULL).
 * Host names among external NTP servers are resolved with getaddrinfo.
 * Warnings (a VLAN this rack cannot serve, a duplicate host, snippets that
 * are not applied) are logged.  The YAML is NOT validated: pass it to
 * rd_region_view_parse().
 * \retval 0 *yaml (malloc'ed, NUL-terminated) and *len; else as rd_region_fetch
 *         or RD_EMALFORMED (a document is not what MAAS sends: the message
 *         names the URL and the field)
 */
int rd_region_pull(rd_region_client_t *c, const char *system_id, const rd_config_t *base, char **yaml,
		   size_t *len, char *err, size_t errlen);

/* ------------------------------------------------------------------ view */

/*! The documents of §2.6, decoded (jansson). */
enum rd_region_doc {
	RD_RDOC_RACK = 0,           /*!< rackcontrollers/<system_id>/ (required) */
	RD_RDOC_FABRICS,            /*!< fabrics/ (required) */
	RD_RDOC_SUBNETS,            /*!< subnets/ (required) */
	RD_RDOC_IPRANGES,           /*!< ipranges/ (required) */
	RD_RDOC_IPADDRESSES,        /*!< ipaddresses/?all=true (required) */
	RD_RDOC_RESERVEDIPS,        /*!< reservedips/ (NULL: MAAS < 3.6) */
	RD_RDOC_DOMAINS,            /*!< domains/ (required) */
	RD_RDOC_REGIONS,            /*!< regioncontrollers/ (NULL: no region DNS addresses) */
	RD_RDOC_SNIPPETS,           /*!< dhcp-snippets/ (NULL: not checked) */
	RD_RDOC_NTP_SERVERS,        /*!< get_config ntp_servers (NULL: default "ntp.ubuntu.com") */
	RD_RDOC_NTP_EXTERNAL_ONLY,  /*!< get_config ntp_external_only (NULL: false) */
	RD_RDOC_USE_RACK_PROXY,     /*!< get_config use_rack_proxy (NULL: true) */
	RD_RDOC_COUNT
};

typedef struct {
	json_t *doc[RD_RDOC_COUNT];
	/*! system_id -> rackcontrollers/<id>/ document of each failover peer (may be NULL). */
	json_t *peers;
	/*! Prefix of endpoint names in messages, e.g. "http://r:5240/MAAS/api/2.0/" (NULL: none). */
	const char *base;
	rd_region_resolve_fn resolve;   /*!< NULL: NTP names are dropped (with a warning) */
	void *resolve_arg;
} rd_region_docs_t;

/*!
 * Decode one JSON document (any JSON value: get_config answers bare scalars).
 * \retval 0, RD_EMALFORMED ("<where>: not valid JSON: <reason> (line L, column C)")
 */
int rd_region_json_decode(const char *text, size_t len, const char *where, json_t **out, char *err,
			  size_t errlen);

/*! The endpoint of a document, relative to the API root ("fabrics/"). */
const char *rd_region_doc_path(enum rd_region_doc d, const char *system_id, char *buf, size_t len);

typedef struct rd_region_view rd_region_view_t;

/*!
 * The system ids of the other racks of the VLANs this rack serves with
 * failover, from fabrics/ alone: the racks whose documents must be in
 * docs->peers.  *ids is a NULL-terminated malloc'ed array of malloc'ed
 * strings (free with rd_region_strv_free).
 * \retval 0, RD_EMALFORMED (message names the field), RD_ENOMEM
 */
int rd_region_view_peers(const rd_region_docs_t *docs, const char *system_id, char ***ids, char *err,
			 size_t errlen);
void rd_region_strv_free(char **v);

/*!
 * Build the DHCP view of rack system_id (§2.3, §2.6, §1.3–§1.6).  Every value
 * read is type-checked; garbage, a missing key or a wrong type is refused
 * with a message naming the endpoint and the field.
 * \retval 0, RD_EMALFORMED, RD_ENOMEM
 */
int rd_region_view_build(const rd_region_docs_t *docs, const char *system_id, rd_region_view_t **out,
			 char *err, size_t errlen);

/*!
 * Render v as rackdhcpd YAML: the server and region sections of base (NULL:
 * none), then failover and subnets from the region.  Each object carries a
 * "# from: ..." comment naming its MAAS origin, which rd_region_view_parse
 * adds to validation errors.
 * \retval 0 *yaml malloc'ed, NUL-terminated; RD_ENOMEM
 */
int rd_region_view_render(const rd_region_view_t *v, const rd_config_t *base, char **yaml, size_t *len);

/*! Warnings collected while building (not fatal); i < count. */
size_t rd_region_view_n_warnings(const rd_region_view_t *v);
const char *rd_region_view_warning(const rd_region_view_t *v, size_t i);

/*! Interfaces this rack serves on (MAAS's dhcpd-interfaces), in VLAN order. */
size_t rd_region_view_n_interfaces(const rd_region_view_t *v);
const char *rd_region_view_interface(const rd_region_view_t *v, size_t i);

void rd_region_view_free(rd_region_view_t *v);

/*!
 * Everything at once from raw JSON texts (what the fuzzer and the tests
 * feed): decode each text (NULL text: document absent), build, render.
 * peers[] are rackcontrollers documents keyed by their own system_id.
 */
int rd_region_view_from_texts(const char *const texts[RD_RDOC_COUNT], const size_t lens[RD_RDOC_COUNT],
			      const char *const *peer_texts, const size_t *peer_lens, size_t n_peers,
			      const char *system_id, const rd_config_t *base, char **yaml, size_t *len,
			      char *err, size_t errlen);

/*!
 * rd_config_parse the rendered YAML (filename "region view"); on refusal the
 * message also names the MAAS object the failing line came from.
 */
int rd_region_view_parse(const char *yaml, size_t len, rd_config_t **out, char *err, size_t errlen);

/*! Receives one human line of a diff (no newline). */
typedef void (*rd_region_diff_fn)(void *arg, const char *line);

/*!
 * What changed from old to new (old NULL: everything is new), one line per
 * change: "VLAN 5001 added", "subnet 10.0.0.0/24: pool 10.0.0.100-10.0.0.199
 * shrunk to 10.0.0.100-10.0.0.150", "subnet 10.0.0.0/24: 2 reservations
 * added".  VLANs are known by the failover peers MAAS names
 * failover-vlan-<id>; a subnet without one is named by its CIDR only.
 * \retval number of lines (0: no change), RD_EINVAL (new_cfg or fn NULL), RD_ENOMEM
 */
int rd_region_view_diff(const rd_config_t *old, const rd_config_t *new_cfg, rd_region_diff_fn fn, void *arg);

/*!
 * The configuration to serve with region sync on (docs/config.md, "Region
 * and file together"): the file's server and region sections always; the
 * region view's failover peers and subnets (view may be NULL: none yet);
 * and, with region.source "merge" (the default), the file's own subnets
 * that overlap no region subnet and the file's failover peers whose names
 * the region does not use (a file subnet whose pool names such a peer is
 * left out).  Every part left out is reported through note (may be NULL),
 * one line each.  The result is written as one YAML text and validated by
 * rd_config_parse as a whole (filename "<file> + region view").
 * view is a configuration parsed from a view rendered without a base.
 * \retval 0 *out (rd_config_free it); RD_EINVAL (file has no region
 *         section), RD_EMALFORMED (err: the combination does not
 *         validate), RD_ENOMEM
 */
int rd_region_compose(const rd_config_t *file, const rd_config_t *view, rd_region_diff_fn note, void *arg,
		      rd_config_t **out, char *err, size_t errlen);
