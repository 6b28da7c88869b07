/* The file model: what each path held at each moment of a recording.
 *
 * Replays the recorded modifications (writes at their landing offsets,
 * truncations, creations, renames, links, unlinks) over the initial state
 * the pre-images give, per path, in timeline order.  `cat` and `files` are
 * views of it. */
#ifndef RETRO_MODEL_H
#define RETRO_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <retro/retro.h>

/* a - b for two recorded times, held at INT64_MAX or INT64_MIN where it
 * would overflow: a damaged or made-up store can hold any time at all
 * (the fuzzers' spool target found log's doing so undefined). */
static inline int64_t retro_ns_sub(int64_t a, int64_t b)
{
	int64_t d;

	if (__builtin_sub_overflow(a, b, &d))
		return b < 0 ? INT64_MAX : INT64_MIN;
	return d;
}

enum retro_obj_state {
	RO_UNKNOWN = 0, /* existed before the recording; bytes not captured */
	RO_ABSENT,      /* did not exist */
	RO_FILE,        /* a regular file whose bytes are known */
	RO_PARTIAL,     /* a file whose bytes are only partly known */
	RO_DIR,
	RO_SYMLINK,
	RO_OTHER,       /* pipe, device, socket */
};

struct retro_version {
	int64_t t;       /* ns since the recording's start */
	uint32_t proc;
	uint16_t call;
	uint8_t state;   /* enum retro_obj_state after the action */
	uint64_t size;
	uint64_t hash[2]; /* of the content, when state is RO_FILE */
};

struct retro_file {
	char *path;
	uint8_t initial; /* enum retro_obj_state before the first action */
	struct retro_version *v;
	size_t nv;
};

struct retro_content {
	uint8_t state;   /* enum retro_obj_state */
	unsigned char *data;
	size_t len;
};

/* Every path the recording touched with its versions.  Returns 0, ENOMEM
 * or RETRO_ECORRUPT (a blob failed its hash; why says which). */
int retro_model_files(struct retro_store *st, const struct retro_recording *r,
		      struct retro_file **files, size_t *n, char *why,
		      size_t whylen);
void retro_model_files_free(struct retro_file *files, size_t n);

/* The content path held at ns after the recording's start (INT64_MAX: at
 * the end).  Returns 0 (see out->state), RETRO_ENOTFOUND when the
 * recording never touched path, ENOMEM or RETRO_ECORRUPT. */
int retro_model_content(struct retro_store *st,
			const struct retro_recording *r, const char *path,
			int64_t at, struct retro_content *out, char *why,
			size_t whylen);

const char *retro_obj_state_name(int state);

/* The model keeps each file's bytes in memory: a file that would grow
 * past this many bytes (4 GiB) is not rebuilt but shown as partly known,
 * so that no recording, damaged or crafted, makes a reader allocate
 * without bound.  Tests may lower it. */
extern size_t retro_model_max;

/* What an open-like action (open, openat, creat and 64 variants) did:
 * retro_is_open says whether it is one, retro_open_flags gives its flags
 * (creat: O_CREAT|O_WRONLY|O_TRUNC), retro_open_path its path id. */
int retro_is_open(int call);
int retro_open_flags(const struct retro_action *a);
uint64_t retro_open_path(const struct retro_action *a);
/* stat, lstat, fstatat, statx, access, faccessat: calls that look a path
 * up, and whose ENOENT records an absence. */
int retro_looks_up(int call);

#endif
