/* The writer of semantics.md: writes what its input file holds into F,
 * sleeps, then writes "not safe".  The sleep is its only promise to the
 * reader.   usage: writer INPUT F SLEEP_MS */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void put(const char *path, const char *s, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, s, n) != (ssize_t)n) {
		perror(path);
		exit(1);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	char first[256];
	ssize_t n;
	int in;

	if (argc != 4) {
		fprintf(stderr, "usage: writer INPUT F SLEEP_MS\n");
		return 2;
	}
	in = open(argv[1], O_RDONLY);
	if (in < 0 || (n = read(in, first, sizeof first)) < 0) {
		perror(argv[1]);
		return 1;
	}
	close(in);
	put(argv[2], first, (size_t)n);
	usleep((useconds_t)atoi(argv[3]) * 1000);
	put(argv[2], "not safe", 8);
	printf("writer: done\n");
	return 0;
}
