/* p_vmdeny FILE: appends "x" to FILE from site(), then installs a seccomp
 * filter that refuses process_vm_readv (as a sandboxing program may) and
 * appends three more from other call sites.  The recorder validates the
 * addresses it unwinds through with process_vm_readv; refused, it must go
 * back to libunwind's own check, and keep recording call sites. */
#define _GNU_SOURCE
#include "deny.h"
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((noinline)) static void site(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);

	if (fd >= 0) {
		write(fd, "x", 1);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: p_vmdeny FILE\n");
		return 2;
	}
	site(argv[1]);
	if (deny_syscall(SYS_process_vm_readv)) {
		perror("p_vmdeny: seccomp");
		return 1;
	}
	site(argv[1]);
	site(argv[1]);
	site(argv[1]);
	return 0;
}
