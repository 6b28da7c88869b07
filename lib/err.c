#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <retro/retro.h>

const char *retro_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case RETRO_ENOTSTORE:
		return "not a retro store";
	case RETRO_EVERSION:
		return "retro store of an unsupported format version";
	case RETRO_ECORRUPT:
		return "store data is corrupt";
	case RETRO_ESYMLINK:
		return "store path is a symbolic link (refused)";
	case RETRO_EOWNER:
		return "store belongs to another user (refused)";
	case RETRO_EMAPFULL:
		return "store map is full";
	case RETRO_ELMDB:
		return "LMDB error";
	case RETRO_ENOTFOUND:
		return "not found in the store";
	default:
		return strerror(err);
	}
}

int retro_default_store(char *buf, size_t n)
{
	const char *x = getenv("XDG_DATA_HOME");
	const char *h = getenv("HOME");
	int k;

	if (x && x[0] == '/')
		k = snprintf(buf, n, "%s/retro/store", x);
	else if (h && h[0] == '/')
		k = snprintf(buf, n, "%s/.local/share/retro/store", h);
	else
		return ENOENT;
	return k < 0 || (size_t)k >= n ? ENAMETOOLONG : 0;
}
