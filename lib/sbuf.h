/* sbuf — a growable, NUL-terminated string buffer for building messages, JSON and reports.
 *
 * A zeroed struct sbuf is an empty buffer. Appends never fail loudly: when memory runs out the
 * buffer remembers it (oom) and later appends do nothing, so a caller builds a whole text and
 * checks once at the end (sbuf_take gives "" then). libc only.
 *
 * Thread rules: a buffer belongs to one thread.
 */
#ifndef SB_SBUF_H
#define SB_SBUF_H

#include <stddef.h>

struct sbuf {
	char *p;    /* NUL-terminated when len > 0 or after sbuf_reset; owned */
	size_t len;
	size_t cap;
	int oom;    /* an append failed: the content is truncated */
};

void sbuf_reset(struct sbuf *b);
void sbuf_add(struct sbuf *b, const char *s, size_t n);
void sbuf_addf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_addc(struct sbuf *b, char c);
/* Append s[0..n) as a quoted JSON string. */
void sbuf_add_json_string(struct sbuf *b, const char *s, size_t n);
/* Take the content (caller frees); the buffer is left empty. Never NULL unless out of
 * memory. */
char *sbuf_take(struct sbuf *b);
void sbuf_free(struct sbuf *b);

#endif
