#include "config.h"
#include <string.h>
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

const struct retro_call_desc retro_calls[RC_NCALLS] = {
#include <retro/calls.def>
};

int retro_call_by_name(const char *name)
{
	for (int i = 1; i < RC_NCALLS; i++)
		if (strcmp(retro_calls[i].name, name) == 0)
			return i;
	return RC_none;
}

int retro_arg_is_id(int call, int i)
{
	const struct retro_call_desc *d;
	int k;

	if (call <= 0 || call >= RC_NCALLS || i < 0 || i >= RETRO_MAXARGS)
		return 0;
	d = &retro_calls[call];
	if (d->flags & F_PSEUDO)
		return ((call == RC_start || call == RC_preimage ||
			  call == RC_image) && i == 0) ||
		       ((call == RC_fdinfo || call == RC_landed ||
			 call == RC_unsupported) && i == 1);
	if (i >= d->nargs)
		return 0;
	k = d->kind[i];
	return k == K_PATH || k == K_PATHW || k == K_PATHRM ||
	       k == K_PATHCHDIR || k == K_PATHAT || k == K_PATHATRM ||
	       k == K_STR;
}
