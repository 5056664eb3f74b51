/* fileutil — small file helpers shared by the parts (libc only: raftnode links lib/ too).
 *
 * Errors follow err.h: a negative SB_E* code and a one-line message that names the path.
 */
#ifndef SB_FILEUTIL_H
#define SB_FILEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Read the whole file at `path` into a malloc'd buffer: *out (caller frees) holds *len bytes
 * followed by a NUL that *len does not count (the file itself may contain NULs). `max` caps
 * the size (0: no cap); a larger file fails with SB_ELIMIT "PATH: larger than MAX bytes".
 * Other failures: SB_EIO "open PATH: reason" / "read PATH: reason", SB_ENOMEM.
 * `missing` may be NULL. When it is not, a file that does not exist is not an error: the
 * call returns 0 with *missing = true, *out = NULL and *len = 0; otherwise *missing = false.
 * On any failure *out is NULL. Thread-safe. */
int file_read_all(const char *path, size_t max, char **out, size_t *len, bool *missing,
		  char *err, size_t errlen);

/* The same for a file that must be a regular file of at most `max` bytes (max > 0): a
 * device, FIFO, socket or directory fails with SB_EINVAL "PATH: not a regular file" without
 * being read (a FIFO is opened non-blocking, so it cannot hang the call), and a larger file
 * fails with SB_ELIMIT before anything is read. For files named in configuration, where
 * /dev/zero or a FIFO must give a clear error instead of endless reading or a hang. */
int file_read_regular(const char *path, size_t max, char **out, size_t *len, bool *missing,
		      char *err, size_t errlen);

/* Check, without reading it, that `path` is a regular file of at most `max` bytes (0: no
 * cap), with the same errors as file_read_regular. A missing file: 0 with *missing = true
 * when `missing` is not NULL, else SB_EIO "open PATH: No such file or directory". */
int file_check_regular(const char *path, size_t max, bool *missing, char *err, size_t errlen);

/* Write all of data[0..len) to fd, retrying after EINTR and short writes. Returns 0, or the
 * errno of the failing write (ENOSPC when write(2) returns 0); *done (may be NULL) tells how
 * many bytes got out, so a caller can undo a partial record. */
int fd_write_all(int fd, const void *data, size_t len, size_t *done);

/* Replace the file at `path` with data[0..len) and permission bits `mode`: write
 * "PATH.tmp.PID", then rename it over `path`, so a reader never sees a half-written file.
 * On failure the temporary file is removed and the message names the step and the path. */
int file_replace(const char *path, const void *data, size_t len, int mode, char *err,
		 size_t errlen);

/* The same with the caller's temporary name `tmp` (in the same file system as `path`), for
 * callers whose leftovers after a crash must be recognisable by name. */
int file_replace_via(const char *path, const char *tmp, const void *data, size_t len, int mode,
		     char *err, size_t errlen);

/* The same for output produced as it goes (a report written result by result):
 * file_stage_open() creates "PATH.tmp.PID" and opens it as `f`; file_stage_commit() flushes
 * and closes it and renames it over `path`, so `path` keeps its old content until the new one
 * is complete, and a reader of the old file (an input with the same name) is never cut short.
 * file_stage_abort() closes and removes the temporary file. `mode` < 0 gives the file the
 * permissions a new file gets (0666 less the umask). Both end calls free what open took; on
 * failure the temporary file is removed and the message names the step and the path. */
struct file_stage {
	FILE *f;   /* write here between open and commit */
	char *path;
	char *tmp;
	int mode;
};
int file_stage_open(struct file_stage *s, const char *path, int mode, char *err, size_t errlen);
int file_stage_commit(struct file_stage *s, char *err, size_t errlen);
void file_stage_abort(struct file_stage *s);

#endif
