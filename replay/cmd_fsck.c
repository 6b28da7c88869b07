/* retro-replay fsck [STORE]
 *
 * LMDB keeps no checksums, and a damaged internal page can crash liblmdb
 * itself, so the walk runs in a child process: its death is reported as
 * corruption, with the signal, instead of taking the command down. */
#include "config.h"
#include "cmd.h"
#include "codec.h"
#include "hash.h"
#include "spool.h"
#include "store_int.h"
#include "os.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void help(FILE *f)
{
	fprintf(f, "usage: retro-replay fsck [STORE]\n\n"
		   "Checks a store: its format, every chunk of actions against "
		   "its checksum, every\nblob against its hash, every path and "
		   "call site an action refers to, and the\nspool segments "
		   "waiting to be imported.  Changes nothing.\n\n"
		   "Exit status: 0 the store is sound, 1 problems were found "
		   "(listed), 2 the\nstore cannot be opened.\n");
}

struct report {
	FILE *out;
	unsigned problems;
	/* The ids of the paths that spool segments hold, sorted: a chunk's
	 * action may name a path interned by another thread of its process,
	 * whose segment is not imported yet (still written, or a full map
	 * stopped its import).  Such a reference waits for that import; it
	 * is counted in `waiting`, not a problem. */
	uint64_t *held;
	size_t nheld, capheld;
	uint64_t waiting;
	unsigned nseg;
	uint64_t nrec;
};

static void problem(struct report *rp, const char *fmt, ...)
{
	va_list ap;

	rp->problems++;
	if (rp->problems > 50)
		return;
	fputs("problem: ", rp->out);
	va_start(ap, fmt);
	vfprintf(rp->out, fmt, ap);
	va_end(ap);
	fputc('\n', rp->out);
}

static int exists(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t n)
{
	MDB_val k = { n, (void *)key }, v;

	return mdb_get(txn, dbi, &k, &v) == 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Whether the path `id` an action names is in the store; if not, one that
 * a spool segment holds counts as waiting for its import. */
static int path_known(struct report *rp, MDB_txn *txn, MDB_dbi paths,
		      uint64_t id)
{
	if (exists(txn, paths, &id, 8))
		return 1;
	if (rp->nheld &&
	    bsearch(&id, rp->held, rp->nheld, sizeof id, cmp_u64)) {
		rp->waiting++;
		return 1;
	}
	return 0;
}

static int is_id_arg(const struct retro_action *a, int i)
{
	return retro_arg_is_id(a->call, i);
}

/* A key as hex, at most 16 bytes of it. */
static const char *keyhex(const MDB_val *k, char *buf)
{
	size_t n = k->mv_size < 16 ? k->mv_size : 16;

	for (size_t i = 0; i < n; i++)
		sprintf(buf + i * 2, "%02x", ((const unsigned char *)k->mv_data)[i]);
	buf[n * 2] = 0;
	return buf;
}

/* The next entry of a table's walk: 1, or 0 at its end, or where its keys
 * stop increasing (a damaged page sends liblmdb round in circles): said
 * once as a problem of that table. */
static int walk(struct report *rp, const char *table, MDB_cursor *cur,
		MDB_val *k, MDB_val *v, MDB_val *prev)
{
	int rc = retro_walk_next(cur, k, v, prev);

	if (rc == RETRO_ECORRUPT)
		problem(rp, "%s: keys out of order: the table is damaged, and "
			    "was checked only up to there", table);
	return rc == 0;
}

static void check_store(struct retro_store *st, struct report *rp)
{
	char hex[33];
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t nchunks = 0, nacts = 0, nblobs = 0, blobbytes = 0, npaths = 0,
		 nstacks = 0, inflight = 0, losses = 0, listed = 0;
	int rc;

	rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc) {
		problem(rp, "cannot begin a read transaction: %s", mdb_strerror(rc));
		return;
	}
	/* blobs: content-addressed, so the key is the checksum */
	if (mdb_cursor_open(txn, st->blobs, &cur) == 0) {
		MDB_val prev = { 0, NULL };
		while (walk(rp, "blobs", cur, &k, &v, &prev)) {
			uint64_t h[2];
			nblobs++;
			blobbytes += v.mv_size;
			if (k.mv_size != 16) {
				problem(rp, "blob key of %zu bytes", k.mv_size);
				continue;
			}
			retro_hash128(v.mv_data, v.mv_size, h);
			if (memcmp(h, k.mv_data, 16)) {
				uint64_t key[2]; /* LMDB aligns keys to 2 bytes only */
				memcpy(key, k.mv_data, 16);
				problem(rp, "blob %016llx%016llx (%zu bytes) does not "
					    "match its hash",
					(unsigned long long)key[1],
					(unsigned long long)key[0], v.mv_size);
			}
		}
		mdb_cursor_close(cur);
	}
	if (mdb_cursor_open(txn, st->paths, &cur) == 0) {
		MDB_val prev = { 0, NULL };
		while (walk(rp, "paths", cur, &k, &v, &prev)) {
			npaths++;
			/* "" is a path too: what the shim records when it
			 * cannot learn one (no /proc: the executable, a
			 * descriptor's object) */
			if (retro_check_record(RT_PATH, &k, &v) ||
			    (v.mv_size && memchr(v.mv_data, 0, v.mv_size)))
				problem(rp, "path record %s fails its check",
					keyhex(&k, hex));
		}
		mdb_cursor_close(cur);
	}
	if (mdb_cursor_open(txn, st->modules, &cur) == 0) {
		MDB_val prev = { 0, NULL };
		while (walk(rp, "modules", cur, &k, &v, &prev))
			if (retro_check_record(RT_MODULE, &k, &v))
				problem(rp, "module record %s fails its check",
					keyhex(&k, hex));
		mdb_cursor_close(cur);
	}
	if (mdb_cursor_open(txn, st->waits, &cur) == 0) {
		MDB_val prev = { 0, NULL };
		while (walk(rp, "exit statuses", cur, &k, &v, &prev))
			if (retro_check_record(RT_WAIT, &k, &v))
				problem(rp, "exit-status record %s fails its check",
					keyhex(&k, hex));
		mdb_cursor_close(cur);
	}
	if (mdb_cursor_open(txn, st->segments, &cur) == 0) {
		MDB_val prev = { 0, NULL };
		while (walk(rp, "imported segments", cur, &k, &v, &prev)) {
			uint64_t n;
			if (retro_check_record(RT_SEGMENT, &k, &v)) {
				problem(rp, "segment record %s fails its check",
					keyhex(&k, hex));
				continue;
			}
			memcpy(&n, v.mv_data, 8);
			listed += n;
		}
		mdb_cursor_close(cur);
	}
	if (mdb_cursor_open(txn, st->clock, &cur) == 0) {
		MDB_val prev = { 0, NULL };
		while (walk(rp, "clock anchors", cur, &k, &v, &prev))
			if (retro_check_record(RT_CLOCK, &k, &v))
				problem(rp, "clock record %s fails its check",
					keyhex(&k, hex));
		mdb_cursor_close(cur);
	}
	if (mdb_cursor_open(txn, st->stacks, &cur) == 0) {
		MDB_val prev = { 0, NULL };
		while (walk(rp, "call sites", cur, &k, &v, &prev)) {
			nstacks++;
			if (retro_check_record(RT_STACK, &k, &v)) {
				problem(rp, "call-site record %s fails its check",
					keyhex(&k, hex));
				continue;
			}
			for (size_t i = 0; i < v.mv_size / 24; i++) {
				uint64_t mk;
				memcpy(&mk, (char *)v.mv_data + i * 24, 8);
				if (mk && !exists(txn, st->modules, &mk, 8))
					problem(rp, "call site refers to a missing "
						    "module %016llx",
						(unsigned long long)mk);
			}
		}
		mdb_cursor_close(cur);
	}
	if (mdb_cursor_open(txn, st->chunks, &cur) == 0) {
		MDB_val prev = { 0, NULL };
		while (walk(rp, "actions", cur, &k, &v, &prev)) {
			struct retro_action *acts;
			size_t n;
			uint32_t proc, thread;
			nchunks++;
			if (k.mv_size != 16) {
				problem(rp, "chunk key of %zu bytes", k.mv_size);
				continue;
			}
			proc = rd32(k.mv_data);
			thread = rd32((unsigned char *)k.mv_data + 4);
			rc = retro_chunk_decode(v.mv_data, v.mv_size, proc, thread,
						&acts, &n);
			if (rc) {
				problem(rp, "chunk of process %u thread %u at seq "
					    "%llu: %s",
					proc, thread,
					(unsigned long long)rd64(
						(unsigned char *)k.mv_data + 8),
					retro_strerror(rc));
				continue;
			}
			for (size_t i = 0; i < n; i++) {
				const struct retro_action *a = &acts[i];
				nacts++;
				/* exec does not return when it works */
				if (a->state != 2 &&
				    !(a->call >= RC_execve && a->call <= RC_execveat))
					inflight++;
				if (a->call == RC_loss || a->call == RC_storegone)
					losses++;
				for (int j = 0; j < RETRO_MAXARGS; j++)
					if (is_id_arg(a, j) && a->arg[j] &&
					    !path_known(rp, txn, st->paths,
							a->arg[j]))
						problem(rp, "process %u seq %llu (%s): "
							    "path #%016llx missing",
							proc, (unsigned long long)a->seq,
							retro_calls[a->call].name,
							(unsigned long long)a->arg[j]);
				if (a->obj &&
				    !path_known(rp, txn, st->paths, a->obj))
					problem(rp, "process %u seq %llu (%s): object "
						    "path missing",
						proc, (unsigned long long)a->seq,
						retro_calls[a->call].name);
				if (a->stack && !exists(txn, st->stacks, &a->stack, 8))
					problem(rp, "process %u seq %llu (%s): call "
						    "site missing",
						proc, (unsigned long long)a->seq,
						retro_calls[a->call].name);
				if ((a->flags & RA_DATA) && a->state == 2 &&
				    !(a->flags & 4 /* RA_DATA_LOST */) &&
				    !exists(txn, st->blobs, a->hash, 16))
					problem(rp, "process %u seq %llu (%s): its "
						    "%u bytes are missing",
						proc, (unsigned long long)a->seq,
						retro_calls[a->call].name, a->datalen);
			}
			free(acts);
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	if (listed != nacts)
		problem(rp, "the chunks hold %llu action(s) where the imported "
			    "segments gave %llu: records are missing",
			(unsigned long long)nacts, (unsigned long long)listed);
	fprintf(rp->out,
		"store: %llu action(s) in %llu chunk(s), %llu in flight; %llu "
		"blob(s), %llu byte(s); %llu path(s); %llu call site(s)",
		(unsigned long long)nacts, (unsigned long long)nchunks,
		(unsigned long long)inflight, (unsigned long long)nblobs,
		(unsigned long long)blobbytes, (unsigned long long)npaths,
		(unsigned long long)nstacks);
	if (losses)
		fprintf(rp->out, "; %llu loss marker(s): some calls were not "
				 "recorded",
			(unsigned long long)losses);
	if (rp->waiting)
		fprintf(rp->out, "; %llu reference(s) to paths that segments "
				 "awaiting import hold",
			(unsigned long long)rp->waiting);
	fputc('\n', rp->out);
}

/* Counts a segment's records and keeps the ids of its paths (`held`);
 * retro_seg_check then says whether the records are sound. */
static int spool_rec(const struct retro_rec_hdr *h, void *arg)
{
	struct report *rp = arg;
	const struct retro_rec_path *p = (const void *)h;

	rp->nrec++;
	if (h->type != REC_PATH || h->len < sizeof *p)
		return 0;
	if (rp->nheld == rp->capheld) {
		size_t c = rp->capheld ? rp->capheld * 2 : 256;
		uint64_t *q = realloc(rp->held, c * sizeof *q);
		if (!q)
			return ENOMEM;
		rp->held = q;
		rp->capheld = c;
	}
	rp->held[rp->nheld++] = p->id;
	return 0;
}

/* The segments awaiting import: each is read and checked (problems), and
 * the paths they hold are kept for check_store. */
static void scan_spool(const char *store, struct report *rp)
{
	char dirs[2][PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	int ndirs = retro_spool_dirs(store, dirs, 0);

	for (int k = 0; k < ndirs; k++) {
	const char *dir = dirs[k];
	DIR *d = opendir(dir);
	if (!d) {
		problem(rp, "%s: %s", dir, strerror(errno));
		continue;
	}
	while ((de = readdir(d))) {
		uint32_t p, i, t, s;
		struct stat sb;
		size_t held0;
		void *map;
		int fd, rc;

		if (retro_seg_parse_name(de->d_name, &p, &i, &t, &s))
			continue;
		rp->nseg++;
		if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >=
		    (int)sizeof path) {
			problem(rp, "spool segment %s in %s: path too long",
				de->d_name, dir);
			continue;
		}
		fd = (int)retro_os_open_file(path);
		if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size < RETRO_SEG_HDR) {
			problem(rp, "spool segment %s: unreadable or truncated", path);
			if (fd >= 0)
				close(fd);
			continue;
		}
		map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
		if (map == MAP_FAILED) {
			problem(rp, "spool segment %s: %s", path, strerror(errno));
			continue;
		}
		held0 = rp->nheld;
		rc = retro_seg_walk(map, (size_t)sb.st_size, spool_rec, rp);
		if (!rc)
			rc = retro_seg_check(map, (size_t)sb.st_size);
		if (rc) {
			/* its paths wait for no import */
			rp->nheld = held0;
			problem(rp, "spool segment %s: %s%s", path,
				retro_strerror(rc),
				rc == RETRO_ECORRUPT ? " (no import takes it)" : "");
		}
		munmap(map, (size_t)sb.st_size);
	}
	closedir(d);
	}
	if (rp->nheld)
		qsort(rp->held, rp->nheld, sizeof *rp->held, cmp_u64);
}

static void print_spool(const char *store, struct report *rp)
{
	char path[PATH_MAX];

	fprintf(rp->out, "spool: %u segment(s) awaiting import, %llu record(s)\n",
		rp->nseg, (unsigned long long)rp->nrec);
	{
		struct retro_shared_hdr h;
		struct retro_loss_rec l;
		struct stat sb;
		unsigned nloss = 0;
		FILE *f;
		long fd = -1;
		if (snprintf(path, sizeof path, "%s/" RETRO_SHARED_NAME,
			     store) < (int)sizeof path)
			fd = retro_os_open_file(path);
		f = fd >= 0 ? fdopen((int)fd, "rb") : NULL;
		if (fd >= 0 && !f)
			close((int)fd);
		if (f && fread(&h, sizeof h, 1, f) == 1 &&
		    fstat(fileno(f), &sb) == 0) {
			/* past the end when some did not fit (h.overflow) */
			h.used = retro_shared_span(h.used, (uint64_t)sb.st_size);
			for (uint64_t o = 0; o + sizeof l <= h.used; o += sizeof l)
				if (fread(&l, sizeof l, 1, f) == 1 &&
				    l.magic == RETRO_LOSS_MAGIC)
					nloss++;
			if (nloss || h.overflow)
				fprintf(rp->out, "shared map: %u loss marker(s): some "
						 "calls were not recorded\n",
					nloss + (unsigned)h.overflow);
		}
		if (f)
			fclose(f);
	}
}

unsigned fsck_walk(struct retro_store *st, const char *path, FILE *out)
{
	struct report rp = { .out = out };

	scan_spool(path, &rp);
	check_store(st, &rp);
	print_spool(path, &rp);
	free(rp.held);
	if (rp.problems > 50)
		fprintf(out, "... and %u more problem(s)\n", rp.problems - 50);
	return rp.problems;
}

int cmd_fsck(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	char path[PATH_MAX], why[PATH_MAX + 256];
	int c, pfd[2], status, rc;
	pid_t pid;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			help(stdout);
			return EX_OK;
		}
		help(stderr);
		return EX_USAGE;
	}
	if (argc - optind > 1) {
		help(stderr);
		return EX_USAGE;
	}
	if (store_path("fsck", optind < argc ? argv[optind] : NULL, path,
		       sizeof path))
		return EX_USAGE;
	if (pipe(pfd) < 0) {
		errorf("fsck", "pipe: %s", strerror(errno));
		return EX_USAGE;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		errorf("fsck", "fork: %s", strerror(errno));
		return EX_USAGE;
	}
	if (pid == 0) {
		struct report rp = { .out = fdopen(pfd[1], "w") };
		struct retro_store *st;
		close(pfd[0]);
		/* the child's death is the verdict: no crash guard here */
		retro_crash_guard(NULL);
		rc = retro_store_open(path, RETRO_OPEN_RDONLY, &st, why, sizeof why);
		if (rc == RETRO_ECORRUPT || rc == RETRO_ELMDB) {
			fprintf(rp.out, "problem: %s\n", why);
			fclose(rp.out);
			_exit(EX_VERDICT);
		}
		if (rc) {
			fprintf(rp.out, "cannot open: %s\n",
				rc == ENOENT ? "no such store" : why);
			fclose(rp.out);
			_exit(EX_USAGE);
		}
		rp.problems = fsck_walk(st, path, rp.out);
		retro_store_close(st);
		fclose(rp.out);
		_exit(rp.problems ? EX_VERDICT : EX_OK);
	}
	close(pfd[1]);
	{
		char buf[4096];
		ssize_t n;
		while ((n = read(pfd[0], buf, sizeof buf)) > 0)
			fwrite(buf, 1, (size_t)n, stdout);
		close(pfd[0]);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		printf("fsck: %s: CORRUPT: reading the store crashed the checker "
		       "(%s): its LMDB pages are damaged\n",
		       path, strsignal(WTERMSIG(status)));
		return EX_VERDICT;
	}
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : EX_USAGE;
	if (rc == EX_OK)
		printf("fsck: %s: OK\n", path);
	else if (rc == EX_VERDICT)
		printf("fsck: %s: PROBLEMS FOUND\n", path);
	else
		printf("fsck: %s: cannot be checked\n", path);
	return rc;
}
