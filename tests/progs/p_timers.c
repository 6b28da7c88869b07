/* p_timers: POSIX timers and timerfds, with the times they take printed in
 * tenths of a second (monotonic clock):
 *   - a periodic timer_create timer (SIGUSR1, 300 ms) rings three times
 *     while the program sleeps in 1 s nanosleeps that it interrupts;
 *   - timer_gettime of a timer armed for 2 s, and the timer deleted;
 *   - a timerfd read blocks until its 500 ms expiry;
 *   - a periodic 100 ms timerfd read after a 1.05 s sleep says 10;
 *   - poll and epoll_wait, 5 s timeouts, end at a 200 ms timerfd expiry;
 *   - poll of another descriptor times out after 300 ms while a timerfd
 *     not in its set expires at 100 ms.
 * A replay that keeps timers on its virtual clock prints the same lines,
 * in a fraction of the time.  p_timers thread: see thread_timer. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t rings, code, value;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	rings++;
	code = si->si_code;
	value = si->si_value.sival_int;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void arm(int fd, long first_ms, long every_ms)
{
	struct itimerspec its = {
		.it_value = { first_ms / 1000, first_ms % 1000 * 1000000 },
		.it_interval = { every_ms / 1000, every_ms % 1000 * 1000000 },
	};

	if (timerfd_settime(fd, 0, &its, NULL) < 0)
		perror("timerfd_settime");
}

static int fail(const char *what)
{
	perror(what);
	return 1;
}

static volatile sig_atomic_t fired;

static void on_timer(union sigval v)
{
	(void)v;
	fired = 1;
}

/* p_timers thread: a timer that starts a thread (SIGEV_THREAD), which a
 * replay leaves on the host's clock and reports as unsupported. */
static int thread_timer(void)
{
	struct sigevent sev;
	struct itimerspec its = { { 0, 0 }, { 0, 100000000 } };
	struct timespec sl = { 0, 20000000 };
	timer_t t;

	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = on_timer;
	if (timer_create(CLOCK_MONOTONIC, &sev, &t) < 0 ||
	    timer_settime(t, 0, &its, NULL) < 0)
		return fail("timer_create");
	while (!fired)
		nanosleep(&sl, NULL);
	printf("thread timer fired\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct sigevent sev;
	struct itimerspec its, cur;
	struct timespec sl = { 1, 0 };
	struct epoll_event ev = { .events = EPOLLIN }, got;
	struct pollfd pfd[1];
	timer_t t;
	uint64_t n;
	int fd, fd2, ep, p[2], k;
	double t0;

	if (argc > 1 && !strcmp(argv[1], "thread"))
		return thread_timer();
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	sev.sigev_value.sival_int = 42;
	if (timer_create(CLOCK_MONOTONIC, &sev, &t) < 0)
		return fail("timer_create");
	memset(&its, 0, sizeof its);
	its.it_value.tv_nsec = 300000000;
	its.it_interval.tv_nsec = 300000000;
	t0 = now();
	if (timer_settime(t, 0, &its, NULL) < 0)
		return fail("timer_settime");
	while (rings < 3) {
		struct timespec left;
		if (nanosleep(&sl, &left) < 0 && errno != EINTR)
			return fail("nanosleep");
	}
	printf("timer: %d rings in %.1f s, code %s, value %d\n", (int)rings,
	       now() - t0, code == SI_TIMER ? "SI_TIMER" : "other",
	       (int)value);
	its.it_value.tv_sec = 2;
	its.it_value.tv_nsec = 0;
	its.it_interval.tv_nsec = 0;
	timer_settime(t, 0, &its, NULL);
	timer_gettime(t, &cur);
	printf("timer_gettime: %.1f s left\n",
	       cur.it_value.tv_sec + cur.it_value.tv_nsec / 1e9);
	if (timer_delete(t) < 0)
		return fail("timer_delete");

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (fd < 0)
		return fail("timerfd_create");
	t0 = now();
	arm(fd, 500, 0);
	if (read(fd, &n, sizeof n) != sizeof n)
		return fail("read");
	printf("timerfd: %llu after %.1f s\n", (unsigned long long)n,
	       now() - t0);

	arm(fd, 100, 100);
	sl.tv_sec = 1;
	sl.tv_nsec = 50000000;
	nanosleep(&sl, NULL);
	if (read(fd, &n, sizeof n) != sizeof n)
		return fail("read");
	printf("timerfd periodic: %llu in 1.05 s\n", (unsigned long long)n);
	arm(fd, 0, 0);

	t0 = now();
	arm(fd, 200, 0);
	pfd[0].fd = fd;
	pfd[0].events = POLLIN;
	k = poll(pfd, 1, 5000);
	printf("poll: %d after %.1f s\n", k, now() - t0);
	read(fd, &n, sizeof n);

	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	t0 = now();
	arm(fd, 200, 0);
	k = epoll_wait(ep, &got, 1, 5000);
	printf("epoll: %d after %.1f s\n", k, now() - t0);
	read(fd, &n, sizeof n);

	if (pipe(p) < 0)
		return fail("pipe");
	fd2 = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	t0 = now();
	arm(fd2, 100, 0);
	pfd[0].fd = p[0];
	k = poll(pfd, 1, 300);
	printf("poll elsewhere: %d after %.1f s\n", k, now() - t0);
	read(fd2, &n, sizeof n);
	printf("its timerfd: %llu\n", (unsigned long long)n);
	return 0;
}
