/* Call sites: a stack recorded against this very test binary comes back
 * symbolized. */
#include "config.h"
#include "suites.h"
#include "store_int.h"

#include <elf.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <retro/retro.h>

/* The function whose name the symbolizer must find.  Not static: it must
 * be in the symbol table whatever the optimization level. */
void retro_test_stack_marker(void);

void __attribute__((noinline)) retro_test_stack_marker(void)
{
	static volatile int calls;

	calls++;
	calls *= 3;
}

struct self {
	uint64_t base, size, bias;
	uint8_t build_id[20];
	uint32_t build_id_len;
	char path[PATH_MAX];
	int found;
};

/* What the recorder's module_cb computes, for the object that holds the
 * marker. */
static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct self *m = arg;
	uint64_t lo = UINT64_MAX, hi = 0;
	uint64_t pc = (uint64_t)(uintptr_t)&retro_test_stack_marker;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t a = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD)
			continue;
		if (a < lo)
			lo = a;
		if (a + ph->p_memsz > hi)
			hi = a + ph->p_memsz;
	}
	if (pc < lo || pc >= hi)
		return 0;
	m->base = lo;
	m->size = hi - lo;
	m->bias = info->dlpi_addr;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const char *p, *end;

		if (ph->p_type != PT_NOTE)
			continue;
		p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const void *)p;
			const char *name = p + sizeof *nh;
			const char *desc = name + ((nh->n_namesz + 3) & ~3u);

			if (nh->n_type == NT_GNU_BUILD_ID &&
			    nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
			    nh->n_descsz <= 20 && desc + nh->n_descsz <= end) {
				memcpy(m->build_id, desc, nh->n_descsz);
				m->build_id_len = nh->n_descsz;
				break;
			}
			p = desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
	if (info->dlpi_name && info->dlpi_name[0]) {
		snprintf(m->path, sizeof m->path, "%s", info->dlpi_name);
	} else {
		ssize_t n = readlink("/proc/self/exe", m->path,
				     sizeof m->path - 1);
		m->path[n > 0 ? n : 0] = 0;
	}
	m->found = 1;
	return 1;
}

static void self_get(struct self *m)
{
	memset(m, 0, sizeof *m);
	dl_iterate_phdr(find_self, m);
	ck_assert_msg(m->found, "no loaded object holds the marker");
	ck_assert_msg(m->path[0] == '/', "path of the test binary: %s",
		      m->path);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

#define STACK_ID 0x51ull

/* One process with the test binary as a module and one action whose stack
 * is pcs; imports it and returns the action's stack key. */
static uint64_t record_stack(struct retro_store **stp, const struct self *m,
			     int64_t shift, const uint64_t *pcs, uint32_t n,
			     uint32_t proc, const char *store)
{
	struct test_seg s;
	struct retro_import_stats stats;
	struct retro_recording r;
	struct retro_rec_action *a;
	char why[512];
	uint64_t key = 0;

	seg_init(&s, proc, 0, 1, 0, 77);
	seg_add_module(&s, m->base + (uint64_t)shift, m->size,
		       m->bias + (uint64_t)shift, m->build_id,
		       m->build_id_len, m->path);
	seg_add_stack(&s, STACK_ID, pcs, n);
	a = seg_add_action(&s, RS_DONE, RC_fsync, 1, 100, 200, NULL, 0);
	a->stack = STACK_ID;
	retro_rec_args(a)[0] = 1;
	seg_write(&s, store, NULL, 0);
	seg_free(&s);
	ck_assert_int_eq(retro_import(*stp, 0, 0, &stats), 0);
	ck_assert_uint_eq(stats.segments, 1);
	ck_assert_int_eq(retro_load(*stp, &r, why, sizeof why), 0);
	for (size_t i = 0; i < r.nacts; i++)
		if (r.acts[i].proc == proc)
			key = r.acts[i].stack;
	retro_recording_free(&r);
	ck_assert_uint_ne(key, 0);
	return key;
}

START_TEST(describe_self)
{
	struct self m;
	struct retro_store *st;
	char dir[PATH_MAX], store[PATH_MAX], buf[4096];
	/* a return address lies just after the call instruction */
	uint64_t pcs[2] = { (uint64_t)(uintptr_t)&retro_test_stack_marker + 1,
			    0x10 };
	uint64_t key;

	self_get(&m);
	ck_assert_uint_gt(m.build_id_len, 0);
	test_tmpdir(dir, sizeof dir);
	st = test_store_new(dir, "s", store, sizeof store);
	key = record_stack(&st, &m, 0, pcs, 2, 1, store);
	ck_assert_int_eq(retro_stack_describe(st, key, buf, sizeof buf), 0);
	ck_assert_msg(strncmp(buf, "retro_test_stack_marker ", 24) == 0,
		      "stack: %s", buf);
	/* a frame outside every module is shown raw */
	ck_assert_msg(strstr(buf, " <- 0x10") != NULL, "stack: %s", buf);
	retro_store_close(st);
}
END_TEST

START_TEST(describe_without_build_id)
{
	/* Modules without a build-id are keyed by their path. */
	struct self m;
	struct retro_store *st;
	char dir[PATH_MAX], store[PATH_MAX], buf[4096];
	uint64_t pc = (uint64_t)(uintptr_t)&retro_test_stack_marker + 1;
	uint64_t key;

	self_get(&m);
	m.build_id_len = 0;
	test_tmpdir(dir, sizeof dir);
	st = test_store_new(dir, "s", store, sizeof store);
	key = record_stack(&st, &m, 0, &pc, 1, 1, store);
	ck_assert_int_eq(retro_stack_describe(st, key, buf, sizeof buf), 0);
	ck_assert_msg(strstr(buf, "retro_test_stack_marker") != NULL,
		      "stack: %s", buf);
	retro_store_close(st);
}
END_TEST

START_TEST(describe_fifo_module)
{
	/* A module path that names a FIFO (a crafted store) is not opened
	 * for reading, which would wait for a writer forever: the frame is
	 * shown as module+offset. */
	struct self m;
	struct retro_store *st;
	char dir[PATH_MAX], store[PATH_MAX], buf[4096];
	uint64_t pc = (uint64_t)(uintptr_t)&retro_test_stack_marker + 1;
	uint64_t key;

	self_get(&m);
	m.build_id_len = 0;
	test_tmpdir(dir, sizeof dir);
	ck_assert_int_lt(snprintf(m.path, sizeof m.path, "%s/fifo-module", dir),
			 (int)sizeof m.path);
	ck_assert_int_eq(mkfifo(m.path, 0600), 0);
	st = test_store_new(dir, "s", store, sizeof store);
	key = record_stack(&st, &m, 0, &pc, 1, 1, store);
	ck_assert_int_eq(retro_stack_describe(st, key, buf, sizeof buf), 0);
	ck_assert_msg(strncmp(buf, "fifo-module+0x", 14) == 0, "stack: %s", buf);
	retro_store_close(st);
}
END_TEST

START_TEST(describe_build_id_differs)
{
	/* The file at the module's path is no longer the one that ran. */
	struct self m;
	struct retro_store *st;
	char dir[PATH_MAX], store[PATH_MAX], buf[4096], want[PATH_MAX + 8];
	uint64_t pc = (uint64_t)(uintptr_t)&retro_test_stack_marker + 1;
	uint64_t key;

	self_get(&m);
	ck_assert_uint_gt(m.build_id_len, 0);
	m.build_id[0] ^= 0xff;
	test_tmpdir(dir, sizeof dir);
	st = test_store_new(dir, "s", store, sizeof store);
	key = record_stack(&st, &m, 0, &pc, 1, 1, store);
	ck_assert_int_eq(retro_stack_describe(st, key, buf, sizeof buf), 0);
	snprintf(want, sizeof want, "%s+0x", base_name(m.path));
	ck_assert_msg(strncmp(buf, want, strlen(want)) == 0, "stack: %s", buf);
	ck_assert_msg(strstr(buf, "[build-id differs]") != NULL, "stack: %s",
		      buf);
	ck_assert_msg(strstr(buf, "retro_test_stack_marker") == NULL,
		      "stack: %s", buf);
	retro_store_close(st);
}
END_TEST

START_TEST(key_ignores_load_address)
{
	/* The same call site in two processes loaded at different addresses
	 * (ASLR) is one stack. */
	struct self m;
	struct retro_store *st;
	char dir[PATH_MAX], store[PATH_MAX], buf[4096];
	uint64_t pc = (uint64_t)(uintptr_t)&retro_test_stack_marker + 1;
	uint64_t pc2 = pc + 0x40000000, k1, k2;

	self_get(&m);
	test_tmpdir(dir, sizeof dir);
	st = test_store_new(dir, "s", store, sizeof store);
	k1 = record_stack(&st, &m, 0, &pc, 1, 1, store);
	k2 = record_stack(&st, &m, 0x40000000, &pc2, 1, 2, store);
	ck_assert_uint_eq(k1, k2);
	ck_assert_int_eq(retro_stack_describe(st, k2, buf, sizeof buf), 0);
	ck_assert_msg(strstr(buf, "retro_test_stack_marker") != NULL,
		      "stack: %s", buf);
	retro_store_close(st);
}
END_TEST

START_TEST(describe_small_buffer)
{
	struct self m;
	struct retro_store *st;
	char dir[PATH_MAX], store[PATH_MAX], buf[64];
	uint64_t pcs[3] = { 0x10, 0x20, 0x30 };
	uint64_t key;

	self_get(&m);
	test_tmpdir(dir, sizeof dir);
	st = test_store_new(dir, "s", store, sizeof store);
	key = record_stack(&st, &m, 0, pcs, 3, 1, store);
	ck_assert_int_eq(retro_stack_describe(st, key, buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "0x10 <- 0x20 <- 0x30");
	memset(buf, '#', sizeof buf);
	ck_assert_int_eq(retro_stack_describe(st, key, buf, 9), 0);
	ck_assert_str_eq(buf, "0x10 <- ");
	for (size_t i = 9; i < sizeof buf; i++)
		ck_assert_int_eq(buf[i], '#');
	retro_store_close(st);
}
END_TEST

START_TEST(describe_unknown)
{
	struct retro_store *st;
	char dir[PATH_MAX], store[PATH_MAX], buf[64];

	test_tmpdir(dir, sizeof dir);
	st = test_store_new(dir, "s", store, sizeof store);
	strcpy(buf, "junk");
	ck_assert_int_eq(retro_stack_describe(st, 0, buf, sizeof buf),
			 RETRO_ENOTFOUND);
	ck_assert_str_eq(buf, "");
	strcpy(buf, "junk");
	ck_assert_int_eq(retro_stack_describe(st, 0x12345, buf, sizeof buf),
			 RETRO_ENOTFOUND);
	ck_assert_str_eq(buf, "");
	retro_store_close(st);
}
END_TEST

Suite *make_stack_suite(void)
{
	Suite *s = suite_create("stack");
	TCase *tc = tcase_create("describe");

	/* libdw reads this binary's symbols and line table */
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, describe_self);
	tcase_add_test(tc, describe_without_build_id);
	tcase_add_test(tc, describe_fifo_module);
	tcase_add_test(tc, describe_build_id_differs);
	tcase_add_test(tc, key_ignores_load_address);
	tcase_add_test(tc, describe_small_buffer);
	tcase_add_test(tc, describe_unknown);
	suite_add_tcase(s, tc);
	return s;
}
