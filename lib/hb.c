/* Timing dependencies from happens-before (see hb.h). */
#define _GNU_SOURCE
#include "config.h"
#include "hb.h"
#include "model.h"
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <retro/calls.h>

/* ---- a map from 64-bit keys to indices ------------------------------------ */

struct map {
	uint64_t *keys; /* 0: empty (keys are made non-zero) */
	uint64_t *vals;
	size_t cap, n;
};

struct hb; /* below */

static size_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k;
}

/* The slot of key, or of where it would go. */
static size_t map_slot(const struct map *m, uint64_t key)
{
	size_t i = mix(key) & (m->cap - 1);

	while (m->keys[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* ---- the analysis's state -------------------------------------------------- */

/* What a path id names: a file, a FIFO (or a file written as a stream), an
 * anonymous pipe or socket, or nothing analysed. */
enum { OK_FILE = 1, OK_STREAM, OK_PIPE, OK_IGNORED };

struct pend {     /* a process's last observation since the modification */
	int32_t p;
	uint32_t c;
	struct retro_action a; /* a copy: actions come and go (retro_scan) */
};

struct cand {     /* a read-write finding its observer may still cancel */
	int32_t p;    /* the observer, its clock at the look, and the look's
		       * call site and call */
	uint32_t pc;
	uint64_t stack;
	uint16_t call;
	int32_t q;    /* the modifier, and its clock at the modification */
	uint32_t qc;
	size_t fi;
};

struct chunk {    /* bytes written into a stream, not yet all read */
	uint64_t from, to;
	uint32_t *vc;
};

struct hobj {
	uint64_t path;
	int32_t mod_p; /* -1: no modification seen */
	uint32_t mod_c;
	struct retro_action mod_a;
	uint32_t *mod_vc;
	uint8_t mod_append;
	struct pend *pend;
	uint32_t npend, cappend;
	struct cand *cand;
	uint32_t ncand, capcand;
	/* streams */
	uint64_t wofs, rofs;
	struct chunk *q;
	size_t qh, qn, qcap;
	/* locks */
	uint32_t *lock_vc;
};

struct hb {
	const struct retro_recording *r;
	struct retro_store *st;
	int flags;
	size_t n;          /* processes */
	uint32_t *vc;      /* n x n */
	uint32_t **fork_vc; /* a child's parent clock at its fork */
	unsigned char *started;
	uint32_t **sig_vc; /* per process: the clocks of kills not yet taken */
	int64_t *sig_start, *sig_end; /* the last of those kills */
	uint32_t **held;   /* per process: lock objects it holds */
	uint32_t *nheld;
	struct map objs;   /* key -> index in o */
	struct map kinds;  /* path id -> OK_* */
	struct map append; /* path id -> 1: opened O_APPEND somewhere */
	struct map cid;    /* path id -> content key */
	struct map opened; /* (process, path id) it opened itself -> 1 */
	uint64_t fresh;    /* content keys for created files */
	struct hobj *o;
	size_t no, capo;
	struct retro_finding *f;
	unsigned char *dead; /* a later look cancelled the finding */
	size_t nf, capf, capdead;
	size_t bytes, peak;
	int oom;
	void (*visit)(void *, const struct retro_action *); /* the caller's */
	void *visit_arg;
};

static void *hb_alloc(struct hb *h, size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p) {
		h->oom = 1;
		return NULL;
	}
	h->bytes += n;
	if (h->bytes > h->peak)
		h->peak = h->bytes;
	return p;
}

static void hb_free(struct hb *h, void *p, size_t n)
{
	if (!p)
		return;
	h->bytes -= n;
	free(p);
}

/* Grows *arr (of *cap elements of size sz) to hold need; 0 or -1. */
static int grow(struct hb *h, void **arr, size_t *cap, size_t need, size_t sz)
{
	size_t nc;
	void *p;

	if (need <= *cap)
		return 0;
	nc = *cap ? *cap * 2 : 8;
	while (nc < need)
		nc *= 2;
	p = realloc(*arr, nc * sz);
	if (!p) {
		h->oom = 1;
		return -1;
	}
	memset((char *)p + *cap * sz, 0, (nc - *cap) * sz);
	h->bytes += (nc - *cap) * sz;
	if (h->bytes > h->peak)
		h->peak = h->bytes;
	*arr = p;
	*cap = nc;
	return 0;
}

static int map_init(struct hb *h, struct map *m)
{
	m->cap = 64;
	m->n = 0;
	m->keys = hb_alloc(h, m->cap * sizeof *m->keys);
	m->vals = hb_alloc(h, m->cap * sizeof *m->vals);
	return m->keys && m->vals ? 0 : -1;
}

static void map_free(struct hb *h, struct map *m)
{
	hb_free(h, m->keys, m->cap * sizeof *m->keys);
	hb_free(h, m->vals, m->cap * sizeof *m->vals);
}

/* Keys are made non-zero; two keys that differ only in the top bit are
 * one (path ids are 64-bit hashes: a collision there is as unlikely). */
static int map_find(const struct map *m, uint64_t key, uint64_t *val)
{
	size_t i = map_slot(m, key | 1ULL << 63);

	if (!m->keys[i])
		return 0;
	*val = m->vals[i];
	return 1;
}

/* The value of key (an index or a small number), or -1. */
static int64_t map_get(const struct map *m, uint64_t key)
{
	uint64_t v;

	return map_find(m, key, &v) ? (int64_t)v : -1;
}

static int map_put(struct hb *h, struct map *m, uint64_t key, uint64_t val)
{
	size_t i;

	key |= 1ULL << 63;
	if ((m->n + 1) * 2 > m->cap) {
		struct map nm = { .cap = m->cap * 2 };
		nm.keys = hb_alloc(h, nm.cap * sizeof *nm.keys);
		nm.vals = hb_alloc(h, nm.cap * sizeof *nm.vals);
		if (!nm.keys || !nm.vals)
			return -1;
		for (size_t k = 0; k < m->cap; k++)
			if (m->keys[k]) {
				size_t j = map_slot(&nm, m->keys[k]);
				nm.keys[j] = m->keys[k];
				nm.vals[j] = m->vals[k];
				nm.n++;
			}
		map_free(h, m);
		*m = nm;
	}
	i = map_slot(m, key);
	if (!m->keys[i]) {
		m->keys[i] = key;
		m->n++;
	}
	m->vals[i] = val;
	return 0;
}

/* ---- vector clocks ---------------------------------------------------------- */

static uint32_t *vc_of(struct hb *h, int32_t p)
{
	return h->vc + (size_t)p * h->n;
}

static void join(struct hb *h, uint32_t *dst, const uint32_t *src)
{
	if (!src)
		return;
	for (size_t i = 0; i < h->n; i++)
		if (src[i] > dst[i])
			dst[i] = src[i];
}

static uint32_t *snapshot(struct hb *h, uint32_t *into, int32_t p)
{
	if (!into)
		into = hb_alloc(h, h->n * sizeof *into);
	if (into)
		memcpy(into, vc_of(h, p), h->n * sizeof *into);
	return into;
}

/* ---- objects ---------------------------------------------------------------- */

enum { KEY_CONTENT = 1, KEY_ENTRY, KEY_STREAM, KEY_LOCK };

static struct hobj *obj(struct hb *h, int kind, uint64_t id, uint64_t path)
{
	uint64_t key = (id & ~(7ULL << 60)) | ((uint64_t)kind << 60);
	int64_t i = map_get(&h->objs, key);
	struct hobj *o;

	if (i >= 0) {
		o = &h->o[i];
		if (path)
			o->path = path;
		return o;
	}
	if (grow(h, (void **)&h->o, &h->capo, h->no + 1, sizeof *h->o) < 0 ||
	    map_put(h, &h->objs, key, (uint32_t)h->no) < 0)
		return NULL;
	o = &h->o[h->no++];
	o->path = path;
	o->mod_p = -1;
	return o;
}

/* What kind of object a path id names: a file, a stream (pipe, FIFO,
 * socket), or nothing to analyse (devices, /proc, /sys). */
static int kind_of(struct hb *h, uint64_t id)
{
	int64_t k = map_get(&h->kinds, id);
	const char *s;

	if (k > 0)
		return (int)k;
	s = retro_path(h->st, id);
	if (!s || !*s)
		k = OK_IGNORED;
	else if (strncmp(s, "pipe:", 5) == 0 || strncmp(s, "socket:", 7) == 0)
		k = OK_PIPE;
	else if (s[0] != '/' || strncmp(s, "/dev/", 5) == 0 ||
		 strncmp(s, "/proc/", 6) == 0 || strncmp(s, "/sys/", 5) == 0)
		k = OK_IGNORED;
	else
		k = OK_FILE;
	map_put(h, &h->kinds, id, (uint32_t)k);
	return (int)k;
}

/* The content a path names now: renames and links carry it along, and a
 * file created anew is new content.  Until then a path is its own. */
static uint64_t content_of(struct hb *h, uint64_t path)
{
	uint64_t c;

	return map_find(&h->cid, path, &c) ? c : path;
}

static void set_content(struct hb *h, uint64_t path, uint64_t content)
{
	map_put(h, &h->cid, path, content);
}

/* A content key no path id has (as far as 64-bit hashes go). */
static uint64_t fresh(struct hb *h)
{
	return mix(++h->fresh ^ 0x9e3779b97f4a7c15ULL) | 1;
}

/* ---- findings --------------------------------------------------------------- */

static size_t finding(struct hb *h, struct hobj *o, int kind, int conflict,
		      const struct retro_action *first,
		      const struct retro_action *second)
{
	struct retro_finding *f;

	if (grow(h, (void **)&h->f, &h->capf, h->nf + 1, sizeof *h->f) < 0 ||
	    grow(h, (void **)&h->dead, &h->capdead, h->nf + 1, 1) < 0)
		return SIZE_MAX;
	f = &h->f[h->nf];
	f->path = o->path;
	f->kind = kind;
	f->conflict = conflict;
	f->first = *first;
	f->second = *second;
	f->slack = retro_ns_sub(second->start, first->end);
	return h->nf++;
}

/* p observes o at clock c: it sees the version of o's last modification,
 * which orders that modification before it.  And a look that sees a
 * modification cancels the findings of earlier looks against it, when it
 * continues them: a polling loop is synchronized by its last look.  A
 * look continues an earlier one when it is the same process's, or when it
 * is made at the same call site after it (happens-before): a shell that
 * tries again in a new subshell each time. */
static void observe(struct hb *h, struct hobj *o, int32_t p, uint32_t c,
		    const struct retro_action *a)
{
	uint32_t *v = vc_of(h, p);
	uint32_t i;

	if (!o)
		return;
	if (o->mod_p >= 0 && o->mod_p != p)
		join(h, v, o->mod_vc);
	for (i = 0; i < o->ncand;) {
		struct cand *k = &o->cand[i];
		int same = k->p == p ||
			   (a->stack && a->stack == k->stack &&
			    a->call == k->call && v[k->p] >= k->pc);
		if (same && v[k->q] >= k->qc) {
			h->dead[k->fi] = 1;
			*k = o->cand[--o->ncand];
		} else {
			i++;
		}
	}
	for (i = 0; i < o->npend; i++)
		if (o->pend[i].p == p)
			break;
	if (i == o->npend) {
		size_t cap = o->cappend;
		if (grow(h, (void **)&o->pend, &cap, o->npend + 1,
			 sizeof *o->pend) < 0)
			return;
		o->cappend = (uint32_t)cap;
		o->npend++;
	}
	o->pend[i] = (struct pend){ p, c, *a };
}

/* p modifies o at clock c. */
static void modify(struct hb *h, struct hobj *o, int kind, int32_t p,
		   uint32_t c, const struct retro_action *a, int append)
{
	uint32_t *v = vc_of(h, p);

	if (!o)
		return;
	if (o->mod_p >= 0 && o->mod_p != p && v[o->mod_p] < o->mod_c &&
	    ((h->flags & RHB_ALL) || (!append && !o->mod_append)))
		finding(h, o, kind, RF_WRITE_WRITE, &o->mod_a, a);
	for (uint32_t i = 0; i < o->npend; i++) {
		struct pend *e = &o->pend[i];
		size_t fi, cap;
		if (e->p == p || v[e->p] >= e->c)
			continue;
		fi = finding(h, o, kind, RF_READ_WRITE, &e->a, a);
		if (fi == SIZE_MAX)
			return;
		cap = o->capcand;
		if (grow(h, (void **)&o->cand, &cap, o->ncand + 1,
			 sizeof *o->cand) < 0)
			return;
		o->capcand = (uint32_t)cap;
		o->cand[o->ncand++] = (struct cand){ e->p, e->c, e->a.stack,
						     e->a.call, p, c, fi };
	}
	o->npend = 0;
	o->mod_p = p;
	o->mod_c = c;
	o->mod_a = *a;
	o->mod_append = (uint8_t)append;
	o->mod_vc = snapshot(h, o->mod_vc, p);
}

/* Bytes into a stream, and out of it: the read joins the clocks of the
 * writes whose bytes it returned. */
static void stream_write(struct hb *h, struct hobj *o, int32_t p, int64_t n)
{
	struct chunk *k;

	if (!o || n <= 0)
		return;
	if (grow(h, (void **)&o->q, &o->qcap, o->qn + 1, sizeof *o->q) < 0)
		return;
	k = &o->q[o->qn++];
	k->from = o->wofs;
	o->wofs += (uint64_t)n;
	k->to = o->wofs;
	k->vc = snapshot(h, NULL, p);
}

static void stream_read(struct hb *h, struct hobj *o, int32_t p, int64_t n)
{
	if (!o || n <= 0)
		return;
	o->rofs += (uint64_t)n;
	while (o->qh < o->qn && o->q[o->qh].from < o->rofs) {
		struct chunk *k = &o->q[o->qh];
		join(h, vc_of(h, p), k->vc);
		if (k->to > o->rofs)
			break;
		hb_free(h, k->vc, h->n * sizeof *k->vc);
		k->vc = NULL;
		o->qh++;
	}
	if (o->qh == o->qn)
		o->qh = o->qn = 0;
}

/* ---- locks ------------------------------------------------------------------ */

static void lock_release(struct hb *h, struct hobj *l, int32_t p)
{
	if (!l)
		return;
	if (!l->lock_vc)
		l->lock_vc = hb_alloc(h, h->n * sizeof *l->lock_vc);
	if (l->lock_vc)
		join(h, l->lock_vc, vc_of(h, p));
}

static void lock_hold(struct hb *h, int32_t p, struct hobj *l, int hold)
{
	uint32_t idx = (uint32_t)(l - h->o);
	uint32_t i;

	for (i = 0; i < h->nheld[p]; i++)
		if (h->held[p][i] == idx)
			break;
	if (hold && i == h->nheld[p]) {
		size_t cap = h->nheld[p];
		uint32_t *nh = realloc(h->held[p], (cap + 1) * sizeof *nh);
		if (!nh) {
			h->oom = 1;
			return;
		}
		h->held[p] = nh;
		nh[h->nheld[p]++] = idx;
	} else if (!hold && i < h->nheld[p]) {
		h->held[p][i] = h->held[p][--h->nheld[p]];
	}
}

/* ---- actions ---------------------------------------------------------------- */

static int32_t proc_ix(struct hb *h, uint32_t id)
{
	const struct retro_proc *p = retro_proc_find(h->r, id);
	return p ? (int32_t)(p - h->r->procs) : -1;
}

/* The child of process p with the given pid, or -1. */
static int32_t child_of(struct hb *h, int32_t p, int64_t pid)
{
	const struct retro_recording *r = h->r;

	for (size_t i = 0; i < r->nprocs; i++)
		if (r->procs[i].parent == r->procs[p].id &&
		    r->procs[i].pid == pid)
			return (int32_t)i;
	return -1;
}

/* A read of a->obj.  copy_file_range and splice read their first fd,
 * which is their object; the bytes they put into a file are `landed`
 * events of their own. */
static int is_read(int c)
{
	return c == RC_read || c == RC_pread || c == RC_pread64 ||
	       c == RC_readv || c == RC_preadv || c == RC_preadv64 ||
	       c == RC_copy_file_range || c == RC_splice;
}

/* The path id argument of a call that names one path (kind K_PATH*). */
static uint64_t path_arg(const struct retro_action *a, int which)
{
	const struct retro_call_desc *d = &retro_calls[a->call];
	int seen = 0;

	for (int i = 0; i < d->nargs; i++)
		if (d->kind[i] == K_PATH || d->kind[i] == K_PATHAT ||
		    d->kind[i] == K_PATHW || d->kind[i] == K_PATHRM ||
		    d->kind[i] == K_PATHATRM) {
			if (seen++ == which)
				return a->arg[i];
		}
	return 0;
}

/* The fd argument a call writes through, and whether it is one. */
static int writes_fd(const struct retro_action *a, int64_t *fd)
{
	const struct retro_call_desc *d = &retro_calls[a->call];

	if (is_read(a->call))
		return 0; /* its object is what it reads */
	for (int i = 0; i < d->nargs; i++)
		if (d->kind[i] == K_FDW) {
			*fd = (int64_t)a->arg[i];
			return 1;
		}
	return 0;
}

static int succeeded(const struct retro_action *a)
{
	switch (retro_calls[a->call].rkind) {
	case R_ERRNUM:
		return a->ret == 0;
	default:
		return a->err == 0 && a->ret >= 0;
	}
}

static void entry_observe(struct hb *h, uint64_t path, int32_t p, uint32_t c,
			  const struct retro_action *a)
{
	if (path && kind_of(h, path) != OK_IGNORED)
		observe(h, obj(h, KEY_ENTRY, path, path), p, c, a);
}

static void entry_modify(struct hb *h, uint64_t path, int32_t p, uint32_t c,
			 const struct retro_action *a)
{
	if (path && kind_of(h, path) != OK_IGNORED)
		modify(h, obj(h, KEY_ENTRY, path, path), RF_ENTRY, p, c, a, 0);
}

static struct hobj *content(struct hb *h, uint64_t path)
{
	return obj(h, KEY_CONTENT, content_of(h, path), path);
}

/* fork -> the child's first action (or first early effect) */
static void begin(struct hb *h, int32_t p)
{
	int32_t pp;

	if (h->started[p])
		return;
	pp = proc_ix(h, h->r->procs[p].parent);
	h->started[p] = 1;
	if (h->fork_vc[p])
		join(h, vc_of(h, p), h->fork_vc[p]);
	else if (pp >= 0)
		join(h, vc_of(h, p), vc_of(h, pp));
}

static void action(struct hb *h, const struct retro_action *a)
{
	int32_t p = proc_ix(h, a->proc);
	uint32_t *v, c;
	uint64_t p1, p2;
	int64_t fd;

	if (p < 0)
		return;
	v = vc_of(h, p);
	begin(h, p);
	if (h->sig_vc[p] &&
	    (a->start >= h->sig_end[p] ||
	     ((a->flags & RA_SIGNAL) && a->start >= h->sig_start[p]))) {
		/* kill -> the signal's delivery: what the process did
		 * after the kill returned, or in a handler since it began */
		join(h, v, h->sig_vc[p]);
		hb_free(h, h->sig_vc[p], h->n * sizeof *h->sig_vc[p]);
		h->sig_vc[p] = NULL;
	}
	c = ++v[p];

	switch (a->call) {
	case RC_fork:
	case RC_vfork:
	case RC_posix_spawn:
	case RC_posix_spawnp: {
		int64_t pid = a->call == RC_fork || a->call == RC_vfork
				      ? a->ret : (int64_t)(int32_t)a->arg[0];
		int32_t k = pid > 0 ? child_of(h, p, pid) : -1;
		if (k >= 0 && !h->started[k] && !h->fork_vc[k])
			h->fork_vc[k] = snapshot(h, NULL, p);
		return;
	}
	case RC_wait:
	case RC_waitpid:
	case RC_wait3:
	case RC_wait4:
		if (a->ret > 0) { /* the child's end -> the wait */
			int32_t k = child_of(h, p, a->ret);
			if (k >= 0)
				join(h, v, vc_of(h, k));
		}
		return;
	case RC_waitid:
		if (a->ret == 0)
			for (size_t i = 0; i < h->r->nprocs; i++)
				if (h->r->procs[i].parent == h->r->procs[p].id &&
				    (h->r->procs[i].flags & RP_ENDED) &&
				    h->r->procs[i].end <= a->end)
					join(h, v, vc_of(h, (int32_t)i));
		return;
	case RC_end:
		while (h->nheld[p]) {
			struct hobj *l = &h->o[h->held[p][0]];
			lock_release(h, l, p);
			lock_hold(h, p, l, 0);
		}
		return;
	case RC_flock:
	case RC_fcntl:
	case RC_fcntl64: {
		struct hobj *l;
		int cmd = (int)a->arg[1];
		if (!succeeded(a) || !a->obj || kind_of(h, a->obj) != OK_FILE)
			return;
		if (a->call != RC_flock && cmd != F_SETLK && cmd != F_SETLKW &&
		    cmd != F_OFD_SETLK && cmd != F_OFD_SETLKW)
			return;
		l = obj(h, KEY_LOCK, a->obj, a->obj);
		if (!l)
			return;
		if (a->call == RC_flock && ((int)a->arg[1] & LOCK_UN)) {
			lock_hold(h, p, l, 0); /* released at its start */
			return;
		}
		/* an acquisition follows every release that began before
		 * it returned (release_early); fcntl's unlock is not told
		 * apart from its lock, so each of its calls is both */
		join(h, v, l->lock_vc);
		lock_hold(h, p, l, 1);
		return;
	}
	case RC_close:
		if (a->obj && succeeded(a)) {
			int64_t li = map_get(&h->objs, (a->obj & ~(7ULL << 60)) |
							       ((uint64_t)KEY_LOCK << 60));
			if (li >= 0)
				lock_hold(h, p, &h->o[li], 0);
		}
		return;
	case RC_truncate:
	case RC_truncate64:
		p1 = path_arg(a, 0);
		if (succeeded(a) && kind_of(h, p1) == OK_FILE)
			modify(h, content(h, p1), RF_CONTENT, p, c, a, 0);
		return;
	case RC_utimensat: /* a file's times: what an age check sees */
		p1 = a->arg[1];
		if (succeeded(a) && p1 && kind_of(h, p1) == OK_FILE)
			modify(h, content(h, p1), RF_CONTENT, p, c, a, 0);
		return;
	case RC_futimens:
		if (succeeded(a) && a->obj && kind_of(h, a->obj) == OK_FILE)
			modify(h, content(h, a->obj), RF_CONTENT, p, c, a, 0);
		return;
	case RC_landed: /* bytes a copy put into a file */
		p1 = a->arg[1];
		if (kind_of(h, p1) == OK_FILE)
			modify(h, content(h, p1), RF_CONTENT, p, c, a, 0);
		return;
	case RC_unlink:
	case RC_unlinkat:
	case RC_rmdir:
		p1 = path_arg(a, 0);
		if (a->err == ENOENT && !succeeded(a))
			entry_observe(h, p1, p, c, a);
		return; /* a removal was taken at its start (early_entry) */
	case RC_rename:
	case RC_renameat:
	case RC_renameat2:
		p1 = path_arg(a, 0);
		if (!succeeded(a) && a->err == ENOENT)
			entry_observe(h, p1, p, c, a);
		return; /* a rename was taken at its start (early_entry) */
	case RC_link:
	case RC_linkat:
		p1 = path_arg(a, 0);
		p2 = path_arg(a, 1);
		if (succeeded(a)) {
			entry_modify(h, p2, p, c, a);
			set_content(h, p2, content_of(h, p1));
		} else if (a->err == EEXIST) {
			entry_observe(h, p2, p, c, a);
		}
		return;
	case RC_mkdir:
	case RC_mkdirat:
	case RC_symlink:
	case RC_symlinkat:
	case RC_mkfifo:
	case RC_mkfifoat:
		p1 = path_arg(a, 0); /* the new name: a symlink's target is a
				      * string, not a path */
		if (succeeded(a))
			entry_modify(h, p1, p, c, a);
		else if (a->err == EEXIST)
			entry_observe(h, p1, p, c, a);
		return;
	default:
		break;
	}

	if (retro_is_open(a->call)) {
		int fl = retro_open_flags(a);
		p1 = retro_open_path(a);
		if (!p1 || kind_of(h, p1) == OK_IGNORED)
			return;
		if (a->ret >= 0)
			map_put(h, &h->opened, p1 ^ mix(a->proc), 1);
		if (a->ret < 0) {
			if (a->err == ENOENT || a->err == EEXIST)
				entry_observe(h, p1, p, c, a);
			return;
		}
		if (a->flags & RA_CREATED) {
			if (fl & O_EXCL) /* it saw the name free */
				entry_observe(h, p1, p, c, a);
			entry_modify(h, p1, p, c, a);
			if (kind_of(h, p1) == OK_FILE) {
				set_content(h, p1, fresh(h));
				modify(h, content(h, p1), RF_CONTENT, p, c, a, 0);
			}
			return;
		}
		entry_observe(h, p1, p, c, a);
		if ((fl & O_TRUNC) && (fl & O_ACCMODE) != O_RDONLY &&
		    kind_of(h, p1) == OK_FILE)
			modify(h, content(h, p1), RF_CONTENT, p, c, a, 0);
		return;
	}
	if (retro_looks_up(a->call)) {
		int at = a->call == RC_fstatat || a->call == RC_fstatat64 ||
			 a->call == RC_statx || a->call == RC_faccessat;
		if (a->ret == 0 || a->err == ENOENT)
			entry_observe(h, a->arg[at], p, c, a);
		/* a stat sees the file's size and times: its age */
		if (a->ret == 0 && a->call != RC_access &&
		    a->call != RC_faccessat && kind_of(h, a->arg[at]) == OK_FILE)
			observe(h, content(h, a->arg[at]), p, c, a);
		return;
	}
	if (is_read(a->call)) {
		if (a->obj && a->err == EAGAIN &&
		    kind_of(h, a->obj) != OK_FILE &&
		    kind_of(h, a->obj) != OK_IGNORED) {
			/* a non-blocking look that found nothing yet */
			observe(h, obj(h, KEY_STREAM, a->obj, a->obj), p, c, a);
			return;
		}
		if (a->ret < 0 || !a->obj)
			return;
		switch (kind_of(h, a->obj)) {
		case OK_STREAM:
		case OK_PIPE:
			stream_read(h, obj(h, KEY_STREAM, a->obj, a->obj), p,
				    a->ret);
			break;
		case OK_FILE:
			observe(h, content(h, a->obj), p, c, a);
			break;
		}
		return;
	}
	if (writes_fd(a, &fd)) {
		uint64_t o = a->obj;
		int append;
		if (!succeeded(a) || !o)
			return;
		/* standard output and error that the process did not open
		 * itself: shared with its parent and siblings */
		append = map_get(&h->append, o) >= 0 ||
			 ((fd == 1 || fd == 2) &&
			  map_get(&h->opened, o ^ mix(a->proc)) < 0);
		switch (kind_of(h, o)) {
		case OK_STREAM:
		case OK_PIPE: {
			/* two writers: whose bytes come first is timing; an
			 * anonymous pipe several processes write (a shell's
			 * pipeline, make's jobserver) is shared output */
			struct hobj *so = obj(h, KEY_STREAM, o, o);
			/* its bytes went in at its start (early()) */
			modify(h, so, RF_STREAM, p, c, a,
			       append || kind_of(h, o) == OK_PIPE);
			break;
		}
		case OK_FILE:
			modify(h, content(h, o), RF_CONTENT, p, c, a, append);
			break;
		}
	}
}

/* ---- the pass ----------------------------------------------------------------- */

/* Before the pass: which paths are FIFOs or written as streams (a write
 * that landed at no offset), and which were opened O_APPEND.  Any order
 * of the actions gives the same maps. */
static void prescan_one(struct hb *h, const struct retro_action *a)
{
	int64_t fd;

	if ((a->call == RC_mkfifo || a->call == RC_mkfifoat) && succeeded(a))
		map_put(h, &h->kinds, path_arg(a, 0), OK_STREAM);
	else if (retro_is_open(a->call) && a->ret >= 0 &&
		 (retro_open_flags(a) & O_APPEND))
		map_put(h, &h->append, retro_open_path(a), 1);
	else if (writes_fd(a, &fd) && a->obj && a->ret > 0 &&
		 (a->call == RC_write || a->call == RC_writev) &&
		 !(a->flags & RA_OFFSET) && kind_of(h, a->obj) == OK_FILE)
		map_put(h, &h->kinds, a->obj, OK_STREAM);
}

/* A lock's release: an unlock, a close, or, since fcntl's unlock is not
 * told apart from its lock, any fcntl lock call.  It takes effect
 * somewhere between its start and its end, and a waiting acquisition can
 * return, and be recorded as ended, before the releasing call records its
 * own end (the releaser preempted between the two): so a release counts
 * from its start.  The process's clock then holds every action of it
 * that ended before. */
static int releases(const struct retro_action *a)
{
	int cmd = (int)a->arg[1];

	if (!succeeded(a) || !a->obj)
		return 0;
	switch (a->call) {
	case RC_flock:
		return (cmd & LOCK_UN) != 0;
	case RC_fcntl:
	case RC_fcntl64:
		return cmd == F_SETLK || cmd == F_SETLKW || cmd == F_OFD_SETLK ||
		       cmd == F_OFD_SETLKW;
	case RC_close:
		return 1;
	}
	return 0;
}

static void release_early(struct hb *h, const struct retro_action *a)
{
	int32_t p = proc_ix(h, a->proc);
	int64_t li;

	if (p < 0)
		return;
	if (a->call == RC_close) {
		li = map_get(&h->objs, (a->obj & ~(7ULL << 60)) |
					       ((uint64_t)KEY_LOCK << 60));
		if (li >= 0)
			lock_release(h, &h->o[li], p);
	} else if (kind_of(h, a->obj) == OK_FILE) {
		lock_release(h, obj(h, KEY_LOCK, a->obj, a->obj), p);
	}
}

/* The process a kill signalled: the one with that pid that had begun by
 * the kill's end (the last such), else the first to begin after it (a
 * child forked and signalled before its first record); -1 when none. */
static int32_t kill_target(struct hb *h, const struct retro_action *a)
{
	int32_t pid = (int32_t)a->arg[0], before = -1, after = -1;

	for (size_t i = 0; i < h->r->nprocs; i++) {
		const struct retro_proc *q = &h->r->procs[i];
		if (q->pid != pid ||
		    ((q->flags & RP_ENDED) && q->end < a->start))
			continue;
		if (q->start <= a->end)
			before = (int32_t)i;
		else if (after < 0)
			after = (int32_t)i;
	}
	return before >= 0 ? before : after;
}

/* A name removed or renamed: taken at the call's start, as a release is.
 * The remove of a lock file is its release, and a rename publishes: when
 * one and the call that sees its result (the O_EXCL create that takes
 * the lock next, the open of the new name) overlap in time (the first
 * process held up between its system call and its return, under load),
 * the second still saw the change, and check reported a conflict of the
 * two. */
static int early_entry(const struct retro_action *a)
{
	return (a->call == RC_unlink || a->call == RC_unlinkat ||
		a->call == RC_rmdir || a->call == RC_rename ||
		a->call == RC_renameat || a->call == RC_renameat2) &&
	       succeeded(a);
}

/* A rename's changes: both entries, and the content goes with the name.
 * Taken at its start (early_entry): publishing by rename is a release
 * too. */
static void rename_effect(struct hb *h, const struct retro_action *a,
			  int32_t p, uint32_t c)
{
	uint64_t p1 = path_arg(a, 0), p2 = path_arg(a, 1);

	entry_modify(h, p1, p, c, a);
	entry_modify(h, p2, p, c, a);
	set_content(h, p2, content_of(h, p1));
	set_content(h, p1, fresh(h));
}

/* What takes effect at an action's start, not at its end: a lock's
 * release (releases()); a name removed or renamed (early_entry()); bytes
 * into a pipe, FIFO or socket, which a reader can return before the write
 * records its end; and a kill, whose handler can run before the kill
 * returns. */
static int early(struct hb *h, const struct retro_action *a)
{
	int64_t fd;
	int k;

	if (releases(a) || early_entry(a))
		return 1;
	if (a->call == RC_kill)
		return succeeded(a) && (int)a->arg[1] != 0 &&
		       (int32_t)a->arg[0] > 0;
	if (!writes_fd(a, &fd) || !a->obj || a->ret <= 0 || !succeeded(a))
		return 0;
	k = kind_of(h, a->obj);
	return k == OK_STREAM || k == OK_PIPE;
}

static void early_action(struct hb *h, const struct retro_action *a)
{
	int32_t p = proc_ix(h, a->proc), k;

	if (p < 0)
		return;
	begin(h, p);
	if (early_entry(a)) {
		uint32_t c = ++vc_of(h, p)[p];
		if (a->call == RC_rename || a->call == RC_renameat ||
		    a->call == RC_renameat2)
			rename_effect(h, a, p, c);
		else
			entry_modify(h, path_arg(a, 0), p, c, a);
	} else if (releases(a)) {
		release_early(h, a);
	} else if (a->call == RC_kill) {
		/* kill -> the signal's delivery (taken in action()) */
		k = kill_target(h, a);
		if (k < 0 || k == p)
			return;
		if (h->sig_vc[k]) {
			join(h, h->sig_vc[k], vc_of(h, p));
		} else {
			h->sig_vc[k] = snapshot(h, NULL, p);
			h->sig_start[k] = a->start;
		}
		h->sig_end[k] = a->end;
	} else {
		stream_write(h, obj(h, KEY_STREAM, a->obj, a->obj), p, a->ret);
	}
}

/* The order of the pass: every action at its end, and what takes effect
 * early (early()) once more at its start; ties by start, then by the
 * order the actions came in (by start).  The actions come in by start, so
 * an event can be taken once its key is no later than the next action's
 * start: nothing still to come sorts before it.  Only the actions under
 * way at that moment are held, not the recording. */
struct held {      /* an action, and how many of its events wait */
	struct retro_action a;
	int refs;
};

struct event {
	int64_t key, start;
	uint64_t seq;      /* arrival, times two, plus one for a release */
	struct held *h;
};

struct events {
	struct event *e;
	size_t n, cap;
};

static int ev_less(const struct event *x, const struct event *y)
{
	if (x->key != y->key)
		return x->key < y->key;
	if (x->start != y->start)
		return x->start < y->start;
	return x->seq < y->seq;
}

static int ev_push(struct hb *h, struct events *q, struct event ev)
{
	size_t i;

	if (grow(h, (void **)&q->e, &q->cap, q->n + 1, sizeof *q->e) < 0)
		return -1;
	for (i = q->n++; i && ev_less(&ev, &q->e[(i - 1) / 2]); i = (i - 1) / 2)
		q->e[i] = q->e[(i - 1) / 2];
	q->e[i] = ev;
	return 0;
}

static struct event ev_pop(struct events *q)
{
	struct event top = q->e[0], last = q->e[--q->n];
	size_t i = 0;

	for (;;) {
		size_t l = 2 * i + 1, m;
		if (l >= q->n)
			break;
		m = l + 1 < q->n && ev_less(&q->e[l + 1], &q->e[l]) ? l + 1 : l;
		if (!ev_less(&q->e[m], &last))
			break;
		q->e[i] = q->e[m];
		i = m;
	}
	if (q->n)
		q->e[i] = last;
	return top;
}

/* Where the actions come from: a loaded recording's array, or a scan. */
struct source {
	const struct retro_recording *r;
	size_t i;
	struct retro_scan *scan;
};

static int source_next(struct source *src, struct retro_action *a)
{
	if (src->scan)
		return retro_scan_next(src->scan, a);
	if (src->i >= src->r->nacts)
		return 0;
	*a = src->r->acts[src->i++];
	return 1;
}

/* The pass.  Returns 0 or an error code; *events counts what was taken. */
static int pass(struct hb *h, struct source *src, uint64_t *events)
{
	struct events q = { 0 };
	struct retro_action next;
	uint64_t seq = 0;
	int have = source_next(src, &next), rc = 0;

	*events = 0;
	while (!h->oom && (have == 1 || q.n)) {
		struct event ev;
		if (have == 1 && (!q.n || q.e[0].key > next.start)) {
			int rel = early(h, &next);
			struct held *k;
			if (next.state == 2 || next.call == RC_end) {
				k = hb_alloc(h, sizeof *k);
				if (!k)
					break;
				k->a = next;
				k->refs = 1 + rel;
				if (ev_push(h, &q, (struct event){ next.end, next.start,
								   seq << 1, k }) ||
				    (rel && ev_push(h, &q,
						    (struct event){ next.start,
								    next.start,
								    seq << 1 | 1,
								    k })))
					break;
			}
			seq++;
			have = source_next(src, &next);
			continue;
		}
		ev = ev_pop(&q);
		(*events)++;
		if (ev.seq & 1)
			early_action(h, &ev.h->a);
		else
			action(h, &ev.h->a);
		if (--ev.h->refs == 0)
			hb_free(h, ev.h, sizeof *ev.h);
	}
	if (have < 0)
		rc = -have;
	else if (h->oom)
		rc = ENOMEM;
	while (q.n) {
		struct event ev = ev_pop(&q);
		if (--ev.h->refs == 0)
			hb_free(h, ev.h, sizeof *ev.h);
	}
	free(q.e);
	return rc;
}

static int by_slack(const void *x, const void *y)
{
	const struct retro_finding *a = x, *b = y;

	if (a->slack != b->slack)
		return a->slack < b->slack ? -1 : 1;
	return a->second.start < b->second.start ? -1
	       : a->second.start > b->second.start;
}

/* The analysis, the state it starts from, and what it leaves. */
static int hb_begin(struct hb *h)
{
	if (h->n && h->n > ((size_t)1 << 32) / sizeof(uint32_t) / h->n)
		return EFBIG; /* 4 GiB of clocks */
	h->vc = hb_alloc(h, (h->n ? h->n * h->n : 1) * sizeof *h->vc);
	h->fork_vc = hb_alloc(h, (h->n + 1) * sizeof *h->fork_vc);
	h->started = hb_alloc(h, h->n + 1);
	h->held = hb_alloc(h, (h->n + 1) * sizeof *h->held);
	h->sig_vc = hb_alloc(h, (h->n + 1) * sizeof *h->sig_vc);
	h->sig_start = hb_alloc(h, (h->n + 1) * sizeof *h->sig_start);
	h->sig_end = hb_alloc(h, (h->n + 1) * sizeof *h->sig_end);
	h->nheld = hb_alloc(h, (h->n + 1) * sizeof *h->nheld);
	return h->oom ? ENOMEM : 0;
}

static int hb_maps(struct hb *h)
{
	if (map_init(h, &h->objs) || map_init(h, &h->kinds) ||
	    map_init(h, &h->append) || map_init(h, &h->cid) ||
	    map_init(h, &h->opened))
		return ENOMEM;
	return 0;
}

static void hb_end(struct hb *h)
{
	for (size_t i = 0; i < h->no; i++) {
		struct hobj *o = &h->o[i];
		free(o->mod_vc);
		free(o->pend);
		free(o->cand);
		for (size_t k = o->qh; k < o->qn; k++)
			free(o->q[k].vc);
		free(o->q);
		free(o->lock_vc);
	}
	for (size_t i = 0; h->fork_vc && i < h->n; i++)
		free(h->fork_vc[i]);
	for (size_t i = 0; h->held && i < h->n; i++)
		free(h->held[i]);
	for (size_t i = 0; h->sig_vc && i < h->n; i++)
		free(h->sig_vc[i]);
	free(h->sig_vc);
	free(h->sig_start);
	free(h->sig_end);
	free(h->o);
	free(h->f);
	free(h->dead);
	free(h->vc);
	free(h->fork_vc);
	free(h->started);
	free(h->held);
	free(h->nheld);
	map_free(h, &h->objs);
	map_free(h, &h->kinds);
	map_free(h, &h->append);
	map_free(h, &h->cid);
	map_free(h, &h->opened);
}

/* The findings that stand, sorted, into *out. */
static void hb_findings(struct hb *h, struct retro_finding **out, size_t *nout)
{
	size_t k = 0;

	for (size_t i = 0; i < h->nf; i++)
		if (!h->dead[i])
			h->f[k++] = h->f[i];
	h->nf = k;
	if (h->nf) /* h->f is NULL when nothing was found */
		qsort(h->f, h->nf, sizeof *h->f, by_slack);
	*out = h->f;
	*nout = h->nf;
	h->f = NULL;
}

static int hb_run(struct hb *h, struct source *src, struct retro_finding **out,
		  size_t *nout, struct retro_hb_stats *stats)
{
	uint64_t events = 0;
	int rc = hb_begin(h);

	if (!rc)
		rc = pass(h, src, &events);
	if (!rc) {
		hb_findings(h, out, nout);
		if (stats) {
			stats->actions = events;
			stats->objects = h->no;
			stats->peak_bytes = h->peak;
		}
	}
	hb_end(h);
	return rc;
}

int retro_hb_check(struct retro_store *st, const struct retro_recording *r,
		   int flags, struct retro_finding **out, size_t *nout,
		   struct retro_hb_stats *stats)
{
	struct hb h = { .r = r, .st = st, .flags = flags, .n = r->nprocs };
	struct source src = { .r = r };

	*out = NULL;
	*nout = 0;
	if (hb_maps(&h)) {
		hb_end(&h);
		return ENOMEM;
	}
	for (size_t i = 0; i < r->nacts; i++)
		prescan_one(&h, &r->acts[i]);
	return hb_run(&h, &src, out, nout, stats);
}

/* retro_scan_open's first pass: the prescan, and the caller's visit. */
static void prescan_visit(void *arg, const struct retro_action *a)
{
	struct hb *h = arg;

	if (!h->oom)
		prescan_one(h, a);
	if (h->visit)
		h->visit(h->visit_arg, a);
}

int retro_hb_check_store(struct retro_store *st, struct retro_recording *r,
			 int flags, struct retro_finding **out, size_t *nout,
			 struct retro_hb_stats *stats,
			 void (*visit)(void *arg, const struct retro_action *a),
			 void *arg, char *why, size_t whylen)
{
	struct hb h = { .r = r, .st = st, .flags = flags, .visit = visit,
			.visit_arg = arg };
	struct source src = { .r = r };
	int rc;

	*out = NULL;
	*nout = 0;
	if (hb_maps(&h)) {
		hb_end(&h);
		return ENOMEM;
	}
	rc = retro_scan_open(st, r, &src.scan, prescan_visit, &h, why, whylen);
	if (rc) {
		hb_end(&h);
		return rc;
	}
	h.n = r->nprocs;
	if (h.oom) {
		rc = ENOMEM;
		hb_end(&h);
	} else {
		rc = hb_run(&h, &src, out, nout, stats);
	}
	retro_scan_close(src.scan);
	return rc;
}
