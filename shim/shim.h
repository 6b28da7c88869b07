/* Interposers are generated from include/retro/calls.def: each file of shim/
 * defines SHIM_FAMILY_<family> and includes this header, then the table,
 * and gets a real_<name> pointer for every call of its family and a
 * generated interposer for each GEN entry.  HAND entries are written out in
 * the same file. */
#ifndef RETRO_SHIM_H
#define RETRO_SHIM_H

#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <dirent.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/single_threaded.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "recorder.h"
#include "sys.h"

#define RETRO_EXPORT __attribute__((visibility("default")))

/* calls.def spells `const struct timespec times[2]` as a pointer. */
#pragma GCC diagnostic ignored "-Warray-parameter"


/* The real function; resolved at first use. */
#define REAL(n) \
	(real_##n ? real_##n : (__typeof__(real_##n))retro_real(#n, (void **)&real_##n))

#ifdef SHIM_FAMILY_files
#define SHIM_IN_files(...) __VA_ARGS__
#else
#define SHIM_IN_files(...)
#endif
#ifdef SHIM_FAMILY_pipes
#define SHIM_IN_pipes(...) __VA_ARGS__
#else
#define SHIM_IN_pipes(...)
#endif
#ifdef SHIM_FAMILY_process
#define SHIM_IN_process(...) __VA_ARGS__
#else
#define SHIM_IN_process(...)
#endif
#ifdef SHIM_FAMILY_time
#define SHIM_IN_time(...) __VA_ARGS__
#else
#define SHIM_IN_time(...)
#endif

#define SHIM_U64(x) ((uint64_t)(uintptr_t)(x))
#define SHIM_L(x) ((long)SHIM_U64(x))
#define SHIM_UNPACK(...) __VA_ARGS__

/* The system call that may stand for call n's libc wrapper, or 0
 * (direct.c). */
extern const short shim_direct_nr[RC_NCALLS]
	__attribute__((visibility("hidden")));

/* A system call from the shim's own text, with libc's convention. */
static inline long shim_direct(long nr, long a, long b, long c, long d,
			       long e, long f)
{
	long k = retro_sys6(nr, a, b, c, d, e, f);

	if (k < 0 && k > -4096) {
		errno = (int)-k;
		return -1;
	}
	return k;
}

/* One generated interposer: record, call, complete.  The call is made by
 * the shim itself when it is one system call and the process has one
 * thread (direct.c), by libc otherwise.  The arguments are the program's
 * own (dargs): the recorder's copy (c.v) may have a bad pointer made
 * NULL. */
#define SHIM_GEN(n, R, params, args, setv, dargs)               \
	RETRO_EXPORT R n params                                 \
	{                                                       \
		struct retro_call c;                            \
		R r;                                            \
		if (!retro_enter(&c, RC_##n))                   \
			return REAL(n) args;                    \
		RETRO_SITE(c);                                  \
		setv;                                           \
		retro_intent(&c);                               \
		if (__builtin_expect(c.skip, 0))                \
			r = (R)c.sret;                          \
		else if (shim_direct_nr[RC_##n] &&              \
			 __libc_single_threaded)                \
			r = (R)shim_direct(shim_direct_nr[RC_##n], \
					   SHIM_UNPACK dargs);  \
		else                                            \
			r = REAL(n) args;                       \
		retro_result(&c, (int64_t)r);                   \
		return r;                                       \
	}
#define SHIM_HAND(n, R, params, args, setv, dargs)

#define SHIM_DECL(f, n) \
	SHIM_IN_##f(static __attribute__((unused)) __typeof__(&n) real_##n;)
#define SHIM_DEF(f, how, n, R, params, args, setv, dargs) \
	SHIM_IN_##f(SHIM_##how(n, R, params, args, setv, dargs))

#define RETRO_CALL0(f, n, R, rk, how, fl)                       \
	SHIM_DECL(f, n) SHIM_DEF(f, how, n, R, (void), (), (void)0, \
				 (0, 0, 0, 0, 0, 0))
#define RETRO_CALL1(f, n, R, rk, how, fl, T1, K1)                    \
	SHIM_DECL(f, n)                                               \
	SHIM_DEF(f, how, n, R, (T1 a1), (a1), c.v[0] = SHIM_U64(a1), \
		 (SHIM_L(a1), 0, 0, 0, 0, 0))
#define RETRO_CALL2(f, n, R, rk, how, fl, T1, K1, T2, K2)            \
	SHIM_DECL(f, n)                                              \
	SHIM_DEF(f, how, n, R, (T1 a1, T2 a2), (a1, a2),             \
		 (c.v[0] = SHIM_U64(a1), c.v[1] = SHIM_U64(a2)),      \
		 (SHIM_L(a1), SHIM_L(a2), 0, 0, 0, 0))
#define RETRO_CALL3(f, n, R, rk, how, fl, T1, K1, T2, K2, T3, K3)      \
	SHIM_DECL(f, n)                                                \
	SHIM_DEF(f, how, n, R, (T1 a1, T2 a2, T3 a3), (a1, a2, a3),    \
		 (c.v[0] = SHIM_U64(a1), c.v[1] = SHIM_U64(a2),        \
		  c.v[2] = SHIM_U64(a3)),                              \
		 (SHIM_L(a1), SHIM_L(a2), SHIM_L(a3), 0, 0, 0))
#define RETRO_CALL4(f, n, R, rk, how, fl, T1, K1, T2, K2, T3, K3, T4, K4) \
	SHIM_DECL(f, n)                                                   \
	SHIM_DEF(f, how, n, R, (T1 a1, T2 a2, T3 a3, T4 a4),              \
		 (a1, a2, a3, a4),                                        \
		 (c.v[0] = SHIM_U64(a1), c.v[1] = SHIM_U64(a2),           \
		  c.v[2] = SHIM_U64(a3), c.v[3] = SHIM_U64(a4)),          \
		 (SHIM_L(a1), SHIM_L(a2), SHIM_L(a3), SHIM_L(a4), 0, 0))
#define RETRO_CALL5(f, n, R, rk, how, fl, T1, K1, T2, K2, T3, K3, T4, K4, \
		    T5, K5)                                               \
	SHIM_DECL(f, n)                                                   \
	SHIM_DEF(f, how, n, R, (T1 a1, T2 a2, T3 a3, T4 a4, T5 a5),       \
		 (a1, a2, a3, a4, a5),                                    \
		 (c.v[0] = SHIM_U64(a1), c.v[1] = SHIM_U64(a2),           \
		  c.v[2] = SHIM_U64(a3), c.v[3] = SHIM_U64(a4),           \
		  c.v[4] = SHIM_U64(a5)),                                 \
		 (SHIM_L(a1), SHIM_L(a2), SHIM_L(a3), SHIM_L(a4),         \
		  SHIM_L(a5), 0))
#define RETRO_CALL6(f, n, R, rk, how, fl, T1, K1, T2, K2, T3, K3, T4, K4, \
		    T5, K5, T6, K6)                                       \
	SHIM_DECL(f, n)                                                   \
	SHIM_DEF(f, how, n, R, (T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6),\
		 (a1, a2, a3, a4, a5, a6),                                \
		 (c.v[0] = SHIM_U64(a1), c.v[1] = SHIM_U64(a2),           \
		  c.v[2] = SHIM_U64(a3), c.v[3] = SHIM_U64(a4),           \
		  c.v[4] = SHIM_U64(a5), c.v[5] = SHIM_U64(a6)),          \
		 (SHIM_L(a1), SHIM_L(a2), SHIM_L(a3), SHIM_L(a4),         \
		  SHIM_L(a5), SHIM_L(a6)))
#define RETRO_PSEUDO(...)

#endif
