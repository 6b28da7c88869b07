/* Fault injection through the retro_os table, for tests.
 *
 * RETRO_FAULT=NAME:ERRNO:SKIP makes lib/'s own NAME call (fallocate,
 * openat, mmap, ftruncate, prctl) fail with ERRNO (ENOSPC, EMFILE, EINTR,
 * EIO, EINVAL, ENOMEM, EDQUOT) after SKIP successful calls.  The recorded program's own calls
 * are never touched: only what lib/ does on its behalf. */
#include "config.h"
#include "os.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int fault_err;
static long fault_skip;
static struct retro_os saved;

static int fire(void)
{
	return __atomic_fetch_sub(&fault_skip, 1, __ATOMIC_RELAXED) <= 0;
}

static long f_fallocate(int fd, int mode, off_t off, off_t len)
{
	return fire() ? -fault_err : saved.fallocate(fd, mode, off, len);
}
static long f_openat(int dfd, const char *p, int fl, int mode)
{
	return fire() ? -fault_err : saved.openat(dfd, p, fl, mode);
}
static long f_mmap(void *a, size_t l, int prot, int fl, int fd, off_t off)
{
	return fire() ? -fault_err : saved.mmap(a, l, prot, fl, fd, off);
}
static long f_ftruncate(int fd, off_t len)
{
	return fire() ? -fault_err : saved.ftruncate(fd, len);
}

static long f_prctl(long op, long a, long b, long c, long d)
{
	return fire() ? -fault_err : saved.prctl(op, a, b, c, d);
}

static const struct {
	const char *name;
	int err;
} errs[] = { { "ENOSPC", ENOSPC }, { "EMFILE", EMFILE }, { "EINTR", EINTR },
	     { "EIO", EIO },	   { "ENOMEM", ENOMEM }, { "EDQUOT", EDQUOT },
	     { "EINVAL", EINVAL } };

int retro_fault_setup(const char *spec)
{
	char name[32], err[32];
	const char *a, *b;
	size_t n;

	if (!spec || !*spec)
		return 0;
	a = strchr(spec, ':');
	b = a ? strchr(a + 1, ':') : NULL;
	if (!a || !b || (size_t)(a - spec) >= sizeof name ||
	    (size_t)(b - a - 1) >= sizeof err)
		return EINVAL;
	n = (size_t)(a - spec);
	memcpy(name, spec, n);
	name[n] = 0;
	n = (size_t)(b - a - 1);
	memcpy(err, a + 1, n);
	err[n] = 0;
	fault_err = 0;
	for (size_t i = 0; i < sizeof errs / sizeof *errs; i++)
		if (!strcmp(err, errs[i].name))
			fault_err = errs[i].err;
	if (!fault_err)
		return EINVAL;
	fault_skip = atol(b + 1);
	saved = retro_os;
	if (!strcmp(name, "fallocate"))
		retro_os.fallocate = f_fallocate;
	else if (!strcmp(name, "openat"))
		retro_os.openat = f_openat;
	else if (!strcmp(name, "mmap"))
		retro_os.mmap = f_mmap;
	else if (!strcmp(name, "ftruncate"))
		retro_os.ftruncate = f_ftruncate;
	else if (!strcmp(name, "prctl"))
		retro_os.prctl = f_prctl;
	else
		return EINVAL;
	return 0;
}
