/* The unit suites of check_retro, and the helpers they share. */
#ifndef RETRO_TESTS_SUITES_H
#define RETRO_TESTS_SUITES_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "spool.h"

Suite *make_codec_suite(void);
Suite *make_store_suite(void);
Suite *make_import_suite(void);
Suite *make_stack_suite(void);
Suite *make_pathnorm_suite(void);
Suite *make_os_suite(void);

/* ---- check_main.c -------------------------------------------------------- */

/* Makes a fresh, empty directory for one test under the run's scratch root
 * (removed as a whole when the run ends, whatever the tests did) and copies
 * its path into buf. */
void test_tmpdir(char *buf, size_t n);

/* Writes len bytes to a new file at path with mode 0600. */
void test_write_file(const char *path, const void *data, size_t len);

/* Returns 1 when path exists (lstat), else 0. */
int test_exists(const char *path);

/* Makes a new store at dir/name and copies its path into buf. */
struct retro_store;
struct retro_store *test_store_new(const char *dir, const char *name,
				   char *buf, size_t n);

/* ---- check_import.c: hand-made spool segments ---------------------------- */

#define TEST_SEG_SIZE (64u << 10)

struct test_seg {
	unsigned char *map; /* TEST_SEG_SIZE bytes, header first */
	size_t used;        /* record bytes after the header */
};

/* Starts a sealed segment of the given identity. */
void seg_init(struct test_seg *s, uint32_t proc, uint32_t image,
	      uint32_t thread, uint32_t segno, int32_t tid);
void seg_free(struct test_seg *s);
struct retro_seg_hdr *seg_hdr(struct test_seg *s);

uint64_t test_path_id(const char *path);
void seg_add_path(struct test_seg *s, uint64_t id, const char *path);
void seg_add_stack(struct test_seg *s, uint64_t id, const uint64_t *pc,
		   uint32_t n);
void seg_add_module(struct test_seg *s, uint64_t base, uint64_t size,
		    uint64_t bias, const uint8_t *build_id,
		    uint32_t build_id_len, const char *path);

void seg_add_clock(struct test_seg *s, int64_t mono, int64_t real);

/* Appends an action record in state (RS_*), with datalen bytes of data
 * (RA_DATA and the XXH3-128 hash of data are set when data is given).  The
 * returned record stays valid until seg_free(). */
struct retro_rec_action *seg_add_action(struct test_seg *s, int state,
					uint16_t call, uint64_t seq,
					int64_t start, int64_t end,
					const void *data, uint32_t datalen);

/* Writes the segment to store/spool/<its retro_seg_name()> and copies that
 * path into path (if not NULL). */
void seg_write(struct test_seg *s, const char *store, char *path, size_t n);

#endif
