/* fileutil — small file helpers shared by the parts (libc only: raftnode links lib/ too).
 *
 * Errors follow err.h: a negative SB_E* code and a one-line message that names the path.
 */
#ifndef SB_FILEUTIL_H
#define SB_FILEUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Read the whole file at `path` into a malloc'd buffer: *out (caller frees) holds *len bytes
 * followed by a NUL that *len does not count (the file itself may contain NULs). `max` caps
 * the size (0: no cap); a larger file fails with SB_ELIMIT "PATH: larger than MAX bytes".
 * Other failures: SB_EIO "open PATH: reason" / "read PATH: reason", SB_ENOMEM.
 * `missing` may be NULL. When it is not, a file that does not exist is not an error: the
 * call returns 0 with *missing = true, *out = NULL and *len = 0; otherwise *missing = false.
 * On any failure *out is NULL. Thread-safe. */
int file_read_all(const char *path, size_t max, char **out, size_t *len, bool *missing,
		  char *err, size_t errlen);

#endif
