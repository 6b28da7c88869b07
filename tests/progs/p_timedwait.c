/* Timed waits that nothing may cut short, and ones that something does:
 * a condition variable, poll, a semaphore and epoll, each once timing out
 * and once woken by another thread that sleeps first.  Prints what each returned and how
 * many seconds the clocks moved across it, in tenths: what a replay must
 * reproduce exactly. */
#define _GNU_SOURCE /* sem_clockwait */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/epoll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int flag;
static int pfd[2];

static double ms(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static struct timespec in(clockid_t c, long msec)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	ts.tv_sec += msec / 1000;
	ts.tv_nsec += (msec % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

static void *signaller(void *arg)
{
	(void)arg;
	usleep(300000);
	pthread_mutex_lock(&mu);
	flag = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *writer(void *arg)
{
	(void)arg;
	usleep(200000);
	if (write(pfd[1], "x", 1) != 1)
		perror("write");
	return NULL;
}

static sem_t sem;

static void *poster(void *arg)
{
	(void)arg;
	usleep(300000);
	sem_post(&sem);
	return NULL;
}

static const char *name(int r)
{
	return r == 0 ? "0" : r == ETIMEDOUT ? "ETIMEDOUT" : strerror(r);
}

int main(void)
{
	pthread_condattr_t ca;
	pthread_cond_t mcv;
	struct timespec dl;
	struct pollfd p;
	pthread_t th;
	double r0, m0;
	int r;

	/* 1. nobody signals: times out after 500 ms */
	r0 = ms(CLOCK_REALTIME);
	dl = in(CLOCK_REALTIME, 500);
	pthread_mutex_lock(&mu);
	r = pthread_cond_timedwait(&cv, &mu, &dl);
	pthread_mutex_unlock(&mu);
	printf("cond-timeout: %s realtime %.1f\n", name(r),
	       (ms(CLOCK_REALTIME) - r0) / 1e3);

	/* 2. the same on a CLOCK_MONOTONIC condition variable, 400 ms */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&mcv, &ca);
	m0 = ms(CLOCK_MONOTONIC);
	dl = in(CLOCK_MONOTONIC, 400);
	pthread_mutex_lock(&mu);
	r = pthread_cond_timedwait(&mcv, &mu, &dl);
	pthread_mutex_unlock(&mu);
	printf("cond-mono-timeout: %s monotonic %.1f\n", name(r),
	       (ms(CLOCK_MONOTONIC) - m0) / 1e3);

	/* 3. another thread signals after 300 ms of a 5 s wait */
	r0 = ms(CLOCK_REALTIME);
	pthread_create(&th, NULL, signaller, NULL);
	dl = in(CLOCK_REALTIME, 5000);
	pthread_mutex_lock(&mu);
	r = 0;
	while (!flag && r == 0)
		r = pthread_cond_timedwait(&cv, &mu, &dl);
	pthread_mutex_unlock(&mu);
	pthread_join(th, NULL);
	printf("cond-signal: %s flag %d realtime %.1f\n", name(r), flag,
	       (ms(CLOCK_REALTIME) - r0) / 1e3);

	/* 4. poll of an empty pipe: times out after 600 ms */
	if (pipe(pfd) < 0)
		return 1;
	p.fd = pfd[0];
	p.events = POLLIN;
	m0 = ms(CLOCK_MONOTONIC);
	r = poll(&p, 1, 600);
	printf("poll-timeout: %d revents %d monotonic %.1f\n", r, p.revents,
	       (ms(CLOCK_MONOTONIC) - m0) / 1e3);

	/* 5. a thread writes after 200 ms of a 5 s poll */
	m0 = ms(CLOCK_MONOTONIC);
	pthread_create(&th, NULL, writer, NULL);
	r = poll(&p, 1, 5000);
	pthread_join(th, NULL);
	printf("poll-data: %d revents %d monotonic %.1f\n", r, p.revents,
	       (ms(CLOCK_MONOTONIC) - m0) / 1e3);
	{
		char c;
		if (read(pfd[0], &c, 1) != 1)
			perror("read");
	}

	/* 6. a semaphore nobody posts: sem_timedwait times out after 700 ms */
	sem_init(&sem, 0, 0);
	r0 = ms(CLOCK_REALTIME);
	dl = in(CLOCK_REALTIME, 700);
	r = sem_timedwait(&sem, &dl);
	printf("sem-timeout: %d %s realtime %.1f\n", r,
	       r ? name(errno) : "", (ms(CLOCK_REALTIME) - r0) / 1e3);

	/* 7. a thread posts after 300 ms of a 5 s sem_clockwait */
	m0 = ms(CLOCK_MONOTONIC);
	pthread_create(&th, NULL, poster, NULL);
	dl = in(CLOCK_MONOTONIC, 5000);
	r = sem_clockwait(&sem, CLOCK_MONOTONIC, &dl);
	pthread_join(th, NULL);
	printf("sem-post: %d monotonic %.1f\n", r,
	       (ms(CLOCK_MONOTONIC) - m0) / 1e3);

	/* 8. epoll of the empty pipe: times out after 800 ms */
	{
		struct epoll_event ev = { .events = EPOLLIN }, got;
		int ep = epoll_create1(EPOLL_CLOEXEC);
		epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &ev);
		m0 = ms(CLOCK_MONOTONIC);
		r = epoll_wait(ep, &got, 1, 800);
		printf("epoll-timeout: %d monotonic %.1f\n", r,
		       (ms(CLOCK_MONOTONIC) - m0) / 1e3);

		/* 9. a thread writes after 200 ms of a 5 s epoll_wait */
		m0 = ms(CLOCK_MONOTONIC);
		pthread_create(&th, NULL, writer, NULL);
		r = epoll_wait(ep, &got, 1, 5000);
		pthread_join(th, NULL);
		printf("epoll-data: %d events %d monotonic %.1f\n", r,
		       r == 1 ? (int)got.events : 0,
		       (ms(CLOCK_MONOTONIC) - m0) / 1e3);
	}
	return 0;
}
