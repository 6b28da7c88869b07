/* Recorded calls from inside signal handlers, at a high rate, while every
 * thread makes the same calls outside them.  Two timers send SIGALRM and
 * SIGUSR1 every few hundred microseconds; each handler opens its file,
 * appends one byte, closes it and reads the clock, and the handlers nest
 * (SIGUSR1 may interrupt the SIGALRM handler).  The main thread and T-1
 * others loop doing the same on files of their own.  At the end the program
 * prints how many bytes each file got, which the test compares with the
 * store.  usage: p_sighandler DIR THREADS MILLISECONDS */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char dir[2048];
static char hpath[2][4096];
static long counts[2]; /* bytes the handlers appended, per signal */
static long failures;
static long deadline_ns;

static long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* open, append one byte, close, read the clock: 1 when all went well */
static int append(const char *path, char c)
{
	struct timespec ts;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	int ok;

	if (fd < 0)
		return 0;
	ok = write(fd, &c, 1) == 1;
	if (close(fd) < 0)
		ok = 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ok;
}

static void on_signal(int sig)
{
	int e = errno;
	int k = sig == SIGALRM ? 0 : 1;

	if (append(hpath[k], k ? 'u' : 'a'))
		__atomic_add_fetch(&counts[k], 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
	errno = e;
}

static void *loop(void *arg)
{
	char path[4096];
	long n = 0;

	snprintf(path, sizeof path, "%s/m%ld", dir, (long)arg);
	while (mono_ns() < deadline_ns) {
		if (append(path, 'm'))
			n++;
		else
			__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
	}
	return (void *)n;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 500 }, { 0, 500 } };
	struct itimerspec its = { { 0, 700000 }, { 0, 700000 } };
	struct sigevent sev;
	pthread_t th[16];
	long total[16];
	timer_t timer;
	int nth;

	if (argc < 4)
		return 2;
	snprintf(dir, sizeof dir, "%s", argv[1]);
	nth = atoi(argv[2]);
	if (nth < 1 || nth > 16)
		return 2;
	snprintf(hpath[0], sizeof hpath[0], "%s/h-alrm", dir);
	snprintf(hpath[1], sizeof hpath[1], "%s/h-usr1", dir);
	deadline_ns = mono_ns() + atol(argv[3]) * 1000000L;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	/* the program sees its own handlers, as it set them */
	{
		struct sigaction o;
		void (*prev)(int);
		sigaction(SIGALRM, NULL, &o);
		printf("sigaction reports the handler: %d\n",
		       o.sa_handler == on_signal &&
			       (o.sa_flags & (SA_RESTART | SA_SIGINFO)) ==
				       SA_RESTART);
		prev = signal(SIGUSR2, on_signal);
		printf("signal: %d\n", prev == SIG_DFL &&
						signal(SIGUSR2, SIG_DFL) == on_signal);
	}

	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer) < 0 ||
	    timer_settime(timer, 0, &its, NULL) < 0)
		return 3;
	setitimer(ITIMER_REAL, &it, NULL);

	for (long i = 1; i < nth; i++)
		pthread_create(&th[i], NULL, loop, (void *)i);
	total[0] = (long)loop((void *)0);
	for (int i = 1; i < nth; i++) {
		void *r;
		pthread_join(th[i], &r);
		total[i] = (long)r;
	}

	/* stop both timers, then let a pending signal run its handler */
	{
		sigset_t both, old;
		sigemptyset(&both);
		sigaddset(&both, SIGALRM);
		sigaddset(&both, SIGUSR1);
		sigprocmask(SIG_BLOCK, &both, &old);
		memset(&it, 0, sizeof it);
		setitimer(ITIMER_REAL, &it, NULL);
		memset(&its, 0, sizeof its);
		timer_settime(timer, 0, &its, NULL);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	printf("h-alrm %ld\nh-usr1 %ld\n", counts[0], counts[1]);
	for (int i = 0; i < nth; i++)
		printf("m%d %ld\n", i, total[i]);
	printf("failures %ld\n", failures);
	return 0;
}
