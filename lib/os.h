/* The operating-system calls that lib/ makes on its own behalf.
 *
 * All of them go through retro_os so that tests can replace an entry and
 * return EINTR, ENOSPC, EMFILE or a short count (SQLite's aSyscall table;
 * RETRO_FAULT, fault.c).  Every entry returns the kernel's convention:
 * >= 0, or -errno.  lib/ calls them through the retro_os_* functions below,
 * which repeat a call that EINTR interrupted and finish a short read or
 * write.
 *
 * Not in the table, on purpose: reading clocks, ids (getpid, gettid,
 * getppid, geteuid), the working directory and the umask, which are
 * queries, not resources; the signal masks and
 * actions that the trap layer keeps for the program (trap.c) and the
 * program's own system calls that it performs (retro_trapped), which are
 * the program's, not lib/'s; the replay driver's socket (shepherd.c); and
 * LMDB's own I/O, which liblmdb makes itself. */
#ifndef RETRO_OS_H
#define RETRO_OS_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/stat.h>

struct retro_os {
	long (*openat)(int dfd, const char *path, int flags, int mode);
	long (*close)(int fd);
	long (*read)(int fd, void *buf, size_t n);
	long (*pread)(int fd, void *buf, size_t n, off_t off);
	long (*write)(int fd, const void *buf, size_t n);
	long (*pwrite)(int fd, const void *buf, size_t n, off_t off);
	long (*fallocate)(int fd, int mode, off_t off, off_t len);
	long (*ftruncate)(int fd, off_t len);
	long (*mmap)(void *addr, size_t len, int prot, int flags, int fd,
		     off_t off);
	long (*munmap)(void *addr, size_t len);
	long (*mkdirat)(int dfd, const char *path, int mode);
	long (*renameat)(int odfd, const char *old, int ndfd, const char *new);
	long (*unlinkat)(int dfd, const char *path, int flags);
	long (*fstatat)(int dfd, const char *path, struct stat *st, int flags);
	long (*readlinkat)(int dfd, const char *path, char *buf, size_t n);
	long (*getdents64)(int fd, void *buf, size_t n);
	long (*fchmod)(int fd, int mode);
	long (*lseek)(int fd, off_t off, int whence);
	long (*prctl)(long op, long a, long b, long c, long d);
	long (*fcntl)(int fd, int cmd, long arg);
	long (*flock)(int fd, int op);
	long (*fchmodat)(int dfd, const char *path, int mode);
	long (*getrandom)(void *buf, size_t n, unsigned flags);
	long (*madvise)(void *addr, size_t len, int advice);
	long (*utimensat)(int dfd, const char *path, const void *ts, int flags);
	long (*kill)(int pid, int sig);
	long (*getrlimit)(int res, void *rl);
};

extern struct retro_os retro_os;

/* Repeated while EINTR interrupts them. */
long retro_os_openat(int dfd, const char *path, int flags, int mode);
long retro_os_fallocate(int fd, int mode, off_t off, off_t len);
long retro_os_ftruncate(int fd, off_t len);
long retro_os_mkdirat(int dfd, const char *path, int mode);
long retro_os_renameat(int odfd, const char *old, int ndfd, const char *new);
long retro_os_unlinkat(int dfd, const char *path, int flags);
long retro_os_fstatat(int dfd, const char *path, struct stat *st, int flags);
long retro_os_readlinkat(int dfd, const char *path, char *buf, size_t n);
long retro_os_getdents64(int fd, void *buf, size_t n);
/* The entries of what retro_os_getdents64 put in buf (len bytes): the
 * name of the entry at *o, with *o moved to the next; NULL at the end. */
static inline const char *retro_dirent_next(const char *buf, long len,
					    long *o)
{
	/* struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name */
	unsigned short reclen;
	const char *name;

	if (*o + 19 >= len)
		return NULL;
	__builtin_memcpy(&reclen, buf + *o + 16, sizeof reclen);
	name = buf + *o + 19;
	*o += reclen;
	return name;
}
long retro_os_fchmod(int fd, int mode);
long retro_os_fcntl(int fd, int cmd, long arg);
long retro_os_flock(int fd, int op);
long retro_os_fchmodat(int dfd, const char *path, int mode);
long retro_os_utimensat(int dfd, const char *path, const void *ts, int flags);
/* ...and continued until n bytes are done (or, reading, the end of the
 * file): return the bytes done, or -errno when none were. */
long retro_os_read(int fd, void *buf, size_t n);
long retro_os_pread(int fd, void *buf, size_t n, off_t off);
long retro_os_write(int fd, const void *buf, size_t n);
long retro_os_getrandom(void *buf, size_t n, unsigned flags);

/* Test hook: makes one entry fail (see fault.c).  Returns 0 or EINVAL. */
int retro_fault_setup(const char *spec);

/* Restores every entry to the real system call. */
void retro_os_reset(void);

/* Opens one of a store's own files for reading: O_NOFOLLOW, and without
 * blocking (a FIFO put in a store's place must not hang a reader).
 * Returns the fd, -EINVAL when path is not a regular file, or -errno. */
long retro_os_open_file(const char *path);
/* ...and its stat in *st. */
long retro_os_open_file_st(const char *path, struct stat *st);
/* retro_os_read of at most what st (fd's fstat) says the file holds, when
 * that is less than n: one read, not a second one to find the end (an
 * exec'd image reads its store's FORMAT and SPOOL so).  A size of 0 may be
 * a pseudo-file's: then up to n. */
long retro_os_read_st(int fd, const struct stat *st, void *buf, size_t n);
/* Reads a small regular file (retro_os_open_file: never a FIFO, never
 * through a symlink) into buf, NUL-terminated, without its trailing
 * newline.  Returns its length, or -1. */
long retro_os_read_line(const char *path, char *buf, size_t n);
/* Appends n records of size bytes to the file at path (made 0600, never
 * through a symlink), unless it holds max records or more; a file whose
 * length is not a whole number of records (cut short: a full disk) is
 * emptied first.  What fails is left undone: the files of learned sites
 * and call chains (rewrite.c, recorder.c) are caches. */
void retro_os_append_records(const char *path, const void *recs, size_t n,
			     size_t size, size_t max);

/* Reads the whole regular file at path (at most max bytes) into an anonymous
 * mapping of *cap bytes; *len receives the length read.  Returns 0, -EFBIG
 * when the file is larger than max, -EINVAL when it is not a regular file, or
 * another -errno.  Release with retro_os_unslurp(buf, cap). */
long retro_os_slurp(const char *path, size_t max, void **buf, size_t *len,
		    size_t *cap);
void retro_os_unslurp(void *buf, size_t cap);

/* Field 22 (starttime, in clock ticks since boot) of a /proc/PID/stat
 * file: with the pid, it tells a live process from a later one that got
 * the same pid.  Returns 0 when it cannot be read. */
#include <stdint.h>
uint64_t retro_os_starttime(const char *statpath);

/* A starttime for a process forked just now, from CLOCK_BOOTTIME instead
 * of /proc (a read of /proc/self/stat took 44 us of a fork child's start).
 * The clock is read after the kernel took the child's start, as late as
 * the child was first scheduled: under load, ticks later.  See
 * retro_os_writer_alive. */
uint64_t retro_os_starttime_now(void);
/* Nanoseconds per clock tick, the unit of those start times. */
uint64_t retro_os_tick_ns(void);

/* Is the process that recorded rec as its start (rec: its start or later,
 * see retro_os_starttime_now) still running as pid?  Any other holder of
 * the pid took it after that one exited, so after rec was taken: its
 * start in /proc is rec or later, and equal only if the pids (pid_max:
 * 32768 here) went round within one tick (10 ms).  Without a readable
 * /proc it cannot tell, and says yes: a live writer's segment is never
 * taken from under it. */
int retro_os_writer_alive(int32_t pid, uint64_t rec);

/* Is /proc mounted, and this process in it? */
int retro_os_have_proc(void);

/* The signals this process has handlers for (bit sig - 1 set), from
 * /proc/self/status's SigCgt: one read where asking rt_sigaction of each
 * signal is 61 system calls.  Returns 0, or -1 when /proc cannot say. */
int retro_os_caught_signals(uint64_t *mask);

/* Whether an exec of path (st: its stat) would run with other ids: a
 * setuid or setgid bit for an owner that is not us, on a mount without
 * nosuid, in a process without no_new_privs.  The loader then ignores
 * LD_PRELOAD. */
int retro_os_setid_exec(const char *path, const struct stat *st);

#endif
