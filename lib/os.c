#include "config.h"
#include "os.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

static long sys_openat(int dfd, const char *p, int fl, int mode)
{
	return retro_sys4(SYS_openat, dfd, p, fl, mode);
}
static long sys_close(int fd) { return retro_sys1(SYS_close, fd); }
static long sys_read(int fd, void *b, size_t n)
{
	return retro_sys3(SYS_read, fd, b, n);
}
static long sys_pread(int fd, void *b, size_t n, off_t off)
{
	return retro_sys4(SYS_pread64, fd, b, n, off);
}
static long sys_write(int fd, const void *b, size_t n)
{
	return retro_sys3(SYS_write, fd, b, n);
}
static long sys_pwrite(int fd, const void *b, size_t n, off_t off)
{
	return retro_sys4(SYS_pwrite64, fd, b, n, off);
}
static long sys_fallocate(int fd, int mode, off_t off, off_t len)
{
	return retro_sys4(SYS_fallocate, fd, mode, off, len);
}
static long sys_ftruncate(int fd, off_t len)
{
	return retro_sys2(SYS_ftruncate, fd, len);
}
static long sys_mmap(void *a, size_t l, int prot, int fl, int fd, off_t off)
{
	return retro_sys6(SYS_mmap, (long)a, (long)l, prot, fl, fd, off);
}
static long sys_munmap(void *a, size_t l) { return retro_sys2(SYS_munmap, a, l); }
static long sys_mkdirat(int dfd, const char *p, int mode)
{
	return retro_sys3(SYS_mkdirat, dfd, p, mode);
}
static long sys_renameat(int o, const char *op, int n, const char *np)
{
	return retro_sys4(SYS_renameat, o, op, n, np);
}
static long sys_unlinkat(int dfd, const char *p, int fl)
{
	return retro_sys3(SYS_unlinkat, dfd, p, fl);
}
static long sys_fstatat(int dfd, const char *p, struct stat *st, int fl)
{
	return retro_sys4(SYS_newfstatat, dfd, p, st, fl);
}
static long sys_readlinkat(int dfd, const char *p, char *b, size_t n)
{
	return retro_sys4(SYS_readlinkat, dfd, p, b, n);
}
static long sys_getdents64(int fd, void *b, size_t n)
{
	return retro_sys3(SYS_getdents64, fd, b, n);
}
static long sys_fchmod(int fd, int mode) { return retro_sys2(SYS_fchmod, fd, mode); }
static long sys_lseek(int fd, off_t off, int wh)
{
	return retro_sys3(SYS_lseek, fd, off, wh);
}

static long sys_prctl(long op, long a, long b, long c, long d)
{
	return retro_sys6(SYS_prctl, op, a, b, c, d, 0);
}

static long sys_fcntl(int fd, int cmd, long arg)
{
	return retro_sys3(SYS_fcntl, fd, cmd, arg);
}
static long sys_flock(int fd, int op) { return retro_sys2(SYS_flock, fd, op); }
static long sys_fchmodat(int dfd, const char *p, int mode)
{
	return retro_sys3(SYS_fchmodat, dfd, p, mode);
}
static long sys_getrandom(void *b, size_t n, unsigned fl)
{
	return retro_sys3(SYS_getrandom, b, n, fl);
}
static long sys_madvise(void *a, size_t l, int adv)
{
	return retro_sys3(SYS_madvise, a, l, adv);
}
static long sys_utimensat(int dfd, const char *p, const void *ts, int fl)
{
	return retro_sys4(SYS_utimensat, dfd, p, ts, fl);
}
static long sys_kill(int pid, int sig) { return retro_sys2(SYS_kill, pid, sig); }
static long sys_getrlimit(int res, void *rl)
{
	return retro_sys2(SYS_getrlimit, res, rl);
}

/* Twice: ISO C (and clang) takes no const object as a static initializer. */
#define REAL_OS { \
	.openat = sys_openat, \
	.close = sys_close, \
	.read = sys_read, \
	.pread = sys_pread, \
	.write = sys_write, \
	.pwrite = sys_pwrite, \
	.fallocate = sys_fallocate, \
	.ftruncate = sys_ftruncate, \
	.mmap = sys_mmap, \
	.munmap = sys_munmap, \
	.mkdirat = sys_mkdirat, \
	.renameat = sys_renameat, \
	.unlinkat = sys_unlinkat, \
	.fstatat = sys_fstatat, \
	.readlinkat = sys_readlinkat, \
	.getdents64 = sys_getdents64, \
	.fchmod = sys_fchmod, \
	.lseek = sys_lseek, \
	.prctl = sys_prctl, \
	.fcntl = sys_fcntl, \
	.flock = sys_flock, \
	.fchmodat = sys_fchmodat, \
	.getrandom = sys_getrandom, \
	.madvise = sys_madvise, \
	.utimensat = sys_utimensat, \
	.kill = sys_kill, \
	.getrlimit = sys_getrlimit, \
}

static const struct retro_os real_os = REAL_OS;

struct retro_os retro_os = REAL_OS;

void retro_os_reset(void) { retro_os = real_os; }

/* A call of the table, repeated while a signal interrupts it: lib/ is
 * not the program, and its own calls are never cut short. */
#define RETRY(call)                                                    \
	({                                                             \
		long r_;                                               \
		do                                                     \
			r_ = (call);                                   \
		while (r_ == -EINTR);                                  \
		r_;                                                    \
	})

long retro_os_openat(int dfd, const char *path, int flags, int mode)
{
	return RETRY(retro_os.openat(dfd, path, flags, mode));
}

long retro_os_fallocate(int fd, int mode, off_t off, off_t len)
{
	return RETRY(retro_os.fallocate(fd, mode, off, len));
}

long retro_os_ftruncate(int fd, off_t len)
{
	return RETRY(retro_os.ftruncate(fd, len));
}

long retro_os_mkdirat(int dfd, const char *path, int mode)
{
	return RETRY(retro_os.mkdirat(dfd, path, mode));
}

long retro_os_renameat(int odfd, const char *old, int ndfd, const char *new)
{
	return RETRY(retro_os.renameat(odfd, old, ndfd, new));
}

long retro_os_unlinkat(int dfd, const char *path, int flags)
{
	return RETRY(retro_os.unlinkat(dfd, path, flags));
}

long retro_os_fstatat(int dfd, const char *path, struct stat *st, int flags)
{
	return RETRY(retro_os.fstatat(dfd, path, st, flags));
}

long retro_os_readlinkat(int dfd, const char *path, char *buf, size_t n)
{
	return RETRY(retro_os.readlinkat(dfd, path, buf, n));
}

long retro_os_getdents64(int fd, void *buf, size_t n)
{
	return RETRY(retro_os.getdents64(fd, buf, n));
}

long retro_os_fchmod(int fd, int mode)
{
	return RETRY(retro_os.fchmod(fd, mode));
}

long retro_os_fcntl(int fd, int cmd, long arg)
{
	return RETRY(retro_os.fcntl(fd, cmd, arg));
}

long retro_os_flock(int fd, int op)
{
	return RETRY(retro_os.flock(fd, op));
}

long retro_os_fchmodat(int dfd, const char *path, int mode)
{
	return RETRY(retro_os.fchmodat(dfd, path, mode));
}

long retro_os_utimensat(int dfd, const char *path, const void *ts, int flags)
{
	return RETRY(retro_os.utimensat(dfd, path, ts, flags));
}

/* read (off < 0) or pread until n bytes, the end, or an error */
static long read_all(int fd, void *buf, size_t n, off_t off)
{
	size_t done = 0;

	while (done < n) {
		long r = off < 0 ? retro_os.read(fd, (char *)buf + done, n - done)
				 : retro_os.pread(fd, (char *)buf + done,
						  n - done, off + (off_t)done);
		if (r == -EINTR)
			continue;
		if (r < 0)
			return done ? (long)done : r;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (long)done;
}

long retro_os_read(int fd, void *buf, size_t n)
{
	return read_all(fd, buf, n, -1);
}

long retro_os_pread(int fd, void *buf, size_t n, off_t off)
{
	return off < 0 ? -EINVAL : read_all(fd, buf, n, off);
}

long retro_os_write(int fd, const void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		long r = retro_os.write(fd, (const char *)buf + done, n - done);
		if (r == -EINTR)
			continue;
		if (r < 0)
			return done ? (long)done : r;
		if (r == 0)
			return done ? (long)done : -EIO;
		done += (size_t)r;
	}
	return (long)done;
}

long retro_os_getrandom(void *buf, size_t n, unsigned flags)
{
	size_t done = 0;

	while (done < n) {
		long r = retro_os.getrandom((char *)buf + done, n - done, flags);
		if (r == -EINTR)
			continue;
		if (r <= 0)
			return done ? (long)done : r;
		done += (size_t)r;
	}
	return (long)done;
}

long retro_os_open_file(const char *path)
{
	struct stat st;

	return retro_os_open_file_st(path, &st);
}

long retro_os_open_file_st(const char *path, struct stat *st)
{
	long fd, r;

	fd = retro_os_openat(AT_FDCWD, path,
			     O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0);
	if (fd < 0)
		return fd;
	r = retro_os_fstatat((int)fd, "", st, AT_EMPTY_PATH);
	if (r < 0 || !S_ISREG(st->st_mode)) {
		retro_os.close((int)fd);
		return r < 0 ? r : -EINVAL;
	}
	return fd;
}

long retro_os_read_st(int fd, const struct stat *st, void *buf, size_t n)
{
	if (st->st_size > 0 && (uint64_t)st->st_size < n)
		n = (size_t)st->st_size;
	return retro_os_read(fd, buf, n);
}

long retro_os_read_line(const char *path, char *buf, size_t n)
{
	struct stat st;
	long fd = retro_os_open_file_st(path, &st), k;

	if (fd < 0)
		return -1;
	k = retro_os_read_st((int)fd, &st, buf, n - 1);
	retro_os.close((int)fd);
	if (k < 0)
		return -1;
	buf[k] = 0;
	if (k > 0 && buf[k - 1] == '\n')
		buf[--k] = 0;
	return k;
}

void retro_os_append_records(const char *path, const void *recs, size_t n,
			     size_t size, size_t max)
{
	struct stat sb;
	long fd = retro_os_openat(AT_FDCWD, path,
				  O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
					  O_CLOEXEC,
				  0600);

	if (fd < 0)
		return;
	if (retro_os_fstatat((int)fd, "", &sb, AT_EMPTY_PATH) == 0 &&
	    S_ISREG(sb.st_mode) && (size_t)sb.st_size < max * size) {
		if ((size_t)sb.st_size % size)
			retro_os.ftruncate((int)fd, 0);
		retro_os_write((int)fd, recs, n * size);
	}
	retro_os.close((int)fd);
}

long retro_os_slurp(const char *path, size_t max, void **bufp, size_t *lenp,
		    size_t *capp)
{
	struct stat st;
	long fd, r;
	size_t cap, len = 0;
	char *buf;

	fd = retro_os_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
						     O_NONBLOCK, 0);
	if (fd < 0)
		return fd;
	r = retro_os_fstatat((int)fd, "", &st, AT_EMPTY_PATH);
	if (r < 0)
		goto out_close;
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out_close;
	}
	if ((size_t)st.st_size > max) {
		r = -EFBIG;
		goto out_close;
	}
	cap = st.st_size ? (size_t)st.st_size : 1;
	r = retro_os.mmap(NULL, cap, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r < 0)
		goto out_close;
	buf = (char *)r;
	while (len < cap) {
		r = retro_os_pread((int)fd, buf + len, cap - len, (off_t)len);
		if (r < 0) {
			retro_os.munmap(buf, cap);
			goto out_close;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	*bufp = buf;
	*lenp = len;
	*capp = cap;
	r = 0;
out_close:
	retro_os.close((int)fd);
	return r;
}

void retro_os_unslurp(void *buf, size_t cap)
{
	retro_os.munmap(buf, cap);
}

int retro_os_setid_exec(const char *path, const struct stat *st)
{
	struct statfs fs;

	if (!((st->st_mode & S_ISUID) && st->st_uid != geteuid()) &&
	    !((st->st_mode & S_ISGID) && st->st_gid != getegid()))
		return 0;
	if (retro_sys2(SYS_statfs, path, &fs) == 0 && (fs.f_flags & ST_NOSUID))
		return 0;
	return retro_sys2(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0) != 1;
}

/* Nanoseconds per clock tick (the unit of /proc's starttime).  Asked
 * before a fork (retro_fork_prepare), so that the children, which use it,
 * find it set and do not each fault in getauxval. */
uint64_t retro_os_tick_ns(void)
{
	static uint64_t tick_ns;

	if (!tick_ns) {
		unsigned long hz = getauxval(AT_CLKTCK);
		tick_ns = 1000000000ull / (hz ? hz : 100);
	}
	return tick_ns;
}

uint64_t retro_os_starttime_now(void)
{
	uint64_t tick_ns = retro_os_tick_ns();
	struct timespec ts;

	if (retro_sys2(SYS_clock_gettime, CLOCK_BOOTTIME, (long)&ts) < 0)
		return retro_os_starttime("/proc/self/stat");
	return ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) /
	       tick_ns;
}

int retro_os_writer_alive(int32_t pid, uint64_t rec)
{
	char path[64];
	uint64_t proc;
	size_t n;

	n = (size_t)snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (pid <= 0 || n >= sizeof path)
		return 0;
	proc = retro_os_starttime(path);
	if (proc)
		return proc <= rec;
	/* gone, or no /proc to ask */
	return !retro_os_have_proc();
}

int retro_os_have_proc(void)
{
	/* A /proc once there stays: asked once, not at every writer gone
	 * (an importer asks for each process that ended). */
	static int have;

	if (!__atomic_load_n(&have, __ATOMIC_RELAXED) &&
	    retro_os_starttime("/proc/self/stat") != 0)
		__atomic_store_n(&have, 1, __ATOMIC_RELAXED);
	return __atomic_load_n(&have, __ATOMIC_RELAXED);
}

int retro_os_caught_signals(uint64_t *mask)
{
	char buf[2048];
	long fd, n;
	char *p, *end;
	uint64_t m;

	fd = retro_os_openat(AT_FDCWD, "/proc/self/status",
			     O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	n = retro_os_read((int)fd, buf, sizeof buf - 1);
	retro_os.close((int)fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, "\nSigCgt:\t");
	if (!p)
		return -1;
	p += 9;
	m = strtoull(p, &end, 16);
	if (end != p + 16 || *end != '\n')
		return -1;
	*mask = m;
	return 0;
}

uint64_t retro_os_starttime(const char *statpath)
{
	char buf[1024];
	long fd, n;
	char *p;
	int field = 2;

	fd = retro_os_openat(AT_FDCWD, statpath, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	n = retro_os_read((int)fd, buf, sizeof buf - 1);
	retro_os.close((int)fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* the command name may hold spaces and parentheses: count fields
	 * after its closing parenthesis */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	for (p++; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	return strtoull(p, NULL, 10);
}
