/* p_argv_fork WORD: rewrites WORD in place in its own arguments (as a
 * program that sets its process title does), then forks a child that
 * exits at once.  record-argv.sh checks that the child's recorded
 * arguments are the rewritten ones, as /proc showed them. */
#include <ctype.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	pid_t pid;
	int st;

	if (argc != 2) {
		fprintf(stderr, "usage: p_argv_fork WORD\n");
		return 2;
	}
	for (char *p = argv[1]; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	pid = fork();
	if (pid < 0) {
		perror("p_argv_fork: fork");
		return 1;
	}
	if (pid == 0)
		_exit(0);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		fprintf(stderr, "p_argv_fork: child failed\n");
		return 1;
	}
	return 0;
}
