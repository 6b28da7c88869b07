/* p_tempnames DIR [N]: makes temporary names in DIR the C library's ways,
 * relative and absolute, and prints them: mkdtemp, mkstemp, mkstemps (with
 * a suffix) and mkostemp; then N more with mkstemp (glibc calls getrandom
 * for one now and then: when its first, clock-drawn value is unfair).  glibc draws their random parts from the stack's
 * address and a clock read inside libc, so every run prints other names;
 * a consistent replay must print the recorded ones. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void made(const char *how, const char *name, int fd)
{
	if (fd < 0) {
		perror(how);
		exit(1);
	}
	if (fd > 0) {
		if (write(fd, how, strlen(how)) < 0)
			perror(name);
		close(fd);
	}
	printf("%s %s\n", how, name);
}

int main(int argc, char **argv)
{
	char d[] = "d.XXXXXX", s[] = "s.XXXXXX.txt", o[] = "o.XXXXXX";
	char a[4096];

	if (argc < 2 || argc > 3 || chdir(argv[1]) < 0) {
		fprintf(stderr, "usage: p_tempnames DIR [N]\n");
		return 2;
	}
	made("mkdtemp", mkdtemp(d) ? d : "(failed)", 0);
	snprintf(a, sizeof a, "%s/f.XXXXXX", argv[1]);
	made("mkstemp", a, mkstemp(a));
	made("mkstemps", s, mkstemps(s, 4));
	made("mkostemp", o, mkostemp(o, O_CLOEXEC));
	for (int i = 0, n = argc > 2 ? atoi(argv[2]) : 0; i < n; i++) {
		char m[] = "m.XXXXXX";
		made("mkstemp", m, mkstemp(m));
	}
	return 0;
}
