/* store_size STORE: how many bytes of store a recorded action costs.
 *
 * Imports what is left in the spool, then walks every sub-database: the
 * chunks (decoded, to count the actions), and the paths, stacks, modules and
 * blobs they refer to.  Prints one "name value" line per figure, for
 * bench/run.sh:
 *
 *     actions N
 *     dbi NAME entries E bytes B pages P   (B = sum of key+value sizes,
 *                                           P = LMDB pages, all kinds)
 *     psize S
 *     bytes_per_action X   (chunks+paths+stacks+modules) / actions
 *     chunk_pages_per_action Y   chunks' LMDB pages * psize / actions
 *     kept_refs R          actions whose bytes were kept (RA_DATA)
 *     kept_bytes K         the sum of those actions' byte counts: what the
 *                          store would hold without deduplication
 *     blob_bytes V         the bytes of the blobs it holds (values only:
 *                          each distinct content once, by its XXH3-128)
 *     written_refs W       of those, the actions of calls that write bytes
 *                          they were given (a K_BUFIN or K_IOVIN argument:
 *                          write, pwrite, writev, ...)
 *     written_bytes X      the sum of their byte counts
 *     written_unique_bytes Y   the bytes of their distinct contents
 *     used_bytes U         the LMDB file's used pages * psize (the file
 *                          itself is sparse, mapped at RETRO_MAPSIZE)
 *
 * Blobs (the data of writes and pre-images) are printed but excluded from
 * the per-action figure: they grow with what the program writes, not with
 * how many calls it makes. */
#include "config.h"
#include "store_int.h"
#include "codec.h"
#include "spool.h"
#include <retro/retro.h>

#include <retro/calls.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dbsize {
	const char *name;
	MDB_dbi dbi;
	size_t entries;
	uint64_t bytes;
	uint64_t pages;
	uint64_t vbytes;
};

/* A written content: its hash and size, to count distinct ones. */
struct wref {
	uint64_t hash[2];
	uint64_t len;
};

/* What the chunks say of kept bytes: references and their total size, and
 * the same for the bytes programs wrote. */
struct kept {
	uint64_t refs;
	uint64_t bytes;
	struct wref *w;
	size_t nw, capw;
	int oom;
};

/* 1 when call writes bytes it was given (they are kept as its blob). */
static int writes_bytes(unsigned call)
{
	if (call == 0 || call >= RC_NCALLS)
		return 0;
	for (int i = 0; i < retro_calls[call].nargs; i++)
		if (retro_calls[call].kind[i] == K_BUFIN ||
		    retro_calls[call].kind[i] == K_IOVIN)
			return 1;
	return 0;
}

static int wref_cmp(const void *a, const void *b)
{
	const struct wref *x = a, *y = b;

	if (x->hash[0] != y->hash[0])
		return x->hash[0] < y->hash[0] ? -1 : 1;
	if (x->hash[1] != y->hash[1])
		return x->hash[1] < y->hash[1] ? -1 : 1;
	return 0;
}

/* Counts n decoded actions into *actions and their kept bytes into *kp.
 * The importer keeps the bytes of a completed action (or an exec's argv
 * at intent) with RA_DATA and without RA_DATA_LOST (lib/import.c). */
static void count(const struct retro_action *acts, size_t n,
		  uint64_t *actions, struct kept *kp)
{
	*actions += n;
	for (size_t i = 0; i < n; i++)
		if ((acts[i].flags & RA_DATA) &&
		    !(acts[i].flags & RA_DATA_LOST) &&
		    (acts[i].flags & RA_HASH)) {
			kp->refs++;
			kp->bytes += acts[i].datalen;
			if (!writes_bytes(acts[i].call))
				continue;
			if (kp->nw == kp->capw) {
				size_t cap = kp->capw ? kp->capw * 2 : 1024;
				struct wref *q = realloc(kp->w, cap * sizeof *q);
				if (!q) {
					kp->oom = 1;
					continue;
				}
				kp->w = q;
				kp->capw = cap;
			}
			memcpy(kp->w[kp->nw].hash, acts[i].hash, 16);
			kp->w[kp->nw++].len = acts[i].datalen;
		}
}

static int walk(MDB_txn *txn, struct dbsize *d, uint64_t *actions,
		struct kept *kp)
{
	MDB_cursor *cur;
	MDB_val k, v;
	MDB_stat ms;
	int rc;

	rc = mdb_stat(txn, d->dbi, &ms);
	if (rc)
		return rc;
	d->pages = ms.ms_branch_pages + ms.ms_leaf_pages + ms.ms_overflow_pages;
	rc = mdb_cursor_open(txn, d->dbi, &cur);
	if (rc)
		return rc;
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
		d->entries++;
		d->bytes += k.mv_size + v.mv_size;
		d->vbytes += v.mv_size;
		if (actions && k.mv_size == 16) {
			struct retro_action *acts;
			size_t n;
			int e = retro_chunk_decode(v.mv_data, v.mv_size,
						   rd32(k.mv_data),
						   rd32((unsigned char *)
							k.mv_data + 4),
						   &acts, &n);
			if (e) {
				fprintf(stderr, "store_size: chunk: %s\n",
					retro_strerror(e));
				mdb_cursor_close(cur);
				return e;
			}
			count(acts, n, actions, kp);
			free(acts);
		}
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int main(int argc, char **argv)
{
	struct retro_store *st;
	struct dbsize dbs[] = {
		{ "chunks" }, { "paths" }, { "stacks" }, { "modules" },
		{ "blobs" },  { "meta" },  { "segments" }, { "clock" },
		{ "waits" },
	};
	size_t ndbs = sizeof dbs / sizeof dbs[0];
	struct retro_import_stats is = { 0 };
	struct kept kp = { 0 };
	MDB_txn *txn;
	MDB_stat ms;
	MDB_envinfo mi;
	char why[512] = "";
	uint64_t actions = 0, counted;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: store_size STORE\n");
		return 2;
	}
	rc = retro_store_open(argv[1], 0, &st, why, sizeof why);
	if (rc) {
		fprintf(stderr, "store_size: %s: %s %s\n", argv[1],
			retro_strerror(rc), why);
		return 1;
	}
	/* The shim imports at exit; this picks up what a killed run left. */
	rc = retro_import(st, 0, RETRO_IMPORT_ALL, &is);
	if (rc) {
		fprintf(stderr, "store_size: import: %s\n", retro_strerror(rc));
		goto out_close;
	}

	dbs[0].dbi = st->chunks;
	dbs[1].dbi = st->paths;
	dbs[2].dbi = st->stacks;
	dbs[3].dbi = st->modules;
	dbs[4].dbi = st->blobs;
	dbs[5].dbi = st->meta;
	dbs[6].dbi = st->segments;
	dbs[7].dbi = st->clock;
	dbs[8].dbi = st->waits;
	rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc) {
		fprintf(stderr, "store_size: %s\n",
			retro_strerror(retro_mdb_err(rc)));
		goto out_close;
	}
	for (size_t i = 0; i < ndbs && !rc; i++)
		rc = walk(txn, &dbs[i], i == 0 ? &actions : NULL, &kp);
	if (!rc)
		rc = mdb_env_stat(st->env, &ms);
	if (!rc)
		rc = mdb_env_info(st->env, &mi);
	mdb_txn_abort(txn);
	if (rc) {
		fprintf(stderr, "store_size: %s\n",
			retro_strerror(retro_mdb_err(rc)));
		goto out_close;
	}

	printf("actions %llu\n", (unsigned long long)actions);
	for (size_t i = 0; i < ndbs; i++)
		printf("dbi %s entries %zu bytes %llu pages %llu\n",
		       dbs[i].name, dbs[i].entries,
		       (unsigned long long)dbs[i].bytes,
		       (unsigned long long)dbs[i].pages);
	printf("psize %u\n", ms.ms_psize);
	counted = dbs[0].bytes + dbs[1].bytes + dbs[2].bytes + dbs[3].bytes;
	printf("counted_bytes %llu\n", (unsigned long long)counted);
	printf("kept_refs %llu\n", (unsigned long long)kp.refs);
	printf("kept_bytes %llu\n", (unsigned long long)kp.bytes);
	printf("blob_bytes %llu\n", (unsigned long long)dbs[4].vbytes);
	if (!kp.oom) {
		uint64_t wb = 0, wu = 0;

		qsort(kp.w, kp.nw, sizeof *kp.w, wref_cmp);
		for (size_t i = 0; i < kp.nw; i++) {
			wb += kp.w[i].len;
			if (i == 0 || wref_cmp(&kp.w[i - 1], &kp.w[i]))
				wu += kp.w[i].len;
		}
		printf("written_refs %zu\n", kp.nw);
		printf("written_bytes %llu\n", (unsigned long long)wb);
		printf("written_unique_bytes %llu\n", (unsigned long long)wu);
	}
	printf("used_bytes %llu\n",
	       (unsigned long long)(mi.me_last_pgno + 1) * ms.ms_psize);
	if (actions) {
		printf("bytes_per_action %.2f\n",
		       (double)counted / (double)actions);
		printf("chunk_pages_per_action %.2f\n",
		       (double)(dbs[0].pages * ms.ms_psize) / (double)actions);
	}
out_close:
	free(kp.w);
	retro_store_close(st);
	return rc ? 1 : 0;
}
