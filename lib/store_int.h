/* Internals shared by store.c, import.c and reader.c. */
#ifndef RETRO_STORE_INT_H
#define RETRO_STORE_INT_H

#include <limits.h>
#include <stdint.h>
#include <lmdb.h>
#include <retro/retro.h>

/* Every liblmdb function retro calls.  They are reached through retro_mdb,
 * filled by retro_mdb_load (lib/mdb.c) from dlopen: the shim does not link
 * liblmdb, so that a recorded process that never opens a store does not
 * load it.  env_open loads it; retro-replay loads it at start. */
#define RETRO_MDB_FNS(X)                                                     \
	X(cmp) X(cursor_close) X(cursor_dbi) X(cursor_del) X(cursor_get)      \
	X(cursor_open) X(cursor_put) X(cursor_txn) X(dbi_open) X(del) X(drop) \
	X(env_close) X(env_create)                                            \
	X(env_get_fd) X(env_info) X(env_open) X(env_set_assert)               \
	X(env_set_flags) X(env_set_mapsize) X(env_set_maxdbs) X(env_stat)     \
	X(env_sync) X(get) X(put)                                             \
	X(stat) X(strerror) X(txn_abort) X(txn_begin) X(txn_commit)

struct retro_mdb_fns {
#define RETRO_MDB_FIELD(n) __typeof__(&mdb_##n) n;
	RETRO_MDB_FNS(RETRO_MDB_FIELD)
#undef RETRO_MDB_FIELD
};
extern struct retro_mdb_fns retro_mdb;

/* Loads liblmdb once.  Returns 0, or ELIBACC when it cannot be loaded or
 * lacks a function; retro_mdb_why() then says which and why. */
int retro_mdb_load(void);
const char *retro_mdb_why(void);

#ifndef RETRO_MDB_IMPL
#define mdb_cmp (retro_mdb.cmp)
#define mdb_cursor_close (retro_mdb.cursor_close)
#define mdb_cursor_dbi (retro_mdb.cursor_dbi)
#define mdb_cursor_txn (retro_mdb.cursor_txn)
#define mdb_cursor_del (retro_mdb.cursor_del)
#define mdb_cursor_get (retro_mdb.cursor_get)
#define mdb_cursor_open (retro_mdb.cursor_open)
#define mdb_cursor_put (retro_mdb.cursor_put)
#define mdb_dbi_open (retro_mdb.dbi_open)
#define mdb_del (retro_mdb.del)
#define mdb_drop (retro_mdb.drop)
#define mdb_env_close (retro_mdb.env_close)
#define mdb_env_create (retro_mdb.env_create)
#define mdb_env_get_fd (retro_mdb.env_get_fd)
#define mdb_env_info (retro_mdb.env_info)
#define mdb_env_open (retro_mdb.env_open)
#define mdb_env_set_assert (retro_mdb.env_set_assert)
#define mdb_env_set_flags (retro_mdb.env_set_flags)
#define mdb_env_set_mapsize (retro_mdb.env_set_mapsize)
#define mdb_env_set_maxdbs (retro_mdb.env_set_maxdbs)
#define mdb_env_stat (retro_mdb.env_stat)
#define mdb_env_sync (retro_mdb.env_sync)
#define mdb_get (retro_mdb.get)
#define mdb_put (retro_mdb.put)
#define mdb_stat (retro_mdb.stat)
#define mdb_strerror (retro_mdb.strerror)
#define mdb_txn_abort (retro_mdb.txn_abort)
#define mdb_txn_begin (retro_mdb.txn_begin)
#define mdb_txn_commit (retro_mdb.txn_commit)
#endif

struct pathcache;

struct retro_store {
	char path[PATH_MAX];
	MDB_env *env;
	MDB_dbi meta, chunks, paths, blobs, stacks, modules, segments, clock,
		waits;
	int rdonly;
	struct pathcache *pc;
};

/* Translates an LMDB return code to retro's: MDB_MAP_FULL becomes
 * RETRO_EMAPFULL, other MDB_* codes RETRO_ELMDB, errno values stay. */
int retro_mdb_err(int rc);

/* Big-endian keys keep LMDB's byte order equal to numeric order. */
static inline void be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}
static inline uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}
static inline void be64(unsigned char *p, uint64_t v)
{
	be32(p, (uint32_t)(v >> 32));
	be32(p + 4, (uint32_t)v);
}
static inline uint64_t rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

/* Where st's file is mapped: 1 with [*lo, *hi), or 0 when /proc does not
 * say. */
int retro_store_map(const struct retro_store *st, uintptr_t *lo,
		    uintptr_t *hi);

/* The spool directories of a store: STORE/spool, then the shared-memory
 * one named by STORE/SPOOL when it is usable; make: made again when it is
 * gone (after a reboot), for a writer.  Returns how many. */
int retro_spool_dirs(const char *store, char dirs[2][PATH_MAX], int make);
/* The last of retro_spool_dirs(store, ..., 1), where a recorder writes,
 * into out (n bytes).  0, or -1 when there is none. */
int retro_spool_dir(const char *store, char *out, size_t n);
/* Names store (made absolute) in dir/STORE, the link back from a spool
 * directory to its store, when it does not already. */
void retro_spool_link(const char *dir, const char *store);
/* Removes the shared-memory spool directories of this user whose store is
 * gone and that hold nothing still needed (sweep.c).  Returns how many. */
int retro_spool_sweep(void);
/* A store this process makes from now on names dir as its spool (when dir
 * is a private directory of ours): how a store deleted while processes
 * recorded into it is made again around the segments they still write. */
void retro_store_adopt_spool(const char *dir);
/* The importer's lock, STORE/IMPORTER.  retro-replay record holds it
 * (shared: two records into one store may) while it imports what the
 * processes recording into the store leave in the spool, and until it has
 * imported once more after letting go of it.  A process that ends while
 * it is held leaves its sealed segments to that importer instead of
 * opening LMDB, importing and syncing them itself: most of a short
 * recorded process's fixed cost.  A process that sees the lock free after
 * sealing its segments imports them itself; one that saw it held had
 * sealed them before record's last import.  Whatever is left for any
 * reason (a recorder killed) is in the spool, which every command
 * imports. */
#define RETRO_IMPORTER_FILE "IMPORTER"
/* Takes the lock for store: a close-on-exec descriptor that holds it, or
 * -errno. */
long retro_importer_hold(const char *store);
/* 1 when an importer holds store's lock now, else 0. */
int retro_importer_present(const char *store);

/* retro_import, also taking the segments of extra (a spool directory of a
 * store that is gone), when not NULL. */
int retro_import_dirs(struct retro_store *st, const char *extra, uint32_t proc,
		      int flags, struct retro_import_stats *stats);

/* Records without a content hash of their own are checked against the key
 * they are stored under: a path's id is the XXH3 of its bytes, a call
 * site's and a module's key the XXH3 of what identifies them, and exit
 * statuses, clock anchors and imported segments (their action counts)
 * carry retro_record_sum of key and value.  Returns 0, or RETRO_ECORRUPT
 * when the record is malformed or fails its check. */
enum { RT_PATH, RT_STACK, RT_MODULE, RT_WAIT, RT_CLOCK, RT_SEGMENT };
int retro_check_record(int table, const MDB_val *k, const MDB_val *v);

/* The next entry of a walk over a table with cur: 0, MDB_NOTFOUND at its
 * end, or RETRO_ECORRUPT when the key does not come after the one before
 * it in the table's order (mdb_cmp; *prev, which this keeps, has mv_data
 * NULL before the first).
 * liblmdb keeps no checksums, and a page whose bounds or child pointers
 * are overwritten can send a walk round the same entries for ever. */
int retro_walk_next(MDB_cursor *cur, MDB_val *k, MDB_val *v, MDB_val *prev);

/* Registers (unregisters) an open store's memory map with the crash guard
 * (guard.c), so that a fault on it is reported as the store's damage. */
void retro_guard_map(const struct retro_store *st);
void retro_guard_unmap(const struct retro_store *st);
/* liblmdb's assert callback (mdb_env_set_assert): exits 2 naming the
 * store when the guard is on. */
void retro_guard_assert(MDB_env *env, const char *what);

/* Imports the records of one spool segment (len bytes at map, header
 * included) into txn: chunks, paths, call sites, modules, blobs, clock
 * anchors, and the segment's entry in `segments` (keyed by its header's
 * proc, image, thread and segno).  *nacts receives the number of
 * actions.  Returns 0,
 * RETRO_ECORRUPT (the segment is malformed: its actions are not put,
 * while paths and blobs put before the damage stay in txn, referenced by
 * nothing), ENOMEM or an LMDB error. */
struct retro_import_stats;
int retro_import_records(struct retro_store *st, MDB_txn *txn,
			 const void *map, size_t len,
			 struct retro_import_stats *stats, uint64_t *nacts);
/* The same from the first `have` bytes of a segment of len bytes (a copy
 * holding every record its `used` counts).  snapshot: its writer goes on
 * (RETRO_IMPORT_LIVE); the records up to the first it has not filled. */
int retro_import_prefix(struct retro_store *st, MDB_txn *txn,
			const void *map, size_t have, size_t len, int snapshot,
			struct retro_import_stats *stats, uint64_t *nacts);

/* Every check the importer makes of a mapped segment's records, nothing
 * put (fsck): 0, RETRO_ECORRUPT (the importer would refuse it) or
 * ENOMEM. */
int retro_seg_check(const void *map, size_t len);

/* The importer treats segments of this pid and image as its own. */
extern uint32_t retro_import_self_image;

#endif
