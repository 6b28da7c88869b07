/* p_fastpath DIR: the opens and closes the recorder's fast path takes and
 * the ones beside it that it leaves to the general way, from one thread
 * and then from two (tests/scenario/record-fast-path.sh).  Checks errno
 * and results as it goes; prints "p_fastpath done". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "p_fastpath: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* open, then close, errno left as the program set it on success */
static void oc(const char *path, int flags)
{
	int fd;

	errno = 1234;
	fd = open(path, flags);
	if (fd < 0)
		die(path);
	if (errno != 1234)
		die("open changed errno on success");
	if (close(fd) != 0)
		die("close");
	if (errno != 1234)
		die("close changed errno on success");
}

static void round_of_calls(const char *dir)
{
	char abs[4200];
	int fd, d;

	snprintf(abs, sizeof abs, "%s/f", dir);
	oc(abs, O_RDONLY);                 /* absolute */
	oc("f", O_RDONLY);                 /* relative to the cwd */
	oc("./f", O_RDONLY | O_CLOEXEC);
	oc("f", O_WRONLY | O_APPEND);      /* no offset of its own */
	oc("f", O_PATH);
	oc(".", O_RDONLY | O_DIRECTORY);
	fd = open64("f", O_RDWR);
	if (fd < 0 || close(fd) != 0)
		die("open64");
	fd = openat(AT_FDCWD, "f", O_RDONLY);
	if (fd < 0 || close(fd) != 0)
		die("openat AT_FDCWD");
	/* the general way: a directory descriptor, O_CREAT, O_TRUNC */
	d = open(".", O_RDONLY | O_DIRECTORY);
	if (d < 0)
		die("open .");
	fd = openat(d, "f", O_RDONLY);
	if (fd < 0 || close(fd) != 0)
		die("openat d");
	fd = open("g", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "g\n", 2) != 2 || close(fd) != 0)
		die("open O_CREAT");
	/* failures: errno is the call's */
	errno = 0;
	if (open("missing", O_RDONLY) != -1 || errno != ENOENT)
		die("open of a missing file");
	errno = 0;
	if (close(-1) != -1 || errno != EBADF)
		die("close(-1)");
	/* a descriptor the recorder did not see made: the general close */
	fd = (int)syscall(SYS_openat, AT_FDCWD, "f", O_RDONLY, 0);
	if (fd < 0 || close(fd) != 0)
		die("close of a raw openat's fd");
	/* a closed descriptor closed again */
	fd = open("f", O_RDONLY);
	if (fd < 0 || close(fd) != 0)
		die("open f");
	errno = 0;
	if (close(fd) != -1 || errno != EBADF)
		die("close twice");
	if (close(d) != 0)
		die("close d");
}

static void *thread_main(void *arg)
{
	round_of_calls(arg);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th;
	int fd;

	if (argc != 2 || chdir(argv[1]) != 0)
		die("usage: p_fastpath DIR");
	fd = open("f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "f\n", 2) != 2 || close(fd) != 0)
		die("make f");
	round_of_calls(argv[1]);
	/* once a second thread has run, calls go through libc's wrappers;
	 * one thread at a time, so that descriptors and order are the same
	 * from run to run */
	if (pthread_create(&th, NULL, thread_main, argv[1]) != 0)
		die("pthread_create");
	pthread_join(th, NULL);
	round_of_calls(argv[1]);
	printf("p_fastpath done\n");
	return 0;
}
