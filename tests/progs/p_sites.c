/* p_sites MODE N: hits a glibc system call site N times, for the trap
 * layer's rewriting (record-rewrite-sites.sh).
 *
 *     p_sites dir N        opendir(".") and closedir N times: glibc opens
 *                          the directory with its internal openat, whose
 *                          `mov $NR,%eax` is followed by two register
 *                          moves before the `syscall`
 *     p_sites mmap N       mmap and munmap a private anonymous page N
 *                          times (in this glibc the mmap site's mov
 *                          crosses a 16-byte boundary)
 *     p_sites mmap-thr N   the same while a second thread sleeps
 *     p_sites read N       reads its own executable 16 bytes at a time
 *                          through stdio, with a 16-byte buffer: N reads
 *                          at glibc's read, whose number 0 is loaded
 *                          with a 2-byte xor, not a mov
 *     p_sites read-thr N   the same, with a second thread started after
 *                          half of them (glibc's read then takes its
 *                          cancellable path)
 *     p_sites jmp N        sigsetjmp(env, 1) and siglongjmp N times, with
 *                          SIGUSR1 and SIGSYS blocked at the sigsetjmp and
 *                          unblocked before the siglongjmp: glibc saves and
 *                          restores the mask with its internal
 *                          rt_sigprocmask; counts the times the mask after
 *                          the jump is the one saved, as sigprocmask
 *                          reports it
 *
 * Prints how many of the N succeeded. */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *idle(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

int main(int argc, char **argv)
{
	long n;
	volatile long ok = 0; /* kept across siglongjmp */
	pthread_t th;

	if (argc != 3) {
		fprintf(stderr, "usage: p_sites dir|mmap|mmap-thr|read|read-thr|jmp N\n");
		return 2;
	}
	n = atol(argv[2]);
	if (!strcmp(argv[1], "dir")) {
		for (long i = 0; i < n; i++) {
			DIR *d = opendir(".");
			if (d) {
				ok++;
				closedir(d);
			}
		}
	} else if (!strcmp(argv[1], "mmap") || !strcmp(argv[1], "mmap-thr")) {
		if (argv[1][4] && pthread_create(&th, NULL, idle, NULL)) {
			perror("pthread_create");
			return 1;
		}
		for (long i = 0; i < n; i++) {
			void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p != MAP_FAILED) {
				ok++;
				munmap(p, 4096);
			}
		}
	} else if (!strcmp(argv[1], "read") || !strcmp(argv[1], "read-thr")) {
		static char vbuf[16];
		char b[16];
		FILE *f = fopen("/proc/self/exe", "r");
		if (!f || setvbuf(f, vbuf, _IOFBF, sizeof vbuf)) {
			perror("p_sites: /proc/self/exe");
			return 1;
		}
		for (long i = 0; i < n; i++) {
			if (i == n / 2 && argv[1][4] &&
			    pthread_create(&th, NULL, idle, NULL)) {
				perror("pthread_create");
				return 1;
			}
			if (fread(b, 1, sizeof b, f) == sizeof b)
				ok++;
		}
		fclose(f);
	} else if (!strcmp(argv[1], "jmp")) {
		static sigjmp_buf env;
		sigset_t s, cur;
		sigemptyset(&s);
		sigaddset(&s, SIGUSR1);
		sigaddset(&s, SIGSYS);
		for (volatile long i = 0; i < n; i++) {
			sigprocmask(SIG_BLOCK, &s, NULL);
			if (sigsetjmp(env, 1) == 0) {
				sigprocmask(SIG_UNBLOCK, &s, NULL);
				siglongjmp(env, 1);
			}
			sigprocmask(SIG_BLOCK, NULL, &cur);
			if (sigismember(&cur, SIGUSR1) &&
			    sigismember(&cur, SIGSYS))
				ok++;
			sigprocmask(SIG_UNBLOCK, &s, NULL);
		}
		/* SIGSYS blocked as the program sees it, restored by
		 * siglongjmp: a system call the trap layer catches must still
		 * work (a really blocked SIGSYS would kill the process) */
		sigprocmask(SIG_BLOCK, &s, NULL);
		if (sigsetjmp(env, 1) == 0)
			siglongjmp(env, 1);
		{
			long r;
			__asm__ volatile("syscall"
					 : "=a"(r)
					 : "0"((long)SYS_getppid)
					 : "rcx", "r11", "memory");
			if (r != (long)getppid())
				ok = -1;
		}
	} else {
		fprintf(stderr, "p_sites: unknown mode %s\n", argv[1]);
		return 2;
	}
	printf("%ld of %ld\n", (long)ok, n);
	fflush(stdout);
	_exit(0); /* the idle thread does not end */
}
