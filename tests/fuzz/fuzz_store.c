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
 * XXH64 appended, a blob is keyed by the XXH3-128 of its bytes.  The
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
	unsigned char *buf = NULL;
	MDB_dbi dbis[9];
	MDB_txn *txn;

	dbis[0] = st->meta;
	dbis[1] = st->chunks;
	dbis[2] = st->paths;
	dbis[3] = st->blobs;
	dbis[4] = st->stacks;
	dbis[5] = st->modules;
	dbis[6] = st->segments;
	dbis[7] = st->clock;
	dbis[8] = st->waits;
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
		if (table == 9) {
			put_shared(store, val, vlen);
			continue;
		}
		if (table > 9)
			continue;
		/* the format version is the harness's: another is refused */
		if (table == 0 && klen == 6 && !memcmp(key, "format", 6))
			continue;
		k.mv_size = klen;
		k.mv_data = (void *)key;
		v.mv_size = vlen;
		v.mv_data = (void *)val;
		if ((tag & 16) && table == 1) {
			uint64_t sum = XXH64(val, vlen, 0);
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
