/* retro-replay import [--live] [STORE] */
#include "config.h"
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <string.h>

static void help(FILE *f)
{
	fprintf(f, "usage: retro-replay import [--live] [STORE]\n\n"
		   "Imports the spool segments that recording processes left in "
		   "STORE: those of\nthreads that ended and of processes that are "
		   "gone (killed, crashed).  Other\ncommands do this first by "
		   "themselves.\n\n"
		   "  --live     also import segments of processes still running "
		   "(a snapshot;\n             the segments stay in the spool, and "
		   "a later import takes\n             them whole)\n"
		   "  -h, --help show this help\n");
}

int cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "live", no_argument, 0, 'l' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct retro_store *st;
	struct retro_import_stats s;
	int c, live = 0, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'l') {
			live = 1;
		} else if (c == 'h') {
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
	{
		char path[PATH_MAX], why[PATH_MAX + 256];
		if (store_path("import", optind < argc ? argv[optind] : NULL, path,
			       sizeof path))
			return EX_USAGE;
		r = retro_store_open(path, 0, &st, why, sizeof why);
		if (r) {
			errorf("import", "%s",
			       r == ENOENT ? "no such store" : why);
			return EX_USAGE;
		}
	}
	r = retro_import(st, 0, live ? RETRO_IMPORT_LIVE : 0, &s);
	printf("imported %u segment(s): %llu action(s), %llu in flight, %llu "
	       "new blob byte(s); %u still being written; %u unreadable\n",
	       s.segments, (unsigned long long)s.actions,
	       (unsigned long long)s.inflight, (unsigned long long)s.bytes,
	       s.skipped, s.bad);
	if (r)
		errorf("import", "%s: %s (the spool is kept)", retro_store_path(st),
		       retro_strerror(r));
	retro_store_close(st);
	return r ? EX_USAGE : s.bad ? EX_VERDICT : EX_OK;
}
