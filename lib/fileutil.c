#include "lib/fileutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"

int file_read_all(const char *path, size_t max, char **out, size_t *len, bool *missing,
		  char *err, size_t errlen)
{
	int rc = 0;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	const size_t chunk = 4096;

	*out = NULL;
	*len = 0;
	if (missing)
		*missing = false;
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && missing) {
			*missing = true;
			return 0;
		}
		return err_set(err, errlen, SB_EIO, "open %s: %s", path, strerror(errno));
	}
	for (;;) {
		if (n + chunk + 1 > cap) {
			size_t nc = cap ? cap * 2 : 8192;
			char *p = realloc(buf, nc);
			if (!p) {
				rc = err_set(err, errlen, SB_ENOMEM, "read %s: out of memory", path);
				goto out;
			}
			buf = p;
			cap = nc;
		}
		size_t r = fread(buf + n, 1, chunk, f);
		n += r;
		if (max && n > max) {
			rc = err_set(err, errlen, SB_ELIMIT, "%s: larger than %zu bytes", path, max);
			goto out;
		}
		if (r < chunk)
			break;
	}
	if (ferror(f)) {
		rc = err_set(err, errlen, SB_EIO, "read %s: %s", path, strerror(errno));
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
out:
	free(buf);
	fclose(f);
	return rc;
}
