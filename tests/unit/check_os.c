/* The fault-injection seam: lib/'s own system calls go through retro_os,
 * which a test may override. */
#include "config.h"
#include "suites.h"
#include "os.h"
#include "dl.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define FILE_LEN 1000u

static struct retro_os real;
static unsigned preads, eintrs, closes, munmaps;

static void setup(void)
{
	retro_os_reset();
	real = retro_os;
	preads = eintrs = closes = munmaps = 0;
}

static void teardown(void)
{
	retro_os_reset();
}

static void make_file(char *path, size_t n, size_t len)
{
	unsigned char data[FILE_LEN * 2];
	char dir[PATH_MAX];

	ck_assert_uint_le(len, sizeof data);
	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)(i * 7 % 251);
	test_tmpdir(dir, sizeof dir);
	ck_assert_int_lt(snprintf(path, n, "%s/f", dir), (int)n);
	test_write_file(path, data, len);
}

static void assert_content(const unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		ck_assert_msg(buf[i] == (unsigned char)(i * 7 % 251),
			      "byte %zu is %u", i, buf[i]);
}

/* One byte per call, and EINTR once, after the third byte. */
static long pread_trickle(int fd, void *buf, size_t n, off_t off)
{
	preads++;
	if (preads == 4) {
		eintrs++;
		return -EINTR;
	}
	return real.pread(fd, buf, n ? 1 : 0, off);
}

static long pread_eio(int fd, void *buf, size_t n, off_t off)
{
	preads++;
	return -EIO;
}

/* Two bytes, then EIO. */
static long pread_eio_late(int fd, void *buf, size_t n, off_t off)
{
	if (++preads <= 2)
		return real.pread(fd, buf, 1, off);
	return -EIO;
}

static long close_counted(int fd)
{
	closes++;
	return real.close(fd);
}

static long munmap_counted(void *a, size_t n)
{
	munmaps++;
	return real.munmap(a, n);
}

START_TEST(slurp_plain)
{
	char path[PATH_MAX];
	void *buf = NULL;
	size_t len = 0, cap = 0;

	make_file(path, sizeof path, FILE_LEN);
	ck_assert_int_eq(retro_os_slurp(path, FILE_LEN, &buf, &len, &cap), 0);
	ck_assert_uint_eq(len, FILE_LEN);
	ck_assert_uint_ge(cap, FILE_LEN);
	assert_content(buf, len);
	retro_os_unslurp(buf, cap);
}
END_TEST

START_TEST(slurp_trickle_eintr)
{
	char path[PATH_MAX];
	void *buf = NULL;
	size_t len = 0, cap = 0;

	make_file(path, sizeof path, FILE_LEN);
	retro_os.pread = pread_trickle;
	ck_assert_int_eq(retro_os_slurp(path, 1 << 20, &buf, &len, &cap), 0);
	ck_assert_uint_eq(len, FILE_LEN);
	assert_content(buf, len);
	/* Every byte came through the seam, plus the one EINTR. */
	ck_assert_uint_eq(eintrs, 1);
	ck_assert_uint_eq(preads, FILE_LEN + 1);
	retro_os_unslurp(buf, cap);
}
END_TEST

START_TEST(slurp_eio)
{
	char path[PATH_MAX];
	void *buf = (void *)path;
	size_t len = 77, cap = 78;

	make_file(path, sizeof path, FILE_LEN);
	retro_os.pread = pread_eio;
	retro_os.close = close_counted;
	retro_os.munmap = munmap_counted;
	ck_assert_int_eq(retro_os_slurp(path, 1 << 20, &buf, &len, &cap),
			 -EIO);
	ck_assert_uint_eq(preads, 1);
	/* Nothing handed out, nothing leaked. */
	ck_assert_ptr_eq(buf, (void *)path);
	ck_assert_uint_eq(len, 77);
	ck_assert_uint_eq(cap, 78);
	ck_assert_uint_eq(closes, 1);
	ck_assert_uint_eq(munmaps, 1);
}
END_TEST

START_TEST(slurp_eio_after_data)
{
	char path[PATH_MAX];
	void *buf = NULL;
	size_t len = 0, cap = 0;

	make_file(path, sizeof path, FILE_LEN);
	retro_os.pread = pread_eio_late;
	retro_os.close = close_counted;
	retro_os.munmap = munmap_counted;
	ck_assert_int_eq(retro_os_slurp(path, 1 << 20, &buf, &len, &cap),
			 -EIO);
	/* retro_os_pread hands back the two bytes it had before the EIO;
	 * the next call gets the EIO */
	ck_assert_uint_eq(preads, 4);
	ck_assert_uint_eq(closes, 1);
	ck_assert_uint_eq(munmaps, 1);
}
END_TEST

START_TEST(reset_restores)
{
	char path[PATH_MAX];
	void *buf = NULL;
	size_t len = 0, cap = 0;

	make_file(path, sizeof path, FILE_LEN);
	retro_os.pread = pread_eio;
	retro_os.close = close_counted;
	retro_os_reset();
	ck_assert(retro_os.pread == real.pread);
	ck_assert(retro_os.close == real.close);
	ck_assert(retro_os.pread != pread_eio);
	ck_assert_int_eq(retro_os_slurp(path, 1 << 20, &buf, &len, &cap), 0);
	ck_assert_uint_eq(len, FILE_LEN);
	assert_content(buf, len);
	ck_assert_uint_eq(preads, 0);
	ck_assert_uint_eq(closes, 0);
	retro_os_unslurp(buf, cap);
}
END_TEST

START_TEST(slurp_too_big)
{
	char path[PATH_MAX];
	void *buf = (void *)path;
	size_t len = 5, cap = 6;

	make_file(path, sizeof path, FILE_LEN);
	retro_os.close = close_counted;
	ck_assert_int_eq(retro_os_slurp(path, FILE_LEN - 1, &buf, &len, &cap),
			 -EFBIG);
	ck_assert_ptr_eq(buf, (void *)path);
	ck_assert_uint_eq(len, 5);
	ck_assert_uint_eq(closes, 1);
	ck_assert_int_eq(retro_os_slurp(path, 0, &buf, &len, &cap), -EFBIG);
	/* exactly max is allowed */
	ck_assert_int_eq(retro_os_slurp(path, FILE_LEN, &buf, &len, &cap), 0);
	ck_assert_uint_eq(len, FILE_LEN);
	retro_os_unslurp(buf, cap);
}
END_TEST

START_TEST(slurp_empty)
{
	char path[PATH_MAX];
	void *buf = NULL;
	size_t len = 5, cap = 0;

	make_file(path, sizeof path, 0);
	ck_assert_int_eq(retro_os_slurp(path, 0, &buf, &len, &cap), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_uint_ge(cap, 1);
	ck_assert_ptr_nonnull(buf);
	retro_os_unslurp(buf, cap);
}
END_TEST

START_TEST(slurp_not_regular)
{
	char dir[PATH_MAX], path[PATH_MAX + 8];
	void *buf = NULL;
	size_t len = 0, cap = 0;

	test_tmpdir(dir, sizeof dir);
	ck_assert_int_eq(retro_os_slurp(dir, 1 << 20, &buf, &len, &cap),
			 -EINVAL);
	snprintf(path, sizeof path, "%s/none", dir);
	ck_assert_int_eq(retro_os_slurp(path, 1 << 20, &buf, &len, &cap),
			 -ENOENT);
}
END_TEST

/* retro_dl_table: what liblmdb and libdw are loaded with. */
START_TEST(dl_table)
{
	static const char *const ok[] = { "len", "cmp" };
	static const char *const missing[] = { "strlen", "no_such_function" };
	void *fns[2] = { NULL, NULL };
	char why[256];

	ck_assert_int_eq(retro_dl_table("libc.so.6", "str", ok, 2, fns, why,
					sizeof why), 0);
	ck_assert_ptr_eq(fns[0], (void *)strlen);
	ck_assert_ptr_eq(fns[1], (void *)strcmp);
	ck_assert_int_eq(retro_dl_table("libc.so.6", "", missing, 2, fns, why,
					sizeof why), -1);
	ck_assert_str_eq(why, "cannot load libc.so.6: it has no "
			      "no_such_function (too old?)");
	ck_assert_int_eq(retro_dl_table("libretro-none.so.9", "", ok, 2, fns,
					why, sizeof why), -1);
	ck_assert_msg(strstr(why, "cannot load libretro-none.so.9: ") == why,
		      "%s", why);
}
END_TEST

static void on_sig(int sig)
{
	(void)sig;
}

/* retro_os_caught_signals says what sigaction says of each signal:
 * handled or not, whatever its number (1, 31, 34 and 64 are near
 * the ends of its two 32-bit halves; glibc keeps 32 and 33). */
START_TEST(caught_signals)
{
	const int sigs[] = { SIGHUP, SIGUSR2, SIGSYS, SIGRTMIN, SIGRTMIN + 3, 64 };
	struct sigaction sa, ign, old[6], oldign;
	uint64_t mask = 0, want = 0;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sig;
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(sigaction(sigs[i], &sa, &old[i]), 0);
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	ck_assert_int_eq(sigaction(SIGUSR1, &ign, &oldign), 0);
	ck_assert_int_eq(retro_os_caught_signals(&mask), 0);
	for (int sig = 1; sig < 65; sig++) {
		struct sigaction q;
		if (sigaction(sig, NULL, &q) == 0 && q.sa_handler != SIG_DFL &&
		    q.sa_handler != SIG_IGN)
			want |= 1ull << (sig - 1);
	}
	ck_assert_uint_eq(mask, want);
	for (int i = 0; i < 6; i++)
		ck_assert_uint_eq(mask >> (sigs[i] - 1) & 1, 1);
	ck_assert_uint_eq(mask >> (SIGUSR1 - 1) & 1, 0);
	for (int i = 0; i < 6; i++)
		sigaction(sigs[i], &old[i], NULL);
	sigaction(SIGUSR1, &oldign, NULL);
}
END_TEST

Suite *make_os_suite(void)
{
	Suite *s = suite_create("os");
	TCase *tc = tcase_create("slurp");
	TCase *dl = tcase_create("dl");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, slurp_plain);
	tcase_add_test(tc, slurp_trickle_eintr);
	tcase_add_test(tc, slurp_eio);
	tcase_add_test(tc, slurp_eio_after_data);
	tcase_add_test(tc, reset_restores);
	tcase_add_test(tc, slurp_too_big);
	tcase_add_test(tc, slurp_empty);
	tcase_add_test(tc, slurp_not_regular);
	suite_add_tcase(s, tc);
	tcase_add_test(dl, dl_table);
	tcase_add_test(dl, caught_signals);
	suite_add_tcase(s, dl);
	return s;
}
