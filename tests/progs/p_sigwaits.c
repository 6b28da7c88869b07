/* p_sigwaits: waits for a signal that a timer sends, each printed with
 * the time it took in tenths of a second (monotonic clock):
 *   - alarm(1) and pause();
 *   - setitimer 400 ms and sigsuspend with SIGALRM unblocked;
 *   - a timer_create timer (SIGUSR2, blocked) of 600 ms and sigwaitinfo;
 *   - sigtimedwait for SIGUSR2 with a 300 ms timeout and nothing coming
 *     (EAGAIN);
 *   - alarm(1) and sigwait for SIGALRM (blocked).
 * A replay that keeps timers on its virtual clock prints the same lines,
 * in a fraction of the time. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t rang;

static void on_alrm(int sig)
{
	(void)sig;
	rang++;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	struct itimerval itv = { { 0, 0 }, { 0, 400000 } };
	struct itimerspec its = { { 0, 0 }, { 0, 600000000 } };
	struct timespec to = { 0, 300000000 };
	struct sigevent sev;
	sigset_t usr2, alrm, old;
	siginfo_t si;
	timer_t t;
	double t0;
	int r, e, sig;

	signal(SIGALRM, on_alrm);
	t0 = now();
	alarm(1);
	r = pause();
	e = errno;
	printf("pause: %d %s, rang %d, after %.1f s\n", r, strerror(e),
	       (int)rang, now() - t0);

	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alrm, &old);
	t0 = now();
	setitimer(ITIMER_REAL, &itv, NULL);
	r = sigsuspend(&old);
	e = errno;
	printf("sigsuspend: %d %s, rang %d, after %.1f s\n", r, strerror(e),
	       (int)rang, now() - t0);

	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, NULL);
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR2;
	sev.sigev_value.sival_int = 7;
	if (timer_create(CLOCK_REALTIME, &sev, &t) < 0) {
		perror("timer_create");
		return 1;
	}
	t0 = now();
	timer_settime(t, 0, &its, NULL);
	r = sigwaitinfo(&usr2, &si);
	printf("sigwaitinfo: %s value %d, after %.1f s\n",
	       r == SIGUSR2 ? "SIGUSR2" : "other", si.si_value.sival_int,
	       now() - t0);

	t0 = now();
	r = sigtimedwait(&usr2, &si, &to);
	e = errno;
	printf("sigtimedwait: %d %s, after %.1f s\n", r, strerror(e),
	       now() - t0);

	t0 = now();
	alarm(1);
	sig = 0;
	r = sigwait(&alrm, &sig);
	printf("sigwait: %d %s, after %.1f s\n", r,
	       sig == SIGALRM ? "SIGALRM" : "other", now() - t0);
	return 0;
}
