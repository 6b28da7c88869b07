/* Fuzz target: every reader of a store (lib/reader.c, lib/model.c,
 * lib/hb.c, lib/stack.c, and retro-replay's ps, log, files, cat, check and
 * fsck walk over them), fed at the level of the values LMDB returns.
 *
 * The input is a list of records, each
 *     tag (1 byte), key length, value length (varints), key, value
 * where tag & 15 names the table (0 meta, 1 chunks, 2 paths, 3 blobs,
 * 4 stacks, 5 modules, 6 segments, 7 clock, 8 waits; 9 is the content of
 * STORE/shared.map) and tag & 16 asks for the record's check value to be
 * made right, so that mutations reach the code behind it: a chunk gets its
 * XXH64 appended, a blob is keyed by the XXH3-128 of its bytes, a path, a
 * call site and a module by the XXH3 of what identifies them (the key
 * given is then ignored), an exit status and a clock anchor get their
 * retro_record_sum appended.  Segment records (table 6) are taken only
 * with tag & 32; otherwise the harness lists one segment that gave as
 * many actions as the chunks hold, which readers check.  The
 * records go into an emptied store, then every reader runs over it; cat
 * reads the first path record, at the time the last byte picks (its low
 * two bits); log symbolizes call sites when its bit 2 is set. */
#include "config.h"
#include "fuzz.h"
#include "store_int.h"
#include "codec.h"
#include "hash.h"
#include "spool.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	return retro_get_varint(p, end, v);
}

/* The key a path, call-site or module record is checked against
 * (retro_check_record). */
static uint64_t derived_key(int table, const uint8_t *v, size_t n)
{
	uint64_t pairs[RETRO_STACK_MAX * 2];

	if (table == 2)
		return retro_hash64(v, n) | 1;
	if (table == 4) {
		n = n / 24 < RETRO_STACK_MAX ? n / 24 : RETRO_STACK_MAX;
		for (size_t i = 0; i < n; i++)
			memcpy(&pairs[i * 2], v + i * 24, 16);
		return retro_hash64(pairs, n * 16) | 1;
	}
	if (n >= 1 && v[0] && v[0] <= 20 && 1u + v[0] <= n)
		return retro_hash64(v + 1, v[0]) | 1;
	return retro_hash64(v + 1, n ? n - 1 : 0) | 1;
}

/* One segment record listing the actions the chunks hold. */
static void list_segment(MDB_txn *txn, struct retro_store *st)
{
	unsigned char key[16] = { 0 };
	uint64_t val[2] = { 0, 0 };
	MDB_val k, v;
	MDB_cursor *cur;

	if (mdb_cursor_open(txn, st->chunks, &cur))
		return;
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		struct retro_action *a;
		size_t n;
		if (retro_chunk_decode(v.mv_data, v.mv_size, 0, 0, &a, &n) == 0) {
			val[0] += n;
			free(a);
		}
	}
	mdb_cursor_close(cur);
	val[1] = retro_record_sum(key, 16, &val[0], 8);
	k.mv_size = 16;
	k.mv_data = key;
	v.mv_size = 16;
	v.mv_data = val;
	mdb_put(txn, st->segments, &k, &v, 0);
}

static void put_shared(const char *store, const uint8_t *d, size_t n)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof path, "%s/" RETRO_SHARED_NAME, store);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (n > RETRO_SHARED_SIZE)
		n = RETRO_SHARED_SIZE;
	if (write(fd, d, n) != (ssize_t)n)
		fprintf(stderr, "fuzz_store: short write to %s\n", path);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const char *ats[4] = { "0", "0.000001", "0.5", "1000" };
	const uint8_t *p = data, *end = data + len;
	struct retro_store *st = fuzz_store_reset();
	const char *store = fuzz_store_dir();
	char *cat_path = NULL;
	int own_segments = 0;
	unsigned char *buf = NULL;
	MDB_dbi dbis[FUZZ_NTABLES];
	MDB_txn *txn;

	fuzz_tables(st, dbis);
	put_shared(store, (const uint8_t *)"", 0);
	if (mdb_txn_begin(st->env, NULL, 0, &txn)) {
		fprintf(stderr, "fuzz_store: cannot begin a transaction\n");
		abort();
	}
	while (p < end) {
		unsigned tag = *p++, table = tag & 15;
		uint64_t klen, vlen, h[2];
		const uint8_t *key, *val;
		MDB_val k, v;

		if (varint(&p, end, &klen) || varint(&p, end, &vlen) ||
		    klen > (uint64_t)(end - p) || vlen > (uint64_t)(end - p) - klen)
			break;
		key = p;
		val = p + klen;
		p += klen + vlen;
		if (table == FUZZ_NTABLES) {
			put_shared(store, val, vlen);
			continue;
		}
		if (table > FUZZ_NTABLES)
			continue;
		/* the format version is the harness's: another is refused */
		if (table == 0 && klen == 6 && !memcmp(key, "format", 6))
			continue;
		if (table == 6 && !(tag & 32))
			continue;
		own_segments |= table == 6;
		k.mv_size = klen;
		k.mv_data = (void *)key;
		v.mv_size = vlen;
		v.mv_data = (void *)val;
		if ((tag & 16) && (table == 1 || table == 6 || table == 7 ||
				   table == 8)) {
			uint64_t sum = table == 1 ? XXH64(val, vlen, 0)
				     : retro_record_sum(key, klen, val, vlen);
			unsigned char *q = realloc(buf, vlen + 8);
			if (!q)
				continue;
			buf = q;
			memcpy(buf, val, vlen);
			memcpy(buf + vlen, &sum, 8);
			v.mv_size = vlen + 8;
			v.mv_data = buf;
		} else if ((tag & 16) && table == 3) {
			retro_hash128(val, vlen, h);
			k.mv_size = 16;
			k.mv_data = h;
		} else if ((tag & 16) && (table == 2 || table == 4 || table == 5)) {
			h[0] = derived_key(table, val, vlen);
			k.mv_size = 8;
			k.mv_data = h;
		}
		if (table == 2 && !cat_path && vlen && !memchr(val, 0, vlen)) {
			cat_path = malloc(vlen + 1);
			if (cat_path) {
				memcpy(cat_path, val, vlen);
				cat_path[vlen] = 0;
			}
		}
		/* LMDB refuses some keys (empty, too long): so be it */
		mdb_put(txn, dbis[table], &k, &v, 0);
	}
	free(buf);
	if (!own_segments)
		list_segment(txn, st);
	if (mdb_txn_commit(txn)) {
		fprintf(stderr, "fuzz_store: cannot commit\n");
		abort();
	}
	retro_store_close(st);
	fuzz_readers(cat_path ? cat_path : "/", ats[len ? data[len - 1] & 3 : 0],
		     len && (data[len - 1] & 4));
	free(cat_path);
	return 0;
}
