/* The chunk codec: how actions are kept in the store.
 *
 * A chunk holds up to RETRO_CHUNK_MAX consecutive actions of one thread.
 * Fields are varints, times are deltas, and the 64-bit path and stack ids a
 * chunk refers to are kept once in its id table, so that a small call costs
 * a dozen bytes or so.  A chunk ends with the XXH64 of everything before
 * it; decoding verifies it. */
#ifndef RETRO_CODEC_H
#define RETRO_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <retro/retro.h>

#define RETRO_CHUNK_MAX 4096

struct retro_buf {
	unsigned char *p;
	size_t len, cap;
	int oom;
};

void retro_buf_free(struct retro_buf *b);

/* Encodes n actions (all of one proc and thread, in seq order) into out,
 * which is reset first.  Returns 0, EINVAL when n > RETRO_CHUNK_MAX, or
 * ENOMEM. */
int retro_chunk_encode(const struct retro_action *acts, size_t n,
		       struct retro_buf *out);

/* Decodes a chunk.  *acts is malloc'd (proc and thread are filled from
 * the arguments).  Returns 0, RETRO_ECORRUPT or ENOMEM. */
int retro_chunk_decode(const void *data, size_t len, uint32_t proc,
		       uint32_t thread, struct retro_action **acts,
		       size_t *n);

/* varints, exported for the tests */
void retro_put_varint(struct retro_buf *b, uint64_t v);
int retro_get_varint(const unsigned char **p, const unsigned char *end,
		     uint64_t *v);

#endif
