/* What only the trap layer sees: a syscall instruction of the program's
 * own, stdio's internal writes; and raw syscall(), which the shim's
 * syscall() records (the trap layer did before),
 * and a program that blocks every signal, handles signals of its own
 * (returning through a restorer), installs its own SIGSYS handler,
 * starts a thread and forks.  usage: p_raw DIR */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int got_usr1, got_sys;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1++;
}

static char alarm_path[4096];

static void on_alarm(int sig)
{
	FILE *f = fopen(alarm_path, "w");

	(void)sig;
	if (f) {
		fputs("alarm\n", f);
		fclose(f);
	}
}

static void on_sys(int sig)
{
	(void)sig;
	got_sys++;
}

static int clone_child(void *arg)
{
	long fd = syscall(SYS_openat, AT_FDCWD, (const char *)arg,
			  O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || syscall(SYS_write, fd, "cloned\n", 7) != 7)
		return 1;
	syscall(SYS_close, fd);
	return 7;
}

/* A system call that no library sees: only the trap layer can. */
static __attribute__((noinline)) long asm_syscall3(long nr, long a, long b,
						   long c)
{
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}

static void *thread(void *arg)
{
	FILE *f = fopen(arg, "w");

	if (!f)
		return NULL;
	fputs("from a thread\n", f);
	fclose(f);
	return arg;
}

int main(int argc, char **argv)
{
	char p[4096];
	struct timespec ts = { 0, 1000000 };
	sigset_t all, old;
	pthread_t th;
	void *res;
	FILE *f;
	long fd;
	pid_t pid;
	int st, fst;

	snprintf(alarm_path, sizeof alarm_path, "%s/alarm", argv[1]);

	/* raw system calls */
	snprintf(p, sizeof p, "%s/raw", argv[1]);
	fd = syscall(SYS_openat, AT_FDCWD, p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || syscall(SYS_write, fd, "raw bytes\n", 10) != 10)
		return 1;
	syscall(SYS_close, fd);
	syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
	snprintf(p, sizeof p, "%s/asm", argv[1]);
	fd = asm_syscall3(SYS_open, (long)p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || asm_syscall3(SYS_write, fd, (long)"asm bytes\n", 10) != 10)
		return 1;
	asm_syscall3(SYS_close, fd, 0, 0);

	/* stdio: glibc writes through its internal write */
	snprintf(p, sizeof p, "%s/stdio", argv[1]);
	f = fopen(p, "w");
	if (!f)
		return 1;
	fprintf(f, "stdio %d\n", 42);
	fclose(f);

	/* every signal blocked, then system calls */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	snprintf(p, sizeof p, "%s/blocked", argv[1]);
	f = fopen(p, "w");
	if (!f)
		return 1;
	fputs("while blocked\n", f);
	fclose(f);
	sigprocmask(SIG_SETMASK, NULL, &all);
	if (!sigismember(&all, SIGSYS))
		return 3; /* the program must see the mask it set */
	sigprocmask(SIG_SETMASK, &old, NULL);

	/* a handler of its own returns through a restorer */
	signal(SIGUSR1, on_usr1);
	raise(SIGUSR1);
	/* and runs inside sigsuspend with a mask that blocks SIGSYS, making
	 * system calls of its own (stdio in on_alarm) */
	{
		sigset_t wait;
		sigfillset(&wait);
		sigdelset(&wait, SIGALRM);
		signal(SIGALRM, on_alarm);
		alarm(1);
		sigsuspend(&wait);
	}
	/* and a SIGSYS handler of its own gets the SIGSYS it raises */
	signal(SIGSYS, on_sys);
	raise(SIGSYS);

	snprintf(p, sizeof p, "%s/thread", argv[1]);
	if (pthread_create(&th, NULL, thread, p) || pthread_join(th, &res) ||
	    !res)
		return 4;

	pid = fork();
	if (pid == 0) {
		snprintf(p, sizeof p, "%s/child", argv[1]);
		f = fopen(p, "w");
		fputs("from the child\n", f);
		fclose(f);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	fst = st;

	/* a raw clone onto a new stack, sharing memory (what a thread
	 * library does): the child starts at its own instruction pointer */
	{
		static char stack[64 * 1024] __attribute__((aligned(16)));
		snprintf(p, sizeof p, "%s/clone", argv[1]);
		pid = clone(clone_child, stack + sizeof stack, CLONE_VM | SIGCHLD,
			    p);
		if (pid < 0 || waitpid(pid, &st, 0) != pid ||
		    !WIFEXITED(st) || WEXITSTATUS(st) != 7)
			return 5;
	}

	/* openat2 (no libc wrapper) */
	{
		struct { uint64_t flags, mode, resolve; } how = {
			O_WRONLY | O_CREAT | O_TRUNC, 0644, 0 };
		snprintf(p, sizeof p, "%s/openat2", argv[1]);
		fd = syscall(SYS_openat2, AT_FDCWD, p, &how, sizeof how);
		if (fd < 0 || write((int)fd, "openat2\n", 8) != 8)
			return 6;
		close((int)fd);
	}

	/* io_uring: seen, said to be unsupported, and still performed */
	{
		char params[120] = { 0 };
		long u = syscall(SYS_io_uring_setup, 4, params);
		if (u >= 0)
			close((int)u);
	}
	printf("usr1 %d sys %d child %d\n", got_usr1, got_sys,
	       WIFEXITED(fst) ? WEXITSTATUS(fst) : -1);
	return 0;
}
