/* retro-replay's commands and the helpers they share. */
#ifndef RETRO_CMD_H
#define RETRO_CMD_H

#include <stdint.h>
#include <stdio.h>
#include <retro/retro.h>

/* Exit codes: CI scripts rely on these. */
enum { EX_OK = 0, EX_VERDICT = 1, EX_USAGE = 2 };

int cmd_record(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_files(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_fsck(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);

/* fsck's walk of an open store and its spool at path, without the child
 * process cmd_fsck runs it in: prints each problem and the totals to out,
 * and returns the number of problems. */
unsigned fsck_walk(struct retro_store *st, const char *path, FILE *out);

/* Prints "retro-replay CMD: msg" to stderr. */
void errorf(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The store named by arg, else $RETRO_STORE, else the default; made
 * absolute into buf.  Returns 0 or an errno value (message printed). */
int store_path(const char *cmd, const char *arg, char *buf, size_t n);

/* Opens a store for reading and imports what recording processes left in
 * its spool (unless no_import).  Prints the reason and returns EX_USAGE on
 * error, else EX_OK with *st set. */
int open_for_reading(const char *cmd, const char *arg, int no_import,
		     struct retro_store **st);

/* Loads the recording; prints the reason on error. */
int load_recording(const char *cmd, struct retro_store *st,
		   struct retro_recording *r);
/* Opens a scan of the recording (retro_scan_open: r gets the processes,
 * the actions come from *scan); prints the reason on error. */
int scan_recording(const char *cmd, struct retro_store *st,
		   struct retro_recording *r, struct retro_scan **scan);

/* The program name of a process: basename of its last image's exe. */
const char *proc_name(const struct retro_proc *p);

/* Selects processes by id ("3") or program name ("writer").  Returns the
 * number matched; sel[i] is set for each proc index matched. */
int select_procs(const struct retro_recording *r, const char *spec,
		 unsigned char *sel);

/* Seconds as "%.6f" relative to the recording's start. */
double rel_s(const struct retro_recording *r, int64_t t);
/* a - b, held at INT64_MAX or INT64_MIN where it would overflow (times
 * from a damaged or made-up store); rel_ns: t after the recording's start */
int64_t ns_sub(int64_t a, int64_t b);
int64_t rel_ns(const struct retro_recording *r, int64_t t);

/* Describes a wait status: "exit 0", "signal 9 (Killed)". */
void status_str(int status, char *buf, size_t n);

/* Prints bytes as a C-like escaped string, at most max bytes. */
void print_escaped(FILE *f, const unsigned char *s, size_t n, size_t max);

/* The shim next to this binary in a build tree, else the installed one
 * ($RETRO_SHIM overrides).  Returns 0 or an errno value. */
int find_shim(char *buf, size_t n);

#endif
