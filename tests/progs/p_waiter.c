/* p_waiter PID: waits for PID, a child its shell started before exec'ing
 * it (`sh -c '(sleep 1; exit 7) & exec p_waiter $!'`), and prints what
 * the wait returned and how long it took, in tenths of a second. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	pid_t pid, r;
	double t0 = now();
	int st = 0;

	if (argc != 2 || (pid = (pid_t)atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: p_waiter PID\n");
		return 2;
	}
	r = waitpid(pid, &st, 0);
	printf("waitpid: %s, %s %d, after %.1f s\n",
	       r == pid ? "that child" : r < 0 ? "error" : "another",
	       WIFEXITED(st) ? "exited" : "status", WIFEXITED(st) ? WEXITSTATUS(st) : st,
	       now() - t0);
	return 0;
}
