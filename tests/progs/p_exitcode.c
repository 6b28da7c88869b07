/* p_exitcode FILE: sleeps 0.5 s, then exits with the number FILE holds. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	struct timespec half = { 0, 500000000 };
	FILE *f;
	int code = 99;

	if (argc != 2) {
		fprintf(stderr, "usage: p_exitcode FILE\n");
		return 2;
	}
	nanosleep(&half, NULL);
	f = fopen(argv[1], "r");
	if (!f || fscanf(f, "%d", &code) != 1)
		code = 98;
	if (f)
		fclose(f);
	return code;
}
