/* Interposers for time and sleeps.  Sleeps and timed waits are generated
 * from calls.def; clock reads are counted per thread and only recorded
 * one by one with RETRO_TIME_READS=1, which keeps them at a few ns. */
#define SHIM_FAMILY_time
#include "shim.h"
#define RETRO_SHIM_SIDE
#include "shepherd.h"

#include <retro/calls.def>

/* man 2 clock_gettime */
RETRO_EXPORT int clock_gettime(clockid_t clk, struct timespec *ts)
{
	struct retro_call c;
	int r;

	/* shepherd mode: the thread's clock on the virtual timeline */
	if (__builtin_expect(retro_shep_on, 0) && retro_shep_clock(clk, ts) == 0) {
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
	    retro_shep_clock(CLOCK_REALTIME, &vts) == 0) {
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
	    retro_shep_clock(CLOCK_REALTIME, &vts) == 0) {
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

/* The C library's wait, as retro_shep_condwait calls it. */
static int cond_wait_real(void *cond, void *mutex, clockid_t clk,
			  const struct timespec *abstime)
{
	if (!abstime)
		return real_cond_wait(cond, mutex);
	return real_cond_clockwait(cond, mutex, clk, abstime);
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
	    (r = retro_shep_condwait(cond_wait_real, cond, mutex,
				     CLOCK_REALTIME, NULL)) >= 0)
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
	    (r = retro_shep_condwait(cond_wait_real, cond, mutex,
				     cond_clock(cond), abstime)) >= 0)
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
	    (r = retro_shep_condwait(cond_wait_real, cond, mutex, clk,
				     abstime)) >= 0)
		return r;
	return real_cond_clockwait(cond, mutex, clk, abstime);
}
