/* Tests for harness/resp_client: the pure parser and encoder, and the socket client against a
 * tiny RESP server run in a thread on loopback (port picked by the kernel). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/client/resp.h"
#include "lib/clock.h"
#include "lib/err.h"

static struct resp_value *parse_ok(const char *s, size_t len)
{
	char err[256] = "";
	size_t used = 0;
	struct resp_value *v = NULL;
	int rc = resp_parse(s, len, &used, &v, err, sizeof err);
	if (rc != 0)
		fail_msg("parse '%s': rc %d: %s", s, rc, err);
	assert_int_equal(used, len);
	return v;
}

static void test_parse_types(void **state)
{
	struct resp_value *v = parse_ok("+OK\r\n", 5);
	assert_int_equal(v->type, RESP_SIMPLE);
	assert_string_equal(v->str, "OK");
	resp_value_free(v);

	v = parse_ok("-NOTLEADER n2 10.0.0.2:7001\r\n", 29);
	assert_int_equal(v->type, RESP_ERROR);
	assert_string_equal(v->str, "NOTLEADER n2 10.0.0.2:7001");
	resp_value_free(v);

	v = parse_ok(":-42\r\n", 6);
	assert_int_equal(v->type, RESP_INTEGER);
	assert_int_equal(v->integer, -42);
	resp_value_free(v);

	v = parse_ok(":9223372036854775807\r\n", 22);
	assert_true(v->integer == 9223372036854775807LL);
	resp_value_free(v);

	v = parse_ok(":-9223372036854775808\r\n", 23);
	assert_true(v->integer == -9223372036854775807LL - 1);
	resp_value_free(v);

	v = parse_ok("$5\r\na\0b\r\n\r\n", 11);
	assert_int_equal(v->type, RESP_BULK);
	assert_int_equal(v->len, 5);
	assert_memory_equal(v->str, "a\0b\r\n", 5);
	resp_value_free(v);

	v = parse_ok("$0\r\n\r\n", 6);
	assert_int_equal(v->type, RESP_BULK);
	assert_int_equal(v->len, 0);
	assert_string_equal(v->str, "");
	resp_value_free(v);

	v = parse_ok("$-1\r\n", 5);
	assert_int_equal(v->type, RESP_NIL);
	resp_value_free(v);

	v = parse_ok("*-1\r\n", 5);
	assert_int_equal(v->type, RESP_NIL);
	resp_value_free(v);

	v = parse_ok("*0\r\n", 4);
	assert_int_equal(v->type, RESP_ARRAY);
	assert_int_equal(v->nelems, 0);
	resp_value_free(v);

	const char *nested = "*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n+x\r\n";
	v = parse_ok(nested, strlen(nested));
	assert_int_equal(v->type, RESP_ARRAY);
	assert_int_equal(v->nelems, 3);
	assert_string_equal(v->elems[0].str, "a");
	assert_int_equal(v->elems[1].type, RESP_ARRAY);
	assert_int_equal(v->elems[1].elems[0].integer, 1);
	assert_int_equal(v->elems[1].elems[1].type, RESP_NIL);
	assert_string_equal(v->elems[2].str, "x");
	resp_value_free(v);
}

/* A reply followed by the start of the next one: only the first is consumed. */
static void test_parse_leaves_rest(void **state)
{
	const char *s = "+OK\r\n:1";
	size_t used = 0;
	struct resp_value *v = NULL;
	assert_int_equal(resp_parse(s, strlen(s), &used, &v, NULL, 0), 0);
	assert_int_equal(used, 5);
	resp_value_free(v);
}

/* Every proper prefix of a valid reply is "need more", never an error or a value. */
static void test_parse_prefixes(void **state)
{
	const char *replies[] = {
		"+OK\r\n", ":123\r\n", "$3\r\nfoo\r\n", "*2\r\n$1\r\na\r\n*1\r\n:7\r\n", "$-1\r\n",
	};
	for (size_t r = 0; r < sizeof replies / sizeof replies[0]; r++) {
		size_t n = strlen(replies[r]);
		for (size_t k = 0; k < n; k++) {
			size_t used = 0;
			struct resp_value *v = NULL;
			char err[128] = "";
			int rc = resp_parse(replies[r], k, &used, &v, err, sizeof err);
			if (rc != RESP_NEED_MORE)
				fail_msg("reply %zu prefix %zu: rc %d (%s)", r, k, rc, err);
			assert_null(v);
		}
	}
}

static void expect_bad(const char *s, size_t len, const char *needle)
{
	size_t used = 0;
	struct resp_value *v = NULL;
	char err[256] = "";
	int rc = resp_parse(s, len, &used, &v, err, sizeof err);
	if (rc != SB_EINVAL)
		fail_msg("'%.*s': expected SB_EINVAL, got %d", (int)len, s, rc);
	assert_null(v);
	if (!strstr(err, needle))
		fail_msg("'%.*s': message '%s' lacks '%s'", (int)len, s, err, needle);
}

static void test_parse_malformed(void **state)
{
	expect_bad("?x\r\n", 4, "offset 0: unknown reply type");
	expect_bad(":12a\r\n", 6, "offset 3: bad character");
	expect_bad(":\r\n", 3, "empty integer");
	expect_bad(":99999999999999999999\r\n", 23, "overflow");
	expect_bad("$-2\r\n", 5, "out of range");
	expect_bad("$99999999999\r\n", 14, "out of range");
	expect_bad("*-5\r\n", 5, "out of range");
	expect_bad("$2\r\nabc\r\n", 9, "offset 6: bulk string not followed by CRLF");
	expect_bad("+ab\ncd\r\n", 8, "offset 3: line feed without carriage return");
	/* The bad element of an array is found at its own offset. */
	expect_bad("*2\r\n:1\r\n!\r\n", 11, "offset 8");
	/* Nested deeper than the limit. */
	char deep[64] = "";
	for (int i = 0; i <= RESP_MAX_DEPTH; i++)
		strcat(deep, "*1\r\n");
	strcat(deep, ":1\r\n");
	expect_bad(deep, strlen(deep), "nested deeper");
	/* A header line that never ends is an error once it passes the limit. */
	size_t n = RESP_MAX_LINE + 10;
	char *big = malloc(n);
	assert_non_null(big);
	big[0] = '+';
	memset(big + 1, 'a', n - 1);
	expect_bad(big, n, "longer than");
	free(big);
}

/* The checking pass and the walker agree with the parser, without allocating. */
static void test_reply_len_and_next(void **state)
{
	const char *r = "*4\r\n$1\r\na\r\n:-5\r\n$-1\r\n*1\r\n+x y\r\n-ERR no\r\n";
	size_t len = strlen(r), used = 0;
	/* one reply (the array) and then the start of the next */
	assert_int_equal(resp_reply_len(r, len, &used, NULL, 0), 0);
	assert_int_equal(used, len - strlen("-ERR no\r\n"));
	for (size_t k = 0; k < used; k++)
		assert_int_equal(resp_reply_len(r, k, &used, NULL, 0), RESP_NEED_MORE);
	char err[128] = "";
	assert_int_equal(resp_reply_len("$2\r\nabc\r\n", 9, &used, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "not followed by CRLF"));

	size_t pos = 0;
	struct resp_item it;
	assert_int_equal(resp_next(r, len, &pos, &it), 0);
	assert_int_equal(it.type, RESP_ARRAY);
	assert_int_equal(it.nelems, 4);
	assert_int_equal(resp_next(r, len, &pos, &it), 0);
	assert_int_equal(it.type, RESP_BULK);
	assert_int_equal(it.len, 1);
	assert_memory_equal(it.str, "a", 1);
	assert_int_equal(resp_next(r, len, &pos, &it), 0);
	assert_int_equal(it.type, RESP_INTEGER);
	assert_int_equal(it.integer, -5);
	assert_int_equal(resp_next(r, len, &pos, &it), 0);
	assert_int_equal(it.type, RESP_NIL);
	assert_int_equal(resp_next(r, len, &pos, &it), 0);
	assert_int_equal(it.type, RESP_ARRAY);
	assert_int_equal(it.nelems, 1);
	assert_int_equal(resp_next(r, len, &pos, &it), 0);
	assert_int_equal(it.type, RESP_SIMPLE);
	assert_int_equal(it.len, 3);
	assert_memory_equal(it.str, "x y", 3);
	assert_int_equal(resp_next(r, len, &pos, &it), 0);
	assert_int_equal(it.type, RESP_ERROR);
	assert_memory_equal(it.str, "ERR no", 6);
	assert_int_equal(pos, len);
	assert_int_equal(resp_next(r, len, &pos, &it), SB_EINVAL); /* nothing left */
	pos = 0;
	assert_int_equal(resp_next("$5\r\nab\r\n", 9, &pos, &it), SB_EINVAL); /* cut short */
	pos = 0;
	assert_int_equal(resp_next("?\r\n", 3, &pos, &it), SB_EINVAL);
}

static void test_encode(void **state)
{
	const char *argv[] = {"SET", "k", ""};
	char *out = NULL;
	size_t n = 0;
	assert_int_equal(resp_encode(3, argv, NULL, &out, &n, NULL, 0), 0);
	const char *want = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n";
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
	free(out);

	const char *bin[] = {"a\0b"};
	size_t lens[] = {3};
	assert_int_equal(resp_encode(1, bin, lens, &out, &n, NULL, 0), 0);
	assert_int_equal(n, 13);
	assert_memory_equal(out, "*1\r\n$3\r\na\0b\r\n", 13);
	free(out);

	char err[128] = "";
	assert_int_equal(resp_encode(0, argv, NULL, &out, &n, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "empty command"));
}

static void test_info_field(void **state)
{
	const char *info = "# Raft\r\nrole:leader\r\nterm: 12 \r\nleader:n1\r\nleader_addr:"
			   "10.0.0.1:7001\r\ncommit_index:40\n";
	char v[64];
	assert_int_equal(resp_info_field(info, strlen(info), "role", v, sizeof v), 0);
	assert_string_equal(v, "leader");
	assert_int_equal(resp_info_field(info, strlen(info), "term", v, sizeof v), 0);
	assert_string_equal(v, "12");
	/* "leader" must not match the "leader_addr" line or vice versa. */
	assert_int_equal(resp_info_field(info, strlen(info), "leader", v, sizeof v), 0);
	assert_string_equal(v, "n1");
	assert_int_equal(resp_info_field(info, strlen(info), "leader_addr", v, sizeof v), 0);
	assert_string_equal(v, "10.0.0.1:7001");
	assert_int_equal(resp_info_field(info, strlen(info), "commit_index", v, sizeof v), 0);
	assert_string_equal(v, "40");
	assert_int_equal(resp_info_field(info, strlen(info), "Raft", v, sizeof v), SB_EINVAL);
	assert_int_equal(resp_info_field(info, strlen(info), "missing", v, sizeof v), SB_EINVAL);
	assert_int_equal(resp_info_field(info, strlen(info), "leader_addr", v, 4), SB_ELIMIT);
}

static void test_split_addr(void **state)
{
	char host[64], err[128];
	int port = 0;
	assert_int_equal(resp_split_addr("10.1.2.3:7001", host, sizeof host, &port, err, sizeof err), 0);
	assert_string_equal(host, "10.1.2.3");
	assert_int_equal(port, 7001);
	assert_int_equal(resp_split_addr("[::1]:80", host, sizeof host, &port, err, sizeof err), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 80);
	const char *bad[] = {"nohost", ":80", "h:", "h:0", "h:65536", "h:-1", "h:8x", "[::1]80"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(resp_split_addr(bad[i], host, sizeof host, &port, err, sizeof err),
				 SB_EINVAL);
		assert_non_null(strstr(err, bad[i]));
	}
}

/* ---- a tiny server on loopback --------------------------------------------------------- */

enum srv_mode {
	SRV_REPLY,      /* send the reply in one write */
	SRV_DRIBBLE,    /* send the reply one byte at a time */
	SRV_SILENT,     /* read the request, never answer (until the client goes away) */
	SRV_HALF_CLOSE, /* send half the reply, then close */
};

struct srv {
	int lfd;
	int port;
	enum srv_mode mode;
	const char *reply;
	size_t reply_len;
	int requests; /* how many requests to serve on the one connection */
	char got[4096];
	size_t got_len;
	pthread_t th;
};

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	for (int r = 0; r < s->requests; r++) {
		/* Read until a whole request (a RESP array) is in. */
		size_t start = s->got_len;
		for (;;) {
			size_t used = 0;
			struct resp_value *v = NULL;
			if (s->got_len > start &&
			    resp_parse(s->got + start, s->got_len - start, &used, &v, NULL, 0) == 0) {
				resp_value_free(v);
				break;
			}
			ssize_t n = read(fd, s->got + s->got_len, sizeof s->got - s->got_len);
			if (n <= 0)
				goto out;
			s->got_len += (size_t)n;
		}
		switch (s->mode) {
		case SRV_REPLY:
			if (write(fd, s->reply, s->reply_len) < 0)
				goto out;
			break;
		case SRV_DRIBBLE:
			for (size_t i = 0; i < s->reply_len; i++) {
				if (write(fd, s->reply + i, 1) < 0)
					goto out;
				usleep(200);
			}
			break;
		case SRV_SILENT: {
			char b[64];
			while (read(fd, b, sizeof b) > 0)
				;
			goto out;
		}
		case SRV_HALF_CLOSE:
			if (write(fd, s->reply, s->reply_len / 2) < 0)
				goto out;
			goto out;
		}
	}
out:
	close(fd);
	return NULL;
}

static int listen_any(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t l = sizeof a;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void srv_start(struct srv *s, enum srv_mode mode, const char *reply, int requests)
{
	memset(s, 0, sizeof *s);
	s->lfd = listen_any(&s->port);
	assert_int_equal(listen(s->lfd, 4), 0);
	s->mode = mode;
	s->reply = reply;
	s->reply_len = reply ? strlen(reply) : 0;
	s->requests = requests;
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd);
}

static void test_client_ping(void **state)
{
	struct srv s;
	srv_start(&s, SRV_REPLY, "+PONG\r\n", 2);
	char err[256] = "";
	struct resp_client *c = NULL;
	assert_int_equal(resp_client_connect(&c, "127.0.0.1", s.port, 2000, err, sizeof err), 0);
	const char *argv[] = {"PING"};
	struct resp_value *v = NULL;
	assert_int_equal(resp_client_command(c, 1, argv, NULL, &v, err, sizeof err), 0);
	assert_int_equal(v->type, RESP_SIMPLE);
	assert_string_equal(v->str, "PONG");
	resp_value_free(v);
	/* A second command on the same connection. */
	assert_int_equal(resp_client_command(c, 1, argv, NULL, &v, err, sizeof err), 0);
	resp_value_free(v);
	resp_client_close(c);
	srv_stop(&s);
	assert_int_equal(s.got_len, 28);
	assert_memory_equal(s.got, "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n", 28);
}

static void test_client_dribble(void **state)
{
	const char *info = "$38\r\nrole:leader\r\nterm:3\r\nleader:n1\r\nx:yz\r\n\r\n";
	struct srv s;
	srv_start(&s, SRV_DRIBBLE, info, 1);
	char err[256] = "";
	struct resp_client *c = NULL;
	char addr[64];
	snprintf(addr, sizeof addr, "127.0.0.1:%d", s.port);
	assert_int_equal(resp_client_connect_addr(&c, addr, 5000, err, sizeof err), 0);
	const char *argv[] = {"INFO"};
	struct resp_value *v = NULL;
	int rc = resp_client_command(c, 1, argv, NULL, &v, err, sizeof err);
	if (rc)
		fail_msg("%s", err);
	assert_int_equal(v->type, RESP_BULK);
	char role[16];
	assert_int_equal(resp_info_field(v->str, v->len, "role", role, sizeof role), 0);
	assert_string_equal(role, "leader");
	resp_value_free(v);
	resp_client_close(c);
	srv_stop(&s);
}

static void test_client_timeout(void **state)
{
	struct srv s;
	srv_start(&s, SRV_SILENT, NULL, 1);
	char err[256] = "";
	struct resp_client *c = NULL;
	assert_int_equal(resp_client_connect(&c, "127.0.0.1", s.port, 100, err, sizeof err), 0);
	const char *argv[] = {"GET", "k"};
	struct resp_value *v = NULL;
	assert_int_equal(resp_client_command(c, 2, argv, NULL, &v, err, sizeof err), SB_ETIMEOUT);
	assert_null(v);
	assert_non_null(strstr(err, "timed out"));
	assert_non_null(strstr(err, "127.0.0.1:"));
	/* The connection is now unusable. */
	assert_int_equal(resp_client_command(c, 2, argv, NULL, &v, err, sizeof err), SB_EIO);
	assert_non_null(strstr(err, "already failed"));
	resp_client_close(c);
	srv_stop(&s);
}

static void test_client_closed_mid_reply(void **state)
{
	struct srv s;
	srv_start(&s, SRV_HALF_CLOSE, "$10\r\n0123456789\r\n", 1);
	char err[256] = "";
	struct resp_client *c = NULL;
	assert_int_equal(resp_client_connect(&c, "127.0.0.1", s.port, 2000, err, sizeof err), 0);
	const char *argv[] = {"GET", "k"};
	struct resp_value *v = NULL;
	assert_int_equal(resp_client_command(c, 2, argv, NULL, &v, err, sizeof err), SB_EIO);
	assert_non_null(strstr(err, "closed in the middle of a reply"));
	resp_client_close(c);
	srv_stop(&s);
}

static void test_client_bad_reply(void **state)
{
	struct srv s;
	srv_start(&s, SRV_REPLY, "HTTP/1.1 400 Bad Request\r\n", 1);
	char err[256] = "";
	struct resp_client *c = NULL;
	assert_int_equal(resp_client_connect(&c, "127.0.0.1", s.port, 2000, err, sizeof err), 0);
	const char *argv[] = {"PING"};
	struct resp_value *v = NULL;
	assert_int_equal(resp_client_command(c, 1, argv, NULL, &v, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "bad reply"));
	assert_non_null(strstr(err, "unknown reply type"));
	resp_client_close(c);
	srv_stop(&s);
}

/* The allocation-free path: raw request, the reply's bytes in place; and the check that an
 * idle connection is still open. */
static void test_client_exchange(void **state)
{
	struct srv s;
	srv_start(&s, SRV_REPLY, ":7\r\n", 2);
	char err[256] = "";
	struct resp_client *c = NULL;
	assert_int_equal(resp_client_connect(&c, "127.0.0.1", s.port, 2000, err, sizeof err), 0);
	assert_int_equal(resp_client_check(c, err, sizeof err), 0);
	const char *req = "*1\r\n$4\r\nINCR\r\n";
	const char *r = NULL;
	size_t rlen = 0;
	bool sent = false;
	for (int i = 0; i < 2; i++) {
		long long deadline = clock_mono_ns() + 2000 * CLOCK_NS_PER_MS;
		int rc = resp_client_exchange(c, req, strlen(req), deadline, &r, &rlen, &sent, err,
					      sizeof err);
		if (rc)
			fail_msg("%s", err);
		assert_true(sent);
		assert_int_equal(rlen, 4);
		assert_memory_equal(r, ":7\r\n", 4);
	}
	srv_stop(&s); /* the server closed its side after two requests */
	assert_int_equal(resp_client_check(c, err, sizeof err), SB_EIO);
	assert_non_null(strstr(err, "closed by the server"));
	/* a broken connection sends nothing */
	int rc = resp_client_exchange(c, req, strlen(req), clock_mono_ns() + CLOCK_NS_PER_S, &r,
				      &rlen, &sent, err, sizeof err);
	assert_int_equal(rc, SB_EIO);
	assert_false(sent);
	resp_client_close(c);

	/* a reply nobody asked for waiting on an idle connection is caught before the next
	 * request could take it for its own */
	srv_start(&s, SRV_REPLY, "+OK\r\n+LATE\r\n", 1);
	assert_int_equal(resp_client_connect(&c, "127.0.0.1", s.port, 2000, err, sizeof err), 0);
	rc = resp_client_exchange(c, req, strlen(req), clock_mono_ns() + 2 * CLOCK_NS_PER_S, &r,
				  &rlen, &sent, err, sizeof err);
	assert_int_equal(rc, 0);
	assert_memory_equal(r, "+OK\r\n", 5);
	srv_stop(&s);
	assert_int_equal(resp_client_check(c, err, sizeof err), SB_EIO);
	assert_non_null(strstr(err, "no request asked for"));
	resp_client_close(c);
}

static void test_client_refused(void **state)
{
	/* A port that was just bound and released has no listener. */
	int port = 0;
	int fd = listen_any(&port);
	close(fd);
	char err[256] = "";
	struct resp_client *c = NULL;
	assert_int_equal(resp_client_connect(&c, "127.0.0.1", port, 2000, err, sizeof err), SB_EIO);
	assert_null(c);
	assert_non_null(strstr(err, "refused"));
	assert_int_equal(resp_client_connect(&c, "127.0.0.1", 0, 2000, err, sizeof err), SB_EINVAL);
	assert_int_equal(resp_client_connect(&c, "", 80, 2000, err, sizeof err), SB_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_types),
		cmocka_unit_test(test_parse_leaves_rest),
		cmocka_unit_test(test_parse_prefixes),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_reply_len_and_next),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_info_field),
		cmocka_unit_test(test_split_addr),
		cmocka_unit_test(test_client_ping),
		cmocka_unit_test(test_client_dribble),
		cmocka_unit_test(test_client_timeout),
		cmocka_unit_test(test_client_closed_mid_reply),
		cmocka_unit_test(test_client_bad_reply),
		cmocka_unit_test(test_client_exchange),
		cmocka_unit_test(test_client_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
