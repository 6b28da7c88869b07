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
	if (__builtin_expect(retro_shep_on, 0) && retro_shep_clock(clk, ts) == 0)
		return 0;
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

/* man 2 clock_settime: recorded, and the clock map re-anchored after. */
RETRO_EXPORT int clock_settime(clockid_t clk, const struct timespec *ts)
{
	struct retro_call c;
	int r;

	if (!retro_enter(&c, RC_clock_settime))
		return REAL(clock_settime)(clk, ts);
	c.v[0] = (uint64_t)clk;
	c.v[1] = SHIM_U64(ts);
	RETRO_SITE(c);
	retro_intent(&c);
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

	if (!retro_enter(&c, RC_settimeofday))
		return REAL(settimeofday)(tv, tz);
	c.v[0] = SHIM_U64(tv);
	RETRO_SITE(c);
	retro_intent(&c);
	r = REAL(settimeofday)(tv, tz);
	retro_result(&c, r);
	if (r == 0)
		retro_clock_stepped();
	return r;
}
