#include "config.h"
#include "spool.h"
#include "sys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <retro/retro.h>

int retro_seg_name(char *buf, size_t n, uint32_t proc, uint32_t image,
		   uint32_t thread, uint32_t segno)
{
	/* snprintf is not async-signal-safe; this is a fixed-format writer. */
	uint32_t v[4] = { proc, image, thread, segno };
	const char pre[4] = { 'p', 'i', 't', 's' };
	size_t o = 0;

	for (int k = 0; k < 4; k++) {
		if (o + 13 >= n)
			return ENAMETOOLONG;
		if (k)
			buf[o++] = '-';
		buf[o++] = pre[k];
		o += retro_utoa(buf + o, v[k]);
	}
	if (o + 5 >= n)
		return ENAMETOOLONG;
	memcpy(buf + o, ".seg", 5);
	return 0;
}

int retro_seg_parse_name(const char *name, uint32_t *proc, uint32_t *image,
			 uint32_t *thread, uint32_t *segno)
{
	char tail[8];

	if (sscanf(name, "p%u-i%u-t%u-s%u%7s", proc, image, thread, segno,
		   tail) != 5 ||
	    strcmp(tail, ".seg") != 0)
		return EINVAL;
	return 0;
}

int retro_seg_walk(const void *map, size_t len, retro_rec_fn fn, void *arg)
{
	return retro_seg_walk_prefix(map, len, len, fn, arg);
}

int retro_seg_walk_prefix(const void *map, size_t have, size_t len,
			  retro_rec_fn fn, void *arg)
{
	const struct retro_seg_hdr *sh = map;
	const char *base = map;
	uint64_t end, off;

	if (have < RETRO_SEG_HDR || have > len ||
	    memcmp(sh->magic, RETRO_SPOOL_MAGIC, 8) ||
	    sh->version != RETRO_SPOOL_VERSION || sh->hdr_size != RETRO_SEG_HDR ||
	    sh->size > len)
		return RETRO_ECORRUPT;
	end = __atomic_load_n(&sh->used, __ATOMIC_ACQUIRE) + RETRO_SEG_HDR;
	if (end > sh->size)
		end = sh->size; /* reservations past the end were rotated away */
	if (end > have)
		return RETRO_ECORRUPT; /* less than `used` counts was read */
	for (off = RETRO_SEG_HDR; off + sizeof(struct retro_rec_hdr) <= end;) {
		const struct retro_rec_hdr *h = (const void *)(base + off);
		int r;

		if (h->len == 0 || h->type == 0)
			break; /* torn: reserved by a writer that died */
		if (h->len % 8 || h->len > end - off)
			return RETRO_ECORRUPT;
		if (h->type == REC_PAD) {
			off += h->len;
			continue;
		}
		r = fn(h, arg);
		if (r)
			return r;
		off += h->len;
	}
	return 0;
}
