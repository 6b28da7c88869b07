/* p_creates: makes N files in DIR (O_CREAT | O_TRUNC), fstats every
 * other one right after its open (as CPython's open does), writes "made"
 * into each and closes it; then opens each again with O_TRUNC and writes
 * "again".  A recorder that keeps the bytes of a pre-existing file before
 * O_TRUNC empties it must keep none of these: this process made them.
 * Prints how many of its fstats said a regular file. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int put(const char *path, int flags, const char *s, int stat_it,
	       int *regular)
{
	struct stat st;
	int fd = open(path, flags, 0644);

	if (fd < 0) {
		perror(path);
		return -1;
	}
	if (stat_it) {
		if (fstat(fd, &st) < 0) {
			perror("fstat");
			return -1;
		}
		*regular += S_ISREG(st.st_mode);
	}
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s) || close(fd) < 0) {
		perror(path);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096];
	int n, regular = 0;

	if (argc != 3 || (n = atoi(argv[2])) < 0) {
		fprintf(stderr, "usage: p_creates DIR N\n");
		return 2;
	}
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/f%d", argv[1], i);
		if (put(path, O_WRONLY | O_CREAT | O_TRUNC, "made\n", i % 2 == 0,
			&regular))
			return 1;
	}
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/f%d", argv[1], i);
		if (put(path, O_WRONLY | O_TRUNC, "again\n", 0, &regular))
			return 1;
	}
	printf("%d regular\n", regular);
	return 0;
}
