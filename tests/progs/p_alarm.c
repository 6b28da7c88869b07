/* An alarm cuts a sleep short: alarm(2), then sleep(10), nanosleep and
 * clock_nanosleep of 10 s each, all interrupted when the alarm rings;
 * prints what each returned, the time left (to the nearest second), how
 * far the realtime clock moved (in tenths of a second) and how many
 * SIGALRMs arrived.  Then alarm(5) and
 * alarm(0), which returns the 5 s left. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
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
	return 0;
}
