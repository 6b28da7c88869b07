/* The spool: per-thread segments of raw records in shared memory.
 *
 * A recording thread appends records to a MAP_SHARED file under
 * STORE/spool/.  The page cache keeps them when the process is killed, and
 * the importer (import.c) turns sealed or orphaned segments into compact
 * store chunks.  Nothing here takes a lock or allocates: a record is
 * reserved with one xadd on the segment's `used`, which is atomic against
 * signal handlers on the same thread. */
#ifndef RETRO_SPOOL_H
#define RETRO_SPOOL_H

#include <stdint.h>
#include <stddef.h>
#include <retro/calls.h>

#define RETRO_SPOOL_MAGIC "RETROSPL"
#define RETRO_SPOOL_VERSION 2
#define RETRO_SEG_HDR 4096u
#define RETRO_SEG_DEFAULT (4u << 20)
/* A thread's first segment; each next one doubles, up to the default.
 * Most processes record little, and making and removing a 4 MiB segment
 * (1,024 shared-memory pages) was most of what recording a short process
 * cost.  A shell's fork and exec makes two (the child's before the exec,
 * the new image's): 128 KiB took 82 us to make here, 32 KiB 35 us; a
 * recorded shell loop of /bin/true went from 1.57 to 1.47 ms a process.
 * 16 KiB gained nothing more. */
#define RETRO_SEG_FIRST (32u << 10)
/* Past RETRO_SEG_SLOW a segment doubles only when the thread filled the
 * last one at a MiB per RETRO_SEG_FAST_NS (record's import tick) or
 * faster.  The segment a thread is filling is imported only when it is
 * sealed, and the last one after the command ends, while `record` waits:
 * a python3 loop creating 10,000 small files (3 MB of records in ~170
 * ms) put 2 of its 4 MiB in the last segment.  A thread that records
 * fast still gets big segments: with every segment 1 MiB, 1M recorded
 * pwrites took 40 ns a call more (the importer had not pooled the
 * segments it sealed when it needed new ones).  Measured in alternating
 * runs, 6 each, files and store on tmpfs: python 202 -> 184 ms, sqlite's
 * 100,000 rows 215 -> 209, open+close and pwrite unchanged.  (A first
 * version compared the last segment's age, not its pace: a 4 MiB segment
 * then always looked slow, and the open+close benchmark's thread went
 * back to 1 MiB every other segment, 30 ns a call more.) */
#define RETRO_SEG_SLOW (1u << 20)
#define RETRO_SEG_FAST_NS 20000000 /* a MiB */
/* A segment is made as NAME.new and renamed to NAME with its header
 * complete; an old NAME.new was abandoned by a killed process. */
#define RETRO_SEG_NEW ".new"
#define RETRO_SEG_NEW_AGE 60 /* seconds */
/* In a shared-memory spool directory: the path of its store (sweep.c). */
#define RETRO_SPOOL_LINK "STORE"
/* The pool: `record`'s periodic import does not remove the segments it
 * has imported from the shared-memory spool.  It zeroes them and renames
 * them free-NAME, and a recording thread that needs a new segment renames
 * one of those to its own NAME.new.  Its pages then already exist.  A new
 * shared-memory page costs about 1.5 us to allocate, zero and charge, which
 * made up more than half of what recording a small call cost.  Pool files
 * older than RETRO_POOL_AGE are removed, and so is every pool file at an
 * import that does not keep a pool (record's last one). */
#define RETRO_POOL_PREFIX "free-"
#define RETRO_POOL_MAX (64u << 20) /* bytes per spool directory */
#define RETRO_POOL_AGE 2           /* seconds */
/* In a spool directory: the system call sites the trap layer rewrote in
 * earlier processes, one file per C library (or loader) and program
 * (rewrite.c).  They go with the spool when an import removes it. */
#define RETRO_SITES_PREFIX "sites-"
/* ... and the call chains they unwound, one file per program
 * (recorder.c). */
#define RETRO_STACKS_PREFIX "stacks-"
/* Kept free at the end of every segment for the loss marker. */
#define RETRO_SEG_RESERVE 256u

enum retro_rec_type {
	REC_ACTION = 1,
	REC_PATH,   /* an interned string: id, bytes */
	REC_STACK,  /* raw return addresses: id, n, frames */
	REC_MODULE, /* a loaded object: base, size, build-id, path */
	REC_ARGV,   /* argv and exe of an image start (data of RC_start) */
	REC_CLOCK,  /* a monotonic-to-realtime anchor */
	REC_PAD,    /* room an action reserved and did not use: skipped */
};

enum retro_rec_state {
	RS_TORN = 0,   /* reserved but never written: the writer died */
	RS_INTENT = 1, /* logged before the call */
	RS_DONE = 2,   /* completed after the call returned */
};

struct retro_rec_hdr {
	uint32_t len; /* total bytes, header included, multiple of 8 */
	uint16_t type;
	uint16_t state;
};

/* Bits of retro_rec_action.flags */
enum {
	RA_HASH = 1 << 0,      /* hash[] holds the content hash of the bytes */
	RA_DATA = 1 << 1,      /* datalen bytes follow, kept as a blob */
	RA_DATA_LOST = 1 << 2, /* the bytes were too large to keep */
	RA_CREATED = 1 << 3,   /* open/mkdir created the object */
	RA_OFFSET = 1 << 4,    /* off is where the write landed */
	RA_SIGNAL = 1 << 5,    /* issued inside a signal handler */
};

/* An action: a fixed part, then only what this call needs, in order:
 * the landing offset (RO_OFF: write without an offset argument), a
 * content hash (RO_HASH: bytes returned and not kept), nargs arguments,
 * and the kept bytes.  Bytes that are kept are hashed by the importer,
 * not on the recording thread. */
struct retro_rec_action {
	struct retro_rec_hdr h;
	uint16_t call;
	uint16_t flags;
	int32_t err;
	uint64_t seq;
	int64_t start;
	int64_t end;
	int64_t ret;
	uint64_t stack; /* id of a REC_STACK of this segment, or 0 */
	uint64_t obj;   /* path id of the first fd argument's object */
	uint8_t nargs;
	uint8_t opt;
	uint16_t pad;
	uint32_t datalen; /* bytes of data kept */
};

enum { RO_OFF = 1, RO_HASH = 2 };

static inline size_t retro_rec_tail(uint8_t opt, uint8_t nargs)
{
	return ((opt & RO_OFF) ? 8u : 0u) + ((opt & RO_HASH) ? 16u : 0u) +
	       (size_t)nargs * 8u;
}

static inline int64_t *retro_rec_off(struct retro_rec_action *a)
{
	return (int64_t *)(void *)(a + 1);
}

static inline uint64_t *retro_rec_hash(struct retro_rec_action *a)
{
	return (uint64_t *)(void *)((char *)(a + 1) +
				    ((a->opt & RO_OFF) ? 8 : 0));
}

static inline uint64_t *retro_rec_args(struct retro_rec_action *a)
{
	return (uint64_t *)(void *)((char *)(a + 1) +
				    retro_rec_tail(a->opt & (RO_OFF | RO_HASH), 0));
}

static inline unsigned char *retro_rec_data(struct retro_rec_action *a)
{
	return (unsigned char *)(a + 1) + retro_rec_tail(a->opt, a->nargs);
}

/* Bytes of data the record has room for (0 if it is malformed). */
static inline size_t retro_rec_datacap(const struct retro_rec_action *a)
{
	size_t fixed = sizeof *a + retro_rec_tail(a->opt, a->nargs);

	return a->h.len >= fixed ? a->h.len - fixed : 0;
}

struct retro_rec_path {
	struct retro_rec_hdr h;
	uint64_t id;
	uint32_t len;
	uint32_t pad;
	/* bytes follow, not NUL-terminated */
};

#define RETRO_STACK_MAX 8
struct retro_rec_stack {
	struct retro_rec_hdr h;
	uint64_t id;
	uint32_t n;
	uint32_t pad;
	uint64_t pc[RETRO_STACK_MAX];
};

struct retro_rec_module {
	struct retro_rec_hdr h;
	uint64_t base; /* lowest mapped address */
	uint64_t size; /* span of its PT_LOAD segments */
	uint64_t bias; /* load bias: file vaddr = pc - bias */
	uint8_t build_id[20];
	uint32_t build_id_len;
	uint32_t pathlen;
	uint32_t pad;
	/* path follows */
};

struct retro_rec_clock {
	struct retro_rec_hdr h;
	int64_t mono;
	int64_t real;
};

enum { SEG_REUSED = 1 };

struct retro_seg_hdr {
	char magic[8];
	uint32_t version;
	uint32_t hdr_size;
	uint64_t size;      /* file size, header included */
	uint64_t used;      /* bytes of records reserved, from hdr_size */
	uint32_t sealed;    /* the writer will append nothing more */
	uint32_t proc;      /* store-unique process id */
	uint32_t image;     /* exec count of that process */
	uint32_t thread;    /* thread index within the process, 1 = main */
	uint32_t segno;
	int32_t pid;
	int32_t tid;
	uint32_t flags;     /* SEG_REUSED: made from a pool file */
	uint64_t starttime; /* /proc/PID/stat starttime, for liveness */
	uint8_t boot_id[16];
};

/* STORE/shared.map: the process-id counter, and a place for loss records
 * that every process can reach even when no segment can be created (its
 * blocks are allocated when the store is made).  Appended with a locked
 * xadd on `used`; readers show each record as a loss action.  `used`
 * goes on counting past the end: a record that did not fit counts in
 * `overflow` instead, so readers take the records the file holds.
 *
 * 64 KiB hold 1,636 loss records (a thread writes one or two per time
 * it loses calls).  It was 1 MiB: allocating that took 0.32 ms of
 * every new store on tmpfs (0.02 ms for 64 KiB), and a recorded program
 * that exec'd mapped it again after a fallocate that took 55 us even
 * though the blocks were there.  Stores made with 1 MiB keep it; a
 * process maps the first 64 KiB. */
#define RETRO_SHARED_NAME "shared.map"
#define RETRO_SHARED_SIZE (64u << 10)

struct retro_shared_hdr {
	uint64_t next_proc;
	uint64_t used; /* bytes of loss records after the header */
	uint64_t overflow; /* loss records that did not fit */
	uint64_t tsc_mult;  /* the TSC's rate as a process measured it */
	uint64_t tsc_check; /* tsc_mult ^ a key of the boot it holds for */
	uint64_t pad[3];
};

struct retro_loss_rec {
	uint32_t magic; /* RETRO_LOSS_MAGIC once complete */
	uint32_t proc;
	uint32_t thread;
	int32_t err;
	int64_t since;
	int64_t until; /* 0: still losing when written */
	uint64_t count;
};
#define RETRO_LOSS_MAGIC 0x534f4c52u /* "RLOS" */

/* The most any version made a shared map: what readers look at, so that
 * a foreign file there cannot keep them reading for long. */
#define RETRO_SHARED_SIZE_MAX (1u << 20)

/* How many bytes of loss records a shared map of size bytes holds, given
 * its `used`. */
static inline uint64_t retro_shared_span(uint64_t used, uint64_t size)
{
	const uint64_t hdr = sizeof(struct retro_shared_hdr);
	uint64_t room;

	if (size > RETRO_SHARED_SIZE_MAX)
		size = RETRO_SHARED_SIZE_MAX;
	room = size > hdr ? size - hdr : 0;
	room -= room % sizeof(struct retro_loss_rec);
	return used < room ? used : room;
}

/* Names a segment file: "p<proc>-i<image>-t<thread>-s<segno>.seg". */
int retro_seg_name(char *buf, size_t n, uint32_t proc, uint32_t image,
		   uint32_t thread, uint32_t segno);

/* Parses a segment name.  Returns 0 or EINVAL. */
int retro_seg_parse_name(const char *name, uint32_t *proc, uint32_t *image,
			 uint32_t *thread, uint32_t *segno);

/* Walks the records of a mapped segment of len bytes.  Calls fn for each
 * whole record; stops at a torn record or the end of `used`.  Returns 0, or
 * RETRO_ECORRUPT when the header is not a segment's, or the first non-zero
 * value fn returned. */
typedef int (*retro_rec_fn)(const struct retro_rec_hdr *rec, void *arg);
int retro_seg_walk(const void *map, size_t len, retro_rec_fn fn, void *arg);
/* The same over the first `have` bytes of a segment of len bytes: a copy,
 * which must hold every record the copy's `used` counts. */
int retro_seg_walk_prefix(const void *map, size_t have, size_t len,
			  retro_rec_fn fn, void *arg);

#endif
