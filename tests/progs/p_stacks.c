/* p_stacks FILE ROUNDS [fork]: ROUNDS times, writes one line to FILE from each of
 * twelve functions w0..w11, each called at a recursion depth of 0 to 2
 * and from one of two callers, a and b, whose frames are alike: the same
 * return address at the same stack depth can belong to two call chains.
 * The line says who wrote it ("w3 a"), so that the call site recorded for
 * each write can be checked against it (record-stacks.sh).  The recorder
 * caches the stacks it unwinds, keyed by return address and stack pointer,
 * and checks a hit against the stack.  With "fork", each round is a child
 * of its own, made after the last one ended: the writes are sites the
 * parent never reaches, met by every child at the same stack pointer
 * under either caller, which is what the cache the children share
 * (lib/recorder.c, ssc_get) must tell apart. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define W(n)                                                              \
	static __attribute__((noinline)) void w##n(int fd, int depth,       \
						   const char *by)          \
	{                                                                   \
		char b[16];                                                 \
		int k;                                                      \
		if (depth > 0) {                                            \
			w##n(fd, depth - 1, by);                            \
			__asm__ volatile("" ::: "memory"); /* no tail call */ \
			return;                                             \
		}                                                           \
		k = snprintf(b, sizeof b, "w%d %s\n", n, by);               \
		if (write(fd, b, (size_t)k) != k)                           \
			exit(1);                                            \
	}
W(0) W(1) W(2) W(3) W(4) W(5) W(6) W(7) W(8) W(9) W(10) W(11)

static void (*const ws[12])(int, int, const char *) = {
	w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11
};

static __attribute__((noinline)) void a(int fd, int n, int depth)
{
	ws[n](fd, depth, "a");
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void b(int fd, int n, int depth)
{
	ws[n](fd, depth, "b");
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	int fd, rounds, forks;

	if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "fork"))) {
		fprintf(stderr, "usage: p_stacks FILE ROUNDS [fork]\n");
		return 2;
	}
	rounds = atoi(argv[2]);
	forks = argc == 4;
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 1;
	for (int r = 0; r < rounds; r++) {
		pid_t pid = forks ? fork() : 0;
		int st;
		if (pid < 0)
			return 1;
		if (pid > 0) {
			if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
			    WEXITSTATUS(st) != 0)
				return 1;
			continue;
		}
		for (int n = 0; n < 12; n++)
			((r + n) % 2 ? a : b)(fd, n, (r * 7 + n) % 3);
		if (forks)
			_exit(0);
	}
	close(fd);
	return 0;
}
