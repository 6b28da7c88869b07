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
#include <sys/mman.h>
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

int retro_walk_next(MDB_cursor *cur, MDB_val *k, MDB_val *v, MDB_val *prev)
{
	int rc = mdb_cursor_get(cur, k, v, MDB_NEXT);

	if (rc)
		return rc;
	if (prev->mv_data &&
	    mdb_cmp(mdb_cursor_txn(cur), mdb_cursor_dbi(cur), prev, k) >= 0)
		return RETRO_ECORRUPT;
	*prev = *k;
	return 0;
}

/* retro_walk_next over the table of what (records), saying in why when
 * its keys go out of order. */
static int walk(MDB_cursor *cur, MDB_val *k, MDB_val *v, MDB_val *prev,
		const char *what, char *why, size_t whylen)
{
	int rc = retro_walk_next(cur, k, v, prev);

	if (rc == RETRO_ECORRUPT && why)
		snprintf(why, whylen, "the %s table's keys are out of order "
				      "(a damaged page)", what);
	return rc;
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
		MDB_val prev = { 0, NULL };
		rc = mdb_cursor_open(txn, dbis[t], &cur);
		if (rc)
			break;
		while ((rc = walk(cur, &k, &v, &prev, what[t], why, whylen)) ==
		       0) {
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

/* ---- processes, derived from their actions ------------------------------
 *
 * Each action is visited once, in any order (derive_visit); what needs
 * them all (parents found by pid, statuses a parent's wait saw, an exec
 * that never came back) is settled after (derive_finish), from what the
 * visits kept: a few numbers per process, its images' starts, and the
 * waits.  retro_load visits the actions it loaded; retro_scan visits them
 * as it reads them, and keeps none. */

struct dwait {    /* a wait that returned an ended child */
	uint32_t proc;
	int32_t pid, status;
	int64_t end;
};

struct dproc {
	struct retro_proc p;
	int64_t *img;     /* starts of its images (RC_start), as visited */
	size_t nimg, capimg;
	int inflight;     /* an action other than exec never returned */
};

struct derive {
	struct dproc *d;  /* sorted by id once finished */
	size_t n, cap;
	size_t *slot;     /* open addressing: id -> 1 + index in d */
	size_t nslot;
	struct dwait *w;
	size_t nw, capw;
	uint64_t losses;
	int64_t t0;
	uint64_t count;   /* actions visited */
	int oom;
};

static void derive_free(struct derive *dv)
{
	for (size_t i = 0; i < dv->n; i++) {
		free(dv->d[i].img);
		free(dv->d[i].p.exe);
		free(dv->d[i].p.argv);
	}
	free(dv->d);
	free(dv->slot);
	free(dv->w);
	memset(dv, 0, sizeof *dv);
}

static int grow_to(void **arr, size_t *cap, size_t need, size_t sz)
{
	size_t c = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	q = realloc(*arr, c * sz);
	if (!q)
		return ENOMEM;
	*arr = q;
	*cap = c;
	return 0;
}

static struct dproc *dproc_get(struct derive *dv, uint32_t id)
{
	size_t j;

	if (dv->nslot && dv->n * 2 < dv->nslot) {
		for (j = id % dv->nslot; dv->slot[j]; j = (j + 1) % dv->nslot)
			if (dv->d[dv->slot[j] - 1].p.id == id)
				return &dv->d[dv->slot[j] - 1];
	} else {
		/* rehash, twice as large */
		size_t ns = dv->nslot ? dv->nslot * 2 : 256;
		size_t *sl = calloc(ns, sizeof *sl);
		if (!sl) {
			dv->oom = 1;
			return NULL;
		}
		for (size_t i = 0; i < dv->n; i++) {
			for (j = dv->d[i].p.id % ns; sl[j]; j = (j + 1) % ns)
				;
			sl[j] = i + 1;
		}
		free(dv->slot);
		dv->slot = sl;
		dv->nslot = ns;
		return dproc_get(dv, id);
	}
	if (grow_to((void **)&dv->d, &dv->cap, dv->n + 1, sizeof *dv->d)) {
		dv->oom = 1;
		return NULL;
	}
	memset(&dv->d[dv->n], 0, sizeof *dv->d);
	dv->d[dv->n].p.id = id;
	dv->d[dv->n].p.start = INT64_MAX;
	dv->slot[j] = ++dv->n;
	return &dv->d[dv->n - 1];
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

/* The child a wait returned and the status it saw (the status word of
 * wait, waitpid, wait3 and wait4, or the siginfo of waitid: si_pid,
 * si_code << 32, si_status << 48); 0 when it returned none. */
static int waited(const struct retro_action *a, struct dwait *w)
{
	int slot = a->call == RC_wait || a->call == RC_wait3 ? 0 : 1;

	w->proc = a->proc;
	w->end = a->end;
	if (a->call == RC_waitid && a->ret == 0 && a->state == 2) {
		int code = (int)(uint16_t)(a->arg[2] >> 32);
		int sst = (int)(uint8_t)(a->arg[2] >> 48);
		w->pid = (int32_t)(uint32_t)a->arg[2];
		if (code == CLD_EXITED)
			w->status = W_EXITCODE(sst, 0);
		else if (code == CLD_KILLED)
			w->status = sst;
		else if (code == CLD_DUMPED)
			w->status = sst | 0x80;
		else
			return 0;
	} else if (!is_wait(a->call) || a->ret <= 0 || !(a->arg[slot] >> 32)) {
		return 0;
	} else {
		w->pid = (int32_t)a->ret;
		w->status = (int32_t)(uint32_t)a->arg[slot];
	}
	return w->pid > 0;
}

static void derive_visit(struct derive *dv, struct retro_store *st,
			 const struct retro_action *a)
{
	struct dproc *d = dproc_get(dv, a->proc);
	struct retro_proc *p;
	struct dwait w;

	if (!d)
		return;
	p = &d->p;
	dv->count++;
	if (dv->count == 1 || a->start < dv->t0)
		dv->t0 = a->start;
	if (a->start < p->start)
		p->start = a->start;
	if (a->end > p->end)
		p->end = a->end;
	if (a->thread > p->threads)
		p->threads = a->thread;
	if (!(retro_calls[a->call].flags & F_PSEUDO))
		p->actions++;
	if (a->state == 1 && !is_exec(a->call))
		d->inflight = 1;
	if (waited(a, &w)) {
		if (grow_to((void **)&dv->w, &dv->capw, dv->nw + 1, sizeof w))
			dv->oom = 1;
		else
			dv->w[dv->nw++] = w;
	}
	switch (a->call) {
	case RC_start: {
		void *data;
		size_t len;
		const char *exe = retro_path(st, a->arg[0]);
		if (grow_to((void **)&d->img, &d->capimg, d->nimg + 1,
			    sizeof *d->img))
			dv->oom = 1;
		else
			d->img[d->nimg++] = a->start;
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
			/* the recorder kept only the first part (arg[5]) */
			if (a->arg[5])
				p->flags |= RP_ARGV_CUT;
			else
				p->flags &= ~(uint32_t)RP_ARGV_CUT;
		}
		break;
	}
	case RC_timereads:
		p->timereads += a->arg[0];
		break;
	case RC_loss:
		p->flags |= RP_LOSS;
		dv->losses += a->arg[1] ? a->arg[1] : 1;
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

static int cmp_dproc(const void *a, const void *b)
{
	const struct dproc *x = a, *y = b;

	return x->p.id < y->p.id ? -1 : x->p.id > y->p.id;
}

/* Settles what needs every action, and fills in r's processes (sorted by
 * id; dv keeps its images' starts for derive_exec). */
static int derive_finish(struct derive *dv, struct retro_store *st,
			 struct retro_recording *r)
{
	if (dv->oom)
		return ENOMEM;
	if (dv->n)
		qsort(dv->d, dv->n, sizeof *dv->d, cmp_dproc);
	free(dv->slot); /* indices moved: lookups go by retro_proc_find */
	dv->slot = NULL;
	dv->nslot = 0;
	r->procs = dv->n ? calloc(dv->n, sizeof *r->procs) : NULL;
	if (dv->n && !r->procs)
		return ENOMEM;
	for (size_t i = 0; i < dv->n; i++) {
		r->procs[i] = dv->d[i].p;
		dv->d[i].p.exe = NULL; /* r owns them now */
		dv->d[i].p.argv = NULL;
	}
	r->nprocs = dv->n;
	r->losses = dv->losses;
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
	/* Status as the parent's wait saw it is authoritative. */
	for (size_t i = 0; i < dv->nw; i++) {
		const struct dwait *w = &dv->w[i];
		for (size_t k = 0; k < r->nprocs; k++) {
			struct retro_proc *c = &r->procs[k];
			if (c->pid == w->pid && c->parent == w->proc &&
			    c->start <= w->end) {
				c->status = w->status;
				c->flags |= RP_EXITED;
			}
		}
	}
	for (size_t i = 0; i < r->nprocs; i++)
		if (dv->d[i].inflight && !(r->procs[i].flags & RP_ENDED))
			r->procs[i].flags |= RP_INFLIGHT;
	/* Exit statuses the recorder command saw (the recorded command). */
	{
		MDB_txn *txn;
		MDB_cursor *cur;
		MDB_val k, v;
		if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn) == 0) {
			if (mdb_cursor_open(txn, st->waits, &cur) == 0) {
				MDB_val prev = { 0, NULL };
				/* a damaged table ends the walk: its records
				 * were checked (check_tables) */
				while (retro_walk_next(cur, &k, &v, &prev) == 0) {
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
	r->t0 = dv->count ? dv->t0 : 0;
	return 0;
}

/* An exec that never came back succeeded if a later image of its process
 * started: it returned 0 there. */
static void derive_exec(const struct derive *dv, const struct retro_recording *r,
			struct retro_action *a)
{
	const struct retro_proc *p;
	const struct dproc *d;
	int64_t next = INT64_MAX;

	if (!is_exec(a->call) || a->state != 1 ||
	    !(p = retro_proc_find(r, a->proc)))
		return;
	d = &dv->d[p - r->procs];
	for (size_t i = 0; i < d->nimg; i++)
		if (d->img[i] > a->start && d->img[i] < next)
			next = d->img[i];
	if (next == INT64_MAX)
		return;
	a->state = 2;
	a->ret = 0;
	a->end = next;
}

/* ---- losses kept outside the chunks -------------------------------------- */

/* Loss records of threads that had no segment to write them in
 * (STORE/shared), as actions.  The final record of a loss (until set)
 * replaces its opening one: *patch says which of them do, rather than
 * stand alone.  Returns 0 or ENOMEM; a missing or short file is none. */
static int shared_losses(struct retro_store *st, struct retro_action **out,
			 size_t *nout, uint64_t *overflow)
{
	char path[PATH_MAX];
	struct retro_shared_hdr h;
	struct retro_loss_rec l;
	struct stat sb;
	struct retro_action *v = NULL;
	size_t n = 0, cap = 0;
	long fd;

	*out = NULL;
	*nout = 0;
	if (snprintf(path, sizeof path, "%s/" RETRO_SHARED_NAME, st->path) >=
	    (int)sizeof path)
		return 0; /* no store has such a long path */
	fd = retro_os_open_file(path); /* not blocking on a FIFO */
	if (fd < 0)
		return 0;
	if (retro_os_pread((int)fd, &h, sizeof h, 0) != (long)sizeof h ||
	    retro_os_fstatat((int)fd, "", &sb, AT_EMPTY_PATH) < 0) {
		retro_os.close((int)fd);
		return 0;
	}
	/* past the end when some did not fit (h.overflow) */
	h.used = retro_shared_span(h.used, (uint64_t)sb.st_size);
	*overflow = h.overflow;
	for (uint64_t o = 0; o + sizeof l <= h.used; o += sizeof l) {
		struct retro_action *a;
		if (retro_os_pread((int)fd, &l, sizeof l,
				   (off_t)(sizeof h + o)) != (long)sizeof l)
			break;
		if (l.magic != RETRO_LOSS_MAGIC)
			continue;
		if (l.until) {
			/* its opening record may be here as well */
			size_t i;
			for (i = 0; i < n; i++)
				if (!v[i].seq && v[i].proc == l.proc &&
				    v[i].thread == l.thread && v[i].start == l.since)
					break;
			if (i < n) {
				v[i].end = l.until;
				v[i].arg[1] = l.count;
				continue;
			}
		}
		if (grow_to((void **)&v, &cap, n + 1, sizeof *v)) {
			free(v);
			retro_os.close((int)fd);
			return ENOMEM;
		}
		a = &v[n++];
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
		a->seq = l.until != 0; /* a final record: it may patch */
	}
	retro_os.close((int)fd);
	*out = v;
	*nout = n;
	return 0;
}

/* When chunk action a is the opening record of a loss whose final record
 * is among the shared ones, a takes its end and count, and the final
 * record is marked used (seq 2). */
static void loss_patch(struct retro_action *sh, size_t nsh,
		       struct retro_action *a)
{
	if (a->call != RC_loss)
		return;
	for (size_t i = 0; i < nsh; i++)
		if (sh[i].seq && sh[i].proc == a->proc &&
		    sh[i].thread == a->thread && sh[i].start == a->start) {
			a->end = sh[i].end;
			a->arg[1] = sh[i].arg[1];
			sh[i].seq = 2;
			return;
		}
}

static int chunk_error(const MDB_val *k, int rc, char *why, size_t whylen)
{
	if (why && k->mv_size != 16)
		snprintf(why, whylen, "chunk key of %zu bytes", k->mv_size);
	else if (why)
		snprintf(why, whylen, "chunk of process %u thread %u seq %llu: %s",
			 rd32(k->mv_data), rd32((unsigned char *)k->mv_data + 4),
			 (unsigned long long)rd64((unsigned char *)k->mv_data + 8),
			 retro_strerror(rc));
	return rc;
}

static int decode_chunk(const MDB_val *k, const MDB_val *v,
			struct retro_action **acts, size_t *n, char *why,
			size_t whylen)
{
	int rc;

	if (k->mv_size != 16)
		return chunk_error(k, RETRO_ECORRUPT, why, whylen);
	rc = retro_chunk_decode(v->mv_data, v->mv_size, rd32(k->mv_data),
				rd32((unsigned char *)k->mv_data + 4), acts, n);
	return rc ? chunk_error(k, rc, why, whylen) : 0;
}

static void read_boot_id(MDB_txn *txn, struct retro_store *st, char *boot,
			 size_t n)
{
	MDB_val k = { 4, "boot" }, v;

	if (mdb_get(txn, st->meta, &k, &v) == 0 && v.mv_size < n) {
		memcpy(boot, v.mv_data, v.mv_size);
		boot[v.mv_size] = 0;
	}
}

static int count_error(uint64_t have, uint64_t listed, char *why, size_t whylen)
{
	/* LMDB keeps no checksums of its own pages: a damaged one can hide
	 * records without any error */
	if (why)
		snprintf(why, whylen,
			 "the chunks hold %llu action(s) where the imported "
			 "segments gave %llu: records are missing",
			 (unsigned long long)have, (unsigned long long)listed);
	return RETRO_ECORRUPT;
}

int retro_load(struct retro_store *st, struct retro_recording *r, char *why,
	       size_t whylen)
{
	struct derive dv = { 0 };
	struct retro_action *sh = NULL;
	size_t cap = 0, nsh = 0;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v, prev = { 0, NULL };
	uint64_t listed;
	int rc;

	memset(r, 0, sizeof *r);
	rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return retro_mdb_err(rc);
	read_boot_id(txn, st, r->boot_id, sizeof r->boot_id);
	rc = mdb_cursor_open(txn, st->chunks, &cur);
	if (rc) {
		mdb_txn_abort(txn);
		return retro_mdb_err(rc);
	}
	while ((rc = walk(cur, &k, &v, &prev, "action", why, whylen)) == 0) {
		struct retro_action *acts;
		size_t n;

		if ((rc = decode_chunk(&k, &v, &acts, &n, why, whylen)) != 0)
			break;
		if (grow_to((void **)&r->acts, &cap, r->nacts + n,
			    sizeof *r->acts)) {
			free(acts);
			rc = ENOMEM;
			break;
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
	if (!rc && listed != r->nacts)
		rc = count_error(r->nacts, listed, why, whylen);
	if (!rc)
		rc = shared_losses(st, &sh, &nsh, &r->lost_markers);
	for (size_t i = 0; !rc && i < r->nacts; i++)
		loss_patch(sh, nsh, &r->acts[i]);
	for (size_t i = 0; !rc && i < nsh; i++) {
		if (sh[i].seq == 2)
			continue;
		if (grow_to((void **)&r->acts, &cap, r->nacts + 1,
			    sizeof *r->acts)) {
			rc = ENOMEM;
			break;
		}
		sh[i].seq = 0;
		r->acts[r->nacts++] = sh[i];
	}
	free(sh);
	if (rc) {
		retro_recording_free(r);
		return retro_mdb_err(rc);
	}
	if (r->nacts)
		qsort(r->acts, r->nacts, sizeof *r->acts, cmp_time);
	for (size_t i = 0; i < r->nacts; i++)
		derive_visit(&dv, st, &r->acts[i]);
	rc = derive_finish(&dv, st, r);
	for (size_t i = 0; !rc && i < r->nacts; i++)
		derive_exec(&dv, r, &r->acts[i]);
	derive_free(&dv);
	if (rc)
		retro_recording_free(r);
	return rc;
}

/* ---- the timeline, streamed ------------------------------------------------ */

/* Lets go of the pages of the store's map read so far: they stay in the
 * page cache, but no longer count in this process's memory, which then
 * does not grow with the store.  The map is never written through. */
static void map_release(struct retro_store *st)
{
	uintptr_t lo, hi;

	if (retro_store_map(st, &lo, &hi))
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

#define RELEASE_EVERY 64 /* chunks read: some 260,000 actions */

struct sstream {      /* one thread's chunks, in seq order */
	MDB_cursor *cur;
	unsigned char key[8]; /* process and thread */
	struct retro_action *acts;
	size_t n, i;
};

struct retro_scan {
	struct retro_store *st;
	MDB_txn *txn;
	struct sstream *s;
	size_t ns;
	size_t *heap, nh; /* streams with an action, the earliest on top */
	struct retro_action *sh; /* shared losses (shared_losses): np that
				  * patch chunk actions, then the others in
				  * time order, the next at ish */
	size_t nsh, np, ish;
	struct derive dv;
	struct retro_recording *r;
	char *why;
	size_t whylen;
	int err;
	unsigned long fills; /* chunks decoded (map_release) */
};

static const struct retro_action *scur(const struct retro_scan *sc, size_t i)
{
	return &sc->s[i].acts[sc->s[i].i];
}

static int heap_less(const struct retro_scan *sc, size_t a, size_t b)
{
	return cmp_time(scur(sc, sc->heap[a]), scur(sc, sc->heap[b])) < 0;
}

static void heap_swap(struct retro_scan *sc, size_t a, size_t b)
{
	size_t t = sc->heap[a];

	sc->heap[a] = sc->heap[b];
	sc->heap[b] = t;
}

static void heap_down(struct retro_scan *sc, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < sc->nh && heap_less(sc, l, m))
			m = l;
		if (l + 1 < sc->nh && heap_less(sc, l + 1, m))
			m = l + 1;
		if (m == i)
			return;
		heap_swap(sc, i, m);
		i = m;
	}
}

static void heap_up(struct retro_scan *sc, size_t i)
{
	while (i && heap_less(sc, i, (i - 1) / 2)) {
		heap_swap(sc, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

/* Decodes the stream's next chunk; 1 when it has one, 0 at its end, -1 on
 * an error (sc->err). */
static int stream_fill(struct retro_scan *sc, struct sstream *s, MDB_cursor_op op)
{
	MDB_val k = { 8, s->key }, v;
	int rc;

	free(s->acts);
	s->acts = NULL;
	s->n = s->i = 0;
	do {
		rc = mdb_cursor_get(s->cur, &k, &v, op);
		op = MDB_NEXT;
		if (rc == MDB_NOTFOUND || (rc == 0 && (k.mv_size < 8 ||
						       memcmp(k.mv_data, s->key, 8))))
			return 0;
		if (rc) {
			sc->err = retro_mdb_err(rc);
			return -1;
		}
		if ((rc = decode_chunk(&k, &v, &s->acts, &s->n, sc->why,
				       sc->whylen)) != 0) {
			sc->err = rc;
			return -1;
		}
		if (++sc->fills % RELEASE_EVERY == 0)
			map_release(sc->st);
	} while (!s->n); /* an empty chunk */
	return 1;
}

void retro_scan_close(struct retro_scan *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->ns; i++) {
		if (sc->s[i].cur)
			mdb_cursor_close(sc->s[i].cur);
		free(sc->s[i].acts);
	}
	if (sc->txn)
		mdb_txn_abort(sc->txn);
	derive_free(&sc->dv);
	free(sc->s);
	free(sc->heap);
	free(sc->sh);
	free(sc);
}

int retro_scan_open(struct retro_store *st, struct retro_recording *r,
		    struct retro_scan **out,
		    void (*visit)(void *arg, const struct retro_action *a),
		    void *arg, char *why, size_t whylen)
{
	struct retro_scan *sc = calloc(1, sizeof *sc);
	MDB_cursor *cur;
	MDB_val k, v, prev = { 0, NULL };
	size_t cap = 0;
	uint64_t listed;
	int rc;

	*out = NULL;
	memset(r, 0, sizeof *r);
	if (!sc)
		return ENOMEM;
	sc->st = st;
	sc->r = r;
	sc->why = why;
	sc->whylen = whylen;
	rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &sc->txn);
	if (rc) {
		sc->txn = NULL;
		rc = retro_mdb_err(rc);
		goto fail;
	}
	read_boot_id(sc->txn, st, r->boot_id, sizeof r->boot_id);
	rc = shared_losses(st, &sc->sh, &sc->nsh, &r->lost_markers);
	/* the first pass: every chunk in key order, one at a time, for the
	 * processes and the threads */
	if (!rc)
		rc = mdb_cursor_open(sc->txn, st->chunks, &cur);
	if (rc)
		goto fail;
	while ((rc = walk(cur, &k, &v, &prev, "action", why, whylen)) == 0) {
		struct retro_action *acts;
		size_t n;

		if ((rc = decode_chunk(&k, &v, &acts, &n, why, whylen)) != 0)
			break;
		if (!sc->ns || memcmp(sc->s[sc->ns - 1].key, k.mv_data, 8)) {
			if (grow_to((void **)&sc->s, &cap, sc->ns + 1,
				    sizeof *sc->s)) {
				free(acts);
				rc = ENOMEM;
				break;
			}
			memset(&sc->s[sc->ns], 0, sizeof *sc->s);
			memcpy(sc->s[sc->ns++].key, k.mv_data, 8);
		}
		for (size_t i = 0; i < n; i++) {
			loss_patch(sc->sh, sc->nsh, &acts[i]);
			derive_visit(&sc->dv, st, &acts[i]);
			if (visit)
				visit(arg, &acts[i]);
		}
		free(acts);
		if (++sc->fills % RELEASE_EVERY == 0)
			map_release(st);
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		rc = check_tables(st, sc->txn, &listed, why, whylen);
	if (!rc && listed != sc->dv.count)
		rc = count_error(sc->dv.count, listed, why, whylen);
	if (rc)
		goto fail;
	/* the shared losses that patched a chunk action do so again in the
	 * second pass (the first np); the others stand alone, in time order */
	{
		size_t m = 0;
		for (size_t i = 0; i < sc->nsh; i++)
			if (sc->sh[i].seq == 2) {
				struct retro_action t = sc->sh[m];
				sc->sh[m++] = sc->sh[i];
				sc->sh[i] = t;
			}
		sc->np = sc->ish = m;
		for (size_t i = m; i < sc->nsh; i++) {
			sc->sh[i].seq = 0;
			derive_visit(&sc->dv, st, &sc->sh[i]);
			if (visit)
				visit(arg, &sc->sh[i]);
		}
		if (sc->nsh > m)
			qsort(sc->sh + m, sc->nsh - m, sizeof *sc->sh, cmp_time);
	}
	rc = derive_finish(&sc->dv, st, r);
	if (rc)
		goto fail;
	/* the second pass: one cursor per thread, merged by time */
	sc->heap = calloc(sc->ns + 1, sizeof *sc->heap);
	if (!sc->heap) {
		rc = ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < sc->ns; i++) {
		struct sstream *s = &sc->s[i];
		int f;
		rc = mdb_cursor_open(sc->txn, st->chunks, &s->cur);
		if (rc) {
			s->cur = NULL;
			rc = retro_mdb_err(rc);
			goto fail;
		}
		f = stream_fill(sc, s, MDB_SET_RANGE);
		if (f < 0) {
			rc = sc->err;
			goto fail;
		}
		if (f) {
			sc->heap[sc->nh++] = i;
			heap_up(sc, sc->nh - 1);
		}
	}
	*out = sc;
	return 0;
fail:
	retro_scan_close(sc);
	retro_recording_free(r);
	return rc;
}

int retro_scan_next(struct retro_scan *sc, struct retro_action *a)
{
	const struct retro_action *top = sc->nh ? scur(sc, sc->heap[0]) : NULL;

	if (sc->err)
		return -sc->err;
	if (sc->ish < sc->nsh &&
	    (!top || cmp_time(&sc->sh[sc->ish], top) < 0)) {
		*a = sc->sh[sc->ish++];
		return 1;
	}
	if (!top)
		return 0;
	*a = *top;
	loss_patch(sc->sh, sc->np, a);
	{
		struct sstream *s = &sc->s[sc->heap[0]];
		int f = ++s->i < s->n ? 1 : stream_fill(sc, s, MDB_NEXT);
		if (f < 0)
			return -sc->err;
		if (f) {
			heap_down(sc, 0);
		} else {
			sc->heap[0] = sc->heap[--sc->nh];
			heap_down(sc, 0);
		}
	}
	derive_exec(&sc->dv, sc->r, a);
	return 1;
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
