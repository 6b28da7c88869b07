/* Lexical path normalization. */
#ifndef RETRO_PATHNORM_H
#define RETRO_PATHNORM_H

/* Rewrites an absolute path in place: "//" and "/./" collapse, "/x/.."
 * goes.  Lexical only: a symlink followed by ".." is not resolved.  Paths
 * that are not absolute (pipe:[123], symlink targets) are left alone. */
void retro_path_normalize(char *p);

#endif
