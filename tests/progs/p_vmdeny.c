/* p_vmdeny FILE: appends "x" to FILE from site(), then installs a seccomp
 * filter that refuses process_vm_readv (as a sandboxing program may) and
 * appends three more from other call sites.  The recorder validates the
 * addresses it unwinds through with process_vm_readv; refused, it must go
 * back to libunwind's own check, and keep recording call sites. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
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
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_vm_readv, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1 /* EPERM */),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof f / sizeof f[0], f };

	if (argc != 2) {
		fprintf(stderr, "usage: p_vmdeny FILE\n");
		return 2;
	}
	site(argv[1]);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("p_vmdeny: seccomp");
		return 1;
	}
	site(argv[1]);
	site(argv[1]);
	site(argv[1]);
	return 0;
}
