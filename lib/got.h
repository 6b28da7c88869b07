/* Redirects one imported function of one loaded library (got.c). */
#ifndef RETRO_GOT_H
#define RETRO_GOT_H

/* Points the GOT slots through which the library holding in_module calls
 * sym at fn.  0 when at least one slot was written, -1 when the library or
 * the symbol was not found. */
int retro_got_patch(const void *in_module, const char *sym, void *fn);

#endif
