#include "harness/control/shquote.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growable string; `ok` turns false on the first allocation failure. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool ok;
};

static void sb_reserve(struct sbuf *b, size_t more)
{
	if (!b->ok)
		return;
	if (more > SIZE_MAX / 2 - b->len) {
		b->ok = false;
		return;
	}
	if (b->len + more + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->ok = false;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	sb_reserve(b, n);
	if (!b->ok)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_quote(struct sbuf *b, const char *s)
{
	sb_add(b, "'", 1);
	for (const char *q = s; *q; q++) {
		if (*q == '\'')
			sb_add(b, "'\\''", 4);
		else
			sb_add(b, q, 1);
	}
	sb_add(b, "'", 1);
}

static char *sb_finish(struct sbuf *b)
{
	if (!b->ok) {
		free(b->p);
		return NULL;
	}
	if (!b->p) {
		b->p = malloc(1);
		if (b->p)
			b->p[0] = '\0';
	}
	return b->p;
}

char *shquote(const char *s)
{
	if (!s)
		return NULL;
	struct sbuf b = {.ok = true};
	sb_quote(&b, s);
	return sb_finish(&b);
}

long shquote_buf(const char *s, char *buf, size_t len)
{
	if (!buf || !len)
		return -1;
	buf[0] = '\0';
	if (!s)
		return -1;
	size_t need = 2;
	for (const char *q = s; *q; q++)
		need += *q == '\'' ? 4 : 1;
	if (need + 1 > len)
		return -1;
	size_t o = 0;
	buf[o++] = '\'';
	for (const char *q = s; *q; q++) {
		if (*q == '\'') {
			memcpy(buf + o, "'\\''", 4);
			o += 4;
		} else {
			buf[o++] = *q;
		}
	}
	buf[o++] = '\'';
	buf[o] = '\0';
	return (long)o;
}

char *shquote_fmt(const char *fmt, ...)
{
	if (!fmt)
		return NULL;
	struct sbuf b = {.ok = true};
	va_list ap;
	va_start(ap, fmt);
	for (const char *f = fmt; *f && b.ok; f++) {
		if (*f != '%') {
			sb_add(&b, f, 1);
			continue;
		}
		f++;
		char num[64];
		int n = -1;
		switch (*f) {
		case '%':
			sb_add(&b, "%", 1);
			break;
		case 'q': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				b.ok = false;
			else
				sb_quote(&b, s);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				b.ok = false;
			else
				sb_add(&b, s, strlen(s));
			break;
		}
		case 'd':
			n = snprintf(num, sizeof num, "%d", va_arg(ap, int));
			break;
		case 'u':
			n = snprintf(num, sizeof num, "%u", va_arg(ap, unsigned));
			break;
		case 'o':
			n = snprintf(num, sizeof num, "%o", va_arg(ap, unsigned));
			break;
		case 'z':
			if (f[1] == 'u') {
				f++;
				n = snprintf(num, sizeof num, "%zu", va_arg(ap, size_t));
			} else {
				b.ok = false;
			}
			break;
		case 'l':
			if (f[1] == 'd') {
				f++;
				n = snprintf(num, sizeof num, "%ld", va_arg(ap, long));
			} else if (f[1] == 'u') {
				f++;
				n = snprintf(num, sizeof num, "%lu", va_arg(ap, unsigned long));
			} else if (f[1] == 'l' && f[2] == 'd') {
				f += 2;
				n = snprintf(num, sizeof num, "%lld", va_arg(ap, long long));
			} else if (f[1] == 'l' && f[2] == 'u') {
				f += 2;
				n = snprintf(num, sizeof num, "%llu", va_arg(ap, unsigned long long));
			} else {
				b.ok = false;
			}
			break;
		default: /* unknown conversion or a lone % at the end */
			b.ok = false;
			break;
		}
		if (n >= 0)
			sb_add(&b, num, (size_t)n);
		if (!*f)
			break;
	}
	va_end(ap);
	return sb_finish(&b);
}

char *shquote_argv(const char *const *argv)
{
	if (!argv)
		return NULL;
	struct sbuf b = {.ok = true};
	for (size_t i = 0; argv[i]; i++) {
		if (i)
			sb_add(&b, " ", 1);
		sb_quote(&b, argv[i]);
	}
	return sb_finish(&b);
}
