/* Bytes that move without passing through the program's buffers:
 * copy_file_range (with and without offsets), sendfile, splice through a
 * pipe, a writable shared mapping (msync, munmap, and one left mapped at
 * exit), fallocate and futimens.  usage: p_copies DIR */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

static int must(int ok, const char *what)
{
	if (!ok) {
		perror(what);
		_exit(1);
	}
	return 1;
}

static int mk(const char *dir, const char *name, int flags)
{
	char p[4096];

	snprintf(p, sizeof p, "%s/%s", dir, name);
	return open(p, flags, 0644);
}

int main(int argc, char **argv)
{
	const char *d = argv[1];
	int src, a, b, c, m, m2, f, pfd[2];
	loff_t in = 6, out = 2;
	char *p, *q;

	src = mk(d, "src", O_RDWR | O_CREAT | O_TRUNC);
	must(write(src, "0123456789abcdef", 16) == 16, "write src");

	a = mk(d, "a", O_RDWR | O_CREAT | O_TRUNC);
	must(lseek(src, 0, SEEK_SET) == 0, "lseek");
	must(copy_file_range(src, NULL, a, NULL, 16, 0) == 16, "cfr");
	must(copy_file_range(src, &in, a, &out, 4, 0) == 4, "cfr offsets");

	b = mk(d, "b", O_RDWR | O_CREAT | O_TRUNC);
	must(write(b, "[", 1) == 1, "write b");
	in = 10;
	must(sendfile(b, src, &in, 6) == 6, "sendfile");

	c = mk(d, "c", O_RDWR | O_CREAT | O_TRUNC);
	must(pipe(pfd) == 0, "pipe");
	must(write(pfd[1], "through a pipe", 14) == 14, "write pipe");
	must(splice(pfd[0], NULL, c, NULL, 14, 0) == 14, "splice");

	m = mk(d, "m", O_RDWR | O_CREAT | O_TRUNC);
	must(ftruncate(m, 8) == 0, "ftruncate");
	p = mmap(NULL, 8, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	must(p != MAP_FAILED, "mmap");
	memcpy(p, "mapped-1", 8);
	must(msync(p, 8, MS_SYNC) == 0, "msync");
	memcpy(p, "mapped-2", 8);
	must(munmap(p, 8) == 0, "munmap");

	m2 = mk(d, "m2", O_RDWR | O_CREAT | O_TRUNC);
	must(ftruncate(m2, 6) == 0, "ftruncate m2");
	q = mmap(NULL, 6, PROT_READ | PROT_WRITE, MAP_SHARED, m2, 0);
	must(q != MAP_FAILED, "mmap m2");
	memcpy(q, "atexit", 6); /* never unmapped: lands at exit */

	f = mk(d, "f", O_RDWR | O_CREAT | O_TRUNC);
	must(write(f, "x", 1) == 1, "write f");
	must(fallocate(f, 0, 0, 4) == 0, "fallocate");
	must(futimens(f, NULL) == 0, "futimens");
	puts("p_copies done");
	return 0;
}
