/* Prints how far each clock moved across a 2 s sleep, in tenths of a
 * second, and whether they moved across 50 ms of CPU work: what a shepherded process sees of virtual time. */
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static double ms(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double tod_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return tv.tv_sec * 1e3 + tv.tv_usec / 1e3;
}

int main(void)
{
	struct timespec two = { 2, 0 };
	double r0 = ms(CLOCK_REALTIME), m0 = ms(CLOCK_MONOTONIC),
	       b0 = ms(CLOCK_BOOTTIME), g0 = tod_ms(), c0;
	time_t t0 = time(NULL);
	volatile unsigned long x = 0;

	nanosleep(&two, NULL);
	/* in tenths of a second: what a replay must reproduce exactly */
	printf("sleep: realtime %.1f monotonic %.1f boottime %.1f "
	       "gettimeofday %.1f time %s\n",
	       (ms(CLOCK_REALTIME) - r0) / 1e3, (ms(CLOCK_MONOTONIC) - m0) / 1e3,
	       (ms(CLOCK_BOOTTIME) - b0) / 1e3, (tod_ms() - g0) / 1e3,
	       time(NULL) - t0 >= 1 ? "moved" : "still");
	/* 50 ms of CPU: the thread's CPU clock is real */
	c0 = ms(CLOCK_THREAD_CPUTIME_ID);
	m0 = ms(CLOCK_MONOTONIC);
	while (ms(CLOCK_THREAD_CPUTIME_ID) - c0 < 50)
		x++;
	printf("cpu: %s, monotonic moved %s\n",
	       ms(CLOCK_THREAD_CPUTIME_ID) - c0 >= 50 ? "real" : "wrong",
	       /* by about as much: the kernel accounts CPU time and
		* reads the monotonic clock apart, and a loop that stops
		* at 50 ms of CPU can see 49.9 ms pass */
	       ms(CLOCK_MONOTONIC) - m0 >= 40 ? "yes" : "no");
	return 0;
}
