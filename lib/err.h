/* err — human-readable error messages that gain context as they travel up.
 *
 * Convention (STYLE.md): a function that can fail returns int (0 ok, negative on error) and
 * writes a one-line explanation into a caller-owned buffer `char *err, size_t errlen`.
 * A caller that adds context prefixes it: err_prefix(err, n, "open %s", path) turns
 * "crc mismatch at offset 4096" into "open seg7: crc mismatch at offset 4096".
 * Both functions accept err == NULL or errlen == 0 (then they do nothing). Thread-safe: they
 * touch only the buffer they are given.
 */
#ifndef SB_ERR_H
#define SB_ERR_H

#include <stddef.h>

/* Error codes shared by all parts (negative returns). */
enum {
	SB_OK = 0,
	SB_EINVAL = -1,   /* bad input: argument, spec, history (exit 254) */
	SB_EIO = -2,      /* I/O or environment failure (exit 255) */
	SB_ENOMEM = -3,   /* allocation failed (exit 255) */
	SB_ETIMEOUT = -4, /* a time limit was reached */
	SB_ELIMIT = -5,   /* a configured size or count limit was reached */
};

/* Exit codes of every command (docs/exit-codes.md). */
enum {
	SB_EXIT_VALID = 0,
	SB_EXIT_INVALID = 1,
	SB_EXIT_UNKNOWN = 2,
	SB_EXIT_BADINPUT = 254,
	SB_EXIT_INTERNAL = 255,
};

/* Replace the buffer's content with the formatted message. Returns `code` so that a caller
 * can write `return err_set(err, n, SB_EINVAL, "line %d: ...", l);`. */
int err_set(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prefix the buffer's current message with the formatted context and ": ". */
void err_prefix(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The worse of two exit codes, for commands that run many things and exit with the worst:
 * bad input > internal error > invalid > unknown > valid. */
int err_exit_worst(int a, int b);

/* The exit code (SB_EXIT_*) that a negative SB_E* code maps to. */
int err_exit_code(int code);

#endif
