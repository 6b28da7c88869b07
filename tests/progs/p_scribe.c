/* p_scribe peer FILE N: N bursts of 300 writes of 16 bytes into FILE, at
 * offsets spread over 8 KiB and, every 10th, 8 KiB further on each time,
 * with 50 ms of busy waiting after each burst (no call the recording
 * would have between two bursts).
 * p_scribe fill FILE N: N writes of 16 bytes over FILE's first 4 KiB, as
 * fast as it can (many actions for little time).
 * p_scribe watch FILE K: sleeps 25 ms, then K times reads FILE whole,
 * prints its size and a checksum of its bytes, and sleeps 50 ms: between
 * the peer's bursts.
 * Recorded side by side, and the watcher re-executed: the watcher sees the
 * same file at each look only if the replay applies the peer's writes by
 * its own moment on V, whatever it holds back in between. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void nap(long ms)
{
	struct timespec ts = { 0, ms * 1000000 };

	nanosleep(&ts, NULL);
}

/* The peer waits without a recorded call: between its bursts the replay
 * has only its writes to apply, which it may hold back. */
static void spin(long ms)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 <
	       ms);
}

int main(int argc, char **argv)
{
	static char buf[4 << 20];
	char rec[24];
	int fd;
	long n;

	if (argc != 4 || (strcmp(argv[1], "peer") && strcmp(argv[1], "watch") &&
			  strcmp(argv[1], "fill"))) {
		fprintf(stderr, "usage: p_scribe peer|fill|watch FILE N\n");
		return 2;
	}
	n = atol(argv[3]);
	if (!strcmp(argv[1], "fill")) {
		fd = open(argv[2], O_WRONLY | O_CREAT, 0644);
		for (long i = 0; fd >= 0 && i < n; i++)
			if (pwrite(fd, "0123456789abcdef", 16, (i * 16) % 4096) != 16)
				fd = -1;
		if (fd < 0) {
			perror(argv[2]);
			return 1;
		}
		close(fd);
		return 0;
	}
	if (!strcmp(argv[1], "peer")) {
		fd = open(argv[2], O_WRONLY | O_CREAT, 0644);
		if (fd < 0) {
			perror(argv[2]);
			return 1;
		}
		for (long i = 0; i < n * 300; i++) {
			off_t off = i % 10 == 9 ? 8192 + (i / 10) * 8192
						: (i * 37) % 8192;
			snprintf(rec, sizeof rec, "%015ld\n", i % 1000000);
			if (pwrite(fd, rec, 16, off) != 16) {
				perror("pwrite");
				return 1;
			}
			if (i % 300 == 299)
				spin(50);
		}
		close(fd);
		return 0;
	}
	nap(25);
	for (long k = 0; k < n; k++) {
		unsigned long h = 1469598103934665603UL;
		ssize_t got, total = 0;

		fd = open(argv[2], O_RDONLY);
		while (fd >= 0 && (got = read(fd, buf, sizeof buf)) > 0) {
			for (ssize_t i = 0; i < got; i++)
				h = (h ^ (unsigned char)buf[i]) * 1099511628211UL;
			total += got;
		}
		if (fd >= 0)
			close(fd);
		printf("look %ld: %zd bytes, sum %016lx\n", k, total, h);
		nap(50);
	}
	return 0;
}
