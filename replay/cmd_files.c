/* retro-replay files [--json] [STORE] */
#include "config.h"
#include "cmd.h"
#include "json.h"
#include "model.h"

#include <getopt.h>
#include <string.h>

static void help(FILE *f)
{
	fprintf(f, "usage: retro-replay files [--json] [--no-import] [STORE]\n\n"
		   "Lists every path the recording changed, with its state before "
		   "the recording\n(absent, a file whose bytes were captured, or "
		   "unknown) and each version after:\nwhen, by which process and "
		   "call, its size and content hash.\n\n"
		   "  --json       one JSON object per path and line\n"
		   "  --no-import  do not import the spool first\n"
		   "  -h, --help   show this help\n");
}

int cmd_files(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, 0, 'j' },
		{ "no-import", no_argument, 0, 'n' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct retro_store *st;
	struct retro_recording r;
	struct retro_file *files;
	size_t n;
	char why[256] = "";
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
	rc = open_for_reading("files", optind < argc ? argv[optind] : NULL, noimp,
			      &st);
	if (rc)
		return rc;
	rc = load_recording("files", st, &r);
	if (rc)
		goto out_close;
	rc = retro_model_files(st, &r, &files, &n, why, sizeof why);
	if (rc) {
		errorf("files", "%s: %s%s%s", retro_store_path(st),
		       retro_strerror(rc), why[0] ? ": " : "", why);
		rc = EX_USAGE;
		goto out_free;
	}
	for (size_t i = 0; i < n; i++) {
		const struct retro_file *f = &files[i];
		if (json) {
			printf("{\"path\":");
			json_cstr(stdout, f->path);
			printf(",\"initial\":\"%s\",\"versions\":[",
			       retro_obj_state_name(f->initial));
		} else {
			printf("%s  (before: %s)\n", f->path,
			       retro_obj_state_name(f->initial));
		}
		for (size_t k = 0; k < f->nv; k++) {
			const struct retro_version *v = &f->v[k];
			const struct retro_proc *p = retro_proc_find(&r, v->proc);
			char who[64];
			snprintf(who, sizeof who, "%u:%s", v->proc,
				 p ? proc_name(p) : "?");
			if (json) {
				printf("%s{\"t_ns\":%lld,\"proc\":%u,\"call\":\"%s\","
				       "\"state\":\"%s\",\"size\":%llu",
				       k ? "," : "", (long long)v->t, v->proc,
				       retro_calls[v->call].name,
				       retro_obj_state_name(v->state),
				       (unsigned long long)v->size);
				if (v->state == RO_FILE)
					printf(",\"hash\":\"%016llx%016llx\"",
					       (unsigned long long)v->hash[1],
					       (unsigned long long)v->hash[0]);
				putchar('}');
			} else {
				printf("  %11.6f %-16s %-10s %-9s", (double)v->t / 1e9,
				       who, retro_calls[v->call].name,
				       retro_obj_state_name(v->state));
				if (v->state == RO_FILE || v->state == RO_PARTIAL)
					printf(" %8llu bytes",
					       (unsigned long long)v->size);
				if (v->state == RO_FILE)
					printf("  #%08llx",
					       (unsigned long long)(v->hash[1] >> 32));
				putchar('\n');
			}
		}
		if (json)
			printf("]}\n");
	}
	retro_model_files_free(files, n);
	rc = EX_OK;
out_free:
	retro_recording_free(&r);
out_close:
	retro_store_close(st);
	return rc;
}
