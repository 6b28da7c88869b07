/* retro-replay run: shepherded re-execution on one virtual timeline.
 *
 * The parent process parses, loads the recording and runs one replay per
 * pass in a child: the child enters the replay root's mount namespace
 * (run_root.c), restores the recorded initial state, starts the shepherded
 * processes under the shim in shepherd mode and drives them (lib/shepherd.h)
 * while it applies and checks the peers' recorded actions at their recorded
 * moments.  The child reports back over a pipe, one line per fact; the
 * parent decides on propagation, prints the summary and writes the report. */
#define _GNU_SOURCE
#include "config.h"
#include "cmd.h"
#include "json.h"
#include "run.h"
#include "model.h"
#include "hash.h"
#include "shepherd.h"
#include "spool.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void help(FILE *f)
{
	fprintf(f,
		"usage: retro-replay run [STORE] --shepherd SEL... [--root DIR] "
		"[--naive]\n"
		"                        [--propagate] [--drop SEL] "
		"[--set-file PATH=LOCALFILE]\n"
		"                        [--report FILE] [--output DIR] "
		"[--quiet]\n\n"
		"Re-executes the selected processes from their recorded exec "
		"while every other\nrecorded process (a peer) is represented by "
		"its recorded actions, on one\nvirtual timeline: sleeps take no "
		"time, and each peer's recorded reads are checked\nagainst what "
		"the files hold at their recorded moments.  SEL is a process id "
		"as\n'ps' prints it, or a program name (the basename of its last "
		"executable).\n\n"
		"  --shepherd SEL     re-execute SEL (and its children); may "
		"repeat\n"
		"  --drop SEL         leave SEL's recorded actions out: its "
		"writes never happen\n"
		"  --set-file P=F     PATH starts with the bytes of the local "
		"file F\n"
		"  --naive            squeeze sleeps without virtual time (the "
		"baseline)\n"
		"  --propagate        re-execute every peer that diverges too, "
		"until nothing does\n"
		"  --scale F          a shepherded sleep of d lasts F*d on the "
		"virtual timeline\n"
		"                     (default 1; 0.5 halves them): how much "
		"margin is left\n"
		"  --root DIR         the replay root (default: a new directory "
		"under $TMPDIR);\n"
		"                     afterwards each file is at DIR/abs/path\n"
		"  --output DIR       shepherded processes' stdout and stderr go "
		"to DIR/ID.out\n                     and DIR/ID.err\n"
		"  --report FILE      write the report as one JSON document\n"
		"  -q, --quiet        print only divergences and the verdict\n"
		"  -h, --help         show this help\n\n"
		"Exit status: 0 consistent, 1 divergences found, 2 usage or "
		"store errors.\nSee retro-replay(1).\n");
}

/* ---- options and what the parent keeps ------------------------------------ */

struct setfile {
	char *path;
	char *local;
};

struct opts {
	unsigned char *shep;   /* per proc index: shepherded */
	unsigned char *drop;   /* per proc index: dropped */
	struct setfile *sets;
	size_t nsets;
	const char *root;
	const char *output;
	int outfd; /* output, opened before the replay's mount namespace */
	const struct root *plan; /* the directories the overlays cover */
	struct retro_file *files; /* the recording's files (plan_root) */
	size_t nfiles;
	const char *report;
	int naive;
	double scale;  /* sleeps of shepherded processes last this much */
	int scaled;    /* --scale was given */
	int propagate;
	int quiet;
	int no_lane;   /* RETRO_SH_LANE=0: every message on the socket */
	char store[PATH_MAX];
	char shim[PATH_MAX];
};

struct pass {
	char **lines; /* J (divergence JSON), H (human), P, T, U, W, E */
	size_t n, cap;
};

static void pass_add(struct pass *p, const char *line)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->lines = realloc(p->lines, p->cap * sizeof *p->lines);
		if (!p->lines)
			abort();
	}
	p->lines[p->n++] = strdup(line);
}

static void pass_free(struct pass *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->lines[i]);
	free(p->lines);
	memset(p, 0, sizeof *p);
}

/* ---- the child: one replay ------------------------------------------------- */

enum { C_RUN, C_PEND, C_BLOCK, C_DEAD };

struct rthread {
	uint32_t proc, thread;
	const struct retro_action **acts;
	size_t n, cap;
	int taken;
};

struct conn {
	int fd;
	int32_t pid;
	uint32_t lthread;
	int pi; /* index of the live process */
	struct rthread *rt;
	size_t cur;
	int state;
	int diverged;
	int64_t v, pend_v, cpu;
	uint16_t pend_call;
	const struct retro_action *last; /* matched by the last message */
	int64_t wait_pid;  /* blocked in a wait: for this pid, -1 any */
	int expect_wake;   /* ...and a child it waits for has ended */
	int64_t deadline;  /* blocked in a timed wait: its end on V, or -1 */
	void *feed;        /* recorded bytes to send with the next reply */
	size_t nfeed;
	int feed_name;     /* ...the recorded name to make (SHR_NAME) */
	int32_t tid;
	int64_t replied;   /* wall time of the last reply */
	const struct retro_proc *answer; /* a wait for this peer child is
					  * answered with its recorded end */
	int hello;         /* the pending reply answers its HELLO */
	struct retro_sh_lane *lane; /* its lane (shepherd.h), or NULL */
	uint32_t lane_seen; /* the last lane message taken */
	int via_lane;      /* the pending reply answers a lane message */
	uint64_t sock_got; /* socket messages taken (doorbells aside) */
};

struct live {
	int32_t pid;
	int32_t ppid;
	int ended;     /* seen gone or a zombie */
	int claimed;   /* ...and a wait of its parent returned it */
	int hello;     /* one of its threads has connected */
	uint32_t proc;
	int64_t vstart;
	int64_t since; /* recorded start of the image it was re-created from */
	int64_t shift; /* --scale: how much earlier than recorded it runs, from
			* its own scaled sleeps and those of the children it
			* waited for */
	uint32_t lthreads[64];
	struct rthread *rts[64];
	int nl;
	int reaped;    /* the driver waited for it (a root shepherd)... */
	int status;    /* ...and this is its wait status */
};

/* A pipe whose writer is a peer and whose reader is shepherded: the driver
 * writes the peer's recorded bytes into it at their recorded moments and
 * closes it after the last of them. */
struct feed {
	uint64_t obj;  /* the recorded pipe's path id ("pipe:[N]") */
	int wfd;       /* the driver's end */
	int rfd;       /* the reader's end, until its process starts */
	size_t last;   /* index in peers[] of the last action naming it */
};

struct fdoff {
	uint64_t key;
	int64_t off;
};

struct drv {
	struct retro_store *st;
	const struct retro_recording *r;
	const struct opts *o;
	struct root rt;
	int out; /* the pipe to the parent */
	int lfd;
	unsigned char *shep, *drop, *diverged_peer, *tainted_said;
	uint64_t *tainted;
	const struct retro_action **peers;
	size_t npeers, pi;
	struct rthread *rts;
	size_t nrts;
	struct conn *conns;
	size_t nconns;
	struct live *lives;
	size_t nlives;
	struct fdoff *offs;
	size_t noffs, capoffs;
	int64_t V, vstart, rtoff;
	int64_t wall0;
	uint64_t ndiv;
	uint64_t unsupported[RC_NCALLS];
	uint64_t notes[SHN_NKINDS]; /* SH_NOTE, by kind */
	int roots_left;
	struct feed *feeds; /* pipes from peers to shepherded processes */
	size_t nfeeds;
	int fed;            /* the last peer action fed a pipe */
	int64_t last_msg;   /* wall time of the last message from a thread */
	int64_t rt0;        /* CLOCK_REALTIME at wall0 */
	int noshim;         /* a root shepherd ran without the shim */
	const struct retro_action **pwaits; /* peers' waits, checked at their
					     * recorded end on V */
	size_t npwaits;
	const struct retro_action **owaits; /* ...due, their child not gone */
	size_t nowaits;
	struct wfd {                /* files the peers write, kept open */
		char *path;
		int fd;
		dev_t dev;
		ino_t ino;
		uint64_t epoch;     /* path was seen to name it then */
		/* peers' writes not yet in the file (see drv_sync): a
		 * window of it at base, the bytes [lo, hi) of which changed */
		char *win;
		int64_t base, lo, hi;
		int64_t mtime;      /* an mtime to set, or 0 */
		int nowin;          /* it cannot be read: no window */
	} wfds[32];
	unsigned nextwfd;
	uint64_t epoch;             /* moves whenever a shepherded process may
				     * have run, or a peer changed names */
	int spin;                   /* more than one CPU: wait for messages
				     * spinning a while first */
};

#define SPIN_NS 100000

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void emit(struct drv *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void emit(struct drv *d, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* one fact per line: newlines inside are escaped by the callers */
	for (char *p = s; *p; p++)
		if (*p == '\n')
			*p = ' ';
	if (write(d->out, s, (size_t)n) != n || write(d->out, "\n", 1) != 1)
		_exit(EX_USAGE);
	free(s);
}

static const char *pname(struct drv *d, uint32_t proc)
{
	const struct retro_proc *p = retro_proc_find(d->r, proc);
	return p ? proc_name(p) : "?";
}

static int proc_index(const struct retro_recording *r, uint32_t id)
{
	const struct retro_proc *p = retro_proc_find(r, id);
	return p ? (int)(p - r->procs) : -1;
}

static char *jsonize(const char *s)
{
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return strdup("null");
	json_cstr(f, s);
	fclose(f);
	return buf;
}

/* The path an action names first (or its fd's object). */
static uint64_t act_path(const struct retro_action *a)
{
	const struct retro_call_desc *dd = &retro_calls[a->call];
	uint64_t id = 0;

	/* the same choice the shim makes: its last K_PATH or K_PATHAT */
	for (int i = 0; i < dd->nargs && !(dd->flags & F_PSEUDO); i++)
		if (dd->kind[i] == K_PATH || dd->kind[i] == K_PATHAT ||
		    dd->kind[i] == K_PATHCHDIR)
			id = a->arg[i];
	return id ? id : a->obj;
}

static const char *act_pathstr(struct drv *d, const struct retro_action *a)
{
	const char *p = retro_path(d->st, act_path(a));
	return p ? p : "";
}

/* A value in a divergence: bytes a read returned, or a description. */
struct val {
	const void *p;
	size_t n;
	int bytes; /* 1: file bytes, shown quoted and escaped */
};

static struct val text(const char *s)
{
	return (struct val){ s, strlen(s), 0 };
}

/* Where two byte values first differ (the shorter one's length when it
 * is the other's start), or SIZE_MAX when they are not both bytes or no
 * difference shows (values cut to the same length, other_bytes). */
static size_t val_differs_at(struct val a, struct val b)
{
	size_t i = 0;

	if (!a.bytes || !b.bytes)
		return SIZE_MAX;
	while (i < a.n && i < b.n &&
	       ((const unsigned char *)a.p)[i] == ((const unsigned char *)b.p)[i])
		i++;
	return i == a.n && i == b.n ? SIZE_MAX : i;
}

/* v for a person, from byte from on ("..." marks what is left out). */
static char *val_human(struct val v, size_t from)
{
	char *buf;
	size_t len;
	FILE *f;

	if (!v.bytes)
		return strndup(v.p, v.n);
	f = open_memstream(&buf, &len);
	if (!f)
		return strdup("?");
	if (from > v.n)
		from = v.n;
	if (from)
		fputs("...", f);
	print_escaped(f, (const unsigned char *)v.p + from, v.n - from, 48);
	fclose(f);
	return buf;
}

static char *val_json(struct val v)
{
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return strdup("null");
	json_str(f, v.p, v.n > 256 ? 256 : v.n);
	fclose(f);
	return buf;
}

static void divergence(struct drv *d, uint32_t proc, int shepherded,
		       const struct retro_action *a, uint16_t call,
		       const char *path, int64_t at, struct val exp,
		       struct val obs)
{
	/* Contents that agree for a while are shown from a little before
	 * where they part: the first 48 bytes of each could be the same. */
	size_t at_byte = val_differs_at(exp, obs);
	size_t from = at_byte != SIZE_MAX && at_byte >= 32 ? at_byte - 16 : 0;
	char site[512] = "", where[64] = "", jwhere[48] = "";
	char *jp = jsonize(path), *je = val_json(exp), *jo = val_json(obs),
	     *he = val_human(exp, from), *ho = val_human(obs, from), *js;

	if (at_byte != SIZE_MAX) {
		snprintf(jwhere, sizeof jwhere, ",\"differs_at\":%zu", at_byte);
		if (from)
			snprintf(where, sizeof where, " (they differ from byte %zu)",
				 at_byte);
	}

	if (a && a->stack)
		retro_stack_describe(d->st, a->stack, site, sizeof site);
	js = jsonize(site[0] ? site : NULL);
	d->ndiv++;
	emit(d,
	     "J {\"proc\":%u,\"program\":\"%s\",\"kind\":\"%s\",\"call\":\"%s\","
	     "\"path\":%s,\"at_ns\":%lld,\"expected\":%s,\"observed\":%s%s,"
	     "\"site\":%s}",
	     proc, pname(d, proc), shepherded ? "shepherded" : "peer",
	     retro_calls[call].name, jp, (long long)rel_ns(d->r, at), je, jo,
	     jwhere, js);
	emit(d, "H divergence at %.6fs: %s %u (%s) %s %s: expected %s, "
		"observed %s%s%s%s",
	     rel_s(d->r, at), shepherded ? "shepherded" : "peer",
	     proc, pname(d, proc), retro_calls[call].name, path, he, ho, where,
	     site[0] ? "  at " : "", site);
	free(jp);
	free(je);
	free(jo);
	free(he);
	free(ho);
	free(js);
}

/* ---- peers' fds: where their reads read ---------------------------------- */

static struct fdoff *fdoff(struct drv *d, uint32_t proc, int64_t fd, int make)
{
	uint64_t key = ((uint64_t)proc << 32 | (uint32_t)fd) + 1;

	for (size_t i = 0; i < d->noffs; i++)
		if (d->offs[i].key == key)
			return &d->offs[i];
	if (!make)
		return NULL;
	if (d->noffs == d->capoffs) {
		d->capoffs = d->capoffs ? d->capoffs * 2 : 64;
		d->offs = realloc(d->offs, d->capoffs * sizeof *d->offs);
		if (!d->offs)
			abort();
	}
	d->offs[d->noffs].key = key;
	d->offs[d->noffs].off = 0;
	return &d->offs[d->noffs++];
}

static int is_file_path(const char *p)
{
	return p && p[0] == '/' && strncmp(p, "/dev/", 5) != 0 &&
	       strncmp(p, "/proc/", 6) != 0;
}

/* The bytes path holds at [off, off+n), read through the replay's view. */
static ssize_t read_now(const char *path, int64_t off, size_t n,
			unsigned char **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t k;

	*out = malloc(n ? n : 1);
	if (fd < 0 || !*out) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	k = pread(fd, *out, n, off);
	close(fd);
	return k;
}

/* Checks a peer's recorded read against the bytes the file holds now. */
static void check_read(struct drv *d, const struct retro_action *a,
		       int64_t off, size_t want)
{
	const char *path = retro_path(d->st, a->obj);
	unsigned char *now = NULL;
	ssize_t k;
	uint64_t h[2];

	/* Only the root is the replay's: what lies outside it is the host's
	 * as it is now, read-only, and not a matter of timing. */
	if (!is_file_path(path) || !root_covers(&d->rt, path) || a->ret < 0 ||
	    !(a->hash[0] | a->hash[1]))
		return;
	/* what the same read would return now: up to the size it asked for */
	k = read_now(path, off, want, &now);
	if (k < 0)
		k = 0;
	retro_hash128(now, (size_t)k, h);
	if ((k != a->ret || h[0] != a->hash[0] || h[1] != a->hash[1]) &&
	    !d->diverged_peer[proc_index(d->r, a->proc)]) {
		struct retro_content was;
		char why[256];
		struct val exp = text("(bytes with the recorded hash)");
		if (retro_model_content(d->st, d->r, path, a->start - d->r->t0,
					&was, why, sizeof why) == 0 &&
		    was.state == RO_FILE && off <= (int64_t)was.len) {
			size_t m = was.len - (size_t)off;
			exp = (struct val){ was.data + off,
					    m < (size_t)a->ret ? m : (size_t)a->ret,
					    1 };
		}
		divergence(d, a->proc, 0, a, a->call, path, a->start, exp,
			   (struct val){ now, (size_t)k, 1 });
		free(was.data);
		d->diverged_peer[proc_index(d->r, a->proc)] = 1;
		emit(d, "P %u", a->proc);
	}
	free(now);
}

/* A peer's recorded existence check (open, stat, access) against now. */
static void check_exists(struct drv *d, const struct retro_action *a,
			 uint64_t pathid)
{
	const char *path = retro_path(d->st, pathid);
	struct stat st;
	int was, is;

	if (!is_file_path(path) || !root_covers(&d->rt, path) ||
	    (a->ret < 0 && a->err != ENOENT))
		return;
	was = a->ret >= 0;
	is = lstat(path, &st) == 0;
	if (was != is && !d->diverged_peer[proc_index(d->r, a->proc)]) {
		divergence(d, a->proc, 0, a, a->call, path, a->start,
			   text(was ? "exists" : "absent (ENOENT)"),
			   text(is ? "exists" : "absent (ENOENT)"));
		d->diverged_peer[proc_index(d->r, a->proc)] = 1;
		emit(d, "P %u", a->proc);
	}
}

/* A descriptor open for writing on the file at path beneath the root, or
 * -1.  A peer writes the same few files over and over, and opening one
 * safely beneath the root takes five system calls: the descriptors stay
 * open, and one lstat tells whether path still names the file a kept
 * descriptor holds (a rename or an unlink and re-create since, by a peer
 * or a shepherded process, makes it another).  A kept descriptor was
 * opened beneath the root, so it never leads out of it. */
#define NWFDS (sizeof ((struct drv *)0)->wfds / sizeof *((struct drv *)0)->wfds)
#define WIN_SIZE (64 * 1024)

/* The peers' writes held in e's window go to the file, and its mtime. */
static void wfd_flush(struct drv *d, struct wfd *e)
{
	if (e->win && e->hi > e->lo &&
	    pwrite(e->fd, e->win + (e->lo - e->base), (size_t)(e->hi - e->lo),
		   e->lo) < 0)
		emit(d, "H note: could not apply a peer's writes to %s: %s",
		     e->path, strerror(errno));
	e->lo = e->hi = 0;
	free(e->win);
	e->win = NULL;
	if (e->mtime) {
		struct timespec ts[2] = {
			{ .tv_nsec = UTIME_OMIT },
			{ .tv_sec = e->mtime / 1000000000,
			  .tv_nsec = e->mtime % 1000000000 },
		};
		(void)futimens(e->fd, ts);
		e->mtime = 0;
	}
}

/* Before anything may look at the files beneath the root (a shepherded
 * process, once answered; a peer's observation the driver checks; a
 * peer's other change): the peers' writes the driver holds back go to
 * the files.  A run of peer writes between two such moments costs one
 * pwrite per window of a file, and one futimens per file, instead of one
 * of each per write. */
static void drv_sync(struct drv *d)
{
	for (size_t i = 0; i < NWFDS; i++)
		if (d->wfds[i].path)
			wfd_flush(d, &d->wfds[i]);
	d->epoch++;
}

static struct wfd *wfd_of(struct drv *d, int fd)
{
	for (size_t i = 0; i < NWFDS; i++)
		if (d->wfds[i].path && d->wfds[i].fd == fd)
			return &d->wfds[i];
	return NULL;
}

/* A peer's write of len bytes at off into e's file, held back when it
 * fits e's window (opened on the file's bytes there, so that what lies
 * between the writes in it is what the file holds). */
static void wfd_write(struct drv *d, struct wfd *e, const void *data,
		      size_t len, int64_t off)
{
	/* the same file under another name (a hard link): what is held
	 * there was written first */
	for (size_t i = 0; i < NWFDS; i++) {
		struct wfd *o = &d->wfds[i];
		if (o != e && o->path && o->win && o->dev == e->dev &&
		    o->ino == e->ino)
			wfd_flush(d, o);
	}
	if (e->win && (off < e->base || off + (int64_t)len > e->base + WIN_SIZE))
		wfd_flush(d, e);
	if (!e->win && !e->nowin && len < WIN_SIZE / 2) {
		ssize_t k;
		e->base = off - off % 4096;
		if (off + (int64_t)len > e->base + WIN_SIZE)
			e->base = off;
		e->win = calloc(1, WIN_SIZE);
		k = e->win ? pread(e->fd, e->win, WIN_SIZE, e->base) : -1;
		if (k < 0) {
			free(e->win);
			e->win = NULL;
			e->nowin = 1; /* write-only: each write goes at once */
		}
		e->lo = e->hi = off;
	}
	if (!e->win) {
		if (pwrite(e->fd, data, len, off) < 0)
			emit(d, "H note: could not apply a peer's write to %s: "
				"%s", e->path, strerror(errno));
		return;
	}
	memcpy(e->win + (off - e->base), data, len);
	if (off < e->lo)
		e->lo = off;
	if (off + (int64_t)len > e->hi)
		e->hi = off + (int64_t)len;
}

static int peer_fd(struct drv *d, const char *path)
{
	struct wfd *e = NULL;
	struct stat st;
	int fd;

	for (size_t i = 0; i < NWFDS && !e; i++)
		if (d->wfds[i].path && !strcmp(d->wfds[i].path, path))
			e = &d->wfds[i];
	/* nothing renamed or removed since it was last seen */
	if (e && e->epoch == d->epoch)
		return e->fd;
	if (e && lstat(path, &st) == 0 && st.st_dev == e->dev &&
	    st.st_ino == e->ino) {
		e->epoch = d->epoch;
		return e->fd;
	}
	/* not blocking on a FIFO, which is then let go; readable too, for
	 * the window of held-back writes (wfd_write), when it may be */
	fd = root_open(&d->rt, path, O_RDWR | O_NONBLOCK, 0);
	if (fd < 0 && errno == EACCES)
		fd = root_open(&d->rt, path, O_WRONLY | O_NONBLOCK, 0);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		errno = err;
		return -1;
	}
	if (!e) {
		e = &d->wfds[d->nextwfd++ % NWFDS];
		if (e->path) {
			wfd_flush(d, e);
			close(e->fd);
			free(e->path);
		}
		if (!(e->path = strdup(path))) {
			close(fd);
			errno = ENOMEM;
			return -1;
		}
	} else {
		wfd_flush(d, e);
		close(e->fd);
	}
	e->fd = fd;
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	e->epoch = d->epoch;
	e->nowin = 0;
	return fd;
}

static void peer_fds_close(struct drv *d)
{
	drv_sync(d);
	for (size_t i = 0; i < NWFDS; i++)
		if (d->wfds[i].path) {
			close(d->wfds[i].fd);
			free(d->wfds[i].path);
			d->wfds[i].path = NULL;
		}
}

/* Writes a peer's recorded bytes where they landed.  Returns the
 * descriptor written through (kept open: see peer_fd), or -1. */
static int put_bytes(struct drv *d, const struct retro_action *a,
		     int64_t off)
{
	const char *path = retro_path(d->st, a->obj);
	void *data;
	size_t len;
	int fd;

	if (!is_file_path(path) || !(a->flags & RA_DATA))
		return -1;
	if (retro_blob_get(d->st, a->hash, &data, &len))
		return -1;
	fd = peer_fd(d, path);
	if (fd >= 0)
		wfd_write(d, wfd_of(d, fd), data, len, off);
	free(data);
	return fd;
}

/* A peer's write into a pipe that a shepherded process reads: the bytes
 * go down the real pipe.  Returns 1 when a was such a write. */
static int feed_bytes(struct drv *d, const struct retro_action *a)
{
	void *data;
	size_t len, off = 0;

	for (size_t i = 0; i < d->nfeeds; i++) {
		struct feed *f = &d->feeds[i];
		if (f->obj != a->obj || f->wfd < 0)
			continue;
		if (!(a->flags & RA_DATA) ||
		    retro_blob_get(d->st, a->hash, &data, &len))
			return 1;
		while (off < len) {
			ssize_t k = write(f->wfd, (char *)data + off, len - off);
			if (k <= 0)
				break;
			off += (size_t)k;
		}
		free(data);
		d->fed = 1;
		return 1;
	}
	return 0;
}

/* File times on V: what a peer's replayed action changed gets the
 * recorded moment as its mtime (and, when it created the file, as its
 * atime), so that a shepherded process that compares a file's age with
 * its clock sees what was recorded. */
static void stamp_fd(struct drv *d, const char *path, int fd,
		     const struct retro_action *a, int created)
{
	/* naive: the peers' actions sit at their offsets from the replay's
	 * start, on the host's clock */
	int64_t t = d->o->naive ? d->rt0 + (a->end - d->vstart)
				: a->end + d->rtoff;
	struct timespec ts[2] = {
		{ .tv_sec = t / 1000000000, .tv_nsec = t % 1000000000 },
		{ .tv_sec = t / 1000000000, .tv_nsec = t % 1000000000 },
	};

	if (!path || !is_file_path(path))
		return;
	if (!created)
		ts[0].tv_nsec = UTIME_OMIT;
	if (fd >= 0 || (fd = peer_fd(d, path)) >= 0) {
		struct wfd *e = wfd_of(d, fd);
		if (e && !created)
			e->mtime = t; /* set with its writes (drv_sync) */
		else
			(void)futimens(fd, ts);
		return;
	}
	fd = root_open(&d->rt, path, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return;
	(void)futimens(fd, ts);
	close(fd);
}

static void stamp(struct drv *d, const char *path, const struct retro_action *a,
		  int created)
{
	stamp_fd(d, path, -1, a, created);
}

static struct live *live_get(struct drv *d, int32_t pid);
static int reap(struct drv *d, pid_t w, int st);

/* The child a recorded wait returned, or 0: wait, waitpid, wait3 and
 * wait4 return its pid; waitid returns 0 and puts it in the siginfo the
 * recording keeps (si_pid in the low 32 bits). */
static int32_t waited_pid(const struct retro_action *a)
{
	if (a->state != 2)
		return 0;
	if (a->call == RC_waitid)
		return a->ret == 0 ? (int32_t)(uint32_t)a->arg[2] : 0;
	return a->ret > 0 ? (int32_t)a->ret : 0;
}

/* A peer's recorded wait that returned a shepherded child: that child
 * must end, with the same status.  Decided once the child is reaped (it
 * is a root shepherd: the driver's own child), which may be well after V
 * passed the wait: a process on its way out can be slow to go (its exit
 * imports into the store).  When on V it ended is not compared: a thread
 * woken from a blocking call takes V's moment, so a slow exit would read
 * as a late one.  Returns 1 when decided, 0 when the child still runs;
 * with final, a child that never ended is a divergence. */
static int check_peer_wait(struct drv *d, const struct retro_action *a,
			   int final)
{
	int qi = -1, pidx = proc_index(d->r, a->proc);
	struct live *l = NULL;
	char e[64], o[64];

	int32_t pid = waited_pid(a);

	if (pid <= 0 || pidx < 0 || d->diverged_peer[pidx])
		return 1;
	for (size_t i = 0; i < d->r->nprocs && qi < 0; i++)
		if (d->r->procs[i].pid == pid &&
		    d->r->procs[i].parent == a->proc && d->shep[i])
			qi = (int)i;
	if (qi < 0 || !(d->r->procs[qi].flags & RP_EXITED))
		return 1;
	for (size_t i = 0; i < d->nlives && !l; i++)
		if (d->lives[i].proc == d->r->procs[qi].id)
			l = &d->lives[i];
	if (!l)
		return 1; /* never started: said elsewhere */
	if (!l->reaped) {
		int st;
		if (waitpid(l->pid, &st, WNOHANG) == l->pid)
			reap(d, l->pid, st);
		else if (!final)
			return 0;
	}
	status_str(d->r->procs[qi].status, e, sizeof e);
	if (l->reaped)
		status_str(l->status, o, sizeof o);
	else
		snprintf(o, sizeof o, "still running");
	if (strcmp(e, o) != 0) {
		char what[64];
		snprintf(what, sizeof what, "process %u", d->r->procs[qi].id);
		divergence(d, a->proc, 0, a, a->call, what, a->end, text(e),
			   text(o));
		d->diverged_peer[pidx] = 1;
		emit(d, "P %u", a->proc);
	}
	return 1;
}

static void apply_peer(struct drv *d, const struct retro_action *a)
{
	int pidx = proc_index(d->r, a->proc);
	const char *p1, *p2;
	struct fdoff *fo;
	int fd;

	if (a->state != 2)
		return;
	if (pidx >= 0 && d->diverged_peer[pidx])
		d->tainted[pidx]++;
	/* only writes are held back; anything else sees the files as they
	 * are by now */
	if (a->call != RC_write && a->call != RC_writev &&
	    a->call != RC_pwrite && a->call != RC_pwrite64 &&
	    a->call != RC_pwritev && a->call != RC_pwritev64)
		drv_sync(d);
	switch (a->call) {
	case RC_open:
	case RC_open64:
	case RC_openat:
	case RC_openat64:
	case RC_creat:
	case RC_creat64: {
		int fl = retro_open_flags(a);
		uint64_t pid = retro_open_path(a);
		p1 = retro_path(d->st, pid);
		if (a->ret >= 0) {
			fo = fdoff(d, a->proc, a->ret, 1);
			fo->off = 0;
		}
		if (!(fl & O_CREAT) || a->ret < 0) {
			check_exists(d, a, pid);
			return;
		}
		if (is_file_path(p1)) {
			/* the mode argument: creat's 2nd, open's 3rd,
			 * openat's 4th */
			int mi = a->call == RC_creat || a->call == RC_creat64 ? 1
				 : a->call == RC_openat || a->call == RC_openat64
					 ? 3
					 : 2;
			int fd = root_open(&d->rt, p1,
					   O_WRONLY | O_CREAT | (fl & O_TRUNC),
					   (mode_t)a->arg[mi] & 07777);
			if (fd >= 0)
				close(fd);
			if (fl & (O_CREAT | O_TRUNC))
				stamp(d, p1, a, (a->flags & RA_CREATED) != 0);
		}
		return;
	}
	case RC_read:
	case RC_readv:
		fo = fdoff(d, a->proc, (int64_t)a->arg[0], 1);
		check_read(d, a, fo->off,
			   a->call == RC_read ? (size_t)a->arg[2] : (size_t)a->ret);
		if (a->ret > 0)
			fo->off += a->ret;
		return;
	case RC_pread:
	case RC_pread64:
	case RC_preadv:
	case RC_preadv64:
		check_read(d, a, (int64_t)a->arg[3],
			   a->call == RC_pread || a->call == RC_pread64
				   ? (size_t)a->arg[2]
				   : (size_t)a->ret);
		return;
	case RC_lseek:
	case RC_lseek64:
		if (a->ret >= 0)
			fdoff(d, a->proc, (int64_t)a->arg[0], 1)->off = a->ret;
		return;
	case RC_write:
	case RC_writev:
		if (a->ret <= 0)
			return;
		if (feed_bytes(d, a))
			return;
		fo = fdoff(d, a->proc, (int64_t)a->arg[0], 1);
		fd = put_bytes(d, a, (a->flags & RA_OFFSET) ? a->off : fo->off);
		fo->off = ((a->flags & RA_OFFSET) ? a->off : fo->off) + a->ret;
		stamp_fd(d, retro_path(d->st, a->obj), fd, a, 0);
		return;
	case RC_pwrite:
	case RC_pwrite64:
	case RC_pwritev:
	case RC_pwritev64:
		if (a->ret > 0) {
			fd = put_bytes(d, a, (int64_t)a->arg[3]);
			stamp_fd(d, retro_path(d->st, a->obj), fd, a, 0);
		}
		return;
	case RC_landed:
		put_bytes(d, a, (int64_t)a->arg[2]);
		return;
	case RC_ftruncate:
	case RC_ftruncate64:
	case RC_truncate:
	case RC_truncate64: {
		int fd;
		p1 = retro_path(d->st, a->call == RC_truncate ||
						a->call == RC_truncate64
					? a->arg[0]
					: a->obj);
		if (a->ret != 0 || !is_file_path(p1))
			return;
		fd = root_open(&d->rt, p1, O_WRONLY, 0);
		if (fd >= 0) {
			if (ftruncate(fd, (off_t)a->arg[1]) < 0)
				emit(d, "H note: could not truncate %s", p1);
			close(fd);
			stamp(d, p1, a, 0);
		}
		return;
	}
	case RC_unlink:
	case RC_unlinkat:
	case RC_rmdir:
		p1 = retro_path(d->st, a->call == RC_unlinkat ? a->arg[1]
							      : a->arg[0]);
		if (a->ret == 0 && is_file_path(p1))
			root_op(&d->rt, a->call == RC_rmdir ? ROOT_RMDIR
							    : ROOT_UNLINK,
				p1, NULL, 0);
		else if (a->ret < 0)
			check_exists(d, a, a->call == RC_unlinkat ? a->arg[1]
								 : a->arg[0]);
		return;
	case RC_rename:
	case RC_renameat:
	case RC_renameat2:
		p1 = retro_path(d->st, a->call == RC_rename ? a->arg[0]
							    : a->arg[1]);
		p2 = retro_path(d->st, a->call == RC_rename ? a->arg[1]
							    : a->arg[3]);
		if (a->ret == 0 && is_file_path(p1) && is_file_path(p2))
			root_op(&d->rt, ROOT_RENAME, p1, p2, 0);
		return;
	case RC_link:
	case RC_linkat:
		p1 = retro_path(d->st, a->call == RC_link ? a->arg[0]
							  : a->arg[1]);
		p2 = retro_path(d->st, a->call == RC_link ? a->arg[1]
							  : a->arg[3]);
		if (a->ret == 0 && is_file_path(p1) && is_file_path(p2))
			root_op(&d->rt, ROOT_LINK, p1, p2, 0);
		return;
	case RC_mkdir:
	case RC_mkdirat:
	case RC_mkfifo:
	case RC_mkfifoat: {
		int at = a->call == RC_mkdirat || a->call == RC_mkfifoat;
		p1 = retro_path(d->st, a->arg[at]);
		if (a->ret == 0 && is_file_path(p1))
			root_op(&d->rt,
				a->call == RC_mkdir || a->call == RC_mkdirat
					? ROOT_MKDIR
					: ROOT_MKFIFO,
				p1, NULL, (mode_t)a->arg[at + 1]);
		return;
	}
	case RC_symlink:
	case RC_symlinkat:
		p1 = retro_path(d->st, a->arg[0]);
		p2 = retro_path(d->st, a->call == RC_symlink ? a->arg[1]
							     : a->arg[2]);
		if (a->ret == 0 && p1 && is_file_path(p2))
			root_op(&d->rt, ROOT_SYMLINK, p2, p1, 0);
		return;
	case RC_wait:
	case RC_waitpid:
	case RC_wait3:
	case RC_wait4:
	case RC_waitid: {
		/* what it observed, it observed when it returned */
		/* owaits gets room for every wait pwaits ever held */
		size_t cap = d->npwaits + d->nowaits + 1;
		const struct retro_action **n = realloc(d->pwaits, cap * sizeof *n);
		const struct retro_action **o;
		if (!n)
			return;
		d->pwaits = n;
		o = realloc(d->owaits, cap * sizeof *o);
		if (!o)
			return;
		d->owaits = o;
		d->pwaits[d->npwaits++] = a;
		return;
	}
	default:
		if (retro_looks_up(a->call)) {
			int at = a->call == RC_fstatat ||
				 a->call == RC_fstatat64 ||
				 a->call == RC_statx || a->call == RC_faccessat;
			check_exists(d, a, a->arg[at]);
		}
		return;
	}
}

/* Applies every peer action that starts before v, in timeline order. */
/* The peers' waits that returned before v, checked in the order they
 * returned. */
static void check_waits(struct drv *d, int64_t v, int final)
{
	/* due before, but their child had not gone yet */
	for (size_t i = 0; i < d->nowaits;)
		if (check_peer_wait(d, d->owaits[i], final))
			d->owaits[i] = d->owaits[--d->nowaits];
		else
			i++;
	for (;;) {
		size_t first = d->npwaits;
		for (size_t i = 0; i < d->npwaits; i++)
			if (d->pwaits[i]->end < v &&
			    (first == d->npwaits ||
			     d->pwaits[i]->end < d->pwaits[first]->end))
				first = i;
		if (first == d->npwaits)
			return;
		const struct retro_action *a = d->pwaits[first];
		d->pwaits[first] = d->pwaits[--d->npwaits];
		if (!check_peer_wait(d, a, final))
			d->owaits[d->nowaits++] = a; /* room: see apply_peer */
	}
}

static void advance(struct drv *d, int64_t v)
{
	while (d->pi < d->npeers && d->peers[d->pi]->start < v) {
		const struct retro_action *a = d->peers[d->pi++];
		check_waits(d, a->start + 1, 0);
		if (a->start > d->V)
			d->V = a->start;
		apply_peer(d, a);
		for (size_t i = 0; i < d->nfeeds; i++)
			if (d->feeds[i].wfd >= 0 && d->feeds[i].last < d->pi) {
				/* its writer is done with it: end of file */
				close(d->feeds[i].wfd);
				d->feeds[i].wfd = -1;
				d->fed = 1;
			}
	}
	check_waits(d, v, v == INT64_MAX);
	if (v > d->V && v != INT64_MAX)
		d->V = v;
}

/* ---- the recorded initial state ------------------------------------------ */

/* Makes the directories above path that are gone since the recording
 * (inside an overlay; the rest of the tree is read-only and exists). */
static void parent_dirs(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		root_mkdirs(dir, 0755);
	}
}

static int restore_initial(struct drv *d, struct retro_file *files,
			   size_t nfiles)
{
	char why[256];

	for (size_t i = 0; i < nfiles; i++) {
		const char *path = files[i].path;
		struct retro_content c;

		if (!is_file_path(path) || !root_covers(&d->rt, path))
			continue;
		switch (files[i].initial) {
		case RO_ABSENT:
			if (root_remove(&d->rt, path) < 0)
				emit(d, "H note: could not remove %s: %s", path,
				     errno == EXDEV ? "a symlink leads out of "
						      "the root; left as it is"
						    : strerror(errno));
			break;
		case RO_DIR:
			root_op(&d->rt, ROOT_MKDIR, path, NULL, 0755);
			break;
		case RO_FILE:
			if (retro_model_content(d->st, d->r, path, -1, &c, why,
						sizeof why) == 0 &&
			    c.state == RO_FILE) {
				parent_dirs(path);
				int fd = root_open(&d->rt, path,
						   O_WRONLY | O_CREAT | O_TRUNC,
						   0644);
				if (fd < 0 || write(fd, c.data, c.len) !=
						      (ssize_t)c.len)
					emit(d, "H note: could not restore %s: %s",
					     path, strerror(errno));
				if (fd >= 0)
					close(fd);
			}
			free(c.data);
			break;
		default:
			break; /* as the host has it: not captured */
		}
	}
	/* mode and times of the pre-images */
	for (size_t i = 0; i < d->r->nacts; i++) {
		const struct retro_action *a = &d->r->acts[i];
		const char *path;
		int fd;
		if (a->call != RC_preimage)
			continue;
		path = retro_path(d->st, a->arg[0]);
		if (!is_file_path(path) || !root_covers(&d->rt, path) ||
		    !S_ISREG(a->arg[1]))
			continue;
		fd = root_open(&d->rt, path, O_WRONLY, 0);
		if (fd >= 0) {
			struct timespec ts[2];
			ts[0].tv_sec = ts[1].tv_sec = (time_t)(a->arg[5] / 1000000000);
			ts[0].tv_nsec = ts[1].tv_nsec = (long)(a->arg[5] % 1000000000);
			fchmod(fd, (mode_t)a->arg[1] & 07777);
			futimens(fd, ts);
			close(fd);
		}
	}
	for (size_t i = 0; i < d->o->nsets; i++) {
		const struct setfile *s = &d->o->sets[i];
		int in = open(s->local, O_RDONLY | O_CLOEXEC);
		int fd = root_open(&d->rt, s->path, O_WRONLY | O_CREAT | O_TRUNC,
				   0644);
		char buf[65536];
		ssize_t k;
		if (in < 0 || fd < 0) {
			emit(d, "E --set-file %s=%s: %s", s->path, s->local,
			     strerror(errno));
			return -1;
		}
		while ((k = read(in, buf, sizeof buf)) > 0)
			if (write(fd, buf, (size_t)k) != k)
				break;
		close(in);
		close(fd);
	}
	return 0;
}

/* ---- shepherded processes -------------------------------------------------- */

static struct rthread *rthread_get(struct drv *d, uint32_t proc,
				   uint32_t thread)
{
	for (size_t i = 0; i < d->nrts; i++)
		if (d->rts[i].proc == proc && d->rts[i].thread == thread)
			return &d->rts[i];
	return NULL;
}

/* Whether the shim sends this recorded call in shepherd mode.  A clock
 * read is recorded only with RETRO_TIME_READS=1, and then sent too
 * (retro_shep_clock_read). */
static int sent_by_shim(const struct retro_action *a)
{
	const struct retro_call_desc *dd = &retro_calls[a->call];
	return !(dd->flags & F_PSEUDO);
}

/* The launch image of a shepherded root: its last exec. */
static const struct retro_action *launch_image(struct drv *d, uint32_t proc)
{
	const struct retro_action *s = NULL;
	for (size_t i = 0; i < d->r->nacts; i++)
		if (d->r->acts[i].proc == proc && d->r->acts[i].call == RC_start)
			s = &d->r->acts[i];
	return s;
}

static int is_root_shep(struct drv *d, int i)
{
	const struct retro_proc *p = &d->r->procs[i];
	int pi = p->parent ? proc_index(d->r, p->parent) : -1;
	return d->shep[i] && (pi < 0 || !d->shep[pi]);
}

static int build_timelines(struct drv *d)
{
	const struct retro_recording *r = d->r;
	int64_t *from = calloc(r->nprocs, sizeof *from);

	d->peers = calloc(r->nacts + 1, sizeof *d->peers);
	d->rts = calloc(r->nacts + 1, sizeof *d->rts);
	if (!from || !d->peers || !d->rts)
		return ENOMEM;
	for (size_t i = 0; i < r->nprocs; i++) {
		from[i] = INT64_MIN;
		if (is_root_shep(d, (int)i)) {
			const struct retro_action *s =
				launch_image(d, r->procs[i].id);
			from[i] = s ? s->start : INT64_MIN;
		}
	}
	for (size_t i = 0; i < r->nacts; i++) {
		const struct retro_action *a = &r->acts[i];
		int pi = proc_index(r, a->proc);
		struct rthread *t;

		if (pi < 0 || d->drop[pi])
			continue;
		if (!d->shep[pi] || a->start < from[pi]) {
			/* a peer's, or what a shepherded root did before the
			 * exec it is re-created from (a shell's redirection) */
			if (!(retro_calls[a->call].flags & F_PSEUDO) ||
			    a->call == RC_landed)
				d->peers[d->npeers++] = a;
			continue;
		}
		if (!sent_by_shim(a))
			continue;
		t = rthread_get(d, a->proc, a->thread);
		if (!t) {
			t = &d->rts[d->nrts++];
			t->proc = a->proc;
			t->thread = a->thread;
		}
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 64;
			t->acts = realloc(t->acts, t->cap * sizeof *t->acts);
			if (!t->acts)
				return ENOMEM;
		}
		t->acts[t->n++] = a;
	}
	free(from);
	return 0;
}

static struct live *live_get(struct drv *d, int32_t pid)
{
	for (size_t i = 0; i < d->nlives; i++)
		if (d->lives[i].pid == pid)
			return &d->lives[i];
	return NULL;
}

static struct live *live_add(struct drv *d, int32_t pid, uint32_t proc,
			     int64_t vstart)
{
	struct live *l;

	d->lives = realloc(d->lives, (d->nlives + 1) * sizeof *d->lives);
	if (!d->lives)
		abort();
	l = &d->lives[d->nlives++];
	memset(l, 0, sizeof *l);
	l->pid = pid;
	l->proc = proc;
	l->vstart = vstart;
	l->since = vstart;
	return l;
}

/* The recorded thread a live thread of l follows: by order of appearance. */
static struct rthread *map_thread(struct drv *d, struct live *l,
				  uint32_t lthread)
{
	for (int i = 0; i < l->nl; i++)
		if (l->lthreads[i] == lthread)
			return l->rts[i];
	if (l->nl == 64)
		return NULL;
	{
		struct rthread *best = NULL;
		for (size_t i = 0; i < d->nrts; i++) {
			struct rthread *t = &d->rts[i];
			if (t->proc != l->proc || t->taken || !t->n)
				continue;
			if (!best || t->acts[0]->start < best->acts[0]->start)
				best = t;
		}
		if (best)
			best->taken = 1;
		l->lthreads[l->nl] = lthread;
		l->rts[l->nl++] = best;
		return best;
	}
}

/* The recorded child of parent that the live child follows: the forkno-th
 * (1-based) child the parent made since its image began, when the shim
 * counted the fork; else the first one no live process follows yet. */
static uint32_t next_child(struct drv *d, uint32_t parent, uint32_t forkno,
			   int64_t since)
{
	const struct retro_proc *best = NULL;
	const struct retro_proc **kids = calloc(d->r->nprocs + 1, sizeof *kids);
	size_t nk = 0;

	for (size_t i = 0; kids && i < d->r->nprocs; i++)
		if (d->r->procs[i].parent == parent &&
		    d->r->procs[i].start >= since)
			kids[nk++] = &d->r->procs[i];
	/* in order of start */
	for (size_t i = 1; i < nk; i++)
		for (size_t k = i; k > 0 && kids[k]->start < kids[k - 1]->start; k--) {
			const struct retro_proc *t = kids[k];
			kids[k] = kids[k - 1];
			kids[k - 1] = t;
		}
	if (forkno) {
		/* the parent's forkno-th recorded fork returned the child's
		 * pid (ids are taken in whatever order the children start) */
		uint32_t k = 0;
		for (size_t i = 0; i < d->r->nacts && !best; i++) {
			const struct retro_action *a = &d->r->acts[i];
			if (a->proc != parent || a->start < since ||
			    (a->call != RC_fork && a->call != RC_vfork) ||
			    a->ret <= 0 || ++k != forkno)
				continue;
			for (size_t j = 0; j < nk; j++)
				if (kids[j]->pid == (int32_t)a->ret)
					best = kids[j];
		}
	}
	if (!best) {
		for (size_t i = 0; i < nk && !best; i++) {
			int taken = 0;
			for (size_t k = 0; k < d->nlives; k++)
				if (d->lives[k].proc == kids[i]->id)
					taken = 1;
			if (!taken)
				best = kids[i];
		}
	}
	free(kids);
	return best ? best->id : 0;
}

/* 1 when the live call is the recorded one, 2 when it is the same call on
 * the same object that writes other bytes, 0 otherwise. */
/* 1 when live is rec but for a run of random characters in its last
 * component: the same length, the same directory, and every differing
 * byte alphanumeric in both, within one run of at least 3 (glibc's
 * mkstemp and mkdtemp replace six X's with letters and digits drawn from
 * the stack's address and a clock read inside libc, which no replay
 * repeats). */
static int random_variant(const char *rec, const char *live)
{
	size_t n = strlen(rec), first = SIZE_MAX, last = 0;
	const char *base;

	if (!rec || strlen(live) != n || !(base = strrchr(rec, '/')))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (rec[i] == live[i])
			continue;
		if (rec + i <= base || !isalnum((unsigned char)rec[i]) ||
		    !isalnum((unsigned char)live[i]))
			return 0;
		if (first == SIZE_MAX)
			first = i;
		last = i;
	}
	if (first == SIZE_MAX || last - first + 1 < 3)
		return 0;
	for (size_t i = first; i <= last; i++)
		if (!isalnum((unsigned char)live[i]))
			return 0;
	return 1;
}

/* Whether live call m is recorded action a: 0 no, 1 yes, 2 yes but it
 * writes other bytes, 3 yes but it makes a name drawn at random, which
 * the recorded one replaces (SHR_NAME). */
static int call_matches(struct drv *d, const struct retro_action *a,
			const struct retro_sh_msg *m)
{
	uint64_t rp;

	if (a->call != m->call)
		return 0;
	rp = act_path(a);
	if (rp != m->path && (m->flags & SHF_EXCL) && a->state == 2 &&
	    !d->o->naive && random_variant(retro_path(d->st, rp), m->pathstr))
		return 3;
	if (rp != m->path) {
		/* Pipes and sockets get new names on every run, and standard
		 * streams outside the root are retro-replay's own: only the
		 * objects of the replay root must be the same. */
		const char *s = retro_path(d->st, rp);
		size_t ol = d->o->output ? strlen(d->o->output) : 0;
		int to_output = ol && strncmp(m->pathstr, d->o->output, ol) == 0 &&
				m->pathstr[ol] == '/';
		/* A live path the recording never named (retro-replay's own
		 * output, say, in a directory the root covers) stands for a
		 * recorded stream outside the root. */
		if (!to_output &&
		    ((s && is_file_path(s) && root_covers(&d->rt, s)) ||
		     (is_file_path(m->pathstr) &&
		      root_covers(&d->rt, m->pathstr) &&
		      retro_path(d->st, m->path))))
			return 0;
	}
	if ((m->flags & SHF_HASH) && (a->flags & RA_DATA) &&
	    !(a->flags & RA_DATA_LOST) &&
	    (a->hash[0] != m->hash[0] || a->hash[1] != m->hash[1]))
		return 2;
	return 1;
}

/* Whether a call can change what anybody observes: it writes, creates,
 * removes or renames, or it touches an object of the replay root.  Calls
 * that do neither (the C library's own getrandom, a stat of a directory on
 * PATH, an fcntl on a terminal) may come and go between runs without the
 * process having diverged. */
static int changes(int call)
{
	const struct retro_call_desc *dd = &retro_calls[call];

	for (int i = 0; i < dd->nargs; i++)
		if (dd->kind[i] == K_FDW || dd->kind[i] == K_PATHW ||
		    dd->kind[i] == K_PATHRM || dd->kind[i] == K_PATHATRM ||
		    dd->kind[i] == K_BUFIN || dd->kind[i] == K_IOVIN)
			return 1;
	return call == RC_mkdir || call == RC_mkdirat || call == RC_link ||
	       call == RC_linkat || call == RC_symlink ||
	       call == RC_symlinkat || call == RC_mkfifo ||
	       call == RC_mkfifoat || call == RC_fork || call == RC_vfork ||
	       call == RC_posix_spawn || call == RC_posix_spawnp ||
	       call == RC_execve || call == RC_kill;
}

static int rec_relevant(struct drv *d, const struct retro_action *a)
{
	const char *s = retro_path(d->st, act_path(a));

	if (changes(a->call))
		return 1;
	if (retro_is_open(a->call) &&
	    (retro_open_flags(a) & (O_CREAT | O_TRUNC | O_ACCMODE)))
		return 1;
	return s && is_file_path(s) && root_covers(&d->rt, s);
}

static int is_clock_read(int call)
{
	return call == RC_clock_gettime || call == RC_gettimeofday ||
	       call == RC_time;
}

/* Does the recorded thread have its clock reads (RETRO_TIME_READS=1)?
 * Then the live thread sends each of its own (retro_shep_clock_read). */
static int has_clock_reads(const struct rthread *t)
{
	for (size_t i = 0; t && i < t->n; i++)
		if (is_clock_read(t->acts[i]->call))
			return 1;
	return 0;
}

/* Is a, the recorded call a live one (number call) was matched with, a
 * poll or a select that timed out (returned 0)? */
static int timed_out(const struct retro_action *a, int call)
{
	return a && a->call == call && a->state == 2 && a->ret == 0 &&
	       (call == RC_poll || call == RC_ppoll || call == RC_select ||
		call == RC_pselect);
}

static int live_relevant(struct drv *d, const struct retro_sh_msg *m)
{
	return changes(m->call) || (m->flags & SHF_HASH) ||
	       (is_file_path(m->pathstr) && root_covers(&d->rt, m->pathstr));
}

/* The recorded bytes of a write, for a report: the first of them. */
static void other_bytes(struct drv *d, struct conn *c,
			const struct retro_action *exp,
			const struct retro_sh_msg *m, int64_t v)
{
	void *data = NULL;
	size_t len = 0;
	uint32_t proc = d->lives[c->pi].proc;
	struct val e = text("(the recorded bytes)");

	if (retro_blob_get(d->st, exp->hash, &data, &len) == 0)
		e = (struct val){ data, len < 60 ? len : 60, 1 };
	divergence(d, proc, 1, exp, exp->call, act_pathstr(d, exp), v, e,
		   (struct val){ m->data,
				 m->datalen < sizeof m->data ? m->datalen
							     : sizeof m->data,
				 1 });
	free(data);
}

/* A live exclusive create matched recorded action a but for its random
 * part: the recorded name goes with the reply (SHR_NAME). */
static void send_name(struct conn *c, const struct retro_action *a,
		      struct drv *d)
{
	const char *rec = retro_path(d->st, act_path(a));
	const char *base = strrchr(rec, '/') + 1;

	free(c->feed);
	c->nfeed = strlen(base);
	c->feed = c->nfeed <= RETRO_SH_FEED ? strdup(base) : NULL;
	c->feed_name = c->feed != NULL;
}

/* Follows the recording: the moment of the live call on V. */
static int64_t follow(struct drv *d, struct conn *c,
		      const struct retro_sh_msg *m)
{
	struct rthread *t = c->rt;
	int64_t v = c->v + (m->cpu > c->cpu ? m->cpu - c->cpu : 0);
	const struct retro_action *exp = t && c->cur < t->n ? t->acts[c->cur]
							    : NULL;
	int mt;

	if (getenv("RETRO_RUN_DEBUG"))
		fprintf(stderr, "[run] pid %d type %u %s(%u) %s; expected %s(%u) "
				"%s: %d\n",
			(int)m->pid, m->type, retro_calls[m->call].name, m->call,
			m->pathstr, exp ? retro_calls[exp->call].name : "-",
			exp ? exp->call : 0, exp ? act_pathstr(d, exp) : "",
			exp ? call_matches(d, exp, m) : -1);
	c->last = NULL;
	if (exp && (mt = call_matches(d, exp, m))) {
		c->last = exp;
		c->cur++;
		c->diverged = 0;
		v = exp->start - d->lives[c->pi].shift;
		if (v < c->v)
			v = c->v;
		if (mt == 2)
			other_bytes(d, c, exp, m, v);
		if (mt == 3)
			send_name(c, exp, d);
		/* a new image counts its forks afresh (next_child) */
		if (exp->call >= RC_execve && exp->call <= RC_execveat &&
		    exp->state == 2 && exp->ret == 0 && c->pi >= 0)
			d->lives[c->pi].since = exp->start;
		return v;
	}
	/* a live call that would be fed recorded input (getrandom, a read of
	 * /dev/urandom, a terminal or a socket: none of them in the root) and
	 * is not the one expected is an extra one: it does not re-align the
	 * thread, since matching it further on would hand it a later call's
	 * recorded bytes (mkstemp and mkdtemp call getrandom only when their
	 * first, clock-drawn value was unfair) */
	if ((m->call == RC_getrandom || m->call == RC_read ||
	     m->call == RC_readv) &&
	    !live_relevant(d, m))
		return v;
	/* nor does a clock read the recording does not have here (it was
	 * made through the vDSO, or the program reads its clock more often
	 * now): it reads V */
	if (is_clock_read(m->call))
		return v;
	/* re-align where the calls line up again */
	for (size_t k = c->cur + 1; t && k < t->n && k < c->cur + 64; k++) {
		int mk = call_matches(d, t->acts[k], m);
		if (mk == 3)
			send_name(c, t->acts[k], d);
		if (mk == 1 || mk == 3) {
			const struct retro_action *s = NULL;
			for (size_t j = c->cur; j < k && !s; j++)
				if (rec_relevant(d, t->acts[j]))
					s = t->acts[j];
			if (!c->diverged && s)
				divergence(d, s->proc, 1, s, s->call,
					   act_pathstr(d, s), s->start,
					   text("this call"), text("not issued"));
			c->cur = k + 1;
			c->diverged = 0;
			c->last = t->acts[k];
			v = t->acts[k]->start - d->lives[c->pi].shift;
			return v > c->v ? v : c->v;
		}
	}
	if (!live_relevant(d, m))
		return v; /* an extra call that changes nothing observable */
	if (!c->diverged) {
		char obs[PATH_MAX + 64];
		const char *mp = m->pathstr;
		uint32_t proc = d->lives[c->pi].proc;
		snprintf(obs, sizeof obs, "%s %s", retro_calls[m->call].name,
			 mp ? mp : "");
		if (exp) {
			char e[PATH_MAX + 64];
			snprintf(e, sizeof e, "%s %s", retro_calls[exp->call].name,
				 act_pathstr(d, exp));
			divergence(d, proc, 1, exp, exp->call, act_pathstr(d, exp),
				   v, text(e), text(obs));
		} else {
			divergence(d, proc, 1, NULL, m->call, mp ? mp : "", v,
				   text("(end of the recorded calls)"), text(obs));
		}
		c->diverged = 1;
	}
	return v;
}

/* The pid a recorded fork, vfork or posix_spawn gave its child, or 0. */
static pid_t fork_child_pid(const struct retro_action *a)
{
	if ((a->call == RC_fork || a->call == RC_vfork) && a->ret > 0)
		return (pid_t)a->ret;
	if ((a->call == RC_posix_spawn || a->call == RC_posix_spawnp) &&
	    a->ret == 0)
		return (pid_t)(int32_t)a->arg[0];
	return 0;
}

static void reply(struct drv *d, struct conn *c, int64_t v)
{
	drv_sync(d); /* the process runs: it sees the peers' writes */
	struct retro_sh_reply rp = { .v = v, .rtoff = d->rtoff,
				     .flags = d->o->naive ? SHR_NAIVE : 0 };
	c->v = v;
	c->state = C_RUN;
	c->replied = mono_ns();
	if (c->feed)
		rp.flags |= SHR_DATA | (c->feed_name ? SHR_NAME : 0);
	c->feed_name = 0;
	if (c->hello) {
		/* its recorded parent's pid, for getppid while its live
		 * parent is the one it has now */
		const struct retro_proc *p =
			c->pi >= 0 ? retro_proc_find(d->r, d->lives[c->pi].proc)
				   : NULL;
		c->hello = 0;
		if (c->lane)
			rp.flags |= SHR_LANE;
		if (!d->o->naive && has_clock_reads(c->rt))
			rp.flags |= SHR_TIMEREADS;
		if (p && p->ppid > 0) {
			rp.flags |= SHR_PPID;
			rp.ret = p->ppid;
		}
	} else if (c->last && c->last->state == 2 && d->rt.pidns) {
		/* a fork that follows its recording: the child gets the
		 * recorded pid, when it is free */
		pid_t kid = fork_child_pid(c->last);
		if (kid > 0)
			root_next_pid(kid);
	}
	if (c->answer) {
		rp.flags |= SHR_SKIP;
		rp.ret = c->answer->pid;
		rp.status = c->answer->status;
		c->answer = NULL;
	}
	if (c->via_lane) {
		struct retro_sh_lane *L = c->lane;
		c->via_lane = 0;
		if (c->feed) {
			/* bytes go on the socket, and the answer before them */
			if (write(c->fd, &rp, sizeof rp) != (ssize_t)sizeof rp ||
			    write(c->fd, c->feed, c->nfeed) != (ssize_t)c->nfeed)
				c->state = C_DEAD;
			L->onsock = 1;
		} else {
			L->reply = rp;
			L->onsock = 0;
		}
		__atomic_store_n(&L->rep, c->lane_seen, __ATOMIC_RELEASE);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&L->shim_waits, __ATOMIC_RELAXED))
			syscall(SYS_futex, &L->rep, FUTEX_WAKE, 1, NULL, NULL, 0);
	} else if (write(c->fd, &rp, sizeof rp) != (ssize_t)sizeof rp ||
		   (c->feed &&
		    write(c->fd, c->feed, c->nfeed) != (ssize_t)c->nfeed)) {
		c->state = C_DEAD;
	}
	free(c->feed);
	c->feed = NULL;
}

/* A matched call that took bytes from outside the model (getrandom, a
 * read of /dev/urandom): while the process follows its recording, it gets
 * the recorded bytes again. */
static void feed_input(struct drv *d, struct conn *c,
		       const struct retro_sh_msg *m)
{
	const struct retro_action *a = c->last;
	const char *p;
	void *data = NULL;
	size_t len = 0;

	if (!a || a->state != 2 || a->ret < 0 || !(a->flags & RA_DATA) ||
	    (a->flags & RA_DATA_LOST) || d->o->naive)
		return;
	if (m->call == RC_read) {
		p = retro_path(d->st, a->obj);
		if (!p || (strcmp(p, "/dev/urandom") && strcmp(p, "/dev/random")))
			return;
	} else if (m->call != RC_getrandom) {
		return;
	}
	if (retro_blob_get(d->st, a->hash, &data, &len) != 0)
		return;
	if (len > RETRO_SH_FEED || len != (size_t)a->ret) {
		free(data);
		return;
	}
	free(c->feed);
	c->feed = data;
	c->nfeed = len;
}

/* Input from outside the recording: a terminal, or a socket. */
static int outside_input(const char *p)
{
	return p && (strncmp(p, "/dev/pts/", 9) == 0 ||
		     strncmp(p, "/dev/tty", 8) == 0 ||
		     strcmp(p, "/dev/console") == 0 ||
		     strncmp(p, "socket:[", 8) == 0);
}

/* A read of a terminal or a socket that matched its recording: it gets
 * the bytes it read then (kept by the recorder), or the end of input;
 * a read that failed then is issued for real.  Returns 1 when fed. */
static int feed_outside(struct drv *d, struct conn *c)
{
	const struct retro_action *a = c->last;
	void *data = NULL;
	size_t len = 0;

	if (!a || a->state != 2 || (a->call != RC_read && a->call != RC_readv) ||
	    a->ret < 0 || d->o->naive ||
	    !outside_input(retro_path(d->st, a->obj)))
		return 0;
	if (a->ret > 0) {
		if (!(a->flags & RA_DATA) || (a->flags & RA_DATA_LOST) ||
		    retro_blob_get(d->st, a->hash, &data, &len) != 0)
			return 0;
		if (len != (size_t)a->ret || len > RETRO_SH_FEED_MAX) {
			free(data);
			return 0;
		}
	} else if (!(data = malloc(1))) {
		return 0;
	}
	free(c->feed);
	c->feed = data;
	c->nfeed = len;
	return 1;
}

/* Naive mode: a shepherded action sits at its wall-clock offset. */
static int64_t naive_v(struct drv *d, struct conn *c)
{
	return d->lives[c->pi].vstart + (mono_ns() - d->wall0);
}

static int is_wait(int call);

/* The previous call matched its recording: did it also succeed or fail as
 * recorded?  An open that now fails, a stat that now finds the file: the
 * process has diverged. */
/* The recorded wait a matched to: the peer child it returned, when that
 * child was not re-executed (a child the process's image before its exec
 * started, `cmd & exec waiter $!` in a shell), or NULL. */
static const struct retro_proc *peer_child(struct drv *d, struct conn *c,
					   const struct retro_action *a)
{
	uint32_t me = c->pi >= 0 ? d->lives[c->pi].proc : 0;
	int32_t pid = a ? waited_pid(a) : 0;

	if (!a || !me || pid <= 0 || !is_wait(a->call))
		return NULL;
	for (size_t i = 0; i < d->r->nprocs; i++) {
		const struct retro_proc *q = &d->r->procs[i];
		if (q->pid == pid && q->parent == me &&
		    !d->shep[i] && (q->flags & RP_EXITED))
			return q;
	}
	return NULL;
}

/* The thread is blocked in a wait for a live child: it is told so, and
 * stays blocked. */
static void reply_blocked(struct drv *d, struct conn *c)
{
	struct retro_sh_reply rp = { .v = c->v, .rtoff = d->rtoff,
				     .flags = d->o->naive ? SHR_NAIVE : 0 };

	drv_sync(d);
	c->replied = mono_ns();
	if (write(c->fd, &rp, sizeof rp) != (ssize_t)sizeof rp)
		c->state = C_DEAD;
}

static void check_result(struct drv *d, struct conn *c,
			 const struct retro_sh_msg *m)
{
	const struct retro_action *a = c->last;
	char e[64], o[64];

	if (!a || !m->prev_valid || a->state != 2 || a->err == m->prev_err ||
	    !rec_relevant(d, a))
		return;
	snprintf(e, sizeof e, "%s", a->err ? strerrorname_np(a->err) : "success");
	snprintf(o, sizeof o, "%s",
		 m->prev_err ? strerrorname_np(m->prev_err) : "success");
	divergence(d, a->proc, 1, a, a->call, act_pathstr(d, a), c->v, text(e),
		   text(o));
}

static void on_msg(struct drv *d, struct conn *c, const struct retro_sh_msg *m)
{
	int64_t v;

	if (m->type != SH_HELLO) {
		check_result(d, c, m);
		if (m->type != SH_WAKE && m->type != SH_SETCLOCK)
			c->last = NULL;
	}

	switch (m->type) {
	case SH_HELLO: {
		struct live *l = live_get(d, m->pid);
		if (!l) {
			struct live *pl = live_get(d, m->ppid);
			uint32_t proc = pl ? next_child(d, pl->proc, m->forkno,
							pl->since)
					   : 0;
			const struct retro_proc *p = retro_proc_find(d->r, proc);
			/* --scale: as much earlier as its parent runs */
			int64_t vs = p ? p->start - (pl ? pl->shift : 0) : d->V;
			if (pl) {
				/* a child starts no earlier than its fork */
				for (size_t k = 0; k < d->nconns; k++)
					if (d->conns[k].pi == (int)(pl - d->lives) &&
					    d->conns[k].v > vs)
						vs = d->conns[k].v;
			}
			/* naive: every action at its wall-clock offset
			 * from its root's start, children's too (from their
			 * own recorded start, a child of a squeezed sleep
			 * would act as late as recorded) */
			if (pl && d->o->naive)
				vs = pl->vstart;
			if (!proc)
				emit(d, "H note: pid %d is a child the recording "
					"does not have; it runs unmatched",
				     (int)m->pid);
			l = live_add(d, m->pid, proc, vs);
			/* its own forks are counted from its recorded start,
			 * not from when its parent's clock let it go (which
			 * can be past its first fork) */
			if (p)
				l->since = p->start;
			if (pl)
				l->shift = pl->shift;
			if (getenv("RETRO_RUN_DEBUG"))
				fprintf(stderr, "[run] pid %d (parent pid %d, "
						"fork %u) follows process %u\n",
					(int)m->pid, (int)m->ppid, m->forkno, proc);
		}
		l->ppid = m->ppid;
		c->hello = 1;
		c->pid = m->pid;
		c->tid = m->tid;
		c->pi = (int)(l - d->lives);
		l->hello = 1;
		c->lthread = m->thread;
		c->rt = map_thread(d, l, m->thread);
		c->cpu = m->cpu;
		v = l->vstart > d->V ? l->vstart : d->V;
		if (d->o->naive)
			v = naive_v(d, c);
		c->pend_v = v;
		c->state = C_PEND;
		return;
	}
	case SH_CALL:
	case SH_BLOCK:
	case SH_SLEEP:
		/* seen, but not on the virtual timeline: said in the report */
		if (m->call == RC_alarm && d->o->naive)
			d->unsupported[m->call]++;
		/* a wait the recording has no call for is on the timeline,
		 * but not matched */
		v = (m->flags & SHF_UNRECORDED)
			    ? c->v + (m->cpu > c->cpu ? m->cpu - c->cpu : 0)
			    : follow(d, c, m);
		if (m->type == SH_SLEEP && !d->o->naive) {
			/* the sleep advances the clock to its deadline; what
			 * peers do meanwhile happens inside it.  When the
			 * recorded sleep it matched took longer (a loaded
			 * machine ran the program late: an alarm of 2 s cut
			 * a sleep that returned after 2.4), as long as that:
			 * the thread's clock follows its recording, and a
			 * clock read before its next action gives what it
			 * gave then, not 0.4 s less. */
			int64_t from = c->v > v ? c->v : v;
			int64_t arg = (int64_t)m->arg, len;
			const struct retro_action *a = c->last;
			if (a && a->state == 2 && a->call == m->call &&
			    a->end - a->start > arg)
				arg = a->end - a->start;
			len = (int64_t)((double)arg * d->o->scale);
			v = from + len;
			if (c->pi >= 0)
				d->lives[c->pi].shift += arg - len;
		}
		if (d->o->naive)
			v = naive_v(d, c);
		c->cpu = m->cpu;
		if (m->type == SH_BLOCK && (m->flags & SHF_ASK) &&
		    (c->answer = peer_child(d, c, c->last))) {
			/* answered when V reaches the wait's recorded end,
			 * after the child's recorded exit */
			int64_t end = c->last->end - d->lives[c->pi].shift;
			c->pend_v = d->o->naive ? v : end > v ? end : v;
			c->pend_call = m->call;
			c->state = C_PEND;
			return;
		}
		if (m->type == SH_BLOCK && (m->flags & SHF_ASK) &&
		    (m->call == RC_read || m->call == RC_readv) &&
		    feed_outside(d, c)) {
			/* the recorded bytes, when they came: the read
			 * returns at its recorded end */
			int64_t end = c->last->end - d->lives[c->pi].shift;
			c->pend_v = d->o->naive ? v : end > v ? end : v;
			c->pend_call = m->call;
			c->state = C_PEND;
			return;
		}
		if (m->type == SH_BLOCK) {
			c->v = v;
			if (m->flags & SHF_ASK)
				reply_blocked(d, c);
			c->pend_call = m->call;
			c->wait_pid = m->arg;
			c->state = C_BLOCK;
			c->deadline = m->timeout >= 0 ? v + m->timeout : -1;
			/* A poll or select that timed out when recorded, later
			 * than asked (a loaded machine, a stop): it times out
			 * where it did then, as a squeezed sleep does. */
			if (c->deadline >= 0 && !d->o->naive &&
			    timed_out(c->last, m->call)) {
				int64_t end = c->last->end -
					      (c->pi >= 0 ? d->lives[c->pi].shift
							  : 0);
				if (end > c->deadline)
					c->deadline = end;
			}
			/* a child that ended before the wait: it returns now */
			c->expect_wake = 0;
			for (size_t k = 0; k < d->nlives && is_wait(m->call); k++)
				if (d->lives[k].ended && !d->lives[k].claimed &&
				    d->lives[k].ppid == m->pid &&
				    (m->arg == -1 || m->arg == d->lives[k].pid))
					c->expect_wake = 1;
			return;
		}
		if (m->type == SH_CALL)
			feed_input(d, c, m);
		c->pend_v = v;
		c->pend_call = m->call;
		c->state = C_PEND;
		return;
	case SH_SETCLOCK: {
		/* V's realtime moves for everyone after this moment; the
		 * host's clock never does.  A call that failed when recorded
		 * (no permission) fails again while the thread follows. */
		struct retro_sh_reply rp = { .v = c->v };
		const struct retro_action *a = c->last;
		if (a && a->state == 2 && a->err)
			rp.flags |= SHR_DENIED;
		else if (!d->o->naive)
			d->rtoff = m->arg - c->v;
		c->last = NULL;
		rp.rtoff = d->rtoff;
		rp.flags |= d->o->naive ? SHR_NAIVE : 0;
		drv_sync(d);
		c->replied = mono_ns();
		if (write(c->fd, &rp, sizeof rp) != (ssize_t)sizeof rp)
			c->state = C_DEAD;
		return;
	}
	case SH_WAKE:
		c->expect_wake = 0;
		c->deadline = -1;
		if (is_wait(m->call) && m->arg > 0) {
			struct live *k = live_get(d, (int32_t)m->arg);
			if (k) {
				k->claimed = 1;
				if (c->pi >= 0 && k->shift > d->lives[c->pi].shift)
					d->lives[c->pi].shift = k->shift;
			}
		}
		c->cpu = m->cpu;
		v = c->v > d->V ? c->v : d->V;
		if (d->o->naive)
			v = naive_v(d, c);
		c->pend_v = v;
		c->state = C_PEND;
		return;
	case SH_THREAD: {
		/* the recorded thread the new one will follow (map_thread
		 * takes it at its first message): its id, when it is free */
		struct retro_sh_reply rp = { .rtoff = d->rtoff,
					     .flags = d->o->naive ? SHR_NAIVE : 0 };
		const struct rthread *best = NULL;
		uint32_t proc = c->pi >= 0 ? d->lives[c->pi].proc : 0;
		for (size_t i = 0; proc && i < d->nrts; i++) {
			const struct rthread *t = &d->rts[i];
			if (t->proc == proc && !t->taken && t->n &&
			    (!best || t->acts[0]->start < best->acts[0]->start))
				best = t;
		}
		if (best && d->rt.pidns && best->acts[0]->tid > 0)
			root_next_pid(best->acts[0]->tid);
		/* the thread's clock goes on as it was */
		c->v += m->cpu > c->cpu ? m->cpu - c->cpu : 0;
		c->cpu = m->cpu;
		rp.v = d->o->naive ? naive_v(d, c) : c->v;
		c->replied = mono_ns();
		if (write(c->fd, &rp, sizeof rp) != (ssize_t)sizeof rp)
			c->state = C_DEAD;
		return;
	}
	case SH_NOTE:
		/* no answer: the thread goes on */
		if (m->arg > 0 && m->arg < SHN_NKINDS)
			d->notes[m->arg]++;
		return;
	default:
		c->state = C_DEAD;
	}
}

static char tstate(int32_t pid, int32_t tid);

/* Real time a running thread must have been asleep in a call the driver
 * does not see (a mutex, pthread_join) before it holds nobody back: long
 * enough that a thread just answered, not yet back from its read of the
 * answer, is not taken for one. */
#define ASLEEP_NS 50000000

/* 1 when c runs, as far as the driver knows, but its thread has been
 * asleep in the kernel for a while: blocked in a call the driver does not
 * model, which holds nobody back (semantics.md, "Scheduling").  Also 1
 * when the thread has ended: a thread's connection closes with its
 * process, not with it. */
static int asleep(const struct conn *c)
{
	char st;

	/* a thread answered less than ASLEEP_NS ago is not asleep; if it
	 * is gone, its connection's end shows soon (and /proc is not read
	 * on every message) */
	if (c->state != C_RUN || c->tid <= 0 ||
	    mono_ns() - c->replied < ASLEEP_NS)
		return 0;
	st = tstate(c->pid, c->tid);
	if (st == 0 || st == 'Z' || st == 'X')
		return 1; /* the thread is gone; its connection is not yet */
	return st == 'S' && mono_ns() - c->replied >= ASLEEP_NS;
}

static char pstate(int32_t pid);

/* 1 when l is a process the driver started (or saw forked) that is on
 * its way to its first call: it never connected, it runs, and it is not
 * asleep in the kernel (a program that runs without the shim never
 * connects, and must not hold the others back for ever). */
static int starting(const struct live *l)
{
	char st;

	if (l->hello || l->ended)
		return 0;
	st = pstate(l->pid);
	return st == 'R' || st == 'D';
}

/* Conservative scheduling: release the pending thread with the smallest
 * moment once no running thread could still act before it, counting the
 * processes on their way to their first call at the moment they start. */
static int schedule(struct drv *d)
{
	int progressed = 0;

	for (;;) {
		struct conn *best = NULL;
		int64_t lo = INT64_MAX;
		for (size_t i = 0; i < d->nconns; i++) {
			struct conn *c = &d->conns[i];
			if (c->state == C_PEND && (!best || c->pend_v < best->pend_v))
				best = c;
		}
		for (size_t i = 0; best && i < d->nconns; i++) {
			struct conn *c = &d->conns[i];
			if (c->state == C_RUN && c->v < lo &&
			    (c->v >= best->pend_v || !asleep(c)))
				lo = c->v;
		}
		for (size_t i = 0; best && i < d->nlives; i++)
			if (d->lives[i].vstart < lo && starting(&d->lives[i]))
				lo = d->lives[i].vstart;
		/* a timed wait that ends first ends first (fire_timeout) */
		for (size_t i = 0; best && i < d->nconns; i++) {
			struct conn *c = &d->conns[i];
			if (c->state == C_BLOCK && c->deadline >= 0 &&
			    c->deadline < lo)
				lo = c->deadline;
		}
		if (!best || (!d->o->naive && best->pend_v > lo))
			return progressed;
		advance(d, best->pend_v);
		reply(d, best, best->pend_v);
		progressed = 1;
	}
}

/* The state letter of pid ('R', 'S', 'Z'...), or 0 when it is gone. */
static char tstate(int32_t pid, int32_t tid);

static char pstate(int32_t pid)
{
	return tstate(pid, 0);
}

/* The state letter of thread tid of pid (of pid itself when tid is 0). */
static char tstate(int32_t pid, int32_t tid)
{
	char path[64], buf[256];
	ssize_t n;
	int fd;
	char *p;

	if (tid)
		snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid,
			 (int)tid);
	else
		snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')'); /* the state follows the command's name */
	return p && p[1] == ' ' ? p[2] : 0;
}

static int running(int32_t pid)
{
	char c = pstate(pid);
	return c && c != 'Z' && c != 'X';
}

static int is_wait(int call)
{
	return call == RC_wait || call == RC_waitpid || call == RC_waitid ||
	       call == RC_wait3 || call == RC_wait4;
}

/* 1 when pid has a thread that runs and has not said hello yet: a thread
 * just created, on its way to its first call. */
static int new_thread(const struct drv *d, int32_t pid)
{
	char path[64];
	DIR *dir;
	struct dirent *e;
	int found = 0;

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while (!found && (e = readdir(dir))) {
		long tid = strtol(e->d_name, NULL, 10);
		int known = 0;
		if (tid <= 0)
			continue;
		for (size_t k = 0; k < d->nconns && !known; k++)
			known = d->conns[k].pid == pid && d->conns[k].tid == tid;
		if (!known && tstate(pid, (int32_t)tid) == 'R')
			found = 1;
	}
	closedir(dir);
	return found;
}

/* 1 when a shepherded process is about to act though none of its threads
 * has asked: it runs without a connection yet (just forked or exec'd, not
 * yet through the shim's first call), or it waits for a child that has
 * already ended. */
static int unconnected(const struct drv *d)
{
	for (size_t i = 0; i < d->nlives; i++) {
		const struct live *l = &d->lives[i];
		char path[64], buf[4096];
		ssize_t n;
		int fd, conn = 0;

		for (size_t k = 0; k < d->nconns; k++)
			if (d->conns[k].pi == (int)i) {
				conn = 1;
				if (d->conns[k].expect_wake)
					return 1; /* its wait returns now */
			}
		/* not connected and running; or gone since notice_ends
		 * looked, so that a parent waiting for it may be waking
		 * without expect_wake yet: the next round marks it */
		if (!conn && !l->ended)
			return 1;
		if (conn && new_thread(d, l->pid))
			return 1;
		/* its children that have not said hello */
		snprintf(path, sizeof path, "/proc/%d/task/%d/children",
			 (int)l->pid, (int)l->pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		buf[n > 0 ? n : 0] = 0;
		for (char *p = buf, *e; *p; p = e) {
			long pid = strtol(p, &e, 10);
			if (e == p)
				break;
			int known = 0;
			for (size_t k = 0; k < d->nlives && !known; k++)
				known = d->lives[k].pid == pid;
			if (!known && running((int32_t)pid))
				return 1;
		}
	}
	return 0;
}

/* Notices shepherded processes that ended: a parent blocked in a wait for
 * one of them is about to return from it, and holds the peers back until
 * it says so. */
static void notice_ends(struct drv *d)
{
	for (size_t i = 0; i < d->nlives; i++) {
		struct live *l = &d->lives[i];
		int conn = 0;
		if (l->ended)
			continue;
		for (size_t k = 0; k < d->nconns && !conn; k++)
			conn = d->conns[k].pi == (int)i;
		if (conn || running(l->pid))
			continue;
		l->ended = 1;
		for (size_t k = 0; k < d->nconns; k++) {
			struct conn *c = &d->conns[k];
			if (c->state == C_BLOCK && is_wait(c->pend_call) &&
			    c->pi >= 0 && d->lives[c->pi].pid == l->ppid &&
			    (c->wait_pid == -1 || c->wait_pid == l->pid))
				c->expect_wake = 1;
		}
	}
}

/* 1 when there are threads and every one waits in a call the driver does
 * not model (a pipe read, a wait), and no shepherded process is on its way
 * to connecting. */
static int all_blocked(const struct drv *d)
{
	for (size_t i = 0; i < d->nconns; i++)
		if (d->conns[i].state != C_BLOCK && !asleep(&d->conns[i]))
			return 0;
	return d->nconns > 0 && !unconnected(d);
}

/* Every thread is blocked, or waits to be let go at a moment on V
 * (schedule holds it while a timed wait ends before that moment): a
 * timed wait may then time out. */
static int all_waiting(const struct drv *d)
{
	for (size_t i = 0; i < d->nconns; i++)
		if (d->conns[i].state != C_BLOCK &&
		    d->conns[i].state != C_PEND && !asleep(&d->conns[i]))
			return 0;
	return d->nconns > 0 && !unconnected(d);
}

/* Real time every thread must have been quiet before a timed wait times
 * out: a thread woken by another (a condition variable signalled, bytes
 * written to a pipe) says so within it. */
#define QUIET_NS 10000000

/* Every thread is blocked: when the earliest deadline of a timed wait
 * comes before the next peer action, nothing can wake that thread before
 * it, and its wait times out there on V (in naive mode, at once).  Says
 * so to the thread and returns 1; -1 when it will, once all have been
 * quiet a little longer; else 0. */
static int fire_timeout(struct drv *d)
{
	struct conn *best = NULL;
	struct retro_sh_reply rp = { .rtoff = d->rtoff,
				     .flags = SHR_TIMEOUT };

	for (size_t i = 0; i < d->nconns; i++) {
		struct conn *c = &d->conns[i];
		if (c->state == C_BLOCK && c->deadline >= 0 &&
		    (!best || c->deadline < best->deadline))
			best = c;
	}
	if (!best)
		return 0;
	if (!d->o->naive && d->pi < d->npeers &&
	    d->peers[d->pi]->start < best->deadline)
		return 0;
	for (size_t i = 0; i < d->nconns; i++)
		if (d->conns[i].state == C_PEND &&
		    (d->o->naive || d->conns[i].pend_v < best->deadline))
			return 0; /* it goes first */
	if (mono_ns() - d->last_msg < QUIET_NS)
		return -1;
	if (d->o->naive) {
		rp.flags |= SHR_NAIVE;
		rp.v = naive_v(d, best);
	} else {
		rp.v = best->deadline > d->V ? best->deadline : d->V;
		advance(d, rp.v);
	}
	if (getenv("RETRO_RUN_DEBUG"))
		fprintf(stderr, "[run] pid %d: its timed wait ends at %.6fs\n",
			(int)best->pid, rel_s(d->r, rp.v));
	best->v = rp.v;
	best->deadline = -1;
	best->state = C_RUN;
	drv_sync(d);
	if (write(best->fd, &rp, sizeof rp) != (ssize_t)sizeof rp)
		best->state = C_DEAD;
	return 1;
}

/* Takes one message from c's socket (MSG_DONTWAIT in flags: only if one
 * is there).  A HELLO may bring the thread's lane.  Returns 1 when it took
 * one, 0 when there was none. */
static int conn_read(struct drv *d, struct conn *c, int flags)
{
	static struct retro_sh_msg m;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { &m, sizeof m };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cm.buf,
			     .msg_controllen = sizeof cm.buf };
	struct cmsghdr *h;
	ssize_t k = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC | flags);
	int fd = -1;

	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	for (h = k > 0 ? CMSG_FIRSTHDR(&mh) : NULL; h; h = CMSG_NXTHDR(&mh, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
		    h->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(h), sizeof fd);
	if (k <= (ssize_t)RETRO_SH_MSG_HDR) {
		if (fd >= 0)
			close(fd);
		c->state = C_DEAD;
		return 1;
	}
	if (fd >= 0) {
		struct stat sb;
		if (m.type == SH_HELLO && !c->lane && !d->o->no_lane &&
		    fstat(fd, &sb) == 0 &&
		    sb.st_size >= (off_t)RETRO_SH_LANE_SIZE) {
			void *p = mmap(NULL, RETRO_SH_LANE_SIZE,
				       PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (p != MAP_FAILED) {
				c->lane = p;
				c->lane_seen = __atomic_load_n(&c->lane->req,
							       __ATOMIC_ACQUIRE);
				if (getenv("RETRO_RUN_DEBUG"))
					fprintf(stderr, "[run] pid %d thread %u: "
							"a lane\n",
						(int)m.pid, m.thread);
			}
		}
		close(fd);
	}
	d->last_msg = mono_ns();
	if (m.type == SH_LANE)
		return 1; /* a doorbell: lanes_take looks */
	c->sock_got++;
	((char *)&m)[k - 1] = 0;
	on_msg(d, c, &m);
	return 1;
}

static int lane_pending(const struct conn *c)
{
	return c->lane && c->state != C_DEAD &&
	       __atomic_load_n(&c->lane->req, __ATOMIC_ACQUIRE) != c->lane_seen;
}

static int lanes_pending(const struct drv *d)
{
	for (size_t i = 0; i < d->nconns; i++)
		if (lane_pending(&d->conns[i]))
			return 1;
	return 0;
}

/* Says in every lane whether the driver sleeps (shepherd.h). */
static void lanes_sleep(struct drv *d, uint32_t on)
{
	for (size_t i = 0; i < d->nconns; i++)
		if (d->conns[i].lane)
			__atomic_store_n(&d->conns[i].lane->drv_sleeps, on,
					 __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* The messages waiting in lanes, each after what its thread sent on its
 * socket before it. */
static void lanes_take(struct drv *d)
{
	static struct retro_sh_msg lm;

	for (size_t i = 0; i < d->nconns; i++) {
		struct conn *c = &d->conns[i];
		uint32_t req;
		size_t n;
		if (!lane_pending(c))
			continue;
		req = __atomic_load_n(&c->lane->req, __ATOMIC_ACQUIRE);
		while (c->state != C_DEAD && c->sock_got < c->lane->sock_sent)
			if (!conn_read(d, c, MSG_DONTWAIT))
				break;
		if (c->state == C_DEAD || c->sock_got < c->lane->sock_sent)
			continue; /* (not there yet: next time) */
		memcpy(&lm, &c->lane->msg, RETRO_SH_MSG_HDR);
		n = strnlen(c->lane->msg.pathstr, sizeof lm.pathstr - 1);
		memcpy(lm.pathstr, c->lane->msg.pathstr, n);
		lm.pathstr[n] = 0;
		c->lane_seen = req;
		c->via_lane = 1;
		d->last_msg = mono_ns();
		on_msg(d, c, &lm);
	}
}

static void drop_conn(struct drv *d, size_t i)
{
	close(d->conns[i].fd);
	if (d->conns[i].lane)
		munmap(d->conns[i].lane, RETRO_SH_LANE_SIZE);
	d->conns[i] = d->conns[--d->nconns];
}

/* Builds the environment of a re-created process: as recorded, with the
 * shim in shepherd mode. */
static char **make_env(struct drv *d, const struct retro_action *img,
		       const char *sock, const char *store)
{
	void *data = NULL;
	size_t len = 0, n = 0;
	char **env;

	if (img && retro_blob_get(d->st, img->hash, &data, &len))
		data = NULL, len = 0;
	for (size_t i = 0; i < len; i++)
		if (((char *)data)[i] == 0)
			n++;
	env = calloc(n + 8, sizeof *env);
	if (!env) {
		free(data);
		return NULL;
	}
	n = 0;
	for (size_t i = 0; i < len;) {
		char *s = (char *)data + i;
		size_t l = strnlen(s, len - i);
		if (strncmp(s, "LD_PRELOAD=", 11) && strncmp(s, "RETRO_", 6))
			env[n++] = strndup(s, l);
		i += l + 1;
	}
	if (asprintf(&env[n++], "LD_PRELOAD=%s", d->o->shim) < 0 ||
	    asprintf(&env[n++], "RETRO_STORE=%s", store) < 0 ||
	    asprintf(&env[n++], "RETRO_SHEPHERD=%s", sock) < 0)
		return NULL;
	env[n] = NULL;
	free(data);
	return env;
}

/* When a peer writes into the recorded pipe obj, makes the real pipe that
 * feeds it (first call: before the peers' timeline starts, so that no
 * byte is missed) and hands its read end over (second call, at launch);
 * else -1. */
static int feed_pipe(struct drv *d, uint64_t obj)
{
	const char *s = retro_path(d->st, obj);
	size_t last = SIZE_MAX;
	int writes = 0, p[2];
	struct feed *f;

	if (!s || strncmp(s, "pipe:", 5) != 0)
		return -1;
	for (size_t i = 0; i < d->nfeeds; i++)
		if (d->feeds[i].obj == obj) {
			int r = d->feeds[i].rfd;
			d->feeds[i].rfd = -1; /* the launched process's now */
			return r;
		}
	for (size_t i = 0; i < d->npeers; i++)
		if (d->peers[i]->obj == obj) {
			last = i;
			if (d->peers[i]->call == RC_write ||
			    d->peers[i]->call == RC_writev)
				writes = 1;
		}
	if (!writes || pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	f = realloc(d->feeds, (d->nfeeds + 1) * sizeof *f);
	if (!f) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	d->feeds = f;
	f = &d->feeds[d->nfeeds++];
	f->obj = obj;
	f->wfd = p[1];
	f->rfd = p[0];
	f->last = last;
	return -1;
}

/* Starts a shepherded root from its recorded exec.  Returns its pid. */
static pid_t launch(struct drv *d, int pidx, const char *sock)
{
	const struct retro_proc *p = &d->r->procs[pidx];
	const struct retro_action *s = launch_image(d, p->id), *img = NULL;
	char store[PATH_MAX], **env, **argv;
	const char *exe, *cwd = "/";
	void *args = NULL;
	size_t alen = 0, na = 0;
	mode_t um = 022;
	struct { int fd; const char *path; int flags; int rfd; } fds[16];
	int nfds = 0;
	pid_t pid;

	if (!s)
		return -1;
	exe = retro_path(d->st, s->arg[0]);
	for (const struct retro_action *a = s + 1;
	     a < d->r->acts + d->r->nacts; a++) {
		if (a->proc != p->id)
			continue;
		if (a->call == RC_image && !img) {
			img = a;
			cwd = retro_path(d->st, a->arg[0]);
			um = (mode_t)a->arg[1];
		} else if (a->call == RC_fdinfo && nfds < 16) {
			fds[nfds].fd = (int)a->arg[0];
			fds[nfds].path = retro_path(d->st, a->arg[1]);
			fds[nfds].flags = (int)a->arg[2];
			fds[nfds].rfd = feed_pipe(d, a->arg[1]);
			nfds++;
		} else if (!(retro_calls[a->call].flags & F_PSEUDO)) {
			break;
		}
	}
	if (retro_blob_get(d->st, s->hash, &args, &alen))
		return -1;
	if (s->arg[5] || (img && img->arg[2])) {
		/* the recorder kept only the first part: run with those, it
		 * would be another command */
		emit(d, "E process %u (%s): its %s recorded only in part (the "
			"first %zu bytes)", p->id, proc_name(p),
		     s->arg[5] ? "arguments were" : "environment was",
		     s->arg[5] ? alen : (size_t)img->datalen);
		free(args);
		return -1;
	}
	for (size_t i = 0; i < alen; i++)
		if (((char *)args)[i] == 0)
			na++;
	argv = calloc(na + 2, sizeof *argv);
	if (!argv) {
		free(args);
		return -1;
	}
	na = 0;
	for (size_t i = 0; i < alen;) {
		argv[na++] = (char *)args + i;
		i += strnlen((char *)args + i, alen - i) + 1;
	}
	snprintf(store, sizeof store, "%s/.retro/store", d->rt.root);
	env = make_env(d, img, sock, store);
	if (exe && env && d->rt.pidns)
		root_next_pid(p->pid); /* its recorded pid, when free */
	pid = exe && env ? fork() : -1;
	if (pid > 0 && d->rt.pidns && pid != p->pid)
		emit(d, "H note: process %u runs as pid %d, not its recorded "
			"pid %d, which was taken", p->id, (int)pid, (int)p->pid);
	if (pid != 0) {
		for (int i = 0; i < nfds; i++)
			if (fds[i].rfd >= 0)
				close(fds[i].rfd);
		for (size_t i = 0; env && env[i]; i++)
			free(env[i]);
		free(env);
		free(argv);
		free(args);
		return pid;
	}
	/* the child: the recorded descriptor table, cwd, umask, env */
	for (int i = 0; i < nfds; i++) {
		int fd = -1, fl = fds[i].flags & ~(O_CREAT | O_TRUNC | O_EXCL);
		/* The recording keeps no open flags for inherited descriptors:
		 * standard input reads, standard output and error append, the
		 * rest read and write. */
		if (!fl)
			fl = fds[i].fd == 0 ? O_RDONLY
			     : fds[i].fd <= 2 ? O_WRONLY | O_APPEND
					      : O_RDWR;
		const char *path = fds[i].path;
		if (fds[i].rfd >= 0) {
			fd = fds[i].rfd; /* a pipe a peer writes: fed by us */
		} else if (fds[i].fd <= 2 && d->o->output) {
			/* through the directory opened before the namespace:
			 * its mount stays writable */
			char f[64];
			snprintf(f, sizeof f, "%u.%s", p->id,
				 fds[i].fd == 1 ? "out" : "err");
			if (fds[i].fd > 0)
				fd = openat(d->o->outfd, f,
					    O_WRONLY | O_CREAT | O_APPEND |
						    O_CLOEXEC,
					    0644);
		} else if (is_file_path(path) &&
			   (fds[i].fd > 2 || root_covers(&d->rt, path) ||
			    (fds[i].fd == 0 && (fl & O_ACCMODE) == O_RDONLY))) {
			/* `> out` in a shell: reopened in the root */
			if ((fl & O_ACCMODE) != O_RDONLY) {
				fl |= O_CREAT;
				parent_dirs(path);
			}
			fd = open(path, fl | O_CLOEXEC, 0644);
		} else if (fds[i].fd <= 2) {
			continue; /* a pipe, a terminal, a log: ours */
		}
		if (fd < 0)
			fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0 && fd != fds[i].fd) {
			dup2(fd, fds[i].fd);
			close(fd);
		} else if (fd == fds[i].fd) {
			fcntl(fd, F_SETFD, 0);
		}
	}
	umask(um);
	if (cwd && chdir(cwd) < 0)
		fprintf(stderr, "retro-replay run: cannot enter %s: %s\n", cwd,
			strerror(errno));
	signal(SIGPIPE, SIG_DFL);
	execve(exe, argv, env);
	fprintf(stderr, "retro-replay run: cannot run %s: %s\n", exe,
		strerror(errno));
	_exit(127);
}

/* A child of the driver ended with wait status st: a root shepherd is
 * done.  Returns 1 when it ran without the shim (said), else 0. */
static int reap(struct drv *d, pid_t w, int st)
{
	struct live *l = live_get(d, w);

	if (!l || l->reaped || proc_index(d->r, l->proc) < 0 ||
	    !is_root_shep(d, proc_index(d->r, l->proc)))
		return 0;
	l->reaped = 1;
	l->status = st;
	d->roots_left--;
	if (l->nl == 0) { /* no thread of it ever said hello */
		emit(d, "E process %u (%s) ran without the shim's "
			"shepherd mode: it never loaded libretro.so, "
			"or the shim could not start (its stderr "
			"says why); nothing of it was replayed",
		     l->proc, pname(d, l->proc));
		d->noshim = 1;
		return 1;
	}
	return 0;
}

static volatile sig_atomic_t child_ended = 1;

static void on_sigchld(int sig)
{
	(void)sig;
	child_ended = 1;
}

/* 1 when a shepherded thread is running (its next message is coming). */
static int any_running(const struct drv *d)
{
	for (size_t i = 0; i < d->nconns; i++)
		if (d->conns[i].state == C_RUN)
			return 1;
	return 0;
}

static int replay_once(struct drv *d)
{
	int64_t last_said;
	int tmo = 20, failed = 0;
	const struct retro_recording *r = d->r;
	struct retro_file *files = NULL;
	size_t nfiles = 0;
	char why[512], sock[96];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int rc;

	if (d->o->files) {
		files = d->o->files;
		nfiles = d->o->nfiles;
	} else if ((rc = retro_model_files(d->st, r, &files, &nfiles, why,
					   sizeof why)) != 0) {
		emit(d, "E cannot model the recording's files: %s", why);
		return EX_USAGE;
	}
	if (root_enter(&d->rt)) {
		emit(d, "E %s", d->rt.why);
		return EX_USAGE;
	}
	if (d->rt.pidns) {
		/* the rest runs as the pid namespace's first process: the
		 * re-executed processes' parent and reaper */
		int alive[2], st;
		pid_t init = pipe2(alive, O_CLOEXEC) < 0 ? -1 : fork();

		if (init < 0) {
			emit(d, "E cannot start the replay's pid namespace: %s",
			     strerror(errno));
			return EX_USAGE;
		}
		if (init > 0) {
			close(alive[0]);
			while (waitpid(init, &st, 0) < 0 && errno == EINTR)
				;
			return WIFEXITED(st) ? WEXITSTATUS(st) : EX_USAGE;
		}
		close(alive[1]);
		if (root_pid_init(&d->rt, alive[0])) {
			emit(d, "E %s", d->rt.why);
			return EX_USAGE;
		}
	} else {
		emit(d, "H note: no pid namespace here (%s): the re-executed "
			"processes see live pids, not their recorded ones",
		     strerror(d->rt.pidns_err));
	}
	if (restore_initial(d, files, nfiles) < 0)
		return EX_USAGE;
	if (files != d->o->files)
		retro_model_files_free(files, nfiles);
	rc = build_timelines(d);
	if (rc) {
		emit(d, "E %s", strerror(rc));
		return EX_USAGE;
	}
	/* the driver's socket: abstract, so no root or mount hides it */
	snprintf(sock, sizeof sock, "retro-run-%d-%lld", (int)getpid(),
		 (long long)mono_ns());
	memcpy(sa.sun_path + 1, sock, strlen(sock));
	d->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (d->lfd < 0 ||
	    bind(d->lfd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			     strlen(sock))) < 0 ||
	    listen(d->lfd, 64) < 0) {
		emit(d, "E cannot listen for shepherded processes: %s",
		     strerror(errno));
		return EX_USAGE;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	{
		struct sigaction sa = { .sa_handler = on_sigchld,
					.sa_flags = SA_RESTART | SA_NOCLDSTOP };
		sigemptyset(&sa.sa_mask);
		sigaction(SIGCHLD, &sa, NULL);
	}
	{
		/* one CPU (taskset): spinning would only keep the thread
		 * whose message it waits for from running */
		cpu_set_t cpus;
		d->spin = sched_getaffinity(0, sizeof cpus, &cpus) == 0 &&
			  CPU_COUNT(&cpus) > 1;
	}
	/* V starts where the first shepherded root was exec'd */
	d->vstart = INT64_MAX;
	for (size_t i = 0; i < r->nprocs; i++)
		if (is_root_shep(d, (int)i)) {
			const struct retro_action *s = launch_image(d, r->procs[i].id);
			if (s && s->start < d->vstart)
				d->vstart = s->start;
		}
	if (d->vstart == INT64_MAX) {
		emit(d, "E no shepherded process has a recorded start");
		return EX_USAGE;
	}
	d->V = d->vstart;
	/* pipes the peers feed: there before the first peer byte */
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct retro_action *s;
		if (!is_root_shep(d, (int)i) ||
		    !(s = launch_image(d, r->procs[i].id)))
			continue;
		for (const struct retro_action *a = s + 1;
		     a < r->acts + r->nacts; a++) {
			if (a->proc != r->procs[i].id)
				continue;
			if (a->call == RC_fdinfo)
				feed_pipe(d, a->arg[1]);
			else if (!(retro_calls[a->call].flags & F_PSEUDO))
				break;
		}
	}
	{
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		d->rt0 = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	}
	d->wall0 = mono_ns();
	advance(d, d->vstart);
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct retro_action *s;
		pid_t pid;
		if (!is_root_shep(d, (int)i))
			continue;
		s = launch_image(d, r->procs[i].id);
		pid = launch(d, (int)i, sock);
		if (pid < 0) {
			emit(d, "E cannot start process %u (%s)", r->procs[i].id,
			     proc_name(&r->procs[i]));
			return EX_USAGE;
		}
		live_add(d, pid, r->procs[i].id, s->start);
		d->roots_left++;
	}
	/* the loop: until every process we started, and theirs, are gone */
	last_said = d->wall0;
	for (;;) {
		struct pollfd *pf = calloc(d->nconns + 1, sizeof *pf);
		size_t npf = d->nconns + 1; /* conns accepted below are not in it */
		int st, n, fired;
		pid_t w;

		if (!pf)
			return EX_USAGE;
		pf[0].fd = d->lfd;
		pf[0].events = POLLIN;
		for (size_t i = 0; i < d->nconns; i++) {
			pf[i + 1].fd = d->conns[i].fd;
			pf[i + 1].events = POLLIN;
		}
		n = 0;
		if (tmo > 0 && d->spin && any_running(d)) {
			/* a thread that runs sends its next call soon: look
			 * for it without sleeping a while, since a wake-up
			 * from another CPU costs tens of microseconds here.
			 * Lanes are memory; the sockets are polled now and
			 * then. */
			int64_t until = mono_ns() + SPIN_NS;
			for (unsigned k = 0; !lanes_pending(d); k++) {
				if (k % 32 == 0 &&
				    ((n = poll(pf, npf, 0)) != 0 ||
				     mono_ns() >= until))
					break;
				__builtin_ia32_pause();
			}
		}
		if (n == 0 && !lanes_pending(d)) {
			if (tmo != 0) {
				/* asleep from here: a thread that writes its
				 * lane now rings (shepherd.h) */
				lanes_sleep(d, 1);
				if (!lanes_pending(d))
					n = poll(pf, npf, tmo);
				lanes_sleep(d, 0);
			} else {
				n = poll(pf, npf, 0);
			}
		}
		if (!d->o->quiet && mono_ns() - last_said >= 1000000000) {
			/* progress, once a second after the first */
			last_said = mono_ns();
			fprintf(stderr, "retro-replay run: %.1f s of recorded time "
					"replayed; %zu of %zu peer actions applied\n",
				(double)(d->V - d->vstart) / 1e9, d->pi,
				d->npeers);
		}
		if (n > 0 && (pf[0].revents & POLLIN)) {
			int fd = accept4(d->lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0) {
				d->conns = realloc(d->conns,
						   (d->nconns + 1) * sizeof *d->conns);
				memset(&d->conns[d->nconns], 0, sizeof *d->conns);
				d->conns[d->nconns].fd = fd;
				d->conns[d->nconns].state = C_RUN;
				d->conns[d->nconns].pi = -1;
				d->conns[d->nconns].v = d->V;
				d->nconns++;
			}
		}
		for (size_t i = 0; n > 0 && i + 1 < npf; i++)
			if (pf[i + 1].revents & (POLLIN | POLLHUP | POLLERR))
				conn_read(d, &d->conns[i], 0);
		lanes_take(d);
		free(pf);
		for (size_t i = 0; i < d->nconns;)
			if (d->conns[i].state == C_DEAD)
				drop_conn(d, i);
			else
				i++;
		schedule(d);
		notice_ends(d);
		tmo = 20;
		if (all_waiting(d) && (fired = fire_timeout(d)) != 0) {
			tmo = fired > 0 ? 0 : 2;
		} else if (all_blocked(d) && d->pi < d->npeers) {
			/* Nobody can act before the next peer action: it
			 * happens.  If it fed a pipe, its reader wakes and
			 * says so; else go on without waiting. */
			d->fed = 0;
			if (getenv("RETRO_RUN_DEBUG"))
				fprintf(stderr, "[run] all blocked: the peers "
						"move on to %.6fs\n",
					rel_s(d->r, d->peers[d->pi]->start));
			advance(d, d->peers[d->pi]->start + 1);
			if (!d->fed)
				tmo = 0;
		}
		/* a wait4 per message costs as much as the rest of the
		 * round trip: only when a child ended, or nobody is left
		 * to say so */
		w = 0;
		if (child_ended || d->nconns == 0) {
			child_ended = 0;
			while ((w = waitpid(-1, &st, WNOHANG)) > 0)
				if (reap(d, w, st))
					failed = 1;
		}
		if (w < 0 && errno == ECHILD && d->nconns == 0)
			break;
		/* nothing connected: a process is starting or on its way
		 * out, and its end shows in no descriptor polled; look
		 * again soon rather than after a whole 20 ms */
		if (d->nconns == 0 && tmo > 1)
			tmo = 1;
	}
	/* the rest of the peers' timeline */
	advance(d, INT64_MAX);
	peer_fds_close(d);
	{
		int64_t vend = d->V;
		for (size_t i = 0; i < d->npeers; i++)
			if (d->peers[i]->end > vend)
				vend = d->peers[i]->end;
		emit(d, "W %lld %lld", (long long)(mono_ns() - d->wall0),
		     (long long)ns_sub(vend, d->vstart));
	}
	for (size_t i = 0; i < r->nprocs; i++)
		if (d->tainted[i])
			emit(d, "T %u %llu", r->procs[i].id,
			     (unsigned long long)d->tainted[i]);
	/* what the recording itself says it could not record, for the
	 * processes re-executed */
	for (size_t i = 0; i < r->nacts; i++) {
		int pi = proc_index(r, r->acts[i].proc);
		if (r->acts[i].call == RC_unsupported && pi >= 0 && d->shep[pi])
			d->unsupported[RC_unsupported]++;
	}
	for (int k = 0; k < RC_NCALLS; k++)
		if (d->unsupported[k])
			emit(d, "U {\"call\":\"%s\",\"count\":%llu,\"why\":\"%s\"}",
			     retro_calls[k].name,
			     (unsigned long long)d->unsupported[k],
			     k == RC_unsupported
				     ? "recorded as unsupported (io_uring, a static "
				       "or setuid program): not re-executed faithfully"
				     : "the timer runs in real time, not on V");
	if (d->notes[SHN_TIMER])
		emit(d, "U {\"call\":\"timer_create\",\"count\":%llu,\"why\":"
			"\"a timer that starts a thread, signals one thread or "
			"counts CPU time runs on the host's clock, not on V\"}",
		     (unsigned long long)d->notes[SHN_TIMER]);
	if (d->notes[SHN_TIMERFD])
		emit(d, "U {\"call\":\"timerfd_create\",\"count\":%llu,"
			"\"why\":\"a timerfd on this clock runs on the host's "
			"clock, not on V\"}",
		     (unsigned long long)d->notes[SHN_TIMERFD]);
	if (failed || d->noshim)
		return EX_USAGE;
	return d->ndiv ? EX_VERDICT : EX_OK;
}

/* Plans the overlays: every directory holding a path the recording
 * changed, or found absent, or that --set-file names.  Returns 0, or
 * EX_USAGE with the reason printed. */
static int plan_root(struct retro_store *st, const struct retro_recording *r,
		     struct opts *o, struct root *plan)
{
	struct retro_file *files = NULL;
	size_t nfiles = 0;
	char why[512];
	int rc = 0;

	snprintf(plan->store, sizeof plan->store, "%s", o->store);
	if (retro_model_files(st, r, &files, &nfiles, why, sizeof why)) {
		errorf("run", "cannot model the recording's files: %s", why);
		return EX_USAGE;
	}
	for (size_t i = 0; i < nfiles && !rc; i++)
		if ((files[i].nv || files[i].initial == RO_ABSENT) &&
		    root_plan(plan, files[i].path))
			rc = EX_USAGE;
	for (size_t i = 0; i < o->nsets && !rc; i++)
		if (root_plan(plan, o->sets[i].path))
			rc = EX_USAGE;
	if (rc) {
		errorf("run", "%s", plan->why);
		retro_model_files_free(files, nfiles);
		return rc;
	}
	/* kept for each pass's restore_initial: modelling once is enough */
	o->files = files;
	o->nfiles = nfiles;
	return 0;
}

/* Runs one replay in a child; collects what it reports. */
static int run_pass(struct retro_store *st, const struct retro_recording *r,
		    const struct opts *o, const char *root, struct pass *out)
{
	int pfd[2];
	pid_t pid;
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int status;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return EX_USAGE;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return EX_USAGE;
	if (pid == 0) {
		struct drv d;
		memset(&d, 0, sizeof d);
		close(pfd[0]);
		d.st = st;
		d.r = r;
		d.o = o;
		d.out = pfd[1];
		d.shep = o->shep;
		d.drop = o->drop;
		d.diverged_peer = calloc(r->nprocs + 1, 1);
		d.tainted = calloc(r->nprocs + 1, sizeof *d.tainted);
		d.rt = *o->plan; /* the overlays cmd_run planned */
		snprintf(d.rt.root, sizeof d.rt.root, "%s", root);
		/* realtime = monotonic + rtoff, as the recording's clocks */
		{
			struct timespec a, b;
			clock_gettime(CLOCK_REALTIME, &a);
			clock_gettime(CLOCK_MONOTONIC, &b);
			d.rtoff = ((int64_t)a.tv_sec - b.tv_sec) * 1000000000 +
				  (a.tv_nsec - b.tv_nsec);
		}
		_exit(replay_once(&d));
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	while (f && (n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = 0;
		pass_add(out, line);
	}
	free(line);
	if (f)
		fclose(f);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return EX_USAGE;
	return WEXITSTATUS(status);
}

static int parse_sel(const char *cmd, const struct retro_recording *r,
		     const char *spec, unsigned char *into)
{
	if (select_procs(r, spec, into) == 0) {
		errorf(cmd, "no recorded process matches '%s' (see 'retro-replay "
			    "ps')", spec);
		return -1;
	}
	return 0;
}

/* Children of a shepherded process are shepherded; of a dropped one,
 * dropped. */
/* Adds to set the children of its processes, and theirs.  With
 * from_exec (the shepherded set): a process re-created from its last
 * exec (its parent is not in the set) did not fork the children its
 * earlier images forked (`cmd & exec prog` in a shell); those stay peers. */
/* When each process was made: the start of its parent's fork, vfork or
 * posix_spawn that returned its pid, or, when none is recorded, its own
 * start.  A child's start is its first recorded action, which can come
 * well after its parent went on: past an exec, for one. */
static int64_t *births(const struct retro_recording *r)
{
	int64_t *born = calloc(r->nprocs ? r->nprocs : 1, sizeof *born);

	if (!born)
		return NULL;
	for (size_t i = 0; i < r->nprocs; i++)
		born[i] = r->procs[i].start;
	for (size_t k = 0; k < r->nacts; k++) {
		const struct retro_action *a = &r->acts[k];
		int64_t pid = a->call == RC_fork || a->call == RC_vfork ? a->ret
			      : (a->call == RC_posix_spawn ||
				 a->call == RC_posix_spawnp) && a->ret == 0
				      ? (int64_t)(int32_t)a->arg[0]
				      : 0;
		if (pid <= 0)
			continue;
		for (size_t i = 0; i < r->nprocs; i++)
			if (r->procs[i].parent == a->proc &&
			    r->procs[i].pid == pid &&
			    a->start <= r->procs[i].start) {
				/* pids are reused: the latest such call */
				if (born[i] == r->procs[i].start ||
				    a->start > born[i])
					born[i] = a->start;
			}
	}
	return born;
}

static void close_under(const struct retro_recording *r, unsigned char *set,
			int from_exec)
{
	int64_t *image = calloc(r->nprocs ? r->nprocs : 1, sizeof *image);
	int64_t *born = from_exec ? births(r) : NULL;
	int changed = 1;

	for (size_t i = 0; image && born && i < r->nacts; i++) {
		int pi = r->acts[i].call == RC_start
				 ? proc_index(r, r->acts[i].proc) : -1;
		if (pi >= 0 && r->acts[i].start > image[pi])
			image[pi] = r->acts[i].start;
	}
	while (changed) {
		changed = 0;
		for (size_t i = 0; i < r->nprocs; i++) {
			int pi = r->procs[i].parent
					 ? proc_index(r, r->procs[i].parent)
					 : -1;
			int gi;
			if (set[i] || pi < 0 || !set[pi])
				continue;
			gi = r->procs[pi].parent
				     ? proc_index(r, r->procs[pi].parent) : -1;
			if (from_exec && image && born && (gi < 0 || !set[gi]) &&
			    born[i] < image[pi])
				continue;
			set[i] = 1;
			changed = 1;
		}
	}
	free(image);
	free(born);
}

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT && type != FTW_NS ? -1 : 0;
}

static int make_root(const char *want, int pass, char *buf, size_t n,
		     const struct root *plan)
{
	if (want) {
		struct stat st;
		if (pass > 1 || (stat(want, &st) == 0 && S_ISDIR(st.st_mode))) {
			/* a fresh root for every pass: empty what we made */
			snprintf(buf, n, "%s", want);
			if (pass > 1) {
				if (nftw(want, rm_entry, 64,
					 FTW_DEPTH | FTW_PHYS) < 0)
					return -1;
			} else {
				DIR *dir = opendir(want);
				struct dirent *de;
				int empty = 1;
				while (dir && (de = readdir(dir)))
					if (strcmp(de->d_name, ".") &&
					    strcmp(de->d_name, ".."))
						empty = 0;
				if (dir)
					closedir(dir);
				if (!empty) {
					errno = ENOTEMPTY;
					return -1;
				}
				return 0;
			}
		}
		snprintf(buf, n, "%s", want);
		return root_mkdirs(buf, 0755) ? -1 : 0;
	} else {
		/* $TMPDIR, unless the recording wrote there (a log in /tmp):
		 * a root cannot lie inside a directory it covers */
		const char *tmp = getenv("TMPDIR");
		const char *bases[] = { tmp && *tmp ? tmp : "/tmp", "/var/tmp",
					"/dev/shm" };
		for (size_t i = 0; i < sizeof bases / sizeof *bases; i++) {
			char real[PATH_MAX];
			if (!realpath(bases[i], real))
				continue;
			if ((size_t)snprintf(buf, n, "%s/retro-root.XXXXXX",
					     real) >= n)
				continue;
			if (!root_covers(plan, buf))
				return mkdtemp(buf) ? 0 : -1;
		}
		snprintf(buf, n, "%s/retro-root.XXXXXX", bases[0]);
		return mkdtemp(buf) ? 0 : -1; /* root_enter says why not */
	}
}

int cmd_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "shepherd", required_argument, 0, 's' },
		{ "drop", required_argument, 0, 'd' },
		{ "set-file", required_argument, 0, 'f' },
		{ "root", required_argument, 0, 'r' },
		{ "output", required_argument, 0, 'o' },
		{ "report", required_argument, 0, 'R' },
		{ "naive", no_argument, 0, 'n' },
		{ "scale", required_argument, 0, 'S' },
		{ "propagate", no_argument, 0, 'p' },
		{ "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	const char *sheps[64], *drops[64];
	int nsh = 0, ndr = 0, c, rc, pass = 0, verdict = EX_OK;
	struct opts o;
	struct retro_store *st;
	struct retro_recording r;
	struct pass res = { 0 };
	struct root plan;
	char root[PATH_MAX];
	FILE *rep = NULL;

	memset(&o, 0, sizeof o);
	o.scale = 1;
	{
		const char *e = getenv("RETRO_SH_LANE");
		o.no_lane = e && !strcmp(e, "0");
	}
	memset(&plan, 0, sizeof plan);
	while ((c = getopt_long(argc, argv, "hq", lopts, NULL)) != -1) {
		switch (c) {
		case 's':
		case 'd':
			if ((c == 's' ? nsh : ndr) == 64) {
				errorf("run", "too many selections");
				return EX_USAGE;
			}
			if (c == 's')
				sheps[nsh++] = optarg;
			else
				drops[ndr++] = optarg;
			break;
		case 'f': {
			char *eq = strchr(optarg, '=');
			if (!eq || optarg[0] != '/' || !eq[1]) {
				errorf("run", "--set-file wants /ABS/PATH=LOCALFILE, "
					      "not '%s'", optarg);
				return EX_USAGE;
			}
			o.sets = realloc(o.sets, (o.nsets + 1) * sizeof *o.sets);
			o.sets[o.nsets].path = strndup(optarg, (size_t)(eq - optarg));
			o.sets[o.nsets].local = realpath(eq + 1, NULL);
			if (!o.sets[o.nsets].local) {
				errorf("run", "--set-file %s: %s", eq + 1,
				       strerror(errno));
				return EX_USAGE;
			}
			o.nsets++;
			break;
		}
		case 'r':
			o.root = optarg;
			break;
		case 'o':
			o.output = optarg;
			break;
		case 'R':
			o.report = optarg;
			break;
		case 'n':
			o.naive = 1;
			break;
		case 'S': {
			char *end;
			o.scale = strtod(optarg, &end);
			if (end == optarg || *end || o.scale < 0) {
				errorf("run", "--scale wants a factor >= 0, not "
					      "'%s'", optarg);
				return EX_USAGE;
			}
			o.scaled = 1;
			break;
		}
		case 'p':
			o.propagate = 1;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'h':
			help(stdout);
			return EX_OK;
		default:
			help(stderr);
			return EX_USAGE;
		}
	}
	if (argc - optind > 1 || nsh == 0) {
		if (nsh == 0)
			errorf("run", "say which processes to re-execute with "
				      "--shepherd SEL");
		help(stderr);
		return EX_USAGE;
	}
	if (o.scaled && o.naive) {
		errorf("run", "--scale scales sleeps on the virtual timeline; "
			      "naive replay has none");
		return EX_USAGE;
	}
	if ((rc = find_shim(o.shim, sizeof o.shim))) {
		errorf("run", "cannot find libretro.so (%s): %s", o.shim,
		       strerror(rc));
		return EX_USAGE;
	}
	if (o.output && (root_mkdirs(o.output, 0755) ||
			 !realpath(o.output, root))) {
		errorf("run", "--output %s: %s", o.output, strerror(errno));
		return EX_USAGE;
	}
	if (o.output) {
		o.output = strdup(root);
		o.outfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (o.outfd < 0) {
			errorf("run", "--output %s: %s", root, strerror(errno));
			return EX_USAGE;
		}
	}
	if (o.report) {
		rep = fopen(o.report, "we");
		if (!rep) {
			errorf("run", "--report %s: %s", o.report, strerror(errno));
			return EX_USAGE;
		}
	}
	rc = open_for_reading("run", optind < argc ? argv[optind] : NULL, 0, &st);
	if (rc)
		return rc;
	snprintf(o.store, sizeof o.store, "%s", retro_store_path(st));
	rc = load_recording("run", st, &r);
	if (rc) {
		retro_store_close(st);
		return rc;
	}
	o.shep = calloc(r.nprocs + 1, 1);
	o.drop = calloc(r.nprocs + 1, 1);
	for (int i = 0; i < nsh; i++)
		if (parse_sel("run", &r, sheps[i], o.shep) < 0)
			return EX_USAGE;
	for (int i = 0; i < ndr; i++)
		if (parse_sel("run", &r, drops[i], o.drop) < 0)
			return EX_USAGE;
	close_under(&r, o.shep, 1);
	close_under(&r, o.drop, 0);
	/* a process re-created alone must have started from an exec: a fork
	 * that never exec'd is part of its parent's program */
	for (size_t i = 0; i < r.nprocs; i++) {
		const struct retro_proc *p = &r.procs[i];
		int pi = p->parent ? proc_index(&r, p->parent) : -1;
		int forked = 0;
		if (!o.shep[i] || pi < 0 || o.shep[pi] || p->images > 1)
			continue;
		for (size_t k = 0; k < r.nacts && !forked; k++)
			forked = r.acts[k].proc == p->parent &&
				 (r.acts[k].call == RC_fork ||
				  r.acts[k].call == RC_vfork) &&
				 r.acts[k].ret == p->pid;
		if (!forked)
			continue; /* posix_spawn: its first image is an exec */
		errorf("run", "process %u (%s) is a fork of process %u that never "
			      "exec'd: it can only be re-executed with its parent "
			      "(--shepherd %u)", p->id, proc_name(p), p->parent,
		       p->parent);
		return EX_USAGE;
	}
	for (size_t i = 0; i < r.nprocs; i++)
		if (o.shep[i] && o.drop[i]) {
			errorf("run", "process %u (%s) is both shepherded and "
				      "dropped", r.procs[i].id,
			       proc_name(&r.procs[i]));
			return EX_USAGE;
		}
	if (plan_root(st, &r, &o, &plan))
		return EX_USAGE;
	o.plan = &plan;
	for (;;) {
		int promoted = 0;
		pass++;
		pass_free(&res);
		/* an earlier pass's root in $TMPDIR: superseded */
		if (pass > 1 && !o.root)
			nftw(root, rm_entry, 64, FTW_DEPTH | FTW_PHYS);
		char made[PATH_MAX];
		if (make_root(o.root, pass, made, sizeof made, &plan) < 0 ||
		    !realpath(made, root)) {
			errorf("run", "the replay root %s: %s", o.root ? o.root : made,
			       strerror(errno));
			return EX_USAGE;
		}
		if (!o.quiet) {
			fprintf(stderr, "retro-replay run: pass %d, root %s, "
					"shepherding", pass, root);
			for (size_t i = 0; i < r.nprocs; i++)
				if (o.shep[i])
					fprintf(stderr, " %u (%s)", r.procs[i].id,
						proc_name(&r.procs[i]));
			fputc('\n', stderr);
		}
		verdict = run_pass(st, &r, &o, root, &res);
		for (size_t i = 0; i < res.n; i++) {
			const char *l = res.lines[i];
			if (l[0] == 'E') {
				errorf("run", "%s", l + 2);
				verdict = EX_USAGE;
			}
		}
		if (verdict == EX_USAGE || !o.propagate)
			break;
		for (size_t i = 0; i < res.n; i++) {
			unsigned id;
			int pi;
			if (res.lines[i][0] != 'P' ||
			    sscanf(res.lines[i] + 2, "%u", &id) != 1)
				continue;
			pi = proc_index(&r, id);
			if (pi >= 0 && !o.shep[pi]) {
				o.shep[pi] = 1;
				promoted = 1;
				if (!o.quiet)
					fprintf(stderr,
						"retro-replay run: peer %u (%s) "
						"diverged: re-executing it too\n",
						id, proc_name(&r.procs[pi]));
			}
		}
		if (!promoted)
			break;
		close_under(&r, o.shep, 1);
	}
	/* the summary */
	{
		long long w = 0, v = 0;
		unsigned ndiv = 0;
		for (size_t i = 0; i < res.n; i++) {
			const char *l = res.lines[i];
			if (l[0] == 'H')
				printf("%s\n", l + 2);
			else if (l[0] == 'J')
				ndiv++;
			else if (l[0] == 'U')
				printf("unsupported: %s\n", l + 2);
			else if (l[0] == 'W')
				sscanf(l + 2, "%lld %lld", &w, &v);
			else if (l[0] == 'T') {
				unsigned id;
				unsigned long long k;
				if (sscanf(l + 2, "%u %llu", &id, &k) == 2)
					printf("tainted: %llu later action(s) of "
					       "peer %u (%s) were applied after it "
					       "diverged\n", k, id,
					       proc_name(retro_proc_find(&r, id)));
			}
		}
		if (verdict != EX_USAGE) {
			printf("%s replay%s: %u divergence%s; %.3f s of recorded "
			       "time in %.3f s",
			       o.naive ? "naive" : "consistent",
			       pass > 1 ? " after propagation" : "", ndiv,
			       ndiv == 1 ? "" : "s", (double)v / 1e9,
			       (double)w / 1e9);
			if (w > 0 && v > w)
				printf(" (%.0fx faster)", (double)v / (double)w);
			putchar('\n');
			printf("root: %s\n", root);
		}
		if (rep) {
			int first = 1;
			fprintf(rep, "{\"mode\":\"%s\",\"scale\":%g,\"passes\":%d,"
				     "\"wall_ns\":%lld,\"virtual_ns\":%lld,"
				     "\"root\":",
				o.naive ? "naive" : "consistent", o.scale, pass,
				w, v);
			json_cstr(rep, root);
			fprintf(rep, ",\"shepherded\":[");
			for (size_t i = 0; i < r.nprocs; i++)
				if (o.shep[i]) {
					fprintf(rep, "%s%u", first ? "" : ",",
						r.procs[i].id);
					first = 0;
				}
			fprintf(rep, "],\"dropped\":[");
			first = 1;
			for (size_t i = 0; i < r.nprocs; i++)
				if (o.drop[i]) {
					fprintf(rep, "%s%u", first ? "" : ",",
						r.procs[i].id);
					first = 0;
				}
			fprintf(rep, "],\"divergences\":[");
			first = 1;
			for (size_t i = 0; i < res.n; i++)
				if (res.lines[i][0] == 'J') {
					fprintf(rep, "%s%s", first ? "" : ",",
						res.lines[i] + 2);
					first = 0;
				}
			fprintf(rep, "],\"tainted\":[");
			first = 1;
			for (size_t i = 0; i < res.n; i++) {
				unsigned id;
				unsigned long long k;
				if (res.lines[i][0] == 'T' &&
				    sscanf(res.lines[i] + 2, "%u %llu", &id, &k) == 2) {
					fprintf(rep, "%s{\"proc\":%u,\"actions\":%llu}",
						first ? "" : ",", id, k);
					first = 0;
				}
			}
			fprintf(rep, "],\"unsupported\":[");
			first = 1;
			for (size_t i = 0; i < res.n; i++)
				if (res.lines[i][0] == 'U') {
					fprintf(rep, "%s%s", first ? "" : ",",
						res.lines[i] + 2);
					first = 0;
				}
			fprintf(rep, "],\"verdict\":%d}\n", verdict);
			if (fclose(rep) != 0) {
				errorf("run", "--report %s: %s", o.report,
				       strerror(errno));
				verdict = EX_USAGE;
			}
		}
	}
	pass_free(&res);
	root_free(&plan);
	retro_model_files_free(o.files, o.nfiles);
	retro_recording_free(&r);
	retro_store_close(st);
	return verdict;
}
