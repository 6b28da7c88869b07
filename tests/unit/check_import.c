/* The importer (spool segments -> store), the reader, and the file model
 * over what they load.  Segments are made by hand, record by record, the
 * way the recorder lays them out in spool.h. */
#include "config.h"
#include "suites.h"
#include "store_int.h"
#include "hash.h"
#include "model.h"
#include "hb.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <retro/retro.h>

/* ---- hand-made segments -------------------------------------------------- */

struct retro_seg_hdr *seg_hdr(struct test_seg *s)
{
	return (struct retro_seg_hdr *)s->map;
}

void seg_init(struct test_seg *s, uint32_t proc, uint32_t image,
	      uint32_t thread, uint32_t segno, int32_t tid)
{
	struct retro_seg_hdr *h;

	s->map = calloc(1, TEST_SEG_SIZE);
	ck_assert_ptr_nonnull(s->map);
	s->used = 0;
	h = seg_hdr(s);
	memcpy(h->magic, RETRO_SPOOL_MAGIC, 8);
	h->version = RETRO_SPOOL_VERSION;
	h->hdr_size = RETRO_SEG_HDR;
	h->size = TEST_SEG_SIZE;
	h->used = 0;
	h->sealed = 1;
	h->proc = proc;
	h->image = image;
	h->thread = thread;
	h->segno = segno;
	h->pid = 2000000000; /* arbitrary: sealed segments are not probed */
	h->tid = tid;
	h->starttime = 123456789;
}

void seg_free(struct test_seg *s)
{
	free(s->map);
	s->map = NULL;
}

static void *seg_reserve(struct test_seg *s, size_t len, uint16_t type)
{
	struct retro_rec_hdr *h;

	len = (len + 7) & ~(size_t)7;
	ck_assert_uint_le(RETRO_SEG_HDR + s->used + len, TEST_SEG_SIZE);
	h = (void *)(s->map + RETRO_SEG_HDR + s->used);
	h->len = (uint32_t)len;
	h->type = type;
	h->state = RS_DONE;
	s->used += len;
	seg_hdr(s)->used = s->used;
	return h;
}

/* A path's id, as the shim interns it: the store checks paths by it. */
uint64_t test_path_id(const char *path)
{
	return retro_hash64(path, strlen(path)) | 1;
}

void seg_add_path(struct test_seg *s, uint64_t id, const char *path)
{
	size_t n = strlen(path);
	struct retro_rec_path *p = seg_reserve(s, sizeof *p + n, REC_PATH);

	p->id = id;
	p->len = (uint32_t)n;
	memcpy(p + 1, path, n);
}

void seg_add_stack(struct test_seg *s, uint64_t id, const uint64_t *pc,
		   uint32_t n)
{
	struct retro_rec_stack *r = seg_reserve(s, sizeof *r, REC_STACK);

	ck_assert_uint_le(n, RETRO_STACK_MAX);
	r->id = id;
	r->n = n;
	memcpy(r->pc, pc, n * sizeof *pc);
}

void seg_add_module(struct test_seg *s, uint64_t base, uint64_t size,
		    uint64_t bias, const uint8_t *build_id,
		    uint32_t build_id_len, const char *path)
{
	size_t n = strlen(path);
	struct retro_rec_module *m = seg_reserve(s, sizeof *m + n, REC_MODULE);

	ck_assert_uint_le(build_id_len, 20);
	m->base = base;
	m->size = size;
	m->bias = bias;
	if (build_id_len)
		memcpy(m->build_id, build_id, build_id_len);
	m->build_id_len = build_id_len;
	m->pathlen = (uint32_t)n;
	memcpy(m + 1, path, n);
}

void seg_add_clock(struct test_seg *s, int64_t mono, int64_t real)
{
	struct retro_rec_clock *c = seg_reserve(s, sizeof *c, REC_CLOCK);

	c->mono = mono;
	c->real = real;
}

struct retro_rec_action *seg_add_action(struct test_seg *s, int state,
					uint16_t call, uint64_t seq,
					int64_t start, int64_t end,
					const void *data, uint32_t datalen)
{
	/* every argument slot and a hash slot: tests fill what they need */
	struct retro_rec_action *a = seg_reserve(
		s, sizeof *a + retro_rec_tail(RO_HASH, RETRO_MAXARGS) + datalen,
		REC_ACTION);

	a->h.state = (uint16_t)state;
	a->call = call;
	a->seq = seq;
	a->start = start;
	a->end = end;
	a->nargs = RETRO_MAXARGS;
	a->opt = RO_HASH;
	if (data) {
		/* kept bytes: the importer hashes them */
		a->flags = RA_DATA;
		a->datalen = datalen;
		memcpy(retro_rec_data(a), data, datalen);
	}
	return a;
}

void seg_write(struct test_seg *s, const char *store, char *path, size_t n)
{
	const struct retro_seg_hdr *h = seg_hdr(s);
	char name[64], p[PATH_MAX];

	ck_assert_int_eq(retro_seg_name(name, sizeof name, h->proc, h->image,
					h->thread, h->segno),
			 0);
	ck_assert_int_lt(snprintf(p, sizeof p, "%s/spool/%s", store, name),
			 (int)sizeof p);
	test_write_file(p, s->map, TEST_SEG_SIZE);
	if (path)
		ck_assert_int_lt(snprintf(path, n, "%s", p), (int)n);
}

/* ---- the import of one segment ------------------------------------------- */

#define ID_FILE test_path_id("/tmp/x//y/./z")
#define ID_OTHER test_path_id("/etc/hosts")
#define TID 3131

struct fixture {
	char dir[PATH_MAX];
	char store[PATH_MAX];
	char seg[PATH_MAX];
	struct retro_store *st;
	struct test_seg s;
};

/* proc 7, thread 1: write "hello" (kept), read (hash only), unlink that
 * fails, a torn record, fsync in flight. */
static void basic_segment(struct test_seg *s, uint32_t proc)
{
	static const char abc[] = "abc";
	struct retro_rec_action *a;

	seg_init(s, proc, 0, 1, 0, TID);
	seg_add_path(s, ID_FILE, "/tmp/x//y/./z");
	seg_add_path(s, ID_OTHER, "/etc/hosts");
	seg_add_clock(s, 900, 1700000000000000900ll);

	a = seg_add_action(s, RS_DONE, RC_write, 1, 1000, 1100, "hello", 5);
	a->ret = 5;
	a->obj = ID_FILE;
	retro_rec_args(a)[0] = 4;
	retro_rec_args(a)[1] = 0x5000;
	retro_rec_args(a)[2] = 5;

	a = seg_add_action(s, RS_DONE, RC_read, 2, 2000, 2050, NULL, 0);
	a->ret = 3;
	a->flags = RA_HASH;
	retro_hash128(abc, 3, retro_rec_hash(a));
	a->obj = ID_OTHER;
	retro_rec_args(a)[0] = 5;
	retro_rec_args(a)[1] = 0x6000;
	retro_rec_args(a)[2] = 100;

	a = seg_add_action(s, RS_DONE, RC_unlink, 3, 3000, 3007, NULL, 0);
	a->ret = -1;
	a->err = ENOENT;
	retro_rec_args(a)[0] = ID_OTHER;

	/* Reserved by a writer that died before filling it in. */
	a = seg_add_action(s, RS_TORN, RC_close, 4, 3500, 3600, NULL, 0);
	retro_rec_args(a)[0] = 4;

	a = seg_add_action(s, RS_INTENT, RC_fsync, 5, 5000, 0, NULL, 0);
	a->obj = ID_FILE;
	retro_rec_args(a)[0] = 4;
}

static void fx_open(struct fixture *f)
{
	memset(f, 0, sizeof *f);
	test_tmpdir(f->dir, sizeof f->dir);
	f->st = test_store_new(f->dir, "store", f->store, sizeof f->store);
}

static void fx_close(struct fixture *f)
{
	seg_free(&f->s);
	retro_store_close(f->st);
}

static void import_ok(struct retro_store *st, uint32_t proc, int flags,
		      struct retro_import_stats *stats)
{
	int rc = retro_import(st, proc, flags, stats);

	ck_assert_msg(rc == 0, "retro_import: %d %s", rc, retro_strerror(rc));
}

static int str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* A scan of the store gives what retro_load gave: the same processes,
 * and the same actions in the same order. */
static void scan_same(struct retro_store *st, const struct retro_recording *r)
{
	struct retro_recording s;
	struct retro_scan *sc;
	struct retro_action a;
	char why[512] = "";
	size_t i = 0;
	int rc = retro_scan_open(st, &s, &sc, NULL, NULL, why, sizeof why);

	ck_assert_msg(rc == 0, "retro_scan_open: %d %s", rc, why);
	ck_assert_ptr_null(s.acts);
	ck_assert_uint_eq(s.nprocs, r->nprocs);
	ck_assert_int_eq(s.t0, r->t0);
	ck_assert_uint_eq(s.losses, r->losses);
	for (size_t k = 0; k < r->nprocs; k++) {
		const struct retro_proc *x = &s.procs[k], *y = &r->procs[k];
		ck_assert(x->id == y->id && x->parent == y->parent &&
			  x->pid == y->pid && x->ppid == y->ppid &&
			  x->start == y->start && x->end == y->end &&
			  x->status == y->status && x->flags == y->flags &&
			  x->images == y->images && x->threads == y->threads &&
			  x->actions == y->actions &&
			  x->timereads == y->timereads && str_eq(x->exe, y->exe));
	}
	while ((rc = retro_scan_next(sc, &a)) == 1) {
		const struct retro_action *b = &r->acts[i];
		ck_assert_uint_lt(i, r->nacts);
		ck_assert(a.proc == b->proc && a.thread == b->thread &&
			  a.seq == b->seq && a.call == b->call &&
			  a.state == b->state && a.flags == b->flags &&
			  a.err == b->err && a.start == b->start &&
			  a.end == b->end && a.ret == b->ret && a.obj == b->obj &&
			  a.stack == b->stack && a.hash[0] == b->hash[0] &&
			  !memcmp(a.arg, b->arg, sizeof a.arg));
		i++;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(i, r->nacts);
	retro_scan_close(sc);
	retro_recording_free(&s);
}

static void load_ok(struct retro_store *st, struct retro_recording *r)
{
	char why[512] = "";
	int rc = retro_load(st, r, why, sizeof why);

	ck_assert_msg(rc == 0, "retro_load: %d %s", rc, why);
	scan_same(st, r);
}

/* A scan refuses what retro_load refused, and says why (what). */
static void scan_refuses(struct retro_store *st, int want, const char *what)
{
	struct retro_recording s;
	struct retro_scan *sc = NULL;
	char why[512] = "";

	ck_assert_int_eq(retro_scan_open(st, &s, &sc, NULL, NULL, why,
					 sizeof why), want);
	ck_assert_ptr_null(sc);
	ck_assert_msg(strstr(why, what), "why: %s", why);
}

START_TEST(import_basic)
{
	struct fixture f;
	struct retro_import_stats stats;
	struct retro_recording r;
	const struct retro_action *a;
	uint64_t h[2];

	fx_open(&f);
	basic_segment(&f.s, 7);
	seg_write(&f.s, f.store, f.seg, sizeof f.seg);
	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.segments, 1);
	ck_assert_uint_eq(stats.skipped, 0);
	ck_assert_uint_eq(stats.bad, 0);
	ck_assert_uint_eq(stats.actions, 4);
	ck_assert_uint_eq(stats.inflight, 1);
	ck_assert_uint_eq(stats.bytes, 5);
	ck_assert_msg(!test_exists(f.seg), "%s was not removed", f.seg);

	load_ok(f.st, &r);
	ck_assert_uint_eq(r.nacts, 4);
	ck_assert_int_eq(r.t0, 1000);
	for (size_t i = 0; i < r.nacts; i++) {
		ck_assert_uint_eq(r.acts[i].proc, 7);
		ck_assert_uint_eq(r.acts[i].thread, 1);
		ck_assert_int_eq(r.acts[i].tid, TID);
	}

	a = &r.acts[0];
	ck_assert_uint_eq(a->call, RC_write);
	ck_assert_uint_eq(a->seq, 1);
	ck_assert_uint_eq(a->state, 2);
	ck_assert_int_eq(a->start, 1000);
	ck_assert_int_eq(a->end, 1100);
	ck_assert_int_eq(a->ret, 5);
	ck_assert_int_eq(a->err, 0);
	ck_assert_uint_eq(a->flags, RA_DATA | RA_HASH);
	ck_assert_uint_eq(a->obj, ID_FILE);
	ck_assert_uint_eq(a->stack, 0);
	ck_assert_uint_eq(a->datalen, 5);
	ck_assert_uint_eq(a->arg[0], 4);
	ck_assert_uint_eq(a->arg[1], 0x5000);
	ck_assert_uint_eq(a->arg[2], 5);
	retro_hash128("hello", 5, h);
	ck_assert(a->hash[0] == h[0] && a->hash[1] == h[1]);

	a = &r.acts[1];
	ck_assert_uint_eq(a->call, RC_read);
	ck_assert_uint_eq(a->seq, 2);
	ck_assert_uint_eq(a->state, 2);
	ck_assert_int_eq(a->start, 2000);
	ck_assert_int_eq(a->end, 2050);
	ck_assert_int_eq(a->ret, 3);
	ck_assert_uint_eq(a->flags, RA_HASH);
	ck_assert_uint_eq(a->obj, ID_OTHER);
	ck_assert_uint_eq(a->datalen, 0);
	ck_assert_uint_eq(a->arg[2], 100);
	retro_hash128("abc", 3, h);
	ck_assert(a->hash[0] == h[0] && a->hash[1] == h[1]);

	a = &r.acts[2];
	ck_assert_uint_eq(a->call, RC_unlink);
	ck_assert_uint_eq(a->seq, 3);
	ck_assert_uint_eq(a->state, 2);
	ck_assert_int_eq(a->ret, -1);
	ck_assert_int_eq(a->err, ENOENT);
	ck_assert_uint_eq(a->arg[0], ID_OTHER);
	ck_assert_int_eq(a->end, 3007);

	/* seq 4 was torn: skipped */
	a = &r.acts[3];
	ck_assert_uint_eq(a->call, RC_fsync);
	ck_assert_uint_eq(a->seq, 5);
	ck_assert_uint_eq(a->state, 1);
	ck_assert_int_eq(a->start, 5000);
	ck_assert_int_eq(a->end, 5000); /* in flight: ends where it began */
	ck_assert_uint_eq(a->obj, ID_FILE);
	ck_assert_uint_eq(a->arg[0], 4);

	/* the process derived from them */
	ck_assert_uint_eq(r.nprocs, 1);
	ck_assert_ptr_eq(retro_proc_find(&r, 7), &r.procs[0]);
	ck_assert_ptr_null(retro_proc_find(&r, 8));
	ck_assert_uint_eq(r.procs[0].actions, 4);
	ck_assert_uint_eq(r.procs[0].threads, 1);
	ck_assert_int_eq(r.procs[0].start, 1000);
	ck_assert_int_eq(r.procs[0].end, 5000);
	ck_assert_uint_eq(r.procs[0].flags & (RP_INFLIGHT | RP_ENDED),
			  RP_INFLIGHT);

	/* interned paths, normalized on import */
	ck_assert_pstr_eq(retro_path(f.st, ID_FILE), "/tmp/x/y/z");
	ck_assert_pstr_eq(retro_path(f.st, ID_OTHER), "/etc/hosts");
	ck_assert_pstr_eq(retro_path(f.st, ID_FILE), "/tmp/x/y/z"); /* cached */
	ck_assert_ptr_null(retro_path(f.st, 0x9999));
	ck_assert_ptr_null(retro_path(f.st, 0));
	retro_recording_free(&r);
	ck_assert_uint_eq(r.nacts, 0);

	/* the clock anchor: monotonic (big-endian key) -> realtime */
	{
		unsigned char key[8];
		MDB_val k = { 8, key }, v;
		MDB_txn *txn;
		int64_t real;

		be64(key, 900);
		ck_assert_int_eq(mdb_txn_begin(f.st->env, NULL, MDB_RDONLY,
					       &txn),
				 0);
		ck_assert_int_eq(mdb_get(txn, f.st->clock, &k, &v), 0);
		ck_assert_uint_eq(v.mv_size, 16); /* the anchor, its check */
		ck_assert_int_eq(retro_check_record(RT_CLOCK, &k, &v), 0);
		memcpy(&real, v.mv_data, 8);
		mdb_txn_abort(txn);
		ck_assert_int_eq(real, 1700000000000000900ll);
	}
	fx_close(&f);
}
END_TEST

/* A path record must hash to its id: a spool record that does not is a
 * damaged segment, and a stored one that no longer does is reported by
 * retro_load (naming it) and never shown by retro_path. */
START_TEST(import_path_checked)
{
	struct fixture f;
	struct retro_import_stats stats;
	struct retro_recording r;
	char why[512] = "";
	uint64_t id = ID_FILE;
	MDB_val k = { 8, &id }, v = { 5, "/evil" };
	MDB_txn *txn;

	fx_open(&f);
	seg_init(&f.s, 7, 0, 1, 0, TID);
	seg_add_path(&f.s, ID_FILE ^ 2, "/tmp/x//y/./z");
	seg_write(&f.s, f.store, f.seg, sizeof f.seg);
	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.bad, 1);
	ck_assert_uint_eq(stats.segments, 0);
	seg_free(&f.s);
	unlink(f.seg);

	basic_segment(&f.s, 7);
	seg_write(&f.s, f.store, f.seg, sizeof f.seg);
	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.segments, 1);
	load_ok(f.st, &r);
	retro_recording_free(&r);
	ck_assert_int_eq(mdb_txn_begin(f.st->env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_put(txn, f.st->paths, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	ck_assert_int_eq(retro_load(f.st, &r, why, sizeof why), RETRO_ECORRUPT);
	ck_assert_msg(strstr(why, "path record") && strstr(why, "fails its check"),
		      "why: %s", why);
	scan_refuses(f.st, RETRO_ECORRUPT, "fails its check");
	ck_assert_ptr_null(retro_path(f.st, ID_FILE));
	ck_assert_pstr_eq(retro_path(f.st, ID_OTHER), "/etc/hosts");
	fx_close(&f);
}
END_TEST

/* A chunk gone from the store (a damaged LMDB page can hide records
 * without any error from liblmdb) is found by the segments' totals. */
START_TEST(load_finds_missing_chunk)
{
	struct fixture f;
	struct retro_import_stats stats;
	struct retro_recording r;
	char why[512] = "";
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;

	fx_open(&f);
	basic_segment(&f.s, 7);
	seg_write(&f.s, f.store, f.seg, sizeof f.seg);
	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.segments, 1);
	load_ok(f.st, &r);
	retro_recording_free(&r);
	ck_assert_int_eq(mdb_txn_begin(f.st->env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_cursor_open(txn, f.st->chunks, &cur), 0);
	ck_assert_int_eq(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
	ck_assert_int_eq(mdb_cursor_del(cur, 0), 0);
	mdb_cursor_close(cur);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	ck_assert_int_eq(retro_load(f.st, &r, why, sizeof why), RETRO_ECORRUPT);
	ck_assert_msg(strstr(why, "the chunks hold 0 action(s) where the "
				  "imported segments gave 4"),
		      "why: %s", why);
	scan_refuses(f.st, RETRO_ECORRUPT, "imported segments gave 4");
	fx_close(&f);
}
END_TEST

/* Exit statuses, clock anchors, call sites and modules against their
 * keys. */
START_TEST(check_record_kinds)
{
	unsigned char wk[12] = { 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, 9 };
	unsigned char wv[12];
	uint64_t sum, key, frames[6] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66 },
			   pairs[4] = { 0x11, 0x22, 0x44, 0x55 };
	unsigned char mod[1 + 3 + 4] = { 3, 'b', 'i', 'd', '/', 'l', 'i', 'b' };
	int32_t status = 0x100;
	MDB_val k = { 12, wk }, v = { 12, wv };

	memcpy(wv, &status, 4);
	sum = retro_record_sum(wk, 12, wv, 4);
	memcpy(wv + 4, &sum, 8);
	ck_assert_int_eq(retro_check_record(RT_WAIT, &k, &v), 0);
	wv[0] ^= 1;
	ck_assert_int_eq(retro_check_record(RT_WAIT, &k, &v), RETRO_ECORRUPT);
	v.mv_size = 4;
	ck_assert_int_eq(retro_check_record(RT_WAIT, &k, &v), RETRO_ECORRUPT);

	key = retro_hash64(pairs, sizeof pairs) | 1;
	k = (MDB_val){ 8, &key };
	v = (MDB_val){ 48, frames };
	ck_assert_int_eq(retro_check_record(RT_STACK, &k, &v), 0);
	frames[2] ^= 1; /* the raw pc is not part of the key */
	ck_assert_int_eq(retro_check_record(RT_STACK, &k, &v), 0);
	frames[4] ^= 1;
	ck_assert_int_eq(retro_check_record(RT_STACK, &k, &v), RETRO_ECORRUPT);

	key = retro_hash64("bid", 3) | 1;
	v = (MDB_val){ sizeof mod, mod };
	ck_assert_int_eq(retro_check_record(RT_MODULE, &k, &v), 0);
	mod[2] ^= 1;
	ck_assert_int_eq(retro_check_record(RT_MODULE, &k, &v), RETRO_ECORRUPT);
	mod[2] ^= 1;
	mod[0] = 30; /* a build-id longer than any */
	ck_assert_int_eq(retro_check_record(RT_MODULE, &k, &v), RETRO_ECORRUPT);
}
END_TEST

START_TEST(import_blobs)
{
	struct fixture f;
	struct retro_import_stats stats;
	uint64_t h[2], unknown[2] = { 1, 2 };
	void *data = NULL;
	size_t len = 0;

	fx_open(&f);
	basic_segment(&f.s, 7);
	seg_write(&f.s, f.store, NULL, 0);
	import_ok(f.st, 0, 0, &stats);

	retro_hash128("hello", 5, h);
	ck_assert_int_eq(retro_blob_get(f.st, h, &data, &len), 0);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(data, "hello", 5);
	free(data);

	data = NULL;
	ck_assert_int_eq(retro_blob_get(f.st, unknown, &data, &len),
			 RETRO_ENOTFOUND);
	ck_assert_ptr_null(data);
	/* a read's bytes are only hashed, never kept */
	retro_hash128("abc", 3, h);
	ck_assert_int_eq(retro_blob_get(f.st, h, &data, &len),
			 RETRO_ENOTFOUND);
	fx_close(&f);
}
END_TEST

/* The importer reads a segment as far as it was written, into a copy
 * (retro_seg_walk_prefix): the copy must hold every record its `used`
 * counts, and come from a segment no bigger than its header says. */
static int count_rec(const struct retro_rec_hdr *h, void *arg)
{
	(void)h;
	++*(int *)arg;
	return 0;
}

START_TEST(walk_prefix)
{
	struct test_seg s;
	size_t used;
	int n = 0;

	basic_segment(&s, 7);
	used = RETRO_SEG_HDR + seg_hdr(&s)->used;
	ck_assert_int_eq(retro_seg_walk_prefix(s.map, used, TEST_SEG_SIZE,
					       count_rec, &n),
			 0);
	ck_assert_int_eq(n, 8); /* 2 paths, a clock, 5 actions (1 torn) */
	n = 0;
	ck_assert_int_eq(retro_seg_walk(s.map, TEST_SEG_SIZE, count_rec, &n), 0);
	ck_assert_int_eq(n, 8);
	/* one byte short of what `used` counts */
	ck_assert_int_eq(retro_seg_walk_prefix(s.map, used - 1, TEST_SEG_SIZE,
					       count_rec, &n),
			 RETRO_ECORRUPT);
	/* more read than the segment holds */
	ck_assert_int_eq(retro_seg_walk_prefix(s.map, TEST_SEG_SIZE + 8,
					       TEST_SEG_SIZE, count_rec, &n),
			 RETRO_ECORRUPT);
	/* a header that says the segment is bigger than the file */
	seg_hdr(&s)->size = TEST_SEG_SIZE * 2;
	ck_assert_int_eq(retro_seg_walk_prefix(s.map, used, TEST_SEG_SIZE,
					       count_rec, &n),
			 RETRO_ECORRUPT);
	seg_free(&s);
}
END_TEST

/* A segment written past what the importer reads into its copy (256 KiB)
 * is mapped instead: both ways import the same. */
START_TEST(import_big_segment)
{
	enum { SIZE = 1u << 20, CHUNK = 60000, N = 6 };
	struct fixture f;
	struct retro_import_stats stats;
	struct retro_recording r;
	unsigned char *map = calloc(1, SIZE);
	struct retro_seg_hdr *h = (void *)map;
	char name[64], p[PATH_MAX];
	size_t used = 0;

	ck_assert_ptr_nonnull(map);
	fx_open(&f);
	seg_init(&f.s, 9, 0, 1, 0, TID);
	memcpy(map, f.s.map, RETRO_SEG_HDR);
	h->size = SIZE;
	for (int i = 0; i < N; i++) {
		size_t len = (sizeof(struct retro_rec_action) +
			      retro_rec_tail(RO_HASH, RETRO_MAXARGS) + CHUNK + 7) &
			     ~(size_t)7;
		struct retro_rec_action *a =
			(void *)(map + RETRO_SEG_HDR + used);
		a->h.len = (uint32_t)len;
		a->h.type = REC_ACTION;
		a->h.state = RS_DONE;
		a->call = RC_write;
		a->seq = (uint64_t)i + 1;
		a->start = 1000 + i * 10;
		a->end = a->start + 5;
		a->ret = CHUNK;
		a->nargs = RETRO_MAXARGS;
		a->opt = RO_HASH;
		a->flags = RA_DATA;
		a->datalen = CHUNK;
		memset(retro_rec_data(a), 'a' + i, CHUNK);
		used += len;
	}
	h->used = used;
	ck_assert_uint_gt(RETRO_SEG_HDR + used, 256u << 10);
	ck_assert_int_eq(retro_seg_name(name, sizeof name, 9, 0, 1, 0), 0);
	ck_assert_int_lt(snprintf(p, sizeof p, "%s/spool/%s", f.store, name),
			 (int)sizeof p);
	test_write_file(p, map, SIZE);
	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.segments, 1);
	ck_assert_uint_eq(stats.bad, 0);
	ck_assert_uint_eq(stats.actions, N);
	ck_assert_uint_eq(stats.bytes, (uint64_t)N * CHUNK);
	load_ok(f.st, &r);
	ck_assert_uint_eq(r.nacts, N);
	for (size_t i = 0; i < r.nacts; i++)
		ck_assert_uint_eq(r.acts[i].datalen, CHUNK);
	retro_recording_free(&r);
	free(map);
	fx_close(&f);
}
END_TEST

START_TEST(import_twice)
{
	struct fixture f;
	struct retro_import_stats stats;
	struct retro_recording r;

	fx_open(&f);
	basic_segment(&f.s, 7);
	seg_write(&f.s, f.store, f.seg, sizeof f.seg);
	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.segments, 1);

	/* The same segment appears again (say, a restored backup). */
	seg_write(&f.s, f.store, NULL, 0);
	ck_assert(test_exists(f.seg));
	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.segments, 0);
	ck_assert_uint_eq(stats.actions, 0);
	ck_assert_uint_eq(stats.inflight, 0);
	ck_assert_uint_eq(stats.bytes, 0);
	ck_assert_uint_eq(stats.bad, 0);
	ck_assert_uint_eq(stats.skipped, 0);
	ck_assert(!test_exists(f.seg)); /* known: removed */

	load_ok(f.st, &r);
	ck_assert_uint_eq(r.nacts, 4);
	retro_recording_free(&r);
	fx_close(&f);
}
END_TEST

START_TEST(import_bad_magic_old)
{
	struct fixture f;
	struct test_seg good;
	struct retro_import_stats stats;
	struct retro_recording r;
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	char goodpath[PATH_MAX];

	fx_open(&f);
	basic_segment(&f.s, 8);
	memcpy(seg_hdr(&f.s)->magic, "RETROSPX", 8);
	seg_write(&f.s, f.store, f.seg, sizeof f.seg);
	/* last written in 2001: not a header still being written */
	ck_assert_int_eq(utimensat(AT_FDCWD, f.seg, old, 0), 0);
	basic_segment(&good, 9);
	seg_write(&good, f.store, goodpath, sizeof goodpath);

	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.bad, 1);
	ck_assert_uint_eq(stats.skipped, 0);
	ck_assert_uint_eq(stats.segments, 1);
	ck_assert_uint_eq(stats.actions, 4);
	ck_assert(test_exists(f.seg));  /* kept, for a human to look at */
	ck_assert(!test_exists(goodpath));

	/* still bad, still kept, next time */
	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.bad, 1);
	ck_assert_uint_eq(stats.segments, 0);
	ck_assert(test_exists(f.seg));

	load_ok(f.st, &r);
	ck_assert_uint_eq(r.nacts, 4);
	ck_assert_uint_eq(r.nprocs, 1);
	ck_assert_uint_eq(r.procs[0].id, 9);
	retro_recording_free(&r);
	seg_free(&good);
	fx_close(&f);
}
END_TEST

START_TEST(import_bad_magic_fresh)
{
	/* A header with a wrong magic that was written just now may be one
	 * whose creator has not finished it: skipped, not bad. */
	struct fixture f;
	struct retro_import_stats stats;

	fx_open(&f);
	basic_segment(&f.s, 8);
	memset(seg_hdr(&f.s)->magic, 0, 8);
	seg_write(&f.s, f.store, f.seg, sizeof f.seg);
	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.skipped, 1);
	ck_assert_uint_eq(stats.bad, 0);
	ck_assert_uint_eq(stats.segments, 0);
	ck_assert(test_exists(f.seg));
	fx_close(&f);
}
END_TEST

START_TEST(import_identity_mismatch)
{
	/* The header names another thread than the file name does. */
	struct fixture f;
	struct retro_import_stats stats;
	char other[PATH_MAX], name[64];

	fx_open(&f);
	basic_segment(&f.s, 8);
	seg_write(&f.s, f.store, f.seg, sizeof f.seg);
	ck_assert_int_eq(retro_seg_name(name, sizeof name, 8, 0, 2, 0), 0);
	ck_assert_int_lt(snprintf(other, sizeof other, "%s/spool/%s",
				  f.store, name),
			 (int)sizeof other);
	ck_assert_int_eq(rename(f.seg, other), 0);
	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.bad, 1);
	ck_assert_uint_eq(stats.segments, 0);
	ck_assert_uint_eq(stats.actions, 0);
	ck_assert(test_exists(other));
	fx_close(&f);
}
END_TEST

START_TEST(import_corrupt_record)
{
	/* A record whose length is not a multiple of 8: the segment is bad
	 * and none of its actions is imported. */
	struct fixture f;
	struct retro_import_stats stats;
	struct retro_recording r;
	struct retro_rec_action *a;

	fx_open(&f);
	basic_segment(&f.s, 8);
	a = seg_add_action(&f.s, RS_DONE, RC_close, 6, 6000, 6001, NULL, 0);
	a->h.len += 4;
	seg_write(&f.s, f.store, f.seg, sizeof f.seg);
	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.bad, 1);
	ck_assert_uint_eq(stats.segments, 0);
	ck_assert(test_exists(f.seg));
	load_ok(f.st, &r);
	ck_assert_uint_eq(r.nacts, 0);
	retro_recording_free(&r);
	fx_close(&f);
}
END_TEST

START_TEST(import_bad_call)
{
	struct fixture f;
	struct retro_import_stats stats;

	fx_open(&f);
	basic_segment(&f.s, 8);
	seg_add_action(&f.s, RS_DONE, RC_NCALLS, 6, 6000, 6001, NULL, 0);
	seg_write(&f.s, f.store, f.seg, sizeof f.seg);
	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.bad, 1);
	ck_assert_uint_eq(stats.actions, 0);
	ck_assert(test_exists(f.seg));
	fx_close(&f);
}
END_TEST

START_TEST(import_proc_filter)
{
	struct fixture f;
	struct test_seg other;
	struct retro_import_stats stats;
	char otherpath[PATH_MAX];

	fx_open(&f);
	basic_segment(&f.s, 21);
	seg_write(&f.s, f.store, f.seg, sizeof f.seg);
	basic_segment(&other, 22);
	seg_write(&other, f.store, otherpath, sizeof otherpath);
	import_ok(f.st, 22, 0, &stats);
	ck_assert_uint_eq(stats.segments, 1);
	ck_assert_uint_eq(stats.actions, 4);
	ck_assert_uint_eq(stats.bytes, 5);
	ck_assert(test_exists(f.seg));
	ck_assert(!test_exists(otherpath));
	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.segments, 1);
	/* "hello" is stored once, by its hash */
	ck_assert_uint_eq(stats.bytes, 0);
	ck_assert(!test_exists(f.seg));
	seg_free(&other);
	fx_close(&f);
}
END_TEST

/* Field 22 of /proc/self/stat, as the importer reads it. */
static uint64_t own_starttime(void)
{
	char buf[1024], *p;
	FILE *fp = fopen("/proc/self/stat", "r");
	int field = 2;

	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(fgets(buf, sizeof buf, fp));
	fclose(fp);
	p = strrchr(buf, ')');
	ck_assert_ptr_nonnull(p);
	for (p++; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	return strtoull(p, NULL, 10);
}

/* Imports, with no flags, an unsealed segment of this process whose
 * recorded start time is delta ticks after its own. */
static void import_unsealed(struct fixture *f, int64_t delta,
			    struct retro_import_stats *stats)
{
	fx_open(f);
	basic_segment(&f->s, 8);
	seg_hdr(&f->s)->sealed = 0;
	seg_hdr(&f->s)->pid = getpid();
	seg_hdr(&f->s)->starttime = (uint64_t)((int64_t)own_starttime() + delta);
	seg_write(&f->s, f->store, f->seg, sizeof f->seg);
	import_ok(f->st, 0, 0, stats);
}

START_TEST(import_live_writer)
{
	/* An unsealed segment whose writer (this process) still runs: with
	 * its own start time, and with one 5 ticks late, as a fork child
	 * records it (retro_os_starttime_now: the clock when it first runs,
	 * ticks after the kernel's start under load). */
	static const int64_t delta[] = { 0, 5 };
	struct fixture f;
	struct retro_import_stats stats;

	for (size_t i = 0; i < sizeof delta / sizeof *delta; i++) {
		import_unsealed(&f, delta[i], &stats);
		ck_assert_uint_eq(stats.skipped, 1);
		ck_assert_uint_eq(stats.segments, 0);
		ck_assert(test_exists(f.seg));
		/* a snapshot: the file stays for the writer's next records;
		 * it ends before the record the writer has not filled (seq
		 * 4, state 0: see import_live_stops_at_an_unfilled_record),
		 * so 3 actions, not the whole import's 4 */
		import_ok(f.st, 0, RETRO_IMPORT_LIVE, &stats);
		ck_assert_uint_eq(stats.skipped, 0);
		ck_assert_uint_eq(stats.segments, 1);
		ck_assert_uint_eq(stats.actions, 3);
		ck_assert(test_exists(f.seg));
		/* not taken again while it is written, and not known either */
		import_ok(f.st, 0, 0, &stats);
		ck_assert_uint_eq(stats.skipped, 1);
		ck_assert_uint_eq(stats.segments, 0);
		/* sealed: taken whole, once, and gone from the spool */
		seg_hdr(&f.s)->sealed = 1;
		seg_write(&f.s, f.store, f.seg, sizeof f.seg);
		import_ok(f.st, 0, 0, &stats);
		ck_assert_uint_eq(stats.segments, 1);
		ck_assert_uint_eq(stats.actions, 4);
		ck_assert(!test_exists(f.seg));
		seg_write(&f.s, f.store, f.seg, sizeof f.seg);
		import_ok(f.st, 0, 0, &stats);
		ck_assert_uint_eq(stats.segments, 0);
		ck_assert_uint_eq(stats.actions, 0);
		fx_close(&f);
	}
}
END_TEST

START_TEST(import_live_stops_at_an_unfilled_record)
{
	/* A snapshot of a segment whose writer has reserved its sixth
	 * record and not yet filled it (state 0): the five before it go in,
	 * none after, and the whole import later gives each action once.
	 * Before, the snapshot took the four after it as well; with more
	 * than RETRO_CHUNK_MAX actions its chunk keys then differed from
	 * the whole import's, and actions were counted twice. */
	struct fixture f;
	struct retro_import_stats stats;
	struct retro_recording r;
	struct retro_rec_action *a, *held = NULL;

	fx_open(&f);
	seg_init(&f.s, 8, 0, 1, 0, 100);
	seg_hdr(&f.s)->sealed = 0;
	seg_hdr(&f.s)->pid = getpid();
	seg_hdr(&f.s)->starttime = own_starttime();
	for (int i = 0; i < 10; i++) {
		a = seg_add_action(&f.s, i == 5 ? RS_TORN : RS_DONE, RC_fsync,
				   (uint64_t)i + 1, 10 + 10 * i, 11 + 10 * i,
				   NULL, 0);
		retro_rec_args(a)[0] = 1;
		if (i == 5)
			held = a;
	}
	seg_write(&f.s, f.store, f.seg, sizeof f.seg);
	import_ok(f.st, 0, RETRO_IMPORT_LIVE, &stats);
	ck_assert_uint_eq(stats.segments, 1);
	ck_assert_uint_eq(stats.actions, 5);
	held->h.state = RS_DONE;
	seg_hdr(&f.s)->sealed = 1;
	seg_write(&f.s, f.store, f.seg, sizeof f.seg);
	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.actions, 10);
	load_ok(f.st, &r);
	ck_assert_uint_eq(r.nacts, 10);
	for (size_t i = 0; i < 10; i++)
		ck_assert_uint_eq(r.acts[i].seq, i + 1);
	retro_recording_free(&r);
	fx_close(&f);
}
END_TEST

START_TEST(import_skips_pads)
{
	/* A getdents64 reserves its buffer's size and fills a few hundred
	 * bytes; the recorder then gives the rest back as a REC_PAD (state
	 * 0, as memory past `used` is) and, when nothing followed, moves
	 * `used` back over it.  A pad that stays is skipped by every walk,
	 * a snapshot's too: it does not end there as at an unfilled
	 * record. */
	struct fixture f;
	struct retro_import_stats stats;
	struct retro_recording r;
	struct retro_rec_action *a;
	struct retro_rec_hdr *pad;
	int n = 0;

	fx_open(&f);
	seg_init(&f.s, 8, 0, 1, 0, 100);
	seg_hdr(&f.s)->sealed = 0;
	seg_hdr(&f.s)->pid = getpid();
	seg_hdr(&f.s)->starttime = own_starttime();
	for (int i = 0; i < 6; i++) {
		a = seg_add_action(&f.s, RS_DONE, RC_getdents64,
				   (uint64_t)i + 1, 10 + 10 * i, 11 + 10 * i,
				   "dirents", 7);
		a->ret = 7;
		retro_rec_args(a)[0] = 3;
		retro_rec_args(a)[2] = 32768;
		if (i % 2 == 0) {
			pad = seg_reserve(&f.s, 4096, REC_PAD);
			pad->state = RS_TORN;
		}
	}
	ck_assert_int_eq(retro_seg_walk(f.s.map, TEST_SEG_SIZE, count_rec, &n),
			 0);
	ck_assert_int_eq(n, 6);
	seg_write(&f.s, f.store, f.seg, sizeof f.seg);
	import_ok(f.st, 0, RETRO_IMPORT_LIVE, &stats);
	ck_assert_uint_eq(stats.bad, 0);
	ck_assert_uint_eq(stats.actions, 6);
	seg_hdr(&f.s)->sealed = 1;
	seg_write(&f.s, f.store, f.seg, sizeof f.seg);
	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.bad, 0);
	ck_assert_uint_eq(stats.actions, 6);
	load_ok(f.st, &r);
	ck_assert_uint_eq(r.nacts, 6);
	for (size_t i = 0; i < 6; i++) {
		ck_assert_uint_eq(r.acts[i].seq, i + 1);
		ck_assert_uint_eq(r.acts[i].datalen, 7);
	}
	retro_recording_free(&r);
	fx_close(&f);
}
END_TEST

START_TEST(pool_zeroes_a_pad_past_used)
{
	/* A pad's header may stay just past `used` (trim moved `used` back
	 * over it).  A segment the import hands to the pool must come back
	 * all zero past `used`: where `used` ends on a page, that header is
	 * on the next page, which the zeroing once left alone. */
	struct fixture f;
	struct retro_import_stats stats;
	struct retro_rec_hdr stale = { 64, REC_PAD, RS_TORN };
	struct retro_rec_action *a;
	struct retro_rec_hdr *pad;
	char dir[PATH_MAX], name[64], p[PATH_MAX];
	unsigned char got[sizeof stale];
	const unsigned char none[sizeof stale] = { 0 };
	long fd;

	fx_open(&f);
	ck_assert_int_lt(snprintf(dir, sizeof dir, "%s/shm", f.dir),
			 (int)sizeof dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	seg_init(&f.s, 9, 0, 1, 0, TID);
	a = seg_add_action(&f.s, RS_DONE, RC_fsync, 1, 10, 11, NULL, 0);
	retro_rec_args(a)[0] = 1;
	/* up to a page: `used` ends at 4096 + 4096 */
	pad = seg_reserve(&f.s, 4096 - f.s.used, REC_PAD);
	pad->state = RS_TORN;
	ck_assert_uint_eq(RETRO_SEG_HDR + f.s.used, 8192);
	memcpy(f.s.map + 8192, &stale, sizeof stale);
	ck_assert_int_eq(retro_seg_name(name, sizeof name, 9, 0, 1, 0), 0);
	ck_assert_int_lt(snprintf(p, sizeof p, "%s/%s", dir, name),
			 (int)sizeof p);
	test_write_file(p, f.s.map, TEST_SEG_SIZE);
	ck_assert_int_eq(retro_import_dirs(f.st, dir, 0, RETRO_IMPORT_POOL,
					   &stats),
			 0);
	ck_assert_uint_eq(stats.actions, 1);
	ck_assert_uint_eq(stats.pooled, 1);
	ck_assert_int_lt(snprintf(p, sizeof p, "%s/" RETRO_POOL_PREFIX "%s", dir,
				  name),
			 (int)sizeof p);
	fd = open(p, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread((int)fd, got, sizeof got, 8192),
			 (ssize_t)sizeof got);
	close((int)fd);
	ck_assert_mem_eq(got, none, sizeof got);
	fx_close(&f);
}
END_TEST

START_TEST(import_orphan)
{
	/* Unsealed, and its pid now belongs to another process (one that
	 * started after the writer's start): the writer is gone, so it is
	 * imported. */
	struct fixture f;
	struct retro_import_stats stats;

	import_unsealed(&f, -1, &stats);
	ck_assert_uint_eq(stats.skipped, 0);
	ck_assert_uint_eq(stats.segments, 1);
	ck_assert_uint_eq(stats.inflight, 1);
	fx_close(&f);
}
END_TEST

START_TEST(import_two_threads)
{
	/* Two threads of one process: the timeline interleaves them. */
	struct fixture f;
	struct test_seg t2;
	struct retro_import_stats stats;
	struct retro_recording r;
	struct retro_rec_action *a;

	fx_open(&f);
	seg_init(&f.s, 3, 0, 1, 0, 100);
	seg_init(&t2, 3, 0, 2, 0, 101);
	for (int i = 0; i < 3; i++) {
		a = seg_add_action(&f.s, RS_DONE, RC_fsync, (uint64_t)i + 1,
				   10 + 20 * i, 11 + 20 * i, NULL, 0);
		retro_rec_args(a)[0] = 1;
		a = seg_add_action(&t2, RS_DONE, RC_fdatasync, (uint64_t)i + 1,
				   20 + 20 * i, 21 + 20 * i, NULL, 0);
		retro_rec_args(a)[0] = 2;
	}
	seg_write(&f.s, f.store, NULL, 0);
	seg_write(&t2, f.store, NULL, 0);
	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.segments, 2);
	ck_assert_uint_eq(stats.actions, 6);
	load_ok(f.st, &r);
	ck_assert_uint_eq(r.nacts, 6);
	for (size_t i = 0; i < 6; i++) {
		ck_assert_int_eq(r.acts[i].start, 10 + 10 * (int64_t)i);
		ck_assert_uint_eq(r.acts[i].thread, i % 2 + 1);
		ck_assert_int_eq(r.acts[i].tid, 100 + (int)(i % 2));
		ck_assert_uint_eq(r.acts[i].seq, i / 2 + 1);
	}
	ck_assert_uint_eq(r.nprocs, 1);
	ck_assert_uint_eq(r.procs[0].threads, 2);
	ck_assert_uint_eq(r.procs[0].flags & RP_INFLIGHT, 0);
	retro_recording_free(&r);
	seg_free(&t2);
	fx_close(&f);
}
END_TEST

#define ID_SH test_path_id("/bin/sh")
#define ID_LS test_path_id("/bin/ls")
static const char sh_argv[] = "sh\0-c\0ls"; /* 9 bytes with the NUL */
static const char ls_argv[] = "ls";          /* 3 bytes with the NUL */

/* Process 5 starts as sh, execs ls (the exec never returns: in flight),
 * and ls, in the next image and its own thread index, exits 3. */
static void exec_segments(const char *store)
{
	struct test_seg a, b;
	struct retro_rec_action *r;

	seg_init(&a, 5, 0, 1, 0, 100);
	seg_add_path(&a, ID_SH, "/bin/sh");
	seg_add_path(&a, ID_LS, "/bin/ls");
	r = seg_add_action(&a, RS_DONE, RC_start, 1, 1000, 1000, sh_argv,
			   sizeof sh_argv);
	retro_rec_args(r)[0] = ID_SH;
	r->obj = ID_SH;
	retro_rec_args(r)[2] = 100;
	retro_rec_args(r)[3] = 1;
	r = seg_add_action(&a, RS_INTENT, RC_execve, 2, 2000, 0, ls_argv,
			   sizeof ls_argv);
	retro_rec_args(r)[0] = ID_LS;
	seg_write(&a, store, NULL, 0);
	seg_free(&a);

	seg_init(&b, 5, 1, 2, 0, 100);
	r = seg_add_action(&b, RS_DONE, RC_start, 1, 3000, 3000, ls_argv,
			   sizeof ls_argv);
	retro_rec_args(r)[0] = ID_LS;
	r->obj = ID_LS;
	retro_rec_args(r)[2] = 100;
	retro_rec_args(r)[3] = 1;
	retro_rec_args(r)[4] = 1;
	r = seg_add_action(&b, RS_INTENT, RC_exit, 2, 4000, 0, NULL, 0);
	retro_rec_args(r)[0] = 3;
	seg_write(&b, store, NULL, 0);
	seg_free(&b);
}

START_TEST(import_exec)
{
	struct fixture f;
	struct retro_import_stats stats;
	struct retro_recording r;
	const struct retro_proc *p;
	const struct retro_action *a;
	void *data = NULL;
	size_t len = 0;
	uint64_t h[2];

	fx_open(&f);
	exec_segments(f.store);
	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.segments, 2);
	ck_assert_uint_eq(stats.actions, 4);
	ck_assert_uint_eq(stats.inflight, 2);
	/* exec's argv is kept although the call never completed */
	retro_hash128(ls_argv, sizeof ls_argv, h);
	ck_assert_int_eq(retro_blob_get(f.st, h, &data, &len), 0);
	ck_assert_uint_eq(len, sizeof ls_argv);
	free(data);

	load_ok(f.st, &r);
	ck_assert_uint_eq(r.nacts, 4);
	a = &r.acts[1];
	ck_assert_uint_eq(a->call, RC_execve);
	/* it came back as the next image: it succeeded */
	ck_assert_uint_eq(a->state, 2);
	ck_assert_int_eq(a->ret, 0);
	ck_assert_int_eq(a->end, 3000);
	ck_assert_uint_eq(r.acts[3].call, RC_exit);
	ck_assert_uint_eq(r.acts[3].thread, 2);

	ck_assert_uint_eq(r.nprocs, 1);
	p = retro_proc_find(&r, 5);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(p->pid, 100);
	ck_assert_int_eq(p->ppid, 1);
	ck_assert_uint_eq(p->parent, 0);
	ck_assert_uint_eq(p->images, 2);
	ck_assert_uint_eq(p->threads, 2);
	ck_assert_uint_eq(p->actions, 2); /* execve, exit: not the starts */
	ck_assert_pstr_eq(p->exe, "/bin/ls");
	ck_assert_uint_eq(p->argvlen, sizeof ls_argv);
	ck_assert_mem_eq(p->argv, ls_argv, sizeof ls_argv);
	ck_assert_uint_eq(p->flags, RP_EXITED | RP_ENDED);
	ck_assert(WIFEXITED(p->status) && WEXITSTATUS(p->status) == 3);
	retro_recording_free(&r);
	fx_close(&f);
}
END_TEST

START_TEST(import_exec_bytes)
{
	/* Regression (was a bug): stats.bytes ("blob bytes newly stored") leaves out the
	 * argv blob of an exec that is stored at intent: lib/import.c
	 * on_action's exec branch does mdb_put() the blob but never adds
	 * r->datalen to stats->bytes.  Here 9 bytes (sh's argv) + 3 bytes
	 * (the execve's argv, later also ls's start) are newly stored;
	 * bytes says 9. */
	struct fixture f;
	struct retro_import_stats stats;

	fx_open(&f);
	exec_segments(f.store);
	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.segments, 2);
	ck_assert_uint_eq(stats.bytes, sizeof sh_argv + sizeof ls_argv);
	fx_close(&f);
}
END_TEST

/* Replaces the bytes stored under a blob's hash, behind the store's back. */
static void tamper_blob(struct retro_store *st, const void *orig, size_t n,
			const void *bytes, size_t len)
{
	uint64_t h[2];
	MDB_val k = { 16, h }, v = { len, (void *)bytes };
	MDB_txn *txn;

	retro_hash128(orig, n, h);
	ck_assert_int_eq(mdb_txn_begin(st->env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_put(txn, st->blobs, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
}

START_TEST(blob_tampered)
{
	struct fixture f;
	struct retro_import_stats stats;
	uint64_t h[2];
	void *data = NULL;
	size_t len = 0;

	fx_open(&f);
	basic_segment(&f.s, 7);
	seg_write(&f.s, f.store, NULL, 0);
	import_ok(f.st, 0, 0, &stats);
	tamper_blob(f.st, "hello", 5, "jello", 5);
	retro_hash128("hello", 5, h);
	ck_assert_int_eq(retro_blob_get(f.st, h, &data, &len), RETRO_ECORRUPT);
	ck_assert_ptr_null(data);
	/* a truncated one as well */
	tamper_blob(f.st, "hello", 5, "hell", 4);
	ck_assert_int_eq(retro_blob_get(f.st, h, &data, &len), RETRO_ECORRUPT);
	fx_close(&f);
}
END_TEST

START_TEST(chunk_tampered)
{
	/* A stored chunk with one byte changed: load refuses it and says
	 * which. */
	struct fixture f;
	struct retro_import_stats stats;
	struct retro_recording r;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v, nv;
	unsigned char *copy;
	char why[512] = "";

	fx_open(&f);
	basic_segment(&f.s, 7);
	seg_write(&f.s, f.store, NULL, 0);
	import_ok(f.st, 0, 0, &stats);
	ck_assert_int_eq(mdb_txn_begin(f.st->env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_cursor_open(txn, f.st->chunks, &cur), 0);
	ck_assert_int_eq(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
	copy = malloc(v.mv_size);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, v.mv_data, v.mv_size);
	copy[v.mv_size / 2] ^= 0x20;
	nv.mv_size = v.mv_size;
	nv.mv_data = copy;
	ck_assert_int_eq(mdb_cursor_put(cur, &k, &nv, MDB_CURRENT), 0);
	mdb_cursor_close(cur);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	free(copy);
	ck_assert_int_eq(retro_load(f.st, &r, why, sizeof why),
			 RETRO_ECORRUPT);
	ck_assert_msg(strstr(why, "process 7 thread 1"), "why: %s", why);
	scan_refuses(f.st, RETRO_ECORRUPT, "process 7 thread 1");
	ck_assert_uint_eq(r.nacts, 0);
	ck_assert_ptr_null(r.acts);
	fx_close(&f);
}
END_TEST

/* ---- the file model ------------------------------------------------------ */

#define ID_F test_path_id("/w/f")
#define ID_G test_path_id("/w/g")

/* open("/w/f", O_CREAT) = 3 at 1000, write "abc" at 0 at 2000, pwrite "Z"
 * at 1 at 3000, close at 4000; with rename, /w/f -> /w/g at 5000. */
static void model_segment(struct test_seg *s, int with_rename)
{
	struct retro_rec_action *a;

	seg_init(s, 1, 0, 1, 0, 500);
	seg_add_path(s, ID_F, "/w/f");
	seg_add_path(s, ID_G, "/w/g");

	a = seg_add_action(s, RS_DONE, RC_open, 1, 1000, 1010, NULL, 0);
	a->ret = 3;
	a->flags = RA_CREATED;
	retro_rec_args(a)[0] = ID_F;
	retro_rec_args(a)[1] = O_CREAT | O_WRONLY | O_TRUNC;
	retro_rec_args(a)[2] = 0644;

	a = seg_add_action(s, RS_DONE, RC_write, 2, 2000, 2010, "abc", 3);
	a->ret = 3;
	a->flags |= RA_OFFSET; /* at 0: no offset slot needed */
	a->obj = ID_F;
	retro_rec_args(a)[0] = 3;
	retro_rec_args(a)[2] = 3;

	a = seg_add_action(s, RS_DONE, RC_pwrite, 3, 3000, 3010, "Z", 1);
	a->ret = 1;
	a->obj = ID_F;
	retro_rec_args(a)[0] = 3;
	retro_rec_args(a)[2] = 1;
	retro_rec_args(a)[3] = 1;

	a = seg_add_action(s, RS_DONE, RC_close, 4, 4000, 4001, NULL, 0);
	retro_rec_args(a)[0] = 3;

	if (with_rename) {
		a = seg_add_action(s, RS_DONE, RC_rename, 5, 5000, 5001, NULL,
				   0);
		retro_rec_args(a)[0] = ID_F;
		retro_rec_args(a)[1] = ID_G;
	}
}

static void model_load(struct fixture *f, struct retro_recording *r,
		       int with_rename)
{
	struct retro_import_stats stats;

	fx_open(f);
	model_segment(&f->s, with_rename);
	seg_write(&f->s, f->store, NULL, 0);
	import_ok(f->st, 0, 0, &stats);
	ck_assert_uint_eq(stats.actions, with_rename ? 5 : 4);
	load_ok(f->st, r);
	ck_assert_int_eq(r->t0, 1000);
}

static void assert_content(struct retro_store *st,
			   const struct retro_recording *r, const char *path,
			   int64_t at, int state, const char *bytes)
{
	struct retro_content c;
	char why[512] = "";
	int rc = retro_model_content(st, r, path, at, &c, why, sizeof why);

	ck_assert_msg(rc == 0, "%s at %lld: %d %s", path, (long long)at, rc,
		      why);
	ck_assert_msg(c.state == state, "%s at %lld: state %s, expected %s",
		      path, (long long)at, retro_obj_state_name(c.state),
		      retro_obj_state_name(state));
	if (bytes) {
		ck_assert_msg(c.len == strlen(bytes),
			      "%s at %lld: %zu bytes, expected %zu", path,
			      (long long)at, c.len, strlen(bytes));
		ck_assert_mem_eq(c.data, bytes, c.len);
	}
	free(c.data);
}

START_TEST(model_content)
{
	struct fixture f;
	struct retro_recording r;
	struct retro_content c;

	model_load(&f, &r, 0);
	assert_content(f.st, &r, "/w/f", INT64_MAX, RO_FILE, "aZc");
	/* times are ns after the first action (the open, at t0) */
	assert_content(f.st, &r, "/w/f", -1, RO_ABSENT, NULL);
	assert_content(f.st, &r, "/w/f", 0, RO_FILE, "");
	assert_content(f.st, &r, "/w/f", 500, RO_FILE, "");
	assert_content(f.st, &r, "/w/f", 999, RO_FILE, "");
	assert_content(f.st, &r, "/w/f", 1000, RO_FILE, "abc");
	assert_content(f.st, &r, "/w/f", 1999, RO_FILE, "abc");
	assert_content(f.st, &r, "/w/f", 2000, RO_FILE, "aZc");
	ck_assert_int_eq(retro_model_content(f.st, &r, "/w/none", INT64_MAX,
					     &c, NULL, 0),
			 RETRO_ENOTFOUND);
	retro_recording_free(&r);
	fx_close(&f);
}
END_TEST

START_TEST(model_files)
{
	struct fixture f;
	struct retro_recording r;
	struct retro_file *files = NULL;
	size_t n = 0;
	char why[512] = "";
	uint64_t h[2];

	model_load(&f, &r, 0);
	ck_assert_int_eq(retro_model_files(f.st, &r, &files, &n, why,
					   sizeof why),
			 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(files[0].path, "/w/f");
	ck_assert_uint_eq(files[0].initial, RO_ABSENT);
	ck_assert_uint_eq(files[0].nv, 3);

	ck_assert_int_eq(files[0].v[0].t, 0);
	ck_assert_uint_eq(files[0].v[0].call, RC_open);
	ck_assert_uint_eq(files[0].v[0].proc, 1);
	ck_assert_uint_eq(files[0].v[0].state, RO_FILE);
	ck_assert_uint_eq(files[0].v[0].size, 0);
	retro_hash128("", 0, h);
	ck_assert(files[0].v[0].hash[0] == h[0] &&
		  files[0].v[0].hash[1] == h[1]);

	ck_assert_int_eq(files[0].v[1].t, 1000);
	ck_assert_uint_eq(files[0].v[1].call, RC_write);
	ck_assert_uint_eq(files[0].v[1].state, RO_FILE);
	ck_assert_uint_eq(files[0].v[1].size, 3);
	retro_hash128("abc", 3, h);
	ck_assert(files[0].v[1].hash[0] == h[0] &&
		  files[0].v[1].hash[1] == h[1]);

	ck_assert_int_eq(files[0].v[2].t, 2000);
	ck_assert_uint_eq(files[0].v[2].call, RC_pwrite);
	ck_assert_uint_eq(files[0].v[2].state, RO_FILE);
	ck_assert_uint_eq(files[0].v[2].size, 3);
	retro_hash128("aZc", 3, h);
	ck_assert(files[0].v[2].hash[0] == h[0] &&
		  files[0].v[2].hash[1] == h[1]);
	retro_model_files_free(files, n);
	retro_recording_free(&r);
	fx_close(&f);
}
END_TEST

START_TEST(model_rename)
{
	struct fixture f;
	struct retro_recording r;
	struct retro_file *files = NULL;
	size_t n = 0;

	model_load(&f, &r, 1);
	assert_content(f.st, &r, "/w/g", INT64_MAX, RO_FILE, "aZc");
	assert_content(f.st, &r, "/w/f", INT64_MAX, RO_ABSENT, NULL);
	assert_content(f.st, &r, "/w/f", 3999, RO_FILE, "aZc");
	ck_assert_int_eq(retro_model_files(f.st, &r, &files, &n, NULL, 0), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(files[0].path, "/w/f");
	ck_assert_uint_eq(files[0].nv, 4);
	ck_assert_uint_eq(files[0].v[3].call, RC_rename);
	ck_assert_uint_eq(files[0].v[3].state, RO_ABSENT);
	ck_assert_str_eq(files[1].path, "/w/g");
	ck_assert_uint_eq(files[1].nv, 1);
	ck_assert_int_eq(files[1].v[0].t, 4000);
	ck_assert_uint_eq(files[1].v[0].state, RO_FILE);
	ck_assert_uint_eq(files[1].v[0].size, 3);
	retro_model_files_free(files, n);
	retro_recording_free(&r);
	fx_close(&f);
}
END_TEST

START_TEST(model_before_first_touch)
{
	/* Regression (was a bug): retro_model_content() of a path at a time before the
	 * recording's first action on it returns RETRO_ENOTFOUND ("the
	 * recording never touched path"), although the recording does touch
	 * it later and retro_model_files() gives it an initial state.  The
	 * pre-pass in lib/model.c only registers paths whose first event is
	 * a creation or pre-image; others enter the table only when
	 * apply() reaches them.  Expected: 0 with the file's initial
	 * state, as for /w/f before its open. */
	struct fixture f;
	struct retro_recording r;
	struct retro_file *files = NULL;
	struct retro_content c;
	size_t n = 0;
	int rc;

	model_load(&f, &r, 1);
	ck_assert_int_eq(retro_model_files(f.st, &r, &files, &n, NULL, 0), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(files[1].path, "/w/g");
	/* before the rename that first touches /w/g */
	rc = retro_model_content(f.st, &r, "/w/g", 3999, &c, NULL, 0);
	ck_assert_msg(rc == 0, "/w/g before the rename: %d (%s)", rc,
		      retro_strerror(rc));
	ck_assert_uint_eq(c.state, files[1].initial);
	free(c.data);
	retro_model_files_free(files, n);
	retro_recording_free(&r);
	fx_close(&f);
}
END_TEST

#define ID_LOCK test_path_id("/w/lock")

START_TEST(model_open_creat_existing)
{
	/* Regression (was a bug): open(O_RDWR | O_CREAT) of a file that already existed
	 * (no RA_CREATED; nothing written, so no pre-image either: a lock
	 * file taken with flock, an SQLite database only queried) makes
	 * the model say the file became an empty RO_FILE.  lib/model.c
	 * apply() tests `pe->obj < 0 && (fl & O_CREAT)`, and obj is -2
	 * ("never seen") as well as -1 ("absent") there; only -1 means the
	 * open created it.  Expected: the file's bytes are unknown. */
	struct fixture f;
	struct retro_import_stats stats;
	struct retro_recording r;
	struct retro_rec_action *a;
	struct retro_file *files = NULL;
	size_t n = 0;

	fx_open(&f);
	seg_init(&f.s, 1, 0, 1, 0, 500);
	seg_add_path(&f.s, ID_LOCK, "/w/lock");
	a = seg_add_action(&f.s, RS_DONE, RC_open, 1, 1000, 1010, NULL, 0);
	a->ret = 3;
	retro_rec_args(a)[0] = ID_LOCK;
	retro_rec_args(a)[1] = O_RDWR | O_CREAT;
	retro_rec_args(a)[2] = 0644;
	a = seg_add_action(&f.s, RS_DONE, RC_flock, 2, 2000, 2010, NULL, 0);
	a->obj = ID_LOCK;
	retro_rec_args(a)[0] = 3;
	retro_rec_args(a)[1] = 2; /* LOCK_EX */
	a = seg_add_action(&f.s, RS_DONE, RC_close, 3, 3000, 3001, NULL, 0);
	retro_rec_args(a)[0] = 3;
	seg_write(&f.s, f.store, NULL, 0);
	import_ok(f.st, 0, 0, &stats);
	load_ok(f.st, &r);
	ck_assert_int_eq(retro_model_files(f.st, &r, &files, &n, NULL, 0), 0);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < files[i].nv; j++)
			ck_assert_msg(files[i].v[j].state != RO_FILE,
				      "%s: version %zu says a known file of "
				      "%llu bytes",
				      files[i].path, j,
				      (unsigned long long)files[i].v[j].size);
	retro_model_files_free(files, n);
	assert_content(f.st, &r, "/w/lock", INT64_MAX, RO_UNKNOWN, NULL);
	retro_recording_free(&r);
	fx_close(&f);
}
END_TEST

START_TEST(model_blob_tampered)
{
	struct fixture f;
	struct retro_recording r;
	struct retro_content c;
	struct retro_file *files = NULL;
	size_t n = 0;
	char why[512] = "";

	model_load(&f, &r, 0);
	tamper_blob(f.st, "abc", 3, "abd", 3);
	ck_assert_int_eq(retro_model_content(f.st, &r, "/w/f", INT64_MAX, &c,
					     why, sizeof why),
			 RETRO_ECORRUPT);
	ck_assert_msg(strstr(why, "write") && strstr(why, "process 1"),
		      "why: %s", why);
	ck_assert_int_eq(retro_model_files(f.st, &r, &files, &n, why,
					   sizeof why),
			 RETRO_ECORRUPT);
	/* before the write the blob is not needed */
	assert_content(f.st, &r, "/w/f", 999, RO_FILE, "");
	retro_recording_free(&r);
	fx_close(&f);
}
END_TEST

START_TEST(model_data_lost)
{
	/* A write whose bytes were too large to keep: the file is known to
	 * have changed, not how. */
	struct fixture f;
	struct retro_import_stats stats;
	struct retro_recording r;
	struct retro_rec_action *a;

	fx_open(&f);
	model_segment(&f.s, 0);
	a = seg_add_action(&f.s, RS_DONE, RC_write, 5, 6000, 6010, NULL, 0);
	a->ret = 1 << 30;
	a->flags = RA_DATA_LOST | RA_OFFSET;
	a->obj = ID_F;
	retro_rec_args(a)[0] = 3;
	retro_rec_args(a)[2] = 1 << 30;
	seg_write(&f.s, f.store, NULL, 0);
	import_ok(f.st, 0, 0, &stats);
	load_ok(f.st, &r);
	assert_content(f.st, &r, "/w/f", 4999, RO_FILE, "aZc");
	assert_content(f.st, &r, "/w/f", INT64_MAX, RO_PARTIAL, NULL);
	retro_recording_free(&r);
	fx_close(&f);
}
END_TEST

/* ---- happens-before through an fcntl lock ------------------------------- */

#define ID_L test_path_id("/w/L")
#define ID_C test_path_id("/w/C")

/* Process 1 takes the lock on /w/L, writes /w/C, and unlocks from 3000
 * to 4000.  Process 2 waited for the lock from 1500, its wait returning
 * at p2_locked; then it writes /w/C at 5000.  On one machine, the
 * waiter's return can be recorded before the releaser's unlock records
 * its end (the releaser preempted in between). */
static void lock_segments(struct fixture *f, int64_t p2_locked)
{
	struct test_seg s2;
	struct retro_rec_action *a;

	seg_init(&f->s, 1, 0, 1, 0, 501);
	seg_add_path(&f->s, ID_L, "/w/L");
	seg_add_path(&f->s, ID_C, "/w/C");
	a = seg_add_action(&f->s, RS_DONE, RC_fcntl, 1, 1000, 1010, NULL, 0);
	a->obj = ID_L;
	retro_rec_args(a)[0] = 3;
	retro_rec_args(a)[1] = F_SETLKW;
	a = seg_add_action(&f->s, RS_DONE, RC_pwrite, 2, 2000, 2010, "1", 1);
	a->ret = 1;
	a->obj = ID_C;
	retro_rec_args(a)[0] = 4;
	retro_rec_args(a)[2] = 1;
	a = seg_add_action(&f->s, RS_DONE, RC_fcntl, 3, 3000, 4000, NULL, 0);
	a->obj = ID_L;
	retro_rec_args(a)[0] = 3;
	retro_rec_args(a)[1] = F_SETLK;
	seg_write(&f->s, f->store, NULL, 0);

	seg_init(&s2, 2, 0, 1, 0, 502);
	seg_add_path(&s2, ID_L, "/w/L");
	seg_add_path(&s2, ID_C, "/w/C");
	a = seg_add_action(&s2, RS_DONE, RC_fcntl, 1, 1500, p2_locked, NULL,
			   0);
	a->obj = ID_L;
	retro_rec_args(a)[0] = 3;
	retro_rec_args(a)[1] = F_SETLKW;
	a = seg_add_action(&s2, RS_DONE, RC_pwrite, 2, 5000, 5010, "2", 1);
	a->ret = 1;
	a->obj = ID_C;
	retro_rec_args(a)[0] = 4;
	retro_rec_args(a)[2] = 1;
	seg_write(&s2, f->store, NULL, 0);
	seg_free(&s2);
}

static size_t lock_findings(int64_t p2_locked)
{
	struct fixture f;
	struct retro_recording r;
	struct retro_import_stats stats;
	struct retro_finding *out = NULL;
	size_t n = 0;

	fx_open(&f);
	lock_segments(&f, p2_locked);
	import_ok(f.st, 0, 0, &stats);
	ck_assert_uint_eq(stats.actions, 5);
	load_ok(f.st, &r);
	ck_assert_int_eq(retro_hb_check(f.st, &r, 0, &out, &n, NULL), 0);
	{
		/* streamed from the store: the same findings */
		struct retro_recording s;
		struct retro_finding *out2 = NULL;
		size_t n2 = 0;
		char why[256];
		ck_assert_int_eq(retro_hb_check_store(f.st, &s, 0, &out2, &n2,
						      NULL, NULL, NULL, why,
						      sizeof why), 0);
		ck_assert_uint_eq(n2, n);
		for (size_t i = 0; i < n; i++)
			ck_assert(out2[i].slack == out[i].slack &&
				  out2[i].first.seq == out[i].first.seq &&
				  out2[i].second.seq == out[i].second.seq &&
				  out2[i].path == out[i].path);
		free(out2);
		retro_recording_free(&s);
	}
	free(out);
	retro_recording_free(&r);
	fx_close(&f);
	return n;
}

START_TEST(hb_lock_release_counts_from_its_start)
{
	/* the wait returned during the unlock, recorded before its end */
	ck_assert_uint_eq(lock_findings(3500), 0);
	/* after it */
	ck_assert_uint_eq(lock_findings(4100), 0);
	/* a wait that returned before the unlock began is not ordered by
	 * it: the two writes are a write-write finding */
	ck_assert_uint_eq(lock_findings(2500), 1);
}
END_TEST

/* The O_EXCL lock-file idiom: process 1 creates /w/L (O_EXCL), writes
 * /w/C, and removes L from 3000 to 4000; process 2's O_EXCL create of L
 * succeeds at p2_created, and it writes /w/C at 5000.  Under load the
 * remover can be held up between its unlink and its return, so that the
 * create is recorded inside the unlink (CI, check-clean.sh, excl). */
static void excl_action(struct test_seg *s, uint16_t call, uint64_t seq,
			int64_t start, uint64_t path)
{
	struct retro_rec_action *a =
		seg_add_action(s, RS_DONE, call, seq, start, start + 10, NULL, 0);
	if (call == RC_pwrite) {
		a->ret = 1;
		a->obj = path;
		retro_rec_args(a)[0] = 4;
		retro_rec_args(a)[2] = 1;
		return;
	}
	retro_rec_args(a)[0] = path;
	if (call == RC_open) {
		a->ret = 3;
		a->obj = path;
		a->flags = RA_CREATED;
		retro_rec_args(a)[1] = O_WRONLY | O_CREAT | O_EXCL;
		retro_rec_args(a)[2] = 0644;
	}
}

/* Imports f's segments (nacts actions in all), runs check over them and
 * closes f: the number of findings. */
static size_t hb_count(struct fixture *f, uint64_t nacts)
{
	struct retro_recording r;
	struct retro_import_stats stats;
	struct retro_finding *out = NULL;
	size_t n = 0;

	import_ok(f->st, 0, 0, &stats);
	ck_assert_uint_eq(stats.actions, nacts);
	load_ok(f->st, &r);
	ck_assert_int_eq(retro_hb_check(f->st, &r, 0, &out, &n, NULL), 0);
	free(out);
	retro_recording_free(&r);
	fx_close(f);
	return n;
}

/* Process 1's segment: it creates made (O_EXCL), writes written, and
 * from 3000 to 4000 makes call (RC_unlink of made, or RC_rename of made
 * to to). */
static void writer_then(struct fixture *f, const char *made,
			const char *written, uint16_t call, const char *to)
{
	struct retro_rec_action *a;

	seg_init(&f->s, 1, 0, 1, 0, 501);
	seg_add_path(&f->s, test_path_id(made), made);
	seg_add_path(&f->s, test_path_id(written), written);
	seg_add_path(&f->s, test_path_id(to), to);
	excl_action(&f->s, RC_open, 1, 1000, test_path_id(made));
	excl_action(&f->s, RC_pwrite, 2, 2000, test_path_id(written));
	a = seg_add_action(&f->s, RS_DONE, call, 3, 3000, 4000, NULL, 0);
	retro_rec_args(a)[0] = test_path_id(made);
	retro_rec_args(a)[1] = test_path_id(to);
	seg_write(&f->s, f->store, NULL, 0);
}

static size_t excl_findings(int64_t p2_created)
{
	struct fixture f;
	struct test_seg s2;

	fx_open(&f);
	writer_then(&f, "/w/L", "/w/C", RC_unlink, "/w/L");
	seg_init(&s2, 2, 0, 1, 0, 502);
	seg_add_path(&s2, ID_L, "/w/L");
	seg_add_path(&s2, ID_C, "/w/C");
	excl_action(&s2, RC_open, 1, p2_created, ID_L);
	excl_action(&s2, RC_pwrite, 2, 5000, ID_C);
	seg_write(&s2, f.store, NULL, 0);
	seg_free(&s2);
	return hb_count(&f, 5);
}

/* Publishing by rename: process 1 writes /w/T and renames it to /w/F
 * from 3000 to 4000; process 2 opens /w/F (it exists then) at p2_opened
 * and reads it 100 later. */
#define ID_PUBT test_path_id("/w/T")
#define ID_PUBF test_path_id("/w/F")
static size_t rename_findings(int64_t p2_opened)
{
	struct fixture f;
	struct test_seg s2;
	struct retro_rec_action *a;

	fx_open(&f);
	writer_then(&f, "/w/T", "/w/T", RC_rename, "/w/F");
	seg_init(&s2, 2, 0, 1, 0, 502);
	seg_add_path(&s2, ID_PUBF, "/w/F");
	a = seg_add_action(&s2, RS_DONE, RC_open, 1, p2_opened, p2_opened + 10,
			   NULL, 0);
	a->ret = 3;
	a->obj = ID_PUBF;
	retro_rec_args(a)[0] = ID_PUBF;
	retro_rec_args(a)[1] = O_RDONLY;
	a = seg_add_action(&s2, RS_DONE, RC_pread, 2, p2_opened + 100,
			   p2_opened + 110, NULL, 0);
	a->ret = 1;
	a->obj = ID_PUBF;
	retro_rec_args(a)[0] = 3;
	retro_rec_args(a)[2] = 1;
	seg_write(&s2, f.store, NULL, 0);
	seg_free(&s2);
	return hb_count(&f, 5);
}

START_TEST(hb_rename_counts_from_its_start)
{
	/* the reader's open recorded inside the rename */
	ck_assert_uint_eq(rename_findings(3500), 0);
	/* after it */
	ck_assert_uint_eq(rename_findings(4100), 0);
	/* before it began: the read is not ordered after the write */
	ck_assert_uint_ne(rename_findings(2500), 0);
}
END_TEST

START_TEST(hb_unlink_counts_from_its_start)
{
	/* the create recorded inside the remove */
	ck_assert_uint_eq(excl_findings(3500), 0);
	/* after it */
	ck_assert_uint_eq(excl_findings(4100), 0);
	/* a create before the remove began is not ordered by it */
	ck_assert_uint_ne(excl_findings(2500), 0);
}
END_TEST

/* Differences of recorded times, as log, ps, check and the model take
 * them: exact where they fit, held at the bounds where they would
 * overflow (a made-up spool segment's times reached log's undefined
 * t - t0; tests/fuzz/regress/spool/time-before-start-overflow). */
START_TEST(ns_sub_holds_at_the_bounds)
{
	ck_assert_int_eq(retro_ns_sub(5, 3), 2);
	ck_assert_int_eq(retro_ns_sub(3, 5), -2);
	ck_assert_int_eq(retro_ns_sub(INT64_MAX, 0), INT64_MAX);
	ck_assert_int_eq(retro_ns_sub(0, INT64_MAX), -INT64_MAX);
	ck_assert_int_eq(retro_ns_sub(1013581335467069863LL,
				      -8531297262030962274LL), INT64_MAX);
	ck_assert_int_eq(retro_ns_sub(-8531297262030962274LL,
				      1013581335467069863LL), INT64_MIN);
	ck_assert_int_eq(retro_ns_sub(INT64_MIN, 1), INT64_MIN);
	ck_assert_int_eq(retro_ns_sub(-1, INT64_MIN), INT64_MAX);
	ck_assert_int_eq(retro_ns_sub(INT64_MIN, INT64_MIN), 0);
}
END_TEST

Suite *make_import_suite(void)
{
	Suite *s = suite_create("import");
	TCase *tc;

	tc = tcase_create("import");
	tcase_add_test(tc, import_basic);
	tcase_add_test(tc, import_blobs);
	tcase_add_test(tc, import_path_checked);
	tcase_add_test(tc, check_record_kinds);
	tcase_add_test(tc, load_finds_missing_chunk);
	tcase_add_test(tc, import_twice);
	tcase_add_test(tc, walk_prefix);
	tcase_add_test(tc, import_big_segment);
	tcase_add_test(tc, import_bad_magic_old);
	tcase_add_test(tc, import_bad_magic_fresh);
	tcase_add_test(tc, import_identity_mismatch);
	tcase_add_test(tc, import_corrupt_record);
	tcase_add_test(tc, import_bad_call);
	tcase_add_test(tc, import_proc_filter);
	tcase_add_test(tc, import_live_writer);
	tcase_add_test(tc, import_live_stops_at_an_unfilled_record);
	tcase_add_test(tc, import_skips_pads);
	tcase_add_test(tc, pool_zeroes_a_pad_past_used);
	tcase_add_test(tc, hb_unlink_counts_from_its_start);
	tcase_add_test(tc, hb_rename_counts_from_its_start);
	tcase_add_test(tc, import_orphan);
	tcase_add_test(tc, import_two_threads);
	tcase_add_test(tc, import_exec);
	tcase_add_test(tc, import_exec_bytes);
	tcase_add_test(tc, blob_tampered);
	tcase_add_test(tc, chunk_tampered);
	suite_add_tcase(s, tc);

	tc = tcase_create("model");
	tcase_add_test(tc, model_content);
	tcase_add_test(tc, model_files);
	tcase_add_test(tc, hb_lock_release_counts_from_its_start);
	tcase_add_test(tc, model_rename);
	tcase_add_test(tc, model_before_first_touch);
	tcase_add_test(tc, model_open_creat_existing);
	tcase_add_test(tc, model_blob_tampered);
	tcase_add_test(tc, model_data_lost);
	tcase_add_test(tc, ns_sub_holds_at_the_bounds);
	suite_add_tcase(s, tc);
	return s;
}
