/* Which interposed calls the shim may make as one system call of its own
 * (shim.h, SHIM_GEN): the ones whose libc wrapper on x86-64 is exactly that
 * system call with the same arguments.  libc's wrapper does more only for
 * cancellation (a cancellation point in a process with threads), so this
 * is used only while the process has one thread (__libc_single_threaded,
 * which glibc also clears when a lone thread cancels itself: its next
 * cancellation point is then libc's).
 *
 * Why: the call then leaves from the shim's text, which Syscall User
 * Dispatch lets through on an address compare, where libc's syscall
 * instruction makes the kernel read the thread's selector byte too; and
 * libc's wrapper is one call less.  About 25 ns of a recorded pwrite. */
#include "config.h"
#include "shim.h"

#include <sys/syscall.h>

const short shim_direct_nr[RC_NCALLS] = {
	[RC_read] = SYS_read,
	[RC_write] = SYS_write,
	[RC_pread] = SYS_pread64,
	[RC_pread64] = SYS_pread64,
	[RC_pwrite] = SYS_pwrite64,
	[RC_pwrite64] = SYS_pwrite64,
	[RC_readv] = SYS_readv,
	[RC_writev] = SYS_writev,
	/* close too, but its interposer is written out (files.c) */
	[RC_lseek] = SYS_lseek,
	[RC_lseek64] = SYS_lseek,
	[RC_fsync] = SYS_fsync,
	[RC_fdatasync] = SYS_fdatasync,
};
