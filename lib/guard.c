/* A crash inside liblmdb is a damaged store, not a bug of the reader.
 *
 * LMDB keeps no checksums: a flipped byte in a branch or leaf page can send
 * liblmdb (or a reader copying a value it returned) through a wild pointer.
 * Every open store registers its memory map here; retro-replay installs a
 * handler for SIGSEGV and SIGBUS that, when the fault is on such a map or
 * inside liblmdb's code, says which store is corrupt and exits 2.  Any
 * other fault is a bug: the handler steps aside and the process dies of
 * its signal as it would have.  fsck instead walks in a child process, so
 * that it can report the damage as a verdict. */
#include "config.h"
#include "store_int.h"

#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#define NMAPS 8

static struct {
	uintptr_t lo, hi;
	const struct retro_store *st;
} maps[NMAPS];

static uintptr_t lmdb_lo, lmdb_hi;
static const char *guard_prog;

/* LMDB does not tell where it mapped the file (mdb_env_info's me_mapaddr
 * is the MDB_FIXEDMAP address): /proc/self/maps does. */
static int find_map(const char *file, uintptr_t *lo, uintptr_t *hi)
{
	char line[PATH_MAX + 128];
	unsigned long a, b;
	FILE *f = fopen("/proc/self/maps", "re");
	int n, found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &a, &b, &n) >= 2 &&
		    n > 0 && !strcmp(line + n, file)) {
			*lo = a;
			*hi = b;
			found = 1;
		}
	}
	fclose(f);
	return found;
}

int retro_store_map(const struct retro_store *st, uintptr_t *lo, uintptr_t *hi)
{
	char file[PATH_MAX + 16];

	snprintf(file, sizeof file, "%s/data.mdb", st->path);
	return find_map(file, lo, hi);
}

void retro_guard_map(const struct retro_store *st)
{
	char file[PATH_MAX + 16];
	uintptr_t lo, hi;

	/* only where the guard is on: the shim opens stores too */
	if (!guard_prog)
		return;
	snprintf(file, sizeof file, "%s/data.mdb", st->path);
	if (!find_map(file, &lo, &hi))
		return;
	for (int i = 0; i < NMAPS; i++) {
		const struct retro_store *none = NULL;
		if (__atomic_compare_exchange_n(&maps[i].st, &none, st, 0,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			maps[i].lo = lo;
			maps[i].hi = hi;
			return;
		}
	}
}

void retro_guard_unmap(const struct retro_store *st)
{
	for (int i = 0; i < NMAPS; i++)
		if (__atomic_load_n(&maps[i].st, __ATOMIC_ACQUIRE) == st) {
			maps[i].lo = maps[i].hi = 0;
			__atomic_store_n(&maps[i].st, NULL, __ATOMIC_RELEASE);
		}
}

static int find_lmdb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (!info->dlpi_name || !strstr(info->dlpi_name, "liblmdb"))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			lmdb_lo = info->dlpi_addr + ph->p_vaddr;
			lmdb_hi = lmdb_lo + ph->p_memsz;
		}
	}
	return 1;
}

static size_t put(char *buf, size_t o, size_t n, const char *s)
{
	while (*s && o + 1 < n)
		buf[o++] = *s++;
	return o;
}

/* Says that st is corrupt (what went wrong: a and b) and exits 2.  Only
 * async-signal-safe calls: it runs in a fault handler. */
static void die_corrupt(const struct retro_store *st, const char *a,
			const char *b)
{
	char msg[PATH_MAX * 2 + 512];
	size_t o = 0;

	o = put(msg, o, sizeof msg, guard_prog);
	o = put(msg, o, sizeof msg, ": ");
	o = put(msg, o, sizeof msg, st->path);
	o = put(msg, o, sizeof msg, ": the store is corrupt: ");
	o = put(msg, o, sizeof msg, a);
	o = put(msg, o, sizeof msg, b);
	o = put(msg, o, sizeof msg, "; retro-replay fsck ");
	o = put(msg, o, sizeof msg, st->path);
	o = put(msg, o, sizeof msg, " lists the damage\n");
	if (write(2, msg, o) < 0)
		_exit(2);
	_exit(2);
}

static void on_fault(int sig, siginfo_t *si, void *ucv)
{
	uintptr_t addr = (uintptr_t)si->si_addr, pc = 0;
	const struct retro_store *st = NULL;
	int in_lmdb;

#if defined(__x86_64__)
	pc = (uintptr_t)((ucontext_t *)ucv)->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	pc = (uintptr_t)((ucontext_t *)ucv)->uc_mcontext.pc;
#else
	(void)ucv;
#endif
	in_lmdb = pc && pc >= lmdb_lo && pc < lmdb_hi;
	for (int i = 0; i < NMAPS && !st; i++)
		if (maps[i].st && addr >= maps[i].lo && addr < maps[i].hi)
			st = maps[i].st;
	if (in_lmdb)
		for (int i = 0; i < NMAPS && !st; i++)
			st = maps[i].st;
	if (!st)
		return; /* not ours: SA_RESETHAND lets the fault kill us */
	die_corrupt(st, in_lmdb ? "reading it crashed inside liblmdb"
				: "reading it crashed on its memory map",
		    sig == SIGBUS ? " (SIGBUS)" : " (SIGSEGV)");
}

/* liblmdb's assertions (mdb_env_set_assert) check page invariants: a
 * failed one is damage too.  Without the guard, liblmdb aborts. */
void retro_guard_assert(MDB_env *env, const char *what)
{
	const struct retro_store *st = NULL;

	if (!guard_prog)
		return;
	for (int i = 0; i < NMAPS && !st; i++)
		if (maps[i].st && maps[i].st->env == env)
			st = maps[i].st;
	if (!st)
		return;
	die_corrupt(st, "liblmdb: ", what);
}

void retro_crash_guard(const char *prog)
{
	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
	struct sigaction sa;

	guard_prog = prog;
	if (!prog) {
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		return;
	}
	/* loaded now, so that its text is known (find_lmdb) */
	retro_mdb_load();
	dl_iterate_phdr(find_lmdb, NULL);
	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}
