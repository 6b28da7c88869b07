/* Call sites, symbolized only when shown.
 *
 * A stored frame is (module key, offset in the module's address space, raw
 * pc).  The module key names a build-id and the path it was loaded from;
 * libdw reads that file's symbols and, where there is debug info, its line
 * table.  A file whose build-id no longer matches is reported as such. */
#include "config.h"
#include "store_int.h"
#include "spool.h"
#include "dl.h"

#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* libdw is loaded when a call site is first symbolized, not linked:
 * mapping and relocating it with libelf, libz, liblzma and libbz2 cost
 * every retro-replay command about 0.25 ms, and only --stacks uses it.
 * When it cannot be loaded, frames show as module+offset. */
#define DW_FNS(X)                                                            \
	X(dwfl_begin) X(dwfl_end) X(dwfl_report_elf) X(dwfl_report_end)       \
	X(dwfl_module_build_id) X(dwfl_module_addrname)                       \
	X(dwfl_module_getsrc) X(dwfl_lineinfo)                                \
	X(dwfl_standard_find_debuginfo) X(dwfl_offline_section_address)

static struct {
#define DW_FIELD(n) __typeof__(&n) n;
	DW_FNS(DW_FIELD)
#undef DW_FIELD
} dw;
static int dw_state; /* 0: not tried, 1: loaded, -1: failed */
static Dwfl_Callbacks offline_cb;

static int dw_load(void)
{
#define DW_NAME(n) #n,
	static const char *const names[] = { DW_FNS(DW_NAME) };
#undef DW_NAME
	void *fns[sizeof names / sizeof *names];
	char why[256];

	_Static_assert(sizeof fns == sizeof dw, "dw holds one pointer per name");
	if (dw_state)
		return dw_state > 0;
	dw_state = -1;
	if (retro_dl_table(RETRO_DW_SONAME, "", names,
			   sizeof names / sizeof *names, fns, why, sizeof why))
		return 0;
	memcpy(&dw, fns, sizeof fns);
	offline_cb.find_debuginfo = dw.dwfl_standard_find_debuginfo;
	offline_cb.section_address = dw.dwfl_offline_section_address;
	dw_state = 1;
	return 1;
}

struct symmod {
	uint64_t key;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	int mismatch;
	char path[PATH_MAX];
};

static struct symmod symmods[64];
static int nsymmods;

static struct symmod *symmod_get(struct retro_store *st, uint64_t key)
{
	MDB_txn *txn;
	MDB_val k = { 8, &key }, v;
	struct symmod *m;
	unsigned char bid[20];
	int bidlen = 0, fd;
	struct stat sb;

	for (int i = 0; i < nsymmods; i++)
		if (symmods[i].key == key)
			return &symmods[i];
	if (nsymmods == 64)
		return NULL;
	m = &symmods[nsymmods];
	memset(m, 0, sizeof *m);
	if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn))
		return NULL;
	if (mdb_get(txn, st->modules, &k, &v) ||
	    retro_check_record(RT_MODULE, &k, &v)) {
		mdb_txn_abort(txn);
		return NULL;
	}
	bidlen = ((unsigned char *)v.mv_data)[0];
	if (bidlen > 20 || (size_t)bidlen + 1 > v.mv_size ||
	    v.mv_size - 1 - (size_t)bidlen >= sizeof m->path) {
		mdb_txn_abort(txn);
		return NULL;
	}
	memcpy(bid, (unsigned char *)v.mv_data + 1, (size_t)bidlen);
	memcpy(m->path, (char *)v.mv_data + 1 + bidlen,
	       v.mv_size - 1 - (size_t)bidlen);
	m->path[v.mv_size - 1 - (size_t)bidlen] = 0;
	mdb_txn_abort(txn);
	m->key = key;
	nsymmods++;
	m->dwfl = dw_load() ? dw.dwfl_begin(&offline_cb) : NULL;
	if (!m->dwfl)
		return m;
	/* The path comes from the store: only a regular file is read (a
	 * FIFO there would block the reader forever). */
	fd = open(m->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0 && (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0) {
		/* on success libdwfl owns fd */
		m->mod = dw.dwfl_report_elf(m->dwfl, m->path, m->path, fd, 0,
					    false);
		if (!m->mod)
			close(fd);
	}
	dw.dwfl_report_end(m->dwfl, NULL, NULL);
	if (m->mod && bidlen) {
		const unsigned char *b;
		GElf_Addr va;
		int n = dw.dwfl_module_build_id(m->mod, &b, &va);
		if (n != bidlen || memcmp(b, bid, (size_t)bidlen))
			m->mismatch = 1;
	}
	return m;
}

void retro_stack_forget(void)
{
	for (int i = 0; i < nsymmods; i++)
		if (symmods[i].dwfl)
			dw.dwfl_end(symmods[i].dwfl);
	nsymmods = 0;
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

int retro_stack_describe(struct retro_store *st, uint64_t key, char *buf,
			 size_t n)
{
	MDB_txn *txn;
	MDB_val k = { 8, &key }, v;
	uint64_t frames[RETRO_STACK_MAX * 3];
	size_t nf, o = 0;

	buf[0] = 0;
	if (!key)
		return RETRO_ENOTFOUND;
	if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn))
		return RETRO_ELMDB;
	if (mdb_get(txn, st->stacks, &k, &v)) {
		mdb_txn_abort(txn);
		return RETRO_ENOTFOUND;
	}
	if (retro_check_record(RT_STACK, &k, &v) || v.mv_size > sizeof frames) {
		mdb_txn_abort(txn);
		return RETRO_ECORRUPT;
	}
	memcpy(frames, v.mv_data, v.mv_size);
	nf = v.mv_size / 24;
	mdb_txn_abort(txn);
	for (size_t i = 0; i < nf && o + 1 < n; i++) {
		uint64_t mk = frames[i * 3], off = frames[i * 3 + 1];
		struct symmod *m = mk ? symmod_get(st, mk) : NULL;
		const char *fn = NULL, *file = NULL;
		int line = 0;
		char tmp[PATH_MAX + 128];

		if (m && m->mod && !m->mismatch) {
			Dwfl_Line *l;
			/* A return address points after the call. */
			fn = dw.dwfl_module_addrname(m->mod, off);
			l = dw.dwfl_module_getsrc(m->mod, off - 1);
			if (l)
				file = dw.dwfl_lineinfo(l, NULL, &line, NULL, NULL,
						     NULL);
		}
		if (fn && file)
			snprintf(tmp, sizeof tmp, "%s (%s:%d)", fn, base(file),
				 line);
		else if (fn)
			snprintf(tmp, sizeof tmp, "%s (%s+0x%llx)", fn,
				 base(m->path), (unsigned long long)off);
		else if (m)
			snprintf(tmp, sizeof tmp, "%s+0x%llx%s", base(m->path),
				 (unsigned long long)off,
				 m->mismatch ? " [build-id differs]" : "");
		else
			snprintf(tmp, sizeof tmp, "0x%llx",
				 (unsigned long long)frames[i * 3 + 2]);
		o += (size_t)snprintf(buf + o, n - o, "%s%s", i ? " <- " : "",
				      tmp);
		if (o >= n)
			o = n - 1;
	}
	return 0;
}
