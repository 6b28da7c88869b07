/* retro: record what programs do to files and time.
 *
 * The public interface of the store.  A store is a directory holding an
 * LMDB environment (the imported recording) and spool/ (per-thread segments
 * that recording processes append to, imported later).  Functions named for
 * an action return 0 or an error: an errno value, or one of the RETRO_E*
 * codes below; retro_strerror() describes either. */
#ifndef RETRO_RETRO_H
#define RETRO_RETRO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <retro/calls.h>

#define RETRO_FORMAT_VERSION 2

/* Project error codes, above every errno value. */
enum {
	RETRO_EBASE = 20000,
	RETRO_ENOTSTORE,  /* the directory is not a retro store */
	RETRO_EVERSION,   /* the store has another format version */
	RETRO_ECORRUPT,   /* a record or blob fails its checksum or decoding */
	RETRO_ESYMLINK,   /* the store path is a symbolic link */
	RETRO_EOWNER,     /* the store belongs to another user */
	RETRO_EMAPFULL,   /* the store's map is full */
	RETRO_ELMDB,      /* liblmdb reported an error (see the message) */
	RETRO_ENOTFOUND,  /* no such process, path or blob in the store */
	RETRO_ELAST
};

/* Returns a static description of err (an errno value or RETRO_E*). */
const char *retro_strerror(int err);

/* Where a store lives when neither -o nor RETRO_STORE names one:
 * $XDG_DATA_HOME/retro/store, else $HOME/.local/share/retro/store.
 * Returns 0, or ENAMETOOLONG, or ENOENT when HOME is unset. */
int retro_default_store(char *buf, size_t n);

struct retro_store;

enum {
	RETRO_OPEN_CREATE = 1 << 0, /* create the store if it does not exist */
	RETRO_OPEN_RDONLY = 1 << 1, /* never write (no import) */
};

/* Opens the store at path.  With RETRO_OPEN_CREATE a missing store is
 * created; many processes may race to create one, and exactly one does.
 * Returns 0, ENOENT (no store and no CREATE), RETRO_ESYMLINK, RETRO_EOWNER,
 * RETRO_ENOTSTORE, RETRO_EVERSION, RETRO_ELMDB, or an errno value.  On
 * error, *why (if not NULL) receives a sentence naming the reason. */
int retro_store_open(const char *path, int flags, struct retro_store **out,
		     char *why, size_t whylen);
void retro_store_close(struct retro_store *st);
const char *retro_store_path(const struct retro_store *st);

/* Makes sure a store exists at path without opening LMDB for long: what the
 * shim does at start.  Same returns as retro_store_open. */
int retro_store_prepare(const char *path, char *why, size_t whylen);

struct retro_import_stats {
	unsigned segments;  /* segments imported */
	unsigned skipped;   /* segments still being written by live threads */
	unsigned bad;       /* segments that could not be read (kept) */
	uint64_t actions;   /* actions imported */
	uint64_t inflight;  /* of which never completed */
	uint64_t bytes;     /* blob bytes newly stored */
	uint64_t losses;    /* loss markers: calls that were not recorded */
	uint64_t setid;     /* setuid/setgid programs started: not recorded */
	unsigned reused;    /* imported segments made from a pool file */
	unsigned pooled;    /* imported segments kept as pool files */
};

enum {
	RETRO_IMPORT_ALL = 0,        /* every sealed or orphaned segment */
	RETRO_IMPORT_LIVE = 1 << 0,  /* also segments of live writers */
	RETRO_IMPORT_POOL = 1 << 1,  /* keep imported shared-memory segments,
				      * zeroed, for the next ones (spool.h) */
	RETRO_IMPORT_WATCH = 1 << 2, /* keep, for the next imports, a pidfd
				      * of each live writer found and the
				      * pool files made (record's; the
				      * process keeps them) */
};

/* Imports spool segments into the store.  proc, if not 0, limits the import
 * to that process's segments.  Returns 0, RETRO_EMAPFULL (nothing of the
 * failed batch is lost: its segments stay in the spool), RETRO_ELMDB, or an
 * errno value. */
int retro_import(struct retro_store *st, uint32_t proc, int flags,
		 struct retro_import_stats *stats);

/* ---- reading a store ------------------------------------------------------ */

enum {
	RP_EXITED = 1 << 0,   /* status holds a wait status */
	RP_INFLIGHT = 1 << 1, /* ended with an action in flight (killed) */
	RP_ENDED = 1 << 2,    /* end is known */
	RP_LOSS = 1 << 3,     /* some of its calls were lost */
	RP_ARGV_CUT = 1 << 4, /* argv is the first part of a longer one */
};

struct retro_proc {
	uint32_t id;      /* store-unique id, as ps prints it */
	uint32_t parent;  /* id of the parent, 0 when not recorded */
	int32_t pid;
	int32_t ppid;
	int64_t start;    /* monotonic ns of its first record */
	int64_t end;
	int32_t status;   /* wait status, when RP_EXITED */
	uint32_t flags;
	uint32_t images;  /* number of program images (1 + execs) */
	uint32_t threads;
	uint64_t actions;
	uint64_t timereads;
	char *exe;        /* executable of the last image */
	char *argv;       /* NUL-separated argv of the last image */
	size_t argvlen;
};

struct retro_action {
	uint32_t proc;
	uint32_t thread;
	uint64_t seq;
	int32_t tid;
	uint16_t call;
	uint16_t state; /* 1 in flight, 2 done */
	uint16_t flags; /* RA_* */
	int32_t err;
	int64_t start;
	int64_t end;
	int64_t ret;
	int64_t off;
	uint64_t stack; /* stack key, 0 when none */
	uint64_t obj;   /* path id of the fd argument's object */
	uint64_t hash[2];
	uint64_t arg[RETRO_MAXARGS];
	uint32_t datalen;
};

struct retro_recording {
	struct retro_proc *procs;
	size_t nprocs;
	struct retro_action *acts; /* sorted by start, then pid, then seq */
	size_t nacts;
	int64_t t0;                /* start of the first action */
	uint64_t losses;
	/* loss markers that did not fit in STORE/shared.map: their calls
	 * were not recorded and are not counted in losses */
	uint64_t lost_markers;
	char boot_id[37];
};

/* Loads every process and action of the store.  Returns 0, RETRO_ECORRUPT
 * (why says which record), RETRO_ELMDB or ENOMEM. */
int retro_load(struct retro_store *st, struct retro_recording *rec, char *why,
	       size_t whylen);
void retro_recording_free(struct retro_recording *rec);

/* The same actions, streamed: retro_scan_open reads the store once to
 * fill in rec's processes (rec->acts stays NULL), calling visit (when not
 * NULL) with each action in no particular order, then retro_scan_next
 * gives the actions one at a time in rec->acts's order, keeping one
 * decoded chunk per thread in memory, not the recording.  _open returns
 * as retro_load; _next returns 1 with *a filled in, 0 at the end, or an
 * error code negated (why says what).  Close the scan before freeing rec. */
struct retro_scan;
int retro_scan_open(struct retro_store *st, struct retro_recording *rec,
		    struct retro_scan **scan,
		    void (*visit)(void *arg, const struct retro_action *a),
		    void *arg, char *why, size_t whylen);
int retro_scan_next(struct retro_scan *scan, struct retro_action *a);
void retro_scan_close(struct retro_scan *scan);

/* The string interned as id, or NULL. */
const char *retro_path(struct retro_store *st, uint64_t id);

/* Fetches a blob by its hash.  *data is malloc'd, with a NUL after its
 * *len bytes (so that strings in it end).  Returns 0,
 * RETRO_ENOTFOUND, RETRO_ECORRUPT (the bytes do not match their hash). */
int retro_blob_get(struct retro_store *st, const uint64_t hash[2],
		   void **data, size_t *len);

/* Symbolizes a stack key into "fn (file:line) <- fn ..." in buf.  Returns
 * 0, RETRO_ENOTFOUND, or RETRO_ECORRUPT (the record fails its check). */
int retro_stack_describe(struct retro_store *st, uint64_t key, char *buf,
			 size_t n);

/* Makes a crash while reading a store an error naming it: a SIGSEGV or
 * SIGBUS on the memory map of an open store, or inside liblmdb, prints
 * "PROG: STORE: the store is corrupt: ..." on standard error and exits 2
 * (LMDB keeps no checksums, and a damaged page can crash liblmdb itself).
 * Any other fault kills the process with its signal as before; a failed
 * liblmdb assertion is reported the same way.  For programs that read
 * stores, not for the shim.  prog NULL turns the guard off again. */
void retro_crash_guard(const char *prog);

/* Closes the object files retro_stack_describe keeps open between calls
 * (they belong to one store: call it before describing another's). */
void retro_stack_forget(void);

/* Finds the process with the given id.  Returns NULL if none. */
const struct retro_proc *retro_proc_find(const struct retro_recording *r,
					 uint32_t id);

#endif
