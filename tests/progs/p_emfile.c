/* A program that runs out of descriptors: with RLIMIT_NOFILE at 40, it
 * opens FILE until open fails, then (still at the limit) starts a thread
 * that writes through a descriptor opened before, closes everything and
 * writes again.  Prints how many opens worked, the errno of the one that
 * failed, and what the thread's writes returned: the same with and without
 * recording.  usage: p_emfile FILE */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int out;

static void *thread(void *arg)
{
	long ok = 0;

	(void)arg;
	for (int i = 0; i < 100; i++)
		ok += pwrite(out, "t", 1, 100 + i) == 1;
	return (void *)ok;
}

int main(int argc, char **argv)
{
	struct rlimit rl = { 40, 40 };
	int fds[64], n = 0, err;
	pthread_t th;
	void *r;

	if (argc < 2)
		return 2;
	out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0 || setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1;
	for (;;) {
		int fd = open(argv[1], O_RDONLY);
		if (fd < 0) {
			err = errno;
			break;
		}
		if (n == 64)
			return 3;
		fds[n++] = fd;
	}
	printf("opened %d then %s\n", n, strerrorname_np(err));
	if (pthread_create(&th, NULL, thread, NULL) || pthread_join(th, &r))
		return 4;
	printf("thread wrote %ld at the limit\n", (long)r);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	printf("after: %d\n", (int)pwrite(out, "after\n", 6, 0));
	return 0;
}
