/* Shepherd mode: the protocol between a re-executed process and the replay
 * driver (retro-replay run), and the shim's side of it.
 *
 * Each thread of a shepherded process holds its own SOCK_SEQPACKET
 * connection to the driver's abstract socket (RETRO_SHEPHERD names it).  A
 * thread says HELLO once, then sends one message before every recorded
 * call and waits for the reply: the driver matches the call against the
 * recording, advances the peers' recorded actions to the call's moment on
 * the virtual timeline V, and answers with that moment.  Sleeps are sent as
 * SLEEP and never slept: the reply is the deadline on V.  A call that may
 * block on another process (a pipe read, a wait) is announced as BLOCK and
 * followed by WAKE when it returns, so that a blocked thread holds nobody
 * back.  Clock reads never talk to the driver: they return the thread's
 * last moment plus the CPU time it used since. */
#ifndef RETRO_SHEPHERD_H
#define RETRO_SHEPHERD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum {
	SH_HELLO = 1, /* a thread begins: pid, ppid, thread, forkno, image */
	SH_CALL,      /* a recorded call is about to be issued */
	SH_SLEEP,     /* a sleep of arg ns (squeezed) */
	SH_BLOCK,     /* a call that may wait for another process; no reply */
	SH_WAKE,      /* it returned */
	SH_SETCLOCK,  /* the realtime clock is set to arg ns: V moves */
	SH_NOTE,      /* something the replay does not put on V (arg: SHN_*);
		       * no reply */
	SH_THREAD,    /* a thread is about to be made: the driver lets it
		       * have the recorded thread's id, when it can */
	SH_LANE,      /* a doorbell: a message waits in the thread's lane
		       * (struct retro_sh_lane); no reply */
};

enum {
	SHF_NOTFILE = 1 << 0, /* path is the object of an fd that is no file */
	SHF_HASH = 1 << 1,    /* hash holds the bytes the call writes */
	SHF_UNRECORDED = 1 << 2, /* a wait the recording does not have as a
				  * call (a condition variable): on the
				  * timeline, never matched */
	SHF_ASK = 1 << 3,     /* BLOCK of a wait for a child: reply, with
			       * SHR_SKIP when the child is a peer; of a read
			       * of a terminal or a socket: reply, with
			       * SHR_DATA when the recorded bytes are fed */
	SHF_EXCL = 1 << 4,    /* CALL: an exclusive create (open O_CREAT|
			       * O_EXCL, mkdir) of a name the caller may have
			       * drawn at random (mkstemp, mkdtemp) */
};

enum {
	SHN_TIMER = 1, /* a POSIX timer that starts a thread, signals one
			* thread, or counts CPU time: the host's */
	SHN_TIMERFD,   /* a timerfd on a clock V does not keep: the host's */
	SHN_NKINDS
};

struct retro_sh_msg {
	uint32_t type;
	uint16_t call;
	uint16_t flags;
	int32_t pid, ppid, tid;
	uint32_t thread;  /* the thread's index in its process (1: main) */
	uint32_t forkno;  /* HELLO: which fork of the parent made this one */
	uint32_t image;   /* HELLO: 0, then 1 per exec */
	uint64_t path;    /* path id (the store's interned hash), or 0 */
	uint64_t hash[2]; /* SHF_HASH: XXH3-128 of the bytes written */
	int64_t arg;      /* SLEEP: ns; BLOCK in a wait: the pid it waits
			   * for, -1 for any child; WAKE: the call's result */
	int64_t cpu;      /* the thread's CPU time, ns */
	int64_t timeout;  /* BLOCK: how long the wait may last on V, ns, or
			   * -1 for no limit */
	int32_t prev_err; /* the previous call's errno, 0 when it succeeded */
	uint32_t prev_valid; /* 1 when prev_err is known */
	uint32_t datalen; /* SHF_HASH: how many bytes the call writes */
	uint8_t data[60]; /* and the first of them, for the report */
	char pathstr[4096]; /* the path (or the fd's object) as a string;
			     * only strlen + 1 bytes of it are sent */
};

#define RETRO_SH_MSG_HDR offsetof(struct retro_sh_msg, pathstr)

enum {
	SHR_NAIVE = 1 << 0,   /* time is not virtual: clocks read the host's */
	SHR_TIMEOUT = 1 << 1, /* unasked: the timed wait the thread is blocked
			       * in reached its deadline on V (v) */
	SHR_DENIED = 1 << 2,  /* SETCLOCK: it failed when recorded (EPERM) */
	SHR_DATA = 1 << 3,    /* CALL: the recorded bytes of this input from
			       * outside (getrandom, /dev/urandom) follow in
			       * one packet of at most RETRO_SH_FEED bytes */
	SHR_SKIP = 1 << 4,    /* BLOCK with SHF_ASK: the wait is for a peer
			       * child; do not issue it, it returns ret with
			       * wait status status (at v: the child's
			       * recorded exit has happened on V) */
	SHR_NAME = 1 << 5,    /* CALL with SHF_EXCL: the recorded call made
			       * the same name but for the random part; the
			       * recorded last component follows (as
			       * SHR_DATA's bytes), to be made instead */
	SHR_PPID = 1 << 6,    /* HELLO: ret is the process's recorded
			       * parent pid, which getppid returns while the
			       * live parent is the one it began with */
	SHR_LANE = 1 << 7,    /* HELLO: the driver took the thread's lane */
	SHR_TIMEREADS = 1 << 8, /* HELLO: the recorded thread has its clock
				 * reads (RETRO_TIME_READS=1): send each as a
				 * CALL, and read the clock at the reply's v */
};

#define RETRO_SH_FEED 256
/* The largest packet of recorded bytes: a read of a terminal or a socket
 * fed while the thread follows its recording (SHF_ASK on a read). */
#define RETRO_SH_FEED_MAX 65536

struct retro_sh_reply {
	int64_t v;      /* the thread's moment on V (monotonic ns) */
	int64_t rtoff;  /* realtime = monotonic + rtoff on V */
	uint32_t flags; /* SHR_* */
	int32_t status; /* SHR_SKIP: the wait status */
	int64_t ret;    /* SHR_SKIP: what the call returns */
};

/* The fast lane.  A CALL or a SLEEP and its reply are most of a
 * shepherded thread's traffic; over the socket each costs four system
 * calls on the two sides.  So a thread also shares a lane with the
 * driver: a memfd its HELLO carries (SCM_RIGHTS), used once the reply says
 * SHR_LANE.  The thread writes the message into msg and counts it in req;
 * the driver answers into reply and sets rep to that count.  Both look at
 * the lane while they spin, with no system call.  A side that stops
 * spinning says so first, and the other then wakes it: the driver, asleep
 * in poll, with a doorbell on the socket (SH_LANE); the thread, asleep on
 * the rep futex, with FUTEX_WAKE.  Messages of other types go on the
 * socket; sock_sent tells the driver how many came before the lane's, so
 * that it takes those first.  A reply that carries bytes (SHR_DATA) goes on
 * the socket too, and onsock says so. */
struct retro_sh_lane {
	uint32_t req;        /* thread: lane messages written so far */
	uint32_t shim_waits; /* thread: asleep on rep */
	uint64_t sock_sent;  /* thread: socket messages sent before req's */
	/* the driver's words on a cache line of their own */
	uint32_t rep __attribute__((aligned(64))); /* driver: the req its
						    * answer is for */
	uint32_t drv_sleeps; /* driver: asleep in poll; ring the doorbell */
	uint32_t onsock;     /* driver: the answer is on the socket */
	uint32_t pad;
	struct retro_sh_reply reply;
	struct retro_sh_msg msg __attribute__((aligned(64)));
};
#define RETRO_SH_LANE_SIZE \
	((sizeof(struct retro_sh_lane) + 4095) / 4096 * 4096)

#ifdef RETRO_SHIM_SIDE
#include <time.h>
#include <sys/types.h>

/* Before pthread_create: asks the driver to give the next thread of
 * this process the id its recorded counterpart had. */
void retro_shep_thread_next(void) __attribute__((visibility("hidden")));
/* Says to the driver that the process uses something of kind (SHN_*)
 * that the replay does not put on V. */
void retro_shep_note(int kind) __attribute__((visibility("hidden")));

/* 1 when this process runs under a replay driver. */
extern int retro_shep_on __attribute__((visibility("hidden")));
/* ...and the recorder's own copy of it set (recorder.c). */
void retro_shep_started(void) __attribute__((visibility("hidden")));

/* Reads RETRO_SHEPHERD; called once at init. */
void retro_shep_init(void) __attribute__((visibility("hidden")));
/* Sends msg (type, call, flags, path, hash, arg filled in) for this
 * thread and returns the driver's moment, or -1 when the driver is gone. */
int64_t retro_shep_send(struct retro_sh_msg *m, uint32_t thread)
	__attribute__((visibility("hidden")));
/* The virtual clock for clk, when it is one; returns 0, or -1 when clk
 * stays real. */
int retro_shep_clock(clockid_t clk, struct timespec *ts)
	__attribute__((visibility("hidden")));
/* A clock read of the program's (call: RC_clock_gettime, RC_gettimeofday
 * or RC_time): the virtual clock for clk as retro_shep_clock gives it,
 * or, when the recorded thread has its clock reads, at the moment of the
 * recorded read the driver matched it with.  Returns 0, or -1 when clk
 * stays real. */
int retro_shep_clock_read(int call, clockid_t clk, struct timespec *ts)
	__attribute__((visibility("hidden")));
/* The same, at the moment the driver gave the thread's last call (no
 * read of the thread's CPU clock, a system call): a file time that call
 * set. */
int retro_shep_clock_call(clockid_t clk, struct timespec *ts)
	__attribute__((visibility("hidden")));
/* The call just made returned err (0: success); sent with the next
 * message. */
void retro_shep_result(int err) __attribute__((visibility("hidden")));
/* Announces a wait on something the driver does not see (a condition
 * variable, descriptors): a BLOCK of call with timeout ns on V (-1: none).
 * Returns 0, or -1 when there is no driver. */
int retro_shep_block(struct retro_sh_msg *m, uint32_t thread)
	__attribute__((visibility("hidden")));
/* While blocked in a timed wait: 1 when the driver said its deadline came
 * (the thread's clock is now there), else 0.  Never waits. */
int retro_shep_timed_out(void) __attribute__((visibility("hidden")));
/* A wait the recording does not have as a call (a condition variable, a
 * semaphore, epoll), in shepherd mode: announced as blocking, with timeout
 * ns on V (-1: none), and squeezed to its deadline on V when nothing can
 * end it before.  wait(arg, dl, res) waits until dl (CLOCK_MONOTONIC, real
 * time; NULL: without limit) and returns 1 when the wait ended, 0 when dl
 * came first, with the result in *res either way: the last slice's
 * result is the timed-out wait's.  Returns 0, or -1 when not in shepherd
 * mode (the caller waits as usual). */
typedef int (*retro_wait_fn)(void *arg, const struct timespec *dl, long *res);
int retro_shep_wait(retro_wait_fn wait, void *arg, int64_t timeout, long *res)
	__attribute__((visibility("hidden")));
/* The thread's monotonic clock on V, in ns, or -1 when time is not
 * virtual (no driver, or a naive replay). */
int64_t retro_shep_now(void) __attribute__((visibility("hidden")));
/* ns from the thread's clock clk (on V when virtual) to abstime, at least
 * 0; -1 when clk cannot be read. */
int64_t retro_shep_until(clockid_t clk, const struct timespec *abstime)
	__attribute__((visibility("hidden")));
/* clock_settime(CLOCK_REALTIME) or settimeofday in shepherd mode: moves
 * V for the whole replay, never the host's clock.  Returns 0, or -EPERM
 * when the recorded call failed or there is no driver. */
int retro_shep_setclock(int64_t ns, uint32_t thread)
	__attribute__((visibility("hidden")));
/* alarm(secs) on V: returns 0 with *prev (the seconds left of the alarm
 * it replaces), or -1 when time is not virtual (the real alarm then). */
int retro_shep_alarm(unsigned secs, unsigned *prev)
	__attribute__((visibility("hidden")));
/* setitimer(ITIMER_REAL, set, old) on V, the same timer as alarm's; set
 * or old may be NULL (getitimer).  Returns 0, or -1 when time is not
 * virtual (the real timer then). */
struct itimerval;
int retro_shep_itimer(const struct itimerval *set, struct itimerval *old)
	__attribute__((visibility("hidden")));
/* ns until the process's next timer signal on V (the alarm's, or a POSIX
 * timer's), or -1 when none. */
int64_t retro_shep_alarm_in(void) __attribute__((visibility("hidden")));
/* The signal that timer sends. */
int retro_shep_alarm_signo(void) __attribute__((visibility("hidden")));
/* That timer is due: its signal to this process, as the kernel would send
 * it, and every other timer's that is due by now. */
void retro_shep_alarm_fire(void) __attribute__((visibility("hidden")));
/* POSIX timers on V.  timer_create: for a timer that signals or does
 * nothing, on a wall or monotonic clock, makes the kernel's timer with
 * real (never armed) and keeps it on V; returns 0, -1 (errno set) when
 * real failed, or 1 when the timer is not one for V (the caller makes it
 * as usual).  The others return 1 for a timer that is not on V, else 0
 * or a negative errno value. */
struct sigevent;
struct itimerspec;
int retro_shep_timer_create(clockid_t clk, const struct sigevent *sev,
			    timer_t *id,
			    int (*real)(clockid_t, struct sigevent *, timer_t *))
	__attribute__((visibility("hidden")));
int retro_shep_timer_settime(timer_t id, int flags,
			     const struct itimerspec *set,
			     struct itimerspec *old)
	__attribute__((visibility("hidden")));
int retro_shep_timer_gettime(timer_t id, struct itimerspec *cur)
	__attribute__((visibility("hidden")));
/* -1 when the timer is not on V */
int retro_shep_timer_getoverrun(timer_t id)
	__attribute__((visibility("hidden")));
void retro_shep_timer_delete(timer_t id) __attribute__((visibility("hidden")));
/* timerfds on V: fd was just made by timerfd_create on clk. */
void retro_shep_timerfd_new(int fd, clockid_t clk)
	__attribute__((visibility("hidden")));
/* fd is closed (or replaced). */
void retro_shep_timerfd_gone(int fd) __attribute__((visibility("hidden")));
int retro_shep_timerfd_settime(int fd, int flags, const struct itimerspec *set,
			       struct itimerspec *old)
	__attribute__((visibility("hidden")));
int retro_shep_timerfd_gettime(int fd, struct itimerspec *cur)
	__attribute__((visibility("hidden")));
/* ns until timerfd fd expires on V, 0 when it has, -1 when disarmed, -2
 * when fd is no timerfd on V. */
int64_t retro_shep_timerfd_due(int fd) __attribute__((visibility("hidden")));
/* The expirations of fd by now on V, which a read returns (0: none); with
 * slept, the thread has just slept until the next expiry, which counts. */
uint64_t retro_shep_timerfd_take(int fd, int slept)
	__attribute__((visibility("hidden")));
/* ns until the process's next timerfd expiry on V that is not readable
 * yet, 0 when one expired but was not made readable, -1 when none (those
 * retro_shep_timerfd_kick made readable do not count); its moment on V
 * into *at. */
int64_t retro_shep_timerfd_next(int64_t *at)
	__attribute__((visibility("hidden")));
/* Every timerfd expired on V by now, or by upto when that is later, is
 * made readable for the kernel's poll.  upto is the moment a wait that
 * was cut at a timerfd's expiry aimed at: the driver may end such a wait
 * a little before it (0: now). */
void retro_shep_timerfd_kick(int64_t upto)
	__attribute__((visibility("hidden")));
/* After a clock read: fires the alarm when V has passed it. */
void retro_shep_alarm_check(void) __attribute__((visibility("hidden")));
/* After a CALL with SHF_EXCL: 1 when the driver sent the recorded name to
 * make instead (SHR_NAME; retro_shep_fed gives it). */
int retro_shep_named(void) __attribute__((visibility("hidden")));

/* After a CALL: the recorded bytes the driver sent for it (SHR_DATA),
 * copied into buf (at most n); their number, or -1 when none came. */
long retro_shep_fed(void *buf, size_t n) __attribute__((visibility("hidden")));
/* The same, scattered over n buffers (readv). */
long retro_shep_fedv(const struct iovec *iov, int n)
	__attribute__((visibility("hidden")));
/* After a BLOCK with SHF_ASK: 1 when the driver answered the wait itself
 * (SHR_SKIP), with its result and wait status, else 0. */
int retro_shep_answered(int64_t *ret, int *status)
	__attribute__((visibility("hidden")));
/* getppid in shepherd mode: the recorded parent's pid while the live
 * parent (live, what the kernel says) is still the one the process began
 * with, else live. */
pid_t retro_shep_ppid(pid_t live) __attribute__((visibility("hidden")));
/* In the parent after a fork: count it. */
void retro_shep_forked_parent(void) __attribute__((visibility("hidden")));
/* In a forked child: drop the parent's connections. */
void retro_shep_forked(void) __attribute__((visibility("hidden")));
/* The calling thread ends: its lane is unmapped. */
void retro_shep_thread_gone(void) __attribute__((visibility("hidden")));
/* A shepherded process that ends: says hello if it never did, so that
 * the driver knows it ran under the shim even when it made no call the
 * driver answers (coreutils' `true` without arguments). */
void retro_shep_hello(uint32_t thread) __attribute__((visibility("hidden")));
#endif

#endif
