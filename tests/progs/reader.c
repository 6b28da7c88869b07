/* The reader of semantics.md: waits a little, reads F once, and records what
 * it saw in OUT.   usage: reader F OUT DELAY_MS */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[256];
	ssize_t n = 0;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: reader F OUT DELAY_MS\n");
		return 2;
	}
	usleep((useconds_t)atoi(argv[3]) * 1000);
	fd = open(argv[1], O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, sizeof buf);
		close(fd);
	}
	if (n < 0)
		n = 0;
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		return 1;
	close(fd);
	return 0;
}
