/* Timing dependencies found from a recording alone (semantics.md, "Timing
 * assumptions"): pairs of conflicting actions of different processes whose
 * order was real-time only, not happens-before.
 *
 * Happens-before is tracked with one vector clock per process (threads of
 * a process synchronize through memory the recorder does not see, so a
 * process counts as one sequence of actions), from the causal edges the
 * recording shows: program order, fork to the child's first action, the
 * child's end to the wait that returned it, pipe and FIFO bytes to the
 * read that returned them, a modification to the observation of its
 * version, lock release to the next acquisition.  Actions are taken in
 * the order they returned, which every edge respects. */
#ifndef RETRO_HB_H
#define RETRO_HB_H

#include <stddef.h>
#include <stdint.h>
#include <retro/retro.h>

enum {
	RF_CONTENT = 1, /* the bytes of a file */
	RF_ENTRY,       /* a directory entry: existence, creation, removal */
	RF_STREAM,      /* the bytes of a pipe or FIFO, in order */
};

enum {
	RF_READ_WRITE = 1, /* an observation, then a modification */
	RF_WRITE_WRITE,    /* two modifications */
};

struct retro_finding {
	uint64_t path;  /* path id of the object */
	int kind;       /* RF_CONTENT or RF_ENTRY */
	int conflict;   /* RF_READ_WRITE or RF_WRITE_WRITE */
	struct retro_action first, second; /* copies */
	int64_t slack;  /* second->start - first->end, ns */
};

enum {
	RHB_ALL = 1 << 0, /* O_APPEND writes and standard output too */
};

struct retro_hb_stats {
	uint64_t actions;   /* actions analysed */
	uint64_t objects;   /* files and entries tracked */
	size_t peak_bytes;  /* the analysis's own memory at its largest */
};

/* Finds the timing dependencies of r, sorted by slack, smallest first.
 * *out is malloc'd.  Returns 0, ENOMEM, or EFBIG when the recording has
 * too many processes for the vector clocks to fit in memory. */
int retro_hb_check(struct retro_store *st, const struct retro_recording *r,
		   int flags, struct retro_finding **out, size_t *n,
		   struct retro_hb_stats *stats);
/* The same from the store itself, streamed (retro_scan): *r receives the
 * processes only (r->acts stays NULL; free it with retro_recording_free),
 * and the memory used grows with the threads, the objects and the
 * findings, not with the actions.  visit (when not NULL) sees every
 * action first, in no particular order.  Also returns what
 * retro_scan_open does, with why set. */
int retro_hb_check_store(struct retro_store *st, struct retro_recording *r,
			 int flags, struct retro_finding **out, size_t *n,
			 struct retro_hb_stats *stats,
			 void (*visit)(void *arg, const struct retro_action *a),
			 void *arg, char *why, size_t whylen);

#endif
