#include "lib/fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"

/* Read fd to its end into a malloc'd, NUL-terminated buffer of at most max bytes (0: no cap). */
static int read_fd(int fd, const char *path, size_t max, char **out, size_t *len, char *err,
		   size_t errlen)
{
	int rc = 0;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	const size_t chunk = 4096;
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
		ssize_t r = read(fd, buf + n, chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = err_set(err, errlen, SB_EIO, "read %s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (max && n > max) {
			rc = err_set(err, errlen, SB_ELIMIT, "%s: larger than %zu bytes", path, max);
			goto out;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
out:
	free(buf);
	return rc;
}

/* Open path for reading; with `regular`, only a regular file of at most max bytes. */
static int open_file(const char *path, size_t max, bool regular, bool *missing, int *fdp,
		     char *err, size_t errlen)
{
	*fdp = -1;
	if (missing)
		*missing = false;
	/* Non-blocking: opening a FIFO must not wait for a writer. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | (regular ? O_NONBLOCK : 0));
	if (fd < 0) {
		if (errno == ENOENT && missing) {
			*missing = true;
			return 0;
		}
		return err_set(err, errlen, SB_EIO, "open %s: %s", path, strerror(errno));
	}
	if (regular) {
		struct stat st;
		if (fstat(fd, &st) < 0) {
			int e = errno;
			close(fd);
			return err_set(err, errlen, SB_EIO, "stat %s: %s", path, strerror(e));
		}
		if (!S_ISREG(st.st_mode)) {
			close(fd);
			return err_set(err, errlen, SB_EINVAL, "%s: not a regular file", path);
		}
		if (max && (unsigned long long)st.st_size > max) {
			close(fd);
			return err_set(err, errlen, SB_ELIMIT, "%s: larger than %zu bytes", path, max);
		}
	}
	*fdp = fd;
	return 0;
}

static int read_file(const char *path, size_t max, bool regular, char **out, size_t *len,
		     bool *missing, char *err, size_t errlen)
{
	int fd;
	*out = NULL;
	*len = 0;
	int rc = open_file(path, max, regular, missing, &fd, err, errlen);
	if (rc || fd < 0)
		return rc;
	rc = read_fd(fd, path, max, out, len, err, errlen);
	close(fd);
	return rc;
}

int file_read_all(const char *path, size_t max, char **out, size_t *len, bool *missing,
		  char *err, size_t errlen)
{
	return read_file(path, max, false, out, len, missing, err, errlen);
}

int file_read_regular(const char *path, size_t max, char **out, size_t *len, bool *missing,
		      char *err, size_t errlen)
{
	return read_file(path, max, true, out, len, missing, err, errlen);
}

int file_check_regular(const char *path, size_t max, bool *missing, char *err, size_t errlen)
{
	int fd;
	int rc = open_file(path, max, true, missing, &fd, err, errlen);
	if (fd >= 0)
		close(fd);
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

/* file_stage_open with the temporary name `tmp`, or "PATH.tmp.PID" when it is NULL. */
static int stage_open(struct file_stage *s, const char *path, const char *tmp, int mode,
		      char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	s->mode = mode;
	size_t n = (tmp ? strlen(tmp) : strlen(path)) + 32;
	if (!(s->path = strdup(path)) || !(s->tmp = malloc(n))) {
		file_stage_abort(s);
		return err_set(err, errlen, SB_ENOMEM, "%s: out of memory", path);
	}
	if (tmp)
		snprintf(s->tmp, n, "%s", tmp);
	else
		snprintf(s->tmp, n, "%s.tmp.%ld", path, (long)getpid());
	int fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode < 0 ? 0666 : 0600);
	if (fd < 0) {
		int rc = err_set(err, errlen, SB_EIO, "create %s: %s", s->tmp, strerror(errno));
		free(s->tmp);
		s->tmp = NULL; /* nothing to remove */
		file_stage_abort(s);
		return rc;
	}
	if (!(s->f = fdopen(fd, "w"))) {
		close(fd);
		file_stage_abort(s);
		return err_set(err, errlen, SB_ENOMEM, "%s: out of memory", path);
	}
	return 0;
}

int file_stage_open(struct file_stage *s, const char *path, int mode, char *err, size_t errlen)
{
	return stage_open(s, path, NULL, mode, err, errlen);
}

int file_stage_commit(struct file_stage *s, char *err, size_t errlen)
{
	int rc = 0;
	if (fflush(s->f) || ferror(s->f))
		rc = err_set(err, errlen, SB_EIO, "write %s: %s", s->tmp, strerror(errno));
	if (!rc && s->mode >= 0 && fchmod(fileno(s->f), (mode_t)(s->mode & 07777)) < 0)
		rc = err_set(err, errlen, SB_EIO, "chmod %s: %s", s->tmp, strerror(errno));
	int e = fclose(s->f);
	s->f = NULL;
	if (e && !rc)
		rc = err_set(err, errlen, SB_EIO, "close %s: %s", s->tmp, strerror(errno));
	if (!rc && rename(s->tmp, s->path) < 0)
		rc = err_set(err, errlen, SB_EIO, "rename %s to %s: %s", s->tmp, s->path,
			     strerror(errno));
	if (!rc) {
		free(s->tmp);
		s->tmp = NULL; /* renamed: nothing to remove */
	}
	file_stage_abort(s);
	return rc;
}

void file_stage_abort(struct file_stage *s)
{
	if (s->f)
		fclose(s->f);
	if (s->tmp)
		unlink(s->tmp);
	free(s->tmp);
	free(s->path);
	memset(s, 0, sizeof *s);
}

/* file_replace and file_replace_via: the data through a stage named `tmp` (NULL: the
 * stage's own name). */
static int replace(const char *path, const char *tmp, const void *data, size_t len, int mode,
		   char *err, size_t errlen)
{
	struct file_stage s;
	int rc = stage_open(&s, path, tmp, mode, err, errlen);
	if (rc)
		return rc;
	if (len && fwrite(data, 1, len, s.f) != len) {
		rc = err_set(err, errlen, SB_EIO, "write %s: %s", s.tmp, strerror(errno));
		file_stage_abort(&s);
		return rc;
	}
	return file_stage_commit(&s, err, errlen);
}

int file_replace(const char *path, const void *data, size_t len, int mode, char *err,
		 size_t errlen)
{
	return replace(path, NULL, data, len, mode, err, errlen);
}

int file_replace_via(const char *path, const char *tmp, const void *data, size_t len, int mode,
		     char *err, size_t errlen)
{
	return replace(path, tmp, data, len, mode, err, errlen);
}
