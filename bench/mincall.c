/* libmincall.so: the least an in-process recorder does for a call.
 *
 *     LD_PRELOAD=bench/.libs/libmincall.so COMMAND...
 *
 * For each open, open64, openat, close, read, write, pwrite and pwrite64:
 * the TSC before and after the call, an XXH3 hash of the path (open) or of
 * the bytes written or read, and one 48-byte record appended to a shared
 * mapping of a file in /dev/shm.  An open binds its descriptor to its
 * path's hash in a table of 1,024 entries, which its close reads.  That is
 * the minimal preload issue 2 measured (two timestamps, XXH3 of the
 * bytes, a 48-byte record into a MAP_SHARED spool file: 117 ns a pwrite),
 * applied to the calls of bench_calls' pwrite, write, read and openclose
 * modes.  Nothing else: no call site beyond the return address, no path
 * made absolute, no process or thread identity, no import.  bench/run
 * times it beside the shim: what an in-process recorder costs here before
 * it does anything a recording needs beyond that.
 *
 * The spool is 8 MiB, its pages faulted in at start and written round and
 * round, as the pool gives `record`'s threads their pages back.  A
 * measuring tool, not a recorder: the records are overwritten, and the
 * file is unlinked at once.  With MINCALL_REPORT=FILE it writes into FILE
 * at exit how many records it made, so that bench/run can tell it saw
 * the calls.  Links nothing of retro's. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <x86intrin.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#define SPOOL_SIZE (8u << 20)
#define NFD 1024

struct rec {
	uint32_t type;
	int32_t fd;
	int64_t ret;
	int32_t err;
	uint32_t pad;
	uint64_t t0, t1, h;
};

static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static char *spool;
static uint64_t pos;
static uint64_t fdpath[NFD];

__attribute__((constructor)) static void mincall_init(void)
{
	char name[64];
	int fd;

	real_openat = dlsym(RTLD_NEXT, "openat");
	real_close = dlsym(RTLD_NEXT, "close");
	real_read = dlsym(RTLD_NEXT, "read");
	real_write = dlsym(RTLD_NEXT, "write");
	real_pwrite = dlsym(RTLD_NEXT, "pwrite");
	snprintf(name, sizeof name, "/dev/shm/retro-mincall.%d", (int)getpid());
	fd = real_openat(AT_FDCWD, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			 0600);
	if (fd < 0)
		return;
	unlink(name);
	if (ftruncate(fd, SPOOL_SIZE) == 0) {
		void *p = mmap(NULL, SPOOL_SIZE, PROT_READ | PROT_WRITE,
			       MAP_SHARED, fd, 0);
		if (p != MAP_FAILED) {
			memset(p, 0, SPOOL_SIZE); /* its pages, now */
			spool = p;
		}
	}
	real_close(fd);
}

__attribute__((destructor)) static void mincall_report(void)
{
	const char *f = getenv("MINCALL_REPORT");
	FILE *o;

	if (f && (o = fopen(f, "w"))) {
		fprintf(o, "%llu\n",
			(unsigned long long)(pos / sizeof(struct rec)));
		fclose(o);
	}
}

static void put(uint32_t type, int fd, int64_t ret, int err, uint64_t t0,
		uint64_t t1, uint64_t h)
{
	uint64_t at;
	struct rec *r;

	if (!spool)
		return;
	at = __atomic_fetch_add(&pos, sizeof *r, __ATOMIC_RELAXED) %
	     SPOOL_SIZE;
	r = (struct rec *)(spool + at);
	r->type = type;
	r->fd = fd;
	r->ret = ret;
	r->err = err;
	r->t0 = t0;
	r->t1 = t1;
	r->h = h;
}

static int do_open(int dirfd, const char *path, int flags, mode_t mode)
{
	uint64_t t0 = __rdtsc(), t1, h = XXH3_64bits(path, strlen(path));
	int fd = real_openat(dirfd, path, flags, mode), err = errno;

	t1 = __rdtsc();
	if (fd >= 0 && fd < NFD)
		fdpath[fd] = h;
	put(1, dirfd, fd, fd < 0 ? err : 0, t0, t1, h);
	errno = err;
	return fd;
}

static mode_t mode_of(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE
		       ? (mode_t)va_arg(ap, int)
		       : 0;
}

__attribute__((visibility("default"))) int open(const char *path, int flags,
						 ...)
{
	va_list ap;
	mode_t m;

	va_start(ap, flags);
	m = mode_of(flags, ap);
	va_end(ap);
	return do_open(AT_FDCWD, path, flags, m);
}

/* the same call on x86-64: one function, two names */
__attribute__((visibility("default"), alias("open"))) int
open64(const char *path, int flags, ...);

__attribute__((visibility("default"))) int openat(int dirfd, const char *path,
						   int flags, ...)
{
	va_list ap;
	mode_t m;

	va_start(ap, flags);
	m = mode_of(flags, ap);
	va_end(ap);
	return do_open(dirfd, path, flags, m);
}

__attribute__((visibility("default"))) int close(int fd)
{
	uint64_t t0 = __rdtsc(), t1, h = fd >= 0 && fd < NFD ? fdpath[fd] : 0;
	int r = real_close(fd), err = errno;

	t1 = __rdtsc();
	put(2, fd, r, r < 0 ? err : 0, t0, t1, h);
	errno = err;
	return r;
}

__attribute__((visibility("default"))) ssize_t read(int fd, void *buf,
						     size_t n)
{
	uint64_t t0 = __rdtsc(), t1;
	ssize_t r = real_read(fd, buf, n);
	int err = errno;

	t1 = __rdtsc();
	put(3, fd, r, r < 0 ? err : 0, t0, t1,
	    r > 0 ? XXH3_64bits(buf, (size_t)r) : 0);
	errno = err;
	return r;
}

__attribute__((visibility("default"))) ssize_t write(int fd, const void *buf,
						      size_t n)
{
	uint64_t t0 = __rdtsc(), t1, h = XXH3_64bits(buf, n);
	ssize_t r = real_write(fd, buf, n);
	int err = errno;

	t1 = __rdtsc();
	put(4, fd, r, r < 0 ? err : 0, t0, t1, h);
	errno = err;
	return r;
}

__attribute__((visibility("default"))) ssize_t pwrite(int fd, const void *buf,
						       size_t n, off_t off)
{
	uint64_t t0 = __rdtsc(), t1, h = XXH3_64bits(buf, n);
	ssize_t r = real_pwrite(fd, buf, n, off);
	int err = errno;

	t1 = __rdtsc();
	put(5, fd, r, r < 0 ? err : 0, t0, t1, h);
	errno = err;
	return r;
}

__attribute__((visibility("default"), alias("pwrite"))) ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t off);
