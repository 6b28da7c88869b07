/* Fuzz target: the spool importer (lib/import.c, lib/spool.c).  The input
 * is one spool segment (header and records, as a recording thread leaves
 * it in STORE/spool); it is imported into an empty store the way
 * retro_import imports a segment file.  Where the import succeeds, the
 * store must load (what the importer writes, the readers read), and for
 * half the inputs (the last byte's low bit) every reader of retro-replay
 * then runs over it (log symbolizing call sites when bit 1 is set too).
 * fsck's dry run of the importer's checks (retro_seg_check) must say of
 * every input what the import found: taken, or corrupt. */
#include "config.h"
#include "fuzz.h"
#include "store_int.h"
#include "spool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct retro_import_stats stats;
	struct retro_recording r;
	struct retro_store *st = fuzz_store_reset();
	char why[512] = "";
	uint64_t nacts;
	MDB_txn *txn;
	void *seg;
	int rc;

	/* records are read in place, as from the 4096-aligned mapping */
	if (posix_memalign(&seg, 4096, len ? len : 1)) {
		retro_store_close(st);
		return 0;
	}
	memcpy(seg, data, len);
	memset(&stats, 0, sizeof stats);
	if (mdb_txn_begin(st->env, NULL, 0, &txn)) {
		fprintf(stderr, "fuzz_spool: cannot begin a transaction\n");
		abort();
	}
	rc = retro_import_records(st, txn, seg, len, &stats, &nacts);
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if ((rc == 0 || rc == RETRO_ECORRUPT) &&
	    retro_seg_check(seg, len) != rc) {
		fprintf(stderr, "fuzz_spool: the import says %s, fsck's check "
				"does not\n", retro_strerror(rc));
		abort();
	}
	free(seg);
	retro_store_close(st);
	if (rc)
		return 0;
	if (retro_store_open(fuzz_store_dir(), RETRO_OPEN_RDONLY, &st, why,
			     sizeof why)) {
		fprintf(stderr, "fuzz_spool: %s\n", why);
		abort();
	}
	rc = retro_load(st, &r, why, sizeof why);
	if (rc) {
		fprintf(stderr, "fuzz_spool: an imported segment does not load: "
				"%s: %s\n", retro_strerror(rc), why);
		abort();
	}
	retro_recording_free(&r);
	retro_store_close(st);
	if (len && (data[len - 1] & 1))
		fuzz_readers(NULL, NULL, data[len - 1] & 2);
	return 0;
}
