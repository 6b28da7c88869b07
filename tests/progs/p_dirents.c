/* Lists a directory N times through readdir, which reads it with
 * getdents64 into a 32 KiB buffer, and then counts the spool segments
 * recorded so far: what a directory listing costs the spool.
 * usage: p_dirents DIR N
 * Prints "entries E segments S": E the entries of the last listing; S
 * the segment files in $RETRO_STORE's spool (-1 when not recording).
 *
 * usage: p_dirents DIR N alarm
 * Lists DIR N times with getdents64 itself while a SIGALRM every 100 us
 * lists it once more from its handler, inside the listing it interrupts
 * when it comes during one.  Prints "listings L handler H": L + H
 * listings were made, each two getdents64 (the entries, then 0). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static const char *dir;
static volatile sig_atomic_t handled;

/* one listing with async-signal-safe calls: open, getdents64, close */
static int list_once(void)
{
	static __thread char buf[32768];
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ssize_t n, total = 0;

	if (fd < 0)
		return -1;
	while ((n = getdents64(fd, buf, sizeof buf)) > 0)
		total += n;
	close(fd);
	return n < 0 ? -1 : (int)total;
}

static void on_alarm(int sig)
{
	(void)sig;
	if (list_once() > 0)
		handled++;
}

static int with_alarms(int n)
{
	struct itimerval it = { { 0, 100 }, { 0, 100 } };
	struct sigaction sa;
	int done = 0;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &it, NULL)) {
		perror("timer");
		return 1;
	}
	for (int i = 0; i < n; i++)
		if (list_once() > 0)
			done++;
	it.it_value.tv_usec = it.it_interval.tv_usec = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	printf("listings %d handler %d\n", done, (int)handled);
	return done == n ? 0 : 1;
}

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

	if (argc != 3 && !(argc == 4 && !strcmp(argv[3], "alarm")))
		return 2;
	n = atoi(argv[2]);
	dir = argv[1];
	if (argc == 4)
		return with_alarms(n);
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
