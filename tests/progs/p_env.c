/* Prints its environment, one variable a line, then writes a marker file.
 * usage: p_env FILE */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	int n = 0, fd;

	for (char **e = environ; *e; e++, n++)
		printf("env: %s\n", *e);
	printf("count: %d\n", n);
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "seen\n", 5) != 5)
		return 1;
	close(fd);
	return 0;
}
