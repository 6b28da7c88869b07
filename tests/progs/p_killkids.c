/* p_killkids N FILE: forks N children one after the other; each appends
 * to FILE in a loop (so that it records from its first moment, making its
 * spool segment) and is killed with SIGKILL by the parent 0 to 400 us after
 * the fork, at whatever point of its start it is.  The delays come from a
 * fixed seed.  Prints "killed N". */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned seed = 12345;
	int n, killed = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: p_killkids N FILE\n");
		return 2;
	}
	n = atoi(argv[1]);
	for (int i = 0; i < n; i++) {
		struct timespec d = { 0, 0 };
		int st;
		pid_t pid = fork();
		if (pid == 0) {
			for (;;) {
				int fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND,
					      0644);
				write(fd, "k", 1);
				close(fd);
			}
		}
		if (pid < 0)
			return 1;
		seed = seed * 1103515245 + 12345;
		d.tv_nsec = (long)((seed >> 16) % 400) * 1000;
		nanosleep(&d, NULL);
		kill(pid, SIGKILL);
		if (waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) &&
		    WTERMSIG(st) == SIGKILL)
			killed++;
	}
	printf("killed %d\n", killed);
	return 0;
}
