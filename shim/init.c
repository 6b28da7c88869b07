/* Library start and end.  The shim exports only the interposed libc
 * symbols; everything else is hidden (see Makefile.am). */
#include "config.h"
#include "recorder.h"

/* glibc calls an ELF constructor with argc, argv and envp. */
__attribute__((constructor(101))) static void shim_init(int argc, char **argv,
							 char **envp)
{
	(void)envp;
	retro_init_args(argc, argv);
}

__attribute__((destructor(101))) static void shim_fini(void)
{
	retro_fini(1);
}
