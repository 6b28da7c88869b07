/* The replay root: a private mount namespace in which every directory the
 * recording changed is an overlay whose upper layer lives under ROOT at the
 * same absolute path, and every other mount is read-only.
 *
 * Why a mount namespace and not path rewriting in the shim: the shepherded
 * program keeps its own absolute paths, relative paths, openat with
 * directory fds, getcwd, symlinks and directory listings, because the
 * kernel resolves them as it did.  Why overlays and not copies: the
 * directories a recording writes into (/tmp, a build tree) hold much the
 * recording never touched, which stays readable without being copied.
 * Why read-only remounts: nothing a shepherded process does after it
 * diverges, and nothing a crafted recording names, can write outside the
 * root. */
#define _GNU_SOURCE
#include "config.h"
#include "run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

static int under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return 1;
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == 0);
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : EIO;
}

int root_mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof buf)
		return ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return errno;
	return 0;
}

/* Adds dir to the set unless an ancestor is in it; drops its descendants. */
static int add_dir(struct root *rt, const char *dir)
{
	for (size_t i = 0; i < rt->ndirs; i++)
		if (under(dir, rt->dirs[i]))
			return 0;
	for (size_t i = 0; i < rt->ndirs;) {
		if (under(rt->dirs[i], dir)) {
			free(rt->dirs[i]);
			rt->dirs[i] = rt->dirs[--rt->ndirs];
		} else {
			i++;
		}
	}
	if (rt->ndirs == rt->capdirs) {
		size_t c = rt->capdirs ? rt->capdirs * 2 : 16;
		char **d = realloc(rt->dirs, c * sizeof *d);
		if (!d)
			return ENOMEM;
		rt->dirs = d;
		rt->capdirs = c;
	}
	rt->dirs[rt->ndirs] = strdup(dir);
	if (!rt->dirs[rt->ndirs])
		return ENOMEM;
	rt->ndirs++;
	return 0;
}

int root_plan(struct root *rt, const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	struct stat st;

	if (path[0] != '/' || strlen(path) >= sizeof dir)
		return 0; /* pipes, sockets */
	if (under(path, "/proc") || under(path, "/sys") || under(path, "/dev"))
		return 0;
	if (rt->store[0] && under(path, rt->store))
		return 0;
	/* The nearest ancestor that is a directory now (not a symlink to
	 * one): the overlay goes there.  A directory the recording created
	 * is itself a planned path, so its parent is planned and covers it. */
	snprintf(dir, sizeof dir, "%s", path);
	do {
		slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = 0;
		else
			*slash = 0;
	} while (strcmp(dir, "/") != 0 &&
		 !(lstat(dir, &st) == 0 && S_ISDIR(st.st_mode)));
	if (strcmp(dir, "/") == 0) {
		snprintf(rt->why, sizeof rt->why,
			 "the recording changes %s, directly under /; a replay "
			 "root cannot cover /", path);
		return EINVAL;
	}
	return add_dir(rt, dir);
}

int root_covers(const struct root *rt, const char *path)
{
	for (size_t i = 0; i < rt->ndirs; i++)
		if (under(path, rt->dirs[i]))
			return (int)i + 1;
	return 0;
}

/* mountinfo writes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = 0;
}


/* The access-time option of the mount dir is on, for the overlay that
 * covers it: a shepherded read then moves atime as it did when recorded
 * (the shim asks the overlay's mount, fstatfs). */
static unsigned long atime_flags(const char *dir)
{
	struct statvfs sv;

	if (statvfs(dir, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOATIME)
		return MS_NOATIME;
	if (sv.f_flag & ST_RELATIME)
		return MS_RELATIME;
	return MS_STRICTATIME;
}

/* Remounts every mount outside the overlays and ROOT read-only. */
static int remount_ro(struct root *rt)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096 + PATH_MAX];
	char **pts = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (!f)
		return errno;
	while (fgets(line, sizeof line, f)) {
		char mp[PATH_MAX];
		/* id parent major:minor root mountpoint ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		unescape(mp);
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			pts = realloc(pts, cap * sizeof *pts);
			if (!pts) {
				fclose(f);
				return ENOMEM;
			}
		}
		pts[n++] = strdup(mp);
	}
	fclose(f);
	for (size_t i = 0; i < n; i++) {
		const char *mp = pts[i];
		struct statvfs sv;
		unsigned long fl = MS_REMOUNT | MS_BIND | MS_RDONLY;
		int skip = !mp || under(mp, "/proc") || under(mp, "/sys") ||
			   under(mp, "/dev") || under(mp, rt->root);
		for (size_t k = 0; !skip && k < rt->ndirs; k++)
			if (under(mp, rt->dirs[k]))
				skip = 1;
		if (skip || statvfs(mp, &sv) < 0 || (sv.f_flag & ST_RDONLY))
			continue;
		/* flags a user namespace locks must be kept as they are */
		if (sv.f_flag & ST_NOSUID)
			fl |= MS_NOSUID;
		if (sv.f_flag & ST_NODEV)
			fl |= MS_NODEV;
		if (sv.f_flag & ST_NOEXEC)
			fl |= MS_NOEXEC;
		if (sv.f_flag & ST_NOATIME)
			fl |= MS_NOATIME;
		if (sv.f_flag & ST_NODIRATIME)
			fl |= MS_NODIRATIME;
		if (sv.f_flag & ST_RELATIME)
			fl |= MS_RELATIME;
		if (mount(NULL, mp, NULL, fl, NULL) < 0 && errno != EACCES &&
		    errno != EPERM && errno != ENOENT) {
			snprintf(rt->why, sizeof rt->why,
				 "cannot make %s read-only in the replay's mount "
				 "namespace: %s", mp, strerror(errno));
			rc = errno;
			break;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(pts[i]);
	free(pts);
	return rc;
}

int root_enter(struct root *rt)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char buf[64];
	int userns = uid != 0;

	for (size_t i = 0; i < rt->ndirs; i++) {
		if (under(rt->root, rt->dirs[i]) || under(rt->dirs[i], rt->root)) {
			snprintf(rt->why, sizeof rt->why,
				 "the recording changes files in %s, which holds "
				 "the replay root %s; pass --root DIR outside it",
				 rt->dirs[i], rt->root);
			return EINVAL;
		}
		if (strpbrk(rt->dirs[i], ",:\\") || strpbrk(rt->root, ",:\\")) {
			snprintf(rt->why, sizeof rt->why,
				 "%s: an overlay mount cannot name a path with "
				 "',', ':' or '\\'", rt->dirs[i]);
			return EINVAL;
		}
	}
	/* A pid namespace, so that re-executed processes get their recorded
	 * pids back (root_next_pid) and cannot signal anything outside;
	 * without one, pids are live and the replay says so. */
	rt->pidns = 1;
	if (unshare(CLONE_NEWNS | CLONE_NEWPID | (userns ? CLONE_NEWUSER : 0)) <
	    0) {
		rt->pidns = 0;
		rt->pidns_err = errno;
		if (unshare(CLONE_NEWNS | (userns ? CLONE_NEWUSER : 0)) < 0) {
			snprintf(rt->why, sizeof rt->why,
				 "cannot make a private mount namespace%s: %s",
				 userns ? " in a user namespace" : "",
				 strerror(errno));
			return errno;
		}
	}
	if (userns) {
		write_file("/proc/self/setgroups", "deny");
		snprintf(buf, sizeof buf, "%u %u 1", (unsigned)uid, (unsigned)uid);
		if (write_file("/proc/self/uid_map", buf))
			goto mapfail;
		snprintf(buf, sizeof buf, "%u %u 1", (unsigned)gid, (unsigned)gid);
		if (write_file("/proc/self/gid_map", buf))
			goto mapfail;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		snprintf(rt->why, sizeof rt->why,
			 "cannot make mounts private: %s", strerror(errno));
		return errno;
	}
	for (size_t i = 0; i < rt->ndirs; i++) {
		char upper[2 * PATH_MAX], work[PATH_MAX + 64], opt[4 * PATH_MAX];
		int r;

		snprintf(upper, sizeof upper, "%s%s", rt->root, rt->dirs[i]);
		snprintf(work, sizeof work, "%s/.retro/work/%zu", rt->root, i);
		if ((r = root_mkdirs(upper, 0755)) || (r = root_mkdirs(work, 0700))) {
			/* a path too long for why is cut: it is a message */
			snprintf(rt->why, sizeof rt->why, "%.2048s: %s", upper,
				 strerror(r));
			return r;
		}
		snprintf(opt, sizeof opt, "lowerdir=%s,upperdir=%s,workdir=%s%s",
			 rt->dirs[i], upper, work, userns ? ",userxattr" : "");
		if (mount("overlay", rt->dirs[i], "overlay",
			  atime_flags(rt->dirs[i]), opt) < 0) {
			snprintf(rt->why, sizeof rt->why,
				 "cannot mount an overlay on %.1024s (upper "
				 "layer %.1024s): %s", rt->dirs[i], upper,
				 strerror(errno));
			return errno;
		}
	}
	/* ROOT stays writable: the replay's own recording lives there */
	if (mount(rt->root, rt->root, NULL, MS_BIND, NULL) < 0) {
		snprintf(rt->why, sizeof rt->why, "cannot bind %s: %s", rt->root,
			 strerror(errno));
		return errno;
	}
	return remount_ro(rt);
mapfail:
	snprintf(rt->why, sizeof rt->why,
		 "cannot map uid %u in a user namespace: %s", (unsigned)uid,
		 strerror(errno));
	return EPERM;
}

int root_pid_init(struct root *rt, int alive)
{
	struct pollfd pf = { .fd = alive, .events = POLLIN };

	/* the parent is outside the namespace: getppid says 0 here, so
	 * whether it is still there is asked of the pipe it holds */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (poll(&pf, 1, 0) > 0) {
		snprintf(rt->why, sizeof rt->why, "the replay's parent is gone");
		return ESRCH;
	}
	close(alive);
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0) {
		snprintf(rt->why, sizeof rt->why,
			 "cannot mount /proc in the replay's pid namespace: %s",
			 strerror(errno));
		return errno;
	}
	return 0;
}

int root_next_pid(pid_t pid)
{
	char buf[24];

	if (pid <= 2)
		return EINVAL; /* 1 is the driver's */
	snprintf(buf, sizeof buf, "%d", (int)pid - 1);
	return write_file("/proc/sys/kernel/ns_last_pid", buf);
}

/* The directory holding path, opened beneath its overlay: no symlink or
 * ".." can lead out of it.  *base receives the last component. */
static int open_parent(const struct root *rt, const char *path,
		       const char **base)
{
	int k = root_covers(rt, path);
	const char *dir, *rel, *slash;
	char relbuf[PATH_MAX];
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH |
					   RESOLVE_NO_MAGICLINKS };
	int dfd, fd;

	if (!k) {
		errno = EXDEV;
		return -1;
	}
	dir = rt->dirs[k - 1];
	rel = path + (strcmp(dir, "/") ? strlen(dir) : 0);
	while (*rel == '/')
		rel++;
	slash = strrchr(rel, '/');
	*base = slash ? slash + 1 : rel;
	if (!**base) {
		errno = EINVAL;
		return -1;
	}
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || !slash)
		return dfd;
	if ((size_t)(slash - rel) >= sizeof relbuf) {
		close(dfd);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(relbuf, rel, (size_t)(slash - rel));
	relbuf[slash - rel] = 0;
	fd = (int)syscall(SYS_openat2, dfd, relbuf, &how, sizeof how);
	close(dfd);
	return fd;
}

int root_open(const struct root *rt, const char *path, int flags, mode_t mode)
{
	const char *base;
	int dfd = open_parent(rt, path, &base), fd, e;

	if (dfd < 0)
		return -1;
	fd = openat(dfd, base, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	e = errno;
	close(dfd);
	errno = e;
	return fd;
}

int root_op(const struct root *rt, int op, const char *path, const char *path2,
	    mode_t mode)
{
	const char *base, *base2;
	int dfd = open_parent(rt, path, &base), dfd2 = -1, r = -1, e;

	if (dfd < 0)
		return -1;
	switch (op) {
	case ROOT_UNLINK:
		r = unlinkat(dfd, base, 0);
		if (r < 0 && errno == EISDIR)
			r = unlinkat(dfd, base, AT_REMOVEDIR);
		break;
	case ROOT_RMDIR:
		r = unlinkat(dfd, base, AT_REMOVEDIR);
		break;
	case ROOT_MKDIR:
		r = mkdirat(dfd, base, mode);
		break;
	case ROOT_MKFIFO:
		r = mkfifoat(dfd, base, mode);
		break;
	case ROOT_SYMLINK:
		r = symlinkat(path2, dfd, base);
		break;
	case ROOT_RENAME:
	case ROOT_LINK:
		dfd2 = open_parent(rt, path2, &base2);
		if (dfd2 < 0)
			break;
		r = op == ROOT_RENAME ? renameat(dfd, base, dfd2, base2)
				      : linkat(dfd, base, dfd2, base2, 0);
		break;
	}
	e = errno;
	close(dfd);
	if (dfd2 >= 0)
		close(dfd2);
	errno = e;
	return r;
}

/* Removes path and everything under it, beneath its overlay. */
int root_remove(const struct root *rt, const char *path)
{
	struct stat st;
	const char *base;
	int dfd = open_parent(rt, path, &base), r = 0;

	if (dfd < 0)
		return -1;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		close(dfd);
		return errno == ENOENT ? 0 : -1;
	}
	if (S_ISDIR(st.st_mode)) {
		char sub[PATH_MAX];
		int fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					   O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
			if (root_remove(rt, sub) < 0)
				r = -1;
		}
		if (d)
			closedir(d);
		if (unlinkat(dfd, base, AT_REMOVEDIR) < 0)
			r = -1;
	} else if (unlinkat(dfd, base, 0) < 0) {
		r = -1;
	}
	close(dfd);
	return r;
}

void root_free(struct root *rt)
{
	for (size_t i = 0; i < rt->ndirs; i++)
		free(rt->dirs[i]);
	free(rt->dirs);
	rt->dirs = NULL;
	rt->ndirs = rt->capdirs = 0;
}
