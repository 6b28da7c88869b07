/* The initializer of the descriptor table, from calls.def:
 *
 *     #include "calls_tab.h"
 *     const struct retro_call_desc table[RC_NCALLS] = {
 *     #include <retro/calls.def>
 *     };
 *
 * calls.c makes retro_calls with it.  recorder.c makes a static copy, so
 * that where the call is a constant (retro_intent's common calls) the
 * compiler folds each argument's kind and the loops over them. */
#ifndef RETRO_CALLS_TAB_H
#define RETRO_CALLS_TAB_H

#include <retro/calls.h>

#define KINDS(...) { __VA_ARGS__ }
#define RETRO_CALL0(f, n, R, rk, how, fl) \
	[RC_##n] = { #n, #f, 0, rk, F_##how | (fl), { 0 } },
#define RETRO_CALL1(f, n, R, rk, how, fl, T1, K1) \
	[RC_##n] = { #n, #f, 1, rk, F_##how | (fl), KINDS(K1) },
#define RETRO_CALL2(f, n, R, rk, how, fl, T1, K1, T2, K2) \
	[RC_##n] = { #n, #f, 2, rk, F_##how | (fl), KINDS(K1, K2) },
#define RETRO_CALL3(f, n, R, rk, how, fl, T1, K1, T2, K2, T3, K3) \
	[RC_##n] = { #n, #f, 3, rk, F_##how | (fl), KINDS(K1, K2, K3) },
#define RETRO_CALL4(f, n, R, rk, how, fl, T1, K1, T2, K2, T3, K3, T4, K4) \
	[RC_##n] = { #n, #f, 4, rk, F_##how | (fl), KINDS(K1, K2, K3, K4) },
#define RETRO_CALL5(f, n, R, rk, how, fl, T1, K1, T2, K2, T3, K3, T4, K4, T5, K5) \
	[RC_##n] = { #n, #f, 5, rk, F_##how | (fl), KINDS(K1, K2, K3, K4, K5) },
#define RETRO_CALL6(f, n, R, rk, how, fl, T1, K1, T2, K2, T3, K3, T4, K4, T5, K5, \
		    T6, K6)                                                  \
	[RC_##n] = { #n, #f, 6, rk, F_##how | (fl), KINDS(K1, K2, K3, K4, K5, K6) },
#define RETRO_PSEUDO(n, na, ...) \
	[RC_##n] = { #n, "pseudo", na, R_NOERR, F_PSEUDO, KINDS(__VA_ARGS__) },

#endif
