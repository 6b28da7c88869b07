/* Lexical path normalization. */
#include "config.h"
#include "suites.h"
#include "pathnorm.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *in, *out;
} cases[] = {
	{ "/a//b/./c/../d", "/a/b/d" },
	{ "/..", "/" },
	{ "/a/b/..", "/a" },
	{ "relative/x", "relative/x" },
	{ "relative/../x", "relative/../x" },
	{ "/", "/" },
	{ "//", "/" },
	{ "/.", "/" },
	{ "/./", "/" },
	{ "/a/", "/a" },
	{ "/a/.", "/a" },
	{ "/a/b/../..", "/" },
	{ "/a/b/../../../..", "/" },
	{ "/../a", "/a" },
	{ "/ab/..", "/" },
	{ "/a/../b/../c", "/c" },
	{ "/a/.../b", "/a/.../b" },
	{ "/a/..b/.c/c.", "/a/..b/.c/c." },
	{ "/.hidden/x", "/.hidden/x" },
	{ "///usr///lib//", "/usr/lib" },
	{ "pipe:[1234]", "pipe:[1234]" },
	{ "", "" },
};

#define NCASES (sizeof cases / sizeof *cases)

START_TEST(normalize)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof buf, "%s", cases[_i].in);
	retro_path_normalize(buf);
	ck_assert_msg(strcmp(buf, cases[_i].out) == 0,
		      "\"%s\" became \"%s\", expected \"%s\"", cases[_i].in,
		      buf, cases[_i].out);
}
END_TEST

START_TEST(idempotent)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof buf, "%s", cases[_i].out);
	retro_path_normalize(buf);
	ck_assert_str_eq(buf, cases[_i].out);
}
END_TEST

START_TEST(in_place_no_overrun)
{
	/* The result is never longer than its input: bytes past the
	 * terminator stay as they were. */
	char buf[32];

	memset(buf, '#', sizeof buf);
	memcpy(buf, "/x/./y/", 8);
	retro_path_normalize(buf);
	ck_assert_str_eq(buf, "/x/y");
	for (size_t i = 8; i < sizeof buf; i++)
		ck_assert_int_eq(buf[i], '#');
}
END_TEST

Suite *make_pathnorm_suite(void)
{
	Suite *s = suite_create("pathnorm");
	TCase *tc = tcase_create("normalize");

	tcase_add_loop_test(tc, normalize, 0, NCASES);
	tcase_add_loop_test(tc, idempotent, 0, NCASES);
	tcase_add_test(tc, in_place_no_overrun);
	suite_add_tcase(s, tc);
	return s;
}
