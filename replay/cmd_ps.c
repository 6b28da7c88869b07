/* retro-replay ps [--json] [STORE] */
#include "config.h"
#include "cmd.h"
#include "json.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static void help(FILE *f)
{
	fprintf(f, "usage: retro-replay ps [--json] [--no-import] [STORE]\n\n"
		   "Lists the recorded processes as a tree: id (what other "
		   "commands select by),\npid, parent pid, start and end in seconds "
		   "from the recording's start, exit\nstatus, program and argv.\n\n"
		   "  --json       one JSON object per process and line\n"
		   "  --no-import  do not import the spool first\n"
		   "  -h, --help   show this help\n");
}

/* argv on one line: words separated by spaces, control bytes escaped. */
static void argv_print(FILE *f, const struct retro_proc *p)
{
	for (size_t i = 0; p->argv && i < p->argvlen; i++) {
		unsigned char c = (unsigned char)p->argv[i];
		if (c == 0) {
			if (i + 1 < p->argvlen)
				fputc(' ', f);
		} else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

static void json_argv(FILE *f, const struct retro_proc *p)
{
	size_t i = 0;
	int first = 1;

	fputc('[', f);
	while (p->argv && i < p->argvlen) {
		size_t n = strnlen(p->argv + i, p->argvlen - i);
		if (!first)
			fputc(',', f);
		json_str(f, p->argv + i, n);
		first = 0;
		i += n + 1;
	}
	fputc(']', f);
}

static void status_field(const struct retro_proc *p, char *buf, size_t n)
{
	if (p->flags & RP_EXITED)
		status_str(p->status, buf, n);
	else if (p->flags & (RP_INFLIGHT | RP_ENDED))
		snprintf(buf, n, (p->flags & RP_ENDED) ? "ended" : "killed?");
	else if (!(p->flags & RP_ENDED))
		/* No exit, no end record: it died without running its exit
		 * path (SIGKILL, a crash), or it is still running. */
		snprintf(buf, n, "killed?");
	else
		snprintf(buf, n, "-");
}

static void tree(const struct retro_recording *r, uint32_t parent, int depth,
		 unsigned char *done, int json)
{
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct retro_proc *p = &r->procs[i];
		char st[64];
		int is_root = !p->parent || !retro_proc_find(r, p->parent);

		if (done[i] || (parent ? p->parent != parent : !is_root))
			continue;
		done[i] = 1;
		status_field(p, st, sizeof st);
		if (json) {
			printf("{\"id\":%u,\"pid\":%d,\"ppid\":%d,\"parent\":%u,"
			       "\"start_ns\":%lld,\"end_ns\":%lld,\"exited\":%s,",
			       p->id, p->pid, p->ppid, p->parent,
			       (long long)rel_ns(r, p->start),
			       (long long)rel_ns(r, p->end),
			       (p->flags & RP_EXITED) ? "true" : "false");
			if (p->flags & RP_EXITED) {
				if (WIFEXITED(p->status))
					printf("\"exit_code\":%d,", WEXITSTATUS(p->status));
				else if (WIFSIGNALED(p->status))
					printf("\"signal\":%d,", WTERMSIG(p->status));
			}
			printf("\"status\":");
			json_cstr(stdout, st);
			printf(",\"program\":");
			json_cstr(stdout, proc_name(p));
			printf(",\"exe\":");
			json_cstr(stdout, p->exe);
			printf(",\"argv\":");
			json_argv(stdout, p);
			printf(",\"argv_cut\":%s",
			       (p->flags & RP_ARGV_CUT) ? "true" : "false");
			printf(",\"images\":%u,\"threads\":%u,\"actions\":%llu,"
			       "\"time_reads\":%llu,\"inflight\":%s,\"loss\":%s}\n",
			       p->images, p->threads, (unsigned long long)p->actions,
			       (unsigned long long)p->timereads,
			       (p->flags & RP_INFLIGHT) ? "true" : "false",
			       (p->flags & RP_LOSS) ? "true" : "false");
		} else {
			printf("%4u %7d %7d %10.6f %10.6f %-10s %*s%-s  ", p->id,
			       p->pid, p->ppid, rel_s(r, p->start),
			       rel_s(r, p->end), st, depth * 2, "", proc_name(p));
			argv_print(stdout, p);
			if (p->flags & RP_ARGV_CUT)
				printf(" [argv cut at %zu bytes]", p->argvlen);
			if (p->flags & RP_LOSS)
				printf("  [calls lost]");
			putchar('\n');
		}
		tree(r, p->id, depth + 1, done, json);
	}
}

int cmd_ps(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, 0, 'j' },
		{ "no-import", no_argument, 0, 'n' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct retro_store *st;
	struct retro_recording r;
	struct retro_scan *scan;
	unsigned char *done;
	int c, json = 0, noimp = 0, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'n')
			noimp = 1;
		else if (c == 'h') {
			help(stdout);
			return EX_OK;
		} else {
			help(stderr);
			return EX_USAGE;
		}
	}
	if (argc - optind > 1) {
		help(stderr);
		return EX_USAGE;
	}
	rc = open_for_reading("ps", optind < argc ? argv[optind] : NULL, noimp,
			      &st);
	if (rc)
		return rc;
	/* the processes only: the actions are not kept */
	rc = scan_recording("ps", st, &r, &scan);
	if (rc) {
		retro_store_close(st);
		return rc;
	}
	retro_scan_close(scan);
	done = calloc(r.nprocs + 1, 1);
	if (!json)
		printf("%4s %7s %7s %10s %10s %-10s %s\n", "ID", "PID", "PPID",
		       "START", "END", "STATUS", "PROGRAM  ARGV");
	tree(&r, 0, 0, done, json);
	/* Anything left is part of a cycle only corruption could make. */
	for (size_t i = 0; i < r.nprocs; i++)
		if (!done[i]) {
			r.procs[i].parent = 0;
			tree(&r, 0, 0, done, json);
		}
	free(done);
	retro_recording_free(&r);
	retro_store_close(st);
	return EX_OK;
}
