/* The recording runtime.
 *
 * Per call, the path is: one initial-exec TLS load, argument decoding by the
 * kinds of calls.def, a short libunwind backtrace, one xadd to reserve a
 * record in this thread's MAP_SHARED spool segment, the real call, and the
 * completion of the record.  No lock, no malloc, no LMDB, no system call of
 * our own except where the model needs one (the landing offset of write(2),
 * a pre-image at a file's first modification).
 *
 * Everything the runtime asks of the kernel goes through retro_os (os.h) or
 * a raw syscall, never through a symbol the shim interposes. */
#include "config.h"
#include "got.h"
#include "recorder.h"
#define RETRO_SHIM_SIDE
#include "shepherd.h"
#include "hash.h"
#include "os.h"
#include "sys.h"
#include "spool.h"
#include "store_int.h"
#include "calls_tab.h"
#include <retro/retro.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/single_threaded.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#else
#define __rdtsc() 0ull /* tsc_init leaves the TSC clock off */
#endif

#define PATH_SLOTS 1024
#define STACK_SLOTS 512
#define NFDS 65536
#define NINODES 4096
#define NMODULES 256
#define DATA_MAX (64u << 20)

enum { FE_KNOWN = 1, FE_NOSEEK = 2, FE_PREIMG = 4, FE_CREATED = 8,
       FE_RANDOM = 16, FE_NOTFILE = 32 /* a pipe, socket or device */,
       FE_EXTIN = 64 /* a terminal or a socket: input from outside */,
       /* the file offset (off_usable): this process opened the file
	* itself, not with O_APPEND, and shared it with no other
	* descriptor since (FE_OFFOWN); a regular file, as a stat said
	* (FE_REG); off holds its offset (FE_OFFVALID, while oepoch and
	* vepoch are P's) */
       FE_OFFOWN = 128, FE_REG = 256, FE_OFFVALID = 512 };

struct fdent {
	uint64_t path;
	uint32_t flags;
	uint32_t gen; /* new each time the entry changes (dircache) */
	int64_t off;
	uint32_t oepoch; /* P.off_epoch when the file was opened */
	uint32_t vepoch; /* P.off_vepoch when off was learnt */
};

/* The absolute paths of directory descriptors a thread made paths
 * relative to (openat and the other *at calls), so that such a call needs
 * no readlinkat of /proc/self/fd.  An entry holds while its descriptor's
 * entry (gen) and the process's renames (P.dir_epoch) are unchanged. */
/* The longest absolute path absolute() makes: a directory's (PATH_MAX at
 * most, as the kernel names it) and a relative path (as long again).  The
 * kernel resolves such a path; it could not name it back to us. */
#define ABS_MAX (2 * PATH_MAX)
/* Strings of ABS_MAX bytes or more are interned cut, ABS_MAX - 1 bytes
 * ending in CUT_MARK (intern_cut): the importer takes no path of 2 *
 * PATH_MAX bytes or more. */
#define CUT_MARK "...(cut)"

#define NDIRCACHE 4
struct dircache {
	int fd;
	uint32_t gen;
	uint32_t epoch;
	uint32_t len;
	char path[PATH_MAX];
};

struct retired {
	struct retro_seg_hdr *seg;
	size_t size;
	uint32_t segno; /* kept[]: the segment's number, for its name */
};

/* A thread keeps its last NKEPT sealed segments mapped: when record's
 * import has made one a pool file (spool.h), the thread takes it back
 * with its pages still mapped, and neither maps nor faults them again. */
#define NKEPT 2

/* The stack cache (capture_stack): SCACHE_SETS sets of SCACHE_WAYS
 * entries.  It was one entry per slot, indexed by (ra ^ sp >> 4) % 32:
 * two hot call sites that met in one slot (which ASLR decides anew at
 * every run) evicted each other at every call, and the run unwound every
 * stack again.  A python3 loop writing small files unwound four stacks a
 * file in one run out of five or so (1.9 us a file), none in the
 * others.  sqlite3 inserting 100,000 rows in 100 transactions cycles
 * through some 110 stacks, some from one frame reached through several
 * chains: it unwound 2,392 stacks when a chain replaced the frame's other
 * one; with an entry for each, 1,317 in 16 sets of 4 entries, 1,101 in
 * 32 and 113 in 64 (40 KiB a thread, its pages touched as entries are
 * used; no difference measured in a recorded loop of /bin/true). */
#define SCACHE_BITS 6
#define SCACHE_SETS (1u << SCACHE_BITS)
#define SCACHE_WAYS 4
#define SCACHE_POOL (SCACHE_SETS * SCACHE_WAYS)
struct stack_cache {
	uint64_t ra, sp;
	uint64_t id; /* hash of pc[], as emit_stack computes it */
	int n;
	/* The thread's seen_gen (its segment) when this entry's record was
	 * last written, truncated; 0: not in this segment for sure.  A hit
	 * whose record the segment holds reads no seen_stack[] slot: one
	 * page fewer after the system call. */
	uint32_t seen;
	uint64_t pc[RETRO_STACK_MAX];
	uint64_t at[RETRO_STACK_MAX];
};

#define NPEND 8

struct retro_thread {
	struct retro_seg_hdr *seg;
	size_t segsize;
	uint32_t index;
	uint32_t segno;
	int32_t tid;
	int guard;
	int depth;
	int *errnop; /* &errno: the thread's own, looked up once */
	int nretired;
	/* Signals that arrived while the recorder held this thread's state
	 * (guard set): their handlers run when it lets go (unguard), which
	 * reads npend at every call: here, on the first page. */
	int npend;
	/* Calls the fast path recorded, and kept bytes the kernel copied
	 * (data_copyv), for RETRO_FAST_DEBUG: counted at every such call,
	 * so on the first page too (a page touched after a system call
	 * costs a TLB miss here). */
	uint64_t nfast;
	uint64_t nkcopy;
	/* 1 + a descriptor of a file this thread's last open made, whose
	 * inode is not claimed yet (claim_settle); 0: none.  claim_gen: its
	 * entry's gen then, so that a descriptor another thread has closed
	 * meanwhile, and maybe reused, is not taken for it. */
	int claim_fd1;
	uint32_t claim_gen;
	struct retired retired[4];
	struct retired kept[NKEPT];
	unsigned kept_next;
	int seg_mapped; /* seg is a kept one: its pages are mapped already */
	int64_t seg_born; /* now() when seg was made (RETRO_SEG_SLOW) */
	uint64_t seq;
	uint64_t timereads;
	uint64_t lost;      /* calls not recorded since lost_since */
	int64_t lost_since;
	int lost_err;
	/* The last open that might have created its file found it there:
	 * the next is not tried with O_EXCL first (retro_open_pre).  In the
	 * padding before retry_at: the fields after it keep their places. */
	char excl_miss;
	uint64_t retry_at;  /* lost count at which to retry a segment */
	/* The stack cache's sets name entries of scache[] (1 + index; 0:
	 * none), which are handed out in turn (scache_take).  A process's
	 * new chains then fill a few neighbouring entries, not one in each
	 * of ten pages: fresh pages in a new image, copies of its parent's
	 * in a forked child (a bash subshell wrote 3 to 7 of them).  These
	 * stay on the thread's first page. */
	uint16_t scache_idx[SCACHE_SETS][SCACHE_WAYS];
	uint16_t scache_own[SCACHE_POOL]; /* 1 + set * WAYS + way naming it */
	uint8_t scache_next[SCACHE_SETS]; /* the way to replace next */
	uint32_t scache_ring; /* the entry to hand out next (mod POOL) */
	/* What this segment holds already: seen_path[] and seen_stack[]
	 * keep id ^ seen_salt, and each new segment takes a new salt
	 * instead of zeroing the 12 KiB of both: a forked child's first
	 * segment then copies none of those pages from its parent. */
	uint64_t seen_salt, seen_gen;
	uint64_t seen_path[PATH_SLOTS];

	uint64_t seen_stack[STACK_SLOTS];
	struct stack_cache scache[SCACHE_POOL];
	struct stack_cache scache_ra0; /* a chain asked for without its ra */
	char pbuf[2][ABS_MAX + 8];
	char scratch[ABS_MAX + 8]; /* absolute() builds in it too */
	struct dircache dircache[NDIRCACHE];
	struct {
		int sig;
		siginfo_t si;
	} pend[NPEND];
};
_Static_assert(offsetof(struct retro_thread, scache_ring) + 4 <= 4096,
	       "the stack cache's sets are on the thread's first page");

struct module {
	uint64_t lo, hi, bias;
	uint8_t build_id[20];
	uint32_t build_id_len;
	const char *path;
	uint32_t pathlen;
};

enum { PS_OFF = 0, PS_INIT, PS_ON, PS_DISABLED };

static struct {
	/* Scalars first, arrays after: a call reads the first page only (a
	 * relative path also the start of cwd), and what a forked child
	 * changes first (proc .. nthreads) is on that page too, so the
	 * child copies one page of P, not one per field group. */
	int state;
	/* retro_shep_on, read by every call: here, on this page, and not
	 * on the page of shepherd.c's variables (retro_shep_started) */
	int shep_on;
	uint32_t proc, image, parent;
	int32_t pid;
	uint64_t starttime;
	uint64_t inode_salt; /* this process's keys in inodes (inode_claim) */
	uint32_t nthreads;
	size_t segsize;
	int segfixed; /* RETRO_SPOOL_SIZE: every segment that size */
	int time_reads;
	int follow;
	int import_at_exit;
	int exit_status;
	int have_exit_status;
	size_t cwdlen;
	struct fdent *fds;
	int fd_top; /* 1 + the highest fd ever known in fds: where a walk of
		     * the table may stop (NFDS entries are 2 MiB, and a
		     * walk of all would fault in every page) */
	uint32_t dir_epoch; /* directories this process renamed or removed */
	/* File offsets kept by the shim (off_usable): on while every system
	 * call of the process is seen (the trap layer armed, no io_uring).
	 * off_epoch moves on when open file descriptions may have been
	 * shared (fork, spawn, clone, descriptors sent): no file opened
	 * before keeps its offset again.  off_vepoch moves on when an
	 * offset may have moved unseen (a call not recorded): each is asked
	 * of the kernel again, once. */
	int off_on;
	int off_check; /* RETRO_OFFSET_CHECK: 1 compare, 2 also say each */
	uint32_t off_epoch, off_vepoch;
	int nmods;
	size_t modpathlen;
	uint64_t self_lo, self_hi;
	/* the stack cache a process's forked descendants share (ssc_get) */
	struct ssc_set *ssc;
	uint64_t stack_end; /* __libc_stack_end: above every frame */
	uint64_t stack_ok; /* [stack_ok, stack_end) known mapped */
	const char *exe; /* the executable's path, in modpaths; or NULL */
	/* The image's arguments as the loader gave them to the shim's
	 * constructor (retro_init_args), before any code of the program
	 * ran: the bytes /proc/self/cmdline holds then.  NULL when the shim
	 * started from another library's constructor first. */
	int argc;
	char **argv;
	/* Where exec put those argument strings, one after another: the
	 * bytes /proc/self/cmdline reads ([arg_start, arg_end) of the
	 * kernel's mm), kept for a forked child (arg_copy).  0 when the
	 * strings were not laid out so. */
	uint64_t arg_lo, arg_hi;
	uint8_t boot_id[16];
	size_t preimage_max;
	pthread_key_t key;
	struct retro_shared_hdr *shared;
	int want_trap; /* RETRO_TRAP=1 */
	int fast;      /* RETRO_FAST=1: the fast path (retro_fast_open) */
	int fast_debug; /* RETRO_FAST_DEBUG=1: each thread says how many */
	int trap_err;  /* why the trap layer is off, once said */
	int trap_said;
	uint64_t store_dev, store_ino; /* the store directory we record into */
	char cwd[PATH_MAX];
	char store[PATH_MAX];
	char spool[PATH_MAX];
	char self[PATH_MAX]; /* path of libretro.so, for exec injection */
	struct module mods[NMODULES];
	char modpaths[32768];
	uint64_t inodes[NINODES];
} P;

static __thread struct retro_thread *tself
	__attribute__((tls_model("initial-exec")));

/* A program's signal handler that interrupts the recorder while it holds
 * this thread's state (its path buffers, caches, the action being filled
 * in) cannot record its own calls there, and must not be skipped either:
 * the trap layer's wrapper (trap.c) asks here, and the handler runs when
 * the recorder lets go, as if the signal had come a moment later.
 * Standard signals merge while pending, as the kernel merges them. */
int retro_sig_defer(int sig, const siginfo_t *si)
{
	struct retro_thread *t = tself;
	int n;

	if (!t || !t->guard)
		return 0;
	/* a fault of the instruction itself would only come again */
	if (si->si_code > 0 && (sig == SIGSEGV || sig == SIGBUS ||
				sig == SIGILL || sig == SIGFPE || sig == SIGTRAP))
		return 0;
	n = t->npend;
	for (int i = 0; sig < 32 && i < n; i++)
		if (t->pend[i].sig == sig)
			return 1;
	if (n == NPEND)
		return 1; /* a real-time signal queue overflow */
	t->pend[n].sig = sig;
	t->pend[n].si = *si;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->npend = n + 1;
	return 1;
}

static __attribute__((noinline)) void run_pending(struct retro_thread *t)
{
	struct {
		int sig;
		siginfo_t si;
	} p[NPEND];
	int n = t->npend, e = errno;

	/* guard is clear: a signal now runs its handler directly, and none
	 * touches the list while it is copied */
	memcpy(p, t->pend, (size_t)n * sizeof *p);
	t->npend = 0;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	for (int i = 0; i < n; i++)
		retro_sig_deliver(p[i].sig, &p[i].si);
	errno = e;
}

static inline void unguard(struct retro_thread *t)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->guard = 0;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (__builtin_expect(t->npend != 0, 0))
		run_pending(t);
}

static int (*real_clock_gettime)(clockid_t, struct timespec *);

extern char **environ;

/* ------------------------------------------------------------------------ */

void *retro_real(const char *name, void **slot)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (slot)
		__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	return p;
}

void retro_shep_started(void)
{
	P.shep_on = 1;
}

/* CLOCK_MONOTONIC as the kernel reads it. */
static int64_t mono(void)
{
	struct timespec ts;

	if (__builtin_expect(real_clock_gettime == NULL, 0))
		retro_sys2(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	else
		real_clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Action timestamps.  Every recorded call takes two, and a vDSO
 * clock_gettime costs ~22 ns here against ~9 for rdtsc.  Where the
 * kernel's own clocksource is the TSC (so the kernel found it invariant
 * and synchronized between CPUs), a thread reads the TSC and extrapolates
 * from its own last CLOCK_MONOTONIC reading, taken at most TSC_SPAN_NS
 * earlier, at a rate measured over at least TSC_BASE_NS (so that it is
 * good to a few ppm).  The error is then a few ns, less than the clock's
 * own jitter; the timeline across processes stays the kernel's.  A
 * thread's timestamps never go back.  RETRO_TSC=0 reads the clock every
 * time.
 *
 * The rate is the machine's, so a process need not measure it again: it
 * comes with an exec (the handoff) and, for other new processes, from the
 * store's shared map, where the first process that measured it left it
 * (for this boot only).  Until a process has a rate, each timestamp is one
 * clock read. */
#define TSC_SPAN_NS 1000000ll
#define TSC_BASE_NS 20000000ll

static struct {
	int on;
	int published; /* this process left its rate in the shared map */
	uint64_t tsc0;
	int64_t ns0;
	uint64_t mult; /* ns per cycle, 32.32; 0 while unknown */
} TC;

static __thread struct {
	uint64_t tsc, lim, mult; /* anchor; span in cycles; ns/cycle, 32.32 */
	int64_t ns, last;
} tclk __attribute__((tls_model("initial-exec")));

/* A TSC reading and the kernel's clock at the same moment: the clock read
 * between two TSC readings, the tightest bracket of three.  A cold read
 * (after a sleep, caches gone) can take 200 ns, where the midpoint would
 * be off by half of it; a warm one takes ~25. */
static void tsc_pair(uint64_t *tsc, int64_t *ns)
{
	uint64_t best = UINT64_MAX;

	*tsc = 0;
	*ns = 0;
	for (int i = 0; i < 3; i++) {
		uint64_t a = __rdtsc();
		int64_t n = mono();
		uint64_t w = __rdtsc() - a;
		if (w < best) {
			best = w;
			*ns = n;
			*tsc = a + (w >> 1);
		}
	}
}

static int tsc_rate_ok(uint64_t m);

/* The start of the vDSO's [vvar_vclock] mapping, found in
 * /proc/self/maps, or 0.  Lines are carried over between reads; one
 * longer than the buffer (a long path) is skipped. */
static uintptr_t vclock_page(void)
{
	static const char name[] = " [vvar_vclock]\n";
	char buf[4096];
	size_t have = 0;
	uintptr_t at = 0;
	long fd = retro_os_openat(AT_FDCWD, "/proc/self/maps",
				  O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	for (;;) {
		long n = retro_os_read((int)fd, buf + have, sizeof buf - have);
		char *line = buf, *end, *nl;

		if (n <= 0)
			break;
		end = buf + have + n;
		while ((nl = memchr(line, '\n', (size_t)(end - line)))) {
			size_t len = (size_t)(nl + 1 - line);
			if (len >= sizeof name - 1 &&
			    !memcmp(nl + 1 - (sizeof name - 1), name,
				    sizeof name - 1)) {
				at = (uintptr_t)strtoull(line, NULL, 16);
				goto out;
			}
			line = nl + 1;
		}
		have = (size_t)(end - line);
		if (have == sizeof buf)
			have = 0; /* a line longer than buf: not ours */
		memmove(buf, line, have);
	}
out:
	retro_os.close((int)fd);
	return at;
}

/* Whether the kernel's clock is kvm-clock read by the vDSO in user space,
 * which the kernel does only while the host sets PVCLOCK_TSC_STABLE_BIT in
 * the clock's page: its word that the TSC runs at one rate and in step on
 * every CPU, since the vDSO then reads the TSC of whichever CPU it runs on
 * against the parameters of CPU 0.  What holds for the vDSO holds for the
 * TSC extrapolated here.  The page is the first of [vvar_vclock] (kernels
 * since 6.13 name it so; older ones are not recognized, and their clock
 * stays the kernel's).  A page of that mapping the vDSO has not used is not
 * backed and faults with SIGBUS, so it is read only if mincore finds it
 * mapped, after a clock read of the vDSO's own. */
static int pvclock_stable(void)
{
	struct pvti {
		uint32_t version, pad0;
		uint64_t tsc_timestamp, system_time;
		uint32_t mul;
		int8_t shift;
		uint8_t flags, pad[2];
	};
	const volatile struct pvti *pv;
	unsigned char in = 0;
	uintptr_t at;

	if (!real_clock_gettime)
		return 0;
	(void)mono();
	at = vclock_page();
	if (!at || retro_sys3(SYS_mincore, at, 4096, &in) != 0 || !(in & 1))
		return 0;
	pv = (const volatile struct pvti *)at;
	return (pv->flags & 1) && pv->mul && !(pv->version & 1);
}

/* known: the rate the image before an exec used (the handoff's), or 0.
 * With one, the kernel's clock could be extrapolated then, and the
 * system calls of asking again are spared. */
static void tsc_init(int want, uint64_t known)
{
	if (!want)
		return;
	if (!tsc_rate_ok(known)) {
		char cs[16] = { 0 };
		long fd = retro_os_openat(AT_FDCWD,
			"/sys/devices/system/clocksource/clocksource0/"
			"current_clocksource",
			O_RDONLY | O_CLOEXEC, 0);
		if (fd < 0)
			return;
		retro_os_read((int)fd, cs, sizeof cs - 1);
		retro_os.close((int)fd);
		if (strcmp(cs, "tsc\n") != 0 &&
		    (strcmp(cs, "kvm-clock\n") != 0 || !pvclock_stable()))
			return;
	}
	if (!__rdtsc())
		return;
	tsc_pair(&TC.tsc0, &TC.ns0);
	TC.on = 1;
}

/* A plausible rate: 1/1024 to 256 ns a cycle. */
static int tsc_rate_ok(uint64_t m)
{
	return m >= (1ull << 22) && m < (1ull << 40);
}

/* The rate in the store's shared map, tagged with the boot it holds for:
 * check = mult ^ the boot id's two halves.  A torn pair fails the check. */
static uint64_t boot_key(void)
{
	uint64_t a, b;

	memcpy(&a, P.boot_id, 8);
	memcpy(&b, P.boot_id + 8, 8);
	return a ^ b ^ 0x7473632d72617465ull; /* "tsc-rate" */
}

static uint64_t tsc_shared_rate(void)
{
	struct retro_shared_hdr *sh = P.shared;
	uint64_t m, check;

	if (!sh)
		return 0;
	check = __atomic_load_n(&sh->tsc_check, __ATOMIC_ACQUIRE);
	m = __atomic_load_n(&sh->tsc_mult, __ATOMIC_RELAXED);
	return tsc_rate_ok(m) && (m ^ boot_key()) == check ? m : 0;
}

static void tsc_publish(uint64_t m)
{
	struct retro_shared_hdr *sh = P.shared;

	if (!sh || TC.published)
		return;
	TC.published = 1;
	__atomic_store_n(&sh->tsc_mult, m, __ATOMIC_RELAXED);
	__atomic_store_n(&sh->tsc_check, m ^ boot_key(), __ATOMIC_RELEASE);
}

/* Takes a rate measured elsewhere (rate: the handoff's, or 0 for the
 * shared map's). */
static void tsc_adopt(uint64_t rate)
{
	if (!TC.on)
		return;
	if (!tsc_rate_ok(rate))
		rate = tsc_shared_rate();
	if (tsc_rate_ok(rate))
		__atomic_store_n(&TC.mult, rate, __ATOMIC_RELAXED);
}

static __attribute__((noinline)) int64_t now_anchor(void)
{
	uint64_t c, m;
	int64_t ns, base;

	m = __atomic_load_n(&TC.mult, __ATOMIC_RELAXED);
	if (!m) {
		/* no rate yet: one clock read, and measure once it can be */
		ns = mono();
		if (ns - TC.ns0 < TSC_BASE_NS)
			goto out;
	}
	tsc_pair(&c, &ns);
	base = ns - TC.ns0;
	if (base >= TSC_BASE_NS && c > TC.tsc0) {
		/* this process's own, over TSC_BASE_NS at least */
		unsigned __int128 own =
			((unsigned __int128)(uint64_t)base << 32) / (c - TC.tsc0);
		if (tsc_rate_ok((uint64_t)own)) {
			m = (uint64_t)own;
			__atomic_store_n(&TC.mult, m, __ATOMIC_RELAXED);
			tsc_publish(m);
		}
	}
	tclk.tsc = c;
	tclk.ns = ns;
	tclk.lim = 0;
	if (m) {
		tclk.mult = m;
		tclk.lim = (uint64_t)(((unsigned __int128)TSC_SPAN_NS << 32) / m);
	}
out:
	if (ns < tclk.last)
		ns = tclk.last;
	return tclk.last = ns;
}

static inline int64_t now(void)
{
	uint64_t d;
	int64_t ns;

	if (!TC.on)
		return mono();
	d = __rdtsc() - tclk.tsc;
	if (__builtin_expect(d >= tclk.lim, 0))
		return now_anchor();
	ns = tclk.ns + (int64_t)((d * tclk.mult) >> 32);
	if (ns < tclk.last)
		ns = tclk.last;
	return tclk.last = ns;
}

static int64_t now_real(void)
{
	struct timespec ts;

	retro_sys2(SYS_clock_gettime, CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline uint32_t align8(uint64_t n)
{
	return (uint32_t)((n + 7) & ~7ull);
}

static size_t cpy(char *dst, size_t cap, size_t at, const char *s, size_t n)
{
	if (at + n >= cap)
		n = at < cap ? cap - at - 1 : 0;
	memcpy(dst + at, s, n);
	dst[at + n] = 0;
	return at + n;
}

/* "/proc/self/fd/N" */
static void fdpath(char *buf, int fd)
{
	memcpy(buf, "/proc/self/fd/", 14);
	retro_utoa(buf + 14, (uint64_t)fd);
}

static void warn(const char *what, const char *path, int err)
{
	char buf[PATH_MAX + 256];
	size_t n = 0;

	n = cpy(buf, sizeof buf, n, "retro: ", 7);
	n = cpy(buf, sizeof buf, n, what, strlen(what));
	if (path) {
		n = cpy(buf, sizeof buf, n, ": ", 2);
		n = cpy(buf, sizeof buf, n, path, strlen(path));
	}
	if (err) {
		const char *e = retro_strerror(err);
		n = cpy(buf, sizeof buf, n, ": ", 2);
		n = cpy(buf, sizeof buf, n, e, strlen(e));
	}
	n = cpy(buf, sizeof buf, n, "\n", 1);
	retro_sys3(SYS_write, 2, buf, n);
}

/* ---- segments ------------------------------------------------------------ */

static void *reserve(struct retro_thread *t, uint32_t len, uint16_t type);
static struct retro_rec_action *action_new(struct retro_thread *t, int call,
					   uint32_t datacap, int nargs, int opt);
static void action_done(struct retro_rec_action *a);

#define POPULATE_WINDOW (64u << 10)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static void populate(struct retro_seg_hdr *sh, uint64_t from)
{
	uint64_t end = (from + POPULATE_WINDOW + 4095) & ~4095ull;

	from &= ~4095ull;
	if (end > sh->size)
		end = sh->size;
	if (from < end)
		retro_os.madvise((char *)sh + from, end - from,
				 MADV_POPULATE_WRITE);
}

static void shared_loss(struct retro_thread *t, int64_t until);

/* Creates a file in the spool; an importer may have removed the emptied
 * shared-memory spool directory meanwhile, so make it again once. */
static long spool_create(const char *path, int flags)
{
	long fd = retro_os_openat(AT_FDCWD, path, flags, 0600);

	if (fd == -ENOENT && retro_os_mkdirat(AT_FDCWD, P.spool, 0700) == 0)
		fd = retro_os_openat(AT_FDCWD, path, flags, 0600);
	return fd;
}

/* A segment's name and RETRO_SEG_NEW after the spool's path and a '/'
 * (retro_seg_name: four numbers and their letters). */
#define SEG_NAME_ROOM 96

/* Takes a pool file (spool.h) as tmp: the first free-* of the spool that
 * no other thread renamed first.  Returns its descriptor, or -1. */
static long pool_claim(const char *tmp)
{
	char buf[2048];
	const char *name;
	long d, got, fd = -1;

	d = retro_os_openat(AT_FDCWD, P.spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			    0);
	if (d < 0)
		return -1;
	got = retro_os_getdents64((int)d, buf, sizeof buf);
	for (long o = 0; fd < 0 && (name = retro_dirent_next(buf, got, &o));) {
		if (strncmp(name, RETRO_POOL_PREFIX, sizeof RETRO_POOL_PREFIX - 1) ||
		    retro_os_renameat((int)d, name, AT_FDCWD, tmp) < 0)
			continue;
		fd = retro_os_openat(AT_FDCWD, tmp,
				     O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
		if (fd < 0)
			retro_os_unlinkat(AT_FDCWD, tmp, 0);
	}
	retro_os.close((int)d);
	return fd;
}

/* Takes back, as tmp, one of the thread's kept segments (at least size
 * bytes) that an importer has made a pool file.  Returns its mapping, its
 * size in *sizep, or NULL. */
static struct retro_seg_hdr *kept_claim(struct retro_thread *t,
					const char *tmp, size_t *sizep)
{
	size_t len = strlen(P.spool);
	char path[len + SEG_NAME_ROOM];
	size_t n = cpy(path, sizeof path, 0, P.spool, len);

	n = cpy(path, sizeof path, n, "/" RETRO_POOL_PREFIX,
		sizeof("/" RETRO_POOL_PREFIX) - 1);
	for (int i = 0; i < NKEPT; i++) {
		struct retired *k = &t->kept[i];
		struct retro_seg_hdr *sh = k->seg;
		if (!sh || k->size < *sizep ||
		    retro_seg_name(path + n, sizeof path - n, P.proc, P.image,
				   t->index, k->segno) ||
		    retro_os_renameat(AT_FDCWD, path, AT_FDCWD, tmp) < 0)
			continue;
		*sizep = k->size;
		k->seg = NULL;
		return sh;
	}
	return NULL;
}

/* The next segment's salt for seen_path[] and seen_stack[]: splitmix64's
 * finalizer of a per-thread count, a bijection, so no two segments of a
 * thread (nor a forked child's first and its parent's segment then) share
 * one.  An entry left from an earlier segment matches only when two
 * 64-bit hashes happen to differ by exactly the two salts' difference. */
static uint64_t seen_salt_next(struct retro_thread *t)
{
	uint64_t z;

	if ((uint32_t)++t->seen_gen == 0) /* 0 is no segment's (stack_cache) */
		++t->seen_gen;
	z = t->seen_gen * 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static size_t ready_bytes(void);

/* A segment is made under a temporary name (NAME.new) and renamed to
 * NAME once its header is complete, so that an importer never finds a
 * segment without one: a process killed while making its segment (between
 * the open and the header) leaves a NAME.new, which holds no record and
 * which the importer removes once it is old. */
static int segment_open(struct retro_thread *t, size_t need)
{
	size_t n = strlen(P.spool);
	/* sized to the spool's path: each page of stack a forked child or a
	 * new image goes deeper than the program does is a page fault, ~11
	 * us on the VM of BENCHMARKS.md's session 27 */
	char path[n + SEG_NAME_ROOM], tmp[n + SEG_NAME_ROOM];
	size_t size = P.segsize;
	struct retro_seg_hdr *sh;
	long fd = -1, r;
	int reused = 0, whole = 0;

	/* small first, doubling (spool.h), unless RETRO_SPOOL_SIZE set one */
	if (!P.segfixed && t->segno < 16 &&
	    ((size_t)RETRO_SEG_FIRST << t->segno) < size)
		size = (size_t)RETRO_SEG_FIRST << t->segno;
	/* the last segment's pace: how long its MiB took */
	if (!P.segfixed && size > RETRO_SEG_SLOW && t->segsize &&
	    now() - t->seg_born >
		    (int64_t)(RETRO_SEG_FAST_NS * (t->segsize / 4096) /
			      (RETRO_SEG_SLOW / 4096)))
		size = RETRO_SEG_SLOW;

	/* A record of need bytes goes in after what segment_ready writes
	 * first.  Sized for need alone, a record bigger than a segment (an
	 * environment of 200 KB) found the modules' records in the way, in
	 * every new segment, and was dropped. */
	if (need) {
		size_t room = need + ready_bytes() + RETRO_SEG_HDR +
			      RETRO_SEG_RESERVE;
		if (room > size)
			size = (room + 4095) & ~4095ul;
	}
	n = cpy(path, sizeof path, 0, P.spool, n);
	path[n++] = '/';
	r = retro_seg_name(path + n, sizeof path - n, P.proc, P.image, t->index,
			   t->segno);
	if (r)
		return (int)r;
	n = strlen(path);
	memcpy(tmp, path, n);
	memcpy(tmp + n, RETRO_SEG_NEW, sizeof RETRO_SEG_NEW);
	sh = kept_claim(t, tmp, &size);
	if (sh) {
		reused = 1;
		goto header; /* mapped, and zeroed by the importer */
	}
	fd = pool_claim(tmp);
	if (fd >= 0) {
		/* zeroed by the importer: as good as a new one, and maybe
		 * bigger */
		struct stat st;
		reused = 1;
		if (retro_os_fstatat((int)fd, "", &st, AT_EMPTY_PATH) == 0 &&
		    (size_t)st.st_size >= size) {
			size = (size_t)st.st_size;
			whole = 1;
		}
	} else {
		fd = spool_create(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC);
	}
	if (fd < 0)
		return (int)-fd;
	/* Reserve the blocks now: a sparse file that meets a full disk would
	 * deliver SIGBUS to the recorded program at a store.  A pool file
	 * as big as we need has them all: the thread that made it reserved
	 * them so, and an import zeroes a segment by writing, never by
	 * punching holes (fallocate over an allocated 1 MiB took 31 us
	 * here even so, over 32 KiB 1.3). */
	r = whole ? 0 : retro_os_fallocate((int)fd, 0, 0, (off_t)size);
	if (r == -EOPNOTSUPP)
		r = retro_os_ftruncate((int)fd, (off_t)size);
	if (r < 0)
		goto out_unlink;
	r = retro_os.mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			  (int)fd, 0);
	if (r < 0)
		goto out_unlink;
	retro_os.close((int)fd);
	sh = (struct retro_seg_hdr *)r;
	sh->size = size;
	populate(sh, 0);
header:
	sh->version = RETRO_SPOOL_VERSION;
	sh->hdr_size = RETRO_SEG_HDR;
	sh->size = size;
	sh->used = 0;
	sh->proc = P.proc;
	sh->image = P.image;
	sh->thread = t->index;
	sh->segno = t->segno;
	sh->pid = P.pid;
	sh->tid = t->tid;
	sh->starttime = P.starttime;
	sh->flags = reused ? SEG_REUSED : 0;
	memcpy(sh->boot_id, P.boot_id, 16);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(sh->magic, RETRO_SPOOL_MAGIC, 8);
	r = retro_os_renameat(AT_FDCWD, tmp, AT_FDCWD, path);
	if (r < 0) {
		/* an importer took it for abandoned: nothing was written yet */
		retro_os.munmap(sh, size);
		retro_os_unlinkat(AT_FDCWD, tmp, 0);
		return (int)-r;
	}
	t->seg = sh;
	t->segsize = size;
	t->seg_born = now();
	t->seg_mapped = reused && fd < 0;
	t->segno++;
	/* Each segment carries what its records refer to. */
	t->seen_salt = seen_salt_next(t);
	return 0;
out_unlink:
	retro_os.close((int)fd);
	retro_os_unlinkat(AT_FDCWD, tmp, 0);
	return (int)-r;
}

static void emit_modules(struct retro_thread *t);
static void emit_clock(struct retro_thread *t);

static void seal(struct retro_seg_hdr *sh, size_t size)
{
	__atomic_store_n(&sh->sealed, 1, __ATOMIC_RELEASE);
	retro_os.munmap(sh, size);
}

static void kept_drop(struct retro_thread *t)
{
	for (int i = 0; i < NKEPT; i++) {
		if (t->kept[i].seg)
			retro_os.munmap(t->kept[i].seg, t->kept[i].size);
		t->kept[i].seg = NULL;
	}
}

/* Seals a segment the thread is done with, and keeps it mapped in place
 * of the oldest one kept.  Only this thread, under its guard, touches
 * kept[]. */
static void seal_keep(struct retro_thread *t, struct retro_seg_hdr *sh,
		      size_t size)
{
	struct retired *k = &t->kept[t->kept_next++ % NKEPT];
	uint32_t segno = sh->segno;

	__atomic_store_n(&sh->sealed, 1, __ATOMIC_RELEASE);
	if (k->seg)
		retro_os.munmap(k->seg, k->size);
	*k = (struct retired){ sh, size, segno };
}

static void retire_flush(struct retro_thread *t)
{
	while (t->nretired) {
		struct retired *r = &t->retired[--t->nretired];
		seal_keep(t, r->seg, r->size);
	}
}

/* Writes a loss marker into the space every segment keeps for it. */
static void mark_loss(struct retro_thread *t, int err)
{
	struct retro_seg_hdr *sh = t->seg;
	struct retro_rec_action *a;
	uint64_t end;
	size_t len;

	t->lost_since = now();
	t->lost_err = err;
	t->lost = 0;
	t->retry_at = 64;
	if (!sh) {
		shared_loss(t, 0);
		return;
	}
	len = sizeof *a + retro_rec_tail(0, RETRO_MAXARGS);
	end = RETRO_SEG_HDR + __atomic_load_n(&sh->used, __ATOMIC_ACQUIRE);
	if (end + len > sh->size)
		end = sh->size - RETRO_SEG_RESERVE;
	/* Only this thread writes here, and it stops writing now. */
	a = (void *)((char *)sh + end);
	memset(a, 0, len);
	a->h.len = (uint32_t)len;
	a->h.type = REC_ACTION;
	a->call = RC_loss;
	a->nargs = RETRO_MAXARGS;
	a->seq = ++t->seq;
	a->start = a->end = t->lost_since;
	retro_rec_args(a)[0] = (uint64_t)t->lost_since;
	retro_rec_args(a)[2] = (uint64_t)err;
	a->h.state = RS_DONE;
	__atomic_store_n(&sh->used, end - RETRO_SEG_HDR + len, __ATOMIC_RELEASE);
}

static uint64_t intern(struct retro_thread *t, const char *s, size_t n);

/* Paths whose records were lost (a thread had no segment when it interned
 * them): descriptors refer to them by id from then on, in any thread, so
 * the next thread that has a segment writes them (segment_ready).  A few,
 * kept by the process; taken with a try-lock, since a signal handler may
 * intern a path too. */
#define LOSTPATHS 8
static struct {
	uint16_t len;
	char s[246];
} lostpath[LOSTPATHS];
static unsigned nlostpath;
static int lostpath_lock;

static void lostpath_keep(const char *s, size_t n)
{
	if (n > sizeof lostpath[0].s ||
	    __atomic_exchange_n(&lostpath_lock, 1, __ATOMIC_ACQUIRE))
		return;
	if (nlostpath < LOSTPATHS) {
		lostpath[nlostpath].len = (uint16_t)n;
		memcpy(lostpath[nlostpath].s, s, n);
		__atomic_store_n(&nlostpath, nlostpath + 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&lostpath_lock, 0, __ATOMIC_RELEASE);
}

/* A segment was just made for t: what a new segment starts with (the
 * modules, the clock map), and the lost path records. */
static void segment_ready(struct retro_thread *t)
{
	emit_modules(t);
	emit_clock(t);
	while (__atomic_load_n(&nlostpath, __ATOMIC_ACQUIRE) &&
	       !__atomic_exchange_n(&lostpath_lock, 1, __ATOMIC_ACQUIRE)) {
		unsigned n = nlostpath;
		struct { uint16_t len; char s[246]; } mine;
		if (!n) {
			__atomic_store_n(&lostpath_lock, 0, __ATOMIC_RELEASE);
			break;
		}
		memcpy(&mine, &lostpath[n - 1], sizeof mine);
		nlostpath = n - 1;
		__atomic_store_n(&lostpath_lock, 0, __ATOMIC_RELEASE);
		intern(t, mine.s, mine.len); /* kept again if lost again */
		if (!t->seg)
			break;
	}
}

/* The most segment_ready writes in a new segment: a record per module,
 * the clock's, and the paths waiting in lostpath[]. */
static size_t ready_bytes(void)
{
	size_t n = sizeof(struct retro_rec_clock) +
		   LOSTPATHS * align8(sizeof(struct retro_rec_path) +
				      sizeof lostpath[0].s);

	for (int i = 0; i < P.nmods; i++)
		n += align8(sizeof(struct retro_rec_module) + P.mods[i].pathlen);
	return n;
}

static int rotate(struct retro_thread *t, size_t need)
{
	struct retro_seg_hdr *old = t->seg;
	size_t oldsize = t->segsize;
	int r;

	t->seg = NULL;
	r = segment_open(t, need);
	if (r) {
		t->seg = old;
		mark_loss(t, r);
		t->seg = NULL;
		if (old) {
			if (t->depth == 0)
				seal_keep(t, old, oldsize);
			else if (t->nretired < 4)
				t->retired[t->nretired++] =
					(struct retired){ old, oldsize };
		}
		return r;
	}
	if (old) {
		/* A record of an outer frame (a signal arrived during its
		 * call) may still be completed in the old segment: keep it
		 * mapped until this thread is outside every call. */
		if (t->depth == 0 || t->nretired == 4)
			seal_keep(t, old, oldsize);
		else
			t->retired[t->nretired++] = (struct retired){ old, oldsize };
	}
	segment_ready(t);
	return 0;
}


/* Takes len bytes at the end of segment sh for a record of type.  Returns
 * the record, or NULL when sh is full (what was added to its use is then
 * past its end, and it is rotated). */
static inline __attribute__((always_inline)) void *
seg_take(struct retro_thread *t, struct retro_seg_hdr *sh, uint32_t len,
	 uint16_t type)
{
	uint64_t off = len;
	struct retro_rec_hdr *h;

	/* One instruction: a signal handler on this thread cannot split
	 * it, so no lock prefix is needed. */
	__asm__ volatile("xaddq %0, %1" : "+r"(off), "+m"(sh->used));
	if (__builtin_expect(RETRO_SEG_HDR + off + len + RETRO_SEG_RESERVE >
				     sh->size,
			     0))
		return NULL;
	h = (void *)((char *)sh + RETRO_SEG_HDR + off);
	/* Fault the next window in one call rather than one write fault per
	 * page (MADV_POPULATE_WRITE, 5.14). */
	if (__builtin_expect((off + len) / POPULATE_WINDOW !=
				     off / POPULATE_WINDOW,
			     0) &&
	    !t->seg_mapped)
		populate(sh, RETRO_SEG_HDR +
				     (off + len) / POPULATE_WINDOW * POPULATE_WINDOW);
	h->len = len;
	h->type = type;
	return h;
}

/* What reserve does when the thread has no segment, or full is full. */
static __attribute__((noinline)) void *
reserve_loop(struct retro_thread *t, struct retro_seg_hdr *full, uint32_t len,
	     uint16_t type)
{
	/* a take, a rotation, a take in the new segment, and once more */
	for (int tries = 0; tries < 4; tries++) {
		struct retro_seg_hdr *sh = t->seg;
		void *h;

		if (!sh) {
			/* Lost: retry now and then, and say how much was lost. */
			if (type == REC_ACTION)
				t->lost++;
			if (t->lost < t->retry_at)
				return NULL;
			t->retry_at = t->lost * 2;
			if (segment_open(t, len))
				return NULL;
			{
				uint64_t lost = t->lost;
				int64_t since = t->lost_since;
				int err = t->lost_err;
				struct retro_rec_action *a;

				t->lost = 0;
				segment_ready(t);
				a = action_new(t, RC_loss, 0, RETRO_MAXARGS, 0);
				if (a) {
					uint64_t *arg = retro_rec_args(a);
					a->start = since;
					a->end = now();
					arg[0] = (uint64_t)since;
					arg[1] = lost;
					arg[2] = (uint64_t)err;
					action_done(a);
				}
			}
			continue;
		}
		if (sh == full) {
			if (rotate(t, len))
				return NULL;
			continue;
		}
		h = seg_take(t, sh, len, type);
		if (h)
			return h;
		full = sh; /* unless a signal handler rotated meanwhile */
	}
	return NULL;
}

/* A record's room in the thread's segment: the common case inline, the
 * rest (no segment, a full one) in reserve_loop. */
static inline __attribute__((always_inline)) void *
reserve(struct retro_thread *t, uint32_t len, uint16_t type)
{
	struct retro_seg_hdr *sh = t->seg;
	void *h;

	if (__builtin_expect(sh != NULL, 1) &&
	    __builtin_expect((h = seg_take(t, sh, len, type)) != NULL, 1))
		return h;
	return reserve_loop(t, sh, len, type);
}

/* ---- interning ----------------------------------------------------------- */

static uint64_t intern_cut(struct retro_thread *t, const char *s, size_t n);

static uint64_t intern(struct retro_thread *t, const char *s, size_t n)
{
	uint64_t id, *slot;
	struct retro_rec_path *p;

	if (__builtin_expect(n >= ABS_MAX, 0))
		return intern_cut(t, s, n);
	id = retro_hash64(s, n) | 1;
	slot = &t->seen_path[id % PATH_SLOTS];
	if (*slot == (id ^ t->seen_salt))
		return id;
	p = reserve(t, align8(sizeof *p + n), REC_PATH);
	if (!p) {
		lostpath_keep(s, n);
		return id;
	}
	p->id = id;
	p->len = (uint32_t)n;
	memcpy(p + 1, s, n);
	__atomic_store_n(&p->h.state, RS_DONE, __ATOMIC_RELEASE);
	*slot = id ^ t->seen_salt;
	return id;
}

/* A string longer than any path the kernel resolves (a failed open of
 * 10,000 bytes): its first bytes and CUT_MARK.  Interned whole, it made
 * its segment unreadable to the importer (which takes no path of 2 *
 * PATH_MAX bytes or more), and every call in that segment was lost. */
static __attribute__((noinline)) uint64_t
intern_cut(struct retro_thread *t, const char *s, size_t n)
{
	char buf[ABS_MAX];
	size_t k = ABS_MAX - 1 - (sizeof CUT_MARK - 1);

	(void)n;
	memcpy(buf, s, k);
	memcpy(buf + k, CUT_MARK, sizeof CUT_MARK - 1);
	return intern(t, buf, ABS_MAX - 1);
}

static struct fdent *fde(int fd);
static void fd_bind(struct retro_thread *t, int fd, const char *abs,
		    uint32_t flags);

/* The absolute path of directory descriptor dirfd into buf (PATH_MAX);
 * its length, 0 when unknown.  Asked of the kernel the first time, then
 * kept per thread (struct dircache).  Like a file descriptor's path in
 * the table, a directory's is the one it had then: a rename by this
 * process makes the kernel be asked again, one by another process does
 * not. */
static size_t dir_path(struct retro_thread *t, int dirfd, char *buf)
{
	struct fdent *e = fde(dirfd);
	struct dircache *d = &t->dircache[(unsigned)dirfd % NDIRCACHE];
	uint32_t epoch = __atomic_load_n(&P.dir_epoch, __ATOMIC_RELAXED);
	char fp[32];
	long r;

	if (e && (e->flags & FE_KNOWN) && d->fd == dirfd && d->gen == e->gen &&
	    d->epoch == epoch) {
		memcpy(buf, d->path, d->len + 1);
		return d->len;
	}
	fdpath(fp, dirfd);
	r = retro_os_readlinkat(AT_FDCWD, fp, buf, PATH_MAX - 1);
	if (r <= 0) {
		buf[0] = 0;
		return 0;
	}
	buf[r] = 0;
	if (!e || buf[0] != '/')
		return (size_t)r;
	if (!(e->flags & FE_KNOWN))
		fd_bind(t, dirfd, buf, 0); /* as fd_obj would */
	d->fd = dirfd;
	d->gen = e->gen;
	d->epoch = epoch;
	d->len = (uint32_t)r;
	memcpy(d->path, buf, (size_t)r + 1);
	return (size_t)r;
}

/* Makes path absolute against dirfd (AT_FDCWD: the tracked cwd) into buf
 * (ABS_MAX + 8 bytes).  When the directory has no name the recorder knows
 * (a working directory longer than PATH_MAX, whose getcwd fails; a
 * descriptor /proc does not name), the path is kept as "?/" and the
 * relative path, which no absolute path is: made "/" and the relative path
 * it named another file, and a write in a directory 5,000 bytes deep was
 * recorded as one to /leaf.txt. */
static const char *absolute(struct retro_thread *t, char *buf, int dirfd,
			    const char *path)
{
	size_t n;

	if (path[0] == '/')
		return path;
	if (dirfd == AT_FDCWD)
		n = cpy(buf, ABS_MAX, 0, P.cwd, P.cwdlen);
	else
		n = dir_path(t, dirfd, buf);
	if (n == 0 || buf[0] != '/')
		n = cpy(buf, ABS_MAX, 0, "?", 1);
	if (path[0] == 0)
		return buf;
	if (buf[n - 1] != '/')
		n = cpy(buf, ABS_MAX, n, "/", 1);
	cpy(buf, ABS_MAX, n, path, strlen(path));
	return buf;
}

/* Interns path made absolute; *absp (if not NULL) receives the string. */
static uint64_t intern_path(struct retro_thread *t, int slot, int dirfd,
			    const char *path, const char **absp)
{
	const char *abs;

	if (!path)
		return 0;
	abs = absolute(t, t->pbuf[slot & 1], dirfd, path);
	if (absp)
		*absp = abs;
	return intern(t, abs, strlen(abs));
}

/* ---- descriptors --------------------------------------------------------- */

static struct fdent *fde(int fd)
{
	if (fd < 0 || fd >= NFDS || !P.fds)
		return NULL;
	return &P.fds[fd];
}

/* An fstat by descriptor as libc makes it, fstatat(fd, "", AT_EMPTY_PATH)
 * (its own fstat, and statx), of a descriptor the table knows: its path
 * is the descriptor's object, as a read or write of it names it (a
 * pipe's is pipe:[INODE], where absolute() made it "?").  Spelled out by
 * absolute(), it cost a readlinkat of /proc/self/fd/N each time: sed
 * read its twelve locale files so, as many readlinkats as opens, and
 * stdio asks so of stdout before its first write.  Shepherd mode, which
 * hands the driver the path's string, spells it out still. */
static const struct fdent *fstat_of_fd(const struct retro_call *c, int fd)
{
	const struct fdent *e;

	if ((c->call != RC_fstatat && c->call != RC_fstatat64 &&
	     c->call != RC_statx) || P.shep_on || !(e = fde(fd)))
		return NULL;
	return (e->flags & FE_KNOWN) && e->path ? e : NULL;
}

/* The tests below look at the name's first byte after "/dev/" before
 * they compare: a path in /dev/shm, as every POSIX shared-memory object
 * has, took six libc string compares a bind (~300 instructions of an
 * open of ~1,200 in all, callgrind). */
static int is_dev(const char *p)
{
	return p[0] == '/' && p[1] == 'd' && p[2] == 'e' && p[3] == 'v' &&
	       p[4] == '/';
}

static int is_random_dev(const char *p)
{
	return is_dev(p) && ((p[5] == 'u' && strcmp(p + 5, "urandom") == 0) ||
			     (p[5] == 'r' && strcmp(p + 5, "random") == 0));
}

/* Input from outside the recording: a terminal, or a socket (its peer
 * may be anywhere).  Pipes are not: their writers are mostly recorded. */
static int is_outside_input(const char *p)
{
	if (p[0] == 's')
		return strncmp(p, "socket:[", 8) == 0;
	if (!is_dev(p))
		return 0;
	switch (p[5]) {
	case 'p':
		return strncmp(p + 5, "pts/", 4) == 0;
	case 't':
		return strncmp(p + 5, "tty", 3) == 0;
	case 'c':
		return strcmp(p + 5, "console") == 0;
	default:
		return 0;
	}
}

/* The entry's next generation: per entry, since the dircache keys on the
 * descriptor and its entry's gen together (a counter shared by all took a
 * locked add, two a recorded open and close). */
static inline uint32_t fd_gen_next(const struct fdent *e)
{
	return e->gen + 1;
}

/* P.fd_top up to top, against other threads raising it too. */
static inline void fd_top_raise(int top)
{
	int cur = __atomic_load_n(&P.fd_top, __ATOMIC_RELAXED);

	while (top > cur &&
	       !__atomic_compare_exchange_n(&P.fd_top, &cur, top, 1,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static void fd_bind_id(struct fdent *e, uint64_t id, const char *abs,
		       uint32_t flags)
{
	/* most paths are neither under /dev nor a socket: one test, inline */
	if (abs[0] != '/' || is_dev(abs)) {
		if (is_random_dev(abs))
			flags |= FE_RANDOM;
		if (is_outside_input(abs))
			flags |= FE_EXTIN;
		flags |= FE_NOTFILE;
	}
	e->path = id;
	e->flags = FE_KNOWN | flags;
	e->gen = fd_gen_next(e);
	e->off = 0; /* a new description starts at 0 (FE_OFFOWN) */
	e->oepoch = P.off_epoch;
	e->vepoch = P.off_vepoch;
	fd_top_raise((int)(e - P.fds) + 1);
}

static void fd_bind(struct retro_thread *t, int fd, const char *abs,
		    uint32_t flags)
{
	struct fdent *e = fde(fd);

	if (!e)
		return;
	fd_bind_id(e, intern(t, abs, strlen(abs)), abs, flags);
}

/* The object behind fd, learnt from the kernel the first time we meet an
 * fd that was opened where we could not see it. */
static uint64_t fd_obj(struct retro_thread *t, int fd)
{
	struct fdent *e = fde(fd);
	char fp[32];
	long r;

	if (!e)
		return 0;
	if (e->flags & FE_KNOWN)
		return e->path;
	fdpath(fp, fd);
	r = retro_os_readlinkat(AT_FDCWD, fp, t->scratch, PATH_MAX - 1);
	if (r < 0)
		return 0;
	t->scratch[r] = 0;
	fd_bind(t, fd, t->scratch, 0);
	return e->path;
}

void retro_fd_dup(int oldfd, int newfd)
{
	struct fdent *o = fde(oldfd), *n = fde(newfd);
	uint32_t g;

	if (__builtin_expect(P.shep_on, 0))
		retro_shep_timerfd_gone(newfd); /* replaced */
	if (!n)
		return;
	/* past both: none of newfd's earlier generations comes back */
	g = n->gen;
	if (o) {
		/* one description, two descriptors: neither keeps its offset */
		o->flags &= ~(uint32_t)(FE_OFFOWN | FE_OFFVALID);
		*n = *o;
		if (o->gen > g)
			g = o->gen;
	} else {
		n->flags = 0;
	}
	n->gen = g + 1;
	fd_top_raise(newfd + 1);
}

void retro_fd_forget(int fd)
{
	struct fdent *e = fde(fd);

	if (__builtin_expect(P.shep_on, 0))
		retro_shep_timerfd_gone(fd);
	if (e) {
		e->flags = 0;
		e->gen = fd_gen_next(e);
	}
}

/* ---- file offsets -------------------------------------------------------- */

/* A write without an offset argument lands at the file's offset, which the
 * recording keeps (RA_OFFSET).  Asked of the kernel (an lseek after the
 * write) it costs a system call for every write: python3 writing small
 * files makes one write a file.  So the shim keeps the offset itself where
 * nothing it cannot see moves it: a regular file this process opened (not
 * with O_APPEND), shared with nobody since, every system call of the
 * process seen (the trap layer armed; the program's own calls that
 * bypass libc's exported functions move offsets too), one thread, and a
 * call not nested in another of the thread's (a signal handler's write
 * while the interrupted one is in flight asks the kernel, and makes the
 * interrupted one ask too).  What may share open file descriptions with
 * another process (fork, spawn, clone, sending descriptors) leaves no
 * file opened before it an offset kept again (retro_off_forget_all); a
 * dup leaves neither of its two descriptors one.  What moves an offset
 * unseen (sendfile and the like, a call not recorded) makes the next
 * write ask the kernel, whose answer is kept.  Still unseen: another
 * process taking the descriptor with pidfd_getfd(2) (a debugger's move).
 * RETRO_OFFSET_CACHE=0 turns it off; RETRO_OFFSET_CHECK=1 asks the kernel
 * anyway, and a difference ends the process (the tests run with it). */
static inline int off_usable(const struct retro_thread *t,
			     const struct fdent *e)
{
	return (e->flags & (FE_OFFOWN | FE_REG | FE_OFFVALID)) ==
		       (FE_OFFOWN | FE_REG | FE_OFFVALID) &&
	       e->oepoch == P.off_epoch && e->vepoch == P.off_vepoch &&
	       t->depth == 1 && P.off_on && retro_alone() && !P.shep_on;
}

/* The kernel said that e's offset is pos now, after a call of t. */
static void off_learn(const struct retro_thread *t, struct fdent *e,
		      int64_t pos)
{
	if ((e->flags & FE_OFFOWN) && t->depth == 1) {
		e->off = pos;
		e->vepoch = P.off_vepoch;
		e->flags |= FE_OFFVALID;
	} else {
		e->flags &= ~(uint32_t)FE_OFFVALID;
	}
}

/* fd's offset moved where the shim did not follow it. */
static void off_lost(int fd)
{
	struct fdent *e = fde(fd);

	if (e)
		e->flags &= ~(uint32_t)FE_OFFVALID;
}

/* A read of t moved fd's offset n bytes on. */
static inline void off_moved(const struct retro_thread *t, int fd, int64_t n)
{
	struct fdent *e = fde(fd);

	if (!e || !(e->flags & FE_OFFVALID))
		return;
	if (off_usable(t, e))
		e->off += n;
	else
		e->flags &= ~(uint32_t)FE_OFFVALID;
}

void retro_off_forget_all(void)
{
	__atomic_add_fetch(&P.off_epoch, 1, __ATOMIC_RELAXED);
}

void retro_off_disable(void)
{
	P.off_on = 0;
	retro_off_forget_all();
}

/* RETRO_OFFSET_CHECK: a write placed at off from the offset kept, which
 * is e->off now; against the kernel's.  A difference is a bug of the
 * shim's: said, and the process ends with SIGABRT (the tests set it). */
static void off_verify(int fd, int64_t off, const struct fdent *e)
{
	long pos = retro_os.lseek(fd, 0, SEEK_CUR);
	char b[128];
	size_t n;

	if (P.off_check > 1) {
		n = cpy(b, sizeof b, 0, "offset kept: fd ", 16);
		n += retro_utoa(b + n, (uint64_t)fd);
		n = cpy(b, sizeof b, n, " at ", 4);
		n += retro_utoa(b + n, (uint64_t)off);
		b[n] = 0;
		warn(b, NULL, 0);
	}
	if (pos < 0 || pos == e->off)
		return;
	n = cpy(b, sizeof b, 0, "offset cache wrong: fd ", 23);
	n += retro_utoa(b + n, (uint64_t)fd);
	n = cpy(b, sizeof b, n, " is at ", 7);
	n += retro_utoa(b + n, (uint64_t)pos);
	n = cpy(b, sizeof b, n, ", kept ", 7);
	n += retro_utoa(b + n, (uint64_t)e->off);
	b[n] = 0;
	warn(b, NULL, 0);
	retro_sys2(SYS_kill, retro_sys0(SYS_getpid), SIGABRT);
}

/* Both ends of a new pipe: the kernel names them pipe:[INODE], which one
 * fstat tells for both (2.6 us for each readlink of /proc here, 0.25 for
 * the fstat; a shell makes a pipe for every $(...) and |). */
void retro_fd_pipe(const int fds[2])
{
	struct stat st;

	retro_fd_forget(fds[0]);
	retro_fd_forget(fds[1]);
	if (tself) {
		if (retro_os_fstatat(fds[0], "", &st, AT_EMPTY_PATH) == 0 &&
		    S_ISFIFO(st.st_mode)) {
			char name[40];
			size_t n = cpy(name, sizeof name, 0, "pipe:[", 6);
			n += retro_utoa(name + n, (uint64_t)st.st_ino);
			cpy(name, sizeof name, n, "]", 1);
			fd_bind(tself, fds[0], name, 0);
			fd_bind(tself, fds[1], name, 0);
		} else {
			fd_obj(tself, fds[0]);
			fd_obj(tself, fds[1]);
		}
		if (fde(fds[0]))
			P.fds[fds[0]].flags |= FE_NOSEEK | FE_PREIMG;
		if (fde(fds[1]))
			P.fds[fds[1]].flags |= FE_NOSEEK | FE_PREIMG;
	}
}

/* ---- stacks -------------------------------------------------------------- */

static uint64_t stack_id(const uint64_t *pc, int k)
{
	return retro_hash64(pc, (size_t)k * 8) | 1;
}

static __attribute__((noinline)) uint64_t
stack_record(struct retro_thread *t, const uint64_t *pc, int k, uint64_t id,
	     uint64_t *slot)
{
	struct retro_rec_stack *s;

	s = reserve(t, sizeof *s, REC_STACK);
	if (!s)
		return 0;
	s->id = id;
	s->n = (uint32_t)k;
	memcpy(s->pc, pc, (size_t)k * 8);
	__atomic_store_n(&s->h.state, RS_DONE, __ATOMIC_RELEASE);
	*slot = id ^ t->seen_salt;
	return id;
}

/* The call site id; its record once per segment (seen_stack). */
static inline __attribute__((always_inline)) uint64_t
emit_stack(struct retro_thread *t, const uint64_t *pc, int k, uint64_t id)
{
	uint64_t *slot = &t->seen_stack[id % STACK_SLOTS];

	if (*slot == (id ^ t->seen_salt))
		return id;
	return stack_record(t, pc, k, id, slot);
}

static int unw_late; /* see unwind_late */
static void unwind_late(void);

/* libunwind takes locks of its own while it steps (its cache's, with
 * Debian's 1.6) and while it sets itself up.  A fork while another thread
 * holds one left the child waiting for it forever at its first unwind (a
 * recorded test_threading, whose threads run while it forks).  So a fork
 * waits until no thread is inside libunwind (unw_busy), and holds new
 * ones off meanwhile (unw_forking): retro_fork_prepare, retro_fork_parent,
 * retro_fork_child. */
static int unw_busy, unw_forking;

static void unw_enter(void)
{
	for (;;) {
		__atomic_add_fetch(&unw_busy, 1, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&unw_forking, __ATOMIC_SEQ_CST))
			return;
		__atomic_sub_fetch(&unw_busy, 1, __ATOMIC_SEQ_CST);
		while (__atomic_load_n(&unw_forking, __ATOMIC_ACQUIRE))
			retro_sys0(SYS_sched_yield);
	}
}

static void unw_leave(void)
{
	__atomic_sub_fetch(&unw_busy, 1, __ATOMIC_RELEASE);
}

static uint64_t unwind_stack_in(struct retro_thread *t, uint64_t ra,
				uint64_t sp, struct stack_cache *e);

/* The call site: up to RETRO_STACK_MAX return addresses of the program's
 * frames.  Unwinding costs ~100 ns, so each thread caches the stacks it
 * unwound, keyed by the interposer's return address and frame, together
 * with where on the stack each return address was found.  A hit is
 * verified by reading those slots again: if every one still holds the
 * same return address, the program is in the same call chain.  The first
 * frame's address is ra itself, already compared; for a trapped call it
 * is the interrupted rip, which is in the signal frame, not in a slot of
 * the stack: that entry's slot is its own pc, so the check reads it
 * without a test for it. */
static __attribute__((noinline)) uint64_t
unwind_stack(struct retro_thread *t, uint64_t ra, uint64_t sp,
	     struct stack_cache *e)
{
	uint64_t id;

	unw_enter();
	if (__atomic_load_n(&unw_late, __ATOMIC_ACQUIRE))
		unwind_late();
	id = unwind_stack_in(t, ra, sp, e);
	unw_leave();
	return id;
}

static uint64_t unwind_stack_in(struct retro_thread *t, uint64_t ra,
				uint64_t sp, struct stack_cache *e)
{
	unw_context_t ctx;
	unw_cursor_t cur;
	uint64_t pc[RETRO_STACK_MAX], at[RETRO_STACK_MAX];
	int k = 0, hops = 0;
	int here = 0; /* the cursor's own frame is the program's */

	if (retro_trap_uc &&
	    (uint64_t)((const ucontext_t *)retro_trap_uc)
			    ->uc_mcontext.gregs[REG_RIP] == ra) {
		/* A trapped call: from the registers it was made with.  (An
		 * unwinder does not get through our restorer's frame.)  The
		 * kernel's frame is shorter than a ucontext_t, but what
		 * follows it on the stack is the rest of the signal frame. */
		memcpy(&ctx, retro_trap_uc, sizeof ctx);
		if (unw_init_local2(&cur, &ctx, UNW_INIT_SIGNAL_FRAME))
			return 0;
		here = 1;
	} else if (unw_getcontext(&ctx) || unw_init_local(&cur, &ctx)) {
		return 0;
	}
	while (k < RETRO_STACK_MAX && hops++ < RETRO_STACK_MAX + 8 &&
	       (here || unw_step(&cur) > 0)) {
		unw_word_t ip, fsp;
		here = 0;
		if (unw_get_reg(&cur, UNW_REG_IP, &ip) ||
		    unw_get_reg(&cur, UNW_REG_SP, &fsp))
			break;
		if (ip >= P.self_lo && ip < P.self_hi) {
			/* the shim's own frames; past the program's first, the
			 * shim ran the program's code (a signal handler, which
			 * it delivers; an atexit or atfork handler), and what
			 * lies beyond is where that code was called from, no
			 * longer this call's site (a signal's: wherever it
			 * came, so that no two deliveries had one chain) */
			if (k)
				break;
			continue;
		}
		pc[k] = ip;
		/* where `call` left this return address */
		at[k] = k == 0 && ip == ra ? 0 : fsp - 8;
		k++;
	}
	if (k == 0)
		return 0;
	if (ra) {
		e->ra = ra;
		e->sp = sp;
		e->n = k;
		e->id = stack_id(pc, k);
		memcpy(e->pc, pc, (size_t)k * 8);
		memcpy(e->at, at, (size_t)k * 8);
		if (!e->at[0]) /* nothing to read: compare pc[0] with itself */
			e->at[0] = (uint64_t)(uintptr_t)&e->pc[0];
	}
	return emit_stack(t, pc, k, stack_id(pc, k));
}

/* The stack cache of a process's forked descendants.  A forked child
 * inherits its parent's thread cache (above), but the calls a child makes
 * and its parent never does (a subshell's redirections, its write to the
 * pipe, its exit) miss in every child, and a bash child spent a sixth of
 * its time unwinding them, libunwind's pages faulted in again each time.
 * Before its first fork a process maps this cache shared; every child,
 * grandchild and sibling below it, none of which has exec'd (exec drops
 * the mapping), has the same addresses for all that was mapped then, so
 * what one of them unwound the others can take.  Only on the main
 * thread's stack, and only after the same check as a thread cache's hit:
 * every return address is still in its slot.  Before reading a slot the
 * entry's slots must lie between sp and the top of the stack, a range
 * mincore found mapped, so that an entry from a sibling whose stack held
 * something else (or a torn one) is a miss, never a fault.  Each entry
 * is a seqlock: odd while written. */
#define SSC_BITS 8
#define SSC_WAYS 2
#define SSC_SPAN (1u << 20) /* the deepest sp from the top it serves */
struct ssc_ent {
	uint64_t seq;
	uint64_t ra, sp, id, n;
	uint64_t pc[RETRO_STACK_MAX];
	uint64_t at[RETRO_STACK_MAX]; /* at[0] 0: pc[0] is ra itself */
};
struct ssc_set {
	uint64_t next;
	struct ssc_ent e[SSC_WAYS];
};

extern void *__libc_stack_end;

/* Maps the cache, in the parent before a fork (retro_fork_prepare). */
static void ssc_map(void)
{
	long r;

	if (P.ssc)
		return;
	r = retro_os.mmap(NULL, sizeof(struct ssc_set) << SSC_BITS,
			  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			  -1, 0);
	if (r < 0)
		return;
	P.stack_end = (uint64_t)(uintptr_t)__libc_stack_end;
	P.stack_ok = P.stack_end;
	P.ssc = (struct ssc_set *)r;
}

/* Is [sp, stack_end) mapped, sp on the main thread's stack?  mincore
 * fails with ENOMEM where a page of the range is not mapped. */
static int ssc_stack_ok(uint64_t sp)
{
	unsigned char vec[SSC_SPAN / 4096];
	uint64_t lo = sp & ~4095ull;

	if (sp >= P.stack_end || P.stack_end - sp > SSC_SPAN - 4096)
		return 0;
	if (lo >= P.stack_ok)
		return 1;
	if (retro_sys3(SYS_mincore, lo, P.stack_end - lo, vec) != 0)
		return 0;
	P.stack_ok = lo;
	return 1;
}

static struct ssc_set *ssc_set_of(uint64_t ra, uint64_t sp)
{
	return &P.ssc[((ra ^ (sp * 0x9e3779b97f4a7c15ull)) *
		       0xc4ceb9fe1a85ec53ull) >> (64 - SSC_BITS)];
}

/* A shared entry for (ra, sp) whose slots hold its return addresses,
 * copied into e.  1 on a hit. */
static int ssc_get(uint64_t ra, uint64_t sp, struct stack_cache *e)
{
	struct ssc_set *set = ssc_set_of(ra, sp);

	for (int w = 0; w < SSC_WAYS; w++) {
		struct ssc_ent *s = &set->e[w], c;
		uint64_t q = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		uint64_t *src = (uint64_t *)s, *dst = (uint64_t *)&c;
		int i;

		if ((q & 1) || __atomic_load_n(&s->ra, __ATOMIC_RELAXED) != ra ||
		    __atomic_load_n(&s->sp, __ATOMIC_RELAXED) != sp)
			continue;
		for (size_t k = 0; k < sizeof c / 8; k++)
			dst[k] = __atomic_load_n(&src[k], __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) != q ||
		    c.n < 1 || c.n > RETRO_STACK_MAX)
			continue;
		for (i = 0; i < (int)c.n; i++) {
			if (i == 0 && c.at[0] == 0) {
				if (c.pc[0] != ra)
					break;
				continue;
			}
			if (c.at[i] < sp || c.at[i] > P.stack_end - 8 ||
			    (c.at[i] & 7) ||
			    *(const uint64_t *)(uintptr_t)c.at[i] != c.pc[i])
				break;
		}
		if (i < (int)c.n)
			continue;
		e->ra = ra;
		e->sp = sp;
		e->n = (int)c.n;
		e->id = c.id;
		memcpy(e->pc, c.pc, sizeof e->pc);
		memcpy(e->at, c.at, sizeof e->at);
		if (!e->at[0])
			e->at[0] = (uint64_t)(uintptr_t)&e->pc[0];
		return 1;
	}
	return 0;
}

/* Offers the thread cache's entry e, just unwound, to the others. */
static void ssc_put(const struct stack_cache *e)
{
	struct ssc_set *set = ssc_set_of(e->ra, e->sp);
	struct ssc_ent *s =
		&set->e[__atomic_fetch_add(&set->next, 1, __ATOMIC_RELAXED) %
			SSC_WAYS];
	uint64_t q = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);

	if ((q & 1) || !__atomic_compare_exchange_n(&s->seq, &q, q + 1, 0,
						    __ATOMIC_ACQUIRE,
						    __ATOMIC_RELAXED))
		return; /* another is writing it */
	__atomic_store_n(&s->ra, e->ra, __ATOMIC_RELAXED);
	__atomic_store_n(&s->sp, e->sp, __ATOMIC_RELAXED);
	__atomic_store_n(&s->id, e->id, __ATOMIC_RELAXED);
	__atomic_store_n(&s->n, (uint64_t)e->n, __ATOMIC_RELAXED);
	for (int i = 0; i < RETRO_STACK_MAX; i++) {
		uint64_t at = e->at[i];
		if (i == 0 && at == (uint64_t)(uintptr_t)&e->pc[0])
			at = 0;
		__atomic_store_n(&s->pc[i], i < e->n ? e->pc[i] : 0,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&s->at[i], i < e->n ? at : 0,
				 __ATOMIC_RELAXED);
	}
	__atomic_store_n(&s->seq, q + 2, __ATOMIC_RELEASE);
}

/* ---- call chains learned across processes ----------------------------
 *
 * What the thread caches and the cache of forked children do within a
 * process's family, this does across exec.  The chains a process unwinds
 * on its main thread's stack are noted in the spool directory (a file per
 * program, stacks-PROG, appended to at its exit or exec): each return
 * address as a module (a hash of its build-id, else of its path) and an
 * offset, and each slot it was found in as an offset from the frame's
 * stack pointer.  A later process of the same program in the same
 * recording takes a noted chain for a call at the same return address
 * when every slot, at that offset from the call's own stack pointer,
 * holds its return address: the check a hit in the thread cache passes
 * (capture_stack), and ssc_get's bounds on the slots.  A bash started by
 * a build unwinds the same few dozen chains as the one before it; with
 * them noted, a process unwinds only what is new to it, and libunwind's
 * set-up (~35 us here, tdep_init) waits until it does (unwind_late). */
#define LSTACK_TAG 0x6b73
#define LSTACK_MAX 512	/* entries taken from a file; past it, none is added */
#define LSTACK_FRESH 128 /* noted by one process */
#define LSTACK_SLOTS 1024
struct lstack_rec {	/* in the file */
	uint16_t tag;	/* LSTACK_TAG */
	uint8_t n;	/* frames */
	uint8_t self0;	/* 1: the first frame is the call's return address */
	uint32_t sum;	/* of what follows (lstack_sum) */
	struct {
		uint64_t mod;
		uint32_t off;
		int32_t d; /* its slot from the stack pointer */
	} ra, f[RETRO_STACK_MAX];
};
struct lstack { /* resolved here */
	uint64_t ra, id;
	int n, self0;
	uint64_t pc[RETRO_STACK_MAX];
	int64_t d[RETRO_STACK_MAX];
};
static struct lstack lst[LSTACK_MAX];
static int nlst;
static uint16_t lst_slot[LSTACK_SLOTS]; /* index + 1, by ra */
static struct lstack_rec lst_fresh[LSTACK_FRESH];
static int nlst_fresh;
static int32_t lst_owner; /* the process whose chains lst_fresh holds */
static uint64_t lst_prog; /* the program's key, 0: nothing noted */
/* RETRO_STACK_DEBUG=1: at its end, a process says how its chains came */
static int lst_debug;
static unsigned long lst_hits, lst_unwound;

static uint32_t lstack_sum(const struct lstack_rec *r)
{
	return (uint32_t)retro_hash64(&r->ra, sizeof *r - offsetof(struct
							     lstack_rec, ra)) ^
	       r->n ^ ((uint32_t)r->self0 << 8);
}

static uint64_t module_key(const struct module *m)
{
	return m->build_id_len ? retro_hash64(m->build_id, m->build_id_len)
			       : retro_hash64(m->path, m->pathlen);
}

/* pc as a module's key and an offset from its load address */
static int module_off(uint64_t pc, uint64_t *key, uint32_t *off)
{
	for (int i = 0; i < P.nmods; i++) {
		const struct module *m = &P.mods[i];
		if (pc >= m->lo && pc < m->hi && pc - m->bias <= UINT32_MAX) {
			*key = module_key(m);
			*off = (uint32_t)(pc - m->bias);
			return 1;
		}
	}
	return 0;
}

/* The modules' keys, while lstack_load resolves entries */
static uint64_t *lst_keys;

/* The address of a module's key and offset here, or 0. */
static uint64_t module_addr(uint64_t key, uint32_t off)
{
	for (int i = 0; i < P.nmods; i++) {
		const struct module *m = &P.mods[i];
		if (lst_keys[i] == key) {
			uint64_t pc = m->bias + off;
			return pc >= m->lo && pc < m->hi ? pc : 0;
		}
	}
	return 0;
}

static unsigned lstack_slot_of(uint64_t ra)
{
	return (unsigned)((ra * 0x9e3779b97f4a7c15ull) >> 54) &
	       (LSTACK_SLOTS - 1);
}

/* The bytes of SPOOL/stacks-PROG: sized to the spool's path, not
 * PATH_MAX (see segment_open) */
#define LSTACK_PATH (strlen(P.spool) + sizeof RETRO_STACKS_PREFIX + 18)

/* SPOOL/stacks-PROG */
static int lstack_path(char *path, size_t size)
{
	size_t n = strlen(P.spool);

	if (!P.spool[0] || n + 1 + sizeof RETRO_STACKS_PREFIX + 16 > size)
		return -1;
	memcpy(path, P.spool, n);
	path[n++] = '/';
	memcpy(path + n, RETRO_STACKS_PREFIX, sizeof RETRO_STACKS_PREFIX - 1);
	n += sizeof RETRO_STACKS_PREFIX - 1;
	retro_hex64(path + n, lst_prog);
	return 0;
}

/* Takes one entry of the file, resolved, unless it is malformed, names a
 * module not loaded here, or is there already. */
static void lstack_take(const struct lstack_rec *r)
{
	struct lstack *c = &lst[nlst];
	unsigned h;

	if (r->tag != LSTACK_TAG || r->n < 1 || r->n > RETRO_STACK_MAX ||
	    r->self0 > 1 || r->sum != lstack_sum(r) ||
	    !(c->ra = module_addr(r->ra.mod, r->ra.off)))
		return;
	c->n = r->n;
	c->self0 = r->self0;
	for (int i = 0; i < c->n; i++) {
		c->pc[i] = module_addr(r->f[i].mod, r->f[i].off);
		c->d[i] = r->f[i].d;
		if (!c->pc[i] ||
		    (!(i == 0 && c->self0) &&
		     (c->d[i] < 0 || (c->d[i] & 7) || c->d[i] >= SSC_SPAN)))
			return;
	}
	if (c->self0 && c->pc[0] != c->ra)
		return;
	for (h = lstack_slot_of(c->ra); lst_slot[h]; h = (h + 1) & (LSTACK_SLOTS - 1)) {
		const struct lstack *o = &lst[lst_slot[h] - 1];
		if (o->ra == c->ra && o->n == c->n && o->self0 == c->self0 &&
		    !memcmp(o->pc, c->pc, sizeof o->pc[0] * (size_t)c->n) &&
		    !memcmp(o->d, c->d, sizeof o->d[0] * (size_t)c->n))
			return; /* noted by another process too */
	}
	c->id = stack_id(c->pc, c->n);
	lst_slot[h] = (uint16_t)(nlst + 1);
	nlst++;
}

/* At the start: the chains noted by earlier processes of this program. */
static void lstack_load(uint64_t prog)
{
	/* sized to need, not PATH_MAX and 32 entries a read: a page of
	 * stack deeper than the program goes is a page fault at every
	 * start */
	char path[LSTACK_PATH];
	struct lstack_rec buf[8];
	long fd, n;

	lst_prog = prog;
	if (!prog || lstack_path(path, sizeof path))
		return;
	if (!P.stack_end) {
		P.stack_end = (uint64_t)(uintptr_t)__libc_stack_end;
		P.stack_ok = P.stack_end;
	}
	fd = retro_os_openat(AT_FDCWD, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return;
	uint64_t keys[P.nmods + 1];
	for (int i = 0; i < P.nmods; i++)
		keys[i] = module_key(&P.mods[i]);
	lst_keys = keys;
	while (nlst < LSTACK_MAX &&
	       (n = retro_os_read((int)fd, buf, sizeof buf)) > 0)
		for (long i = 0; (i + 1) * (long)sizeof *buf <= n &&
				 nlst < LSTACK_MAX; i++)
			lstack_take(&buf[i]);
	lst_keys = NULL;
	retro_os.close((int)fd);
}

/* A noted chain for (ra, sp) whose slots hold its return addresses,
 * into e.  1 on a hit.  sp passed ssc_stack_ok. */
static int lstack_get(uint64_t ra, uint64_t sp, struct stack_cache *e)
{
	for (unsigned h = lstack_slot_of(ra); lst_slot[h];
	     h = (h + 1) & (LSTACK_SLOTS - 1)) {
		const struct lstack *c = &lst[lst_slot[h] - 1];
		int i;
		if (c->ra != ra)
			continue;
		for (i = c->self0; i < c->n; i++) {
			uint64_t at = sp + (uint64_t)c->d[i];
			if (at > P.stack_end - 8 ||
			    *(const uint64_t *)(uintptr_t)at != c->pc[i])
				break;
		}
		if (i < c->n)
			continue;
		e->ra = ra;
		e->sp = sp;
		e->n = c->n;
		e->id = c->id;
		memcpy(e->pc, c->pc, sizeof e->pc);
		for (i = 0; i < c->n; i++)
			e->at[i] = sp + (uint64_t)c->d[i];
		if (c->self0)
			e->at[0] = (uint64_t)(uintptr_t)&e->pc[0];
		return 1;
	}
	return 0;
}

/* Notes the chain e, just unwound on the main thread's stack. */
static void lstack_note(const struct stack_cache *e)
{
	struct lstack_rec *r;

	if (!lst_prog)
		return;
	if (lst_owner != P.pid) {
		/* a forked child's own, not its parent's (which the parent
		 * notes): cleared here rather than at the fork, so that a
		 * child that unwinds nothing does not copy this page */
		nlst_fresh = 0;
		lst_owner = P.pid;
	}
	if (nlst_fresh == LSTACK_FRESH)
		return;
	r = &lst_fresh[nlst_fresh];
	memset(r, 0, sizeof *r);
	r->tag = LSTACK_TAG;
	r->n = (uint8_t)e->n;
	r->self0 = e->at[0] == (uint64_t)(uintptr_t)&e->pc[0];
	if (!module_off(e->ra, &r->ra.mod, &r->ra.off))
		return;
	for (int i = 0; i < e->n; i++) {
		int64_t d = (int64_t)(e->at[i] - e->sp);
		if (!module_off(e->pc[i], &r->f[i].mod, &r->f[i].off))
			return;
		if (i == 0 && r->self0)
			continue;
		if (d < 0 || (d & 7) || d >= SSC_SPAN)
			return;
		r->f[i].d = (int32_t)d;
	}
	r->sum = lstack_sum(r);
	nlst_fresh++;
}

/* Takes the chain e, just unwound on the main thread's stack, into the
 * table lstack_get reads, as lstack_take takes those of earlier
 * processes: a call from the same frames at another depth of the stack
 * then finds it there, where the thread's cache, keyed by the stack
 * pointer too, misses (bash's calls in its SIGCHLD handler, each at the sp
 * the signal came at: two unwound at every child it waited for), and
 * so do the process's forked children. */
static void lstack_add(const struct stack_cache *e)
{
	int self0 = e->at[0] == (uint64_t)(uintptr_t)&e->pc[0];
	struct lstack *c;
	unsigned h;

	if (nlst >= LSTACK_MAX)
		return;
	c = &lst[nlst];
	for (int i = 0; i < e->n; i++) {
		int64_t d = (int64_t)(e->at[i] - e->sp);
		if (i == 0 && self0) {
			c->d[i] = 0;
			continue;
		}
		if (d < 0 || (d & 7) || d >= SSC_SPAN)
			return;
		c->d[i] = d;
	}
	c->ra = e->ra;
	c->n = e->n;
	c->self0 = self0;
	memcpy(c->pc, e->pc, sizeof c->pc[0] * (size_t)e->n);
	c->id = e->id;
	for (h = lstack_slot_of(c->ra); lst_slot[h]; h = (h + 1) & (LSTACK_SLOTS - 1)) {
		const struct lstack *o = &lst[lst_slot[h] - 1];
		if (o->ra == c->ra && o->n == c->n && o->self0 == c->self0 &&
		    !memcmp(o->pc, c->pc, sizeof o->pc[0] * (size_t)c->n) &&
		    !memcmp(o->d, c->d, sizeof o->d[0] * (size_t)c->n))
			return;
	}
	/* filled before it is named: a handler that comes in between
	 * (only ever one that makes no recorded call: the thread's guard
	 * holds the others) sees it whole or not at all */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	lst_slot[h] = (uint16_t)(nlst + 1);
	nlst++;
}

/* Appends what this process noted (at its exit, and before an exec). */
static void lstack_flush(void)
{
	char path[LSTACK_PATH];

	if (lst_debug) {
		char b[160];
		int n = snprintf(b, sizeof b,
				 "retro: chains of %s: %d noted before, %lu calls "
				 "took one, %lu unwound, libunwind %s\n",
				 P.exe ? P.exe : "?", nlst, lst_hits, lst_unwound,
				 unw_late ? "not set up" : "set up");
		retro_sys3(SYS_write, 2, b, n);
	}
	if (!nlst_fresh || lst_owner != P.pid)
		return;
	if (!lstack_path(path, sizeof path))
		retro_os_append_records(path, lst_fresh, (size_t)nlst_fresh,
					sizeof *lst_fresh, LSTACK_MAX);
	nlst_fresh = 0;
}

/* A miss in the thread's cache: the shared one, the chains noted by
 * earlier processes, else unwinding. */
static __attribute__((noinline)) uint64_t
stack_miss(struct retro_thread *t, uint64_t ra, uint64_t sp,
	   struct stack_cache *e)
{
	uint64_t id;
	int main_stack = (P.ssc || nlst || lst_prog) && ssc_stack_ok(sp);
	int shared = P.ssc && main_stack;

	e->seen = 0; /* a new chain, or none: its record is not written */

	if (shared && ssc_get(ra, sp, e))
		return emit_stack(t, e->pc, e->n, e->id);
	if (nlst && main_stack && lstack_get(ra, sp, e)) {
		if (shared)
			ssc_put(e);
		if (lst_debug)
			__atomic_add_fetch(&lst_hits, 1, __ATOMIC_RELAXED);
		return emit_stack(t, e->pc, e->n, e->id);
	}
	e->n = 0;
	if (lst_debug)
		__atomic_add_fetch(&lst_unwound, 1, __ATOMIC_RELAXED);
	id = unwind_stack(t, ra, sp, e);
	if (main_stack && e->n && e->ra == ra && e->sp == sp) {
		if (shared)
			ssc_put(e);
		lstack_note(e);
		lstack_add(e);
	}
	return id;
}

/* The entry for a new chain in set: the next in turn, named by the way
 * the set replaces next.  The entry's last set and way lose it, unless
 * they named another since. */
static struct stack_cache *scache_take(struct retro_thread *t, unsigned set)
{
	uint16_t *flat = &t->scache_idx[0][0];
	unsigned w = t->scache_next[set]++ % SCACHE_WAYS;
	unsigned k = t->scache_ring++ % SCACHE_POOL;
	unsigned o = t->scache_own[k];
	struct stack_cache *e = &t->scache[k];

	if (o && flat[o - 1] == k + 1)
		flat[o - 1] = 0;
	t->scache_own[k] = (uint16_t)(1 + set * SCACHE_WAYS + w);
	t->scache_idx[set][w] = (uint16_t)(k + 1);
	e->n = 0;
	return e;
}

/* The cache's hit inline (a stack already in this segment costs no
 * call), the unwinding out of line. */
static inline __attribute__((always_inline)) uint64_t
capture_stack(struct retro_thread *t, uint64_t ra, uint64_t sp)
{
	/* both mixed into the set's bits: sites a few bytes or a few
	 * frames apart land anywhere */
	unsigned set = (unsigned)(((ra ^ (sp * 0x9e3779b97f4a7c15ull)) *
				   0xff51afd7ed558ccdull) >>
				  (64 - SCACHE_BITS));
	const uint16_t *idx = t->scache_idx[set];
	struct stack_cache *e;
	uint64_t id;

	if (!ra)
		return unwind_stack(t, 0, sp, &t->scache_ra0);
	/* One frame may be reached through several chains (sqlite's
	 * writes, from alike frames of different callers): each is an
	 * entry of its own, and a hit is the one whose slots still hold
	 * its return addresses. */
	for (int w = 0; w < SCACHE_WAYS; w++) {
		if (!idx[w])
			continue;
		e = &t->scache[idx[w] - 1];
		if (e->ra == ra && e->sp == sp && e->n) {
			int i = 0;
			while (i < e->n && *(const uint64_t *)e->at[i] == e->pc[i])
				i++;
			if (i == e->n) {
				if (e->seen == (uint32_t)t->seen_gen)
					return e->id;
				id = emit_stack(t, e->pc, e->n, e->id);
				if (id)
					e->seen = (uint32_t)t->seen_gen;
				return id;
			}
		}
	}
	e = scache_take(t, set);
	id = stack_miss(t, ra, sp, e);
	if (id && e->n && id == e->id)
		e->seen = (uint32_t)t->seen_gen; /* written by the miss */
	return id;
}

/* libunwind (1.6) checks, while it steps, that an address is readable by
 * writing one byte from it into a pipe of its own: two descriptors, kept
 * out of the program's range (retro_internal_fds), but still seen by a
 * program that lists every descriptor it has (CPython's
 * test_pass_fds_redirected does).  process_vm_readv on our own pid tells
 * the same without a descriptor.  So the local address space reads memory
 * through access_mem() below, and once that works, libunwind's pipe is
 * closed: its own check, the pipe's only user, is no longer called.  If
 * process_vm_readv is refused later (a seccomp filter the program
 * installs), reads go back to libunwind's own accessor, which opens its
 * pipe again (and retro_internal_fds moves it). */
#define NGOOD 16
static __thread uint64_t good_page[NGOOD]
	__attribute__((tls_model("initial-exec")));
static __thread unsigned good_next __attribute__((tls_model("initial-exec")));
static int unw_pipe[2] = { -1, -1 };
/* Set while unwind_init makes libunwind open its pipe: see there. */
static int unw_pipe_low;
static int vm_refused;
static int (*unw_access_mem)(unw_addr_space_t, unw_word_t, unw_word_t *, int,
			     void *);

/* 1 if the page of addr is readable, 0 if not, -1 if we cannot tell */
static int readable(uint64_t addr)
{
	uint64_t page = addr & ~4095ull;
	struct iovec l, r;
	long n;
	char b;

	if (page == 0)
		return 0;
	for (int i = 0; i < NGOOD; i++)
		if (good_page[i] == page)
			return 1;
	l.iov_base = &b;
	l.iov_len = 1;
	r.iov_base = (void *)(uintptr_t)page;
	r.iov_len = 1;
	n = retro_sys6(SYS_process_vm_readv, retro_sys0(SYS_getpid), (long)&l,
		       1, (long)&r, 1, 0);
	if (n == -EPERM || n == -ENOSYS || n == -EACCES)
		return -1;
	if (n != 1)
		return 0;
	good_page[good_next++ % NGOOD] = page;
	return 1;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val,
		      int write, void *arg)
{
	int ok;

	if (!write && !vm_refused) {
		/* a word may straddle two pages */
		ok = readable(addr);
		if (ok > 0)
			ok = readable(addr + sizeof *val - 1);
		if (ok > 0) {
			*val = *(const unw_word_t *)(uintptr_t)addr;
			return 0;
		}
		if (ok == 0)
			return -UNW_EINVAL;
		vm_refused = 1;
	}
	return unw_access_mem(as, addr, val, write, arg);
}

/* libunwind's sigprocmask.  It blocks every signal while it holds its
 * cache's lock, so that a signal handler that unwinds on the same thread
 * cannot wait for that lock forever, and around dl_iterate_phdr.  The
 * recorder calls libunwind only with its guard set, and while the guard is
 * set the program's handlers do not run on this thread (retro_sig_defer:
 * they run when it lets go).  So there its blocking changes nothing, and
 * costs two system calls per frame stepped: it is left out.  Outside the
 * guard (unwind_init) it is libc's. */
static int unw_sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	struct retro_thread *t = tself;

	if (t && t->guard) {
		/* only ever given back to us, inside the same guard */
		if (old)
			memset(old, 0, sizeof *old);
		return 0;
	}
	return sigprocmask(how, set, old);
}

/* libunwind's accessor getter (unwind_find) */
static unw_accessors_t *(*unw_accessors_of)(unw_addr_space_t);

/* Finds the accessor getter of the libunwind we unwind with: 1.6 exports
 * it under its generic name only, later versions under the local.  At
 * the start: it asks the loader, which a trapped call may hold. */
static void unwind_find(void)
{
	Dl_info di;
	void *h;

	if (!dladdr((void *)&unw_init_local, &di) || !di.dli_fname ||
	    !(h = dlopen(di.dli_fname, RTLD_NOW | RTLD_NOLOAD)))
		return;
	*(void **)&unw_accessors_of = dlsym(h, "_ULx86_64_get_accessors");
	if (!unw_accessors_of)
		*(void **)&unw_accessors_of =
			dlsym(h, "_Ux86_64_get_accessors");
}

/* Puts access_mem in libunwind's local accessors.  Returns 0 when it is
 * there. */
static int unwind_hook(void)
{
	unw_accessors_t *acc;
	unw_context_t ctx;
	unw_cursor_t cur;
	int self = 0;

	if (unw_getcontext(&ctx) || unw_init_local(&cur, &ctx))
		return -1;
	if (!unw_accessors_of || !(acc = unw_accessors_of(unw_local_addr_space)) ||
	    !acc->access_mem || readable((uint64_t)(uintptr_t)&self) != 1)
		return -1;
	if (acc->access_mem != access_mem) {
		unw_access_mem = acc->access_mem;
		acc->access_mem = access_mem;
	}
	return 0;
}

static void unwind_init(void)
{
	/* The pipe libunwind opens at its first call here is closed again
	 * before the program runs, so it stays at the lowest free numbers.
	 * Moved up near RLIMIT_NOFILE, it made the kernel grow the process's
	 * descriptor table to that size (20,000 entries here, a million in
	 * a container), which every later listing of /proc/self/fd scanned
	 * to its end. */
	unw_pipe_low = 1;
	/* libunwind's global cache takes a lock with every signal blocked:
	 * two rt_sigprocmask calls per frame stepped.  Each thread's own
	 * cache needs neither, where libunwind is built with one (Debian's
	 * 1.6 is not, and keeps the global cache; unw_sigprocmask). */
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	if (unwind_hook() == 0) {
		unw_pipe_low = 0;
		for (int i = 0; i < 2; i++) {
			if (unw_pipe[i] >= 0)
				retro_sys1(SYS_close, unw_pipe[i]);
			unw_pipe[i] = -1;
		}
		return;
	}
	/* libunwind keeps its pipe: out of the program's way */
	unw_pipe_low = 0;
	if (unw_pipe[0] >= 0 && unw_pipe[1] >= 0)
		retro_internal_fds(unw_pipe, 2);
}

/* unwind_init, when retro_init left it for the first unwind (a process
 * that found chains noted for its program, lstack_load): once, the
 * other threads waiting (unw_late 1: still to do, 2: being done).  The
 * caller holds its guard, so libunwind's calls through libc pass.  (Its
 * pipe is made and closed here while the program's other threads may
 * run: one of them opening a descriptor meanwhile would get a number two
 * higher than without us.) */
static __attribute__((noinline)) void unwind_late(void)
{
	int one = 1;

	if (__atomic_compare_exchange_n(&unw_late, &one, 2, 0, __ATOMIC_ACQUIRE,
					__ATOMIC_ACQUIRE)) {
		unwind_init();
		__atomic_store_n(&unw_late, 0, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&unw_late, __ATOMIC_ACQUIRE))
		retro_sys0(SYS_sched_yield);
}

int retro_internal(void)
{
	struct retro_thread *t = tself;

	return P.state == PS_INIT || (t && t->guard);
}

void retro_internal_fds(int *fds, int n)
{
	struct rlimit rl = { 0, 0 };
	long lo = 64;

	if (n == 2 && unw_pipe_low) {
		unw_pipe[0] = fds[0];
		unw_pipe[1] = fds[1];
		return;
	}
	if (retro_os.getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur > 128 && rl.rlim_cur != RLIM_INFINITY)
		lo = (long)rl.rlim_cur - 16;
	else if (rl.rlim_cur == RLIM_INFINITY)
		lo = 1 << 20;
	for (int i = 0; i < n; i++) {
		long nfd = retro_os_fcntl(fds[i], F_DUPFD_CLOEXEC, lo);
		if (nfd < 0)
			continue;
		retro_os.close(fds[i]);
		fds[i] = (int)nfd;
	}
	if (n == 2) {
		unw_pipe[0] = fds[0];
		unw_pipe[1] = fds[1];
	}
}

static int module_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct module *m;
	uint64_t lo = UINT64_MAX, hi = 0;
	const char *name = info->dlpi_name;
	int is_exe = !name || !name[0];
	size_t len;

	(void)size;
	(void)arg;
	if (P.nmods >= NMODULES)
		return 1;
	m = &P.mods[P.nmods];
	memset(m, 0, sizeof *m);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD) {
			uint64_t a = info->dlpi_addr + ph->p_vaddr;
			if (a < lo)
				lo = a;
			if (a + ph->p_memsz > hi)
				hi = a + ph->p_memsz;
		} else if (ph->p_type == PT_NOTE) {
			const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
			const char *end = p + ph->p_memsz;
			while (p + sizeof(ElfW(Nhdr)) <= end) {
				const ElfW(Nhdr) *nh = (const void *)p;
				const char *desc = p + sizeof *nh +
						   ((nh->n_namesz + 3) & ~3u);
				if (nh->n_type == NT_GNU_BUILD_ID &&
				    nh->n_namesz == 4 && nh->n_descsz <= 20 &&
				    desc + nh->n_descsz <= end) {
					memcpy(m->build_id, desc, nh->n_descsz);
					m->build_id_len = nh->n_descsz;
					break;
				}
				p = desc + ((nh->n_descsz + 3) & ~3u);
			}
		}
	}
	if (hi == 0)
		return 0;
	if (is_exe) {
		/* read where it is kept: no PATH_MAX of stack (see
		 * segment_open) */
		char *d = P.modpaths + P.modpathlen;
		size_t room = sizeof P.modpaths - P.modpathlen;
		long r;
		if (room < 2)
			return 1; /* full: as below */
		r = retro_os_readlinkat(AT_FDCWD, "/proc/self/exe", d,
					room - 1);
		d[r > 0 ? r : 0] = 0; /* no /proc: kept without a path */
		name = d;
	}
	len = strlen(name);
	if (P.modpathlen + len + 1 > sizeof P.modpaths)
		return 1;
	if (!is_exe)
		memcpy(P.modpaths + P.modpathlen, name, len + 1);
	m->path = P.modpaths + P.modpathlen;
	m->pathlen = (uint32_t)len;
	P.modpathlen += len + 1;
	if (is_exe && len)
		P.exe = m->path; /* for emit_start, here and in forked children */
	m->lo = lo;
	m->hi = hi;
	m->bias = info->dlpi_addr;
	if ((uint64_t)(uintptr_t)&retro_init >= lo &&
	    (uint64_t)(uintptr_t)&retro_init < hi) {
		P.self_lo = lo;
		P.self_hi = hi;
	}
	P.nmods++;
	return 0;
}

static void emit_modules(struct retro_thread *t)
{
	for (int i = 0; i < P.nmods; i++) {
		struct module *m = &P.mods[i];
		struct retro_rec_module *r;

		r = reserve(t, align8(sizeof *r + m->pathlen), REC_MODULE);
		if (!r)
			return;
		r->base = m->lo;
		r->size = m->hi - m->lo;
		r->bias = m->bias;
		memcpy(r->build_id, m->build_id, 20);
		r->build_id_len = m->build_id_len;
		r->pathlen = m->pathlen;
		memcpy(r + 1, m->path, m->pathlen);
		__atomic_store_n(&r->h.state, RS_DONE, __ATOMIC_RELEASE);
	}
}

static void emit_clock(struct retro_thread *t)
{
	struct retro_rec_clock *c = reserve(t, sizeof *c, REC_CLOCK);

	if (!c)
		return;
	c->mono = mono();
	c->real = now_real();
	__atomic_store_n(&c->h.state, RS_DONE, __ATOMIC_RELEASE);
}

/* ---- actions ------------------------------------------------------------- */

/* Reserves an action record with nargs arguments, the optional fields of
 * opt (RO_OFF, RO_HASH) and room for datacap bytes. */
static inline __attribute__((always_inline)) struct retro_rec_action *
action_new(struct retro_thread *t, int call, uint32_t datacap, int nargs,
	   int opt)
{
	struct retro_rec_action *a;
	size_t tail = retro_rec_tail((uint8_t)opt, (uint8_t)nargs);

	a = reserve(t, align8(sizeof *a + tail + datacap), REC_ACTION);
	if (!a)
		return NULL;
	a->call = (uint16_t)call;
	a->flags = 0;
	a->err = 0;
	a->seq = ++t->seq;
	a->ret = 0;
	a->stack = 0;
	a->obj = 0;
	a->nargs = (uint8_t)nargs;
	a->opt = (uint8_t)opt;
	a->datalen = 0;
	memset(a + 1, 0, tail);
	return a;
}

static void action_done(struct retro_rec_action *a)
{
	__atomic_store_n(&a->h.state, RS_DONE, __ATOMIC_RELEASE);
}

/* Gives back the room an action reserved for bytes the call did not
 * return: a getdents64 reserves its whole buffer (32 KiB from libc's
 * readdir) and fills a few hundred bytes, a read of a socket the same.
 * The tail becomes a REC_PAD first and the action shorter second, so
 * that a reader copying the segment meanwhile finds its records whole
 * at every step; then, if nothing was reserved after it (a signal
 * handler's call may have been), `used` goes back to the action's end
 * and the next record takes the room.  The pad's header is all that is
 * left past `used`: its state is RS_TORN, as zeroed memory's is, and
 * the next record writes its length and type over it. */
static void trim(struct retro_thread *t, struct retro_rec_action *a)
{
	struct retro_seg_hdr *sh = t->seg;
	uint32_t have = a->h.len;
	uint32_t want = (uint32_t)align8(sizeof *a +
					 retro_rec_tail(a->opt, a->nargs) +
					 a->datalen);
	uintptr_t base = (uintptr_t)sh + RETRO_SEG_HDR, at = (uintptr_t)a;
	struct retro_rec_hdr *pad;
	uint64_t end;

	if (want >= have || !sh || at < base ||
	    at + have > (uintptr_t)sh + sh->size)
		return; /* nothing to give, or in a segment since rotated */
	pad = (void *)((char *)a + want);
	pad->len = have - want;
	pad->type = REC_PAD;
	pad->state = RS_TORN;
	__atomic_store_n(&a->h.len, want, __ATOMIC_RELEASE);
	end = at + have - base;
	__atomic_compare_exchange_n(&sh->used, &end, at + want - base, 0,
				    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

/* A pseudo call that happens at one moment: a start, an end, a counter, a
 * note.  Returns 0, or -1 when there was no room for it. */
static int emit_event(struct retro_thread *t, int call, uint64_t a0,
		      uint64_t a1, uint64_t obj)
{
	struct retro_rec_action *a = action_new(t, call, 0, RETRO_MAXARGS, 0);

	if (!a)
		return -1;
	a->start = a->end = now();
	retro_rec_args(a)[0] = a0;
	retro_rec_args(a)[1] = a1;
	a->obj = obj;
	action_done(a);
	return 0;
}

static uint64_t inode_key(const struct stat *st)
{
	return ((uint64_t)st->st_dev * 0x9E3779B97F4A7C15ull) ^
	       (uint64_t)st->st_ino;
}

/* Claims the inode for a pre-image.  Returns 1 the first time.  (0 marks
 * a free slot; a key of 0 becomes 1.  Setting bit 0 of every key instead
 * made inodes 2n and 2n + 1 one claim.)  The claims are this process's: a
 * forked child inherits its parent's table but salts its keys differently
 * (retro_fork_child), so none of the parent's matches.  Zeroing the table
 * instead wrote its eight pages, copies of the parent's, at every fork. */
static int inode_claim(const struct stat *st)
{
	uint64_t k = inode_key(st) ^ P.inode_salt;

	k += !k;

	for (int i = 0; i < 16; i++) {
		uint64_t *s = &P.inodes[(k + (uint64_t)i) % NINODES];
		uint64_t cur = __atomic_load_n(s, __ATOMIC_ACQUIRE);
		if (cur == k)
			return 0;
		if (cur == 0 &&
		    __atomic_compare_exchange_n(s, &cur, k, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return 1;
		if (cur == k)
			return 0;
	}
	return 1; /* table full: a duplicate pre-image is harmless */
}

/* The claim of a file the thread made (open_done), and its descriptor's
 * FE_REG, wait for the thread's next call: when that call is the
 * program's own fstat of it, its result (given) tells what an fstat of
 * the shim's would (result_body); else the shim makes one first
 * (retro_enter).  CPython's open fstats the file it made next: one system
 * call less a file.  Meanwhile another thread of the process may take a
 * pre-image of the new file: a true one, and harmless (as when the table
 * is full). */
static void claim_settle(struct retro_thread *t, const struct stat *given)
{
	struct stat st;
	int fd = t->claim_fd1 - 1;
	struct fdent *e = fde(fd);

	if (fd < 0)
		return;
	t->claim_fd1 = 0;
	if (e && e->gen != t->claim_gen)
		return; /* closed since: the file made is no longer there */
	if (!given) {
		if (retro_os_fstatat(fd, "", &st, AT_EMPTY_PATH) < 0)
			return;
		given = &st;
	}
	if (S_ISREG(given->st_mode)) {
		inode_claim(given);
		if (e)
			e->flags |= FE_REG;
	}
}

/* fd was just bound to the file this open made. */
static void claim_start(struct retro_thread *t, int fd)
{
	struct fdent *e = fde(fd);

	t->claim_fd1 = fd + 1;
	t->claim_gen = e ? e->gen : 0;
	if (!e)
		claim_settle(t, NULL); /* no entry to tell a reuse by: now */
}

static size_t data_copy(struct retro_thread *t, void *dst, const void *src,
			size_t n);

/* Emits the state of the object at path (which st describes) before this
 * process first modifies it: mode, size, owner, mtime and its bytes. */
static void emit_preimage(struct retro_thread *t, uint64_t pathid,
			  const char *readpath, const struct stat *st)
{
	struct retro_rec_action *a;
	void *buf = NULL;
	size_t len = 0, cap = 0;
	uint32_t datacap = 0;
	int lost = 0;

	if (S_ISREG(st->st_mode)) {
		long r = retro_os_slurp(readpath, P.preimage_max, &buf, &len,
					&cap);
		if (r < 0)
			lost = 1;
		datacap = (uint32_t)len;
	} else if (S_ISLNK(st->st_mode)) {
		long r = retro_os_readlinkat(AT_FDCWD, readpath, t->scratch,
					     PATH_MAX);
		if (r > 0) {
			buf = t->scratch;
			len = (size_t)r;
			datacap = (uint32_t)len;
		}
	}
	a = action_new(t, RC_preimage, datacap, RETRO_MAXARGS, 0);
	if (a) {
		uint64_t *arg = retro_rec_args(a);
		a->start = a->end = now();
		arg[0] = pathid;
		arg[1] = st->st_mode;
		arg[2] = (uint64_t)st->st_size;
		arg[3] = st->st_uid;
		arg[4] = st->st_gid;
		arg[5] = (uint64_t)(st->st_mtim.tv_sec * 1000000000LL +
				    st->st_mtim.tv_nsec);
		a->obj = pathid;
		if (buf) {
			data_copy(t, retro_rec_data(a), buf, len);
			a->datalen = (uint32_t)len;
			a->flags |= RA_DATA;
		}
		if (lost)
			a->flags |= RA_DATA_LOST;
		action_done(a);
	}
	if (buf && cap)
		retro_os_unslurp(buf, cap);
}

/* Before the first change through fd of a file that existed before: its
 * pre-image, once per file.  The descriptor is bound then to the name the
 * kernel gives the file, when that differs from the path it was opened
 * by (a symbolic link, a directory renamed since): opened as LINK, the
 * target's bytes were kept as LINK's, and its writes taken for LINK's.
 * Returns the descriptor's object. */
static uint64_t premod_fd(struct retro_thread *t, int fd, uint64_t obj)
{
	struct fdent *e = fde(fd);
	struct stat st;
	char fp[32];
	long r;

	if (e && (e->flags & (FE_PREIMG | FE_CREATED)))
		return obj;
	if (retro_os_fstatat(fd, "", &st, AT_EMPTY_PATH) < 0)
		return obj;
	if (e) {
		e->flags |= FE_PREIMG;
		if (!S_ISREG(st.st_mode))
			e->flags |= FE_NOSEEK;
	}
	if (!S_ISREG(st.st_mode) || !inode_claim(&st))
		return obj;
	fdpath(fp, fd);
	r = retro_os_readlinkat(AT_FDCWD, fp, t->scratch, PATH_MAX - 1);
	if (e && r > 0 && t->scratch[0] == '/' &&
	    !(r > 10 && !memcmp(t->scratch + r - 10, " (deleted)", 10))) {
		uint64_t id = intern(t, t->scratch, (size_t)r);
		if (id != obj) {
			/* before this call's record: readers bind the
			 * descriptor anew from here on */
			obj = e->path = id;
			emit_event(t, RC_fdinfo, (uint64_t)fd, id, id);
		}
	}
	emit_preimage(t, obj, fp, &st);
	return obj;
}

static void premod_path(struct retro_thread *t, uint64_t id, const char *abs)
{
	struct stat st;

	if (retro_os_fstatat(AT_FDCWD, abs, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (S_ISREG(st.st_mode) && !inode_claim(&st))
		return;
	emit_preimage(t, id, abs, &st);
}

static void refresh_cwd(void)
{
	long r = retro_sys2(SYS_getcwd, P.cwd, sizeof P.cwd);

	P.cwdlen = r > 0 ? strlen(P.cwd) : 0;
}

static size_t iov_total(const struct iovec *iov, int cnt)
{
	size_t n = 0;

	for (int i = 0; iov && i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

/* Bytes the program wrote or read, copied into a record: past this many
 * the kernel copies them, with process_vm_writev on ourselves.  On the
 * VM of BENCHMARKS.md (session 29) each page of a spool segment that
 * this process touches first costs ~11 us, while the kernel writes
 * through its own mapping of the page and leaves ours untouched: 10 KiB
 * into new pages took 27 us by memcpy, 5 us so; 64 bytes 0.2 us by
 * memcpy, 1.8 so, hence the floor.  The pid is asked each time: a
 * child made by a raw clone has its parent's P.pid, and a write to the
 * wrong process is not a thing to risk.  A seccomp filter that refuses
 * the call (a container's may) makes memcpy the way from then on. */
#define VM_COPY_MIN 2048
static int vm_write_refused;

/* Copies n bytes of the program's memory, described by cnt iovecs, to
 * dst; returns how many it copied (fewer only when the program's memory
 * went away meanwhile). */
static size_t data_copyv(struct retro_thread *t, void *dst,
			 const struct iovec *iov, int cnt, size_t n);

static size_t data_copy(struct retro_thread *t, void *dst, const void *src,
			size_t n)
{
	struct iovec l = { (void *)src, n };

	if (n < VM_COPY_MIN || vm_write_refused) {
		memcpy(dst, src, n);
		return n;
	}
	return data_copyv(t, dst, &l, 1, n);
}

/* Copies the first n bytes of an iovec to dst. */
static void iov_copy(void *dst, const struct iovec *iov, int cnt, size_t n)
{
	char *d = dst;

	for (int i = 0; i < cnt && n; i++) {
		size_t k = iov[i].iov_len < n ? iov[i].iov_len : n;
		memcpy(d, iov[i].iov_base, k);
		d += k;
		n -= k;
	}
}

static size_t data_copyv(struct retro_thread *t, void *dst,
			 const struct iovec *iov, int cnt, size_t n)
{
	if (n >= VM_COPY_MIN && !vm_write_refused && cnt <= IOV_MAX) {
		struct iovec r = { dst, n };
		long k = retro_sys6(SYS_process_vm_writev, retro_sys0(SYS_getpid),
				    (long)iov, cnt, (long)&r, 1, 0);
		/* short only when some of the program's bytes were
		 * unmapped after the call: what memcpy would have died on */
		if (k >= 0) {
			t->nkcopy++;
			return (size_t)k;
		}
		if (k == -EFAULT)
			return 0;
		if (k == -EPERM || k == -ENOSYS || k == -EACCES)
			vm_write_refused = 1;
	}
	iov_copy(dst, iov, cnt, n);
	return n;
}

static void iov_hash(const struct iovec *iov, int cnt, size_t n,
		     uint64_t out[2])
{
	XXH3_state_t st;
	XXH128_hash_t h;

	if (cnt == 1) {
		retro_hash128(iov[0].iov_base, n, out);
		return;
	}
	XXH3_128bits_reset(&st);
	for (int i = 0; i < cnt && n; i++) {
		size_t k = iov[i].iov_len < n ? iov[i].iov_len : n;
		XXH3_128bits_update(&st, iov[i].iov_base, k);
		n -= k;
	}
	h = XXH3_128bits_digest(&st);
	out[0] = h.low64;
	out[1] = h.high64;
}

/* What each call needs in its record, worked out once from calls.def. */
struct call_info {
	uint8_t has_out;  /* returns bytes that are hashed (K_BUFOUT, K_IOVOUT) */
	uint8_t need_off; /* a write without an offset: its landing is kept */
	int8_t argv;      /* index of a K_ARGV argument, or -1 */
	uint8_t ptrs;     /* arguments the recorder reads through, a bit each */
};
static struct call_info cinfo[RC_NCALLS];

/* calls.def again, as constants this file can fold: where retro_intent and
 * retro_result are expanded for one call (HOT_CALLS), each argument's kind
 * is known when compiling, and the loops over the arguments and the
 * switches on their kinds vanish. */
static const struct retro_call_desc rdesc[RC_NCALLS] = {
#include <retro/calls.def>
};

/* A pointer no program can have a mapping at: the first page, or beyond
 * the user half of the address space.  The call itself fails with EFAULT;
 * the recorder must not fault reading it first.  (A pointer into a hole of
 * the address space still faults: see README, Limitations.) */
static int bad_uptr(uint64_t p)
{
	return p && (p < 4096 || p >= 0x800000000000ull);
}

static inline int reads_through(int kind)
{
	switch (kind) {
	case K_PATH: case K_PATHAT: case K_PATHW: case K_PATHRM:
	case K_PATHATRM: case K_PATHCHDIR: case K_STR: case K_BUFIN:
	case K_BUFKEEP: case K_BUFOUT: case K_IOVIN: case K_IOVOUT:
	case K_STATOUT: case K_STATXOUT: case K_OFFPTR: case K_TSPAIR:
	case K_TSIN: case K_TSOUT: case K_TVIO: case K_ARGV: case K_WSTATUS:
	case K_PIDOUT: case K_SIGINFO: case K_FDPAIR:
		return 1;
	default:
		return 0;
	}
}

static inline __attribute__((always_inline)) struct call_info
ci_of(int c)
{
	const struct retro_call_desc *d = &rdesc[c];
	struct call_info ci = { 0, 0, -1, 0 };
	int fdw = 0, off = 0;

#pragma GCC unroll 6
	for (int i = 0; i < RETRO_MAXARGS; i++) {
		if (i >= d->nargs)
			break;
		ci.has_out |= d->kind[i] == K_BUFOUT || d->kind[i] == K_IOVOUT;
		fdw |= d->kind[i] == K_FDW;
		off |= d->kind[i] == K_OFF || d->kind[i] == K_OFFPTR;
		if (d->kind[i] == K_ARGV)
			ci.argv = (int8_t)i;
		if (reads_through(d->kind[i]))
			ci.ptrs |= (uint8_t)(1u << i);
	}
	ci.need_off = fdw && !off && d->rkind == R_SSIZE;
	return ci;
}

static void call_info_init(void)
{
	for (int c = 1; c < RC_NCALLS; c++)
		cinfo[c] = ci_of(c);
}

/* Arms the trap layer for this thread; when the kernel refuses, says so
 * once in the store (and the recording goes on with the PLT layer). */
static void trap_arm(struct retro_thread *t)
{
	int r = P.trap_err ? P.trap_err : retro_trap_arm();

	if (r)
		retro_off_disable(); /* calls the shim does not see */
	if (!r || __atomic_exchange_n(&P.trap_said, 1, __ATOMIC_ACQ_REL))
		return;
	emit_event(t, RC_notrap, (uint64_t)r, 0, 0);
}

static struct retro_thread *thread_new(void);

int retro_enter(struct retro_call *c, int call)
{
	struct retro_thread *t = tself;

	if (__builtin_expect(P.state != PS_ON, 0)) {
		if (P.state == PS_OFF)
			retro_init();
		if (P.state != PS_ON)
			return 0;
		t = tself; /* init made this thread's state */
	}
	if (__builtin_expect(t == NULL, 0)) {
		t = thread_new();
		if (!t)
			return 0;
	}
	if (t->guard)
		return 0;
	if (__builtin_expect(t->claim_fd1, 0) && call != RC_fstat &&
	    call != RC_fstat64 && call != RC_fstatat && call != RC_fstatat64)
		claim_settle(t, NULL);
	c->t = t;
	c->call = call;
	c->e0 = *t->errnop;
	c->rec = NULL;
	c->datacap = 0;
	c->flags = 0;
	c->obj = 0;
	c->fd = -1;
	c->ra = 0;
	c->sp = 0;
	c->pathid = 0;
	c->abs = NULL;
	c->skip = 0;
	c->blocked = 0;
	/* libc's system calls on behalf of this call are recorded here, not
	 * by the trap layer */
	c->sel = retro_selector;
	retro_selector = 0;
	return 1;
}

void retro_note_created(struct retro_call *c)
{
	c->flags |= RA_CREATED;
}

/* ---- shepherd mode --------------------------------------------------------- */

static int64_t ts_ns(uint64_t p)
{
	const struct timespec *ts = (const void *)(uintptr_t)p;
	return ts ? (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec : -1;
}

/* How long a sleep or a timed wait with nothing to wait for would last, in
 * ns; -1 when it waits for descriptors or forever (not squeezed). */
static int64_t sleep_ns(const struct retro_call *c)
{
	const uint64_t *v = c->v;

	switch (c->call) {
	case RC_sleep:
		return (int64_t)(unsigned)v[0] * 1000000000;
	case RC_usleep:
		return (int64_t)(useconds_t)v[0] * 1000;
	case RC_nanosleep:
		return ts_ns(v[0]);
	case RC_clock_nanosleep: {
		int64_t d = ts_ns(v[2]);
		struct timespec now_ts;
		if (d < 0)
			return -1;
		if (!((int)v[1] & TIMER_ABSTIME))
			return d;
		if (retro_shep_clock((clockid_t)v[0], &now_ts) < 0)
			return -1;
		d -= (int64_t)now_ts.tv_sec * 1000000000 + now_ts.tv_nsec;
		return d > 0 ? d : 0;
	}
	case RC_select: {
		const struct timeval *tv = (const void *)(uintptr_t)v[4];
		if ((int)v[0] != 0 || !tv)
			return -1;
		return (int64_t)tv->tv_sec * 1000000000 + tv->tv_usec * 1000;
	}
	case RC_pselect:
		return (int)v[0] == 0 ? ts_ns(v[4]) : -1;
	case RC_poll:
		return v[1] == 0 && (int)v[2] >= 0 ? (int64_t)(int)v[2] * 1000000
						    : -1;
	case RC_ppoll:
		return v[1] == 0 ? ts_ns(v[2]) : -1;
	default:
		return -1;
	}
}

/* How long a wait on descriptors may last, in ns; -1 without limit. */
static int64_t fdwait_ns(const struct retro_call *c)
{
	const uint64_t *v = c->v;

	switch (c->call) {
	case RC_select: {
		const struct timeval *tv = (const void *)(uintptr_t)v[4];
		return tv ? (int64_t)tv->tv_sec * 1000000000 + tv->tv_usec * 1000
			  : -1;
	}
	case RC_pselect:
		return ts_ns(v[4]);
	case RC_poll:
		return (int)v[2] >= 0 ? (int64_t)(int)v[2] * 1000000 : -1;
	case RC_ppoll:
		return ts_ns(v[2]);
	default:
		return -1;
	}
}

/* A squeezed sleep that the process's alarm cuts short, left ns before its
 * end: what the call returns, as the kernel's EINTR would make it. */
static void shep_interrupted(struct retro_call *c, int64_t left)
{
	struct timespec *rem;

	c->alarm = 1;
	switch (c->call) {
	case RC_sleep: /* the seconds left, rounded as glibc's sleep */
		c->sret = left / 1000000000 + (left % 1000000000 >= 500000000);
		return;
	case RC_clock_nanosleep: /* returns the error number */
		c->sret = EINTR;
		rem = (struct timespec *)(uintptr_t)c->v[3];
		if (rem && !((int)c->v[1] & TIMER_ABSTIME)) {
			rem->tv_sec = left / 1000000000;
			rem->tv_nsec = left % 1000000000;
		}
		return;
	case RC_nanosleep:
		rem = (struct timespec *)(uintptr_t)c->v[1];
		if (rem) {
			rem->tv_sec = left / 1000000000;
			rem->tv_nsec = left % 1000000000;
		}
		break;
	default: /* usleep, poll, select... */
		break;
	}
	c->sret = -1;
	c->serr = EINTR;
}

/* Real time a squeezed timed wait waits at a time before it asks again
 * whether the driver has said that its deadline came on V. */
#define SHEP_SLICE_NS 2000000

/* A wait on descriptors whose end on V came, with a timerfd on V due
 * (c->vtfd): 1 when the wait goes on (announced again with what is left
 * of its own timeout, and the next timerfd expiry), else 0 (it timed
 * out). */
static int timerfd_wait_on(struct retro_call *c, int64_t deadline)
{
	struct retro_sh_msg m;
	int64_t now = retro_shep_now(), left, tn;

	if (now < 0 || (deadline >= 0 && now >= deadline))
		return 0;
	left = deadline >= 0 ? deadline - now : -1;
	tn = retro_shep_timerfd_next(&c->tfd_at);
	memset(&m, 0, RETRO_SH_MSG_HDR + 1);
	m.type = SH_BLOCK;
	m.call = (uint16_t)c->call;
	m.flags = SHF_UNRECORDED;
	m.timeout = tn >= 0 && (left < 0 || tn < left) ? tn : left;
	if (m.timeout == left)
		c->vtfd = 0; /* its own timeout is next */
	return retro_shep_block(&m, c->t->index) == 0;
}

/* A timed wait on descriptors, squeezed: waited in short slices of real
 * time until a descriptor is ready, a signal interrupts it, or the driver
 * says the deadline came (nothing can wake it before that on V).  The
 * call itself is then not issued again (c->skip). */
static void shep_fdwait(struct retro_call *c)
{
	const uint64_t *v = c->v;
	struct timespec slice = { 0, SHEP_SLICE_NS };
	fd_set save[3];
	fd_set *sets[3] = { NULL, NULL, NULL };
	size_t setlen = 0;
	int64_t deadline = -1;
	long r;

	if (c->call == RC_select || c->call == RC_pselect) {
		int n = (int)v[0];
		setlen = n > 0 && n <= FD_SETSIZE
				 ? ((size_t)n + 63) / 64 * 8 : sizeof(fd_set);
		for (int i = 0; i < 3; i++) {
			sets[i] = (fd_set *)(uintptr_t)v[1 + i];
			if (sets[i])
				memcpy(&save[i], sets[i], setlen);
		}
	}
	/* timerfds on V that expired before the wait are readable */
	retro_shep_timerfd_kick(0);
	if (c->vtfd && c->tfd_left >= 0 && (deadline = retro_shep_now()) >= 0)
		deadline += c->tfd_left;
	for (;;) {
		struct { const void *mask; size_t len; } sm = { NULL, 8 };
		switch (c->call) {
		case RC_poll:
			r = retro_sys5(SYS_ppoll, v[0], v[1], &slice, 0, 8);
			break;
		case RC_ppoll:
			r = retro_sys5(SYS_ppoll, v[0], v[1], &slice, v[3], 8);
			break;
		default: /* select, pselect */
			sm.mask = c->call == RC_pselect
					  ? (const void *)(uintptr_t)v[5] : NULL;
			r = retro_sys6(SYS_pselect6, (long)v[0], (long)v[1],
				       (long)v[2], (long)v[3], (long)&slice,
				       sm.mask ? (long)&sm : 0);
			break;
		}
		if (r != 0)
			break;
		slice.tv_sec = 0;
		slice.tv_nsec = SHEP_SLICE_NS;
		for (int i = 0; i < 3; i++) /* a slice that ran out cleared them */
			if (sets[i])
				memcpy(sets[i], &save[i], setlen);
		if (c->vtfd == 2) {
			/* the timerfds that expired are not this wait's: it
			 * goes on, unless its own time is up */
			c->vtfd = 1;
			if (!timerfd_wait_on(c, deadline))
				break;
			continue;
		}
		if (!retro_shep_timed_out())
			continue;
		if (!c->vtfd)
			break;
		/* a timerfd's expiry on V: readable now, and the next slice
		 * says whether this wait holds it */
		retro_shep_timerfd_kick(c->tfd_at);
		c->vtfd = 2;
	}
	if (r == 0) {
		for (int i = 0; i < 3; i++)
			if (sets[i])
				memset(sets[i], 0, setlen);
		if (c->call == RC_select && v[4]) { /* no time left */
			struct timeval *tv = (struct timeval *)(uintptr_t)v[4];
			tv->tv_sec = 0;
			tv->tv_usec = 0;
		}
	}
	c->skip = 1;
	c->sret = r < 0 ? -1 : r;
	c->serr = r < 0 ? (int)-r : 0;
}

int retro_shep_wait(retro_wait_fn wait, void *arg, int64_t timeout,
		    long *res)
{
	struct retro_thread *t = tself;
	struct retro_sh_msg m;

	if (!P.shep_on || !t || t->guard)
		return -1;
	memset(&m, 0, RETRO_SH_MSG_HDR + 1);
	m.call = RC_nanosleep; /* not matched: SHF_UNRECORDED */
	m.flags = SHF_UNRECORDED;
	m.timeout = timeout < 0 ? -1 : timeout;
	t->guard = 1;
	if (retro_shep_block(&m, t->index) < 0) {
		unguard(t);
		return -1;
	}
	unguard(t);
	if (timeout < 0) {
		wait(arg, NULL, res);
	} else {
		for (;;) {
			struct timespec dl;
			retro_sys2(SYS_clock_gettime, CLOCK_MONOTONIC, &dl);
			dl.tv_nsec += SHEP_SLICE_NS;
			if (dl.tv_nsec >= 1000000000) {
				dl.tv_sec++;
				dl.tv_nsec -= 1000000000;
			}
			if (wait(arg, &dl, res))
				break;
			if (retro_shep_timed_out())
				break;
		}
	}
	t->guard = 1;
	memset(&m, 0, RETRO_SH_MSG_HDR + 1);
	m.type = SH_WAKE;
	m.call = RC_nanosleep;
	m.flags = SHF_UNRECORDED;
	m.arg = *res;
	retro_shep_send(&m, t->index);
	unguard(t);
	return 0;
}

int64_t retro_shep_until(clockid_t clk, const struct timespec *abstime)
{
	struct timespec now;
	int64_t d;

	if (retro_shep_clock(clk, &now) < 0 &&
	    retro_sys2(SYS_clock_gettime, clk, &now) < 0)
		return -1;
	d = ts_ns((uint64_t)(uintptr_t)abstime) -
	    ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
	return d > 0 ? d : 0;
}

/* A read of a regular file: its access time becomes what the mount's
 * option makes of the times on V.  Under relatime (the default): V's now
 * when it was not after the modification or is a day old, else what it
 * was; under strictatime, V's now; under noatime, what it was.  The
 * kernel's own choice is not kept: it puts the host's clock there, after
 * comparing with a change time that is the host's too, and an overlay may
 * not move it at all. */
static void shep_stamp_read(struct retro_call *c, int fd)
{
	struct timespec ts[2];
	struct statfs fs;
	struct stat st;
	const struct timespec *a0 = &c->atime0;
	int strict = 0;

	if (!c->atime_known || retro_shep_clock_call(CLOCK_REALTIME, &ts[0]) < 0 ||
	    retro_os_fstatat(fd, "", &st, AT_EMPTY_PATH) < 0)
		return;
	if (retro_sys2(SYS_fstatfs, fd, &fs) == 0) {
		if (fs.f_flags & ST_NOATIME)
			ts[0] = *a0;
		else
			strict = !(fs.f_flags & ST_RELATIME);
	}
	if (!strict && !(a0->tv_sec < st.st_mtim.tv_sec ||
	      (a0->tv_sec == st.st_mtim.tv_sec &&
	       a0->tv_nsec <= st.st_mtim.tv_nsec) ||
	      ts[0].tv_sec - a0->tv_sec >= 24 * 3600))
		ts[0] = *a0;
	if (st.st_atim.tv_sec == ts[0].tv_sec &&
	    st.st_atim.tv_nsec == ts[0].tv_nsec)
		return;
	ts[1].tv_sec = 0;
	ts[1].tv_nsec = UTIME_OMIT;
	retro_os_utimensat(fd, NULL, ts, 0);
}

/* File times on V: a file that a shepherded call wrote, truncated or
 * created gets the thread's virtual moment as its mtime (and atime, when
 * created), as the replayed peers' files get theirs.  The shim's own
 * utimensat changes the file's ctime, which stays best effort. */
static void shep_stamp(struct retro_call *c, const struct retro_call_desc *d,
		       int64_t ret)
{
	struct timespec ts[2];
	struct fdent *e;
	int fd = -1, rfd = -1;

	for (int i = 0; i < d->nargs; i++) {
		if (d->kind[i] == K_FDW)
			fd = (int)c->v[i];
		else if (d->kind[i] == K_OFLAGS && ret >= 0 &&
			 ((int)c->v[i] & (O_CREAT | O_TRUNC)))
			fd = (int)ret;
		else if ((d->kind[i] == K_BUFOUT || d->kind[i] == K_IOVOUT) &&
			 i > 0 && d->kind[0] == K_FD && ret > 0)
			rfd = (int)c->v[0]; /* read, pread, readv, preadv */
	}
	if (fd < 0 && rfd >= 0) {
		shep_stamp_read(c, rfd);
		return;
	}
	if (fd < 0 || ((e = fde(fd)) && (e->flags & FE_NOTFILE)))
		return;
	/* the call's moment on V, which the driver gave it */
	if (retro_shep_clock_call(CLOCK_REALTIME, &ts[1]) < 0)
		return; /* naive: the host's clocks, the host's file times */
	ts[0] = ts[1];
	if (!(c->flags & RA_CREATED))
		ts[0].tv_nsec = UTIME_OMIT;
	retro_os_utimensat(fd, NULL, ts, 0);
}

int retro_call_setclock(struct retro_call *c, int64_t ns)
{
	return retro_shep_setclock(ns, c->t->index);
}

/* A call announced as blocking returned. */
static __attribute__((noinline)) void shep_wake(struct retro_call *c,
						int64_t ret)
{
	struct retro_sh_msg m;

	memset(&m, 0, RETRO_SH_MSG_HDR + 1);
	m.type = SH_WAKE;
	m.call = (uint16_t)c->call;
	m.arg = ret;
	retro_shep_send(&m, c->t->index);
}

/* A read of a pipe, a socket or a terminal that blocks while the
 * process's alarm is armed on V: the read waits for data in slices of
 * real time, and the driver says when V reaches the alarm (the block was
 * announced with it as timeout).  Then the alarm rings as the kernel's
 * would: a handler without SA_RESTART makes the read fail with EINTR
 * (the handler runs as the call returns); one with SA_RESTART, or a
 * signal that is blocked or ignored, lets the read go on waiting, under
 * the next expiry of a periodic timer.  The default action ends the
 * process, as it would. */
static void alarm_wait(struct retro_call *c)
{
	struct pollfd pfd = { .fd = (int)c->v[0], .events = POLLIN };
	struct timespec slice = { 0, SHEP_SLICE_NS };
	struct ksigact {
		void *handler;
		unsigned long flags;
		void *restorer;
		uint64_t mask;
	} ka;
	uint64_t blocked;
	struct retro_sh_msg m;

	for (;;) {
		if (retro_sys5(SYS_ppoll, (long)&pfd, 1, (long)&slice, 0, 8) != 0)
			return; /* readable, or an error the read will say */
		if (!retro_shep_timed_out())
			continue;
		int sig = retro_shep_alarm_signo();
		if (retro_sys4(SYS_rt_sigaction, sig, 0, (long)&ka, 8) < 0 ||
		    retro_sys4(SYS_rt_sigprocmask, SIG_BLOCK, 0, (long)&blocked,
			       8) < 0)
			return;
		if (ka.handler != SIG_DFL && ka.handler != SIG_IGN &&
		    !(ka.flags & SA_RESTART) &&
		    !(blocked & (1ull << (sig - 1)))) {
			c->skip = 1;
			c->sret = -1;
			c->serr = EINTR;
			c->alarm = 1; /* rings in retro_result */
			return;
		}
		retro_shep_alarm_fire(); /* a handler runs here */
		memset(&m, 0, RETRO_SH_MSG_HDR + 1);
		m.type = SH_BLOCK;
		m.call = (uint16_t)c->call;
		m.flags = SHF_UNRECORDED;
		m.timeout = retro_shep_alarm_in();
		if (retro_shep_block(&m, c->t->index) < 0 || m.timeout < 0)
			return; /* the plain read, unless a timer rings again */
	}
}

/* Fills in what wait call c returns about child pid, which ended with
 * wait status st: the status word and a zeroed rusage, or waitid's
 * siginfo. */
static void answer_wait(struct retro_call *c, int64_t pid, int st)
{
	if (c->call == RC_waitid) {
		siginfo_t *si = (siginfo_t *)(uintptr_t)c->v[2];
		if (!si)
			return;
		memset(si, 0, sizeof *si);
		si->si_signo = SIGCHLD;
		si->si_pid = (pid_t)pid;
		si->si_uid = (uid_t)retro_sys0(SYS_getuid);
		si->si_code = WIFEXITED(st)   ? CLD_EXITED
			      : WCOREDUMP(st) ? CLD_DUMPED
					      : CLD_KILLED;
		si->si_status = WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st);
	} else {
		int *ws = (int *)(uintptr_t)c->v[c->call == RC_waitpid ||
						 c->call == RC_wait4];
		struct rusage *ru = (struct rusage *)(uintptr_t)(
			c->call == RC_wait3   ? c->v[2]
			: c->call == RC_wait4 ? c->v[3]
					      : 0);
		if (ws)
			*ws = st;
		if (ru)
			memset(ru, 0, sizeof *ru);
	}
}

/* An exclusive create: open with O_CREAT|O_EXCL, or mkdir. */
static int excl_create(const struct retro_call *c)
{
	switch (c->call) {
	case RC_open:
	case RC_open64:
		return ((int)c->v[1] & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
	case RC_openat:
	case RC_openat64:
		return ((int)c->v[2] & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
	case RC_mkdir:
	case RC_mkdirat:
		return 1;
	}
	return 0;
}

/* The driver said the recorded call made the same name but for the part
 * drawn at random (mkstemp's, mkdtemp's), and sent the recorded last
 * component: it goes into the caller's path, where the C library's
 * tempname will find it when the call returns, before the call is
 * issued.  Written with process_vm_writev, which fails rather than
 * faults on memory that is not writable (a literal); the call's absolute
 * path, its id and its record follow. */
static void make_recorded_name(struct retro_call *c,
			       const struct retro_call_desc *d)
{
	char base[RETRO_SH_FEED + 1];
	long n = retro_shep_fed(base, sizeof base - 1);
	int pi = -1;
	char *path, *pb, *ab;
	struct iovec lo, ro;

	for (int i = 0; i < d->nargs && pi < 0; i++)
		if (d->kind[i] == K_PATH || d->kind[i] == K_PATHAT)
			pi = i;
	if (n <= 0 || pi < 0 || !c->abs || !(path = (char *)c->v[pi]))
		return;
	base[n] = 0;
	pb = strrchr(path, '/');
	pb = pb ? pb + 1 : path;
	ab = strrchr(c->abs, '/');
	if (!ab || strlen(pb) != (size_t)n || strlen(ab + 1) != (size_t)n ||
	    strcmp(pb, ab + 1))
		return;
	lo = (struct iovec){ base, (size_t)n };
	ro = (struct iovec){ pb, (size_t)n };
	if (retro_sys6(SYS_process_vm_writev, retro_sys0(SYS_getpid),
		       (long)&lo, 1, (long)&ro, 1, 0) != n)
		return;
	if (c->abs != path) /* relative: the absolute one is ours */
		memcpy(ab + 1, base, (size_t)n);
	c->pathid = intern(c->t, c->abs, strlen(c->abs));
	if (c->rec)
		retro_rec_args(c->rec)[pi] = c->pathid;
}

/* What fd names, for the driver: asked of /proc (a readlinkat of some
 * 20 us here) once per descriptor and object, then remembered, since a
 * shepherded process mostly calls on the same few descriptors. */
#define FDNAMES 64
static struct fdname {
	uint64_t obj;
	int fd;
	char s[232];
} fdnames[FDNAMES];
static int fdnames_lock;

static void shep_fdname(int fd, uint64_t obj, char *buf, size_t n)
{
	struct fdname *e = &fdnames[fd % FDNAMES];
	char fp[32];
	long r;

	if (obj && __atomic_exchange_n(&fdnames_lock, 1, __ATOMIC_ACQUIRE) == 0) {
		int hit = e->obj == obj && e->fd == fd;
		if (hit)
			snprintf(buf, n, "%s", e->s);
		__atomic_store_n(&fdnames_lock, 0, __ATOMIC_RELEASE);
		if (hit)
			return;
	}
	fdpath(fp, fd);
	r = retro_os_readlinkat(AT_FDCWD, fp, buf, n - 1);
	buf[r > 0 ? r : 0] = 0;
	if (obj && r > 0 && (size_t)r < sizeof e->s &&
	    __atomic_exchange_n(&fdnames_lock, 1, __ATOMIC_ACQUIRE) == 0) {
		e->obj = obj;
		e->fd = fd;
		memcpy(e->s, buf, (size_t)r + 1);
		__atomic_store_n(&fdnames_lock, 0, __ATOMIC_RELEASE);
	}
}

/* Tells the driver about the call about to be issued (shepherd.h). */
static __attribute__((noinline)) void
shep_intent(struct retro_call *c, const struct retro_call_desc *d)
{
	struct retro_sh_msg m;
	struct fdent *e = fde(c->fd);
	int notfile = c->fd >= 0 && e && (e->flags & FE_NOTFILE);
	int64_t tfd;

	/* read only in shepherd mode: set here, off the recording path */
	c->serr = 0;
	c->alarm = 0;
	c->vtfd = 0;
	c->atime_known = 0;
	if (c->fd >= 0 && !notfile && d->nargs > 1 && d->kind[0] == K_FD &&
	    (d->kind[1] == K_BUFOUT || d->kind[1] == K_IOVOUT)) {
		/* a read: what its access time was (shep_stamp_read) */
		struct stat st;
		if (retro_os_fstatat(c->fd, "", &st, AT_EMPTY_PATH) == 0 &&
		    S_ISREG(st.st_mode)) {
			c->atime0 = st.st_atim;
			c->atime_known = 1;
		}
	}
	memset(&m, 0, RETRO_SH_MSG_HDR + 1);
	m.type = SH_CALL;
	m.timeout = -1;
	m.call = (uint16_t)c->call;
	m.path = c->pathid ? c->pathid : c->obj;
	if (notfile && !c->pathid)
		m.flags |= SHF_NOTFILE;
	if (c->pathid && c->abs) {
		size_t n = strlen(c->abs);
		if (n >= sizeof m.pathstr)
			n = sizeof m.pathstr - 1;
		memcpy(m.pathstr, c->abs, n);
		m.pathstr[n] = 0;
	} else if (c->fd >= 0) {
		shep_fdname(c->fd, c->obj, m.pathstr, sizeof m.pathstr);
	}
	if (c->call == RC_alarm) {
		unsigned prev;
		if (retro_shep_alarm((unsigned)c->v[0], &prev) == 0) {
			c->skip = 1; /* on V, not the host's timer */
			c->sret = prev;
		}
	} else if (c->call == RC_read && notfile && c->v[2] >= 8 &&
		   (tfd = retro_shep_timerfd_due(c->fd)) >= 0) {
		/* a timerfd on V: its expirations by now, or, when there are
		 * none and it may block, a sleep to the next */
		long fl = retro_sys2(SYS_fcntl, c->fd, F_GETFL);
		c->skip = 1;
		c->vtfd = 1;
		if (tfd > 0 && fl >= 0 && (fl & O_NONBLOCK)) {
			c->vtfd = 0;
			c->sret = -1;
			c->serr = EAGAIN;
		} else if (tfd > 0) {
			m.type = SH_SLEEP;
			m.arg = tfd;
		}
	} else if (d->flags & F_SLEEP) {
		int64_t ns = sleep_ns(c);
		if (ns >= 0) {
			int64_t due = retro_shep_alarm_in();
			m.type = SH_SLEEP;
			m.arg = ns;
			c->skip = 1;
			c->sret = 0;
			if (due >= 0 && due < ns) {
				/* the alarm comes first: the sleep ends there,
				 * interrupted */
				m.arg = due;
				shep_interrupted(c, ns - due);
			}
		} else {
			/* a timerfd on V may end the wait first; those that
			 * expired before it are readable */
			int64_t tn;
			retro_shep_timerfd_kick(0);
			tn = retro_shep_timerfd_next(&c->tfd_at);
			m.type = SH_BLOCK;
			m.timeout = fdwait_ns(c);
			if (tn >= 0 && (m.timeout < 0 || tn < m.timeout)) {
				c->vtfd = 1;
				c->tfd_left = m.timeout;
				m.timeout = tn;
			}
		}
	} else if ((notfile && !(e->flags & FE_RANDOM) &&
		    (c->call == RC_read || c->call == RC_readv)) ||
		   c->call == RC_wait ||
		   /* a wait with WNOHANG returns at once: not blocking */
		   (c->call == RC_waitpid && !((int)c->v[2] & WNOHANG)) ||
		   (c->call == RC_waitid && !((int)c->v[3] & WNOHANG)) ||
		   (c->call == RC_wait3 && !((int)c->v[1] & WNOHANG)) ||
		   (c->call == RC_wait4 && !((int)c->v[2] & WNOHANG))) {
		m.type = SH_BLOCK;
		if (c->call == RC_read || c->call == RC_readv)
			m.timeout = retro_shep_alarm_in(); /* see alarm_wait */
		if (c->call != RC_read && c->call != RC_readv)
			m.flags |= SHF_ASK; /* it may be for a peer child */
		else
			/* the recorded bytes may come, when it read from a
			 * terminal or a socket then (whatever the descriptor
			 * is now: the driver decides) */
			m.flags |= SHF_ASK;
		/* whom it waits for: a pid, or -1 for any child */
		m.arg = c->call == RC_waitpid || c->call == RC_wait4
				? (int64_t)(pid_t)c->v[0]
			: c->call == RC_waitid && (idtype_t)c->v[0] == P_PID
				? (int64_t)(id_t)c->v[1]
				: -1;
	}
	if (excl_create(c))
		m.flags |= SHF_EXCL;
	for (int i = 0; i < d->nargs; i++) {
		if (d->kind[i] == K_BUFIN && c->v[i]) {
			size_t n = (size_t)c->v[i + 1];
			retro_hash128((const void *)(uintptr_t)c->v[i], n, m.hash);
			m.flags |= SHF_HASH;
			m.datalen = (uint32_t)n;
			memcpy(m.data, (const void *)(uintptr_t)c->v[i],
			       n < sizeof m.data ? n : sizeof m.data);
		}
	}
	c->blocked = m.type == SH_BLOCK;
	if (retro_shep_send(&m, c->t->index) < 0)
		return;
	if (c->vtfd && c->call == RC_read) {
		uint64_t n = retro_shep_timerfd_take(c->fd, m.type == SH_SLEEP);
		if (n) {
			memcpy((void *)(uintptr_t)c->v[1], &n, sizeof n);
			c->sret = sizeof n;
		} else { /* re-armed meanwhile by another thread */
			c->sret = -1;
			c->serr = EINTR;
		}
		return;
	}
	if ((m.flags & SHF_EXCL) && retro_shep_named())
		make_recorded_name(c, d);
	if ((m.flags & SHF_ASK) &&
	    (c->call == RC_read || c->call == RC_readv)) {
		/* a terminal or a socket: while the thread follows its
		 * recording, what it read then */
		long k = c->call == RC_read
				 ? retro_shep_fed((void *)(uintptr_t)c->v[1],
						  (size_t)c->v[2])
				 : retro_shep_fedv((const struct iovec *)(uintptr_t)
							   c->v[1],
						   (int)c->v[2]);
		if (k >= 0) {
			c->skip = 1;
			c->sret = k;
			c->blocked = 0;
		} else if (m.timeout >= 0) {
			alarm_wait(c);
		}
	} else if (m.flags & SHF_ASK) {
		int64_t ret;
		int st;
		if (retro_shep_answered(&ret, &st)) {
			/* a peer child: its recorded status, at its recorded
			 * exit on V */
			answer_wait(c, ret, st);
			c->skip = 1;
			c->sret = c->call == RC_waitid ? 0 : ret;
			c->blocked = 0;
		}
	} else if (m.type == SH_BLOCK && m.timeout >= 0 &&
		   (c->call == RC_read || c->call == RC_readv)) {
		alarm_wait(c);
	} else if (m.type == SH_BLOCK && m.timeout >= 0) {
		shep_fdwait(c);
	} else if (m.type == SH_CALL &&
		   (c->call == RC_getrandom || c->call == RC_read)) {
		/* following its recording, an input from outside is what it
		 * was when recorded */
		void *buf = (void *)(uintptr_t)c->v[c->call == RC_read];
		size_t n = (size_t)c->v[c->call == RC_read ? 2 : 1];
		long k = retro_shep_fed(buf, n);
		if (k >= 0) {
			c->skip = 1;
			c->sret = k;
		}
	}
}

/* The importer resolves an action's call site among the records of its
 * own segment that come before it (paths are the store's, by id).  So
 * the stack record and the action go into one segment: when they might
 * not both fit, the thread rotates first.  (Before, the action right after
 * a rotation lost its call site.) */
static void room_for(struct retro_thread *t, size_t need)
{
	struct retro_seg_hdr *sh = t->seg;

	if (sh && (int64_t)sh->size - RETRO_SEG_HDR - RETRO_SEG_RESERVE -
			      (int64_t)__atomic_load_n(&sh->used, __ATOMIC_RELAXED) <
			  (int64_t)need)
		rotate(t, need);
}

/* The size or count that follows argument i (calls.def puts one after
 * every buffer).  Bounded: in the expanded bodies the compiler also sees
 * the kinds a call's last argument does not have. */
#define NEXT_ARG(c, i) ((i) + 1 < RETRO_MAXARGS ? (c)->v[(i) + 1] : 0)

/* The body of retro_intent, expanded for each of HOT_CALLS with call a
 * constant, and once for the others. */
static inline __attribute__((always_inline)) void
intent_body(struct retro_call *c, const int call)
{
	const struct retro_call_desc *d = &rdesc[call];
	const struct call_info ci =
		__builtin_constant_p(call) ? ci_of(call) : cinfo[call];
	struct retro_thread *t = c->t;
	struct retro_rec_action *a;
	uint64_t arg[RETRO_MAXARGS] = { 0 };
	uint32_t datacap = 0;
	int dirfd = AT_FDCWD, pslot = 0;
	uint64_t stack;

	t->guard = 1;
	/* recorded as NULL: the call fails with EFAULT */
#pragma GCC unroll 6
	for (int i = 0; i < RETRO_MAXARGS; i++)
		if ((ci.ptrs & (1u << i)) && bad_uptr(c->v[i]))
			c->v[i] = 0;
#pragma GCC unroll 6
	for (int i = 0; i < RETRO_MAXARGS; i++) {
		uint64_t v = c->v[i];
		if (i >= d->nargs)
			break;
		switch (d->kind[i]) {
		case K_FD:
		case K_FDCLOSE:
		case K_FDCHDIR:
			arg[i] = v;
			if (c->fd < 0) {
				c->fd = (int)v;
				c->obj = fd_obj(t, (int)v);
			}
			break;
		case K_FDW: {
			uint64_t o = fd_obj(t, (int)v);
			arg[i] = v;
			o = premod_fd(t, (int)v, o);
			if (c->fd < 0) {
				c->fd = (int)v;
				c->obj = o;
			}
			break;
		}
		case K_DIRFD:
			dirfd = (int)v;
			arg[i] = v;
			break;
		case K_PATH:
		case K_PATHCHDIR:
			arg[i] = intern_path(t, pslot++, AT_FDCWD,
					     (const char *)v, &c->abs);
			c->pathid = arg[i];
			break;
		case K_PATHAT: {
			const struct fdent *fe;
			if (v && !*(const char *)v &&
			    (fe = fstat_of_fd(c, dirfd)))
				/* the descriptor's own object, as a write
				 * to it is named: no readlinkat of
				 * /proc/self/fd to spell its path */
				arg[i] = fe->path;
			else
				arg[i] = intern_path(t, pslot++, dirfd,
						     (const char *)v, &c->abs);
			c->pathid = arg[i];
			break;
		}
		case K_PATHW:
		case K_PATHRM:
		case K_PATHATRM: {
			const char *abs;
			if (!v)
				break;
			arg[i] = intern_path(t, pslot++,
					     d->kind[i] == K_PATHATRM ? dirfd
								      : AT_FDCWD,
					     (const char *)v, &abs);
			premod_path(t, arg[i], abs);
			break;
		}
		case K_STR:
			arg[i] = v ? intern(t, (const char *)v,
					    strlen((const char *)v))
				   : 0;
			break;
		case K_BUFIN:
		case K_BUFKEEP:
			datacap = (uint32_t)(NEXT_ARG(c, i) < DATA_MAX ? NEXT_ARG(c, i)
								    : DATA_MAX);
			break;
		case K_BUFOUT: {
			/* bytes from outside are kept: a replay feeds them */
			struct fdent *e = fde(c->fd);
			if (e && (e->flags & (FE_RANDOM | FE_EXTIN)))
				datacap = (uint32_t)(NEXT_ARG(c, i) < DATA_MAX
							     ? NEXT_ARG(c, i)
							     : DATA_MAX);
			break;
		}
		case K_IOVOUT: {
			/* the same, read with readv */
			struct fdent *e = fde(c->fd);
			size_t n;
			if (!v || !e || !(e->flags & (FE_RANDOM | FE_EXTIN)))
				break;
			n = iov_total((const void *)v, (int)NEXT_ARG(c, i));
			datacap = (uint32_t)(n < DATA_MAX ? n : DATA_MAX);
			break;
		}
		case K_IOVIN: {
			size_t n = iov_total((const void *)v, (int)NEXT_ARG(c, i));
			datacap = (uint32_t)(n < DATA_MAX ? n : DATA_MAX);
			break;
		}
		case K_STATOUT:
			datacap = sizeof(struct stat);
			break;
		case K_OFFPTR:
			arg[i] = v ? (uint64_t)*(const int64_t *)v : UINT64_MAX;
			break;
		case K_TSPAIR:
			if (v)
				datacap = 2 * sizeof(struct timespec);
			break;
		case K_STATXOUT:
			datacap = sizeof(struct statx);
			break;
		case K_TSIN: {
			const struct timespec *ts = (const void *)v;
			arg[i] = ts ? (uint64_t)(ts->tv_sec * 1000000000LL +
						 ts->tv_nsec)
				    : UINT64_MAX;
			break;
		}
		case K_TVIO: {
			const struct timeval *tv = (const void *)v;
			arg[i] = tv ? (uint64_t)(tv->tv_sec * 1000000000LL +
						 tv->tv_usec * 1000LL)
				    : UINT64_MAX;
			break;
		}
		case K_ARGV: {
			char *const *av = (char *const *)v;
			size_t n = 0;
			for (int k = 0; av && av[k]; k++)
				n += strlen(av[k]) + 1;
			datacap = (uint32_t)(n < 65536 ? n : 65536);
			break;
		}
		case K_PTR:
		case K_TSOUT:
		case K_WSTATUS:
		case K_PIDOUT:
		case K_SIGINFO:
		case K_FDPAIR:
			break;
		default:
			arg[i] = v;
			break;
		}
	}
	{
		int opt = (ci.need_off ? RO_OFF : 0) |
			  (ci.has_out && !datacap ? RO_HASH : 0);
		room_for(t, sizeof(struct retro_rec_stack) +
				    align8(sizeof *a +
					   retro_rec_tail((uint8_t)opt,
							  (uint8_t)d->nargs) +
					   datacap));
		stack = capture_stack(t, c->ra, c->sp);
		a = action_new(t, call, datacap, d->nargs, opt);
	}
	if (a) {
		memcpy(retro_rec_args(a), arg, (size_t)d->nargs * 8);
		a->obj = c->obj;
		a->stack = stack;
		a->flags = c->flags;
		if (ci.argv >= 0) {
			/* Kept at intent: exec does not come back. */
			char *const *av = (char *const *)c->v[ci.argv];
			char *dst = (char *)retro_rec_data(a);
			uint32_t o = 0;
			for (int k = 0; av && av[k]; k++) {
				size_t l = strlen(av[k]) + 1;
				if (o + l > datacap)
					break;
				memcpy(dst + o, av[k], l);
				o += (uint32_t)l;
			}
			a->datalen = o;
			a->flags |= RA_DATA;
		}
		a->h.state = RS_INTENT;
		t->depth++;
		a->start = now();
	}
	c->rec = a;
	c->datacap = datacap;
	if (__builtin_expect(P.shep_on, 0))
		shep_intent(c, d);
	unguard(t);
	*t->errnop = c->skip && c->serr ? c->serr : c->e0;
}

/* linkat(fd, "", ..., AT_EMPTY_PATH), or of "/proc/self/fd/N" or
 * "/dev/fd/N" with AT_SYMLINK_FOLLOW: N; else -1. */
static int linked_fd(const struct retro_call *c)
{
	const char *p = (const char *)c->v[1];
	int fl = (int)c->v[4];
	long n = 0;

	if (!p || bad_uptr((uintptr_t)p))
		return -1;
	if ((fl & AT_EMPTY_PATH) && !*p)
		return (int)c->v[0];
	if (!(fl & AT_SYMLINK_FOLLOW))
		return -1;
	if (!strncmp(p, "/proc/self/fd/", 14))
		p += 14;
	else if (!strncmp(p, "/dev/fd/", 8))
		p += 8;
	else
		return -1;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9' && n < NFDS; p++)
		n = n * 10 + (*p - '0');
	return *p || n >= NFDS ? -1 : (int)n;
}

static inline __attribute__((always_inline)) void
post_args(struct retro_call *c, const int call, struct retro_rec_action *a,
	  int64_t ret, int failed)
{
	const struct retro_call_desc *d = &rdesc[call];
	uint64_t *arg = retro_rec_args(a);
	size_t cap = retro_rec_datacap(a);
	uint64_t n;

#pragma GCC unroll 6
	for (int i = 0; i < RETRO_MAXARGS; i++) {
		uint64_t v = c->v[i];
		if (i >= d->nargs)
			break;
		switch (d->kind[i]) {
		case K_BUFIN:
		case K_BUFKEEP:
		case K_BUFOUT:
			if (failed || !v)
				break;
			n = d->rkind == R_SSIZE ? (uint64_t)ret : NEXT_ARG(c, i);
			if (a->opt & RO_HASH) {
				/* bytes returned and not kept: their hash */
				retro_hash128((const void *)v, n, retro_rec_hash(a));
				a->flags |= RA_HASH;
				break;
			}
			/* kept: the importer hashes them */
			if (n > cap) {
				a->flags |= RA_DATA_LOST;
				n = cap;
			}
			a->datalen = (uint32_t)data_copy(c->t, retro_rec_data(a),
							 (const void *)v, n);
			if (a->datalen < n)
				a->flags |= RA_DATA_LOST;
			a->flags |= RA_DATA;
			break;
		case K_IOVIN:
		case K_IOVOUT:
			if (failed || ret <= 0 || !v)
				break;
			n = (uint64_t)ret;
			if (a->opt & RO_HASH) {
				iov_hash((const void *)v, (int)NEXT_ARG(c, i), n,
					 retro_rec_hash(a));
				a->flags |= RA_HASH;
				break;
			}
			if (n > cap) {
				a->flags |= RA_DATA_LOST;
				n = cap;
			}
			a->datalen = (uint32_t)data_copyv(
				c->t, retro_rec_data(a), (const void *)v,
				(int)NEXT_ARG(c, i), n);
			if (a->datalen < n)
				a->flags |= RA_DATA_LOST;
			a->flags |= RA_DATA;
			break;
		case K_STATOUT:
		case K_STATXOUT:
			if (failed || !v)
				break;
			memcpy(retro_rec_data(a), (const void *)v, cap);
			a->datalen = (uint32_t)cap;
			a->flags |= RA_DATA;
			break;
		case K_TSPAIR:
			if (v && cap >= 2 * sizeof(struct timespec)) {
				memcpy(retro_rec_data(a), (const void *)v,
				       2 * sizeof(struct timespec));
				a->datalen = 2 * sizeof(struct timespec);
				a->flags |= RA_DATA;
			}
			break;
		case K_TSOUT:
			/* rem is written only when the sleep is interrupted */
			if (v && failed && a->err == EINTR) {
				const struct timespec *ts = (const void *)v;
				arg[i] = (uint64_t)(ts->tv_sec * 1000000000LL +
						    ts->tv_nsec);
			}
			break;
		case K_WSTATUS:
			if (v && !failed && ret > 0)
				arg[i] = (uint64_t)*(const int *)v | (1ull << 32);
			break;
		case K_PIDOUT:
			if (v && !failed)
				arg[i] = (uint64_t)*(const pid_t *)v;
			break;
		case K_SIGINFO:
			if (v && !failed) {
				const siginfo_t *si = (const void *)v;
				arg[i] = (uint64_t)(uint32_t)si->si_pid |
					 ((uint64_t)(uint16_t)si->si_code << 32) |
					 ((uint64_t)(uint8_t)si->si_status << 48);
			}
			break;
		case K_FDW:
			if (!failed && ret > 0 && (a->opt & RO_OFF)) {
				struct fdent *e = fde((int)v);
				long pos;
				if (e && (e->flags & FE_NOSEEK))
					break;
				if ((call == RC_write || call == RC_writev) && e &&
				    off_usable(c->t, e)) {
					*retro_rec_off(a) = e->off;
					a->flags |= RA_OFFSET;
					e->off += ret;
					if (__builtin_expect(P.off_check, 0))
						off_verify((int)v, e->off - ret, e);
					break;
				}
				pos = retro_os.lseek((int)v, 0, SEEK_CUR);
				if (pos < 0) {
					if (e)
						e->flags |= FE_NOSEEK;
					break;
				}
				*retro_rec_off(a) = pos - ret;
				a->flags |= RA_OFFSET;
				if (e)
					off_learn(c->t, e, pos);
			}
			break;
		case K_FDCLOSE:
			if (!failed)
				retro_fd_forget((int)v);
			break;
		case K_PATHCHDIR:
		case K_FDCHDIR:
			if (!failed)
				refresh_cwd();
			break;
		default:
			break;
		}
	}
	/* what else moves, shares or tells a file offset (off_usable) */
	if (call == RC_read || call == RC_readv) {
		if (!failed && ret > 0)
			off_moved(c->t, (int)c->v[0], ret);
	} else if (call == RC_lseek || call == RC_lseek64) {
		struct fdent *e = fde((int)c->v[0]);
		if (e && !failed)
			off_learn(c->t, e, ret);
	} else if (call == RC_fstat || call == RC_fstat64 ||
		   call == RC_fstatat || call == RC_fstatat64) {
		int at = call == RC_fstatat || call == RC_fstatat64;
		const struct stat *st = (const void *)c->v[at ? 2 : 1];
		struct fdent *e = fde((int)c->v[0]);
		int own = !at || ((c->v[3] & AT_EMPTY_PATH) && c->v[1] &&
				  !*(const char *)c->v[1]);
		int mine = !failed && own && st &&
			   c->t->claim_fd1 == (int)c->v[0] + 1;
		if (!failed && e && st && S_ISREG(st->st_mode) && own)
			e->flags |= FE_REG;
		if (c->t->claim_fd1)
			claim_settle(c->t, mine ? st : NULL);
	} else if (call == RC_fcntl && c->v[1] == F_SETFL) {
		struct fdent *e = fde((int)c->v[0]);
		if (e) /* O_APPEND, maybe */
			e->flags &= ~(uint32_t)(FE_OFFOWN | FE_OFFVALID);
	} else if (call == RC_fork || call == RC_vfork ||
		   call == RC_posix_spawn || call == RC_posix_spawnp) {
		retro_off_forget_all();
	} else if (call == RC_sendfile || call == RC_sendfile64) {
		off_lost((int)c->v[0]);
		off_lost((int)c->v[1]);
	} else if (call == RC_copy_file_range || call == RC_splice) {
		off_lost((int)c->v[0]);
		off_lost((int)c->v[2]);
	} else if (call == RC_linkat && !failed && c->rec) {
		/* A file linked by its descriptor (how an O_TMPFILE file gets
		 * a name): the source is the descriptor's object, not the
		 * /proc path that names it */
		struct fdent *e = fde(linked_fd(c));
		if (e && (e->flags & FE_KNOWN))
			retro_rec_args(c->rec)[1] = e->path;
	}
}

/* The body of retro_result, expanded as intent_body is. */
static inline __attribute__((always_inline)) void
result_body(struct retro_call *c, int64_t ret, const int call)
{
	struct retro_thread *t = c->t;
	int e1 = *t->errnop;
	int64_t end = now();
	struct retro_rec_action *a = c->rec;
	const struct retro_call_desc *d = &rdesc[call];
	int failed = 0;

	if (!a) {
		/* not recorded (a loss, or a forked child's copy of its
		 * parent's call): whatever it did to offsets went unseen */
		__atomic_add_fetch(&P.off_vepoch, 1, __ATOMIC_RELAXED);
		goto out;
	}
	t->guard = 1;
	switch (d->rkind) {
	case R_INT:
	case R_SSIZE:
		if (ret == -1) {
			failed = 1;
			a->err = e1;
		}
		break;
	case R_ERRNUM:
		if (ret != 0) {
			failed = 1;
			a->err = (int32_t)ret;
		}
		break;
	case R_PTR:
		if (ret == (int64_t)(intptr_t)MAP_FAILED) {
			failed = 1;
			a->err = e1;
		}
		break;
	default:
		break;
	}
	a->ret = ret;
	a->end = end;
	post_args(c, call, a, ret, failed);
	if (c->datacap > a->datalen + 7)
		trim(t, a);
	if (!failed && (call == RC_rename || call == RC_renameat ||
			 call == RC_renameat2 || call == RC_rmdir ||
			 (call == RC_unlinkat && (c->v[2] & AT_REMOVEDIR))))
		__atomic_add_fetch(&P.dir_epoch, 1, __ATOMIC_RELAXED); /* dir_path */
	action_done(a);
	if (--t->depth == 0 && t->nretired)
		retire_flush(t);
	unguard(t);
out:
	if (__builtin_expect(P.shep_on, 0)) {
		int err = 0;
		switch (d->rkind) {
		case R_INT:
		case R_SSIZE:
			err = ret == -1 ? e1 : 0;
			break;
		case R_ERRNUM:
			err = (int)ret;
			break;
		case R_PTR:
			err = ret == (int64_t)(intptr_t)MAP_FAILED ? e1 : 0;
			break;
		default:
			break;
		}
		retro_shep_result(err);
		if (!err)
			shep_stamp(c, d, ret);
		if (c->blocked)
			shep_wake(c, ret);
	}
	retro_selector = c->sel;
	if (__builtin_expect(P.shep_on, 0) && c->alarm)
		retro_shep_alarm_fire(); /* its handler runs before we return */
	*t->errnop = e1;
}

/* The calls most programs make most often get bodies of their own, folded
 * for their arguments' kinds (rdesc); the others share one. */
#define HOT_CALLS(X)                                                         \
	X(open) X(open64) X(openat) X(openat64) X(close) X(read) X(write)    \
	X(pread) X(pread64) X(pwrite) X(pwrite64) X(lseek) X(lseek64)

void retro_intent(struct retro_call *c)
{
	switch (c->call) {
#define HOT(n)                                \
	case RC_##n:                          \
		intent_body(c, RC_##n);       \
		break;
		HOT_CALLS(HOT)
#undef HOT
	default:
		intent_body(c, c->call);
		break;
	}
}

void retro_result(struct retro_call *c, int64_t ret)
{
	switch (c->call) {
#define HOT(n)                                \
	case RC_##n:                          \
		result_body(c, ret, RC_##n);  \
		break;
		HOT_CALLS(HOT)
#undef HOT
	default:
		result_body(c, ret, c->call);
		break;
	}
}

/* ---- the fast path ------------------------------------------------------- */

/* An open from the working directory without O_CREAT, O_TRUNC or
 * O_TMPFILE, and a close of a descriptor the table knows: the calls most
 * programs make most, recorded by one call into the recorder before the
 * system call and one after, each doing only what the two records need.
 * Every other case, and every call while the process is not recording
 * plainly (not yet initialized, a new thread, inside the recorder,
 * shepherd mode), goes the general way (retro_enter, retro_intent,
 * retro_result), whose records these are, byte for byte but the times.
 *
 * Why: what a recorded open+close costs here is less the recorder's
 * instructions than its code.  The kernel's own open and close get
 * slower when user code runs between them, by ~30 ns for each KiB of
 * straight-line code on this machine (BENCHMARKS.md, section 1, measured
 * without the shim), and the general way ran ~1,100 instructions in ~90
 * distinct cache lines (5.6 KiB) for an open+close.  RETRO_FAST=0 sends
 * every call the general way (tests/scenario/record-fast-path.sh records
 * the same program both ways and compares the logs). */

/* Before the call: the thread, if the fast path may take it. */
static inline __attribute__((always_inline)) struct retro_thread *
fast_thread(void)
{
	struct retro_thread *t = tself;

	if (__builtin_expect(P.state != PS_ON || !t || t->guard || !P.fast ||
				     P.shep_on || t->claim_fd1,
			     0))
		return NULL;
	return t;
}

/* What retro_enter keeps of the program's state (its errno, the trap
 * layer's selector, set to let libc's calls through), and the thread
 * guarded. */
static inline __attribute__((always_inline)) void
fast_begin(struct retro_fast *f, struct retro_thread *t)
{
	f->t = t;
	f->e0 = *t->errnop;
	f->sel = retro_selector;
	retro_selector = 0;
	t->guard = 1;
}

/* The intent of call with its nargs arguments, as intent_body makes it:
 * the stack's record and the action's in one segment, the action in
 * RS_INTENT with its start.  Called guarded, after the paths are
 * interned; leaves the thread unguarded and errno as the program had it. */
static inline __attribute__((always_inline)) void
fast_intent(struct retro_fast *f, struct retro_thread *t, const int call,
	    const uint64_t *arg, uint64_t obj, uint64_t ra, uint64_t sp)
{
	const struct call_info ci = ci_of(call);
	const int nargs = rdesc[call].nargs;
	const int opt = (ci.need_off ? RO_OFF : 0) | (ci.has_out ? RO_HASH : 0);
	struct retro_rec_action *a;
	uint64_t stack;

	room_for(t, sizeof(struct retro_rec_stack) +
			    align8(sizeof *a + retro_rec_tail((uint8_t)opt,
							      (uint8_t)nargs)));
	stack = capture_stack(t, ra, sp);
	a = action_new(t, call, 0, nargs, opt);
	t->nfast++;
	if (a) {
		memcpy(retro_rec_args(a), arg, (size_t)nargs * 8);
		a->obj = obj;
		a->stack = stack;
		a->h.state = RS_INTENT;
		t->depth++;
		a->start = now();
	}
	f->rec = a;
	unguard(t);
	*t->errnop = f->e0;
}

/* After the call: the action completed as result_body completes it, the
 * selector and the program's errno back.  post runs guarded, before the
 * action is done (a close's descriptor forgotten). */
static inline __attribute__((always_inline)) void
fast_result(struct retro_fast *f, int64_t ret, int fdclose, int fd)
{
	struct retro_thread *t = f->t;
	int e1 = *t->errnop;
	int64_t end = now();
	struct retro_rec_action *a = f->rec;

	if (!a) {
		/* not recorded (a loss): whatever it did to offsets went
		 * unseen */
		__atomic_add_fetch(&P.off_vepoch, 1, __ATOMIC_RELAXED);
	} else {
		t->guard = 1;
		if (ret == -1)
			a->err = e1;
		a->ret = ret;
		a->end = end;
		if (fdclose && ret != -1)
			retro_fd_forget(fd);
		action_done(a);
		if (--t->depth == 0 && t->nretired)
			retire_flush(t);
		unguard(t);
	}
	retro_selector = f->sel;
	*t->errnop = e1;
}

int retro_fast_open(struct retro_fast *f, int call, int dirfd,
		    const char *path, int flags, unsigned mode, uint64_t ra,
		    uint64_t sp)
{
	struct retro_thread *t;
	uint64_t arg[4];
	int i = 0;

	if (dirfd != AT_FDCWD || (flags & (O_CREAT | O_TRUNC)) ||
	    (flags & O_TMPFILE) == O_TMPFILE || !path ||
	    bad_uptr((uintptr_t)path) || !(t = fast_thread()))
		return 0;
	fast_begin(f, t);
	f->pathid = intern_path(t, 0, AT_FDCWD, path, &f->abs);
	if (call == RC_openat || call == RC_openat64)
		arg[i++] = (uint64_t)(int64_t)AT_FDCWD;
	arg[i++] = f->pathid;
	arg[i++] = (uint64_t)flags;
	arg[i] = mode;
	switch (call) {
	case RC_open:
		fast_intent(f, t, RC_open, arg, 0, ra, sp);
		break;
	case RC_open64:
		fast_intent(f, t, RC_open64, arg, 0, ra, sp);
		break;
	case RC_openat:
		fast_intent(f, t, RC_openat, arg, 0, ra, sp);
		break;
	default:
		fast_intent(f, t, RC_openat64, arg, 0, ra, sp);
		break;
	}
	return 1;
}

void retro_fast_open_done(struct retro_fast *f, int fd, int flags)
{
	if (fd >= 0) {
		/* as retro_open_post binds it */
		struct fdent *e = fde(fd);
		struct retro_thread *t = f->t;
		uint32_t fl = flags & (O_APPEND | O_PATH)
				      ? 0
				      : FE_OFFOWN | FE_OFFVALID;

		/* no system call: errno stays the call's (run_pending, in
		 * unguard, keeps it too) */
		t->guard = 1;
		if (e)
			fd_bind_id(e, f->pathid, f->abs, fl);
		if (f->rec)
			f->rec->obj = e ? e->path : 0;
		unguard(t);
	}
	fast_result(f, fd, 0, fd);
}

int retro_fast_close(struct retro_fast *f, int fd, uint64_t ra, uint64_t sp)
{
	struct retro_thread *t;
	struct fdent *e = fde(fd);
	uint64_t arg = (uint64_t)(uintptr_t)fd;

	if (!e || !(e->flags & FE_KNOWN) || !(t = fast_thread()))
		return 0;
	fast_begin(f, t);
	fast_intent(f, t, RC_close, &arg, e->path, ra, sp);
	return 1;
}

void retro_fast_close_done(struct retro_fast *f, int fd, int r)
{
	fast_result(f, r, 1, fd);
}

/* ---- open and friends ---------------------------------------------------- */

/* What an open that may create or empty its file must know before it is
 * issued: whether the file exists (RA_CREATED if not), and, when O_TRUNC
 * is about to empty it, its bytes (a pre-image).  A stat tells. */
static void open_pre_stat(struct retro_call *c, int dirfd, const char *path,
			  int flags)
{
	struct retro_thread *t = c->t;
	struct stat st;
	const char *abs;

	t->guard = 1;
	abs = absolute(t, t->scratch, dirfd, path);
	if (retro_os_fstatat(AT_FDCWD, abs, &st, 0) < 0) {
		if (flags & O_CREAT)
			c->flags |= RA_CREATED; /* confirmed on success */
	} else {
		c->reg = (char)S_ISREG(st.st_mode); /* off_usable */
		if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY &&
		    c->reg && st.st_size > 0 && inode_claim(&st)) {
			uint64_t id = intern(t, abs, strlen(abs));
			emit_preimage(t, id, abs, &st);
		}
	}
	unguard(t);
	errno = c->e0;
}

void retro_open_pre(struct retro_call *c, int dirfd, const char *path,
		    int flags, int try_excl)
{
	c->reg = 0; /* read by retro_open_post, which follows */
	c->excl = 0;
	if (!path || bad_uptr((uintptr_t)path) || !(flags & (O_CREAT | O_TRUNC)))
		return;
	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
		/* The call makes the file or fails: there is nothing to
		 * keep, and no stat is needed to know it is new (tar makes
		 * every file it extracts so). */
		c->flags |= RA_CREATED; /* confirmed on success */
		return;
	}
	if (try_excl && (flags & O_CREAT) && !c->t->excl_miss &&
	    !is_dev(path)) {
		/* The thread's last such open made its file: this one is
		 * tried with O_EXCL first, which answers whether the file
		 * is new with the open itself, and the stat goes.  Not a
		 * path in /dev: a shell's `>/dev/null` between two new
		 * files would cost a failed try each time. */
		c->excl = 1;
		c->flags |= RA_CREATED; /* confirmed on success */
		return;
	}
	open_pre_stat(c, dirfd, path, flags);
}

void retro_open_excl_failed(struct retro_call *c, int dirfd, const char *path,
			    int flags, int err)
{
	if (err == EEXIST)
		c->t->excl_miss = 1;
	c->excl = 0;
	c->flags &= (uint16_t)~RA_CREATED;
	open_pre_stat(c, dirfd, path, flags);
	if (c->rec) /* the intent is out: its record says what the stat did */
		c->rec->flags = (uint16_t)((c->rec->flags &
					    (uint16_t)~RA_CREATED) |
					   (c->flags & RA_CREATED));
}

void retro_open_post(struct retro_call *c, int fd, int dirfd,
		     const char *path, int flags)
{
	struct retro_thread *t = c->t;
	const char *abs;
	uint32_t fl = 0;

	if (fd < 0 || !path || bad_uptr((uintptr_t)path)) {
		if (c->rec)
			c->rec->flags &= (uint16_t)~RA_CREATED;
		return;
	}
	t->guard = 1;
	abs = c->pathid ? c->abs : absolute(t, t->scratch, dirfd, path);
	if (c->flags & RA_CREATED) {
		fl |= FE_CREATED;
		t->excl_miss = 0; /* it made its file: the next may too */
		/* Ours from birth: no pre-image when it is reopened later.
		 * Claimed at the thread's next call (claim_start, below). */
		claim_settle(t, NULL);
	}
	if (flags & O_TRUNC)
		fl |= FE_PREIMG; /* captured before the open emptied it */
	if (c->reg)
		fl |= FE_REG;
	if (!(flags & (O_APPEND | O_PATH)))
		fl |= FE_OFFOWN | FE_OFFVALID; /* at 0 (off_usable) */
	if ((flags & O_TMPFILE) == O_TMPFILE) {
		/* An unnamed file in directory path, made by this call: its
		 * name is the kernel's, "DIR/#INODE (deleted)".  Bound to
		 * the directory, its writes were taken for the directory's,
		 * with a pre-image of it as an empty file. */
		char fp[32];
		struct stat st;
		long r;
		fdpath(fp, fd);
		r = retro_os_readlinkat(AT_FDCWD, fp, t->scratch, PATH_MAX - 1);
		t->scratch[r > 0 ? r : 0] = 0;
		if (r > 0 && t->scratch[0] == '/') {
			fl |= FE_CREATED | FE_REG;
			c->flags |= RA_CREATED; /* the object is new */
			if (c->rec)
				c->rec->flags |= RA_CREATED;
			if (retro_os_fstatat(fd, "", &st, AT_EMPTY_PATH) == 0)
				inode_claim(&st);
			fd_bind(t, fd, t->scratch, fl);
			if (c->rec)
				c->rec->obj = P.fds && fd < NFDS ? P.fds[fd].path : 0;
			unguard(t);
			return;
		}
	}
	if (c->pathid && fde(fd))
		fd_bind_id(fde(fd), c->pathid, abs, fl);
	else
		fd_bind(t, fd, abs, fl);
	if (c->flags & RA_CREATED)
		claim_start(t, fd);
	if (c->rec)
		c->rec->obj = P.fds && fd < NFDS ? P.fds[fd].path : 0;
	unguard(t);
}

/* ---- bytes that land without a user buffer --------------------------------- */

/* Emits a `landed` event for n bytes at off of object obj.  src, when not
 * NULL, holds them (a shared mapping); else they are read back from fd. */
static void landed(struct retro_thread *t, int fd, uint64_t obj, int64_t off,
		   int64_t n, const void *src)
{
	struct retro_rec_action *a;
	uint64_t *arg;
	uint32_t cap = n > 0 && n <= (int64_t)DATA_MAX ? (uint32_t)n : 0;

	a = action_new(t, RC_landed, cap, RETRO_MAXARGS, 0);
	if (!a)
		return;
	arg = retro_rec_args(a);
	a->start = a->end = now();
	arg[0] = (uint64_t)fd;
	arg[1] = obj;
	arg[2] = (uint64_t)off;
	a->obj = obj;
	if (cap && src) {
		a->datalen = (uint32_t)data_copy(t, retro_rec_data(a), src,
						 cap);
	} else if (cap) {
		char fp[32];
		long rfd, k;
		uint32_t got = 0;
		fdpath(fp, fd);
		rfd = retro_os_openat(AT_FDCWD, fp, O_RDONLY | O_CLOEXEC, 0);
		while (rfd >= 0 && got < cap) {
			k = retro_os_pread((int)rfd, retro_rec_data(a) + got,
					   cap - got, off + got);
			if (k == -EINTR)
				continue;
			if (k <= 0)
				break;
			got += (uint32_t)k;
		}
		if (rfd >= 0)
			retro_os.close((int)rfd);
		a->datalen = got;
	}
	a->flags |= RA_DATA;
	if (a->datalen < n)
		a->flags |= RA_DATA_LOST;
	action_done(a);
}

void retro_landed_fd(struct retro_call *c, int fd, int64_t off, int64_t n)
{
	struct retro_thread *t = c->t;
	struct stat st;
	uint64_t obj;
	int e = errno;

	if (!t || n == 0)
		return;
	t->guard = 1;
	if (n < 0) {
		/* the whole file (FICLONE) */
		if (retro_os_fstatat(fd, "", &st, AT_EMPTY_PATH) < 0)
			goto out;
		off = 0;
		n = st.st_size;
	} else if (off < 0) {
		long pos = retro_os.lseek(fd, 0, SEEK_CUR);
		off = pos < 0 ? -1 : pos - n;
	}
	if (off >= 0 && retro_os_fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 &&
	    S_ISREG(st.st_mode)) {
		obj = fd_obj(t, fd);
		landed(t, fd, obj, off, n, NULL);
	}
out:
	unguard(t);
	errno = e;
}

/* Writable shared mappings of files: the bytes land at msync, munmap and
 * exit.  A short table; mappings beyond it are recorded as mmap actions
 * only. */
#define NMAPS 64
static struct mapping {
	uintptr_t addr;
	size_t len;
	uint64_t obj;
	int64_t off;
	int fd;
} maps[NMAPS];
static int nmaps;
static int maps_lock;

int retro_maps_active(void)
{
	return __atomic_load_n(&nmaps, __ATOMIC_RELAXED) != 0;
}

void retro_mapped(struct retro_call *c, void *addr, size_t len, int fd,
		  int64_t off)
{
	struct retro_thread *t = c->t;
	struct stat st;
	int e = errno;

	if (!t || addr == MAP_FAILED)
		return;
	t->guard = 1;
	if (retro_os_fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 &&
	    S_ISREG(st.st_mode) &&
	    !__atomic_exchange_n(&maps_lock, 1, __ATOMIC_ACQUIRE)) {
		for (int i = 0; i < NMAPS; i++) {
			if (maps[i].len)
				continue;
			maps[i] = (struct mapping){ (uintptr_t)addr, len,
						    fd_obj(t, fd), off, fd };
			nmaps++;
			break;
		}
		__atomic_store_n(&maps_lock, 0, __ATOMIC_RELEASE);
	}
	unguard(t);
	errno = e;
}

/* Lands what [addr, addr+len) covers of tracked mappings; forgets them
 * when unmapping. */
void retro_map_flush(struct retro_call *c, void *addr, size_t len, int unmap)
{
	struct retro_thread *t = c ? c->t : tself;
	uintptr_t lo = (uintptr_t)addr, hi = lo + len;
	int e = errno;

	if (!t || __atomic_exchange_n(&maps_lock, 1, __ATOMIC_ACQUIRE))
		return;
	t->guard = 1;
	for (int i = 0; i < NMAPS; i++) {
		struct mapping *m = &maps[i];
		uintptr_t a, b;
		if (!m->len)
			continue;
		a = m->addr > lo ? m->addr : lo;
		b = m->addr + m->len < hi ? m->addr + m->len : hi;
		if (a >= b)
			continue;
		landed(t, m->fd, m->obj, m->off + (int64_t)(a - m->addr),
		       (int64_t)(b - a), (const void *)a);
		if (unmap && a == m->addr && b == m->addr + m->len) {
			m->len = 0;
			nmaps--;
		}
	}
	unguard(t);
	__atomic_store_n(&maps_lock, 0, __ATOMIC_RELEASE);
	errno = e;
}

/* ---- system calls the trap layer caught ---------------------------------- */

/* Trapped system calls that have a libc counterpart with the same
 * arguments: they are recorded as that call. */
static const struct { int nr, call; } sysmap_list[] = {
	{ SYS_read, RC_read }, { SYS_write, RC_write },
	{ SYS_pread64, RC_pread64 }, { SYS_pwrite64, RC_pwrite64 },
	{ SYS_readv, RC_readv }, { SYS_writev, RC_writev },
	{ SYS_preadv, RC_preadv }, { SYS_pwritev, RC_pwritev },
	{ SYS_lseek, RC_lseek }, { SYS_close, RC_close },
	{ SYS_ftruncate, RC_ftruncate }, { SYS_truncate, RC_truncate },
	{ SYS_fsync, RC_fsync }, { SYS_fdatasync, RC_fdatasync },
	{ SYS_unlink, RC_unlink }, { SYS_unlinkat, RC_unlinkat },
	{ SYS_rename, RC_rename }, { SYS_renameat, RC_renameat },
	{ SYS_renameat2, RC_renameat2 }, { SYS_mkdir, RC_mkdir },
	{ SYS_mkdirat, RC_mkdirat }, { SYS_rmdir, RC_rmdir },
	{ SYS_link, RC_link }, { SYS_linkat, RC_linkat },
	{ SYS_symlink, RC_symlink }, { SYS_symlinkat, RC_symlinkat },
	{ SYS_stat, RC_stat }, { SYS_lstat, RC_lstat }, { SYS_fstat, RC_fstat },
	{ SYS_newfstatat, RC_fstatat }, { SYS_statx, RC_statx },
	{ SYS_access, RC_access }, { SYS_faccessat, RC_faccessat },
	{ SYS_faccessat2, RC_faccessat }, { SYS_flock, RC_flock },
	{ SYS_chdir, RC_chdir }, { SYS_fchdir, RC_fchdir },
	{ SYS_umask, RC_umask }, { SYS_getrandom, RC_getrandom },
	{ SYS_getdents64, RC_getdents64 }, { SYS_fallocate, RC_fallocate },
	{ SYS_utimensat, RC_utimensat }, { SYS_kill, RC_kill },
	{ SYS_wait4, RC_wait4 }, { SYS_nanosleep, RC_nanosleep },
	{ SYS_clock_nanosleep, RC_clock_nanosleep }, { SYS_poll, RC_poll },
	{ SYS_ppoll, RC_ppoll }, { SYS_select, RC_select },
	{ SYS_open, RC_open }, { SYS_openat, RC_openat },
	{ SYS_creat, RC_creat }, { SYS_dup, RC_dup }, { SYS_dup2, RC_dup2 },
	{ SYS_dup3, RC_dup3 }, { SYS_fcntl, RC_fcntl }, { SYS_pipe, RC_pipe },
	{ SYS_pipe2, RC_pipe2 }, { SYS_copy_file_range, RC_copy_file_range },
	{ SYS_sendfile, RC_sendfile }, { SYS_splice, RC_splice },
	{ SYS_execve, RC_execve },
};
#define NSYS 512
static uint16_t sys2call[NSYS];
uint8_t retro_trap_pass[RETRO_TRAP_NPASS];

/* System calls not recorded that may move or share a file offset: they
 * forget every offset kept (off_usable).  With a NULL, whether nr is one. */
static int off_unseen(long nr, const long *a)
{
	switch (nr) {
	case SYS_sendmsg: /* descriptors sent with SCM_RIGHTS, maybe */
	case SYS_sendmmsg:
		if (a)
			retro_off_forget_all();
		return 1;
	default:
		return 0;
	}
}

static void sysmap_init(void)
{
	for (size_t i = 0; i < sizeof sysmap_list / sizeof *sysmap_list; i++)
		if (sysmap_list[i].nr < NSYS)
			sys2call[sysmap_list[i].nr] = (uint16_t)sysmap_list[i].call;
	/* what retro_trapped only performs: see retro_trap_pass */
	for (long nr = 0; nr < RETRO_TRAP_NPASS; nr++)
		retro_trap_pass[nr] = nr < NSYS && !sys2call[nr] &&
#ifdef SYS_openat2
				      nr != SYS_openat2 &&
#endif
#ifdef SYS_preadv2
				      nr != SYS_preadv2 && nr != SYS_pwritev2 &&
#endif
				      !off_unseen(nr, NULL) && retro_trap_plain(nr);
}

/* Records a trapped system call as `call` with arguments v, and performs
 * it as it was made (nr, a). */
/* Performs a trapped call from inside our text with the selector back at
 * what it was when the call trapped: a signal handler that runs while the
 * call blocks (sigsuspend, a read) is recorded like any other code. */
static long perform(long nr, const long a[6], long a2, char sel)
{
	long k;

	retro_selector = sel;
	k = retro_sys6(nr, a[0], a[1], a2, a[3], a[4], a[5]);
	retro_selector = 0;
	return k;
}

static long trapped_as(int call, long nr, long a[6], long v[6], uint64_t rip,
		       uint64_t sp, char sel)
{
	const struct retro_call_desc *d;
	struct retro_call c;
	char *const *env = NULL;
	int dirfd = AT_FDCWD, flags = 0, err = 0;
	const char *path = NULL;
	long k, ret;

	if (!retro_enter(&c, call))
		return perform(nr, a, a[2], sel);
	d = &retro_calls[call];
	for (int i = 0; i < RETRO_MAXARGS; i++)
		c.v[i] = (uint64_t)v[i];
	c.ra = rip;
	c.sp = sp;
	switch (call) {
	case RC_open:
		path = (const char *)v[0];
		flags = (int)v[1];
		break;
	case RC_openat:
		dirfd = (int)v[0];
		path = (const char *)v[1];
		flags = (int)v[2];
		break;
	case RC_creat:
		path = (const char *)v[0];
		flags = O_CREAT | O_WRONLY | O_TRUNC;
		break;
	case RC_fcntl:
		if (v[1] == F_SETLK || v[1] == F_SETLKW || v[1] == F_GETLK ||
		    v[1] == F_OFD_SETLK || v[1] == F_OFD_SETLKW ||
		    v[1] == F_OFD_GETLK) {
			const struct flock *fl = (const void *)v[2];
			c.v[2] = fl ? (uint64_t)fl->l_type |
					      (uint64_t)fl->l_start << 8
				    : 0;
		}
		break;
	default:
		break;
	}
	if (path)
		retro_open_pre(&c, dirfd, path, flags, 0);
	retro_intent(&c);
	if (call == RC_execve) {
		retro_exec_target((const char *)a[0], 0);
		env = retro_exec_prepare((char *const *)a[2]);
	}
	/* shepherd mode squeezes a sleep: not issued at all */
	k = c.skip ? c.sret : perform(nr, a, env ? (long)env : a[2], sel);
	ret = k;
	if (k < 0 && k > -4096) {
		err = (int)-k;
		ret = -1;
	}
	if (path)
		retro_open_post(&c, (int)ret, dirfd, path, flags);
	if (ret >= 0 && (call == RC_dup || call == RC_dup2 || call == RC_dup3 ||
			 (call == RC_fcntl && (v[1] == F_DUPFD ||
					       v[1] == F_DUPFD_CLOEXEC))))
		retro_fd_dup((int)v[0], (int)ret);
	if (ret == 0 && (call == RC_pipe || call == RC_pipe2))
		retro_fd_pipe((const int *)v[0]);
	if (env)
		retro_exec_failed(env, (char *const *)a[2]);
	errno = err;
	retro_result(&c, d->rkind == R_ERRNUM ? err : ret);
	if (ret > 0 && (call == RC_copy_file_range || call == RC_splice))
		retro_landed_fd(&c, (int)v[2],
				v[3] ? *(const int64_t *)v[3] - ret : -1, ret);
	else if (ret > 0 && call == RC_sendfile)
		retro_landed_fd(&c, (int)v[0], -1, ret);
	return k;
}

long retro_trapped(long nr, long a[6], uint64_t rip, uint64_t sp, char sel)
{
	int call = nr >= 0 && nr < NSYS ? sys2call[nr] : 0;

#ifdef SYS_openat2
	if (nr == SYS_openat2 && a[2]) {
		/* recorded as the openat it amounts to: flags and mode come
		 * from struct open_how; it is performed as it was made */
		const uint64_t *how = (const uint64_t *)a[2];
		long b[6] = { a[0], a[1], (long)how[0], (long)how[1], 0, 0 };
		return trapped_as(RC_openat, nr, a, b, rip, sp, sel);
	}
#endif
#ifdef SYS_preadv2
	if (nr == SYS_preadv2 || nr == SYS_pwritev2) {
		/* recorded as the readv, writev, preadv or pwritev it
		 * amounts to; performed as made */
		int w = nr == SYS_pwritev2, at = a[3] != -1;
		long b[6] = { a[0], a[1], a[2], a[3], 0, 0 };
		if (w && (a[5] & RWF_APPEND)) {
			/* at the end of the file; the offset moves there
			 * only when given -1, and is asked after */
			if (at)
				return perform(nr, a, a[2], sel);
			off_lost((int)a[0]);
		}
		return trapped_as(at ? (w ? RC_pwritev : RC_preadv)
				     : (w ? RC_writev : RC_readv),
				  nr, a, b, rip, sp, sel);
	}
#endif
	if (!call) {
		off_unseen(nr, a);
		return perform(nr, a, a[2], sel);
	}
	if (nr == SYS_faccessat)
		a[3] = 0; /* the system call has no flags */
	return trapped_as(call, nr, a, a, rip, sp, sel);
}

/* ---- time ---------------------------------------------------------------- */

int retro_timeread(void)
{
	struct retro_thread *t = tself;

	if (__builtin_expect(t != NULL, 1)) {
		t->timereads++;
		return P.time_reads && !t->guard;
	}
	return 0;
}

/* ---- threads and processes ----------------------------------------------- */

static void thread_end(void *arg);

static void emit_counts(struct retro_thread *t)
{
	if (t->timereads && emit_event(t, RC_timereads, t->timereads, 0, 0) == 0)
		t->timereads = 0;
}

static struct retro_thread *thread_new(void)
{
	struct retro_thread *t;
	long r;

	r = retro_os.mmap(NULL, sizeof *t, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r < 0)
		return NULL;
	t = (void *)r;
	t->guard = 1;
	t->index = __atomic_add_fetch(&P.nthreads, 1, __ATOMIC_RELAXED);
	t->tid = (int32_t)retro_sys0(SYS_gettid);
	t->retry_at = 64;
	t->errnop = &errno;
	tself = t;
	r = segment_open(t, 0);
	if (r == 0) {
		segment_ready(t);
	} else {
		mark_loss(t, (int)r);
	}
	pthread_setspecific(P.key, t);
	if (P.want_trap)
		trap_arm(t);
	unguard(t);
	return t;
}

static void thread_close(struct retro_thread *t)
{
	t->guard = 1;
	claim_settle(t, NULL);
	if (P.fast_debug) {
		char buf[256];
		size_t n = cpy(buf, sizeof buf, 0, "retro: thread ", 14);
		n += retro_utoa(buf + n, t->index);
		n = cpy(buf, sizeof buf, n, ": ", 2);
		n += retro_utoa(buf + n, t->nfast);
		n = cpy(buf, sizeof buf, n, " calls through the fast path\n", 29);
		if (t->nkcopy) {
			n = cpy(buf, sizeof buf, n, "retro: thread ", 14);
			n += retro_utoa(buf + n, t->index);
			n = cpy(buf, sizeof buf, n, ": ", 2);
			n += retro_utoa(buf + n, t->nkcopy);
			n = cpy(buf, sizeof buf, n, " kept copies made by the kernel\n", 32);
		}
		if (TC.on && tclk.mult) {
			n = cpy(buf, sizeof buf, n, "retro: thread ", 14);
			n += retro_utoa(buf + n, t->index);
			n = cpy(buf, sizeof buf, n, ": timestamps from the TSC\n", 26);
		}
		retro_sys3(SYS_write, 2, buf, n);
	}
	if (!t->seg && t->lost)
		shared_loss(t, now());
	emit_counts(t);
	retire_flush(t);
	kept_drop(t);
	if (t->seg) {
		seal(t->seg, t->segsize);
		t->seg = NULL;
	}
	unguard(t);
}

/* Before a thread's state goes: blocks its signals (but SIGSYS), the old
 * mask in *old, and runs the handlers of those kept meanwhile, so that
 * none runs between the seal and the state's end, when it would find no
 * segment.  Once tself is NULL, the caller restores the mask: a handler
 * that comes then gets a new state. */
static void quiesce(struct retro_thread *t, uint64_t *old)
{
	uint64_t all = ~(1ull << (SIGSYS - 1));

	retro_sys4(SYS_rt_sigprocmask, SIG_BLOCK, &all, old, 8);
	if (t->npend && !t->guard)
		run_pending(t);
}

static void thread_end(void *arg)
{
	struct retro_thread *t = arg;
	uint64_t mask;

	if (t != tself || P.state != PS_ON)
		return;
	if (P.shep_on)
		retro_shep_thread_gone();
	quiesce(t, &mask);
	thread_close(t);
	tself = NULL;
	retro_os.munmap(t, sizeof *t);
	retro_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &mask, NULL, 8);
}

static uint64_t read_starttime(void)
{
	return retro_os_starttime("/proc/self/stat");
}

static void read_boot_id(uint8_t out[16])
{
	char buf[64];
	long fd, n;
	int k = 0;

	memset(out, 0, 16);
	fd = retro_os_openat(AT_FDCWD, "/proc/sys/kernel/random/boot_id",
			     O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return;
	n = retro_os_read((int)fd, buf, sizeof buf - 1);
	retro_os.close((int)fd);
	for (long i = 0; i + 1 < n && k < 16; i++) {
		int hi, lo;
		if (buf[i] == '-')
			continue;
		hi = buf[i] <= '9' ? buf[i] - '0' : (buf[i] | 32) - 'a' + 10;
		lo = buf[i + 1] <= '9' ? buf[i + 1] - '0'
				       : (buf[i + 1] | 32) - 'a' + 10;
		out[k++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
}

struct handoff {
	char magic[8];
	uint32_t proc, image, parent, injected;
	int32_t pid;
	uint32_t nthreads; /* thread indices go on across exec */
	uint64_t tsc_mult; /* the TSC's rate, when known (0: not) */
	uint64_t starttime; /* an exec keeps the process's */
	uint8_t boot_id[16];
	char preload[PATH_MAX];
};

/* SPOOL/exec-PID: HANDOFF_PATH bytes */
#define HANDOFF_PATH (strlen(P.spool) + sizeof "/exec-" + 10)

static void handoff_path(char *buf, int32_t pid)
{
	size_t n = cpy(buf, HANDOFF_PATH, 0, P.spool, strlen(P.spool));
	n = cpy(buf, HANDOFF_PATH, n, "/exec-", 6);
	retro_utoa(buf + n, (uint64_t)(uint32_t)pid);
}

/* A handoff's file holds preload up to its end, not the whole array
 * (retro_exec_prepare writes it so): the two pages of stack a whole one
 * fills are two page faults in every exec'd image, and as many in the
 * process that leaves it. */
#define HANDOFF_HEAD offsetof(struct handoff, preload)

static int handoff_take(struct handoff *h)
{
	char path[HANDOFF_PATH];
	long fd, n;

	handoff_path(path, P.pid);
	fd = retro_os_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	n = retro_os_read((int)fd, h, sizeof *h);
	retro_os.close((int)fd);
	retro_os_unlinkat(AT_FDCWD, path, 0);
	return n > (long)HANDOFF_HEAD &&
	       memchr(h->preload, 0, (size_t)n - HANDOFF_HEAD) &&
	       memcmp(h->magic, "RETROEXE", 8) == 0 && h->pid == P.pid;
}

/* Maps STORE/shared.map for the life of the process (no descriptor kept). */
static struct retro_shared_hdr *shared_map(void)
{
	struct stat st;
	long fd, r;

	if (P.shared)
		return P.shared;
	char path[strlen(P.store) + sizeof "/" RETRO_SHARED_NAME];
	cpy(path, sizeof path, cpy(path, sizeof path, 0, P.store,
				   strlen(P.store)),
	    "/" RETRO_SHARED_NAME, strlen(RETRO_SHARED_NAME) + 1);
	fd = retro_os_openat(AT_FDCWD, path, O_RDWR | O_CREAT | O_CLOEXEC,
			     0600);
	if (fd < 0)
		return NULL;
	/* The store allocated its blocks when it made it: a fallocate over
	 * them changes nothing, and it took 55 us of every exec'd process
	 * (tmpfs, 1 MiB: fallocate walks the pages). */
	if (retro_os_fstatat((int)fd, "", &st, AT_EMPTY_PATH) < 0 ||
	    st.st_size < RETRO_SHARED_SIZE ||
	    (uint64_t)st.st_blocks * 512 < RETRO_SHARED_SIZE) {
		r = retro_os_fallocate((int)fd, 0, 0, RETRO_SHARED_SIZE);
		if (r == -EOPNOTSUPP)
			r = retro_os_ftruncate((int)fd, RETRO_SHARED_SIZE);
		/* Full disk: use it if the store made it full-sized. */
		if (r < 0 && (retro_os_fstatat((int)fd, "", &st,
					       AT_EMPTY_PATH) < 0 ||
			      st.st_size < RETRO_SHARED_SIZE)) {
			retro_os.close((int)fd);
			return NULL;
		}
	}
	r = retro_os.mmap(NULL, RETRO_SHARED_SIZE, PROT_READ | PROT_WRITE,
			  MAP_SHARED, (int)fd, 0);
	retro_os.close((int)fd);
	if (r < 0)
		return NULL;
	P.shared = (struct retro_shared_hdr *)r;
	return P.shared;
}

static uint32_t next_proc_id(void)
{
	struct retro_shared_hdr *sh = shared_map();

	if (!sh)
		return 0;
	return (uint32_t)__atomic_add_fetch(&sh->next_proc, 1, __ATOMIC_SEQ_CST);
}

/* Says in the shared map that thread t loses calls; until == 0 while it
 * still does.  Any thread of any process may append here. */
static void shared_loss(struct retro_thread *t, int64_t until)
{
	struct retro_shared_hdr *sh = P.shared;
	struct retro_loss_rec *l;
	uint64_t off;

	if (!sh)
		return;
	off = __atomic_fetch_add(&sh->used, sizeof *l, __ATOMIC_ACQ_REL);
	if (sizeof *sh + off + sizeof *l > RETRO_SHARED_SIZE) {
		__atomic_fetch_add(&sh->overflow, 1, __ATOMIC_RELAXED);
		return;
	}
	l = (void *)((char *)sh + sizeof *sh + off);
	l->proc = P.proc;
	l->thread = t->index;
	l->err = t->lost_err;
	l->since = t->lost_since;
	l->until = until;
	l->count = t->lost;
	__atomic_store_n(&l->magic, RETRO_LOSS_MAGIC, __ATOMIC_RELEASE);
}

/* The most of an environment an image's record keeps, in whole entries. */
#define ENV_MAX (256u << 10)

/* Emits what re-creating the image needs besides argv: cwd, umask and the
 * environment as the program got it (at most ENV_MAX of whole entries;
 * arg[2] says entries were left out, and run then refuses it). */
static void emit_image(struct retro_thread *t)
{
	extern char **environ;
	uint32_t n = 0;
	uint64_t cwd;
	long um;
	int cut = 0;
	struct retro_rec_action *a;

	for (char **e = environ; e && *e; e++) {
		size_t l = strlen(*e) + 1;
		if (n + l > ENV_MAX) {
			cut = 1;
			break;
		}
		n += (uint32_t)l;
	}
	um = retro_sys1(SYS_umask, 022);
	retro_sys1(SYS_umask, um);
	cwd = intern(t, P.cwd, P.cwdlen);
	a = action_new(t, RC_image, n, 3, 0);
	if (!a)
		return;
	a->start = a->end = now();
	retro_rec_args(a)[0] = cwd;
	retro_rec_args(a)[1] = (uint64_t)um;
	retro_rec_args(a)[2] = (uint64_t)cut;
	a->obj = cwd;
	{
		char *dst = (char *)retro_rec_data(a);
		uint32_t o = 0;
		for (char **e = environ; e && *e; e++) {
			size_t l = strlen(*e) + 1;
			if (o + l > n)
				break;
			memcpy(dst + o, *e, l);
			o += (uint32_t)l;
		}
		a->datalen = o;
	}
	a->flags |= RA_DATA;
	action_done(a);
}

/* The most of an image's arguments its start record keeps: a long link
 * line keeps its objects (the kernel allows 128 KiB an argument and
 * more in all; past this the record says the rest was cut). */
#define ARGV_MAX (256u << 10)

/* A forked child's arguments as /proc/self/cmdline would give them, up to
 * PATH_MAX (*cut set past that), read from the memory they are in with
 * one system call: the three of opening /proc took ~6 us more in a new
 * child here (16 against 10, both cold).  They are what the parent holds
 * at the fork, rewritten or not.  Returns the bytes copied, or -1 when
 * /proc has to say: the area is not known (retro_init_args), not
 * readable, or its last byte is no longer 0, which is how the kernel
 * tells that setproctitle() wrote past it and answers otherwise.  (A
 * program that moves the area itself, prctl(PR_SET_MM_ARG_START), which
 * takes CAP_SYS_RESOURCE, gets the old area's bytes here.) */
static long arg_copy(char *buf, int *cut)
{
	uint64_t len = P.arg_hi - P.arg_lo;
	struct iovec l, r;
	char last;
	long n;

	if (!P.arg_lo || P.arg_hi <= P.arg_lo)
		return -1;
	l.iov_base = buf;
	l.iov_len = len > PATH_MAX + 1 ? PATH_MAX + 1 : len;
	r.iov_base = (void *)(uintptr_t)P.arg_lo;
	r.iov_len = l.iov_len;
	n = retro_sys6(SYS_process_vm_readv, P.pid, (long)&l, 1, (long)&r, 1,
		       0);
	if (n != (long)l.iov_len)
		return -1;
	if (len == l.iov_len) {
		last = buf[len - 1];
	} else {
		l.iov_base = &last;
		l.iov_len = 1;
		r.iov_base = (void *)(uintptr_t)(P.arg_hi - 1);
		r.iov_len = 1;
		if (retro_sys6(SYS_process_vm_readv, P.pid, (long)&l, 1,
			       (long)&r, 1, 0) != 1)
			return -1;
	}
	if (last != 0)
		return -1;
	if (n > PATH_MAX) {
		n = PATH_MAX;
		*cut = 1;
	}
	return n;
}

/* The program's path interned, from the module table or else from
 * /proc.  Apart from emit_start: its buffer is a page of stack that a
 * forked child or a new image need not touch (see segment_open). */
static __attribute__((noinline)) uint64_t intern_exe(struct retro_thread *t)
{
	char exe[PATH_MAX];
	long r;

	if (P.exe)
		return intern(t, P.exe, strlen(P.exe));
	r = retro_os_readlinkat(AT_FDCWD, "/proc/self/exe", exe,
				sizeof exe - 1);
	exe[r > 0 ? r : 0] = 0;
	return intern(t, exe, strlen(exe));
}

/* Emits the start of a process image: argv, exe and inherited fds.  A
 * new image's argv comes from its constructor's arguments, the bytes
 * /proc/self/cmdline holds then, up to ARGV_MAX, without the four system
 * calls of reading it; a forked child's from the memory they are in
 * (arg_copy; it may have rewritten them since), up to PATH_MAX.  arg[5]
 * says they were cut. */
static void emit_start(struct retro_thread *t, int scan_fds)
{
	char *args = t->scratch;
	char **av = NULL;
	long n, fd;
	int ac = 0, cut = 0;
	uint64_t exeid;
	struct retro_rec_action *a;

	n = 0;
	if (scan_fds && P.argv) {
		av = P.argv;
		P.argv = NULL;
		for (; ac < P.argc && av[ac]; ac++) {
			size_t k = strlen(av[ac]) + 1;
			if (k > ARGV_MAX - (size_t)n) {
				n = ARGV_MAX;
				cut = 1;
				break;
			}
			n += (long)k;
		}
	} else if ((n = arg_copy(args, &cut)) < 0) {
		n = 0;
		fd = retro_os_openat(AT_FDCWD, "/proc/self/cmdline",
				     O_RDONLY | O_CLOEXEC, 0);
		if (fd >= 0) {
			/* one byte more than is kept, to know it was cut */
			n = retro_os_read((int)fd, args, PATH_MAX + 1);
			if (n < 0)
				n = 0;
			if (n > PATH_MAX) {
				n = PATH_MAX;
				cut = 1;
			}
			retro_os.close((int)fd);
		}
	}
	/* Intern first: a rotation under a record being filled would take
	 * the record's segment away. */
	exeid = intern_exe(t);
	a = action_new(t, RC_start, (uint32_t)n, RETRO_MAXARGS, 0);
	if (a) {
		uint64_t *arg = retro_rec_args(a);
		char *d = (char *)retro_rec_data(a);
		a->start = a->end = now();
		arg[0] = exeid;
		arg[1] = P.parent;
		arg[2] = (uint64_t)P.pid;
		arg[3] = (uint64_t)retro_sys0(SYS_getppid);
		arg[4] = P.image;
		arg[5] = (uint64_t)cut;
		a->obj = exeid;
		if (av) {
			size_t o = 0;
			for (int i = 0; i <= ac && i < P.argc && av[i] &&
					o < (size_t)n; i++) {
				size_t k = strlen(av[i]) + 1;
				if (k > (size_t)n - o)
					k = (size_t)n - o;
				memcpy(d + o, av[i], k);
				o += k;
			}
		} else {
			memcpy(d, args, (size_t)n);
		}
		a->datalen = (uint32_t)n;
		a->flags |= RA_DATA;
		action_done(a);
	}
	emit_image(t);
	if (scan_fds) {
		/* Learn the descriptors this image inherited (a few, most
		 * often: 1 KiB of entries a read). */
		char dents[1024];
		fd = retro_os_openat(AT_FDCWD, "/proc/self/fd",
				     O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
		if (fd < 0)
			return;
		while ((n = retro_os_getdents64((int)fd, dents, sizeof dents)) > 0) {
			for (long o = 0; o < n;) {
				struct { uint64_t ino; int64_t off;
					 unsigned short reclen;
					 unsigned char type; char name[]; } *de =
					(void *)(dents + o);
				o += de->reclen;
				if (de->name[0] < '0' || de->name[0] > '9')
					continue;
				int f = atoi(de->name);
				if (f == fd)
					continue;
				retro_fd_forget(f);
				fd_obj(t, f);
			}
		}
		retro_os.close((int)fd);
	}
	for (int f = 0; P.fds && f < P.fd_top; f++) {
		struct fdent *e = &P.fds[f];
		if (!(e->flags & FE_KNOWN))
			continue;
		if (emit_event(t, RC_fdinfo, (uint64_t)f, e->path, e->path))
			return;
		if (f > 4096)
			break;
	}
}

static void env_strip(const struct handoff *h)
{
	/* Put the environment back as the program's parent gave it. */
	if (h->injected & 1)
		unsetenv("LD_PRELOAD");
	if (h->injected & 2)
		unsetenv("RETRO_STORE");
	if (h->injected & 4)
		setenv("LD_PRELOAD", h->preload, 1);
}

/* What the image before this exec knew (handoff_take), taken into P
 * without asking /proc again: 1, and its TSC rate in *tsc_mult, or 0.
 * Apart from retro_init: the handoff is a page of stack that the rest of
 * the start need not go below. */
static __attribute__((noinline)) int handoff_adopt(uint64_t *tsc_mult)
{
	struct handoff h;

	if (!handoff_take(&h))
		return 0;
	P.proc = h.proc;
	P.image = h.image;
	P.parent = h.parent;
	P.nthreads = h.nthreads;
	P.starttime = h.starttime;
	memcpy(P.boot_id, h.boot_id, sizeof P.boot_id);
	*tsc_mult = h.tsc_mult;
	env_strip(&h);
	return 1;
}

static int env_flag(const char *name, int dflt)
{
	const char *v = getenv(name);

	if (!v || !*v)
		return dflt;
	return !(v[0] == '0' || v[0] == 'n' || v[0] == 'N');
}

static void sysmap_init(void);

/* flush_stdio's functions, looked up by a process's first fork
 * (retro_fork_prepare).  Called through the PLT, each would be bound
 * lazily at the first exit, which in a forked child is every child's
 * first: three symbol lookups in each bash subshell, through the symbol
 * tables of every library loaded, pages its parent never read (the
 * loader's lookups were 1.2% of the samples of bash in ten recorded
 * libtool runs). */
static struct {
	int (*trylock)(FILE *);
	int (*flush)(FILE *);
	void (*unlock)(FILE *);
} stdio_fns;

/* Before a fork: map the shared map here, where every child finds it
 * mapped and takes its process id from it, rather than open, allocate
 * and map it again in each child (next_proc_id).  A shell that forks a
 * thousand subshells maps it once. */
void retro_fork_prepare(void)
{
	if (!stdio_fns.unlock) {
		*(void **)&stdio_fns.trylock = dlsym(RTLD_NEXT, "ftrylockfile");
		*(void **)&stdio_fns.flush = dlsym(RTLD_NEXT, "fflush_unlocked");
		*(void **)&stdio_fns.unlock = dlsym(RTLD_NEXT, "funlockfile");
	}
	if (P.state == PS_ON) {
		shared_map();
		ssc_map();
		retro_os_tick_ns(); /* for the child's start time */
		/* no thread inside libunwind (unw_enter); 100,000 yields at
		 * most, should one never come out.  A process that never
		 * made a thread has none to wait for, and then writes no
		 * flag: a write after the fork, while the child shares the
		 * page, is a copy of it (retro_fork_parent). */
		if (retro_alone())
			return;
		__atomic_store_n(&unw_forking, 1, __ATOMIC_SEQ_CST);
		for (long i = 0; i < 100000 &&
				 __atomic_load_n(&unw_busy, __ATOMIC_SEQ_CST);
		     i++)
			retro_sys0(SYS_sched_yield);
	}
}

void retro_fork_parent(void)
{
	if (__atomic_load_n(&unw_forking, __ATOMIC_RELAXED))
		__atomic_store_n(&unw_forking, 0, __ATOMIC_RELEASE);
}

static void atfork_parent(void)
{
	retro_fork_parent();
	retro_shep_forked_parent();
}

static void atfork_child(void)
{
	retro_fork_child();
}

void retro_init_args(int argc, char **argv)
{
	P.argc = argc;
	P.argv = argv;
	/* exec lays the strings out one after another from arg_start to
	 * arg_end; if these are not so (another library's constructor moved
	 * them), forked children ask /proc.  (With the loader run by hand,
	 * argv starts after its own arguments: a child then keeps what its
	 * image's start record keeps, without them.) */
	if (argc > 0 && argv && argv[0]) {
		char *end = argv[0];
		int i;
		for (i = 0; i < argc && argv[i] == end; i++)
			end += strlen(end) + 1;
		if (i == argc) {
			P.arg_lo = (uint64_t)(uintptr_t)argv[0];
			P.arg_hi = (uint64_t)(uintptr_t)end;
		}
	}
	retro_init();
}

/* The program's identity for retro_rewrite_preload: its build-id, or its
 * path. */
static uint64_t prog_key(void)
{
	for (int i = 0; i < P.nmods; i++) {
		const struct module *m = &P.mods[i];
		if (!P.exe || m->path != P.exe)
			continue;
		if (m->build_id_len)
			return retro_hash64(m->build_id, m->build_id_len);
		return retro_hash64(m->path, m->pathlen);
	}
	return P.exe ? retro_hash64(P.exe, strlen(P.exe)) : 0;
}

void retro_init(void)
{
	char why[512];
	const char *s;
	uint64_t tsc_mult = 0;
	int have_h, r;
	struct retro_thread *t;
	Dl_info dli;

	int off = PS_OFF;

	/* Once: the constructor and a first call from another library's
	 * constructor may both come here. */
	if (!__atomic_compare_exchange_n(&P.state, &off, PS_INIT, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	if (env_flag("RETRO_DISABLE", 0))
		goto out_disable;
	/* glibc draws the key of malloc's thread caches with a getrandom
	 * at the process's first malloc.  Made here, before the trap layer is
	 * armed: otherwise whether the program's first malloc makes that
	 * call would depend on whether the shim allocated first (libunwind,
	 * dlopen), and a replay would diverge on it. */
	{
		void *volatile p = malloc(1);
		free(p);
	}
	/* before the store is opened or made: its calls are lib/'s too */
	if (retro_fault_setup(getenv("RETRO_FAULT")))
		warn("ignoring malformed RETRO_FAULT", getenv("RETRO_FAULT"), 0);
	/* the vDSO's own entry, without the C library's wrapper around it */
	{
		void *vdso = dlopen("linux-vdso.so.1", RTLD_LAZY | RTLD_NOLOAD);
		if (vdso)
			real_clock_gettime = dlsym(vdso, "__vdso_clock_gettime");
		if (!real_clock_gettime)
			real_clock_gettime = retro_real("clock_gettime", NULL);
	}
	s = getenv("RETRO_STORE");
	if (s && *s) {
		if (s[0] != '/') {
			refresh_cwd();
			size_t n = cpy(P.store, sizeof P.store, 0, P.cwd, P.cwdlen);
			n = cpy(P.store, sizeof P.store, n, "/", 1);
			cpy(P.store, sizeof P.store, n, s, strlen(s));
		} else {
			cpy(P.store, sizeof P.store, 0, s, strlen(s));
		}
	} else if (retro_default_store(P.store, sizeof P.store)) {
		warn("not recording: no store (set RETRO_STORE or HOME)", NULL,
		     0);
		goto out_disable;
	}
	r = retro_store_prepare(P.store, why, sizeof why);
	if (r) {
		warn("not recording", why, 0);
		goto out_disable;
	}
	{
		struct stat sst;
		if (retro_os_fstatat(AT_FDCWD, P.store, &sst, 0) == 0) {
			P.store_dev = sst.st_dev;
			P.store_ino = sst.st_ino;
		}
	}
	if (retro_spool_dir(P.store, P.spool, sizeof P.spool)) {
		warn("not recording: no spool directory in", P.store, 0);
		goto out_disable;
	}
	if (dladdr((void *)&retro_init, &dli) && dli.dli_fname)
		cpy(P.self, sizeof P.self, 0, dli.dli_fname,
		    strlen(dli.dli_fname));
	P.segsize = RETRO_SEG_DEFAULT;
	if ((s = getenv("RETRO_SPOOL_SIZE")) && atol(s) >= 65536) {
		P.segsize = ((size_t)atol(s) + 4095) & ~4095ul;
		P.segfixed = 1;
	}
	P.preimage_max = 64u << 20;
	if ((s = getenv("RETRO_PREIMAGE_MAX")))
		P.preimage_max = (size_t)atoll(s);
	P.time_reads = env_flag("RETRO_TIME_READS", 0);
	call_info_init();
	P.follow = env_flag("RETRO_FOLLOW", 1);
	P.import_at_exit = env_flag("RETRO_IMPORT", 1);
	P.pid = (int32_t)retro_sys0(SYS_getpid);
	refresh_cwd();
	{
		long m = retro_os.mmap(NULL, NFDS * sizeof(struct fdent),
				       PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				       -1, 0);
		P.fds = m < 0 ? NULL : (void *)m;
	}
	have_h = handoff_adopt(&tsc_mult);
	if (!have_h) {
		P.starttime = read_starttime();
		read_boot_id(P.boot_id);
		P.proc = next_proc_id();
		if (!P.proc) {
			warn("not recording: cannot allocate a process id in",
			     P.store, 0);
			goto out_disable;
		}
	}
	dl_iterate_phdr(module_cb, NULL);
	pthread_key_create(&P.key, thread_end);
	pthread_atfork(retro_fork_prepare, atfork_parent, atfork_child);
	sysmap_init();
	retro_trap_debug(env_flag("RETRO_TRAP_DEBUG", 0));
	P.want_trap = env_flag("RETRO_TRAP", 1);
	P.fast = env_flag("RETRO_FAST", 1);
	P.fast_debug = env_flag("RETRO_FAST_DEBUG", 0);
	P.off_on = P.want_trap && env_flag("RETRO_OFFSET_CACHE", 1);
	if ((s = getenv("RETRO_OFFSET_CHECK")))
		P.off_check = atoi(s);
	tsc_init(env_flag("RETRO_TSC", 1), tsc_mult);
	tsc_adopt(tsc_mult);
	if (P.want_trap && (!P.self_hi ||
			    retro_trap_setup(P.self_lo, P.self_hi))) {
		warn("the trap layer is not available; recording calls through "
		     "libc's exported symbols only", NULL, 0);
		P.trap_err = ENOSYS;
		P.off_on = 0;
	} else if (P.want_trap) {
		retro_rewrite_preload(P.spool, prog_key());
	}
	retro_shep_init();
	/* Before the first thread arms the trap layer: libunwind's set-up
	 * makes a dozen system calls through libc (mmap, a pipe, mincore),
	 * each a SIGSYS once armed.  The shim's interposers pass them
	 * through while the state is PS_INIT.  Unless chains noted by
	 * earlier processes of this program may spare it: then at the
	 * first unwind (unwind_late).  What asks the loader is done now. */
	retro_got_patch((void *)&unw_init_local, "sigprocmask",
			(void *)unw_sigprocmask);
	unwind_find();
	lst_debug = env_flag("RETRO_STACK_DEBUG", 0);
	lstack_load(prog_key());
	if (nlst)
		unw_late = 1;
	else
		unwind_init();
	P.state = PS_ON;
	t = thread_new();
	if (!t)
		return;
	t->guard = 1;
	emit_start(t, 1);
	unguard(t);
	return;
out_disable:
	P.state = PS_DISABLED;
}

void retro_thread_begin(void)
{
	int e = errno;

	if (P.state == PS_ON && !tself)
		thread_new();
	errno = e;
}

int retro_recording(void)
{
	return P.state == PS_ON;
}

void retro_fork_child(void)
{
	struct retro_thread *t = tself;

	/* every way a child comes: libc's fork, and a fork or clone the
	 * trap layer caught (ready() in shepherd.c counts on it) */
	if (P.shep_on)
		retro_shep_forked();
	retro_rewrite_atfork();
	/* the threads that were inside are not here (written only when
	 * set: a page the child need not copy) */
	if (unw_busy)
		unw_busy = 0;
	if (unw_forking)
		unw_forking = 0;
	if (P.state != PS_ON)
		return;
	retro_off_forget_all(); /* every description shared with the parent */
	if (lst_debug) /* (lst_fresh: see lstack_note) */
		lst_hits = lst_unwound = 0;
	P.parent = P.proc;
	P.pid = (int32_t)retro_sys0(SYS_getpid);
	P.starttime = retro_os_starttime_now();
	P.image = 0;
	P.nthreads = 0;
	P.have_exit_status = 0;
	P.inode_salt += 0x9E3779B97F4A7C15ull; /* inode_claim */
	P.proc = next_proc_id();
	if (!P.proc || !t) {
		P.state = PS_DISABLED;
		return;
	}
	/* The parent's segment is the parent's: drop it without sealing. */
	if (t->seg)
		retro_os.munmap(t->seg, t->segsize);
	for (int i = 0; i < t->nretired; i++)
		retro_os.munmap(t->retired[i].seg, t->retired[i].size);
	t->nretired = 0;
	kept_drop(t);
	t->seg = NULL;
	t->depth = 0;
	t->segno = 0;
	t->seq = 0;
	t->timereads = 0;
	t->lost = 0;
	t->index = __atomic_add_fetch(&P.nthreads, 1, __ATOMIC_RELAXED);
	t->tid = (int32_t)retro_sys0(SYS_gettid);
	t->guard = 1;
	if (P.want_trap)
		trap_arm(t); /* fork drops Syscall User Dispatch */
	{
		int r = segment_open(t, 0);
		if (r == 0) {
			segment_ready(t);
			emit_start(t, 0);
		} else {
			mark_loss(t, r);
		}
	}
	unguard(t);
}

/* Completes envp so that the next program records too: LD_PRELOAD names
 * the shim and RETRO_STORE the store.  Returns envp itself when nothing is
 * missing, else an array in its own mapping (see env_free).  h, if not
 * NULL, learns what was added so that the next image can take it out. */
static char *const *env_complete(char *const *envp, struct handoff *h)
{
	int has_preload = 0, has_store = 0, n = 0, k = 0;
	const char *old_preload = NULL;
	size_t need, o;
	char **v, *str;
	long r;

	for (; envp && envp[n]; n++) {
		if (strncmp(envp[n], "LD_PRELOAD=", 11) == 0) {
			old_preload = envp[n] + 11;
			has_preload = strstr(old_preload, P.self) != NULL;
		} else if (strncmp(envp[n], "RETRO_STORE=", 12) == 0) {
			has_store = 1;
		}
	}
	if (!P.follow || !P.self[0] || (has_preload && has_store))
		return envp;
	need = 16 + (size_t)(n + 3) * sizeof(char *) + 3 * PATH_MAX + 64 +
	       (old_preload ? strlen(old_preload) : 0);
	r = retro_os.mmap(NULL, need, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r < 0)
		return envp;
	*(size_t *)r = need;
	v = (char **)(r + 16);
	str = (char *)(v + n + 3);
	for (int i = 0; i < n; i++)
		if (has_preload || strncmp(envp[i], "LD_PRELOAD=", 11) != 0)
			v[k++] = envp[i];
	if (!has_preload) {
		size_t cap = PATH_MAX * 2 + (old_preload ? strlen(old_preload) : 0);
		o = cpy(str, cap, 0, "LD_PRELOAD=", 11);
		o = cpy(str, cap, o, P.self, strlen(P.self));
		if (old_preload) {
			o = cpy(str, cap, o, " ", 1);
			o = cpy(str, cap, o, old_preload, strlen(old_preload));
			if (h) {
				cpy(h->preload, sizeof h->preload, 0, old_preload,
				    strlen(old_preload));
				h->injected |= 4;
			}
		} else if (h) {
			h->injected |= 1;
		}
		v[k++] = str;
		str += o + 1;
	}
	if (!has_store) {
		o = cpy(str, PATH_MAX + 16, 0, "RETRO_STORE=", 12);
		cpy(str, PATH_MAX + 16, o, P.store, strlen(P.store));
		v[k++] = str;
		if (h)
			h->injected |= 2;
	}
	v[k] = NULL;
	return v;
}

static int env_has_shim(char *const *env)
{
	for (int i = 0; env && env[i]; i++)
		if (strncmp(env[i], "LD_PRELOAD=", 11) == 0)
			return strstr(env[i] + 11, P.self) != NULL;
	return 0;
}

static void env_free(char *const *env, char *const *envp)
{
	char *base;

	if (!env || env == envp)
		return;
	base = (char *)env - 16;
	retro_os.munmap(base, *(size_t *)base);
}

char *const *retro_spawn_env(char *const *envp)
{
	struct retro_thread *t = tself;
	char *const *env;

	if (P.state != PS_ON || !t)
		return envp;
	t->guard = 1;
	env = env_complete(envp, NULL);
	unguard(t);
	return env;
}

void retro_spawn_env_free(char *const *env, char *const *envp)
{
	env_free(env, envp);
}

/* What retro cannot follow into: a statically linked program (no
 * PT_INTERP: the loader that would preload the shim never runs) or a
 * setuid/setgid one (the loader ignores LD_PRELOAD).  Said in the store. */
void retro_unsupported(int what, const char *path)
{
	struct retro_thread *t = tself;
	uint64_t id;
	int e = errno;

	retro_off_disable(); /* io_uring's I/O moves offsets unseen */
	if (P.state != PS_ON || !t)
		return;
	t->guard = 1;
	id = path ? intern(t, path, strlen(path)) : 0;
	emit_event(t, RC_unsupported, (uint64_t)what, id, id);
	unguard(t);
	errno = e;
}

static void exec_check(const char *path)
{
	Elf64_Ehdr eh;
	Elf64_Phdr phs[64], *ph = phs;
	struct stat st;
	long fd;
	int interp = 0;

	if (!path || retro_os_fstatat(AT_FDCWD, path, &st, 0) < 0)
		return;
	if (retro_os_setid_exec(path, &st)) {
		retro_unsupported(3, path);
		return;
	}
	fd = retro_os_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (retro_os_pread((int)fd, &eh, sizeof eh, 0) == (long)sizeof eh &&
	    !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
	    eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof *ph &&
	    eh.e_phnum > 0 && eh.e_phnum <= 64) {
		/* the whole program header table in one read */
		long n = retro_os_pread((int)fd, phs,
					(size_t)eh.e_phnum * sizeof *ph,
					(off_t)eh.e_phoff);
		for (long i = 0; i < n / (long)sizeof *ph; i++)
			interp |= phs[i].p_type == PT_INTERP;
		if (n == (long)(eh.e_phnum * sizeof *ph) && !interp)
			retro_unsupported(2, path);
	}
	retro_os.close((int)fd);
}

void retro_exec_target(const char *file, int search)
{
	char buf[PATH_MAX];
	const char *p, *e;

	if (P.state != PS_ON || !file)
		return;
	if (!search || strchr(file, '/')) {
		exec_check(file);
		return;
	}
	/* execvp: the first match on PATH, as the C library looks */
	p = getenv("PATH");
	if (!p)
		p = "/bin:/usr/bin";
	for (; *p; p = *e ? e + 1 : e) {
		struct stat st;
		size_t n;
		e = strchr(p, ':');
		if (!e)
			e = p + strlen(p);
		n = (size_t)(e - p);
		if (n + strlen(file) + 2 > sizeof buf)
			continue;
		memcpy(buf, n ? p : ".", n ? n : 1);
		n = n ? n : 1;
		buf[n] = '/';
		strcpy(buf + n + 1, file);
		if (retro_os_fstatat(AT_FDCWD, buf, &st, 0) == 0 &&
		    S_ISREG(st.st_mode)) {
			exec_check(buf);
			return;
		}
	}
}

char *const *retro_exec_prepare(char *const *envp)
{
	struct retro_thread *t = tself;
	struct handoff h;
	char path[HANDOFF_PATH];
	char *const *env;
	long fd;

	if (P.state != PS_ON || !t)
		return envp;
	t->guard = 1;
	retro_rewrite_flush(P.spool);
	lstack_flush();
	memset(&h, 0, HANDOFF_HEAD);
	h.preload[0] = 0;
	memcpy(h.magic, "RETROEXE", 8);
	h.proc = P.proc;
	h.image = P.image + 1;
	h.parent = P.parent;
	h.pid = P.pid;
	h.nthreads = P.nthreads;
	/* a process too young to have measured the rate passes on the one
	 * another process left in the store, sparing the next image the
	 * question whether the TSC may be used */
	h.tsc_mult = __atomic_load_n(&TC.mult, __ATOMIC_RELAXED);
	if (TC.on && !h.tsc_mult)
		h.tsc_mult = tsc_shared_rate();
	h.starttime = P.starttime;
	memcpy(h.boot_id, P.boot_id, sizeof h.boot_id);
	env = env_complete(envp, &h);
	if (!env_has_shim(env)) {
		/* The next program will not record: no handoff to leave. */
		unguard(t);
		return env;
	}
	handoff_path(path, P.pid);
	fd = spool_create(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC);
	if (fd >= 0) {
		retro_os_write((int)fd, &h,
			       HANDOFF_HEAD + strlen(h.preload) + 1);
		retro_os.close((int)fd);
	}
	emit_counts(t);
	unguard(t);
	return env;
}

void retro_exec_failed(char *const *newenv, char *const *envp)
{
	char path[HANDOFF_PATH];

	if (P.state != PS_ON)
		return;
	handoff_path(path, P.pid);
	retro_os_unlinkat(AT_FDCWD, path, 0);
	env_free(newenv, envp);
}

void retro_clock_stepped(void)
{
	struct retro_thread *t = tself;
	int e = errno;

	if (P.state == PS_ON && t && !t->guard) {
		t->guard = 1;
		emit_clock(t);
		unguard(t);
	}
	errno = e;
}

void retro_exiting(int status)
{
	P.exit_status = status;
	P.have_exit_status = 1;
}

/* glibc's list of open streams (exported, as libio's own code uses it). */
extern FILE *_IO_list_all;

/* Flushes every stdio stream, as exit will, but never waits for one: a
 * stream another thread holds locked (one blocked in fgets on stdin) is
 * left to exit, which flushes without locking. */
static void flush_stdio(void)
{
	int (*trylock)(FILE *) = stdio_fns.trylock ? stdio_fns.trylock
						   : ftrylockfile;
	int (*flush)(FILE *) = stdio_fns.flush ? stdio_fns.flush
					       : fflush_unlocked;
	void (*unlock)(FILE *) = stdio_fns.unlock ? stdio_fns.unlock
						  : funlockfile;

	for (FILE *f = _IO_list_all; f; f = f->_chain)
		if (trylock(f) == 0) {
			flush(f);
			unlock(f);
		}
}

/* Has the store directory been deleted (or another made in its place)
 * since this process started?  0, or the errno that says how. */
static int store_gone(void)
{
	struct stat st;
	char f[strlen(P.store) + sizeof "/FORMAT"];
	long r;

	if (!P.store_ino)
		return 0;
	r = retro_os_fstatat(AT_FDCWD, P.store, &st, 0);
	if (r < 0)
		return (int)-r;
	if (st.st_dev != P.store_dev || st.st_ino != P.store_ino)
		return ESTALE;
	cpy(f, sizeof f, cpy(f, sizeof f, 0, P.store, strlen(P.store)),
	    "/FORMAT", 7);
	r = retro_os_fstatat(AT_FDCWD, f, &st, 0);
	return r < 0 ? (int)-r : 0;
}

void retro_fini(int flush)
{
	struct retro_thread *t = tself;
	struct retro_store *st;
	char why[256];

	if (P.state != PS_ON)
		return;
	if (t && !t->guard && retro_maps_active())
		retro_map_flush(NULL, (void *)0, UINTPTR_MAX, 0);
	/* What stdio still buffers is written by exit after every
	 * destructor, ours included: write it now, while it is recorded.
	 * The bytes and their order in each stream are the same.  Not
	 * after _exit, which leaves them unwritten (a forked child's copy of
	 * its parent's buffer). */
	if (flush && t && !t->guard)
		flush_stdio();
	if (t && !t->guard) {
		uint64_t mask;
		int gone;
		retro_shep_hello(t->index);
		quiesce(t, &mask);
		t->guard = 1;
		retro_rewrite_flush(P.spool);
		lstack_flush();
		gone = store_gone();
		if (gone)
			emit_event(t, RC_storegone, (uint64_t)gone, 0, 0);
		emit_event(t, RC_end,
			   P.have_exit_status ? (uint64_t)(uint32_t)P.exit_status |
							(1ull << 32)
					      : 0,
			   0, 0);
		thread_close(t);
		t->guard = 1;
		retro_selector = 0;
		if (gone) {
			/* made again around our spool, which a later import
			 * then finds even when we do not import */
			retro_store_adopt_spool(P.spool);
			if (retro_store_prepare(P.store, why, sizeof why))
				warn("the store was deleted and cannot be made "
				     "again; the recording stays in",
				     P.spool, 0);
		}
		/* sealed above: a recorder holding the importer's lock
		 * imports them (store_int.h) */
		if (P.import_at_exit && (gone || !retro_importer_present(P.store)) &&
		    retro_store_open(P.store, 0, &st, why, sizeof why) == 0) {
			retro_import_self_image = P.image;
			retro_import_dirs(st, gone ? P.spool : NULL, P.proc, 0,
					  NULL);
			retro_store_close(st);
		}
		/* Calls after this (other libraries' destructors) go to a new
		 * segment that a later import picks up once we are gone. */
		unguard(t);
		tself = NULL;
		retro_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &mask, NULL, 8);
	}
}
