/* The store: a directory with FORMAT, an LMDB environment and spool/.
 *
 * FORMAT is written last, by rename, by the one process whose
 * mkdir(STORE/spool) succeeded: that is how many processes starting at once
 * agree that exactly one of them creates the store.  The others wait for
 * FORMAT to appear. */
#include "config.h"
#include "store_int.h"
#include "os.h"
#include "sys.h"
#include "spool.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FORMAT_MAGIC "retro-store "

static int say(char *why, size_t n, int err, const char *fmt, const char *path)
{
	if (why && n) {
		int k = snprintf(why, n, fmt, path);
		if (k >= 0 && (size_t)k < n) {
			/* liblmdb not loadable: say which file and why */
			const char *r = err == ELIBACC && retro_mdb_why()[0]
						? retro_mdb_why()
						: retro_strerror(err);
			snprintf(why + k, n - (size_t)k, ": %s", r);
		}
	}
	return err;
}

int retro_mdb_err(int rc)
{
	if (rc == MDB_MAP_FULL)
		return RETRO_EMAPFULL;
	if (rc == MDB_INVALID || rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND ||
	    rc == MDB_VERSION_MISMATCH)
		return RETRO_ECORRUPT;
	if (rc < 0)
		return RETRO_ELMDB;
	return rc;
}

static __attribute__((noinline)) int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);
	long r;

	if (n >= sizeof buf)
		return ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i < n; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = 0;
		r = retro_os_mkdirat(AT_FDCWD, buf, 0700);
		buf[i] = '/';
		if (r < 0 && r != -EEXIST)
			return (int)-r;
	}
	r = retro_os_mkdirat(AT_FDCWD, buf, 0700);
	if (r < 0 && r != -EEXIST)
		return (int)-r;
	return 0;
}

/* dir/name into out.  Not with snprintf: a recorded process checks the
 * store with it at start and at exit, and its first snprintf faults in
 * stdio's formatting code (five pages of libc's text, again in every
 * forked child). */
static int join(char *out, size_t n, const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);

	if (a + 1 + b >= n)
		return ENAMETOOLONG;
	memcpy(out, dir, a);
	out[a] = '/';
	memcpy(out + a + 1, name, b + 1);
	return 0;
}

/* The version after FORMAT's magic: blanks, then decimal digits, as this
 * retro writes it (sscanf's %u, used before, also took a sign and any
 * white space).  -1 when there are no digits; a number past UINT_MAX
 * reads as UINT_MAX. */
static long long format_version(const char *s)
{
	unsigned long long v = 0;
	const char *d;

	while (*s == ' ' || *s == '\t')
		s++;
	for (d = s; *d >= '0' && *d <= '9'; d++)
		if ((v = v * 10 + (unsigned)(*d - '0')) > UINT_MAX)
			v = (unsigned long long)UINT_MAX + 1;
	return d == s ? -1 : v > UINT_MAX ? UINT_MAX : (long long)v;
}

/* Reads FORMAT.  Returns 0 when it names our version, ENOENT when absent. */
static int read_format(const char *path, char *why, size_t whylen)
{
	/* sized to the path: every recorded image comes here first, and a
	 * page of stack deeper than its program goes is a page fault */
	char f[strlen(path) + sizeof "/FORMAT"], buf[64];
	struct stat st;
	long fd, n;
	long long v;

	if (join(f, sizeof f, path, "FORMAT"))
		return say(why, whylen, ENAMETOOLONG, "%s", path);
	fd = retro_os_open_file_st(f, &st);
	if (fd == -ENOENT)
		return ENOENT;
	if (fd == -EINVAL)
		return say(why, whylen, RETRO_ENOTSTORE,
			   "%s: FORMAT is not a regular file", path);
	if (fd < 0)
		return say(why, whylen, (int)-fd, "%s/FORMAT", path);
	/* reads until the buffer is full or the end (or the size fstat
	 * gave: one read) */
	n = retro_os_read_st((int)fd, &st, buf, sizeof buf - 1);
	retro_os.close((int)fd);
	if (n < 0)
		return say(why, whylen, (int)-n, "%s/FORMAT", path);
	buf[n] = 0;
	if (strncmp(buf, FORMAT_MAGIC, strlen(FORMAT_MAGIC)) != 0 ||
	    (v = format_version(buf + strlen(FORMAT_MAGIC))) < 0)
		return say(why, whylen, RETRO_ENOTSTORE,
			   "%s: FORMAT does not name a retro store", path);
	if (v != RETRO_FORMAT_VERSION) {
		if (why)
			snprintf(why, whylen,
				 "%s: store format version %u, this retro reads "
				 "version %u",
				 path, (unsigned)v, RETRO_FORMAT_VERSION);
		return RETRO_EVERSION;
	}
	return 0;
}

static int env_open(struct retro_store *st, const char *path, int rdonly)
{
	const char *ms = getenv("RETRO_MAPSIZE");
	size_t mapsize = (size_t)1 << 36;
	int rc;

	if (ms && atoll(ms) > 0)
		mapsize = (size_t)atoll(ms);
	rc = retro_mdb_load();
	if (rc)
		return rc;
	rc = mdb_env_create(&st->env);
	if (rc)
		return retro_mdb_err(rc);
	mdb_env_set_maxdbs(st->env, 16);
	mdb_env_set_assert(st->env, retro_guard_assert);
	mdb_env_set_mapsize(st->env, mapsize);
	rc = mdb_env_open(st->env, path,
			  MDB_NOTLS | MDB_NOMETASYNC | (rdonly ? MDB_RDONLY : 0),
			  0600);
	if (rc) {
		mdb_env_close(st->env);
		st->env = NULL;
		return retro_mdb_err(rc);
	}
	/* liblmdb opens data.mdb without O_CLOEXEC (its other two descriptors
	 * have it): a program started while the store is open must not
	 * inherit it, nor record's command, started with the store open. */
	{
		mdb_filehandle_t fd;
		if (mdb_env_get_fd(st->env, &fd) == 0 && fd >= 0)
			retro_os_fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	return 0;
}

static int dbis_open(struct retro_store *st, int create)
{
	static const char *names[] = { "meta",	  "chunks",   "paths",
				       "blobs",	  "stacks",   "modules",
				       "segments", "clock",    "waits" };
	MDB_dbi *dbis[] = { &st->meta,	  &st->chunks,	 &st->paths,
			    &st->blobs,	  &st->stacks,	 &st->modules,
			    &st->segments, &st->clock,	 &st->waits };
	MDB_txn *txn;
	int rc;

	rc = mdb_txn_begin(st->env, NULL, create ? 0 : MDB_RDONLY, &txn);
	if (rc)
		return retro_mdb_err(rc);
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		rc = mdb_dbi_open(txn, names[i], create ? MDB_CREATE : 0,
				  dbis[i]);
		if (rc) {
			mdb_txn_abort(txn);
			/* FORMAT said this is a store: a missing table is damage. */
			return rc == MDB_NOTFOUND ? RETRO_ECORRUPT
						  : retro_mdb_err(rc);
		}
	}
	if (create) {
		MDB_val k = { 6, "format" }, v;
		uint32_t ver = RETRO_FORMAT_VERSION;
		char boot[40] = { 0 };
		long fd;

		v.mv_size = sizeof ver;
		v.mv_data = &ver;
		rc = mdb_put(txn, st->meta, &k, &v, 0);
		fd = retro_os_openat(AT_FDCWD, "/proc/sys/kernel/random/boot_id",
				     O_RDONLY | O_CLOEXEC, 0);
		if (!rc && fd >= 0) {
			long n = retro_os_read((int)fd, boot, 36);
			if (n == 36) {
				k.mv_size = 4;
				k.mv_data = "boot";
				v.mv_size = 36;
				v.mv_data = boot;
				rc = mdb_put(txn, st->meta, &k, &v, 0);
			}
		}
		if (fd >= 0)
			retro_os.close((int)fd);
		if (rc) {
			mdb_txn_abort(txn);
			return retro_mdb_err(rc);
		}
		/* Not flushed here (an fdatasync of the new file, 2 to 4 ms on
		 * ext4 here): create_files flushes it when the spool is kept
		 * in the store; otherwise the first flushed commit after it
		 * (record's last, an import's) takes these pages too.  A
		 * crash of the machine before then loses the new store, with
		 * the spool in shared memory that it would lose anyway. */
		mdb_env_set_flags(st->env, MDB_NOSYNC, 1);
		rc = mdb_txn_commit(txn);
		mdb_env_set_flags(st->env, MDB_NOSYNC, 0);
	} else {
		MDB_val k = { 6, "format" }, v;
		uint32_t ver;
		rc = mdb_get(txn, st->meta, &k, &v);
		if (rc == 0 && v.mv_size == 4)
			memcpy(&ver, v.mv_data, 4); /* values are 2-aligned */
		if (rc == 0 && (v.mv_size != 4 || ver != RETRO_FORMAT_VERSION))
			rc = -1;
		/* Only a committed transaction keeps its dbi handles open. */
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		if (rc == -1)
			return RETRO_EVERSION;
		if (rc)
			return rc == MDB_NOTFOUND ? RETRO_ECORRUPT
						  : retro_mdb_err(rc);
	}
	return rc ? retro_mdb_err(rc) : 0;
}

/* The spool lives in shared memory when it can: /dev/shm (tmpfs) page
 * faults cost a fraction of a journaled file system's, and a segment only
 * has to outlive its process until it is imported.  STORE/SPOOL names the
 * directory; STORE/spool is the fallback and is always scanned too.
 * RETRO_SPOOL_BASE overrides /dev/shm ("none": keep it in the store). */
static char adopt_spool[PATH_MAX];

static int private_dir(const char *dir);

/* The largest process id in the adopted spool's segment names. */
static uint64_t adopted_max_proc(void)
{
	char buf[4096];
	const char *name;
	uint64_t max = 0;
	long fd, n;

	fd = retro_os_openat(AT_FDCWD, adopt_spool,
			     O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	while ((n = retro_os_getdents64((int)fd, buf, sizeof buf)) > 0)
		for (long o = 0; (name = retro_dirent_next(buf, n, &o));) {
			uint32_t proc, image, thread, segno;
			if (!retro_seg_parse_name(name, &proc, &image, &thread,
						  &segno) &&
			    proc > max)
				max = proc;
		}
	retro_os.close((int)fd);
	return max;
}

void retro_store_adopt_spool(const char *dir)
{
	snprintf(adopt_spool, sizeof adopt_spool, "%s", dir ? dir : "");
}

/* A directory of ours that nobody else can read or write. */
static int private_dir(const char *dir)
{
	struct stat st;

	return dir[0] == '/' &&
	       retro_os_fstatat(AT_FDCWD, dir, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	       !(st.st_mode & 077);
}

/* Returns 1 when the spool is outside the store (STORE/SPOOL names it). */
static int make_fast_spool(const char *store)
{
	const char *base = getenv("RETRO_SPOOL_BASE");
	char dir[PATH_MAX], f[PATH_MAX], line[PATH_MAX + 2];
	unsigned char rnd[8];
	long fd;
	int n, made = 0;

	if (!base || !*base)
		base = "/dev/shm";
	if (adopt_spool[0] && private_dir(adopt_spool)) {
		/* a store made again where one was deleted: the segments its
		 * processes still write are there */
		snprintf(dir, sizeof dir, "%s", adopt_spool);
	} else {
		if (!strcmp(base, "none") ||
		    retro_os_getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
			return 0;
		n = snprintf(dir, sizeof dir, "%s/retro-spool-%u-", base,
			     (unsigned)geteuid());
		for (size_t i = 0; i < sizeof rnd && n + 3 < (int)sizeof dir; i++)
			n += snprintf(dir + n, sizeof dir - (size_t)n, "%02x",
				      rnd[i]);
		if (retro_os_mkdirat(AT_FDCWD, dir, 0700) < 0)
			return 0;
		made = 1;
	}
	/* the link back first: a sweep spares a new directory for a minute,
	 * and then only one whose store names it */
	retro_spool_link(dir, store);
	if (join(f, sizeof f, store, "SPOOL"))
		goto unmake;
	fd = retro_os_openat(AT_FDCWD, f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			     0600);
	if (fd < 0)
		goto unmake;
	n = snprintf(line, sizeof line, "%s\n", dir);
	if (retro_os_write((int)fd, line, (size_t)n) == n) {
		retro_os.close((int)fd);
		return 1;
	}
	retro_os.close((int)fd);
	retro_os_unlinkat(AT_FDCWD, f, 0);
unmake:
	/* The store keeps its spool inside then (retro_spool_dirs): the
	 * directory made for it would only wait in shared memory for a
	 * sweep, named by no store. */
	if (made && join(f, sizeof f, dir, RETRO_SPOOL_LINK) == 0) {
		retro_os_unlinkat(AT_FDCWD, f, 0);
		retro_os_unlinkat(AT_FDCWD, dir, AT_REMOVEDIR);
	}
	return 0;
}

/* The shared-memory spool that STORE/SPOOL names, into out (n bytes):
 * 0, or -1 when there is none or it is not ours.  The buffers are sized
 * to the store's path: a recorded image asks at its start. */
static int shm_spool(const char *store, char *out, size_t n, int make)
{
	char f[strlen(store) + sizeof "/SPOOL"];
	struct stat st;

	if (join(f, sizeof f, store, "SPOOL") ||
	    retro_os_read_line(f, out, n) <= 0 || out[0] != '/')
		return -1;
	/* After a reboot the directory is gone: make it again, as ours. */
	if (retro_os_fstatat(AT_FDCWD, out, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (!make)
			return -1;
		if (retro_os_mkdirat(AT_FDCWD, out, 0700) < 0)
			return -1;
		retro_spool_link(out, store);
		if (retro_os_fstatat(AT_FDCWD, out, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077))
		return -1; /* not ours, or not private: do not use it */
	return 0;
}

int retro_spool_dirs(const char *store, char dirs[2][PATH_MAX], int make)
{
	int k = 0;

	if (join(dirs[k], PATH_MAX, store, "spool") == 0)
		k++;
	if (shm_spool(store, dirs[k], PATH_MAX, make) == 0)
		k++;
	return k;
}

int retro_spool_dir(const char *store, char *out, size_t n)
{
	if (shm_spool(store, out, n, 1) == 0 ||
	    join(out, n, store, "spool") == 0)
		return 0;
	return -1;
}

long retro_importer_hold(const char *store)
{
	char f[PATH_MAX];
	long fd, r;

	if (join(f, sizeof f, store, RETRO_IMPORTER_FILE))
		return -ENAMETOOLONG;
	fd = retro_os_openat(AT_FDCWD, f,
			     O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return fd;
	r = retro_os_flock((int)fd, LOCK_SH);
	if (r < 0) {
		retro_os.close((int)fd);
		return r;
	}
	return fd;
}

int retro_importer_present(const char *store)
{
	char f[PATH_MAX];
	long fd;
	int held;

	if (join(f, sizeof f, store, RETRO_IMPORTER_FILE))
		return 0;
	fd = retro_os_openat(AT_FDCWD, f, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	/* taken only when nobody holds it; closing gives it back */
	held = retro_os_flock((int)fd, LOCK_EX | LOCK_NB) == -EWOULDBLOCK;
	retro_os.close((int)fd);
	return held;
}

static int create_files(const char *path, char *why, size_t whylen,
			MDB_env *env);

/* The one process holding the creation lock lays the store out.  With
 * keep, the LMDB environment it made stays open there for the caller
 * (opening one costs 3 MiB of allocations and a 64 GiB mapping). */
static int create_layout(const char *path, char *why, size_t whylen,
			 MDB_env **keep)
{
	struct retro_store st;
	int r;

	memset(&st, 0, sizeof st);
	r = env_open(&st, path, 0);
	if (r)
		return say(why, whylen, r, "%s: creating the LMDB environment",
			   path);
	r = dbis_open(&st, 1);
	if (r)
		r = say(why, whylen, r, "%s: initialising the store", path);
	else
		r = create_files(path, why, whylen, st.env);
	if (r || !keep)
		mdb_env_close(st.env);
	else
		*keep = st.env;
	return r;
}

/* The rest of the layout, after the LMDB tables: FORMAT last. */
static int create_files(const char *path, char *why, size_t whylen,
			MDB_env *env)
{
	char f[PATH_MAX], tmp[PATH_MAX];
	char buf[64];
	long fd;
	int r, n;

	/* The shared map gets its blocks now, while there is room. */
	if (join(f, sizeof f, path, RETRO_SHARED_NAME))
		return say(why, whylen, ENAMETOOLONG, "%s", path);
	fd = retro_os_openat(AT_FDCWD, f, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return say(why, whylen, (int)-fd, "%s", f);
	r = (int)-retro_os_fallocate((int)fd, 0, 0, RETRO_SHARED_SIZE);
	if (r == EOPNOTSUPP)
		r = (int)-retro_os_ftruncate((int)fd, RETRO_SHARED_SIZE);
	if (!r && adopt_spool[0] && private_dir(adopt_spool)) {
		/* process ids go on above those of the adopted segments, with
		 * room for the processes that recorded into the store that is
		 * gone and fork again (they count in its map) */
		uint64_t next = adopted_max_proc() + (1u << 20);
		if (retro_os.lseek((int)fd,
				   offsetof(struct retro_shared_hdr, next_proc),
				   SEEK_SET) < 0 ||
		    retro_os_write((int)fd, &next, sizeof next) != sizeof next)
			r = EIO;
	}
	retro_os.close((int)fd);
	if (r)
		return say(why, whylen, r, "%s", f);
	/* the tables' commit was not flushed (dbis_open): with the spool
	 * in the store, its segments would outlive a crash of the machine
	 * that the store did not */
	if (!make_fast_spool(path)) {
		r = mdb_env_sync(env, 1);
		if (r)
			return say(why, whylen, retro_mdb_err(r),
				   "%s: flushing the new store", path);
	}
	/* the spools of stores removed since the last one was made */
	retro_spool_sweep();
	if (join(f, sizeof f, path, "FORMAT") ||
	    join(tmp, sizeof tmp, path, "FORMAT.tmp"))
		return say(why, whylen, ENAMETOOLONG, "%s", path);
	fd = retro_os_openat(AT_FDCWD, tmp,
			     O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return say(why, whylen, (int)-fd, "%s", tmp);
	n = snprintf(buf, sizeof buf, "%s%u\n", FORMAT_MAGIC,
		     RETRO_FORMAT_VERSION);
	if (retro_os_write((int)fd, buf, (size_t)n) != n) {
		retro_os.close((int)fd);
		return say(why, whylen, EIO, "%s", tmp);
	}
	retro_os.close((int)fd);
	r = (int)-retro_os_renameat(AT_FDCWD, tmp, AT_FDCWD, f);
	if (r)
		return say(why, whylen, r, "%s", f);
	return 0;
}

static int check_dir(const char *path, struct stat *st, char *why,
		     size_t whylen)
{
	long r = retro_os_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);

	if (r < 0)
		return (int)-r;
	if (S_ISLNK(st->st_mode))
		return say(why, whylen, RETRO_ESYMLINK, "%s", path);
	if (!S_ISDIR(st->st_mode))
		return say(why, whylen, RETRO_ENOTSTORE,
			   "%s: not a directory", path);
	if (st->st_uid != geteuid())
		return say(why, whylen, RETRO_EOWNER, "%s", path);
	return 0;
}

/* Is there nothing in the directory but what a store creation that died
 * half-way leaves (its lock, spool/, LMDB files)? */
static int only_store_debris(const char *path)
{
	/* FORMAT too: another process may finish the store meanwhile */
	static const char *ours[] = { ".", "..", ".retro-lock", "spool", "SPOOL",
				      "FORMAT",
				      "data.mdb", "lock.mdb", RETRO_SHARED_NAME,
				      "FORMAT.tmp" };
	char buf[2048];
	const char *name;
	long fd, n;
	int ok = 1;

	fd = retro_os_openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			     0);
	if (fd < 0)
		return 0;
	while (ok && (n = retro_os_getdents64((int)fd, buf, sizeof buf)) > 0) {
		for (long o = 0; ok && (name = retro_dirent_next(buf, n, &o));) {
			size_t i;
			for (i = 0; i < sizeof ours / sizeof *ours; i++)
				if (!strcmp(name, ours[i]))
					break;
			ok = i < sizeof ours / sizeof *ours;
		}
	}
	retro_os.close((int)fd);
	return ok;
}

static int create(const char *path, char *why, size_t whylen,
		  MDB_env **keep);

static int prepare(const char *path, char *why, size_t whylen,
		   MDB_env **keep)
{
	struct stat st;
	int r;

	if (why && whylen)
		why[0] = 0;
	r = check_dir(path, &st, why, whylen);
	if (r == ENOENT) {
		r = mkdir_p(path);
		if (r)
			return say(why, whylen, r, "%s", path);
		r = check_dir(path, &st, why, whylen);
	}
	if (r)
		return why && why[0] ? r : say(why, whylen, r, "%s", path);
	r = read_format(path, why, whylen);
	if (r != ENOENT)
		return r;
	return create(path, why, whylen, keep);
}

/* A directory without FORMAT: made a store, unless it holds something
 * else.  Apart from prepare, which every recorded image runs through: its
 * buffers are pages of stack that only a store's first user touches. */
static __attribute__((noinline)) int create(const char *path, char *why,
					    size_t whylen, MDB_env **keep)
{
	char lock[PATH_MAX], spool[PATH_MAX];
	long fd, k;
	int r;

	if (!only_store_debris(path))
		return say(why, whylen, RETRO_ENOTSTORE,
			   "%s: directory is not empty and holds no retro store",
			   path);
	if (join(lock, sizeof lock, path, ".retro-lock") ||
	    join(spool, sizeof spool, path, "spool"))
		return say(why, whylen, ENAMETOOLONG, "%s", path);
	/* Creators take turns under an flock, which the kernel drops if one
	 * dies half-way: the next one then finds no FORMAT and starts over. */
	fd = retro_os_openat(AT_FDCWD, lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return say(why, whylen, (int)-fd, "%s", lock);
	k = retro_os_flock((int)fd, LOCK_EX);
	if (k < 0) {
		retro_os.close((int)fd);
		return say(why, whylen, (int)-k, "%s", lock);
	}
	r = read_format(path, why, whylen);
	if (r == ENOENT) {
		retro_os_fchmodat(AT_FDCWD, path, 0700);
		k = retro_os_mkdirat(AT_FDCWD, spool, 0700);
		if (k < 0 && k != -EEXIST)
			r = say(why, whylen, (int)-k, "%s", spool);
		else
			r = create_layout(path, why, whylen, keep);
	}
	retro_os.close((int)fd); /* drops the lock */
	return r;
}

int retro_store_prepare(const char *path, char *why, size_t whylen)
{
	return prepare(path, why, whylen, NULL);
}

int retro_store_open(const char *path, int flags, struct retro_store **out,
		     char *why, size_t whylen)
{
	struct retro_store *st;
	struct stat sb;
	char abs[PATH_MAX];
	MDB_env *made = NULL;
	int r;

	if (why && whylen)
		why[0] = 0;
	if (path[0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd) ||
		    snprintf(abs, sizeof abs, "%s/%s", cwd, path) >=
			    (int)sizeof abs)
			return say(why, whylen, ENAMETOOLONG, "%s", path);
		path = abs;
	}
	if (flags & RETRO_OPEN_CREATE) {
		r = prepare(path, why, whylen,
			    flags & RETRO_OPEN_RDONLY ? NULL : &made);
		if (r)
			return r;
	} else {
		r = check_dir(path, &sb, why, whylen);
		if (r)
			return why && why[0] ? r : say(why, whylen, r, "%s", path);
		r = read_format(path, why, whylen);
		if (r == ENOENT)
			return say(why, whylen, RETRO_ENOTSTORE,
				   "%s: no FORMAT file", path);
		if (r)
			return r;
	}
	/* liblmdb opens data.mdb with a blocking open */
	{
		char f[PATH_MAX];
		struct stat ds;
		if (!made && join(f, sizeof f, path, "data.mdb") == 0 &&
		    retro_os.fstatat(AT_FDCWD, f, &ds, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISREG(ds.st_mode))
			return say(why, whylen, RETRO_ENOTSTORE,
				   "%s: data.mdb is not a regular file", path);
	}
	st = calloc(1, sizeof *st);
	if (!st) {
		if (made)
			mdb_env_close(made);
		return ENOMEM;
	}
	snprintf(st->path, sizeof st->path, "%s", path);
	st->rdonly = !!(flags & RETRO_OPEN_RDONLY);
	st->env = made;
	r = made ? 0 : env_open(st, path, st->rdonly);
	if (r) {
		free(st);
		return say(why, whylen, r, "%s: opening LMDB", path);
	}
	/* opening the tables already reads pages that may be damaged */
	retro_guard_map(st);
	r = dbis_open(st, 0);
	if (r) {
		retro_guard_unmap(st);
		mdb_env_close(st->env);
		free(st);
		return say(why, whylen, r, "%s", path);
	}
	*out = st;
	return 0;
}

void retro_pathcache_free(struct pathcache *pc);

void retro_store_close(struct retro_store *st)
{
	if (!st)
		return;
	retro_pathcache_free(st->pc);
	retro_guard_unmap(st);
	mdb_env_close(st->env);
	free(st);
}

const char *retro_store_path(const struct retro_store *st)
{
	return st->path;
}
