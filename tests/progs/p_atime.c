/* p_atime FILE: writes FILE, sleeps 1 s and reads it, sleeps 1 s and reads
 * it again, and after each read prints how far its access time is from
 * its modification time and from the clock (tenths of a second).  Under
 * relatime the first read moves the access time to the clock and the
 * second does not, so a replay that keeps file times on its virtual clock
 * prints what was recorded. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double secs(struct timespec ts)
{
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int look(const char *path, int n)
{
	struct timespec now;
	struct stat st;
	char c;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || read(fd, &c, 1) != 1 || fstat(fd, &st) < 0) {
		perror(path);
		return 1;
	}
	close(fd);
	clock_gettime(CLOCK_REALTIME, &now);
	printf("read %d: atime-mtime %.1f now-atime %.1f\n", n,
	       secs(st.st_atim) - secs(st.st_mtim), secs(now) - secs(st.st_atim));
	return 0;
}

int main(int argc, char **argv)
{
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: p_atime FILE\n");
		return 2;
	}
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "x", 1) != 1) {
		perror(argv[1]);
		return 1;
	}
	close(fd);
	sleep(1);
	if (look(argv[1], 1))
		return 1;
	sleep(1);
	return look(argv[1], 2);
}
