/* Lazy rewriting of trapped system call sites (see recorder.h).
 *
 * A call the trap layer catches costs a SIGSYS: about 2 us, against some
 * 150 ns for a call the interposers record.  Most system calls in glibc
 * are made as `mov $NR,%eax; syscall` (436 of its 526 sites), and stdio's
 * writes, directory reads and the like go through them; some more have a
 * few register moves between the two (find_mov, mid_len: the internal
 * openat that opendir uses).  The fourth time such a site traps
 * (SITE_HOT), its 5-byte mov is replaced by a `jmp` to a trampoline of
 * its own, near it (glibc's read, whose number is loaded by a 2-byte xor,
 * has its cmpb taken instead: find_read_fast):
 *
 *     MID                       the moves between mov and syscall, if any
 *     lea -128(%rsp),%rsp       the red zone stays the program's
 *     mov $NR,%eax
 *     call *retro_fastsys       the stub below, in our text
 *     lea 128(%rsp),%rsp
 *     jmp AFTER                 after the syscall instruction
 *     .quad AFTER               for the stub: the call site
 *
 * The syscall instruction itself stays: code that jumps to it directly
 * (a loop around the call) still traps, and is still recorded.  The stub
 * keeps every register the kernel would (all but rax, rcx and r11) and
 * the flags.  A call it can make as it is, it makes from its own
 * syscall instruction, in our text: one reached from inside an
 * interposer (an fstat the shim passes on to libc), one that
 * retro_trapped would only perform (an ioctl, an mmap: retro_trap_pass),
 * and an rt_sigprocmask that leaves SIGSYS alone.  An xsave and an
 * xrstor of the AVX-512 state cost ~140 ns here, a trip through
 * retro_fastsys_c as much again: a recorded python3 loop creating small
 * files made two such calls a file (isatty's ioctl, the shim's fstat),
 * bash some fifteen rt_sigprocmask a process.  For the rest it
 * also saves the whole extended state (xsave) and calls retro_fastsys_c,
 * which records the call as the SIGSYS handler would (retro_trapped)
 * with a ucontext made from the saved registers, so the call site
 * unwinds the same way.
 *
 * The 5 bytes are written with one atomic store, so another thread runs
 * either the old instruction or the new one, when they lie in one aligned
 * 16-byte block (three sites in four).  Else they are written plainly,
 * with every signal blocked, but only while the process has one thread
 * (alone()); with more, the site keeps trapping.  Only the mov's bytes
 * change: code that jumps to an instruction after it runs the original
 * ones.  Only sites in the C library and the dynamic loader are
 * rewritten, only for calls the handler treats plainly
 * (retro_trap_plain) and for rt_sigprocmask and rt_sigaction, which the
 * stub emulates as the handler does (retro_trap_sigcall: the mask is the
 * thread's own then, not the one the handler's return restores), and
 * only when the byte before the mov is not a prefix that would make it
 * another instruction.  RETRO_REWRITE=0 turns
 * it off. */
#include "config.h"
#include "recorder.h"
#include "os.h"
#include "spool.h"
#include "sys.h"

#include <cpuid.h>
#include <sys/auxv.h>
#include <sys/platform/x86.h>
#include <sys/single_threaded.h>
#include <linux/futex.h>
#include <time.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>

#ifndef SYSCALL_DISPATCH_FILTER_ALLOW
#define SYSCALL_DISPATCH_FILTER_ALLOW 0
#endif

/* What the stub saved, lowest address first. */
struct fastsys_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rdi, rsi, rdx, rcx,
		rbx, rax, rbp, rflags, ret;
};

long retro_fastsys_c(struct fastsys_frame *f)
	__attribute__((visibility("hidden")));
uint64_t retro_xsave_size __attribute__((visibility("hidden")));
extern void retro_fastsys(void) __attribute__((visibility("hidden")));

#define XSTR(x) STR(x)
#define STR(x) #x
#define SIGSYS_BIT_NO 30 /* SIGSYS - 1 */
_Static_assert(SIGSYS - 1 == SIGSYS_BIT_NO, "SIGSYS's bit in a mask");
_Static_assert(SIG_UNBLOCK == 1 && SYS_rt_sigprocmask == 14,
	       "numbers written out for the stub below");

/* Entered by `call` from a trampoline, 128 bytes below the program's
 * stack pointer, with eax = NR and the arguments in rdi, rsi, rdx, r10,
 * r8, r9.  Returns the kernel's result in rax. */
__asm__(".text\n"
	".globl retro_fastsys\n"
	".hidden retro_fastsys\n"
	".type retro_fastsys,@function\n"
	"retro_fastsys:\n"
	"\tpushfq\n"
	"\tpushq %rbp\n"
	"\tmovq %rsp, %rbp\n"
	"\tpushq %rax\n"
	"\tpushq %rbx\n"
	"\tpushq %rcx\n"
	"\tpushq %rdx\n"
	"\tpushq %rsi\n"
	"\tpushq %rdi\n"
	"\tpushq %r8\n"
	"\tpushq %r9\n"
	"\tpushq %r10\n"
	"\tpushq %r11\n"
	"\tpushq %r12\n"
	"\tpushq %r13\n"
	"\tpushq %r14\n"
	"\tpushq %r15\n"
	"\tcld\n"
	/* The light cases, with nothing but the registers saved: a site
	 * reached inside an interposer (selector ALLOW), a call that
	 * retro_trapped would only perform (retro_trap_pass), and an
	 * rt_sigprocmask that the emulation would pass on as it is. */
	"\tmovq retro_selector@gottpoff(%rip), %rcx\n"
	"\tcmpb $0, %fs:(%rcx)\n"
	"\tje 2f\n"
	"\tcmpq $" XSTR(RETRO_TRAP_NPASS) ", %rax\n"
	"\tjae 4f\n"
	"\tleaq retro_trap_pass(%rip), %rcx\n"
	"\tcmpb $0, (%rcx,%rax)\n"
	"\tjne 2f\n"
	"\tcmpq $" XSTR(SYS_rt_sigprocmask) ", %rax\n"
	"\tjne 4f\n"
	/* rt_sigprocmask (emu_sigprocmask): the same as the kernel's own
	 * unless the program has SIGSYS blocked in its own eyes, or asks
	 * to block it; the mask it is given back never shows SIGSYS */
	"\tmovq retro_prog_sigsys_blocked@gottpoff(%rip), %rcx\n"
	"\tcmpl $0, %fs:(%rcx)\n"
	"\tjne 4f\n"
	"\tcmpq $8, %r10\n"
	"\tjne 4f\n"
	"\ttestq %rsi, %rsi\n"
	"\tjz 3f\n"
	"\tcmpq $" XSTR(SIG_UNBLOCK) ", %rdi\n"
	"\tje 3f\n"
	"\tbtq $" XSTR(SIGSYS_BIT_NO) ", (%rsi)\n"
	"\tjc 4f\n"
	"3:\n"
	"\tsyscall\n"
	"\tmovq %rax, -8(%rbp)\n"
	"\ttestq %rax, %rax\n"
	"\tjnz 5f\n"
	"\ttestq %rdx, %rdx\n"
	"\tjz 5f\n"
	"\tbtrq $" XSTR(SIGSYS_BIT_NO) ", (%rdx)\n"
	"\tjmp 5f\n"
	"2:\n"
	"\tsyscall\n"
	"\tmovq %rax, -8(%rbp)\n"
	"\tjmp 5f\n"
	/* the rest: into C, with the whole extended state saved */
	"4:\n"
	"\tsubq retro_xsave_size(%rip), %rsp\n"
	"\tandq $-64, %rsp\n"
	/* the xsave header must be zero before an xsave */
	"\tmovq $0, 512(%rsp)\n"
	"\tmovq $0, 520(%rsp)\n"
	"\tmovq $0, 528(%rsp)\n"
	"\tmovq $0, 536(%rsp)\n"
	"\tmovq $0, 544(%rsp)\n"
	"\tmovq $0, 552(%rsp)\n"
	"\tmovq $0, 560(%rsp)\n"
	"\tmovq $0, 568(%rsp)\n"
	"\tmovl $0xfff9ffff, %eax\n" /* not AMX's tile state */
	"\tmovl $-1, %edx\n"
	"\txsave64 (%rsp)\n"
	"\tmovq %rsp, %rbx\n"
	"\tleaq -112(%rbp), %rdi\n"
	"\tcall retro_fastsys_c\n"
	"\tmovq %rax, -8(%rbp)\n"
	"\tmovl $0xfff9ffff, %eax\n"
	"\tmovl $-1, %edx\n"
	"\txrstor64 (%rbx)\n"
	"5:\n"
	"\tleaq -112(%rbp), %rsp\n"
	"\tpopq %r15\n"
	"\tpopq %r14\n"
	"\tpopq %r13\n"
	"\tpopq %r12\n"
	"\tpopq %r11\n"
	"\tpopq %r10\n"
	"\tpopq %r9\n"
	"\tpopq %r8\n"
	"\tpopq %rdi\n"
	"\tpopq %rsi\n"
	"\tpopq %rdx\n"
	"\tpopq %rcx\n"
	"\tpopq %rbx\n"
	"\tpopq %rax\n"
	"\tpopq %rbp\n"
	"\tpopfq\n"
	"\tret\n"
	".size retro_fastsys, .-retro_fastsys\n");

#define TRAMP_MID 16  /* at most, copied from between the mov and syscall */
#define TRAMP_SIZE (48 + TRAMP_MID)
/* offsets from the code after the copied instructions: */
#define TRAMP_DATA 32 /* of the .quad AFTER */
#define TRAMP_RET 16  /* of the instruction after the call */
#define REGION (64 * 1024)

struct region {
	uint8_t *base; /* the first 8 bytes: &retro_fastsys */
	size_t used;
};

static struct region regions[32];
static int nregions;
static int lock;      /* the patcher's; taken with a trap held */
static int rewrite_on = -1;

/* A signal handler that traps while its own thread patches must not wait
 * for itself: the lock is only tried, by the thread that holds it.  Other
 * threads wait for it (a futex, 2 ms at a time, up to 16 ms): a holder
 * preempted on a busy machine kept a thread trapping at every call of a
 * site it was about to rewrite (500 traps in a test with four threads on
 * two CPUs).  A thread that still finds it taken just traps once more. */
static int holder; /* the tid of the thread that holds the lock */

static int try_lock(void)
{
	long me = 0;

	for (int tries = 0;; tries++) {
		if (!__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&holder,
					 (int)(me ? me : retro_sys0(SYS_gettid)),
					 __ATOMIC_RELAXED);
			return 1;
		}
		if (!me)
			me = retro_sys0(SYS_gettid);
		if (tries == 8 ||
		    __atomic_load_n(&holder, __ATOMIC_RELAXED) == (int)me)
			return 0;
		{
			/* until the holder lets go, 2 ms at most a time */
			struct timespec ts = { 0, 2000000 };
			retro_sys6(SYS_futex, (long)&lock, FUTEX_WAIT_PRIVATE, 1,
				   (long)&ts, 0, 0);
		}
	}
}

static int nfresh; /* sites learned here and not yet noted: see learn() */

void retro_rewrite_atfork(void)
{
	/* each written only when set: a page the child need not copy */
	if (holder)
		holder = 0;
	if (lock)
		lock = 0;
	if (nfresh)
		nfresh = 0; /* the parent notes them */
}

static void unlock(void)
{
	__atomic_store_n(&holder, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
	retro_sys3(SYS_futex, (long)&lock, FUTEX_WAKE_PRIVATE, 1 << 30);
}

static int within(uint64_t a, uint64_t b)
{
	int64_t d = (int64_t)(a - b);
	return d > -((int64_t)1 << 31) + REGION && d < ((int64_t)1 << 31) - REGION;
}

/* A trampoline slot within reach of site, or NULL. */
static uint8_t *tramp_alloc(uint64_t site)
{
	struct region *r;
	long p;

	for (int i = 0; i < nregions; i++) {
		r = &regions[i];
		if (within((uint64_t)r->base, site) &&
		    r->used + TRAMP_SIZE <= REGION) {
			r->used += TRAMP_SIZE;
			return r->base + r->used - TRAMP_SIZE;
		}
	}
	if (nregions == (int)(sizeof regions / sizeof *regions))
		return NULL;
	/* below the library, in steps of 16 MiB, up to 1 GiB away */
	for (uint64_t d = 16u << 20; d <= (1u << 30); d += 16u << 20) {
		uint64_t at = ((site - d) & ~(uint64_t)0xffff);
		p = retro_os.mmap((void *)at, REGION, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS |
					  MAP_FIXED_NOREPLACE,
				  -1, 0);
		if (p < 0)
			continue;
		if ((uint64_t)p != at || !within((uint64_t)p, site)) {
			retro_os.munmap((void *)p, REGION);
			continue;
		}
		r = &regions[nregions++];
		r->base = (uint8_t *)p;
		*(uint64_t *)r->base = (uint64_t)(uintptr_t)retro_fastsys;
		r->used = 64 + TRAMP_SIZE;
		return r->base + 64;
	}
	return NULL;
}

static void put32(uint8_t *p, int32_t v)
{
	memcpy(p, &v, 4);
}

/* One locked 16-byte compare-and-exchange (the block is 16-aligned). */
static int cas16(void *p, const uint64_t old[2], const uint64_t new[2])
{
	uint64_t lo = old[0], hi = old[1];
	char ok;

	__asm__ volatile("lock cmpxchg16b %1\n\tsete %0"
			 : "=q"(ok), "+m"(*(volatile uint64_t(*)[2])p), "+a"(lo),
			   "+d"(hi)
			 : "b"(new[0]), "c"(new[1])
			 : "memory", "cc");
	return ok;
}

/* The trampoline for the site whose mov is at mov: see the top. */
static void tramp_fill(uint8_t *t, const uint8_t *base, uint64_t after,
		       uint32_t nr, const uint8_t *mid, size_t k)
{
	static const uint8_t code[48] = {
		0x48, 0x8d, 0x64, 0x24, 0x80,		   /* lea -128(%rsp) */
		0xb8, 0, 0, 0, 0,			   /* mov $NR,%eax */
		0xff, 0x15, 0, 0, 0, 0,			   /* call *(rip) */
		0x48, 0x8d, 0xa4, 0x24, 0x80, 0, 0, 0,	   /* lea 128(%rsp) */
		0xe9, 0, 0, 0, 0,			   /* jmp SITE+7 */
		0x0f, 0x0b, 0x90,			   /* ud2; nop */
	};

	/* the instructions between the mov and the syscall first: they
	 * neither read nor write eax (mid_len) */
	memcpy(t, mid, k);
	t += k;
	memcpy(t, code, sizeof code);
	memcpy(t + 6, &nr, 4);
	put32(t + 12, (int32_t)((int64_t)(uintptr_t)base -
				(int64_t)(uintptr_t)(t + TRAMP_RET)));
	put32(t + 25, (int32_t)((int64_t)after - (int64_t)(uintptr_t)(t + 29)));
	memcpy(t + TRAMP_DATA, &after, 8);
}

/* The length of the instruction at p when it is one that may be copied
 * into a trampoline from between a site's `mov $NR,%eax` and its
 * `syscall`: a move or xor between registers, or an immediate into one,
 * none of them eax or rax (the mov's), nothing that reads memory, jumps
 * or depends on where it lies.  Else 0. */
static size_t mid_len(const uint8_t *p)
{
	uint8_t rex = 0;
	size_t n = 0;

	if ((p[0] & 0xf0) == 0x40) {
		rex = p[0];
		n = 1;
	}
	switch (p[n]) {
	case 0x89: /* mov r, r/m */
	case 0x31: /* xor r, r/m */
	case 0x8b: /* mov r/m, r */
	case 0x33: { /* xor r/m, r */
		uint8_t modrm = p[n + 1];
		int reg = ((modrm >> 3) & 7) | (rex & 4 ? 8 : 0);
		int rm = (modrm & 7) | (rex & 1 ? 8 : 0);
		int dst = p[n] == 0x89 || p[n] == 0x31 ? rm : reg;
		int src = p[n] == 0x89 || p[n] == 0x31 ? reg : rm;
		if ((modrm >> 6) != 3 || dst == 0 || src == 0 || (rex & 2))
			return 0;
		return n + 2;
	}
	default:
		/* mov $imm32, r32 (rex.W would make it imm64) */
		if (p[n] >= 0xb8 && p[n] <= 0xbf && !(rex & 8) && !(rex & 2) &&
		    ((p[n] & 7) | (rex & 1 ? 8 : 0)) != 0)
			return n + 5;
		return 0;
	}
}

/* Where the `mov $nr,%eax` of the syscall at sc lies, with k bytes of
 * copyable instructions between the two (mid_len): 0 when none is found.
 * The mov must be the instruction the copied ones follow, so each
 * candidate is decoded forward and must end exactly at the syscall. */
static uint64_t find_mov(uint64_t sc, long nr, size_t *k)
{
	for (size_t d = 0; d <= TRAMP_MID; d++) {
		const uint8_t *m = (const uint8_t *)(uintptr_t)(sc - 5 - d);
		uint32_t imm;
		size_t at = 5;
		if (m[0] != 0xb8)
			continue;
		memcpy(&imm, m + 1, 4);
		/* a REX or operand-size prefix would make it another
		 * instruction */
		if (imm != (uint32_t)nr || (m[-1] & 0xf0) == 0x40 ||
		    m[-1] == 0x66)
			continue;
		while (at < 5 + d) {
			size_t l = mid_len(m + at);
			if (!l)
				break;
			at += l;
		}
		if (at == 5 + d) {
			*k = d;
			return sc - 5 - d;
		}
	}
	return 0;
}

/* glibc's read, single-threaded: read's number is 0, which the compiler
 * loads with a 2-byte xor, so no 5-byte mov precedes its syscall:
 *
 *     cmpb $0x0,__libc_single_threaded(%rip)    80 3d d32 00
 *     je   CANCELLABLE                          74 r8
 *     xor  %eax,%eax                            31 c0
 *     syscall                                   0f 05
 *
 * (stdio's reads come here: sqlite's `.read` of a script trapped 1,440
 * times, a make of this project 9,425.)  The jmp then takes the first 5
 * bytes of the cmpb, and the trampoline starts with the cmpb and the je,
 * their displacements made relative to where they now lie.  As with a
 * mov, only the first instruction's bytes change: code that jumps to the
 * je or the xor runs the original ones, and traps.  Returns the cmpb's
 * address, or 0. */
#define READ_FAST_LEN 11 /* cmpb, je, xor: the bytes before the syscall */
static uint64_t find_read_fast(uint64_t sc, long nr)
{
	const uint8_t *m = (const uint8_t *)(uintptr_t)(sc - READ_FAST_LEN);

	if (nr != 0 || m[0] != 0x80 || m[1] != 0x3d || m[6] != 0x00 ||
	    m[7] != 0x74 || m[9] != 0x31 || m[10] != 0xc0)
		return 0;
	return sc - READ_FAST_LEN;
}

/* The trampoline's copy of that cmpb and je, for a trampoline at t:
 * 13 bytes into mid, or 0 when a displacement does not fit. */
static size_t read_fast_mid(const uint8_t *m, const uint8_t *t, uint8_t *mid)
{
	int32_t d;
	int64_t target, jtarget, nd, nj;

	memcpy(&d, m + 2, 4);
	target = (int64_t)(uintptr_t)(m + 7) + d; /* the flag the cmpb reads */
	jtarget = (int64_t)(uintptr_t)(m + 9) + (int8_t)m[8];
	nd = target - (int64_t)(uintptr_t)(t + 7);
	nj = jtarget - (int64_t)(uintptr_t)(t + 13);
	if (nd != (int32_t)nd || nj != (int32_t)nj)
		return 0;
	mid[0] = 0x80;
	mid[1] = 0x3d;
	put32(mid + 2, (int32_t)nd);
	mid[6] = 0x00;
	mid[7] = 0x0f; /* je rel32 */
	mid[8] = 0x84;
	put32(mid + 9, (int32_t)nj);
	return 13;
}

/* The executable segments of the C library and the loader, found once
 * at set-up: the handler runs where the loader's lock may be held (a
 * trapped call inside dlopen), so it must not ask the loader (dladdr). */
static struct text {
	uint64_t lo, hi;
	uint64_t bias;	   /* the module's load address */
	uint8_t id[20];	   /* its build-id (learned sites are keyed by it) */
	uint32_t idlen;	   /* 0: none, and nothing is learned for it */
} texts[8];
static int ntexts;

/* The GNU build-id note among a module's notes, mapped with it. */
static void build_id_of(const struct dl_phdr_info *info, struct text *t)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const uint8_t *p, *end;
		if (ph->p_type != PT_NOTE)
			continue;
		p = (const uint8_t *)(uintptr_t)(info->dlpi_addr + ph->p_vaddr);
		end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const void *)p;
			const uint8_t *name = p + sizeof *nh;
			const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);
			p = desc + ((nh->n_descsz + 3) & ~3u);
			if (p > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    !memcmp(name, "GNU", 4) && nh->n_descsz >= 8 &&
			    nh->n_descsz <= sizeof t->id) {
				memcpy(t->id, desc, nh->n_descsz);
				t->idlen = nh->n_descsz;
				return;
			}
		}
	}
}

static int text_of(struct dl_phdr_info *info, size_t size, void *arg)
{
	const char *b = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;

	(void)size;
	(void)arg;
	b = b ? b + 1 : info->dlpi_name;
	if (!b || (strncmp(b, "libc.so", 7) && strncmp(b, "ld-linux", 8)))
		return 0;
	for (int i = 0; i < info->dlpi_phnum && ntexts < 8; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			struct text *t = &texts[ntexts++];
			t->lo = info->dlpi_addr + ph->p_vaddr;
			t->hi = t->lo + ph->p_memsz;
			t->bias = info->dlpi_addr;
			build_id_of(info, t);
		}
	}
	return 0;
}

static int rewrite_enabled(void);

void retro_rewrite_init(void)
{
	if (!ntexts)
		dl_iterate_phdr(text_of, NULL);
	rewrite_enabled(); /* getenv, cpuid: here, not in the handler */
}

static int in_libc(uint64_t addr)
{
	for (int i = 0; i < ntexts; i++)
		if (addr > texts[i].lo && addr + 16 <= texts[i].hi)
			return 1;
	return 0;
}

static int rewrite_enabled(void)
{
	if (rewrite_on < 0) {
		const char *e = getenv("RETRO_REWRITE");
		unsigned a, b, c, d;
		uint64_t frame = getauxval(AT_MINSIGSTKSZ);
		rewrite_on = !(e && e[0] == '0');
		/* xsave, enabled by the kernel (OSXSAVE), and its size.  The
		 * C library has asked the CPU already; each cpuid is an exit
		 * to the hypervisor in a virtual machine (~7 us here, at
		 * every process start).  The kernel's signal frame holds the
		 * same xsave area and more: a bound for it. */
		if (rewrite_on && CPU_FEATURE_ACTIVE(XSAVE) && frame >= 576) {
			retro_xsave_size = (frame + 63) & ~(uint64_t)63;
		} else if (rewrite_on && (!__get_cpuid(1, &a, &b, &c, &d) ||
					  !(c & (1u << 27)) ||
					  !__get_cpuid_count(0xd, 0, &a, &b, &c, &d) ||
					  b < 576)) {
			rewrite_on = 0;
		} else if (rewrite_on) {
			retro_xsave_size = ((uint64_t)b + 63) & ~(uint64_t)63;
		}
	}
	return rewrite_on;
}

/* Does the jmp at m land in one of our trampoline regions? */
static int in_region(const uint8_t *m)
{
	int32_t rel;
	uint64_t to;

	memcpy(&rel, m + 1, 4);
	to = (uint64_t)(uintptr_t)m + 5 + (uint64_t)(int64_t)rel;
	for (int i = 0; i < nregions; i++)
		if (to >= (uint64_t)(uintptr_t)regions[i].base &&
		    to < (uint64_t)(uintptr_t)regions[i].base + REGION)
			return 1;
	return 0;
}

int retro_rewrite_debug;

/* RETRO_TRAP_DEBUG: what became of a trapped site.  (No stdio: this runs
 * in the SIGSYS handler.) */
static void dbg(const char *what)
{
	char b[96];
	size_t n = 0;

	if (!retro_rewrite_debug)
		return;
	memcpy(b, "retro: site: ", 13);
	n = 13;
	while (*what && n < sizeof b - 1)
		b[n++] = *what++;
	b[n++] = '\n';
	retro_sys3(SYS_write, 2, b, n);
}

int retro_rewrite_shared_vm;

/* Whether this is the only thread of the address space: no other can run
 * a site while it is written (retro_alone). */
static int alone(void)
{
	return retro_alone();
}

/* A site is rewritten at its SITE_HOT-th trap.  Rewriting costs four
 * mprotects and a copy of libc's text page (~15 us a site here, measured
 * with perf on short recorded processes); a trap ~2.4 us.  Most sites a
 * short process traps at run once or twice (its start, its exit), and
 * a hot one pays SITE_HOT traps once. */
#define SITE_HOT 4
#define NHITS 128
static uint64_t hit_site[NHITS];
static uint32_t hit_n[NHITS];

/* Counts a trap at the site mov: 1 when it is hot (or the table is
 * full), else 0.  Called from the SIGSYS handler of any thread. */
static int hot(uint64_t mov)
{
	unsigned h = (unsigned)((mov * 0x9E3779B97F4A7C15ull) >> 57);

	for (unsigned i = 0; i < NHITS; i++) {
		unsigned k = (h + i) & (NHITS - 1);
		uint64_t cur = __atomic_load_n(&hit_site[k], __ATOMIC_ACQUIRE);
		if (cur == 0 &&
		    !__atomic_compare_exchange_n(&hit_site[k], &cur, mov, 0,
						 __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE) &&
		    cur != mov)
			continue; /* taken by another site meanwhile */
		if (cur != 0 && cur != mov)
			continue;
		return __atomic_add_fetch(&hit_n[k], 1, __ATOMIC_RELAXED) >=
		       SITE_HOT;
	}
	return 1;
}

/* Whether a site making call nr may be rewritten at all. */
static int eligible(long nr)
{
	return (retro_trap_plain(nr) || nr == SYS_rt_sigprocmask ||
		nr == SYS_rt_sigaction) &&
	       nr != SYS_rt_sigreturn && nr != SYS_exit &&
	       nr != SYS_exit_group && nr != SYS_execve && nr != SYS_execveat;
}

static void learn(uint64_t at, long nr, int read_fast, size_t k);

void retro_rewrite_site(uint64_t after, long nr)
{
	uint64_t sc = after - 2, mov, blk, pg, pg2;
	const uint8_t *m;
	uint8_t *t, j[5];
	uint64_t old[2], new[2];
	size_t k = 0;
	int read_fast = 0;
	uint8_t rmid[TRAMP_MID];

	if (!rewrite_enabled() || !eligible(nr))
		return;
	if (!in_libc(sc - 5 - TRAMP_MID)) {
		dbg("not in the C library or the loader");
		return;
	}
	m = (const uint8_t *)(uintptr_t)(sc - 5);
	if (m[0] == 0xe9 && in_region(m)) {
		/* it ran the mov just before another thread rewrote it */
		dbg("already rewritten");
		return;
	}
	mov = find_mov(sc, nr, &k);
	if (!mov && (mov = find_read_fast(sc, nr)) != 0) {
		read_fast = 1;
		m = (const uint8_t *)(uintptr_t)mov;
		if (m[0] == 0xe9 && in_region(m)) {
			dbg("already rewritten");
			return;
		}
	}
	if (!mov) {
		dbg("no mov $NR,%eax before it, nor only register moves between");
		return;
	}
	m = (const uint8_t *)(uintptr_t)mov;
	blk = mov & ~(uint64_t)15;
	pg = blk & ~(uint64_t)4095;
	pg2 = (mov + 4) & ~(uint64_t)4095;
	/* the 5 bytes in one aligned 16-byte block, for one atomic store,
	 * unless no other thread can run them meanwhile */
	if (((mov + 4) & ~(uint64_t)15) != blk && !alone()) {
		dbg("its mov crosses a 16-byte block, and threads run");
		return;
	}
	if (!hot(mov)) {
		dbg("not hot yet");
		return;
	}
	if (!try_lock()) {
		dbg("another thread is rewriting");
		return;
	}
	if (m[0] != (read_fast ? 0x80 : 0xb8)) /* another thread did it */
		goto out;
	t = tramp_alloc(mov);
	if (!t) {
		dbg("no room for a trampoline near it");
		goto out;
	}
	if (read_fast && !(k = read_fast_mid(m, t, rmid))) {
		dbg("its trampoline is out of the cmpb's reach");
		goto out; /* the slot stays unused */
	}
	{
		/* the regions are never writable and executable at once
		 * but while a trampoline is written (other threads may run
		 * the others meanwhile) */
		struct region *r = NULL;
		for (int i = 0; i < nregions && !r; i++)
			if (t >= regions[i].base && t < regions[i].base + REGION)
				r = &regions[i];
		if (retro_sys3(SYS_mprotect, r->base, REGION,
			       PROT_READ | PROT_WRITE | PROT_EXEC) < 0) {
			dbg("trampolines cannot be made executable");
			goto out;
		}
		tramp_fill(t, r->base, after, (uint32_t)nr,
			   read_fast ? rmid : m + 5, k);
		retro_sys3(SYS_mprotect, r->base, REGION, PROT_READ | PROT_EXEC);
	}
	j[0] = 0xe9;
	put32(j + 1, (int32_t)((int64_t)(uintptr_t)t - (int64_t)(mov + 5)));
	/* the mov's page, and the next when the mov runs into it */
	if (retro_sys3(SYS_mprotect, pg, pg2 - pg + 4096,
		       PROT_READ | PROT_WRITE | PROT_EXEC) < 0) {
		dbg("its page cannot be made writable");
		goto out; /* not allowed here: the site keeps trapping */
	}
	if (((mov + 4) & ~(uint64_t)15) != blk) {
		/* across two blocks, written plainly: this is the only
		 * thread, and no signal handler of its own may run the site
		 * half-written */
		uint64_t all = ~0ull, mask;
		retro_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &all, &mask, 8);
		memcpy((void *)(uintptr_t)mov, j, 5);
		retro_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &mask, NULL, 8);
		dbg("rewritten across two blocks, the only thread");
		learn(mov, nr, read_fast, k);
	} else {
		memcpy(old, (const void *)(uintptr_t)blk, 16);
		memcpy(new, old, 16);
		memcpy((uint8_t *)new + (mov - blk), j, 5);
		if (cas16((void *)(uintptr_t)blk, old, new)) {
			dbg("rewritten");
			learn(mov, nr, read_fast, k);
		} else {
			dbg("changed meanwhile");
		}
	}
	retro_sys3(SYS_mprotect, pg, pg2 - pg + 4096, PROT_READ | PROT_EXEC);
out:
	unlock();
}

long retro_fastsys_c(struct fastsys_frame *f)
{
	long nr = (long)f->rax, ret;
	long a[6] = { (long)f->rdi, (long)f->rsi, (long)f->rdx,
		      (long)f->r10, (long)f->r8, (long)f->r9 };
	uint64_t site;
	uint64_t sp = (uint64_t)(uintptr_t)(&f->ret + 1) + 128;
	char sel = retro_selector;
	int e = errno;
	ucontext_t uc;
	greg_t *g;
	const void *uc0;

	if (sel == SYSCALL_DISPATCH_FILTER_ALLOW)
		/* inside one of our interposers: its own libc call */
		return retro_sys6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	retro_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	if (nr == SYS_rt_sigprocmask || nr == SYS_rt_sigaction) {
		/* not recorded: kept from hiding SIGSYS, as trapped */
		ret = retro_trap_sigcall(nr, a);
		retro_selector = sel;
		errno = e;
		return ret;
	}
	/* the trampoline's .quad AFTER, unaligned after copied moves */
	memcpy(&site, (const void *)(uintptr_t)(f->ret - TRAMP_RET + TRAMP_DATA),
	       sizeof site);
	memset(&uc, 0, sizeof uc);
	g = uc.uc_mcontext.gregs;
	g[REG_R8] = (greg_t)f->r8;
	g[REG_R9] = (greg_t)f->r9;
	g[REG_R10] = (greg_t)f->r10;
	g[REG_R11] = (greg_t)f->r11;
	g[REG_R12] = (greg_t)f->r12;
	g[REG_R13] = (greg_t)f->r13;
	g[REG_R14] = (greg_t)f->r14;
	g[REG_R15] = (greg_t)f->r15;
	g[REG_RDI] = (greg_t)f->rdi;
	g[REG_RSI] = (greg_t)f->rsi;
	g[REG_RBP] = (greg_t)f->rbp;
	g[REG_RBX] = (greg_t)f->rbx;
	g[REG_RDX] = (greg_t)f->rdx;
	g[REG_RAX] = (greg_t)f->rax;
	g[REG_RCX] = (greg_t)f->rcx;
	g[REG_RSP] = (greg_t)sp;
	g[REG_RIP] = (greg_t)site;
	g[REG_EFL] = (greg_t)f->rflags;
	uc.uc_mcontext.fpregs = &uc.__fpregs_mem;
	uc0 = retro_trap_uc;
	retro_trap_uc = &uc;
	ret = retro_trapped(nr, a, site, sp, sel);
	retro_trap_uc = uc0;
	retro_selector = sel;
	errno = e;
	return ret;
}

/* ---- sites learned across processes ------------------------------------
 *
 * A short process pays for its hot sites one by one: SITE_HOT traps each,
 * then four mprotects and a copy of a page of libc's text.  A recorded
 * `bash -c 'test -f F || rm -f G'` traps 66 times in its two images, most
 * of them in the C library loading the locale, at sites every bash and
 * every rm traps at.  So a site rewritten in one process is noted in the
 * spool directory, in a file per build-id of the C library or loader and
 * per program (sites-ID-PROG, appended to at the process's exit or exec),
 * and each process of the same program started later in the same spool
 * rewrites the noted sites at its start, all at once, with the
 * trampolines in one region.  Per program: a rewritten page of libc's
 * text is a private copy, which makes every later fork of the process
 * slower (~3 us a page here, bench_calls fork), so a process rewrites
 * only what its own program made hot before, which it would have
 * rewritten anyway.  An entry gives the site by its offset from the
 * module's load address, and the bytes there must be what a trap's
 * rewrite would have found (site_ok), so an entry from a damaged file or
 * another build rewrites nothing a trap would not. */
struct learned {
	uint32_t off;	   /* of the mov (or cmpb) from the load address */
	int32_t nr;	   /* the call */
	uint8_t read_fast; /* a cmpb (find_read_fast), not a mov */
	uint8_t k;	   /* bytes of moves between the mov and the syscall */
	uint16_t tag;	   /* LEARN_TAG */
	uint32_t sum;	   /* of the 12 bytes before (learned_sum) */
};
_Static_assert(sizeof(struct learned) == 16, "a learned site's size");
#define LEARN_TAG 0x7273
#define LEARN_MAX 1024 /* entries read from a file; past it, none is added */
#define FRESH_MAX 64
#define PLAN_MAX 256
static struct {
	int text; /* the first of its module's texts */
	struct learned l;
} fresh[FRESH_MAX];

static uint32_t learned_sum(const struct learned *l)
{
	const uint8_t *p = (const uint8_t *)l;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < offsetof(struct learned, sum); i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint64_t prog_key; /* the program's: see retro_rewrite_preload */

/* The bytes of SPOOL/sites-ID-PROG for spool dir: sized to it, not
 * PATH_MAX, for the stack's sake (a recorded image reads it at start) */
#define SITES_PATH(dir) \
	(strlen(dir) + sizeof RETRO_SITES_PREFIX + 2 * sizeof texts[0].id + 20)

/* SPOOL/sites-ID-PROG for the module of text i */
static int sites_path(char *path, size_t size, const char *dir, int i)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(dir);

	if (n + 1 + sizeof RETRO_SITES_PREFIX + 2 * texts[i].idlen + 1 + 16 >
	    size)
		return -1;
	memcpy(path, dir, n);
	path[n++] = '/';
	memcpy(path + n, RETRO_SITES_PREFIX, sizeof RETRO_SITES_PREFIX - 1);
	n += sizeof RETRO_SITES_PREFIX - 1;
	for (uint32_t b = 0; b < texts[i].idlen; b++) {
		path[n++] = hex[texts[i].id[b] >> 4];
		path[n++] = hex[texts[i].id[b] & 15];
	}
	path[n++] = '-';
	retro_hex64(path + n, prog_key);
	return 0;
}

/* The first text of the module whose text holds at, or -1. */
static int module_at(uint64_t at)
{
	for (int i = 0; i < ntexts; i++) {
		if (at < texts[i].lo || at >= texts[i].hi)
			continue;
		for (int j = 0; j < i; j++)
			if (texts[j].bias == texts[i].bias)
				return j;
		return i;
	}
	return -1;
}

/* Called with the patcher's lock held, after a site was rewritten. */
static void learn(uint64_t at, long nr, int read_fast, size_t k)
{
	int i = module_at(at);
	struct learned *l;

	if (i < 0 || !texts[i].idlen || nfresh == FRESH_MAX)
		return;
	fresh[nfresh].text = i;
	l = &fresh[nfresh].l;
	l->off = (uint32_t)(at - texts[i].bias);
	l->nr = (int32_t)nr;
	l->read_fast = (uint8_t)read_fast;
	l->k = (uint8_t)k;
	l->tag = LEARN_TAG;
	l->sum = learned_sum(l);
	nfresh++;
}

/* Whether a trap's rewrite would take the site at `at` as it is now. */
static int site_ok(uint64_t at, long nr, int read_fast, size_t k)
{
	uint64_t sc = at + (read_fast ? READ_FAST_LEN : 5 + k);
	const uint8_t *s = (const uint8_t *)(uintptr_t)sc;
	size_t kk = 0;

	if (!eligible(nr) || !in_libc(sc - 5 - TRAMP_MID) || !in_libc(sc) ||
	    s[0] != 0x0f || s[1] != 0x05)
		return 0;
	if (read_fast)
		return find_read_fast(sc, nr) == at;
	return find_mov(sc, nr, &kk) == at && kk == k;
}

static int by_address(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Rewrites the n sites of plan, in address order (single-threaded, at
 * the start).  Each run of pages that holds sites is made writable and
 * back on its own, as a trap's rewrite makes its page: the text between
 * stays as it was mapped, so that a fork does not copy its page tables. */
static int patch_all(const uint64_t *at, const struct learned *l, int n)
{
	uint8_t *t[PLAN_MAX];
	uint64_t all = ~0ull, mask;
	int done = 0;

	for (int i = 0; i < n; i++) {
		const uint8_t *m = (const uint8_t *)(uintptr_t)at[i];
		uint8_t rmid[TRAMP_MID];
		size_t k = l[i].k;
		uint64_t after = at[i] + (l[i].read_fast ? READ_FAST_LEN : 5 + k) + 2;
		struct region *r = NULL;

		t[i] = tramp_alloc(at[i]);
		if (t[i] && l[i].read_fast && !(k = read_fast_mid(m, t[i], rmid)))
			t[i] = NULL; /* the slot stays unused */
		if (!t[i])
			continue;
		for (int g = 0; g < nregions && !r; g++)
			if (t[i] >= regions[g].base &&
			    t[i] < regions[g].base + REGION)
				r = &regions[g];
		/* a region is writable from its mmap until the end below */
		tramp_fill(t[i], r->base, after, (uint32_t)l[i].nr,
			   l[i].read_fast ? rmid : m + 5, k);
	}
	for (int g = 0; g < nregions; g++)
		retro_sys3(SYS_mprotect, regions[g].base, REGION,
			   PROT_READ | PROT_EXEC);
	retro_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &all, &mask, 8);
	for (int i = 0; i < n;) {
		uint64_t lo = at[i] & ~(uint64_t)4095, hi;
		int j = i;
		/* the sites whose 5 bytes end within one more page */
		hi = ((at[j] + 4) & ~(uint64_t)4095) + 4096;
		while (j + 1 < n && at[j + 1] < hi + 4096) {
			j++;
			if (((at[j] + 4) & ~(uint64_t)4095) + 4096 > hi)
				hi = ((at[j] + 4) & ~(uint64_t)4095) + 4096;
		}
		if (retro_sys3(SYS_mprotect, lo, hi - lo,
			       PROT_READ | PROT_WRITE | PROT_EXEC) == 0) {
			for (; i <= j; i++) {
				uint8_t jmp[5];
				if (!t[i])
					continue;
				jmp[0] = 0xe9;
				put32(jmp + 1, (int32_t)((int64_t)(uintptr_t)t[i] -
							 (int64_t)(at[i] + 5)));
				memcpy((void *)(uintptr_t)at[i], jmp, 5);
				done++;
			}
			retro_sys3(SYS_mprotect, lo, hi - lo,
				   PROT_READ | PROT_EXEC);
		}
		i = j + 1;
	}
	retro_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &mask, NULL, 8);
	return done;
}

int retro_rewrite_preload(const char *dir, uint64_t prog)
{
	static struct learned buf[LEARN_MAX];
	static uint64_t plan[PLAN_MAX];
	static struct learned pl[PLAN_MAX];
	int np = 0, done = 0, seen = 0;

	prog_key = prog;
	/* at the start, before any trampoline: see patch_all */
	if (!dir || !*dir || !rewrite_enabled() || !alone() || nregions)
		return 0;
	char path[SITES_PATH(dir)];
	for (int i = 0; i < ntexts; i++) {
		long fd, n;
		if (!texts[i].idlen || module_at(texts[i].lo) != i ||
		    sites_path(path, sizeof path, dir, i))
			continue;
		fd = retro_os_openat(AT_FDCWD, path,
				     O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
		if (fd < 0)
			continue;
		n = retro_os_read((int)fd, buf, sizeof buf);
		retro_os.close((int)fd);
		seen |= n > 0;
		for (long e = 0; (e + 1) * (long)sizeof *buf <= n && np < PLAN_MAX;
		     e++) {
			const struct learned *l = &buf[e];
			uint64_t at = texts[i].bias + l->off;
			int dup = 0;
			if (l->tag != LEARN_TAG || l->sum != learned_sum(l) ||
			    l->k > TRAMP_MID || l->read_fast > 1)
				continue;
			for (int q = 0; q < np && !dup; q++)
				dup = plan[q] == at;
			if (dup || !site_ok(at, l->nr, l->read_fast, l->k))
				continue;
			plan[np] = at;
			pl[np++] = *l;
		}
	}
	if (np) {
		/* in address order, each with its entry */
		static uint64_t order[PLAN_MAX];
		static struct learned ol[PLAN_MAX];
		for (int i = 0; i < np; i++)
			order[i] = plan[i];
		qsort(order, (size_t)np, sizeof *order, by_address);
		for (int i = 0; i < np; i++)
			for (int q = 0; q < np; q++)
				if (plan[q] == order[i])
					ol[i] = pl[q];
		done = patch_all(order, ol, np);
	}
	if (seen && retro_rewrite_debug) {
		char b[64];
		size_t n = retro_utoa(b, (uint64_t)done);
		memcpy(b + n, " learned, rewritten at the start", 33);
		dbg(b);
	}
	return done;
}

void retro_rewrite_flush(const char *dir)
{
	if (!nfresh || !dir || !*dir || !try_lock())
		return;
	char path[SITES_PATH(dir)];
	for (int i = 0; i < ntexts; i++) {
		struct learned out[FRESH_MAX];
		int n = 0;
		for (int f = 0; f < nfresh; f++)
			if (fresh[f].text == i)
				out[n++] = fresh[f].l;
		if (n && !sites_path(path, sizeof path, dir, i))
			retro_os_append_records(path, out, (size_t)n, sizeof *out,
						LEARN_MAX);
	}
	nfresh = 0;
	unlock();
}
