/* Minimal JSON output: one object per line for --json. */
#ifndef RETRO_JSON_H
#define RETRO_JSON_H

#include <stdio.h>
#include <stddef.h>

/* Writes s (n bytes) as a JSON string, escaping as RFC 8259 requires;
 * bytes that are not valid UTF-8 become \u00XX. */
void json_str(FILE *f, const char *s, size_t n);
void json_cstr(FILE *f, const char *s); /* NULL prints null */

#endif
