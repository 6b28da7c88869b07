/* p_readin: reads standard input until its end, 64 bytes at most a read,
 * and prints each read's bytes and how long the whole took (tenths of a
 * second), so that a replay that does not get the recorded input shows. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	char buf[64];
	double t0 = now();
	ssize_t n;
	int reads = 0;

	while ((n = read(0, buf, sizeof buf)) > 0) {
		printf("read %d: %.*s", ++reads, (int)n, buf);
		if (buf[n - 1] != '\n')
			printf("\n");
	}
	printf("%s after %d reads, %.1f s\n", n == 0 ? "end" : "error", reads,
	       now() - t0);
	return 0;
}
