/* liblmdb, loaded when a store is first opened.
 *
 * libretro.so is loaded into every recorded process, and most of them never
 * open a store: under `record` the command imports, and a process only
 * writes its spool.  Linking liblmdb made each of them map and relocate it
 * (and its libpthread stub) at start, about 0.12 ms a process here, which a
 * build of a thousand processes pays a thousand times.  So nothing links
 * it: store_int.h routes every mdb_* call through retro_mdb, which
 * retro_mdb_load fills from dlopen. */
#define RETRO_MDB_IMPL
#include "config.h"
#include "store_int.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

struct retro_mdb_fns retro_mdb;

static int state; /* 0: not tried, 1: loaded, -1: failed */
static char why[256];

int retro_mdb_load(void)
{
	struct retro_mdb_fns f;
	const char *e;
	void *h;
	int s = __atomic_load_n(&state, __ATOMIC_ACQUIRE);

	if (s)
		return s > 0 ? 0 : ELIBACC;
	/* Threads that race here get the same handle and the same
	 * addresses: dlopen counts references and never unloads (no
	 * dlclose). */
	h = dlopen(RETRO_LMDB_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		e = dlerror();
		goto fail;
	}
#define RETRO_MDB_SYM(n)                                            \
	*(void **)&f.n = dlsym(h, "mdb_" #n);                       \
	if (!f.n) {                                                 \
		e = "liblmdb has no mdb_" #n " (too old?)";         \
		goto fail;                                          \
	}
	RETRO_MDB_FNS(RETRO_MDB_SYM)
#undef RETRO_MDB_SYM
	memcpy(&retro_mdb, &f, sizeof f);
	__atomic_store_n(&state, 1, __ATOMIC_RELEASE);
	return 0;
fail:
	snprintf(why, sizeof why, "cannot load %s: %s", RETRO_LMDB_SONAME,
		 e ? e : "unknown error");
	__atomic_store_n(&state, -1, __ATOMIC_RELEASE);
	return ELIBACC;
}

const char *retro_mdb_why(void)
{
	return why;
}
