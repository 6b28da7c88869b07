/* Sleeps and reads interrupted by a signal: what each returns, the errno it
 * leaves and how much time it says remains, and whether SA_RESTART restarts
 * a read on a pipe.  The output is the same with and without the shim; the
 * remaining time is printed in ms (a signal 200 ms into a 1 s sleep leaves
 * about 800): the test compares it with a tolerance.
 * usage: p_sigsleep */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SENTINEL 4242

static volatile sig_atomic_t hits;

static void on_alrm(int sig)
{
	(void)sig;
	hits++;
}

static void handler(int restart)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alrm;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
}

/* SIGALRM once, ms milliseconds from now */
static void arm(long ms)
{
	struct itimerval it = { { 0, 0 }, { ms / 1000, (ms % 1000) * 1000 } };

	hits = 0;
	setitimer(ITIMER_REAL, &it, NULL);
}

static const char *ename(int e)
{
	switch (e) {
	case 0: return "0";
	case EINTR: return "EINTR";
	case EINVAL: return "EINVAL";
	case SENTINEL: return "unchanged";
	default: return strerrorname_np(e) ? strerrorname_np(e) : "?";
	}
}

/* milliseconds, truncated */
static long ms(const struct timespec *ts)
{
	return (ts->tv_sec * 1000000000L + ts->tv_nsec) / 1000000L;
}

/* read(2) by a syscall instruction of the program's own, as the kernel
 * returns it (-errno) */
static long asm_read(int fd, void *buf, size_t n)
{
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"((long)SYS_read), "D"((long)fd), "S"(buf), "d"(n)
			 : "rcx", "r11", "memory");
	return r;
}

/* a read of a pipe whose writer writes after 400 ms, with SIGALRM at
 * 100 ms; raw 1: through syscall(); raw 2: by a syscall instruction */
static void pipe_read(int restart, int raw)
{
	int p[2], st;
	char c = 0;
	long r;
	pid_t pid;

	if (pipe(p) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct timespec d = { 0, 400000000 };
		close(p[0]);
		nanosleep(&d, NULL);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	handler(restart);
	arm(100);
	errno = SENTINEL;
	if (raw == 2) {
		r = asm_read(p[0], &c, 1);
		if (r < 0) {
			errno = (int)-r;
			r = -1;
		}
	} else {
		r = raw ? syscall(SYS_read, p[0], &c, 1) : read(p[0], &c, 1);
	}
	printf("%sread %s: %ld %s %c hits %d\n",
	       raw == 2 ? "asm " : raw ? "raw " : "",
	       restart ? "SA_RESTART" : "no SA_RESTART", r,
	       ename(r < 0 ? errno : SENTINEL), r == 1 ? c : '-', (int)hits);
	close(p[0]);
	waitpid(pid, &st, 0);
}

int main(void)
{
	struct timespec req = { 1, 0 }, rem;
	int r, e;
	unsigned u;

	setvbuf(stdout, NULL, _IONBF, 0);
	handler(0);

	arm(200);
	memset(&rem, 0, sizeof rem);
	errno = SENTINEL;
	r = nanosleep(&req, &rem);
	e = errno;
	printf("nanosleep: %d %s rem %ld hits %d\n", r, ename(e), ms(&rem),
	       (int)hits);

	arm(200);
	memset(&rem, 0, sizeof rem);
	errno = SENTINEL;
	r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
	e = errno;
	printf("clock_nanosleep: %d errno %s rem %ld hits %d\n", r, ename(e),
	       ms(&rem), (int)hits);

	/* a relative sleep on CLOCK_REALTIME too */
	arm(300);
	memset(&rem, 0, sizeof rem);
	r = clock_nanosleep(CLOCK_REALTIME, 0, &req, &rem);
	printf("clock_nanosleep realtime: %d rem %ld hits %d\n", r,
	       ms(&rem), (int)hits);

	/* absolute: no remaining time is written */
	{
		struct timespec dl;
		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_sec += 1;
		rem.tv_sec = 77;
		rem.tv_nsec = 0;
		arm(200);
		r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, &rem);
		printf("clock_nanosleep abs: %d rem untouched %d hits %d\n", r,
		       rem.tv_sec == 77, (int)hits);
	}

	/* sleep() returns the seconds left */
	arm(200);
	errno = SENTINEL;
	u = sleep(3);
	e = errno;
	printf("sleep: %u %s hits %d\n", u, ename(e), (int)hits);

	arm(200);
	errno = SENTINEL;
	r = usleep(1000000);
	e = errno;
	printf("usleep: %d %s hits %d\n", r, ename(e), (int)hits);

	/* the same through the raw system call */
	arm(200);
	memset(&rem, 0, sizeof rem);
	errno = SENTINEL;
	r = (int)syscall(SYS_nanosleep, &req, &rem);
	e = errno;
	printf("raw nanosleep: %d %s rem %ld hits %d\n", r, ename(e),
	       ms(&rem), (int)hits);

	/* an uninterrupted sleep leaves errno alone */
	{
		struct timespec s = { 0, 1000000 };
		errno = SENTINEL;
		r = nanosleep(&s, NULL);
		printf("short nanosleep: %d %s\n", r, ename(errno));
		errno = SENTINEL;
		s.tv_nsec = 1000000000; /* invalid */
		r = nanosleep(&s, NULL);
		printf("invalid nanosleep: %d %s\n", r, ename(errno));
	}

	pipe_read(1, 0);
	pipe_read(0, 0);
	pipe_read(1, 1);
	pipe_read(0, 1);
	pipe_read(1, 2);
	pipe_read(0, 2);
	return 0;
}
