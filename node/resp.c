#include "node/resp.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/err.h"

/* Find "\r\n" in p[0..n); returns the offset of '\r' or -1. */
static long find_crlf(const char *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (p[i] == '\r' && p[i + 1] == '\n')
			return (long)i;
	return -1;
}

/* Parse a decimal integer that fills p[0..n) exactly (optional leading '-'); -1 if it is not
 * one or does not fit a long long (checked before each step: overflow is undefined). */
static int parse_num(const char *p, size_t n, long long *out)
{
	if (n == 0 || n > 19)
		return -1;
	int neg = 0;
	size_t i = 0;
	if (p[0] == '-') {
		neg = 1;
		i = 1;
		if (n == 1)
			return -1;
	}
	long long v = 0;
	for (; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		int d = p[i] - '0';
		if (v > (LLONG_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = neg ? -v : v;
	return 0;
}

static int parse_inline(const char *buf, size_t len, struct resp_cmd *cmd, size_t *consumed,
			char *err, size_t errlen)
{
	const char *nl = memchr(buf, '\n', len);
	if (!nl) {
		if (len >= RESP_MAX_REQUEST)
			return err_set(err, errlen, SB_ELIMIT, "inline request longer than %u bytes",
				       RESP_MAX_REQUEST);
		return 0;
	}
	size_t linelen = (size_t)(nl - buf);
	if (linelen + 1 > RESP_MAX_REQUEST)
		return err_set(err, errlen, SB_ELIMIT, "inline request longer than %u bytes",
			       RESP_MAX_REQUEST);
	size_t end = linelen;
	if (end > 0 && buf[end - 1] == '\r')
		end--;
	cmd->argc = 0;
	size_t i = 0;
	while (i < end) {
		while (i < end && (buf[i] == ' ' || buf[i] == '\t'))
			i++;
		if (i == end)
			break;
		size_t s = i;
		while (i < end && buf[i] != ' ' && buf[i] != '\t')
			i++;
		if (cmd->argc == RESP_MAX_ARGS)
			return err_set(err, errlen, SB_ELIMIT, "more than %d arguments", RESP_MAX_ARGS);
		cmd->argv[cmd->argc].p = buf + s;
		cmd->argv[cmd->argc].len = i - s;
		cmd->argc++;
	}
	*consumed = linelen + 1;
	return 1;
}

int resp_parse_request(const char *buf, size_t len, struct resp_cmd *cmd, size_t *consumed, char *err,
	       size_t errlen)
{
	if (len == 0)
		return 0;
	if (buf[0] != '*')
		return parse_inline(buf, len, cmd, consumed, err, errlen);

	size_t limit = len < RESP_MAX_REQUEST ? len : RESP_MAX_REQUEST;
	long e = find_crlf(buf, limit);
	if (e < 0)
		goto incomplete;
	long long n;
	if (parse_num(buf + 1, (size_t)e - 1, &n) < 0)
		return err_set(err, errlen, SB_EINVAL, "invalid multibulk length");
	if (n > RESP_MAX_ARGS)
		return err_set(err, errlen, SB_ELIMIT, "more than %d arguments", RESP_MAX_ARGS);
	size_t pos = (size_t)e + 2;
	cmd->argc = 0;
	for (long long k = 0; k < n; k++) {
		if (pos >= limit)
			goto incomplete;
		if (buf[pos] != '$')
			return err_set(err, errlen, SB_EINVAL, "expected '$', got '%c' at byte %zu",
				       (buf[pos] >= 32 && buf[pos] < 127) ? buf[pos] : '?', pos);
		e = find_crlf(buf + pos, limit - pos);
		if (e < 0)
			goto incomplete;
		long long bl;
		if (parse_num(buf + pos + 1, (size_t)e - 1, &bl) < 0 || bl < 0)
			return err_set(err, errlen, SB_EINVAL, "invalid bulk length at byte %zu", pos);
		if ((unsigned long long)bl > RESP_MAX_REQUEST)
			return err_set(err, errlen, SB_ELIMIT, "bulk string longer than %u bytes",
				       RESP_MAX_REQUEST);
		pos += (size_t)e + 2;
		if (limit - pos < (size_t)bl + 2)
			goto incomplete;
		if (buf[pos + (size_t)bl] != '\r' || buf[pos + (size_t)bl + 1] != '\n')
			return err_set(err, errlen, SB_EINVAL, "bulk string not followed by CRLF at byte %zu",
				       pos + (size_t)bl);
		cmd->argv[cmd->argc].p = buf + pos;
		cmd->argv[cmd->argc].len = (size_t)bl;
		cmd->argc++;
		pos += (size_t)bl + 2;
	}
	*consumed = pos;
	return 1;

incomplete:
	if (len >= RESP_MAX_REQUEST)
		return err_set(err, errlen, SB_ELIMIT, "request longer than %u bytes", RESP_MAX_REQUEST);
	return 0;
}

int resp_arg_is(const struct resp_arg *a, const char *word)
{
	size_t n = strlen(word);
	return a->len == n && strncasecmp(a->p, word, n) == 0;
}

void resp_out_free(struct resp_out *o)
{
	free(o->p);
	o->p = NULL;
	o->len = o->cap = 0;
	o->oom = 0;
}

void resp_out_consume(struct resp_out *o, size_t n)
{
	if (n >= o->len) {
		o->len = 0;
		return;
	}
	memmove(o->p, o->p + n, o->len - n);
	o->len -= n;
}

void resp_put_raw(struct resp_out *o, const void *p, size_t n)
{
	if (o->oom)
		return;
	if (o->cap - o->len < n) {
		size_t cap = o->cap ? o->cap : 256;
		while (cap - o->len < n) {
			if (cap > ((size_t)-1) / 2) {
				o->oom = 1;
				return;
			}
			cap *= 2;
		}
		char *q = realloc(o->p, cap);
		if (!q) {
			o->oom = 1;
			return;
		}
		o->p = q;
		o->cap = cap;
	}
	if (n)
		memcpy(o->p + o->len, p, n);
	o->len += n;
}

static void put_line(struct resp_out *o, char kind, const char *s, size_t n)
{
	resp_put_raw(o, &kind, 1);
	size_t start = o->len;
	resp_put_raw(o, s, n);
	if (!o->oom)
		for (size_t i = start; i < o->len; i++)
			if (o->p[i] == '\r' || o->p[i] == '\n')
				o->p[i] = ' ';
	resp_put_raw(o, "\r\n", 2);
}

void resp_put_simple(struct resp_out *o, const char *s)
{
	put_line(o, '+', s, strlen(s));
}

void resp_put_error(struct resp_out *o, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof msg)
		n = sizeof msg - 1;
	put_line(o, '-', msg, (size_t)n);
}

void resp_put_int(struct resp_out *o, int64_t v)
{
	char b[32];
	int n = snprintf(b, sizeof b, ":%lld\r\n", (long long)v);
	resp_put_raw(o, b, (size_t)n);
}

void resp_put_bulk(struct resp_out *o, const void *p, size_t n)
{
	char b[32];
	int h = snprintf(b, sizeof b, "$%zu\r\n", n);
	resp_put_raw(o, b, (size_t)h);
	resp_put_raw(o, p, n);
	resp_put_raw(o, "\r\n", 2);
}

void resp_put_null(struct resp_out *o)
{
	resp_put_raw(o, "$-1\r\n", 5);
}

void resp_put_array(struct resp_out *o, size_t n)
{
	char b[32];
	int h = snprintf(b, sizeof b, "*%zu\r\n", n);
	resp_put_raw(o, b, (size_t)h);
}
