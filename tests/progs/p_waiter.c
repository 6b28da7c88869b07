/* p_waiter PID: waits for PID, a child its shell started before exec'ing
 * it (`sh -c '(sleep 1; exit 7) & exec p_waiter $!'`), and prints what
 * the wait returned and how long it took, in tenths of a second.
 *
 * p_waiter --late-child: makes that child itself, one that sleeps 1 s and
 * exits 7, then execs `p_waiter PID`.  The child is made SCHED_IDLE, so
 * that on one CPU (taskset -c 0) it first runs, and its recording starts,
 * after the exec: a child made before its parent's exec whose recorded
 * start comes after it.
 *
 * p_waiter --waitid PID: the same as p_waiter PID, with waitid.
 *
 * p_waiter --run PROG ARG: starts PROG ARG and waits for it with waitid;
 * prints how it ended. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	pid_t pid, r;
	double t0 = now();
	int st = 0;

	if (argc == 2 && !strcmp(argv[1], "--late-child")) {
		struct sched_param idle = { 0 }, other = { 0 };
		char arg[32];
		/* as root, the parent also takes the highest priority (and
		 * keeps it through its exec), so that the idle child waits
		 * even when the test runs niced */
		(void)setpriority(PRIO_PROCESS, 0, -20);
		if (sched_setscheduler(0, SCHED_IDLE, &idle) < 0)
			perror("p_waiter: SCHED_IDLE");
		pid = fork();
		if (pid == 0) {
			sleep(1);
			_exit(7);
		}
		if (sched_setscheduler(0, SCHED_OTHER, &other) < 0)
			perror("p_waiter: SCHED_OTHER");
		snprintf(arg, sizeof arg, "%d", (int)pid);
		execl(argv[0], argv[0], arg, (char *)NULL);
		perror("p_waiter: exec");
		return 2;
	}
	if (argc == 3 && !strcmp(argv[1], "--waitid") &&
	    (pid = (pid_t)atoi(argv[2])) > 0) {
		siginfo_t si = { 0 };
		int k = waitid(P_PID, (id_t)pid, &si, WEXITED);
		printf("waitid: %s, %s %d, after %.1f s\n",
		       k == 0 && si.si_pid == pid ? "that child" : "error",
		       si.si_code == CLD_EXITED ? "exited" : "status",
		       si.si_status, now() - t0);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "--run")) {
		siginfo_t si = { 0 };
		pid = fork();
		if (pid == 0) {
			execl(argv[2], argv[2], argv[3], (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || waitid(P_PID, (id_t)pid, &si, WEXITED) < 0) {
			perror("p_waiter");
			return 1;
		}
		printf("waitid: %s %d\n",
		       si.si_code == CLD_EXITED ? "exited" : "killed",
		       si.si_status);
		return 0;
	}
	if (argc != 2 || (pid = (pid_t)atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: p_waiter PID | --waitid PID | "
				"--late-child | --run PROG ARG\n");
		return 2;
	}
	r = waitpid(pid, &st, 0);
	printf("waitpid: %s, %s %d, after %.1f s\n",
	       r == pid ? "that child" : r < 0 ? "error" : "another",
	       WIFEXITED(st) ? "exited" : "status", WIFEXITED(st) ? WEXITSTATUS(st) : st,
	       now() - t0);
	return 0;
}
