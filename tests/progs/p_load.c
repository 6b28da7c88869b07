/* T threads, each doing pwrite calls of 8 bytes for MS milliseconds, at
 * offsets that encode (thread, i): thread t's i-th call writes at
 * t << 32 | i (a sparse file), so that a reader can check every call once
 * and in order.  RATE, when not 0, paces each thread to about RATE calls a
 * second (batches of 16, then an absolute sleep).  At the end, one line per
 * thread: "PID T COUNT".  usage: p_load FILE T MS [RATE] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int fd;
static long rate;
static struct timespec deadline;

static int before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void add_ns(struct timespec *ts, long ns)
{
	ts->tv_nsec += ns;
	while (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static void *run(void *arg)
{
	uint64_t t = (uint64_t)(uintptr_t)arg;
	struct timespec now, next;
	uint64_t i = 0;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!before(&now, &deadline))
			break;
		for (int k = 0; k < 16; k++, i++) {
			char b[8] = { 'x' };
			if (pwrite(fd, b, 8, (off_t)(t << 32 | i)) != 8)
				exit(1);
		}
		if (rate) {
			add_ns(&next, 16 * (1000000000L / rate));
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next,
					NULL);
		}
	}
	return (void *)(uintptr_t)i;
}

int main(int argc, char **argv)
{
	pthread_t th[64];
	int n;

	if (argc < 4)
		return 2;
	fd = open(argv[1], O_WRONLY | O_CREAT, 0644);
	n = atoi(argv[2]);
	rate = argc > 4 ? atol(argv[4]) : 0;
	if (fd < 0 || n < 1 || n > 64)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	add_ns(&deadline, atol(argv[3]) * 1000000L);
	for (long t = 0; t < n; t++)
		if (pthread_create(&th[t], NULL, run, (void *)(t + 1)))
			return 1;
	for (int t = 0; t < n; t++) {
		void *r;
		pthread_join(th[t], &r);
		printf("%d %d %lu\n", (int)getpid(), t + 1,
		       (unsigned long)(uintptr_t)r);
	}
	return 0;
}
