/* errno across every call the shim intercepts: each call once where it
 * succeeds and once where it fails, with errno preset to a sentinel.  One
 * line per case: the call, whether it succeeded (or the error number it
 * returned, for calls that return one) and errno afterwards, "unchanged"
 * when it still holds the sentinel.  Run with and without the shim, the
 * outputs must be identical.  usage: p_errno DIR */
#define _GNU_SOURCE
/* Bad pointers on purpose (the EFAULT cases): the compiler's warnings
 * about them are what this program is for. */
#pragma GCC diagnostic ignored "-Wnonnull"
#pragma GCC diagnostic ignored "-Wstringop-overread"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SENTINEL 4242

extern char **environ;

static const char *ename(int e)
{
	if (e == SENTINEL)
		return "unchanged";
	if (e == 0)
		return "0";
	return strerrorname_np(e) ? strerrorname_np(e) : "?";
}

/* a call returning -1 (or MAP_FAILED) and setting errno on failure */
#define T(what, expr)                                                      \
	do {                                                               \
		long r_;                                                   \
		int e_;                                                    \
		errno = SENTINEL;                                          \
		r_ = (long)(expr);                                         \
		e_ = errno;                                                \
		printf("%s: %s %s\n", what, r_ == -1 ? "-1" : "ok",        \
		       ename(e_));                                         \
	} while (0)
/* a call returning 0 or an error number */
#define TN(what, expr)                                                     \
	do {                                                               \
		int r_, e_;                                                \
		errno = SENTINEL;                                          \
		r_ = (expr);                                               \
		e_ = errno;                                                \
		printf("%s: %s %s\n", what, r_ ? ename(r_) : "ok",         \
		       ename(e_));                                         \
	} while (0)
/* a call that cannot fail: its value is printed */
#define TV(what, expr)                                                     \
	do {                                                               \
		long r_;                                                   \
		int e_;                                                    \
		errno = SENTINEL;                                          \
		r_ = (long)(expr);                                         \
		e_ = errno;                                                \
		printf("%s: %ld %s\n", what, r_, ename(e_));               \
	} while (0)

static char dir[2048];

static const char *P(const char *name)
{
	static char b[8][4096];
	static int k;

	k = (k + 1) % 8;
	snprintf(b[k], sizeof b[k], "%s/%s", dir, name);
	return b[k];
}

int main(int argc, char **argv)
{
	char buf[1024];
	volatile int neg = -1;
	struct pollfd *volatile nofds = NULL;
	struct stat st;
	struct statx stx;
	struct iovec iov = { buf, 4 };
	struct timespec ts = { 0, 1000 }, bad = { 0, 2000000000 }, rem;
	struct timeval tv = { 0, 1000 };
	struct timespec times[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
	int fd, fd2, p[2], cwd, status;
	pid_t pid;
	void *m;

	if (argc < 2)
		return 2;
	snprintf(dir, sizeof dir, "%s", argv[1]);
	setvbuf(stdout, NULL, _IONBF, 0);
	cwd = open(".", O_RDONLY | O_DIRECTORY);

	/* files */
	T("open", fd = open(P("a"), O_RDWR | O_CREAT | O_TRUNC, 0644));
	T("open fail", open(P("none/x"), O_RDONLY));
	T("open64", fd2 = open64(P("a"), O_RDONLY));
	T("close", close(fd2));
	T("close fail", close(999));
	T("open64 fail", open64(P("none/x"), O_RDONLY));
	T("openat", fd2 = openat(AT_FDCWD, P("a"), O_RDONLY));
	close(fd2);
	T("openat fail", openat(AT_FDCWD, P("none/x"), O_RDONLY));
	T("openat64", fd2 = openat64(AT_FDCWD, P("a"), O_RDONLY));
	close(fd2);
	T("openat64 fail", openat64(999, "x", O_RDONLY));
	T("creat", fd2 = creat(P("c"), 0644));
	close(fd2);
	T("creat fail", creat(P("none/c"), 0644));
	T("creat64", fd2 = creat64(P("c"), 0644));
	close(fd2);
	T("creat64 fail", creat64(P("none/c"), 0644));
	/* O_CREAT without O_EXCL: the shim may try O_EXCL first */
	T("open O_CREAT new", fd2 = open(P("n"), O_WRONLY | O_CREAT, 0644));
	close(fd2);
	T("open O_CREAT existing", fd2 = open(P("n"), O_WRONLY | O_CREAT, 0644));
	close(fd2);
	T("open O_CREAT dir", open(dir, O_WRONLY | O_CREAT, 0644));
	T("symlink dangling", symlink("dangled", P("dangling")));
	T("open O_CREAT dangling",
	  fd2 = open(P("dangling"), O_WRONLY | O_CREAT | O_TRUNC, 0644));
	close(fd2);
	T("open O_CREAT made through it", fd2 = open(P("dangled"), O_RDONLY));
	close(fd2);
	T("open O_CREAT|O_EXCL existing",
	  open(P("n"), O_WRONLY | O_CREAT | O_EXCL, 0644));
	T("write", write(fd, "abcdefgh", 8));
	T("write fail", write(999, "x", 1));
	T("read", read(fd, buf, 4));
	T("read fail", read(999, buf, 4));
	T("pread", pread(fd, buf, 4, 0));
	T("pread fail", pread(fd, buf, 4, -1));
	T("pread64", pread64(fd, buf, 4, 0));
	T("pread64 fail", pread64(999, buf, 4, 0));
	T("pwrite", pwrite(fd, "ab", 2, 0));
	T("pwrite fail", pwrite(fd, "ab", 2, -1));
	T("pwrite64", pwrite64(fd, "ab", 2, 0));
	T("pwrite64 fail", pwrite64(999, "ab", 2, 0));
	T("readv", readv(fd, &iov, 1));
	T("readv fail", readv(fd, &iov, neg));
	T("writev", writev(fd, &iov, 1));
	T("writev fail", writev(999, &iov, 1));
	T("preadv", preadv(fd, &iov, 1, 0));
	T("preadv fail", preadv(fd, &iov, 1, -1));
	T("pwritev", pwritev(fd, &iov, 1, 0));
	T("pwritev fail", pwritev(999, &iov, 1, 0));
	T("preadv64", preadv64(fd, &iov, 1, 0));
	T("preadv64 fail", preadv64(999, &iov, 1, 0));
	T("pwritev64", pwritev64(fd, &iov, 1, 0));
	T("pwritev64 fail", pwritev64(999, &iov, 1, 0));
	T("lseek", lseek(fd, 0, SEEK_SET));
	T("lseek fail", lseek(fd, -5, SEEK_SET));
	T("lseek64", lseek64(fd, 0, SEEK_SET));
	T("lseek64 fail", lseek64(999, 0, SEEK_SET));
	T("ftruncate", ftruncate(fd, 6));
	T("ftruncate fail", ftruncate(fd, -1));
	T("ftruncate64", ftruncate64(fd, 6));
	T("ftruncate64 fail", ftruncate64(999, 6));
	T("truncate", truncate(P("a"), 8));
	T("truncate fail", truncate(P("none/a"), 8));
	T("truncate64", truncate64(P("a"), 8));
	T("truncate64 fail", truncate64(P("none/a"), 8));
	T("fsync", fsync(fd));
	T("fsync fail", fsync(999));
	T("fdatasync", fdatasync(fd));
	T("fdatasync fail", fdatasync(999));
	T("fallocate", fallocate(fd, 0, 0, 16));
	T("fallocate fail", fallocate(fd, 0, -1, 16));
	T("fallocate64", fallocate64(fd, 0, 0, 16));
	T("fallocate64 fail", fallocate64(999, 0, 0, 16));
	TN("posix_fallocate", posix_fallocate(fd, 0, 16));
	TN("posix_fallocate fail", posix_fallocate(fd, -1, 16));
	TN("posix_fallocate64", posix_fallocate64(fd, 0, 16));
	TN("posix_fallocate64 fail", posix_fallocate64(999, 0, 16));
	T("utimensat", utimensat(AT_FDCWD, P("a"), times, 0));
	T("utimensat fail", utimensat(AT_FDCWD, P("none/a"), NULL, 0));
	T("futimens", futimens(fd, times));
	T("futimens fail", futimens(999, NULL));
	T("fstat", fstat(fd, &st));
	T("fstat fail", fstat(999, &st));
	T("fstat64", fstat64(fd, (struct stat64 *)&st));
	T("fstat64 fail", fstat64(999, (struct stat64 *)&st));
	T("stat", stat(P("a"), &st));
	T("stat fail", stat(P("none"), &st));
	T("stat64", stat64(P("a"), (struct stat64 *)&st));
	T("stat64 fail", stat64(P("none"), (struct stat64 *)&st));
	T("lstat", lstat(P("a"), &st));
	T("lstat fail", lstat(P("none"), &st));
	T("lstat64", lstat64(P("a"), (struct stat64 *)&st));
	T("lstat64 fail", lstat64(P("none"), (struct stat64 *)&st));
	T("fstatat", fstatat(AT_FDCWD, P("a"), &st, 0));
	T("fstatat fail", fstatat(AT_FDCWD, P("none"), &st, 0));
	T("fstatat64", fstatat64(AT_FDCWD, P("a"), (struct stat64 *)&st, 0));
	T("fstatat64 fail", fstatat64(999, "a", (struct stat64 *)&st, 0));
	T("statx", statx(AT_FDCWD, P("a"), 0, STATX_ALL, &stx));
	T("statx fail", statx(AT_FDCWD, P("none"), 0, STATX_ALL, &stx));
	T("access", access(P("a"), F_OK));
	T("access fail", access(P("none"), F_OK));
	T("faccessat", faccessat(AT_FDCWD, P("a"), F_OK, 0));
	T("faccessat fail", faccessat(AT_FDCWD, P("none"), F_OK, 0));
	T("dup", fd2 = dup(fd));
	close(fd2);
	T("dup fail", dup(999));
	T("dup2", dup2(fd, 50));
	close(50);
	T("dup2 fail", dup2(999, 50));
	T("dup3", dup3(fd, 51, O_CLOEXEC));
	close(51);
	T("dup3 fail", dup3(fd, fd, 0));
	T("fcntl", fcntl(fd, F_GETFL));
	T("fcntl fail", fcntl(999, F_GETFL));
	T("fcntl dupfd", fd2 = fcntl(fd, F_DUPFD_CLOEXEC, 60));
	close(fd2);
	{
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		T("fcntl setlk", fcntl(fd, F_SETLK, &fl));
		fl.l_type = F_UNLCK;
		T("fcntl unlock", fcntl(fd, F_SETLK, &fl));
		fl.l_type = 99;
		T("fcntl setlk fail", fcntl(fd, F_SETLK, &fl));
	}
	T("fcntl64", fcntl64(fd, F_GETFD));
	T("fcntl64 fail", fcntl64(999, F_GETFD));
	T("flock", flock(fd, LOCK_EX));
	T("flock unlock", flock(fd, LOCK_UN));
	T("flock fail", flock(999, LOCK_EX));
	T("mkdir", mkdir(P("d"), 0755));
	T("mkdir fail", mkdir(P("d"), 0755));
	T("mkdirat", mkdirat(AT_FDCWD, P("d2"), 0755));
	T("mkdirat fail", mkdirat(AT_FDCWD, P("none/d2"), 0755));
	T("chdir", chdir(P("d")));
	T("chdir fail", chdir(P("none")));
	T("fchdir", fchdir(cwd));
	T("fchdir fail", fchdir(999));
	T("rmdir", rmdir(P("d2")));
	T("rmdir fail", rmdir(P("d2")));
	T("link", link(P("a"), P("l")));
	T("link fail", link(P("a"), P("l")));
	T("linkat", linkat(AT_FDCWD, P("a"), AT_FDCWD, P("l2"), 0));
	T("linkat fail", linkat(AT_FDCWD, P("none"), AT_FDCWD, P("l3"), 0));
	T("symlink", symlink("a", P("s")));
	T("symlink fail", symlink("a", P("s")));
	T("symlinkat", symlinkat("a", AT_FDCWD, P("s2")));
	T("symlinkat fail", symlinkat("a", AT_FDCWD, P("none/s2")));
	T("rename", rename(P("l"), P("l4")));
	T("rename fail", rename(P("l"), P("l4")));
	T("renameat", renameat(AT_FDCWD, P("l4"), AT_FDCWD, P("l")));
	T("renameat fail", renameat(AT_FDCWD, P("none"), AT_FDCWD, P("l")));
	T("renameat2", renameat2(AT_FDCWD, P("l"), AT_FDCWD, P("l4"), 0));
	T("renameat2 fail",
	  renameat2(AT_FDCWD, P("l4"), AT_FDCWD, P("a"), RENAME_NOREPLACE));
	T("unlink", unlink(P("l4")));
	T("unlink fail", unlink(P("l4")));
	T("unlinkat", unlinkat(AT_FDCWD, P("l2"), 0));
	T("unlinkat fail", unlinkat(AT_FDCWD, P("d"), 0));
	TV("umask", umask(022));
	TV("umask again", umask(022));
	{
		int dfd = open(dir, O_RDONLY | O_DIRECTORY);
		char dbuf[4096];
		T("getdents64", getdents64(dfd, dbuf, sizeof dbuf));
		T("getdents64 fail", getdents64(999, dbuf, sizeof dbuf));
		close(dfd);
	}

	/* bytes without a user buffer */
	fd2 = open(P("b"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	T("copy_file_range", copy_file_range(fd, NULL, fd2, NULL, 4, 0));
	T("copy_file_range fail", copy_file_range(999, NULL, fd2, NULL, 4, 0));
	T("sendfile", sendfile(fd2, fd, NULL, 4));
	T("sendfile fail", sendfile(fd2, 999, NULL, 4));
	T("sendfile64", sendfile64(fd2, fd, NULL, 4));
	T("sendfile64 fail", sendfile64(999, fd, NULL, 4));
	T("ioctl", ioctl(fd, FIONREAD, &status));
	T("ioctl FICLONE fail", ioctl(fd2, FICLONE, 999));
	T("pipe", pipe(p));
	T("pipe fail", pipe(NULL));
	T("write pipe", write(p[1], "abcd", 4));
	T("splice", splice(p[0], NULL, fd2, NULL, 4, 0));
	T("splice fail", splice(999, NULL, fd2, NULL, 4, 0));
	close(p[0]);
	close(p[1]);
	T("pipe2", pipe2(p, O_CLOEXEC));
	close(p[0]);
	close(p[1]);
	T("pipe2 fail", pipe2(p, -1));
	T("mkfifo", mkfifo(P("fifo"), 0644));
	T("mkfifo fail", mkfifo(P("fifo"), 0644));
	T("mkfifoat", mkfifoat(AT_FDCWD, P("fifo2"), 0644));
	T("mkfifoat fail", mkfifoat(AT_FDCWD, P("none/f"), 0644));
	T("mmap", m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd2,
			   0));
	T("msync", msync(m, 4096, MS_SYNC));
	T("msync fail", msync((char *)m + 1, 4096, MS_SYNC));
	T("munmap", munmap(m, 4096));
	T("munmap fail", munmap((char *)m + 1, 4096));
	T("mmap fail", mmap(NULL, 4096, PROT_READ, MAP_SHARED, 999, 0));
	T("mmap64", m = mmap64(NULL, 4096, PROT_READ, MAP_PRIVATE, fd2, 0));
	munmap(m, 4096);
	T("mmap64 fail", mmap64(NULL, 0, PROT_READ, MAP_PRIVATE, fd2, 0));
	close(fd2);
	close(fd);

	/* processes */
	T("getrandom", getrandom(buf, 16, 0));
	T("getrandom fail", getrandom(buf, 16, 0x1000));
	T("getentropy", getentropy(buf, 16));
	T("getentropy fail", getentropy(buf, 512));
	T("kill", kill(getpid(), 0));
	T("kill fail", kill(getpid(), 999));
	errno = SENTINEL;
	pid = fork();
	if (pid == 0)
		_exit(errno == SENTINEL ? 3 : 4);
	printf("fork: %s %s\n", pid > 0 ? "ok" : "-1", ename(errno));
	T("waitpid", waitpid(pid, &status, 0));
	printf("child saw errno unchanged: %d\n", WEXITSTATUS(status) == 3);
	T("waitpid fail", waitpid(-1, &status, WNOHANG));
	T("wait fail", wait(&status));
	T("wait3 fail", wait3(&status, WNOHANG, NULL));
	T("wait4 fail", wait4(-1, &status, WNOHANG, NULL));
	{
		siginfo_t si;
		T("waitid fail", waitid(P_ALL, 0, &si, WEXITED | WNOHANG));
	}
	errno = SENTINEL;
	pid = vfork();
	if (pid == 0)
		_exit(0);
	printf("vfork: %s %s\n", pid > 0 ? "ok" : "-1", ename(errno));
	T("wait", wait(&status));
	{
		char *av[] = { "true", NULL };
		TN("posix_spawn", posix_spawn(&pid, "/bin/true", NULL, NULL, av,
					      environ));
		T("wait4", wait4(pid, &status, 0, NULL));
		TN("posix_spawnp", posix_spawnp(&pid, "true", NULL, NULL, av,
						environ));
		T("wait3", wait3(&status, 0, NULL));
		TN("posix_spawn fail", posix_spawn(&pid, P("none/x"), NULL,
						   NULL, av, environ));
		TN("posix_spawnp fail", posix_spawnp(&pid, "no-such-program-x",
						     NULL, NULL, av, environ));
		T("execve fail", execve(P("none/x"), av, environ));
		T("execv fail", execv(P("none/x"), av));
		T("execvp fail", execvp("no-such-program-x", av));
		T("execvpe fail", execvpe("no-such-program-x", av, environ));
		T("execl fail", execl(P("none/x"), "x", (char *)NULL));
		T("execlp fail", execlp("no-such-program-x", "x", (char *)NULL));
		T("execle fail",
		  execle(P("none/x"), "x", (char *)NULL, environ));
		T("fexecve fail", fexecve(999, av, environ));
		T("execveat fail",
		  syscall(SYS_execveat, AT_FDCWD, P("none/x"), av, environ, 0));
	}

	/* time */
	TV("sleep", sleep(0));
	T("usleep", usleep(1));
	T("nanosleep", nanosleep(&ts, &rem));
	T("nanosleep fail", nanosleep(&bad, &rem));
	TN("clock_nanosleep", clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &rem));
	TN("clock_nanosleep fail",
	   clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, &rem));
	T("select", select(0, NULL, NULL, NULL, &tv));
	T("select fail", select(-1, NULL, NULL, NULL, &tv));
	T("pselect", pselect(0, NULL, NULL, NULL, &ts, NULL));
	T("pselect fail", pselect(0, NULL, NULL, NULL, &bad, NULL));
	T("poll", poll(NULL, 0, 0));
	T("poll fail", poll(nofds, 1, 0));
	T("ppoll", ppoll(NULL, 0, &ts, NULL));
	T("ppoll fail", ppoll(NULL, 0, &bad, NULL));
	TV("alarm", alarm(0));
	T("clock_gettime", clock_gettime(CLOCK_MONOTONIC, &ts));
	T("clock_gettime fail", clock_gettime(9999, &ts));
	T("gettimeofday", gettimeofday(&tv, NULL));
	T("time", time(NULL) > 0 ? 0 : -1);
	T("clock_settime fail", clock_settime(9999, &ts));
	{
		struct timeval btv = { 0, 2000000 };
		T("settimeofday fail", settimeofday(&btv, NULL));
	}
	{
		struct itimerval it = { { 0, 0 }, { 0, 0 } };
		struct epoll_event ev;
		int ep = epoll_create1(0);
		T("setitimer", setitimer(ITIMER_REAL, &it, NULL));
		T("setitimer fail", setitimer(99, &it, NULL));
		T("getitimer", getitimer(ITIMER_REAL, &it));
		T("getitimer fail", getitimer(99, &it));
		T("epoll_wait", epoll_wait(ep, &ev, 1, 0));
		T("epoll_wait fail", epoll_wait(999, &ev, 1, 0));
		T("epoll_pwait", epoll_pwait(ep, &ev, 1, 0, NULL));
		T("epoll_pwait fail", epoll_pwait(ep, &ev, 0, 0, NULL));
		close(ep);
	}
	{
		pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
		pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
		struct timespec dl;
		sem_t sem;
		clock_gettime(CLOCK_REALTIME, &dl);
		pthread_mutex_lock(&mu);
		TN("pthread_cond_timedwait timeout",
		   pthread_cond_timedwait(&cv, &mu, &dl));
		TN("pthread_cond_timedwait fail",
		   pthread_cond_timedwait(&cv, &mu, &bad));
		TN("pthread_cond_clockwait timeout",
		   pthread_cond_clockwait(&cv, &mu, CLOCK_REALTIME, &dl));
		pthread_mutex_unlock(&mu);
		sem_init(&sem, 0, 1);
		T("sem_wait", sem_wait(&sem));
		T("sem_timedwait timeout", sem_timedwait(&sem, &dl));
		T("sem_timedwait fail", sem_timedwait(&sem, &bad));
		T("sem_clockwait timeout",
		  sem_clockwait(&sem, CLOCK_MONOTONIC, &ts));
		sem_destroy(&sem);
	}
	/* pointers nothing can be mapped at: the first page, the kernel's
	 * half.  The calls fail with EFAULT; the recorder must not fault
	 * reading them first */
	{
		const char *lo = (const char *)8, *hi = (const char *)-1L;
		struct iovec *badiov = (struct iovec *)16;
		int fd3 = open(P("a"), O_RDWR);
		T("open EFAULT", open(lo, O_RDONLY));
		T("open O_CREAT EFAULT", open(lo, O_WRONLY | O_CREAT, 0644));
		T("openat EFAULT", openat(AT_FDCWD, hi, O_RDONLY));
		T("creat EFAULT", creat(lo, 0644));
		T("stat EFAULT", stat(hi, &st));
		T("stat buffer EFAULT", stat(P("a"), (struct stat *)lo));
		T("unlink EFAULT", unlink(lo));
		T("rename EFAULT", rename(lo, P("zz")));
		T("mkdir EFAULT", mkdir(hi, 0755));
		T("symlink EFAULT", symlink(lo, P("zz")));
		T("write EFAULT", write(fd3, lo, 4));
		T("pwrite EFAULT", pwrite(fd3, hi, 4, 0));
		T("read EFAULT", read(fd3, (void *)lo, 4));
		/* at the end of the file: a pointer in the kernel's half
		 * fails, one in the first page reads nothing */
		T("read EFAULT at EOF",
		  (lseek(fd3, 0, SEEK_END), read(fd3, (void *)hi, 4)));
		T("read first page at EOF", read(fd3, (void *)lo, 4));
		T("pread EFAULT past EOF", pread(fd3, (void *)hi, 4, 1 << 20));
		T("lseek", lseek(fd3, 0, SEEK_SET));
		T("writev EFAULT", writev(fd3, badiov, 1));
		T("readv EFAULT", readv(fd3, badiov, 1));
		T("nanosleep EFAULT", nanosleep((const struct timespec *)lo, NULL));
		TN("clock_nanosleep EFAULT",
		   clock_nanosleep(CLOCK_MONOTONIC, 0,
				   (const struct timespec *)hi, NULL));
		T("utimensat EFAULT",
		  utimensat(AT_FDCWD, P("a"), (const struct timespec *)lo, 0));
		T("copy_file_range EFAULT",
		  copy_file_range(fd3, (loff_t *)lo, fd3, NULL, 1, 0));
		T("execve EFAULT", execve(lo, NULL, NULL));
		T("chdir EFAULT", chdir(hi));
		T("access EFAULT", access(lo, F_OK));
		T("getrandom EFAULT", getrandom((void *)lo, 8, 0));
		T("pipe EFAULT", pipe((int *)lo));
		close(fd3);
	}
	T("close cwd", close(cwd));
	return 0;
}
