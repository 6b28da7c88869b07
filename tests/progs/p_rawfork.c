/* A child made by a raw clone(SIGCHLD) system call, not by libc's fork:
 * no atfork handler runs in it, only the trap layer sees it.  The child
 * writes "child" to A (through libc) and a line to stdout (by a raw
 * write); the parent waits, then writes "parent" to B.
 * usage: p_rawfork A B */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int put(const char *path, const char *s, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, s, n) != (ssize_t)n)
		return -1;
	return close(fd);
}

int main(int argc, char **argv)
{
	long pid;

	if (argc != 3)
		return 2;
	pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid < 0)
		return 1;
	if (pid == 0) {
		if (put(argv[1], "child\n", 6) < 0)
			_exit(1);
		syscall(SYS_write, 1, "raw child\n", 10);
		_exit(0);
	}
	if (waitpid((pid_t)pid, NULL, 0) != pid)
		return 1;
	return put(argv[2], "parent\n", 7) < 0;
}
