/* check_retro: runs every unit suite.
 *
 * Each test runs in its own process (Check's fork mode) and works in a
 * fresh directory under one scratch root, which this process removes when
 * the run ends, so a test that fails half-way leaves nothing behind. */
#include "config.h"
#include "suites.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <retro/retro.h>

static char scratch[PATH_MAX];

void test_tmpdir(char *buf, size_t n)
{
	int k = snprintf(buf, n, "%s/t.XXXXXX", scratch);

	ck_assert_msg(k > 0 && (size_t)k < n, "scratch path too long");
	ck_assert_msg(mkdtemp(buf) != NULL, "mkdtemp %s: %s", buf,
		      strerror(errno));
}

void test_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_msg(write(fd, data, len) == (ssize_t)len, "write %s", path);
	ck_assert_int_eq(close(fd), 0);
}

int test_exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

struct retro_store *test_store_new(const char *dir, const char *name,
				   char *buf, size_t n)
{
	struct retro_store *st = NULL;
	char why[512];
	int k = snprintf(buf, n, "%s/%s", dir, name);
	int rc;

	ck_assert(k > 0 && (size_t)k < n);
	rc = retro_store_open(buf, RETRO_OPEN_CREATE, &st, why, sizeof why);
	ck_assert_msg(rc == 0, "retro_store_open %s: %d %s", buf, rc, why);
	ck_assert_ptr_nonnull(st);
	return st;
}

static int rm_one(const char *path, const struct stat *sb, int type,
		  struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	SRunner *sr;
	int failed;

	if (!tmp || tmp[0] != '/')
		tmp = "/tmp";
	if (snprintf(scratch, sizeof scratch, "%s/check_retro.XXXXXX", tmp) >=
		    (int)sizeof scratch ||
	    !mkdtemp(scratch)) {
		fprintf(stderr, "check_retro: cannot make a scratch directory "
				"under %s\n",
			tmp);
		return EXIT_FAILURE;
	}
	/* Stores made here keep their shared-memory spool under the scratch
	 * root too, so that nothing outlives the run. */
	setenv("RETRO_SPOOL_BASE", scratch, 1);
	sr = srunner_create(make_codec_suite());
	srunner_add_suite(sr, make_store_suite());
	srunner_add_suite(sr, make_import_suite());
	srunner_add_suite(sr, make_stack_suite());
	srunner_add_suite(sr, make_pathnorm_suite());
	srunner_add_suite(sr, make_os_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	/* Tests chmod and symlink inside it; FTW_PHYS removes links, not
	 * their targets. */
	chmod(scratch, 0700);
	nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
