/* Makes fuzz seeds from real recordings (tests/fuzz/mkseeds.sh runs it):
 *   mkseed store STORE OUT        STORE's tables as one fuzz_store input
 *   mkseed chunks STORE OUTDIR    each chunk, checksum off, for fuzz_chunk
 *   mkseed segment SEG OUT        a spool segment cut to its records, for
 *                                 fuzz_spool */
#include "config.h"
#include "store_int.h"
#include "codec.h"
#include "spool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void varint(FILE *f, uint64_t v)
{
	while (v >= 0x80) {
		fputc((int)(v | 0x80) & 0xff, f);
		v >>= 7;
	}
	fputc((int)v, f);
}

static void rec(FILE *f, int tag, const void *k, size_t kn, const void *v,
		size_t vn)
{
	fputc(tag, f);
	varint(f, kn);
	varint(f, vn);
	fwrite(k, 1, kn, f);
	fwrite(v, 1, vn, f);
}

static int dump(struct retro_store *st, const char *mode, const char *out)
{
	MDB_dbi dbis[9] = { st->meta,	  st->chunks,	st->paths,
			    st->blobs,	  st->stacks,	st->modules,
			    st->segments, st->clock,	st->waits };
	FILE *f = NULL;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	unsigned nchunk = 0;

	if (!strcmp(mode, "store") && !(f = fopen(out, "wb"))) {
		perror(out);
		return 1;
	}
	if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn))
		return 1;
	for (int t = 0; t < 9; t++) {
		if (mdb_cursor_open(txn, dbis[t], &cur))
			return 1;
		while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
			if (!f) { /* chunks */
				char path[PATH_MAX];
				FILE *c;
				if (t != 1 || v.mv_size < 8)
					continue;
				snprintf(path, sizeof path, "%s/chunk-%03u", out,
					 nchunk++);
				c = fopen(path, "wb");
				if (!c) {
					perror(path);
					return 1;
				}
				fwrite(v.mv_data, 1, v.mv_size - 8, c);
				fclose(c);
			} else if (t == 1 && v.mv_size >= 8) {
				rec(f, 16 | t, k.mv_data, k.mv_size, v.mv_data,
				    v.mv_size - 8);
			} else if (t == 6) {
				/* fuzz_store lists the segment itself */
				continue;
			} else if ((t == 7 || t == 8) && v.mv_size >= 8) {
				rec(f, 16 | t, k.mv_data, k.mv_size, v.mv_data,
				    v.mv_size - 8);
			} else if (t == 2 || t == 3 || t == 4 || t == 5) {
				/* keys derived from the values */
				rec(f, 16 | t, "", 0, v.mv_data, v.mv_size);
			} else {
				rec(f, t, k.mv_data, k.mv_size, v.mv_data,
				    v.mv_size);
			}
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	if (f && fclose(f)) {
		perror(out);
		return 1;
	}
	return 0;
}

static int segment(const char *in, const char *out)
{
	FILE *f = fopen(in, "rb");
	struct retro_seg_hdr h;
	unsigned char *buf;
	size_t n;

	if (!f || fread(&h, sizeof h, 1, f) != 1) {
		perror(in);
		return 1;
	}
	n = RETRO_SEG_HDR + h.used;
	if (n > h.size)
		n = h.size;
	buf = calloc(1, n);
	rewind(f);
	if (!buf || fread(buf, 1, n, f) != n) {
		fprintf(stderr, "%s: short segment\n", in);
		return 1;
	}
	fclose(f);
	/* the cut file is the whole segment now */
	h.size = n;
	h.sealed = 1;
	memcpy(buf, &h, sizeof h);
	f = fopen(out, "wb");
	if (!f || fwrite(buf, 1, n, f) != n || fclose(f)) {
		perror(out);
		return 1;
	}
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	struct retro_store *st;
	char why[PATH_MAX + 256];
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: mkseed store|chunks|segment IN OUT\n");
		return 2;
	}
	if (!strcmp(argv[1], "segment"))
		return segment(argv[2], argv[3]);
	if (retro_store_open(argv[2], RETRO_OPEN_RDONLY, &st, why, sizeof why)) {
		fprintf(stderr, "mkseed: %s\n", why);
		return 2;
	}
	rc = dump(st, argv[1], argv[3]);
	retro_store_close(st);
	return rc;
}
