/* p_futex: raw futex waits, as Rust's standard library makes them, each
 * printed with its result and the time it took in tenths of a second:
 *   - FUTEX_WAIT with a 1 s timeout that nobody wakes (ETIMEDOUT);
 *   - FUTEX_WAIT_BITSET with an absolute deadline 0.5 s ahead on the
 *     monotonic clock (ETIMEDOUT);
 *   - FUTEX_WAIT with a 5 s timeout that another thread wakes after
 *     sleeping 300 ms (woken, 0).
 * A replay that keeps time virtual prints the same lines, in a fraction
 * of the time. */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint32_t word;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void say(const char *what, long r, int e, double t0)
{
	printf("%s: %ld %s after %.1f s\n", what, r, r < 0 ? strerror(e) : "woken",
	       now() - t0);
}

static void *waker(void *arg)
{
	struct timespec ts = { 0, 300000000 };

	(void)arg;
	nanosleep(&ts, NULL);
	__atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	return NULL;
}

int main(void)
{
	struct timespec rel = { 1, 0 }, abs;
	pthread_t th;
	double t0;
	long r;

	t0 = now();
	r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &rel, NULL, 0);
	say("wait 1 s", r, errno, t0);

	t0 = now();
	clock_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_nsec += 500000000;
	if (abs.tv_nsec >= 1000000000) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000;
	}
	r = syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 0, &abs, NULL,
		    FUTEX_BITSET_MATCH_ANY);
	say("wait until +0.5 s", r, errno, t0);

	t0 = now();
	rel.tv_sec = 5;
	pthread_create(&th, NULL, waker, NULL);
	do
		r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &rel, NULL, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0 && errno == EAGAIN)
		r = 0; /* woken before it waited */
	say("wait 5 s, woken", r, errno, t0);
	pthread_join(th, NULL);
	return 0;
}
