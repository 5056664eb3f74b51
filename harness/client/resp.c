#include "harness/client/resp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/err.h"

/* A whole reply (all nested bulk strings together) may not exceed this many bytes. */
#define RESP_MAX_REPLY (64u * 1024 * 1024)

const char *resp_type_name(enum resp_type t)
{
	switch (t) {
	case RESP_SIMPLE:
		return "simple string";
	case RESP_ERROR:
		return "error";
	case RESP_INTEGER:
		return "integer";
	case RESP_BULK:
		return "bulk string";
	case RESP_NIL:
		return "nil";
	case RESP_ARRAY:
		return "array";
	}
	return "unknown";
}

static void value_clear(struct resp_value *v)
{
	if (!v)
		return;
	free(v->str);
	for (size_t i = 0; i < v->nelems; i++)
		value_clear(&v->elems[i]);
	free(v->elems);
}

void resp_value_free(struct resp_value *v)
{
	if (!v)
		return;
	value_clear(v);
	free(v);
}

/* ---- parser ---------------------------------------------------------------------------- */

/* Find the end of the line starting at pos: sets *eol to the index of its '\r'. */
static int find_line(const char *buf, size_t len, size_t pos, size_t *eol, char *err,
		     size_t errlen)
{
	size_t limit = len - pos;
	if (limit > RESP_MAX_LINE)
		limit = RESP_MAX_LINE;
	for (size_t i = 0; i + 1 < limit; i++) {
		if (buf[pos + i] == '\r' && buf[pos + i + 1] == '\n') {
			*eol = pos + i;
			return 0;
		}
		if (buf[pos + i] == '\n')
			return err_set(err, errlen, SB_EINVAL,
				       "offset %zu: line feed without carriage return", pos + i);
	}
	if (len - pos >= RESP_MAX_LINE)
		return err_set(err, errlen, SB_EINVAL, "offset %zu: line longer than %u bytes",
			       pos, RESP_MAX_LINE);
	return RESP_NEED_MORE;
}

static int parse_ll(const char *s, size_t n, long long *out, size_t off, char *err, size_t errlen)
{
	bool neg = false;
	size_t i = 0;
	if (n > 0 && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		return err_set(err, errlen, SB_EINVAL, "offset %zu: empty integer", off);
	unsigned long long v = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return err_set(err, errlen, SB_EINVAL,
				       "offset %zu: bad character 0x%02x in integer", off + i,
				       (unsigned char)s[i]);
		unsigned d = (unsigned)(s[i] - '0');
		if (v > ((unsigned long long)LLONG_MAX + 1 - d) / 10)
			return err_set(err, errlen, SB_EINVAL, "offset %zu: integer overflow", off);
		v = v * 10 + d;
	}
	if (!neg && v > (unsigned long long)LLONG_MAX)
		return err_set(err, errlen, SB_EINVAL, "offset %zu: integer overflow", off);
	*out = neg ? (long long)(0 - v) : (long long)v;
	return 0;
}

static char *dup_bytes(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Parse one value at *pos. With v == NULL only checks that a whole, valid reply is present
 * (no allocation); with v != NULL builds it (the bytes were already checked). `total` counts
 * payload bytes against RESP_MAX_REPLY. */
static int parse_value(const char *buf, size_t len, size_t *pos, int depth, size_t *total,
		       struct resp_value *v, char *err, size_t errlen)
{
	if (*pos >= len)
		return RESP_NEED_MORE;
	size_t start = *pos;
	char tag = buf[start];
	size_t eol = 0;
	int rc = find_line(buf, len, start + 1, &eol, err, errlen);
	if (rc)
		return rc;
	const char *line = buf + start + 1;
	size_t n = eol - start - 1;
	size_t next = eol + 2;
	long long num = 0;

	switch (tag) {
	case '+':
	case '-':
		*total += n;
		if (*total > RESP_MAX_REPLY)
			goto too_big;
		if (v) {
			v->type = tag == '+' ? RESP_SIMPLE : RESP_ERROR;
			if (!(v->str = dup_bytes(line, n)))
				return err_set(err, errlen, SB_ENOMEM, "out of memory");
			v->len = n;
		}
		*pos = next;
		return 0;
	case ':':
		if ((rc = parse_ll(line, n, &num, start + 1, err, errlen)))
			return rc;
		if (v) {
			v->type = RESP_INTEGER;
			v->integer = num;
		}
		*pos = next;
		return 0;
	case '$':
		if ((rc = parse_ll(line, n, &num, start + 1, err, errlen)))
			return rc;
		if (num == -1) {
			if (v)
				v->type = RESP_NIL;
			*pos = next;
			return 0;
		}
		if (num < 0 || (unsigned long long)num > RESP_MAX_BULK)
			return err_set(err, errlen, SB_EINVAL,
				       "offset %zu: bulk length %lld out of range (0..%u)", start,
				       num, RESP_MAX_BULK);
		*total += (size_t)num;
		if (*total > RESP_MAX_REPLY)
			goto too_big;
		if (len - next < (size_t)num + 2)
			return RESP_NEED_MORE;
		if (buf[next + (size_t)num] != '\r' || buf[next + (size_t)num + 1] != '\n')
			return err_set(err, errlen, SB_EINVAL,
				       "offset %zu: bulk string not followed by CRLF",
				       next + (size_t)num);
		if (v) {
			v->type = RESP_BULK;
			if (!(v->str = dup_bytes(buf + next, (size_t)num)))
				return err_set(err, errlen, SB_ENOMEM, "out of memory");
			v->len = (size_t)num;
		}
		*pos = next + (size_t)num + 2;
		return 0;
	case '*':
		if ((rc = parse_ll(line, n, &num, start + 1, err, errlen)))
			return rc;
		if (num == -1) {
			if (v)
				v->type = RESP_NIL;
			*pos = next;
			return 0;
		}
		if (num < 0 || (unsigned long long)num > RESP_MAX_ELEMS)
			return err_set(err, errlen, SB_EINVAL,
				       "offset %zu: array length %lld out of range (0..%u)", start,
				       num, RESP_MAX_ELEMS);
		if (depth >= RESP_MAX_DEPTH)
			return err_set(err, errlen, SB_EINVAL,
				       "offset %zu: arrays nested deeper than %d", start,
				       RESP_MAX_DEPTH);
		if (v) {
			v->type = RESP_ARRAY;
			if (num > 0 && !(v->elems = calloc((size_t)num, sizeof *v->elems)))
				return err_set(err, errlen, SB_ENOMEM, "out of memory");
		}
		*total += (size_t)num;
		if (*total > RESP_MAX_REPLY)
			goto too_big;
		*pos = next;
		for (long long i = 0; i < num; i++) {
			rc = parse_value(buf, len, pos, depth + 1, total, v ? &v->elems[i] : NULL,
					 err, errlen);
			if (v)
				v->nelems = (size_t)i + 1;
			if (rc)
				return rc;
		}
		return 0;
	default:
		return err_set(err, errlen, SB_EINVAL, "offset %zu: unknown reply type byte 0x%02x",
			       start, (unsigned char)tag);
	}
too_big:
	return err_set(err, errlen, SB_EINVAL, "offset %zu: reply larger than %u bytes", start,
		       RESP_MAX_REPLY);
}

int resp_reply_len(const char *buf, size_t len, size_t *consumed, char *err, size_t errlen)
{
	size_t pos = 0, total = 0;
	int rc = parse_value(buf, len, &pos, 0, &total, NULL, err, errlen);
	if (rc)
		return rc;
	*consumed = pos;
	return 0;
}

int resp_next(const char *buf, size_t len, size_t *pos, struct resp_item *it)
{
	size_t start = *pos, eol = 0;
	if (start >= len || find_line(buf, len, start + 1, &eol, NULL, 0))
		return SB_EINVAL;
	const char *line = buf + start + 1;
	size_t n = eol - start - 1, next = eol + 2;
	long long num = 0;
	memset(it, 0, sizeof *it);
	switch (buf[start]) {
	case '+':
	case '-':
		it->type = buf[start] == '+' ? RESP_SIMPLE : RESP_ERROR;
		it->str = line;
		it->len = n;
		*pos = next;
		return 0;
	case ':':
		if (parse_ll(line, n, &num, 0, NULL, 0))
			return SB_EINVAL;
		it->type = RESP_INTEGER;
		it->integer = num;
		*pos = next;
		return 0;
	case '$':
	case '*':
		if (parse_ll(line, n, &num, 0, NULL, 0) || num < -1)
			return SB_EINVAL;
		*pos = next;
		if (num == -1) {
			it->type = RESP_NIL;
			return 0;
		}
		if (buf[start] == '*') {
			it->type = RESP_ARRAY;
			it->nelems = (size_t)num;
			return 0;
		}
		if (len - next < (size_t)num + 2)
			return SB_EINVAL;
		it->type = RESP_BULK;
		it->str = buf + next;
		it->len = (size_t)num;
		*pos = next + (size_t)num + 2;
		return 0;
	default:
		return SB_EINVAL;
	}
}

int resp_parse(const char *buf, size_t len, size_t *consumed, struct resp_value **out,
	       char *err, size_t errlen)
{
	size_t end = 0, pos = 0, total = 0;
	int rc = resp_reply_len(buf, len, &end, err, errlen);
	if (rc)
		return rc;
	struct resp_value *v = calloc(1, sizeof *v);
	if (!v)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	rc = parse_value(buf, len, &pos, 0, &total, v, err, errlen);
	if (rc) {
		resp_value_free(v);
		return rc < 0 ? rc : err_set(err, errlen, SB_EIO, "reply changed while parsing");
	}
	if (pos != end) {
		resp_value_free(v);
		return err_set(err, errlen, SB_EIO, "internal: parse passes disagree");
	}
	*consumed = pos;
	*out = v;
	return 0;
}

int resp_encode(int argc, const char *const *argv, const size_t *lens, char **out,
		size_t *outlen, char *err, size_t errlen)
{
	if (argc <= 0)
		return err_set(err, errlen, SB_EINVAL, "empty command");
	size_t cap = 32;
	for (int i = 0; i < argc; i++) {
		size_t l = lens ? lens[i] : strlen(argv[i]);
		if (l > RESP_MAX_BULK)
			return err_set(err, errlen, SB_EINVAL,
				       "argument %d is %zu bytes (limit %u)", i, l, RESP_MAX_BULK);
		cap += l + 32;
	}
	char *b = malloc(cap);
	if (!b)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	size_t n = (size_t)snprintf(b, cap, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++) {
		size_t l = lens ? lens[i] : strlen(argv[i]);
		n += (size_t)snprintf(b + n, cap - n, "$%zu\r\n", l);
		memcpy(b + n, argv[i], l);
		n += l;
		b[n++] = '\r';
		b[n++] = '\n';
	}
	*out = b;
	*outlen = n;
	return 0;
}

/* ---- socket shell ---------------------------------------------------------------------- */

struct resp_client {
	int fd;
	int timeout_ms;
	bool broken;
	char addr[300]; /* "host:port" for messages */
	char *buf;      /* received bytes not yet consumed */
	size_t len, cap;
	size_t used;    /* the front of buf holds the last reply handed out by exchange */
};

/* Milliseconds left until deadline (monotonic ns), rounded up so that a poll does not wake
 * just before the deadline and spin. */
static int remaining(long long deadline)
{
	long long r = deadline - clock_mono_ns();
	if (r <= 0)
		return 0;
	r = (r + CLOCK_NS_PER_MS - 1) / CLOCK_NS_PER_MS;
	return r > INT_MAX ? INT_MAX : (int)r;
}

static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, remaining(deadline));
		if (r > 0)
			return 0;
		if (r == 0)
			return SB_ETIMEOUT;
		if (errno != EINTR)
			return SB_EIO;
	}
}

static int try_connect(const struct addrinfo *ai, long long deadline, int *fdp, int *err_no)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);
	if (fd < 0) {
		*err_no = errno;
		return SB_EIO;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			*err_no = errno;
			close(fd);
			return SB_EIO;
		}
		int rc = wait_fd(fd, POLLOUT, deadline);
		if (rc) {
			*err_no = rc == SB_ETIMEOUT ? ETIMEDOUT : errno;
			close(fd);
			return rc;
		}
		int so = 0;
		socklen_t sl = sizeof so;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) < 0 || so) {
			*err_no = so ? so : errno;
			close(fd);
			return SB_EIO;
		}
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	*fdp = fd;
	return 0;
}

int resp_client_connect(struct resp_client **out, const char *host, int port, int timeout_ms,
			char *err, size_t errlen)
{
	if (!host || !*host)
		return err_set(err, errlen, SB_EINVAL, "connect: empty host");
	if (port <= 0 || port > 65535)
		return err_set(err, errlen, SB_EINVAL, "connect %s: port %d out of range", host,
			       port);
	if (timeout_ms <= 0)
		return err_set(err, errlen, SB_EINVAL, "connect %s:%d: time limit must be > 0",
			       host, port);
	char ps[16];
	snprintf(ps, sizeof ps, "%d", port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int g = getaddrinfo(host, ps, &hints, &res);
	if (g)
		return err_set(err, errlen, SB_EIO, "connect %s:%d: resolve: %s", host, port,
			       gai_strerror(g));
	long long deadline = clock_mono_ns() + (long long)timeout_ms * CLOCK_NS_PER_MS;
	int fd = -1, rc = SB_EIO, err_no = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		rc = try_connect(ai, deadline, &fd, &err_no);
		if (rc == 0 || rc == SB_ETIMEOUT)
			break;
	}
	freeaddrinfo(res);
	if (rc == SB_ETIMEOUT)
		return err_set(err, errlen, SB_ETIMEOUT, "connect %s:%d: timed out after %d ms",
			       host, port, timeout_ms);
	if (rc)
		return err_set(err, errlen, SB_EIO, "connect %s:%d: %s", host, port,
			       strerror(err_no));
	struct resp_client *c = calloc(1, sizeof *c);
	if (!c) {
		close(fd);
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	}
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	snprintf(c->addr, sizeof c->addr, "%s:%d", host, port);
	*out = c;
	return 0;
}

int resp_split_addr(const char *addr, char *host, size_t hostlen, int *port, char *err,
		    size_t errlen)
{
	if (!addr)
		return err_set(err, errlen, SB_EINVAL, "empty address");
	const char *hs = addr, *he, *ps;
	if (addr[0] == '[') {
		hs = addr + 1;
		he = strchr(hs, ']');
		if (!he || he[1] != ':')
			return err_set(err, errlen, SB_EINVAL,
				       "address '%s': expected [v6-address]:port", addr);
		ps = he + 2;
	} else {
		he = strrchr(addr, ':');
		if (!he)
			return err_set(err, errlen, SB_EINVAL, "address '%s': expected host:port",
				       addr);
		ps = he + 1;
	}
	if (he == hs)
		return err_set(err, errlen, SB_EINVAL, "address '%s': empty host", addr);
	if ((size_t)(he - hs) >= hostlen)
		return err_set(err, errlen, SB_EINVAL, "address '%s': host too long", addr);
	long long p = 0;
	if (!*ps || parse_ll(ps, strlen(ps), &p, 0, NULL, 0) || ps[0] == '-' || ps[0] == '+' ||
	    p <= 0 || p > 65535)
		return err_set(err, errlen, SB_EINVAL, "address '%s': bad port '%s'", addr, ps);
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	*port = (int)p;
	return 0;
}

int resp_client_connect_addr(struct resp_client **out, const char *addr, int timeout_ms,
			     char *err, size_t errlen)
{
	char host[256];
	int port = 0;
	int rc = resp_split_addr(addr, host, sizeof host, &port, err, errlen);
	if (rc)
		return rc;
	return resp_client_connect(out, host, port, timeout_ms, err, errlen);
}

void resp_client_set_timeout(struct resp_client *c, int timeout_ms)
{
	if (c && timeout_ms > 0)
		c->timeout_ms = timeout_ms;
}

static int fail(struct resp_client *c, char *err, size_t errlen, int code, const char *what,
		int err_no)
{
	c->broken = true;
	if (code == SB_ETIMEOUT)
		return err_set(err, errlen, code, "%s: %s timed out", c->addr, what);
	if (err_no)
		return err_set(err, errlen, code, "%s: %s: %s", c->addr, what, strerror(err_no));
	return err_set(err, errlen, code, "%s: %s", c->addr, what);
}

/* Drop the reply handed out by the last exchange. */
static void drop_used(struct resp_client *c)
{
	if (!c->used)
		return;
	if (c->len > c->used)
		memmove(c->buf, c->buf + c->used, c->len - c->used);
	c->len -= c->used;
	c->used = 0;
}

int resp_client_check(struct resp_client *c, char *err, size_t errlen)
{
	if (c->broken)
		return err_set(err, errlen, SB_EIO, "%s: connection already failed", c->addr);
	drop_used(c);
	if (c->len)
		return fail(c, err, errlen, SB_EIO, "bytes from the server that no request asked for",
			    0);
	char b;
	ssize_t r;
	do
		r = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (r == 0)
		return fail(c, err, errlen, SB_EIO, "connection closed by the server", 0);
	if (r > 0)
		return fail(c, err, errlen, SB_EIO, "bytes from the server that no request asked for",
			    0);
	return fail(c, err, errlen, SB_EIO, "recv", errno);
}

static int send_all(struct resp_client *c, const char *req, size_t reqlen, long long deadline,
		    bool *sent, char *err, size_t errlen)
{
	size_t off = 0;
	while (off < reqlen) {
		ssize_t w = send(c->fd, req + off, reqlen - off, MSG_NOSIGNAL);
		if (w > 0) {
			*sent = true;
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rc = wait_fd(c->fd, POLLOUT, deadline);
			if (rc)
				return fail(c, err, errlen, rc, "send", errno);
			continue;
		}
		return fail(c, err, errlen, SB_EIO, "send", errno);
	}
	return 0;
}

/* Receive until buf holds one whole reply; *n is its length. The reply of a request just
 * sent is rarely there at once, so wait before reading (a read first would cost a system
 * call that finds nothing). */
static int recv_reply(struct resp_client *c, long long deadline, size_t *n, char *err,
		      size_t errlen)
{
	bool wait_first = c->len == 0;
	for (;;) {
		if (c->len > 0) {
			int rc = resp_reply_len(c->buf, c->len, n, err, errlen);
			if (rc == 0)
				return 0;
			if (rc < 0) {
				c->broken = true;
				err_prefix(err, errlen, "%s: bad reply", c->addr);
				return rc;
			}
		}
		if (c->len >= RESP_MAX_REPLY + RESP_MAX_LINE)
			return fail(c, err, errlen, SB_EINVAL, "reply too large", 0);
		if (c->cap - c->len < 4096) {
			size_t ncap = c->cap ? c->cap * 2 : 16384;
			char *nb = realloc(c->buf, ncap);
			if (!nb)
				return fail(c, err, errlen, SB_ENOMEM, "out of memory", 0);
			c->buf = nb;
			c->cap = ncap;
		}
		if (wait_first) {
			int rc = wait_fd(c->fd, POLLIN, deadline);
			if (rc)
				return fail(c, err, errlen, rc, "reply", errno);
		}
		ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (r > 0) {
			c->len += (size_t)r;
			wait_first = true;
			continue;
		}
		if (r == 0)
			return fail(c, err, errlen, SB_EIO,
				    c->len ? "connection closed in the middle of a reply"
					   : "connection closed by the server",
				    0);
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			wait_first = true;
			continue;
		}
		return fail(c, err, errlen, SB_EIO, "recv", errno);
	}
}

int resp_client_exchange(struct resp_client *c, const char *req, size_t reqlen,
			 long long deadline_ns, const char **reply, size_t *replylen, bool *sent,
			 char *err, size_t errlen)
{
	*sent = false;
	if (c->broken)
		return err_set(err, errlen, SB_EIO, "%s: connection already failed", c->addr);
	drop_used(c);
	size_t n = 0;
	int rc = send_all(c, req, reqlen, deadline_ns, sent, err, errlen);
	if (rc == 0)
		rc = recv_reply(c, deadline_ns, &n, err, errlen);
	if (rc)
		return rc;
	c->used = n;
	*reply = c->buf;
	*replylen = n;
	return 0;
}

int resp_client_command(struct resp_client *c, int argc, const char *const *argv,
			const size_t *lens, struct resp_value **reply, char *err, size_t errlen)
{
	if (c->broken)
		return err_set(err, errlen, SB_EIO, "%s: connection already failed", c->addr);
	char *req = NULL;
	size_t reqlen = 0;
	int rc = resp_encode(argc, argv, lens, &req, &reqlen, err, errlen);
	if (rc)
		return rc;
	long long deadline = clock_mono_ns() + (long long)c->timeout_ms * CLOCK_NS_PER_MS;
	const char *r = NULL;
	size_t rlen = 0, used = 0;
	bool sent = false;
	rc = resp_client_exchange(c, req, reqlen, deadline, &r, &rlen, &sent, err, errlen);
	if (rc == 0)
		rc = resp_parse(r, rlen, &used, reply, err, errlen);
	free(req);
	return rc;
}

void resp_client_close(struct resp_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}

int resp_info_field(const char *info, size_t infolen, const char *field, char *out,
		    size_t outlen)
{
	size_t flen = strlen(field);
	size_t i = 0;
	while (i < infolen) {
		size_t ls = i;
		while (i < infolen && info[i] != '\n')
			i++;
		size_t le = i;
		i++; /* skip '\n' */
		if (le > ls && info[le - 1] == '\r')
			le--;
		while (ls < le && (info[ls] == ' ' || info[ls] == '\t'))
			ls++;
		if (ls >= le || info[ls] == '#')
			continue;
		if (le - ls <= flen || memcmp(info + ls, field, flen) != 0)
			continue;
		size_t p = ls + flen;
		while (p < le && (info[p] == ' ' || info[p] == '\t'))
			p++;
		if (p >= le || (info[p] != ':' && info[p] != '='))
			continue;
		p++;
		while (p < le && (info[p] == ' ' || info[p] == '\t'))
			p++;
		size_t e = le;
		while (e > p && (info[e - 1] == ' ' || info[e - 1] == '\t'))
			e--;
		if (e - p >= outlen)
			return SB_ELIMIT;
		memcpy(out, info + p, e - p);
		out[e - p] = '\0';
		return 0;
	}
	return SB_EINVAL;
}
