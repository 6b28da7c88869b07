/* An alarm cuts a sleep short: alarm(2), then sleep(10), nanosleep and
 * clock_nanosleep of 10 s each, all interrupted when the alarm rings;
 * prints what each returned, the time left (to the nearest second), how
 * far the realtime clock moved (in tenths of a second) and how many
 * SIGALRMs arrived.  Then alarm(5) and
 * alarm(0), which returns the 5 s left.  Then a periodic setitimer of
 * 300 ms cuts three nanosleeps of 1 s each, and getitimer reads it back.
 * Last, alarm(1) while blocked in a pipe read: without SA_RESTART the read
 * fails with EINTR after 1 s; with SA_RESTART it goes on, and returns the
 * byte a child writes after 2 s. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t rang;

static void on_alarm(int sig)
{
	(void)sig;
	rang++;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	struct sigaction sa;
	struct timespec ten = { 10, 0 }, rem = { 0, 0 };
	double t0;
	unsigned left;
	int r;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);

	t0 = now();
	alarm(2);
	left = sleep(10);
	/* sleep's whole seconds left are 7 or 8, as the alarm came a little
	 * after or exactly at 2 s: say which range, not which */
	printf("sleep: left %s, moved %.1f, rang %d\n",
	       left == 7 || left == 8 ? "about 8" : "wrong", now() - t0,
	       (int)rang);

	t0 = now();
	alarm(1);
	r = nanosleep(&ten, &rem);
	printf("nanosleep: %d %s, rem %.0f, moved %.1f, rang %d\n", r,
	       r ? strerrorname_np(errno) : "", rem.tv_sec + rem.tv_nsec / 1e9,
	       now() - t0, (int)rang);

	t0 = now();
	alarm(1);
	r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ten, &rem);
	printf("clock_nanosleep: %s, rem %.0f, moved %.1f, rang %d\n",
	       r ? strerrorname_np(r) : "0", rem.tv_sec + rem.tv_nsec / 1e9,
	       now() - t0, (int)rang);

	alarm(5);
	printf("alarm(0): %u\n", alarm(0));

	{
		struct itimerval it = { { 0, 300000 }, { 0, 300000 } }, cur;
		struct timespec one = { 1, 0 };
		int cut = 0, before = (int)rang;
		t0 = now();
		setitimer(ITIMER_REAL, &it, NULL);
		for (int i = 0; i < 3; i++)
			cut += nanosleep(&one, NULL) < 0 && errno == EINTR;
		getitimer(ITIMER_REAL, &cur);
		memset(&it, 0, sizeof it);
		setitimer(ITIMER_REAL, &it, NULL);
		printf("setitimer: %d of 3 sleeps cut, moved %.1f, rang %d, "
		       "interval %.1f, next in %s\n",
		       cut, now() - t0, (int)rang - before,
		       cur.it_interval.tv_sec + cur.it_interval.tv_usec / 1e6,
		       cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 &&
				       cur.it_value.tv_usec <= 300000
			       ? "(0, 0.3]"
			       : "wrong");
	}
	{
		int p[2];
		char b;
		pid_t pid;

		if (pipe(p) < 0)
			return 1;
		t0 = now();
		alarm(1);
		r = (int)read(p[0], &b, 1);
		printf("pipe read: %d %s, moved %.1f, rang %d\n", r,
		       r < 0 ? strerrorname_np(errno) : "", now() - t0,
		       (int)rang);

		sa.sa_flags = SA_RESTART;
		sigaction(SIGALRM, &sa, NULL);
		pid = fork();
		if (pid == 0) {
			struct timespec two = { 2, 0 };
			nanosleep(&two, NULL);
			if (write(p[1], "x", 1) != 1)
				_exit(1);
			_exit(0);
		}
		t0 = now();
		alarm(1);
		r = (int)read(p[0], &b, 1);
		printf("restarted read: %d %c, moved %.1f, rang %d\n", r,
		       r == 1 ? b : '-', now() - t0, (int)rang);
		waitpid(pid, NULL, 0);
	}
	return 0;
}
