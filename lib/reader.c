/* Reading a store: the whole timeline, processes derived from it, paths
 * and blobs.  Every chunk is verified against its checksum and every blob
 * against its hash before anything is shown. */
#include "config.h"
#include "store_int.h"
#include "codec.h"
#include "hash.h"
#include "spool.h"
#include "os.h"
#include "pathnorm.h"

#include <fcntl.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

struct pathcache {
	uint64_t *ids;
	char **strs;
	size_t cap, n;
};

void retro_pathcache_free(struct pathcache *pc)
{
	if (!pc)
		return;
	for (size_t i = 0; i < pc->cap; i++)
		free(pc->strs[i]);
	free(pc->ids);
	free(pc->strs);
	free(pc);
}

static int pc_grow(struct pathcache *pc)
{
	size_t cap = pc->cap ? pc->cap * 2 : 1024;
	uint64_t *ids = calloc(cap, sizeof *ids);
	char **strs = calloc(cap, sizeof *strs);

	if (!ids || !strs) {
		free(ids);
		free(strs);
		return ENOMEM;
	}
	for (size_t i = 0; i < pc->cap; i++) {
		if (!pc->ids[i])
			continue;
		size_t j = pc->ids[i] % cap;
		while (ids[j])
			j = (j + 1) % cap;
		ids[j] = pc->ids[i];
		strs[j] = pc->strs[i];
	}
	free(pc->ids);
	free(pc->strs);
	pc->ids = ids;
	pc->strs = strs;
	pc->cap = cap;
	return 0;
}

const char *retro_path(struct retro_store *st, uint64_t id)
{
	struct pathcache *pc = st->pc;
	MDB_txn *txn;
	MDB_val k = { 8, &id }, v;
	char *s = NULL;
	size_t j;

	if (!id)
		return NULL;
	if (!pc) {
		pc = st->pc = calloc(1, sizeof *pc);
		if (!pc || pc_grow(pc))
			return NULL;
	}
	for (j = id % pc->cap; pc->ids[j]; j = (j + 1) % pc->cap)
		if (pc->ids[j] == id)
			return pc->strs[j];
	if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn))
		return NULL;
	if (mdb_get(txn, st->paths, &k, &v) == 0 &&
	    retro_check_record(RT_PATH, &k, &v) == 0) {
		s = malloc(v.mv_size + 1);
		if (s) {
			memcpy(s, v.mv_data, v.mv_size);
			s[v.mv_size] = 0;
			/* kept as interned: shown normalized */
			retro_path_normalize(s);
		}
	}
	mdb_txn_abort(txn);
	if (!s)
		return NULL;
	if ((pc->n + 1) * 2 > pc->cap && pc_grow(pc)) {
		free(s);
		return NULL;
	}
	for (j = id % pc->cap; pc->ids[j]; j = (j + 1) % pc->cap)
		;
	pc->ids[j] = id;
	pc->strs[j] = s;
	pc->n++;
	return s;
}

int retro_blob_get(struct retro_store *st, const uint64_t hash[2],
		   void **data, size_t *len)
{
	MDB_txn *txn;
	MDB_val k = { 16, (void *)hash }, v;
	uint64_t h[2];
	int rc;

	rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return retro_mdb_err(rc);
	rc = mdb_get(txn, st->blobs, &k, &v);
	if (rc) {
		mdb_txn_abort(txn);
		return rc == MDB_NOTFOUND ? RETRO_ENOTFOUND : retro_mdb_err(rc);
	}
	retro_hash128(v.mv_data, v.mv_size, h);
	if (h[0] != hash[0] || h[1] != hash[1]) {
		mdb_txn_abort(txn);
		return RETRO_ECORRUPT;
	}
	/* a NUL after the bytes: argv and environments are read as strings,
	 * and a crafted blob need not end in one */
	*data = malloc(v.mv_size + 1);
	if (!*data) {
		mdb_txn_abort(txn);
		return ENOMEM;
	}
	memcpy(*data, v.mv_data, v.mv_size);
	((char *)*data)[v.mv_size] = 0;
	*len = v.mv_size;
	mdb_txn_abort(txn);
	return 0;
}

int retro_check_record(int table, const MDB_val *k, const MDB_val *v)
{
	const unsigned char *d = v->mv_data;
	uint64_t key, sum;

	if (table == RT_WAIT || table == RT_CLOCK || table == RT_SEGMENT) {
		size_t kn = table == RT_WAIT ? 12 : table == RT_CLOCK ? 8 : 16;
		size_t vn = table == RT_WAIT ? 4 : 8;
		if (k->mv_size != kn || v->mv_size != vn + 8)
			return RETRO_ECORRUPT;
		memcpy(&sum, d + vn, 8);
		return retro_record_sum(k->mv_data, kn, d, vn) == sum ? 0
								      : RETRO_ECORRUPT;
	}
	if (k->mv_size != 8)
		return RETRO_ECORRUPT;
	memcpy(&key, k->mv_data, 8);
	switch (table) {
	case RT_PATH:
		return (retro_hash64(d, v->mv_size) | 1) == key ? 0 : RETRO_ECORRUPT;
	case RT_STACK: {
		/* frames are (module key, offset, pc); the key hashes the pairs */
		uint64_t pairs[RETRO_STACK_MAX * 2];
		size_t n = v->mv_size / 24;
		if (v->mv_size % 24 || n > RETRO_STACK_MAX)
			return RETRO_ECORRUPT;
		for (size_t i = 0; i < n; i++)
			memcpy(&pairs[i * 2], d + i * 24, 16);
		return (retro_hash64(pairs, n * 16) | 1) == key ? 0
							      : RETRO_ECORRUPT;
	}
	case RT_MODULE: {
		/* build-id length, build-id, path: keyed by the build-id, or
		 * by the path when there is none */
		size_t bid;
		if (v->mv_size < 1 || (bid = d[0]) > 20 || 1 + bid > v->mv_size)
			return RETRO_ECORRUPT;
		sum = bid ? retro_hash64(d + 1, bid)
			  : retro_hash64(d + 1, v->mv_size - 1);
		return (sum | 1) == key ? 0 : RETRO_ECORRUPT;
	}
	default:
		return RETRO_ECORRUPT;
	}
}

/* Every record without a content hash, checked once at load: a damaged
 * one is an error naming it, not a wrong name or status somewhere in the
 * output.  *listed receives the number of actions the imported segments
 * gave, which the chunks read in the same txn must hold (an import may
 * commit meanwhile: one snapshot for both). */
static int check_tables(struct retro_store *st, MDB_txn *txn,
			uint64_t *listed, char *why, size_t whylen)
{
	static const char *what[] = { "path",	     "call-site", "module",
				      "exit-status", "clock",	  "segment" };
	MDB_dbi dbis[] = { st->paths, st->stacks, st->modules,
			   st->waits, st->clock,  st->segments };
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = 0;

	*listed = 0;
	for (int t = RT_PATH; t <= RT_SEGMENT; t++) {
		rc = mdb_cursor_open(txn, dbis[t], &cur);
		if (rc)
			break;
		while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
			if (retro_check_record(t, &k, &v) == 0) {
				uint64_t n;
				if (t == RT_SEGMENT) {
					memcpy(&n, v.mv_data, 8);
					*listed += n;
				}
				continue;
			}
			rc = RETRO_ECORRUPT;
			if (why && k.mv_size == 8) {
				uint64_t id;
				memcpy(&id, k.mv_data, 8);
				snprintf(why, whylen, "%s record %016llx fails its check",
					 what[t], (unsigned long long)id);
			} else if (why && t == RT_WAIT && k.mv_size == 12)
				snprintf(why, whylen, "%s record of pid %u fails its "
						      "check",
					 what[t], rd32(k.mv_data));
			else if (why)
				snprintf(why, whylen, "%s record (key of %zu bytes) "
						      "fails its check",
					 what[t], k.mv_size);
			break;
		}
		mdb_cursor_close(cur);
		if (rc != MDB_NOTFOUND)
			break;
		rc = 0;
	}
	return retro_mdb_err(rc);
}

static int cmp_time(const void *a, const void *b)
{
	const struct retro_action *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct retro_proc *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

const struct retro_proc *retro_proc_find(const struct retro_recording *r,
					 uint32_t id)
{
	struct retro_proc key = { .id = id };

	if (!r->nprocs)
		return NULL;
	return bsearch(&key, r->procs, r->nprocs, sizeof key, cmp_proc);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* One entry per process that has actions, sorted by id. */
static int procs_make(struct retro_recording *r)
{
	uint32_t *ids;
	size_t n = 0;

	if (!r->nacts)
		return 0;
	ids = malloc(r->nacts * sizeof *ids);
	if (!ids)
		return ENOMEM;
	for (size_t i = 0; i < r->nacts; i++)
		ids[i] = r->acts[i].proc;
	qsort(ids, r->nacts, sizeof *ids, cmp_u32);
	for (size_t i = 0; i < r->nacts; i++)
		if (!n || ids[n - 1] != ids[i])
			ids[n++] = ids[i];
	r->procs = calloc(n, sizeof *r->procs);
	if (!r->procs) {
		free(ids);
		return ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		r->procs[i].id = ids[i];
		r->procs[i].start = INT64_MAX;
	}
	r->nprocs = n;
	free(ids);
	return 0;
}

static struct retro_proc *proc_get(struct retro_recording *r, uint32_t id)
{
	return (struct retro_proc *)retro_proc_find(r, id);
}

static int is_exec(int call)
{
	return call >= RC_execve && call <= RC_execveat;
}

static int is_wait(int call)
{
	return call == RC_wait || call == RC_waitpid || call == RC_wait3 ||
	       call == RC_wait4;
}

static int derive_procs(struct retro_store *st, struct retro_recording *r)
{
	int rc = procs_make(r);

	if (rc)
		return rc;
	for (size_t i = 0; i < r->nacts; i++) {
		struct retro_action *a = &r->acts[i];
		struct retro_proc *p = proc_get(r, a->proc);

		if (!p)
			return ENOMEM;
		if (a->start < p->start)
			p->start = a->start;
		if (a->end > p->end)
			p->end = a->end;
		if (a->thread > p->threads)
			p->threads = a->thread;
		if (!(retro_calls[a->call].flags & F_PSEUDO))
			p->actions++;
		switch (a->call) {
		case RC_start: {
			void *data;
			size_t len;
			const char *exe = retro_path(st, a->arg[0]);
			p->pid = (int32_t)a->arg[2];
			p->ppid = (int32_t)a->arg[3];
			if (a->arg[4] == 0)
				p->parent = (uint32_t)a->arg[1];
			if (a->arg[4] + 1 > p->images) {
				p->images = (uint32_t)a->arg[4] + 1;
				free(p->exe);
				p->exe = exe ? strdup(exe) : NULL;
				if (retro_blob_get(st, a->hash, &data, &len) == 0) {
					free(p->argv);
					p->argv = data;
					p->argvlen = len;
				}
			}
			break;
		}
		case RC_timereads:
			p->timereads += a->arg[0];
			break;
		case RC_loss:
			p->flags |= RP_LOSS;
			r->losses += a->arg[1] ? a->arg[1] : 1;
			break;
		case RC_storegone:
			p->flags |= RP_LOSS;
			break;
		case RC_end:
			p->flags |= RP_ENDED;
			if ((a->arg[0] >> 32) && !(p->flags & RP_EXITED)) {
				/* the kernel keeps 8 bits of exit's argument */
				p->status = W_EXITCODE((int)(a->arg[0] & 0xff), 0);
				p->flags |= RP_EXITED;
			}
			break;
		case RC_exit:
		case RC__exit:
		case RC__Exit:
			p->status = W_EXITCODE((int)a->arg[0] & 0xff, 0);
			p->flags |= RP_EXITED | RP_ENDED;
			break;
		default:
			break;
		}
	}
	/* A program started where the shim could not see the fork (system(),
	 * popen(), posix_spawn's child) has no parent id: its parent is the
	 * recorded process with its ppid as pid, alive when it started. */
	for (size_t i = 0; i < r->nprocs; i++) {
		struct retro_proc *c = &r->procs[i];
		if (c->parent || !c->ppid)
			continue;
		for (size_t k = 0; k < r->nprocs; k++) {
			struct retro_proc *p = &r->procs[k];
			if (k != i && p->pid == c->ppid && p->start <= c->start &&
			    (p->end >= c->start || !(p->flags & RP_ENDED))) {
				c->parent = p->id;
				break;
			}
		}
	}
	/* exec that never came back succeeded if a later image started. */
	for (size_t i = 0; i < r->nacts; i++) {
		struct retro_action *a = &r->acts[i];
		if (!is_exec(a->call) || a->state != 1)
			continue;
		for (size_t j = i + 1; j < r->nacts; j++) {
			if (r->acts[j].proc == a->proc &&
			    r->acts[j].call == RC_start) {
				a->state = 2;
				a->ret = 0;
				a->end = r->acts[j].start;
				break;
			}
		}
	}
	/* Status as the parent's wait saw it is authoritative: the status
	 * word of wait, waitpid, wait3 and wait4, or the siginfo of waitid
	 * (si_pid, si_code << 32, si_status << 48), of a child that ended. */
	for (size_t i = 0; i < r->nacts; i++) {
		struct retro_action *a = &r->acts[i];
		int slot = a->call == RC_wait || a->call == RC_wait3 ? 0 : 1;
		int64_t pid = a->ret;
		int32_t status = (int32_t)(uint32_t)a->arg[slot];
		if (a->call == RC_waitid && a->ret == 0 && a->state == 2) {
			int code = (int)(uint16_t)(a->arg[2] >> 32);
			int sst = (int)(uint8_t)(a->arg[2] >> 48);
			pid = (int32_t)(uint32_t)a->arg[2];
			if (code == CLD_EXITED)
				status = W_EXITCODE(sst, 0);
			else if (code == CLD_KILLED)
				status = sst;
			else if (code == CLD_DUMPED)
				status = sst | 0x80;
			else
				continue;
		} else if (!is_wait(a->call) || a->call == RC_waitid ||
			   a->ret <= 0 || !(a->arg[slot] >> 32)) {
			continue;
		}
		if (pid <= 0)
			continue;
		for (size_t k = 0; k < r->nprocs; k++) {
			struct retro_proc *c = &r->procs[k];
			if (c->pid == pid && c->parent == a->proc &&
			    c->start <= a->end) {
				c->status = status;
				c->flags |= RP_EXITED;
			}
		}
	}
	for (size_t i = 0; i < r->nacts; i++) {
		struct retro_action *a = &r->acts[i];
		if (a->state == 1 && !is_exec(a->call)) {
			struct retro_proc *p = proc_get(r, a->proc);
			if (p && !(p->flags & RP_ENDED))
				p->flags |= RP_INFLIGHT;
		}
	}
	/* Exit statuses the recorder command saw (the recorded command). */
	{
		MDB_txn *txn;
		MDB_cursor *cur;
		MDB_val k, v;
		if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) == 0) {
			if (mdb_cursor_open(txn, st->waits, &cur) == 0) {
				while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
					int32_t pid, status;
					int64_t when;
					if (retro_check_record(RT_WAIT, &k, &v))
						continue;
					pid = (int32_t)rd32(k.mv_data);
					when = (int64_t)rd64((unsigned char *)k.mv_data + 4);
					memcpy(&status, v.mv_data, 4);
					for (size_t j = 0; j < r->nprocs; j++) {
						struct retro_proc *p = &r->procs[j];
						if (p->pid == pid && !p->parent &&
						    p->start <= when) {
							p->status = status;
							p->flags |= RP_EXITED;
						}
					}
				}
				mdb_cursor_close(cur);
			}
			mdb_txn_abort(txn);
		}
	}
	return 0;
}

/* Loss records of threads that had no segment to write them in. */
static int shared_losses(struct retro_store *st, struct retro_recording *r,
			 size_t *cap)
{
	char path[PATH_MAX];
	struct retro_shared_hdr h;
	struct retro_loss_rec l;
	long fd;

	if (snprintf(path, sizeof path, "%s/" RETRO_SHARED_NAME, st->path) >=
	    (int)sizeof path)
		return 0; /* no store has such a long path */
	fd = retro_os_open_file(path); /* not blocking on a FIFO */
	if (fd < 0)
		return 0;
	if (retro_os_pread((int)fd, &h, sizeof h, 0) != (long)sizeof h ||
	    h.used > RETRO_SHARED_SIZE) {
		retro_os.close((int)fd);
		return 0;
	}
	for (uint64_t o = 0; o + sizeof l <= h.used; o += sizeof l) {
		struct retro_action *a;
		if (retro_os_pread((int)fd, &l, sizeof l,
				   (off_t)(sizeof h + o)) != (long)sizeof l)
			break;
		if (l.magic != RETRO_LOSS_MAGIC)
			continue;
		/* The final record of a loss replaces its opening one. */
		if (l.until) {
			size_t k;
			for (k = 0; k < r->nacts; k++) {
				struct retro_action *b = &r->acts[k];
				if (b->call == RC_loss && b->proc == l.proc &&
				    b->thread == l.thread && b->start == l.since)
					break;
			}
			if (k < r->nacts) {
				r->acts[k].end = l.until;
				r->acts[k].arg[1] = l.count;
				continue;
			}
		}
		if (r->nacts == *cap) {
			size_t c = *cap ? *cap * 2 : 4096;
			struct retro_action *q = realloc(r->acts, c * sizeof *q);
			if (!q) {
				retro_os.close((int)fd);
				return ENOMEM;
			}
			r->acts = q;
			*cap = c;
		}
		a = &r->acts[r->nacts++];
		memset(a, 0, sizeof *a);
		a->proc = l.proc;
		a->thread = l.thread;
		a->call = RC_loss;
		a->state = 2;
		a->start = l.since;
		a->end = l.until ? l.until : l.since;
		a->arg[0] = (uint64_t)l.since;
		a->arg[1] = l.count;
		a->arg[2] = (uint64_t)l.err;
	}
	retro_os.close((int)fd);
	return 0;
}

int retro_load(struct retro_store *st, struct retro_recording *r, char *why,
	       size_t whylen)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t cap = 0;
	uint64_t listed;
	int rc;

	memset(r, 0, sizeof *r);
	rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return retro_mdb_err(rc);
	k.mv_size = 4;
	k.mv_data = "boot";
	if (mdb_get(txn, st->meta, &k, &v) == 0 && v.mv_size < sizeof r->boot_id) {
		memcpy(r->boot_id, v.mv_data, v.mv_size);
		r->boot_id[v.mv_size] = 0;
	}
	rc = mdb_cursor_open(txn, st->chunks, &cur);
	if (rc) {
		mdb_txn_abort(txn);
		return retro_mdb_err(rc);
	}
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
		struct retro_action *acts;
		size_t n;
		uint32_t proc, thread;

		if (k.mv_size != 16) {
			rc = RETRO_ECORRUPT;
			if (why)
				snprintf(why, whylen, "chunk key of %zu bytes",
					 k.mv_size);
			break;
		}
		proc = rd32(k.mv_data);
		thread = rd32((unsigned char *)k.mv_data + 4);
		rc = retro_chunk_decode(v.mv_data, v.mv_size, proc, thread, &acts,
					&n);
		if (rc) {
			if (why)
				snprintf(why, whylen,
					 "chunk of process %u thread %u seq %llu: %s",
					 proc, thread,
					 (unsigned long long)rd64(
						 (unsigned char *)k.mv_data + 8),
					 retro_strerror(rc));
			break;
		}
		if (r->nacts + n > cap) {
			size_t c = cap ? cap * 2 : 4096;
			while (c < r->nacts + n)
				c *= 2;
			struct retro_action *q = realloc(r->acts, c * sizeof *q);
			if (!q) {
				free(acts);
				rc = ENOMEM;
				break;
			}
			r->acts = q;
			cap = c;
		}
		if (n) /* an empty chunk, before any action: r->acts is NULL */
			memcpy(r->acts + r->nacts, acts, n * sizeof *acts);
		r->nacts += n;
		free(acts);
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		rc = check_tables(st, txn, &listed, why, whylen);
	mdb_txn_abort(txn);
	if (rc) {
		retro_recording_free(r);
		return retro_mdb_err(rc);
	}
	if (listed != r->nacts) {
		/* LMDB keeps no checksums of its own pages: a damaged one
		 * can hide records without any error */
		rc = RETRO_ECORRUPT;
		if (why)
			snprintf(why, whylen,
				 "the chunks hold %zu action(s) where the imported "
				 "segments gave %llu: records are missing",
				 r->nacts, (unsigned long long)listed);
	}
	if (!rc)
		rc = shared_losses(st, r, &cap);
	if (rc) {
		retro_recording_free(r);
		return rc;
	}
	if (r->nacts)
		qsort(r->acts, r->nacts, sizeof *r->acts, cmp_time);
	r->t0 = r->nacts ? r->acts[0].start : 0;
	rc = derive_procs(st, r);
	if (rc)
		retro_recording_free(r);
	return rc;
}

void retro_recording_free(struct retro_recording *r)
{
	for (size_t i = 0; i < r->nprocs; i++) {
		free(r->procs[i].exe);
		free(r->procs[i].argv);
	}
	free(r->procs);
	free(r->acts);
	memset(r, 0, sizeof *r);
}
