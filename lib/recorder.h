/* The recording runtime: what every interposer in shim/ calls.
 *
 * An interposer does
 *
 *     struct retro_call c;
 *     if (!retro_enter(&c, RC_read))
 *             return real_read(fd, buf, n);
 *     c.v[0] = fd; c.v[1] = (uintptr_t)buf; c.v[2] = n;
 *     retro_intent(&c);
 *     ssize_t r = real_read(fd, buf, n);
 *     retro_result(&c, r);
 *     return r;
 *
 * retro_enter returns 0 when the call must pass through unrecorded (not
 * recording, or called from inside the shim).  retro_intent decodes the
 * arguments by their kinds in calls.def and logs the intent; retro_result
 * completes the action.  Both leave errno as the program would see it. */
#ifndef RETRO_RECORDER_H
#define RETRO_RECORDER_H

#include <stdint.h>
#include <sys/single_threaded.h>
#include <sys/types.h>
#include <time.h>
#include <retro/calls.h>
#include "spool.h"

struct retro_thread;

/* The Syscall User Dispatch selector of this thread (trap.c): ALLOW (0)
 * while the thread is inside an interposer, BLOCK (1) otherwise once the
 * trap layer is armed. */
extern __thread volatile char retro_selector
	__attribute__((tls_model("initial-exec"), visibility("hidden")));

/* 1 for the system calls that a rewritten site's stub (rewrite.c) makes
 * at once, without the extended state saved and without a call into C:
 * the ones retro_trapped neither records nor emulates, only performs. */
#define RETRO_TRAP_NPASS 512
extern uint8_t retro_trap_pass[RETRO_TRAP_NPASS]
	__attribute__((visibility("hidden")));

/* The signal context of the trapped system call that the SIGSYS handler
 * is recording on this thread (trap.c), or NULL: the call site is
 * unwound from the interrupted registers, not through the signal frame. */
extern __thread const void *retro_trap_uc
	__attribute__((tls_model("initial-exec"), visibility("hidden")));

struct retro_call {
	struct retro_thread *t;
	struct retro_rec_action *rec;
	int call;
	int e0;
	uint32_t datacap;
	uint16_t flags;
	uint64_t v[RETRO_MAXARGS];
	uint64_t obj;
	int fd; /* first fd argument, or -1 */
	uint64_t ra, sp; /* the interposer's return address and frame */
	uint64_t pathid; /* the last path argument, absolute, interned */
	const char *abs;
	char sel; /* the selector before retro_enter set ALLOW */
	char reg; /* an open: its path named a regular file just before
		   * (set by retro_open_pre) */
	char excl; /* an open: to be issued with O_EXCL first (ditto) */
	char skip;    /* shepherd mode: the call is not issued (a squeezed
		       * sleep); the interposer returns sret */
	char blocked; /* shepherd mode: announced as blocking */
	int64_t sret;
	int serr;     /* ...and its errno, when sret is -1 (set by shep_intent,
		       * like alarm: read only in shepherd mode) */
	char alarm;   /* shepherd mode: the process's alarm cut the sleep */
	char vtfd;    /* shepherd mode: a read of a timerfd on V, or a wait
		       * on descriptors that a timerfd's expiry may end... */
	int64_t tfd_left; /* ...before its own timeout (ns, -1: none) */
	int64_t tfd_at;   /* ...at this moment on V */
	char atime_known; /* shepherd mode, a read of a file: its access */
	struct timespec atime0; /* time before the call */
};

/* Called in the interposer itself, right after retro_enter: identifies
 * the call site cheaply so that its stack can come from a cache. */
#define RETRO_SITE(c)                                                     \
	((c).ra = (uint64_t)(uintptr_t)__builtin_return_address(0),       \
	 (c).sp = (uint64_t)(uintptr_t)__builtin_frame_address(0))

/* The fast path (recorder.c): an open from the working directory without
 * O_CREAT, O_TRUNC or O_TMPFILE, and a close of a descriptor the recorder
 * knows.  retro_fast_open and retro_fast_close return 1 when they took
 * the call: the interposer then issues it and calls the matching _done
 * with its result.  They return 0, having done nothing, when the call
 * must go the general way (retro_enter ...). */
struct retro_fast {
	struct retro_thread *t;
	struct retro_rec_action *rec;
	const char *abs;
	uint64_t pathid;
	int e0;
	char sel;
};
int retro_fast_open(struct retro_fast *f, int call, int dirfd,
		    const char *path, int flags, unsigned mode, uint64_t ra,
		    uint64_t sp);
void retro_fast_open_done(struct retro_fast *f, int fd, int flags);
int retro_fast_close(struct retro_fast *f, int fd, uint64_t ra, uint64_t sp);
void retro_fast_close_done(struct retro_fast *f, int fd, int r);

int retro_enter(struct retro_call *c, int call);
/* Shepherd mode: c sets the realtime clock to ns; moves V (shepherd.h). */
int retro_call_setclock(struct retro_call *c, int64_t ns);
void retro_intent(struct retro_call *c);
void retro_result(struct retro_call *c, int64_t ret);

/* Marks the action as having created its object (open O_CREAT, mkdir). */
void retro_note_created(struct retro_call *c);

/* ---- hooks for the hand-written interposers ------------------------------- */

/* Counts a clock read; records it when RETRO_TIME_READS=1.  Returns 1 when
 * the read must be recorded as an action. */
int retro_timeread(void);

/* Before open-like calls: captures the pre-image of a file that O_TRUNC is
 * about to empty, and notes whether O_CREAT will create it.  With
 * try_excl, an open that may create its file can be marked instead
 * (c->excl) to be issued with O_EXCL added: if that fails, the caller
 * calls retro_open_excl_failed and issues the open as it was. */
void retro_open_pre(struct retro_call *c, int dirfd, const char *path,
		    int flags, int try_excl);
/* The open marked c->excl failed with err: does the work retro_open_pre
 * left out, corrects the recorded intent, and leaves errno as it was
 * before the call. */
void retro_open_excl_failed(struct retro_call *c, int dirfd, const char *path,
			    int flags, int err);
/* After a successful open: binds the new descriptor to its path. */
void retro_open_post(struct retro_call *c, int fd, int dirfd,
		     const char *path, int flags);

/* Descriptor bookkeeping for dup, fcntl(F_DUPFD) and pipe. */
void retro_fd_dup(int oldfd, int newfd);
void retro_fd_pipe(const int fds[2]);
void retro_fd_forget(int fd);

/* Bytes a call put into fd at off without a user buffer (copy_file_range,
 * sendfile, splice, FICLONE): read back and kept.  off < 0: where fd's
 * offset was before the call moved it by n; n < 0: the whole file. */
void retro_landed_fd(struct retro_call *c, int fd, int64_t off, int64_t n);

/* Writable shared file mappings (see recorder.c). */
int retro_maps_active(void);
void retro_mapped(struct retro_call *c, void *addr, size_t len, int fd,
		  int64_t off);
void retro_map_flush(struct retro_call *c, void *addr, size_t len, int unmap);

/* fork: retro_fork_prepare runs in the parent before it (from
 * pthread_atfork too), retro_fork_parent in the parent after it,
 * retro_fork_child in the child. */
void retro_fork_prepare(void);
void retro_fork_parent(void);
void retro_fork_child(void);

/* exec: prepares the handoff to the next image and, unless the user opted
 * out, an environment that keeps recording (the original envp when nothing
 * is missing).  retro_exec_failed undoes the handoff. */
char *const *retro_exec_prepare(char *const *envp);

/* Before an exec of file (searched on PATH when search): says in the store
 * when the program cannot be recorded (static, setuid). */
void retro_exec_target(const char *file, int search);

/* Says in the store that something is seen but not recorded:
 * 1 io_uring, 2 a static program, 3 a setuid/setgid program. */
void retro_unsupported(int what, const char *path);
/* File offsets the recorder keeps (recorder.c, off_usable).  forget_all:
 * open file descriptions may now be shared with another process (a clone
 * or fork the trap layer makes), and no file opened before keeps its
 * offset again.  disable: not every call is seen any more (a clone that
 * shares the descriptor table, io_uring). */
void retro_off_forget_all(void);
void retro_off_disable(void);
void retro_exec_failed(char *const *newenv, char *const *envp);

/* posix_spawn: the same environment completion, without a handoff. */
char *const *retro_spawn_env(char *const *envp);
void retro_spawn_env_free(char *const *env, char *const *envp);

/* clock_settime or settimeofday succeeded: re-anchor the clock map. */
void retro_clock_stepped(void);

/* The process is ending with status (exit, _exit). */
void retro_exiting(int status);

/* 1 while the calling thread is inside the shim (its own calls pass
 * through unrecorded). */
int retro_internal(void);

/* Moves descriptors that the shim's libraries open for themselves (the
 * libunwind pipe) to high numbers, out of the program's way; a pair is
 * noted as libunwind's, which the recorder closes once it validates
 * addresses without it. */
void retro_internal_fds(int *fds, int n);

/* ---- the trap layer (trap.c) --------------------------------------------- */

/* Installs the SIGSYS handler for code outside [lo, hi).  Returns 0 or
 * ENOSYS. */
int retro_trap_setup(uint64_t lo, uint64_t hi);
/* Arms Syscall User Dispatch for the calling thread.  Returns 0 or an
 * errno value (EINVAL: the kernel lacks it). */
int retro_trap_arm(void);
int retro_trap_active(void);
/* Prints each trapped call's number on stderr (RETRO_TRAP_DEBUG=1). */
void retro_trap_debug(int on);
/* Records (when modelled) and performs a trapped system call; returns the
 * kernel's result.  rip and sp identify the call site; sel is the selector
 * when the call trapped, in force again while the call runs. */
long retro_trapped(long nr, long a[6], uint64_t rip, uint64_t sp, char sel);
/* Whether the trap layer hands system call nr to retro_trapped as it is
 * (0 for those it treats itself: signal masks and actions, clone, fork,
 * vfork, io_uring_setup).  The shim's syscall() calls retro_trapped
 * directly for those, without a trap. */
int retro_trap_plain(long nr);
/* rt_sigaction and rt_sigprocmask (arguments a) from a rewritten site:
 * what the handler does for them, outside a signal frame (trap.c). */
long retro_trap_sigcall(long nr, const long a[6]);
/* The trap layer's handler, after performing call nr that trapped with
 * its instruction ending at after: rewrites the site to call the shim
 * directly from then on, when it can (rewrite.c says when). */
void retro_rewrite_site(uint64_t after, long nr);
/* In a forked child: a patch another thread was making is not. */
void retro_rewrite_atfork(void);
/* Finds where the C library's and the loader's code lie (not from a signal
 * handler: it asks the loader). */
void retro_rewrite_init(void);
/* At a process's start, single-threaded: rewrites the sites that earlier
 * processes of the same program (prog: a hash of its build-id or path)
 * recording into the spool directory dir rewrote (noted there by
 * retro_rewrite_flush).  Returns how many. */
int retro_rewrite_preload(const char *dir, uint64_t prog);
/* Notes in dir the sites this process rewrote since its start (at its
 * exit, and before an exec). */
void retro_rewrite_flush(const char *dir);
/* RETRO_TRAP_DEBUG: say when a rewritten site traps again. */
extern int retro_rewrite_debug;
/* Set once a thread shares this address space by a clone the trap layer
 * made (pthread_create says so in __libc_single_threaded). */
extern int retro_rewrite_shared_vm;

/* Whether this is the only thread of the address space.  The C library
 * knows about pthread_create (a thread once made leaves it false for
 * good), the trap layer about raw clones that share the memory. */
static inline int retro_alone(void)
{
	return __libc_single_threaded && !retro_rewrite_shared_vm;
}

/* Program signal handlers (trap.c installs them behind a wrapper).  The
 * wrapper asks retro_sig_defer whether the recorder holds the thread's state
 * (1: the signal is kept and delivered later, 0: run the handler now);
 * retro_sig_deliver runs a kept signal's handler, with its mask. */
#include <signal.h>
int retro_sig_defer(int sig, const siginfo_t *si);
void retro_sig_deliver(int sig, siginfo_t *si);
/* Without the trap layer: sigaction through libc's real, with the wrapper. */
int retro_sig_libc(int sig, const struct sigaction *act, struct sigaction *old,
		   int (*real)(int, const struct sigaction *, struct sigaction *));

/* A new thread starts: make its state (and arm the trap layer). */
void retro_thread_begin(void);

/* Library constructor and destructor.  retro_fini(1), the destructor,
 * first writes what stdio buffers (exit would, after our destructor);
 * retro_fini(0) is for _exit and _Exit, which never flush it. */
void retro_init(void);
void retro_fini(int flush);
/* The constructor's: retro_init, with the arguments glibc passes to an
 * ELF constructor (the image's argc and argv). */
void retro_init_args(int argc, char **argv);

/* Returns 1 while the process records. */
int retro_recording(void);

/* Resolves a libc function for the shim (dlsym RTLD_NEXT). */
void *retro_real(const char *name, void **slot);

#endif
