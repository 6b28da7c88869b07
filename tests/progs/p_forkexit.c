/* p_forkexit: prints a line into stdio's buffer, forks, and the child
 * leaves with _exit (or _Exit with an argument), which does not flush its
 * copy of the buffer; the parent exits normally.  The line appears once. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	pid_t pid;

	printf("buffered once\n");
	pid = fork();
	if (pid == 0) {
		if (argc > 1)
			_Exit(0);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	return 0;
}
