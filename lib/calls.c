#include "config.h"
#include <string.h>
#include "calls_tab.h"

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
