/* fakesrv — a scripted TCP server for client tests (fakesrv.h). */
#include "tests/support/fakesrv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "fakesrv: %s: %s\n", what, strerror(errno));
	abort();
}

int fakesrv_bind_any(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(fd, (struct sockaddr *)&a, sizeof a))
		die("bind");
	socklen_t l = sizeof a;
	if (getsockname(fd, (struct sockaddr *)&a, &l))
		die("getsockname");
	*port = ntohs(a.sin_port);
	return fd;
}

int fakesrv_free_port(void)
{
	int port = 0;
	close(fakesrv_bind_any(&port));
	return port;
}

static int wait_in(struct fakesrv *f, int fd)
{
	while (!f->stop) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, 20);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
	return -1;
}

/* Length of the whole RESP value at b[0..n) (arrays of bulk strings and simple lines are
 * enough for requests), 0 when incomplete. */
static size_t resp_len(const char *b, size_t n)
{
	const char *e = memchr(b, '\n', n);
	if (!e)
		return 0;
	size_t pos = (size_t)(e - b) + 1;
	if (b[0] != '*')
		return pos;
	long elems = atol(b + 1);
	for (long i = 0; i < elems; i++) {
		if (pos >= n || b[pos] != '$')
			return pos >= n ? 0 : pos;
		e = memchr(b + pos, '\n', n - pos);
		if (!e)
			return 0;
		long len = atol(b + pos + 1);
		pos = (size_t)(e - b) + 1 + (size_t)len + 2;
		if (pos > n)
			return 0;
	}
	return pos;
}

/* Length of a whole HTTP request (headers and Content-Length body), 0 when incomplete. */
static size_t http_len(const char *b, size_t n)
{
	const char *end = NULL;
	for (size_t i = 0; i + 3 < n; i++)
		if (!memcmp(b + i, "\r\n\r\n", 4)) {
			end = b + i + 4;
			break;
		}
	if (!end)
		return 0;
	size_t head = (size_t)(end - b), body = 0;
	for (const char *p = b; p < end; p++)
		if ((p == b || p[-1] == '\n') && !strncasecmp(p, "content-length:", 15))
			body = (size_t)atol(p + 15);
	return head + body <= n ? head + body : 0;
}

/* Read one whole request into f->got. 0, or -1 when the client left. */
static int read_request(struct fakesrv *f, int fd)
{
	size_t start = f->got_len;
	for (;;) {
		size_t have = f->got_len - start;
		if (have && (f->proto == FAKESRV_HTTP ? http_len(f->got + start, have)
						      : resp_len(f->got + start, have)))
			return 0;
		if (f->got_len == sizeof f->got || wait_in(f, fd))
			return -1;
		ssize_t n = read(fd, f->got + f->got_len, sizeof f->got - f->got_len);
		if (n <= 0)
			return -1;
		f->got_len += (size_t)n;
	}
}

static void serve(struct fakesrv *f, int fd)
{
	while (read_request(f, fd) == 0) {
		f->requests++;
		if (!f->nsteps)
			break;
		struct fakesrv_step *st = &f->steps[f->next < f->nsteps ? f->next++ : f->nsteps - 1];
		if (st->act == FAKESRV_CLOSE)
			break;
		if (st->act == FAKESRV_CLOSE_STOP) {
			/* Stop listening first, so that a client that connects again at once is
			 * refused, as by a dead process. */
			f->listening = 0;
			close(f->lfd);
			f->lfd = -1;
			break;
		}
		if (st->act == FAKESRV_SILENT) {
			char b[256];
			while (wait_in(f, fd) == 0 && read(fd, b, sizeof b) > 0)
				;
			break;
		}
		if (write(fd, st->reply, st->len) < 0 || st->act == FAKESRV_REPLY_CLOSE)
			break;
	}
	close(fd); /* on loopback the FIN is queued at the peer when close returns */
	f->closed++;
}

static void *fake_main(void *arg)
{
	struct fakesrv *f = arg;
	while (f->listening && wait_in(f, f->lfd) == 0) {
		int fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		f->conns++;
		serve(f, fd);
	}
	return NULL;
}

void fakesrv_start(struct fakesrv *f, enum fakesrv_proto proto)
{
	memset(f, 0, sizeof *f);
	f->proto = proto;
	f->lfd = fakesrv_bind_any(&f->port);
	if (listen(f->lfd, 16))
		die("listen");
	f->listening = 1;
	if (pthread_create(&f->th, NULL, fake_main, f))
		die("pthread_create");
}

void fakesrv_step(struct fakesrv *f, enum fakesrv_act act, const char *fmt, ...)
{
	if (f->nsteps >= FAKESRV_STEPS)
		abort();
	struct fakesrv_step *s = &f->steps[f->nsteps++];
	s->act = act;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(s->reply, sizeof s->reply, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof s->reply)
		abort();
	s->len = (size_t)n;
}

void fakesrv_http(struct fakesrv *f, int status, const char *json)
{
	fakesrv_step(f, FAKESRV_REPLY,
		     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		     status, strlen(json), json);
}

void fakesrv_stop(struct fakesrv *f)
{
	f->stop = 1;
	pthread_join(f->th, NULL);
	if (f->lfd >= 0)
		close(f->lfd);
}
