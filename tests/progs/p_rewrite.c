/* System calls glibc makes for itself, many times from the same sites: the
 * trap layer rewrites those sites after their first trap (lib/rewrite.c),
 * and the calls must stay the same.  usage: p_rewrite DIR
 *   - 1000 stdio writes (fprintf, fflush) to DIR/stdio;
 *   - four threads doing 500 each to DIR/tN, at the same time;
 *   - a forked child doing 200 to DIR/child;
 *   - fgets from a pipe, twice: the second read (through a rewritten
 *     site) is interrupted by SIGALRM without SA_RESTART (EINTR), then
 *     with SA_RESTART (it goes on);
 *   - errno is what the program left in it across a rewritten call.
 * Prints one line per part. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *dir;

static int writes(const char *name, int n)
{
	char p[4096];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	f = fopen(p, "w");
	if (!f)
		return -1;
	for (int i = 0; i < n; i++) {
		fprintf(f, "%s %d\n", name, i);
		fflush(f);
	}
	return fclose(f);
}

static void *thread(void *arg)
{
	return (void *)(long)writes(arg, 500);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void arm(int restart)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 0 }, { 0, 100000 } };

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

/* fgets of a pipe whose writer writes "a", then "b" 400 ms later */
static void pipe_reads(int restart)
{
	int p[2], st;
	char line[64];
	FILE *f;
	pid_t pid;

	if (pipe(p) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct timespec d = { 0, 400000000 };
		close(p[0]);
		if (write(p[1], "a\n", 2) != 2)
			_exit(1);
		nanosleep(&d, NULL);
		if (write(p[1], "b\n", 2) != 2)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	printf("%s: first %s", restart ? "SA_RESTART" : "no SA_RESTART",
	       fgets(line, sizeof line, f) ? line : "none\n");
	arm(restart);
	errno = 0;
	if (fgets(line, sizeof line, f))
		printf("  second %s", line);
	else
		printf("  second none, %s\n", strerror(errno));
	fclose(f);
	waitpid(pid, &st, 0);
}

int main(int argc, char **argv)
{
	pthread_t th[4];
	char names[4][8];
	void *r;
	pid_t pid;
	int st, bad = 0;

	if (argc != 2)
		return 2;
	dir = argv[1];
	printf("stdio: %d\n", writes("stdio", 1000));
	for (int i = 0; i < 4; i++) {
		snprintf(names[i], sizeof names[i], "t%d", i);
		pthread_create(&th[i], NULL, thread, names[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], &r);
		bad += r != NULL;
	}
	printf("threads: %d failed\n", bad);
	pid = fork();
	if (pid == 0)
		_exit(writes("child", 200) ? 1 : 0);
	waitpid(pid, &st, 0);
	printf("child: exit %d\n", WEXITSTATUS(st));
	pipe_reads(0);
	pipe_reads(1);
	errno = 4242;
	writes("errno", 10);
	printf("errno: %d\n", errno == 4242 ? 4242 : errno);
	return 0;
}
