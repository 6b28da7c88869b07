/* Sets the realtime clock forward by the number of seconds in a file and
 * says what that did: p_settime OFFSETFILE.  Recorded with 0 it changes
 * nothing; replayed with another file it must move the replay's clock,
 * never the host's. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
	struct timespec r0, r1;
	long off = 0;
	FILE *f;
	int r;

	if (argc != 2 || !(f = fopen(argv[1], "r")) || fscanf(f, "%ld", &off) != 1) {
		fprintf(stderr, "usage: p_settime OFFSETFILE\n");
		return 2;
	}
	fclose(f);
	clock_gettime(CLOCK_REALTIME, &r0);
	r1 = r0;
	r1.tv_sec += off;
	r = clock_settime(CLOCK_REALTIME, &r1);
	printf("settime: %s\n", r == 0 ? "0" : strerrorname_np(errno));
	clock_gettime(CLOCK_REALTIME, &r1);
	printf("moved: %ld\n", (long)(r1.tv_sec - r0.tv_sec + (r1.tv_nsec >= r0.tv_nsec ? 0 : -1)));
	return 0;
}
