/* Fault injection through the retro_os table, for tests.
 *
 * RETRO_FAULT=NAME:WHAT:SKIP[:COUNT] makes lib/'s own NAME call (any entry
 * of the table: openat, read, write, fallocate, mmap, fcntl, ...) go wrong
 * after SKIP calls that work, COUNT times (default: every time after).
 * WHAT is an errno name (ENOSPC, EMFILE, ENFILE, EINTR, EIO, ENOMEM,
 * EDQUOT, EINVAL, EAGAIN, ENOENT), SHORT: read, pread, write and
 * getrandom then do half of what was asked (at least one byte), or SLOW:
 * the call waits a millisecond first and then works, which opens the
 * window of a race for a test to hit.  The recorded program's own calls
 * are never touched: only what lib/ does on its behalf.  retro-replay
 * takes the same for its own calls from RETRO_REPLAY_FAULT. */
#include "config.h"
#include "os.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int fault_err; /* 0: SHORT */
static int fault_slow;
static int fault_forever;
static long fault_skip, fault_count;
static struct retro_os saved;

/* Does the call go wrong?  A SLOW one waits here and then works. */
static int fire(void)
{
	static const struct timespec ms = { 0, 1000000 };
	int go;

	if (__atomic_fetch_sub(&fault_skip, 1, __ATOMIC_RELAXED) > 0)
		return 0;
	go = fault_forever ||
	     __atomic_fetch_sub(&fault_count, 1, __ATOMIC_RELAXED) > 0;
	if (go && fault_slow) {
		nanosleep(&ms, NULL);
		return 0;
	}
	return go;
}

static size_t half(size_t n)
{
	return n > 1 ? n / 2 : n;
}

static long f_openat(int dfd, const char *p, int fl, int mode)
{
	return fire() ? -fault_err : saved.openat(dfd, p, fl, mode);
}
static long f_close(int fd)
{
	return fire() ? -fault_err : saved.close(fd);
}
static long f_read(int fd, void *b, size_t n)
{
	if (!fire())
		return saved.read(fd, b, n);
	return fault_err ? -fault_err : saved.read(fd, b, half(n));
}
static long f_pread(int fd, void *b, size_t n, off_t off)
{
	if (!fire())
		return saved.pread(fd, b, n, off);
	return fault_err ? -fault_err : saved.pread(fd, b, half(n), off);
}
static long f_write(int fd, const void *b, size_t n)
{
	if (!fire())
		return saved.write(fd, b, n);
	return fault_err ? -fault_err : saved.write(fd, b, half(n));
}
static long f_pwrite(int fd, const void *b, size_t n, off_t off)
{
	if (!fire())
		return saved.pwrite(fd, b, n, off);
	return fault_err ? -fault_err : saved.pwrite(fd, b, half(n), off);
}
static long f_fallocate(int fd, int mode, off_t off, off_t len)
{
	return fire() ? -fault_err : saved.fallocate(fd, mode, off, len);
}
static long f_ftruncate(int fd, off_t len)
{
	return fire() ? -fault_err : saved.ftruncate(fd, len);
}
static long f_mmap(void *a, size_t l, int prot, int fl, int fd, off_t off)
{
	return fire() ? -fault_err : saved.mmap(a, l, prot, fl, fd, off);
}
static long f_munmap(void *a, size_t l)
{
	return fire() ? -fault_err : saved.munmap(a, l);
}
static long f_mkdirat(int dfd, const char *p, int mode)
{
	return fire() ? -fault_err : saved.mkdirat(dfd, p, mode);
}
static long f_renameat(int o, const char *op, int n, const char *np)
{
	return fire() ? -fault_err : saved.renameat(o, op, n, np);
}
static long f_unlinkat(int dfd, const char *p, int fl)
{
	return fire() ? -fault_err : saved.unlinkat(dfd, p, fl);
}
static long f_fstatat(int dfd, const char *p, struct stat *st, int fl)
{
	return fire() ? -fault_err : saved.fstatat(dfd, p, st, fl);
}
static long f_readlinkat(int dfd, const char *p, char *b, size_t n)
{
	return fire() ? -fault_err : saved.readlinkat(dfd, p, b, n);
}
static long f_getdents64(int fd, void *b, size_t n)
{
	return fire() ? -fault_err : saved.getdents64(fd, b, n);
}
static long f_fchmod(int fd, int mode)
{
	return fire() ? -fault_err : saved.fchmod(fd, mode);
}
static long f_lseek(int fd, off_t off, int wh)
{
	return fire() ? -fault_err : saved.lseek(fd, off, wh);
}
static long f_prctl(long op, long a, long b, long c, long d)
{
	return fire() ? -fault_err : saved.prctl(op, a, b, c, d);
}
static long f_fcntl(int fd, int cmd, long arg)
{
	return fire() ? -fault_err : saved.fcntl(fd, cmd, arg);
}
static long f_flock(int fd, int op)
{
	return fire() ? -fault_err : saved.flock(fd, op);
}
static long f_fchmodat(int dfd, const char *p, int mode)
{
	return fire() ? -fault_err : saved.fchmodat(dfd, p, mode);
}
static long f_getrandom(void *b, size_t n, unsigned fl)
{
	if (!fire())
		return saved.getrandom(b, n, fl);
	return fault_err ? -fault_err : saved.getrandom(b, half(n), fl);
}
static long f_madvise(void *a, size_t l, int adv)
{
	return fire() ? -fault_err : saved.madvise(a, l, adv);
}
static long f_utimensat(int dfd, const char *p, const void *ts, int fl)
{
	return fire() ? -fault_err : saved.utimensat(dfd, p, ts, fl);
}
static long f_kill(int pid, int sig)
{
	return fire() ? -fault_err : saved.kill(pid, sig);
}
static long f_getrlimit(int res, void *rl)
{
	return fire() ? -fault_err : saved.getrlimit(res, rl);
}

static const struct {
	const char *name;
	int err;
} errs[] = { { "ENOSPC", ENOSPC }, { "EMFILE", EMFILE }, { "ENFILE", ENFILE },
	     { "EINTR", EINTR },   { "EIO", EIO },       { "ENOMEM", ENOMEM },
	     { "EDQUOT", EDQUOT }, { "EINVAL", EINVAL }, { "EAGAIN", EAGAIN },
	     { "ENOENT", ENOENT }, { "SHORT", 0 },     { "SLOW", -1 } };

/* Puts the faulty entry in; 0, or EINVAL for an unknown name or a SHORT
 * on a call that moves no bytes. */
static int install(const char *name)
{
	int shortok = 0;

#define ENTRY(n)                                 \
	else if (!strcmp(name, #n))              \
		retro_os.n = f_##n
	if (0)
		;
	ENTRY(openat);
	ENTRY(close);
	ENTRY(fallocate);
	ENTRY(ftruncate);
	ENTRY(mmap);
	ENTRY(munmap);
	ENTRY(mkdirat);
	ENTRY(renameat);
	ENTRY(unlinkat);
	ENTRY(fstatat);
	ENTRY(readlinkat);
	ENTRY(getdents64);
	ENTRY(fchmod);
	ENTRY(lseek);
	ENTRY(prctl);
	ENTRY(fcntl);
	ENTRY(flock);
	ENTRY(fchmodat);
	ENTRY(madvise);
	ENTRY(utimensat);
	ENTRY(kill);
	ENTRY(getrlimit);
	else if (!strcmp(name, "read"))
		retro_os.read = f_read, shortok = 1;
	else if (!strcmp(name, "pread"))
		retro_os.pread = f_pread, shortok = 1;
	else if (!strcmp(name, "write"))
		retro_os.write = f_write, shortok = 1;
	else if (!strcmp(name, "pwrite"))
		retro_os.pwrite = f_pwrite, shortok = 1;
	else if (!strcmp(name, "getrandom"))
		retro_os.getrandom = f_getrandom, shortok = 1;
	else
		return EINVAL;
#undef ENTRY
	if (!fault_err && !fault_slow && !shortok) {
		retro_os = saved;
		return EINVAL;
	}
	return 0;
}

int retro_fault_setup(const char *spec)
{
	char name[32], what[32];
	const char *a, *b, *c;
	size_t n, i;

	if (!spec || !*spec)
		return 0;
	a = strchr(spec, ':');
	b = a ? strchr(a + 1, ':') : NULL;
	if (!a || !b || (size_t)(a - spec) >= sizeof name ||
	    (size_t)(b - a - 1) >= sizeof what)
		return EINVAL;
	n = (size_t)(a - spec);
	memcpy(name, spec, n);
	name[n] = 0;
	n = (size_t)(b - a - 1);
	memcpy(what, a + 1, n);
	what[n] = 0;
	for (i = 0; i < sizeof errs / sizeof *errs; i++)
		if (!strcmp(what, errs[i].name))
			break;
	if (i == sizeof errs / sizeof *errs)
		return EINVAL;
	fault_slow = errs[i].err < 0;
	fault_err = fault_slow ? 0 : errs[i].err;
	fault_skip = atol(b + 1);
	c = strchr(b + 1, ':');
	fault_count = c ? atol(c + 1) : 0;
	fault_forever = fault_count <= 0;
	saved = retro_os;
	return install(name);
}
