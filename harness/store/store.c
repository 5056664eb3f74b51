#include "harness/store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fileutil.h"

int store_name_ok(const char *s)
{
	if (!s)
		return 0;
	size_t n = strlen(s);
	if (n == 0 || n >= STORE_NAME_MAX || !strcmp(s, ".") || !strcmp(s, "..") ||
	    !strcmp(s, "latest"))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

/* mkdir -p for `path` (mode 0755). */
static int mkdirs(const char *path, char *err, size_t errlen)
{
	char tmp[STORE_PATH_MAX];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof tmp)
		return err_set(err, errlen, SB_EINVAL, "store path '%s': empty or too long", path);
	memcpy(tmp, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		char save = tmp[i];
		tmp[i] = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return err_set(err, errlen, SB_EIO, "mkdir %s: %s", tmp, strerror(errno));
		tmp[i] = save;
	}
	struct stat st;
	if (stat(path, &st) < 0)
		return err_set(err, errlen, SB_EIO, "stat %s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(err, errlen, SB_EIO, "%s: exists and is not a directory", path);
	return 0;
}

/* Point `link` at `target` atomically (a temporary link renamed over the old one). */
static int relink(const char *link, const char *target, char *err, size_t errlen)
{
	char tmp[STORE_PATH_MAX + 32];
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", link, (long)getpid());
	unlink(tmp);
	if (symlink(target, tmp) < 0)
		return err_set(err, errlen, SB_EIO, "symlink %s: %s", tmp, strerror(errno));
	if (rename(tmp, link) < 0) {
		int e = errno;
		unlink(tmp);
		return err_set(err, errlen, SB_EIO, "rename %s to %s: %s", tmp, link, strerror(e));
	}
	return 0;
}

static int join(char *out, size_t outlen, const char *a, const char *b, char *err, size_t errlen)
{
	int n = snprintf(out, outlen, "%s/%s", a, b);
	if (n < 0 || (size_t)n >= outlen)
		return err_set(err, errlen, SB_ELIMIT, "path %s/%s too long", a, b);
	return 0;
}

int store_open(struct store *s, const char *root, const char *test, time_t when, char *err,
	       size_t errlen)
{
	memset(s, 0, sizeof *s);
	if (!root || !*root)
		return err_set(err, errlen, SB_EINVAL, "store: empty root directory");
	if (!store_name_ok(test))
		return err_set(err, errlen, SB_EINVAL,
			       "store: test name '%s' is not usable as a directory name (1..%d "
			       "characters of [A-Za-z0-9_.-], not '.', '..' or 'latest')",
			       test ? test : "(null)", STORE_NAME_MAX - 1);
	if (strlen(root) >= sizeof s->root)
		return err_set(err, errlen, SB_ELIMIT, "store: root path too long");
	snprintf(s->root, sizeof s->root, "%s", root);
	snprintf(s->test, sizeof s->test, "%s", test);

	char tdir[STORE_PATH_MAX];
	int rc = join(tdir, sizeof tdir, root, test, err, errlen);
	if (rc || (rc = mkdirs(tdir, err, errlen)))
		return rc;

	struct tm tm;
	if (!gmtime_r(&when, &tm))
		return err_set(err, errlen, SB_EINVAL, "store: bad time %lld", (long long)when);
	char base[32];
	strftime(base, sizeof base, "%Y%m%dT%H%M%S", &tm);
	/* Find a free name: mkdir is the atomic claim. */
	for (int k = 1; k <= 1000; k++) {
		if (k == 1)
			snprintf(s->stamp, sizeof s->stamp, "%s", base);
		else
			snprintf(s->stamp, sizeof s->stamp, "%s-%d", base, k);
		if ((rc = join(s->dir, sizeof s->dir, tdir, s->stamp, err, errlen)))
			return rc;
		if (mkdir(s->dir, 0755) == 0)
			break;
		if (errno != EEXIST)
			return err_set(err, errlen, SB_EIO, "mkdir %s: %s", s->dir, strerror(errno));
		if (k == 1000)
			return err_set(err, errlen, SB_ELIMIT, "store: 1000 runs of %s in second %s",
				       test, base);
	}

	char link[STORE_PATH_MAX], target[STORE_PATH_MAX];
	if ((rc = join(link, sizeof link, tdir, "latest", err, errlen)) ||
	    (rc = relink(link, s->stamp, err, errlen)))
		return rc;
	if ((rc = join(link, sizeof link, root, "latest", err, errlen)) ||
	    (rc = join(target, sizeof target, test, s->stamp, err, errlen)) ||
	    (rc = relink(link, target, err, errlen)))
		return rc;
	return 0;
}

int store_open_dir(struct store *s, const char *dir, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	if (!dir || !*dir)
		return err_set(err, errlen, SB_EINVAL, "store: empty directory");
	if (strlen(dir) >= sizeof s->dir)
		return err_set(err, errlen, SB_ELIMIT, "store: path too long");
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	snprintf(s->root, sizeof s->root, "%s", dir);
	return mkdirs(dir, err, errlen);
}

int store_node_dir(const struct store *s, const char *node, char *out, size_t outlen, char *err,
		   size_t errlen)
{
	if (!store_name_ok(node))
		return err_set(err, errlen, SB_EINVAL,
			       "store: node name '%s' is not usable as a directory name",
			       node ? node : "(null)");
	int rc = join(out, outlen, s->dir, node, err, errlen);
	if (rc)
		return rc;
	if (mkdir(out, 0755) < 0 && errno != EEXIST)
		return err_set(err, errlen, SB_EIO, "mkdir %s: %s", out, strerror(errno));
	return 0;
}

int store_file_path(const struct store *s, const char *name, char *out, size_t outlen,
		    char *err, size_t errlen)
{
	if (!name || !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return err_set(err, errlen, SB_EINVAL, "store: bad file name '%s'",
			       name ? name : "(null)");
	return join(out, outlen, s->dir, name, err, errlen);
}

int store_write_file(const struct store *s, const char *name, const void *data, size_t len,
		     char *err, size_t errlen)
{
	char path[STORE_PATH_MAX];
	int rc = store_file_path(s, name, path, sizeof path, err, errlen);
	if (rc)
		return rc;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(err, errlen, SB_EIO, "open %s: %s", path, strerror(errno));
	int e = fd_write_all(fd, data, len, NULL);
	if (e) {
		close(fd);
		return err_set(err, errlen, SB_EIO, "write %s: %s", path, strerror(e));
	}
	if (close(fd) < 0)
		return err_set(err, errlen, SB_EIO, "close %s: %s", path, strerror(errno));
	return 0;
}
