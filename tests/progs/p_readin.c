/* p_readin: reads standard input until its end, 64 bytes at most a read,
 * and prints each read's bytes and how long the whole took (tenths of a
 * second), so that a replay that does not get the recorded input shows.
 * With the argument readv, it reads with readv(2) into two buffers of 3
 * and 61 bytes.  usage: p_readin [readv] */
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char buf[64];
	struct iovec iov[2] = { { buf, 3 }, { buf + 3, sizeof buf - 3 } };
	int vec = argc > 1 && strcmp(argv[1], "readv") == 0;
	double t0 = now();
	ssize_t n;
	int reads = 0;

	while ((n = vec ? readv(0, iov, 2) : read(0, buf, sizeof buf)) > 0) {
		printf("read %d: %.*s", ++reads, (int)n, buf);
		if (buf[n - 1] != '\n')
			printf("\n");
	}
	printf("%s after %d reads, %.1f s\n", n == 0 ? "end" : "error", reads,
	       now() - t0);
	return 0;
}
