/* The second interception layer: Syscall User Dispatch.
 *
 * An LD_PRELOAD shim only sees calls made through exported libc symbols;
 * stdio writes through glibc's internal write, ls reads directories through
 * internal getdents64, and some programs issue raw syscall().  With
 * PR_SET_SYSCALL_USER_DISPATCH every system call a thread makes from
 * outside libretro.so's text raises SIGSYS while the thread's selector
 * byte says BLOCK; the handler records the call and performs it from
 * inside our text, where system calls always pass.
 *
 * The selector is ALLOW while the thread is inside an interposer (the PLT
 * layer records those calls, and libc's system calls on their behalf must
 * not be recorded twice) and BLOCK otherwise.
 *
 * What a handler must take care of:
 * - the program's signal handlers return through a restorer, whose
 *   rt_sigreturn would trap: every handler is installed with ours;
 * - a trapped call while SIGSYS is blocked kills the process: SIGSYS is
 *   kept out of every mask the program sets, and the masks are reported
 *   back as the program set them;
 * - a program's own SIGSYS handler keeps receiving the SIGSYS that are
 *   not ours;
 * - a clone that gives the child a new stack cannot return through this
 *   handler's frame: an assembly trampoline starts the child directly at
 *   the instruction after its syscall;
 * - errno is the program's: the handler saves and restores it. */
#include "config.h"
#include "recorder.h"
#include "os.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <linux/prctl.h>
#include <sched.h>
#include <ucontext.h>

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_ON 1
#define SYSCALL_DISPATCH_FILTER_ALLOW 0
#define SYSCALL_DISPATCH_FILTER_BLOCK 1
#endif
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH 2
#endif
#define SA_RESTORER_ 0x04000000
#define SIGSYS_BIT (1ull << (SIGSYS - 1))

__thread volatile char retro_selector
	__attribute__((tls_model("initial-exec"), visibility("hidden")));
__thread const void *retro_trap_uc
	__attribute__((tls_model("initial-exec"), visibility("hidden")));

/* What the program believes about SIGSYS in its mask (it is never really
 * blocked).  The rewritten sites' stub reads it too (rewrite.c). */
__thread int retro_prog_sigsys_blocked
	__attribute__((tls_model("initial-exec"), visibility("hidden")));

struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static int trap_on;
static int trap_debug;
static uint64_t region_lo, region_len;
static struct ksigaction prog_sigsys; /* the program's own SIGSYS action */

/* rt_sigreturn, from inside our text.  The bytes are those of glibc's
 * __restore_rt, which is how unwinders recognise a signal frame.  The nop
 * before it is glibc's too: an unwinder looks up the unwind info of a
 * return address minus one, which must not fall into the function before
 * (whose info would send it astray, and the program's frames behind a
 * trapped call would be lost), but on code that has none. */
extern void retro_restorer(void) __attribute__((visibility("hidden")));
__asm__(".text\n"
	".globl retro_restorer\n"
	".hidden retro_restorer\n"
	".type retro_restorer,@function\n"
	"\tnop\n"
	"retro_restorer:\n"
	"\tmovq $15, %rax\n"
	"\tsyscall\n"
	"\thlt\n"
	".size retro_restorer, .-retro_restorer\n");

/* The child of a trapped clone that switches stacks:
 * retro_clone_child(flags, stack, ptid, ctid, tls, regs), where regs is a
 * copy of the trapped thread's general registers (gregs order) that the
 * caller placed below the child's stack pointer.  The parent gets the
 * clone result.  The child loads the registers, takes its stack pointer
 * from regs[REG_RSP], and jumps to regs[REG_RIP] with rax = 0, as if its
 * own syscall instruction had returned there (rcx and r11, which a
 * syscall clobbers anyway, carry the jump). */
extern long retro_clone_child(long flags, long stack, long ptid, long ctid,
			      long tls, const greg_t *regs)
	__attribute__((visibility("hidden")));
__asm__(".text\n"
	".globl retro_clone_child\n"
	".hidden retro_clone_child\n"
	".type retro_clone_child,@function\n"
	"retro_clone_child:\n"
	"\tmovq %rcx, %r10\n"
	"\tmovl $56, %eax\n"
	"\tsyscall\n"
	"\ttestq %rax, %rax\n"
	"\tjz 1f\n"
	"\tret\n"
	"1:\n"
	"\tmovq %r9, %r11\n"
	"\tmovq 0*8(%r11), %r8\n"
	"\tmovq 1*8(%r11), %r9\n"
	"\tmovq 2*8(%r11), %r10\n"
	"\tmovq 4*8(%r11), %r12\n"
	"\tmovq 5*8(%r11), %r13\n"
	"\tmovq 6*8(%r11), %r14\n"
	"\tmovq 7*8(%r11), %r15\n"
	"\tmovq 8*8(%r11), %rdi\n"
	"\tmovq 9*8(%r11), %rsi\n"
	"\tmovq 10*8(%r11), %rbp\n"
	"\tmovq 11*8(%r11), %rbx\n"
	"\tmovq 12*8(%r11), %rdx\n"
	"\tmovq 16*8(%r11), %rcx\n"
	"\tmovq 15*8(%r11), %rsp\n"
	"\txorl %eax, %eax\n"
	"\tjmp *%rcx\n"
	".size retro_clone_child, .-retro_clone_child\n");

static long ksigaction(int sig, const struct ksigaction *act,
		       struct ksigaction *old)
{
	return retro_sys4(SYS_rt_sigaction, sig, act, old, 8);
}

static void handler(int sig, siginfo_t *si, void *ucv);

/* ---- the program's signal handlers ----------------------------------------
 *
 * Each runs behind sigwrap: a signal that interrupts the recorder while it
 * holds the thread's state is kept and its handler runs when the recorder
 * lets go (retro_sig_defer), so that the calls the handler makes are
 * recorded rather than skipped; and the handler runs with the selector at
 * BLOCK, so that its calls are seen even when it interrupted an interposer.
 * progact holds what the program asked for; SA_RESETHAND is done here. */
static struct ksigaction progact[65];

static void sigwrap(int sig, siginfo_t *si, void *uc);

/* Runs the program's handler for sig as the kernel would have. */
static void run_prog(int sig, siginfo_t *si, void *uc)
{
	struct ksigaction a = progact[sig];
	char prev = retro_selector;

	if (a.handler == SIG_DFL || a.handler == SIG_IGN)
		return; /* changed since the signal came */
	if (a.flags & SA_RESETHAND) {
		struct ksigaction dfl = { SIG_DFL, 0, NULL, 0 };
		progact[sig] = dfl;
		ksigaction(sig, &dfl, NULL);
	}
	retro_selector = SYSCALL_DISPATCH_FILTER_BLOCK;
	if (a.flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))a.handler)(sig, si, uc);
	else
		((void (*)(int))a.handler)(sig);
	retro_selector = prev;
}

static void sigwrap(int sig, siginfo_t *si, void *uc)
{
	int e = errno;

	if (retro_sig_defer(sig, si)) {
		errno = e;
		return;
	}
	run_prog(sig, si, uc);
}

void retro_sig_deliver(int sig, siginfo_t *si)
{
	ucontext_t uc;
	uint64_t m, old;
	char prev = retro_selector;

	if (sig <= 0 || sig > 64)
		return;
	m = progact[sig].mask & ~SIGSYS_BIT;
	if (!(progact[sig].flags & SA_NODEFER))
		m |= 1ull << (sig - 1);
	retro_sys4(SYS_rt_sigprocmask, SIG_BLOCK, &m, &old, 8);
	retro_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	getcontext(&uc);
	retro_selector = prev;
	run_prog(sig, si, &uc);
	retro_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
}

/* The action the kernel gets for the program's act: sigwrap in front of a
 * handler, our restorer, never SIGSYS in the mask. */
static struct ksigaction wrapped(const struct ksigaction *act)
{
	struct ksigaction ka = *act;

	if (ka.handler != SIG_DFL && ka.handler != SIG_IGN) {
		ka.handler = (void *)sigwrap;
		ka.flags = (ka.flags | SA_SIGINFO | SA_RESTORER_) &
			   ~(unsigned long)SA_RESETHAND;
		ka.restorer = (void *)retro_restorer;
	}
	ka.mask &= ~SIGSYS_BIT;
	return ka;
}

/* sigaction through libc, without the trap layer (the shim's sigaction and
 * signal): the same wrapper, in libc's struct. */
int retro_sig_libc(int sig, const struct sigaction *act, struct sigaction *old,
		   int (*real)(int, const struct sigaction *, struct sigaction *))
{
	struct sigaction w, o;
	struct ksigaction prev;
	int r;

	if (sig <= 0 || sig > 64)
		return real(sig, act, old);
	prev = progact[sig];
	if (act && act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN &&
	    act->sa_sigaction != sigwrap) {
		w = *act;
		w.sa_sigaction = sigwrap;
		w.sa_flags = (act->sa_flags | SA_SIGINFO) & ~SA_RESETHAND;
		progact[sig].handler = (void *)act->sa_handler;
		progact[sig].flags = (unsigned long)act->sa_flags;
		progact[sig].restorer = NULL;
		memcpy(&progact[sig].mask, &act->sa_mask, 8);
		act = &w;
	}
	r = real(sig, act, &o);
	if (r < 0) {
		progact[sig] = prev;
		return r;
	}
	if (old) {
		*old = o;
		if (o.sa_sigaction == sigwrap) {
			old->sa_handler = (void (*)(int))prev.handler;
			old->sa_flags = (int)prev.flags | (o.sa_flags & SA_RESTORER_);
			sigemptyset(&old->sa_mask);
			memcpy(&old->sa_mask, &prev.mask, 8);
		}
	}
	return r;
}

/* Wraps a handler set before the layer was armed. */
static void fix_restorer(int sig)
{
	struct ksigaction ka;

	if (ksigaction(sig, NULL, &ka) < 0)
		return;
	if (ka.handler == SIG_DFL || ka.handler == SIG_IGN ||
	    ka.handler == (void *)sigwrap)
		return;
	progact[sig] = ka;
	ka = wrapped(&ka);
	ksigaction(sig, &ka, NULL);
}

int retro_trap_setup(uint64_t lo, uint64_t hi)
{
	struct ksigaction ka = { 0 };
	uint64_t caught;

	region_lo = lo;
	region_len = hi - lo;
	if (ksigaction(SIGSYS, NULL, &prog_sigsys) < 0)
		return ENOSYS;
	ka.handler = (void *)handler;
	/* SA_NODEFER: a child cloned from inside the handler inherits the
	 * handler's mask, and must not start with SIGSYS blocked (the handler
	 * itself runs with the selector at ALLOW, so it never nests). */
	/* No SA_ONSTACK: the handler needs a few KiB (libunwind), more than
	 * a program's small alternate signal stack may hold. */
	ka.flags = SA_SIGINFO | SA_RESTORER_ | SA_NODEFER;
	ka.restorer = (void *)retro_restorer;
	if (ksigaction(SIGSYS, &ka, NULL) < 0)
		return ENOSYS;
	/* Only a signal with a handler needs one: /proc says which (a new
	 * image has none, or the few its libraries' constructors set). */
	if (retro_os_caught_signals(&caught) < 0)
		caught = ~0ull;
	for (int sig = 1; sig < 65; sig++)
		if (sig != SIGSYS && sig != SIGKILL && sig != SIGSTOP &&
		    (caught >> (sig - 1) & 1))
			fix_restorer(sig);
	retro_rewrite_init();
	trap_on = 1;
	return 0;
}

int retro_trap_arm(void)
{
	long r;

	if (!trap_on)
		return ENOSYS;
	retro_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	r = retro_os.prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON,
			   (long)region_lo, (long)region_len,
			   (long)&retro_selector);
	if (r < 0)
		return (int)-r;
	retro_selector = SYSCALL_DISPATCH_FILTER_BLOCK;
	return 0;
}

int retro_trap_active(void)
{
	return trap_on;
}

/* ---- emulation of the calls that touch the layer itself ------------------ */

static long emu_sigaction(long sig, const struct ksigaction *act,
			  struct ksigaction *old, long size)
{
	struct ksigaction ka, prev;
	long r;

	if (sig == SIGSYS) {
		/* the program's SIGSYS handler runs for SIGSYS that are not
		 * ours; the kernel keeps ours */
		struct ksigaction prev = prog_sigsys;
		if (act)
			prog_sigsys = *act;
		if (old)
			*old = prev;
		return 0;
	}
	if (sig <= 0 || sig > 64 || size != 8)
		return retro_sys4(SYS_rt_sigaction, sig, act, old, size);
	prev = progact[sig];
	if (act && act->handler == (void *)sigwrap) {
		/* libc writing back what it read behind the program's back */
		ka = *act;
		ka.mask &= ~SIGSYS_BIT;
	} else if (act) {
		ka = wrapped(act);
		/* before the kernel has it: sigwrap must find the handler */
		progact[sig] = *act;
	}
	r = retro_sys4(SYS_rt_sigaction, sig, act ? &ka : NULL, old, size);
	if (r < 0 && act)
		progact[sig] = prev;
	if (r == 0 && old && old->handler == (void *)sigwrap)
		*old = prev; /* what the program set, as it set it */
	return r;
}

/* A mask set by a system call inside this handler would not last: the
 * kernel restores the mask saved in the signal frame when the handler
 * returns.  So the program's new mask goes into that frame, and takes
 * effect, as the real call's would, on the way back to the program (a
 * pending signal it unblocks is delivered there).  The handler runs with
 * no mask of its own (SA_NODEFER, empty sa_mask), so the frame's mask is
 * the thread's mask as the program left it. */
static long emu_sigprocmask(ucontext_t *uc, long how, const uint64_t *set,
			    uint64_t *old, long size)
{
	uint64_t *frame = (uint64_t *)(void *)&uc->uc_sigmask;
	uint64_t cur = *frame, s;
	int was = retro_prog_sigsys_blocked;

	if (size != 8)
		return -EINVAL;
	if (set && how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK)
		return -EINVAL;
	if (set) {
		s = *set;
		if (how == SIG_BLOCK)
			*frame = cur | s;
		else if (how == SIG_UNBLOCK)
			*frame = cur & ~s;
		else
			*frame = s;
		/* as the kernel does; and SIGSYS is never really blocked */
		*frame &= ~(SIGSYS_BIT | (1ull << (SIGKILL - 1)) |
			    (1ull << (SIGSTOP - 1)));
		if (how == SIG_BLOCK && (s & SIGSYS_BIT))
			retro_prog_sigsys_blocked = 1;
		else if (how == SIG_UNBLOCK && (s & SIGSYS_BIT))
			retro_prog_sigsys_blocked = 0;
		else if (how == SIG_SETMASK)
			retro_prog_sigsys_blocked = !!(s & SIGSYS_BIT);
	}
	if (old)
		*old = (cur & ~SIGSYS_BIT) | (was ? SIGSYS_BIT : 0);
	return 0;
}

long retro_trap_sigcall(long nr, const long a[6])
{
	ucontext_t uc;
	uint64_t cur, now;
	long r;

	if (nr == SYS_rt_sigaction)
		return emu_sigaction(a[0], (const void *)a[1], (void *)a[2],
				     a[3]);
	/* rt_sigprocmask: on the thread's mask itself, as the handler does
	 * on the one its return restores */
	r = retro_sys4(SYS_rt_sigprocmask, SIG_BLOCK, 0, (long)&cur, 8);
	if (r < 0)
		return r;
	memcpy(&uc.uc_sigmask, &cur, sizeof cur);
	r = emu_sigprocmask(&uc, a[0], (const uint64_t *)a[1], (uint64_t *)a[2],
			    a[3]);
	memcpy(&now, &uc.uc_sigmask, sizeof now);
	if (r == 0 && now != cur)
		r = retro_sys4(SYS_rt_sigprocmask, SIG_SETMASK, (long)&now, 0, 8);
	return r;
}

static long emu_clone(greg_t *g)
{
	long flags = g[REG_RDI], stack = g[REG_RSI];

	if ((flags & CLONE_VFORK) && !stack) {
		/* vfork on our own stack: the child would return through this
		 * handler's frame while the parent still needs it.  Run it as
		 * a fork, as POSIX allows (the child only execs or exits).
		 * With a stack of its own (posix_spawn, system, popen) the
		 * child goes through the trampoline, flags untouched. */
		flags &= ~(long)(CLONE_VM | CLONE_VFORK);
	}
	/* the child shares every open file description (or, with
	 * CLONE_FILES, the table itself) */
	if (flags & CLONE_FILES)
		retro_off_disable();
	else
		retro_off_forget_all();
	if (stack == 0 && !(flags & CLONE_VM))
		return retro_sys6(SYS_clone, flags, 0, g[REG_RDX], g[REG_R10],
				  g[REG_R8], 0);
	if ((flags & CLONE_VM) && !(flags & CLONE_VFORK))
		retro_rewrite_shared_vm = 1; /* a thread runs beside us */
	if (stack) {
		/* the child starts on its new stack at the trapped rip: put
		 * its registers there, below a slot for the return */
		greg_t *regs = (greg_t *)((stack - (long)(NGREG * sizeof(greg_t))) &
					  ~15l);
		memcpy(regs, g, NGREG * sizeof(greg_t));
		regs[REG_RSP] = stack;
		return retro_clone_child(flags, (long)regs, g[REG_RDX],
					 g[REG_R10], g[REG_R8], regs);
	}
	/* CLONE_VM without a stack: nothing sane can share this frame */
	return -EINVAL;
}

/* ---- the handler ---------------------------------------------------------- */

void retro_trap_debug(int on)
{
	trap_debug = on;
	retro_rewrite_debug = on;
}

/* RETRO_TRAP_DEBUG: "T<tid> <nr>" for each trapped call, on stderr. */
static void debug_line(long nr)
{
	char b[64];
	size_t n = 0;

	b[n++] = 'T';
	n += retro_utoa(b + n, (uint64_t)retro_sys0(SYS_gettid));
	b[n++] = ' ';
	n += retro_utoa(b + n, (uint64_t)nr);
	b[n++] = '\n';
	retro_sys3(SYS_write, 2, b, n);
}

static void chain(int sig, siginfo_t *si, void *ucv)
{
	struct ksigaction *p = &prog_sigsys;

	if (p->handler == SIG_IGN)
		return;
	if (p->handler == SIG_DFL) {
		/* as the kernel would: die of SIGSYS */
		struct ksigaction dfl = { SIG_DFL, 0, NULL, 0 };
		ksigaction(SIGSYS, &dfl, NULL);
		retro_sys2(SYS_kill, retro_sys0(SYS_getpid), SIGSYS);
		return;
	}
	if (p->flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))p->handler)(sig, si, ucv);
	else
		((void (*)(int))p->handler)(sig);
}

int retro_trap_plain(long nr)
{
	switch (nr) {
	case SYS_rt_sigaction:
	case SYS_rt_sigprocmask:
	case SYS_clone:
	case SYS_clone3:
	case SYS_io_uring_setup:
	case SYS_fork:
	case SYS_vfork:
	case SYS_rt_sigsuspend:
	case SYS_ppoll:
	case SYS_epoll_pwait:
	case SYS_pselect6:
		return 0; /* the handler's own cases below */
	default:
		return nr >= 0;
	}
}

static void handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	char prev = retro_selector;
	int e = errno;
	long nr, ret;

	retro_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	if (si->si_code != SYS_USER_DISPATCH) {
		chain(sig, si, ucv);
		goto out;
	}
	nr = g[REG_RAX];
	if (trap_debug)
		debug_line(nr);
	switch (nr) {
	case SYS_rt_sigaction:
		ret = emu_sigaction(g[REG_RDI], (void *)g[REG_RSI],
				    (void *)g[REG_RDX], g[REG_R10]);
		retro_rewrite_site((uint64_t)g[REG_RIP], nr);
		break;
	case SYS_rt_sigprocmask:
		ret = emu_sigprocmask(uc, g[REG_RDI], (void *)g[REG_RSI],
				      (void *)g[REG_RDX], g[REG_R10]);
		retro_rewrite_site((uint64_t)g[REG_RIP], nr);
		break;
	case SYS_clone:
		if (!(g[REG_RDI] & CLONE_VM))
			retro_fork_prepare();
		ret = emu_clone(g);
		if (ret == 0) {
			/* a fork-like child, here in the handler: it has no
			 * layer armed yet (clone drops it) */
			retro_fork_child();
			retro_trap_arm();
		} else if (!(g[REG_RDI] & CLONE_VM)) {
			retro_fork_parent();
		}
		break;
	case SYS_clone3:
		/* glibc falls back to clone, which we can start on its new
		 * stack; clone3's argument block is not handled yet */
		ret = -ENOSYS;
		break;
	case SYS_io_uring_setup:
		/* its I/O goes through shared rings the layer cannot see */
		retro_unsupported(1, NULL);
		ret = retro_sys6(nr, g[REG_RDI], g[REG_RSI], g[REG_RDX],
				 g[REG_R10], g[REG_R8], g[REG_R9]);
		break;
	case SYS_fork:
	case SYS_vfork:
		retro_off_forget_all();
		retro_fork_prepare();
		ret = retro_sys0(SYS_fork);
		if (ret == 0) {
			retro_fork_child();
			retro_trap_arm();
		} else {
			retro_fork_parent();
		}
		break;
	default: {
		long a[6] = { g[REG_RDI], g[REG_RSI], g[REG_RDX],
			      g[REG_R10], g[REG_R8], g[REG_R9] };
		uint64_t mask;
		struct { uint64_t ss; uint64_t len; } ps;
		/* masks that hold only for the call: a signal handler run
		 * inside it must still be able to trap */
		int mi = nr == SYS_rt_sigsuspend ? 0
			 : nr == SYS_ppoll ? 3
			 : nr == SYS_epoll_pwait ? 4
			 : -1;
		if (mi >= 0 && a[mi]) {
			mask = *(const uint64_t *)a[mi] & ~SIGSYS_BIT;
			a[mi] = (long)&mask;
		} else if (nr == SYS_pselect6 && a[5]) {
			memcpy(&ps, (const void *)a[5], sizeof ps);
			if (ps.ss) {
				mask = *(const uint64_t *)ps.ss & ~SIGSYS_BIT;
				ps.ss = (uint64_t)&mask;
				a[5] = (long)&ps;
			}
		}
		{
			const void *uc0 = retro_trap_uc;
			retro_trap_uc = ucv;
			ret = retro_trapped(nr, a, (uint64_t)g[REG_RIP],
					    (uint64_t)g[REG_RSP], prev);
			retro_trap_uc = uc0;
		}
		retro_rewrite_site((uint64_t)g[REG_RIP], nr);
		break;
	}
	}
	g[REG_RAX] = ret;
out:
	errno = e;
	retro_selector = prev;
}
