/* Interposers for files and directories.  The generic ones come from
 * calls.def; open's optional mode, creat, dup and fcntl are written out. */
#define SHIM_FAMILY_files
#include "shim.h"
#include <stdarg.h>
#include <linux/fs.h>

#include <retro/calls.def>

typedef int (*open_fn)(int dirfd, const char *path, int flags, mode_t mode);

static int call_open(int d, const char *p, int f, mode_t m)
{
	(void)d;
	return REAL(open)(p, f, m);
}
static int call_open64(int d, const char *p, int f, mode_t m)
{
	(void)d;
	return REAL(open64)(p, f, m);
}
static int call_openat(int d, const char *p, int f, mode_t m)
{
	return REAL(openat)(d, p, f, m);
}
static int call_openat64(int d, const char *p, int f, mode_t m)
{
	return REAL(openat64)(d, p, f, m);
}
static int call_creat(int d, const char *p, int f, mode_t m)
{
	(void)d;
	(void)f;
	return REAL(creat)(p, m);
}
static int call_creat64(int d, const char *p, int f, mode_t m)
{
	(void)d;
	(void)f;
	return REAL(creat64)(p, m);
}

/* open, creat and their 64 forms are openat from the cwd in libc */
static int issue_open(open_fn fn, int dirfd, const char *path, int flags,
		      mode_t mode)
{
	if (__libc_single_threaded)
		return (int)shim_direct(SYS_openat, dirfd, SHIM_L(path), flags,
					(long)mode, 0, 0);
	return fn(dirfd, path, flags, mode);
}

static int record_open(int call, open_fn fn, int dirfd, const char *path,
		       int flags, mode_t mode)
{
	struct retro_call c;
	struct retro_fast f;
	int fd, isat = call == RC_openat || call == RC_openat64;
	int i = 0;

	if (retro_fast_open(&f, call, dirfd, path, flags, mode,
			    (uint64_t)(uintptr_t)__builtin_return_address(0),
			    (uint64_t)(uintptr_t)__builtin_frame_address(0))) {
		fd = issue_open(fn, dirfd, path, flags, mode);
		retro_fast_open_done(&f, fd, flags);
		return fd;
	}
	if (!retro_enter(&c, call))
		return fn(dirfd, path, flags, mode);
	if (isat)
		c.v[i++] = (uint64_t)(int64_t)dirfd;
	c.v[i++] = SHIM_U64(path);
	if (call != RC_creat && call != RC_creat64)
		c.v[i++] = (uint64_t)flags;
	c.v[i] = mode;
	retro_open_pre(&c, dirfd, path, flags, 1);
	RETRO_SITE(c);
	retro_intent(&c);
	if (c.excl) {
		/* creat takes no flags: open64 from the cwd is the same */
		fd = issue_open(fn == call_creat || fn == call_creat64
					? call_open64
					: fn,
				dirfd, path, flags | O_EXCL, mode);
		if (fd >= 0)
			goto done;
		/* taken again as the program asked for it, after the work
		 * the try stood in for; errno is the program's again */
		retro_open_excl_failed(&c, dirfd, path, flags, errno);
	}
	fd = issue_open(fn, dirfd, path, flags, mode);
done:
	retro_open_post(&c, fd, dirfd, path, flags);
	retro_result(&c, fd);
	return fd;
}

static mode_t mode_arg(int flags, va_list ap)
{
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return (mode_t)va_arg(ap, int);
	return 0;
}

/* man 2 open */
RETRO_EXPORT int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	return record_open(RC_open, call_open, AT_FDCWD, path, flags, mode);
}

RETRO_EXPORT int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	return record_open(RC_open64, call_open64, AT_FDCWD, path, flags, mode);
}

/* man 2 openat */
RETRO_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	return record_open(RC_openat, call_openat, dirfd, path, flags, mode);
}

RETRO_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	return record_open(RC_openat64, call_openat64, dirfd, path, flags,
			   mode);
}

/* man 2 close: a descriptor the recorder knows goes the fast path
 * (recorder.c), any other the general way, as a generated interposer
 * (shim.h) takes it. */
RETRO_EXPORT int close(int fd)
{
	struct retro_fast f;
	struct retro_call c;
	int r;

	if (retro_fast_close(&f, fd,
			     (uint64_t)(uintptr_t)__builtin_return_address(0),
			     (uint64_t)(uintptr_t)__builtin_frame_address(0))) {
		r = __libc_single_threaded
			    ? (int)shim_direct(SYS_close, fd, 0, 0, 0, 0, 0)
			    : REAL(close)(fd);
		retro_fast_close_done(&f, fd, r);
		return r;
	}
	if (!retro_enter(&c, RC_close))
		return REAL(close)(fd);
	RETRO_SITE(c);
	c.v[0] = SHIM_U64(fd);
	retro_intent(&c);
	if (__builtin_expect(c.skip, 0))
		r = (int)c.sret;
	else if (__libc_single_threaded)
		r = (int)shim_direct(SYS_close, fd, 0, 0, 0, 0, 0);
	else
		r = REAL(close)(fd);
	retro_result(&c, r);
	return r;
}

/* man 2 creat */
RETRO_EXPORT int creat(const char *path, mode_t mode)
{
	return record_open(RC_creat, call_creat, AT_FDCWD, path,
			   O_CREAT | O_WRONLY | O_TRUNC, mode);
}

RETRO_EXPORT int creat64(const char *path, mode_t mode)
{
	return record_open(RC_creat64, call_creat64, AT_FDCWD, path,
			   O_CREAT | O_WRONLY | O_TRUNC, mode);
}

/* man 2 dup */
RETRO_EXPORT int dup(int fd)
{
	struct retro_call c;
	int r;

	if (!retro_enter(&c, RC_dup))
		return REAL(dup)(fd);
	c.v[0] = (uint64_t)fd;
	RETRO_SITE(c);
	retro_intent(&c);
	r = REAL(dup)(fd);
	if (r >= 0)
		retro_fd_dup(fd, r);
	retro_result(&c, r);
	return r;
}

RETRO_EXPORT int dup2(int fd, int fd2)
{
	struct retro_call c;
	int r;

	if (!retro_enter(&c, RC_dup2))
		return REAL(dup2)(fd, fd2);
	c.v[0] = (uint64_t)fd;
	c.v[1] = (uint64_t)fd2;
	RETRO_SITE(c);
	retro_intent(&c);
	r = REAL(dup2)(fd, fd2);
	if (r >= 0)
		retro_fd_dup(fd, r);
	retro_result(&c, r);
	return r;
}

RETRO_EXPORT int dup3(int fd, int fd2, int flags)
{
	struct retro_call c;
	int r;

	if (!retro_enter(&c, RC_dup3))
		return REAL(dup3)(fd, fd2, flags);
	c.v[0] = (uint64_t)fd;
	c.v[1] = (uint64_t)fd2;
	c.v[2] = (uint64_t)flags;
	RETRO_SITE(c);
	retro_intent(&c);
	r = REAL(dup3)(fd, fd2, flags);
	if (r >= 0)
		retro_fd_dup(fd, r);
	retro_result(&c, r);
	return r;
}

/* fcntl's third argument is an int, a pointer or absent depending on cmd;
 * passing it on as a long is what glibc itself does. */
static int record_fcntl(int call, int (*fn)(int, int, ...), int fd, int cmd,
			long arg)
{
	struct retro_call c;
	int r;

	if (!retro_enter(&c, call))
		return fn(fd, cmd, arg);
	c.v[0] = (uint64_t)fd;
	c.v[1] = (uint64_t)cmd;
	c.v[2] = (uint64_t)arg;
	if (cmd == F_SETLK || cmd == F_SETLKW || cmd == F_GETLK ||
	    cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW || cmd == F_OFD_GETLK) {
		const struct flock *fl = (const struct flock *)arg;
		/* What matters of a lock: type, start and length. */
		c.v[2] = fl ? (uint64_t)fl->l_type | (uint64_t)fl->l_start << 8
			    : 0;
	}
	RETRO_SITE(c);
	retro_intent(&c);
	r = fn(fd, cmd, arg);
	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		retro_fd_dup(fd, r);
	retro_result(&c, r);
	return r;
}

/* man 2 fcntl */
RETRO_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return record_fcntl(RC_fcntl, REAL(fcntl), fd, cmd, arg);
}

RETRO_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return record_fcntl(RC_fcntl64, REAL(fcntl64), fd, cmd, arg);
}

/* ---- bytes moved without a user buffer ----------------------------------- */

typedef ssize_t (*copy_fn)(int, loff_t *, int, loff_t *, size_t,
			   unsigned int);

/* copy_file_range and splice: bytes go from in to out in the kernel. */
static ssize_t record_copy(int call, copy_fn fn, int in, loff_t *off_in,
			   int out, loff_t *off_out, size_t len,
			   unsigned int flags)
{
	struct retro_call c;
	int64_t at = off_out ? *off_out : -1;
	ssize_t r;

	if (!retro_enter(&c, call))
		return fn(in, off_in, out, off_out, len, flags);
	c.v[0] = (uint64_t)in;
	c.v[1] = SHIM_U64(off_in);
	c.v[2] = (uint64_t)out;
	c.v[3] = SHIM_U64(off_out);
	c.v[4] = len;
	c.v[5] = flags;
	RETRO_SITE(c);
	retro_intent(&c);
	r = fn(in, off_in, out, off_out, len, flags);
	retro_result(&c, r);
	if (r > 0)
		retro_landed_fd(&c, out, at, r);
	return r;
}

/* man 2 copy_file_range */
RETRO_EXPORT ssize_t copy_file_range(int in, loff_t *off_in, int out,
				     loff_t *off_out, size_t len,
				     unsigned int flags)
{
	return record_copy(RC_copy_file_range, REAL(copy_file_range), in,
			   off_in, out, off_out, len, flags);
}

static ssize_t record_sendfile(int call, int out, int in, int64_t *off,
			       size_t count)
{
	struct retro_call c;
	ssize_t r;

	if (!retro_enter(&c, call))
		return call == RC_sendfile
			       ? REAL(sendfile)(out, in, (off_t *)off, count)
			       : REAL(sendfile64)(out, in, (off64_t *)off, count);
	c.v[0] = (uint64_t)out;
	c.v[1] = (uint64_t)in;
	c.v[2] = SHIM_U64(off);
	c.v[3] = count;
	RETRO_SITE(c);
	retro_intent(&c);
	r = call == RC_sendfile ? REAL(sendfile)(out, in, (off_t *)off, count)
				: REAL(sendfile64)(out, in, (off64_t *)off, count);
	retro_result(&c, r);
	if (r > 0)
		retro_landed_fd(&c, out, -1, r); /* out's own offset moved */
	return r;
}

/* man 2 sendfile */
RETRO_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
	return record_sendfile(RC_sendfile, out, in, (int64_t *)off, count);
}

RETRO_EXPORT ssize_t sendfile64(int out, int in, off64_t *off, size_t count)
{
	return record_sendfile(RC_sendfile64, out, in, (int64_t *)off, count);
}

/* man 2 splice */
RETRO_EXPORT ssize_t splice(int in, loff_t *off_in, int out, loff_t *off_out,
			    size_t len, unsigned int flags)
{
	return record_copy(RC_splice, REAL(splice), in, off_in, out, off_out,
			   len, flags);
}

/* man 2 ioctl_ficlone: a clone makes the destination hold the source's
 * bytes.  Every other request passes straight through. */
RETRO_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	struct retro_call c;
	va_list ap;
	long arg;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, long);
	va_end(ap);
	if ((req != FICLONE && req != FICLONERANGE) || !retro_enter(&c, RC_ioctl))
		return REAL(ioctl)(fd, req, arg);
	c.v[0] = (uint64_t)fd;
	c.v[1] = req;
	c.v[2] = (uint64_t)arg;
	RETRO_SITE(c);
	retro_intent(&c);
	r = REAL(ioctl)(fd, req, arg);
	retro_result(&c, r);
	if (r == 0 && req == FICLONE) {
		retro_landed_fd(&c, fd, 0, -1); /* the whole file */
	} else if (r == 0) {
		const struct file_clone_range *fr = (const void *)arg;
		retro_landed_fd(&c, fd, (int64_t)fr->dest_offset,
				(int64_t)fr->src_length);
	}
	return r;
}

/* ---- writable shared mappings -------------------------------------------- */

static int tracked_map(int prot, int flags, int fd)
{
	return fd >= 0 && (prot & PROT_WRITE) && (flags & MAP_SHARED);
}

static void *record_mmap(int call, void *addr, size_t len, int prot,
			 int flags, int fd, int64_t off)
{
	struct retro_call c;
	void *p;

	if (!tracked_map(prot, flags, fd) || !retro_enter(&c, call))
		return call == RC_mmap ? REAL(mmap)(addr, len, prot, flags, fd, off)
				       : REAL(mmap64)(addr, len, prot, flags, fd,
						      off);
	c.v[0] = SHIM_U64(addr);
	c.v[1] = len;
	c.v[2] = (uint64_t)prot;
	c.v[3] = (uint64_t)flags;
	c.v[4] = (uint64_t)fd;
	c.v[5] = (uint64_t)off;
	RETRO_SITE(c);
	retro_intent(&c);
	p = call == RC_mmap ? REAL(mmap)(addr, len, prot, flags, fd, off)
			    : REAL(mmap64)(addr, len, prot, flags, fd, off);
	retro_result(&c, (int64_t)(intptr_t)p);
	if (p != MAP_FAILED)
		retro_mapped(&c, p, len, fd, off);
	return p;
}

/* man 2 mmap */
RETRO_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd,
			off_t off)
{
	return record_mmap(RC_mmap, addr, len, prot, flags, fd, off);
}

RETRO_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd,
			  off64_t off)
{
	return record_mmap(RC_mmap64, addr, len, prot, flags, fd, off);
}

/* man 2 munmap: what a writable shared mapping holds lands first. */
RETRO_EXPORT int munmap(void *addr, size_t len)
{
	struct retro_call c;
	int r;

	if (!retro_maps_active() || !retro_enter(&c, RC_munmap))
		return REAL(munmap)(addr, len);
	c.v[0] = SHIM_U64(addr);
	c.v[1] = len;
	retro_map_flush(&c, addr, len, 1);
	RETRO_SITE(c);
	retro_intent(&c);
	r = REAL(munmap)(addr, len);
	retro_result(&c, r);
	return r;
}

/* man 2 msync */
RETRO_EXPORT int msync(void *addr, size_t len, int flags)
{
	struct retro_call c;
	int r;

	if (!retro_maps_active() || !retro_enter(&c, RC_msync))
		return REAL(msync)(addr, len, flags);
	c.v[0] = SHIM_U64(addr);
	c.v[1] = len;
	c.v[2] = (uint64_t)flags;
	retro_map_flush(&c, addr, len, 0);
	RETRO_SITE(c);
	retro_intent(&c);
	r = REAL(msync)(addr, len, flags);
	retro_result(&c, r);
	return r;
}
