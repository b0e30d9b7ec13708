/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * region.c — the region-sync HTTP client: GETs against the MAAS REST API 2.0
 * with OAuth 1.0 PLAINTEXT (maas-integration.md §4), over one reused libcurl
 * handle, with failover between region URLs; and rd_region_pull(), which
 * fetches the documents of §2.6 and hands them to the view builder
 * (region_view.c).
 *
 * Why each limit:
 *  - connect and total timeouts: the sync thread must come back to its loop
 *    (and the daemon keep its last good configuration) when a region hangs;
 *  - a response size cap: the body is held in memory and then decoded, so a
 *    broken or hostile endpoint must not be able to exhaust the rack;
 *  - TLS verification is never switched off (an optional CA file covers a
 *    private CA), and a redirect is followed only within the same origin,
 *    because every request carries the API key;
 *  - a fresh random nonce and the current time on every request: MAAS
 *    stores nonces and refuses a reused one, and refuses timestamps far from
 *    its clock.
 *
 * Failover: requests go to the URL in use (the first at start).  A
 * connection error, a timeout, a truncated body or a 5xx moves to the next
 * URL, logged; answers such as 401, 404 or an oversized body are the region
 * speaking, not a dead region, and are returned as they are.  After
 * prefer_first_ms on another URL, the first is tried again (and the wait
 * starts over if it still fails), so a pair of regions settles back on the
 * operator's preferred one.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "rackdhcp/error.h"
#include "rackdhcp/fmt.h"
#include "rackdhcp/log.h"
#include "rackdhcp/region.h"

#define MAX_REDIRECTS 3

struct rd_region_client {
	char **urls;                    /* without trailing '/' */
	size_t n_urls;
	char *consumer, *token, *secret;
	char *ca_file;
	long connect_timeout_ms, timeout_ms, prefer_first_ms;
	size_t max_response;
	size_t cur;                     /* URL in use */
	int64_t since_ms;               /* when cur was chosen, or the first URL last tried */
	CURL *h;
	const atomic_bool *abort_flag;  /* set: requests in flight stop at once (shutdown) */
	bool all_failed;                /* the last request failed on every URL: an outage is on */
	char *last_warnings;            /* the view's warnings last logged, one per line */
};

void rd_region_set_abort(rd_region_client_t *c, const atomic_bool *flag)
{
	c->abort_flag = flag;
}

/* libcurl's progress callback: non-zero aborts the transfer. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	const atomic_bool *f = arg;
	return f && atomic_load(f);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	/* libcurl wants this once per process, before any handle */
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Printable, bounded copy of text from the network for a message. */
static const char *printable(const char *s, size_t n, char *buf, size_t len)
{
	size_t w = 0;
	for (size_t i = 0; i < n && s[i] && w + 1 < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		buf[w++] = ch == '\n' || ch == '\r' || ch == '\t' ? ' ' : (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	while (w && buf[w - 1] == ' ')
		w--;
	buf[w] = '\0';
	return buf;
}

/* ---------------------------------------------------------------- key */

static bool key_char(char ch)
{
	return ch > 0x20 && ch < 0x7f && ch != ':';
}

static int read_key(rd_region_client_t *c, const char *path, char *err, size_t errlen)
{
	char buf[RD_REGION_MAX_KEY_FILE + 1];
	struct stat st;
	ssize_t got;
	size_t len = 0;
	int rc = 0;

	if (!path || path[0] != '/')
		return rd_errf(err, errlen, RD_EINVAL, "api key file: '%s' is not an absolute path", path ? path : "");
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		return rd_errf(err, errlen, -e, "api key file %s: cannot open: %s", path, strerror(e));
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return rd_errf(err, errlen, -e, "api key file %s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return rd_errf(err, errlen, RD_EMALFORMED, "api key file %s: not a regular file", path);
	}
	/* the key is a password for the whole region: nobody else may read or change it */
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		return rd_errf(err, errlen, RD_EMALFORMED,
			    "api key file %s: mode %04o lets group or others access the MAAS API key; "
			    "make it readable by its owner only (chmod 600)", path, (unsigned)(st.st_mode & 07777));
	}
	while (len < sizeof(buf) && (got = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			explicit_bzero(buf, sizeof(buf));
			return rd_errf(err, errlen, -e, "api key file %s: %s", path, strerror(e));
		}
		len += (size_t)got;
	}
	close(fd);
	if (len > RD_REGION_MAX_KEY_FILE) {
		rc = rd_errf(err, errlen, RD_EMALFORMED, "api key file %s: larger than %u bytes, not a MAAS API key",
			     path, RD_REGION_MAX_KEY_FILE);
		goto out;
	}
	/* one line, maybe with a newline or surrounding blanks (what `maas apikey > file` writes) */
	size_t a = 0, b = len;
	while (a < b && (buf[a] == ' ' || buf[a] == '\t' || buf[a] == '\n' || buf[a] == '\r'))
		a++;
	while (b > a && (buf[b - 1] == ' ' || buf[b - 1] == '\t' || buf[b - 1] == '\n' || buf[b - 1] == '\r'))
		b--;
	size_t parts[4], n_parts = 0, start = a;
	for (size_t i = a; i <= b; i++) {
		if (i == b || buf[i] == ':') {
			if (n_parts < 3)
				parts[n_parts] = start;
			n_parts++;
			start = i + 1;
		} else if (!key_char(buf[i])) {
			rc = rd_errf(err, errlen, RD_EMALFORMED,
				  "api key file %s: byte %zu is a blank or control character; expected one line "
				  "consumer_key:token_key:token_secret", path, i + 1);
			goto out;
		}
	}
	if (a == b || n_parts != 3) {
		rc = rd_errf(err, errlen, RD_EMALFORMED,
			  "api key file %s: expected consumer_key:token_key:token_secret (three parts separated by "
			  "':'), found %zu part%s", path, a == b ? 0 : n_parts, a != b && n_parts == 1 ? "" : "s");
		goto out;
	}
	buf[b] = '\0';
	for (size_t i = 0; i < 3; i++) {
		const char *p = buf + parts[i];
		size_t n = strcspn(p, ":");
		if (!n) {
			static const char *const names[] = { "consumer key", "token key", "token secret" };
			rc = rd_errf(err, errlen, RD_EMALFORMED, "api key file %s: the %s is empty", path, names[i]);
			goto out;
		}
		char *copy = strndup(p, n);
		if (!copy) {
			rc = RD_ENOMEM;
			goto out;
		}
		*(i == 0 ? &c->consumer : i == 1 ? &c->token : &c->secret) = copy;
	}
out:
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

/* ------------------------------------------------------------- create */

int rd_region_client_new(const rd_region_opts_t *o, rd_region_client_t **out, char *err, size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!o || !o->n_urls || !o->urls)
		return rd_errf(err, errlen, RD_EINVAL, "region: no maas_url given");
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return rd_errf(err, errlen, RD_ENOMEM, "region: libcurl: %s", curl_easy_strerror(curl_init_rc));

	rd_region_client_t *c = calloc(1, sizeof(*c));
	if (!c)
		return RD_ENOMEM;
	int rc = 0;
	c->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms
							  : RD_REGION_DEFAULT_CONNECT_TIMEOUT_MS;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : RD_REGION_DEFAULT_TIMEOUT_MS;
	c->max_response = o->max_response ? o->max_response : RD_REGION_DEFAULT_MAX_RESPONSE;
	c->prefer_first_ms = o->prefer_first_ms ? o->prefer_first_ms : RD_REGION_DEFAULT_PREFER_FIRST_MS;
	c->since_ms = mono_ms();
	if (!(c->urls = calloc(o->n_urls, sizeof(*c->urls)))) {
		rc = RD_ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < o->n_urls; i++) {
		const char *u = o->urls[i];
		if (!u || (strncasecmp(u, "http://", 7) && strncasecmp(u, "https://", 8))) {
			rc = rd_errf(err, errlen, RD_EINVAL,
				     "region: maas_url '%s' must start with http:// or https://", u ? u : "");
			goto fail;
		}
		size_t n = strlen(u);
		while (n && u[n - 1] == '/')
			n--;
		for (size_t k = 0; k < n; k++)
			if ((unsigned char)u[k] <= 0x20 || u[k] == 0x7f) {
				rc = rd_errf(err, errlen, RD_EINVAL,
					     "region: maas_url '%s' contains a blank or control character", u);
				goto fail;
			}
		if (!(c->urls[i] = strndup(u, n))) {
			rc = RD_ENOMEM;
			goto fail;
		}
		c->n_urls++;
	}
	if (o->ca_file && !(c->ca_file = strdup(o->ca_file))) {
		rc = RD_ENOMEM;
		goto fail;
	}
	if ((rc = read_key(c, o->api_key_file, err, errlen)))
		goto fail;
	if (!(c->h = curl_easy_init())) {
		rc = rd_errf(err, errlen, RD_ENOMEM, "region: cannot create a libcurl handle");
		goto fail;
	}
	*out = c;
	return 0;
fail:
	rd_region_client_free(c);
	return rc;
}

int rd_region_client_from_config(const rd_cfg_region_t *r, rd_region_client_t **out, char *err, size_t errlen)
{
	rd_region_opts_t o = {
		.urls = (const char *const *)r->maas_url,
		.n_urls = r->n_maas_url,
		.api_key_file = r->api_key_file,
		.ca_file = r->ca_file,
		.connect_timeout_ms = (long)r->connect_timeout * 1000,
		.timeout_ms = (long)r->timeout * 1000,
	};
	return rd_region_client_new(&o, out, err, errlen);
}

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void rd_region_client_free(rd_region_client_t *c)
{
	if (!c)
		return;
	if (c->h)
		curl_easy_cleanup(c->h);
	for (size_t i = 0; i < c->n_urls; i++)
		free(c->urls[i]);
	free(c->urls);
	free(c->ca_file);
	free(c->last_warnings);
	free_secret(c->consumer);
	free_secret(c->token);
	free_secret(c->secret);
	free(c);
}

const char *rd_region_current_url(const rd_region_client_t *c)
{
	return c->urls[c->cur];
}

/* -------------------------------------------------------------- OAuth */

/* RFC 5849 §3.6 percent-encoding: everything but ALPHA / DIGIT / - . _ ~ */
static size_t pct(char *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t w = 0;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		    ch == '.' || ch == '_' || ch == '~') {
			out[w++] = (char)ch;
		} else {
			out[w++] = '%';
			out[w++] = hex[ch >> 4];
			out[w++] = hex[ch & 15];
		}
	}
	out[w] = '\0';
	return w;
}

/*
 * "Authorization: OAuth ..." as oauthlib sends it: quoted, percent-encoded
 * values; the PLAINTEXT signature is pct(consumer_secret) & pct(token_secret)
 * with an empty consumer secret, itself encoded as a parameter value.
 * Returns a malloc'ed header line (the caller wipes and frees it).
 */
static char *oauth_header(const rd_region_client_t *c)
{
	uint8_t rnd[16];
	char nonce[33];
	size_t lc = strlen(c->consumer), lt = strlen(c->token), ls = strlen(c->secret);

	for (size_t got = 0; got < sizeof(rnd);) {
		ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(nonce + 2 * i, 3, "%02x", rnd[i]);

	char *sig1 = malloc(3 * ls + 2), *sig2 = malloc(9 * ls + 4);
	char *ck = malloc(3 * lc + 1), *tk = malloc(3 * lt + 1);
	size_t cap = 3 * lc + 3 * lt + 9 * ls + 256;
	char *hdr = malloc(cap);
	if (sig1 && sig2 && ck && tk && hdr) {
		sig1[0] = '&';
		pct(sig1 + 1, c->secret);
		pct(sig2, sig1);
		pct(ck, c->consumer);
		pct(tk, c->token);
		snprintf(hdr, cap,
			 "Authorization: OAuth oauth_version=\"1.0\", oauth_signature_method=\"PLAINTEXT\", "
			 "oauth_consumer_key=\"%s\", oauth_token=\"%s\", oauth_signature=\"%s\", "
			 "oauth_nonce=\"%s\", oauth_timestamp=\"%lld\"",
			 ck, tk, sig2, nonce, (long long)time(NULL));
	} else {
		free(hdr);
		hdr = NULL;
	}
	if (sig1)
		explicit_bzero(sig1, 3 * ls + 2);
	if (sig2)
		explicit_bzero(sig2, 9 * ls + 4);
	free(sig1);
	free(sig2);
	free(ck);
	free(tk);
	return hdr;
}

/* ------------------------------------------------------------ request */

struct rbuf {
	char *p;
	size_t len, cap, max;
	bool too_big, oom;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct rbuf *b = arg;
	size_t n = size * nmemb;
	if (n > b->max - b->len) {
		b->too_big = true;
		return 0;               /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 16384;
		while (nc < b->len + n + 1)
			nc *= 2;
		if (nc > b->max + 1)
			nc = b->max + 1;
		char *p = realloc(b->p, nc);
		if (!p) {
			b->oom = true;
			return 0;
		}
		b->p = p;
		b->cap = nc;
	}
	memcpy(b->p + b->len, ptr, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

static bool same_origin(const char *a, const char *b)
{
	CURLU *ua = curl_url(), *ub = curl_url();
	bool same = false;
	if (ua && ub && curl_url_set(ua, CURLUPART_URL, a, 0) == CURLUE_OK &&
	    curl_url_set(ub, CURLUPART_URL, b, 0) == CURLUE_OK) {
		static const CURLUPart parts[] = { CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT };
		same = true;
		for (size_t i = 0; i < 3 && same; i++) {
			char *pa = NULL, *pb = NULL;
			unsigned fl = parts[i] == CURLUPART_PORT ? CURLU_DEFAULT_PORT : 0;
			same = curl_url_get(ua, parts[i], &pa, fl) == CURLUE_OK &&
			       curl_url_get(ub, parts[i], &pb, fl) == CURLUE_OK && !strcasecmp(pa, pb);
			curl_free(pa);
			curl_free(pb);
		}
	}
	curl_url_cleanup(ua);
	curl_url_cleanup(ub);
	return same;
}

static char *join_url(const char *base, const char *path)
{
	size_t n = strlen(base) + strlen(path) + sizeof("/api/2.0/");
	char *u = malloc(n);
	if (u)
		snprintf(u, n, "%s/api/2.0/%s", base, path);
	return u;
}

/*
 * One GET against one base URL (following same-origin redirects).  why gets
 * the reason on failure; *transport says whether the region looked dead
 * (then the caller tries the next URL).
 */
static int attempt(rd_region_client_t *c, size_t idx, const char *path, struct rbuf *rb, char *why, size_t whylen,
		   bool *transport)
{
	char errbuf[CURL_ERROR_SIZE];
	char *url = join_url(c->urls[idx], path);
	int rc = 0;

	*transport = false;
	if (!url)
		return rd_errf(why, whylen, RD_ENOMEM, "out of memory");
	for (int hop = 0;; hop++) {
		char *auth = oauth_header(c);
		struct curl_slist *hdrs = NULL, *h2;
		if (!auth) {
			rc = rd_errf(why, whylen, RD_ENOMEM, "cannot build the OAuth header");
			break;
		}
		if ((h2 = curl_slist_append(hdrs, auth)))
			hdrs = h2;
		if (h2 && (h2 = curl_slist_append(hdrs, "Accept: application/json")))
			hdrs = h2;
		if (!h2) {
			curl_slist_free_all(hdrs);
			explicit_bzero(auth, strlen(auth));
			free(auth);
			rc = rd_errf(why, whylen, RD_ENOMEM, "out of memory");
			break;
		}
		rb->len = 0;
		rb->too_big = rb->oom = false;
		errbuf[0] = '\0';

		CURL *h = c->h;
		curl_easy_reset(h);     /* keeps the connection cache */
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
		curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_USERAGENT, "rackdhcpd/" PACKAGE_VERSION);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, rb);
		curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
		if (c->ca_file)
			curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
		if (c->abort_flag) {
			curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
			curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)c->abort_flag);
			curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		}

		CURLcode cr = curl_easy_perform(h);
		long code = 0;
		char *loc = NULL;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		if (cr == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc);
		/* the handle must not keep pointers to what we free now */
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
		curl_slist_free_all(hdrs);
		explicit_bzero(auth, strlen(auth));
		free(auth);

		if (rb->oom) {
			rc = rd_errf(why, whylen, RD_ENOMEM, "out of memory for the response");
			break;
		}
		if (rb->too_big || cr == CURLE_FILESIZE_EXCEEDED) {
			rc = rd_errf(why, whylen, RD_ETOOBIG, "response larger than %zu bytes refused",
				     c->max_response);
			break;
		}
		if (cr != CURLE_OK) {
			*transport = true;
			rc = rd_errf(why, whylen, -EIO, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cr));
			break;
		}
		if (code == 200)
			break;
		if (code >= 300 && code < 400) {
			char shown[160];
			if (!loc) {
				rc = rd_errf(why, whylen, -EPROTO, "HTTP %ld without a Location", code);
				break;
			}
			printable(loc, strlen(loc), shown, sizeof(shown));
			if (hop >= MAX_REDIRECTS) {
				rc = rd_errf(why, whylen, -EPROTO, "more than %d redirects (last to %s)", MAX_REDIRECTS,
					     shown);
				break;
			}
			if (!same_origin(url, loc)) {
				rc = rd_errf(why, whylen, -EPROTO,
					  "HTTP %ld redirect to %s refused: another origin would receive the API key",
					  code, shown);
				break;
			}
			char *next = strdup(loc);
			if (!next) {
				rc = rd_errf(why, whylen, RD_ENOMEM, "out of memory");
				break;
			}
			free(url);
			url = next;
			continue;
		}
		char body[160];
		printable(rb->p ? rb->p : "", rb->len, body, sizeof(body));
		if (code == 401 || code == 403)
			rc = rd_errf(why, whylen, -EACCES, "HTTP %ld (API key refused)%s%s", code,
				     body[0] ? ": " : "", body);
		else if (code == 404)
			rc = rd_errf(why, whylen, -ENOENT, "HTTP 404 (not found)");
		else if (code >= 500) {
			*transport = true;
			rc = rd_errf(why, whylen, -EIO, "HTTP %ld%s%s", code, body[0] ? ": " : "", body);
		} else
			rc = rd_errf(why, whylen, -EPROTO, "unexpected HTTP %ld%s%s", code, body[0] ? ": " : "", body);
		break;
	}
	free(url);
	return rc;
}

int rd_region_fetch(rd_region_client_t *c, const char *path, char **body, size_t *len, char *err, size_t errlen)
{
	struct rbuf rb = { .max = c->max_response };
	char why[512], summary[1024];
	rd_sb_t sum;
	size_t n = c->n_urls;
	int rc = -EIO;

	*body = NULL;
	if (len)
		*len = 0;
	if (err && errlen)
		err[0] = '\0';
	while (*path == '/')
		path++;
	size_t *order = calloc(n, sizeof(*order));
	if (!order)
		return RD_ENOMEM;
	int64_t now = mono_ms();
	bool retry_first = c->cur != 0 && c->prefer_first_ms > 0 && now - c->since_ms >= c->prefer_first_ms;
	size_t k = 0;
	if (retry_first)
		order[k++] = 0;
	for (size_t i = 0; i < n; i++) {
		size_t idx = (c->cur + i) % n;
		if (!(retry_first && idx == 0))
			order[k++] = idx;
	}
	rd_sb_init(&sum, summary, sizeof(summary));
	for (k = 0; k < n; k++) {
		size_t idx = order[k];
		bool transport;
		why[0] = '\0';
		rc = attempt(c, idx, path, &rb, why, sizeof(why), &transport);
		if (!transport) {
			if (idx != c->cur) {
				if (idx == 0)
					rd_log(LOG_NOTICE, "region: back on the preferred region %s", c->urls[idx]);
				else
					rd_log(LOG_WARNING, "region: now using %s", c->urls[idx]);
				c->cur = idx;
				c->since_ms = mono_ms();
			}
			if (rc) {
				rd_errf(err, errlen, rc, "%s/api/2.0/%s: %s", c->urls[idx], path, why);
				break;
			}
			if (!rb.p && !(rb.p = calloc(1, 1))) {
				rc = RD_ENOMEM;
				break;
			}
			*body = rb.p;
			if (len)
				*len = rb.len;
			rb.p = NULL;
			break;
		}
		rd_sb_printf(&sum, "%s%s: %s", sum.len ? "; " : "", c->urls[idx], why);
		if (retry_first && idx == 0) {
			/* wait a full period again before the next try */
			c->since_ms = mono_ms();
			rd_log(LOG_INFO, "region: preferred region %s still failing (%s/api/2.0/%s: %s); staying on %s",
			       c->urls[0], c->urls[0], path, why, c->urls[c->cur]);
		} else if (k + 1 < n) {
			/* during an outage every poll would say the same: once is enough */
			rd_log(c->all_failed ? LOG_DEBUG : LOG_WARNING, "region: %s failed (%s/api/2.0/%s: %s); switching to %s",
			       c->urls[idx], c->urls[idx], path, why, c->urls[order[k + 1]]);
		} else {
			rd_log(c->all_failed ? LOG_DEBUG : LOG_ERR, "region: %s failed (%s/api/2.0/%s: %s); no region URL left",
			       c->urls[idx], c->urls[idx], path, why);
		}
	}
	c->all_failed = k == n;
	if (k == n)
		rd_errf(err, errlen, rc = -EIO, "all %zu region URL%s failed for %s: %s", n, n == 1 ? "" : "s", path,
		     summary);
	free(rb.p);
	free(order);
	return rc;
}

/* --------------------------------------------------------------- pull */

static size_t resolve_v4(void *arg, const char *name, uint32_t *addrs, size_t max)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM }, *res = NULL;
	size_t n = 0;
	(void)arg;
	if (getaddrinfo(name, NULL, &hints, &res))
		return 0;
	for (struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET)
			continue;
		uint32_t a = ntohl(((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr.s_addr);
		bool dup = false;
		for (size_t k = 0; k < n; k++)
			dup |= addrs[k] == a;
		if (!dup)
			addrs[n++] = a;
	}
	freeaddrinfo(res);
	return n;
}

static bool valid_id(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n < 1 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= '0' && id[i] <= '9') || id[i] == '-' || id[i] == '_'))
			return false;
	return true;
}

/* GET path and decode it; *doc stays NULL on a 404 of an optional document. */
static int get_doc(rd_region_client_t *c, const char *path, bool optional, json_t **doc, char *err, size_t errlen)
{
	char *body = NULL;
	size_t len = 0;
	*doc = NULL;
	int rc = rd_region_fetch(c, path, &body, &len, err, errlen);
	if (rc == -ENOENT && optional) {
		if (err && errlen)
			err[0] = '\0';
		return 0;
	}
	if (rc)
		return rc;
	char *where = join_url(rd_region_current_url(c), path);
	rc = where ? rd_region_json_decode(body, len, where, doc, err, errlen) : RD_ENOMEM;
	free(where);
	free(body);
	return rc;
}

int rd_region_pull(rd_region_client_t *c, const char *system_id, const rd_config_t *base, char **yaml,
		   size_t *len, char *err, size_t errlen)
{
	/* the order of §2.6; reservedips/ is 3.6+, the others exist in every 3.x */
	static const struct {
		enum rd_region_doc doc;
		bool optional;
	} plan[] = {
		{ RD_RDOC_RACK, false },        { RD_RDOC_FABRICS, false },
		{ RD_RDOC_SUBNETS, false },     { RD_RDOC_IPRANGES, false },
		{ RD_RDOC_IPADDRESSES, false }, { RD_RDOC_RESERVEDIPS, true },
		{ RD_RDOC_SNIPPETS, true },     { RD_RDOC_DOMAINS, false },
		{ RD_RDOC_NTP_SERVERS, true },  { RD_RDOC_NTP_EXTERNAL_ONLY, true },
		{ RD_RDOC_USE_RACK_PROXY, true }, { RD_RDOC_REGIONS, true },
	};
	rd_region_docs_t d = { .resolve = resolve_v4 };
	rd_region_view_t *v = NULL;
	char **peers = NULL, path[160], *base_url = NULL;
	int rc = 0;

	*yaml = NULL;
	if (len)
		*len = 0;
	if (err && errlen)
		err[0] = '\0';
	for (size_t i = 0; !rc && i < sizeof(plan) / sizeof(plan[0]); i++) {
		if (plan[i].doc == RD_RDOC_RACK && !valid_id(system_id)) {
			/* it goes into a URL */
			rc = rd_errf(err, errlen, RD_EINVAL,
				     "region: system_id '%s' is not 1-64 letters, digits, '-' or '_'",
				     system_id ? system_id : "");
			break;
		}
		rd_region_doc_path(plan[i].doc, system_id, path, sizeof(path));
		rc = get_doc(c, path, plan[i].optional, &d.doc[plan[i].doc], err, errlen);
	}
	if (!rc && !(base_url = join_url(rd_region_current_url(c), "")))
		rc = RD_ENOMEM;
	d.base = base_url;
	if (!rc)
		rc = rd_region_view_peers(&d, system_id, &peers, err, errlen);
	if (!rc && peers[0] && !(d.peers = json_object()))
		rc = RD_ENOMEM;
	for (size_t i = 0; !rc && peers[i]; i++) {
		json_t *doc;
		rd_region_doc_path(RD_RDOC_RACK, peers[i], path, sizeof(path));
		rc = get_doc(c, path, false, &doc, err, errlen);
		if (!rc && json_object_set_new(d.peers, peers[i], doc))
			rc = RD_ENOMEM;
	}
	if (!rc)
		rc = rd_region_view_build(&d, system_id, &v, err, errlen);
	if (!rc) {
		/* the same warnings on every poll are logged once, until they change */
		rd_gbuf_t wb = { 0 };
		for (size_t i = 0; i < rd_region_view_n_warnings(v); i++)
			rd_gbuf_printf(&wb, "%s\n", rd_region_view_warning(v, i));
		bool same = wb.p && c->last_warnings && !strcmp(wb.p, c->last_warnings);
		for (size_t i = 0; i < rd_region_view_n_warnings(v); i++)
			rd_log(same ? LOG_DEBUG : LOG_WARNING, "region: %s", rd_region_view_warning(v, i));
		if (!wb.oom && !same) {
			free(c->last_warnings);
			c->last_warnings = wb.p;
			wb.p = NULL;
		}
		free(wb.p);
		rc = rd_region_view_render(v, base, yaml, len);
		if (rc == RD_ENOMEM)
			rd_errf(err, errlen, rc, "region: out of memory rendering the view");
	}
	rd_region_view_free(v);
	rd_region_strv_free(peers);
	for (int i = 0; i < RD_RDOC_COUNT; i++)
		json_decref(d.doc[i]);
	json_decref(d.peers);
	free(base_url);
	return rc;
}
