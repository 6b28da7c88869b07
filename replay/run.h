/* retro-replay run: the replay root (run_root.c) and the driver
 * (cmd_run.c). */
#ifndef RETRO_RUN_H
#define RETRO_RUN_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

struct root {
	char root[PATH_MAX];  /* ROOT: upper layers at ROOT/abs/path */
	char store[PATH_MAX]; /* the recording's store, never covered */
	char **dirs;          /* directories covered by an overlay */
	size_t ndirs, capdirs;
	int pidns;            /* root_enter made a pid namespace: the next
			       * child is its first process (root_pid_init) */
	int pidns_err;        /* else why not */
	char why[PATH_MAX + 256];
};

/* Plans an overlay for the directory holding path (or its nearest
 * ancestor that is a directory now).  Returns 0, or an errno value with
 * rt->why set. */
int root_plan(struct root *rt, const char *path);
/* 1 + the index of the overlay covering path, or 0. */
int root_covers(const struct root *rt, const char *path);
/* Enters a private mount namespace (and a user namespace when not root),
 * mounts the planned overlays and makes every other mount read-only.
 * The caller's children go into a new pid namespace as well, when the
 * kernel allows one (rt->pidns).  Returns 0, or an errno value with
 * rt->why set. */
int root_enter(struct root *rt);
/* In the first process of root_enter's pid namespace (pid 1 there): dies
 * with its parent (the caller's process outside, which holds the write
 * end of the pipe whose read end is alive), and mounts a /proc of the
 * namespace, so that /proc/PID names its processes.  Returns 0, or an
 * errno value with rt->why set. */
int root_pid_init(struct root *rt, int alive);
/* The next process made in the pid namespace gets pid (ns_last_pid), as
 * far as nothing else is made first.  Returns 0, or an errno value. */
int root_next_pid(pid_t pid);
void root_free(struct root *rt);

/* Operations confined beneath the overlay covering path: EXDEV when no
 * overlay covers it, and no symlink or ".." leads out. */
enum { ROOT_UNLINK, ROOT_RMDIR, ROOT_MKDIR, ROOT_MKFIFO, ROOT_SYMLINK,
       ROOT_RENAME, ROOT_LINK };
int root_open(const struct root *rt, const char *path, int flags, mode_t mode);
int root_op(const struct root *rt, int op, const char *path, const char *path2,
	    mode_t mode);
int root_remove(const struct root *rt, const char *path);
int root_mkdirs(const char *path, mode_t mode);

#endif
