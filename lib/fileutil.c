#include "lib/fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int fd_write_all(int fd, const void *data, size_t len, size_t *done)
{
	const char *p = data;
	size_t off = 0;
	int e = 0;
	while (off < len) {
		ssize_t n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : ENOSPC; /* write returning 0 means no room */
			break;
		}
		off += (size_t)n;
	}
	if (done)
		*done = off;
	return e;
}

int file_replace(const char *path, const void *data, size_t len, int mode, char *err,
		 size_t errlen)
{
	char tmp[4096];
	int rc = 0, e;
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
		return err_set(err, errlen, SB_EINVAL, "%s: path too long", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(err, errlen, SB_EIO, "create %s: %s", tmp, strerror(errno));
	if ((e = fd_write_all(fd, data, len, NULL)))
		rc = err_set(err, errlen, SB_EIO, "write %s: %s", tmp, strerror(e));
	if (!rc && fchmod(fd, (mode_t)(mode & 07777)) < 0)
		rc = err_set(err, errlen, SB_EIO, "chmod %s: %s", tmp, strerror(errno));
	if (close(fd) < 0 && !rc)
		rc = err_set(err, errlen, SB_EIO, "close %s: %s", tmp, strerror(errno));
	if (!rc && rename(tmp, path) < 0)
		rc = err_set(err, errlen, SB_EIO, "rename %s to %s: %s", tmp, path, strerror(errno));
	if (rc)
		unlink(tmp);
	return rc;
}
