#include "config.h"
#include "dl.h"

#include <dlfcn.h>
#include <stdio.h>

int retro_dl_table(const char *soname, const char *prefix,
		   const char *const *names, size_t n, void **fns, char *why,
		   size_t whylen)
{
	char sym[128];
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		const char *e = dlerror();
		snprintf(why, whylen, "cannot load %s: %s", soname,
			 e ? e : "unknown error");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(sym, sizeof sym, "%s%s", prefix, names[i]);
		fns[i] = dlsym(h, sym);
		if (!fns[i]) {
			snprintf(why, whylen, "cannot load %s: it has no %s "
					      "(too old?)", soname, sym);
			return -1;
		}
	}
	return 0;
}
