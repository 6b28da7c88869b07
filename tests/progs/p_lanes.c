/* Makes N threads one after another, each of which writes a line to FILE;
 * then writes to COUNT how many mappings of shepherd-mode lanes (memfd
 * "retro-lane", lib/shepherd.h) the process still has: when recorded 0,
 * when re-executed 1, the main thread's (an ended thread's goes with it).
 * usage: p_lanes FILE COUNT N */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fd;

static void *one(void *p)
{
	char line[32];
	int n = snprintf(line, sizeof line, "thread %ld\n", (long)p);

	if (write(fd, line, (size_t)n) != n)
		exit(1);
	return NULL;
}

int main(int argc, char **argv)
{
	char line[512];
	FILE *maps, *out;
	int n, lanes = 0;

	if (argc != 4)
		return 2;
	n = atoi(argv[3]);
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 1;
	for (long i = 0; i < n; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, one, (void *)i) ||
		    pthread_join(t, NULL))
			return 1;
	}
	maps = fopen("/proc/self/maps", "r");
	if (!maps)
		return 1;
	while (fgets(line, sizeof line, maps))
		lanes += strstr(line, "retro-lane") != NULL;
	fclose(maps);
	out = fopen(argv[2], "w");
	if (!out)
		return 1;
	fprintf(out, "%d\n", lanes);
	return fclose(out) != 0;
}
