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
#include "dl.h"

#include <errno.h>
#include <string.h>

struct retro_mdb_fns retro_mdb;

static int state; /* 0: not tried, 1: loaded, -1: failed */
static char why[256];

int retro_mdb_load(void)
{
#define RETRO_MDB_NAME(n) #n,
	static const char *const names[] = { RETRO_MDB_FNS(RETRO_MDB_NAME) };
#undef RETRO_MDB_NAME
	void *fns[sizeof names / sizeof *names];
	int s = __atomic_load_n(&state, __ATOMIC_ACQUIRE);

	_Static_assert(sizeof fns == sizeof retro_mdb,
		       "retro_mdb holds one pointer per name");
	if (s)
		return s > 0 ? 0 : ELIBACC;
	/* Threads that race here get the same handle and the same
	 * addresses: dlopen counts references and never unloads (no
	 * dlclose). */
	if (retro_dl_table(RETRO_LMDB_SONAME, "mdb_", names,
			   sizeof names / sizeof *names, fns, why, sizeof why)) {
		__atomic_store_n(&state, -1, __ATOMIC_RELEASE);
		return ELIBACC;
	}
	memcpy(&retro_mdb, fns, sizeof fns);
	__atomic_store_n(&state, 1, __ATOMIC_RELEASE);
	return 0;
}

const char *retro_mdb_why(void)
{
	return why;
}
