/* Appends numbered lines to a file; after each write returns, sends one
 * byte to fd 3 (an acknowledgement the test counts), then waits to be
 * killed.  usage: p_kill FILE N */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char line[64];
	int n = atoi(argv[2]);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);

	if (fd < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		int k = snprintf(line, sizeof line, "line %d\n", i);
		if (write(fd, line, (size_t)k) != k)
			return 1;
		if (write(3, "a", 1) != 1)
			return 1;
	}
	for (;;)
		pause();
}
