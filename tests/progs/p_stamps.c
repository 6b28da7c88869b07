/* p_stamps: brackets each of its pwrites between two CLOCK_MONOTONIC
 * readings of its own and prints them, so that a test can check that the
 * times the recording gives the calls lie between them.  Two processes
 * (a fork) and pauses of 3 ms every tenth call, so that the recorder's
 * clock is read across processes, after pauses and in quick succession. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N 300

static long long mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long t0[N], t1[N];

static void run(const char *path, char tag)
{
	struct timespec pause = { 0, 3000000 };
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0) {
		perror(path);
		exit(1);
	}
	for (int i = 0; i < N; i++) {
		if (i % 10 == 0)
			nanosleep(&pause, NULL);
		t0[i] = mono();
		if (pwrite(fd, &tag, 1, i) != 1) {
			perror("pwrite");
			exit(1);
		}
		t1[i] = mono();
	}
	close(fd);
}

/* The brackets, once the other process has printed its own: two
 * processes' buffered lines would interleave mid-line in the file. */
static void report(const char *path)
{
	for (int i = 0; i < N; i++)
		printf("%s %d %lld %lld\n", path, i, t0[i], t1[i]);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	pid_t pid;
	int st;

	if (argc != 3) {
		fprintf(stderr, "usage: p_stamps FILE1 FILE2\n");
		return 2;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		run(argv[2], 'c');
		report(argv[2]);
		_exit(0);
	}
	run(argv[1], 'p');
	waitpid(pid, &st, 0);
	report(argv[1]);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
