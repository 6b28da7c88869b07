/* The store: creation and its permissions, refusals, concurrent creation,
 * the default location. */
#include "config.h"
#include "suites.h"
#include "store_int.h"
#include "os.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <retro/retro.h>

static void join(char *out, size_t n, const char *dir, const char *name)
{
	ck_assert_int_lt(snprintf(out, n, "%s/%s", dir, name), (int)n);
}

static unsigned mode_of(const char *dir, const char *name)
{
	char p[PATH_MAX * 2];
	struct stat sb;

	join(p, sizeof p, dir, name);
	ck_assert_msg(lstat(p, &sb) == 0, "lstat %s: %s", p, strerror(errno));
	return sb.st_mode & 07777;
}

/* Everything inside a new store is private: directories 0700, files
 * 0600, whatever the umask. */
static void assert_private(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		char p[PATH_MAX * 2];
		struct stat sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		join(p, sizeof p, dir, de->d_name);
		ck_assert_int_eq(lstat(p, &sb), 0);
		if (S_ISDIR(sb.st_mode))
			ck_assert_msg((sb.st_mode & 07777) == 0700,
				      "%s has mode %o", p, sb.st_mode & 07777);
		else
			ck_assert_msg(S_ISREG(sb.st_mode) &&
					      (sb.st_mode & 07777) == 0600,
				      "%s has mode %o", p, sb.st_mode & 07777);
		n++;
	}
	closedir(d);
	ck_assert_uint_ge(n, 4);
}

/* ---- creation ------------------------------------------------------------ */

static const mode_t umasks[] = { 022, 0, 077 };

START_TEST(create_modes)
{
	struct retro_store *st = NULL;
	char dir[PATH_MAX], path[PATH_MAX], p[PATH_MAX * 2], buf[64];
	char why[512];
	struct stat sb;
	int fd;
	ssize_t n;

	umask(umasks[_i]);
	test_tmpdir(dir, sizeof dir);
	join(path, sizeof path, dir, "a/b/store");
	ck_assert_int_eq(retro_store_open(path, RETRO_OPEN_CREATE, &st, why,
					  sizeof why),
			 0);
	ck_assert_ptr_nonnull(st);
	ck_assert_str_eq(retro_store_path(st), path);
	retro_store_close(st);

	ck_assert_int_eq(lstat(path, &sb), 0);
	ck_assert(S_ISDIR(sb.st_mode));
	ck_assert_uint_eq(sb.st_uid, geteuid());
	ck_assert_uint_eq(mode_of(path, "."), 0700);
	ck_assert_uint_eq(mode_of(path, "spool"), 0700);
	ck_assert_uint_eq(mode_of(path, "data.mdb"), 0600);
	ck_assert_uint_eq(mode_of(path, "lock.mdb"), 0600);
	ck_assert_uint_eq(mode_of(path, "FORMAT"), 0600);
	assert_private(path);
	/* The parents it had to make are private too. */
	ck_assert_uint_eq(mode_of(dir, "a"), 0700);
	ck_assert_uint_eq(mode_of(dir, "a/b"), 0700);
	join(p, sizeof p, path, "FORMAT.tmp");
	ck_assert(!test_exists(p));

	join(p, sizeof p, path, "FORMAT");
	fd = open(p, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	ck_assert_int_gt(n, 0);
	buf[n] = 0;
	ck_assert_str_eq(buf, "retro-store 2\n");
}
END_TEST

START_TEST(reopen)
{
	struct retro_store *st;
	struct retro_import_stats stats;
	char dir[PATH_MAX], path[PATH_MAX], why[512];

	test_tmpdir(dir, sizeof dir);
	st = test_store_new(dir, "s", path, sizeof path);
	retro_store_close(st);

	st = NULL;
	ck_assert_int_eq(retro_store_open(path, 0, &st, why, sizeof why), 0);
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(retro_import(st, 0, 0, &stats), 0);
	ck_assert_uint_eq(stats.segments, 0);
	retro_store_close(st);

	/* CREATE on an existing store opens it. */
	st = NULL;
	ck_assert_int_eq(retro_store_open(path, RETRO_OPEN_CREATE, &st, why,
					  sizeof why),
			 0);
	retro_store_close(st);

	st = NULL;
	ck_assert_int_eq(retro_store_open(path, RETRO_OPEN_RDONLY, &st, why,
					  sizeof why),
			 0);
	ck_assert_int_eq(retro_import(st, 0, 0, &stats), EROFS);
	retro_store_close(st);
	ck_assert_int_eq(retro_store_prepare(path, why, sizeof why), 0);
}
END_TEST

START_TEST(relative_path)
{
	struct retro_store *st = NULL;
	char dir[PATH_MAX], path[PATH_MAX], why[512];

	test_tmpdir(dir, sizeof dir);
	ck_assert_int_eq(chdir(dir), 0);
	ck_assert_int_eq(retro_store_open("rel", RETRO_OPEN_CREATE, &st, why,
					  sizeof why),
			 0);
	join(path, sizeof path, dir, "rel");
	ck_assert_str_eq(retro_store_path(st), path);
	retro_store_close(st);
	ck_assert_uint_eq(mode_of(dir, "rel/FORMAT"), 0600);
}
END_TEST

/* ---- refusals ------------------------------------------------------------ */

START_TEST(symlink_refused)
{
	struct retro_store *st;
	char dir[PATH_MAX], real[PATH_MAX], link[PATH_MAX], why[512];

	test_tmpdir(dir, sizeof dir);
	st = test_store_new(dir, "real", real, sizeof real);
	retro_store_close(st);
	join(link, sizeof link, dir, "link");
	ck_assert_int_eq(symlink(real, link), 0);

	st = NULL;
	why[0] = 0;
	ck_assert_int_eq(retro_store_open(link, 0, &st, why, sizeof why),
			 RETRO_ESYMLINK);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(why, link), "why: %s", why);
	why[0] = 0;
	ck_assert_int_eq(retro_store_open(link, RETRO_OPEN_CREATE, &st, why,
					  sizeof why),
			 RETRO_ESYMLINK);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(why, link), "why: %s", why);
	ck_assert_int_eq(retro_store_prepare(link, why, sizeof why),
			 RETRO_ESYMLINK);

	/* A dangling link is refused too, not followed to create. */
	join(link, sizeof link, dir, "dangling");
	join(real, sizeof real, dir, "nowhere");
	ck_assert_int_eq(symlink(real, link), 0);
	ck_assert_int_eq(retro_store_open(link, RETRO_OPEN_CREATE, &st, why,
					  sizeof why),
			 RETRO_ESYMLINK);
	ck_assert(!test_exists(real));
}
END_TEST

START_TEST(not_a_store)
{
	struct retro_store *st = NULL;
	char dir[PATH_MAX], path[PATH_MAX], f[PATH_MAX * 2], why[512];

	test_tmpdir(dir, sizeof dir);
	join(path, sizeof path, dir, "photos");
	ck_assert_int_eq(mkdir(path, 0700), 0);
	join(f, sizeof f, path, "cat.jpg");
	test_write_file(f, "jpeg", 4);

	why[0] = 0;
	ck_assert_int_eq(retro_store_open(path, RETRO_OPEN_CREATE, &st, why,
					  sizeof why),
			 RETRO_ENOTSTORE);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(why, path), "why: %s", why);
	why[0] = 0;
	ck_assert_int_eq(retro_store_open(path, 0, &st, why, sizeof why),
			 RETRO_ENOTSTORE);
	ck_assert_msg(strstr(why, path), "why: %s", why);
	/* Nothing was added to it. */
	join(f, sizeof f, path, "spool");
	ck_assert(!test_exists(f));
	join(f, sizeof f, path, "data.mdb");
	ck_assert(!test_exists(f));

	/* A regular file where the store should be */
	join(path, sizeof path, dir, "file");
	test_write_file(path, "x", 1);
	why[0] = 0;
	ck_assert_int_eq(retro_store_open(path, RETRO_OPEN_CREATE, &st, why,
					  sizeof why),
			 RETRO_ENOTSTORE);
	ck_assert_msg(strstr(why, path), "why: %s", why);
}
END_TEST

START_TEST(bad_format_file)
{
	struct retro_store *st = NULL;
	char dir[PATH_MAX], path[PATH_MAX], f[PATH_MAX * 2], why[512];

	test_tmpdir(dir, sizeof dir);
	join(path, sizeof path, dir, "s");
	ck_assert_int_eq(mkdir(path, 0700), 0);
	join(f, sizeof f, path, "FORMAT");
	test_write_file(f, "not-retro 1\n", 12);
	why[0] = 0;
	ck_assert_int_eq(retro_store_open(path, 0, &st, why, sizeof why),
			 RETRO_ENOTSTORE);
	ck_assert_msg(strstr(why, path), "why: %s", why);
	ck_assert_int_eq(retro_store_open(path, RETRO_OPEN_CREATE, &st, why,
					  sizeof why),
			 RETRO_ENOTSTORE);
}
END_TEST

START_TEST(version_99)
{
	struct retro_store *st = NULL;
	char dir[PATH_MAX], path[PATH_MAX], f[PATH_MAX * 2], why[512];

	test_tmpdir(dir, sizeof dir);
	join(path, sizeof path, dir, "future");
	ck_assert_int_eq(mkdir(path, 0700), 0);
	join(f, sizeof f, path, "FORMAT");
	test_write_file(f, "retro-store 99\n", 15);

	why[0] = 0;
	ck_assert_int_eq(retro_store_open(path, 0, &st, why, sizeof why),
			 RETRO_EVERSION);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(why, "99"), "why: %s", why);
	ck_assert_msg(strstr(why, path), "why: %s", why);
	why[0] = 0;
	ck_assert_int_eq(retro_store_open(path, RETRO_OPEN_CREATE, &st, why,
					  sizeof why),
			 RETRO_EVERSION);
	ck_assert_msg(strstr(why, "99"), "why: %s", why);
	why[0] = 0;
	ck_assert_int_eq(retro_store_prepare(path, why, sizeof why),
			 RETRO_EVERSION);
	ck_assert_msg(strstr(why, "99"), "why: %s", why);
}
END_TEST

START_TEST(format_file_variants)
{
	/* FORMAT's version is blanks and decimal digits after the magic:
	 * no digits is not a store; a number too big for any version is
	 * another version, named in the message. */
	static const struct {
		const char *text;
		int want;
		const char *says;
	} cases[] = {
		{ "retro-store \n", RETRO_ENOTSTORE, "does not name" },
		{ "retro-store x2\n", RETRO_ENOTSTORE, "does not name" },
		{ "retro-store -2\n", RETRO_ENOTSTORE, "does not name" },
		{ "retro-store 99999999999999999999\n", RETRO_EVERSION,
		  "4294967295" },
		{ "retro-store 0\n", RETRO_EVERSION, "version 0," },
	};
	char dir[PATH_MAX], path[PATH_MAX], f[PATH_MAX * 2], why[512];
	struct retro_store *st = NULL;

	test_tmpdir(dir, sizeof dir);
	join(path, sizeof path, dir, "s");
	ck_assert_int_eq(mkdir(path, 0700), 0);
	join(f, sizeof f, path, "FORMAT");
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		test_write_file(f, cases[i].text, strlen(cases[i].text));
		why[0] = 0;
		ck_assert_int_eq(retro_store_open(path, 0, &st, why, sizeof why),
				 cases[i].want);
		ck_assert_ptr_null(st);
		ck_assert_msg(strstr(why, cases[i].says), "%s: why: %s",
			      cases[i].text, why);
	}
}
END_TEST

START_TEST(lmdb_version_mismatch)
{
	/* FORMAT names this version but the environment's meta another. */
	struct retro_store *st;
	char dir[PATH_MAX], path[PATH_MAX], why[512];
	uint32_t ver = RETRO_FORMAT_VERSION + 1;
	MDB_val k = { 6, "format" }, v = { 4, &ver };
	MDB_txn *txn;

	test_tmpdir(dir, sizeof dir);
	st = test_store_new(dir, "s", path, sizeof path);
	ck_assert_int_eq(mdb_txn_begin(st->env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_put(txn, st->meta, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	retro_store_close(st);
	st = NULL;
	ck_assert_int_eq(retro_store_open(path, 0, &st, why, sizeof why),
			 RETRO_EVERSION);
	ck_assert_ptr_null(st);
}
END_TEST

START_TEST(missing_without_create)
{
	struct retro_store *st = NULL;
	char dir[PATH_MAX], path[PATH_MAX], why[512];

	test_tmpdir(dir, sizeof dir);
	join(path, sizeof path, dir, "none");
	why[0] = 0;
	ck_assert_int_eq(retro_store_open(path, 0, &st, why, sizeof why),
			 ENOENT);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(why, path), "why: %s", why);
	ck_assert_int_eq(retro_store_open(path, RETRO_OPEN_RDONLY, &st, why,
					  sizeof why),
			 ENOENT);
	ck_assert(!test_exists(path));
}
END_TEST

START_TEST(empty_dir_becomes_store)
{
	struct retro_store *st;
	char dir[PATH_MAX], path[PATH_MAX], why[512];

	test_tmpdir(dir, sizeof dir);
	join(path, sizeof path, dir, "empty");
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(retro_store_prepare(path, why, sizeof why), 0);
	/* made private, like a store it created itself */
	ck_assert_uint_eq(mode_of(path, "."), 0700);
	st = NULL;
	ck_assert_int_eq(retro_store_open(path, 0, &st, why, sizeof why), 0);
	retro_store_close(st);
}
END_TEST

static long mkdirat_enospc(int dfd, const char *path, int mode)
{
	return -ENOSPC;
}

START_TEST(create_enospc)
{
	struct retro_store *st = NULL;
	char dir[PATH_MAX], path[PATH_MAX], why[512];

	test_tmpdir(dir, sizeof dir);
	join(path, sizeof path, dir, "full");
	retro_os.mkdirat = mkdirat_enospc;
	why[0] = 0;
	ck_assert_int_eq(retro_store_open(path, RETRO_OPEN_CREATE, &st, why,
					  sizeof why),
			 ENOSPC);
	retro_os_reset();
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(why, path), "why: %s", why);
	ck_assert(!test_exists(path));
	/* and once there is space again */
	ck_assert_int_eq(retro_store_open(path, RETRO_OPEN_CREATE, &st, why,
					  sizeof why),
			 0);
	retro_store_close(st);
}
END_TEST

static struct retro_os real_os;
static int read_calls;

/* EINTR on the first read, then the real thing. */
static long read_eintr_once(int fd, void *buf, size_t n)
{
	if (read_calls++ == 0)
		return -EINTR;
	return real_os.read(fd, buf, n);
}

START_TEST(format_read_eintr)
{
	/* Regression (was a bug): lib/store.c read_format() makes one retro_os.read()
	 * and fails with its error, so an EINTR (which lib/os.h names as a
	 * result the seam may give, and retro_os_slurp() retries) makes
	 * retro_store_open() of a good store return EINTR.  A short count
	 * is misread the same way (RETRO_ENOTSTORE). */
	struct retro_store *st;
	char dir[PATH_MAX], path[PATH_MAX], why[512] = "";
	int rc;

	test_tmpdir(dir, sizeof dir);
	st = test_store_new(dir, "s", path, sizeof path);
	retro_store_close(st);
	retro_os_reset();
	real_os = retro_os;
	retro_os.read = read_eintr_once;
	st = NULL;
	rc = retro_store_open(path, 0, &st, why, sizeof why);
	retro_os_reset();
	ck_assert_int_ge(read_calls, 1);
	ck_assert_msg(rc == 0, "open after one EINTR: %d (%s)", rc, why);
	retro_store_close(st);
}
END_TEST

START_TEST(other_owner)
{
	struct retro_store *st;
	char dir[PATH_MAX], path[PATH_MAX], why[512];

	test_tmpdir(dir, sizeof dir);
	st = test_store_new(dir, "s", path, sizeof path);
	retro_store_close(st);
	ck_assert_int_eq(chown(path, 4242, 4242), 0);
	st = NULL;
	why[0] = 0;
	ck_assert_int_eq(retro_store_open(path, 0, &st, why, sizeof why),
			 RETRO_EOWNER);
	ck_assert_msg(strstr(why, path), "why: %s", why);
	ck_assert_int_eq(retro_store_open(path, RETRO_OPEN_CREATE, &st, why,
					  sizeof why),
			 RETRO_EOWNER);
	ck_assert_ptr_null(st);
}
END_TEST

/* ---- concurrent creation ------------------------------------------------- */

#define RACERS 16

struct verdict {
	int rc;
	char why[200];
};

START_TEST(concurrent_create)
{
	struct retro_store *st = NULL;
	char dir[PATH_MAX], path[PATH_MAX], p[PATH_MAX * 2], why[512];
	pid_t kids[RACERS];
	int go[2], res[2];

	test_tmpdir(dir, sizeof dir);
	join(path, sizeof path, dir, "x/store");
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(res), 0);
	for (int i = 0; i < RACERS; i++) {
		kids[i] = fork();
		ck_assert_int_ge(kids[i], 0);
		if (kids[i] == 0) {
			struct verdict v;
			char c;

			memset(&v, 0, sizeof v);
			close(go[1]);
			close(res[0]);
			/* Blocks until the parent closes the last write
			 * end: then every racer wakes at once. */
			while (read(go[0], &c, 1) < 0 && errno == EINTR)
				;
			v.rc = retro_store_prepare(path, v.why, sizeof v.why);
			if (write(res[1], &v, sizeof v) != sizeof v)
				_exit(2);
			_exit(0);
		}
	}
	close(go[0]);
	close(res[1]);
	ck_assert(!test_exists(path));
	close(go[1]);
	for (int i = 0; i < RACERS; i++) {
		struct verdict v;
		ssize_t n = read(res[0], &v, sizeof v);

		ck_assert_int_eq(n, sizeof v);
		ck_assert_msg(v.rc == 0, "racer got %d: %s", v.rc, v.why);
	}
	close(res[0]);
	for (int i = 0; i < RACERS; i++) {
		int status;

		ck_assert_int_eq(waitpid(kids[i], &status, 0), kids[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	join(p, sizeof p, path, "FORMAT.tmp");
	ck_assert(!test_exists(p));
	ck_assert_uint_eq(mode_of(path, "FORMAT"), 0600);
	ck_assert_int_eq(retro_store_open(path, 0, &st, why, sizeof why), 0);
	retro_store_close(st);
}
END_TEST

/* ---- the default location ------------------------------------------------ */

static void env(const char *name, const char *value)
{
	if (value)
		ck_assert_int_eq(setenv(name, value, 1), 0);
	else
		ck_assert_int_eq(unsetenv(name), 0);
}

START_TEST(default_store)
{
	char buf[PATH_MAX];
	const char *want;

	env("XDG_DATA_HOME", "/xdg/data");
	env("HOME", "/home/u");
	ck_assert_int_eq(retro_default_store(buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "/xdg/data/retro/store");

	env("XDG_DATA_HOME", NULL);
	ck_assert_int_eq(retro_default_store(buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "/home/u/.local/share/retro/store");

	/* The XDG spec says a relative or empty value is to be ignored. */
	env("XDG_DATA_HOME", "");
	ck_assert_int_eq(retro_default_store(buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "/home/u/.local/share/retro/store");
	env("XDG_DATA_HOME", "rel/data");
	ck_assert_int_eq(retro_default_store(buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "/home/u/.local/share/retro/store");

	env("HOME", NULL);
	ck_assert_int_eq(retro_default_store(buf, sizeof buf), ENOENT);
	env("HOME", "relhome");
	ck_assert_int_eq(retro_default_store(buf, sizeof buf), ENOENT);
	env("XDG_DATA_HOME", "/d");
	ck_assert_int_eq(retro_default_store(buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "/d/retro/store");

	/* exactly fitting, and one byte short */
	want = "/d/retro/store";
	ck_assert_int_eq(retro_default_store(buf, strlen(want) + 1), 0);
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(retro_default_store(buf, strlen(want)),
			 ENAMETOOLONG);
}
END_TEST

Suite *make_store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc;

	tc = tcase_create("create");
	tcase_add_loop_test(tc, create_modes, 0,
			    sizeof umasks / sizeof *umasks);
	tcase_add_test(tc, reopen);
	tcase_add_test(tc, relative_path);
	tcase_add_test(tc, empty_dir_becomes_store);
	tcase_add_test(tc, create_enospc);
	tcase_add_test(tc, format_read_eintr);
	suite_add_tcase(s, tc);

	tc = tcase_create("refuse");
	tcase_add_test(tc, symlink_refused);
	tcase_add_test(tc, not_a_store);
	tcase_add_test(tc, bad_format_file);
	tcase_add_test(tc, version_99);
	tcase_add_test(tc, format_file_variants);
	tcase_add_test(tc, lmdb_version_mismatch);
	tcase_add_test(tc, missing_without_create);
	/* Only root can give a directory to another user. */
	if (geteuid() == 0)
		tcase_add_test(tc, other_owner);
	suite_add_tcase(s, tc);

	tc = tcase_create("race");
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, concurrent_create);
	suite_add_tcase(s, tc);

	tc = tcase_create("default");
	tcase_add_test(tc, default_store);
	suite_add_tcase(s, tc);
	return s;
}
