/* Content hashes: XXH3 from Debian's libxxhash, inlined.
 *
 * XXH3 hashes 64 bytes in a few nanoseconds, which is what lets the shim
 * hash every buffer a read returns inside the per-call budget; its 128-bit
 * form names blobs, where a collision would silently merge two contents. */
#ifndef RETRO_HASH_H
#define RETRO_HASH_H

#define XXH_INLINE_ALL
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>

static inline uint64_t retro_hash64(const void *p, size_t n)
{
	return XXH3_64bits(p, n);
}

static inline void retro_hash128(const void *p, size_t n, uint64_t out[2])
{
	XXH128_hash_t h = XXH3_128bits(p, n);
	out[0] = h.low64;
	out[1] = h.high64;
}

/* The check value of a small store record that has no content hash of its
 * own (an exit status, a clock anchor): binds the value to its key. */
static inline uint64_t retro_record_sum(const void *k, size_t kn,
					const void *v, size_t vn)
{
	return XXH3_64bits_withSeed(v, vn, XXH3_64bits(k, kn));
}

#endif
