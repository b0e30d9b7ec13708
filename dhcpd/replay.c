/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * replay.c — `rackdhcpd --replay` (see replay.h).
 *
 * One pass over the capture: every IPv4 UDP frame to port 67 carrying a
 * BOOTREQUEST goes through the codec and the engine with now = the frame's
 * timestamp; the engine's lease change is published in an in-memory table
 * at once (replay has no durability to wait for), and the answer is framed
 * and written to the output capture one microsecond after its request.
 * Frames from servers in the capture are ignored: we answer in their place.
 *
 * Runs on the calling thread, which must be registered with RCU.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rackdhcp/capture.h"
#include "rackdhcp/config.h"
#include "rackdhcp/engine.h"
#include "rackdhcp/fmt.h"
#include "rackdhcp/replay.h"
#include "rackdhcp/table.h"

/*
 * Whether the lease table is freed at the end of a replay whose caller
 * exits right after (opts->exiting).  Freeing it unlinks every version from
 * both hash tables and frees each one: a walk over memory that is no longer
 * in cache, measured at a third of a replay's last-level cache misses
 * (bench_replay, 50,000 clients) for memory the kernel reclaims anyway.
 * Builds with a leak checker (AddressSanitizer, LeakSanitizer) always free
 * it, so they keep checking that teardown leaves nothing behind.
 */
#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_LEAK_CHECKED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define REPLAY_LEAK_CHECKED 1
#endif
#endif
#ifndef REPLAY_LEAK_CHECKED
#define REPLAY_LEAK_CHECKED 0
#endif

/* A table left to the OS stays reachable from here (volatile, or the
 * compiler drops a store nothing reads).  valgrind's memcheck on such a
 * build still reports its versions as "possibly lost": the hash tables
 * point inside them.  Check leaks with the sanitizer build. */
static rd_table_t *volatile replay_left_table;

/*
 * The look-ahead: client messages are parsed AHEAD messages before they
 * run, and the client index's bucket for each is prefetched meanwhile (a
 * new client's lookup otherwise waits on two cache misses in a row): the
 * bucket head when it is parsed, the node it points to one message before
 * it runs.  Messages still run, and print, in capture order.
 */
#define AHEAD 4

struct pending {
	unsigned number;           /* frame number */
	int64_t ts_usec;
	bool refused;              /* the codec refused it; d says why */
	rd_frame_t fr;             /* its payload view is stale by then: not used */
	rd_diag_t d;
	rd_dhcp_t req;
};

struct replay {
	const rd_replay_opts_t *o;
	rd_replay_stats_t *st;
	rd_config_t *cfg;
	rd_table_t *table;
	uint32_t link_addr, link_mask;
	pcap_t *dead;
	pcap_dumper_t *dump;
	/* Answers to a file are framed straight into obuf, in the capture
	 * file's record layout, and written in large blocks: pcap_dump's two
	 * stdio calls and the copy per answer were ~5 % of a replay. */
	FILE *ofp;
	uint8_t *obuf;
	size_t olen;
	int oerr;                  /* errno of the first failed write, 0 if none */
	struct pending ring[AHEAD];
	unsigned head, count;      /* oldest pending message, how many */
	int run_err;               /* a message failed to run: stop, do not drain */
	bool any_cid;              /* some subnet keys clients by option 61 */
	rd_engine_out_t out;
	uint8_t payload[RD_DHCP_MAX_LEN];
	uint8_t frame[RD_DHCP_MAX_LEN + 64];
};

static void fmt_ip(uint32_t a, char *buf, size_t cap)
{
	(void)cap;   /* >= 16 */
	rd_fmt_ip(buf, a);
}

static void fmt_mac(const uint8_t *m, uint8_t len, char *buf, size_t cap)
{
	(void)cap;   /* >= 48 */
	rd_fmt_mac(buf, m, len);
}

/*
 * Our address on the capture's link: --link-address, else the first
 * subnet's next_server, else its first usable address.  It must lie in a
 * configured subnet, whose mask becomes the link's.
 */
static int replay_link(const rd_config_t *cfg, uint32_t given, uint32_t *addr, uint32_t *mask,
		       char *err, size_t errlen)
{
	char ip[16];
	if (cfg->n_subnets == 0) {
		snprintf(err, errlen, "%s: no subnets configured: nothing to answer", cfg->filename);
		return RD_EINVAL;
	}
	uint32_t a = given;
	if (!a)
		a = cfg->subnets[0].next_server ? cfg->subnets[0].next_server : cfg->subnets[0].network + 1;
	const rd_cfg_subnet_t *s = rd_config_subnet_for(cfg, a);
	if (!s) {
		fmt_ip(a, ip, sizeof(ip));
		snprintf(err, errlen, "link address %s is in no configured subnet", ip);
		return RD_EINVAL;
	}
	*addr = a;
	*mask = s->mask;
	return 0;
}

/*
 * A table with every configured pool registered, sized for the most leases
 * this replay can make: no more than the pools' and reservations'
 * addresses, nor than the capture's client messages (each makes at most one
 * new lease; every message takes at least MIN_MSG_BYTES of the file: 240
 * bytes of DHCP, 28 of IPv4 + UDP, a record header).  Sized up front and
 * never resized: lookups in overfull buckets, or in a table shrunk in the
 * middle of the run, were the biggest single cost of a replay.
 */
#define MIN_MSG_BYTES 256u

static rd_table_t *replay_table(const rd_config_t *cfg, const char *input)
{
	uint64_t hint = 0;
	for (size_t i = 0; i < cfg->n_subnets; i++) {
		hint += cfg->subnets[i].n_reservations;
		for (size_t p = 0; p < cfg->subnets[i].n_pools; p++)
			hint += (uint64_t)cfg->subnets[i].pools[p].end - cfg->subnets[i].pools[p].start + 1;
	}
	struct stat sb;
	if (stat(input, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size / MIN_MSG_BYTES < hint)
		hint = (uint64_t)sb.st_size / MIN_MSG_BYTES;
	rd_table_t *t = rd_table_new_fixed(hint < 1024 ? 1024 : hint > (1u << 22) ? (1u << 22) : (size_t)hint);
	for (size_t i = 0; t && i < cfg->n_subnets; i++) {
		const rd_cfg_subnet_t *s = &cfg->subnets[i];
		for (size_t p = 0; p < s->n_pools; p++) {
			if (rd_table_add_pool(t, s->pools[p].start, s->pools[p].end, (void *)&s->pools[p]) < 0) {
				rd_table_free(t);
				return NULL;
			}
		}
	}
	return t;
}

/* Small enough to stay in cache (a larger one streams through the whole
 * last-level cache, evicting the lease table: measured), large enough for
 * ~180 answers per write(2). */
#define OBUF_SIZE (64u << 10)

/* One record header of a pcap file as pcap_dump writes it (host order). */
struct rec_hdr {
	int32_t sec, usec;
	uint32_t caplen, len;
};

static void out_flush(struct replay *r)
{
	errno = 0;
	if (r->olen && fwrite(r->obuf, 1, r->olen, r->ofp) != r->olen && !r->oerr)
		r->oerr = errno ? errno : EIO;
	r->olen = 0;
}

/* Wrap the built reply in a frame addressed as the engine decided and write it. */
static int write_answer(struct replay *r, int64_t ts_usec, const rd_frame_t *in, size_t plen)
{
	const rd_engine_dest_t *d = &r->out.dest;
	rd_frame_hdr_t h = {
		.ip_src = r->link_addr,
		.ip_dst = d->broadcast ? 0xffffffffu : d->ip,
		.sport = RD_DHCP_SERVER_PORT,
		.dport = d->port,
		.vlan = in->eth.vlan,
		.vlan_tci = in->eth.vlan_tci,
	};
	memcpy(h.eth_src, r->o->server_mac, RD_ETH_ALEN);
	if (d->broadcast)
		memset(h.eth_dst, 0xff, RD_ETH_ALEN);
	else if (d->to_relay)
		memcpy(h.eth_dst, in->eth.src, RD_ETH_ALEN);   /* the relay sent us the request */
	else
		memcpy(h.eth_dst, d->mac, d->mac_len < RD_ETH_ALEN ? d->mac_len : RD_ETH_ALEN);
	int64_t t = ts_usec + 1;
	if (r->obuf) {
		if (OBUF_SIZE - r->olen < sizeof(struct rec_hdr) + sizeof(r->frame))
			out_flush(r);
		uint8_t *rec = r->obuf + r->olen;
		int n = rd_frame_build(rec + sizeof(struct rec_hdr), sizeof(r->frame), &h, r->payload, plen);
		if (n < 0)
			return n;
		struct rec_hdr rh = { (int32_t)(t / 1000000), (int32_t)(t % 1000000), (uint32_t)n, (uint32_t)n };
		memcpy(rec, &rh, sizeof(rh));
		r->olen += sizeof(rh) + (size_t)n;
		return 0;
	}
	int n = rd_frame_build(r->frame, sizeof(r->frame), &h, r->payload, plen);
	if (n < 0)
		return n;
	if (r->dump) {
		struct pcap_pkthdr ph = {
			.ts = { .tv_sec = (time_t)(t / 1000000), .tv_usec = (suseconds_t)(t % 1000000) },
			.caplen = (bpf_u_int32)n,
			.len = (bpf_u_int32)n,
		};
		pcap_dump((u_char *)r->dump, &ph, r->frame);
	}
	return 0;
}

/* The client key the engine will most likely use (for a prefetch only: a
 * wrong guess costs a wasted prefetch): any_cid stands for the subnet's
 * ignore_client_ids, which is not known before the engine picks it. */
static size_t guess_key(const struct replay *r, const rd_dhcp_t *m, uint8_t *key)
{
	return rd_engine_client_key(m, r->any_cid, key, NULL);
}

static void prefetch(struct replay *r, const struct pending *p, int depth)
{
	uint8_t key[RD_LEASE_KEY_MAX];
	if (!p->refused)
		rd_table_prefetch_client(r->table, key, guess_key(r, &p->req, key), depth);
}

/* Run the oldest pending message through the engine and answer it. */
static int run_one(struct replay *r, struct pending *p)
{
	char mac[64], ip[16];
	rd_diag_t d;

	if (p->refused) {
		r->st->refused++;
		if (!r->o->quiet)
			fprintf(r->o->out, "%5u  refused: %s: %s\n", p->number, rd_strerror(p->d.code), p->d.reason);
		return 0;
	}
	const rd_frame_t fr = p->fr;
	const unsigned number = p->number;
	r->st->requests++;

	uint32_t now = (uint32_t)(p->ts_usec / 1000000);
	rd_table_expire(r->table, now, NULL, NULL);

	rd_engine_in_t in = {
		.now = now,
		.cfg = r->cfg,
		.table = r->table,
		.link_addr = r->link_addr,
		.link_mask = r->link_mask,
		.src_addr = fr.ip.src,
		.via_unicast = fr.ip.dst != 0xffffffffu,
		.no_reason = r->o->quiet,   /* an answer's reason is only printed */
	};
	/* The MAC is formatted only for a line that is printed. */
	if (!r->o->quiet)
		fmt_mac(p->req.chaddr, p->req.hlen, mac, sizeof(mac));
	rcu_read_lock();
	int ret = rd_engine_process(&in, &p->req, &r->out);
	if (ret < 0) {
		rcu_read_unlock();
		return ret;
	}
	const char *qtype = rd_dhcp_msgtype_name(p->req.msgtype);
	if (r->out.action == RD_ENGINE_DROP) {
		rd_engine_abort(r->table, &r->out);
		rcu_read_unlock();
		r->st->dropped++;
		if (!r->o->quiet)
			fprintf(r->o->out, "%5u  %s %s -> (no answer: %s)\n", number, qtype, mac, r->out.reason);
		return 0;
	}
	/* REPLY or COMMIT: publish the lease change first (the daemon makes
	 * it durable here too, before answering). */
	if (r->out.new_lease) {
		ret = rd_table_replace(r->table, r->out.old_lease, r->out.new_lease);
		if (ret < 0) {
			/* Impossible in a single-threaded replay unless the engine is wrong. */
			rd_engine_abort(r->table, &r->out);
			rcu_read_unlock();
			fmt_mac(p->req.chaddr, p->req.hlen, mac, sizeof(mac));
			fprintf(r->o->out, "%5u  %s %s -> lease change refused by the table: %s\n", number,
				qtype, mac, rd_strerror(ret));
			r->st->dropped++;
			return 0;
		}
		r->out.new_lease = NULL;   /* the table owns it now */
		r->out.claimed = 0;
	}
	if (r->out.action == RD_ENGINE_COMMIT) {
		rcu_read_unlock();
		r->st->dropped++;
		if (!r->o->quiet)
			fprintf(r->o->out, "%5u  %s %s -> (no answer: %s)\n", number, qtype, mac, r->out.reason);
		return 0;
	}
	rcu_read_unlock();

	rd_diag_clear(&d);
	int plen = rd_dhcp_build(&r->out.reply, r->out.prl, r->out.prl_len, r->out.max_msg, r->payload,
				 sizeof(r->payload), NULL, &d);
	if (plen < 0 || write_answer(r, p->ts_usec, &fr, (size_t)plen) < 0) {
		fmt_mac(p->req.chaddr, p->req.hlen, mac, sizeof(mac));
		fprintf(r->o->out, "%5u  %s %s -> cannot build the answer: %s\n", number, qtype, mac,
			plen < 0 ? d.reason : "frame too large");
		r->st->dropped++;
		return 0;
	}
	r->st->replies++;
	if (!r->o->quiet) {
		uint8_t type = 0;
		size_t tl;
		const uint8_t *t = NULL;
		for (uint16_t i = 0; i < r->out.reply.count && !t; i++)
			if (r->out.reply.order[i] == RD_OPT_MESSAGE_TYPE)
				t = r->out.reply.buf + r->out.reply.off[RD_OPT_MESSAGE_TYPE];
		tl = t ? r->out.reply.len[RD_OPT_MESSAGE_TYPE] : 0;
		if (tl == 1)
			type = t[0];
		fmt_ip(r->out.reply.yiaddr, ip, sizeof(ip));
		fprintf(r->o->out, "%5u  %s %s -> %s %s (%s)\n", number, qtype, mac,
			rd_dhcp_msgtype_name(type), ip, r->out.reason);
	}
	return 0;
}

/* Run the oldest pending message, then prefetch deeper for the next one. */
static int run_next(struct replay *r)
{
	struct pending *p = &r->ring[r->head];
	r->head = (r->head + 1) % AHEAD;
	r->count--;
	if (r->count)
		prefetch(r, &r->ring[r->head], 1);
	int ret = run_one(r, p);
	if (ret < 0)
		r->run_err = ret;
	return ret;
}

static int on_frame(void *ctx, const rd_capture_frame_t *f)
{
	struct replay *r = ctx;
	rd_frame_t fr;
	rd_diag_t d;

	r->st->frames++;
	if (rd_capture_parse(f->linktype, f->data, f->caplen, RD_FRAME_NO_UDP_CSUM, &fr, &d) < 0)
		return 0;
	if (fr.udp.dport != RD_DHCP_SERVER_PORT)
		return 0;
	if (r->count == AHEAD) {
		int ret = run_next(r);
		if (ret < 0)
			return ret;
	}
	struct pending *p = &r->ring[(r->head + r->count) % AHEAD];
	p->refused = rd_dhcp_parse(fr.payload, fr.payload_len, &p->req, &p->d) < 0;
	if (!p->refused && p->req.op != RD_BOOTREQUEST)
		return 0;
	p->number = f->number;
	p->ts_usec = f->ts_usec;
	p->fr = fr;
	r->count++;
	prefetch(r, p, 0);
	return 0;
}

int rd_replay_run(const rd_replay_opts_t *o, rd_replay_stats_t *st, char *err, size_t errlen)
{
	struct replay *r = calloc(1, sizeof(*r));
	int ret;

	memset(st, 0, sizeof(*st));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return RD_ENOMEM;
	}
	r->o = o;
	r->st = st;
	ret = rd_config_load(o->config, &r->cfg, err, errlen);
	if (ret < 0)
		goto out;
	ret = replay_link(r->cfg, o->link_addr, &r->link_addr, &r->link_mask, err, errlen);
	if (ret < 0)
		goto out;
	r->table = replay_table(r->cfg, o->input);
	if (!r->table) {
		snprintf(err, errlen, "cannot create the lease table");
		ret = RD_ENOMEM;
		goto out;
	}
	if (o->output) {
		r->dead = pcap_open_dead(DLT_EN10MB, 65535);
		if (r->dead && strcmp(o->output, "-") != 0) {
			/* Our own FILE, so answers can be buffered here (obuf). */
			FILE *fp = fopen(o->output, "wb");
			if (!fp) {
				snprintf(err, errlen, "%s: cannot write: %s", o->output, strerror(errno));
				ret = -errno;
				goto out;
			}
			r->dump = pcap_dump_fopen(r->dead, fp);   /* writes the file header */
			if (!r->dump) {
				fclose(fp);
			} else {
				r->ofp = fp;
				r->obuf = malloc(OBUF_SIZE);   /* NULL: pcap_dump through stdio */
			}
		} else {
			r->dump = r->dead ? pcap_dump_open(r->dead, o->output) : NULL;
		}
		if (!r->dump) {
			snprintf(err, errlen, "%s: cannot write: %s", o->output,
				 r->dead ? pcap_geterr(r->dead) : "out of memory");
			ret = RD_EINVAL;
			goto out;
		}
	}
	for (size_t i = 0; i < r->cfg->n_subnets; i++)
		r->any_cid |= !r->cfg->subnets[i].ignore_client_ids;
	ret = rd_capture_foreach(o->input, on_frame, r, err, errlen);
	/* The last messages, also after a capture error (they came before it). */
	while (r->count && !r->run_err) {
		int rr = run_next(r);
		if (rr < 0 && ret >= 0)
			ret = rr;
	}
	if (r->obuf) {
		out_flush(r);
		errno = 0;
		if (fflush(r->ofp) != 0 && !r->oerr)
			r->oerr = errno ? errno : EIO;
		if (r->oerr && ret >= 0) {
			snprintf(err, errlen, "%s: cannot write: %s", o->output, strerror(r->oerr));
			ret = -r->oerr;
		}
	}
out:
	free(r->obuf);
	if (r->dump)
		pcap_dump_close(r->dump);
	if (r->dead)
		pcap_close(r->dead);
	if (r->table && o->exiting && !REPLAY_LEAK_CHECKED && ret >= 0)
		replay_left_table = r->table;   /* the process exits: the OS takes it back */
	else if (r->table)
		rd_table_free(r->table);
	rd_config_free(r->cfg);
	free(r);
	return ret < 0 ? ret : 0;
}
