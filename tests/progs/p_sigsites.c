/* Call sites of calls made in a signal handler, the signal sent from many
 * depths of the stack: dive() recurses to a new depth each round, sends
 * itself SIGUSR1 there with kill(), and the handler writes one line.
 * usage: p_sigsites FILE ROUNDS */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fd;

static void __attribute__((noinline)) in_handler(void)
{
	if (write(fd, "h\n", 2) != 2)
		_exit(3);
}

static void on_usr1(int sig)
{
	(void)sig;
	in_handler();
	__asm__ volatile("" ::: "memory"); /* not a tail call */
}

static int __attribute__((noinline)) dive(int depth)
{
	volatile char pad[48];
	int r;

	pad[0] = (char)depth;
	if (depth > 0)
		r = dive(depth - 1) + pad[0];
	else
		r = kill(getpid(), SIGUSR1);
	return r;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	int rounds;

	if (argc != 3)
		return 2;
	rounds = atoi(argv[2]);
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 1;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	for (int r = 0; r < rounds; r++)
		dive(10 + r);
	close(fd);
	return 0;
}
