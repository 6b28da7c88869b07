/* The shim's side of shepherd mode (see shepherd.h).  Everything here runs
 * inside the recorded threads' own calls, with raw system calls only. */
#define _GNU_SOURCE
#define RETRO_SHIM_SIDE
#include "config.h"
#include "recorder.h"
#include "shepherd.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
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
/* the connection's lane (shepherd.h) once the driver took it, and the
 * messages sent on the socket */
static __thread struct retro_sh_lane *lane
	__attribute__((tls_model("initial-exec")));
static __thread uint64_t sock_sent __attribute__((tls_model("initial-exec")));
/* the descriptor the next socket message carries (the HELLO's lane) */
static __thread int pass_fd __attribute__((tls_model("initial-exec"))) = -1;
static int lane_spin; /* more than one CPU: look for the answer a while */
static __thread int32_t conn_pid, conn_tid
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
/* the HELLO's reply said SHR_TIMEREADS: clock reads go to the driver */
static __thread int time_reads __attribute__((tls_model("initial-exec")));
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
	{
		/* on one CPU, spinning only keeps the driver from answering */
		cpu_set_t cpus;
		lane_spin = retro_sys3(SYS_sched_getaffinity, 0, sizeof cpus,
				       &cpus) > 0 &&
			    CPU_COUNT(&cpus) > 1;
	}
	retro_shep_on = 1;
	retro_shep_started();
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

/* One message on the socket; the HELLO carries its lane (pass_fd). */
static int sock_send(const struct retro_sh_msg *m, size_t len)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { (void *)m, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	long n;

	if (pass_fd >= 0) {
		memset(&cm, 0, sizeof cm);
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof cm.buf;
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&cm.h), &pass_fd, sizeof(int));
	}
	do
		n = retro_sys3(SYS_sendmsg, conn, &mh, MSG_NOSIGNAL);
	while (n == -EINTR);
	return n == (long)len ? 0 : -1;
}

/* Is the driver gone?  (Its end of the socket closed.) */
static int driver_gone(void)
{
	char b;

	return retro_sys6(SYS_recvfrom, conn, (long)&b, 1,
			  MSG_PEEK | MSG_DONTWAIT, 0, 0) == 0;
}

/* About 40 us at 2.5 GHz: the driver answers most calls well within it,
 * and a thread that waits longer sleeps. */
#define LANE_SPIN_CYCLES 100000

/* A message through the lane.  Returns 0 with the answer in *r, 1 when the
 * answer is on the socket, -1 when the driver is gone. */
static int lane_exchange(const struct retro_sh_msg *m, size_t len,
			 struct retro_sh_reply *r)
{
	struct retro_sh_lane *L = lane;
	uint32_t seq = L->req + 1;
	uint64_t t0 = __builtin_ia32_rdtsc();

	memcpy(&L->msg, m, len);
	L->sock_sent = sock_sent;
	__atomic_store_n(&L->req, seq, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&L->drv_sleeps, __ATOMIC_RELAXED)) {
		/* the driver sleeps in poll: wake it */
		struct retro_sh_msg bell;
		memset(&bell, 0, RETRO_SH_MSG_HDR + 1);
		bell.type = SH_LANE;
		bell.pid = m->pid;
		bell.tid = m->tid;
		if (sock_send(&bell, RETRO_SH_MSG_HDR + 1) < 0)
			return -1;
	}
	while (__atomic_load_n(&L->rep, __ATOMIC_ACQUIRE) != seq) {
		uint32_t cur;
		if (lane_spin &&
		    __builtin_ia32_rdtsc() - t0 < LANE_SPIN_CYCLES) {
			__builtin_ia32_pause();
			continue;
		}
		__atomic_store_n(&L->shim_waits, 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		cur = __atomic_load_n(&L->rep, __ATOMIC_ACQUIRE);
		if (cur != seq) {
			/* now and then, see that the driver is still there */
			struct timespec ts = { 0, 100000000 };
			long k = retro_sys6(SYS_futex, (long)&L->rep,
					    FUTEX_WAIT, cur, (long)&ts, 0, 0);
			if (k == -ETIMEDOUT && driver_gone()) {
				__atomic_store_n(&L->shim_waits, 0,
						 __ATOMIC_RELAXED);
				return -1;
			}
		}
		__atomic_store_n(&L->shim_waits, 0, __ATOMIC_RELAXED);
	}
	if (__atomic_load_n(&L->onsock, __ATOMIC_RELAXED))
		return 1;
	*r = L->reply;
	return 0;
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
	if (lane && (m->type == SH_CALL || m->type == SH_SLEEP)) {
		int k = lane_exchange(m, len, &r);
		if (k < 0)
			return -1;
		if (k == 0)
			goto answered;
		goto on_socket; /* and its bytes after it */
	}
	if (sock_send(m, len) < 0)
		return -1;
	sock_sent++;
	if ((m->type == SH_BLOCK && !(m->flags & SHF_ASK)) || m->type == SH_NOTE)
		return 0;
on_socket:
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
answered:
	/* V on the driver's side goes on from the CPU time this message
	 * gave (the wait for the answer, spun, counts as the thread's own
	 * CPU time): one clock read an exchange, and the same clock on both
	 * sides */
	vbase = r.v;
	cpubase = m->cpu;
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
	struct retro_sh_lane *offered = NULL;
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
	sock_sent = 0;
	if (lane) {
		/* an earlier connection's, or the parent's (fork) */
		retro_sys2(SYS_munmap, lane, RETRO_SH_LANE_SIZE);
		lane = NULL;
	}
	{
		/* the lane, offered with the HELLO */
		long mfd = retro_sys2(SYS_memfd_create, "retro-lane",
				      MFD_CLOEXEC);
		if (mfd >= 0) {
			long p = -1;
			if (retro_sys2(SYS_ftruncate, mfd, RETRO_SH_LANE_SIZE) == 0)
				p = retro_sys6(SYS_mmap, 0, RETRO_SH_LANE_SIZE,
					       PROT_READ | PROT_WRITE,
					       MAP_SHARED, mfd, 0);
			if (p >= 0 || p < -4095) {
				offered = (struct retro_sh_lane *)p;
				pass_fd = (int)mfd;
			} else {
				retro_sys1(SYS_close, mfd);
			}
		}
	}
	conn_pid = (int32_t)retro_sys0(SYS_getpid);
	conn_tid = (int32_t)retro_sys0(SYS_gettid);
	my_thread = thread;
	memset(&h, 0, RETRO_SH_MSG_HDR + 1);
	h.type = SH_HELLO;
	h.pid = conn_pid;
	h.ppid = (int32_t)retro_sys0(SYS_getppid);
	h.tid = conn_tid;
	h.thread = thread;
	h.forkno = forkno;
	{
		int r = exchange(&h);
		if (pass_fd >= 0) {
			retro_sys1(SYS_close, pass_fd);
			pass_fd = -1;
		}
		if (r == 0 && offered && (rflags & SHR_LANE))
			lane = offered;
		else if (offered)
			retro_sys2(SYS_munmap, offered, RETRO_SH_LANE_SIZE);
		if (r < 0) {
			retro_sys1(SYS_close, conn);
			conn = -1;
			return -1;
		}
	}
	time_reads = (rflags & SHR_TIMEREADS) != 0;
	if (rflags & SHR_PPID) {
		ppid_live = h.ppid;
		ppid_rec = (int32_t)skip_ret;
	}
	return 0;
}

void retro_shep_thread_gone(void)
{
	/* its lane goes (a call after this one, from another key's
	 * destructor, takes the socket); the driver keeps its own mapping
	 * until the connection closes */
	if (lane) {
		retro_sys2(SYS_munmap, lane, RETRO_SH_LANE_SIZE);
		lane = NULL;
	}
}

/* Is the connection this process's?  A child closes its parent's in
 * retro_shep_forked, which every fork the recorder sees calls; with the
 * trap layer armed it sees every one, else a raw fork could pass unseen,
 * and the pid tells. */
static int ready(uint32_t thread)
{
	if (conn >= 0 && (retro_trap_active() ||
			  conn_pid == (int32_t)retro_sys0(SYS_getpid)))
		return 0;
	return connect_driver(thread ? thread : my_thread);
}

void retro_shep_hello(uint32_t thread)
{
	if (retro_shep_on)
		(void)ready(thread);
}

int64_t retro_shep_send(struct retro_sh_msg *m, uint32_t thread)
{
	if (!retro_shep_on || ready(thread) < 0)
		return -1;
	m->pid = conn_pid;
	m->tid = conn_tid;
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

static int on_v(clockid_t clk)
{
	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_TAI:
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
		return 1;
	default:
		return 0; /* CPU-time clocks and the rest stay real */
	}
}

static int shep_clock(clockid_t clk, struct timespec *ts, int fresh)
{
	int64_t v;

	if (!on_v(clk))
		return -1;
	/* the thread's connection, when it has one: whether it is still
	 * this process's is asked when the thread next talks to the driver */
	if (!retro_shep_on || (conn < 0 && ready(0) < 0) || (rflags & SHR_NAIVE))
		return -1;
	v = vbase + (fresh ? cpu_ns() - cpubase : 0);
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

int retro_shep_clock(clockid_t clk, struct timespec *ts)
{
	return shep_clock(clk, ts, 1);
}

int retro_shep_clock_call(clockid_t clk, struct timespec *ts)
{
	return shep_clock(clk, ts, 0);
}

/* What a program computes from its clock reads (how long a wait took, a
 * timeout) is what it computed when recorded only if each read gives the
 * recorded moment.  V gives it at each recorded action; between two, the
 * recorded thread may have run later than V does (a loaded machine, a
 * stop), by as much as the reads then saw.  When the recording has the
 * reads themselves, each is matched with its recorded one, and the clock
 * is read at that one's moment. */
int retro_shep_clock_read(int call, clockid_t clk, struct timespec *ts)
{
	struct retro_sh_msg m;

	/* connected first (as shep_clock does): the HELLO's reply says
	 * whether the recording has the reads */
	if (!on_v(clk) || !retro_shep_on || (conn < 0 && ready(0) < 0) ||
	    !time_reads || (rflags & SHR_NAIVE))
		return retro_shep_clock(clk, ts);
	memset(&m, 0, RETRO_SH_MSG_HDR + 1);
	m.type = SH_CALL;
	m.call = (uint16_t)call;
	m.timeout = -1;
	m.arg = clk;
	if (retro_shep_send(&m, my_thread) < 0)
		return retro_shep_clock(clk, ts);
	return shep_clock(clk, ts, 0);
}

int64_t retro_shep_now(void)
{
	struct timespec ts;

	if (retro_shep_clock(CLOCK_MONOTONIC, &ts) < 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int retro_shep_alarm(unsigned secs, unsigned *prev)
{
	int64_t now = retro_shep_now();

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
	int64_t now = retro_shep_now();

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

/* ---- POSIX timers and timerfds on V ----------------------------------------
 *
 * A POSIX timer that signals (SIGEV_SIGNAL) or does nothing (SIGEV_NONE)
 * and a timerfd are kept here, on V; the kernel timer behind each is made
 * but never armed.  A due POSIX timer rings where the alarm does (after a
 * clock read, cutting a squeezed sleep short, in a blocked read).  A
 * timerfd is read from here, and a poll, select or epoll wait that holds
 * one ends on V at its expiry: its kernel timer is then armed to expire at
 * once (retro_shep_timerfd_kick), so the kernel says it is readable. */
#define NVTIMERS 64

enum { VT_FREE, VT_POSIX, VT_FD };

struct vtimer {
	int kind;
	int fd;             /* VT_FD */
	int kid;            /* VT_POSIX: the kernel's timer id (si_timerid) */
	int notify, signo;  /* VT_POSIX: SIGEV_SIGNAL or SIGEV_NONE */
	union sigval val;
	int realtime;       /* absolute times are on the realtime clock */
	int64_t at, every;  /* on V (monotonic ns); at 0: disarmed */
	int64_t kicked;     /* VT_FD: the at its kernel timer was made to ring
			     * for (retro_shep_timerfd_kick) */
	int overrun;        /* VT_POSIX: expirations the last signal merged */
};

static struct vtimer vt[NVTIMERS];
static int vt_used; /* slots ever taken: the ones to look at */
static int vt_lock;

static void vt_take(void)
{
	while (__atomic_exchange_n(&vt_lock, 1, __ATOMIC_ACQUIRE))
		retro_sys0(SYS_sched_yield);
}

static void vt_give(void)
{
	__atomic_store_n(&vt_lock, 0, __ATOMIC_RELEASE);
}

/* 1 when this process's time is virtual (not a naive replay). */
static int virtual_time(void)
{
	return retro_shep_on && ready(0) == 0 && !(rflags & SHR_NAIVE);
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static void ns_ts(int64_t ns, struct timespec *ts)
{
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
}

static int its_valid(const struct itimerspec *its)
{
	return its->it_value.tv_nsec >= 0 && its->it_value.tv_nsec < 1000000000 &&
	       its->it_value.tv_sec >= 0 && its->it_interval.tv_sec >= 0 &&
	       its->it_interval.tv_nsec >= 0 &&
	       its->it_interval.tv_nsec < 1000000000;
}

static int is_realtime(clockid_t clk)
{
	return clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_ALARM ||
	       clk == CLOCK_TAI;
}

static struct vtimer *vt_new(void)
{
	for (int i = 0; i < NVTIMERS; i++)
		if (vt[i].kind == VT_FREE) {
			if (i >= vt_used)
				vt_used = i + 1;
			memset(&vt[i], 0, sizeof vt[i]);
			return &vt[i];
		}
	return NULL;
}

static struct vtimer *vt_posix(timer_t id)
{
	for (int i = 0; i < vt_used; i++)
		if (vt[i].kind == VT_POSIX && vt[i].kid == (int)(intptr_t)id)
			return &vt[i];
	return NULL;
}

static struct vtimer *vt_fd(int fd)
{
	for (int i = 0; i < vt_used; i++)
		if (vt[i].kind == VT_FD && vt[i].fd == fd)
			return &vt[i];
	return NULL;
}

/* What is left of t at now, as timer_gettime says it. */
static void vt_get(const struct vtimer *t, int64_t now, struct itimerspec *cur)
{
	int64_t left = t->at ? t->at - now : 0;

	/* due but not yet rung: a moment, not zero, which means disarmed */
	ns_ts(t->at && left < 1 ? 1 : left, &cur->it_value);
	ns_ts(t->every, &cur->it_interval);
}

/* Arms (or disarms) t on V at now, as timer_settime and timerfd_settime
 * do; the old setting into old. */
static void vt_set(struct vtimer *t, int64_t now, int abs,
		   const struct itimerspec *set, struct itimerspec *old)
{
	int64_t v = ts_ns(&set->it_value);

	if (old)
		vt_get(t, now, old);
	t->every = ts_ns(&set->it_interval);
	t->overrun = 0;
	t->kicked = 0; /* the caller disarms the kernel's timer */
	if (!v)
		t->at = 0;
	else if (abs)
		t->at = v - (t->realtime ? rtoff : 0);
	else
		t->at = now + v;
	if (t->at && t->at < now)
		t->at = now; /* a moment past: due at once */
	if (!t->at)
		t->every = 0;
}

/* Expirations of t by now (0: none), and t moved past them. */
static uint64_t vt_expire(struct vtimer *t, int64_t now)
{
	uint64_t n;

	if (!t->at || t->at > now)
		return 0;
	n = 1 + (t->every ? (uint64_t)(now - t->at) / (uint64_t)t->every : 0);
	t->at = t->every ? t->at + (int64_t)n * t->every : 0;
	return n;
}

/* The timer on V of kind (VT_POSIX: key is its timer_t; VT_FD: its
 * descriptor), or NULL. */
static struct vtimer *vt_find(int kind, intptr_t key)
{
	return kind == VT_POSIX ? vt_posix((timer_t)key) : vt_fd((int)key);
}

/* timer_settime and timerfd_settime: 1 when key is no timer on V, else 0
 * or -EINVAL. */
static int vt_settime(int kind, intptr_t key, int abs,
		      const struct itimerspec *set, struct itimerspec *old)
{
	struct vtimer *t;
	int64_t now;

	if (!retro_shep_on || !vt_used || (now = retro_shep_now()) < 0)
		return 1;
	vt_take();
	t = vt_find(kind, key);
	if (t && set && its_valid(set))
		vt_set(t, now, abs, set, old);
	vt_give();
	if (!t)
		return 1;
	return set && its_valid(set) ? 0 : -EINVAL;
}

/* timer_gettime and timerfd_gettime: 1 when key is no timer on V. */
static int vt_gettime(int kind, intptr_t key, struct itimerspec *cur)
{
	struct vtimer *t;
	int64_t now;

	if (!retro_shep_on || !vt_used || (now = retro_shep_now()) < 0)
		return 1;
	vt_take();
	t = vt_find(kind, key);
	if (t) {
		vt_get(t, now, cur);
		/* timerfd_gettime says 0 left once it expired unread */
		if (kind == VT_FD && t->at && t->at <= now)
			ns_ts(0, &cur->it_value);
	}
	vt_give();
	return t ? 0 : 1;
}

void retro_shep_thread_next(void)
{
	struct retro_sh_msg m;

	memset(&m, 0, RETRO_SH_MSG_HDR + 1);
	m.type = SH_THREAD;
	m.timeout = -1;
	retro_shep_send(&m, 0);
}

void retro_shep_note(int kind)
{
	struct retro_sh_msg m;

	if (!virtual_time())
		return; /* naive: nothing is on V */
	memset(&m, 0, RETRO_SH_MSG_HDR + 1);
	m.type = SH_NOTE;
	m.arg = kind;
	m.timeout = -1;
	retro_shep_send(&m, 0);
}

int retro_shep_timer_create(clockid_t clk, const struct sigevent *sev,
			    timer_t *id,
			    int (*real)(clockid_t, struct sigevent *, timer_t *))
{
	struct sigevent none = { .sigev_notify = SIGEV_NONE };
	int notify = sev ? sev->sigev_notify : SIGEV_SIGNAL;
	struct vtimer *t;
	int r;

	if (!virtual_time())
		return 1;
	if ((notify != SIGEV_SIGNAL && notify != SIGEV_NONE) ||
	    (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC &&
	     clk != CLOCK_BOOTTIME && clk != CLOCK_TAI &&
	     clk != CLOCK_REALTIME_ALARM && clk != CLOCK_BOOTTIME_ALARM)) {
		retro_shep_note(SHN_TIMER);
		return 1;
	}
	if (sev && notify == SIGEV_SIGNAL &&
	    (sev->sigev_signo <= 0 || sev->sigev_signo >= NSIG))
		return 1; /* EINVAL, as the kernel says it */
	vt_take();
	t = vt_new();
	if (t)
		t->kind = VT_POSIX; /* held while the kernel's is made */
	vt_give();
	if (!t) {
		retro_shep_note(SHN_TIMER); /* more than NVTIMERS */
		return 1;
	}
	r = real(clk, &none, id);
	if (r < 0) {
		t->kind = VT_FREE;
		return -1;
	}
	t->kid = (int)(intptr_t)*id;
	t->notify = notify;
	t->signo = sev ? sev->sigev_signo : SIGALRM;
	/* without sev: SIGALRM, with the timer id as the value */
	if (sev)
		t->val = sev->sigev_value;
	else
		t->val.sival_int = t->kid;
	t->realtime = is_realtime(clk);
	return 0;
}

int retro_shep_timer_settime(timer_t id, int flags,
			     const struct itimerspec *set,
			     struct itimerspec *old)
{
	return vt_settime(VT_POSIX, (intptr_t)id, flags & TIMER_ABSTIME, set,
			  old);
}

int retro_shep_timer_gettime(timer_t id, struct itimerspec *cur)
{
	return vt_gettime(VT_POSIX, (intptr_t)id, cur);
}

int retro_shep_timer_getoverrun(timer_t id)
{
	struct vtimer *t;
	int r = -1;

	if (!retro_shep_on)
		return -1;
	vt_take();
	t = vt_posix(id);
	if (t)
		r = t->overrun;
	vt_give();
	return r;
}

void retro_shep_timer_delete(timer_t id)
{
	struct vtimer *t;

	if (!retro_shep_on)
		return;
	vt_take();
	t = vt_posix(id);
	if (t)
		t->kind = VT_FREE;
	vt_give();
}

void retro_shep_timerfd_new(int fd, clockid_t clk)
{
	struct vtimer *t;

	if (fd < 0 || !virtual_time())
		return;
	if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC &&
	    clk != CLOCK_BOOTTIME && clk != CLOCK_REALTIME_ALARM &&
	    clk != CLOCK_BOOTTIME_ALARM) {
		retro_shep_note(SHN_TIMERFD);
		return;
	}
	vt_take();
	if ((t = vt_fd(fd)) == NULL)
		t = vt_new();
	if (t) {
		t->kind = VT_FD;
		t->fd = fd;
		t->at = t->every = t->kicked = 0;
		t->realtime = is_realtime(clk);
	}
	vt_give();
	if (!t)
		retro_shep_note(SHN_TIMERFD); /* more than NVTIMERS */
}

void retro_shep_timerfd_gone(int fd)
{
	struct vtimer *t;

	if (!retro_shep_on || !vt_used)
		return;
	vt_take();
	if ((t = vt_fd(fd)) != NULL)
		t->kind = VT_FREE;
	vt_give();
}

/* Disarms fd's kernel timer, which also forgets its expirations: a kick
 * that made it readable is taken back. */
static void kernel_disarm(int fd)
{
	struct itimerspec zero;

	memset(&zero, 0, sizeof zero);
	retro_sys4(SYS_timerfd_settime, fd, 0, (long)&zero, 0);
}

int retro_shep_timerfd_settime(int fd, int flags, const struct itimerspec *set,
			       struct itimerspec *old)
{
	int r = vt_settime(VT_FD, fd, flags & TFD_TIMER_ABSTIME, set, old);

	if (r == 0)
		kernel_disarm(fd);
	return r;
}

int retro_shep_timerfd_gettime(int fd, struct itimerspec *cur)
{
	return vt_gettime(VT_FD, fd, cur);
}

int64_t retro_shep_timerfd_due(int fd)
{
	struct vtimer *t;
	int64_t now, r = -2;

	if (!retro_shep_on || !vt_used || (now = retro_shep_now()) < 0)
		return -2;
	vt_take();
	if ((t = vt_fd(fd)) != NULL)
		r = !t->at ? -1 : t->at > now ? t->at - now : 0;
	vt_give();
	return r;
}

uint64_t retro_shep_timerfd_take(int fd, int slept)
{
	struct vtimer *t;
	int64_t now;
	uint64_t n = 0;

	if (!retro_shep_on || !vt_used || (now = retro_shep_now()) < 0)
		return 0;
	vt_take();
	if ((t = vt_fd(fd)) != NULL) {
		/* the driver may place the end of the sleep a little before
		 * the moment the thread reckoned with (its recorded start
		 * rather than the thread's own clock): it slept to the
		 * expiry all the same */
		if (slept && t->at > now)
			now = t->at;
		n = vt_expire(t, now);
		t->kicked = 0;
	}
	vt_give();
	if (t)
		kernel_disarm(fd);
	return n;
}

int64_t retro_shep_timerfd_next(int64_t *at)
{
	int64_t now, next = 0;

	*at = 0;
	if (!retro_shep_on || !vt_used || (now = retro_shep_now()) < 0)
		return -1;
	vt_take();
	/* the ones made readable do not count; one that expired between a
	 * kick and now does, at once */
	for (int i = 0; i < vt_used; i++)
		if (vt[i].kind == VT_FD && vt[i].at &&
		    vt[i].kicked != vt[i].at && (!next || vt[i].at < next))
			next = vt[i].at;
	vt_give();
	*at = next;
	return !next ? -1 : next > now ? next - now : 0;
}

void retro_shep_timerfd_kick(int64_t upto)
{
	struct itimerspec soon;
	int fds[NVTIMERS], n = 0;
	int64_t now;

	if (!retro_shep_on || !vt_used || (now = retro_shep_now()) < 0)
		return;
	if (upto > now)
		now = upto;
	vt_take();
	for (int i = 0; i < vt_used; i++)
		if (vt[i].kind == VT_FD && vt[i].at && vt[i].at <= now) {
			fds[n++] = vt[i].fd;
			vt[i].kicked = vt[i].at;
		}
	vt_give();
	memset(&soon, 0, sizeof soon);
	soon.it_value.tv_nsec = 1;
	for (int i = 0; i < n; i++)
		retro_sys4(SYS_timerfd_settime, fds[i], 0, (long)&soon, 0);
}

/* The earliest timer that signals: the alarm, or a POSIX timer; its
 * moment on V (0: none) and its signal. */
static int64_t next_signal(int *signo)
{
	int64_t at = alarm_at;
	int sig = SIGALRM;

	if (vt_used) {
		vt_take();
		for (int i = 0; i < vt_used; i++)
			if (vt[i].kind == VT_POSIX && vt[i].at &&
			    vt[i].notify == SIGEV_SIGNAL &&
			    (!at || vt[i].at < at)) {
				at = vt[i].at;
				sig = vt[i].signo;
			}
		vt_give();
	}
	if (signo)
		*signo = sig;
	return at;
}

int64_t retro_shep_alarm_in(void)
{
	int64_t now, at = next_signal(NULL);

	if (!at || (now = retro_shep_now()) < 0)
		return -1;
	return at > now ? at - now : 0;
}

int retro_shep_alarm_signo(void)
{
	int sig;

	next_signal(&sig);
	return sig;
}

/* A POSIX timer's signal, with what the kernel's siginfo says. */
static void timer_signal(const struct vtimer *t, int overrun)
{
	siginfo_t si;

	memset(&si, 0, sizeof si);
	si.si_signo = t->signo;
	si.si_code = SI_TIMER;
	si.si_timerid = t->kid;
	si.si_overrun = overrun;
	si.si_value = t->val;
	retro_sys3(SYS_rt_sigqueueinfo, retro_sys0(SYS_getpid), t->signo,
		   (long)&si);
}

void retro_shep_alarm_fire(void)
{
	struct { struct vtimer t; int overrun; } due[NVTIMERS];
	int64_t now = retro_shep_now(), first = next_signal(NULL);
	int n = 0;

	/* the earliest is due (the caller knows); the others by now */
	if (now < first)
		now = first;
	if (alarm_at && alarm_at <= now) {
		/* a periodic timer's next expiry; the ones already missed
		 * are one signal, as pending signals of one kind merge */
		if (alarm_every) {
			do
				alarm_at += alarm_every;
			while (alarm_at <= now);
		} else {
			alarm_at = 0;
		}
		retro_sys2(SYS_kill, retro_sys0(SYS_getpid), SIGALRM);
	}
	if (!vt_used)
		return;
	vt_take();
	for (int i = 0; i < vt_used; i++) {
		uint64_t k;
		if (vt[i].kind != VT_POSIX || vt[i].notify != SIGEV_SIGNAL ||
		    !(k = vt_expire(&vt[i], now)))
			continue;
		vt[i].overrun = k > (uint64_t)INT32_MAX ? INT32_MAX : (int)(k - 1);
		due[n].t = vt[i];
		due[n++].overrun = vt[i].overrun;
	}
	vt_give();
	for (int i = 0; i < n; i++)
		timer_signal(&due[i].t, due[i].overrun);
}

void retro_shep_alarm_check(void)
{
	if ((alarm_at || vt_used) && retro_shep_alarm_in() == 0)
		retro_shep_alarm_fire();
}

void retro_shep_forked(void)
{
	alarm_at = 0; /* a child does not inherit its parent's alarm */
	alarm_every = 0;
	/* nor its POSIX timers; its timerfds it does */
	for (int i = 0; i < vt_used; i++)
		if (vt[i].kind == VT_POSIX)
			vt[i].kind = VT_FREE;
	vt_lock = 0;
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
	/* only a shepherded process's children say which fork they are
	 * (HELLO); a recorded one's parent writes nothing after its fork */
	if (retro_shep_on)
		nforks++;
}
