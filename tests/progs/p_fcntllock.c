/* p_fcntllock LOCK COUNTER MS: under an fcntl write lock on LOCK, reads
 * the number in COUNTER, sleeps MS ms, writes it back plus one; then
 * unlocks.  With MS 0 it writes 2 without reading (a blind write, which
 * only the lock orders after another's write). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char buf[32] = "0";
	int lk, fd;
	ssize_t n;
	long v;

	if (argc != 4) {
		fprintf(stderr, "usage: p_fcntllock LOCK COUNTER MS\n");
		return 2;
	}
	lk = open(argv[1], O_RDWR | O_CREAT, 0644);
	if (lk < 0 || fcntl(lk, F_SETLKW, &fl) < 0) {
		perror(argv[1]);
		return 1;
	}
	fd = open(argv[2], O_RDWR | O_CREAT, 0644);
	if (fd < 0) {
		perror(argv[2]);
		return 1;
	}
	if (atoi(argv[3]) > 0) {
		n = pread(fd, buf, sizeof buf - 1, 0);
		buf[n > 0 ? n : 1] = 0;
		v = strtol(buf, NULL, 10);
	} else {
		v = 1;
	}
	usleep((useconds_t)atoi(argv[3]) * 1000);
	n = snprintf(buf, sizeof buf, "%ld\n", v + 1);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		perror(argv[2]);
		return 1;
	}
	close(fd);
	fl.l_type = F_UNLCK;
	fcntl(lk, F_SETLK, &fl);
	close(lk);
	return 0;
}
