/* A bounded fork bomb: every process forks FANOUT children that do the
 * same, down to DEPTH levels, and goes on when fork fails with EAGAIN (a
 * process limit); each process waits for its children, appends one line
 * "F OK EAGAIN" (its forks that worked and failed) to FILE and exits.
 * usage: p_forkbomb FILE DEPTH FANOUT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *file;
static int fanout;

/* one line per process: "F OK EAGAIN": its own forks */
static void note(int ok, int again)
{
	char b[64];
	int n = snprintf(b, sizeof b, "F %d %d\n", ok, again);
	int fd = open(file, O_WRONLY | O_APPEND | O_CREAT, 0644);

	if (fd >= 0) {
		if (write(fd, b, (size_t)n) != n)
			_exit(3);
		close(fd);
	}
}

static void bomb(int depth)
{
	int ok = 0, again = 0, st;

	for (int i = 0; depth > 0 && i < fanout; i++) {
		pid_t p = fork();
		if (p == 0) {
			bomb(depth - 1);
			_exit(0);
		}
		if (p > 0)
			ok++;
		else if (errno == EAGAIN)
			again++;
		else
			_exit(4);
	}
	while (wait(&st) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			_exit(5);
	note(ok, again);
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	file = argv[1];
	fanout = atoi(argv[3]);
	bomb(atoi(argv[2]));
	printf("bomb done\n");
	return 0;
}
