/* bench_calls: times one kind of call in a tight loop, for bench/run (and
 * bench/run.sh, bench/scale.sh).
 *
 *     bench_calls pwrite N      pwrite(2) of 64 bytes at offset 0
 *     bench_calls write N       write(2) of 64 bytes at the file's offset (an
 *                               lseek(2) back to 0 every 1024 writes, one
 *                               call in 1025)
 *     bench_calls openclose N   open(2) O_RDONLY of an existing file + close
 *     bench_calls read N        read(2) of 64 bytes from a 64 KiB file (an
 *                               lseek(2) back to 0 at each end of file, one
 *                               call in 1025)
 *     bench_calls clock N       clock_gettime(CLOCK_MONOTONIC)
 *     bench_calls nsleep0 N     nanosleep(2) of 0 ns, timer slack 1 ns
 *     bench_calls rawpwrite N   pwrite as a syscall instruction of the
 *                               program's own: only the trap layer sees it
 *     bench_calls syspwrite N   pwrite through syscall(2), which the shim
 *                               interposes
 *     bench_calls fwrite N      fwrite of 64 bytes and fflush: one write(2)
 *                               that glibc makes itself (the trap layer
 *                               sees it; after the first, through the
 *                               rewritten site)
 *     bench_calls mix N         N rounds of open+close and pwrite (store size)
 *     bench_calls fork N        a process: fork, the child _exits at once,
 *                               waitpid
 *     bench_calls spawn N       a process: fork, the child execs /bin/true,
 *                               waitpid
 *     bench_calls code N        BENCH_CODE_BLOCKS blocks of straight-line
 *                               code, no system call (see below)
 *
 * With BENCH_CODE_BLOCKS=K (0 to 16), openclose and code also run K blocks
 * of about 1.2 KiB of machine code each, straight-line and each executed
 * once, at every iteration (code: only those).  No shim: what an
 * open+close costs more when that much user code runs between two of
 * them, the cost a recorder's own code puts on the kernel's (see
 * BENCHMARKS.md, section 1).
 *
 * With BENCH_SUD=1 the program first arms Syscall User Dispatch itself,
 * its selector at ALLOW and no region exempt: every system call takes the
 * kernel's slower entry and none is diverted.  Run without the shim, that
 * is the part of the armed trap layer's cost that is the kernel's.
 *
 * With BENCH_CPU=C the program runs on CPU C only (sched_setaffinity),
 * so that the variants of a round are timed on the same CPU: on a
 * virtual machine one CPU may take a system call ~30% slower than
 * another (seen here: 1.8 against 1.4 us a pwrite).
 *
 * Prints "MODE N NS" where NS is nanoseconds per iteration (nothing when
 * BENCH_QUIET is set).  This is the
 * program that gets recorded, so it links nothing of retro's: run it under
 * LD_PRELOAD=libretro.so to measure the shim.  The loop is bracketed by raw
 * clock_gettime system calls, which the shim does not see, so the brackets
 * cost the same with and without it.  Its files live in a fresh directory
 * under $TMPDIR (else /tmp), or in $BENCH_DIR (created; it must not exist
 * yet), removed at the end. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_ON 1
#endif
static volatile char sud_selector; /* 0: SYSCALL_DISPATCH_FILTER_ALLOW */

/* The file read by "read": 64 KiB, so that the reads stay in one page-cache
 * neighbourhood and an lseek back is needed only once per 1024 reads. */
#define READ_FILE_SIZE 65536

static char dir[4096], wpath[4200], rpath[4200], bigpath[4200];
static volatile long sink;

/* Blocks of straight-line code (BENCH_CODE_BLOCKS).  Each OP is a load,
 * an xor with a 64-bit constant of its own and a store: ~30 bytes of
 * machine code, so 40 make a block of about 1.2 KiB (bench/run reads the
 * sizes with nm: the blocks are not static).  The constants differ from
 * block to block, so no two blocks share code. */
static volatile uint64_t code_sink[64];
#define OP(s, i)                                                    \
	code_sink[((i) * 7 + (s)) & 63] ^=                          \
		x ^ ((uint64_t)((s) * 40 + (i) + 1) * 0x9e3779b97f4a7c15ull);
#define OP4(s, i) OP(s, i) OP(s, i + 1) OP(s, i + 2) OP(s, i + 3)
#define OP20(s, i) \
	OP4(s, i) OP4(s, i + 4) OP4(s, i + 8) OP4(s, i + 12) OP4(s, i + 16)
#define BLOCK(s)                                                     \
	__attribute__((noinline)) void code_block_##s(uint64_t x)   \
	{                                                            \
		OP20(s, 0) OP20(s, 20)                               \
	}
BLOCK(0) BLOCK(1) BLOCK(2) BLOCK(3) BLOCK(4) BLOCK(5) BLOCK(6) BLOCK(7)
BLOCK(8) BLOCK(9) BLOCK(10) BLOCK(11) BLOCK(12) BLOCK(13) BLOCK(14) BLOCK(15)
#define CODE_BLOCKS 16
static void (*const code_blocks[CODE_BLOCKS])(uint64_t) = {
	code_block_0, code_block_1, code_block_2, code_block_3,
	code_block_4, code_block_5, code_block_6, code_block_7,
	code_block_8, code_block_9, code_block_10, code_block_11,
	code_block_12, code_block_13, code_block_14, code_block_15,
};
static int code_blocks_run; /* BENCH_CODE_BLOCKS */

static inline void run_code(uint64_t x)
{
	for (int k = 0; k < code_blocks_run; k++)
		code_blocks[k](x);
}

/* A system call by the program's own instruction: no library sees it. */
static long raw3(long nr, long a, long b, long c)
{
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}

static long raw4(long nr, long a, long b, long c, long d)
{
	register long r10 __asm__("r10") = d;
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return r;
}

static int64_t mono_raw(void)
{
	struct timespec ts;

	raw3(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "bench_calls: %s %s: %s\n", what, path ? path : "",
		strerror(errno));
	exit(1);
}

/* The files go in a new directory under $TMPDIR, or in $BENCH_DIR when
 * set: a name that a replay can reproduce (mkdtemp's is drawn from the
 * stack's address and the clock, which a re-execution does not repeat). */
static void setup(void)
{
	const char *tmp = getenv("TMPDIR"), *fixed = getenv("BENCH_DIR");
	char buf[64];
	int fd;

	if (fixed && *fixed) {
		snprintf(dir, sizeof dir, "%s", fixed);
		if (mkdir(dir, 0700) < 0)
			die("mkdir", dir);
	} else {
		snprintf(dir, sizeof dir, "%s/retro-bench.XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir))
			die("mkdtemp", dir);
	}
	snprintf(wpath, sizeof wpath, "%s/w", dir);
	snprintf(rpath, sizeof rpath, "%s/r", dir);
	snprintf(bigpath, sizeof bigpath, "%s/big", dir);
	fd = open(rpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("create", rpath);
	memset(buf, 'r', sizeof buf);
	if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
		die("write", rpath);
	close(fd);
}

/* The file "read" reads: made only in that mode, so that the other modes
 * record the same actions as before. */
static void setup_big(void)
{
	char buf[4096];
	int fd;

	fd = open(bigpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("create", bigpath);
	memset(buf, 'b', sizeof buf);
	for (int i = 0; i < READ_FILE_SIZE / (int)sizeof buf; i++)
		if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
			die("write", bigpath);
	close(fd);
}

static void cleanup(void)
{
	unlink(wpath);
	unlink(bigpath);
	unlink(rpath);
	rmdir(dir);
}

static void do_pwrite(int fd, const char *buf, long n)
{
	for (long i = 0; i < n; i++)
		if (pwrite(fd, buf, 64, 0) != 64)
			die("pwrite", wpath);
}

/* Where a write lands is kept with it: the file's offset, which the shim
 * keeps itself for a file like this one (lib/recorder.c, off_usable). */
static void do_write(int fd, const char *buf, long n)
{
	for (long i = 0; i < n; i++) {
		if (write(fd, buf, 64) != 64)
			die("write", wpath);
		if (i % 1024 == 1023 && lseek(fd, 0, SEEK_SET) != 0)
			die("lseek", wpath);
	}
}

/* The same pwrite as a raw system call: what only the trap layer sees. */
static void do_rawpwrite(int fd, const char *buf, long n)
{
	for (long i = 0; i < n; i++)
		if (raw4(SYS_pwrite64, fd, (long)buf, 64, 0) != 64)
			die("pwrite64 system call", wpath);
}

/* stdio: glibc's own write, at the end of each fflush. */
static void do_fwrite(FILE *f, const char *buf, long n)
{
	for (long i = 0; i < n; i++) {
		if (fseek(f, 0, SEEK_SET) || fwrite(buf, 1, 64, f) != 64 ||
		    fflush(f))
			die("fwrite", wpath);
	}
}

/* Through syscall(2). */
static void do_syspwrite(int fd, const char *buf, long n)
{
	for (long i = 0; i < n; i++)
		if (syscall(SYS_pwrite64, fd, buf, 64, 0) != 64)
			die("syscall(pwrite64)", wpath);
}

static void do_openclose(long n)
{
	for (long i = 0; i < n; i++) {
		int fd = open(rpath, O_RDONLY);
		if (fd < 0)
			die("open", rpath);
		close(fd);
		run_code((uint64_t)i);
	}
}

static void do_code(long n)
{
	for (long i = 0; i < n; i++)
		run_code((uint64_t)i);
}

static void do_read(int fd, char *buf, long n)
{
	for (long i = 0; i < n; i++) {
		ssize_t k = read(fd, buf, 64);

		if (k == 0) {
			if (lseek(fd, 0, SEEK_SET) != 0)
				die("lseek", bigpath);
		} else if (k != 64) {
			die("read", bigpath);
		}
	}
}

static void do_nsleep0(long n)
{
	struct timespec ts = { 0, 0 };

	for (long i = 0; i < n; i++)
		if (nanosleep(&ts, NULL) != 0)
			die("nanosleep", NULL);
}

static void do_clock(long n)
{
	struct timespec ts;
	long acc = 0;

	for (long i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		acc += ts.tv_nsec;
	}
	sink = acc;
}

/* What a process costs: the parent's fork and wait, the child's start and
 * end (with exec, a new image: the loader, the libraries, their set-up).
 * Under the shim every child is recorded too. */
static void do_proc(int exec, long n)
{
	for (long i = 0; i < n; i++) {
		int st;
		pid_t pid = fork();

		if (pid < 0)
			die("fork", NULL);
		if (pid == 0) {
			if (exec)
				execl("/bin/true", "true", (char *)NULL);
			_exit(exec ? 127 : 0);
		}
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			die(exec ? "fork, exec /bin/true" : "fork, _exit", NULL);
	}
}

static void do_mix(int fd, const char *buf, long n)
{
	for (long i = 0; i < n; i++) {
		do_openclose(1);
		do_pwrite(fd, buf, 1);
	}
}

int main(int argc, char **argv)
{
	char buf[64];
	long n, warm;
	int64_t t0, t1;
	int fd = -1;
	const char *mode;

	if (argc != 3 || (n = atol(argv[2])) <= 0) {
		fprintf(stderr,
			"usage: bench_calls pwrite|write|rawpwrite|syspwrite|fwrite|read|openclose|clock|"
			"nsleep0|mix|fork|spawn|code N\n");
		return 2;
	}
	mode = argv[1];
	warm = n / 10 < 1000 ? 1000 : n / 10;
	if (getenv("BENCH_CODE_BLOCKS")) {
		code_blocks_run = atoi(getenv("BENCH_CODE_BLOCKS"));
		if (code_blocks_run < 0 || code_blocks_run > CODE_BLOCKS) {
			fprintf(stderr, "bench_calls: BENCH_CODE_BLOCKS must be "
					"0 to %d\n", CODE_BLOCKS);
			return 2;
		}
	}
	if (getenv("BENCH_CPU") && *getenv("BENCH_CPU")) {
		cpu_set_t cpus;
		CPU_ZERO(&cpus);
		CPU_SET(atoi(getenv("BENCH_CPU")), &cpus);
		if (sched_setaffinity(0, sizeof cpus, &cpus))
			die("sched_setaffinity (BENCH_CPU)", NULL);
	}
	if (getenv("BENCH_SUD") && atoi(getenv("BENCH_SUD")) &&
	    prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, 0UL, 0UL,
		  (unsigned long)&sud_selector))
		die("prctl(PR_SET_SYSCALL_USER_DISPATCH)", NULL);
	setup();
	memset(buf, 'w', sizeof buf);
	if (!strcmp(mode, "pwrite") || !strcmp(mode, "write") ||
	    !strcmp(mode, "rawpwrite") ||
	    !strcmp(mode, "syspwrite") || !strcmp(mode, "fwrite") ||
	    !strcmp(mode, "mix")) {
		fd = open(wpath, O_WRONLY | O_CREAT, 0644);
		if (fd < 0)
			die("open", wpath);
	}
	if (!strcmp(mode, "pwrite")) {
		do_pwrite(fd, buf, warm);
		t0 = mono_raw();
		do_pwrite(fd, buf, n);
		t1 = mono_raw();
	} else if (!strcmp(mode, "write")) {
		do_write(fd, buf, warm);
		t0 = mono_raw();
		do_write(fd, buf, n);
		t1 = mono_raw();
	} else if (!strcmp(mode, "rawpwrite")) {
		do_rawpwrite(fd, buf, warm);
		t0 = mono_raw();
		do_rawpwrite(fd, buf, n);
		t1 = mono_raw();
	} else if (!strcmp(mode, "fwrite")) {
		FILE *f = fdopen(fd, "w");
		if (!f)
			die("fdopen", wpath);
		do_fwrite(f, buf, warm);
		t0 = mono_raw();
		do_fwrite(f, buf, n);
		t1 = mono_raw();
	} else if (!strcmp(mode, "syspwrite")) {
		do_syspwrite(fd, buf, warm);
		t0 = mono_raw();
		do_syspwrite(fd, buf, n);
		t1 = mono_raw();
	} else if (!strcmp(mode, "read")) {
		setup_big();
		fd = open(bigpath, O_RDONLY);
		if (fd < 0)
			die("open", bigpath);
		do_read(fd, buf, warm);
		t0 = mono_raw();
		do_read(fd, buf, n);
		t1 = mono_raw();
	} else if (!strcmp(mode, "nsleep0")) {
		/* Else a 0 ns sleep waits out the default 50 us of slack. */
		prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
		do_nsleep0(warm);
		t0 = mono_raw();
		do_nsleep0(n);
		t1 = mono_raw();
	} else if (!strcmp(mode, "openclose")) {
		do_openclose(warm);
		t0 = mono_raw();
		do_openclose(n);
		t1 = mono_raw();
	} else if (!strcmp(mode, "code")) {
		do_code(warm);
		t0 = mono_raw();
		do_code(n);
		t1 = mono_raw();
	} else if (!strcmp(mode, "clock")) {
		do_clock(warm);
		t0 = mono_raw();
		do_clock(n);
		t1 = mono_raw();
	} else if (!strcmp(mode, "fork") || !strcmp(mode, "spawn")) {
		/* a few to warm up: a process is not a small call */
		int exec = !strcmp(mode, "spawn");
		do_proc(exec, 20);
		t0 = mono_raw();
		do_proc(exec, n);
		t1 = mono_raw();
	} else if (!strcmp(mode, "mix")) {
		/* No warm-up: every action counts towards the store size. */
		t0 = mono_raw();
		do_mix(fd, buf, n);
		t1 = mono_raw();
	} else {
		fprintf(stderr, "bench_calls: unknown mode %s\n", mode);
		cleanup();
		return 2;
	}
	if (fd >= 0)
		close(fd);
	cleanup();
	/* BENCH_QUIET: a replay checks what the program prints, and a
	 * timing differs from run to run */
	if (!getenv("BENCH_QUIET"))
		printf("%s %ld %.1f\n", mode, n, (double)(t1 - t0) / (double)n);
	return 0;
}
