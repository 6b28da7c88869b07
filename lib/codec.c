#include "config.h"
#include "codec.h"
#include "hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_MAGIC 0x31484352u /* "RCH1" */

enum {
	M_DONE = 1 << 0,
	M_RET = 1 << 1,
	M_ERR = 1 << 2,
	M_FLAGS = 1 << 3,
	M_STACK = 1 << 4,
	M_OBJ = 1 << 5,
	M_OFF = 1 << 6,
	M_HASH = 1 << 7,
	M_DATA = 1 << 8,
	M_TID = 1 << 9,
	M_ARG0 = 1 << 10, /* ... M_ARG0 << 5 */
};

void retro_buf_free(struct retro_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

static void put(struct retro_buf *b, const void *p, size_t n)
{
	if (b->oom || n == 0)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + n)
			cap *= 2;
		unsigned char *q = realloc(b->p, cap);
		if (!q) {
			b->oom = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void retro_put_varint(struct retro_buf *b, uint64_t v)
{
	unsigned char tmp[10];
	int n = 0;

	while (v >= 0x80) {
		tmp[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (unsigned char)v;
	put(b, tmp, (size_t)n);
}

int retro_get_varint(const unsigned char **pp, const unsigned char *end,
		     uint64_t *v)
{
	const unsigned char *p = *pp;
	uint64_t x = 0;

	for (int s = 0; s < 64; s += 7) {
		if (p >= end)
			return RETRO_ECORRUPT;
		x |= (uint64_t)(*p & 0x7f) << s;
		if (!(*p++ & 0x80)) {
			*v = x;
			*pp = p;
			return 0;
		}
	}
	return RETRO_ECORRUPT;
}

static uint64_t zz(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static int64_t unzz(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* Times are deltas that wrap: a damaged or crafted chunk may hold any,
 * and signed overflow would be undefined. */
static int64_t sub_wrap(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a - (uint64_t)b);
}
static int64_t add_wrap(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

static int arg_is_id(int call, int i)
{
	return retro_arg_is_id(call, i);
}

struct idtab {
	uint64_t *ids;
	size_t n, cap;
};

static size_t id_index(struct idtab *t, uint64_t id)
{
	/* Chunks are small; a linear probe over a short table from the end
	 * finds the recent ids first. */
	for (size_t i = t->n; i-- > 0;)
		if (t->ids[i] == id)
			return i;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		uint64_t *q = realloc(t->ids, cap * sizeof *q);
		if (!q)
			return SIZE_MAX;
		t->ids = q;
		t->cap = cap;
	}
	t->ids[t->n] = id;
	return t->n++;
}

int retro_chunk_encode(const struct retro_action *acts, size_t n,
		       struct retro_buf *out)
{
	struct retro_buf body = { 0 };
	struct idtab ids = { 0 };
	int64_t prev_start = 0;
	uint64_t prev_seq = 0;
	int32_t tid0 = n ? acts[0].tid : 0;
	uint32_t magic = CHUNK_MAGIC;
	uint64_t sum;
	int rc = 0;

	out->len = 0;
	out->oom = 0;
	if (n > RETRO_CHUNK_MAX)
		return EINVAL;
	for (size_t i = 0; i < n; i++) {
		const struct retro_action *a = &acts[i];
		uint32_t m = 0;
		size_t ix[RETRO_MAXARGS + 2];

		if (a->state == 2)
			m |= M_DONE;
		if (a->ret)
			m |= M_RET;
		if (a->err)
			m |= M_ERR;
		if (a->flags)
			m |= M_FLAGS;
		if (a->stack)
			m |= M_STACK;
		if (a->obj)
			m |= M_OBJ;
		if (a->off)
			m |= M_OFF;
		if (a->hash[0] || a->hash[1])
			m |= M_HASH;
		if (a->datalen)
			m |= M_DATA;
		if (a->tid != tid0)
			m |= M_TID;
		for (int k = 0; k < RETRO_MAXARGS; k++)
			if (a->arg[k])
				m |= M_ARG0 << k;
		retro_put_varint(&body, m);
		retro_put_varint(&body, a->call);
		retro_put_varint(&body, a->seq - prev_seq);
		retro_put_varint(&body, zz(sub_wrap(a->start, prev_start)));
		prev_seq = a->seq;
		prev_start = a->start;
		if (m & M_DONE)
			retro_put_varint(&body, zz(sub_wrap(a->end, a->start)));
		if (m & M_RET)
			retro_put_varint(&body, zz(a->ret));
		if (m & M_ERR)
			retro_put_varint(&body, (uint32_t)a->err);
		if (m & M_FLAGS)
			retro_put_varint(&body, a->flags);
		if (m & M_STACK) {
			ix[0] = id_index(&ids, a->stack);
			retro_put_varint(&body, ix[0]);
		}
		if (m & M_OBJ) {
			ix[1] = id_index(&ids, a->obj);
			retro_put_varint(&body, ix[1]);
		}
		if (m & M_OFF)
			retro_put_varint(&body, zz(a->off));
		if (m & M_HASH)
			put(&body, a->hash, 16);
		if (m & M_DATA)
			retro_put_varint(&body, a->datalen);
		if (m & M_TID)
			retro_put_varint(&body, (uint32_t)a->tid);
		for (int k = 0; k < RETRO_MAXARGS; k++) {
			if (!(m & (M_ARG0 << k)))
				continue;
			if (arg_is_id(a->call, k))
				retro_put_varint(&body, id_index(&ids, a->arg[k]));
			else
				retro_put_varint(&body, zz((int64_t)a->arg[k]));
		}
		if (ids.n && ids.ids == NULL) {
			rc = ENOMEM;
			goto out;
		}
	}
	put(out, &magic, 4);
	retro_put_varint(out, n);
	retro_put_varint(out, (uint32_t)tid0);
	retro_put_varint(out, ids.n);
	put(out, ids.ids, ids.n * 8);
	put(out, body.p, body.len);
	if (out->oom || body.oom) {
		rc = ENOMEM;
		goto out;
	}
	sum = XXH64(out->p, out->len, 0);
	put(out, &sum, 8);
	if (out->oom)
		rc = ENOMEM;
out:
	retro_buf_free(&body);
	free(ids.ids);
	return rc;
}

static int id_at(const unsigned char *ids, uint64_t nids, uint64_t ix,
		 uint64_t *out)
{
	if (ix >= nids)
		return RETRO_ECORRUPT;
	memcpy(out, ids + ix * 8, 8);
	return 0;
}

int retro_chunk_decode(const void *data, size_t len, uint32_t proc,
		       uint32_t thread, struct retro_action **actsp,
		       size_t *np)
{
	const unsigned char *p = data, *end;
	uint64_t n, tid0, nids, sum, v;
	const unsigned char *ids;
	struct retro_action *acts;
	int64_t prev_start = 0;
	uint64_t prev_seq = 0;
	uint32_t magic;

	if (len < 4 + 8)
		return RETRO_ECORRUPT;
	memcpy(&sum, p + len - 8, 8);
	if (XXH64(p, len - 8, 0) != sum)
		return RETRO_ECORRUPT;
	end = p + len - 8;
	memcpy(&magic, p, 4);
	if (magic != CHUNK_MAGIC)
		return RETRO_ECORRUPT;
	p += 4;
	if (retro_get_varint(&p, end, &n) || retro_get_varint(&p, end, &tid0) ||
	    retro_get_varint(&p, end, &nids))
		return RETRO_ECORRUPT;
	if (n > RETRO_CHUNK_MAX || nids > (uint64_t)(end - p) / 8)
		return RETRO_ECORRUPT;
	ids = p;
	p += nids * 8;
	acts = calloc(n ? n : 1, sizeof *acts);
	if (!acts)
		return ENOMEM;
	for (uint64_t i = 0; i < n; i++) {
		struct retro_action *a = &acts[i];
		uint64_t m, call;

		a->proc = proc;
		a->thread = thread;
		a->tid = (int32_t)tid0;
		if (retro_get_varint(&p, end, &m))
			goto corrupt;
		if (retro_get_varint(&p, end, &call))
			goto corrupt;
		if (call == 0 || call >= RC_NCALLS)
			goto corrupt;
		a->call = (uint16_t)call;
		if (retro_get_varint(&p, end, &v))
			goto corrupt;
		a->seq = prev_seq + v;
		prev_seq = a->seq;
		if (retro_get_varint(&p, end, &v))
			goto corrupt;
		a->start = add_wrap(prev_start, unzz(v));
		prev_start = a->start;
		a->state = (m & M_DONE) ? 2 : 1;
		a->end = a->start;
		if (m & M_DONE) {
			if (retro_get_varint(&p, end, &v))
				goto corrupt;
			a->end = add_wrap(a->start, unzz(v));
		}
		if (m & M_RET) {
			if (retro_get_varint(&p, end, &v))
				goto corrupt;
			a->ret = unzz(v);
		}
		if (m & M_ERR) {
			if (retro_get_varint(&p, end, &v))
				goto corrupt;
			a->err = (int32_t)v;
		}
		if (m & M_FLAGS) {
			if (retro_get_varint(&p, end, &v))
				goto corrupt;
			a->flags = (uint16_t)v;
		}
		if (m & M_STACK) {
			if (retro_get_varint(&p, end, &v))
				goto corrupt;
			if (id_at(ids, nids, v, &a->stack))
				goto corrupt;
		}
		if (m & M_OBJ) {
			if (retro_get_varint(&p, end, &v))
				goto corrupt;
			if (id_at(ids, nids, v, &a->obj))
				goto corrupt;
		}
		if (m & M_OFF) {
			if (retro_get_varint(&p, end, &v))
				goto corrupt;
			a->off = unzz(v);
		}
		if (m & M_HASH) {
			if (end - p < 16)
				goto corrupt;
			memcpy(a->hash, p, 16);
			p += 16;
		}
		if (m & M_DATA) {
			if (retro_get_varint(&p, end, &v))
				goto corrupt;
			a->datalen = (uint32_t)v;
		}
		if (m & M_TID) {
			if (retro_get_varint(&p, end, &v))
				goto corrupt;
			a->tid = (int32_t)v;
		}
		for (int k = 0; k < RETRO_MAXARGS; k++) {
			if (!(m & (M_ARG0 << k)))
				continue;
			if (retro_get_varint(&p, end, &v))
				goto corrupt;
			if (!arg_is_id(a->call, k))
				a->arg[k] = (uint64_t)unzz(v);
			else if (id_at(ids, nids, v, &a->arg[k]))
				goto corrupt;
		}
	}
	if (p != end)
		goto corrupt;
	*actsp = acts;
	*np = n;
	return 0;
corrupt:
	free(acts);
	return RETRO_ECORRUPT;
}
