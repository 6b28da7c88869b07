/* p_fdlist FILE: prints every descriptor it has open, probing each number
 * below its RLIMIT_NOFILE soft limit as a program that closes or lists
 * its descriptors does (CPython's fd_status.py), then the same from a
 * forked child.  Before that it opens, writes and closes FILE from a few
 * call sites, so that the recorder has unwound stacks.  Recording must not
 * add a descriptor to either list. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void list(const char *who)
{
	struct rlimit rl;
	struct stat sb;

	getrlimit(RLIMIT_NOFILE, &rl);
	printf("%s:", who);
	for (rlim_t fd = 0; fd < rl.rlim_cur && fd < (1 << 20); fd++)
		if (fstat((int)fd, &sb) == 0)
			printf(" %d", (int)fd);
	printf("\n");
	fflush(stdout);
}

static void touch(const char *path, const char *what)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);

	if (fd >= 0) {
		write(fd, what, 1);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	pid_t pid;
	int st;

	if (argc != 2) {
		fprintf(stderr, "usage: p_fdlist FILE\n");
		return 2;
	}
	touch(argv[1], "a");
	touch(argv[1], "b");
	list("parent");
	pid = fork();
	if (pid == 0) {
		touch(argv[1], "c");
		list("child");
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || st != 0)
		return 1;
	return 0;
}
