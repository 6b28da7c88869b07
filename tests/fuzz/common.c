/* What the fuzz targets share: a private store, emptied between inputs,
 * and every reader of retro-replay run over it. */
#include "config.h"
#include "fuzz.h"
#include "store_int.h"
#include "model.h"
#include "../../replay/cmd.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[PATH_MAX], store[PATH_MAX + 8];

static void remove_dir(void)
{
	char cmd[PATH_MAX + 16];

	if (!dir[0])
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz: could not remove %s\n", dir);
}

const char *fuzz_store_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	struct retro_store *st;
	char why[PATH_MAX + 256];
	int rc, fd;

	if (store[0])
		return store;
	snprintf(dir, sizeof dir, "%s/retro-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("fuzz: mkdtemp");
		abort();
	}
	atexit(remove_dir);
	/* files the model rebuilds stay within libFuzzer's memory limits */
	retro_model_max = 64 << 20;
	snprintf(store, sizeof store, "%s/store", dir);
	/* the spool in the store, a map small enough for any /tmp */
	setenv("RETRO_SPOOL_BASE", "none", 1);
	setenv("RETRO_MAPSIZE", "268435456", 1);
	rc = retro_store_open(store, RETRO_OPEN_CREATE, &st, why, sizeof why);
	if (rc) {
		fprintf(stderr, "fuzz: %s: %s\n", store, why);
		abort();
	}
	retro_store_close(st);
	/* What the readers print is not under test, only that they survive. */
	fd = getenv("FUZZ_VERBOSE") ? -1 : open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 1);
		close(fd);
	}
	return store;
}

void fuzz_tables(const struct retro_store *st, MDB_dbi dbis[FUZZ_NTABLES])
{
	dbis[0] = st->meta;
	dbis[1] = st->chunks;
	dbis[2] = st->paths;
	dbis[3] = st->blobs;
	dbis[4] = st->stacks;
	dbis[5] = st->modules;
	dbis[6] = st->segments;
	dbis[7] = st->clock;
	dbis[8] = st->waits;
}

struct retro_store *fuzz_store_reset(void)
{
	MDB_dbi dbis[FUZZ_NTABLES];
	struct retro_store *st;
	MDB_txn *txn;
	MDB_val k = { 6, "format" }, v;
	uint32_t ver = RETRO_FORMAT_VERSION;
	char why[PATH_MAX + 256];
	int rc;

	rc = retro_store_open(fuzz_store_dir(), 0, &st, why, sizeof why);
	if (rc) {
		fprintf(stderr, "fuzz: %s\n", why);
		abort();
	}
	fuzz_tables(st, dbis);
	rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	for (int i = 0; !rc && i < FUZZ_NTABLES; i++)
		rc = mdb_drop(txn, dbis[i], 0);
	v.mv_size = sizeof ver;
	v.mv_data = &ver;
	if (!rc)
		rc = mdb_put(txn, st->meta, &k, &v, 0);
	if (!rc)
		rc = mdb_txn_commit(txn);
	if (rc) {
		fprintf(stderr, "fuzz: emptying the store: %s\n", mdb_strerror(rc));
		abort();
	}
	return st;
}

static void run(int (*cmd)(int, char **), const char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	optind = 0; /* glibc: start getopt afresh */
	cmd(argc, (char **)argv);
	fflush(stdout);
}

void fuzz_readers(const char *cat_path, const char *at, int stacks)
{
	const char *s = fuzz_store_dir();
	struct retro_store *st;
	char why[PATH_MAX + 256];
	FILE *null;

	run(cmd_ps, (const char *[]){ "ps", s, NULL });
	run(cmd_ps, (const char *[]){ "ps", "--json", s, NULL });
	/* Symbolizing opens the recorded modules' files (libc: some 70 ms):
	 * only for the inputs that ask. */
	if (stacks)
		run(cmd_log, (const char *[]){ "log", "-v", "--stacks", s, NULL });
	else
		run(cmd_log, (const char *[]){ "log", "-v", s, NULL });
	run(cmd_log, (const char *[]){ "log", "--json", s, NULL });
	run(cmd_files, (const char *[]){ "files", s, NULL });
	run(cmd_files, (const char *[]){ "files", "--json", s, NULL });
	if (cat_path) {
		run(cmd_cat, (const char *[]){ "cat", s, cat_path, NULL });
		run(cmd_cat, (const char *[]){ "cat", "--at", at, s, cat_path, NULL });
	}
	run(cmd_check, (const char *[]){ "check", s, NULL });
	run(cmd_check, (const char *[]){ "check", "--json", "--all", s, NULL });
	retro_stack_forget();
	if (retro_store_open(s, RETRO_OPEN_RDONLY, &st, why, sizeof why) == 0) {
		null = fopen("/dev/null", "we");
		if (null) {
			fsck_walk(st, s, null);
			fclose(null);
		}
		retro_store_close(st);
	}
}
