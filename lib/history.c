/* history — streaming readers for JSON Lines and Jepsen/Knossos EDN histories.
 *
 * Both readers work on one bounded buffer: a file is read in READ_CHUNK pieces, an event is
 * parsed in place, and the buffer grows only when one event does not fit (up to
 * HREADER_MAX_EVENT plus one chunk). Values decoded from an event live in a per-event arena
 * and a scratch stack that are reused, so steady-state reading allocates nothing.
 *
 * The JSON parser is hand-written rather than jansson: bench/parse.c measures both on the same
 * file (see bench/RESULTS.md, "History parsing"); building a jansson tree per line and then
 * walking it costs several times the whole check budget for large histories.
 *
 * JSON Lines: an event is one line, so a line is found with memchr and parsed knowing its end;
 * a line that ends before its object closes is reported as truncated. EDN events may span
 * lines: the parser reports "need more" when it reaches the end of the buffered data, the
 * reader reads more and parses the event again from its start.
 */
#include "lib/history.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/array.h"
#include "lib/bigmem.h"
#include "lib/clock.h"
#include "lib/err.h"

/* 128 KiB: the buffer (two chunks) touches few new pages; with 1 MiB chunks, reading a
 * 1.7 MB history of 10,000 operations took 7% longer, with 224 more page faults
 * (bench/RESULTS.md, "History parsing"). */
#define READ_CHUNK (128u << 10)
#define MAX_DEPTH 256
#define ARENA_CHUNK (64u << 10)
#define MAX_BUF ((size_t)HREADER_MAX_EVENT + 2 * READ_CHUNK)

/* ---- per-event arena ------------------------------------------------------------------- */

struct achunk {
	struct achunk *next;
	size_t size;
	_Alignas(16) char data[];
};

struct arena {
	struct achunk *head; /* newest first; the last one is kept across resets */
	char *p, *end;
};

static void *arena_alloc(struct arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if ((size_t)(a->end - a->p) < n) {
		size_t sz = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		struct achunk *c = malloc(sizeof *c + sz);
		if (!c)
			return NULL;
		c->size = sz;
		c->next = a->head;
		a->head = c;
		a->p = c->data;
		a->end = c->data + sz;
	}
	void *r = a->p;
	a->p += n;
	return r;
}

/* Forget everything allocated; keep the oldest chunk so the next event allocates nothing. */
static void arena_reset(struct arena *a)
{
	if (!a->head)
		return;
	while (a->head->next) {
		struct achunk *n = a->head->next;
		free(a->head);
		a->head = n;
	}
	a->p = a->head->data;
	a->end = a->head->data + a->head->size;
}

static void arena_free(struct arena *a)
{
	while (a->head) {
		struct achunk *n = a->head->next;
		free(a->head);
		a->head = n;
	}
	a->p = a->end = NULL;
}

/* ---- reader state ---------------------------------------------------------------------- */

enum edn_state { EDN_START = 0, EDN_WRAPPED, EDN_BARE, EDN_AFTER };

struct hreader {
	char *name;
	int fd;      /* -1 for memory */
	int own_fd;
	int eof;     /* no more data beyond `end` */
	enum hformat fmt;
	const char *data; /* buf, or the caller's memory */
	char *buf;
	size_t cap;
	size_t pos;  /* start of unconsumed data */
	size_t end;  /* end of valid data */
	size_t scan; /* JSONL: memchr already searched [pos, scan) for '\n' */
	uint64_t off0; /* absolute input offset of data[0] */
	uint64_t line;   /* line number at pos (1-based) */
	uint64_t lstart; /* absolute offset of the first byte of that line */
	enum edn_state edn;
	char edn_close;
	int failed;  /* sticky error */
	char *errmsg;
	struct arena arena;
	struct hval *stack;
	size_t sp, scap;
	/* set by the parsers for the current error */
	int trunc; /* the error is "input ended inside the event" */
	size_t probe; /* JSONL: parse a long line early once this much of it is buffered */
	int started;  /* hreader_next has been called */
	int64_t deadline_ns; /* clock_mono_ns; 0: wait for input as long as it takes */
	uint64_t size_hint;  /* a file's size at open; 0 if unknown (a pipe, a terminal) */
	int bigbuf;          /* buf is a lib/bigmem block (cap bytes), not malloc's */
};

/* The read buffer. A file that will fill it gets a bigmem block (one huge page where the
 * kernel grants it, not 64 first-touch faults); a small or unknown input gets malloc's. */
static char *buf_alloc(struct hreader *r, size_t n)
{
	r->bigbuf = r->size_hint >= 2 * READ_CHUNK;
	return r->bigbuf ? bigmem_alloc(n) : malloc(n);
}

/* Resize the buffer to n bytes, keeping its first `keep` bytes; NULL when memory runs out
 * (then the old buffer is unchanged). */
static char *buf_resize(struct hreader *r, size_t n, size_t keep)
{
	if (!r->bigbuf)
		return realloc(r->buf, n);
	if (n >= r->cap)
		return bigmem_grow(r->buf, r->cap, n);
	char *nb = bigmem_alloc(n); /* shrinking: bigmem only grows */
	if (nb) {
		memcpy(nb, r->buf, keep);
		bigmem_free(r->buf, r->cap);
	}
	return nb;
}

static void buf_free(struct hreader *r)
{
	if (r->bigbuf)
		bigmem_free(r->buf, r->cap);
	else
		free(r->buf);
}

/* Error at an explicit line and column. */
__attribute__((format(printf, 5, 6))) static int rerr_at(struct hreader *r, uint64_t line,
							  uint64_t col, int code, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(r->errmsg, 512, "%s:%llu:%llu: %s", r->name, (unsigned long long)line,
		 (unsigned long long)col, what);
	r->failed = code;
	return code;
}

static const char *fmt_char(char *b, size_t n, unsigned char c)
{
	if (c >= 0x20 && c < 0x7f)
		snprintf(b, n, "'%c'", c);
	else
		snprintf(b, n, "byte 0x%02x", c);
	return b;
}

static int grow_stack(struct hreader *r)
{
	return array_grow((void **)&r->stack, &r->scap, r->sp + 1, sizeof *r->stack, 256);
}

/* Forget the previous event's values. Memory a very large event needed is given back. */
static void event_reset(struct hreader *r)
{
	arena_reset(&r->arena);
	r->sp = 0;
	if (r->scap > (1u << 16)) {
		free(r->stack);
		r->stack = NULL;
		r->scap = 0;
	}
}

static inline int push(struct hreader *r, const struct hval *v)
{
	if (r->sp == r->scap && grow_stack(r))
		return -1;
	r->stack[r->sp++] = *v;
	return 0;
}

/* Move stack[base..sp) into the arena as one array; pops them. */
static struct hval *pop_items(struct hreader *r, size_t base)
{
	size_t n = r->sp - base;
	struct hval *items = arena_alloc(&r->arena, n ? n * sizeof *items : 1);
	if (!items)
		return NULL;
	if (n)
		memcpy(items, r->stack + base, n * sizeof *items);
	r->sp = base;
	return items;
}

static char *arena_strdup(struct hreader *r, const char *s, size_t n)
{
	char *d = arena_alloc(&r->arena, n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* Append the UTF-8 encoding of code point cp at d; returns bytes written. */
static size_t put_utf8(char *d, uint32_t cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | (cp >> 6));
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | (cp >> 12));
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | (cp >> 18));
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static int hex4(const char *p, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* An integer outside int64_t, digits in [s, s+n) after an optional sign: HVAL_BIGINT with
 * its canonical text in the arena. Returns 0, -1 when out of memory, 1 when it has more than
 * HVAL_BIGINT_MAX_DIGITS digits. */
static int bigint_value(struct hreader *r, const char *s, size_t n, struct hval *out)
{
	const char *p = s, *e = s + n;
	int neg = 0;
	if (p < e && (*p == '-' || *p == '+')) {
		neg = *p == '-';
		p++;
	}
	while (p + 1 < e && *p == '0')
		p++;
	size_t nd = (size_t)(e - p);
	if (nd > HVAL_BIGINT_MAX_DIGITS)
		return 1;
	char *d = arena_alloc(&r->arena, nd + 2);
	if (!d)
		return -1;
	size_t k = 0;
	if (neg)
		d[k++] = '-';
	memcpy(d + k, p, nd);
	d[k + nd] = '\0';
	out->kind = HVAL_BIGINT;
	out->len = (uint32_t)(k + nd);
	out->u.s = d;
	return 0;
}

/* Parse a decimal integer or float in [s, s+n) (already checked to look like a number).
 * Integers that fit int64_t become HVAL_INT, other integers HVAL_BIGINT (exact), numbers
 * with a fraction or an exponent HVAL_FLOAT. Returns 0, -1 when out of memory, 1 when the
 * number is out of range (a double that overflows, an integer of too many digits). */
static int number_value(struct hreader *r, const char *s, size_t n, int isfloat,
			struct hval *out)
{
	if (!isfloat) {
		const char *p = s;
		int neg = 0;
		if (*p == '-' || *p == '+') {
			neg = *p == '-';
			p++;
		}
		uint64_t v = 0;
		int ovf = 0;
		for (; p < s + n; p++) {
			unsigned d = (unsigned)(*p - '0');
			if (v > (UINT64_MAX - d) / 10)
				ovf = 1;
			v = v * 10 + d;
		}
		if (!ovf && (neg ? v <= (uint64_t)INT64_MAX + 1 : v <= (uint64_t)INT64_MAX)) {
			out->kind = HVAL_INT;
			out->u.i = neg ? (int64_t)(0 - v) : (int64_t)v;
			return 0;
		}
		return bigint_value(r, s, n, out);
	}
	char small[64];
	char *t = small;
	if (n >= sizeof small) {
		t = arena_alloc(&r->arena, n + 1);
		if (!t)
			return -1;
	}
	memcpy(t, s, n);
	t[n] = '\0';
	out->kind = HVAL_FLOAT;
	out->u.d = strtod(t, NULL);
	/* Overflow to infinity is refused: JSON cannot write it back, and no history needs it. */
	return isfinite(out->u.d) ? 0 : 1;
}

/* The value of a number as a double (for ratios). */
static double number_double(const struct hval *v)
{
	if (v->kind == HVAL_INT)
		return (double)v->u.i;
	if (v->kind == HVAL_BIGINT)
		return strtod(v->u.s, NULL);
	return v->u.d;
}

/* Decode the code point cp of a \u escape whose four hex digits end at *q; s is the end of
 * the string's text. A high surrogate followed by an escaped low one is one character. A
 * lone \udc80..\udcff is the byte 0x80..0xff: the writers (json_quote) escape bytes of
 * invalid UTF-8 that way, so they read back as they were. Any other lone surrogate keeps
 * its 3-byte form: the history is data, not text to display, and rejecting it would lose the
 * event. Returns the bytes written at d (at most 4; never more than the escape's 6). */
static size_t put_u_escape(uint32_t cp, const char **q, const char *s, char *d)
{
	if (cp >= 0xd800 && cp < 0xdc00 && s - *q >= 6 && (*q)[0] == '\\' && (*q)[1] == 'u') {
		uint32_t lo;
		if (!hex4(*q + 2, &lo) && lo >= 0xdc00 && lo < 0xe000) {
			*q += 6;
			return put_utf8(d, 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
		}
	}
	if (cp >= 0xdc80 && cp <= 0xdcff) {
		d[0] = (char)(cp - 0xdc00);
		return 1;
	}
	return put_utf8(d, cp);
}

/* ---- JSON ------------------------------------------------------------------------------ */

/* A JSON parse over one line [lp, le). Errors are reported at a column of that line. */
struct jctx {
	struct hreader *r;
	const char *lp; /* start of the line */
	const char *e;  /* end of the line */
	uint64_t line;
};

__attribute__((format(printf, 3, 4))) static int jerr(struct jctx *j, const char *at,
						       const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	j->r->trunc = at >= j->e;
	return rerr_at(j->r, j->line, (uint64_t)(at - j->lp) + 1, SB_EINVAL, "%s", what);
}

static int jtrunc(struct jctx *j, const char *at)
{
	return jerr(j, at, "line ends inside the event (truncated line?)");
}

static int jnomem(struct jctx *j, const char *at)
{
	int rc = jerr(j, at, "out of memory");
	j->r->failed = SB_ENOMEM;
	return rc == SB_EINVAL ? SB_ENOMEM : rc;
}

static inline const char *jws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	return p;
}

static int junexpected(struct jctx *j, const char *p, const char *what)
{
	char cb[16];
	if (p >= j->e)
		return jtrunc(j, p);
	unsigned char c = (unsigned char)*p;
	if (c < 0x20 || c == 0x7f)
		return jerr(j, p, "control character (byte 0x%02x) outside a string", c);
	return jerr(j, p, "expected %s, found %s", what, fmt_char(cb, sizeof cb, c));
}

/* Parse the string starting at *pp (on its '"'). If `copy`, the result is a NUL-terminated
 * arena copy; otherwise it may point into the line (not terminated) when it had no escapes. */
static int jstring(struct jctx *j, const char **pp, const char **out, uint32_t *outlen,
		   int copy)
{
	const char *p = *pp + 1, *e = j->e;
	const char *q = p;
	while (q < e && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
		q++;
	if (q < e && *q == '"') {
		size_t n = (size_t)(q - p);
		if (copy) {
			char *d = arena_strdup(j->r, p, n);
			if (!d)
				return jnomem(j, p);
			*out = d;
		} else {
			*out = p;
		}
		*outlen = (uint32_t)n;
		*pp = q + 1;
		return 0;
	}
	/* Slow path: find the end, then decode escapes. */
	const char *s = q;
	while (s < e && *s != '"') {
		if ((unsigned char)*s < 0x20)
			return jerr(j, s, "control character (byte 0x%02x) inside a string; "
					  "JSON needs it escaped", (unsigned char)*s);
		if (*s == '\\') {
			if (s + 1 >= e)
				return jtrunc(j, s + 1);
			s += 2;
		} else {
			s++;
		}
	}
	if (s >= e)
		return jerr(j, e, "line ends inside a string (truncated line?)");
	char *d = arena_alloc(&j->r->arena, (size_t)(s - p) + 1);
	if (!d)
		return jnomem(j, p);
	size_t n = (size_t)(q - p);
	memcpy(d, p, n);
	for (q = p + n; q < s;) {
		if (*q != '\\') {
			d[n++] = *q++;
			continue;
		}
		char c = q[1];
		switch (c) {
		case '"': d[n++] = '"'; break;
		case '\\': d[n++] = '\\'; break;
		case '/': d[n++] = '/'; break;
		case 'b': d[n++] = '\b'; break;
		case 'f': d[n++] = '\f'; break;
		case 'n': d[n++] = '\n'; break;
		case 'r': d[n++] = '\r'; break;
		case 't': d[n++] = '\t'; break;
		case 'u': {
			uint32_t cp;
			if (s - q < 6 || hex4(q + 2, &cp))
				return jerr(j, q, "bad \\u escape: expected four hex digits");
			q += 6;
			n += put_u_escape(cp, &q, s, d + n);
			continue;
		}
		default:
			return jerr(j, q, "unknown escape '\\%c' in a string",
				    (unsigned char)c >= 0x20 ? c : '?');
		}
		q += 2;
	}
	d[n] = '\0';
	*out = d;
	*outlen = (uint32_t)n;
	*pp = s + 1;
	return 0;
}

static int jnumber(struct jctx *j, const char **pp, struct hval *out)
{
	const char *s = *pp, *p = s, *e = j->e;
	int isfloat = 0;
	{
		/* Fast path: an integer of at most 18 digits cannot overflow. */
		const char *q = p;
		int neg = q < e && *q == '-';
		q += neg;
		const char *d0 = q;
		uint64_t v = 0;
		while (q < e && (unsigned)(*q - '0') < 10 && q - d0 < 18)
			v = v * 10 + (unsigned)(*q++ - '0');
		if (q > d0 && (q == e || ((unsigned)(*q - '0') >= 10 && *q != '.' && *q != 'e' &&
					  *q != 'E')) &&
		    (*d0 != '0' || q - d0 == 1)) {
			out->kind = HVAL_INT;
			out->keyword = 0;
			out->len = 0;
			out->u.i = neg ? -(int64_t)v : (int64_t)v;
			*pp = q;
			return 0;
		}
	}
	if (p < e && *p == '-')
		p++;
	if (p >= e)
		return jtrunc(j, p);
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	} else {
		return junexpected(j, p, "a digit");
	}
	if (p < e && *p == '.') {
		isfloat = 1;
		p++;
		if (p >= e || *p < '0' || *p > '9')
			return junexpected(j, p, "a digit after '.'");
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		isfloat = 1;
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (p >= e || *p < '0' || *p > '9')
			return junexpected(j, p, "a digit in the exponent");
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	memset(out, 0, sizeof *out);
	int rc = number_value(j->r, s, (size_t)(p - s), isfloat, out);
	if (rc < 0)
		return jnomem(j, s);
	if (rc > 0)
		return jerr(j, s, "number out of range");
	*pp = p;
	return 0;
}

static int jlit(struct jctx *j, const char **pp, const char *lit, size_t n)
{
	const char *p = *pp;
	if ((size_t)(j->e - p) < n) {
		if (!memcmp(p, lit, (size_t)(j->e - p)))
			return jtrunc(j, j->e);
	} else if (!memcmp(p, lit, n)) {
		*pp = p + n;
		return 0;
	}
	return junexpected(j, p, "a JSON value");
}

static int jvalue(struct jctx *j, const char **pp, struct hval *out, int depth)
{
	const char *p = *pp;
	struct hreader *r = j->r;
	int rc;
	if (p >= j->e)
		return jtrunc(j, p);
	memset(out, 0, sizeof *out);
	switch (*p) {
	case '"': {
		const char *s;
		uint32_t n;
		if ((rc = jstring(j, &p, &s, &n, 1)))
			return rc;
		out->kind = HVAL_STR;
		out->len = n;
		out->u.s = s;
		break;
	}
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		if ((rc = jnumber(j, &p, out)))
			return rc;
		break;
	case 'n':
		if ((rc = jlit(j, &p, "null", 4)))
			return rc;
		out->kind = HVAL_NULL;
		break;
	case 't':
		if ((rc = jlit(j, &p, "true", 4)))
			return rc;
		out->kind = HVAL_BOOL;
		out->u.b = 1;
		break;
	case 'f':
		if ((rc = jlit(j, &p, "false", 5)))
			return rc;
		out->kind = HVAL_BOOL;
		out->u.b = 0;
		break;
	case '[': {
		if (depth >= MAX_DEPTH)
			return jerr(j, p, "values nested deeper than %d levels", MAX_DEPTH);
		size_t base = r->sp;
		p = jws(p + 1, j->e);
		if (p < j->e && *p == ']') {
			p++;
		} else {
			for (;;) {
				struct hval item;
				if ((rc = jvalue(j, &p, &item, depth + 1)))
					return rc;
				if (push(r, &item))
					return jnomem(j, p);
				p = jws(p, j->e);
				if (p < j->e && *p == ',') {
					p = jws(p + 1, j->e);
					continue;
				}
				if (p < j->e && *p == ']') {
					p++;
					break;
				}
				return junexpected(j, p, "',' or ']' in an array");
			}
		}
		size_t n = r->sp - base;
		if (!(out->u.items = pop_items(r, base)))
			return jnomem(j, p);
		out->kind = HVAL_ARRAY;
		out->len = (uint32_t)n;
		break;
	}
	case '{': {
		if (depth >= MAX_DEPTH)
			return jerr(j, p, "values nested deeper than %d levels", MAX_DEPTH);
		size_t base = r->sp;
		p = jws(p + 1, j->e);
		if (p < j->e && *p == '}') {
			p++;
		} else {
			for (;;) {
				struct hval k = {0}, v;
				if (p >= j->e || *p != '"')
					return junexpected(j, p, "a member name in double quotes");
				const char *s;
				uint32_t n;
				if ((rc = jstring(j, &p, &s, &n, 1)))
					return rc;
				k.kind = HVAL_STR;
				k.len = n;
				k.u.s = s;
				p = jws(p, j->e);
				if (p >= j->e || *p != ':')
					return junexpected(j, p, "':' after a member name");
				p = jws(p + 1, j->e);
				if ((rc = jvalue(j, &p, &v, depth + 1)))
					return rc;
				if (push(r, &k) || push(r, &v))
					return jnomem(j, p);
				p = jws(p, j->e);
				if (p < j->e && *p == ',') {
					p = jws(p + 1, j->e);
					continue;
				}
				if (p < j->e && *p == '}') {
					p++;
					break;
				}
				return junexpected(j, p, "',' or '}' in an object");
			}
		}
		size_t n = r->sp - base;
		if (!(out->u.items = pop_items(r, base)))
			return jnomem(j, p);
		out->kind = HVAL_MAP;
		out->len = (uint32_t)(n / 2);
		break;
	}
	default:
		return junexpected(j, p, "a JSON value");
	}
	*pp = p;
	return 0;
}

enum field {
	F_NONE = 0,
	F_INDEX = 1 << 0,
	F_TIME = 1 << 1,
	F_PROCESS = 1 << 2,
	F_TYPE = 1 << 3,
	F_F = 1 << 4,
	F_KEY = 1 << 5,
	F_VALUE = 1 << 6,
	F_NODE = 1 << 7,
	F_ERROR = 1 << 8,
};

static enum field field_of(const char *s, size_t n)
{
	switch (n) {
	case 1:
		return s[0] == 'f' ? F_F : F_NONE;
	case 3:
		return !memcmp(s, "key", 3) ? F_KEY : F_NONE;
	case 4:
		if (!memcmp(s, "time", 4))
			return F_TIME;
		if (!memcmp(s, "type", 4))
			return F_TYPE;
		if (!memcmp(s, "node", 4))
			return F_NODE;
		return F_NONE;
	case 5:
		if (!memcmp(s, "index", 5))
			return F_INDEX;
		if (!memcmp(s, "value", 5))
			return F_VALUE;
		if (!memcmp(s, "error", 5))
			return F_ERROR;
		return F_NONE;
	case 7:
		return !memcmp(s, "process", 7) ? F_PROCESS : F_NONE;
	default:
		return F_NONE;
	}
}

/* The common case: a field name written without escapes, recognised in one comparison.
 * *pp is on the opening quote; on a match it moves past the closing quote. */
static enum field known_field(const char **pp, const char *e)
{
	const char *p = *pp + 1;
	size_t room = (size_t)(e - p);
	if (!room)
		return F_NONE;
#define KF(lit, fld)                                                                       \
	if (room >= sizeof(lit) - 1 && !memcmp(p, lit, sizeof(lit) - 1)) {                 \
		*pp = p + sizeof(lit) - 1;                                                  \
		return fld;                                                                 \
	}
	switch (*p) {
	case 'i': KF("index\"", F_INDEX); break;
	case 't': KF("time\"", F_TIME); KF("type\"", F_TYPE); break;
	case 'p': KF("process\"", F_PROCESS); break;
	case 'f': KF("f\"", F_F); break;
	case 'k': KF("key\"", F_KEY); break;
	case 'v': KF("value\"", F_VALUE); break;
	case 'n': KF("node\"", F_NODE); break;
	case 'e': KF("error\"", F_ERROR); break;
	default: break;
	}
#undef KF
	return F_NONE;
}

static const char *field_name(enum field f)
{
	switch (f) {
	case F_INDEX: return "index";
	case F_TIME: return "time";
	case F_PROCESS: return "process";
	case F_TYPE: return "type";
	case F_F: return "f";
	case F_KEY: return "key";
	case F_VALUE: return "value";
	case F_NODE: return "node";
	case F_ERROR: return "error";
	default: return "?";
	}
}

static const char *kind_name(const struct hval *v)
{
	switch (v->kind) {
	case HVAL_NULL: return "null";
	case HVAL_BOOL: return "a boolean";
	case HVAL_INT: return "an integer";
	case HVAL_FLOAT: return "a non-integer number";
	case HVAL_STR: return v->keyword ? "a keyword" : "a string";
	case HVAL_ARRAY: return "an array";
	case HVAL_MAP: return "a map";
	case HVAL_BIGINT: return "an integer beyond 64 bits";
	default: return "?";
	}
}

/* The message for a bad value of the integer field `name` (index, time, process), with
 * `alt` naming what else the field may be. JSON quotes the name, EDN writes it as a
 * keyword. */
static const char *count_msg(char *buf, size_t n, const char *name, int edn,
			     const struct hval *v, const char *alt)
{
	const char *q = edn ? "" : "\"", *pre = edn ? ":" : "";
	if (v->kind == HVAL_BIGINT && v->u.s[0] != '-')
		snprintf(buf, n, "%s%s%s%s %.40s%s is out of range (at most %lld)", pre, q, name, q,
			 v->u.s, v->len > 40 ? "..." : "", (long long)INT64_MAX);
	else
		snprintf(buf, n, "%s%s%s%s must be an integer >= 0%s, not %s", pre, q, name, q, alt,
			 v->kind == HVAL_INT || v->kind == HVAL_BIGINT ? "negative" : kind_name(v));
	return buf;
}

static int type_of(const char *s, size_t n, enum htype *t)
{
	if (n == 6 && !memcmp(s, "invoke", 6))
		*t = HTYPE_INVOKE;
	else if (n == 2 && !memcmp(s, "ok", 2))
		*t = HTYPE_OK;
	else if (n == 4 && !memcmp(s, "fail", 4))
		*t = HTYPE_FAIL;
	else if (n == 4 && !memcmp(s, "info", 4))
		*t = HTYPE_INFO;
	else
		return -1;
	return 0;
}

/* A non-string `error` is kept as its JSON text so it can still be shown. */
static const char *error_text(struct hreader *r, const struct hval *v)
{
	if (v->kind == HVAL_STR)
		return v->u.s;
	size_t n = hval_format(NULL, 0, v);
	char *d = arena_alloc(&r->arena, n + 1);
	if (!d)
		return NULL;
	hval_format(d, n + 1, v);
	return d;
}

static void event_init(struct hevent *ev, uint64_t line)
{
	memset(ev, 0, sizeof *ev);
	ev->index = -1;
	ev->time = -1;
	ev->line = line;
}

static int missing_fields(struct hreader *r, unsigned seen, uint64_t line, uint64_t col,
			  int edn)
{
	const char *what = !(seen & F_PROCESS) ? "process" : !(seen & F_TYPE) ? "type" : "f";
	return rerr_at(r, line, col, SB_EINVAL, "event has no %s%s field", edn ? ":" : "",
		       what);
}

/* Parse one JSON Lines event from the line [p, e). */
static int jsonl_event(struct hreader *r, const char *p, const char *e, uint64_t line,
		       struct hevent *ev)
{
	struct jctx j = {r, p, e, line};
	unsigned seen = 0;
	int rc;
	char msg[160];
	event_init(ev, line);
	r->trunc = 0;
	p = jws(p, e);
	if (p >= e || *p != '{')
		return junexpected(&j, p, "'{' at the start of an event");
	p = jws(p + 1, e);
	if (p < e && *p == '}') {
		p++;
		goto done;
	}
	for (;;) {
		const char *name;
		uint32_t nlen;
		if (p >= e || *p != '"')
			return junexpected(&j, p, "a field name in double quotes");
		const char *at = p;
		enum field f = known_field(&p, e);
		if (f == F_NONE) {
			if ((rc = jstring(&j, &p, &name, &nlen, 0)))
				return rc;
			f = field_of(name, nlen);
		}
		p = jws(p, e);
		if (p >= e || *p != ':')
			return junexpected(&j, p, "':' after a field name");
		p = jws(p + 1, e);
		if (f != F_NONE && (seen & f))
			return jerr(&j, at, "field \"%s\" appears twice", field_name(f));
		seen |= f;
		const char *vat = p;
		struct hval v;
		if (f == F_TYPE && p < e && *p == '"') {
			/* Fast path: compare in place, no copy. */
			const char *s;
			uint32_t n;
			if ((rc = jstring(&j, &p, &s, &n, 0)))
				return rc;
			if (type_of(s, n, &ev->type))
				return jerr(&j, vat,
					    "unknown type \"%.*s\" (expected invoke, ok, fail or "
					    "info)",
					    (int)(n > 40 ? 40 : n), s);
			goto next;
		}
		if ((rc = jvalue(&j, &p, &v, 0)))
			return rc;
		switch (f) {
		case F_NONE:
			break;
		case F_INDEX:
			if (v.kind != HVAL_INT || v.u.i < 0)
				return jerr(&j, vat, "%s", count_msg(msg, sizeof msg, "index", 0, &v, ""));
			ev->index = v.u.i;
			break;
		case F_TIME:
			if (v.kind != HVAL_INT || v.u.i < 0)
				return jerr(&j, vat, "%s", count_msg(msg, sizeof msg, "time", 0, &v, ""));
			ev->time = v.u.i;
			break;
		case F_PROCESS:
			if (v.kind == HVAL_INT && v.u.i >= 0)
				ev->process = v.u.i;
			else if (v.kind == HVAL_STR && v.len == 7 && !memcmp(v.u.s, "nemesis", 7))
				ev->process = HPROC_NEMESIS;
			else
				return jerr(&j, vat, "%s",
					    count_msg(msg, sizeof msg, "process", 0, &v,
						      " or \"nemesis\""));
			break;
		case F_TYPE:
			return jerr(&j, vat, "\"type\" must be a string, not %s", kind_name(&v));
		case F_F:
			if (v.kind != HVAL_STR)
				return jerr(&j, vat, "\"f\" must be a string, not %s",
					    kind_name(&v));
			ev->f = v.u.s;
			break;
		case F_KEY:
			if (v.kind == HVAL_NULL)
				break;
			if (v.kind != HVAL_INT && v.kind != HVAL_BIGINT && v.kind != HVAL_STR)
				return jerr(&j, vat, "\"key\" must be a string or an integer, not %s",
					    kind_name(&v));
			ev->has_key = 1;
			ev->key = v;
			break;
		case F_VALUE:
			ev->has_value = 1;
			ev->value = v;
			break;
		case F_NODE:
			if (v.kind == HVAL_NULL)
				break;
			if (v.kind != HVAL_STR)
				return jerr(&j, vat, "\"node\" must be a string, not %s",
					    kind_name(&v));
			ev->node = v.u.s;
			break;
		case F_ERROR:
			if (v.kind == HVAL_NULL)
				break;
			if (!(ev->error = error_text(r, &v)))
				return jnomem(&j, vat);
			break;
		}
	next:
		p = jws(p, e);
		if (p < e && *p == ',') {
			p = jws(p + 1, e);
			continue;
		}
		if (p < e && *p == '}') {
			p++;
			break;
		}
		return junexpected(&j, p, "',' or '}' after a field");
	}
done:
	p = jws(p, e);
	if (p < e)
		return junexpected(&j, p, "the end of the line after the event's '}'");
	if ((seen & (F_PROCESS | F_TYPE | F_F)) != (F_PROCESS | F_TYPE | F_F))
		return missing_fields(r, seen, line, 1, 0);
	return 1;
}

/* ---- buffer ---------------------------------------------------------------------------- */

static int read_error(struct hreader *r, int e)
{
	snprintf(r->errmsg, 512, "%s: read: %s", r->name, strerror(e));
	r->failed = SB_EIO;
	return SB_EIO;
}

/* With a deadline: wait until the input has data (or its end), at most until the deadline.
 * Returns 0, or SB_ETIMEOUT (sticky) when the deadline passed first. */
static int wait_input(struct hreader *r)
{
	for (;;) {
		int64_t left = r->deadline_ns - clock_mono_ns();
		int ms = left <= 0 ? 0 : left / 1000000 >= INT_MAX ? INT_MAX
								    : (int)((left + 999999) / 1000000);
		struct pollfd p = {.fd = r->fd, .events = POLLIN};
		int n = poll(&p, 1, ms);
		if (n > 0)
			return 0; /* readable, at its end, or in error: read() says which */
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return read_error(r, errno);
		snprintf(r->errmsg, 512, "%s: no input before the time limit (at line %llu)", r->name,
			 (unsigned long long)r->line);
		r->failed = SB_ETIMEOUT;
		return SB_ETIMEOUT;
	}
}

/* Make room and read more input. Data before r->pos is dropped. Returns 0 (maybe at EOF),
 * or SB_EIO/SB_ENOMEM, or SB_ETIMEOUT (hreader_set_deadline). */
static int refill(struct hreader *r)
{
	if (r->fd < 0 || r->eof) {
		r->eof = 1;
		return 0;
	}
	if (r->pos > 0) {
		size_t n = r->end - r->pos;
		memmove(r->buf, r->buf + r->pos, n);
		r->off0 += r->pos;
		r->scan = r->scan > r->pos ? r->scan - r->pos : 0;
		r->end = n;
		r->pos = 0;
	}
	if (r->cap > 4 * READ_CHUNK && r->end < READ_CHUNK) {
		/* a large event has passed: give its room back */
		char *nb = buf_resize(r, 2 * READ_CHUNK, r->end);
		if (nb) {
			r->buf = nb;
			r->data = nb;
			r->cap = 2 * READ_CHUNK;
		}
	}
	if (r->cap - r->end < READ_CHUNK / 2) {
		size_t nc = r->cap * 2;
		if (nc > MAX_BUF)
			nc = MAX_BUF;
		if (nc > r->cap) {
			char *nb = buf_resize(r, nc, r->end);
			if (!nb) {
				snprintf(r->errmsg, 512, "%s: out of memory growing the buffer to %zu bytes",
					 r->name, nc);
				r->failed = SB_ENOMEM;
				return SB_ENOMEM;
			}
			r->buf = nb;
			r->cap = nc;
			r->data = nb;
		}
	}
	size_t want = r->cap - r->end;
	if (want > READ_CHUNK)
		want = READ_CHUNK;
	if (want == 0)
		return 0; /* full: the caller's size check reports it */
	if (r->deadline_ns) {
		int rc = wait_input(r);
		if (rc)
			return rc;
	}
	for (;;) {
		ssize_t got = read(r->fd, r->buf + r->end, want);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return read_error(r, errno);
		}
		if (got == 0)
			r->eof = 1;
		r->end += (size_t)got;
		return 0;
	}
}

static int too_long(struct hreader *r, uint64_t line)
{
	return rerr_at(r, line, 1, SB_EINVAL,
		       "event longer than %u bytes (HREADER_MAX_EVENT); not reading further",
		       HREADER_MAX_EVENT);
}

static int jsonl_next(struct hreader *r, struct hevent *ev)
{
	for (;;) {
		size_t from = r->scan > r->pos ? r->scan : r->pos;
		const char *nl = memchr(r->data + from, '\n', r->end - from);
		size_t lend, next;
		if (!nl) {
			if (!r->eof) {
				if (r->end - r->pos > HREADER_MAX_EVENT)
					return too_long(r, r->line);
				if (r->end - r->pos >= r->probe) {
					/* A long line: reject garbage now rather than after reading
					 * up to the size limit. */
					event_reset(r);
					int rc = jsonl_event(r, r->data + r->pos, r->data + r->end,
							     r->line, ev);
					if (rc < 0 && !r->trunc)
						return rc;
					r->failed = 0;
					r->probe = (r->end - r->pos) * 2;
				}
				r->scan = r->end;
				int rc = refill(r);
				if (rc)
					return rc;
				continue;
			}
			if (r->pos == r->end)
				return 0;
			lend = next = r->end;
		} else {
			lend = (size_t)(nl - r->data);
			next = lend + 1;
		}
		uint64_t line = r->line++;
		size_t start = r->pos;
		r->probe = READ_CHUNK / 2;
		r->pos = next;
		r->scan = next;
		r->lstart = r->off0 + next;
		if (lend - start > HREADER_MAX_EVENT)
			return too_long(r, line);
		const char *p = r->data + start, *e = r->data + lend;
		if (e > p && e[-1] == '\r')
			e--;
		if (jws(p, e) == e)
			continue; /* blank line */
		event_reset(r);
		return jsonl_event(r, p, e, line, ev);
	}
}

/* ---- EDN ------------------------------------------------------------------------------- */

#define E_MORE 1 /* internal: ran out of buffered data, read more and retry */

struct ectx {
	struct hreader *r;
	const char *p, *e;
	int more;        /* data may continue after e */
	uint64_t line;   /* line at p */
	uint64_t lstart; /* absolute offset of that line's first byte */
};

static uint64_t ecol(struct ectx *x, const char *at)
{
	uint64_t abs = x->r->off0 + (uint64_t)(at - x->r->data);
	return abs - x->lstart + 1;
}

__attribute__((format(printf, 3, 4))) static int eerr(struct ectx *x, const char *at,
						       const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return rerr_at(x->r, x->line, ecol(x, at), SB_EINVAL, "%s", what);
}

static int eend(struct ectx *x, const char *what)
{
	if (x->more)
		return E_MORE;
	return eerr(x, x->p, "input ends inside %s (truncated file?)", what);
}

static int enomem(struct ectx *x)
{
	eerr(x, x->p, "out of memory");
	x->r->failed = SB_ENOMEM;
	return SB_ENOMEM;
}

static inline void enewline(struct ectx *x, const char *at)
{
	x->line++;
	x->lstart = x->r->off0 + (uint64_t)(at - x->r->data) + 1;
}

/* Skip whitespace, commas and ';' comments. Returns 0, E_MORE if a comment reaches the end
 * of the buffered data, or an error for a control byte. */
static int eskip(struct ectx *x)
{
	const char *p = x->p, *e = x->e;
	while (p < e) {
		unsigned char c = (unsigned char)*p;
		if (c == ' ' || c == ',' || c == '\t' || c == '\r') {
			p++;
		} else if (c == '\n') {
			enewline(x, p);
			p++;
		} else if (c == ';') {
			const char *nl = memchr(p, '\n', (size_t)(e - p));
			if (!nl) {
				if (x->more) {
					/* the comment may go on: keep it and read more */
					x->p = p;
					return E_MORE;
				}
				p = e;
				break;
			}
			p = nl;
		} else if (c < 0x20 || c == 0x7f) {
			x->p = p;
			return eerr(x, p, "control character (byte 0x%02x) outside a string", c);
		} else {
			break;
		}
	}
	x->p = p;
	return 0;
}

static inline int edelim(unsigned char c)
{
	return c <= ' ' || c == ',' || c == '(' || c == ')' || c == '[' || c == ']' || c == '{' ||
	       c == '}' || c == '"' || c == ';' || c == 0x7f;
}

/* A token (symbol, keyword, number) from x->p. Returns E_MORE if it may continue. */
static int etoken(struct ectx *x, const char **s, size_t *n)
{
	const char *p = x->p;
	while (p < x->e && !edelim((unsigned char)*p))
		p++;
	if (p == x->e && x->more)
		return E_MORE;
	*s = x->p;
	*n = (size_t)(p - x->p);
	x->p = p;
	return 0;
}

static int enumber(struct ectx *x, const char *s, size_t n, struct hval *out)
{
	const char *p = s, *e = s + n;
	int isfloat = 0;
	if (*p == '+' || *p == '-')
		p++;
	const char *digits = p;
	while (p < e && *p >= '0' && *p <= '9')
		p++;
	if (p == digits)
		return eerr(x, s, "invalid number '%.*s'", (int)(n > 40 ? 40 : n), s);
	if (p < e && *p == '.') {
		isfloat = 1;
		p++;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		isfloat = 1;
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		const char *ed = p;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
		if (p == ed)
			return eerr(x, s, "invalid number '%.*s'", (int)(n > 40 ? 40 : n), s);
	}
	size_t len = (size_t)(p - s);
	if (p < e && (*p == 'N' || *p == 'M') && p + 1 == e) {
		/* Clojure bigint / bigdecimal suffix */
		if (*p == 'M')
			isfloat = 1;
	} else if (p < e && *p == '/' && !isfloat) {
		/* ratio a/b */
		const char *d = ++p;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
		if (p == d || p != e)
			return eerr(x, s, "invalid number '%.*s'", (int)(n > 40 ? 40 : n), s);
		struct hval a = {0}, b = {0};
		int ra = number_value(x->r, s, len, 0, &a);
		int rb = number_value(x->r, d, (size_t)(e - d), 0, &b);
		if (ra < 0 || rb < 0)
			return enomem(x);
		if (ra > 0 || rb > 0)
			return eerr(x, s, "number out of range");
		double na = number_double(&a), nb = number_double(&b);
		if (nb == 0 || !isfinite(na / nb))
			return eerr(x, s, "number out of range");
		out->kind = HVAL_FLOAT;
		out->u.d = na / nb;
		return 0;
	} else if (p != e) {
		return eerr(x, s, "invalid number '%.*s'", (int)(n > 40 ? 40 : n), s);
	}
	int rc = number_value(x->r, s, len, isfloat, out);
	if (rc < 0)
		return enomem(x);
	if (rc > 0)
		return eerr(x, s, "number out of range");
	return 0;
}

static int estring(struct ectx *x, struct hval *out)
{
	const char *start = x->p;
	const char *p = start + 1, *e = x->e;
	uint64_t line = x->line, lstart = x->lstart;
	int esc = 0;
	while (p < e && *p != '"') {
		if (*p == '\\') {
			esc = 1;
			p++;
			if (p >= e)
				break;
		}
		if (*p == '\n')
			enewline(x, p);
		p++;
	}
	if (p >= e) {
		if (x->more)
			return E_MORE;
		x->line = line;
		x->lstart = lstart;
		return eerr(x, start, "string never closed (truncated file?)");
	}
	size_t n = (size_t)(p - start - 1);
	char *d = arena_alloc(&x->r->arena, n + 1);
	if (!d)
		return enomem(x);
	if (!esc) {
		memcpy(d, start + 1, n);
	} else {
		n = 0;
		for (const char *q = start + 1; q < p;) {
			if (*q != '\\') {
				d[n++] = *q++;
				continue;
			}
			char c = q[1];
			q += 2;
			switch (c) {
			case '"': d[n++] = '"'; break;
			case '\\': d[n++] = '\\'; break;
			case '\'': d[n++] = '\''; break;
			case 'n': d[n++] = '\n'; break;
			case 'r': d[n++] = '\r'; break;
			case 't': d[n++] = '\t'; break;
			case 'b': d[n++] = '\b'; break;
			case 'f': d[n++] = '\f'; break;
			case 'u': {
				uint32_t cp;
				if (p - q < 4 || hex4(q, &cp))
					return eerr(x, q - 2, "bad \\u escape in a string");
				q += 4;
				n += put_u_escape(cp, &q, p, d + n);
				break;
			}
			default:
				return eerr(x, q - 2, "unknown escape '\\%c' in a string",
					    (unsigned char)c >= 0x20 ? c : '?');
			}
		}
	}
	d[n] = '\0';
	out->kind = HVAL_STR;
	out->len = (uint32_t)n;
	out->u.s = d;
	x->p = p + 1;
	return 0;
}

static int evalue(struct ectx *x, struct hval *out, int depth);

/* The keywords every op map repeats, returned without copying. */
static const char *common_word(const char *s, size_t n)
{
	static const char *const words[] = {"index", "time", "process", "type", "f", "key",
					    "value", "error", "node", "invoke", "ok", "fail",
					    "info", "read", "write", "cas", "nemesis", "txn"};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (words[i][0] == s[0] && strlen(words[i]) == n && !memcmp(words[i], s, n))
			return words[i];
	return NULL;
}

/* Elements up to `close`, pushed on the stack, then moved into the arena. */
static int eseq(struct ectx *x, char close, int kind, struct hval *out, int depth)
{
	struct hreader *r = x->r;
	const char *open = x->p;
	uint64_t oline = x->line, olstart = x->lstart;
	size_t base = r->sp;
	int rc;
	if (depth >= MAX_DEPTH)
		return eerr(x, open, "values nested deeper than %d levels", MAX_DEPTH);
	x->p += (*x->p == '#') ? 2 : 1;
	for (;;) {
		if ((rc = eskip(x)))
			return rc;
		if (x->p >= x->e) {
			if (x->more)
				return E_MORE;
			x->line = oline;
			x->lstart = olstart;
			return eerr(x, open, "'%c' never closed (truncated file?)",
				    close == '}' ? '{' : close == ']' ? '[' : '(');
		}
		if (*x->p == close) {
			x->p++;
			break;
		}
		struct hval item;
		if ((rc = evalue(x, &item, depth + 1)))
			return rc;
		if (push(r, &item))
			return enomem(x);
	}
	size_t n = r->sp - base;
	if (kind == HVAL_MAP && n % 2) {
		x->line = oline;
		x->lstart = olstart;
		return eerr(x, open, "map has a key without a value");
	}
	memset(out, 0, sizeof *out);
	if (!(out->u.items = pop_items(r, base)))
		return enomem(x);
	out->kind = (uint8_t)kind;
	out->len = (uint32_t)(kind == HVAL_MAP ? n / 2 : n);
	return 0;
}

static int evalue(struct ectx *x, struct hval *out, int depth)
{
	int rc;
	if ((rc = eskip(x)))
		return rc;
	if (x->p >= x->e)
		return eend(x, "a value");
	memset(out, 0, sizeof *out);
	unsigned char c = (unsigned char)*x->p;
	char cb[16];
	switch (c) {
	case '{':
		return eseq(x, '}', HVAL_MAP, out, depth);
	case '[':
		return eseq(x, ']', HVAL_ARRAY, out, depth);
	case '(':
		return eseq(x, ')', HVAL_ARRAY, out, depth);
	case ')':
	case ']':
	case '}':
		return eerr(x, x->p, "unexpected '%c'", c);
	case '"':
		return estring(x, out);
	case '#': {
		if (x->p + 1 >= x->e)
			return eend(x, "a value");
		char d = x->p[1];
		if (d == '{')
			return eseq(x, '}', HVAL_ARRAY, out, depth);
		if (d == '_') {
			/* #_ discards the next form */
			if (depth >= MAX_DEPTH)
				return eerr(x, x->p, "values nested deeper than %d levels",
					    MAX_DEPTH);
			struct hval skip;
			x->p += 2;
			if ((rc = evalue(x, &skip, depth + 1)))
				return rc;
			return evalue(x, out, depth + 1);
		}
		if (d == '#') {
			/* ##Inf ##-Inf ##NaN */
			const char *s;
			size_t n;
			x->p += 2;
			if ((rc = etoken(x, &s, &n)))
				return rc;
			out->kind = HVAL_FLOAT;
			if (n == 3 && !memcmp(s, "Inf", 3))
				out->u.d = INFINITY;
			else if (n == 4 && !memcmp(s, "-Inf", 4))
				out->u.d = -INFINITY;
			else if (n == 3 && !memcmp(s, "NaN", 3))
				out->u.d = NAN;
			else
				return eerr(x, s - 2, "unknown symbolic value '##%.*s'",
					    (int)(n > 20 ? 20 : n), s);
			return 0;
		}
		if ((d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z')) {
			/* A tagged element (#inst "...", #jepsen.history.Op{...}): keep the
			 * element, drop the tag. */
			const char *s;
			size_t n;
			const char *tag = x->p;
			x->p++;
			if ((rc = etoken(x, &s, &n)))
				return rc;
			if (depth >= MAX_DEPTH)
				return eerr(x, tag, "values nested deeper than %d levels",
					    MAX_DEPTH);
			return evalue(x, out, depth + 1);
		}
		return eerr(x, x->p, "unsupported dispatch '#%c'",
			    (unsigned char)d >= 0x20 && (unsigned char)d < 0x7f ? d : '?');
	}
	case '\\': {
		/* character literal: \a \newline \space \tab \uXXXX */
		const char *s;
		size_t n;
		const char *at = x->p;
		x->p++;
		if (x->p >= x->e)
			return eend(x, "a character literal");
		if ((rc = etoken(x, &s, &n)))
			return rc;
		if (n == 0) {
			/* \( \" etc.: the delimiter itself is the character */
			if (*x->p == '\n')
				return eerr(x, at, "invalid character literal");
			s = x->p++;
			n = 1;
		}
		char buf[8];
		size_t bl;
		uint32_t cp;
		if (n == 1) {
			buf[0] = s[0];
			bl = 1;
		} else if (n == 7 && !memcmp(s, "newline", 7)) {
			buf[0] = '\n';
			bl = 1;
		} else if (n == 5 && !memcmp(s, "space", 5)) {
			buf[0] = ' ';
			bl = 1;
		} else if (n == 3 && !memcmp(s, "tab", 3)) {
			buf[0] = '\t';
			bl = 1;
		} else if (n == 6 && !memcmp(s, "return", 6)) {
			buf[0] = '\r';
			bl = 1;
		} else if (n == 5 && s[0] == 'u' && !hex4(s + 1, &cp)) {
			bl = put_utf8(buf, cp);
		} else if ((unsigned char)s[0] >= 0x80) {
			memcpy(buf, s, n < 4 ? n : 4);
			bl = n < 4 ? n : 4;
		} else {
			return eerr(x, at, "invalid character literal '\\%.*s'",
				    (int)(n > 20 ? 20 : n), s);
		}
		char *d = arena_strdup(x->r, buf, bl);
		if (!d)
			return enomem(x);
		out->kind = HVAL_STR;
		out->len = (uint32_t)bl;
		out->u.s = d;
		return 0;
	}
	case ':': {
		const char *s;
		size_t n;
		const char *at = x->p;
		x->p++;
		if ((rc = etoken(x, &s, &n)))
			return rc;
		if (n == 0)
			return eerr(x, at, "a ':' with no keyword name");
		const char *d = common_word(s, n);
		if (!d && !(d = arena_strdup(x->r, s, n)))
			return enomem(x);
		out->kind = HVAL_STR;
		out->keyword = 1;
		out->len = (uint32_t)n;
		out->u.s = d;
		return 0;
	}
	default:
		break;
	}
	if (c < 0x20 || c == 0x7f)
		return eerr(x, x->p, "control character (byte 0x%02x) outside a string", c);
	const char *s;
	size_t n;
	if ((rc = etoken(x, &s, &n)))
		return rc;
	if (n == 0)
		return eerr(x, s, "unexpected %s", fmt_char(cb, sizeof cb, c));
	if ((s[0] >= '0' && s[0] <= '9') ||
	    ((s[0] == '-' || s[0] == '+') && n > 1 && s[1] >= '0' && s[1] <= '9'))
		return enumber(x, s, n, out);
	if (n == 3 && !memcmp(s, "nil", 3)) {
		out->kind = HVAL_NULL;
		return 0;
	}
	if (n == 4 && !memcmp(s, "true", 4)) {
		out->kind = HVAL_BOOL;
		out->u.b = 1;
		return 0;
	}
	if (n == 5 && !memcmp(s, "false", 5)) {
		out->kind = HVAL_BOOL;
		return 0;
	}
	/* any other symbol: kept as a string */
	char *d = arena_strdup(x->r, s, n);
	if (!d)
		return enomem(x);
	out->kind = HVAL_STR;
	out->len = (uint32_t)n;
	out->u.s = d;
	return 0;
}

static int is_kw(const struct hval *v, const char *name)
{
	size_t n = strlen(name);
	return v->kind == HVAL_STR && v->len == n && !memcmp(v->u.s, name, n);
}

/* Fill *ev from an EDN op map. */
static int edn_event(struct hreader *r, const struct hval *m, uint64_t line, uint64_t col,
		     struct hevent *ev)
{
	unsigned seen = 0;
	char msg[160];
	event_init(ev, line);
	for (uint32_t i = 0; i < m->len; i++) {
		const struct hval *k = &m->u.items[2 * i], *v = &m->u.items[2 * i + 1];
		if (k->kind != HVAL_STR)
			continue;
		enum field f = field_of(k->u.s, k->len);
		if (f == F_NONE)
			continue;
		if (seen & f)
			return rerr_at(r, line, col, SB_EINVAL, "event has :%s twice",
				       field_name(f));
		seen |= f;
		switch (f) {
		case F_NONE:
			break;
		case F_INDEX:
			if (v->kind != HVAL_INT || v->u.i < 0)
				return rerr_at(r, line, col, SB_EINVAL, "%s",
					       count_msg(msg, sizeof msg, "index", 1, v, ""));
			ev->index = v->u.i;
			break;
		case F_TIME:
			if (v->kind != HVAL_INT || v->u.i < 0)
				return rerr_at(r, line, col, SB_EINVAL, "%s",
					       count_msg(msg, sizeof msg, "time", 1, v, ""));
			ev->time = v->u.i;
			break;
		case F_PROCESS:
			if (v->kind == HVAL_INT && v->u.i >= 0)
				ev->process = v->u.i;
			else if (v->kind == HVAL_STR && v->keyword && is_kw(v, "nemesis"))
				ev->process = HPROC_NEMESIS;
			else
				return rerr_at(r, line, col, SB_EINVAL, "%s",
					       count_msg(msg, sizeof msg, "process", 1, v,
							 " or :nemesis"));
			break;
		case F_TYPE:
			if (v->kind != HVAL_STR)
				return rerr_at(r, line, col, SB_EINVAL,
					       ":type must be a keyword, not %s", kind_name(v));
			if (type_of(v->u.s, v->len, &ev->type))
				return rerr_at(r, line, col, SB_EINVAL,
					       "unknown :type %s%.*s (expected :invoke, :ok, :fail "
					       "or :info)",
					       v->keyword ? ":" : "", (int)(v->len > 40 ? 40 : v->len),
					       v->u.s);
			break;
		case F_F:
			if (v->kind != HVAL_STR)
				return rerr_at(r, line, col, SB_EINVAL,
					       ":f must be a keyword or string, not %s",
					       kind_name(v));
			ev->f = v->u.s;
			break;
		case F_KEY:
			if (v->kind == HVAL_NULL)
				break;
			if (v->kind != HVAL_INT && v->kind != HVAL_BIGINT && v->kind != HVAL_STR)
				return rerr_at(r, line, col, SB_EINVAL,
					       ":key must be a string, keyword or integer, not %s",
					       kind_name(v));
			ev->has_key = 1;
			ev->key = *v;
			break;
		case F_VALUE:
			ev->has_value = 1;
			ev->value = *v;
			break;
		case F_NODE:
			if (v->kind == HVAL_NULL)
				break;
			if (v->kind != HVAL_STR)
				return rerr_at(r, line, col, SB_EINVAL,
					       ":node must be a string, not %s", kind_name(v));
			ev->node = v->u.s;
			break;
		case F_ERROR:
			if (v->kind == HVAL_NULL)
				break;
			if (!(ev->error = error_text(r, v))) {
				rerr_at(r, line, col, SB_ENOMEM, "out of memory");
				return SB_ENOMEM;
			}
			break;
		}
	}
	if ((seen & (F_PROCESS | F_TYPE | F_F)) != (F_PROCESS | F_TYPE | F_F))
		return missing_fields(r, seen, line, col, 1);
	return 1;
}

/* Skip blanks and comments from r->pos, reading more as needed. On return r->pos is at the
 * next significant byte, or at the end with r->eof set. */
static int edn_skip(struct hreader *r)
{
	for (;;) {
		struct ectx x = {r, r->data + r->pos, r->data + r->end, !r->eof, r->line,
				 r->lstart};
		int rc = eskip(&x);
		r->pos = (size_t)(x.p - r->data);
		r->line = x.line;
		r->lstart = x.lstart;
		if (rc < 0)
			return rc;
		if (rc == 0 && r->pos < r->end)
			return 0;
		if (r->eof)
			return 0;
		if (r->end - r->pos > HREADER_MAX_EVENT)
			return too_long(r, r->line);
		if ((rc = refill(r)))
			return rc;
	}
}

static int edn_next(struct hreader *r, struct hevent *ev)
{
	int rc;
	for (;;) {
		if ((rc = edn_skip(r)))
			return rc;
		int at_end = r->pos >= r->end;
		char c = at_end ? 0 : r->data[r->pos];
		switch (r->edn) {
		case EDN_START:
			if (at_end)
				return 0;
			if (c == '[' || c == '(') {
				r->edn = EDN_WRAPPED;
				r->edn_close = c == '[' ? ']' : ')';
				r->pos++;
			} else {
				r->edn = EDN_BARE;
			}
			continue;
		case EDN_AFTER:
			if (at_end)
				return 0;
			return rerr_at(r, r->line, r->off0 + r->pos - r->lstart + 1, SB_EINVAL,
				       "unexpected data after the history's closing '%c'",
				       r->edn_close);
		case EDN_WRAPPED:
			if (at_end)
				return rerr_at(r, r->line, r->off0 + r->pos - r->lstart + 1,
					       SB_EINVAL,
					       "input ends before the history's closing '%c' "
					       "(truncated file?)",
					       r->edn_close);
			if (c == r->edn_close) {
				r->pos++;
				r->edn = EDN_AFTER;
				continue;
			}
			break;
		case EDN_BARE:
			if (at_end)
				return 0;
			break;
		}
		/* One event: parse it, and start over with more data if it was cut short. */
		for (;;) {
			struct ectx x = {r, r->data + r->pos, r->data + r->end, !r->eof, r->line,
					 r->lstart};
			uint64_t line = r->line, col = r->off0 + r->pos - r->lstart + 1;
			struct hval m;
			event_reset(r);
			rc = evalue(&x, &m, 0);
			if (rc == E_MORE) {
				if (r->end - r->pos > HREADER_MAX_EVENT)
					return too_long(r, line);
				if ((rc = refill(r)))
					return rc;
				continue;
			}
			if (rc)
				return rc;
			if (m.kind != HVAL_MAP)
				return rerr_at(r, line, col, SB_EINVAL,
					       "expected an operation map {...}, found %s",
					       kind_name(&m));
			if ((size_t)(x.p - r->data) - r->pos > HREADER_MAX_EVENT)
				return too_long(r, line);
			r->pos = (size_t)(x.p - r->data);
			r->line = x.line;
			r->lstart = x.lstart;
			return edn_event(r, &m, line, col, ev);
		}
	}
}

/* ---- format detection and the public API ----------------------------------------------- */

/* Look at the first significant bytes, reading more if needed, without consuming input. */
static int detect(struct hreader *r)
{
	size_t i = r->pos;
	for (;;) {
		while (i < r->end) {
			unsigned char c = (unsigned char)r->data[i];
			if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
				i++;
				continue;
			}
			if (c == ';' || c == '[' || c == '(' || c == '#') {
				r->fmt = HFMT_EDN;
				return 0;
			}
			if (c != '{') {
				/* neither: let the JSON Lines reader name the bad byte */
				r->fmt = HFMT_JSONL;
				return 0;
			}
			/* '{': JSON if a quoted name or '}' follows, EDN otherwise */
			size_t k = i + 1;
			while (k < r->end && (r->data[k] == ' ' || r->data[k] == '\t' ||
					      r->data[k] == '\r' || r->data[k] == '\n'))
				k++;
			if (k < r->end) {
				r->fmt = (r->data[k] == '"' || r->data[k] == '}') ? HFMT_JSONL
										  : HFMT_EDN;
				return 0;
			}
			break;
		}
		if (r->eof || r->end - r->pos > HREADER_MAX_EVENT) {
			r->fmt = HFMT_JSONL;
			return 0;
		}
		size_t off = i - r->pos;
		int rc = refill(r);
		if (rc)
			return rc;
		i = r->pos + off;
	}
}

static int reader_new(struct hreader **out, const char *name, enum hformat fmt, char *err,
		      size_t errlen)
{
	struct hreader *r = calloc(1, sizeof *r);
	if (!r || !(r->name = strdup(name)) || !(r->errmsg = calloc(1, 512))) {
		if (r)
			free(r->name);
		free(r);
		return err_set(err, errlen, SB_ENOMEM, "%s: out of memory", name);
	}
	if (fmt != HFMT_AUTO && fmt != HFMT_JSONL && fmt != HFMT_EDN) {
		free(r->errmsg);
		free(r->name);
		free(r);
		return err_set(err, errlen, SB_EINVAL, "%s: unknown history format %d", name,
			       (int)fmt);
	}
	r->fd = -1;
	r->fmt = fmt;
	r->line = 1;
	r->probe = READ_CHUNK / 2;
	*out = r;
	return 0;
}

int hreader_open(struct hreader **out, const char *path, enum hformat fmt, char *err,
		 size_t errlen)
{
	struct hreader *r = NULL;
	int rc;
	*out = NULL;
	int std = !strcmp(path, "-");
	if ((rc = reader_new(&r, std ? "<stdin>" : path, fmt, err, errlen)))
		return rc;
	if (std) {
		r->fd = 0;
	} else {
		r->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (r->fd < 0) {
			rc = err_set(err, errlen, errno == ENOENT ? SB_EINVAL : SB_EIO,
				     "open %s: %s", path, strerror(errno));
			goto fail;
		}
		r->own_fd = 1;
		struct stat st;
		if (fstat(r->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			rc = err_set(err, errlen, SB_EINVAL, "open %s: is a directory", path);
			goto fail;
		}
	}
	struct stat st;
	if (fstat(r->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		r->size_hint = (uint64_t)st.st_size;
	r->cap = READ_CHUNK * 2;
	if (!(r->buf = buf_alloc(r, r->cap))) {
		rc = err_set(err, errlen, SB_ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	r->data = r->buf;
	*out = r;
	return 0;
fail:
	hreader_close(r);
	return rc;
}

int hreader_open_mem(struct hreader **out, const char *buf, size_t len, const char *name,
		     enum hformat fmt, char *err, size_t errlen)
{
	struct hreader *r = NULL;
	int rc;
	*out = NULL;
	if ((rc = reader_new(&r, name ? name : "<memory>", fmt, err, errlen)))
		return rc;
	r->data = buf ? buf : "";
	r->end = buf ? len : 0;
	r->eof = 1;
	*out = r;
	return 0;
}

uint64_t hreader_size(const struct hreader *r)
{
	return r->size_hint;
}

enum hformat hreader_format(const struct hreader *r)
{
	return r->fmt;
}

/* Skip a UTF-8 byte order mark at the very start of the input. */
static int skip_bom(struct hreader *r)
{
	while (r->end - r->pos < 3 && !r->eof) {
		int rc = refill(r);
		if (rc)
			return rc;
	}
	if (r->end - r->pos >= 3 && !memcmp(r->data + r->pos, "\xef\xbb\xbf", 3)) {
		r->pos += 3;
		r->scan = r->pos;
		r->lstart = r->off0 + r->pos;
	}
	return 0;
}

void hreader_set_deadline(struct hreader *r, int64_t deadline_ns)
{
	r->deadline_ns = deadline_ns;
}

void hreader_set_line(struct hreader *r, uint64_t line)
{
	r->line = line ? line : 1;
}

int hreader_next(struct hreader *r, struct hevent *ev, char *err, size_t errlen)
{
	int rc;
	if (r->failed)
		goto fail;
	if (!r->started) {
		r->started = 1;
		if ((rc = skip_bom(r)))
			goto fail;
	}
	if (r->fmt == HFMT_AUTO && (rc = detect(r)))
		goto fail;
	rc = r->fmt == HFMT_EDN ? edn_next(r, ev) : jsonl_next(r, ev);
	if (rc >= 0)
		return rc;
fail:
	err_set(err, errlen, r->failed, "%s", r->errmsg);
	return r->failed;
}

int hval_parse_json(const char *text, size_t n, struct hval **out, char *err, size_t errlen)
{
	struct hreader *r = NULL;
	*out = NULL;
	int rc = reader_new(&r, "value", HFMT_JSONL, err, errlen);
	if (rc)
		return rc;
	struct jctx j = {r, text, text + n, 1};
	struct hval v;
	const char *p = jws(text, j.e);
	while (p < j.e && *p == '\n')
		p = jws(p + 1, j.e);
	if (!(rc = jvalue(&j, &p, &v, 0))) {
		p = jws(p, j.e);
		while (p < j.e && *p == '\n')
			p = jws(p + 1, j.e);
		if (p < j.e)
			rc = junexpected(&j, p, "the end after the value");
	}
	if (rc) {
		/* the reader says "value:1:COL: what"; a value has no lines */
		unsigned long long col = 0;
		int skip = 0;
		if (sscanf(r->errmsg, "value:%*u:%llu: %n", &col, &skip) < 1 || skip <= 0)
			skip = 0;
		if (r->trunc)
			rc = err_set(err, errlen, rc, "column %zu: the value ends before it is "
				     "complete", n + 1);
		else
			rc = err_set(err, errlen, rc, "column %llu: %s", col, r->errmsg + skip);
	} else if (!(*out = hval_copy(&v))) {
		rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
	}
	hreader_close(r);
	return rc;
}

void hreader_close(struct hreader *r)
{
	if (!r)
		return;
	if (r->own_fd && r->fd >= 0)
		close(r->fd);
	buf_free(r);
	free(r->stack);
	arena_free(&r->arena);
	free(r->errmsg);
	free(r->name);
	free(r);
}

const char *htype_name(enum htype t)
{
	switch (t) {
	case HTYPE_INVOKE: return "invoke";
	case HTYPE_OK: return "ok";
	case HTYPE_FAIL: return "fail";
	case HTYPE_INFO: return "info";
	}
	return "?";
}
