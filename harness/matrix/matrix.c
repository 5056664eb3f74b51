/* matrix — specs × seeds and their shards (matrix.h). */
#include "harness/matrix/matrix.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/array.h"
#include "lib/err.h"
#include "lib/hash.h"

#define MAX_SHARDS 10000

static int parse_uint(const char *s, size_t n, unsigned *out)
{
	if (n == 0 || n > 5)
		return -1;
	unsigned v = 0;
	for (size_t k = 0; k < n; k++) {
		if (s[k] < '0' || s[k] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[k] - '0');
	}
	*out = v;
	return 0;
}

int matrix_parse_shard(const char *text, unsigned *i, unsigned *n, char *err, size_t errlen)
{
	const char *slash = text ? strchr(text, '/') : NULL;
	if (!slash || parse_uint(text, (size_t)(slash - text), i) ||
	    parse_uint(slash + 1, strlen(slash + 1), n) || *n < 1 || *n > MAX_SHARDS || *i < 1 ||
	    *i > *n)
		return err_set(err, errlen, SB_EINVAL,
			       "--shard '%s': expected I/N with 1 <= I <= N <= %d (e.g. 2/4)",
			       text ? text : "", MAX_SHARDS);
	return 0;
}

void matrix_normalise(const char *path, char *out, size_t outlen)
{
	size_t o = 0;
	const char *p = path;
	if (!outlen)
		return;
	if (*p == '/' && o + 1 < outlen)
		out[o++] = '/';
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		bool dot = len == 1 && p[0] == '.';
		if (len && !dot) {
			if (o && out[o - 1] != '/' && o + 1 < outlen)
				out[o++] = '/';
			for (size_t k = 0; k < len && o + 1 < outlen; k++)
				out[o++] = p[k];
		}
		p += len;
	}
	out[o] = '\0';
}

uint64_t matrix_default_seed(const char *path)
{
	char norm[4096];
	matrix_normalise(path, norm, sizeof norm);
	/* A small number, easy to pass to --seed by hand. */
	return hash_mix64(hash_str64(norm)) >> 34;
}

unsigned matrix_shard(const char *path, uint64_t seed, unsigned n)
{
	char norm[4096], s[24];
	matrix_normalise(path, norm, sizeof norm);
	snprintf(s, sizeof s, "%llu", (unsigned long long)seed);
	uint64_t h = hash_fnv64(HASH_FNV64_INIT, norm, strlen(norm) + 1); /* NUL: a separator */
	h = hash_fnv64(h, s, strlen(s));
	return n ? (unsigned)(hash_mix64(h) % n) + 1 : 1;
}

static int exit_rank(int code)
{
	switch (code) {
	case SB_EXIT_BADINPUT:
		return 5;
	case SB_EXIT_INTERNAL:
		return 4;
	case SB_EXIT_INVALID:
		return 3;
	case SB_EXIT_UNKNOWN:
		return 2;
	case SB_EXIT_VALID:
		return 0;
	default:
		return 4; /* anything else is a failure of the environment */
	}
}

int matrix_worse_exit(int a, int b)
{
	return exit_rank(b) > exit_rank(a) ? b : a;
}

/* ---- listing ----------------------------------------------------------------------------- */

struct list {
	char **p;
	size_t n, cap;
};

static int push(struct list *l, const char *dir, const char *name)
{
	if (array_grow((void **)&l->p, &l->cap, l->n + 1, sizeof *l->p, 16))
		return SB_ENOMEM;
	size_t len = (dir ? strlen(dir) + 1 : 0) + strlen(name) + 1;
	char *s = malloc(len);
	if (!s)
		return SB_ENOMEM;
	if (dir)
		snprintf(s, len, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/",
			 name);
	else
		snprintf(s, len, "%s", name);
	l->p[l->n++] = s;
	return 0;
}

static bool is_spec_name(const char *name)
{
	size_t n = strlen(name);
	return name[0] != '.' && ((n > 5 && !strcmp(name + n - 5, ".yaml")) ||
				  (n > 4 && !strcmp(name + n - 4, ".yml")));
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int expand_dir(struct list *l, const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	if (!d)
		return err_set(err, errlen, SB_EINVAL, "%s: %s", dir, strerror(errno));
	size_t first = l->n;
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d)))
		if (is_spec_name(de->d_name))
			rc = push(l, dir, de->d_name);
	closedir(d);
	if (rc)
		return err_set(err, errlen, rc, "out of memory");
	if (l->n == first)
		return err_set(err, errlen, SB_EINVAL, "%s: no *.yaml or *.yml spec in it", dir);
	qsort(l->p + first, l->n - first, sizeof *l->p, str_cmp);
	return 0;
}

int matrix_expand(const char *const *args, size_t nargs, char ***paths, size_t *npaths,
		  char *err, size_t errlen)
{
	struct list l = {0};
	int rc = 0;
	for (size_t i = 0; i < nargs && !rc; i++) {
		struct stat st;
		if (stat(args[i], &st))
			rc = err_set(err, errlen, SB_EINVAL, "%s: %s", args[i], strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = expand_dir(&l, args[i], err, errlen);
		else if (S_ISREG(st.st_mode))
			rc = push(&l, NULL, args[i]) ? err_set(err, errlen, SB_ENOMEM, "out of memory")
						     : 0;
		else
			rc = err_set(err, errlen, SB_EINVAL, "%s: not a file or a directory", args[i]);
	}
	if (rc) {
		matrix_paths_free(l.p, l.n);
		return rc;
	}
	*paths = l.p;
	*npaths = l.n;
	return 0;
}

void matrix_paths_free(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}
