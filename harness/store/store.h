/* store — the directory that keeps everything a run produced (docs/store.md):
 *
 *     <root>/<test>/<YYYYmmddTHHMMSS>/      one run (the time is UTC)
 *     <root>/<test>/<...>/<node>/           that node's logs and data-dir listing
 *     <root>/<test>/latest -> <YYYYmmddTHHMMSS>
 *     <root>/latest        -> <test>/<YYYYmmddTHHMMSS>
 *
 * Both `latest` links are relative and replaced atomically (symlink to a temporary name,
 * rename over the old one), so they never dangle half-written. Two runs started in the same
 * second get "<stamp>-2", "<stamp>-3", ...
 *
 * Test and node names become path components, so they are checked: 1..127 characters of
 * [A-Za-z0-9_.-], not "." or "..", not "latest".
 *
 * Thread rules: a struct store is read-only after store_open except store_node_dir, which may
 * be called from several threads (mkdir is atomic; EEXIST is fine).
 */
#ifndef SB_STORE_H
#define SB_STORE_H

#include <stddef.h>
#include <time.h>

#define STORE_NAME_MAX 128
#define STORE_PATH_MAX 4096

struct store {
	char root[STORE_PATH_MAX]; /* as given, e.g. "store" */
	char test[STORE_NAME_MAX];
	char stamp[STORE_NAME_MAX]; /* "20261124T001500" or "20261124T001500-2" */
	char dir[STORE_PATH_MAX];   /* root/test/stamp */
};

/* Is `s` usable as a test or node name in the store? */
int store_name_ok(const char *s);

/* Create <root>/<test>/<stamp>/ for a run started at `when` (seconds since the epoch; UTC),
 * creating root and root/test as needed, and point both `latest` links at it. Fills *s.
 * Errors name the path and the reason. */
int store_open(struct store *s, const char *root, const char *test, time_t when, char *err,
	       size_t errlen);

/* Use an existing directory as the run directory (no timestamp, no links): for commands that
 * collect into a directory the user names. Creates it if needed. */
int store_open_dir(struct store *s, const char *dir, char *err, size_t errlen);

/* Create (if needed) the per-node directory <dir>/<node>/ and write its path into out. */
int store_node_dir(const struct store *s, const char *node, char *out, size_t outlen, char *err,
		   size_t errlen);

/* The path of <dir>/<name> (a file name: no '/', not "." or ".."), for files written as
 * they grow (history.jsonl, splitbrain.log). */
int store_file_path(const struct store *s, const char *name, char *out, size_t outlen,
		    char *err, size_t errlen);

/* Write `len` bytes to <dir>/<name> (a file name, no '/'), replacing it. */
int store_write_file(const struct store *s, const char *name, const void *data, size_t len,
		     char *err, size_t errlen);

#endif
