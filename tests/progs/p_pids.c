/* p_pids FILE: the pids a program sees.  Prints its own pid and its
 * parent's, forks a child that writes its own and its parent's pid to
 * FILE, waits for it, and prints what fork and waitpid returned and what
 * the child wrote; then signals the child's pid with signal 0 (it is gone:
 * ESRCH).  Before the fork, a thread says its thread id.  A replay that
 * gives processes (and threads) their recorded ids prints the same lines. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *say_tid(void *arg)
{
	*(pid_t *)arg = gettid();
	close(-1); /* a recorded call of its own: the thread is in the log */
	return NULL;
}

int main(int argc, char **argv)
{
	char buf[128];
	pid_t kid, w;
	int st, fd;
	ssize_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: p_pids FILE\n");
		return 2;
	}
	printf("self %d parent %d\n", (int)getpid(), (int)getppid());
	{
		pthread_t th;
		pid_t tid = 0;
		if (pthread_create(&th, NULL, say_tid, &tid) == 0)
			pthread_join(th, NULL);
		printf("thread %d\n", (int)tid);
	}
	fflush(stdout);
	kid = fork();
	if (kid < 0) {
		perror("fork");
		return 1;
	}
	if (kid == 0) {
		fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		n = snprintf(buf, sizeof buf, "child self %d parent %d\n",
			     (int)getpid(), (int)getppid());
		if (fd < 0 || write(fd, buf, (size_t)n) != n)
			_exit(1);
		close(fd);
		_exit(7);
	}
	w = waitpid(kid, &st, 0);
	printf("fork %d waited %d status %d\n", (int)kid, (int)w,
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	fd = open(argv[1], O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (n < 0) {
		perror(argv[1]);
		return 1;
	}
	buf[n] = 0;
	close(fd);
	fputs(buf, stdout);
	errno = 0;
	st = kill(kid, 0);
	printf("kill 0 after wait: %d %s\n", st, errno ? strerror(errno) : "");
	return 0;
}
