/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz_lease_row — libFuzzer target for rd_store_row_to_lease, the check
 * every row of leases.db passes before it becomes a lease at start-up.
 *
 * Input format (everything little-endian; a short input reads as zeros):
 *   1 byte   flags: bit 0..2 make chaddr / client_id / hostname a NULL
 *            pointer (with whatever length follows), bit 3 sets type_errors
 *            from the next 2 bytes
 *   [2 bytes type_errors, if flag bit 3]
 *   11 integers, in rd_store_row_t order (addr, state, starts, ends, tstp,
 *            tsfp, atsfp, cltt, flags, htype, seq), each a tag byte then:
 *            tag % 4 == 0: 1 byte; 1: 4 bytes (uint32); 2: 8 bytes (int64);
 *            3: 1 byte indexing a table of edge values (0, -1, 2^32-1, ...)
 *   3 blobs (chaddr, client_id, hostname), each a 2-byte length then that
 *            many bytes, cut to what is left of the input.  Blobs point into
 *            the input itself, which replay_main copies to an exact-size
 *            heap buffer, so ASan catches any read past a blob.
 *
 * Contracts checked (abort on violation):
 *  - a refusal sets out to NULL, a negative code and a reason;
 *  - an accepted row gives a lease whose fields equal the row's, and whose
 *    rd_store_lease_to_row round trip is accepted again (what loads can be
 *    stored again and vice versa);
 *  - rd_lease_key works on it.
 * The seeds in corpus/lease_row were written by hand in this format.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rackdhcp/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz_lease_row: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                           \
		}                                                                          \
	} while (0)

struct in {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct in *in, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++) {
		if (in->n) {
			v |= (uint64_t)in->p[0] << (8 * i);
			in->p++;
			in->n--;
		}
	}
	return v;
}

static int64_t take_int(struct in *in)
{
	static const int64_t edges[] = {
		0, 1, -1, 7, 8, 16, 17, 255, 256, 0xFFFF, 0x10000, 0xFFFFFFFE, 0xFFFFFFFF,
		0x100000000LL, INT64_MAX, INT64_MIN, 0x0a000001,
	};
	unsigned tag = (unsigned)take(in, 1);
	switch (tag % 4) {
	case 0:  return (int64_t)take(in, 1);
	case 1:  return (int64_t)take(in, 4);
	case 2:  return (int64_t)take(in, 8);
	default: return edges[take(in, 1) % (sizeof(edges) / sizeof(edges[0]))];
	}
}

static const uint8_t *take_blob(struct in *in, size_t *len)
{
	size_t want = (size_t)take(in, 2);
	if (want > in->n)
		want = in->n;
	const uint8_t *p = in->p;
	in->p += want;
	in->n -= want;
	*len = want;
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	rd_store_row_t r;
	memset(&r, 0, sizeof(r));

	unsigned flags = (unsigned)take(&in, 1);
	if (flags & 8)
		r.type_errors = (uint32_t)take(&in, 2);
	int64_t *ints[] = { &r.addr, &r.state, &r.starts, &r.ends, &r.tstp, &r.tsfp,
			    &r.atsfp, &r.cltt, &r.flags, &r.htype, &r.seq };
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		*ints[i] = take_int(&in);
	r.chaddr = take_blob(&in, &r.chaddr_len);
	r.client_id = take_blob(&in, &r.client_id_len);
	r.hostname = (const char *)take_blob(&in, &r.hostname_len);
	if (flags & 1)
		r.chaddr = NULL;
	if (flags & 2)
		r.client_id = NULL;
	if (flags & 4)
		r.hostname = NULL;

	rd_lease_t *l = (rd_lease_t *)&r;   /* must be overwritten */
	rd_diag_t d;
	int rc = rd_store_row_to_lease(&r, &l, &d);
	if (rc != 0) {
		CHECK(rc < 0 && l == NULL && d.code == rc && d.reason[0] != '\0');
		CHECK(memchr(d.reason, '\0', sizeof(d.reason)) != NULL);
		return 0;
	}
	CHECK(l != NULL);
	CHECK(l->addr == (uint64_t)r.addr && l->state == r.state && l->starts == r.starts &&
	      l->ends == r.ends && l->tstp == r.tstp && l->tsfp == r.tsfp && l->atsfp == r.atsfp &&
	      l->cltt == r.cltt && l->flags == r.flags && l->htype == r.htype && l->seq == (uint64_t)r.seq);
	CHECK(l->hlen == r.chaddr_len && l->hlen <= sizeof(l->chaddr));
	CHECK(l->cid_len == r.client_id_len && l->host_len == r.hostname_len);
	CHECK(!l->hlen || !memcmp(l->chaddr, r.chaddr, l->hlen));
	CHECK(!l->cid_len || !memcmp(rd_lease_cid(l), r.client_id, l->cid_len));
	CHECK(!l->host_len || !memcmp(rd_lease_host(l), r.hostname, l->host_len));

	rd_store_row_t back;
	rd_lease_t *again = NULL;
	rd_store_lease_to_row(l, &back);
	CHECK(rd_store_row_to_lease(&back, &again, &d) == 0);
	CHECK(again && rd_lease_size(again) == rd_lease_size(l));
	rd_lease_free(again);

	uint8_t key[RD_LEASE_KEY_MAX];
	size_t klen = rd_lease_key(l, key);
	CHECK(klen <= RD_LEASE_KEY_MAX);
	CHECK(!(l->flags & RD_LEASE_F_KEY_CID) || klen > 0);
	rd_lease_free(l);
	return 0;
}
