/* Libraries loaded when first needed instead of linked (liblmdb: lib/mdb.c,
 * libdw: lib/stack.c), through a table of their functions. */
#ifndef RETRO_DL_H
#define RETRO_DL_H

#include <stddef.h>

/* Loads soname (never unloaded) and puts the functions prefix+names[i]
 * into fns[i], i < n.  Returns 0, or -1 with why saying what failed:
 * dlopen's message, or the function the library lacks. */
int retro_dl_table(const char *soname, const char *prefix,
		   const char *const *names, size_t n, void **fns, char *why,
		   size_t whylen);

#endif
