/* Prints the descriptor numbers its first opens get: recording must not
 * change them.  usage: p_fdnum FILE */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int a = open(argv[1], O_RDONLY);
	int b = open(argv[1], O_RDONLY);
	int p[2];

	if (pipe(p))
		return 1;
	printf("%d %d %d %d\n", a, b, p[0], p[1]);
	return 0;
}
