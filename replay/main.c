/* retro-replay: record programs and look inside their recordings. */
#include "config.h"
#include "cmd.h"
#include "os.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} cmds[] = {
	{ "record", cmd_record, "run a command under recording" },
	{ "ps", cmd_ps, "list the recorded processes as a tree" },
	{ "log", cmd_log, "show the recorded actions, strace-like" },
	{ "files", cmd_files, "list every path changed and its versions" },
	{ "cat", cmd_cat, "print what a path held at a moment" },
	{ "run", cmd_run, "re-execute processes on a virtual timeline" },
	{ "check", cmd_check, "find synchronization that only timing provides" },
	{ "fsck", cmd_fsck, "check a store's integrity" },
	{ "import", cmd_import, "import what recording processes left in the spool" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: retro-replay COMMAND [OPTIONS] [STORE] ...\n\n"
		   "Records what programs do to files, processes and time, and "
		   "shows it.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\n'retro-replay COMMAND --help' describes a command.  STORE "
		   "defaults to $RETRO_STORE,\nelse $XDG_DATA_HOME/retro/store, else ~/.local/share/retro/store.  "
		   "Exit status: 0 success, 1 a negative verdict,\n2 usage or "
		   "store errors.  See retro-replay(1) and libretro(7).\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return EX_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("retro-replay %s (store format %d)\n", PACKAGE_VERSION,
		       RETRO_FORMAT_VERSION);
		return EX_OK;
	}
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
		static char prog[64];
		if (strcmp(argv[1], cmds[i].name))
			continue;
		/* a damaged page that crashes liblmdb is a store error */
		snprintf(prog, sizeof prog, "retro-replay %s", cmds[i].name);
		retro_crash_guard(prog);
		/* a test hook, as RETRO_FAULT is the shim's (lib/fault.c) */
		if (retro_fault_setup(getenv("RETRO_REPLAY_FAULT"))) {
			fprintf(stderr, "retro-replay: malformed RETRO_REPLAY_FAULT "
					"'%s'\n", getenv("RETRO_REPLAY_FAULT"));
			return EX_USAGE;
		}
		return cmds[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "retro-replay: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return EX_USAGE;
}
