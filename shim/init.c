/* Library start and end.  The shim exports only the interposed libc
 * symbols; everything else is hidden (see Makefile.am). */
#include "config.h"
#include "recorder.h"

__attribute__((constructor(101))) static void shim_init(void)
{
	retro_init();
}

__attribute__((destructor(101))) static void shim_fini(void)
{
	retro_fini(1);
}
