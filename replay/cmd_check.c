/* retro-replay check [--json] [--all] [--min-slack S] [--confirm] [STORE]:
 * where a recording's correctness leans on timing rather than on
 * synchronization (lib/hb.h does the analysis). */
#define _GNU_SOURCE
#include "config.h"
#include "cmd.h"
#include "json.h"
#include "hb.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void help(FILE *f)
{
	fprintf(f,
		"usage: retro-replay check [--json] [--all] [--min-slack SECONDS]\n"
		"                          [--confirm [--scale F]] [--no-import] "
		"[STORE]\n\n"
		"Finds where the recording's correctness leans on timing rather "
		"than on\nsynchronization: pairs of actions of two processes on "
		"one file or directory\nentry, at least one of which changes it, "
		"whose order was kept only by how\nlong things took (a sleep "
		"used as a lock), not by a pipe, a wait, a lock or\nthe data "
		"itself.  Each finding gives both actions with their call sites, "
		"the\nslack (how much earlier the second could have come before "
		"the order\nflipped) and the sleeps that supplied it.  Most "
		"fragile first.\n\n"
		"  --json             one JSON document: {\"findings\": [...], ...}\n"
		"  --all              also O_APPEND writes and writes to standard "
		"output or\n"
		"                     error in write-write findings\n"
		"  --min-slack S      exit 1 only for findings whose slack is at "
		"most S\n"
		"                     seconds (default: any finding)\n"
		"  --confirm          replay each finding twice: the process that "
		"supplied\n"
		"                     the slack naively squeezed (the other's "
		"observation\n"
		"                     should change) and consistently (it should "
		"not)\n"
		"  --scale F          with --confirm, a third replay: consistent, "
		"with the\n"
		"                     sleeps of that process lasting F times as "
		"long (0.5\n"
		"                     halves them): is there margin left?\n"
		"  --no-import        do not import the spool first\n"
		"  -h, --help         show this help\n\n"
		"Exit status: 0 no finding (at or below --min-slack), 1 findings, "
		"2 errors.\n"
		"In CI: retro-replay record -o S -- make test && "
		"retro-replay check S\n");
}

/* The sleeps of the second action's process that overlap the window
 * between the two actions: what held the second one back.  Kept while
 * the store is read (the recording itself is not), then grouped by
 * process. */
struct sleep {
	uint32_t proc;
	uint16_t call;
	int64_t start, end;
	uint64_t stack;
};

struct sleeps {
	struct sleep *v; /* sorted by process, then start */
	size_t n, cap;
	int oom;
};

static int is_sleep(const struct retro_action *a)
{
	return (retro_calls[a->call].flags & F_SLEEP) && a->state == 2;
}

/* retro_hb_check_store's visit: each action once. */
static void sleep_keep(void *arg, const struct retro_action *a)
{
	struct sleeps *s = arg;

	if (!is_sleep(a) || s->oom)
		return;
	if (s->n == s->cap) {
		size_t c = s->cap ? s->cap * 2 : 256;
		struct sleep *q = realloc(s->v, c * sizeof *q);
		if (!q) {
			s->oom = 1;
			return;
		}
		s->v = q;
		s->cap = c;
	}
	s->v[s->n++] = (struct sleep){ a->proc, a->call, a->start, a->end,
				       a->stack };
}

static int by_proc(const void *x, const void *y)
{
	const struct sleep *a = x, *b = y;

	if (a->proc != b->proc)
		return a->proc < b->proc ? -1 : 1;
	return a->start < b->start ? -1 : a->start > b->start;
}

/* The sleeps of process id, from *first on; their number. */
static size_t sleeps_of(const struct sleeps *s, uint32_t id,
			const struct sleep **first)
{
	size_t lo = 0, hi = s->n, k;

	*first = NULL;
	if (!s->n)
		return 0; /* s->v is NULL */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->v[mid].proc < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (k = lo; k < s->n && s->v[k].proc == id; k++)
		;
	*first = s->v + lo;
	return k - lo;
}

/* Whether process id is anc or one of its descendants. */
static int descends(const struct retro_recording *r, uint32_t id, uint32_t anc)
{
	for (size_t hops = 0; id && hops <= r->nprocs; hops++) {
		const struct retro_proc *p;
		if (id == anc)
			return 1;
		p = retro_proc_find(r, id);
		id = p ? p->parent : 0;
	}
	return 0;
}

/* Calls fn for each sleep that supplied f's slack, inside the window
 * between the two actions: those of the second action's process (even
 * when it is the first's ancestor), of its ancestors below the one it
 * shares with the first action's process, and
 * of their children that ended inside the window (a shell script's
 * `sleep 1; cp src T`: the sleep is a sibling of cp). */
static void each_sleep(const struct retro_recording *r, const struct sleeps *s,
		       const struct retro_finding *f,
		       void (*fn)(const struct sleep *, uint32_t, void *), void *arg)
{
	const struct retro_proc *p = retro_proc_find(r, f->second.proc);
	uint32_t below = 0; /* the chain's process under p */

	for (size_t hops = 0; p && hops <= r->nprocs &&
			      (!hops || !descends(r, f->first.proc, p->id));
	     hops++, below = p->id, p = retro_proc_find(r, p->parent)) {
		for (size_t q = 0; q < r->nprocs; q++) {
			const struct retro_proc *c = &r->procs[q];
			const struct sleep *a;
			size_t n;
			if (c != p &&
			    (c->parent != p->id || c->id == below ||
			     !(c->flags & RP_ENDED) || c->end <= f->first.end ||
			     c->start >= f->second.start))
				continue;
			n = sleeps_of(s, c->id, &a);
			for (size_t k = 0; k < n; k++)
				if (a[k].end > f->first.end &&
				    a[k].start < f->second.start)
					fn(&a[k], p->id, arg);
		}
	}
}

static const char *site(struct retro_store *st, uint64_t stack, char *buf,
			size_t n)
{
	if (!stack || retro_stack_describe(st, stack, buf, n) != 0)
		snprintf(buf, n, "(no call site)");
	return buf;
}

struct out {
	struct retro_store *st;
	const struct retro_recording *r;
	int json, nsl;
};

static void sleep_json(const struct sleep *a, uint32_t chain, void *arg)
{
	struct out *o = arg;
	char b[1024];

	(void)chain;
	printf("%s{\"call\":\"%s\",\"duration_ns\":%lld,\"start_ns\":%lld,"
	       "\"proc\":%u,\"site\":",
	       o->nsl++ ? "," : "", retro_calls[a->call].name,
	       (long long)ns_sub(a->end, a->start),
	       (long long)rel_ns(o->r, a->start),
	       a->proc);
	json_cstr(stdout, site(o->st, a->stack, b, sizeof b));
	printf("}");
}

/* The innermost frame of a site: enough for a line of human output. */
static const char *frame(const char *site)
{
	static char b[512];
	const char *e = strstr(site, " <- ");
	size_t n = e ? (size_t)(e - site) : strlen(site);

	if (n >= sizeof b)
		n = sizeof b - 1;
	memcpy(b, site, n);
	b[n] = 0;
	return b;
}

static void sleep_human(const struct sleep *a, uint32_t chain, void *arg)
{
	struct out *o = arg;
	char b[1024];
	const struct retro_proc *p = retro_proc_find(o->r, a->proc);

	(void)chain;
	printf("   %s %s %.3f s by %s (process %u) at %.3f s, at %s\n",
	       o->nsl++ ? "       and" : "slack from:", retro_calls[a->call].name,
	       (double)ns_sub(a->end, a->start) / 1e9, p ? proc_name(p) : "?",
	       a->proc, rel_s(o->r, a->start),
	       frame(site(o->st, a->stack, b, sizeof b)));
}

static void side_json(struct out *o, const char *name,
		      const struct retro_action *a)
{
	const struct retro_proc *p = retro_proc_find(o->r, a->proc);
	char b[1024];

	printf("\"%s\":{\"proc\":%u,\"pid\":%d,\"program\":", name, a->proc,
	       p ? p->pid : 0);
	json_cstr(stdout, p ? proc_name(p) : NULL);
	printf(",\"call\":\"%s\",\"start_ns\":%lld,\"end_ns\":%lld,\"site\":",
	       retro_calls[a->call].name, (long long)rel_ns(o->r, a->start),
	       (long long)rel_ns(o->r, a->end));
	json_cstr(stdout, site(o->st, a->stack, b, sizeof b));
	printf("}");
}

static void side_human(struct out *o, const char *name,
		       const struct retro_action *a)
{
	const struct retro_proc *p = retro_proc_find(o->r, a->proc);
	char b[1024];

	printf("   %-7s %s by %s (process %u, pid %d) at %.3f s\n"
	       "           at %s\n",
	       name, retro_calls[a->call].name, p ? proc_name(p) : "?",
	       a->proc, p ? p->pid : 0, rel_s(o->r, a->start),
	       frame(site(o->st, a->stack, b, sizeof b)));
}

/* --confirm: runs `retro-replay run` on the process that supplied the
 * slack, naive then consistent, and says whether the first action's
 * process diverged in each. */
/* scale < 0: naive; else a consistent replay with sleeps scaled. */
static int replay_diverges(const char *store, uint32_t shep, uint32_t watch,
			   double scale, char *why, size_t n)
{
	char tmp[] = "/tmp/retro-check.XXXXXX", report[64], sel[16];
	char root[4096] = "";
	char self[4096], *buf = NULL, sc[32];
	ssize_t k;
	size_t len = 0;
	pid_t pid;
	int st, fd, rc = -1;
	FILE *f;

	k = readlink("/proc/self/exe", self, sizeof self - 1);
	if (k <= 0 || !mkdtemp(tmp)) {
		snprintf(why, n, "%s", strerror(errno));
		return -1;
	}
	self[k] = 0;
	snprintf(report, sizeof report, "%s/report.json", tmp);
	snprintf(sel, sizeof sel, "%u", shep);
	snprintf(sc, sizeof sc, "%g", scale);
	pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		if (scale < 0)
			execl(self, self, "run", "-q", store, "--shepherd", sel,
			      "--report", report, "--naive", (char *)NULL);
		else
			execl(self, self, "run", "-q", store, "--shepherd", sel,
			      "--report", report, "--scale", sc, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) > 1) {
		snprintf(why, n, "the replay failed (exit %d)",
			 pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		goto out;
	}
	f = fopen(report, "r");
	if (!f || getdelim(&buf, &len, 0, f) < 0) {
		snprintf(why, n, "no report");
		if (f)
			fclose(f);
		goto out;
	}
	fclose(f);
	{
		/* the root run made by itself, to remove below */
		const char *q = strstr(buf, "\"root\":\"");
		if (q) {
			const char *e = strchr(q + 8, '"');
			size_t l = e ? (size_t)(e - (q + 8)) : 0;
			if (l < sizeof root && memmem(q + 8, l, "/retro-root.", 12)) {
				memcpy(root, q + 8, l);
				root[l] = 0;
			}
		}
	}
	{
		char pat[64];
		const char *d = strstr(buf, "\"divergences\":");
		snprintf(pat, sizeof pat, "\"proc\":%u,", watch);
		rc = d && strstr(d, pat) ? 1 : 0;
	}
out:
	free(buf);
	unlink(report);
	rmdir(tmp);
	fd = root[0] ? fork() : -1;
	if (fd == 0) {
		execlp("rm", "rm", "-rf", "--", root, (char *)NULL);
		_exit(127);
	}
	if (fd > 0)
		waitpid(fd, &st, 0);
	return rc;
}

/* What --confirm found for one finding: for each replay, 1 when the first
 * action's process diverged, 0 when not, -1 when it was not run (why). */
struct confirm {
	uint32_t shep; /* the process re-executed */
	int naive, consistent, scaled;
	char why[128];
};

/* each_sleep's callback for slack_supplier: the last process on the
 * chain is the highest. */
static void sleep_chain(const struct sleep *a, uint32_t chain, void *arg)
{
	(void)a;
	*(uint32_t *)arg = chain;
}

/* The process to re-execute to squeeze f's slack: the highest process on
 * each_sleep's chain whose sleeps, or whose children's, supplied it (the
 * shell that ran `sleep 1; cp src T`); the second action's process when
 * no sleep did. */
static uint32_t slack_supplier(const struct retro_recording *r,
			       const struct sleeps *s,
			       const struct retro_finding *f)
{
	uint32_t id = f->second.proc;

	each_sleep(r, s, f, sleep_chain, &id);
	return id;
}

static void confirm_finding(struct retro_store *st, const struct retro_recording *r,
			    const struct sleeps *sl, const struct retro_finding *f,
			    double scale, struct confirm *k)
{
	const char *s = retro_store_path(st);
	uint32_t shep = slack_supplier(r, sl, f), watch = f->first.proc;

	k->why[0] = 0;
	k->shep = shep;
	k->consistent = k->scaled = -1;
	k->naive = replay_diverges(s, shep, watch, -1, k->why, sizeof k->why);
	if (k->naive >= 0)
		k->consistent = replay_diverges(s, shep, watch, 1, k->why,
						sizeof k->why);
	if (k->consistent >= 0 && scale >= 0)
		k->scaled = replay_diverges(s, shep, watch, scale, k->why,
					    sizeof k->why);
}

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, 0, 'j' },
		{ "all", no_argument, 0, 'a' },
		{ "min-slack", required_argument, 0, 's' },
		{ "confirm", no_argument, 0, 'c' },
		{ "scale", required_argument, 0, 'S' },
		{ "no-import", no_argument, 0, 'n' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct retro_store *st;
	struct retro_recording r = { 0 };
	struct retro_finding *f = NULL;
	struct retro_hb_stats hs = { 0 };
	struct sleeps sl = { 0 };
	char why[512] = "";
	struct timespec t0, t1;
	struct rusage ru;
	size_t n = 0, failing = 0;
	int c, json = 0, all = 0, noimp = 0, confirm = 0, rc;
	int64_t min_slack = INT64_MAX;
	double scale = -1;
	char *end;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'a': all = 1; break;
		case 'c': confirm = 1; break;
		case 'n': noimp = 1; break;
		case 'S':
			scale = strtod(optarg, &end);
			if (end == optarg || *end || scale < 0) {
				errorf("check", "--scale: not a factor >= 0: %s",
				       optarg);
				return EX_USAGE;
			}
			break;
		case 's': {
			double s = strtod(optarg, &end);
			if (end == optarg || *end || !(s >= 0)) {
				errorf("check", "--min-slack: not a number of "
						"seconds: %s", optarg);
				return EX_USAGE;
			}
			/* inf, or more than int64 ns hold: every finding */
			min_slack = s * 1e9 >= 9e18 ? INT64_MAX
						    : (int64_t)(s * 1e9);
			break;
		}
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
	rc = open_for_reading("check", optind < argc ? argv[optind] : NULL,
			      noimp, &st);
	if (rc)
		return rc;
	/* the store is read as the analysis goes, never loaded whole */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = retro_hb_check_store(st, &r, all ? RHB_ALL : 0, &f, &n, &hs,
				  sleep_keep, &sl, why, sizeof why);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!rc && sl.oom)
		rc = ENOMEM;
	if (rc) {
		errorf("check", "%s: %s%s%s", retro_store_path(st),
		       rc == EFBIG ? "too many processes for the analysis "
				     "to fit in memory"
				   : retro_strerror(rc),
		       why[0] ? ": " : "", why);
		rc = EX_USAGE;
		goto out_free;
	}
	if (sl.n)
		qsort(sl.v, sl.n, sizeof *sl.v, by_proc);
	getrusage(RUSAGE_SELF, &ru);
	for (size_t i = 0; i < n; i++)
		if (f[i].slack <= min_slack)
			failing++;

	struct out o = { st, &r, json, 0 };
	double secs = (double)(t1.tv_sec - t0.tv_sec) +
		      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (json) {
		printf("{\"findings\":[");
		for (size_t i = 0; i < n; i++) {
			printf("%s{\"path\":", i ? "," : "");
			json_cstr(stdout, retro_path(st, f[i].path));
			printf(",\"kind\":\"%s\",\"conflict\":\"%s\","
			       "\"slack_ns\":%lld,",
			       f[i].kind == RF_ENTRY ? "entry"
			       : f[i].kind == RF_STREAM ? "stream" : "content",
			       f[i].conflict == RF_WRITE_WRITE ? "write-write"
							       : "read-write",
			       (long long)f[i].slack);
			side_json(&o, "first", &f[i].first);
			printf(",");
			side_json(&o, "second", &f[i].second);
			printf(",\"sleeps\":[");
			o.nsl = 0;
			each_sleep(&r, &sl, &f[i], sleep_json, &o);
			printf("]");
			if (confirm) {
				struct confirm k;
				int nv, cv, sv;
				char *why = k.why;
				confirm_finding(st, &r, &sl, &f[i], scale, &k);
				nv = k.naive;
				cv = k.consistent;
				sv = k.scaled;
				printf(",\"confirm\":{\"shepherded\":%u,"
				       "\"naive_diverged\":%s,"
				       "\"consistent_diverged\":%s,\"confirmed\":%s",
				       k.shep, nv < 0 ? "null" : nv ? "true" : "false",
				       cv < 0 ? "null" : cv ? "true" : "false",
				       nv == 1 && cv == 0 ? "true" : "false");
				if (scale >= 0)
					printf(",\"scale\":%g,\"scaled_diverged\":%s",
					       scale, sv < 0 ? "null"
						      : sv ? "true" : "false");
				if (why[0]) {
					printf(",\"why\":");
					json_cstr(stdout, why);
				}
				printf("}");
			}
			printf("}");
		}
		printf("],\"actions\":%llu,\"processes\":%zu,\"objects\":%llu,"
		       "\"seconds\":%.3f,\"analysis_bytes\":%zu,"
		       "\"max_rss_bytes\":%lld,\"failing\":%zu}\n",
		       (unsigned long long)hs.actions, r.nprocs,
		       (unsigned long long)hs.objects, secs, hs.peak_bytes,
		       (long long)ru.ru_maxrss * 1024, failing);
	} else {
		for (size_t i = 0; i < n; i++) {
			const struct retro_proc *p1 = retro_proc_find(&r, f[i].first.proc);
			const struct retro_proc *p2 = retro_proc_find(&r, f[i].second.proc);
			printf("%zu. %s (%s, %s): slack %.3f s%s\n", i + 1,
			       retro_path(st, f[i].path),
			       f[i].kind == RF_ENTRY ? "directory entry"
			       : f[i].kind == RF_STREAM ? "pipe or FIFO bytes"
						     : "content",
			       f[i].conflict == RF_WRITE_WRITE
				       ? "two writers"
				       : "looked at, then changed",
			       (double)f[i].slack / 1e9,
			       f[i].slack > min_slack ? " (above --min-slack)"
						      : "");
			printf("   %s's %s came before %s's %s only because of "
			       "timing\n",
			       p1 ? proc_name(p1) : "?",
			       retro_calls[f[i].first.call].name,
			       p2 ? proc_name(p2) : "?",
			       retro_calls[f[i].second.call].name);
			side_human(&o, "first:", &f[i].first);
			side_human(&o, "second:", &f[i].second);
			o.nsl = 0;
			each_sleep(&r, &sl, &f[i], sleep_human, &o);
			if (!o.nsl)
				printf("   slack from: no sleep of %s: it was "
				       "busy, or blocked\n",
				       p2 ? proc_name(p2) : "?");
			if (confirm) {
				struct confirm k;
				const struct retro_proc *ps;
				int nv, cv, sv;
				char *why = k.why;
				confirm_finding(st, &r, &sl, &f[i], scale, &k);
				nv = k.naive;
				cv = k.consistent;
				sv = k.scaled;
				if (nv < 0 || cv < 0)
					printf("   confirm: could not replay: %s\n",
					       why);
				else
					printf("   confirm: naive replay of %s "
					       "(process %u): %s; "
					       "consistent replay: %s%s\n",
					       (ps = retro_proc_find(&r, k.shep))
						       ? proc_name(ps) : "?",
					       k.shep,
					       nv ? "the first action's outcome "
						    "changed"
						  : "no change",
					       cv ? "changed" : "no change",
					       nv && !cv ? " (confirmed)"
							 : " (not confirmed)");
				if (sv >= 0)
					printf("   with the sleeps x %g (consistent): "
					       "%s\n", scale,
					       sv ? "the outcome changed: not "
						    "enough margin"
						  : "no change: the margin "
						    "holds");
			}
			printf("\n");
		}
		printf("%zu finding%s in %llu actions of %zu processes "
		       "(%.2f s, %.1f MiB)\n",
		       n, n == 1 ? "" : "s", (unsigned long long)hs.actions,
		       r.nprocs, secs, (double)ru.ru_maxrss / 1024);
	}
	rc = failing ? EX_VERDICT : EX_OK;
out_free:
	free(sl.v);
	free(f);
	retro_recording_free(&r);
	retro_store_close(st);
	return rc;
}
