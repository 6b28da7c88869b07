/* Shared by the fuzz targets (tests/fuzz/README.md says what each covers).
 *
 * Each target defines LLVMFuzzerTestOneInput; clang's libFuzzer drives it
 * (tests/fuzz/build.sh), and driver.c replays files through it in the gcc
 * build that `make check` runs. */
#ifndef RETRO_FUZZ_H
#define RETRO_FUZZ_H

#include <stddef.h>
#include <lmdb.h>
#include <stdint.h>
#include <retro/retro.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* A private, empty store directory (made once per process, removed at
 * exit), whose spool is STORE/spool.  Aborts on failure: the target cannot
 * run without one. */
const char *fuzz_store_dir(void);

/* The store's nine tables, in the order the store fuzz target's input
 * numbers them (meta, chunks, paths, blobs, stacks, modules, segments,
 * clock, waits). */
#define FUZZ_NTABLES 9
void fuzz_tables(const struct retro_store *st, MDB_dbi dbis[FUZZ_NTABLES]);

/* Opens the store read-write and empties every table of it, so that each
 * input starts from nothing.  Aborts on failure. */
struct retro_store *fuzz_store_reset(void);

/* Runs every reader of retro-replay over the store, output discarded:
 * ps, log (-v, with --stacks when `stacks`; --json), files (also --json),
 * cat (cat_path, at `at` seconds and at the end), check (also --json
 * --all) and fsck's walk. */
void fuzz_readers(const char *cat_path, const char *at, int stacks);

#endif
