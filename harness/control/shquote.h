/* shquote — build POSIX shell command strings in which untrusted values stay data.
 *
 * A value is quoted by wrapping it in single quotes and writing each ' inside it as '\''.
 * Inside single quotes a POSIX shell interprets nothing ($, `, \, ", newlines, globs), so
 * `/bin/sh -c "printf %s <quoted>"` prints the value byte for byte. The empty string becomes
 * ''. NUL bytes cannot be passed through a shell at all; C strings cannot hold them anyway.
 *
 * Every value from a spec, a nodes file, a host or the command line that goes into a
 * command for control_exec must go through shquote or the %q conversion of shquote_fmt.
 */
#ifndef SB_SHQUOTE_H
#define SB_SHQUOTE_H

#include <stddef.h>

/* Return a malloc'd quoted copy of s (caller frees), or NULL if out of memory. */
char *shquote(const char *s);

/* Write the quoted form of s into buf (NUL-terminated). Returns the quoted length, or -1
 * (buf left as "") if it does not fit in len bytes. */
long shquote_buf(const char *s, char *buf, size_t len);

/* printf-like builder. Conversions:
 *   %q  const char *   quoted with shquote (NULL is an error)
 *   %s  const char *   copied verbatim: ONLY for trusted text such as fixed command names
 *   %d %u %ld %lu %lld %llu %zu  integers, verbatim
 *   %o  unsigned        octal (file modes)
 *   %%  a percent sign
 * Anything else is a programming error: returns NULL. Returns a malloc'd string (caller
 * frees) or NULL. (No printf format attribute: gcc would reject %q.) */
char *shquote_fmt(const char *fmt, ...);

/* Join argv (NULL-terminated) into one command line, each word quoted. Caller frees. */
char *shquote_argv(const char *const *argv);

#endif
