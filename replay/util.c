#include "config.h"
#include "cmd.h"
#include "model.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pathnorm.h"

void errorf(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "retro-replay %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int store_path(const char *cmd, const char *arg, char *buf, size_t n)
{
	const char *env = getenv("RETRO_STORE");
	char tmp[PATH_MAX];
	int r;

	if (arg && *arg)
		r = snprintf(tmp, sizeof tmp, "%s", arg) >= (int)sizeof tmp
			    ? ENAMETOOLONG
			    : 0;
	else if (env && *env)
		r = snprintf(tmp, sizeof tmp, "%s", env) >= (int)sizeof tmp
			    ? ENAMETOOLONG
			    : 0;
	else
		r = retro_default_store(tmp, sizeof tmp);
	if (r) {
		errorf(cmd, "cannot name a store: %s", retro_strerror(r));
		return r;
	}
	if (tmp[0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd) ||
		    snprintf(buf, n, "%s/%s", cwd, tmp) >= (int)n) {
			errorf(cmd, "%s: path too long", tmp);
			return ENAMETOOLONG;
		}
	} else {
		snprintf(buf, n, "%s", tmp);
	}
	retro_path_normalize(buf);
	return 0;
}

int open_for_reading(const char *cmd, const char *arg, int no_import,
		     struct retro_store **st)
{
	char path[PATH_MAX], why[PATH_MAX + 256];
	struct retro_import_stats stats;
	int r;

	if (store_path(cmd, arg, path, sizeof path))
		return EX_USAGE;
	r = retro_store_open(path, no_import ? RETRO_OPEN_RDONLY : 0, st, why,
			     sizeof why);
	if (r) {
		if (r == ENOENT)
			errorf(cmd, "%s: no such store", path);
		else
			errorf(cmd, "%s", why[0] ? why : retro_strerror(r));
		return EX_USAGE;
	}
	if (no_import)
		return EX_OK;
	r = retro_import(*st, 0, 0, &stats);
	if (r)
		errorf(cmd, "%s: importing the spool: %s (the spool is kept)",
		       path, retro_strerror(r));
	if (stats.bad)
		errorf(cmd, "%s: %u spool segment(s) unreadable, kept in %s/spool",
		       path, stats.bad, path);
	return EX_OK;
}

int load_recording(const char *cmd, struct retro_store *st,
		   struct retro_recording *r)
{
	char why[512] = "";
	int rc = retro_load(st, r, why, sizeof why);

	if (rc) {
		errorf(cmd, "%s: %s%s%s", retro_store_path(st), retro_strerror(rc),
		       why[0] ? ": " : "", why);
		return EX_USAGE;
	}
	return EX_OK;
}

int scan_recording(const char *cmd, struct retro_store *st,
		   struct retro_recording *r, struct retro_scan **scan)
{
	char why[512] = "";
	int rc = retro_scan_open(st, r, scan, NULL, NULL, why, sizeof why);

	if (rc) {
		errorf(cmd, "%s: %s%s%s", retro_store_path(st), retro_strerror(rc),
		       why[0] ? ": " : "", why);
		return EX_USAGE;
	}
	return EX_OK;
}

const char *proc_name(const struct retro_proc *p)
{
	const char *s;

	if (p->exe && *p->exe) {
		s = strrchr(p->exe, '/');
		return s ? s + 1 : p->exe;
	}
	if (p->argv && p->argvlen) {
		s = strrchr(p->argv, '/');
		return s && s < p->argv + strlen(p->argv) ? s + 1 : p->argv;
	}
	return "?";
}

int select_procs(const struct retro_recording *r, const char *spec,
		 unsigned char *sel)
{
	char *end;
	unsigned long id = strtoul(spec, &end, 10);
	int n = 0;

	for (size_t i = 0; i < r->nprocs; i++) {
		const struct retro_proc *p = &r->procs[i];
		int match = (*spec && !*end) ? p->id == id
					     : strcmp(proc_name(p), spec) == 0;
		if (match) {
			sel[i] = 1;
			n++;
		}
	}
	return n;
}

int64_t ns_sub(int64_t a, int64_t b)
{
	return retro_ns_sub(a, b);
}

int64_t rel_ns(const struct retro_recording *r, int64_t t)
{
	return retro_ns_sub(t, r->t0);
}

double rel_s(const struct retro_recording *r, int64_t t)
{
	return (double)rel_ns(r, t) / 1e9;
}

void status_str(int status, char *buf, size_t n)
{
	if (WIFEXITED(status))
		snprintf(buf, n, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, n, "signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, n, "status 0x%x", status);
}

void print_escaped(FILE *f, const unsigned char *s, size_t n, size_t max)
{
	fputc('"', f);
	for (size_t i = 0; i < n && i < max; i++) {
		unsigned char c = s[i];
		if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
	if (n > max)
		fputs("...", f);
}

/* The shim next to this binary in a build tree, else the installed one. */
int find_shim(char *buf, size_t n)
{
	const char *env = getenv("RETRO_SHIM");
	char exe[PATH_MAX], *slash;
	ssize_t k;

	if (env && *env) {
		snprintf(buf, n, "%s", env);
		return access(buf, R_OK) == 0 ? 0 : errno;
	}
	k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (k > 0) {
		exe[k] = 0;
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			snprintf(buf, n, "%s/../shim/.libs/libretro.so", exe);
			if (access(buf, R_OK) == 0)
				return 0;
		}
	}
	snprintf(buf, n, "%s/libretro.so", RETRO_LIBDIR);
	return access(buf, R_OK) == 0 ? 0 : errno;
}
