/* Interposers for processes: fork, exec, spawn, exit, wait, kill, and the
 * inputs from outside (getrandom).  exec and spawn keep recording in the
 * new program even when the caller scrubbed its environment, unless
 * RETRO_FOLLOW=0. */
#define SHIM_FAMILY_process
#include "shim.h"
#define RETRO_SHIM_SIDE
#include "shepherd.h"
#include "sys.h"
#include <stdarg.h>

#include <retro/calls.def>

/* The functions a child calls that its parent seldom has: resolved
 * before the first fork, once, not by dlsym in every child.  There
 * dlsym would first fault in the loader's code and libc's symbol
 * tables, pages that fork does not copy: ~20 us a child here.  (A
 * dash child execs or calls _exit; a bash subshell ends with exit.) */
static void resolve_for_children(void)
{
	(void)REAL(execve);
	(void)REAL(execvpe);
	(void)REAL(_exit);
	(void)REAL(exit);
}

/* man 2 fork */
RETRO_EXPORT pid_t fork(void)
{
	struct retro_call c;
	pid_t r;

	if (!retro_enter(&c, RC_fork))
		return REAL(fork)();
	RETRO_SITE(c);
	retro_intent(&c);
	resolve_for_children();
	r = REAL(fork)();
	if (r == 0)
		c.rec = NULL; /* the parent's record; the child has its own */
	retro_result(&c, r);
	return r;
}

/* man 2 getppid.  Not recorded; re-executed, a process whose parent is
 * the replay's driver sees its recorded parent's pid (its own pid and its
 * children's are the recorded ones already: the replay's pid namespace
 * gives them out). */
RETRO_EXPORT pid_t getppid(void)
{
	pid_t p = (pid_t)retro_sys0(SYS_getppid);

	return __builtin_expect(retro_shep_on, 0) ? retro_shep_ppid(p) : p;
}

/* Queries that are not recorded and that a replay does not change (its
 * pid namespace gives out the recorded pids), exported only so that the
 * system call is made from the shim's text, which the trap layer lets
 * through.  Made by libc's own functions, each would cost a SIGSYS (~2.4
 * us here) at its first three calls from a site in every process
 * (rewrite.c): a bash asks for its uids and gids three times as it
 * starts, and a subshell for its pid first thing. */
#define PLAIN_QUERY(type, name)                 \
	RETRO_EXPORT type name(void)            \
	{                                       \
		return (type)retro_sys0(SYS_##name); \
	}

PLAIN_QUERY(pid_t, getpid)
PLAIN_QUERY(uid_t, getuid)
PLAIN_QUERY(uid_t, geteuid)
PLAIN_QUERY(gid_t, getgid)
PLAIN_QUERY(gid_t, getegid)
PLAIN_QUERY(pid_t, getpgrp)

/* man 2 vfork.  POSIX lets vfork be fork: a conforming child only calls
 * exec or _exit, and the shim cannot run in a child that borrows the
 * parent's stack. */
RETRO_EXPORT pid_t vfork(void)
{
	struct retro_call c;
	pid_t r;

	if (!retro_enter(&c, RC_vfork))
		return REAL(fork)();
	RETRO_SITE(c);
	retro_intent(&c);
	resolve_for_children();
	r = REAL(fork)();
	if (r == 0)
		c.rec = NULL;
	retro_result(&c, r);
	return r;
}

static int record_spawn(int call, pid_t *pid, const char *file,
			const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[],
			char *const envp[])
{
	struct retro_call c;
	char *const *env;
	int r;

	if (!retro_enter(&c, call))
		return call == RC_posix_spawn
			       ? REAL(posix_spawn)(pid, file, fa, attr, argv, envp)
			       : REAL(posix_spawnp)(pid, file, fa, attr, argv,
						    envp);
	c.v[0] = SHIM_U64(pid);
	c.v[1] = SHIM_U64(file);
	c.v[4] = SHIM_U64(argv);
	RETRO_SITE(c);
	retro_intent(&c);
	env = retro_spawn_env(envp);
	r = call == RC_posix_spawn
		    ? REAL(posix_spawn)(pid, file, fa, attr, argv, env)
		    : REAL(posix_spawnp)(pid, file, fa, attr, argv, env);
	retro_spawn_env_free(env, envp);
	retro_result(&c, r);
	return r;
}

/* man 3 posix_spawn */
RETRO_EXPORT int posix_spawn(pid_t *pid, const char *path,
			     const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *attr, char *const argv[],
			     char *const envp[])
{
	return record_spawn(RC_posix_spawn, pid, path, fa, attr, argv, envp);
}

RETRO_EXPORT int posix_spawnp(pid_t *pid, const char *file,
			      const posix_spawn_file_actions_t *fa,
			      const posix_spawnattr_t *attr, char *const argv[],
			      char *const envp[])
{
	return record_spawn(RC_posix_spawnp, pid, file, fa, attr, argv, envp);
}

/* Every exec comes here: the intent (with argv) is logged, the handoff to
 * the next image written, and the environment completed if scrubbed. */
enum { EX_PATH, EX_FILE, EX_FD, EX_AT };

static int record_exec(int call, int how, int dirfd, const char *path,
		       char *const argv[], char *const envp[], int flags)
{
	struct retro_call c;
	char *const *env = envp;
	int r, i = 0;

	if (retro_enter(&c, call)) {
		if (how == EX_AT || how == EX_FD)
			c.v[i++] = (uint64_t)dirfd;
		if (how != EX_FD)
			c.v[i++] = SHIM_U64(path);
		c.v[i++] = SHIM_U64(argv);
		RETRO_SITE(c);
		retro_intent(&c);
		if (how == EX_PATH || how == EX_FILE)
			retro_exec_target(path, how == EX_FILE);
		env = retro_exec_prepare(envp);
	} else {
		c.rec = NULL;
		c.t = NULL;
	}
	switch (how) {
	case EX_FILE:
		r = REAL(execvpe)(path, argv, env);
		break;
	case EX_FD:
		r = REAL(fexecve)(dirfd, argv, env);
		break;
	case EX_AT:
		r = REAL(execveat)(dirfd, path, argv, env, flags);
		break;
	default:
		r = REAL(execve)(path, argv, env);
		break;
	}
	if (c.t) {
		retro_exec_failed(env, envp);
		retro_result(&c, r);
	}
	return r;
}

/* man 2 execve */
RETRO_EXPORT int execve(const char *path, char *const argv[],
			char *const envp[])
{
	return record_exec(RC_execve, EX_PATH, AT_FDCWD, path, argv, envp, 0);
}

RETRO_EXPORT int execv(const char *path, char *const argv[])
{
	return record_exec(RC_execv, EX_PATH, AT_FDCWD, path, argv, environ, 0);
}

RETRO_EXPORT int execvp(const char *file, char *const argv[])
{
	return record_exec(RC_execvp, EX_FILE, AT_FDCWD, file, argv, environ, 0);
}

RETRO_EXPORT int execvpe(const char *file, char *const argv[],
			 char *const envp[])
{
	return record_exec(RC_execvpe, EX_FILE, AT_FDCWD, file, argv, envp, 0);
}

RETRO_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	return record_exec(RC_fexecve, EX_FD, fd, NULL, argv, envp, 0);
}

RETRO_EXPORT int execveat(int dirfd, const char *path, char *const argv[],
			  char *const envp[], int flags)
{
	return record_exec(RC_execveat, EX_AT, dirfd, path, argv, envp, flags);
}

/* The execl family: collect the variadic list into an argv on the stack,
 * bounded as glibc bounds it. */
#define EXECL_MAX 4096

static int execl_common(int call, int how, const char *path, const char *arg,
			va_list ap, int want_env)
{
	const char *argv[EXECL_MAX + 1];
	char *const *envp = environ;
	int n = 0;

	argv[n++] = arg;
	while (arg && n < EXECL_MAX) {
		arg = va_arg(ap, const char *);
		argv[n++] = arg;
	}
	argv[n] = NULL;
	if (n >= EXECL_MAX && arg) {
		errno = E2BIG;
		return -1;
	}
	if (want_env)
		envp = va_arg(ap, char *const *);
	return record_exec(call, how, AT_FDCWD, path, (char *const *)argv, envp,
			   0);
}

/* man 3 execl */
RETRO_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg);
	r = execl_common(RC_execl, EX_PATH, path, arg, ap, 0);
	va_end(ap);
	return r;
}

RETRO_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg);
	r = execl_common(RC_execlp, EX_FILE, file, arg, ap, 0);
	va_end(ap);
	return r;
}

RETRO_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg);
	r = execl_common(RC_execle, EX_PATH, path, arg, ap, 1);
	va_end(ap);
	return r;
}

static void record_exit(int call, int status)
{
	struct retro_call c;

	if (!retro_enter(&c, call))
		return;
	c.v[0] = (uint64_t)(uint32_t)status;
	RETRO_SITE(c);
	retro_intent(&c);
	retro_exiting(status);
	retro_result(&c, 0);
}

/* man 3 exit: the destructor finishes the recording after atexit
 * handlers have run. */
RETRO_EXPORT void exit(int status)
{
	record_exit(RC_exit, status);
	REAL(exit)(status);
	__builtin_unreachable();
}

/* man 2 _exit: no destructors run, so finish here. */
RETRO_EXPORT void _exit(int status)
{
	record_exit(RC__exit, status);
	retro_fini(0);
	REAL(_exit)(status);
	__builtin_unreachable();
}

RETRO_EXPORT void _Exit(int status)
{
	record_exit(RC__Exit, status);
	retro_fini(0);
	REAL(_Exit)(status);
	__builtin_unreachable();
}

/* ---- threads: the trap layer is armed in every new thread ----------------
 * Not a recorded call: Syscall User Dispatch is per thread, and a thread
 * that only calls libc internally (stdio) would never enter the shim to be
 * armed.  The start routine is wrapped so that the thread arms itself
 * first; the creation runs with the selector at ALLOW. */
#include <pthread.h>

static __typeof__(&pthread_create) real_pthread_create;

struct thread_start {
	void *(*fn)(void *);
	void *arg;
};

static void *thread_start(void *p)
{
	struct thread_start s = *(struct thread_start *)p;

	free(p);
	retro_thread_begin();
	return s.fn(s.arg);
}

RETRO_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr,
				void *(*fn)(void *), void *arg)
{
	struct thread_start *s;
	char sel;
	int r;

	if (__builtin_expect(retro_shep_on, 0))
		retro_shep_thread_next(); /* its recorded thread id */
	if (!retro_trap_active() || !(s = malloc(sizeof *s)))
		return REAL(pthread_create)(th, attr, fn, arg);
	s->fn = fn;
	s->arg = arg;
	sel = retro_selector;
	retro_selector = 0;
	r = REAL(pthread_create)(th, attr, thread_start, s);
	retro_selector = sel;
	if (r)
		free(s);
	return r;
}
