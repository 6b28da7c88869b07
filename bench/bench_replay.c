/* bench_replay: the programs bench/replay.sh records and then replays with
 * `retro-replay run`.
 *
 *     bench_replay sleeps FILE N MS   N times: nanosleep MS ms, then write
 *                                     one line to FILE (sleep-dominated)
 *     bench_replay pwrite FILE N      N pwrite(2) of 8 bytes at offset 0:
 *                                     each one a driver round trip when
 *                                     shepherded
 *     bench_replay nsleep0 N          N nanosleep(2) of 0 ns: the same,
 *                                     without a file (timer slack set to
 *                                     1 ns, so that natively it costs the
 *                                     system call, not the default 50 us
 *                                     of slack)
 *     bench_replay peer FILE M        M pwrite(2) of 8 bytes, offsets
 *                                     cycling over 4 KiB (the peer whose
 *                                     actions a replay merges)
 *     bench_replay tiny FILE          writes one line to FILE (the process
 *                                     shepherded next to the peer)
 *     bench_replay pingpong N         not recorded: N round trips of a
 *                                     200-byte message and a 32-byte answer
 *                                     over a SOCK_SEQPACKET socket pair
 *                                     between two processes, the answering
 *                                     one polling first as the driver does;
 *                                     prints ns per round trip (the floor
 *                                     under a driver round trip)
 *
 * The recorded modes print nothing: what they write to standard output
 * would be checked against the recording, and a timing differs from run to
 * run.  The script times them from outside.  It links nothing of retro's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what, const char *path)
{
	fprintf(stderr, "bench_replay: %s %s: %s\n", what, path ? path : "",
		strerror(errno));
	exit(1);
}

static int openw(const char *path, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | flags, 0644);

	if (fd < 0)
		die("open", path);
	return fd;
}

static long num(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (*s == 0 || *end != 0 || n < 0) {
		fprintf(stderr, "bench_replay: not a count: %s\n", s);
		exit(2);
	}
	return n;
}

static int64_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int pingpong(long n)
{
	char msg[200], ans[32], buf[512];
	int sv[2], st;
	int64_t t0, t1;
	pid_t pid;

	memset(msg, 'm', sizeof msg);
	memset(ans, 'a', sizeof ans);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair", NULL);
	pid = fork();
	if (pid < 0)
		die("fork", NULL);
	if (pid == 0) {
		close(sv[0]);
		for (;;) {
			struct pollfd p = { sv[1], POLLIN, 0 };
			if (poll(&p, 1, 20) < 0)
				_exit(1);
			if (!(p.revents & (POLLIN | POLLHUP)))
				continue;
			if (read(sv[1], buf, sizeof buf) <= 0)
				_exit(0);
			if (write(sv[1], ans, sizeof ans) != (ssize_t)sizeof ans)
				_exit(1);
		}
	}
	close(sv[1]);
	t0 = mono();
	for (long i = 0; i < n; i++)
		if (write(sv[0], msg, sizeof msg) != (ssize_t)sizeof msg ||
		    read(sv[0], buf, sizeof buf) != (ssize_t)sizeof ans)
			die("round trip", NULL);
	t1 = mono();
	close(sv[0]);
	waitpid(pid, &st, 0);
	printf("%.1f\n", (double)(t1 - t0) / (double)(n ? n : 1));
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_replay sleeps FILE N MS | pwrite FILE N | "
			"nsleep0 N | peer FILE M | tiny FILE | pingpong N\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char line[64];
	int fd;

	if (argc < 3)
		usage();
	if (!strcmp(argv[1], "pingpong") && argc == 3)
		return pingpong(num(argv[2]));
	if (!strcmp(argv[1], "sleeps") && argc == 5) {
		long n = num(argv[3]), ms = num(argv[4]);
		struct timespec d = { ms / 1000, (ms % 1000) * 1000000 };
		fd = openw(argv[2], O_APPEND);
		for (long i = 0; i < n; i++) {
			int k;
			if (nanosleep(&d, NULL) < 0)
				die("nanosleep", NULL);
			k = snprintf(line, sizeof line, "tick %ld\n", i);
			if (write(fd, line, (size_t)k) != k)
				die("write", argv[2]);
		}
	} else if (!strcmp(argv[1], "pwrite") && argc == 4) {
		long n = num(argv[3]);
		fd = openw(argv[2], 0);
		for (long i = 0; i < n; i++)
			if (pwrite(fd, "rt-bench", 8, 0) != 8)
				die("pwrite", argv[2]);
	} else if (!strcmp(argv[1], "nsleep0") && argc == 3) {
		long n = num(argv[2]);
		struct timespec z = { 0, 0 };
		prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
		for (long i = 0; i < n; i++)
			if (nanosleep(&z, NULL) < 0)
				die("nanosleep", NULL);
		return 0;
	} else if (!strcmp(argv[1], "peer") && argc == 4) {
		long m = num(argv[3]);
		fd = openw(argv[2], 0);
		for (long i = 0; i < m; i++)
			if (pwrite(fd, "peer-act", 8, (i & 511) * 8) != 8)
				die("pwrite", argv[2]);
	} else if (!strcmp(argv[1], "tiny") && argc == 3) {
		fd = openw(argv[2], 0);
		if (write(fd, "tiny\n", 5) != 5)
			die("write", argv[2]);
	} else {
		usage();
	}
	if (close(fd) < 0)
		die("close", argv[2]);
	return 0;
}
