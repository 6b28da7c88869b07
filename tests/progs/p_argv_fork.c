/* p_argv_fork WORD [title]: rewrites WORD in place in its own arguments
 * (as a program that sets its process title does), then forks a child
 * that exits at once.  With "title" as well, it also writes over the 0
 * that ends its last argument, as setproctitle() does when a title runs
 * on into the environment's strings: /proc then answers differently, and
 * the child writes what /proc/self/cmdline gives it to stdout.
 * record-argv.sh checks that the child's recorded arguments are the
 * rewritten ones, as /proc showed them. */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	pid_t pid;
	int st, title = argc == 3 && strcmp(argv[2], "title") == 0;

	if (argc != 2 && !title) {
		fprintf(stderr, "usage: p_argv_fork WORD [title]\n");
		return 2;
	}
	for (char *p = argv[1]; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	if (title)
		argv[2][strlen(argv[2])] = '-';
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("p_argv_fork: fork");
		return 1;
	}
	if (pid == 0) {
		char buf[8192];
		ssize_t n = 0;
		int fd;
		if (title) {
			fd = open("/proc/self/cmdline", O_RDONLY);
			if (fd < 0 || (n = read(fd, buf, sizeof buf)) < 0 ||
			    write(1, buf, (size_t)n) != n)
				_exit(1);
		}
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		fprintf(stderr, "p_argv_fork: child failed\n");
		return 1;
	}
	return 0;
}
