/* fstat by descriptor as libc makes it: opens N files and for each calls
 * fstatat(fd, "", AT_EMPTY_PATH) and statx(fd, "", AT_EMPTY_PATH), then
 * the same on a pipe.  Prints each file's size as both saw it.
 * usage: p_fdstat DIR N */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[4096];
	struct stat st;
	struct statx sx;
	int n, p[2];

	if (argc != 3)
		return 2;
	n = atoi(argv[2]);
	for (int i = 0; i < n; i++) {
		int fd;
		snprintf(path, sizeof path, "%s/f%d", argv[1], i);
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			perror(path);
			return 1;
		}
		if (fstatat(fd, "", &st, AT_EMPTY_PATH) ||
		    statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx)) {
			perror("fstatat");
			return 1;
		}
		printf("f%d %lld %llu\n", i, (long long)st.st_size,
		       (unsigned long long)sx.stx_size);
		close(fd);
	}
	if (pipe(p) || fstatat(p[0], "", &st, AT_EMPTY_PATH) ||
	    !S_ISFIFO(st.st_mode))
		return 1;
	printf("pipe ok\n");
	return 0;
}
