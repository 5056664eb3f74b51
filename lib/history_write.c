/* history — values (equality, hashing, JSON output) and the append-and-flush writer.
 *
 * The writer formats a whole event into a buffer and hands it to the kernel with write(2)
 * under a mutex, so a line is never interleaved with another thread's and a crash of the
 * process after hwriter_append() returned loses nothing. A failed or short write is undone
 * with ftruncate() so the file keeps only whole lines, and the index is not consumed.
 */
#include "lib/history.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/hash.h"
#include "lib/fileutil.h"
#include "lib/sbuf.h"

/* ---- a growable output buffer ------------------------------------------------------------ */

struct obuf {
	char *p;
	size_t len, cap;
	size_t limit; /* stop storing past this (hval_format); 0 = unlimited */
	size_t stored; /* bytes actually in p (< len only when limit cut it) */
	int oom;
	int fixed; /* p is the caller's buffer of cap bytes: never grow, count the overflow */
};

static void ob_reserve(struct obuf *b, size_t n)
{
	if (b->oom || b->len + n <= b->cap)
		return;
	if (b->fixed) {
		b->oom = 1;
		return;
	}
	size_t nc = b->cap ? b->cap : 256;
	while (nc < b->len + n)
		nc *= 2;
	char *np = realloc(b->p, nc);
	if (!np) {
		b->oom = 1;
		return;
	}
	b->p = np;
	b->cap = nc;
}

static void ob_put(struct obuf *b, const char *s, size_t n)
{
	if (b->limit && b->len >= b->limit) {
		b->len += n; /* count only: hval_format reports the needed length */
		return;
	}
	ob_reserve(b, n);
	if (b->oom) {
		b->len += n;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->stored = b->len;
}

static void ob_str(struct obuf *b, const char *s)
{
	ob_put(b, s, strlen(s));
}

static void ob_i64(struct obuf *b, int64_t v)
{
	char t[24];
	char *e = t + sizeof t, *p = e;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	ob_put(b, p, (size_t)(e - p));
}

static void ob_double(struct obuf *b, double d)
{
	char t[40];
	if (!isfinite(d)) {
		ob_str(b, "null"); /* JSON has no NaN or infinity */
		return;
	}
	int n = json_format_double(t, sizeof t - 3, d);
	/* keep it a float when read back */
	if (!strpbrk(t, ".eEn"))
		t[n++] = '.', t[n++] = '0', t[n] = '\0';
	ob_put(b, t, (size_t)n);
}

static void ob_put_cb(void *ctx, const char *p, size_t n)
{
	ob_put(ctx, p, n);
}

static void ob_jstring(struct obuf *b, const char *s, size_t len)
{
	json_quote(s, len, ob_put_cb, b);
}

static void ob_value(struct obuf *b, const struct hval *v, int depth)
{
	if (depth > 1000) {
		ob_str(b, "null");
		return;
	}
	switch (v->kind) {
	case HVAL_NULL:
		ob_str(b, "null");
		break;
	case HVAL_BOOL:
		ob_str(b, v->u.b ? "true" : "false");
		break;
	case HVAL_INT:
		ob_i64(b, v->u.i);
		break;
	case HVAL_FLOAT:
		ob_double(b, v->u.d);
		break;
	case HVAL_BIGINT:
		ob_put(b, v->u.s, v->len);
		break;
	case HVAL_STR:
		ob_jstring(b, v->u.s, v->len);
		break;
	case HVAL_ARRAY:
		ob_put(b, "[", 1);
		for (uint32_t i = 0; i < v->len; i++) {
			if (i)
				ob_put(b, ",", 1);
			ob_value(b, &v->u.items[i], depth + 1);
			if (b->limit && b->len > b->limit)
				break;
		}
		ob_put(b, "]", 1);
		break;
	case HVAL_MAP:
		ob_put(b, "{", 1);
		for (uint32_t i = 0; i < v->len; i++) {
			const struct hval *k = &v->u.items[2 * i];
			if (i)
				ob_put(b, ",", 1);
			/* JSON member names are strings: other keys are written as their JSON */
			if (k->kind == HVAL_STR) {
				ob_value(b, k, depth + 1);
			} else {
				struct obuf kb = {0};
				ob_value(&kb, k, depth + 1);
				ob_jstring(b, kb.p ? kb.p : "", kb.len);
				free(kb.p);
			}
			ob_put(b, ":", 1);
			ob_value(b, &v->u.items[2 * i + 1], depth + 1);
			if (b->limit && b->len > b->limit)
				break;
		}
		ob_put(b, "}", 1);
		break;
	default:
		ob_str(b, "null");
	}
}

/* ---- values ------------------------------------------------------------------------------ */

/* An integral double that fits int64_t, as that integer. */
static int as_int(double d, int64_t *out)
{
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != floor(d))
		return 0;
	*out = (int64_t)d;
	return 1;
}

int hval_dbl_integer(double d, int64_t *i, char *buf, size_t n)
{
	if (as_int(d, i))
		return 1;
	if (!isfinite(d) || d != floor(d) || n < HVAL_DBL_TEXT)
		return 0;
	/* glibc prints a double's exact decimal value: an integral one is all digits */
	snprintf(buf, n, "%.0f", d);
	return 2;
}

static int is_num(const struct hval *v)
{
	return v->kind == HVAL_INT || v->kind == HVAL_FLOAT || v->kind == HVAL_BIGINT;
}

/* Numeric equality: exact for integers; a double equals an integer it is exactly. */
static int num_equal(const struct hval *a, const struct hval *b)
{
	if (a->kind == HVAL_FLOAT && b->kind != HVAL_FLOAT) {
		const struct hval *t = a;
		a = b;
		b = t;
	}
	/* now a is INT or BIGINT whenever one of the two is */
	switch (a->kind) {
	case HVAL_INT: {
		int64_t i;
		if (b->kind == HVAL_INT)
			return a->u.i == b->u.i;
		return b->kind == HVAL_FLOAT && as_int(b->u.d, &i) && i == a->u.i;
	}
	case HVAL_BIGINT: {
		if (b->kind == HVAL_BIGINT)
			return a->len == b->len && !memcmp(a->u.s, b->u.s, a->len);
		if (b->kind != HVAL_FLOAT)
			return 0;
		char t[HVAL_DBL_TEXT];
		int64_t i;
		return hval_dbl_integer(b->u.d, &i, t, sizeof t) == 2 && strlen(t) == a->len &&
		       !memcmp(t, a->u.s, a->len);
	}
	default:
		return a->u.d == b->u.d;
	}
}

int hval_equal(const struct hval *a, const struct hval *b)
{
	if (is_num(a) && is_num(b))
		return num_equal(a, b);
	if (a->kind != b->kind)
		return 0;
	switch (a->kind) {
	case HVAL_NULL:
		return 1;
	case HVAL_BOOL:
		return !a->u.b == !b->u.b;
	case HVAL_STR:
		return a->len == b->len && !memcmp(a->u.s, b->u.s, a->len);
	case HVAL_ARRAY:
		if (a->len != b->len)
			return 0;
		for (uint32_t i = 0; i < a->len; i++)
			if (!hval_equal(&a->u.items[i], &b->u.items[i]))
				return 0;
		return 1;
	case HVAL_MAP:
		/* Order matters here: maps in histories are written by one program. */
		if (a->len != b->len)
			return 0;
		for (uint32_t i = 0; i < 2 * a->len; i++)
			if (!hval_equal(&a->u.items[i], &b->u.items[i]))
				return 0;
		return 1;
	default:
		return 0;
	}
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
}

uint64_t hval_hash(const struct hval *v)
{
	uint64_t h = 0;
	switch (v->kind) {
	case HVAL_NULL:
		return mix(1, 0);
	case HVAL_BOOL:
		return mix(2, (uint64_t)!!v->u.b);
	case HVAL_INT:
		return mix(3, (uint64_t)v->u.i);
	case HVAL_FLOAT: {
		/* equal to the integer it is, if it is one */
		int64_t i;
		char t[HVAL_DBL_TEXT];
		switch (hval_dbl_integer(v->u.d, &i, t, sizeof t)) {
		case 1:
			return mix(3, (uint64_t)i);
		case 2:
			return mix(8, hash_fnv64(HASH_FNV64_INIT, t, strlen(t)));
		default:
			break;
		}
		double d = v->u.d == 0 ? 0.0 : v->u.d;
		uint64_t bits;
		memcpy(&bits, &d, sizeof bits);
		return mix(4, bits);
	}
	case HVAL_BIGINT:
		return mix(8, hash_fnv64(HASH_FNV64_INIT, v->u.s, v->len));
	case HVAL_STR:
		return mix(5, hash_fnv64(HASH_FNV64_INIT, v->u.s, v->len));
	case HVAL_ARRAY:
		h = mix(6, v->len);
		for (uint32_t i = 0; i < v->len; i++)
			h = mix(h, hval_hash(&v->u.items[i]));
		return h;
	case HVAL_MAP:
		h = mix(7, v->len);
		for (uint32_t i = 0; i < 2 * v->len; i++)
			h = mix(h, hval_hash(&v->u.items[i]));
		return h;
	default:
		return 0;
	}
}

/* ---- owned trees --------------------------------------------------------------------------- */

static void free_inner(struct hval *v)
{
	if (v->kind == HVAL_STR || v->kind == HVAL_BIGINT) {
		free((char *)v->u.s);
	} else if (v->kind == HVAL_ARRAY || v->kind == HVAL_MAP) {
		size_t n = v->kind == HVAL_MAP ? 2 * (size_t)v->len : v->len;
		for (size_t i = 0; i < n; i++)
			free_inner(&v->u.items[i]);
		free(v->u.items);
	}
}

/* Copy what v points to into dst (whose scalar fields are already v's). */
static int copy_inner(struct hval *dst, const struct hval *v)
{
	if (v->kind == HVAL_STR || v->kind == HVAL_BIGINT) {
		char *s = malloc((size_t)v->len + 1);
		if (!s)
			return -1;
		memcpy(s, v->u.s, v->len);
		s[v->len] = '\0';
		dst->u.s = s;
	} else if (v->kind == HVAL_ARRAY || v->kind == HVAL_MAP) {
		size_t n = v->kind == HVAL_MAP ? 2 * (size_t)v->len : v->len;
		dst->u.items = calloc(n ? n : 1, sizeof *dst->u.items);
		if (!dst->u.items)
			return -1;
		for (size_t i = 0; i < n; i++) {
			dst->u.items[i] = v->u.items[i];
			if (copy_inner(&dst->u.items[i], &v->u.items[i])) {
				/* items past i hold the source's pointers: free only the copies */
				dst->len = (uint32_t)(v->kind == HVAL_MAP ? i / 2 : i);
				for (size_t j = 0; j < i; j++)
					free_inner(&dst->u.items[j]);
				free(dst->u.items);
				return -1;
			}
		}
	}
	return 0;
}

struct hval *hval_copy(const struct hval *v)
{
	struct hval *c = malloc(sizeof *c);
	if (!c)
		return NULL;
	*c = *v;
	if (copy_inner(c, v)) {
		free(c);
		return NULL;
	}
	return c;
}

void hval_free(struct hval *v)
{
	if (!v)
		return;
	free_inner(v);
	free(v);
}

static int ob_to_file(struct obuf *b, FILE *f)
{
	int rc = 0;
	if (b->oom || (b->len && fwrite(b->p, 1, b->len, f) != b->len))
		rc = SB_EIO;
	free(b->p);
	return rc;
}

int hval_write_json(FILE *f, const struct hval *v)
{
	struct obuf b = {0};
	ob_value(&b, v, 0);
	return ob_to_file(&b, f);
}

int json_write_string(FILE *f, const char *s, size_t len)
{
	struct obuf b = {0};
	ob_jstring(&b, s, len);
	return ob_to_file(&b, f);
}

size_t hval_format(char *buf, size_t n, const struct hval *v)
{
	struct obuf b = {0};
	/* Keep a little more than fits, to know whether to add "...". */
	b.limit = n + 16;
	ob_value(&b, v, 0);
	size_t need = b.len;
	if (buf && n) {
		if (b.oom) {
			snprintf(buf, n, "...");
		} else if (need < n) {
			memcpy(buf, b.p, need);
			buf[need] = '\0';
		} else {
			size_t keep = n - 1;
			size_t have = b.stored < keep ? b.stored : keep;
			memcpy(buf, b.p, have);
			buf[have] = '\0';
			if (keep >= 3)
				memcpy(buf + keep - 3, "...", 4);
		}
	}
	free(b.p);
	return need;
}

/* ---- events as JSON lines ---------------------------------------------------------------- */

static void ob_event(struct obuf *b, const struct hevent *ev)
{
	ob_str(b, "{");
	if (ev->index >= 0) { /* -1: the line it was read from had none */
		ob_str(b, "\"index\":");
		ob_i64(b, ev->index);
		ob_str(b, ",");
	}
	if (ev->time >= 0) {
		ob_str(b, "\"time\":");
		ob_i64(b, ev->time);
		ob_str(b, ",");
	}
	ob_str(b, "\"process\":");
	if (ev->process == HPROC_NEMESIS)
		ob_str(b, "\"nemesis\"");
	else
		ob_i64(b, ev->process);
	ob_str(b, ",\"type\":\"");
	ob_str(b, htype_name(ev->type));
	ob_str(b, "\",\"f\":");
	ob_jstring(b, ev->f ? ev->f : "", ev->f ? strlen(ev->f) : 0);
	if (ev->has_key) {
		ob_str(b, ",\"key\":");
		ob_value(b, &ev->key, 0);
	}
	if (ev->has_value) {
		ob_str(b, ",\"value\":");
		ob_value(b, &ev->value, 0);
	}
	if (ev->node) {
		ob_str(b, ",\"node\":");
		ob_jstring(b, ev->node, strlen(ev->node));
	}
	if (ev->error) {
		ob_str(b, ",\"error\":");
		ob_jstring(b, ev->error, strlen(ev->error));
	}
	ob_str(b, "}\n");
}

size_t hevent_format(char *buf, size_t n, const struct hevent *ev)
{
	struct obuf b = {.p = buf, .cap = buf ? n : 0, .fixed = 1};
	ob_event(&b, ev);
	return b.len;
}

/* ---- the writer -------------------------------------------------------------------------- */

struct hwriter {
	pthread_mutex_t mu;
	int fd;
	char *path;
	int64_t next;   /* index of the next event */
	off_t size;     /* bytes of whole lines written */
	int first_err;  /* first error seen, returned by close */
	char first_msg[256];
	struct obuf line;
};

static int io_error(struct hwriter *w, char *err, size_t errlen, const char *what, int e)
{
	char msg[sizeof w->first_msg];
	if (e == ENOSPC || e == EDQUOT)
		snprintf(msg, sizeof msg, "%s %s: disk full (%s); events up to index %lld are "
			 "in the file", what, w->path, strerror(e), (long long)w->next - 1);
	else
		snprintf(msg, sizeof msg, "%s %s: %s", what, w->path, strerror(e));
	if (!w->first_err) {
		w->first_err = SB_EIO;
		memcpy(w->first_msg, msg, sizeof msg);
	}
	return err_set(err, errlen, SB_EIO, "%s", msg);
}

int hwriter_open(struct hwriter **out, const char *path, char *err, size_t errlen)
{
	*out = NULL;
	struct hwriter *w = calloc(1, sizeof *w);
	if (!w || !(w->path = strdup(path))) {
		free(w);
		return err_set(err, errlen, SB_ENOMEM, "history %s: out of memory", path);
	}
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		int rc = err_set(err, errlen, SB_EIO, "create history %s: %s", path,
				 strerror(errno));
		free(w->path);
		free(w);
		return rc;
	}
	pthread_mutex_init(&w->mu, NULL);
	*out = w;
	return 0;
}

int hwriter_append(struct hwriter *w, struct hevent *ev, char *err, size_t errlen)
{
	int rc = 0;
	/* Refuse what the reader would refuse, so the journal always reads back. */
	if (!ev->f)
		return err_set(err, errlen, SB_EINVAL, "history %s: event without f", w->path);
	if (ev->process < 0 && ev->process != HPROC_NEMESIS)
		return err_set(err, errlen, SB_EINVAL, "history %s: event with process %lld",
			       w->path, (long long)ev->process);
	if ((unsigned)ev->type > HTYPE_INFO)
		return err_set(err, errlen, SB_EINVAL, "history %s: event with unknown type %d",
			       w->path, (int)ev->type);
	if (ev->has_key && ev->key.kind != HVAL_INT && ev->key.kind != HVAL_BIGINT &&
	    ev->key.kind != HVAL_STR)
		return err_set(err, errlen, SB_EINVAL,
			       "history %s: a key must be an integer or a string", w->path);
	pthread_mutex_lock(&w->mu);
	ev->index = w->next;
	w->line.len = 0;
	ob_event(&w->line, ev);
	if (w->line.oom) {
		w->line.oom = 0;
		rc = err_set(err, errlen, SB_ENOMEM, "history %s: out of memory formatting event %lld",
			     w->path, (long long)ev->index);
		goto out;
	}
	size_t done = 0;
	int e = fd_write_all(w->fd, w->line.p, w->line.len, &done);
	if (e) {
		/* Keep only whole lines: drop the part of this one that got out. */
		if (done && ftruncate(w->fd, w->size) == 0)
			(void)lseek(w->fd, w->size, SEEK_SET);
		rc = io_error(w, err, errlen, "append to", e);
		goto out;
	}
	w->size += (off_t)done;
	w->next++;
out:
	pthread_mutex_unlock(&w->mu);
	return rc;
}

int hwriter_sync(struct hwriter *w, char *err, size_t errlen)
{
	int rc = 0;
	pthread_mutex_lock(&w->mu);
	if (fsync(w->fd) != 0)
		rc = io_error(w, err, errlen, "fsync", errno);
	pthread_mutex_unlock(&w->mu);
	return rc;
}

int hwriter_close(struct hwriter *w, char *err, size_t errlen)
{
	if (!w)
		return 0;
	int rc = 0;
	if (fsync(w->fd) != 0 && errno != EINVAL)
		io_error(w, NULL, 0, "fsync", errno);
	if (close(w->fd) != 0)
		io_error(w, NULL, 0, "close", errno);
	if (w->first_err)
		rc = err_set(err, errlen, w->first_err, "%s", w->first_msg);
	pthread_mutex_destroy(&w->mu);
	free(w->line.p);
	free(w->path);
	free(w);
	return rc;
}
