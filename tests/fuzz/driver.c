/* Replays files through a fuzz target without libFuzzer: what `make check`
 * runs over tests/fuzz/corpus and tests/fuzz/regress with the gcc build.
 * usage: replay-TARGET FILE|DIR...  (a directory: every file in it) */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int one(const char *path, unsigned *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0, k;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	for (;;) {
		if (len == cap) {
			unsigned char *q = realloc(buf, cap = cap ? cap * 2 : 65536);
			if (!q) {
				fprintf(stderr, "%s: out of memory\n", path);
				fclose(f);
				free(buf);
				return 1;
			}
			buf = q;
		}
		k = fread(buf + len, 1, cap - len, f);
		if (k == 0)
			break;
		len += k;
	}
	fclose(f);
	/* a crash here names its input */
	fprintf(stderr, "replay: %s\n", path);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	(*n)++;
	return 0;
}

static int walk(const char *path, unsigned *n)
{
	struct stat sb;
	struct dirent **ents;
	char sub[PATH_MAX];
	int m, bad = 0;

	if (stat(path, &sb) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(sb.st_mode))
		return one(path, n);
	m = scandir(path, &ents, NULL, alphasort);
	if (m < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	for (int i = 0; i < m; i++) {
		if (ents[i]->d_name[0] != '.') {
			snprintf(sub, sizeof sub, "%s/%s", path, ents[i]->d_name);
			bad |= walk(sub, n);
		}
		free(ents[i]);
	}
	free(ents);
	return bad;
}

int main(int argc, char **argv)
{
	unsigned n = 0;
	int bad = 0;

	for (int i = 1; i < argc; i++)
		bad |= walk(argv[i], &n);
	fprintf(stderr, "replay: %u input(s) ran through the target\n", n);
	return bad || n == 0;
}
