/* Execs a program with an empty environment (like env -i).
 * usage: p_exec PROG [ARGS...] */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *envp[] = { NULL };

	if (argc < 2)
		return 2;
	execve(argv[1], argv + 1, envp);
	perror("execve");
	return 127;
}
