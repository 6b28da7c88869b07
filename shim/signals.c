/* Signal handlers.  Not recorded calls: a program's handler is installed
 * behind the recorder's wrapper (lib/trap.c), so that a signal that comes
 * while the recorder holds the thread's state has its handler run a moment
 * later rather than unrecorded.  With the trap layer armed, libc's own
 * rt_sigaction traps and is wrapped there; these interposers do it
 * without the layer. */
#include "shim.h"

#include <string.h>

static __typeof__(&sigaction) real_sigaction;

/* man 2 sigaction */
RETRO_EXPORT int sigaction(int sig, const struct sigaction *act,
			   struct sigaction *old)
{
	if (!real_sigaction)
		REAL(sigaction);
	if (retro_trap_active() || !retro_recording())
		return real_sigaction(sig, act, old);
	return retro_sig_libc(sig, act, old, real_sigaction);
}

/* man 2 signal: glibc's BSD semantics (SA_RESTART, the signal itself
 * blocked in its handler), as its own signal() sets them. */
RETRO_EXPORT sighandler_t signal(int sig, sighandler_t h)
{
	static __typeof__(&signal) real_signal;
	struct sigaction a, o;

	if (retro_trap_active() || !retro_recording())
		return REAL(signal)(sig, h);
	if (h == SIG_ERR || sig < 1 || sig >= NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	memset(&a, 0, sizeof a);
	a.sa_handler = h;
	sigemptyset(&a.sa_mask);
	sigaddset(&a.sa_mask, sig);
	a.sa_flags = SA_RESTART;
	if (sigaction(sig, &a, &o) < 0)
		return SIG_ERR;
	return o.sa_handler;
}
