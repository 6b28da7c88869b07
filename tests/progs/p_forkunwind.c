/* p_forkunwind N: forks N times while a second thread keeps making
 * recorded calls from stacks the recorder has not seen (each at a stack
 * pointer of its own, below an alloca of a varying size), so that it is
 * unwinding with libunwind most of the time.  Each child makes a recorded
 * call from a new stack too, and exits; the parent waits for it, at most
 * 10 s.  libunwind takes locks of its own while it unwinds: a child forked
 * while the other thread held one waited for it forever
 * (record-fork-unwind.sh).  Prints "forks: N, children stuck: K". */
#include <alloca.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;

static __attribute__((noinline)) void call_at(size_t depth)
{
	char *p = alloca(depth);

	memset(p, 0, depth);
	__asm__ volatile("" : : "r"(p) : "memory");
	(void)getppid(); /* not recorded: a cheap call... */
	(void)access("/", F_OK); /* ...and a recorded one */
}

static void *churn(void *arg)
{
	size_t d = 16;

	(void)arg;
	while (!stop) {
		call_at(d);
		d = d >= 60000 ? 16 : d + 16;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100, stuck = 0;
	pthread_t th;

	if (pthread_create(&th, NULL, churn, NULL))
		return 2;
	for (int i = 0; i < n; i++) {
		pid_t c = fork();
		int st;
		if (c < 0)
			return 2;
		if (c == 0) {
			call_at(100000 + (size_t)i * 16);
			_exit(0);
		}
		for (int w = 0;; w++) {
			pid_t r = waitpid(c, &st, WNOHANG);
			if (r == c)
				break;
			if (w == 200) { /* 2 s */
				kill(c, SIGKILL);
				waitpid(c, &st, 0);
				stuck++;
				break;
			}
			struct timespec ts = { 0, 10000000 };
			nanosleep(&ts, NULL);
		}
	}
	stop = 1;
	pthread_join(th, NULL);
	printf("forks: %d, children stuck: %d\n", n, stuck);
	return 0;
}
