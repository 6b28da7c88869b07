#include "config.h"
#include "model.h"
#include "hash.h"
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct obj {
	uint8_t state;
	unsigned char *data;
	size_t len, cap;
};

struct pathent {
	char *path;
	int obj; /* -1: absent */
	int file; /* index into the files list */
};

struct fdent {
	uint64_t key; /* proc << 32 | fd, +1 */
	int obj;
};

struct sim {
	struct retro_store *st;
	const struct retro_recording *r;
	struct obj *objs;
	size_t nobjs, capobjs;
	struct pathent *paths;
	size_t npaths, cappaths;
	struct fdent *fds;
	size_t capfds, nfds;
	struct retro_file *files;
	size_t nfiles, capfiles;
	int track;     /* record versions */
	int err;
	char *why;
	size_t whylen;
};

const char *retro_obj_state_name(int s)
{
	static const char *names[] = { "unknown", "absent", "file", "partial",
				       "directory", "symlink", "other" };
	return s >= 0 && s <= RO_OTHER ? names[s] : "?";
}

static int new_obj(struct sim *s, uint8_t state)
{
	if (s->nobjs == s->capobjs) {
		size_t c = s->capobjs ? s->capobjs * 2 : 64;
		struct obj *q = realloc(s->objs, c * sizeof *q);
		if (!q) {
			s->err = ENOMEM;
			return -1;
		}
		s->objs = q;
		s->capobjs = c;
	}
	memset(&s->objs[s->nobjs], 0, sizeof *s->objs);
	s->objs[s->nobjs].state = state;
	return (int)s->nobjs++;
}

static uint64_t strhash(const char *p)
{
	return retro_hash64(p, strlen(p));
}

/* Finds or adds the path entry; new entries start with obj = -2 (never
 * seen: its initial state is decided by the pre-pass). */
static struct pathent *path_get(struct sim *s, const char *p)
{
	size_t j;

	if (!p)
		return NULL;
	if ((s->npaths + 1) * 2 > s->cappaths) {
		size_t c = s->cappaths ? s->cappaths * 2 : 256;
		struct pathent *q = calloc(c, sizeof *q);
		if (!q) {
			s->err = ENOMEM;
			return NULL;
		}
		for (size_t i = 0; i < s->cappaths; i++) {
			if (!s->paths[i].path)
				continue;
			j = strhash(s->paths[i].path) % c;
			while (q[j].path)
				j = (j + 1) % c;
			q[j] = s->paths[i];
		}
		free(s->paths);
		s->paths = q;
		s->cappaths = c;
	}
	for (j = strhash(p) % s->cappaths; s->paths[j].path;
	     j = (j + 1) % s->cappaths)
		if (strcmp(s->paths[j].path, p) == 0)
			return &s->paths[j];
	s->paths[j].path = strdup(p);
	if (!s->paths[j].path) {
		s->err = ENOMEM;
		return NULL;
	}
	s->paths[j].obj = -2;
	s->paths[j].file = -1;
	s->npaths++;
	return &s->paths[j];
}

static struct fdent *fd_slot(struct sim *s, uint32_t proc, int64_t fd,
			     int add)
{
	uint64_t key = ((uint64_t)proc << 32 | (uint32_t)fd) + 1;
	size_t j;

	if ((s->nfds + 1) * 2 > s->capfds) {
		size_t c = s->capfds ? s->capfds * 2 : 256;
		struct fdent *q = calloc(c, sizeof *q);
		if (!q) {
			s->err = ENOMEM;
			return NULL;
		}
		for (size_t i = 0; i < s->capfds; i++) {
			if (!s->fds[i].key)
				continue;
			j = s->fds[i].key % c;
			while (q[j].key)
				j = (j + 1) % c;
			q[j] = s->fds[i];
		}
		free(s->fds);
		s->fds = q;
		s->capfds = c;
	}
	for (j = key % s->capfds; s->fds[j].key; j = (j + 1) % s->capfds)
		if (s->fds[j].key == key)
			return &s->fds[j];
	if (!add)
		return NULL;
	s->fds[j].key = key;
	s->fds[j].obj = -1;
	s->nfds++;
	return &s->fds[j];
}

static const char *P(struct sim *s, uint64_t id)
{
	return retro_path(s->st, id);
}

/* The object at path, creating an "unknown" one for a path that existed
 * before the recording and was never captured. */
static int obj_at(struct sim *s, struct pathent *pe)
{
	if (!pe)
		return -1;
	if (pe->obj == -2)
		pe->obj = new_obj(s, RO_UNKNOWN);
	return pe->obj;
}

static void version(struct sim *s, struct pathent *pe, const struct retro_action *a)
{
	struct retro_file *f;
	struct retro_version *v;
	struct obj *o;

	if (!s->track || !pe)
		return;
	/* Streams and devices (pipe:[...], /dev/tty) have no versions. */
	if (pe->path[0] != '/' || !strncmp(pe->path, "/dev/", 5) ||
	    !strncmp(pe->path, "/proc/", 6))
		return;
	if (pe->file < 0) {
		if (s->nfiles == s->capfiles) {
			size_t c = s->capfiles ? s->capfiles * 2 : 64;
			struct retro_file *q = realloc(s->files, c * sizeof *q);
			if (!q) {
				s->err = ENOMEM;
				return;
			}
			s->files = q;
			s->capfiles = c;
		}
		f = &s->files[s->nfiles];
		memset(f, 0, sizeof *f);
		f->path = strdup(pe->path);
		f->initial = RO_UNKNOWN;
		pe->file = (int)s->nfiles++;
	}
	f = &s->files[pe->file];
	v = realloc(f->v, (f->nv + 1) * sizeof *v);
	if (!v) {
		s->err = ENOMEM;
		return;
	}
	f->v = v;
	v = &f->v[f->nv++];
	memset(v, 0, sizeof *v);
	v->t = retro_ns_sub(a->start, s->r->t0);
	v->proc = a->proc;
	v->call = a->call;
	if (pe->obj < 0) {
		v->state = RO_ABSENT;
		return;
	}
	o = &s->objs[pe->obj];
	v->state = o->state;
	v->size = o->len;
	if (o->state == RO_FILE || o->state == RO_SYMLINK)
		retro_hash128(o->data, o->len, v->hash);
}

size_t retro_model_max = (size_t)1 << 32;

/* Returns 0, ENOMEM (s->err set), or EFBIG: past retro_model_max, which
 * the callers show as content not rebuilt. */
static int obj_reserve(struct sim *s, struct obj *o, size_t len)
{
	/* an empty file gets a buffer too: its bytes are copied with
	 * memcpy(o->data, ...), which NULL may not be even for 0 bytes */
	if (len <= o->cap && o->data)
		return 0;
	if (len > retro_model_max)
		return EFBIG;
	size_t c = o->cap ? o->cap : 256;
	while (c < len)
		c *= 2;
	if (c > retro_model_max)
		c = len;
	unsigned char *q = realloc(o->data, c);
	if (!q) {
		s->err = ENOMEM;
		return ENOMEM;
	}
	memset(q + o->cap, 0, c - o->cap);
	o->data = q;
	o->cap = c;
	return 0;
}

static void obj_truncate(struct sim *s, int oi, uint64_t len)
{
	struct obj *o;

	if (oi < 0)
		return;
	o = &s->objs[oi];
	if (o->state != RO_FILE && o->state != RO_PARTIAL &&
	    o->state != RO_UNKNOWN)
		return;
	if (obj_reserve(s, o, len) == EFBIG)
		o->state = RO_PARTIAL;
	if (len > o->cap)
		return;
	if (len > o->len)
		memset(o->data + o->len, 0, len - o->len);
	o->len = len;
	if (len == 0)
		o->state = RO_FILE;
}

static void obj_write(struct sim *s, int oi, const struct retro_action *a,
		      int64_t off)
{
	struct obj *o;
	void *data;
	size_t len;
	int rc;

	if (oi < 0)
		return;
	o = &s->objs[oi];
	if (o->state != RO_FILE && o->state != RO_PARTIAL &&
	    o->state != RO_UNKNOWN)
		return;
	if (!(a->flags & RA_DATA) || (a->flags & RA_DATA_LOST) || off < 0) {
		o->state = RO_PARTIAL;
		return;
	}
	rc = retro_blob_get(s->st, a->hash, &data, &len);
	if (rc) {
		if (rc == RETRO_ECORRUPT) {
			s->err = rc;
			if (s->why)
				snprintf(s->why, s->whylen,
					 "blob of %s by process %u fails its hash",
					 retro_calls[a->call].name, a->proc);
		}
		o->state = RO_PARTIAL;
		return;
	}
	rc = obj_reserve(s, o, (size_t)off + len);
	if (rc == EFBIG)
		o->state = RO_PARTIAL;
	if (rc == 0) {
		if ((size_t)off > o->len)
			memset(o->data + o->len, 0, (size_t)off - o->len);
		memcpy(o->data + off, data, len);
		if ((size_t)off + len > o->len)
			o->len = (size_t)off + len;
		/* Bytes written over unknown content: still unknown around. */
		if (o->state == RO_UNKNOWN)
			o->state = RO_PARTIAL;
	}
	free(data);
}

static int fd_obj(struct sim *s, const struct retro_action *a, int64_t fd)
{
	struct fdent *e = fd_slot(s, a->proc, fd, 0);

	if (e && e->obj >= 0)
		return e->obj;
	/* Not seen opened: fall back to the object at its path. */
	return a->obj ? obj_at(s, path_get(s, P(s, a->obj))) : -1;
}

static struct pathent *fd_path(struct sim *s, const struct retro_action *a)
{
	return a->obj ? path_get(s, P(s, a->obj)) : NULL;
}

static void bind_fd(struct sim *s, uint32_t proc, int64_t fd, int obj)
{
	struct fdent *e = fd_slot(s, proc, fd, 1);

	if (e)
		e->obj = obj;
}

int retro_is_open(int c)
{
	return c == RC_open || c == RC_open64 || c == RC_openat ||
	       c == RC_openat64 || c == RC_creat || c == RC_creat64;
}

int retro_open_flags(const struct retro_action *a)
{
	switch (a->call) {
	case RC_open:
	case RC_open64:
		return (int)a->arg[1];
	case RC_openat:
	case RC_openat64:
		return (int)a->arg[2];
	default:
		return O_CREAT | O_WRONLY | O_TRUNC;
	}
}

uint64_t retro_open_path(const struct retro_action *a)
{
	/* O_TMPFILE names a directory; the file it makes, unnamed, is the
	 * descriptor's object ("DIR/#INODE (deleted)") */
	if (retro_is_open(a->call) && a->ret >= 0 && a->obj &&
	    (retro_open_flags(a) & O_TMPFILE) == O_TMPFILE)
		return a->obj;
	return a->call == RC_openat || a->call == RC_openat64 ? a->arg[1]
							      : a->arg[0];
}

int retro_looks_up(int c)
{
	return c == RC_stat || c == RC_stat64 || c == RC_lstat ||
	       c == RC_lstat64 || c == RC_fstatat || c == RC_fstatat64 ||
	       c == RC_statx || c == RC_access || c == RC_faccessat;
}

/* Every path an action names is part of the model from the start. */
static void register_paths(struct sim *s, const struct retro_action *a)
{
	const struct retro_call_desc *d = &retro_calls[a->call];

	if (d->flags & F_PSEUDO)
		return;
	for (int i = 0; i < d->nargs; i++) {
		int k = d->kind[i];
		if (k == K_PATH || k == K_PATHW || k == K_PATHRM ||
		    k == K_PATHAT || k == K_PATHATRM)
			path_get(s, P(s, a->arg[i]));
	}
}

/* The initial state of a path: absent if its first event creates it, the
 * pre-image if its first event is one, unknown otherwise. */
static void prepass(struct sim *s)
{
	for (size_t i = 0; i < s->r->nacts && !s->err; i++) {
		const struct retro_action *a = &s->r->acts[i];
		struct pathent *pe = NULL;
		uint8_t init = RO_UNKNOWN;
		int decided = 0;

		if (a->state != 2)
			continue;
		register_paths(s, a);
		if (a->call == RC_preimage) {
			pe = path_get(s, P(s, a->arg[0]));
			decided = 1;
			init = S_ISREG(a->arg[1]) ? RO_FILE
			       : S_ISDIR(a->arg[1]) ? RO_DIR
			       : S_ISLNK(a->arg[1]) ? RO_SYMLINK
						    : RO_OTHER;
			if (init == RO_FILE &&
			    (!(a->flags & RA_DATA) || (a->flags & RA_DATA_LOST)))
				init = RO_UNKNOWN;
		} else if ((retro_is_open(a->call) && a->ret >= 0 &&
			    (a->flags & RA_CREATED)) ||
			   ((a->call == RC_mkdir || a->call == RC_mkfifo ||
			     a->call == RC_symlink) &&
			    a->ret == 0)) {
			uint64_t id = retro_is_open(a->call) ? retro_open_path(a)
				      : a->call == RC_symlink ? a->arg[1]
							      : a->arg[0];
			pe = path_get(s, P(s, id));
			decided = 1;
			init = RO_ABSENT;
		} else if ((a->call == RC_mkdirat || a->call == RC_mkfifoat) &&
			   a->ret == 0) {
			pe = path_get(s, P(s, a->arg[1]));
			decided = 1;
			init = RO_ABSENT;
		} else if (retro_is_open(a->call) && a->ret < 0 && a->err == ENOENT) {
			pe = path_get(s, P(s, retro_open_path(a)));
			decided = 1;
			init = RO_ABSENT;
		} else if (a->ret < 0 && a->err == ENOENT && retro_looks_up(a->call)) {
			/* stat or access saw that the path did not exist */
			uint64_t id = a->call == RC_fstatat ||
					      a->call == RC_fstatat64 ||
					      a->call == RC_statx ||
					      a->call == RC_faccessat
					      ? a->arg[1]
					      : a->arg[0];
			pe = path_get(s, P(s, id));
			decided = 1;
			init = RO_ABSENT;
		}
		if (!decided || !pe || pe->obj != -2)
			continue;
		if (init == RO_ABSENT) {
			pe->obj = -1;
		} else {
			int oi = new_obj(s, init);
			if (oi < 0)
				return;
			pe->obj = oi;
			if ((init == RO_FILE || init == RO_SYMLINK) &&
			    (a->flags & RA_DATA)) {
				void *data;
				size_t len;
				int rc = retro_blob_get(s->st, a->hash, &data, &len);
				if (rc == 0) {
					struct obj *o = &s->objs[oi];
					if (obj_reserve(s, o, len) == 0) {
						memcpy(o->data, data, len);
						o->len = len;
					}
					free(data);
				} else {
					s->objs[oi].state = RO_UNKNOWN;
				}
			}
		}
		if (s->track) {
			version(s, pe, a);
			/* That was the initial state, not a version. */
			if (pe->file >= 0) {
				struct retro_file *f = &s->files[pe->file];
				f->initial = f->v[f->nv - 1].state;
				f->nv--;
			}
		}
	}
}

static void apply(struct sim *s, const struct retro_action *a)
{
	struct pathent *pe = NULL, *pe2;
	int oi;

	if (a->state != 2)
		return;
	switch (a->call) {
	case RC_open:
	case RC_open64:
	case RC_openat:
	case RC_openat64:
	case RC_creat:
	case RC_creat64: {
		int fl = retro_open_flags(a);
		if (a->ret < 0)
			return;
		pe = path_get(s, P(s, retro_open_path(a)));
		if (!pe)
			return;
		if ((fl & O_CREAT || (fl & O_TMPFILE) == O_TMPFILE) &&
		    (pe->obj == -1 || (a->flags & RA_CREATED))) {
			pe->obj = new_obj(s, RO_FILE);
			bind_fd(s, a->proc, a->ret, pe->obj);
			version(s, pe, a);
			return;
		}
		oi = obj_at(s, pe);
		bind_fd(s, a->proc, a->ret, oi);
		if ((fl & O_TRUNC) && (fl & O_ACCMODE) != O_RDONLY && oi >= 0 &&
		    (s->objs[oi].state != RO_FILE || s->objs[oi].len)) {
			obj_truncate(s, oi, 0);
			version(s, pe, a);
		}
		return;
	}
	case RC_fdinfo:
		pe = path_get(s, P(s, a->arg[1]));
		bind_fd(s, a->proc, (int64_t)a->arg[0], obj_at(s, pe));
		return;
	case RC_close:
		if (a->ret == 0) {
			struct fdent *e = fd_slot(s, a->proc, (int64_t)a->arg[0], 0);
			if (e)
				e->obj = -1;
		}
		return;
	case RC_dup:
	case RC_dup2:
	case RC_dup3:
		if (a->ret >= 0)
			bind_fd(s, a->proc, a->ret,
				fd_obj(s, a, (int64_t)a->arg[0]));
		return;
	case RC_fcntl:
	case RC_fcntl64:
		if (a->ret >= 0 && (a->arg[1] == F_DUPFD ||
				    a->arg[1] == F_DUPFD_CLOEXEC))
			bind_fd(s, a->proc, a->ret,
				fd_obj(s, a, (int64_t)a->arg[0]));
		return;
	case RC_write:
	case RC_writev:
		if (a->ret <= 0)
			return;
		oi = fd_obj(s, a, (int64_t)a->arg[0]);
		obj_write(s, oi, a, (a->flags & RA_OFFSET) ? a->off : -1);
		version(s, fd_path(s, a), a);
		return;
	case RC_pwrite:
	case RC_pwrite64:
	case RC_pwritev:
	case RC_pwritev64:
		if (a->ret <= 0)
			return;
		oi = fd_obj(s, a, (int64_t)a->arg[0]);
		obj_write(s, oi, a, (int64_t)a->arg[3]);
		version(s, fd_path(s, a), a);
		return;
	case RC_ftruncate:
	case RC_ftruncate64:
		if (a->ret != 0)
			return;
		obj_truncate(s, fd_obj(s, a, (int64_t)a->arg[0]), a->arg[1]);
		version(s, fd_path(s, a), a);
		return;
	case RC_truncate:
	case RC_truncate64:
		if (a->ret != 0)
			return;
		pe = path_get(s, P(s, a->arg[0]));
		obj_truncate(s, obj_at(s, pe), a->arg[1]);
		version(s, pe, a);
		return;
	case RC_unlink:
	case RC_rmdir:
	case RC_unlinkat:
		if (a->ret != 0)
			return;
		pe = path_get(s, P(s, a->call == RC_unlinkat ? a->arg[1]
							     : a->arg[0]));
		if (pe) {
			pe->obj = -1;
			version(s, pe, a);
		}
		return;
	case RC_rename:
	case RC_renameat:
	case RC_renameat2: {
		uint64_t from = a->call == RC_rename ? a->arg[0] : a->arg[1];
		uint64_t to = a->call == RC_rename ? a->arg[1] : a->arg[3];
		int exchange = a->call == RC_renameat2 && (a->arg[4] & 2);
		if (a->ret != 0)
			return;
		pe = path_get(s, P(s, from));
		pe2 = path_get(s, P(s, to));
		if (!pe || !pe2 || pe == pe2)
			return;
		oi = obj_at(s, pe);
		if (exchange) {
			pe->obj = obj_at(s, pe2);
		} else {
			pe->obj = -1;
		}
		pe2->obj = oi;
		version(s, pe, a);
		version(s, pe2, a);
		return;
	}
	case RC_link:
	case RC_linkat:
		if (a->ret != 0)
			return;
		pe = path_get(s, P(s, a->call == RC_link ? a->arg[0] : a->arg[1]));
		pe2 = path_get(s, P(s, a->call == RC_link ? a->arg[1] : a->arg[3]));
		if (pe && pe2) {
			pe2->obj = obj_at(s, pe);
			version(s, pe2, a);
		}
		return;
	case RC_mkdir:
	case RC_mkdirat:
	case RC_mkfifo:
	case RC_mkfifoat:
		if (a->ret != 0)
			return;
		pe = path_get(s, P(s, a->call == RC_mkdir || a->call == RC_mkfifo
					      ? a->arg[0]
					      : a->arg[1]));
		if (pe) {
			pe->obj = new_obj(s, a->call == RC_mkdir ||
							 a->call == RC_mkdirat
						     ? RO_DIR
						     : RO_OTHER);
			version(s, pe, a);
		}
		return;
	case RC_symlink:
	case RC_symlinkat: {
		const char *target = P(s, a->arg[0]);
		if (a->ret != 0)
			return;
		pe = path_get(s, P(s, a->call == RC_symlink ? a->arg[1]
							    : a->arg[2]));
		if (!pe)
			return;
		pe->obj = new_obj(s, RO_SYMLINK);
		if (pe->obj >= 0 && target) {
			struct obj *o = &s->objs[pe->obj];
			if (obj_reserve(s, o, strlen(target)) == 0) {
				memcpy(o->data, target, strlen(target));
				o->len = strlen(target);
			}
		}
		version(s, pe, a);
		return;
	}
	case RC_landed:
		/* bytes a copy, clone or shared mapping put there */
		oi = fd_obj(s, a, (int64_t)a->arg[0]);
		obj_write(s, oi, a, (int64_t)a->arg[2]);
		version(s, fd_path(s, a), a);
		return;
	case RC_fallocate:
	case RC_fallocate64:
	case RC_posix_fallocate:
	case RC_posix_fallocate64: {
		/* mode 0 (and posix_fallocate) grows the file; KEEP_SIZE,
		 * PUNCH_HOLE and ZERO_RANGE are not modelled beyond that */
		int posix = a->call == RC_posix_fallocate ||
			    a->call == RC_posix_fallocate64;
		uint64_t off = a->arg[posix ? 1 : 2], len = a->arg[posix ? 2 : 3];
		if (a->ret != 0 || (!posix && a->arg[1] != 0))
			return;
		oi = fd_obj(s, a, (int64_t)a->arg[0]);
		if (oi >= 0 && s->objs[oi].len < off + len) {
			obj_truncate(s, oi, off + len);
			version(s, fd_path(s, a), a);
		}
		return;
	}
	case RC_preimage:
		/* A later process's pre-image: the state it saw before its
		 * first change.  It fills in what the model did not know. */
		pe = path_get(s, P(s, a->arg[0]));
		oi = obj_at(s, pe);
		if (oi >= 0 && s->objs[oi].state == RO_UNKNOWN &&
		    S_ISREG(a->arg[1]) && (a->flags & RA_DATA) &&
		    !(a->flags & RA_DATA_LOST)) {
			void *data;
			size_t len;
			if (retro_blob_get(s->st, a->hash, &data, &len) == 0) {
				struct obj *o = &s->objs[oi];
				if (obj_reserve(s, o, len) == 0) {
					memcpy(o->data, data, len);
					o->len = len;
					o->state = RO_FILE;
				}
				free(data);
			}
		}
		return;
	default:
		return;
	}
}

static void sim_free(struct sim *s)
{
	for (size_t i = 0; i < s->nobjs; i++)
		free(s->objs[i].data);
	free(s->objs);
	for (size_t i = 0; i < s->cappaths; i++)
		free(s->paths[i].path);
	free(s->paths);
	free(s->fds);
}

static int run(struct sim *s, int64_t until)
{
	prepass(s);
	for (size_t i = 0; i < s->r->nacts && !s->err; i++) {
		const struct retro_action *a = &s->r->acts[i];
		if (retro_ns_sub(a->start, s->r->t0) > until)
			break;
		apply(s, a);
	}
	return s->err;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct retro_file *)a)->path,
		      ((const struct retro_file *)b)->path);
}

int retro_model_files(struct retro_store *st, const struct retro_recording *r,
		      struct retro_file **files, size_t *n, char *why,
		      size_t whylen)
{
	struct sim s = { .st = st, .r = r, .track = 1, .why = why,
			 .whylen = whylen };
	int rc = run(&s, INT64_MAX);

	sim_free(&s);
	if (rc) {
		retro_model_files_free(s.files, s.nfiles);
		return rc;
	}
	/* Paths whose only event was their initial state are not versions. */
	{
		size_t k = 0;
		for (size_t i = 0; i < s.nfiles; i++) {
			if (s.files[i].nv) {
				s.files[k++] = s.files[i];
			} else {
				free(s.files[i].path);
				free(s.files[i].v);
			}
		}
		s.nfiles = k;
	}
	if (s.nfiles)
		qsort(s.files, s.nfiles, sizeof *s.files, cmp_file);
	*files = s.files;
	*n = s.nfiles;
	return 0;
}

void retro_model_files_free(struct retro_file *files, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(files[i].path);
		free(files[i].v);
	}
	free(files);
}

int retro_model_content(struct retro_store *st,
			const struct retro_recording *r, const char *path,
			int64_t at, struct retro_content *out, char *why,
			size_t whylen)
{
	struct sim s = { .st = st, .r = r, .why = why, .whylen = whylen };
	struct pathent *pe;
	int rc = run(&s, at);

	memset(out, 0, sizeof *out);
	if (rc)
		goto out;
	pe = NULL;
	for (size_t j = 0; j < s.cappaths; j++)
		if (s.paths[j].path && strcmp(s.paths[j].path, path) == 0)
			pe = &s.paths[j];
	if (!pe) {
		rc = RETRO_ENOTFOUND;
		goto out;
	}
	if (pe->obj == -1) {
		out->state = RO_ABSENT;
	} else if (pe->obj == -2) {
		out->state = RO_UNKNOWN;
	} else {
		struct obj *o = &s.objs[pe->obj];
		out->state = o->state;
		out->len = o->len;
		out->data = malloc(o->len ? o->len : 1);
		if (!out->data) {
			rc = ENOMEM;
			goto out;
		}
		if (o->len) /* o->data is NULL for an empty file */
			memcpy(out->data, o->data, o->len);
	}
out:
	sim_free(&s);
	return rc;
}
