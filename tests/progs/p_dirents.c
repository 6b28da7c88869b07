/* Lists a directory N times through readdir, which reads it with
 * getdents64 into a 32 KiB buffer, and then counts the spool segments
 * recorded so far: what a directory listing costs the spool.
 * usage: p_dirents DIR N
 * Prints "entries E segments S": E the entries of the last listing; S
 * the segment files in $RETRO_STORE's spool (-1 when not recording). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int segments(void)
{
	const char *store = getenv("RETRO_STORE");
	char p[4096], spool[4096];
	struct dirent *e;
	FILE *f;
	DIR *d;
	int n = 0;

	if (!store)
		return -1;
	snprintf(p, sizeof p, "%s/SPOOL", store);
	if (!(f = fopen(p, "r")))
		return -1;
	if (!fgets(spool, sizeof spool, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	spool[strcspn(spool, "\n")] = 0;
	if (!(d = opendir(spool)))
		return -1;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l > 4 && !strcmp(e->d_name + l - 4, ".seg") &&
		    strncmp(e->d_name, "free-", 5))
			n++;
	}
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	int n, entries = 0;

	if (argc != 3)
		return 2;
	n = atoi(argv[2]);
	for (int i = 0; i < n; i++) {
		DIR *d = opendir(argv[1]);
		if (!d) {
			perror(argv[1]);
			return 1;
		}
		entries = 0;
		while (readdir(d))
			entries++;
		closedir(d);
	}
	printf("entries %d segments %d\n", entries, segments());
	return 0;
}
