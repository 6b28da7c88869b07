/* Spool directories whose store is gone.
 *
 * A fast spool lives outside its store (make_fast_spool in store.c), so a
 * store removed with rm -rf leaves its spool directory behind in /dev/shm,
 * where it holds memory until the next reboot.  Each spool directory names
 * its store in a file STORE, and a directory is an orphan when the store it
 * names no longer names it back in its own SPOOL file (or when it names no
 * store: spools made before the link existed).
 *
 * An orphan is removed, with what it holds, at the next store creation,
 * unless something in it may still matter:
 *   - a segment whose writer is alive: a process still records into the
 *     store that was removed, and a store made again at that path adopts
 *     the directory;
 *   - a segment with records, younger than RETRO_ORPHAN_AGE: the store may
 *     only have been moved, and opening it at its new place re-links the
 *     spool (retro_spool_link) and imports them;
 *   - anything touched in the last RETRO_SEG_NEW_AGE seconds: a store being
 *     created now writes its spool's STORE before its own SPOOL.
 * Free pool files, abandoned NAME.new files and exec hand-offs hold no
 * records. */
#include "config.h"
#include "store_int.h"
#include "os.h"
#include "spool.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RETRO_ORPHAN_AGE (7 * 86400) /* seconds */

void retro_spool_link(const char *dir, const char *store)
{
	char abs[PATH_MAX], cur[PATH_MAX], tmp[PATH_MAX], line[PATH_MAX + 1];
	char link[PATH_MAX + 8];
	long dfd, fd;
	int n;

	if (store[0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd) ||
		    snprintf(abs, sizeof abs, "%s/%s", cwd, store) >=
			    (int)sizeof abs)
			return;
		store = abs;
	}
	if (snprintf(link, sizeof link, "%s/" RETRO_SPOOL_LINK, dir) >=
		    (int)sizeof link ||
	    (retro_os_read_line(link, cur, sizeof cur) >= 0 && !strcmp(cur, store)))
		return;
	dfd = retro_os_openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			      0);
	if (dfd < 0)
		return;
	n = snprintf(tmp, sizeof tmp, RETRO_SPOOL_LINK ".%d", (int)getpid());
	fd = retro_os_openat((int)dfd, tmp,
			     O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	n = snprintf(line, sizeof line, "%s\n", store);
	if (n < (int)sizeof line &&
	    retro_os_write((int)fd, line, (size_t)n) == n) {
		retro_os.close((int)fd);
		if (retro_os_renameat((int)dfd, tmp, (int)dfd,
				      RETRO_SPOOL_LINK) < 0)
			retro_os_unlinkat((int)dfd, tmp, 0);
	} else {
		retro_os.close((int)fd);
		retro_os_unlinkat((int)dfd, tmp, 0);
	}
out:
	retro_os.close((int)dfd);
}

/* Does the store named in DIR/STORE still use DIR as its spool?  (Both
 * files are read by retro_os_read_line: whoever has the store's path now,
 * a FIFO there cannot hang the sweep.) */
static int linked(const char *dir)
{
	char store[PATH_MAX], spool[PATH_MAX], f[PATH_MAX + 8];

	if (snprintf(f, sizeof f, "%s/" RETRO_SPOOL_LINK, dir) >= (int)sizeof f ||
	    retro_os_read_line(f, store, sizeof store) <= 0 ||
	    snprintf(f, sizeof f, "%s/SPOOL", store) >= (int)sizeof f)
		return 0;
	return retro_os_read_line(f, spool, sizeof spool) > 0 &&
	       !strcmp(spool, dir);
}

/* What an entry of an orphan spool holds. */
enum { HOLDS_NOTHING, HOLDS_RECORDS, HOLDS_LIVE };

static int segment_holds(int dfd, const char *name)
{
	struct retro_seg_hdr h;
	long fd, k;

	fd = retro_os_openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return HOLDS_RECORDS; /* cannot tell: keep it */
	k = retro_os_pread((int)fd, &h, sizeof h, 0);
	retro_os.close((int)fd);
	if (k != (long)sizeof h || memcmp(h.magic, RETRO_SPOOL_MAGIC, 8))
		return HOLDS_NOTHING; /* torn at its creation: no records */
	if (h.pid > 0 && retro_os_writer_alive(h.pid, h.starttime))
		return HOLDS_LIVE;
	return h.used ? HOLDS_RECORDS : HOLDS_NOTHING;
}

/* Removes DIR, an orphan, unless it must be kept (see the top). */
static void sweep_one(const char *dir, time_t now)
{
	char buf[4096];
	const char *name;
	struct stat sb;
	long dfd, n;
	int keep = 0;

	dfd = retro_os_openat(AT_FDCWD, dir,
			      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (dfd < 0)
		return;
	if (linked(dir) ||
	    retro_os_fstatat((int)dfd, "", &sb, AT_EMPTY_PATH) < 0 ||
	    now - sb.st_mtime < RETRO_SEG_NEW_AGE) {
		retro_os.close((int)dfd);
		return;
	}
	/* first look: is there anything to keep? */
	while (!keep && (n = retro_os_getdents64((int)dfd, buf, sizeof buf)) > 0)
		for (long o = 0; !keep && (name = retro_dirent_next(buf, n, &o));) {
			uint32_t proc, image, thread, segno;
			int holds;
			if (!strcmp(name, ".") || !strcmp(name, ".."))
				continue;
			if (retro_os_fstatat((int)dfd, name, &sb,
					     AT_SYMLINK_NOFOLLOW) < 0 ||
			    now - sb.st_mtime < RETRO_SEG_NEW_AGE) {
				keep = 1;
				break;
			}
			if (retro_seg_parse_name(name, &proc, &image, &thread,
						 &segno))
				continue; /* pool file, NAME.new, hand-off, link */
			holds = segment_holds((int)dfd, name);
			keep = holds == HOLDS_LIVE ||
			       (holds == HOLDS_RECORDS &&
				now - sb.st_mtime < RETRO_ORPHAN_AGE);
		}
	if (!keep && n == 0) {
		/* then remove: the names are read again from the start */
		retro_os.lseek((int)dfd, 0, SEEK_SET);
		while ((n = retro_os_getdents64((int)dfd, buf, sizeof buf)) > 0)
			for (long o = 0; (name = retro_dirent_next(buf, n, &o));)
				if (strcmp(name, ".") && strcmp(name, ".."))
					retro_os_unlinkat((int)dfd, name, 0);
		retro_os_unlinkat(AT_FDCWD, dir, AT_REMOVEDIR);
	}
	retro_os.close((int)dfd);
}

int retro_spool_sweep(void)
{
	const char *base = getenv("RETRO_SPOOL_BASE");
	char prefix[64], dir[PATH_MAX], buf[4096];
	const char *name;
	struct stat sb;
	time_t now = time(NULL);
	long bfd, n;
	int swept = 0;
	size_t plen;

	if (!base || !*base)
		base = "/dev/shm";
	if (base[0] != '/')
		return 0;
	plen = (size_t)snprintf(prefix, sizeof prefix, "retro-spool-%u-",
				(unsigned)geteuid());
	bfd = retro_os_openat(AT_FDCWD, base,
			      O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (bfd < 0)
		return 0;
	while ((n = retro_os_getdents64((int)bfd, buf, sizeof buf)) > 0)
		for (long o = 0; (name = retro_dirent_next(buf, n, &o));) {
			if (strncmp(name, prefix, plen) ||
			    snprintf(dir, sizeof dir, "%s/%s", base, name) >=
				    (int)sizeof dir ||
			    retro_os_fstatat(AT_FDCWD, dir, &sb,
					     AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() ||
			    (sb.st_mode & 077))
				continue;
			sweep_one(dir, now);
			if (retro_os_fstatat(AT_FDCWD, dir, &sb,
					     AT_SYMLINK_NOFOLLOW) < 0)
				swept++;
		}
	retro_os.close((int)bfd);
	return swept;
}
