/* Interposers for time and sleeps.  Sleeps and timed waits are generated
 * from calls.def; clock reads are counted per thread and only recorded
 * one by one with RETRO_TIME_READS=1, which keeps them at a few ns. */
#define SHIM_FAMILY_time
#include "shim.h"
#include <stdarg.h>
#define RETRO_SHIM_SIDE
#include "shepherd.h"

#include <retro/calls.def>

/* man 2 clock_gettime */
RETRO_EXPORT int clock_gettime(clockid_t clk, struct timespec *ts)
{
	struct retro_call c;
	int r;

	/* shepherd mode: the thread's clock on the virtual timeline */
	if (__builtin_expect(retro_shep_on, 0) &&
	    retro_shep_clock_read(RC_clock_gettime, clk, ts) == 0) {
		retro_shep_alarm_check();
		return 0;
	}
	if (__builtin_expect(!retro_timeread(), 1))
		return REAL(clock_gettime)(clk, ts);
	if (!retro_enter(&c, RC_clock_gettime))
		return REAL(clock_gettime)(clk, ts);
	c.v[0] = (uint64_t)clk;
	c.v[1] = SHIM_U64(ts);
	RETRO_SITE(c);
	retro_intent(&c);
	r = REAL(clock_gettime)(clk, ts);
	retro_result(&c, r);
	return r;
}

/* man 2 gettimeofday */
RETRO_EXPORT int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct retro_call c;
	int r;
	struct timespec vts;

	if (__builtin_expect(retro_shep_on, 0) &&
	    retro_shep_clock_read(RC_gettimeofday, CLOCK_REALTIME, &vts) == 0) {
		struct timeval *volatile out = tv; /* NULL is allowed */
		if (out) {
			out->tv_sec = vts.tv_sec;
			out->tv_usec = vts.tv_nsec / 1000;
		}
		return 0;
	}
	if (__builtin_expect(!retro_timeread(), 1))
		return REAL(gettimeofday)(tv, tz);
	if (!retro_enter(&c, RC_gettimeofday))
		return REAL(gettimeofday)(tv, tz);
	c.v[0] = SHIM_U64(tv);
	RETRO_SITE(c);
	retro_intent(&c);
	r = REAL(gettimeofday)(tv, tz);
	retro_result(&c, r);
	return r;
}

/* man 2 time */
RETRO_EXPORT time_t time(time_t *t)
{
	struct retro_call c;
	time_t r;
	struct timespec vts;

	if (__builtin_expect(retro_shep_on, 0) &&
	    retro_shep_clock_read(RC_time, CLOCK_REALTIME, &vts) == 0) {
		if (t)
			*t = vts.tv_sec;
		return vts.tv_sec;
	}
	if (__builtin_expect(!retro_timeread(), 1))
		return REAL(time)(t);
	if (!retro_enter(&c, RC_time))
		return REAL(time)(t);
	RETRO_SITE(c);
	retro_intent(&c);
	r = REAL(time)(t);
	retro_result(&c, r);
	return r;
}

/* Shepherd mode: setting the realtime clock moves V, never the host's
 * clock.  Returns the call's result, errno set. */
static int shep_setclock(struct retro_call *c, int64_t ns)
{
	int e = -retro_call_setclock(c, ns);

	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}

/* man 2 clock_settime: recorded, and the clock map re-anchored after. */
RETRO_EXPORT int clock_settime(clockid_t clk, const struct timespec *ts)
{
	struct retro_call c;
	int r;

	if (!retro_enter(&c, RC_clock_settime)) {
		if (__builtin_expect(retro_shep_on, 0) && clk == CLOCK_REALTIME) {
			errno = EPERM; /* never the host's clock */
			return -1;
		}
		return REAL(clock_settime)(clk, ts);
	}
	c.v[0] = (uint64_t)clk;
	c.v[1] = SHIM_U64(ts);
	RETRO_SITE(c);
	retro_intent(&c);
	const struct timespec *volatile t = ts; /* NULL: EFAULT, as real */
	if (__builtin_expect(retro_shep_on, 0) && clk == CLOCK_REALTIME &&
	    t && t->tv_nsec >= 0 && t->tv_nsec < 1000000000)
		r = shep_setclock(&c, (int64_t)t->tv_sec * 1000000000 +
					       t->tv_nsec);
	else
		r = REAL(clock_settime)(clk, ts);
	retro_result(&c, r);
	if (r == 0)
		retro_clock_stepped();
	return r;
}

/* man 2 settimeofday */
RETRO_EXPORT int settimeofday(const struct timeval *tv,
				 const struct timezone *tz)
{
	struct retro_call c;
	int r;

	if (!retro_enter(&c, RC_settimeofday)) {
		if (__builtin_expect(retro_shep_on, 0) && tv) {
			errno = EPERM; /* never the host's clock */
			return -1;
		}
		return REAL(settimeofday)(tv, tz);
	}
	c.v[0] = SHIM_U64(tv);
	RETRO_SITE(c);
	retro_intent(&c);
	if (__builtin_expect(retro_shep_on, 0) && tv && tv->tv_usec >= 0 &&
	    tv->tv_usec < 1000000)
		r = shep_setclock(&c, (int64_t)tv->tv_sec * 1000000000 +
					       (int64_t)tv->tv_usec * 1000);
	else
		r = REAL(settimeofday)(tv, tz);
	retro_result(&c, r);
	if (r == 0)
		retro_clock_stepped();
	return r;
}

/* ---- condition variables: only in shepherd mode ---------------------------
 *
 * Not recorded (a condition variable is a thread's business, inside one
 * process), but a replay must squeeze a timed wait on one like a sleep:
 * the program computed its deadline from the virtual clock.  The C
 * library's own functions are looked up by version, as a program linked
 * today calls them (the unversioned lookup may find the 2.2.5 ones). */
#include <dlfcn.h>
#include <pthread.h>

/* Real time a squeezed wait waits at a time before asking again whether
 * the driver has said its deadline came on V (as lib/recorder.c's). */
#define SHEP_SLICE_MS 2

static __typeof__(&pthread_cond_wait) real_cond_wait;
static __typeof__(&pthread_cond_clockwait) real_cond_clockwait;
static __typeof__(&pthread_cond_timedwait) real_cond_timedwait;

static int cond_resolve(void)
{
	if (!real_cond_wait)
		real_cond_wait = dlvsym(RTLD_NEXT, "pthread_cond_wait",
					"GLIBC_2.3.2");
	if (!real_cond_timedwait)
		real_cond_timedwait = dlvsym(RTLD_NEXT, "pthread_cond_timedwait",
					     "GLIBC_2.3.2");
	if (!real_cond_clockwait)
		real_cond_clockwait = dlvsym(RTLD_NEXT, "pthread_cond_clockwait",
					     "GLIBC_2.34");
	if (!real_cond_clockwait)
		real_cond_clockwait = dlvsym(RTLD_NEXT, "pthread_cond_clockwait",
					     "GLIBC_2.30");
	return real_cond_wait && real_cond_clockwait && real_cond_timedwait
		       ? 0 : -1;
}

/* Resolved at load, not inside a wait: dlvsym takes the loader's lock. */
__attribute__((constructor)) static void cond_init(void)
{
	cond_resolve();
}

/* One slice of a condition-variable wait, as retro_shep_wait calls it. */
struct condarg {
	pthread_cond_t *cond;
	pthread_mutex_t *mutex;
};

static int cond_slice(void *arg, const struct timespec *dl, long *res)
{
	struct condarg *a = arg;
	int r = dl ? real_cond_clockwait(a->cond, a->mutex, CLOCK_MONOTONIC, dl)
		   : real_cond_wait(a->cond, a->mutex);

	*res = r;
	return r != ETIMEDOUT || !dl;
}

static int ts_valid(const struct timespec *ts)
{
	return ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000;
}

/* Shepherd mode: the wait squeezed on V.  1 with its result in *r, or 0
 * when the caller waits as usual (no driver; a deadline the C library
 * must refuse itself). */
static int shep_condwait(pthread_cond_t *cond, pthread_mutex_t *mutex,
			 clockid_t clk, const struct timespec *abstime, int *r)
{
	struct condarg a = { cond, mutex };
	int64_t to = -1;
	long res;

	if (abstime && (!ts_valid(abstime) ||
			(to = retro_shep_until(clk, abstime)) < 0))
		return 0;
	if (retro_shep_wait(cond_slice, &a, to, &res) < 0)
		return 0;
	*r = (int)res;
	return 1;
}

/* The clock a condition variable's deadlines are on.  glibc keeps it in
 * bit 1 of __wrefs (pthread_condattr_setclock): 0 REALTIME, 1 MONOTONIC. */
static clockid_t cond_clock(const pthread_cond_t *cond)
{
	return (cond->__data.__wrefs & 2) ? CLOCK_MONOTONIC : CLOCK_REALTIME;
}

/* man 3 pthread_cond_wait */
RETRO_EXPORT int pthread_cond_wait(pthread_cond_t *restrict cond,
				   pthread_mutex_t *restrict mutex)
{
	int r;

	if (cond_resolve() < 0)
		return ENOSYS;
	if (__builtin_expect(retro_shep_on, 0) &&
	    shep_condwait(cond, mutex, CLOCK_REALTIME, NULL, &r))
		return r;
	return real_cond_wait(cond, mutex);
}

/* man 3 pthread_cond_timedwait */
RETRO_EXPORT int pthread_cond_timedwait(pthread_cond_t *restrict cond,
					pthread_mutex_t *restrict mutex,
					const struct timespec *restrict abstime)
{
	int r;

	if (cond_resolve() < 0)
		return ENOSYS;
	if (__builtin_expect(retro_shep_on, 0) &&
	    shep_condwait(cond, mutex, cond_clock(cond), abstime, &r))
		return r;
	return real_cond_timedwait(cond, mutex, abstime);
}

/* man 3 pthread_cond_clockwait */
RETRO_EXPORT int pthread_cond_clockwait(pthread_cond_t *restrict cond,
					pthread_mutex_t *restrict mutex,
					clockid_t clk,
					const struct timespec *restrict abstime)
{
	int r;

	if (cond_resolve() < 0)
		return ENOSYS;
	if (__builtin_expect(retro_shep_on, 0) &&
	    shep_condwait(cond, mutex, clk, abstime, &r))
		return r;
	return real_cond_clockwait(cond, mutex, clk, abstime);
}

/* ---- semaphores, epoll and the interval timer: only in shepherd mode -------
 *
 * Not recorded either; in a replay their timeouts are on V.  A wait that
 * need not wait (a semaphore that can be taken, an epoll set with events
 * ready) returns at once without asking the driver. */
#include <semaphore.h>
#include <sys/epoll.h>

static __typeof__(&sem_wait) real_sem_wait;
static __typeof__(&sem_trywait) real_sem_trywait;
static __typeof__(&sem_timedwait) real_sem_timedwait;
static __typeof__(&sem_clockwait) real_sem_clockwait;
static __typeof__(&epoll_wait) real_epoll_wait;
static __typeof__(&epoll_pwait) real_epoll_pwait;
static __typeof__(&epoll_pwait2) real_epoll_pwait2;
static __typeof__(&setitimer) real_setitimer;
static __typeof__(&getitimer) real_getitimer;

__attribute__((constructor)) static void wait_init(void)
{
	real_sem_wait = dlsym(RTLD_NEXT, "sem_wait");
	real_sem_trywait = dlsym(RTLD_NEXT, "sem_trywait");
	real_sem_timedwait = dlsym(RTLD_NEXT, "sem_timedwait");
	real_sem_clockwait = dlsym(RTLD_NEXT, "sem_clockwait");
	real_epoll_wait = dlsym(RTLD_NEXT, "epoll_wait");
	real_epoll_pwait = dlsym(RTLD_NEXT, "epoll_pwait");
	real_epoll_pwait2 = dlsym(RTLD_NEXT, "epoll_pwait2");
	real_setitimer = dlsym(RTLD_NEXT, "setitimer");
	real_getitimer = dlsym(RTLD_NEXT, "getitimer");
}

static int sem_slice(void *arg, const struct timespec *dl, long *res)
{
	int r = dl ? real_sem_clockwait(arg, CLOCK_MONOTONIC, dl)
		   : real_sem_wait(arg);

	*res = r == 0 ? 0 : errno;
	return r == 0 || errno != ETIMEDOUT || !dl;
}

/* Shepherd mode: 1 with the result (0 or -1, errno set) in *r, or 0 when
 * the caller waits as usual. */
static int shep_semwait(sem_t *sem, clockid_t clk,
			const struct timespec *abstime, int *r)
{
	int64_t to = -1;
	long res;
	int e = errno;

	if (!real_sem_trywait || !real_sem_clockwait || !real_sem_wait)
		return 0;
	if (real_sem_trywait(sem) == 0) {
		*r = 0;
		return 1;
	}
	if (errno != EAGAIN)
		return 0; /* EINVAL: as the real call says it */
	errno = e;
	if (abstime && (!ts_valid(abstime) ||
			(to = retro_shep_until(clk, abstime)) < 0))
		return 0;
	if (retro_shep_wait(sem_slice, sem, to, &res) < 0)
		return 0;
	*r = res ? -1 : 0;
	if (res)
		errno = (int)res;
	return 1;
}

/* man 3 sem_wait */
RETRO_EXPORT int sem_wait(sem_t *sem)
{
	int r;

	if (__builtin_expect(retro_shep_on, 0) &&
	    shep_semwait(sem, CLOCK_REALTIME, NULL, &r))
		return r;
	if (!real_sem_wait)
		wait_init();
	return real_sem_wait(sem);
}

/* man 3 sem_timedwait */
RETRO_EXPORT int sem_timedwait(sem_t *restrict sem,
			       const struct timespec *restrict abstime)
{
	int r;

	if (__builtin_expect(retro_shep_on, 0) &&
	    shep_semwait(sem, CLOCK_REALTIME, abstime, &r))
		return r;
	if (!real_sem_timedwait)
		wait_init();
	return real_sem_timedwait(sem, abstime);
}

/* man 3 sem_clockwait */
RETRO_EXPORT int sem_clockwait(sem_t *restrict sem, clockid_t clk,
			       const struct timespec *restrict abstime)
{
	int r;

	if (__builtin_expect(retro_shep_on, 0) &&
	    (clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC) &&
	    shep_semwait(sem, clk, abstime, &r))
		return r;
	if (!real_sem_clockwait)
		wait_init();
	return real_sem_clockwait(sem, clk, abstime);
}

struct eparg {
	int epfd, max;
	struct epoll_event *ev;
	const sigset_t *mask;
};

static int ep_slice(void *arg, const struct timespec *dl, long *res)
{
	struct eparg *a = arg;
	int r = real_epoll_pwait(a->epfd, a->ev, a->max,
				 dl ? SHEP_SLICE_MS : -1, a->mask);

	*res = r >= 0 ? r : -errno;
	return r != 0 || !dl;
}

/* Shepherd mode: epoll_pwait with timeout ns (-1: none) squeezed on V.
 * A timerfd on V that expires first ends a slice of the wait: it is made
 * readable, and the set says whether it holds it.  1 with the result
 * (errno set) in *r, or 0 when the caller waits as usual. */
static int shep_epoll(int epfd, struct epoll_event *ev, int max,
		      int64_t timeout, const sigset_t *mask, int *r)
{
	struct eparg a = { epfd, max, ev, mask };
	int64_t deadline = -1, now;
	long res;
	int n;

	if (!real_epoll_pwait)
		return 0;
	retro_shep_timerfd_kick(0); /* expired before the wait: readable */
	if (timeout == 0)
		return 0;
	n = real_epoll_pwait(epfd, ev, max, 0, mask);
	if (n != 0) { /* ready, or an error the real call gives too */
		*r = n;
		return 1;
	}
	if (timeout > 0 && (deadline = retro_shep_now()) >= 0)
		deadline += timeout;
	for (;;) {
		int64_t at, tn = retro_shep_timerfd_next(&at);
		int64_t left = deadline >= 0 && (now = retro_shep_now()) >= 0
				       ? (deadline > now ? deadline - now : 0)
				       : timeout;
		int capped = tn >= 0 && (left < 0 || tn < left);

		if (retro_shep_wait(ep_slice, &a, capped ? tn : left, &res) < 0)
			return 0;
		if (res != 0 || !capped)
			break;
		retro_shep_timerfd_kick(at);
		n = real_epoll_pwait(epfd, ev, max, SHEP_SLICE_MS, mask);
		res = n >= 0 ? n : -errno;
		if (res != 0)
			break;
	}
	*r = res >= 0 ? (int)res : -1;
	if (res < 0)
		errno = (int)-res;
	return 1;
}

/* man 2 epoll_wait */
RETRO_EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max,
			    int timeout)
{
	int r;

	if (__builtin_expect(retro_shep_on, 0) &&
	    shep_epoll(epfd, ev, max,
		       timeout < 0 ? -1 : (int64_t)timeout * 1000000, NULL, &r))
		return r;
	if (!real_epoll_wait)
		wait_init();
	return real_epoll_wait(epfd, ev, max, timeout);
}

/* man 2 epoll_pwait */
RETRO_EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max,
			     int timeout, const sigset_t *mask)
{
	int r;

	if (__builtin_expect(retro_shep_on, 0) &&
	    shep_epoll(epfd, ev, max,
		       timeout < 0 ? -1 : (int64_t)timeout * 1000000, mask, &r))
		return r;
	if (!real_epoll_pwait)
		wait_init();
	return real_epoll_pwait(epfd, ev, max, timeout, mask);
}

/* man 2 epoll_pwait2 */
RETRO_EXPORT int epoll_pwait2(int epfd, struct epoll_event *ev, int max,
			      const struct timespec *timeout,
			      const sigset_t *mask)
{
	int r;

	if (__builtin_expect(retro_shep_on, 0) &&
	    (!timeout || ts_valid(timeout)) &&
	    shep_epoll(epfd, ev, max,
		       timeout ? (int64_t)timeout->tv_sec * 1000000000 +
					 timeout->tv_nsec
			       : -1,
		       mask, &r))
		return r;
	if (!real_epoll_pwait2)
		wait_init();
	return real_epoll_pwait2(epfd, ev, max, timeout, mask);
}

/* man 2 setitimer: ITIMER_REAL is on V in a replay (the timer alarm sets);
 * the CPU-time timers stay real, as CPU-time clocks do. */
RETRO_EXPORT int setitimer(__itimer_which_t which,
			   const struct itimerval *restrict set,
			   struct itimerval *restrict old)
{
	if (__builtin_expect(retro_shep_on, 0) && which == ITIMER_REAL &&
	    set && set->it_value.tv_usec >= 0 &&
	    set->it_value.tv_usec < 1000000 &&
	    set->it_interval.tv_usec >= 0 &&
	    set->it_interval.tv_usec < 1000000 &&
	    retro_shep_itimer(set, old) == 0)
		return 0;
	if (!real_setitimer)
		wait_init();
	return real_setitimer(which, set, old);
}

/* man 2 getitimer */
RETRO_EXPORT int getitimer(__itimer_which_t which, struct itimerval *cur)
{
	if (__builtin_expect(retro_shep_on, 0) && which == ITIMER_REAL && cur &&
	    retro_shep_itimer(NULL, cur) == 0)
		return 0;
	if (!real_getitimer)
		wait_init();
	return real_getitimer(which, cur);
}

/* ---- POSIX timers and timerfds: on V in a replay (shepherd.h) ------------
 *
 * Not recorded.  In a replay that keeps time virtual, a timer that signals
 * or does nothing, and every timerfd, runs on V: its kernel timer is made
 * but never armed with the host's time.  Timers that start a thread
 * (SIGEV_THREAD) or signal one thread (SIGEV_THREAD_ID) stay the host's. */
#include <sys/timerfd.h>

static __typeof__(&timer_create) real_timer_create;
static __typeof__(&timer_gettime) real_timer_gettime;
static __typeof__(&timer_getoverrun) real_timer_getoverrun;
static __typeof__(&timer_delete) real_timer_delete;
static __typeof__(&timerfd_create) real_timerfd_create;
static __typeof__(&timerfd_gettime) real_timerfd_gettime;

__attribute__((constructor)) static void timer_init(void)
{
	real_timer_create = dlsym(RTLD_NEXT, "timer_create");
	real_timer_gettime = dlsym(RTLD_NEXT, "timer_gettime");
	real_timer_getoverrun = dlsym(RTLD_NEXT, "timer_getoverrun");
	real_timer_delete = dlsym(RTLD_NEXT, "timer_delete");
	real_timerfd_create = dlsym(RTLD_NEXT, "timerfd_create");
	real_timerfd_gettime = dlsym(RTLD_NEXT, "timerfd_gettime");
}

/* A negative errno value from shepherd.c as the call's -1 and errno. */
static int failed(int r)
{
	errno = -r;
	return -1;
}

/* man 2 timer_create */
RETRO_EXPORT int timer_create(clockid_t clk, struct sigevent *restrict sev,
			      timer_t *restrict id)
{
	int r;

	if (!real_timer_create)
		timer_init();
	if (__builtin_expect(retro_shep_on, 0) && id &&
	    (r = retro_shep_timer_create(clk, sev, id, real_timer_create)) <= 0)
		return r;
	return real_timer_create(clk, sev, id);
}

/* man 2 timer_settime: recorded, so that a replay arms the timer at the
 * moment it was armed, whatever ran late before it when recorded. */
RETRO_EXPORT int timer_settime(timer_t id, int flags,
			       const struct itimerspec *restrict set,
			       struct itimerspec *restrict old)
{
	struct retro_call c;
	int r;

	if (!retro_enter(&c, RC_timer_settime))
		return REAL(timer_settime)(id, flags, set, old);
	c.v[0] = SHIM_U64(id);
	c.v[1] = (uint64_t)flags;
	c.v[2] = SHIM_U64(set);
	c.v[3] = SHIM_U64(old);
	RETRO_SITE(c);
	retro_intent(&c);
	if (__builtin_expect(retro_shep_on, 0) &&
	    (r = retro_shep_timer_settime(id, flags, set, old)) <= 0)
		r = r ? failed(r) : 0;
	else
		r = REAL(timer_settime)(id, flags, set, old);
	retro_result(&c, r);
	return r;
}

/* man 2 timer_gettime */
RETRO_EXPORT int timer_gettime(timer_t id, struct itimerspec *cur)
{
	if (__builtin_expect(retro_shep_on, 0) && cur &&
	    retro_shep_timer_gettime(id, cur) == 0)
		return 0;
	if (!real_timer_gettime)
		timer_init();
	return real_timer_gettime(id, cur);
}

/* man 2 timer_getoverrun */
RETRO_EXPORT int timer_getoverrun(timer_t id)
{
	int r;

	if (__builtin_expect(retro_shep_on, 0) &&
	    (r = retro_shep_timer_getoverrun(id)) >= 0)
		return r;
	if (!real_timer_getoverrun)
		timer_init();
	return real_timer_getoverrun(id);
}

/* man 2 timer_delete */
RETRO_EXPORT int timer_delete(timer_t id)
{
	if (__builtin_expect(retro_shep_on, 0))
		retro_shep_timer_delete(id);
	if (!real_timer_delete)
		timer_init();
	return real_timer_delete(id);
}

/* man 2 timerfd_create */
RETRO_EXPORT int timerfd_create(int clk, int flags)
{
	int fd;

	if (!real_timerfd_create)
		timer_init();
	fd = real_timerfd_create(clk, flags);
	if (__builtin_expect(retro_shep_on, 0) && fd >= 0)
		retro_shep_timerfd_new(fd, clk);
	return fd;
}

/* man 2 timerfd_settime: recorded, as timer_settime. */
RETRO_EXPORT int timerfd_settime(int fd, int flags,
				 const struct itimerspec *set,
				 struct itimerspec *old)
{
	struct retro_call c;
	int r;

	if (!retro_enter(&c, RC_timerfd_settime))
		return REAL(timerfd_settime)(fd, flags, set, old);
	c.v[0] = (uint64_t)fd;
	c.v[1] = (uint64_t)flags;
	c.v[2] = SHIM_U64(set);
	c.v[3] = SHIM_U64(old);
	RETRO_SITE(c);
	retro_intent(&c);
	if (__builtin_expect(retro_shep_on, 0) &&
	    (r = retro_shep_timerfd_settime(fd, flags, set, old)) <= 0)
		r = r ? failed(r) : 0;
	else
		r = REAL(timerfd_settime)(fd, flags, set, old);
	retro_result(&c, r);
	return r;
}

/* man 2 timerfd_gettime */
RETRO_EXPORT int timerfd_gettime(int fd, struct itimerspec *cur)
{
	if (__builtin_expect(retro_shep_on, 0) && cur &&
	    retro_shep_timerfd_gettime(fd, cur) == 0)
		return 0;
	if (!real_timerfd_gettime)
		timer_init();
	return real_timerfd_gettime(fd, cur);
}

/* ---- waits for a signal: on V in a replay ----------------------------------
 *
 * pause, sigsuspend, sigwait, sigwaitinfo and sigtimedwait are not
 * recorded.  In a replay that keeps time virtual, the signal a timer on V
 * sends (alarm, setitimer, timer_create) never comes from the kernel: the
 * wait is announced to the driver with the timer's moment (or its own
 * timeout) as its end on V, the timer rings there, and the wait takes the
 * signal as it would have. */
#include "sys.h"

enum { SW_SUSPEND, SW_WAIT };

struct sigarg {
	int kind;
	const sigset_t *set; /* SW_SUSPEND: the mask; SW_WAIT: the signals */
	siginfo_t *info;
};

/* One slice of the wait, until dl (NULL: without limit); 1 when a signal
 * ended it, with the system call's result in *res. */
static int sig_slice(void *arg, const struct timespec *dl, long *res)
{
	struct sigarg *a = arg;
	struct timespec rel, now, *tp = NULL;
	long r;

	if (dl) {
		int64_t left;
		/* the host's clock: dl is real time */
		retro_sys2(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&now);
		left = ((int64_t)dl->tv_sec - now.tv_sec) * 1000000000 +
		       (dl->tv_nsec - now.tv_nsec);
		if (left < 0)
			left = 0;
		rel.tv_sec = left / 1000000000;
		rel.tv_nsec = left % 1000000000;
		tp = &rel;
	}
	if (a->kind == SW_SUSPEND)
		r = retro_sys5(SYS_ppoll, 0, 0, (long)tp, (long)a->set, 8);
	else
		r = retro_sys4(SYS_rt_sigtimedwait, (long)a->set, (long)a->info,
			       (long)tp, 8);
	*res = r;
	return (r != 0 && r != -EAGAIN) || !dl;
}

/* Shepherd mode: the wait on V.  1 with the system call's result (a
 * signal number, or a negative errno value) in *out, or 0 when the
 * caller waits as usual. */
static int shep_sigwait(int kind, const sigset_t *set, siginfo_t *info,
			const struct timespec *timeout, long *out)
{
	struct sigarg a = { kind, set, info };
	struct timespec zero = { 0, 0 };
	int64_t deadline = -1, now;
	long res;

	if ((now = retro_shep_now()) < 0 || (timeout && !ts_valid(timeout)))
		return 0;
	if (timeout)
		deadline = now + (int64_t)timeout->tv_sec * 1000000000 +
			   timeout->tv_nsec;
	for (;;) {
		int64_t due = retro_shep_alarm_in(), left, cap;

		int ended;

		if (due == 0) {
			/* it rings with every signal blocked, so that the wait
			 * itself takes it (under its own mask) */
			uint64_t all = ~(1ull << (SIGSYS - 1)), old;
			retro_sys4(SYS_rt_sigprocmask, SIG_BLOCK, (long)&all,
				   (long)&old, 8);
			retro_shep_alarm_fire();
			ended = sig_slice(&a, &zero, &res);
			retro_sys4(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0,
				   8);
		} else {
			/* a signal there already */
			ended = sig_slice(&a, &zero, &res);
		}
		if (ended && res != 0 && res != -EAGAIN) {
			*out = res;
			return 1;
		}
		if (due == 0)
			continue; /* the next timer */
		now = retro_shep_now();
		left = deadline < 0 ? -1 : deadline > now ? deadline - now : 0;
		cap = due >= 0 && (left < 0 || due < left) ? due : left;
		if (retro_shep_wait(sig_slice, &a, cap, &res) < 0)
			return 0;
		if (res != 0 && res != -EAGAIN) {
			*out = res;
			return 1;
		}
		if (cap == left && left >= 0 &&
		    (deadline <= retro_shep_now() || due < 0 || left < due)) {
			*out = -EAGAIN; /* its own timeout */
			return 1;
		}
	}
}

/* The result of shep_sigwait as a call returning -1 with errno. */
static int sig_result(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return (int)r;
}

static __typeof__(&pause) real_pause;
static __typeof__(&sigsuspend) real_sigsuspend;
static __typeof__(&sigwait) real_sigwait;
static __typeof__(&sigwaitinfo) real_sigwaitinfo;
static __typeof__(&sigtimedwait) real_sigtimedwait;

__attribute__((constructor)) static void sigwait_init(void)
{
	real_pause = dlsym(RTLD_NEXT, "pause");
	real_sigsuspend = dlsym(RTLD_NEXT, "sigsuspend");
	real_sigwait = dlsym(RTLD_NEXT, "sigwait");
	real_sigwaitinfo = dlsym(RTLD_NEXT, "sigwaitinfo");
	real_sigtimedwait = dlsym(RTLD_NEXT, "sigtimedwait");
}

/* man 2 pause */
RETRO_EXPORT int pause(void)
{
	sigset_t cur;
	long r;

	if (__builtin_expect(retro_shep_on, 0) &&
	    pthread_sigmask(SIG_BLOCK, NULL, &cur) == 0 &&
	    shep_sigwait(SW_SUSPEND, &cur, NULL, NULL, &r))
		return sig_result(r);
	if (!real_pause)
		sigwait_init();
	return real_pause();
}

/* man 2 sigsuspend */
RETRO_EXPORT int sigsuspend(const sigset_t *mask)
{
	long r;

	if (__builtin_expect(retro_shep_on, 0) &&
	    shep_sigwait(SW_SUSPEND, mask, NULL, NULL, &r))
		return sig_result(r);
	if (!real_sigsuspend)
		sigwait_init();
	return real_sigsuspend(mask);
}

/* man 2 sigtimedwait */
RETRO_EXPORT int sigtimedwait(const sigset_t *restrict set,
			      siginfo_t *restrict info,
			      const struct timespec *restrict timeout)
{
	long r;

	if (__builtin_expect(retro_shep_on, 0) &&
	    shep_sigwait(SW_WAIT, set, info, timeout, &r))
		return sig_result(r);
	if (!real_sigtimedwait)
		sigwait_init();
	return real_sigtimedwait(set, info, timeout);
}

/* man 2 sigwaitinfo */
RETRO_EXPORT int sigwaitinfo(const sigset_t *restrict set,
			     siginfo_t *restrict info)
{
	long r;

	if (__builtin_expect(retro_shep_on, 0) &&
	    shep_sigwait(SW_WAIT, set, info, NULL, &r))
		return sig_result(r);
	if (!real_sigwaitinfo)
		sigwait_init();
	return real_sigwaitinfo(set, info);
}

/* man 3 sigwait: it does not return EINTR */
RETRO_EXPORT int sigwait(const sigset_t *restrict set, int *restrict sig)
{
	long r;

	if (__builtin_expect(retro_shep_on, 0)) {
		do {
			if (!shep_sigwait(SW_WAIT, set, NULL, NULL, &r))
				goto real;
		} while (r == -EINTR);
		if (r < 0)
			return (int)-r;
		*sig = (int)r;
		return 0;
	}
real:
	if (!real_sigwait)
		sigwait_init();
	return real_sigwait(set, sig);
}

/* ---- raw futex waits: on V in a replay ---------------------------------------
 *
 * Programs and runtimes that wait on a futex themselves (Rust's standard
 * library parks threads so) call syscall(SYS_futex, ...).  Not recorded;
 * in a replay that keeps time virtual, a FUTEX_WAIT or FUTEX_WAIT_BITSET
 * is announced to the driver with its timeout on V and waited in slices,
 * as a condition variable is.  Every other call goes to the C library's
 * syscall() as it is (and on to the trap layer when it records). */
#include <linux/futex.h>

static long (*real_syscall)(long, ...);

struct futexarg {
	uint32_t *uaddr;
	int op;         /* FUTEX_WAIT_BITSET, private as asked */
	uint32_t val, bits;
};

static int futex_slice(void *arg, const struct timespec *dl, long *res)
{
	struct futexarg *a = arg;
	/* an absolute deadline on the host's monotonic clock, or none */
	long r = retro_sys6(SYS_futex, (long)a->uaddr, a->op, a->val, (long)dl,
			    0, a->bits);

	*res = r;
	return r != -ETIMEDOUT || !dl;
}

/* Shepherd mode: 1 with the call's result (a negative errno value) in
 * *out, or 0 when the caller issues it as usual. */
static int shep_futex(uint32_t *uaddr, int op, uint32_t val,
		      const struct timespec *ts, uint32_t bits, long *out)
{
	int cmd = op & FUTEX_CMD_MASK;
	struct futexarg a = {
		uaddr, FUTEX_WAIT_BITSET | (op & FUTEX_PRIVATE_FLAG), val,
		cmd == FUTEX_WAIT ? FUTEX_BITSET_MATCH_ANY : bits,
	};
	int64_t to = -1;
	long res;

	if ((cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET) || retro_shep_now() < 0 ||
	    (ts && !ts_valid(ts)))
		return 0;
	if (ts && cmd == FUTEX_WAIT)
		to = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
	else if (ts && (to = retro_shep_until(op & FUTEX_CLOCK_REALTIME
						      ? CLOCK_REALTIME
						      : CLOCK_MONOTONIC,
					      ts)) < 0)
		return 0;
	/* not waiting at all: the word is not the value */
	if (__atomic_load_n(uaddr, __ATOMIC_SEQ_CST) != val) {
		*out = -EAGAIN;
		return 1;
	}
	if (retro_shep_wait(futex_slice, &a, to, &res) < 0)
		return 0;
	*out = res;
	return 1;
}

/* man 2 syscall */
RETRO_EXPORT long syscall(long nr, ...)
{
	va_list ap;
	long a[6];

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (__builtin_expect(retro_shep_on, 0) && nr == SYS_futex) {
		long r;
		if (shep_futex((uint32_t *)a[0], (int)a[1], (uint32_t)a[2],
			       (const struct timespec *)a[3], (uint32_t)a[5], &r)) {
			if (r < 0) {
				errno = (int)-r;
				return -1;
			}
			return r;
		}
	}
	if (retro_trap_plain(nr)) {
		/* recorded here as the trap layer would, without the trap's
		 * 2 us: the same call site, the caller of syscall() */
		int e = errno;
		char sel = retro_selector;
		long r = retro_trapped(nr, a,
				       (uint64_t)(uintptr_t)__builtin_return_address(0),
				       (uint64_t)(uintptr_t)__builtin_frame_address(0),
				       sel);
		retro_selector = sel; /* as the trap handler leaves it */
		if ((unsigned long)r > -4096UL) {
			errno = (int)-r;
			return -1;
		}
		errno = e;
		return r;
	}
	if (!real_syscall)
		real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
