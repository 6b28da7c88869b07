/* p_offsets DIR [PHASE...]: writes without an offset argument (write,
 * writev), in every situation that decides whether the shim may keep a
 * file's offset itself or must ask the kernel (lib/recorder.c,
 * off_usable).  Each phase writes files of its own under DIR with bytes
 * that differ from write to write, so that a write recorded at a wrong
 * offset shows in `retro-replay cat`.  Phases (all, in this order, when
 * none is named):
 *   a  a file it creates: writes, lseek SET and END
 *   b  a file it opens without O_CREAT: regular once an fstat said so
 *   c  dup and F_DUPFD: one description, two descriptors
 *   d  O_APPEND, at open and set later with F_SETFL
 *   f  fork: the child writes to the parent's file
 *   g  posix_spawn: a shell writes to the inherited descriptor
 *   h  writev and readv
 *   i  sendfile into the file, then writes
 *   j  pwritev2 at the file's offset (-1), and with RWF_APPEND
 *   m  sendmsg of the descriptor (SCM_RIGHTS) to a child, which writes
 *   s  a signal handler writing to the file the loop writes (timer)
 *   t  a second thread: nothing kept any more (last)
 * Prints "offsets ok" at the end. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static const char *dir;

static void die(const char *what)
{
	fprintf(stderr, "p_offsets: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int opn(const char *name, int flags)
{
	char p[4096];
	int fd;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	fd = open(p, flags, 0644);
	if (fd < 0)
		die(p);
	return fd;
}

static void put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		die("write");
}

static void seek(int fd, off_t off, int whence)
{
	if (lseek(fd, off, whence) < 0)
		die("lseek");
}

static void reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		die("child");
}

static void phase_a(void)
{
	int fd = opn("a", O_WRONLY | O_CREAT | O_TRUNC);
	put(fd, "A1");
	put(fd, "A22");
	seek(fd, 1, SEEK_SET);
	put(fd, "a");
	seek(fd, 0, SEEK_END);
	put(fd, "A333");
	close(fd);
}

static void phase_b(void)
{
	struct stat st;
	char c;
	int fd = opn("b", O_WRONLY | O_CREAT | O_TRUNC);
	put(fd, "0123456789");
	close(fd);
	fd = opn("b", O_RDWR); /* no stat before it: regular, not yet known */
	put(fd, "B1");
	if (fstat(fd, &st) < 0)
		die("fstat");
	put(fd, "B2");
	seek(fd, 0, SEEK_SET);
	if (read(fd, &c, 1) != 1)
		die("read");
	put(fd, "b");
	close(fd);
}

static void phase_c(void)
{
	int fd = opn("c", O_WRONLY | O_CREAT | O_TRUNC), fd2, fd3;
	put(fd, "C1");
	fd2 = dup(fd);
	put(fd2, "C2");
	put(fd, "C3");
	close(fd2);
	put(fd, "C4"); /* still one description with nothing else now, but
			* the shim does not count descriptors: asks */
	fd3 = fcntl(fd, F_DUPFD, 20);
	put(fd3, "C5");
	close(fd3);
	close(fd);
}

static void phase_d(void)
{
	int fd = opn("d", O_WRONLY | O_CREAT | O_TRUNC);
	put(fd, "DDDD");
	close(fd);
	fd = opn("d", O_WRONLY | O_APPEND);
	put(fd, "D1");
	seek(fd, 0, SEEK_SET);
	put(fd, "D2"); /* appended all the same */
	close(fd);
	fd = opn("e", O_WRONLY | O_CREAT | O_TRUNC);
	put(fd, "E1");
	if (fcntl(fd, F_SETFL, O_APPEND) < 0)
		die("F_SETFL");
	seek(fd, 0, SEEK_SET);
	put(fd, "E2");
	close(fd);
}

static void phase_f(void)
{
	int fd = opn("f", O_WRONLY | O_CREAT | O_TRUNC), fd2;
	pid_t pid;

	put(fd, "F1");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		put(fd, "Fc");
		_exit(0);
	}
	reap(pid);
	put(fd, "Fp");
	put(fd, "Fq");
	close(fd);
	fd2 = opn("f2", O_WRONLY | O_CREAT | O_TRUNC); /* after the fork */
	put(fd2, "G1");
	put(fd2, "G2");
	close(fd2);
}

static void phase_g(void)
{
	int fd = opn("g", O_WRONLY | O_CREAT | O_TRUNC);
	char num[16], *argv[] = { "sh", "-c", "printf Gs >&$1", "sh", num, NULL };
	pid_t pid;

	snprintf(num, sizeof num, "%d", fd);
	put(fd, "G1");
	if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ))
		die("posix_spawn");
	reap(pid);
	put(fd, "Gp");
	close(fd);
}

static void phase_h(void)
{
	char b[3];
	struct iovec w[2] = { { "H1", 2 }, { "H22", 3 } };
	struct iovec r[1] = { { b, 3 } };
	int fd = opn("h", O_RDWR | O_CREAT | O_TRUNC);

	if (writev(fd, w, 2) != 5)
		die("writev");
	seek(fd, 0, SEEK_SET);
	if (readv(fd, r, 1) != 3)
		die("readv");
	put(fd, "h");
	close(fd);
}

static void phase_i(void)
{
	int src = opn("i-src", O_RDWR | O_CREAT | O_TRUNC), fd;
	put(src, "SRC-");
	seek(src, 0, SEEK_SET);
	fd = opn("i", O_WRONLY | O_CREAT | O_TRUNC);
	put(fd, "I1");
	if (sendfile(fd, src, NULL, 4) != 4)
		die("sendfile");
	put(fd, "I2");
	put(fd, "I3");
	put(src, "s"); /* its offset moved too */
	close(fd);
	close(src);
}

static void phase_j(void)
{
	struct iovec v2 = { "J2", 2 }, v3 = { "J3", 2 };
	int fd = opn("j", O_WRONLY | O_CREAT | O_TRUNC);

	put(fd, "J1");
	if (pwritev2(fd, &v2, 1, -1, 0) != 2) /* a writev */
		die("pwritev2");
	seek(fd, 1, SEEK_SET);
	if (pwritev2(fd, &v3, 1, -1, RWF_APPEND) != 2) /* at the end */
		die("pwritev2 RWF_APPEND");
	put(fd, "J4");
	close(fd);
}

static void phase_m(void)
{
	int sv[2], fd;
	pid_t pid;

	/* the child comes first: the sending, not the fork, shares the file */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		die("socketpair");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) { /* takes a descriptor, writes to it */
		char c, ctl[CMSG_SPACE(sizeof(int))];
		struct iovec io = { &c, 1 };
		struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1,
				    .msg_control = ctl,
				    .msg_controllen = sizeof ctl };
		int got;
		close(sv[0]);
		if (recvmsg(sv[1], &m, 0) != 1 || !CMSG_FIRSTHDR(&m))
			die("recvmsg");
		memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof got);
		put(got, "Mc");
		if (write(sv[1], "k", 1) != 1)
			die("write");
		_exit(0);
	}
	close(sv[1]);
	fd = opn("m", O_WRONLY | O_CREAT | O_TRUNC);
	put(fd, "M1");
	{
		char c = 'x', ctl[CMSG_SPACE(sizeof(int))];
		struct iovec io = { &c, 1 };
		struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1,
				    .msg_control = ctl,
				    .msg_controllen = sizeof ctl };
		struct cmsghdr *h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &fd, sizeof fd);
		if (sendmsg(sv[0], &m, 0) != 1)
			die("sendmsg");
		if (read(sv[0], &c, 1) != 1)
			die("read");
	}
	reap(pid);
	put(fd, "Mp");
	close(fd);
	close(sv[0]);
}

static volatile sig_atomic_t ticks;
static int sfd = -1;

static void on_alarm(int sig)
{
	int e = errno;
	(void)sig;
	if (sfd >= 0 && write(sfd, "s", 1) != 1)
		_exit(3);
	ticks++;
	errno = e;
}

static void phase_s(void)
{
	struct itimerval it = { { 0, 200 }, { 0, 200 } };
	struct sigaction sa;
	int n = 0;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	sfd = opn("s", O_WRONLY | O_CREAT | O_TRUNC);
	if (setitimer(ITIMER_REAL, &it, NULL) < 0)
		die("setitimer");
	while (ticks < 100 && n < 2000000) {
		put(sfd, "M");
		n++;
	}
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
	close(sfd);
	sfd = -1;
}

static void *thread_main(void *arg)
{
	(void)arg;
	return NULL;
}

static void phase_t(void)
{
	pthread_t th;
	int fd;

	if (pthread_create(&th, NULL, thread_main, NULL) ||
	    pthread_join(th, NULL))
		die("pthread");
	fd = opn("t", O_WRONLY | O_CREAT | O_TRUNC);
	put(fd, "T1");
	put(fd, "T2");
	close(fd);
}

int main(int argc, char **argv)
{
	static const struct { char name; void (*fn)(void); } phases[] = {
		{ 'a', phase_a }, { 'b', phase_b }, { 'c', phase_c },
		{ 'd', phase_d }, { 'f', phase_f }, { 'g', phase_g },
		{ 'h', phase_h }, { 'i', phase_i }, { 'j', phase_j },
		{ 'm', phase_m }, { 's', phase_s }, { 't', phase_t },
	};
	size_t n = sizeof phases / sizeof *phases;

	if (argc < 2) {
		fprintf(stderr, "usage: p_offsets DIR [PHASE...]\n");
		return 2;
	}
	dir = argv[1];
	for (size_t i = 0; i < n; i++) {
		int run = argc == 2;
		for (int k = 2; k < argc; k++)
			run |= argv[k][0] == phases[i].name;
		if (run)
			phases[i].fn();
	}
	puts("offsets ok");
	return 0;
}
