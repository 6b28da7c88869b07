/* The importer: spool segments become store chunks.
 *
 * A segment is imported once it is sealed (its thread ended, rotated or the
 * process exited) or its writer is gone (killed).  The import of a batch of
 * segments is one LMDB transaction that also records each segment in
 * `segments`; the files are unlinked only after the commit, and a segment
 * already listed there is never imported twice.  A full map aborts the
 * batch and leaves its segments in the spool, so nothing is lost. */
#include "config.h"
#include "store_int.h"
#include "codec.h"
#include "hash.h"
#include "spool.h"
#include "os.h"
#include "sys.h"

#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

uint32_t retro_import_self_image = UINT32_MAX;

struct segref {
	char name[64];
	int dir;
	int sealed; /* its writer said so: no one writes it again */
	int live;   /* imported as a snapshot (RETRO_IMPORT_LIVE): its writer
		     * goes on, so the file stays and no import is noted */
	uint32_t proc, image, thread, segno;
	/* A sealed segment that may become a pool file (pool_put): its
	 * descriptor, open for writing, kept from import_one; -1 if none. */
	long fd;
	uint64_t size, used;
};

struct rawstack {
	uint64_t id, key;
};

struct seginfo {
	struct retro_store *st;
	MDB_txn *txn;
	const struct retro_seg_hdr *hdr;
	const struct retro_rec_module *mods[256];
	int nmods;
	struct rawstack *stacks;
	size_t nstacks, capstacks;
	struct retro_action *acts;
	size_t nacts, capacts;
	struct retro_import_stats *stats;
	int rc;
	int dry; /* retro_seg_check: every check, nothing put */
	int snapshot; /* RETRO_IMPORT_LIVE of a segment still written */
};

/* on_record's answer at the end of a snapshot's records (seginfo): no
 * errno, project code (retro.h) or LMDB error is -1. */
#define WALK_STOP (-1)

static int cmp_seg(const void *a, const void *b)
{
	const struct segref *x = a, *y = b;

	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	if (x->image != y->image)
		return x->image < y->image ? -1 : 1;
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	return x->segno < y->segno ? -1 : x->segno > y->segno;
}

static int cmp_seq(const void *a, const void *b)
{
	const struct retro_action *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writers that an import with RETRO_IMPORT_WATCH found alive, each with a
 * pidfd opened then.  A pidfd polls readable once its process has exited,
 * so the next import asks with one poll where /proc took four system
 * calls and a formatted read: record's imports asked ~5,000 times during
 * `make -j2` of this project, a few live segments each tick.  The pidfd
 * is opened before /proc is read: if /proc then shows the writer (its
 * start time), the pid was the writer's all along, so the pidfd is its.
 * An exited writer keeps its slot, its pidfd closed (fd 0), as gone: /proc
 * still shows a zombie, and an answer that changed between two questions
 * about one segment (seg_read's, import_one's) would skip it.  fd holds
 * the descriptor + 1; a slot is taken over, its pidfd closed, when every
 * one is in use. */
#define WATCH_SLOTS 64
static struct watched {
	int32_t pid;
	int fd;
	uint64_t start;
} watched[WATCH_SLOTS];
static unsigned watch_next;

static int writer_alive_watched(int32_t pid, uint64_t start)
{
	struct watched *w;
	long fd;
	int alive;

	for (int i = 0; i < WATCH_SLOTS; i++) {
		struct pollfd p;
		long r;
		w = &watched[i];
		if (!w->pid || w->pid != pid || w->start != start)
			continue;
		if (!w->fd)
			return 0;
		p.fd = w->fd - 1;
		p.events = POLLIN;
		p.revents = 0;
		r = retro_sys3(SYS_poll, &p, 1, 0);
		if (r == 0)
			return 1;
		retro_os.close(w->fd - 1);
		w->fd = 0;
		if (r > 0)
			return 0; /* exited: a zombie writes nothing more */
		w->pid = 0; /* poll failed: ask /proc */
		break;
	}
	fd = retro_sys2(SYS_pidfd_open, pid, 0);
	alive = retro_os_writer_alive(pid, start);
	if (fd >= 0 && alive) {
		w = &watched[watch_next++ % WATCH_SLOTS];
		if (w->fd)
			retro_os.close(w->fd - 1);
		w->pid = pid;
		w->fd = (int)fd + 1;
		w->start = start;
	} else if (fd >= 0) {
		retro_os.close((int)fd);
	}
	return alive;
}

/* Is this segment done with: no one writes it again?  sealed: its flag as
 * seg_read read it, before the records. */
static int finished(const struct retro_seg_hdr *h, int sealed, int flags)
{
	if (sealed)
		return 1;
	if (h->pid == (int32_t)retro_sys0(SYS_getpid) &&
	    retro_import_self_image != UINT32_MAX)
		return h->image < retro_import_self_image;
	if (flags & RETRO_IMPORT_WATCH)
		return !writer_alive_watched(h->pid, h->starttime);
	return !retro_os_writer_alive(h->pid, h->starttime);
}

static uint64_t module_key(const struct retro_rec_module *m)
{
	if (m->build_id_len)
		return retro_hash64(m->build_id, m->build_id_len) | 1;
	return retro_hash64(m + 1, m->pathlen) | 1;
}

static int put_module(struct seginfo *si, const struct retro_rec_module *m,
		      uint64_t key)
{
	unsigned char buf[1 + 20 + PATH_MAX];
	MDB_val k = { 8, &key }, v;
	size_t n = 0;
	int rc;

	buf[n++] = (unsigned char)m->build_id_len;
	memcpy(buf + n, m->build_id, m->build_id_len);
	n += m->build_id_len;
	if (m->pathlen > PATH_MAX)
		return RETRO_ECORRUPT;
	if (si->dry)
		return 0;
	memcpy(buf + n, m + 1, m->pathlen);
	n += m->pathlen;
	v.mv_size = n;
	v.mv_data = buf;
	rc = mdb_put(si->txn, si->st->modules, &k, &v, MDB_NOOVERWRITE);
	return rc == MDB_KEYEXIST ? 0 : retro_mdb_err(rc);
}

static int on_stack(struct seginfo *si, const struct retro_rec_stack *s)
{
	uint64_t frames[RETRO_STACK_MAX * 3];
	uint64_t key;
	MDB_val k = { 8, &key }, v;
	int rc;

	if (s->n > RETRO_STACK_MAX)
		return RETRO_ECORRUPT;
	for (uint32_t i = 0; i < s->n; i++) {
		uint64_t pc = s->pc[i], mk = 0, off = pc;
		for (int j = 0; j < si->nmods; j++) {
			const struct retro_rec_module *m = si->mods[j];
			if (pc >= m->base && pc < m->base + m->size) {
				mk = module_key(m);
				off = pc - m->bias;
				rc = put_module(si, m, mk);
				if (rc)
					return rc;
				break;
			}
		}
		frames[i * 3] = mk;
		frames[i * 3 + 1] = off;
		frames[i * 3 + 2] = pc;
	}
	/* The key ignores raw addresses, so the same code path in two
	 * processes (ASLR) is one stack. */
	{
		uint64_t tmp[RETRO_STACK_MAX * 2];
		for (uint32_t i = 0; i < s->n; i++) {
			tmp[i * 2] = frames[i * 3];
			tmp[i * 2 + 1] = frames[i * 3 + 1];
		}
		key = retro_hash64(tmp, s->n * 16) | 1;
	}
	v.mv_size = s->n * 24;
	v.mv_data = frames;
	rc = si->dry ? 0 : mdb_put(si->txn, si->st->stacks, &k, &v,
				   MDB_NOOVERWRITE);
	if (rc && rc != MDB_KEYEXIST)
		return retro_mdb_err(rc);
	if (si->nstacks == si->capstacks) {
		size_t cap = si->capstacks ? si->capstacks * 2 : 64;
		struct rawstack *q = realloc(si->stacks, cap * sizeof *q);
		if (!q)
			return ENOMEM;
		si->stacks = q;
		si->capstacks = cap;
	}
	si->stacks[si->nstacks++] = (struct rawstack){ s->id, key };
	return 0;
}

static uint64_t stack_key(struct seginfo *si, uint64_t id)
{
	for (size_t i = si->nstacks; i-- > 0;)
		if (si->stacks[i].id == id)
			return si->stacks[i].key;
	return 0;
}

/* A path is kept as it was interned: its id is the hash of those bytes,
 * which is how readers check it.  They normalize it (retro_path). */
static int on_path(struct seginfo *si, const struct retro_rec_path *p)
{
	MDB_val k = { 8, (void *)&p->id }, v;
	int rc;

	if (p->len >= PATH_MAX * 2 || sizeof *p + p->len > p->h.len ||
	    (retro_hash64(p + 1, p->len) | 1) != p->id)
		return RETRO_ECORRUPT;
	if (si->dry)
		return 0;
	v.mv_size = p->len;
	v.mv_data = (void *)(p + 1);
	rc = mdb_put(si->txn, si->st->paths, &k, &v, MDB_NOOVERWRITE);
	return rc == MDB_KEYEXIST ? 0 : retro_mdb_err(rc);
}

static int put_blob(struct seginfo *si, const uint64_t hash[2],
		    const void *data, uint32_t len)
{
	MDB_val k = { 16, (void *)hash }, v = { len, (void *)data };
	int rc = mdb_put(si->txn, si->st->blobs, &k, &v, MDB_NOOVERWRITE);

	if (rc == 0)
		si->stats->bytes += len;
	else if (rc != MDB_KEYEXIST)
		return retro_mdb_err(rc);
	return 0;
}

static int on_action(struct seginfo *si, const struct retro_rec_action *rc_)
{
	/* The accessors of spool.h take a non-const record; none writes. */
	struct retro_rec_action *r = (struct retro_rec_action *)rc_;
	struct retro_action *a;
	const unsigned char *data;
	int rc;

	if (r->h.state == RS_TORN)
		return 0;
	if (r->call == 0 || r->call >= RC_NCALLS || r->nargs > RETRO_MAXARGS ||
	    (r->opt & ~(RO_OFF | RO_HASH)) ||
	    sizeof *r + retro_rec_tail(r->opt, r->nargs) > r->h.len ||
	    r->datalen > retro_rec_datacap(r))
		return RETRO_ECORRUPT;
	if (si->nacts == si->capacts) {
		size_t cap = si->capacts ? si->capacts * 2 : 1024;
		struct retro_action *q = realloc(si->acts, cap * sizeof *q);
		if (!q)
			return ENOMEM;
		si->acts = q;
		si->capacts = cap;
	}
	a = &si->acts[si->nacts++];
	memset(a, 0, sizeof *a);
	a->proc = si->hdr->proc;
	a->thread = si->hdr->thread;
	a->tid = si->hdr->tid;
	a->seq = r->seq;
	a->call = r->call;
	a->state = r->h.state == RS_DONE ? 2 : 1;
	a->flags = r->flags & (uint16_t)~RA_HASH;
	a->err = r->err;
	a->start = r->start;
	a->end = a->state == 2 ? r->end : r->start;
	a->ret = r->ret;
	a->stack = r->stack ? stack_key(si, r->stack) : 0;
	a->obj = r->obj;
	memcpy(a->arg, retro_rec_args(r), (size_t)r->nargs * 8);
	if (r->opt & RO_OFF)
		a->off = *retro_rec_off(r);
	if ((r->opt & RO_HASH) && (r->flags & RA_HASH)) {
		memcpy(a->hash, retro_rec_hash(r), 16);
		a->flags |= RA_HASH;
	}
	a->datalen = r->datalen;
	if (a->state == 1)
		si->stats->inflight++;
	if (a->call == RC_loss)
		si->stats->losses++;
	if (a->call == RC_unsupported && a->arg[0] == 3)
		si->stats->setid++;
	/* Kept bytes are hashed here, off the recording thread.  exec's argv
	 * is kept at intent: the call never completes when it works. */
	data = retro_rec_data(r);
	if (!si->dry && (r->flags & RA_DATA) && !(r->flags & RA_DATA_LOST) &&
	    (a->state == 2 ||
	     (r->call >= RC_execve && r->call <= RC_execveat))) {
		retro_hash128(data, r->datalen, a->hash);
		a->flags |= RA_HASH;
		rc = put_blob(si, a->hash, data, r->datalen);
		if (rc)
			return rc;
	}
	return 0;
}

static int on_record(const struct retro_rec_hdr *h, void *arg)
{
	struct seginfo *si = arg;

	/* A snapshot ends at a record its writer reserved and has not yet
	 * filled.  Taking the records after it numbered the chunks apart
	 * from the whole import that comes once the record is filled (a
	 * chunk's key is its first action's seq, a chunk RETRO_CHUNK_MAX
	 * actions): past the first chunk, the snapshot's keys were not
	 * written over, and the actions in them were counted twice. */
	if (si->snapshot && h->state == RS_TORN)
		return WALK_STOP;
	switch (h->type) {
	case REC_ACTION:
		if (h->len < sizeof(struct retro_rec_action))
			return RETRO_ECORRUPT;
		return on_action(si, (const void *)h);
	case REC_PATH:
		if (h->state != RS_DONE)
			return 0;
		if (h->len < sizeof(struct retro_rec_path))
			return RETRO_ECORRUPT;
		return on_path(si, (const void *)h);
	case REC_STACK:
		if (h->state != RS_DONE)
			return 0;
		if (h->len < sizeof(struct retro_rec_stack))
			return RETRO_ECORRUPT;
		return on_stack(si, (const void *)h);
	case REC_MODULE:
		if (h->state != RS_DONE)
			return 0;
		if (h->len < sizeof(struct retro_rec_module) ||
		    sizeof(struct retro_rec_module) +
				    ((const struct retro_rec_module *)h)->pathlen >
			    h->len ||
		    ((const struct retro_rec_module *)h)->build_id_len > 20)
			return RETRO_ECORRUPT;
		if (si->nmods < 256)
			si->mods[si->nmods++] = (const void *)h;
		return 0;
	case REC_CLOCK: {
		const struct retro_rec_clock *c = (const void *)h;
		unsigned char key[8];
		uint64_t val[2];
		MDB_val k = { 8, key }, v = { 16, val };
		int rc;
		if (h->state != RS_DONE)
			return 0;
		if (h->len < sizeof *c)
			return RETRO_ECORRUPT;
		be64(key, (uint64_t)c->mono);
		val[0] = (uint64_t)c->real;
		val[1] = retro_record_sum(key, 8, &val[0], 8);
		if (si->dry)
			return 0;
		rc = mdb_put(si->txn, si->st->clock, &k, &v, MDB_NOOVERWRITE);
		return rc == MDB_KEYEXIST ? 0 : retro_mdb_err(rc);
	}
	default:
		return RETRO_ECORRUPT;
	}
}

static int put_chunks(struct seginfo *si)
{
	struct retro_buf buf = { 0 };
	int rc = 0;

	if (si->nacts)
		qsort(si->acts, si->nacts, sizeof *si->acts, cmp_seq);
	for (size_t i = 0; i < si->nacts; i += RETRO_CHUNK_MAX) {
		size_t n = si->nacts - i < RETRO_CHUNK_MAX ? si->nacts - i
							   : RETRO_CHUNK_MAX;
		unsigned char key[16];
		MDB_val k = { 16, key }, v;

		rc = retro_chunk_encode(si->acts + i, n, &buf);
		if (rc)
			break;
		be32(key, si->hdr->proc);
		be32(key + 4, si->hdr->thread);
		be64(key + 8, si->acts[i].seq);
		v.mv_size = buf.len;
		v.mv_data = buf.p;
		if (si->dry)
			continue;
		rc = retro_mdb_err(mdb_put(si->txn, si->st->chunks, &k, &v, 0));
		if (rc)
			break;
	}
	si->stats->actions += si->nacts;
	retro_buf_free(&buf);
	return rc;
}

enum { SEG_DONE, SEG_SKIP, SEG_BAD, SEG_KNOWN };

/* A segment's bytes as far as they were written (its header and the
 * records `used` counts), their length in *lenp.  A small one, as most
 * are, is read into a buffer kept for the next: mapping a 32 KiB segment,
 * faulting its pages in and unmapping it took 10 us here, reading it 1.6
 * us.  A bigger one is mapped (a copy would fault in as many pages of
 * the buffer).  The copy is what the header counted when it was read.
 * One buffer for the process: segments are read inside an LMDB write
 * transaction, which liblmdb gives one thread at a time. */
#define SEG_READ_MAX (256u << 10)
static void *seg_buf;

/* A segment file's header field `used`: 0, or -1 when it cannot be read. */
static int seg_used(long fd, uint64_t *used)
{
	return retro_os_pread((int)fd, used, sizeof *used,
			      offsetof(struct retro_seg_hdr, used)) ==
			       (long)sizeof *used
		       ? 0
		       : -1;
}

/* Reads the segment's `sealed`, then its `used`, then its records, in
 * that order: its writer sets `sealed` after its last record, so a sealed
 * segment's `used` as read after the flag counts every record.  The
 * other order lost records: `used` read, the writer appending a few more
 * and sealing, the copy holding the seal and only the first `used`
 * bytes, and the import then handing the segment to the pool as whole
 * (record-pool.sh lost 14 calls so in one CI run; a 2 ms sleep put
 * between the two reads lost some in every run).  The
 * flag as read first is in *sealed and, in a copy, in its header.
 *
 * open_skip: a segment its writer still fills (and whose header is the
 * one its name promises) is not read past its header (*sealed 0, *lenp
 * 0, and the return is SEG_OPEN).  A tick of
 * record's found a dozen such segments during `make -j2` (make's, its
 * shells', the compiler drivers'), and read each whole only to learn
 * that. */
static char seg_open_mark;
#define SEG_OPEN ((void *)&seg_open_mark)

static void *seg_read(long fd, size_t size, size_t *lenp, int *sealed,
		      const struct segref *open_skip, int flags)
{
	uint32_t flag;
	uint64_t used;
	size_t n = size;
	long m;

	if (retro_os_pread((int)fd, &flag, sizeof flag,
			   offsetof(struct retro_seg_hdr, sealed)) !=
	    (long)sizeof flag)
		return NULL;
	if (!flag && open_skip) {
		struct retro_seg_hdr h;
		if (retro_os_pread((int)fd, &h, sizeof h, 0) ==
			    (long)sizeof h &&
		    memcmp(h.magic, RETRO_SPOOL_MAGIC, 8) == 0 &&
		    h.proc == open_skip->proc && h.image == open_skip->image &&
		    h.thread == open_skip->thread &&
		    h.segno == open_skip->segno && !finished(&h, 0, flags)) {
			*sealed = 0;
			*lenp = 0;
			return SEG_OPEN;
		}
	}
	if (seg_used(fd, &used))
		return NULL;
	*sealed = flag != 0;
	if (size >= RETRO_SEG_HDR && used <= size - RETRO_SEG_HDR)
		n = RETRO_SEG_HDR + (size_t)used;
	if (n <= SEG_READ_MAX) {
		struct retro_seg_hdr *c = seg_buf;
		if (!c && !(c = seg_buf = malloc(SEG_READ_MAX)))
			return NULL;
		if (retro_os_pread((int)fd, c, n, 0) != (long)n)
			return NULL;
		/* an unsealed segment may have grown since, and been sealed */
		if (n < size && c->used > n - RETRO_SEG_HDR)
			c->used = n - RETRO_SEG_HDR;
		c->sealed = flag;
		*lenp = n;
		return c;
	}
	m = retro_os.mmap(NULL, size, PROT_READ, MAP_SHARED, (int)fd, 0);
	if (m < 0)
		return NULL;
	*lenp = size;
	return (void *)m;
}

static void seg_done(void *map, size_t len)
{
	if (map != seg_buf)
		retro_os.munmap(map, len);
}

static int import_one(struct retro_store *st, MDB_txn *txn,
		      const char *path, struct segref *ref, int flags,
		      struct retro_import_stats *stats, int *rcp)
{
	const struct retro_seg_hdr *hdr;
	struct stat sb;
	unsigned char key[16], lkey[20];
	MDB_val k = { 16, key }, lk = { 20, lkey }, v;
	uint64_t count;
	size_t len;
	long fd;
	void *map;
	int rc, sealed, verdict = SEG_DONE;
	/* a sealed segment of the shared-memory spool may go to the pool */
	int pool = (flags & RETRO_IMPORT_POOL) && !(flags & RETRO_IMPORT_LIVE) &&
		   ref->dir > 0;

	*rcp = 0;
	be32(key, ref->proc);
	be32(key + 4, ref->image);
	be32(key + 8, ref->thread);
	be32(key + 12, ref->segno);
	memcpy(lkey, "live", 4);
	memcpy(lkey + 4, key, 16);
	/* Known, unless only a snapshot of it was taken: then whole again. */
	if (mdb_get(txn, st->segments, &k, &v) == 0 &&
	    mdb_get(txn, st->meta, &lk, &v) != 0)
		return SEG_KNOWN;
	if (pool) {
		/* open for writing: pool_put zeroes it through this one */
		fd = retro_os_openat(AT_FDCWD, path,
				     O_RDWR | O_CLOEXEC | O_NOFOLLOW |
					     O_NONBLOCK,
				     0);
		if (fd >= 0 &&
		    (retro_os_fstatat((int)fd, "", &sb, AT_EMPTY_PATH) < 0 ||
		     !S_ISREG(sb.st_mode))) {
			retro_os.close((int)fd);
			fd = -EINVAL;
		}
	} else {
		fd = retro_os_open_file_st(path, &sb);
	}
	if (fd == -EINVAL)
		return SEG_BAD; /* not a file: never ours */
	if (fd < 0)
		return SEG_SKIP; /* raced with another importer */
	if ((size_t)sb.st_size < RETRO_SEG_HDR) {
		retro_os.close((int)fd);
		return SEG_BAD;
	}
	map = seg_read(fd, (size_t)sb.st_size, &len, &sealed,
		       (flags & RETRO_IMPORT_LIVE) ? NULL : ref, flags);
	if (pool && map && map != SEG_OPEN && sealed) {
		ref->fd = fd;
		ref->size = (uint64_t)sb.st_size;
	} else {
		retro_os.close((int)fd);
	}
	if (map == SEG_OPEN)
		return SEG_SKIP; /* its writer goes on: a later import */
	if (!map)
		return SEG_BAD;
	hdr = map;
	if (memcmp(hdr->magic, RETRO_SPOOL_MAGIC, 8) != 0) {
		/* Its creator may still be writing the header. */
		verdict = time(NULL) - sb.st_mtime < 60 ? SEG_SKIP : SEG_BAD;
		goto out_unmap;
	}
	if (hdr->proc != ref->proc || hdr->thread != ref->thread ||
	    hdr->image != ref->image || hdr->segno != ref->segno) {
		verdict = SEG_BAD;
		goto out_unmap;
	}
	if (!finished(hdr, sealed, flags)) {
		if (!(flags & RETRO_IMPORT_LIVE)) {
			verdict = SEG_SKIP;
			goto out_unmap;
		}
		/* A snapshot: what the segment holds now goes in, and the
		 * file stays for the writer's next records.  A later import
		 * takes it whole: the chunks have the same keys (proc,
		 * thread, first seq) and are written over, in-flight actions
		 * with how they ended.  Before, the file was removed under
		 * its writer, and every record after the snapshot was lost. */
		ref->live = 1;
	}
	ref->sealed = sealed;
	ref->used = hdr->used;
	if (hdr->flags & SEG_REUSED)
		stats->reused++;
	rc = retro_import_prefix(st, txn, map, len, (size_t)sb.st_size,
				 ref->live, stats, &count);
	if (!rc) {
		/* meta "live" + the segment's key: taken as a snapshot */
		MDB_val none = { 0, "" };
		if (ref->live)
			rc = retro_mdb_err(mdb_put(txn, st->meta, &lk, &none, 0));
		else if ((rc = mdb_del(txn, st->meta, &lk, NULL)) == MDB_NOTFOUND)
			rc = 0;
		else
			rc = retro_mdb_err(rc);
	}
	if (rc == RETRO_ECORRUPT) {
		verdict = SEG_BAD;
		goto out_unmap;
	}
	*rcp = rc;
out_unmap:
	seg_done(map, len);
	return verdict;
}

/* ---- the pool (spool.h) ---------------------------------------------------- */

/* The pool files this process made (pool_put) while its imports pass
 * RETRO_IMPORT_WATCH (record's ticks): a hash of the name, the size, when.
 * A pool file keeps its name until a thread takes it (renames it away),
 * and names are never made twice (each is a segment's), so a tick's
 * listing needs no stat of these: record's ticks made ~12,000 during
 * `make -j2` of this project.  An entry whose file was not listed by an
 * import goes at its end (pool_forget). */
#define MADE_SLOTS 256
static struct made {
	uint64_t key; /* 0: free */
	uint64_t size;
	time_t when;
	unsigned pass;
} made[MADE_SLOTS];
static unsigned made_pass, made_next;

static struct made *made_find(uint64_t key)
{
	for (int i = 0; i < MADE_SLOTS; i++)
		if (made[i].key == key)
			return &made[i];
	return NULL;
}

static void made_note(const char *name, uint64_t size)
{
	uint64_t key = retro_hash64(name, strlen(name)) | 1;
	struct made *m = made_find(key);

	if (!m)
		m = &made[made_next++ % MADE_SLOTS];
	m->key = key;
	m->size = size;
	m->when = time(NULL);
	m->pass = made_pass;
}

static void pool_forget(void)
{
	for (int i = 0; i < MADE_SLOTS; i++)
		if (made[i].key && made[i].pass != made_pass)
			made[i].key = 0;
}

/* A pool file found in the spool: kept, and counted in *bytes, while the
 * import keeps a pool and the file is young; else removed. */
static void pool_scan(const char *dir, const char *name, int flags,
		      uint64_t *bytes)
{
	char path[PATH_MAX];
	struct stat sb;
	struct made *m = NULL;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((flags & RETRO_IMPORT_WATCH) &&
	    (m = made_find(retro_hash64(name, strlen(name)) | 1))) {
		m->pass = made_pass;
		if ((flags & RETRO_IMPORT_POOL) &&
		    time(NULL) - m->when <= RETRO_POOL_AGE) {
			*bytes += m->size;
			return;
		}
		m->key = 0;
		retro_os_unlinkat(AT_FDCWD, path, 0);
		return;
	}
	if (retro_os_fstatat(AT_FDCWD, path, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return; /* a recording thread took it meanwhile */
	if ((flags & RETRO_IMPORT_POOL) && S_ISREG(sb.st_mode) &&
	    time(NULL) - sb.st_mtime <= RETRO_POOL_AGE) {
		*bytes += (uint64_t)sb.st_size;
		return;
	}
	retro_os_unlinkat(AT_FDCWD, path, 0);
}

/* Makes the imported segment ref (in dir) a pool file: zeroed (so that it
 * reads as a new one) as far as it was written, renamed free-NAME; the
 * zeroing write makes its mtime now, which pool_scan ages it by.  Through
 * the descriptor import_one kept, with the size and use it read there:
 * reopening it by name, a stat and a read of `used` again, and a
 * utimensat came to five system calls a segment (~2,300 segments in
 * `make -j2` of this project).  Closes the descriptor.  Returns 0, or -1
 * when it cannot, and then the caller removes it. */
static int pool_put(const char *dir, struct segref *ref, uint64_t *bytes,
		    int flags)
{
	char path[PATH_MAX], to[PATH_MAX];
	int r = -1;

	if (ref->fd < 0)
		return -1;
	snprintf(path, sizeof path, "%s/%s", dir, ref->name);
	if ((size_t)snprintf(to, sizeof to, "%s/" RETRO_POOL_PREFIX "%s", dir,
			     ref->name) >= sizeof to ||
	    ref->size < RETRO_SEG_HDR || *bytes + ref->size > RETRO_POOL_MAX)
		goto out;
	{
		/* Only the header and the records reserved were ever written
		 * (reserve, mark_loss in recorder.c), and the header of a pad
		 * just past them (trim): the rest is still zero.  Written
		 * over from a zero buffer rather than through a mapping of
		 * ours, which took a fault for each of those pages and a TLB
		 * flush at its munmap. */
		static const char zero[65536];
		uint64_t n = ref->size, o = 0;
		if (ref->used < n - RETRO_SEG_HDR)
			n = (RETRO_SEG_HDR + ref->used +
			     sizeof(struct retro_rec_hdr) + 4095) &
			    ~(uint64_t)4095;
		if (n > ref->size)
			n = ref->size; /* never past its end */
		while (o < n) {
			size_t k = n - o < sizeof zero ? (size_t)(n - o)
						       : sizeof zero;
			long w = retro_os.pwrite((int)ref->fd, zero, k,
						 (off_t)o);
			if (w == -EINTR)
				continue;
			if (w <= 0)
				goto out;
			o += (uint64_t)w;
		}
	}
	if (retro_os_renameat(AT_FDCWD, path, AT_FDCWD, to) < 0)
		goto out;
	*bytes += ref->size;
	if (flags & RETRO_IMPORT_WATCH)
		made_note(to + strlen(dir) + 1, ref->size);
	r = 0;
out:
	retro_os.close((int)ref->fd);
	ref->fd = -1;
	return r;
}

/* Removes DIR's files of learned sites and chains (RETRO_SITES_PREFIX,
 * RETRO_STACKS_PREFIX). */
static void drop_sites(const char *dir)
{
	char buf[4096], path[PATH_MAX];
	const char *name;
	long d, got;

	d = retro_os_openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (d < 0)
		return;
	while ((got = retro_os_getdents64((int)d, buf, sizeof buf)) > 0)
		for (long o = 0; (name = retro_dirent_next(buf, got, &o));)
			if ((!strncmp(name, RETRO_SITES_PREFIX,
				      sizeof RETRO_SITES_PREFIX - 1) ||
			     !strncmp(name, RETRO_STACKS_PREFIX,
				      sizeof RETRO_STACKS_PREFIX - 1)) &&
			    snprintf(path, sizeof path, "%s/%s", dir, name) <
				    (int)sizeof path)
				retro_os_unlinkat(AT_FDCWD, path, 0);
	retro_os.close((int)d);
}

/* A segment its process was still making (NAME.new, see segment_open)
 * holds no record; once it is old its process was killed meanwhile, and
 * the file goes. */
static void drop_abandoned(const char *dir, const char *name)
{
	size_t n = strlen(name), k = sizeof RETRO_SEG_NEW - 1;
	char path[PATH_MAX], seg[NAME_MAX + 1];
	uint32_t p, i, t, s;
	struct stat sb;

	if (n <= k || n > NAME_MAX || strcmp(name + n - k, RETRO_SEG_NEW) != 0)
		return;
	memcpy(seg, name, n - k);
	seg[n - k] = 0;
	if (retro_seg_parse_name(seg, &p, &i, &t, &s))
		return;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (retro_os_fstatat(AT_FDCWD, path, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(sb.st_mode) && time(NULL) - sb.st_mtime > RETRO_SEG_NEW_AGE)
		retro_os_unlinkat(AT_FDCWD, path, 0);
}

int retro_import_records(struct retro_store *st, MDB_txn *txn,
			 const void *map, size_t len,
			 struct retro_import_stats *stats, uint64_t *nacts)
{
	return retro_import_prefix(st, txn, map, len, len, 0, stats, nacts);
}

int retro_import_prefix(struct retro_store *st, MDB_txn *txn,
			const void *map, size_t have, size_t len, int snapshot,
			struct retro_import_stats *stats, uint64_t *nacts)
{
	struct seginfo si;
	int rc;

	memset(&si, 0, sizeof si);
	si.st = st;
	si.txn = txn;
	si.hdr = map;
	si.stats = stats;
	si.snapshot = snapshot;
	rc = retro_seg_walk_prefix(map, have, len, on_record, &si);
	if (rc == WALK_STOP)
		rc = 0;
	if (!rc)
		rc = put_chunks(&si);
	if (!rc) {
		/* The segment is imported: how many actions it gave (which
		 * readers total against the chunks), with the record's check.
		 * The header's fields are those of the file's name. */
		unsigned char key[16];
		uint64_t val[2] = { si.nacts, 0 };
		MDB_val k = { 16, key }, v = { sizeof val, val };
		be32(key, si.hdr->proc);
		be32(key + 4, si.hdr->image);
		be32(key + 8, si.hdr->thread);
		be32(key + 12, si.hdr->segno);
		val[1] = retro_record_sum(key, 16, &val[0], 8);
		rc = retro_mdb_err(mdb_put(txn, st->segments, &k, &v, 0));
	}
	*nacts = si.nacts;
	free(si.acts);
	free(si.stacks);
	return rc;
}

int retro_seg_check(const void *map, size_t len)
{
	struct retro_import_stats stats;
	struct seginfo si;
	int rc;

	memset(&si, 0, sizeof si);
	memset(&stats, 0, sizeof stats);
	si.hdr = map;
	si.stats = &stats;
	si.dry = 1;
	rc = retro_seg_walk_prefix(map, len, len, on_record, &si);
	if (!rc)
		rc = put_chunks(&si); /* encoded, not put */
	free(si.acts);
	free(si.stacks);
	return rc;
}

int retro_import(struct retro_store *st, uint32_t proc, int flags,
		 struct retro_import_stats *stats)
{
	return retro_import_dirs(st, NULL, proc, flags, stats);
}

int retro_import_dirs(struct retro_store *st, const char *extra, uint32_t proc,
		      int flags, struct retro_import_stats *stats)
{
	struct retro_import_stats dummy;
	char dirs[3][PATH_MAX], path[PATH_MAX];
	struct segref *refs = NULL;
	uint64_t pooled[3] = { 0, 0, 0 };
	size_t n = 0, cap = 0;
	int ndirs, rc = 0;

	if (!stats)
		stats = &dummy;
	memset(stats, 0, sizeof *stats);
	if (st->rdonly)
		return EROFS;
	/* a spool that is gone holds nothing to import */
	ndirs = retro_spool_dirs(st->path, dirs, 0);
	if (ndirs == 2)
		retro_spool_link(dirs[1], st->path); /* the store may have moved */
	if (extra && extra[0] == '/' && strlen(extra) < PATH_MAX) {
		int k;
		for (k = 0; k < ndirs && strcmp(dirs[k], extra); k++)
			;
		if (k == ndirs)
			strcpy(dirs[ndirs++], extra);
	}
	if (flags & RETRO_IMPORT_WATCH)
		made_pass++;
	for (int k = 0; k < ndirs; k++) {
		char dbuf[4096];
		long d = retro_os_openat(AT_FDCWD, dirs[k],
					 O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
		long got;
		if (d < 0)
			continue;
		const char *name;
		while ((got = retro_os_getdents64((int)d, dbuf, sizeof dbuf)) > 0)
		for (long o = 0; (name = retro_dirent_next(dbuf, got, &o));) {
			struct segref r;
			int pid;
			char tail;
			if (strncmp(name, RETRO_POOL_PREFIX,
				    sizeof RETRO_POOL_PREFIX - 1) == 0) {
				pool_scan(dirs[k], name, flags, &pooled[k]);
				continue;
			}
			if (sscanf(name, "exec-%d%c", &pid, &tail) == 1 &&
			    pid > 0 && retro_os.kill(pid, 0) == -ESRCH) {
				/* an exec handoff whose process is gone */
				snprintf(path, sizeof path, "%s/%s", dirs[k],
					 name);
				retro_os_unlinkat(AT_FDCWD, path, 0);
				continue;
			}
			if (retro_seg_parse_name(name, &r.proc, &r.image,
						 &r.thread, &r.segno)) {
				drop_abandoned(dirs[k], name);
				continue;
			}
			if (proc && r.proc != proc)
				continue;
			if (strlen(name) >= sizeof r.name)
				continue;
			strcpy(r.name, name);
			r.dir = k;
			r.sealed = 0;
			r.live = 0;
			r.fd = -1;
			if (n == cap) {
				size_t c = cap ? cap * 2 : 64;
				struct segref *q = realloc(refs, c * sizeof *q);
				if (!q) {
					retro_os.close((int)d);
					rc = ENOMEM;
					goto out;
				}
				refs = q;
				cap = c;
			}
			refs[n++] = r;
		}
		retro_os.close((int)d);
	}
	if (flags & RETRO_IMPORT_WATCH)
		pool_forget(); /* taken by a thread since, or removed */
	if (n)
		qsort(refs, n, sizeof *refs, cmp_seg);
	for (size_t i = 0; i < n;) {
		MDB_txn *txn;
		size_t j, batch = 0;
		unsigned char *done;

		rc = retro_mdb_err(mdb_txn_begin(st->env, NULL, 0, &txn));
		if (rc)
			goto out;
		done = calloc(n, 1);
		if (!done) {
			mdb_txn_abort(txn);
			rc = ENOMEM;
			goto out;
		}
		for (j = i; j < n && batch < 64; j++) {
			int verdict, r;
			snprintf(path, sizeof path, "%s/%s", dirs[refs[j].dir],
				 refs[j].name);
			verdict = import_one(st, txn, path, &refs[j], flags, stats,
					     &r);
			if (r) {
				rc = r;
				break;
			}
			if (verdict == SEG_DONE || verdict == SEG_KNOWN) {
				done[j] = 1;
				batch++;
				if (verdict == SEG_DONE)
					stats->segments++;
			} else if (verdict == SEG_SKIP) {
				stats->skipped++;
			} else {
				stats->bad++;
			}
		}
		if (rc) {
			/* Nothing of this batch is lost: its files stay. */
			mdb_txn_abort(txn);
			free(done);
			goto out;
		}
		rc = retro_mdb_err(mdb_txn_commit(txn));
		if (rc) {
			free(done);
			goto out;
		}
		for (size_t k = i; k < j; k++) {
			if (!done[k] || refs[k].live)
				continue;
			/* Only a segment its writer sealed is safe to hand
			 * to another: no one maps it for writing any more. */
			if ((flags & RETRO_IMPORT_POOL) &&
			    !(flags & RETRO_IMPORT_LIVE) && refs[k].sealed &&
			    refs[k].dir > 0 &&
			    pool_put(dirs[refs[k].dir], &refs[k],
				     &pooled[refs[k].dir], flags) == 0) {
				stats->pooled++;
				continue;
			}
			snprintf(path, sizeof path, "%s/%s", dirs[refs[k].dir],
				 refs[k].name);
			retro_os_unlinkat(AT_FDCWD, path, 0);
		}
		free(done);
		i = j;
	}
out:
	/* descriptors import_one kept for pool_put that it did not take */
	for (size_t k = 0; k < n; k++)
		if (refs[k].fd >= 0)
			retro_os.close((int)refs[k].fd);
	/* An emptied shared-memory spool goes; the shim makes it again.  Its
	 * link to the store goes first, and comes back if a segment came;
	 * the sites and chains its processes learned go with it, but not
	 * while record's pool is kept: they serve the rest of the
	 * recording. */
	for (int k = 1; !rc && k < ndirs; k++) {
		if (pooled[k] || (flags & RETRO_IMPORT_POOL))
			continue; /* not empty: record's pool is there */
		snprintf(path, sizeof path, "%s/" RETRO_SPOOL_LINK, dirs[k]);
		retro_os_unlinkat(AT_FDCWD, path, 0);
		drop_sites(dirs[k]);
		if (retro_os_unlinkat(AT_FDCWD, dirs[k], AT_REMOVEDIR) < 0)
			retro_spool_link(dirs[k], st->path);
	}
	free(refs);
	return rc;
}
