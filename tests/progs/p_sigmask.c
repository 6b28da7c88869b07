/* p_sigmask: the signal mask a program sets holds, as without recording.
 * glibc's pthread_sigmask and sigprocmask issue rt_sigprocmask from libc,
 * which the trap layer handles inside its SIGSYS handler; a mask changed
 * there must outlive the handler's return.  Then the same calls many
 * times from the same sites, which the trap layer rewrites after a few
 * traps (rewrite.c): its stub makes the plain ones itself, and must keep
 * the program's own idea of SIGSYS, which is never really blocked.
 * Prints one line per check ("block ok" ...) and exits 0, or prints what
 * differs and exits 1. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t usr1, usr2;

static void on_usr1(int sig) { usr1++; }
static void on_usr2(int sig) { usr2++; }

static int bad(const char *what, int got, int want)
{
	printf("%s: got %d, expected %d\n", what, got, want);
	return 1;
}

static void *kill_later(void *arg)
{
	struct timespec t = { 0, 100000000 };

	nanosleep(&t, NULL);
	kill(getpid(), SIGUSR2);
	return arg;
}

/* The same calls, 32 rounds from the same call sites, which the trap
 * layer rewrites after a few traps.  Before any thread is made: a site
 * whose mov crosses a 16-byte block is only rewritten while the process
 * has one thread. */
static int hot_rounds(const sigset_t *one)
{
	sigset_t sys, old, cur;
	int fd = open("/proc/self/exe", O_RDONLY);

	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	for (int i = 0; i < 32; i++) {
		/* plain: the kernel's own answer */
		pthread_sigmask(SIG_BLOCK, one, &old);
		if (sigismember(&old, SIGUSR1) || sigismember(&old, SIGSYS))
			return bad("hot: old mask of a block", i, -1);
		/* SIGSYS, as the program sees it */
		pthread_sigmask(SIG_BLOCK, &sys, NULL);
		pthread_sigmask(SIG_BLOCK, NULL, &cur);
		if (!sigismember(&cur, SIGSYS) || !sigismember(&cur, SIGUSR1))
			return bad("hot: SIGSYS blocked in the mask read back", i,
				   -1);
		/* a call made while the program believes SIGSYS blocked */
		errno = 0;
		if (isatty(fd) || errno != ENOTTY)
			return bad("hot: isatty while SIGSYS blocked", errno,
				   ENOTTY);
		pthread_sigmask(SIG_UNBLOCK, &sys, &old);
		if (!sigismember(&old, SIGSYS))
			return bad("hot: old mask of the SIGSYS unblock", i, -1);
		pthread_sigmask(SIG_SETMASK, one, &cur);
		if (sigismember(&cur, SIGSYS) || !sigismember(&cur, SIGUSR1))
			return bad("hot: old mask of SIG_SETMASK", i, -1);
		/* a signal blocked meanwhile, delivered on unblock */
		kill(getpid(), SIGUSR1);
		if (usr1 != 1 + i)
			return bad("hot: SIGUSR1 ran while blocked", usr1, 1 + i);
		pthread_sigmask(SIG_UNBLOCK, one, NULL);
		if (usr1 != 2 + i)
			return bad("hot: SIGUSR1 delivered on unblock", usr1, 2 + i);
		/* the kernel's errors, unchanged */
		if (pthread_sigmask(12345, one, NULL) != EINVAL)
			return bad("hot: a bad how", i, EINVAL);
		errno = 0;
		if (isatty(-1) || errno != EBADF)
			return bad("hot: isatty(-1)", errno, EBADF);
	}
	close(fd);
	printf("hot sites ok\n");
	return 0;
}

int main(void)
{
	sigset_t one, two, cur, pend, old;
	struct timespec zero = { 0, 0 };
	pthread_t th;
	int sig = 0;

	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	sigemptyset(&one);
	sigaddset(&one, SIGUSR1);
	sigemptyset(&two);
	sigaddset(&two, SIGUSR2);

	/* blocked: the signal stays pending, the handler does not run */
	pthread_sigmask(SIG_BLOCK, &one, NULL);
	kill(getpid(), SIGUSR1);
	sigpending(&pend);
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	if (usr1 != 0)
		return bad("handler ran while blocked", usr1, 0);
	if (!sigismember(&pend, SIGUSR1))
		return bad("pending while blocked", 0, 1);
	if (!sigismember(&cur, SIGUSR1))
		return bad("in the mask read back", 0, 1);
	printf("block ok\n");

	/* unblocked: delivered before pthread_sigmask returns */
	pthread_sigmask(SIG_UNBLOCK, &one, &old);
	if (usr1 != 1)
		return bad("delivered on unblock", usr1, 1);
	if (!sigismember(&old, SIGUSR1))
		return bad("old mask of the unblock", 0, 1);
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	if (sigismember(&cur, SIGUSR1))
		return bad("still in the mask after unblock", 1, 0);
	printf("unblock ok\n");

	/* SIG_SETMASK through sigprocmask, then taken by sigtimedwait: the
	 * handler never runs */
	sigprocmask(SIG_SETMASK, &two, &old);
	kill(getpid(), SIGUSR2);
	sig = sigtimedwait(&two, NULL, &zero);
	if (sig != SIGUSR2)
		return bad("sigtimedwait", sig, SIGUSR2);
	sigprocmask(SIG_SETMASK, &old, &cur);
	if (usr2 != 0)
		return bad("handler ran for a signal taken by sigtimedwait", usr2, 0);
	if (!sigismember(&cur, SIGUSR2) || sigismember(&cur, SIGUSR1))
		return bad("old mask of SIG_SETMASK", 0, 1);
	printf("setmask ok\n");

	if (hot_rounds(&one))
		return 1;

	/* sigwait in the main thread, another thread sends (the mask is
	 * inherited by the new thread) */
	pthread_sigmask(SIG_BLOCK, &two, NULL);
	pthread_create(&th, NULL, kill_later, NULL);
	if (sigwait(&two, &sig) != 0 || sig != SIGUSR2)
		return bad("sigwait", sig, SIGUSR2);
	pthread_join(th, NULL);
	pthread_sigmask(SIG_UNBLOCK, &two, NULL);
	if (usr2 != 0)
		return bad("handler ran for a signal taken by sigwait", usr2, 0);
	printf("sigwait ok\n");

	return 0;
}
