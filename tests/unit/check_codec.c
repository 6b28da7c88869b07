/* The chunk codec: varints, chunk round trips, and that every damaged chunk
 * is refused rather than misread. */
#include "config.h"
#include "suites.h"
#include "codec.h"
#include "hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <retro/retro.h>

/* ---- varints ------------------------------------------------------------- */

static const struct {
	uint64_t v;
	size_t len;
} varints[] = {
	{ 0, 1 },
	{ 1, 1 },
	{ 127, 1 },
	{ 128, 2 },
	{ 300, 2 },
	{ 16383, 2 },
	{ 16384, 3 },
	{ (uint64_t)1 << 32, 5 },
	{ (uint64_t)1 << 63, 10 },
	{ UINT64_MAX, 10 },
};

#define NVARINTS (sizeof varints / sizeof *varints)

START_TEST(varint_roundtrip)
{
	struct retro_buf b = { 0 };
	const unsigned char *p;
	uint64_t v = 12345;

	retro_put_varint(&b, varints[_i].v);
	ck_assert_int_eq(b.oom, 0);
	ck_assert_uint_eq(b.len, varints[_i].len);
	p = b.p;
	ck_assert_int_eq(retro_get_varint(&p, b.p + b.len, &v), 0);
	ck_assert_uint_eq(v, varints[_i].v);
	ck_assert_ptr_eq(p, b.p + b.len);
	retro_buf_free(&b);
}
END_TEST

START_TEST(varint_bytes)
{
	/* Little-endian groups of 7 bits, high bit = more follows. */
	static const unsigned char b128[] = { 0x80, 0x01 };
	static const unsigned char b300[] = { 0xac, 0x02 };
	static const unsigned char bmax[] = { 0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0xff, 0x01 };
	struct retro_buf b = { 0 };

	retro_put_varint(&b, 128);
	ck_assert_uint_eq(b.len, 2);
	ck_assert_mem_eq(b.p, b128, 2);
	b.len = 0;
	retro_put_varint(&b, 300);
	ck_assert_uint_eq(b.len, 2);
	ck_assert_mem_eq(b.p, b300, 2);
	b.len = 0;
	retro_put_varint(&b, UINT64_MAX);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_mem_eq(b.p, bmax, 10);
	retro_buf_free(&b);
}
END_TEST

START_TEST(varint_sequence)
{
	struct retro_buf b = { 0 };
	const unsigned char *p;
	uint64_t v;

	for (size_t i = 0; i < NVARINTS; i++)
		retro_put_varint(&b, varints[i].v);
	p = b.p;
	for (size_t i = 0; i < NVARINTS; i++) {
		ck_assert_int_eq(retro_get_varint(&p, b.p + b.len, &v), 0);
		ck_assert_uint_eq(v, varints[i].v);
	}
	ck_assert_ptr_eq(p, b.p + b.len);
	ck_assert_int_eq(retro_get_varint(&p, b.p + b.len, &v),
			 RETRO_ECORRUPT);
	retro_buf_free(&b);
}
END_TEST

START_TEST(varint_truncated)
{
	struct retro_buf b = { 0 };

	retro_put_varint(&b, varints[_i].v);
	for (size_t cut = 0; cut < b.len; cut++) {
		const unsigned char *p = b.p;
		uint64_t v = 77;

		ck_assert_int_eq(retro_get_varint(&p, b.p + cut, &v),
				 RETRO_ECORRUPT);
		ck_assert_ptr_eq(p, b.p); /* not advanced on error */
		ck_assert_uint_eq(v, 77);
	}
	retro_buf_free(&b);
}
END_TEST

START_TEST(varint_too_long)
{
	/* Eleven bytes that all say "more follows": no uint64 is that long. */
	unsigned char b[11];
	const unsigned char *p = b;
	uint64_t v;

	memset(b, 0x80, sizeof b);
	ck_assert_int_eq(retro_get_varint(&p, b + sizeof b, &v),
			 RETRO_ECORRUPT);
	ck_assert_ptr_eq(p, b);
}
END_TEST

/* ---- chunk round trips --------------------------------------------------- */

#define PROC 17u
#define THREAD 3u
#define ID_A 0xfeedface00000001ull
#define ID_B 0x8000000000000003ull
#define ID_C 0x0123456789abcdefull
#define STACK1 0xa5a5a5a5a5a5a5a5ull
#define STACK2 0x0000000000000011ull

/* One action of each shape the codec distinguishes.  In-flight actions
 * have end == start, as the importer makes them. */
static size_t make_actions(struct retro_action *a)
{
	size_t n = 0;
	int64_t t = 1700000000000000000ll;

	memset(a, 0, 12 * sizeof *a);
	/* open: path id argument, created, a stack */
	a[n].tid = 4242;
	a[n].call = RC_open;
	a[n].state = 2;
	a[n].seq = 1;
	a[n].start = t;
	a[n].end = t + 5000;
	a[n].ret = 3;
	a[n].flags = RA_CREATED;
	a[n].stack = STACK1;
	a[n].arg[0] = ID_A;
	a[n].arg[1] = O_CREAT | O_WRONLY;
	a[n].arg[2] = 0644;
	n++;
	/* pwrite: plain arguments, data, hash, object, offset */
	a[n].tid = 4242;
	a[n].call = RC_pwrite;
	a[n].state = 2;
	a[n].seq = 2;
	a[n].start = t + 7000;
	a[n].end = t + 9000;
	a[n].ret = 5;
	a[n].flags = RA_DATA | RA_HASH | RA_OFFSET;
	a[n].stack = STACK1;
	a[n].obj = ID_A;
	a[n].off = (int64_t)1 << 40;
	a[n].hash[0] = 0x1122334455667788ull;
	a[n].hash[1] = 0x99aabbccddeeff00ull;
	a[n].datalen = 5;
	a[n].arg[0] = 3;
	a[n].arg[1] = 0x7ffd12345678ull;
	a[n].arg[2] = 5;
	a[n].arg[3] = (uint64_t)1 << 40;
	n++;
	/* rename failing: two path ids, negative ret, errno, another tid */
	a[n].tid = 4243;
	a[n].call = RC_rename;
	a[n].state = 2;
	a[n].seq = 3;
	a[n].start = t + 10000;
	a[n].end = t + 10001;
	a[n].ret = -1;
	a[n].err = ENOENT;
	a[n].stack = STACK2;
	a[n].arg[0] = ID_B;
	a[n].arg[1] = ID_C;
	n++;
	/* read in flight, back on the first tid, after a gap in seq */
	a[n].tid = 4242;
	a[n].call = RC_read;
	a[n].state = 1;
	a[n].seq = 9;
	a[n].start = t + 20000;
	a[n].end = t + 20000;
	a[n].obj = ID_C;
	a[n].arg[0] = 0;
	a[n].arg[1] = 0x7ffd00000000ull;
	a[n].arg[2] = 4096;
	n++;
	/* pre-image: arg0 is an id, the rest plain; data kept */
	a[n].tid = 4242;
	a[n].call = RC_preimage;
	a[n].state = 2;
	a[n].seq = 10;
	a[n].start = t + 30000;
	a[n].end = t + 30500;
	a[n].flags = RA_DATA | RA_HASH;
	a[n].hash[0] = 1;
	a[n].hash[1] = 0;
	a[n].datalen = 12345;
	a[n].arg[0] = ID_B;
	a[n].arg[1] = 0100644;
	a[n].arg[2] = 12345;
	a[n].arg[3] = 1000;
	a[n].arg[4] = 1000;
	a[n].arg[5] = 1699999999123456789ull;
	n++;
	/* lseek with extreme values; starts earlier than the one before */
	a[n].tid = 4242;
	a[n].call = RC_lseek;
	a[n].state = 2;
	a[n].seq = 11;
	a[n].start = t + 25000;
	a[n].end = t + 26000;
	a[n].ret = INT64_MIN;
	a[n].err = -7;
	a[n].off = INT64_MIN;
	a[n].flags = 0xffff;
	a[n].hash[1] = 0xffffffffffffffffull;
	a[n].datalen = UINT32_MAX;
	a[n].arg[0] = 4;
	a[n].arg[1] = (uint64_t)-100;
	a[n].arg[2] = 2;
	a[n].arg[3] = UINT64_MAX; /* beyond nargs: kept all the same */
	n++;
	/* start: arg0 an id, arg1..3 plain, arg4 zero */
	a[n].tid = 4242;
	a[n].call = RC_start;
	a[n].state = 2;
	a[n].seq = 12;
	a[n].start = t + 40000;
	a[n].end = t + 40000;
	a[n].arg[0] = ID_C;
	a[n].arg[1] = 7;
	a[n].arg[2] = 1234;
	a[n].arg[3] = 1;
	n++;
	/* fdinfo: arg1 is the id */
	a[n].tid = 4242;
	a[n].call = RC_fdinfo;
	a[n].state = 2;
	a[n].seq = 13;
	a[n].start = t + 40001;
	a[n].end = t + 40001;
	a[n].arg[0] = 1;
	a[n].arg[1] = ID_A;
	a[n].arg[2] = O_WRONLY | O_APPEND;
	n++;
	/* symlink: K_STR and K_PATH, both ids */
	a[n].tid = 4242;
	a[n].call = RC_symlink;
	a[n].state = 2;
	a[n].seq = 14;
	a[n].start = t + 50000;
	a[n].end = t + 50002;
	a[n].arg[0] = ID_C;
	a[n].arg[1] = ID_B;
	n++;
	/* all zero but what every action has */
	a[n].tid = 4242;
	a[n].call = RC_close;
	a[n].state = 1;
	a[n].seq = 15;
	a[n].start = t + 60000;
	a[n].end = t + 60000;
	n++;
	return n;
}

static void assert_action_eq(const struct retro_action *x,
			     const struct retro_action *y, size_t i)
{
	ck_assert_msg(x->proc == y->proc, "[%zu] proc %u != %u", i, x->proc,
		      y->proc);
	ck_assert_msg(x->thread == y->thread, "[%zu] thread", i);
	ck_assert_msg(x->seq == y->seq, "[%zu] seq %llu != %llu", i,
		      (unsigned long long)x->seq, (unsigned long long)y->seq);
	ck_assert_msg(x->tid == y->tid, "[%zu] tid %d != %d", i, x->tid,
		      y->tid);
	ck_assert_msg(x->call == y->call, "[%zu] call", i);
	ck_assert_msg(x->state == y->state, "[%zu] state %u != %u", i,
		      x->state, y->state);
	ck_assert_msg(x->flags == y->flags, "[%zu] flags", i);
	ck_assert_msg(x->err == y->err, "[%zu] err %d != %d", i, x->err,
		      y->err);
	ck_assert_msg(x->start == y->start, "[%zu] start", i);
	ck_assert_msg(x->end == y->end, "[%zu] end %lld != %lld", i,
		      (long long)x->end, (long long)y->end);
	ck_assert_msg(x->ret == y->ret, "[%zu] ret", i);
	ck_assert_msg(x->off == y->off, "[%zu] off", i);
	ck_assert_msg(x->stack == y->stack, "[%zu] stack", i);
	ck_assert_msg(x->obj == y->obj, "[%zu] obj", i);
	ck_assert_msg(x->hash[0] == y->hash[0] && x->hash[1] == y->hash[1],
		      "[%zu] hash", i);
	for (int k = 0; k < RETRO_MAXARGS; k++)
		ck_assert_msg(x->arg[k] == y->arg[k],
			      "[%zu] arg%d %llx != %llx", i, k,
			      (unsigned long long)x->arg[k],
			      (unsigned long long)y->arg[k]);
	ck_assert_msg(x->datalen == y->datalen, "[%zu] datalen", i);
}

static void encode_sample(struct retro_buf *b, struct retro_action *acts,
			  size_t *n)
{
	*n = make_actions(acts);
	ck_assert_int_eq(retro_chunk_encode(acts, *n, b), 0);
	ck_assert_uint_gt(b->len, 12);
	for (size_t i = 0; i < *n; i++) {
		acts[i].proc = PROC;
		acts[i].thread = THREAD;
	}
}

START_TEST(chunk_roundtrip)
{
	struct retro_action in[12], *out = NULL;
	struct retro_buf b = { 0 };
	size_t n, m = 0;

	encode_sample(&b, in, &n);
	ck_assert_uint_eq(n, 10);
	ck_assert_int_eq(retro_chunk_decode(b.p, b.len, PROC, THREAD, &out, &m),
			 0);
	ck_assert_uint_eq(m, n);
	for (size_t i = 0; i < n; i++)
		assert_action_eq(&out[i], &in[i], i);
	free(out);
	retro_buf_free(&b);
}
END_TEST

START_TEST(chunk_reencode_resets)
{
	/* The output buffer is reset by each encode: no stale prefix. */
	struct retro_action in[12], *out = NULL;
	struct retro_buf b = { 0 };
	size_t n, m = 0;

	encode_sample(&b, in, &n);
	ck_assert_int_eq(retro_chunk_encode(in + 2, 1, &b), 0);
	ck_assert_int_eq(retro_chunk_decode(b.p, b.len, PROC, THREAD, &out, &m),
			 0);
	ck_assert_uint_eq(m, 1);
	assert_action_eq(&out[0], &in[2], 2);
	free(out);
	retro_buf_free(&b);
}
END_TEST

START_TEST(chunk_empty)
{
	struct retro_action *out = NULL;
	struct retro_buf b = { 0 };
	size_t m = 99;

	ck_assert_int_eq(retro_chunk_encode(NULL, 0, &b), 0);
	ck_assert_int_eq(retro_chunk_decode(b.p, b.len, 1, 1, &out, &m), 0);
	ck_assert_uint_eq(m, 0);
	free(out);
	retro_buf_free(&b);
}
END_TEST

static unsigned occurrences(const struct retro_buf *b, uint64_t id)
{
	unsigned n = 0;

	for (size_t i = 0; i + 8 <= b->len; i++)
		if (memcmp(b->p + i, &id, 8) == 0)
			n++;
	return n;
}

START_TEST(chunk_ids_kept_once)
{
	/* A full chunk of writes to one object from one call site: its
	 * 64-bit ids are stored once, not per action. */
	struct retro_action *in = calloc(RETRO_CHUNK_MAX, sizeof *in), *out;
	struct retro_buf b = { 0 };
	size_t m = 0;

	ck_assert_ptr_nonnull(in);
	for (size_t i = 0; i < RETRO_CHUNK_MAX; i++) {
		in[i].tid = 99;
		in[i].call = RC_write;
		in[i].state = 2;
		in[i].seq = i + 1;
		in[i].start = 1000 + (int64_t)i * 10;
		in[i].end = in[i].start + 3;
		in[i].ret = 1;
		in[i].obj = ID_C;
		in[i].stack = STACK1;
		in[i].arg[0] = 5;
		in[i].arg[2] = 1;
		in[i].proc = 2;
		in[i].thread = 1;
	}
	ck_assert_int_eq(retro_chunk_encode(in, RETRO_CHUNK_MAX, &b), 0);
	ck_assert_uint_eq(occurrences(&b, ID_C), 1);
	ck_assert_uint_eq(occurrences(&b, STACK1), 1);
	/* two inlined ids alone would cost 16 bytes an action */
	ck_assert_uint_lt(b.len, RETRO_CHUNK_MAX * 16);
	ck_assert_int_eq(retro_chunk_decode(b.p, b.len, 2, 1, &out, &m), 0);
	ck_assert_uint_eq(m, RETRO_CHUNK_MAX);
	for (size_t i = 0; i < m; i++)
		assert_action_eq(&out[i], &in[i], i);
	free(out);
	free(in);
	retro_buf_free(&b);
}
END_TEST

/* Which argument slots hold ids (kept once in the chunk's id table, raw)
 * and which plain values (zigzag varints). */
static const struct {
	uint16_t call;
	int slot;
	int is_id;
} slots[] = {
	{ RC_rename, 0, 1 },   { RC_rename, 1, 1 },  { RC_open, 0, 1 },
	{ RC_openat, 1, 1 },   { RC_symlink, 0, 1 }, { RC_preimage, 0, 1 },
	{ RC_start, 0, 1 },    { RC_fdinfo, 1, 1 },  { RC_pwrite, 0, 0 },
	{ RC_pwrite, 3, 0 },   { RC_openat, 0, 0 },  { RC_preimage, 1, 0 },
	{ RC_preimage, 5, 0 }, { RC_start, 1, 0 },   { RC_fdinfo, 0, 0 },
	{ RC_loss, 0, 0 },
};

#define NSLOTS (sizeof slots / sizeof *slots)

START_TEST(chunk_id_slots)
{
	const uint64_t v = 0x8877665544332211ull;
	struct retro_action a, *out = NULL;
	struct retro_buf b = { 0 };
	size_t m = 0;

	memset(&a, 0, sizeof a);
	a.call = slots[_i].call;
	a.state = 2;
	a.seq = 1;
	a.arg[slots[_i].slot] = v;
	ck_assert_int_eq(retro_chunk_encode(&a, 1, &b), 0);
	ck_assert_msg(occurrences(&b, v) == (unsigned)slots[_i].is_id,
		      "%s arg%d: raw id %s in the chunk",
		      retro_calls[a.call].name, slots[_i].slot,
		      slots[_i].is_id ? "missing" : "present");
	ck_assert_int_eq(retro_chunk_decode(b.p, b.len, 1, 1, &out, &m), 0);
	ck_assert_uint_eq(m, 1);
	ck_assert_uint_eq(out[0].arg[slots[_i].slot], v);
	free(out);
	retro_buf_free(&b);
}
END_TEST

/* ---- damaged chunks ------------------------------------------------------ */

START_TEST(chunk_every_byte_flipped)
{
	static const unsigned char masks[] = { 0x01, 0x80, 0xff };
	struct retro_action in[12];
	struct retro_buf b = { 0 };
	unsigned char *copy;
	size_t n;

	encode_sample(&b, in, &n);
	copy = malloc(b.len);
	ck_assert_ptr_nonnull(copy);
	for (size_t i = 0; i < b.len; i++) {
		for (size_t k = 0; k < sizeof masks; k++) {
			struct retro_action *out = (void *)&b;
			size_t m = 4242;
			int rc;

			memcpy(copy, b.p, b.len);
			copy[i] ^= masks[k];
			rc = retro_chunk_decode(copy, b.len, PROC, THREAD, &out,
						&m);
			ck_assert_msg(rc == RETRO_ECORRUPT,
				      "byte %zu of %zu ^ 0x%02x: decode "
				      "returned %d",
				      i, b.len, masks[k], rc);
			/* Nothing is handed out on failure. */
			ck_assert_ptr_eq(out, (void *)&b);
			ck_assert_uint_eq(m, 4242);
		}
	}
	free(copy);
	retro_buf_free(&b);
}
END_TEST

START_TEST(chunk_every_truncation)
{
	struct retro_action in[12];
	struct retro_buf b = { 0 };
	size_t n;

	encode_sample(&b, in, &n);
	for (size_t len = 0; len < b.len; len++) {
		/* A copy of exactly len bytes, so that reading past it is
		 * reading past an allocation. */
		unsigned char *copy = malloc(len ? len : 1);
		struct retro_action *out = NULL;
		size_t m = 0;
		int rc;

		ck_assert_ptr_nonnull(copy);
		memcpy(copy, b.p, len);
		rc = retro_chunk_decode(copy, len, PROC, THREAD, &out, &m);
		ck_assert_msg(rc == RETRO_ECORRUPT,
			      "truncated to %zu of %zu: decode returned %d",
			      len, b.len, rc);
		free(copy);
	}
	retro_buf_free(&b);
}
END_TEST

/* Chunks built by hand with a valid checksum: the decoder's structural
 * checks, not its checksum, must refuse them. */
static void raw(struct retro_buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		unsigned char *q;

		while (cap < b->len + n)
			cap *= 2;
		q = realloc(b->p, cap);
		ck_assert_ptr_nonnull(q);
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void hand_begin(struct retro_buf *b, uint32_t magic, uint64_t n,
		       uint64_t tid0, uint64_t nids, const uint64_t *ids)
{
	b->len = 0;
	b->oom = 0;
	raw(b, &magic, 4);
	retro_put_varint(b, n);
	retro_put_varint(b, tid0);
	retro_put_varint(b, nids);
	for (uint64_t i = 0; ids && i < nids; i++)
		raw(b, &ids[i], 8);
}

static void hand_seal(struct retro_buf *b)
{
	uint64_t sum = XXH64(b->p, b->len, 0);

	raw(b, &sum, 8);
	ck_assert_int_eq(b->oom, 0);
}

static int hand_decode(struct retro_buf *b, struct retro_action **out,
		       size_t *m)
{
	hand_seal(b);
	return retro_chunk_decode(b->p, b->len, 5, 6, out, m);
}

#define MAGIC 0x31484352u /* "RCH1" */
#define M_DONE 1u
#define M_RET 2u
#define M_OBJ (1u << 5)
#define M_HASH (1u << 7)
#define M_ARG0 (1u << 10)

/* One minimal done action: close(9) = 0 at start 10, end 15. */
static void hand_close(struct retro_buf *b, uint64_t call)
{
	retro_put_varint(b, M_DONE | M_ARG0);
	retro_put_varint(b, call);
	retro_put_varint(b, 1);  /* seq delta */
	retro_put_varint(b, 20); /* zigzag(10) */
	retro_put_varint(b, 10); /* zigzag(5) */
	retro_put_varint(b, 18); /* zigzag(9) */
}

START_TEST(hand_valid)
{
	/* The hand encoder agrees with the codec: this is what the
	 * negative cases below depart from. */
	struct retro_buf b = { 0 };
	struct retro_action *out = NULL;
	size_t m = 0;

	hand_begin(&b, MAGIC, 1, 77, 0, NULL);
	hand_close(&b, RC_close);
	ck_assert_int_eq(hand_decode(&b, &out, &m), 0);
	ck_assert_uint_eq(m, 1);
	ck_assert_uint_eq(out[0].proc, 5);
	ck_assert_uint_eq(out[0].thread, 6);
	ck_assert_int_eq(out[0].tid, 77);
	ck_assert_uint_eq(out[0].call, RC_close);
	ck_assert_uint_eq(out[0].state, 2);
	ck_assert_uint_eq(out[0].seq, 1);
	ck_assert_int_eq(out[0].start, 10);
	ck_assert_int_eq(out[0].end, 15);
	ck_assert_uint_eq(out[0].arg[0], 9);
	free(out);
	retro_buf_free(&b);
}
END_TEST

START_TEST(hand_bad_magic)
{
	struct retro_buf b = { 0 };
	struct retro_action *out = NULL;
	size_t m = 0;

	hand_begin(&b, MAGIC ^ 1, 1, 77, 0, NULL);
	hand_close(&b, RC_close);
	ck_assert_int_eq(hand_decode(&b, &out, &m), RETRO_ECORRUPT);
	retro_buf_free(&b);
}
END_TEST

START_TEST(hand_bad_call)
{
	const uint64_t calls[] = { 0, RC_NCALLS, RC_NCALLS + 1000 };
	struct retro_buf b = { 0 };
	struct retro_action *out = NULL;
	size_t m = 0;

	for (size_t i = 0; i < sizeof calls / sizeof *calls; i++) {
		hand_begin(&b, MAGIC, 1, 77, 0, NULL);
		hand_close(&b, calls[i]);
		ck_assert_msg(hand_decode(&b, &out, &m) == RETRO_ECORRUPT,
			      "call %llu accepted",
			      (unsigned long long)calls[i]);
	}
	retro_buf_free(&b);
}
END_TEST

START_TEST(hand_trailing_byte)
{
	struct retro_buf b = { 0 };
	struct retro_action *out = NULL;
	size_t m = 0;

	hand_begin(&b, MAGIC, 1, 77, 0, NULL);
	hand_close(&b, RC_close);
	retro_put_varint(&b, 0);
	ck_assert_int_eq(hand_decode(&b, &out, &m), RETRO_ECORRUPT);
	retro_buf_free(&b);
}
END_TEST

START_TEST(hand_missing_action)
{
	struct retro_buf b = { 0 };
	struct retro_action *out = NULL;
	size_t m = 0;

	hand_begin(&b, MAGIC, 2, 77, 0, NULL);
	hand_close(&b, RC_close);
	ck_assert_int_eq(hand_decode(&b, &out, &m), RETRO_ECORRUPT);
	retro_buf_free(&b);
}
END_TEST

START_TEST(hand_too_many_actions)
{
	struct retro_buf b = { 0 };
	struct retro_action *out = NULL;
	size_t m = 0;

	hand_begin(&b, MAGIC, RETRO_CHUNK_MAX + 1, 77, 0, NULL);
	for (int i = 0; i < RETRO_CHUNK_MAX + 1; i++)
		hand_close(&b, RC_close);
	ck_assert_int_eq(hand_decode(&b, &out, &m), RETRO_ECORRUPT);
	retro_buf_free(&b);
}
END_TEST

START_TEST(hand_id_table_too_long)
{
	struct retro_buf b = { 0 };
	struct retro_action *out = NULL;
	size_t m = 0;

	hand_begin(&b, MAGIC, 1, 77, (uint64_t)1 << 60, NULL);
	hand_close(&b, RC_close);
	ck_assert_int_eq(hand_decode(&b, &out, &m), RETRO_ECORRUPT);
	retro_buf_free(&b);
}
END_TEST

START_TEST(hand_id_index_out_of_range)
{
	const uint64_t ids[] = { ID_A };
	struct retro_buf b = { 0 };
	struct retro_action *out = NULL;
	size_t m = 0;

	/* rename(ids[0], ids[1]) with a one-entry table */
	hand_begin(&b, MAGIC, 1, 77, 1, ids);
	retro_put_varint(&b, M_DONE | M_ARG0 | M_ARG0 << 1);
	retro_put_varint(&b, RC_rename);
	retro_put_varint(&b, 1);
	retro_put_varint(&b, 2);
	retro_put_varint(&b, 0);
	retro_put_varint(&b, 0);
	retro_put_varint(&b, 1);
	ck_assert_int_eq(hand_decode(&b, &out, &m), RETRO_ECORRUPT);

	/* the same with index 0 twice decodes */
	hand_begin(&b, MAGIC, 1, 77, 1, ids);
	retro_put_varint(&b, M_DONE | M_ARG0 | M_ARG0 << 1);
	retro_put_varint(&b, RC_rename);
	retro_put_varint(&b, 1);
	retro_put_varint(&b, 2);
	retro_put_varint(&b, 0);
	retro_put_varint(&b, 0);
	retro_put_varint(&b, 0);
	ck_assert_int_eq(hand_decode(&b, &out, &m), 0);
	ck_assert_uint_eq(out[0].arg[0], ID_A);
	ck_assert_uint_eq(out[0].arg[1], ID_A);
	free(out);

	/* obj index past the table */
	hand_begin(&b, MAGIC, 1, 77, 1, ids);
	retro_put_varint(&b, M_DONE | M_OBJ);
	retro_put_varint(&b, RC_fsync);
	retro_put_varint(&b, 1);
	retro_put_varint(&b, 2);
	retro_put_varint(&b, 0);
	retro_put_varint(&b, 1);
	ck_assert_int_eq(hand_decode(&b, &out, &m), RETRO_ECORRUPT);
	retro_buf_free(&b);
}
END_TEST

START_TEST(hand_short_hash)
{
	struct retro_buf b = { 0 };
	struct retro_action *out = NULL;
	size_t m = 0;

	hand_begin(&b, MAGIC, 1, 77, 0, NULL);
	retro_put_varint(&b, M_DONE | M_HASH);
	retro_put_varint(&b, RC_read);
	retro_put_varint(&b, 1);
	retro_put_varint(&b, 2);
	retro_put_varint(&b, 0);
	for (int i = 0; i < 15; i++)
		retro_put_varint(&b, 0x7f);
	ck_assert_int_eq(hand_decode(&b, &out, &m), RETRO_ECORRUPT);
	retro_buf_free(&b);
}
END_TEST

START_TEST(resealed_mutations)
{
	/* Every single-byte change that keeps a valid checksum decodes to
	 * something or is refused: never a crash, never another error. */
	static const unsigned char masks[] = { 0x01, 0x02, 0x10, 0x40, 0x80,
					       0xff };
	struct retro_action in[12];
	struct retro_buf b = { 0 }, c = { 0 };
	size_t n, body;
	unsigned ok = 0, bad = 0;

	encode_sample(&b, in, &n);
	body = b.len - 8;
	for (size_t i = 0; i < body; i++) {
		for (size_t k = 0; k < sizeof masks; k++) {
			struct retro_action *out = NULL;
			size_t m = 0;
			int rc;

			c.len = 0;
			raw(&c, b.p, body);
			c.p[i] ^= masks[k];
			rc = hand_decode(&c, &out, &m);
			ck_assert_msg(rc == 0 || rc == RETRO_ECORRUPT,
				      "byte %zu ^ 0x%02x: %d", i, masks[k], rc);
			if (rc == 0) {
				ck_assert_uint_le(m, RETRO_CHUNK_MAX);
				free(out);
				ok++;
			} else {
				bad++;
			}
		}
	}
	/* Changing the magic alone is always refused. */
	ck_assert_uint_gt(bad, 4 * sizeof masks - 1);
	ck_assert_uint_gt(ok, 0);
	retro_buf_free(&b);
	retro_buf_free(&c);
}
END_TEST

Suite *make_codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc;

	tc = tcase_create("varint");
	tcase_add_loop_test(tc, varint_roundtrip, 0, NVARINTS);
	tcase_add_test(tc, varint_bytes);
	tcase_add_test(tc, varint_sequence);
	tcase_add_loop_test(tc, varint_truncated, 0, NVARINTS);
	tcase_add_test(tc, varint_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("chunk");
	tcase_add_test(tc, chunk_roundtrip);
	tcase_add_test(tc, chunk_reencode_resets);
	tcase_add_test(tc, chunk_empty);
	tcase_add_test(tc, chunk_ids_kept_once);
	tcase_add_loop_test(tc, chunk_id_slots, 0, NSLOTS);
	suite_add_tcase(s, tc);

	tc = tcase_create("damage");
	tcase_add_test(tc, chunk_every_byte_flipped);
	tcase_add_test(tc, chunk_every_truncation);
	tcase_add_test(tc, hand_valid);
	tcase_add_test(tc, hand_bad_magic);
	tcase_add_test(tc, hand_bad_call);
	tcase_add_test(tc, hand_trailing_byte);
	tcase_add_test(tc, hand_missing_action);
	tcase_add_test(tc, hand_too_many_actions);
	tcase_add_test(tc, hand_id_table_too_long);
	tcase_add_test(tc, hand_id_index_out_of_range);
	tcase_add_test(tc, hand_short_hash);
	tcase_add_test(tc, resealed_mutations);
	suite_add_tcase(s, tc);
	return s;
}
