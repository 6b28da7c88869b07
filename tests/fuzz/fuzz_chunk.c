/* Fuzz target: the chunk decoder (lib/codec.c), which every reader of
 * actions goes through (retro_load, fsck, run).
 *
 * The input is decoded as it is (a chunk with its checksum: what a damaged
 * store gives), then with its XXH64 appended, so that mutations reach the
 * decoding behind the checksum.  What decodes must survive a round trip:
 * encode(decode(x)) decodes to the same actions. */
#include "config.h"
#include "fuzz.h"
#include "codec.h"
#include "hash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void roundtrip(const struct retro_action *a, size_t n)
{
	struct retro_buf buf = { 0 };
	struct retro_action *b;
	size_t m;
	int rc;

	rc = retro_chunk_encode(a, n, &buf);
	if (rc == ENOMEM)
		return;
	if (rc) {
		fprintf(stderr, "fuzz_chunk: a decoded chunk does not encode: %s\n",
			retro_strerror(rc));
		abort();
	}
	rc = retro_chunk_decode(buf.p, buf.len, 7, 3, &b, &m);
	if (rc) {
		fprintf(stderr, "fuzz_chunk: a re-encoded chunk does not decode: "
				"%s\n", retro_strerror(rc));
		abort();
	}
	if (m != n || (n && memcmp(a, b, n * sizeof *a))) {
		fprintf(stderr, "fuzz_chunk: the round trip changed the actions\n");
		abort();
	}
	free(b);
	retro_buf_free(&buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct retro_action *a;
	unsigned char *sealed;
	uint64_t sum;
	size_t n;

	if (retro_chunk_decode(data, len, 7, 3, &a, &n) == 0) {
		roundtrip(a, n);
		free(a);
	}
	sealed = malloc(len + 8);
	if (!sealed)
		return 0;
	memcpy(sealed, data, len);
	sum = XXH64(data, len, 0);
	memcpy(sealed + len, &sum, 8);
	if (retro_chunk_decode(sealed, len + 8, 7, 3, &a, &n) == 0) {
		roundtrip(a, n);
		free(a);
	}
	free(sealed);
	return 0;
}
