/* A lone thread that cancels itself is cancelled at its next cancellation
 * point (a read of a pipe that has a byte), and its cleanup handler says
 * so.  The shim makes some calls itself while a process has one thread
 * (shim/direct.c): this one must still be libc's. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void bye(void *p)
{
	(void)p;
	if (write(1, "cancelled\n", 10) < 0)
		_exit(2);
}

int main(void)
{
	char b[1];
	int p[2];

	if (pipe(p) || write(p[1], "x", 1) != 1)
		return 1;
	pthread_cleanup_push(bye, NULL);
	pthread_cancel(pthread_self());
	if (read(p[0], b, 1) < 0)
		return 1;
	if (write(1, "not cancelled\n", 14) < 0)
		return 1;
	pthread_cleanup_pop(0);
	return 0;
}
