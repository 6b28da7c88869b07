/* Raw system calls for lib/'s own I/O.
 *
 * The shim must never call an intercepted function from inside itself, so the
 * recording runtime talks to the kernel directly.  Each returns the kernel's
 * result: a non-negative value, or -errno.  errno is never touched. */
#ifndef RETRO_SYS_H
#define RETRO_SYS_H

#include <stdint.h>
#include <sys/syscall.h>

static inline long retro_sys6(long nr, long a, long b, long c, long d, long e,
			      long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
			   "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define retro_sys0(n) retro_sys6((n), 0, 0, 0, 0, 0, 0)
#define retro_sys1(n, a) retro_sys6((n), (long)(a), 0, 0, 0, 0, 0)
#define retro_sys2(n, a, b) retro_sys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define retro_sys3(n, a, b, c) \
	retro_sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define retro_sys4(n, a, b, c, d) \
	retro_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define retro_sys5(n, a, b, c, d, e)                                    \
	retro_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d),     \
		   (long)(e), 0)

/* Decimal digits of v into buf, NUL-terminated (snprintf is not
 * async-signal-safe).  Returns the number of digits. */
static inline size_t retro_utoa(char *buf, uint64_t v)
{
	char tmp[24];
	size_t n = 0, i = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		buf[i++] = tmp[--n];
	buf[i] = 0;
	return i;
}

/* The 16 hexadecimal digits of v into buf, NUL-terminated. */
static inline void retro_hex64(char *buf, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 16; i++)
		buf[i] = hex[(v >> (60 - 4 * i)) & 15];
	buf[16] = 0;
}

#endif
