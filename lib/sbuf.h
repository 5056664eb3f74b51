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
/* Append a string literal, sized by the compiler: anything but a literal (a pointer, whose
 * sizeof would cut the text to 8 bytes) does not compile. */
#define sbuf_lit(b, lit) sbuf_add((b), "" lit, sizeof(lit) - 1)
void sbuf_addf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_addc(struct sbuf *b, char c);
/* Append s[0..n) as a quoted JSON string (json_quote below). */
void sbuf_add_json_string(struct sbuf *b, const char *s, size_t n);
/* Take the content (caller frees); the buffer is left empty. Never NULL unless out of
 * memory. */
char *sbuf_take(struct sbuf *b);
void sbuf_free(struct sbuf *b);

/* The JSON form of the string s[0..n), quotes included, handed to put(ctx, piece, len) in
 * pieces; every writer of JSON strings in the project goes through it. '"', '\\', control
 * characters and DEL are escaped. A byte that is not part of valid UTF-8 (a stray or cut
 * continuation byte, an overlong form, a surrogate, a code point past U+10FFFF) is written
 * as the escape \udc80..\udcff of its value, one per byte, as Python's "surrogateescape"
 * does: the output is always valid JSON and valid UTF-8, distinct byte strings stay
 * distinct, and lib/history's readers turn those escapes back into the original bytes. */
typedef void (*json_put_fn)(void *ctx, const char *p, size_t n);
/* 1 if s[0..n) is valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF). */
int utf8_valid(const char *s, size_t n);
void json_quote(const char *s, size_t n, json_put_fn put, void *ctx);

/* The shortest decimal text of a finite double that reads back as the same double (%.15g,
 * %.16g or %.17g, whichever is first exact): 0.234, not 0.23400000000000001. Returns its
 * length (like snprintf). */
int json_format_double(char *buf, size_t n, double d);

#endif
