/* A small file workload with known results: create, write, append, pwrite,
 * rename over a pre-existing file, truncate, unlink, stat, dup, an
 * exclusive create that fails.
 * usage: p_files DIR  (DIR/old must exist beforehand with "OLD\n") */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void must(int ok, const char *what)
{
	if (!ok) {
		perror(what);
		_exit(1);
	}
}

int main(int argc, char **argv)
{
	char a[4096], b[4096], old[4096], gone[4096];
	struct stat st;
	int fd, fd2;

	if (argc != 2)
		return 2;
	snprintf(a, sizeof a, "%s/a.txt", argv[1]);
	snprintf(b, sizeof b, "%s/b.txt", argv[1]);
	snprintf(old, sizeof old, "%s/old", argv[1]);
	snprintf(gone, sizeof gone, "%s/gone", argv[1]);

	fd = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	must(fd >= 0, "open a");
	must(write(fd, "hello\n", 6) == 6, "write");
	must(pwrite(fd, "J", 1, 0) == 1, "pwrite");
	fd2 = dup(fd);
	must(fd2 >= 0, "dup");
	must(write(fd2, "world\n", 6) == 6, "write dup");
	close(fd2);
	close(fd);

	fd = open(a, O_WRONLY | O_APPEND);
	must(fd >= 0, "open append");
	must(write(fd, "tail\n", 5) == 5, "append");
	close(fd);

	must(stat(a, &st) == 0 && st.st_size == 17, "stat");

	/* rename over a file that existed before the recording */
	must(rename(a, old) == 0, "rename");

	fd = creat(b, 0600);
	must(fd >= 0, "creat");
	must(write(fd, "0123456789", 10) == 10, "write b");
	must(ftruncate(fd, 4) == 0, "ftruncate");
	close(fd);

	fd = open(gone, O_WRONLY | O_CREAT | O_EXCL, 0644);
	must(fd >= 0, "open gone");
	close(fd);
	must(unlink(gone) == 0, "unlink");
	must(open(gone, O_RDONLY) == -1, "open missing");
	/* O_EXCL on a file that exists: it fails, and makes nothing */
	must(open(b, O_WRONLY | O_CREAT | O_EXCL, 0644) == -1 && errno == EEXIST,
	     "open b exclusive");
	puts("p_files done");
	return 0;
}
