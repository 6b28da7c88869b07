/* T threads, each doing N pwrite calls of 8 bytes at offsets that encode
 * (thread, i), so that a reader can check every call once and in order.
 * With a fourth argument `kill` the process then kills itself (SIGKILL),
 * so that its segments wait in the spool for a later import.
 * usage: p_threads FILE T N [kill] */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fd, nthreads, n;

static void *run(void *arg)
{
	long t = (long)arg;

	for (int i = 0; i < n; i++) {
		char b[8] = { 'x' };
		if (pwrite(fd, b, 8, (off_t)(t * 1000000 + i)) != 8)
			exit(1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[64];

	fd = open(argv[1], O_WRONLY | O_CREAT, 0644);
	nthreads = atoi(argv[2]);
	n = atoi(argv[3]);
	if (fd < 0 || nthreads > 64)
		return 1;
	for (long t = 0; t < nthreads; t++)
		pthread_create(&th[t], NULL, run, (void *)(t + 1));
	for (int t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	if (argc > 4 && strcmp(argv[4], "kill") == 0)
		raise(SIGKILL);
	return 0;
}
