/* libfloor.so: the least a recorder that keeps every written byte must do.
 *
 *     LD_PRELOAD=bench/.libs/libfloor.so FLOOR_DIR=DIR COMMAND...
 *
 * After each write, pwrite, pwrite64, writev, pwritev and pwritev64 that
 * wrote bytes, the same bytes are appended once more to DIR/PID, one file
 * per process image.  Nothing else: no clock read, no path, no record, no
 * hash.  Issue 2 asks the store to keep the bytes every write wrote, so no
 * recorder that meets it can write fewer bytes than this; bench/run times
 * the workloads under it beside `retro-replay record`, and the gap between
 * the two is the recorder's own cost.
 *
 * It is a measuring tool, not a recorder: a program that closes every
 * descriptor, or calls write(2) as a system call, is not seen whole, and a
 * second side file after fork is shared with the parent (appends, so
 * nothing is lost).  Links nothing of retro's. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#define SIDE_FD_MIN 900 /* out of the way of the program's descriptors */

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64)(int, const struct iovec *, int, off_t);
static int side = -1;

__attribute__((constructor)) static void floor_init(void)
{
	real_write = dlsym(RTLD_NEXT, "write");
	real_pwrite = dlsym(RTLD_NEXT, "pwrite");
	real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
	real_writev = dlsym(RTLD_NEXT, "writev");
	real_pwritev = dlsym(RTLD_NEXT, "pwritev");
	real_pwritev64 = dlsym(RTLD_NEXT, "pwritev64");
	if (!real_write || !real_pwrite || !real_pwrite64 || !real_writev ||
	    !real_pwritev || !real_pwritev64) {
		fprintf(stderr, "libfloor.so: %s\n", dlerror());
		abort();
	}
}

/* The side file, opened at the first write that needs it; -1 without
 * FLOOR_DIR or when it cannot be made (then nothing is kept). */
static int side_fd(void)
{
	char path[4096];
	const char *dir;
	int fd, hi, e = errno;

	if (side >= 0)
		return side;
	dir = getenv("FLOOR_DIR");
	if (!dir ||
	    snprintf(path, sizeof path, "%s/%d", dir, (int)getpid()) >=
		    (int)sizeof path)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0 && fd < SIDE_FD_MIN &&
	    (hi = fcntl(fd, F_DUPFD_CLOEXEC, SIDE_FD_MIN)) >= 0) {
		close(fd);
		fd = hi;
	}
	errno = e;
	return side = fd;
}

/* n bytes of iov, as many as the call wrote */
static void keep_iov(int fd, const struct iovec *iov, int cnt, ssize_t n)
{
	int s, e = errno;

	if (n <= 0 || fd == side || (s = side_fd()) < 0)
		return;
	for (int i = 0; i < cnt && n > 0; i++) {
		size_t len = iov[i].iov_len < (size_t)n ? iov[i].iov_len
							: (size_t)n;
		if (real_write(s, iov[i].iov_base, len) < 0)
			break;
		n -= (ssize_t)len;
	}
	errno = e;
}

static void keep(int fd, const void *buf, ssize_t n)
{
	struct iovec iov = { (void *)buf, n > 0 ? (size_t)n : 0 };

	keep_iov(fd, &iov, 1, n);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	ssize_t n = real_write(fd, buf, len);

	keep(fd, buf, n);
	return n;
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t n = real_pwrite(fd, buf, len, off);

	keep(fd, buf, n);
	return n;
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t n = real_pwrite64(fd, buf, len, off);

	keep(fd, buf, n);
	return n;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	ssize_t n = real_writev(fd, iov, cnt);

	keep_iov(fd, iov, cnt, n);
	return n;
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	ssize_t n = real_pwritev(fd, iov, cnt, off);

	keep_iov(fd, iov, cnt, n);
	return n;
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
	ssize_t n = real_pwritev64(fd, iov, cnt, off);

	keep_iov(fd, iov, cnt, n);
	return n;
}
