/* Ids and descriptors of the recorded calls, derived from calls.def. */
#ifndef RETRO_CALLS_H
#define RETRO_CALLS_H

#include <stdint.h>

/* What an argument means to the model. */
enum retro_kind {
	K_NONE = 0,
	K_INT,       /* a plain integer */
	K_FLAGS,     /* bit flags, printed in hex */
	K_OFLAGS,    /* open(2) flags, printed symbolically */
	K_ATFLAGS,   /* AT_* flags */
	K_AMODE,     /* access(2) mode */
	K_WHENCE,    /* lseek whence */
	K_FCNTL,     /* fcntl command */
	K_MODE,      /* permission bits, octal */
	K_SIZE,      /* a byte count: the length of the buffer before it */
	K_OFF,       /* a file offset or length */
	K_FD,        /* a descriptor; its object is recorded */
	K_FDW,       /* a descriptor whose object the call modifies */
	K_FDCLOSE,   /* a descriptor the call closes */
	K_FDCHDIR,   /* a descriptor that becomes the cwd */
	K_FDPAIR,    /* int[2] filled with two new descriptors */
	K_DIRFD,     /* the directory of the K_PATHAT* after it */
	K_PATH,      /* a path, recorded absolute */
	K_PATHW,     /* a path whose object the call modifies */
	K_PATHRM,    /* a path the call removes or replaces */
	K_PATHCHDIR, /* a path that becomes the cwd */
	K_PATHAT,    /* a path relative to the K_DIRFD before it */
	K_PATHATRM,  /* ... that the call removes or replaces */
	K_STR,       /* a string kept as given (symlink target, exec file) */
	K_BUFIN,     /* bytes the call consumes: kept as a blob */
	K_BUFOUT,    /* bytes the call returns: their hash is kept */
	K_BUFKEEP,   /* bytes the call returns, kept (inputs from outside) */
	K_IOVIN,     /* iovec consumed: kept as one blob */
	K_IOVOUT,    /* iovec filled: hash kept */
	K_IOVCNT,    /* iovec count */
	K_STATOUT,   /* struct stat filled: kept */
	K_STATXOUT,  /* struct statx filled: kept */
	K_TSIN,      /* struct timespec in: kept as ns */
	K_TSOUT,     /* struct timespec out: kept as ns after the call */
	K_TVIO,      /* struct timeval in and out: kept as ns before */
	K_MSEC,      /* a timeout in milliseconds */
	K_SECS,      /* seconds */
	K_USECS,     /* microseconds */
	K_CLOCKID,
	K_TIMERFLAGS, /* TIMER_ABSTIME */
	K_PID,
	K_PIDOUT,    /* pid_t * filled by the call */
	K_SIG,
	K_WSTATUS,   /* int * filled with a wait status: kept */
	K_WOPTIONS,
	K_SIGINFO,   /* siginfo_t * filled by waitid: status kept */
	K_ARGV,      /* an argument vector: kept as a blob */
	K_PTR,       /* not recorded */
	K_OFFPTR,    /* an offset passed by pointer (updated): value before */
	K_TSPAIR,    /* struct timespec[2] (utimensat): kept as data */
	K_NKINDS
};

/* How a call reports failure. */
enum retro_rkind {
	R_INT,    /* -1 and errno */
	R_SSIZE,  /* -1 and errno; otherwise a count */
	R_ERRNUM, /* returns the error number itself, 0 on success */
	R_NOERR,  /* cannot fail */
	R_VOID,   /* does not return a value */
	R_PTR,    /* a pointer; MAP_FAILED on error, with errno */
};

enum {
	F_GEN = 1 << 0,      /* the interposer is generated from the table */
	F_HAND = 1 << 1,     /* the interposer is written by hand */
	F_PSEUDO = 1 << 2,   /* an event, not a libc call */
	F_SLEEP = 1 << 3,    /* waits for time to pass */
	F_TIMEREAD = 1 << 4, /* reads a clock: counted, not recorded */
};

enum retro_call_id {
	RC_none = 0,
#define RETRO_CALL0(f, n, ...) RC_##n,
#define RETRO_CALL1 RETRO_CALL0
#define RETRO_CALL2 RETRO_CALL0
#define RETRO_CALL3 RETRO_CALL0
#define RETRO_CALL4 RETRO_CALL0
#define RETRO_CALL5 RETRO_CALL0
#define RETRO_CALL6 RETRO_CALL0
#define RETRO_PSEUDO(n, ...) RC_##n,
#include <retro/calls.def>
#undef RETRO_CALL0
#undef RETRO_CALL1
#undef RETRO_CALL2
#undef RETRO_CALL3
#undef RETRO_CALL4
#undef RETRO_CALL5
#undef RETRO_CALL6
#undef RETRO_PSEUDO
	RC_NCALLS
};

#define RETRO_MAXARGS 6

struct retro_call_desc {
	const char *name;
	const char *family;
	uint8_t nargs;
	uint8_t rkind;
	uint16_t flags;
	uint8_t kind[RETRO_MAXARGS];
};

/* Indexed by enum retro_call_id; entry 0 is unused. */
extern const struct retro_call_desc retro_calls[RC_NCALLS];

/* Returns 1 when argument i of call holds an interned path or string id
 * (a path argument, or the object of a pseudo call). */
int retro_arg_is_id(int call, int i);

/* Returns the id of the call named name, or RC_none. */
int retro_call_by_name(const char *name);

#endif
