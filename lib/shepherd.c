/* The shim's side of shepherd mode (see shepherd.h).  Everything here runs
 * inside the recorded threads' own calls, with raw system calls only. */
#define _GNU_SOURCE
#define RETRO_SHIM_SIDE
#include "config.h"
#include "shepherd.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sys.h"

int retro_shep_on;

/* The process's alarm (alarm, setitimer ITIMER_REAL: one timer), as a
 * moment on V (monotonic ns), 0: none; and its period, 0: none. */
static int64_t alarm_at, alarm_every;

/* Forks of this image so far, and which fork of its parent made it. */
static uint32_t nforks, forkno;

/* The recorded parent's pid, 0 when the driver gave none, and the live
 * parent the process began with (SHR_PPID). */
static int32_t ppid_rec, ppid_live;

static struct sockaddr_un addr;
static socklen_t addrlen;

static __thread int conn __attribute__((tls_model("initial-exec"))) = -1;
static __thread int32_t conn_pid
	__attribute__((tls_model("initial-exec")));
static __thread int64_t vbase, cpubase, rtoff
	__attribute__((tls_model("initial-exec")));
/* The last monotonic moment this thread's clocks gave: the driver's
 * next moment can be earlier than the CPU time spent since its last
 * reply made the clock, and a clock must not go back. */
static __thread int64_t vlast __attribute__((tls_model("initial-exec")));
static __thread uint32_t rflags
	__attribute__((tls_model("initial-exec")));
static __thread uint32_t my_thread
	__attribute__((tls_model("initial-exec")));
static __thread int last_err, last_valid
	__attribute__((tls_model("initial-exec")));
/* RETRO_SH_FEED_MAX bytes, mapped at a thread's first fed input */
static __thread unsigned char *feed
	__attribute__((tls_model("initial-exec")));
static __thread int feedlen __attribute__((tls_model("initial-exec")));
static __thread int64_t skip_ret __attribute__((tls_model("initial-exec")));
static __thread int skip_status __attribute__((tls_model("initial-exec")));

void retro_shep_result(int err)
{
	last_err = err;
	last_valid = 1;
}

void retro_shep_init(void)
{
	const char *s = getenv("RETRO_SHEPHERD");
	size_t n;

	if (!s || !*s)
		return;
	n = strlen(s);
	if (n + 1 >= sizeof addr.sun_path)
		return;
	addr.sun_family = AF_UNIX;
	addr.sun_path[0] = 0; /* abstract: no file in any root */
	memcpy(addr.sun_path + 1, s, n);
	addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	retro_shep_on = 1;
}

static int64_t cpu_ns(void)
{
	struct timespec ts;

	if (retro_sys2(SYS_clock_gettime, CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The driver's answer to a call usually comes within a few microseconds,
 * but a thread that sleeps in read() waits for the scheduler to wake it
 * on this vCPU, some 25 us more here: look for the answer without
 * blocking a few times first.  Returns what the last look returned. */
#define SPIN_LOOKS 100
static long spin_read(void *buf, size_t len)
{
	long n = -EAGAIN;

	for (int i = 0; i < SPIN_LOOKS && n == -EAGAIN; i++)
		n = retro_sys6(SYS_recvfrom, conn, (long)buf, (long)len,
			       MSG_DONTWAIT, 0, 0);
	return n;
}

static int exchange(struct retro_sh_msg *m)
{
	struct retro_sh_reply r;
	long n;

	size_t len = RETRO_SH_MSG_HDR + strnlen(m->pathstr, sizeof m->pathstr - 1) + 1;

	m->pathstr[sizeof m->pathstr - 1] = 0;
	m->cpu = cpu_ns();
	m->prev_err = last_err;
	m->prev_valid = (uint32_t)last_valid;
	last_valid = 0;
	if (retro_sys3(SYS_write, conn, m, len) != (long)len)
		return -1;
	if (m->type == SH_BLOCK && !(m->flags & SHF_ASK))
		return 0;
	/* After a timed wait woke by itself, the driver may have said its
	 * deadline came just before it heard of the wake: that word is
	 * stale. */
	do {
		n = spin_read(&r, sizeof r);
		while (n == -EINTR || n == -EAGAIN)
			n = retro_sys3(SYS_read, conn, &r, sizeof r);
		if (n != (long)sizeof r)
			return -1;
	} while ((r.flags & SHR_TIMEOUT) && m->type == SH_WAKE);
	vbase = r.v;
	cpubase = cpu_ns();
	rtoff = r.rtoff;
	rflags = r.flags;
	skip_ret = r.ret;
	skip_status = r.status;
	feedlen = -1;
	if (r.flags & SHR_DATA) {
		if (!feed) {
			long p = retro_sys6(SYS_mmap, 0, RETRO_SH_FEED_MAX,
					    PROT_READ | PROT_WRITE,
					    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p >= 0 || p <= -4096)
				feed = (unsigned char *)p;
		}
		if (!feed) {
			/* no room for the bytes: the packet is read all the
			 * same (the next answer follows it), and the call
			 * goes unfed */
			unsigned char skip;
			do
				n = retro_sys3(SYS_read, conn, &skip, 1);
			while (n == -EINTR);
			return n < 0 ? -1 : 0;
		}
		do
			n = retro_sys3(SYS_read, conn, feed, RETRO_SH_FEED_MAX);
		while (n == -EINTR);
		if (n < 0)
			return -1;
		feedlen = (int)n;
	}
	return 0;
}

int retro_shep_answered(int64_t *ret, int *status)
{
	if (!(rflags & SHR_SKIP))
		return 0;
	*ret = skip_ret;
	*status = skip_status;
	return 1;
}

int retro_shep_named(void)
{
	return (rflags & SHR_NAME) != 0;
}

long retro_shep_fed(void *buf, size_t n)
{
	long k = feedlen;

	if (k < 0)
		return -1;
	feedlen = -1;
	if ((size_t)k > n)
		k = (long)n;
	memcpy(buf, feed, (size_t)k);
	return k;
}

long retro_shep_fedv(const struct iovec *iov, int n)
{
	long k = feedlen, done = 0;

	if (k < 0)
		return -1;
	feedlen = -1;
	for (int i = 0; i < n && done < k; i++) {
		size_t m = iov[i].iov_len;
		if (m > (size_t)(k - done))
			m = (size_t)(k - done);
		memcpy(iov[i].iov_base, (const char *)feed + done, m);
		done += (long)m;
	}
	return done;
}

static int connect_driver(uint32_t thread)
{
	struct retro_sh_msg h;
	long fd, hi;

	fd = retro_sys3(SYS_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (retro_sys3(SYS_connect, fd, &addr, addrlen) < 0) {
		retro_sys1(SYS_close, fd);
		return -1;
	}
	/* out of the program's way, as the shim's other descriptors */
	hi = retro_sys3(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 900);
	if (hi >= 0) {
		retro_sys1(SYS_close, fd);
		fd = hi;
	}
	conn = (int)fd;
	conn_pid = (int32_t)retro_sys0(SYS_getpid);
	my_thread = thread;
	memset(&h, 0, RETRO_SH_MSG_HDR + 1);
	h.type = SH_HELLO;
	h.pid = conn_pid;
	h.ppid = (int32_t)retro_sys0(SYS_getppid);
	h.tid = (int32_t)retro_sys0(SYS_gettid);
	h.thread = thread;
	h.forkno = forkno;
	if (exchange(&h) < 0) {
		retro_sys1(SYS_close, conn);
		conn = -1;
		return -1;
	}
	if (rflags & SHR_PPID) {
		ppid_live = h.ppid;
		ppid_rec = (int32_t)skip_ret;
	}
	return 0;
}

static int ready(uint32_t thread)
{
	if (conn >= 0 && conn_pid == (int32_t)retro_sys0(SYS_getpid))
		return 0;
	return connect_driver(thread ? thread : my_thread);
}

int64_t retro_shep_send(struct retro_sh_msg *m, uint32_t thread)
{
	if (!retro_shep_on || ready(thread) < 0)
		return -1;
	m->pid = conn_pid;
	m->tid = (int32_t)retro_sys0(SYS_gettid);
	m->thread = thread;
	if (exchange(m) < 0) {
		/* The program closed or replaced our descriptor: once more on a
		 * new connection; the driver counts it as the same thread. */
		conn = -1;
		if (ready(thread) < 0 || exchange(m) < 0)
			return -1;
	}
	return vbase;
}

int retro_shep_block(struct retro_sh_msg *m, uint32_t thread)
{
	m->type = SH_BLOCK;
	return retro_shep_send(m, thread) < 0 ? -1 : 0;
}

int retro_shep_timed_out(void)
{
	struct retro_sh_reply r;
	long n;

	if (conn < 0)
		return 0;
	n = retro_sys6(SYS_recvfrom, conn, (long)&r, sizeof r, MSG_DONTWAIT,
		       0, 0);
	if (n != (long)sizeof r || !(r.flags & SHR_TIMEOUT))
		return 0;
	vbase = r.v;
	cpubase = cpu_ns();
	rtoff = r.rtoff;
	rflags = r.flags;
	return 1;
}

int retro_shep_setclock(int64_t ns, uint32_t thread)
{
	struct retro_sh_msg m;

	memset(&m, 0, RETRO_SH_MSG_HDR + 1);
	m.type = SH_SETCLOCK;
	m.arg = ns;
	m.timeout = -1;
	if (retro_shep_send(&m, thread) < 0 || (rflags & SHR_DENIED))
		return -EPERM;
	return 0;
}

int retro_shep_clock(clockid_t clk, struct timespec *ts)
{
	int64_t v;

	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_TAI:
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
		break;
	default:
		return -1; /* CPU-time clocks and the rest stay real */
	}
	if (!retro_shep_on || ready(0) < 0 || (rflags & SHR_NAIVE))
		return -1;
	v = vbase + (cpu_ns() - cpubase);
	if (v < vlast)
		v = vlast;
	vlast = v;
	if (clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE ||
	    clk == CLOCK_TAI)
		v += rtoff;
	ts->tv_sec = v / 1000000000;
	ts->tv_nsec = v % 1000000000;
	return 0;
}

static int64_t vnow(void)
{
	struct timespec ts;

	if (retro_shep_clock(CLOCK_MONOTONIC, &ts) < 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int retro_shep_alarm(unsigned secs, unsigned *prev)
{
	int64_t now = vnow();

	if (now < 0)
		return -1;
	*prev = 0;
	if (alarm_at) {
		/* as the kernel rounds: to the nearest second, at least 1 */
		int64_t left = alarm_at > now ? alarm_at - now : 0;
		*prev = (unsigned)(left / 1000000000 +
				   (left % 1000000000 >= 500000000));
		if (!*prev)
			*prev = 1;
	}
	alarm_at = secs ? now + (int64_t)secs * 1000000000 : 0;
	alarm_every = 0;
	return 0;
}

static int64_t tv_ns(const struct timeval *tv)
{
	return (int64_t)tv->tv_sec * 1000000000 + (int64_t)tv->tv_usec * 1000;
}

static void ns_tv(int64_t ns, struct timeval *tv)
{
	tv->tv_sec = ns / 1000000000;
	tv->tv_usec = (ns % 1000000000) / 1000;
}

int retro_shep_itimer(const struct itimerval *set, struct itimerval *old)
{
	int64_t now = vnow();

	if (now < 0)
		return -1;
	if (old) {
		int64_t left = alarm_at ? alarm_at - now : 0;
		/* a timer that is due but has not rung yet: the kernel says
		 * a moment, not zero, which would mean disarmed */
		ns_tv(alarm_at && left < 1000 ? 1000 : left, &old->it_value);
		ns_tv(alarm_every, &old->it_interval);
	}
	if (set) {
		int64_t v = tv_ns(&set->it_value);
		alarm_at = v ? now + v : 0;
		alarm_every = v ? tv_ns(&set->it_interval) : 0;
	}
	return 0;
}

int64_t retro_shep_alarm_in(void)
{
	int64_t now;

	if (!alarm_at || (now = vnow()) < 0)
		return -1;
	return alarm_at > now ? alarm_at - now : 0;
}

void retro_shep_alarm_fire(void)
{
	/* a periodic timer's next expiry; the ones already missed are
	 * one signal, as pending signals of one kind merge */
	if (alarm_every) {
		int64_t now = vnow();
		do
			alarm_at += alarm_every;
		while (now >= 0 && alarm_at <= now);
	} else {
		alarm_at = 0;
	}
	retro_sys2(SYS_kill, retro_sys0(SYS_getpid), SIGALRM);
}

void retro_shep_alarm_check(void)
{
	if (alarm_at && retro_shep_alarm_in() == 0)
		retro_shep_alarm_fire();
}

void retro_shep_forked(void)
{
	alarm_at = 0; /* a child does not inherit its parent's alarm */
	alarm_every = 0;
	/* The connection is the parent's: the child makes its own. */
	forkno = nforks + 1;
	nforks = 0;
	ppid_rec = 0; /* its own HELLO says */
	if (conn >= 0)
		retro_sys1(SYS_close, conn);
	conn = -1;
}

pid_t retro_shep_ppid(pid_t live)
{
	if (!retro_shep_on || ready(0) < 0)
		return live;
	return ppid_rec > 0 && live == ppid_live ? ppid_rec : live;
}

void retro_shep_forked_parent(void)
{
	nforks++;
}
