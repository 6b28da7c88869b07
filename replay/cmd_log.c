/* retro-replay log [filters] [--stacks] [--json] [STORE] */
#include "config.h"
#include "cmd.h"
#include "json.h"
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "pathnorm.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: retro-replay log [OPTIONS] [STORE]\n\n"
		"Shows the recorded actions on one timeline, strace-like: seconds "
		"from the\nrecording's start, process id and program, the call "
		"with its arguments (paths\nabsolute, descriptors with their "
		"objects), and its result.  '<in flight>'\nmarks a call that "
		"never returned (the process was killed during it).\n\n"
		"  -p, --proc SEL    only processes SEL (an id as ps prints it, or "
		"a program\n                    name); repeatable\n"
		"  -P, --path PATH   only actions on PATH (absolute, or relative "
		"to here)\n"
		"  -c, --call NAMES  only these calls (comma-separated, e.g. "
		"write,pwrite)\n"
		"  -s, --stacks      show each action's call site, symbolized\n"
		"  -v, --verbose     also show inherited descriptors and counters\n"
		"      --json        one JSON object per action and line\n"
		"      --no-import   do not import the spool first\n"
		"  -h, --help        show this help\n");
}

struct filter {
	unsigned char *procs; /* NULL: all */
	char path[PATH_MAX];
	int has_path;
	unsigned char calls[RC_NCALLS];
	int has_calls;
	int verbose;
};

static const struct {
	int bit;
	const char *name;
} oflags[] = {
	{ O_CREAT, "O_CREAT" },	      { O_EXCL, "O_EXCL" },
	{ O_NOCTTY, "O_NOCTTY" },     { O_TRUNC, "O_TRUNC" },
	{ O_APPEND, "O_APPEND" },     { O_NONBLOCK, "O_NONBLOCK" },
	{ O_DSYNC, "O_DSYNC" },	      { O_DIRECTORY, "O_DIRECTORY" },
	{ O_NOFOLLOW, "O_NOFOLLOW" }, { O_CLOEXEC, "O_CLOEXEC" },
	{ O_DIRECT, "O_DIRECT" },     { O_NOATIME, "O_NOATIME" },
	{ O_PATH, "O_PATH" },	      { __O_TMPFILE, "O_TMPFILE" },
	{ O_SYNC & ~O_DSYNC, "O_SYNC" },
};

static void print_oflags(FILE *f, uint64_t v)
{
	int acc = (int)v & O_ACCMODE;
	uint64_t rest = v & ~(uint64_t)O_ACCMODE;

	fputs(acc == O_RDONLY ? "O_RDONLY" : acc == O_WRONLY ? "O_WRONLY"
					 : acc == O_RDWR     ? "O_RDWR"
							     : "O_ACCMODE",
	      f);
	for (size_t i = 0; i < sizeof oflags / sizeof *oflags; i++) {
		if ((rest & (uint64_t)oflags[i].bit) == (uint64_t)oflags[i].bit &&
		    oflags[i].bit) {
			fprintf(f, "|%s", oflags[i].name);
			rest &= ~(uint64_t)oflags[i].bit;
		}
	}
	if (rest)
		fprintf(f, "|0x%llx", (unsigned long long)rest);
}

static void print_path(FILE *f, struct retro_store *st, uint64_t id)
{
	const char *p = retro_path(st, id);

	if (!id)
		fputs("NULL", f);
	else if (p)
		print_escaped(f, (const unsigned char *)p, strlen(p), PATH_MAX);
	else
		fprintf(f, "<path #%016llx missing>", (unsigned long long)id);
}

static void print_ns(FILE *f, uint64_t ns)
{
	if (ns == UINT64_MAX)
		fputs("NULL", f);
	else
		fprintf(f, "%llu.%09llu", (unsigned long long)(ns / 1000000000ull),
			(unsigned long long)(ns % 1000000000ull));
}

static void print_data(FILE *f, struct retro_store *st,
		       const struct retro_action *a)
{
	void *d;
	size_t n;

	if ((a->flags & RA_DATA) && retro_blob_get(st, a->hash, &d, &n) == 0) {
		print_escaped(f, d, n, 32);
		free(d);
	} else if (a->flags & RA_HASH) {
		/* the first 8 hex digits of the hash, as files and --json */
		fprintf(f, "#%08llx", (unsigned long long)(a->hash[1] >> 32));
	} else {
		fputs("...", f);
	}
}

static void print_argv(FILE *f, struct retro_store *st,
		       const struct retro_action *a)
{
	void *d;
	size_t n, i = 0;
	const char *s;

	if (!(a->flags & RA_DATA) || retro_blob_get(st, a->hash, &d, &n)) {
		fputs("[...]", f);
		return;
	}
	s = d;
	fputc('[', f);
	while (i < n) {
		size_t k = strnlen(s + i, n - i);
		if (i)
			fputs(", ", f);
		print_escaped(f, (const unsigned char *)s + i, k, 64);
		i += k + 1;
	}
	fputc(']', f);
	if (a->call == RC_start && a->arg[5])
		fprintf(f, " (cut at %zu bytes)", n);
	free(d);
}

static void print_arg(FILE *f, struct retro_store *st,
		      const struct retro_action *a, int i, int kind)
{
	uint64_t v = a->arg[i];

	switch (kind) {
	case K_FD:
	case K_FDW:
	case K_FDCLOSE:
	case K_FDCHDIR: {
		const char *p = a->obj ? retro_path(st, a->obj) : NULL;
		fprintf(f, "%d", (int)v);
		if (p && i == 0)
			fprintf(f, "<%s>", p);
		break;
	}
	case K_DIRFD:
		if ((int)v == AT_FDCWD)
			fputs("AT_FDCWD", f);
		else
			fprintf(f, "%d", (int)v);
		break;
	case K_PATH:
	case K_PATHW:
	case K_PATHRM:
	case K_PATHCHDIR:
	case K_PATHAT:
	case K_PATHATRM:
	case K_STR:
		print_path(f, st, v);
		break;
	case K_OFLAGS:
		print_oflags(f, v);
		break;
	case K_MODE:
		fprintf(f, "0%llo", (unsigned long long)v);
		break;
	case K_FLAGS:
	case K_ATFLAGS:
		fprintf(f, "0x%llx", (unsigned long long)v);
		break;
	case K_BUFIN:
	case K_BUFOUT:
	case K_BUFKEEP:
	case K_IOVIN:
	case K_IOVOUT:
		print_data(f, st, a);
		break;
	case K_STATOUT:
	case K_STATXOUT:
		if (a->flags & RA_DATA) {
			void *d;
			size_t n;
			if (kind == K_STATOUT &&
			    retro_blob_get(st, a->hash, &d, &n) == 0) {
				const struct stat *sb = d;
				int whole = n == sizeof(struct stat);
				if (whole)
					fprintf(f, "{mode=0%o, size=%lld}",
						sb->st_mode, (long long)sb->st_size);
				/* a blob of another size (crafted) was leaked */
				free(d);
				if (whole)
					break;
			}
		}
		fputs("{...}", f);
		break;
	case K_TSIN:
	case K_TVIO:
		print_ns(f, v);
		break;
	case K_TSOUT:
		if (v)
			print_ns(f, v);
		else
			fputs("...", f);
		break;
	case K_MSEC:
		fprintf(f, "%d", (int)v);
		break;
	case K_OFFPTR:
		if (v == UINT64_MAX)
			fputs("NULL", f);
		else
			fprintf(f, "[%lld]", (long long)v);
		break;
	case K_TSPAIR:
		fputs((a->flags & RA_DATA) ? "[...]" : "NULL", f);
		break;
	case K_WHENCE:
		fputs((int)v == SEEK_SET   ? "SEEK_SET"
		      : (int)v == SEEK_CUR ? "SEEK_CUR"
		      : (int)v == SEEK_END ? "SEEK_END"
					   : "?",
		      f);
		break;
	case K_FCNTL: {
		static const struct { int cmd; const char *name; } cmds[] = {
			{ F_DUPFD, "F_DUPFD" },	    { F_GETFD, "F_GETFD" },
			{ F_SETFD, "F_SETFD" },	    { F_GETFL, "F_GETFL" },
			{ F_SETFL, "F_SETFL" },	    { F_GETLK, "F_GETLK" },
			{ F_SETLK, "F_SETLK" },	    { F_SETLKW, "F_SETLKW" },
			{ F_DUPFD_CLOEXEC, "F_DUPFD_CLOEXEC" },
			{ F_OFD_GETLK, "F_OFD_GETLK" },
			{ F_OFD_SETLK, "F_OFD_SETLK" },
			{ F_OFD_SETLKW, "F_OFD_SETLKW" },
		};
		size_t k;
		for (k = 0; k < sizeof cmds / sizeof *cmds; k++)
			if (cmds[k].cmd == (int)v)
				break;
		if (k < sizeof cmds / sizeof *cmds)
			fputs(cmds[k].name, f);
		else
			fprintf(f, "%d", (int)v);
		break;
	}
	case K_WSTATUS:
		if (v >> 32) {
			char s[64];
			status_str((int)(uint32_t)v, s, sizeof s);
			fprintf(f, "[%s]", s);
		} else {
			fputs("...", f);
		}
		break;
	case K_PIDOUT:
		fprintf(f, "[%d]", (int)v);
		break;
	case K_ARGV:
		print_argv(f, st, a);
		break;
	case K_PTR:
	case K_FDPAIR:
	case K_SIGINFO:
		fputs("...", f);
		break;
	default:
		fprintf(f, "%lld", (long long)v);
		break;
	}
}

static void print_result(FILE *f, const struct retro_action *a)
{
	const struct retro_call_desc *d = &retro_calls[a->call];

	if (a->state != 2) {
		fputs(" = <in flight>", f);
		return;
	}
	if (d->rkind == R_VOID)
		return;
	if (d->rkind == R_PTR && a->ret != -1)
		fprintf(f, " = 0x%llx", (unsigned long long)a->ret);
	else
		fprintf(f, " = %lld", (long long)a->ret);
	if (a->err) {
		const char *name = strerrorname_np(a->err);
		fprintf(f, " %s (%s)", name ? name : "E?", strerror(a->err));
	}
	if (a->flags & RA_OFFSET)
		fprintf(f, " @%lld", (long long)a->off);
	if (a->flags & RA_CREATED)
		fputs(" (created)", f);
	if (a->flags & RA_DATA_LOST)
		fputs(" [bytes not kept]", f);
}

static void print_pseudo(FILE *f, struct retro_store *st,
			 const struct retro_action *a)
{
	char s[64];

	switch (a->call) {
	case RC_start:
		fprintf(f, "+++ %s ", a->arg[4] ? "exec'd image" : "start");
		print_path(f, st, a->arg[0]);
		fprintf(f, " pid %d ppid %d", (int)a->arg[2], (int)a->arg[3]);
		if (a->arg[1])
			fprintf(f, " parent %u", (unsigned)a->arg[1]);
		fputs(" argv ", f);
		print_argv(f, st, a);
		break;
	case RC_image:
		fputs("+++ cwd ", f);
		print_path(f, st, a->arg[0]);
		fprintf(f, " umask %03llo, %u bytes of environment%s",
			(unsigned long long)a->arg[1], (unsigned)a->datalen,
			a->arg[2] ? " (entries left out past it)" : "");
		break;
	case RC_preimage:
		fputs("--- pre-image of ", f);
		print_path(f, st, a->arg[0]);
		fprintf(f, " mode 0%llo size %lld", (unsigned long long)a->arg[1],
			(long long)a->arg[2]);
		if (a->flags & RA_DATA_LOST)
			fputs(" [bytes not kept]", f);
		break;
	case RC_fdinfo:
		fprintf(f, "--- fd %d is ", (int)a->arg[0]);
		print_path(f, st, a->arg[1]);
		break;
	case RC_landed:
		fprintf(f, "--- landed in ");
		print_path(f, st, a->arg[1]);
		fprintf(f, " @%lld: ", (long long)a->arg[2]);
		print_data(f, st, a);
		fprintf(f, " (%u bytes%s)", a->datalen,
			(a->flags & RA_DATA_LOST) ? ", not all kept" : "");
		break;
	case RC_loss:
		fprintf(f, "!!! LOST %llu call(s) from here: %s",
			(unsigned long long)a->arg[1],
			a->arg[2] ? strerror((int)a->arg[2]) : "?");
		if (!a->arg[1])
			fputs(" (recording stopped; count unknown)", f);
		break;
	case RC_storegone:
		fprintf(f, "!!! the store was deleted or replaced while this "
			   "process recorded (%s): what had been imported into it "
			   "before is lost; the rest is in this store",
			strerror((int)a->arg[0]));
		break;
	case RC_notrap:
		fprintf(f, "!!! the trap layer is not available (%s): only calls "
			   "through libc's exported symbols are recorded",
			strerror((int)a->arg[0]));
		break;
	case RC_unsupported: {
		static const char *what[] = { "?", "io_uring (its I/O is not recorded)",
					      "a statically linked program (not recorded)",
					      "a setuid/setgid program (the loader ignores "
					      "LD_PRELOAD: not recorded)" };
		fprintf(f, "!!! unsupported: %s",
			what[a->arg[0] < 4 ? a->arg[0] : 0]);
		if (a->arg[1]) {
			fputc(' ', f);
			print_path(f, st, a->arg[1]);
		}
		break;
	}
	case RC_timereads:
		fprintf(f, "--- %llu clock read(s) counted",
			(unsigned long long)a->arg[0]);
		break;
	case RC_end:
		if (a->arg[0] >> 32) {
			/* the kernel keeps 8 bits of exit's argument */
			status_str(W_EXITCODE((int)(a->arg[0] & 0xff), 0), s,
				   sizeof s);
			fprintf(f, "+++ end (%s)", s);
		} else {
			fputs("+++ end", f);
		}
		break;
	default:
		fprintf(f, "--- %s", retro_calls[a->call].name);
	}
}

static int touches(struct retro_store *st, const struct retro_action *a,
		   const char *path)
{
	const struct retro_call_desc *d = &retro_calls[a->call];
	const char *p;

	if (a->obj && (p = retro_path(st, a->obj)) && !strcmp(p, path))
		return 1;
	for (int i = 0; i < d->nargs; i++) {
		int is_path = retro_arg_is_id(a->call, i) &&
			      ((d->flags & F_PSEUDO) || d->kind[i] != K_STR);
		if (is_path && (p = retro_path(st, a->arg[i])) && !strcmp(p, path))
			return 1;
	}
	return 0;
}

static const char *first_path(struct retro_store *st,
			      const struct retro_action *a)
{
	const struct retro_call_desc *d = &retro_calls[a->call];

	if (a->call == RC_preimage || a->call == RC_start ||
	    a->call == RC_image)
		return retro_path(st, a->arg[0]);
	if (a->call == RC_fdinfo || a->call == RC_landed)
		return retro_path(st, a->arg[1]);
	for (int i = 0; i < d->nargs && !(d->flags & F_PSEUDO); i++) {
		int k = d->kind[i];
		if (k == K_PATH || k == K_PATHW || k == K_PATHRM || k == K_PATHAT ||
		    k == K_PATHATRM || k == K_PATHCHDIR)
			return retro_path(st, a->arg[i]);
	}
	return a->obj ? retro_path(st, a->obj) : NULL;
}

static void print_json(struct retro_store *st, const struct retro_recording *r,
		       const struct retro_action *a, int stacks)
{
	const struct retro_proc *p = retro_proc_find(r, a->proc);
	const struct retro_call_desc *d = &retro_calls[a->call];
	const char *path = first_path(st, a);

	printf("{\"proc\":%u,\"program\":", a->proc);
	json_cstr(stdout, p ? proc_name(p) : NULL);
	printf(",\"pid\":%d,\"tid\":%d,\"thread\":%u,\"seq\":%llu,\"call\":",
	       p ? p->pid : 0, a->tid, a->thread, (unsigned long long)a->seq);
	json_cstr(stdout, d->name);
	printf(",\"state\":\"%s\",\"ret\":%lld,\"errno\":%d,\"start_ns\":%lld,"
	       "\"end_ns\":%lld,\"mono_start_ns\":%lld",
	       a->state == 2 ? "done" : "in_flight", (long long)a->ret, a->err,
	       (long long)rel_ns(r, a->start), (long long)rel_ns(r, a->end),
	       (long long)a->start);
	if (path) {
		printf(",\"path\":");
		json_cstr(stdout, path);
	}
	printf(",\"args\":[");
	for (int i = 0; i < d->nargs; i++) {
		int is_id = retro_arg_is_id(a->call, i);
		if (i)
			putchar(',');
		if (is_id)
			json_cstr(stdout, retro_path(st, a->arg[i]));
		else
			printf("%lld", (long long)a->arg[i]);
	}
	putchar(']');
	if (a->flags & RA_HASH)
		printf(",\"hash\":\"%016llx%016llx\"", (unsigned long long)a->hash[1],
		       (unsigned long long)a->hash[0]);
	if (a->flags & RA_DATA) {
		void *d;
		size_t n;
		printf(",\"data_len\":%u", a->datalen);
		if (a->datalen <= 4096 &&
		    retro_blob_get(st, a->hash, &d, &n) == 0) {
			printf(",\"data_hex\":\"");
			for (size_t i = 0; i < n; i++)
				printf("%02x", ((unsigned char *)d)[i]);
			putchar('"');
			free(d);
		}
	}
	if (a->flags & RA_OFFSET)
		printf(",\"offset\":%lld", (long long)a->off);
	if (a->flags & RA_CREATED)
		printf(",\"created\":true");
	if (stacks && a->stack) {
		char buf[4096];
		if (retro_stack_describe(st, a->stack, buf, sizeof buf) == 0) {
			printf(",\"site\":");
			json_cstr(stdout, buf);
		}
	}
	printf("}\n");
}

static void print_line(struct retro_store *st, const struct retro_recording *r,
		       const struct retro_action *a, int stacks)
{
	const struct retro_proc *p = retro_proc_find(r, a->proc);
	const struct retro_call_desc *d = &retro_calls[a->call];
	char who[64];

	snprintf(who, sizeof who, "%u:%s", a->proc, p ? proc_name(p) : "?");
	if (a->thread > 1)
		snprintf(who + strlen(who), sizeof who - strlen(who), "/%u",
			 a->thread);
	printf("%11.6f %-16s ", rel_s(r, a->start), who);
	if (d->flags & F_PSEUDO) {
		print_pseudo(stdout, st, a);
	} else {
		int nargs = d->nargs;
		int fl = (int)a->arg[a->call == RC_openat ||
				 a->call == RC_openat64 ? 2 : 1];
		/* open's mode means something only when it creates. */
		if ((a->call == RC_open || a->call == RC_open64 ||
		     a->call == RC_openat || a->call == RC_openat64) &&
		    !(fl & O_CREAT) && (fl & O_TMPFILE) != O_TMPFILE)
			nargs--;
		printf("%s(", d->name);
		for (int i = 0; i < nargs; i++) {
			if (i)
				fputs(", ", stdout);
			print_arg(stdout, st, a, i, d->kind[i]);
		}
		putchar(')');
		print_result(stdout, a);
	}
	putchar('\n');
	if (stacks && a->stack) {
		char buf[4096];
		if (retro_stack_describe(st, a->stack, buf, sizeof buf) == 0)
			printf("%11s   at %s\n", "", buf);
	}
}

int cmd_log(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "proc", required_argument, 0, 'p' },
		{ "path", required_argument, 0, 'P' },
		{ "call", required_argument, 0, 'c' },
		{ "stacks", no_argument, 0, 's' },
		{ "verbose", no_argument, 0, 'v' },
		{ "json", no_argument, 0, 'j' },
		{ "no-import", no_argument, 0, 'n' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct filter flt;
	const char *procsel[64];
	int nprocsel = 0, c, json = 0, stacks = 0, noimp = 0, rc;
	struct retro_store *st;
	struct retro_recording r;
	struct retro_scan *scan = NULL;
	struct retro_action act;
	int k;

	memset(&flt, 0, sizeof flt);
	while ((c = getopt_long(argc, argv, "p:P:c:svh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (nprocsel < 64)
				procsel[nprocsel++] = optarg;
			break;
		case 'P':
			if (optarg[0] == '/') {
				snprintf(flt.path, sizeof flt.path, "%s", optarg);
			} else {
				char cwd[PATH_MAX];
				if (!getcwd(cwd, sizeof cwd))
					cwd[0] = 0;
				snprintf(flt.path, sizeof flt.path, "%s/%s", cwd,
					 optarg);
			}
			retro_path_normalize(flt.path);
			flt.has_path = 1;
			break;
		case 'c': {
			char *save, *tok, *s = strdup(optarg);
			for (tok = strtok_r(s, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				int id = retro_call_by_name(tok);
				if (!id) {
					errorf("log", "unknown call '%s'", tok);
					free(s);
					return EX_USAGE;
				}
				flt.calls[id] = 1;
			}
			free(s);
			flt.has_calls = 1;
			break;
		}
		case 's':
			stacks = 1;
			break;
		case 'v':
			flt.verbose = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'n':
			noimp = 1;
			break;
		case 'h':
			help(stdout);
			return EX_OK;
		default:
			help(stderr);
			return EX_USAGE;
		}
	}
	if (argc - optind > 1) {
		help(stderr);
		return EX_USAGE;
	}
	rc = open_for_reading("log", optind < argc ? argv[optind] : NULL, noimp,
			      &st);
	if (rc)
		return rc;
	/* streamed: one action at a time, never the whole recording */
	rc = scan_recording("log", st, &r, &scan);
	if (rc) {
		retro_store_close(st);
		return rc;
	}
	if (nprocsel) {
		flt.procs = calloc(r.nprocs + 1, 1);
		for (int i = 0; i < nprocsel; i++)
			if (!select_procs(&r, procsel[i], flt.procs)) {
				errorf("log", "no process matches '%s'", procsel[i]);
				rc = EX_USAGE;
				goto out;
			}
	}
	while ((k = retro_scan_next(scan, &act)) == 1) {
		const struct retro_action *a = &act;
		if (flt.procs) {
			const struct retro_proc *p = retro_proc_find(&r, a->proc);
			if (!p || !flt.procs[p - r.procs])
				continue;
		}
		if (flt.has_calls && !flt.calls[a->call])
			continue;
		if (!flt.has_calls && !flt.verbose &&
		    (a->call == RC_fdinfo || a->call == RC_timereads))
			continue;
		if (flt.has_path && !touches(st, a, flt.path))
			continue;
		if (json)
			print_json(st, &r, a, stacks);
		else
			print_line(st, &r, a, stacks);
	}
	if (k < 0) {
		errorf("log", "%s: %s", retro_store_path(st), retro_strerror(-k));
		rc = EX_USAGE;
	}
	if (r.losses && !json)
		fprintf(stderr, "retro-replay log: warning: %llu call(s) were not "
				"recorded (see the LOST lines)\n",
			(unsigned long long)r.losses);
	if (r.lost_markers && !json)
		fprintf(stderr, "retro-replay log: warning: %llu more loss "
				"marker(s) did not fit in %s/shared.map: the calls "
				"they counted were not recorded either\n",
			(unsigned long long)r.lost_markers,
			retro_store_path(st));
out:
	free(flt.procs);
	retro_scan_close(scan);
	retro_recording_free(&r);
	retro_store_close(st);
	return rc;
}
