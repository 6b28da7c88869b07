/* p_bigcopy FILE RANDOM allow|deny: bytes the recorder keeps, in copies
 * above and below the size from which the kernel makes them
 * (lib/recorder.c, data_copyv).  FILE exists; it is opened with O_TRUNC
 * (its pre-image is kept), then written with write, pwrite and writev;
 * 3,000 bytes go through a pipe and come back; 4,096 bytes of
 * /dev/urandom are read and written to RANDOM.  With "deny" a seccomp
 * filter first refuses process_vm_writev, as a sandbox may, and the
 * recorder must copy the same bytes itself.
 *
 * The byte at offset i of pattern k is (i * (2k + 1) + k) & 0xff: the
 * scenario test rebuilds each buffer from k and its size. */
#define _GNU_SOURCE
#include "deny.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static char *pattern(int k, size_t n)
{
	char *b = malloc(n);

	for (size_t i = 0; b && i < n; i++)
		b[i] = (char)((i * (size_t)(2 * k + 1) + (size_t)k) & 0xff);
	return b;
}

static void must(int ok, const char *what)
{
	if (!ok) {
		perror(what);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	char *a = pattern(1, 10000), *b = pattern(2, 5000), *c = pattern(3, 1000),
	     *d = pattern(4, 2000), *e = pattern(5, 1500), *f = pattern(6, 100),
	     *g = pattern(7, 2048), *h = pattern(8, 3000);
	char back[3000], rnd[4096];
	struct iovec iov[3] = { { c, 1000 }, { d, 2000 }, { e, 1500 } };
	int fd, p[2];

	if (argc != 4 || (strcmp(argv[3], "allow") && strcmp(argv[3], "deny"))) {
		fprintf(stderr, "usage: p_bigcopy FILE RANDOM allow|deny\n");
		return 2;
	}
	must(a && b && c && d && e && f && g && h, "malloc");
	if (!strcmp(argv[3], "deny"))
		must(deny_syscall(SYS_process_vm_writev) == 0, "seccomp");
	fd = open(argv[1], O_WRONLY | O_TRUNC);
	must(fd >= 0, argv[1]);
	must(write(fd, a, 10000) == 10000, "write");
	must(pwrite(fd, b, 5000, 3000) == 5000, "pwrite");
	must(writev(fd, iov, 3) == 4500, "writev");
	must(write(fd, f, 100) == 100, "write 100");
	must(write(fd, g, 2048) == 2048, "write 2048");
	must(close(fd) == 0, "close");

	must(pipe(p) == 0, "pipe");
	must(write(p[1], h, 3000) == 3000, "pipe write");
	must(read(p[0], back, sizeof back) == 3000, "pipe read");
	must(memcmp(back, h, 3000) == 0, "pipe bytes");
	close(p[0]);
	close(p[1]);

	fd = open("/dev/urandom", O_RDONLY);
	must(fd >= 0 && read(fd, rnd, sizeof rnd) == (ssize_t)sizeof rnd,
	     "/dev/urandom");
	close(fd);
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	must(fd >= 0 && write(fd, rnd, sizeof rnd) == (ssize_t)sizeof rnd,
	     argv[2]);
	close(fd);
	printf("p_bigcopy done\n");
	return 0;
}
