/* retro-replay record [-o STORE] [--] CMD ARGS... */
#include "config.h"
#include "cmd.h"
#include "store_int.h"
#include "os.h"
#include "hash.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* The command's environment: ours with `name` set to `val` for each pair
 * of set[], in its place when it is there and at the end when not, as
 * setenv(3) would have made it in a forked child.  One allocation: the
 * array, then the new entries' bytes; NULL when out of memory. */
static char **child_env(const char *const set[][2], int nset)
{
	size_t n = 0, k, bytes = 0;
	char **env, *p;

	while (environ && environ[n])
		n++;
	for (int i = 0; i < nset; i++)
		bytes += strlen(set[i][0]) + strlen(set[i][1]) + 2;
	env = malloc((n + (size_t)nset + 1) * sizeof *env + bytes);
	if (!env)
		return NULL;
	memcpy(env, environ, n * sizeof *env);
	p = (char *)(env + n + nset + 1);
	for (int i = 0; i < nset; i++) {
		size_t len = strlen(set[i][0]);
		for (k = 0; k < n; k++)
			if (strncmp(env[k], set[i][0], len) == 0 &&
			    env[k][len] == '=')
				break;
		env[k] = p;
		p += sprintf(p, "%s=%s", set[i][0], set[i][1]) + 1;
		if (k == n)
			n++;
	}
	env[n] = NULL;
	return env;
}

/* The errno of the command's exec, set by the child that shares our
 * memory (spawn_command); 0 while it has not failed. */
static volatile int exec_errno;

/* Starts the command in a child made with vfork, which shares our memory
 * until its exec: a fork copied our page tables, and the child's and our
 * own writes after it were copy-on-write faults, ~2 ms between the fork
 * and the exec on the VM of BENCHMARKS.md (session 28).  Not
 * posix_spawnp: glibc's leaves the child its two internal signals
 * ignored, which an exec keeps, and it does not run a file without "#!"
 * with /bin/sh as execvp does.  The child only restores SIGINT's and
 * SIGQUIT's dispositions (its own table: no CLONE_SIGHAND), execs, and
 * on failure leaves the errno in exec_errno and _exits.  Returns the
 * pid, or -1 with errno (vfork's own, or the exec's with the child
 * reaped). */
static pid_t spawn_command(char *const argv[], char **env,
			   const struct sigaction *oint,
			   const struct sigaction *oquit)
{
	pid_t pid;
	int status;

	exec_errno = 0;
	pid = vfork();
	if (pid == 0) {
		sigaction(SIGINT, oint, NULL);
		sigaction(SIGQUIT, oquit, NULL);
		execvpe(argv[0], argv, env);
		exec_errno = errno;
		_exit(127);
	}
	if (pid > 0 && exec_errno) {
		int e = exec_errno;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		errno = e;
		return -1;
	}
	return pid;
}

static void help(FILE *f)
{
	fprintf(f,
		"usage: retro-replay record [-o STORE] [-q] [--no-trap] [--stats] [--] COMMAND [ARGS...]\n\n"
		"Runs COMMAND with libretro.so preloaded, so that it and every "
		"process it starts\nrecord into STORE (default: $RETRO_STORE, else "
		"$XDG_DATA_HOME/retro/store,\nelse ~/.local/share/retro/store).  "
		"Exits with COMMAND's own exit status (128+N\nwhen it was killed by "
		"signal N; 127 when COMMAND is not found, 126 when it\ncannot be "
		"run).  SIGINT and SIGQUIT go to COMMAND, not to the recorder.\n\n"
		"  -o, --output STORE  record into STORE (created on first use)\n"
		"  -q, --quiet         print no summary\n"
		"  -t, --trap          also record the system calls that bypass libc's\n"
		"                      exported symbols (stdio, raw syscall()), with\n"
		"                      Syscall User Dispatch: the default (RETRO_TRAP=1)\n"
		"      --no-trap       record calls through libc's symbols only\n"
		"                      (RETRO_TRAP=0)\n"
		"      --stats         at the end, say what record's own imports took\n"
		"                      from the spool (segments, actions), how many\n"
		"                      segments were made from the pages of imported\n"
		"                      ones, and record's own CPU time (mostly its\n"
		"                      imports; not the command's)\n"
		"  -h, --help          show this help\n\n"
		"Environment passed to the recorded processes: RETRO_TIME_READS=1 "
		"records every\nclock read; RETRO_FOLLOW=0 stops recording at an "
		"exec with a scrubbed\nenvironment.  See libretro(7).\n");
}

/* Keeps the exit status as the recorder saw it: the recorded command's
 * own record may end without one (return from main).  Its commit is
 * flushed to the disk, and with it the unflushed ones before it; when
 * there is no commit, a flush of its own does that. */
static void note_status(struct retro_store *st, pid_t pid, int status)
{
	unsigned char key[12], val[12];
	struct timespec ts;
	MDB_txn *txn;
	MDB_val k = { 12, key }, v = { 12, val };
	uint64_t sum;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	be32(key, (uint32_t)pid);
	be64(key + 4, (uint64_t)(ts.tv_sec * 1000000000LL + ts.tv_nsec));
	memcpy(val, &status, 4);
	sum = retro_record_sum(key, 12, val, 4);
	memcpy(val + 4, &sum, 8);
	if (mdb_txn_begin(st->env, NULL, 0, &txn)) {
		mdb_env_sync(st->env, 1);
		return;
	}
	if (mdb_put(txn, st->waits, &k, &v, 0)) {
		mdb_txn_abort(txn);
		mdb_env_sync(st->env, 1);
		return;
	}
	/* a commit frees its transaction, even when it fails */
	if (mdb_txn_commit(txn))
		mdb_env_sync(st->env, 1);
}

/* Waits for the command.  Meanwhile, imports the segments its threads
 * have sealed: a long recording then keeps only its newest segments in
 * the spool (which lives in shared memory), and the imported ones become
 * the pool that the threads' next segments are made from (spool.h).  A
 * busy thread fills a 4 MiB segment in about 15 ms, so while segments come
 * the import runs every IMPORT_TICK_MS, and the pause doubles, up to
 * IMPORT_IDLE_MS, while none come.  SIGCHLD is taken with sigtimedwait,
 * so the command's end is seen at once.
 *
 * The tick was 20 ms.  At 5, what the last import leaves for after the
 * command is less, and the pool gets pages back sooner.  Alternating
 * runs here: a recorded tar of this repository with its files and store
 * on tmpfs 34.0 -> 27.9 ms (medians of 10; 10 ms: 29.2), a recorded
 * pwrite 599..609 -> 575..594 ns (4 each); on ext4, where every import
 * but the last flushes its commit, tar (8 each, 40.4 -> 41.9 ms, ranges
 * overlapping), make -j2 (3 each) and python3 writing 10,000 files (5
 * each) showed no change. */
#define IMPORT_TICK_MS 5
#define IMPORT_IDLE_MS 320
/* The store being recorded into: which directory it was, and its spool,
 * so that a store deleted during the recording is noticed and made again
 * around the segments the recorded processes still write. */
static struct {
	dev_t dev;
	ino_t ino;
	char spool[PATH_MAX];
	int gone_said;
} cur;

static void store_identify(const char *store)
{
	char dirs[2][PATH_MAX];
	struct stat st;
	int n;

	if (stat(store, &st) == 0) {
		cur.dev = st.st_dev;
		cur.ino = st.st_ino;
	}
	n = retro_spool_dirs(store, dirs, 1);
	snprintf(cur.spool, sizeof cur.spool, "%s", n > 1 ? dirs[1] : "");
}

/* Imports what the recorded processes sealed; when the store has been
 * deleted (or another made in its place), says so once and makes it
 * again first. */
static int import_now(struct retro_store **stp, const char *store,
		      int flags, struct retro_import_stats *s)
{
	char f[PATH_MAX], why[PATH_MAX + 256];
	struct stat st;
	int r;

	snprintf(f, sizeof f, "%s/FORMAT", store);
	if (!*stp || (cur.ino && (stat(store, &st) < 0 || st.st_dev != cur.dev ||
			st.st_ino != cur.ino || stat(f, &st) < 0))) {
		if (*stp && !cur.gone_said++)
			fprintf(stderr, "retro: warning: %s was deleted during "
					"the recording: what had been imported "
					"into it is lost; the rest goes into a "
					"new store there\n", store);
		retro_store_close(*stp);
		*stp = NULL;
		retro_store_adopt_spool(cur.spool);
		r = retro_store_open(store, RETRO_OPEN_CREATE, stp, why,
				     sizeof why);
		if (r) {
			errorf("record", "%s", why[0] ? why : retro_strerror(r));
			return r;
		}
		store_identify(store);
	}
	return retro_import_dirs(*stp, cur.spool[0] ? cur.spool : NULL, 0, flags,
				 s);
}

static void add_stats(struct retro_import_stats *sum,
		      const struct retro_import_stats *s)
{
	sum->losses += s->losses;
	sum->setid += s->setid;
	sum->segments += s->segments;
	sum->actions += s->actions;
	sum->reused += s->reused;
	sum->pooled += s->pooled;
}

static int wait_importing(struct retro_store **st, const char *store,
			  pid_t pid, int *status, struct retro_import_stats *sum)
{
	struct retro_import_stats s;
	long ms = IMPORT_TICK_MS;
	struct timespec tick;
	sigset_t chld, old;
	int rc = 0;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			errorf("record", "waitpid: %s", strerror(errno));
			rc = 1;
			break;
		}
		tick.tv_sec = ms / 1000;
		tick.tv_nsec = ms % 1000 * 1000000L;
		memset(&s, 0, sizeof s);
		if (w == 0 && sigtimedwait(&chld, NULL, &tick) < 0 &&
		    errno == EAGAIN) {
			if (import_now(st, store,
				       RETRO_IMPORT_POOL | RETRO_IMPORT_WATCH,
				       &s) == 0)
				add_stats(sum, &s);
			ms = s.segments ? IMPORT_TICK_MS
					: ms * 2 > IMPORT_IDLE_MS ? IMPORT_IDLE_MS
								  : ms * 2;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* The command itself setuid or setgid (for another user than us): the
 * loader ignores LD_PRELOAD and the recording would be silently empty.
 * Found the way execvp finds it. */
static void setid_check(const char *cmd)
{
	char path[PATH_MAX];
	const char *dirs = getenv("PATH"), *p, *e;
	struct stat st;
	int found = 0;

	if (strchr(cmd, '/')) {
		found = snprintf(path, sizeof path, "%s", cmd) < (int)sizeof path &&
			stat(path, &st) == 0;
	} else {
		for (p = dirs && *dirs ? dirs : "/bin:/usr/bin"; !found && p;
		     p = *e ? e + 1 : NULL) {
			e = strchrnul(p, ':');
			if (snprintf(path, sizeof path, "%.*s%s%s", (int)(e - p), p,
				     e > p ? "/" : "", cmd) >= (int)sizeof path)
				continue;
			found = stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
				access(path, X_OK) == 0;
		}
	}
	if (!found || !S_ISREG(st.st_mode))
		return;
	if (retro_os_setid_exec(path, &st))
		fprintf(stderr, "retro: warning: %s is setuid/setgid: the loader "
				"ignores LD_PRELOAD for it, so neither it nor what "
				"it starts is recorded\n", path);
}

int cmd_record(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, 0, 'o' },
		{ "quiet", no_argument, 0, 'q' },
		{ "trap", no_argument, 0, 't' },
		{ "no-trap", no_argument, 0, 'T' },
		{ "stats", no_argument, 0, 'S' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	const char *out = NULL;
	char store[PATH_MAX], shim[PATH_MAX], why[PATH_MAX + 256];
	char *preload;
	struct retro_store *st;
	struct retro_import_stats stats, sum;
	struct sigaction ign = { .sa_handler = SIG_IGN }, oint, oquit;
	int quiet = 0, trap = 0, want_stats = 0, noproc, c, status, r;
	long lockfd;
	pid_t pid;

	while ((c = getopt_long(argc, argv, "+o:qth", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 't':
			trap = 1;
			break;
		case 'T':
			trap = -1;
			break;
		case 'S':
			want_stats = 1;
			break;
		case 'h':
			help(stdout);
			return EX_OK;
		default:
			help(stderr);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		errorf("record", "no command to record");
		help(stderr);
		return EX_USAGE;
	}
	if (store_path("record", out, store, sizeof store))
		return EX_USAGE;
	setid_check(argv[optind]);
	r = retro_store_open(store, RETRO_OPEN_CREATE, &st, why, sizeof why);
	if (r) {
		errorf("record", "%s", why[0] ? why : retro_strerror(r));
		return EX_USAGE;
	}
	store_identify(store);
	r = find_shim(shim, sizeof shim);
	if (r) {
		errorf("record", "cannot find libretro.so (looked at %s): %s; set "
		       "RETRO_SHIM", shim, strerror(r));
		retro_store_close(st);
		return EX_USAGE;
	}
	{
		const char *old = getenv("LD_PRELOAD");
		size_t n = strlen(shim) + (old ? strlen(old) + 1 : 0) + 1;
		preload = malloc(n);
		if (!preload)
			return EX_USAGE;
		snprintf(preload, n, "%s%s%s", shim, old && *old ? " " : "",
			 old ? old : "");
	}
	/* The store stays open: its descriptors are close-on-exec, and the
	 * child only sets its environment and execs. */
	/* While it is held, the recorded processes leave their last
	 * segments to our imports (store_int.h).  Without it, each imports
	 * its own, as without record. */
	lockfd = retro_importer_hold(store);
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);
	{
		const char *set[3][2] = { { "LD_PRELOAD", preload },
					  { "RETRO_STORE", store },
					  { "RETRO_TRAP", trap > 0 ? "1" : "0" } };
		char **env = child_env(set, trap ? 3 : 2);
		if (!env) {
			errorf("record", "%s", strerror(ENOMEM));
			return EX_USAGE;
		}
		pid = spawn_command(argv + optind, env, &oint, &oquit);
		free(env);
	}
	if (pid < 0 && exec_errno) {
		/* Nothing ran: no process to record.  The import (of
		 * nothing) removes the shared-memory spool made for it, as
		 * the end of a recording does, and the store is flushed: a
		 * new one's first commit was not (store.c, dbis_open). */
		int e = exec_errno;
		fprintf(stderr, "retro-replay record: %s: %s\n", argv[optind],
			strerror(e));
		if (lockfd >= 0)
			close((int)lockfd);
		retro_import(st, 0, 0, NULL);
		mdb_env_sync(st->env, 1);
		retro_store_close(st);
		return e == ENOENT ? 127 : 126;
	}
	if (pid < 0) {
		errorf("record", "vfork: %s", strerror(errno));
		return EX_USAGE;
	}
	free(preload);
	memset(&sum, 0, sizeof sum);
	if (wait_importing(&st, store, pid, &status, &sum))
		return EX_USAGE;
	memset(&stats, 0, sizeof stats);
	/* The last imports' commits are not flushed to the disk: the exit
	 * status's commit below is, and with it everything before it (one
	 * fdatasync, ~0.5 ms on ext4 here, where there were two).  A crash
	 * of the machine between the two loses what a crash a moment
	 * earlier would have, as long as the spool is in shared memory.
	 * A spool on the disk (STORE/spool, when /dev/shm cannot be used)
	 * keeps a flush per commit: its imported segments are removed
	 * right after. */
	if (cur.spool[0])
		mdb_env_set_flags(st->env, MDB_NOSYNC, 1);
	r = import_now(&st, store, 0, &stats); /* and the pool goes */
	if (!st)
		return EX_USAGE;
	if (lockfd >= 0) {
		/* a process that saw the lock held had sealed its segments
		 * before this import: those the one above missed */
		struct retro_import_stats late;
		close((int)lockfd);
		memset(&late, 0, sizeof late);
		if (!r)
			r = import_now(&st, store, 0, &late);
		if (!st)
			return EX_USAGE;
		add_stats(&stats, &late);
		stats.skipped = late.skipped;
	}
	/* a store made again by import_now never had the flag */
	mdb_env_set_flags(st->env, MDB_NOSYNC, 0);
	note_status(st, pid, status);
	add_stats(&sum, &stats);
	if (r)
		errorf("record", "%s: importing the spool: %s (the spool is "
		       "kept; 'retro-replay import' takes it later)", store,
		       retro_strerror(r));
	if (sum.setid)
		fprintf(stderr, "retro: warning: %llu setuid/setgid program(s) "
				"started: the loader ignores LD_PRELOAD for them, "
				"so neither they nor what they start are recorded; "
				"'retro-replay log %s' shows which\n",
			(unsigned long long)sum.setid, store);
	if (sum.losses)
		fprintf(stderr, "retro: warning: some calls were not recorded "
				"(the spool could not grow); 'retro-replay log %s' "
				"shows where\n", store);
	if (want_stats) {
		struct rusage ru;
		double cpu = 0;
		/* ours: making the store and the imports, mostly; the
		 * command and its children are not counted */
		if (getrusage(RUSAGE_SELF, &ru) == 0)
			cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
			      (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) /
				      1e6;
		fprintf(stderr, "retro: record imported %u segment(s) holding "
				"%llu action(s); %u made from the pages of "
				"imported ones, %u kept for that; record's own CPU "
				"time %.3f s\n",
			sum.segments, (unsigned long long)sum.actions,
			sum.reused, sum.pooled, cpu);
	}
	/* without /proc no importer can tell a writer that outlives the
	 * command from one that is gone (retro_os_writer_alive) */
	noproc = stats.skipped && !retro_os_have_proc();
	if (noproc)
		fprintf(stderr, "retro: warning: %u segment(s) left in the spool: "
				"without /proc, whether their processes still run "
				"cannot be checked; 'retro-replay import %s' where "
				"/proc is mounted takes them\n",
			stats.skipped, store);
	if (!quiet) {
		char s[64];
		status_str(status, s, sizeof s);
		fprintf(stderr, "retro: recorded into %s (%s)", store, s);
		if (stats.skipped && !noproc)
			fprintf(stderr, "; %u segment(s) still being written by "
					"processes that outlive the command",
				stats.skipped);
		fputc('\n', stderr);
	}
	retro_store_close(st);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EX_USAGE;
}
