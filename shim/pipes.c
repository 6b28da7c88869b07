/* Interposers for pipes and FIFOs. */
#define SHIM_FAMILY_pipes
#include "shim.h"

#include <retro/calls.def>

/* man 2 pipe */
RETRO_EXPORT int pipe(int fds[2])
{
	struct retro_call c;
	int r;

	if (!retro_enter(&c, RC_pipe)) {
		r = REAL(pipe)(fds);
		if (r == 0 && retro_internal())
			retro_internal_fds(fds, 2);
		return r;
	}
	c.v[0] = SHIM_U64(fds);
	RETRO_SITE(c);
	retro_intent(&c);
	r = REAL(pipe)(fds);
	if (r == 0)
		retro_fd_pipe(fds);
	retro_result(&c, r);
	return r;
}

RETRO_EXPORT int pipe2(int fds[2], int flags)
{
	struct retro_call c;
	int r;

	if (!retro_enter(&c, RC_pipe2)) {
		r = REAL(pipe2)(fds, flags);
		if (r == 0 && retro_internal())
			retro_internal_fds(fds, 2);
		return r;
	}
	c.v[0] = SHIM_U64(fds);
	c.v[1] = (uint64_t)flags;
	RETRO_SITE(c);
	retro_intent(&c);
	r = REAL(pipe2)(fds, flags);
	if (r == 0)
		retro_fd_pipe(fds);
	retro_result(&c, r);
	return r;
}
