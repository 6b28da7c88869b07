/* How old a lock file is, as a program that breaks stale locks sees it:
 * p_lockage LOCK MS OWN sleeps MS ms, then compares LOCK's mtime with the
 * clock; it also writes OWN, sleeps 300 ms and reports OWN's age.  Ages
 * are printed in tenths of a second. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double age(const char *path)
{
	struct stat st;
	struct timespec now;

	if (stat(path, &st) < 0) {
		perror(path);
		exit(1);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	return (now.tv_sec - st.st_mtim.tv_sec) +
	       (now.tv_nsec - st.st_mtim.tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	long ms;
	double a;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: p_lockage LOCK MS OWN\n");
		return 2;
	}
	ms = atol(argv[2]);
	usleep((useconds_t)ms * 1000);
	a = age(argv[1]);
	printf("lock age %.1f: %s\n", a, a > 0.5 ? "stale" : "fresh");
	fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "mine\n", 5) != 5) {
		perror(argv[3]);
		return 1;
	}
	close(fd);
	usleep(300000);
	printf("own age %.1f\n", age(argv[3]));
	return 0;
}
