/* system() and popen() start their shell through glibc's internal
 * posix_spawn: a clone(CLONE_VM | CLONE_VFORK) onto a stack of its own,
 * which the trap layer must start correctly; a spawn of a missing program
 * must still report its error.  usage: p_system FILE */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

int main(int argc, char **argv)
{
	char cmd[4200], line[64] = "";
	char *av[] = { "/nonexistent/prog", NULL };
	FILE *p;
	pid_t pid;
	int s, e;

	snprintf(cmd, sizeof cmd, "echo from-system > %s", argv[1]);
	s = system(cmd);
	p = popen("echo from-popen", "r");
	if (!p || !fgets(line, sizeof line, p))
		return 1;
	line[strcspn(line, "\n")] = 0;
	e = posix_spawn(&pid, av[0], NULL, NULL, av, environ);
	printf("system %d popen %s pclose %d spawn-missing %s\n", s, line,
	       pclose(p), e == ENOENT ? "ENOENT" : strerror(e));
	return 0;
}
