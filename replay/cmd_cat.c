/* retro-replay cat [--at SECONDS] STORE PATH */
#include "config.h"
#include "cmd.h"
#include "model.h"
#include "pathnorm.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void help(FILE *f)
{
	fprintf(f, "usage: retro-replay cat [--at SECONDS] [STORE] PATH\n\n"
		   "Prints the bytes PATH held at a moment of the recording, "
		   "rebuilt from the\nstore: the pre-image captured before its "
		   "first change, then every recorded\nwrite, truncation and "
		   "rename up to that moment.  Exit status 1 when PATH did\nnot "
		   "exist then, or its bytes were not captured (it was only read).\n\n"
		   "  --at SECONDS  the moment, in seconds from the recording's first "
		   "action\n                (default: the end)\n"
		   "  --no-import   do not import the spool first\n"
		   "  -h, --help    show this help\n");
}

int cmd_cat(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "at", required_argument, 0, 'a' },
		{ "no-import", no_argument, 0, 'n' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct retro_store *st;
	struct retro_recording r;
	struct retro_content ct;
	char path[PATH_MAX], why[256] = "";
	const char *storearg = NULL, *patharg;
	int64_t at = INT64_MAX;
	int c, noimp = 0, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'a') {
			char *end;
			double s = strtod(optarg, &end);
			if (*end || s < 0) {
				errorf("cat", "--at wants seconds >= 0, not '%s'",
				       optarg);
				return EX_USAGE;
			}
			at = (int64_t)(s * 1e9);
		} else if (c == 'n') {
			noimp = 1;
		} else if (c == 'h') {
			help(stdout);
			return EX_OK;
		} else {
			help(stderr);
			return EX_USAGE;
		}
	}
	if (argc - optind == 2) {
		storearg = argv[optind];
		patharg = argv[optind + 1];
	} else if (argc - optind == 1) {
		patharg = argv[optind];
	} else {
		help(stderr);
		return EX_USAGE;
	}
	if (patharg[0] == '/' || strncmp(patharg, "?/", 2) == 0) {
		/* "?/NAME": as the recorder keeps a path whose directory it
		 * could not name (libretro(7)) */
		snprintf(path, sizeof path, "%s", patharg);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd)) {
			errorf("cat", "%s: the working directory has no name to "
			       "make it absolute with: %s", patharg,
			       strerror(errno));
			return EX_USAGE;
		}
		if ((size_t)snprintf(path, sizeof path, "%s/%s", cwd, patharg) >=
		    sizeof path) {
			errorf("cat", "%s: too long made absolute", patharg);
			return EX_USAGE;
		}
	}
	retro_path_normalize(path);
	rc = open_for_reading("cat", storearg, noimp, &st);
	if (rc)
		return rc;
	rc = load_recording("cat", st, &r);
	if (rc)
		goto out_close;
	rc = retro_model_content(st, &r, path, at, &ct, why, sizeof why);
	if (rc == RETRO_ENOTFOUND) {
		errorf("cat", "%s: the recording never changed or opened this path",
		       path);
		rc = EX_VERDICT;
		goto out_free;
	}
	if (rc) {
		errorf("cat", "%s: %s: %s%s%s", retro_store_path(st), path,
		       retro_strerror(rc), why[0] ? ": " : "", why);
		rc = EX_USAGE;
		goto out_free;
	}
	switch (ct.state) {
	case RO_FILE:
	case RO_SYMLINK:
		fwrite(ct.data, 1, ct.len, stdout);
		rc = EX_OK;
		break;
	case RO_PARTIAL:
		fwrite(ct.data, 1, ct.len, stdout);
		errorf("cat", "%s: only partly known: it existed before the "
		       "recording and its earlier bytes were not captured", path);
		rc = EX_VERDICT;
		break;
	case RO_ABSENT:
		errorf("cat", "%s: did not exist at that moment", path);
		rc = EX_VERDICT;
		break;
	case RO_DIR:
		errorf("cat", "%s: is a directory", path);
		rc = EX_VERDICT;
		break;
	default:
		errorf("cat", "%s: bytes not recorded (it was only read, never "
		       "changed, so no pre-image was taken)", path);
		rc = EX_VERDICT;
		break;
	}
	free(ct.data);
out_free:
	retro_recording_free(&r);
out_close:
	retro_store_close(st);
	return rc;
}
