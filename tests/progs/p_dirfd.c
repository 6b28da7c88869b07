/* Calls relative to directory descriptors, from call sites at many stack
 * depths.  usage: p_dirfd DIR N
 *   - DIR/a/f0..f<N-1>: created with openat(fd of DIR/a), each from a
 *     different depth of recursion (so from a new stack each time);
 *   - DIR/a is renamed to DIR/c, and DIR/c/g made through the same fd;
 *   - that fd is closed, DIR/b opened (on the same number, the lowest
 *     free), and DIR/b/h made through it.
 * Prints the two descriptor numbers. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void make(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, name, strlen(name)) < 0 || close(fd) < 0)
		die(name);
}

/* noinline and a frame of its own at each level: the stack differs */
static __attribute__((noinline)) void deep(int dfd, const char *name, int d)
{
	volatile char pad[64];

	pad[0] = (char)d;
	if (d > 0)
		deep(dfd, name, d - 1);
	else
		make(dfd, name);
	__asm__ volatile("" ::"r"(pad) : "memory");
}

int main(int argc, char **argv)
{
	char p[4096], q[4096], name[32];
	int n, a, b;

	if (argc != 3)
		return 2;
	n = atoi(argv[2]);
	snprintf(p, sizeof p, "%s/a", argv[1]);
	if (mkdir(p, 0755) < 0)
		die(p);
	snprintf(q, sizeof q, "%s/b", argv[1]);
	if (mkdir(q, 0755) < 0)
		die(q);
	a = open(p, O_RDONLY | O_DIRECTORY);
	if (a < 0)
		die(p);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "f%d", i);
		deep(a, name, i % 40);
	}
	snprintf(q, sizeof q, "%s/c", argv[1]);
	if (rename(p, q) < 0)
		die("rename");
	make(a, "g");
	close(a);
	snprintf(q, sizeof q, "%s/b", argv[1]);
	b = open(q, O_RDONLY | O_DIRECTORY);
	if (b < 0)
		die(q);
	make(b, "h");
	printf("%d %d\n", a, b);
	return 0;
}
