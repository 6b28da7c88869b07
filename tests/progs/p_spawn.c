/* posix_spawn a child and wait for it: the child must be recorded and
 * linked to its parent.  usage: p_spawn PROG [ARGS...] */
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv)
{
	pid_t pid;
	int st;

	if (argc < 2 || posix_spawn(&pid, argv[1], NULL, NULL, argv + 1, environ))
		return 2;
	if (waitpid(pid, &st, 0) != pid)
		return 3;
	printf("child %s\n", WIFEXITED(st) && !WEXITSTATUS(st) ? "ok" : "failed");
	return 0;
}
